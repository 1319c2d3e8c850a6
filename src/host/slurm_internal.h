/* slurm_internal.h: what the Slurm runner (slurm.c) offers the modules above
 * it (not public API): cancelling a job's Slurm ids. */
#ifndef VFR_SLURM_INTERNAL_H
#define VFR_SLURM_INTERNAL_H

#include "vfr/queue.h"

/* scancel of a Slurm job's ids (its array and its finalize job); OK when it
 * never reached sbatch. Errors: NOT_FOUND (no scancel), IO (scancel failed). */
vfr_status vfri_slurm_cancel(const vfr_queue_job *j);

#endif
