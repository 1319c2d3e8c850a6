#!/usr/bin/env bash
# test.sh: installs what is missing, builds with warnings as errors, and runs
# the whole suite twice: once normally (CUDA compiled in when nvcc exists; GPU
# tests skip without a device) and once CPU-only under ASan + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
jobs=$(nproc)

echo "== build (release, warnings as errors)"
./scripts/build.sh build -DVFR_WERROR=ON
echo "== tests"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== build (CPU-only, ASan + UBSan)"
./scripts/build.sh build-asan -DVFR_WERROR=ON -DVFR_CUDA=OFF -DVFR_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== tests under sanitizers"
# LeakSanitizer stays on; HDF5 keeps global state until exit, which is freed.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
  VFR_SANITIZED=1 ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE slow
