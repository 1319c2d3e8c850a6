/* pack_ohlcv.c: daily OHLCV bars (one long CSV, or one CSV per symbol, plain
 * or gzip) -> a vfr dataset of computed features (Alpha158 and/or the 26 price
 * features) and forward returns. Header spellings are recognised (Date,
 * Ticker, Adj Close, ...) or named with a column map; rows come in any order.
 * Each bar is checked (prices > 0, low <= close <= high, volume >= 0, one bar
 * per (date, symbol)) and a bad one is refused naming file, line and column.
 * Not a general CSV reader: pack.c's reader, whose rules it keeps. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

#include "pack_internal.h"
#include "util.h"
#include "vfr/features.h"

/* The roles a column can play, and the header spellings that name them,
 * compared after lower-casing and dropping blanks, '_', '-' and '.'. */
enum { R_DATE, R_SYMBOL, R_OPEN, R_HIGH, R_LOW, R_CLOSE, R_ADJCLOSE, R_VOLUME, R_VWAP,
       R_FACTOR, R_COUNT };
static const char *const role_key[R_COUNT] = {"date", "symbol", "open", "high", "low",
                                              "close", "adjclose", "volume", "vwap", "factor"};
static const char *const role_alias[R_COUNT][8] = {
    [R_DATE] = {"date", "datetime", "timestamp", "time", "day", "tradedate", "tradingday"},
    [R_SYMBOL] = {"symbol", "ticker", "instrument", "code", "sym", "stock", "tscode", "secid"},
    [R_OPEN] = {"open", "openprice"},
    [R_HIGH] = {"high", "highprice"},
    [R_LOW] = {"low", "lowprice"},
    [R_CLOSE] = {"close", "closeprice"},
    [R_ADJCLOSE] = {"adjclose", "adjustedclose", "adjclosed"},
    [R_VOLUME] = {"volume", "vol"},
    [R_VWAP] = {"vwap", "averageprice"},
    [R_FACTOR] = {"factor", "adjfactor", "adjustmentfactor"},
};

enum { FEAT_ALPHA158 = 1, FEAT_PRICE26 = 2 };

/* CPU seconds of the whole process (all threads), for the phase log. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Lower-cased, without blanks, '_', '-' and '.'; cut to cap - 1 bytes. */
static void normalize(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 1 < cap; s++) {
        if (*s == ' ' || *s == '_' || *s == '-' || *s == '.' || *s == '\t')
            continue;
        out[n++] = (char)tolower((unsigned char)*s);
    }
    out[n] = '\0';
}

/* "date=Day,close=Last" -> map[role] = column name (pointers into a copy). */
typedef struct colmap {
    char *buf;
    const char *name[R_COUNT];
} colmap;

static vfr_status colmap_parse(const char *spec, colmap *m)
{
    memset(m, 0, sizeof *m);
    if (!spec || !*spec)
        return VFR_OK;
    if (!(m->buf = vfri_strdup(spec)))
        return vfr_fail(VFR_ERR_NOMEM, "pack: out of memory");
    for (char *tok = m->buf, *next; tok; tok = next) {
        next = strchr(tok, ',');
        if (next)
            *next++ = '\0';
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || !eq[1])
            return vfr_fail(VFR_ERR_INVALID_ARG,
                            "--columns: '%s' is not ROLE=NAME (roles: date, symbol, open, high, "
                            "low, close, adjclose, volume, vwap, factor)", tok);
        *eq = '\0';
        char key[32];
        normalize(tok, key, sizeof key);
        int r = 0;
        while (r < R_COUNT && strcmp(key, role_key[r]) != 0)
            r++;
        if (r == R_COUNT)
            return vfr_fail(VFR_ERR_INVALID_ARG,
                            "--columns: unknown role '%s' (roles: date, symbol, open, high, low, "
                            "close, adjclose, volume, vwap, factor)", tok);
        if (m->name[r])
            return vfr_fail(VFR_ERR_INVALID_ARG, "--columns: role '%s' is given twice", tok);
        m->name[r] = eq + 1;
    }
    return VFR_OK;
}

