/* lstm.c: the LSTM core's CPU twin (include/vfr/lstm.h): parameter layout and
 * initialisation, the dropout hash, and the forward/backward pass of
 * lstm_core.h instantiated in float (BLAS sgemm, vectorisable activations) and
 * in double (dgemm, libm) for the gradient check. Also the stubs of the cuDNN
 * side for builds without CUDA or cuDNN. */
#include "vfr/lstm.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lstm_internal.h"

/* cblas.h brings <complex.h> and its macro I; here I is a layer's input width. */
#undef I

vfr_status vfr_lstm_spec_check(const vfr_lstm_spec *s)
{
    if (s->layers < 1 || s->layers > VFR_LSTM_MAX_LAYERS)
        return vfr_fail(VFR_ERR_INVALID_ARG, "lstm: %d layers (1 to %d)", s->layers, VFR_LSTM_MAX_LAYERS);
    if (s->F < 1 || s->F > 65536 || s->L < 1 || s->L > 65536)
        return vfr_fail(VFR_ERR_INVALID_ARG, "lstm: %d features x %d steps is out of range", s->F, s->L);
    for (int k = 0; k < s->layers; k++)
        if (s->H[k] < 1 || s->H[k] > 65536)
            return vfr_fail(VFR_ERR_INVALID_ARG, "lstm: layer %d has %d units (1 to 65536)", k, s->H[k]);
    if (s->head != VFR_LSTM_HEAD_LOGISTIC && s->head != VFR_LSTM_HEAD_LINEAR)
        return vfr_fail(VFR_ERR_INVALID_ARG, "lstm: unknown head %d", (int)s->head);
    return VFR_OK;
}

int32_t vfr_lstm_tensor_count(const vfr_lstm_spec *s) { return 4 * s->layers + 2; }

void vfr_lstm_tensors(const vfr_lstm_spec *s, vfr_lstm_tensor *t)
{
    int64_t off = 0;
    int n = 0;
    for (int k = 0; k < s->layers; k++) {
        int64_t H = s->H[k], I = k ? s->H[k - 1] : s->F;
        static const char *const fmt[4] = {"weight_ih_l%d", "weight_hh_l%d", "bias_ih_l%d", "bias_hh_l%d"};
        const int64_t cols[4] = {I, H, 0, 0};
        for (int q = 0; q < 4; q++, n++) {
            snprintf(t[n].name, sizeof t[n].name, fmt[q], k);
            t[n].offset = off;
            t[n].rank = cols[q] ? 2 : 1;
            t[n].dims[0] = 4 * H;
            t[n].dims[1] = cols[q] ? cols[q] : 1;
            off += 4 * H * t[n].dims[1];
        }
    }
    int64_t Hl = s->H[s->layers - 1];
    snprintf(t[n].name, sizeof t[n].name, "head.weight");
    t[n].offset = off;
    t[n].rank = 2;
    t[n].dims[0] = 1;
    t[n].dims[1] = Hl;
    n++;
    snprintf(t[n].name, sizeof t[n].name, "head.bias");
    t[n].offset = off + Hl;
    t[n].rank = 1;
    t[n].dims[0] = 1;
    t[n].dims[1] = 1;
}

int64_t vfr_lstm_param_count(const vfr_lstm_spec *s)
{
    int64_t P = 0;
    for (int k = 0; k < s->layers; k++) {
        int64_t H = s->H[k], I = k ? s->H[k - 1] : s->F;
        P += 4 * H * (I + H + 2);
    }
    return P + s->H[s->layers - 1] + 1;
}

void vfr_lstm_init(const vfr_lstm_spec *s, uint64_t seed, float *w)
{
    uint64_t state = vfri_lstm_mix64(seed ^ 0x4c53544d494e4954ull); /* "LSTMINIT" */
    int64_t off = 0;
    for (int k = 0; k <= s->layers; k++) {
        int64_t n;
        double bound;
        if (k < s->layers) {
            int64_t H = s->H[k], I = k ? s->H[k - 1] : s->F;
            n = 4 * H * (I + H + 2);
            bound = 1.0 / sqrt((double)H);
        } else {
            n = s->H[k - 1] + 1;
            bound = 1.0 / sqrt((double)s->H[k - 1]);
        }
        for (int64_t i = 0; i < n; i++) {
            state += 0x9E3779B97F4A7C15ull;
            double u = (double)(vfri_lstm_mix64(state) >> 11) * (1.0 / 9007199254740992.0);
            w[off + i] = (float)((2 * u - 1) * bound);
        }
        off += n;
    }
}

int vfr_lstm_dropout_keep(uint64_t key, int32_t layer, int64_t idx, float p)
{
    return vfri_lstm_keep(vfri_lstm_layer_key(key, layer), idx, p);
}

/* ---- float activations -------------------------------------------------------
 * Branch-free, so that the gate loops vectorise; within 1.5e-7 relative of
 * libm over [-100, 100] (Cephes' expf and tanhf polynomials), well inside the
 * 1e-5 the golden test allows. */

/* c ? a : b without a branch (a plain ?: on floats keeps gcc from vectorising
 * the loop under the default -ftrapping-math). */
static inline float select_f(int c, float a, float b)
{
    union {
        float f;
        int32_t i;
    } ua = {.f = a}, ub = {.f = b}, r;
    int32_t m = -c;
    r.i = (ua.i & m) | (ub.i & ~m);
    return r.f;
}

