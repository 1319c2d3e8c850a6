/* registry.c: the registry's store (registry.h): opening and migrating the
 * SQLite database, the content-addressed object folder, registering run
 * folders as immutable versions, reading versions back, the JSON listings and
 * the consistency check. The validation gate and alias moves are in
 * registry_deploy.c; loading and scoring in registry_predict.c.
 *
 * Every statement binds its values; no value is ever pasted into SQL. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "registry_internal.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runfolder_internal.h"
#include "util.h"
#include "vfr/dataset.h"
#include "vfr/digest.h"
#include "vfr/metrics.h"
#include "vfr/predictions.h"
#include "vfr/probe.h"

/* 'vfr1': marks the database as a vfr registry (PRAGMA application_id). */
#define REG_APPLICATION_ID 1986425393

/* migrations[i] takes the schema from version i to i + 1, in the same
 * transaction as the user_version it sets. Append only: a released schema
 * is never edited, a change is a new migration. */
static const char *const migrations[VFR_REGISTRY_SCHEMA_VERSION] = {
    /* 0 -> 1: the first schema */
    "PRAGMA application_id = 1986425393;"
    "CREATE TABLE models("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  created_at TEXT NOT NULL,"
    "  created_by TEXT NOT NULL);"
    "CREATE TABLE versions("
    "  id INTEGER PRIMARY KEY,"
    "  model_id INTEGER NOT NULL REFERENCES models(id),"
    "  version TEXT NOT NULL,"
    "  major INTEGER NOT NULL, minor INTEGER NOT NULL, patch INTEGER NOT NULL,"
    "  model_type TEXT NOT NULL,"
    "  objective TEXT NOT NULL,"
    "  horizon INTEGER NOT NULL,"
    "  n_features INTEGER NOT NULL,"
    "  feature_names TEXT,"
    "  artifact_sha256 TEXT NOT NULL,"
    "  artifact_name TEXT NOT NULL,"
    "  artifact_bytes INTEGER NOT NULL,"
    "  probe_sha256 TEXT,"
    "  parent_version TEXT,"
    "  run_dir TEXT,"
    "  job_id TEXT,"
    "  created_at TEXT NOT NULL,"
    "  created_by TEXT NOT NULL,"
    "  lineage TEXT NOT NULL,"
    "  metrics TEXT NOT NULL,"
    "  comparison TEXT,"
    "  job TEXT NOT NULL,"
    "  UNIQUE(model_id, major, minor, patch));"
    "CREATE TRIGGER versions_immutable BEFORE UPDATE ON versions"
    "  BEGIN SELECT RAISE(ABORT, 'registry versions are immutable'); END;"
    "CREATE TRIGGER versions_kept BEFORE DELETE ON versions"
    "  BEGIN SELECT RAISE(ABORT, 'registry versions are never deleted'); END;"
    "CREATE TABLE aliases("
    "  model_id INTEGER NOT NULL REFERENCES models(id),"
    "  alias TEXT NOT NULL CHECK(alias IN ('champion', 'challenger')),"
    "  version_id INTEGER NOT NULL REFERENCES versions(id),"
    "  traffic REAL,"
    "  updated_at TEXT NOT NULL,"
    "  PRIMARY KEY(model_id, alias));"
    "CREATE TABLE alias_history("
    "  id INTEGER PRIMARY KEY,"
    "  model_id INTEGER NOT NULL REFERENCES models(id),"
    "  alias TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  from_version_id INTEGER REFERENCES versions(id),"
    "  to_version_id INTEGER REFERENCES versions(id),"
    "  traffic REAL,"
    "  forced INTEGER NOT NULL DEFAULT 0,"
    "  who TEXT NOT NULL,"
    "  at TEXT NOT NULL,"
    "  reason TEXT NOT NULL DEFAULT '');"
    "CREATE TRIGGER history_append_only BEFORE UPDATE ON alias_history"
    "  BEGIN SELECT RAISE(ABORT, 'registry history is append-only'); END;"
    "CREATE TRIGGER history_kept BEFORE DELETE ON alias_history"
    "  BEGIN SELECT RAISE(ABORT, 'registry history is append-only'); END;"
    "CREATE TABLE ab_tests("
    "  id INTEGER PRIMARY KEY,"
    "  model_id INTEGER NOT NULL REFERENCES models(id),"
    "  champion_version_id INTEGER NOT NULL REFERENCES versions(id),"
    "  challenger_version_id INTEGER NOT NULL REFERENCES versions(id),"
    "  traffic REAL NOT NULL CHECK(traffic > 0 AND traffic <= 1),"
    "  started_at TEXT NOT NULL,"
    "  started_by TEXT NOT NULL,"
    "  ended_at TEXT,"
    "  outcome TEXT);"
    "CREATE UNIQUE INDEX ab_tests_one_active ON ab_tests(model_id) WHERE ended_at IS NULL;"
    "CREATE INDEX versions_by_model ON versions(model_id, major, minor, patch);"
    "CREATE INDEX history_by_model ON alias_history(model_id, id);"
    "PRAGMA user_version = 1;",
};

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* ---- the test hook (fault-injection builds only) ------------------------------ */

#ifdef VFR_FAULT_INJECTION
void reg_fault(const char *op, const char *point)
{
    const char *f = getenv("VFR_REGISTRY_FAULT");
    if (!f || !*f)
        return;
    size_t n = strlen(op);
    if (strcmp(f, point) == 0 || (strncmp(f, op, n) == 0 && f[n] == ':' && strcmp(f + n + 1, point) == 0))
        raise(SIGKILL);
}
#endif

void reg_who(const char *given, char out[64])
{
    const char *u = given && *given ? given : getenv("USER");
    if (!u || !*u)
        u = getlogin();
    if (u && *u)
        snprintf(out, 64, "%s", u);
    else
        snprintf(out, 64, "uid %ld", (long)getuid());
}

/* ---- names, versions, references -------------------------------------------- */

vfr_status vfr_registry_check_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    int ok = n >= 1 && n <= 128 && name[0] != '.';
    for (size_t i = 0; ok && i < n; i++) {
        char c = name[i];
        ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
             c == '_' || c == '-';
    }
    if (!ok)
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "model name '%s': use 1-128 of A-Z a-z 0-9 . _ - , not starting with '.' "
                        "(no '/' or '..')",
                        name ? name : "");
    return VFR_OK;
}

vfr_status vfr_registry_parse_semver(const char *s, int32_t v[3])
{
    return vfri_semver_parse(s, VFR_REGISTRY_MAX_VERSION_PART, v);
}

vfr_status vfr_registry_alias_parse(const char *s, vfr_registry_alias *out)
{
    if (s && strcmp(s, "champion") == 0)
        *out = VFR_REGISTRY_CHAMPION;
    else if (s && strcmp(s, "challenger") == 0)
        *out = VFR_REGISTRY_CHALLENGER;
    else
        return vfr_fail(VFR_ERR_INVALID_ARG, "unknown alias '%s': want champion or challenger",
                        s ? s : "");
    return VFR_OK;
}

const char *vfr_registry_alias_name(vfr_registry_alias a)
{
    return a == VFR_REGISTRY_CHALLENGER ? "challenger" : "champion";
}

vfr_status vfr_registry_parse_ref(const char *s, vfr_registry_ref *out)
{
    memset(out, 0, sizeof *out);
    if (!s)
        s = "";
    const char *at = strchr(s, '@'), *colon = strchr(s, ':');
    const char *sep = at ? at : colon;
    if (at && colon)
        return vfr_fail(VFR_ERR_INVALID_ARG, "model reference '%s': use NAME, NAME@ALIAS or NAME:VERSION", s);
    size_t n = sep ? (size_t)(sep - s) : strlen(s);
    if (n >= sizeof out->name)
        n = sizeof out->name - 1; /* the name check below reports it */
    memcpy(out->name, s, n);
    out->name[n] = '\0';
    vfr_status st = vfr_registry_check_name(out->name);
    if (st != VFR_OK)
        return st;
    if (at) {
        vfr_registry_alias a;
        if ((st = vfr_registry_alias_parse(at + 1, &a)) != VFR_OK)
            return st;
        copy_str(out->alias, sizeof out->alias, at + 1);
    } else if (colon) {
        int32_t v[3];
        if ((st = vfr_registry_parse_semver(colon + 1, v)) != VFR_OK)
            return st;
        copy_str(out->version, sizeof out->version, colon + 1);
    }
    return VFR_OK;
}

