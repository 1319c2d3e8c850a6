/* registry.h: the model registry. Immutable versions with lineage; the
 * champion and challenger aliases, every move kept in history, rollback; A/B
 * tests routed by symbol hash; the validation gate in front of every alias
 * move; loading through the hot-model cache; and scoring (`vfr predict`).
 *
 * Storage is one folder: an SQLite database (WAL) plus a content-addressed
 * folder of artifacts (objects/<sha256>), with nothing running beside it.
 * Every change is one IMMEDIATE transaction; a writer that finds the database
 * busy waits (VFR_REGISTRY_BUSY_MS, default 60000 ms) instead of failing.
 * Artifacts are written to a temporary name, fsynced and renamed before the
 * row that points at them is committed. Layout, schema, routing and checks:
 * docs/registry.md.
 *
 * A vfr_registry handle is one database connection: one thread at a time.
 * Any number of handles and processes may use one registry at once. */
#ifndef VFR_REGISTRY_H
#define VFR_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "vfr/model_cache.h"
#include "vfr/model.h"
#include "vfr/status.h"

#define VFR_REGISTRY_SCHEMA_VERSION 1
#define VFR_REGISTRY_DEFAULT_DIR "vfr-registry"
#define VFR_REGISTRY_MAX_ARTIFACT_BYTES (100LL * 1000 * 1000) /* gate default: 100 MB */
#define VFR_REGISTRY_MAX_LOAD_MS 50.0                         /* gate default          */
#define VFR_REGISTRY_PARITY_TOL 1e-6                          /* gate default          */

typedef struct vfr_registry vfr_registry;

/* $VFR_REGISTRY when set and non-empty, else "vfr-registry". */
const char *vfr_registry_default_dir(void);

/* Opens the registry in folder dir. create = 1 makes it when dir is absent or
 * an empty folder (what `register` does); create = 0 never writes anything
 * (a missing registry is NOT_FOUND). An older schema is migrated in one
 * transaction. Errors: NOT_FOUND (no registry there), FORMAT (dir holds
 * something else: files but no registry.db, a registry.db that is not SQLite
 * or not a vfr registry, a schema newer than this vfr), IO. */
vfr_status vfr_registry_open(const char *dir, int create, vfr_registry **out);
void vfr_registry_close(vfr_registry *reg); /* NULL is a no-op */
const char *vfr_registry_dir(const vfr_registry *reg);

/* A model name: 1-128 of A-Z a-z 0-9 . _ -, not starting with '.' (so no
 * "../" and no '/'). Errors: INVALID_ARG naming the rule. */
vfr_status vfr_registry_check_name(const char *name);
/* "MAJOR.MINOR.PATCH" (each 0..999999, no leading zeros) -> v[3]. INVALID_ARG. */
#define VFR_REGISTRY_MAX_VERSION_PART 999999 /* 6 digits a part */
vfr_status vfr_registry_parse_semver(const char *s, int32_t v[3]);

typedef enum vfr_registry_alias {
    VFR_REGISTRY_CHAMPION = 0,
    VFR_REGISTRY_CHALLENGER,
} vfr_registry_alias;
/* "champion" | "challenger". Errors: INVALID_ARG ("unknown alias"). */
vfr_status vfr_registry_alias_parse(const char *s, vfr_registry_alias *out);
const char *vfr_registry_alias_name(vfr_registry_alias a);

/* A reference as users write it: NAME, NAME@ALIAS or NAME:VERSION. */
typedef struct vfr_registry_ref {
    char name[129];
    char alias[16];   /* "" or champion | challenger                     */
    char version[32]; /* "" or MAJOR.MINOR.PATCH                         */
} vfr_registry_ref;
/* Errors: INVALID_ARG (bad name, unknown alias, bad version). */
vfr_status vfr_registry_parse_ref(const char *s, vfr_registry_ref *out);

/* One registered version, as read back. Owned by the caller
 * (vfr_registry_version_free). */
typedef struct vfr_registry_version {
    int64_t id;                /* row id                                     */
    char name[129];
    char version[32];          /* MAJOR.MINOR.PATCH                          */
    char model_type[16];       /* xgboost | linear | lstm                    */
    vfr_objective objective;
    int32_t horizon;           /* trading days                               */
    int32_t F;                 /* features (0: unknown)                      */
    char **feature_names;      /* [F] the model's input columns, or NULL     */
    char artifact_sha256[65];
    char artifact_name[64];    /* model.json, model.h5                       */
    int64_t artifact_bytes;
    char probe_sha256[65];     /* "" when the run had no probe.h5            */
    char parent[32];           /* the model's latest version when this one was
                                  registered; "" for the first             */
    char created_at[32];       /* UTC, ISO 8601                              */
    char created_by[64];
    char *lineage_json;        /* docs/registry.md, "Lineage"               */
    char *metrics_json;        /* the run's metrics.json                    */
    char *comparison_json;     /* the run's comparison.json, or NULL         */
    char *job_json;            /* the resolved job                          */
} vfr_registry_version;
void vfr_registry_version_free(vfr_registry_version *v); /* NULL is a no-op */

