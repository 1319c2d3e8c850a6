/* backtest.h: vectorized backtests of many score vectors, and the financial
 * metrics of daily returns.
 *
 * Scores become equal-weight daily portfolios (long_short_sign, long_only,
 * top_k), held for `horizon` trading days as overlapping cohorts (1/h of the
 * capital in each of the last h daily cohorts), charged cost_bps on turnover,
 * and summarised as an M x VFR_FIN_COUNT table. Exact conventions (252 days a
 * year, risk-free rate, flat days, drawdown duration): docs/metrics.md.
 * CPU twin and CUDA kernels compute the same things; the batch is one call for
 * all M strategies. Not here: model metrics (metrics.h), file formats
 * (predictions.h). */
#ifndef VFR_BACKTEST_H
#define VFR_BACKTEST_H

#include <stdint.h>

#include "vfr/device.h"
#include "vfr/metrics.h"
#include "vfr/status.h"

typedef enum vfr_strategy {
    VFR_STRATEGY_LONG_SHORT_SIGN = 0, /* +1 above threshold, -1 below, equal weight  */
    VFR_STRATEGY_LONG_ONLY,           /* long the names above threshold, equal weight */
    VFR_STRATEGY_TOP_K,               /* long the k highest, short the k lowest       */
    VFR_STRATEGY_LONG_SHORT_MEDIAN,   /* dollar neutral: long the names above the
                                         date's median score, short those below,
                                         each side half the capital, equal weight;
                                         no position on a date without both sides */
} vfr_strategy;

/* "long_short_sign" | "long_only" | "top_k" | "long_short_median" <-> strategy. */
vfr_status vfr_backtest_strategy_parse(const char *s, vfr_strategy *out);
const char *vfr_backtest_strategy_name(vfr_strategy s);

/* Columns of the financial metrics table (docs/metrics.md). Undefined values
 * (no losing day for the profit factor, zero volatility ...) are NaN. */
typedef enum vfr_fin {
    VFR_FIN_DAYS = 0,             /* T: days in the daily return series         */
    VFR_FIN_DIRECTIONAL_ACCURACY, /* share of positions whose sign matches fwd  */
    VFR_FIN_TOTAL_RETURN,         /* prod(1 + r) - 1                            */
    VFR_FIN_CAGR,                 /* (1 + total)^(252 / T) - 1                  */
    VFR_FIN_VOLATILITY,           /* std(r, ddof 1) * sqrt(252)                 */
    VFR_FIN_SHARPE,               /* mean(r - rf) / std(r) * sqrt(252)          */
    VFR_FIN_SORTINO,              /* mean(r - rf) / downside dev * sqrt(252)    */
    VFR_FIN_MAX_DRAWDOWN,         /* max of 1 - equity / running peak, >= 0     */
    VFR_FIN_MAX_DRAWDOWN_DAYS,    /* longest peak-to-recovery (or to end), days */
    VFR_FIN_CALMAR,               /* CAGR / max drawdown                        */
    VFR_FIN_PROFIT_FACTOR,        /* sum of gains / |sum of losses|             */
    VFR_FIN_WIN_RATE,             /* days r > 0 / days r != 0                   */
    VFR_FIN_AVG_WIN,              /* mean r over days r > 0                     */
    VFR_FIN_AVG_LOSS,             /* mean r over days r < 0 (negative)          */
    VFR_FIN_TURNOVER,             /* mean daily sum |w_t - w_{t-1}|             */
    VFR_FIN_EXPOSURE,             /* mean daily gross exposure sum |w_t|        */
    VFR_FIN_NET_EXPOSURE,         /* mean daily net exposure sum w_t            */
    VFR_FIN_COUNT
} vfr_fin;

/* Static snake_case name of a column ("sharpe", "max_drawdown", ...). */
const char *vfr_backtest_metric_name(vfr_fin f);

typedef struct vfr_backtest_options {
    vfr_strategy strategy;
    int32_t k;                /* top_k: names per side, >= 1                      */
    double threshold;         /* long_short_sign, long_only: the score threshold   */
    int32_t horizon;          /* holding period in trading days, >= 1              */
    double cost_bps;          /* cost per unit of turnover, basis points, >= 0     */
    double risk_free;         /* annual risk-free rate (default 0)                 */
    int32_t periods_per_year; /* annualisation (default 252)                       */
    int threads;              /* CPU threads across strategies; 0 = all cores      */
} vfr_backtest_options;

/* Defaults: top_k, k 5, threshold 0, horizon 1, cost 0, risk-free 0, 252, all cores. */
void vfr_backtest_options_default(vfr_backtest_options *o);

