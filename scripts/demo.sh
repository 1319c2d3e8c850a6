#!/usr/bin/env bash
# demo.sh: installs what is missing, builds vfr, and runs the main job on the
# bundled Dow Jones 30 data: pack the prices into a dataset, inspect it, and
# train data/examples/quickstart.json (XGBoost, 1-day direction), ending with
# the test-set metrics next to buy-and-hold and the baselines, and the path
# of the HTML run report.
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
