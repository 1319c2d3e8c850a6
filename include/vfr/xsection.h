/* xsection.h: cross-sectional labels and feature processors: what is done
 * per date, across the symbols of that date, and what is fitted on training
 * dates only and then applied to every date.
 *
 * Labels: rank_return_<h>d is the forward return's rank among the date's
 * symbols scaled to [-0.5, 0.5]; excess_return_<h>d is the forward return
 * minus the date's mean. A processor chain (dataConfig.processors, a JSON
 * array) is applied in order; robustZScore's median and MAD are fitted on the
 * training dates only. Definitions: docs/job-config.md ("Processors"). */
#ifndef VFR_XSECTION_H
#define VFR_XSECTION_H

#include <stdint.h>

#include "vfr/status.h"

typedef enum vfr_label_kind {
    VFR_LABEL_RAW = 0, /* return_<h>d, price_direction_<h>d: as computed  */
    VFR_LABEL_RANK,    /* rank_return_<h>d                                 */
    VFR_LABEL_EXCESS,  /* excess_return_<h>d                               */
} vfr_label_kind;

/* The kind a target name asks for (RAW for anything else). */
vfr_label_kind vfr_xsection_label_kind(const char *target);

/* IN fwd: [n] forward returns, rows grouped by date; date_row: [T+1], rows
 * of date t are [date_row[t], date_row[t+1]). OUT y: [n] (may be fwd).
 * RANK: ties share their average rank; a date with one row gets 0. NaN in
 * fwd stays NaN and is left out of its date's rank and mean. Thread-safe. */
void vfr_xsection_label(vfr_label_kind kind, const float *fwd, const int64_t *date_row,
                        int32_t T, float *y);

typedef struct vfr_processors vfr_processors;

/* Parses a chain: a JSON array of objects {"name": ...} with names
 *   "fillna"        {"value": 0}: NaN -> value
 *   "csRank"        per date, each feature's rank among the date's symbols
 *                   scaled to [-0.5, 0.5] (NaN stays NaN)
 *   "csZScore"      per date, (x - mean) / sd (population sd; 0 when sd = 0)
 *   "robustZScore"  {"clip": 3}: (x - median) / (1.4826 MAD), clipped to
 *                   [-clip, clip]; median and MAD per feature, fitted
 * `where` names the source in messages (a job file path).
 * Errors: INVALID_ARG naming the element and key, NOMEM. */
vfr_status vfr_processors_parse(const char *json, const char *where, vfr_processors **out);
void vfr_processors_free(vfr_processors *pr); /* NULL is a no-op */

/* Fits the chain on the training dates [t_lo, t_hi) of X: [n, F] (rows
 * grouped by date as date_row says), each step on the output of the steps
 * before it. Reads no row outside those dates. Errors: INVALID_ARG, NOMEM. */
vfr_status vfr_processors_fit(vfr_processors *pr, const float *X, int32_t F,
                              const int64_t *date_row, int32_t t_lo, int32_t t_hi);

/* Applies the (fitted) chain to X in place, every date. Errors: INVALID_ARG
 * (not fitted, or F differs from the fit), NOMEM. */
vfr_status vfr_processors_apply(const vfr_processors *pr, float *X, int32_t F,
                                const int64_t *date_row, int32_t T);

/* The chain with its fitted values as JSON (for the run folder and the
 * registry), and back. The caller frees the text. */
char *vfr_processors_to_json(const vfr_processors *pr);
vfr_status vfr_processors_from_json(const char *json, vfr_processors **out);

#endif
