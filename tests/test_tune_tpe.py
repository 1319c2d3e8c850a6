#!/usr/bin/env python3
"""test_tune_tpe.py: a bayesian (TPE) search accepts the spaces random search
accepts. Before the fix the pre-flight check validated a point TPE had not
filled yet (all zeros), so `subsample: uniform [0.5, 0.9]` failed with
"subsample: 0 is out of range" before any work. Here TPE runs over uniform
subsample and colsample_bytree, loguniform learning_rate, int max_depth and a
choice, past its start-up trials, and every trial stays inside the space; the
same job with random_search runs too. (Property test over every distribution
type and parameter: tests/test_search.c.)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

VFR = os.environ.get("VFR_BIN", "build/vfr")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(*args):
    p = subprocess.run([VFR, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


SPACE = {"subsample": {"type": "uniform", "low": 0.5, "high": 0.9},
         "colsample_bytree": {"type": "uniform", "low": 0.6, "high": 1.0},
         "learning_rate": {"type": "loguniform", "low": 0.01, "high": 0.3},
         "max_depth": {"type": "int", "low": 2, "high": 4},
         "grow_policy": {"type": "choice", "values": ["depthwise", "lossguide"]}}


def main():
    tmp = tempfile.mkdtemp(prefix="vfr-tpe-")
    try:
        ds = os.path.join(tmp, "d.h5")
        rc, _, err = run("--quiet", "synth", "--symbols", "20", "--days", "400", "--features", "5",
                         "--seed", "2", "--out", ds)
        check(rc == 0, f"synth: {err}")
        for method in ("bayesian", "random_search"):
            job = {"jobId": f"tpe-{method}", "modelName": "t", "targetVariable": "price_direction_1d",
                   "dataConfig": {"dataset": ds, "minDates": 50, "minRows": 500},
                   "trainingConfig": {"hyperparameters": {"n_estimators": 15, "nthread": 1}, "seed": 3,
                                      "earlyStoppingRounds": 5},
                   "search": {"method": method, "nFolds": 2, "maxIterations": 7, "startupTrials": 3,
                              "batchSize": 2, "scoringMetric": "auc", "space": SPACE}}
            jp = os.path.join(tmp, f"{method}.json")
            with open(jp, "w") as f:
                json.dump(job, f)
            rc, out, err = run("--quiet", "tune", jp, "--out", os.path.join(tmp, method), "--json")
            check(rc == 0, f"{method} over uniform subsample / loguniform learning_rate runs: {err.strip()}")
            if rc != 0:
                continue
            res = json.loads(out)
            check(res["trialsEvaluated"] == 7, f"{method}: 7 trials evaluated ({res['trialsEvaluated']})")
            for r in res["allResults"]:
                p = r["params"]
                check(0.5 <= p["subsample"] <= 0.9 and 0.6 <= p["colsample_bytree"] <= 1.0
                      and 0.01 <= p["learning_rate"] <= 0.3 and p["max_depth"] in (2, 3, 4)
                      and p["grow_policy"] in ("depthwise", "lossguide"), f"{method}: trial in the space: {p}")
            check(len({r["params"]["subsample"] for r in res["allResults"]}) == 7, f"{method}: 7 distinct points")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"test_tune_tpe: {len(failures)} failure(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
