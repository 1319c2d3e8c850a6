#!/usr/bin/env bash
# gpu-check.sh [--bundle FILE]: the one script a GPU machine runs.
#
#   --bundle FILE  unpacks an archive made by scripts/gpu-bundle.sh and runs
#                  from it: no compiler, package manager or network needed.
#   (no option)    builds here with CUDA first (needs the build dependencies).
#
# Prints the card, finds libcudnn.so.9 and the CUDA libraries (the CUDA
# folders, or a Python environment's nvidia/*/lib), runs every GPU test with a
# per-test timeout, then the GPU benchmarks. With a GPU that nvidia-smi sees,
# a test that exits 77 (no device) is a FAILURE: the CUDA install is broken.
# Without one it says "no GPU" and fails. Everything goes to one log,
# $OUT/gpu-check.log (or ./gpu-check.log). Budget: 8 minutes in all.
set -uo pipefail
start=$SECONDS
budget=${VFR_GPU_CHECK_BUDGET:-480}
test_timeout=${VFR_GPU_TEST_TIMEOUT:-150}
bundle=""
if [ "${1:-}" = "--bundle" ]; then
  [ -n "${2:-}" ] || { echo "usage: gpu-check.sh [--bundle FILE]" >&2; exit 2; }
  bundle=$(readlink -f "$2")
  [ -f "$bundle" ] || { echo "gpu-check: no bundle $2" >&2; exit 2; }
elif [ -n "${1:-}" ]; then
  echo "usage: gpu-check.sh [--bundle FILE]" >&2; exit 2
fi
log=${OUT:-$(pwd)}/gpu-check.log
exec > >(tee "$log") 2>&1
echo "gpu-check $(date -u +%FT%TZ) on $(uname -n) ($(nproc) cores)"

echo "== nvidia-smi"
gpu=0
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
  gpu=1
  nvidia-smi -L
  nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv 2>/dev/null || true
else
  echo "no GPU: nvidia-smi is missing or sees no device"
fi

if [ -n "$bundle" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "== unpack $bundle into $work"
  tar -C "$work" -xJf "$bundle" || { echo "gpu-check: cannot unpack $bundle"; exit 1; }
  root=$work/vfr-gpu
  build=build
  cat "$root/BUILD-INFO.txt" 2>/dev/null | head -2
else
  root=$(cd "$(dirname "$0")/.." && pwd)
  build=build-gpu
  export PATH=/usr/local/cuda/bin:$PATH
  echo "== build (CUDA)"
  (cd "$root" && ./scripts/setup.sh) || echo "setup failed (offline machine?): building with what is there"
  (cd "$root" && ./scripts/build.sh "$build" -DVFR_CUDA=ON) || exit 1
  ctest --test-dir "$root/$build" -L gpu -N | sed -n 's/^ *Test *#[0-9]*: *//p' |
    while read -r n; do printf '%s\t%s\n' "$n" "$n"; done >"$root/$build/gpu-manifest.txt"
fi
cd "$root" || exit 1
manifest=$root/manifest.txt
[ -n "$bundle" ] || manifest=$root/$build/gpu-manifest.txt

# The directory holding a library: the CUDA folders first, then any Python
# environment's nvidia/<pkg>/lib (cuDNN comes as nvidia-cudnn-cu13 there).
find_lib() {
  local name=$1 d
  for d in ${VFR_CUDA_LIB_DIRS:-} /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
           /usr/local/cuda-*/lib64 /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib; do
    [ -e "$d/$name" ] && { echo "$d"; return 0; }
  done
  local py
  for py in python3 /usr/bin/python3 /usr/local/bin/python3 /opt/conda/bin/python3; do
    command -v "$py" >/dev/null 2>&1 || continue
    d=$("$py" - "$name" 2>/dev/null <<'EOF'
import glob, os, site, sys
roots = list(site.getsitepackages()) + [site.getusersitepackages()]
try:
    import nvidia
    roots += list(nvidia.__path__)
except Exception:
    pass
for r in roots:
    for hit in glob.glob(os.path.join(r, "**", sys.argv[1]), recursive=True):
        print(os.path.dirname(hit))
        sys.exit(0)
EOF
)
    [ -n "$d" ] && { echo "$d"; return 0; }
  done
  return 1
}

echo "== libraries"
libpath=$root/lib
[ -n "$bundle" ] || libpath=""
for l in libcudnn.so.9 libcudart.so.13 libcublas.so.13 libcublasLt.so.13; do
  if d=$(find_lib "$l"); then
    echo "$l: $d"
    case ":$libpath:" in *":$d:"*) ;; *) libpath=${libpath:+$libpath:}$d ;; esac
  else
    echo "$l: NOT FOUND"
  fi
