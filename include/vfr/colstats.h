/* colstats.h: per-column statistics of a float32 [N, F] matrix with NaN as
 * missing: count of finite values, mean and standard deviation (population).
 * Used by inspect (missing share) and for standardising features with
 * training-set statistics. CPU twin and CUDA kernel compute the same thing;
 * tests/test_colstats_parity.c holds one against the other. */
#ifndef VFR_COLSTATS_H
#define VFR_COLSTATS_H

#include <stdint.h>

#include "vfr/device.h"
#include "vfr/status.h"

typedef struct vfr_colstats {
    int64_t *count; /* [F] finite values              */
    double *mean;   /* [F] NaN when count == 0        */
    double *std;    /* [F] population std, NaN when 0 */
} vfr_colstats;

/* IN x: [N, F] row-major host memory. OUT st: caller-allocated arrays of F.
 * Non-finite values (NaN, +-inf) count as missing. Thread-safe. */
void vfr_colstats_cpu(const float *x, int64_t N, int32_t F, vfr_colstats *st);

/* Same, computed on the device from host memory x (copied in blocks).
 * Errors: NO_DEVICE (not built with CUDA or no device), CUDA, NOMEM. */
vfr_status vfr_colstats_cuda(const float *x, int64_t N, int32_t F, vfr_colstats *st);

/* Merges the statistics of a second block of rows into acc (Chan et al.'s
 * pairwise update), so that a large matrix can be summarised block by block. */
void vfr_colstats_merge(vfr_colstats *acc, const vfr_colstats *part, int32_t F);

/* Dispatches on the resolved device kind (CPU or CUDA). */
vfr_status vfr_colstats_compute(vfr_device_kind dev, const float *x, int64_t N, int32_t F,
                                vfr_colstats *st);

#endif
