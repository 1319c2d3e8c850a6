/* pipeline.h: pieces vfr train and vfr tune share (not public API). */
#ifndef VFR_PIPELINE_H
#define VFR_PIPELINE_H

#include <cjson/cJSON.h>

#include "vfr/metrics.h"
#include "vfr/prepare.h"
#include "vfr/tune.h"

/* The metrics layout (metrics.h) of the prepared rows of dates [lo, hi).
 * OUT *offsets: allocated [hi - lo + 1], the caller frees it. */
vfr_status vfr_pipeline_panel(const vfr_prepared *p, int32_t lo, int32_t hi, int64_t **offsets,
                              vfr_panel *out);

/* vfr_tune_run on data already prepared (vfr train with a search block). */
vfr_status vfr_tune_prepared(const vfr_job *job, const vfr_prepared *p, vfr_device_kind dev,
                             vfr_device_kind model_dev, const vfr_tune_options *o,
                             vfr_tune_result *res);

/* The device the model trains on: CUDA only when the model's library can;
 * `auto` falls back with a log line, an explicit `cuda` is NO_DEVICE. */
vfr_status vfr_pipeline_model_device(const vfr_job *job, vfr_device_kind asked, vfr_device_kind dev,
                                     const vfr_reporter *rep, vfr_device_kind *model_dev);

/* A row of the financial metrics table (backtest.h) as a JSON object, NaN as
 * null: metrics.json and comparison.json write it the same way. */
cJSON *vfr_pipeline_fin_json(const double *m);

#endif
