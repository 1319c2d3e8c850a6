#define _XOPEN_SOURCE 700 /* realpath */
/* job.c: job-file loading. One key table (name, type, range, allowed names,
 * children, and where the value goes with its default) drives validation,
 * filling the struct and the resolved JSON, so that every key gets the same
 * strict checks and messages and a default is written once. What the table
 * cannot say (the target, the dataset path, the rules between keys) is in
 * the fill_* and check_* functions. The table is the source for
 * docs/job-config.md. */
#include "vfr/job.h"
#include "vfr/xsection.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "vfr/dataset.h"
#include "vfr/model.h"
#include "vfr/registry.h"

/* What a key is in the JSON (validation) ... */
typedef enum kind { K_STR, K_INT, K_NUM, K_BOOL, K_OBJ, K_STRLIST, K_ANYOBJ, K_DATE, K_ANYARR } kind;

/* ... and where its value goes in vfr_job (filling, the resolved JSON). */
typedef enum store {
    S_NONE,  /* not stored as such (an object, or filled by hand)             */
    S_STR,   /* char *: "" as a default is written back as null              */
    S_JSON,  /* char *: the value as JSON text; NULL is left out             */
    S_I32, S_I64, S_U64, S_F64,
    S_BOOL,  /* int                                                          */
    S_ENUM,  /* an enum: the value of names[i] is values[i] (or i)           */
    S_FLAG,  /* K_OBJ: int, 1 when the object is given; its keys are filled
                only then                                                    */
} store;

/* A default that depends on other fields (set after the target is known). */
typedef enum dyn { D_CONST, D_HAND, D_HORIZON, D_THRESHOLD, D_METRIC, D_TRAIN_ES, D_TRAIN_SEED } dyn;

typedef struct key_spec {
    const char *name;
    kind type;
    int required;
    double lo, hi;              /* K_INT / K_NUM range, inclusive                    */
    const char *const *names;   /* K_STR: the allowed values, NULL-ended; NULL = any */
    const struct key_spec *sub; /* K_OBJ: children, NULL-name ended                  */
    store st;
    size_t at;                  /* offsetof(vfr_job, ...)                            */
    double dflt;                /* numbers, booleans, enums (the value, not index)   */
    const char *dflt_s;         /* S_STR, S_JSON                                     */
    dyn how;                    /* D_HAND: filled by fill(); others: see dyn         */
    const int *values;          /* S_ENUM: names[i]'s value; NULL = i                */
    void (*put)(cJSON *o, const struct key_spec *k, const vfr_job *j); /* custom output */
} key_spec;

#define AT(f) offsetof(vfr_job, f)
#define END {NULL, 0, 0, 0, 0, NULL, NULL, S_NONE, 0, 0, NULL, D_CONST, NULL, NULL}
/* The common shapes; a designated initialiser where a key needs more. */
#define STR(n, f, d) {.name = n, .type = K_STR, .st = S_STR, .at = AT(f), .dflt_s = d}
#define INT(n, lo_, hi_, s, f, d) {.name = n, .type = K_INT, .lo = lo_, .hi = hi_, .st = s, .at = AT(f), .dflt = d}
#define NUM(n, lo_, hi_, f, d) {.name = n, .type = K_NUM, .lo = lo_, .hi = hi_, .st = S_F64, .at = AT(f), .dflt = d}
#define BOOL(n, f, d) {.name = n, .type = K_BOOL, .st = S_BOOL, .at = AT(f), .dflt = d}
#define ENUM(n, nm, f, d) {.name = n, .type = K_STR, .names = nm, .st = S_ENUM, .at = AT(f), .dflt = d}

static const char *const nonfinite_names[] = {"dropRow", "keepAsMissing", NULL};
static const char *const flat_names[] = {"drop", "down", NULL};
static const char *const method_names[] = {"holdout", "walk_forward", "kfold", "cpcv", NULL};
static const char *const strategy_names[] = {"auto", "long_short_median", "long_short_sign", "long_only", "top_k",
                                             NULL};
static const int strategy_values[] = {(int)VFR_JOB_STRATEGY_AUTO, VFR_STRATEGY_LONG_SHORT_MEDIAN,
                                      VFR_STRATEGY_LONG_SHORT_SIGN, VFR_STRATEGY_LONG_ONLY, VFR_STRATEGY_TOP_K};
static const char *const search_names[] = {"grid_search", "random_search", "bayesian", NULL};
static const char *const metric_names[] = {"f1", "accuracy", "auc", "logloss", "sharpe", "ic", NULL};
static const char *const pruning_names[] = {"none", "successive_halving", NULL};
static const char *const against_names[] = {"buy_and_hold", "sma_crossover", "momentum", "majority_class",
                                            "champion", NULL};
static const char *const model_names[] = {"xgboost", "linear", "lstm", "lightgbm", NULL};
static const char *const objective_names[] = {"direction", "return", NULL};
static const char *const deploy_names[] = {"champion", "challenger", NULL};
static const char *const priority_names[] = {"low", "normal", "high", NULL};
static const char *const memory_names[] = {"auto", "in_core", "external", NULL};

