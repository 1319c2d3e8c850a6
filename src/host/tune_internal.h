/* tune_internal.h: the search on a panel already prepared, which vfr train
 * runs for a job with a search block (not public API). */
#ifndef VFR_TUNE_INTERNAL_H
#define VFR_TUNE_INTERNAL_H

#include "vfr/prepare.h"
#include "vfr/tune.h"

/* vfr_tune_run on data already prepared (vfr train with a search block). */
vfr_status vfri_tune_prepared(const vfr_job *job, const vfr_prepared *p, vfr_device_kind dev,
                             vfr_device_kind model_dev, const vfr_tune_options *o,
                             vfr_tune_result *res);

#endif
