#!/usr/bin/env python3
"""test_slurm.py: `vfr submit --slurm` against a real single-node Slurm cluster
on localhost, which the test starts and stops itself (munge + slurmctld +
slurmd under a temporary folder, on free ports; recipe in
shared/notes/environment.md). Skipped (exit 77) with the reason where Slurm
or root is missing: VFR_SETUP_SLURM=1 scripts/setup.sh installs Slurm.

1. `vfr submit --slurm data/examples/search.json --shards 4` (the bundled
   data): the finalize job runs after every shard ended; the merged trial log
   has every trial x fold exactly once, with the scores of one unsharded
   `vfr tune`; the model is trained; vfr status shows the Slurm ids.
2. A search on synthetic data from a folder whose name holds `"; rm -rf /`,
   `$(...)`, backquotes and quotes, with one shard requeued (scontrol requeue)
   while it runs: it restarts, resumes, and the end result (trials, best
   trial, test metrics) equals an undisturbed run's; the model is registered
   (autoRegister) and vfr status shows its version; no injected command ran.
3. The scripts themselves: --dry-run prints them; every line that holds a
   path is a single-quoted assignment; SIGUSR1 (Slurm's warning before the
   time limit) makes vfr checkpoint (exit 3) and the script requeue itself.

`--backend postgresql`: the same, with the registry and the queue in a
PostgreSQL server the test starts (tests/pgserver.py): the shards, the
finalize job's autoRegister and vfr status all work against it, and no
script or log written for Slurm holds the password.
"""
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgserver  # noqa: E402

