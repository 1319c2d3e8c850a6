/* db_pg.c: the PostgreSQL backend of the database layer (db.h), through
 * libpq. For state shared by several hosts (a cluster's registry and queue).
 * A store's write transactions hold one transaction-scoped advisory lock, so
 * they run one at a time as SQLite's BEGIN IMMEDIATE does (no lost update, no
 * duplicate version, no job claimed twice) while readers never wait. A broken
 * connection is reported naming the server (never its password) and is
 * re-opened at the next statement or transaction. It never prints: libpq's
 * notices are dropped. */
#include <libpq-fe.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_internal.h"
#include "util.h"

#define PG_INT8 20
#define PG_FLOAT8 701
#define PG_BYTEA 17

static void no_notices(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* libpq's messages end with a newline and may run over lines. */
static void set_err(db *d, const char *msg)
{
    snprintf(d->err, sizeof d->err, "%s", msg && *msg ? msg : "unknown error");
    size_t n = strlen(d->err);
    while (n && (d->err[n - 1] == '\n' || d->err[n - 1] == ' '))
        d->err[--n] = '\0';
    for (char *p = d->err; *p; p++)
        if (*p == '\n')
            *p = ' ';
}

/* After a failure: is the connection gone? */
static void note_conn(db *d)
{
    if (PQstatus(d->pg) != CONNECTION_OK)
        d->lost = 1; /* a transaction in flight was rolled back by the server */
}

/* Re-opens a broken connection, outside a transaction only: inside one,
 * the server has rolled it back, and the statements after the break must
 * fail too, not run on a new connection as if they were still part of it. */
static vfr_status ensure(db *d)
{
    if (PQstatus(d->pg) == CONNECTION_OK) {
        d->lost = 0;
        return VFR_OK;
    }
    if (d->in_tx) {
        d->lost = 1;
        return vfr_fail(VFR_ERR_IO, "%s: the connection broke during a transaction; none of it was applied",
                        d->label);
    }
    PQreset(d->pg);
    if (PQstatus(d->pg) != CONNECTION_OK) {
        set_err(d, PQerrorMessage(d->pg));
        d->lost = 1;
        return vfr_fail(VFR_ERR_IO, "%s: the server cannot be reached: %s", d->label, d->err);
    }
    PQsetNoticeProcessor(d->pg, no_notices, NULL);
    d->lost = 0;
    return VFR_OK;
}

/* `?` -> `$n` outside quotes and identifiers. */
static char *rewrite(const char *sql, int *count)
{
    size_t n = strlen(sql);
    char *out = malloc(n * 4 + 1);
    if (!out)
        return NULL;
    char quote = 0, *o = out;
    int k = 0;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
            *o++ = *p;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
            *o++ = *p;
        } else if (*p == '?') {
            o += sprintf(o, "$%d", ++k);
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    *count = k;
    return out;
}

static vfr_status pg_prepare(db *d, db_stmt *s, const char *sql, const db_value *v, int n)
{
    vfr_status st = ensure(d);
    if (st != VFR_OK)
        return st;
    int k = 0;
    if (!(s->sql = rewrite(sql, &k)))
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", d->label);
    if (k != n)
        return vfr_fail(VFR_ERR_INTERNAL, "%s: %d placeholders, %d values", d->label, k, n);
    s->n = n;
    for (int i = 0; i < n; i++) {
        char buf[64];
        s->types[i] = v[i].type == 'i' ? PG_INT8 : v[i].type == 'd' ? PG_FLOAT8 : 0;
        if (v[i].null)
            continue;
        if (v[i].type == 's')
            s->params[i] = vfri_strdup(v[i].s);
        else if (v[i].type == 'i')
            snprintf(buf, sizeof buf, "%" PRId64, v[i].i), s->params[i] = vfri_strdup(buf);
        else
            snprintf(buf, sizeof buf, "%.17g", v[i].d), s->params[i] = vfri_strdup(buf);
        if (!s->params[i])
            return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", d->label);
    }
    return VFR_OK;
}

static int pg_step(db_stmt *s)
{
    db *d = s->d;
    if (!s->sent) {
        s->sent = 1;
        s->row = -1;
        int formats[DB_MAX_PARAMS] = {0}, lengths[DB_MAX_PARAMS] = {0};
        const char *vals[DB_MAX_PARAMS];
        for (int i = 0; i < s->n; i++) {
            vals[i] = s->params[i];
            if (s->blob_param == i + 1) {
                formats[i] = 1;
                lengths[i] = (int)s->blob_len;
                vals[i] = s->blob;
            }
        }
        s->res = PQexecParams(d->pg, s->sql, s->n, s->types, vals, lengths, formats, 0);
        ExecStatusType rs = PQresultStatus(s->res);
        if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK) {
            set_err(d, s->res ? PQresultErrorMessage(s->res) : PQerrorMessage(d->pg));
            if (!*PQresultErrorMessage(s->res))
                set_err(d, PQerrorMessage(d->pg));
            note_conn(d);
            return -1;
        }
        s->rows = rs == PGRES_TUPLES_OK ? PQntuples(s->res) : 0;
    }
    if (s->row + 1 < s->rows) {
        s->row++;
        return 1;
    }
    return 0;
}

