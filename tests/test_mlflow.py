#!/usr/bin/env python3
"""test_mlflow.py: `vfr export mlflow` against a real MLflow tracking server.

One `mlflow server` (SQLite backend store, proxied artifact store) is started
on 127.0.0.1 for the whole file and stopped at the end. Checked with MLflow's
own Python client:
- a run folder exported: mlflow.search_runs finds the run with the same test
  and backtest metrics, the job's and best parameters, the dataset's SHA-256
  tag, the per-trial search scores as steps, and the folder's files as
  artifacts (metrics.json downloaded equals the file);
- a job with export.mlflow exports at the end of `vfr train`; a server that is
  down fails the command with exit 1 and a clear message, and the run folder
  is complete all the same; a token never appears in a message;
- a registry version exported with --model is registered in MLflow's model
  registry, and mlflow.pyfunc.load_model("models:/NAME/VERSION") predicts the
  scores of `vfr predict` to 1e-6;
- bad input (not a run folder, no tracking URI, a linear model) exits 2.
Skipped (77) where the mlflow package is not installed (scripts/setup.sh
installs it in CI, or with VFR_SETUP_MLFLOW=1).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

try:
    import h5py
    import mlflow
    import numpy as np
    import pandas as pd
except ImportError:
    print("test_mlflow: mlflow (or numpy/pandas/h5py) not installed, skipped")
    sys.exit(77)

VFR = os.environ.get("VFR_BIN", "build/vfr")
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "VFR_REGISTRY"))}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(*args, env=None):
    return subprocess.run([VFR, *args], capture_output=True, text=True, env=env or ENV)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp):
    """Starts the server and returns at once: it takes seconds to come up
    (longer on a busy machine), so the caller works meanwhile and then calls
    wait_server."""
    port = free_port()
    log = open(os.path.join(tmp, "server.log"), "w")
    p = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--backend-store-uri",
                          f"sqlite:///{tmp}/mlflow.db", "--artifacts-destination", f"{tmp}/artifacts",
                          "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=ENV)
    return p, f"http://127.0.0.1:{port}", time.time()


def wait_server(tmp, p, uri, t0):
    while time.time() - t0 < 300:
        if p.poll() is not None:
            break
        try:
            with urllib.request.urlopen(uri + "/health", timeout=2) as r:
                if r.status == 200:
                    print(f"test_mlflow: server up {time.time() - t0:.1f} s after its start")
                    return
        except OSError:
            time.sleep(0.3)
    stop_server(p)
    with open(os.path.join(tmp, "server.log")) as f:
        print(f.read()[-3000:], file=sys.stderr)
    raise RuntimeError("mlflow server did not start")


def stop_server(p):
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def write_job(path, dataset, job_id, **over):
    j = {"jobId": job_id, "modelName": "mlf_dir", "modelType": "xgboost",
         "targetVariable": "price_direction_1d",
         "dataConfig": {"dataset": dataset, "minDates": 50, "minRows": 500},
         "trainingConfig": {"hyperparameters": {"max_depth": 3, "n_estimators": 40, "nthread": 2},
                            "earlyStoppingRounds": 10, "seed": 7},
         "split": {"method": "holdout"}}
    j.update(over)
    with open(path, "w") as f:
        json.dump(j, f)
    return path


def main():
    tmp = tempfile.mkdtemp(prefix="vfr-mlflow-")
    server, uri, t0 = start_server(tmp)
    try:
        ds = os.path.join(tmp, "d.h5")
        p = run("--quiet", "synth", "--symbols", "30", "--days", "400", "--features", "6", "--seed", "9",
                "--out", ds)
        check(p.returncode == 0, f"synth: {p.stderr}")
        reg = os.path.join(tmp, "reg")
        grid = {"method": "grid_search", "nFolds": 2, "scoringMetric": "auc",
                "space": {"max_depth": [2, 3], "learning_rate": [0.1, 0.3]}}
        # Trained while the server starts.
        jp = write_job(os.path.join(tmp, "a.json"), ds, "mlf-a", search=grid, autoRegister=True)
        run_a = os.path.join(tmp, "run_a")
        p = run("--quiet", "--device", "cpu", "train", jp, "--out", run_a, "--registry", reg, "--threads", "2")
        check(p.returncode == 0, f"train a: {p.stderr}")

        wait_server(tmp, server, uri, t0)
        mlflow.set_tracking_uri(uri)
        client = mlflow.MlflowClient(uri)

        # ---- a run folder
        env = dict(ENV, MLFLOW_TRACKING_TOKEN="tok-s3cr3t")
        p = run("export", "mlflow", run_a, "--tracking-uri", uri, "--experiment", "vfr-test", "--json", env=env)
        check(p.returncode == 0, f"export run: {p.stderr}")
        out = json.loads(p.stdout) if p.returncode == 0 else {}
        with open(os.path.join(run_a, "metrics.json")) as f:
            metrics = json.load(f)
        with open(os.path.join(run_a, "manifest.json")) as f:
            manifest = json.load(f)
        runs = mlflow.search_runs(experiment_names=["vfr-test"])
        check(len(runs) == 1, f"search_runs finds one run ({len(runs)})")
        if len(runs) == 1:
            r = runs.iloc[0]
            check(r["run_id"] == out.get("runId") and r["status"] == "FINISHED", "the run, finished")
            for k in ("accuracy", "roc_auc", "log_loss", "f1"):
                check(abs(r[f"metrics.test.{k}"] - metrics["test"][k]) <= 1e-12, f"metric test.{k}")
            check(abs(r["metrics.backtest.model.sharpe"] - metrics["backtest"]["model"]["sharpe"]) <= 1e-12,
                  "metric backtest.model.sharpe")
            check(r["params.jobId"] == "mlf-a" and r["params.split.method"] == "holdout", "job params")
            check(r["params.trainingConfig.hyperparameters.max_depth"] == "3", "hyperparameter param")
            check(r["params.best.max_depth"] == str(manifest["bestParams"]["max_depth"]), "best params")
            check(r["tags.vfr.dataset.sha256"] == manifest["dataset"]["sha256"], "dataset sha256 tag")
            check(r["tags.vfr.jobId"] == "mlf-a" and r["tags.vfr.device.used"] == "cpu", "job id and device tags")
            check(r["tags.mlflow.runName"] == "mlf-a", "run name")
            hist = client.get_metric_history(r["run_id"], "search.score")
            check(sorted(m.step for m in hist) == [0, 1, 2, 3], f"search.score per trial: {len(hist)}")
            hist = client.get_metric_history(r["run_id"], "search.fold_1.validation_loss")
            check(len(hist) == 4, "per-fold validation losses as steps")
            arts = {a.path for a in client.list_artifacts(r["run_id"])}
            for need in ("report.html", "model.json", "predictions.h5", "comparison.json", "metrics.json", "model"):
                check(need in arts, f"artifact {need}")
            got = client.download_artifacts(r["run_id"], "metrics.json", tmp)
            with open(got, "rb") as f, open(os.path.join(run_a, "metrics.json"), "rb") as g:
                check(f.read() == g.read(), "metrics.json artifact equals the file")
        check("tok-s3cr3t" not in p.stderr + p.stdout, "no token in the output")

        # ---- the job's export.mlflow: at the end of vfr train, and a server that is down
        jb = write_job(os.path.join(tmp, "b.json"), ds, "mlf-b",
                       export={"mlflow": uri, "mlflowExperiment": "vfr-train"})
        p = run("--quiet", "--device", "cpu", "train", jb, "--out", os.path.join(tmp, "run_b"), "--threads", "2")
        check(p.returncode == 0, f"train with export: {p.stderr}")
        rb = mlflow.search_runs(experiment_names=["vfr-train"])
        check(len(rb) == 1 and rb.iloc[0]["params.jobId"] == "mlf-b", "train exported its run")
        dead = f"http://127.0.0.1:{free_port()}"
        jc = write_job(os.path.join(tmp, "c.json"), ds, "mlf-c", export={"mlflow": dead})
        run_c = os.path.join(tmp, "run_c")
        p = run("--quiet", "--device", "cpu", "train", jc, "--out", run_c, "--threads", "2",
                env=dict(ENV, MLFLOW_TRACKING_PASSWORD="pw-s3cr3t", MLFLOW_TRACKING_USERNAME="u"))
        check(p.returncode == 1, f"server down: exit {p.returncode}, expected 1")
        check("MLflow export failed" in p.stderr and dead in p.stderr, f"server down message: {p.stderr}")
        check("pw-s3cr3t" not in p.stderr, "no password in the message")
        check(os.path.isfile(os.path.join(run_c, "metrics.json")) and os.path.isfile(os.path.join(run_c, "report.html")),
              "the run folder is complete although the export failed")
        p = run("export", "mlflow", run_c, "--tracking-uri", dead)
        check(p.returncode == 1 and "Couldn't connect" in p.stderr, f"export to a dead server: {p.stderr}")

        # ---- bad input
        p = run("export", "mlflow", os.path.join(tmp, "nope"), "--tracking-uri", uri)
        check(p.returncode == 2 and "metrics.json" in p.stderr, f"not a run folder: {p.returncode} {p.stderr}")
        p = run("export", "mlflow", run_a)
        check(p.returncode == 2 and "tracking URI" in p.stderr, f"no tracking URI: {p.returncode} {p.stderr}")
        p = run("export", "mlflow", run_a, "--tracking-uri", "file:///tmp/mlruns")
        check(p.returncode == 2, f"a file store URI: {p.returncode}")
        jd = write_job(os.path.join(tmp, "d.json"), ds, "mlf-d", export={"mlflow": "http://u:p@host:5000"})
        p = run("job", "show", jd)
        check(p.returncode == 2 and "export.mlflow" in p.stderr, f"credentials in the job: {p.stderr}")

        # ---- a registry version as an MLflow Model, registered; pyfunc predicts vfr's scores
        with open(os.path.join(run_a, "job.json")) as f:
            name = json.load(f)["modelName"]
        p = run("export", "mlflow", "--model", name, "--registry", reg, "--tracking-uri", uri,
                "--experiment", "vfr-models", "--json")
        check(p.returncode == 0, f"export model: {p.stderr}")
        out = json.loads(p.stdout) if p.returncode == 0 else {}
        mv = out.get("modelVersion")
        check(out.get("modelName") == name and mv == "1", f"registered {name} version {mv}")
        if mv:
            v = client.get_model_version(name, mv)
            check(v.run_id == out["runId"] and v.status == "READY", "the version points at the export's run")
            model = mlflow.pyfunc.load_model(f"models:/{name}/{mv}")
            pout = os.path.join(tmp, "p.h5")
            vref = f"{name}:{v.tags.get('vfr.version')}"
            check(v.tags.get("vfr.version") == "1.0.0", f"the version's vfr.version tag: {v.tags}")
            p = run("predict", "--model", vref, "--data", ds, "--start", "2011-01-01", "--end", "2011-03-31",
                    "--out", pout, "--registry", reg)
            check(p.returncode == 0, f"vfr predict: {p.stderr}")
            if p.returncode != 0:
                return 1
            with h5py.File(ds) as f, h5py.File(pout) as q:
                names = [s.decode() for s in f["feature_names"][:]]
                date = f["date"][:]
                lo = (np.datetime64("2011-01-01") - np.datetime64("1970-01-01")).astype(int)
                hi = (np.datetime64("2011-03-31") - np.datetime64("1970-01-01")).astype(int)
                rows = np.nonzero((date >= lo) & (date <= hi))[0]
                X = pd.DataFrame(f["features"][rows[0]:rows[-1] + 1], columns=names)
                check(np.array_equal(q["date"][:], date[rows]) and np.array_equal(q["symbol"][:], f["symbol"][rows]),
                      "vfr predict scored the same rows")
                vfr_score = q["score"][0]
            got = np.asarray(model.predict(X), dtype=np.float64)
            diff = float(np.max(np.abs(got - vfr_score))) if len(got) == len(vfr_score) else float("inf")
            check(diff <= 1e-6, f"pyfunc predictions equal vfr predict's (max diff {diff:g})")
            print(f"test_mlflow: {len(got)} rows, max |pyfunc - vfr predict| = {diff:.3g}")
            p = run("export", "mlflow", "--model", name, "--registry", reg, "--tracking-uri", uri,
                    "--experiment", "vfr-models", "--json")
            check(p.returncode == 0 and json.loads(p.stdout).get("modelVersion") == "2",
                  "a second export adds version 2 to the registered model")

        jl = write_job(os.path.join(tmp, "l.json"), ds, "mlf-lin", modelType="linear", modelName="mlf_lin",
                       trainingConfig={"seed": 7}, autoRegister=True)
        p = run("--quiet", "--device", "cpu", "train", jl, "--out", os.path.join(tmp, "run_l"), "--registry", reg)
        check(p.returncode == 0, f"train linear: {p.stderr}")
        p = run("export", "mlflow", "--model", "mlf_lin", "--registry", reg, "--tracking-uri", uri)
        check(p.returncode == 2 and "XGBoost only" in p.stderr, f"a linear model: {p.returncode} {p.stderr}")
    finally:
        stop_server(server)
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"test_mlflow: {len(failures)} failure(s)", file=sys.stderr)
        return 1
    print("test_mlflow: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
