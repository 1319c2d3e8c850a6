/* metrics.h: model scores against labels, batched over many prediction vectors.
 *
 * One call scores M prediction vectors (trials x folds, or candidate models)
 * against the same rows, labels and forward returns, and fills an M x
 * VFR_METRIC_COUNT table: classification, regression and per-date signal
 * (IC, rank IC) metrics. Exact definitions: docs/metrics.md. CPU twin and CUDA
 * kernels compute the same table; tests/test_metrics_parity.c holds one against
 * the other and tests/test_metrics.c holds the CPU twin against scikit-learn
 * and SciPy. Not here: backtests and financial metrics (backtest.h). */
#ifndef VFR_METRICS_H
#define VFR_METRICS_H

#include <stdint.h>

#include "vfr/device.h"
#include "vfr/status.h"

/* The rows every metric and backtest reads: N rows grouped by date, dates in
 * ascending order, rows of one date in ascending symbol order. A full panel
 * (every symbol on every date) is simply N = T * S. All arrays are borrowed.
 * NaN marks a missing value in label, fwd and fwd1. */
typedef struct vfr_panel {
    int64_t N;                  /* rows                                            */
    int32_t T;                  /* dates                                           */
    int32_t S;                  /* symbols                                         */
    const int64_t *date_offset; /* [T+1]: the rows of date t are [off[t], off[t+1]) */
    const int32_t *symbol;      /* [N] in [0, S), strictly ascending within a date  */
    const float *label;         /* [N] classification: 0 or 1; regression: target   */
    const float *fwd;           /* [N] forward return over the horizon, or NULL     */
    const float *fwd1;          /* [N] 1-day forward return (date t to t+1), or NULL */
} vfr_panel;

/* Checks the layout above: off[0] == 0, off nondecreasing, off[T] == N,
 * symbols in range and strictly ascending within a date.
 * Errors: INVALID_ARG naming the date or row. Thread-safe. */
vfr_status vfr_metrics_panel_check(const vfr_panel *p);

typedef enum vfr_task {
    VFR_TASK_CLASSIFICATION = 0, /* label 0/1, score = probability of class 1 */
    VFR_TASK_REGRESSION,         /* label and score are real numbers           */
} vfr_task;

/* "classification" | "regression" <-> task. Parse: INVALID_ARG otherwise. */
vfr_status vfr_metrics_task_parse(const char *s, vfr_task *out);
const char *vfr_metrics_task_name(vfr_task t);

/* Columns of the metrics table. Counts are stored as doubles (exact). A metric
 * of the other task, or one that is undefined (no rows, one class only, zero
 * variance ...), is NaN. */
typedef enum vfr_metric {
    VFR_METRIC_N = 0,          /* rows scored: finite score and finite label    */
    VFR_METRIC_ACCURACY,       /* classification ...                            */
    VFR_METRIC_PRECISION,
    VFR_METRIC_RECALL,
    VFR_METRIC_F1,
    VFR_METRIC_ROC_AUC,
    VFR_METRIC_LOG_LOSS,
    VFR_METRIC_TP,             /* confusion matrix                              */
    VFR_METRIC_FP,
    VFR_METRIC_TN,
    VFR_METRIC_FN,
    VFR_METRIC_MSE,            /* regression ...                                */
    VFR_METRIC_RMSE,
    VFR_METRIC_MAE,
    VFR_METRIC_R2,
    VFR_METRIC_MAPE,           /* fraction, over rows with a nonzero label      */
    VFR_METRIC_IC,             /* signal: mean over dates of Pearson(score, y)  */
    VFR_METRIC_IC_STD,         /* std (ddof 1) of the daily IC                  */
    VFR_METRIC_ICIR,           /* IC / IC_STD (not annualised)                  */
    VFR_METRIC_RANK_IC,        /* mean over dates of Spearman (average ranks)   */
    VFR_METRIC_RANK_IC_STD,
    VFR_METRIC_RANK_ICIR,
    VFR_METRIC_IC_DATES,       /* dates with a defined IC                       */
    VFR_METRIC_COUNT
} vfr_metric;

/* Static snake_case name of a column ("roc_auc", "rank_ic", ...); "?" if out of range. */
const char *vfr_metrics_name(vfr_metric m);

/* 1 when column m applies to the task (the classification columns to
 * classification, the regression ones to regression, n and the signal
 * columns to both): the columns a report shows. */
int vfr_metrics_applies(vfr_task task, vfr_metric m);

typedef struct vfr_metrics_options {
    vfr_task task;
    double threshold; /* classification: predicted 1 iff score > threshold (0.5) */
    int threads;      /* CPU threads across models; 0 = all online cores         */
} vfr_metrics_options;

/* Defaults: classification, threshold 0.5, all cores. */
void vfr_metrics_options_default(vfr_metrics_options *o);

/* Scores M prediction vectors against the panel.
 * IN p: the rows (vfr_metrics_panel_check is applied). The signal metrics
 *   correlate score with p->fwd, or with p->label when fwd is NULL.
 * IN score: [M, N] row-major (model-major), host memory; NaN/inf = no
 *   prediction (the row is left out for that model only).
 * OUT out: [M, VFR_METRIC_COUNT] row-major, caller-allocated.
 * Errors: INVALID_ARG (panel layout; M < 1; a classification label that is
 * neither 0 nor 1, naming the row), NOMEM. Thread-safe (threads are its own). */
vfr_status vfr_metrics_batch_cpu(const vfr_panel *p, const float *score, int32_t M,
                                 const vfr_metrics_options *o, double *out);

/* Same table computed on the CUDA device, all M models in a fixed number of
 * launches (more only when the models must be processed in memory-sized chunks).
 * Errors: as above, plus NO_DEVICE (not built with CUDA or no device), CUDA. */
vfr_status vfr_metrics_batch_cuda(const vfr_panel *p, const float *score, int32_t M,
                                  const vfr_metrics_options *o, double *out);

/* Same on a panel staged once (gpu.h), with the caller's work: its stream,
 * cuBLAS handle and scratch; nothing is allocated when the work already holds
 * enough (a repeated call with the same shapes). score may be host or device
 * memory ([M, N]; device scores are read in place). Not thread-safe for one
 * work. Errors: as vfr_metrics_batch_cuda; INVALID_ARG for a panel staged
 * without dates. */
typedef struct vfr_gpu_panel vfr_gpu_panel;
typedef struct vfr_gpu_work vfr_gpu_work;
vfr_status vfr_metrics_batch_staged(const vfr_gpu_panel *g, vfr_gpu_work *w, const float *score,
                                    int32_t M, const vfr_metrics_options *o, double *out);

/* Dispatches on a resolved device kind (CPU or CUDA; AUTO is treated as CPU). */
vfr_status vfr_metrics_batch(vfr_device_kind dev, const vfr_panel *p, const float *score,
                             int32_t M, const vfr_metrics_options *o, double *out);

#endif