static void put_symbols(cJSON *o, const key_spec *k, const vfr_job *j);
static void put_time_limit(cJSON *o, const key_spec *k, const vfr_job *j);

static const key_spec data_keys[] = {
    {.name = "dataset", .type = K_STR, .required = 1, .st = S_STR, .at = AT(data.dataset), .how = D_HAND},
    {.name = "symbols", .type = K_STRLIST, .how = D_HAND, .put = put_symbols},
    {.name = "startDate", .type = K_DATE, .st = S_I32, .at = AT(data.start_date), .dflt = INT32_MIN},
    {.name = "endDate", .type = K_DATE, .st = S_I32, .at = AT(data.end_date), .dflt = INT32_MAX},
    NUM("minQuality", 0, 1, data.min_quality, 0.7),
    NUM("minCompleteness", 0, 1, data.min_completeness, 0.8),
    INT("minSamplesPerSymbol", 1, 1e7, S_I32, data.min_samples_per_symbol, 100),
    ENUM("nonFinitePolicy", nonfinite_names, data.nonfinite, VFR_NONFINITE_DROP_ROW),
    ENUM("flatPolicy", flat_names, data.flat, VFR_FLAT_DROP),
    /* checked by vfr_processors_parse */
    {.name = "processors", .type = K_ANYARR, .st = S_JSON, .at = AT(data.processors_json), .how = D_HAND},
    ENUM("memory", memory_names, data.memory, VFR_MEMORY_AUTO), /* issue 16: where the training data live */
    INT("minRows", 1, 1e12, S_I64, data.min_rows, 1000),
    INT("minDates", 2, 1e6, S_I32, data.min_dates, 100),
    INT("minSymbols", 1, 1e7, S_I32, data.min_symbols, 1),
    END,
};

static const key_spec training_keys[] = {
    {.name = "hyperparameters", .type = K_ANYOBJ, .st = S_JSON, .at = AT(training.hyperparameters_json), .dflt_s = "{}"},
    NUM("trainTestSplit", 0.05, 0.95, split.train_share, 0.70),
    NUM("validationSplit", 0, 0.5, split.val_share, 0.15),
    INT("cvFolds", 2, 50, S_I32, training.cv_folds, 5),
    INT("earlyStoppingRounds", 0, 100000, S_I32, training.early_stopping_rounds, 50),
    INT("seed", 0, 9007199254740991.0, S_U64, training.seed, 42),
    END,
};

static const key_spec split_keys[] = {
    ENUM("method", method_names, split.method, VFR_SPLIT_HOLDOUT),
    INT("windowSize", 10, 1e6, S_I32, split.window, 252),
    INT("stepSize", 1, 1e6, S_I32, split.step, 21),
    BOOL("expanding", split.expanding, 0),
    {.name = "purgeDays", .type = K_INT, .hi = 1e4, .st = S_I32, .at = AT(split.purge), .how = D_HORIZON},
    INT("embargoDays", 0, 1e4, S_I32, split.embargo, 0),
    INT("nGroups", 3, 30, S_I32, split.groups, 6),
    INT("nTestGroups", 1, 29, S_I32, split.test_groups, 2),
    END,
};

static const key_spec backtest_keys[] = {
    /* auto: dollar neutral where the universe has two names a date (vfr_job_backtest_options) */
    {.name = "strategy", .type = K_STR, .names = strategy_names, .values = strategy_values, .st = S_ENUM,
     .at = AT(backtest.strategy), .dflt = (int)VFR_JOB_STRATEGY_AUTO},
    INT("k", 1, 100000, S_I32, backtest.k, 5),
    NUM("costBps", 0, 10000, backtest.cost_bps, 5.0),
    /* direction scores are probabilities: long above 1/2; returns: above 0 */
    {.name = "threshold", .type = K_NUM, .lo = -1e9, .hi = 1e9, .st = S_F64, .at = AT(backtest.threshold),
     .how = D_THRESHOLD},
    END,
};

static const key_spec search_keys[] = {
    ENUM("method", search_names, search.method, VFR_SEARCH_GRID),
    {.name = "space", .type = K_ANYOBJ, .required = 1, .st = S_JSON, .at = AT(search.space_json)},
    INT("nFolds", 2, 50, S_I32, search.folds, 5),
    {.name = "scoringMetric", .type = K_STR, .names = metric_names, .st = S_STR, .at = AT(search.metric),
     .how = D_METRIC},
    INT("maxIterations", 1, 100000, S_I32, search.max_iter, 50),
    {.name = "earlyStoppingRounds", .type = K_INT, .hi = 100000, .st = S_I32,
     .at = AT(search.early_stopping_rounds), .how = D_TRAIN_ES},
    INT("patience", 0, 100000, S_I32, search.patience, 0),
    ENUM("pruning", pruning_names, search.pruning, VFR_PRUNING_NONE),
    INT("reductionFactor", 2, 10, S_I32, search.eta, 3),
    INT("minRounds", 1, 100000, S_I32, search.min_rounds, 25),
    INT("startupTrials", 1, 10000, S_I32, search.startup, 10),
    INT("batchSize", 1, 1000, S_I32, search.batch, 4),
    {.name = "seed", .type = K_INT, .hi = 9007199254740991.0, .st = S_U64, .at = AT(search.seed),
     .how = D_TRAIN_SEED},
    END,
};

