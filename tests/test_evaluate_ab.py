#!/usr/bin/env python3
"""test_evaluate_ab.py: `vfr evaluate --by-version` reads an A/B test.

Two versions of a model are registered, one champion and one challenger with
half the traffic; `vfr predict` scores a date range (each symbol routed to one
arm). `vfr evaluate --by-version` must give one block per served version whose
metrics and backtest equal `vfr evaluate` and `vfr backtest` on a file holding
only that version's rows (written here with h5py), and the paired comparison
(challenger - champion) must equal a Newey-West t-test computed here from
those backtests' daily returns on the dates both arms hold. Before
--by-version, `vfr evaluate` mixed both arms into one block.
Needs numpy and h5py (exit 77 without them); checks the p-value against SciPy
where it is installed.
"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

try:
    import h5py
    import numpy as np
except ImportError:
    print("test_evaluate_ab: numpy/h5py not installed, skipped")
    sys.exit(77)
try:  # the p-value too where SciPy is installed (setup.sh does not need it: stats.c has its own tests)
    from scipy import stats
except ImportError:
    stats = None

VFR = os.environ.get("VFR_BIN", "build/vfr")
ENV = {k: v for k, v in os.environ.items() if not k.startswith("VFR_REGISTRY")}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def run(*args):
    return subprocess.run([VFR, *args], capture_output=True, text=True, env=ENV)


def train(tmp, ds, job_id, depth):
    j = {"jobId": job_id, "modelName": "alpha", "modelType": "xgboost", "targetVariable": "price_direction_1d",
         "dataConfig": {"dataset": ds, "minDates": 50, "minRows": 500},
         "trainingConfig": {"hyperparameters": {"max_depth": depth, "n_estimators": 20, "nthread": 2}, "seed": 7},
         "split": {"method": "holdout"}}
    jp = os.path.join(tmp, job_id + ".json")
    with open(jp, "w") as f:
        json.dump(j, f)
    p = run("--quiet", "train", jp, "--runs", os.path.join(tmp, "runs"))
    check(p.returncode == 0, f"train {job_id}: {p.stderr}")
    rd = os.path.join(tmp, "runs", job_id)
    with open(os.path.join(rd, "comparison.json"), "w") as f:  # a deterministic deploy decision
        json.dump({"decision": {"shouldDeploy": True, "against": "buy_and_hold", "reason": "test",
                                "checks": [{"name": "sharpe", "value": 1.5, "threshold": 1.0, "passed": True}]}}, f)
    return rd


def subset(src, dst, keep):
    """A predictions file holding only the rows in `keep` (no version columns)."""
    with h5py.File(src) as f, h5py.File(dst, "w") as g:
        for a in f.attrs:
            g.attrs[a] = f.attrs[a]
        g["symbols"] = f["symbols"][:]
        for name in ("date", "symbol", "label", "forward_return", "forward_return_1"):
            if name in f:
                g[name] = f[name][:][keep]
        g["score"] = f["score"][:][:, keep]


def newey_west(d, lag):
    """stats.h: Bartlett-kernel long-run variance, divisor n - 1, t with n - 1 df."""
    n = len(d)
    e = d - d.mean()
    s = (e @ e + 2 * sum((1 - j / (lag + 1)) * (e[j:] @ e[:-j]) for j in range(1, lag + 1))) / (n - 1)
    t = d.mean() / math.sqrt(s / n)
    return t, 2 * stats.t.sf(abs(t), n - 1) if stats else None


def main():
    tmp = tempfile.mkdtemp(prefix="vfr-ab-")
    try:
        ds = os.path.join(tmp, "d.h5")
        p = run("--quiet", "synth", "--symbols", "24", "--days", "300", "--features", "5", "--seed", "4", "--out", ds)
        check(p.returncode == 0, f"synth: {p.stderr}")
        reg = os.path.join(tmp, "reg")
        for rd in (train(tmp, ds, "alpha-a", 3), train(tmp, ds, "alpha-b", 2)):
            p = run("models", "register", rd, "--registry", reg)
            check(p.returncode == 0, f"register: {p.stderr}")
        p = run("models", "deploy", "alpha:1.0.0", "--as", "champion", "--registry", reg)
        check(p.returncode == 0, f"deploy champion: {p.stderr}")
        p = run("models", "deploy", "alpha:1.0.1", "--as", "challenger", "--traffic", "0.5", "--registry", reg)
        check(p.returncode == 0, f"deploy challenger: {p.stderr}")
        ab = os.path.join(tmp, "ab.h5")
        p = run("predict", "--model", "alpha", "--data", ds, "--start", "1900-01-01", "--out", ab, "--registry", reg)
        check(p.returncode == 0, f"predict A/B: {p.stderr}")
        if failures:
            return
        with h5py.File(ab) as f:
            vi = f["version_index"][:]
            versions = [v.decode() for v in f["versions"][:]]
        check(versions == ["1.0.0", "1.0.1"] and 0 < vi.mean() < 1, f"both arms served: {versions}, {vi.mean()}")

        opts = ["--strategy", "long_short_sign", "--cost-bps", "5"]
        p = run("evaluate", "--predictions", ab, "--by-version", "--json", *opts)
        if not check(p.returncode == 0, f"evaluate --by-version: {p.returncode} {p.stderr}"):
            return
        res = json.loads(p.stdout)
        check([v["version"] for v in res["versions"]] == versions, "one block per served version, in order")
        check([v["role"] for v in res["versions"]] == ["champion", "challenger"], "roles")
        daily = {}
        for k, block in enumerate(res["versions"]):
            sub = os.path.join(tmp, f"arm{k}.h5")
            subset(ab, sub, vi == k)
            check(block["rows"] == int((vi == k).sum()), f"{block['version']}: rows {block['rows']}")
            q = run("evaluate", "--predictions", sub, "--json")
            check(q.returncode == 0, f"evaluate arm {k}: {q.stderr}")
            ref = json.loads(q.stdout)["models"][0]["metrics"] if q.returncode == 0 else {}
            for name in ("accuracy", "roc_auc", "log_loss", "ic", "rank_ic", "icir"):
                got, want = block["metrics"].get(name), ref.get(name)
                check(got is not None and want is not None and abs(got - want) <= 1e-9,
                      f"{block['version']} {name}: {got} vs vfr evaluate on its rows {want}")
            bt = os.path.join(tmp, f"arm{k}_bt.h5")
            q = run("backtest", "--predictions", sub, "--json", "--out", bt, *opts)
            check(q.returncode == 0, f"backtest arm {k}: {q.stderr}")
            ref = json.loads(q.stdout)["strategies"][0]["metrics"] if q.returncode == 0 else {}
            for name in ("sharpe", "total_return", "turnover", "max_drawdown", "days"):
                got, want = block["backtest"].get(name), ref.get(name)
                check(got is not None and want is not None and abs(got - want) <= 1e-9 * max(1, abs(want)),
                      f"{block['version']} backtest {name}: {got} vs vfr backtest on its rows {want}")
            with h5py.File(bt) as g:
                daily[k] = dict(zip(g["date"][:].tolist(), g["daily_return"][0]))

        c = res.get("comparison", {})
        common = sorted(set(daily[0]) & set(daily[1]))
        d = np.array([daily[1][t] - daily[0][t] for t in common])
        check(c.get("dates") == len(common) and len(common) > 100, f"common dates {c.get('dates')} vs {len(common)}")
        lag = c.get("lag", -1)
        t, pv = newey_west(d, lag)
        check(lag == math.floor(4 * (len(d) / 100) ** (2 / 9)), f"automatic Newey-West lag {lag}")
        check(abs(c.get("meanDiff", 1) - d.mean()) <= 1e-12, f"mean difference {c.get('meanDiff')} vs {d.mean()}")
        check(abs(c.get("t", 0) - t) <= 1e-9 * max(1, abs(t)), f"Newey-West t {c.get('t')} vs {t}")
        check(pv is None or abs(c.get("pValue", -1) - pv) <= 1e-9, f"p {c.get('pValue')} vs {pv}")
        check(0 < c.get("pValue", -1) < 1, f"p {c.get('pValue')}")
        check(c.get("challenger") == "1.0.1" and c.get("champion") == "1.0.0", "challenger minus champion")
        check("symbol" in c.get("note", ""), "says the arms hold different symbols")

        p = run("evaluate", "--predictions", ab, "--by-version", *opts)
        check(p.returncode == 0 and "paired comparison" in p.stdout and "1.0.1" in p.stdout and "Newey-West" in p.stdout,
              f"text output: {p.stdout[-400:]} {p.stderr}")
        # a file without version columns: a clear error naming the command that writes them
        p = run("evaluate", "--predictions", os.path.join(tmp, "arm0.h5"), "--by-version")
        check(p.returncode == 2 and "vfr predict" in p.stderr, f"no /version_index: {p.returncode} {p.stderr}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
    if failures:
        print(f"test_evaluate_ab: {len(failures)} failure(s)", file=sys.stderr)
        sys.exit(1)
    sys.exit(0)
