/* compare.c: baselines, statistics and the deploy decision (compare.h).
 *
 * Everything is computed on the run's test rows (predictions.h5, set test):
 * the model's daily returns are recomputed with the job's backtest, each
 * baseline's positions go through the same backtest, and the statistics
 * (stats.h) compare daily return series date by date. Close prices for the
 * price baselines come from the job's dataset, read over a window that ends
 * at the last test date and starts early enough for the longest lookback. */
#include "vfr/compare.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"
#include "util.h"
#include "vfr/backtest.h"
#include "vfr/dataset.h"
#include "vfr/predictions.h"
#include "vfr/prepare.h"
#include "vfr/stats.h"

static const char *const all_baselines[] = {"buy_and_hold", "sma_crossover", "momentum",
                                            "majority_class", "champion"};
#define NB 5

/* ---- positions ------------------------------------------------------------- */

void vfr_baseline_sma(const float *close, int64_t T, int32_t fast, int32_t slow, int allow_short,
                      float *pos)
{
    double sf = 0, ss = 0;
    for (int64_t t = 0; t < T; t++) {
        sf += close[t];
        ss += close[t];
        if (t >= fast)
            sf -= close[t - fast];
        if (t >= slow)
            ss -= close[t - slow];
        if (t + 1 < slow) {
            pos[t] = NAN;
            continue;
        }
        double a = sf / fast, b = ss / slow;
        pos[t] = a > b ? 1.0f : allow_short ? -1.0f : 0.0f;
    }
}

void vfr_baseline_momentum(const float *close, int64_t T, int32_t n, float *pos)
{
    for (int64_t t = 0; t < T; t++) {
        if (t < n) {
            pos[t] = NAN;
            continue;
        }
        double r = (double)close[t] / close[t - n] - 1.0;
        pos[t] = r > 0 ? 1.0f : r < 0 ? -1.0f : 0.0f;
    }
}

/* ---- the rule ---------------------------------------------------------------- */

static double rel(double a, double b)
{
    if (fabs(b) > 1e-12)
        return (a - b) / fabs(b);
    return a > b ? INFINITY : a < b ? -INFINITY : 0.0;
}

void vfr_compare_decide(const vfr_job *job, const vfr_decision_inputs *in, vfr_decision *out)
{
    memset(out, 0, sizeof *out);
    double imp = rel(in->sharpe, in->base_sharpe), gain = in->accuracy - in->base_accuracy;
    vfr_decision_check *c = out->checks;
    c[0] = (vfr_decision_check){"sharpe_improvement", imp, job->baseline.min_sharpe_improvement,
                                imp > job->baseline.min_sharpe_improvement};
    c[1] = (vfr_decision_check){"directional_accuracy_gain", gain, job->baseline.min_accuracy_gain,
                                gain > job->baseline.min_accuracy_gain};
    c[2] = (vfr_decision_check){"p_value", in->p_value, job->baseline.max_p_value,
                                in->p_value < job->baseline.max_p_value && in->mean_diff > 0};
    c[3] = (vfr_decision_check){"sharpe", in->sharpe, job->baseline.min_sharpe,
                                in->sharpe > job->baseline.min_sharpe};
    c[4] = (vfr_decision_check){"max_drawdown", -in->max_drawdown, job->baseline.max_drawdown,
                                -in->max_drawdown > job->baseline.max_drawdown};
    c[5] = (vfr_decision_check){"deflated_sharpe", in->dsr, job->baseline.min_dsr,
                                in->dsr > job->baseline.min_dsr};
    out->should_deploy = 1;
    for (int k = 0; k < VFR_DECISION_CHECKS; k++)
        if (!c[k].passed || isnan(c[k].value))
            out->should_deploy = c[k].passed = 0;
    /* one clause per check, in words, with its numbers */
    char cl[VFR_DECISION_CHECKS][256];
    snprintf(cl[0], 256, "Sharpe %.2f vs %s %.2f is %+.0f%% (needs > %+.0f%%)", in->sharpe, in->against,
             in->base_sharpe, 100 * imp, 100 * job->baseline.min_sharpe_improvement);
    snprintf(cl[1], 256, "directional accuracy %.1f%% vs %.1f%% is %+.1f points (needs > %+.1f)",
             100 * in->accuracy, 100 * in->base_accuracy, 100 * gain, 100 * job->baseline.min_accuracy_gain);
    snprintf(cl[2], 256, "p-value %.3g%s (needs < %.3g%s)", in->p_value,
             in->mean_diff > 0 ? "" : " with a negative mean difference", job->baseline.max_p_value,
             " and a positive mean difference");
    snprintf(cl[3], 256, "Sharpe %.2f (needs > %.2f)", in->sharpe, job->baseline.min_sharpe);
    snprintf(cl[4], 256, "max drawdown %.1f%% (needs better than %.1f%%)", -100 * in->max_drawdown,
             100 * job->baseline.max_drawdown);
    snprintf(cl[5], 256, "Deflated Sharpe %.3f (needs > %.3f)", in->dsr, job->baseline.min_dsr);
    size_t o = 0;
    if (out->should_deploy) {
        o += (size_t)snprintf(out->reason + o, sizeof out->reason - o, "deploy: every check passed: ");
        for (int k = 0; k < VFR_DECISION_CHECKS && o < sizeof out->reason; k++)
            o += (size_t)snprintf(out->reason + o, sizeof out->reason - o, "%s%s", k ? "; " : "", cl[k]);
    } else {
        o += (size_t)snprintf(out->reason + o, sizeof out->reason - o, "not deployed: ");
        int n = 0;
        for (int k = 0; k < VFR_DECISION_CHECKS && o < sizeof out->reason; k++)
            if (!c[k].passed)
                o += (size_t)snprintf(out->reason + o, sizeof out->reason - o, "%s%s", n++ ? "; " : "", cl[k]);
        if (o < sizeof out->reason)
            snprintf(out->reason + o, sizeof out->reason - o, " (against %s)", in->against);
    }
}