static const key_spec baseline_keys[] = {
    {.name = "compareAgainst", .type = K_STR, .names = against_names, .st = S_STR, .at = AT(baseline.against),
     .dflt_s = "buy_and_hold"},
    NUM("minSharpeImprovement", -1e6, 1e6, baseline.min_sharpe_improvement, 0.20),
    NUM("minAccuracyGain", -1, 1, baseline.min_accuracy_gain, 0.05),
    NUM("maxPValue", 0, 1, baseline.max_p_value, 0.05),
    NUM("minSharpe", -1e6, 1e6, baseline.min_sharpe, 1.0),
    NUM("maxDrawdown", -1, 0, baseline.max_drawdown, -0.25),
    NUM("minDeflatedSharpe", 0, 1, baseline.min_dsr, 0.95),
    INT("smaFast", 1, 10000, S_I32, baseline.sma_fast, 20),
    INT("smaSlow", 2, 10000, S_I32, baseline.sma_slow, 50),
    BOOL("smaShort", baseline.sma_short, 0),
    INT("momentumDays", 1, 10000, S_I32, baseline.momentum_days, 20),
    INT("bootstrapResamples", 100, 1000000, S_I32, baseline.resamples, 2000),
    NUM("confidenceLevel", 0.5, 0.999, baseline.level, 0.95),
    END,
};

static const key_spec export_keys[] = {
    STR("mlflow", exports.mlflow, NULL),
    STR("mlflowExperiment", exports.mlflow_experiment, NULL),
    END,
};

static const key_spec job_keys[] = {
    {.name = "jobId", .type = K_STR, .required = 1, .st = S_STR, .at = AT(job_id), .dflt_s = ""},
    {.name = "modelName", .type = K_STR, .required = 1, .st = S_STR, .at = AT(model_name), .dflt_s = ""},
    STR("modelVersion", model_version, ""),
    {.name = "modelType", .type = K_STR, .names = model_names, .st = S_STR, .at = AT(model_type),
     .dflt_s = "xgboost"},
    /* targetVariable, objective and predictionHorizon pin each other (fill_target) */
    {.name = "objective", .type = K_STR, .names = objective_names, .st = S_ENUM, .at = AT(objective), .how = D_HAND},
    {.name = "targetVariable", .type = K_STR, .st = S_STR, .at = AT(target), .how = D_HAND},
    {.name = "predictionHorizon", .type = K_INT, .lo = 1, .hi = 1000, .st = S_I32, .at = AT(horizon), .how = D_HAND},
    {.name = "dataConfig", .type = K_OBJ, .required = 1, .sub = data_keys},
    {.name = "trainingConfig", .type = K_OBJ, .sub = training_keys},
    {.name = "split", .type = K_OBJ, .sub = split_keys},
    {.name = "backtest", .type = K_OBJ, .sub = backtest_keys},
    {.name = "search", .type = K_OBJ, .sub = search_keys, .st = S_FLAG, .at = AT(search.enabled)},
    {.name = "baseline", .type = K_OBJ, .sub = baseline_keys},
    ENUM("deployAs", deploy_names, deploy_as, VFR_DEPLOY_CHAMPION),
    NUM("deployTraffic", 0, 1, deploy_traffic, 0.1),
    BOOL("autoRegister", auto_register, 0),
    BOOL("autoDeploy", auto_deploy, 0),
    ENUM("priority", priority_names, priority, VFR_PRIORITY_NORMAL),
    {.name = "timeLimitMinutes", .type = K_NUM, .lo = 0.01, .hi = 525600, .how = D_HAND, .put = put_time_limit},
    {.name = "export", .type = K_OBJ, .sub = export_keys},
    END,
};

/* ---- validation -------------------------------------------------------- */

static const char *kind_name(kind k)
{
    switch (k) {
    case K_STR: return "a string";
    case K_DATE: return "a date string YYYY-MM-DD";
    case K_INT: return "an integer";
    case K_NUM: return "a number";
    case K_BOOL: return "true or false";
    case K_OBJ: case K_ANYOBJ: return "an object";
    case K_ANYARR: return "an array";
    default: return "an array of strings";
    }
}

static const char *json_kind(const cJSON *v)
{
    if (cJSON_IsString(v)) return "string";
    if (cJSON_IsNumber(v)) return "number";
    if (cJSON_IsBool(v)) return "boolean";
    if (cJSON_IsObject(v)) return "object";
    if (cJSON_IsArray(v)) return "array";
    return "null";
}

static int in_names(const char *const *names, const char *s)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return 1;
    return 0;
}

