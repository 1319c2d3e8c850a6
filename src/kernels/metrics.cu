/* metrics.cu: the batched model metrics on the GPU, all M models in a fixed
 * sequence of launches (per chunk of models that fits in device memory):
 *   sums_kernel     per (model, row block) partial counts and sums;
 *   ROC AUC         (model, score) keys in 64 bits sorted by one radix sort
 *                   over the whole grid (cub::DeviceRadixSort: all models at
 *                   once, not a block per model), negatives prefix-counted
 *                   (cub::DeviceScan), each positive's tie group found by
 *                   binary search within its model: twice the Mann-Whitney
 *                   count, an exact integer, so the result is the CPU twin's
 *                   to the bit;
 *   rank IC         score and target sorted per (model, date) segment, average
 *                   ranks by binary search, then a warp per segment for the
 *                   Pearson of values and of ranks (two passes);
 *   finish_kernel   one thread per model: merges partials, writes the row.
 * No host round trip per model. CPU twin: src/host/metrics.c. */
/* the CUDA headers outside extern "C" (gpu_internal.h includes them too) */
#include <cublas_v2.h>
#include <cuda_runtime.h>
extern "C" {
#include "../host/gpu_internal.h"
#include "../host/metrics_internal.h"
#include "vfr/metrics.h"
}

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>
#include <cub/device/device_segmented_sort.cuh>
#include <cuda_runtime.h>

#include "cuda_check.h"
#include "reduce.cuh"
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CUDA_TRY(call) VFR_CUDA_TRY("metrics (cuda)", call)