VFR = os.path.abspath(os.environ.get("VFR_BIN", "build/vfr"))
PG = "--backend" in sys.argv and sys.argv[sys.argv.index("--backend") + 1] == "postgresql"
SRC = os.environ.get("VFR_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
failures = []
DEADLINE = time.time() + 240  # the whole test; the steps below take about a minute


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def skip(why):
    print(f"test_slurm: SKIPPED: {why}", file=sys.stderr)
    sys.exit(77)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """munged, slurmctld and slurmd, every path under one temporary folder."""

    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="vfr-slurm-")
        os.chmod(self.base, 0o755)  # munged wants its socket's path traversable by all
        self.env = dict(os.environ)
        self.pidfiles = []

    def start(self):
        B = self.base
        for d in ("munge/etc", "munge/run", "munge/log", "munge/lib", "slurm/etc", "slurm/state", "slurm/spool",
                  "slurm/log", "slurm/run"):
            os.makedirs(os.path.join(B, d))
        for d in ("munge/etc", "munge/lib", "munge/log"):
            os.chmod(os.path.join(B, d), 0o700)
        key = os.path.join(B, "munge/etc/munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        open(os.path.join(B, "slurm/etc/plugstack.conf"), "w").close()
        sock = os.path.join(B, "munge/run/munge.socket.2")
        self.pidfiles = [os.path.join(B, "slurm/run/slurmd.pid"), os.path.join(B, "slurm/run/slurmctld.pid"),
                         os.path.join(B, "munge/run/munged.pid")]
        subprocess.run(["munged", f"--key-file={key}", f"--socket={sock}", f"--pid-file={self.pidfiles[2]}",
                        f"--log-file={B}/munge/log/munged.log", f"--seed-file={B}/munge/lib/munged.seed"],
                       check=True, capture_output=True)
        conf = os.path.join(B, "slurm/etc/slurm.conf")
        with open(conf, "w") as f:
            f.write(f"""ClusterName=vfrtest
SlurmctldHost=localhost
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={sock},cred_expire=10
StateSaveLocation={B}/slurm/state
SlurmdSpoolDir={B}/slurm/spool
SlurmctldPidFile={self.pidfiles[1]}
SlurmdPidFile={self.pidfiles[0]}
SlurmctldLogFile={B}/slurm/log/slurmctld.log
SlurmdLogFile={B}/slurm/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=5,bf_interval=5
MpiDefault=none
ReturnToService=2
SwitchType=switch/none
AccountingStorageType=accounting_storage/none
PlugStackConfig={B}/slurm/etc/plugstack.conf
NodeName=localhost CPUs=2 Sockets=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=20000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
""")
        self.env["SLURM_CONF"] = conf
        subprocess.run(["slurmctld", "-f", conf], check=True, env=self.env, capture_output=True)
        subprocess.run(["slurmd", "-f", conf, "-N", "localhost"], check=True, env=self.env, capture_output=True)
        t0 = time.time()
        while time.time() - t0 < 30:
            p = subprocess.run(["sinfo", "-h", "-o", "%T"], env=self.env, capture_output=True, text=True)
            if p.stdout.strip() == "idle":
                print(f"test_slurm: cluster up in {time.time() - t0:.1f} s ({B})", file=sys.stderr)
                return
            time.sleep(0.2)
        raise RuntimeError("the node did not become idle in 30 s; see " + B + "/slurm/log")

    def stop(self):
        """By the PIDs in the daemons' pid files, never by name."""
        for pf in self.pidfiles:
            try:
                pid = int(open(pf).read().strip())
            except (OSError, ValueError):
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            t0 = time.time()
            while time.time() - t0 < 10:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def logs(self):
        for name in ("slurm/log/slurmctld.log", "slurm/log/slurmd.log"):
            try:
                tail = open(os.path.join(self.base, name)).read()[-3000:]
                print(f"---- {name}\n{tail}", file=sys.stderr)
            except OSError:
                pass


def vfr(env, *args, timeout=300):
    return subprocess.run([VFR, *args], capture_output=True, text=True, env=env, timeout=timeout)


def write_job(path, dataset, job_id):
    j = {"jobId": job_id, "modelName": "slurm_test", "targetVariable": "price_direction_1d",
         "dataConfig": {"dataset": dataset, "minDates": 50, "minRows": 300},
         "trainingConfig": {"hyperparameters": {"n_estimators": 600, "nthread": 1},
                            "earlyStoppingRounds": 0, "seed": 3},
         "search": {"method": "grid_search", "nFolds": 2, "scoringMetric": "auc",
                    "space": {"learning_rate": [0.05, 0.1, 0.2, 0.3], "max_depth": [2, 3]}},
         "autoRegister": True}
    with open(path, "w") as f:
        json.dump(j, f)
    return path


SHARDS = 4


def wait_done(env, queue, job_id, limit):
    t0 = time.time()
    while time.time() < min(DEADLINE, t0 + limit):
        p = vfr(env, "status", job_id, "--queue", queue, "--json")
        if p.returncode == 0:
            s = json.loads(p.stdout)
            if s["state"] in ("completed", "failed", "cancelled"):
                return s
        time.sleep(1)
    p = vfr(env, "status", job_id, "--queue", queue)
    print(p.stdout, p.stderr, file=sys.stderr)
    return None


def stamps(path):
    """Start times, and (end time, exit code)s, from a script's `vfr-slurm:` lines."""
    starts, ends = [], []
    for line in open(path, errors="replace"):
        m = re.match(r"vfr-slurm: \S+ (?:\S+ )?(start|end) (\S+)(?: exit (\d+))?", line)
        if m and m.group(1) == "start":
            starts.append(m.group(2))
        elif m:
            ends.append((m.group(2), int(m.group(3) or -1)))
    return starts, ends


def cells(path):
    out = []
    with open(path) as f:
        for line in f:
            o = json.loads(line)
            out.append((o["trial"], o["fold"], o["score"]))
    return out


def check_run(env, queue, job_id, run_dir, slurm_dir, registry, trials, folds, model_name=None):
    s = wait_done(env, queue, job_id, 150)
    if not check(s is not None, f"{job_id}: finished within the time limit"):
        return None
    check(s["state"] == "completed", f"{job_id}: completed ({s['state']}: {s.get('error')})")
    sl = s.get("slurm") or {}
    check(sl.get("array") and sl.get("finalize") and sl.get("shards") == SHARDS,
          f"{job_id}: vfr status names the array and the finalize job: {sl}")
    fin_starts, _ = stamps(os.path.join(slurm_dir, "finalize.out"))
    shard_ends = []
    for i in range(SHARDS):
        out = os.path.join(slurm_dir, f"search-{i}.out")
        if not check(os.path.exists(out), f"{job_id}: shard {i} wrote {out}"):
            continue
        _, en = stamps(out)
        check(any(code == 0 for _, code in en), f"{job_id}: shard {i} ended with exit 0: {en}")
        shard_ends += [t for t, _ in en]
    check(len(fin_starts) >= 1 and shard_ends and min(fin_starts) > max(shard_ends),
          f"{job_id}: the finalize job started ({fin_starts}) after every shard ended ({max(shard_ends or [''])})")
    got = cells(os.path.join(run_dir, "trials.jsonl"))
    keys = [(t, k) for t, k, _ in got]
    check(sorted(keys) == [(t, k) for t in range(trials) for k in range(folds)],
          f"{job_id}: the merged trial log has every trial x fold exactly once ({len(keys)} lines)")
    for f in ("metrics.json", "model.json", "search.json"):
        check(os.path.exists(os.path.join(run_dir, f)), f"{job_id}: the run folder holds {f}")
    if model_name:  # autoRegister: vfr train registers the finished run (registry.json says which version)
        reg = os.path.join(run_dir, "registry.json")
        rj = json.load(open(reg)) if os.path.exists(reg) else {}
        p = vfr(env, "models", "list", "--registry", registry, "--json")
        check(rj.get("model") == model_name and rj.get("version") and p.returncode == 0 and model_name in p.stdout,
              f"{job_id}: the model is registered: {rj} {p.stdout[-300:]} {p.stderr[-300:]}")
        check((s.get("result") or {}).get("registeredVersion") == rj.get("version"),
              f"{job_id}: vfr status shows the registered version {rj.get('version')}")
    return s


def requeue_one(env, array_id, run_dir):
    """Requeues the first shard seen searching (its log exists); returns its task id."""
    t0 = time.time()
    while time.time() - t0 < 90:
        p = subprocess.run(["squeue", "-h", "-r", "-o", "%i %T", "-j", array_id], env=env, capture_output=True,
                           text=True)
        for line in p.stdout.split("\n"):
            parts = line.split()
            task = parts[0].split("_")[-1] if parts else ""
            log = os.path.join(run_dir, f"trials.shard-{task}-of-{SHARDS}.jsonl")
            if len(parts) == 2 and parts[1] == "RUNNING" and os.path.exists(log):
                r = subprocess.run(["scontrol", "requeue", parts[0]], env=env, capture_output=True, text=True)
                check(r.returncode == 0, f"scontrol requeue {parts[0]}: {r.stderr.strip()}")
                print(f"test_slurm: requeued {parts[0]} with {lines(log)} trial x folds logged", file=sys.stderr)
                return parts[0]
        time.sleep(0.05)
    check(False, "no shard was seen running to requeue")
    return None


def script_lines_are_safe(script, bad, expect):
    """Every line holding the dangerous folder is VAR='...' whose value is the path."""
    ok = True
    for line in script.split("\n"):
        if bad not in line or line.startswith("# ---- "):  # the dry run's own headers name the files
            continue
        m = re.match(r"^(VFR|JOB|RUN)=(.*)$", line)
        if not m:
            ok = check(False, f"a script line holds the folder outside an assignment: {line!r}") and ok
            continue
        words = shlex.split(m.group(2))
        ok = check(len(words) == 1 and words[0] == expect[m.group(1)],
                   f"{m.group(1)} is one single-quoted word equal to the path: {line!r}") and ok
    return ok


def usr1_checkpoint(env, tmp, ds, evil):
    """SIGUSR1 to the batch shell, as Slurm sends it before the time limit:
    vfr checkpoints (exit 3) and the script asks for its own requeue."""
    jp = write_job(os.path.join(evil, "usr1.json"), ds, "slurm-usr1")
    with open(jp) as f:
        j = json.load(f)
    j["trainingConfig"]["hyperparameters"]["n_estimators"] = 2000  # long enough to be signalled
    with open(jp, "w") as f:
        json.dump(j, f)
    runs = os.path.join(evil, "runs")
    p = vfr(env, "submit", "--slurm", jp, "--shards", "2", "--runs", runs, "--dry-run")
    check(p.returncode == 0, f"dry run: {p.stderr}")
    fake = os.path.join(tmp, "fakebin")
    os.makedirs(fake, exist_ok=True)
    rec = os.path.join(tmp, "scontrol.args")
    with open(os.path.join(fake, "scontrol"), "w") as f:
        f.write(f"#!/bin/sh\necho \"$@\" >> {shlex.quote(rec)}\n")
    os.chmod(os.path.join(fake, "scontrol"), 0o755)
    senv = dict(env, PATH=fake + ":" + env["PATH"], SLURM_ARRAY_TASK_ID="0", SLURM_JOB_ID="4242",
                SLURM_CPUS_ON_NODE="1")
    script = os.path.join(runs, "slurm-usr1.slurm", "search.sbatch")
    sp = subprocess.Popen(["bash", script], env=senv, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    log = os.path.join(runs, "slurm-usr1", "trials.shard-0-of-2.jsonl")
    t0 = time.time()
    while not os.path.exists(log) and sp.poll() is None and time.time() - t0 < 60:
        time.sleep(0.05)  # the log exists once the search runs (its handlers are in place)
    time.sleep(0.5)
    sp.send_signal(signal.SIGUSR1)
    out, _ = sp.communicate(timeout=120)
    check(sp.returncode == 0 and "requeueing 4242" in out and "exit 3" in out,
          f"SIGUSR1: vfr checkpointed (exit 3) and the script requeued itself (rc {sp.returncode}):\n{out[-1500:]}")
    check(time.time() - t0 < 60, "the checkpoint was prompt")
    check(os.path.exists(rec) and open(rec).read().strip() == "requeue 4242",
          f"scontrol requeue $SLURM_JOB_ID was called: {open(rec).read() if os.path.exists(rec) else 'never'}")
    print(f"test_slurm: USR1 checkpoint after {lines(log)} trial x folds", file=sys.stderr)


def lines(path):
    try:
        with open(path) as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


def main():
    missing = [p for p in ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "sinfo", "scancel")
               if not shutil.which(p)]
    if missing:
        skip(f"Slurm is not installed ({', '.join(missing)} missing); VFR_SETUP_SLURM=1 scripts/setup.sh "
             "installs slurm-wlm and munge")
    if os.geteuid() != 0:
        skip("the localhost cluster runs slurmd as root (SlurmdUser=root); run as root")
    if PG and pgserver.missing():
        skip(pgserver.missing())
    tmp = tempfile.mkdtemp(prefix="vfr-slurm-test-")
    os.chmod(tmp, 0o755)
    server = pgserver.start(tmp) if PG else None
    cl = Cluster()
    t_start = time.time()
    try:
        try:
            cl.start()
        except (subprocess.CalledProcessError, RuntimeError, OSError) as e:
            cl.logs()
            err = getattr(e, "stderr", b"") or b""
            print(f"test_slurm: FAIL: the cluster did not start: {e} {err.decode(errors='replace')}",
                  file=sys.stderr)
            return 1
        registry = server.new_db("registry") if PG else os.path.join(tmp, "registry")
        env = dict(cl.env, VFR_REGISTRY=registry)
        ds = os.path.join(tmp, "d.h5")
        p = vfr(env, "--quiet", "synth", "--symbols", "30", "--days", "400", "--features", "6", "--seed", "7",
                "--out", ds)
        check(p.returncode == 0, f"synth: {p.stderr}")
        queue = server.new_db("queue") if PG else os.path.join(tmp, "queue")

        # 1. the bundled search, 4 shards (4 trials x 3 folds)
        runs = os.path.join(tmp, "runs")
        jp = os.path.join(SRC, "data", "examples", "search.json")
        p = vfr(env, "submit", "--slurm", jp, "--shards", str(SHARDS), "--runs", runs, "--queue", queue,
                "--time", "00:10:00", "--partition", "debug")
        check(p.returncode == 0, f"submit --slurm: {p.stdout} {p.stderr}")
        print(f"test_slurm: {p.stdout.strip()}", file=sys.stderr)

        # 2. the same search under a dangerous folder name, one shard requeued
        evil = os.path.join(tmp, "it's \"; rm -rf ", "x $(touch PWNED) `touch PWNED2` & ; | 'q'")
        os.makedirs(evil)
        jp2 = write_job(os.path.join(evil, "job \"; rm -rf .json"), ds, "slurm-requeue")
        runs2 = os.path.join(evil, "runs")
        p = vfr(env, "submit", "--slurm", jp2, "--shards", str(SHARDS), "--runs", runs2, "--queue", queue)
        check(p.returncode == 0, f"submit --slurm from the dangerous folder: {p.stdout} {p.stderr}")
        st2 = vfr(env, "status", "slurm-requeue", "--queue", queue, "--json")
        array2 = json.loads(st2.stdout).get("slurm", {}).get("array") if st2.returncode == 0 else None
        requeued = requeue_one(env, array2, os.path.join(runs2, "slurm-requeue")) if check(array2, "the second search has an array id") else None
        p = vfr(env, "status", "--queue", queue)
        print(p.stdout, file=sys.stderr)

        # undisturbed, unsharded references, computed here while Slurm works
        ref1, ref2 = os.path.join(tmp, "ref-bundled"), os.path.join(tmp, "ref-synth")
        renv = dict(env, VFR_REGISTRY=os.path.join(tmp, "ref-registry"))
        p = vfr(renv, "--quiet", "tune", jp, "--out", ref1, "--threads", "1")
        check(p.returncode == 0, f"reference tune (bundled): {p.stderr}")
        p = vfr(renv, "--quiet", "tune", jp2, "--out", ref2, "--threads", "1")
        check(p.returncode == 0, f"reference tune (synthetic): {p.stderr}")
        p = vfr(renv, "--quiet", "train", jp2, "--out", ref2, "--resume", "--threads", "1")
        check(p.returncode == 0, f"reference train (synthetic): {p.stderr}")

        s1 = check_run(env, queue, "dj30-search", os.path.join(runs, "dj30-search"),
                       os.path.join(runs, "dj30-search.slurm"), registry, 4, 3)
        s2 = check_run(env, queue, "slurm-requeue", os.path.join(runs2, "slurm-requeue"),
                       os.path.join(runs2, "slurm-requeue.slurm"), registry, 8, 2,
                       "slurm_test")
        if requeued:
            task = requeued.split("_")[-1]
            out = os.path.join(runs2, "slurm-requeue.slurm", f"search-{task}.out")
            st, en = stamps(out) if os.path.exists(out) else ([], [])
            check(len(st) == 2 and [c for _, c in en].count(0) == 1,
                  f"the requeued shard {requeued} was stopped mid-run and ran again: starts {st}, ends {en}")
        if s1:
            a = sorted(cells(os.path.join(runs, "dj30-search", "trials.jsonl")))
            check(a == sorted(cells(os.path.join(ref1, "trials.jsonl"))),
                  "the 4 shards merged equal one unsharded vfr tune")
        if s2:
            a = sorted(cells(os.path.join(ref2, "trials.jsonl")))
            b = sorted(cells(os.path.join(runs2, "slurm-requeue", "trials.jsonl")))
            check(a == b, "with a shard requeued, the merged trials equal the undisturbed run's")
            sa = json.load(open(os.path.join(ref2, "search.json")))
            sb = json.load(open(os.path.join(runs2, "slurm-requeue", "search.json")))
            check(sa["bestParams"] == sb["bestParams"] and sa["bestScore"] == sb["bestScore"],
                  "... and the same best trial")
            ma = json.load(open(os.path.join(ref2, "metrics.json")))["test"]
            mb = json.load(open(os.path.join(runs2, "slurm-requeue", "metrics.json")))["test"]
            check(ma == mb, "... and the same test metrics")

        # 3. the scripts: quoting, dry run, the time-limit signal
        sdir = os.path.join(runs2, "slurm-requeue.slurm")
        expect = {"VFR": VFR, "JOB": os.path.join(sdir, "job.json"), "RUN": os.path.join(runs2, "slurm-requeue")}
        for name in ("search.sbatch", "finalize.sbatch"):
            text = open(os.path.join(sdir, name)).read()
            check(script_lines_are_safe(text, "rm -rf", expect), f"{name}: paths only in quoted assignments")
        p = vfr(env, "submit", "--slurm", jp2, "--shards", "2", "--runs", os.path.join(evil, "dry"), "--dry-run")
        check(p.returncode == 0 and "#SBATCH --array=0-1" in p.stdout and "nothing was submitted" in p.stdout,
              f"--dry-run prints the scripts: {p.stderr}")
        dexp = {"VFR": VFR, "JOB": os.path.join(evil, "dry", "slurm-requeue.slurm", "job.json"),
                "RUN": os.path.join(evil, "dry", "slurm-requeue")}
        check(script_lines_are_safe(p.stdout.split("# ---- would submit")[0], "rm -rf", dexp),
              "dry run: paths only in quoted assignments")
        for cmd in p.stdout.split("# ---- would submit")[-1].strip().split("\n")[1:]:
            words = shlex.split(cmd)
            check(words[0] == "sbatch" and words[-1].startswith(os.path.join(evil, "dry")),
                  f"the printed sbatch line quotes its paths: {cmd!r}")
        bad = write_job(os.path.join(tmp, "bad.json"), ds, "slurm-bad")
        p = vfr(env, "submit", "--slurm", bad, "--shards", "2", "--queue", queue, "--runs", runs)
        check(p.returncode == 0, f"a jobId that is new: {p.stderr}")
        p = vfr(env, "cancel", "slurm-bad", "--queue", queue)
        check(p.returncode == 0 and "cancelled" in p.stdout, f"vfr cancel of a Slurm job (scancel): {p.stderr}")
        q = subprocess.run(["squeue", "-h", "-t", "PENDING,RUNNING", "-o", "%i %j"], env=env, capture_output=True,
                           text=True)
        check("slurm-bad" not in q.stdout, f"... and Slurm no longer runs it: {q.stdout}")
        p = vfr(env, "submit", "--slurm", bad, "--partition", "debug; rm -rf /", "--dry-run", "--runs", runs)
        check(p.returncode == 2 and "--partition" in p.stderr, f"an unsafe --partition is refused: {p.stderr}")
        p = vfr(env, "submit", "--slurm", jp, "--shards", "2", "--runs", runs, "--queue", queue)
        check(p.returncode == 2 and "DUPLICATE_JOB_ID" in p.stderr, f"a second submit of a jobId: {p.stderr}")
        usr1_checkpoint(env, tmp, ds, evil)
        pwned = [os.path.join(r, f) for r, _, fs in os.walk(tmp) for f in fs if f.startswith("PWNED")]
        pwned += [os.path.join(d, f) for d in ("/", os.getcwd(), cl.base) for f in os.listdir(d)
                  if f.startswith("PWNED")]
        check(not pwned, f"no injected command ran: {pwned}")
        if PG:
            leaks = []
            for r, _, fs in os.walk(tmp):
                for f in fs:
                    path = os.path.join(r, f)
                    if os.path.join(tmp, "pg") in path:
                        continue
                    try:
                        if pgserver.PASSWORD.encode() in open(path, "rb").read():
                            leaks.append(path)
                    except OSError:
                        pass
            check(not leaks, f"no file written for the run holds the password: {leaks}")
        print(f"test_slurm: {time.time() - t_start:.0f} s", file=sys.stderr)
    finally:
        if failures:
            cl.logs()
        # leave nothing running: cancel what is left, then stop the daemons
        subprocess.run(["scancel", "--full", "-u", "root"], env=cl.env, capture_output=True)
        cl.stop()
        if server:
            server.stop()
        shutil.rmtree(cl.base, ignore_errors=True)
        if os.environ.get("VFR_TEST_KEEP"):
            print(f"test_slurm: kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"test_slurm: {len(failures)} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