static void pg_finalize(db_stmt *s)
{
    PQclear(s->res);
    free(s->sql);
    for (int i = 0; i < s->n; i++)
        free(s->params[i]);
}

static const char *pg_text(db_stmt *s, int col)
{
    if (s->row < 0 || s->row >= s->rows || col >= PQnfields(s->res) || PQgetisnull(s->res, s->row, col))
        return NULL;
    return PQgetvalue(s->res, s->row, col);
}

static int64_t pg_int(db_stmt *s, int col)
{
    const char *t = pg_text(s, col);
    if (!t)
        return 0;
    if (strcmp(t, "t") == 0)
        return 1;
    return strchr(t, '.') || strchr(t, 'e') ? (int64_t)strtod(t, NULL) : strtoll(t, NULL, 10);
}

static double pg_real(db_stmt *s, int col)
{
    const char *t = pg_text(s, col);
    return t ? strtod(t, NULL) : 0.0;
}

static int pg_is_null(db_stmt *s, int col) { return pg_text(s, col) == NULL; }

static int64_t pg_changes(db_stmt *s)
{
    const char *t = s->res ? PQcmdTuples(s->res) : "";
    return *t ? strtoll(t, NULL, 10) : 0;
}

/* Runs a command without parameters; 0 or -1 (error set). */
static int command(db *d, const char *sql)
{
    PGresult *r = PQexec(d->pg, sql);
    ExecStatusType rs = PQresultStatus(r);
    int ok = rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK;
    if (!ok) {
        set_err(d, r && *PQresultErrorMessage(r) ? PQresultErrorMessage(r) : PQerrorMessage(d->pg));
        note_conn(d);
    }
    PQclear(r);
    return ok ? 0 : -1;
}

static vfr_status pg_exec_script(db *d, const char *what, const char *sql)
{
    vfr_status st = ensure(d);
    if (st != VFR_OK)
        return st;
    if (command(d, sql) != 0)
        return vfr_fail(VFR_ERR_IO, "%s: %s: %s", d->label, what, d->err);
    return VFR_OK;
}

static vfr_status pg_begin(db *d)
{
    vfr_status st = ensure(d);
    if (st != VFR_OK)
        return st;
    char sql[160];
    /* lock_timeout bounds the wait for another writer like busy_ms does
     * for SQLite; SET LOCAL ends with the transaction. */
    snprintf(sql, sizeof sql, "BEGIN; SET LOCAL lock_timeout = %d; SELECT pg_advisory_xact_lock(%" PRId64 ")",
             d->busy_ms, d->lock_key);
    if (command(d, sql) == 0)
        return VFR_OK;
    int timeout = strstr(d->err, "lock timeout") != NULL;
    if (PQstatus(d->pg) == CONNECTION_OK) {
        PGresult *r = PQexec(d->pg, "ROLLBACK");
        PQclear(r);
    }
    if (timeout)
        return vfr_fail(VFR_ERR_IO, "%s: another process kept it busy for %d ms; try again (%s sets the wait)",
                        d->label, d->busy_ms, d->busy_env);
    return vfr_fail(VFR_ERR_IO, "%s: starting a transaction: %s", d->label, d->err);
}

