"""_lib.py: loads libvfr.so and declares the C functions and structs the module uses.

Only ctypes: no compiled extension. The structs below mirror include/vfr/*.h
field for field; tests/test_python.py exercises each one against real files,
so a header change that is not carried over here fails the test. Nothing here
is public API: use the functions of vfr/__init__.py.
"""
import ctypes
import ctypes.util
import os

c_char_p = ctypes.c_char_p
c_int = ctypes.c_int
c_int32 = ctypes.c_int32
c_int64 = ctypes.c_int64
c_double = ctypes.c_double
c_void_p = ctypes.c_void_p
POINTER = ctypes.POINTER


def _load():
    """VFR_LIB (a path) first, then the loader's search path (libvfr.so.0)."""
    path = os.environ.get("VFR_LIB")
    if path:
        return ctypes.CDLL(path)
    for name in ("libvfr.so.0", ctypes.util.find_library("vfr")):
        if not name:
            continue
        try:
            return ctypes.CDLL(name)
        except OSError:
            pass
    raise ImportError("vfr: libvfr.so not found: install vfr (cmake --install) where the loader finds it, "
                      "or set VFR_LIB=/path/to/libvfr.so")


lib = _load()
libc = ctypes.CDLL(None)
libc.free.argtypes = [c_void_p]
libc.free.restype = None


class DatasetMeta(ctypes.Structure):  # vfr_dataset_meta (dataset.h)
    _fields_ = [("N", c_int64), ("F", c_int32), ("S", c_int32), ("H", c_int32), ("T", c_int32),
                ("date_first", c_int32), ("date_last", c_int32),
                ("feature_names", POINTER(c_char_p)), ("symbols", POINTER(c_char_p)),
                ("horizons", POINTER(c_int32)), ("date", POINTER(c_int32)), ("symbol", POINTER(c_int32)),
                ("has_close", c_int), ("quality_mask", ctypes.c_uint)]


class TrainOptions(ctypes.Structure):  # vfr_train_options (train.h)
    _fields_ = [("runs_dir", c_char_p), ("out_dir", c_char_p), ("device", c_int), ("nthread", c_int),
                ("jobs", c_int), ("resume", c_int), ("champion", c_void_p), ("registry_dir", c_char_p),
                ("reporter", c_void_p), ("stop", c_void_p)]


class TrainResult(ctypes.Structure):  # vfr_train_result (train.h)
    _fields_ = [("run_dir", ctypes.c_char * 4096), ("registered", ctypes.c_char * 320), ("deployed", c_int),
                ("metrics_json", c_void_p)]


class TuneOptions(ctypes.Structure):  # vfr_tune_options (tune.h)
    _fields_ = [("run_dir", c_char_p), ("jobs", c_int), ("nthread", c_int), ("resume", c_int),
                ("shard", c_int), ("n_shards", c_int), ("device", c_int), ("reporter", c_void_p),
                ("stop", c_void_p)]


class TuneResult(ctypes.Structure):  # vfr_tune_result (tune.h)
    _fields_ = [("best_params_json", c_char_p), ("best_mean", c_double), ("best_sd", c_double),
                ("best_trial", c_int32), ("best_rounds", c_int32), ("trials_evaluated", c_int64),
                ("sharpe_variance", c_double), ("search_json", c_char_p)]


class PredictOptions(ctypes.Structure):  # vfr_registry_predict_options (registry.h)
    _fields_ = [("ref", c_char_p), ("data_path", c_char_p), ("date_lo", c_int32), ("date_hi", c_int32),
                ("lookback", c_int32), ("out_path", c_char_p), ("cache", c_void_p)]


class PredictResult(ctypes.Structure):  # vfr_registry_predict_result (registry.h)
    _fields_ = [("rows", c_int64), ("n_versions", c_int32), ("versions", (ctypes.c_char * 32) * 2),
                ("rows_by_version", c_int64 * 2), ("traffic", c_double), ("date_lo", c_int32),
                ("date_hi", c_int32)]


