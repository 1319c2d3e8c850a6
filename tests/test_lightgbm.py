#!/usr/bin/env python3
"""test_lightgbm.py: vfr's LightGBM models against Python's lightgbm, and
LightGBM through the CLI.

- Booster(model_file=...) loads vfr's saved text model and predicts the
  scores vfr computes (max |difference| <= 1e-9), for a direction and a
  return model;
- the same data, parameters (describe()'s lightgbmParams: deterministic,
  column-wise or row-wise fixed) and seed trained by lightgbm.train with the
  same early stopping give the same best iteration and predictions equal to
  1e-6;
- registry round trip: train, register, validate (integrity, load time,
  parity on the probe set), vfr predict reproduces the run's predictions,
  Python loads the registered artifact;
- vfr tune over LightGBM's own names: grid, random, TPE and successive
  halving; the queue's worker runs a LightGBM job;
- bad input at job load: an unknown parameter (with a suggestion, naming the
  file), a library that is not there (VFR_LIGHTGBM_LIB), exit 2.
Needs numpy, h5py and lightgbm (setup.sh installs them; exit 77 without).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

try:
    import h5py
    import lightgbm as lgb
    import numpy as np
except ImportError as e:
    print(f"test_lightgbm: {e.name} not installed, skipped")
    sys.exit(77)

VFR = os.environ.get("VFR_BIN", "build/vfr")
TOOL = os.path.join(os.getcwd(), "test_lightgbm")  # the C test's --dump mode (same build folder)
ENV = {k: v for k, v in os.environ.items() if not k.startswith("VFR_REGISTRY")}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def run(*args, env=None):
    return subprocess.run([VFR, *args], capture_output=True, text=True, env=env or ENV)


def typed(v):
    """lightgbmParams values are LightGBM's text: give Python the same values."""
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(v, v)


def parity(tmp):
    d = os.path.join(tmp, "dump")
    os.makedirs(d)
    p = subprocess.run([TOOL, "--dump", d], capture_output=True, text=True)
    if not check(p.returncode == 0, f"test_lightgbm --dump: {p.stderr}"):
        return
    for tag in ("direction", "return"):
        meta = json.load(open(os.path.join(d, tag + ".json")))
        F, ntr, nva = meta["F"], meta["ntr"], meta["nva"]
        X = np.fromfile(os.path.join(d, "X.f32"), dtype=np.float32).reshape(-1, F)
        y = np.fromfile(os.path.join(d, tag + ".y.f32"), dtype=np.float32)
        vfr64 = np.fromfile(os.path.join(d, tag + ".pred.f64"), dtype=np.float64)
        vfr32 = np.fromfile(os.path.join(d, tag + ".pred.f32"), dtype=np.float32)

        # 1. Python loads vfr's artifact and scores the same
        bst = lgb.Booster(model_file=os.path.join(d, tag + ".model.txt"))
        got = bst.predict(X)
        diff = float(np.max(np.abs(got - vfr64)))
        check(diff <= 1e-9, f"{tag}: Booster(model_file) scores vfr's model as vfr does (max diff {diff:g})")
        check(bst.num_trees() == meta["bestRound"] + 1, f"{tag}: the saved model is cut at the best iteration")
        d32 = float(np.max(np.abs(vfr32.astype(np.float64) - vfr64)))
        check(d32 <= 1e-6, f"{tag}: vfr's float scores are its double scores rounded (max diff {d32:g})")

        # 2. lightgbm.train on the same data, parameters and seed
        params = {k: typed(v) for k, v in meta["describe"]["lightgbmParams"].items()}
        check(params.get("deterministic") is True, f"{tag}: vfr trains deterministically")
        dtr = lgb.Dataset(X[:ntr], label=y[:ntr], params=params)
        dva = lgb.Dataset(X[ntr:ntr + nva], label=y[ntr:ntr + nva], reference=dtr, params=params)
        ref = lgb.train(params, dtr, num_boost_round=int(meta["describe"]["hyperparameters"].get(
                            "n_estimators", meta["describe"]["hyperparameters"].get("num_iterations", 100))),
                        valid_sets=[dva],
                        callbacks=[lgb.early_stopping(meta["earlyStoppingRounds"], verbose=False)])
        check(ref.best_iteration == meta["bestRound"] + 1,
              f"{tag}: same best iteration (python {ref.best_iteration}, vfr {meta['bestRound'] + 1})")
        want = ref.predict(X, num_iteration=ref.best_iteration)
        diff = float(np.max(np.abs(want - vfr64)))
        check(diff <= 1e-6, f"{tag}: lightgbm.train gives vfr's predictions (max diff {diff:g})")
        print(f"{tag}: best iteration {meta['bestRound'] + 1} of {meta['rounds']}; "
              f"Booster(model_file) max diff {float(np.max(np.abs(got - vfr64))):g}; "
              f"lightgbm.train max diff {diff:g}")


