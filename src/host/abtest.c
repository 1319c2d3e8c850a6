/* abtest.c: per-version scoring of a `vfr predict` file and the paired
 * comparison of two served versions (abtest.h). The rows of one version are
 * gathered into their own panel (rows stay in date, symbol order) and go
 * through the same vfr_metrics_batch and vfr_backtest as the whole file would;
 * the comparison is stats.h's Newey-West paired t-test on the dates both
 * arms have. */
#include "vfr/abtest.h"

#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "h5util.h"
#include "vfr/predictions.h"

void vfr_ab_result_free(vfr_ab_result *r)
{
    if (!r)
        return;
    for (int32_t k = 0; r->arm && k < r->V; k++) {
        free(r->arm[k].date);
        free(r->arm[k].daily);
    }
    free(r->arm);
    memset(r, 0, sizeof *r);
}

/* /version_index [N] and /versions [V] of a vfr predict file. */
static vfr_status read_versions(const char *path, int64_t N, int32_t **vidx, char ***versions, int32_t *V,
                                char *model, size_t model_cap)
{
    *vidx = NULL;
    *versions = NULL;
    *V = 0;
    vfri_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return vfr_fail(VFR_ERR_IO, "%s: cannot open", path);
    vfr_status st = VFR_OK;
    hid_t d = -1, sp = -1;
    if (H5Lexists(f, "version_index", H5P_DEFAULT) <= 0 || H5Lexists(f, "versions", H5P_DEFAULT) <= 0) {
        st = vfr_fail(VFR_ERR_FORMAT,
                      "%s: no /version_index and /versions: --by-version needs a file written by vfr predict "
                      "(which records the version that scored each row)",
                      path);
        goto done;
    }
    if ((d = H5Dopen2(f, "versions", H5P_DEFAULT)) < 0 || (sp = H5Dget_space(d)) < 0 ||
        H5Sget_simple_extent_ndims(sp) != 1) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: /versions: not a 1-d string array", path);
        goto done;
    }
    int64_t nv = H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp), H5Dclose(d);
    sp = d = -1;
    if (nv < 1 || nv > 64 || vfri_h5_read_strings(f, "versions", nv, versions) < 0) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: /versions: want 1 to 64 strings", path);
        goto done;
    }
    *V = (int32_t)nv;
    if ((d = H5Dopen2(f, "version_index", H5P_DEFAULT)) < 0 || (sp = H5Dget_space(d)) < 0 ||
        H5Sget_simple_extent_ndims(sp) != 1 || H5Sget_simple_extent_npoints(sp) != N) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: /version_index: want an integer array of the %lld rows", path,
                      (long long)N);
        goto done;
    }
    if (!(*vidx = malloc(sizeof **vidx * (size_t)(N ? N : 1)))) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    if (N && H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, *vidx) < 0) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: /version_index: cannot read as integers", path);
        goto done;
    }
    for (int64_t i = 0; i < N; i++)
        if ((*vidx)[i] < 0 || (*vidx)[i] >= nv) {
            st = vfr_fail(VFR_ERR_FORMAT, "%s: /version_index row %lld: %d is outside [0, %lld)", path,
                          (long long)i, (*vidx)[i], (long long)nv);
            goto done;
        }
    if (vfri_h5_read_string_attr(f, "model", model, model_cap) < 0)
        model[0] = '\0';
done:
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    H5Fclose(f);
    if (st != VFR_OK) {
        free(*vidx);
        *vidx = NULL;
        vfri_h5_free_strings(*versions, *V);
        *versions = NULL;
        *V = 0;
    }
    return st;
}

