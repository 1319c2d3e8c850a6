/* backtest.cu: the vectorized backtest and the financial metrics on the GPU,
 * every strategy of a chunk in one fixed sequence of launches:
 *   prep_kernel      scores without a value become +inf; row positions;
 *   top_k, median    scores sorted per (strategy, date) segment, stably, by
 *                    cub::DeviceSegmentedSort (ties keep symbol order);
 *   cohort_kernel    one warp per (strategy, date): the date's cohort, as a
 *                    sign per row and the long and short weights;
 *   day_kernel       one warp per (strategy, date): the held weights (the
 *                    mean of the h live cohorts, newest first, rebuilt from the
 *                    signs), turnover against the day before, P&L, exposures;
 *   stats_kernel     one thread per strategy: compounds the daily returns
 *                    (the only serial walk over dates) into the financial
 *                    metrics, the formula shared with the CPU twin
 *                    (backtest_formula.h).
 * The per-date terms are independent, so the dates run in parallel. CPU twin:
 * src/host/backtest.c. Launchers take the caller's work and staged panel (gpu.h). */
/* the CUDA headers outside extern "C" (gpu_internal.h includes them too) */
#include <cublas_v2.h>
#include <cuda_runtime.h>
extern "C" {
#include "../host/backtest_formula.h"
#include "../host/gpu_internal.h"
#include "../host/metrics_internal.h"
#include "vfr/backtest.h"
}

#include <cub/device/device_segmented_sort.cuh>
#include <cuda_runtime.h>

#include "cuda_check.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CUDA_TRY(call) VFR_CUDA_TRY("backtest (cuda)", call)

/* +inf marks "no score": it sorts after every finite key. */
#define INF __int_as_float(0x7f800000)

