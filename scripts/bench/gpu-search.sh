#!/usr/bin/env bash
# gpu-search.sh [BUILD_DIR]: search trials per minute on one card (issue 18):
# the same XGBoost grid (8 configurations x 3 folds, 50 rounds, hist) run by
# `vfr --device auto tune` with 1 and with JOBS (default 4) concurrent
# boosters; the folds' scoring runs on the staged panel either way. Where the
# bundled XGBoost has no CUDA (Debian's 1.7.4), the boosters train on the CPU
# and the script says so: then only the scoring is on the card. Runs only
# with a GPU: exit 77 otherwise. Needs no Python.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build=$root/$build ;; esac
vfr=$build/vfr
if ! nvidia-smi -L >/dev/null 2>&1; then echo "gpu-search: no GPU (nvidia-smi sees none)"; exit 77; fi
[ -x "$vfr" ] || { echo "gpu-search: no $vfr"; exit 1; }
S=${S:-100}; T=${T:-1260}; F=${F:-30}; JOBS=${JOBS:-4}
work=$(mktemp -d "${TMPDIR:-/tmp}/vfr-gpu-search.XXXXXX")
trap 'rm -rf "$work"' EXIT
xgb=$("$vfr" info 2>/dev/null | grep -E '^ *XGBoost' | sed 's/^ *//')
echo "$xgb"
case "$xgb" in *"CUDA yes"*) where="boosters on the card" ;; *) where="boosters on the CPU (this XGBoost has no CUDA), scoring on the card" ;; esac
"$vfr" --quiet synth --symbols "$S" --days "$T" --features "$F" --seed 1 --compression 0 --out "$work/d.h5" || exit 1
cat > "$work/job.json" <<JSON
{"jobId": "gpu-search", "modelName": "bench", "targetVariable": "price_direction_1d",
 "dataConfig": {"dataset": "$work/d.h5"},
 "trainingConfig": {"hyperparameters": {"n_estimators": 50, "max_bin": 256, "tree_method": "hist"},
                    "trainTestSplit": 0.85, "validationSplit": 0.0, "earlyStoppingRounds": 0, "seed": 1},
 "split": {"method": "holdout"},
 "search": {"method": "grid_search", "nFolds": 3, "scoringMetric": "auc", "pruning": "none",
            "space": {"learning_rate": [0.1, 0.2], "max_depth": [4, 6], "subsample": [0.8, 1.0]}}}
JSON
echo "data $S symbols x $T days x $F features; grid 8 x 3 folds x 50 rounds; $where"
for jobs in 1 "$JOBS"; do
  s=$(date +%s.%N)
  if ! "$vfr" --quiet --device auto tune "$work/job.json" --out "$work/run$jobs" --jobs "$jobs" \
       --threads "$(nproc)" > "$work/out$jobs" 2>&1; then
    echo "gpu-search: tune with --jobs $jobs failed"; tail -5 "$work/out$jobs"; exit 1
  fi
  e=$(date +%s.%N)
  fits=$(wc -l < "$work/run$jobs/trials.jsonl")
  awk -v s="$s" -v e="$e" -v f="$fits" -v j="$jobs" 'BEGIN {
    m = (e - s) / 60; printf "--jobs %-2d %3d trial x fold fits in %6.1f s: %6.1f trials/min (%d folds each)\n", j, f, 60 * m, f / 3 / m, 3 }'
done