/* ---- reading the run --------------------------------------------------------- */

static cJSON *read_json(const char *dir, const char *name, int required, vfr_status *st)
{
    char path[4300], *buf;
    size_t len;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (vfr_read_file(path, &buf, &len) != 0) {
        if (required)
            *st = vfr_fail(VFR_ERR_NOT_FOUND, "%s: missing (is %s a run folder of vfr train?)", path, dir);
        return NULL;
    }
    cJSON *o = cJSON_Parse(buf);
    free(buf);
    if (!o && required)
        *st = vfr_fail(VFR_ERR_FORMAT, "%s: not valid JSON", path);
    return o;
}

static cJSON *improvement(double a, double b)
{
    cJSON *o = cJSON_CreateObject();
    vfr_pipeline_json_num(o, "absolute", a - b);
    vfr_pipeline_json_num(o, "relative", rel(a, b));
    return o;
}

/* Close, features and history of the dataset rows over the test window,
 * matched to the predictions' test rows. */
typedef struct window {
    int64_t n;          /* dataset rows read                      */
    int64_t r0;         /* the first one                          */
    int32_t F;
    float *close, *X;   /* [n], [n, F]: X read only for a champion (window_features) */
    int64_t *prev;      /* [n] previous row of the symbol, or -1  */
    int32_t *date, *sym;
    int64_t *match;     /* [pred N] window row of each test row   */
} window;

static void window_free(window *w)
{
    free(w->close), free(w->X), free(w->prev), free(w->date), free(w->sym), free(w->match);
}

