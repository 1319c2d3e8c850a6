#!/usr/bin/env python3
"""test_fulldisk.py: every write path on a full disk ends in a clean exit 1.

A small tmpfs is mounted for the test (root only: exits 77, skipped,
elsewhere). synth, pack, train and the registry's first registration write
into it at several sizes, so that the disk fills at different points: in raw
data, in HDF5's final flush, in the JSON files, in the report. Each run must
exit 0 (it fitted) or 1 with a message (never a signal: HDF5 1.10 crashed in
its exit-time cleanup after a failed close), leave nothing under the final
name when it failed, and never leave a temporary file or folder.
Needs numpy/h5py only through `vfr synth`; no Python packages.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

VFR = os.environ.get("VFR_BIN", "build/vfr")
SRC = os.environ.get("VFR_SOURCE_DIR", ".")
DJ = os.path.join(SRC, "data", "dowjones30_1990-2001_daily_close.csv")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(*args):
    p = subprocess.run([VFR, *args], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def leftovers(d):
    out = []
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            if ".tmp." in n or ".old." in n:
                out.append(os.path.join(root, n))
    return out


class Tmpfs:
    def __init__(self, path, size):
        self.path, self.size = path, size

    def __enter__(self):
        os.makedirs(self.path, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size}", "tmpfs", self.path],
                       check=True)
        return self.path

    def __exit__(self, *a):
        subprocess.run(["umount", self.path], check=False)


def one(what, args, final, disk, complete=None):
    """complete: for a folder, the file that marks it finished. A run that
    was published and then failed to register exits 1 with its folder."""
    rc, _, err = run(*args)
    check(rc in (0, 1), f"{what}: exit {rc} (want 0, or 1 on a full disk): {err.strip()[-300:]}")
    if rc == 1:
        check("ERROR" in err, f"{what}: exit 1 without a message")
        if complete:
            check(not os.path.exists(final) or os.path.exists(os.path.join(final, complete)),
                  f"{what}: failed and left a half folder {final}")
        else:
            check(not os.path.exists(final), f"{what}: failed but {final} exists")
    left = leftovers(disk)
    check(not left, f"{what}: temporary files left: {left}")
    return rc


def main():
    if os.geteuid() != 0 or not shutil.which("mount"):
        print("test_fulldisk: needs root to mount a tmpfs, skipped")
        return 77
    tmp = tempfile.mkdtemp(prefix="vfr-full-")
    mnt = os.path.join(tmp, "disk")
    try:
        probe = os.path.join(tmp, "probe")
        os.makedirs(probe)
        try:
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe], check=True,
                           capture_output=True)
            subprocess.run(["umount", probe], check=False)
        except (subprocess.CalledProcessError, OSError):
            print("test_fulldisk: cannot mount a tmpfs here, skipped")
            return 77

        ds = os.path.join(tmp, "ds.h5")
        rc, _, err = run("--quiet", "synth", "--symbols", "20", "--days", "300", "--features", "6",
                         "--seed", "3", "--out", ds)
        check(rc == 0, f"synth: {err}")
        job = os.path.join(tmp, "job.json")
        with open(job, "w") as f:
            json.dump({"jobId": "j1", "modelName": "m1", "modelType": "xgboost",
                       "targetVariable": "price_direction_1d", "autoRegister": True,
                       "dataConfig": {"dataset": ds, "minDates": 50, "minRows": 500},
                       "trainingConfig": {"hyperparameters": {"max_depth": 3, "n_estimators": 20,
                                                              "nthread": 1}, "seed": 7},
                       "split": {"method": "holdout"}}, f)

        fails = {"synth": 0, "pack": 0, "train": 0}
        for kb in (16, 64, 160, 400):
            with Tmpfs(mnt, f"{kb}k") as d:
                out = os.path.join(d, "s.h5")
                fails["synth"] += one(f"synth {kb}k", ["--quiet", "synth", "--symbols", "50", "--days", "400",
                                                       "--features", "8", "--compression", "0", "--out", out],
                                      out, d) == 1
            with Tmpfs(mnt, f"{kb}k") as d:
                out = os.path.join(d, "dj.h5")
                fails["pack"] += one(f"pack {kb}k", ["--quiet", "pack", "--prices", DJ, "--compression", "0",
                                                     "--out", out], out, d) == 1
        for kb in (8, 40, 72, 104, 136, 168, 200, 260):
            with Tmpfs(mnt, f"{kb}k") as d:
                runs = os.path.join(d, "runs")
                fails["train"] += one(f"train {kb}k", ["--quiet", "train", job, "--runs", runs,
                                                       "--registry", os.path.join(d, "reg")],
                                      os.path.join(runs, "j1"), d, complete="manifest.json") == 1
                # what a failed first registration left is a registry or none,
                # never an empty registry.db that readers reject (given room)
                subprocess.run(["mount", "-o", "remount,size=8m", d], check=True)
                rc, _, err = run("--quiet", "models", "list", "--registry", os.path.join(d, "reg"))
                check(rc == 0 or (rc == 2 and "no registry" in err),
                      f"train {kb}k: the registry left behind does not open: {err.strip()[-300:]}")
        for k, n in fails.items():
            check(n > 0, f"{k}: the disk never filled; the test sizes no longer test anything")
    finally:
        subprocess.run(["umount", mnt], check=False, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"test_fulldisk: {len(failures)} failure(s)", file=sys.stderr)
        return 1
    print("test_fulldisk: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
