#!/usr/bin/env bash
# pipeline.sh: the whole search job (issue 19) on the bundled Dow Jones closes
# (data/dowjones30_1990-2001_daily_close.csv, from 1991): vfr's job file
# against the pipeline a quant would write instead (pipeline_peer.py: pandas
# features, GridSearchCV(XGBClassifier) with TimeSeriesSplit(5), refit, test
# AUC), the same 24-configuration grid x 5 folds x ROUNDS rounds, 70/15/15 by
# date, the same XGBoost library (vfr's default: the newest installed, the
# xgboost wheel's). vfr runs with its defaults (early stopping in the folds)
# plus asynchronous successive halving; RUNS paired runs, vfr first in each.
# Reports wall time, CPU time, test AUC and peak RSS of both, and the ratios.
#
#   VFR_BIN   built vfr (default build/vfr)
#   ROUNDS    boosting rounds (default 200)   JOBS  parallel fits (default: cores)
#   RUNS      paired runs (default 1)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
VFR_BIN=${VFR_BIN:-$root/build/vfr}
ROUNDS=${ROUNDS:-200}; JOBS=${JOBS:-$(nproc)}; RUNS=${RUNS:-1}
csv=$root/data/dowjones30_1990-2001_daily_close.csv
work=$(mktemp -d "${TMPDIR:-/tmp}/vfr-bench-pipeline.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat > "$work/job.json" <<JSON
{"jobId": "bench-pipeline", "modelName": "dj30", "modelType": "xgboost", "targetVariable": "price_direction_1d",
 "dataConfig": {"dataset": "$csv", "startDate": "1991-01-01"},
 "trainingConfig": {"hyperparameters": {"n_estimators": $ROUNDS, "max_bin": 256},
                    "trainTestSplit": 0.7, "validationSplit": 0.15, "seed": 1},
 "split": {"method": "holdout"},
 "search": {"method": "grid_search", "nFolds": 5, "scoringMetric": "auc", "pruning": "successive_halving",
            "space": {"learning_rate": [0.05, 0.1, 0.2], "max_depth": [3, 4, 5, 6], "subsample": [0.8, 1.0]}}}
JSON
echo "job       Dow Jones 30 closes from 1991; 24 configurations x 5 folds x $ROUNDS rounds; $JOBS parallel fits"
echo "machine   $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start; $(date -u +%FT%TZ)"
echo "xgboost   vfr: $("$VFR_BIN" info --json | python3 -c 'import json,sys; x=json.load(sys.stdin)["libraries"]["xgboost"]; print(x["version"], x["path"])'); peer: $(python3 -c 'import xgboost; print(xgboost.__version__)')"
for i in $(seq 1 "$RUNS"); do
  rm -rf "$work/runs"
  /usr/bin/time -f "%e %U %S %M" -o "$work/vfr.time" "$VFR_BIN" --quiet train "$work/job.json" --runs "$work/runs" \
      --jobs "$JOBS" --threads "$JOBS" > /dev/null
  /usr/bin/time -f "%e %U %S %M" -o "$work/peer.time" python3 "$(dirname "$0")/pipeline_peer.py" "$csv" 1991-01-01 \
      "$JOBS" "$ROUNDS" > "$work/peer.json"
  python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
vs, vu, vsy, vm = map(float, open(f"{w}/vfr.time").read().split())
ps, pu, psy, pm = map(float, open(f"{w}/peer.time").read().split())
p = json.load(open(f"{w}/peer.json"))
s = json.load(open(f"{w}/runs/bench-pipeline/search.json"))
m = json.load(open(f"{w}/runs/bench-pipeline/metrics.json"))
va = m["test"]["roc_auc"] if "test" in m else m["classification"]["roc_auc"]
print(f"vfr       {vs:7.1f} s wall {vu + vsy:7.1f} s CPU  best CV AUC {s['bestScore']['mean']:.4f}  test AUC {va:.4f}  "
      f"peak RSS {vm / 1024:5.0f} MB  models {s.get('modelsTrained')}")
print(f"peer      {ps:7.1f} s wall {pu + psy:7.1f} s CPU  best CV AUC {p['best']:.4f}  test AUC {p['test_auc']:.4f}  "
      f"peak RSS {pm / 1024:5.0f} MB  ({p['rows']} rows, {p['test_rows']} test; prepare {p['prepare_s']:.1f} s, "
      f"search {p['search_s']:.1f} s, final {p['final_s']:.1f} s)")
print(f"ratio     peer / vfr wall {ps / vs:.2f}x (target >= 3), CPU {(pu + psy) / (vu + vsy):.2f}x; "
      f"test AUC difference {va - p['test_auc']:+.4f} (target |.| <= 0.01)")
PY
done
echo "load      $(cut -d' ' -f1-3 /proc/loadavg) at the end"
