/* backtest.c: CPU twin of the vectorized backtest and of the financial
 * metrics of daily returns, plus the device dispatch.
 *
 * Each strategy is run whole by one thread (strategies are spread over
 * threads), with dense per-symbol weights and double accumulators. It is the
 * oracle the CUDA kernels are held against, so it stays plain: per date, the
 * new cohort takes the slot of the one that leaves, the weights are re-summed
 * from the live cohorts, then costs are charged and the 1-day returns earned.
 * Conventions: docs/metrics.md. */
#include "backtest_formula.h"
#include "metrics_internal.h"
#include "vfr/backtest.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- names and options -------------------------------------------------- */

static const char *const fin_names[VFR_FIN_COUNT] = {
    [VFR_FIN_DAYS] = "days",
    [VFR_FIN_DIRECTIONAL_ACCURACY] = "directional_accuracy",
    [VFR_FIN_TOTAL_RETURN] = "total_return",
    [VFR_FIN_CAGR] = "cagr",
    [VFR_FIN_VOLATILITY] = "volatility",
    [VFR_FIN_SHARPE] = "sharpe",
    [VFR_FIN_SORTINO] = "sortino",
    [VFR_FIN_MAX_DRAWDOWN] = "max_drawdown",
    [VFR_FIN_MAX_DRAWDOWN_DAYS] = "max_drawdown_days",
    [VFR_FIN_CALMAR] = "calmar",
    [VFR_FIN_PROFIT_FACTOR] = "profit_factor",
    [VFR_FIN_WIN_RATE] = "win_rate",
    [VFR_FIN_AVG_WIN] = "avg_win",
    [VFR_FIN_AVG_LOSS] = "avg_loss",
    [VFR_FIN_TURNOVER] = "turnover",
    [VFR_FIN_EXPOSURE] = "exposure",
    [VFR_FIN_NET_EXPOSURE] = "net_exposure",
};

const char *vfr_backtest_metric_name(vfr_fin f)
{
    return (unsigned)f < VFR_FIN_COUNT ? fin_names[f] : "?";
}

static const char *const strategy_names[] = {"long_short_sign", "long_only", "top_k",
                                             "long_short_median"};
#define N_STRATEGIES 4

vfr_status vfr_backtest_strategy_parse(const char *s, vfr_strategy *out)
{
    for (int i = 0; i < N_STRATEGIES; i++)
        if (s && strcmp(s, strategy_names[i]) == 0) {
            *out = (vfr_strategy)i;
            return VFR_OK;
        }
    return vfr_fail(VFR_ERR_INVALID_ARG,
                    "strategy '%s': expected long_short_median, long_short_sign, long_only or top_k",
                    s ? s : "(null)");
}

const char *vfr_backtest_strategy_name(vfr_strategy s)
{
    return (unsigned)s < N_STRATEGIES ? strategy_names[s] : "?";
}

void vfr_backtest_options_default(vfr_backtest_options *o)
{
    o->strategy = VFR_STRATEGY_TOP_K;
    o->k = 5;
    o->threshold = 0.0;
    o->horizon = 1;
    o->cost_bps = 0.0;
    o->risk_free = 0.0;
    o->periods_per_year = 252;
    o->threads = 0;
}

vfr_status vfr_backtest_options_check(const vfr_backtest_options *o)
{
    if (!o)
        return vfr_fail(VFR_ERR_INVALID_ARG, "backtest: options missing");
    if ((unsigned)o->strategy >= N_STRATEGIES)
        return vfr_fail(VFR_ERR_INVALID_ARG, "backtest: unknown strategy %d", (int)o->strategy);
    if (o->strategy == VFR_STRATEGY_TOP_K && o->k < 1)
        return vfr_fail(VFR_ERR_INVALID_ARG, "backtest: k = %d; top_k needs k >= 1", o->k);
    if (o->horizon < 1 || o->horizon > 10000)
        return vfr_fail(VFR_ERR_INVALID_ARG, "backtest: horizon = %d; want 1..10000", o->horizon);
    if (!isfinite(o->threshold))
        return vfr_fail(VFR_ERR_INVALID_ARG, "backtest: threshold must be finite");
    if (!(o->cost_bps >= 0 && o->cost_bps < 1e6))
        return vfr_fail(VFR_ERR_INVALID_ARG, "backtest: cost_bps = %g; want >= 0", o->cost_bps);
    if (!(o->risk_free > -1 && o->risk_free < 10))
        return vfr_fail(VFR_ERR_INVALID_ARG, "backtest: risk_free = %g is not a plausible annual rate",
                        o->risk_free);
    if (o->periods_per_year < 0 || o->periods_per_year > 100000)
        return vfr_fail(VFR_ERR_INVALID_ARG, "backtest: periods_per_year = %d", o->periods_per_year);
    return VFR_OK;
}

