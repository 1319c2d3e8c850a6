/* pack.c: CSV (wide close prices, or long features) -> vfr dataset file. Wide
 * prices also get freshness and reliability columns (pack_quality.c).
 *
 * The file is read whole with fread and split in place: lines and fields are
 * cut with NULs and numbers parsed where they lie, so a long CSV of millions
 * of rows costs one pass and no per-cell allocation. Not a general CSV reader:
 * no quoted commas or embedded newlines. Every error names the file, the line
 * (1-based, as an editor shows it) and the column where there is one. Rows go
 * to dataset.h's writer, which renames into place only on success. */
#include "vfr/pack.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vfr/dataset.h"
#include "vfr/features.h"
#include "pack_internal.h"

enum { DEFAULT_COMPRESSION = 4, APPEND_ROWS = 65536, PROGRESS_LINES = 65536 };
static const int32_t default_horizons[] = {1, 5, 10, 20};

/* ---- options ------------------------------------------------------------ */

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

vfr_status opts_resolve(const vfr_pack_options *opt, pack_opts *o)
{
    const int32_t *h = default_horizons;
    int32_t H = (int32_t)(sizeof default_horizons / sizeof default_horizons[0]);
    o->horizons = NULL;
    o->compression = DEFAULT_COMPRESSION;
    o->rep = NULL;
    if (opt) {
        if (opt->horizons) {
            if (opt->H < 0)
                return vfr_fail(VFR_ERR_INVALID_ARG, "pack: H = %d is negative", (int)opt->H);
            h = opt->horizons;
            H = opt->H;
        }
        if (opt->compression > 9)
            return vfr_fail(VFR_ERR_INVALID_ARG, "pack: compression %d is not in 0..9",
                            opt->compression);
        if (opt->compression >= 0)
            o->compression = opt->compression;
        o->rep = opt->reporter;
    }
    o->H = H;
    o->horizons = malloc(((size_t)H + 1) * sizeof *o->horizons);
    if (!o->horizons)
        return vfr_fail(VFR_ERR_NOMEM, "pack: out of memory");
    if (H > 0)
        memcpy(o->horizons, h, (size_t)H * sizeof *h);
    qsort(o->horizons, (size_t)H, sizeof *o->horizons, cmp_i32);
    for (int32_t k = 0; k < H; k++) {
        if (o->horizons[k] <= 0)
            return vfr_fail(VFR_ERR_INVALID_ARG, "pack: horizon %d is not positive",
                            (int)o->horizons[k]);
        if (k > 0 && o->horizons[k] == o->horizons[k - 1])
            return vfr_fail(VFR_ERR_INVALID_ARG, "pack: horizon %d is given twice",
                            (int)o->horizons[k]);
    }
    return VFR_OK;
}

/* ---- the file in memory -------------------------------------------------- */

vfr_status csv_read(const char *path, csv *f)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    vfr_status st = VFR_OK;
    FILE *fp = vfri_fopen_regular(path);
    if (!fp) {
        if (errno == ENOENT)
            return vfr_fail(VFR_ERR_NOT_FOUND, "%s: no such file", path);
        if (errno == EINVAL) /* a FIFO or device could block forever */
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s: not a regular file", path);
        return vfr_fail(VFR_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    /* A regular file's size, so that a large file is allocated once; the
     * loop below grows the buffer for anything else (a pipe). */
    size_t cap = 1 << 16;
    struct stat sb;
    if (fstat(fileno(fp), &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) {
            st = vfr_fail(VFR_ERR_IO, "%s: is a directory, not a CSV file", path);
            goto fail;
        }
        if (S_ISREG(sb.st_mode))
            cap = (size_t)sb.st_size + 2; /* the NUL, and a byte to see EOF in one read */
    }
    f->buf = malloc(cap);
    if (!f->buf) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, cap);
        goto fail;
    }
    for (;;) {
        f->len += fread(f->buf + f->len, 1, cap - 1 - f->len, fp);
        if (ferror(fp)) {
            st = vfr_fail(VFR_ERR_IO, "%s: read error: %s", path, strerror(errno));
            goto fail;
        }
        if (feof(fp))
            break;
        if (f->len + 1 == cap) {
            char *nb = realloc(f->buf, cap * 2);
            if (!nb) {
                st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory reading the file", path);
                goto fail;
            }
            f->buf = nb;
            cap *= 2;
        }
    }
    f->buf[f->len] = '\0';
    if (memchr(f->buf, '\0', f->len)) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: contains NUL bytes; not a CSV text file", path);
        goto fail;
    }
    /* A UTF-8 byte order mark, as spreadsheet exports write. */
    if (f->len >= 3 && memcmp(f->buf, "\xEF\xBB\xBF", 3) == 0)
        f->pos = 3;
    fclose(fp);
    return VFR_OK;
fail:
    fclose(fp);
    free(f->buf);
    f->buf = NULL;
    return st;
}

/* Next line, NUL-terminated in place without its "\n" or "\r\n", or NULL at
 * the end. Blank lines (a trailing newline, a gap) are skipped but counted. */
char *csv_next_line(csv *f)
{
    while (f->pos < f->len) {
        char *s = f->buf + f->pos;
        char *nl = memchr(s, '\n', f->len - f->pos);
        char *e = nl ? nl : f->buf + f->len;
        f->pos = nl ? (size_t)(nl - f->buf) + 1 : f->len;
        f->line++;
        if (e > s && e[-1] == '\r')
            e--;
        *e = '\0';
        if (e > s)
            return s;
    }
    return NULL;
}

/* Upper bound on the data lines left: the newlines from here, plus one. */
int64_t csv_lines_left(const csv *f)
{
    int64_t n = 1;
    for (const char *p = f->buf + f->pos; (p = memchr(p, '\n', (size_t)(f->buf + f->len - p)));
         p++)
        n++;
    return n;
}

