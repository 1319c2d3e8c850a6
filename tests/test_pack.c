/* test_pack.c: CSV -> dataset (pack.h). Small wide and long CSVs written to a
 * temporary folder, packed, and read back through dataset.h: shape, order,
 * values worked by hand. Every bad input must fail with the right status, a
 * message naming the file and the line/column, and no file at out_path. Last,
 * the bundled Dow Jones 30 prices (data/). */
#include <stdint.h>
#include <sys/stat.h>

#include "test_util.h"
#include "vfr/dataset.h"
#include "vfr/features.h"
#include "vfr/pack.h"

static int exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* tmpdir/name; a few live at once, so a small ring of buffers. */
static const char *tmp_path(const char *name)
{
    static char buf[8][512];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", test_tmpdir(), name);
    return p;
}

static const char *write_csv(const char *name, const char *text)
{
    const char *p = tmp_path(name);
    FILE *f = fopen(p, "wb");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(p);
        exit(1);
    }
    return p;
}

static int32_t day(const char *s)
{
    int32_t d = 0;
    CHECK_OK(vfr_date_parse(s, &d));
    return d;
}

static int32_t feature_index(const vfr_dataset_meta *m, const char *name)
{
    for (int32_t f = 0; f < m->F; f++)
        if (strcmp(m->feature_names[f], name) == 0)
            return f;
    return -1;
}

/* ---- wide prices ------------------------------------------------------------ */

/* CRLF, a trailing newline, a missing cell (empty) and an NA; symbols out of
 * name order. IBM has no 2020-01-02 and AAPL no 2020-01-03: each symbol's
 * features and horizons run over its own trading days. */
static const char wide_csv[] = "date,MSFT,AAPL,IBM\r\n"
                               "2020-01-02,10,20,\r\n"
                               "2020-01-03,11,NA,30\r\n"
                               "2020-01-06,12,22,31\r\n"
                               "2020-01-07,13,23,32.5\r\n"
                               "2020-01-08,14,24,33\r\n"
                               "2020-01-09,15,25,34\r\n";

