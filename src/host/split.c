/* split.c: building time folds and checking them for leakage.
 *
 * Each fold is first laid out as one role per date (train, validation, test,
 * purged, embargoed, unused), which makes purging a simple sweep and the
 * counts add up by construction; the roles are then turned into ranges. The
 * checker works from the ranges alone, so it does not share the builder's
 * mistakes. */
#include "vfr/split.h"

#include "vfr/cpcv.h"

#include <stdlib.h>
#include <string.h>

const char *vfr_role_name(vfr_role s)
{
    static const char *n[] = {"unused", "train", "validation", "test", "purged", "embargoed"};
    return (unsigned)s <= VFR_ROLE_EMBARGOED ? n[s] : "?";
}

int32_t vfr_range_count(const vfr_range *r, int32_t n)
{
    int32_t c = 0;
    for (int32_t i = 0; i < n; i++)
        c += r[i].hi - r[i].lo;
    return c;
}

vfr_range vfr_range_longest(const vfr_range *r, int32_t n)
{
    vfr_range best = r[0];
    for (int32_t i = 1; i < n; i++)
        if (r[i].hi - r[i].lo > best.hi - best.lo)
            best = r[i];
    return best;
}

void vfr_split_free(vfr_split *s)
{
    if (!s)
        return;
    free(s->folds);
    free(s);
}

static void set_roles(unsigned char *role, int32_t lo, int32_t hi, vfr_role r)
{
    for (int32_t t = lo; t < hi; t++)
        role[t] = (unsigned char)r;
}

/* Purge around every block of role `protect`: dates of roles below it (train
 * for validation; train and validation for test) whose label window reaches
 * into the block, or that follow it within the purge (and, for test blocks,
 * the embargo). */
static void purge_around(unsigned char *role, int32_t T, vfr_role protect, int32_t purge,
                         int32_t embargo)
{
    for (int32_t a = 0; a < T;) {
        if (role[a] != protect) {
            a++;
            continue;
        }
        int32_t b = a;
        while (b < T && role[b] == protect)
            b++;
        for (int32_t t = a - purge < 0 ? 0 : a - purge; t < a; t++)
            if (role[t] == VFR_ROLE_TRAIN || (protect == VFR_ROLE_TEST && role[t] == VFR_ROLE_VAL))
                role[t] = VFR_ROLE_PURGED;
        int32_t e = protect == VFR_ROLE_TEST ? embargo : 0;
        for (int32_t t = b; t < T && t < b + purge + e; t++)
            if (role[t] == VFR_ROLE_TRAIN || (protect == VFR_ROLE_TEST && role[t] == VFR_ROLE_VAL))
                role[t] = t < b + purge ? VFR_ROLE_PURGED : VFR_ROLE_EMBARGOED;
        a = b;
    }
}

static vfr_status to_fold(const unsigned char *role, int32_t T, vfr_fold *f)
{
    memset(f, 0, sizeof *f);
    for (int32_t t = 0; t < T;) {
        int32_t u = t;
        while (u < T && role[u] == role[t])
            u++;
        vfr_range r = {t, u};
        vfr_range *dst = NULL;
        int32_t *n = NULL;
        switch ((vfr_role)role[t]) {
        case VFR_ROLE_TRAIN: dst = f->train, n = &f->n_train; break;
        case VFR_ROLE_VAL: dst = f->val, n = &f->n_val; break;
        case VFR_ROLE_TEST: dst = f->test, n = &f->n_test; break;
        case VFR_ROLE_PURGED: f->purged += u - t; break;
        case VFR_ROLE_EMBARGOED: f->embargoed += u - t; break;
        default: f->unused += u - t; break;
        }
        if (dst) {
            if (*n == VFR_SPLIT_MAX_RANGES)
                return vfr_fail(VFR_ERR_INVALID_ARG, "split: more than %d ranges in one set",
                                VFR_SPLIT_MAX_RANGES);
            dst[(*n)++] = r;
        }
        t = u;
    }
    return VFR_OK;
}

/* Train candidates [lo, a), test [a, b): the last val_share of what remains
 * before the test (after its purge) becomes validation. */