static inline float fast_expf(float x)
{
    x = select_f(x < -87.0f, -87.0f, x);
    x = select_f(x > 88.0f, 88.0f, x);
    /* n = round(x / ln 2): adding 1.5 * 2^23 rounds to an integer in float */
    float n = x * 1.44269504088896341f + 12582912.0f;
    n -= 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union {
        int32_t i;
        float f;
    } e = {.i = ((int32_t)n + 127) << 23};
    return p * e.f;
}

static inline float fast_sigmoidf(float x) { return 1.0f / (1.0f + fast_expf(-x)); }

static inline float fast_tanhf(float x)
{
    float a = fabsf(x);
    float z = x * x;
    float p = (((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
               1.33314422036e-1f) * z - 3.33332819422e-1f;
    float small = x + x * z * p;
    float big = copysignf(1.0f - 2.0f / (fast_expf(2.0f * a) + 1.0f), x);
    return select_f(a < 0.625f, small, big);
}

/* ---- the two instantiations ------------------------------------------------ */

/* The float loops get a copy per vector width (SSE2, AVX2, AVX-512), chosen at
 * load time: the same IEEE operations in the same order on every lane (C17
 * mode contracts no multiply-adds), so every copy gives the same bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define VFR_CLONES __attribute__((target_clones("default", "avx2", "avx512f")))
#else
#define VFR_CLONES
#endif

#define REAL float
#define SFX
#define GEMM cblas_sgemm
#define SIGMOID(x) fast_sigmoidf(x)
#define TANH(x) fast_tanhf(x)
#define SQRT(x) sqrtf(x)
#define CLONES VFR_CLONES
#include "lstm_core.h"
#undef REAL
#undef SFX
#undef GEMM
#undef SIGMOID
#undef TANH
#undef SQRT
#undef CLONES

#define REAL double
#define SFX _f64
#define GEMM cblas_dgemm
#define SIGMOID(x) (1.0 / (1.0 + exp(-(x))))
#define TANH(x) tanh(x)
#define SQRT(x) sqrt(x)
#define CLONES
#include "lstm_core.h"
#undef REAL
#undef SFX
#undef GEMM
#undef SIGMOID
#undef TANH
#undef SQRT
#undef CLONES

/* ---- no CUDA or no cuDNN: the device side says so ------------------------ */

#if !defined(VFR_HAVE_CUDA) || !defined(VFR_HAVE_CUDNN)
static vfr_status no_cudnn(void)
{
#ifndef VFR_HAVE_CUDA
    return vfr_fail(VFR_ERR_NO_DEVICE, "lstm: vfr was built without CUDA");
#else
    return vfr_fail(VFR_ERR_NO_DEVICE, "lstm: vfr was built without cuDNN");
#endif
}

vfr_status vfr_lstm_cuda_create(const vfr_lstm_spec *s, int32_t max_batch, vfr_lstm_math math,
                                vfr_lstm_cuda **out)
{
    (void)s, (void)max_batch, (void)math;
    *out = NULL;
    return no_cudnn();
}
void vfr_lstm_cuda_destroy(vfr_lstm_cuda *c) { (void)c; }
vfr_status vfr_lstm_cuda_set_params(vfr_lstm_cuda *c, const float *w) { (void)c, (void)w; return no_cudnn(); }
vfr_status vfr_lstm_cuda_get_params(vfr_lstm_cuda *c, float *w) { (void)c, (void)w; return no_cudnn(); }
vfr_status vfr_lstm_cuda_get_grads(vfr_lstm_cuda *c, float *g) { (void)c, (void)g; return no_cudnn(); }
vfr_status vfr_lstm_cuda_snapshot(vfr_lstm_cuda *c, int restore) { (void)c, (void)restore; return no_cudnn(); }
vfr_status vfr_lstm_cuda_batch_host(vfr_lstm_cuda *c, const float *x, const float *y, int32_t B)
{
    (void)c, (void)x, (void)y, (void)B;
    return no_cudnn();
}
vfr_status vfr_lstm_cuda_stage(vfr_lstm_cuda *c, const float *X, int64_t n, const int32_t *prev,
                               const float *mean, const float *inv_std)
{
    (void)c, (void)X, (void)n, (void)prev, (void)mean, (void)inv_std;
    return no_cudnn();
}
vfr_status vfr_lstm_cuda_rows(vfr_lstm_cuda *c, int slot, const int32_t *rows, const float *y, int64_t n)
{
    (void)c, (void)slot, (void)rows, (void)y, (void)n;
    return no_cudnn();
}
vfr_status vfr_lstm_cuda_gather(vfr_lstm_cuda *c, int slot, int64_t offset, int32_t B)
{
    (void)c, (void)slot, (void)offset, (void)B;
    return no_cudnn();
}
vfr_status vfr_lstm_cuda_forward(vfr_lstm_cuda *c, int32_t B, int train, float p_drop, uint64_t key)
{
    (void)c, (void)B, (void)train, (void)p_drop, (void)key;
    return no_cudnn();
}
vfr_status vfr_lstm_cuda_loss(vfr_lstm_cuda *c, int32_t B, int backward)
{
    (void)c, (void)B, (void)backward;
    return no_cudnn();
}
vfr_status vfr_lstm_cuda_update(vfr_lstm_cuda *c, double lr, double max_norm)
{
    (void)c, (void)lr, (void)max_norm;
    return no_cudnn();
}
vfr_status vfr_lstm_cuda_read_z(vfr_lstm_cuda *c, int32_t B, float *z)
{
    (void)c, (void)B, (void)z;
    return no_cudnn();
}
vfr_status vfr_lstm_cuda_loss_take(vfr_lstm_cuda *c, double *sum)
{
    (void)c;
    *sum = 0;
    return no_cudnn();
}
#endif