static vfr_status read_window(const vfr_job *job, const vfr_predictions *pr, int32_t lookback,
                              window *w)
{
    vfr_dataset *ds = NULL;
    vfr_status st = vfr_prepare_open_dataset(job, &ds);
    memset(w, 0, sizeof *w);
    if (st != VFR_OK)
        return st;
    const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
    /* lookback trading days: 7/5 calendar days each, plus holidays */
    int32_t d0 = pr->date[0] - (int32_t)(lookback * 1.5) - 14, d1 = pr->date[pr->N - 1];
    int64_t r0, r1;
    vfr_dataset_row_range(ds, d0, d1, &r0, &r1);
    w->n = r1 - r0;
    w->r0 = r0;
    w->F = m->F;
    size_t n = (size_t)(w->n ? w->n : 1);
    w->close = m->has_close ? malloc(sizeof *w->close * n) : NULL;
    w->prev = malloc(sizeof *w->prev * n);
    w->date = malloc(sizeof *w->date * n);
    w->sym = malloc(sizeof *w->sym * n);
    w->match = malloc(sizeof *w->match * (size_t)(pr->N ? pr->N : 1));
    int64_t *last = malloc(sizeof *last * (size_t)(m->S ? m->S : 1));
    if ((m->has_close && !w->close) || !w->prev || !w->date || !w->sym || !w->match || !last) {
        st = vfr_fail(VFR_ERR_NOMEM, "compare: out of memory");
        goto done;
    }
    if (w->close && (st = vfr_dataset_read_close(ds, r0, r1, w->close)) != VFR_OK)
        goto done;
    for (int32_t s = 0; s < m->S; s++)
        last[s] = -1;
    for (int64_t i = 0; i < w->n; i++) {
        w->date[i] = m->date[r0 + i];
        w->sym[i] = m->symbol[r0 + i];
        w->prev[i] = last[w->sym[i]];
        last[w->sym[i]] = i;
    }
    /* both sorted by (date, symbol): one merge */
    int64_t j = 0;
    for (int64_t i = 0; i < pr->N; i++) {
        while (j < w->n && (w->date[j] < pr->date[i] || (w->date[j] == pr->date[i] && w->sym[j] < pr->symbol[i])))
            j++;
        if (j >= w->n || w->date[j] != pr->date[i] || w->sym[j] != pr->symbol[i]) {
            st = vfr_fail(VFR_ERR_FORMAT, "compare: test row %lld (date %d, symbol %d) is not in the dataset %s",
                          (long long)i, pr->date[i], pr->symbol[i], job->data.dataset);
            goto done;
        }
        w->match[i] = j;
    }
done:
    free(last);
    vfr_dataset_close(ds);
    return st;
}

/* The window's features, for the champion only (a copy of the test period's
 * rows, which nothing else needs). */
static vfr_status window_features(const vfr_job *job, window *w)
{
    vfr_dataset *ds = NULL;
    vfr_status st = vfr_prepare_open_dataset(job, &ds);
    if (st != VFR_OK)
        return st;
    if (!(w->X = malloc(sizeof *w->X * (size_t)(w->n ? w->n : 1) * (size_t)(w->F ? w->F : 1))))
        st = vfr_fail(VFR_ERR_NOMEM, "compare: out of memory for the champion's %lld rows", (long long)w->n);
    else
        st = vfr_dataset_read_features(ds, w->r0, w->r0 + w->n, w->X);
    vfr_dataset_close(ds);
    return st;
}

/* Positions of a price baseline on the window rows, picked for the test rows. */
static vfr_status price_positions(const window *w, const vfr_predictions *pr, int sma, const vfr_job *job,
                                  float *out)
{
    float *pos = malloc(sizeof *pos * (size_t)(w->n ? w->n : 1));
    float *series = malloc(sizeof *series * (size_t)(w->n ? w->n : 1));
    int64_t *idx = malloc(sizeof *idx * (size_t)(w->n ? w->n : 1));
    char *done = calloc((size_t)(w->n ? w->n : 1), 1);
    if (!pos || !series || !idx || !done) {
        free(pos), free(series), free(idx), free(done);
        return vfr_fail(VFR_ERR_NOMEM, "compare: out of memory");
    }
    /* walk each symbol's chain backwards from its last row */
    for (int64_t end = w->n - 1; end >= 0; end--) {
        if (done[end])
            continue;
        int64_t T = 0;
        for (int64_t r = end; r >= 0; r = w->prev[r]) {
            idx[T++] = r;
            done[r] = 1;
        }
        for (int64_t t = 0; t < T; t++)
            series[t] = w->close[idx[T - 1 - t]];
        float *p = malloc(sizeof *p * (size_t)T);
        if (!p)
            break;
        if (sma)
            vfr_baseline_sma(series, T, job->baseline.sma_fast, job->baseline.sma_slow, job->baseline.sma_short, p);
        else
            vfr_baseline_momentum(series, T, job->baseline.momentum_days, p);
        for (int64_t t = 0; t < T; t++)
            pos[idx[T - 1 - t]] = p[t];
        free(p);
    }
    for (int64_t i = 0; i < pr->N; i++)
        out[i] = pos[w->match[i]];
    free(pos), free(series), free(idx), free(done);
    return VFR_OK;
}