static void test_wide(void)
{
    const char *csv = write_csv("wide.csv", wide_csv);
    const char *out = tmp_path("wide.h5");
    CHECK_OK(vfr_pack_prices_csv(csv, out, NULL));
    vfr_dataset *ds = NULL;
    CHECK_OK(vfr_dataset_open(out, &ds));
    if (!ds)
        return;
    const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
    CHECK(m->N == 16);
    CHECK(m->S == 3);
    CHECK(m->T == 6);
    CHECK(m->F == vfr_features_price_count());
    for (int32_t f = 0; f < m->F && f < vfr_features_price_count(); f++)
        CHECK(strcmp(m->feature_names[f], vfr_features_price_name(f)) == 0);
    CHECK(m->H == 4 && m->horizons[0] == 1 && m->horizons[1] == 5 && m->horizons[2] == 10 &&
          m->horizons[3] == 20);
    CHECK(m->has_close);
    CHECK(strcmp(m->symbols[0], "AAPL") == 0 && strcmp(m->symbols[1], "IBM") == 0 &&
          strcmp(m->symbols[2], "MSFT") == 0);

    /* Rows by date, then symbol in name order, skipping missing prices. */
    static const char *const dates[6] = {"2020-01-02", "2020-01-03", "2020-01-06",
                                         "2020-01-07", "2020-01-08", "2020-01-09"};
    const int want_date[16] = {0, 0, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5};
    const int want_sym[16] = {0, 2, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2};
    const float want_close[16] = {20, 10, 30, 11, 22, 31, 12, 23, 32.5f, 13, 24, 33, 14, 25,
                                  34, 15};
    float close[16], fwd[16 * 4], feat[16 * 64];
    CHECK_OK(vfr_dataset_read_close(ds, 0, 16, close));
    CHECK_OK(vfr_dataset_read_forward_returns(ds, 0, 16, fwd));
    if (m->F <= 64)
        CHECK_OK(vfr_dataset_read_features(ds, 0, 16, feat));
    for (int i = 0; i < 16 && m->N == 16; i++) {
        CHECK(m->date[i] == day(dates[want_date[i]]));
        CHECK(m->symbol[i] == want_sym[i]);
        CHECK(close[i] == want_close[i]);
    }
    /* Forward returns by hand: MSFT 10 -> 11 (h=1), 10 -> 15 (h=5); AAPL's
     * next trading day after 01-02 is 01-06: 20 -> 22; no 10-day horizon. */
    CHECK_NEAR(fwd[1 * 4 + 0], 0.1, 1e-7, 0);
    CHECK_NEAR(fwd[1 * 4 + 1], 0.5, 1e-7, 0);
    CHECK(isnan(fwd[1 * 4 + 2]) && isnan(fwd[1 * 4 + 3]));
    CHECK_NEAR(fwd[0 * 4 + 0], 0.1, 1e-7, 0);
    CHECK_NEAR(fwd[2 * 4 + 0], 31.0 / 30.0 - 1, 1e-7, 0);
    CHECK(isnan(fwd[15 * 4 + 0])); /* last date */
    /* Features: ret_1d of AAPL on 01-06 against its previous close (01-02). */
    int32_t r1 = feature_index(m, "ret_1d");
    CHECK(r1 >= 0);
    if (r1 >= 0 && m->F <= 64) {
        CHECK(isnan(feat[0 * m->F + r1]));
        CHECK_NEAR(feat[4 * m->F + r1], 0.1, 1e-7, 0);
        CHECK_NEAR(feat[3 * m->F + r1], 0.1, 1e-7, 0);      /* MSFT 10 -> 11 */
        CHECK_NEAR(feat[8 * m->F + r1], 32.5 / 31 - 1, 1e-7, 0); /* IBM */
    }
    vfr_dataset_close(ds);

    /* Options: horizons in any order are sorted; no trailing newline. */
    const char *csv2 = write_csv("wide2.csv", "date,A\n2020-01-02,1\n2020-01-03,2\n"
                                              "2020-01-06,3");
    const char *out2 = tmp_path("wide2.h5");
    int32_t hz[2] = {2, 1};
    vfr_pack_options opt = {.horizons = hz, .H = 2, .compression = 0};
    CHECK_OK(vfr_pack_prices_csv(csv2, out2, &opt));
    CHECK_OK(vfr_dataset_open(out2, &ds));
    if (ds) {
        m = vfr_dataset_meta_get(ds);
        CHECK(m->N == 3 && m->H == 2 && m->horizons[0] == 1 && m->horizons[1] == 2);
        float fw[3 * 2];
        CHECK_OK(vfr_dataset_read_forward_returns(ds, 0, 3, fw));
        CHECK_NEAR(fw[0], 1.0, 1e-7, 0);
        CHECK_NEAR(fw[1], 2.0, 1e-7, 0);
        CHECK_NEAR(fw[2], 0.5, 1e-7, 0);
        CHECK(isnan(fw[3]) && isnan(fw[4]) && isnan(fw[5]));
        vfr_dataset_close(ds);
    }
    int32_t bad_hz[2] = {5, 5};
    vfr_pack_options bad = {.horizons = bad_hz, .H = 2, .compression = -1};
    CHECK_FAIL(vfr_pack_prices_csv(csv2, tmp_path("wide3.h5"), &bad), VFR_ERR_INVALID_ARG,
               "horizon 5");
    CHECK(!exists(tmp_path("wide3.h5")));
}

/* ---- long layout ------------------------------------------------------------- */

