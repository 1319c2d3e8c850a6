/* prepare.h: from a dataset and a job to the panel a model trains on: the
 * date range and symbols, the data-quality gate, and the target.
 *
 * Per-row quality = completeness*0.35 + freshness*0.25 + reliability*0.25 +
 * validity*0.15, from the stored /quality components where present, else
 * derived (docs/job-config.md, "Data quality"). Rows go when their label is
 * missing, quality < minQuality, completeness < minCompleteness, a feature is
 * non-finite (policy dropRow), or the move is exactly flat (flatPolicy drop,
 * direction targets); then symbols with fewer than minSamplesPerSymbol rows.
 * The panel holds one copy of the surviving rows' features; splits and folds
 * are index ranges over it. */
#ifndef VFR_PREPARE_H
#define VFR_PREPARE_H

#include <stdint.h>

#include "vfr/dataset.h"
#include "vfr/device.h"
#include "vfr/job.h"
#include "vfr/report.h"
#include "vfr/status.h"

typedef struct vfr_prepared {
    int64_t n;              /* rows                                             */
    int32_t F, S, T;        /* features, symbols (of the dataset), dates         */
    float *X;               /* [n, F] features, NaN = missing (keepAsMissing)    */
    float *y;               /* [n] label: 0/1 (direction) or the return          */
    float *fwd;             /* [n] forward return at the job's horizon           */
    float *fwd1;            /* [n] 1-day forward return; NaN where not stored    */
    float *close;           /* [n] or NULL                                        */
    int32_t *date, *symbol; /* [n] days since epoch; index into dataset symbols  */
    int32_t *dates;         /* [T] distinct dates, ascending                     */
    int64_t *date_row;      /* [T + 1] rows of date t are [date_row[t], date_row[t+1]) */
    int64_t *prev_row;      /* [n] the row of the same symbol's previous kept date, or -1
                               (sequence models' history; vfr_dataview_set_history) */
    char **feature_names;   /* [F]                                               */
    char **symbols;         /* [S] the dataset's symbol names                    */
    int32_t horizon;
    char *processors_json;  /* the fitted dataConfig.processors chain, or NULL (xsection.h) */
} vfr_prepared;

/* Opens the job's dataset. A `.csv` path is taken as wide close prices and
 * packed on the fly into a temporary file (removed once open), so that a job
 * can name the bundled CSV directly. */
vfr_status vfr_prepare_open_dataset(const vfr_job *job, vfr_dataset **out);

/* Runs the gate. OUT panel: owned by the caller (vfr_prepared_free). OUT
 * report_json: the quality report (rows and symbols in, dropped and why,
 * quality distribution), pretty JSON, caller frees; may be NULL.
 * Errors: INVALID_ARG (a listed symbol not in the dataset, a horizon the
 * dataset lacks, too little data left: the message says what remained and
 * which minimum failed), IO, NOMEM. */
vfr_status vfr_prepare(vfr_dataset *ds, const vfr_job *job, vfr_device_kind dev,
                       const vfr_reporter *rep, vfr_prepared **panel, char **report_json);
void vfr_prepared_free(vfr_prepared *p);

/* Rows [*r0, *r1) of the date-index range [lo, hi). */
void vfr_prepared_rows(const vfr_prepared *p, int32_t lo, int32_t hi, int64_t *r0, int64_t *r1);

#endif
