/* test_stats.c: the comparison statistics (stats.h) against golden values from
 * SciPy and from the papers' formulas (tests/fixtures/stats_golden.json, made
 * by scripts/fixtures/make_stats_fixtures.py), plus round trips of the
 * quantile functions and the argument errors. The bootstrap has its own
 * statistical test (test_stats_bootstrap.c). */
#include <cjson/cJSON.h>
#include <stdint.h>

#include "test_util.h"
#include "vfr/stats.h"

static cJSON *load_fixture(void)
{
    const char *src = getenv("VFR_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/stats_golden.json", src && *src ? src : ".");
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s (set VFR_SOURCE_DIR)\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    buf[len] = '\0';
    fclose(f);
    cJSON *doc = cJSON_Parse(buf);
    free(buf);
    if (!doc) {
        fprintf(stderr, "%s: not valid JSON\n", path);
        exit(1);
    }
    return doc;
}

static double num(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v)) {
        fprintf(stderr, "fixture: missing number '%s'\n", key);
        exit(1);
    }
    return v->valuedouble;
}

/* A JSON array of numbers as a malloc'd double array; NULL for JSON null. */
static double *doubles(const cJSON *obj, const char *key, int64_t *n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsNull(a))
        return NULL;
    *n = cJSON_GetArraySize(a);
    double *v = malloc((size_t)(*n ? *n : 1) * sizeof *v);
    int64_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) v[i++] = e->valuedouble;
    return v;
}

/* ---- distributions ------------------------------------------------------ */

static void test_distributions(const cJSON *doc)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "norm_ppf"))
        CHECK_NEAR(vfr_stats_norm_ppf(num(c, "p")), num(c, "x"), 1e-15, 1e-13);
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "norm_cdf"))
        CHECK_NEAR(vfr_stats_norm_cdf(num(c, "x")), num(c, "p"), 0, 1e-12);
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "t_cdf")) {
        double t = num(c, "t"), df = num(c, "df");
        CHECK_NEAR(vfr_stats_t_cdf(t, df), num(c, "cdf"), 1e-300, 1e-11);
        CHECK_NEAR(vfr_stats_t_sf(t, df), num(c, "sf"), 1e-300, 1e-11);
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "t_ppf"))
        CHECK_NEAR(vfr_stats_t_ppf(num(c, "p"), num(c, "df")), num(c, "t"), 1e-15, 1e-11);

    /* round trips: Phi(Phi^-1(p)) = p and F_t(F_t^-1(p)) = p */
    const double ps[] = {1e-300, 1e-50, 1e-12, 3e-7, 0.001, 0.0242, 0.02425, 0.0243, 0.2,
                         0.4999999, 0.5, 0.5000001, 0.77, 0.975, 0.99999, 1 - 1e-12};
    const double dfs[] = {1, 2, 3, 4.5, 9, 30, 251, 1000, 1e5};
    for (size_t i = 0; i < sizeof ps / sizeof *ps; i++) {
        double p = ps[i], x = vfr_stats_norm_ppf(p);
        /* relative to the smaller tail, which is what a p-value uses */
        double tail = p < 0.5 ? p : 1 - p;
        double back = vfr_stats_norm_cdf(x);
        CHECK_NEAR(p < 0.5 ? back : 1 - back, tail, 0, 1e-13 * (1 + fabs(x)));
        CHECK(vfr_stats_norm_ppf(1 - p) == -x || p < 0.5); /* exact symmetry where 1-p is exact */
        for (size_t j = 0; j < sizeof dfs / sizeof *dfs; j++) {
            if (p < 1e-100)
                continue;
            double t = vfr_stats_t_ppf(p, dfs[j]);
            double tb = p < 0.5 ? vfr_stats_t_cdf(t, dfs[j]) : vfr_stats_t_sf(t, dfs[j]);
            CHECK_NEAR(tb, tail, 1e-300, 1e-11);
        }
    }
    CHECK(vfr_stats_norm_ppf(0.5) == 0);
    CHECK(vfr_stats_t_ppf(0.5, 7) == 0);
    CHECK(isinf(vfr_stats_norm_ppf(0)) && vfr_stats_norm_ppf(0) < 0);
    CHECK(isinf(vfr_stats_norm_ppf(1)) && vfr_stats_norm_ppf(1) > 0);
    CHECK(isinf(vfr_stats_t_ppf(1, 5)) && isinf(vfr_stats_t_ppf(0, 5)));
    CHECK(isnan(vfr_stats_norm_ppf(-0.1)) && isnan(vfr_stats_norm_ppf(1.5)));
    CHECK(isnan(vfr_stats_norm_ppf(NAN)) && isnan(vfr_stats_t_ppf(NAN, 3)));
    CHECK(isnan(vfr_stats_t_sf(1, 0)) && isnan(vfr_stats_t_sf(1, -2)) && isnan(vfr_stats_t_cdf(NAN, 3)));
    CHECK(vfr_stats_t_sf(INFINITY, 5) == 0 && vfr_stats_t_cdf(INFINITY, 5) == 1);
    /* df = 1 is Cauchy: 1/2 - atan(t)/pi, exact even where SciPy 1.17 is not */
    CHECK_NEAR(vfr_stats_t_sf(1e-8, 1), 0.5 - atan(1e-8) / 3.14159265358979323846, 0, 1e-15);
}