const char *vfr_registry_default_dir(void)
{
    const char *d = getenv("VFR_REGISTRY");
    return d && *d ? d : VFR_REGISTRY_DEFAULT_DIR;
}

const char *vfr_registry_dir(const vfr_registry *reg) { return reg->dir; }

void vfr_registry_object_path(const vfr_registry *reg, const char *sha256, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", reg->objects, sha256);
}

vfr_status vfr_registry_object_fetch(vfr_registry *reg, const char *sha256, char *buf, size_t cap)
{
    buf[0] = '\0';
    vfr_status st = reg_verify_object(reg, sha256, "object");
    if (st == VFR_OK)
        vfr_registry_object_path(reg, sha256, buf, cap);
    return st;
}

/* ---- open, create, migrate -------------------------------------------------- */

/* 1: the folder has entries other than what a registry creation in flight
 * leaves (registry.db and its WAL files, objects/). */
static int folder_state(const char *dir, int *has_db, int *has_other)
{
    *has_db = *has_other = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
            continue;
        if (strcmp(n, "registry.db") == 0)
            *has_db = 1;
        else if (strcmp(n, "objects") != 0 && strncmp(n, "registry.db-", 12) != 0)
            *has_other = 1;
    }
    closedir(d);
    return 0;
}

/* The header in one statement, so one snapshot: read apart, another
 * process's creation could commit between the reads. */
static vfr_status read_header(vfr_registry *reg, int64_t *app, int64_t *ver, int64_t *tables)
{
    if (db_backend(reg->db) == DB_POSTGRES)
        return reg_pg_header(reg, app, ver, tables);
    static const char sql[] = "SELECT (SELECT application_id FROM pragma_application_id), "
                              "(SELECT user_version FROM pragma_user_version), "
                              "(SELECT count(*) FROM sqlite_master)";
    db_stmt *s;
    *app = *ver = *tables = 0;
    int rc = -1;
    if (db_prepare(reg->db, &s, sql, NULL) == VFR_OK) {
        rc = db_step(s);
        if (rc == 1) {
            *app = db_int(s, 0);
            *ver = db_int(s, 1);
            *tables = db_int(s, 2);
        }
        if (rc < 0 && db_not_a_database(reg->db)) {
            db_finalize(s);
            s = NULL;
            rc = -2;
        }
        db_finalize(s);
    } else if (db_not_a_database(reg->db)) {
        rc = -2;
    }
    if (rc == 1)
        return VFR_OK;
    if (rc == -2)
        return vfr_fail(VFR_ERR_FORMAT, "'%s' is not a vfr registry: registry.db is not an SQLite database",
                        reg->dir);
    return db_fail(reg->db, "reading the header");
}

/* Brings the schema to VFR_REGISTRY_SCHEMA_VERSION in one transaction. Safe
 * when several processes create the registry at once: the version is read
 * again under the write lock. */
static vfr_status migrate(vfr_registry *reg)
{
    vfr_status st = db_begin(reg->db);
    if (st != VFR_OK)
        return st;
    int64_t app, ver, tables;
    VFR_TRY(read_header(reg, &app, &ver, &tables));
    if (app != REG_APPLICATION_ID && (app != 0 || tables != 0)) {
        st = vfr_fail(VFR_ERR_FORMAT, "'%s' is not a vfr registry: registry.db is another application's database",
                      reg->dir);
        goto fail;
    }
    for (int64_t v = ver; v < VFR_REGISTRY_SCHEMA_VERSION; v++) {
        char what[64];
        snprintf(what, sizeof what, "migrating the schema from version %lld", (long long)v);
        const char *sql = db_backend(reg->db) == DB_POSTGRES ? reg_pg_migration(v) : migrations[v];
        if ((st = db_exec_script(reg->db, what, sql)) != VFR_OK)
            goto fail;
    }
    return db_commit(reg->db);
fail:
    db_rollback(reg->db);
    return st;
}

void vfr_registry_close(vfr_registry *reg)
{
    if (!reg)
        return;
    db_close(reg->db);
    free(reg);
}

/* A new registry.db appears whole or not at all: the schema is written into
 * registry.db-new.<pid> (a name openers tolerate, like the WAL files), closed
 * and synced, then hard-linked to registry.db, which fails harmlessly when
 * another process got there first. A full disk leaves no empty registry.db
 * for later readers to reject. */
