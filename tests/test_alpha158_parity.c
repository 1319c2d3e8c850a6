/* test_alpha158_parity.c: the CUDA Alpha158 kernel against its CPU twin on
 * seeded random bars and edge cases: an empty symbol, a one-bar symbol, a
 * symbol of block size + 1 bars, unknown (NaN) and zero volumes, flat bars,
 * vwap present. NaN must match NaN; values |gpu - cpu| <= 1e-6 + 1e-5 |cpu|
 * (the kernel runs the same code; only FMA contraction differs). Exits 77
 * (skipped) without a device: it never passes without comparing. */
#include <stdint.h>

#define TEST_SEED 88172645463325252ull
#include "test_util.h"
#include "vfr/device.h"
#include "vfr/features.h"

enum { F = 158 };


int main(void)
{
    if (!vfr_device_cuda_compiled() || vfr_device_count() == 0) {
        fprintf(stderr, "test_alpha158_parity: no CUDA device; skipped\n");
        return 77;
    }
    const int64_t len[] = {300, 0, 1, 129, 61, 60, 2000, 5};
    const int32_t S = (int32_t)(sizeof len / sizeof len[0]);
    int64_t off[sizeof len / sizeof len[0] + 1];
    off[0] = 0;
    for (int32_t s = 0; s < S; s++)
        off[s + 1] = off[s] + len[s];
    const int64_t N = off[S];
    double *o = malloc(sizeof *o * N), *h = malloc(sizeof *h * N), *l = malloc(sizeof *l * N);
    double *c = malloc(sizeof *c * N), *v = malloc(sizeof *v * N), *w = malloc(sizeof *w * N);
    float *a = malloc(sizeof *a * N * F), *b = malloc(sizeof *b * N * F);
    for (int32_t s = 0; s < S; s++) {
        double p = 10 + 100 * test_urand();
        for (int64_t i = off[s]; i < off[s + 1]; i++) {
            o[i] = p * (1 + 0.01 * (test_urand() - 0.5));
            c[i] = o[i] * (1 + 0.04 * (test_urand() - 0.5));
            h[i] = (o[i] > c[i] ? o[i] : c[i]) * (1 + 0.01 * test_urand());
            l[i] = (o[i] < c[i] ? o[i] : c[i]) * (1 - 0.01 * test_urand());
            v[i] = test_urand() < 0.01 ? NAN : test_urand() < 0.02 ? 0.0 : floor(1e6 * test_urand());
            w[i] = (h[i] + l[i] + c[i]) / 3;
            if (s == 4 && i - off[s] > 20 && i - off[s] < 30) /* flat bars */
                o[i] = h[i] = l[i] = c[i] = p, v[i] = 1000;
            p = c[i];
        }
    }
    vfr_ohlcv_series x = {S, off, o, h, l, c, v, w};
    CHECK_OK(vfr_features_alpha158_cpu(&x, 1, a, F));
    CHECK_OK(vfr_features_alpha158_cuda(&x, b, F));
    int shown = 0;
    int64_t finite = 0;
    for (int64_t r = 0; r < N; r++)
        for (int f = 0; f < F; f++) {
            double g = b[r * F + f], ref = a[r * F + f];
            int ok = isnan(ref) ? isnan(g) : !isnan(g) && fabs(g - ref) <= 1e-6 + 1e-5 * fabs(ref);
            finite += !isnan(ref);
            if (!ok && shown++ < 10)
                fprintf(stderr, "row %lld %s: cuda %.9g cpu %.9g\n", (long long)r,
                        vfr_features_alpha158_name(f), g, ref);
            CHECK(ok);
        }
    CHECK(finite > N * F / 2);
    /* Without vwap, and the checks the GPU path shares. */
    x.vwap = NULL;
    CHECK_OK(vfr_features_alpha158_cuda(&x, b, F));
    CHECK(isnan(b[12]));
    CHECK_FAIL(vfr_features_alpha158_cuda(&x, b, F - 1), VFR_ERR_INVALID_ARG, "ld");
    free(o), free(h), free(l), free(c), free(v), free(w), free(a), free(b);
    return test_done("test_alpha158_parity");
}
