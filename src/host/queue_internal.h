/* queue_internal.h: the queue's store as cancel.c, queue_worker.c,
 * schedule.c and slurm.c see it: the open database (db.h) and small helpers
 * (not public API). Every statement binds its values; no value is ever pasted
 * into SQL. */
#ifndef VFR_QUEUE_INTERNAL_H
#define VFR_QUEUE_INTERNAL_H

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
/* The store's part of a cancel of a local job: a queued job becomes
 * cancelled, a running one is marked for its worker (*now: RUNNING). Errors:
 * INVALID_ARG (it finished meanwhile), IO. */
vfr_status q_cancel_local(vfr_queue *q, const char *id, vfr_queue_state *now);
/* Ends a job whatever its worker (Slurm jobs, cancels). */
vfr_status q_set_final(vfr_queue *q, const char *id, vfr_queue_state state, const char *error,
                       const char *result_json);

#endif
