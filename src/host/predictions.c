/* predictions.c: the predictions file (HDF5, format v1, docs/predictions-format.md):
 * a validating reader with a set filter, and a writer that goes through a
 * temporary file renamed into place (HDF5 helpers: h5util.h). HDF5's error
 * printing is off: every
 * failure becomes a vfr_status naming the file and the field. */
#include "metrics_internal.h"
#include "util.h"
#include "vfr/dataset.h"
#include "vfr/predictions.h"
#include "vfr/backtest.h"
#include "vfr_config.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- sets ------------------------------------------------------------------ */

static const char *const set_names[] = {"train", "validation", "test"};

vfr_status vfr_predictions_set_parse(const char *s, int *set)
{
    if (s && strcmp(s, "all") == 0) {
        *set = VFR_SET_ALL;
        return VFR_OK;
    }
    for (int i = 0; i < 3; i++)
        if (s && strcmp(s, set_names[i]) == 0) {
            *set = i;
            return VFR_OK;
        }
    return vfr_fail(VFR_ERR_INVALID_ARG, "set '%s': expected train, validation, test or all",
                    s ? s : "(null)");
}

const char *vfr_predictions_set_name(int set)
{
    return set == VFR_SET_ALL ? "all" : set >= 0 && set < 3 ? set_names[set] : "?";
}

/* ---- reader ---------------------------------------------------------------- */

void vfr_predictions_free(vfr_predictions *p)
{
    if (!p)
        return;
    vfri_h5_free_strings(p->symbols, p->S);
    vfri_h5_free_strings(p->score_names, p->M);
    free(p->date), free(p->symbol), free(p->date_offset), free(p->score), free(p->label);
    free(p->fwd), free(p->fwd1), free(p->set), free(p->bt_store);
    free(p);
}

/* Opens a dataset of the given class and rank (rank 0 here: 1 or 2 allowed),
 * dims into d. Returns the id, 0 when absent and optional, -1 with the error set. */
static hid_t open_field(hid_t file, const char *path, const char *name, H5T_class_t cls,
                        int rank, hsize_t *d, int optional)
{
    if (H5Lexists(file, name, H5P_DEFAULT) <= 0) {
        if (optional)
            return 0;
        vfr_fail(VFR_ERR_FORMAT, "%s: field '%s' is missing", path, name);
        return -1;
    }
    hid_t id = H5Dopen2(file, name, H5P_DEFAULT);
    if (id < 0) {
        vfr_fail(VFR_ERR_FORMAT, "%s: field '%s' cannot be opened (corrupt or truncated file?)",
                 path, name);
        return -1;
    }
    hid_t t = H5Dget_type(id), sp = H5Dget_space(id);
    H5T_class_t c = H5Tget_class(t);
    int r = H5Sget_simple_extent_ndims(sp);
    d[0] = d[1] = 0;
    if (r >= 1 && r <= 2)
        H5Sget_simple_extent_dims(sp, d, NULL);
    H5Tclose(t);
    H5Sclose(sp);
    if (c != cls || (rank ? r != rank : (r < 1 || r > 2))) {
        vfr_fail(VFR_ERR_FORMAT, "%s: field '%s' must be a %s %s array", path, name,
                 rank == 1 ? "1-d" : rank == 2 ? "2-d" : "1-d or 2-d",
                 cls == H5T_INTEGER ? "integer" : "float");
        H5Dclose(id);
        return -1;
    }
    /* declared sizes checked before anything is allocated for them */
    if (d[0] > VFR_DATASET_MAX_ROWS || d[1] > VFR_DATASET_MAX_ROWS ||
        !vfri_h5_stored_plausibly(id, d[0] * (r == 2 ? d[1] : 1))) {
        vfr_fail(VFR_ERR_FORMAT, "%s: field '%s' declares [%llu, %llu]: over the row limit, or more than the file stores (truncated or forged file)",
                 path, name, (unsigned long long)d[0], (unsigned long long)d[1]);
        H5Dclose(id);
        return -1;
    }
    return id;
}

