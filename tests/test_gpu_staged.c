/* test_gpu_staged.c: the launchers on a panel staged once (gpu.h) with the
 * caller's work. Each must give the CPU twin's table (within the parity
 * tolerance) and the one-shot *_cuda result bitwise, and a second call with
 * the same shapes must allocate nothing: neither the work's count nor (in the
 * emulation, emu_test_gpu_staged) the runtime's cudaMalloc/cudaMallocHost
 * count may move. Device-resident scores are read in place (emulation). A
 * panel staged without dates is refused. Exits 77 without a device. */
#define TEST_SEED 0x5851F42D4C957F2Dull
#include <stdint.h>

#include "test_util.h"
#include "vfr/backtest.h"
#include "vfr/device.h"
#include "vfr/features.h"
#include "vfr/gpu.h"
#include "vfr/linear.h"
#include "vfr/metrics.h"

#ifdef VFR_EMU
long long vfr_emu_malloc_count(void);
long long vfr_emu_malloc_host_count(void);
int vfr_emu_cudaMalloc(void **p, size_t bytes);
int vfr_emu_cudaMemcpy(void *dst, const void *src, size_t bytes, int kind);
int vfr_emu_cudaFree(void *p);
static long long runtime_allocs(void) { return vfr_emu_malloc_count() + vfr_emu_malloc_host_count(); }
#else
static long long runtime_allocs(void) { return 0; } /* a real runtime counts nothing for us */
#endif

enum { T = 37, S = 29, M = 6, F = 5 };
static int64_t off[T + 1];
static int32_t sym[T * S];
static float label[T * S], ylab[T * S], fwd[T * S], fwd1[T * S], score[M * T * S], X[T * S * F];
static int64_t N;

/* About 80% of (date, symbol) present; a few NaN scores and returns. */
static void make_panel(vfr_panel *p, int cls)
{
    N = 0;
    for (int t = 0; t < T; t++) {
        off[t] = N;
        for (int s = 0; s < S; s++)
            if (test_urand() < 0.8) {
                sym[N] = s;
                label[N] = test_urand() < 0.5 ? 1.0f : 0.0f;
                ylab[N] = (float)(0.02 * test_nrand());
                fwd[N] = test_urand() < 0.05 ? NAN : (float)(0.02 * test_nrand());
                fwd1[N] = test_urand() < 0.05 ? NAN : (float)(0.01 * test_nrand());
                N++;
            }
    }
    off[T] = N;
    for (int64_t i = 0; i < (int64_t)M * N; i++)
        score[i] = test_urand() < 0.03 ? NAN : (float)test_urand();
    for (int64_t i = 0; i < N * F; i++)
        X[i] = test_urand() < 0.02 ? NAN : (float)test_nrand();
    *p = (vfr_panel){N, T, S, off, sym, cls ? label : ylab, fwd, fwd1};
}

static const char *mname(int k) { return vfr_metrics_name((vfr_metric)k); }
static const char *fname(int k) { return vfr_backtest_metric_name((vfr_fin)k); }

static int bitwise(const double *a, const double *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((isnan(a[i]) && isnan(b[i])) || a[i] == b[i]))
            return 0;
    return 1;
}

/* Calls fn twice; the second call must allocate nothing. */
#define TWICE(what, call, first, second, n)                                                 \
    do {                                                                                    \
        CHECK_OK(call(first));                                                              \
        const int64_t wa_ = vfr_gpu_work_allocations(w);                                   \
        const long long ra_ = runtime_allocs();                                             \
        CHECK_OK(call(second));                                                             \
        if (vfr_gpu_work_allocations(w) != wa_ || runtime_allocs() != ra_) {                \
            fprintf(stderr, "%s: the repeated call allocated (work %lld -> %lld, runtime "  \
                            "%lld -> %lld)\n", what, (long long)wa_,                        \
                    (long long)vfr_gpu_work_allocations(w), ra_, runtime_allocs());         \
            test_failures++;                                                                \
        }                                                                                   \
        CHECK(bitwise(first, second, n));                                                   \
    } while (0)

