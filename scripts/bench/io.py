#!/usr/bin/env python3
"""io.py: times reading a dataset's whole feature matrix with vfr and with h5py.

Run by scripts/bench/io.sh, which makes the file and builds the vfr reader
(scripts/bench/io_read.c). Each repetition opens the file, reads
`features` [N, F] float32 into a fresh buffer and closes it; both sides are
timed the same way (open + read, fresh allocation). The page cache is warmed
by reading the file once before any timing, so this measures decode and copy
from memory, not the disk. Both readers must produce the same checksum.

Not a general benchmark harness: one file, one column block, two readers.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time


def warm_page_cache(path):
    with open(path, "rb", buffering=0) as f:
        while f.read(64 << 20):
            pass


def run_vfr(reader, path, reps):
    out = subprocess.run([reader, path, str(reps)], check=True, capture_output=True, text=True)
    runs = []
    for line in out.stdout.splitlines():
        tok = line.split()
        kv = dict(zip(tok[0::2], tok[1::2]))
        runs.append({"open_s": float(kv["open_s"]), "read_s": float(kv["read_s"]),
                     "rows": int(kv["rows"]), "features": int(kv["features"]),
                     "checksum": float(kv["checksum"])})
    if len(runs) != reps:
        sys.exit(f"io.py: expected {reps} lines from {reader}, got:\n{out.stdout}{out.stderr}")
    return runs


def run_h5py(path, reps):
    import h5py
    import numpy as np

    runs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f = h5py.File(path, "r")
        t1 = time.perf_counter()
        x = f["features"][:]
        t2 = time.perf_counter()
        f.close()
        finite = np.isfinite(x)
        runs.append({"open_s": t1 - t0, "read_s": t2 - t1, "rows": x.shape[0],
                     "features": x.shape[1],
                     "checksum": float(x[finite].sum(dtype=np.float64))})
        del x, finite
    return runs


def summary(runs, nbytes):
    tot = [r["open_s"] + r["read_s"] for r in runs]
    best, med = min(tot), statistics.median(tot)
    return {"best_s": best, "median_s": med, "best_gbps": nbytes / best / 1e9,
            "median_gbps": nbytes / med / 1e9,
            "best_read_only_s": min(r["read_s"] for r in runs), "runs": runs}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--reader", required=True, help="the built vfr_bench_io_read")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()

    import h5py

    with h5py.File(a.file, "r") as f:
        d = f["features"]
        N, F = d.shape
        layout = {"chunks": d.chunks, "compression": d.compression,
                  "compression_opts": d.compression_opts, "shuffle": d.shuffle}
    nbytes = N * F * 4
    warm_page_cache(a.file)  # both readers then read from memory

    vfr = summary(run_vfr(a.reader, a.file, a.reps), nbytes)
    h5 = summary(run_h5py(a.file, a.reps), nbytes)
    cv, ch = vfr["runs"][0]["checksum"], h5["runs"][0]["checksum"]
    same = abs(cv - ch) <= 1e-6 * max(1.0, abs(ch)) + 1e-3

    print(f"file      {a.file}: {N} rows x {F} features float32 = {nbytes / 1e9:.3f} GB "
          f"uncompressed, {os.path.getsize(a.file) / 1e9:.3f} GB on disk")
    print(f"layout    chunks {layout['chunks']}, compression {layout['compression']} "
          f"{layout['compression_opts']}, shuffle {layout['shuffle']}")
    print(f"machine   {platform.machine()}, {os.cpu_count()} CPUs; h5py {h5py.__version__} "
          f"(HDF5 {h5py.version.hdf5_version}); page cache warmed before timing")
    print(f"timing    open + read of the whole matrix into a fresh buffer, {a.reps} reps")
    print(f"{'reader':8} {'best s':>9} {'median s':>9} {'best GB/s':>10} {'median GB/s':>12} "
          f"{'read-only best s':>17}")
    for name, s in (("vfr", vfr), ("h5py", h5)):
        print(f"{name:8} {s['best_s']:9.3f} {s['median_s']:9.3f} {s['best_gbps']:10.2f} "
              f"{s['median_gbps']:12.2f} {s['best_read_only_s']:17.3f}")
    print(f"ratio     h5py / vfr time: best {h5['best_s'] / vfr['best_s']:.2f}x, "
          f"median {h5['median_s'] / vfr['median_s']:.2f}x")
    print(f"checksum  vfr {cv:.6f}  h5py {ch:.6f}  {'same' if same else 'DIFFERENT'}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"file": a.file, "N": N, "F": F, "bytes": nbytes, "layout": layout,
                       "cpus": os.cpu_count(), "h5py": h5py.__version__,
                       "h5py_hdf5": h5py.version.hdf5_version, "vfr": vfr, "h5py_": h5,
                       "same_checksum": same}, f, indent=1, default=str)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
