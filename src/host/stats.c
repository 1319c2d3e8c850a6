/* stats.c: the comparison statistics of stats.h, in plain C with double
 * accumulators. The special functions are written here rather than taken from
 * GSL (whose CBLAS would clash with OpenBLAS): log-beta with Stirling
 * corrections, the regularized incomplete beta (TOMS 708's prefactor and
 * continued fraction where a plain Lentz fraction loses digits), Phi from
 * libm's erfc, Phi^-1 by Acklam + one Halley step, and the t quantile by
 * safeguarded Newton. Not here: anything that reads runs or prints.
 * Formulas: docs/stats.md. */
#include "vfr/stats.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#define PI 3.14159265358979323846264338327950288
#define SQRT1_2 0.70710678118654752440084436210484904   /* 1/sqrt(2)      */
#define LN_SQRT_2PI 0.91893853320467274178032973640561764 /* log sqrt(2 pi) */
#define EULER_GAMMA 0.57721566490153286060651209008240243
#define E_CONST 2.71828182845904523536028747135266250

/* ---- special functions ---------------------------------------------------- */

/* lgamma(x) - ((x - 1/2) log x - x + log sqrt(2 pi)) for x >= 10: the
 * Stirling series to x^-13, below 1e-16 there. */
static double lgamma_corr(double x)
{
    double r = 1.0 / (x * x);
    return (1.0 / 12 +
            r * (-1.0 / 360 +
                 r * (1.0 / 1260 +
                      r * (-1.0 / 1680 + r * (1.0 / 1188 + r * (-691.0 / 360360 + r / 156)))))) /
           x;
}

/* log B(a, b). For large arguments the lgamma terms are thousands and cancel;
 * summing Stirling corrections instead keeps ~1e-15 relative (as R's lbeta). */
static double log_beta(double a, double b)
{
    double p = a < b ? a : b, q = a < b ? b : a;
    if (p >= 10) {
        double corr = lgamma_corr(p) + lgamma_corr(q) - lgamma_corr(p + q);
        return -0.5 * log(q) + LN_SQRT_2PI + corr + (p - 0.5) * log(p / (p + q)) +
               q * log1p(-p / (p + q));
    }
    if (q >= 10) {
        double corr = lgamma_corr(q) - lgamma_corr(p + q);
        return lgamma(p) + corr + p - p * log(p + q) + (q - 0.5) * log1p(-p / (p + q));
    }
    return lgamma(p) + lgamma(q) - lgamma(p + q);
}

/* e - log(1 + e) for e > -1, without the cancellation of the plain form near
 * 0: log1p(e) = 2 atanh(r), r = e / (2 + e), so e - log1p(e) = r e - 2 (r^3/3 + r^5/5 + ...). */
static double rlog1(double e)
{
    if (fabs(e) > 0.5)
        return e - log1p(e);
    double r = e / (2 + e), r2 = r * r, term = r, s = 0;
    for (int k = 3; k < 99; k += 2) {
        term *= r2;
        double t = term / k;
        s += t;
        if (fabs(t) <= 1e-17 * fabs(s))
            break;
    }
    return r * e - 2 * s;
}

/* x^a y^b / B(a, b), y = 1 - x. With a, b >= 10 the three logarithms are
 * each ~(a + b) and cancel; the form of TOMS 708's BRCOMP (DiDonato & Morris
 * 1992) writes the result around the mode x0 = a/(a+b) through
 * lambda = a - (a+b) x and rlog1, which keeps ~1e-14 for a + b up to 1e7. */
static double beta_front(double a, double b, double x, double y)
{
    if (a < 10 || b < 10) {
        double lx = x < 0.5 ? log(x) : log1p(-y);
        double ly = y < 0.5 ? log(y) : log1p(-x);
        return exp(a * lx + b * ly - log_beta(a, b));
    }
    double s = a + b, x0 = a / s, y0 = b / s;
    double lambda = a <= b ? a - s * x : s * y - b;
    double e = -lambda / a;
    double u = fabs(e) > 0.6 ? e - log(x / x0) : rlog1(e);
    e = lambda / b;
    double v = fabs(e) > 0.6 ? e - log(y / y0) : rlog1(e);
    double corr = lgamma_corr(a) + lgamma_corr(b) - lgamma_corr(s);
    return exp(0.5 * log(a * b / s) - LN_SQRT_2PI - corr - (a * u + b * v));
}