vfr_status vfri_backtest_check_args(const vfr_panel *p, const float *score, int32_t M,
                                   const vfr_backtest_options *o, const double *metrics)
{
    vfr_status st;
    if (!metrics || M < 1 || (!score && p && p->N > 0))
        return vfr_fail(VFR_ERR_INVALID_ARG, "backtest: need scores, an output table and M >= 1 (M = %d)",
                        M);
    if ((st = vfr_backtest_options_check(o)) != VFR_OK ||
        (st = vfr_metrics_panel_check(p)) != VFR_OK)
        return st;
    if (!p->fwd1 && p->N > 0)
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "backtest: the 1-day forward return (fwd1) is needed for daily P&L");
    return VFR_OK;
}

/* ---- financial metrics of a daily return series -------------------------- */

static double ppy_of(const vfr_backtest_options *o)
{
    return o->periods_per_year > 0 ? (double)o->periods_per_year : 252.0;
}

/* Fills every column but DIRECTIONAL_ACCURACY, TURNOVER and the exposures
 * (the formula the CUDA kernel shares: backtest_formula.h). */
static void return_stats(const double *r, int32_t T, const vfr_backtest_options *o, double *row)
{
    vfri_backtest_return_stats(r, T, ppy_of(o), o->risk_free, row);
}

void vfr_backtest_equity(const double *daily, int32_t T, double *equity)
{
    double eq = 1.0;
    for (int32_t t = 0; t < T; t++) {
        eq *= 1.0 + (isnan(daily[t]) ? 0.0 : daily[t]);
        equity[t] = eq;
    }
}

typedef struct sctx {
    const double *daily;
    int32_t M, T;
    const vfr_backtest_options *o;
    double *metrics;
} sctx;

static vfr_status stats_worker(void *arg, int tid, int nthreads)
{
    const sctx *c = arg;
    for (int32_t m = tid; m < c->M; m += nthreads) {
        double *row = c->metrics + (size_t)m * VFR_FIN_COUNT;
        for (int k = 0; k < VFR_FIN_COUNT; k++)
            row[k] = NAN;
        return_stats(c->daily + (size_t)m * (size_t)c->T, c->T, c->o, row);
    }
    return VFR_OK;
}

vfr_status vfr_backtest_stats_cpu(const double *daily, int32_t M, int32_t T,
                                  const vfr_backtest_options *o, double *metrics)
{
    if (!o || !metrics || M < 1 || T < 0 || (!daily && T > 0))
        return vfr_fail(VFR_ERR_INVALID_ARG, "backtest stats: need returns, options, M >= 1, T >= 0");
    vfr_status st = vfr_backtest_options_check(o);
    if (st != VFR_OK)
        return st;
    sctx c = {daily, M, T, o, metrics};
    return vfri_metrics_parallel(vfri_metrics_threads(o->threads, M), stats_worker, &c);
}

/* ---- positions -------------------------------------------------------------- */

typedef struct bctx {
    const vfr_panel *p;
    const float *score; /* [M, N] */
    int32_t M;
    const vfr_backtest_options *o;
    double *metrics;    /* [M, VFR_FIN_COUNT] */
    double *daily;      /* [M, T] or NULL */
    const float *r1;    /* [T, S] 1-day returns by symbol, 0 where missing */
    int64_t maxrows;
} bctx;

/* Per-thread scratch. The h live cohorts are kept dense, cw[slot][symbol]:
 * a date's cohort replaces the one formed h dates earlier in the same slot,
 * and every weight is re-summed from the slots, so a name that no cohort
 * holds any more weighs exactly 0. */