def job(tmp, ds, job_id, **extra):
    j = {"jobId": job_id, "modelName": job_id.replace("-", "_"), "modelType": "lightgbm",
         "targetVariable": "price_direction_1d",
         "dataConfig": {"dataset": ds, "minDates": 50, "minRows": 500},
         "trainingConfig": {"hyperparameters": {"num_leaves": 7, "n_estimators": 30, "min_child_samples": 20,
                                                "num_threads": 2},
                            "earlyStoppingRounds": 5, "seed": 7},
         "split": {"method": "holdout"}}
    j.update(extra)
    path = os.path.join(tmp, job_id + ".json")
    with open(path, "w") as f:
        json.dump(j, f)
    return path


def registry(tmp, ds):
    runs = os.path.join(tmp, "runs")
    p = run("--quiet", "train", job(tmp, ds, "lgb-a"), "--runs", runs)
    if not check(p.returncode == 0, f"vfr train a LightGBM job: {p.stderr}"):
        return
    rd = os.path.join(runs, "lgb-a")
    man = json.load(open(os.path.join(rd, "manifest.json")))
    check(man["model"]["artifact"] == "model.txt" and man["libraries"].get("lightgbm") == lgb.__version__,
          f"manifest: model.txt and the LightGBM version: {man['model'].get('artifact')} {man['libraries']}")
    desc = man["model"]["description"]
    check(desc["type"] == "lightgbm" and desc["bestRound"] >= 0, f"manifest describes the model: {desc}")
    report = open(os.path.join(rd, "report.html")).read()
    check("lightgbm" in report.lower(), "the report names the model type")
    reg = os.path.join(tmp, "reg")
    p = run("models", "register", rd, "--registry", reg, "--json")
    if not check(p.returncode == 0, f"register: {p.stderr}"):
        return
    v = json.loads(p.stdout)
    check(v.get("lineage", {}).get("versions", {}).get("lightgbm") == lgb.__version__,
          f"lineage records the LightGBM version: {v.get('lineage', {}).get('versions')}")
    p = run("models", "validate", f"{v['name']}:{v['version']}", "--registry", reg, "--json")
    val = json.loads(p.stdout) if p.stdout.strip().startswith("{") else {}
    checks = {c["name"]: c for c in val.get("checks", [])}
    for name in ("integrity", "load_time", "prediction_parity", "no_nan"):
        check(checks.get(name, {}).get("status") == "passed", f"validate: {name} passes: {checks.get(name)} {p.stderr}")
    out = os.path.join(tmp, "pred.h5")
    p = run("predict", "--model", f"{v['name']}:{v['version']}", "--data", ds, "--start", "2010-01-01", "--out", out,
            "--registry", reg)
    if check(p.returncode == 0, f"vfr predict with the registered LightGBM model: {p.stderr}"):
        with h5py.File(out) as f, h5py.File(os.path.join(rd, "predictions.h5")) as r:
            key = f["date"][:].astype(np.int64) * 100000 + f["symbol"][:]
            rkey = r["date"][:].astype(np.int64) * 100000 + r["symbol"][:]
            idx = np.searchsorted(key, rkey)
            check(bool(np.all(key[idx] == rkey)), "predict covers the run's rows")
            diff = float(np.max(np.abs(f["score"][0][idx] - r["score"][0])))
            check(diff <= 1e-6, f"vfr predict reproduces the run's predictions (max diff {diff:g})")
    # the registered artifact is LightGBM's own text model
    sha = v.get("artifact", {}).get("sha256")
    obj = os.path.join(reg, "objects", sha) if sha else ""
    if check(os.path.isfile(obj), f"the artifact is stored by sha256: {v.get('artifact')}"):
        bst = lgb.Booster(model_file=obj)
        check(bst.num_feature() == 5, "Python loads the registered artifact")
    # a challenger: the A/B split serves the LightGBM model too
    p = run("--quiet", "train", job(tmp, ds, "lgb-b", modelName="lgb_a"), "--runs", runs)
    check(p.returncode == 0, f"train b: {p.stderr}")
    p = run("models", "register", os.path.join(runs, "lgb-b"), "--registry", reg)
    check(p.returncode == 0, f"register b: {p.stderr}")
    for args in (("1.0.0", "champion"), ("1.0.1", "challenger", "--traffic", "0.5")):
        p = run("models", "deploy", f"lgb_a:{args[0]}", "--as", *args[1:], "--force", "--registry", reg)
        check(p.returncode == 0, f"deploy {args}: {p.stderr}")
    p = run("predict", "--model", "lgb_a", "--data", ds, "--start", "2010-06-01", "--out",
            os.path.join(tmp, "ab.h5"), "--registry", reg)
    if check(p.returncode == 0, f"A/B predict: {p.stderr}"):
        with h5py.File(os.path.join(tmp, "ab.h5")) as f:
            check(sorted(f["versions"][:].tolist()) == [b"1.0.0", b"1.0.1"], "both versions score rows")


