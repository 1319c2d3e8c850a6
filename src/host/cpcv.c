/* cpcv.c: backtest paths of a cpcv split and the Probability of Backtest
 * Overfitting by CSCV (cpcv.h). Small and plain: the inputs are a search's
 * trial returns, a few hundred series of a few thousand days at most. */
#include "vfr/cpcv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void vfr_cpcv_group_range(int32_t T, int32_t G, int32_t g, int32_t *lo, int32_t *hi)
{
    *lo = (int32_t)((int64_t)T * g / G);
    *hi = (int32_t)((int64_t)T * (g + 1) / G);
}

void vfr_cpcv_split_groups(int32_t G, int32_t k, int32_t s, int32_t *pick)
{
    for (int32_t i = 0; i < k; i++)
        pick[i] = i;
    for (int32_t c = 0; c < s; c++) { /* next combination, lexicographic */
        int32_t i = k - 1;
        while (i > 0 && pick[i] == G - k + i)
            i--;
        pick[i]++;
        for (int32_t j = i + 1; j < k; j++)
            pick[j] = pick[j - 1] + 1;
    }
}

static int64_t choose(int32_t n, int32_t k)
{
    int64_t c = 1;
    for (int32_t i = 1; i <= k; i++)
        c = c * (n - k + i) / i;
    return c;
}

int64_t vfr_cpcv_n_splits(int32_t G, int32_t k) { return choose(G, k); }

int32_t vfr_cpcv_n_paths(int32_t G, int32_t k) { return (int32_t)choose(G - 1, k - 1); }

int32_t vfr_cpcv_path_split(int32_t G, int32_t k, int32_t g, int32_t j)
{
    int32_t pick[64], seen = 0, n = (int32_t)choose(G, k);
    for (int32_t s = 0; s < n && k <= 64; s++) {
        vfr_cpcv_split_groups(G, k, s, pick);
        for (int32_t i = 0; i < k; i++)
            if (pick[i] == g && seen++ == j)
                return s;
    }
    return -1;
}

/* Sharpe ratio (per period) of the rows of the chosen blocks. */
static double block_sharpe(const double *r, int32_t bl, const unsigned char *in, int32_t S, int want)
{
    double s = 0, ss = 0;
    int64_t n = 0;
    for (int32_t b = 0; b < S; b++) {
        if (in[b] != want)
            continue;
        for (int32_t t = b * bl; t < (b + 1) * bl; t++) {
            s += r[t];
            ss += r[t] * r[t];
            n++;
        }
    }
    double m = s / (double)n, v = (ss - n * m * m) / (double)(n - 1);
    return v > 0 ? m / sqrt(v) : (m > 0 ? INFINITY : m < 0 ? -INFINITY : 0.0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

vfr_status vfr_cpcv_pbo(const double *R, int32_t N, int32_t T, int32_t S, vfr_pbo *out)
{
    memset(out, 0, sizeof *out);
    if (!R || N < 2 || S < 2 || S > 16 || S % 2)
        return vfr_fail(VFR_ERR_INVALID_ARG, "cpcv_pbo: need N >= 2 trials and an even S in [2, 16] (N = %d, S = %d)",
                        N, S);
    const int32_t bl = T / S;
    if (bl < 2)
        return vfr_fail(VFR_ERR_INVALID_ARG, "cpcv_pbo: %d dates are too few for %d blocks", T, S);
    for (int64_t i = 0; i < (int64_t)N * T; i++)
        if (!isfinite(R[i]))
            return vfr_fail(VFR_ERR_INVALID_ARG, "cpcv_pbo: trial %lld day %lld is not finite", (long long)(i / T),
                            (long long)(i % T));
    const int64_t C = choose(S, S / 2);
    double *is = malloc(sizeof *is * (size_t)N), *oos = malloc(sizeof *oos * (size_t)N);
    double *logit = malloc(sizeof *logit * (size_t)C);
    if (!is || !oos || !logit) {
        free(is), free(oos), free(logit);
        return vfr_fail(VFR_ERR_NOMEM, "cpcv_pbo: out of memory");
    }
    unsigned char in[16];
    int64_t c = 0, below = 0, loss = 0;
    for (uint32_t mask = 0; mask < (1u << S); mask++) { /* every half of the blocks */
        if (__builtin_popcount(mask) != S / 2)
            continue;
        for (int32_t b = 0; b < S; b++)
            in[b] = (unsigned char)((mask >> b) & 1u);
        int32_t best = 0;
        for (int32_t n = 0; n < N; n++) {
            is[n] = block_sharpe(R + (int64_t)n * T, bl, in, S, 1);
            oos[n] = block_sharpe(R + (int64_t)n * T, bl, in, S, 0);
            if (is[n] > is[best])
                best = n;
        }
        /* relative rank of the IS best out of sample, ties averaged */
        double lower = 0, equal = 0;
        for (int32_t n = 0; n < N; n++) {
            lower += oos[n] < oos[best];
            equal += oos[n] == oos[best];
        }
        double w = (lower + 0.5 * (equal + 1)) / (N + 1);
        logit[c] = log(w / (1 - w));
        below += logit[c] <= 0;
        loss += oos[best] < 0;
        c++;
    }
    qsort(logit, (size_t)c, sizeof *logit, cmp_double);
    *out = (vfr_pbo){N, S, c, (double)below / (double)c,
                     c % 2 ? logit[c / 2] : 0.5 * (logit[c / 2 - 1] + logit[c / 2]), (double)loss / (double)c};
    free(is), free(oos), free(logit);
    return VFR_OK;
}