/* ---- versions ----------------------------------------------------------- */

typedef struct vfr_registry_register_options {
    const char *name;    /* NULL: the job's modelName                          */
    const char *version; /* NULL: the job's modelVersion, else the next patch of
                            the model's latest version (1.0.0 for the first)  */
    const char *who;     /* NULL: $USER, getlogin(), else "uid N"             */
} vfr_registry_register_options;

/* Registers a finished run folder (docs/run-folder.md) as a new immutable
 * version: stores the artifact and probe.h5 by SHA-256 and records lineage
 * (dataset digest and dates, symbols, resolved job, best params, trial count,
 * vfr/XGBoost/CUDA versions, seeds, parent version), metrics.json and
 * comparison.json when present. o may be NULL. OUT *out (may be NULL): the
 * new version. Safe to call from many processes at once: each gets its own
 * version. Errors: NOT_FOUND (run folder or a required file), FORMAT (a run
 * file that does not parse), INVALID_ARG (bad name or version),
 * DUPLICATE_VERSION (name:version exists; nothing is changed), IO. */
vfr_status vfr_registry_register_run(vfr_registry *reg, const char *run_dir,
                                     const vfr_registry_register_options *o,
                                     vfr_registry_version **out);

/* Reads the version a reference names: NAME:VERSION, NAME@ALIAS, or NAME
 * (its latest version). Errors: INVALID_ARG (bad reference), NOT_FOUND (no
 * such model, version or alias: the message lists what exists). */
vfr_status vfr_registry_get(vfr_registry *reg, const char *ref, vfr_registry_version **out);

/* Path of a stored object (artifact or probe) by SHA-256: in the objects
 * folder, or for a PostgreSQL registry its local copy (which may not exist
 * yet: vfr_registry_object_fetch makes it). */
void vfr_registry_object_path(const vfr_registry *reg, const char *sha256, char *buf, size_t cap);
/* Checks a stored object's SHA-256 and gives the path of a local file that
 * holds it (a PostgreSQL registry's object is copied out first). Errors:
 * NOT_FOUND, INTEGRITY (naming the object and both digests), IO. */
vfr_status vfr_registry_object_fetch(vfr_registry *reg, const char *sha256, char *buf, size_t cap);

/* JSON documents (pretty text, caller frees), the same the CLI prints with
 * --json. list: every model with its latest version, champion, challenger
 * and traffic. show: a model's versions and aliases (ref NAME), or one
 * version's full record (NAME:VERSION, NAME@ALIAS). history: the model's
 * alias moves, oldest first (at, who, alias, action, from, to, reason).
 * ab: the active A/B test and past ones. Errors as vfr_registry_get. */
vfr_status vfr_registry_list_json(vfr_registry *reg, char **out);
vfr_status vfr_registry_show_json(vfr_registry *reg, const char *ref, char **out);
vfr_status vfr_registry_history_json(vfr_registry *reg, const char *name, char **out);
vfr_status vfr_registry_ab_json(vfr_registry *reg, const char *name, char **out);

/* Consistency check: SQLite's integrity check, every version's artifact and
 * probe present with the right SHA-256, every alias on an existing version.
 * OUT report_json (may be NULL): {"ok", "versions", "objects", "problems": [...]}.
 * Errors: INTEGRITY when a problem is found (the message names the first). */
vfr_status vfr_registry_check(vfr_registry *reg, char **report_json);

/* Copies every model, version, alias, alias move, A/B test and stored object
 * of `from` into `to` (`vfr models migrate`: a folder into a PostgreSQL
 * server, or any backend into any other), then checks the copy: `to` passes
 * vfr_registry_check and holds the same rows, value for value. The objects
 * are stored first; the rows go in one transaction, so a failure leaves `to`
 * as it was (objects aside, which nothing points at). `to` must hold no
 * model. OUT report_json (may be NULL): {"from", "to", "models", "versions",
 * "aliases", "history", "abTests", "objects", "checked"}. Errors:
 * INVALID_ARG (`to` is not empty), INTEGRITY (a source object is damaged, or
 * the copy differs), IO. */
vfr_status vfr_registry_copy(vfr_registry *from, vfr_registry *to, char **report_json);

/* ---- validation gate ------------------------------------------------------ */

