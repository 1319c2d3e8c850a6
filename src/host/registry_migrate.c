/* registry_migrate.c: copying a registry into another (registry.h,
 * vfr_registry_copy; `vfr models migrate`), e.g. a folder into a PostgreSQL
 * server. Row ids are kept, so the references between tables stay as they
 * were; every value goes through the database layer with its type, and the
 * copy is read back and compared value for value. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry_internal.h"

/* A table to copy: its columns with their types ('i' integer, 's' text,
 * 'd' real, 'n' integer or NULL), the key that orders it. */
typedef struct table {
    const char *name, *columns, *types, *order;
} table;

static const table tables[] = {
    {"models", "id, name, created_at, created_by", "isss", "id"},
    {"versions",
     "id, model_id, version, major, minor, patch, model_type, objective, horizon, n_features, feature_names, "
     "artifact_sha256, artifact_name, artifact_bytes, probe_sha256, parent_version, run_dir, job_id, created_at, "
     "created_by, lineage, metrics, comparison, job",
     "iisiiissiisssissssssssss", "id"},
    {"aliases", "model_id, alias, version_id, traffic, updated_at", "isids", "model_id, alias"},
    {"alias_history", "id, model_id, alias, action, from_version_id, to_version_id, traffic, forced, who, at, reason",
     "iissnndisss", "id"},
    {"ab_tests",
     "id, model_id, champion_version_id, challenger_version_id, traffic, started_at, started_by, ended_at, outcome",
     "iiiidssss", "id"},
};
#define N_TABLES (sizeof tables / sizeof tables[0])

/* The current row's values (text borrowed from the statement). */
static void read_row(db_stmt *s, const char *types, db_value *v)
{
    for (int c = 0; types[c]; c++) {
        memset(&v[c], 0, sizeof v[c]);
        v[c].null = db_is_null(s, c);
        v[c].type = types[c] == 'n' ? 'i' : types[c];
        if (v[c].null)
            continue;
        if (types[c] == 's')
            v[c].s = db_text(s, c);
        else if (types[c] == 'd')
            v[c].d = db_double(s, c);
        else
            v[c].i = db_int(s, c);
    }
}

static int same(const db_value *a, const db_value *b)
{
    if (a->null || b->null)
        return a->null == b->null;
    if (a->type == 's')
        return strcmp(a->s, b->s) == 0;
    if (a->type == 'd')
        return a->d == b->d;
    return a->i == b->i;
}

static vfr_status copy_table(vfr_registry *from, vfr_registry *to, const table *t, int64_t *rows)
{
    char sel[1024], ins[1024], marks[128] = "?";
    int n = (int)strlen(t->types), commas = 0;
    for (const char *p = t->columns; *p; p++)
        commas += *p == ',';
    if (commas + 1 != n || n > DB_MAX_PARAMS)
        return vfr_fail(VFR_ERR_INTERNAL, "migrate: table %s: %d columns, %d types", t->name, commas + 1, n);
    for (int c = 1; c < n; c++)
        snprintf(marks + 1 + 3 * (c - 1), sizeof marks - 1 - 3 * (size_t)(c - 1), ", ?");
    snprintf(sel, sizeof sel, "SELECT %s FROM %s ORDER BY %s", t->columns, t->name, t->order);
    snprintf(ins, sizeof ins, "INSERT INTO %s(%s) VALUES (%s)", t->name, t->columns, marks);
    db_stmt *s;
    vfr_status st = db_prepare(from->db, &s, sel, NULL);
    if (st != VFR_OK)
        return st;
    int rc;
    *rows = 0;
    while (st == VFR_OK && (rc = db_step(s)) == 1) {
        db_value v[DB_MAX_PARAMS];
        read_row(s, t->types, v);
        db_stmt *w;
        if ((st = db_prepare_values(to->db, &w, ins, v, n)) == VFR_OK) {
            if (db_step(w) < 0)
                st = db_fail(to->db, "copying a row");
            db_finalize(w);
        }
        if (st != VFR_OK)
            vfr_error_prefix("%s: ", t->name);
        (*rows)++;
    }
    if (st == VFR_OK && rc < 0)
        st = db_fail(from->db, "reading the source");
    db_finalize(s);
    return st;
}

/* Reads both tables in the same order and compares every value. */
static vfr_status compare_table(vfr_registry *from, vfr_registry *to, const table *t)
{
    char sel[1024];
    snprintf(sel, sizeof sel, "SELECT %s FROM %s ORDER BY %s", t->columns, t->name, t->order);
    db_stmt *a = NULL, *b = NULL;
    vfr_status st = db_prepare(from->db, &a, sel, NULL);
    if (st == VFR_OK)
        st = db_prepare(to->db, &b, sel, NULL);
    int64_t row = 0;
    while (st == VFR_OK) {
        int ra = db_step(a), rb = db_step(b);
        if (ra < 0 || rb < 0) {
            st = vfr_fail(VFR_ERR_IO, "checking the copy of %s: %s", t->name, vfr_last_error());
            break;
        }
        if (ra != rb) {
            st = vfr_fail(VFR_ERR_INTEGRITY, "the copy of %s has %s rows than the source", t->name,
                          ra ? "fewer" : "more");
            break;
        }
        if (!ra)
            break;
        db_value va[DB_MAX_PARAMS], vb[DB_MAX_PARAMS];
        read_row(a, t->types, va);
        read_row(b, t->types, vb);
        for (int c = 0; t->types[c]; c++)
            if (!same(&va[c], &vb[c])) {
                st = vfr_fail(VFR_ERR_INTEGRITY, "the copy of %s row %lld differs from the source in column %d",
                              t->name, (long long)row + 1, c + 1);
                break;
            }
        row++;
    }
    db_finalize(a);
    db_finalize(b);
    return st;
}

