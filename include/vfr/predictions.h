/* predictions.h: the predictions file (HDF5, format v1) that training writes
 * and `vfr evaluate` / `vfr backtest` read. Layout: docs/predictions-format.md.
 *
 * One row per (date, symbol), sorted by date then symbol, unique; one or more
 * score vectors over those rows (M models or trials), the label, the forward
 * return over the horizon, the 1-day forward return (for daily P&L) and the
 * set (train / validation / test) each row belongs to. The whole file is read
 * into memory: predictions are test-period rows, small next to a dataset.
 * Not thread-safe (HDF5 serial is not). */
#ifndef VFR_PREDICTIONS_H
#define VFR_PREDICTIONS_H

#include <stdint.h>

#include "vfr/metrics.h"
#include "vfr/status.h"

#define VFR_PREDICTIONS_FORMAT "vfr-predictions"
#define VFR_PREDICTIONS_FORMAT_VERSION 1

/* Values of the optional /set column, and the read filter. */
enum {
    VFR_SET_ALL = -1, /* read filter only: every row */
    VFR_SET_TRAIN = 0,
    VFR_SET_VALIDATION = 1,
    VFR_SET_TEST = 2,
};

/* "train" | "validation" | "test" | "all" <-> set code. */
vfr_status vfr_predictions_set_parse(const char *s, int *set);
const char *vfr_predictions_set_name(int set);

/* A predictions file in memory. A plain container: read fills and owns every
 * array (free with vfr_predictions_free); a caller that builds one to write
 * owns its arrays and may leave date_offset NULL (write derives it). */
typedef struct vfr_predictions {
    int64_t N;              /* rows                                          */
    int32_t M;              /* score vectors (models, trials), >= 1          */
    int32_t S;              /* symbols                                       */
    int32_t T;              /* distinct dates (filled by read)               */
    int32_t horizon;        /* trading days of fwd, >= 1                     */
    vfr_task task;
    char **symbols;         /* [S] unique, non-empty                         */
    char **score_names;     /* [M], or NULL: "score" / "score_<i>"            */
    int32_t *date;          /* [N] days since 1970-01-01                     */
    int32_t *symbol;        /* [N] index into symbols                        */
    int64_t *date_offset;   /* [T+1] rows of date t: [off[t], off[t+1])      */
    float *score;           /* [M, N] model-major                            */
    float *label;           /* [N] 0/1 or real target; NaN = missing         */
    float *fwd;             /* [N] forward return over horizon, or NULL      */
    float *fwd1;            /* [N] 1-day forward return, or NULL             */
    int8_t *set;            /* [N] VFR_SET_TRAIN/VALIDATION/TEST, or NULL    */
    /* The backtest the run evaluated these rows with (attributes of /, so
     * that vfr backtest and vfr evaluate default to it); write: NULL for none;
     * read: points at bt_store when the file records one, else NULL. */
    const struct vfr_backtest_options *backtest;
    struct vfr_backtest_options *bt_store;
} vfr_predictions;

/* Reads and validates a predictions file, keeping only the rows of `set`
 * (VFR_SET_ALL: every row; a set filter on a file without /set is an error).
 * Errors: NOT_FOUND (no file), FORMAT (not a vfr predictions file, wrong
 * version, shapes that disagree, unsorted or duplicate rows, bad set code,
 * naming the field and row), INVALID_ARG (set absent), NOMEM, IO. */
vfr_status vfr_predictions_read(const char *path, int set, vfr_predictions **out);

/* Frees what read allocated. NULL is a no-op. */
void vfr_predictions_free(vfr_predictions *p);

/* Writes p to path through a temporary file renamed into place (nothing at
 * path on failure; an existing file untouched). HDF5 object times are off, so
 * the same input gives the same bytes. compression: deflate level 0..9.
 * Errors: INVALID_ARG/FORMAT (shapes, order, set codes, names), IO, NOMEM. */
vfr_status vfr_predictions_write(const char *path, const vfr_predictions *p, int compression);

/* The panel view of p (pointers into p; p must have date_offset, i.e. come
 * from vfr_predictions_read). */
void vfr_predictions_panel(const vfr_predictions *p, vfr_panel *out);

#endif
