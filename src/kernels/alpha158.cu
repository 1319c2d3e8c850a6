/* alpha158.cu: Qlib's Alpha158 features on the GPU, one thread per bar over
 * the [symbols x dates] panel (each symbol's bars contiguous). A thread finds
 * its symbol by binary search of the offsets and runs vfri_a158_derive, then
 * (second launch) vfri_a158_row (src/host/alpha158_row.h): the functions the
 * CPU twin (alpha158.c) runs, so the two differ only by the compilers'
 * floating-point contraction.
 * The launcher stages the bars once, through the work's pinned buffer and
 * scratch on its stream, and copies the [N, 158] matrix back once (or leaves
 * it on the device when the caller's output is device memory). */
#include <cublas_v2.h>
#include <cuda_runtime.h>
extern "C" {
#include "../host/gpu_internal.h"
#include "vfr/features.h"
}

#include <stdint.h>
#include <string.h>

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
    vfri_a158_derive(d_in + 3 * N + b, d_in + 4 * N + b, r - b, d_in + 6 * N + r,
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
    vfri_a158_row(&x, r - b, NULL, d_out + r * ld);
}

#define CUDA_TRY(call) VFR_CUDA_TRY("alpha158 (cuda)", call)

extern "C" vfr_status vfr_features_alpha158_staged(vfr_gpu_work *w, const vfr_ohlcv_series *x,
                                                   float *out, int64_t ld)
{
    vfr_status st = vfri_features_alpha158_check(x, ld);
    if (st != VFR_OK)
        return st;
    if (!w)
        return vfr_fail(VFR_ERR_INVALID_ARG, "alpha158 (cuda): no work");
    const long long N = x->offset[x->S];
    if (N == 0)
        return VFR_OK;
    const int nin = x->vwap ? 6 : 5, on_dev = vfri_gpu_is_device(out);
    const size_t bytes = sizeof(double) * (size_t)N;
    const size_t b_in = vfri_gpu_align(bytes * 10), b_off = vfri_gpu_align(sizeof(int64_t) * ((size_t)x->S + 1));
    const size_t b_out = sizeof(float) * (size_t)N * (size_t)ld;
    const double *src[6] = {x->open, x->high, x->low, x->close, x->volume, x->vwap};
    cudaStream_t s = w->stream;
    char *at;
    void *pin;
    if ((st = vfri_gpu_scratch(w, VFR_GPU_SLOT_ARENA, b_in + b_off + (on_dev ? 0 : b_out), (void **)&at)) != VFR_OK ||
        (st = vfri_gpu_pinned(w, b_in + b_off, &pin)) != VFR_OK)
        return st;
    {
        double *d_in = (double *)at;
        int64_t *d_off = (int64_t *)(at + b_in);
        float *d_out = on_dev ? out : (float *)(at + b_in + b_off);
        CUDA_TRY(cudaStreamSynchronize(s)); /* the pinned buffer may still be read */
        for (int k = 0; k < nin; k++)
            memcpy((double *)pin + (size_t)k * N, src[k], bytes);
        memcpy((char *)pin + b_in, x->offset, sizeof(int64_t) * ((size_t)x->S + 1));
        CUDA_TRY(cudaMemcpyAsync(d_in, pin, bytes * (size_t)nin, cudaMemcpyHostToDevice, s));
        CUDA_TRY(cudaMemcpyAsync(d_off, (char *)pin + b_in, sizeof(int64_t) * ((size_t)x->S + 1),
                                 cudaMemcpyHostToDevice, s));
        if (ld > A158_F && !on_dev) /* columns past the features keep whatever the caller had */
            CUDA_TRY(cudaMemcpyAsync(d_out, out, b_out, cudaMemcpyHostToDevice, s));
        const int block = 128;
        const unsigned grid = (unsigned)((N + block - 1) / block);
        derive_kernel<<<grid, block, 0, s>>>(d_in, d_off, x->S, N);
        CUDA_TRY(cudaGetLastError());
        alpha158_kernel<<<grid, block, 0, s>>>(d_in, x->vwap != NULL, d_off, x->S, N, d_out, ld);
        CUDA_TRY(cudaGetLastError());
        if (!on_dev)
            CUDA_TRY(cudaMemcpyAsync(out, d_out, b_out, cudaMemcpyDeviceToHost, s));
        CUDA_TRY(cudaStreamSynchronize(s));
    }
fail:
    return st;
}

extern "C" vfr_status vfr_features_alpha158_cuda(const vfr_ohlcv_series *x, float *out,
                                                 int64_t ld)
{
    vfr_status st = vfri_features_alpha158_check(x, ld);
    if (st != VFR_OK)
        return st;
    vfr_device_kind used;
    if ((st = vfr_device_resolve(VFR_DEVICE_CUDA, &used)) != VFR_OK)
        return st;
    vfr_gpu_work *w = NULL;
    if ((st = vfr_gpu_work_create(&w)) != VFR_OK)
        return st;
    st = vfr_features_alpha158_staged(w, x, out, ld);
    vfr_gpu_work_destroy(w);
    return st;
}