static vfr_status create_db_atomically(vfr_registry *reg, const char *path, const char *label)
{
    char tmp[4400], side[4500];
    snprintf(tmp, sizeof tmp, "%s-new.%ld", path, (long)getpid());
    unlink(tmp);
    vfr_status st = db_open_sqlite(tmp, 1, label, reg->busy_ms, "VFR_REGISTRY_BUSY_MS", &reg->db);
    if (st == VFR_OK)
        st = db_exec_script(reg->db, "creating registry.db", "PRAGMA synchronous = FULL");
    if (st == VFR_OK)
        st = migrate(reg);
    db_close(reg->db);
    reg->db = NULL;
    if (st == VFR_OK) {
        int fd = open(tmp, O_RDONLY);
        if (fd < 0 || fsync(fd) != 0)
            st = vfr_fail(VFR_ERR_IO, "registry %s: syncing the new registry.db: %s", reg->dir, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    if (st == VFR_OK && link(tmp, path) != 0 && errno != EEXIST)
        st = vfr_fail(VFR_ERR_IO, "registry %s: cannot put registry.db in place: %s", reg->dir, strerror(errno));
    unlink(tmp);
    snprintf(side, sizeof side, "%s-journal", tmp);
    unlink(side);
    return st;
}

/* The folder part of opening: the folder's state, registry.db. */
static vfr_status open_folder(vfr_registry *reg, const char *dir, int create)
{
    snprintf(reg->objects, sizeof reg->objects, "%s/objects", dir);
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        if (!create)
            return vfr_fail(VFR_ERR_NOT_FOUND,
                            "no registry at '%s' (set --registry or VFR_REGISTRY; `vfr models register` creates one)",
                            dir);
        if (vfri_mkdirs(dir) != 0)
            return vfr_fail(VFR_ERR_IO, "registry: cannot create '%s': %s", dir, strerror(errno));
    } else if (!S_ISDIR(sb.st_mode)) {
        return vfr_fail(VFR_ERR_FORMAT, "'%s' is not a vfr registry: it is a file, not a folder", dir);
    }
    int has_db, has_other;
    if (folder_state(dir, &has_db, &has_other) != 0)
        return vfr_fail(VFR_ERR_IO, "registry: cannot read '%s': %s", dir, strerror(errno));
    if (!has_db && has_other)
        return vfr_fail(VFR_ERR_FORMAT, "'%s' is not a vfr registry: it holds other files and no registry.db", dir);
    if (!has_db && !create)
        return vfr_fail(VFR_ERR_NOT_FOUND,
                        "no registry at '%s': the folder is empty (`vfr models register` creates one)", dir);
    char path[4300], label[4200];
    snprintf(path, sizeof path, "%s/registry.db", dir);
    snprintf(label, sizeof label, "registry %s", dir);
    if (!has_db) {
        vfr_status st = create_db_atomically(reg, path, label);
        if (st != VFR_OK)
            return st;
    }
    return db_open_sqlite(path, 0, label, reg->busy_ms, "VFR_REGISTRY_BUSY_MS", &reg->db);
}

vfr_status vfr_registry_open(const char *dir, int create, vfr_registry **out)
{
    *out = NULL;
    vfr_status st = VFR_OK;
    if (!dir || !*dir)
        return vfr_fail(VFR_ERR_INVALID_ARG, "registry: no folder given");
    vfr_registry *reg = calloc(1, sizeof *reg);
    if (!reg)
        return vfr_fail(VFR_ERR_NOMEM, "registry: out of memory");
    int server = db_is_uri(dir);
    db_redact(dir, reg->dir, sizeof reg->dir); /* a folder is kept as given */
    const char *b = getenv("VFR_REGISTRY_BUSY_MS");
    char *end = NULL;
    long ms = b ? strtol(b, &end, 10) : 0;
    reg->busy_ms = b && end && !*end && ms > 0 && ms < 3600000 ? (int)ms : 60000;
    if (server) {
        char label[4200];
        snprintf(label, sizeof label, "registry %s", reg->dir);
        reg_pg_cache_dir(reg->objects, sizeof reg->objects);
        VFR_TRY(db_open_postgres(dir, label, REG_APPLICATION_ID, reg->busy_ms, "VFR_REGISTRY_BUSY_MS", &reg->db));
    } else {
        VFR_TRY(open_folder(reg, dir, create));
    }

    int64_t app, ver, tables;
    VFR_TRY(read_header(reg, &app, &ver, &tables));
    int fresh = app == 0 && tables == 0; /* empty, or being created right now */
    if (!fresh && app != REG_APPLICATION_ID) {
        st = vfr_fail(VFR_ERR_FORMAT, "'%s' is not a vfr registry: registry.db is another application's database",
                      reg->dir);
        goto fail;
    }
    if (fresh && !create) {
        if (server)
            st = vfr_fail(VFR_ERR_NOT_FOUND,
                          "no registry at %s: the database has no vfr registry (`vfr models register` creates one)",
                          reg->dir);
        else
            st = vfr_fail(VFR_ERR_FORMAT, "'%s' is not a vfr registry: registry.db is empty", reg->dir);
        goto fail;
    }
    if (ver > VFR_REGISTRY_SCHEMA_VERSION) {
        st = vfr_fail(VFR_ERR_FORMAT,
                      "registry %s: schema version %lld is newer than this vfr's (%d); use a newer vfr", reg->dir,
                      (long long)ver, VFR_REGISTRY_SCHEMA_VERSION);
        goto fail;
    }
    if (fresh || ver < VFR_REGISTRY_SCHEMA_VERSION)
        VFR_TRY(migrate(reg));
    if (!server) {
        /* WAL lets readers (vfr predict) run beside a writer; the mode is
         * stored in the file, so this is a no-op after the first open. */
        VFR_TRY(db_sqlite_wal(reg->db));
        VFR_TRY(db_exec_script(reg->db, "setting up the connection",
                               "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL"));
        if (create && mkdir(reg->objects, 0755) != 0 && errno != EEXIST) {
            st = vfr_fail(VFR_ERR_IO, "registry: cannot create '%s': %s", reg->objects, strerror(errno));
            goto fail;
        }
    }
    *out = reg;
    return VFR_OK;
fail:
    vfr_registry_close(reg);
    return st;
}

/* ---- reading versions -------------------------------------------------------- */

#define VERSION_COLUMNS                                                                                  \
    "SELECT v.id, m.name, v.version, v.model_type, v.objective, v.horizon, v.n_features, "            \
    "v.feature_names, v.artifact_sha256, v.artifact_name, v.artifact_bytes, v.probe_sha256, "          \
    "v.parent_version, v.created_at, v.created_by, v.lineage, v.metrics, v.comparison, v.job "        \
    "FROM versions v JOIN models m ON m.id = v.model_id "

void vfr_registry_version_free(vfr_registry_version *v)
{
    if (!v)
        return;
    for (int32_t f = 0; v->feature_names && f < v->F; f++)
        free(v->feature_names[f]);
    free(v->feature_names);
    free(v->lineage_json), free(v->metrics_json), free(v->comparison_json), free(v->job_json);
    free(v);
}

static char *dup_or_null(const char *s) { return s ? vfri_strdup(s) : NULL; }

static vfr_status row_to_version(db_stmt *s, vfr_registry_version **out)
{
    *out = NULL;
    vfr_registry_version *v = calloc(1, sizeof *v);
    if (!v)
        return vfr_fail(VFR_ERR_NOMEM, "registry: out of memory");
    v->id = db_int(s, 0);
    copy_str(v->name, sizeof v->name, db_text(s, 1));
    copy_str(v->version, sizeof v->version, db_text(s, 2));
    copy_str(v->model_type, sizeof v->model_type, db_text(s, 3));
    const char *obj = db_text(s, 4);
    v->objective = obj && strcmp(obj, "return") == 0 ? VFR_OBJECTIVE_RETURN : VFR_OBJECTIVE_DIRECTION;
    v->horizon = (int)db_int(s, 5);
    v->F = (int)db_int(s, 6);
    const char *fn = db_text(s, 7);
    cJSON *names = fn ? cJSON_Parse(fn) : NULL;
    if (names && cJSON_IsArray(names) && cJSON_GetArraySize(names) == v->F && v->F > 0) {
        v->feature_names = calloc((size_t)v->F, sizeof *v->feature_names);
        int i = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, names)
        {
            if (v->feature_names)
                v->feature_names[i] = vfri_strdup(cJSON_IsString(e) ? e->valuestring : "");
            i++;
        }
    }
    cJSON_Delete(names);
    copy_str(v->artifact_sha256, sizeof v->artifact_sha256, db_text(s, 8));
    copy_str(v->artifact_name, sizeof v->artifact_name, db_text(s, 9));
    v->artifact_bytes = db_int(s, 10);
    copy_str(v->probe_sha256, sizeof v->probe_sha256, db_text(s, 11));
    copy_str(v->parent, sizeof v->parent, db_text(s, 12));
    copy_str(v->created_at, sizeof v->created_at, db_text(s, 13));
    copy_str(v->created_by, sizeof v->created_by, db_text(s, 14));
    v->lineage_json = dup_or_null(db_text(s, 15));
    v->metrics_json = dup_or_null(db_text(s, 16));
    v->comparison_json = dup_or_null(db_text(s, 17));
    v->job_json = dup_or_null(db_text(s, 18));
    int bad = !v->lineage_json || !v->metrics_json || !v->job_json || (fn && v->F > 0 && !v->feature_names);
    for (int32_t f = 0; !bad && v->feature_names && f < v->F; f++)
        bad = !v->feature_names[f];
    if (bad) {
        vfr_registry_version_free(v);
        return vfr_fail(VFR_ERR_NOMEM, "registry: out of memory");
    }
    *out = v;
    return VFR_OK;
}

vfr_status reg_version_by_id(vfr_registry *reg, int64_t id, vfr_registry_version **out)
{
    *out = NULL;
    db_stmt *s;
    vfr_status st = db_prepare(reg->db, &s, VERSION_COLUMNS "WHERE v.id = ?", "i", id);
    if (st != VFR_OK)
        return st;
    if (st == VFR_OK) {
        int rc = db_step(s);
        if (rc == 1)
            st = row_to_version(s, out);
        else if (rc == 0)
            st = vfr_fail(VFR_ERR_NOT_FOUND, "registry %s: no version with id %lld", reg->dir, (long long)id);
        else
            st = db_fail(reg->db, "reading a version");
    }
    db_finalize(s);
    return st;
}

/* "1.0.0, 1.0.1" (the model's versions, for messages). */
static void list_versions(vfr_registry *reg, int64_t model_id, char *buf, size_t cap)
{
    buf[0] = '\0';
    db_stmt *s;
    if (db_prepare(reg->db, &s, "SELECT version FROM versions WHERE model_id = ? ORDER BY major, minor, patch", "i",
                   model_id) != VFR_OK)
        return;
    size_t len = 0;
    int n = 0;
    if (1)
        while (db_step(s) == 1 && len + 40 < cap) {
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", n++ ? ", " : "", db_text(s, 0));
        }
    db_finalize(s);
    if (!n)
        snprintf(buf, cap, "none");
}

vfr_status reg_model_id(vfr_registry *reg, const char *name, int64_t *id)
{
    *id = 0;
    vfr_status st = vfr_registry_check_name(name);
    if (st != VFR_OK)
        return st;
    db_stmt *s;
    if ((st = db_prepare(reg->db, &s, "SELECT id FROM models WHERE name = ?", "s", name)) != VFR_OK)
        return st;
    if (st == VFR_OK) {
        int rc = db_step(s);
        if (rc == 1)
            *id = db_int(s, 0);
        else if (rc == 0)
            st = vfr_fail(VFR_ERR_NOT_FOUND, "no model '%s' in registry %s", name, reg->dir);
        else
            st = db_fail(reg->db, "reading models");
    }
    db_finalize(s);
    return st;
}