typedef struct vfr_registry_gate {
    int64_t max_artifact_bytes;  /* 0: VFR_REGISTRY_MAX_ARTIFACT_BYTES        */
    double max_load_ms;          /* 0: VFR_REGISTRY_MAX_LOAD_MS               */
    double parity_tol;           /* 0: VFR_REGISTRY_PARITY_TOL                */
    const char *thresholds_json; /* NULL, or extra metric thresholds:
                                    {"test.accuracy": {"min": 0.52},
                                     "backtest.model.max_drawdown": {"max": 0.2}}
                                    keys are paths into metrics.json          */
} vfr_registry_gate;

enum { VFR_REGISTRY_MAX_CHECKS = 8 };

typedef struct vfr_registry_check_result {
    char name[24];     /* integrity | artifact_size | load_time | prediction_parity |
                          no_nan | metrics                                    */
    int status;        /* 1 passed, 0 failed, -1 not run (an earlier check failed) */
    double value;      /* bytes, ms, max |diff|, NaN count, failed thresholds  */
    double limit;
    char detail[768];
} vfr_registry_check_result;

typedef struct vfr_registry_validation {
    int passed;
    int n;
    vfr_registry_check_result checks[VFR_REGISTRY_MAX_CHECKS];
    char name[129], version[32];
} vfr_registry_validation;

/* Runs every check on a stored version (docs/registry.md, "Validation"):
 * metrics (the job's absolute thresholds baseline.minSharpe and
 * baseline.maxDrawdown on the model's own backtest, and gate->thresholds_json;
 * the comparison's shouldDeploy is reported, not enforced: it is autoDeploy's
 * rule), artifact_size, integrity (SHA-256 of artifact and probe set),
 * load_time (the fastest of three cold vfr_model_load calls after one
 * untimed load), prediction_parity (the probe set reproduced within
 * parity_tol, NaN == NaN) and no_nan. gate may be NULL (defaults). OUT *out
 * (may be NULL): every check's outcome, filled also when a check fails.
 * Errors: NOT_FOUND/INVALID_ARG (bad reference, bad thresholds), VALIDATION
 * (a check failed: the message names each failed check), IO. Changes nothing. */
vfr_status vfr_registry_validate(vfr_registry *reg, const char *name, const char *version,
                                 const vfr_registry_gate *gate, vfr_registry_validation *out);
/* The validation as JSON text (caller frees). */
char *vfr_registry_validation_json(const vfr_registry_validation *v);

/* ---- aliases, A/B tests, history ----------------------------------------- */

typedef struct vfr_registry_deploy_options {
    vfr_registry_alias as;        /* champion (default) or challenger          */
    double traffic;               /* challenger's share in (0, 1]; 0: 0.1      */
    const char *reason;           /* why, for the history; NULL: ""            */
    int force;                    /* skip the validation gate (recorded)       */
    const vfr_registry_gate *gate; /* NULL: defaults                           */
    const char *who;              /* NULL: $USER, getlogin(), else "uid N"     */
} vfr_registry_deploy_options;

/* Points the alias at name:version in one transaction, with a history row.
 * As champion: the model's champion moves (an A/B test whose challenger is
 * this version ends as "promoted"). As challenger: needs a champion (another
 * version); starts an A/B test with o->traffic, ending any earlier one as
 * "replaced". Unless o->force, the validation gate runs first and a failed
 * check moves nothing. Deploying the alias's current version again is a
 * no-op. OUT val (may be NULL): the gate's outcome. Errors: INVALID_ARG
 * (name, traffic, challenger = champion, no champion yet), NOT_FOUND,
 * VALIDATION, IO. */
vfr_status vfr_registry_deploy(vfr_registry *reg, const char *name, const char *version,
                               const vfr_registry_deploy_options *o, vfr_registry_validation *val);

/* Makes the challenger the champion (gate unless o->force) and ends its A/B
 * test as "promoted". o: reason, force, gate, who are used. OUT version (may
 * be NULL): the new champion. Errors: NOT_FOUND (no challenger), VALIDATION, IO. */
vfr_status vfr_registry_promote(vfr_registry *reg, const char *name,
                                const vfr_registry_deploy_options *o,
                                vfr_registry_validation *val, char version[32]);

/* Returns the champion to the version it had before: the `from` of the
 * latest deploy or promote that made the current champion (so repeated
 * rollbacks walk back through the deployments). Runs the gate unless
 * o->force. OUT version (may be NULL): the champion now. Errors: NOT_FOUND
 * (no champion, or no earlier one in the history), VALIDATION, IO. */
vfr_status vfr_registry_rollback(vfr_registry *reg, const char *name,
                                 const vfr_registry_deploy_options *o,
                                 vfr_registry_validation *val, char version[32]);

/* Ends the active A/B test: the challenger alias is removed (history row).
 * Errors: NOT_FOUND (no active test), IO. */
