/* test_lstm_parity.c: the cuDNN LSTM against the CPU twin on the same weights
 * and inputs: the forward pass, the loss, every gradient, and 5 clipped Adam
 * steps (losses and weights), with and without dropout (both devices use the
 * same dropout hash), from 1 to 64 sequences, 1 to 3 layers; then the device
 * gather from a staged panel; then TF32; then a whole model fitted on the GPU.
 * Exits 77 (skipped) without a device: it never passes without comparing.
 *
 * Errors are relative to the tensor's scale, max |gpu - cpu| / max |cpu|.
 * FMA math: 1e-4 for outputs, loss and gradients (different summation
 * orders in float), 1e-3 for weights after 5 Adam steps (Adam divides by
 * sqrt(v), so near-zero gradients amplify float noise, as in the golden
 * test). TF32: 1e-2 for the outputs (10-bit mantissa products); the
 * weights after the Adam steps get a per-weight bound instead of one number
 * (tf32_weights below). */
#include <stdint.h>

#define TEST_SEED 88172645463325252ull
#include "test_util.h"
#include "vfr/lstm.h"
#include "vfr/model.h"


static double scaled_err(const float *got, const float *ref, int64_t n, int64_t *worst)
{
    double e = 0, s = 0;
    *worst = -1;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        if (d > e || isnan(d))
            e = d, *worst = i;
        s = fabs(ref[i]) > s ? fabs(ref[i]) : s;
    }
    return s > 0 ? e / s : e;
}

static void report(const char *what, const char *name, double e, double tol, int64_t worst, const float *got,
                   const float *ref)
{
    int ok = e <= tol;
    if (!ok || getenv("VFR_VERBOSE"))
        fprintf(stderr, "  %s %s: scaled error %.2e (tolerance %.0e)%s", name, what, e, tol, ok ? "\n" : "");
    if (!ok && worst >= 0)
        fprintf(stderr, ", worst [%lld]: gpu %.9g cpu %.9g\n", (long long)worst, got[worst], ref[worst]);
    CHECK(ok);
}

/* TF32 weights after `steps` Adam steps. Adam moves a weight by about lr per
 * step whatever its gradient's size, so a weight whose gradient is below
 * TF32's error can move a full step either way: a CPU model of TF32 rounding
 * gives max differences of 0.06-0.08 on this data and more on other draws,
 * and one threshold on the largest difference (once 0.1) is no criterion.
 * Two checks instead, both sound for Adam (betas 0.9/0.999):
 *  - displacement: |m^/sqrt(v^)| <= 1.005 in the first 5 steps (Cauchy-
 *    Schwarz over the bias-corrected averages), so no weight may move more
 *    than steps * 1.016 lr from where it started (a CPU run reaches 5.02 lr;
 *    an lr 2% too large, 5.12 lr, fails);
 *  - per weight: with eg the gradient error measured before the steps
 *    (scaled by the largest gradient, at least 1e-5), Gmax the largest and
 *    gmin_i the smallest |clipped gradient| of weight i over the steps, Adam's
 *    step for i is off by at most ~2 eg Gmax / gmin_i of a step, never more
 *    than 2.02 steps:
 *        |w_gpu - w_cpu|_i <= steps lr min(2.1, 16 eg Gmax / gmin_i) + 1e-6 max|w|
 *    (16 = 8 x the first-order bound, for the feedback of weights already
 *    moved; a CPU model with gradient noise at the full test tolerance stays
 *    within 0.93 of it). Weights with large gradients get tight bounds, the
 *    rest what Adam allows; the 5 losses are checked against tz as well. */
