#!/usr/bin/env python3
"""test_tune.py: `vfr tune` as a preempted batch job sees it.

- kill -9 in the first wave, once its first fits are logged, then --resume:
  every trial x fold is in trials.jsonl exactly once and the result equals an
  uninterrupted run's;
- n_estimators in a grid costs one fit, and its scores equal separate fits';
- SIGTERM stops cleanly with exit 3, and --resume finishes;
- shards 0/3, 1/3, 2/3 merged equal the unsharded search;
- successive halving stops a clearly dominated trial early; it is
  asynchronous (no barrier between rungs) and resumes after kill -9;
- vfr train with a search block trains the final model with the best params;
- the newest XGBoost library is the default, and VFR_XGBOOST_LIB pins one.
"""
import json
import os
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


def run(*args):
    p = subprocess.run([VFR, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def write_job(path, dataset, search, job_id="tune-test", **extra):
    j = {"jobId": job_id, "modelName": "t", "targetVariable": "price_direction_1d",
         "dataConfig": {"dataset": dataset, "minDates": 50, "minRows": 500},
         "trainingConfig": {"hyperparameters": {"n_estimators": 40, "nthread": 1}, "seed": 3,
                            "earlyStoppingRounds": 10},
         "search": search}
    j.update(extra)
    with open(path, "w") as f:
        json.dump(j, f)
    return path


def cells(path):
    out = []
    for line in open(path):
        o = json.loads(line)
        out.append((o["trial"], o["fold"], o["score"]))
    return out


def lines(path):
    try:
        return sum(1 for _ in open(path))
    except FileNotFoundError:
        return 0


def xgb_info(env=None):
    p = subprocess.run([VFR, "info", "--json"], capture_output=True, text=True,
                       env=dict(os.environ, **(env or {})))
    return json.loads(p.stdout)["libraries"]["xgboost"]


def version(v):
    return tuple(int(x) for x in v.split("."))


def main():
    tmp = tempfile.mkdtemp(prefix="vfr-tune-")
    try:
        # the newest XGBoost library installed is the default; VFR_XGBOOST_LIB pins one
        if "VFR_XGBOOST_LIB" not in os.environ:
            default = xgb_info()
            system = xgb_info({"VFR_XGBOOST_LIB": "libxgboost.so.0"})
            check(default.get("version") and system.get("version") and
                  version(default["version"]) >= version(system["version"]),
                  f"default XGBoost {default} is at least the system's {system}")
            check(system.get("path", "").endswith("libxgboost.so.0"), f"VFR_XGBOOST_LIB is obeyed: {system}")
            bad = xgb_info({"VFR_XGBOOST_LIB": os.path.join(tmp, "none.so")})
            check(bad.get("version") is None and "VFR_XGBOOST_LIB" in bad.get("error", ""),
                  f"a VFR_XGBOOST_LIB that does not load is an error, not a fallback: {bad}")
        ds = os.path.join(tmp, "d.h5")
        rc, _, err = run("--quiet", "synth", "--symbols", "30", "--days", "500", "--features", "6",
                         "--seed", "11", "--out", ds)
        check(rc == 0, f"synth: {err}")
        grid = {"method": "grid_search", "nFolds": 3, "scoringMetric": "auc",
                "space": {"learning_rate": [0.03, 0.1, 0.3], "max_depth": [2, 3, 4, 5]}}
        jp = write_job(os.path.join(tmp, "grid.json"), ds, grid)

        # the reference: one uninterrupted run
        ref = os.path.join(tmp, "ref")
        rc, out, err = run("--quiet", "tune", jp, "--out", ref, "--json")
        check(rc == 0, f"tune: {err}")
        ref_search = json.loads(out)
        ref_cells = sorted(cells(os.path.join(ref, "trials.jsonl")))
        check(len(ref_cells) == 36 and len(set((t, k) for t, k, _ in ref_cells)) == 36,
              "grid: 12 trials x 3 folds, each once")
        check(ref_search["trialsEvaluated"] == 12, "trials evaluated")

        # kill -9 in the first wave, as soon as the first fits are logged: each
        # fit is logged as it finishes (a wave used to be logged whole, and a
        # kill before its end left the log empty), then resume
        kd = os.path.join(tmp, "killed")
        log = os.path.join(kd, "trials.jsonl")
        killed_at = None
        for attempt in range(3):
            shutil.rmtree(kd, ignore_errors=True)
            p = subprocess.Popen([VFR, "--quiet", "tune", jp, "--out", kd],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t0 = time.time()
            while p.poll() is None and lines(log) == 0 and time.time() - t0 < 60:
                time.sleep(0.002)
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
                killed_at = lines(log)
                if 0 < killed_at < 12:
                    break
        print(f"test_tune: killed with {killed_at} of 36 lines logged", file=sys.stderr)
        check(killed_at is not None and 0 < killed_at < 12,
              f"killed in the first wave with its first fits kept ({killed_at} lines; 12 = one fold of the grid)")
        rc, _, err = run("--quiet", "tune", jp, "--out", kd, "--resume")
        check(rc == 0, f"resume: {err}")
        got = cells(log)
        keys = [(t, k) for t, k, _ in got]
        check(len(keys) == 36 and len(set(keys)) == 36, f"after resume every trial x fold once ({len(keys)} lines)")
        check(sorted(got) == ref_cells, "resumed scores equal the uninterrupted run's")
        rs = json.load(open(os.path.join(kd, "search.json")))
        check(rs["bestParams"] == ref_search["bestParams"] and rs["bestScore"] == ref_search["bestScore"],
              "resumed best equals the uninterrupted best")

        # n_estimators in the grid costs one fit per (other parameters, fold):
        # trained to the largest value, scored at each with iteration_range;
        # each score equals a separate fit's (early stopping on and off)
        for es in (10, 0):
            ne = {"method": "grid_search", "nFolds": 3, "scoringMetric": "auc",
                  "space": {"n_estimators": [8, 20, 40], "learning_rate": [0.1, 0.5]}}
            tc = {"hyperparameters": {"nthread": 1}, "seed": 3, "earlyStoppingRounds": es}
            rc, out, err = run("--quiet", "tune", write_job(os.path.join(tmp, "ne.json"), ds, ne, trainingConfig=tc),
                               "--out", os.path.join(tmp, f"ne{es}"), "--json")
            check(rc == 0, f"n_estimators grid: {err}")
            if rc != 0:
                continue
            shared = json.loads(out)
            check(shared.get("modelsTrained") == 2 * 3,
                  f"6 models for 3 n_estimators x 2 learning rates x 3 folds (got {shared.get('modelsTrained')})")
            got = {(r["params"]["n_estimators"], r["params"]["learning_rate"]): r for r in shared["allResults"]}
            for n in (8, 20, 40):
                one = dict(ne, space={"learning_rate": [0.1, 0.5]})
                tcn = dict(tc, hyperparameters={"nthread": 1, "n_estimators": n})
                rc, out, err = run("--quiet", "tune", write_job(os.path.join(tmp, "ne1.json"), ds, one, trainingConfig=tcn),
                                   "--out", os.path.join(tmp, f"ne{es}-{n}"), "--json")
                check(rc == 0, f"n_estimators {n} alone: {err}")
                if rc != 0:
                    continue
                for r in json.loads(out)["allResults"]:
                    g = got[(n, r["params"]["learning_rate"])]
                    for fa, fb in zip(g["folds"], r["folds"]):
                        check(abs(fa["score"] - fb["score"]) <= 1e-12 and fa["rounds"] == fb["rounds"]
                              and fa["bestRound"] == fb["bestRound"],
                              f"earlyStoppingRounds {es}, n_estimators {n}, lr {r['params']['learning_rate']}, "
                              f"fold {fa['fold']}: shared fit {fa} = separate fit {fb}")

        # SIGTERM: clean stop, exit 3, then resume
        sd = os.path.join(tmp, "term")
        p = subprocess.Popen([VFR, "--quiet", "tune", jp, "--out", sd], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        t0 = time.time()  # the log exists once the search runs (handlers are in place)
        while p.poll() is None and not os.path.exists(os.path.join(sd, "trials.jsonl")) and time.time() - t0 < 60:
            time.sleep(0.005)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=120)
        check(p.returncode in (0, 3), f"SIGTERM: exit {p.returncode} ({err.strip()})")
        rc, _, err = run("--quiet", "tune", jp, "--out", sd, "--resume")
        check(rc == 0 and sorted(cells(os.path.join(sd, "trials.jsonl"))) == ref_cells,
              "after SIGTERM, resume completes to the same result")

        # shards
        sh = os.path.join(tmp, "shards")
        for i in range(3):
            rc, _, err = run("--quiet", "tune", jp, "--out", sh, "--shard", f"{i}/3")
            check(rc == 0, f"shard {i}/3: {err}")
        rc, out, err = run("--quiet", "tune", jp, "--out", sh, "--merge", "3", "--json")
        check(rc == 0, f"merge: {err}")
        if rc == 0:
            ms = json.loads(out)
            check(sorted(cells(os.path.join(sh, "trials.jsonl"))) == ref_cells, "merged shards = unsharded cells")
            check(ms["bestParams"] == ref_search["bestParams"] and ms["bestScore"] == ref_search["bestScore"],
                  "merged shards = unsharded best")
        bad = write_job(os.path.join(tmp, "tpe.json"), ds, dict(grid, method="bayesian"))
        rc, _, err = run("tune", bad, "--out", sh, "--shard", "0/2")
        check(rc == 2 and "sharded" in err, f"TPE with shards is refused: {err.strip()}")

        # successive halving prunes a dominated trial early
        pr = write_job(os.path.join(tmp, "prune.json"), ds,
                       {"method": "grid_search", "nFolds": 3, "scoringMetric": "auc",
                        "pruning": "successive_halving", "minRounds": 5, "reductionFactor": 3,
                        "space": {"learning_rate": [0.00001, 0.2, 0.3], "max_depth": [3]}},
                       trainingConfig={"hyperparameters": {"n_estimators": 60, "nthread": 1},
                                       "earlyStoppingRounds": 0, "seed": 3})
        rc, out, err = run("--quiet", "tune", pr, "--out", os.path.join(tmp, "prune"), "--json")
        check(rc == 0, f"pruning: {err}")
        if rc == 0:
            res = {r["trial"]: r for r in json.loads(out)["allResults"]}
            weak = res[0]
            check(weak["pruned"], "the dominated trial (learning rate 1e-5) is pruned")
            check(max(f["rounds"] for f in weak["folds"]) <= 5, "... after the first rung's 5 rounds")
            best = json.loads(out)["bestTrial"]
            check(best != 0 and max(f["rounds"] for f in res[best]["folds"]) > 5, "the best trial trained on")

        # asynchronous successive halving: a trial is promoted as soon as its
        # rung ranks it, with no barrier (a rung-1 fit is logged before the
        # last rung-0 fit); kill -9 and --resume (one worker: deterministic)
        # end with the uninterrupted run's winner, no fit logged twice
        asha = write_job(os.path.join(tmp, "asha.json"), ds,
                         {"method": "grid_search", "nFolds": 3, "scoringMetric": "auc",
                          "pruning": "successive_halving", "minRounds": 4, "reductionFactor": 3,
                          "space": {"learning_rate": [0.02, 0.1, 0.3], "max_depth": [2, 3, 4]}},
                         trainingConfig={"hyperparameters": {"n_estimators": 36, "nthread": 1},
                                         "earlyStoppingRounds": 0, "seed": 3})
        ad = os.path.join(tmp, "asha")
        rc, out, err = run("--quiet", "tune", asha, "--out", ad, "--json", "--jobs", "1")
        check(rc == 0, f"asha: {err}")
        if rc == 0:
            res = json.loads(out)
            recs = [json.loads(line) for line in open(os.path.join(ad, "trials.jsonl"))]
            rung = [r["rung"] for r in recs]
            check(1 in rung and rung.index(1) < max(i for i, r in enumerate(rung) if r == 0),
                  f"a trial reaches rung 1 before rung 0 is done (order {rung})")
            check(len(set((r["trial"], r["fold"], r["rung"]) for r in recs)) == len(recs), "no fit logged twice")
            pruned = [r for r in res["allResults"] if r["pruned"]]
            check(len(pruned) >= 6 and all(max(f["rounds"] for f in r["folds"]) <= 12 for r in pruned),
                  "at least 6 of 9 trials stop by rung 1 (12 rounds)")
            best = {r["trial"]: r for r in res["allResults"]}[res["bestTrial"]]
            check(all(f["rounds"] == 36 for f in best["folds"]), "the winner trains to its own 36 rounds")
            kd2 = os.path.join(tmp, "asha-killed")
            alog = os.path.join(kd2, "trials.jsonl")
            p = subprocess.Popen([VFR, "--quiet", "tune", asha, "--out", kd2, "--jobs", "1"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t0 = time.time()
            while p.poll() is None and lines(alog) < 8 and time.time() - t0 < 60:
                time.sleep(0.002)
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
            p.wait()
            rc, out2, err = run("--quiet", "tune", asha, "--out", kd2, "--json", "--jobs", "1", "--resume")
            check(rc == 0, f"asha resume: {err}")
            if rc == 0:
                r2 = json.loads(out2)
                recs2 = [json.loads(line) for line in open(alog)]
                check(len(set((r["trial"], r["fold"], r["rung"]) for r in recs2)) == len(recs2),
                      "asha resume: no fit logged twice")
                check(r2["bestTrial"] == res["bestTrial"] and r2["bestScore"] == res["bestScore"],
                      "asha resume ends with the uninterrupted winner")

        # vfr train with a search block
        tj = write_job(os.path.join(tmp, "train.json"), ds, grid, job_id="train-search")
        rc, out, err = run("--quiet", "train", tj, "--runs", os.path.join(tmp, "runs"), "--json")
        check(rc == 0, f"train with search: {err}")
        if rc == 0:
            m = json.loads(out)
            check(m["search"]["bestParams"] == ref_search["bestParams"], "train picks the search's best params")
            rd = os.path.join(tmp, "runs", "train-search")
            check(os.path.exists(os.path.join(rd, "trials.jsonl")) and os.path.exists(os.path.join(rd, "search.json")),
                  "the run folder keeps trials.jsonl and search.json")
            man = json.load(open(os.path.join(rd, "manifest.json")))
            check(man["trialsEvaluated"] == 12, "manifest records the trial count")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"test_tune: {len(failures)} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