/* "path: line L, column C: msg" as a FORMAT error; column may be NULL. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
vfr_status csv_fail(const csv *f, const char *column, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (column)
        return vfr_fail(VFR_ERR_FORMAT, "%s: line %lld, column %s: %s", f->path,
                        (long long)f->line, column, msg);
    return vfr_fail(VFR_ERR_FORMAT, "%s: line %lld: %s", f->path, (long long)f->line, msg);
}

/* Strips blanks and one pair of enclosing double quotes from [s, e). */
static char *trim(char *s, char *e)
{
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if (e - s >= 2 && *s == '"' && e[-1] == '"') {
        s++;
        e--;
    }
    *e = '\0';
    return s;
}

/* Cuts a line at its commas in place. Stores the first cap fields (trimmed)
 * and returns how many there are. */
int64_t split_fields(char *s, char **fields, int64_t cap)
{
    int64_t n = 0;
    for (;;) {
        char *comma = strchr(s, ',');
        char *e = comma ? comma : s + strlen(s);
        if (n < cap)
            fields[n] = trim(s, e);
        n++;
        if (!comma)
            return n;
        s = comma + 1;
    }
}

/* ---- numbers ------------------------------------------------------------ */

int lower_eq(const char *s, const char *lower)
{
    for (; *s && *lower; s++, lower++) {
        char c = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;
        if (c != *lower)
            return 0;
    }
    return *s == *lower;
}

/* Plain decimals ("123.45", "-0.5") with at most 15 digits: the digits make an
 * exact integer below 2^53 and 10^k (k <= 22) is exact, so one IEEE division
 * gives the correctly rounded value, the same as strtod, much faster. */
static int fast_decimal(const char *s, double *v)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    int neg = 0, digits = 0, frac = -1;
    uint64_t m = 0;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    for (;; s++) {
        if (*s >= '0' && *s <= '9') {
            if (++digits > 15)
                return 0;
            m = m * 10 + (uint64_t)(*s - '0');
            if (frac >= 0)
                frac++;
        } else if (*s == '.' && frac < 0) {
            frac = 0;
        } else {
            break;
        }
    }
    if (*s || digits == 0)
        return 0;
    double x = (double)m;
    if (frac > 0)
        x /= p10[frac];
    *v = neg ? -x : x;
    return 1;
}

int parse_cell(const char *s, double *v)
{
    *v = NAN;
    if (!*s || lower_eq(s, "na") || lower_eq(s, "nan") || lower_eq(s, "n/a") ||
        lower_eq(s, "#n/a") || lower_eq(s, "null"))
        return CELL_MISSING;
    if (fast_decimal(s, v))
        return CELL_NUMBER;
    char *end;
    double x = strtod(s, &end);
    if (end == s || *end)
        return CELL_NOT_NUMBER;
    if (!isfinite(x))
        return CELL_NOT_FINITE;
    *v = x;
    return CELL_NUMBER;
}

/* Parses one cell of a column; missing cells give NaN. Prices (positive = 1)
 * must be > 0. */
static vfr_status cell_value(const csv *f, const char *column, const char *s, int positive,
                             double *v)
{
    switch (parse_cell(s, v)) {
    case CELL_NOT_NUMBER:
        return csv_fail(f, column, "'%.40s' is not a number", s);
    case CELL_NOT_FINITE:
        return csv_fail(f, column, "'%.40s' is not a finite number", s);
    case CELL_NUMBER:
        if (positive && !(*v > 0.0))
            return csv_fail(f, column, "price '%.40s' is not positive", s);
        /* Stored as float32: it must stay finite, and a price above 0. */
        if (fabs(*v) > 3.4028234663852886e38)
            return csv_fail(f, column, "'%.40s' is too large for float32", s);
        if (positive && (float)*v <= 0.0f)
            return csv_fail(f, column, "price '%.40s' is too small for float32", s);
        break;
    default:
        break;
    }
    return VFR_OK;
}

vfr_status cell_date(const csv *f, const char *s, int32_t *days)
{
    if (vfr_date_parse(s, days) != VFR_OK)
        return csv_fail(f, "date", "'%.40s' is not a date (want YYYY-MM-DD)", s);
    return VFR_OK;
}

/* Reads the header line into fields (owned array of pointers into the buffer). */
vfr_status read_header(csv *f, const char *want, char ***fields, int64_t *n)
{
    *fields = NULL;
    *n = 0;
    char *line = csv_next_line(f);
    if (!line) {
        f->line = 1;
        return csv_fail(f, NULL, "file is empty; expected a header `%s`", want);
    }
    int64_t cap = 1;
    for (const char *p = line; (p = strchr(p, ',')); p++)
        cap++;
    *fields = malloc((size_t)cap * sizeof **fields);
    if (!*fields)
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory for %lld columns", f->path,
                        (long long)cap);
    *n = split_fields(line, *fields, cap);
    return VFR_OK;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(**(const char *const *const *)a, **(const char *const *const *)b);
}

/* order[k] = index (into names) of the k-th name in strcmp order. Fails on a
 * repeated name, naming both header columns (col[i]: 1-based column of names[i]). */
vfr_status sort_names(const csv *f, const char *const *names, int64_t n,
                             const int64_t *col, const char *what, int32_t *order)
{
    vfr_status st = VFR_OK;
    const char *const **p = malloc(((size_t)n + 1) * sizeof *p);
    if (!p)
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", f->path);
    for (int64_t i = 0; i < n; i++)
        p[i] = &names[i];
    qsort(p, (size_t)n, sizeof *p, cmp_str_ptr);
    for (int64_t k = 0; k < n; k++) {
        order[k] = (int32_t)(p[k] - names);
        if (k > 0 && col && strcmp(*p[k], *p[k - 1]) == 0) {
            int64_t a = col[p[k - 1] - names], b = col[p[k] - names];
            st = csv_fail(f, NULL, "%s '%.60s' appears twice, in columns %lld and %lld", what,
                          *p[k], (long long)(a < b ? a : b), (long long)(a < b ? b : a));
            break;
        }
    }
    free(p);
    return st;
}

