/* stats.h: the statistics behind "is the model really better than the
 * baseline": paired t-test and its Newey-West (HAC) variant on daily return
 * differences, a stationary block bootstrap interval of the Sharpe difference,
 * an exact binomial test of directional accuracy, and the Probabilistic and
 * Deflated Sharpe Ratios, with the distribution functions they need.
 *
 * Pure C on caller arrays of doubles; no other vfr module, no GPU, no globals:
 * every function is thread-safe. Inputs are never filtered: a NaN or an
 * infinity is an INVALID_ARG naming the index, because a silently dropped day
 * would misalign the paired series. Sharpe ratios here are per period (daily),
 * never annualised. Every formula and convention: docs/stats.md. */
#ifndef VFR_STATS_H
#define VFR_STATS_H

#include <stdint.h>

#include "vfr/status.h"

/* ---- descriptive statistics ------------------------------------------- */

/* The moments that the tests and the PSR use, of one series x[0..n). */
typedef struct vfr_stats_summary {
    int64_t n;
    double mean;
    double sd;   /* sample standard deviation, divisor n - 1                  */
    double sr;   /* Sharpe ratio per period: mean / sd (no risk-free rate)    */
    double skew; /* g1 = m3 / m2^(3/2), central moments m_k with divisor n    */
    double kurt; /* RAW kurtosis m4 / m2^2 (normal: 3), NOT excess (normal: 0) */
} vfr_stats_summary;

/* Fills *out from x[n] (borrowed).
 * Errors: INVALID_ARG when x or out is NULL, n < 2, a value is not finite
 * (naming the index) or all values are equal (zero variance: sr, skew and
 * kurt undefined). Thread-safe. */
vfr_status vfr_stats_summarize(const double *x, int64_t n, vfr_stats_summary *out);

/* ---- distributions ------------------------------------------------------ *
 * Plain functions of doubles: they return NaN for an argument outside the
 * domain (p outside [0, 1], df <= 0, a NaN) instead of a status. Accuracy is
 * about 1e-14 relative (see docs/stats.md); all are thread-safe. */

/* Standard normal CDF, Phi(x) = erfc(-x / sqrt 2) / 2. */
double vfr_stats_norm_cdf(double x);
/* Phi^-1(p): Acklam's rational approximation refined by one Halley step;
 * -inf at 0, +inf at 1. */
double vfr_stats_norm_ppf(double p);
/* Student t with df > 0 degrees of freedom (df need not be an integer):
 * CDF P(T <= t), survival P(T > t), and the quantile (inverse CDF). */
double vfr_stats_t_cdf(double t, double df);
double vfr_stats_t_sf(double t, double df);
double vfr_stats_t_ppf(double p, double df);

/* ---- paired tests of the mean return difference ------------------------- */

typedef struct vfr_stats_ttest {
    int64_t n;    /* days                                                     */
    int32_t lag;  /* Bartlett lag L used (0: the plain t-test)                 */
    double mean;  /* mean of d = model - baseline, per period                  */
    double sd;    /* sample sd of d (divisor n - 1)                            */
    double se;    /* standard error of the mean (HAC when lag > 0)             */
    double t;     /* mean / se                                                 */
    double df;    /* n - 1                                                     */
    double p;     /* two-sided p-value of H0: E[d] = 0, from t with df         */
    double level; /* confidence level of the interval, e.g. 0.95               */
    double ci_lo; /* mean -/+ t_ppf((1 + level) / 2, df) * se                  */
    double ci_hi;
} vfr_stats_ttest;

/* Paired t-test of model[n] against baseline[n] (same dates, borrowed): the
 * one-sample t-test of d[i] = model[i] - baseline[i] against 0, identical to
 * scipy.stats.ttest_rel(model, baseline). baseline may be NULL: then d = model
 * (a test of the model's own mean return). level in (0, 1).
 * Errors: INVALID_ARG when model or out is NULL, n < 2, level outside (0, 1),
 * a value is not finite (naming the series and index), or d is constant (zero
 * variance, e.g. the model compared with itself). Thread-safe. */