/* "a|b|c" */
static void join_names(const char *const *names, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; names[i] && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? "|" : "", names[i]);
}

/* A JSON null stands for "absent": the default applies (the resolved job
 * writes null for open dates and "all symbols"). */
static const cJSON *get(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNull(v) ? NULL : v;
}

static vfr_status validate(const char *file, const cJSON *obj, const key_spec *spec,
                           const char *prefix)
{
    char path[256];
    for (const cJSON *it = obj->child; it; it = it->next) {
        const key_spec *k = spec;
        while (k->name && strcmp(k->name, it->string) != 0)
            k++;
        snprintf(path, sizeof path, "%s%s", prefix, it->string);
        if (k->name && !k->required && cJSON_IsNull(it))
            continue; /* null = use the default */
        if (!k->name) {
            const char *names[64];
            size_t nn = 0;
            for (const key_spec *c = spec; c->name && nn < 64; c++)
                names[nn++] = c->name;
            const char *best = vfri_closest(it->string, names, nn);
            if (best)
                return vfr_fail(VFR_ERR_INVALID_ARG, "%s: %s: unknown key; did you mean %s?", file,
                                path, best);
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s: %s: unknown key (see docs/job-config.md)",
                            file, path);
        }
        int ok;
        switch (k->type) {
        case K_STR:
        case K_DATE: ok = cJSON_IsString(it); break;
        case K_INT: ok = cJSON_IsNumber(it) && it->valuedouble == floor(it->valuedouble); break;
        case K_NUM: ok = cJSON_IsNumber(it) && isfinite(it->valuedouble); break;
        case K_BOOL: ok = cJSON_IsBool(it); break;
        case K_OBJ:
        case K_ANYOBJ: ok = cJSON_IsObject(it); break;
        case K_ANYARR: ok = cJSON_IsArray(it); break;
        default: {
            ok = cJSON_IsArray(it);
            int i = 0;
            for (const cJSON *e = ok ? it->child : NULL; e; e = e->next, i++)
                if (!cJSON_IsString(e) || !e->valuestring[0])
                    return vfr_fail(VFR_ERR_INVALID_ARG, "%s: %s[%d]: expected a non-empty string, got %s",
                                    file, path, i, json_kind(e));
        }
        }
        if (!ok)
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s: %s: expected %s, got %s", file, path,
                            kind_name(k->type), json_kind(it));
        if ((k->type == K_INT || k->type == K_NUM) &&
            (it->valuedouble < k->lo || it->valuedouble > k->hi))
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s: %s: %g is out of range [%g, %g]", file, path,
                            it->valuedouble, k->lo, k->hi);
        if (k->type == K_STR && k->names && !in_names(k->names, it->valuestring)) {
            char choices[256];
            join_names(k->names, choices, sizeof choices);
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s: %s: '%s' is not one of %s", file, path,
                            it->valuestring, choices);
        }
        if (k->type == K_DATE) {
            int32_t d;
            if (vfr_date_parse(it->valuestring, &d) != VFR_OK)
                return vfr_fail(VFR_ERR_INVALID_ARG, "%s: %s: '%s' is not a date YYYY-MM-DD", file,
                                path, it->valuestring);
        }
        if (k->type == K_OBJ) {
            char sub[sizeof path + 2];
            snprintf(sub, sizeof sub, "%s.", path);
            vfr_status st = validate(file, it, k->sub, sub);
            if (st != VFR_OK)
                return st;
        }
    }
    for (const key_spec *k = spec; k->name; k++)
        if (k->required && !get(obj, k->name))
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s: %s%s: required field is missing", file,
                            prefix, k->name);
    return VFR_OK;
}

vfr_status vfr_job_parse_target(const char *target, vfr_objective *objective, int32_t *horizon)
{
    const char *num;
    if (strncmp(target, "price_direction_", 16) == 0) {
        *objective = VFR_OBJECTIVE_DIRECTION;
        num = target + 16;
    } else if (strncmp(target, "rank_return_", 12) == 0 || strncmp(target, "excess_return_", 14) == 0) {
        /* cross-sectional labels (xsection.h): regressions like return_<h>d */
        *objective = VFR_OBJECTIVE_RETURN;
        num = target + (target[0] == 'r' ? 12 : 14);
    } else if (strncmp(target, "return_", 7) == 0) {
        *objective = VFR_OBJECTIVE_RETURN;
        num = target + 7;
    } else {
        goto bad;
    }
    char *end;
    errno = 0;
    long h = strtol(num, &end, 10);
    if (errno || end == num || strcmp(end, "d") != 0 || h < 1 || h > 1000)
        goto bad;
    *horizon = (int32_t)h;
    return VFR_OK;
bad:
    return vfr_fail(VFR_ERR_INVALID_ARG,
                    "'%s' is not a target (want price_direction_<h>d, return_<h>d, "
                    "rank_return_<h>d or excess_return_<h>d)", target);
}