static void metrics(vfr_gpu_work *w, int cls)
{
    vfr_panel p;
    make_panel(&p, cls);
    vfr_gpu_panel *g = NULL;
    CHECK_OK(vfr_gpu_panel_create(w, &p, NULL, 0, &g));
    if (!g)
        return;
    vfr_metrics_options o;
    vfr_metrics_options_default(&o);
    o.task = cls ? VFR_TASK_CLASSIFICATION : VFR_TASK_REGRESSION;
    const size_t n = (size_t)M * VFR_METRIC_COUNT;
    double ref[M * VFR_METRIC_COUNT], a[M * VFR_METRIC_COUNT], b[M * VFR_METRIC_COUNT],
        one[M * VFR_METRIC_COUNT];
    CHECK_OK(vfr_metrics_batch_cpu(&p, score, M, &o, ref));
#define CALL(out) vfr_metrics_batch_staged(g, w, score, M, &o, out)
    TWICE(cls ? "metrics (classification)" : "metrics (regression)", CALL, a, b, n);
#undef CALL
    test_parity(cls ? "staged metrics cls" : "staged metrics reg", ref, a, n, VFR_METRIC_COUNT, mname,
                1e-9, 1e-12);
    CHECK_OK(vfr_metrics_batch_cuda(&p, score, M, &o, one));
    CHECK(bitwise(a, one, n));
#ifdef VFR_EMU
    /* scores already on the device are read in place */
    void *d = NULL;
    CHECK(vfr_emu_cudaMalloc(&d, sizeof(float) * (size_t)(M * N)) == 0);
    CHECK(vfr_emu_cudaMemcpy(d, score, sizeof(float) * (size_t)(M * N), 1) == 0);
    CHECK_OK(vfr_metrics_batch_staged(g, w, d, M, &o, b));
    CHECK(bitwise(a, b, n));
    vfr_emu_cudaFree(d);
#endif
    vfr_gpu_panel_destroy(g);
}

static void backtest(vfr_gpu_work *w, vfr_strategy strat, int h)
{
    vfr_panel p;
    make_panel(&p, 0);
    vfr_gpu_panel *g = NULL;
    CHECK_OK(vfr_gpu_panel_create(w, &p, NULL, 0, &g));
    if (!g)
        return;
    vfr_backtest_options o;
    vfr_backtest_options_default(&o);
    o.strategy = strat, o.k = 3, o.horizon = h, o.cost_bps = 4, o.threshold = 0.5;
    const size_t n = (size_t)M * VFR_FIN_COUNT;
    double ref[M * VFR_FIN_COUNT], a[M * VFR_FIN_COUNT], b[M * VFR_FIN_COUNT], one[M * VFR_FIN_COUNT];
    double dref[M * T], da[M * T];
    CHECK_OK(vfr_backtest_cpu(&p, score, M, &o, ref, dref));
#define CALL(out) vfr_backtest_staged(g, w, score, M, &o, out, da)
    TWICE(vfr_backtest_strategy_name(strat), CALL, a, b, n);
#undef CALL
    test_parity(vfr_backtest_strategy_name(strat), ref, a, n, VFR_FIN_COUNT, fname, 1e-9, 1e-12);
    test_parity("daily", dref, da, (size_t)M * T, T, NULL, 1e-9, 1e-12);
    CHECK_OK(vfr_backtest_cuda(&p, score, M, &o, one, NULL));
    CHECK(bitwise(a, one, n));
#ifdef VFR_EMU
    void *d = NULL;
    CHECK(vfr_emu_cudaMalloc(&d, sizeof(float) * (size_t)(M * N)) == 0);
    CHECK(vfr_emu_cudaMemcpy(d, score, sizeof(float) * (size_t)(M * N), 1) == 0);
    CHECK_OK(vfr_backtest_staged(g, w, d, M, &o, b, NULL));
    CHECK(bitwise(a, b, n));
    vfr_emu_cudaFree(d);
#endif
    vfr_gpu_panel_destroy(g);
}

