/* test_lstm_grad.c: the CPU twin's analytic gradients (backward through time)
 * against central finite differences, in double, on tiny networks: every
 * parameter of 1-, 2- and 3-layer stacks of different widths, both heads, with
 * and without dropout (a fixed mask is part of the function).
 *
 * The difference quotient is Richardson-extrapolated, (4 D(h/2) - D(h)) / 3
 * with h = 1e-2 (truncation O(h^4)), so that its own error stays far below the
 * 1e-6 relative bound (worst seen: 2e-8). The error of a gradient g against its estimate n is
 * |g - n| / max(|g|, |n|, 1e-6 * max |g|): relative, floored at a millionth of
 * the largest gradient where a gradient is (nearly) zero.
 *
 * Float: the float twin's gradients agree with the double twin's to ~1e-7 of
 * the largest gradient (checked at 1e-5 of it). Elementwise, a gradient many
 * orders below the largest has fewer correct digits in float: float is
 * checked against the scale of the tensor, as in the golden test. */
#include <stdint.h>

#define TEST_SEED 0x1234567887654321ull
#include "test_util.h"
#include "vfr/lstm.h"

/* The step: larger steps cut rounding noise, Richardson cancels the h^2
 * term; 1e-2 gave the smallest worst-case error of 1e-3 .. 2e-2. */
#define FD_H 1e-2


static double loss_at(vfr_lstm_cpu_f64 *c, const vfr_lstm_spec *s, const double *w, const double *x,
                      const double *y, int32_t B, float p, double *z)
{
    vfr_lstm_cpu_forward_f64(c, w, x, B, p, 99, z);
    return vfr_lstm_cpu_loss_f64(s->head, z, y, B, NULL);
}

static void check(int32_t F, int32_t L, int32_t B, int layers, const int32_t *H, vfr_lstm_head head,
                  float p)
{
    vfr_lstm_spec s = {F, L, layers, {0}, head};
    memcpy(s.H, H, sizeof(int32_t) * layers);
    int64_t P = vfr_lstm_param_count(&s);
    float *wf = malloc(sizeof(float) * P);
    double *w = malloc(sizeof(double) * P), *g = malloc(sizeof(double) * P);
    double *x = malloc(sizeof(double) * L * B * F), *y = malloc(sizeof(double) * B);
    double *z = malloc(sizeof(double) * B), *dz = malloc(sizeof(double) * B);
    vfr_lstm_init(&s, 7, wf);
    /* larger than PyTorch's init, so that gates saturate somewhere too */
    for (int64_t i = 0; i < P; i++)
        w[i] = 3.0 * wf[i];
    for (int64_t i = 0; i < (int64_t)L * B * F; i++)
        x[i] = 2 * test_urand() - 1;
    for (int32_t b = 0; b < B; b++)
        y[b] = head == VFR_LSTM_HEAD_LOGISTIC ? (test_urand() < 0.5) : test_urand() - 0.5;
    vfr_lstm_cpu_f64 *c = NULL;
    CHECK_OK(vfr_lstm_cpu_create_f64(&s, B, &c));
    if (!c)
        return;
    vfr_lstm_cpu_forward_f64(c, w, x, B, p, 99, z);
    vfr_lstm_cpu_loss_f64(head, z, y, B, dz);
    vfr_lstm_cpu_backward_f64(c, w, dz, g);
    double gmax = 0;
    for (int64_t i = 0; i < P; i++)
        gmax = fabs(g[i]) > gmax ? fabs(g[i]) : gmax;
    double worst = 0;
    int64_t worst_i = -1;
    for (int64_t i = 0; i < P; i++) {
        double d[2];
        for (int r = 0; r < 2; r++) {
            double h = r ? FD_H / 2 : FD_H, w0 = w[i];
            w[i] = w0 + h;
            double lp = loss_at(c, &s, w, x, y, B, p, z);
            w[i] = w0 - h;
            double lm = loss_at(c, &s, w, x, y, B, p, z);
            w[i] = w0;
            d[r] = (lp - lm) / (2 * h);
        }
        double n = (4 * d[1] - d[0]) / 3;
        double den = fmax(fmax(fabs(g[i]), fabs(n)), 1e-6 * gmax);
        double e = fabs(g[i] - n) / den;
        if (e > worst || isnan(e))
            worst = e, worst_i = i;
    }
    /* the float twin against the double one */
    vfr_lstm_cpu *cf = NULL;
    float *xf = malloc(sizeof(float) * L * B * F), *yf = malloc(sizeof(float) * B);
    float *zf = malloc(sizeof(float) * B), *dzf = malloc(sizeof(float) * B), *gf = malloc(sizeof(float) * P);
    for (int64_t i = 0; i < (int64_t)L * B * F; i++)
        xf[i] = (float)x[i];
    for (int32_t b = 0; b < B; b++)
        yf[b] = (float)y[b];
    for (int64_t i = 0; i < P; i++)
        wf[i] = (float)w[i];
    CHECK_OK(vfr_lstm_cpu_create(&s, B, &cf));
    double fworst = 0;
    if (cf) {
        vfr_lstm_cpu_forward(cf, wf, xf, B, p, 99, zf);
        vfr_lstm_cpu_loss(head, zf, yf, B, dzf);
        vfr_lstm_cpu_backward(cf, wf, dzf, gf);
        for (int64_t i = 0; i < P; i++) {
            double e = fabs(gf[i] - g[i]) / gmax;
            fworst = e > fworst || isnan(e) ? e : fworst;
        }
    }
    fprintf(stderr, "F=%d L=%d B=%d layers=%d head=%d p=%.2f: %lld params, max rel error %.2e (param %lld); "
            "float vs double %.2e\n", F, L, B, layers, (int)head, p, (long long)P, worst, (long long)worst_i,
            fworst);
    CHECK(worst < 1e-6);
    CHECK(fworst < 1e-5);
    vfr_lstm_cpu_destroy_f64(c);
    vfr_lstm_cpu_destroy(cf);
    free(wf), free(w), free(g), free(x), free(y), free(z), free(dz);
    free(xf), free(yf), free(zf), free(dzf), free(gf);
}

