/* backtest.cu: the vectorized backtest and the financial metrics on the GPU,
 * every strategy of a chunk in one fixed sequence of launches:
 *   prep_kernel      scores without a value become +inf; row positions;
 *   top_k, median    scores sorted per (strategy, date) segment, stably, by
 *                    cub::DeviceSegmentedSort (ties keep symbol order);
 *   backtest_kernel  one block per strategy walks the dates: the cohort of t
 *                    replaces the one of t - h in its slot (dense per symbol,
 *                    in a workspace), every weight is re-summed from the h
 *                    slots, costs are charged and the 1-day returns earned;
 *   stats_kernel     one thread per strategy: the financial metrics.
 * The same steps in the same order as the CPU twin, src/host/backtest.c. */
extern "C" {
#include "../host/metrics_internal.h"
#include "vfr/backtest.h"
}

#include <cub/device/device_segmented_sort.cuh>
#include <cuda_runtime.h>

#include "cuda_check.h"
#include "reduce.cuh"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CUDA_TRY(call) VFR_CUDA_TRY("backtest (cuda)", call)

/* +inf marks "no score": it sorts after every finite key. */
#define INF __int_as_float(0x7f800000)

namespace {

const int THREADS = 128;
enum { AUX_DIR_N, AUX_DIR_HIT, AUX_TURN, AUX_EXPO, AUX_NET, AUX_COUNT };

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

/* Scores without a value -> +inf, -0 -> +0; for top_k (d_pos set), each
 * row's position within its date, the values carried by the sort. */
__global__ void prep_kernel(float *d_score, const int *d_pos_of_row, long long N, long long total,
                            int *d_pos)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        float s = d_score[i];
        d_score[i] = !isfinite(s) ? INF : s == 0.0f ? 0.0f : s;
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
    const float *fwd;      /* [N] or NULL                                     */
    const float *r1;       /* [T, S] 1-day returns, 0 where missing           */
    long long N;
    int T, S, h, strategy, k;
    double threshold, cost;
    double *cw;            /* [mc, h, S] cohort weights, zeroed               */
    double *w;             /* [mc, S] portfolio weights, zeroed               */
    double *daily;         /* [mc, T]                                         */
    double *aux;           /* [mc, AUX_COUNT]                                 */
};

/* Writes the weights of date u's cohort into cw (a zeroed slot row) and
 * counts directional hits. Called by every thread of the block. */
__device__ void cohort(const bt_args &a, int m, int u, double *cw, long long *dir_n,
                       long long *dir_hit, long long *shl)
{
    const long long base = (long long)m * a.N, r0 = a.off[u], r1 = a.off[u + 1];
    if (a.strategy == VFR_STRATEGY_LONG_SHORT_MEDIAN) {
        /* sorted ascending: below the median [0, ns), above it [nv - nl, nv) */
        const float *ks = a.sorted + base + r0;
        const int *ps = a.spos + base + r0;
        long long nv = first_inf(ks, 0, r1 - r0);
        if (nv < 2)
            return;
        const double lo = ks[(nv - 1) / 2], hi = ks[nv / 2];
        const double med = nv & 1 ? hi : 0.5 * (lo + hi);
        const long long ns = bound(ks, nv, med, 0), above = bound(ks, nv, med, 1), nl = nv - above;
        if (ns == 0 || nl == 0)
            return;
        for (long long q = threadIdx.x; q < nv; q += blockDim.x) {
            if (q >= ns && q < above)
                continue;
            long long row = r0 + ps[q];
            double v = q < ns ? -0.5 / (double)ns : 0.5 / (double)nl;
            cw[a.sym[row]] = v;
            if (a.fwd && isfinite(a.fwd[row]) && a.fwd[row] != 0.0f) {
                (*dir_n)++;
                *dir_hit += (v > 0) == (a.fwd[row] > 0.0f);
            }
        }
        return;
    }
    if (a.strategy == VFR_STRATEGY_TOP_K) {
        const float *ks = a.sorted + base + r0;
        const int *ps = a.spos + base + r0;
        long long nv = first_inf(ks, 0, r1 - r0);
        long long keff = a.k < nv / 2 ? a.k : nv / 2;
        double wt = keff ? 0.5 / (double)keff : 0.0;
        for (long long e = threadIdx.x; e < 2 * keff; e += blockDim.x) {
            /* bottom: sorted positions 0.. ; top: nv - 1 downwards */
            long long q = e < keff ? e : nv - 1 - (e - keff);
            long long row = r0 + ps[q];
            double v = e < keff ? -wt : wt;
            cw[a.sym[row]] = v;
            if (a.fwd && isfinite(a.fwd[row]) && a.fwd[row] != 0.0f) {
                (*dir_n)++;
                *dir_hit += (v > 0) == (a.fwd[row] > 0.0f);
            }
        }
        return;
    }
    const float *sc = a.score + base;
    const bool ls = a.strategy == VFR_STRATEGY_LONG_SHORT_SIGN;
    long long act = 0;
    for (long long i = r0 + threadIdx.x; i < r1; i += blockDim.x) {
        double s = sc[i]; /* no score: +inf, never active */
        act += sc[i] < INF && (s > a.threshold || (ls && s < a.threshold));
    }
    act = vfr_block_sum(act, shl);
    if (act == 0)
        return;
    const double wt = 1.0 / (double)act;
    for (long long i = r0 + threadIdx.x; i < r1; i += blockDim.x) {
        double s = sc[i];
        int sg = sc[i] < INF ? (s > a.threshold) - (ls && s < a.threshold) : 0;
        if (sg == 0)
            continue;
        double v = sg * wt;
        cw[a.sym[i]] = v;
        if (a.fwd && isfinite(a.fwd[i]) && a.fwd[i] != 0.0f) {
            (*dir_n)++;
            *dir_hit += (v > 0) == (a.fwd[i] > 0.0f);
        }
    }
}

