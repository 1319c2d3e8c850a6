/* compare_internal.h: the comparison of a run held in memory (not public
 * API). vfr train calls it on what it has just computed; vfr_compare_run
 * (compare.h) loads the same inputs from a run folder and calls it. */
#ifndef VFR_COMPARE_INTERNAL_H
#define VFR_COMPARE_INTERNAL_H

#include <cjson/cJSON.h>

#include "vfr/compare.h"
#include "vfr/predictions.h"

/* What a comparison reads, all borrowed for the call. */
typedef struct vfr_compare_input {
    const vfr_job *job;            /* the run's job                                  */
    const cJSON *metrics;          /* metrics.json                                   */
    const cJSON *search;           /* search.json, or NULL (no search)               */
    const vfr_predictions *pr;     /* the test rows, with T and date_offset; its     */
                                   /* backtest: the run's (NULL: the job's)          */
} vfr_compare_input;

/* Compares the run, then writes comparison.json and backtest.h5 (every
 * available baseline) into run_dir. OUT *out: comparison.json's document
 * (cJSON_Delete), NULL on failure. Errors: as vfr_compare_run. */
vfr_status vfri_compare_core(const char *run_dir, const vfr_compare_input *in, const vfr_compare_options *o,
                            cJSON **out);

#endif