/* Continued fraction of I_x(a, b) (Numerical Recipes' form, modified Lentz),
 * used where x < (a+1)/(a+b+2). NaN if it has not converged. */
static double beta_cf(double a, double b, double x)
{
    const double tiny = 1e-300;
    double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny)
        d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 1000000; m++) {
        double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) <= DBL_EPSILON)
            return h;
    }
    return NAN;
}

/* TOMS 708's BFRAC: the continued fraction of I_x(a, b) / front for a > 1,
 * written in lambda = a - (a+b) x >= 0 (passed in, computed from whichever of
 * x, y keeps its digits). The form above loses ~df eps near its switch point
 * for the t distribution (a = df/2 large, b = 1/2); this one does not. */
static double beta_frac(double a, double b, double x, double y, double lambda)
{
    double c = 1 + lambda, c0 = b / a, c1 = 1 + 1 / a, yp1 = y + 1;
    double n = 0, p = 1, s = a + 1, an = 0, bn = 1, anp1 = 1, bnp1 = c / c1, r = c1 / c;
    for (int it = 0; it < 1000000; it++) {
        n += 1;
        double t = n / a, w = n * (b - n) * x, e = a / s;
        double alpha = p * (p + c0) * e * e * (w * x);
        e = (1 + t) / (c1 + t + t);
        double beta = n + w / s + e * (c + n * yp1);
        p = 1 + t;
        s += 2;
        t = alpha * an + beta * anp1;
        an = anp1;
        anp1 = t;
        t = alpha * bn + beta * bnp1;
        bn = bnp1;
        bnp1 = t;
        double r0 = r;
        r = anp1 / bnp1;
        if (fabs(r - r0) <= DBL_EPSILON * r)
            return r;
        an /= bnp1;
        bn /= bnp1;
        anp1 = r;
        bnp1 = 1;
    }
    return NAN;
}

/* Regularized incomplete beta I_x(a, b), with y = 1 - x passed separately so
 * that neither side of a value near 0 or 1 loses digits. Below the mean
 * (lambda >= 0) with a > 1: BFRAC; otherwise the Lentz fraction on the side
 * where it converges. About 1e-13 relative or better for the t distribution
 * up to df = 1e6 and the binomial up to n = 1e6 (docs/stats.md). */
static double beta_inc(double a, double b, double x, double y)
{
    if (x <= 0)
        return 0;
    if (y <= 0)
        return 1;
    if (a > 1) {
        double lambda = a <= b ? a - (a + b) * x : (a + b) * y - b;
        if (lambda >= 0)
            return beta_front(a, b, x, y) * beta_frac(a, b, x, y, lambda);
    }
    if (x < (a + 1) / (a + b + 2))
        return beta_front(a, b, x, y) * beta_cf(a, b, x) / a;
    return 1 - beta_front(a, b, x, y) * beta_cf(b, a, y) / b;
}

double vfr_stats_norm_cdf(double x) { return 0.5 * erfc(-x * SQRT1_2); }

/* Phi^-1 for 0 < p <= 1/2, where p is exact and the refinement's residual
 * Phi(x) - p does not cancel. */
