/* test_features.c: the standard price features (features.h, docs/features.md).
 * Checks closed-form values on a linear series, hand-worked RSI and volatility,
 * every feature against a naive per-row reference written from the docs, the
 * warm-up NaNs, that no row reads a later price (rows <= k are bit-identical
 * after prices past k change), argument errors and forward returns. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_SEED 0x9E3779B97F4A7C15ull
#include "test_util.h"
#include "vfr/features.h"

/* The documented set, in storage order, with each warm-up (first finite row). */
static const struct {
    const char *name;
    int warmup;
} expect[] = {
    {"ret_1d", 1},          {"ret_5d", 5},          {"ret_10d", 10},
    {"ret_20d", 20},        {"ret_60d", 60},        {"logret_1d", 1},
    {"vol_5d", 5},          {"vol_20d", 20},        {"vol_60d", 60},
    {"rsi_14", 14},         {"sma_ratio_5", 4},     {"sma_ratio_20", 19},
    {"sma_ratio_50", 49},   {"sma_ratio_200", 199}, {"sma_cross_5_20", 19},
    {"macd", 25},           {"macd_signal", 33},    {"macd_hist", 33},
    {"bb_pctb_20", 19},     {"zscore_20", 19},      {"dist_high_20", 19},
    {"dist_low_20", 19},    {"dist_high_252", 251}, {"dist_low_252", 251},
    {"vol_ratio_5_20", 20}, {"mom_252_21", 252},
};
enum { NEXPECT = sizeof expect / sizeof expect[0] };

static int F;

static int fidx(const char *name)
{
    for (int f = 0; f < F; f++)
        if (strcmp(vfr_features_price_name(f), name) == 0)
            return f;
    fprintf(stderr, "no feature named %s\n", name);
    exit(1);
}


static void random_walk(float *c, int64_t T)
{
    double p = 50.0;
    for (int64_t t = 0; t < T; t++) {
        p *= exp(0.02 * (test_urand() - 0.5) * 2.0);
        /* Two decimals, as market data; gives flat days now and then. */
        c[t] = (float)(round(p * 100.0) / 100.0);
    }
}

