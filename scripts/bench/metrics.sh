#!/usr/bin/env bash
# metrics.sh [BUILD_DIR] [metrics.py options]: vfr's CPU backtest against
# numpy and vectorbt (M = 1,000 strategies x 100 symbols x 2,520 dates, top_k
# and long_short_sign, 5 bps). Needs numpy and h5py; vectorbt optional
# (pip install vectorbt). About 2-3 minutes on 2 cores; peak memory ~5 GB.
# Record the figures in docs/benchmarks.md ("Metrics and backtests").
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}; shift || true
[ -x "$build/vfr" ] || { echo "no $build/vfr: run scripts/build.sh $build first" >&2; exit 1; }
python3 -c "import numpy, h5py" 2>/dev/null || { echo "metrics.sh: needs numpy and h5py" >&2; exit 1; }
echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -srm), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "== vfr $("$build/vfr" --version | cut -d' ' -f2) ($build), python $(python3 -c 'import sys; print(sys.version.split()[0])')"
exec python3 scripts/bench/metrics.py --vfr "$build/vfr" "$@"