/* Reads a 1-d numeric field of n rows into a new array of memtype. */
static vfr_status read_column(hid_t file, const char *path, const char *name, H5T_class_t cls,
                              hid_t memtype, size_t elem, int64_t n, int optional, void **out)
{
    hsize_t d[2];
    *out = NULL;
    hid_t id = open_field(file, path, name, cls, 1, d, optional);
    if (id < 0)
        return VFR_ERR_FORMAT;
    if (id == 0)
        return VFR_OK;
    vfr_status st = VFR_OK;
    if ((int64_t)d[0] != n) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: field '%s' has %llu rows, 'date' has %lld", path, name,
                      (unsigned long long)d[0], (long long)n);
        goto done;
    }
    if (!(*out = malloc(elem * (size_t)(n ? n : 1)))) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory reading '%s'", path, name);
        goto done;
    }
    if (n && H5Dread(id, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0)
        st = vfr_fail(VFR_ERR_FORMAT, "%s: cannot read '%s' (corrupt or truncated file?)", path,
                      name);
done:
    H5Dclose(id);
    return st;
}

/* Keeps the entries of v[0..n) whose keep[i] is set, in place. */
static void compact(void *v, size_t elem, const char *keep, int64_t n)
{
    char *b = v;
    int64_t o = 0;
    for (int64_t i = 0; i < n; i++)
        if (keep[i]) {
            if (o != i)
                memcpy(b + (size_t)o * elem, b + (size_t)i * elem, elem);
            o++;
        }
}

static vfr_status read_scores(hid_t file, const char *path, vfr_predictions *p, int64_t N,
                              const char *keep, int64_t kept)
{
    hsize_t d[2];
    vfr_status st = VFR_OK;
    hid_t id = open_field(file, path, "score", H5T_FLOAT, 0, d, 0), fs = -1, ms = -1;
    float *row = NULL;
    if (id < 0)
        return VFR_ERR_FORMAT;
    fs = H5Dget_space(id);
    int rank = H5Sget_simple_extent_ndims(fs);
    if (rank == 1) /* a single score vector may be stored 1-d */
        d[1] = d[0], d[0] = 1;
    if ((int64_t)d[1] != N || d[0] < 1 || d[0] > INT32_MAX) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: field 'score' is [%llu, %llu]; want [M, %lld], M >= 1",
                      path, (unsigned long long)d[0], (unsigned long long)d[1], (long long)N);
        goto done;
    }
    p->M = (int32_t)d[0];
    p->score = malloc(sizeof *p->score * (size_t)p->M * (size_t)(kept ? kept : 1));
    row = malloc(sizeof *row * (size_t)(N ? N : 1));
    if (!p->score || !row) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory for %d x %lld scores", path, p->M,
                      (long long)N);
        goto done;
    }
    /* one model (row of the file) at a time, so that a set filter needs only
     * one row of scratch */
    hsize_t cnt[2] = {1, (hsize_t)N}, n1 = (hsize_t)N;
    ms = H5Screate_simple(1, &n1, NULL);
    for (int32_t m = 0; m < p->M && N > 0; m++) {
        hsize_t start[2] = {(hsize_t)m, 0};
        float *dst = keep ? row : p->score + (size_t)m * (size_t)N;
        if ((rank == 2 ? H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL)
                       : H5Sselect_all(fs)) < 0 ||
            H5Dread(id, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, dst) < 0) {
            st = vfr_fail(VFR_ERR_FORMAT, "%s: cannot read 'score' row %d (corrupt or truncated file?)",
                          path, m);
            goto done;
        }
        if (keep) {
            compact(row, sizeof *row, keep, N);
            memcpy(p->score + (size_t)m * (size_t)kept, row, sizeof *row * (size_t)kept);
        }
    }
done:
    free(row);
    if (ms > 0)
        H5Sclose(ms);
    if (fs > 0)
        H5Sclose(fs);
    H5Dclose(id);
    return st;
}