vfr_status reg_version_by_name(vfr_registry *reg, int64_t model_id, const char *name, const char *version,
                               vfr_registry_version **out)
{
    *out = NULL;
    int32_t sv[3];
    vfr_status st = vfr_registry_parse_semver(version, sv);
    if (st != VFR_OK)
        return st;
    db_stmt *s;
    if ((st = db_prepare(reg->db, &s,
                         VERSION_COLUMNS "WHERE v.model_id = ? AND v.major = ? AND v.minor = ? AND v.patch = ?", "iiii",
                         model_id, (int64_t)sv[0], (int64_t)sv[1], (int64_t)sv[2])) != VFR_OK)
        return st;
    if (st == VFR_OK) {
        int rc = db_step(s);
        if (rc == 1) {
            st = row_to_version(s, out);
        } else if (rc == 0) {
            char have[1024];
            db_finalize(s);
            s = NULL;
            list_versions(reg, model_id, have, sizeof have);
            st = vfr_fail(VFR_ERR_NOT_FOUND, "model '%s' has no version %s (it has: %s)", name, version, have);
        } else {
            st = db_fail(reg->db, "reading a version");
        }
    }
    db_finalize(s);
    return st;
}

vfr_status reg_alias_get(vfr_registry *reg, int64_t model_id, const char *alias, int64_t *vid, double *traffic)
{
    *vid = 0;
    if (traffic)
        *traffic = 0;
    db_stmt *s;
    vfr_status st = db_prepare(reg->db, &s, "SELECT version_id, traffic FROM aliases WHERE model_id = ? AND alias = ?",
                               "is", model_id, alias);
    if (st != VFR_OK)
        return st;
    if (st == VFR_OK) {
        int rc = db_step(s);
        if (rc == 1) {
            *vid = db_int(s, 0);
            if (traffic)
                *traffic = db_double(s, 1);
        } else if (rc != 0) {
            st = db_fail(reg->db, "reading aliases");
        }
    }
    db_finalize(s);
    return st;
}

vfr_status vfr_registry_get(vfr_registry *reg, const char *ref, vfr_registry_version **out)
{
    *out = NULL;
    vfr_registry_ref r;
    vfr_status st = vfr_registry_parse_ref(ref, &r);
    if (st != VFR_OK)
        return st;
    int64_t mid, vid = 0;
    if ((st = reg_model_id(reg, r.name, &mid)) != VFR_OK)
        return st;
    if (r.version[0])
        return reg_version_by_name(reg, mid, r.name, r.version, out);
    if (r.alias[0]) {
        if ((st = reg_alias_get(reg, mid, r.alias, &vid, NULL)) != VFR_OK)
            return st;
        if (!vid)
            return vfr_fail(VFR_ERR_NOT_FOUND, "model '%s' has no %s (vfr models deploy %s:VERSION --as %s)",
                            r.name, r.alias, r.name, r.alias);
        return reg_version_by_id(reg, vid, out);
    }
    db_stmt *s;
    if ((st = db_prepare(
             reg->db, &s,
             "SELECT id FROM versions WHERE model_id = ? ORDER BY major DESC, minor DESC, patch DESC LIMIT 1", "i",
             mid)) != VFR_OK)
        return st;
    if (db_step(s) == 1)
        vid = db_int(s, 0);
    db_finalize(s);
    if (st != VFR_OK)
        return st;
    if (!vid)
        return vfr_fail(VFR_ERR_NOT_FOUND, "model '%s' has no versions", r.name);
    return reg_version_by_id(reg, vid, out);
}

/* ---- objects ------------------------------------------------------------------ */

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

vfr_status reg_verify_object(const vfr_registry *reg, const char *sha256, const char *what)
{
    if (db_backend(reg->db) == DB_POSTGRES)
        return reg_pg_verify_object(reg, sha256, what);
    char path[4400], got[65];
    vfr_registry_object_path(reg, sha256, path, sizeof path);
    vfr_status st = vfr_digest_sha256_file(path, got);
    if (st == VFR_ERR_NOT_FOUND)
        return vfr_fail(VFR_ERR_NOT_FOUND, "the stored %s %s is missing", what, path);
    if (st != VFR_OK)
        return st;
    if (strcmp(got, sha256) != 0)
        return vfr_fail(VFR_ERR_INTEGRITY,
                        "the stored %s %s is corrupt: its SHA-256 is %s, the registry recorded %s", what, path,
                        got, sha256);
    return VFR_OK;
}

/* Stores a file by content: read, hash, write to a temporary name, fsync,
 * rename to objects/<sha256>, fsync the folder. An object already there with
 * the right digest is kept; a damaged one is replaced. */
vfr_status reg_store_object(vfr_registry *reg, const char *src, char sha[65], int64_t *bytes)
{
    if (db_backend(reg->db) == DB_POSTGRES)
        return reg_pg_store_object(reg, src, sha, bytes);
    char *buf;
    size_t len;
    if (vfri_read_file(src, &buf, &len) != 0)
        return vfri_fail_open(src);
    vfr_digest_sha256(buf, len, sha);
    *bytes = (int64_t)len;
    vfr_status st = VFR_OK;
    char dst[4400], tmp[4500];
    vfr_registry_object_path(reg, sha, dst, sizeof dst);
    if (reg_verify_object(reg, sha, "object") == VFR_OK) {
        free(buf);
        vfr_error_clear();
        return VFR_OK;
    }
    vfr_error_clear();
    snprintf(tmp, sizeof tmp, "%s/.tmp-%ld-%.16s", reg->objects, (long)getpid(), sha);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0444);
    if (fd < 0) {
        st = vfr_fail(VFR_ERR_IO, "registry: cannot create %s: %s", tmp, strerror(errno));
        goto done;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    int bad = off != len || fsync(fd) != 0;
    bad |= close(fd) != 0;
    if (bad || rename(tmp, dst) != 0) {
        st = vfr_fail(VFR_ERR_IO, "registry: cannot store %s as %s: %s", src, dst, strerror(errno));
        unlink(tmp);
        goto done;
    }
    if (fsync_dir(reg->objects) != 0)
        st = vfr_fail(VFR_ERR_IO, "registry: cannot sync %s: %s", reg->objects, strerror(errno));
done:
    free(buf);
    return st;
}

/* ---- registering a run folder -------------------------------------------------- */

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* Adds a copy of src[key] (or null) to dst under name. */
static void add_copy(cJSON *dst, const char *name, const cJSON *src, const char *key)
{
    const cJSON *x = src ? cJSON_GetObjectItemCaseSensitive(src, key) : NULL;
    cJSON *c = x ? cJSON_Duplicate(x, 1) : NULL;
    cJSON_AddItemToObject(dst, name, c ? c : cJSON_CreateNull());
}

typedef struct run_info {
    cJSON *job, *manifest, *metrics, *comparison, *search, *processors;
    char name[129], version[32], type[16], artifact[64], objective[16];
    int32_t horizon, F;
    cJSON *feature_names; /* array or NULL */
    char *lineage, *metrics_text, *comparison_text, *job_text, *names_text;
    char run_dir[4096];
} run_info;

static void run_free(run_info *r)
{
    cJSON_Delete(r->job), cJSON_Delete(r->manifest), cJSON_Delete(r->metrics);
    cJSON_Delete(r->comparison), cJSON_Delete(r->search), cJSON_Delete(r->feature_names);
    cJSON_Delete(r->processors);
    free(r->lineage), free(r->metrics_text), free(r->comparison_text), free(r->job_text), free(r->names_text);
}

/* Reads the run folder's files and assembles the version's record (all but
 * the parent and the version number when not given). */
