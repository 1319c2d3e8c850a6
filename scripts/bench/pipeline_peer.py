#!/usr/bin/env python3
"""pipeline_peer.py: the quant's own version of vfr's search job (the peer of
scripts/bench/pipeline.sh), timed whole: pandas reads the wide close-price
CSV, computes vfr's 26 standard price features per symbol (docs/features.md;
the EMAs with pandas' ewm seed, not TA-Lib's), labels up/down by the next
day's return (flat moves and rows with a missing feature dropped), splits
70/15/15 by date from START, runs GridSearchCV(XGBClassifier(ROUNDS rounds),
TimeSeriesSplit(5) over the train + validation dates, n_jobs=JOBS, ROC AUC),
refits the best on train + validation and scores the test dates.
Prints one JSON line.

  pipeline_peer.py CSV START JOBS ROUNDS
"""
import json
import resource
import sys
import time

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from xgboost import XGBClassifier

GRID = {"learning_rate": [0.05, 0.1, 0.2], "max_depth": [3, 4, 5, 6], "subsample": [0.8, 1.0]}


def features(c):
    r = c.pct_change()
    f = {}
    for n in (1, 5, 10, 20, 60):
        f[f"ret_{n}d"] = c / c.shift(n) - 1
    f["logret_1d"] = np.log(c / c.shift(1))
    for n in (5, 20, 60):
        f[f"vol_{n}d"] = r.rolling(n).std()
    d = c.diff()
    ag = d.clip(lower=0).ewm(alpha=1 / 14, adjust=False).mean()
    al = (-d).clip(lower=0).ewm(alpha=1 / 14, adjust=False).mean()
    f["rsi_14"] = (100 * ag / (ag + al)).fillna(50)
    sma = {n: c.rolling(n).mean() for n in (5, 20, 50, 200)}
    for n in (5, 20, 50, 200):
        f[f"sma_ratio_{n}"] = c / sma[n] - 1
    f["sma_cross_5_20"] = sma[5] / sma[20] - 1
    macd = (c.ewm(span=12, adjust=False).mean() - c.ewm(span=26, adjust=False).mean()) / c
    sig = macd.ewm(span=9, adjust=False).mean()
    f["macd"], f["macd_signal"], f["macd_hist"] = macd, sig, macd - sig
    s = c.rolling(20).std(ddof=0)
    f["bb_pctb_20"] = ((c - (sma[20] - 2 * s)) / (4 * s)).where(s > 0, 0.5)
    f["zscore_20"] = ((c - sma[20]) / s).where(s > 0, 0.0)
    for n in (20, 252):
        f[f"dist_high_{n}"] = c / c.rolling(n).max() - 1
        f[f"dist_low_{n}"] = c / c.rolling(n).min() - 1
    f["vol_ratio_5_20"] = (f["vol_5d"] / f["vol_20d"]).where(f["vol_20d"] > 0, 1.0)
    f["mom_252_21"] = c.shift(21) / c.shift(252) - 1
    out = pd.DataFrame(f)
    out["y_ret"] = c.shift(-1) / c - 1
    return out


def main():
    csv, start, jobs, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    t0 = time.time()
    wide = pd.read_csv(csv, parse_dates=["date"]).set_index("date")
    long = pd.concat({s: features(wide[s].dropna()) for s in wide.columns}, names=["symbol", "date"])
    long = long.reset_index()
    long = long[long["date"] >= pd.Timestamp(start)]
    long = long.replace([np.inf, -np.inf], np.nan).dropna()
    long = long[long["y_ret"] != 0].sort_values(["date", "symbol"])
    X = long.drop(columns=["symbol", "date", "y_ret"]).to_numpy(np.float32)
    y = (long["y_ret"] > 0).to_numpy(np.int32)
    dates = np.sort(long["date"].unique())
    di = np.searchsorted(dates, long["date"].to_numpy())
    T = len(dates)
    t_test = int(round(T * 0.85))
    tv = np.where(di < t_test - 1)[0]          # train + validation, purged 1 date before the test
    te = np.where(di >= t_test)[0]
    folds = []
    for tr_d, va_d in __import__("sklearn.model_selection", fromlist=["TimeSeriesSplit"]).TimeSeriesSplit(5).split(
            np.arange(t_test)):
        folds.append((np.where(di < va_d[0] - 1)[0], np.where((di >= va_d[0]) & (di <= va_d[-1]))[0]))
    t1 = time.time()
    est = XGBClassifier(n_estimators=rounds, tree_method="hist", max_bin=256, n_jobs=1, random_state=1)
    gs = GridSearchCV(est, GRID, cv=folds, scoring="roc_auc", n_jobs=jobs, refit=False).fit(X, y)
    t2 = time.time()
    b = int(np.argmax(gs.cv_results_["mean_test_score"]))
    params = gs.cv_results_["params"][b]
    final = XGBClassifier(n_estimators=rounds, tree_method="hist", max_bin=256, n_jobs=jobs, random_state=1,
                          **params).fit(X[tv], y[tv])
    auc = roc_auc_score(y[te], final.predict_proba(X[te])[:, 1])
    t3 = time.time()
    rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss +
           resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    print(json.dumps({"whole_s": t3 - t0, "prepare_s": t1 - t0, "search_s": t2 - t1, "final_s": t3 - t2,
                      "best": gs.cv_results_["mean_test_score"][b], "params": params, "test_auc": auc,
                      "rows": int(len(y)), "test_rows": int(len(te)), "rss_mb": rss}))


if __name__ == "__main__":
    main()
