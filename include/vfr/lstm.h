/* lstm.h: the numerical core of vfr's LSTM model: stacked LSTM layers with a
 * dense head on the last layer's last hidden state, in PyTorch's parameter
 * layout, with a CPU twin (BLAS; float for training, double for the gradient
 * check) and a cuDNN version that computes the same function.
 *
 * It is not the model: sequences, standardisation, the training loop and the
 * artifact live in src/host/model_lstm.c (modelType "lstm"); docs/lstm.md
 * describes both. Letters: L sequence length (lookback), B batch, F input
 * features, H units of a layer, I a layer's input width (F, then H of the
 * layer below), P parameters. */
#ifndef VFR_LSTM_H
#define VFR_LSTM_H

#include <stdint.h>

#include "vfr/status.h"

#define VFR_LSTM_MAX_LAYERS 4

typedef enum vfr_lstm_head {
    VFR_LSTM_HEAD_LOGISTIC = 0, /* sigmoid + binary cross-entropy (direction) */
    VFR_LSTM_HEAD_LINEAR,       /* identity + mean squared error (returns)   */
} vfr_lstm_head;

typedef struct vfr_lstm_spec {
    int32_t F;                      /* input features per step               */
    int32_t L;                      /* steps per sequence (lookback)         */
    int32_t layers;                 /* 1..VFR_LSTM_MAX_LAYERS                */
    int32_t H[VFR_LSTM_MAX_LAYERS]; /* units of each layer                   */
    vfr_lstm_head head;
} vfr_lstm_spec;

/* INVALID_ARG when a size is out of range (F, L, H in 1..65536, layers in
 * 1..VFR_LSTM_MAX_LAYERS). */
vfr_status vfr_lstm_spec_check(const vfr_lstm_spec *s);

/* ---- parameters ----------------------------------------------------------
 * One flat float vector of P values, tensor after tensor, each row-major:
 *   for each layer k: weight_ih_l{k} (4H, I), weight_hh_l{k} (4H, H),
 *                     bias_ih_l{k} (4H), bias_hh_l{k} (4H)
 *   head.weight (1, H_last), head.bias (1)
 * Gate blocks in PyTorch's (and cuDNN's) order i, f, g, o, so a PyTorch
 * state_dict maps one to one. Gradients use the same layout. */
typedef struct vfr_lstm_tensor {
    char name[24];   /* "weight_ih_l0", ..., "head.weight", "head.bias" */
    int64_t offset;  /* into the flat vector                            */
    int32_t rank;    /* 1 or 2                                          */
    int64_t dims[2]; /* PyTorch's shape                                 */
} vfr_lstm_tensor;

int32_t vfr_lstm_tensor_count(const vfr_lstm_spec *s); /* 4 * layers + 2 */
/* OUT t [vfr_lstm_tensor_count(s)]. */
void vfr_lstm_tensors(const vfr_lstm_spec *s, vfr_lstm_tensor *t);
int64_t vfr_lstm_param_count(const vfr_lstm_spec *s);

/* PyTorch's initialisation, seeded: every LSTM weight and bias of layer k
 * U(-1/sqrt(H_k), 1/sqrt(H_k)); the head U(-1/sqrt(H_last), +). OUT w [P].
 * Same seed, same values on every machine. */
void vfr_lstm_init(const vfr_lstm_spec *s, uint64_t seed, float *w);

/* Dropout between layers: element idx of layer k's input (k >= 1; idx into
 * its (L, B, I) array) is kept when a counter-based hash of (key, k, idx) is
 * >= p, and then scaled by 1/(1 - p). The CPU twin and the CUDA kernel use
 * the same hash, so that both drop the same units. Returns 1 to keep. */
int vfr_lstm_dropout_keep(uint64_t key, int32_t layer, int64_t idx, float p);

/* ---- CPU twin --------------------------------------------------------------
 * A workspace holds the activations of one batch of at most max_batch
 * sequences between forward and backward. One workspace per thread. The
 * _f64 functions are the same code in double (tests/test_lstm_grad.c). */
