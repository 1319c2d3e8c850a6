/* cpcv.h: what combinatorial purged cross-validation gives beyond its folds
 * (López de Prado, "Advances in Financial Machine Learning", ch. 12; Bailey,
 * Borwein, López de Prado and Zhu, "The Probability of Backtest Overfitting",
 * 2015): the backtest paths that its splits form, and the Probability of
 * Backtest Overfitting of a search by combinatorially symmetric cross-
 * validation (CSCV). Pure functions over daily returns already computed;
 * the folds themselves come from split.h (method cpcv). */
#ifndef VFR_CPCV_H
#define VFR_CPCV_H

#include <stdint.h>

#include "vfr/status.h"

/* The groups of a cpcv split over T dates: group g is the dates
 * [T g / G, T (g + 1) / G), as split.h cuts them. */
void vfr_cpcv_group_range(int32_t T, int32_t G, int32_t g, int32_t *lo, int32_t *hi);

/* The test groups of split s (the s-th combination of k out of G in
 * lexicographic order, as split.h numbers its folds). OUT groups [k]. */
void vfr_cpcv_split_groups(int32_t G, int32_t k, int32_t s, int32_t *groups);

/* Number of splits: C(G, k). */
int64_t vfr_cpcv_n_splits(int32_t G, int32_t k);

/* Number of backtest paths: C(G - 1, k - 1) (each group is tested that
 * many times). */
int32_t vfr_cpcv_n_paths(int32_t G, int32_t k);

/* Path j's split for group g: the j-th split, in order, whose test groups
 * include g. Returns -1 when j is out of range. */
int32_t vfr_cpcv_path_split(int32_t G, int32_t k, int32_t g, int32_t j);

typedef struct vfr_pbo {
    int32_t trials;         /* N: trials with a complete return series         */
    int32_t blocks;         /* S: even number of row blocks                     */
    int64_t combinations;   /* C(S, S/2)                                       */
    double pbo;             /* share of combinations with logit <= 0            */
    double logit_median;    /* median logit of the in-sample best's OOS rank   */
    double oos_loss;        /* share of combinations where the IS best loses OOS */
} vfr_pbo;

/* PBO by CSCV. IN R: [N, T] daily returns, trial-major (each trial's
 * out-of-sample returns over the same T dates); S: even blocks, 2..16 (the
 * last T mod S dates are left out). Performance is the Sharpe ratio of a
 * block set; ranks average ties. Errors: INVALID_ARG (N < 2, S odd or out of
 * range, fewer than 2 dates a block, a non-finite value). Thread-safe. */
vfr_status vfr_cpcv_pbo(const double *R, int32_t N, int32_t T, int32_t S, vfr_pbo *out);

#endif
