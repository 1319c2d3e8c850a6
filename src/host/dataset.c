/* dataset.c: the vfr panel dataset in HDF5 (format v1, docs/dataset-format.md).
 *
 * The writer streams row blocks into chunked, extendible datasets in a
 * temporary file and renames it into place on commit. The reader validates the
 * whole index on open and reads feature values by row range through hyperslabs.
 * HDF5's automatic error printing is switched off: the library never prints,
 * and every HDF5 failure becomes a vfr_status naming the file and field.
 * Attribute and string-list helpers are shared with the other formats
 * (h5util.h). */
#include "vfr/dataset.h"
#include "dataset_internal.h"
#include "h5util.h"
#include "util.h"
#include "vfr_config.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const quality_names[VFR_QUALITY_COUNT] = {
    "completeness", "freshness", "reliability", "validity"};

const char *vfr_quality_name(vfr_quality q)
{
    return (unsigned)q < VFR_QUALITY_COUNT ? quality_names[q] : "?";
}

/* ---- dates ------------------------------------------------------------- */

/* Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian). */
static int32_t days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int32_t)doe - 719468;
}

vfr_status vfr_date_parse(const char *s, int32_t *days)
{
    int y = 0, m = 0, d = 0;
    for (int i = 0; i < 10; i++) {
        char c = s[i];
        if (i == 4 || i == 7) {
            if (c != '-')
                goto bad;
        } else if (c < '0' || c > '9') {
            goto bad;
        }
    }
    if (s[10] != '\0')
        goto bad;
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    m = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        goto bad;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        goto bad;
    *days = days_from_civil(y, (unsigned)m, (unsigned)d);
    return VFR_OK;
bad:
    return vfr_fail(VFR_ERR_INVALID_ARG, "'%.40s' is not a date (want YYYY-MM-DD)", s);
}

int vfr_date_in_range(int32_t days)
{
    return days >= VFR_DATE_MIN && days <= VFR_DATE_MAX;
}

void vfr_date_format(int32_t days, char out[11])
{
    /* 64-bit: days near INT32_MAX must not overflow (they are refused on
     * open, but messages still format them) */
    int64_t z = (int64_t)days + 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    char buf[48];
    if (y < 0 || y > 9999) /* not a date this format can write */
        snprintf(buf, sizeof buf, "%s", y < 0 ? "0000-00-00" : "9999-99-99");
    else
        snprintf(buf, sizeof buf, "%04d-%02u-%02u", (int)y, m, d);
    memcpy(out, buf, 10);
    out[10] = '\0';
}

/* ---- shared helpers ---------------------------------------------------- */