/* Progress in percent: parsing 0-50, features/sorting 50-60, writing 60-100. */
void progress(const pack_opts *o, double done)
{
    vfr_report_progress(o->rep, "pack", done, 100.0);
}

/* Opens a writer, appends blocks, commits; aborts on any failure so that
 * nothing is left at out_path. Shared by both layouts. */

vfr_status write_rows(const char *out_path, const vfr_dataset_spec *spec, const rows *r,
                             const pack_opts *o, double p0)
{
    vfr_status st = VFR_OK;
    vfr_dataset_writer *w = NULL;
    int64_t B = r->N < APPEND_ROWS ? r->N : APPEND_ROWS;
    int32_t F = spec->F, H = spec->H;
    int32_t *bd = NULL, *bs = NULL;
    float *bf = NULL, *bc = NULL;
    if (r->perm) {
        bd = malloc(((size_t)B + 1) * sizeof *bd);
        bs = malloc(((size_t)B + 1) * sizeof *bs);
        bf = malloc(((size_t)B * (size_t)F + 1) * sizeof *bf);
        bc = malloc(((size_t)B + 1) * sizeof *bc);
        if (!bd || !bs || !bf || !bc) {
            st = vfr_fail(VFR_ERR_NOMEM, "pack: out of memory for a block of %lld rows",
                          (long long)B);
            goto fail;
        }
    }
    VFR_TRY(vfr_dataset_writer_open(out_path, spec, &w));
    for (int64_t r0 = 0; r0 < r->N; r0 += B) {
        int64_t n = r->N - r0 < B ? r->N - r0 : B;
        const int32_t *d, *s;
        const float *feat, *cl;
        const float *qb[VFR_QUALITY_COUNT] = {0};
        if (r->perm) {
            for (int64_t i = 0; i < n; i++) {
                int64_t j = r->perm[r0 + i];
                bd[i] = r->src_date[j];
                bs[i] = r->src_symbol[j];
                memcpy(bf + i * F, r->src_features + j * F, (size_t)F * sizeof *bf);
                bc[i] = r->src_close ? r->src_close[j] : NAN;
            }
            d = bd, s = bs, feat = bf, cl = spec->has_close ? bc : NULL;
        } else {
            d = r->date + r0, s = r->symbol + r0, feat = r->features + r0 * F;
            cl = spec->has_close ? r->close + r0 : NULL;
            for (int q = 0; r->quality && q < VFR_QUALITY_COUNT; q++)
                qb[q] = r->quality[q] ? r->quality[q] + r0 : NULL;
        }
        VFR_TRY(vfr_dataset_writer_append(w, n, d, s, feat, H ? r->fwd + r0 * H : NULL, cl,
                                          spec->quality_mask ? qb : NULL));
        progress(o, p0 + (100.0 - p0) * (double)(r0 + n) / (double)r->N);
    }
    st = vfr_dataset_writer_commit(w); /* frees w whatever the outcome */
    w = NULL;
fail:
    vfr_dataset_writer_abort(w);
    free(bd);
    free(bs);
    free(bf);
    free(bc);
    return st;
}

/* ---- wide close prices ---------------------------------------------------- */

/* A wide-prices header (date,SYM1,SYM2,...) whose columns name another layout
 * is refused before any row is read: a long OHLCV file would otherwise make
 * "symbols" of open/high/low/close/volume and train on them. Refused: a
 * symbol or ticker column (a long panel), a second date column (files pasted
 * side by side), or two or more OHLCV column names of which one is close,
 * adjusted close or volume (so that tickers such as LOW or OPEN alone pass). */
static vfr_status sniff_wide_header(const csv *f, char *const *head, int64_t ncol)
{
    static const char *const ohlcv[] = {"open", "high", "low", "close", "volume", "adj close",
                                        "adj_close", "adjclose", "adjusted_close", "vwap"};
    const char *seen[4] = {0};
    int n_ohlcv = 0, anchor = 0;
    for (int64_t j = 1; j < ncol; j++) {
        const char *h = head[j];
        if (lower_eq(h, "date") || lower_eq(h, "datetime") || lower_eq(h, "timestamp"))
            return csv_fail(f, NULL,
                            "column %lld is another date column ('%.40s'): a wide-prices file has one date "
                            "column, then one close-price column per symbol (date,SYM1,SYM2,...); join the "
                            "files on date first, or use `vfr pack --csv` with the long layout "
                            "(date,symbol,<features>[,close])",
                            (long long)j + 1, h);
        if (lower_eq(h, "symbol") || lower_eq(h, "ticker"))
            return csv_fail(f, NULL,
                            "column %lld is '%.40s': this looks like a long file (one row per date and "
                            "symbol), not wide close prices (date,SYM1,SYM2,...); pack it with `vfr pack "
                            "--csv` (header date,symbol,<features>[,close])",
                            (long long)j + 1, h);
        for (size_t k = 0; k < sizeof ohlcv / sizeof *ohlcv; k++)
            if (lower_eq(h, ohlcv[k])) {
                if (n_ohlcv < 4)
                    seen[n_ohlcv] = h;
                n_ohlcv++;
                anchor |= k == 3 || k == 4 || (k >= 5 && k <= 8);
            }
    }
    if (n_ohlcv >= 2 && anchor)
        return csv_fail(f, NULL,
                        "the columns %s%s%s%s%s%s%s are open/high/low/close/volume: this looks like an OHLCV "
                        "file, not wide close prices (date,SYM1,SYM2,... one close column per symbol), and "
                        "packing it would make symbols of those columns. Pack OHLCV panels with `vfr pack "
                        "--csv`, which needs the long layout: date,symbol,<features>[,close] (add a symbol "
                        "column for a single series)",
                        seen[0], n_ohlcv > 1 ? ", " : "", n_ohlcv > 1 ? seen[1] : "", n_ohlcv > 2 ? ", " : "",
                        n_ohlcv > 2 ? seen[2] : "", n_ohlcv > 3 ? ", " : "", n_ohlcv > 3 ? seen[3] : "");
    return VFR_OK;
}

