#!/usr/bin/env bash
# tune.sh: the search benchmark (issue 6). A grid of 24 XGBoost configurations
# x 5 expanding time-series folds, no early stopping, no pruning, scored by
# ROC AUC: vfr tune against scikit-learn's GridSearchCV(XGBClassifier) with the
# same rows, the same folds (tune_peer.py rebuilds vfr's fold boundaries), the
# same grid and the same thread budget, in the same run. Reports wall time,
# mean CV score of the best configuration and peak RSS of both.
#
#   VFR_BIN   built vfr (default build/vfr)
#   S T F     symbols, days, features (default 100 2520 50; the issue's full
#             size is 500 2520 50)
#   ROUNDS    boosting rounds per fit (default 100; the issue says 200)
#   JOBS      parallel fits on both sides (default: cores)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
VFR_BIN=${VFR_BIN:-$root/build/vfr}
S=${S:-100}; T=${T:-2520}; F=${F:-50}; ROUNDS=${ROUNDS:-100}; JOBS=${JOBS:-$(nproc)}
work=$(mktemp -d "${TMPDIR:-/tmp}/vfr-bench-tune.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$VFR_BIN" --quiet synth --symbols "$S" --days "$T" --features "$F" --seed 1 --compression 0 --out "$work/d.h5"
cat > "$work/job.json" <<JSON
{"jobId": "bench-tune", "modelName": "bench", "targetVariable": "price_direction_1d",
 "dataConfig": {"dataset": "$work/d.h5"},
 "trainingConfig": {"hyperparameters": {"n_estimators": $ROUNDS, "max_bin": 256},
                    "trainTestSplit": 0.85, "validationSplit": 0.0, "earlyStoppingRounds": 0, "seed": 1},
 "split": {"method": "holdout"},
 "search": {"method": "grid_search", "nFolds": 5, "scoringMetric": "auc", "pruning": "none",
            "space": {"learning_rate": [0.05, 0.1, 0.2], "max_depth": [3, 4, 5, 6],
                      "subsample": [0.8, 1.0]}}}
JSON
echo "data      $S symbols x $T days x $F features; grid 24 x 5 folds x $ROUNDS rounds; $JOBS parallel fits, 1 thread each"
/usr/bin/time -f "%e %M" -o "$work/vfr.time" "$VFR_BIN" --quiet tune "$work/job.json" --out "$work/run" \
    --jobs "$JOBS" --threads "$JOBS" --json > "$work/search.json"
python3 "$(dirname "$0")/tune_peer.py" "$work/d.h5" "$work/job.json" "$work/search.json" "$work/vfr.time" "$JOBS" "$ROUNDS"