typedef struct bwork {
    double *cw;           /* [h, S] cohort weights (before the 1/h)         */
    double *w;            /* [S] portfolio weights                          */
    double *acc;          /* [S] sum of the live cohorts (h > 1)            */
    uint64_t *lo, *hi;    /* [k] bottom and top candidates (small k)        */
    uint64_t *keys, *tmp; /* [maxrows] full sort (large k)                  */
    double *r;            /* [T] daily returns when the caller keeps none   */
    int8_t *sgn;          /* [maxrows] signs of one date's rows             */
} bwork;

/* Small k: one pass keeps the k smallest keys (lo, ascending) and the k
 * largest (hi, descending); a key is (score key << 32 | position in the
 * date), a total order, so ties go to the lower position in lo and the higher
 * in hi. Larger k: the valid keys are sorted. */
#define SMALL_K 64

/* Writes the weights of date t's cohort into cw (zeroed by the caller) and
 * counts its directional hits. */
static void form_cohort(const bctx *c, const float *sc, int32_t t, bwork *wk, double *cw,
                        int64_t *dir_n, int64_t *dir_hit)
{
    const vfr_panel *p = c->p;
    const vfr_backtest_options *o = c->o;
    const int64_t r0 = p->date_offset[t], r1 = p->date_offset[t + 1];
#define HOLD(row, weight)                                                        \
    do {                                                                         \
        int64_t i_ = (row);                                                      \
        double w_ = (weight);                                                    \
        cw[p->symbol[i_]] = w_;                                                  \
        if (p->fwd && isfinite(p->fwd[i_]) && p->fwd[i_] != 0.0f) {              \
            (*dir_n)++;                                                          \
            *dir_hit += (w_ > 0) == (p->fwd[i_] > 0.0f);                         \
        }                                                                        \
    } while (0)
    if (o->strategy == VFR_STRATEGY_LONG_SHORT_MEDIAN) {
        /* the date's finite scores in order; the median in double, as the
         * kernel computes it; names at the median are not held */
        int64_t nv = 0;
        for (int64_t i = r0; i < r1; i++)
            if (isfinite(sc[i]))
                wk->keys[nv++] = (uint64_t)vfri_metrics_float_key(sc[i]) << 32 | (uint64_t)(i - r0);
        if (nv < 2)
            return;
        vfri_metrics_sort_keys(wk->keys, wk->tmp, nv);
        const double a = sc[r0 + (int64_t)(wk->keys[(nv - 1) / 2] & 0xffffffffu)];
        const double b = sc[r0 + (int64_t)(wk->keys[nv / 2] & 0xffffffffu)];
        const double med = nv & 1 ? b : 0.5 * (a + b);
        int64_t nl = 0, ns = 0;
        for (int64_t i = r0; i < r1; i++)
            if (isfinite(sc[i])) {
                nl += (double)sc[i] > med;
                ns += (double)sc[i] < med;
            }
        if (nl == 0 || ns == 0)
            return;
        for (int64_t i = r0; i < r1; i++) {
            if (!isfinite(sc[i]))
                continue;
            if ((double)sc[i] > med)
                HOLD(i, 0.5 / (double)nl);
            else if ((double)sc[i] < med)
                HOLD(i, -0.5 / (double)ns);
        }
    } else if (o->strategy == VFR_STRATEGY_TOP_K) {
        int64_t nv = 0, kk = o->k;
        if (kk <= SMALL_K) {
            /* lo (ascending) holds the kk smallest keys, hi (descending) the kk
             * largest, padded with sentinels; a key enters by a branch-free
             * compare-exchange pass. Rows between the cut-offs (the scores of
             * lo's last and hi's last) cannot enter: a tie with lo's last loses
             * (higher position), a tie with hi's last wins. */
            for (int64_t j = 0; j < kk; j++)
                wk->lo[j] = UINT64_MAX, wk->hi[j] = 0;
            float lo_cut = INFINITY, hi_cut = -INFINITY;
            for (int64_t i = r0; i < r1; i++) {
                const float f = sc[i];
                if (!isfinite(f))
                    continue;
                nv++;
                if (f >= lo_cut && f < hi_cut)
                    continue;
                uint64_t v = (uint64_t)vfri_metrics_float_key(f) << 32 | (uint64_t)(i - r0);
                if (v < wk->lo[kk - 1]) {
                    uint64_t x = v;
                    for (int64_t j = 0; j < kk; j++) {
                        uint64_t y = wk->lo[j];
                        wk->lo[j] = y < x ? y : x;
                        x = y < x ? x : y;
                    }
                    if (wk->lo[kk - 1] != UINT64_MAX)
                        lo_cut = sc[r0 + (int64_t)(wk->lo[kk - 1] & 0xffffffffu)];
                }
                if (v > wk->hi[kk - 1]) {
                    uint64_t x = v;
                    for (int64_t j = 0; j < kk; j++) {
                        uint64_t y = wk->hi[j];
                        wk->hi[j] = y > x ? y : x;
                        x = y > x ? x : y;
                    }
                    if (wk->hi[kk - 1] != 0) /* real keys are > 0 */
                        hi_cut = sc[r0 + (int64_t)(wk->hi[kk - 1] & 0xffffffffu)];
                }
            }
        } else {
            for (int64_t i = r0; i < r1; i++)
                if (isfinite(sc[i]))
                    wk->keys[nv++] =
                        (uint64_t)vfri_metrics_float_key(sc[i]) << 32 | (uint64_t)(i - r0);
            vfri_metrics_sort_keys(wk->keys, wk->tmp, nv);
        }
        int64_t keff = kk < nv / 2 ? kk : nv / 2;
        double w = keff ? 0.5 / (double)keff : 0.0;
        for (int64_t j = 0; j < keff; j++) {
            uint64_t a = kk <= SMALL_K ? wk->lo[j] : wk->keys[j];
            uint64_t b = kk <= SMALL_K ? wk->hi[j] : wk->keys[nv - 1 - j];
            HOLD(r0 + (int64_t)(a & 0xffffffffu), -w);
            HOLD(r0 + (int64_t)(b & 0xffffffffu), w);
        }
    } else {
        /* Branch-free and in float (the signs of a date are a coin toss to
         * the branch predictor): for a float f, f > threshold exactly when
         * f > lo, the largest float <= threshold, and f < threshold exactly
         * when f < hi, the smallest float >= threshold. */
        float lo = (float)o->threshold, hi = lo;
        if ((double)lo > o->threshold)
            lo = nextafterf(lo, -INFINITY);
        if ((double)hi < o->threshold)
            hi = nextafterf(hi, INFINITY);
        const int ls = o->strategy == VFR_STRATEGY_LONG_SHORT_SIGN;
        int8_t *sgn = wk->sgn;
        int64_t act = 0, dn = 0, dh = 0;
        const float *fw = p->fwd;
        /* one vectorizable pass: signs, names held, directional hits ... */
        for (int64_t i = r0; i < r1; i++) {
            const float f = sc[i];
            const int sg = (fabsf(f) <= FLT_MAX) * ((f > lo) - (ls & (f < hi)));
            sgn[i - r0] = (int8_t)sg;
            act += sg != 0;
            if (fw) {
                const float g = fw[i];
                const int ok = (sg != 0) & (fabsf(g) <= FLT_MAX) & (g != 0.0f);
                dn += ok;
                dh += ok & ((sg > 0) == (g > 0.0f));
            }
        }
        *dir_n += dn, *dir_hit += dh;
        if (act == 0)
            return;
        /* ... then the weights, scattered by symbol */
        const double w = 1.0 / (double)act;
        for (int64_t i = r0; i < r1; i++)
            cw[p->symbol[i]] = sgn[i - r0] * w;
    }
#undef HOLD
}