typedef struct vfr_lstm_cpu vfr_lstm_cpu;
typedef struct vfr_lstm_cpu_f64 vfr_lstm_cpu_f64;

/* Errors: INVALID_ARG (spec, max_batch < 1), NOMEM. */
vfr_status vfr_lstm_cpu_create(const vfr_lstm_spec *s, int32_t max_batch, vfr_lstm_cpu **out);
vfr_status vfr_lstm_cpu_create_f64(const vfr_lstm_spec *s, int32_t max_batch, vfr_lstm_cpu_f64 **out);
void vfr_lstm_cpu_destroy(vfr_lstm_cpu *c);         /* NULL is a no-op */
void vfr_lstm_cpu_destroy_f64(vfr_lstm_cpu_f64 *c); /* NULL is a no-op */

/* Forward pass. IN w [P]; x (L, B, F) time-major (row t*B + b is step t of
 * sequence b), borrowed until the next forward (backward reads it); B in
 * 1..max_batch; p_drop in [0, 1): dropout between layers with `key` (0: none,
 * as for inference). OUT z [B]: the head's output (a logit or a value). */
void vfr_lstm_cpu_forward(vfr_lstm_cpu *c, const float *w, const float *x, int32_t B, float p_drop,
                          uint64_t key, float *z);
void vfr_lstm_cpu_forward_f64(vfr_lstm_cpu_f64 *c, const double *w, const double *x, int32_t B,
                              float p_drop, uint64_t key, double *z);

/* Mean loss over the batch of z [B] against y [B] (0/1 for LOGISTIC: the
 * loss is BCE on sigmoid(z), computed stably from the logit; MSE for
 * LINEAR). OUT dz [B] = dloss/dz (may be NULL). */
double vfr_lstm_cpu_loss(vfr_lstm_head head, const float *z, const float *y, int32_t B, float *dz);
double vfr_lstm_cpu_loss_f64(vfr_lstm_head head, const double *z, const double *y, int32_t B,
                             double *dz);

/* Backward pass through time of the last forward, same w. IN dz [B].
 * OUT g [P] (overwritten): dloss/dw in the parameter layout. */
void vfr_lstm_cpu_backward(vfr_lstm_cpu *c, const float *w, const float *dz, float *g);
void vfr_lstm_cpu_backward_f64(vfr_lstm_cpu_f64 *c, const double *w, const double *dz, double *g);

/* Clips g [n] to global L2 norm max_norm as torch.nn.utils.clip_grad_norm_
 * does (g *= max_norm / (norm + 1e-6) when that is < 1; max_norm <= 0: off).
 * Returns the norm before clipping. */
double vfr_lstm_clip(float *g, int64_t n, double max_norm);
double vfr_lstm_clip_f64(double *g, int64_t n, double max_norm);

/* One Adam step as torch.optim.Adam (betas 0.9, 0.999, eps 1e-8, no weight
 * decay): t is the step number starting at 1; m, v [n] the moments (start at
 * 0). IN/OUT w, m, v [n]. */
void vfr_lstm_adam(float *w, const float *g, float *m, float *v, int64_t n, int64_t t, double lr);
void vfr_lstm_adam_f64(double *w, const double *g, double *m, double *v, int64_t n, int64_t t,
                       double lr);

/* ---- cuDNN ------------------------------------------------------------------
 * The same network on the device: one cuDNN RNN descriptor per layer (cuDNN
 * gives all layers of one descriptor the same width; vfr's 64 -> 32 does not),
 * the dropout, head, loss, global-norm clipping and Adam in vfr kernels and
 * cuBLAS, and sequences gathered on the device from a staged panel. All work
 * is queued on the context's own stream and cuDNN/cuBLAS handles, so distinct
 * contexts may run concurrently from distinct threads; one context is not
 * thread-safe. Every function returns NO_DEVICE in a build without CUDA or
 * cuDNN, CUDA for a CUDA/cuDNN/cuBLAS failure (with the library's text). */
typedef struct vfr_lstm_cuda vfr_lstm_cuda;