static void test_long(void)
{
    /* Unsorted rows; an empty cell and a NaN are missing features. */
    const char *csv = write_csv("long.csv", "date,symbol,f1,f2,close\n"
                                            "2020-01-03,BBB,1.5,,20\n"
                                            "2020-01-02,BBB,1,2,10\n"
                                            "2020-01-02,AAA,3,4,5\n"
                                            "2020-01-03,AAA,NaN,6,6\n"
                                            "2020-01-06,AAA,7,8e0,9\n");
    const char *out = tmp_path("long.h5");
    CHECK_OK(vfr_pack_long_csv(csv, out, NULL));
    vfr_dataset *ds = NULL;
    CHECK_OK(vfr_dataset_open(out, &ds));
    if (!ds)
        return;
    const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
    CHECK(m->N == 5 && m->S == 2 && m->F == 2 && m->T == 3 && m->has_close);
    CHECK(m->H == 4 && m->horizons[0] == 1 && m->horizons[3] == 20);
    CHECK(strcmp(m->symbols[0], "AAA") == 0 && strcmp(m->symbols[1], "BBB") == 0);
    CHECK(strcmp(m->feature_names[0], "f1") == 0 && strcmp(m->feature_names[1], "f2") == 0);
    if (m->N == 5 && m->H == 4 && m->F == 2) {
        const char *d[5] = {"2020-01-02", "2020-01-02", "2020-01-03", "2020-01-03",
                            "2020-01-06"};
        const int sym[5] = {0, 1, 0, 1, 0};
        for (int i = 0; i < 5; i++)
            CHECK(m->date[i] == day(d[i]) && m->symbol[i] == sym[i]);
        float feat[10], fwd[20], close[5];
        CHECK_OK(vfr_dataset_read_features(ds, 0, 5, feat));
        CHECK_OK(vfr_dataset_read_forward_returns(ds, 0, 5, fwd));
        CHECK_OK(vfr_dataset_read_close(ds, 0, 5, close));
        CHECK(feat[0] == 3 && feat[1] == 4 && feat[2] == 1 && feat[3] == 2);
        CHECK(isnan(feat[4]) && feat[5] == 6 && feat[6] == 1.5f && isnan(feat[7]));
        CHECK(feat[8] == 7 && feat[9] == 8);
        CHECK(close[0] == 5 && close[1] == 10 && close[2] == 6 && close[3] == 20 &&
              close[4] == 9);
        /* From close, per symbol: AAA 5 -> 6 -> 9, BBB 10 -> 20. */
        CHECK_NEAR(fwd[0 * 4], 0.2, 1e-7, 0);
        CHECK_NEAR(fwd[1 * 4], 1.0, 1e-7, 0);
        CHECK_NEAR(fwd[2 * 4], 0.5, 1e-7, 0);
        CHECK(isnan(fwd[3 * 4]) && isnan(fwd[4 * 4]) && isnan(fwd[0 * 4 + 1]));
    }
    vfr_dataset_close(ds);

    /* Forward returns given, in any column order; no close. */
    csv = write_csv("long2.csv", "date,symbol,forward_return_5d,x,forward_return_1d\r\n"
                                 "2021-03-02,ZZ,0.5,1,0.1\r\n"
                                 "2021-03-01,ZZ,,2,-0.25\r\n");
    out = tmp_path("long2.h5");
    CHECK_OK(vfr_pack_long_csv(csv, out, NULL));
    CHECK_OK(vfr_dataset_open(out, &ds));
    if (ds) {
        m = vfr_dataset_meta_get(ds);
        CHECK(m->N == 2 && m->F == 1 && !m->has_close && m->H == 2 && m->horizons[0] == 1 &&
              m->horizons[1] == 5);
        float fwd[4], x[2];
        CHECK_OK(vfr_dataset_read_forward_returns(ds, 0, 2, fwd));
        CHECK_OK(vfr_dataset_read_features(ds, 0, 2, x));
        CHECK(x[0] == 2 && x[1] == 1);
        CHECK(fwd[0] == -0.25f && isnan(fwd[1]) && fwd[2] == 0.1f && fwd[3] == 0.5f);
        vfr_dataset_close(ds);
    }
}

