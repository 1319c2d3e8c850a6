#!/usr/bin/env bash
# build.sh [BUILD_DIR] [cmake options...]: configures and builds vfr.
# CUDA is used when nvcc is found (on PATH or in /usr/local/cuda/bin).
# The full compiler output is in BUILD_DIR/build.log; it is shown on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}; shift || true
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi
mkdir -p "$dir"
if ! cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >"$dir/configure.log" 2>&1; then
  cat "$dir/configure.log"; exit 1
fi
if ! cmake --build "$dir" -j"$(nproc)" >"$dir/build.log" 2>&1; then
  grep -E "error|Error" -A3 "$dir/build.log" | head -80; exit 1
fi
grep -E "warning:" "$dir/build.log" || true
echo "built $dir/vfr ($(grep -o 'vfr: CUDA [A-Z]*' "$dir/configure.log"))"
