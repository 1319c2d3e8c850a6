/* alpha158.cu: Qlib's Alpha158 features on the GPU, one thread per bar over
 * the [symbols x dates] panel (each symbol's bars contiguous). A thread finds
 * its symbol by binary search of the offsets and runs vfr_a158_row
 * (src/host/alpha158_row.h), the same function the CPU twin (alpha158.c)
 * runs, so the two differ only by the compilers' floating-point contraction.
 * The launcher stages the bars once and copies the [N, 158] matrix back once. */
extern "C" {
#include "vfr/features.h"
}

#include <cuda_runtime.h>
#include <stdint.h>

#include "../host/alpha158_row.h"
#include "cuda_check.h"

static __global__ void alpha158_kernel(const double *d_o, const double *d_h, const double *d_l,
                                       const double *d_c, const double *d_v, const double *d_w,
                                       const int64_t *d_off, int S, long long N, float *d_out,
                                       long long ld)
{
    long long r = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= N)
        return;
    /* The last symbol whose first bar is at or before r: with empty symbols
     * sharing an offset, the last of them is the one that owns r. */
    int lo = 0, hi = S;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (d_off[mid] <= r)
            lo = mid;
        else
            hi = mid;
    }
    long long b = d_off[lo];
    vfr_a158_row(d_o + b, d_h + b, d_l + b, d_c + b, d_v + b, d_w ? d_w + b : NULL, r - b,
                 d_out + r * ld);
}

#define CUDA_TRY(call) VFR_CUDA_TRY("alpha158 (cuda)", call)

extern "C" vfr_status vfr_features_alpha158_cuda(const vfr_ohlcv_series *x, float *out,
                                                 int64_t ld)
{
    vfr_status st = vfr_features_alpha158_check(x, ld);
    if (st != VFR_OK)
        return st;
    vfr_device_kind used;
    if ((st = vfr_device_resolve(VFR_DEVICE_CUDA, &used)) != VFR_OK)
        return st;
    const long long N = x->offset[x->S];
    if (N == 0)
        return VFR_OK;
    double *d_in = NULL;
    int64_t *d_off = NULL;
    float *d_out = NULL;
    const int nin = x->vwap ? 6 : 5;
    const size_t bytes = sizeof(double) * (size_t)N;
    const double *src[6] = {x->open, x->high, x->low, x->close, x->volume, x->vwap};
    CUDA_TRY(cudaMalloc((void **)&d_in, bytes * nin));
    CUDA_TRY(cudaMalloc((void **)&d_off, sizeof(int64_t) * ((size_t)x->S + 1)));
    CUDA_TRY(cudaMalloc((void **)&d_out, sizeof(float) * (size_t)N * (size_t)ld));
    for (int k = 0; k < nin; k++)
        CUDA_TRY(cudaMemcpy(d_in + (size_t)k * N, src[k], bytes, cudaMemcpyHostToDevice));
    CUDA_TRY(cudaMemcpy(d_off, x->offset, sizeof(int64_t) * ((size_t)x->S + 1),
                        cudaMemcpyHostToDevice));
    if (ld > A158_F) /* columns past the features keep whatever the caller had */
        CUDA_TRY(cudaMemcpy(d_out, out, sizeof(float) * (size_t)N * (size_t)ld,
                            cudaMemcpyHostToDevice));
    {
        const int block = 128;
        const unsigned grid = (unsigned)((N + block - 1) / block);
        alpha158_kernel<<<grid, block>>>(d_in, d_in + N, d_in + 2 * N, d_in + 3 * N,
                                         d_in + 4 * N, x->vwap ? d_in + 5 * N : NULL, d_off,
                                         x->S, N, d_out, ld);
        CUDA_TRY(cudaGetLastError());
    }
    CUDA_TRY(cudaMemcpy(out, d_out, sizeof(float) * (size_t)N * (size_t)ld,
                        cudaMemcpyDeviceToHost));
fail:
    cudaFree(d_in);
    cudaFree(d_off);
    cudaFree(d_out);
    return st;
}
