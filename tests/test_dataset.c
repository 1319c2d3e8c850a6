/* test_dataset.c: the HDF5 dataset writer and reader: round trip, date-range
 * reads, and every kind of bad file the reader must refuse (with the file and
 * field named), plus the writer's no-half-file guarantee. */
#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"
#include "vfr/dataset.h"

#define NS 3
#define NF 2
#define NT 5
#define NH 2

static const char *fnames[NF] = {"f_a", "f_b"};
static const char *snames[NS] = {"AAA", "BBB", "CCC"};
static const int32_t hz[NH] = {1, 5};

static int exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static vfr_status write_sample(const char *path, int compression)
{
    vfr_dataset_spec spec = {NF, fnames, NS, snames, NH, hz, 1,
                             1u << VFR_QUALITY_COMPLETENESS, compression, 4};
    vfr_dataset_writer *w;
    vfr_status st = vfr_dataset_writer_open(path, &spec, &w);
    if (st)
        return st;
    int32_t d0;
    vfr_date_parse("2020-01-06", &d0);
    /* two appends, symbol BBB missing on day 2 */
    int32_t date[NT * NS], sym[NT * NS];
    float feat[NT * NS * NF], fwd[NT * NS * NH], close[NT * NS], comp[NT * NS];
    int64_t n = 0;
    for (int t = 0; t < NT; t++)
        for (int s = 0; s < NS; s++) {
            if (t == 2 && s == 1)
                continue;
            date[n] = d0 + t;
            sym[n] = s;
            feat[n * NF] = (float)(t * 10 + s);
            feat[n * NF + 1] = t == 3 ? NAN : (float)-s;
            fwd[n * NH] = 0.01f * (float)t;
            fwd[n * NH + 1] = NAN;
            close[n] = 100.0f + (float)t;
            comp[n] = 1.0f;
            n++;
        }
    const float *q[VFR_QUALITY_COUNT] = {comp, NULL, NULL, NULL};
    int64_t half = 7;
    st = vfr_dataset_writer_append(w, half, date, sym, feat, fwd, close, q);
    if (!st) {
        const float *q2[VFR_QUALITY_COUNT] = {comp + half, NULL, NULL, NULL};
        st = vfr_dataset_writer_append(w, n - half, date + half, sym + half, feat + half * NF,
                                       fwd + half * NH, close + half, q2);
    }
    if (st) {
        vfr_dataset_writer_abort(w);
        return st;
    }
    return vfr_dataset_writer_commit(w);
}

/* compression 0 and 4 exercise both paths of the parallel chunk reader (raw
 * and shuffle+deflate); reads of rows 6..10 with 4-row chunks cut chunks. */