static void tf32_weights(const char *name, const float *wg, const float *w, const float *w0,
                         const float *gmin, double gmax, double eg, int64_t P, int steps, double lr)
{
    double wmax = 0, worst = 0, disp = 0;
    int64_t wi = -1, bad = 0;
    if (eg < 1e-5)
        eg = 1e-5;
    for (int64_t i = 0; i < P; i++) {
        wmax = fabs(w[i]) > wmax ? fabs(w[i]) : wmax;
        double dd = fabs((double)wg[i] - (double)w0[i]);
        disp = dd > disp ? dd : disp;
    }
    for (int64_t i = 0; i < P; i++) {
        double r = gmin[i] > 0 ? 16 * eg * gmax / gmin[i] : 2.1;
        double bound = steps * lr * (r < 2.1 ? r : 2.1) + 1e-6 * wmax;
        double d = fabs((double)wg[i] - (double)w[i]), q = d / bound;
        if (!(q <= 1))
            bad++;
        if (!(q <= worst))
            worst = q, wi = i;
    }
    if (bad || !(disp <= steps * 1.016 * lr) || getenv("VFR_VERBOSE"))
        fprintf(stderr, "  %s weights after %d steps: moved at most %.4f lr (bound %.2f lr); %lld over "
                "their bound, worst %.2f of it [%lld]: gpu %.9g cpu %.9g\n", name, steps, disp / lr,
                steps * 1.016, (long long)bad, worst, (long long)wi, wi >= 0 ? wg[wi] : 0.0,
                wi >= 0 ? w[wi] : 0.0);
    CHECK(disp <= steps * 1.016 * lr);
    CHECK(bad == 0);
}

