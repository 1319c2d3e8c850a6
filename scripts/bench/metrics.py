#!/usr/bin/env python3
"""metrics.py: vfr's CPU backtest against numpy and vectorbt (run by metrics.sh).

Scores M strategies (default 1,000 score vectors) over S symbols x T dates
(default 100 x 2,520, a full panel) with top_k (k=5) and long_short_sign, 5 bps
on turnover, daily cohorts (horizon 1):

1. full backtest (scores -> positions -> daily returns -> all financial
   metrics): `vfr backtest` (its compute time, from --json) against the numpy
   reference of scripts/fixtures/make_metrics_fixtures.py (backtest_numpy +
   return_stats_numpy) on the same inputs; the metrics must agree;
2. return statistics only (Sharpe, Sortino, max drawdown, Calmar) of the same
   daily returns [T x M]: `vfr backtest --returns` against vectorbt's
   returns accessor (numba; compiled before timing) and the numpy reference.

Each timing is the best of --repeat runs. Prints a table and, with --json,
one JSON object. Needs numpy and h5py; vectorbt is optional (skipped with a
note when missing).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
import make_metrics_fixtures as ref  # noqa: E402

FIN = ref.FIN_KEYS


def best_of(n, fn):
    """(best wall seconds, best CPU seconds of this process, fn's result)."""
    best, cpu, out = float("inf"), float("inf"), None
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best = min(best, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return best, cpu, out


def vfr(bin_, *args):
    p = subprocess.run([bin_, "--quiet", "--device", "cpu", *args], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"vfr {' '.join(args)} failed ({p.returncode}): {p.stderr}")
    return json.loads(p.stdout)


def vfr_best(bin_, repeat, *args):
    """(best compute wall seconds, best compute CPU seconds, first JSON)."""
    runs = [vfr(bin_, *args) for _ in range(repeat)]
    return (min(r["timing"]["compute_seconds"] for r in runs),
            min(r["timing"]["compute_cpu_seconds"] for r in runs), runs[0])


def make_inputs(M, S, T, seed):
    """Scores with a weak planted signal (strategy-specific noise), float32."""
    rng = np.random.default_rng(seed)
    r1 = (rng.standard_t(4, (T, S)) * 0.012).astype(np.float32)
    fwd = r1
    beta = rng.uniform(0.0, 0.3, M).astype(np.float32)
    score = np.empty((M, T, S), dtype=np.float32)
    for m in range(M):
        score[m] = beta[m] * r1 / 0.012 + rng.standard_normal((T, S), dtype=np.float32)
    return score, r1, fwd


def write_predictions(path, score, r1, fwd):
    M, T, S = score.shape
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "vfr-predictions"
        f.attrs["format_version"] = np.int32(1)
        f.attrs["horizon"] = np.int32(1)
        f.attrs["task"] = "regression"
        f["symbols"] = np.array([f"S{i:04d}" for i in range(S)], dtype="S")
        f["date"] = np.repeat(np.arange(T, dtype=np.int32) + 14000, S)
        f["symbol"] = np.tile(np.arange(S, dtype=np.int32), T)
        f["score"] = score.reshape(M, T * S)
        f["label"] = fwd.reshape(-1)
        f["forward_return"] = fwd.reshape(-1)
        f["forward_return_1"] = r1.reshape(-1)


def numpy_backtest(score, r1, fwd, strategy, k, cost_bps, chunk):
    """The fixture script's reference over all strategies, in chunks (memory)."""
    M = score.shape[0]
    r1d, fwdd = r1.astype(np.float64), fwd.astype(np.float64)
    out = {key: np.empty(M) for key in FIN}
    daily = np.empty((M, score.shape[1]))
    for a in range(0, M, chunk):
        b = min(M, a + chunk)
        d, dacc, turn, expo, _ = ref.backtest_numpy(score[a:b].astype(np.float64), r1d, fwdd, strategy,
                                                 k, 0.0, 1, cost_bps)
        st = ref.return_stats_numpy(d)
        st["directional_accuracy"], st["turnover"], st["exposure"] = dacc, turn, expo
        for key in FIN:
            out[key][a:b] = st[key]
        daily[a:b] = d
    return out, daily


def agree(vfr_json, ref_metrics, keys, rtol=1e-6, atol=1e-10):
    worst, bad = 0.0, 0
    for i, s in enumerate(vfr_json["strategies"]):
        for key in keys:
            g, w = s["metrics"][key], ref_metrics[key][i]
            g = float("nan") if g is None else g
            if np.isnan(g) and np.isnan(w):
                continue
            err = abs(g - w) / (atol + rtol * abs(w))
            worst = max(worst, float(err))
            bad += int(err > 1)
    return bad, worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vfr", default=os.environ.get("VFR_BIN", "build/vfr"))
    ap.add_argument("--strategies", type=int, default=1000)
    ap.add_argument("--symbols", type=int, default=100)
    ap.add_argument("--dates", type=int, default=2520)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--cost-bps", type=float, default=5.0)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=50, help="numpy strategies per chunk (memory)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    M, S, T = a.strategies, a.symbols, a.dates
    res = {"M": M, "S": S, "T": T, "k": a.k, "cost_bps": a.cost_bps, "horizon": 1,
           "cpu": os.cpu_count(), "numpy": np.__version__,
           "load_average_before": os.getloadavg()[0]}
    tmp = tempfile.mkdtemp(prefix="vfr-bench-")
    pred = os.path.join(tmp, "pred.h5")
    try:
        score, r1, fwd = make_inputs(M, S, T, a.seed)
        write_predictions(pred, score, r1, fwd)
        for strat in ("top_k", "long_short_sign"):
            out = os.path.join(tmp, f"{strat}.h5")
            t_vfr, c_vfr, j = vfr_best(a.vfr, a.repeat, "backtest", "--predictions", pred,
                                       "--strategy", strat, "--k", str(a.k), "--cost-bps",
                                       str(a.cost_bps), "--horizon", "1", "--json", "--out", out)
            t_np, c_np, (ref_m, ref_daily) = best_of(1, lambda: numpy_backtest(
                score, r1, fwd, strat, a.k, a.cost_bps, a.chunk))
            bad, worst = agree(j, ref_m, FIN)
            with h5py.File(out) as f:
                daily = f["daily_return"][:]                    # [M, T], vfr's
            # --- return statistics only, on vfr's daily returns ---
            t_vfr_stats, c_vfr_stats, js = vfr_best(a.vfr, a.repeat, "backtest", "--returns", out,
                                                    "--json")
            t_np_stats, c_np_stats, _ = best_of(a.repeat, lambda: ref.return_stats_numpy(daily))
            row = {"vfr_backtest_s": t_vfr, "numpy_backtest_s": t_np,
                   "speedup_vs_numpy": t_np / t_vfr,
                   "vfr_backtest_cpu_s": c_vfr, "numpy_backtest_cpu_s": c_np,
                   "cpu_time_ratio_vs_numpy": c_np / c_vfr, "mismatches_vs_numpy": bad,
                   "worst_error_in_tolerances": worst,
                   "max_abs_daily_diff": float(np.max(np.abs(daily - ref_daily))),
                   "vfr_stats_s": t_vfr_stats, "numpy_stats_s": t_np_stats,
                   "vfr_stats_cpu_s": c_vfr_stats, "numpy_stats_cpu_s": c_np_stats}
            try:
                import pandas as pd
                import vectorbt as vbt

                df = pd.DataFrame(daily.T, index=pd.bdate_range("2010-01-04", periods=T))
                settings = dict(freq="1D", year_freq="252D")

                def vbt_stats():
                    acc = df.vbt.returns(**settings)
                    return (acc.sharpe_ratio().values, acc.sortino_ratio().values,
                            acc.max_drawdown().values, acc.calmar_ratio().values)

                vbt_stats()  # numba compiles on the first call: not timed
                t_vbt, c_vbt, (sh, so, mdd, cal) = best_of(a.repeat, vbt_stats)
                mine = {key: np.array([np.nan if s["metrics"][key] is None else s["metrics"][key]
                                       for s in js["strategies"]]) for key in FIN}
                row.update(vectorbt=vbt.__version__, vectorbt_stats_s=t_vbt,
                           speedup_vs_vectorbt=t_vbt / t_vfr_stats, vectorbt_stats_cpu_s=c_vbt,
                           cpu_time_ratio_vs_vectorbt=c_vbt / c_vfr_stats,
                           sharpe_max_rel_diff=float(np.nanmax(np.abs(sh / mine["sharpe"] - 1))),
                           sortino_max_rel_diff=float(np.nanmax(np.abs(so / mine["sortino"] - 1))),
                           # vectorbt's peak starts at day 1's close, vfr's at the
                           # starting capital: they differ when day 1 is a loss
                           max_drawdown_equal_share=float(np.mean(np.isclose(-mdd, mine["max_drawdown"],
                                                                             rtol=1e-9, atol=0))))
            except ImportError as e:
                row["vectorbt"] = f"not installed ({e.name}): compared with numpy only"
            res[strat] = row
    finally:
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    if a.json:
        res["load_average_after"] = os.getloadavg()[0]
        print(json.dumps(res, indent=1, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
        return
    res["load_average_after"] = os.getloadavg()[0]
    print(f"M={M} strategies x {S} symbols x {T} dates, k={a.k}, {a.cost_bps} bps, horizon 1, "
          f"{res['cpu']} CPUs (load average {res['load_average_before']:.1f} before, "
          f"{res['load_average_after']:.1f} after)")
    for strat in ("top_k", "long_short_sign"):
        r = res[strat]
        print(f"\n{strat}")
        print(f"  full backtest  vfr {r['vfr_backtest_s']:.3f} s   numpy {r['numpy_backtest_s']:.2f} s"
              f"   -> {r['speedup_vs_numpy']:.1f}x wall, {r['cpu_time_ratio_vs_numpy']:.1f}x CPU time"
              f"   (metrics outside 1e-6: {r['mismatches_vs_numpy']},"
              f" max |daily diff| {r['max_abs_daily_diff']:.1e})")
        line = f"  stats only     vfr {r['vfr_stats_s']*1e3:.1f} ms   numpy {r['numpy_stats_s']*1e3:.1f} ms"
        if "vectorbt_stats_s" in r:
            line += (f"   vectorbt {r['vectorbt_stats_s']*1e3:.1f} ms -> {r['speedup_vs_vectorbt']:.1f}x wall,"
                     f" {r['cpu_time_ratio_vs_vectorbt']:.1f}x CPU time"
                     f"   (Sharpe rel diff {r['sharpe_max_rel_diff']:.1e}, Sortino {r['sortino_max_rel_diff']:.1e},"
                     f" same max drawdown {100*r['max_drawdown_equal_share']:.0f}%)")
        else:
            line += f"   vectorbt: {r['vectorbt']}"
        print(line)


if __name__ == "__main__":
    main()
