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

#include "compare_internal.h"
#include "backtest_json.h"
#include "runfolder_internal.h"
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

static cJSON *improvement(double a, double b)
{
    cJSON *o = cJSON_CreateObject();
    vfri_json_num(o, "absolute", a - b);
    vfri_json_num(o, "relative", rel(a, b));
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

/* ---- the comparison ---------------------------------------------------------- */

/* One comparison: its inputs, the score vectors and daily returns of the
 * model (0) and of each available baseline (1 .. M-1), and the document. */
typedef struct compare_ctx {
    const vfr_job *job;
    const vfr_compare_input *in;
    const vfr_compare_options *o;
    const vfr_predictions *pr;
    vfr_panel panel;
    int64_t N;
    int32_t T;
    vfr_backtest_options bo;
    window w;
    float *S;                     /* [NB + 1, N] scores                              */
    double *daily;                /* [NB + 1, T] net daily returns                   */
    double *fin;                  /* [NB + 1, VFR_FIN_COUNT]                         */
    char **names;                 /* [NB + 1] static names                           */
    int32_t M;                    /* series filled                                   */
    double model_acc;             /* the model's directional accuracy                */
    double *hit_day;              /* [n_hit_days] its daily hit rate                 */
    int32_t n_hit_days;
    double *mkt;                  /* [T] buy-and-hold: the market                    */
    double mkt_fin[VFR_FIN_COUNT];
    double trials, sr_var_ann;    /* from search.json                                */
    double dsr;
    vfr_decision_inputs against;  /* baseline.compareAgainst, once found             */
    int found_against;
    cJSON *out;                   /* comparison.json                                 */
} compare_ctx;

static vfr_status oom(void)
{
    return vfr_fail(VFR_ERR_NOMEM, "compare: out of memory");
}

static vfr_status check_baselines(const vfr_compare_options *o)
{
    for (int32_t i = 0; i < o->n_baselines; i++) {
        int ok = 0;
        for (int k = 0; k < NB; k++)
            ok |= strcmp(o->baselines[i], all_baselines[k]) == 0;
        if (!ok)
            return vfr_fail(VFR_ERR_INVALID_ARG,
                            "--baseline '%s': not one of buy_and_hold, sma_crossover, momentum, majority_class, champion",
                            o->baselines[i]);
    }
    return VFR_OK;
}

/* The job's backtest (the run's own, as training evaluated it, when the
 * predictions record it), the dataset window, and the model's backtest. */
static vfr_status compare_setup(compare_ctx *c)
{
    const vfr_job *job = c->job;
    vfr_status st = VFR_OK;
    if (c->pr->backtest)
        c->bo = *c->pr->backtest;
    else if ((st = vfr_job_backtest_options(job, &c->panel, &c->bo)) != VFR_OK)
        return st;
    int32_t lookback = job->baseline.sma_slow > job->baseline.momentum_days ? job->baseline.sma_slow
                                                                             : job->baseline.momentum_days;
    if (lookback < 120)
        lookback = 120; /* room for a sequence champion's history too */
    if ((st = read_window(job, c->pr, lookback, &c->w)) != VFR_OK)
        return st;
    c->S = malloc(sizeof *c->S * (size_t)(c->N ? c->N : 1) * (NB + 1));
    c->daily = malloc(sizeof *c->daily * (size_t)(c->T ? c->T : 1) * (NB + 1));
    c->fin = malloc(sizeof *c->fin * VFR_FIN_COUNT * (NB + 1));
    c->names = calloc(NB + 1, sizeof *c->names);
    if (!c->S || !c->daily || !c->fin || !c->names)
        return oom();
    c->names[0] = "model";
    c->M = 1;
    return vfr_backtest(c->o->device, &c->panel, c->pr->score, 1, &c->bo, c->fin, c->daily);
}

/* The model's directional accuracy: its predicted sign against the move;
 * and the same per date: a date's rows move together, so the test of the
 * hit rate takes dates, not rows, as its observations (docs/stats.md). */
static vfr_status model_hits(compare_ctx *c)
{
    const vfr_predictions *pr = c->pr;
    double thr = c->job->objective == VFR_OBJECTIVE_DIRECTION ? 0.5 : 0.0;
    int64_t k_ok = 0, n_dir = 0;
    for (int64_t i = 0; i < c->N; i++)
        if (isfinite(pr->score[i]) && pr->fwd && isfinite(pr->fwd[i]) && pr->fwd[i] != 0) {
            n_dir++;
            k_ok += (pr->score[i] > thr) == (pr->fwd[i] > 0);
        }
    c->model_acc = n_dir ? (double)k_ok / (double)n_dir : NAN;
    if (!(c->hit_day = malloc(sizeof *c->hit_day * (size_t)(c->T ? c->T : 1))))
        return oom();
    for (int32_t t = 0; t < c->T; t++) {
        int64_t kk = 0, nn = 0;
        for (int64_t i = pr->date_offset[t]; i < pr->date_offset[t + 1]; i++)
            if (isfinite(pr->score[i]) && pr->fwd && isfinite(pr->fwd[i]) && pr->fwd[i] != 0) {
                nn++;
                kk += (pr->score[i] > thr) == (pr->fwd[i] > 0);
            }
        if (nn)
            c->hit_day[c->n_hit_days++] = (double)kk / (double)nn;
    }
    return VFR_OK;
}

/* cpcv: the backtest paths (metrics.json) and the search's PBO (search.json). */
static void cpcv_json(compare_ctx *c)
{
    const cJSON *cp = cJSON_GetObjectItem(c->in->metrics, "cpcv"), *pb = cJSON_GetObjectItem(c->in->search, "pbo");
    if (!cp && !pb)
        return;
    cJSON *cj = cJSON_AddObjectToObject(c->out, "cpcv");
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

/* The document's head: test period, horizon, trials, the model's performance. */
static void header_json(compare_ctx *c)
{
    const vfr_predictions *pr = c->pr;
    c->out = cJSON_CreateObject();
    cJSON *tp = cJSON_AddObjectToObject(c->out, "testPeriod");
    char d0[11], d1[11];
    vfr_date_format(pr->date[0], d0);
    vfr_date_format(pr->date[c->N - 1], d1);
    cJSON_AddStringToObject(tp, "start", d0);
    cJSON_AddStringToObject(tp, "end", d1);
    cJSON_AddNumberToObject(tp, "dates", c->T);
    cJSON_AddNumberToObject(c->out, "horizon", c->job->horizon);
    c->trials = 1, c->sr_var_ann = NAN;
    if (c->in->search) {
        const cJSON *te = cJSON_GetObjectItem(c->in->search, "trialsEvaluated"),
                    *tv = cJSON_GetObjectItem(c->in->search, "trialSharpeVariance");
        if (cJSON_IsNumber(te) && te->valuedouble >= 1)
            c->trials = te->valuedouble;
        if (cJSON_IsNumber(tv))
            c->sr_var_ann = tv->valuedouble;
    }
    cJSON_AddNumberToObject(c->out, "trialsEvaluated", c->trials);
    cpcv_json(c);
    vfri_json_num(c->out, "trialSharpeVariance", c->sr_var_ann);
    cJSON *mp = vfri_backtest_fin_json(c->fin);
    cJSON_AddNumberToObject(mp, "prediction_accuracy", c->model_acc);
    cJSON_AddItemToObject(c->out, "modelPerformance", mp);
    cJSON_AddStringToObject(c->out, "strategy", vfr_backtest_strategy_name(c->bo.strategy));
}

/* Buy-and-hold is the market every book's beta is measured against. */
static vfr_status market(compare_ctx *c)
{
    c->mkt = malloc(sizeof *c->mkt * (size_t)(c->T ? c->T : 1));
    float *ones = malloc(sizeof *ones * (size_t)(c->N ? c->N : 1));
    if (!c->mkt || !ones) {
        free(ones);
        return oom();
    }
    for (int64_t i = 0; i < c->N; i++)
        ones[i] = 1.0f;
    vfr_backtest_options bh = c->bo;
    bh.strategy = VFR_STRATEGY_LONG_ONLY;
    bh.threshold = 0.0;
    vfr_status st = vfr_backtest(c->o->device, &c->panel, ones, 1, &bh, c->mkt_fin, c->mkt);
    free(ones);
    if (st == VFR_OK)
        cJSON_AddItemToObject(c->out, "modelExposure",
                              vfri_backtest_exposure_json(c->fin, c->daily, c->mkt, c->T, c->job->horizon));
    return st;
}

/* PSR and DSR on the model's daily returns (per-period Sharpe; the trials'
 * variance is of annualised Sharpe ratios: divide by 252). */
static void sharpe_tests(compare_ctx *c)
{
    vfr_stats_summary sm;
    double psr = NAN, dsr = NAN, sr0 = NAN;
    if (vfr_stats_summarize(c->daily, c->T, &sm) == VFR_OK) {
        if (vfr_stats_psr(sm.sr, c->T, sm.skew, sm.kurt, 0.0, &psr) != VFR_OK)
            psr = NAN;
        double v = isfinite(c->sr_var_ann) ? c->sr_var_ann / c->bo.periods_per_year : 0.0;
        if (vfr_stats_dsr(sm.sr, c->T, sm.skew, sm.kurt, v, (int64_t)c->trials, &dsr, &sr0) != VFR_OK)
            dsr = NAN;
    }
    vfr_error_clear();
    vfri_json_num(c->out, "psr", psr);
    vfri_json_num(c->out, "dsr", dsr);
    vfri_json_num(c->out, "dsrBenchmarkSharpe", isfinite(sr0) ? sr0 * sqrt(c->bo.periods_per_year) : NAN);
    c->dsr = dsr;
}

/* ---- the baselines' positions ------------------------------------------------ */

/* sma_crossover (sma) or momentum: positions from each name's closes. */
static vfr_status price_scores(compare_ctx *c, int sma, float *sc, vfr_backtest_options *bb, const char **note)
{
    if (!c->w.close) {
        *note = "the dataset has no close prices (/close), which this baseline needs";
        return VFR_OK;
    }
    vfr_status st = price_positions(&c->w, c->pr, sma, c->job, sc);
    if (st != VFR_OK)
        return st;
    bb->strategy = sma && !c->job->baseline.sma_short ? VFR_STRATEGY_LONG_ONLY : VFR_STRATEGY_LONG_SHORT_SIGN;
    bb->threshold = 0.0;
    for (int64_t i = 0; i < c->N; i++) /* flat (0) means no position: below any threshold */
        if (sc[i] == 0.0f)
            sc[i] = bb->strategy == VFR_STRATEGY_LONG_ONLY ? -1.0f : NAN;
    return VFR_OK;
}

/* The training base rate of the fold whose test dates hold date ds
 * (metrics.json folds[].trainPositiveRate), else the run's. */
static double fold_rate(const cJSON *folds, const char *ds, double rate)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, folds)
    {
        const cJSON *a = cJSON_GetObjectItem(f, "testStart"), *b = cJSON_GetObjectItem(f, "testEnd"),
                    *r = cJSON_GetObjectItem(f, "trainPositiveRate");
        if (cJSON_IsString(a) && cJSON_IsString(b) && cJSON_IsNumber(r) && strcmp(ds, a->valuestring) >= 0 &&
            strcmp(ds, b->valuestring) <= 0)
            return r->valuedouble;
    }
    return rate;
}