/* ---- bad input ---------------------------------------------------------------- */

typedef vfr_status (*pack_fn)(const char *, const char *, const vfr_pack_options *);

/* Packs text (or a missing file when text is NULL); must fail with `want`,
 * name the file and each of the needles, and leave nothing at out_path. */
static void check_bad(pack_fn fn, const char *name, const char *text, vfr_status want,
                      const char *needle1, const char *needle2)
{
    const char *csv = text ? write_csv(name, text) : tmp_path(name);
    char out[512];
    snprintf(out, sizeof out, "%s.h5", csv);
    vfr_status st = fn(csv, out, NULL);
    if (st != want) {
        fprintf(stderr, "%s: got %s, want %s (%s)\n", name, vfr_status_str(st),
                vfr_status_str(want), vfr_last_error());
        test_failures++;
        return;
    }
    const char *needles[3] = {csv, needle1, needle2};
    for (int i = 0; i < 3; i++)
        if (needles[i] && !strstr(vfr_last_error(), needles[i])) {
            fprintf(stderr, "%s: error '%s' does not mention '%s'\n", name, vfr_last_error(),
                    needles[i]);
            test_failures++;
        }
    if (exists(out)) {
        fprintf(stderr, "%s: a failed pack left %s\n", name, out);
        test_failures++;
    }
}

static void test_bad_wide(void)
{
    pack_fn p = vfr_pack_prices_csv;
    check_bad(p, "missing.csv", NULL, VFR_ERR_NOT_FOUND, "no such file", NULL);
    check_bad(p, "empty.csv", "", VFR_ERR_FORMAT, "empty", NULL);
    check_bad(p, "blank.csv", "\r\n\n", VFR_ERR_FORMAT, "empty", NULL);
    check_bad(p, "header_only.csv", "date,A,B\n", VFR_ERR_FORMAT, "no data rows", NULL);
    check_bad(p, "no_date.csv", "day,A\n2020-01-02,1\n", VFR_ERR_FORMAT, "line 1", "date");
    check_bad(p, "not_number.csv", "date,A,MSFT\n2020-01-02,1,2\n2020-01-03,1,abc\n",
              VFR_ERR_FORMAT, "line 3, column MSFT", "'abc' is not a number");
    check_bad(p, "trailing_junk.csv", "date,A\n2020-01-02,1.5x\n", VFR_ERR_FORMAT,
              "line 2, column A", "'1.5x'");
    check_bad(p, "inf.csv", "date,A\n2020-01-02,inf\n", VFR_ERR_FORMAT, "line 2, column A",
              "finite");
    check_bad(p, "dup_date.csv",
              "date,A\n2020-01-02,1\n2020-01-03,2\n2020-01-03,3\n2020-01-06,4\n",
              VFR_ERR_FORMAT, "line 4, column date", "duplicate date 2020-01-03 (also on line 3)");
    check_bad(p, "order.csv", "date,A\n2020-01-02,1\n2020-01-06,2\n2020-01-03,3\n",
              VFR_ERR_FORMAT, "line 4, column date", "ascending");
    check_bad(p, "ragged.csv", "date,A,B\n2020-01-02,1,2\n2020-01-03,1\n", VFR_ERR_FORMAT,
              "line 3", "2 fields");
    check_bad(p, "ragged_long.csv", "date,A,B\n2020-01-02,1,2,\n", VFR_ERR_FORMAT, "line 2",
              "4 fields");
    check_bad(p, "zero.csv", "date,A,B\r\n2020-01-02,1,2\r\n2020-01-03,1,0\r\n",
              VFR_ERR_FORMAT, "line 3, column B", "not positive");
    check_bad(p, "negative.csv", "date,A\n2020-01-02,-3.5\n", VFR_ERR_FORMAT,
              "line 2, column A", "not positive");
    check_bad(p, "bad_date.csv", "date,A\n2020-01-02,1\n2020-02-30,1\n", VFR_ERR_FORMAT,
              "line 3, column date", "2020-02-30");
    check_bad(p, "dup_symbol.csv", "date,A,B,A\n2020-01-02,1,2,3\n", VFR_ERR_FORMAT, "line 1",
              "columns 2 and 4");
    check_bad(p, "all_missing.csv", "date,A\n2020-01-02,\n2020-01-03,NA\n", VFR_ERR_FORMAT,
              "no prices", NULL);
    /* Headers of another layout name the right command (issue 14 point 11). */
    check_bad(p, "ohlcv.csv",
              "date,open,high,low,close,volume\n2020-01-02,10,11,9,10.5,1000\n2020-01-03,10.5,12,10,11,900\n",
              VFR_ERR_FORMAT, "line 1: the columns open, high, low, close", "vfr pack --csv");
    check_bad(p, "ohlcv_caps.csv", "Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,1,1,1,1,5\n",
              VFR_ERR_FORMAT, "OHLCV", "long layout");
    check_bad(p, "ohlcv_close_volume.csv", "date,Close,Volume\n2020-01-02,1,5\n", VFR_ERR_FORMAT, "OHLCV",
              "vfr pack --csv");
    check_bad(p, "long.csv", "date,symbol,close\n2020-01-02,A,1\n2020-01-02,B,2\n", VFR_ERR_FORMAT,
              "column 2 is 'symbol'", "vfr pack --csv");
    check_bad(p, "ticker.csv", "date,AAPL,Ticker\n2020-01-02,1,A\n", VFR_ERR_FORMAT, "column 3 is 'Ticker'",
              "vfr pack --csv");
    check_bad(p, "two_dates.csv", "date,AAPL,date,MSFT\n2020-01-02,1,2020-01-02,2\n", VFR_ERR_FORMAT,
              "column 3 is another date column", "vfr pack --csv");
    /* Blank lines still count: the bad cell is on line 4. */
    check_bad(p, "blank_lines.csv", "date,A\n\n2020-01-02,1\n2020-01-03,x\n", VFR_ERR_FORMAT,
              "line 4, column A", NULL);
}

