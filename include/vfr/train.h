/* train.h: `vfr train` as a library call: load -> prepare -> split -> fit
 * (early stopping on validation) -> predict the test set -> evaluate (every
 * metric and the job's backtest, next to buy-and-hold) -> write the run
 * folder. The folder is assembled under a temporary name and renamed into
 * place at the end, so a failed run leaves no half-written folder (and an
 * earlier run of the same job stays until the new one is complete).
 * Layout of the run folder: docs/run-folder.md. */
#ifndef VFR_TRAIN_H
#define VFR_TRAIN_H

#include "vfr/compare.h"
#include "vfr/device.h"
#include "vfr/job.h"
#include "vfr/report.h"
#include "vfr/status.h"

typedef struct vfr_train_options {
    const char *runs_dir;       /* parent folder of run folders; NULL: "runs"      */
    const char *out_dir;        /* the run folder itself (overrides runs_dir/jobId) */
    vfr_device_kind device;     /* as asked: auto, cpu or cuda                     */
    int nthread;                /* CPU threads; 0: all cores                       */
    int jobs;                   /* search: trial x folds at once (0: 1)            */
    int resume;                 /* search: resume from the run folder's trial log  */
    const vfr_champion_source *champion; /* the registry's champion, or NULL       */
    const char *registry_dir;   /* autoRegister/autoDeploy: NULL = $VFR_REGISTRY or ./vfr-registry */
    const vfr_reporter *reporter;
    volatile const int *stop;   /* set (by a signal handler): stop cleanly         */
} vfr_train_options;

typedef struct vfr_train_result {
    char run_dir[4096];
    char registered[320];       /* "name:version" when autoRegister registered it */
    int deployed;               /* autoDeploy moved an alias                       */
    char *metrics_json;         /* metrics.json's content; caller frees            */
} vfr_train_result;

/* Runs the job. Errors: as the steps' (INVALID_ARG/NOT_FOUND/FORMAT for bad
 * input, exit 2; IO, XGBOOST, CUDA, NOMEM at run time; INTERRUPTED when
 * *stop was set). res->metrics_json is NULL on failure. */
vfr_status vfr_train_run(const vfr_job *job, const vfr_train_options *o, vfr_train_result *res);

#endif