namespace {

const int THREADS = 128;

/* First position in the ascending a[0, n) whose value is >= v (strict = 0)
 * or > v (strict = 1), compared in double as the CPU twin compares. */
__device__ long long bound(const float *a, long long n, double v, int strict)
{
    long long lo = 0, hi = n;
    while (lo < hi) {
        long long mid = lo + ((hi - lo) >> 1);
        if (strict ? (double)a[mid] <= v : (double)a[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

__device__ long long first_inf(const float *a, long long lo, long long hi)
{
    while (lo < hi) {
        long long mid = lo + ((hi - lo) >> 1);
        if (a[mid] < INF)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

template <typename V> __device__ V warp_sum(V v)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* Scores without a value -> +inf, -0 -> +0, into out; for top_k (d_pos
 * set), each row's position within its date, the values the sort carries. */
__global__ void prep_kernel(const float *d_in, float *d_out, const int *d_pos_of_row, long long N,
                            long long total, int *d_pos)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        float s = d_in[i];
        d_out[i] = !isfinite(s) ? INF : s == 0.0f ? 0.0f : s;
        if (d_pos)
            d_pos[i] = d_pos_of_row[i % N];
    }
}

/* Grid-stride: past grid_for's cap a thread per segment left offsets unwritten. */
__global__ void seg_offsets_kernel(const long long *d_off, int T, long long N, int mc,
                                   long long *d_seg)
{
    const long long nseg = (long long)mc * T;
    for (long long q = blockIdx.x * (long long)blockDim.x + threadIdx.x; q <= nseg;
         q += (long long)gridDim.x * blockDim.x)
        d_seg[q] = q < nseg ? (q / T) * N + d_off[q % T] : (long long)mc * N;
}

struct bt_args {
    const float *score;    /* [mc, N] prepared scores                         */
    const float *sorted;   /* [mc, N] top_k: scores sorted per date           */
    const int *spos;       /* [mc, N] top_k: their positions within the date  */
    const long long *off;  /* [T + 1]                                         */
    const int *sym;        /* [N]                                             */
    const int *row_at;     /* [T, S] row of (date, symbol) or -1              */
    const float *fwd;      /* [N] or NULL                                     */
    const float *r1;       /* [T, S] 1-day returns, 0 where missing           */
    long long N;
    int T, S, h, strategy, k, mc;
    double threshold, cost;
    signed char *sgn;      /* [mc, N] the row's side in its date's cohort     */
    double *wl, *ws;       /* [mc, T] weight of a long / a short name         */
    long long *dir_n, *dir_hit; /* [mc, T] directional accuracy counts      */
    double *daily;         /* [mc, T]                                         */
    double *turn, *expo, *net; /* [mc, T]                                     */
};

/* Counts a held row's directional hit (lane-local). */
__device__ void count_dir(const bt_args &a, long long row, int side, long long &n, long long &hit)
{
    if (side && a.fwd && isfinite(a.fwd[row]) && a.fwd[row] != 0.0f) {
        n++;
        hit += (side > 0) == (a.fwd[row] > 0.0f);
    }
}

/* One warp per (strategy m, date u): the side of each of the date's rows in
 * the cohort formed on u (every row written, 0 when not held) and the
 * weights of its long and short names, as the CPU twin's form_cohort. */
__global__ void cohort_kernel(bt_args a)
{
    const long long q = (blockIdx.x * (long long)blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (q >= (long long)a.mc * a.T)
        return; /* whole warps leave together */
    const long long m = q / a.T;
    const int u = (int)(q % a.T);
    const long long base = m * a.N, r0 = a.off[u], r1 = a.off[u + 1], n = r1 - r0;
    signed char *sg = a.sgn + base;
    long long dn = 0, dh = 0;
    double wl = 0.0, ws = 0.0;
    if (a.strategy == VFR_STRATEGY_LONG_SHORT_MEDIAN || a.strategy == VFR_STRATEGY_TOP_K) {
        const float *ks = a.sorted + base + r0;
        const int *ps = a.spos + base + r0;
        const long long nv = first_inf(ks, 0, n);
        long long lo_end = 0, hi_begin = nv; /* short: [0, lo_end), long: [hi_begin, nv) */
        if (a.strategy == VFR_STRATEGY_LONG_SHORT_MEDIAN) {
            if (nv >= 2) {
                const double lo = ks[(nv - 1) / 2], hi = ks[nv / 2];
                const double med = nv & 1 ? hi : 0.5 * (lo + hi);
                const long long ns = bound(ks, nv, med, 0), above = bound(ks, nv, med, 1);
                if (ns > 0 && nv - above > 0) {
                    lo_end = ns, hi_begin = above;
                    ws = -0.5 / (double)ns, wl = 0.5 / (double)(nv - above);
                }
            }
        } else {
            const long long keff = a.k < nv / 2 ? a.k : nv / 2;
            if (keff > 0) {
                lo_end = keff, hi_begin = nv - keff;
                wl = 0.5 / (double)keff, ws = -wl;
            }
        }
        for (long long p = lane; p < n; p += 32) {
            const int side = p < lo_end ? -1 : p >= hi_begin && p < nv ? 1 : 0;
            const long long row = r0 + ps[p];
            sg[row] = (signed char)side;
            count_dir(a, row, side, dn, dh);
        }
    } else {
        const float *sc = a.score + base;
        const bool ls = a.strategy == VFR_STRATEGY_LONG_SHORT_SIGN;
        long long act = 0;
        for (long long i = r0 + lane; i < r1; i += 32) {
            double s = sc[i]; /* no score: +inf, never active */
            act += sc[i] < INF && (s > a.threshold || (ls && s < a.threshold));
        }
        act = warp_sum(act);
        const double w = act ? 1.0 / (double)act : 0.0;
        wl = w, ws = -w;
        for (long long i = r0 + lane; i < r1; i += 32) {
            double s = sc[i];
            int side = act && sc[i] < INF ? (s > a.threshold) - (ls && s < a.threshold) : 0;
            sg[i] = (signed char)side;
            count_dir(a, i, side, dn, dh);
        }
    }
    dn = warp_sum(dn), dh = warp_sum(dh);
    if (lane == 0) {
        a.wl[q] = wl, a.ws[q] = ws;
        a.dir_n[q] = dn, a.dir_hit[q] = dh;
    }
}

/* The weight held in symbol s at the close of date t: the mean of the live
 * cohorts (dates t - h + 1 .. t), summed newest first as on the CPU. */
__device__ double held(const bt_args &a, long long m, int t, int s)
{
    double v = 0.0;
    for (int b = 0; b < a.h && b <= t; b++) {
        const int u = t - b;
        const int row = a.row_at[(size_t)u * a.S + s];
        const int side = row < 0 ? 0 : a.sgn[m * a.N + row];
        const double c = side > 0 ? a.wl[m * a.T + u] : side < 0 ? a.ws[m * a.T + u] : 0.0;
        v = b == 0 ? c : v + c;
    }
    return a.h > 1 ? v / a.h : v;
}

/* One warp per (strategy, date): turnover, P&L and exposures of the day. */
__global__ void day_kernel(bt_args a)
{
    const long long q = (blockIdx.x * (long long)blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (q >= (long long)a.mc * a.T)
        return;
    const long long m = q / a.T;
    const int t = (int)(q % a.T);
    const float *ret = a.r1 + (size_t)t * a.S;
    double turn = 0, pnl = 0, expo = 0, net = 0;
    for (int s = lane; s < a.S; s += 32) {
        const double v = held(a, m, t, s), w = t > 0 ? held(a, m, t - 1, s) : 0.0;
        turn += fabs(v - w);
        pnl += v * (double)ret[s];
        expo += fabs(v);
        net += v;
    }
    turn = warp_sum(turn), pnl = warp_sum(pnl), expo = warp_sum(expo), net = warp_sum(net);
    if (lane == 0) {
        a.daily[q] = pnl - a.cost * turn;
        a.turn[q] = turn, a.expo[q] = expo, a.net[q] = net;
    }
}

/* One thread per strategy: the financial metrics of its daily returns; with
 * position terms (turn != NULL), their means over the dates. */
__global__ void stats_kernel(const double *d_daily, const long long *d_dir_n, const long long *d_dir_hit,
                             const double *d_turn, const double *d_expo, const double *d_net, int mc, int T,
                             double ppy, double rfa, double *d_met)
{
    int m = blockIdx.x * blockDim.x + threadIdx.x;
    if (m >= mc)
        return;
    double *row = d_met + (size_t)m * VFR_FIN_COUNT;
    for (int k = 0; k < VFR_FIN_COUNT; k++)
        row[k] = NAN;
    vfri_backtest_return_stats(d_daily + (size_t)m * T, T, ppy, rfa, row);
    if (d_turn) {
        long long dn = 0, dh = 0;
        double turn = 0, expo = 0, net = 0;
        for (int t = 0; t < T; t++) {
            const size_t q = (size_t)m * T + t;
            dn += d_dir_n[q], dh += d_dir_hit[q];
            turn += d_turn[q], expo += d_expo[q], net += d_net[q];
        }
        row[VFR_FIN_DIRECTIONAL_ACCURACY] = dn > 0 ? (double)dh / (double)dn : NAN;
        row[VFR_FIN_TURNOVER] = T ? turn / T : NAN;
        row[VFR_FIN_EXPOSURE] = T ? expo / T : NAN;
        row[VFR_FIN_NET_EXPOSURE] = T ? net / T : NAN;
    }
}

#ifndef VFR_MAX_GRID /* a build knob for the emulated tests (metrics.cu) */
#define VFR_MAX_GRID (65535 * 8)
#endif
int grid_for(long long n)
{
    long long g = (n + 255) / 256;
    return (int)(g < 1 ? 1 : g > VFR_MAX_GRID ? VFR_MAX_GRID : g);
}

/* Blocks of THREADS for one warp per item. */
unsigned warp_blocks(long long items)
{
    return (unsigned)((items * 32 + THREADS - 1) / THREADS);
}

double ppy_of(const vfr_backtest_options *o)
{
    return o->periods_per_year > 0 ? (double)o->periods_per_year : 252.0;
}

} // namespace

extern "C" vfr_status vfr_backtest_staged(const vfr_gpu_panel *g, vfr_gpu_work *w, const float *score,
                                          int32_t M, const vfr_backtest_options *o, double *metrics,
                                          double *daily)
{
    if (!g || !w || !g->host.date_offset)
        return vfr_fail(VFR_ERR_INVALID_ARG, "backtest (cuda): need a work and a panel staged with its dates");
    const vfr_panel *p = &g->host;
    vfr_status st = vfri_backtest_check_args(p, score, M, o, metrics);
    if (st != VFR_OK)
        return st;
    const long long N = p->N;
    const int T = p->T, S = p->S > 0 ? p->S : 1, h = o->horizon;
    const int topk = o->strategy == VFR_STRATEGY_TOP_K || o->strategy == VFR_STRATEGY_LONG_SHORT_MEDIAN;
    const int on_dev = vfri_gpu_is_device(score);
    cudaStream_t s = w->stream;
    long long Mc = M;
    {
        size_t fr = 0, tot = 0;
        CUDA_TRY(cudaMemGetInfo(&fr, &tot));
        fr += w->dev_bytes[VFR_GPU_SLOT_ARENA] + w->dev_bytes[VFR_GPU_SLOT_SCORE] +
              w->dev_bytes[VFR_GPU_SLOT_TEMP];
        long long per = (N > 0 ? N : 1) * (topk ? 48 : 12) + (long long)T * 96 + 1024;
        long long fit = (long long)(fr / 2) / per, cap = N > 0 ? (INT32_MAX - 2) / N : M;
        Mc = M < fit ? M : fit;
        if (Mc > cap)
            Mc = cap;
        Mc = vfri_metrics_cuda_chunk(Mc);
        if (Mc < 1)
            Mc = 1;
    }
    {
        const size_t items = (size_t)Mc * (size_t)(N > 0 ? N : 1), cells = (size_t)Mc * (T > 0 ? T : 1);
        const size_t b_f = vfri_gpu_align(sizeof(float) * items), b_i = vfri_gpu_align(sizeof(int) * items);
        const size_t b_seg = vfri_gpu_align(sizeof(long long) * ((size_t)Mc * T + 1));
        const size_t b_c = vfri_gpu_align(sizeof(double) * cells), b_met = vfri_gpu_align(sizeof(double) * VFR_FIN_COUNT * (size_t)Mc);
        const size_t b_sg = vfri_gpu_align(items);
        const size_t need = b_f + (topk ? b_f + 2 * b_i + b_seg : 0) + b_sg + 9 * b_c + b_met;
        char *arena;
        float *d_up = NULL;
        double *pin;
        if ((st = vfri_gpu_scratch(w, VFR_GPU_SLOT_ARENA, need, (void **)&arena)) != VFR_OK ||
            (!on_dev && (st = vfri_gpu_scratch(w, VFR_GPU_SLOT_SCORE, sizeof(float) * items, (void **)&d_up)) != VFR_OK) ||
            (st = vfri_gpu_pinned(w, sizeof(double) * (VFR_FIN_COUNT + (daily ? (size_t)(T > 0 ? T : 1) : 0)) * (size_t)Mc,
                                 (void **)&pin)) != VFR_OK)
            return st;
        char *at = arena;
        float *d_score = (float *)at;
        at += b_f;
        float *d_sorted = NULL;
        int *d_pos = NULL, *d_spos = NULL;
        long long *d_seg = NULL;
        if (topk) {
            d_sorted = (float *)at, at += b_f;
            d_pos = (int *)at, at += b_i;
            d_spos = (int *)at, at += b_i;
            d_seg = (long long *)at, at += b_seg;
        }
        bt_args a;
        a.sgn = (signed char *)at, at += b_sg;
        double *cell[9];
        for (int c = 0; c < 9; c++)
            cell[c] = (double *)at, at += b_c;
        double *d_met = (double *)at;
        a.wl = cell[0], a.ws = cell[1], a.daily = cell[2], a.turn = cell[3], a.expo = cell[4], a.net = cell[5];
        a.dir_n = (long long *)cell[6], a.dir_hit = (long long *)cell[7];
        a.score = d_score, a.sorted = d_sorted, a.spos = d_spos, a.off = g->d_off, a.sym = g->d_sym;
        a.row_at = g->d_row_at, a.fwd = g->d_fwd, a.r1 = g->d_r1, a.N = N, a.T = T, a.S = S, a.h = h;
        a.strategy = (int)o->strategy, a.k = o->k, a.threshold = o->threshold;
        a.cost = o->cost_bps * 1e-4;
        for (long long m0 = 0; m0 < M; m0 += Mc) {
            const int mc = (int)(M - m0 < Mc ? M - m0 : Mc);
            const long long total = (long long)mc * N, nseg = (long long)mc * T;
            a.mc = mc;
            if (total > 0) {
                const float *in = on_dev ? score + (size_t)m0 * (size_t)N : d_up;
                if (!on_dev)
                    CUDA_TRY(cudaMemcpyAsync(d_up, score + (size_t)m0 * (size_t)N, sizeof(float) * (size_t)total,
                                             cudaMemcpyHostToDevice, s));
                prep_kernel<<<grid_for(total), 256, 0, s>>>(in, d_score, g->d_pos, N, total, d_pos);
                CUDA_TRY(cudaGetLastError());
            }
            if (topk && total > 0 && T > 0) {
                void *d_temp;
                seg_offsets_kernel<<<grid_for(nseg + 1), 256, 0, s>>>(g->d_off, T, N, mc, d_seg);
                CUDA_TRY(cudaGetLastError());
                size_t tb = 0;
                CUDA_TRY(cub::DeviceSegmentedSort::StableSortPairs(NULL, tb, d_score, d_sorted, d_pos,
                                                                   d_spos, total, nseg, d_seg, d_seg + 1, s));
                if ((st = vfri_gpu_scratch(w, VFR_GPU_SLOT_TEMP, tb, &d_temp)) != VFR_OK)
                    return st;
                tb = w->dev_bytes[VFR_GPU_SLOT_TEMP];
                CUDA_TRY(cub::DeviceSegmentedSort::StableSortPairs(d_temp, tb, d_score, d_sorted,
                                                                   d_pos, d_spos, total, nseg, d_seg,
                                                                   d_seg + 1, s));
            }
            if (nseg > 0) {
                cohort_kernel<<<warp_blocks(nseg), THREADS, 0, s>>>(a);
                CUDA_TRY(cudaGetLastError());
                day_kernel<<<warp_blocks(nseg), THREADS, 0, s>>>(a);
                CUDA_TRY(cudaGetLastError());
            }
            stats_kernel<<<(mc + 127) / 128, 128, 0, s>>>(a.daily, a.dir_n, a.dir_hit, a.turn, a.expo, a.net,
                                                          mc, T, ppy_of(o), o->risk_free, d_met);
            CUDA_TRY(cudaGetLastError());
            CUDA_TRY(cudaMemcpyAsync(pin, d_met, sizeof(double) * VFR_FIN_COUNT * (size_t)mc,
                                     cudaMemcpyDeviceToHost, s));
            if (daily && T > 0)
                CUDA_TRY(cudaMemcpyAsync(pin + VFR_FIN_COUNT * (size_t)Mc, a.daily, sizeof(double) * (size_t)mc * T,
                                         cudaMemcpyDeviceToHost, s));
            CUDA_TRY(cudaStreamSynchronize(s));
            memcpy(metrics + (size_t)m0 * VFR_FIN_COUNT, pin, sizeof(double) * VFR_FIN_COUNT * (size_t)mc);
            if (daily && T > 0)
                memcpy(daily + (size_t)m0 * T, pin + VFR_FIN_COUNT * (size_t)Mc, sizeof(double) * (size_t)mc * T);
        }
    }
fail:
    return st;
}

extern "C" vfr_status vfr_backtest_cuda(const vfr_panel *p, const float *score, int32_t M,
                                        const vfr_backtest_options *o, double *metrics,
                                        double *daily)
{
    vfr_status st = vfri_backtest_check_args(p, score, M, o, metrics);
    vfr_device_kind used;
    if (st != VFR_OK || (st = vfr_device_resolve(VFR_DEVICE_CUDA, &used)) != VFR_OK)
        return st;
    vfr_gpu_work *w;
    vfr_gpu_panel *g;
    if ((st = vfri_gpu_stage(p, NULL, 0, &w, &g)) != VFR_OK)
        return st;
    st = vfr_backtest_staged(g, w, score, M, o, metrics, daily);
    vfri_gpu_unstage(w, g);
    return st;
}

extern "C" vfr_status vfr_backtest_stats_cuda(const double *daily, int32_t M, int32_t T,
                                              const vfr_backtest_options *o, double *metrics)
{
    vfr_status st = VFR_OK;
    vfr_device_kind used;
    double *d_daily = NULL, *d_met = NULL;
    if (!o || !metrics || M < 1 || T < 0 || (!daily && T > 0))
        return vfr_fail(VFR_ERR_INVALID_ARG, "backtest stats: need returns, options, M >= 1, T >= 0");
    if ((st = vfr_backtest_options_check(o)) != VFR_OK ||
        (st = vfr_device_resolve(VFR_DEVICE_CUDA, &used)) != VFR_OK)
        return st;
    CUDA_TRY(cudaMalloc(&d_daily, sizeof(double) * (size_t)M * (T > 0 ? T : 1)));
    CUDA_TRY(cudaMalloc(&d_met, sizeof(double) * VFR_FIN_COUNT * (size_t)M));
    if (T > 0)
        CUDA_TRY(cudaMemcpy(d_daily, daily, sizeof(double) * (size_t)M * T, cudaMemcpyHostToDevice));
    stats_kernel<<<(M + 127) / 128, 128>>>(d_daily, NULL, NULL, NULL, NULL, NULL, M, T, ppy_of(o),
                                           o->risk_free, d_met);
    CUDA_TRY(cudaGetLastError());
    CUDA_TRY(cudaMemcpy(metrics, d_met, sizeof(double) * VFR_FIN_COUNT * (size_t)M,
                        cudaMemcpyDeviceToHost));
fail:
    cudaFree(d_daily), cudaFree(d_met);
    return st;
}
