/* h5util.c: the small HDF5 helpers the file formats share (dataset,
 * predictions, backtest results, registry predictions): string and number
 * attributes, fixed-length string lists, whole arrays, and files written to a
 * temporary name and renamed into place. No object timestamps anywhere, so
 * the same content gives the same bytes. */
#include "h5util.h"
#include "util.h"

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/* HDF5 1.10 cannot survive its own exit-time cleanup after an H5Fclose that
 * failed (disk full): the half-closed file stays in its ID table and
 * H5F__close_cb dereferences freed memory at exit (SIGSEGV where exit 1 is
 * due). vfr closes every file it opens, so the library's atexit handler has
 * nothing to do: it is switched off before HDF5 initialises, at load time. */
__attribute__((constructor)) static void h5_no_atexit(void) { H5dont_atexit(); }

void vfri_h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

void vfri_h5_free_strings(char **v, int64_t n)
{
    if (!v)
        return;
    for (int64_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int vfri_h5_write_string_attr(int64_t obj, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(value) + 1);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a < 0 || H5Awrite(a, t, value) < 0 ? -1 : 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    return rc;
}

static int write_num_attr(int64_t obj, const char *name, hid_t ftype, hid_t mtype, const void *v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a < 0 || H5Awrite(a, mtype, v) < 0 ? -1 : 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return rc;
}

int vfri_h5_write_int_attr(int64_t obj, const char *name, int32_t value)
{
    return write_num_attr(obj, name, H5T_STD_I32LE, H5T_NATIVE_INT32, &value);
}

int vfri_h5_write_double_attr(int64_t obj, const char *name, double value)
{
    return write_num_attr(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

/* The attribute's dataspace holds exactly one element (scalar, or simple
 * with one point): anything else would make H5Aread write several values
 * into room for one. */
static int attr_single(hid_t a)
{
    hid_t s = H5Aget_space(a);
    if (s < 0)
        return 0;
    H5S_class_t c = H5Sget_simple_extent_type(s);
    int ok = (c == H5S_SCALAR || c == H5S_SIMPLE) && H5Sget_simple_extent_npoints(s) == 1;
    H5Sclose(s);
    return ok;
}

int vfri_h5_read_string_attr(int64_t obj, const char *name, char *buf, size_t cap)
{
    int rc = -1;
    hid_t a = -1, t = -1, mt = -1;
    buf[0] = '\0';
    if (H5Aexists(obj, name) <= 0)
        return -1;
    a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0 || !attr_single(a) || (t = H5Aget_type(a)) < 0 || H5Tget_class(t) != H5T_STRING)
        goto done;
    mt = H5Tcopy(H5T_C_S1);
    H5Tset_cset(mt, H5Tget_cset(t)); /* HDF5 does not convert between csets */
    if (H5Tis_variable_str(t) > 0) {
        char *s = NULL;
        H5Tset_size(mt, H5T_VARIABLE);
        if (H5Aread(a, mt, &s) >= 0 && s) {
            snprintf(buf, cap, "%s", s);
            H5free_memory(s);
            rc = 0;
        }
    } else {
        size_t n = H5Tget_size(t);
        char *tmp = n > 0 && n <= VFR_H5_MAX_STRING ? calloc(n + 1, 1) : NULL;
        H5Tset_size(mt, n ? n : 1);
        H5Tset_strpad(mt, H5T_STR_NULLPAD);
        if (tmp && H5Aread(a, mt, tmp) >= 0) {
            snprintf(buf, cap, "%s", tmp);
            rc = 0;
        }
        free(tmp);
    }
done:
    if (mt > 0)
        H5Tclose(mt);
    if (t > 0)
        H5Tclose(t);
    if (a > 0)
        H5Aclose(a);
    return rc;
}

int vfri_h5_read_int_attrs(int64_t obj, const char *name, int32_t *v, int64_t n)
{
    hid_t a = -1, s = -1, t = -1;
    int rc = -1;
    if (H5Aexists(obj, name) <= 0)
        return -1;
    a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0 || (s = H5Aget_space(a)) < 0 || (t = H5Aget_type(a)) < 0)
        goto done;
    H5S_class_t c = H5Sget_simple_extent_type(s);
    if (H5Tget_class(t) != H5T_INTEGER || (c != H5S_SCALAR && c != H5S_SIMPLE) ||
        H5Sget_simple_extent_ndims(s) > 1 || H5Sget_simple_extent_npoints(s) != n)
        goto done;
    if (n == 0 || H5Aread(a, H5T_NATIVE_INT32, v) >= 0)
        rc = 0;
done:
    if (t > 0)
        H5Tclose(t);
    if (s > 0)
        H5Sclose(s);
    if (a > 0)
        H5Aclose(a);
    return rc;
}

/* One numeric value (integer or float class, one element), converted by
 * HDF5 to the memory type mt. */
static int read_num_attr(int64_t obj, const char *name, hid_t mt, void *value)
{
    hid_t a = -1, t = -1;
    int rc = -1;
    if (H5Aexists(obj, name) <= 0)
        return -1;
    a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a >= 0 && attr_single(a) && (t = H5Aget_type(a)) >= 0 &&
        (H5Tget_class(t) == H5T_INTEGER || H5Tget_class(t) == H5T_FLOAT) && H5Aread(a, mt, value) >= 0)
        rc = 0;
    if (t > 0)
        H5Tclose(t);
    if (a > 0)
        H5Aclose(a);
    return rc;
}

