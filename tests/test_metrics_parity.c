/* test_metrics_parity.c: the CUDA metrics and backtests against their CPU
 * twins on seeded random panels and edge cases (one date, one symbol,
 * all-equal scores, NaN scores/labels/returns, holes in the panel, a row block
 * + 1, top_k with k above the CPU's small-k path, horizons 1 to 20). Checks
 * |cuda - cpu| <= atol + rtol |cpu| (NaN must match NaN), prints the first
 * mismatches, and exits 77 (skipped) where there is no GPU.
 *
 * `test_metrics_parity --bench [M S T]` instead times both paths on a full
 * panel (scripts/bench/gpu-metrics.sh) and prints one JSON line. */
#include <stdint.h>
#include <string.h>
#include <time.h>

#define TEST_SEED 0x853c49e6748fea9bull
#include "test_util.h"
#include "vfr/backtest.h"
#include "vfr/metrics.h"
#ifdef VFR_HAVE_CUDA
#include <cuda_runtime.h>
#endif


/* A random panel with holes: each (date, symbol) present with probability
 * `fill`; labels 0/1 (or real), fwd and fwd1 with some NaN. */
typedef struct panel {
    vfr_panel p;
    int64_t *off;
    int32_t *sym;
    float *label, *fwd, *fwd1, *score;
    int32_t M;
} panel;

static void panel_make(panel *q, int32_t T, int32_t S, int32_t M, double fill, int cls,
                       double nan_share)
{
    size_t cap = (size_t)T * (size_t)S + 1;
    q->off = malloc(sizeof *q->off * (size_t)(T + 1));
    q->sym = malloc(sizeof *q->sym * cap);
    q->label = malloc(sizeof *q->label * cap);
    q->fwd = malloc(sizeof *q->fwd * cap);
    q->fwd1 = malloc(sizeof *q->fwd1 * cap);
    int64_t n = 0;
    for (int32_t t = 0; t < T; t++) {
        q->off[t] = n;
        for (int32_t s = 0; s < S; s++) {
            if (test_urand() >= fill)
                continue;
            q->sym[n] = s;
            q->fwd1[n] = test_urand() < nan_share ? NAN : (float)((test_urand() - 0.49) * 0.04);
            q->fwd[n] = test_urand() < nan_share ? NAN : q->fwd1[n] + (float)((test_urand() - 0.5) * 0.03);
            q->label[n] = test_urand() < nan_share ? NAN
                          : cls ? (q->fwd1[n] + (test_urand() - 0.5) * 0.02 > 0 ? 1.0f : 0.0f)
                                : (float)((test_urand() - 0.5) * 0.1);
            n++;
        }
    }
    q->off[T] = n;
    q->M = M;
    q->score = malloc(sizeof *q->score * (size_t)M * (size_t)(n ? n : 1));
    for (int32_t m = 0; m < M; m++)
        for (int64_t i = 0; i < n; i++) {
            float *s = &q->score[(size_t)m * (size_t)n + (size_t)i];
            double u = test_urand();
            if (u < nan_share)
                *s = NAN;
            else if (m % 4 == 1) /* coarse: many ties */
                *s = (float)((int)(test_urand() * 8)) / 8.0f;
            else if (m % 4 == 2) /* all equal */
                *s = 0.5f;
            else
                *s = (float)(isfinite(q->fwd1[i]) ? 0.5 + 5 * q->fwd1[i] + 0.3 * (test_urand() - 0.5) : test_urand());
        }
    q->p = (vfr_panel){n, T, S, q->off, q->sym, q->label, q->fwd, q->fwd1};
}

static void panel_free(panel *q)
{
    free(q->off), free(q->sym), free(q->label), free(q->fwd), free(q->fwd1), free(q->score);
}

static const char *mname(int k) { return vfr_metrics_name((vfr_metric)k); }
static const char *fname(int k) { return vfr_backtest_metric_name((vfr_fin)k); }

static void metrics_case(const char *what, int32_t T, int32_t S, int32_t M, double fill, int cls,
                         double nan_share)
{
    panel q;
    panel_make(&q, T, S, M, fill, cls, nan_share);
    vfr_metrics_options o;
    vfr_metrics_options_default(&o);
    o.task = cls ? VFR_TASK_CLASSIFICATION : VFR_TASK_REGRESSION;
    size_t cells = (size_t)M * VFR_METRIC_COUNT;
    double *a = malloc(sizeof *a * cells), *b = malloc(sizeof *b * cells);
    CHECK_OK(vfr_metrics_batch_cpu(&q.p, q.score, M, &o, a));
    CHECK_OK(vfr_metrics_batch_cuda(&q.p, q.score, M, &o, b));
    test_parity(what, a, b, cells, VFR_METRIC_COUNT, mname, 1e-9, 1e-12);
    /* AUC is an exact integer ratio on both sides */
    for (int32_t m = 0; m < M; m++) {
        double x = a[(size_t)m * VFR_METRIC_COUNT + VFR_METRIC_ROC_AUC];
        double y = b[(size_t)m * VFR_METRIC_COUNT + VFR_METRIC_ROC_AUC];
        CHECK((isnan(x) && isnan(y)) || x == y);
    }
    free(a), free(b);
    panel_free(&q);
}

