/* gpu_internal.h: the layout of vfr_gpu_work and vfr_gpu_panel (gpu.h) as the
 * launchers in src/kernels/ see it, and the grow-only scratch they carve their
 * buffers from. CUDA builds only. */
#ifndef VFR_GPU_INTERNAL_H
#define VFR_GPU_INTERNAL_H

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "vfr/gpu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Scratch slots: each launcher family owns some, so that the buffers of one
 * do not move under another's (a slot only grows). */
typedef enum vfr_gpu_slot {
    VFR_GPU_SLOT_SCORE = 0, /* scores uploaded from the host            */
    VFR_GPU_SLOT_ARENA,     /* a launcher's buffers, carved             */
    VFR_GPU_SLOT_TEMP,      /* CUB's temporary storage                  */
    VFR_GPU_SLOT_LINEAR,    /* the linear model's row block buffers     */
    VFR_GPU_SLOTS
} vfr_gpu_slot;

struct vfr_gpu_work {
    cudaStream_t stream;
    cublasHandle_t blas;          /* bound to stream                      */
    void *dev[VFR_GPU_SLOTS];
    size_t dev_bytes[VFR_GPU_SLOTS];
    void *host;                   /* pinned staging                       */
    size_t host_bytes;
    int64_t allocations;
};

struct vfr_gpu_panel {
    vfr_panel host;               /* borrowed arrays                      */
    int32_t F;
    vfr_gpu_work *w;              /* counts the panel's allocations       */
    void *block;                  /* one device allocation, carved:       */
    float *d_X;                   /* [N, F] or NULL                       */
    float *d_label;               /* [N]                                  */
    float *d_fwd;                 /* [N] or NULL                          */
    float *d_y;                   /* [N] fwd where present, else label    */
    float *d_r1;                  /* [T, S] 1-day returns, 0 where missing */
    long long *d_off;             /* [T + 1]                              */
    int *d_sym;                   /* [N]                                  */
    int *d_rowdate;               /* [N] the row's date                   */
    int *d_pos;                   /* [N] the row's place within its date  */
    int *d_row_at;                /* [T, S] row of (date, symbol), or -1  */
};

/* At least `bytes` of device scratch in `slot` (contents not kept when it
 * grows). Errors: NOMEM, CUDA. */
vfr_status vfri_gpu_scratch(vfr_gpu_work *w, vfr_gpu_slot slot, size_t bytes, void **p);

/* At least `bytes` of pinned host scratch (contents not kept when it grows). */
vfr_status vfri_gpu_pinned(vfr_gpu_work *w, size_t bytes, void **p);

/* 1 when p is device memory (read in place by a launcher), 0 for host. */
int vfri_gpu_is_device(const void *p);

/* A one-shot call's work and staged panel (vfr_gpu_panel_create's
 * arguments); both NULL on failure. Release with vfri_gpu_unstage. */
vfr_status vfri_gpu_stage(const vfr_panel *p, const float *X, int32_t F, vfr_gpu_work **w,
                         vfr_gpu_panel **g);
void vfri_gpu_unstage(vfr_gpu_work *w, vfr_gpu_panel *g);

/* Bytes rounded up so that carved buffers stay 256-byte aligned. */
static inline size_t vfri_gpu_align(size_t b) { return (b + 255) & ~(size_t)255; }

#ifdef __cplusplus
}
#endif

#endif