typedef enum vfr_lstm_math {
    VFR_LSTM_MATH_FMA = 0, /* strict FP32 (CUDNN_FMA_MATH): matches the CPU twin */
    VFR_LSTM_MATH_TF32,    /* CUDNN_DEFAULT_MATH + cuBLAS TF32: faster, ~1e-3   */
} vfr_lstm_math;

enum { VFR_LSTM_SLOT_TRAIN = 0, VFR_LSTM_SLOT_EVAL = 1, VFR_LSTM_SLOTS = 2 };

/* Errors: INVALID_ARG, NO_DEVICE, NOMEM, CUDA. */
vfr_status vfr_lstm_cuda_create(const vfr_lstm_spec *s, int32_t max_batch, vfr_lstm_math math,
                                vfr_lstm_cuda **out);
void vfr_lstm_cuda_destroy(vfr_lstm_cuda *c); /* NULL is a no-op */

/* Parameters in the flat layout above, host memory [P]. set_params also
 * zeroes the Adam moments and step count. get_grads: the gradient of the
 * last backward (before clipping). */
vfr_status vfr_lstm_cuda_set_params(vfr_lstm_cuda *c, const float *w);
vfr_status vfr_lstm_cuda_get_params(vfr_lstm_cuda *c, float *w);
vfr_status vfr_lstm_cuda_get_grads(vfr_lstm_cuda *c, float *g);
/* Copies the current weights to a device-side snapshot (restore = 0) or back
 * (restore = 1): the best epoch's weights without a round trip. */
vfr_status vfr_lstm_cuda_snapshot(vfr_lstm_cuda *c, int restore);

/* A batch from the host: x (L, B, F) already standardised, y [B] (may be
 * NULL when no loss is taken). */
vfr_status vfr_lstm_cuda_batch_host(vfr_lstm_cuda *c, const float *x, const float *y, int32_t B);

/* Stages n panel rows X [n, F] (raw, NaN = missing) on the device with
 * prev [n] (the row of the same symbol's previous date within these n, or
 * -1) and the standardisation mean [F], inv_std [F]; replaces what was
 * staged. Then rows/gather select sequences by their last row. */
vfr_status vfr_lstm_cuda_stage(vfr_lstm_cuda *c, const float *X, int64_t n, const int32_t *prev,
                               const float *mean, const float *inv_std);
/* Sets slot's row list: rows [n] (staged row of each sequence's last step;
 * every one must have L - 1 predecessors) and y [n] labels (may be NULL). */
vfr_status vfr_lstm_cuda_rows(vfr_lstm_cuda *c, int slot, const int32_t *rows, const float *y,
                              int64_t n);
/* Gathers sequences rows[offset .. offset + B) of slot into the batch:
 * x_t = (X - mean) * inv_std, non-finite -> 0, as the CPU side does. */
vfr_status vfr_lstm_cuda_gather(vfr_lstm_cuda *c, int slot, int64_t offset, int32_t B);

/* Forward pass over the batch: train = 1 keeps what backward needs and
 * applies dropout p_drop with key (same units as the CPU twin drops). */
vfr_status vfr_lstm_cuda_forward(vfr_lstm_cuda *c, int32_t B, int train, float p_drop, uint64_t key);
/* Loss of the batch against its y, added to a device-side sum (read with
 * vfr_lstm_cuda_loss_take); backward = 1 also runs the backward pass (after
 * a train = 1 forward) into the device gradient. */
vfr_status vfr_lstm_cuda_loss(vfr_lstm_cuda *c, int32_t B, int backward);
/* Clip (max_norm <= 0: off) and one Adam step with learning rate lr. */
vfr_status vfr_lstm_cuda_update(vfr_lstm_cuda *c, double lr, double max_norm);
/* OUT z [B]: the head outputs of the last forward (waits for the stream). */
vfr_status vfr_lstm_cuda_read_z(vfr_lstm_cuda *c, int32_t B, float *z);
/* OUT sum: the sum of per-sequence losses since the last take (waits for the
 * stream), and resets it. */
vfr_status vfr_lstm_cuda_loss_take(vfr_lstm_cuda *c, double *sum);

#endif