/* ---- t-tests -------------------------------------------------------------- */

static void check_tt(const vfr_stats_ttest *r, double mean, double se_ref, double t, double p,
                     double lo, double hi)
{
    CHECK_NEAR(r->mean, mean, 1e-17, 1e-10);
    if (se_ref > 0)
        CHECK_NEAR(r->se, se_ref, 0, 1e-10);
    CHECK_NEAR(r->t, t, 1e-12, 1e-8);
    CHECK_NEAR(r->p, p, 1e-8, 0);        /* the tolerance   */
    CHECK_NEAR(r->p, p, 1e-300, 1e-9);   /* and relative, for tails */
    CHECK_NEAR(r->ci_lo, lo, 1e-17, 1e-8);
    CHECK_NEAR(r->ci_hi, hi, 1e-17, 1e-8);
}

static void test_ttests(const cJSON *doc)
{
    const cJSON *c;
    int cases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "ttest"))
    {
        const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
        int64_t n = 0, nb = 0;
        double *a = doubles(c, "model", &n), *b = doubles(c, "baseline", &nb);
        CHECK(b == NULL || nb == n);
        const cJSON *ci = cJSON_GetObjectItem(c, "ci");
        const cJSON *lv;
        cJSON_ArrayForEach(lv, ci)
        {
            double level = strtod(lv->string, NULL);
            vfr_stats_ttest r;
            int before = test_failures;
            CHECK_OK(vfr_stats_ttest_paired(a, b, n, level, &r));
            CHECK(r.n == n && r.lag == 0 && r.df == num(c, "df") && r.level == level);
            CHECK_NEAR(r.sd, num(c, "sd"), 0, 1e-10);
            check_tt(&r, num(c, "mean"), 0, num(c, "t"), num(c, "p"),
                     cJSON_GetArrayItem(lv, 0)->valuedouble, cJSON_GetArrayItem(lv, 1)->valuedouble);
            if (test_failures > before)
                fprintf(stderr, "  (t-test case %s, level %s)\n", name, lv->string);
        }
        const cJSON *nw;
        cJSON_ArrayForEach(nw, cJSON_GetObjectItem(c, "newey_west"))
        {
            int32_t lag = (int32_t)num(nw, "lag");
            int before = test_failures;
            vfr_stats_ttest r;
            CHECK_OK(vfr_stats_ttest_newey_west(a, b, n, lag, num(nw, "level"), &r));
            CHECK(r.lag == lag);
            check_tt(&r, num(nw, "mean"), num(nw, "se"), num(nw, "t"), num(nw, "p"),
                     num(nw, "ci_lo"), num(nw, "ci_hi"));
            if (lag == 0) { /* lag 0 is the plain test, bit for bit */
                vfr_stats_ttest q;
                CHECK_OK(vfr_stats_ttest_paired(a, b, n, num(nw, "level"), &q));
                CHECK(q.t == r.t && q.p == r.p && q.ci_lo == r.ci_lo && q.se == r.se);
            }
            if (test_failures > before)
                fprintf(stderr, "  (Newey-West case %s, lag %d)\n", name, (int)lag);
        }
        int32_t auto_lag = (int32_t)num(c, "nw_auto_lag");
        CHECK(vfr_stats_nw_lag(n, 1) == auto_lag);
        vfr_stats_ttest r;
        CHECK_OK(vfr_stats_ttest_newey_west(a, b, n, -1, 0.95, &r));
        CHECK(r.lag == auto_lag);
        free(a);
        free(b);
        cases++;
    }
    CHECK(cases >= 5);
    /* overlapping horizons raise the lag to horizon - 1, never past n - 1 */
    CHECK(vfr_stats_nw_lag(252, 1) == 4 && vfr_stats_nw_lag(252, 20) == 19);
    CHECK(vfr_stats_nw_lag(10, 50) == 9 && vfr_stats_nw_lag(2, 1) == 1);
}