/* majority_class: the majority of each fold's own training labels, never a
 * later fold's (walk-forward windows differ). */
static void majority_scores(compare_ctx *c, float *sc, vfr_backtest_options *bb, const char **note)
{
    const vfr_predictions *pr = c->pr;
    const cJSON *r = cJSON_GetObjectItem(c->in->metrics, "trainPositiveRate");
    double train_rate = cJSON_IsNumber(r) ? r->valuedouble : NAN;
    if (c->job->objective != VFR_OBJECTIVE_DIRECTION || !isfinite(train_rate)) {
        *note = "majority_class needs a direction target (and the training base rate in metrics.json)";
        return;
    }
    const cJSON *folds = cJSON_GetObjectItem(c->in->metrics, "folds");
    for (int32_t t = 0; t < c->T; t++) {
        char ds[11];
        vfr_date_format(pr->date[pr->date_offset[t]], ds);
        float v = fold_rate(folds, ds, train_rate) >= 0.5 ? 1.0f : 0.0f;
        for (int64_t i = pr->date_offset[t]; i < pr->date_offset[t + 1]; i++)
            sc[i] = v;
    }
    bb->strategy = VFR_STRATEGY_LONG_SHORT_SIGN;
    bb->threshold = 0.5;
}

/* champion: the registry's current champion scores the same rows. */
static void champion_scores(compare_ctx *c, cJSON *e, float *sc, const char **note, char *notebuf, size_t cap)
{
    char version[64] = "";
    float *cs = NULL;
    const vfr_champion_source *ch = c->o->champion;
    if (!ch || !ch->score) {
        *note = "no registry given: the champion baseline is skipped";
        return;
    }
    /* is there a champion (no rows), then its scores on the window's features */
    vfr_status cst = ch->score(ch->user, c->job->model_name, NULL, NULL, 0, c->w.F, &cs, version);
    if (cst == VFR_OK && !c->w.X)
        cst = window_features(c->job, &c->w);
    if (cst == VFR_OK)
        cst = ch->score(ch->user, c->job->model_name, c->w.X, c->w.prev, c->w.n, c->w.F, &cs, version);
    if (cst != VFR_OK) {
        snprintf(notebuf, cap, "skipped: %s", vfr_last_error());
        *note = notebuf;
        return;
    }
    for (int64_t i = 0; i < c->N; i++)
        sc[i] = cs[c->w.match[i]];
    free(cs);
    cJSON_AddStringToObject(e, "version", version);
}

