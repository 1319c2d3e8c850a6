#!/usr/bin/env python3
"""tune_peer.py: the peer side of scripts/bench/tune.sh, and the report.

  tune_peer.py grid WORK JOBS ROUNDS   GridSearchCV(XGBClassifier) on vfr's folds,
                                       then a refit on the search's dates and the
                                       test AUC; prints one JSON line
  tune_peer.py tpe WORK JOBS ROUNDS    Optuna TPE (seeded) with its XGBoost pruning
                                       callback over xgb.cv on the same folds,
                                       early stopping 50, 24 trials; one JSON line
  tune_peer.py report WORK             both sides, the ratios

Rows and labels as vfr makes them (forward 1-day return > 0, flat moves and
rows with a missing feature dropped). Folds: the dates before the test period
(the last 15%), TimeSeriesSplit boundaries over dates, each training part
ending `purge` (1) date before its test block (docs/search.md). Peak memory is
this process's plus its largest child's (getrusage), in MB.
"""
import json
import resource
import sys
import time

import h5py
import numpy as np

GRID = {"learning_rate": [0.05, 0.1, 0.2], "max_depth": [3, 4, 5, 6], "subsample": [0.8, 1.0]}
K, PURGE = 5, 1


def load(work):
    with h5py.File(f"{work}/d.h5") as f:
        X = f["features"][:]
        date = f["date"][:]
        h = list(f["forward_return"].attrs["horizons"])
        ret = f["forward_return"][:, h.index(1)]
    keep = np.isfinite(ret) & (ret != 0) & np.all(np.isfinite(X), axis=1)
    X, date, y = X[keep], date[keep], (ret[keep] > 0).astype(np.int32)
    dates = np.unique(date)
    D = int(len(dates) * 0.85 + 0.5)  # dates before the test period
    didx = np.searchsorted(dates, date)
    ts = D // (K + 1)
    folds = []
    for k in range(K):
        a = D - (K - k) * ts
        folds.append((np.where(didx < a - PURGE)[0], np.where((didx >= a) & (didx < a + ts))[0]))
    return X, y, didx, D, folds


def rss_mb():
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss +
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def grid(work, jobs, rounds):
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GridSearchCV
    from xgboost import XGBClassifier
    X, y, didx, D, folds = load(work)
    est = XGBClassifier(n_estimators=rounds, tree_method="hist", max_bin=256, n_jobs=1, random_state=1)
    t0 = time.time()
    gs = GridSearchCV(est, GRID, cv=folds, scoring="roc_auc", n_jobs=jobs, refit=False).fit(X, y)
    t1 = time.time()
    best = int(np.argmax(gs.cv_results_["mean_test_score"]))
    params = gs.cv_results_["params"][best]
    # the final fit on the search's dates (train + validation), the test AUC
    tr, te = didx < D - PURGE, didx >= D
    final = XGBClassifier(n_estimators=rounds, tree_method="hist", max_bin=256, n_jobs=jobs, random_state=1,
                          **params).fit(X[tr], y[tr])
    auc = roc_auc_score(y[te], final.predict_proba(X[te])[:, 1])
    t2 = time.time()
    print(json.dumps({"search_s": t1 - t0, "whole_s": t2 - t0, "best": gs.cv_results_["mean_test_score"][best],
                      "sd": gs.cv_results_["std_test_score"][best], "params": params, "test_auc": auc,
                      "rows": int(len(y)), "rss_mb": rss_mb()}))