static void test_round_trip(const char *dir, int compression, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK_OK(write_sample(path, compression));
    vfr_dataset *ds;
    CHECK_OK(vfr_dataset_open(path, &ds));
    if (!ds)
        return;
    const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
    CHECK(m->N == NT * NS - 1);
    CHECK(m->F == NF && m->S == NS && m->H == NH && m->T == NT);
    CHECK(m->has_close);
    CHECK(m->quality_mask == (1u << VFR_QUALITY_COMPLETENESS));
    CHECK(strcmp(m->feature_names[1], "f_b") == 0);
    CHECK(strcmp(m->symbols[2], "CCC") == 0);
    CHECK(m->horizons[1] == 5);
    char a[11];
    vfr_date_format(m->date_first, a);
    CHECK(strcmp(a, "2020-01-06") == 0);
    CHECK(vfr_dataset_horizon_index(ds, 5) == 1 && vfr_dataset_horizon_index(ds, 3) == -1);
    CHECK(vfr_dataset_symbol_index(ds, "BBB") == 1 && vfr_dataset_symbol_index(ds, "X") == -1);

    /* day 2 and 3 (2020-01-08..09): rows 6..10 (day 2 has 2 rows) */
    int64_t r0, r1;
    vfr_dataset_row_range(ds, m->date_first + 2, m->date_first + 3, &r0, &r1);
    CHECK(r0 == 6 && r1 == 11);
    vfr_dataset_row_range(ds, m->date_first + 10, m->date_first + 20, &r0, &r1);
    CHECK(r0 == r1);
    float f[(NT * NS) * NF], fw[(NT * NS) * NH], c[NT * NS], q[NT * NS];
    CHECK_OK(vfr_dataset_read_features(ds, 6, 11, f));
    CHECK(f[0] == 20.0f && f[1] == 0.0f);   /* row 6 = (day 2, AAA) */
    CHECK(f[2] == 22.0f && f[3] == -2.0f);  /* row 7 = (day 2, CCC) */
    CHECK(isnan(f[5]));                      /* day 3 second feature */
    CHECK_OK(vfr_dataset_read_forward_returns(ds, 0, m->N, fw));
    CHECK_NEAR(fw[13 * NH], 0.04, 1e-7, 0);
    CHECK(isnan(fw[1]));
    CHECK_OK(vfr_dataset_read_close(ds, 0, m->N, c));
    CHECK(c[m->N - 1] == 104.0f);
    CHECK_OK(vfr_dataset_read_quality(ds, VFR_QUALITY_COMPLETENESS, 0, 3, q));
    CHECK(q[2] == 1.0f);
    CHECK_FAIL(vfr_dataset_read_quality(ds, VFR_QUALITY_FRESHNESS, 0, 3, q), VFR_ERR_NOT_FOUND,
               "quality/freshness");
    CHECK_FAIL(vfr_dataset_read_features(ds, 3, 100, f), VFR_ERR_INVALID_ARG, "outside");
    vfr_dataset_close(ds);

    /* same input, same bytes (no timestamps in the file) */
    char path2[512];
    snprintf(path2, sizeof path2, "%s/again-%s", dir, name);
    CHECK_OK(write_sample(path2, compression));
    FILE *x = fopen(path, "rb"), *y = fopen(path2, "rb");
    int same = x && y;
    while (same) {
        int cx = fgetc(x), cy = fgetc(y);
        if (cx != cy)
            same = 0;
        if (cx == EOF)
            break;
    }
    if (x)
        fclose(x);
    if (y)
        fclose(y);
    CHECK(same);
}

static void test_dates(void)
{
    int32_t d;
    char s[11];
    CHECK_OK(vfr_date_parse("1970-01-01", &d));
    CHECK(d == 0);
    CHECK_OK(vfr_date_parse("2000-02-29", &d));
    vfr_date_format(d, s);
    CHECK(strcmp(s, "2000-02-29") == 0);
    CHECK_OK(vfr_date_parse("1969-12-31", &d));
    CHECK(d == -1);
    CHECK_FAIL(vfr_date_parse("1900-02-29", &d), VFR_ERR_INVALID_ARG, "1900-02-29");
    CHECK_FAIL(vfr_date_parse("2020-13-01", &d), VFR_ERR_INVALID_ARG, NULL);
    CHECK_FAIL(vfr_date_parse("2020-1-01", &d), VFR_ERR_INVALID_ARG, NULL);
    CHECK_FAIL(vfr_date_parse("2020-01-011", &d), VFR_ERR_INVALID_ARG, NULL);
    for (int32_t k = -719528; k <= 2932896; k += 997) /* years 0000..9999 */ {
        vfr_date_format(k, s);
        CHECK_OK(vfr_date_parse(s, &d));
        CHECK(d == k);
    }
}

/* Copies ok.h5 to name and applies one HDF5-level corruption to it. */
static void corrupt_copy(const char *dir, const char *name, char *out, size_t cap)
{
    char src[512], cmd[1200];
    snprintf(src, sizeof src, "%s/ok.h5", dir);
    snprintf(out, cap, "%s/%s", dir, name);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, out);
    CHECK(system(cmd) == 0);
}

static void expect_open_fails(const char *path, vfr_status want, const char *needle)
{
    vfr_dataset *ds = (vfr_dataset *)1;
    CHECK_FAIL(vfr_dataset_open(path, &ds), want, needle);
    CHECK(ds == NULL);
    CHECK(strstr(vfr_last_error(), path) != NULL);
}

