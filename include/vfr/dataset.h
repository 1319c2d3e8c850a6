/* dataset.h: the vfr panel dataset (HDF5, format v1): reader and streaming writer.
 *
 * One row per (date, symbol), sorted by date then symbol, unique. Features are
 * float32 [N, F] with NaN as missing. The exact layout is docs/dataset-format.md.
 * Opening validates the whole index (format attribute, shapes, sorted unique
 * rows) but reads feature values only when asked, by row range (hyperslabs).
 * Not thread-safe: HDF5 serial is not; use one handle per thread at most one
 * thread at a time. */
#ifndef VFR_DATASET_H
#define VFR_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "vfr/status.h"

#define VFR_DATASET_FORMAT "vfr-dataset"
#define VFR_DATASET_FORMAT_VERSION 1

/* Limits checked on open and on write before anything is allocated
 * (docs/reliability.md): rows, feature columns, forward-return horizons. */
#define VFR_DATASET_MAX_ROWS 2147483647LL
#define VFR_DATASET_MAX_COLUMNS 100000
#define VFR_DATASET_MAX_HORIZONS 256

/* Optional per-row quality components, stored under /quality/<name>. */
typedef enum vfr_quality {
    VFR_QUALITY_COMPLETENESS = 0,
    VFR_QUALITY_FRESHNESS,
    VFR_QUALITY_RELIABILITY,
    VFR_QUALITY_VALIDITY,
    VFR_QUALITY_COUNT
} vfr_quality;

const char *vfr_quality_name(vfr_quality q);

typedef struct vfr_dataset vfr_dataset;
typedef struct vfr_dataset_writer vfr_dataset_writer;

/* Shape and contents summary of an open dataset. Pointers are owned by the
 * dataset and live until vfr_dataset_close. */
typedef struct vfr_dataset_meta {
    int64_t N;                 /* rows                                     */
    int32_t F;                 /* features                                 */
    int32_t S;                 /* symbols                                  */
    int32_t H;                 /* horizons                                 */
    int32_t T;                 /* distinct dates                           */
    int32_t date_first;        /* days since 1970-01-01; 0 when N == 0     */
    int32_t date_last;
    const char *const *feature_names; /* [F]                               */
    const char *const *symbols;       /* [S]                               */
    const int32_t *horizons;          /* [H], trading days, ascending      */
    const int32_t *date;              /* [N] days since 1970-01-01         */
    const int32_t *symbol;            /* [N] index into symbols            */
    int has_close;
    unsigned quality_mask;            /* bit q set: /quality/<q> present   */
} vfr_dataset_meta;

/* Opens and validates a dataset file. Loads the index arrays (date, symbol:
 * 8 bytes a row) and the names, not the features.
 * Errors: NOT_FOUND (no such file), FORMAT (not HDF5, not a vfr dataset,
 * wrong format_version, shapes that disagree, unsorted or duplicate rows,
 * truncated file), NOMEM. The message names the file and the field/row. */
vfr_status vfr_dataset_open(const char *path, vfr_dataset **out);
void vfr_dataset_close(vfr_dataset *ds); /* NULL is a no-op */

const vfr_dataset_meta *vfr_dataset_meta_get(const vfr_dataset *ds);
const char *vfr_dataset_path(const vfr_dataset *ds);

/* Index of a horizon in meta->horizons, or -1. */
int32_t vfr_dataset_horizon_index(const vfr_dataset *ds, int32_t horizon);
/* Index of a symbol name, or -1. */
int32_t vfr_dataset_symbol_index(const vfr_dataset *ds, const char *name);

/* Rows [*r0, *r1) whose date lies in [date_lo, date_hi] (inclusive), found by
 * binary search on the sorted index. An empty range gives *r0 == *r1. */
void vfr_dataset_row_range(const vfr_dataset *ds, int32_t date_lo, int32_t date_hi,
                           int64_t *r0, int64_t *r1);

