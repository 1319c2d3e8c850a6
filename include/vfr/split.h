/* split.h: leakage-safe time splits, all by date: every symbol's rows on one
 * date land in the same set. One spec (job.h's vfr_split_spec, derived from
 * the prediction horizon) drives tuning folds, the final fit and retrain
 * windows. A split is date-index ranges over the prepared panel, never a copy
 * of the feature matrix. Definitions: docs/splits.md. */
#ifndef VFR_SPLIT_H
#define VFR_SPLIT_H

#include <stdint.h>

#include "vfr/job.h"
#include "vfr/status.h"

#define VFR_SPLIT_MAX_RANGES 32

typedef struct vfr_range {
    int32_t lo, hi; /* date indices [lo, hi) */
} vfr_range;

typedef enum vfr_role {
    VFR_ROLE_UNUSED = 0,
    VFR_ROLE_TRAIN,
    VFR_ROLE_VAL,
    VFR_ROLE_TEST,
    VFR_ROLE_PURGED,
    VFR_ROLE_EMBARGOED,
} vfr_role;

typedef struct vfr_fold {
    vfr_range train[VFR_SPLIT_MAX_RANGES];
    vfr_range val[VFR_SPLIT_MAX_RANGES];
    vfr_range test[VFR_SPLIT_MAX_RANGES];
    int32_t n_train, n_val, n_test; /* ranges used                       */
    int32_t purged, embargoed, unused; /* dates in no set, by reason      */
} vfr_fold;

typedef struct vfr_split {
    int32_t T;        /* dates                     */
    int32_t K;        /* folds                     */
    vfr_fold *folds;  /* [K]                       */
} vfr_split;

/* Builds the folds of `spec` over T dates. Holdout gives one fold; walk
 * forward one per window; kfold `folds` folds (sklearn TimeSeriesSplit
 * boundaries); cpcv C(groups, test_groups) folds. Every fold is checked with
 * vfr_split_check before it is returned.
 * Errors: INVALID_ARG (too few dates for the spec, naming the key), NOMEM,
 * INTERNAL (a fold failed the leak check: a vfr bug). */
vfr_status vfr_split_make(const vfr_split_spec *spec, int32_t T, vfr_split **out);
void vfr_split_free(vfr_split *s);

/* Dates covered by n ranges. */
int32_t vfr_range_count(const vfr_range *r, int32_t n);
/* The longest of n >= 1 ranges (the first of equals): a cpcv fold's
 * contiguous training block. */
vfr_range vfr_range_longest(const vfr_range *r, int32_t n);

/* The leak checker, independent of how the fold was made. Fails (FORMAT,
 * naming the dates) when a date is in two sets, a range leaves [0, T), a
 * training or validation label window [t, t + horizon] reaches into a later
 * validation/test block, or a training date after a test block [a, b) is
 * before b + horizon + embargo. Thread-safe. */
vfr_status vfr_split_check(const vfr_fold *f, int32_t T, int32_t horizon, int32_t embargo);

const char *vfr_role_name(vfr_role s);

#endif
