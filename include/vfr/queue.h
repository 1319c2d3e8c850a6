/* queue.h: the job queue (`vfr submit`, `vfr worker`, `vfr status`,
 * `vfr cancel`) and its Slurm runner (`vfr submit --slurm`).
 *
 * The queue is one SQLite database, <dir>/queue.db (WAL, a busy timeout,
 * every change a transaction), holding each job's resolved job file, its
 * priority and state, attempts, heartbeat, progress, timings, result summary
 * and error, and a log of its events. A worker runs queued jobs by priority,
 * then age, each as a child `vfr train` process, so a crash takes down one job;
 * a job whose worker stopped heart-beating is requeued and resumes its search
 * from the trial log. It is not a cluster manager: for a cluster, the Slurm
 * runner writes sbatch scripts and lets Slurm schedule them. docs/queue.md. */
#ifndef VFR_QUEUE_H
#define VFR_QUEUE_H

#include <stdint.h>

#include "vfr/job.h"
#include "vfr/report.h"
#include "vfr/status.h"

#define VFR_QUEUE_DEFAULT_DIR "vfr-queue"
#define VFR_QUEUE_DEFAULT_MAX_QUEUED 1000
#define VFR_QUEUE_SCHEMA_VERSION 1

typedef struct vfr_queue vfr_queue;

typedef enum vfr_queue_state {
    VFR_QUEUE_QUEUED = 0,
    VFR_QUEUE_RUNNING,
    VFR_QUEUE_COMPLETED,
    VFR_QUEUE_FAILED,
    VFR_QUEUE_CANCELLED,
} vfr_queue_state;

/* vfr_queue_priority: job.h (a job file's "priority"). */

/* $VFR_QUEUE when set, else "vfr-queue" (in the current folder). */
const char *vfr_queue_default_dir(void);

/* Opens the queue in folder dir; with create, makes the folder and database
 * when absent (else NOT_FOUND). OUT *out: close with vfr_queue_close (NULL
 * on failure).
 * $VFR_QUEUE_BUSY_MS sets how long a call waits for another process's
 * transaction (default 60000). Errors: INVALID_ARG (empty dir), NOT_FOUND, FORMAT (the
 * database is another application's or a newer schema), IO, NOMEM.
 * A vfr_queue is used by one thread at a time; any number of processes may
 * open the same queue at once. */
vfr_status vfr_queue_open(const char *dir, int create, vfr_queue **out);
void vfr_queue_close(vfr_queue *q); /* NULL is a no-op */
const char *vfr_queue_dir(const vfr_queue *q);

const char *vfr_queue_state_name(vfr_queue_state s);       /* "queued", ... */
const char *vfr_queue_priority_name(vfr_queue_priority p); /* "low", ...    */
/* "low" | "normal" | "high". Errors: INVALID_ARG naming `what`. */
vfr_status vfr_queue_parse_priority(const char *s, const char *what, vfr_queue_priority *out);

typedef struct vfr_queue_submit_options {
    int priority;           /* a vfr_queue_priority, or -1: the job's own       */
    int64_t max_queued;     /* refuse when this many jobs wait; 0: $VFR_QUEUE_MAX,
                               else VFR_QUEUE_DEFAULT_MAX_QUEUED                  */
    const char *source;     /* what submitted it ("submit", "schedule:NAME"); NULL */
    int slurm;              /* 1: Slurm runs it (workers leave it alone)         */
} vfr_queue_submit_options;

/* Queues a loaded job under its jobId: stores the resolved job (every
 * default filled in, the dataset path absolute). The dataset must exist.
 * Errors: INVALID_ARG (the message names the file and field, e.g.
 * dataConfig.dataset), DUPLICATE_JOB_ID (the jobId was submitted before, in
 * any state), QUEUE_FULL (max_queued jobs are waiting), IO. */
vfr_status vfr_queue_submit(vfr_queue *q, const vfr_job *job, const vfr_queue_submit_options *o);

/* Sets *exists to 1 when a job with this id is in the queue (any state). */
vfr_status vfr_queue_exists(vfr_queue *q, const char *id, int *exists);

/* One job's record. Times are Unix seconds (UTC), 0 when not reached. */
typedef struct vfr_queue_job {
    char id[160];
    int64_t seq;                /* submission order: the age tie-break        */
    vfr_queue_state state;
    vfr_queue_priority priority;
    int32_t attempts;           /* starts so far                              */
    double submitted_at, started_at, finished_at, heartbeat_at;
    double progress;            /* 0-100, of the whole run                     */
    char step[96];              /* the current step ("search 40%")             */
    char worker[160];           /* "host:pid" of the worker running it         */
    int32_t pid;                /* the child's process id while running        */
    int cancel_requested;
    int slurm;                  /* run by Slurm, not by a worker               */
    char *source;               /* NULL or as submitted                        */
    char *job_json;             /* the resolved job file                       */
    char *run_dir;              /* NULL until it starts                        */
    char *result_json;          /* NULL until it completes (vfr_queue_result_from_run) */
    char *error;                /* NULL or why it failed / was requeued        */
    char *slurm_json;           /* NULL, or {"array", "finalize", "shards", "dir"} */
} vfr_queue_job;