def tpe(work, jobs, rounds):
    import optuna
    import xgboost as xgb
    from optuna_integration import XGBoostPruningCallback
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y, didx, D, folds = load(work)
    rows = np.where(didx < D)[0]
    pos = np.full(len(y), -1)
    pos[rows] = np.arange(len(rows))
    cv_folds = [(pos[a], pos[b]) for a, b in folds]
    dtrain = xgb.DMatrix(X[rows], y[rows], nthread=jobs)

    def objective(trial):
        p = {"objective": "binary:logistic", "eval_metric": "auc", "tree_method": "hist", "max_bin": 256,
             "nthread": 1, "seed": 1,
             "eta": trial.suggest_categorical("learning_rate", GRID["learning_rate"]),
             "max_depth": trial.suggest_categorical("max_depth", GRID["max_depth"]),
             "subsample": trial.suggest_categorical("subsample", GRID["subsample"])}
        r = xgb.cv(p, dtrain, num_boost_round=rounds, folds=cv_folds, early_stopping_rounds=50,
                   callbacks=[XGBoostPruningCallback(trial, "test-auc")], verbose_eval=False)
        return float(r["test-auc-mean"].max())

    t0 = time.time()
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=1))
    study.optimize(objective, n_trials=24, n_jobs=jobs)
    t1 = time.time()
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    print(json.dumps({"search_s": t1 - t0, "best": study.best_value, "params": study.best_params,
                      "pruned": pruned, "optuna": optuna.__version__, "xgboost": xgb.__version__,
                      "rss_mb": rss_mb()}))


def report(work):
    def vtime(name):
        s, kb = open(f"{work}/{name}.time").read().split()
        return float(s), float(kb) / 1024
    g = json.load(open(f"{work}/peer-grid.json"))
    o = json.load(open(f"{work}/peer-tpe.json"))
    same = json.load(open(f"{work}/same.out"))
    tpe_ = json.load(open(f"{work}/tpe.out"))
    dfl = json.load(open(f"{work}/runs/bench-defaults/search.json"))
    met = json.load(open(f"{work}/runs/bench-defaults/metrics.json"))
    vauc = met["test"]["roc_auc"] if "test" in met else met["classification"]["roc_auc"]
    (s1, m1), (s2, m2), (s3, m3) = vtime("same"), vtime("defaults"), vtime("tpe")
    print(f"rows      {g['rows']} labelled")
    print("1. same work (24 x 5 x ROUNDS, no early stopping): vfr tune vs GridSearchCV(n_jobs=JOBS), search only")
    print(f"   vfr       {s1:8.1f} s  best AUC {same['bestScore']['mean']:.4f}  peak RSS {m1:6.0f} MB")
    print(f"   sklearn   {g['search_s']:8.1f} s  best AUC {g['best']:.4f}  peak RSS {g['rss_mb']:6.0f} MB (parent + largest child)")
    print(f"   ratio     sklearn / vfr wall {g['search_s'] / s1:.2f}x; |best AUC difference| "
          f"{abs(same['bestScore']['mean'] - g['best']):.4f}")
    print("2. vfr defaults (early stopping 50 + async successive halving), whole vfr train, vs the same GridSearchCV + refit + test")
    print(f"   vfr       {s2:8.1f} s  best CV AUC {dfl['bestScore']['mean']:.4f}  test AUC {vauc:.4f}  "
          f"models {dfl.get('modelsTrained')}  peak RSS {m2:6.0f} MB")
    print(f"   sklearn   {g['whole_s']:8.1f} s  best CV AUC {g['best']:.4f}  test AUC {g['test_auc']:.4f}")
    print(f"   ratio     sklearn / vfr wall {g['whole_s'] / s2:.2f}x (target >= 3); CV AUC difference "
          f"{dfl['bestScore']['mean'] - g['best']:+.4f} (target |.| <= 0.005); test AUC difference "
          f"{vauc - g['test_auc']:+.4f} (target |.| <= 0.01)")
    print("3. TPE, 24 trials, early stopping 50: vfr bayesian vs Optuna TPE + XGBoostPruningCallback (xgb.cv)")
    print(f"   vfr       {s3:8.1f} s  best AUC {tpe_['bestScore']['mean']:.4f}  peak RSS {m3:6.0f} MB")
    print(f"   optuna    {o['search_s']:8.1f} s  best AUC {o['best']:.4f}  ({o['pruned']} pruned; optuna {o['optuna']}, "
          f"xgboost {o['xgboost']})  peak RSS {o['rss_mb']:6.0f} MB")
    print(f"   ratio     optuna / vfr wall {o['search_s'] / s3:.2f}x; best AUC difference "
          f"{tpe_['bestScore']['mean'] - o['best']:+.4f}")


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "report":
        report(sys.argv[2])
    else:
        {"grid": grid, "tpe": tpe}[mode](sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
