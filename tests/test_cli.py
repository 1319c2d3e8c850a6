#!/usr/bin/env python3
"""test_cli.py: the vfr command line end to end, as a user or a scheduler sees it.

Checks exit codes (0 ok, 1 runtime, 2 usage/bad input), that every bad input
names the file and the row/column or field and leaves no output file behind,
that `vfr info --json` and `--log-json` emit JSON, and that the Dow Jones pack
has the layout docs/dataset-format.md describes when read with h5py.
Needs numpy and h5py (installed by scripts/setup.sh); exits 77 without them.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

try:
    import h5py
    import numpy as np
except ImportError:
    print("test_cli: numpy/h5py not installed, skipped")
    sys.exit(77)

VFR = os.environ.get("VFR_BIN", "build/vfr")
SRC = os.environ.get("VFR_SOURCE_DIR", ".")
DJ = os.path.join(SRC, "data", "dowjones30_1990-2001_daily_close.csv")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(*args):
    p = subprocess.run([VFR, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def expect_bad(args, out_path, needles, code=2):
    rc, out, err = run(*args)
    check(rc == code, f"{args}: exit {rc}, want {code}; stderr: {err.strip()}")
    for n in needles:
        check(n in err, f"{args}: message does not name {n!r}: {err.strip()}")
    if out_path:
        d = os.path.dirname(out_path) or "."
        left = [f for f in os.listdir(d) if f.startswith(os.path.basename(out_path))]
        check(not left, f"{args}: output left behind: {left}")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def main():
    tmp = tempfile.mkdtemp(prefix="vfr-cli-")
    try:
        # --help everywhere, usage errors exit 2
        for cmd in ([], ["pack"], ["inspect"], ["synth"], ["info"]):
            rc, out, _ = run(*cmd, "--help")
            check(rc == 0 and "usage" in out, f"{cmd} --help")
        check(run("frobnicate")[0] == 2, "unknown command exits 2")
        check(run("pack", "--prices")[0] == 2, "option without value exits 2")
        check(run("synth", "--symbols", "abc", "--out", "x.h5")[0] == 2, "bad number exits 2")

        # info --json
        rc, out, _ = run("info", "--json")
        info = json.loads(out)
        check(rc == 0, "info exit 0")
        check(isinstance(info["build"]["cuda"], bool), "info says whether CUDA was compiled in")
        check(isinstance(info["cuda_device_found"], bool), "info says whether a device was found")
        check("hdf5" in info["libraries"], "info gives the HDF5 version")
        if not info["cuda_device_found"]:
            rc, _, err = run("--device", "cuda", "inspect", "x.h5")
            check(rc == 2 and "cuda" in err, "--device cuda without a device exits 2")

        # the Dow Jones pack, inspected, and read back with h5py
        dj = os.path.join(tmp, "dj.h5")
        rc, _, err = run("--log-json", "pack", "--prices", DJ, "--out", dj)
        check(rc == 0, f"pack dj: {err}")
        for line in err.strip().splitlines():
            o = json.loads(line)  # every log line is one JSON object
            check({"ts", "level", "cmd"} <= set(o), f"log line fields: {line}")
        rc, out, _ = run("inspect", dj, "--json")
        m = json.loads(out)
        check(m["n_symbols"] == 30, f"30 symbols, got {m['n_symbols']}")
        check(m["n_dates"] == 2529, f"2529 dates, got {m['n_dates']}")
        check(m["n_features"] >= 20, f">= 20 features, got {m['n_features']}")
        check(m["horizons"] == [1, 5, 10, 20], f"horizons {m['horizons']}")
        check(m["rows_per_symbol"]["min"] == 2529, "every symbol on every date")

        with h5py.File(dj, "r") as f:
            check(f.attrs["format"] in (b"vfr-dataset", "vfr-dataset"), "format attribute")
            check(int(f.attrs["format_version"]) == 1, "format_version 1")
            N, F = f["features"].shape
            check(f["features"].dtype == np.float32, "features float32")
            check(f["features"].chunks is not None and f["features"].compression == "gzip",
                  "features chunked and compressed")
            check(f["date"].dtype == np.int32 and f["date"].shape == (N,), "date int32 [N]")
            check(f["symbol"].dtype == np.int32 and f["symbol"].shape == (N,), "symbol int32 [N]")
            names = [s.decode() for s in f["feature_names"][:]]
            check(len(names) == F, "feature_names [F]")
            syms = [s.decode() for s in f["symbols"][:]]
            check(len(syms) == 30 and syms == sorted(syms), "symbols sorted")
            check(list(f["forward_return"].attrs["horizons"]) == [1, 5, 10, 20], "horizons attr")
            check(f["forward_return"].shape == (N, 4), "forward_return [N, H]")
            date, sym = f["date"][:], f["symbol"][:]
            key = date.astype(np.int64) * 1000 + sym
            check(bool(np.all(np.diff(key) > 0)), "rows sorted by (date, symbol), unique")
            check(str(np.datetime64(int(date[0]), "D")) == "1990-12-31", "first date")
            # forward return = close[t+h]/close[t]-1 within a symbol
            close = f["close"][:]
            fwd = f["forward_return"][:]
            aa = np.where(sym == syms.index("AA"))[0]
            ref = close[aa][5:] / close[aa][:-5] - 1
            check(np.allclose(fwd[aa][:-5, 1], ref, rtol=1e-5, atol=1e-7), "5-day forward return")
            check(bool(np.all(np.isnan(fwd[aa][-5:, 1]))), "forward return NaN past the end")
            # ret_1d at t is the return into t (no look-ahead)
            r1 = f["features"][:, names.index("ret_1d")][aa]
            check(np.allclose(r1[1:], close[aa][1:] / close[aa][:-1] - 1, rtol=1e-5, atol=1e-7),
                  "ret_1d is the past 1-day return")

        # bad CSV input: exit 2, file and line/column named, no output left
        out = os.path.join(tmp, "bad.h5")
        expect_bad(["pack", "--prices", os.path.join(tmp, "nope.csv"), "--out", out], out,
                   ["nope.csv"])
        cases = {
            "nonnum.csv": ("date,A,B\n2020-01-01,1,2\n2020-01-02,1,x\n", ["nonnum.csv", "line 3", "B"]),
            "dup.csv": ("date,A,B\n2020-01-01,1,2\n2020-01-01,1,2\n", ["dup.csv", "line 3"]),
            "order.csv": ("date,A,B\n2020-01-02,1,2\n2020-01-01,1,2\n", ["order.csv", "line 3"]),
            "ragged.csv": ("date,A,B\n2020-01-01,1,2\n2020-01-02,1\n", ["ragged.csv", "line 3"]),
            "empty.csv": ("", ["empty.csv"]),
        }
        for name, (text, needles) in cases.items():
            p = os.path.join(tmp, name)
            write(p, text)
            expect_bad(["pack", "--prices", p, "--out", out], out, needles)
        # a failed pack leaves an existing file untouched
        write(out, "precious")
        expect_bad(["pack", "--prices", os.path.join(tmp, "nonnum.csv"), "--out", out], None, ["line 3"])
        check(open(out).read() == "precious", "failed pack left the existing file untouched")
        os.remove(out)

        # bad HDF5 input
        other = os.path.join(tmp, "other.h5")
        with h5py.File(other, "w") as f:
            f["x"] = np.arange(3)
        expect_bad(["inspect", other], None, ["other.h5", "not a vfr dataset"])
        v2 = os.path.join(tmp, "v2.h5")
        shutil.copy(dj, v2)
        with h5py.File(v2, "r+") as f:
            f.attrs["format_version"] = np.int32(2)
        expect_bad(["inspect", v2], None, ["v2.h5", "format_version 2"])
        short = os.path.join(tmp, "short.h5")
        shutil.copy(dj, short)
        with h5py.File(short, "r+") as f:
            f["date"].resize((100,))
        expect_bad(["inspect", short], None, ["short.h5", "'date'"])
        trunc = os.path.join(tmp, "trunc.h5")
        with open(dj, "rb") as src, open(trunc, "wb") as dst:
            dst.write(src.read(os.path.getsize(dj) // 3))
        expect_bad(["inspect", trunc], None, ["trunc.h5"])
        noth5 = os.path.join(tmp, "prices.h5")
        shutil.copy(DJ, noth5)
        expect_bad(["inspect", noth5], None, ["prices.h5", "not an HDF5 file"])
        expect_bad(["inspect", os.path.join(tmp, "missing.h5")], None, ["missing.h5"])

        # job files: errors name the key path and exit 2
        qs = os.path.join(SRC, "data", "examples", "quickstart.json")
        job = json.load(open(qs))
        job["dataConfig"]["dataset"] = DJ
        job["trainingConfig"]["hyperparamters"] = job["trainingConfig"].pop("hyperparameters")
        bad_job = os.path.join(tmp, "bad_job.json")
        write(bad_job, json.dumps(job))
        expect_bad(["job", "show", bad_job], None,
                   ["bad_job.json", "trainingConfig.hyperparamters: unknown key; did you mean hyperparameters?"])
        expect_bad(["split", os.path.join(tmp, "nojob.json")], None, ["nojob.json"])
        rc, out, _ = run("job", "show", qs)
        check(rc == 0 and json.loads(out)["split"]["purgeDays"] == 1, "job show resolves defaults")

        # vfr split on the bundled data: 70/15/15 by date, purge = horizon
        rc, out, err = run("split", qs, "--json")
        check(rc == 0, f"split quickstart: {err}")
        sp = json.loads(out)
        f0 = sp["folds"][0]
        T = sp["dates"]
        n_tr, n_va, n_te = (f0[k]["dates"] for k in ("train", "validation", "test"))
        check(sp["method"] == "holdout" and len(sp["folds"]) == 1, "holdout, one fold")
        check(sp["purgeDays"] == sp["horizon"] == 1, "purge equals the horizon")
        check(abs((n_tr + f0["purgedDates"] / 2) / T - 0.70) < 0.005, f"train share {n_tr / T}")
        check(abs((n_va + f0["purgedDates"] / 2) / T - 0.15) < 0.005, f"validation share {n_va / T}")
        check(abs(n_te / T - 0.15) < 0.005, f"test share {n_te / T}")
        check(n_tr + n_va + n_te + f0["purgedDates"] == T, "sets add up")
        check(f0["train"]["ranges"][0]["end"] < f0["validation"]["ranges"][0]["start"] <
              f0["test"]["ranges"][0]["start"], "time order")

        # walk-forward 252/21: every window listed, none leaks
        wf = json.load(open(os.path.join(SRC, "data", "examples", "walk_forward.json")))
        wf["dataConfig"]["dataset"] = DJ
        wfp = os.path.join(tmp, "wf.json")
        write(wfp, json.dumps(wf))
        rc, out, err = run("split", wfp, "--json")
        check(rc == 0, f"split walk_forward: {err}")
        sp = json.loads(out)
        check(len(sp["folds"]) == -(-(sp["dates"] - 252) // 21), f"{len(sp['folds'])} windows")
        for f in sp["folds"]:
            check(f["test"]["dates"] <= 21 and f["purgedDates"] == 2 * sp["purgeDays"],
                  f"window {f['fold']} test/purge")
            check(f["train"]["ranges"][-1]["end"] < f["validation"]["ranges"][0]["start"] and
                  f["validation"]["ranges"][-1]["end"] < f["test"]["ranges"][0]["start"],
                  f"window {f['fold']} order")

        # vfr prepare on planted bad rows: reported dropped, with reasons
        long_csv = os.path.join(tmp, "planted.csv")
        rows = ["date,symbol,f1,f2,f3,f4,f5,forward_return_1d"]
        base = np.datetime64("2020-01-01")
        for t in range(400):
            d = str(base + t)
            for s, sym in enumerate(["AAA", "BBB"]):
                f1 = "NaN" if (t % 40 == 3 and s == 0) else f"{(t * 7 + s) % 13 - 6}"
                ret = "0" if t % 40 == 5 else f"{0.01 if (t + s) % 3 else -0.01}"
                rows.append(f"{d},{sym},{f1},{t % 5},{s},{t % 7},{t % 3},{ret}")  # 1 NaN of 5: completeness 0.8
        write(long_csv, "\n".join(rows) + "\n")
        planted = os.path.join(tmp, "planted.h5")
        rc, _, err = run("pack", "--csv", long_csv, "--out", planted)
        check(rc == 0, f"pack planted: {err}")
        pj = os.path.join(tmp, "planted.json")
        write(pj, json.dumps({"jobId": "planted", "modelName": "m", "predictionHorizon": 1,
                              "dataConfig": {"dataset": planted, "minDates": 50, "minRows": 100}}))
        rc, out, err = run("prepare", pj, "--json")
        check(rc == 0, f"prepare planted: {err}")
        rep = json.loads(out)
        check(rep["droppedBy"]["non_finite_feature"] == 10, f"NaN rows dropped: {rep['droppedBy']}")
        check(rep["droppedBy"]["flat_move"] == 20, f"flat rows dropped: {rep['droppedBy']}")
        check(rep["rowsKept"] == 800 - 30, f"rows kept {rep['rowsKept']}")
        rc, out, _ = run("prepare", pj)
        check(rc == 0 and "non_finite_feature" in out and "flat_move" in out, "prepare text report")
        write(pj, json.dumps({"jobId": "planted", "modelName": "m", "predictionHorizon": 1,
                              "dataConfig": {"dataset": planted, "minRows": 100000}}))
        expect_bad(["prepare", pj], None, ["too little data", "minRows"])

        # synth: same seed, same bytes
        a, b = os.path.join(tmp, "a.h5"), os.path.join(tmp, "b.h5")
        for p in (a, b):
            rc, _, err = run("--quiet", "synth", "--symbols", "20", "--days", "60", "--features",
                             "6", "--seed", "7", "--out", p)
            check(rc == 0 and err == "", f"synth quiet: rc {rc} {err}")
        check(open(a, "rb").read() == open(b, "rb").read(), "synth is deterministic")
        rc, out, _ = run("inspect", a, "--json")
        check(json.loads(out)["rows"] == 1200, "synth rows")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"test_cli: {len(failures)} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