static vfr_status parse_feature_sets(const char *spec, int *sets)
{
    *sets = 0;
    if (!spec || !*spec) {
        *sets = FEAT_ALPHA158;
        return VFR_OK;
    }
    char buf[128];
    if (strlen(spec) >= sizeof buf)
        return vfr_fail(VFR_ERR_INVALID_ARG, "--features: '%.40s...' is too long", spec);
    memcpy(buf, spec, strlen(spec) + 1);
    for (char *tok = buf, *next; tok; tok = next) {
        next = strchr(tok, ',');
        if (next)
            *next++ = '\0';
        int s = lower_eq(tok, "alpha158") ? FEAT_ALPHA158 : lower_eq(tok, "price26") ? FEAT_PRICE26 : 0;
        if (!s)
            return vfr_fail(VFR_ERR_INVALID_ARG,
                            "--features: unknown set '%s' (alpha158, price26, or both)", tok);
        if (*sets & s)
            return vfr_fail(VFR_ERR_INVALID_ARG, "--features: '%s' is given twice", tok);
        *sets |= s;
    }
    return VFR_OK;
}

/* ---- reading one file (plain or gzip) ------------------------------------ */

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static vfr_status read_gz(const char *path, csv *f)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return errno == ENOENT ? vfr_fail(VFR_ERR_NOT_FOUND, "%s: no such file", path)
                               : vfr_fail(VFR_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return vfr_fail(VFR_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    vfr_status st = VFR_OK;
    size_t cap = (size_t)sb.st_size * 4 + 4096;
    f->buf = malloc(cap);
    for (;;) {
        if (!f->buf) {
            st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory reading the file", path);
            goto done;
        }
        int n = gzread(gz, f->buf + f->len, (unsigned)(cap - 1 - f->len > (1u << 30)
                                                          ? (1u << 30) : cap - 1 - f->len));
        if (n < 0) {
            int e;
            st = vfr_fail(VFR_ERR_FORMAT, "%s: not a readable gzip file: %s", path,
                          gzerror(gz, &e));
            goto done;
        }
        f->len += (size_t)n;
        if (n == 0)
            break;
        if (f->len + 1 == cap) {
            char *nb = realloc(f->buf, cap * 2);
            if (!nb)
                free(f->buf);
            f->buf = nb;
            cap *= 2;
        }
    }
    f->buf[f->len] = '\0';
    if (memchr(f->buf, '\0', f->len))
        st = vfr_fail(VFR_ERR_FORMAT, "%s: contains NUL bytes; not a CSV text file", path);
    else if (f->len >= 3 && memcmp(f->buf, "\xEF\xBB\xBF", 3) == 0)
        f->pos = 3;
done:
    gzclose(gz);
    if (st != VFR_OK) {
        free(f->buf);
        f->buf = NULL;
    }
    return st;
}

/* ---- bars ----------------------------------------------------------------- */

/* All bars read so far, in file order (then sorted by symbol and date). */
typedef struct bars {
    int64_t n, cap;
    int32_t *date, *sym, *file;
    int64_t *line;
    double *o, *h, *l, *c, *v, *w;
} bars;

static vfr_status bars_grow(bars *b, int64_t need)
{
    if (need <= b->cap)
        return VFR_OK;
    int64_t cap = b->cap ? b->cap : 4096;
    while (cap < need)
        cap *= 2;
#define GROW(p)                                                                             \
    do {                                                                                    \
        void *q = realloc(b->p, (size_t)cap * sizeof *b->p);                                \
        if (!q)                                                                             \
            return vfr_fail(VFR_ERR_NOMEM, "pack: out of memory for %lld bars", (long long)cap); \
        b->p = q;                                                                           \
    } while (0)
    GROW(date);
    GROW(sym);
    GROW(file);
    GROW(line);
    GROW(o);
    GROW(h);
    GROW(l);
    GROW(c);
    GROW(v);
    GROW(w);
#undef GROW
    b->cap = cap;
    return VFR_OK;
}

static void bars_free(bars *b)
{
    free(b->date);
    free(b->sym);
    free(b->file);
    free(b->line);
    free(b->o);
    free(b->h);
    free(b->l);
    free(b->c);
    free(b->v);
    free(b->w);
}

/* Finds each role's column in the header: the --columns name when given, else
 * the first recognised spelling. col[r] = -1 when absent. */
static vfr_status find_columns(const csv *f, char **head, int64_t ncol, const colmap *map,
                               int need_symbol, int64_t col[R_COUNT])
{
    for (int r = 0; r < R_COUNT; r++)
        col[r] = -1;
    for (int64_t j = 0; j < ncol; j++) {
        char norm[64];
        normalize(head[j], norm, sizeof norm);
        for (int r = 0; r < R_COUNT; r++) {
            int hit = 0;
            if (map->name[r]) {
                char want[64];
                normalize(map->name[r], want, sizeof want);
                hit = strcmp(norm, want) == 0;
            } else {
                for (int a = 0; a < 8 && role_alias[r][a]; a++)
                    hit |= strcmp(norm, role_alias[r][a]) == 0;
            }
            if (!hit)
                continue;
            if (col[r] >= 0)
                return csv_fail(f, NULL, "columns %lld ('%.40s') and %lld ('%.40s') both name the %s",
                                (long long)col[r] + 1, head[col[r]], (long long)j + 1, head[j],
                                role_key[r]);
            col[r] = j;
        }
    }
    /* A date column with no name: the index column pandas writes. */
    if (col[R_DATE] < 0 && ncol > 0 && !*head[0] && !map->name[R_DATE])
        col[R_DATE] = 0;
    static const int required[] = {R_DATE, R_SYMBOL, R_OPEN, R_HIGH, R_LOW, R_CLOSE, R_VOLUME};
    char missing[128] = "";
    for (size_t q = 0; q < sizeof required / sizeof required[0]; q++) {
        int r = required[q];
        if (col[r] >= 0 || (r == R_SYMBOL && !need_symbol))
            continue;
        size_t n = strlen(missing);
        snprintf(missing + n, sizeof missing - n, "%s%s", n ? ", " : "",
                 map->name[r] ? map->name[r] : role_key[r]);
    }
    if (*missing)
        return csv_fail(f, NULL,
                        "no column for %s (the header has '%.80s%s'); name columns with "
                        "--columns ROLE=NAME,...",
                        missing, head[0], ncol > 1 ? ",..." : "");
    return VFR_OK;
}

/* Reads one file's bars. sym_fixed >= 0: every bar is that symbol (one file
 * per symbol); else the symbol column gives it. */
static vfr_status read_file_bars(const char *path, int32_t file_idx, const colmap *map,
                                 int32_t sym_fixed, symtab *syms, bars *b, csv *f)
{
    vfr_status st = VFR_OK;
    char **head = NULL, **cells = NULL;
    if (ends_with(path, ".gz"))
        VFR_TRY(read_gz(path, f));
    else
        VFR_TRY(csv_read(path, f));
    int64_t ncol;
    VFR_TRY(read_header(f, "date,symbol,open,high,low,close,volume", &head, &ncol));
    int64_t col[R_COUNT];
    VFR_TRY(find_columns(f, head, ncol, map, sym_fixed < 0, col));
    if (sym_fixed >= 0)
        col[R_SYMBOL] = -1;
    cells = malloc((size_t)ncol * sizeof *cells);
    if (!cells) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    VFR_TRY(bars_grow(b, b->n + csv_lines_left(f)));
    const char *prev_date = NULL;
    int32_t prev_days = 0;
    for (char *ln; (ln = csv_next_line(f));) {
        int64_t n = split_fields(ln, cells, ncol);
        if (n != ncol) {
            st = csv_fail(f, NULL, "%lld fields, but the header (line 1) has %lld",
                          (long long)n, (long long)ncol);
            goto fail;
        }
        const char *ds = cells[col[R_DATE]];
        if (!prev_date || strcmp(ds, prev_date) != 0) {
            /* "2020-01-02 00:00:00" or "2020-01-02T...": the day is what counts. */
            char day[16];
            size_t dl = strlen(ds);
            if (dl > 10 && (ds[10] == ' ' || ds[10] == 'T'))
                dl = 10;
            if (dl >= sizeof day)
                dl = sizeof day - 1;
            memcpy(day, ds, dl);
            day[dl] = '\0';
            if (vfr_date_parse(day, &prev_days) != VFR_OK) {
                st = csv_fail(f, head[col[R_DATE]], "'%.40s' is not a date (want YYYY-MM-DD)", ds);
                goto fail;
            }
            prev_date = ds;
        }
        double x[R_COUNT];
        int missing_prices = 0;
        for (int r = R_OPEN; r < R_COUNT; r++) {
            x[r] = NAN;
            if (col[r] < 0)
                continue;
            const char *cell = cells[col[r]];
            int k = parse_cell(cell, &x[r]);
            if (k == CELL_NOT_NUMBER || k == CELL_NOT_FINITE) {
                st = csv_fail(f, head[col[r]], "'%.40s' is not a %snumber", cell,
                              k == CELL_NOT_FINITE ? "finite " : "");
                goto fail;
            }
            missing_prices += k == CELL_MISSING && r >= R_OPEN && r <= R_CLOSE;
        }
        /* A bar with no prices at all is a day without trading: skipped. */
        if (missing_prices == 4)
            continue;
        for (int r = R_OPEN; r <= R_CLOSE; r++)
            if (isnan(x[r])) {
                st = csv_fail(f, head[col[r]], "missing %s (the bar has other prices)",
                              role_key[r]);
                goto fail;
            }
        for (int r = R_OPEN; r < R_COUNT; r++) {
            if (r == R_VOLUME || col[r] < 0 || isnan(x[r]))
                continue;
            if (!(x[r] > 0.0)) {
                st = csv_fail(f, head[col[r]], "%s '%.40s' is not positive", role_key[r],
                              cells[col[r]]);
                goto fail;
            }
        }
        if (x[R_HIGH] < x[R_LOW]) {
            st = csv_fail(f, head[col[R_HIGH]], "high %.40s is below low %.40s",
                          cells[col[R_HIGH]], cells[col[R_LOW]]);
            goto fail;
        }
        if (x[R_CLOSE] < x[R_LOW] || x[R_CLOSE] > x[R_HIGH]) {
            st = csv_fail(f, head[col[R_CLOSE]], "close %.40s is outside [low %.40s, high %.40s]",
                          cells[col[R_CLOSE]], cells[col[R_LOW]], cells[col[R_HIGH]]);
            goto fail;
        }
        if (x[R_VOLUME] < 0.0) {
            st = csv_fail(f, head[col[R_VOLUME]], "volume '%.40s' is negative",
                          cells[col[R_VOLUME]]);
            goto fail;
        }
        int32_t sid = sym_fixed;
        if (sid < 0) {
            const char *s = cells[col[R_SYMBOL]];
            if (!*s) {
                st = csv_fail(f, head[col[R_SYMBOL]], "empty symbol");
                goto fail;
            }
            VFR_TRY(symtab_id(syms, s, &sid));
        }
        /* Adjusted prices, as Qlib keeps them: prices times the factor,
         * volume divided by it. Adj Close gives the factor adj/close. */
        double fac = 1.0;
        if (!isnan(x[R_FACTOR]))
            fac = x[R_FACTOR];
        else if (!isnan(x[R_ADJCLOSE]))
            fac = x[R_ADJCLOSE] / x[R_CLOSE];
        int64_t i = b->n++;
        b->date[i] = prev_days;
        b->sym[i] = sid;
        b->file[i] = file_idx;
        b->line[i] = f->line;
        b->o[i] = x[R_OPEN] * fac;
        b->h[i] = x[R_HIGH] * fac;
        b->l[i] = x[R_LOW] * fac;
        b->c[i] = x[R_CLOSE] * fac;
        b->v[i] = x[R_VOLUME] / fac;
        b->w[i] = x[R_VWAP] * fac;
    }
fail:
    free(head);
    free(cells);
    return st;
}

typedef struct sk {
    uint64_t key; /* (symbol rank << 32) | date offset, or (date offset << 32) | rank */
    int64_t row;
} sk;

static int cmp_sk(const void *a, const void *b)
{
    const sk *x = a, *y = b;
    if (x->key != y->key)
        return (x->key > y->key) - (x->key < y->key);
    return (x->row > y->row) - (x->row < y->row);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Bars by (symbol rank, date): OUT keys [N] sorted (row: the bar's index in
 * b), offset [S + 1]: each symbol's first series row. */
static void series_order(const bars *b, const int32_t *rank, int32_t S, sk *keys, int64_t *offset)
{
    for (int64_t i = 0; i < b->n; i++) {
        keys[i].key = (uint64_t)rank[b->sym[i]] << 32 | (uint64_t)((int64_t)b->date[i] - INT32_MIN);
        keys[i].row = i;
        offset[rank[b->sym[i]] + 1]++;
    }
    for (int32_t s = 0; s < S; s++)
        offset[s + 1] += offset[s];
    qsort(keys, (size_t)b->n, sizeof *keys, cmp_sk);
}

/* The bars in series order (keys [N]) as columns [N]; returns whether any bar
 * has a VWAP. */
static int gather_series(const bars *b, const sk *keys, double *so, double *sh, double *sl, double *sc, double *sv,
                         double *sw)
{
    int have_vwap = 0;
    for (int64_t i = 0; i < b->n; i++) {
        int64_t r = keys[i].row;
        so[i] = b->o[r], sh[i] = b->h[r], sl[i] = b->l[r], sc[i] = b->c[r], sv[i] = b->v[r];
        sw[i] = b->w[r];
        have_vwap |= !isnan(b->w[r]);
    }
    return have_vwap;
}

/* Symbol ids -> name order (names are unique: interned). OUT rank [S]: each
 * id's rank; sorted [S]: the names in order. */
static vfr_status rank_symbols(symtab *syms, int32_t *rank, const char **sorted)
{
    const int32_t S = syms->n;
    const char **tmp = malloc((size_t)(S ? S : 1) * sizeof *tmp);
    if (!tmp)
        return vfr_fail(VFR_ERR_NOMEM, "pack: out of memory");
    memcpy(tmp, syms->name, (size_t)S * sizeof *tmp);
    qsort(tmp, (size_t)S, sizeof *tmp, cmp_str);
    for (int32_t k = 0; k < S; k++) {
        int32_t id;
        symtab_id(syms, tmp[k], &id); /* present: a lookup, no insertion */
        rank[id] = k;
        sorted[k] = tmp[k];
    }
    free(tmp);
    return VFR_OK;
}

/* A second bar for one (symbol, date) is an error naming both lines. keys
 * [b->n]: sorted, equal keys by file row. */
static vfr_status no_second_bar(csv *fs, const char *const *files, const bars *b, const sk *keys,
                                const int32_t *rank, const char *const *sorted)
{
    for (int64_t i = 1; i < b->n; i++)
        if (keys[i].key == keys[i - 1].key) {
            int64_t a = keys[i - 1].row, r = keys[i].row;
            char ds[11];
            vfr_date_format(b->date[r], ds);
            csv *f = &fs[b->file[r]];
            f->line = b->line[r];
            return csv_fail(f, NULL, "a second bar for date %s, symbol %.60s (also %s line %lld)", ds,
                            sorted[rank[b->sym[r]]], b->file[a] == b->file[r] ? "on" : files[b->file[a]],
                            (long long)b->line[a]);
        }
    return VFR_OK;
}

/* Output order (date, symbol) from series order (symbol, date): perm [N]:
 * series row of each output row; out_date, out_sym [N] in series order;
 * fwd_out [N, H] in output order. keys [N]: reused as scratch. */
static void output_order(const bars *b, sk *keys, const int64_t *offset, int32_t S, int32_t H, const float *fwd,
                         int64_t *perm, int32_t *out_date, int32_t *out_sym, float *fwd_out)
{
    for (int32_t s = 0; s < S; s++)
        for (int64_t i = offset[s]; i < offset[s + 1]; i++) {
            out_date[i] = b->date[keys[i].row];
            out_sym[i] = s;
            keys[i].key = (uint64_t)((int64_t)out_date[i] - INT32_MIN) << 32 | (uint32_t)s;
            keys[i].row = i;
        }
    qsort(keys, (size_t)b->n, sizeof *keys, cmp_sk);
    for (int64_t j = 0; j < b->n; j++) {
        perm[j] = keys[j].row;
        if (H)
            memcpy(fwd_out + j * H, fwd + perm[j] * H, (size_t)H * sizeof *fwd_out);
    }
}

/* The common path: files[k] read in turn; fixed_syms[k] names file k's symbol
 * (one file per symbol) or fixed_syms is NULL (symbol column). */
/* Features [N, F] in series order, Alpha158 first (on dev), then price26
 * (FA and FP columns, F = FA + FP), and forward returns [N, H] over each
 * symbol's own bars. OUT fc [N]: close as float; fnames [F]. */
static vfr_status series_features(const vfr_ohlcv_series *x, vfr_device_kind dev, int threads, int32_t FA,
                                  int32_t FP, const pack_opts *o, float *feat, float *fwd, float *fc,
                                  const char **fnames)
{
    const int64_t N = x->offset[x->S];
    const int32_t F = FA + FP, H = o->H;
    vfr_status st = VFR_OK;
    float *tf = NULL;
    for (int64_t i = 0; i < N; i++)
        fc[i] = (float)x->close[i];
    if (FA) {
        /* The rows are written with stride F; price26 fills columns FA.. */
        if (F == FA) {
            VFR_TRY(vfr_features_alpha158(dev, x, threads, feat, F));
        } else {
            tf = malloc((size_t)N * (size_t)FA * sizeof *tf);
            if (!tf) {
                st = vfr_fail(VFR_ERR_NOMEM, "pack: out of memory");
                goto fail;
            }
            VFR_TRY(vfr_features_alpha158(dev, x, threads, tf, FA));
            for (int64_t i = 0; i < N; i++)
                memcpy(feat + i * F, tf + i * FA, (size_t)FA * sizeof *feat);
            free(tf);
            tf = NULL;
        }
        for (int32_t k = 0; k < FA; k++)
            fnames[k] = vfr_features_alpha158_name(k);
    }
    progress(o, 55.0);
    for (int32_t s = 0; s < x->S; s++) {
        int64_t b0 = x->offset[s], n = x->offset[s + 1] - b0;
        if (FP)
            VFR_TRY(vfr_features_price_cpu(fc + b0, n, feat + b0 * F + FA, F));
        vfr_features_forward_returns(fc + b0, n, o->horizons, H, fwd + b0 * H, H);
    }
    for (int32_t k = 0; k < FP; k++)
        fnames[FA + k] = vfr_features_price_name(k);
fail:
    free(tf);
    return st;
}

static vfr_status pack_files(const char *const *files, const char *const *fixed_syms,
                             int32_t nfiles, const char *out_path,
                             const vfr_pack_ohlcv_options *opt)
{
    vfr_status st = VFR_OK;
    pack_opts o = {0};
    colmap map = {0};
    symtab syms = {0};
    bars b = {0};
    csv *fs = calloc((size_t)nfiles + 1, sizeof *fs);
    int32_t *rank = NULL, *out_date = NULL, *out_sym = NULL;
    int64_t *offset = NULL, *perm = NULL;
    sk *keys = NULL;
    double *so = NULL, *sh = NULL, *sl = NULL, *sc = NULL, *sv = NULL, *sw = NULL;
    float *feat = NULL, *fwd = NULL, *fc = NULL, *fwd_out = NULL;
    const char **fnames = NULL, **sorted = NULL;
    int sets = 0;
    if (!fs)
        return vfr_fail(VFR_ERR_NOMEM, "pack: out of memory");

    VFR_TRY(opts_resolve(opt ? &opt->base : NULL, &o));
    VFR_TRY(colmap_parse(opt ? opt->columns : NULL, &map));
    VFR_TRY(parse_feature_sets(opt ? opt->features : NULL, &sets));
    vfr_device_kind dev = VFR_DEVICE_CPU;
    if (sets & FEAT_ALPHA158)
        VFR_TRY(vfr_device_resolve(opt ? opt->device : VFR_DEVICE_AUTO, &dev));
    progress(&o, 0.0);
    double t0 = vfri_seconds(), c0 = cpu_seconds();

    for (int32_t k = 0; k < nfiles; k++) {
        int32_t fixed = -1;
        if (fixed_syms)
            VFR_TRY(symtab_id(&syms, fixed_syms[k], &fixed));
        VFR_TRY(read_file_bars(files[k], k, &map, fixed, &syms, &b, &fs[k]));
        progress(&o, 40.0 * (k + 1) / nfiles);
    }
    const int64_t N = b.n;
    if (N == 0) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: no bars after the header", nfiles == 1 ? files[0]
                                                                              : "--ohlcv-dir");
        goto fail;
    }

    /* Symbols in name order; bars by (symbol, date) into series. */
    const int32_t S = syms.n;
    rank = malloc((size_t)S * sizeof *rank);
    sorted = malloc((size_t)S * sizeof *sorted);
    keys = malloc((size_t)N * sizeof *keys);
    offset = calloc((size_t)S + 1, sizeof *offset);
    if (!rank || !sorted || !keys || !offset) {
        st = vfr_fail(VFR_ERR_NOMEM, "pack: out of memory sorting %lld bars", (long long)N);
        goto fail;
    }
    VFR_TRY(rank_symbols(&syms, rank, sorted));
    series_order(&b, rank, S, keys, offset);
    VFR_TRY(no_second_bar(fs, files, &b, keys, rank, sorted));
    so = malloc((size_t)N * sizeof *so);
    sh = malloc((size_t)N * sizeof *sh);
    sl = malloc((size_t)N * sizeof *sl);
    sc = malloc((size_t)N * sizeof *sc);
    sv = malloc((size_t)N * sizeof *sv);
    sw = malloc((size_t)N * sizeof *sw);
    if (!so || !sh || !sl || !sc || !sv || !sw) {
        st = vfr_fail(VFR_ERR_NOMEM, "pack: out of memory for %lld bars", (long long)N);
        goto fail;
    }
    int have_vwap = gather_series(&b, keys, so, sh, sl, sc, sv, sw);
    progress(&o, 45.0);
    double t1 = vfri_seconds(), c1 = cpu_seconds();
    vfr_report_log(o.rep, VFR_LOG_INFO, "read and checked %lld bars of %d symbols in %.2f s (%.2f s CPU)",
                   (long long)N, (int)S, t1 - t0, c1 - c0);

    /* Features [N, F] in series order: Alpha158 first, then price26. */
    const int32_t FA = sets & FEAT_ALPHA158 ? vfr_features_alpha158_count() : 0;
    const int32_t FP = sets & FEAT_PRICE26 ? vfr_features_price_count() : 0;
    const int32_t F = FA + FP, H = o.H;
    feat = malloc((size_t)N * (size_t)F * sizeof *feat);
    fwd = malloc(((size_t)N * (size_t)H + 1) * sizeof *fwd);
    fc = malloc((size_t)N * sizeof *fc);
    fnames = malloc((size_t)F * sizeof *fnames);
    if (!feat || !fwd || !fc || !fnames) {
        st = vfr_fail(VFR_ERR_NOMEM, "pack: out of memory for %lld rows x %d features",
                      (long long)N, (int)F);
        goto fail;
    }
    vfr_ohlcv_series x = {S, offset, so, sh, sl, sc, sv, have_vwap ? sw : NULL};
    VFR_TRY(series_features(&x, dev, opt ? opt->threads : 0, FA, FP, &o, feat, fwd, fc, fnames));
    double t2 = vfri_seconds(), c2 = cpu_seconds();
    vfr_report_log(o.rep, VFR_LOG_INFO, "computed %d features%s%s and %d horizons in %.2f s (%.2f s CPU)",
                   (int)F, FA ? " (Alpha158 on " : "", FA ? (dev == VFR_DEVICE_CUDA ? "cuda)" : "cpu)") : "",
                   (int)H, t2 - t1, c2 - c1);

    /* Output order (date, symbol): perm[j] = series row of output row j. */
    perm = malloc((size_t)N * sizeof *perm);
    out_date = malloc((size_t)N * sizeof *out_date);
    out_sym = malloc((size_t)N * sizeof *out_sym);
    fwd_out = malloc(((size_t)N * (size_t)H + 1) * sizeof *fwd_out);
    if (!perm || !out_date || !out_sym || !fwd_out) {
        st = vfr_fail(VFR_ERR_NOMEM, "pack: out of memory");
        goto fail;
    }
    output_order(&b, keys, offset, S, H, fwd, perm, out_date, out_sym, fwd_out);
    progress(&o, 60.0);

    vfr_dataset_spec spec = {.F = F, .feature_names = fnames, .S = S, .symbols = sorted,
                             .H = H, .horizons = o.horizons, .has_close = 1,
                             .compression = o.compression};
    rows r = {.N = N, .fwd = fwd_out, .perm = perm, .src_date = out_date, .src_symbol = out_sym,
              .src_features = feat, .src_close = fc};
    st = write_rows(out_path, &spec, &r, &o, 60.0);
    if (st == VFR_OK)
        vfr_report_log(o.rep, VFR_LOG_INFO, "wrote the dataset in %.2f s (%.2f s CPU)",
                       vfri_seconds() - t2, cpu_seconds() - c2);

fail:
    for (int32_t k = 0; k < nfiles; k++)
        free(fs[k].buf);
    free(fs);
    free(o.horizons);
    free(map.buf);
    free(syms.name);
    free(syms.slot);
    bars_free(&b);
    free(rank);
    free(sorted);
    free(keys);
    free(offset);
    free(so);
    free(sh);
    free(sl);
    free(sc);
    free(sv);
    free(sw);
    free(feat);
    free(fwd);
    free(fc);
    free(fnames);
    free(perm);
    free(out_date);
    free(out_sym);
    free(fwd_out);
    return st;
}

