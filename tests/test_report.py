#!/usr/bin/env python3
"""test_report.py: `vfr report`, the run report (docs/report.md), as a reviewer reads it.

Run folders are made with the built vfr ($VFR_BIN) on small synthetic data:
a holdout XGBoost run on a long-CSV dataset whose path and symbols hold odd
names (quotes, <script>, unicode), a run with a search block, a walk-forward
run and a regression run. Each report is parsed with html.parser and checked:

- every section and chart is there (SVG ids and classes of docs/report.md),
  with the model's and buy-and-hold's equity and drawdown paths;
- every number or string tagged data-key="file:path" equals that value of the
  run folder's file to the printed precision: metrics.json's test metrics,
  backtest, importance order, manifest, quality.json, split.json, search.json,
  comparison.json; the ROC chart's AUC and the IC chart's mean IC / rank IC
  are computed by the report from predictions.h5 and must match metrics.json;
- odd names are escaped: no raw <script> anywhere, the text reads back as the
  original, and the page has no script, no external URL and no fetch;
- the file is under 2 MB; without comparison.json the decision box says so;
  with the one vfr train (or vfr compare) writes, and with a fixture in
  docs/comparison.md's shape plus a registry.json, it shows the decision,
  p-values, PSR, DSR and the registry version and alias;
- regression runs leave ROC, calibration and confusion out with a note;
- what a reviewer reads right (issue 14): the backtest table scrolls rather
  than being cut off, with net exposure, beta and alpha (t) when
  comparison.json has them, and the hit-rate p over dates in place of the
  binomial p (an older comparison.json still renders); a one-symbol run says
  why it has no IC instead of drawing empty charts; the fold scores are dots on
  a marked cut axis, not bars; the best round is 1-based, "round N of M", as
  the log says it; every series has its own colour and dash.

`test_report.py --render` (ctest test_report_render) also renders the page in
headless Chromium and checks that the screenshot is not blank; it exits 77
(skipped) where no chromium is installed (scripts/setup.sh installs it with
VFR_SETUP_BROWSER=1 or in CI).
"""
import html.parser
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

try:
    import h5py
    import numpy as np
except ImportError:
    print("test_report: numpy/h5py not installed, skipped")
    sys.exit(77)