static vfr_status validate_rows(const char *path, const vfr_predictions *p)
{
    for (int64_t i = 0; i < p->N; i++) {
        int32_t s = p->symbol[i];
        if (s < 0 || s >= p->S)
            return vfr_fail(VFR_ERR_FORMAT, "%s: field 'symbol', row %lld: %d is not an index into %d symbols",
                            path, (long long)i, s, p->S);
        if (!vfr_date_in_range(p->date[i]))
            return vfr_fail(VFR_ERR_FORMAT, "%s: field 'date', row %lld: %d days since 1970-01-01 is outside %s..%s",
                            path, (long long)i, p->date[i], VFR_DATE_MIN_STR, VFR_DATE_MAX_STR);
        if (p->set && (p->set[i] < 0 || p->set[i] > 2))
            return vfr_fail(VFR_ERR_FORMAT, "%s: field 'set', row %lld: %d is not 0 (train), 1 (validation) or 2 (test)",
                            path, (long long)i, p->set[i]);
        if (i > 0) {
            int32_t pd = p->date[i - 1], ps = p->symbol[i - 1];
            if (p->date[i] < pd || (p->date[i] == pd && s <= ps)) {
                char a[11], b[11];
                vfr_date_format(p->date[i], a);
                vfr_date_format(pd, b);
                return vfr_fail(VFR_ERR_FORMAT,
                                "%s: row %lld (%s, %s) %s row %lld (%s, %s): rows must be sorted by (date, symbol) and unique",
                                path, (long long)i, a, p->symbols[s],
                                p->date[i] == pd && s == ps ? "duplicates" : "is out of order after",
                                (long long)i - 1, b, p->symbols[ps]);
            }
        }
    }
    return VFR_OK;
}

static vfr_status check_names(const char *path, const char *field, char *const *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!v[i] || !v[i][0])
            return vfr_fail(VFR_ERR_FORMAT, "%s: field '%s', entry %lld is empty", path, field,
                            (long long)i);
    int64_t i, j;
    int dup = vfri_find_duplicate((const char *const *)v, n, &i, &j);
    if (dup < 0)
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", path);
    if (dup)
        return vfr_fail(VFR_ERR_FORMAT, "%s: field '%s': '%s' appears twice (entries %lld and %lld)",
                        path, field, v[j], (long long)i, (long long)j);
    return VFR_OK;
}

/* Dates and their offsets from the sorted date column. */
static vfr_status build_offsets(const char *path, vfr_predictions *p)
{
    int32_t T = 0;
    for (int64_t i = 0; i < p->N; i++)
        if (i == 0 || p->date[i] != p->date[i - 1])
            T++;
    p->T = T;
    p->date_offset = malloc(sizeof *p->date_offset * (size_t)(T + 1));
    if (!p->date_offset)
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", path);
    int32_t t = 0;
    for (int64_t i = 0; i < p->N; i++)
        if (i == 0 || p->date[i] != p->date[i - 1])
            p->date_offset[t++] = i;
    p->date_offset[T] = p->N;
    return VFR_OK;
}

static vfr_status default_names(const char *path, vfr_predictions *p)
{
    p->score_names = calloc((size_t)p->M, sizeof *p->score_names);
    if (!p->score_names)
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", path);
    for (int32_t m = 0; m < p->M; m++) {
        char buf[32];
        if (p->M == 1)
            snprintf(buf, sizeof buf, "score");
        else
            snprintf(buf, sizeof buf, "score_%d", m);
        if (!(p->score_names[m] = vfri_strdup(buf)))
            return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", path);
    }
    return VFR_OK;
}