static vfr_status read_run(const char *run_dir, const vfr_registry_register_options *o, const char *who,
                           run_info *r)
{
    vfr_status st;
    vfr_probe *probe = NULL;
    vfr_predictions *pred = NULL;
    if (!realpath(run_dir, r->run_dir))
        return vfr_fail(VFR_ERR_NOT_FOUND, "run folder '%s': %s", run_dir, strerror(errno));
    VFR_TRY(vfri_runfolder_read_json(run_dir, VFR_RUNFILE_JOB, 1, &r->job));
    VFR_TRY(vfri_runfolder_read_json(run_dir, VFR_RUNFILE_MANIFEST, 1, &r->manifest));
    VFR_TRY(vfri_runfolder_read_json(run_dir, VFR_RUNFILE_METRICS, 1, &r->metrics));
    VFR_TRY(vfri_runfolder_read_json(run_dir, VFR_RUNFILE_COMPARISON, 0, &r->comparison));
    VFR_TRY(vfri_runfolder_read_json(run_dir, VFR_RUNFILE_SEARCH, 0, &r->search));
    VFR_TRY(vfri_runfolder_read_json(run_dir, VFR_RUNFILE_PROCESSORS, 0, &r->processors));

    const char *name = o && o->name ? o->name : jstr(r->job, "modelName");
    if (!name) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s/%s: no modelName", run_dir, vfr_runfolder_file_name(VFR_RUNFILE_JOB));
        goto fail;
    }
    VFR_TRY(vfr_registry_check_name(name));
    copy_str(r->name, sizeof r->name, name);
    const char *ver = o && o->version ? o->version : jstr(r->job, "modelVersion");
    if (ver) {
        int32_t sv[3];
        if ((st = vfr_registry_parse_semver(ver, sv)) != VFR_OK) {
            vfr_error_prefix("%s: ", o && o->version ? "--version" : "job.json modelVersion");
            goto fail;
        }
        copy_str(r->version, sizeof r->version, ver);
    }
    const cJSON *mm = cJSON_GetObjectItemCaseSensitive(r->manifest, "model");
    const char *type = jstr(mm, "type") ? jstr(mm, "type") : jstr(r->job, "modelType");
    if (!type) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s/%s: no model.type", run_dir, vfr_runfolder_file_name(VFR_RUNFILE_MANIFEST));
        goto fail;
    }
    copy_str(r->type, sizeof r->type, type);
    const char *art = jstr(mm, "artifact") ? jstr(mm, "artifact") : vfr_model_artifact_name(type);
    if (strchr(art, '/') || art[0] == '.') {
        st = vfr_fail(VFR_ERR_FORMAT, "%s/%s: model.artifact '%s' is not a file name", run_dir,
                      vfr_runfolder_file_name(VFR_RUNFILE_MANIFEST), art);
        goto fail;
    }
    copy_str(r->artifact, sizeof r->artifact, art);
    const char *obj = jstr(r->job, "objective");
    copy_str(r->objective, sizeof r->objective, obj && strcmp(obj, "return") == 0 ? "return" : "direction");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(r->job, "predictionHorizon");
    r->horizon = cJSON_IsNumber(h) ? h->valueint : 1;

    /* the probe set: validated now, so a broken one is refused at the door */
    char path[4400];
    VFR_TRY(vfr_runfolder_path(run_dir, VFR_RUNFILE_PROBE, path, sizeof path));
    if (access(path, F_OK) == 0) {
        VFR_TRY(vfr_probe_read(path, &probe));
        r->F = probe->F;
    }
    /* feature names: metrics.json's featureImportance lists every input, in order */
    const cJSON *fi = cJSON_GetObjectItemCaseSensitive(r->metrics, "featureImportance"), *e;
    if (cJSON_IsArray(fi) && (r->F == 0 || cJSON_GetArraySize(fi) == r->F)) {
        r->feature_names = cJSON_CreateArray();
        cJSON_ArrayForEach(e, fi)
        {
            const char *fname = jstr(e, "feature");
            cJSON_AddItemToArray(r->feature_names, cJSON_CreateString(fname ? fname : ""));
        }
        r->F = cJSON_GetArraySize(fi);
        r->names_text = cJSON_PrintUnformatted(r->feature_names);
    }

    cJSON *lin = cJSON_CreateObject();
    cJSON *run = cJSON_AddObjectToObject(lin, "run");
    cJSON_AddStringToObject(run, "dir", r->run_dir);
    add_copy(run, "jobId", r->job, "jobId");
    add_copy(run, "createdAt", r->manifest, "createdAt");
    add_copy(lin, "dataset", r->manifest, "dataset");
    add_copy(lin, "testPeriod", r->metrics, "testPeriod");
    if (r->search && cJSON_GetObjectItemCaseSensitive(r->search, "bestParams"))
        add_copy(lin, "bestParams", r->search, "bestParams");
    else if (cJSON_GetObjectItemCaseSensitive(r->manifest, "bestParams"))
        add_copy(lin, "bestParams", r->manifest, "bestParams");
    else
        add_copy(lin, "bestParams", cJSON_GetObjectItemCaseSensitive(r->job, "trainingConfig"), "hyperparameters");
    const cJSON *te = r->search ? cJSON_GetObjectItemCaseSensitive(r->search, "trialsEvaluated") : NULL;
    if (!te)
        te = cJSON_GetObjectItemCaseSensitive(r->manifest, "trialsEvaluated");
    cJSON_AddNumberToObject(lin, "trialsEvaluated", cJSON_IsNumber(te) ? te->valuedouble : 1);
    cJSON *vers = cJSON_AddObjectToObject(lin, "versions");
    add_copy(vers, "vfr", r->manifest, "vfrVersion");
    const cJSON *libs = cJSON_GetObjectItemCaseSensitive(r->manifest, "libraries");
    add_copy(vers, "xgboost", libs, "xgboost");
    add_copy(vers, "xgboostCuda", libs, "xgboostCuda");
    if (libs && cJSON_GetObjectItemCaseSensitive(libs, "lightgbm"))
        add_copy(vers, "lightgbm", libs, "lightgbm");
    add_copy(vers, "cudaRuntime", libs, "cudaRuntime");
    add_copy(vers, "cudnn", libs, "cudnn");
    add_copy(vers, "hdf5", libs, "hdf5");
    cJSON *seeds = cJSON_AddObjectToObject(lin, "seeds");
    add_copy(seeds, "training", r->manifest, "seed");
    add_copy(seeds, "search", r->manifest, "searchSeed");
    add_copy(lin, "device", r->manifest, "device");
    add_copy(lin, "model", r->manifest, "model");
    if (r->processors) /* the fitted feature processors, which vfr predict applies */
        cJSON_AddItemToObject(lin, "processors", cJSON_Duplicate(r->processors, 1));
    VFR_TRY(vfr_runfolder_path(run_dir, VFR_RUNFILE_PREDICTIONS, path, sizeof path));
    if (access(path, F_OK) == 0 && vfr_predictions_read(path, VFR_SET_ALL, &pred) == VFR_OK) {
        cJSON *pj = cJSON_AddObjectToObject(lin, "predictions");
        char sha[65], d[11];
        cJSON_AddStringToObject(pj, "file", vfr_runfolder_file_name(VFR_RUNFILE_PREDICTIONS));
        if (vfr_digest_sha256_file(path, sha) == VFR_OK)
            cJSON_AddStringToObject(pj, "sha256", sha);
        cJSON_AddNumberToObject(pj, "rows", (double)pred->N);
        cJSON_AddNumberToObject(pj, "dates", pred->T);
        if (pred->N > 0) {
            vfr_date_format(pred->date[0], d);
            cJSON_AddStringToObject(pj, "dateFirst", d);
            vfr_date_format(pred->date[pred->N - 1], d);
            cJSON_AddStringToObject(pj, "dateLast", d);
        }
        cJSON_AddStringToObject(pj, "task", vfr_metrics_task_name(pred->task));
    }
    vfr_error_clear();
    if (probe) {
        cJSON *pj = cJSON_AddObjectToObject(lin, "probe");
        cJSON_AddNumberToObject(pj, "rows", (double)probe->n);
        cJSON_AddNumberToObject(pj, "features", probe->F);
    }
    cJSON_AddStringToObject(lin, "registeredBy", who);
    r->lineage = cJSON_Print(lin);
    cJSON_Delete(lin);
    r->metrics_text = cJSON_Print(r->metrics);
    r->comparison_text = r->comparison ? cJSON_Print(r->comparison) : NULL;
    r->job_text = cJSON_Print(r->job);
    if (!r->lineage || !r->metrics_text || !r->job_text || (r->comparison && !r->comparison_text) ||
        (r->feature_names && !r->names_text)) {
        st = vfr_fail(VFR_ERR_NOMEM, "registry: out of memory");
        goto fail;
    }
    st = VFR_OK;