/* Names that become folder or file names: letters, digits, '.', '_', '-'. */
static int safe_name(const char *s)
{
    if (!s[0] || strlen(s) > 128 || s[0] == '.')
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

/* ---- filling the struct ------------------------------------------------ */

static void *field(vfr_job *j, const key_spec *k) { return (char *)j + k->at; }
static const void *cfield(const vfr_job *j, const key_spec *k) { return (const char *)j + k->at; }

static int enum_value(const key_spec *k, const char *s)
{
    for (int i = 0; k->names[i]; i++)
        if (strcmp(k->names[i], s) == 0)
            return k->values ? k->values[i] : i;
    return 0; /* validate() has refused it */
}

static const char *enum_name(const key_spec *k, int v)
{
    for (int i = 0; k->names[i]; i++)
        if ((k->values ? k->values[i] : i) == v)
            return k->names[i];
    return "?";
}

/* The default of a key whose default is another field (D_CONST: dflt). */
static double dyn_default(const key_spec *k, const vfr_job *j)
{
    switch (k->how) {
    case D_HORIZON: return j->horizon;
    case D_THRESHOLD: return j->objective == VFR_OBJECTIVE_DIRECTION ? 0.5 : 0.0;
    case D_TRAIN_ES: return j->training.early_stopping_rounds;
    case D_TRAIN_SEED: return (double)j->training.seed;
    default: return k->dflt;
    }
}

/* Stores v (absent: NULL, then the default) at k's destination. */
static vfr_status store_value(const char *file, const key_spec *k, const cJSON *v, vfr_job *j)
{
    void *p = field(j, k);
    if (k->type == K_DATE) { /* validate() has parsed it once */
        int32_t d = (int32_t)k->dflt;
        if (v)
            vfr_date_parse(v->valuestring, &d);
        *(int32_t *)p = d;
        return VFR_OK;
    }
    double x = v && cJSON_IsNumber(v) ? v->valuedouble : v && cJSON_IsBool(v) ? cJSON_IsTrue(v) : dyn_default(k, j);
    switch (k->st) {
    case S_STR: {
        const char *d = k->how == D_METRIC ? (j->objective == VFR_OBJECTIVE_DIRECTION ? "auc" : "ic") : k->dflt_s;
        const char *s = v ? v->valuestring : d;
        if (s && !(*(char **)p = vfri_strdup(s)))
            return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", file);
        return VFR_OK;
    }
    case S_JSON:
        if (v ? !(*(char **)p = cJSON_PrintUnformatted(v)) : k->dflt_s && !(*(char **)p = vfri_strdup(k->dflt_s)))
            return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", file);
        return VFR_OK;
    case S_I32: *(int32_t *)p = (int32_t)x; return VFR_OK;
    case S_I64: *(int64_t *)p = (int64_t)x; return VFR_OK;
    case S_U64: *(uint64_t *)p = (uint64_t)x; return VFR_OK;
    case S_F64: *(double *)p = x; return VFR_OK;
    case S_BOOL: *(int *)p = (int)x; return VFR_OK;
    case S_ENUM: *(int *)p = v ? enum_value(k, v->valuestring) : (int)x; return VFR_OK;
    default: return VFR_OK;
    }
}

/* One pass over a key table: with dynamic 0 every key that is given or
 * whose default is a constant, with dynamic 1 the absent keys whose default
 * is another field (after fill_target). Keys filled by hand are fill()'s. */
static vfr_status fill_keys(const char *file, const cJSON *obj, const key_spec *spec, vfr_job *j, int dynamic)
{
    vfr_status st = VFR_OK;
    for (const key_spec *k = spec; k->name && st == VFR_OK; k++) {
        const cJSON *v = get(obj, k->name);
        if (k->type == K_OBJ) {
            if (k->st == S_FLAG)
                *(int *)field(j, k) = v != NULL;
            if (k->st != S_FLAG || v)
                st = fill_keys(file, v, k->sub, j, dynamic);
        } else if (k->how != D_HAND && k->st != S_NONE && dynamic == (k->how != D_CONST && !v)) {
            st = store_value(file, k, v, j);
        }
    }
    return st;
}

static void free_keys(vfr_job *j, const key_spec *spec)
{
    for (const key_spec *k = spec; k->name; k++)
        if (k->type == K_OBJ)
            free_keys(j, k->sub);
        else if (k->st == S_STR || k->st == S_JSON)
            free(*(char **)field(j, k));
}

void vfr_job_free(vfr_job *job)
{
    if (!job)
        return;
    free(job->path);
    for (int32_t i = 0; i < job->data.n_symbols; i++)
        free(job->data.symbols[i]);
    free(job->data.symbols);
    free_keys(job, job_keys);
    free(job);
}

static vfr_status check_names(const char *file, const vfr_job *j)
{
    if (!safe_name(j->job_id))
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "%s: jobId: '%s' must be 1-128 letters, digits, '.', '_' or '-' (it names the run folder)",
                        file, j->job_id);
    if (!safe_name(j->model_name))
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "%s: modelName: '%s' must be 1-128 letters, digits, '.', '_' or '-'", file,
                        j->model_name);
    /* the registry's own rule (no leading zeros, at most 6 digits a part),
     * so that a version it would refuse fails now, not after the run */
    int32_t sv[3];
    if (j->model_version[0] && vfri_semver_parse(j->model_version, VFR_REGISTRY_MAX_VERSION_PART, sv) != VFR_OK)
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "%s: modelVersion: '%s' is not MAJOR.MINOR.PATCH (numbers of 1-6 digits, no leading zeros)",
                        file, j->model_version);
    return VFR_OK;
}