/* Tickers that happen to be OHLCV words (Lowe's LOW, Opendoor OPEN) still pack. */
static void test_ticker_words(void)
{
    const char *csv = write_csv("lowopen.csv", "date,LOW,OPEN,MSFT\n2020-01-02,1,2,3\n2020-01-03,1.1,2.1,3.1\n");
    CHECK_OK(vfr_pack_prices_csv(csv, tmp_path("lowopen.h5"), NULL));
}

static void test_bad_long(void)
{
    pack_fn p = vfr_pack_long_csv;
    check_bad(p, "l_missing.csv", NULL, VFR_ERR_NOT_FOUND, "no such file", NULL);
    check_bad(p, "l_empty.csv", "", VFR_ERR_FORMAT, "empty", NULL);
    check_bad(p, "l_header.csv", "date,ticker,f\n2020-01-02,A,1\n", VFR_ERR_FORMAT, "line 1",
              "symbol");
    check_bad(p, "l_nofeat.csv", "date,symbol,close\n2020-01-02,A,1\n", VFR_ERR_FORMAT,
              "line 1", "no feature columns");
    check_bad(p, "l_dup.csv",
              "date,symbol,f\n2020-01-02,A,1\n2020-01-02,B,1\n2020-01-03,A,1\n2020-01-02,A,2\n",
              VFR_ERR_FORMAT, "line 5", "also on line 2");
    check_bad(p, "l_not_number.csv", "date,symbol,f,mom\n2020-01-02,A,1,2\n2020-01-02,B,1,?\n",
              VFR_ERR_FORMAT, "line 3, column mom", "'?' is not a number");
    check_bad(p, "l_ragged.csv", "date,symbol,f\n2020-01-02,A,1\n2020-01-02,B\n",
              VFR_ERR_FORMAT, "line 3", "2 fields");
    check_bad(p, "l_close.csv", "date,symbol,f,close\n2020-01-02,A,1,0\n", VFR_ERR_FORMAT,
              "line 2, column close", "not positive");
    check_bad(p, "l_date.csv", "date,symbol,f\n2020-1-2,A,1\n", VFR_ERR_FORMAT,
              "line 2, column date", "2020-1-2");
    check_bad(p, "l_symbol.csv", "date,symbol,f\n2020-01-02,,1\n", VFR_ERR_FORMAT,
              "line 2, column symbol", NULL);
    check_bad(p, "l_dupcol.csv", "date,symbol,f,close,f\n2020-01-02,A,1,2,3\n", VFR_ERR_FORMAT,
              "columns 3 and 5", NULL);
    check_bad(p, "l_dupfwd.csv",
              "date,symbol,f,forward_return_1d,forward_return_1d\n2020-01-02,A,1,2,3\n",
              VFR_ERR_FORMAT, "columns 4 and 5", NULL);
}