static void free_strings(char **v, int64_t n)
{
    if (!v)
        return;
    for (int64_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- reader ------------------------------------------------------------ */

struct vfr_dataset {
    char *path;
    hid_t file;
    hid_t d_features, d_fwd, d_close, d_quality[VFR_QUALITY_COUNT];
    vfr_dataset_meta meta;
    char **feature_names, **symbols;
    int32_t *horizons, *date, *symbol;
};

void vfr_dataset_close(vfr_dataset *ds)
{
    if (!ds)
        return;
    hid_t ids[] = {ds->d_features, ds->d_fwd, ds->d_close, ds->d_quality[0],
                   ds->d_quality[1], ds->d_quality[2], ds->d_quality[3]};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (ids[i] > 0)
            H5Dclose(ids[i]);
    if (ds->file > 0)
        H5Fclose(ds->file);
    free_strings(ds->feature_names, ds->meta.F);
    free_strings(ds->symbols, ds->meta.S);
    free(ds->horizons);
    free(ds->date);
    free(ds->symbol);
    free(ds->path);
    free(ds);
}

const vfr_dataset_meta *vfr_dataset_meta_get(const vfr_dataset *ds) { return &ds->meta; }
const char *vfr_dataset_path(const vfr_dataset *ds) { return ds->path; }

int32_t vfr_dataset_horizon_index(const vfr_dataset *ds, int32_t horizon)
{
    for (int32_t k = 0; k < ds->meta.H; k++)
        if (ds->horizons[k] == horizon)
            return k;
    return -1;
}

int32_t vfr_dataset_symbol_index(const vfr_dataset *ds, const char *name)
{
    for (int32_t s = 0; s < ds->meta.S; s++)
        if (strcmp(ds->symbols[s], name) == 0)
            return s;
    return -1;
}

/* Opens dataset `name`, checking its type class and rank; dims written to d.
 * Returns the id, 0 when absent and optional, or -1 with the error set. */
static hid_t open_checked(vfr_dataset *ds, const char *name, H5T_class_t cls, int rank,
                          hsize_t *d, int optional)
{
    if (H5Lexists(ds->file, name, H5P_DEFAULT) <= 0) {
        if (optional)
            return 0;
        vfr_fail(VFR_ERR_FORMAT, "%s: field '%s' is missing", ds->path, name);
        return -1;
    }
    hid_t id = H5Dopen2(ds->file, name, H5P_DEFAULT);
    if (id < 0) {
        vfr_fail(VFR_ERR_FORMAT, "%s: field '%s' cannot be opened (corrupt or truncated file?)",
                 ds->path, name);
        return -1;
    }
    hid_t t = H5Dget_type(id), sp = H5Dget_space(id);
    H5T_class_t c = H5Tget_class(t);
    int r = H5Sget_simple_extent_ndims(sp);
    hsize_t dims[2] = {0, 0};
    if (r == rank)
        H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Tclose(t);
    H5Sclose(sp);
    if (c != cls || r != rank) {
        static const char *cls_name[] = {"integer", "float", "", "string"};
        vfr_fail(VFR_ERR_FORMAT, "%s: field '%s' must be a %d-d %s array", ds->path, name, rank,
                 cls == H5T_INTEGER ? cls_name[0] : cls == H5T_FLOAT ? cls_name[1] : cls_name[3]);
        H5Dclose(id);
        return -1;
    }
    /* Declared sizes are checked before anything is allocated for them:
     * against the documented limits, then against the bytes really stored. */
    if (dims[0] > VFR_DATASET_MAX_ROWS || (rank == 2 && dims[1] > VFR_DATASET_MAX_COLUMNS)) {
        vfr_fail(VFR_ERR_FORMAT, "%s: field '%s' declares [%llu%s%llu]: more than the limit of %lld rows and %d columns (docs/reliability.md)",
                 ds->path, name, (unsigned long long)dims[0], rank == 2 ? ", " : "",
                 rank == 2 ? (unsigned long long)dims[1] : 0ULL, (long long)VFR_DATASET_MAX_ROWS,
                 VFR_DATASET_MAX_COLUMNS);
        H5Dclose(id);
        return -1;
    }
    if (!vfri_h5_stored_plausibly(id, dims[0] * (rank == 2 ? dims[1] : 1))) {
        vfr_fail(VFR_ERR_FORMAT, "%s: field '%s' declares %llu values but the file stores far fewer bytes (truncated or forged file)",
                 ds->path, name, (unsigned long long)(dims[0] * (rank == 2 ? dims[1] : 1)));
        H5Dclose(id);
        return -1;
    }
    d[0] = dims[0];
    if (rank == 2)
        d[1] = dims[1];
    return id;
}

/* Reads a 1-d string dataset (fixed or variable length) into n strings,
 * none of them empty. */
static vfr_status read_strings(vfr_dataset *ds, const char *name, int64_t *n_out, char ***out)
{
    hsize_t d[1];
    char **v = NULL;
    *out = NULL;
    hid_t id = open_checked(ds, name, H5T_STRING, 1, d, 0);
    if (id < 0)
        return VFR_ERR_FORMAT;
    H5Dclose(id);
    int64_t n = (int64_t)d[0];
    if (vfri_h5_read_strings(ds->file, name, n, &v) != 0)
        return vfr_fail(VFR_ERR_FORMAT, "%s: cannot read '%s' (strings wider than %d bytes, or a corrupt file?)",
                        ds->path, name, VFR_H5_MAX_STRING);
    for (int64_t i = 0; i < n; i++)
        if (!v[i][0]) {
            free_strings(v, n);
            return vfr_fail(VFR_ERR_FORMAT, "%s: field '%s', entry %lld is empty", ds->path, name,
                            (long long)i);
        }
    *n_out = n;
    *out = v;
    return VFR_OK;
}

static vfr_status read_index(vfr_dataset *ds, const char *name, int32_t **out)
{
    hsize_t d[1];
    hid_t id = open_checked(ds, name, H5T_INTEGER, 1, d, 0);
    if (id < 0)
        return VFR_ERR_FORMAT;
    vfr_status st = VFR_OK;
    if ((int64_t)d[0] != ds->meta.N) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: field '%s' has %llu rows, features has %lld", ds->path,
                      name, (unsigned long long)d[0], (long long)ds->meta.N);
        goto done;
    }
    *out = malloc(sizeof **out * (size_t)(d[0] ? d[0] : 1));
    if (!*out) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory reading '%s'", ds->path, name);
        goto done;
    }
    if (d[0] && H5Dread(id, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0)
        st = vfr_fail(VFR_ERR_FORMAT, "%s: cannot read '%s' (corrupt or truncated file?)",
                      ds->path, name);
done:
    H5Dclose(id);
    return st;
}