/* target, objective and horizon: any one pins the others; they must agree */
static vfr_status fill_target(const char *file, const cJSON *root, vfr_job *j)
{
    const cJSON *tv = get(root, "targetVariable"), *ob = get(root, "objective"),
                *ph = get(root, "predictionHorizon");
    vfr_objective obj = VFR_OBJECTIVE_DIRECTION;
    int32_t h = 0;
    if (tv) {
        if (vfr_job_parse_target(tv->valuestring, &obj, &h) != VFR_OK)
            return vfr_fail(VFR_ERR_INVALID_ARG,
                            "%s: targetVariable: '%s' is not price_direction_<h>d, return_<h>d, "
                            "rank_return_<h>d or excess_return_<h>d",
                            file, tv->valuestring);
        if (ph && (int32_t)ph->valuedouble != h)
            return vfr_fail(VFR_ERR_INVALID_ARG,
                            "%s: predictionHorizon: %d disagrees with targetVariable '%s'", file,
                            (int)ph->valuedouble, tv->valuestring);
        if (ob && (strcmp(ob->valuestring, "direction") == 0) != (obj == VFR_OBJECTIVE_DIRECTION))
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s: objective: '%s' disagrees with targetVariable '%s'",
                            file, ob->valuestring, tv->valuestring);
    } else {
        if (!ph)
            return vfr_fail(VFR_ERR_INVALID_ARG,
                            "%s: predictionHorizon: required field is missing (or give targetVariable)",
                            file);
        h = (int32_t)ph->valuedouble;
        obj = ob && strcmp(ob->valuestring, "return") == 0 ? VFR_OBJECTIVE_RETURN
                                                           : VFR_OBJECTIVE_DIRECTION;
    }
    j->objective = obj;
    j->horizon = h;
    char tgt[64];
    snprintf(tgt, sizeof tgt, "%s_%dd", obj == VFR_OBJECTIVE_DIRECTION ? "price_direction" : "return", h);
    if (tv) /* keeps the cross-sectional kind (rank_return_<h>d, ...) */
        snprintf(tgt, sizeof tgt, "%s", tv->valuestring);
    if (!(j->target = vfri_strdup(tgt)))
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", file);
    return VFR_OK;
}

/* dataConfig's dataset (relative to the job file), symbols, dates and
 * processors */
static vfr_status fill_data(const char *file, const cJSON *dc, vfr_job *j)
{
    const char *ds = get(dc, "dataset")->valuestring;
    const char *slash = strrchr(file, '/');
    size_t n = strlen(ds) + (slash ? (size_t)(slash - file) + 2 : 1);
    if (!(j->data.dataset = malloc(n)))
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", file);
    if (ds[0] != '/' && slash)
        snprintf(j->data.dataset, n, "%.*s/%s", (int)(slash - file), file, ds);
    else
        snprintf(j->data.dataset, n, "%s", ds);
    char *abs = realpath(j->data.dataset, NULL); /* a missing file keeps its joined name */
    if (abs) {
        free(j->data.dataset);
        j->data.dataset = abs;
    }
    const cJSON *syms = get(dc, "symbols");
    if (syms) {
        int ns = cJSON_GetArraySize(syms);
        if (ns == 0)
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s: dataConfig.symbols: empty (omit it for all symbols)", file);
        j->data.symbols = calloc((size_t)ns, sizeof *j->data.symbols);
        if (!j->data.symbols)
            return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", file);
        for (const cJSON *e = syms->child; e; e = e->next) {
            for (int32_t k = 0; k < j->data.n_symbols; k++)
                if (strcmp(j->data.symbols[k], e->valuestring) == 0)
                    return vfr_fail(VFR_ERR_INVALID_ARG, "%s: dataConfig.symbols[%d]: '%s' is listed twice",
                                    file, j->data.n_symbols, e->valuestring);
            if (!(j->data.symbols[j->data.n_symbols++] = vfri_strdup(e->valuestring)))
                return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", file);
        }
    }
    if (j->data.start_date > j->data.end_date)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: dataConfig.endDate is before dataConfig.startDate", file);
    const cJSON *procs = get(dc, "processors");
    if (procs && cJSON_GetArraySize(procs) > 0) {
        vfr_processors *chk = NULL;
        if (!(j->data.processors_json = cJSON_PrintUnformatted(procs)))
            return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", file);
        vfr_status pst = vfr_processors_parse(j->data.processors_json, file, &chk);
        vfr_processors_free(chk);
        if (pst != VFR_OK)
            return pst;
    }
    return VFR_OK;
}