static void run_strategy(const bctx *c, int32_t m, bwork *wk)
{
    const vfr_panel *p = c->p;
    const vfr_backtest_options *o = c->o;
    const int32_t S = p->S, T = p->T, h = o->horizon;
    const float *sc = c->score + (size_t)m * (size_t)p->N;
    double *r = c->daily ? c->daily + (size_t)m * (size_t)T : wk->r;
    double *row = c->metrics + (size_t)m * VFR_FIN_COUNT;
    const double cost = o->cost_bps * 1e-4;
    int64_t dir_n = 0, dir_hit = 0;
    double turn_sum = 0, expo_sum = 0, net_sum = 0;
    memset(wk->cw, 0, sizeof *wk->cw * (size_t)h * (size_t)S);
    memset(wk->w, 0, sizeof *wk->w * (size_t)S);
    for (int32_t t = 0; t < T; t++) {
        /* the cohort of date t takes the slot of the one of date t - h */
        double *cw = wk->cw + (size_t)(t % h) * (size_t)S;
        memset(cw, 0, sizeof *cw * (size_t)S);
        form_cohort(c, sc, t, wk, cw, &dir_n, &dir_hit);
        /* The new weights: the mean of the live cohorts, summed newest first
         * (with h = 1, the cohort itself). */
        const double *v = cw;
        if (h > 1) {
            double *acc = wk->acc;
            memcpy(acc, cw, sizeof *acc * (size_t)S);
            for (int32_t a = 1; a < h; a++) {
                const double *old = wk->cw + (size_t)((t - a + h) % h) * (size_t)S;
                for (int32_t s = 0; s < S; s++)
                    acc[s] += old[s];
            }
            for (int32_t s = 0; s < S; s++)
                acc[s] /= h;
            v = acc;
        }
        /* One pass for turnover, P&L and gross exposure. Four accumulators
         * per sum (symbol s goes to s mod 4) break the add chains; the order
         * is fixed, whatever the thread count. */
        const float *ret = c->r1 + (size_t)t * (size_t)S;
        double tu[4] = {0, 0, 0, 0}, pn[4] = {0, 0, 0, 0}, ex[4] = {0, 0, 0, 0}, ne[4] = {0, 0, 0, 0};
        double *w = wk->w;
        int32_t s = 0;
        for (; s + 4 <= S; s += 4) {
            const double v0 = v[s], v1 = v[s + 1], v2 = v[s + 2], v3 = v[s + 3];
            tu[0] += fabs(v0 - w[s]), tu[1] += fabs(v1 - w[s + 1]);
            tu[2] += fabs(v2 - w[s + 2]), tu[3] += fabs(v3 - w[s + 3]);
            w[s] = v0, w[s + 1] = v1, w[s + 2] = v2, w[s + 3] = v3;
            pn[0] += v0 * ret[s], pn[1] += v1 * ret[s + 1];
            pn[2] += v2 * ret[s + 2], pn[3] += v3 * ret[s + 3];
            ex[0] += fabs(v0), ex[1] += fabs(v1), ex[2] += fabs(v2), ex[3] += fabs(v3);
            ne[0] += v0, ne[1] += v1, ne[2] += v2, ne[3] += v3;
        }
        for (; s < S; s++) {
            tu[s & 3] += fabs(v[s] - w[s]);
            w[s] = v[s];
            pn[s & 3] += v[s] * ret[s];
            ex[s & 3] += fabs(v[s]);
            ne[s & 3] += v[s];
        }
        const double turn = (tu[0] + tu[1]) + (tu[2] + tu[3]);
        r[t] = (pn[0] + pn[1]) + (pn[2] + pn[3]) - cost * turn;
        turn_sum += turn;
        expo_sum += (ex[0] + ex[1]) + (ex[2] + ex[3]);
        net_sum += (ne[0] + ne[1]) + (ne[2] + ne[3]);
    }
    for (int k = 0; k < VFR_FIN_COUNT; k++)
        row[k] = NAN;
    return_stats(r, T, o, row);
    row[VFR_FIN_DIRECTIONAL_ACCURACY] = dir_n ? (double)dir_hit / (double)dir_n : NAN;
    row[VFR_FIN_TURNOVER] = T ? turn_sum / T : NAN;
    row[VFR_FIN_EXPOSURE] = T ? expo_sum / T : NAN;
    row[VFR_FIN_NET_EXPOSURE] = T ? net_sum / T : NAN;
}