/* One block per strategy, the dates in order. */
__global__ void backtest_kernel(bt_args a)
{
    __shared__ double shd[32];
    __shared__ long long shl[32];
    const int m = blockIdx.x, S = a.S, h = a.h;
    double *w = a.w + (size_t)m * S;
    double *cwm = a.cw + (size_t)m * h * S;
    long long dir_n = 0, dir_hit = 0;
    double turn_sum = 0, expo_sum = 0, net_sum = 0;
    for (int t = 0; t < a.T; t++) {
        /* the cohort of date t takes the slot of the one of date t - h */
        double *cw = cwm + (size_t)(t % h) * S;
        for (int s = threadIdx.x; s < S; s += blockDim.x)
            cw[s] = 0.0;
        __syncthreads();
        cohort(a, m, t, cw, &dir_n, &dir_hit, shl);
        __syncthreads();
        double turn = 0, pnl = 0, expo = 0, net = 0;
        const float *ret = a.r1 + (size_t)t * S;
        for (int s = threadIdx.x; s < S; s += blockDim.x) {
            double v = 0; /* the live cohorts, newest first, as on the CPU */
            for (int b = 0; b < h; b++)
                v += cwm[(size_t)((t - b + h) % h) * S + s];
            if (h > 1)
                v /= h;
            turn += fabs(v - w[s]);
            w[s] = v;
            pnl += v * (double)ret[s];
            expo += fabs(v);
            net += v;
        }
        turn = vfr_block_sum(turn, shd);
        pnl = vfr_block_sum(pnl, shd);
        expo = vfr_block_sum(expo, shd);
        net = vfr_block_sum(net, shd);
        if (threadIdx.x == 0) {
            a.daily[(size_t)m * a.T + t] = pnl - a.cost * turn;
            turn_sum += turn, expo_sum += expo, net_sum += net;
        }
    }
    dir_n = vfr_block_sum(dir_n, shl);
    dir_hit = vfr_block_sum(dir_hit, shl);
    if (threadIdx.x == 0) {
        double *x = a.aux + (size_t)m * AUX_COUNT;
        x[AUX_DIR_N] = (double)dir_n, x[AUX_DIR_HIT] = (double)dir_hit;
        x[AUX_TURN] = turn_sum, x[AUX_EXPO] = expo_sum, x[AUX_NET] = net_sum;
    }
}

/* One thread per strategy: the financial metrics of its daily returns (aux:
 * position statistics from backtest_kernel, or NULL). */