fail:
    vfr_probe_free(probe);
    vfr_predictions_free(pred);
    return st;
}

/* DUPLICATE_VERSION when name:version exists (read-only; re-checked under the
 * write lock). */
static vfr_status check_free(vfr_registry *reg, const char *name, const char *version)
{
    int32_t sv[3];
    vfr_status st = vfr_registry_parse_semver(version, sv);
    if (st != VFR_OK)
        return st;
    db_stmt *s;
    if ((st = db_prepare(reg->db, &s,
                         "SELECT 1 FROM versions v JOIN models m ON m.id = v.model_id "
                         "WHERE m.name = ? AND v.major = ? AND v.minor = ? AND v.patch = ?",
                         "siii", name, (int64_t)sv[0], (int64_t)sv[1], (int64_t)sv[2])) != VFR_OK)
        return st;
    if (st == VFR_OK) {
        int rc = db_step(s);
        if (rc == 1)
            st = vfr_fail(VFR_ERR_DUPLICATE_VERSION,
                          "%s:%s is already registered; versions are immutable (give another modelVersion, "
                          "or none for the next patch)",
                          name, version);
        else if (rc != 0)
            st = db_fail(reg->db, "reading versions");
    }
    db_finalize(s);
    return st;
}

vfr_status vfr_registry_register_run(vfr_registry *reg, const char *run_dir,
                                     const vfr_registry_register_options *o, vfr_registry_version **out)
{
    if (out)
        *out = NULL;
    vfr_status st;
    run_info r;
    memset(&r, 0, sizeof r);
    char who[64], now[32], art_sha[65], probe_sha[65] = "", path[4400];
    int64_t art_bytes = 0, probe_bytes = 0, mid = 0, vid = 0;
    reg_who(o ? o->who : NULL, who);
    VFR_TRY(read_run(run_dir, o, who, &r));
    if (r.version[0])
        VFR_TRY(check_free(reg, r.name, r.version));

    VFR_TRY(vfri_runfolder_path_named(run_dir, r.artifact, path, sizeof path));
    VFR_TRY(reg_store_object(reg, path, art_sha, &art_bytes));
    VFR_TRY(vfr_runfolder_path(run_dir, VFR_RUNFILE_PROBE, path, sizeof path));
    if (access(path, F_OK) == 0)
        VFR_TRY(reg_store_object(reg, path, probe_sha, &probe_bytes));
    reg_fault("register", "after_artifact");

    VFR_TRY(db_begin(reg->db));
    vfri_utc_now(now);
    db_stmt *s = NULL;
    VFR_TRY(db_prepare(reg->db, &s, "SELECT id FROM models WHERE name = ?", "s", r.name));
    if (db_step(s) == 1)
        mid = db_int(s, 0);
    db_finalize(s);
    if (st != VFR_OK)
        goto fail;
    if (!mid) {
        VFR_TRY(db_query_int(reg->db, &mid,
                             "INSERT INTO models(name, created_at, created_by) VALUES (?, ?, ?) RETURNING id", "sss",
                             r.name, now, who));
    }
    char parent[32] = "";
    int32_t pv[3] = {0, 0, 0}, sv[3];
    VFR_TRY(db_prepare(reg->db, &s,
                       "SELECT version, major, minor, patch FROM versions WHERE model_id = ? "
                       "ORDER BY major DESC, minor DESC, patch DESC LIMIT 1",
                       "i", mid));
    if (db_step(s) == 1) {
        copy_str(parent, sizeof parent, db_text(s, 0));
        for (int k = 0; k < 3; k++)
            pv[k] = (int)db_int(s, k + 1);
    }
    db_finalize(s);
    if (st != VFR_OK)
        goto fail;
    if (r.version[0]) {
        VFR_TRY(check_free(reg, r.name, r.version)); /* under the lock, for real */
    } else if (parent[0]) {
        /* the next patch; past 999999 (6 digits, the version rule) the
         * next minor, then the next major */
        int32_t nv[3] = {pv[0], pv[1], pv[2] + 1};
        if (nv[2] > VFR_REGISTRY_MAX_VERSION_PART)
            nv[1]++, nv[2] = 0;
        if (nv[1] > VFR_REGISTRY_MAX_VERSION_PART)
            nv[0]++, nv[1] = 0;
        if (nv[0] > VFR_REGISTRY_MAX_VERSION_PART) {
            st = vfr_fail(VFR_ERR_INVALID_ARG, "model %s: no version after %s is left; register with an explicit version",
                          r.name, parent);
            goto fail;
        }
        /* each part is in [0, 999999]: 20 characters at most */
        snprintf(r.version, sizeof r.version, "%u.%u.%u", (unsigned)nv[0] % 1000000u,
                 (unsigned)nv[1] % 1000000u, (unsigned)nv[2] % 1000000u);
    } else {
        snprintf(r.version, sizeof r.version, "1.0.0");
    }
    VFR_TRY(vfr_registry_parse_semver(r.version, sv));
    VFR_TRY(db_query_int(reg->db, &vid,
                         "INSERT INTO versions(model_id, version, major, minor, patch, model_type, objective, horizon, "
                         "n_features, feature_names, artifact_sha256, artifact_name, artifact_bytes, probe_sha256, "
                         "parent_version, run_dir, job_id, created_at, created_by, lineage, metrics, comparison, job) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                         "isiiissiisssissssssssss", mid, r.version, (int64_t)sv[0], (int64_t)sv[1], (int64_t)sv[2],
                         r.type, r.objective, (int64_t)r.horizon, (int64_t)r.F, r.names_text, art_sha, r.artifact,
                         art_bytes, probe_sha[0] ? probe_sha : NULL, parent[0] ? parent : NULL, r.run_dir,
                         jstr(r.job, "jobId"), now, who, r.lineage, r.metrics_text, r.comparison_text, r.job_text));
    reg_fault("register", "before_commit");
    VFR_TRY(db_commit(reg->db));
    reg_fault("register", "after_commit");
    if (out)
        st = reg_version_by_id(reg, vid, out);
    run_free(&r);
    return st;
fail:
    db_rollback(reg->db);
    run_free(&r);
    return st;
}

/* ---- listings ------------------------------------------------------------------ */

static char *alias_version(vfr_registry *reg, int64_t mid, const char *alias, char out[32], double *traffic)
{
    int64_t vid;
    out[0] = '\0';
    if (reg_alias_get(reg, mid, alias, &vid, traffic) != VFR_OK || !vid)
        return NULL;
    db_stmt *s;
    if (db_prepare(reg->db, &s, "SELECT version FROM versions WHERE id = ?", "i", vid) != VFR_OK)
        return NULL;
    if (db_step(s) == 1)
        copy_str(out, 32, db_text(s, 0));
    db_finalize(s);
    return out[0] ? out : NULL;
}

static void add_str_or_null(cJSON *o, const char *key, const char *v)
{
    if (v && *v)
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

static vfr_status finish_json(cJSON *doc, char **out)
{
    *out = doc ? cJSON_Print(doc) : NULL;
    cJSON_Delete(doc);
    return *out ? VFR_OK : vfr_fail(VFR_ERR_NOMEM, "registry: out of memory");
}

vfr_status vfr_registry_list_json(vfr_registry *reg, char **out)
{
    *out = NULL;
    db_stmt *s;
    vfr_status st = db_prepare(reg->db, &s,
                               "SELECT m.id, m.name, m.created_at, "
                               " (SELECT count(*) FROM versions v WHERE v.model_id = m.id), "
                               " (SELECT version FROM versions v WHERE v.model_id = m.id "
                               "  ORDER BY major DESC, minor DESC, patch DESC LIMIT 1) "
                               "FROM models m ORDER BY m.name",
                               NULL);
    if (st != VFR_OK)
        return st;
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "registry", reg->dir);
    cJSON *arr = cJSON_AddArrayToObject(doc, "models");
    int rc;
    while ((rc = db_step(s)) == 1) {
        cJSON *m = cJSON_CreateObject();
        int64_t mid = db_int(s, 0);
        char v[32];
        double traffic;
        cJSON_AddStringToObject(m, "name", db_text(s, 1));
        cJSON_AddStringToObject(m, "createdAt", db_text(s, 2));
        cJSON_AddNumberToObject(m, "versions", (int)db_int(s, 3));
        add_str_or_null(m, "latest", db_text(s, 4));
        add_str_or_null(m, "champion", alias_version(reg, mid, "champion", v, NULL));
        add_str_or_null(m, "challenger", alias_version(reg, mid, "challenger", v, &traffic));
        if (v[0])
            cJSON_AddNumberToObject(m, "traffic", traffic);
        else
            cJSON_AddNullToObject(m, "traffic");
        cJSON_AddItemToArray(arr, m);
    }
    db_finalize(s);
    if (rc != 0) {
        cJSON_Delete(doc);
        return db_fail(reg->db, "listing models");
    }
    return finish_json(doc, out);
}

