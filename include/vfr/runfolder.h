/* runfolder.h: the run folder's contract (docs/run-folder.md): the name of
 * every file vfr train writes there, the paths to them, reading one, and the
 * split document (split.json, which `vfr split --json` prints too).
 *
 * Every reader and writer of a run folder (train, tune, compare, the report,
 * the registry, the queue, the MLflow export, the CLI) names its files
 * through this module; no other file spells them. Not here: what a file
 * holds (each writer's module), publishing (runfolder_internal.h). */
#ifndef VFR_RUNFOLDER_H
#define VFR_RUNFOLDER_H

#include <stddef.h>

#include "vfr/job.h"
#include "vfr/prepare.h"
#include "vfr/split.h"
#include "vfr/status.h"

/* The files of a run folder. The model artifact is not among them: its name
 * belongs to the model type (model.h: vfr_model_artifact_name). */
typedef enum vfr_runfile {
    VFR_RUNFILE_JOB,         /* job.json: the resolved job              */
    VFR_RUNFILE_QUALITY,     /* quality.json: the data-quality report   */
    VFR_RUNFILE_PROCESSORS,  /* processors.json: the fitted chain       */
    VFR_RUNFILE_SPLIT,       /* split.json: the split document          */
    VFR_RUNFILE_PREDICTIONS, /* predictions.h5                          */
    VFR_RUNFILE_METRICS,     /* metrics.json                            */
    VFR_RUNFILE_BACKTEST,    /* backtest.h5: daily returns              */
    VFR_RUNFILE_CPCV_PATHS,  /* cpcv_paths.h5                           */
    VFR_RUNFILE_PROBE,       /* probe.h5: the frozen probe set          */
    VFR_RUNFILE_LOG,         /* log.jsonl                               */
    VFR_RUNFILE_MANIFEST,    /* manifest.json: lineage                  */
    VFR_RUNFILE_COMPARISON,  /* comparison.json                         */
    VFR_RUNFILE_SEARCH,      /* search.json: the search's result        */
    VFR_RUNFILE_TRIALS,      /* trials.jsonl: the search's trial log    */
    VFR_RUNFILE_REGISTRY,    /* registry.json: autoRegister's outcome   */
    VFR_RUNFILE_REPORT,      /* report.html                             */
    VFR_RUNFILE_COUNT
} vfr_runfile;

/* The file's name in the folder (static text), or NULL for a value out of
 * range. Thread-safe. */
const char *vfr_runfolder_file_name(vfr_runfile f);

/* The run folder of job job_id under runs (NULL: "runs"): OUT out[cap]
 * <runs>/<job_id>. Errors: INVALID_ARG (it does not fit). */
vfr_status vfr_runfolder_dir(const char *runs, const char *job_id, char *out, size_t cap);

/* OUT out[cap]: <dir>/<name of f>. Errors: INVALID_ARG (f out of range, or
 * the path does not fit in cap: nothing is cut short silently). */
vfr_status vfr_runfolder_path(const char *dir, vfr_runfile f, char *out, size_t cap);

/* The name of shard i of n of a search file (f: VFR_RUNFILE_TRIALS or
 * VFR_RUNFILE_SEARCH): trials.shard-<i>-of-<n>.jsonl, search.shard-<i>-of-<n>.json;
 * n <= 1: the file's own name. OUT out[cap]. Errors: INVALID_ARG (another
 * file, or it does not fit). */
vfr_status vfr_runfolder_shard_name(vfr_runfile f, int i, int n, char *out, size_t cap);

/* OUT out[cap]: <dir>/<shard name> (vfr_runfolder_shard_name). */
vfr_status vfr_runfolder_shard_path(const char *dir, vfr_runfile f, int i, int n, char *out, size_t cap);

/* Reads the whole file f of the run folder dir. OUT *text: NUL-terminated,
 * malloc'ed (caller frees), NULL on failure; *len its bytes (len may be NULL).
 * Errors: NOT_FOUND (no such file), INVALID_ARG (not a regular file, or the
 * path is too long), IO, NOMEM; errno is the read's own on return. */
vfr_status vfr_runfolder_read(const char *dir, vfr_runfile f, char **text, size_t *len);

/* A finished run of vfr train: job.json, manifest.json and metrics.json are
 * readable. Errors: NOT_FOUND naming the first file that is not. */
vfr_status vfr_runfolder_check_finished(const char *dir);

/* The split document of sp, the split of job over the prepared panel p
 * (split.json; `vfr split --json` prints the same): method (the job's),
 * horizon, purgeDays, embargoDays, dates, rows, and per fold its train /
 * validation / test sets ({ranges: [{start, end, dates, rows}], dates,
 * rows}), purgedDates, embargoedDates and unusedDates.
 * OUT *json: pretty-printed, malloc'ed (caller frees). Errors: NOMEM. */
vfr_status vfr_runfolder_split_json(const vfr_job *job, const vfr_prepared *p, const vfr_split *sp, char **json);

#endif