vfr_status vfr_predictions_read(const char *path, int set, vfr_predictions **out)
{
    vfr_status st = VFR_OK;
    vfr_predictions *p = NULL;
    hid_t file = -1;
    char buf[64], *keep = NULL;
    int32_t version = 0;
    hsize_t d[2];
    *out = NULL;
    vfri_h5_quiet();
    struct stat sb;
    if (stat(path, &sb) != 0)
        return vfr_fail(VFR_ERR_NOT_FOUND, "%s: %s", path, strerror(errno));
    if (set < VFR_SET_ALL || set > VFR_SET_TEST)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: set filter %d is not a set", path, set);
    if (!S_ISREG(sb.st_mode) || H5Fis_hdf5(path) <= 0)
        return vfr_fail(VFR_ERR_FORMAT, "%s: not an HDF5 file", path);
    if (!(p = calloc(1, sizeof *p)))
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", path);
    if ((file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: cannot open (corrupt or truncated HDF5 file?)", path);
        goto fail;
    }
    if (vfri_h5_read_string_attr(file, "format", buf, sizeof buf) != 0 ||
        strcmp(buf, VFR_PREDICTIONS_FORMAT) != 0) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: not a vfr predictions file (root attribute 'format' is '%s', want '%s')",
                      path, buf, VFR_PREDICTIONS_FORMAT);
        goto fail;
    }
    if (vfri_h5_read_int_attr(file, "format_version", &version) != 0 ||
        version != VFR_PREDICTIONS_FORMAT_VERSION) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: format_version %d; this vfr reads version %d", path,
                      version, VFR_PREDICTIONS_FORMAT_VERSION);
        goto fail;
    }
    if (vfri_h5_read_int_attr(file, "horizon", &p->horizon) != 0 || p->horizon < 1) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: root attribute 'horizon' is missing or not >= 1", path);
        goto fail;
    }
    if (vfri_h5_read_string_attr(file, "task", buf, sizeof buf) != 0 ||
        vfr_metrics_task_parse(buf, &p->task) != VFR_OK) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: root attribute 'task' is '%s'; want classification or regression",
                      path, buf);
        goto fail;
    }
    /* the run's backtest, when the writer recorded one */
    if (vfri_h5_read_string_attr(file, "backtest_strategy", buf, sizeof buf) == 0) {
        vfr_backtest_options *bo = p->bt_store = malloc(sizeof *bo);
        if (!bo) {
            st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", path);
            goto fail;
        }
        vfr_backtest_options_default(bo);
        if (vfr_backtest_strategy_parse(buf, &bo->strategy) != VFR_OK ||
            vfri_h5_read_int_attr(file, "backtest_k", &bo->k) != 0 ||
            vfri_h5_read_int_attr(file, "backtest_horizon", &bo->horizon) != 0 ||
            vfri_h5_read_double_attr(file, "backtest_threshold", &bo->threshold) != 0 ||
            vfri_h5_read_double_attr(file, "backtest_cost_bps", &bo->cost_bps) != 0 ||
            vfr_backtest_options_check(bo) != VFR_OK) {
            st = vfr_fail(VFR_ERR_FORMAT, "%s: root attributes backtest_*: strategy '%s' with a missing or bad "
                                          "k, horizon, threshold or cost_bps", path, buf);
            goto fail;
        }
        p->backtest = bo;
    }
    hid_t id = open_field(file, path, "symbols", H5T_STRING, 1, d, 0);
    if (id < 0) {
        st = VFR_ERR_FORMAT;
        goto fail;
    }
    H5Dclose(id);
    if (d[0] > INT32_MAX || vfri_h5_read_strings(file, "symbols", (int64_t)d[0], &p->symbols) != 0) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: cannot read 'symbols'", path);
        goto fail;
    }
    p->S = (int32_t)d[0];
    VFR_TRY(check_names(path, "symbols", p->symbols, p->S));
    if ((id = open_field(file, path, "date", H5T_INTEGER, 1, d, 0)) < 0) {
        st = VFR_ERR_FORMAT;
        goto fail;
    }
    H5Dclose(id);
    const int64_t N0 = (int64_t)d[0];
    p->N = N0;
    VFR_TRY(read_column(file, path, "date", H5T_INTEGER, H5T_NATIVE_INT32, 4, N0, 0, (void **)&p->date));
    VFR_TRY(read_column(file, path, "symbol", H5T_INTEGER, H5T_NATIVE_INT32, 4, N0, 0, (void **)&p->symbol));
    VFR_TRY(read_column(file, path, "label", H5T_FLOAT, H5T_NATIVE_FLOAT, 4, N0, 0, (void **)&p->label));
    VFR_TRY(read_column(file, path, "forward_return", H5T_FLOAT, H5T_NATIVE_FLOAT, 4, N0, 1, (void **)&p->fwd));
    VFR_TRY(read_column(file, path, "forward_return_1", H5T_FLOAT, H5T_NATIVE_FLOAT, 4, N0, 1, (void **)&p->fwd1));
    VFR_TRY(read_column(file, path, "set", H5T_INTEGER, H5T_NATIVE_INT8, 1, N0, 1, (void **)&p->set));
    VFR_TRY(validate_rows(path, p));
    if (set != VFR_SET_ALL && !p->set) {
        st = vfr_fail(VFR_ERR_INVALID_ARG, "%s: has no 'set' column, so it cannot be filtered to '%s'",
                      path, vfr_predictions_set_name(set));
        goto fail;
    }
    int64_t kept = N0;
    if (set != VFR_SET_ALL) {
        if (!(keep = malloc((size_t)(N0 ? N0 : 1)))) {
            st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", path);
            goto fail;
        }
        kept = 0;
        for (int64_t i = 0; i < N0; i++)
            kept += keep[i] = p->set[i] == set;
        compact(p->date, 4, keep, N0);
        compact(p->symbol, 4, keep, N0);
        compact(p->label, 4, keep, N0);
        compact(p->set, 1, keep, N0);
        if (p->fwd)
            compact(p->fwd, 4, keep, N0);
        if (p->fwd1)
            compact(p->fwd1, 4, keep, N0);
    }
    VFR_TRY(read_scores(file, path, p, N0, keep, kept));
    p->N = kept;
    if (H5Lexists(file, "score_names", H5P_DEFAULT) > 0) {
        if (vfri_h5_read_strings(file, "score_names", p->M, &p->score_names) != 0) {
            st = vfr_fail(VFR_ERR_FORMAT, "%s: field 'score_names' must hold %d strings", path, p->M);
            goto fail;
        }
        VFR_TRY(check_names(path, "score_names", p->score_names, p->M));
    } else {
        VFR_TRY(default_names(path, p));
    }
    VFR_TRY(build_offsets(path, p));
    H5Fclose(file);
    free(keep);
    *out = p;
    return VFR_OK;
