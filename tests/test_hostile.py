#!/usr/bin/env python3
"""test_hostile.py: hostile files never crash, hang or over-allocate vfr.

Each case is a class of defect found by an outside attack (issue 23), planted
in an otherwise valid file made by `vfr synth`:
- attributes of the wrong class or shape (a string attribute stored as an
  array: a buffer overflow before), integer attributes that are strings;
- datasets that declare far more rows than the file stores (8 GB allocated
  for a 5 KB file before), strings wider than the limit;
- dates near the int32 limit (garbage dates before), refused on open;
- 250,000 symbols: duplicate detection is O(n log n), not pairwise;
- a FIFO where a dataset, CSV, job or predictions file is expected: refused
  at once instead of blocking forever;
- exit codes: bad input is 2, and nothing is left behind.
Every run is bounded by a timeout and must end with exit 2 (never a signal).
Needs numpy and h5py; exits 77 without them.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import h5py
    import numpy as np
except ImportError:
    print("test_hostile: numpy/h5py not installed, skipped")
    sys.exit(77)

VFR = os.environ.get("VFR_BIN", "build/vfr")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(*args, timeout=60):
    t0 = time.time()
    try:
        p = subprocess.run([VFR, *args], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "", "timed out", timeout
    return p.returncode, p.stdout, p.stderr, time.time() - t0


def expect_bad(what, args, needle, code=2, timeout=60):
    rc, _, err, dt = run(*args, timeout=timeout)
    check(rc == code, f"{what}: exit {rc}, want {code}: {err.strip()[-400:]}")
    if needle:
        check(needle in err, f"{what}: message lacks {needle!r}: {err.strip()[-400:]}")
    return dt


def planted(src, dst, edit):
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        edit(f)
    return dst


def main():
    tmp = tempfile.mkdtemp(prefix="vfr-hostile-")
    try:
        ds = os.path.join(tmp, "ok.h5")
        rc, _, err, _ = run("--quiet", "synth", "--symbols", "5", "--days", "60", "--features", "4",
                            "--out", ds)
        check(rc == 0, f"synth: {err}")
        rc, _, err, _ = run("--quiet", "inspect", ds)
        check(rc == 0, f"inspect of the untouched file: {err}")

        # --- attributes: class and shape checked before reading
        def fmt_vlen_array(f):
            del f.attrs["format"]
            f.attrs.create("format", ["vfr-dataset"] * 1000, dtype=h5py.string_dtype())

        def fmt_fixed_array(f):
            del f.attrs["format"]
            f.attrs.create("format", np.array([b"vfr-dataset" * 10] * 50, dtype="S110"))

        def ver_string(f):
            del f.attrs["format_version"]
            f.attrs["format_version"] = "1"

        def ver_array(f):
            del f.attrs["format_version"]
            f.attrs["format_version"] = np.arange(100, dtype="i4")

        def horizons_float(f):
            h = f["forward_return"].attrs["horizons"]
            del f["forward_return"].attrs["horizons"]
            f["forward_return"].attrs["horizons"] = h.astype("f8")

        for name, edit, needle in (("format as vlen array", fmt_vlen_array, "format"),
                                   ("format as fixed array", fmt_fixed_array, "format"),
                                   ("format_version as string", ver_string, "format_version"),
                                   ("format_version as array", ver_array, "format_version"),
                                   ("horizons as floats", horizons_float, "horizons")):
            p = planted(ds, os.path.join(tmp, "attr.h5"), edit)
            expect_bad(name, ["inspect", p], needle)

        # --- declared sizes against stored sizes, before allocating
        def huge(f):
            for k in ("features", "date", "symbol"):
                del f[k]
            f.create_dataset("features", shape=(10**9, 4), dtype="f4", chunks=(1024, 4))
            f.create_dataset("date", shape=(10**9,), dtype="i4", chunks=(1024,))
            f.create_dataset("symbol", shape=(10**9,), dtype="i4", chunks=(1024,))

        p = planted(ds, os.path.join(tmp, "huge.h5"), huge)
        dt = expect_bad("10^9 declared rows", ["inspect", p], "stores", timeout=30)
        check(dt < 5, f"10^9 declared rows: took {dt:.1f} s (allocated what it declared?)")

        def wide_strings(f):
            n = f["symbols"].shape[0]
            del f["symbols"]
            f.create_dataset("symbols", data=np.array([b"S%d" % i + b"x" * 5000 for i in range(n)]))

        p = planted(ds, os.path.join(tmp, "wide.h5"), wide_strings)
        expect_bad("symbols wider than the limit", ["inspect", p], "symbols")

        # --- dates outside the documented range
        def far_date(f):
            d = f["date"][:].astype("i8")
            f["date"][:] = (d + (2**31 - 100) - int(d.max())).astype("i4")

        p = planted(ds, os.path.join(tmp, "date.h5"), far_date)
        expect_bad("dates near INT32_MAX", ["inspect", p], "outside 1900-01-01..2199-12-31")

        # --- 250,000 symbols: no pairwise comparisons
        S = 250000

        def many_symbols(f):
            del f["symbols"]
            f.create_dataset("symbols", data=np.array([b"SYM%06d" % i for i in range(S)]))

        p = planted(ds, os.path.join(tmp, "many.h5"), many_symbols)
        rc, _, err, dt = run("--quiet", "inspect", p, timeout=60)
        check(rc == 0, f"250k symbols: exit {rc}: {err.strip()[-300:]}")
        check(dt < 10, f"250k symbols: inspect took {dt:.1f} s")

        def many_dup(f):
            del f["symbols"]
            names = [b"SYM%06d" % i for i in range(S)]
            names[S - 1] = names[7]
            f.create_dataset("symbols", data=np.array(names))

        p = planted(ds, os.path.join(tmp, "dup.h5"), many_dup)
        dt = expect_bad("250k symbols with a repeat", ["inspect", p],
                        "'SYM000007' appears twice (entries 7 and 249999)")
        check(dt < 10, f"250k symbols with a repeat: took {dt:.1f} s")

        # --- FIFOs where files are expected: refused, never waited on
        fifo = os.path.join(tmp, "fifo")
        os.mkfifo(fifo)
        out = os.path.join(tmp, "out.h5")
        expect_bad("FIFO as dataset", ["inspect", fifo], "not a regular file", timeout=20)
        expect_bad("FIFO as prices CSV", ["pack", "--prices", fifo, "--out", out],
                   "not a regular file", timeout=20)
        expect_bad("FIFO as long CSV", ["pack", "--csv", fifo, "--out", out],
                   "not a regular file", timeout=20)
        expect_bad("FIFO as predictions", ["evaluate", "--predictions", fifo], "", timeout=20)
        expect_bad("FIFO as job file", ["job", "show", fifo], "", timeout=20)
        check(not os.path.exists(out), "pack of a FIFO left an output file")

        # --- exit codes: damage in an input file is bad input (2), not a runtime failure
        corrupt = os.path.join(tmp, "corrupt.h5")
        shutil.copy(ds, corrupt)
        with h5py.File(corrupt, "r") as f:
            info = f["features"].id.get_chunk_info(0)
        with open(corrupt, "r+b") as f:
            f.seek(info.byte_offset + 8)
            f.write(b"\x5a" * (info.size - 16))
        expect_bad("a chunk that does not decode", ["inspect", corrupt], "corrupt")
        H = 3000
        many = os.path.join(tmp, "many_h.csv")
        with open(many, "w") as f:
            f.write("date,symbol,x," + ",".join(f"forward_return_{h}d" for h in range(1, H + 1)) + "\n")
            for i in range(30):
                for sym in ("AA", "BB"):
                    f.write(f"2001-{i // 28 + 1:02d}-{i % 28 + 1:02d},{sym},{i},")
                    f.write(",".join(["0.01"] * H) + "\n")
        expect_bad("3000 horizon columns", ["pack", "--csv", many, "--out", out], "horizons")
        check(not os.path.exists(out), "pack with 3000 horizons left an output file")

    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"test_hostile: {len(failures)} failure(s)", file=sys.stderr)
        return 1
    print("test_hostile: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
