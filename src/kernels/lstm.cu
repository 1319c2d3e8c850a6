/* lstm.cu: the LSTM core (include/vfr/lstm.h) on the GPU through cuDNN's RNN v8
 * API, cuBLAS for the dense head, and small vfr kernels for the sequence
 * gather, dropout between layers, the loss, global-norm clipping and Adam.
 * CPU twin: src/host/lstm.c + lstm_core.h; tests/test_lstm_parity.c holds one
 * against the other.
 *
 * One cuDNN RNN descriptor per layer (cuDNN gives all layers of a descriptor
 * one hidden size; vfr stacks 64 -> 32), so dropout between layers is vfr's
 * own, with the CPU twin's hash. All parameters live in one device buffer: each
 * layer's cuDNN weight space (256-byte aligned), then the head; Adam and
 * clipping run over it in one launch each, and the PyTorch-layout vector maps
 * onto it through the addresses cudnnGetRNNWeightParams reports. Everything is
 * queued on the context's own stream; nothing synchronises per batch. */
extern "C" {
#include "vfr/lstm.h"
#include "vfr/device.h"
}

#ifdef VFR_HAVE_CUDNN

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "cuda_check.h"
#include <cudnn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../host/lstm_internal.h"

#define MAXL VFR_LSTM_MAX_LAYERS

/* A run of the PyTorch-layout vector (rows x cols, row-major) and where its
 * elements sit in the device buffer: dev + r * rs + c * cs. */
typedef struct seg {
    size_t canon, dev;
    int rows, cols;
    long long rs, cs;
} seg;

struct vfr_lstm_cuda {
    vfr_lstm_spec s;
    int32_t max_batch, B;       /* B: the batch the descriptors are set for       */
    vfr_lstm_math math;
    cudaStream_t stream;
    cudnnHandle_t dnn;
    cublasHandle_t blas;
    cudnnDropoutDescriptor_t drop;
    cudnnRNNDescriptor_t rnn[MAXL];
    cudnnRNNDataDescriptor_t xd[MAXL], yd[MAXL];
    cudnnTensorDescriptor_t hd[MAXL], cd[MAXL];
    size_t wbytes[MAXL], woff[MAXL]; /* weight space bytes; float offset in d_w   */
    size_t head_off, nw;             /* head.weight's offset; floats in d_w      */
    int64_t P;
    seg *seg;
    int nseg;
    float *d_w, *d_g, *d_m, *d_v, *d_best; /* [nw]                               */
    float *d_canon;                        /* [P] PyTorch layout, for transfers   */
    int64_t adam_t;
    float *d_x;               /* (L, max_batch, F) the batch                       */
    float *d_y[MAXL];         /* (L, max_batch, H_k) each layer's output           */
    float *d_in[MAXL];        /* (L, max_batch, I_k) input after dropout, k >= 1   */
    const float *in_ptr[MAXL];/* the last forward's input of each layer            */
    float *d_ga, *d_gb;       /* (L, max_batch, max I) output/input gradients      */
    float *d_z, *d_dz, *d_yb; /* [max_batch]                                        */
    int32_t *d_seqlen, *h_seqlen; /* [max_batch] all L                               */
    void *d_ws;
    size_t ws_bytes;
    void *d_rs[MAXL];
    size_t rs_bytes[MAXL];
    double *d_loss, *d_norm2; /* loss sum since the last take; squared grad norm    */
    int fwd_train, fwd_B;
    float p_drop;
    uint64_t key;
    /* staged panel */
    float *d_X, *d_mean, *d_inv; /* [n, F], [F], [F]                                */
    int32_t *d_prev;             /* [n]                                              */
    int64_t n_stage, cap_stage;
    int32_t *d_rows[VFR_LSTM_SLOTS];
    float *d_rowy[VFR_LSTM_SLOTS];
    int64_t rows_n[VFR_LSTM_SLOTS], rows_cap[VFR_LSTM_SLOTS];
    int rows_y[VFR_LSTM_SLOTS];
};

#define CUDA_TRY(call) VFR_CUDA_TRY("lstm", call)
#define DNN_TRY(call)                                                                         \
    do {                                                                                      \
        cudnnStatus_t e_ = (call);                                                            \
        if (e_ != CUDNN_STATUS_SUCCESS) {                                                     \
            st = vfr_fail(VFR_ERR_CUDA, "lstm: %s: %s", #call, cudnnGetErrorString(e_));     \
            goto fail;                                                                        \
        }                                                                                     \
    } while (0)
#define BLAS_TRY(call) VFR_CUBLAS_TRY("lstm", call)
#define LAUNCH_TRY() CUDA_TRY(cudaGetLastError())

/* ---- kernels ------------------------------------------------------------------------ */

/* One block per sequence: thread 0 walks the symbol's rows back from the last
 * step, then the block copies L x F standardised values into the time-major
 * batch. Same arithmetic as gather_cpu in model_lstm.c. */
static __global__ void gather_kernel(const float *d_X, int F, const int32_t *d_prev, const int32_t *d_rows,
                                     const float *d_rowy, int L, int B, const float *d_mean,
                                     const float *d_inv, float *d_x, float *d_yb)
{
    extern __shared__ int32_t rows[];
    const int b = blockIdx.x;
    if (threadIdx.x == 0) {
        int32_t r = d_rows[b];
        for (int t = L - 1; t >= 0; t--) {
            rows[t] = r;
            r = r >= 0 ? d_prev[r] : -1;
        }
        if (d_rowy)
            d_yb[b] = d_rowy[b];
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < L * F; idx += blockDim.x) {
        int t = idx / F, f = idx - t * F;
        int32_t r = rows[t];
        float v = r >= 0 ? __fmul_rn(__fsub_rn(d_X[(long long)r * F + f], d_mean[f]), d_inv[f]) : 0.0f;
        d_x[((long long)t * B + b) * F + f] = isfinite(v) ? v : 0.0f;
    }
}

/* out = in * keep(idx) / (1 - p), with the CPU twin's hash; in may be out. */
static __global__ void dropout_kernel(const float *in, float *out, long long n, uint64_t lkey, float p,
                                      float scale)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x)
        out[i] = vfri_lstm_keep(lkey, i, p) ? __fmul_rn(in[i], scale) : 0.0f;
}