namespace {

const int THREADS = 256;
const int ROWS_PER_BLOCK = 8192;

/* Partial sums of one (model, row block). */
enum { P_N, P_TP, P_FP, P_TN, P_FN, P_LL, P_MEAN, P_M2, P_SSE, P_SAE, P_APE, P_NAPE, P_COUNT };

/* +inf marks "no value": it sorts after every finite key. */
#define INF __int_as_float(0x7f800000)

__device__ float canon(float s) { return s == 0.0f ? 0.0f : s; }


__device__ double warp_sum(double v)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* First position in [lo, hi) whose key is not < k (resp. not <= k). Keys are
 * sorted ascending with +inf (no value) last. */
__device__ long long lower_bound(const float *a, long long lo, long long hi, float k)
{
    while (lo < hi) {
        long long mid = lo + ((hi - lo) >> 1);
        if (a[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

__device__ long long upper_bound(const float *a, long long lo, long long hi, float k)
{
    while (lo < hi) {
        long long mid = lo + ((hi - lo) >> 1);
        if (a[mid] <= k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* grid (row blocks, models): counts, log loss (classification) or error sums
 * and the label's mean and M2 around the block mean (regression). */
__global__ void sums_kernel(const float *d_score, const float *d_label, long long N, int cls,
                            double thr, double *d_part)
{
    __shared__ double sh[32];
    const int m = blockIdx.y;
    const long long r0 = (long long)blockIdx.x * ROWS_PER_BLOCK;
    const long long r1 = r0 + ROWS_PER_BLOCK < N ? r0 + ROWS_PER_BLOCK : N;
    const float *sc = d_score + (size_t)m * (size_t)N;
    double v[P_COUNT];
    for (int k = 0; k < P_COUNT; k++)
        v[k] = 0;
    const double eps = DBL_EPSILON;
    for (long long i = r0 + threadIdx.x; i < r1; i += blockDim.x) {
        float s = sc[i], l = d_label[i];
        if (!isfinite(s) || !isfinite(l))
            continue;
        v[P_N] += 1;
        if (cls) {
            int pos = l == 1.0f, pred = (double)s > thr;
            v[pos ? (pred ? P_TP : P_FN) : (pred ? P_FP : P_TN)] += 1;
            double q = s < eps ? eps : s > 1 - eps ? 1 - eps : (double)s;
            v[P_LL] -= pos ? log(q) : log(1 - q);
        } else {
            double y = l, e = (double)s - y;
            v[P_MEAN] += y;
            v[P_SSE] += e * e;
            v[P_SAE] += fabs(e);
            if (y != 0)
                v[P_APE] += fabs(e) / fabs(y), v[P_NAPE] += 1;
        }
    }
    double out[P_COUNT];
    for (int k = 0; k < P_COUNT; k++)
        out[k] = vfri_block_sum(v[k], sh);
    if (!cls && out[P_N] > 0) {
        /* second pass: M2 of the label around this block's mean (merged on
         * with Chan's update, which stays accurate where sum-of-squares would not) */
        const double mean = out[P_MEAN] / out[P_N];
        double m2 = 0;
        for (long long i = r0 + threadIdx.x; i < r1; i += blockDim.x)
            if (isfinite(sc[i]) && isfinite(d_label[i]))
                m2 += ((double)d_label[i] - mean) * ((double)d_label[i] - mean);
        out[P_M2] = vfri_block_sum(m2, sh);
        out[P_MEAN] = mean;
    }
    if (threadIdx.x == 0) {
        double *p = d_part + ((size_t)m * gridDim.x + blockIdx.x) * P_COUNT;
        for (int k = 0; k < P_COUNT; k++)
            p[k] = out[k];
    }
}

/* The radix key of "no value" (+inf): after every finite score's. */
#define NO_KEY 0xff800000u

/* AUC keys: model m in the high 32 bits, the score's order-preserving key
 * (vfri_metrics_float_key, the CPU twin's) in the low ones, NO_KEY where score
 * or label is not finite; one sort then orders every model's rows at once,
 * model m's in [m N, (m + 1) N). */
__global__ void auc_keys_kernel(const float *d_score, const float *d_label, long long N,
                                long long total, unsigned long long *d_key, unsigned char *d_pos)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        long long j = i % N;
        float s = d_score[i], l = d_label[j];
        int ok = isfinite(s) && isfinite(l);
        d_key[i] = (unsigned long long)(i / N) << 32 | (ok ? vfri_metrics_float_key(s) : NO_KEY);
        d_pos[i] = ok && l == 1.0f;
    }
}

__global__ void neg_flag_kernel(const unsigned long long *d_key, const unsigned char *d_pos,
                                long long total, int *d_flag)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i <= total;
         i += (long long)gridDim.x * blockDim.x)
        d_flag[i] = i < total && (unsigned)d_key[i] < NO_KEY && !d_pos[i];
}

/* First position in [lo, hi) of the ascending a whose key is not < k (resp. not <= k). */
__device__ long long key_bound(const unsigned long long *a, long long lo, long long hi,
                               unsigned long long k, int upper)
{
    while (lo < hi) {
        long long mid = lo + ((hi - lo) >> 1);
        if (upper ? a[mid] <= k : a[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* grid (row blocks, models): for each positive, 2 x (negatives below its tie
 * group) + (negatives in it); summed exactly in 64-bit integers. */
__global__ void auc_kernel(const unsigned long long *d_key, const unsigned char *d_pos, const int *d_cum,
                           long long N, unsigned long long *d_twice)
{
    __shared__ unsigned long long sh[32];
    const int m = blockIdx.y;
    const long long base = (long long)m * N;
    const long long r0 = (long long)blockIdx.x * ROWS_PER_BLOCK;
    const long long r1 = r0 + ROWS_PER_BLOCK < N ? r0 + ROWS_PER_BLOCK : N;
    unsigned long long acc = 0;
    for (long long j = r0 + threadIdx.x; j < r1; j += blockDim.x) {
        long long i = base + j;
        unsigned long long k = d_key[i];
        if (!((unsigned)k < NO_KEY) || !d_pos[i])
            continue;
        long long a = key_bound(d_key, base, base + N, k, 0), b = key_bound(d_key, base, base + N, k, 1);
        long long below = d_cum[a] - d_cum[base], in = d_cum[b] - d_cum[a];
        acc += (unsigned long long)(2 * below + in);
    }
    acc = vfri_block_sum(acc, sh);
    if (threadIdx.x == 0 && acc)
        atomicAdd(d_twice + m, acc);
}

/* Signal keys: score and target where both are finite, else +inf; the row
 * number within the model rides along. */
__global__ void sig_keys_kernel(const float *d_score, const float *d_y, long long N,
                                long long total, float *d_ks, float *d_ky, int *d_idx)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        long long j = i % N;
        float s = d_score[i], y = d_y[j];
        int ok = isfinite(s) && isfinite(y);
        d_ks[i] = ok ? canon(s) : INF;
        d_ky[i] = ok ? canon(y) : INF;
        d_idx[i] = (int)j;
    }
}

/* Segment q = m * T + t covers [m N + off[t], m N + off[t + 1]). Grid-stride:
 * grid_for caps the grid, and past the cap (134 million segments) a
 * one-thread-per-segment kernel left offsets unwritten. */
__global__ void seg_offsets_kernel(const long long *d_off, int T, long long N, int Mc,
                                   long long *d_seg)
{
    const long long nseg = (long long)Mc * T;
    for (long long q = blockIdx.x * (long long)blockDim.x + threadIdx.x; q <= nseg;
         q += (long long)gridDim.x * blockDim.x)
        d_seg[q] = q < nseg ? (q / T) * N + d_off[q % T] : (long long)Mc * N;
}

/* Average rank (1-based, ties share the mean position) of each sorted valid
 * key within its segment, scattered back to the row it came from. */
__global__ void rank_kernel(const float *d_sorted, const int *d_from, const long long *d_off,
                            const int *d_rowdate, long long N, long long total, float *d_rank)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        float k = d_sorted[i];
        if (!(k < INF))
            continue;
        long long m = i / N, j = i - m * N;
        int t = d_rowdate[j];
        long long sb = m * N + d_off[t], se = m * N + d_off[t + 1];
        long long a = lower_bound(d_sorted, sb, se, k) - sb, b = upper_bound(d_sorted, sb, se, k) - sb;
        d_rank[m * N + d_from[i]] = 0.5f * (float)(a + b + 1);
    }
}

/* One warp per (model, date): Pearson of (score, y) and of their ranks over
 * the rows where both are finite, two passes. */
__global__ void ic_kernel(const float *d_score, const float *d_y, const float *d_rs,
                          const float *d_ry, const long long *d_off, int T, long long N, int Mc,
                          double *d_ic, double *d_ric)
{
    long long q = (blockIdx.x * (long long)blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (q >= (long long)Mc * T)
        return; /* whole warps leave together: q is uniform in a warp */
    const long long m = q / T;
    const int t = (int)(q % T);
    const float *sc = d_score + m * N, *rs = d_rs + m * N, *ry = d_ry + m * N;
    double n = 0, sx = 0, sy = 0, srx = 0, sry = 0;
    for (long long j = d_off[t] + lane; j < d_off[t + 1]; j += 32)
        if (isfinite(sc[j]) && isfinite(d_y[j])) {
            n += 1, sx += sc[j], sy += d_y[j], srx += rs[j], sry += ry[j];
        }
    n = warp_sum(n), sx = warp_sum(sx), sy = warp_sum(sy), srx = warp_sum(srx), sry = warp_sum(sry);
    double ic = NAN, ric = NAN;
    if (n >= 2) {
        const double mx = sx / n, my = sy / n, mrx = srx / n, mry = sry / n;
        double a = 0, b = 0, c = 0, ra = 0, rb = 0, rc = 0;
        for (long long j = d_off[t] + lane; j < d_off[t + 1]; j += 32)
            if (isfinite(sc[j]) && isfinite(d_y[j])) {
                double dx = sc[j] - mx, dy = d_y[j] - my, ex = rs[j] - mrx, ey = ry[j] - mry;
                a += dx * dy, b += dx * dx, c += dy * dy;
                ra += ex * ey, rb += ex * ex, rc += ey * ey;
            }
        a = warp_sum(a), b = warp_sum(b), c = warp_sum(c);
        ra = warp_sum(ra), rb = warp_sum(rb), rc = warp_sum(rc);
        if (!vfri_metrics_is_constant(b, n, mx) && !vfri_metrics_is_constant(c, n, my)) {
            ic = a / sqrt(b * c);
            ric = !vfri_metrics_is_constant(rb, n, mrx) && !vfri_metrics_is_constant(rc, n, mry)
                      ? ra / sqrt(rb * rc)
                      : NAN;
        }
    }
    if (lane == 0)
        d_ic[q] = ic, d_ric[q] = ric;
}

__device__ void mean_std_ir(const double *v, int n, double *mean, double *sd, double *ir,
                            double *count)
{
    int c = 0;
    double m = 0, ss = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i]))
            m += v[i], c++;
    m = c ? m / c : NAN;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i]))
            ss += (v[i] - m) * (v[i] - m);
    *mean = m;
    *sd = c >= 2 ? sqrt(ss / (c - 1)) : NAN;
    *ir = c >= 2 && *sd > 0 ? m / *sd : NAN;
    if (count)
        *count = c;
}