int vfri_h5_read_int_attr(int64_t obj, const char *name, int32_t *value)
{
    return read_num_attr(obj, name, H5T_NATIVE_INT32, value);
}

int vfri_h5_read_double_attr(int64_t obj, const char *name, double *value)
{
    return read_num_attr(obj, name, H5T_NATIVE_DOUBLE, value);
}

int vfri_h5_stored_plausibly(int64_t id, uint64_t npoints)
{
    hid_t t = H5Dget_type(id), dcpl = H5Dget_create_plist(id);
    size_t elem = t >= 0 ? H5Tget_size(t) : 0;
    H5D_layout_t layout = dcpl >= 0 ? H5Pget_layout(dcpl) : H5D_LAYOUT_ERROR;
    int nfilters = dcpl >= 0 && layout == H5D_CHUNKED ? H5Pget_nfilters(dcpl) : 0;
    if (t >= 0)
        H5Tclose(t);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (npoints == 0)
        return 1;
    if (elem == 0 || layout == H5D_LAYOUT_ERROR || nfilters < 0 || npoints > UINT64_MAX / elem)
        return 0;
    uint64_t want = npoints * (uint64_t)elem, have = H5Dget_storage_size(id);
    if (layout != H5D_CHUNKED || nfilters == 0)
        /* unfiltered: every byte is stored (a partial last chunk is padded) */
        return have >= want;
    /* deflate cannot do better than about 1032:1 on any input */
    return have >= want / VFR_H5_MAX_RATIO;
}

