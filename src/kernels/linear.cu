/* linear.cu: the linear model's Newton step on the GPU: standardise a row
 * block of the staged features on the device, then cuBLAS dgemv (scores,
 * gradient) and dsyrk (Hessian) on the worker's handle and stream,
 * accumulating over blocks. CPU twin: src/host/linear.c; parity:
 * tests/test_linear_parity.c. */
/* the CUDA headers outside extern "C" (gpu_internal.h includes them too) */
#include <cublas_v2.h>
#include <cuda_runtime.h>
extern "C" {
#include "../host/gpu_internal.h"
#include "vfr/linear.h"
}

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "cuda_check.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_ROWS 65536

/* Z [b, P] row-major: standardised features then a 1 for the intercept. */
static __global__ void standardise_kernel(const float *d_X, long long b, int F, const double *d_mean,
                                          const double *d_scale, double *d_Z)
{
    long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    int P = F + 1;
    if (idx >= b * P)
        return;
    long long i = idx / P;
    int k = (int)(idx % P);
    if (k == F) {
        d_Z[idx] = 1.0;
        return;
    }
    float x = d_X[i * F + k];
    d_Z[idx] = isfinite(x) ? ((double)x - d_mean[k]) / d_scale[k] : 0.0;
}

/* Per row: r = dloss/dz (in place of z), sw = sqrt(d2loss/dz2); loss summed. */
static __global__ void loss_kernel(double *d_r, const float *d_y, long long b, int logistic,
                                   double *d_sw, double *d_loss)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    double l = 0.0;
    if (i < b) {
        double z = d_r[i], y = d_y[i];
        if (logistic) {
            l = (z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))) - y * z;
            double pr = 1.0 / (1.0 + exp(-z));
            d_r[i] = pr - y;
            d_sw[i] = sqrt(pr * (1.0 - pr));
        } else {
            l = 0.5 * (z - y) * (z - y);
            d_r[i] = z - y;
            d_sw[i] = 1.0;
        }
    }
    /* warp reduce, then one atomic per warp */
    for (int off = 16; off > 0; off >>= 1)
        l += __shfl_down_sync(0xffffffffu, l, off);
    if ((threadIdx.x & 31) == 0)
        atomicAdd(d_loss, l);
}

static __global__ void scale_rows_kernel(double *d_Z, const double *d_sw, long long b, int P)
{
    long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx < b * P)
        d_Z[idx] *= d_sw[idx / P];
}