static double norm_ppf_lower(double p)
{
    static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                -2.759285104469687e+02, 1.383577518672690e+02,
                                -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                -1.556989798598866e+02, 6.680131188771972e+01,
                                -1.328068155288572e+01};
    static const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                -2.400758277161838e+00, -2.549732539343734e+00,
                                4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[4] = {7.784695709041462e-03, 3.224671290700398e-01,
                                2.445134137142996e+00, 3.754408661907416e+00};
    double x;
    if (p < 0.02425) {
        double q = sqrt(-2 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else {
        double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
    /* One Halley step takes Acklam's 1.2e-9 to the accuracy of erfc. The
     * factor 1/phi(x) is formed in logs: exp(x^2/2) overflows near p = 1e-308. */
    double e = vfr_stats_norm_cdf(x) - p;
    if (e != 0) {
        double u = copysign(exp(log(fabs(e)) + LN_SQRT_2PI + 0.5 * x * x), e);
        x -= u / (1 + 0.5 * x * u);
    }
    return x;
}

double vfr_stats_norm_ppf(double p)
{
    if (!(p >= 0 && p <= 1))
        return NAN;
    if (p == 0)
        return -INFINITY;
    if (p == 1)
        return INFINITY;
    if (p > 0.5)
        return -norm_ppf_lower(1 - p); /* exact for p in [1/2, 1] (Sterbenz) */
    return norm_ppf_lower(p);
}

/* P(T > t) for t >= 0: I_x(df/2, 1/2) / 2 with x = df/(df+t^2), y = t^2/(df+t^2)
 * formed without overflow. */
static double t_sf_pos(double t, double df)
{
    double x, y;
    if (t * t > df) {
        double r = df / (t * t);
        x = r / (1 + r);
        y = 1 / (1 + r);
    } else {
        double r = t * t / df;
        x = 1 / (1 + r);
        y = r / (1 + r);
    }
    return 0.5 * beta_inc(0.5 * df, 0.5, x, y);
}

static int df_ok(double df) { return df > 0 && !isnan(df); }

double vfr_stats_t_sf(double t, double df)
{
    if (isnan(t) || !df_ok(df))
        return NAN;
    return t >= 0 ? t_sf_pos(t, df) : 1 - t_sf_pos(-t, df);
}

double vfr_stats_t_cdf(double t, double df)
{
    if (isnan(t) || !df_ok(df))
        return NAN;
    return t <= 0 ? t_sf_pos(-t, df) : 1 - t_sf_pos(t, df);
}

/* log of the t density, with log B(df/2, 1/2) for large df without cancellation. */
static double t_log_pdf(double t, double df)
{
    return -0.5 * (df + 1) * log1p(t * t / df) - 0.5 * log(df) - log_beta(0.5 * df, 0.5);
}

/* The t > 0 with P(T > t) = q, 0 < q < 1/2. Newton on log P(T > t) as a
 * function of log t (nearly linear in the polynomial tail), kept inside a
 * bracket [lo, hi] that every evaluation narrows. */
static double t_upper_quantile(double q, double df)
{
    if (df == 1)
        return 1 / tan(PI * q);
    if (df == 2)
        return (1 - 2 * q) / sqrt(2 * q * (1 - q));
    double z = -norm_ppf_lower(q), z2 = z * z;
    /* Cornish-Fisher start (Abramowitz & Stegun 26.7.5) */
    double g1 = (z2 + 1) * z / 4;
    double g2 = ((5 * z2 + 16) * z2 + 3) * z / 96;
    double g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384;
    double g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160;
    double t = z + (g1 + (g2 + (g3 + g4 / df) / df) / df) / df;
    if (!(t > 0) || !isfinite(t))
        t = z > 0 ? z : 1;
    double lo = 0, hi = INFINITY, lq = log(q);
    for (int it = 0; it < 200; it++) {
        double s = t_sf_pos(t, df);
        if (isnan(s))
            return NAN;
        if (s == q)
            return t;
        if (s > q)
            lo = t;
        else
            hi = t;
        double g = log(s) - lq; /* > 0: t too small */
        double slope = exp(t_log_pdf(t, df) - log(s)) * t; /* -d log s / d log t */
        double step = g / slope; /* in log t; e^50 per step at most */
        double tn = t * exp(step > 50 ? 50 : step < -50 ? -50 : step);
        if (!(tn > lo && tn < hi))
            tn = isinf(hi) ? 2 * t : (lo > 0 ? sqrt(lo * hi) : 0.5 * hi);
        if (fabs(tn - t) <= 4 * DBL_EPSILON * tn)
            return tn;
        t = tn;
    }
    return NAN; /* not converged: callers report it */
}

double vfr_stats_t_ppf(double p, double df)
{
    if (!(p >= 0 && p <= 1) || !df_ok(df))
        return NAN;
    if (p == 0)
        return -INFINITY;
    if (p == 1)
        return INFINITY;
    if (p == 0.5)
        return 0;
    if (p < 0.5)
        return -t_upper_quantile(p, df);
    return t_upper_quantile(1 - p, df); /* 1 - p exact (Sterbenz) */
}

/* ---- argument checks ---------------------------------------------------- */

static double diff_at(const double *a, const double *b, int64_t i) { return b ? a[i] - b[i] : a[i]; }

/* model/baseline present and finite, n >= 2, level in (0, 1). */
static vfr_status check_pair(const char *fn, const double *a, const double *b, int64_t n,
                             double level, const void *out)
{
    if (!a || !out)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: NULL %s", fn, !a ? "model returns" : "output");
    if (n < 2)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: n = %lld, need at least 2 observations", fn,
                        (long long)n);
    if (!(level > 0 && level < 1))
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: confidence level %g is not in (0, 1)", fn,
                        level);
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(a[i]))
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s: model return at index %lld is not finite (%g)",
                            fn, (long long)i, a[i]);
        if (b && !isfinite(b[i]))
            return vfr_fail(VFR_ERR_INVALID_ARG,
                            "%s: baseline return at index %lld is not finite (%g)", fn,
                            (long long)i, b[i]);
    }
    return VFR_OK;
}

