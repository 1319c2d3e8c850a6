#!/usr/bin/env python3
"""test_lookahead.py: the evaluation rules of docs/comparison.md, "What vfr
guarantees against look-ahead", each planted and caught through the CLI.

- universe: equal-weight buy-and-hold over the quickstart's test dates,
  computed here from the raw CSV with pandas, equals vfr's daily returns to
  1e-9 and its turnover matches (the held names do not depend on t + h);
- majority_class per fold: planted base rates that differ by walk-forward
  window give each window its own majority, never a later window's;
- final fit: with early stopping off the final model trains n_estimators,
  as the search scored;
- hit rate: the test takes dates, not rows, as observations;
- book: the default book is dollar neutral on a universe (net exposure 0)
  and long_short_sign on a single series; beta and alpha are reported.
Needs numpy, pandas and h5py (scripts/setup.sh installs them).
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    import h5py
    import numpy as np
    import pandas as pd
except ImportError:
    print("test_lookahead: numpy/pandas/h5py not installed, skipped")
    sys.exit(77)

VFR = os.environ.get("VFR_BIN", "build/vfr")
SRC = os.path.abspath(os.environ.get("VFR_SOURCE_DIR", "."))
CSV = os.path.join(SRC, "data", "dowjones30_1990-2001_daily_close.csv")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def train(tmp, job, name):
    path = os.path.join(tmp, name + ".json")
    job = dict(job, jobId=name)
    with open(path, "w") as f:
        json.dump(job, f)
    p = subprocess.run([VFR, "train", path, "--runs", os.path.join(tmp, "runs"), "--quiet"],
                       capture_output=True, text=True)
    check(p.returncode == 0, f"{name}: vfr train exit {p.returncode}: {p.stderr[-2000:]}")
    return os.path.join(tmp, "runs", name)


def load(run, name):
    with open(os.path.join(run, name)) as f:
        return json.load(f)


def backtest(run):
    with h5py.File(os.path.join(run, "backtest.h5"), "r") as f:
        names = [n.decode() if isinstance(n, bytes) else n for n in f["names"][:]]
        return dict(zip(names, f["daily_return"][:])), f["date"][:]


def quickstart_job():
    with open(os.path.join(SRC, "data", "examples", "quickstart.json")) as f:
        job = json.load(f)
    job["dataConfig"]["dataset"] = CSV
    job["autoRegister"] = False
    return job


def universe(tmp):
    run = train(tmp, quickstart_job(), "universe")
    daily, dates = backtest(run)
    close = pd.read_csv(CSV, index_col=0, parse_dates=True)
    # the 1-day forward return as the dataset stores it: float32 closes, the
    # ratio in double, stored as float32 (docs/dataset-format.md)
    c32 = close.astype(np.float32).astype(np.float64)
    r1 = (c32.shift(-1) / c32 - 1.0).astype(np.float32).astype(np.float64)
    test = pd.to_datetime(dates.astype("int64"), unit="D")
    names = close.loc[test].notna()
    w = names.div(names.sum(axis=1), axis=0)
    turn = w.diff().abs().sum(axis=1)
    turn.iloc[0] = w.iloc[0].abs().sum()  # entering from cash
    cost = quickstart_job().get("backtest", {}).get("costBps", 5.0) * 1e-4
    want = (w * r1.loc[test].fillna(0.0)).sum(axis=1) - cost * turn
    got = daily["buy_and_hold"]
    err = np.max(np.abs(got - want.values))
    check(err <= 1e-9, f"universe: buy-and-hold daily returns differ from pandas by {err:.3g}")
    m = load(run, "metrics.json")
    bh = m["backtest"]["buyAndHold"]
    check(abs(bh["turnover"] - turn.mean()) < 1e-12,
          f"universe: turnover {bh['turnover']} vs pandas {turn.mean()}")
    check(bh["turnover"] < 0.01, f"universe: buy-and-hold turnover {bh['turnover']} >= 0.01 a day")
    # book: dollar neutral by default on a universe, with beta and alpha
    ex = m["backtest"]["exposure"]
    check(m["backtest"]["strategy"] == "long_short_median", f"book: default {m['backtest']['strategy']}")
    check(abs(ex["net"]) < 1e-9 and abs(ex["gross"] - 1) < 1e-9, f"book: exposure {ex}")
    check(ex["beta"] is not None and abs(ex["beta"]) < 0.3 and ex["alphaT"] is not None, f"book: {ex}")
    c = load(run, "comparison.json")
    bl = {b["name"]: b for b in c["baselines"]}
    check(abs(bl["buy_and_hold"]["exposure"]["beta"] - 1) < 1e-9, "book: buy-and-hold beta is 1")
    check(abs(bl["buy_and_hold"]["exposure"]["net"] - 1) < 1e-9, "book: buy-and-hold is net long 1")
    # vfr backtest / vfr evaluate on the run's predictions agree with training
    pred = os.path.join(run, "predictions.h5")
    b = subprocess.run([VFR, "backtest", "--predictions", pred, "--json"], capture_output=True, text=True)
    bj = json.loads(b.stdout) if b.returncode == 0 else {}
    check(bj.get("set") == "test" and bj.get("strategy") == m["backtest"]["strategy"] and
          bj["strategies"][0]["metrics"]["sharpe"] == m["backtest"]["model"]["sharpe"],
          f"vfr backtest disagrees with training: {b.stdout[:300]} {b.stderr[-300:]}")
    ev = subprocess.run([VFR, "evaluate", "--predictions", pred, "--json"], capture_output=True, text=True)
    ej = json.loads(ev.stdout) if ev.returncode == 0 else {}
    check(ej.get("set") == "test" and ej["models"][0]["metrics"]["accuracy"] == m["test"]["accuracy"],
          f"vfr evaluate disagrees with training: {ev.stdout[:300]} {ev.stderr[-300:]}")
    # hit rate: dates are the observations
    with h5py.File(os.path.join(run, "predictions.h5"), "r") as f:
        s, fw, d, st = f["score"][0], f["forward_return"][:], f["date"][:], f["set"][:]
    t = st == 2
    df = pd.DataFrame({"d": d[t], "hit": (s[t] > 0.5) == (fw[t] > 0), "ok": np.isfinite(fw[t]) & (fw[t] != 0)})
    per_day = df[df.ok].groupby("d").hit.mean()
    hr = bl["buy_and_hold"]["hitRate"]
    check(hr["dates"] == len(per_day), f"hit rate: {hr['dates']} dates, want {len(per_day)}")
    check(abs(hr["meanDailyHitRate"] - per_day.mean()) < 1e-12, f"hit rate: {hr} vs {per_day.mean()}")
    d = per_day.values - hr["baselineRate"]  # the t statistic over dates, as the method says
    tstat = d.mean() / (d.std(ddof=1) / np.sqrt(len(d)))
    z = abs(tstat)
    check(hr["pValue"] is not None and 0 < hr["pValue"] <= 1 and
          (hr["pValueGreater"] < 0.5) == (tstat > 0) and
          abs(np.log10(hr["pValue"]) - np.log10(np.exp(-z * z / 2) + 1e-300)) < 3,
          f"hit rate p-value {hr['pValue']} does not belong to t = {tstat:.2f} over {len(d)} dates")


def planted_majority(tmp):
    # rising names for the first 420 dates (80% up days), falling after
    rng = np.random.default_rng(3)
    T, S = 840, 4
    up = np.where(np.arange(T)[:, None] < 420, 0.8, 0.2)
    step = np.where(rng.random((T, S)) < up, 1.0, -1.0) * rng.uniform(0.002, 0.02, (T, S))
    close = 50 * np.exp(np.cumsum(step, axis=0))
    days = pd.bdate_range("2001-01-01", periods=T)
    csv = os.path.join(tmp, "planted.csv")
    pd.DataFrame(close, index=days, columns=[f"S{i}" for i in range(S)]).rename_axis("date").round(4).to_csv(csv)
    job = {"modelName": "planted", "modelType": "linear", "targetVariable": "price_direction_1d",
           "dataConfig": {"dataset": csv, "minSamplesPerSymbol": 10},
           "split": {"method": "walk_forward", "windowSize": 150, "stepSize": 60},
           "backtest": {"costBps": 0.0}, "baseline": {"compareAgainst": "buy_and_hold"}}
    run = train(tmp, job, "planted")
    m = load(run, "metrics.json")
    rates = [f["trainPositiveRate"] for f in m["folds"]]
    check(min(rates) < 0.4 and max(rates) > 0.6, f"majority: planted rates not seen: {rates}")
    daily, dates = backtest(run)
    day = pd.to_datetime(dates.astype("int64"), unit="D").strftime("%Y-%m-%d")
    bad = 0
    for f in m["folds"]:
        sign = 1.0 if f["trainPositiveRate"] >= 0.5 else -1.0
        sel = (day >= f["testStart"]) & (day <= f["testEnd"])
        bad += int(np.sum(np.abs(daily["majority_class"][sel] - sign * daily["buy_and_hold"][sel]) > 1e-12))
    check(bad == 0, f"majority: {bad} test dates hold another window's majority")


def final_rounds(tmp):
    job = quickstart_job()
    job["trainingConfig"]["hyperparameters"]["n_estimators"] = 25
    job["trainingConfig"]["earlyStoppingRounds"] = 0
    job["search"] = {"method": "grid_search", "space": {"max_depth": [2, 3]}, "nFolds": 2,
                     "earlyStoppingRounds": 0}
    run = train(tmp, job, "rounds")
    m = load(run, "metrics.json")
    check(m["search"]["bestRounds"] == 25, f"final fit: search bestRounds {m['search']['bestRounds']}")
    check(m["folds"][0]["rounds"] == 25 and m["folds"][0]["bestRound"] == 24,
          f"final fit trained {m['folds'][0]['rounds']} rounds, kept {m['folds'][0]['bestRound'] + 1}")


def single_series(tmp):
    close = pd.read_csv(CSV, index_col=0)[["IBM"]]
    csv = os.path.join(tmp, "ibm.csv")
    close.to_csv(csv)
    job = quickstart_job()
    job["dataConfig"] = {"dataset": csv, "minSamplesPerSymbol": 100}
    run = train(tmp, job, "single")
    m = load(run, "metrics.json")
    check(m["backtest"]["strategy"] == "long_short_sign", f"single series book: {m['backtest']['strategy']}")


def job_checks(tmp):
    # every documented XGBoost parameter is accepted; a value XGBoost refuses,
    # and an unknown key, fail when the job loads: before the dataset is read
    def run_job(hp, dataset):
        path = os.path.join(tmp, "checks.json")
        with open(path, "w") as f:
            json.dump({"jobId": "checks", "modelName": "checks", "targetVariable": "price_direction_1d",
                       "dataConfig": {"dataset": dataset}, "autoRegister": False,
                       "trainingConfig": {"hyperparameters": hp}}, f)
        p = subprocess.run([VFR, "train", path, "--runs", os.path.join(tmp, "runs"), "--quiet"],
                           capture_output=True, text=True)
        return p.returncode, p.stderr
    missing = os.path.join(tmp, "no-such-dataset.h5")
    ok = {"tree_method": "approx", "max_bin": 64, "gamma": 0.1, "reg_alpha": 0.5, "max_delta_step": 1.0,
          "scale_pos_weight": 1.2, "n_estimators": 5}
    rc, err = run_job(ok, missing)
    check(rc == 2 and "no-such-dataset" in err, f"job checks: documented parameters refused: {err[-300:]}")
    rc, err = run_job(dict(ok, tree_method="bogus"), missing)
    check(rc == 2 and "bogus" in err and "no-such-dataset" not in err,
          f"job checks: XGBoost's refusal not passed on before the data: {err[-300:]}")
    rc, err = run_job({"max_dept": 3}, missing)
    check(rc == 2 and "max_depth" in err and "no-such-dataset" not in err,
          f"job checks: unknown key not refused at load: {err[-300:]}")


def cpcv(tmp):
    # vfr tune and vfr train with split.method cpcv run and report PBO and the
    # combinatorial backtest paths
    job = quickstart_job()
    job["dataConfig"]["startDate"] = "1996-01-01"
    job["trainingConfig"]["hyperparameters"] = {"n_estimators": 10, "nthread": 1}
    job["trainingConfig"]["earlyStoppingRounds"] = 0
    job["split"] = {"method": "cpcv", "nGroups": 4, "nTestGroups": 2}
    job["search"] = {"method": "grid_search", "space": {"max_depth": [2, 3]}, "scoringMetric": "sharpe"}
    path = os.path.join(tmp, "cpcv-tune.json")
    with open(path, "w") as f:
        json.dump(dict(job, jobId="cpcv-tune"), f)
    p = subprocess.run([VFR, "tune", path, "--runs", os.path.join(tmp, "runs"), "--quiet"],
                       capture_output=True, text=True)
    check(p.returncode == 0, f"cpcv: vfr tune exit {p.returncode}: {p.stderr[-500:]}")
    if p.returncode == 0:
        sj = load(os.path.join(tmp, "runs", "cpcv-tune"), "search.json")
        check(sj["nFolds"] == 6 and sj["pbo"]["pbo"] is not None and 0 <= sj["pbo"]["pbo"] <= 1,
              f"cpcv: tune PBO {sj.get('pbo')}")
    run = train(tmp, job, "cpcv-train")
    c = load(run, "comparison.json")
    check(c.get("cpcv", {}).get("paths") == 3 and len(c["cpcv"]["pathSharpe"]) == 3 and
          c["cpcv"]["pbo"]["trials"] == 2, f"cpcv: comparison {c.get('cpcv')}")
    with h5py.File(os.path.join(run, "cpcv_paths.h5"), "r") as f:
        check(f["daily_return"].shape[0] == 3, "cpcv: cpcv_paths.h5 holds the 3 paths")


def main():
    with tempfile.TemporaryDirectory(prefix="vfr-lookahead-") as tmp:
        universe(tmp)
        planted_majority(tmp)
        final_rounds(tmp)
        single_series(tmp)
        job_checks(tmp)
        cpcv(tmp)
    if failures:
        print(f"test_lookahead: {len(failures)} failure(s)")
        return 1
    print("test_lookahead: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