static vfr_status check_names_unique(const vfr_dataset *ds, const char *field, char **v, int64_t n)
{
    int64_t i, j;
    int dup = vfri_find_duplicate((const char *const *)v, n, &i, &j);
    if (dup < 0)
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory checking '%s'", ds->path, field);
    if (dup)
        return vfr_fail(VFR_ERR_FORMAT, "%s: field '%s': '%s' appears twice (entries %lld and %lld)",
                        ds->path, field, v[i], (long long)i, (long long)j);
    return VFR_OK;
}

static vfr_status validate_index(vfr_dataset *ds)
{
    const int64_t N = ds->meta.N;
    const int32_t S = ds->meta.S;
    int32_t T = 0;
    for (int64_t i = 0; i < N; i++) {
        int32_t s = ds->symbol[i];
        if (s < 0 || s >= S)
            return vfr_fail(VFR_ERR_FORMAT, "%s: field 'symbol', row %lld: %d is not an index into %d symbols",
                            ds->path, (long long)i, s, S);
        if (!vfr_date_in_range(ds->date[i]))
            return vfr_fail(VFR_ERR_FORMAT, "%s: field 'date', row %lld: %d days since 1970-01-01 is outside %s..%s",
                            ds->path, (long long)i, ds->date[i], VFR_DATE_MIN_STR, VFR_DATE_MAX_STR);
        if (i > 0) {
            int32_t pd = ds->date[i - 1], ps = ds->symbol[i - 1];
            if (ds->date[i] < pd || (ds->date[i] == pd && s <= ps)) {
                char a[11], b[11];
                vfr_date_format(ds->date[i], a);
                vfr_date_format(pd, b);
                return vfr_fail(VFR_ERR_FORMAT,
                                "%s: row %lld (%s, %s) %s row %lld (%s, %s): rows must be sorted by (date, symbol) and unique",
                                ds->path, (long long)i, a, ds->symbols[s],
                                ds->date[i] == pd && s == ps ? "duplicates" : "is out of order after",
                                (long long)i - 1, b, ds->symbols[ps]);
            }
        }
        if (i == 0 || ds->date[i] != ds->date[i - 1])
            T++;
    }
    ds->meta.T = T;
    ds->meta.date_first = N ? ds->date[0] : 0;
    ds->meta.date_last = N ? ds->date[N - 1] : 0;
    return VFR_OK;
}

