/* features.c: the standard price features that `vfr pack` derives from one
 * symbol's closes, and forward returns. Written plainly (loops, double
 * accumulators) because it is its own reference: docs/features.md gives each
 * formula and warm-up, and tests/test_features.c checks values and that a row
 * never reads a later price. Not a technical-analysis library: the set is fixed. */
#include "vfr/features.h"

#include <math.h>
#include <stdlib.h>

/* Feature ids in storage order; names and warm-ups are in the tables below.
 * Warm-up W: rows t < W are NaN, rows t >= W are finite. */
enum {
    F_RET_1D,
    F_RET_5D,
    F_RET_10D,
    F_RET_20D,
    F_RET_60D,
    F_LOGRET_1D,
    F_VOL_5D,
    F_VOL_20D,
    F_VOL_60D,
    F_RSI_14,
    F_SMA_RATIO_5,
    F_SMA_RATIO_20,
    F_SMA_RATIO_50,
    F_SMA_RATIO_200,
    F_SMA_CROSS_5_20,
    F_MACD,
    F_MACD_SIGNAL,
    F_MACD_HIST,
    F_BB_PCTB_20,
    F_ZSCORE_20,
    F_DIST_HIGH_20,
    F_DIST_LOW_20,
    F_DIST_HIGH_252,
    F_DIST_LOW_252,
    F_VOL_RATIO_5_20,
    F_MOM_252_21,
    F_COUNT
};

static const char *const feature_names[F_COUNT] = {
    [F_RET_1D] = "ret_1d",
    [F_RET_5D] = "ret_5d",
    [F_RET_10D] = "ret_10d",
    [F_RET_20D] = "ret_20d",
    [F_RET_60D] = "ret_60d",
    [F_LOGRET_1D] = "logret_1d",
    [F_VOL_5D] = "vol_5d",
    [F_VOL_20D] = "vol_20d",
    [F_VOL_60D] = "vol_60d",
    [F_RSI_14] = "rsi_14",
    [F_SMA_RATIO_5] = "sma_ratio_5",
    [F_SMA_RATIO_20] = "sma_ratio_20",
    [F_SMA_RATIO_50] = "sma_ratio_50",
    [F_SMA_RATIO_200] = "sma_ratio_200",
    [F_SMA_CROSS_5_20] = "sma_cross_5_20",
    [F_MACD] = "macd",
    [F_MACD_SIGNAL] = "macd_signal",
    [F_MACD_HIST] = "macd_hist",
    [F_BB_PCTB_20] = "bb_pctb_20",
    [F_ZSCORE_20] = "zscore_20",
    [F_DIST_HIGH_20] = "dist_high_20",
    [F_DIST_LOW_20] = "dist_low_20",
    [F_DIST_HIGH_252] = "dist_high_252",
    [F_DIST_LOW_252] = "dist_low_252",
    [F_VOL_RATIO_5_20] = "vol_ratio_5_20",
    [F_MOM_252_21] = "mom_252_21",
};

/* EMA periods of MACD: fast 12, slow 26, signal 9 (the signal EMA runs on the
 * MACD series, which starts at the slow EMA's seed row). */
enum { EMA_FAST = 12, EMA_SLOW = 26, EMA_SIGNAL = 9 };
enum { MACD_FIRST = EMA_SLOW - 1, SIGNAL_FIRST = MACD_FIRST + EMA_SIGNAL - 1 };

int32_t vfr_features_price_count(void) { return F_COUNT; }

const char *vfr_features_price_name(int32_t f)
{
    if (f < 0 || f >= F_COUNT)
        return NULL;
    return feature_names[f];
}

/* Mean and standard deviation of x[t-n+1..t] in two passes, so that a window
 * of equal values gives exactly 0. ddof is 0 (population) or 1 (sample). */
static void window_mean_std(const double *x, int64_t t, int n, int ddof, double *mean, double *sd)
{
    double s = 0.0;
    for (int64_t i = t - n + 1; i <= t; i++)
        s += x[i];
    double m = s / n;
    double ss = 0.0;
    for (int64_t i = t - n + 1; i <= t; i++) {
        double d = x[i] - m;
        ss += d * d;
    }
    *mean = m;
    *sd = sqrt(ss / (n - ddof));
}

/* out[t] for t >= first+n-1: seeded with the mean of x[first..first+n-1] at
 * row first+n-1, then ema[t] = a*x[t] + (1-a)*ema[t-1] with a = 2/(n+1). */
static void ema(const double *x, int64_t first, int64_t T, int n, double *out)
{
    int64_t seed = first + n - 1;
    if (seed >= T)
        return;
    double s = 0.0;
    for (int64_t i = first; i <= seed; i++)
        s += x[i];
    double a = 2.0 / (n + 1), e = s / n;
    out[seed] = e;
    for (int64_t t = seed + 1; t < T; t++) {
        e += a * (x[t] - e); /* = a*x + (1-a)*e, and exact when x == e */
        out[t] = e;
    }
}