/* The wide file's data lines: dates ascending, one price (or an empty cell,
 * NaN) per symbol. OUT px [S, Tcap] (symbol-major), dates [Tcap], *T dates
 * read, *N prices present. cells: scratch [ncol]. */
static vfr_status read_wide_prices(csv *f, const char *csv_path, const pack_opts *o, const char *const *sym,
                                   int32_t S, int64_t ncol, int64_t Tcap, char **cells, float *px, int32_t *dates,
                                   int64_t *T_out, int64_t *N_out)
{
    int64_t T = 0, N = 0, prev_line = 0;
    vfr_status st = VFR_OK;
    for (char *line; (line = csv_next_line(f));) {
        int64_t n = split_fields(line, cells, ncol);
        if (n != ncol)
            return csv_fail(f, NULL, "%lld fields, but the header (line 1) has %lld", (long long)n,
                            (long long)ncol);
        int32_t d;
        if ((st = cell_date(f, cells[0], &d)) != VFR_OK)
            return st;
        if (T > 0 && d <= dates[T - 1]) {
            char prev[11];
            vfr_date_format(dates[T - 1], prev);
            if (d == dates[T - 1])
                st = csv_fail(f, "date", "duplicate date %s (also on line %lld)", cells[0],
                              (long long)prev_line);
            else
                st = csv_fail(f, "date",
                              "date %s is earlier than %s on line %lld; dates must be ascending",
                              cells[0], prev, (long long)prev_line);
            return st;
        }
        dates[T] = d;
        prev_line = f->line;
        for (int32_t s = 0; s < S; s++) {
            double v;
            if ((st = cell_value(f, sym[s], cells[s + 1], 1, &v)) != VFR_OK)
                return st;
            px[(size_t)s * Tcap + T] = (float)v;
            N += !isnan(v);
        }
        T++;
        if (T % PROGRESS_LINES == 0)
            progress(o, 50.0 * (double)f->pos / (double)f->len);
    }
    if (T == 0)
        return vfr_fail(VFR_ERR_FORMAT, "%s: no data rows after the header", csv_path);
    if (N == 0)
        return vfr_fail(VFR_ERR_FORMAT, "%s: no prices: every cell is empty", csv_path);
    *T_out = T;
    *N_out = N;
    return VFR_OK;
}

/* Each symbol's rows of the wide panel, in (date, symbol name) order: its
 * price features and forward returns over its own trading days (a series
 * skips its missing dates), its close and quality flags. IN px, pf, pr
 * [S, Tcap]; order [S]: symbols by name; row_start [T + 1]: first row of each
 * date. OUT row_date, row_sym, close, fresh, rel [N]; feat [N, F]; fwd [N, H]. */
static vfr_status wide_rows(const char *csv_path, const pack_opts *o, const float *px, const float *pf,
                            const float *pr, int64_t Tcap, int64_t T, int32_t S, const int32_t *order,
                            const int32_t *dates, const int64_t *row_start, int32_t *row_date, int32_t *row_sym,
                            float *close, float *fresh, float *rel, float *feat, float *fwd)
{
    const int32_t F = vfr_features_price_count(), H = o->H;
    vfr_status st = VFR_OK;
    int64_t *fill = calloc((size_t)T, sizeof *fill);
    float *c = malloc((size_t)T * sizeof *c);
    int32_t *tt = malloc((size_t)T * sizeof *tt);
    float *tf = malloc((size_t)T * (size_t)F * sizeof *tf);
    float *th = malloc(((size_t)T * (size_t)H + 1) * sizeof *th);
    if (!fill || !c || !tt || !tf || !th) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory for %lld dates x %d features", csv_path, (long long)T,
                      (int)F);
        goto fail;
    }
    for (int32_t k = 0; k < S; k++) {
        const float *p = px + (size_t)order[k] * Tcap;
        int64_t n = 0;
        for (int64_t t = 0; t < T; t++)
            if (!isnan(p[t])) {
                c[n] = p[t];
                tt[n++] = (int32_t)t;
            }
        /* A symbol's series skips its missing dates: its features and
         * horizons count its own trading days. */
        VFR_TRY(vfr_features_price_cpu(c, n, tf, F));
        vfr_features_forward_returns(c, n, o->horizons, H, th, H);
        for (int64_t i = 0; i < n; i++) {
            int32_t t = tt[i];
            int64_t row = row_start[t] + fill[t]++;
            row_date[row] = dates[t];
            row_sym[row] = k;
            close[row] = c[i];
            fresh[row] = pf[(size_t)order[k] * Tcap + t];
            rel[row] = pr[(size_t)order[k] * Tcap + t];
            memcpy(feat + row * F, tf + i * F, (size_t)F * sizeof *feat);
            if (H)
                memcpy(fwd + row * H, th + i * H, (size_t)H * sizeof *fwd);
        }
        progress(o, 50.0 + 10.0 * (double)(k + 1) / S);
    }
fail:
    free(fill), free(c), free(tt), free(tf), free(th);
    return st;
}

