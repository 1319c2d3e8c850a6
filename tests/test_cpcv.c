/* test_cpcv.c: the cpcv backtest paths and the Probability of Backtest
 * Overfitting (cpcv.h).
 * - paths: every (split, test group) pair is used by exactly one path, each
 *   path covers every group once, C(G - 1, k - 1) paths;
 * - PBO: a trial that is best on every block gives PBO 0; trials whose
 *   in-sample winner is the out-of-sample loser (planted) give PBO 1; bad
 *   arguments are refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "vfr/cpcv.h"

static void paths(int32_t G, int32_t k)
{
    int32_t NP = vfr_cpcv_n_paths(G, k), nsplit = 1;
    for (int32_t i = 1; i <= k; i++)
        nsplit = nsplit * (G - k + i) / i;
    char *used = calloc((size_t)nsplit * (size_t)G, 1);
    for (int32_t j = 0; j < NP; j++)
        for (int32_t g = 0; g < G; g++) {
            int32_t s = vfr_cpcv_path_split(G, k, g, j), pick[30], has = 0;
            CHECK(s >= 0 && s < nsplit);
            if (s < 0)
                continue;
            vfr_cpcv_split_groups(G, k, s, pick);
            for (int32_t i = 0; i < k; i++)
                has |= pick[i] == g;
            CHECK(has);              /* the split tests the group   */
            CHECK(!used[s * G + g]); /* no (split, group) twice     */
            used[s * G + g] = 1;
        }
    int64_t n = 0;
    for (int32_t i = 0; i < nsplit * G; i++)
        n += used[i];
    CHECK(n == (int64_t)nsplit * k); /* every tested (split, group) in some path */
    CHECK(vfr_cpcv_path_split(G, k, 0, NP) == -1);
    free(used);
}

static void pbo(void)
{
    enum { N = 5, T = 400 };
    double *R = malloc(sizeof *R * N * T);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < N * T; i++) { /* xorshift noise around 0 */
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        R[i] = ((double)(x >> 11) / 9007199254740992.0 - 0.5) * 0.02;
    }
    for (int t = 0; t < T; t++) /* trial 2 is better everywhere */
        R[2 * T + t] += 0.01;
    vfr_pbo out;
    CHECK_OK(vfr_cpcv_pbo(R, N, T, 8, &out));
    CHECK(out.pbo == 0.0 && out.combinations == 70 && out.trials == N && out.blocks == 8);
    /* planted overfitting: trial n is strong exactly on block n's dates and
     * weak elsewhere, so whichever wins in sample wins by the blocks it has,
     * and the others' blocks sit out of sample */
    for (int n = 0; n < N; n++)
        for (int t = 0; t < T; t++)
            R[n * T + t] = (t / (T / 8)) % N == n ? 0.02 + 0.001 * (t % 3) : -0.004 + 0.001 * (t % 5);
    CHECK_OK(vfr_cpcv_pbo(R, N, T, 8, &out));
    CHECK(out.pbo > 0.5);
    CHECK_FAIL(vfr_cpcv_pbo(R, 1, T, 8, &out), VFR_ERR_INVALID_ARG, "N >= 2");
    CHECK_FAIL(vfr_cpcv_pbo(R, N, T, 7, &out), VFR_ERR_INVALID_ARG, "even");
    R[3] = NAN;
    CHECK_FAIL(vfr_cpcv_pbo(R, N, T, 8, &out), VFR_ERR_INVALID_ARG, "not finite");
    free(R);
}

int main(void)
{
    paths(6, 2);
    paths(8, 3);
    paths(5, 1);
    int32_t lo, hi;
    vfr_cpcv_group_range(100, 6, 5, &lo, &hi);
    CHECK(lo == 83 && hi == 100);
    pbo();
    return test_done("test_cpcv");
}