class Predictions(ctypes.Structure):  # vfr_predictions (predictions.h)
    _fields_ = [("N", c_int64), ("M", c_int32), ("S", c_int32), ("T", c_int32), ("horizon", c_int32),
                ("task", c_int), ("symbols", POINTER(c_char_p)), ("score_names", POINTER(c_char_p)),
                ("date", POINTER(c_int32)), ("symbol", POINTER(c_int32)), ("date_offset", POINTER(c_int64)),
                ("score", POINTER(ctypes.c_float)), ("label", POINTER(ctypes.c_float)),
                ("fwd", POINTER(ctypes.c_float)), ("fwd1", POINTER(ctypes.c_float)),
                ("set", POINTER(ctypes.c_int8)), ("backtest", ctypes.c_void_p), ("bt_store", ctypes.c_void_p)]


def _fn(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


vfr_status_str = _fn("vfr_status_str", c_char_p, c_int)
vfr_last_error = _fn("vfr_last_error", c_char_p)
vfr_error_clear = _fn("vfr_error_clear", None)
vfr_device_parse = _fn("vfr_device_parse", c_int, c_char_p, POINTER(c_int))
vfr_date_parse = _fn("vfr_date_parse", c_int, c_char_p, POINTER(c_int32))

vfr_dataset_open = _fn("vfr_dataset_open", c_int, c_char_p, POINTER(c_void_p))
vfr_dataset_close = _fn("vfr_dataset_close", None, c_void_p)
vfr_dataset_meta_get = _fn("vfr_dataset_meta_get", POINTER(DatasetMeta), c_void_p)
vfr_dataset_row_range = _fn("vfr_dataset_row_range", None, c_void_p, c_int32, c_int32,
                            POINTER(c_int64), POINTER(c_int64))
vfr_dataset_read_features = _fn("vfr_dataset_read_features", c_int, c_void_p, c_int64, c_int64, c_void_p)
vfr_dataset_read_forward_returns = _fn("vfr_dataset_read_forward_returns", c_int, c_void_p, c_int64, c_int64,
                                       c_void_p)
vfr_dataset_read_close = _fn("vfr_dataset_read_close", c_int, c_void_p, c_int64, c_int64, c_void_p)

vfr_job_load = _fn("vfr_job_load", c_int, c_char_p, POINTER(c_void_p))
vfr_job_parse = _fn("vfr_job_parse", c_int, c_char_p, c_char_p, POINTER(c_void_p))
vfr_job_free = _fn("vfr_job_free", None, c_void_p)
vfr_job_to_json = _fn("vfr_job_to_json", c_void_p, c_void_p)

vfr_train_run = _fn("vfr_train_run", c_int, c_void_p, POINTER(TrainOptions), POINTER(TrainResult))
vfr_tune_run = _fn("vfr_tune_run", c_int, c_void_p, POINTER(TuneOptions), POINTER(TuneResult))
vfr_tune_result_free = _fn("vfr_tune_result_free", None, POINTER(TuneResult))

vfr_registry_default_dir = _fn("vfr_registry_default_dir", c_char_p)
vfr_registry_open = _fn("vfr_registry_open", c_int, c_char_p, c_int, POINTER(c_void_p))
vfr_registry_close = _fn("vfr_registry_close", None, c_void_p)
vfr_registry_predict = _fn("vfr_registry_predict", c_int, c_void_p, POINTER(PredictOptions),
                           POINTER(PredictResult))

vfr_predictions_read = _fn("vfr_predictions_read", c_int, c_char_p, c_int, POINTER(POINTER(Predictions)))
vfr_predictions_free = _fn("vfr_predictions_free", None, POINTER(Predictions))
vfr_predictions_set_parse = _fn("vfr_predictions_set_parse", c_int, c_char_p, POINTER(c_int))
vfr_predictions_set_name = _fn("vfr_predictions_set_name", c_char_p, c_int)