/* Rolling max (sign = +1) or min (sign = -1) of c over the last n rows, for
 * t >= n-1, with a monotone deque of indices: O(T) whatever n. */
static void rolling_extreme(const double *c, int64_t T, int n, int sign, int64_t *dq, double *out)
{
    int64_t head = 0, tail = 0; /* dq[head..tail) holds candidate indices */
    for (int64_t t = 0; t < T; t++) {
        while (tail > head && sign * c[dq[tail - 1]] <= sign * c[t])
            tail--;
        dq[tail++] = t;
        if (dq[head] <= t - n)
            head++;
        if (t >= n - 1)
            out[t] = c[dq[head]];
    }
}

/* RSI with Wilder's smoothing: plain means of the first 14 gains and losses,
 * then avg = (13*avg + x)/14. Writes column F_RSI_14 of out (leading dim ld). */
static void rsi_14(const double *c, int64_t T, float *out, int64_t ld)
{
    if (T > 14) {
        double ag = 0.0, al = 0.0;
        for (int64_t t = 1; t < T; t++) {
            double d = c[t] - c[t - 1];
            double g = d > 0.0 ? d : 0.0, l = d < 0.0 ? -d : 0.0;
            if (t <= 14) {
                ag += g;
                al += l;
                if (t < 14)
                    continue;
                ag /= 14.0;
                al /= 14.0;
            } else {
                ag = (13.0 * ag + g) / 14.0;
                al = (13.0 * al + l) / 14.0;
            }
            out[t * ld + F_RSI_14] = ag + al > 0.0 ? (float)(100.0 * ag / (ag + al)) : 50.0f;
        }
    }
}

vfr_status vfr_features_price_cpu(const float *close, int64_t T, float *out, int64_t ld)
{
    if (T < 0 || ld < F_COUNT || (T > 0 && (!close || !out)))
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "features_price: bad arguments (T %lld, ld %lld, need ld >= %d)",
                        (long long)T, (long long)ld, F_COUNT);
    for (int64_t t = 0; t < T; t++)
        if (!(isfinite(close[t]) && close[t] > 0.0f))
            return vfr_fail(VFR_ERR_INVALID_ARG,
                            "features_price: close[%lld] = %g is not a positive finite price",
                            (long long)t, (double)close[t]);
    if (T == 0)
        return VFR_OK;

    vfr_status st = VFR_OK;
    /* Workspace, all [T] except P [T+1]: close, 1-day return, prefix sums of
     * close, EMAs, MACD and its signal, rolling extremes, deque indices. */
    double *c = malloc((size_t)T * sizeof *c);
    double *r = malloc((size_t)T * sizeof *r);
    double *P = malloc((size_t)(T + 1) * sizeof *P);
    double *ef = malloc((size_t)T * sizeof *ef);
    double *es = malloc((size_t)T * sizeof *es);
    double *macd = malloc((size_t)T * sizeof *macd);
    double *sig = malloc((size_t)T * sizeof *sig);
    double *ext = malloc((size_t)T * sizeof *ext);
    int64_t *dq = malloc((size_t)T * sizeof *dq);
    if (!c || !r || !P || !ef || !es || !macd || !sig || !ext || !dq) {
        st = vfr_fail(VFR_ERR_NOMEM, "features_price: out of memory (T %lld)", (long long)T);
        goto fail;
    }

