#!/usr/bin/env python3
"""test_python.py LIBVFR_SO: the Python module (python/vfr) over the built libvfr.so.

- `pip install` of python/ (into a temporary folder) works and the installed
  module is the one imported;
- Dataset.read returns the rows of a date range exactly as h5py reads them;
- train(job dict) gives the same metrics.json as `vfr train` of the same job
  file, and Run.predictions() equals predictions.h5 read with h5py;
- bad input raises VfrError with vfr's status code and message;
- tune(job) gives the same search as `vfr tune`, and Run.search() has one row
  per trial x fold of a train-with-search run;
- predict() of a registered model equals `vfr predict`.
Skipped (77) without numpy/pandas/h5py, and under the sanitizer pass: an
ASan-built libvfr.so cannot be loaded into an uninstrumented Python.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

if os.environ.get("VFR_SANITIZED"):
    print("test_python: libvfr.so built with ASan cannot load into python3, skipped")
    sys.exit(77)
try:
    import h5py
    import numpy as np
    import pandas  # noqa: F401
except ImportError:
    print("test_python: numpy/pandas/h5py not installed, skipped")
    sys.exit(77)

VFR = os.environ.get("VFR_BIN", "build/vfr")
SRC = os.environ.get("VFR_SOURCE_DIR", os.path.join(os.path.dirname(__file__), ".."))
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(*args):
    return subprocess.run([VFR, *args], capture_output=True, text=True)


def job(dataset, job_id, **over):
    j = {"jobId": job_id, "modelName": "pymodel", "modelType": "xgboost",
         "targetVariable": "price_direction_1d",
         "dataConfig": {"dataset": dataset, "minDates": 50, "minRows": 500},
         "trainingConfig": {"hyperparameters": {"max_depth": 3, "n_estimators": 40, "nthread": 2},
                            "earlyStoppingRounds": 10, "seed": 7},
         "split": {"method": "holdout"}}
    j.update(over)
    return j


def main():
    so = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="vfr-python-")
    try:
        # pip install from a copy (the build writes into the source folder)
        src = os.path.join(tmp, "src")
        shutil.copytree(os.path.join(SRC, "python"), src)
        target = os.path.join(tmp, "site")
        p = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                            "--no-deps", "--no-build-isolation", "--target", target, src],
                           capture_output=True, text=True)
        if p.returncode != 0 and "bdist_wheel" in p.stderr + p.stdout:
            print("test_python: pip cannot build wheels here (no `wheel` package), skipped")
            return 77
        check(p.returncode == 0, f"pip install ./python: {p.stderr[-2000:]}")
        sys.path.insert(0, target)
        os.environ["VFR_LIB"] = so
        import vfr
        check(vfr.__file__.startswith(target), f"imported the installed module ({vfr.__file__})")

        ds_path = os.path.join(tmp, "d.h5")
        p = run("--quiet", "synth", "--symbols", "30", "--days", "400", "--features", "6", "--seed", "5",
                "--out", ds_path)
        check(p.returncode == 0, f"synth: {p.stderr}")

        # ---- Dataset: a date range as numpy, the same rows h5py reads
        with vfr.Dataset(ds_path) as ds, h5py.File(ds_path) as f:
            check(ds.n_rows == 12000 and len(ds.symbols) == 30 and len(ds.feature_names) == 6,
                  f"dataset shape: {ds}")
            check(ds.horizons == [1, 5, 10, 20], f"horizons {ds.horizons}")
            r = ds.read("2010-06-01", "2010-06-30")
            d = f["date"][:]
            lo = (np.datetime64("2010-06-01") - np.datetime64("1970-01-01")).astype(int)
            hi = (np.datetime64("2010-06-30") - np.datetime64("1970-01-01")).astype(int)
            sel = np.nonzero((d >= lo) & (d <= hi))[0]
            check(len(sel) > 0 and len(r["date"]) == len(sel), f"rows of June 2010: {len(r['date'])} vs {len(sel)}")
            check(np.array_equal(r["features"], f["features"][sel[0]:sel[-1] + 1], equal_nan=True),
                  "features equal h5py's")
            check(np.array_equal(r["forward_returns"], f["forward_return"][sel[0]:sel[-1] + 1], equal_nan=True),
                  "forward returns equal h5py's")
            syms = [s.decode() for s in f["symbols"][:]]
            check(list(r["symbol"]) == [syms[i] for i in f["symbol"][sel[0]:sel[-1] + 1]], "symbols")
            check(str(r["date"][0]) >= "2010-06-01" and str(r["date"][-1]) <= "2010-06-30", "dates in range")
            fr = ds.frame("2010-06-01", "2010-06-30")
            check(fr.shape == (len(sel), 6 + 4 + 1) and fr.index.names == ["date", "symbol"], "frame shape")
            check(len(ds.read("1990-01-01", "1990-12-31")["date"]) == 0, "an empty range gives no rows")
        try:
            vfr.Dataset(os.path.join(tmp, "missing.h5"))
            check(False, "a missing dataset raises")
        except vfr.VfrError as e:
            check(e.code == "NOT_FOUND" and "missing.h5" in e.message, f"missing dataset: {e}")

        # ---- train: the same run as the CLI
        j = job("d.h5", "py-train")
        run_py = vfr.train(j, out_dir=os.path.join(tmp, "run_py"), base_dir=tmp, device="cpu", threads=2)
        jp = os.path.join(tmp, "job.json")
        with open(jp, "w") as f:
            json.dump(j, f)
        p = run("--quiet", "--device", "cpu", "train", jp, "--out", os.path.join(tmp, "run_cli"), "--threads", "2")
        check(p.returncode == 0, f"vfr train: {p.stderr}")
        with open(os.path.join(tmp, "run_cli", "metrics.json")) as f:
            cli_metrics = json.load(f)
        check(run_py.metrics == cli_metrics, "train() metrics equal vfr train's")
        acc = run_py.metrics_frame()[("test", "accuracy")]
        check(abs(acc - cli_metrics["test"]["accuracy"]) < 1e-12 and acc > 0.5, f"test accuracy {acc}")
        pr = run_py.predictions()
        with h5py.File(os.path.join(run_py.path, "predictions.h5")) as f:
            check(len(pr) == f["date"].shape[0], "predictions rows")
            check(np.allclose(pr["score"].to_numpy(), f["score"][0], atol=0, rtol=0), "predictions scores")
        check(set(run_py.predictions("test")["set"]) == {"test"}, "the test set filter")
        check(len(run_py.log()) > 0 and run_py.search() is None, "log read; no search in this run")
        check(vfr.resolve_job(j, base_dir=tmp)["jobId"] == "py-train", "resolve_job")

        # ---- errors carry vfr's status and message
        bad = job("d.h5", "bad")
        bad["trainingConfig"] = {"hyperparamters": {}}
        try:
            vfr.train(bad, base_dir=tmp, out_dir=os.path.join(tmp, "run_bad"))
            check(False, "an unknown key raises")
        except vfr.VfrError as e:
            check(e.status == 1 and e.code == "INVALID_PARAMETERS" and "hyperparamters" in e.message,
                  f"unknown key: {e}")
        check(not os.path.exists(os.path.join(tmp, "run_bad")), "no run folder for a bad job")

        # ---- tune: the same search as the CLI; train with search -> Run.search()
        grid = {"method": "grid_search", "nFolds": 2, "scoringMetric": "auc",
                "space": {"max_depth": [2, 3], "learning_rate": [0.1, 0.3]}}
        tj = job("d.h5", "py-tune", search=grid)
        res = vfr.tune(tj, os.path.join(tmp, "tune_py"), base_dir=tmp, device="cpu", threads=2)
        tjp = os.path.join(tmp, "tune.json")
        with open(tjp, "w") as f:
            json.dump(tj, f)
        p = run("--quiet", "--device", "cpu", "tune", tjp, "--out", os.path.join(tmp, "tune_cli"), "--json",
                "--threads", "2")
        check(p.returncode == 0, f"vfr tune: {p.stderr}")
        cli = json.loads(p.stdout) if p.returncode == 0 else {}
        check(res.get("bestParams") == cli.get("bestParams") and res.get("bestScore") == cli.get("bestScore"),
              f"tune() equals vfr tune: {res.get('bestParams')} vs {cli.get('bestParams')}")
        check(res.get("trialsEvaluated") == 4, "4 trials")
        run_s = vfr.train(tj, out_dir=os.path.join(tmp, "run_search"), base_dir=tmp, device="cpu", threads=2)
        s = run_s.search()
        check(s is not None and len(s) == 8 and {"trial", "fold", "score"} <= set(s.columns),
              "Run.search(): 4 trials x 2 folds")

        # ---- predict with a registered model equals vfr predict
        reg = os.path.join(tmp, "reg")
        rj = job("d.h5", "py-reg", autoRegister=True)
        run_r = vfr.train(rj, out_dir=os.path.join(tmp, "run_reg"), base_dir=tmp, device="cpu", threads=2,
                          registry_dir=reg)
        check(run_r.registered is not None and run_r.registered.startswith("pymodel:"),
              f"registered: {run_r.registered}")
        ref = run_r.registered or "pymodel"
        out_py = os.path.join(tmp, "p_py.h5")
        df = vfr.predict(ref, ds_path, out_py, registry=reg, start="2011-01-01", end="2011-03-31")
        out_cli = os.path.join(tmp, "p_cli.h5")
        p = run("--quiet", "predict", "--model", ref, "--data", ds_path, "--out", out_cli, "--registry", reg,
                "--start", "2011-01-01", "--end", "2011-03-31")
        check(p.returncode == 0, f"vfr predict: {p.stderr}")
        if p.returncode == 0:
            dc = vfr.read_predictions(out_cli)
            check(len(df) == len(dc) > 0 and df.equals(dc), "predict() equals vfr predict")
        try:
            vfr.predict("nosuchmodel", ds_path, os.path.join(tmp, "x.h5"), registry=reg)
            check(False, "an unknown model raises")
        except vfr.VfrError as e:
            check(e.code == "NOT_FOUND", f"unknown model: {e}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"test_python: {len(failures)} failure(s)", file=sys.stderr)
        return 1
    print("test_python: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