vfr_status vfr_pack_ohlcv_csv(const char *csv_path, const char *out_path,
                              const vfr_pack_ohlcv_options *opt)
{
    if (!csv_path || !out_path)
        return vfr_fail(VFR_ERR_INVALID_ARG, "pack: csv_path and out_path are required");
    return pack_files(&csv_path, NULL, 1, out_path, opt);
}

/* SYMBOL.csv or SYMBOL.csv.gz -> the length of SYMBOL, else 0. */
static size_t symbol_of(const char *name)
{
    size_t n = strlen(name);
    if (ends_with(name, ".csv.gz"))
        return n - 7;
    if (ends_with(name, ".csv"))
        return n - 4;
    return 0;
}

vfr_status vfr_pack_ohlcv_dir(const char *dir, const char *out_path,
                              const vfr_pack_ohlcv_options *opt)
{
    if (!dir || !out_path)
        return vfr_fail(VFR_ERR_INVALID_ARG, "pack: dir and out_path are required");
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? vfr_fail(VFR_ERR_NOT_FOUND, "%s: no such folder", dir)
                               : vfr_fail(VFR_ERR_IO, "%s: cannot open folder: %s", dir,
                                          strerror(errno));
    vfr_status st = VFR_OK;
    char **names = NULL, **paths = NULL;
    int32_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t k = symbol_of(e->d_name);
        if (k == 0 || e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **a = realloc(names, (size_t)cap * sizeof *a);
            if (a)
                names = a;
            char **p = a ? realloc(paths, (size_t)cap * sizeof *p) : NULL;
            if (p)
                paths = p;
            if (!a || !p) {
                st = vfr_fail(VFR_ERR_NOMEM, "pack: out of memory listing %s", dir);
                goto done;
            }
        }
        size_t plen = strlen(dir) + strlen(e->d_name) + 2;
        names[n] = malloc(k + 1);
        paths[n] = malloc(plen);
        if (!names[n] || !paths[n]) {
            free(names[n]);
            free(paths[n]);
            st = vfr_fail(VFR_ERR_NOMEM, "pack: out of memory listing %s", dir);
            goto done;
        }
        memcpy(names[n], e->d_name, k);
        names[n][k] = '\0';
        snprintf(paths[n], plen, "%s/%s", dir, e->d_name);
        n++;
    }
    if (n == 0) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: no SYMBOL.csv or SYMBOL.csv.gz files", dir);
        goto done;
    }
    /* Files in name order, so that messages and the work are reproducible;
     * SYM.csv beside SYM.csv.gz is one symbol twice. */
    for (int32_t i = 1; i < n; i++)
        for (int32_t j = i; j > 0 && strcmp(paths[j - 1], paths[j]) > 0; j--) {
            char *t = paths[j]; paths[j] = paths[j - 1]; paths[j - 1] = t;
            t = names[j]; names[j] = names[j - 1]; names[j - 1] = t;
        }
    for (int32_t i = 1; i < n; i++)
        for (int32_t j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0) {
                st = vfr_fail(VFR_ERR_FORMAT, "%s: symbol %s has two files (%s and %s)", dir,
                              names[i], paths[j], paths[i]);
                goto done;
            }
    st = pack_files((const char *const *)paths, (const char *const *)names, n, out_path, opt);
done:
    closedir(d);
    for (int32_t i = 0; i < n; i++) {
        free(names[i]);
        free(paths[i]);
    }
    free(names);
    free(paths);
    return st;
}
