/* search.h: hyperparameter search spaces and the three ways of drawing
 * points from them: grid (every combination, in a fixed order), random
 * (seeded) and Bayesian via the Tree-structured Parzen Estimator (TPE,
 * Bergstra et al. 2011). A point is one double per dimension: the value, or
 * for a choice the index of the value. Definitions and the TPE prior:
 * docs/search.md. Pure functions: thread-safe. */
#ifndef VFR_SEARCH_H
#define VFR_SEARCH_H

#include <stdint.h>

#include "vfr/job.h"
#include "vfr/status.h"

typedef struct vfr_space vfr_space;

/* Parses the job's search.space (JSON object). Each key is a model
 * hyperparameter; its value is a list (a choice; the only form grid search
 * takes) or a distribution {"type": "uniform"|"loguniform"|"int", "low": a,
 * "high": b} or {"type": "choice", "values": [...]}.
 * Errors: INVALID_ARG naming search.space.<key>. */
vfr_status vfr_space_parse(const char *space_json, vfr_search_method method, vfr_space **out);
void vfr_space_free(vfr_space *s);

int32_t vfr_space_dims(const vfr_space *s);
/* Points in the grid (product of the list lengths); -1 if not all lists. */
int64_t vfr_space_grid_size(const vfr_space *s);

/* OUT x [dims]. grid: the t-th combination, last key fastest. */
void vfr_space_grid_point(const vfr_space *s, int64_t t, double *x);
/* random: trial t's point, a pure function of (seed, t). */
void vfr_space_random_point(const vfr_space *s, uint64_t seed, int64_t t, double *x);
/* TPE: trial t's point given n observed points X [n, dims] with scores y [n]
 * (higher is better). Fewer than `startup` observations: a random point. */
vfr_status vfr_space_tpe_point(const vfr_space *s, uint64_t seed, int64_t t, const double *X,
                               const double *y, int32_t n, int32_t startup, double *x);

/* OUT x [dims]: the point the first trial evaluates, whatever the method:
 * grid's first combination; for random and TPE the seeded random point of
 * trial 0 (TPE draws its start-up trials at random, so both methods try the
 * same first point). A job's pre-flight check validates this point, so a
 * space random search accepts is accepted by TPE too. */
void vfr_space_first_point(const vfr_space *s, vfr_search_method method, uint64_t seed, double *x);

/* The point as the JSON object of hyperparameters, merged over `base_json`
 * (the job's fixed hyperparameters); caller frees. */
char *vfr_space_point_json(const vfr_space *s, const double *x, const char *base_json);
/* Reads a point back from such a JSON object (for resume); -1 if it does not fit. */
int vfr_space_point_from_json(const vfr_space *s, const char *params_json, double *x);

#endif
