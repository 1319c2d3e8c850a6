/* fuzz_h5.c: fuzz target for the HDF5 readers (vfr_dataset_open and its row
 * reads, vfr_predictions_read). Structure-aware: the input is a recipe, not
 * the file's bytes. Its first bytes pick a small valid dataset or predictions
 * file, written with vfr's own writers; the rest is a list of edits made with
 * the HDF5 API: attributes replaced by other classes and shapes (arrays of
 * strings, integers as strings), datasets replaced by other classes, ranks
 * and declared sizes (chunked and never written: a 10^9-row declaration in a
 * small file), index values overwritten (dates near INT32_MAX, symbols out
 * of range), objects deleted. This reaches vfr's checks, the source of every
 * defect found so far, rather than HDF5's own parser, whose bugs on mangled
 * bytes vfr cannot fix. The reader must return a status, never crash. */
#include <hdf5.h>
#include <math.h>

#include "fuzz_common.h"
#include "vfr/dataset.h"
#include "vfr/predictions.h"

typedef struct {
    const uint8_t *p;
    size_t n, i;
} recipe;

static unsigned u8(recipe *r) { return r->i < r->n ? r->p[r->i++] : 0; }

static uint32_t u32(recipe *r)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++)
        v = v << 8 | u8(r);
    return v;
}

static const char *const ds_fields[] = {"features", "feature_names", "symbols", "symbol", "date",
                                        "forward_return", "close", "quality/validity"};
static const char *const pr_fields[] = {"date", "symbol", "symbols", "label", "score", "set",
                                        "forward_return", "score_names"};
static const char *const ds_attrs[] = {"format", "format_version", "forward_return/horizons"};
static const char *const pr_attrs[] = {"format", "format_version", "horizon", "task"};

static int write_dataset(const char *path, recipe *r)
{
    int32_t S = 1 + (int32_t)(u8(r) % 4), T = 1 + (int32_t)(u8(r) % 6), F = (int32_t)(u8(r) % 4);
    int32_t H = (int32_t)(u8(r) % 3), hz[2] = {1, 5};
    const char *fn[] = {"f0", "f1", "f2", "f3"}, *sym[] = {"AA", "BB", "CC", "DD"};
    vfr_dataset_spec spec = {F, fn, S, sym, H, hz, 1, 1u << VFR_QUALITY_VALIDITY, (int)(u8(r) % 2), 4};
    vfr_dataset_writer *w = NULL;
    if (vfr_dataset_writer_open(path, &spec, &w) != VFR_OK)
        return -1;
    int32_t d[4], s[4];
    float x[16], fw[8], c[4], q[4];
    const float *qa[VFR_QUALITY_COUNT] = {NULL, NULL, NULL, q};
    for (int32_t t = 0; t < T; t++) {
        for (int32_t k = 0; k < S; k++) {
            d[k] = 14000 + t, s[k] = k, c[k] = 10.0f + (float)t, q[k] = 1.0f;
            for (int32_t j = 0; j < F; j++)
                x[k * F + j] = (float)(t * 7 + k + j);
            for (int32_t h = 0; h < H; h++)
                fw[k * H + h] = 0.01f * (float)(k - 1);
        }
        if (vfr_dataset_writer_append(w, S, d, s, x, fw, c, qa) != VFR_OK) {
            vfr_dataset_writer_abort(w);
            return -1;
        }
    }
    return vfr_dataset_writer_commit(w) == VFR_OK ? 0 : -1;
}

static int write_predictions(const char *path, recipe *r)
{
    int32_t S = 1 + (int32_t)(u8(r) % 4), T = 1 + (int32_t)(u8(r) % 6), M = 1 + (int32_t)(u8(r) % 2);
    char *sym[] = {"AA", "BB", "CC", "DD"};
    int32_t date[24], symbol[24];
    float score[48], label[24], fwd[24];
    int8_t set[24];
    int64_t N = 0;
    for (int32_t t = 0; t < T; t++)
        for (int32_t k = 0; k < S; k++, N++) {
            date[N] = 14000 + t, symbol[N] = k, label[N] = (float)((t + k) % 2), fwd[N] = 0.01f;
            set[N] = (int8_t)(t * 3 / T);
        }
    for (int64_t i = 0; i < M * N; i++)
        score[i] = (float)(i % 5) / 5.0f;
    vfr_predictions p = {.N = N, .M = M, .S = S, .horizon = 1, .task = VFR_TASK_CLASSIFICATION,
                         .symbols = sym, .date = date, .symbol = symbol, .score = score, .label = label,
                         .fwd = fwd, .set = set};
    return vfr_predictions_write(path, &p, (int)(u8(r) % 2)) == VFR_OK ? 0 : -1;
}