vfr_status vfr_pack_prices_csv(const char *csv_path, const char *out_path,
                               const vfr_pack_options *opt)
{
    if (!csv_path || !out_path)
        return vfr_fail(VFR_ERR_INVALID_ARG, "pack: csv_path and out_path are required");
    vfr_status st = VFR_OK;
    pack_opts o = {0};
    csv f = {0};
    char **head = NULL, **cells = NULL;
    int32_t *order = NULL, *dates = NULL, *row_date = NULL, *row_sym = NULL;
    int64_t *row_start = NULL, *col = NULL;
    float *px = NULL, *feat = NULL, *fwd = NULL, *close = NULL;
    float *pf = NULL, *pr = NULL, *fresh = NULL, *rel = NULL; /* [S, Tcap] and [N] */
    const char **names = NULL, **sorted = NULL;
    const int32_t F = vfr_features_price_count();

    VFR_TRY(opts_resolve(opt, &o));
    const int32_t H = o.H;
    VFR_TRY(csv_read(csv_path, &f));
    progress(&o, 0.0);

    int64_t ncol;
    VFR_TRY(read_header(&f, "date,SYM1,SYM2,...", &head, &ncol));
    if (ncol < 2 || !lower_eq(head[0], "date")) {
        st = csv_fail(&f, NULL, "expected a header `date,SYM1,SYM2,...`, found '%.60s%s'",
                      head[0], ncol > 1 ? ",..." : "");
        goto fail;
    }
    if (ncol - 1 > INT32_MAX) {
        st = csv_fail(&f, NULL, "too many columns (%lld)", (long long)ncol);
        goto fail;
    }
    VFR_TRY(sniff_wide_header(&f, head, ncol));
    const int32_t S = (int32_t)(ncol - 1);
    const char *const *sym = (const char *const *)head + 1;
    for (int32_t s = 0; s < S; s++)
        if (!*sym[s]) {
            st = csv_fail(&f, NULL, "column %d has no symbol name", (int)s + 2);
            goto fail;
        }
    order = malloc((size_t)S * sizeof *order);
    col = malloc((size_t)S * sizeof *col);
    if (!order || !col) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", csv_path);
        goto fail;
    }
    for (int32_t s = 0; s < S; s++)
        col[s] = s + 2;
    VFR_TRY(sort_names(&f, sym, S, col, "symbol", order));

    /* Prices [S, Tcap], one symbol's series contiguous; NaN = missing. */
    const int64_t Tcap = csv_lines_left(&f);
    px = malloc((size_t)S * (size_t)Tcap * sizeof *px);
    dates = malloc((size_t)Tcap * sizeof *dates);
    cells = malloc((size_t)ncol * sizeof *cells);
    if (!px || !dates || !cells) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory for %lld x %d prices", csv_path,
                      (long long)Tcap, (int)S);
        goto fail;
    }
    int64_t T = 0, N = 0;
    VFR_TRY(read_wide_prices(&f, csv_path, &o, sym, S, ncol, Tcap, cells, px, dates, &T, &N));
    progress(&o, 50.0);
    pf = malloc((size_t)S * (size_t)Tcap * sizeof *pf);
    pr = malloc((size_t)S * (size_t)Tcap * sizeof *pr);
    if (!pf || !pr) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory for %lld x %d quality flags", csv_path, (long long)T, (int)S);
        goto fail;
    }
    VFR_TRY(vfr_pack_price_quality(px, S, T, Tcap, pf, pr));

    /* Row of (date t, k-th symbol in name order): rows before date t, plus the
     * symbols before it on that date. Walking symbols in name order and
     * counting per date gives exactly that. */
    row_start = calloc((size_t)T + 1, sizeof *row_start);
    feat = malloc((size_t)N * (size_t)F * sizeof *feat);
    fwd = malloc(((size_t)N * (size_t)H + 1) * sizeof *fwd);
    close = malloc((size_t)N * sizeof *close);
    fresh = malloc((size_t)N * sizeof *fresh);
    rel = malloc((size_t)N * sizeof *rel);
    row_date = malloc((size_t)N * sizeof *row_date);
    row_sym = malloc((size_t)N * sizeof *row_sym);
    if (!row_start || !feat || !fwd || !close || !fresh || !rel || !row_date || !row_sym) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory for %lld rows x %d features", csv_path,
                      (long long)N, (int)F);
        goto fail;
    }
    for (int32_t s = 0; s < S; s++)
        for (int64_t t = 0; t < T; t++)
            row_start[t + 1] += !isnan(px[(size_t)s * Tcap + t]);
    for (int64_t t = 0; t < T; t++)
        row_start[t + 1] += row_start[t];

    VFR_TRY(wide_rows(csv_path, &o, px, pf, pr, Tcap, T, S, order, dates, row_start, row_date, row_sym, close, fresh,
                      rel, feat, fwd));

    names = malloc((size_t)F * sizeof *names);
    sorted = malloc((size_t)S * sizeof *sorted);
    if (!names || !sorted) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", csv_path);
        goto fail;
    }
    for (int32_t i = 0; i < F; i++)
        names[i] = vfr_features_price_name(i);
    for (int32_t k = 0; k < S; k++)
        sorted[k] = sym[order[k]];
    vfr_dataset_spec spec = {.F = F, .feature_names = names, .S = S, .symbols = sorted,
                             .H = H, .horizons = o.horizons, .has_close = 1,
                             .quality_mask = 1u << VFR_QUALITY_FRESHNESS | 1u << VFR_QUALITY_RELIABILITY,
                             .compression = o.compression};
    const float *quality[VFR_QUALITY_COUNT] = {0};
    quality[VFR_QUALITY_FRESHNESS] = fresh;
    quality[VFR_QUALITY_RELIABILITY] = rel;
    rows r = {.N = N, .date = row_date, .symbol = row_sym, .features = feat, .fwd = fwd,
              .close = close, .quality = quality};
    st = write_rows(out_path, &spec, &r, &o, 60.0);

fail:
    free(names);
    free(sorted);
    free(o.horizons);
    free(f.buf);
    free(head);
    free(cells);
    free(order);
    free(col);
    free(dates);
    free(px);
    free(pf);
    free(pr);
    free(fresh);
    free(rel);
    free(row_start);
    free(feat);
    free(fwd);
    free(close);
    free(row_date);
    free(row_sym);
    return st;
}

