#!/usr/bin/env bash
# registry.sh: the registry benchmark (issue 8): cold load time of a stored
# artifact and the hot-model cache's hit time, for a small and a large
# XGBoost model and a linear model. `vfr models bench` times, in one process:
#   cold load  = SHA-256 check of the stored object + vfr_model_load (what a
#                cache miss in `vfr predict` costs),
#   parse only = vfr_model_load alone (what the gate's load_time measures),
#   cache hit  = vfr_model_cache_acquire + release of a cached model.
# Peer: Python xgboost's Booster().load_model() of the same stored file
# (when the xgboost package is installed), timed the same way (fresh Booster
# per load, after one untimed load).
#
#   VFR_BIN   built vfr (default build/vfr)
#   ITER      loads per model (default 50)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
VFR_BIN=${VFR_BIN:-$root/build/vfr}
ITER=${ITER:-50}
work=$(mktemp -d "${TMPDIR:-/tmp}/vfr-bench-registry.XXXXXX")
trap 'rm -rf "$work"' EXIT
export VFR_REGISTRY="$work/reg"
"$VFR_BIN" --quiet synth --symbols 100 --days 600 --features 20 --seed 1 --compression 0 --out "$work/d.h5"

# name type rounds depth
models=("small xgboost 20 3" "large xgboost 500 8" "lin linear 0 0")
for m in "${models[@]}"; do
  read -r name type rounds depth <<<"$m"
  if [ "$type" = xgboost ]; then
    hp="{\"max_depth\": $depth, \"n_estimators\": $rounds, \"learning_rate\": 0.05}"
    es=0
  else
    hp='{"C": 1.0}'
    es=0
  fi
  cat > "$work/$name.json" <<JSON
{"jobId": "bench-$name", "modelName": "bench-$name", "modelType": "$type",
 "targetVariable": "price_direction_1d", "dataConfig": {"dataset": "$work/d.h5"},
 "trainingConfig": {"hyperparameters": $hp, "earlyStoppingRounds": $es, "seed": 1},
 "split": {"method": "holdout"}}
JSON
  "$VFR_BIN" --quiet train "$work/$name.json" --runs "$work/runs" > /dev/null
  "$VFR_BIN" --quiet models register "$work/runs/bench-$name" > /dev/null
done

echo "machine   $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%Y-%m-%d)"
for m in "${models[@]}"; do
  read -r name type _ _ <<<"$m"
  "$VFR_BIN" --quiet models bench "bench-$name" --iterations "$ITER"
  { "$VFR_BIN" --quiet models validate "bench-$name:1.0.0" --json || true; } |
    python3 -c 'import json,sys; c=[x for x in json.load(sys.stdin)["checks"] if x["name"]=="load_time"][0]; print("  gate load_time:", c["detail"])'
  if [ "$type" = xgboost ] && python3 -c 'import xgboost' 2>/dev/null; then
    sha=$("$VFR_BIN" --quiet models show "bench-$name:1.0.0" --json |
          python3 -c 'import json,sys; print(json.load(sys.stdin)["artifact"]["sha256"])')
    cp "$VFR_REGISTRY/objects/$sha" "$work/$name.model.json" # the extension tells XGBoost 3 the format
    python3 - "$work/$name.model.json" "$ITER" <<'PY'
import sys, time, statistics, xgboost
path, n = sys.argv[1], int(sys.argv[2])
xgboost.Booster().load_model(path)
ts = []
for _ in range(n):
    t0 = time.perf_counter()
    b = xgboost.Booster()
    b.load_model(path)
    ts.append((time.perf_counter() - t0) * 1e3)
ts.sort()
print(f"  peer: python xgboost {xgboost.__version__} Booster.load_model  min {ts[0]:.3f} ms, "
      f"median {statistics.median(ts):.3f} ms, max {ts[-1]:.3f} ms")
PY
  fi
done
