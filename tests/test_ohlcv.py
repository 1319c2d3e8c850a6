#!/usr/bin/env python3
"""test_ohlcv.py: the OHLCV path end to end through the CLI (issue 15's acceptance).

- `vfr pack --ohlcv-dir data/ohlcv --features alpha158` then `vfr inspect`: 158
  features named as Qlib names them; a bad bar exits 2 naming file, line and
  column and leaves no file; `vfr synth --ohlcv` bars pack;
- a job with target rank_return_5d and dataConfig.processors (robustZScore,
  csZScore, fillna) tunes (search block), trains and registers; the run folder
  has processors.json fitted before the first validation date; the labels are
  per-date ranks in [-0.5, 0.5]; IC is the search metric;
- `vfr predict` with the registered version applies the stored processors: its
  scores equal the run's own test predictions (raw features would not).
Needs numpy and h5py (scripts/setup.sh installs them); skipped without.
"""
import gzip
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
    print("test_ohlcv: numpy/h5py not installed, skipped")
    sys.exit(77)

VFR = os.environ.get("VFR_BIN", "build/vfr")
SRC = os.environ.get("VFR_SOURCE_DIR", os.path.join(os.path.dirname(__file__), ".."))
ENV = {k: v for k, v in os.environ.items() if not k.startswith("VFR_REGISTRY")}
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what, file=sys.stderr)


def run(*args):
    return subprocess.run([VFR, *args], capture_output=True, text=True, env=ENV)