static __global__ void add_bias_kernel(float *z, int B, const float *bias)
{
    int b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b < B)
        z[b] = __fadd_rn(z[b], bias[0]);
}

/* One block of 256: the batch's summed loss (added to *loss_sum) and, when dz
 * is given, dloss/dz of the mean loss and the head bias gradient sum(dz). */
static __global__ void loss_kernel(const float *z, const float *y, int B, int logistic, float *dz,
                                   double *loss_sum, float *dbias)
{
    __shared__ double sl[256], sd[256];
    double l = 0, d = 0;
    for (int b = threadIdx.x; b < B; b += blockDim.x) {
        float g;
        if (logistic) {
            double zz = z[b], a = fabs(zz);
            l += (zz > 0 ? zz : 0) - (double)y[b] * zz + log1p(exp(-a));
            float e = (float)exp(-zz);
            g = __fdiv_rn(__fsub_rn(__fdiv_rn(1.0f, __fadd_rn(1.0f, e)), y[b]), (float)B);
        } else {
            float df = __fsub_rn(z[b], y[b]);
            l += (double)df * (double)df;
            g = __fdiv_rn(__fmul_rn(2.0f, df), (float)B);
        }
        if (dz)
            dz[b] = g;
        d += g;
    }
    sl[threadIdx.x] = l;
    sd[threadIdx.x] = d;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) {
            sl[threadIdx.x] += sl[threadIdx.x + s];
            sd[threadIdx.x] += sd[threadIdx.x + s];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        *loss_sum += sl[0];
        if (dbias)
            *dbias = (float)sd[0];
    }
}

/* One block of 1024: *out = sum g^2 in double (a fixed tree: deterministic). */
static __global__ void sumsq_kernel(const float *g, long long n, double *out)
{
    __shared__ double s[1024];
    double acc = 0;
    for (long long i = threadIdx.x; i < n; i += blockDim.x)
        acc += (double)g[i] * (double)g[i];
    s[threadIdx.x] = acc;
    __syncthreads();
    for (int k = blockDim.x / 2; k > 0; k >>= 1) {
        if (threadIdx.x < k)
            s[threadIdx.x] += s[threadIdx.x + k];
        __syncthreads();
    }
    if (threadIdx.x == 0)
        *out = s[0];
}

/* Clip by the global norm (as vfr_lstm_clip) and one Adam step (as
 * vfr_lstm_adam), with the same roundings: no fused multiply-adds. */
static __global__ void adam_kernel(float *w, const float *g, float *m, float *v, long long n,
                                   const double *norm2, double max_norm, float step, float bc2s)
{
    const float b1 = 0.9f, b2 = 0.999f, c1 = (float)(1 - 0.9), c2 = (float)(1 - 0.999), eps = 1e-8f;
    float cf = 1.0f;
    if (max_norm > 0) {
        double coef = max_norm / (sqrt(*norm2) + 1e-6);
        if (coef < 1)
            cf = (float)coef;
    }
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        float gi = cf == 1.0f ? g[i] : __fmul_rn(g[i], cf);
        float mi = __fadd_rn(__fmul_rn(b1, m[i]), __fmul_rn(c1, gi));
        float vi = __fadd_rn(__fmul_rn(b2, v[i]), __fmul_rn(__fmul_rn(c2, gi), gi));
        m[i] = mi;
        v[i] = vi;
        float den = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), bc2s), eps);
        w[i] = __fsub_rn(w[i], __fdiv_rn(__fmul_rn(step, mi), den));
    }
}

/* PyTorch layout <-> device buffer for one segment. */
static __global__ void seg_copy_kernel(float *dev, float *canon, int rows, int cols, long long rs, long long cs,
                                       int to_dev)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < (long long)rows * cols;
         i += (long long)gridDim.x * blockDim.x) {
        long long r = i / cols, c = i - r * cols;
        if (to_dev)
            dev[r * rs + c * cs] = canon[i];
        else
            canon[i] = dev[r * rs + c * cs];
    }
}

static int blocks_for(long long n, int threads)
{
    long long b = (n + threads - 1) / threads;
    return (int)(b < 1 ? 1 : b > 4096 ? 4096 : b);
}

/* ---- context ----------------------------------------------------------------------- */

static int32_t in_width(const vfr_lstm_spec *s, int k) { return k ? s->H[k - 1] : s->F; }

