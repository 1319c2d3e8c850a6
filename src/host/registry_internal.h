/* registry_internal.h: what the registry's source files share (registry.c:
 * store, schema, versions, listings; registry_deploy.c: validation gate,
 * aliases, A/B tests; registry_predict.c: loading and scoring). Not public. */
#ifndef VFR_REGISTRY_INTERNAL_H
#define VFR_REGISTRY_INTERNAL_H

#include <sqlite3.h>
#include <stdint.h>

#include "vfr/registry.h"

struct vfr_registry {
    sqlite3 *db;
    char dir[4096];
    char objects[4200]; /* dir/objects */
    int busy_ms;        /* how long a writer waits for the lock */
};

/* Statements: prepare, bind by a type string, step. types: 's' text (NULL
 * pointer binds NULL), 'i' int64, 'd' double, 'v' int64 version id where
 * <= 0 binds NULL. Values are always bound, never pasted into SQL. */
vfr_status reg_prepare(vfr_registry *reg, const char *sql, sqlite3_stmt **out);
vfr_status reg_bind(vfr_registry *reg, sqlite3_stmt *s, const char *types, ...);
/* Runs a statement that returns no rows (prepare, bind, step, finalize). */
vfr_status reg_run(vfr_registry *reg, const char *sql, const char *types, ...);
/* The SQLite error as a vfr failure naming the registry and the step. */
vfr_status reg_sql_fail(vfr_registry *reg, const char *what);

/* BEGIN IMMEDIATE, waiting up to busy_ms for other writers (never a
 * "database is locked" error to the user before that), COMMIT, ROLLBACK. */
vfr_status reg_begin(vfr_registry *reg);
vfr_status reg_commit(vfr_registry *reg);
void reg_rollback(vfr_registry *reg);

/* Test hook: when VFR_REGISTRY_FAULT is `point` or `op:point`, the process
 * kills itself with SIGKILL here (crash-safety tests). */
void reg_fault(const char *op, const char *point);

/* Who acts: given, else $USER, getlogin(), else "uid N". */
void reg_who(const char *given, char out[64]);

/* The model's row id. Errors: INVALID_ARG (bad name), NOT_FOUND (naming the
 * registry). */
vfr_status reg_model_id(vfr_registry *reg, const char *name, int64_t *id);
/* A version by row id, or by model id and "MAJOR.MINOR.PATCH" (NOT_FOUND
 * listing the model's versions). */
vfr_status reg_version_by_id(vfr_registry *reg, int64_t id, vfr_registry_version **out);
vfr_status reg_version_by_name(vfr_registry *reg, int64_t model_id, const char *name,
                               const char *version, vfr_registry_version **out);
/* The alias's version id and traffic; *vid = 0 when the alias is unset. */
vfr_status reg_alias_get(vfr_registry *reg, int64_t model_id, const char *alias, int64_t *vid,
                         double *traffic);

/* Checks a stored object's SHA-256 (and that it exists). Errors: NOT_FOUND,
 * INTEGRITY naming the file, `what` and both digests. */
vfr_status reg_verify_object(const vfr_registry *reg, const char *sha256, const char *what);

/* A model config to load a version's artifact on the CPU (pointers into v). */
void reg_model_config(const vfr_registry_version *v, vfr_model_config *cfg);

#endif
