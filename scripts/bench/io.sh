#!/usr/bin/env bash
# io.sh: the I/O benchmark. Makes a 1,000,000-row x 100-feature synthetic
# dataset with the built vfr, then times reading its whole feature matrix with
# vfr (scripts/bench/io_read.c) and with h5py in the same run (io.py): best and
# median seconds, GB/s, and the ratio. The page cache is warmed first, so it
# measures decoding, not the disk.
#
#   VFR_BIN   built vfr (default build/vfr); the reader is looked for beside it
#   REPS      repetitions per reader (default 5)
#   IO_FILE   use/keep this dataset instead of a temporary one
#   IO_JSON   also write the results as JSON here
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
VFR_BIN=${VFR_BIN:-$root/build/vfr}
REPS=${REPS:-5}
build=$(cd "$(dirname "$VFR_BIN")" && pwd)

[ -x "$VFR_BIN" ] || { echo "io.sh: no vfr at $VFR_BIN (build first, or set VFR_BIN)" >&2; exit 2; }
python3 -c 'import h5py, numpy' 2>/dev/null || { echo "io.sh: needs python3 with h5py and numpy" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vfr-bench-io.XXXXXX")
trap 'rm -rf "$work"' EXIT
file=${IO_FILE:-$work/io-1m-x100.h5}

# The reader: the CMake target when the build has it, else compiled here
# against the static library (CPU-only builds; a CUDA build needs the target).
reader=$build/scripts/bench/vfr_bench_io_read
if [ ! -x "$reader" ]; then
  reader=$work/vfr_bench_io_read
  cc -std=c17 -O2 -D_POSIX_C_SOURCE=200809L -I"$root/include" -I/usr/include/hdf5/serial \
    "$root/scripts/bench/io_read.c" "$build/libvfr.a" \
    -L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5 -lcjson -lz -lpthread -ldl -lm -o "$reader"
fi

if [ ! -s "$file" ]; then
  echo "== making $file"
  t0=$(date +%s%N)
  "$VFR_BIN" --quiet synth --symbols 400 --days 2500 --features 100 --seed 1 --out "$file"
  echo "synth: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
fi

echo "== reading (vfr vs h5py, $REPS reps each)"
python3 "$root/scripts/bench/io.py" "$file" --reader "$reader" --reps "$REPS" \
  ${IO_JSON:+--json "$IO_JSON"}