#define OUT(t, f) out[(t) * ld + (f)]
    for (int64_t t = 0; t < T; t++)
        for (int f = 0; f < F_COUNT; f++)
            OUT(t, f) = NAN;

    P[0] = 0.0;
    r[0] = NAN;
    for (int64_t t = 0; t < T; t++) {
        c[t] = close[t];
        P[t + 1] = P[t] + c[t];
        if (t > 0)
            r[t] = c[t] / c[t - 1] - 1.0;
    }

    /* Returns over n days, and momentum skipping the last month. */
    static const struct { int f, n; } rets[] = {
        {F_RET_1D, 1}, {F_RET_5D, 5}, {F_RET_10D, 10}, {F_RET_20D, 20}, {F_RET_60D, 60}};
    for (size_t k = 0; k < sizeof rets / sizeof rets[0]; k++)
        for (int64_t t = rets[k].n; t < T; t++)
            OUT(t, rets[k].f) = (float)(c[t] / c[t - rets[k].n] - 1.0);
    for (int64_t t = 1; t < T; t++)
        OUT(t, F_LOGRET_1D) = (float)log(c[t] / c[t - 1]);
    for (int64_t t = 252; t < T; t++)
        OUT(t, F_MOM_252_21) = (float)(c[t - 21] / c[t - 252] - 1.0);

    /* Volatility: sample std of the last n daily returns r[t-n+1..t], which
     * needs r from row 1, so the first value is at row n. */
    static const struct { int f, n; } vols[] = {{F_VOL_5D, 5}, {F_VOL_20D, 20}, {F_VOL_60D, 60}};
    for (size_t k = 0; k < sizeof vols / sizeof vols[0]; k++)
        for (int64_t t = vols[k].n; t < T; t++) {
            double m, sd;
            window_mean_std(r, t, vols[k].n, 1, &m, &sd);
            OUT(t, vols[k].f) = (float)sd;
        }
    for (int64_t t = 20; t < T; t++) {
        double m, v5, v20;
        window_mean_std(r, t, 5, 1, &m, &v5);
        window_mean_std(r, t, 20, 1, &m, &v20);
        /* Twenty flat days give 0/0; the short and long vol are then equal. */
        OUT(t, F_VOL_RATIO_5_20) = v20 > 0.0 ? (float)(v5 / v20) : 1.0f;
    }

    rsi_14(c, T, out, ld);

    /* Price against its simple moving averages (prefix sums: O(1) a row). */
    static const struct { int f, n; } smas[] = {
        {F_SMA_RATIO_5, 5}, {F_SMA_RATIO_20, 20}, {F_SMA_RATIO_50, 50}, {F_SMA_RATIO_200, 200}};
    for (size_t k = 0; k < sizeof smas / sizeof smas[0]; k++) {
        int n = smas[k].n;
        for (int64_t t = n - 1; t < T; t++)
            OUT(t, smas[k].f) = (float)(c[t] / ((P[t + 1] - P[t + 1 - n]) / n) - 1.0);
    }
    for (int64_t t = 19; t < T; t++) {
        double s5 = (P[t + 1] - P[t - 4]) / 5.0, s20 = (P[t + 1] - P[t - 19]) / 20.0;
        OUT(t, F_SMA_CROSS_5_20) = (float)(s5 / s20 - 1.0);
    }

    /* MACD as a fraction of price, so that it compares across symbols. */
    ema(c, 0, T, EMA_FAST, ef);
    ema(c, 0, T, EMA_SLOW, es);
    for (int64_t t = MACD_FIRST; t < T; t++) {
        macd[t] = (ef[t] - es[t]) / c[t];
        OUT(t, F_MACD) = (float)macd[t];
    }
    ema(macd, MACD_FIRST, T, EMA_SIGNAL, sig);
    for (int64_t t = SIGNAL_FIRST; t < T; t++) {
        OUT(t, F_MACD_SIGNAL) = (float)sig[t];
        OUT(t, F_MACD_HIST) = (float)(macd[t] - sig[t]);
    }

    /* Bollinger %B and z-score over 20 days, population std (Bollinger's own
     * definition). A flat window puts the price on the middle band. */
    for (int64_t t = 19; t < T; t++) {
        double m, sd;
        window_mean_std(c, t, 20, 0, &m, &sd);
        OUT(t, F_BB_PCTB_20) = sd > 0.0 ? (float)((c[t] - (m - 2.0 * sd)) / (4.0 * sd)) : 0.5f;
        OUT(t, F_ZSCORE_20) = sd > 0.0 ? (float)((c[t] - m) / sd) : 0.0f;
    }

    /* Distance from the rolling high and low (window includes today). */
    static const struct { int f, n, sign; } exts[] = {{F_DIST_HIGH_20, 20, 1},
                                                      {F_DIST_LOW_20, 20, -1},
                                                      {F_DIST_HIGH_252, 252, 1},
                                                      {F_DIST_LOW_252, 252, -1}};
    for (size_t k = 0; k < sizeof exts / sizeof exts[0]; k++) {
        rolling_extreme(c, T, exts[k].n, exts[k].sign, dq, ext);
        for (int64_t t = exts[k].n - 1; t < T; t++)
            OUT(t, exts[k].f) = (float)(c[t] / ext[t] - 1.0);
    }
#undef OUT

fail:
    free(c);
    free(r);
    free(P);
    free(ef);
    free(es);
    free(macd);
    free(sig);
    free(ext);
    free(dq);
    return st;
}

void vfr_features_forward_returns(const float *close, int64_t T, const int32_t *horizons,
                                  int32_t H, float *out, int64_t ld)
{
    for (int64_t t = 0; t < T; t++)
        for (int32_t k = 0; k < H; k++) {
            int64_t u = t + horizons[k];
            out[t * ld + k] =
                u < T && u >= 0 ? (float)((double)close[u] / (double)close[t] - 1.0) : NAN;
        }
}