done
export LD_LIBRARY_PATH=$libpath${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
[ -n "$bundle" ] && [ -e "$root/lib/libxgboost.so" ] && export VFR_XGBOOST_LIB=$root/lib/libxgboost.so
# Every binary must load, and (from a bundle) take nothing from this machine
# but the C runtime and CUDA: what else it finds here is printed.
for o in "$build/vfr" "$build"/tests/* "$build"/scripts/bench/vfr_bench_*; do
  [ -x "$o" ] && [ -f "$o" ] || continue
  ldd "$o" 2>&1 | awk -v o="$o" -v lib="$root/lib/" -v bundle="${bundle:+1}" '
    /not found/ { print "gpu-check: " o ": " $1 " not found"; next }
    bundle && /=>/ && index($3, lib) != 1 &&
      $1 !~ /^(libc|libm|libdl|libpthread|librt|libresolv|libutil|libanl|libnsl)\.so|^ld-linux|^libcuda\.|^libcudart|^libcublas|^libcudnn|^libnvrtc|^libnvJitLink/ {
      print "gpu-check: " o ": " $1 " comes from " $3 ", outside the bundle"
    }'
done | sort -u | head -40
"$build/vfr" info || echo "vfr info failed"

echo "== GPU tests (timeout ${test_timeout}s each)"
export VFR_SOURCE_DIR=$root VFR_BIN=$root/$build/vfr
pass=0 fail=0 skip=0
failed=""
while IFS=$'\t' read -r name exe; do
  [ -n "$name" ] || continue
  left=$((budget - (SECONDS - start) - 60))
  if [ "$left" -lt 10 ]; then
    echo "-- $name: NOT RUN (out of the time budget)"; fail=$((fail + 1)); failed="$failed $name"; continue
  fi
  t=$test_timeout; [ "$t" -gt "$left" ] && t=$left
  t0=$SECONDS
  (cd "$root/$build/tests" && timeout -k 5 "$t" "./$exe") >"$root/$name.out" 2>&1
  rc=$?
  took=$((SECONDS - t0))
  if [ $rc -eq 0 ]; then
    verdict=passed; pass=$((pass + 1))
  elif [ $rc -eq 77 ] && [ $gpu -eq 0 ]; then
    verdict="skipped (no GPU)"; skip=$((skip + 1))
  elif [ $rc -eq 77 ]; then
    verdict="FAILED: exit 77 (no device) although nvidia-smi sees a GPU"; fail=$((fail + 1)); failed="$failed $name"
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    verdict="FAILED: timed out after ${t}s"; fail=$((fail + 1)); failed="$failed $name"
  else
    verdict="FAILED (exit $rc)"; fail=$((fail + 1)); failed="$failed $name"
  fi
  echo "-- $name: $verdict (${took}s)"
  if [ $rc -ne 0 ] || [ -n "${VFR_VERBOSE:-}" ]; then tail -40 "$root/$name.out" | sed 's/^/   /'; fi
done <"$manifest"
echo "GPU tests: $pass passed, $fail failed, $skip skipped${failed:+ (failed:$failed)}"

if [ $gpu -eq 1 ]; then
  echo "== GPU benchmarks"
  for b in scripts/bench/gpu-*.sh; do
    [ -e "$b" ] || continue
    left=$((budget - (SECONDS - start) - 10))
    if [ "$left" -lt 20 ]; then echo "-- $b: NOT RUN (out of the time budget)"; continue; fi
    t=150; [ "$t" -gt "$left" ] && t=$left
    echo "-- $b (timeout ${t}s)"
    timeout -k 5 "$t" bash "$b" "$build" || echo "$b failed or timed out"
  done
fi
echo "== done in $((SECONDS - start))s; log: $log"
if [ $gpu -eq 0 ]; then
  echo "gpu-check: FAILED: no GPU (nothing was checked on a device)"
  exit 1
fi
[ $fail -eq 0 ] || exit 1
exit 0