static void compare(const char *name, int32_t F, int32_t L, int32_t B, int layers, const int32_t *H,
                    vfr_lstm_head head, float p, vfr_lstm_math math)
{
    vfr_lstm_spec s = {F, L, layers, {0}, head};
    memcpy(s.H, H, sizeof(int32_t) * layers);
    const int64_t P = vfr_lstm_param_count(&s), nx = (int64_t)L * B * F;
    const double lr = 0.01, clip = 0.05;
    const uint64_t key = 777;
    float *w = malloc(sizeof(float) * P), *wg = malloc(sizeof(float) * P), *g = malloc(sizeof(float) * P);
    float *gg = malloc(sizeof(float) * P), *m = calloc(P, sizeof(float)), *v = calloc(P, sizeof(float));
    float *x = malloc(sizeof(float) * nx), *y = malloc(sizeof(float) * B);
    float *z = malloc(sizeof(float) * B), *zg = malloc(sizeof(float) * B), *dz = malloc(sizeof(float) * B);
    float *gmin = malloc(sizeof(float) * P), *w0 = malloc(sizeof(float) * P);
    double gmax = 0, eg = 0;
    for (int64_t i = 0; i < P; i++)
        gmin[i] = INFINITY;
    vfr_lstm_init(&s, 11, w);
    memcpy(w0, w, sizeof(float) * P);
    for (int64_t i = 0; i < nx; i++)
        x[i] = (float)(2 * test_urand() - 1);
    for (int32_t b = 0; b < B; b++)
        y[b] = head == VFR_LSTM_HEAD_LOGISTIC ? (float)(test_urand() < 0.5) : (float)(test_urand() - 0.5);
    vfr_lstm_cpu *c = NULL;
    vfr_lstm_cuda *d = NULL;
    CHECK_OK(vfr_lstm_cpu_create(&s, B, &c));
    CHECK_OK(vfr_lstm_cuda_create(&s, B, math, &d));
    if (!c || !d)
        goto done;
    const double tz = math == VFR_LSTM_MATH_TF32 ? 1e-2 : 1e-4, tw = 1e-3;
    int64_t worst;
    double sum, e;
    /* forward, loss, gradients */
    vfr_lstm_cpu_forward(c, w, x, B, p, key, z);
    double loss = vfr_lstm_cpu_loss(head, z, y, B, dz);
    vfr_lstm_cpu_backward(c, w, dz, g);
    CHECK_OK(vfr_lstm_cuda_set_params(d, w));
    CHECK_OK(vfr_lstm_cuda_get_params(d, wg)); /* the layout map round-trips exactly */
    CHECK(memcmp(w, wg, sizeof(float) * P) == 0);
    CHECK_OK(vfr_lstm_cuda_batch_host(d, x, y, B));
    CHECK_OK(vfr_lstm_cuda_forward(d, B, 1, p, key));
    CHECK_OK(vfr_lstm_cuda_read_z(d, B, zg));
    e = scaled_err(zg, z, B, &worst);
    report("z", name, e, tz, worst, zg, z);
    CHECK_OK(vfr_lstm_cuda_loss(d, B, 1));
    CHECK_OK(vfr_lstm_cuda_get_grads(d, gg));
    CHECK_OK(vfr_lstm_cuda_loss_take(d, &sum));
    CHECK_NEAR(sum / B, loss, 0, tz);
    e = eg = scaled_err(gg, g, P, &worst);
    report("gradients", name, e, tz, worst, gg, g);
    /* 5 steps: clip + Adam on both */
    double worst_loss = 0;
    for (int t = 1; t <= 5; t++) {
        vfr_lstm_cpu_forward(c, w, x, B, p, key, z);
        double lc = vfr_lstm_cpu_loss(head, z, y, B, dz);
        vfr_lstm_cpu_backward(c, w, dz, g);
        vfr_lstm_clip(g, P, clip);
        for (int64_t i = 0; i < P; i++) {
            gmin[i] = fabsf(g[i]) < gmin[i] ? fabsf(g[i]) : gmin[i];
            gmax = fabs(g[i]) > gmax ? fabs(g[i]) : gmax;
        }
        vfr_lstm_adam(w, g, m, v, P, t, lr);
        CHECK_OK(vfr_lstm_cuda_forward(d, B, 1, p, key));
        CHECK_OK(vfr_lstm_cuda_loss(d, B, 1));
        CHECK_OK(vfr_lstm_cuda_update(d, lr, clip));
        CHECK_OK(vfr_lstm_cuda_loss_take(d, &sum));
        e = fabs(sum / B - lc) / fabs(lc);
        worst_loss = e > worst_loss ? e : worst_loss;
    }
    CHECK(worst_loss <= tz);
    CHECK_OK(vfr_lstm_cuda_get_params(d, wg));
    if (math == VFR_LSTM_MATH_TF32) {
        tf32_weights(name, wg, w, w0, gmin, gmax, eg, P, 5, lr);
    } else {
        e = scaled_err(wg, w, P, &worst);
        report("weights after 5 steps", name, e, tw, worst, wg, w);
    }
    /* scoring mode gives the same outputs as training mode without dropout */
    vfr_lstm_cpu_forward(c, w, x, B, 0.0f, 0, z);
    CHECK_OK(vfr_lstm_cuda_forward(d, B, 0, 0.0f, 0));
    CHECK_OK(vfr_lstm_cuda_read_z(d, B, zg));
    e = scaled_err(zg, z, B, &worst);
    report("z (scoring)", name, e, tz, worst, zg, z);
    fprintf(stderr, "%s: %lld params, checked (5-step loss error %.1e)\n", name, (long long)P, worst_loss);
done:
    vfr_lstm_cpu_destroy(c);
    vfr_lstm_cuda_destroy(d);
    free(w), free(wg), free(g), free(gg), free(m), free(v), free(x), free(y), free(z), free(zg), free(dz);
    free(gmin), free(w0);
}

/* The device gather (staged panel, row lists, standardisation, NaN -> 0)
 * against a host gather of the same windows. */