/* One arm: its rows (vidx == k and in the set) as a panel, scored. */
static vfr_status score_arm(const vfr_predictions *p, const int32_t *vidx, int32_t k, int set, vfr_device_kind dev,
                            const vfr_metrics_options *mo, const vfr_backtest_options *bo, vfr_ab_arm *a)
{
    vfr_status st = VFR_OK;
    int64_t n = 0;
    for (int64_t i = 0; i < p->N; i++)
        n += vidx[i] == k && (set == VFR_SET_ALL || p->set[i] == set);
    a->rows = n;
    for (int j = 0; j < VFR_METRIC_COUNT; j++)
        a->metrics[j] = NAN;
    for (int j = 0; j < VFR_FIN_COUNT; j++)
        a->backtest[j] = NAN;
    if (n == 0)
        return VFR_OK;
    size_t nn = (size_t)n;
    int32_t *sym = malloc(sizeof *sym * nn), *date = malloc(sizeof *date * nn);
    float *score = malloc(sizeof *score * nn), *label = malloc(sizeof *label * nn);
    float *fwd = p->fwd ? malloc(sizeof *fwd * nn) : NULL, *fwd1 = malloc(sizeof *fwd1 * nn);
    int64_t *off = malloc(sizeof *off * (nn + 1));
    unsigned char *seen = calloc(p->S ? (size_t)p->S : 1, 1);
    if (!sym || !date || !score || !label || (p->fwd && !fwd) || !fwd1 || !off || !seen) {
        st = vfr_fail(VFR_ERR_NOMEM, "evaluate: out of memory");
        goto done;
    }
    /* the 1-day return: /forward_return_1, or the horizon return when that is 1 day */
    const float *src1 = p->fwd1 ? p->fwd1 : p->horizon == 1 ? p->fwd : NULL;
    int32_t T = 0;
    int64_t m = 0;
    for (int64_t i = 0; i < p->N; i++) {
        if (vidx[i] != k || !(set == VFR_SET_ALL || p->set[i] == set))
            continue;
        if (m == 0 || p->date[i] != date[m - 1])
            off[T++] = m;
        sym[m] = p->symbol[i];
        date[m] = p->date[i];
        score[m] = p->score[i]; /* a vfr predict file has one score vector */
        label[m] = p->label[i];
        if (fwd)
            fwd[m] = p->fwd[i];
        fwd1[m] = src1 ? src1[i] : NAN;
        a->symbols += !seen[sym[m]];
        seen[sym[m]] = 1;
        m++;
    }
    off[T] = m;
    a->dates = T;
    if (!(a->date = malloc(sizeof *a->date * (size_t)T))) {
        st = vfr_fail(VFR_ERR_NOMEM, "evaluate: out of memory");
        goto done;
    }
    for (int32_t t = 0; t < T; t++)
        a->date[t] = date[off[t]];
    vfr_panel pn = {n, T, p->S, off, sym, label, fwd, src1 ? fwd1 : NULL};
    vfr_metrics_options o = *mo;
    o.task = p->task;
    if ((st = vfr_metrics_batch(dev, &pn, score, 1, &o, a->metrics)) != VFR_OK)
        goto done;
    if (src1) {
        if (!(a->daily = malloc(sizeof *a->daily * (size_t)T))) {
            st = vfr_fail(VFR_ERR_NOMEM, "evaluate: out of memory");
            goto done;
        }
        st = vfr_backtest(dev, &pn, score, 1, bo, a->backtest, a->daily);
    }
done:
    free(sym), free(date), free(score), free(label), free(fwd), free(fwd1), free(off), free(seen);
    return st;
}