/* ---- long layout ----------------------------------------------------------- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a 64-bit offset basis */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static vfr_status symtab_grow(symtab *t)
{
    uint64_t size = t->slot ? (t->mask + 1) * 2 : 1024;
    int32_t *slot = calloc(size, sizeof *slot);
    const char **name = realloc(t->name, (size / 2) * sizeof *name);
    if (!slot || !name) {
        free(slot);
        if (name)
            t->name = name;
        return vfr_fail(VFR_ERR_NOMEM, "pack: out of memory for symbols");
    }
    t->name = name;
    t->cap = (int32_t)(size / 2);
    for (int32_t id = 0; id < t->n; id++) {
        uint64_t i = hash_str(name[id]) & (size - 1);
        while (slot[i])
            i = (i + 1) & (size - 1);
        slot[i] = id + 1;
    }
    free(t->slot);
    t->slot = slot;
    t->mask = size - 1;
    return VFR_OK;
}

vfr_status symtab_id(symtab *t, const char *s, int32_t *id)
{
    if (t->n >= t->cap) {
        if (t->cap >= INT32_MAX / 2)
            return vfr_fail(VFR_ERR_FORMAT, "pack: more than %d symbols", INT32_MAX / 2);
        vfr_status st = symtab_grow(t);
        if (st != VFR_OK)
            return st;
    }
    uint64_t i = hash_str(s) & t->mask;
    for (; t->slot[i]; i = (i + 1) & t->mask)
        if (strcmp(t->name[t->slot[i] - 1], s) == 0) {
            *id = t->slot[i] - 1;
            return VFR_OK;
        }
    t->name[t->n] = s;
    t->slot[i] = ++t->n;
    *id = t->n - 1;
    return VFR_OK;
}

typedef struct keyed {
    uint64_t key; /* date (offset to unsigned) << 32 | symbol rank */
    int64_t row;  /* row in file order */
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->key != y->key)
        return (x->key > y->key) - (x->key < y->key);
    return (x->row > y->row) - (x->row < y->row);
}

/* What a header column of the long layout holds. */
enum { COL_FEATURE, COL_CLOSE, COL_FWD };

/* forward_return_<h>d with h a positive integer: h, else 0. */
static int32_t fwd_horizon(const char *name)
{
    static const char prefix[] = "forward_return_";
    size_t np = sizeof prefix - 1;
    if (strncmp(name, prefix, np) != 0 || name[np] < '0' || name[np] > '9')
        return 0;
    char *end;
    errno = 0;
    long h = strtol(name + np, &end, 10);
    if (errno || end[0] != 'd' || end[1] != '\0' || h <= 0 || h > INT32_MAX)
        return 0;
    return (int32_t)h;
}

/* The long header's columns after date and symbol: kind[j] (feature,
 * close, forward return); slot[j]: a feature's index, or a forward return's
 * position in ascending horizon order; the features' names (fnames [F]) and
 * 1-based columns (fcol [F]) with order [F] their name order; the horizons
 * (fh [Hc], ascending) and close's column (-1 if none). */
static vfr_status classify_columns(csv *f, char **head, int64_t ncol, const char *want, int *kind, int32_t *slot,
                                   int32_t *fh, int64_t *fcol, const char **fnames, int32_t *order, int32_t *F_out,
                                   int32_t *Hc_out, int64_t *close_out)
{
    int32_t F = 0, Hc = 0;
    int64_t close_col = -1;
    vfr_status st = VFR_OK;
    for (int64_t j = 2; j < ncol; j++) {
        const char *name = head[j];
        int32_t h = fwd_horizon(name);
        if (!*name) {
            return csv_fail(f, NULL, "column %lld has no name", (long long)j + 1);
        } else if (lower_eq(name, "close")) {
            if (close_col >= 0)
                return csv_fail(f, NULL, "close appears twice, in columns %lld and %lld",
                                (long long)close_col + 1, (long long)j + 1);
            kind[j] = COL_CLOSE;
            close_col = j;
        } else if (h > 0) {
            for (int64_t j2 = 2; j2 < j; j2++)
                if (kind[j2] == COL_FWD && fwd_horizon(head[j2]) == h)
                    return csv_fail(f, NULL, "%s appears twice, in columns %lld and %lld", name,
                                    (long long)j2 + 1, (long long)j + 1);
            kind[j] = COL_FWD;
            fh[Hc++] = h;
        } else {
            kind[j] = COL_FEATURE;
            slot[j] = F;
            fcol[F] = j + 1;
            fnames[F++] = name;
        }
    }
    if (F == 0)
        return csv_fail(f, NULL, "no feature columns; expected a header `%s`", want);
    if ((st = sort_names(f, fnames, F, fcol, "feature column", order)) != VFR_OK)
        return st;

    /* Horizons: the file's forward_return columns, sorted; else computed
     * from close for the options' horizons; else none. */
    qsort(fh, (size_t)Hc, sizeof *fh, cmp_i32);
    for (int64_t j = 2; j < ncol; j++)
        if (kind[j] == COL_FWD) {
            int32_t h = fwd_horizon(head[j]), pos = 0;
            while (fh[pos] != h)
                pos++;
            slot[j] = pos;
        }
    *F_out = F;
    *Hc_out = Hc;
    *close_out = close_col;
    return VFR_OK;
}

/* Forward returns computed from close over each symbol's own rows (its
 * trading days). IN perm [N]: file row of each output row; rank: symbol id ->
 * name rank; close [N] in file order. OUT fwd [N, H] in output order. */
