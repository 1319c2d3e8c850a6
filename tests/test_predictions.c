/* test_predictions.c: the predictions file: write -> read round trip, the set
 * filter, the same bytes for the same input, files written by other tools
 * (1-d score, variable-length strings, no optional columns), and every refusal
 * naming the file and the field or row, with nothing left behind. */
#include <hdf5.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"
#include "vfr/predictions.h"

static char *path_in_tmp(const char *name)
{
    static char buf[4][512];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 512, "%s/%s", test_tmpdir(), name);
    return p;
}

static int file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static int same_bytes(const char *a, const char *b)
{
    FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
    int same = f && g;
    while (same) {
        int x = fgetc(f), y = fgetc(g);
        if (x != y)
            same = 0;
        if (x == EOF || y == EOF)
            break;
    }
    if (f)
        fclose(f);
    if (g)
        fclose(g);
    return same;
}

/* 3 dates x 2 symbols, two score vectors; the middle date is validation. */
static char *symbols[2] = {"AAA", "BBB"};
static char *names[2] = {"trial_0", "trial_1"};
static int32_t date[6] = {19000, 19000, 19001, 19001, 19002, 19002};
static int32_t symbol[6] = {0, 1, 0, 1, 0, 1};
static float score[12] = {0.1f, 0.9f, 0.4f, 0.6f, 0.3f, NAN, 1, 2, 3, 4, 5, 6};
static float label[6] = {0, 1, 1, 0, 0, 1};
static float fwd[6] = {-0.01f, 0.02f, 0.03f, -0.01f, 0.0f, NAN};
static float fwd1[6] = {-0.005f, 0.01f, 0.01f, -0.002f, 0.001f, 0.004f};
static int8_t set[6] = {1, 1, 2, 2, 2, 2};

static vfr_predictions sample(void)
{
    vfr_predictions p = {0};
    p.N = 6, p.M = 2, p.S = 2, p.horizon = 5, p.task = VFR_TASK_CLASSIFICATION;
    p.symbols = symbols, p.score_names = names;
    p.date = date, p.symbol = symbol, p.score = score, p.label = label;
    p.fwd = fwd, p.fwd1 = fwd1, p.set = set;
    return p;
}

static void round_trip(void)
{
    vfr_predictions in = sample(), *out = NULL;
    const char *a = path_in_tmp("p.h5"), *b = path_in_tmp("p2.h5");
    CHECK_OK(vfr_predictions_write(a, &in, 4));
    CHECK_OK(vfr_predictions_write(b, &in, 4));
    CHECK(same_bytes(a, b)); /* no timestamps in the file */
    CHECK_OK(vfr_predictions_read(a, VFR_SET_ALL, &out));
    if (!out)
        return;
    CHECK(out->N == 6 && out->M == 2 && out->S == 2 && out->T == 3 && out->horizon == 5);
    CHECK(out->task == VFR_TASK_CLASSIFICATION);
    CHECK(strcmp(out->symbols[1], "BBB") == 0 && strcmp(out->score_names[1], "trial_1") == 0);
    CHECK(out->date_offset[0] == 0 && out->date_offset[1] == 2 && out->date_offset[3] == 6);
    CHECK(memcmp(out->date, date, sizeof date) == 0 && memcmp(out->set, set, sizeof set) == 0);
    CHECK(out->score[6] == 1 && out->score[1] == 0.9f && isnan(out->score[5]));
    CHECK(isnan(out->fwd[5]) && out->fwd1[5] == 0.004f && out->label[1] == 1);
    vfr_panel pn;
    vfr_predictions_panel(out, &pn);
    CHECK_OK(vfr_metrics_panel_check(&pn));
    vfr_predictions_free(out);

    /* the set filter keeps the rows of one set, scores included */
    CHECK_OK(vfr_predictions_read(a, VFR_SET_TEST, &out));
    if (out) {
        CHECK(out->N == 4 && out->T == 2 && out->date[0] == 19001);
        CHECK(out->score[0] == 0.4f && out->score[4] == 3 && out->score[7] == 6);
        CHECK(out->date_offset[1] == 2 && out->date_offset[2] == 4);
        vfr_predictions_free(out);
    }
    CHECK_OK(vfr_predictions_read(a, VFR_SET_TRAIN, &out)); /* no train rows: empty */
    if (out) {
        CHECK(out->N == 0 && out->T == 0 && out->M == 2);
        vfr_predictions_free(out);
    }

    /* optional columns may be absent; names default */
    in.fwd = in.fwd1 = NULL, in.set = NULL, in.score_names = NULL, in.M = 1;
    in.task = VFR_TASK_REGRESSION;
    CHECK_OK(vfr_predictions_write(a, &in, 0));
    CHECK_OK(vfr_predictions_read(a, VFR_SET_ALL, &out));
    if (out) {
        CHECK(!out->fwd && !out->fwd1 && !out->set && out->task == VFR_TASK_REGRESSION);
        CHECK(strcmp(out->score_names[0], "score") == 0);
        vfr_predictions_free(out);
    }
    CHECK_FAIL(vfr_predictions_read(a, VFR_SET_TEST, &out), VFR_ERR_INVALID_ARG, "no 'set'");
    CHECK(out == NULL);
}