vfr_status vfr_dataset_open(const char *path, vfr_dataset **out)
{
    vfr_status st = VFR_OK;
    hsize_t d[2];
    char buf[64];
    int32_t version = 0;
    vfr_dataset *ds = NULL;
    *out = NULL;
    vfri_h5_quiet();
    struct stat sb;
    if (stat(path, &sb) != 0)
        return vfr_fail(VFR_ERR_NOT_FOUND, "%s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return vfr_fail(VFR_ERR_FORMAT, "%s: not a regular file", path);
    ds = calloc(1, sizeof *ds);
    if (!ds || !(ds->path = vfri_strdup(path))) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    if (H5Fis_hdf5(path) <= 0) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: not an HDF5 file", path);
        goto fail;
    }
    ds->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (ds->file < 0) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: HDF5 cannot open it (truncated or corrupt file?)", path);
        goto fail;
    }
    if (vfri_h5_read_string_attr(ds->file, "format", buf, sizeof buf) != 0 ||
        strcmp(buf, VFR_DATASET_FORMAT) != 0) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: not a vfr dataset (root attribute 'format' is %s%s%s, want '%s')",
                      path, buf[0] ? "'" : "", buf[0] ? buf : "missing", buf[0] ? "'" : "",
                      VFR_DATASET_FORMAT);
        goto fail;
    }
    if (vfri_h5_read_int_attr(ds->file, "format_version", &version) != 0) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: root attribute 'format_version' is missing or not an integer", path);
        goto fail;
    }
    if (version != VFR_DATASET_FORMAT_VERSION) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: format_version %d is not supported (this vfr reads version %d)",
                      path, version, VFR_DATASET_FORMAT_VERSION);
        goto fail;
    }
    if ((ds->d_features = open_checked(ds, "features", H5T_FLOAT, 2, d, 0)) < 0) {
        st = VFR_ERR_FORMAT;
        goto fail;
    }
    ds->meta.N = (int64_t)d[0];
    ds->meta.F = (int32_t)d[1];
    int64_t n = 0;
    VFR_TRY(read_strings(ds, "feature_names", &n, &ds->feature_names));
    if (n != ds->meta.F) {
        free_strings(ds->feature_names, n);
        ds->feature_names = NULL;
        st = vfr_fail(VFR_ERR_FORMAT, "%s: field 'feature_names' has %lld entries, features has %d columns",
                      path, (long long)n, ds->meta.F);
        goto fail;
    }
    VFR_TRY(check_names_unique(ds, "feature_names", ds->feature_names, n));
    VFR_TRY(read_strings(ds, "symbols", &n, &ds->symbols));
    ds->meta.S = (int32_t)n;
    VFR_TRY(check_names_unique(ds, "symbols", ds->symbols, n));
    VFR_TRY(read_index(ds, "date", &ds->date));
    VFR_TRY(read_index(ds, "symbol", &ds->symbol));
    VFR_TRY(validate_index(ds));

    if ((ds->d_fwd = open_checked(ds, "forward_return", H5T_FLOAT, 2, d, 1)) < 0) {
        st = VFR_ERR_FORMAT;
        goto fail;
    }
    if (ds->d_fwd > 0) {
        if ((int64_t)d[0] != ds->meta.N) {
            st = vfr_fail(VFR_ERR_FORMAT, "%s: field 'forward_return' has %llu rows, features has %lld",
                          path, (unsigned long long)d[0], (long long)ds->meta.N);
            goto fail;
        }
        if (d[1] > VFR_DATASET_MAX_HORIZONS) {
            st = vfr_fail(VFR_ERR_FORMAT, "%s: field 'forward_return' has %llu horizons; the limit is %d",
                          path, (unsigned long long)d[1], VFR_DATASET_MAX_HORIZONS);
            goto fail;
        }
        ds->meta.H = (int32_t)d[1];
        ds->horizons = malloc(sizeof *ds->horizons * (size_t)(d[1] ? d[1] : 1));
        if (!ds->horizons) {
            st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", path);
            goto fail;
        }
        if (vfri_h5_read_int_attrs(ds->d_fwd, "horizons", ds->horizons, ds->meta.H) != 0) {
            st = vfr_fail(VFR_ERR_FORMAT, "%s: attribute 'forward_return/horizons' is missing or does not have %d entries",
                          path, ds->meta.H);
            goto fail;
        }
        for (int32_t k = 0; k < ds->meta.H; k++)
            if (ds->horizons[k] <= 0 || (k > 0 && ds->horizons[k] <= ds->horizons[k - 1])) {
                st = vfr_fail(VFR_ERR_FORMAT, "%s: attribute 'forward_return/horizons' must be positive and ascending",
                              path);
                goto fail;
            }
    }
    if ((ds->d_close = open_checked(ds, "close", H5T_FLOAT, 1, d, 1)) < 0) {
        st = VFR_ERR_FORMAT;
        goto fail;
    }
    if (ds->d_close > 0 && (int64_t)d[0] != ds->meta.N) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: field 'close' has %llu rows, features has %lld", path,
                      (unsigned long long)d[0], (long long)ds->meta.N);
        goto fail;
    }
    ds->meta.has_close = ds->d_close > 0;
    for (int q = 0; q < VFR_QUALITY_COUNT; q++) {
        char name[64];
        snprintf(name, sizeof name, "quality/%s", quality_names[q]);
        if (H5Lexists(ds->file, "quality", H5P_DEFAULT) <= 0)
            break;
        if ((ds->d_quality[q] = open_checked(ds, name, H5T_FLOAT, 1, d, 1)) < 0) {
            st = VFR_ERR_FORMAT;
            goto fail;
        }
        if (ds->d_quality[q] > 0) {
            if ((int64_t)d[0] != ds->meta.N) {
                st = vfr_fail(VFR_ERR_FORMAT, "%s: field '%s' has %llu rows, features has %lld", path,
                              name, (unsigned long long)d[0], (long long)ds->meta.N);
                goto fail;
            }
            ds->meta.quality_mask |= 1u << q;
        }
    }
    ds->meta.feature_names = (const char *const *)ds->feature_names;
    ds->meta.symbols = (const char *const *)ds->symbols;
    ds->meta.horizons = ds->horizons;
    ds->meta.date = ds->date;
    ds->meta.symbol = ds->symbol;
    *out = ds;
    return VFR_OK;
fail:
    vfr_dataset_close(ds);
    return st;
}