static void lay_sequential(unsigned char *role, int32_t lo, int32_t a, int32_t b, double val_share,
                           int32_t purge)
{
    set_roles(role, a, b, VFR_ROLE_TEST);
    int32_t avail = a - purge;
    int32_t nval = avail > lo ? (int32_t)(val_share * (double)(avail - lo) + 0.5) : 0;
    set_roles(role, lo, a, VFR_ROLE_TRAIN);
    if (nval > 0)
        set_roles(role, avail - nval, a, VFR_ROLE_VAL);
}

vfr_status vfr_split_make(const vfr_split_spec *sp, int32_t T, vfr_split **out)
{
    vfr_status st = VFR_OK;
    *out = NULL;
    vfr_split *s = calloc(1, sizeof *s);
    unsigned char *role = calloc(T > 0 ? (size_t)T : 1, 1);
    int32_t cap = 0, h = sp->horizon, purge = sp->purge;
    if (!s || !role) {
        st = vfr_fail(VFR_ERR_NOMEM, "split: out of memory");
        goto fail;
    }
    s->T = T;
    switch (sp->method) {
    case VFR_SPLIT_HOLDOUT: cap = 1; break;
    case VFR_SPLIT_WALK_FORWARD:
        if (T < sp->window + 1) {
            st = vfr_fail(VFR_ERR_INVALID_ARG, "split.windowSize: %d needs at least %d dates, the data have %d",
                          sp->window, sp->window + 1, T);
            goto fail;
        }
        cap = (T - sp->window + sp->step - 1) / sp->step;
        break;
    case VFR_SPLIT_KFOLD: cap = sp->folds; break;
    case VFR_SPLIT_CPCV: cap = (int32_t)vfr_cpcv_n_splits(sp->groups, sp->test_groups); break;
    }
    if (cap > 100000) {
        st = vfr_fail(VFR_ERR_INVALID_ARG, "split: %d folds is too many", cap);
        goto fail;
    }
    s->folds = calloc((size_t)cap, sizeof *s->folds);
    if (!s->folds) {
        st = vfr_fail(VFR_ERR_NOMEM, "split: out of memory");
        goto fail;
    }
    for (int32_t k = 0; k < cap; k++) {
        memset(role, VFR_ROLE_UNUSED, (size_t)T);
        if (sp->method == VFR_SPLIT_HOLDOUT) {
            int32_t t1 = (int32_t)(T * sp->train_share + 0.5);
            int32_t t2 = (int32_t)(T * (sp->train_share + sp->val_share) + 0.5);
            if (t1 - purge < 2 || (sp->val_share > 0 && t2 - purge <= t1) || T - t2 < 1) {
                st = vfr_fail(VFR_ERR_INVALID_ARG,
                              "split: %d dates are too few for a %g/%g holdout with a %d-date purge",
                              T, sp->train_share, sp->val_share, purge);
                goto fail;
            }
            set_roles(role, 0, t1, VFR_ROLE_TRAIN);
            set_roles(role, t1, t2, VFR_ROLE_VAL);
            set_roles(role, t2, T, VFR_ROLE_TEST);
        } else if (sp->method == VFR_SPLIT_WALK_FORWARD) {
            int32_t s0 = k * sp->step, a = s0 + sp->window, b = a + sp->step > T ? T : a + sp->step;
            if (a - (sp->expanding ? 0 : s0) - purge < 2) {
                st = vfr_fail(VFR_ERR_INVALID_ARG, "split.windowSize: %d leaves no training dates after a %d-date purge",
                              sp->window, purge);
                goto fail;
            }
            lay_sequential(role, sp->expanding ? 0 : s0, a, b, sp->val_share, purge);
        } else if (sp->method == VFR_SPLIT_KFOLD) {
            int32_t ts = T / (sp->folds + 1); /* sklearn TimeSeriesSplit boundaries */
            int32_t a = T - (sp->folds - k) * ts, b = a + ts;
            if (ts < 1 || a - purge < 2) {
                st = vfr_fail(VFR_ERR_INVALID_ARG, "trainingConfig.cvFolds: %d folds need more than %d dates",
                              sp->folds, T);
                goto fail;
            }
            lay_sequential(role, 0, a, b, sp->val_share, purge);
        } else { /* CPCV: the k-th combination of test_groups out of groups */
            int32_t G = sp->groups, pick[30], m = sp->test_groups;
            if (T < 2 * G) {
                st = vfr_fail(VFR_ERR_INVALID_ARG, "split.nGroups: %d groups need at least %d dates", G, 2 * G);
                goto fail;
            }
            vfr_cpcv_split_groups(G, m, k, pick);
            set_roles(role, 0, T, VFR_ROLE_TRAIN);
            for (int32_t i = 0; i < m; i++) {
                int32_t lo, hi;
                vfr_cpcv_group_range(T, G, pick[i], &lo, &hi);
                set_roles(role, lo, hi, VFR_ROLE_TEST);
            }
        }
        purge_around(role, T, VFR_ROLE_TEST, purge, sp->embargo);
        purge_around(role, T, VFR_ROLE_VAL, purge, 0);
        VFR_TRY(to_fold(role, T, &s->folds[k]));
        if (s->folds[k].n_train == 0) {
            st = vfr_fail(VFR_ERR_INVALID_ARG, "split: fold %d has no training dates left after purge and embargo", k);
            goto fail;
        }
        if (vfr_split_check(&s->folds[k], T, h, sp->embargo) != VFR_OK) {
            st = vfr_fail(VFR_ERR_INTERNAL, "split: fold %d fails the leak check: %s", k, vfr_last_error());
            goto fail;
        }
        s->K++;
    }
    free(role);
    *out = s;
    return VFR_OK;
fail:
    free(role);
    vfr_split_free(s);
    return st;
}

