/* test_db.c: the internal database layer (src/host/db.h) on its SQLite
 * backend, and what it does for both backends without a server:
 *
 * - a URI's password removed wherever it may be shown (user:pw@, ?password=),
 *   folders and URIs without one left as they are;
 * - binding by type string: text, NULL text, int64 at its extremes, 'v' ids
 *   (<= 0 binds NULL), doubles exactly and NaN as NULL, with `?` inside a
 *   quoted literal left alone;
 * - rows stepped to the end, changed-row counts, INSERT ... RETURNING id;
 * - transactions: a rollback leaves nothing, a commit keeps it; a failing
 *   statement names the store; more than DB_MAX_PARAMS values is refused;
 * - PostgreSQL without a server: a clear IO error naming the server, never
 *   the password.
 * The PostgreSQL backend itself runs in test_registry_pg and test_queue_pg. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "test_util.h"
#include "util.h"

static void redaction(void)
{
    char out[512];
    db_redact("postgresql://vfr:s3cret@db.example:5432/reg", out, sizeof out);
    CHECK(strcmp(out, "postgresql://vfr:***@db.example:5432/reg") == 0);
    db_redact("postgres://u:p%40ss@h/d?sslmode=require", out, sizeof out);
    CHECK(strcmp(out, "postgres://u:***@h/d?sslmode=require") == 0);
    db_redact("postgresql://u@h/d?sslmode=require&password=topsecret&application_name=x", out, sizeof out);
    CHECK(strstr(out, "topsecret") == NULL && strstr(out, "password=***&application_name=x") != NULL);
    db_redact("postgresql://u:a/b@c@h:5432/d", out, sizeof out); /* '/' and '@' in a password */
    CHECK(strcmp(out, "postgresql://u:***@h:5432/d") == 0);
    db_redact("postgresql://h:5432/d", out, sizeof out);
    CHECK(strcmp(out, "postgresql://h:5432/d") == 0);
    db_redact("vfr-registry", out, sizeof out);
    CHECK(strcmp(out, "vfr-registry") == 0);
    CHECK(db_is_uri("postgresql://h/d") && db_is_uri("postgres://h/d") && !db_is_uri("runs/postgresql://x"));
}

static void sqlite_backend(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/t.db", dir);
    db *d = NULL;
    CHECK_OK(db_open_sqlite(path, 1, "store T", 2000, "VFR_TEST_BUSY_MS", &d));
    if (!d)
        return;
    CHECK(db_backend(d) == DB_SQLITE && strcmp(db_label(d), "store T") == 0);
    CHECK_OK(db_sqlite_wal(d));
    CHECK_OK(db_exec_script(d, "creating", "CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT, i INTEGER, r REAL, v INTEGER);"));

    int64_t id = 0, changed = -1;
    CHECK_OK(db_begin(d));
    CHECK(db_in_transaction(d));
    CHECK_OK(db_query_int(d, &id, "INSERT INTO t(s, i, r, v) VALUES (?, ?, ?, ?) RETURNING id", "sidv", "a '?' b",
                          INT64_MAX, 0.1 + 0.2, (int64_t)7));
    CHECK(id == 1);
    CHECK_OK(db_query_int(d, &id, "INSERT INTO t(s, i, r, v) VALUES (?, ?, ?, ?) RETURNING id", "sidv",
                          (const char *)NULL, INT64_MIN, (double)NAN, (int64_t)0));
    CHECK(id == 2);
    CHECK_OK(db_commit(d));
    CHECK(!db_in_transaction(d));

    db_stmt *s = NULL;
    CHECK_OK(db_prepare(d, &s, "SELECT s, i, r, v, '?' FROM t WHERE id >= ? ORDER BY id", "i", (int64_t)1));
    int rows = 0;
    while (s && db_step(s) == 1) {
        if (rows == 0) {
            CHECK(strcmp(db_text(s, 0), "a '?' b") == 0);
            CHECK(db_int(s, 1) == INT64_MAX);
            CHECK(db_double(s, 2) == 0.1 + 0.2); /* exactly, not through text */
            CHECK(db_int(s, 3) == 7 && !db_is_null(s, 3));
            CHECK(strcmp(db_text(s, 4), "?") == 0);
        } else {
            CHECK(db_text(s, 0) == NULL && db_is_null(s, 0));
            char *dup = db_text_dup(s, 0);
            CHECK(dup == NULL);
            CHECK(db_int(s, 1) == INT64_MIN);
            CHECK(db_is_null(s, 2) && db_is_null(s, 3)); /* NaN and id 0 bind NULL */
        }
        rows++;
    }
    CHECK(rows == 2);
    db_finalize(s);

    CHECK_OK(db_exec(d, &changed, "UPDATE t SET i = i WHERE v IS NULL OR v = ?", "i", (int64_t)7));
    CHECK(changed == 2);
    CHECK_OK(db_begin(d));
    CHECK_OK(db_exec(d, &changed, "DELETE FROM t", NULL));
    CHECK(changed == 2);
    db_rollback(d);
    CHECK_OK(db_query_int(d, &id, "SELECT count(*) FROM t", NULL));
    CHECK(id == 2);
    db_rollback(d); /* outside a transaction: nothing */

    CHECK_FAIL(db_exec(d, NULL, "INSERT INTO nosuch VALUES (?)", "i", (int64_t)1), VFR_ERR_IO, "store T");
    CHECK_FAIL(db_exec(d, NULL, "SELECT ?", "x", 1), VFR_ERR_INTERNAL, "bad bind type");
    db_value many[DB_MAX_PARAMS + 1];
    memset(many, 0, sizeof many);
    for (int k = 0; k <= DB_MAX_PARAMS; k++)
        many[k].type = 'i';
    s = NULL;
    CHECK_FAIL(db_prepare_values(d, &s, "SELECT 1", many, DB_MAX_PARAMS + 1), VFR_ERR_INTERNAL, "parameters");
    CHECK(s == NULL);
    db_close(d);
    db_close(NULL);

    /* not a database */
    snprintf(path, sizeof path, "%s/junk.db", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        for (int k = 0; k < 20; k++)
            fputs("not a database\n", f);
        fclose(f);
    }
    CHECK_OK(db_open_sqlite(path, 0, "store J", 100, "X", &d));
    int64_t x = 0;
    CHECK_FAIL(db_query_int(d, &x, "SELECT count(*) FROM sqlite_master", NULL), VFR_ERR_IO, "store J");
    CHECK(db_not_a_database(d));
    db_close(d);
}

static void no_server(void)
{
    /* port 1 on localhost: nothing listens, the refusal is immediate */
    db *d = NULL;
    CHECK_FAIL(db_open_postgres("postgresql://vfr:hunter2@127.0.0.1:1/x?connect_timeout=2",
                                "registry postgresql://vfr:***@127.0.0.1:1/x", 1, 1000, "X", &d),
               VFR_ERR_IO, "cannot connect");
    CHECK(d == NULL);
    CHECK(strstr(vfr_last_error(), "hunter2") == NULL);
    CHECK(strstr(vfr_last_error(), "127.0.0.1") != NULL);
}

int main(void)
{
    char dir[] = "/tmp/vfr-test-db-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    redaction();
    sqlite_backend(dir);
    no_server();
    vfri_remove_tree(dir);
    if (test_failures) {
        fprintf(stderr, "test_db: %d check(s) failed\n", test_failures);
        return 1;
    }
    return 0;
}