__global__ void stats_kernel(const double *d_daily, const double *d_aux, int mc, int T,
                             double ppy, double rfa, double *d_met)
{
    int m = blockIdx.x * blockDim.x + threadIdx.x;
    if (m >= mc)
        return;
    const double *r = d_daily + (size_t)m * T, rf = rfa / ppy;
    double *row = d_met + (size_t)m * VFR_FIN_COUNT;
    for (int k = 0; k < VFR_FIN_COUNT; k++)
        row[k] = NAN;
    row[VFR_FIN_DAYS] = T;
    if (d_aux) {
        const double *x = d_aux + (size_t)m * AUX_COUNT;
        row[VFR_FIN_DIRECTIONAL_ACCURACY] = x[AUX_DIR_N] > 0 ? x[AUX_DIR_HIT] / x[AUX_DIR_N] : NAN;
        row[VFR_FIN_TURNOVER] = T ? x[AUX_TURN] / T : NAN;
        row[VFR_FIN_EXPOSURE] = T ? x[AUX_EXPO] / T : NAN;
        row[VFR_FIN_NET_EXPOSURE] = T ? x[AUX_NET] / T : NAN;
    }
    if (T == 0)
        return;
    double sum = 0, eq = 1, peak = 1, mdd = 0, win = 0, loss = 0;
    long long peak_day = -1, dur = 0, nwin = 0, nloss = 0;
    int under = 0;
    for (int t = 0; t < T; t++) {
        double x = isnan(r[t]) ? 0.0 : r[t];
        sum += x;
        if (x > 0)
            win += x, nwin++;
        else if (x < 0)
            loss += x, nloss++;
        eq *= 1.0 + x;
        if (eq >= peak) {
            if (under && t - peak_day > dur)
                dur = t - peak_day;
            under = 0;
            peak = eq, peak_day = t;
        } else {
            under = 1;
            double dd = 1.0 - eq / peak;
            if (dd > mdd)
                mdd = dd;
        }
    }
    if (under && (T - 1) - peak_day > dur)
        dur = (T - 1) - peak_day;
    double mean = sum / T, ss = 0, down = 0;
    for (int t = 0; t < T; t++) {
        double x = isnan(r[t]) ? 0.0 : r[t], d = x - rf;
        ss += (x - mean) * (x - mean);
        if (d < 0)
            down += d * d;
    }
    double sd = T >= 2 ? sqrt(ss / (T - 1)) : NAN, dd = sqrt(down / T);
    double cagr = eq > 0 ? pow(eq, ppy / T) - 1.0 : -1.0;
    row[VFR_FIN_TOTAL_RETURN] = eq - 1.0;
    row[VFR_FIN_CAGR] = cagr;
    row[VFR_FIN_VOLATILITY] = sd * sqrt(ppy);
    row[VFR_FIN_SHARPE] = sd > 0 ? (mean - rf) / sd * sqrt(ppy) : NAN;
    row[VFR_FIN_SORTINO] = T >= 2 && dd > 0 ? (mean - rf) / dd * sqrt(ppy) : NAN;
    row[VFR_FIN_MAX_DRAWDOWN] = mdd;
    row[VFR_FIN_MAX_DRAWDOWN_DAYS] = (double)dur;
    row[VFR_FIN_CALMAR] = mdd > 0 ? cagr / mdd : NAN;
    row[VFR_FIN_PROFIT_FACTOR] = nloss ? win / -loss : NAN;
    row[VFR_FIN_WIN_RATE] = nwin + nloss ? (double)nwin / (double)(nwin + nloss) : NAN;
    row[VFR_FIN_AVG_WIN] = nwin ? win / (double)nwin : NAN;
    row[VFR_FIN_AVG_LOSS] = nloss ? loss / (double)nloss : NAN;
}

#ifndef VFR_MAX_GRID /* a build knob for the emulated tests (metrics.cu) */
#define VFR_MAX_GRID (65535 * 8)
#endif
int grid_for(long long n)
{
    long long g = (n + 255) / 256;
    return (int)(g < 1 ? 1 : g > VFR_MAX_GRID ? VFR_MAX_GRID : g);
}

double ppy_of(const vfr_backtest_options *o)
{
    return o->periods_per_year > 0 ? (double)o->periods_per_year : 252.0;
}

} // namespace