/* ---- binomial ------------------------------------------------------------- */

static void test_binom(const cJSON *doc)
{
    const cJSON *c;
    int cases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "binom"))
    {
        int64_t k = (int64_t)num(c, "k"), n = (int64_t)num(c, "n");
        double p0 = num(c, "p0");
        vfr_stats_binom r;
        int before = test_failures;
        CHECK_OK(vfr_stats_binom_test(k, n, p0, &r));
        CHECK(r.k == k && r.n == n && r.p0 == p0 && r.rate == (double)k / (double)n);
        CHECK_NEAR(r.p_two_sided, num(c, "p_two_sided"), 1e-12, 1e-9);
        CHECK_NEAR(r.p_greater, num(c, "p_greater"), 1e-12, 1e-9);
        if (test_failures > before)
            fprintf(stderr, "  (binomial k=%lld n=%lld p0=%g)\n", (long long)k, (long long)n, p0);
        cases++;
    }
    CHECK(cases >= 20);
}

/* ---- moments, PSR, DSR -------------------------------------------------- */

static void test_sharpe(const cJSON *doc)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "summary"))
    {
        int64_t n = 0;
        double *x = doubles(c, "x", &n);
        vfr_stats_summary s;
        CHECK_OK(vfr_stats_summarize(x, n, &s));
        CHECK(s.n == (int64_t)num(c, "n"));
        CHECK_NEAR(s.mean, num(c, "mean"), 1e-18, 1e-10);
        CHECK_NEAR(s.sd, num(c, "sd"), 0, 1e-12);
        CHECK_NEAR(s.sr, num(c, "sr"), 1e-15, 1e-10);
        CHECK_NEAR(s.skew, num(c, "skew"), 1e-12, 1e-10);
        CHECK_NEAR(s.kurt, num(c, "kurt"), 0, 1e-10);
        double psr;
        CHECK_OK(vfr_stats_psr(s.sr, s.n, s.skew, s.kurt, 0, &psr));
        CHECK_NEAR(psr, num(c, "psr0"), 1e-12, 1e-10);
        CHECK_OK(vfr_stats_psr(s.sr, s.n, s.skew, s.kurt, 0.05, &psr));
        CHECK_NEAR(psr, num(c, "psr_005"), 1e-12, 1e-10);
        free(x);
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "psr"))
    {
        double psr;
        CHECK_OK(vfr_stats_psr(num(c, "sr"), (int64_t)num(c, "n"), num(c, "skew"), num(c, "kurt"),
                               num(c, "sr_star"), &psr));
        CHECK_NEAR(psr, num(c, "psr"), 1e-12, 1e-10);
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "dsr"))
    {
        double sr0, dsr, sr0b;
        int64_t N = (int64_t)num(c, "n_trials");
        CHECK_OK(vfr_stats_dsr_sr0(num(c, "sr_var"), N, &sr0));
        CHECK_NEAR(sr0, num(c, "sr0"), 1e-15, 1e-12);
        CHECK_OK(vfr_stats_dsr(num(c, "sr"), (int64_t)num(c, "n"), num(c, "skew"), num(c, "kurt"),
                               num(c, "sr_var"), N, &dsr, &sr0b));
        CHECK(sr0b == sr0);
        CHECK_NEAR(dsr, num(c, "dsr"), 1e-12, 1e-10);
    }
    /* a simulated search: V from the trials' Sharpe ratios (ddof 1) */
    const cJSON *s = cJSON_GetObjectItem(doc, "dsr_search");
    int64_t P = 0;
    double *srs = doubles(s, "trial_sr", &P);
    vfr_stats_summary st;
    CHECK_OK(vfr_stats_summarize(srs, P, &st));
    CHECK_NEAR(st.sd * st.sd, num(s, "sr_var"), 0, 1e-10);
    double dsr, sr0;
    CHECK_OK(vfr_stats_dsr(num(s, "sr"), (int64_t)num(s, "n"), num(s, "skew"), num(s, "kurt"),
                           st.sd * st.sd, P, &dsr, &sr0));
    CHECK_NEAR(sr0, num(s, "sr0"), 1e-15, 1e-10);
    CHECK_NEAR(dsr, num(s, "dsr"), 1e-10, 1e-10);
    free(srs);
    /* the paper's example: SR0 ~ 0.1132 and DSR ~ 0.9004 as printed */
    const cJSON *pe = cJSON_GetObjectItem(doc, "dsr_paper");
    CHECK_OK(vfr_stats_dsr(num(pe, "sr"), (int64_t)num(pe, "n"), num(pe, "skew"), num(pe, "kurt"),
                           num(pe, "sr_var"), (int64_t)num(pe, "n_trials"), &dsr, &sr0));
    CHECK_NEAR(sr0, num(pe, "sr0"), 1e-15, 1e-12);
    CHECK_NEAR(dsr, num(pe, "dsr"), 1e-12, 1e-10);
    CHECK(fabs(sr0 - num(pe, "paper_sr0")) < 5e-5);
    CHECK(fabs(dsr - num(pe, "paper_dsr")) < 5e-5);
    /* with one trial there is nothing to deflate: DSR = PSR(0) */
    double psr0;
    CHECK_OK(vfr_stats_dsr(0.1, 252, 0, 3, 0.01, 1, &dsr, &sr0));
    CHECK_OK(vfr_stats_psr(0.1, 252, 0, 3, 0, &psr0));
    CHECK(sr0 == 0 && dsr == psr0);
}

