/* test_pack_ohlcv.c: daily OHLCV bars -> dataset (vfr_pack_ohlcv_csv/_dir).
 * Header spellings, a column map, rows in any order, gzip, one file per
 * symbol, the adjustment factor from Adj Close, feature sets; then every bad
 * input (missing column, high < low, close outside [low, high], negative
 * volume, non-positive price, duplicate bar, ...) must fail with FORMAT, name
 * the file, line and column, and leave nothing at out_path. Last, the bundled
 * bars in data/ohlcv/. */
#include <stdint.h>
#include <sys/stat.h>
#include <zlib.h>

#include "test_util.h"
#include "vfr/dataset.h"
#include "vfr/features.h"
#include "vfr/pack.h"

static int exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static const char *tmp_path(const char *name)
{
    static char buf[8][512];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", test_tmpdir(), name);
    return p;
}

static const char *write_text(const char *name, const char *text)
{
    const char *p = tmp_path(name);
    FILE *f = fopen(p, "wb");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(p);
        exit(1);
    }
    return p;
}

static int32_t feature_index(const vfr_dataset_meta *m, const char *name)
{
    for (int32_t f = 0; f < m->F; f++)
        if (strcmp(m->feature_names[f], name) == 0)
            return f;
    return -1;
}

/* Yahoo-style header, CRLF, rows shuffled, an empty bar (holiday) skipped,
 * Adj Close half of Close for BBB (a 2:1 split later): its prices are halved
 * and its volume doubled. */
static const char long_csv[] =
    "Date,Ticker,Open,High,Low,Close,Adj Close,Volume,Comment\r\n"
    "2020-01-03,BBB,20,22,19,21,10.5,100,x\r\n"
    "2020-01-02,AAA,10,11,9,10.5,10.5,1000,\r\n"
    "2020-01-06,AAA,10.5,12,10,11,11,2000,\r\n"
    "2020-01-02,BBB,20,21,19,20,10,50,\r\n"
    "2020-01-03,AAA,,,,,,,holiday\r\n"
    "2020-01-06,BBB,21,23,20,22,11,80,\r\n";

static void test_long(void)
{
    const char *csv = write_text("long.csv", long_csv);
    const char *out = tmp_path("long.h5");
    vfr_pack_ohlcv_options opt = {.features = "alpha158,price26", .device = VFR_DEVICE_CPU};
    CHECK_OK(vfr_pack_ohlcv_csv(csv, out, &opt));
    vfr_dataset *ds = NULL;
    CHECK_OK(vfr_dataset_open(out, &ds));
    if (!ds)
        return;
    const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
    CHECK(m->N == 5 && m->S == 2 && m->T == 3);
    CHECK(m->F == 158 + 26);
    CHECK(strcmp(m->feature_names[0], "KMID") == 0);
    CHECK(strcmp(m->feature_names[157], "VSUMD60") == 0);
    CHECK(strcmp(m->feature_names[158], "ret_1d") == 0);
    CHECK(strcmp(m->symbols[0], "AAA") == 0 && strcmp(m->symbols[1], "BBB") == 0);
    /* (date, symbol) order: 01-02 AAA, 01-02 BBB, 01-03 BBB, 01-06 AAA, 01-06 BBB */
    const int want_sym[5] = {0, 1, 1, 0, 1};
    float close[5], fwd[5 * 4], feat[5 * (158 + 26)];
    CHECK_OK(vfr_dataset_read_close(ds, 0, 5, close));
    CHECK_OK(vfr_dataset_read_forward_returns(ds, 0, 5, fwd));
    CHECK_OK(vfr_dataset_read_features(ds, 0, 5, feat));
    for (int i = 0; i < 5 && m->N == 5; i++)
        CHECK(m->symbol[i] == want_sym[i]);
    CHECK(close[0] == 10.5f && close[1] == 10.0f && close[2] == 10.5f && close[3] == 11.0f &&
          close[4] == 11.0f);
    /* AAA's next bar after 01-02 is 01-06 (01-03 had no trading). */
    CHECK_NEAR(fwd[0 * 4 + 0], 11.0 / 10.5 - 1, 1e-7, 0);
    CHECK_NEAR(fwd[1 * 4 + 0], 10.5 / 10.0 - 1, 1e-7, 0);
    int32_t kmid = feature_index(m, "KMID"), open0 = feature_index(m, "OPEN0"),
            r1 = feature_index(m, "ret_1d");
    CHECK_NEAR(feat[0 * m->F + kmid], 0.05, 1e-7, 0);
    CHECK_NEAR(feat[1 * m->F + open0], 1.0, 1e-7, 0);  /* adjusted open 10 / close 10 */
    CHECK_NEAR(feat[3 * m->F + r1], 11.0 / 10.5 - 1, 1e-7, 0);
    CHECK(isnan(feat[0 * m->F + feature_index(m, "MA5")]));
    vfr_dataset_close(ds);
}