fail:
    if (file > 0)
        H5Fclose(file);
    free(keep);
    vfr_predictions_free(p);
    return st;
}

void vfr_predictions_panel(const vfr_predictions *p, vfr_panel *out)
{
    out->N = p->N;
    out->T = p->T;
    out->S = p->S;
    out->date_offset = p->date_offset;
    out->symbol = p->symbol;
    out->label = p->label;
    out->fwd = p->fwd;
    out->fwd1 = p->fwd1;
}

/* ---- writer ---------------------------------------------------------------- */

vfr_status vfr_predictions_write(const char *path, const vfr_predictions *p, int compression)
{
    vfr_status st = VFR_OK;
    char *tmp = NULL;
    hid_t file = -1;
    char **names = NULL;
    vfri_h5_quiet();
    if (!p || p->N < 0 || p->M < 1 || p->S < 0 || p->horizon < 1 || compression < 0 ||
        compression > 9 || (p->N > 0 && (!p->date || !p->symbol || !p->score || !p->label)) ||
        (p->S > 0 && !p->symbols))
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "%s: predictions need N >= 0, M >= 1, horizon >= 1, date, symbol, score, label and symbols",
                        path);
    if (p->task != VFR_TASK_CLASSIFICATION && p->task != VFR_TASK_REGRESSION)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: unknown task %d", path, (int)p->task);
    if ((st = check_names(path, "symbols", p->symbols, p->S)) != VFR_OK ||
        (p->score_names && (st = check_names(path, "score_names", p->score_names, p->M)) != VFR_OK) ||
        (st = validate_rows(path, p)) != VFR_OK) {
        char msg[1024]; /* the same checks as the reader: bad input here, not a bad file */
        snprintf(msg, sizeof msg, "%s", vfr_last_error());
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s", msg);
    }
    if (!p->score_names) {
        vfr_predictions q = *p;
        q.score_names = NULL;
        if ((st = default_names(path, &q)) != VFR_OK) {
            vfri_h5_free_strings(q.score_names, p->M);
            return st;
        }
        names = q.score_names;
    }
    if ((file = vfri_h5_create_tmp(path, &tmp)) < 0)
        return vfr_fail(VFR_ERR_IO,
                        "%s: cannot create a temporary file beside it (does the folder exist "
                        "and is it writable?)",
                        path);
    const uint64_t n1[1] = {(uint64_t)p->N}, mn[2] = {(uint64_t)p->M, (uint64_t)p->N};
    const struct {
        const char *name;
        hid_t ftype, mtype;
        int rank;
        const uint64_t *dims;
        const void *buf; /* NULL: optional column left out */
    } cols[] = {
        {"date", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, n1, p->date},
        {"symbol", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, n1, p->symbol},
        {"score", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, mn, p->score},
        {"label", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, n1, p->label},
        {"forward_return", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, n1, p->fwd},
        {"forward_return_1", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, n1, p->fwd1},
        {"set", H5T_STD_I8LE, H5T_NATIVE_INT8, 1, n1, p->set},
    };
    const char *const *score_names = (const char *const *)(names ? names : p->score_names);
    int bad = vfri_h5_write_string_attr(file, "format", VFR_PREDICTIONS_FORMAT) < 0 ||
              vfri_h5_write_int_attr(file, "format_version",
                                                VFR_PREDICTIONS_FORMAT_VERSION) < 0 ||
              vfri_h5_write_string_attr(file, "created_by", "vfr " VFR_VERSION) < 0 ||
              vfri_h5_write_string_attr(file, "task", vfr_metrics_task_name(p->task)) < 0 ||
              vfri_h5_write_int_attr(file, "horizon", p->horizon) < 0 ||
              vfri_h5_write_strings(file, "symbols", (const char *const *)p->symbols,
                                               p->S) < 0 ||
              vfri_h5_write_strings(file, "score_names", score_names, p->M) < 0;
    if (!bad && p->backtest) /* vfr backtest and vfr evaluate default to the run's own */
        bad = vfri_h5_write_string_attr(file, "backtest_strategy", vfr_backtest_strategy_name(p->backtest->strategy)) < 0 ||
              vfri_h5_write_int_attr(file, "backtest_k", p->backtest->k) < 0 ||
              vfri_h5_write_int_attr(file, "backtest_horizon", p->backtest->horizon) < 0 ||
              vfri_h5_write_double_attr(file, "backtest_threshold", p->backtest->threshold) < 0 ||
              vfri_h5_write_double_attr(file, "backtest_cost_bps", p->backtest->cost_bps) < 0;
    for (size_t i = 0; !bad && i < sizeof cols / sizeof cols[0]; i++)
        if (i < 4 || cols[i].buf) /* the first four are required */
            bad = vfri_h5_write_array(file, cols[i].name, cols[i].ftype,
                                                 cols[i].mtype, cols[i].rank, cols[i].dims,
                                                 cols[i].buf, compression) < 0;
    if (bad) {
        st = vfr_fail(VFR_ERR_IO, "%s: writing '%s' failed (disk full?)", path, tmp);
        vfri_h5_abort(file, tmp);
        goto done;
    }
    st = vfri_h5_commit(file, tmp, path);
done:
    vfri_h5_free_strings(names, p->M);
    return st;
}