/* Numbers on the fast path must equal strtod's, rounded to float. */
static void test_numbers(void)
{
    static const char *const cells[] = {"0.1",        "123.456789", "1e-3",  "+7",
                                        "3.",         ".25",        "1234567.891",
                                        "0.30000000000000004", "99999999999999.9",
                                        "1.17549435e-38", "6.02214076e23"};
    enum { NC = sizeof cells / sizeof cells[0] };
    char text[1024] = "date,symbol,v\n";
    for (int i = 0; i < NC; i++) {
        size_t n = strlen(text);
        snprintf(text + n, sizeof text - n, "2020-01-%02d,A,%s\n", i + 1, cells[i]);
    }
    const char *csv = write_csv("numbers.csv", text);
    const char *out = tmp_path("numbers.h5");
    CHECK_OK(vfr_pack_long_csv(csv, out, NULL));
    vfr_dataset *ds = NULL;
    CHECK_OK(vfr_dataset_open(out, &ds));
    if (!ds)
        return;
    float v[NC];
    CHECK(vfr_dataset_meta_get(ds)->N == NC);
    CHECK_OK(vfr_dataset_read_features(ds, 0, NC, v));
    for (int i = 0; i < NC; i++)
        if (v[i] != (float)strtod(cells[i], NULL)) {
            fprintf(stderr, "'%s' packed as %.9g, strtod gives %.9g\n", cells[i], v[i],
                    (double)(float)strtod(cells[i], NULL));
            test_failures++;
        }
    vfr_dataset_close(ds);
}

/* ---- the bundled Dow Jones 30 ------------------------------------------------------ */

typedef struct progress_log {
    int calls;
    int monotone;
    double last, total;
} progress_log;

static void on_progress(void *user, const char *step, double done, double total)
{
    progress_log *p = user;
    p->calls++;
    if (strcmp(step, "pack") != 0 || done < p->last || done > total)
        p->monotone = 0;
    p->last = done;
    p->total = total;
}