/* ---- the baselines' statistics ----------------------------------------------- */

/* Paired test on daily differences; HAC when horizons overlap. */
static vfr_stats_ttest significance_json(const compare_ctx *c, cJSON *e, const double *bd)
{
    const vfr_job *job = c->job;
    vfr_stats_ttest tt;
    int32_t lag = job->horizon > 1 ? vfr_stats_nw_lag(c->T, job->horizon) : 0;
    cJSON *sig = cJSON_AddObjectToObject(e, "statisticalSignificance");
    if (vfr_stats_ttest_newey_west(c->daily, bd, c->T, lag, job->baseline.level, &tt) == VFR_OK) {
        vfri_json_num(sig, "pValue", tt.p);
        cJSON *ci = cJSON_AddArrayToObject(sig, "confidenceInterval");
        cJSON_AddItemToArray(ci, cJSON_CreateNumber(tt.ci_lo));
        cJSON_AddItemToArray(ci, cJSON_CreateNumber(tt.ci_hi));
        vfri_json_num(sig, "meanDifference", tt.mean);
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
    return tt;
}

/* Block bootstrap of the Sharpe difference, annualised. */
static void bootstrap_json(const compare_ctx *c, cJSON *e, const double *bd)
{
    const vfr_job *job = c->job;
    vfr_stats_bootstrap bs;
    cJSON *bj = cJSON_AddObjectToObject(e, "bootstrap");
    if (vfr_stats_bootstrap_sharpe_diff(c->daily, bd, c->T, 0.0, job->baseline.resamples, job->baseline.level,
                                        job->training.seed, &bs) == VFR_OK) {
        double a = sqrt(c->bo.periods_per_year); /* per-day Sharpe -> annualised */
        vfri_json_num(bj, "sharpeDifference", bs.diff * a);
        cJSON *ci = cJSON_AddArrayToObject(bj, "confidenceInterval");
        cJSON_AddItemToArray(ci, cJSON_CreateNumber(bs.ci_lo * a));
        cJSON_AddItemToArray(ci, cJSON_CreateNumber(bs.ci_hi * a));
        cJSON_AddNumberToObject(bj, "resamples", bs.B_used);
        cJSON_AddNumberToObject(bj, "meanBlock", bs.block_mean);
    } else {
        cJSON_AddStringToObject(bj, "error", vfr_last_error());
    }
    cJSON_AddNumberToObject(bj, "level", job->baseline.level);
}

/* Hit rate against the baseline's rate p0, dates as observations: a t-test
 * (Newey-West) of the model's daily hit rate minus p0. */
static void hit_rate_json(const compare_ctx *c, cJSON *e, double p0)
{
    cJSON *bn = cJSON_AddObjectToObject(e, "hitRate");
    const int32_t n = c->n_hit_days;
    vfri_json_num(bn, "accuracy", c->model_acc);
    vfri_json_num(bn, "baselineRate", p0);
    cJSON_AddNumberToObject(bn, "dates", n);
    vfr_stats_ttest ht;
    double *dd = isfinite(p0) && n > 2 ? malloc(sizeof *dd * (size_t)n) : NULL;
    for (int32_t t = 0; dd && t < n; t++)
        dd[t] = c->hit_day[t] - p0;
    int32_t hlag = c->job->horizon > 1 ? vfr_stats_nw_lag(n, c->job->horizon) : 0;
    if (dd && vfr_stats_ttest_newey_west(dd, NULL, n, hlag, c->job->baseline.level, &ht) == VFR_OK) {
        vfri_json_num(bn, "meanDailyHitRate", ht.mean + p0);
        vfri_json_num(bn, "pValue", ht.p);
        vfri_json_num(bn, "pValueGreater", ht.t > 0 ? ht.p / 2 : 1 - ht.p / 2);
    } else {
        cJSON_AddNullToObject(bn, "pValue");
    }
    free(dd);
    vfr_error_clear();
    char hm[160];
    snprintf(hm, sizeof hm, "t-test over %d test dates of the daily hit rate minus the baseline's (%s, lag %d)", n,
             hlag > 0 ? "Newey-West HAC" : "no HAC correction: horizon 1", hlag);
    cJSON_AddStringToObject(bn, "method", hm);
}

/* Baseline b's series (the next free one, c->M) through the backtest and
 * against the model: performance, exposure, improvement and the tests. */
static vfr_status baseline_stats(compare_ctx *c, int b, cJSON *e, const float *sc, const vfr_backtest_options *bb)
{
    double *bd = c->daily + (int64_t)c->M * c->T, *bf = c->fin + c->M * VFR_FIN_COUNT;
    const double *fin = c->fin;
    if (b == 0) { /* buy-and-hold is the market, backtested above */
        memcpy(bd, c->mkt, sizeof *bd * (size_t)c->T);
        memcpy(bf, c->mkt_fin, sizeof c->mkt_fin);
    } else {
        vfr_status st = vfr_backtest(c->o->device, &c->panel, sc, 1, bb, bf, bd);
        if (st != VFR_OK)
            return st;
    }
    c->names[c->M++] = (char *)all_baselines[b];
    cJSON_AddItemToObject(e, "performance", vfri_backtest_fin_json(bf));
    cJSON_AddItemToObject(e, "exposure", vfri_backtest_exposure_json(bf, bd, c->mkt, c->T, c->job->horizon));
    cJSON *im = cJSON_AddObjectToObject(e, "improvement");
    cJSON_AddItemToObject(im, "sharpe", improvement(fin[VFR_FIN_SHARPE], bf[VFR_FIN_SHARPE]));
    cJSON_AddItemToObject(im, "directional_accuracy", improvement(c->model_acc, bf[VFR_FIN_DIRECTIONAL_ACCURACY]));
    cJSON_AddItemToObject(im, "total_return", improvement(fin[VFR_FIN_TOTAL_RETURN], bf[VFR_FIN_TOTAL_RETURN]));
    vfr_stats_ttest tt = significance_json(c, e, bd);
    bootstrap_json(c, e, bd);
    double p0 = bf[VFR_FIN_DIRECTIONAL_ACCURACY];
    hit_rate_json(c, e, p0);
    if (strcmp(all_baselines[b], c->job->baseline.against) == 0) {
        c->found_against = 1;
        c->against.base_sharpe = bf[VFR_FIN_SHARPE];
        c->against.base_accuracy = p0;
        c->against.p_value = tt.p;
        c->against.mean_diff = tt.mean;
    }
    return VFR_OK;
}

/* Baseline b, when asked for (or needed by the rule): its entry in
 * baselines, available or with a note saying why not. */
static vfr_status baseline(compare_ctx *c, int b, cJSON *bl)
{
    const char *name = all_baselines[b];
    int wanted = c->o->n_baselines == 0;
    for (int32_t i = 0; i < c->o->n_baselines; i++)
        wanted |= strcmp(c->o->baselines[i], name) == 0;
    wanted |= strcmp(name, c->job->baseline.against) == 0; /* the rule needs it */
    if (!wanted)
        return VFR_OK;
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "name", name);
    cJSON_AddItemToArray(bl, e);
    float *sc = c->S + (int64_t)c->M * c->N;
    vfr_backtest_options bb = c->bo;
    const char *note = NULL;
    char notebuf[512];
    vfr_status st = VFR_OK;
    if (b == 0) { /* buy and hold: every name long, equal weight */
        for (int64_t i = 0; i < c->N; i++)
            sc[i] = 1.0f;
        bb.strategy = VFR_STRATEGY_LONG_ONLY;
        bb.threshold = 0.0;
    } else if (b == 1 || b == 2) {
        st = price_scores(c, b == 1, sc, &bb, &note);
    } else if (b == 3) {
        majority_scores(c, sc, &bb, &note);
    } else {
        champion_scores(c, e, sc, &note, notebuf, sizeof notebuf);
    }
    if (st != VFR_OK)
        return st;
    cJSON_AddBoolToObject(e, "available", note == NULL);
    cJSON_AddStringToObject(e, "note", note ? note : "");
    return note ? VFR_OK : baseline_stats(c, b, e, sc, &bb);
}

