/* features.h: the features vfr pack computes: the 26 standard price features
 * from closes, and Qlib's Alpha158 set from open, high, low, close, volume.
 *
 * Every feature at position t uses close[0..t] only (no look-ahead); a test
 * changes future prices and checks past features are unchanged. Values are
 * NaN while the window has too little history. Definitions: docs/features.md. */
#ifndef VFR_FEATURES_H
#define VFR_FEATURES_H

#include <stdint.h>

#include "vfr/device.h"
#include "vfr/status.h"

/* Number and names of the standard price features (static strings). */
int32_t vfr_features_price_count(void);
const char *vfr_features_price_name(int32_t f);

/* IN close: [T] one symbol's closes in time order, all finite and > 0.
 * OUT out: [T, count] with row stride ld (>= count) floats.
 * Errors: INVALID_ARG (ld too small, non-positive price), NOMEM. Thread-safe. */
vfr_status vfr_features_price_cpu(const float *close, int64_t T, float *out, int64_t ld);

/* Forward simple returns: OUT out[t*ld + k] = close[t+h_k]/close[t] - 1, NaN
 * where t + h_k >= T. Thread-safe. */
void vfr_features_forward_returns(const float *close, int64_t T, const int32_t *horizons,
                                  int32_t H, float *out, int64_t ld);

/* ---- Alpha158 (Qlib's set, from OHLCV) ---------------------------------- */

/* 158, and the names in storage order as Qlib names them (KMID, ..., ROC5,
 * ..., VSUMD60); static strings. */
int32_t vfr_features_alpha158_count(void);
const char *vfr_features_alpha158_name(int32_t f);

/* S symbols' daily bars, each symbol's rows contiguous and in date order.
 * Prices are adjusted, finite and > 0; volume may be NaN (unknown). */
typedef struct vfr_ohlcv_series {
    int32_t S;
    const int64_t *offset;              /* [S+1]: symbol s has rows offset[s]..offset[s+1]-1 */
    const double *open, *high, *low, *close, *volume; /* [N], N = offset[S]          */
    const double *vwap;                 /* [N] or NULL (then VWAP0 is NaN)            */
} vfr_ohlcv_series;

/* OUT out: [N, ld] floats (ld >= 158): row r gets the features of bar r, using
 * that symbol's bars up to r only. threads: CPU threads, 0 = all cores.
 * Errors: INVALID_ARG (ld too small, a price not finite and > 0, bad offsets),
 * NOMEM. Thread-safe. */
vfr_status vfr_features_alpha158_cpu(const vfr_ohlcv_series *x, int threads, float *out,
                                     int64_t ld);

/* The same on the GPU (src/kernels/alpha158.cu), one thread per bar; host in,
 * host out. Errors: as the CPU's, plus NO_DEVICE (no CUDA built or found), CUDA. */
vfr_status vfr_features_alpha158_cuda(const vfr_ohlcv_series *x, float *out, int64_t ld);

/* Same with the caller's work (gpu.h): the bars go through its pinned buffer
 * and scratch on its stream (a repeated call of the same size allocates
 * nothing); out may be device memory ([N, ld], left there: the features can
 * feed a staged panel without a round trip). Not thread-safe for one work. */
typedef struct vfr_gpu_work vfr_gpu_work;
vfr_status vfr_features_alpha158_staged(vfr_gpu_work *w, const vfr_ohlcv_series *x, float *out,
                                        int64_t ld);

/* Dispatches on a resolved device kind (CPU or CUDA). */
vfr_status vfr_features_alpha158(vfr_device_kind dev, const vfr_ohlcv_series *x, int threads,
                                 float *out, int64_t ld);

#endif