static void test_bad_files(const char *dir)
{
    char p[512];
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

    snprintf(p, sizeof p, "%s/missing.h5", dir);
    expect_open_fails(p, VFR_ERR_NOT_FOUND, "No such file");

    snprintf(p, sizeof p, "%s/text.h5", dir);
    FILE *f = fopen(p, "w");
    fputs("date,AAA\n2020-01-01,1\n", f);
    fclose(f);
    expect_open_fails(p, VFR_ERR_FORMAT, "not an HDF5 file");

    snprintf(p, sizeof p, "%s/empty.h5", dir);
    fclose(fopen(p, "w"));
    expect_open_fails(p, VFR_ERR_FORMAT, "not an HDF5 file");

    snprintf(p, sizeof p, "%s/other.h5", dir); /* HDF5, but not ours */
    hid_t h = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dd = 3;
    hid_t sp = H5Screate_simple(1, &dd, NULL);
    H5Dclose(H5Dcreate2(h, "x", H5T_NATIVE_INT, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Sclose(sp);
    H5Fclose(h);
    expect_open_fails(p, VFR_ERR_FORMAT, "not a vfr dataset");

    corrupt_copy(dir, "v2.h5", p, sizeof p);
    h = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t a = H5Aopen(h, "format_version", H5P_DEFAULT);
    int32_t two = 2;
    H5Awrite(a, H5T_NATIVE_INT32, &two);
    H5Aclose(a);
    H5Fclose(h);
    expect_open_fails(p, VFR_ERR_FORMAT, "format_version 2");

    corrupt_copy(dir, "short_date.h5", p, sizeof p); /* mismatched lengths */
    h = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = H5Dopen2(h, "date", H5P_DEFAULT);
    hsize_t shorter = 10;
    H5Dset_extent(d, &shorter);
    H5Dclose(d);
    H5Fclose(h);
    expect_open_fails(p, VFR_ERR_FORMAT, "'date' has 10 rows");

    corrupt_copy(dir, "short_close.h5", p, sizeof p);
    h = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    d = H5Dopen2(h, "close", H5P_DEFAULT);
    H5Dset_extent(d, &shorter);
    H5Dclose(d);
    H5Fclose(h);
    expect_open_fails(p, VFR_ERR_FORMAT, "'close' has 10 rows");

    corrupt_copy(dir, "unsorted.h5", p, sizeof p);
    h = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    d = H5Dopen2(h, "symbol", H5P_DEFAULT);
    int32_t sym[14];
    H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, sym);
    sym[4] = sym[3]; /* row 4 duplicates row 3 */
    H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, sym);
    H5Dclose(d);
    H5Fclose(h);
    expect_open_fails(p, VFR_ERR_FORMAT, "row 4");

    corrupt_copy(dir, "nofeat.h5", p, sizeof p);
    h = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(h, "features", H5P_DEFAULT);
    H5Fclose(h);
    expect_open_fails(p, VFR_ERR_FORMAT, "'features' is missing");

    corrupt_copy(dir, "trunc.h5", p, sizeof p);
    struct stat sb;
    stat(p, &sb);
    CHECK(truncate(p, sb.st_size / 2) == 0);
    expect_open_fails(p, VFR_ERR_FORMAT, "truncated");
}

static void test_writer_failures(const char *dir)
{
    char p[512];
    vfr_dataset_spec spec = {NF, fnames, NS, snames, NH, hz, 0, 0, 1, 0};
    vfr_dataset_writer *w;
    snprintf(p, sizeof p, "%s/no/such/dir/x.h5", dir);
    CHECK_FAIL(vfr_dataset_writer_open(p, &spec, &w), VFR_ERR_IO, "cannot create");

    snprintf(p, sizeof p, "%s/order.h5", dir);
    CHECK_OK(vfr_dataset_writer_open(p, &spec, &w));
    int32_t date[3] = {5, 5, 4}, sym[3] = {0, 2, 1};
    float feat[6] = {0}, fwd[6] = {0};
    CHECK_FAIL(vfr_dataset_writer_append(w, 3, date, sym, feat, fwd, NULL, NULL), VFR_ERR_FORMAT,
               "row 2");
    vfr_dataset_writer_abort(w);
    CHECK(!exists(p));
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    CHECK(!exists(tmp));

    const char *dup[2] = {"x", "x"};
    vfr_dataset_spec bad = {2, dup, NS, snames, NH, hz, 0, 0, 1, 0};
    CHECK_FAIL(vfr_dataset_writer_open(p, &bad, &w), VFR_ERR_INVALID_ARG, "twice");
}

int main(void)
{
    const char *dir = test_tmpdir();
    test_dates();
    test_round_trip(dir, 0, "raw.h5");
    test_round_trip(dir, 4, "ok.h5");
    test_bad_files(dir);
    test_writer_failures(dir);
    return test_done("test_dataset");
}