/* The deploy decision against baseline.compareAgainst, with its checks. */
static void decision_json(compare_ctx *c)
{
    const vfr_job *job = c->job;
    vfr_decision dec;
    vfr_compare_decide(job, &c->against, &dec);
    cJSON *dj = cJSON_AddObjectToObject(c->out, "decision");
    if (!c->found_against) {
        dec.should_deploy = 0;
        snprintf(dec.reason, sizeof dec.reason, "not deployed: the baseline %s (baseline.compareAgainst) is not available",
                 job->baseline.against);
    }
    cJSON_AddBoolToObject(dj, "shouldDeploy", dec.should_deploy);
    cJSON_AddStringToObject(dj, "against", job->baseline.against);
    cJSON_AddStringToObject(dj, "reason", dec.reason);
    cJSON *checks = cJSON_AddArrayToObject(dj, "checks");
    for (int k = 0; k < VFR_DECISION_CHECKS; k++) {
        cJSON *ck = cJSON_CreateObject();
        cJSON_AddStringToObject(ck, "name", dec.checks[k].name);
        vfri_json_num(ck, "value", dec.checks[k].value);
        cJSON_AddNumberToObject(ck, "threshold", dec.checks[k].threshold);
        cJSON_AddBoolToObject(ck, "passed", dec.checks[k].passed);
        cJSON_AddItemToArray(checks, ck);
    }
}