/* Every object a version points at: checked in the source, stored in `to`. */
static vfr_status copy_objects(vfr_registry *from, vfr_registry *to, int64_t *count)
{
    db_stmt *s;
    vfr_status st = db_prepare(from->db, &s,
                               "SELECT artifact_sha256, 'artifact' FROM versions UNION "
                               "SELECT probe_sha256, 'probe set' FROM versions WHERE probe_sha256 IS NOT NULL "
                               "ORDER BY 1",
                               NULL);
    if (st != VFR_OK)
        return st;
    int rc;
    *count = 0;
    while (st == VFR_OK && (rc = db_step(s)) == 1) {
        char want[65], got[65], path[4400];
        int64_t bytes;
        snprintf(want, sizeof want, "%s", db_text(s, 0));
        if ((st = reg_verify_object(from, want, db_text(s, 1))) != VFR_OK)
            break;
        vfr_registry_object_path(from, want, path, sizeof path);
        if ((st = reg_store_object(to, path, got, &bytes)) != VFR_OK)
            break;
        if (strcmp(got, want) != 0)
            st = vfr_fail(VFR_ERR_INTEGRITY, "object %s changed while it was copied (now %s)", want, got);
        (*count)++;
    }
    if (st == VFR_OK && rc < 0)
        st = db_fail(from->db, "reading the source's objects");
    db_finalize(s);
    return st;
}

/* PostgreSQL's identity columns continue after the copied ids. */
static vfr_status reset_ids(vfr_registry *to)
{
    if (db_backend(to->db) != DB_POSTGRES)
        return VFR_OK;
    static const char *const with_id[] = {"models", "versions", "alias_history", "ab_tests"};
    for (size_t i = 0; i < sizeof with_id / sizeof with_id[0]; i++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT setval(pg_get_serial_sequence('%s', 'id'), coalesce((SELECT max(id) FROM %s), 0) + 1, false)",
                 with_id[i], with_id[i]);
        int64_t ignored;
        vfr_status st = db_query_int(to->db, &ignored, sql, NULL);
        if (st != VFR_OK)
            return st;
    }
    return VFR_OK;
}

vfr_status vfr_registry_copy(vfr_registry *from, vfr_registry *to, char **report_json)
{
    if (report_json)
        *report_json = NULL;
    int64_t rows[N_TABLES] = {0}, objects = 0, models = 0;
    vfr_status st = db_query_int(to->db, &models, "SELECT count(*) FROM models", NULL);
    if (st != VFR_OK)
        return st;
    if (models > 0)
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "registry %s already holds %lld model(s): migrate copies into an empty registry", to->dir,
                        (long long)models);
    VFR_TRY(copy_objects(from, to, &objects));
    VFR_TRY(db_begin(to->db));
    /* re-checked under the lock: another migrate may have run meanwhile */
    VFR_TRY(db_query_int(to->db, &models, "SELECT count(*) FROM models", NULL));
    if (models > 0) {
        st = vfr_fail(VFR_ERR_INVALID_ARG, "registry %s is no longer empty: another process wrote to it", to->dir);
        goto fail;
    }
    for (size_t i = 0; i < N_TABLES; i++)
        VFR_TRY(copy_table(from, to, &tables[i], &rows[i]));
    VFR_TRY(reset_ids(to));
    VFR_TRY(db_commit(to->db));

    for (size_t i = 0; i < N_TABLES; i++)
        if ((st = compare_table(from, to, &tables[i])) != VFR_OK)
            return st;
    char *check = NULL;
    if ((st = vfr_registry_check(to, &check)) != VFR_OK) {
        free(check);
        return st;
    }
    free(check);
    if (report_json) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "from", from->dir);
        cJSON_AddStringToObject(r, "to", to->dir);
        cJSON_AddNumberToObject(r, "models", (double)rows[0]);
        cJSON_AddNumberToObject(r, "versions", (double)rows[1]);
        cJSON_AddNumberToObject(r, "aliases", (double)rows[2]);
        cJSON_AddNumberToObject(r, "history", (double)rows[3]);
        cJSON_AddNumberToObject(r, "abTests", (double)rows[4]);
        cJSON_AddNumberToObject(r, "objects", (double)objects);
        cJSON_AddBoolToObject(r, "checked", 1);
        *report_json = cJSON_Print(r);
        cJSON_Delete(r);
        if (!*report_json)
            return vfr_fail(VFR_ERR_NOMEM, "registry: out of memory");
    }
    return VFR_OK;
fail:
    db_rollback(to->db);
    return st;
}