/* Spellings no alias knows, named by a column map; gzip; any row order. */
static void test_columns_gzip(void)
{
    const char *p = tmp_path("mapped.csv.gz");
    gzFile z = gzopen(p, "wb");
    gzputs(z, "Day;x,Name,O,H,L,Last,Qty\n"
              "2021-03-02,ZZZ,5,6,4,5.5,10\n"
              "2021-03-01,ZZZ,5,5,5,5,0\n");
    gzclose(z);
    const char *out = tmp_path("mapped.h5");
    vfr_pack_ohlcv_options opt = {.device = VFR_DEVICE_CPU};
    CHECK_FAIL(vfr_pack_ohlcv_csv(p, out, &opt), VFR_ERR_FORMAT, "no column for date, symbol");
    CHECK(!exists(out));
    opt.columns = "date=Day;x,symbol=Name,open=O,high=H,low=L,close=Last,volume=Qty";
    CHECK_OK(vfr_pack_ohlcv_csv(p, out, &opt));
    vfr_dataset *ds = NULL;
    CHECK_OK(vfr_dataset_open(out, &ds));
    if (ds) {
        const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
        CHECK(m->N == 2 && m->S == 1 && m->F == 158);
        vfr_dataset_close(ds);
    }
    opt.columns = "date=Day;x,price=O";
    CHECK_FAIL(vfr_pack_ohlcv_csv(p, out, &opt), VFR_ERR_INVALID_ARG, "unknown role 'price'");
    opt.columns = "Day";
    CHECK_FAIL(vfr_pack_ohlcv_csv(p, out, &opt), VFR_ERR_INVALID_ARG, "ROLE=NAME");
    opt.columns = NULL;
    opt.features = "alpha360";
    CHECK_FAIL(vfr_pack_ohlcv_csv(p, out, &opt), VFR_ERR_INVALID_ARG, "alpha360");
}

static void test_dir(void)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/bars", test_tmpdir());
    mkdir(dir, 0755);
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/MSFT.csv", dir);
    snprintf(b, sizeof b, "%s/IBM.csv", dir);
    FILE *f = fopen(a, "w");
    fputs("date,open,high,low,close,volume\n2020-01-02,1,2,1,2,5\n2020-01-03,2,3,2,3,5\n", f);
    fclose(f);
    f = fopen(b, "w");
    fputs("timestamp,OPEN,HIGH,LOW,CLOSE,VOL\n2020-01-03 00:00:00,7,8,6,7,9\n", f);
    fclose(f);
    write_text("bars/README.txt", "not a symbol\n");
    const char *out = tmp_path("dir.h5");
    vfr_pack_ohlcv_options opt = {.features = "price26", .device = VFR_DEVICE_CPU};
    CHECK_OK(vfr_pack_ohlcv_dir(dir, out, &opt));
    vfr_dataset *ds = NULL;
    CHECK_OK(vfr_dataset_open(out, &ds));
    if (ds) {
        const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
        CHECK(m->N == 3 && m->S == 2 && m->F == 26);
        CHECK(strcmp(m->symbols[0], "IBM") == 0 && strcmp(m->symbols[1], "MSFT") == 0);
        vfr_dataset_close(ds);
    }
    /* A bad bar in one file names that file. */
    f = fopen(b, "w");
    fputs("timestamp,OPEN,HIGH,LOW,CLOSE,VOL\n2020-01-03,7,8,6,9,9\n", f);
    fclose(f);
    const char *out2 = tmp_path("dir2.h5");
    CHECK_FAIL(vfr_pack_ohlcv_dir(dir, out2, &opt), VFR_ERR_FORMAT, "IBM.csv: line 2, column CLOSE");
    CHECK(!exists(out2));
    CHECK_FAIL(vfr_pack_ohlcv_dir("/nonexistent/bars", out2, &opt), VFR_ERR_NOT_FOUND, "no such");
}

typedef struct bad_case {
    const char *body;
    const char *needle;
} bad_case;