/* ---- argument errors -------------------------------------------------- */

/* Alpha and beta with Newey-West errors, against numpy's OLS and the
 * sandwich (X'X)^-1 S (X'X)^-1 written out in numpy (lag 1). */
static void test_alpha_beta(void)
{
    const double x[10] = {0.01, -0.02, 0.015, 0.003, -0.007, 0.012, -0.004, 0.006, -0.011, 0.009};
    const double y[10] = {0.004, -0.006, 0.011, 0.001, -0.001, 0.007, -0.003, 0.005, -0.002, 0.002};
    vfr_stats_alpha_beta ab;
    CHECK_OK(vfr_stats_alpha_beta_hac(y, x, 10, 1, &ab));
    CHECK_NEAR(ab.alpha, 0.0012666437591272238, 1e-12, 0);
    CHECK_NEAR(ab.beta, 0.4102740314405977, 1e-12, 0);
    CHECK_NEAR(ab.alpha_se, 0.00048329162354446265, 1e-10, 0);
    CHECK_NEAR(ab.alpha_t, ab.alpha / ab.alpha_se, 1e-14, 0);
    double flat[10] = {0};
    CHECK_FAIL(vfr_stats_alpha_beta_hac(y, flat, 10, 1, &ab), VFR_ERR_INVALID_ARG, "constant");
}

