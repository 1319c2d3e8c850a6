#!/usr/bin/env python3
"""tune_peer.py: the peer side of scripts/bench/tune.sh, and the report.

Rebuilds vfr's tuning folds from the dataset (docs/search.md: the dates before
the holdout test period, sklearn TimeSeriesSplit boundaries over dates, the
training part ending `purge` dates before each test block), runs
GridSearchCV(XGBClassifier(tree_method="hist", n_jobs=1), cv=<those folds>,
n_jobs=JOBS, scoring="roc_auc") on the same rows, and prints both sides.
"""
import json
import resource
import sys
import time

import h5py
import numpy as np
from sklearn.model_selection import GridSearchCV
from xgboost import XGBClassifier

ds, job_path, vfr_search, vfr_time, jobs, rounds = sys.argv[1:7]
jobs, rounds = int(jobs), int(rounds)
job = json.load(open(job_path))
with h5py.File(ds) as f:
    X = f["features"][:]
    date = f["date"][:]
    h = list(f["forward_return"].attrs["horizons"])
    y_ret = f["forward_return"][:, h.index(1)]
keep = np.isfinite(y_ret) & (y_ret != 0) & np.all(np.isfinite(X), axis=1)
X, date, y = X[keep], date[keep], (y_ret[keep] > 0).astype(np.int32)
dates = np.unique(date)
T = len(dates)
tc = job["trainingConfig"]
t2 = int(T * (tc.get("trainTestSplit", 0.7) + tc.get("validationSplit", 0.15)) + 0.5)
D = t2  # dates before the test period (validationSplit 0: t2 == t1)
K, purge = 5, 1
ts = D // (K + 1)
didx = np.searchsorted(dates, date)
folds = []
for k in range(K):
    a = D - (K - k) * ts
    tr = np.where(didx < a - purge)[0]
    te = np.where((didx >= a) & (didx < a + ts))[0]
    folds.append((tr, te))
grid = job["search"]["space"]
est = XGBClassifier(n_estimators=rounds, tree_method="hist", max_bin=256, n_jobs=1, random_state=1)
t0 = time.time()
gs = GridSearchCV(est, grid, cv=folds, scoring="roc_auc", n_jobs=jobs, refit=False).fit(X, y)
peer_s = time.time() - t0
peer_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
s = json.load(open(vfr_search))
vfr_s, vfr_rss = map(float, open(vfr_time).read().split())
best = int(np.argmax(gs.cv_results_["mean_test_score"]))
print(f"rows      {len(y)} labelled; {K} folds over {D} of {T} dates")
print(f"vfr       {vfr_s:8.1f} s   best AUC {s['bestScore']['mean']:.4f} +- {s['bestScore']['sd']:.4f}   "
      f"peak RSS {vfr_rss / 1024:.0f} MB   {s['bestParams']}")
print(f"sklearn   {peer_s:8.1f} s   best AUC {gs.cv_results_['mean_test_score'][best]:.4f} +- "
      f"{gs.cv_results_['std_test_score'][best]:.4f}   peak RSS {peer_rss / 1024:.0f} MB (parent + workers)   "
      f"{gs.cv_results_['params'][best]}")
print(f"ratio     sklearn / vfr wall time: {peer_s / vfr_s:.2f}x; |AUC difference| of the best: "
      f"{abs(s['bestScore']['mean'] - gs.cv_results_['mean_test_score'][best]):.4f}")
