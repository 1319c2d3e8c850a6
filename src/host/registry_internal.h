/* registry_internal.h: what the registry's source files share (registry.c:
 * store, schema, versions, listings; registry_deploy.c: validation gate,
 * aliases, A/B tests; registry_predict.c: loading and scoring). Not public. */
#ifndef VFR_REGISTRY_INTERNAL_H
#define VFR_REGISTRY_INTERNAL_H

#include <stdint.h>

#include "db.h"

#include "vfr/registry.h"

struct vfr_registry {
    db *db;
    char dir[4096];     /* the folder, or the server's URI without its password */
    char objects[4200]; /* dir/objects; PostgreSQL: the local copies (reg_pg_cache_dir) */
    int busy_ms;        /* how long a writer waits for the lock */
};

/* PostgreSQL (registry_pg.c): the schema migration from version `from`;
 * the header row (app 0 and tables 0 when there is no registry yet); an
 * object stored in the database; a stored object checked and copied into
 * the local folder reg->objects (errors as reg_verify_object); the check of
 * an object on the server (its size in *bytes); the local folder. */
const char *reg_pg_migration(int64_t from);
vfr_status reg_pg_header(vfr_registry *reg, int64_t *app, int64_t *ver, int64_t *tables);
vfr_status reg_pg_store_object(vfr_registry *reg, const char *src, char sha[65], int64_t *bytes);
vfr_status reg_pg_verify_object(const vfr_registry *reg, const char *sha256, const char *what);
vfr_status reg_pg_check_object(const vfr_registry *reg, const char *sha256, const char *what, int64_t *bytes);
void reg_pg_cache_dir(char *out, size_t cap);

/* Test hook, compiled only with -DVFR_FAULT_INJECTION=ON (scripts/test.sh's
 * builds; never a default or installed build): when VFR_REGISTRY_FAULT is
 * `point` or `op:point`, the process kills itself with SIGKILL here
 * (crash-safety tests). Otherwise a no-op the compiler removes. */
#ifdef VFR_FAULT_INJECTION
void reg_fault(const char *op, const char *point);
#else
#define reg_fault(op, point) ((void)(op), (void)(point))
#endif

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

/* Stores a file by content (the objects folder, or the server's objects
 * table), committed before any row points at it. */
vfr_status reg_store_object(vfr_registry *reg, const char *src, char sha[65], int64_t *bytes);

/* A model config to load a version's artifact on the CPU (pointers into v). */
void reg_model_config(const vfr_registry_version *v, vfr_model_config *cfg);

#endif