void vfr_dataset_row_range(const vfr_dataset *ds, int32_t date_lo, int32_t date_hi, int64_t *r0,
                           int64_t *r1)
{
    const int32_t *dt = ds->date;
    int64_t lo = 0, hi = ds->meta.N;
    while (lo < hi) { /* first row with date >= date_lo */
        int64_t mid = lo + (hi - lo) / 2;
        if (dt[mid] < date_lo)
            lo = mid + 1;
        else
            hi = mid;
    }
    *r0 = lo;
    hi = ds->meta.N;
    while (lo < hi) { /* first row with date > date_hi */
        int64_t mid = lo + (hi - lo) / 2;
        if (dt[mid] <= date_hi)
            lo = mid + 1;
        else
            hi = mid;
    }
    *r1 = lo < *r0 ? *r0 : lo;
}

static vfr_status read_rows(vfr_dataset *ds, hid_t id, const char *name, int64_t r0, int64_t r1,
                            int rank, int64_t width, float *out)
{
    if (id <= 0)
        return vfr_fail(VFR_ERR_NOT_FOUND, "%s: field '%s' is not in this dataset", ds->path, name);
    if (r0 < 0 || r1 < r0 || r1 > ds->meta.N)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: rows [%lld, %lld) outside [0, %lld)", ds->path,
                        (long long)r0, (long long)r1, (long long)ds->meta.N);
    if (r1 == r0 || width == 0)
        return VFR_OK;
    vfr_status st = vfri_dataset_fastread(id, rank, r0, r1, width, out);
    if (st == VFR_OK)
        return VFR_OK;
    /* A chunk that does not decode is damage in the input file (bad input,
     * exit 2), not a failure of this run: say so, don't retry. */
    if (st == VFR_ERR_IO)
        return vfr_fail(VFR_ERR_FORMAT, "%s: reading '%s' rows [%lld, %lld) failed: a chunk does not decode (corrupt file)",
                        ds->path, name, (long long)r0, (long long)r1);
    st = VFR_OK;
    hsize_t start[2] = {(hsize_t)r0, 0}, count[2] = {(hsize_t)(r1 - r0), (hsize_t)width};
    hid_t fs = H5Dget_space(id);
    hid_t ms = H5Screate_simple(rank, count, NULL);
    if (fs < 0 || ms < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        H5Dread(id, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, out) < 0)
        st = vfr_fail(VFR_ERR_FORMAT, "%s: reading '%s' rows [%lld, %lld) failed (corrupt or truncated file?)",
                      ds->path, name, (long long)r0, (long long)r1);
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    return st;
}

vfr_status vfr_dataset_read_features(vfr_dataset *ds, int64_t r0, int64_t r1, float *out)
{
    return read_rows(ds, ds->d_features, "features", r0, r1, 2, ds->meta.F, out);
}

vfr_status vfr_dataset_read_forward_returns(vfr_dataset *ds, int64_t r0, int64_t r1, float *out)
{
    return read_rows(ds, ds->d_fwd, "forward_return", r0, r1, 2, ds->meta.H, out);
}

vfr_status vfr_dataset_read_close(vfr_dataset *ds, int64_t r0, int64_t r1, float *out)
{
    return read_rows(ds, ds->d_close, "close", r0, r1, 1, 1, out);
}

vfr_status vfr_dataset_read_quality(vfr_dataset *ds, vfr_quality q, int64_t r0, int64_t r1,
                                    float *out)
{
    if ((unsigned)q >= VFR_QUALITY_COUNT)
        return vfr_fail(VFR_ERR_INVALID_ARG, "quality component %d does not exist", (int)q);
    char name[64];
    snprintf(name, sizeof name, "quality/%s", quality_names[q]);
    return read_rows(ds, ds->d_quality[q], name, r0, r1, 1, 1, out);
}

/* ---- writer ------------------------------------------------------------ */

struct vfr_dataset_writer {
    char *path, *tmp;
    hid_t file;
    hid_t d_features, d_date, d_symbol, d_fwd, d_close, d_quality[VFR_QUALITY_COUNT];
    int32_t F, S, H;
    int has_close;
    unsigned quality_mask;
    int64_t rows;
    int32_t last_date, last_symbol;
    char **symbols; /* for error messages */
};

static void writer_free(vfr_dataset_writer *w)
{
    hid_t ids[] = {w->d_features, w->d_date, w->d_symbol, w->d_fwd, w->d_close,
                   w->d_quality[0], w->d_quality[1], w->d_quality[2], w->d_quality[3]};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (ids[i] > 0)
            H5Dclose(ids[i]);
    if (w->file > 0)
        H5Fclose(w->file);
    free_strings(w->symbols, w->S);
    free(w->path);
    free(w->tmp);
    free(w);
}

