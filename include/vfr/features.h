/* features.h: the standard price features vfr pack computes from close prices.
 *
 * Every feature at position t uses close[0..t] only (no look-ahead); a test
 * changes future prices and checks past features are unchanged. Values are
 * NaN while the window has too little history. Definitions: docs/features.md. */
#ifndef VFR_FEATURES_H
#define VFR_FEATURES_H

#include <stdint.h>

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

#endif
