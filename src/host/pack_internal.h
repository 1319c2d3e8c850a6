/* pack_internal.h: the CSV reader and dataset-writing helpers of pack.c,
 * shared with pack_ohlcv.c (the OHLCV layout). Internal to the library, not
 * API. The macros give the helpers vfr_pack_ names at link time while pack.c
 * keeps its short ones. */
#ifndef VFR_PACK_INTERNAL_H
#define VFR_PACK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "vfr/dataset.h"
#include "vfr/pack.h"

#define opts_resolve vfr_pack_opts_resolve
#define csv_read vfr_pack_csv_read
#define csv_next_line vfr_pack_csv_next_line
#define csv_lines_left vfr_pack_csv_lines_left
#define csv_fail vfr_pack_csv_fail
#define split_fields vfr_pack_split_fields
#define lower_eq vfr_pack_lower_eq
#define parse_cell vfr_pack_parse_cell
#define cell_date vfr_pack_cell_date
#define read_header vfr_pack_read_header
#define sort_names vfr_pack_sort_names
#define progress vfr_pack_progress
#define write_rows vfr_pack_write_rows
#define symtab_id vfr_pack_symtab_id

typedef struct pack_opts {
    int32_t *horizons; /* [H] ascending, owned */
    int32_t H;
    int compression;
    const vfr_reporter *rep;
} pack_opts;

vfr_status opts_resolve(const vfr_pack_options *opt, pack_opts *o);

/* ---- the file in memory -------------------------------------------------- */

typedef struct csv {
    const char *path;
    char *buf;    /* [len + 1], NUL-terminated, owned */
    size_t len;
    size_t pos;   /* first unread byte                */
    int64_t line; /* 1-based number of the current line */
} csv;

vfr_status csv_read(const char *path, csv *f);
char *csv_next_line(csv *f);
int64_t csv_lines_left(const csv *f);
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
vfr_status csv_fail(const csv *f, const char *column, const char *fmt, ...);
int64_t split_fields(char *s, char **fields, int64_t cap);
vfr_status read_header(csv *f, const char *want, char ***fields, int64_t *n);

enum { CELL_NUMBER, CELL_MISSING, CELL_NOT_NUMBER, CELL_NOT_FINITE };
int lower_eq(const char *s, const char *lower);
int parse_cell(const char *s, double *v);
vfr_status cell_date(const csv *f, const char *s, int32_t *days);
vfr_status sort_names(const csv *f, const char *const *names, int64_t n, const int64_t *col,
                      const char *what, int32_t *order);
void progress(const pack_opts *o, double done);

/* Symbol names (pointers into the CSV buffer) -> dense ids in order of first
 * appearance, by open addressing. */
typedef struct symtab {
    const char **name; /* [n], capacity cap */
    int32_t n, cap;
    int32_t *slot;     /* [mask + 1]: id + 1, 0 = empty */
    uint64_t mask;
} symtab;

vfr_status symtab_id(symtab *t, const char *s, int32_t *id);

/* The output rows, in (date, symbol) order: either laid out in that order
 * already (date, symbol, features, close), or gathered block by block from
 * file order through perm (src_*). fwd is always in output order. */
typedef struct rows {
    int64_t N;
    const int32_t *date;    /* [N], when perm is NULL                */
    const int32_t *symbol;  /* [N], when perm is NULL                */
    const float *features;  /* [N, F], when perm is NULL             */
    const float *close;     /* [N], when perm is NULL and has_close  */
    const float *const *quality; /* VFR_QUALITY_COUNT x [N] or NULL, when perm is NULL */
    const float *fwd;       /* [N, H] (unused when H == 0)           */
    const int64_t *perm;    /* [N]: file row of each output row      */
    const int32_t *src_date, *src_symbol;
    const float *src_features, *src_close;
} rows;

/* Opens a writer, appends blocks, commits; aborts on any failure so that
 * nothing is left at out_path. Progress runs from p0 to 100. */
vfr_status write_rows(const char *out_path, const vfr_dataset_spec *spec, const rows *r,
                      const pack_opts *o, double p0);

#endif