static void gather(void)
{
    enum { S = 5, T = 40, F = 4, L = 6, B = 7 };
    vfr_lstm_spec s = {F, L, 2, {8, 4}, VFR_LSTM_HEAD_LOGISTIC};
    static float X[S * T * F];
    static int32_t prev[S * T];
    float mean[F], inv[F], w[4096], z[B], zg[B], x[L * B * F];
    int32_t rows[B];
    for (int i = 0; i < S * T * F; i++)
        X[i] = test_urand() < 0.05 ? NAN : (float)(10 * test_urand());
    for (int r = 0; r < S * T; r++)
        prev[r] = r >= S ? r - S : -1;
    for (int f = 0; f < F; f++)
        mean[f] = 5.0f, inv[f] = 1 / 3.0f;
    for (int b = 0; b < B; b++)
        rows[b] = (L - 1) * S + (int32_t)(test_urand() * (S * T - (L - 1) * S));
    for (int b = 0; b < B; b++) {
        int32_t r = rows[b];
        for (int t = L - 1; t >= 0; t--, r = t >= 0 ? prev[r] : r)
            for (int f = 0; f < F; f++) {
                float v = (X[r * F + f] - mean[f]) * inv[f];
                x[(t * B + b) * F + f] = isfinite(v) ? v : 0.0f;
            }
    }
    CHECK(vfr_lstm_param_count(&s) <= 4096);
    vfr_lstm_init(&s, 5, w);
    vfr_lstm_cpu *c = NULL;
    vfr_lstm_cuda *d = NULL;
    CHECK_OK(vfr_lstm_cpu_create(&s, B, &c));
    CHECK_OK(vfr_lstm_cuda_create(&s, B, VFR_LSTM_MATH_FMA, &d));
    if (c && d) {
        vfr_lstm_cpu_forward(c, w, x, B, 0.0f, 0, z);
        CHECK_OK(vfr_lstm_cuda_set_params(d, w));
        CHECK_OK(vfr_lstm_cuda_stage(d, X, S * T, prev, mean, inv));
        CHECK_OK(vfr_lstm_cuda_rows(d, VFR_LSTM_SLOT_EVAL, rows, NULL, B));
        CHECK_OK(vfr_lstm_cuda_gather(d, VFR_LSTM_SLOT_EVAL, 0, B));
        CHECK_OK(vfr_lstm_cuda_forward(d, B, 0, 0.0f, 0));
        CHECK_OK(vfr_lstm_cuda_read_z(d, B, zg));
        int64_t worst;
        double e = scaled_err(zg, z, B, &worst);
        report("z (device gather)", "gather", e, 1e-4, worst, zg, z);
        CHECK_FAIL(vfr_lstm_cuda_gather(d, VFR_LSTM_SLOT_EVAL, 1, B), VFR_ERR_INVALID_ARG, "outside");
    }
    vfr_lstm_cpu_destroy(c);
    vfr_lstm_cuda_destroy(d);
}

/* A model fitted on the GPU learns the planted pattern of test_lstm_model.c
 * and scores like the CPU-fitted one. */
