#!/usr/bin/env python3
"""scale_peer.py: the Python side of scripts/bench/scale.sh.

The same rows as vfr's run (the train and validation dates of its split.json,
label up = forward return > 0, flat and non-finite rows dropped), read with
h5py block by block into one float32 array per set (no second copy), then
xgboost.QuantileDMatrix (validation with ref=train), xgboost.train with vfr's
parameters, and the test dates predicted. The whole script is timed by the
caller; this prints its own steps.
"""
import json
import sys
import time

import h5py
import numpy as np
import xgboost as xgb

ds, run, threads, rounds = sys.argv[1:5]
threads, rounds = int(threads), int(rounds)
fold = json.load(open(f"{run}/split.json"))["folds"][0]
first = lambda s: fold[s]["ranges"][0]  # the split document (runfolder.h)
t0 = time.time()


def rows_of(f, date, rng, horizon):
    lo, hi = np.datetime64(rng["start"]).astype(int), np.datetime64(rng["end"]).astype(int)
    r0, r1 = np.searchsorted(date, lo, "left"), np.searchsorted(date, hi, "right")
    h = list(f["forward_return"].attrs["horizons"]).index(horizon)
    fwd = f["forward_return"][r0:r1, h]
    n_keep, F, block = 0, f["features"].shape[1], 1 << 18
    keep = np.isfinite(fwd) & (fwd != 0)
    X = np.empty((int(keep.sum()), F), np.float32)
    for a in range(r0, r1, block):  # by blocks: one float copy of the set
        b = min(a + block, r1)
        x = f["features"][a:b]
        k = keep[a - r0:b - r0] & np.isfinite(x).all(axis=1)
        X[n_keep:n_keep + k.sum()] = x[k]
        n_keep += int(k.sum())
        keep[a - r0:b - r0] = k
    return X[:n_keep], (fwd[keep] > 0).astype(np.float32)


with h5py.File(ds) as f:
    date = f["date"][:]
    Xtr, ytr = rows_of(f, date, first("train"), 1)
    t1 = time.time()
    dtr = xgb.QuantileDMatrix(Xtr, ytr, max_bin=256, nthread=threads)
    del Xtr
    Xva, yva = rows_of(f, date, first("validation"), 1)
    dva = xgb.QuantileDMatrix(Xva, yva, ref=dtr, max_bin=256, nthread=threads)
    del Xva
    t2 = time.time()
    params = {"objective": "binary:logistic", "eval_metric": "logloss", "tree_method": "hist",
              "max_depth": 6, "eta": 0.1, "max_bin": 256, "nthread": threads, "seed": 1}
    b = xgb.train(params, dtr, rounds, evals=[(dtr, "train"), (dva, "valid")], verbose_eval=False)
    t3 = time.time()
    Xte, _ = rows_of(f, date, first("test"), 1)
    p = b.inplace_predict(Xte)
    t4 = time.time()
print(f"python    steps (s): read train {t1 - t0:.1f}, QuantileDMatrix + validation {t2 - t1:.1f}, "
      f"train {t3 - t2:.1f}, test predicted {t4 - t3:.1f}; {len(ytr)} training rows; xgboost {xgb.__version__}")
