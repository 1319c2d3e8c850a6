/* dataset_internal.h: what dataset.c shares with dataset_fastread.c. */
#ifndef VFR_DATASET_INTERNAL_H
#define VFR_DATASET_INTERNAL_H

#include <hdf5.h>
#include <stdint.h>

#include "vfr/status.h"

/* Reads rows [r0, r1) (r1 > r0) of a float32 chunked dataset of `width`
 * columns into out, decompressing chunks in parallel. Returns NOT_FOUND when
 * the dataset's layout or filters are not ones it handles (use H5Dread), IO
 * when a chunk cannot be read or inflated. Sets no error detail. */
vfr_status vfri_dataset_fastread(hid_t id, int rank, int64_t r0, int64_t r1, int64_t width,
                                float *out);

#endif