static void test_names(void)
{
    CHECK(F >= 22);
    CHECK(F == NEXPECT);
    for (int f = 0; f < F && f < NEXPECT; f++) {
        const char *n = vfr_features_price_name(f);
        CHECK(n && strcmp(n, expect[f].name) == 0);
        for (const char *p = n; p && *p; p++)
            CHECK((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_');
        for (int g = 0; g < f; g++)
            CHECK(strcmp(n, vfr_features_price_name(g)) != 0);
    }
    CHECK(vfr_features_price_name(-1) == NULL);
    CHECK(vfr_features_price_name(F) == NULL);
}

/* close = 100 + t: most features have a closed form. An EMA seeded with the
 * SMA of a linear series stays exactly (n-1)/2 below it, so
 * macd = (EMA12 - EMA26)/c = 7/c. */
static void test_linear(void)
{
    enum { T = 300 };
    static float c[T], out[T * 32];
    for (int t = 0; t < T; t++)
        c[t] = (float)(100 + t);
    CHECK_OK(vfr_features_price_cpu(c, T, out, F));
    const double sd20 = sqrt(399.0 / 12.0); /* population std of 20 consecutive integers */
    for (int t = 260; t < T; t += 13) {
        double x = 100.0 + t;
#define V(name) ((double)out[t * F + fidx(name)])
        CHECK_NEAR(V("ret_1d"), x / (x - 1) - 1, 1e-7, 1e-6);
        CHECK_NEAR(V("ret_5d"), x / (x - 5) - 1, 1e-7, 1e-6);
        CHECK_NEAR(V("ret_60d"), x / (x - 60) - 1, 1e-7, 1e-6);
        CHECK_NEAR(V("logret_1d"), log(x / (x - 1)), 1e-7, 1e-6);
        CHECK_NEAR(V("sma_ratio_5"), x / (x - 2) - 1, 1e-7, 1e-6);
        CHECK_NEAR(V("sma_ratio_20"), x / (x - 9.5) - 1, 1e-7, 1e-6);
        CHECK_NEAR(V("sma_ratio_50"), x / (x - 24.5) - 1, 1e-7, 1e-6);
        CHECK_NEAR(V("sma_ratio_200"), x / (x - 99.5) - 1, 1e-7, 1e-6);
        CHECK_NEAR(V("sma_cross_5_20"), (x - 2) / (x - 9.5) - 1, 1e-7, 1e-6);
        CHECK_NEAR(V("rsi_14"), 100.0, 1e-4, 0);
        CHECK_NEAR(V("macd"), 7.0 / x, 1e-7, 1e-5);
        CHECK_NEAR(V("bb_pctb_20"), (9.5 + 2 * sd20) / (4 * sd20), 1e-6, 1e-6);
        CHECK_NEAR(V("zscore_20"), 9.5 / sd20, 1e-6, 1e-6);
        CHECK(V("dist_high_20") == 0.0);
        CHECK(V("dist_high_252") == 0.0);
        CHECK_NEAR(V("dist_low_20"), x / (x - 19) - 1, 1e-7, 1e-6);
        CHECK_NEAR(V("dist_low_252"), x / (x - 251) - 1, 1e-7, 1e-6);
        CHECK_NEAR(V("mom_252_21"), (x - 21) / (x - 252) - 1, 1e-7, 1e-6);
#undef V
    }
}

/* Worked by hand. RSI: 14 alternating +1/-1 changes give average gain = loss
 * = 0.5 and RSI 50; then +2: gain (13*0.5+2)/14 = 8.5/14, loss 6.5/14, RSI
 * 100*8.5/15; then -1: gain 110.5/196, loss 98.5/196, RSI 100*110.5/209.
 * vol_5d on 10,11,10,12,12,15: returns .1, -1/11, .2, 0, .25. */
static void test_hand(void)
{
    enum { T = 17 };
    float c[T], out[T * 32];
    c[0] = 20.0f;
    for (int t = 1; t <= 14; t++)
        c[t] = c[t - 1] + (t % 2 ? 1.0f : -1.0f);
    c[15] = c[14] + 2.0f;
    c[16] = c[15] - 1.0f;
    CHECK_OK(vfr_features_price_cpu(c, T, out, F));
    int rsi = fidx("rsi_14");
    CHECK(isnan(out[13 * F + rsi]));
    CHECK_NEAR(out[14 * F + rsi], 50.0, 1e-5, 0);
    CHECK_NEAR(out[15 * F + rsi], 100.0 * 8.5 / 15.0, 1e-5, 0);
    CHECK_NEAR(out[16 * F + rsi], 100.0 * 110.5 / 209.0, 1e-5, 0);

    float v[6] = {10, 11, 10, 12, 12, 15}, vo[6 * 32];
    CHECK_OK(vfr_features_price_cpu(v, 6, vo, F));
    double r[5] = {0.1, -1.0 / 11.0, 0.2, 0.0, 0.25}, m = 0, ss = 0;
    for (int i = 0; i < 5; i++)
        m += r[i] / 5;
    for (int i = 0; i < 5; i++)
        ss += (r[i] - m) * (r[i] - m);
    CHECK_NEAR(vo[5 * F + fidx("vol_5d")], sqrt(ss / 4), 1e-8, 1e-6);
    CHECK_NEAR(vo[5 * F + fidx("vol_5d")], 0.140188774736009, 1e-8, 1e-6); /* Python statistics.stdev */
    CHECK_NEAR(vo[5 * F + fidx("ret_5d")], 0.5, 1e-8, 0);
    CHECK_NEAR(vo[4 * F + fidx("sma_ratio_5")], 1.0 / 11.0, 1e-8, 1e-6);
    CHECK(isnan(vo[4 * F + fidx("vol_5d")]));

    /* A flat series: zero spread gives the documented limits, not NaN. */
    enum { TF = 300 };
    static float flat[TF], fo[TF * 32];
    for (int t = 0; t < TF; t++)
        flat[t] = 42.5f;
    CHECK_OK(vfr_features_price_cpu(flat, TF, fo, F));
    for (int f = 0; f < F; f++) {
        const char *n = vfr_features_price_name(f);
        double want = !strcmp(n, "rsi_14") ? 50.0 : !strcmp(n, "bb_pctb_20") ? 0.5
                      : !strcmp(n, "vol_ratio_5_20")                        ? 1.0
                                                                             : 0.0;
        CHECK(fo[(TF - 1) * F + f] == want);
    }
}

/* ---- a naive reference, one row at a time, straight from docs/features.md ---- */

static int num(const char *s) { return (int)strtol(s, NULL, 10); }

static double sma(const float *c, int t, int n)
{
    double s = 0;
    for (int i = t - n + 1; i <= t; i++)
        s += c[i];
    return s / n;
}

static double ret(const float *c, int i) { return (double)c[i] / c[i - 1] - 1; }

static double sample_std_ret(const float *c, int t, int n)
{
    double m = 0, ss = 0;
    for (int i = t - n + 1; i <= t; i++)
        m += ret(c, i);
    m /= n;
    for (int i = t - n + 1; i <= t; i++)
        ss += (ret(c, i) - m) * (ret(c, i) - m);
    return sqrt(ss / (n - 1));
}

/* EMA of x[first..t] seeded with the mean of its first n values. */
static double ema_at(const double *x, int first, int t, int n)
{
    double e = 0, a = 2.0 / (n + 1);
    for (int i = first; i < first + n; i++)
        e += x[i] / n;
    for (int i = first + n; i <= t; i++)
        e += a * (x[i] - e);
    return e;
}

static double reference(const float *c, int t, const char *name)
{
    static double cd[4096], macd[4096];
    for (int i = 0; i <= t; i++)
        cd[i] = c[i];
    if (!strncmp(name, "ret_", 4)) {
        int n = num(name + 4);
        return (double)c[t] / c[t - n] - 1;
    }
    if (!strcmp(name, "logret_1d"))
        return log((double)c[t] / c[t - 1]);
    if (!strncmp(name, "vol_ratio", 9)) {
        double v20 = sample_std_ret(c, t, 20);
        return v20 > 0 ? sample_std_ret(c, t, 5) / v20 : 1.0;
    }
    if (!strncmp(name, "vol_", 4))
        return sample_std_ret(c, t, num(name + 4));
    if (!strcmp(name, "rsi_14")) {
        double ag = 0, al = 0;
        for (int i = 1; i <= t; i++) {
            double d = (double)c[i] - c[i - 1];
            double g = d > 0 ? d : 0, l = d < 0 ? -d : 0;
            if (i <= 14) {
                ag += g / 14;
                al += l / 14;
            } else {
                ag = (13 * ag + g) / 14;
                al = (13 * al + l) / 14;
            }
        }
        return ag + al > 0 ? 100 * ag / (ag + al) : 50;
    }
    if (!strncmp(name, "sma_ratio_", 10))
        return c[t] / sma(c, t, num(name + 10)) - 1;
    if (!strcmp(name, "sma_cross_5_20"))
        return sma(c, t, 5) / sma(c, t, 20) - 1;
    if (!strncmp(name, "macd", 4)) {
        for (int i = 25; i <= t; i++)
            macd[i] = (ema_at(cd, 0, i, 12) - ema_at(cd, 0, i, 26)) / c[i];
        if (!strcmp(name, "macd"))
            return macd[t];
        double sig = ema_at(macd, 25, t, 9);
        return !strcmp(name, "macd_signal") ? sig : macd[t] - sig;
    }
    if (!strcmp(name, "bb_pctb_20") || !strcmp(name, "zscore_20")) {
        double m = sma(c, t, 20), ss = 0;
        for (int i = t - 19; i <= t; i++)
            ss += (c[i] - m) * (c[i] - m);
        double sd = sqrt(ss / 20);
        if (name[0] == 'b')
            return sd > 0 ? (c[t] - (m - 2 * sd)) / (4 * sd) : 0.5;
        return sd > 0 ? (c[t] - m) / sd : 0;
    }
    if (!strncmp(name, "dist_", 5)) {
        int high = name[5] == 'h';
        int n = num(name + (high ? 10 : 9));
        double e = c[t];
        for (int i = t - n + 1; i <= t; i++)
            e = high ? fmax(e, c[i]) : fmin(e, c[i]);
        return c[t] / e - 1;
    }
    if (!strcmp(name, "mom_252_21"))
        return (double)c[t - 21] / c[t - 252] - 1;
    fprintf(stderr, "reference: unknown feature %s\n", name);
    exit(1);
}

/* Every feature against the reference, and the warm-up rows. */
static void test_reference_and_warmup(void)
{
    enum { T = 420, LD = 40 };
    static float c[T], out[T * LD];
    random_walk(c, T);
    for (int i = 0; i < T * LD; i++)
        out[i] = -12345.0f; /* columns past F must stay untouched */
    CHECK_OK(vfr_features_price_cpu(c, T, out, LD));
    int bad = 0;
    for (int f = 0; f < F && f < NEXPECT; f++) {
        const char *name = vfr_features_price_name(f);
        int W = expect[f].warmup;
        for (int t = 0; t < T; t++) {
            float got = out[t * LD + f];
            if (t < W) {
                if (!isnan(got) && bad++ < 10)
                    fprintf(stderr, "%s[%d] = %g, want NaN (warm-up %d)\n", name, t, got, W);
                continue;
            }
            /* Only the rows near and past the warm-up: the reference is O(T^2). */
            if (t > W + 40 && t % 17 != 0)
                continue;
            double ref = reference(c, t, name);
            double tol = 2e-6 + 2e-5 * fabs(ref);
            if (!(fabs(got - ref) <= tol) && bad++ < 10)
                fprintf(stderr, "%s[%d] = %.9g, reference %.9g\n", name, t, got, ref);
        }
    }
    for (int t = 0; t < T; t++)
        for (int f = F; f < LD; f++)
            if (out[t * LD + f] != -12345.0f && bad++ < 10)
                fprintf(stderr, "column %d (past F) written at row %d\n", f, t);
    CHECK(bad == 0);
}

/* No look-ahead: change every price after k; rows 0..k stay bit-identical. */
static void test_no_lookahead(void)
{
    enum { T = 600 };
    static float c[T], c2[T], a[T * 32], b[T * 32];
    random_walk(c, T);
    CHECK_OK(vfr_features_price_cpu(c, T, a, F));
    static const int ks[] = {0, 1, 4, 13, 14, 19, 25, 33, 60, 199, 250, 251, 252, 253, 400, 598};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        int k = ks[i];
        memcpy(c2, c, sizeof c);
        for (int t = k + 1; t < T; t++)
            c2[t] = (float)(c[t] * (0.5 + 1.5 * test_urand()));
        CHECK_OK(vfr_features_price_cpu(c2, T, b, F));
        if (memcmp(a, b, (size_t)(k + 1) * F * sizeof(float)) != 0) {
            fprintf(stderr, "features of rows <= %d changed when prices after %d did\n", k, k);
            test_failures++;
        }
        /* And the change is seen right after k (the test would be vacuous otherwise). */
        CHECK(memcmp(a + (k + 1) * F, b + (k + 1) * F, (size_t)F * sizeof(float)) != 0);
    }
}

static void test_errors(void)
{
    float c[30], out[30 * 32];
    for (int t = 0; t < 30; t++)
        c[t] = 10.0f + t;
    CHECK_FAIL(vfr_features_price_cpu(c, 30, out, F - 1), VFR_ERR_INVALID_ARG, "ld");
    CHECK_FAIL(vfr_features_price_cpu(c, -1, out, F), VFR_ERR_INVALID_ARG, "T -1");
    CHECK_OK(vfr_features_price_cpu(c, 0, out, F));
    c[7] = 0.0f;
    CHECK_FAIL(vfr_features_price_cpu(c, 30, out, F), VFR_ERR_INVALID_ARG, "close[7]");
    c[7] = -3.0f;
    CHECK_FAIL(vfr_features_price_cpu(c, 30, out, F), VFR_ERR_INVALID_ARG, "close[7]");
    c[7] = NAN;
    CHECK_FAIL(vfr_features_price_cpu(c, 30, out, F), VFR_ERR_INVALID_ARG, "close[7]");
    c[7] = 17.0f;
    /* A single row: every feature is still in warm-up. */
    CHECK_OK(vfr_features_price_cpu(c, 1, out, F));
    for (int f = 0; f < F; f++)
        CHECK(isnan(out[f]));
}

static void test_forward_returns(void)
{
    float c[6] = {10, 11, 12.1f, 10, 20, 5};
    int32_t h[2] = {1, 3};
    float out[6 * 3];
    for (int i = 0; i < 18; i++)
        out[i] = -1.0f;
    vfr_features_forward_returns(c, 6, h, 2, out, 3);
    CHECK_NEAR(out[0 * 3 + 0], 0.1, 1e-7, 0);
    CHECK_NEAR(out[0 * 3 + 1], 0.0, 1e-7, 0);   /* 10 -> 10 */
    CHECK_NEAR(out[1 * 3 + 1], 20.0 / 11 - 1, 1e-7, 0);
    CHECK_NEAR(out[2 * 3 + 1], 5.0 / 12.1 - 1, 1e-7, 0);
    CHECK_NEAR(out[4 * 3 + 0], -0.75, 1e-7, 0);
    CHECK(isnan(out[3 * 3 + 1]) && isnan(out[5 * 3 + 0]) && isnan(out[5 * 3 + 1]));
    CHECK(!isnan(out[4 * 3 + 0]) && isnan(out[4 * 3 + 1]));
    for (int t = 0; t < 6; t++)
        CHECK(out[t * 3 + 2] == -1.0f); /* past H, within ld: untouched */
}

int main(void)
{
    F = vfr_features_price_count();
    if (F > 32) {
        fprintf(stderr, "test buffers assume F <= 32, have %d\n", F);
        return 1;
    }
    test_names();
    test_linear();
    test_hand();
    test_reference_and_warmup();
    test_no_lookahead();
    test_errors();
    test_forward_returns();
    return test_done("test_features");
}
