/* metrics_internal.h: what the metrics, backtest and predictions sources share
 * and the public headers do not show: the thread fan-out over models, the
 * float sort key, input checks used by both the CPU twins and the CUDA
 * launchers, and a few HDF5 helpers for the predictions and backtest files. */
#ifndef VFR_METRICS_INTERNAL_H
#define VFR_METRICS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "vfr/backtest.h"
#include "h5util.h"
#include "hostdevice.h"
#include "vfr/metrics.h"
#include "vfr/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Threads to use for n independent items: asked (0 = online cores), at most n. */
int vfri_metrics_threads(int asked, int64_t n);

/* Runs fn(ctx, tid, nthreads) on nthreads threads (the caller's thread is one
 * of them) and returns the first non-OK status. Each fn takes items
 * tid, tid + nthreads, ... so that the split does not depend on timing. */
vfr_status vfri_metrics_parallel(int nthreads, vfr_status (*fn)(void *ctx, int tid, int nthreads),
                         void *ctx);

/* Order-preserving unsigned key of a finite float; -0 and +0 map alike.
 * The CPU sorts and the CUDA AUC sort both key with it. */
static inline VFR_HOST_DEVICE uint32_t vfri_metrics_float_key(float f)
{
    union {
        float f;
        uint32_t u;
    } v;
    v.f = f == 0.0f ? 0.0f : f;
    return (v.u & 0x80000000u) ? ~v.u : (v.u | 0x80000000u);
}


/* "Constant" for a correlation or R²: n values whose squared deviations
 * around their mean m sum to ss count as constant when their standard
 * deviation is at most 1e-9 |m|. float32 values that differ do so by at least
 * 6e-8 relative, while n copies of one value summed in double, in any order,
 * leave a spread of order n 1e-16 |m|: a plain `ss > 0` made IC and R² of a
 * constant segment NaN on one device and an arbitrary number on the other.
 * The CPU twins and the CUDA kernels both decide with this function. */
#define VFR_METRICS_CONSTANT_RTOL 1e-9
static inline VFR_HOST_DEVICE int vfri_metrics_is_constant(double ss, double n, double m)
{
    const double t = VFR_METRICS_CONSTANT_RTOL * m;
    return !(ss > n * t * t);
}

/* Most models a CUDA launcher stages at once: VFR_CUDA_CHUNK_MODELS when set
 * to a positive number (to exercise the chunking, which real sizes rarely
 * need), else `fit` (what device memory allows). */
int64_t vfri_metrics_cuda_chunk(int64_t fit);

/* Sorts a[0..n) by the high 32 bits (a vfri_metrics_float_key) ascending,
 * stably: equal keys keep their order, so the low 32 bits can carry a row
 * number or a label. tmp: [n] scratch. LSD radix; insertion for small n. */
void vfri_metrics_sort_keys(uint64_t *a, uint64_t *tmp, int64_t n);

/* Classification labels must be 0 or 1 where finite. INVALID_ARG names the row. */
vfr_status vfri_metrics_check_labels(const vfr_panel *p);

/* Shared argument checks of the batch entry points (CPU and CUDA alike). */
vfr_status vfri_metrics_check_args(const vfr_panel *p, const float *score, int32_t M,
                                  const vfr_metrics_options *o, const double *out);
vfr_status vfri_backtest_check_args(const vfr_panel *p, const float *score, int32_t M,
                                   const vfr_backtest_options *o, const double *metrics);


#ifdef __cplusplus
}
#endif

#endif