extern "C" void vfr_lstm_cuda_destroy(vfr_lstm_cuda *c)
{
    if (!c)
        return;
    if (c->stream)
        cudaStreamSynchronize(c->stream);
    for (int k = 0; k < MAXL; k++) {
        if (c->rnn[k])
            cudnnDestroyRNNDescriptor(c->rnn[k]);
        if (c->xd[k])
            cudnnDestroyRNNDataDescriptor(c->xd[k]);
        if (c->yd[k])
            cudnnDestroyRNNDataDescriptor(c->yd[k]);
        if (c->hd[k])
            cudnnDestroyTensorDescriptor(c->hd[k]);
        if (c->cd[k])
            cudnnDestroyTensorDescriptor(c->cd[k]);
        cudaFree(c->d_y[k]);
        cudaFree(c->d_in[k]);
        cudaFree(c->d_rs[k]);
    }
    if (c->drop)
        cudnnDestroyDropoutDescriptor(c->drop);
    cudaFree(c->d_w), cudaFree(c->d_g), cudaFree(c->d_m), cudaFree(c->d_v), cudaFree(c->d_best);
    cudaFree(c->d_canon), cudaFree(c->d_x), cudaFree(c->d_ga), cudaFree(c->d_gb);
    cudaFree(c->d_z), cudaFree(c->d_dz), cudaFree(c->d_yb), cudaFree(c->d_seqlen), cudaFree(c->d_ws);
    cudaFree(c->d_loss), cudaFree(c->d_norm2);
    cudaFree(c->d_X), cudaFree(c->d_mean), cudaFree(c->d_inv), cudaFree(c->d_prev);
    for (int s = 0; s < VFR_LSTM_SLOTS; s++) {
        cudaFree(c->d_rows[s]);
        cudaFree(c->d_rowy[s]);
    }
    if (c->blas)
        cublasDestroy(c->blas);
    if (c->dnn)
        cudnnDestroy(c->dnn);
    if (c->stream)
        cudaStreamDestroy(c->stream);
    free(c->h_seqlen);
    free(c->seg);
    free(c);
}

/* Grows a device buffer to at least `bytes` (contents are not kept). */
static vfr_status grow(void **p, size_t *cap, size_t bytes)
{
    vfr_status st = VFR_OK;
    if (bytes <= *cap && *p)
        return VFR_OK;
    cudaFree(*p);
    *p = NULL;
    *cap = 0;
    CUDA_TRY(cudaMalloc(p, bytes ? bytes : 1));
    *cap = bytes;
fail:
    return st;
}

/* Sets the data descriptors for a batch of B and makes the workspace and the
 * reserve spaces large enough for it. */
static vfr_status set_batch(vfr_lstm_cuda *c, int32_t B)
{
    vfr_status st = VFR_OK;
    const vfr_lstm_spec *s = &c->s;
    if (B == c->B)
        return VFR_OK;
    if (B < 1 || B > c->max_batch)
        return vfr_fail(VFR_ERR_INVALID_ARG, "lstm: batch of %d outside 1..%d", B, c->max_batch);
    float pad = 0.0f;
    size_t ws_need = 0;
    c->B = 0;
    for (int k = 0; k < s->layers; k++) {
        int H = s->H[k];
        DNN_TRY(cudnnSetRNNDataDescriptor(c->xd[k], CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, s->L,
                                          B, in_width(s, k), c->h_seqlen, &pad));
        DNN_TRY(cudnnSetRNNDataDescriptor(c->yd[k], CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, s->L,
                                          B, H, c->h_seqlen, &pad));
        int dims[3] = {1, B, H}, strides[3] = {B * H, H, 1};
        DNN_TRY(cudnnSetTensorNdDescriptor(c->hd[k], CUDNN_DATA_FLOAT, 3, dims, strides));
        DNN_TRY(cudnnSetTensorNdDescriptor(c->cd[k], CUDNN_DATA_FLOAT, 3, dims, strides));
        size_t ws_t = 0, rs_t = 0, ws_i = 0, rs_i = 0;
        DNN_TRY(cudnnGetRNNTempSpaceSizes(c->dnn, c->rnn[k], CUDNN_FWD_MODE_TRAINING, c->xd[k], &ws_t, &rs_t));
        DNN_TRY(cudnnGetRNNTempSpaceSizes(c->dnn, c->rnn[k], CUDNN_FWD_MODE_INFERENCE, c->xd[k], &ws_i, &rs_i));
        ws_need = ws_t > ws_need ? ws_t : ws_need;
        ws_need = ws_i > ws_need ? ws_i : ws_need;
        if (rs_t > c->rs_bytes[k] || !c->d_rs[k]) {
            /* cudaFree waits for the device: only on the first (largest) batch */
            VFR_TRY(grow(&c->d_rs[k], &c->rs_bytes[k], rs_t));
        }
    }
    if (ws_need > c->ws_bytes || !c->d_ws)
        VFR_TRY(grow(&c->d_ws, &c->ws_bytes, ws_need));
    c->B = B;
fail:
    return st;
}