static void test_dowjones(void)
{
    const char *src = getenv("VFR_SOURCE_DIR");
    char csv[1024];
    snprintf(csv, sizeof csv, "%s/data/dowjones30_1990-2001_daily_close.csv", src ? src : ".");
    if (!exists(csv)) {
        fprintf(stderr, "missing %s\n", csv);
        test_failures++;
        return;
    }
    const char *out = tmp_path("dj30.h5");
    progress_log pl = {0, 1, 0, 0};
    vfr_reporter rep = {.progress = on_progress, .user = &pl};
    vfr_pack_options opt = {.compression = -1, .reporter = &rep};
    CHECK_OK(vfr_pack_prices_csv(csv, out, &opt));
    CHECK(pl.calls >= 3 && pl.monotone && pl.last == pl.total);

    vfr_dataset *ds = NULL;
    CHECK_OK(vfr_dataset_open(out, &ds));
    if (!ds)
        return;
    const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
    enum { S = 30, T = 2529 };
    CHECK(m->S == S);
    CHECK(m->T == T);
    CHECK(m->N == (int64_t)S * T); /* no missing prices in this file */
    CHECK(m->F >= 20);
    CHECK(m->H == 4 && m->horizons[0] == 1 && m->horizons[1] == 5 && m->horizons[2] == 10 &&
          m->horizons[3] == 20);
    CHECK(m->has_close);
    CHECK(m->date_first == day("1990-12-31") && m->date_last == day("2001-01-02"));
    CHECK(strcmp(m->symbols[0], "AA") == 0);
    for (int32_t s = 1; s < m->S; s++)
        CHECK(strcmp(m->symbols[s - 1], m->symbols[s]) < 0);
    if (m->N != (int64_t)S * T || m->H != 4) {
        vfr_dataset_close(ds);
        return;
    }
    float *close = malloc(sizeof(float) * S * T), *fwd = malloc(sizeof(float) * S * T * 4);
    CHECK_OK(vfr_dataset_read_close(ds, 0, m->N, close));
    CHECK_OK(vfr_dataset_read_forward_returns(ds, 0, m->N, fwd));
    /* First row of the file: AA 5.92, MSFT 2.08, DIS 7.86. */
    int32_t msft = vfr_dataset_symbol_index(ds, "MSFT"), dis = vfr_dataset_symbol_index(ds, "DIS");
    CHECK(close[0] == 5.92f && msft >= 0 && close[msft] == 2.08f && dis >= 0 &&
          close[dis] == 7.86f);
    /* Every row is (date t, symbol s) at t*S + s; forward returns agree with close. */
    int bad = 0;
    for (int64_t t = 0; t < T; t++)
        for (int s = 0; s < S; s++) {
            int64_t i = t * S + s;
            if (m->symbol[i] != s || (t > 0 && m->date[i] <= m->date[i - S]))
                bad++;
            for (int k = 0; k < 4; k++) {
                int64_t u = t + m->horizons[k];
                float got = fwd[i * 4 + k];
                if (u >= T ? !isnan(got)
                           : !(fabs(got - ((double)close[u * S + s] / close[i] - 1)) <= 1e-6))
                    bad++;
            }
        }
    CHECK(bad == 0);
    /* quality columns from the prices (pack_quality.c): the file's runs of
     * repeated closes while the market moved are stale; no bad prints */
    CHECK(m->quality_mask == (1u << VFR_QUALITY_FRESHNESS | 1u << VFR_QUALITY_RELIABILITY));
    float *qf = malloc(sizeof(float) * S * T), *qr = malloc(sizeof(float) * S * T);
    CHECK_OK(vfr_dataset_read_quality(ds, VFR_QUALITY_FRESHNESS, 0, m->N, qf));
    CHECK_OK(vfr_dataset_read_quality(ds, VFR_QUALITY_RELIABILITY, 0, m->N, qr));
    int64_t stale = 0, spikes = 0, stale_moved = 0;
    for (int64_t i = 0; i < m->N; i++) {
        stale += qf[i] == 0.0f;
        spikes += qr[i] == 0.0f;
        stale_moved += qf[i] == 0.0f && i >= S && close[i] != close[i - S]; /* a stale close repeats */
    }
    fprintf(stderr, "dow jones: %lld stale closes, %lld spikes\n", (long long)stale, (long long)spikes);
    CHECK(stale == 337 && spikes == 0 && stale_moved == 0);
    free(qf);
    free(qr);
    free(close);
    free(fwd);
    vfr_dataset_close(ds);
}

int main(void)
{
    test_wide();
    test_long();
    test_bad_wide();
    test_ticker_words();
    test_bad_long();
    test_numbers();
    test_dowjones();
    return test_done("test_pack");
}
