/* backtest_io.c: the backtest result file (HDF5, docs/predictions-format.md):
 * daily net returns and equity curves of M strategies, with the options that
 * made them, written through a temporary file renamed into place; and a
 * reader of daily returns for `vfr backtest --returns`. */
#include "metrics_internal.h"
#include "util.h"
#include "vfr/backtest.h"
#include "vfr_config.h"

#include <errno.h>
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

vfr_status vfr_backtest_write(const char *path, const vfr_backtest_options *o, int32_t M,
                              int32_t T, const int32_t *date, const char *const *names,
                              const double *daily)
{
    vfr_status st = VFR_OK;
    char *tmp = NULL;
    hid_t file = -1;
    double *equity = NULL;
    int32_t *dates = NULL;
    char **dflt = NULL;
    vfri_h5_quiet();
    if (!o || M < 1 || T < 0 || (!daily && T > 0))
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: need options, M >= 1 and daily returns", path);
    equity = malloc(sizeof *equity * (size_t)M * (size_t)(T ? T : 1));
    dates = malloc(sizeof *dates * (size_t)(T ? T : 1));
    dflt = names ? NULL : calloc((size_t)M, sizeof *dflt);
    if (!equity || !dates || (!names && !dflt)) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int32_t m = 0; m < M; m++)
        vfr_backtest_equity(daily + (size_t)m * (size_t)T, T, equity + (size_t)m * (size_t)T);
    for (int32_t t = 0; t < T; t++)
        dates[t] = date ? date[t] : t;
    for (int32_t m = 0; !names && m < M; m++) {
        char buf[32];
        snprintf(buf, sizeof buf, "strategy_%d", m);
        if (!(dflt[m] = vfri_strdup(buf))) {
            st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", path);
            goto done;
        }
    }
    if ((file = vfri_h5_create_tmp(path, &tmp)) < 0) {
        st = vfr_fail(VFR_ERR_IO,
                      "%s: cannot create a temporary file beside it (does the folder exist and "
                      "is it writable?)",
                      path);
        goto done;
    }
    const uint64_t n1[1] = {(uint64_t)T}, mt[2] = {(uint64_t)M, (uint64_t)T};
    const int ppy = o->periods_per_year > 0 ? o->periods_per_year : 252;
    const char *const *nm = names ? names : (const char *const *)dflt;
    if (vfri_h5_write_string_attr(file, "format", "vfr-backtest") < 0 ||
        vfri_h5_write_int_attr(file, "format_version", 1) < 0 ||
        vfri_h5_write_string_attr(file, "created_by", "vfr " VFR_VERSION) < 0 ||
        vfri_h5_write_string_attr(file, "strategy",
                                             vfr_backtest_strategy_name(o->strategy)) < 0 ||
        vfri_h5_write_int_attr(file, "k", o->k) < 0 ||
        vfri_h5_write_double_attr(file, "threshold", o->threshold) < 0 ||
        vfri_h5_write_int_attr(file, "horizon", o->horizon) < 0 ||
        vfri_h5_write_double_attr(file, "cost_bps", o->cost_bps) < 0 ||
        vfri_h5_write_double_attr(file, "risk_free", o->risk_free) < 0 ||
        vfri_h5_write_int_attr(file, "periods_per_year", ppy) < 0 ||
        vfri_h5_write_strings(file, "names", nm, M) < 0 ||
        vfri_h5_write_array(file, "date", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, n1,
                                       dates, 0) < 0 ||
        vfri_h5_write_array(file, "daily_return", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2,
                                       mt, daily, 0) < 0 ||
        vfri_h5_write_array(file, "equity", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, mt,
                                       equity, 0) < 0) {
        st = vfr_fail(VFR_ERR_IO, "%s: writing '%s' failed (disk full?)", path, tmp);
        vfri_h5_abort(file, tmp);
        goto done;
    }
    st = vfri_h5_commit(file, tmp, path);
done:
    free(equity);
    free(dates);
    vfri_h5_free_strings(dflt, M);
    return st;
}

vfr_status vfr_backtest_read_returns(const char *path, int32_t *M, int32_t *T, double **daily,
                                     char ***names)
{
    vfr_status st = VFR_OK;
    hid_t file = -1, id = -1, t = -1, sp = -1;
    hsize_t d[2] = {0, 0};
    *M = *T = 0;
    *daily = NULL;
    *names = NULL;
    vfri_h5_quiet();
    struct stat sb;
    if (stat(path, &sb) != 0)
        return vfr_fail(VFR_ERR_NOT_FOUND, "%s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode) || H5Fis_hdf5(path) <= 0)
        return vfr_fail(VFR_ERR_FORMAT, "%s: not an HDF5 file", path);
    if ((file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
        return vfr_fail(VFR_ERR_FORMAT, "%s: cannot open (corrupt or truncated HDF5 file?)", path);
    if (H5Lexists(file, "daily_return", H5P_DEFAULT) <= 0 ||
        (id = H5Dopen2(file, "daily_return", H5P_DEFAULT)) < 0) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: field 'daily_return' is missing", path);
        goto done;
    }
    t = H5Dget_type(id);
    sp = H5Dget_space(id);
    int rank = H5Sget_simple_extent_ndims(sp);
    if (H5Tget_class(t) != H5T_FLOAT || rank < 1 || rank > 2) {
        st = vfr_fail(VFR_ERR_FORMAT,
                      "%s: field 'daily_return' must be a float array [M, T] or [T]", path);
        goto done;
    }
    H5Sget_simple_extent_dims(sp, d, NULL);
    if (rank == 1)
        d[1] = d[0], d[0] = 1;
    if (d[0] < 1 || d[0] > INT32_MAX || d[1] > INT32_MAX ||
        !vfri_h5_stored_plausibly(id, d[0] * d[1])) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: field 'daily_return' is [%llu, %llu] (or stores fewer bytes than it declares)", path,
                      (unsigned long long)d[0], (unsigned long long)d[1]);
        goto done;
    }
    const hsize_t cells = d[0] * d[1];
    if (!(*daily = malloc(sizeof **daily * (size_t)(cells > 0 ? cells : 1)))) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    if (cells > 0 && H5Dread(id, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *daily) < 0) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: cannot read 'daily_return'", path);
        goto done;
    }
    *M = (int32_t)d[0];
    *T = (int32_t)d[1];
    if (H5Lexists(file, "names", H5P_DEFAULT) > 0 &&
        vfri_h5_read_strings(file, "names", *M, names) != 0) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: field 'names' must hold %d strings", path, *M);
        goto done;
    }
done:
    if (sp > 0)
        H5Sclose(sp);
    if (t > 0)
        H5Tclose(t);
    if (id > 0)
        H5Dclose(id);
    H5Fclose(file);
    if (st != VFR_OK) {
        free(*daily);
        *daily = NULL;
        *M = *T = 0;
    }
    return st;
}

void vfr_backtest_free_returns(double *daily, char **names, int32_t M)
{
    free(daily);
    vfri_h5_free_strings(names, M);
}
