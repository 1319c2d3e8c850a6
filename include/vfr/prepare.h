/* prepare.h: from a dataset and a job to the panel a model trains on: the
 * date range and symbols, the data-quality gate, and the target.
 *
 * Per-row quality = completeness*0.35 + freshness*0.25 + reliability*0.25 +
 * validity*0.15, from the stored /quality components where present, else
 * derived (docs/job-config.md, "Data quality"). Rows go when their label is
 * missing, quality < minQuality, completeness < minCompleteness, a feature is
 * non-finite (policy dropRow), or the move is exactly flat (flatPolicy drop,
 * direction targets); then symbols with fewer than minSamplesPerSymbol rows.
 * Splits and folds are index ranges over the panel. Where the features live
 * follows dataConfig.memory (docs/job-config.md, "Memory"): an in-core panel
 * holds one copy of the surviving rows' features (X); a streamed panel holds
 * only indices, labels, forward returns and dates, and reads the features
 * from the dataset file by chunks when a model needs them (X is NULL). The
 * dataset must then stay open as long as the panel is used.
 *
 * The gate decides which rows TRAIN (and count in the classification
 * metrics), never which names are TRADED: rows it drops that are still
 * tradable at their date (a feature row, and a finite positive close where the
 * dataset stores closes) are kept after the trainable rows, with a NaN label,
 * so that every backtest holds positions over the names known at t and not
 * over the names whose forward return turned out nonzero (docs/comparison.md,
 * "What vfr guarantees against look-ahead"). */
#ifndef VFR_PREPARE_H
#define VFR_PREPARE_H

#include <stdint.h>

#include "vfr/dataset.h"
#include "vfr/device.h"
#include "vfr/job.h"
#include "vfr/metrics.h"
#include "vfr/model.h"
#include "vfr/report.h"
#include "vfr/status.h"

typedef struct vfr_prepared {
    int64_t n;              /* trainable rows: [0, n), sorted by (date, symbol)  */
    int64_t n_all;          /* + tradable rows the gate dropped: [n, n_all),
                               sorted by (date, symbol); every per-row array
                               below has n_all entries                          */
    int32_t F, S, T;        /* features, symbols (of the dataset), dates         */
    float *X;               /* [n_all, F] features, NaN = missing (keepAsMissing);
                               NULL for a streamed panel (vfr_prepared_read_features) */
    int64_t *src_row;       /* [n_all] the dataset row of each prepared row      */
    struct vfr_prepared_source *src; /* streamed panels: the dataset and its lock */
    int external;           /* XGBoost matrices in external memory (cache_dir)  */
    char *cache_dir;        /* external memory's cache folder, made on first use */
    float *y;               /* [n] label: 0/1 (direction) or the return; NaN past n */
    float *fwd;             /* [n] forward return at the job's horizon           */
    float *fwd1;            /* [n] 1-day forward return; NaN where not stored    */
    float *close;           /* [n] or NULL                                        */
    int32_t *date, *symbol; /* [n] days since epoch; index into dataset symbols  */
    int32_t *dates;         /* [T] distinct dates, ascending                     */
    int64_t *date_row;      /* [T + 1] rows of date t are [date_row[t], date_row[t+1]) */
    int64_t *xdate_row;     /* [T + 1] the dropped-but-tradable rows of date t are
                               [xdate_row[t], xdate_row[t+1]), within [n, n_all] */
    int64_t *prev_row;      /* [n_all] the row of the same symbol's previous date
                               (trainable or not: history is what was known), or -1
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

/* Reads the features of prepared rows [r0, r1) into out [(r1-r0), F]: from
 * X, or for a streamed panel from the dataset, by chunks, rows the gate
 * dropped skipped. Thread-safe (reads of one panel are serialised).
 * Errors: INVALID_ARG (range), IO, NOMEM. */
vfr_status vfr_prepared_read_features(const vfr_prepared *p, int64_t r0, int64_t r1, float *out);

/* A model's view of prepared rows [r0, r1) (model.h): labels y when `labels`,
 * the rows' history for sequence models; zero-copy over X for an in-core
 * panel, streamed from the dataset otherwise, with the external-memory cache
 * folder when the panel uses one. Thread-safe. OUT out: destroy with
 * vfr_dataview_destroy before the panel. Errors: NOMEM. */
vfr_status vfr_prepared_view(const vfr_prepared *p, int64_t r0, int64_t r1, int labels, vfr_dataview **out);

/* Moves an external-memory panel's cache folder (.xgbcache-<pid>, first made
 * under $TMPDIR or /tmp; removed by vfr_prepared_free) under the run folder
 * run_dir, made if needed; call it before the first view. No-op for other
 * panels. Errors: IO. */
vfr_status vfr_prepared_set_cache_root(vfr_prepared *p, const char *run_dir);

/* Rows [*r0, *r1) of the date-index range [lo, hi). */
void vfr_prepared_rows(const vfr_prepared *p, int32_t lo, int32_t hi, int64_t *r0, int64_t *r1);

/* The trading view of dates [lo, hi): every tradable row of those dates
 * (trainable or not) in (date, symbol) order, as the metrics/backtest layout
 * (metrics.h). Labels are NaN on rows the gate dropped, so classification
 * metrics skip them while backtests hold them.
 * OUT: row [N] the prepared row of each view row; the arrays are owned by the
 * struct (vfr_trading_view_free). Errors: NOMEM. */
typedef struct vfr_trading_view {
    vfr_panel panel;        /* N, T, S and the arrays below                     */
    int64_t *row;           /* [N] prepared row index                           */
    int64_t *offset;        /* [T + 1]                                           */
    int32_t *symbol, *date; /* [N]                                               */
    float *label, *fwd, *fwd1; /* [N]                                            */
} vfr_trading_view;
vfr_status vfr_prepared_trading_view(const vfr_prepared *p, int32_t lo, int32_t hi, vfr_trading_view *out);
/* The same over n ascending, disjoint date ranges [lo[i], hi[i]) (a cpcv
 * fold's test blocks), concatenated in date order. */
vfr_status vfr_prepared_trading_view_ranges(const vfr_prepared *p, const int32_t *lo, const int32_t *hi, int32_t n,
                                            vfr_trading_view *out);
void vfr_trading_view_free(vfr_trading_view *v); /* frees the arrays; NULL is a no-op */

#endif