static void drop(hid_t f, const char *name, int attr)
{
    if (!attr) {
        if (H5Lexists(f, name, H5P_DEFAULT) > 0)
            H5Ldelete(f, name, H5P_DEFAULT);
        return;
    }
    const char *slash = strrchr(name, '/');
    if (!slash) {
        if (H5Aexists(f, name) > 0)
            H5Adelete(f, name);
        return;
    }
    char obj[64];
    snprintf(obj, sizeof obj, "%.*s", (int)(slash - name), name);
    if (H5Lexists(f, obj, H5P_DEFAULT) > 0 && H5Aexists_by_name(f, obj, slash + 1, H5P_DEFAULT) > 0)
        H5Adelete_by_name(f, obj, slash + 1, H5P_DEFAULT);
}

/* An attribute of a class and shape the recipe picks. */
static void put_attr(hid_t f, const char *name, recipe *r)
{
    drop(f, name, 1);
    const char *slash = strrchr(name, '/');
    char obj[64] = ".";
    if (slash)
        snprintf(obj, sizeof obj, "%.*s", (int)(slash - name), name);
    if (slash && H5Lexists(f, obj, H5P_DEFAULT) <= 0)
        return;
    const char *aname = slash ? slash + 1 : name;
    unsigned kind = u8(r) % 5, n = 1 + u8(r) % 40;
    hsize_t dims = n;
    hid_t sp = u8(r) % 2 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dims, NULL);
    hsize_t pts = (hsize_t)H5Sget_simple_extent_npoints(sp);
    hid_t t = -1;
    void *buf = NULL;
    static const char *const words[] = {"vfr-dataset", "vfr-predictions", "classification", "regression", ""};
    if (kind == 0 || kind == 1) { /* strings: variable or fixed length */
        t = H5Tcopy(H5T_C_S1);
        const char *wd = words[u8(r) % 5];
        if (kind == 0) {
            H5Tset_size(t, H5T_VARIABLE);
            const char **v = calloc(pts, sizeof *v);
            for (hsize_t i = 0; v && i < pts; i++)
                v[i] = wd;
            buf = v;
        } else {
            size_t w = 1 + u8(r) % 64;
            H5Tset_size(t, w);
            char *v = calloc(pts, w);
            for (hsize_t i = 0; v && i < pts; i++)
                memcpy(v + i * w, wd, strlen(wd) < w ? strlen(wd) : w);
            buf = v;
        }
    } else {
        t = H5Tcopy(kind == 4 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT32);
        size_t es = kind == 4 ? 8 : 4;
        uint8_t *v = calloc(pts, es);
        for (hsize_t i = 0; v && i < pts; i++) {
            uint32_t x = kind == 2 ? (uint32_t)(i + 1) : u32(r);
            if (es == 8) {
                double dx = (double)(int32_t)x;
                memcpy(v + i * 8, &dx, 8);
            } else {
                memcpy(v + i * 4, &x, 4);
            }
        }
        buf = v;
    }
    hid_t a = buf ? H5Acreate_by_name(f, obj, aname, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    if (a >= 0) {
        H5Awrite(a, t, buf);
        H5Aclose(a);
    }
    free(buf);
    H5Tclose(t);
    H5Sclose(sp);
}

