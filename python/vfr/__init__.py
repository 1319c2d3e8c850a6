"""vfr: Python access to vfr's C library (libvfr.so) through ctypes.

    import vfr
    ds = vfr.Dataset("panel.h5")
    X = ds.read("2015-01-01", "2015-12-31")          # numpy arrays
    run = vfr.train(job_dict, out_dir="runs/a")      # the same run as `vfr train`
    run.metrics_frame(); run.predictions(); run.search()   # pandas

Every call goes to libvfr; nothing is computed again in Python. A failure is
raised as VfrError, which carries vfr's status code, its name and message.
The module holds no global state beyond the loaded library. Calls block the
calling thread; the library is not interrupted by Ctrl-C.
"""
import ctypes
import datetime as _dt
import json
import os

import numpy as np

from . import _lib as L

__all__ = ["VfrError", "Dataset", "Run", "train", "tune", "predict", "read_predictions", "resolve_job"]
__version__ = "0.1.0"

_EPOCH = np.datetime64("1970-01-01", "D")
_INT32_MIN = -(2 ** 31)
_INT32_MAX = 2 ** 31 - 1


class VfrError(Exception):
    """A vfr call failed. status: the vfr_status code (int); code: its name
    ("INVALID_PARAMETERS", "NOT_FOUND", ...); message: vfr's detail."""

    def __init__(self, status, message):
        self.status = int(status)
        self.code = L.vfr_status_str(status).decode()
        self.message = message
        super().__init__(f"{self.code}: {message}")


def _check(st):
    if st != 0:
        msg = (L.vfr_last_error() or b"").decode("utf-8", "replace")
        L.vfr_error_clear()
        raise VfrError(st, msg)


def _b(s):
    return None if s is None else os.fsencode(s)


def _days(d, what):
    """A date as days since 1970-01-01: "YYYY-MM-DD", datetime.date or numpy.datetime64."""
    if isinstance(d, (_dt.date, np.datetime64)):
        d = str(np.datetime64(d, "D"))
    if not isinstance(d, str):
        raise TypeError(f"{what}: expected a date, got {type(d).__name__}")
    out = ctypes.c_int32()
    _check(L.vfr_date_parse(d.encode(), ctypes.byref(out)))
    return out.value


def _device(name):
    out = ctypes.c_int()
    _check(L.vfr_device_parse(name.encode(), ctypes.byref(out)))
    return out.value


def _strings(ptr, n):
    return [ptr[i].decode() for i in range(n)]


