#!/usr/bin/env bash
# demo.sh: installs what is missing, builds vfr, and runs the main job on the
# bundled Dow Jones 30 data: pack the prices into a dataset and inspect it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh build
mkdir -p runs
echo
echo "== vfr pack: 30 Dow Jones stocks, 1990-2001, daily closes -> runs/dj30.h5"
./build/vfr pack --prices data/dowjones30_1990-2001_daily_close.csv --out runs/dj30.h5
echo
echo "== vfr inspect runs/dj30.h5"
./build/vfr inspect runs/dj30.h5