vfr_status vfr_stats_ttest_paired(const double *model, const double *baseline, int64_t n,
                                  double level, vfr_stats_ttest *out);

/* The automatic Newey-West lag, floor(4 (n / 100)^(2/9)) (Newey & West 1994),
 * raised to horizon - 1 when the returns overlap over `horizon` days, and kept
 * below n. horizon <= 1 means daily, non-overlapping returns. n >= 2. */
int32_t vfr_stats_nw_lag(int64_t n, int32_t horizon);

/* The same test with a Newey-West (Bartlett kernel) long-run variance, for
 * autocorrelated or overlapping returns:
 *   S  = [ sum e_t^2 + 2 sum_{j=1..L} (1 - j/(L+1)) sum_t e_t e_{t-j} ] / (n - 1),
 *   se = sqrt(S / n), e_t = d_t - mean(d), p from Student t with n - 1 df.
 * lag = L >= 0 (0 reproduces vfr_stats_ttest_paired exactly); lag < 0 takes
 * vfr_stats_nw_lag(n, 1). Arguments and errors as vfr_stats_ttest_paired,
 * plus INVALID_ARG when lag >= n. Thread-safe. */
vfr_status vfr_stats_ttest_newey_west(const double *model, const double *baseline, int64_t n,
                                      int32_t lag, double level, vfr_stats_ttest *out);

/* ---- stationary block bootstrap of the Sharpe difference ---------------- */

typedef struct vfr_stats_bootstrap {
    int64_t n;         /* days                                              */
    int32_t B;         /* resamples asked for                               */
    int32_t B_used;    /* resamples with both Sharpe ratios defined          */
    double block_mean; /* mean block length b actually used, in days         */
    double level;      /* confidence level of the interval                  */
    double sr_model;   /* per-period Sharpe ratios of the full series        */
    double sr_base;
    double diff;       /* sr_model - sr_base                                 */
    double se;         /* sample sd of the B_used resampled differences      */
    double ci_lo;      /* percentile interval: quantiles (1 -/+ level) / 2   */
    double ci_hi;      /* of the resampled differences (linear interpolation) */
} vfr_stats_bootstrap;

/* Percentile confidence interval of SR(model) - SR(baseline) by the
 * stationary bootstrap of Politis & Romano (1994): blocks start at uniform
 * random days, have geometric lengths with mean block_mean and wrap around
 * the end; the SAME resampled days are used for both series, which keeps their
 * dependence. SR = mean / sd (divisor n - 1), per period.
 *   model[n], baseline[n]: aligned daily returns (borrowed), n >= 2.
 *   block_mean: b >= 1 in days (1 = the iid bootstrap); 0 picks n^(1/3).
 *   B: resamples, >= 10. level in (0, 1). seed: any value; the same seed
 *   and inputs give bit-identical results (the generator, xoshiro256**, is
 *   the library's own, not rand()).
 * A resample where either series is constant has no Sharpe ratio and is left
 * out (counted by B - B_used); fewer than B/2 usable resamples is an error.
 * Errors: INVALID_ARG (NULL, n < 2, B < 10, bad block_mean or level, a value
 * not finite, a series constant), NOMEM. Thread-safe. */
vfr_status vfr_stats_bootstrap_sharpe_diff(const double *model, const double *baseline, int64_t n,
                                           double block_mean, int32_t B, double level,
                                           uint64_t seed, vfr_stats_bootstrap *out);

/* ---- binomial test of directional accuracy ------------------------------ */

typedef struct vfr_stats_binom {
    int64_t k, n;       /* successes (right direction) out of n trials        */
    double p0;          /* rate under H0 (the baseline's accuracy)           */
    double rate;        /* k / n                                             */
    double p_two_sided; /* exact, as scipy.stats.binomtest(k, n, p0).pvalue */
    double p_greater;   /* P(X >= k | p0): H1 is "better than the baseline"  */
} vfr_stats_binom;

/* Exact binomial test of k successes in n trials against rate p0. The
 * two-sided p-value sums the probabilities of the outcomes no more likely
 * than k (with SciPy's relative tolerance 1 + 1e-7), as SciPy does.
 * Errors: INVALID_ARG when out is NULL, n < 1, k outside [0, n] or p0 outside
 * [0, 1] or NaN. Thread-safe. */
