/* probe.c: reading and writing the probe set (probe.h). */
#include "vfr/probe.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static herr_t put(hid_t f, const char *name, hid_t type, int rank, const hsize_t *dims, const void *data)
{
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(dcpl, 0);
    hid_t d = H5Dcreate2(f, name, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    herr_t rc = d < 0 ? -1 : (dims[0] ? H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : 0);
    if (d >= 0)
        H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(sp);
    return rc;
}

vfr_status vfr_probe_write(const char *path, const vfr_probe *p)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_obj_track_times(fcpl, 0);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    H5Pclose(fcpl);
    if (f < 0)
        return vfr_fail(VFR_ERR_IO, "%s: cannot create", tmp);
    hsize_t n = (hsize_t)p->n, nf[2] = {(hsize_t)p->n, (hsize_t)p->F};
    int bad = put(f, "X", H5T_NATIVE_FLOAT, 2, nf, p->X) < 0 ||
              put(f, "prev_row", H5T_NATIVE_INT64, 1, &n, p->prev_row) < 0 ||
              put(f, "date", H5T_NATIVE_INT32, 1, &n, p->date) < 0 ||
              put(f, "symbol", H5T_NATIVE_INT32, 1, &n, p->symbol) < 0 ||
              put(f, "score", H5T_NATIVE_FLOAT, 1, &n, p->score) < 0;
    if (H5Fclose(f) < 0)
        bad = 1;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return vfr_fail(VFR_ERR_IO, "%s: writing the probe set failed", path);
    }
    return VFR_OK;
}

void vfr_probe_free(vfr_probe *p)
{
    if (!p)
        return;
    free(p->X), free(p->prev_row), free(p->date), free(p->symbol), free(p->score);
    free(p);
}

static int get(hid_t f, const char *name, hid_t type, int rank, hsize_t *dims, void **out, size_t elem)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0)
        return -1;
    hid_t sp = H5Dget_space(d);
    int ok = H5Sget_simple_extent_ndims(sp) == rank;
    hsize_t dd[2] = {0, 1};
    if (ok)
        H5Sget_simple_extent_dims(sp, dd, NULL);
    H5Sclose(sp);
    size_t cnt = (size_t)(dd[0] * (rank == 2 ? dd[1] : 1));
    *out = ok ? malloc(elem * (cnt ? cnt : 1)) : NULL;
    ok = ok && *out && (cnt == 0 || H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) >= 0);
    H5Dclose(d);
    dims[0] = dd[0];
    if (rank == 2)
        dims[1] = dd[1];
    return ok ? 0 : -1;
}

vfr_status vfr_probe_read(const char *path, vfr_probe **out)
{
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return vfr_fail(VFR_ERR_NOT_FOUND, "%s: no probe set", path);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return vfr_fail(VFR_ERR_FORMAT, "%s: not an HDF5 probe set", path);
    vfr_probe *p = calloc(1, sizeof *p);
    hsize_t d2[2], d1[2], d3[2], d4[2], d5[2];
    int bad = !p || get(f, "X", H5T_NATIVE_FLOAT, 2, d2, (void **)&p->X, sizeof(float)) ||
              get(f, "prev_row", H5T_NATIVE_INT64, 1, d1, (void **)&p->prev_row, sizeof(int64_t)) ||
              get(f, "date", H5T_NATIVE_INT32, 1, d3, (void **)&p->date, sizeof(int32_t)) ||
              get(f, "symbol", H5T_NATIVE_INT32, 1, d4, (void **)&p->symbol, sizeof(int32_t)) ||
              get(f, "score", H5T_NATIVE_FLOAT, 1, d5, (void **)&p->score, sizeof(float));
    H5Fclose(f);
    if (bad || d1[0] != d2[0] || d3[0] != d2[0] || d4[0] != d2[0] || d5[0] != d2[0]) {
        vfr_probe_free(p);
        return vfr_fail(VFR_ERR_FORMAT, "%s: a probe field is missing or has the wrong shape", path);
    }
    p->n = (int64_t)d2[0];
    p->F = (int32_t)d2[1];
    for (int64_t i = 0; i < p->n; i++)
        if (p->prev_row[i] >= i || p->prev_row[i] < -1) {
            vfr_probe_free(p);
            return vfr_fail(VFR_ERR_FORMAT, "%s: prev_row[%lld] is not an earlier row", path, (long long)i);
        }
    *out = p;
    return VFR_OK;
}

vfr_status vfr_probe_predict(vfr_model *m, const vfr_probe *p, float *score)
{
    vfr_dataview *v = NULL;
    vfr_status st = vfr_dataview_create(p->X, NULL, p->n, p->F, &v);
    if (st != VFR_OK)
        return st;
    vfr_dataview_set_history(v, p->X, 0, p->prev_row);
    st = vfr_model_predict(m, v, score);
    vfr_dataview_destroy(v);
    return st;
}