void vfr_queue_job_free(vfr_queue_job *j); /* NULL is a no-op */

/* OUT *out: the job (vfr_queue_job_free). Errors: NOT_FOUND, IO. */
vfr_status vfr_queue_get(vfr_queue *q, const char *id, vfr_queue_job **out);
/* Every job, in submission order. OUT *jobs: [*n] (vfr_queue_list_free). */
vfr_status vfr_queue_list(vfr_queue *q, vfr_queue_job ***jobs, int64_t *n);
void vfr_queue_list_free(vfr_queue_job **jobs, int64_t n);

/* A job as a JSON object (id, state, priority, attempts, progress, step,
 * timings, runDir, result, error, slurm, and `events` when with_events);
 * caller frees with free(). NULL on allocation failure. */
char *vfr_queue_job_to_json(vfr_queue *q, const vfr_queue_job *j, int with_events);

/* Cancels a job. A queued job is cancelled at once; a running one is marked
 * and its worker stops the child with SIGTERM at its next heartbeat (then it
 * is cancelled); a Slurm job is cancelled with scancel. OUT *now: the state
 * after the call (CANCELLED, or RUNNING while its worker stops it).
 * Errors: NOT_FOUND, INVALID_ARG (already completed, failed or cancelled), IO. */
vfr_status vfr_queue_cancel(vfr_queue *q, const char *id, vfr_queue_state *now);

/* The result summary of a finished run folder as JSON: `metrics` (the test
 * metrics), `backtest` (the model's Sharpe, return, drawdown),
 * `decision` (comparison.json's shouldDeploy and reason), `registry`
 * (registry.json: the registered version and alias) and the run folder;
 * each part only where its file exists. Caller frees. Errors: NOT_FOUND (no
 * metrics.json), NOMEM. */
vfr_status vfr_queue_result_from_run(const char *run_dir, char **json);

/* ---- the worker (vfr worker) ---- */

typedef struct vfr_worker_options {
    const char *exe;            /* the vfr binary the children run (absolute)       */
    const char *runs_dir;       /* parent of run folders (runs/<jobId>)             */
    int max_concurrent;         /* children at once (>= 1)                          */
    int once;                   /* return when nothing is queued and none run       */
    double stale_s;             /* a running job's heartbeat older than this: its
                                   worker died; requeue it (default 30)             */
    double heartbeat_s;         /* how often heartbeats are written (default 2)     */
    double poll_s;              /* idle wait between looks at the queue (default 1) */
    int max_attempts;           /* a job started this often fails instead of being
                                   requeued again (default 3)                       */
    const char *device;         /* passed to the child as --device (NULL: not)      */
    int threads;                /* passed as --threads (0: not)                     */
    const vfr_reporter *reporter; /* the worker's log lines                         */
    volatile const int *stop;   /* set: stop children with SIGTERM, requeue them    */
    double job_time_limit_s;    /* a job running longer gets SIGTERM (SIGKILL 10 s
                                   later) and fails with the reason; its slot frees.
                                   A job's timeLimitMinutes applies when shorter.
                                   0: no limit but the job's own                    */
} vfr_worker_options;

/* Runs queued jobs until stopped (or, with once, until the queue is empty).
 * Each job runs as `exe --log-json [--device D] train <queue>/jobs/<id>.json
 * --out <runs>/<id> --resume [--threads N]`; its JSON log lines (stderr) give
 * the heartbeat's progress and step, and go to <queue>/logs/<id>.log. Exit
 * code 0: completed (result summary from the run folder); 3: requeued with
 * its attempt count; anything else, or a signal: failed with the last error
 * line. The child gets SIGTERM if the worker dies (PR_SET_PDEATHSIG), so a
 * killed worker leaves no orphan writing the trial log. Returns VFR_OK, or
 * INTERRUPTED when *stop was set (running jobs requeued), or IO. */
vfr_status vfr_worker_run(vfr_queue *q, const vfr_worker_options *o);

/* The steps of vfr_worker_run, for other runners and tests. */

/* Requeues running jobs (not Slurm's) whose heartbeat is older than stale_s
 * (or fails them once started max_attempts times; cancels them if a cancel
 * was asked). OUT *n (may be NULL): jobs changed. */