def tune(tmp, ds):
    space = {"num_leaves": [7, 15], "min_child_samples": [10, 40], "learning_rate": [0.05, 0.2],
             "feature_fraction": [0.7, 1.0]}
    for method, extra in (("grid_search", {}), ("random_search", {"maxIterations": 4}),
                          ("bayesian", {"maxIterations": 6, "startupTrials": 3}),
                          ("random_search", {"maxIterations": 6, "pruning": "successive_halving",
                                             "minRounds": 5, "reductionFactor": 2})):
        jid = f"lgb-tune-{method}-{len(extra)}"
        search = {"method": method, "space": space, "nFolds": 2, "scoringMetric": "auc", "seed": 3, **extra}
        p = run("--quiet", "tune", job(tmp, ds, jid, search=search), "--runs", os.path.join(tmp, "runs"))
        if not check(p.returncode == 0, f"vfr tune {method} {extra}: {p.stderr}"):
            continue
        s = json.load(open(os.path.join(tmp, "runs", jid, "search.json")))
        best = s.get("bestParams", {})
        check(set(space) <= set(best), f"{method}: best parameters under LightGBM's names: {best}")


def queue(tmp, ds):
    q, runs = os.path.join(tmp, "queue"), os.path.join(tmp, "qruns")
    p = run("submit", job(tmp, ds, "lgb-queued"), "--queue", q)
    if not check(p.returncode == 0, f"submit a LightGBM job: {p.stderr}"):
        return
    p = run("worker", "--queue", q, "--runs", runs, "--once", "--max-concurrent", "1", "--threads", "1")
    check(p.returncode == 0 and os.path.isfile(os.path.join(runs, "lgb-queued", "model.txt")),
          f"the queue's worker trains a LightGBM job: {p.returncode} {p.stderr}")


def bad_input(tmp, ds):
    jp = job(tmp, ds, "lgb-bad")
    j = json.load(open(jp))
    j["trainingConfig"]["hyperparameters"]["num_leave"] = 31
    with open(jp, "w") as f:
        json.dump(j, f)
    p = run("train", jp, "--runs", os.path.join(tmp, "runs"))
    check(p.returncode == 2 and "lgb-bad.json" in p.stderr and "did you mean num_leaves?" in p.stderr,
          f"unknown parameter at job load: {p.returncode} {p.stderr}")
    check(not os.path.exists(os.path.join(tmp, "runs", "lgb-bad")), "no run folder for a bad job")
    env = dict(ENV, VFR_LIGHTGBM_LIB=os.path.join(tmp, "no", "lib_lightgbm.so"))
    p = run("train", job(tmp, ds, "lgb-nolib"), "--runs", os.path.join(tmp, "runs"), env=env)
    check(p.returncode == 2 and "VFR_LIGHTGBM_LIB=" in p.stderr and "NOT_FOUND" in p.stderr,
          f"missing library at job load: {p.returncode} {p.stderr}")
    p = run("train", job(tmp, ds, "lgb-cuda"), "--runs", os.path.join(tmp, "runs"), "--device", "cuda")
    check(p.returncode == 2 and "NO_DEVICE" in p.stderr, f"--device cuda without CUDA: {p.returncode} {p.stderr}")


def main():
    tmp = tempfile.mkdtemp(prefix="vfr-lightgbm-")
    try:
        parity(tmp)
        ds = os.path.join(tmp, "d.h5")
        p = run("--quiet", "synth", "--symbols", "20", "--days", "300", "--features", "5", "--seed", "1", "--out", ds)
        if check(p.returncode == 0, f"synth: {p.stderr}"):
            registry(tmp, ds)
            tune(tmp, ds)
            queue(tmp, ds)
            bad_input(tmp, ds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"test_lightgbm: {len(failures)} failure(s)", file=sys.stderr)
        return 1
    print("test_lightgbm: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