/* Reads rows [r0, r1) of a column block into caller memory through one
 * hyperslab. OUT out: features [(r1-r0), F] row-major; forward returns
 * [(r1-r0), H]; close and quality [(r1-r0)].
 * Errors: INVALID_ARG (range), NOT_FOUND (optional column absent), IO. */
vfr_status vfr_dataset_read_features(vfr_dataset *ds, int64_t r0, int64_t r1, float *out);
vfr_status vfr_dataset_read_forward_returns(vfr_dataset *ds, int64_t r0, int64_t r1, float *out);
vfr_status vfr_dataset_read_close(vfr_dataset *ds, int64_t r0, int64_t r1, float *out);
vfr_status vfr_dataset_read_quality(vfr_dataset *ds, vfr_quality q, int64_t r0, int64_t r1,
                                    float *out);

/* What a writer is told before the first row. All arrays are borrowed for the
 * call to vfr_dataset_writer_open (copied). */
typedef struct vfr_dataset_spec {
    int32_t F;
    const char *const *feature_names; /* [F], unique, non-empty           */
    int32_t S;
    const char *const *symbols;       /* [S], unique, non-empty           */
    int32_t H;
    const int32_t *horizons;          /* [H], > 0, strictly ascending     */
    int has_close;
    unsigned quality_mask;
    int compression;                  /* deflate level 0..9; 0 = none     */
    int64_t chunk_rows;               /* rows per chunk; 0 = default      */
} vfr_dataset_spec;

/* Starts writing `path`. Data go to a temporary file beside it; only
 * vfr_dataset_writer_commit renames it into place, so a failed or aborted
 * write leaves no file at `path` (and an existing one untouched). */
vfr_status vfr_dataset_writer_open(const char *path, const vfr_dataset_spec *spec,
                                   vfr_dataset_writer **out);

/* Appends n rows. IN date, symbol: [n]; features: [n, F]; fwd: [n, H]
 * (may be NULL when H == 0); close: [n] (NULL unless has_close); quality:
 * array of VFR_QUALITY_COUNT pointers to [n] (entries NULL for absent
 * components; the array itself may be NULL when quality_mask is 0).
 * Rows must continue the (date, symbol) order strictly; the error names the
 * row number in the file. On error the writer is still valid only for abort. */
vfr_status vfr_dataset_writer_append(vfr_dataset_writer *w, int64_t n, const int32_t *date,
                                     const int32_t *symbol, const float *features,
                                     const float *fwd, const float *close,
                                     const float *const *quality);

/* Flushes, closes and renames into place. Frees w whatever the outcome. */
vfr_status vfr_dataset_writer_commit(vfr_dataset_writer *w);
/* Removes the temporary file and frees w. NULL is a no-op. */
void vfr_dataset_writer_abort(vfr_dataset_writer *w);

/* Dates: days since 1970-01-01 <-> "YYYY-MM-DD". Parse rejects anything else
 * (INVALID_ARG). Format writes 11 bytes including the NUL; a day number
 * whose year has no four digits comes out as 0000-00-00 or 9999-99-99.
 * Rows stored in datasets and predictions must lie in [VFR_DATE_MIN,
 * VFR_DATE_MAX] (1900-01-01 .. 2199-12-31): writers and readers refuse
 * others (a day count near the int32 limit is damage, not a date). */
#define VFR_DATE_MIN (-25567)  /* 1900-01-01 */
#define VFR_DATE_MAX 84005     /* 2199-12-31 */
#define VFR_DATE_MIN_STR "1900-01-01"
#define VFR_DATE_MAX_STR "2199-12-31"
vfr_status vfr_date_parse(const char *s, int32_t *days);
void vfr_date_format(int32_t days, char out[11]);
int vfr_date_in_range(int32_t days); /* 1 when in [VFR_DATE_MIN, VFR_DATE_MAX] */

#endif