/* The largest |value| of x (and y when not NULL): the scale against which a
 * standard deviation counts as zero. Differences and means carry rounding of
 * about eps times it, so a series that is constant in exact arithmetic can
 * show an sd of a few ulps; 16 eps * scale calls that zero. */
static double abs_max(const double *x, const double *y, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        m = fmax(m, fabs(x[i]));
        if (y)
            m = fmax(m, fabs(y[i]));
    }
    return m;
}

#define ZERO_SD(sd, scale) ((sd) <= 16 * DBL_EPSILON * (scale))

/* ---- descriptive statistics ----------------------------------------------- */

vfr_status vfr_stats_summarize(const double *x, int64_t n, vfr_stats_summary *out)
{
    if (!x || !out)
        return vfr_fail(VFR_ERR_INVALID_ARG, "stats_summarize: NULL %s", !x ? "series" : "output");
    if (n < 2)
        return vfr_fail(VFR_ERR_INVALID_ARG, "stats_summarize: n = %lld, need at least 2",
                        (long long)n);
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            return vfr_fail(VFR_ERR_INVALID_ARG, "stats_summarize: value at index %lld is not finite (%g)",
                            (long long)i, x[i]);
        s += x[i];
    }
    double mean = s / (double)n, m2 = 0, m3 = 0, m4 = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = x[i] - mean, e2 = e * e;
        m2 += e2;
        m3 += e2 * e;
        m4 += e2 * e2;
    }
    double dn = (double)n;
    if (ZERO_SD(sqrt(m2 / (dn - 1)), abs_max(x, NULL, n)))
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "stats_summarize: all %lld values equal %g (zero variance)", (long long)n,
                        x[0]);
    out->n = n;
    out->mean = mean;
    out->sd = sqrt(m2 / (dn - 1));
    out->sr = mean / out->sd;
    out->skew = (m3 / dn) / pow(m2 / dn, 1.5);
    out->kurt = (m4 / dn) / ((m2 / dn) * (m2 / dn));
    return VFR_OK;
}

/* ---- paired t-tests ----------------------------------------------------- */

/* Fills the t, p and interval fields from mean, se, df and level. */
static vfr_status finish_ttest(const char *fn, vfr_stats_ttest *r)
{
    r->t = r->mean / r->se;
    r->p = 2 * t_sf_pos(fabs(r->t), r->df);
    double crit = vfr_stats_t_ppf(0.5 * (1 + r->level), r->df);
    r->ci_lo = r->mean - crit * r->se;
    r->ci_hi = r->mean + crit * r->se;
    if (!isfinite(r->t) || isnan(r->p) || !isfinite(crit))
        return vfr_fail(VFR_ERR_INTERNAL, "%s: t = %g, p = %g, critical value %g", fn, r->t,
                        r->p, crit);
    if (r->p > 1)
        r->p = 1;
    return VFR_OK;
}

