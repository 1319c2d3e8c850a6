/* pipeline.c: what vfr train and vfr tune share: the metrics view of a date
 * range of the prepared panel, and the model's device. */
#include "pipeline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vfr/backtest.h"
#include "vfr/lightgbm.h"
#include "vfr/xgboost.h"

vfr_status vfr_pipeline_panel(const vfr_prepared *p, int32_t lo, int32_t hi, int64_t **offsets,
                              vfr_panel *out)
{
    int64_t r0 = p->date_row[lo];
    *offsets = malloc(sizeof **offsets * (size_t)(hi - lo + 1));
    if (!*offsets)
        return vfr_fail(VFR_ERR_NOMEM, "out of memory");
    for (int32_t t = lo; t <= hi; t++)
        (*offsets)[t - lo] = p->date_row[t] - r0;
    out->N = p->date_row[hi] - r0;
    out->T = hi - lo;
    out->S = p->S;
    out->date_offset = *offsets;
    out->symbol = p->symbol + r0;
    out->label = p->y + r0;
    out->fwd = p->fwd + r0;
    out->fwd1 = p->fwd1 + r0;
    return VFR_OK;
}

vfr_status vfr_pipeline_model_device(const vfr_job *job, vfr_device_kind asked, vfr_device_kind dev,
                                     const vfr_reporter *rep, vfr_device_kind *model_dev)
{
    *model_dev = dev;
    if (strcmp(job->model_type, "lightgbm") == 0 && dev == VFR_DEVICE_CUDA) {
        vfr_lightgbm_info li;
        int ok = 0;
        if (vfr_lightgbm_probe(&li) != VFR_OK || vfr_lightgbm_cuda(&ok) != VFR_OK || ok)
            return VFR_OK;
        if (asked == VFR_DEVICE_CUDA)
            return vfr_fail(VFR_ERR_NO_DEVICE,
                            "--device cuda: the LightGBM library %s (%s) has no CUDA; set VFR_LIGHTGBM_LIB to a "
                            "lib_lightgbm.so built with -DUSE_CUDA=ON (docs/lightgbm.md)",
                            li.path, li.version);
        vfr_report_log(rep, VFR_LOG_WARN,
                       "device auto: %s has no CUDA, so LightGBM trains on the CPU (metrics still use the GPU)",
                       li.path);
        *model_dev = VFR_DEVICE_CPU;
        return VFR_OK;
    }
    if (strcmp(job->model_type, "xgboost") != 0 || dev != VFR_DEVICE_CUDA)
        return VFR_OK;
    vfr_xgboost_info xi;
    if (vfr_xgboost_probe(&xi) != VFR_OK || xi.has_cuda)
        return VFR_OK;
    if (asked == VFR_DEVICE_CUDA)
        return vfr_fail(VFR_ERR_NO_DEVICE,
                        "--device cuda: the XGBoost library %s (%d.%d.%d) has no CUDA; set VFR_XGBOOST_LIB to a CUDA-enabled libxgboost.so",
                        xi.path, xi.major, xi.minor, xi.patch);
    vfr_report_log(rep, VFR_LOG_WARN,
                   "device auto: %s has no CUDA, so XGBoost trains on the CPU (metrics still use the GPU)",
                   xi.path);
    *model_dev = VFR_DEVICE_CPU;
    return VFR_OK;
}

cJSON *vfr_pipeline_fin_json(const double *m)
{
    cJSON *o = cJSON_CreateObject();
    for (int k = 0; k < VFR_FIN_COUNT; k++)
        if (isfinite(m[k]))
            cJSON_AddNumberToObject(o, vfr_backtest_metric_name((vfr_fin)k), m[k]);
        else
            cJSON_AddNullToObject(o, vfr_backtest_metric_name((vfr_fin)k));
    return o;
}
