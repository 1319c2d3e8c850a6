/* queue_internal.h: what queue.c, queue_worker.c, schedule.c and slurm.c
 * share: the open database (db.h) and small helpers (not public API). Every
 * statement binds its values; no value is ever pasted into SQL. */
#ifndef VFR_QUEUE_INTERNAL_H
#define VFR_QUEUE_INTERNAL_H

#include <stddef.h>

#include "db.h"

#include "vfr/queue.h"

struct vfr_queue {
    char dir[4096]; /* the folder, or the server's URI without its password */
    char files[4096]; /* workers' job copies and logs: the folder, or $VFR_QUEUE_FILES */
    db *db;
    int busy_ms;
};

/* Wall-clock Unix seconds (heartbeats are compared across processes). */
double q_now(void);

/* Appends to the job's event log (inside the caller's transaction). */
vfr_status q_event(vfr_queue *q, const char *id, const char *event, const char *detail);
/* The checks of a job before it is queued: its dataset is readable, its
 * model type is built in and accepts its hyperparameters. Errors:
 * INVALID_ARG naming the file and field, NOT_FOUND (the model's library). */
vfr_status q_check_job(const vfr_job *job);
/* The insert behind vfr_queue_submit, with the job JSON given: checks the
 * id and the queue size in the same transaction. */
vfr_status q_insert(vfr_queue *q, const char *id, const char *job_json, int priority,
                    const vfr_queue_submit_options *o);
/* Sets the Slurm ids of a job (slurm.c). */
vfr_status q_set_slurm(vfr_queue *q, const char *id, const char *slurm_json, const char *run_dir);
/* scancel of a Slurm job's ids (slurm.c). */
vfr_status q_slurm_cancel(vfr_queue *q, const vfr_queue_job *j);
/* Ends a job whatever its worker (Slurm jobs, cancels). */
vfr_status q_set_final(vfr_queue *q, const char *id, vfr_queue_state state, const char *error,
                       const char *result_json);

/* Runs argv (argv[0] looked up on PATH) without a shell, capturing up to
 * cap - 1 bytes of stdout (NUL-terminated) and stderr into err. Returns
 * the exit status (0-255), 127 when it cannot be started, or 128 + signal. */
int q_run_capture(char *const argv[], char *out, size_t cap, char *err, size_t errcap);
/* 1 when prog is on PATH. */
int q_have_program(const char *prog);

#endif
