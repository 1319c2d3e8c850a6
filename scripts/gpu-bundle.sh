#!/usr/bin/env bash
# gpu-bundle.sh [OUT.tar.xz] [BUILD_DIR]: builds vfr here with CUDA (sm_80,
# sm_90 + compute_90 PTX) and packs what a bare, offline GPU machine needs to
# run the GPU tests and benchmarks (scripts/gpu-check.sh --bundle OUT):
#   build/vfr, build/tests/* (every test binary), build/scripts/bench/vfr_bench_*,
#   tests/fixtures, scripts/bench/gpu-*.sh and their helpers, scripts/gpu-check.sh,
#   lib/: every shared library those need that is not the C runtime (glibc) or
#   CUDA (cudart, cuBLAS, cuDNN, the driver): HDF5, cJSON, OpenBLAS, SQLite,
#   OpenSSL, zlib, curl and its TLS/IDN libraries, libstdc++, and Debian's
#   (CPU) libxgboost with its OpenMP runtime;
#   manifest.txt: the GPU tests (name, binary) from ctest.
# Prints the archive's size; fails when it exceeds the 64 MiB a device run
# may carry. Default OUT: gpu-bundle.tar.xz, BUILD_DIR: build-gpu.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=${1:-gpu-bundle.tar.xz}
case $out in /*) ;; *) out=$root/$out ;; esac
build=${2:-build-gpu}
limit=$((64 * 1024 * 1024))

echo "== build (CUDA) in $build"
./scripts/build.sh "$build" -DVFR_CUDA=ON -DVFR_CUDA_ARCHS="80-real;90"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
b=$stage/vfr-gpu
mkdir -p "$b/build/tests" "$b/build/scripts/bench" "$b/lib" "$b/scripts/bench" "$b/tests"

cp "$build/vfr" "$b/build/"
for f in "$build"/tests/test_* "$build"/tests/emu_*; do
  [ -f "$f" ] && [ -x "$f" ] && cp "$f" "$b/build/tests/"
done
for f in "$build"/scripts/bench/vfr_bench_*; do
  [ -f "$f" ] && [ -x "$f" ] && cp "$f" "$b/build/scripts/bench/"
done
cp -r tests/fixtures "$b/tests/"
cp scripts/gpu-check.sh "$b/scripts/"
cp scripts/bench/gpu-*.sh "$b/scripts/bench/"
cp scripts/bench/lstm_torch_bench.py "$b/scripts/bench/" 2>/dev/null || true

# The GPU tests, as ctest knows them: "name<TAB>binary" (binary under build/tests).
ctest --test-dir "$build" -L gpu -N 2>/dev/null | sed -n 's/^ *Test *#[0-9]*: *//p' |
  while read -r name; do printf '%s\t%s\n' "$name" "$name"; done >"$b/manifest.txt"
[ -s "$b/manifest.txt" ] || { echo "gpu-bundle: ctest lists no GPU test in $build"; exit 1; }

# XGBoost is dlopened, so ldd on the binaries does not see it: add it by hand.
xgb=""
for c in /usr/lib/x86_64-linux-gnu/libxgboost.so /usr/lib/libxgboost.so; do
  [ -e "$c" ] && xgb=$(readlink -f "$c") && break
done

# Is this library the C runtime or CUDA (what the GPU machine has itself)?
system_lib() {
  case $(basename "$1") in
    libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*|libresolv.so.*|libutil.so.*|\
    ld-linux*|libanl.so.*|libnsl.so.*|linux-vdso*) return 0 ;;
    libcuda.so*|libcudart.so*|libcublas.so*|libcublasLt.so*|libcudnn*.so*|libnvrtc*.so*|\
    libnvJitLink*.so*|libcufft*.so*|libcurand*.so*|libcusparse*.so*|libcusolver*.so*) return 0 ;;
  esac
  return 1
}

objs=("$b/build/vfr" "$b"/build/tests/* "$b"/build/scripts/bench/*)
[ -n "$xgb" ] && objs+=("$xgb")
declare -A seen=()
for o in "${objs[@]}"; do
  [ "$(head -c 4 "$o" | tail -c 3)" = ELF ] || continue
  while read -r soname path; do
    [ -n "$path" ] || continue
    if [ "$path" = "not" ]; then
      system_lib "$soname" && continue
      echo "gpu-bundle: $o needs $soname, which is not found here"; exit 1
    fi
    system_lib "$soname" && continue
    [ -n "${seen[$soname]:-}" ] && continue
    seen[$soname]=1
    cp -L "$path" "$b/lib/$soname"
  done < <(ldd "$o" 2>/dev/null | awk '/=>/ {print $1, $3} !/=>/ && /^\t\// {print $1, $1}')
done
if [ -n "$xgb" ]; then
  cp -L "$xgb" "$b/lib/libxgboost.so"
fi
chmod -R u+w "$b"
strip --strip-unneeded "$b"/lib/*.so* 2>/dev/null || true
{
  echo "vfr $(git describe --always --dirty 2>/dev/null || echo '?') built $(date -u +%FT%TZ) on $(uname -srm)"
  echo "CUDA archs: 80-real;90; libraries bundled:"
  ls "$b/lib"
} >"$b/BUILD-INFO.txt"

echo "== pack"
tar -C "$stage" -cf - vfr-gpu | xz -9 -T"$(nproc)" >"$out"
size=$(stat -c %s "$out")
echo "bundle: $out, $size bytes ($(awk -v s="$size" 'BEGIN {printf "%.1f", s / 1048576}') MiB; limit 64 MiB)"
echo "        $(wc -l <"$b/manifest.txt") GPU tests, $(ls "$b/lib" | wc -l) libraries, $(ls "$b/build/tests" | wc -l) test binaries"
[ "$size" -le "$limit" ] || { echo "gpu-bundle: over the 64 MiB a device run may carry"; exit 1; }