vfr_status vfr_registry_ab_stop(vfr_registry *reg, const char *name, const char *reason,
                                const char *who);

/* What vfr_registry_auto_deploy did. */
typedef struct vfr_registry_auto_result {
    int deployed;      /* 1: the alias moved                                   */
    char why[1024];    /* the decision in words, for the log                   */
} vfr_registry_auto_result;

/* The job's autoDeploy: deploys name:version as o->as (champion, or
 * challenger with o->traffic: the job's deployAs) only when the version's
 * stored comparison says decision.shouldDeploy = true and the validation gate
 * passes (o->force is ignored). The history reason is the comparison's
 * decision.reason unless o->reason is set. No comparison, shouldDeploy
 * false, or a failed check: VFR_OK with res->deployed = 0 and res->why
 * saying which. Errors: NOT_FOUND, INVALID_ARG (as deploy), IO. */
vfr_status vfr_registry_auto_deploy(vfr_registry *reg, const char *name, const char *version,
                                    const vfr_registry_deploy_options *o,
                                    vfr_registry_validation *val, vfr_registry_auto_result *res);

/* ---- loading and scoring ------------------------------------------------- */

/* The A/B bucket of a symbol for a model: a 64-bit FNV-1a hash of
 * "<model>\n<symbol>", mixed by SplitMix64's finaliser, as a number in
 * [0, 1). A symbol goes to the challenger when bucket < traffic: the same
 * symbol always gets the same model, whatever the run or machine. */
double vfr_registry_route_bucket(const char *model, const char *symbol);

/* Loads a version's artifact on the CPU. On a cache miss (or with cache NULL)
 * the artifact's SHA-256 is checked first. cache may be NULL. OUT *out:
 * release with vfr_model_cache_release(cache, *out) (destroys it when cache is
 * NULL). Errors: INTEGRITY (the stored artifact's digest differs: the message
 * names the file and both digests), NOT_FOUND (artifact missing), FORMAT,
 * XGBOOST, NOMEM. Thread-safe with distinct reg handles (or without reg
 * use elsewhere) and one shared cache. */
vfr_status vfr_registry_load_model(vfr_registry *reg, const vfr_registry_version *v,
                                   vfr_model_cache *cache, vfr_model **out);

/* The champion baseline of a comparison: scores rows with the current
 * champion of model_name, loaded through cache (may be NULL). X [n, F] holds
 * the rows in the champion's feature order (the run's panel of the same
 * dataset), prev_row [n] each row's previous row of the same symbol within X
 * or -1 (sequence models' history; may be NULL for others). OUT *score [n]
 * malloc'ed (caller frees), version_out: the champion's version. The
 * signature matches vfr_champion_source.score (compare.h) after reg and
 * cache. Errors: NOT_FOUND (no such model or no champion yet), INVALID_ARG
 * (F differs from the champion's), INTEGRITY, NOMEM, the model's errors. */
vfr_status vfr_registry_champion_score(vfr_registry *reg, vfr_model_cache *cache, const char *model_name,
                                       const float *X, const int64_t *prev_row, int64_t n, int32_t F,
                                       float **score, char version_out[64]);

typedef struct vfr_registry_predict_options {
    const char *ref;         /* NAME (champion, with the A/B test's routing),
                                NAME@champion, NAME@challenger, NAME:VERSION */
    const char *data_path;   /* a vfr dataset (HDF5)                          */
    int32_t date_lo, date_hi; /* inclusive, days since epoch; both INT32_MIN:
                                the dataset's last date                       */
    int32_t lookback;        /* dates read before date_lo as history for
                                sequence models (not written); 0: none       */
    const char *out_path;    /* predictions file (HDF5), docs/registry.md     */
    vfr_model_cache *cache;  /* may be NULL                                   */
} vfr_registry_predict_options;

typedef struct vfr_registry_predict_result {
    int64_t rows;
    int32_t n_versions;           /* 1, or 2 under an A/B test                */
    char versions[2][32];         /* [n_versions]: champion (or the one), challenger */
    int64_t rows_by_version[2];
    double traffic;               /* the challenger's share; 0 without a test */
    int32_t date_lo, date_hi;     /* the dates scored                          */
} vfr_registry_predict_result;

/* Scores the dataset rows of the date range with the model the reference
 * names and writes them, with the version that scored each row, to
 * o->out_path (temporary name, renamed). The dataset must hold the model's
 * features by name. Errors: INVALID_ARG (no rows in range, a feature
 * missing), NOT_FOUND, FORMAT, INTEGRITY, IO, NOMEM. */
vfr_status vfr_registry_predict(vfr_registry *reg, const vfr_registry_predict_options *o,
                                vfr_registry_predict_result *res);

#endif
