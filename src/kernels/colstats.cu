/* colstats.cu: per-column count/mean/std of a float32 [N, F] matrix on the GPU.
 * The matrix is staged in row blocks; each block is reduced to per-column
 * partial (count, mean, M2) in double, merged on the host with
 * vfr_colstats_merge. Within a staged block the rows are split too (row
 * parallel): colstats_kernel gives each (column tile, row slice) one thread
 * block, 32 columns x 8 row lanes, Welford per lane, the lanes merged in
 * order with Chan's update; merge_kernel then merges the slices of each
 * column in order. Deterministic: no atomics. CPU twin: src/host/colstats.c. */
extern "C" {
#include "vfr/colstats.h"
}

#include <cuda_runtime.h>

#include "cuda_check.h"
#include <math.h>
#include <stdlib.h>

const int TILE = 32, LANES = 8;   /* a block: 32 columns x 8 row lanes      */
const long long SLICE_ROWS = 512; /* rows per thread block                  */

/* Chan et al.: (c, mean, m2) += (cb, mb, m2b). */
static __device__ void chan_merge(long long &c, double &mean, double &m2, long long cb, double mb,
                                  double m2b)
{
    if (cb == 0)
        return;
    const long long n = c + cb;
    const double d = mb - mean;
    m2 += m2b + d * d * (double)c * (double)cb / (double)n;
    mean += d * (double)cb / (double)n;
    c = n;
}

/* grid (column tiles, row slices): the partial of slice blockIdx.y of each
 * column of the tile, at [slice * F + f]. A warp reads 32 adjacent columns
 * of one row: coalesced. */
static __global__ void colstats_kernel(const float *d_x, long long n, int F, long long *d_pc,
                                       double *d_pmean, double *d_pm2)
{
    __shared__ long long sc[LANES][TILE];
    __shared__ double smean[LANES][TILE], sm2[LANES][TILE];
    const int col = threadIdx.x % TILE, lane = threadIdx.x / TILE;
    const int f = blockIdx.x * TILE + col;
    const long long r0 = (long long)blockIdx.y * SLICE_ROWS;
    const long long r1 = r0 + SLICE_ROWS < n ? r0 + SLICE_ROWS : n;
    long long c = 0;
    double mean = 0.0, m2 = 0.0;
    if (f < F)
        for (long long i = r0 + lane; i < r1; i += LANES) {
            float v = d_x[i * F + f];
            if (isfinite(v)) {
                c++;
                double d = v - mean;
                mean += d / (double)c;
                m2 += d * (v - mean);
            }
        }
    sc[lane][col] = c, smean[lane][col] = mean, sm2[lane][col] = m2;
    __syncthreads();
    if (lane == 0 && f < F) {
        for (int l = 1; l < LANES; l++)
            chan_merge(c, mean, m2, sc[l][col], smean[l][col], sm2[l][col]);
        const size_t o = (size_t)blockIdx.y * (size_t)F + (size_t)f;
        d_pc[o] = c, d_pmean[o] = mean, d_pm2[o] = m2;
    }
}

/* One thread per column: the slices merged in order. */
static __global__ void merge_kernel(const long long *d_pc, const double *d_pmean, const double *d_pm2,
                                    int slices, int F, long long *d_cnt, double *d_mean, double *d_m2)
{
    int f = blockIdx.x * blockDim.x + threadIdx.x;
    if (f >= F)
        return;
    long long c = 0;
    double mean = 0.0, m2 = 0.0;
    for (int s = 0; s < slices; s++) {
        const size_t o = (size_t)s * (size_t)F + (size_t)f;
        chan_merge(c, mean, m2, d_pc[o], d_pmean[o], d_pm2[o]);
    }
    d_cnt[f] = c;
    d_mean[f] = mean;
    d_m2[f] = m2;
}

#define CUDA_TRY(call) VFR_CUDA_TRY("colstats", call)

