/* cancel.c: vfr_queue_cancel (queue.h), above the store and both
 * runners: a Slurm job is cancelled with scancel (slurm.c) and then marked
 * in the store; a local job is marked in the store (queue.c), where a queued
 * job ends at once and a running one is left for its worker to stop. */
#include "queue_internal.h"
#include "slurm_internal.h"

vfr_status vfr_queue_cancel(vfr_queue *q, const char *id, vfr_queue_state *now)
{
    vfr_queue_job *j = NULL;
    vfr_status st = vfr_queue_get(q, id, &j);
    if (st != VFR_OK)
        return st;
    *now = j->state;
    if (j->state == VFR_QUEUE_COMPLETED || j->state == VFR_QUEUE_FAILED || j->state == VFR_QUEUE_CANCELLED)
        st = vfr_fail(VFR_ERR_INVALID_ARG, "job '%s' is already %s; nothing to cancel", id,
                      vfr_queue_state_name(j->state));
    else if (!j->slurm)
        st = q_cancel_local(q, id, now);
    else if ((st = vfri_slurm_cancel(j)) == VFR_OK &&
             (st = q_set_final(q, id, VFR_QUEUE_CANCELLED, "cancelled (scancel)", NULL)) == VFR_OK)
        *now = VFR_QUEUE_CANCELLED;
    vfr_queue_job_free(j);
    return st;
}