/* Checks the options. Errors: INVALID_ARG naming the field. */
vfr_status vfr_backtest_options_check(const vfr_backtest_options *o);

/* Backtests M score vectors over the same panel.
 * IN p: rows (vfr_metrics_panel_check applies); needs p->fwd1 (daily P&L);
 *   p->fwd (horizon return) is used for directional accuracy only and may be
 *   NULL (that metric is then NaN). A NaN fwd1 earns 0 that day.
 * IN score: [M, N] model-major host memory; NaN/inf = no view (never held).
 * OUT metrics: [M, VFR_FIN_COUNT], caller-allocated.
 * OUT daily: [M, T] net daily returns (after costs), or NULL.
 * Errors: INVALID_ARG (panel, options, M < 1, fwd1 NULL), NOMEM.
 * Thread-safe (threads are its own). */
vfr_status vfr_backtest_cpu(const vfr_panel *p, const float *score, int32_t M,
                            const vfr_backtest_options *o, double *metrics, double *daily);

/* Same on the CUDA device: every strategy in one fixed sequence of launches.
 * Errors: as above, plus NO_DEVICE, CUDA. */
vfr_status vfr_backtest_cuda(const vfr_panel *p, const float *score, int32_t M,
                             const vfr_backtest_options *o, double *metrics, double *daily);

/* Same on a panel staged once (gpu.h), with the caller's work (stream and
 * grow-only scratch: a repeated call with the same shapes allocates nothing).
 * score may be host or device memory ([M, N]; device scores are only read).
 * Not thread-safe for one work. Errors: as vfr_backtest_cuda; INVALID_ARG for
 * a panel staged without dates. */
typedef struct vfr_gpu_panel vfr_gpu_panel;
typedef struct vfr_gpu_work vfr_gpu_work;
vfr_status vfr_backtest_staged(const vfr_gpu_panel *g, vfr_gpu_work *w, const float *score, int32_t M,
                               const vfr_backtest_options *o, double *metrics, double *daily);

/* Dispatches on a resolved device kind (CPU or CUDA). */
vfr_status vfr_backtest(vfr_device_kind dev, const vfr_panel *p, const float *score, int32_t M,
                        const vfr_backtest_options *o, double *metrics, double *daily);

/* Financial metrics of daily returns made elsewhere (baselines, other tools).
 * IN daily: [M, T] simple daily returns; a NaN day counts as 0.
 * OUT metrics: [M, VFR_FIN_COUNT]; DIRECTIONAL_ACCURACY, TURNOVER,
 * EXPOSURE and NET_EXPOSURE are NaN (positions are unknown). Only risk_free, periods_per_year
 * and threads of o are read. Errors: INVALID_ARG, NOMEM (+ NO_DEVICE, CUDA). */
vfr_status vfr_backtest_stats_cpu(const double *daily, int32_t M, int32_t T,
                                  const vfr_backtest_options *o, double *metrics);
vfr_status vfr_backtest_stats_cuda(const double *daily, int32_t M, int32_t T,
                                   const vfr_backtest_options *o, double *metrics);
vfr_status vfr_backtest_stats(vfr_device_kind dev, const double *daily, int32_t M, int32_t T,
                              const vfr_backtest_options *o, double *metrics);

/* Equity curve of one daily return series: equity[t] = prod_{u<=t} (1 + r_u),
 * starting capital 1 (not stored). NaN days count as 0. IN daily, OUT equity: [T]. */
void vfr_backtest_equity(const double *daily, int32_t T, double *equity);

/* Writes a backtest result file (HDF5, docs/predictions-format.md):
 * /date [T], /names [M], /daily_return [M, T], /equity [M, T] and the options
 * as attributes. Written to a temporary file and renamed into place.
 * IN date: [T] days since 1970-01-01, or NULL (0..T-1); names: [M] or NULL.
 * Errors: INVALID_ARG, IO, NOMEM. */
vfr_status vfr_backtest_write(const char *path, const vfr_backtest_options *o, int32_t M,
                              int32_t T, const int32_t *date, const char *const *names,
                              const double *daily);

/* Reads /daily_return [M, T] (float64 or float32) and /names of such a file
 * (or any HDF5 file with that dataset). OUT *daily: [M, T], *names: [M]
 * strings (may be NULL when absent); both malloc'ed, free with
 * vfr_backtest_free_returns. Errors: NOT_FOUND, FORMAT, NOMEM. */
vfr_status vfr_backtest_read_returns(const char *path, int32_t *M, int32_t *T, double **daily,
                                     char ***names);
void vfr_backtest_free_returns(double *daily, char **names, int32_t M);

#endif