extern "C" vfr_status vfr_linear_gradhess_staged(const vfr_gpu_panel *gp, vfr_gpu_work *wk,
                                                  const vfr_linear_problem *p, const double *w,
                                                  double *loss, double *grad, double *hess)
{
    vfr_status st = VFR_OK;
    if (!gp || !wk || !gp->d_X || gp->F != p->F || gp->host.N != p->n)
        return vfr_fail(VFR_ERR_INVALID_ARG, "linear: the staged rows are not the problem's (%lld x %d)",
                        (long long)p->n, p->F);
    const int F = p->F, P = F + 1;
    const long long rows = p->n < BLOCK_ROWS ? (p->n > 0 ? p->n : 1) : BLOCK_ROWS;
    const double one = 1.0, zero = 0.0;
    cudaStream_t s = wk->stream;
    cublasHandle_t h = wk->blas;
    /* scratch, carved: Z [rows, P], r, sw [rows], w, g [P], H [P, P], mean, scale [F], loss */
    const size_t b_Z = vfri_gpu_align(sizeof(double) * rows * P), b_r = vfri_gpu_align(sizeof(double) * rows);
    const size_t b_P = vfri_gpu_align(sizeof(double) * P), b_H = vfri_gpu_align(sizeof(double) * P * P);
    char *at;
    double *pin;
    if ((st = vfri_gpu_scratch(wk, VFR_GPU_SLOT_LINEAR, b_Z + 2 * b_r + 4 * b_P + b_H + 256, (void **)&at)) != VFR_OK ||
        (st = vfri_gpu_pinned(wk, sizeof(double) * ((size_t)P * P + 3 * P + 1), (void **)&pin)) != VFR_OK)
        return st;
    double *d_Z = (double *)at, *d_r = (double *)(at + b_Z), *d_sw = (double *)(at + b_Z + b_r);
    double *d_w = (double *)(at + b_Z + 2 * b_r), *d_g = (double *)((char *)d_w + b_P);
    double *d_mean = (double *)((char *)d_g + b_P), *d_scale = (double *)((char *)d_mean + b_P);
    double *d_H = (double *)((char *)d_scale + b_P), *d_loss = (double *)((char *)d_H + b_H);
#define CU(call) VFR_CUDA_TRY("linear", call)
#define CB(call) VFR_CUBLAS_TRY("linear", call)
    /* the step's inputs through the pinned buffer: w, mean, scale */
    CU(cudaStreamSynchronize(s));
    memcpy(pin, w, sizeof(double) * P);
    memcpy(pin + P, p->mean, sizeof(double) * F);
    memcpy(pin + 2 * P, p->scale, sizeof(double) * F);
    CU(cudaMemcpyAsync(d_w, pin, sizeof(double) * P, cudaMemcpyHostToDevice, s));
    CU(cudaMemcpyAsync(d_mean, pin + P, sizeof(double) * F, cudaMemcpyHostToDevice, s));
    CU(cudaMemcpyAsync(d_scale, pin + 2 * P, sizeof(double) * F, cudaMemcpyHostToDevice, s));
    CU(cudaMemsetAsync(d_g, 0, sizeof(double) * P, s));
    CU(cudaMemsetAsync(d_H, 0, sizeof(double) * P * P, s));
    CU(cudaMemsetAsync(d_loss, 0, sizeof(double), s));
    for (long long r0 = 0; r0 < p->n; r0 += BLOCK_ROWS) {
        long long b = p->n - r0 < BLOCK_ROWS ? p->n - r0 : BLOCK_ROWS;
        long long nz = b * P;
        const float *d_X = gp->d_X + r0 * F, *d_y = gp->d_label + r0;
        standardise_kernel<<<(unsigned)((nz + 255) / 256), 256, 0, s>>>(d_X, b, F, d_mean, d_scale, d_Z);
        CU(cudaGetLastError());
        /* cuBLAS is column-major: row-major Z [b, P] is Z^T [P, b] with ld P */
        CB(cublasDgemv(h, CUBLAS_OP_T, P, (int)b, &one, d_Z, P, d_w, 1, &zero, d_r, 1));
        loss_kernel<<<(unsigned)((b + 255) / 256), 256, 0, s>>>(d_r, d_y, b, p->logistic, d_sw, d_loss);
        CU(cudaGetLastError());
        CB(cublasDgemv(h, CUBLAS_OP_N, P, (int)b, &one, d_Z, P, d_r, 1, &one, d_g, 1));
        if (p->logistic) {
            scale_rows_kernel<<<(unsigned)((nz + 255) / 256), 256, 0, s>>>(d_Z, d_sw, b, P);
            CU(cudaGetLastError());
        }
        CB(cublasDsyrk(h, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, P, (int)b, &one, d_Z, P, &one, d_H, P));
    }
    CU(cudaMemcpyAsync(pin, d_g, sizeof(double) * P, cudaMemcpyDeviceToHost, s));
    CU(cudaMemcpyAsync(pin + P, d_H, sizeof(double) * P * P, cudaMemcpyDeviceToHost, s));
    CU(cudaMemcpyAsync(pin + P + (size_t)P * P, d_loss, sizeof(double), cudaMemcpyDeviceToHost, s));
    CU(cudaStreamSynchronize(s));
    memcpy(grad, pin, sizeof(double) * P);
    memcpy(hess, pin + P, sizeof(double) * P * P);
    *loss = pin[P + (size_t)P * P];
    /* column-major upper = row-major lower: mirror it up */
    for (int i = 0; i < P; i++)
        for (int j = i + 1; j < P; j++)
            hess[i * P + j] = hess[j * P + i];
    for (int f = 0; f < F; f++) {
        *loss += 0.5 * p->l2 * w[f] * w[f];
        grad[f] += p->l2 * w[f];
        hess[f * P + f] += p->l2;
    }
fail:
    return st;
#undef CU
#undef CB
}

extern "C" vfr_status vfr_linear_gradhess_cuda(const vfr_linear_problem *p, const double *w,
                                               double *loss, double *grad, double *hess)
{
    vfr_status st = VFR_OK;
    vfr_device_kind used;
    if ((st = vfr_device_resolve(VFR_DEVICE_CUDA, &used)) != VFR_OK)
        return st;
    vfr_gpu_work *wk;
    vfr_gpu_panel *g;
    const vfr_panel rows = {p->n, 0, 0, NULL, NULL, p->y, NULL, NULL};
    if ((st = vfri_gpu_stage(&rows, p->X, p->F, &wk, &g)) != VFR_OK)
        return st;
    st = vfr_linear_gradhess_staged(g, wk, p, w, loss, grad, hess);
    vfri_gpu_unstage(wk, g);
    return st;
}
