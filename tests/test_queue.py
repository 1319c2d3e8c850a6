#!/usr/bin/env python3
"""test_queue.py: the job queue as its users drive it (vfr submit, worker,
status, cancel, schedule), against the built vfr at $VFR_BIN.

- the three submit errors: INVALID_PARAMETERS naming the field,
  DUPLICATE_JOB_ID, QUEUE_FULL (--max-queued);
- priority order (high, then normal by age, then low) with one job at a time;
- --max-concurrent 2: never more than two jobs at once, and two do overlap;
- kill -9 of a worker mid-search, then a new worker: the job is requeued once,
  completes, and its trial log holds every trial x fold exactly once;
- cancel of a queued job and of a running one (its worker stops it);
- the acceptance line: submit data/examples/quickstart.json, worker --once,
  status --json shows the completed job and its result;
- schedules from the CLI: a daily schedule ticked twice on one day enqueues
  one job, on the next day a second.

`--backend postgresql` runs the same checks against queues in a PostgreSQL
server the test starts in its temporary folder (tests/pgserver.py; exit 77
where PostgreSQL is not installed), and what only a shared queue has: two
workers on one queue (no job claimed twice), and the server stopped and
restarted while a worker runs a job (the worker waits, keeps its job, and
records its outcome; nothing lost, nothing run twice).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgserver  # noqa: E402

VFR = os.environ.get("VFR_BIN", "build/vfr")
SRC = os.environ.get("VFR_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
failures = []
PG = "--backend" in sys.argv and sys.argv[sys.argv.index("--backend") + 1] == "postgresql"
SERVER = None  # pgserver.Server under --backend postgresql


def new_queue(tmp, name):
    """A queue location: a folder under tmp, or a new database's URI."""
    return SERVER.new_db(name.replace("-", "_")) if PG else os.path.join(tmp, name)


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def run(*args, timeout=600):
    p = subprocess.run([VFR, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def write_job(path, dataset, job_id, search=None, n_estimators=20, **extra):
    j = {"jobId": job_id, "modelName": "q", "targetVariable": "price_direction_1d",
         "dataConfig": {"dataset": dataset, "minDates": 50, "minRows": 300},
         "trainingConfig": {"hyperparameters": {"n_estimators": n_estimators, "nthread": 1},
                            "earlyStoppingRounds": 5, "seed": 3}}
    if search:
        j["search"] = search
    j.update(extra)
    with open(path, "w") as f:
        json.dump(j, f)
    return path


def status(queue, job=None):
    args = ["status", "--queue", queue, "--json"] + ([job] if job else [])
    rc, out, err = run(*args)
    if not check(rc == 0, f"status {job or ''}: {err.strip()}"):
        return None
    return json.loads(out)


def by_id(queue):
    return {j["id"]: j for j in (status(queue) or [])}


# A search long enough to be interrupted: 12 trials x 3 folds in waves of 8
# trials, 150 rounds each without early stopping (some 7 s on one core).
GRID = {"method": "grid_search", "nFolds": 3, "scoringMetric": "auc",
        "space": {"learning_rate": [0.03, 0.1, 0.3], "max_depth": [2, 3, 4, 5]}}
SLOW_TRAINING = {"hyperparameters": {"n_estimators": 150, "nthread": 1}, "earlyStoppingRounds": 0, "seed": 3}


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purpose
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1].split()[0] != "Z"
    except OSError:
        return False


def lines(path):
    try:
        with open(path) as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


def submit_errors(tmp, ds):
    q = new_queue(tmp, "q-errors")
    bad = os.path.join(tmp, "bad.json")
    with open(bad, "w") as f:
        json.dump({"jobId": "bad", "modelName": "q", "targetVariable": "price_direction_1d",
                   "dataConfig": {"dataset": ds, "minQuality": 1.5}}, f)
    rc, _, err = run("submit", bad, "--queue", q)
    check(rc == 2 and "INVALID_PARAMETERS" in err and "dataConfig.minQuality" in err,
          f"a bad field: exit 2, INVALID_PARAMETERS naming it (rc {rc}: {err.strip()})")
    nods = write_job(os.path.join(tmp, "nods.json"), os.path.join(tmp, "missing.h5"), "nods")
    rc, _, err = run("submit", nods, "--queue", q)
    check(rc == 2 and "INVALID_PARAMETERS" in err and "dataConfig.dataset" in err,
          f"a missing dataset: exit 2 naming dataConfig.dataset (rc {rc}: {err.strip()})")
    cat = write_job(os.path.join(tmp, "cat.json"), ds, "cat", modelType="catboost")
    rc, _, err = run("submit", cat, "--queue", q)
    check(rc == 2 and "modelType" in err, f"a model type vfr does not have: exit 2 naming modelType ({err.strip()})")
    hp = write_job(os.path.join(tmp, "hp.json"), ds, "hp")
    with open(hp) as f:
        j = json.load(f)
    j["trainingConfig"]["hyperparameters"]["max_dept"] = 3
    with open(hp, "w") as f:
        json.dump(j, f)
    rc, _, err = run("submit", hp, "--queue", q)
    check(rc == 2 and "hyperparameters.max_dept" in err, f"an unknown hyperparameter: named ({err.strip()})")
    a = write_job(os.path.join(tmp, "a.json"), ds, "err-a")
    rc, out, err = run("submit", a, "--queue", q)
    check(rc == 0 and "queued err-a" in out, f"submit: {err.strip()}")
    rc, _, err = run("submit", a, "--queue", q)
    check(rc == 2 and "DUPLICATE_JOB_ID" in err and "err-a" in err, f"duplicate: rc {rc}: {err.strip()}")
    b = write_job(os.path.join(tmp, "b.json"), ds, "err-b")
    c = write_job(os.path.join(tmp, "c.json"), ds, "err-c")
    rc, _, err = run("submit", b, "--queue", q, "--max-queued", "2")
    check(rc == 0, f"second of two: {err.strip()}")
    rc, _, err = run("submit", c, "--queue", q, "--max-queued", "2")
    check(rc == 2 and "QUEUE_FULL" in err, f"third with --max-queued 2: QUEUE_FULL (rc {rc}: {err.strip()})")
    env = dict(os.environ, VFR_QUEUE_MAX="2")
    p = subprocess.run([VFR, "submit", c, "--queue", q], capture_output=True, text=True, env=env)
    check(p.returncode == 2 and "QUEUE_FULL" in p.stderr, "VFR_QUEUE_MAX=2: QUEUE_FULL")
    rc, _, err = run("submit", c, "--queue", q, "--priority", "urgent")
    check(rc == 2 and "priority" in err, f"--priority urgent refused: {err.strip()}")
    jobs = by_id(q)
    check(sorted(jobs) == ["err-a", "err-b"], f"only the accepted jobs are queued: {sorted(jobs)}")
    nq = new_queue(tmp, "no-queue") if PG else os.path.join(tmp, "no-queue")
    rc, _, err = run("status", "--queue", nq)
    created = (SERVER.psql("no_queue", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") != [["0"]]
               if PG else os.path.exists(nq))
    check(rc == 2 and "NOT_FOUND" in err and not created, f"status of no queue creates none: {err}")


def priority_order(tmp, ds, runs):
    q = new_queue(tmp, "q-prio")
    order = [("p-low", "low"), ("p-normal-1", "normal"), ("p-high", "high"), ("p-normal-2", None)]
    for jid, prio in order:
        jp = write_job(os.path.join(tmp, jid + ".json"), ds, jid)
        args = ["submit", jp, "--queue", q] + (["--priority", prio] if prio else [])
        rc, _, err = run(*args)
        check(rc == 0, f"submit {jid}: {err.strip()}")
    rc, _, err = run("worker", "--queue", q, "--runs", runs, "--once", "--max-concurrent", "1", "--threads", "1")
    check(rc == 0, f"worker --once: rc {rc}: {err[-2000:]}")
    jobs = by_id(q)
    check(all(j["state"] == "completed" for j in jobs.values()),
          f"all completed: {[(k, v['state'], v['error']) for k, v in jobs.items()]}")
    started = sorted(jobs, key=lambda k: jobs[k]["timings"]["startedUnix"])
    check(started == ["p-high", "p-normal-1", "p-normal-2", "p-low"], f"priority, then age: {started}")
    return jobs


def max_concurrent(tmp, ds, runs):
    q = new_queue(tmp, "q-conc")
    ids = [f"c-{i}" for i in range(4)]
    for jid in ids:
        rc, _, err = run("submit", write_job(os.path.join(tmp, jid + ".json"), ds, jid, n_estimators=60),
                         "--queue", q)
        check(rc == 0, f"submit {jid}: {err.strip()}")
    p = subprocess.Popen([VFR, "worker", "--queue", q, "--runs", runs, "--once", "--max-concurrent", "2",
                          "--threads", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen = 0
    while p.poll() is None:  # what vfr status says while it runs
        st = status(q) or []
        seen = max(seen, sum(1 for j in st if j["state"] == "running"))
        time.sleep(0.2)
    err = p.stderr.read()
    check(p.returncode == 0, f"worker --max-concurrent 2: rc {p.returncode}: {err[-2000:]}")
    jobs = by_id(q)
    check(all(j["state"] == "completed" for j in jobs.values()), "all four completed")
    spans = [(j["timings"]["startedUnix"], j["timings"]["finishedUnix"]) for j in jobs.values()]
    overlap = max(sum(1 for s, f in spans if s <= t < f) for t, _ in spans)
    check(overlap == 2, f"at most and at least two jobs at once by their timings (max overlap {overlap})")
    check(seen <= 2, f"vfr status never showed more than two running ({seen})")


def kill_and_requeue(tmp, ds, runs):
    q = new_queue(tmp, "q-kill")
    jp = write_job(os.path.join(tmp, "kill.json"), ds, "kill-me", search=GRID, n_estimators=150,
                   trainingConfig=SLOW_TRAINING)
    rc, _, err = run("submit", jp, "--queue", q)
    check(rc == 0, f"submit: {err.strip()}")
    log = os.path.join(runs, "kill-me", "trials.jsonl")
    wlog = open(os.path.join(tmp, "worker1.log"), "w")
    w = subprocess.Popen([VFR, "worker", "--queue", q, "--runs", runs, "--stale-after", "3", "--heartbeat", "1",
                          "--max-concurrent", "1", "--threads", "1"], stdout=wlog, stderr=wlog)
    t0 = time.time()
    while w.poll() is None and lines(log) == 0 and time.time() - t0 < 120:
        time.sleep(0.005)
    os.kill(w.pid, signal.SIGKILL)
    w.wait()
    mid = by_id(q).get("kill-me", {})
    # the orphaned `vfr train` gets SIGTERM (PR_SET_PDEATHSIG): it checkpoints and exits
    pid = mid.get("pid")
    check(pid, f"the running job names its child's pid: {mid}")
    t0 = time.time()
    while pid and alive(pid) and time.time() - t0 < 60:
        time.sleep(0.05)
    check(pid and not alive(pid), "the dead worker's child stopped too")
    killed_at = lines(log)
    print(f"test_queue: worker killed with {killed_at} of 36 trial x folds logged", file=sys.stderr)
    check(0 < killed_at < 36, f"the worker was killed mid-search ({killed_at} lines)")
    check(mid.get("state") == "running" and mid.get("step"), f"running with a step while it ran: {mid}")
    child = mid.get("worker")
    check(by_id(q)["kill-me"]["state"] == "running", "a dead worker's job still reads running until stale")
    rc, _, err = run("worker", "--queue", q, "--runs", runs, "--stale-after", "3", "--heartbeat", "1", "--once",
                     "--threads", "1")
    check(rc == 0, f"second worker: rc {rc}: {err[-2000:]}")
    j = status(q, "kill-me") or {}
    check(j.get("state") == "completed", f"completed after the requeue: {j.get('state')} {j.get('error')}")
    check(j.get("attempts") == 2, f"two attempts (requeued once): {j.get('attempts')}")
    events = [e["event"] for e in j.get("events", [])]
    check(events.count("requeued") == 1 and events.count("started") == 2, f"events: {events}")
    check(child and child != j.get("worker"), "the second worker finished it")
    cells = []
    with open(log) as f:
        for line in f:
            o = json.loads(line)
            cells.append((o["trial"], o["fold"]))
    check(len(cells) == 36 and len(set(cells)) == 36, f"every trial x fold exactly once ({len(cells)} lines, "
                                                      f"{len(set(cells))} distinct)")
    res = j.get("result") or {}
    check(res.get("search", {}).get("trialsEvaluated") == 12, f"result names the search: {res.get('search')}")


def cancels(tmp, ds, runs):
    q = new_queue(tmp, "q-cancel")
    jp = write_job(os.path.join(tmp, "cq.json"), ds, "cancel-queued")
    run("submit", jp, "--queue", q)
    rc, out, err = run("cancel", "cancel-queued", "--queue", q)
    check(rc == 0 and "cancelled" in out, f"cancel a queued job: {out} {err}")
    rc, _, err = run("cancel", "cancel-queued", "--queue", q)
    check(rc == 2 and "already cancelled" in err, f"cancel twice: exit 2 ({err.strip()})")
    rc, _, err = run("cancel", "nosuch", "--queue", q)
    check(rc == 2 and "NOT_FOUND" in err, f"cancel an unknown job: {err.strip()}")
    grid = dict(GRID, space=dict(GRID["space"], subsample=[0.8, 1.0]))  # 24 trials: three waves
    jp = write_job(os.path.join(tmp, "cr.json"), ds, "cancel-running", search=grid, n_estimators=150,
                   trainingConfig=SLOW_TRAINING)
    run("submit", jp, "--queue", q)
    w = subprocess.Popen([VFR, "worker", "--queue", q, "--runs", runs, "--once", "--heartbeat", "1",
                          "--threads", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    log = os.path.join(runs, "cancel-running", "trials.jsonl")
    t0 = time.time()
    while w.poll() is None and lines(log) == 0 and time.time() - t0 < 120:
        time.sleep(0.02)
    mid = status(q, "cancel-running") or {}
    check(mid.get("state") == "running" and mid.get("timings", {}).get("heartbeat"),
          f"running, with a heartbeat: {mid.get('state')}")
    rc, out, err = run("cancel", "cancel-running", "--queue", q)
    check(rc == 0 and "cancel asked" in out, f"cancel a running job: {out} {err}")
    try:
        _, err = w.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        w.kill()
        _, err = w.communicate()
    check(w.returncode == 0, f"the worker carried on after the cancel: rc {w.returncode} {err[-1500:]}")
    j = status(q, "cancel-running") or {}
    check(j.get("state") == "cancelled", f"cancelled by its worker: {j.get('state')} {j.get('error')}")
    check(by_id(q)["cancel-queued"]["state"] == "cancelled", "the queued one stays cancelled, never ran")
    check(not os.path.exists(os.path.join(runs, "cancel-queued")), "the cancelled queued job never ran")


def acceptance(tmp):
    q = new_queue(tmp, "q-accept")
    runs = os.path.join(tmp, "runs-accept")
    job = os.path.join(SRC, "data", "examples", "quickstart.json")
    rc, _, err = run("submit", job, "--queue", q)
    check(rc == 0, f"submit quickstart: {err.strip()}")
    rc, _, err = run("worker", "--queue", q, "--runs", runs, "--once")
    check(rc == 0, f"worker --once: {err[-2000:]}")
    st = status(q) or []
    check(len(st) == 1 and st[0]["state"] == "completed", f"quickstart completed: {st}")
    if st:
        r = st[0].get("result") or {}
        check("accuracy" in r.get("metrics", {}) and "shouldDeploy" in r.get("decision", {}),
              f"the result summary holds metrics and the deploy decision: {sorted(r)}")
        check(st[0]["progress"] == 100 and st[0]["timings"]["runSeconds"] > 0, "progress 100%, a run time")
    rc, out, _ = run("status", "--queue", q)
    check(rc == 0 and "quickstart" in out and "completed" in out, f"status table: {out}")


def schedules(tmp, ds):
    q = new_queue(tmp, "q-sched")
    jp = write_job(os.path.join(tmp, "nightly.json"), ds, "nightly-base")
    rc, out, err = run("schedule", "add", "nightly", "--job", jp, "--every", "daily", "--at", "02:00",
                       "--tz", "+01:00", "--span-days", "90", "--since", "2026-01-01T00:00Z", "--queue", q)
    check(rc == 0 and "first run 2026-01-01T01:00:00Z" in out, f"schedule add: {out} {err}")
    rc, _, err = run("schedule", "add", "bad", "--job", jp, "--every", "fortnightly", "--at", "02:00", "--queue", q)
    check(rc == 2 and "--every" in err, f"a bad --every: {err.strip()}")
    rc, _, err = run("schedule", "add", "bad", "--job", jp, "--every", "daily", "--at", "2am", "--queue", q)
    check(rc == 2 and "--at" in err, f"a bad --at: {err.strip()}")
    rc, _, err = run("schedule", "add", "bad", "--job", jp, "--every", "daily", "--at", "02:00", "--tz",
                     "Europe/Paris", "--queue", q)
    check(rc == 2 and "--tz" in err, f"a zone name: {err.strip()}")
    ticks = [("2026-03-10T00:59Z", "nightly-2026-03-09"), ("2026-03-10T01:00Z", "nightly-2026-03-10"),
             ("2026-03-10T23:00Z", "already"), ("2026-03-11T01:30Z", "nightly-2026-03-11")]
    for now, want in ticks:
        rc, out, err = run("schedule", "tick", "--now", now, "--queue", q)
        check(rc == 0 and want in out, f"tick {now}: want {want}: {out} {err}")
    ids = sorted(by_id(q))
    check(ids == ["nightly-2026-03-09", "nightly-2026-03-10", "nightly-2026-03-11"],
          f"one job per day, each once: {ids}")
    rc, out, _ = run("schedule", "list", "--queue", q, "--json", "--now", "2026-03-11T01:30Z")
    lst = json.loads(out) if rc == 0 else []
    check(len(lst) == 1 and lst[0]["next"] == "2026-03-12T01:00:00Z" and lst[0]["lastJob"] == "nightly-2026-03-11",
          f"schedule list: {lst}")
    j = status(q, "nightly-2026-03-11") or {}
    rc, _, err = run("schedule", "remove", "nightly", "--queue", q)
    check(rc == 0, f"remove: {err}")
    rc, _, err = run("schedule", "remove", "nightly", "--queue", q)
    check(rc == 2 and "NOT_FOUND" in err, f"remove twice: {err.strip()}")
    check(j.get("source") == "schedule:nightly", f"the job says where it came from: {j.get('source')}")


def shared_queue(tmp, ds, runs):
    """Two workers on one PostgreSQL queue: every job runs once."""
    q = new_queue(tmp, "q-shared")
    ids = [f"s-{i}" for i in range(6)]
    for jid in ids:
        rc, _, err = run("submit", write_job(os.path.join(tmp, jid + ".json"), ds, jid, n_estimators=40), "--queue", q)
        check(rc == 0, f"submit {jid}: {err.strip()}")
    ws = [subprocess.Popen([VFR, "worker", "--queue", q, "--runs", runs, "--once", "--max-concurrent", "1",
                            "--threads", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
          for _ in range(2)]
    errs = [w.communicate(timeout=600)[1] for w in ws]
    check(all(w.returncode == 0 for w in ws), f"two workers: {[e[-500:] for e in errs]}")
    jobs = by_id(q)
    check(sorted(jobs) == ids and all(j["state"] == "completed" and j["attempts"] == 1 for j in jobs.values()),
          f"every job completed once: {[(k, v['state'], v['attempts']) for k, v in jobs.items()]}")
    starts = [e["event"] for jid in ids for e in (status(q, jid) or {}).get("events", []) if e["event"] == "started"]
    check(len(starts) == len(ids), f"one start per job ({len(starts)})")
    workers = {j["worker"] for j in jobs.values()}
    print(f"test_queue: two workers ran {len(ids)} jobs ({len(workers)} worker(s) took jobs)", file=sys.stderr)


def server_restart(tmp, ds, runs):
    """The server stops and comes back while a worker runs a job."""
    q = new_queue(tmp, "q-restart")
    jp = write_job(os.path.join(tmp, "restart.json"), ds, "restart-me", search=GRID, n_estimators=150,
                   trainingConfig=SLOW_TRAINING)
    rc, _, err = run("submit", jp, "--queue", q)
    check(rc == 0, f"submit: {err.strip()}")
    wlog = os.path.join(tmp, "restart-worker.log")
    with open(wlog, "w") as lf:
        w = subprocess.Popen([VFR, "worker", "--queue", q, "--runs", runs, "--once", "--heartbeat", "1",
                              "--stale-after", "3", "--threads", "1"], stdout=lf, stderr=lf)
        log = os.path.join(runs, "restart-me", "trials.jsonl")
        t0 = time.time()
        while w.poll() is None and lines(log) == 0 and time.time() - t0 < 120:
            time.sleep(0.05)
        SERVER.stop("immediate")  # as a crash: connections cut, nothing flushed by a clean shutdown
        time.sleep(5)  # longer than --stale-after: a careless worker would requeue its own job
        rc_down, _, err_down = run("status", "--queue", q)
        SERVER.start()
        try:
            w.wait(timeout=600)
        except subprocess.TimeoutExpired:
            w.kill()
            w.wait()
    text = open(wlog).read()
    check(rc_down == 1 and "cannot connect" in err_down and pgserver.PASSWORD not in err_down,
          f"status with the server down: exit 1 naming the server, no password ({rc_down}: {err_down.strip()})")
    check(w.returncode == 0, f"the worker rode out the restart: rc {w.returncode}: {text[-1500:]}")
    check("retrying in" in text and "answers again" in text, f"the worker waited for the server: {text[-1500:]}")
    j = status(q, "restart-me") or {}
    check(j.get("state") == "completed" and j.get("attempts") == 1,
          f"completed on its first attempt: {j.get('state')} {j.get('attempts')} {j.get('error')}")
    cells = [tuple(json.loads(x)[k] for k in ("trial", "fold")) for x in open(log)]
    check(len(cells) == 36 and len(set(cells)) == 36, f"every trial x fold once ({len(cells)})")
    check(pgserver.PASSWORD not in text, "the worker's log never shows the password")


def main():
    global SERVER
    if PG and pgserver.missing():
        print("test_queue: " + pgserver.missing() + ", skipped")
        return 77
    tmp = tempfile.mkdtemp(prefix="vfr-queue-")
    os.environ["VFR_QUEUE_FILES"] = os.path.join(tmp, "queue-files")
    try:
        if PG:
            SERVER = pgserver.start(tmp)
        ds = os.path.join(tmp, "d.h5")
        rc, _, err = run("--quiet", "synth", "--symbols", "30", "--days", "500", "--features", "6",
                         "--seed", "11", "--out", ds)
        check(rc == 0, f"synth: {err}")
        runs = os.path.join(tmp, "runs")
        t = time.time()
        submit_errors(tmp, ds)
        priority_order(tmp, ds, runs)
        max_concurrent(tmp, ds, runs)
        kill_and_requeue(tmp, ds, runs)
        cancels(tmp, ds, runs)
        acceptance(tmp)
        schedules(tmp, ds)
        if PG:
            shared_queue(tmp, ds, runs)
            server_restart(tmp, ds, runs)
        print(f"test_queue: {time.time() - t:.0f} s", file=sys.stderr)
    finally:
        if SERVER:
            SERVER.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"test_queue: {len(failures)} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
