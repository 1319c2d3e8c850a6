#!/usr/bin/env bash
# gpu-check.sh: the one script a GPU machine runs. Prints the card, builds
# with CUDA, runs the GPU-labelled parity tests, then the GPU benchmarks.
# Everything it prints goes to $OUT/gpu-check.log too when OUT is set.
# Budget: under 8 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
log=${OUT:-/tmp}/gpu-check.log
exec > >(tee "$log") 2>&1
export PATH=/usr/local/cuda/bin:$PATH
echo "== nvidia-smi"; nvidia-smi || true
echo "== build (CUDA)"
./scripts/setup.sh || echo "setup failed (offline machine?): building with what is there"
./scripts/build.sh build-gpu -DVFR_CUDA=ON || exit 1
./build-gpu/vfr info
echo "== GPU tests"
ctest --test-dir build-gpu -L gpu --output-on-failure; rc=$?
echo "== GPU benchmarks"
for b in scripts/bench/gpu-*.sh; do
  [ -e "$b" ] || continue
  echo "-- $b"; timeout 120 bash "$b" build-gpu || echo "$b failed"
done
exit $rc
