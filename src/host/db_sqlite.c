/* db_sqlite.c: the SQLite backend of the database layer (db.h): one file,
 * WAL mode, BEGIN IMMEDIATE as the store's write lock with a bounded wait.
 * Right for one machine's local disk; not for NFS or Lustre (WAL needs
 * shared memory between its users). */
#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db_internal.h"
#include "util.h"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static vfr_status lite_prepare(db *d, db_stmt *s, const char *sql, const db_value *v, int n)
{
    if (sqlite3_prepare_v2(d->lite, sql, -1, &s->ls, NULL) != SQLITE_OK)
        return db_fail(d, "preparing a statement");
    int rc = SQLITE_OK;
    for (int i = 0; i < n && rc == SQLITE_OK; i++) {
        int k = i + 1;
        if (v[i].null)
            rc = sqlite3_bind_null(s->ls, k);
        else if (v[i].type == 's')
            rc = sqlite3_bind_text(s->ls, k, v[i].s, -1, SQLITE_TRANSIENT);
        else if (v[i].type == 'i')
            rc = sqlite3_bind_int64(s->ls, k, v[i].i);
        else
            rc = sqlite3_bind_double(s->ls, k, v[i].d);
    }
    return rc == SQLITE_OK ? VFR_OK : db_fail(d, "binding a value");
}

static int lite_step(db_stmt *s)
{
    int rc = sqlite3_step(s->ls);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static void lite_finalize(db_stmt *s) { sqlite3_finalize(s->ls); }

static const char *lite_text(db_stmt *s, int col) { return (const char *)sqlite3_column_text(s->ls, col); }

static int64_t lite_int(db_stmt *s, int col) { return sqlite3_column_int64(s->ls, col); }
static double lite_real(db_stmt *s, int col) { return sqlite3_column_double(s->ls, col); }
static int lite_is_null(db_stmt *s, int col) { return sqlite3_column_type(s->ls, col) == SQLITE_NULL; }
static int64_t lite_changes(db_stmt *s) { return sqlite3_changes(s->d->lite); }

static vfr_status lite_exec_script(db *d, const char *what, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(d->lite, sql, NULL, NULL, &err) == SQLITE_OK)
        return VFR_OK;
    vfr_status st = vfr_fail(VFR_ERR_IO, "%s: %s: %s", d->label, what, err ? err : sqlite3_errmsg(d->lite));
    sqlite3_free(err);
    return st;
}

static vfr_status lite_begin(db *d)
{
    /* The busy handler already waits up to busy_ms; this loop also covers the
     * cases SQLite reports as busy without calling it (WAL recovery). */
    double deadline = vfri_seconds() + d->busy_ms / 1000.0;
    for (;;) {
        int rc = sqlite3_exec(d->lite, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return VFR_OK;
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
            return db_fail(d, "starting a transaction");
        if (vfri_seconds() > deadline)
            return vfr_fail(VFR_ERR_IO, "%s: another process kept it busy for %d ms; try again (%s sets the wait)",
                            d->label, d->busy_ms, d->busy_env);
        sleep_ms(5 + (int)(getpid() % 20)); /* processes wake at different times */
    }
}

static void lite_rollback(db *d)
{
    if (!sqlite3_get_autocommit(d->lite))
        sqlite3_exec(d->lite, "ROLLBACK", NULL, NULL, NULL);
}

static vfr_status lite_commit(db *d)
{
    double deadline = vfri_seconds() + d->busy_ms / 1000.0;
    for (;;) {
        int rc = sqlite3_exec(d->lite, "COMMIT", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return VFR_OK;
        if ((rc & 0xff) != SQLITE_BUSY || vfri_seconds() > deadline) {
            vfr_status st = db_fail(d, "committing");
            lite_rollback(d);
            return st;
        }
        sleep_ms(5);
    }
}

static const char *lite_errmsg(db *d) { return d->lite ? sqlite3_errmsg(d->lite) : "out of memory"; }

static void lite_close(db *d)
{
    sqlite3_close(d->lite); /* NULL is a no-op */
    d->lite = NULL;
}

const db_ops db_sqlite_ops = {
    "SQLite",     lite_prepare,     lite_step,  lite_finalize, lite_text,     lite_int,    lite_real,  lite_is_null,
    lite_changes, lite_exec_script, lite_begin, lite_commit,   lite_rollback, lite_errmsg, lite_close,
};

vfr_status db_open_sqlite(const char *path, int create, const char *label, int busy_ms, const char *busy_env, db **out)
{
    *out = NULL;
    db *d = calloc(1, sizeof *d);
    if (!d)
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", label);
    d->ops = &db_sqlite_ops;
    d->kind = DB_SQLITE;
    d->busy_ms = busy_ms;
    snprintf(d->label, sizeof d->label, "%s", label);
    snprintf(d->busy_env, sizeof d->busy_env, "%s", busy_env);
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &d->lite, flags, NULL) != SQLITE_OK) {
        const char *base = strrchr(path, '/');
        vfr_status st = vfr_fail(VFR_ERR_IO, "%s: cannot open %s: %s", label, base ? base + 1 : path, lite_errmsg(d));
        db_close(d);
        return st;
    }
    sqlite3_busy_timeout(d->lite, busy_ms);
    sqlite3_extended_result_codes(d->lite, 0);
    *out = d;
    return VFR_OK;
}

vfr_status db_sqlite_wal(db *d)
{
    /* The mode is stored in the file, so this is a no-op after the first
     * open; another process's switch can hold the lock for a moment. */
    double deadline = vfri_seconds() + d->busy_ms / 1000.0;
    for (;;) {
        sqlite3_stmt *s;
        int rc = sqlite3_prepare_v2(d->lite, "PRAGMA journal_mode = WAL", -1, &s, NULL);
        if (rc == SQLITE_OK) {
            rc = sqlite3_step(s);
            sqlite3_finalize(s);
        }
        if (rc == SQLITE_ROW || rc == SQLITE_DONE)
            return VFR_OK;
        if (rc != SQLITE_BUSY || vfri_seconds() > deadline)
            return db_fail(d, "switching to WAL");
        sleep_ms(10);
    }
}

int db_not_a_database(const db *d)
{
    if (d->kind != DB_SQLITE)
        return 0;
    int rc = sqlite3_errcode(d->lite);
    return rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT;
}