static void compare(const vfr_ab_result *r, const vfr_backtest_options *bo, vfr_device_kind dev, vfr_ab_result *out)
{
    const vfr_ab_arm *a = &r->arm[0], *b = &r->arm[1];
    if (!a->daily || !b->daily) {
        snprintf(out->why_not, sizeof out->why_not, "the file has no 1-day forward returns: no backtest to compare");
        return;
    }
    int32_t n = 0, cap = a->dates < b->dates ? a->dates : b->dates;
    double *x = malloc(sizeof *x * (size_t)(cap ? cap : 1) * 2);
    if (!x) {
        snprintf(out->why_not, sizeof out->why_not, "out of memory");
        return;
    }
    double *y = x + (cap ? cap : 1);
    for (int32_t i = 0, j = 0; i < a->dates && j < b->dates;) { /* both date lists ascend */
        if (a->date[i] < b->date[j]) {
            i++;
        } else if (a->date[i] > b->date[j]) {
            j++;
        } else {
            x[n] = b->daily[j++]; /* challenger */
            y[n] = a->daily[i++]; /* champion   */
            n++;
        }
    }
    out->common_dates = n;
    vfr_status st = n >= 3 ? vfr_stats_ttest_newey_west(x, y, n, vfr_stats_nw_lag(n, r->horizon), 0.95, &out->diff)
                           : vfr_fail(VFR_ERR_INVALID_ARG, "%d common dates (3 or more are needed)", n);
    if (st == VFR_OK) {
        double met[2 * VFR_FIN_COUNT], *both = malloc(sizeof *both * (size_t)n * 2);
        out->compared = 1;
        out->sharpe[0] = out->sharpe[1] = NAN;
        if (both) {
            memcpy(both, y, sizeof *both * (size_t)n);
            memcpy(both + n, x, sizeof *both * (size_t)n);
            if (vfr_backtest_stats(dev, both, 2, n, bo, met) == VFR_OK) {
                out->sharpe[0] = met[VFR_FIN_SHARPE];
                out->sharpe[1] = met[VFR_FIN_COUNT + VFR_FIN_SHARPE];
            }
            free(both);
        }
    } else {
        snprintf(out->why_not, sizeof out->why_not, "%s", vfr_last_error());
    }
    free(x);
}

vfr_status vfr_ab_evaluate(const char *path, int set, vfr_device_kind dev, const vfr_metrics_options *mo,
                           const vfr_backtest_options *bo_in, vfr_ab_result *r)
{
    memset(r, 0, sizeof *r);
    vfr_predictions *p = NULL;
    int32_t *vidx = NULL;
    char **versions = NULL;
    vfr_status st = vfr_predictions_read(path, VFR_SET_ALL, &p); /* all rows: /version_index is per file row */
    if (st != VFR_OK)
        return st;
    if (set != VFR_SET_ALL && !p->set) {
        st = vfr_fail(VFR_ERR_INVALID_ARG, "%s: --set %s: the file has no /set column", path,
                      vfr_predictions_set_name(set));
        goto fail;
    }
    if (p->M != 1) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: %d score vectors; a vfr predict file has one", path, p->M);
        goto fail;
    }
    VFR_TRY(read_versions(path, p->N, &vidx, &versions, &r->V, r->model, sizeof r->model));
    vfr_backtest_options bo = *bo_in;
    if (bo.horizon <= 0)
        bo.horizon = p->horizon;
    VFR_TRY(vfr_backtest_options_check(&bo));
    r->horizon = p->horizon;
    r->task = p->task;
    if (!(r->arm = calloc((size_t)r->V, sizeof *r->arm))) {
        st = vfr_fail(VFR_ERR_NOMEM, "evaluate: out of memory");
        goto fail;
    }
    for (int32_t k = 0; k < r->V; k++) {
        snprintf(r->arm[k].version, sizeof r->arm[k].version, "%s", versions[k]);
        if ((st = score_arm(p, vidx, k, set, dev, mo, &bo, &r->arm[k])) != VFR_OK) {
            vfr_error_prefix("%s: version %s: ", path, versions[k]);
            goto fail;
        }
    }
    if (r->V == 2)
        compare(r, &bo, dev, r);
    else
        snprintf(r->why_not, sizeof r->why_not, "one served version: nothing to compare");
fail:
    vfri_h5_free_strings(versions, versions ? r->V : 0);
    if (st != VFR_OK)
        vfr_ab_result_free(r);
    free(vidx);
    vfr_predictions_free(p);
    return st;
}
