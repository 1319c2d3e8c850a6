/* test_colstats_parity.c: CUDA column statistics against the CPU twin on
 * seeded random inputs and edge cases. Exits 77 (skipped) without a device:
 * it never passes without comparing. */
#include <stdint.h>

#define TEST_SEED 88172645463325252ull
#include "test_util.h"
#include "vfr/colstats.h"


static void compare(int64_t N, int32_t F, double nan_share)
{
    float *x = malloc(sizeof *x * (size_t)(N * F + 1));
    int64_t *c1 = malloc(sizeof *c1 * F), *c2 = malloc(sizeof *c2 * F);
    double *m1 = malloc(sizeof *m1 * F), *m2 = malloc(sizeof *m2 * F);
    double *s1 = malloc(sizeof *s1 * F), *s2 = malloc(sizeof *s2 * F);
    for (int64_t i = 0; i < N * F; i++)
        x[i] = test_urand() < nan_share ? (test_urand() < 0.9 ? NAN : INFINITY) : (float)(100 * test_urand() - 30);
    vfr_colstats a = {c1, m1, s1}, b = {c2, m2, s2};
    vfr_colstats_cpu(x, N, F, &a);
    CHECK_OK(vfr_colstats_cuda(x, N, F, &b));
    char what[64];
    snprintf(what, sizeof what, "N=%lld F=%d mean", (long long)N, F);
    test_parity(what, m1, m2, (size_t)F, 1, NULL, 1e-9, 1e-9);
    snprintf(what, sizeof what, "N=%lld F=%d std", (long long)N, F);
    test_parity(what, s1, s2, (size_t)F, 1, NULL, 1e-9, 1e-9);
    for (int32_t f = 0; f < F; f++)
        if (c1[f] != c2[f]) {
            fprintf(stderr, "N=%lld F=%d col %d: cpu count %lld cuda %lld\n", (long long)N, F, f,
                    (long long)c1[f], (long long)c2[f]);
            CHECK(c1[f] == c2[f]);
            break;
        }
    free(x), free(c1), free(c2), free(m1), free(m2), free(s1), free(s2);
}

int main(void)
{
    if (vfr_device_count() == 0) {
        fprintf(stderr, "test_colstats_parity: no CUDA device, skipped\n");
        return 77;
    }
    compare(1, 1, 0.0);
    compare(1, 129, 0.5);
    compare(0, 7, 0.0);
    compare(65537, 3, 0.1);    /* block size + 1 rows */
    compare(200000, 100, 0.05);
    compare(1000, 5, 1.0);      /* all missing */
    return test_done("test_colstats_parity");
}
