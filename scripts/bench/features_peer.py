#!/usr/bin/env python3
"""features_peer.py: the pandas side of scripts/bench/features.sh.

Reads the same OHLCV CSV that vfr packs, computes Alpha158 for every symbol
with the vectorised pandas reference (scripts/fixtures/alpha158_pandas.py,
fast=True), and prints one line: `peer wall_s cpu_s rows`. With --check
D.h5 it also compares its values with vfr's dataset for a few symbols (h5py)
and prints the largest relative difference, so the two sides are known to
compute the same thing.
"""
import argparse
import os
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from alpha158_pandas import NAMES, alpha158  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bars")
    ap.add_argument("--check", help="vfr dataset to compare with")
    ap.add_argument("--check-symbols", type=int, default=5)
    a = ap.parse_args()
    w0, c0 = time.perf_counter(), time.process_time()
    df = pd.read_csv(a.bars)
    df = df.sort_values(["symbol", "date"], kind="stable")
    w1, c1 = time.perf_counter(), time.process_time()
    out = {}
    for sym, g in df.groupby("symbol", sort=True):
        out[sym] = alpha158(g.open, g.high, g.low, g.close, g.volume.astype(float), fast=True)
    w2, c2 = time.perf_counter(), time.process_time()
    rows = sum(len(v) for v in out.values())
    # whole (read + features) wall and CPU, then the feature step alone
    print(f"peer {w2 - w0:.2f} {c2 - c0:.2f} {rows} {w2 - w1:.2f} {c2 - c1:.2f}")
    if a.check:
        import h5py
        with h5py.File(a.check, "r") as f:
            names = [n.decode() if isinstance(n, bytes) else n for n in f["feature_names"][:]]
            syms = [s.decode() if isinstance(s, bytes) else s for s in f["symbols"][:]]
            sym_idx = f["symbol"][:]
            worst = 0.0
            for s in sorted(out)[: a.check_symbols]:
                rows_s = np.nonzero(sym_idx == syms.index(s))[0]
                got = f["features"][rows_s, :]
                ref = out[s][NAMES].to_numpy()
                cols = [names.index(n) for n in NAMES]
                got = got[:, cols].astype(float)
                both = ~np.isnan(ref) & ~np.isnan(got)
                if (np.isnan(ref) != np.isnan(got)).any():
                    print(f"check: NaN pattern differs for {s}")
                rel = np.abs(got[both] - ref[both]) / (np.abs(ref[both]) + 1e-9)
                j = int(np.argmax(rel.max(axis=0) if rel.ndim > 1 else rel))
                if rel.max() > worst:
                    worst = float(rel.max())
                    col = np.nonzero(both)[1][np.argmax(rel)] if rel.size else 0
                    where = f"{s} {NAMES[col]}"
        print(f"check {worst:.3g} {where if worst > 0 else ''}")


if __name__ == "__main__":
    main()