void vfr_dataset_writer_abort(vfr_dataset_writer *w)
{
    if (!w)
        return;
    char *tmp = w->tmp;
    w->tmp = NULL;
    writer_free(w);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
}

/* Creates an extendible chunked dataset [0, width] (rank 2) or [0] (rank 1).
 * Object timestamps are off so that the same input gives the same bytes. */
static hid_t create_extendible(hid_t file, const char *name, hid_t type, int rank, hsize_t width,
                               hsize_t chunk_rows, int compression)
{
    /* HDF5 refuses a chunk dimension of 0: a [N, 0] array (no features)
     * gets chunks one column wide and a second axis free to hold them */
    hsize_t dims[2] = {0, width}, maxd[2] = {H5S_UNLIMITED, width ? width : H5S_UNLIMITED},
            chunk[2] = {chunk_rows, width ? width : 1};
    hid_t sp = H5Screate_simple(rank, dims, maxd);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    H5Pset_chunk(dcpl, rank, chunk);
    H5Pset_obj_track_times(dcpl, 0);
    if (compression > 0) {
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, (unsigned)compression);
    }
    /* Room for a few chunks, so a partly filled chunk is not evicted (and
     * recompressed) between two appends. */
    H5Pset_chunk_cache(dapl, 521, 64u << 20, 1.0);
    hid_t id = H5Dcreate2(file, name, type, sp, lcpl, dcpl, dapl);
    H5Pclose(lcpl);
    H5Pclose(dapl);
    H5Pclose(dcpl);
    H5Sclose(sp);
    return id;
}

static herr_t write_int_attr(hid_t obj, const char *name, const int32_t *v, hsize_t n, int scalar)
{
    hid_t sp = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL);
    hid_t a = H5Acreate2(obj, name, H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, H5T_NATIVE_INT32, v);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return rc;
}

static vfr_status check_spec_names(const char *path, const char *what, const char *const *v, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        if (!v[i] || !v[i][0])
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s: %s %d is empty", path, what, i);
    int64_t i, j;
    int dup = vfri_find_duplicate(v, n, &i, &j);
    if (dup < 0)
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", path);
    if (dup)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: %s '%s' appears twice", path, what, v[j]);
    return VFR_OK;
}