def main():
    tmp = tempfile.mkdtemp(prefix="vfr-ohlcv-")
    try:
        ds = os.path.join(tmp, "bars.h5")
        p = run("--quiet", "pack", "--ohlcv-dir", os.path.join(SRC, "data", "ohlcv"), "--features", "alpha158",
                "--out", ds)
        check(p.returncode == 0, f"pack --ohlcv-dir: {p.stderr}")
        p = run("inspect", ds, "--json")
        info = json.loads(p.stdout) if p.returncode == 0 else {}
        feats = [f["name"] for f in info.get("features", [])]
        check(len(feats) == 158 and feats[0] == "KMID" and "ROC5" in feats and feats[-1] == "VSUMD60",
              f"inspect shows the 158 Alpha158 features: {len(feats)}")

        # bad input: exit 2, file:line:column, nothing left
        bad = os.path.join(tmp, "bad.csv.gz")
        with gzip.open(bad, "wt") as f:
            f.write("Date,Ticker,Open,High,Low,Close,Volume\n2020-01-02,A,1,2,1,1.5,10\n2020-01-03,A,1,2,1,2.5,10\n")
        out = os.path.join(tmp, "bad.h5")
        p = run("pack", "--ohlcv", bad, "--out", out)
        check(p.returncode == 2, f"a bad bar exits 2: {p.returncode}")
        check("bad.csv.gz: line 3, column Close" in p.stderr, f"the error names file, line, column: {p.stderr}")
        check(not os.path.exists(out), "a failed pack leaves no file")
        p = run("pack", "--ohlcv", bad, "--columns", "nonsense", "--out", out)
        check(p.returncode == 2 and "ROLE=NAME" in p.stderr, f"a bad --columns exits 2: {p.stderr}")

        # synthetic bars at small scale, both feature sets
        bars = os.path.join(tmp, "synth.csv.gz")
        p = run("--quiet", "synth", "--ohlcv", "--symbols", "4", "--days", "80", "--seed", "3", "--out", bars)
        check(p.returncode == 0, f"synth --ohlcv: {p.stderr}")
        p = run("--quiet", "pack", "--ohlcv", bars, "--features", "alpha158,price26", "--out", os.path.join(tmp, "s.h5"))
        check(p.returncode == 0, f"pack synthetic bars: {p.stderr}")
        if p.returncode == 0:
            with h5py.File(os.path.join(tmp, "s.h5")) as f:
                check(f["features"].shape == (320, 184), f"synthetic bars shape {f['features'].shape}")

        # a ranking job with processors: tune, train, register
        job = {"jobId": "rank", "modelName": "rank", "targetVariable": "rank_return_5d",
               "dataConfig": {"dataset": ds, "startDate": "2004-01-01", "nonFinitePolicy": "keepAsMissing",
                              "minDates": 50, "minRows": 500,
                              "processors": [{"name": "robustZScore", "clip": 3}, {"name": "csZScore"},
                                             {"name": "fillna", "value": 0}]},
               "trainingConfig": {"hyperparameters": {"max_depth": 2, "n_estimators": 20, "nthread": 2}, "seed": 7},
               "search": {"method": "grid_search", "nFolds": 2, "space": {"max_depth": [2, 3]}},
               "split": {"method": "holdout", "purgeDays": 5},
               "autoRegister": True}
        jp = os.path.join(tmp, "rank.json")
        json.dump(job, open(jp, "w"))
        reg = os.path.join(tmp, "reg")
        runs = os.path.join(tmp, "runs")
        p = run("--quiet", "train", jp, "--runs", runs, "--registry", reg)
        check(p.returncode == 0, f"train rank_return_5d with processors: {p.stderr[-2000:]}")
        rd = os.path.join(runs, "rank")
        pj = json.load(open(os.path.join(rd, "processors.json"))) if os.path.exists(
            os.path.join(rd, "processors.json")) else {}
        check([x["name"] for x in pj.get("processors", [])] == ["robustZScore", "csZScore", "fillna"],
              f"processors.json in the run folder: {pj}")
        check(len(pj.get("processors", [{}])[0].get("median", [])) == 158, "robustZScore fitted per feature")
        split = json.load(open(os.path.join(rd, "split.json")))
        first_eval = min(r["start"] for fo in split["folds"] for r in fo["validation"]["ranges"] + fo["test"]["ranges"])
        fit_last = pj.get("fittedOn", {}).get("dateLast", "9999")
        check(fit_last < first_eval,
              f"fitted before the first validation/test date: {fit_last} < {first_eval}")
        m = json.load(open(os.path.join(rd, "metrics.json")))
        check("search" in m and m["search"].get("scoringMetric") == "ic", f"IC is the search metric: {m.get('search')}")
        with h5py.File(os.path.join(rd, "predictions.h5")) as r:
            rkey = r["date"][:].astype(np.int64) * 100000 + r["symbol"][:]
            rscore = r["score"][0][:]
            lab = r["label"][:] if "label" in r else None
            d0, d1 = int(r["date"][0]), int(r["date"][-1])
        if lab is not None:
            check(float(np.nanmax(np.abs(lab))) <= 0.5 + 1e-6, "rank labels lie in [-0.5, 0.5]")

        # predict applies the stored processors: same scores as the run's
        import datetime
        day = lambda d: (datetime.date(1970, 1, 1) + datetime.timedelta(days=d)).isoformat()
        out = os.path.join(tmp, "pred.h5")
        p = run("predict", "--model", "rank:1.0.0", "--data", ds, "--start", day(d0), "--end", day(d1), "--out", out,
                "--registry", reg)
        check(p.returncode == 0, f"predict: {p.stderr}")
        if p.returncode == 0:
            with h5py.File(out) as f:
                key = f["date"][:].astype(np.int64) * 100000 + f["symbol"][:]
                idx = np.searchsorted(key, rkey)
                ok = bool(np.all(idx < len(key))) and bool(np.all(key[np.minimum(idx, len(key) - 1)] == rkey))
                check(ok, "predict covers the run's test rows")
                if ok:
                    diff = float(np.max(np.abs(f["score"][0][idx] - rscore)))
                    check(diff <= 1e-5, f"predict applies the stored processors (max diff {diff:g})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"test_ohlcv: {failures} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