static void linear(vfr_gpu_work *w)
{
    vfr_panel p;
    make_panel(&p, 1);
    double mean[F], scale[F], wt[F + 1], la, lb, lref;
    double ga[F + 1], gb[F + 1], gref[F + 1], Ha[(F + 1) * (F + 1)], Hb[(F + 1) * (F + 1)],
        Href[(F + 1) * (F + 1)];
    for (int f = 0; f < F; f++)
        mean[f] = 0.1 * f, scale[f] = 1.0 + 0.2 * f, wt[f] = 0.3 * test_nrand();
    wt[F] = 0.1;
    vfr_linear_problem lp = {X, label, N, F, mean, scale, 1, 0.5, NULL, NULL, 0};
    const vfr_panel rows = {.N = N, .label = label};
    vfr_gpu_panel *g = NULL;
    CHECK_OK(vfr_gpu_panel_create(w, &rows, X, F, &g));
    if (!g)
        return;
    CHECK_OK(vfr_linear_gradhess_cpu(&lp, wt, &lref, gref, Href));
    CHECK_OK(vfr_linear_gradhess_staged(g, w, &lp, wt, &la, ga, Ha));
    const int64_t wa = vfr_gpu_work_allocations(w);
    const long long ra = runtime_allocs();
    CHECK_OK(vfr_linear_gradhess_staged(g, w, &lp, wt, &lb, gb, Hb));
    CHECK(vfr_gpu_work_allocations(w) == wa && runtime_allocs() == ra);
    CHECK(la == lb && bitwise(ga, gb, F + 1) && bitwise(Ha, Hb, (F + 1) * (F + 1)));
    CHECK_NEAR(la, lref, 1e-9, 1e-9);
    test_parity("linear grad", gref, ga, F + 1, F + 1, NULL, 1e-9, 1e-9);
    test_parity("linear hess", Href, Ha, (F + 1) * (F + 1), F + 1, NULL, 1e-9, 1e-9);
    /* rows without dates are not a panel the metrics can score */
    double out[M * VFR_METRIC_COUNT];
    vfr_metrics_options o;
    vfr_metrics_options_default(&o);
    CHECK_FAIL(vfr_metrics_batch_staged(g, w, score, M, &o, out), VFR_ERR_INVALID_ARG, "dates");
    vfr_gpu_panel_destroy(g);
}

/* Alpha158 with the work's scratch: a repeated call allocates nothing. */
static void alpha158(vfr_gpu_work *w)
{
    enum { B = 300, S2 = 3, NB = B * S2 };
    static double o[NB], h[NB], l[NB], c[NB], v[NB];
    static float a[NB * 158], b[NB * 158], ref[NB * 158];
    int64_t boff[S2 + 1] = {0, B, 2 * B, 3 * B};
    for (int s = 0; s < S2; s++) {
        double px = 20 + 10 * s;
        for (int i = s * B; i < (s + 1) * B; i++) {
            px *= exp(0.02 * test_nrand());
            c[i] = px, o[i] = px * (1 + 0.005 * test_nrand());
            h[i] = fmax(o[i], c[i]) * (1 + 0.01 * test_urand()), l[i] = fmin(o[i], c[i]) * (1 - 0.01 * test_urand());
            v[i] = floor(1e5 * test_urand()) + 1;
        }
    }
    const int32_t F2 = vfr_features_alpha158_count();
    vfr_ohlcv_series x = {S2, boff, o, h, l, c, v, NULL};
    CHECK_OK(vfr_features_alpha158_cpu(&x, 1, ref, F2));
    CHECK_OK(vfr_features_alpha158_staged(w, &x, a, F2));
    const int64_t wa = vfr_gpu_work_allocations(w);
    const long long ra = runtime_allocs();
    CHECK_OK(vfr_features_alpha158_staged(w, &x, b, F2));
    CHECK(vfr_gpu_work_allocations(w) == wa && runtime_allocs() == ra);
    CHECK(memcmp(a, b, sizeof a) == 0);
    int64_t bad = 0;
    for (int64_t i = 0; i < (int64_t)NB * F2; i++)
        bad += isnan(ref[i]) ? !isnan(a[i]) : !(fabs(a[i] - ref[i]) <= 1e-6 + 1e-5 * fabs(ref[i]));
    CHECK(bad == 0);
}

int main(void)
{
    if (!vfr_device_cuda_compiled() || vfr_device_count() == 0) {
        fprintf(stderr, "test_gpu_staged: no CUDA device, skipped\n");
        return 77;
    }
    vfr_gpu_work *w = NULL;
    CHECK_OK(vfr_gpu_work_create(&w));
    if (!w)
        return test_done("test_gpu_staged");
    metrics(w, 1);
    metrics(w, 0);
    backtest(w, VFR_STRATEGY_TOP_K, 3);
    backtest(w, VFR_STRATEGY_LONG_SHORT_SIGN, 1);
    backtest(w, VFR_STRATEGY_LONG_SHORT_MEDIAN, 2);
    backtest(w, VFR_STRATEGY_LONG_ONLY, 1);
    linear(w);
    alpha158(w);
    vfr_gpu_work_destroy(w);
    return test_done("test_gpu_staged");
}
