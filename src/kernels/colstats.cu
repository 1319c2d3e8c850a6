/* colstats.cu: per-column count/mean/std of a float32 [N, F] matrix on the GPU.
 * The matrix is staged in row blocks; each block is reduced to per-column
 * partial (count, mean, M2) in double, merged on the host with
 * vfr_colstats_merge. One launch per block, no per-column round trip. CPU twin:
 * src/host/colstats.c. */
extern "C" {
#include "vfr/colstats.h"
}

#include <cuda_runtime.h>

#include "cuda_check.h"
#include <math.h>
#include <stdlib.h>

/* One thread per column: walks the block's rows (coalesced across columns of a
 * row), accumulating with Welford so that one pass suffices. */
static __global__ void colstats_kernel(const float *d_x, long long n, int F,
                                       long long *d_cnt, double *d_mean, double *d_m2)
{
    int f = blockIdx.x * blockDim.x + threadIdx.x;
    if (f >= F)
        return;
    long long c = 0;
    double mean = 0.0, m2 = 0.0;
    for (long long i = 0; i < n; i++) {
        float v = d_x[i * F + f];
        if (isfinite(v)) {
            c++;
            double d = v - mean;
            mean += d / (double)c;
            m2 += d * (v - mean);
        }
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
        for (int64_t r0 = 0; r0 < N; r0 += block_rows) {
            int64_t n = N - r0 < block_rows ? N - r0 : block_rows;
            CUDA_TRY(cudaMemcpy(d_x, x + r0 * F, sizeof(float) * n * F, cudaMemcpyHostToDevice));
            colstats_kernel<<<(F + 127) / 128, 128>>>(d_x, n, F, d_cnt, d_mean, d_m2);
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
    free(h_cnt);
    free(h_m2);
    free(p_cnt);
    free(p_mean);
    free(p_std);
    return st;
}
