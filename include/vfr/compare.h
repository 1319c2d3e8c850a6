/* compare.h: the model against simple baselines and the current champion,
 * on the same test dates through the same backtest, with tests that respect
 * autocorrelated daily returns, the Probabilistic and Deflated Sharpe Ratio
 * (deflated by the trials the search actually evaluated), and the deploy
 * decision with its reason in words. Output: comparison.json
 * (docs/comparison.md) and the baselines' daily returns in backtest.h5. */
#ifndef VFR_COMPARE_H
#define VFR_COMPARE_H

#include <stdint.h>

#include "vfr/device.h"
#include "vfr/job.h"
#include "vfr/report.h"
#include "vfr/status.h"

/* ---- baselines as positions (pure, for tests) ----------------------------- */

/* SMA crossover on one symbol's closes [T]: OUT pos [T] = +1 when
 * SMA(fast) > SMA(slow) at t (closes up to t only), else -1 (allow_short) or
 * 0; NaN while the slow window is incomplete. */
void vfr_baseline_sma(const float *close, int64_t T, int32_t fast, int32_t slow, int allow_short,
                      float *pos);
/* Momentum: OUT pos [T] = sign(close[t] / close[t - n] - 1) (0 when flat),
 * NaN for t < n. */
void vfr_baseline_momentum(const float *close, int64_t T, int32_t n, float *pos);

/* ---- the decision rule ------------------------------------------------------ */

typedef struct vfr_decision_inputs {
    const char *against;             /* baseline name                     */
    double sharpe, base_sharpe;      /* annualised                        */
    double accuracy, base_accuracy;  /* directional accuracy, 0..1        */
    double p_value, mean_diff;       /* paired test on daily differences  */
    double max_drawdown;             /* model, >= 0 (fraction lost)       */
    double dsr;                      /* Deflated Sharpe Ratio             */
} vfr_decision_inputs;

#define VFR_DECISION_CHECKS 6

typedef struct vfr_decision_check {
    const char *name;                /* static                             */
    double value, threshold;
    int passed;
} vfr_decision_check;

typedef struct vfr_decision {
    int should_deploy;
    char reason[2048];
    vfr_decision_check checks[VFR_DECISION_CHECKS];
} vfr_decision;

/* Applies the job's baseline thresholds (job.h: baseline). Every check must
 * pass; the reason names the numbers that decided it. Thread-safe. */
void vfr_compare_decide(const vfr_job *job, const vfr_decision_inputs *in, vfr_decision *out);

/* ---- the comparison of a run folder ---------------------------------------- */

/* Finds the current champion of a model and scores test rows with it, for the
 * `champion` baseline. Provided by the registry; NULL: champion skipped. */
typedef struct vfr_champion_source {
    /* OUT *score [n] malloc'ed; return NOT_FOUND (with a message) when there
     * is no champion yet; *version_out names it. X NULL: only looks the
     * champion up (OK, *score NULL), so that the rows' features are read
     * only when there is one to score them. */
    vfr_status (*score)(void *user, const char *model_name, const float *X, const int64_t *prev_row,
                        int64_t n, int32_t F, float **score, char version_out[64]);
    void *user;
} vfr_champion_source;

typedef struct vfr_compare_options {
    const char *const *baselines;    /* names to run; NULL: all                 */
    int32_t n_baselines;
    vfr_device_kind device;          /* resolved                                */
    const vfr_champion_source *champion;
    const vfr_reporter *reporter;
} vfr_compare_options;

/* Compares the run in run_dir (its job.json, predictions.h5 test rows,
 * search.json, the job's dataset for close prices), writes comparison.json and
 * rewrites backtest.h5 with every available baseline. OUT *json: the
 * comparison (caller frees), may be NULL.
 * Errors: NOT_FOUND / FORMAT (run folder files), INVALID_ARG (unknown
 * baseline name), IO, NOMEM. */
vfr_status vfr_compare_run(const char *run_dir, const vfr_compare_options *o, char **json);

#endif