int main(void)
{
    const int32_t h1[] = {4}, h2[] = {5, 3}, h3[] = {3, 4, 2};
    check(3, 4, 5, 1, h1, VFR_LSTM_HEAD_LOGISTIC, 0.0f);
    check(3, 5, 4, 2, h2, VFR_LSTM_HEAD_LOGISTIC, 0.0f);
    check(3, 5, 4, 2, h2, VFR_LSTM_HEAD_LOGISTIC, 0.3f);
    check(2, 4, 3, 3, h3, VFR_LSTM_HEAD_LINEAR, 0.25f);
    check(4, 1, 3, 2, h2, VFR_LSTM_HEAD_LINEAR, 0.0f); /* one step: no recurrence */

    /* the parameter layout is PyTorch's */
    vfr_lstm_spec s = {7, 3, 2, {5, 3}, VFR_LSTM_HEAD_LOGISTIC};
    vfr_lstm_tensor t[10];
    CHECK(vfr_lstm_tensor_count(&s) == 10);
    vfr_lstm_tensors(&s, t);
    CHECK(strcmp(t[0].name, "weight_ih_l0") == 0 && t[0].dims[0] == 20 && t[0].dims[1] == 7);
    CHECK(strcmp(t[5].name, "weight_hh_l1") == 0 && t[5].dims[0] == 12 && t[5].dims[1] == 3);
    CHECK(strcmp(t[7].name, "bias_hh_l1") == 0 && t[7].rank == 1 && t[7].dims[0] == 12);
    CHECK(strcmp(t[8].name, "head.weight") == 0 && t[8].dims[0] == 1 && t[8].dims[1] == 3);
    CHECK(strcmp(t[9].name, "head.bias") == 0 && t[9].offset == vfr_lstm_param_count(&s) - 1);
    /* seeded init */
    int64_t P = vfr_lstm_param_count(&s);
    float *a = malloc(sizeof(float) * P), *b = malloc(sizeof(float) * P);
    vfr_lstm_init(&s, 42, a);
    vfr_lstm_init(&s, 42, b);
    CHECK(memcmp(a, b, sizeof(float) * P) == 0);
    vfr_lstm_init(&s, 43, b);
    CHECK(memcmp(a, b, sizeof(float) * P) != 0);
    int inside = 1;
    for (int64_t i = 0; i < t[4].offset; i++)
        inside &= fabsf(a[i]) <= 1 / sqrtf(5.0f);
    CHECK(inside);
    free(a), free(b);
    vfr_lstm_spec bad = s;
    bad.layers = 0;
    CHECK_FAIL(vfr_lstm_spec_check(&bad), VFR_ERR_INVALID_ARG, "layers");
    return test_done("test_lstm_grad");
}
