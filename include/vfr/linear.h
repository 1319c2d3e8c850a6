/* linear.h: the numerical core of vfr's linear baseline: L2-regularised
 * logistic regression (direction) or ridge regression (returns), fitted by
 * Newton's method. Each Newton step needs the loss, gradient and Hessian over
 * all rows; that is the BLAS-heavy part, with a CPU twin (OpenBLAS dsyrk/dgemv
 * on row blocks) and a cuBLAS version. Features are standardised on the fly
 * (x - mean) / scale, NaN -> 0 (the mean), and an intercept column of 1s is
 * appended, so P = F + 1 coefficients; the intercept is not penalised. */
#ifndef VFR_LINEAR_H
#define VFR_LINEAR_H

#include <stdint.h>

#include "vfr/device.h"
#include "vfr/status.h"

/* Rows [r0, r1) of a problem whose features are not in memory: *rows points
 * at them, into the caller's storage or into buf [(r1 - r0), F], which the
 * reader fills. (vfr_dataview_read has this shape.) */
typedef vfr_status (*vfr_linear_rows)(void *ctx, int64_t r0, int64_t r1, float *buf, const float **rows);

typedef struct vfr_linear_problem {
    const float *X;       /* [n, F] host memory, NaN = missing; NULL: rows  */
    const float *y;       /* [n] 0/1 (logistic) or the target (ridge)         */
    int64_t n;
    int32_t F;
    const double *mean;   /* [F] standardisation                              */
    const double *scale;  /* [F] (> 0)                                        */
    int logistic;         /* 1: logistic loss, 0: squared loss / 2            */
    double l2;            /* penalty lambda: loss + lambda/2 * |w[0..F-1]|^2  */
    vfr_linear_rows rows; /* with X NULL: reads the rows by chunks (CPU only) */
    void *rows_ctx;
    int64_t chunk;        /* rows a read: a multiple of 4096; 0: about 32 MB  */
} vfr_linear_problem;

/* At coefficients w [P] (w[F] = intercept): OUT loss (scalar), grad [P],
 * hess [P, P] row-major (full, symmetric). Without X, the rows are read by
 * chunks of whole 4096-row blocks (p->chunk), so the sums are the same as
 * from X, bit for bit. Thread-safe (the reader permitting). Errors: NOMEM, the reader's. */
vfr_status vfr_linear_gradhess_cpu(const vfr_linear_problem *p, const double *w, double *loss,
                                   double *grad, double *hess);
/* Same on the GPU (X copied in row blocks each call). NO_DEVICE without one. */
vfr_status vfr_linear_gradhess_cuda(const vfr_linear_problem *p, const double *w, double *loss,
                                    double *grad, double *hess);

/* Same on rows staged once (gpu.h: X and y = the panel's features and label,
 * p->X and p->y are not read) with the caller's work: its cuBLAS handle,
 * stream and scratch; a repeated call allocates nothing. */
typedef struct vfr_gpu_panel vfr_gpu_panel;
typedef struct vfr_gpu_work vfr_gpu_work;
vfr_status vfr_linear_gradhess_staged(const vfr_gpu_panel *g, vfr_gpu_work *wk,
                                      const vfr_linear_problem *p, const double *w, double *loss,
                                      double *grad, double *hess);

/* Newton's method with step halving to convergence (|step| < tol or
 * max_iter); on CUDA, X is staged once and one work serves every step (CUDA
 * needs X: INVALID_ARG without it). On the CPU without X, every step reads
 * the rows again through p->rows.
 * OUT w [P]. Returns the iterations used in *iters. */
vfr_status vfr_linear_fit(vfr_device_kind dev, const vfr_linear_problem *p, int max_iter,
                          double tol, double *w, int *iters);

#endif