/* The core of both tests: lag L = 0 is the plain t-test. */
static vfr_status ttest(const char *fn, const double *a, const double *b, int64_t n, int32_t lag,
                        double level, vfr_stats_ttest *out)
{
    vfr_status st = check_pair(fn, a, b, n, level, out);
    if (st != VFR_OK)
        return st;
    if (lag >= n)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: lag %d must be below n = %lld", fn, (int)lag,
                        (long long)n);
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += diff_at(a, b, i);
    double dn = (double)n, mean = s / dn, ss = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = diff_at(a, b, i) - mean;
        ss += e * e;
    }
    if (ZERO_SD(sqrt(ss / (dn - 1)), abs_max(a, b, n)))
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "%s: the %s is constant (%g) over all %lld days: zero variance, no test",
                        fn, b ? "difference model - baseline" : "series", diff_at(a, b, 0),
                        (long long)n);
    double lrv = ss; /* n - 1 times the long-run variance */
    for (int32_t j = 1; j <= lag; j++) {
        double g = 0;
        for (int64_t i = j; i < n; i++)
            g += (diff_at(a, b, i) - mean) * (diff_at(a, b, i - j) - mean);
        lrv += 2 * (1 - (double)j / (lag + 1)) * g;
    }
    if (!(lrv > 0))
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: the Newey-West variance with lag %d is %g, not positive",
                        fn, (int)lag, lrv);
    *out = (vfr_stats_ttest){
        .n = n,
        .lag = lag,
        .mean = mean,
        .sd = sqrt(ss / (dn - 1)),
        .se = sqrt(lrv / (dn - 1) / dn),
        .df = dn - 1,
        .level = level,
    };
    return finish_ttest(fn, out);
}

vfr_status vfr_stats_ttest_paired(const double *model, const double *baseline, int64_t n,
                                  double level, vfr_stats_ttest *out)
{
    return ttest("stats_ttest_paired", model, baseline, n, 0, level, out);
}

int32_t vfr_stats_nw_lag(int64_t n, int32_t horizon)
{
    if (n < 2)
        return 0;
    int64_t lag = (int64_t)floor(4 * pow((double)n / 100, 2.0 / 9));
    if (horizon - 1 > lag)
        lag = horizon - 1;
    if (lag > n - 1)
        lag = n - 1;
    return (int32_t)lag;
}

vfr_status vfr_stats_ttest_newey_west(const double *model, const double *baseline, int64_t n,
                                      int32_t lag, double level, vfr_stats_ttest *out)
{
    if (lag < 0)
        lag = vfr_stats_nw_lag(n, 1);
    return ttest("stats_ttest_newey_west", model, baseline, n, lag, level, out);
}

/* ---- alpha and beta with HAC errors --------------------------------------- */

vfr_status vfr_stats_alpha_beta_hac(const double *y, const double *x, int64_t n, int32_t lag,
                                    vfr_stats_alpha_beta *out)
{
    if (!y || !x || !out || n < 3)
        return vfr_fail(VFR_ERR_INVALID_ARG, "stats_alpha_beta: need two series of n >= 3 days");
    if (lag < 0)
        lag = vfr_stats_nw_lag(n, 1);
    if (lag >= n)
        return vfr_fail(VFR_ERR_INVALID_ARG, "stats_alpha_beta: lag %d must be below n = %lld", (int)lag,
                        (long long)n);
    double sx = 0, sy = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]))
            return vfr_fail(VFR_ERR_INVALID_ARG, "stats_alpha_beta: day %lld is not finite", (long long)i);
        sx += x[i], sy += y[i];
    }
    const double dn = (double)n, mx = sx / dn, my = sy / dn;
    double sxx = 0, sxy = 0;
    for (int64_t i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
    }
    if (!(sxx > 1e-300))
        return vfr_fail(VFR_ERR_INVALID_ARG, "stats_alpha_beta: the market series is constant");
    const double beta = sxy / sxx, alpha = my - beta * mx;
    /* (X'X)^-1 for X = [1, x]: 1/det [[Sxx2, -Sx], [-Sx, n]] with raw sums */
    double s2 = 0;
    for (int64_t i = 0; i < n; i++)
        s2 += x[i] * x[i];
    const double det = dn * s2 - sx * sx;
    const double i00 = s2 / det, i01 = -sx / det; /* row 0 of the inverse */
    /* S = sum_l w_l sum_t e_t e_{t-l} (X_t X_{t-l}' + X_{t-l} X_t'), Bartlett weights */
    double S00 = 0, S01 = 0, S11 = 0;
    for (int32_t l = 0; l <= lag; l++) {
        const double wl = l == 0 ? 1.0 : 2.0 * (1.0 - (double)l / (lag + 1));
        double a00 = 0, a01 = 0, a11 = 0;
        for (int64_t t = l; t < n; t++) {
            const double ee = (y[t] - alpha - beta * x[t]) * (y[t - l] - alpha - beta * x[t - l]);
            a00 += ee;
            a01 += ee * 0.5 * (x[t] + x[t - l]); /* the symmetric part of X_t X_{t-l}' */
            a11 += ee * x[t] * x[t - l];
        }
        S00 += wl * a00, S01 += wl * a01, S11 += wl * a11;
    }
    /* V00 = row 0 of (X'X)^-1 times S times column 0 */
    const double v00 = i00 * (i00 * S00 + i01 * S01) + i01 * (i00 * S01 + i01 * S11);
    *out = (vfr_stats_alpha_beta){n, lag, beta, alpha, sqrt(v00 > 0 ? v00 : 0), NAN};
    out->alpha_t = out->alpha_se > 0 ? alpha / out->alpha_se : NAN;
    return VFR_OK;
}

