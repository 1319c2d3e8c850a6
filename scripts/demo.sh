#!/usr/bin/env bash
# demo.sh: installs what is missing, builds vfr, and runs the main job on the
# bundled Dow Jones 30 data: pack the prices into a dataset, inspect it, and
# train data/examples/quickstart.json (XGBoost, 1-day direction), ending with
# the test-set metrics next to buy-and-hold and the baselines, and the path
# of the HTML run report. Then the same on daily OHLCV bars of three real
# series (data/ohlcv/): Alpha158 features, data/examples/ohlcv_alpha158.json.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh build
mkdir -p runs
echo
echo "== vfr pack: 30 Dow Jones stocks, 1990-2001, daily closes -> runs/dj30.h5"
./build/vfr pack --prices data/dowjones30_1990-2001_daily_close.csv --out runs/dj30.h5
echo
echo "== vfr inspect runs/dj30.h5 (first lines)"
./build/vfr inspect runs/dj30.h5 | head -12
echo
echo "== vfr train data/examples/quickstart.json"
./build/vfr train data/examples/quickstart.json
echo
echo "run report: $PWD/runs/quickstart/report.html"
echo
echo "== vfr pack: daily OHLCV bars of GSPC, IXIC, GOOG -> 158 Alpha158 features in runs/ohlcv.h5"
./build/vfr pack --ohlcv-dir data/ohlcv --features alpha158 --out runs/ohlcv.h5
echo
echo "== vfr train data/examples/ohlcv_alpha158.json (XGBoost, 5-day direction)"
./build/vfr train data/examples/ohlcv_alpha158.json
echo
echo "run report: $PWD/runs/ohlcv_alpha158/report.html"
