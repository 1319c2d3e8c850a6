#!/usr/bin/env python3
"""lightgbm_peer.py: the Python side of scripts/bench/lightgbm.sh, and the report.

Loads the same dataset with h5py (not timed), takes vfr's training rows (the
train dates in the run's split.json, labels as vfr makes them: up = forward
return > 0, flat moves dropped), and times lightgbm.train with the parameters
vfr gave LightGBM (manifest.json: model.description.lightgbmParams), the
Dataset's construction (binning) timed separately. Peak RSS is this
process's. CPU seconds (user + sys) are reported beside wall seconds: on a
shared machine they move less with the neighbours' load.
"""
import json
import resource
import sys
import time

import h5py
import lightgbm as lgb
import numpy as np

ds, run, vfr_time, rounds = sys.argv[1:5]
rounds = int(rounds)
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
man = json.load(open(f"{run}/manifest.json"))


def typed(v):
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(v, v)


params = {k: typed(v) for k, v in man["model"]["description"]["lightgbmParams"].items()}


def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


t0 = time.time()
d = lgb.Dataset(X, y, params=params).construct()
t1, c1 = time.time(), cpu()
lgb.train(params, d, num_boost_round=rounds)
t2, c2 = time.time(), cpu()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
vals = [float(x) for x in open(vfr_time).read().split()]  # %e %M %U %S
vfr_s, vfr_rss, vfr_cpu = vals[0], vals[1], vals[2] + vals[3]
steps = ", ".join(f"{k} {v:.1f}" for k, v in man["stepSeconds"].items())
print(f"params    {' '.join(f'{k}={v}' for k, v in params.items())}")
print(f"rows      {len(y)} training rows (vfr's train dates {tr['start']}..{tr['end']})")
print(f"vfr       whole train {vfr_s:7.1f} s ({vfr_cpu:.1f} CPU s)   peak RSS {vfr_rss / 1024:6.0f} MB   "
      f"steps (s): {steps}")
print(f"python    fit {t2 - t1:7.1f} s ({c2 - c1:.1f} CPU s) (+ Dataset {t1 - t0:.1f} s)   "
      f"peak RSS {rss / 1024:6.0f} MB   lightgbm {lgb.__version__}")
print(f"ratio     vfr whole train / python fit-only: {vfr_s / (t2 - t1):.2f}x wall, "
      f"{vfr_cpu / (c2 - c1):.2f}x CPU (target <= 1.1x)")
