/* pipeline.h: pieces vfr train and vfr tune share (not public API). */
#ifndef VFR_PIPELINE_H
#define VFR_PIPELINE_H

#include <cjson/cJSON.h>

#include "vfr/backtest.h"
#include "vfr/metrics.h"
#include "vfr/prepare.h"
#include "vfr/tune.h"

/* vfr_tune_run on data already prepared (vfr train with a search block). */
vfr_status vfr_tune_prepared(const vfr_job *job, const vfr_prepared *p, vfr_device_kind dev,
                             vfr_device_kind model_dev, const vfr_tune_options *o,
                             vfr_tune_result *res);

/* The device the model trains on: CUDA only when the model's library can;
 * `auto` falls back with a log line, an explicit `cuda` is NO_DEVICE. */
vfr_status vfr_pipeline_model_device(const vfr_job *job, vfr_device_kind asked, vfr_device_kind dev,
                                     const vfr_reporter *rep, vfr_device_kind *model_dev);

/* modelType and trainingConfig.hyperparameters, checked by creating the
 * model (its library judges what vfr has no rule for) before any data is
 * read. Errors: as vfr_model_create, the message prefixed with the job file. */
vfr_status vfr_pipeline_check_model(const vfr_job *job, vfr_device_kind model_dev);

/* The job's backtest (job.h: backtest) as options, for a panel: strategy
 * "auto" is long_short_median (dollar neutral) where the panel has at least 2
 * names on most dates, else long_short_sign (a single series). Errors:
 * INVALID_ARG (an unknown strategy name). */
vfr_status vfr_pipeline_backtest_options(const vfr_job *job, const vfr_panel *p, vfr_backtest_options *bo);

/* Net and gross exposure (from a financial metrics row, backtest.h), beta
 * of the daily returns [T] to the market's daily returns [T] (buy-and-hold),
 * annualised alpha and its Newey-West t-statistic (lag from the horizon), as
 * {"net", "gross", "beta", "alpha", "alphaT"}; what cannot be computed is
 * null. */
cJSON *vfr_pipeline_exposure_json(const double *fin, const double *daily, const double *market, int32_t T,
                                  int32_t horizon);

/* o[k] = v, or null when v is not finite (NaN has no JSON form). */
void vfr_pipeline_json_num(cJSON *o, const char *k, double v);

/* A row of the financial metrics table (backtest.h) as a JSON object, NaN as
 * null: metrics.json and comparison.json write it the same way. */
cJSON *vfr_pipeline_fin_json(const double *m);

#endif