static void backtest_case(const char *what, int32_t T, int32_t S, int32_t M, double fill,
                          double nan_share, vfr_strategy strat, int32_t k, int32_t h, double bps)
{
    panel q;
    panel_make(&q, T, S, M, fill, 0, nan_share);
    vfr_backtest_options o;
    vfr_backtest_options_default(&o);
    o.strategy = strat, o.k = k, o.horizon = h, o.cost_bps = bps, o.threshold = 0.5;
    o.risk_free = 0.01;
    size_t cells = (size_t)M * VFR_FIN_COUNT, days = (size_t)M * (size_t)(T ? T : 1);
    double *a = malloc(sizeof *a * cells), *b = malloc(sizeof *b * cells);
    double *da = malloc(sizeof *da * days), *db = malloc(sizeof *db * days);
    CHECK_OK(vfr_backtest_cpu(&q.p, q.score, M, &o, a, da));
    CHECK_OK(vfr_backtest_cuda(&q.p, q.score, M, &o, b, db));
    char w[160];
    snprintf(w, sizeof w, "%s (%s k=%d h=%d)", what, vfr_backtest_strategy_name(strat), k, h);
    test_parity(w, a, b, cells, VFR_FIN_COUNT, fname, 1e-9, 1e-12);
    snprintf(w, sizeof w, "%s (%s k=%d h=%d) daily", what, vfr_backtest_strategy_name(strat), k, h);
    test_parity(w, da, db, (size_t)M * (size_t)T, T ? T : 1, NULL, 1e-9, 1e-15);
    /* the stats of the same daily returns agree too */
    CHECK_OK(vfr_backtest_stats_cpu(da, M, T, &o, a));
    CHECK_OK(vfr_backtest_stats_cuda(da, M, T, &o, b));
    test_parity("stats", a, b, cells, VFR_FIN_COUNT, fname, 1e-12, 1e-15);
    free(a), free(b), free(da), free(db);
    panel_free(&q);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Times the CPU and CUDA paths on a full panel; one JSON line on stdout. */
static int bench(int32_t M, int32_t S, int32_t T)
{
    panel q;
    panel_make(&q, T, S, M, 1.0, 1, 0.0);
    double *met = malloc(sizeof *met * (size_t)M * VFR_METRIC_COUNT);
    double *daily = malloc(sizeof *daily * (size_t)M * (size_t)T);
    vfr_backtest_options o;
    vfr_backtest_options_default(&o);
    o.cost_bps = 5;
    vfr_metrics_options mo;
    vfr_metrics_options_default(&mo);
    double best[6] = {1e30, 1e30, 1e30, 1e30, 1e30, 1e30};
    vfr_status st = VFR_OK;
    for (int rep = 0; rep < 3 && st == VFR_OK; rep++) {
        double t0 = now();
        o.strategy = VFR_STRATEGY_TOP_K;
        st = vfr_backtest_cuda(&q.p, q.score, M, &o, met, daily);
        double t1 = now();
        o.strategy = VFR_STRATEGY_LONG_SHORT_SIGN;
        if (st == VFR_OK)
            st = vfr_backtest_cuda(&q.p, q.score, M, &o, met, daily);
        double t2 = now();
        if (st == VFR_OK)
            st = vfr_metrics_batch_cuda(&q.p, q.score, M, &mo, met);
        double t3 = now();
        double tt[3] = {t1 - t0, t2 - t1, t3 - t2};
        for (int i = 0; i < 3; i++)
            if (tt[i] < best[i])
                best[i] = tt[i];
    }
    if (st != VFR_OK) {
        fprintf(stderr, "bench: %s: %s\n", vfr_status_str(st), vfr_last_error());
        return 1;
    }
    double h2d = 0;
#ifdef VFR_HAVE_CUDA
    /* what the scores alone cost to move host -> device (pageable memory, as
     * the launchers copy them), to separate the transfer from the kernels */
    void *d = NULL;
    size_t bytes = sizeof(float) * (size_t)M * (size_t)q.p.N;
    if (cudaMalloc(&d, bytes) == cudaSuccess) {
        h2d = 1e30;
        for (int rep = 0; rep < 3; rep++) {
            double t0 = now();
            cudaMemcpy(d, q.score, bytes, cudaMemcpyHostToDevice);
            double t1 = now();
            if (t1 - t0 < h2d)
                h2d = t1 - t0;
        }
        cudaFree(d);
    }
    char name[256] = "?";
    struct cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess)
        snprintf(name, sizeof name, "%s", prop.name);
#else
    const char *name = "none";
#endif
    /* one CPU run of each backtest, for the ratio (the CPU path is the twin) */
    double c0 = now();
    o.strategy = VFR_STRATEGY_TOP_K;
    vfr_backtest_cpu(&q.p, q.score, M, &o, met, daily);
    double c1 = now();
    o.strategy = VFR_STRATEGY_LONG_SHORT_SIGN;
    vfr_backtest_cpu(&q.p, q.score, M, &o, met, daily);
    double c2 = now();
    printf("{\"device\": \"%s\", \"M\": %d, \"S\": %d, \"T\": %d, \"score_bytes\": %.0f, "
           "\"cuda_top_k_s\": %.6f, \"cuda_long_short_sign_s\": %.6f, \"cuda_metrics_s\": %.6f, "
           "\"h2d_scores_s\": %.6f, \"cpu_top_k_s\": %.6f, \"cpu_long_short_sign_s\": %.6f}\n",
           name, M, S, T, 4.0 * (double)M * (double)q.p.N, best[0], best[1], best[2], h2d, c1 - c0,
           c2 - c1);
    free(met), free(daily);
    panel_free(&q);
    return 0;
}

