/* db_internal.h: what db.c shares with its backends (db_sqlite.c, db_pg.c):
 * the connection and statement records and the backend interface. Nothing
 * outside the database layer includes it. */
#ifndef VFR_DB_INTERNAL_H
#define VFR_DB_INTERNAL_H

#include "db.h"

struct sqlite3;
struct sqlite3_stmt;
struct pg_conn;
struct pg_result;

/* The backend interface: each backend fills one table of these. */
typedef struct db_ops {
    const char *name;
    /* prepare and bind (PostgreSQL sends at the first step) */
    vfr_status (*prepare)(db *d, db_stmt *s, const char *sql, const db_value *v, int n);
    int (*step)(db_stmt *s);
    void (*finalize)(db_stmt *s);
    const char *(*text)(db_stmt *s, int col);
    int64_t (*integer)(db_stmt *s, int col);
    double (*real)(db_stmt *s, int col);
    int (*is_null)(db_stmt *s, int col);
    int64_t (*changes)(db_stmt *s);
    vfr_status (*exec_script)(db *d, const char *what, const char *sql);
    vfr_status (*begin)(db *d);
    vfr_status (*commit)(db *d);
    void (*rollback)(db *d);
    const char *(*errmsg)(db *d);
    void (*close)(db *d);
} db_ops;

struct db {
    const db_ops *ops;
    db_kind kind;
    char label[4400];
    int busy_ms;
    char busy_env[32];
    int in_tx;
    struct sqlite3 *lite;
    struct pg_conn *pg;
    char *conninfo;   /* PostgreSQL: the URI given to libpq (with secrets) */
    int64_t lock_key; /* PostgreSQL: the store's advisory lock */
    int lost;         /* PostgreSQL: the connection broke */
    char err[1024];   /* PostgreSQL: the last error */
};

struct db_stmt {
    db *d;
    struct sqlite3_stmt *ls;
    /* PostgreSQL: the rewritten SQL, the parameters as text, the result */
    char *sql;
    int n;
    char *params[DB_MAX_PARAMS];
    unsigned types[DB_MAX_PARAMS];
    struct pg_result *res;
    int row, rows, sent;
    int blob_param; /* 1-based; 0: none */
    const void *blob;
    size_t blob_len;
};

extern const db_ops db_sqlite_ops;
extern const db_ops db_pg_ops;

#endif
