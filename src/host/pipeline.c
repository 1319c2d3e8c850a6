/* pipeline.c: what vfr train and vfr tune share: the metrics view of a date
 * range of the prepared panel, and the model's device. */
#include "pipeline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vfr/backtest.h"
#include "vfr/lightgbm.h"
#include "vfr/model.h"
#include "vfr/stats.h"
#include "vfr/xgboost.h"
#include "vfr/status.h"

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

void vfr_pipeline_json_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

cJSON *vfr_pipeline_fin_json(const double *m)
{
    cJSON *o = cJSON_CreateObject();
    for (int k = 0; k < VFR_FIN_COUNT; k++)
        vfr_pipeline_json_num(o, vfr_backtest_metric_name((vfr_fin)k), m[k]);
    return o;
}

vfr_status vfr_pipeline_backtest_options(const vfr_job *job, const vfr_panel *p, vfr_backtest_options *bo)
{
    vfr_backtest_options_default(bo);
    bo->k = job->backtest.k;
    bo->threshold = job->backtest.threshold;
    bo->horizon = job->horizon;
    bo->cost_bps = job->backtest.cost_bps;
    if (strcmp(job->backtest.strategy, "auto") != 0)
        return vfr_backtest_strategy_parse(job->backtest.strategy, &bo->strategy);
    int32_t multi = 0; /* dates with at least two names */
    for (int32_t t = 0; p && t < p->T; t++)
        multi += p->date_offset[t + 1] - p->date_offset[t] >= 2;
    bo->strategy = p && p->T > 0 && 2 * (int64_t)multi >= p->T ? VFR_STRATEGY_LONG_SHORT_MEDIAN
                                                               : VFR_STRATEGY_LONG_SHORT_SIGN;
    return VFR_OK;
}

cJSON *vfr_pipeline_exposure_json(const double *fin, const double *daily, const double *market, int32_t T,
                                  int32_t horizon)
{
    cJSON *o = cJSON_CreateObject();
    vfr_pipeline_json_num(o, "net", fin[VFR_FIN_NET_EXPOSURE]);
    vfr_pipeline_json_num(o, "gross", fin[VFR_FIN_EXPOSURE]);
    vfr_stats_alpha_beta ab;
    double *y = malloc(sizeof *y * (size_t)(T > 0 ? T : 1)), *x = malloc(sizeof *x * (size_t)(T > 0 ? T : 1));
    int ok = 0;
    if (y && x) { /* a NaN day earned nothing (backtest.h) */
        for (int32_t t = 0; t < T; t++) {
            y[t] = isnan(daily[t]) ? 0.0 : daily[t];
            x[t] = isnan(market[t]) ? 0.0 : market[t];
        }
        ok = vfr_stats_alpha_beta_hac(y, x, T, vfr_stats_nw_lag(T, horizon), &ab) == VFR_OK;
    }
    free(y), free(x);
    vfr_error_clear();
    vfr_pipeline_json_num(o, "beta", ok ? ab.beta : NAN);
    vfr_pipeline_json_num(o, "alpha", ok ? ab.alpha * 252.0 : NAN);
    vfr_pipeline_json_num(o, "alphaT", ok ? ab.alpha_t : NAN);
    return o;
}

vfr_status vfr_pipeline_check_model(const vfr_job *job, vfr_device_kind model_dev)
{
    vfr_model_config mc = {job->model_type, job->training.hyperparameters_json, job->objective, model_dev,
                           job->training.seed, 1, NULL, 1, NULL};
    vfr_model *m = NULL;
    vfr_status st = vfr_model_create(&mc, &m);
    vfr_model_destroy(m);
    if (st != VFR_OK)
        vfr_error_prefix("%s: ", job->path);
    return st;
}
