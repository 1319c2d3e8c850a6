/* test_synth.c: vfr_synth_write gives the same bytes for the same options,
 * the documented shape and order, forward returns that compound the 1-day
 * ones, and the signal docs/synth.md says is planted (a rule computed from the
 * features alone reaches the documented Bayes accuracy; a noise feature does
 * not). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "vfr/dataset.h"
#include "vfr/synth.h"

#define LOOKBACK 10                  /* docs/synth.md: L */
#define G_SCALE 1.0915125031489692   /* docs/synth.md: C */
#define BAYES_03 0.5924              /* docs/synth.md: accuracy of sign(g), signal 0.3 */
#define NO_LEVEL_03 0.5767           /* sign(g) without the hidden level */

static char *path_in_tmp(const char *name)
{
    static char buf[8][512];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", test_tmpdir(), name);
    return p;
}

/* Whole file into memory; NULL if it cannot be read. */
static unsigned char *slurp(const char *path, long *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n > 0 ? (size_t)*n : 1);
    if (b && fread(b, 1, (size_t)*n, f) != (size_t)*n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

/* 1 same bytes, 0 different, -1 unreadable. */
static int same_bytes(const char *a, const char *b)
{
    long na = 0, nb = 0;
    unsigned char *x = slurp(a, &na), *y = slurp(b, &nb);
    int r = (!x || !y) ? -1 : (na == nb && memcmp(x, y, (size_t)na) == 0);
    free(x);
    free(y);
    return r;
}

static int file_exists(const char *p)
{
    FILE *f = fopen(p, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

typedef struct progress_log {
    int calls;
    double last_done, last_total;
    int monotone;
} progress_log;

static void on_progress(void *user, const char *step, double done, double total)
{
    progress_log *p = user;
    if (strcmp(step, "synth") != 0 || done < p->last_done)
        p->monotone = 0;
    p->calls++;
    p->last_done = done;
    p->last_total = total;
}

static void test_determinism(void)
{
    vfr_synth_options o = {.S = 7, .T = 60, .F = 6, .seed = 42, .compression = -1};
    const char *a = path_in_tmp("a.h5"), *b = path_in_tmp("b.h5"), *c = path_in_tmp("c.h5");
    CHECK_OK(vfr_synth_write(a, &o));
    CHECK_OK(vfr_synth_write(b, &o));
    o.seed = 43;
    CHECK_OK(vfr_synth_write(c, &o));
    CHECK(same_bytes(a, b) == 1);
    CHECK(same_bytes(a, c) == 0);
    /* uncompressed too: the PRNG, not the deflate, must be deterministic */
    o.seed = 42;
    o.compression = 0;
    CHECK_OK(vfr_synth_write(b, &o));
    CHECK_OK(vfr_synth_write(c, &o));
    CHECK(same_bytes(b, c) == 1);
    CHECK(same_bytes(a, b) == 0);
}

static void test_shape_and_returns(void)
{
    enum { S = 5, T = 80, F = 6 };
    progress_log pl = {.monotone = 1};
    vfr_reporter rep = {.progress = on_progress, .user = &pl};
    vfr_synth_options o = {.S = S, .T = T, .F = F, .seed = 1, .compression = -1, .reporter = &rep};
    const char *p = path_in_tmp("shape.h5");
    CHECK_OK(vfr_synth_write(p, &o));
    CHECK(pl.calls >= 1 && pl.monotone && pl.last_done == T && pl.last_total == T);

    vfr_dataset *ds = NULL;
    CHECK_OK(vfr_dataset_open(p, &ds));
    if (!ds)
        return;
    const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
    CHECK(m->N == (int64_t)S * T && m->S == S && m->F == F && m->T == T && m->H == 4);
    CHECK(m->has_close == 1);
    int32_t want_h[4] = {1, 5, 10, 20};
    for (int k = 0; k < 4 && k < m->H; k++)
        CHECK(m->horizons[k] == want_h[k]);
    int32_t d0 = 0;
    CHECK_OK(vfr_date_parse("2010-01-04", &d0));
    CHECK(m->date_first == d0);
    CHECK(strcmp(m->symbols[0], "S0000") == 0 && strcmp(m->symbols[S - 1], "S0004") == 0);
    CHECK(strcmp(m->feature_names[0], "x0") == 0 && strcmp(m->feature_names[5], "x5") == 0);
    for (int32_t s = 1; s < S; s++)
        CHECK(strcmp(m->symbols[s - 1], m->symbols[s]) < 0);
    int bad_order = 0, weekend = 0;
    for (int64_t i = 0; i < m->N; i++) {
        if (m->symbol[i] != (int32_t)(i % S) || (i >= S && m->date[i] <= m->date[i - S]) ||
            (i % S && m->date[i] != m->date[i - 1]))
            bad_order++;
        if (((m->date[i] % 7 + 7 + 3) % 7) >= 5)
            weekend++;
    }
    CHECK(bad_order == 0);
    CHECK(weekend == 0);
    /* 80 business days from Monday 2010-01-04 end on Friday 2010-04-23 */
    int32_t dl = 0;
    CHECK_OK(vfr_date_parse("2010-04-23", &dl));
    CHECK(m->date_last == dl);

    float *fwd = malloc(sizeof(float) * (size_t)m->N * 4);
    float *close = malloc(sizeof(float) * (size_t)m->N);
    if (!fwd || !close)
        abort();
    CHECK_OK(vfr_dataset_read_forward_returns(ds, 0, m->N, fwd));
    CHECK_OK(vfr_dataset_read_close(ds, 0, m->N, close));
    for (int32_t s = 0; s < S; s++)
        CHECK(close[s] == 100.0f);
    int fwd_bad = 0, nan_bad = 0, close_bad = 0;
    for (int32_t t = 0; t < T; t++)
        for (int32_t s = 0; s < S; s++) {
            int64_t i = (int64_t)t * S + s;
            for (int k = 0; k < 4; k++) {
                int32_t h = want_h[k];
                float got = fwd[i * 4 + k];
                if (t + h >= T) {
                    nan_bad += !isnan(got);
                    continue;
                }
                double prod = 1.0; /* from the 1-day returns of the next rows */
                for (int32_t j = 0; j < h; j++)
                    prod *= 1.0 + fwd[((int64_t)(t + j) * S + s) * 4 + 0];
                if (!(fabs(got - (prod - 1.0)) <= 1e-6 + 1e-5 * fabs(prod - 1.0)))
                    fwd_bad++;
                double byclose = (double)close[(int64_t)(t + h) * S + s] / close[i] - 1.0;
                if (!(fabs(got - byclose) <= 2e-6 + 1e-5 * fabs(byclose)))
                    close_bad++;
            }
        }
    CHECK(fwd_bad == 0);
    CHECK(nan_bad == 0);
    CHECK(close_bad == 0);
    free(fwd);
    free(close);
    vfr_dataset_close(ds);
}

static double corr_lag1(const float *x, int64_t N, int32_t S, int32_t F, int32_t j)
{
    double sxy = 0, sxx = 0, syy = 0;
    for (int64_t i = S; i < N; i++) {
        double a = x[(i - S) * F + j], b = x[i * F + j];
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    return sxy / sqrt(sxx * syy);
}

/* The planted signal, recomputed from the file alone. */
static void test_signal(void)
{
    enum { S = 200, T = 1500, F = 8 };
    vfr_synth_options o = {.S = S, .T = T, .F = F, .seed = 7, .compression = 0};
    const char *p = path_in_tmp("signal.h5");
    CHECK_OK(vfr_synth_write(p, &o));
    vfr_dataset *ds = NULL;
    CHECK_OK(vfr_dataset_open(p, &ds));
    if (!ds)
        return;
    const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
    int64_t N = m->N;
    float *x = malloc(sizeof(float) * (size_t)N * F);
    float *fwd = malloc(sizeof(float) * (size_t)N * 4);
    if (!x || !fwd)
        abort();
    CHECK_OK(vfr_dataset_read_features(ds, 0, N, x));
    CHECK_OK(vfr_dataset_read_forward_returns(ds, 0, N, fwd));

    int64_t n = 0, hit_g = 0, hit_nolevel = 0, hit_x5 = 0;
    double mean0 = 0, var0 = 0;
    for (int64_t i = 0; i < N; i++) {
        int32_t t = (int32_t)(i / S);
        mean0 += x[i * F];
        var0 += (double)x[i * F] * x[i * F];
        float r = fwd[i * 4];
        if (isnan(r))
            continue;
        double z = 0.0; /* the hidden level: x3 summed over the symbol's last L rows */
        for (int32_t k = 0; k < LOOKBACK && k <= t; k++)
            z += x[(i - (int64_t)k * S) * F + 3];
        z /= sqrt((double)LOOKBACK);
        double x0 = x[i * F], x1 = x[i * F + 1], x2 = x[i * F + 2];
        double rowpart = 0.6 * x0 - 0.4 * x1 + 0.5 * tanh(x1 * x2);
        double g = G_SCALE * (rowpart + 0.5 * z);
        n++;
        hit_g += (g > 0) == (r > 0);
        hit_nolevel += (rowpart > 0) == (r > 0);
        hit_x5 += (x[i * F + 5] > 0) == (r > 0);
    }
    double acc_g = (double)hit_g / n, acc_nolevel = (double)hit_nolevel / n;
    double acc_x5 = (double)hit_x5 / n;
    /* sd of an accuracy over ~300K independent draws is ~0.001 */
    CHECK(n == (int64_t)S * (T - 1));
    CHECK(acc_g > 0.55);
    CHECK_NEAR(acc_g, BAYES_03, 0.006, 0);
    CHECK_NEAR(acc_nolevel, NO_LEVEL_03, 0.006, 0);
    CHECK(acc_g - acc_nolevel > 0.008); /* the lookback pays */
    CHECK_NEAR(acc_x5, 0.5, 0.006, 0);

    /* N(0,1) marginals; x0 persistent (phi 0.98), x3 white */
    mean0 /= (double)N;
    var0 = var0 / (double)N - mean0 * mean0;
    CHECK_NEAR(mean0, 0.0, 0.1, 0);
    CHECK_NEAR(var0, 1.0, 0.1, 0);
    CHECK_NEAR(corr_lag1(x, N, S, F, 0), 0.98, 0.01, 0);
    CHECK_NEAR(corr_lag1(x, N, S, F, 5), 0.98 - 0.48 * 5 / 7.0, 0.01, 0);
    CHECK_NEAR(corr_lag1(x, N, S, F, 3), 0.0, 0.01, 0);
    free(x);
    free(fwd);
    vfr_dataset_close(ds);
}

static void test_options(void)
{
    const char *p = path_in_tmp("bad.h5");
    vfr_synth_options o = {.S = 3, .T = 30, .F = 5, .seed = 1, .compression = -1};
    o.S = 0;
    CHECK_FAIL(vfr_synth_write(p, &o), VFR_ERR_INVALID_ARG, "symbols");
    o.S = 3;
    o.F = 3;
    CHECK_FAIL(vfr_synth_write(p, &o), VFR_ERR_INVALID_ARG, "features");
    o.F = 5;
    o.T = 20; /* the default largest horizon is 20 */
    CHECK_FAIL(vfr_synth_write(p, &o), VFR_ERR_INVALID_ARG, "days");
    o.T = 30;
    int32_t dup[2] = {5, 5}, desc[2] = {5, 1}, zero[2] = {0, 1};
    o.H = 2;
    o.horizons = dup;
    CHECK_FAIL(vfr_synth_write(p, &o), VFR_ERR_INVALID_ARG, "horizons");
    o.horizons = desc;
    CHECK_FAIL(vfr_synth_write(p, &o), VFR_ERR_INVALID_ARG, "horizons");
    o.horizons = zero;
    CHECK_FAIL(vfr_synth_write(p, &o), VFR_ERR_INVALID_ARG, "horizons");
    o.horizons = NULL;
    o.signal = -1;
    CHECK_FAIL(vfr_synth_write(p, &o), VFR_ERR_INVALID_ARG, "signal");
    o.signal = 0;
    CHECK_FAIL(vfr_synth_write(p, NULL), VFR_ERR_INVALID_ARG, NULL);
    CHECK(!file_exists(p));
    char nodir[600];
    snprintf(nodir, sizeof nodir, "%s/no-such-dir/x.h5", test_tmpdir());
    CHECK_FAIL(vfr_synth_write(nodir, &o), VFR_ERR_IO, "no-such-dir");

    /* own horizons, and a Saturday start moves to the Monday after */
    int32_t hz[2] = {1, 3};
    int32_t sat = 0, mon = 0;
    CHECK_OK(vfr_date_parse("2020-02-01", &sat));
    CHECK_OK(vfr_date_parse("2020-02-03", &mon));
    o.horizons = hz;
    o.T = 4;
    o.start_date = sat;
    CHECK_OK(vfr_synth_write(p, &o));
    vfr_dataset *ds = NULL;
    CHECK_OK(vfr_dataset_open(p, &ds));
    if (ds) {
        const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
        CHECK(m->H == 2 && m->horizons[1] == 3 && m->date_first == mon && m->N == 12);
        vfr_dataset_close(ds);
    }
}

int main(void)
{
    test_determinism();
    test_shape_and_returns();
    test_signal();
    test_options();
    return test_done("test_synth");
}