/* Where cuDNN keeps each gate block of layer k, as segments of the map. */
static vfr_status map_layer(vfr_lstm_cuda *c, int k, const vfr_lstm_tensor *t)
{
    vfr_status st = VFR_OK;
    const int H = c->s.H[k], I = in_width(&c->s, k);
    cudnnTensorDescriptor_t md = NULL, bd = NULL;
    DNN_TRY(cudnnCreateTensorDescriptor(&md));
    DNN_TRY(cudnnCreateTensorDescriptor(&bd));
    for (int lin = 0; lin < 8; lin++) {
        void *ma = NULL, *ba = NULL;
        DNN_TRY(cudnnGetRNNWeightParams(c->dnn, c->rnn[k], 0, c->wbytes[k], c->d_w + c->woff[k], lin, md, &ma, bd,
                                        &ba));
        cudnnDataType_t dt;
        int nd = 0, dims[3] = {0, 0, 0}, str[3] = {0, 0, 0};
        DNN_TRY(cudnnGetTensorNdDescriptor(md, 3, &dt, &nd, dims, str));
        const int cols = lin < 4 ? I : H, q = lin & 3;
        /* expected {1, H, cols}: the H x cols block of gate q */
        if (nd != 3 || dims[0] != 1 || dims[1] != H || dims[2] != cols || !ma) {
            st = vfr_fail(VFR_ERR_INTERNAL, "lstm: cuDNN layer %d matrix %d is {%d, %d, %d}, expected {1, %d, %d}", k,
                          lin, dims[0], dims[1], dims[2], H, cols);
            goto fail;
        }
        const vfr_lstm_tensor *W = &t[4 * k + (lin < 4 ? 0 : 1)], *Bt = &t[4 * k + (lin < 4 ? 2 : 3)];
        seg *m = &c->seg[c->nseg++];
        m->canon = (size_t)W->offset + (size_t)q * H * cols;
        m->dev = (size_t)((float *)ma - c->d_w);
        m->rows = H;
        m->cols = cols;
        m->rs = str[1];
        m->cs = str[2];
        DNN_TRY(cudnnGetTensorNdDescriptor(bd, 3, &dt, &nd, dims, str));
        if ((long long)dims[0] * dims[1] * (nd > 2 ? dims[2] : 1) != H || !ba) {
            st = vfr_fail(VFR_ERR_INTERNAL, "lstm: cuDNN layer %d bias %d has %d x %d x %d values, expected %d", k, lin,
                          dims[0], dims[1], dims[2], H);
            goto fail;
        }
        seg *b = &c->seg[c->nseg++];
        b->canon = (size_t)Bt->offset + (size_t)q * H;
        b->dev = (size_t)((float *)ba - c->d_w);
        b->rows = 1;
        b->cols = H;
        b->rs = 0;
        b->cs = 1;
    }
fail:
    if (md)
        cudnnDestroyTensorDescriptor(md);
    if (bd)
        cudnnDestroyTensorDescriptor(bd);
    return st;
}

