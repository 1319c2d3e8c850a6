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
    char dir[4096];
    char objects[4200]; /* dir/objects */
    int busy_ms;        /* how long a writer waits for the lock */
};

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
