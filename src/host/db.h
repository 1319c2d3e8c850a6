/* db.h: the one internal database layer under the registry, the queue,
 * schedules and Slurm (not public API). A connection has a backend (SQLite
 * file, PostgreSQL server through libpq) behind one small interface:
 * statements with `?` placeholders bound by a type string, stepped row by
 * row; transactions that hold the store's write lock; a label naming the
 * store in every error (a server URI with its password removed).
 *
 * Every statement binds its values; no value is ever pasted into SQL. */
#ifndef VFR_DB_H
#define VFR_DB_H

#include <stddef.h>
#include <stdint.h>

#include "vfr/status.h"

typedef enum db_kind { DB_SQLITE, DB_POSTGRES } db_kind;

typedef struct db db;
typedef struct db_stmt db_stmt;

/* 1 when s names a PostgreSQL server (postgresql:// or postgres://). */
int db_is_uri(const char *s);
/* The URI without its password (user:***@host): what messages may show.
 * Copies a non-URI unchanged. */
void db_redact(const char *uri, char *out, size_t cap);

/* Opens (create: creating the file) an SQLite database at path. label names
 * the store in errors ("registry DIR"). busy_ms: how long a writer waits for
 * another's lock; busy_env names the variable that sets it (for the error
 * after the wait). Errors: IO naming the label. */
vfr_status db_open_sqlite(const char *path, int create, const char *label, int busy_ms, const char *busy_env, db **out);
/* SQLite: switches the file to WAL (readers beside a writer), waiting out
 * another process's switch. */
vfr_status db_sqlite_wal(db *d);
/* 1 when the last SQLite error says the file is not a database. */
int db_not_a_database(const db *d);
/* Connects to the PostgreSQL server of uri (libpq: PGPASSFILE, PGPASSWORD and
 * the other PG* variables work). lock_key: the advisory lock the store's
 * transactions take (one per store, so a registry and a queue may share a
 * database). Errors: IO naming the server, never its password. */
vfr_status db_open_postgres(const char *uri, const char *label, int64_t lock_key, int busy_ms, const char *busy_env,
                            db **out);
void db_close(db *d); /* NULL is a no-op */
db_kind db_backend(const db *d);
const char *db_label(const db *d);

/* The backend's last error as a vfr failure (IO) naming the store and what
 * was being done. */
vfr_status db_fail(db *d, const char *what);

/* Prepares sql (`?` placeholders) and binds values by a type string: 's'
 * text (NULL pointer binds NULL), 'i' int64_t, 'v' int64_t id where <= 0
 * binds NULL, 'd' double (NaN binds NULL). *out is NULL on failure. */
vfr_status db_prepare(db *d, db_stmt **out, const char *sql, const char *types, ...);
/* One bound value (types as db_prepare's). */
typedef struct db_value {
    char type;
    int null;
    const char *s;
    int64_t i;
    double d;
} db_value;

/* db_prepare with the values in an array (n <= DB_MAX_PARAMS; 'v' is not
 * used here: a NULL is null = 1). */
vfr_status db_prepare_values(db *d, db_stmt **out, const char *sql, const db_value *v, int n);
#define DB_MAX_PARAMS 32

/* 1: a row is ready; 0: done; -1: failed (the error is set, naming the
 * store). */
int db_step(db_stmt *s);
void db_finalize(db_stmt *s); /* NULL is a no-op */
/* Columns of the current row; NULL reads as NULL text, 0, 0.0. */
const char *db_text(db_stmt *s, int col);
int64_t db_int(db_stmt *s, int col);
double db_double(db_stmt *s, int col);
int db_is_null(db_stmt *s, int col);
char *db_text_dup(db_stmt *s, int col); /* malloc'd; NULL for NULL */

/* Runs a statement that returns no rows; *changed (may be NULL) gets the
 * number of rows it changed. */
vfr_status db_exec(db *d, int64_t *changed, const char *sql, const char *types, ...);
/* Runs a statement that returns one integer (INSERT ... RETURNING id,
 * count(*)); *out = 0 when it returns no row. */
vfr_status db_query_int(db *d, int64_t *out, const char *sql, const char *types, ...);
/* Runs several statements without parameters (schema scripts); what names
 * the step in the error. */
vfr_status db_exec_script(db *d, const char *what, const char *sql);

/* Starts a write transaction holding the store's lock (SQLite: BEGIN
 * IMMEDIATE, waiting up to busy_ms for other writers; PostgreSQL: BEGIN and
 * the store's advisory lock), COMMIT, ROLLBACK (no-op outside one). */
vfr_status db_begin(db *d);
vfr_status db_commit(db *d);
void db_rollback(db *d);
int db_in_transaction(const db *d);

/* PostgreSQL: binds data (borrowed until the statement is finalized) as
 * bytea to parameter `param` (1-based) of a prepared statement whose
 * placeholder was bound as NULL text. */
vfr_status db_bind_blob(db_stmt *s, int param, const void *data, size_t len);
/* PostgreSQL: a bytea column as a malloc'd buffer (*data NULL for NULL). */
vfr_status db_blob_dup(db_stmt *s, int col, unsigned char **data, size_t *len);

/* PostgreSQL: 1 when the table named by the one text parameter exists in
 * the current schema. A catalog query with the statement's own snapshot: it
 * sees a table another process created and committed while this one waited
 * for the lock (to_regclass may not). */
#define DB_PG_HAVE_TABLE                                                                                        \
    "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = ?"

/* 1 when the connection to the server was lost (PostgreSQL); a later
 * db_begin or db_prepare reconnects. */
int db_lost(const db *d);

#endif