extern "C" vfr_status vfr_lstm_cuda_create(const vfr_lstm_spec *s, int32_t max_batch, vfr_lstm_math math,
                                           vfr_lstm_cuda **out)
{
    *out = NULL;
    vfr_status st = vfr_lstm_spec_check(s);
    vfr_device_kind used;
    if (st != VFR_OK)
        return st;
    if (max_batch < 1)
        return vfr_fail(VFR_ERR_INVALID_ARG, "lstm: batch size %d < 1", max_batch);
    if ((st = vfr_device_resolve(VFR_DEVICE_CUDA, &used)) != VFR_OK)
        return st;
    int32_t widest = s->F;
    for (int k = 0; k < s->layers; k++)
        widest = s->H[k] > widest ? s->H[k] : widest;
    if ((long long)s->L * max_batch * 4 * widest > (1ll << 31)) /* int indexing in cuDNN descriptors */
        return vfr_fail(VFR_ERR_INVALID_ARG, "lstm: a batch of %d x %d steps is too large", max_batch, s->L);
    vfr_lstm_cuda *c = (vfr_lstm_cuda *)calloc(1, sizeof *c);
    if (!c)
        return vfr_fail(VFR_ERR_NOMEM, "lstm: out of memory");
    c->s = *s;
    c->max_batch = max_batch;
    c->math = math;
    c->P = vfr_lstm_param_count(s);
    const int nt = vfr_lstm_tensor_count(s);
    vfr_lstm_tensor t[4 * MAXL + 2];
    vfr_lstm_tensors(s, t);
    const size_t LB = (size_t)s->L * max_batch;
    int32_t imax = s->F;
    size_t off = 0;
    c->h_seqlen = (int32_t *)malloc(sizeof(int32_t) * max_batch);
    c->seg = (seg *)calloc(16 * MAXL + 2, sizeof(seg));
    if (!c->h_seqlen || !c->seg) {
        st = vfr_fail(VFR_ERR_NOMEM, "lstm: out of memory");
        goto fail;
    }
    for (int b = 0; b < max_batch; b++)
        c->h_seqlen[b] = s->L;
    CUDA_TRY(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    DNN_TRY(cudnnCreate(&c->dnn));
    DNN_TRY(cudnnSetStream(c->dnn, c->stream));
    BLAS_TRY(cublasCreate(&c->blas));
    BLAS_TRY(cublasSetStream(c->blas, c->stream));
    BLAS_TRY(cublasSetMathMode(c->blas, math == VFR_LSTM_MATH_TF32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    DNN_TRY(cudnnCreateDropoutDescriptor(&c->drop));
    /* dropout between vfr's layers is vfr's; cuDNN's stays off (one layer each) */
    DNN_TRY(cudnnSetDropoutDescriptor(c->drop, c->dnn, 0.0f, NULL, 0, 0));
    for (int k = 0; k < s->layers; k++) {
        const int H = s->H[k], I = in_width(s, k);
        imax = H > imax ? H : imax;
        DNN_TRY(cudnnCreateRNNDescriptor(&c->rnn[k]));
        DNN_TRY(cudnnSetRNNDescriptor_v8(c->rnn[k], CUDNN_RNN_ALGO_STANDARD, CUDNN_LSTM, CUDNN_RNN_DOUBLE_BIAS,
                                         CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT,
                                         math == VFR_LSTM_MATH_TF32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH, I, H, H, 1,
                                         c->drop, CUDNN_RNN_PADDED_IO_ENABLED));
        DNN_TRY(cudnnCreateRNNDataDescriptor(&c->xd[k]));
        DNN_TRY(cudnnCreateRNNDataDescriptor(&c->yd[k]));
        DNN_TRY(cudnnCreateTensorDescriptor(&c->hd[k]));
        DNN_TRY(cudnnCreateTensorDescriptor(&c->cd[k]));
        DNN_TRY(cudnnGetRNNWeightSpaceSize(c->dnn, c->rnn[k], &c->wbytes[k]));
        c->woff[k] = off;
        off += (c->wbytes[k] / sizeof(float) + 63) / 64 * 64;
        CUDA_TRY(cudaMalloc(&c->d_y[k], sizeof(float) * LB * H));
        if (k > 0)
            CUDA_TRY(cudaMalloc(&c->d_in[k], sizeof(float) * LB * I));
    }
    c->head_off = off;
    c->nw = off + (size_t)s->H[s->layers - 1] + 1;
    CUDA_TRY(cudaMalloc(&c->d_w, sizeof(float) * c->nw));
    CUDA_TRY(cudaMalloc(&c->d_g, sizeof(float) * c->nw));
    CUDA_TRY(cudaMalloc(&c->d_m, sizeof(float) * c->nw));
    CUDA_TRY(cudaMalloc(&c->d_v, sizeof(float) * c->nw));
    CUDA_TRY(cudaMalloc(&c->d_best, sizeof(float) * c->nw));
    CUDA_TRY(cudaMalloc(&c->d_canon, sizeof(float) * c->P));
    /* everything on the context's stream: it does not wait for the legacy default stream */
    CUDA_TRY(cudaMemsetAsync(c->d_w, 0, sizeof(float) * c->nw, c->stream));
    CUDA_TRY(cudaMemsetAsync(c->d_g, 0, sizeof(float) * c->nw, c->stream));
    for (int k = 0; k < s->layers; k++)
        VFR_TRY(map_layer(c, k, t));
    {
        seg *hw = &c->seg[c->nseg++], *hb = &c->seg[c->nseg++];
        *hw = seg{(size_t)t[nt - 2].offset, c->head_off, 1, s->H[s->layers - 1], 0, 1};
        *hb = seg{(size_t)t[nt - 1].offset, c->head_off + (size_t)s->H[s->layers - 1], 1, 1, 0, 1};
    }
    CUDA_TRY(cudaMalloc(&c->d_x, sizeof(float) * LB * s->F));
    CUDA_TRY(cudaMalloc(&c->d_ga, sizeof(float) * LB * imax));
    CUDA_TRY(cudaMalloc(&c->d_gb, sizeof(float) * LB * imax));
    CUDA_TRY(cudaMalloc(&c->d_z, sizeof(float) * max_batch));
    CUDA_TRY(cudaMalloc(&c->d_dz, sizeof(float) * max_batch));
    CUDA_TRY(cudaMalloc(&c->d_yb, sizeof(float) * max_batch));
    CUDA_TRY(cudaMalloc(&c->d_seqlen, sizeof(int32_t) * max_batch));
    CUDA_TRY(cudaMemcpyAsync(c->d_seqlen, c->h_seqlen, sizeof(int32_t) * max_batch, cudaMemcpyHostToDevice,
                             c->stream));
    CUDA_TRY(cudaMalloc(&c->d_loss, sizeof(double)));
    CUDA_TRY(cudaMalloc(&c->d_norm2, sizeof(double)));
    CUDA_TRY(cudaMemsetAsync(c->d_loss, 0, sizeof(double), c->stream));
    CUDA_TRY(cudaMalloc(&c->d_mean, sizeof(float) * s->F));
    CUDA_TRY(cudaMalloc(&c->d_inv, sizeof(float) * s->F));
    VFR_TRY(set_batch(c, max_batch));
    CUDA_TRY(cudaStreamSynchronize(c->stream));
    *out = c;
    return VFR_OK;
fail:
    vfr_lstm_cuda_destroy(c);
    return st;
}

/* ---- parameters ---------------------------------------------------------------------- */

static vfr_status seg_copy(vfr_lstm_cuda *c, float *dev, int to_dev)
{
    vfr_status st = VFR_OK;
    for (int i = 0; i < c->nseg; i++) {
        const seg *m = &c->seg[i];
        long long n = (long long)m->rows * m->cols;
        seg_copy_kernel<<<blocks_for(n, 256), 256, 0, c->stream>>>(dev + m->dev, c->d_canon + m->canon, m->rows,
                                                                   m->cols, m->rs, m->cs, to_dev);
        LAUNCH_TRY();
    }
fail:
    return st;
}

extern "C" vfr_status vfr_lstm_cuda_set_params(vfr_lstm_cuda *c, const float *w)
{
    vfr_status st = VFR_OK;
    CUDA_TRY(cudaMemcpyAsync(c->d_canon, w, sizeof(float) * c->P, cudaMemcpyHostToDevice, c->stream));
    CUDA_TRY(cudaMemsetAsync(c->d_w, 0, sizeof(float) * c->nw, c->stream));
    VFR_TRY(seg_copy(c, c->d_w, 1));
    CUDA_TRY(cudaMemsetAsync(c->d_m, 0, sizeof(float) * c->nw, c->stream));
    CUDA_TRY(cudaMemsetAsync(c->d_v, 0, sizeof(float) * c->nw, c->stream));
    CUDA_TRY(cudaStreamSynchronize(c->stream)); /* w may be freed on return */
    c->adam_t = 0;
fail:
    return st;
}

static vfr_status read_back(vfr_lstm_cuda *c, float *dev, float *host)
{
    vfr_status st = VFR_OK;
    VFR_TRY(seg_copy(c, dev, 0));
    CUDA_TRY(cudaMemcpyAsync(host, c->d_canon, sizeof(float) * c->P, cudaMemcpyDeviceToHost, c->stream));
    CUDA_TRY(cudaStreamSynchronize(c->stream));
fail:
    return st;
}

extern "C" vfr_status vfr_lstm_cuda_get_params(vfr_lstm_cuda *c, float *w) { return read_back(c, c->d_w, w); }
extern "C" vfr_status vfr_lstm_cuda_get_grads(vfr_lstm_cuda *c, float *g) { return read_back(c, c->d_g, g); }

extern "C" vfr_status vfr_lstm_cuda_snapshot(vfr_lstm_cuda *c, int restore)
{
    vfr_status st = VFR_OK;
    CUDA_TRY(cudaMemcpyAsync(restore ? c->d_w : c->d_best, restore ? c->d_best : c->d_w, sizeof(float) * c->nw,
                             cudaMemcpyDeviceToDevice, c->stream));
fail:
    return st;
}

/* ---- batches --------------------------------------------------------------------------- */

extern "C" vfr_status vfr_lstm_cuda_batch_host(vfr_lstm_cuda *c, const float *x, const float *y, int32_t B)
{
    vfr_status st = VFR_OK;
    if (B < 1 || B > c->max_batch)
        return vfr_fail(VFR_ERR_INVALID_ARG, "lstm: batch of %d outside 1..%d", B, c->max_batch);
    CUDA_TRY(cudaMemcpyAsync(c->d_x, x, sizeof(float) * (size_t)c->s.L * B * c->s.F, cudaMemcpyHostToDevice,
                             c->stream));
    if (y)
        CUDA_TRY(cudaMemcpyAsync(c->d_yb, y, sizeof(float) * B, cudaMemcpyHostToDevice, c->stream));
    CUDA_TRY(cudaStreamSynchronize(c->stream));
fail:
    return st;
}

extern "C" vfr_status vfr_lstm_cuda_stage(vfr_lstm_cuda *c, const float *X, int64_t n, const int32_t *prev,
                                          const float *mean, const float *inv_std)
{
    vfr_status st = VFR_OK;
    const int F = c->s.F;
    CUDA_TRY(cudaStreamSynchronize(c->stream)); /* nothing may still read the old panel */
    if (n > c->cap_stage || !c->d_X) {
        cudaFree(c->d_X);
        cudaFree(c->d_prev);
        c->d_X = NULL;
        c->d_prev = NULL;
        c->cap_stage = 0;
        CUDA_TRY(cudaMalloc(&c->d_X, sizeof(float) * (size_t)(n ? n : 1) * F));
        CUDA_TRY(cudaMalloc(&c->d_prev, sizeof(int32_t) * (size_t)(n ? n : 1)));
        c->cap_stage = n;
    }
    if (n) {
        CUDA_TRY(cudaMemcpyAsync(c->d_X, X, sizeof(float) * (size_t)n * F, cudaMemcpyHostToDevice, c->stream));
        CUDA_TRY(cudaMemcpyAsync(c->d_prev, prev, sizeof(int32_t) * (size_t)n, cudaMemcpyHostToDevice, c->stream));
    }
    CUDA_TRY(cudaMemcpyAsync(c->d_mean, mean, sizeof(float) * F, cudaMemcpyHostToDevice, c->stream));
    CUDA_TRY(cudaMemcpyAsync(c->d_inv, inv_std, sizeof(float) * F, cudaMemcpyHostToDevice, c->stream));
    CUDA_TRY(cudaStreamSynchronize(c->stream));
    c->n_stage = n;
fail:
    return st;
}

extern "C" vfr_status vfr_lstm_cuda_rows(vfr_lstm_cuda *c, int slot, const int32_t *rows, const float *y, int64_t n)
{
    vfr_status st = VFR_OK;
    if (slot < 0 || slot >= VFR_LSTM_SLOTS)
        return vfr_fail(VFR_ERR_INVALID_ARG, "lstm: no row slot %d", slot);
    for (int64_t i = 0; i < n; i++)
        if (rows[i] < 0 || rows[i] >= c->n_stage)
            return vfr_fail(VFR_ERR_INVALID_ARG, "lstm: sequence row %d is outside the %lld staged rows", rows[i],
                            (long long)c->n_stage);
    CUDA_TRY(cudaStreamSynchronize(c->stream)); /* the previous list may still be read */
    if (n > c->rows_cap[slot] || !c->d_rows[slot]) {
        cudaFree(c->d_rows[slot]);
        cudaFree(c->d_rowy[slot]);
        c->d_rows[slot] = NULL;
        c->d_rowy[slot] = NULL;
        c->rows_cap[slot] = 0;
        CUDA_TRY(cudaMalloc(&c->d_rows[slot], sizeof(int32_t) * (size_t)(n ? n : 1)));
        CUDA_TRY(cudaMalloc(&c->d_rowy[slot], sizeof(float) * (size_t)(n ? n : 1)));
        c->rows_cap[slot] = n;
    }
    if (n) {
        CUDA_TRY(cudaMemcpyAsync(c->d_rows[slot], rows, sizeof(int32_t) * n, cudaMemcpyHostToDevice, c->stream));
        if (y)
            CUDA_TRY(cudaMemcpyAsync(c->d_rowy[slot], y, sizeof(float) * n, cudaMemcpyHostToDevice, c->stream));
    }
    CUDA_TRY(cudaStreamSynchronize(c->stream)); /* rows and y may be freed on return */
    c->rows_n[slot] = n;
    c->rows_y[slot] = y != NULL;
fail:
    return st;
}

extern "C" vfr_status vfr_lstm_cuda_gather(vfr_lstm_cuda *c, int slot, int64_t offset, int32_t B)
{
    vfr_status st = VFR_OK;
    if (slot < 0 || slot >= VFR_LSTM_SLOTS || offset < 0 || B < 1 || B > c->max_batch ||
        offset + B > c->rows_n[slot])
        return vfr_fail(VFR_ERR_INVALID_ARG, "lstm: gather of rows [%lld, %lld) outside slot %d's %lld",
                        (long long)offset, (long long)offset + B, slot, (long long)c->rows_n[slot]);
    gather_kernel<<<B, 128, sizeof(int32_t) * c->s.L, c->stream>>>(
        c->d_X, c->s.F, c->d_prev, c->d_rows[slot] + offset, c->rows_y[slot] ? c->d_rowy[slot] + offset : NULL,
        c->s.L, B, c->d_mean, c->d_inv, c->d_x, c->d_yb);
    LAUNCH_TRY();
fail:
    return st;
}

/* ---- forward, loss + backward, update --------------------------------------------------- */

extern "C" vfr_status vfr_lstm_cuda_forward(vfr_lstm_cuda *c, int32_t B, int train, float p_drop, uint64_t key)
{
    vfr_status st = VFR_OK;
    const vfr_lstm_spec *s = &c->s;
    const float one = 1.0f, zero = 0.0f;
    VFR_TRY(set_batch(c, B));
    {
        const float *in = c->d_x;
        const int drop = train && p_drop > 0;
        const float scale = 1.0f / (1.0f - p_drop);
        for (int k = 0; k < s->layers; k++) {
            if (k > 0 && drop) {
                long long n = (long long)s->L * B * in_width(s, k);
                dropout_kernel<<<blocks_for(n, 256), 256, 0, c->stream>>>(in, c->d_in[k], n,
                                                                          vfri_lstm_layer_key(key, k), p_drop, scale);
                LAUNCH_TRY();
                in = c->d_in[k];
            }
            c->in_ptr[k] = in;
            DNN_TRY(cudnnRNNForward(c->dnn, c->rnn[k], train ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE,
                                    c->d_seqlen, c->xd[k], in, c->yd[k], c->d_y[k], c->hd[k], NULL, NULL, c->cd[k],
                                    NULL, NULL, c->wbytes[k], c->d_w + c->woff[k], c->ws_bytes, c->d_ws,
                                    train ? c->rs_bytes[k] : 0, train ? c->d_rs[k] : NULL));
            in = c->d_y[k];
        }
        /* head on the last step: z = h_last w (+ b); h_last (B, H) row-major is
         * cuBLAS's column-major (H, B) */
        const int H = s->H[s->layers - 1];
        const float *hl = c->d_y[s->layers - 1] + (size_t)(s->L - 1) * B * H;
        BLAS_TRY(cublasSgemv(c->blas, CUBLAS_OP_T, H, B, &one, hl, H, c->d_w + c->head_off, 1, &zero, c->d_z, 1));
        add_bias_kernel<<<(B + 255) / 256, 256, 0, c->stream>>>(c->d_z, B, c->d_w + c->head_off + H);
        LAUNCH_TRY();
    }
    c->fwd_train = train;
    c->fwd_B = B;
    c->p_drop = train ? p_drop : 0.0f;
    c->key = key;
fail:
    return st;
}

extern "C" vfr_status vfr_lstm_cuda_loss(vfr_lstm_cuda *c, int32_t B, int backward)
{
    vfr_status st = VFR_OK;
    const vfr_lstm_spec *s = &c->s;
    const float one = 1.0f, zero = 0.0f;
    const int H = s->H[s->layers - 1];
    if (B != c->fwd_B || (backward && !c->fwd_train))
        return vfr_fail(VFR_ERR_INVALID_ARG, "lstm: loss of %d rows after a %s forward of %d", B,
                        c->fwd_train ? "training" : "scoring", c->fwd_B);
    if (backward)
        CUDA_TRY(cudaMemsetAsync(c->d_g, 0, sizeof(float) * c->nw, c->stream)); /* cuDNN's wgrad adds */
    loss_kernel<<<1, 256, 0, c->stream>>>(c->d_z, c->d_yb, B, s->head == VFR_LSTM_HEAD_LOGISTIC,
                                          backward ? c->d_dz : NULL, c->d_loss,
                                          backward ? c->d_g + c->head_off + H : NULL);
    LAUNCH_TRY();
    if (backward) {
        const float *hl = c->d_y[s->layers - 1] + (size_t)(s->L - 1) * B * H;
        /* head: dW = h_last^T dz; dh_last = dz w^T, the only output gradient of the top layer */
        BLAS_TRY(cublasSgemv(c->blas, CUBLAS_OP_N, H, B, &one, hl, H, c->d_dz, 1, &zero, c->d_g + c->head_off, 1));
        float *dy = c->d_ga, *dx = c->d_gb;
        CUDA_TRY(cudaMemsetAsync(dy, 0, sizeof(float) * (size_t)s->L * B * H, c->stream));
        BLAS_TRY(cublasSger(c->blas, H, B, &one, c->d_w + c->head_off, 1, c->d_dz, 1, dy + (size_t)(s->L - 1) * B * H,
                            H));
        for (int k = s->layers - 1; k >= 0; k--) {
            /* BackwardData before BackwardWeights: both consume this layer's reserve */
            DNN_TRY(cudnnRNNBackwardData_v8(c->dnn, c->rnn[k], c->d_seqlen, c->yd[k], c->d_y[k], dy, c->xd[k], dx,
                                            c->hd[k], NULL, NULL, NULL, c->cd[k], NULL, NULL, NULL, c->wbytes[k],
                                            c->d_w + c->woff[k], c->ws_bytes, c->d_ws, c->rs_bytes[k], c->d_rs[k]));
            DNN_TRY(cudnnRNNBackwardWeights_v8(c->dnn, c->rnn[k], CUDNN_WGRAD_MODE_ADD, c->d_seqlen, c->xd[k],
                                               c->in_ptr[k], c->hd[k], NULL, c->yd[k], c->d_y[k], c->wbytes[k],
                                               c->d_g + c->woff[k], c->ws_bytes, c->d_ws, c->rs_bytes[k], c->d_rs[k]));
            if (k > 0 && c->p_drop > 0) {
                long long n = (long long)s->L * B * in_width(s, k);
                dropout_kernel<<<blocks_for(n, 256), 256, 0, c->stream>>>(
                    dx, dx, n, vfri_lstm_layer_key(c->key, k), c->p_drop, 1.0f / (1.0f - c->p_drop));
                LAUNCH_TRY();
            }
            float *t = dy;
            dy = dx;
            dx = t;
        }
    }
fail:
    return st;
}

extern "C" vfr_status vfr_lstm_cuda_update(vfr_lstm_cuda *c, double lr, double max_norm)
{
    vfr_status st = VFR_OK;
    c->adam_t++;
    const float step = (float)(lr / (1 - pow(0.9, (double)c->adam_t)));
    const float bc2s = (float)sqrt(1 - pow(0.999, (double)c->adam_t));
    if (max_norm > 0) {
        sumsq_kernel<<<1, 1024, 0, c->stream>>>(c->d_g, (long long)c->nw, c->d_norm2);
        LAUNCH_TRY();
    }
    adam_kernel<<<blocks_for((long long)c->nw, 256), 256, 0, c->stream>>>(c->d_w, c->d_g, c->d_m, c->d_v,
                                                                          (long long)c->nw, c->d_norm2, max_norm,
                                                                          step, bc2s);
    LAUNCH_TRY();
fail:
    return st;
}

extern "C" vfr_status vfr_lstm_cuda_read_z(vfr_lstm_cuda *c, int32_t B, float *z)
{
    vfr_status st = VFR_OK;
    if (B != c->fwd_B)
        return vfr_fail(VFR_ERR_INVALID_ARG, "lstm: read %d outputs of a batch of %d", B, c->fwd_B);
    CUDA_TRY(cudaMemcpyAsync(z, c->d_z, sizeof(float) * B, cudaMemcpyDeviceToHost, c->stream));
    CUDA_TRY(cudaStreamSynchronize(c->stream));
fail:
    return st;
}

extern "C" vfr_status vfr_lstm_cuda_loss_take(vfr_lstm_cuda *c, double *sum)
{
    vfr_status st = VFR_OK;
    *sum = 0;
    CUDA_TRY(cudaMemcpyAsync(sum, c->d_loss, sizeof(double), cudaMemcpyDeviceToHost, c->stream));
    CUDA_TRY(cudaMemsetAsync(c->d_loss, 0, sizeof(double), c->stream));
    CUDA_TRY(cudaStreamSynchronize(c->stream));
fail:
    return st;
}

#endif /* VFR_HAVE_CUDNN */