static void pg_rollback(db *d)
{
    if (PQstatus(d->pg) == CONNECTION_OK && PQtransactionStatus(d->pg) != PQTRANS_IDLE) {
        PGresult *r = PQexec(d->pg, "ROLLBACK");
        PQclear(r);
    }
}

static vfr_status pg_commit(db *d)
{
    if (command(d, "COMMIT") == 0)
        return VFR_OK;
    vfr_status st = vfr_fail(VFR_ERR_IO, "%s: committing: %s%s", d->label, d->err,
                             d->lost ? " (the connection broke: the change may or may not have been applied)" : "");
    pg_rollback(d);
    return st;
}

static const char *pg_errmsg(db *d) { return d->err[0] ? d->err : "unknown error"; }

static void pg_close(db *d)
{
    if (d->pg)
        PQfinish(d->pg);
    d->pg = NULL;
}

const db_ops db_pg_ops = {
    "PostgreSQL", pg_prepare, pg_step,   pg_finalize, pg_text,  pg_int,      pg_real,  pg_is_null,
    pg_changes,   pg_exec_script, pg_begin, pg_commit, pg_rollback, pg_errmsg, pg_close,
};

vfr_status db_open_postgres(const char *uri, const char *label, int64_t lock_key, int busy_ms, const char *busy_env,
                            db **out)
{
    *out = NULL;
    db *d = calloc(1, sizeof *d);
    if (!d)
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", label);
    d->ops = &db_pg_ops;
    d->kind = DB_POSTGRES;
    d->busy_ms = busy_ms;
    d->lock_key = lock_key;
    snprintf(d->label, sizeof d->label, "%s", label);
    snprintf(d->busy_env, sizeof d->busy_env, "%s", busy_env);
    /* a connect that hangs is a failure too (PGCONNECT_TIMEOUT overrides) */
    /* the URI's own settings override these defaults (they come after) */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *ct = getenv("PGCONNECT_TIMEOUT");
    const char *vals[] = {ct && *ct ? ct : "10", "vfr", uri, NULL};
    d->pg = PQconnectdbParams(keys, vals, 1);
    if (!d->pg || PQstatus(d->pg) != CONNECTION_OK) {
        set_err(d, d->pg ? PQerrorMessage(d->pg) : "out of memory");
        vfr_status st = vfr_fail(VFR_ERR_IO, "%s: cannot connect: %s", label, d->err);
        db_close(d);
        return st;
    }
    PQsetNoticeProcessor(d->pg, no_notices, NULL);
    *out = d;
    return VFR_OK;
}

vfr_status db_bind_blob(db_stmt *s, int param, const void *data, size_t len)
{
    if (s->d->kind != DB_POSTGRES || param < 1 || param > s->n || s->sent)
        return vfr_fail(VFR_ERR_INTERNAL, "%s: a blob binds to a PostgreSQL parameter before the first step",
                        s->d->label);
    s->types[param - 1] = PG_BYTEA;
    s->blob_param = param;
    s->blob = data;
    s->blob_len = len;
    return VFR_OK;
}

vfr_status db_blob_dup(db_stmt *s, int col, unsigned char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    const char *t = pg_text(s, col);
    if (!t)
        return VFR_OK;
    size_t n = 0;
    unsigned char *raw = PQunescapeBytea((const unsigned char *)t, &n);
    if (!raw)
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", s->d->label);
    *data = malloc(n ? n : 1);
    if (*data)
        memcpy(*data, raw, n);
    PQfreemem(raw);
    if (!*data)
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", s->d->label);
    *len = n;
    return VFR_OK;
}