vfr_status vfr_queue_reap(vfr_queue *q, double stale_s, int max_attempts, int64_t *n);
/* Takes the next queued job (highest priority, then oldest) for `worker`:
 * running, attempts + 1, heartbeat now, run_dir <run_dir_parent>/<id> (a
 * requeued job keeps its first run folder, where its trial log is). OUT
 * *out: the job, or NULL when none is queued. */
vfr_status vfr_queue_claim(vfr_queue *q, const char *worker, const char *run_dir_parent,
                           vfr_queue_job **out);
/* Records the child's pid. */
vfr_status vfr_queue_set_pid(vfr_queue *q, const char *id, const char *worker, int32_t pid);
/* Writes the heartbeat (and progress when progress >= 0, step when not NULL)
 * of a job `worker` runs. OUT *cancel: a cancel was asked; *lost: the job is
 * no longer this worker's (it was requeued as stale): stop the child. */
vfr_status vfr_queue_heartbeat(vfr_queue *q, const char *id, const char *worker, double progress,
                               const char *step, int *cancel, int *lost);
/* Ends a job `worker` runs: state COMPLETED (result_json), FAILED (error),
 * CANCELLED, or QUEUED (requeue; error says why). A job that is no longer
 * this worker's is left alone. */
vfr_status vfr_queue_finish(vfr_queue *q, const char *id, const char *worker, vfr_queue_state state,
                            const char *error, const char *result_json);

/* ---- Slurm (vfr submit --slurm) ---- */

typedef struct vfr_slurm_options {
    const char *exe;            /* the vfr binary the scripts run (absolute)          */
    const char *runs_dir;       /* parent of run folders                               */
    int shards;                 /* search shards: the job array's size (>= 1)          */
    const char *partition;      /* NULL: the cluster's default                         */
    const char *account;        /* NULL: none                                          */
    const char *time_limit;     /* per job, [D-]HH:MM:SS or minutes; NULL: partition's */
    int gpus_per_shard;         /* --gres=gpu:G for every job (0: none)                */
    const char *device;         /* passed to vfr as --device (NULL: not)               */
    int signal_s;               /* SIGUSR1 this many seconds before the time limit
                                   (checkpoint + requeue); 0: 60                       */
    int dry_run;                /* write the scripts but submit nothing                */
} vfr_slurm_options;

typedef struct vfr_slurm_submission {
    char dir[4096];             /* <runs>/<jobId>.slurm: scripts, job copy, logs       */
    char run_dir[4096];         /* <runs>/<jobId>                                       */
    char *search_script;        /* text of search.sbatch (NULL: no search block)       */
    char *finalize_script;      /* text of finalize.sbatch                              */
    char *search_cmd;           /* the sbatch command lines, shell-quoted (display)     */
    char *finalize_cmd;         /* (its dependency reads afterok:<array id>)            */
    char array_id[64];          /* Slurm job ids; "" on a dry run                       */
    char finalize_id[64];
} vfr_slurm_submission;

/* Writes the scripts and (unless dry_run) submits them with sbatch: a job
 * array of o->shards search shards (`vfr tune --shard I/N --resume`), with
 * --requeue and --signal=B:USR1@signal_s, and a finalize job with
 * --dependency=afterok:<array> that merges the shard logs and runs
 * `vfr train --resume` (final fit, evaluation, comparison, and registration
 * and deployment as the job asks). Every path is single-quoted in the
 * scripts; job-file values never reach a script except the jobId, whose
 * characters are restricted. q may be NULL on a dry run; else the job is
 * recorded in the queue (DUPLICATE_JOB_ID, as vfr_queue_submit) with its
 * Slurm ids. Errors: INVALID_ARG (options; a search that cannot be sharded),
 * DUPLICATE_JOB_ID, NOT_FOUND (sbatch missing), IO (sbatch failed: its
 * message). OUT *out: free with vfr_slurm_submission_free. */
vfr_status vfr_slurm_submit(vfr_queue *q, const vfr_job *job, const vfr_slurm_options *o,
                            vfr_slurm_submission *out);
void vfr_slurm_submission_free(vfr_slurm_submission *s);

/* Asks Slurm (squeue; sacct when present) about a job submitted with
 * vfr_slurm_submit, and records its state once Slurm is done with it
 * (completed when the finalize job completed, with the result summary).
 * OUT *states_json: [{"id", "role", "state"}] of every Slurm job found
 * (caller frees; "[]" when squeue is unavailable). Errors: NOT_FOUND, IO. */
vfr_status vfr_slurm_refresh(vfr_queue *q, const char *id, char **states_json);

/* s with every character safe inside single quotes: 'it'\''s'. Caller
 * frees; NULL on allocation failure. */
char *vfr_shell_quote(const char *s);

#endif
