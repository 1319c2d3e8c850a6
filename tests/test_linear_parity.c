/* test_linear_parity.c: the cuBLAS Newton step (loss, gradient, Hessian)
 * against the CPU twin on seeded random data, logistic and ridge, with NaNs
 * and a row count that is not a multiple of the block. Exits 77 without a
 * device. */
#include <stdint.h>

#define TEST_SEED 0x243F6A8885A308D3ull
#include "test_util.h"
#include "vfr/linear.h"


static void compare(int64_t n, int32_t F, int logistic)
{
    const int32_t P = F + 1;
    float *X = malloc(sizeof *X * (size_t)(n * F)), *y = malloc(sizeof *y * (size_t)n);
    double mean[64], scale[64], w[65], g1[65], g2[65], l1, l2;
    double *H1 = malloc(sizeof *H1 * (size_t)(P * P)), *H2 = malloc(sizeof *H2 * (size_t)(P * P));
    for (int64_t i = 0; i < n * F; i++)
        X[i] = test_urand() < 0.02 ? NAN : (float)(4 * test_urand() - 2);
    for (int64_t i = 0; i < n; i++)
        y[i] = logistic ? (test_urand() < 0.4 ? 1.0f : 0.0f) : (float)(test_urand() - 0.5);
    for (int32_t f = 0; f < F; f++) {
        mean[f] = 0.1 * f;
        scale[f] = 1.0 + 0.05 * f;
    }
    for (int32_t k = 0; k < P; k++)
        w[k] = 0.3 * test_urand() - 0.15;
    vfr_linear_problem p = {X, y, n, F, mean, scale, logistic, 0.7, NULL, NULL, 0};
    CHECK_OK(vfr_linear_gradhess_cpu(&p, w, &l1, g1, H1));
    CHECK_OK(vfr_linear_gradhess_cuda(&p, w, &l2, g2, H2));
    char what[64];
    snprintf(what, sizeof what, "n=%lld F=%d %s", (long long)n, F, logistic ? "logistic" : "ridge");
    test_parity(what, &l1, &l2, 1, 1, NULL, 1e-9, 1e-9);
    test_parity(what, g1, g2, (size_t)P, P, NULL, 1e-9, 1e-8);
    test_parity(what, H1, H2, (size_t)P * P, P, NULL, 1e-9, 1e-8);
    free(X), free(y), free(H1), free(H2);
}

int main(void)
{
    if (vfr_device_count() == 0) {
        fprintf(stderr, "test_linear_parity: no CUDA device, skipped\n");
        return 77;
    }
    compare(1, 1, 1);
    compare(65537, 7, 1);
    compare(200000, 50, 1);
    compare(1000, 3, 0);
    compare(131073, 20, 0);
    return test_done("test_linear_parity");
}
