#!/usr/bin/env python3
"""test_reliability.py: runs and registries that must not be lost (issue 23).

- Crash consistency: `vfr train` re-running a job is SIGKILLed at random
  points, most of them near the end (where the run is published). After every
  kill runs/<jobId> is the previous complete run or the new complete one,
  never missing or half; the next run cleans the killed runs' hidden
  .<jobId>.tmp.<pid> folders.
- A worker's per-job time limit (timeLimitMinutes): a job that runs past it
  fails with the reason and the worker goes on (its slot frees).
- Checked when the job loads, before any run: a modelVersion the registry
  refuses, and strings holding a NUL.
- Auto-versioning past patch 999999 goes on to the next minor.
Needs numpy/h5py only through `vfr synth`.
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

VFR = os.environ.get("VFR_BIN", "build/vfr")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def run(*args, timeout=300):
    p = subprocess.run([VFR, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def write_job(path, ds, **over):
    j = {"jobId": "j1", "modelName": "m1", "modelType": "xgboost",
         "targetVariable": "price_direction_1d",
         "dataConfig": {"dataset": ds, "minDates": 50, "minRows": 500},
         "trainingConfig": {"hyperparameters": {"max_depth": 3, "n_estimators": 40, "nthread": 1},
                            "seed": 7},
         "split": {"method": "holdout"}}
    j.update(over)
    with open(path, "w") as f:
        json.dump(j, f)
    return path


def complete(run_dir):
    try:
        with open(os.path.join(run_dir, "manifest.json")) as f:
            m = json.load(f)
    except (OSError, ValueError):
        return None
    for name in ("metrics.json", "model.json", "predictions.h5", "job.json"):
        if not os.path.exists(os.path.join(run_dir, name)):
            return None
    return m.get("createdAt", "?")


def crash_consistency(tmp, ds):
    runs = os.path.join(tmp, "runs")
    job = write_job(os.path.join(tmp, "job.json"), ds)
    rd = os.path.join(runs, "j1")
    t0 = time.time()
    rc, _, err = run("--quiet", "train", job, "--runs", runs)
    took = time.time() - t0
    if not check(rc == 0 and complete(rd), f"first run: {err.strip()[-300:]}"):
        return
    rng = random.Random(23)
    kills = 14
    for k in range(kills):
        # a third anywhere, the rest in the last fifth (the publish step)
        at = rng.uniform(0, took) if k % 3 == 0 else rng.uniform(0.8 * took, 1.1 * took)
        p = subprocess.Popen([VFR, "--quiet", "train", job, "--runs", runs],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(at)
        p.send_signal(signal.SIGKILL)
        p.wait()
        check(complete(rd) is not None, f"kill {k} at {at:.3f} s of {took:.3f}: {rd} is missing or half")
        stray = [n for n in os.listdir(runs) if n != "j1" and not n.startswith(".j1.tmp.")]
        check(not stray, f"kill {k}: unexpected entries {stray}")
    rc, _, err = run("--quiet", "train", job, "--runs", runs)
    check(rc == 0 and complete(rd), f"run after the kills: {err.strip()[-300:]}")
    left = [n for n in os.listdir(runs) if n != "j1"]
    check(not left, f"killed runs' folders not cleaned by the next run: {left}")


def time_limit(tmp, ds):
    q = os.path.join(tmp, "queue")
    runs = os.path.join(tmp, "wruns")
    slow = write_job(os.path.join(tmp, "slow.json"), ds, jobId="slow", timeLimitMinutes=0.02,
                     trainingConfig={"hyperparameters": {"n_estimators": 400, "nthread": 1},
                                     "earlyStoppingRounds": 0, "seed": 3},
                     search={"method": "grid_search", "nFolds": 3, "scoringMetric": "auc",
                             "space": {"learning_rate": [0.03, 0.1, 0.3], "max_depth": [2, 3, 4, 5]}})
    quick = write_job(os.path.join(tmp, "quick.json"), ds, jobId="quick")
    for jp in (slow, quick):
        rc, _, err = run("submit", jp, "--queue", q)
        check(rc == 0, f"submit {jp}: {err.strip()}")
    t0 = time.time()
    rc, _, err = run("worker", "--queue", q, "--runs", runs, "--once", "--max-concurrent", "1",
                     "--threads", "1", "--heartbeat", "1", timeout=120)
    took = time.time() - t0
    check(rc == 0, f"worker --once: rc {rc}: {err[-1500:]}")
    rc, out, err = run("status", "--queue", q, "--json")
    jobs = {j["id"]: j for j in json.loads(out)} if rc == 0 else {}
    s = jobs.get("slow", {})
    check(s.get("state") == "failed" and "time limit" in (s.get("error") or ""),
          f"the slow job should fail on its time limit: {s}")
    check(jobs.get("quick", {}).get("state") == "completed", f"the next job should run: {jobs.get('quick')}")
    check(took < 60, f"worker took {took:.1f} s: the limit did not free the slot")
    # the worker's own option, with no key in the job
    rc, _, err = run("worker", "--queue", q, "--job-time-limit", "0")
    check(rc == 2, f"--job-time-limit 0 is refused: rc {rc}")


def load_checks(tmp, ds):
    for ver in ("1.0.0000001", "01.2.3", "1.2.3.4", "1.2.1000000"):
        jp = write_job(os.path.join(tmp, "v.json"), ds, modelVersion=ver)
        rc, _, err = run("job", "show", jp)
        check(rc == 2 and "modelVersion" in err, f"modelVersion {ver!r} accepted at load: rc {rc} {err.strip()}")
    jp = write_job(os.path.join(tmp, "ok.json"), ds, modelVersion="999999.0.12")
    rc, _, err = run("job", "show", jp)
    check(rc == 0, f"modelVersion 999999.0.12 refused: {err.strip()}")
    jp = write_job(os.path.join(tmp, "nul.json"), ds, modelName="m\u0000x")
    rc, _, err = run("job", "show", jp)
    check(rc == 2 and "NUL" in err, f"a NUL in modelName: rc {rc} {err.strip()}")
    with open(jp, "wb") as f:
        f.write(b'{"jobId": "j1",\n "modelName": "m\x00x"}')
    rc, _, err = run("job", "show", jp)
    check(rc == 2 and "NUL" in err and "line 2" in err, f"a raw NUL byte: rc {rc} {err.strip()}")


def auto_version(tmp):
    rd = os.path.join(tmp, "runs", "j1")
    reg = os.path.join(tmp, "reg")
    rc, _, err = run("--quiet", "models", "register", rd, "--registry", reg, "--version", "2.999999.999999")
    check(rc == 0, f"register 2.999999.999999: {err.strip()}")
    rc, out, err = run("models", "register", rd, "--registry", reg)
    check(rc == 0 and "m1:3.0.0" in out, f"the next version after 2.999999.999999: {out} {err.strip()}")
    rc, _, err = run("--quiet", "models", "register", rd, "--registry", reg, "--version", "3.0.999999")
    rc, out, err = run("models", "register", rd, "--registry", reg)
    check(rc == 0 and "m1:3.1.0" in out, f"the next version after 3.0.999999: {out} {err.strip()}")


def main():
    tmp = tempfile.mkdtemp(prefix="vfr-rel-")
    try:
        ds = os.path.join(tmp, "ds.h5")
        rc, _, err = run("--quiet", "synth", "--symbols", "30", "--days", "400", "--features", "6",
                         "--seed", "3", "--out", ds)
        if not check(rc == 0, f"synth: {err}"):
            return 1
        load_checks(tmp, ds)
        crash_consistency(tmp, ds)
        auto_version(tmp)
        time_limit(tmp, ds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"test_reliability: {len(failures)} failure(s)", file=sys.stderr)
        return 1
    print("test_reliability: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
