/* test_alpha158.c: the Alpha158 CPU path (features.h) against golden values
 * computed with pandas (scripts/fixtures/make_alpha158_fixture.py, stored in
 * tests/fixtures/alpha158_golden.csv.gz: real bars from data/ohlcv/ and a
 * series with planted edge cases), to 1e-6 relative; NaN where pandas has NaN
 * and nowhere else. Then no look-ahead: rewriting every bar after t leaves
 * every feature up to t bit-identical. Then threads and argument checks. */
#include <stdint.h>
#include <zlib.h>

#include "test_util.h"
#include "vfr/features.h"

enum { F = 158, MAXROWS = 1024, MAXS = 16 };

typedef struct golden {
    int32_t S;
    int64_t offset[MAXS + 1];
    double o[MAXROWS], h[MAXROWS], l[MAXROWS], c[MAXROWS], v[MAXROWS];
    double want[MAXROWS][F];
    char names[F][16];
    char series[MAXS][16];
} golden;

static double cell(char **p)
{
    char *s = *p, *e = strchr(s, ',');
    if (e)
        *e = '\0';
    *p = e ? e + 1 : s + strlen(s);
    if (*s == '\0' || *s == '\n')
        return NAN;
    return strtod(s, NULL);
}

static char *field(char **p)
{
    char *s = *p, *e = strchr(s, ',');
    if (e)
        *e = '\0';
    *p = e ? e + 1 : s + strlen(s);
    return s;
}

static void load_golden(golden *g)
{
    char path[1024];
    const char *src = getenv("VFR_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/fixtures/alpha158_golden.csv.gz", src ? src : "..");
    gzFile z = gzopen(path, "rb");
    if (!z) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    static char line[1 << 16];
    if (!gzgets(z, line, sizeof line)) {
        fprintf(stderr, "%s: empty\n", path);
        exit(1);
    }
    char *p = line;
    for (int k = 0; k < 7; k++)
        field(&p);
    for (int f = 0; f < F; f++) {
        char *n = field(&p);
        n[strcspn(n, "\r\n")] = '\0';
        snprintf(g->names[f], sizeof g->names[f], "%s", n);
    }
    int64_t N = 0;
    g->S = 0;
    while (gzgets(z, line, sizeof line)) {
        if (N >= MAXROWS) {
            fprintf(stderr, "%s: more than %d rows\n", path, MAXROWS);
            exit(1);
        }
        p = line;
        char *ser = field(&p);
        if (g->S == 0 || strcmp(ser, g->series[g->S - 1]) != 0) {
            if (g->S == MAXS)
                exit(1);
            snprintf(g->series[g->S], sizeof g->series[0], "%s", ser);
            g->offset[g->S++] = N;
        }
        field(&p);
        g->o[N] = cell(&p);
        g->h[N] = cell(&p);
        g->l[N] = cell(&p);
        g->c[N] = cell(&p);
        g->v[N] = cell(&p);
        for (int f = 0; f < F; f++)
            g->want[N][f] = cell(&p);
        N++;
    }
    g->offset[g->S] = N;
    gzclose(z);
}

static void test_golden(void)
{
    static golden g;
    load_golden(&g);
    CHECK(vfr_features_alpha158_count() == F);
    for (int f = 0; f < F; f++)
        CHECK(strcmp(vfr_features_alpha158_name(f), g.names[f]) == 0);
    CHECK(vfr_features_alpha158_name(F) == NULL);
    const int64_t N = g.offset[g.S];
    CHECK(N > 300);
    static float got[MAXROWS * F];
    vfr_ohlcv_series x = {g.S, g.offset, g.o, g.h, g.l, g.c, g.v, NULL};
    CHECK_OK(vfr_features_alpha158_cpu(&x, 2, got, F));
    int bad = 0, finite = 0;
    for (int32_t s = 0; s < g.S; s++)
        for (int64_t r = g.offset[s]; r < g.offset[s + 1]; r++)
            for (int f = 0; f < F; f++) {
                double w = g.want[r][f], v = got[r * F + f];
                int ok;
                if (isnan(w))
                    ok = isnan(v);
                else
                    ok = !isnan(v) && fabs(v - w) <= 1e-6 * fabs(w) + 1e-9;
                finite += !isnan(w);
                if (!ok && bad++ < 20)
                    fprintf(stderr, "golden: %s t=%lld %s = %.10g, pandas %.10g\n", g.series[s],
                            (long long)(r - g.offset[s]), g.names[f], v, w);
            }
    CHECK(bad == 0);
    /* The fixture must exercise values, not just NaN warm-ups. */
    CHECK(finite > (int)(N * F / 3));
}