/* The rules between fields, in the order a reader meets the keys. */
static vfr_status check_rules(const char *file, const cJSON *root, vfr_job *j)
{
    vfr_status pst = vfr_model_check_params(j->model_type, j->training.hyperparameters_json);
    if (pst != VFR_OK) {
        char why[1024];
        snprintf(why, sizeof why, "%s", vfr_last_error());
        return vfr_fail(pst, "%s: %s", file, why);
    }
    vfr_split_spec *s = &j->split;
    s->folds = j->training.cv_folds;
    s->horizon = j->horizon;
    if (s->method == VFR_SPLIT_HOLDOUT && s->train_share + s->val_share > 0.95)
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "%s: trainingConfig.validationSplit: %g + trainTestSplit %g leaves less than 5%% of dates for the test set",
                        file, s->val_share, s->train_share);
    if (s->test_groups >= s->groups)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: split.nTestGroups: %d must be below nGroups %d",
                        file, s->test_groups, s->groups);
    if (s->purge < j->horizon)
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "%s: split.purgeDays: %d is below predictionHorizon %d: training labels would reach into the test period",
                        file, s->purge, j->horizon);
    const char *m = j->search.metric;
    if (j->search.enabled && j->objective == VFR_OBJECTIVE_RETURN &&
        (strcmp(m, "f1") == 0 || strcmp(m, "accuracy") == 0 || strcmp(m, "auc") == 0 || strcmp(m, "logloss") == 0))
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "%s: search.scoringMetric: '%s' needs a direction target; use sharpe or ic for returns",
                        file, m);
    if (j->baseline.sma_fast >= j->baseline.sma_slow)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: baseline.smaFast: %d must be below smaSlow %d", file,
                        j->baseline.sma_fast, j->baseline.sma_slow);
    const char *u = j->exports.mlflow;
    if (u) {
        const char *host = strstr(u, "://");
        if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s: export.mlflow: '%s' is not an http:// or https:// tracking "
                                                 "server URI", file, u);
        if (strchr(host + 3, '@') && (!strchr(host + 3, '/') || strchr(host + 3, '@') < strchr(host + 3, '/')))
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s: export.mlflow: credentials do not belong in a job file: "
                                                 "set MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN",
                            file);
    }
    const cJSON *tl = get(root, "timeLimitMinutes");
    j->time_limit_s = tl ? 60 * tl->valuedouble : 0;
    return VFR_OK;
}

static vfr_status fill(const char *file, const cJSON *root, vfr_job *j)
{
    vfr_status st;
    if ((st = fill_keys(file, root, job_keys, j, 0)) != VFR_OK || (st = check_names(file, j)) != VFR_OK ||
        (st = fill_target(file, root, j)) != VFR_OK || (st = fill_keys(file, root, job_keys, j, 1)) != VFR_OK ||
        (st = fill_data(file, get(root, "dataConfig"), j)) != VFR_OK)
        return st;
    return check_rules(file, root, j);
}

vfr_status vfr_job_parse(const char *name, const char *json, vfr_job **out)
{
    vfr_status st = VFR_OK;
    *out = NULL;
    const char *err_at = NULL;
    int nul = vfri_json_nul_line(json, strlen(json));
    if (nul)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: line %d: a string holds a NUL character (\\u0000)", name, nul);
    cJSON *root = cJSON_ParseWithOpts(json, &err_at, 1);
    vfr_job *j = NULL;
    if (!root) {
        int line = 1;
        for (const char *p = json; err_at && p < err_at; p++)
            line += *p == '\n';
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: line %d: not valid JSON", name, line);
    }
    if (!cJSON_IsObject(root)) {
        st = vfr_fail(VFR_ERR_INVALID_ARG, "%s: the job must be a JSON object", name);
        goto fail;
    }
    VFR_TRY(validate(name, root, job_keys, ""));
    j = calloc(1, sizeof *j);
    if (!j || !(j->path = vfri_strdup(name))) {
        st = vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", name);
        goto fail;
    }
    VFR_TRY(fill(name, root, j));
    cJSON_Delete(root);
    *out = j;
    return VFR_OK;
fail:
    cJSON_Delete(root);
    vfr_job_free(j);
    return st;
}

vfr_status vfr_job_load(const char *path, vfr_job **out)
{
    *out = NULL;
    char *buf;
    size_t len;
    if (vfri_read_file(path, &buf, &len) != 0)
        return vfri_fail_open(path);
    if (memchr(buf, '\0', len)) {
        int line = 1;
        for (const char *p = buf; *p; p++)
            line += *p == '\n';
        free(buf);
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: line %d: a NUL byte in the job file", path, line);
    }
    vfr_status st = vfr_job_parse(path, buf, out);
    free(buf);
    return st;
}