static void add_parsed(cJSON *o, const char *key, const char *text)
{
    cJSON *x = text ? cJSON_Parse(text) : NULL;
    cJSON_AddItemToObject(o, key, x ? x : cJSON_CreateNull());
}

/* A version as JSON: the summary, or with full = 1 the whole record. */
static cJSON *version_json(vfr_registry *reg, const vfr_registry_version *v, int64_t mid, int full)
{
    cJSON *o = cJSON_CreateObject();
    char a[32];
    cJSON_AddStringToObject(o, "name", v->name);
    cJSON_AddStringToObject(o, "version", v->version);
    cJSON_AddStringToObject(o, "modelType", v->model_type);
    cJSON_AddStringToObject(o, "objective", v->objective == VFR_OBJECTIVE_RETURN ? "return" : "direction");
    cJSON_AddNumberToObject(o, "horizon", v->horizon);
    cJSON_AddStringToObject(o, "createdAt", v->created_at);
    cJSON_AddStringToObject(o, "createdBy", v->created_by);
    add_str_or_null(o, "parent", v->parent);
    cJSON *al = cJSON_AddArrayToObject(o, "aliases");
    if (alias_version(reg, mid, "champion", a, NULL) && strcmp(a, v->version) == 0)
        cJSON_AddItemToArray(al, cJSON_CreateString("champion"));
    if (alias_version(reg, mid, "challenger", a, NULL) && strcmp(a, v->version) == 0)
        cJSON_AddItemToArray(al, cJSON_CreateString("challenger"));
    cJSON *art = cJSON_AddObjectToObject(o, "artifact");
    cJSON_AddStringToObject(art, "name", v->artifact_name);
    cJSON_AddStringToObject(art, "sha256", v->artifact_sha256);
    cJSON_AddNumberToObject(art, "bytes", (double)v->artifact_bytes);
    add_str_or_null(art, "probeSha256", v->probe_sha256);
    cJSON *m = v->metrics_json ? cJSON_Parse(v->metrics_json) : NULL;
    const cJSON *test = cJSON_GetObjectItemCaseSensitive(m, "test");
    cJSON_AddItemToObject(o, "testMetrics", test ? cJSON_Duplicate(test, 1) : cJSON_CreateNull());
    cJSON *c = v->comparison_json ? cJSON_Parse(v->comparison_json) : NULL;
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(c, "decision");
    cJSON_AddItemToObject(o, "decision", dec ? cJSON_Duplicate(dec, 1) : cJSON_CreateNull());
    if (full) {
        cJSON_AddNumberToObject(o, "features", v->F);
        cJSON *fn = cJSON_AddArrayToObject(o, "featureNames");
        for (int32_t f = 0; v->feature_names && f < v->F; f++)
            cJSON_AddItemToArray(fn, cJSON_CreateString(v->feature_names[f]));
        add_parsed(o, "lineage", v->lineage_json);
        cJSON_AddItemToObject(o, "metrics", m ? m : cJSON_CreateNull());
        m = NULL;
        cJSON_AddItemToObject(o, "comparison", c ? c : cJSON_CreateNull());
        c = NULL;
        add_parsed(o, "job", v->job_json);
    }
    cJSON_Delete(m);
    cJSON_Delete(c);
    return o;
}

vfr_status vfr_registry_show_json(vfr_registry *reg, const char *ref, char **out)
{
    *out = NULL;
    vfr_registry_ref r;
    vfr_status st = vfr_registry_parse_ref(ref, &r);
    if (st != VFR_OK)
        return st;
    int64_t mid;
    if ((st = reg_model_id(reg, r.name, &mid)) != VFR_OK)
        return st;
    vfr_registry_version *v = NULL;
    if (r.version[0] || r.alias[0]) {
        if ((st = vfr_registry_get(reg, ref, &v)) != VFR_OK)
            return st;
        cJSON *doc = version_json(reg, v, mid, 1);
        vfr_registry_version_free(v);
        return finish_json(doc, out);
    }
    cJSON *doc = cJSON_CreateObject();
    char a[32];
    double traffic = 0;
    cJSON_AddStringToObject(doc, "name", r.name);
    add_str_or_null(doc, "champion", alias_version(reg, mid, "champion", a, NULL));
    add_str_or_null(doc, "challenger", alias_version(reg, mid, "challenger", a, &traffic));
    if (a[0])
        cJSON_AddNumberToObject(doc, "traffic", traffic);
    else
        cJSON_AddNullToObject(doc, "traffic");
    cJSON *arr = cJSON_AddArrayToObject(doc, "versions");
    db_stmt *s;
    if ((st = db_prepare(reg->db, &s, "SELECT id FROM versions WHERE model_id = ? ORDER BY major, minor, patch", "i",
                         mid)) != VFR_OK) {
        cJSON_Delete(doc);
        return st;
    }
    int64_t ids_cap = 16, n = 0, *ids = malloc(sizeof *ids * (size_t)ids_cap);
    if (st == VFR_OK)
        while (ids && db_step(s) == 1) {
            if (n == ids_cap) {
                int64_t *t = realloc(ids, sizeof *ids * (size_t)(ids_cap *= 2));
                if (!t) {
                    free(ids);
                    ids = NULL;
                    break;
                }
                ids = t;
            }
            ids[n++] = db_int(s, 0);
        }
    db_finalize(s);
    if (!ids) {
        cJSON_Delete(doc);
        return vfr_fail(VFR_ERR_NOMEM, "registry: out of memory");
    }
    for (int64_t i = 0; st == VFR_OK && i < n; i++) {
        if ((st = reg_version_by_id(reg, ids[i], &v)) == VFR_OK)
            cJSON_AddItemToArray(arr, version_json(reg, v, mid, 0));
        vfr_registry_version_free(v);
        v = NULL;
    }
    free(ids);
    if (st != VFR_OK) {
        cJSON_Delete(doc);
        return st;
    }
    return finish_json(doc, out);
}

vfr_status vfr_registry_history_json(vfr_registry *reg, const char *name, char **out)
{
    *out = NULL;
    int64_t mid;
    vfr_status st = reg_model_id(reg, name, &mid);
    if (st != VFR_OK)
        return st;
    db_stmt *s;
    if ((st = db_prepare(reg->db, &s,
                         "SELECT h.at, h.who, h.alias, h.action, f.version, t.version, h.traffic, h.forced, h.reason "
                         "FROM alias_history h LEFT JOIN versions f ON f.id = h.from_version_id "
                         "LEFT JOIN versions t ON t.id = h.to_version_id WHERE h.model_id = ? ORDER BY h.id",
                         "i", mid)) != VFR_OK)
        return st;
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "name", name);
    cJSON *arr = cJSON_AddArrayToObject(doc, "history");
    int rc = 0;
    if (st == VFR_OK)
        while ((rc = db_step(s)) == 1) {
            cJSON *h = cJSON_CreateObject();
            cJSON_AddStringToObject(h, "at", db_text(s, 0));
            cJSON_AddStringToObject(h, "who", db_text(s, 1));
            cJSON_AddStringToObject(h, "alias", db_text(s, 2));
            cJSON_AddStringToObject(h, "action", db_text(s, 3));
            add_str_or_null(h, "from", db_text(s, 4));
            add_str_or_null(h, "to", db_text(s, 5));
            if (db_is_null(s, 6))
                cJSON_AddNullToObject(h, "traffic");
            else
                cJSON_AddNumberToObject(h, "traffic", db_double(s, 6));
            cJSON_AddBoolToObject(h, "forced", (int)db_int(s, 7) != 0);
            cJSON_AddStringToObject(h, "reason", db_text(s, 8) ? db_text(s, 8) : "");
            cJSON_AddItemToArray(arr, h);
        }
    db_finalize(s);
    if (st == VFR_OK && rc != 0)
        st = db_fail(reg->db, "reading the history");
    if (st != VFR_OK) {
        cJSON_Delete(doc);
        return st;
    }
    return finish_json(doc, out);
}