/* A file as h5py would write it: variable-length strings, a 1-d score. */
static void foreign_file(void)
{
    const char *path = path_in_tmp("h5py.h5");
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t vs = H5Tcopy(H5T_C_S1);
    H5Tset_size(vs, H5T_VARIABLE);
    hid_t sc = H5Screate(H5S_SCALAR);
    const char *fmt = "vfr-predictions", *task = "regression";
    hid_t a = H5Acreate2(f, "format", vs, sc, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, vs, &fmt);
    H5Aclose(a);
    a = H5Acreate2(f, "task", vs, sc, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, vs, &task);
    H5Aclose(a);
    int64_t one = 1;
    a = H5Acreate2(f, "format_version", H5T_STD_I64LE, sc, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT64, &one);
    H5Aclose(a);
    a = H5Acreate2(f, "horizon", H5T_STD_I64LE, sc, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT64, &one);
    H5Aclose(a);
    hsize_t n2 = 2, n4 = 4;
    hid_t s2 = H5Screate_simple(1, &n2, NULL), s4 = H5Screate_simple(1, &n4, NULL);
    const char *syms[2] = {"X", "Y"};
    hid_t d = H5Dcreate2(f, "symbols", vs, s2, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, vs, H5S_ALL, H5S_ALL, H5P_DEFAULT, syms);
    H5Dclose(d);
    int64_t dt[4] = {10, 10, 11, 11}, sy[4] = {0, 1, 0, 1};
    double sc4[4] = {0.5, -0.5, 0.25, 0.75}, lb[4] = {0.01, -0.02, 0.0, 0.03};
    d = H5Dcreate2(f, "date", H5T_STD_I64LE, s4, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, dt);
    H5Dclose(d);
    d = H5Dcreate2(f, "symbol", H5T_STD_I64LE, s4, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, sy);
    H5Dclose(d);
    d = H5Dcreate2(f, "score", H5T_IEEE_F64LE, s4, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, sc4);
    H5Dclose(d);
    d = H5Dcreate2(f, "label", H5T_IEEE_F64LE, s4, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, lb);
    H5Dclose(d);
    H5Sclose(s2), H5Sclose(s4), H5Sclose(sc), H5Tclose(vs);
    H5Fclose(f);
    vfr_predictions *p = NULL;
    CHECK_OK(vfr_predictions_read(path, VFR_SET_ALL, &p));
    if (p) {
        CHECK(p->M == 1 && p->N == 4 && p->T == 2 && p->score[3] == 0.75f);
        CHECK(strcmp(p->symbols[1], "Y") == 0 && strcmp(p->score_names[0], "score") == 0);
        vfr_predictions_free(p);
    }
}

static void refusals(void)
{
    vfr_predictions in = sample(), *out = NULL;
    const char *a = path_in_tmp("bad.h5");
    /* bad input to the writer: nothing is left at the path */
    int32_t d2[6] = {19000, 19000, 19002, 19001, 19002, 19002};
    in.date = d2;
    CHECK_FAIL(vfr_predictions_write(a, &in, 0), VFR_ERR_INVALID_ARG, "row 3");
    CHECK(!file_exists(a));
    in = sample();
    int32_t s2[6] = {0, 0, 0, 1, 0, 1};
    in.symbol = s2;
    CHECK_FAIL(vfr_predictions_write(a, &in, 0), VFR_ERR_INVALID_ARG, "duplicates");
    in = sample();
    int8_t bad_set[6] = {1, 1, 2, 7, 2, 2};
    in.set = bad_set;
    CHECK_FAIL(vfr_predictions_write(a, &in, 0), VFR_ERR_INVALID_ARG, "'set', row 3");
    in = sample();
    in.M = 0;
    CHECK_FAIL(vfr_predictions_write(a, &in, 0), VFR_ERR_INVALID_ARG, "M >= 1");
    in = sample();
    char *dup[2] = {"AAA", "AAA"};
    in.symbols = dup;
    CHECK_FAIL(vfr_predictions_write(a, &in, 0), VFR_ERR_INVALID_ARG, "twice");
    CHECK(!file_exists(a));
    in = sample();
    CHECK_FAIL(vfr_predictions_write(path_in_tmp("no/such/dir.h5"), &in, 0), VFR_ERR_IO,
               "no/such/dir.h5");
    /* the reader */
    CHECK_FAIL(vfr_predictions_read(path_in_tmp("missing.h5"), VFR_SET_ALL, &out),
               VFR_ERR_NOT_FOUND, "missing.h5");
    FILE *f = fopen(a, "w");
    fputs("date,symbol,score\n", f);
    fclose(f);
    CHECK_FAIL(vfr_predictions_read(a, VFR_SET_ALL, &out), VFR_ERR_FORMAT, "not an HDF5");
    hid_t h = H5Fcreate(a, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(h);
    CHECK_FAIL(vfr_predictions_read(a, VFR_SET_ALL, &out), VFR_ERR_FORMAT, "format");
    /* a good file with one field cut short */
    CHECK_OK(vfr_predictions_write(a, &in, 0));
    h = H5Fopen(a, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(h, "label", H5P_DEFAULT);
    hsize_t n5 = 5;
    hid_t sp = H5Screate_simple(1, &n5, NULL);
    hid_t d = H5Dcreate2(h, "label", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, label);
    H5Dclose(d), H5Sclose(sp), H5Fclose(h);
    CHECK_FAIL(vfr_predictions_read(a, VFR_SET_ALL, &out), VFR_ERR_FORMAT, "'label' has 5 rows");
    CHECK(out == NULL);
    int s;
    CHECK_FAIL(vfr_predictions_set_parse("holdout", &s), VFR_ERR_INVALID_ARG, "holdout");
    CHECK_OK(vfr_predictions_set_parse("validation", &s));
    CHECK(s == VFR_SET_VALIDATION && strcmp(vfr_predictions_set_name(VFR_SET_TEST), "test") == 0);
}

int main(void)
{
    round_trip();
    foreign_file();
    refusals();
    return test_done("test_predictions");
}