int main(int argc, char **argv)
{
    if (vfr_device_count() == 0) {
        fprintf(stderr, "test_metrics_parity: no CUDA device, skipped\n");
        return 77;
    }
    if (argc > 1 && strcmp(argv[1], "--bench") == 0) {
        int32_t M = argc > 2 ? (int32_t)strtol(argv[2], NULL, 10) : 1000;
        int32_t S = argc > 3 ? (int32_t)strtol(argv[3], NULL, 10) : 100;
        int32_t T = argc > 4 ? (int32_t)strtol(argv[4], NULL, 10) : 2520;
        if (M < 1 || S < 1 || T < 2)
            return 2;
        return bench(M, S, T);
    }
    /* metrics: classification and regression, holes, NaN, ties, all-equal */
    metrics_case("cls random", 60, 50, 8, 0.9, 1, 0.03);
    metrics_case("reg random", 60, 50, 8, 0.9, 0, 0.03);
    metrics_case("cls one date", 1, 40, 4, 1.0, 1, 0.0);
    metrics_case("cls one symbol", 50, 1, 4, 1.0, 1, 0.0);
    metrics_case("reg one symbol", 50, 1, 4, 1.0, 0, 0.1);
    metrics_case("cls block + 1", 1, 8193, 3, 1.0, 1, 0.0); /* a row block + 1 */
    metrics_case("cls many rows", 400, 300, 5, 0.95, 1, 0.01);
    metrics_case("cls all NaN", 5, 10, 2, 1.0, 1, 1.0);
    metrics_case("cls empty", 0, 5, 2, 1.0, 1, 0.0);
    /* backtests */
    const vfr_strategy all[4] = {VFR_STRATEGY_TOP_K, VFR_STRATEGY_LONG_SHORT_SIGN,
                                 VFR_STRATEGY_LONG_ONLY, VFR_STRATEGY_LONG_SHORT_MEDIAN};
    for (int s = 0; s < 4; s++) {
        backtest_case("random", 250, 40, 8, 0.9, 0.02, all[s], 3, 1, 5);
        backtest_case("overlap", 250, 40, 8, 0.9, 0.02, all[s], 5, 5, 10);
        backtest_case("one date", 1, 40, 4, 1.0, 0.0, all[s], 3, 1, 5);
        backtest_case("one symbol", 60, 1, 4, 1.0, 0.0, all[s], 1, 3, 5);
        backtest_case("all NaN", 30, 10, 2, 1.0, 1.0, all[s], 2, 2, 5);
    }
    backtest_case("large k", 120, 300, 4, 0.95, 0.01, VFR_STRATEGY_TOP_K, 100, 3, 2);
    backtest_case("long horizon", 300, 30, 4, 0.9, 0.02, VFR_STRATEGY_TOP_K, 4, 20, 3);
    backtest_case("wide", 50, 3000, 2, 0.9, 0.0, VFR_STRATEGY_LONG_SHORT_SIGN, 1, 2, 1);
    return test_done("test_metrics_parity");
}