vfr_status vfr_dataset_writer_open(const char *path, const vfr_dataset_spec *spec,
                                   vfr_dataset_writer **out)
{
    vfr_status st = VFR_OK;
    vfr_dataset_writer *w = NULL;
    hid_t fcpl = -1;
    *out = NULL;
    vfri_h5_quiet();
    if (spec->F > VFR_DATASET_MAX_COLUMNS || spec->H > VFR_DATASET_MAX_HORIZONS)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: %d features and %d forward-return horizons; the limits are %d and %d",
                        path, spec->F, spec->H, VFR_DATASET_MAX_COLUMNS, VFR_DATASET_MAX_HORIZONS);
    if (spec->F < 0 || spec->S < 0 || spec->H < 0 || spec->compression < 0 || spec->compression > 9)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: bad dataset spec (F=%d S=%d H=%d compression=%d)",
                        path, spec->F, spec->S, spec->H, spec->compression);
    if ((st = check_spec_names(path, "feature name", spec->feature_names, spec->F)) != VFR_OK ||
        (st = check_spec_names(path, "symbol", spec->symbols, spec->S)) != VFR_OK)
        return st;
    for (int32_t k = 0; k < spec->H; k++)
        if (spec->horizons[k] <= 0 || (k && spec->horizons[k] <= spec->horizons[k - 1]))
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s: horizons must be positive and ascending", path);
    w = calloc(1, sizeof *w);
    if (!w)
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", path);
    w->F = spec->F;
    w->H = spec->H;
    w->has_close = spec->has_close;
    w->quality_mask = spec->quality_mask & ((1u << VFR_QUALITY_COUNT) - 1);
    w->last_date = INT32_MIN;
    w->last_symbol = -1;
    size_t n = strlen(path) + 32;
    w->path = vfri_strdup(path);
    w->tmp = malloc(n);
    w->symbols = calloc(spec->S ? (size_t)spec->S : 1, sizeof *w->symbols);
    if (!w->path || !w->tmp || !w->symbols) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    w->S = spec->S;
    for (int32_t s = 0; s < spec->S; s++)
        if (!(w->symbols[s] = vfri_strdup(spec->symbols[s]))) {
            st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", path);
            goto fail;
        }
    snprintf(w->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_obj_track_times(fcpl, 0);
    w->file = H5Fcreate(w->tmp, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    H5Pclose(fcpl);
    if (w->file < 0) {
        st = vfr_fail(VFR_ERR_IO, "%s: cannot create '%s' (does the folder exist and is it writable?)",
                      path, w->tmp);
        free(w->tmp); /* nothing to remove */
        w->tmp = NULL;
        goto fail;
    }
    int32_t version = VFR_DATASET_FORMAT_VERSION;
    hsize_t chunk = spec->chunk_rows > 0 ? (hsize_t)spec->chunk_rows
                                         : (hsize_t)(spec->F > 0 ? (262144 / spec->F > 1024 ? 262144 / spec->F : 1024) : 65536);
    hsize_t chunk1 = chunk * (spec->F > 16 ? 16 : 1); /* 1-d columns: larger chunks */
    if (vfri_h5_write_string_attr(w->file, "format", VFR_DATASET_FORMAT) < 0 ||
        write_int_attr(w->file, "format_version", &version, 1, 1) < 0 ||
        vfri_h5_write_string_attr(w->file, "created_by", "vfr " VFR_VERSION) < 0 ||
        vfri_h5_write_strings(w->file, "feature_names", spec->feature_names, spec->F) < 0 ||
        vfri_h5_write_strings(w->file, "symbols", spec->symbols, spec->S) < 0 ||
        (w->d_features = create_extendible(w->file, "features", H5T_IEEE_F32LE, 2,
                                           (hsize_t)spec->F, chunk, spec->compression)) < 0 ||
        (w->d_date = create_extendible(w->file, "date", H5T_STD_I32LE, 1, 0, chunk1,
                                       spec->compression)) < 0 ||
        (w->d_symbol = create_extendible(w->file, "symbol", H5T_STD_I32LE, 1, 0, chunk1,
                                         spec->compression)) < 0) {
        st = vfr_fail(VFR_ERR_IO, "%s: cannot lay out the HDF5 file", w->tmp);
        goto fail;
    }
    if (spec->H > 0) {
        w->d_fwd = create_extendible(w->file, "forward_return", H5T_IEEE_F32LE, 2,
                                     (hsize_t)spec->H, chunk1, spec->compression);
        if (w->d_fwd < 0 || write_int_attr(w->d_fwd, "horizons", spec->horizons,
                                           (hsize_t)spec->H, 0) < 0) {
            st = vfr_fail(VFR_ERR_IO, "%s: cannot create 'forward_return'", w->tmp);
            goto fail;
        }
    }
    if (spec->has_close &&
        (w->d_close = create_extendible(w->file, "close", H5T_IEEE_F32LE, 1, 0, chunk1,
                                        spec->compression)) < 0) {
        st = vfr_fail(VFR_ERR_IO, "%s: cannot create 'close'", w->tmp);
        goto fail;
    }
    for (int q = 0; q < VFR_QUALITY_COUNT; q++) {
        if (!(w->quality_mask & (1u << q)))
            continue;
        char name[64];
        snprintf(name, sizeof name, "quality/%s", quality_names[q]);
        if ((w->d_quality[q] = create_extendible(w->file, name, H5T_IEEE_F32LE, 1, 0, chunk1,
                                                 spec->compression)) < 0) {
            st = vfr_fail(VFR_ERR_IO, "%s: cannot create '%s'", w->tmp, name);
            goto fail;
        }
    }
    *out = w;
    return VFR_OK;
fail:
    vfr_dataset_writer_abort(w);
    return st;
}

static herr_t append_block(hid_t id, int rank, int64_t row0, int64_t n, hsize_t width,
                           hid_t memtype, const void *buf)
{
    hsize_t newd[2] = {(hsize_t)(row0 + n), width};
    hsize_t start[2] = {(hsize_t)row0, 0}, count[2] = {(hsize_t)n, width};
    if (H5Dset_extent(id, newd) < 0)
        return -1;
    hid_t fs = H5Dget_space(id);
    hid_t ms = H5Screate_simple(rank, count, NULL);
    herr_t rc = -1;
    if (fs >= 0 && ms >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0)
        rc = H5Dwrite(id, memtype, ms, fs, H5P_DEFAULT, buf);
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    return rc;
}

vfr_status vfr_dataset_writer_append(vfr_dataset_writer *w, int64_t n, const int32_t *date,
                                     const int32_t *symbol, const float *features,
                                     const float *fwd, const float *close,
                                     const float *const *quality)
{
    if (n <= 0)
        return VFR_OK;
    for (int64_t i = 0; i < n; i++) {
        int32_t d = date[i], s = symbol[i];
        if (s < 0 || s >= w->S)
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s: row %lld: symbol index %d is not in [0, %d)",
                            w->path, (long long)(w->rows + i), s, w->S);
        if (!vfr_date_in_range(d))
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s: row %lld: date %d days since 1970-01-01 is outside %s..%s",
                            w->path, (long long)(w->rows + i), d, VFR_DATE_MIN_STR, VFR_DATE_MAX_STR);
        if (d < w->last_date || (d == w->last_date && s <= w->last_symbol)) {
            char a[11], b[11];
            vfr_date_format(d, a);
            vfr_date_format(w->last_date, b);
            return vfr_fail(VFR_ERR_FORMAT, "%s: row %lld (%s, %s) %s (%s, %s): rows must be sorted by (date, symbol) and unique",
                            w->path, (long long)(w->rows + i), a, w->symbols[s],
                            d == w->last_date && s == w->last_symbol ? "duplicates" : "is out of order after",
                            b, w->symbols[w->last_symbol]);
        }
        w->last_date = d;
        w->last_symbol = s;
    }
    if (w->H > 0 && !fwd)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: forward returns missing for %d horizons", w->path, w->H);
    if (w->has_close && !close)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: close missing", w->path);
    int64_t r0 = w->rows;
    int bad = append_block(w->d_date, 1, r0, n, 0, H5T_NATIVE_INT32, date) < 0 ||
              append_block(w->d_symbol, 1, r0, n, 0, H5T_NATIVE_INT32, symbol) < 0 ||
              (w->F > 0 && append_block(w->d_features, 2, r0, n, (hsize_t)w->F, H5T_NATIVE_FLOAT, features) < 0) ||
              (w->H > 0 && append_block(w->d_fwd, 2, r0, n, (hsize_t)w->H, H5T_NATIVE_FLOAT, fwd) < 0) ||
              (w->has_close && append_block(w->d_close, 1, r0, n, 0, H5T_NATIVE_FLOAT, close) < 0);
    for (int q = 0; !bad && q < VFR_QUALITY_COUNT; q++) {
        if (!(w->quality_mask & (1u << q)))
            continue;
        if (!quality || !quality[q])
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s: quality/%s missing", w->path, quality_names[q]);
        bad = append_block(w->d_quality[q], 1, r0, n, 0, H5T_NATIVE_FLOAT, quality[q]) < 0;
    }
    if (bad)
        return vfr_fail(VFR_ERR_IO, "%s: writing rows [%lld, %lld) failed (disk full?)", w->tmp,
                        (long long)r0, (long long)(r0 + n));
    w->rows += n;
    return VFR_OK;
}

