/* backtest_json.h: a backtest's results as JSON (not public API): what
 * metrics.json (train.c) and comparison.json (compare.c) write the same way. */
#ifndef VFR_BACKTEST_JSON_H
#define VFR_BACKTEST_JSON_H

#include <cjson/cJSON.h>

#include "vfr/backtest.h"

/* A row of the financial metrics table (backtest.h) as a JSON object, NaN as
 * null. */
cJSON *vfri_backtest_fin_json(const double *m);

/* Net and gross exposure (from a financial metrics row, backtest.h), beta
 * of the daily returns [T] to the market's daily returns [T] (buy-and-hold),
 * annualised alpha and its Newey-West t-statistic (lag from the horizon), as
 * {"net", "gross", "beta", "alpha", "alphaT"}; what cannot be computed is
 * null. */
cJSON *vfri_backtest_exposure_json(const double *fin, const double *daily, const double *market, int32_t T,
                                  int32_t horizon);

#endif