static vfr_status long_fwd_from_close(const char *csv_path, const int64_t *perm, const int32_t *rank,
                                      const int32_t *symid, const float *close, int64_t N, int32_t S,
                                      const int32_t *hz, int32_t H, float *fwd)
{
    vfr_status st = VFR_OK;
    int64_t *bstart = NULL, *bucket = NULL;
    float *sc = NULL, *sh = NULL;
    /* Output rows grouped by symbol, in date order within a symbol. */
    bstart = calloc((size_t)S + 1, sizeof *bstart);
    bucket = malloc((size_t)N * sizeof *bucket);
    sc = malloc((size_t)N * sizeof *sc);
    sh = malloc((size_t)N * (size_t)H * sizeof *sh);
    if (!bstart || !bucket || !sc || !sh) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", csv_path);
        goto fail;
    }
    for (int64_t i = 0; i < N; i++)
        bstart[rank[symid[perm[i]]] + 1]++;
    for (int32_t k = 0; k < S; k++)
        bstart[k + 1] += bstart[k];
    for (int64_t i = 0; i < N; i++)
        bucket[bstart[rank[symid[perm[i]]]]++] = i;
    for (int32_t k = S; k > 0; k--)
        bstart[k] = bstart[k - 1];
    bstart[0] = 0;
    for (int32_t k = 0; k < S; k++) {
        int64_t b0 = bstart[k], n = bstart[k + 1] - b0;
        for (int64_t i = 0; i < n; i++)
            sc[b0 + i] = close[perm[bucket[b0 + i]]];
        vfr_features_forward_returns(sc + b0, n, hz, H, sh + b0 * H, H);
        for (int64_t i = 0; i < n; i++)
            memcpy(fwd + bucket[b0 + i] * H, sh + (b0 + i) * H, (size_t)H * sizeof *fwd);
    }
fail:
    free(bstart), free(bucket), free(sc), free(sh);
    return st;
}

/* Symbols in name order, then rows by (date, symbol rank); a repeated
 * (date, symbol) is an error naming both lines. OUT rank [S]: symbol id ->
 * name rank; sorted [S]: names in order; perm [N]: file row of each output row. */
static vfr_status order_long_rows(csv *f, const char *csv_path, const symtab *syms, const int32_t *date,
                                  const int32_t *symid, const int64_t *line, int64_t N, int32_t *rank,
                                  const char **sorted, int64_t *perm)
{
    const int32_t S = syms->n;
    vfr_status st = VFR_OK;
    int32_t *sorder = malloc((size_t)S * sizeof *sorder);
    keyed *keys = malloc((size_t)N * sizeof *keys);
    if (!sorder || !keys) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory sorting %lld rows", csv_path, (long long)N);
        goto fail;
    }
    VFR_TRY(sort_names(f, syms->name, S, NULL, "symbol", sorder)); /* interned: unique */
    for (int32_t k = 0; k < S; k++) {
        rank[sorder[k]] = k;
        sorted[k] = syms->name[sorder[k]];
    }
    int is_sorted = 1;
    for (int64_t i = 0; i < N; i++) {
        keys[i].key = (uint64_t)((int64_t)date[i] - INT32_MIN) << 32 | (uint32_t)rank[symid[i]];
        keys[i].row = i;
        is_sorted &= i == 0 || keys[i].key > keys[i - 1].key;
    }
    if (!is_sorted)
        qsort(keys, (size_t)N, sizeof *keys, cmp_keyed);
    for (int64_t i = 0; i < N; i++) {
        perm[i] = keys[i].row;
        if (i > 0 && keys[i].key == keys[i - 1].key) {
            /* Equal keys are sorted by file row, so this is the later line. */
            int64_t a = keys[i - 1].row, b = keys[i].row;
            char ds[11];
            vfr_date_format(date[b], ds);
            f->line = line[b];
            st = csv_fail(f, NULL, "duplicate row for date %s, symbol %.60s (also on line %lld)",
                          ds, syms->name[symid[b]], (long long)line[a]);
            goto fail;
        }
    }
fail:
    free(sorder), free(keys);
    return st;
}

/* The long file's data lines in file order: OUT date, symid (interned in
 * syms), line (the file line), close (NaN without a close column) [N];
 * feat [N, F]; fwd_in [N, Hc]; *N_out rows. cells: scratch [ncol]. */
static vfr_status read_long_rows(csv *f, const char *csv_path, const pack_opts *o, char **head, int64_t ncol,
                                 const int *kind, const int32_t *slot, int32_t F, int32_t Hc, char **cells,
                                 symtab *syms, int32_t *date, int32_t *symid, int64_t *line, float *feat,
                                 float *fwd_in, float *close, int64_t *N_out)
{
    int64_t N = 0;
    vfr_status st = VFR_OK;
    const char *prev_date = NULL;
    int32_t prev_days = 0;
    for (char *ln; (ln = csv_next_line(f));) {
        int64_t n = split_fields(ln, cells, ncol);
        if (n != ncol)
            return csv_fail(f, NULL, "%lld fields, but the header (line 1) has %lld", (long long)n,
                            (long long)ncol);
        /* Long files repeat a date over many rows: parse it once. */
        if (!prev_date || strcmp(cells[0], prev_date) != 0) {
            if ((st = cell_date(f, cells[0], &prev_days)) != VFR_OK)
                return st;
            prev_date = cells[0];
        }
        if (!*cells[1])
            return csv_fail(f, "symbol", "empty symbol");
        date[N] = prev_days;
        if ((st = symtab_id(syms, cells[1], &symid[N])) != VFR_OK)
            return st;
        line[N] = f->line;
        close[N] = NAN;
        for (int64_t j = 2; j < ncol; j++) {
            double v;
            if ((st = cell_value(f, head[j], cells[j], kind[j] == COL_CLOSE, &v)) != VFR_OK)
                return st;
            if (kind[j] == COL_FEATURE)
                feat[N * F + slot[j]] = (float)v;
            else if (kind[j] == COL_FWD)
                fwd_in[N * Hc + slot[j]] = (float)v;
            else
                close[N] = (float)v;
        }
        N++;
        if (N % PROGRESS_LINES == 0)
            progress(o, 50.0 * (double)f->pos / (double)f->len);
    }
    if (N == 0)
        return vfr_fail(VFR_ERR_FORMAT, "%s: no data rows after the header", csv_path);
    *N_out = N;
    return VFR_OK;
}