vfr_status vfr_compare_run(const char *run_dir, const vfr_compare_options *o, char **json_out)
{
    vfr_status st = VFR_OK;
    cJSON *jobj = NULL, *search = NULL, *metrics = NULL, *out = NULL;
    vfr_job *job = NULL;
    vfr_predictions *pr = NULL;
    window w = {0};
    float *S = NULL;
    double *daily = NULL, *fin = NULL, *mkt = NULL, *hit_day = NULL;
    char **names = NULL;
    if (json_out)
        *json_out = NULL;
    for (int32_t i = 0; i < o->n_baselines; i++) {
        int ok = 0;
        for (int k = 0; k < NB; k++)
            ok |= strcmp(o->baselines[i], all_baselines[k]) == 0;
        if (!ok)
            return vfr_fail(VFR_ERR_INVALID_ARG,
                            "--baseline '%s': not one of buy_and_hold, sma_crossover, momentum, majority_class, champion",
                            o->baselines[i]);
    }
    char path[4300];
    snprintf(path, sizeof path, "%s/job.json", run_dir);
    if ((st = vfr_job_load(path, &job)) != VFR_OK)
        goto fail;
    metrics = read_json(run_dir, "metrics.json", 1, &st);
    if (!metrics)
        goto fail;
    search = read_json(run_dir, "search.json", 0, &st);
    snprintf(path, sizeof path, "%s/predictions.h5", run_dir);
    if ((st = vfr_predictions_read(path, VFR_SET_TEST, &pr)) != VFR_OK)
        goto fail;
    vfr_panel panel;
    vfr_predictions_panel(pr, &panel);
    const int64_t N = pr->N;
    const int32_t T = pr->T;

    /* the job's backtest, and the score vectors of model and baselines */
    vfr_backtest_options bo;
    if (pr->backtest)
        bo = *pr->backtest; /* the run's own, as training evaluated it */
    else
        VFR_TRY(vfr_pipeline_backtest_options(job, &panel, &bo));
    int32_t lookback = job->baseline.sma_slow > job->baseline.momentum_days ? job->baseline.sma_slow
                                                                             : job->baseline.momentum_days;
    if (lookback < 120)
        lookback = 120; /* room for a sequence champion's history too */
    VFR_TRY(read_window(job, pr, lookback, &w));

    S = malloc(sizeof *S * (size_t)(N ? N : 1) * (NB + 1));
    daily = malloc(sizeof *daily * (size_t)(T ? T : 1) * (NB + 1));
    fin = malloc(sizeof *fin * VFR_FIN_COUNT * (NB + 1));
    names = calloc(NB + 1, sizeof *names);
    if (!S || !daily || !fin || !names) {
        st = vfr_fail(VFR_ERR_NOMEM, "compare: out of memory");
        goto fail;
    }
    names[0] = "model";
    VFR_TRY(vfr_backtest(o->device, &panel, pr->score, 1, &bo, fin, daily));

    /* the model's directional accuracy: its predicted sign against the move */
    double thr = job->objective == VFR_OBJECTIVE_DIRECTION ? 0.5 : 0.0;
    int64_t k_ok = 0, n_dir = 0;
    for (int64_t i = 0; i < N; i++)
        if (isfinite(pr->score[i]) && pr->fwd && isfinite(pr->fwd[i]) && pr->fwd[i] != 0) {
            n_dir++;
            k_ok += (pr->score[i] > thr) == (pr->fwd[i] > 0);
        }
    double model_acc = n_dir ? (double)k_ok / (double)n_dir : NAN;
    /* the same per date: a date's rows move together, so the test of the hit
     * rate takes dates, not rows, as its observations (docs/stats.md) */
    hit_day = malloc(sizeof *hit_day * (size_t)(T ? T : 1));
    int32_t n_hit_days = 0;
    for (int32_t t = 0; hit_day && t < T; t++) {
        int64_t kk = 0, nn = 0;
        for (int64_t i = pr->date_offset[t]; i < pr->date_offset[t + 1]; i++)
            if (isfinite(pr->score[i]) && pr->fwd && isfinite(pr->fwd[i]) && pr->fwd[i] != 0) {
                nn++;
                kk += (pr->score[i] > thr) == (pr->fwd[i] > 0);
            }
        if (nn)
            hit_day[n_hit_days++] = (double)kk / (double)nn;
    }

    out = cJSON_CreateObject();
    cJSON *tp = cJSON_AddObjectToObject(out, "testPeriod");
    char d0[11], d1[11];
    vfr_date_format(pr->date[0], d0);
    vfr_date_format(pr->date[N - 1], d1);
    cJSON_AddStringToObject(tp, "start", d0);
    cJSON_AddStringToObject(tp, "end", d1);
    cJSON_AddNumberToObject(tp, "dates", T);
    cJSON_AddNumberToObject(out, "horizon", job->horizon);
    double trials = 1, sr_var_ann = NAN;
    if (search) {
        const cJSON *te = cJSON_GetObjectItem(search, "trialsEvaluated"), *tv = cJSON_GetObjectItem(search, "trialSharpeVariance");
        if (cJSON_IsNumber(te) && te->valuedouble >= 1)
            trials = te->valuedouble;
        if (cJSON_IsNumber(tv))
            sr_var_ann = tv->valuedouble;
    }
    cJSON_AddNumberToObject(out, "trialsEvaluated", trials);
    {   /* cpcv: the backtest paths (metrics.json) and the search's PBO (search.json) */
        const cJSON *cp = cJSON_GetObjectItem(metrics, "cpcv"), *pb = cJSON_GetObjectItem(search, "pbo");
        if (cp || pb) {
            cJSON *cj = cJSON_AddObjectToObject(out, "cpcv");
            if (cp) {
                cJSON_AddItemToObject(cj, "paths", cJSON_Duplicate(cJSON_GetObjectItem(cp, "paths"), 1));
                cJSON_AddItemToObject(cj, "pathSharpe", cJSON_Duplicate(cJSON_GetObjectItem(cp, "pathSharpe"), 1));
                cJSON_AddItemToObject(cj, "sharpe", cJSON_Duplicate(cJSON_GetObjectItem(cp, "sharpe"), 1));
            }
            if (pb)
                cJSON_AddItemToObject(cj, "pbo", cJSON_Duplicate(pb, 1));
            else
                cJSON_AddStringToObject(cj, "pboNote", "no search: PBO needs the trials of a search block");
        }
    }
    vfr_pipeline_json_num(out, "trialSharpeVariance", sr_var_ann);
    cJSON *mp = vfr_pipeline_fin_json(fin);
    cJSON_AddNumberToObject(mp, "prediction_accuracy", model_acc);
    cJSON_AddItemToObject(out, "modelPerformance", mp);
    cJSON_AddStringToObject(out, "strategy", vfr_backtest_strategy_name(bo.strategy));
    /* buy-and-hold is the market every book's beta is measured against */
    mkt = malloc(sizeof *mkt * (size_t)(T ? T : 1));
    float *ones = malloc(sizeof *ones * (size_t)(N ? N : 1));
    double mkt_fin[VFR_FIN_COUNT];
    if (!mkt || !ones || !hit_day) {
        free(ones);
        st = vfr_fail(VFR_ERR_NOMEM, "compare: out of memory");
        goto fail;
    }
    for (int64_t i = 0; i < N; i++)
        ones[i] = 1.0f;
    {
        vfr_backtest_options bh = bo;
        bh.strategy = VFR_STRATEGY_LONG_ONLY;
        bh.threshold = 0.0;
        st = vfr_backtest(o->device, &panel, ones, 1, &bh, mkt_fin, mkt);
    }
    free(ones);
    if (st != VFR_OK)
        goto fail;
    cJSON_AddItemToObject(out, "modelExposure", vfr_pipeline_exposure_json(fin, daily, mkt, T, job->horizon));

    /* PSR and DSR on the model's daily returns (per-period Sharpe; the
     * trials' variance is of annualised Sharpe ratios: divide by 252) */
    vfr_stats_summary sm;
    double psr = NAN, dsr = NAN, sr0 = NAN;
    if (vfr_stats_summarize(daily, T, &sm) == VFR_OK) {
        if (vfr_stats_psr(sm.sr, T, sm.skew, sm.kurt, 0.0, &psr) != VFR_OK)
            psr = NAN;
        double v = isfinite(sr_var_ann) ? sr_var_ann / bo.periods_per_year : 0.0;
        if (vfr_stats_dsr(sm.sr, T, sm.skew, sm.kurt, v, (int64_t)trials, &dsr, &sr0) != VFR_OK)
            dsr = NAN;
    }
    vfr_error_clear();
    vfr_pipeline_json_num(out, "psr", psr);
    vfr_pipeline_json_num(out, "dsr", dsr);
    vfr_pipeline_json_num(out, "dsrBenchmarkSharpe", isfinite(sr0) ? sr0 * sqrt(bo.periods_per_year) : NAN);

    cJSON *bl = cJSON_AddArrayToObject(out, "baselines");
    int32_t M = 1;
    vfr_decision_inputs against = {job->baseline.against, fin[VFR_FIN_SHARPE], NAN, model_acc, NAN, NAN, NAN,
                                   fin[VFR_FIN_MAX_DRAWDOWN], dsr};
    int found_against = 0;
    double train_rate = NAN;
    {
        const cJSON *r = cJSON_GetObjectItem(metrics, "trainPositiveRate");
        if (cJSON_IsNumber(r))
            train_rate = r->valuedouble;
    }
    /* each test date's fold, for baselines that may only know that fold's
     * training labels (walk-forward windows differ) */
    const cJSON *folds = cJSON_GetObjectItem(metrics, "folds");
    for (int b = 0; b < NB; b++) {
        const char *name = all_baselines[b];
        int wanted = o->n_baselines == 0;
        for (int32_t i = 0; i < o->n_baselines; i++)
            wanted |= strcmp(o->baselines[i], name) == 0;
        wanted |= strcmp(name, job->baseline.against) == 0; /* the rule needs it */
        if (!wanted)
            continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", name);
        cJSON_AddItemToArray(bl, e);
        float *sc = S + (int64_t)M * N;
        vfr_backtest_options bb = bo;
        const char *note = NULL;
        char notebuf[512];
        if (b == 0) { /* buy and hold: every name long, equal weight */
            for (int64_t i = 0; i < N; i++)
                sc[i] = 1.0f;
            bb.strategy = VFR_STRATEGY_LONG_ONLY;
            bb.threshold = 0.0;
        } else if (b == 1 || b == 2) {
            if (!w.close) {
                note = "the dataset has no close prices (/close), which this baseline needs";
            } else {
                VFR_TRY(price_positions(&w, pr, b == 1, job, sc));
                bb.strategy = b == 1 && !job->baseline.sma_short ? VFR_STRATEGY_LONG_ONLY : VFR_STRATEGY_LONG_SHORT_SIGN;
                bb.threshold = 0.0;
                for (int64_t i = 0; i < N; i++) /* flat (0) means no position: below any threshold */
                    if (sc[i] == 0.0f)
                        sc[i] = bb.strategy == VFR_STRATEGY_LONG_ONLY ? -1.0f : NAN;
            }
        } else if (b == 3) {
            if (job->objective != VFR_OBJECTIVE_DIRECTION || !isfinite(train_rate)) {
                note = "majority_class needs a direction target (and the training base rate in metrics.json)";
            } else {
                /* the majority of each fold's own training labels, never a
                 * later fold's (metrics.json folds[].trainPositiveRate) */
                for (int32_t t = 0; t < T; t++) {
                    char ds[11];
                    vfr_date_format(pr->date[pr->date_offset[t]], ds);
                    double rate = train_rate;
                    const cJSON *f;
                    cJSON_ArrayForEach(f, folds)
                    {
                        const cJSON *a = cJSON_GetObjectItem(f, "testStart"), *b = cJSON_GetObjectItem(f, "testEnd"),
                                    *r = cJSON_GetObjectItem(f, "trainPositiveRate");
                        if (cJSON_IsString(a) && cJSON_IsString(b) && cJSON_IsNumber(r) &&
                            strcmp(ds, a->valuestring) >= 0 && strcmp(ds, b->valuestring) <= 0) {
                            rate = r->valuedouble;
                            break;
                        }
                    }
                    float v = rate >= 0.5 ? 1.0f : 0.0f;
                    for (int64_t i = pr->date_offset[t]; i < pr->date_offset[t + 1]; i++)
                        sc[i] = v;
                }
                bb.strategy = VFR_STRATEGY_LONG_SHORT_SIGN;
                bb.threshold = 0.5;
            }
        } else {
            char version[64] = "";
            float *cs = NULL;
            if (!o->champion || !o->champion->score) {
                note = "no registry given: the champion baseline is skipped";
            } else {
                vfr_status cst = o->champion->score(o->champion->user, job->model_name, NULL, NULL, 0, w.F,
                                                    &cs, version);
                if (cst == VFR_OK && !w.X)
                    cst = window_features(job, &w);
                if (cst == VFR_OK)
                    cst = o->champion->score(o->champion->user, job->model_name, w.X, w.prev, w.n, w.F, &cs,
                                             version);
                if (cst != VFR_OK) {
                    snprintf(notebuf, sizeof notebuf, "skipped: %s", vfr_last_error());
                    note = notebuf;
                } else {
                    for (int64_t i = 0; i < N; i++)
                        sc[i] = cs[w.match[i]];
                    free(cs);
                    cJSON_AddStringToObject(e, "version", version);
                }
            }
        }
        cJSON_AddBoolToObject(e, "available", note == NULL);
        cJSON_AddStringToObject(e, "note", note ? note : "");
        if (note)
            continue;
        double *bd = daily + (int64_t)M * T, *bf = fin + M * VFR_FIN_COUNT;
        if (b == 0) { /* buy-and-hold is the market, backtested above */
            memcpy(bd, mkt, sizeof *bd * (size_t)T);
            memcpy(bf, mkt_fin, sizeof mkt_fin);
        } else {
            VFR_TRY(vfr_backtest(o->device, &panel, sc, 1, &bb, bf, bd));
        }
        names[M++] = (char *)name;
        cJSON_AddItemToObject(e, "performance", vfr_pipeline_fin_json(bf));
        cJSON_AddItemToObject(e, "exposure", vfr_pipeline_exposure_json(bf, bd, mkt, T, job->horizon));
        cJSON *im = cJSON_AddObjectToObject(e, "improvement");
        cJSON_AddItemToObject(im, "sharpe", improvement(fin[VFR_FIN_SHARPE], bf[VFR_FIN_SHARPE]));
        cJSON_AddItemToObject(im, "directional_accuracy", improvement(model_acc, bf[VFR_FIN_DIRECTIONAL_ACCURACY]));
        cJSON_AddItemToObject(im, "total_return", improvement(fin[VFR_FIN_TOTAL_RETURN], bf[VFR_FIN_TOTAL_RETURN]));
        /* paired test on daily differences; HAC when horizons overlap */
        vfr_stats_ttest tt;
        int32_t lag = job->horizon > 1 ? vfr_stats_nw_lag(T, job->horizon) : 0;
        cJSON *sig = cJSON_AddObjectToObject(e, "statisticalSignificance");
        if (vfr_stats_ttest_newey_west(daily, bd, T, lag, job->baseline.level, &tt) == VFR_OK) {
            vfr_pipeline_json_num(sig, "pValue", tt.p);
            cJSON *ci = cJSON_AddArrayToObject(sig, "confidenceInterval");
            cJSON_AddItemToArray(ci, cJSON_CreateNumber(tt.ci_lo));
            cJSON_AddItemToArray(ci, cJSON_CreateNumber(tt.ci_hi));
            vfr_pipeline_json_num(sig, "meanDifference", tt.mean);
        } else {
            cJSON_AddNullToObject(sig, "pValue");
            cJSON_AddStringToObject(sig, "error", vfr_last_error());
            tt.p = NAN;
            tt.mean = NAN;
        }
        cJSON_AddNumberToObject(sig, "level", job->baseline.level);
        char method[160];
        snprintf(method, sizeof method, "paired t-test on daily return differences (%s, lag %d)",
                 lag > 0 ? "Newey-West HAC" : "no HAC correction: horizon 1", lag);
        cJSON_AddStringToObject(sig, "method", method);
        vfr_stats_bootstrap bs;
        cJSON *bj = cJSON_AddObjectToObject(e, "bootstrap");
        if (vfr_stats_bootstrap_sharpe_diff(daily, bd, T, 0.0, job->baseline.resamples, job->baseline.level,
                                            job->training.seed, &bs) == VFR_OK) {
            double a = sqrt(bo.periods_per_year); /* per-day Sharpe -> annualised */
            vfr_pipeline_json_num(bj, "sharpeDifference", bs.diff * a);
            cJSON *ci = cJSON_AddArrayToObject(bj, "confidenceInterval");
            cJSON_AddItemToArray(ci, cJSON_CreateNumber(bs.ci_lo * a));
            cJSON_AddItemToArray(ci, cJSON_CreateNumber(bs.ci_hi * a));
            cJSON_AddNumberToObject(bj, "resamples", bs.B_used);
            cJSON_AddNumberToObject(bj, "meanBlock", bs.block_mean);
        } else {
            cJSON_AddStringToObject(bj, "error", vfr_last_error());
        }
        cJSON_AddNumberToObject(bj, "level", job->baseline.level);
        /* hit rate against the baseline's, dates as observations: a t-test
         * (Newey-West) of the model's daily hit rate minus the baseline's rate */
        cJSON *bn = cJSON_AddObjectToObject(e, "hitRate");
        double p0 = bf[VFR_FIN_DIRECTIONAL_ACCURACY];
        vfr_pipeline_json_num(bn, "accuracy", model_acc);
        vfr_pipeline_json_num(bn, "baselineRate", p0);
        cJSON_AddNumberToObject(bn, "dates", n_hit_days);
        vfr_stats_ttest ht;
        double *dd = isfinite(p0) && n_hit_days > 2 ? malloc(sizeof *dd * (size_t)n_hit_days) : NULL;
        for (int32_t t = 0; dd && t < n_hit_days; t++)
            dd[t] = hit_day[t] - p0;
        int32_t hlag = job->horizon > 1 ? vfr_stats_nw_lag(n_hit_days, job->horizon) : 0;
        if (dd && vfr_stats_ttest_newey_west(dd, NULL, n_hit_days, hlag, job->baseline.level, &ht) == VFR_OK) {
            vfr_pipeline_json_num(bn, "meanDailyHitRate", ht.mean + p0);
            vfr_pipeline_json_num(bn, "pValue", ht.p);
            vfr_pipeline_json_num(bn, "pValueGreater", ht.t > 0 ? ht.p / 2 : 1 - ht.p / 2);
        } else {
            cJSON_AddNullToObject(bn, "pValue");
        }
        free(dd);
        vfr_error_clear();
        char hm[160];
        snprintf(hm, sizeof hm, "t-test over %d test dates of the daily hit rate minus the baseline's (%s, lag %d)",
                 n_hit_days, hlag > 0 ? "Newey-West HAC" : "no HAC correction: horizon 1", hlag);
        cJSON_AddStringToObject(bn, "method", hm);
        if (strcmp(name, job->baseline.against) == 0) {
            found_against = 1;
            against.base_sharpe = bf[VFR_FIN_SHARPE];
            against.base_accuracy = p0;
            against.p_value = tt.p;
            against.mean_diff = tt.mean;
        }
    }
    vfr_decision dec;
    vfr_compare_decide(job, &against, &dec);
    cJSON *dj = cJSON_AddObjectToObject(out, "decision");
    if (!found_against) {
        dec.should_deploy = 0;
        snprintf(dec.reason, sizeof dec.reason, "not deployed: the baseline %s (baseline.compareAgainst) is not available",
                 job->baseline.against);
    }
    cJSON_AddBoolToObject(dj, "shouldDeploy", dec.should_deploy);
    cJSON_AddStringToObject(dj, "against", job->baseline.against);
    cJSON_AddStringToObject(dj, "reason", dec.reason);
    cJSON *checks = cJSON_AddArrayToObject(dj, "checks");
    for (int k = 0; k < VFR_DECISION_CHECKS; k++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "name", dec.checks[k].name);
        vfr_pipeline_json_num(c, "value", dec.checks[k].value);
        cJSON_AddNumberToObject(c, "threshold", dec.checks[k].threshold);
        cJSON_AddBoolToObject(c, "passed", dec.checks[k].passed);
        cJSON_AddItemToArray(checks, c);
    }
    char *s = cJSON_Print(out);
    if (!s) {
        st = vfr_fail(VFR_ERR_NOMEM, "compare: out of memory");
        goto fail;
    }
    snprintf(path, sizeof path, "%s/comparison.json", run_dir);
    st = vfr_write_file_atomic(path, s, strlen(s));
    if (st == VFR_OK) {
        snprintf(path, sizeof path, "%s/backtest.h5", run_dir);
        int32_t *dates = malloc(sizeof *dates * (size_t)(T ? T : 1));
        for (int32_t t = 0; dates && t < T; t++)
            dates[t] = pr->date[pr->date_offset[t]];
        st = dates ? vfr_backtest_write(path, &bo, M, T, dates, (const char *const *)names, daily)
                   : vfr_fail(VFR_ERR_NOMEM, "compare: out of memory");
        free(dates);
    }
    if (st == VFR_OK && json_out)
        *json_out = s;
    else
        free(s);
fail:
    window_free(&w);
    free(S), free(daily), free(fin), free(names), free(mkt), free(hit_day);
    cJSON_Delete(out), cJSON_Delete(jobj), cJSON_Delete(search), cJSON_Delete(metrics);
    vfr_predictions_free(pr);
    vfr_job_free(job);
    return st;
}