VFR = os.environ.get("VFR_BIN", "build/vfr")
ODD_SYMBOL = '<script>alert("x")</script>'
UNICODE_SYMBOL = "Ünïcødé"
ODD_DIR = "odd 'dir' \"q\" <b>&amp; Ü"
failures = []
checked = {"n": 0}


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def run(*args, cwd=None, timeout=600):
    p = subprocess.run([VFR, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


# ---- the page as a tree of elements -------------------------------------------

VOID = {"br", "meta", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"}


class Element:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children, self.parts = [], []

    def text(self):
        out = []
        for p in self.parts:
            out.append(p.text() if isinstance(p, Element) else p)
        return "".join(out)

    def iter(self):
        yield self
        for c in self.children:
            yield from c.iter()

    def find_all(self, tag=None, cls=None, **attrs):
        for e in self.iter():
            if tag and e.tag != tag:
                continue
            if cls and cls not in e.attrs.get("class", "").split():
                continue
            if all(e.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                yield e

    def by_id(self, id_):
        return next(self.find_all(id=id_), None)


class Tree(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", [], None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        e = Element(tag, attrs, self.cur)
        self.cur.children.append(e)
        self.cur.parts.append(e)
        if tag not in VOID:
            self.cur = e

    def handle_startendtag(self, tag, attrs):
        e = Element(tag, attrs, self.cur)
        self.cur.children.append(e)
        self.cur.parts.append(e)

    def handle_endtag(self, tag):
        e = self.cur
        while e is not self.root and e.tag != tag:
            e = e.parent
        if e is not self.root:
            self.cur = e.parent

    def handle_data(self, data):
        self.cur.parts.append(data)


def parse(path):
    raw = open(path, "rb").read()
    t = Tree()
    t.feed(raw.decode("utf-8"))
    t.close()
    return raw, t.root


# ---- data-key checks ----------------------------------------------------------------


def resolve(doc, path):
    v = doc
    for seg in path.split("."):
        if isinstance(v, list):
            v = v[int(seg)]
        else:
            v = v[seg]
    return v


def close_to_printed(text, value):
    """value rounds to text at text's printed precision."""
    t = text.strip()
    m = re.fullmatch(r"(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?", t)
    if not m:
        return False
    dec = len(m.group(3) or "")
    exp = int(m.group(4) or 0)
    tol = 0.5 * 10 ** (exp - dec) * (1 + 1e-9) + 1e-12 * abs(value)
    return abs(float(t) - value) <= tol


def check_keys(root, rd, name, required=()):
    files = {}
    for f in ("job", "manifest", "metrics", "quality", "split", "search", "comparison", "registry"):
        p = os.path.join(rd, f + ".json")
        if os.path.exists(p):
            files[f] = json.load(open(p))
    seen = set()
    for e in root.find_all():
        key = e.attrs.get("data-key")
        if not key:
            continue
        seen.add(key)
        f, _, path = key.partition(":")
        if not check(f in files, f"{name}: {key}: no {f}.json in the run folder"):
            continue
        try:
            v = resolve(files[f], path)
        except (KeyError, IndexError, ValueError, TypeError):
            check(False, f"{name}: {key} is not in {f}.json")
            continue
        text = e.text()
        checked["n"] += 1
        if "data-offset" in e.attrs and isinstance(v, (int, float)):  # a 0-based index printed 1-based
            v = v + float(e.attrs["data-offset"])
        if "data-value" in e.attrs:
            check(e.attrs["data-value"] == json.dumps(v), f"{name}: {key} = {e.attrs['data-value']}, file {v}")
        elif isinstance(v, bool) or v is None:
            check(False, f"{name}: {key} printed {text!r} for {v!r}")
        elif isinstance(v, (int, float)):
            check(close_to_printed(text, v), f"{name}: {key} printed {text!r}, file has {v!r}")
        else:
            check(text == v, f"{name}: {key} printed {text!r}, file has {v!r}")
    for k in required:
        check(k in seen, f"{name}: the report prints {k}")
    return seen


def series_points(path_el):
    return len(re.findall(r"[ML]", path_el.attrs.get("d", "")))


# ---- the checks of one report -------------------------------------------------------


def common_checks(name, rd, out, cls=True):
    check(os.path.getsize(out) < 2 * 1024 * 1024, f"{name}: report is {os.path.getsize(out)} bytes, want < 2 MB")
    raw, root = parse(out)
    low = raw.lower()
    check(b"<script" not in low, f"{name}: the page holds a <script")
    check(not re.search(rb"javascript:|\son[a-z]+\s*=|<iframe|<link|<img|@import|url\(", low),
          f"{name}: the page has no event handlers, links, images or url() fetches")
    urls = set(re.findall(rb"https?://[^\"' <>]+", raw))
    check(urls <= {b"http://www.w3.org/2000/svg"}, f"{name}: external URLs {urls}")
    check(b"Content-Security-Policy" in raw, f"{name}: a CSP forbids scripts and fetches")
    check(b'<meta charset="utf-8">' in raw, f"{name}: declares UTF-8")
    for sid in ("header", "decision", "performance", "classifier", "signal", "features", "tables"):
        check(root.by_id(sid) is not None, f"{name}: section #{sid}")
    for tid in ("table-steps", "table-metrics", "table-financial", "table-quality", "table-split"):
        check(root.by_id(tid) is not None and root.by_id(tid).tag == "table", f"{name}: table #{tid}")
    metrics = json.load(open(os.path.join(rd, "metrics.json")))
    T = metrics["testPeriod"]["dates"]

    # equity and drawdown of the model and buy-and-hold; rolling Sharpe
    eq = root.by_id("chart-equity")
    check(eq is not None and eq.tag == "svg", f"{name}: svg#chart-equity")
    if eq is not None:
        for panel in ("equity-panel", "drawdown-panel"):
            g = eq.by_id(panel)
            names = {p.attrs.get("data-series") for p in g.find_all("path", cls="series")} if g else set()
            check({"model", "buy_and_hold"} <= names, f"{name}: {panel} draws model and buy_and_hold ({names})")
            for p in (g.find_all("path", cls="series") if g else []):
                check(series_points(p) >= min(T, 50) // 2, f"{name}: {panel} {p.attrs.get('data-series')} has points")
    rs = root.by_id("chart-rolling-sharpe")
    check(rs is not None, f"{name}: #chart-rolling-sharpe")
    if rs is not None and T >= 63:
        check(len(list(rs.find_all("path", cls="series"))) >= 2, f"{name}: rolling Sharpe lines")

    # daily IC and rank IC with the means of metrics.json
    ic = root.by_id("chart-ic")
    check(ic is not None and ic.tag == "svg", f"{name}: svg#chart-ic")
    # the baselines are told apart by line style too: model and buy_and_hold
    # solid, each other baseline dashed, no two series with the same colour and dash
    if eq is not None:
        g = eq.by_id("equity-panel")
        styles = {p.attrs.get("data-series"): (p.attrs.get("stroke"), p.attrs.get("stroke-dasharray"))
                  for p in (g.find_all("path", cls="series") if g else [])}
        check(styles.get("model", (0, 0))[1] is None and styles.get("buy_and_hold", (0, 0))[1] is None,
              f"{name}: model and buy_and_hold solid")
        check(all(d is not None for n, (c, d) in styles.items() if n not in ("model", "buy_and_hold")),
              f"{name}: the other baselines dashed: {styles}")
        check(len(set(styles.values())) == len(styles), f"{name}: one style per series: {styles}")
    # the backtest table scrolls sideways rather than being cut off
    fin = root.by_id("table-financial")
    check(fin is not None and fin.parent is not None and "scroll" in fin.parent.attrs.get("class", ""),
          f"{name}: the backtest table sits in a scrolling box")
    if ic is not None:
        keys = {e.attrs.get("data-key") for e in ic.find_all() if e.attrs.get("data-key")}
        check({"metrics:test.ic", "metrics:test.rank_ic"} <= keys, f"{name}: IC chart prints the mean IC and rank IC")
        check(ic.by_id("ic-panel") is not None and ic.by_id("rank-ic-panel") is not None, f"{name}: IC panels")

    # top features by importance, in order
    imp = root.by_id("chart-importance")
    check(imp is not None, f"{name}: svg#chart-importance")
    if imp is not None:
        fi = metrics["featureImportance"]
        order = sorted(range(len(fi)), key=lambda i: (-fi[i]["importance"], i))[:20]
        want = [fi[i]["feature"] for i in order]
        got = [t.text() for t in imp.find_all("text", cls="bar-label")]
        check(got == want, f"{name}: importance bars {got} want {want}")
        check(len(list(imp.find_all("rect", cls="bar"))) == len(want), f"{name}: one bar per feature")

    if cls:
        for cid in ("chart-roc", "chart-calibration", "chart-confusion"):
            check(root.by_id(cid) is not None and root.by_id(cid).tag == "svg", f"{name}: svg#{cid}")
        roc = root.by_id("chart-roc")
        if roc is not None:
            keys = {e.attrs.get("data-key") for e in roc.find_all() if e.attrs.get("data-key")}
            check("metrics:test.roc_auc" in keys, f"{name}: ROC chart prints the AUC")
            curve = [p for p in roc.find_all("path", cls="series") if p.attrs.get("data-series") == "roc"]
            check(curve and series_points(curve[0]) > 20, f"{name}: ROC curve has points")
        cal = root.by_id("chart-calibration")
        if cal is not None:
            check(len(list(cal.find_all("circle"))) == 10, f"{name}: calibration has 10 bins")
        conf = root.by_id("chart-confusion")
        if conf is not None:
            keys = {e.attrs.get("data-key") for e in conf.find_all() if e.attrs.get("data-key")}
            check({"metrics:test.tp", "metrics:test.fp", "metrics:test.tn", "metrics:test.fn"} <= keys,
                  f"{name}: confusion matrix cells")
        check(root.by_id("note-regression") is None, f"{name}: no regression note on a classification run")
    else:
        check(root.by_id("note-regression") is not None, f"{name}: regression note")
        for cid in ("chart-roc", "chart-calibration", "chart-confusion"):
            check(root.by_id(cid) is None, f"{name}: no #{cid} on a regression run")

    task_keys = (["metrics:test.roc_auc", "metrics:test.accuracy", "metrics:test.log_loss"] if cls
                 else ["metrics:test.rmse", "metrics:test.r2", "metrics:test.mae"])
    required = task_keys + ["metrics:test.ic", "metrics:test.rank_ic", "metrics:backtest.model.sharpe",
                            "metrics:backtest.buyAndHold.max_drawdown", "manifest:dataset.sha256",
                            "manifest:dataset.path", "manifest:dataset.dateFirst", "manifest:dataset.dateLast",
                            "manifest:vfrVersion", "manifest:device.used", "manifest:stepSeconds.fit",
                            "quality:rowsKept", "split:folds.0.test.ranges.0.start", "metrics:testPeriod.start"]
    check_keys(root, rd, name, required)
    return raw, root


# ---- the data ---------------------------------------------------------------------------


def odd_dataset(tmp):
    """A long CSV (date, symbol, features, forward_return_1d) from a synthetic
    panel, with odd symbol names, packed into a folder with an odd name."""
    ds = os.path.join(tmp, "synth.h5")
    rc, _, err = run("--quiet", "synth", "--symbols", "10", "--days", "420", "--features", "6",
                     "--seed", "5", "--horizons", "1", "--out", ds)
    check(rc == 0, f"synth: {err}")
    with h5py.File(ds) as f:
        X = f["features"][:]
        fn = [s.decode() if isinstance(s, bytes) else str(s) for s in f["feature_names"][:]]
        syms = [s.decode() if isinstance(s, bytes) else str(s) for s in f["symbols"][:]]
        sym = f["symbol"][:]
        date = f["date"][:]
        fwd = f["forward_return"][:, 0]
    syms[0], syms[1] = ODD_SYMBOL, UNICODE_SYMBOL
    d = os.path.join(tmp, ODD_DIR)
    os.makedirs(d)
    csv = os.path.join(d, "panel.csv")
    days = np.datetime64("1970-01-01") + date.astype("timedelta64[D]")
    with open(csv, "w", encoding="utf-8") as out:
        out.write("date,symbol," + ",".join(fn) + ",forward_return_1d\n")
        for i in range(len(date)):
            vals = ",".join("" if math.isnan(v) else repr(float(v)) for v in X[i])
            r = "" if math.isnan(fwd[i]) else repr(float(fwd[i]))
            out.write(f"{days[i]},{syms[sym[i]]},{vals},{r}\n")
    h5 = os.path.join(d, "panel <é>.h5")
    rc, _, err = run("--quiet", "pack", "--csv", csv, "--out", h5, "--horizons", "1")
    check(rc == 0, f"pack --csv with odd names: {err}")
    return h5


def write_job(path, dataset, job_id, **over):
    j = {"jobId": job_id, "modelName": "report_model", "modelType": "xgboost",
         "targetVariable": "price_direction_1d",
         "dataConfig": {"dataset": dataset, "minDates": 50, "minRows": 500},
         "trainingConfig": {"hyperparameters": {"max_depth": 3, "learning_rate": 0.1,
                                                "n_estimators": 60, "nthread": 2},
                            "earlyStoppingRounds": 10, "seed": 7},
         "split": {"method": "holdout"}}
    j.update(over)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(j, f, ensure_ascii=False)
    return path


def train(tmp, runs, dataset, job_id, **over):
    jp = write_job(os.path.join(tmp, job_id + ".json"), dataset, job_id, **over)
    rc, _, err = run("--quiet", "train", jp, "--runs", runs)
    check(rc == 0, f"train {job_id}: {err}")
    return os.path.join(runs, job_id)


def report(rd, out=None):
    args = ["--quiet", "report", rd] + (["--out", out] if out else [])
    rc, so, err = run(*args)
    out = out or os.path.join(rd, "report.html")
    check(rc == 0, f"vfr report {rd}: exit {rc}: {err}")
    check(so.strip() == out, f"vfr report prints the page's path: {so!r}")
    return out


COMPARISON = {
    "testPeriod": None, "horizon": 1, "trialsEvaluated": 1, "trialSharpeVariance": None,
    "modelPerformance": {"sharpe": 1.32, "directional_accuracy": 0.514, "max_drawdown": 0.093},
    "psr": 0.9912345, "dsr": 0.9712345,
    "modelExposure": {"net": 0.4213, "gross": 1.0, "beta": 0.5234, "alpha": 0.1412, "alphaT": 1.8312},
    "baselines": [
        {"name": "buy_and_hold", "available": True, "note": "",
         "performance": {"sharpe": 0.05, "total_return": -0.01},
         "improvement": {"sharpe": {"absolute": 1.27, "relative": 23.2}},
         "statisticalSignificance": {"pValue": 0.0123456, "confidenceInterval": [0.00011, 0.00093],
                                     "level": 0.95, "method": "paired t-test"},
         "bootstrap": {"sharpeDifference": 1.2734, "confidenceInterval": [0.2, 2.4], "level": 0.95,
                       "resamples": 2000, "meanBlock": 10},
         "exposure": {"net": 1.0, "gross": 1.0, "beta": 1.0, "alpha": 0.0, "alphaT": None},
         "hitRate": {"accuracy": 0.514, "baselineRate": 0.484, "dates": 341, "pValue": 0.0312345,
                     "pValueGreater": 0.0156, "method": "t-test over 341 test dates of the daily hit rate <x>"}},
        {"name": "momentum", "available": True, "note": "",
         "performance": {"sharpe": 0.41, "total_return": 0.07, "max_drawdown": 0.12},
         "improvement": {"sharpe": {"absolute": 0.91, "relative": 2.2}},
         "statisticalSignificance": {"pValue": 0.21, "confidenceInterval": [-0.0002, 0.0007],
                                     "level": 0.95, "method": "paired t-test"},
         "bootstrap": {"sharpeDifference": 0.9, "confidenceInterval": [-0.3, 2.0], "level": 0.95,
                       "resamples": 2000, "meanBlock": 10},
         "exposure": {"net": 0.0312, "gross": 1.0, "beta": -0.1234, "alpha": 0.0412, "alphaT": 1.7654},
         "hitRate": {"accuracy": 0.514, "baselineRate": 0.5, "dates": 341, "pValue": 0.08,
                     "pValueGreater": 0.04, "method": "t-test over 341 test dates of the daily hit rate <x>"}},
        {"name": "sma_crossover", "available": False, "note": "no close prices <in> the \"dataset\"",
         "performance": None, "improvement": None, "statisticalSignificance": None,
         "bootstrap": None, "binomial": None},
    ],
    "decision": {"shouldDeploy": True, "against": "buy_and_hold",
                 "reason": "deployed: Sharpe 1.32 is 2320% above buy_and_hold's 0.05 <b>&</b>",
                 "checks": [{"name": "sharpe_improvement", "value": 23.2, "threshold": 0.2, "passed": True},
                            {"name": "deflated_sharpe", "value": 0.9712345, "threshold": 0.95, "passed": True}]},
}


def main_checks(tmp):
    runs = os.path.join(tmp, "runs")
    h5 = odd_dataset(tmp)

    # 1. holdout on the odd dataset
    rd = train(tmp, runs, h5, "odd-run")
    out = report(rd)
    raw, root = common_checks("holdout", rd, out)
    man = json.load(open(os.path.join(rd, "manifest.json")))
    check(ODD_SYMBOL in man["dataset"]["symbols"] and UNICODE_SYMBOL in man["dataset"]["symbols"],
          "the odd symbols reached the manifest")
    check(ODD_SYMBOL.encode() not in raw, "the <script> symbol is escaped")
    check(b"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in raw, "the <script> symbol appears escaped")
    sym_el = root.by_id("symbols")
    text = sym_el.text() if sym_el is not None else ""
    check(ODD_SYMBOL in text and UNICODE_SYMBOL in text, f"symbols read back as written: {text[:200]!r}")
    check(UNICODE_SYMBOL.encode() in raw, "unicode written as UTF-8")
    check(ODD_DIR in root.text(), "the odd dataset path reads back as written")
    check(("<b>&amp; Ü").encode() not in raw, "the dataset path is escaped")
    title = next(root.find_all("title"), None)
    check(title is not None and "odd-run" in title.text(), "page title names the job")
    # the comparison vfr train (or vfr compare) wrote: decision, p-values, PSR, DSR
    if not os.path.exists(os.path.join(rd, "comparison.json")):
        rc, _, err = run("--quiet", "compare", rd)
        check(rc == 0, f"vfr compare: {err}")
        out = report(rd)
        raw, root = common_checks("vfr compare", rd, out)
    if os.path.exists(os.path.join(rd, "comparison.json")):
        check_keys(root, rd, "vfr compare", ["comparison:psr", "comparison:dsr", "comparison:decision.shouldDeploy",
                                             "comparison:decision.reason",
                                             "comparison:baselines.0.statisticalSignificance.pValue"])
        check(root.by_id("table-baselines") is not None, "decision box: baselines table")

    # without comparison.json, the decision box says so
    un = os.path.join(tmp, "uncompared")
    shutil.copytree(rd, un)
    if os.path.exists(os.path.join(un, "comparison.json")):
        os.remove(os.path.join(un, "comparison.json"))
    _, uroot = common_checks("uncompared", un, report(un))
    dec = uroot.by_id("decision")
    check(dec is not None and "undecided" in dec.attrs.get("class", "") and "Not compared" in dec.text(),
          "without comparison.json the decision box says it is not compared")
    check(root.by_id("search") is None and root.by_id("windows") is None, "holdout: no search or windows section")

    # --out, and the same bytes from the same folder
    out2 = report(rd, os.path.join(tmp, "copy.html"))
    check(open(out2, "rb").read() == raw, "--out writes the same page")

    # 2. a comparison.json fixture (docs/comparison.md) and a registry.json
    rc_dir = os.path.join(tmp, "compared")
    shutil.copytree(rd, rc_dir)
    cmp = dict(COMPARISON)
    m = json.load(open(os.path.join(rd, "metrics.json")))
    cmp["testPeriod"] = {k: m["testPeriod"][k] for k in ("start", "end", "dates")}
    json.dump(cmp, open(os.path.join(rc_dir, "comparison.json"), "w"))
    json.dump({"modelName": "report_model", "version": "1.2.3", "alias": "champion <x>",
               "registeredAt": "2026-01-02T03:04:05Z"}, open(os.path.join(rc_dir, "registry.json"), "w"))
    out = report(rc_dir)
    raw, root = common_checks("compared", rc_dir, out)
    check_keys(root, rc_dir, "compared",
               ["comparison:decision.shouldDeploy", "comparison:decision.reason", "comparison:psr",
                "comparison:dsr", "comparison:baselines.0.statisticalSignificance.pValue",
                "comparison:baselines.1.statisticalSignificance.pValue", "comparison:baselines.0.hitRate.pValue",
                "comparison:baselines.1.hitRate.pValue", "comparison:baselines.1.performance.sharpe",
                "comparison:modelExposure.beta", "comparison:modelExposure.alpha",
                "comparison:modelExposure.alphaT", "comparison:baselines.1.exposure.beta",
                "comparison:baselines.1.exposure.alphaT", "registry:version", "registry:alias"])
    bt = root.by_id("table-baselines")
    check(bt is not None and "hit-rate p" in bt.text() and "binomial" not in bt.text(),
          "the baselines table shows the hit-rate p over dates, not the binomial p")
    fin = root.by_id("table-financial")
    rows = {next(r.find_all("td")).text(): r for r in (fin.find_all("tr", cls="exposure") if fin else [])}
    # net exposure is a column of the backtest's own table (metrics.json net_exposure)
    net = [r for r in (fin.find_all("tr") if fin else []) if next(r.find_all("td"), None) is not None
           and next(r.find_all("td")).text() == "net_exposure"]
    check({"beta to buy_and_hold", "alpha, annualised (t, HAC)"} <= set(rows) and len(net) == 1,
          f"exposure rows in the backtest table: {set(rows)}, net_exposure rows {len(net)}")
    # and a comparison.json of before hitRate and exposure still renders, with the binomial p
    old = json.loads(json.dumps(cmp))
    old.pop("modelExposure")
    for b in old["baselines"]:
        b.pop("exposure", None)
        b["binomial"] = {"accuracy": 0.514, "baselineRate": 0.484, "pValue": 0.00123} if b.pop("hitRate", None) else None
    json.dump(old, open(os.path.join(rc_dir, "comparison.json"), "w"))
    _, oroot = common_checks("compared (old keys)", rc_dir, report(rc_dir))
    bt = oroot.by_id("table-baselines")
    check(bt is not None and "binomial p" in bt.text(), "an older comparison.json: the binomial p")
    check_keys(oroot, rc_dir, "compared (old keys)", ["comparison:baselines.0.binomial.pValue"])
    dec = root.by_id("decision")
    check(dec is not None and "deploy" in dec.attrs.get("class", "").split(), "decision box: deploy")
    check(root.by_id("table-baselines") is not None and root.by_id("table-decision-checks") is not None,
          "decision box: baseline and check tables")
    check(b"champion &lt;x&gt;" in raw and b"&lt;b&gt;&amp;&lt;/b&gt;" in raw, "registry and reason escaped")

    # 3. a search block
    synth = os.path.join(tmp, "synth.h5")
    search = {"method": "grid_search", "nFolds": 2, "scoringMetric": "auc",
              "space": {"learning_rate": [0.1, 0.3], "max_depth": [2, 3]}, "seed": 1}
    rd = train(tmp, runs, synth, "searched", search=search)
    out = report(rd)
    raw, root = common_checks("search", rd, out)
    s = json.load(open(os.path.join(rd, "search.json")))
    check(root.by_id("search") is not None, "search: section")
    tr = root.by_id("chart-search-trials")
    check(tr is not None, "search: svg#chart-search-trials")
    if tr is not None:
        pts = next(tr.find_all("g", cls="trials"), None)
        check(pts is not None and len(list(pts.find_all("circle"))) == len(s["allResults"]),
              "search: one point per trial")
        check(any(p.attrs.get("data-series") == "running best" for p in tr.find_all("path")), "search: running best")
    params = root.by_id("chart-search-params")
    got = {g.attrs.get("data-param") for g in params.find_all("g") if g.attrs.get("data-param")} if params else set()
    check(got == {"learning_rate", "max_depth"}, f"search: a scatter per varied parameter ({got})")
    folds = root.by_id("chart-search-folds")
    dots = next(folds.find_all("g", cls="folds"), None) if folds is not None else None
    check(dots is not None and len(list(dots.find_all("circle"))) == 2, "search: the best trial's 2 folds, as dots")
    check(folds is not None and next(folds.find_all("path", cls="bars"), None) is None,
          "search: no bars on an axis that does not start at 0")
    fold_scores = [f["score"] for f in s["allResults"][s["bestTrial"]]["folds"]]
    if folds is not None and min(fold_scores) > 0:
        check(next(folds.find_all("g", cls="axis-break"), None) is not None, "search: the cut axis is marked")
    # the best round as the log says it: 1-based, "round N of M"
    man = json.load(open(os.path.join(rd, "manifest.json")))
    desc = man["model"]["description"]
    hdr = root.by_id("header")
    check(hdr is not None and f"round {desc['bestRound'] + 1} of {desc['roundsTrained']}" in hdr.text(),
          f"search: best round 1-based, round N of M ({desc['bestRound']}, {desc['roundsTrained']})")
    check_keys(root, rd, "search", ["search:bestScore.mean", "search:bestTrial", "search:trialsEvaluated"])
    check(root.by_id("best-params") is not None, "search: best parameters in the header")

    # 4. walk-forward: the metric per window
    rd = train(tmp, runs, synth, "walked", modelType="linear",
               trainingConfig={"hyperparameters": {"C": 1.0}},
               split={"method": "walk_forward", "windowSize": 150, "stepSize": 60})
    out = report(rd)
    raw, root = common_checks("walk-forward", rd, out)
    sp = json.load(open(os.path.join(rd, "split.json")))
    win = root.by_id("chart-windows")
    check(win is not None, "walk-forward: svg#chart-windows")
    if win is not None:
        check(win.parent.attrs.get("data-folds") == str(len(sp["folds"])), "walk-forward: one window per fold")
        for g in win.find_all("g", cls="windows"):
            check(len(list(g.find_all("circle"))) == len(sp["folds"]), "walk-forward: a point per window")
    rows = root.by_id("table-split").find_all("tr")
    check(len(list(rows)) == len(sp["folds"]) + 1, "walk-forward: a split row per fold")

    # 5. one symbol: no IC (it needs 2 names a date), and a note saying so
    one = os.path.join(tmp, "one.h5")
    rc, _, err = run("--quiet", "synth", "--symbols", "1", "--days", "600", "--features", "5", "--seed", "3",
                     "--horizons", "1", "--out", one)
    check(rc == 0, f"synth one symbol: {err}")
    rd = train(tmp, runs, one, "one-symbol", dataConfig={"dataset": one, "minDates": 50, "minRows": 100,
                                                          "minSymbols": 1})
    if os.path.exists(os.path.join(rd, "metrics.json")):
        out = report(rd)
        raw, root = parse(out)
        ic = root.by_id("chart-ic")
        check(ic is not None and ic.tag == "p" and "at least 2 names" in ic.text(),
              f"one symbol: a note instead of empty IC charts ({ic.tag if ic is not None else None})")
        check(root.by_id("ic-panel") is None, "one symbol: no IC panels")

    # 6. regression
    rd = train(tmp, runs, synth, "regressed", targetVariable="return_1d",
               trainingConfig={"hyperparameters": {"max_depth": 2, "n_estimators": 30, "nthread": 2},
                               "earlyStoppingRounds": 5, "seed": 1})
    out = report(rd)
    common_checks("regression", rd, out, cls=False)

    # not a run folder: exit 2 and a message; nothing written
    rc, _, err = run("report", tmp, "--out", os.path.join(tmp, "none.html"))
    check(rc == 2 and "metrics.json" in err, f"report of a non-run folder: exit {rc}, {err.strip()}")
    check(not os.path.exists(os.path.join(tmp, "none.html")), "nothing written for a non-run folder")
    rc, _, err = run("report")
    check(rc == 2, f"report without RUN_DIR: exit {rc}")
    print(f"test_report: {checked['n']} printed values checked against the run folders")


# ---- rendering ----------------------------------------------------------------------


def png_pixels(path, max_rows=1600):
    """(width, rows, bytes per pixel, pixel rows) of an 8-bit RGB(A) PNG:
    Pillow when present, else a small decoder of the first max_rows rows."""
    try:
        from PIL import Image
        im = Image.open(path).convert("RGB")
        w, h = im.size
        data = im.tobytes()
        return w, h, 3, [data[r * w * 3:(r + 1) * w * 3] for r in range(h)]
    except ImportError:
        pass
    raw = open(path, "rb").read()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, hdr = 8, [], None
    while pos < len(raw):
        n, kind = struct.unpack(">I4s", raw[pos:pos + 8])
        body = raw[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + n
    w, h, depth, ctype = hdr[0], hdr[1], hdr[2], hdr[3]
    assert depth == 8 and ctype in (2, 6) and hdr[6] == 0, f"PNG type {ctype}/{depth}"
    bpp = 3 if ctype == 2 else 4
    d = zlib.decompressobj()
    data = d.decompress(b"".join(idat), (w * bpp + 1) * min(h, max_rows))
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for r in range(min(h, max_rows)):
        f, line = data[r * (stride + 1)], bytearray(data[r * (stride + 1) + 1:(r + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, len(rows), bpp, rows


def render_checks(page, tmp):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        print("test_report: chromium not installed (scripts/setup.sh with VFR_SETUP_BROWSER=1), render skipped")
        return 77
    shot = os.path.join(tmp, "shot.png")
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--enable-logging=stderr", "--v=0", f"--user-data-dir={os.path.join(tmp, 'chromium')}",
           f"--screenshot={shot}", "--window-size=1280,4000", "file://" + os.path.abspath(page)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    check(p.returncode == 0, f"chromium exit {p.returncode}: {p.stderr[-2000:]}")
    blocked = [l for l in p.stderr.splitlines() if "Refused to" in l or "Uncaught" in l]
    check(not blocked, f"chromium console: {blocked[:3]}")
    check(os.path.exists(shot) and os.path.getsize(shot) > 10000, "chromium wrote a screenshot")
    if not os.path.exists(shot):
        return 1
    w, h, bpp, rows = png_pixels(shot)
    colours, blue, nonwhite, total = set(), 0, 0, 0
    for r in range(0, h, 2):
        row = rows[r]
        for i in range(0, w * bpp, bpp * 2):
            px = row[i:i + 3]
            colours.add(px)
            total += 1
            nonwhite += px != b"\xff\xff\xff"
            # the model's blue (#1f77b4) of the equity curve, ROC and bars
            blue += abs(px[0] - 31) < 12 and abs(px[1] - 119) < 12 and abs(px[2] - 180) < 12
    print(f"test_report: screenshot {w}x{h}: {len(colours)} colours, {nonwhite / total:.1%} not white, "
          f"{blue} blue samples")
    check(w == 1280, f"screenshot width {w}")
    check(len(colours) > 50, f"screenshot has {len(colours)} colours: blank?")
    check(nonwhite / total > 0.05, f"screenshot is {nonwhite / total:.1%} non-white: blank?")
    check(blue > 200, f"the model's blue lines and bars are drawn ({blue} samples)")
    return 0


def main():
    render = "--render" in sys.argv[1:]
    tmp = tempfile.mkdtemp(prefix="vfr-report-")
    rc = 0
    try:
        if render and not (shutil.which("chromium") or shutil.which("chromium-browser")):
            print("test_report: chromium not installed (scripts/setup.sh with VFR_SETUP_BROWSER=1), skipped")
            return 77
        if render:  # one run is enough to render: the odd names, holdout
            rd = train(tmp, os.path.join(tmp, "runs"), odd_dataset(tmp), "odd-run")
            page = report(rd)
            if not failures:
                rc = render_checks(page, tmp)
        else:
            main_checks(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"test_report: {len(failures)} check(s) failed", file=sys.stderr)
        return 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