vfr_status vfr_dataset_writer_commit(vfr_dataset_writer *w)
{
    vfr_status st = VFR_OK;
    /* F == 0 still needs N recorded: features is [N, 0] */
    if (w->F == 0 && w->rows > 0) {
        hsize_t d[2] = {(hsize_t)w->rows, 0};
        H5Dset_extent(w->d_features, d);
    }
    hid_t ids[] = {w->d_features, w->d_date, w->d_symbol, w->d_fwd, w->d_close,
                   w->d_quality[0], w->d_quality[1], w->d_quality[2], w->d_quality[3]};
    int bad = 0;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (ids[i] > 0 && H5Dclose(ids[i]) < 0)
            bad = 1;
    w->d_features = w->d_date = w->d_symbol = w->d_fwd = w->d_close = 0;
    memset(w->d_quality, 0, sizeof w->d_quality);
    if (H5Fclose(w->file) < 0)
        bad = 1;
    w->file = 0;
    if (bad) {
        st = vfr_fail(VFR_ERR_IO, "%s: flushing the HDF5 file failed (disk full?)", w->tmp);
        goto fail;
    }
    /* fsync before rename, so that a crash never leaves a renamed half file */
    FILE *f = fopen(w->tmp, "rb");
    if (f) {
        fsync(fileno(f));
        fclose(f);
    }
    if (rename(w->tmp, w->path) != 0) {
        st = vfr_fail(VFR_ERR_IO, "%s: cannot rename '%s' into place: %s", w->path, w->tmp,
                      strerror(errno));
        goto fail;
    }
    free(w->tmp);
    w->tmp = NULL;
fail:
    vfr_dataset_writer_abort(w);
    return st;
}
