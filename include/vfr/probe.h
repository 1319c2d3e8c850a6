/* probe.h: the frozen probe set stored with every trained model.
 *
 * At training time vfr keeps a small slice of the test period (the last few
 * dates: their feature rows, each row's previous row of the same symbol within
 * the slice, and the model's predictions on exactly that slice). Before a
 * deployment, the registry loads the stored artifact, predicts the slice again
 * and requires the same numbers (prediction parity) — the check that the
 * artifact still is the model that was evaluated. HDF5, written to a temporary
 * name and renamed. */
#ifndef VFR_PROBE_H
#define VFR_PROBE_H

#include <stdint.h>

#include "vfr/model.h"
#include "vfr/status.h"

typedef struct vfr_probe {
    int64_t n;
    int32_t F;
    float *X;          /* [n, F]                                         */
    int64_t *prev_row; /* [n] previous row of the same symbol, or -1      */
    int32_t *date;     /* [n]                                             */
    int32_t *symbol;   /* [n] index into the dataset's symbols            */
    float *score;      /* [n] the model's predictions at training time    */
} vfr_probe;

/* Writes the probe. Errors: IO. */
vfr_status vfr_probe_write(const char *path, const vfr_probe *p);
/* Reads it; free with vfr_probe_free. Errors: NOT_FOUND, FORMAT. */
vfr_status vfr_probe_read(const char *path, vfr_probe **out);
void vfr_probe_free(vfr_probe *p);

/* Predicts the probe's rows with m (the rows' history is the probe itself).
 * OUT score [n]. */
vfr_status vfr_probe_predict(vfr_model *m, const vfr_probe *p, float *score);

#endif