extern "C" vfr_status vfr_backtest_cuda(const vfr_panel *p, const float *score, int32_t M,
                                        const vfr_backtest_options *o, double *metrics,
                                        double *daily)
{
    vfr_status st = vfr_backtest_check_args(p, score, M, o, metrics);
    vfr_device_kind used;
    if (st != VFR_OK || (st = vfr_device_resolve(VFR_DEVICE_CUDA, &used)) != VFR_OK)
        return st;
    const long long N = p->N;
    const int T = p->T, S = p->S > 0 ? p->S : 1, h = o->horizon;
    const int topk = o->strategy == VFR_STRATEGY_TOP_K || o->strategy == VFR_STRATEGY_LONG_SHORT_MEDIAN;
    const size_t cells = (size_t)(T > 0 ? T : 1) * (size_t)S;
    float *r1 = (float *)calloc(cells, sizeof(float));
    int *pos_of_row = (int *)malloc(sizeof(int) * (size_t)(N > 0 ? N : 1));
    float *d_score = NULL, *d_sorted = NULL, *d_r1 = NULL, *d_fwd = NULL;
    int *d_pos = NULL, *d_spos = NULL, *d_sym = NULL, *d_pos_of_row = NULL;
    long long *d_off = NULL, *d_seg = NULL;
    double *d_cw = NULL, *d_w = NULL, *d_daily = NULL, *d_aux = NULL, *d_met = NULL;
    void *d_temp = NULL;
    size_t temp_bytes = 0;
    long long Mc = M;
    if (!r1 || !pos_of_row) {
        st = vfr_fail(VFR_ERR_NOMEM, "backtest (cuda): out of host memory");
        goto fail;
    }
    /* the same dense 1-day returns as the CPU twin: 0 where missing or NaN */
    for (int t = 0; t < T; t++)
        for (long long i = p->date_offset[t]; i < p->date_offset[t + 1]; i++) {
            pos_of_row[i] = (int)(i - p->date_offset[t]);
            if (isfinite(p->fwd1[i]))
                r1[(size_t)t * S + p->symbol[i]] = p->fwd1[i];
        }
    {
        size_t fr = 0, tot = 0;
        CUDA_TRY(cudaMemGetInfo(&fr, &tot));
        long long per = (N > 0 ? N : 1) * (topk ? 48 : 8) + (long long)S * (8 * h + 8) +
                        (long long)T * 24 + 1024;
        long long fit = (long long)(fr / 2) / per, cap = N > 0 ? (INT32_MAX - 2) / N : M;
        Mc = M < fit ? M : fit;
        if (Mc > cap)
            Mc = cap;
        Mc = vfr_metrics_cuda_chunk(Mc);
        if (Mc < 1)
            Mc = 1;
    }
    CUDA_TRY(cudaMalloc(&d_off, sizeof(long long) * (size_t)(T + 1)));
    CUDA_TRY(cudaMalloc(&d_sym, sizeof(int) * (size_t)(N > 0 ? N : 1)));
    CUDA_TRY(cudaMalloc(&d_pos_of_row, sizeof(int) * (size_t)(N > 0 ? N : 1)));
    CUDA_TRY(cudaMalloc(&d_r1, sizeof(float) * cells));
    if (T > 0)
        CUDA_TRY(cudaMemcpy(d_off, p->date_offset, sizeof(long long) * (T + 1), cudaMemcpyHostToDevice));
    CUDA_TRY(cudaMemcpy(d_r1, r1, sizeof(float) * cells, cudaMemcpyHostToDevice));
    if (N > 0) {
        CUDA_TRY(cudaMemcpy(d_sym, p->symbol, sizeof(int) * N, cudaMemcpyHostToDevice));
        CUDA_TRY(cudaMemcpy(d_pos_of_row, pos_of_row, sizeof(int) * N, cudaMemcpyHostToDevice));
        if (p->fwd) {
            CUDA_TRY(cudaMalloc(&d_fwd, sizeof(float) * N));
            CUDA_TRY(cudaMemcpy(d_fwd, p->fwd, sizeof(float) * N, cudaMemcpyHostToDevice));
        }
    }
    {
        const size_t items = (size_t)Mc * (size_t)(N > 0 ? N : 1);
        CUDA_TRY(cudaMalloc(&d_score, sizeof(float) * items));
        if (topk) {
            CUDA_TRY(cudaMalloc(&d_sorted, sizeof(float) * items));
            CUDA_TRY(cudaMalloc(&d_pos, sizeof(int) * items));
            CUDA_TRY(cudaMalloc(&d_spos, sizeof(int) * items));
            CUDA_TRY(cudaMalloc(&d_seg, sizeof(long long) * ((size_t)Mc * T + 1)));
        }
        CUDA_TRY(cudaMalloc(&d_cw, sizeof(double) * (size_t)Mc * h * S));
        CUDA_TRY(cudaMalloc(&d_w, sizeof(double) * (size_t)Mc * S));
        CUDA_TRY(cudaMalloc(&d_daily, sizeof(double) * (size_t)Mc * (T > 0 ? T : 1)));
        CUDA_TRY(cudaMalloc(&d_aux, sizeof(double) * AUX_COUNT * (size_t)Mc));
        CUDA_TRY(cudaMalloc(&d_met, sizeof(double) * VFR_FIN_COUNT * (size_t)Mc));
    }
    for (long long m0 = 0; m0 < M; m0 += Mc) {
        const int mc = (int)(M - m0 < Mc ? M - m0 : Mc);
        const long long total = (long long)mc * N;
        CUDA_TRY(cudaMemset(d_cw, 0, sizeof(double) * (size_t)mc * h * S));
        CUDA_TRY(cudaMemset(d_w, 0, sizeof(double) * (size_t)mc * S));
        if (total > 0) {
            CUDA_TRY(cudaMemcpy(d_score, score + (size_t)m0 * (size_t)N, sizeof(float) * (size_t)total,
                                cudaMemcpyHostToDevice));
            prep_kernel<<<grid_for(total), 256>>>(d_score, d_pos_of_row, N, total, d_pos);
            CUDA_TRY(cudaGetLastError());
        }
        if (topk && total > 0 && T > 0) {
            const long long nseg = (long long)mc * T;
            seg_offsets_kernel<<<grid_for(nseg + 1), 256>>>(d_off, T, N, mc, d_seg);
            CUDA_TRY(cudaGetLastError());
            size_t need = 0;
            CUDA_TRY(cub::DeviceSegmentedSort::StableSortPairs(NULL, need, d_score, d_sorted, d_pos,
                                                               d_spos, total, nseg, d_seg, d_seg + 1));
            if (need > temp_bytes) {
                cudaFree(d_temp);
                d_temp = NULL;
                CUDA_TRY(cudaMalloc(&d_temp, need));
                temp_bytes = need;
            }
            CUDA_TRY(cub::DeviceSegmentedSort::StableSortPairs(d_temp, temp_bytes, d_score, d_sorted,
                                                               d_pos, d_spos, total, nseg, d_seg,
                                                               d_seg + 1));
        }
        bt_args a;
        a.score = d_score, a.sorted = d_sorted, a.spos = d_spos, a.off = d_off, a.sym = d_sym;
        a.fwd = d_fwd, a.r1 = d_r1, a.N = N, a.T = T, a.S = S, a.h = h;
        a.strategy = (int)o->strategy, a.k = o->k, a.threshold = o->threshold;
        a.cost = o->cost_bps * 1e-4, a.cw = d_cw, a.w = d_w;
        a.daily = d_daily, a.aux = d_aux;
        backtest_kernel<<<mc, THREADS>>>(a);
        CUDA_TRY(cudaGetLastError());
        stats_kernel<<<(mc + 127) / 128, 128>>>(d_daily, d_aux, mc, T, ppy_of(o), o->risk_free, d_met);
        CUDA_TRY(cudaGetLastError());
        CUDA_TRY(cudaMemcpy(metrics + (size_t)m0 * VFR_FIN_COUNT, d_met,
                            sizeof(double) * VFR_FIN_COUNT * (size_t)mc, cudaMemcpyDeviceToHost));
        if (daily && T > 0)
            CUDA_TRY(cudaMemcpy(daily + (size_t)m0 * T, d_daily, sizeof(double) * (size_t)mc * T,
                                cudaMemcpyDeviceToHost));
    }
fail:
    cudaFree(d_score), cudaFree(d_sorted), cudaFree(d_r1), cudaFree(d_fwd), cudaFree(d_pos);
    cudaFree(d_spos), cudaFree(d_sym), cudaFree(d_pos_of_row), cudaFree(d_off);
    cudaFree(d_seg), cudaFree(d_cw), cudaFree(d_w), cudaFree(d_daily), cudaFree(d_aux);
    cudaFree(d_met), cudaFree(d_temp);
    free(r1), free(pos_of_row);
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
    stats_kernel<<<(M + 127) / 128, 128>>>(d_daily, NULL, M, T, ppy_of(o), o->risk_free, d_met);
    CUDA_TRY(cudaGetLastError());
    CUDA_TRY(cudaMemcpy(metrics, d_met, sizeof(double) * VFR_FIN_COUNT * (size_t)M,
                        cudaMemcpyDeviceToHost));
fail:
    cudaFree(d_daily), cudaFree(d_met);
    return st;
}
