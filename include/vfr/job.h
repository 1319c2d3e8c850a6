/* job.h: the job file (JSON): loading with strict validation, defaults, and
 * the resolved form. Keys follow the old service's (jobId, dataConfig, ...);
 * every key, type, default and range is in docs/job-config.md.
 *
 * Loading is strict: an unknown key, a wrong type, a value out of range or a
 * missing required field is VFR_ERR_INVALID_ARG (INVALID_PARAMETERS) with a
 * message naming the key path, e.g.
 *   job.json: trainingConfig.hyperparamters: unknown key; did you mean hyperparameters? */
#ifndef VFR_JOB_H
#define VFR_JOB_H

#include <stdint.h>

#include "vfr/backtest.h"
#include "vfr/model.h"
#include "vfr/status.h"

typedef enum vfr_split_method {
    VFR_SPLIT_HOLDOUT = 0,
    VFR_SPLIT_WALK_FORWARD,
    VFR_SPLIT_KFOLD,   /* time-series k-fold, expanding            */
    VFR_SPLIT_CPCV,    /* combinatorial purged CV (Lopez de Prado) */
} vfr_split_method;

typedef enum vfr_nonfinite_policy {
    VFR_NONFINITE_DROP_ROW = 0,
    VFR_NONFINITE_KEEP_AS_MISSING,
} vfr_nonfinite_policy;

typedef enum vfr_flat_policy {
    VFR_FLAT_DROP = 0, /* exactly-zero moves leave the labelled set */
    VFR_FLAT_DOWN,     /* ... count as 0 (not up)                   */
} vfr_flat_policy;

/* dataConfig.memory: where the training data live (docs/job-config.md, "Memory") */
typedef enum vfr_memory_mode {
    VFR_MEMORY_AUTO = 0, /* decided from the estimated size and the memory available */
    VFR_MEMORY_IN_CORE,  /* the float panel in RAM                                 */
    VFR_MEMORY_EXTERNAL, /* features streamed from HDF5, XGBoost's external memory  */
} vfr_memory_mode;

/* How dates are divided into train / validation / test. Counts are in
 * trading dates (distinct dates of the prepared panel). */
typedef struct vfr_split_spec {
    vfr_split_method method;
    double train_share;     /* holdout: share of dates for training (0.70)       */
    double val_share;       /* holdout: share for validation (0.15); other
                               methods: share of each fold's training dates
                               kept back, at its end, for early stopping       */
    int32_t window;         /* walk_forward: training window (252)                */
    int32_t step;           /* walk_forward: test length and step (21)            */
    int expanding;          /* walk_forward: training start fixed at date 0       */
    int32_t folds;          /* kfold: number of folds (5)                         */
    int32_t groups;         /* cpcv: N groups (6)                                 */
    int32_t test_groups;    /* cpcv: k test groups per split (2)                  */
    int32_t purge;          /* dates purged before each test/validation block      */
    int32_t embargo;        /* dates dropped after each test block (0)             */
    int32_t horizon;        /* the label horizon the split protects (from the job) */
} vfr_split_spec;

typedef enum vfr_search_method {
    VFR_SEARCH_GRID = 0,
    VFR_SEARCH_RANDOM,
    VFR_SEARCH_TPE,
} vfr_search_method;

typedef enum vfr_pruning {
    VFR_PRUNING_NONE = 0,
    VFR_PRUNING_SUCCESSIVE_HALVING,
} vfr_pruning;

/* Where autoDeploy puts the new version. */
typedef enum vfr_deploy_as {
    VFR_DEPLOY_CHAMPION = 0,
    VFR_DEPLOY_CHALLENGER,
} vfr_deploy_as;

/* A job's priority in the queue (queue.h). */
typedef enum vfr_queue_priority {
    VFR_PRIORITY_LOW = 0,
    VFR_PRIORITY_NORMAL = 1,
    VFR_PRIORITY_HIGH = 2,
} vfr_queue_priority;

/* backtest.strategy "auto": chosen from the panel by vfr_job_backtest_options. */
#define VFR_JOB_STRATEGY_AUTO ((vfr_strategy)-1)