extern "C" vfr_status vfr_colstats_cuda(const float *x, int64_t N, int32_t F, vfr_colstats *out)
{
    vfr_status st = VFR_OK;
    vfr_device_kind used;
    float *d_x = NULL;
    long long *d_cnt = NULL;
    double *d_mean = NULL, *d_m2 = NULL;
    long long *d_pc = NULL;
    double *d_pmean = NULL, *d_pm2 = NULL;
    size_t nf = F > 0 ? (size_t)F : 1;
    long long *h_cnt = (long long *)malloc(sizeof(long long) * nf);
    double *h_m2 = (double *)malloc(sizeof(double) * nf);
    int64_t *p_cnt = (int64_t *)malloc(sizeof(int64_t) * nf);
    double *p_mean = (double *)malloc(sizeof(double) * nf);
    double *p_std = (double *)malloc(sizeof(double) * nf);
    vfr_colstats part = {p_cnt, p_mean, p_std};
    const int64_t block_rows = 1 << 16;
    if (!h_cnt || !h_m2 || !p_cnt || !p_mean || !p_std) {
        st = vfr_fail(VFR_ERR_NOMEM, "colstats: out of host memory");
        goto fail;
    }
    if ((st = vfr_device_resolve(VFR_DEVICE_CUDA, &used)) != VFR_OK)
        goto fail;
    for (int32_t f = 0; f < F; f++) {
        out->count[f] = 0;
        out->mean[f] = NAN;
        out->std[f] = NAN;
    }
    if (N > 0 && F > 0) {
        int64_t rows = N < block_rows ? N : block_rows;
        CUDA_TRY(cudaMalloc(&d_x, sizeof(float) * rows * F));
        CUDA_TRY(cudaMalloc(&d_cnt, sizeof(long long) * F));
        CUDA_TRY(cudaMalloc(&d_mean, sizeof(double) * F));
        CUDA_TRY(cudaMalloc(&d_m2, sizeof(double) * F));
        const long long max_slices = (rows + SLICE_ROWS - 1) / SLICE_ROWS;
        CUDA_TRY(cudaMalloc(&d_pc, sizeof(long long) * max_slices * F));
        CUDA_TRY(cudaMalloc(&d_pmean, sizeof(double) * max_slices * F));
        CUDA_TRY(cudaMalloc(&d_pm2, sizeof(double) * max_slices * F));
        for (int64_t r0 = 0; r0 < N; r0 += block_rows) {
            int64_t n = N - r0 < block_rows ? N - r0 : block_rows;
            CUDA_TRY(cudaMemcpy(d_x, x + r0 * F, sizeof(float) * n * F, cudaMemcpyHostToDevice));
            const int slices = (int)((n + SLICE_ROWS - 1) / SLICE_ROWS);
            colstats_kernel<<<dim3((F + TILE - 1) / TILE, slices), TILE * LANES>>>(d_x, n, F, d_pc,
                                                                                    d_pmean, d_pm2);
            CUDA_TRY(cudaGetLastError());
            merge_kernel<<<(F + 127) / 128, 128>>>(d_pc, d_pmean, d_pm2, slices, F, d_cnt, d_mean, d_m2);
            CUDA_TRY(cudaGetLastError());
            CUDA_TRY(cudaMemcpy(h_cnt, d_cnt, sizeof(long long) * F, cudaMemcpyDeviceToHost));
            CUDA_TRY(cudaMemcpy(p_mean, d_mean, sizeof(double) * F, cudaMemcpyDeviceToHost));
            CUDA_TRY(cudaMemcpy(h_m2, d_m2, sizeof(double) * F, cudaMemcpyDeviceToHost));
            for (int32_t f = 0; f < F; f++) {
                p_cnt[f] = h_cnt[f];
                p_std[f] = h_cnt[f] ? sqrt(h_m2[f] / (double)h_cnt[f]) : NAN;
            }
            vfr_colstats_merge(out, &part, F);
        }
    }
fail:
    cudaFree(d_x);
    cudaFree(d_cnt);
    cudaFree(d_mean);
    cudaFree(d_m2);
    cudaFree(d_pc);
    cudaFree(d_pmean);
    cudaFree(d_pm2);
    free(h_cnt);
    free(h_m2);
    free(p_cnt);
    free(p_mean);
    free(p_std);
    return st;
}
