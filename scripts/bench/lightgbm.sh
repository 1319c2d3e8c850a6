#!/usr/bin/env bash
# lightgbm.sh: the LightGBM benchmark (issue 17). 200 iterations, 31 leaves,
# no early stopping, on a synthetic 1,000,000 x 100 dataset: vfr's whole
# `vfr train` (load, prepare, split, fit, evaluate, compare, write) against
# lightgbm.train in Python with vfr's LightGBM parameters (the manifest's
# lightgbmParams), the same rows (vfr's training dates, from its split.json)
# and the same thread count, in the same run. Reports wall time, CPU time
# and peak RSS of both.
#
#   VFR_BIN   built vfr (default build/vfr)
#   S T F     symbols, days, features (default 400 2500 100 = 1M rows)
#   ROUNDS    boosting iterations (default 200)
#   THREADS   threads for both (default 2)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
VFR_BIN=${VFR_BIN:-$root/build/vfr}
S=${S:-400}; T=${T:-2500}; F=${F:-100}; ROUNDS=${ROUNDS:-200}; THREADS=${THREADS:-2}
work=$(mktemp -d "${TMPDIR:-/tmp}/vfr-bench-lightgbm.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$VFR_BIN" --quiet synth --symbols "$S" --days "$T" --features "$F" --seed 1 --out "$work/d.h5"
cat > "$work/job.json" <<JSON
{"jobId": "bench-lightgbm", "modelName": "bench_lgbm", "modelType": "lightgbm",
 "targetVariable": "price_direction_1d",
 "dataConfig": {"dataset": "$work/d.h5", "minQuality": 0.0},
 "trainingConfig": {"hyperparameters": {"n_estimators": $ROUNDS, "num_leaves": 31, "learning_rate": 0.1,
                                        "max_bin": 255, "num_threads": $THREADS},
                    "earlyStoppingRounds": 0, "seed": 1},
 "split": {"method": "holdout"}}
JSON
echo "data      $S symbols x $T days x $F features; 31 leaves, $ROUNDS iterations, $THREADS threads"
/usr/bin/time -f "%e %M %U %S" -o "$work/vfr.time" "$VFR_BIN" --quiet train "$work/job.json" --out "$work/run" > /dev/null
# vfr's CLI sets OMP_WAIT_POLICY=PASSIVE for itself (src/host/cli/main.c):
# the peer gets the same libgomp setting, unless the caller chose one
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} python3 "$(dirname "$0")/lightgbm_peer.py" "$work/d.h5" "$work/run" "$work/vfr.time" "$ROUNDS"