/* A dataset of a class, rank and declared size the recipe picks. */
static void put_dataset(hid_t f, const char *name, recipe *r)
{
    drop(f, name, 0);
    unsigned cls = u8(r) % 3, rank = u8(r) % 3, huge = u8(r) % 5 == 0;
    hsize_t d[2] = {u8(r) % 30, 1 + u8(r) % 5};
    if (huge)
        d[0] = 1000000000ULL;
    hid_t t = cls == 0 ? H5Tcopy(H5T_NATIVE_INT32) : cls == 1 ? H5Tcopy(H5T_NATIVE_FLOAT) : H5Tcopy(H5T_C_S1);
    if (cls == 2)
        H5Tset_size(t, 1 + u8(r) % 16);
    hid_t sp = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple((int)rank, d, NULL);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    if (huge && rank > 0) { /* declared, never written */
        hsize_t ch[2] = {1024, d[1]};
        H5Pset_chunk(dcpl, (int)rank, ch);
    }
    hid_t id = H5Dcreate2(f, name, t, sp, lcpl, dcpl, H5P_DEFAULT);
    if (id >= 0 && !huge) {
        hsize_t pts = (hsize_t)H5Sget_simple_extent_npoints(sp);
        size_t es = H5Tget_size(t);
        uint8_t *buf = calloc(pts ? pts : 1, es);
        for (size_t i = 0; buf && i < pts * es; i++)
            buf[i] = (uint8_t)(cls == 2 ? 'A' + u8(r) % 3 : u8(r));
        if (buf && pts)
            H5Dwrite(id, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
        free(buf);
    }
    if (id >= 0)
        H5Dclose(id);
    H5Pclose(dcpl);
    H5Pclose(lcpl);
    H5Sclose(sp);
    H5Tclose(t);
}

/* One element of an existing numeric dataset overwritten. */
static void poke(hid_t f, const char *name, recipe *r)
{
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0)
        return;
    hid_t id = H5Dopen2(f, name, H5P_DEFAULT);
    if (id < 0)
        return;
    hid_t sp = H5Dget_space(id), t = H5Dget_type(id);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    int rank = H5Sget_simple_extent_ndims(sp);
    H5T_class_t c = H5Tget_class(t);
    if (n > 0 && rank >= 1 && rank <= 2 && (c == H5T_INTEGER || c == H5T_FLOAT)) {
        hsize_t dims[2] = {1, 1}, start[2] = {0, 0}, one[2] = {1, 1};
        H5Sget_simple_extent_dims(sp, dims, NULL);
        start[0] = u8(r) % dims[0];
        start[1] = rank == 2 ? u8(r) % dims[1] : 0;
        static const uint32_t ints[] = {0x7fffffffu, 0x80000000u, 0xffffffffu, 4, 84006};
        static const float floats[] = {NAN, INFINITY, -INFINITY, 3.4e38f, -1};
        unsigned k = u8(r) % 5;
        hid_t ms = H5Screate_simple(rank, one, NULL);
        H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, one, NULL);
        if (c == H5T_INTEGER)
            H5Dwrite(id, H5T_NATIVE_UINT32, ms, sp, H5P_DEFAULT, &ints[k]);
        else
            H5Dwrite(id, H5T_NATIVE_FLOAT, ms, sp, H5P_DEFAULT, &floats[k]);
        H5Sclose(ms);
    }
    H5Tclose(t);
    H5Sclose(sp);
    H5Dclose(id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    recipe r = {data, size, 0};
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* the edits' own failures are expected */
    int preds = (int)(u8(&r) & 1);
    char path[512];
    snprintf(path, sizeof path, "%s", fuzz_path(preds ? "p.h5" : "d.h5"));
    if ((preds ? write_predictions(path, &r) : write_dataset(path, &r)) != 0) {
        fprintf(stderr, "fuzz_h5: the base file: %s\n", vfr_last_error());
        abort(); /* the base file is valid by construction */
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0)
        abort();
    const char *const *fields = preds ? pr_fields : ds_fields;
    const char *const *attrs = preds ? pr_attrs : ds_attrs;
    unsigned nattrs = preds ? 4 : 3;
    for (int edits = 0; r.i < r.n && edits < 8; edits++) {
        unsigned op = u8(&r) % 4;
        const char *field = fields[u8(&r) % 8];
        if (op == 0)
            put_attr(f, attrs[u8(&r) % nattrs], &r);
        else if (op == 1)
            put_dataset(f, field, &r);
        else if (op == 2)
            poke(f, field, &r);
        else
            drop(f, field, 0);
    }
    H5Fclose(f);
    if (preds) {
        vfr_predictions *p = NULL;
        vfr_status st = vfr_predictions_read(path, VFR_SET_ALL, &p);
        if (st != VFR_OK && !vfr_last_error()[0])
            abort();
        vfr_predictions_free(p);
        p = NULL;
        if (vfr_predictions_read(path, VFR_SET_TEST, &p) == VFR_OK)
            vfr_predictions_free(p);
    } else {
        vfr_dataset *ds = NULL;
        vfr_status st = vfr_dataset_open(path, &ds);
        if (st != VFR_OK && !vfr_last_error()[0])
            abort();
        if (st == VFR_OK) {
            const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
            int64_t n = m->N < 64 ? m->N : 64;
            float *buf = malloc(sizeof *buf * (size_t)(n ? n : 1) * (size_t)(m->F + m->H + 1));
            if (buf) {
                vfr_dataset_read_features(ds, 0, n, buf);
                if (m->H > 0)
                    vfr_dataset_read_forward_returns(ds, 0, n, buf);
                if (m->has_close)
                    vfr_dataset_read_close(ds, 0, n, buf);
                if (m->quality_mask)
                    vfr_dataset_read_quality(ds, VFR_QUALITY_VALIDITY, 0, n, buf);
            }
            free(buf);
            vfr_dataset_close(ds);
        }
    }
    unlink(path);
    return 0;
}