static void test_errors(void)
{
    double a[8] = {0.01, -0.02, 0.015, 0.003, -0.007, 0.011, 0.0, 0.02};
    double b[8] = {0.002, -0.01, 0.01, 0.001, -0.004, 0.003, 0.001, 0.01};
    double same[8];
    for (int i = 0; i < 8; i++)
        same[i] = a[i] - 0.001; /* a constant difference */
    vfr_stats_ttest r;
    vfr_stats_summary s;
    vfr_stats_binom bt;
    vfr_stats_bootstrap bs;
    double v;

    CHECK_FAIL(vfr_stats_ttest_paired(a, b, 1, 0.95, &r), VFR_ERR_INVALID_ARG, "at least 2");
    CHECK_FAIL(vfr_stats_ttest_paired(a, b, 0, 0.95, &r), VFR_ERR_INVALID_ARG, "n = 0");
    CHECK_FAIL(vfr_stats_ttest_paired(NULL, b, 8, 0.95, &r), VFR_ERR_INVALID_ARG, "NULL");
    CHECK_FAIL(vfr_stats_ttest_paired(a, b, 8, 0.95, NULL), VFR_ERR_INVALID_ARG, "NULL");
    CHECK_FAIL(vfr_stats_ttest_paired(a, same, 8, 0.95, &r), VFR_ERR_INVALID_ARG, "zero variance");
    CHECK_FAIL(vfr_stats_ttest_paired(a, a, 8, 0.95, &r), VFR_ERR_INVALID_ARG, "zero variance");
    CHECK_FAIL(vfr_stats_ttest_paired(a, b, 8, 1.0, &r), VFR_ERR_INVALID_ARG, "level");
    CHECK_FAIL(vfr_stats_ttest_paired(a, b, 8, 0.0, &r), VFR_ERR_INVALID_ARG, "level");
    CHECK_FAIL(vfr_stats_ttest_paired(a, b, 8, NAN, &r), VFR_ERR_INVALID_ARG, "level");
    CHECK_FAIL(vfr_stats_ttest_newey_west(a, b, 8, 8, 0.95, &r), VFR_ERR_INVALID_ARG, "lag 8");
    double an[8], bn[8];
    memcpy(an, a, sizeof a);
    memcpy(bn, b, sizeof b);
    an[3] = NAN;
    CHECK_FAIL(vfr_stats_ttest_paired(an, b, 8, 0.95, &r), VFR_ERR_INVALID_ARG, "model return at index 3");
    bn[5] = INFINITY;
    CHECK_FAIL(vfr_stats_ttest_newey_west(a, bn, 8, 2, 0.95, &r), VFR_ERR_INVALID_ARG,
               "baseline return at index 5");
    CHECK_OK(vfr_stats_ttest_paired(a, NULL, 8, 0.95, &r)); /* one-sample */

    CHECK_FAIL(vfr_stats_summarize(a, 1, &s), VFR_ERR_INVALID_ARG, "at least 2");
    CHECK_FAIL(vfr_stats_summarize(an, 8, &s), VFR_ERR_INVALID_ARG, "index 3");
    double flat[4] = {0.001, 0.001, 0.001, 0.001};
    CHECK_FAIL(vfr_stats_summarize(flat, 4, &s), VFR_ERR_INVALID_ARG, "zero variance");

    CHECK_FAIL(vfr_stats_binom_test(5, 4, 0.5, &bt), VFR_ERR_INVALID_ARG, "k = 5");
    CHECK_FAIL(vfr_stats_binom_test(-1, 4, 0.5, &bt), VFR_ERR_INVALID_ARG, "k = -1");
    CHECK_FAIL(vfr_stats_binom_test(0, 0, 0.5, &bt), VFR_ERR_INVALID_ARG, "n = 0");
    CHECK_FAIL(vfr_stats_binom_test(1, 4, 1.5, &bt), VFR_ERR_INVALID_ARG, "p0");
    CHECK_FAIL(vfr_stats_binom_test(1, 4, NAN, &bt), VFR_ERR_INVALID_ARG, "p0");

    CHECK_FAIL(vfr_stats_psr(0.1, 252, 0, 0, 0, &v), VFR_ERR_INVALID_ARG, "RAW kurtosis");
    CHECK_FAIL(vfr_stats_psr(0.1, 252, -3, 5, 0, &v), VFR_ERR_INVALID_ARG, "excess");
    CHECK_FAIL(vfr_stats_psr(NAN, 252, 0, 3, 0, &v), VFR_ERR_INVALID_ARG, "finite");
    CHECK_FAIL(vfr_stats_psr(0.1, 1, 0, 3, 0, &v), VFR_ERR_INVALID_ARG, "n = 1");
    CHECK_FAIL(vfr_stats_dsr_sr0(0.01, 0, &v), VFR_ERR_INVALID_ARG, "n_trials");
    CHECK_FAIL(vfr_stats_dsr_sr0(-0.01, 10, &v), VFR_ERR_INVALID_ARG, ">= 0");
    CHECK_FAIL(vfr_stats_dsr_sr0(NAN, 10, &v), VFR_ERR_INVALID_ARG, "variance");
    CHECK_FAIL(vfr_stats_dsr(0.1, 252, 0, 0, 0.01, 10, &v, NULL), VFR_ERR_INVALID_ARG, "RAW");

    CHECK_FAIL(vfr_stats_bootstrap_sharpe_diff(a, b, 8, 2, 9, 0.9, 1, &bs), VFR_ERR_INVALID_ARG, "B = 9");
    CHECK_FAIL(vfr_stats_bootstrap_sharpe_diff(a, b, 8, 0.5, 100, 0.9, 1, &bs), VFR_ERR_INVALID_ARG,
               "block length");
    CHECK_FAIL(vfr_stats_bootstrap_sharpe_diff(a, NULL, 8, 2, 100, 0.9, 1, &bs), VFR_ERR_INVALID_ARG,
               "baseline");
    CHECK_FAIL(vfr_stats_bootstrap_sharpe_diff(a, b, 1, 2, 100, 0.9, 1, &bs), VFR_ERR_INVALID_ARG,
               "at least 2");
    double flat8[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    CHECK_FAIL(vfr_stats_bootstrap_sharpe_diff(a, flat8, 8, 2, 100, 0.9, 1, &bs), VFR_ERR_INVALID_ARG,
               "baseline returns");
    CHECK_FAIL(vfr_stats_bootstrap_sharpe_diff(an, b, 8, 2, 100, 0.9, 1, &bs), VFR_ERR_INVALID_ARG,
               "index 3");
}

int main(void)
{
    cJSON *doc = load_fixture();
    test_distributions(doc);
    test_ttests(doc);
    test_binom(doc);
    test_sharpe(doc);
    test_errors();
    test_alpha_beta();
    cJSON_Delete(doc);
    return test_done("test_stats");
}
