/* gpu_bench.c: vfr_bench_gpu [M S T], the staged GPU scoring benchmark
 * (scripts/bench/gpu-scoring.sh). A full panel of S symbols x T dates is
 * staged once (vfr_gpu_panel) and M score vectors are uploaded once; then
 * the metrics batch and the top_k and long_short_sign backtests run on the
 * device-resident scores with one work (best of 3 after a warm-up call). The
 * time of metrics + backtest is set against the time to read the inputs once
 * at the card's peak memory bandwidth (from the device's memory clock and
 * bus width). Prints one JSON line. Exit 77 without a CUDA device. */
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "vfr/backtest.h"
#include "vfr/device.h"
#include "vfr/gpu.h"
#include "vfr/metrics.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 0x853c49e6748fea9bull;
static double urand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static int fail(const char *what, vfr_status st)
{
    fprintf(stderr, "vfr_bench_gpu: %s: %s: %s\n", what, vfr_status_str(st), vfr_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    const int32_t M = argc > 1 ? (int32_t)atoi(argv[1]) : 1000;
    const int32_t S = argc > 2 ? (int32_t)atoi(argv[2]) : 100;
    const int32_t T = argc > 3 ? (int32_t)atoi(argv[3]) : 2520;
    if (M < 1 || S < 1 || T < 1) {
        fprintf(stderr, "usage: vfr_bench_gpu [M S T]\n");
        return 2;
    }
    if (vfr_device_count() == 0) {
        fprintf(stderr, "vfr_bench_gpu: no CUDA device\n");
        return 77;
    }
    const int64_t N = (int64_t)S * T;
    int64_t *off = malloc(sizeof *off * (size_t)(T + 1));
    int32_t *sym = malloc(sizeof *sym * (size_t)N);
    float *label = malloc(sizeof *label * (size_t)N), *fwd = malloc(sizeof *fwd * (size_t)N);
    float *fwd1 = malloc(sizeof *fwd1 * (size_t)N), *score = malloc(sizeof *score * (size_t)N * M);
    double *met = malloc(sizeof *met * (size_t)M * VFR_METRIC_COUNT);
    if (!off || !sym || !label || !fwd || !fwd1 || !score || !met) {
        fprintf(stderr, "vfr_bench_gpu: out of host memory\n");
        return 1;
    }
    for (int32_t t = 0; t <= T; t++)
        off[t] = (int64_t)t * S;
    for (int64_t i = 0; i < N; i++) {
        sym[i] = (int32_t)(i % S);
        fwd1[i] = (float)((urand() - 0.49) * 0.04);
        fwd[i] = fwd1[i];
        label[i] = fwd[i] > 0 ? 1.0f : 0.0f;
    }
    for (int64_t i = 0; i < N * M; i++)
        score[i] = (float)urand();
    vfr_panel p = {N, T, S, off, sym, label, fwd, fwd1};
    vfr_gpu_work *w = NULL;
    vfr_gpu_panel *g = NULL;
    vfr_status st;
    double t0 = now();
    if ((st = vfr_gpu_work_create(&w)) != VFR_OK)
        return fail("work", st);
    if ((st = vfr_gpu_panel_create(w, &p, NULL, 0, &g)) != VFR_OK)
        return fail("panel", st);
    const double stage_s = now() - t0;
    const size_t score_bytes = sizeof(float) * (size_t)N * (size_t)M;
    float *d_score = NULL;
    t0 = now();
    if (cudaMalloc((void **)&d_score, score_bytes) != cudaSuccess ||
        cudaMemcpy(d_score, score, score_bytes, cudaMemcpyHostToDevice) != cudaSuccess) {
        fprintf(stderr, "vfr_bench_gpu: cannot place %zu bytes of scores on the device\n", score_bytes);
        return 1;
    }
    const double upload_s = now() - t0;
    vfr_backtest_options bo;
    vfr_backtest_options_default(&bo);
    bo.cost_bps = 5;
    vfr_metrics_options mo;
    vfr_metrics_options_default(&mo);
    double best[3] = {1e30, 1e30, 1e30};
    int64_t allocs0 = 0;
    for (int rep = 0; rep < 4; rep++) { /* rep 0 warms up (scratch grows) */
        if (rep == 1)
            allocs0 = vfr_gpu_work_allocations(w);
        double a = now();
        if ((st = vfr_metrics_batch_staged(g, w, d_score, M, &mo, met)) != VFR_OK)
            return fail("metrics", st);
        double b = now();
        bo.strategy = VFR_STRATEGY_TOP_K;
        if ((st = vfr_backtest_staged(g, w, d_score, M, &bo, met, NULL)) != VFR_OK)
            return fail("top_k", st);
        double c = now();
        bo.strategy = VFR_STRATEGY_LONG_SHORT_SIGN;
        if ((st = vfr_backtest_staged(g, w, d_score, M, &bo, met, NULL)) != VFR_OK)
            return fail("long_short_sign", st);
        double d = now();
        double tt[3] = {b - a, c - b, d - c};
        for (int k = 0; rep > 0 && k < 3; k++)
            best[k] = tt[k] < best[k] ? tt[k] : best[k];
    }
    const int64_t allocs_in_loop = vfr_gpu_work_allocations(w) - allocs0;
    /* peak bandwidth: DDR-style 2 transfers per memory clock (kHz) x bus width */
    int dev = 0, clk = 0, bus = 0;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&clk, cudaDevAttrMemoryClockRate, dev);
    cudaDeviceGetAttribute(&bus, cudaDevAttrGlobalMemoryBusWidth, dev);
    const double peak = 2.0 * clk * 1e3 * (bus / 8.0);
    /* the inputs read once: scores, then label, fwd, fwd1 and symbol per row */
    const double input_bytes = (double)score_bytes + 16.0 * (double)N;
    const double floor_s = peak > 0 ? input_bytes / peak : NAN;
    const double mb = best[0] + best[1];
    vfr_device_props dp;
    vfr_device_props_get(dev, &dp);
    printf("{\"card\": \"%s\", \"M\": %d, \"S\": %d, \"T\": %d, \"score_bytes\": %zu, \"input_bytes\": %.0f, "
           "\"peak_bandwidth_GBps\": %.1f, \"read_once_s\": %.6f, \"stage_panel_s\": %.6f, "
           "\"upload_scores_s\": %.6f, \"metrics_s\": %.6f, \"top_k_s\": %.6f, \"long_short_sign_s\": %.6f, "
           "\"metrics_plus_top_k_s\": %.6f, \"ratio_to_read_once\": %.2f, \"allocations_in_timed_calls\": %lld}\n",
           dp.name, M, S, T, score_bytes, input_bytes, peak / 1e9, floor_s, stage_s, upload_s, best[0], best[1],
           best[2], mb, mb / floor_s, (long long)allocs_in_loop);
    cudaFree(d_score);
    vfr_gpu_panel_destroy(g);
    vfr_gpu_work_destroy(w);
    free(off), free(sym), free(label), free(fwd), free(fwd1), free(score), free(met);
    return 0;
}