/* Checks train (or validation) dates `x` against the later-used blocks `blk`. */
static vfr_status check_against(const vfr_range *x, int32_t nx, const char *xname,
                                const vfr_range *blk, int32_t nb, const char *bname,
                                int32_t h, int32_t after_gap)
{
    for (int32_t i = 0; i < nx; i++)
        for (int32_t j = 0; j < nb; j++) {
            int32_t a = blk[j].lo, b = blk[j].hi;
            for (int32_t t = x[i].lo; t < x[i].hi; t++) {
                if (t >= a && t < b)
                    return vfr_fail(VFR_ERR_FORMAT, "date %d is in both %s and %s", t, xname, bname);
                if (t < a && t + h >= a)
                    return vfr_fail(VFR_ERR_FORMAT,
                                    "%s date %d: its label window [%d, %d] reaches into the %s block starting at %d",
                                    xname, t, t, t + h, bname, a);
                if (t >= b && t < b + after_gap)
                    return vfr_fail(VFR_ERR_FORMAT,
                                    "%s date %d is within %d dates after the %s block ending at %d (purge + embargo)",
                                    xname, t, after_gap, bname, b - 1);
            }
        }
    return VFR_OK;
}

vfr_status vfr_split_check(const vfr_fold *f, int32_t T, int32_t h, int32_t embargo)
{
    const vfr_range *sets[3] = {f->train, f->val, f->test};
    const int32_t ns[3] = {f->n_train, f->n_val, f->n_test};
    for (int k = 0; k < 3; k++)
        for (int32_t i = 0; i < ns[k]; i++)
            if (sets[k][i].lo < 0 || sets[k][i].hi > T || sets[k][i].lo >= sets[k][i].hi)
                return vfr_fail(VFR_ERR_FORMAT, "range [%d, %d) is empty or outside [0, %d)",
                                sets[k][i].lo, sets[k][i].hi, T);
    vfr_status st;
    if ((st = check_against(f->train, f->n_train, "train", f->test, f->n_test, "test", h, h + embargo)) ||
        (st = check_against(f->val, f->n_val, "validation", f->test, f->n_test, "test", h, h + embargo)) ||
        (st = check_against(f->train, f->n_train, "train", f->val, f->n_val, "validation", h, h)))
        return st;
    return VFR_OK;
}