/* ---- stationary bootstrap ------------------------------------------------ */

/* xoshiro256** (Blackman & Vigna), seeded through splitmix64: small, fast and
 * the same sequence on every platform. */
typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static double rng_uniform(rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

/* Uniform in [0, n) without modulo bias (rejection below 2^64 mod n). */
static uint64_t rng_below(rng *r, uint64_t n)
{
    uint64_t floor_ = (0 - n) % n;
    for (;;) {
        uint64_t x = rng_next(r);
        if (x >= floor_)
            return x % n;
    }
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* numpy's default ("linear", Hyndman & Fan type 7) quantile of sorted x[m]. */
static double quantile_sorted(const double *x, int64_t m, double q)
{
    double h = (double)(m - 1) * q;
    int64_t i = (int64_t)floor(h);
    if (i >= m - 1)
        return x[m - 1];
    return x[i] + (h - (double)i) * (x[i + 1] - x[i]);
}

vfr_status vfr_stats_bootstrap_sharpe_diff(const double *model, const double *baseline, int64_t n,
                                           double block_mean, int32_t B, double level,
                                           uint64_t seed, vfr_stats_bootstrap *out)
{
    const char *fn = "stats_bootstrap_sharpe_diff";
    if (!baseline)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: NULL baseline returns", fn);
    vfr_status st = check_pair(fn, model, baseline, n, level, out);
    if (st != VFR_OK)
        return st;
    if (B < 10)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: B = %d resamples, need at least 10", fn, (int)B);
    if (block_mean == 0)
        block_mean = cbrt((double)n);
    if (!(block_mean >= 1) || !isfinite(block_mean))
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "%s: mean block length %g must be >= 1 day (or 0 for n^(1/3))", fn,
                        block_mean);
    vfr_stats_summary sa, sb;
    if ((st = vfr_stats_summarize(model, n, &sa)) != VFR_OK) {
        vfr_error_prefix("%s: model returns: ", fn);
        return st;
    }
    if ((st = vfr_stats_summarize(baseline, n, &sb)) != VFR_OK) {
        vfr_error_prefix("%s: baseline returns: ", fn);
        return st;
    }
    /* Centred copies: a resample's variance from sums of squares then has no
     * cancellation, and its mean is the full mean plus the centred mean. */
    double *ca = malloc(2 * (size_t)n * sizeof *ca);
    double *diffs = malloc((size_t)B * sizeof *diffs);
    if (!ca || !diffs) {
        free(ca);
        free(diffs);
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory for %lld days x %d resamples", fn,
                        (long long)n, (int)B);
    }
    double *cb = ca + n;
    for (int64_t i = 0; i < n; i++) {
        ca[i] = model[i] - sa.mean;
        cb[i] = baseline[i] - sb.mean;
    }
    rng r;
    uint64_t sm = seed;
    for (int i = 0; i < 4; i++)
        r.s[i] = splitmix64(&sm);
    double p_new = 1 / block_mean, dn = (double)n, va = sa.sd * sa.sd, vb = sb.sd * sb.sd;
    int32_t used = 0;
    for (int32_t k = 0; k < B; k++) {
        uint64_t idx = rng_below(&r, (uint64_t)n);
        double s1 = 0, q1 = 0, s2 = 0, q2 = 0;
        for (int64_t t = 0; t < n; t++) {
            if (t > 0) {
                if (rng_uniform(&r) < p_new)
                    idx = rng_below(&r, (uint64_t)n);
                else if (++idx == (uint64_t)n)
                    idx = 0;
            }
            double x = ca[idx], y = cb[idx];
            s1 += x;
            q1 += x * x;
            s2 += y;
            q2 += y * y;
        }
        double m1 = s1 / dn, m2 = s2 / dn;
        double v1 = (q1 - dn * m1 * m1) / (dn - 1), v2 = (q2 - dn * m2 * m2) / (dn - 1);
        /* a constant resample has no Sharpe ratio; its computed variance is
         * rounding, ~eps of the full one */
        if (!(v1 > 1e-12 * va && v2 > 1e-12 * vb))
            continue;
        diffs[used++] = (sa.mean + m1) / sqrt(v1) - (sb.mean + m2) / sqrt(v2);
    }
    if (used < B / 2 || used < 2) {
        free(ca);
        free(diffs);
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "%s: only %d of %d resamples had non-constant returns in both series", fn,
                        (int)used, (int)B);
    }
    qsort(diffs, (size_t)used, sizeof *diffs, cmp_double);
    double mu = 0, var = 0;
    for (int32_t k = 0; k < used; k++)
        mu += diffs[k];
    mu /= used;
    for (int32_t k = 0; k < used; k++)
        var += (diffs[k] - mu) * (diffs[k] - mu);
    *out = (vfr_stats_bootstrap){
        .n = n,
        .B = B,
        .B_used = used,
        .block_mean = block_mean,
        .level = level,
        .sr_model = sa.sr,
        .sr_base = sb.sr,
        .diff = sa.sr - sb.sr,
        .se = sqrt(var / (used - 1)),
        .ci_lo = quantile_sorted(diffs, used, 0.5 * (1 - level)),
        .ci_hi = quantile_sorted(diffs, used, 0.5 * (1 + level)),
    };
    free(ca);
    free(diffs);
    return VFR_OK;
}

