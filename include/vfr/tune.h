/* tune.h: hyperparameter search over time-series folds (`vfr tune`).
 *
 * Trials (grid, random or TPE points of the job's search.space) are crossed
 * with folds cut from the dates before the job's test period, with the job's
 * purge and embargo. Trials x folds train in parallel (--jobs), fold-major,
 * every fold's matrix is built once and shared, trials that differ only in
 * n_estimators share one fit, and successive halving is asynchronous. Every
 * finished trial x fold is scored and appended to trials.jsonl as it
 * finishes (fsynced within a second), so a killed search resumes (--resume)
 * without losing or repeating one; --shard i/N takes a
 * deterministic slice of the trials for a job array, and vfr_tune_merge
 * combines the shards' logs. Details: docs/search.md. */
#ifndef VFR_TUNE_H
#define VFR_TUNE_H

#include <stdint.h>

#include "vfr/device.h"
#include "vfr/job.h"
#include "vfr/report.h"
#include "vfr/status.h"

typedef struct vfr_tune_options {
    const char *run_dir;        /* trials.jsonl / search.json go here (runs/<jobId>) */
    int jobs;                   /* trial x folds trained at once (>= 1)              */
    int nthread;                /* CPU threads in all (0: all cores)                 */
    int resume;                 /* skip what the trial log already holds             */
    int shard, n_shards;        /* shard i of N (n_shards <= 1: the whole search)    */
    vfr_device_kind device;     /* as asked                                           */
    const vfr_reporter *reporter;
    volatile const int *stop;   /* set: running fits stop; INTERRUPTED (all else logged) */
} vfr_tune_options;

typedef struct vfr_tune_result {
    char *best_params_json;     /* the best trial's hyperparameters (merged)         */
    double best_mean, best_sd;  /* its fold scores (higher is better; logloss < 0)   */
    int32_t best_trial;
    int32_t best_rounds;        /* mean of its folds' best round + 1                 */
    int64_t trials_evaluated;   /* distinct trials scored on at least one fold       */
    double sharpe_variance;     /* variance across trials of the mean fold Sharpe    */
    char *search_json;          /* search.json's content                             */
} vfr_tune_result;

/* Runs (or resumes) the search of job->search. Errors: INVALID_ARG (no search
 * block, bad space, TPE with shards, a trial log from another search),
 * INTERRUPTED (stopped; the log is consistent), and the training errors. */
vfr_status vfr_tune_run(const vfr_job *job, const vfr_tune_options *o, vfr_tune_result *res);

/* Merges trials.shard-<i>-of-<N>.jsonl (i < N) under run_dir into
 * trials.jsonl and writes search.json, as one unsharded process would.
 * Errors: NOT_FOUND (a shard log is missing), FORMAT (a malformed log). */
vfr_status vfr_tune_merge(const vfr_job *job, const char *run_dir, int n_shards,
                          vfr_tune_result *res);

void vfr_tune_result_free(vfr_tune_result *r);

#endif