vfr_status vfr_registry_ab_json(vfr_registry *reg, const char *name, char **out)
{
    *out = NULL;
    int64_t mid;
    vfr_status st = reg_model_id(reg, name, &mid);
    if (st != VFR_OK)
        return st;
    db_stmt *s;
    if ((st = db_prepare(reg->db, &s,
                         "SELECT c.version, h.version, a.traffic, a.started_at, a.started_by, a.ended_at, a.outcome "
                         "FROM ab_tests a JOIN versions c ON c.id = a.champion_version_id "
                         "JOIN versions h ON h.id = a.challenger_version_id WHERE a.model_id = ? ORDER BY a.id",
                         "i", mid)) != VFR_OK)
        return st;
    cJSON *doc = cJSON_CreateObject();
    char champ[32];
    cJSON_AddStringToObject(doc, "name", name);
    add_str_or_null(doc, "champion", alias_version(reg, mid, "champion", champ, NULL));
    cJSON *active = NULL, *past = cJSON_CreateArray();
    int rc = 0;
    if (st == VFR_OK)
        while ((rc = db_step(s)) == 1) {
            cJSON *t = cJSON_CreateObject();
            cJSON_AddStringToObject(t, "championAtStart", db_text(s, 0));
            cJSON_AddStringToObject(t, "challenger", db_text(s, 1));
            cJSON_AddNumberToObject(t, "traffic", db_double(s, 2));
            cJSON_AddStringToObject(t, "startedAt", db_text(s, 3));
            cJSON_AddStringToObject(t, "startedBy", db_text(s, 4));
            add_str_or_null(t, "endedAt", db_text(s, 5));
            add_str_or_null(t, "outcome", db_text(s, 6));
            if (!db_text(s, 5)) {
                cJSON_AddStringToObject(t, "routing", "challenger when route_bucket(name, symbol) < traffic");
                cJSON_Delete(active);
                active = t;
            } else {
                cJSON_AddItemToArray(past, t);
            }
        }
    db_finalize(s);
    cJSON_AddItemToObject(doc, "active", active ? active : cJSON_CreateNull());
    cJSON_AddItemToObject(doc, "past", past);
    if (st == VFR_OK && rc != 0)
        st = db_fail(reg->db, "reading A/B tests");
    if (st != VFR_OK) {
        cJSON_Delete(doc);
        return st;
    }
    return finish_json(doc, out);
}

/* ---- consistency check ---------------------------------------------------------- */

static void problem(cJSON *arr, char *first, size_t cap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void problem(cJSON *arr, char *first, size_t cap, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!first[0])
        snprintf(first, cap, "%s", msg);
    cJSON_AddItemToArray(arr, cJSON_CreateString(msg));
}

/* SQLite's own checks: the file's pages and the foreign keys. */
static vfr_status sqlite_checks(vfr_registry *reg, cJSON *probs, char *first, size_t cap)
{
    db_stmt *s;
    vfr_status st = db_prepare(reg->db, &s, "PRAGMA integrity_check", NULL);
    if (st != VFR_OK)
        return st;
    while (db_step(s) == 1) {
        const char *t = db_text(s, 0);
        if (t && strcmp(t, "ok") != 0)
            problem(probs, first, cap, "database: %s", t);
    }
    db_finalize(s);
    if ((st = db_prepare(reg->db, &s, "PRAGMA foreign_key_check", NULL)) != VFR_OK)
        return st;
    while (db_step(s) == 1)
        problem(probs, first, cap, "database: table %s row %lld points at a missing row of %s", db_text(s, 0),
                (long long)db_int(s, 1), db_text(s, 2));
    db_finalize(s);
    return VFR_OK;
}

vfr_status vfr_registry_check(vfr_registry *reg, char **report_json)
{
    if (report_json)
        *report_json = NULL;
    cJSON *doc = cJSON_CreateObject(), *probs = cJSON_CreateArray();
    char first[1024] = "";
    int64_t versions = 0, objects = 0;
    db_stmt *s;
    vfr_status st = VFR_OK;
    int server = db_backend(reg->db) == DB_POSTGRES;
    /* PostgreSQL checks its own pages and enforces the foreign keys */
    if (!server && (st = sqlite_checks(reg, probs, first, sizeof first)) != VFR_OK)
        goto done;
    if ((st = db_prepare(reg->db, &s,
                         "SELECT m.name, v.version, v.artifact_sha256, v.artifact_bytes, v.probe_sha256 "
                         "FROM versions v JOIN models m ON m.id = v.model_id ORDER BY v.id",
                         NULL)) != VFR_OK)
        goto done;
    while (db_step(s) == 1) {
        versions++;
        const char *sha[2] = {db_text(s, 2), db_text(s, 4)};
        static const char *what[2] = {"artifact", "probe set"};
        for (int k = 0; k < 2; k++) {
            if (!sha[k])
                continue;
            objects++;
            int64_t have = -1;
            if ((server ? reg_pg_check_object(reg, sha[k], what[k], &have) : reg_verify_object(reg, sha[k], what[k])) !=
                VFR_OK)
                problem(probs, first, sizeof first, "%s:%s: %s", db_text(s, 0), db_text(s, 1), vfr_last_error());
            if (k == 0 && !server) {
                char path[4400];
                struct stat sb;
                vfr_registry_object_path(reg, sha[0], path, sizeof path);
                if (stat(path, &sb) == 0)
                    have = (int64_t)sb.st_size;
            }
            if (k == 0 && have >= 0 && have != db_int(s, 3))
                problem(probs, first, sizeof first, "%s:%s: artifact is %lld bytes, recorded %lld", db_text(s, 0),
                        db_text(s, 1), (long long)have, (long long)db_int(s, 3));
        }
    }
    db_finalize(s);
    if ((st = db_prepare(reg->db, &s,
                         "SELECT m.name, a.alias FROM aliases a JOIN models m ON m.id = a.model_id "
                         "LEFT JOIN versions v ON v.id = a.version_id WHERE v.id IS NULL OR v.model_id != a.model_id",
                         NULL)) != VFR_OK)
        goto done;
    while (db_step(s) == 1)
        problem(probs, first, sizeof first, "%s@%s points at a missing version", db_text(s, 0), db_text(s, 1));
    db_finalize(s);
    if ((st = db_prepare(reg->db, &s,
                         "SELECT m.name FROM models m WHERE "
                         "(SELECT count(*) FROM aliases a WHERE a.model_id = m.id AND a.alias = 'challenger') != "
                         "(SELECT count(*) FROM ab_tests t WHERE t.model_id = m.id AND t.ended_at IS NULL)",
                         NULL)) != VFR_OK)
        goto done;
    while (db_step(s) == 1)
        problem(probs, first, sizeof first, "%s: the challenger alias and the active A/B test disagree", db_text(s, 0));
    db_finalize(s);
done:
    cJSON_AddBoolToObject(doc, "ok", st == VFR_OK && !first[0]);
    cJSON_AddStringToObject(doc, "registry", reg->dir);
    cJSON_AddNumberToObject(doc, "schemaVersion", VFR_REGISTRY_SCHEMA_VERSION);
    cJSON_AddNumberToObject(doc, "versions", (double)versions);
    cJSON_AddNumberToObject(doc, "objects", (double)objects);
    cJSON_AddItemToObject(doc, "problems", probs);
    if (st == VFR_OK && first[0])
        st = vfr_fail(VFR_ERR_INTEGRITY, "registry %s: %s", reg->dir, first);
    if (report_json) {
        *report_json = cJSON_Print(doc);
    }
    cJSON_Delete(doc);
    return st;
}