vfr_status vfr_stats_binom_test(int64_t k, int64_t n, double p0, vfr_stats_binom *out);

/* ---- market exposure: alpha and beta ---------------------------------- */

typedef struct vfr_stats_alpha_beta {
    int64_t n;          /* days                                              */
    int32_t lag;        /* Newey-West lag                                    */
    double beta;        /* OLS slope of the strategy's daily returns on the market's */
    double alpha;       /* intercept, per day                                */
    double alpha_se;    /* its HAC (Newey-West, Bartlett) standard error     */
    double alpha_t;     /* alpha / alpha_se                                  */
} vfr_stats_alpha_beta;

/* y_t = alpha + beta x_t + e_t by OLS over n days (x: the market, e.g.
 * buy-and-hold), with the Newey-West covariance (X'X)^-1 S (X'X)^-1 for the
 * standard error of alpha. lag < 0 picks vfr_stats_nw_lag(n, 1).
 * Errors: INVALID_ARG (NULL, n < 3, a value not finite, x constant, lag >= n).
 * Thread-safe. */
vfr_status vfr_stats_alpha_beta_hac(const double *y, const double *x, int64_t n, int32_t lag,
                                    vfr_stats_alpha_beta *out);

/* ---- Probabilistic and Deflated Sharpe Ratio ---------------------------- */

/* Probabilistic Sharpe Ratio (Bailey & Lopez de Prado 2012): the probability
 * that the true Sharpe ratio exceeds sr_star,
 *   PSR = Phi( (sr - sr_star) sqrt(n - 1) / sqrt(1 - skew sr + (kurt - 1)/4 sr^2) ).
 *   sr, sr_star: per-period (NOT annualised) Sharpe ratios; divide an annual
 *     figure by sqrt(periods per year).
 *   n: observations behind sr (>= 2). skew: g1 of the returns.
 *   kurt: RAW kurtosis (3 for a normal); an excess kurtosis passed by mistake
 *     usually fails the check kurt >= 1 + skew^2 that every distribution meets.
 * vfr_stats_summarize gives sr, skew and kurt in these conventions.
 * Errors: INVALID_ARG when out is NULL, an input is not finite, n < 2,
 * kurt < 1 + skew^2 (not a raw kurtosis), or the variance term is not
 * positive. Thread-safe. */
vfr_status vfr_stats_psr(double sr, int64_t n, double skew, double kurt, double sr_star,
                         double *out);

/* The DSR benchmark SR0 (Bailey & Lopez de Prado 2014), the Sharpe ratio the
 * best of n_trials unskilled trials would show:
 *   SR0 = sqrt(sr_var) ((1 - g) Phi^-1(1 - 1/N) + g Phi^-1(1 - 1/(N e))),
 * g = 0.5772156649... (Euler-Mascheroni), N = n_trials; SR0 = 0 when N = 1.
 *   sr_var: variance across the trials of their per-period Sharpe ratios
 *     (sample variance, divisor N - 1, in per-period units: an annualised
 *     variance divides by periods per year), >= 0.
 *   n_trials: configurations the search actually evaluated, >= 1.
 * Errors: INVALID_ARG (out NULL, sr_var negative or not finite, n_trials < 1).
 * Thread-safe. */
vfr_status vfr_stats_dsr_sr0(double sr_var, int64_t n_trials, double *out);

/* Deflated Sharpe Ratio: PSR(SR0) of the chosen configuration, whose sr,
 * n, skew and kurt follow vfr_stats_psr's conventions, with SR0 from
 * vfr_stats_dsr_sr0(sr_var, n_trials). *sr0_out receives SR0 when not NULL.
 * Errors: those of vfr_stats_psr and vfr_stats_dsr_sr0. Thread-safe. */
vfr_status vfr_stats_dsr(double sr, int64_t n, double skew, double kurt, double sr_var,
                         int64_t n_trials, double *out, double *sr0_out);

#endif