/* Fixed-length UTF-8 strings, as wide as the longest (as the dataset file). */
int vfri_h5_write_strings(int64_t file, const char *name, const char *const *v,
                                     int64_t n)
{
    size_t w = 1;
    if (n < 0)
        return -1;
    for (int64_t i = 0; i < n; i++)
        if (strlen(v[i]) > w)
            w = strlen(v[i]);
    char *buf = calloc((size_t)(n ? n : 1) * w, 1);
    if (!buf)
        return -1;
    for (int64_t i = 0; i < n; i++)
        memcpy(buf + (size_t)i * w, v[i], strlen(v[i]));
    hsize_t d = (hsize_t)n;
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, w);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t sp = H5Screate_simple(1, &d, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(dcpl, 0);
    hid_t id = H5Dcreate2(file, name, t, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    int rc = id < 0 ? -1 : (n && H5Dwrite(id, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0 ? -1 : 0);
    if (id >= 0)
        H5Dclose(id);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Tclose(t);
    free(buf);
    return rc;
}

int vfri_h5_read_strings(int64_t file, const char *name, int64_t n, char ***out)
{
    int rc = -1;
    char **v = NULL, *fixed = NULL;
    hid_t id = -1, t = -1, mt = -1, sp = -1;
    *out = NULL;
    if ((id = H5Dopen2(file, name, H5P_DEFAULT)) < 0 || (t = H5Dget_type(id)) < 0 ||
        H5Tget_class(t) != H5T_STRING || (sp = H5Dget_space(id)) < 0 ||
        H5Sget_simple_extent_ndims(sp) != 1 || H5Sget_simple_extent_npoints(sp) != n)
        goto done;
    if (!(v = calloc(n ? (size_t)n : 1, sizeof *v)))
        goto done;
    mt = H5Tcopy(H5T_C_S1);
    H5Tset_cset(mt, H5Tget_cset(t));
    if (H5Tis_variable_str(t) > 0) {
        H5Tset_size(mt, H5T_VARIABLE);
        if (!vfri_h5_stored_plausibly(id, (uint64_t)n) ||
            (n && H5Dread(id, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0)) {
            memset(v, 0, sizeof *v * (size_t)n);
            goto done;
        }
        int bad = 0;
        for (int64_t i = 0; i < n; i++) { /* own copies; HDF5's memory reclaimed */
            char *s = v[i];
            v[i] = vfri_strdup(s ? s : "");
            bad |= !v[i];
            H5free_memory(s);
        }
        if (bad)
            goto done;
    } else {
        size_t w = H5Tget_size(t);
        if (w == 0 || w > VFR_H5_MAX_STRING || !vfri_h5_stored_plausibly(id, (uint64_t)n))
            goto done;
        H5Tset_size(mt, w);
        H5Tset_strpad(mt, H5T_STR_NULLPAD);
        if (!(fixed = calloc((size_t)n * w + 1, 1)) ||
            (n && H5Dread(id, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, fixed) < 0))
            goto done;
        for (int64_t i = 0; i < n; i++) {
            if (!(v[i] = calloc(w + 1, 1)))
                goto done;
            memcpy(v[i], fixed + (size_t)i * w, w);
        }
    }
    *out = v;
    v = NULL;
    rc = 0;
done:
    vfri_h5_free_strings(v, n);
    free(fixed);
    if (mt > 0)
        H5Tclose(mt);
    if (sp > 0)
        H5Sclose(sp);
    if (t > 0)
        H5Tclose(t);
    if (id > 0)
        H5Dclose(id);
    return rc;
}

int vfri_h5_write_array(int64_t file, const char *name, int64_t filetype,
                                   int64_t memtype, int rank, const uint64_t *dims,
                                   const void *buf, int compression)
{
    hsize_t d[2] = {dims[0], rank > 1 ? dims[1] : 1}, chunk[2];
    hid_t sp = H5Screate_simple(rank, d, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(dcpl, 0);
    hsize_t total = d[0] * (rank > 1 ? d[1] : 1);
    if (compression > 0 && total > 0) {
        /* chunks of about 256 Ki values along the last axis */
        if (rank == 1) {
            chunk[0] = d[0] < 262144 ? d[0] : 262144;
        } else {
            chunk[1] = d[1] < 262144 ? d[1] : 262144;
            chunk[0] = 262144 / chunk[1] ? 262144 / chunk[1] : 1;
            if (chunk[0] > d[0])
                chunk[0] = d[0];
        }
        H5Pset_chunk(dcpl, rank, chunk);
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, (unsigned)compression);
    }
    hid_t id = H5Dcreate2(file, name, filetype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    int rc = id < 0 || (total && H5Dwrite(id, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
                 ? -1
                 : 0;
    if (id >= 0)
        H5Dclose(id);
    H5Pclose(dcpl);
    H5Sclose(sp);
    return rc;
}

int64_t vfri_h5_create_tmp(const char *path, char **tmp)
{
    size_t n = strlen(path) + 32;
    *tmp = malloc(n);
    if (!*tmp)
        return -1;
    snprintf(*tmp, n, "%s.tmp.%ld", path, (long)getpid());
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_obj_track_times(fcpl, 0);
    hid_t f = H5Fcreate(*tmp, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    H5Pclose(fcpl);
    if (f < 0) {
        free(*tmp);
        *tmp = NULL;
    }
    return f;
}

vfr_status vfri_h5_commit(int64_t file, char *tmp, const char *path)
{
    vfr_status st = VFR_OK;
    if (H5Fclose(file) < 0) {
        st = vfr_fail(VFR_ERR_IO, "%s: flushing the HDF5 file failed (disk full?)", tmp);
        goto fail;
    }
    /* fsync before rename, so that a crash never leaves a renamed half file */
    FILE *f = fopen(tmp, "rb");
    if (f) {
        fsync(fileno(f));
        fclose(f);
    }
    if (rename(tmp, path) != 0) {
        st = vfr_fail(VFR_ERR_IO, "%s: cannot rename '%s' into place: %s", path, tmp,
                      strerror(errno));
        goto fail;
    }
    free(tmp);
    return VFR_OK;
fail:
    unlink(tmp);
    free(tmp);
    return st;
}

void vfri_h5_abort(int64_t file, char *tmp)
{
    if (file > 0)
        H5Fclose(file);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
}