/* One thread per model: merge the partials in block order, write the row. */
__global__ void finish_kernel(const double *d_part, int nb, const unsigned long long *d_twice,
                              const double *d_ic, const double *d_ric, int T, int Mc, int cls,
                              double *d_out)
{
    int m = blockIdx.x * blockDim.x + threadIdx.x;
    if (m >= Mc)
        return;
    double *row = d_out + (size_t)m * VFR_METRIC_COUNT;
    for (int k = 0; k < VFR_METRIC_COUNT; k++)
        row[k] = NAN;
    double s[P_COUNT];
    for (int k = 0; k < P_COUNT; k++)
        s[k] = 0;
    for (int b = 0; b < nb; b++) {
        const double *p = d_part + ((size_t)m * nb + b) * P_COUNT;
        double na = s[P_N], nn = p[P_N];
        if (!cls && nn > 0) { /* Chan et al.: merge (n, mean, M2) */
            double n = na + nn, d = p[P_MEAN] - s[P_MEAN];
            s[P_M2] += p[P_M2] + d * d * na * nn / n;
            s[P_MEAN] += d * nn / n;
        }
        for (int k = 0; k < P_COUNT; k++)
            if (k != P_MEAN && k != P_M2)
                s[k] += p[k];
    }
    const double n = s[P_N];
    row[VFR_METRIC_N] = n;
    if (cls) {
        const double tp = s[P_TP], fp = s[P_FP], tn = s[P_TN], fn = s[P_FN];
        row[VFR_METRIC_TP] = tp, row[VFR_METRIC_FP] = fp;
        row[VFR_METRIC_TN] = tn, row[VFR_METRIC_FN] = fn;
        if (n > 0) {
            row[VFR_METRIC_ACCURACY] = (tp + tn) / n;
            row[VFR_METRIC_PRECISION] = tp + fp > 0 ? tp / (tp + fp) : 0.0;
            row[VFR_METRIC_RECALL] = tp + fn > 0 ? tp / (tp + fn) : 0.0;
            row[VFR_METRIC_F1] = tp + fp + fn > 0 ? 2.0 * tp / (2 * tp + fp + fn) : 0.0;
            row[VFR_METRIC_LOG_LOSS] = s[P_LL] / n;
            const double P = tp + fn, Nn = fp + tn;
            if (P > 0 && Nn > 0)
                row[VFR_METRIC_ROC_AUC] = (double)d_twice[m] / (2.0 * P * Nn);
        }
    } else if (n > 0) {
        const double sse = s[P_SSE], sst = s[P_M2];
        row[VFR_METRIC_MSE] = sse / n;
        row[VFR_METRIC_RMSE] = sqrt(sse / n);
        row[VFR_METRIC_MAE] = s[P_SAE] / n;
        row[VFR_METRIC_R2] = n < 2                                    ? NAN
                             : !vfri_metrics_is_constant(sst, n, s[P_MEAN]) ? 1.0 - sse / sst
                             : sse == 0                              ? 1.0
                                                                     : 0.0;
        row[VFR_METRIC_MAPE] = s[P_NAPE] > 0 ? s[P_APE] / s[P_NAPE] : NAN;
    }
    mean_std_ir(d_ic + (size_t)m * T, T, &row[VFR_METRIC_IC], &row[VFR_METRIC_IC_STD],
                &row[VFR_METRIC_ICIR], &row[VFR_METRIC_IC_DATES]);
    mean_std_ir(d_ric + (size_t)m * T, T, &row[VFR_METRIC_RANK_IC], &row[VFR_METRIC_RANK_IC_STD],
                &row[VFR_METRIC_RANK_ICIR], NULL);
}