static vfr_status backtest_worker(void *arg, int tid, int nthreads)
{
    const bctx *c = arg;
    const vfr_panel *p = c->p;
    const size_t h = (size_t)c->o->horizon, S = (size_t)(p->S > 0 ? p->S : 1);
    const size_t mr = (size_t)(c->maxrows > 0 ? c->maxrows : 1);
    const size_t k = (size_t)(c->o->k > 0 ? c->o->k : 1), T = (size_t)(p->T > 0 ? p->T : 1);
    bwork wk = {malloc(sizeof(double) * h * S), malloc(sizeof(double) * S),
                malloc(sizeof(double) * S),       malloc(sizeof(uint64_t) * k),
                malloc(sizeof(uint64_t) * k),     malloc(sizeof(uint64_t) * mr),
                malloc(sizeof(uint64_t) * mr),    malloc(sizeof(double) * T),
                malloc(mr)};
    vfr_status st = VFR_OK;
    if (!wk.cw || !wk.w || !wk.acc || !wk.lo || !wk.hi || !wk.keys || !wk.tmp || !wk.r ||
        !wk.sgn)
        st = VFR_ERR_NOMEM;
    for (int32_t m = tid; st == VFR_OK && m < c->M; m += nthreads)
        run_strategy(c, m, &wk);
    free(wk.cw), free(wk.w), free(wk.lo), free(wk.hi), free(wk.keys), free(wk.tmp), free(wk.r);
    free(wk.sgn), free(wk.acc);
    return st;
}