/* Deterministic bars: a random walk with consistent OHLC and volumes. */
static uint64_t rng_state = 88172645463325252ull;
static double unif(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static void fill_bars(double *o, double *h, double *l, double *c, double *v, int64_t from,
                      int64_t to)
{
    for (int64_t i = from; i < to; i++) {
        double prev = i > 0 ? c[i - 1] : 100.0;
        o[i] = prev * (1.0 + 0.01 * (unif() - 0.5));
        c[i] = o[i] * (1.0 + 0.03 * (unif() - 0.5));
        double hi = o[i] > c[i] ? o[i] : c[i], lo = o[i] < c[i] ? o[i] : c[i];
        h[i] = hi * (1.0 + 0.01 * unif());
        l[i] = lo * (1.0 - 0.01 * unif());
        v[i] = floor(1e6 * (0.5 + unif()));
    }
}

static void test_no_lookahead(void)
{
    enum { S = 3, T = 140, N = S * T };
    static double o[N], h[N], l[N], c[N], v[N];
    static float a[N * F], b[N * F];
    int64_t off[S + 1];
    for (int s = 0; s <= S; s++)
        off[s] = (int64_t)s * T;
    for (int s = 0; s < S; s++)
        fill_bars(o + s * T, h + s * T, l + s * T, c + s * T, v + s * T, 0, T);
    vfr_ohlcv_series x = {S, off, o, h, l, c, v, NULL};
    CHECK_OK(vfr_features_alpha158_cpu(&x, 1, a, F));
    const int64_t cuts[] = {0, 4, 5, 59, 60, 61, 100, T - 2};
    for (size_t q = 0; q < sizeof cuts / sizeof cuts[0]; q++) {
        int64_t k = cuts[q];
        /* Rewrite bars k+1.. of symbol 1 only. */
        double *so = o + T, *sh = h + T, *sl = l + T, *sc = c + T, *sv = v + T;
        double keep[5][T];
        memcpy(keep[0], so, sizeof keep[0]);
        memcpy(keep[1], sh, sizeof keep[0]);
        memcpy(keep[2], sl, sizeof keep[0]);
        memcpy(keep[3], sc, sizeof keep[0]);
        memcpy(keep[4], sv, sizeof keep[0]);
        fill_bars(so, sh, sl, sc, sv, k + 1, T);
        CHECK_OK(vfr_features_alpha158_cpu(&x, 1, b, F));
        CHECK(memcmp(a, b, (size_t)(T + k + 1) * F * sizeof *a) == 0);   /* up to t = k */
        CHECK(memcmp(a + 2 * T * F, b + 2 * T * F, (size_t)T * F * sizeof *a) == 0);
        CHECK(memcmp(a + (T + k + 1) * F, b + (T + k + 1) * F, F * sizeof *a) != 0);
        memcpy(so, keep[0], sizeof keep[0]);
        memcpy(sh, keep[1], sizeof keep[0]);
        memcpy(sl, keep[2], sizeof keep[0]);
        memcpy(sc, keep[3], sizeof keep[0]);
        memcpy(sv, keep[4], sizeof keep[0]);
    }
    /* Threads split symbols, never change a value. */
    CHECK_OK(vfr_features_alpha158_cpu(&x, 3, b, F));
    CHECK(memcmp(a, b, sizeof a) == 0);
    /* Warm-up: row 59 has no 60-day diff window, row 60 has every window,
     * and with all volumes known every rolling feature there is finite. */
    const float *r59 = a + 59 * F, *r60 = a + 60 * F;
    int nan59 = 0, nan60 = 0;
    for (int f = 13; f < F; f++) {
        nan59 += isnan(r59[f]);
        nan60 += isnan(r60[f]);
    }
    CHECK(nan59 == 12); /* ROC60 and the 11 diff-based families at 60 */
    CHECK(nan60 == 0);
}

static void test_bad_args(void)
{
    double o[2] = {1, 1}, h[2] = {1, 1}, l[2] = {1, 1}, c[2] = {1, 0}, v[2] = {1, 1};
    int64_t off[2] = {0, 2};
    float out[2 * F];
    vfr_ohlcv_series x = {1, off, o, h, l, c, v, NULL};
    CHECK_FAIL(vfr_features_alpha158_cpu(&x, 1, out, F - 1), VFR_ERR_INVALID_ARG, "ld");
    CHECK_FAIL(vfr_features_alpha158_cpu(&x, 1, out, F), VFR_ERR_INVALID_ARG, "bar 1");
    c[1] = NAN;
    CHECK_FAIL(vfr_features_alpha158_cpu(&x, 1, out, F), VFR_ERR_INVALID_ARG, "bar 1");
    c[1] = 1;
    int64_t bad_off[2] = {1, 2};
    x.offset = bad_off;
    CHECK_FAIL(vfr_features_alpha158_cpu(&x, 1, out, F), VFR_ERR_INVALID_ARG, "offset");
    x.offset = off;
    CHECK_OK(vfr_features_alpha158_cpu(&x, 0, out, F));
    CHECK_NEAR(out[0], 0.0, 0, 0);        /* KMID of a flat bar */
    CHECK(isnan(out[12]));                /* VWAP0 without vwap */
}

int main(void)
{
    test_golden();
    test_no_lookahead();
    test_bad_args();
    return test_done("test_alpha158");
}