/* The grid of a grid-stride kernel. VFR_MAX_GRID (blocks) is a build knob so
 * that the emulated tests can check, with a tiny cap, that every kernel
 * launched this way really strides (tests/emu/emu.cmake). */
#ifndef VFR_MAX_GRID
#define VFR_MAX_GRID (65535 * 8)
#endif
int grid_for(long long n)
{
    long long g = (n + THREADS - 1) / THREADS;
    return (int)(g < 1 ? 1 : g > VFR_MAX_GRID ? VFR_MAX_GRID : g);
}

} // namespace

extern "C" vfr_status vfr_metrics_batch_staged(const vfr_gpu_panel *g, vfr_gpu_work *w,
                                               const float *score, int32_t M,
                                               const vfr_metrics_options *o, double *out)
{
    if (!g || !w || !g->host.date_offset)
        return vfr_fail(VFR_ERR_INVALID_ARG, "metrics (cuda): need a work and a panel staged with its dates");
    const vfr_panel *p = &g->host;
    vfr_status st = vfri_metrics_check_args(p, score, M, o, out);
    if (st != VFR_OK)
        return st;
    const long long N = p->N;
    const int T = p->T, cls = o->task == VFR_TASK_CLASSIFICATION;
    const int nb = (int)((N + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK);
    const int on_dev = vfri_gpu_is_device(score);
    cudaStream_t s = w->stream;
    long long Mc = M;
    /* Models per chunk: the sort buffers (about 40 bytes a row) and CUB's
     * scratch must fit in half the memory free or already held by the work,
     * and item counts stay < 2^31. */
    {
        size_t fr = 0, tot = 0;
        CUDA_TRY(cudaMemGetInfo(&fr, &tot));
        fr += w->dev_bytes[VFR_GPU_SLOT_ARENA] + w->dev_bytes[VFR_GPU_SLOT_SCORE] +
              w->dev_bytes[VFR_GPU_SLOT_TEMP];
        long long per_model = (N > 0 ? N : 1) * 72 + (long long)T * 24 + 1024;
        long long fit = (long long)(fr / 2) / per_model;
        long long cap = N > 0 ? (INT32_MAX - 2) / N : M;
        Mc = M < fit ? M : fit;
        if (Mc > cap)
            Mc = cap;
        if (Mc > 65535) /* models are gridDim.y of the row-block kernels */
            Mc = 65535;
        Mc = vfri_metrics_cuda_chunk(Mc);
        if (Mc < 1)
            Mc = 1;
    }
    {
        const size_t items = (size_t)Mc * (size_t)(N > 0 ? N : 1) + 1;
        /* one arena, carved: the buffers of the two sort phases (ks, ky, idx,
         * ks', is', ky', iy', rank_s, rank_y: 4 bytes each per item), then the
         * segment offsets, partial sums, daily ICs and the output rows */
        const size_t b_sort = vfri_gpu_align(4 * 9 * items);
        const size_t b_seg = vfri_gpu_align(sizeof(long long) * ((size_t)Mc * T + 1));
        const size_t b_part = vfri_gpu_align(sizeof(double) * P_COUNT * (size_t)Mc * (size_t)(nb > 0 ? nb : 1));
        const size_t b_ic = vfri_gpu_align(sizeof(double) * ((size_t)Mc * T + 1));
        const size_t b_out = vfri_gpu_align(sizeof(double) * VFR_METRIC_COUNT * (size_t)Mc);
        const size_t b_twice = vfri_gpu_align(sizeof(unsigned long long) * (size_t)Mc);
        char *arena;
        float *d_score = NULL;
        double *pin;
        if ((st = vfri_gpu_scratch(w, VFR_GPU_SLOT_ARENA, b_sort + b_seg + b_part + 2 * b_ic + b_out + b_twice,
                                  (void **)&arena)) != VFR_OK ||
            (!on_dev && (st = vfri_gpu_scratch(w, VFR_GPU_SLOT_SCORE, sizeof(float) * items, (void **)&d_score)) != VFR_OK) ||
            (st = vfri_gpu_pinned(w, sizeof(double) * VFR_METRIC_COUNT * (size_t)Mc, (void **)&pin)) != VFR_OK)
            return st;
        long long *d_seg = (long long *)(arena + b_sort);
        double *d_part = (double *)((char *)d_seg + b_seg);
        double *d_ic = (double *)((char *)d_part + b_part), *d_ric = (double *)((char *)d_ic + b_ic);
        double *d_out = (double *)((char *)d_ric + b_ic);
        unsigned long long *d_twice = (unsigned long long *)((char *)d_out + b_out);
        float *ks = (float *)arena, *ky = ks + items;
        int *idx = (int *)(ky + items);
        float *ks2 = (float *)(idx + items);
        int *is2 = (int *)(ks2 + items);
        float *ky2 = (float *)(is2 + items);
        int *iy2 = (int *)(ky2 + items);
        float *rs = (float *)(iy2 + items), *ry = rs + items;
        const float *d_label = g->d_label, *d_y = g->d_y;
        const long long *d_off = g->d_off;
        const int *d_rowdate = g->d_rowdate;
        for (long long m0 = 0; m0 < M; m0 += Mc) {
            const int mc = (int)(M - m0 < Mc ? M - m0 : Mc);
            const long long total = (long long)mc * N;
            const float *sc = on_dev ? score + (size_t)m0 * (size_t)N : d_score;
            CUDA_TRY(cudaMemsetAsync(d_twice, 0, sizeof(unsigned long long) * (size_t)mc, s));
            if (total > 0) {
                if (!on_dev)
                    CUDA_TRY(cudaMemcpyAsync(d_score, score + (size_t)m0 * (size_t)N,
                                             sizeof(float) * (size_t)total, cudaMemcpyHostToDevice, s));
                sums_kernel<<<dim3(nb, mc), THREADS, 0, s>>>(sc, d_label, N, cls, o->threshold, d_part);
                CUDA_TRY(cudaGetLastError());
                if (cls) {
                    /* the AUC phase borrows the signal buffers: 64-bit keys in
                     * ks..ky and idx..ks2, labels (bytes) in is2 and ky2, flags
                     * in iy2, prefix counts in rs */
                    unsigned long long *key = (unsigned long long *)ks, *key2 = (unsigned long long *)idx;
                    unsigned char *pos = (unsigned char *)is2, *pos2 = (unsigned char *)ky2;
                    int *flag = (int *)iy2, *cum = (int *)rs;
                    int bits = 32;
                    while (bits < 64 && (1ll << (bits - 32)) < mc)
                        bits++;
                    void *d_temp;
                    auc_keys_kernel<<<grid_for(total), THREADS, 0, s>>>(sc, d_label, N, total, key, pos);
                    CUDA_TRY(cudaGetLastError());
                    size_t need = 0, need2 = 0;
                    CUDA_TRY(cub::DeviceRadixSort::SortPairs(NULL, need, key, key2, pos, pos2, total, 0, bits, s));
                    CUDA_TRY(cub::DeviceScan::ExclusiveSum(NULL, need2, flag, cum, total + 1, s));
                    if (need2 > need)
                        need = need2;
                    if ((st = vfri_gpu_scratch(w, VFR_GPU_SLOT_TEMP, need, &d_temp)) != VFR_OK)
                        return st;
                    need = w->dev_bytes[VFR_GPU_SLOT_TEMP];
                    CUDA_TRY(cub::DeviceRadixSort::SortPairs(d_temp, need, key, key2, pos, pos2, total, 0, bits, s));
                    neg_flag_kernel<<<grid_for(total + 1), THREADS, 0, s>>>(key2, pos2, total, flag);
                    CUDA_TRY(cudaGetLastError());
                    need = w->dev_bytes[VFR_GPU_SLOT_TEMP];
                    CUDA_TRY(cub::DeviceScan::ExclusiveSum(d_temp, need, flag, cum, total + 1, s));
                    auc_kernel<<<dim3(nb, mc), THREADS, 0, s>>>(key2, pos2, cum, N, d_twice);
                    CUDA_TRY(cudaGetLastError());
                }
                if (T > 0) {
                    void *d_temp;
                    sig_keys_kernel<<<grid_for(total), THREADS, 0, s>>>(sc, d_y, N, total, ks, ky, idx);
                    CUDA_TRY(cudaGetLastError());
                    const long long nseg = (long long)mc * T;
                    seg_offsets_kernel<<<grid_for(nseg + 1), THREADS, 0, s>>>(d_off, T, N, mc, d_seg);
                    CUDA_TRY(cudaGetLastError());
                    size_t need = 0, need2 = 0;
                    CUDA_TRY(cub::DeviceSegmentedSort::SortPairs(NULL, need, ks, ks2, idx, is2, total, nseg,
                                                                 d_seg, d_seg + 1, s));
                    CUDA_TRY(cub::DeviceSegmentedSort::SortPairs(NULL, need2, ky, ky2, idx, iy2, total, nseg,
                                                                 d_seg, d_seg + 1, s));
                    if (need2 > need)
                        need = need2;
                    if ((st = vfri_gpu_scratch(w, VFR_GPU_SLOT_TEMP, need, &d_temp)) != VFR_OK)
                        return st;
                    need = w->dev_bytes[VFR_GPU_SLOT_TEMP];
                    CUDA_TRY(cub::DeviceSegmentedSort::SortPairs(d_temp, need, ks, ks2, idx, is2,
                                                                 total, nseg, d_seg, d_seg + 1, s));
                    need = w->dev_bytes[VFR_GPU_SLOT_TEMP];
                    CUDA_TRY(cub::DeviceSegmentedSort::SortPairs(d_temp, need, ky, ky2, idx, iy2,
                                                                 total, nseg, d_seg, d_seg + 1, s));
                    rank_kernel<<<grid_for(total), THREADS, 0, s>>>(ks2, is2, d_off, d_rowdate, N, total, rs);
                    CUDA_TRY(cudaGetLastError());
                    rank_kernel<<<grid_for(total), THREADS, 0, s>>>(ky2, iy2, d_off, d_rowdate, N, total, ry);
                    CUDA_TRY(cudaGetLastError());
                    const long long threads = nseg * 32;
                    ic_kernel<<<(int)((threads + THREADS - 1) / THREADS), THREADS, 0, s>>>(
                        sc, d_y, rs, ry, d_off, T, N, mc, d_ic, d_ric);
                    CUDA_TRY(cudaGetLastError());
                }
            }
            finish_kernel<<<(mc + 127) / 128, 128, 0, s>>>(d_part, total > 0 ? nb : 0, d_twice, d_ic, d_ric,
                                                           total > 0 ? T : 0, mc, cls, d_out);
            CUDA_TRY(cudaGetLastError());
            CUDA_TRY(cudaMemcpyAsync(pin, d_out, sizeof(double) * VFR_METRIC_COUNT * (size_t)mc,
                                     cudaMemcpyDeviceToHost, s));
            CUDA_TRY(cudaStreamSynchronize(s));
            memcpy(out + (size_t)m0 * VFR_METRIC_COUNT, pin, sizeof(double) * VFR_METRIC_COUNT * (size_t)mc);
        }
    }
fail:
    return st;
}

extern "C" vfr_status vfr_metrics_batch_cuda(const vfr_panel *p, const float *score, int32_t M,
                                             const vfr_metrics_options *o, double *out)
{
    vfr_status st = vfri_metrics_check_args(p, score, M, o, out);
    vfr_device_kind used;
    if (st != VFR_OK || (st = vfr_device_resolve(VFR_DEVICE_CUDA, &used)) != VFR_OK)
        return st;
    vfr_gpu_work *w;
    vfr_gpu_panel *g;
    if ((st = vfri_gpu_stage(p, NULL, 0, &w, &g)) != VFR_OK)
        return st;
    st = vfr_metrics_batch_staged(g, w, score, M, o, out);
    vfri_gpu_unstage(w, g);
    return st;
}
