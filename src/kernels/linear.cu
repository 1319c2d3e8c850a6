/* linear.cu: the linear model's Newton step on the GPU: standardise a row
 * block on the device, then cuBLAS dgemv (scores, gradient) and dsyrk
 * (Hessian), accumulating over blocks. CPU twin: src/host/linear.c; parity:
 * tests/test_linear_parity.c. */
extern "C" {
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

extern "C" vfr_status vfr_linear_gradhess_cuda(const vfr_linear_problem *p, const double *w,
                                               double *loss, double *grad, double *hess)
{
    vfr_status st = VFR_OK;
    vfr_device_kind used;
    if ((st = vfr_device_resolve(VFR_DEVICE_CUDA, &used)) != VFR_OK)
        return st;
    const int F = p->F, P = F + 1;
    const long long rows = p->n < BLOCK_ROWS ? (p->n > 0 ? p->n : 1) : BLOCK_ROWS;
    cublasHandle_t h = NULL;
    float *d_X = NULL, *d_y = NULL;
    double *d_Z = NULL, *d_r = NULL, *d_sw = NULL, *d_w = NULL, *d_g = NULL, *d_H = NULL;
    double *d_mean = NULL, *d_scale = NULL, *d_loss = NULL;
    const double one = 1.0, zero = 0.0;
#define CU(call) VFR_CUDA_TRY("linear", call)
#define CB(call) VFR_CUBLAS_TRY("linear", call)
    CB(cublasCreate(&h));
    CU(cudaMalloc(&d_X, sizeof(float) * rows * F + 4));
    CU(cudaMalloc(&d_y, sizeof(float) * rows));
    CU(cudaMalloc(&d_Z, sizeof(double) * rows * P));
    CU(cudaMalloc(&d_r, sizeof(double) * rows));
    CU(cudaMalloc(&d_sw, sizeof(double) * rows));
    CU(cudaMalloc(&d_w, sizeof(double) * P));
    CU(cudaMalloc(&d_g, sizeof(double) * P));
    CU(cudaMalloc(&d_H, sizeof(double) * P * P));
    CU(cudaMalloc(&d_mean, sizeof(double) * (F + 1)));
    CU(cudaMalloc(&d_scale, sizeof(double) * (F + 1)));
    CU(cudaMalloc(&d_loss, sizeof(double)));
    CU(cudaMemcpy(d_w, w, sizeof(double) * P, cudaMemcpyHostToDevice));
    CU(cudaMemcpy(d_mean, p->mean, sizeof(double) * F, cudaMemcpyHostToDevice));
    CU(cudaMemcpy(d_scale, p->scale, sizeof(double) * F, cudaMemcpyHostToDevice));
    CU(cudaMemset(d_g, 0, sizeof(double) * P));
    CU(cudaMemset(d_H, 0, sizeof(double) * P * P));
    CU(cudaMemset(d_loss, 0, sizeof(double)));
    for (long long r0 = 0; r0 < p->n; r0 += BLOCK_ROWS) {
        long long b = p->n - r0 < BLOCK_ROWS ? p->n - r0 : BLOCK_ROWS;
        CU(cudaMemcpy(d_X, p->X + r0 * F, sizeof(float) * b * F, cudaMemcpyHostToDevice));
        CU(cudaMemcpy(d_y, p->y + r0, sizeof(float) * b, cudaMemcpyHostToDevice));
        long long nz = b * P;
        standardise_kernel<<<(unsigned)((nz + 255) / 256), 256>>>(d_X, b, F, d_mean, d_scale, d_Z);
        CU(cudaGetLastError());
        /* cuBLAS is column-major: row-major Z [b, P] is Z^T [P, b] with ld P */
        CB(cublasDgemv(h, CUBLAS_OP_T, P, (int)b, &one, d_Z, P, d_w, 1, &zero, d_r, 1));
        loss_kernel<<<(unsigned)((b + 255) / 256), 256>>>(d_r, d_y, b, p->logistic, d_sw, d_loss);
        CU(cudaGetLastError());
        CB(cublasDgemv(h, CUBLAS_OP_N, P, (int)b, &one, d_Z, P, d_r, 1, &one, d_g, 1));
        if (p->logistic) {
            scale_rows_kernel<<<(unsigned)((nz + 255) / 256), 256>>>(d_Z, d_sw, b, P);
            CU(cudaGetLastError());
        }
        CB(cublasDsyrk(h, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, P, (int)b, &one, d_Z, P, &one, d_H, P));
    }
    CU(cudaMemcpy(grad, d_g, sizeof(double) * P, cudaMemcpyDeviceToHost));
    CU(cudaMemcpy(hess, d_H, sizeof(double) * P * P, cudaMemcpyDeviceToHost));
    CU(cudaMemcpy(loss, d_loss, sizeof(double), cudaMemcpyDeviceToHost));
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
    if (h)
        cublasDestroy(h);
    cudaFree(d_X), cudaFree(d_y), cudaFree(d_Z), cudaFree(d_r), cudaFree(d_sw), cudaFree(d_w);
    cudaFree(d_g), cudaFree(d_H), cudaFree(d_mean), cudaFree(d_scale), cudaFree(d_loss);
    return st;
#undef CU
#undef CB
}
