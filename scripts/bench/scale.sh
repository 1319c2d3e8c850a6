#!/usr/bin/env bash
# scale.sh: the bounded-memory benchmark (issue 16). A synthetic universe
# (default 4000 symbols x 2520 days x 100 features = 10.08M rows, 4 GB of
# float32, uncompressed), then, one at a time:
#   train   `vfr train`, XGBoost hist, depth 6, ROUNDS rounds, no early stopping
#   python  the Python peer on the same rows (scale_peer.py: h5py by blocks,
#           xgboost.QuantileDMatrix for train and validation (ref=train),
#           xgboost.train, test rows predicted), the same libxgboost as vfr
#   tune    `vfr tune`, 8 trials x 3 folds (TUNE_ROUNDS rounds each)
# and reports wall time and peak RSS (GNU time's %M) of each.
#
#   VFR_BIN     built vfr (default build/vfr)
#   S T F       symbols, days, features (default 4000 2520 100)
#   ROUNDS      boosting rounds of train and python (default 50)
#   TUNE_ROUNDS rounds of each tune fit (default 10; peak memory does not grow with rounds)
#   MEMORY      dataConfig.memory of the vfr runs (default auto)
#   STEPS       what to run (default "train python tune")
#   THREADS     threads for all (default: cores)
#   WORK        folder for the data and runs (default a temporary one, removed at the end)
#   VFR_XGBOOST_LIB  the library for vfr; default the Python xgboost package's
#               libxgboost.so, so that both sides run the same version
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
VFR_BIN=${VFR_BIN:-$root/build/vfr}
S=${S:-4000}; T=${T:-2520}; F=${F:-100}; ROUNDS=${ROUNDS:-50}; TUNE_ROUNDS=${TUNE_ROUNDS:-10}
MEMORY=${MEMORY:-auto}; STEPS=${STEPS:-train python tune}; THREADS=${THREADS:-$(nproc)}
if [ -z "${VFR_XGBOOST_LIB:-}" ]; then
    VFR_XGBOOST_LIB=$(python3 -c 'import os, xgboost; print(os.path.join(os.path.dirname(xgboost.__file__), "lib", "libxgboost.so"))')
fi
export VFR_XGBOOST_LIB
if [ -n "${WORK:-}" ]; then
    work=$WORK; mkdir -p "$work"
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/vfr-bench-scale.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi
export VFR_REGISTRY=$work/registry
echo "data      $S symbols x $T days x $F features (uncompressed); hist, depth 6, $THREADS threads"
echo "machine   $(nproc) cores, $(awk '/MemTotal/{printf "%.1f GB", $2/1048576}' /proc/meminfo) RAM; $(date -u +%Y-%m-%dT%H:%MZ)"
echo "xgboost   $VFR_XGBOOST_LIB"
if [ ! -f "$work/d.h5" ]; then
    /usr/bin/time -f "%e %M" -o "$work/synth.time" \
        "$VFR_BIN" --quiet synth --symbols "$S" --days "$T" --features "$F" --compression 0 --seed 1 --out "$work/d.h5"
    read -r s m < "$work/synth.time"; echo "synth     $s s, peak RSS $((m / 1024)) MB, $(du -h "$work/d.h5" | cut -f1)"
fi
job() { # job file: $1 = with a search block
    local search=""
    if [ "$1" = 1 ]; then
        search=', "search": {"method": "random_search", "space": {"learning_rate": {"type": "uniform", "low": 0.05, "high": 0.3},
                 "max_depth": [4, 6], "subsample": {"type": "uniform", "low": 0.6, "high": 1.0}}, "nFolds": 3, "scoringMetric": "logloss",
                 "maxIterations": 8, "pruning": "none", "seed": 7}'
    fi
    cat <<JSON
{"jobId": "bench-scale", "modelName": "bench", "targetVariable": "price_direction_1d",
 "dataConfig": {"dataset": "$work/d.h5", "minQuality": 0.0, "memory": "$MEMORY"},
 "trainingConfig": {"hyperparameters": {"n_estimators": $([ "$1" = 1 ] && echo "$TUNE_ROUNDS" || echo "$ROUNDS"),
                                        "max_depth": 6, "learning_rate": 0.1, "max_bin": 256, "nthread": $THREADS},
                    "earlyStoppingRounds": 0, "seed": 1},
 "split": {"method": "holdout"}$search}
JSON
}
for step in $STEPS; do
    case $step in
    train)
        job 0 > "$work/train.json"
        rm -rf "$work/run"
        /usr/bin/time -f "%e %M" -o "$work/vfr.time" "$VFR_BIN" --quiet train "$work/train.json" --out "$work/run" > /dev/null
        read -r s m < "$work/vfr.time"
        echo "vfr train $s s, peak RSS $((m / 1024)) MB (memory: $MEMORY); steps (s): $(python3 -c "import json,sys; print(', '.join(f'{k} {v:.1f}' for k, v in json.load(open(sys.argv[1]))['stepSeconds'].items()))" "$work/run/manifest.json")"
        ;;
    python)
        /usr/bin/time -f "%e %M" -o "$work/py.time" python3 "$(dirname "$0")/scale_peer.py" "$work/d.h5" "$work/run" "$THREADS" "$ROUNDS"
        read -r s m < "$work/py.time"
        echo "python    $s s, peak RSS $((m / 1024)) MB (whole script)"
        ;;
    tune)
        job 1 > "$work/tune.json"
        rm -rf "$work/tune"
        /usr/bin/time -f "%e %M" -o "$work/tune.time" "$VFR_BIN" --quiet tune "$work/tune.json" --out "$work/tune" > /dev/null
        read -r s m < "$work/tune.time"
        echo "vfr tune  $s s, peak RSS $((m / 1024)) MB (8 trials x 3 folds, $TUNE_ROUNDS rounds each, memory: $MEMORY)"
        ;;
    esac
done
