#!/usr/bin/env bash
# test.sh: installs what is missing, builds with warnings as errors, and runs
# the whole suite twice: once normally (CUDA compiled in when nvcc exists; GPU
# tests skip without a device) and once CPU-only under ASan + UBSan. Both
# builds have the fault-injection test hooks (-DVFR_FAULT_INJECTION=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
jobs=$(nproc)

echo "== checks (function length, include and call cycles, run-folder names)"
python3 scripts/check/code.py
./scripts/check/runfolder_names.sh

echo "== build (release, warnings as errors)"
./scripts/build.sh build -DVFR_WERROR=ON -DVFR_FAULT_INJECTION=ON
echo "== tests"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== build (CPU-only, ASan + UBSan)"
./scripts/build.sh build-asan -DVFR_WERROR=ON -DVFR_FAULT_INJECTION=ON -DVFR_CUDA=OFF -DVFR_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== tests under sanitizers"
# LeakSanitizer stays on; HDF5 keeps global state until exit, which is freed.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
  VFR_SANITIZED=1 ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE slow

# The seed corpus was replayed in both passes (fuzz_replay_*); now each target
# mutates it for VFR_FUZZ_SECONDS (default 25) under libFuzzer + ASan/UBSan.
if command -v clang >/dev/null 2>&1 && ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "== fuzz (libFuzzer, ${VFR_FUZZ_SECONDS:-25} s a target)"
  mkdir -p build-fuzz
  if ! CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVFR_CUDA=OFF -DVFR_SANITIZE=ON \
      -DVFR_FUZZ=ON >build-fuzz/configure.log 2>&1; then
    cat build-fuzz/configure.log; exit 1
  fi
  if ! cmake --build build-fuzz -j"$jobs" --target fuzz_csv fuzz_job fuzz_h5 >build-fuzz/build.log 2>&1; then
    grep -E "error|Error" -A3 build-fuzz/build.log | head -80; exit 1
  fi
  ./scripts/fuzz.sh "${VFR_FUZZ_SECONDS:-25}" build-fuzz
else
  echo "== fuzz: skipped (no clang with libFuzzer; scripts/setup.sh installs it)"
fi