vfr_status vfr_pack_long_csv(const char *csv_path, const char *out_path,
                             const vfr_pack_options *opt)
{
    if (!csv_path || !out_path)
        return vfr_fail(VFR_ERR_INVALID_ARG, "pack: csv_path and out_path are required");
    vfr_status st = VFR_OK;
    pack_opts o = {0};
    csv f = {0};
    symtab syms = {0};
    char **head = NULL, **cells = NULL;
    int *kind = NULL;
    int32_t *slot = NULL, *fh = NULL, *rank = NULL, *order = NULL;
    int32_t *date = NULL, *symid = NULL;
    int64_t *fcol = NULL, *line = NULL, *perm = NULL;
    float *feat = NULL, *fwd_in = NULL, *close = NULL, *fwd = NULL;
    const char **fnames = NULL, **sorted = NULL;

    VFR_TRY(opts_resolve(opt, &o));
    VFR_TRY(csv_read(csv_path, &f));
    progress(&o, 0.0);

    const char *want = "date,symbol,<features>[,close][,forward_return_<h>d...]";
    int64_t ncol;
    VFR_TRY(read_header(&f, want, &head, &ncol));
    if (ncol < 2 || !lower_eq(head[0], "date") || !lower_eq(head[1], "symbol")) {
        st = csv_fail(&f, NULL, "expected a header `%s`, found '%.60s%s'", want, head[0],
                      ncol > 1 ? ",..." : "");
        goto fail;
    }
    /* Classify columns: slot[j] is column j's feature index, or for a
     * forward-return column its position in ascending horizon order. */
    kind = malloc((size_t)ncol * sizeof *kind);
    slot = malloc((size_t)ncol * sizeof *slot);
    fh = malloc((size_t)ncol * sizeof *fh);
    fcol = malloc((size_t)ncol * sizeof *fcol);
    fnames = malloc((size_t)ncol * sizeof *fnames);
    order = malloc((size_t)ncol * sizeof *order);
    cells = malloc((size_t)ncol * sizeof *cells);
    if (!kind || !slot || !fh || !fcol || !fnames || !order || !cells) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", csv_path);
        goto fail;
    }
    int32_t F = 0, Hc = 0;
    int64_t close_col = -1;
    VFR_TRY(classify_columns(&f, head, ncol, want, kind, slot, fh, fcol, fnames, order, &F, &Hc, &close_col));
    int compute_fwd = Hc == 0 && close_col >= 0;
    int32_t H = Hc > 0 ? Hc : compute_fwd ? o.H : 0;
    const int32_t *hz = Hc > 0 ? fh : o.horizons;

    /* Rows in file order. */
    const int64_t cap = csv_lines_left(&f);
    date = malloc((size_t)cap * sizeof *date);
    symid = malloc((size_t)cap * sizeof *symid);
    line = malloc((size_t)cap * sizeof *line);
    feat = malloc((size_t)cap * (size_t)F * sizeof *feat);
    fwd_in = malloc(((size_t)cap * (size_t)Hc + 1) * sizeof *fwd_in);
    close = malloc((size_t)cap * sizeof *close);
    if (!date || !symid || !line || !feat || !fwd_in || !close) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory for %lld rows x %d features", csv_path,
                      (long long)cap, (int)F);
        goto fail;
    }
    int64_t N = 0;
    VFR_TRY(read_long_rows(&f, csv_path, &o, head, ncol, kind, slot, F, Hc, cells, &syms, date, symid, line, feat,
                           fwd_in, close, &N));
    progress(&o, 50.0);

    /* Symbols in name order, then rows by (date, symbol rank). */
    const int32_t S = syms.n;
    rank = malloc((size_t)S * sizeof *rank);
    sorted = malloc((size_t)S * sizeof *sorted);
    perm = malloc((size_t)N * sizeof *perm);
    if (!rank || !sorted || !perm) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory sorting %lld rows", csv_path, (long long)N);
        goto fail;
    }
    VFR_TRY(order_long_rows(&f, csv_path, &syms, date, symid, line, N, rank, sorted, perm));

    /* Forward returns in output order: from the file, or from close over each
     * symbol's own rows (its trading days). */
    fwd = malloc(((size_t)N * (size_t)H + 1) * sizeof *fwd);
    if (!fwd) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", csv_path);
        goto fail;
    }
    if (Hc > 0) {
        for (int64_t i = 0; i < N; i++)
            memcpy(fwd + i * H, fwd_in + perm[i] * Hc, (size_t)H * sizeof *fwd);
    } else if (compute_fwd && H > 0) {
        VFR_TRY(long_fwd_from_close(csv_path, perm, rank, symid, close, N, S, hz, H, fwd));
    }
    /* The writer takes symbol ranks: map ids once, in place. */
    for (int64_t i = 0; i < N; i++)
        symid[i] = rank[symid[i]];
    progress(&o, 60.0);

    vfr_dataset_spec spec = {.F = F, .feature_names = fnames, .S = S, .symbols = sorted, .H = H,
                             .horizons = hz, .has_close = close_col >= 0,
                             .compression = o.compression};
    rows r = {.N = N, .fwd = fwd, .perm = perm, .src_date = date, .src_symbol = symid,
              .src_features = feat, .src_close = close};
    st = write_rows(out_path, &spec, &r, &o, 60.0);

fail:
    free(o.horizons);
    free(f.buf);
    free(syms.name);
    free(syms.slot);
    free(head);
    free(cells);
    free(kind);
    free(slot);
    free(fh);
    free(rank);
    free(order);
    free(fcol);
    free(date);
    free(symid);
    free(line);
    free(perm);
    free(feat);
    free(fwd_in);
    free(close);
    free(fwd);
    free(fnames);
    free(sorted);
    return st;
}