/* ---- binomial test -------------------------------------------------------- */

/* P(X = k), X ~ Bin(n, p), 0 < p < 1. */
static double binom_pmf(int64_t k, int64_t n, double p)
{
    if (k < 0 || k > n)
        return 0;
    double lchoose = -log((double)n + 1) - log_beta((double)(n - k) + 1, (double)k + 1);
    return exp(lchoose + (double)k * log(p) + (double)(n - k) * log1p(-p));
}

/* P(X <= k) = I_{1-p}(n - k, k + 1). */
static double binom_cdf(int64_t k, int64_t n, double p)
{
    if (k < 0)
        return 0;
    if (k >= n)
        return 1;
    return beta_inc((double)(n - k), (double)k + 1, 1 - p, p);
}

/* P(X >= k) = I_p(k, n - k + 1). */
static double binom_sf_ge(int64_t k, int64_t n, double p)
{
    if (k <= 0)
        return 1;
    if (k > n)
        return 0;
    return beta_inc((double)k, (double)(n - k) + 1, p, 1 - p);
}

vfr_status vfr_stats_binom_test(int64_t k, int64_t n, double p0, vfr_stats_binom *out)
{
    const char *fn = "stats_binom_test";
    if (!out)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: NULL output", fn);
    if (n < 1)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: n = %lld trials, need at least 1", fn,
                        (long long)n);
    if (k < 0 || k > n)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: k = %lld successes is not in [0, n = %lld]", fn,
                        (long long)k, (long long)n);
    if (!(p0 >= 0 && p0 <= 1))
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: rate p0 = %g is not in [0, 1]", fn, p0);
    *out = (vfr_stats_binom){.k = k, .n = n, .p0 = p0, .rate = (double)k / (double)n};
    if (p0 == 0 || p0 == 1) { /* all mass on one outcome */
        int64_t sure = p0 == 0 ? 0 : n;
        out->p_two_sided = k == sure ? 1 : 0;
        out->p_greater = k <= sure ? 1 : 0;
        return VFR_OK;
    }
    out->p_greater = binom_sf_ge(k, n, p0);
    /* SciPy's rule: the tail on k's side, plus the terms on the other side of
     * the mode whose probability is <= d (1 + 1e-7). The pmf is monotone on
     * each side, so that set is one run from the far end. */
    double d = binom_pmf(k, n, p0) * (1 + 1e-7), np = (double)n * p0, pv;
    if ((double)k == np) {
        pv = 1;
    } else if ((double)k < np) {
        int64_t lo = (int64_t)ceil(np), ix = n + 1; /* first index of the upper run */
        while (ix - 1 >= lo && binom_pmf(ix - 1, n, p0) <= d)
            ix--;
        pv = binom_cdf(k, n, p0) + binom_sf_ge(ix, n, p0);
    } else {
        int64_t hi = (int64_t)floor(np), iy = -1; /* last index of the lower run */
        while (iy + 1 <= hi && binom_pmf(iy + 1, n, p0) <= d)
            iy++;
        pv = binom_cdf(iy, n, p0) + binom_sf_ge(k, n, p0);
    }
    if (isnan(pv) || isnan(out->p_greater))
        return vfr_fail(VFR_ERR_INTERNAL, "%s: p-value did not converge (k = %lld, n = %lld, p0 = %g)",
                        fn, (long long)k, (long long)n, p0);
    out->p_two_sided = pv < 1 ? pv : 1;
    return VFR_OK;
}

