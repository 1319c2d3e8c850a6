/* backtest_json.c: a backtest's results as the JSON that metrics.json and
 * comparison.json carry (backtest_json.h): the financial metrics row, and
 * the exposure with the market beta and alpha. NaN is written as null. */
#include "backtest_json.h"

#include <math.h>
#include <stdlib.h>

#include "util.h"
#include "vfr/stats.h"

cJSON *vfri_backtest_fin_json(const double *m)
{
    cJSON *o = cJSON_CreateObject();
    for (int k = 0; k < VFR_FIN_COUNT; k++)
        vfri_json_num(o, vfr_backtest_metric_name((vfr_fin)k), m[k]);
    return o;
}

cJSON *vfri_backtest_exposure_json(const double *fin, const double *daily, const double *market, int32_t T,
                                  int32_t horizon)
{
    cJSON *o = cJSON_CreateObject();
    vfri_json_num(o, "net", fin[VFR_FIN_NET_EXPOSURE]);
    vfri_json_num(o, "gross", fin[VFR_FIN_EXPOSURE]);
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
    vfri_json_num(o, "beta", ok ? ab.beta : NAN);
    vfri_json_num(o, "alpha", ok ? ab.alpha * 252.0 : NAN);
    vfri_json_num(o, "alphaT", ok ? ab.alpha_t : NAN);
    return o;
}
