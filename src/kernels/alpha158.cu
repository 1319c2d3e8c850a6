/* alpha158.cu: Qlib's Alpha158 features on the GPU, one thread per bar over
 * the [symbols x dates] panel (each symbol's bars contiguous). A thread finds
 * its symbol by binary search of the offsets and runs vfr_a158_derive, then
 * (second launch) vfr_a158_row (src/host/alpha158_row.h): the functions the
 * CPU twin (alpha158.c) runs, so the two differ only by the compilers'
 * floating-point contraction.
 * The launcher stages the bars once and copies the [N, 158] matrix back once. */
extern "C" {
#include "vfr/features.h"
}

#include <cuda_runtime.h>
#include <stdint.h>

#include "../host/alpha158_row.h"
#include "cuda_check.h"

/* The symbol that owns bar r: the last s whose first bar is at or before r
 * (with empty symbols sharing an offset, the last of them). */
static __device__ int owner(const int64_t *d_off, int S, long long r)
{
    int lo = 0, hi = S;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (d_off[mid] <= r)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* d_in: [10, N] open, high, low, close, volume, vwap, then the derived lv,
 * rr, lvr, arv (written by derive_kernel). */
static __global__ void derive_kernel(double *d_in, const int64_t *d_off, int S, long long N)
{
    long long r = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= N)
        return;
    long long b = d_off[owner(d_off, S, r)];
    vfr_a158_derive(d_in + 3 * N + b, d_in + 4 * N + b, r - b, d_in + 6 * N + r,
                    d_in + 7 * N + r, d_in + 8 * N + r, d_in + 9 * N + r);
}

static __global__ void alpha158_kernel(const double *d_in, int has_vwap, const int64_t *d_off,
                                       int S, long long N, float *d_out, long long ld)
{
    long long r = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= N)
        return;
    long long b = d_off[owner(d_off, S, r)];
    a158_series x = {d_in + b,         d_in + N + b,     d_in + 2 * N + b, d_in + 3 * N + b,
                     d_in + 4 * N + b, has_vwap ? d_in + 5 * N + b : NULL,
                     d_in + 6 * N + b, d_in + 7 * N + b, d_in + 8 * N + b, d_in + 9 * N + b};
    vfr_a158_row(&x, r - b, NULL, d_out + r * ld);
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
    CUDA_TRY(cudaMalloc((void **)&d_in, bytes * 10));
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
        derive_kernel<<<grid, block>>>(d_in, d_off, x->S, N);
        CUDA_TRY(cudaGetLastError());
        alpha158_kernel<<<grid, block>>>(d_in, x->vwap != NULL, d_off, x->S, N, d_out, ld);
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