vfr_status vfr_backtest_cpu(const vfr_panel *p, const float *score, int32_t M,
                            const vfr_backtest_options *o, double *metrics, double *daily)
{
    vfr_status st = vfri_backtest_check_args(p, score, M, o, metrics);
    if (st != VFR_OK)
        return st;
    int64_t maxrows = 0;
    for (int32_t t = 0; t < p->T; t++)
        if (p->date_offset[t + 1] - p->date_offset[t] > maxrows)
            maxrows = p->date_offset[t + 1] - p->date_offset[t];
    /* 1-day returns by (date, symbol), shared by every strategy: a missing row
     * or a NaN return earns nothing. */
    size_t cells = (size_t)(p->T > 0 ? p->T : 1) * (size_t)(p->S > 0 ? p->S : 1);
    float *r1 = calloc(cells, sizeof *r1);
    if (!r1)
        return vfr_fail(VFR_ERR_NOMEM, "backtest: out of memory (%d dates x %d symbols)", p->T,
                        p->S);
    for (int32_t t = 0; t < p->T; t++)
        for (int64_t i = p->date_offset[t]; i < p->date_offset[t + 1]; i++)
            if (isfinite(p->fwd1[i]))
                r1[(size_t)t * (size_t)p->S + (size_t)p->symbol[i]] = p->fwd1[i];
    bctx c = {p, score, M, o, metrics, daily, r1, maxrows};
    st = vfri_metrics_parallel(vfri_metrics_threads(o->threads, M), backtest_worker, &c);
    if (st == VFR_ERR_NOMEM)
        st = vfr_fail(VFR_ERR_NOMEM, "backtest: out of memory");
    free(r1);
    return st;
}

#ifndef VFR_HAVE_CUDA
vfr_status vfr_backtest_cuda(const vfr_panel *p, const float *score, int32_t M,
                             const vfr_backtest_options *o, double *metrics, double *daily)
{
    (void)p, (void)score, (void)M, (void)o, (void)metrics, (void)daily;
    return vfr_fail(VFR_ERR_NO_DEVICE, "backtest: vfr was built without CUDA");
}

vfr_status vfr_backtest_stats_cuda(const double *daily, int32_t M, int32_t T,
                                   const vfr_backtest_options *o, double *metrics)
{
    (void)daily, (void)M, (void)T, (void)o, (void)metrics;
    return vfr_fail(VFR_ERR_NO_DEVICE, "backtest: vfr was built without CUDA");
}

vfr_status vfr_backtest_staged(const vfr_gpu_panel *g, vfr_gpu_work *w, const float *score, int32_t M,
                               const vfr_backtest_options *o, double *metrics, double *daily)
{
    (void)g, (void)w, (void)score, (void)M, (void)o, (void)metrics, (void)daily;
    return vfr_fail(VFR_ERR_NO_DEVICE, "backtest: vfr was built without CUDA");
}
#endif

vfr_status vfr_backtest(vfr_device_kind dev, const vfr_panel *p, const float *score, int32_t M,
                        const vfr_backtest_options *o, double *metrics, double *daily)
{
    if (dev == VFR_DEVICE_CUDA)
        return vfr_backtest_cuda(p, score, M, o, metrics, daily);
    return vfr_backtest_cpu(p, score, M, o, metrics, daily);
}

vfr_status vfr_backtest_stats(vfr_device_kind dev, const double *daily, int32_t M, int32_t T,
                              const vfr_backtest_options *o, double *metrics)
{
    if (dev == VFR_DEVICE_CUDA)
        return vfr_backtest_stats_cuda(daily, M, T, o, metrics);
    return vfr_backtest_stats_cpu(daily, M, T, o, metrics);
}