/* ---- Probabilistic and Deflated Sharpe Ratio ------------------------------ */

vfr_status vfr_stats_psr(double sr, int64_t n, double skew, double kurt, double sr_star,
                         double *out)
{
    const char *fn = "stats_psr";
    if (!out)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: NULL output", fn);
    if (!isfinite(sr) || !isfinite(skew) || !isfinite(kurt) || !isfinite(sr_star))
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: inputs must be finite (sr %g, skew %g, kurt %g, sr* %g)",
                        fn, sr, skew, kurt, sr_star);
    if (n < 2)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: n = %lld, need at least 2 observations", fn,
                        (long long)n);
    /* Every distribution has m4 m2 >= m3^2 + m2^3, i.e. kurt >= 1 + skew^2;
     * the slack absorbs rounding in moments of two-point series. */
    if (kurt < (1 + skew * skew) * (1 - 1e-12))
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "%s: kurtosis %g < 1 + skew^2 = %g: pass RAW kurtosis (normal = 3), not "
                        "excess kurtosis",
                        fn, kurt, 1 + skew * skew);
    double v = 1 - skew * sr + 0.25 * (kurt - 1) * sr * sr;
    if (!(v > 0))
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "%s: variance term 1 - skew sr + (kurt - 1)/4 sr^2 = %g is not positive", fn,
                        v);
    *out = vfr_stats_norm_cdf((sr - sr_star) * sqrt((double)n - 1) / sqrt(v));
    return VFR_OK;
}

vfr_status vfr_stats_dsr_sr0(double sr_var, int64_t n_trials, double *out)
{
    const char *fn = "stats_dsr_sr0";
    if (!out)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: NULL output", fn);
    if (!(sr_var >= 0) || !isfinite(sr_var))
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "%s: variance of the trials' Sharpe ratios %g must be finite and >= 0", fn,
                        sr_var);
    if (n_trials < 1)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: n_trials = %lld, need at least 1", fn,
                        (long long)n_trials);
    if (n_trials == 1) { /* the best of one draw is that draw: E = 0 */
        *out = 0;
        return VFR_OK;
    }
    double N = (double)n_trials;
    /* Phi^-1(1 - q) = -Phi^-1(q) keeps the digits of small q */
    double z1 = -vfr_stats_norm_ppf(1 / N), z2 = -vfr_stats_norm_ppf(1 / (N * E_CONST));
    *out = sqrt(sr_var) * ((1 - EULER_GAMMA) * z1 + EULER_GAMMA * z2);
    return VFR_OK;
}

vfr_status vfr_stats_dsr(double sr, int64_t n, double skew, double kurt, double sr_var,
                         int64_t n_trials, double *out, double *sr0_out)
{
    double sr0 = 0;
    vfr_status st = vfr_stats_dsr_sr0(sr_var, n_trials, &sr0);
    if (st != VFR_OK)
        return st;
    st = vfr_stats_psr(sr, n, skew, kurt, sr0, out);
    if (st != VFR_OK)
        return st;
    if (sr0_out)
        *sr0_out = sr0;
    return VFR_OK;
}