class Dataset:
    """An open vfr dataset (HDF5, docs/dataset-format.md). Opening validates
    the index; feature values are read only by date range. Use as a context
    manager or call close()."""

    def __init__(self, path):
        self.path = os.fspath(path)
        h = ctypes.c_void_p()
        _check(L.vfr_dataset_open(_b(self.path), ctypes.byref(h)))
        self._h = h
        m = L.vfr_dataset_meta_get(h).contents
        self.n_rows = m.N
        self.feature_names = _strings(m.feature_names, m.F)
        self.symbols = _strings(m.symbols, m.S)
        self.horizons = [m.horizons[i] for i in range(m.H)]
        self.n_dates = m.T
        self.first_date = _EPOCH + np.timedelta64(m.date_first, "D")
        self.last_date = _EPOCH + np.timedelta64(m.date_last, "D")
        self.has_close = bool(m.has_close)

    def close(self):
        if self._h:
            L.vfr_dataset_close(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def __repr__(self):
        return (f"vfr.Dataset({self.path!r}: {self.n_rows} rows, {len(self.feature_names)} features, "
                f"{len(self.symbols)} symbols, {self.first_date}..{self.last_date})")

    def read(self, start=None, end=None):
        """Rows whose date lies in [start, end] (inclusive; None: open end) as
        a dict of numpy arrays: date (datetime64[D], [n]), symbol (str, [n]),
        features (float32, [n, F]), forward_returns (float32, [n, H]) and, when
        the dataset has it, close (float32, [n])."""
        if not self._h:
            raise ValueError("vfr.Dataset: closed")
        lo = _INT32_MIN if start is None else _days(start, "start")
        hi = _INT32_MAX if end is None else _days(end, "end")
        r0, r1 = ctypes.c_int64(), ctypes.c_int64()
        L.vfr_dataset_row_range(self._h, lo, hi, ctypes.byref(r0), ctypes.byref(r1))
        r0, r1 = r0.value, r1.value
        n = r1 - r0
        m = L.vfr_dataset_meta_get(self._h).contents
        date = np.ctypeslib.as_array(m.date, shape=(self.n_rows,))[r0:r1].astype("int64")
        sym = np.ctypeslib.as_array(m.symbol, shape=(self.n_rows,))[r0:r1] if n else np.zeros(0, "int32")
        out = {"date": _EPOCH + date.astype("timedelta64[D]"),
               "symbol": np.asarray(self.symbols, dtype=object)[sym] if n else np.zeros(0, dtype=object),
               "features": np.empty((n, len(self.feature_names)), dtype=np.float32),
               "forward_returns": np.empty((n, len(self.horizons)), dtype=np.float32)}
        if n:
            _check(L.vfr_dataset_read_features(self._h, r0, r1, out["features"].ctypes.data))
            if self.horizons:
                _check(L.vfr_dataset_read_forward_returns(self._h, r0, r1, out["forward_returns"].ctypes.data))
        if self.has_close:
            out["close"] = np.empty(n, dtype=np.float32)
            if n:
                _check(L.vfr_dataset_read_close(self._h, r0, r1, out["close"].ctypes.data))
        return out

    def frame(self, start=None, end=None):
        """read() as a pandas DataFrame indexed by (date, symbol): one column
        per feature and fwd_<h>d per horizon."""
        import pandas as pd
        r = self.read(start, end)
        df = pd.DataFrame(r["features"], columns=self.feature_names)
        for j, h in enumerate(self.horizons):
            df[f"fwd_{h}d"] = r["forward_returns"][:, j]
        if "close" in r:
            df["close"] = r["close"]
        df.index = pd.MultiIndex.from_arrays([r["date"], r["symbol"]], names=["date", "symbol"])
        return df


class _Job:
    """A loaded vfr_job from a dict (validated by libvfr) or a job file path."""

    def __init__(self, job, base_dir):
        h = ctypes.c_void_p()
        if isinstance(job, dict):
            base = os.path.abspath(base_dir or os.getcwd())
            # The name is used in messages and its folder resolves a relative dataset path.
            name = os.path.join(base, "<job dict>")
            _check(L.vfr_job_parse(_b(name), json.dumps(job).encode(), ctypes.byref(h)))
        elif isinstance(job, (str, os.PathLike)):
            _check(L.vfr_job_load(_b(job), ctypes.byref(h)))
        else:
            raise TypeError("job: a dict or a job file path")
        self.h = h

    def resolved(self):
        p = L.vfr_job_to_json(self.h)
        if not p:
            raise MemoryError("vfr_job_to_json")
        try:
            return json.loads(ctypes.string_at(p).decode())
        finally:
            L.libc.free(p)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        L.vfr_job_free(self.h)


def resolve_job(job, base_dir=None):
    """The job validated and resolved by libvfr (every default filled in), as
    a dict: what `vfr job show` prints. Bad keys raise VfrError
    (INVALID_PARAMETERS) naming the key."""
    with _Job(job, base_dir) as j:
        return j.resolved()


def train(job, out_dir=None, runs_dir=None, base_dir=None, device="auto", threads=0, jobs=1,
          registry_dir=None):
    """Runs a job as `vfr train` does (prepare, split, search when the job has
    one, fit, predict, evaluate, compare) and returns the Run of its folder.
    job: a dict with the job file's keys, or a job file path. out_dir: the run
    folder (default: runs_dir/<jobId>, runs_dir default "runs"). base_dir: the
    folder a relative dataset path in a job dict is read from (default: the
    current folder). device: "auto" | "cpu" | "cuda"."""
    with _Job(job, base_dir) as j:
        o = L.TrainOptions(runs_dir=_b(runs_dir), out_dir=_b(out_dir), device=_device(device),
                           nthread=threads, jobs=jobs, registry_dir=_b(registry_dir))
        r = L.TrainResult()
        _check(L.vfr_train_run(j.h, ctypes.byref(o), ctypes.byref(r)))
        if r.metrics_json:
            L.libc.free(r.metrics_json)
        run = Run(r.run_dir.decode())
        run.registered = r.registered.decode() or None
        run.deployed = bool(r.deployed)
        return run


def tune(job, run_dir, base_dir=None, device="auto", threads=0, jobs=1, resume=False):
    """Runs (or, with resume, resumes) the job's hyperparameter search as
    `vfr tune` does, logging to run_dir/trials.jsonl and writing
    run_dir/search.json. Returns search.json's content as a dict."""
    with _Job(job, base_dir) as j:
        os.makedirs(run_dir, exist_ok=True)
        o = L.TuneOptions(run_dir=_b(run_dir), jobs=max(1, jobs), nthread=threads, resume=int(bool(resume)),
                          n_shards=1, device=_device(device))
        r = L.TuneResult()
        _check(L.vfr_tune_run(j.h, ctypes.byref(o), ctypes.byref(r)))
        try:
            return json.loads(r.search_json.decode())
        finally:
            L.vfr_tune_result_free(ctypes.byref(r))


def predict(model, data, out, registry=None, start=None, end=None, lookback=0):
    """Scores a dataset's rows with a registered model, as `vfr predict`:
    model is NAME (the champion, with the A/B test's routing), NAME@champion,
    NAME@challenger or NAME:VERSION; data a vfr dataset; out the predictions
    file to write. start/end: inclusive dates, either may be None (open);
    both None: the dataset's last date.
    registry: the registry folder (default $VFR_REGISTRY or ./vfr-registry).
    Returns the predictions as a DataFrame (read_predictions(out))."""
    reg = ctypes.c_void_p()
    rdir = registry if registry is not None else L.vfr_registry_default_dir().decode()
    _check(L.vfr_registry_open(_b(rdir), 0, ctypes.byref(reg)))
    try:
        o = L.PredictOptions(ref=model.encode(), data_path=_b(data), out_path=_b(out), lookback=lookback,
                             date_lo=_INT32_MIN if start is None else _days(start, "start"),
                             date_hi=_INT32_MIN if end is None and start is None
                             else _INT32_MAX if end is None else _days(end, "end"))
        r = L.PredictResult()
        _check(L.vfr_registry_predict(reg, ctypes.byref(o), ctypes.byref(r)))
    finally:
        L.vfr_registry_close(reg)
    return read_predictions(out)


def read_predictions(path, set="all"):
    """A predictions file (docs/predictions-format.md) as a DataFrame: date,
    symbol, one column per score vector (its stored name), label, fwd, fwd1,
    set (train/validation/test) where present. set filters the rows."""
    import pandas as pd
    code = ctypes.c_int()
    _check(L.vfr_predictions_set_parse(set.encode(), ctypes.byref(code)))
    p = ctypes.POINTER(L.Predictions)()
    _check(L.vfr_predictions_read(_b(path), code.value, ctypes.byref(p)))
    try:
        q = p.contents
        n = q.N

        def arr(ptr, shape):
            return np.ctypeslib.as_array(ptr, shape=shape).copy() if (ptr and n) else None

        symbols = np.asarray(_strings(q.symbols, q.S), dtype=object)
        date = arr(q.date, (n,))
        cols = {"date": _EPOCH + (date if date is not None else np.zeros(0, "int32")).astype("timedelta64[D]"),
                "symbol": symbols[arr(q.symbol, (n,))] if n else np.zeros(0, dtype=object)}
        score = arr(q.score, (q.M, n))
        for i in range(q.M):
            name = q.score_names[i].decode() if q.score_names else ("score" if q.M == 1 else f"score_{i}")
            cols[name] = score[i] if score is not None else np.zeros(0, np.float32)
        for name, ptr in (("label", q.label), ("fwd", q.fwd), ("fwd1", q.fwd1)):
            a = arr(ptr, (n,))
            if a is not None:
                cols[name] = a
        s = arr(q.set, (n,))
        if s is not None:
            names = {k: L.vfr_predictions_set_name(k).decode() for k in (0, 1, 2)}
            cols["set"] = pd.Categorical([names[int(v)] for v in s], categories=list(names.values()))
        return pd.DataFrame(cols)
    finally:
        L.vfr_predictions_free(p)


class Run:
    """A run folder (docs/run-folder.md) read back: metrics, predictions,
    search results, log and manifest."""

    def __init__(self, path):
        self.path = os.fspath(path)
        if not os.path.isfile(os.path.join(self.path, "metrics.json")):
            raise VfrError(2, f"{self.path}: not a run folder (no metrics.json)")  # 2 = NOT_FOUND
        self.registered = None
        self.deployed = False

    def __repr__(self):
        return f"vfr.Run({self.path!r})"

    def _json(self, name):
        with open(os.path.join(self.path, name)) as f:
            return json.load(f)

    @property
    def metrics(self):
        """metrics.json as a dict."""
        return self._json("metrics.json")

    @property
    def job(self):
        return self._json("job.json")

    @property
    def manifest(self):
        return self._json("manifest.json")

    def metrics_frame(self):
        """The scalar metrics as a Series indexed by (section, name): test,
        validation, and backtest.<strategy> (model, buy_and_hold, ...)."""
        import pandas as pd
        m = self.metrics
        rows = {}
        for section in ("test", "validation"):
            for k, v in (m.get(section) or {}).items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    rows[(section, k)] = float(v)
        bt = m.get("backtest") or {}
        for strat, vals in bt.items():
            if isinstance(vals, dict):
                for k, v in vals.items():
                    if isinstance(v, (int, float)) and not isinstance(v, bool):
                        rows[(f"backtest.{strat}", k)] = float(v)
        s = pd.Series(rows, dtype="float64")
        s.index.names = ["section", "metric"]
        return s

    def predictions(self, set="all"):
        """predictions.h5 as a DataFrame (read_predictions)."""
        return read_predictions(os.path.join(self.path, "predictions.h5"), set)

    def search(self):
        """The search's trials (trials.jsonl) as a DataFrame, one row per
        trial x fold; None when the run had no search."""
        import pandas as pd
        p = os.path.join(self.path, "trials.jsonl")
        if not os.path.isfile(p):
            return None
        with open(p) as f:
            recs = [json.loads(line) for line in f if line.strip()]
        return pd.DataFrame.from_records(recs)

    def search_result(self):
        """search.json as a dict (best params, scores, every trial); None without a search."""
        p = os.path.join(self.path, "search.json")
        return self._json("search.json") if os.path.isfile(p) else None

    def log(self):
        """log.jsonl as a DataFrame (ts, level, cmd, msg)."""
        import pandas as pd
        with open(os.path.join(self.path, "log.jsonl")) as f:
            return pd.DataFrame.from_records([json.loads(line) for line in f if line.strip()])