/* comparison.json, then backtest.h5 with every series filled. */
static vfr_status compare_write(const char *run_dir, const compare_ctx *c)
{
    char path[8400];
    vfr_status st = vfri_runfolder_write_json(run_dir, VFR_RUNFILE_COMPARISON, c->out);
    if (st == VFR_OK)
        st = vfr_runfolder_path(run_dir, VFR_RUNFILE_BACKTEST, path, sizeof path);
    if (st != VFR_OK)
        return st;
    int32_t *dates = malloc(sizeof *dates * (size_t)(c->T ? c->T : 1));
    for (int32_t t = 0; dates && t < c->T; t++)
        dates[t] = c->pr->date[c->pr->date_offset[t]];
    st = dates ? vfr_backtest_write(path, &c->bo, c->M, c->T, dates, (const char *const *)c->names, c->daily)
               : oom();
    free(dates);
    return st;
}

vfr_status vfri_compare_core(const char *run_dir, const vfr_compare_input *in, const vfr_compare_options *o,
                            cJSON **out)
{
    compare_ctx c = {.job = in->job, .in = in, .o = o, .pr = in->pr, .N = in->pr->N, .T = in->pr->T};
    *out = NULL;
    vfr_status st = check_baselines(o);
    if (st != VFR_OK)
        return st;
    vfr_predictions_panel(in->pr, &c.panel);
    VFR_TRY(compare_setup(&c));
    VFR_TRY(model_hits(&c));
    header_json(&c);
    VFR_TRY(market(&c));
    sharpe_tests(&c);
    cJSON *bl = cJSON_AddArrayToObject(c.out, "baselines");
    c.against = (vfr_decision_inputs){c.job->baseline.against, c.fin[VFR_FIN_SHARPE], NAN, c.model_acc, NAN, NAN,
                                      NAN, c.fin[VFR_FIN_MAX_DRAWDOWN], c.dsr};
    for (int b = 0; b < NB; b++)
        VFR_TRY(baseline(&c, b, bl));
    decision_json(&c);
    VFR_TRY(compare_write(run_dir, &c));
    *out = c.out;
    c.out = NULL;
fail:
    window_free(&c.w);
    free(c.S), free(c.daily), free(c.fin), free(c.names), free(c.mkt), free(c.hit_day);
    cJSON_Delete(c.out);
    return st;
}

