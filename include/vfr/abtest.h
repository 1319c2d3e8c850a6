/* abtest.h: reading an A/B test out of a `vfr predict` file. Such a file
 * carries /version_index [N] and /versions [V] (docs/registry.md): which
 * served version scored each row. Here each version's rows are scored on
 * their own (model metrics and a backtest, as vfr evaluate and vfr backtest
 * would), and two versions are compared on the dates both hold positions:
 * a Newey-West paired t-test of the daily net return difference. The arms
 * are routed by symbol, so they hold different names: the difference mixes
 * the models with the two symbol sets (said in every output). Not here:
 * routing (registry.h), the tests themselves (stats.h). */
#ifndef VFR_ABTEST_H
#define VFR_ABTEST_H

#include <stdint.h>

#include "vfr/backtest.h"
#include "vfr/device.h"
#include "vfr/metrics.h"
#include "vfr/stats.h"
#include "vfr/status.h"

typedef struct vfr_ab_arm {
    char version[64];
    int64_t rows;
    int32_t dates, symbols;          /* distinct dates and symbols of its rows  */
    double metrics[VFR_METRIC_COUNT]; /* model metrics of its rows (NaN: no label) */
    double backtest[VFR_FIN_COUNT];  /* NaN when the file has no 1-day return  */
    int32_t *date;                   /* [dates] its dates, ascending            */
    double *daily;                   /* [dates] net daily return, or NULL       */
} vfr_ab_arm;

typedef struct vfr_ab_result {
    char model[128];        /* the file's `model` attribute ("" if absent)          */
    int32_t V;              /* served versions: 1, or 2 (champion, challenger)      */
    vfr_ab_arm *arm;        /* [V], in /versions order                              */
    int32_t horizon;
    vfr_task task;
    /* V == 2 and both arms backtested: arm[1] - arm[0] on the common dates */
    int compared;           /* 1 when the test below ran                           */
    char why_not[256];      /* else: why not, in words                             */
    int64_t common_dates;
    vfr_stats_ttest diff;   /* Newey-West, lag vfr_stats_nw_lag(n, horizon)         */
    double sharpe[2];       /* annualised Sharpe of each arm over the common dates  */
} vfr_ab_result;

/* Scores each served version's rows of the predictions file at path.
 * IN set: VFR_SET_* filter (VFR_SET_ALL: every row); mo: metrics options
 * (task is taken from the file); bo: backtest options (horizon 0: the
 * file's). OUT r: filled; free with vfr_ab_result_free.
 * Errors: NOT_FOUND, FORMAT (not a predictions file, or no /version_index
 * and /versions: not written by vfr predict; an index outside [0, V)),
 * INVALID_ARG (options, a set filter on a file without /set), NOMEM,
 * NO_DEVICE/CUDA. Not thread-safe (HDF5 serial). */
vfr_status vfr_ab_evaluate(const char *path, int set, vfr_device_kind dev, const vfr_metrics_options *mo,
                           const vfr_backtest_options *bo, vfr_ab_result *r);

/* Frees what vfr_ab_evaluate allocated; NULL is a no-op. */
void vfr_ab_result_free(vfr_ab_result *r);

#endif
