/* backtest_formula.h: the financial metrics of one daily return series
 * (Sharpe, Sortino, drawdown, ...), written once for the CPU twin
 * (src/host/backtest.c) and the CUDA stats kernel (src/kernels/backtest.cu).
 * Conventions: docs/metrics.md. */
#ifndef VFR_BACKTEST_FORMULA_H
#define VFR_BACKTEST_FORMULA_H

#include <math.h>
#include <stdint.h>

#include "hostdevice.h"
#include "vfr/backtest.h"

/* Fills every column of row [VFR_FIN_COUNT] but DIRECTIONAL_ACCURACY,
 * TURNOVER and the exposures, which the caller sets (row starts all NaN).
 * IN r: [T] daily returns, a NaN day counts as 0; ppy: periods per year;
 * rfa: annual risk-free rate. */
static inline VFR_HOST_DEVICE void vfri_backtest_return_stats(const double *r, int32_t T, double ppy,
                                                             double rfa, double *row)
{
    const double rf = rfa / ppy;
    row[VFR_FIN_DAYS] = T;
    if (T == 0)
        return;
    double sum = 0, eq = 1, peak = 1, mdd = 0, win = 0, loss = 0;
    int64_t peak_day = -1, dur = 0, nwin = 0, nloss = 0;
    int under = 0;
    for (int32_t t = 0; t < T; t++) {
        double x = isnan(r[t]) ? 0.0 : r[t];
        sum += x;
        if (x > 0)
            win += x, nwin++;
        else if (x < 0)
            loss += x, nloss++;
        eq *= 1.0 + x;
        if (eq >= peak) {
            if (under && t - peak_day > dur)
                dur = t - peak_day;
            under = 0;
            peak = eq, peak_day = t;
        } else {
            under = 1;
            double dd = 1.0 - eq / peak;
            if (dd > mdd)
                mdd = dd;
        }
    }
    if (under && (T - 1) - peak_day > dur)
        dur = (T - 1) - peak_day;
    double mean = sum / T, ss = 0, down = 0;
    for (int32_t t = 0; t < T; t++) {
        double x = isnan(r[t]) ? 0.0 : r[t], d = x - rf;
        ss += (x - mean) * (x - mean);
        if (d < 0)
            down += d * d;
    }
    double sd = T >= 2 ? sqrt(ss / (T - 1)) : NAN, dd = sqrt(down / T);
    double cagr = eq > 0 ? pow(eq, ppy / T) - 1.0 : -1.0;
    row[VFR_FIN_TOTAL_RETURN] = eq - 1.0;
    row[VFR_FIN_CAGR] = cagr;
    row[VFR_FIN_VOLATILITY] = sd * sqrt(ppy);
    row[VFR_FIN_SHARPE] = sd > 0 ? (mean - rf) / sd * sqrt(ppy) : NAN;
    row[VFR_FIN_SORTINO] = T >= 2 && dd > 0 ? (mean - rf) / dd * sqrt(ppy) : NAN;
    row[VFR_FIN_MAX_DRAWDOWN] = mdd;
    row[VFR_FIN_MAX_DRAWDOWN_DAYS] = (double)dur;
    row[VFR_FIN_CALMAR] = mdd > 0 ? cagr / mdd : NAN;
    row[VFR_FIN_PROFIT_FACTOR] = nloss ? win / -loss : NAN;
    row[VFR_FIN_WIN_RATE] = nwin + nloss ? (double)nwin / (double)(nwin + nloss) : NAN;
    row[VFR_FIN_AVG_WIN] = nwin ? win / (double)nwin : NAN;
    row[VFR_FIN_AVG_LOSS] = nloss ? loss / (double)nloss : NAN;
}

#endif
