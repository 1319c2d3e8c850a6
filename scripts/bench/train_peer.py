#!/usr/bin/env python3
"""train_peer.py: the Python side of scripts/bench/train.sh, and the report.

Loads the same dataset with h5py (not timed), takes vfr's training rows (the
train dates in the run's split.json, labels as vfr makes them: up = forward
return > 0, flat moves dropped), and times xgboost.train with vfr's parameters
(DMatrix construction timed separately). Peak RSS is this process's.
"""
import json
import resource
import sys
import time

import h5py
import numpy as np
import xgboost as xgb

ds, run, vfr_time, threads, rounds = sys.argv[1:6]
threads, rounds = int(threads), int(rounds)
split = json.load(open(f"{run}/split.json"))
tr = split["folds"][0]["train"]["ranges"][0]
with h5py.File(ds) as f:
    date = f["date"][:]
    lo = np.datetime64(tr["start"]).astype(int)
    hi = np.datetime64(tr["end"]).astype(int)
    rows = np.where((date >= lo) & (date <= hi))[0]
    X = f["features"][rows[0]:rows[-1] + 1]
    h = list(f["forward_return"].attrs["horizons"])
    r = f["forward_return"][rows[0]:rows[-1] + 1, h.index(1)]
keep = np.isfinite(r) & (r != 0)
X, y = X[keep], (r[keep] > 0).astype(np.float32)
params = {"objective": "binary:logistic", "eval_metric": "logloss", "tree_method": "hist",
          "max_depth": 6, "eta": 0.1, "max_bin": 256, "nthread": threads, "seed": 1}
t0 = time.time()
d = xgb.DMatrix(X, y, missing=np.nan, nthread=threads)
t1 = time.time()
xgb.train(params, d, rounds, evals=[(d, "train")], verbose_eval=False)
t2 = time.time()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
vfr_s, vfr_rss = map(float, open(vfr_time).read().split())
man = json.load(open(f"{run}/manifest.json"))
steps = ", ".join(f"{k} {v:.1f}" for k, v in man["stepSeconds"].items())
print(f"rows      {len(y)} training rows (vfr's train dates {tr['start']}..{tr['end']})")
print(f"vfr       whole train {vfr_s:7.1f} s   peak RSS {vfr_rss / 1024:6.0f} MB   steps (s): {steps}")
print(f"python    fit {t2 - t1:7.1f} s (+ DMatrix {t1 - t0:.1f} s)   peak RSS {rss / 1024:6.0f} MB   xgboost {xgb.__version__}")
print(f"ratio     vfr whole train / python fit-only: {vfr_s / (t2 - t1):.2f}x (target <= 1.1x)")
