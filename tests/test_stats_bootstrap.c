/* test_stats_bootstrap.c: the stationary block bootstrap interval of the
 * Sharpe difference is a confidence interval in fact, not only in name. Over
 * REPS simulated pairs of AR(1) daily return series with a known Sharpe
 * difference, the 90% interval must cover the truth at about its nominal rate;
 * the iid bootstrap (block length 1) must not, which is why blocks are used.
 * Also: the same seed gives the same interval bit for bit. Fixed seeds, so the
 * outcome is the same on every run. Over 3000 series the coverage of this
 * setup is 0.883 (the percentile interval runs a little short); at REPS = 600
 * the band [0.84, 0.96] lies more than 3 binomial standard errors either side. */
#include <stdint.h>

#include "test_util.h"
#include "vfr/stats.h"

#define REPS 600
#define DAYS 750
#define RESAMPLES 300
#define LEVEL 0.90
#define PHI 0.3      /* AR(1) coefficient of both series          */
#define RHO 0.5      /* correlation of their shocks               */
#define SIGMA 0.01   /* stationary daily sd of both series        */
#define MU_A 0.0010  /* true Sharpe 0.10 per day                  */
#define MU_B 0.0004  /* true Sharpe 0.04 per day                  */

/* The test's own generator (splitmix64 + Box-Muller), independent of the
 * library's, so that the data do not share a stream with the resampling. */
static uint64_t sim_state;
static double sim_uniform(void)
{
    uint64_t z = (sim_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) * 0x1.0p-53; /* in (0, 1) */
}
static double sim_normal(void)
{
    double u = sim_uniform(), v = sim_uniform();
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* Two aligned AR(1) series started from their stationary distribution. */
static void simulate(double *a, double *b, int n)
{
    double s_eps = SIGMA * sqrt(1 - PHI * PHI);
    double xa = SIGMA * sim_normal(), xb = RHO * xa + SIGMA * sqrt(1 - RHO * RHO) * sim_normal();
    for (int t = 0; t < n; t++) {
        double z1 = sim_normal(), z2 = RHO * z1 + sqrt(1 - RHO * RHO) * sim_normal();
        xa = PHI * xa + s_eps * z1;
        xb = PHI * xb + s_eps * z2;
        a[t] = MU_A + xa;
        b[t] = MU_B + xb;
    }
}

int main(void)
{
    static double a[DAYS], b[DAYS];
    const double truth = MU_A / SIGMA - MU_B / SIGMA;
    int covered_block = 0, covered_iid = 0;
    double width = 0;
    sim_state = 12345;
    for (int r = 0; r < REPS; r++) {
        simulate(a, b, DAYS);
        vfr_stats_bootstrap blk, iid;
        CHECK_OK(vfr_stats_bootstrap_sharpe_diff(a, b, DAYS, 0, RESAMPLES, LEVEL, 1000u + (uint64_t)r, &blk));
        CHECK_OK(vfr_stats_bootstrap_sharpe_diff(a, b, DAYS, 1, RESAMPLES, LEVEL, 5000u + (uint64_t)r, &iid));
        if (test_failures)
            return test_done("test_stats_bootstrap");
        covered_block += blk.ci_lo <= truth && truth <= blk.ci_hi;
        covered_iid += iid.ci_lo <= truth && truth <= iid.ci_hi;
        width += blk.ci_hi - blk.ci_lo;
        CHECK(blk.B_used == RESAMPLES && blk.ci_lo < blk.ci_hi);
        CHECK(fabs(blk.block_mean - cbrt((double)DAYS)) < 1e-12);
    }
    double cov_block = (double)covered_block / REPS, cov_iid = (double)covered_iid / REPS;
    fprintf(stderr, "coverage of the %.0f%% interval over %d series: stationary bootstrap %.3f, "
            "iid bootstrap %.3f; mean width %.4f\n", 100 * LEVEL, REPS, cov_block, cov_iid,
            width / REPS);
    CHECK(cov_block >= 0.84 && cov_block <= 0.96);
    CHECK(cov_iid < 0.84); /* ignoring the autocorrelation makes the interval too narrow */

    /* The point estimate is the difference of the full-sample Sharpe ratios. */
    vfr_stats_summary sa, sb;
    vfr_stats_bootstrap r1, r2, r3;
    CHECK_OK(vfr_stats_summarize(a, DAYS, &sa));
    CHECK_OK(vfr_stats_summarize(b, DAYS, &sb));
    CHECK_OK(vfr_stats_bootstrap_sharpe_diff(a, b, DAYS, 10, 200, 0.95, 42, &r1));
    CHECK(r1.sr_model == sa.sr && r1.sr_base == sb.sr && r1.diff == sa.sr - sb.sr);
    CHECK(r1.B == 200 && r1.B_used == 200 && r1.block_mean == 10 && r1.level == 0.95);
    CHECK(r1.se > 0 && r1.ci_lo < r1.diff && r1.diff < r1.ci_hi);

    /* Deterministic for a seed; another seed gives another interval. */
    CHECK_OK(vfr_stats_bootstrap_sharpe_diff(a, b, DAYS, 10, 200, 0.95, 42, &r2));
    CHECK(r2.ci_lo == r1.ci_lo && r2.ci_hi == r1.ci_hi && r2.se == r1.se);
    CHECK_OK(vfr_stats_bootstrap_sharpe_diff(a, b, DAYS, 10, 200, 0.95, 43, &r3));
    CHECK(r3.ci_lo != r1.ci_lo || r3.ci_hi != r1.ci_hi);
    return test_done("test_stats_bootstrap");
}