/* ---- the comparison of a run folder ------------------------------------------ */

vfr_status vfr_compare_run(const char *run_dir, const vfr_compare_options *o, char **json_out)
{
    vfr_job *job = NULL;
    vfr_predictions *pr = NULL;
    cJSON *metrics = NULL, *search = NULL, *out = NULL;
    char path[8400];
    if (json_out)
        *json_out = NULL;
    vfr_status st = check_baselines(o);
    if (st != VFR_OK)
        return st;
    VFR_TRY(vfr_runfolder_path(run_dir, VFR_RUNFILE_JOB, path, sizeof path));
    VFR_TRY(vfr_job_load(path, &job));
    VFR_TRY(vfri_runfolder_read_json(run_dir, VFR_RUNFILE_METRICS, 1, &metrics));
    VFR_TRY(vfri_runfolder_read_json(run_dir, VFR_RUNFILE_SEARCH, 0, &search));
    VFR_TRY(vfr_runfolder_path(run_dir, VFR_RUNFILE_PREDICTIONS, path, sizeof path));
    VFR_TRY(vfr_predictions_read(path, VFR_SET_TEST, &pr));
    vfr_compare_input in = {job, metrics, search, pr};
    VFR_TRY(vfri_compare_core(run_dir, &in, o, &out));
    if (json_out && !(*json_out = cJSON_Print(out)))
        st = oom();
fail:
    cJSON_Delete(out), cJSON_Delete(search), cJSON_Delete(metrics);
    vfr_predictions_free(pr);
    vfr_job_free(job);
    return st;
}