static void test_bad_input(void)
{
    const char *head = "date,symbol,open,high,low,close,volume\n";
    const bad_case cases[] = {
        {"2020-01-02,A,1,2,0.5,1,10\n2020-01-03,A,1,0.9,1,1,10\n", "line 3, column high: high 0.9 is below low 1"},
        {"2020-01-02,A,1,2,1,2.5,10\n", "line 2, column close: close 2.5 is outside [low 1, high 2]"},
        {"2020-01-02,A,1,2,1,0.5,10\n", "line 2, column close"},
        {"2020-01-02,A,1,2,1,1.5,-3\n", "line 2, column volume: volume '-3' is negative"},
        {"2020-01-02,A,0,2,1,1.5,3\n", "line 2, column open: open '0' is not positive"},
        {"2020-01-02,A,1,2,-1,1.5,3\n", "line 2, column low"},
        {"2020-01-02,A,1,2,1,1.5,3\n2020-01-03,B,1,2,1,1.5,3\n2020-01-02,A,1,2,1,1.5,3\n",
         "line 4: a second bar for date 2020-01-02, symbol A (also on line 2)"},
        {"2020-01-02,A,1,,1,1.5,3\n", "line 2, column high: missing high"},
        {"2020-01-02,A,1,2,1,abc,3\n", "line 2, column close: 'abc' is not a number"},
        {"02/01/2020,A,1,2,1,1.5,3\n", "line 2, column date"},
        {"2020-01-02,A,1,2,1,1.5\n", "line 2: 6 fields"},
        {"2020-01-02,,1,2,1,1.5,3\n", "line 2, column symbol: empty symbol"},
        {"", "no bars"},
    };
    char out[512]; /* tmp_path's buffers are reused */
    snprintf(out, sizeof out, "%s", tmp_path("bad.h5"));
    vfr_pack_ohlcv_options opt = {.device = VFR_DEVICE_CPU};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[1024];
        snprintf(text, sizeof text, "%s%s", head, cases[k].body);
        const char *csv = write_text("bad.csv", text);
        CHECK_FAIL(vfr_pack_ohlcv_csv(csv, out, &opt), VFR_ERR_FORMAT, cases[k].needle);
        CHECK(test_mentions(vfr_last_error(), "bad.csv"));
        CHECK(!exists(out));
    }
    /* Missing columns name what is missing; two columns for one role. */
    const char *csv = write_text("nohl.csv", "date,symbol,open,close\n2020-01-02,A,1,1\n");
    CHECK_FAIL(vfr_pack_ohlcv_csv(csv, out, &opt), VFR_ERR_FORMAT,
               "line 1: no column for high, low, volume");
    csv = write_text("twice.csv", "date,ticker,symbol,open,high,low,close,volume\n");
    CHECK_FAIL(vfr_pack_ohlcv_csv(csv, out, &opt), VFR_ERR_FORMAT,
               "columns 2 ('ticker') and 3 ('symbol') both name the symbol");
    CHECK_FAIL(vfr_pack_ohlcv_csv(tmp_path("none.csv"), out, &opt), VFR_ERR_NOT_FOUND, "none.csv");
    /* A file already at out_path survives a failed pack. */
    write_text("keep.h5", "precious");
    csv = write_text("bad2.csv", "date,symbol,open,high,low,close,volume\n2020-01-02,A,1,2,1,3,1\n");
    CHECK_FAIL(vfr_pack_ohlcv_csv(csv, tmp_path("keep.h5"), &opt), VFR_ERR_FORMAT, "outside");
    FILE *f = fopen(tmp_path("keep.h5"), "r");
    char got[16] = {0};
    CHECK(f && fgets(got, sizeof got, f) && strcmp(got, "precious") == 0);
    if (f)
        fclose(f);
}

/* The bundled bars: three real series, Alpha158 computed the same as when
 * called directly. */
static void test_bundled(void)
{
    char dir[1024];
    const char *src = getenv("VFR_SOURCE_DIR");
    snprintf(dir, sizeof dir, "%s/data/ohlcv", src ? src : "..");
    const char *out = tmp_path("bundled.h5");
    vfr_pack_ohlcv_options opt = {.device = VFR_DEVICE_CPU, .threads = 2};
    CHECK_OK(vfr_pack_ohlcv_dir(dir, out, &opt));
    vfr_dataset *ds = NULL;
    CHECK_OK(vfr_dataset_open(out, &ds));
    if (!ds)
        return;
    const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
    CHECK(m->S == 3 && m->F == 158);
    CHECK(m->N == 5031 + 5031 + 2148);
    CHECK(strcmp(m->symbols[0], "GOOG") == 0);
    vfr_dataset_close(ds);
}

int main(void)
{
    test_long();
    test_columns_gzip();
    test_dir();
    test_bad_input();
    test_bundled();
    return test_done("test_pack_ohlcv");
}
