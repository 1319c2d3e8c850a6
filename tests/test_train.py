#!/usr/bin/env python3
"""test_train.py: `vfr train` end to end, as a user runs it.

- On a synthetic panel with a planted signal (docs/synth.md: Bayes accuracy of
  the 1-day direction 0.59), XGBoost's test accuracy is clearly above 0.5;
  with the labels shuffled across rows it stays near 0.5.
- The run folder holds what docs/run-folder.md lists; Python's xgboost loads
  model.json and predicts the same scores within 1e-6.
- Re-running the job reproduces metrics.json exactly.
- Bad input (missing dataset, a horizon the dataset lacks, an unknown LightGBM
  parameter, a hyperparameter of the wrong type) exits 2 and leaves no run folder.
- walk_forward and the linear model run too.
Needs numpy and h5py; the xgboost check runs where the xgboost package is
installed (scripts/setup.sh installs it).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

try:
    import h5py
    import numpy as np
except ImportError:
    print("test_train: numpy/h5py not installed, skipped")
    sys.exit(77)
try:
    import xgboost
except ImportError:
    xgboost = None

VFR = os.environ.get("VFR_BIN", "build/vfr")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(*args, cwd=None):
    p = subprocess.run([VFR, *args], capture_output=True, text=True, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def job(path, dataset, **over):
    j = {"jobId": "synth-dir", "modelName": "synth_dir", "modelType": "xgboost",
         "targetVariable": "price_direction_1d",
         "dataConfig": {"dataset": dataset, "minDates": 50, "minRows": 500},
         "trainingConfig": {"hyperparameters": {"max_depth": 3, "learning_rate": 0.1,
                                                "n_estimators": 200, "nthread": 2},
                            "earlyStoppingRounds": 20, "seed": 7},
         "split": {"method": "holdout"}}
    for k, v in over.items():
        j[k] = v
    with open(path, "w") as f:
        json.dump(j, f)
    return path


def main():
    tmp = tempfile.mkdtemp(prefix="vfr-train-")
    try:
        ds = os.path.join(tmp, "synth.h5")
        rc, _, err = run("--quiet", "synth", "--symbols", "80", "--days", "700", "--features", "8",
                         "--seed", "3", "--out", ds)
        check(rc == 0, f"synth: {err}")
        runs = os.path.join(tmp, "runs")
        jp = job(os.path.join(tmp, "job.json"), ds)
        rc, out, err = run("--quiet", "train", jp, "--runs", runs, "--json")
        check(rc == 0, f"train: {err}")
        m = json.loads(out)
        acc = m["test"]["accuracy"]
        check(acc > 0.545, f"planted signal: test accuracy {acc:.4f} should be clearly above 0.5")
        rd = os.path.join(runs, "synth-dir")
        for f in ("job.json", "quality.json", "split.json", "model.json", "predictions.h5",
                  "metrics.json", "log.jsonl", "manifest.json", "comparison.json", "backtest.h5", "probe.h5"):
            check(os.path.isfile(os.path.join(rd, f)), f"run folder has {f}")
        man = json.load(open(os.path.join(rd, "manifest.json")))
        check(len(man["dataset"]["sha256"]) == 64, "manifest has the dataset digest")
        check(man["seed"] == 7 and man["vfrVersion"], "manifest has seed and version")
        for line in open(os.path.join(rd, "log.jsonl")):
            json.loads(line)
        check(not [d for d in os.listdir(runs) if d.startswith(".")], "no temporary folders left")

        # Python's xgboost loads the model and predicts the same scores
        with h5py.File(os.path.join(rd, "predictions.h5")) as p, h5py.File(ds) as d:
            pdate, psym, score, pset = p["date"][:], p["symbol"][:], p["score"][0], p["set"][:]
            check(set(np.unique(pset)) == {1, 2}, "predictions hold validation and test rows")
            key = d["date"][:].astype(np.int64) * 100000 + d["symbol"][:]
            rows = np.searchsorted(key, pdate.astype(np.int64) * 100000 + psym)
            check(bool(np.all(key[rows] == pdate.astype(np.int64) * 100000 + psym)), "rows found")
            X = d["features"][:][rows]
        if xgboost is not None:
            b = xgboost.Booster()
            b.load_model(os.path.join(rd, "model.json"))
            got = b.predict(xgboost.DMatrix(X, missing=np.nan))
            err = float(np.max(np.abs(got - score)))
            check(err <= 1e-6, f"python xgboost {xgboost.__version__} predicts the same scores (max diff {err:g})")
        else:
            print("test_train: xgboost package not installed; python load check skipped")

        # the comparison: baselines with tests, PSR/DSR and a reasoned decision;
        # vfr compare on the run folder gives the same
        comp = json.load(open(os.path.join(rd, "comparison.json")))
        names = {b["name"]: b for b in comp["baselines"]}
        for b in ("buy_and_hold", "sma_crossover", "momentum", "majority_class"):
            check(names.get(b, {}).get("available"), f"baseline {b} available")
        check(not names["champion"]["available"] and names["champion"]["note"], "champion skipped with a note")
        bh = names["buy_and_hold"]
        check(0 <= bh["statisticalSignificance"]["pValue"] <= 1 and len(bh["bootstrap"]["confidenceInterval"]) == 2,
              "p-value and bootstrap interval")
        check(0 <= comp["psr"] <= 1 and 0 <= comp["dsr"] <= 1, "PSR and DSR")
        check(isinstance(comp["decision"]["shouldDeploy"], bool) and comp["decision"]["reason"], "decision with reason")
        rc, out, err = run("--quiet", "compare", rd, "--json")
        check(rc == 0 and json.loads(out) == comp, f"vfr compare reproduces comparison.json: {err}")
        with h5py.File(os.path.join(rd, "backtest.h5")) as b:
            got = [n.decode() for n in b["names"][:]]
            check(got[0] == "model" and "sma_crossover" in got, f"backtest.h5 holds the baselines: {got}")

        # same job, same seed: the same metrics, to the last digit
        first = open(os.path.join(rd, "metrics.json")).read()
        rc, _, err = run("--quiet", "train", jp, "--runs", runs)
        check(rc == 0 and open(os.path.join(rd, "metrics.json")).read() == first,
              "re-running reproduces metrics.json exactly")

        # shuffled labels: no signal left, accuracy near 0.5
        sh = os.path.join(tmp, "shuffled.h5")
        shutil.copy(ds, sh)
        with h5py.File(sh, "r+") as f:
            fr = f["forward_return"][:]
            f["forward_return"][:] = fr[np.random.default_rng(0).permutation(len(fr))]
        rc, out, err = run("--quiet", "train", job(os.path.join(tmp, "sh.json"), sh, jobId="shuffled"),
                           "--runs", runs, "--json")
        check(rc == 0, f"train shuffled: {err}")
        acc0 = json.loads(out)["test"]["accuracy"] if rc == 0 else 0
        check(abs(acc0 - 0.5) < 0.025, f"shuffled labels: test accuracy {acc0:.4f} should be near 0.5")

        # walk-forward and the linear model
        wf = job(os.path.join(tmp, "wf.json"), ds, jobId="wf", modelType="linear",
                 trainingConfig={"hyperparameters": {"C": 1.0}},
                 split={"method": "walk_forward", "windowSize": 300, "stepSize": 100})
        rc, out, err = run("--quiet", "train", wf, "--runs", runs, "--json")
        check(rc == 0, f"walk-forward linear: {err}")
        if rc == 0:
            mm = json.loads(out)
            check(len(mm["folds"]) == 4, f"walk-forward folds {len(mm['folds'])}")
            check(mm["test"]["accuracy"] > 0.53, f"linear walk-forward accuracy {mm['test']['accuracy']:.4f}")

        # the LSTM through the same pipeline (docs/lstm.md)
        lj = job(os.path.join(tmp, "lstm.json"), ds, jobId="lstm", modelType="lstm",
                 trainingConfig={"hyperparameters": {"lookback": 10, "units": [16, 8], "epochs": 3,
                                                     "batch_size": 128}, "seed": 5})
        rc, out, err = run("--quiet", "train", lj, "--runs", runs, "--json")
        check(rc == 0, f"lstm train: {err}")
        if rc == 0:
            check(os.path.isfile(os.path.join(runs, "lstm", "model.h5")), "lstm artifact model.h5")
            check(json.loads(out)["test"]["accuracy"] > 0.52, f"lstm test accuracy {json.loads(out)['test']['accuracy']:.4f}")

        # bad input: exit 2, no run folder
        bad_cases = {
            "missing-ds": ({"dataConfig": {"dataset": os.path.join(tmp, "nope.h5")}}, "nope.h5"),
            "horizon": ({"targetVariable": "price_direction_3d"}, "predictionHorizon: 3 is not in dataset"),
            "lgbm": ({"modelType": "lightgbm", "trainingConfig": {"hyperparameters": {"max_dept": 3}}},
                     "hyperparameters.max_dept: not a LightGBM parameter vfr knows; did you mean max_depth?"),
            "hp-type": ({"trainingConfig": {"hyperparameters": {"max_depth": "six"}}},
                        "hyperparameters.max_depth"),
        }
        for name, (over, needle) in bad_cases.items():
            jb = job(os.path.join(tmp, f"{name}.json"), ds, jobId=name, **over)
            rc, _, err = run("train", jb, "--runs", runs)
            check(rc == 2, f"{name}: exit {rc}, want 2 ({err.strip()})")
            check(needle in err, f"{name}: message should name {needle!r}: {err.strip()}")
            check(not os.path.exists(os.path.join(runs, name)), f"{name}: no run folder")
        check(not [d for d in os.listdir(runs) if d.startswith(".")], "no temporary folders after failures")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"test_train: {len(failures)} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
