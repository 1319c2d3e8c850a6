/* db.c: the database layer's common part (db.h): binding by a type string,
 * the dispatch to the backend, URIs and their redaction. The backends are
 * db_sqlite.c and db_pg.c. */
#include "db_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int db_is_uri(const char *s)
{
    return s && (strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0);
}

void db_redact(const char *uri, char *out, size_t cap)
{
    if (!cap)
        return;
    snprintf(out, cap, "%s", uri ? uri : "");
    if (!db_is_uri(uri))
        return;
    /* scheme://user:password@host... -> scheme://user:***@host... The last
     * '@' before the query ends the user part: a password may hold '/' or
     * (unencoded) '@'; a host or a database name holds neither. */
    const char *auth = strstr(uri, "://") + 3, *q = strchr(auth, '?'), *at = NULL;
    for (const char *p = auth; *p && (!q || p < q); p++)
        if (*p == '@')
            at = p;
    if (at) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (colon)
            snprintf(out, cap, "%.*s***%s", (int)(colon + 1 - uri), uri, at);
    }
    /* ?password=... in the query string */
    char *sep = strchr(out, '?');
    while (sep) {
        char *p = sep + 1;
        if (strncmp(p, "password=", 9) == 0) {
            char *end = strchr(p, '&');
            char rest[4096];
            snprintf(rest, sizeof rest, "%s", end ? end : "");
            snprintf(p + 9, cap - (size_t)(p + 9 - out), "***%s", rest);
        }
        sep = strchr(p, '&');
    }
}

db_kind db_backend(const db *d) { return d->kind; }
const char *db_label(const db *d) { return d->label; }
int db_in_transaction(const db *d) { return d->in_tx; }
int db_lost(const db *d) { return d->lost; }

void db_close(db *d)
{
    if (!d)
        return;
    if (d->ops)
        d->ops->close(d);
    free(d->conninfo);
    free(d);
}

vfr_status db_fail(db *d, const char *what)
{
    return vfr_fail(VFR_ERR_IO, "%s: %s: %s", d->label, what, d->ops->errmsg(d));
}

static vfr_status collect(db *d, const char *types, va_list ap, db_value *v, int *n)
{
    *n = 0;
    for (int i = 0; types && types[i]; i++) {
        if (i >= DB_MAX_PARAMS)
            return vfr_fail(VFR_ERR_INTERNAL, "%s: more than %d parameters", d->label, DB_MAX_PARAMS);
        db_value *x = &v[i];
        memset(x, 0, sizeof *x);
        x->type = types[i];
        switch (types[i]) {
        case 's':
            x->s = va_arg(ap, const char *);
            x->null = !x->s;
            break;
        case 'i':
            x->i = va_arg(ap, int64_t);
            break;
        case 'v':
            x->i = va_arg(ap, int64_t);
            x->null = x->i <= 0;
            x->type = 'i';
            break;
        case 'd':
            x->d = va_arg(ap, double);
            x->null = isnan(x->d);
            break;
        default:
            return vfr_fail(VFR_ERR_INTERNAL, "%s: bad bind type '%c'", d->label, types[i]);
        }
        (*n)++;
    }
    return VFR_OK;
}

static vfr_status prepare_va(db *d, db_stmt **out, const char *sql, const char *types, va_list ap)
{
    *out = NULL;
    db_value v[DB_MAX_PARAMS];
    int n;
    vfr_status st = collect(d, types, ap, v, &n);
    return st == VFR_OK ? db_prepare_values(d, out, sql, v, n) : st;
}

vfr_status db_prepare_values(db *d, db_stmt **out, const char *sql, const db_value *v, int n)
{
    *out = NULL;
    if (n > DB_MAX_PARAMS)
        return vfr_fail(VFR_ERR_INTERNAL, "%s: more than %d parameters", d->label, DB_MAX_PARAMS);
    db_stmt *s = calloc(1, sizeof *s);
    if (!s)
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", d->label);
    s->d = d;
    vfr_status st = d->ops->prepare(d, s, sql, v, n);
    if (st != VFR_OK) {
        db_finalize(s);
        return st;
    }
    *out = s;
    return VFR_OK;
}

vfr_status db_prepare(db *d, db_stmt **out, const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    vfr_status st = prepare_va(d, out, sql, types, ap);
    va_end(ap);
    return st;
}

int db_step(db_stmt *s)
{
    int rc = s->d->ops->step(s);
    if (rc < 0)
        db_fail(s->d, "running a statement");
    return rc;
}

void db_finalize(db_stmt *s)
{
    if (!s)
        return;
    s->d->ops->finalize(s);
    free(s);
}

const char *db_text(db_stmt *s, int col) { return s->d->ops->text(s, col); }
int64_t db_int(db_stmt *s, int col) { return s->d->ops->integer(s, col); }
double db_double(db_stmt *s, int col) { return s->d->ops->real(s, col); }
int db_is_null(db_stmt *s, int col) { return s->d->ops->is_null(s, col); }

char *db_text_dup(db_stmt *s, int col)
{
    const char *t = db_text(s, col);
    return t ? vfri_strdup(t) : NULL;
}

/* Runs a prepared statement to its end: *first gets the first row's first
 * column (0 when no row), *changed the rows it changed. */
static vfr_status run_to_end(db *d, const char *what, vfr_status st, db_stmt *s, int64_t *first, int64_t *changed)
{
    if (st != VFR_OK)
        return st;
    int rc, rows = 0;
    while ((rc = db_step(s)) == 1)
        if (rows++ == 0 && first)
            *first = db_int(s, 0);
    if (rc < 0)
        st = db_fail(d, what);
    else if (changed)
        *changed = d->ops->changes(s);
    db_finalize(s);
    return st;
}

vfr_status db_exec(db *d, int64_t *changed, const char *sql, const char *types, ...)
{
    if (changed)
        *changed = 0;
    db_stmt *s = NULL;
    va_list ap;
    va_start(ap, types);
    vfr_status st = prepare_va(d, &s, sql, types, ap);
    va_end(ap);
    return run_to_end(d, "writing", st, s, NULL, changed);
}

vfr_status db_query_int(db *d, int64_t *out, const char *sql, const char *types, ...)
{
    *out = 0;
    db_stmt *s = NULL;
    va_list ap;
    va_start(ap, types);
    vfr_status st = prepare_va(d, &s, sql, types, ap);
    va_end(ap);
    return run_to_end(d, "reading", st, s, out, NULL);
}

vfr_status db_exec_script(db *d, const char *what, const char *sql) { return d->ops->exec_script(d, what, sql); }

vfr_status db_begin(db *d)
{
    vfr_status st = d->ops->begin(d);
    d->in_tx = st == VFR_OK;
    return st;
}

vfr_status db_commit(db *d)
{
    vfr_status st = d->ops->commit(d);
    d->in_tx = 0;
    return st;
}

void db_rollback(db *d)
{
    if (d->in_tx)
        d->ops->rollback(d);
    d->in_tx = 0;
}