vfr_status vfr_job_backtest_options(const vfr_job *job, const vfr_panel *p, vfr_backtest_options *bo)
{
    vfr_backtest_options_default(bo);
    bo->k = job->backtest.k;
    bo->threshold = job->backtest.threshold;
    bo->horizon = job->horizon;
    bo->cost_bps = job->backtest.cost_bps;
    bo->strategy = job->backtest.strategy;
    if (bo->strategy != VFR_JOB_STRATEGY_AUTO)
        return VFR_OK;
    int32_t multi = 0; /* dates with at least two names */
    for (int32_t t = 0; p && t < p->T; t++)
        multi += p->date_offset[t + 1] - p->date_offset[t] >= 2;
    bo->strategy = p && p->T > 0 && 2 * (int64_t)multi >= p->T ? VFR_STRATEGY_LONG_SHORT_MEDIAN
                                                               : VFR_STRATEGY_LONG_SHORT_SIGN;
    return VFR_OK;
}

vfr_status vfr_job_check_model(const vfr_job *job, vfr_device_kind model_dev)
{
    static const char *const one[] = {"f0"};
    vfr_model_config mc = {.type = job->model_type, .params_json = job->training.hyperparameters_json,
                           .objective = job->objective, .device = model_dev, .seed = job->training.seed,
                           .F = 1, .feature_names = one, .nthread = 1};
    vfr_model *m = NULL;
    vfr_status st = vfr_model_create(&mc, &m);
    vfr_model_destroy(m);
    if (st != VFR_OK)
        vfr_error_prefix("%s: ", job->path ? job->path : "job");
    return st;
}

/* ---- the resolved job --------------------------------------------------- */

static void put_symbols(cJSON *o, const key_spec *k, const vfr_job *j)
{
    if (j->data.symbols)
        cJSON_AddItemToObject(o, k->name,
                              cJSON_CreateStringArray((const char *const *)j->data.symbols, j->data.n_symbols));
    else
        cJSON_AddNullToObject(o, k->name);
}

static void put_time_limit(cJSON *o, const key_spec *k, const vfr_job *j)
{
    if (j->time_limit_s > 0)
        cJSON_AddNumberToObject(o, k->name, j->time_limit_s / 60);
}

/* Every key of spec with its value in j, in the table's order. */
static void put_keys(cJSON *o, const key_spec *spec, const vfr_job *j)
{
    for (const key_spec *k = spec; k->name; k++) {
        const void *p = cfield(j, k);
        if (k->put) {
            k->put(o, k, j);
        } else if (k->type == K_OBJ) {
            if (k->st == S_FLAG && !*(const int *)p)
                continue;
            cJSON *sub = cJSON_CreateObject();
            put_keys(sub, k->sub, j);
            if (sub && sub->child)
                cJSON_AddItemToObject(o, k->name, sub);
            else
                cJSON_Delete(sub); /* an empty block (export) is left out */
        } else if (k->type == K_DATE) {
            char d[11];
            int32_t v = *(const int32_t *)p;
            if (v == (int32_t)k->dflt) {
                cJSON_AddNullToObject(o, k->name);
            } else {
                vfr_date_format(v, d);
                cJSON_AddStringToObject(o, k->name, d);
            }
        } else if (k->st == S_STR) {
            const char *s = *(char *const *)p;
            if (s && !s[0] && k->dflt_s && !k->dflt_s[0])
                cJSON_AddNullToObject(o, k->name);
            else if (s)
                cJSON_AddStringToObject(o, k->name, s);
        } else if (k->st == S_JSON) {
            const char *s = *(char *const *)p;
            cJSON *v = s ? cJSON_Parse(s) : NULL;
            if (s)
                cJSON_AddItemToObject(o, k->name, v ? v : cJSON_CreateObject());
        } else if (k->st == S_BOOL) {
            cJSON_AddBoolToObject(o, k->name, *(const int *)p);
        } else if (k->st == S_ENUM) {
            cJSON_AddStringToObject(o, k->name, enum_name(k, *(const int *)p));
        } else if (k->st != S_NONE) {
            double v = k->st == S_I32   ? *(const int32_t *)p
                       : k->st == S_I64 ? (double)*(const int64_t *)p
                       : k->st == S_U64 ? (double)*(const uint64_t *)p
                                        : *(const double *)p;
            cJSON_AddNumberToObject(o, k->name, v);
        }
    }
}

char *vfr_job_to_json(const vfr_job *j)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    put_keys(o, job_keys, j);
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}

/* The key at a dotted path ("split.method"), or NULL. */
static const key_spec *find_key(const char *path)
{
    const key_spec *spec = job_keys;
    for (;;) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        const key_spec *k = spec;
        while (k->name && !(strlen(k->name) == n && strncmp(k->name, path, n) == 0))
            k++;
        if (!k->name || !dot)
            return k->name ? k : NULL;
        if (k->type != K_OBJ)
            return NULL;
        spec = k->sub;
        path = dot + 1;
    }
}

const char *vfr_job_enum_name(const char *key, int value)
{
    const key_spec *k = find_key(key);
    return k && k->st == S_ENUM ? enum_name(k, value) : "?";
}
