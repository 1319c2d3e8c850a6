#!/usr/bin/env bash
# features.sh: daily OHLCV bars -> Alpha158, vfr against pandas, in one run.
#
# Bars: `vfr synth --ohlcv` (S symbols x T days, default 500 x 2520), cached in
# $WORK. vfr: `vfr pack --ohlcv` on the CPU with $THREADS threads (read and
# check the CSV, compute the 158 features and forward returns, write the HDF5
# dataset uncompressed); its log gives the feature step alone. Peer: pandas
# reading the same CSV and computing the same features with the vectorised
# reference (features_peer.py; no writing), checked against vfr's output on 5
# symbols. Prints wall and CPU seconds of each, the speedups, and vfr's peak
# memory next to the size of the feature matrix. Record results in
# docs/benchmarks.md. The machine may be shared: run under nice, and read CPU
# seconds as well as wall time.
#
#   scripts/bench/features.sh            # S=500 T=2520 THREADS=2 BUILD=build
set -euo pipefail
cd "$(dirname "$0")/../.."
S=${S:-500}
T=${T:-2520}
THREADS=${THREADS:-2}
BUILD=${BUILD:-build}
WORK=${WORK:-${TMPDIR:-/tmp}/vfr-bench-features}
VFR=$BUILD/vfr
[ -x "$VFR" ] || { echo "features.sh: no $VFR; build first (scripts/build.sh $BUILD)" >&2; exit 2; }
python3 -c "import pandas, h5py" 2>/dev/null || { echo "features.sh: needs pandas and h5py (pip install pandas h5py)" >&2; exit 2; }
mkdir -p "$WORK"
BARS=$WORK/bars_${S}x${T}.csv
[ -s "$BARS" ] || "$VFR" synth --ohlcv --symbols "$S" --days "$T" --seed 1 --out "$BARS" >/dev/null 2>&1

echo "features.sh: $S symbols x $T days of bars ($(du -h "$BARS" | cut -f1) CSV), vfr threads=$THREADS"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"

/usr/bin/time -f "vfrtime %e %U %S %M" "$VFR" pack --ohlcv "$BARS" --out "$WORK/vfr.h5" --device cpu \
  --threads "$THREADS" --compression 0 >"$WORK/vfr.log" 2>&1 || { cat "$WORK/vfr.log" >&2; exit 1; }
read -r _ vwall vuser vsys vrss < <(grep '^vfrtime' "$WORK/vfr.log")
read -r vfeat vfeatcpu < <(sed -n 's/.*computed 158 features (Alpha158 on cpu) and .* in \([0-9.]*\) s (\([0-9.]*\) s CPU)/\1 \2/p' "$WORK/vfr.log")

/usr/bin/time -f "peertime %e %U %S %M" python3 scripts/bench/features_peer.py "$BARS" --check "$WORK/vfr.h5" \
  >"$WORK/peer.log" 2>&1 || { cat "$WORK/peer.log" >&2; exit 1; }
read -r _ pwall pcpu _ pfeat pfeatcpu < <(grep '^peer ' "$WORK/peer.log")
read -r _ check < <(grep '^check ' "$WORK/peer.log")
read -r _ _ puser psys prss < <(grep '^peertime' "$WORK/peer.log")

python3 - "$S" "$T" "$vwall" "$vuser" "$vsys" "$vrss" "$vfeat" "$vfeatcpu" "$pwall" "$pcpu" "$prss" "$pfeat" "$pfeatcpu" "$check" <<'PY'
import sys
S, T = int(sys.argv[1]), int(sys.argv[2])
vwall, vuser, vsys, vrss, vfeat, vfeatcpu = map(float, sys.argv[3:9])
pwall, pcpu, prss, pfeat, pfeatcpu = map(float, sys.argv[9:14])
check = " ".join(sys.argv[14:])
out_mb = S * T * 158 * 4 / 2**20
print(f"{'':34s}{'wall s':>10s}{'CPU s':>10s}{'peak MB':>10s}")
print(f"{'vfr pack (read+features+write)':34s}{vwall:10.2f}{vuser + vsys:10.2f}{vrss / 1024:10.0f}")
print(f"{'  vfr feature step':34s}{vfeat:10.2f}{vfeatcpu:10.2f}")
print(f"{'pandas (read+features, no write)':34s}{pwall:10.2f}{pcpu:10.2f}{prss / 1024:10.0f}")
print(f"{'  pandas feature step':34s}{pfeat:10.2f}{pfeatcpu:10.2f}")
print(f"speedup, whole: {pwall / vwall:.1f}x wall, {pcpu / (vuser + vsys):.1f}x CPU seconds")
print(f"speedup, feature step: {pfeat / vfeat:.1f}x wall, {pfeatcpu / vfeatcpu:.1f}x CPU seconds")
print(f"feature matrix {out_mb:.0f} MB; vfr peak {vrss / 1024:.0f} MB = matrix + {vrss / 1024 - out_mb:.0f} MB")
print(f"largest relative difference vfr vs pandas on 5 symbols: {check}")
PY