typedef struct vfr_job {
    char *path;             /* the job file as given                      */
    char *job_id, *model_name, *model_version, *model_type, *target;
    vfr_queue_priority priority;
    vfr_objective objective;
    int32_t horizon;        /* predictionHorizon, trading days            */
    struct {
        char *dataset;      /* resolved against the job file's folder     */
        char **symbols;     /* NULL: all                                  */
        int32_t n_symbols;
        int32_t start_date, end_date; /* days since epoch; INT32_MIN/MAX: open */
        double min_quality, min_completeness;
        int32_t min_samples_per_symbol;
        vfr_nonfinite_policy nonfinite;
        vfr_flat_policy flat;
        int64_t min_rows;
        int32_t min_dates, min_symbols;
        char *processors_json; /* dataConfig.processors as JSON text; NULL: none */
        vfr_memory_mode memory; /* dataConfig.memory                       */
    } data;
    struct {
        char *hyperparameters_json; /* the object as JSON text ("{}" default) */
        int32_t cv_folds;
        int32_t early_stopping_rounds; /* 0: off */
        uint64_t seed;
    } training;
    vfr_split_spec split;
    struct {
        vfr_strategy strategy; /* backtest.h, or VFR_JOB_STRATEGY_AUTO       */
        int32_t k;          /* top_k: names per side                        */
        double cost_bps;    /* per unit of turnover                         */
        double threshold;   /* sign strategies: 0.5 direction, 0 returns    */
    } backtest;
    struct {
        int enabled;            /* the job has a search block               */
        vfr_search_method method;
        char *space_json;       /* the space object as JSON text            */
        char *metric;           /* f1 accuracy auc logloss sharpe ic        */
        vfr_pruning pruning;
        int32_t folds, max_iter, early_stopping_rounds, patience;
        int32_t eta, min_rounds, startup, batch;
        uint64_t seed;
    } search;
    struct {
        char *against;      /* the baseline the deploy rule compares with  */
        double min_sharpe_improvement, min_accuracy_gain, max_p_value;
        double min_sharpe, max_drawdown, min_dsr;
        int32_t sma_fast, sma_slow, sma_short, momentum_days, resamples;
        double level;
    } baseline;
    vfr_deploy_as deploy_as; /* autoDeploy: champion | challenger           */
    double deploy_traffic;  /* challenger's A/B share                       */
    int auto_register, auto_deploy;
    double time_limit_s;    /* timeLimitMinutes x 60: a worker stops the job
                               after this long (0: the worker's own limit) */
    struct {
        char *mlflow;            /* export.mlflow: tracking server URI, or NULL */
        char *mlflow_experiment; /* export.mlflowExperiment, or NULL            */
    } exports;                   /* done by `vfr train` after the run (mlflow.h) */
} vfr_job;

/* Loads and validates a job file. OUT *out: owned by the caller
 * (vfr_job_free). Errors: NOT_FOUND (file), INVALID_ARG (content; the
 * message names the file and key path), NOMEM. */
vfr_status vfr_job_load(const char *path, vfr_job **out);
/* Same, from JSON text; `name` is used in messages and to resolve relative
 * dataset paths (its folder). */
vfr_status vfr_job_parse(const char *name, const char *json, vfr_job **out);
void vfr_job_free(vfr_job *job); /* NULL is a no-op */

/* The resolved job (every default filled in) as pretty JSON text; the
 * caller frees it with free(). NULL on allocation failure. */
char *vfr_job_to_json(const vfr_job *job);

/* The job file's name of an enum-valued key's value, from the key table
 * that loading uses: key is the key path ("split.method", "priority",
 * "backtest.strategy", "dataConfig.flatPolicy", ...). "?" for an unknown key
 * or value. Static text. */
const char *vfr_job_enum_name(const char *key, int value);

/* modelType and trainingConfig.hyperparameters, checked by creating the
 * model on model_dev (its library judges what vfr has no rule for) before
 * any data is read. Errors: as vfr_model_create, the message prefixed with
 * the job file. */
vfr_status vfr_job_check_model(const vfr_job *job, vfr_device_kind model_dev);

/* The job's backtest block as options, for a panel: strategy "auto" is
 * long_short_median (dollar neutral) where the panel has at least 2 names on
 * most dates, else long_short_sign (a single series). p may be NULL (then
 * auto is long_short_sign). Errors: none today (OK). */
vfr_status vfr_job_backtest_options(const vfr_job *job, const vfr_panel *p, vfr_backtest_options *bo);

/* Parses "price_direction_<h>d" / "return_<h>d". */
vfr_status vfr_job_parse_target(const char *target, vfr_objective *objective, int32_t *horizon);

#endif
