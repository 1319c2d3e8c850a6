/* test_linear_parity.c: the cuBLAS Newton step (loss, gradient, Hessian)
 * against the CPU twin on seeded random data, logistic and ridge, with NaNs
 * and a row count that is not a multiple of the block. Exits 77 without a
 * device. */
#include <stdint.h>

#include "test_util.h"
#include "vfr/linear.h"

static uint64_t s = 0x243F6A8885A308D3ull;
static double u(void)
{
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    return (double)(s >> 11) / 9007199254740992.0;
}

static void compare(int64_t n, int32_t F, int logistic)
{
    const int32_t P = F + 1;
    float *X = malloc(sizeof *X * (size_t)(n * F)), *y = malloc(sizeof *y * (size_t)n);
    double mean[64], scale[64], w[65], g1[65], g2[65], l1, l2;
    double *H1 = malloc(sizeof *H1 * (size_t)(P * P)), *H2 = malloc(sizeof *H2 * (size_t)(P * P));
    for (int64_t i = 0; i < n * F; i++)
        X[i] = u() < 0.02 ? NAN : (float)(4 * u() - 2);
    for (int64_t i = 0; i < n; i++)
        y[i] = logistic ? (u() < 0.4 ? 1.0f : 0.0f) : (float)(u() - 0.5);
    for (int32_t f = 0; f < F; f++) {
        mean[f] = 0.1 * f;
        scale[f] = 1.0 + 0.05 * f;
    }
    for (int32_t k = 0; k < P; k++)
        w[k] = 0.3 * u() - 0.15;
    vfr_linear_problem p = {X, y, n, F, mean, scale, logistic, 0.7};
    CHECK_OK(vfr_linear_gradhess_cpu(&p, w, &l1, g1, H1));
    CHECK_OK(vfr_linear_gradhess_cuda(&p, w, &l2, g2, H2));
    CHECK_NEAR(l2, l1, 1e-9, 1e-9);
    for (int32_t k = 0; k < P; k++)
        CHECK_NEAR(g2[k], g1[k], 1e-8, 1e-9);
    for (int32_t k = 0; k < P * P; k++)
        CHECK_NEAR(H2[k], H1[k], 1e-8, 1e-9);
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