static void model(void)
{
    enum { S = 24, T = 320, F = 2 };
    static float X[S * T * F], y[S * T];
    static int64_t prev[S * T];
    for (int r = 0; r < S * T; r++) {
        X[r * F] = (float)(2 * test_urand() - 1);
        X[r * F + 1] = (float)test_urand();
        prev[r] = r >= S ? r - S : -1;
    }
    for (int r = 0; r < S * T; r++) {
        double sum = 0;
        for (int k = 0, q = r; k < 5 && q >= 0; k++, q = (int)prev[q])
            sum += X[q * F];
        y[r] = r >= 4 * S ? (float)(sum > 0) : NAN;
    }
    const char *params = "{\"lookback\": 8, \"units\": [16, 8], \"dropout\": 0.1, \"learning_rate\": 0.01, "
                         "\"batch_size\": 32, \"epochs\": 25, \"patience\": 5}";
    vfr_model_config cfg = {"lstm", params, VFR_OBJECTIVE_DIRECTION, VFR_DEVICE_CUDA, 7, F, NULL, 0, NULL};
    vfr_dataview *tr = NULL, *va = NULL, *te = NULL;
    CHECK_OK(vfr_dataview_create(X, y, 220 * S, F, &tr));
    CHECK_OK(vfr_dataview_create(X + 220 * S * F, y + 220 * S, 50 * S, F, &va));
    CHECK_OK(vfr_dataview_create(X + 270 * S * F, y + 270 * S, 50 * S, F, &te));
    if (!tr || !va || !te)
        return;
    vfr_dataview_set_history(tr, X, 0, prev);
    vfr_dataview_set_history(va, X, 220 * S, prev);
    vfr_dataview_set_history(te, X, 270 * S, prev);
    float pg[50 * S], pc[50 * S];
    for (int dev = 0; dev < 2; dev++) {
        vfr_model *m = NULL;
        vfr_fit_result res;
        cfg.device = dev ? VFR_DEVICE_CPU : VFR_DEVICE_CUDA;
        CHECK_OK(vfr_model_create(&cfg, &m));
        if (!m)
            continue;
        CHECK_OK(vfr_model_fit(m, tr, va, NULL, &res));
        float *p = dev ? pc : pg;
        CHECK_OK(vfr_model_predict(m, te, p));
        int hit = 0;
        for (int i = 0; i < 50 * S; i++)
            hit += (p[i] > 0.5f) == (y[270 * S + i] > 0.5f);
        fprintf(stderr, "model on %s: %d epochs (best %d), val logloss %.4f, test accuracy %.3f\n",
                dev ? "cpu" : "cuda", res.rounds, res.best_round, res.best_val_loss, hit / (50.0 * S));
        CHECK(hit > 0.8 * 50 * S);
        vfr_model_destroy(m);
    }
    double dmax = 0;
    for (int i = 0; i < 50 * S; i++)
        dmax = fmax(dmax, fabs(pg[i] - pc[i]));
    fprintf(stderr, "model: max |p_cuda - p_cpu| = %.3g (trajectories drift apart over epochs)\n", dmax);
    vfr_dataview_destroy(tr), vfr_dataview_destroy(va), vfr_dataview_destroy(te);
}

int main(void)
{
    if (vfr_device_count() == 0) {
        fprintf(stderr, "test_lstm_parity: no CUDA device, skipped\n");
        return 77;
    }
    const int32_t h1[] = {8}, h2[] = {8, 6}, h3[] = {6, 5, 4}, big[] = {64, 32};
    compare("1 layer", 5, 7, 9, 1, h1, VFR_LSTM_HEAD_LOGISTIC, 0.0f, VFR_LSTM_MATH_FMA);
    compare("2 layers", 5, 7, 9, 2, h2, VFR_LSTM_HEAD_LOGISTIC, 0.0f, VFR_LSTM_MATH_FMA);
    compare("2 layers + dropout", 5, 7, 9, 2, h2, VFR_LSTM_HEAD_LOGISTIC, 0.3f, VFR_LSTM_MATH_FMA);
    compare("3 layers, mse, dropout", 3, 4, 5, 3, h3, VFR_LSTM_HEAD_LINEAR, 0.25f, VFR_LSTM_MATH_FMA);
    compare("one sequence", 5, 7, 1, 2, h2, VFR_LSTM_HEAD_LOGISTIC, 0.0f, VFR_LSTM_MATH_FMA);
    compare("one step", 5, 1, 9, 2, h2, VFR_LSTM_HEAD_LINEAR, 0.0f, VFR_LSTM_MATH_FMA);
    compare("bench shape 50x20, 64->32, batch 64", 50, 20, 64, 2, big, VFR_LSTM_HEAD_LOGISTIC, 0.3f,
            VFR_LSTM_MATH_FMA);
    compare("tf32", 50, 20, 64, 2, big, VFR_LSTM_HEAD_LOGISTIC, 0.0f, VFR_LSTM_MATH_TF32);
    gather();
    model();
    return test_done("test_lstm_parity");
}
