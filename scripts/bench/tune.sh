#!/usr/bin/env bash
# tune.sh: the search benchmark (issues 6 and 19), three paired comparisons in
# one run on one synthetic dataset, the same XGBoost library on both sides
# (vfr's default is the newest installed: the xgboost wheel's, as Python's):
#
#  1. same work: a grid of 24 XGBoost configurations x 5 expanding time-series
#     folds x ROUNDS rounds, no early stopping, no pruning, ROC AUC: `vfr tune`
#     against GridSearchCV(XGBClassifier, n_jobs=JOBS) on the same rows and
#     folds (tune_peer.py rebuilds vfr's fold boundaries);
#  2. vfr's defaults (early stopping in the folds, 50 rounds) with
#     asynchronous successive halving, the whole `vfr train` (search, final
#     fit, test metrics) against the same GridSearchCV plus its refit and
#     test AUC;
#  3. TPE at the same trial budget (24): vfr's bayesian search against Optuna
#     TPE with its XGBoost pruning callback over xgb.cv on the same folds.
# Reports wall time, best CV score, test AUC and peak RSS of each side, and
# the ratios. The machine may be shared: read the ratios, and the load line.
#
#   VFR_BIN   built vfr (default build/vfr)
#   S T F     symbols, days, features (default 100 2520 50)
#   ROUNDS    boosting rounds per fit (default 200)
#   JOBS      parallel fits on both sides (default: cores)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
VFR_BIN=${VFR_BIN:-$root/build/vfr}
S=${S:-100}; T=${T:-2520}; F=${F:-50}; ROUNDS=${ROUNDS:-200}; JOBS=${JOBS:-$(nproc)}
work=$(mktemp -d "${TMPDIR:-/tmp}/vfr-bench-tune.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$VFR_BIN" --quiet synth --symbols "$S" --days "$T" --features "$F" --seed 1 --compression 0 --out "$work/d.h5"
job() { # name, trainingConfig extras, search extras
  cat > "$work/$1.json" <<JSON
{"jobId": "bench-$1", "modelName": "bench", "targetVariable": "price_direction_1d",
 "dataConfig": {"dataset": "$work/d.h5"},
 "trainingConfig": {"hyperparameters": {"n_estimators": $ROUNDS, "max_bin": 256}, "seed": 1 $2},
 "split": {"method": "holdout"},
 "search": {"nFolds": 5, "scoringMetric": "auc" $3,
            "space": {"learning_rate": [0.05, 0.1, 0.2], "max_depth": [3, 4, 5, 6],
                      "subsample": [0.8, 1.0]}}}
JSON
}
# the test period is the last 15% of dates in all three; "same" trains its
# folds on all their dates (no early stopping, so no validation share), as
# GridSearchCV does; the others keep the last 15% of each fold's training
# dates for early stopping (docs/search.md)
job same ', "earlyStoppingRounds": 0, "trainTestSplit": 0.85, "validationSplit": 0.0' \
    ', "method": "grid_search", "pruning": "none"'
job defaults ', "trainTestSplit": 0.7, "validationSplit": 0.15' ', "method": "grid_search", "pruning": "successive_halving"'
job tpe ', "trainTestSplit": 0.7, "validationSplit": 0.15' ', "method": "bayesian", "maxIterations": 24'
echo "data      $S symbols x $T days x $F features; 24 trials x 5 folds x $ROUNDS rounds; $JOBS parallel fits, 1 thread each"
echo "machine   $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start; $(date -u +%FT%TZ)"
echo "xgboost   vfr: $("$VFR_BIN" info --json | python3 -c 'import json,sys; x=json.load(sys.stdin)["libraries"]["xgboost"]; print(x["version"], x["path"])')"
t() { /usr/bin/time -f "%e %M" -o "$work/$1.time" "${@:2}"; }
t same "$VFR_BIN" --quiet tune "$work/same.json" --out "$work/run-same" --jobs "$JOBS" --threads "$JOBS" --json > "$work/same.out"
t defaults "$VFR_BIN" --quiet train "$work/defaults.json" --runs "$work/runs" --jobs "$JOBS" --threads "$JOBS" --json > "$work/defaults.out"
t tpe "$VFR_BIN" --quiet tune "$work/tpe.json" --out "$work/run-tpe" --jobs "$JOBS" --threads "$JOBS" --json > "$work/tpe.out"
peer="$(dirname "$0")/tune_peer.py"
python3 "$peer" grid "$work" "$JOBS" "$ROUNDS" > "$work/peer-grid.json"
python3 "$peer" tpe "$work" "$JOBS" "$ROUNDS" > "$work/peer-tpe.json"
python3 "$peer" report "$work" | sed "s/ROUNDS/$ROUNDS/; s/JOBS/$JOBS/"
echo "load      $(cut -d' ' -f1-3 /proc/loadavg) at the end"
