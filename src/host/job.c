#define _XOPEN_SOURCE 700 /* realpath */
/* job.c: job-file loading. A key table (name, type, range, choices, children)
 * drives validation, so that every key gets the same strict checks and the
 * same messages; defaults are applied when the struct is filled. The table is
 * the source for docs/job-config.md. */
#include "vfr/job.h"
#include "vfr/xsection.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "vfr/dataset.h"
#include "vfr/model.h"
#include "vfr/registry.h"

typedef enum kind { K_STR, K_INT, K_NUM, K_BOOL, K_OBJ, K_STRLIST, K_ANYOBJ, K_DATE, K_ANYARR } kind;

typedef struct key_spec {
    const char *name;
    kind type;
    int required;
    double lo, hi;              /* K_INT / K_NUM range, inclusive      */
    const char *choices;        /* K_STR: "a|b|c", NULL = any          */
    const struct key_spec *sub; /* K_OBJ: children, NULL-name ended    */
} key_spec;

static const key_spec data_keys[] = {
    {"dataset", K_STR, 1, 0, 0, NULL, NULL},
    {"symbols", K_STRLIST, 0, 0, 0, NULL, NULL},
    {"startDate", K_DATE, 0, 0, 0, NULL, NULL},
    {"endDate", K_DATE, 0, 0, 0, NULL, NULL},
    {"minQuality", K_NUM, 0, 0, 1, NULL, NULL},
    {"minCompleteness", K_NUM, 0, 0, 1, NULL, NULL},
    {"minSamplesPerSymbol", K_INT, 0, 1, 1e7, NULL, NULL},
    {"nonFinitePolicy", K_STR, 0, 0, 0, "dropRow|keepAsMissing", NULL},
    {"flatPolicy", K_STR, 0, 0, 0, "drop|down", NULL},
    {"minRows", K_INT, 0, 1, 1e12, NULL, NULL},
    {"minDates", K_INT, 0, 2, 1e6, NULL, NULL},
    {"minSymbols", K_INT, 0, 1, 1e7, NULL, NULL},
    {"processors", K_ANYARR, 0, 0, 0, NULL, NULL}, /* checked by vfr_processors_parse */
    {"memory", K_STR, 0, 0, 0, "auto|in_core|external", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const key_spec training_keys[] = {
    {"hyperparameters", K_ANYOBJ, 0, 0, 0, NULL, NULL},
    {"trainTestSplit", K_NUM, 0, 0.05, 0.95, NULL, NULL},
    {"validationSplit", K_NUM, 0, 0, 0.5, NULL, NULL},
    {"cvFolds", K_INT, 0, 2, 50, NULL, NULL},
    {"earlyStoppingRounds", K_INT, 0, 0, 100000, NULL, NULL},
    {"seed", K_INT, 0, 0, 9007199254740991.0, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const key_spec split_keys[] = {
    {"method", K_STR, 0, 0, 0, "holdout|walk_forward|kfold|cpcv", NULL},
    {"windowSize", K_INT, 0, 10, 1e6, NULL, NULL},
    {"stepSize", K_INT, 0, 1, 1e6, NULL, NULL},
    {"expanding", K_BOOL, 0, 0, 0, NULL, NULL},
    {"purgeDays", K_INT, 0, 0, 1e4, NULL, NULL},
    {"embargoDays", K_INT, 0, 0, 1e4, NULL, NULL},
    {"nGroups", K_INT, 0, 3, 30, NULL, NULL},
    {"nTestGroups", K_INT, 0, 1, 29, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const key_spec backtest_keys[] = {
    {"strategy", K_STR, 0, 0, 0, "auto|long_short_median|long_short_sign|long_only|top_k", NULL},
    {"k", K_INT, 0, 1, 100000, NULL, NULL},
    {"costBps", K_NUM, 0, 0, 10000, NULL, NULL},
    {"threshold", K_NUM, 0, -1e9, 1e9, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const key_spec search_keys[] = {
    {"method", K_STR, 0, 0, 0, "grid_search|random_search|bayesian", NULL},
    {"space", K_ANYOBJ, 1, 0, 0, NULL, NULL},
    {"nFolds", K_INT, 0, 2, 50, NULL, NULL},
    {"scoringMetric", K_STR, 0, 0, 0, "f1|accuracy|auc|logloss|sharpe|ic", NULL},
    {"maxIterations", K_INT, 0, 1, 100000, NULL, NULL},
    {"earlyStoppingRounds", K_INT, 0, 0, 100000, NULL, NULL},
    {"patience", K_INT, 0, 0, 100000, NULL, NULL},
    {"pruning", K_STR, 0, 0, 0, "none|successive_halving", NULL},
    {"reductionFactor", K_INT, 0, 2, 10, NULL, NULL},
    {"minRounds", K_INT, 0, 1, 100000, NULL, NULL},
    {"startupTrials", K_INT, 0, 1, 10000, NULL, NULL},
    {"batchSize", K_INT, 0, 1, 1000, NULL, NULL},
    {"seed", K_INT, 0, 0, 9007199254740991.0, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const key_spec baseline_keys[] = {
    {"compareAgainst", K_STR, 0, 0, 0, "buy_and_hold|sma_crossover|momentum|majority_class|champion", NULL},
    {"minSharpeImprovement", K_NUM, 0, -1e6, 1e6, NULL, NULL},
    {"minAccuracyGain", K_NUM, 0, -1, 1, NULL, NULL},
    {"maxPValue", K_NUM, 0, 0, 1, NULL, NULL},
    {"minSharpe", K_NUM, 0, -1e6, 1e6, NULL, NULL},
    {"maxDrawdown", K_NUM, 0, -1, 0, NULL, NULL},
    {"minDeflatedSharpe", K_NUM, 0, 0, 1, NULL, NULL},
    {"smaFast", K_INT, 0, 1, 10000, NULL, NULL},
    {"smaSlow", K_INT, 0, 2, 10000, NULL, NULL},
    {"smaShort", K_BOOL, 0, 0, 0, NULL, NULL},
    {"momentumDays", K_INT, 0, 1, 10000, NULL, NULL},
    {"bootstrapResamples", K_INT, 0, 100, 1000000, NULL, NULL},
    {"confidenceLevel", K_NUM, 0, 0.5, 0.999, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const key_spec export_keys[] = {
    {"mlflow", K_STR, 0, 0, 0, NULL, NULL},
    {"mlflowExperiment", K_STR, 0, 0, 0, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const key_spec job_keys[] = {
    {"jobId", K_STR, 1, 0, 0, NULL, NULL},
    {"modelName", K_STR, 1, 0, 0, NULL, NULL},
    {"modelVersion", K_STR, 0, 0, 0, NULL, NULL},
    {"modelType", K_STR, 0, 0, 0, "xgboost|linear|lstm|lightgbm", NULL},
    {"objective", K_STR, 0, 0, 0, "direction|return", NULL},
    {"targetVariable", K_STR, 0, 0, 0, NULL, NULL},
    {"predictionHorizon", K_INT, 0, 1, 1000, NULL, NULL},
    {"dataConfig", K_OBJ, 1, 0, 0, NULL, data_keys},
    {"trainingConfig", K_OBJ, 0, 0, 0, NULL, training_keys},
    {"split", K_OBJ, 0, 0, 0, NULL, split_keys},
    {"backtest", K_OBJ, 0, 0, 0, NULL, backtest_keys},
    {"search", K_OBJ, 0, 0, 0, NULL, search_keys},
    {"baseline", K_OBJ, 0, 0, 0, NULL, baseline_keys},
    {"deployAs", K_STR, 0, 0, 0, "champion|challenger", NULL},
    {"deployTraffic", K_NUM, 0, 0, 1, NULL, NULL},
    {"autoRegister", K_BOOL, 0, 0, 0, NULL, NULL},
    {"autoDeploy", K_BOOL, 0, 0, 0, NULL, NULL},
    {"priority", K_STR, 0, 0, 0, "low|normal|high", NULL},
    {"timeLimitMinutes", K_NUM, 0, 0.01, 525600, NULL, NULL},
    {"export", K_OBJ, 0, 0, 0, NULL, export_keys},
    {NULL, 0, 0, 0, 0, NULL, NULL},
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

static int in_choices(const char *choices, const char *s)
{
    size_t n = strlen(s);
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, s, n) == 0)
            return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
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
            const char *best = vfr_closest(it->string, names, nn);
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
        if (k->type == K_STR && k->choices && !in_choices(k->choices, it->valuestring))
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s: %s: '%s' is not one of %s", file, path,
                            it->valuestring, k->choices);
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

/* ---- filling the struct ------------------------------------------------ */


static double num_or(const cJSON *o, const char *k, double dflt)
{
    const cJSON *v = get(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static int bool_or(const cJSON *o, const char *k, int dflt)
{
    const cJSON *v = get(o, k);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}


static char *str_or(const cJSON *o, const char *k, const char *dflt)
{
    const cJSON *v = get(o, k);
    return vfr_strdup(cJSON_IsString(v) ? v->valuestring : dflt);
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

void vfr_job_free(vfr_job *job)
{
    if (!job)
        return;
    free(job->path);
    free(job->job_id);
    free(job->model_name);
    free(job->model_version);
    free(job->model_type);
    free(job->priority);
    free(job->target);
    free(job->data.dataset);
    free(job->data.processors_json);
    for (int32_t i = 0; i < job->data.n_symbols; i++)
        free(job->data.symbols[i]);
    free(job->data.symbols);
    free(job->training.hyperparameters_json);
    free(job->backtest.strategy);
    free(job->search.space_json);
    free(job->search.metric);
    free(job->search.pruning);
    free(job->baseline.against);
    free(job->deploy_as);
    free(job->exports.mlflow);
    free(job->exports.mlflow_experiment);
    free(job);
}

static vfr_status fill(const char *file, const cJSON *root, vfr_job *j)
{
    const cJSON *dc = get(root, "dataConfig"), *tc = get(root, "trainingConfig"),
                *sp = get(root, "split");
    j->job_id = str_or(root, "jobId", "");
    j->model_name = str_or(root, "modelName", "");
    j->model_version = str_or(root, "modelVersion", "");
    j->model_type = str_or(root, "modelType", "xgboost");
    j->priority = str_or(root, "priority", "normal");
    if (!j->job_id || !j->model_name || !j->model_version || !j->model_type || !j->priority)
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", file);
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
    if (j->model_version[0] && vfr_registry_parse_semver(j->model_version, sv) != VFR_OK)
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "%s: modelVersion: '%s' is not MAJOR.MINOR.PATCH (numbers of 1-6 digits, no leading zeros)",
                        file, j->model_version);

    /* target, objective and horizon: any one pins the others; they must agree */
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
    if (!(j->target = vfr_strdup(tgt)))
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", file);

    /* dataConfig; a relative dataset path is relative to the job file */
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
            if (!(j->data.symbols[j->data.n_symbols++] = vfr_strdup(e->valuestring)))
                return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", file);
        }
    }
    j->data.start_date = INT32_MIN;
    j->data.end_date = INT32_MAX;
    if (get(dc, "startDate"))
        vfr_date_parse(get(dc, "startDate")->valuestring, &j->data.start_date);
    if (get(dc, "endDate"))
        vfr_date_parse(get(dc, "endDate")->valuestring, &j->data.end_date);
    if (j->data.start_date > j->data.end_date)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: dataConfig.endDate is before dataConfig.startDate", file);
    j->data.min_quality = num_or(dc, "minQuality", 0.7);
    j->data.min_completeness = num_or(dc, "minCompleteness", 0.8);
    j->data.min_samples_per_symbol = (int32_t)num_or(dc, "minSamplesPerSymbol", 100);
    const cJSON *nf = get(dc, "nonFinitePolicy");
    j->data.nonfinite = nf && strcmp(nf->valuestring, "keepAsMissing") == 0
                            ? VFR_NONFINITE_KEEP_AS_MISSING : VFR_NONFINITE_DROP_ROW;
    const cJSON *fp = get(dc, "flatPolicy");
    j->data.flat = fp && strcmp(fp->valuestring, "down") == 0 ? VFR_FLAT_DOWN : VFR_FLAT_DROP;
    j->data.min_rows = (int64_t)num_or(dc, "minRows", 1000);
    j->data.min_dates = (int32_t)num_or(dc, "minDates", 100);
    j->data.min_symbols = (int32_t)num_or(dc, "minSymbols", 1);
    const cJSON *mem = get(dc, "memory"); /* dataConfig.memory (issue 16) */
    j->data.memory = !mem ? VFR_MEMORY_AUTO
                     : strcmp(mem->valuestring, "in_core") == 0  ? VFR_MEMORY_IN_CORE
                     : strcmp(mem->valuestring, "external") == 0 ? VFR_MEMORY_EXTERNAL
                                                                 : VFR_MEMORY_AUTO;
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

    /* trainingConfig */
    const cJSON *hp = get(tc, "hyperparameters");
    j->training.hyperparameters_json = hp ? cJSON_PrintUnformatted(hp) : vfr_strdup("{}");
    if (!j->training.hyperparameters_json)
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", file);
    vfr_status pst = vfr_model_check_params(j->model_type, j->training.hyperparameters_json);
    if (pst != VFR_OK) {
        char why[1024];
        snprintf(why, sizeof why, "%s", vfr_last_error());
        return vfr_fail(pst, "%s: %s", file, why);
    }
    j->training.cv_folds = (int32_t)num_or(tc, "cvFolds", 5);
    j->training.early_stopping_rounds = (int32_t)num_or(tc, "earlyStoppingRounds", 50);
    j->training.seed = (uint64_t)num_or(tc, "seed", 42);

    /* split */
    vfr_split_spec *s = &j->split;
    const cJSON *m = get(sp, "method");
    const char *ms = m ? m->valuestring : "holdout";
    s->method = strcmp(ms, "walk_forward") == 0 ? VFR_SPLIT_WALK_FORWARD
                : strcmp(ms, "kfold") == 0      ? VFR_SPLIT_KFOLD
                : strcmp(ms, "cpcv") == 0       ? VFR_SPLIT_CPCV
                                                : VFR_SPLIT_HOLDOUT;
    s->train_share = num_or(tc, "trainTestSplit", 0.70);
    s->val_share = num_or(tc, "validationSplit", 0.15);
    if (s->method == VFR_SPLIT_HOLDOUT && s->train_share + s->val_share > 0.95)
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "%s: trainingConfig.validationSplit: %g + trainTestSplit %g leaves less than 5%% of dates for the test set",
                        file, s->val_share, s->train_share);
    s->window = (int32_t)num_or(sp, "windowSize", 252);
    s->step = (int32_t)num_or(sp, "stepSize", 21);
    s->expanding = bool_or(sp, "expanding", 0);
    s->folds = j->training.cv_folds;
    s->groups = (int32_t)num_or(sp, "nGroups", 6);
    s->test_groups = (int32_t)num_or(sp, "nTestGroups", 2);
    if (s->test_groups >= s->groups)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: split.nTestGroups: %d must be below nGroups %d",
                        file, s->test_groups, s->groups);
    s->horizon = h;
    s->purge = (int32_t)num_or(sp, "purgeDays", h);
    s->embargo = (int32_t)num_or(sp, "embargoDays", 0);
    if (s->purge < h)
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "%s: split.purgeDays: %d is below predictionHorizon %d: training labels would reach into the test period",
                        file, s->purge, h);

    const cJSON *bt = get(root, "backtest");
    /* auto: dollar neutral where the universe has two names a date (pipeline.h) */
    j->backtest.strategy = str_or(bt, "strategy", "auto");
    if (!j->backtest.strategy)
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", file);
    j->backtest.k = (int32_t)num_or(bt, "k", 5);
    j->backtest.cost_bps = num_or(bt, "costBps", 5.0);
    /* direction scores are probabilities: long above 1/2; returns: above 0 */
    j->backtest.threshold = num_or(bt, "threshold", obj == VFR_OBJECTIVE_DIRECTION ? 0.5 : 0.0);

    const cJSON *se = get(root, "search");
    j->search.enabled = se != NULL;
    if (se) {
        const cJSON *m2 = get(se, "method");
        const char *sm = m2 ? m2->valuestring : "grid_search";
        j->search.method = strcmp(sm, "random_search") == 0 ? VFR_SEARCH_RANDOM
                           : strcmp(sm, "bayesian") == 0    ? VFR_SEARCH_TPE
                                                            : VFR_SEARCH_GRID;
        j->search.space_json = cJSON_PrintUnformatted(get(se, "space"));
        j->search.metric = str_or(se, "scoringMetric",
                                  obj == VFR_OBJECTIVE_DIRECTION ? "auc" : "ic");
        j->search.pruning = str_or(se, "pruning", j->search.method == VFR_SEARCH_GRID ? "none" : "none");
        if (!j->search.space_json || !j->search.metric || !j->search.pruning)
            return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", file);
        if (obj == VFR_OBJECTIVE_RETURN && (strcmp(j->search.metric, "f1") == 0 ||
                                            strcmp(j->search.metric, "accuracy") == 0 ||
                                            strcmp(j->search.metric, "auc") == 0 ||
                                            strcmp(j->search.metric, "logloss") == 0))
            return vfr_fail(VFR_ERR_INVALID_ARG,
                            "%s: search.scoringMetric: '%s' needs a direction target; use sharpe or ic for returns",
                            file, j->search.metric);
        j->search.folds = (int32_t)num_or(se, "nFolds", 5);
        j->search.max_iter = (int32_t)num_or(se, "maxIterations", 50);
        j->search.early_stopping_rounds = (int32_t)num_or(se, "earlyStoppingRounds", j->training.early_stopping_rounds);
        j->search.patience = (int32_t)num_or(se, "patience", 0);
        j->search.eta = (int32_t)num_or(se, "reductionFactor", 3);
        j->search.min_rounds = (int32_t)num_or(se, "minRounds", 25);
        j->search.startup = (int32_t)num_or(se, "startupTrials", 10);
        j->search.batch = (int32_t)num_or(se, "batchSize", 4);
        j->search.seed = (uint64_t)num_or(se, "seed", (double)j->training.seed);
    }

    const cJSON *bl = get(root, "baseline");
    j->baseline.against = str_or(bl, "compareAgainst", "buy_and_hold");
    j->deploy_as = str_or(root, "deployAs", "champion");
    if (!j->baseline.against || !j->deploy_as)
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", file);
    j->deploy_traffic = num_or(root, "deployTraffic", 0.1);
    j->baseline.min_sharpe_improvement = num_or(bl, "minSharpeImprovement", 0.20);
    j->baseline.min_accuracy_gain = num_or(bl, "minAccuracyGain", 0.05);
    j->baseline.max_p_value = num_or(bl, "maxPValue", 0.05);
    j->baseline.min_sharpe = num_or(bl, "minSharpe", 1.0);
    j->baseline.max_drawdown = num_or(bl, "maxDrawdown", -0.25);
    j->baseline.min_dsr = num_or(bl, "minDeflatedSharpe", 0.95);
    j->baseline.sma_fast = (int32_t)num_or(bl, "smaFast", 20);
    j->baseline.sma_slow = (int32_t)num_or(bl, "smaSlow", 50);
    j->baseline.sma_short = bool_or(bl, "smaShort", 0);
    j->baseline.momentum_days = (int32_t)num_or(bl, "momentumDays", 20);
    j->baseline.resamples = (int32_t)num_or(bl, "bootstrapResamples", 2000);
    j->baseline.level = num_or(bl, "confidenceLevel", 0.95);
    if (j->baseline.sma_fast >= j->baseline.sma_slow)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: baseline.smaFast: %d must be below smaSlow %d", file,
                        j->baseline.sma_fast, j->baseline.sma_slow);

    j->auto_register = bool_or(root, "autoRegister", 0);
    j->auto_deploy = bool_or(root, "autoDeploy", 0);
    j->time_limit_s = 60 * num_or(root, "timeLimitMinutes", 0);

    const cJSON *ex = get(root, "export");
    if (ex && get(ex, "mlflow")) {
        const char *u = get(ex, "mlflow")->valuestring;
        const char *host = strstr(u, "://");
        if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s: export.mlflow: '%s' is not an http:// or https:// tracking "
                                                 "server URI", file, u);
        if (strchr(host + 3, '@') && (!strchr(host + 3, '/') || strchr(host + 3, '@') < strchr(host + 3, '/')))
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s: export.mlflow: credentials do not belong in a job file: "
                                                 "set MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN",
                            file);
        j->exports.mlflow = str_or(ex, "mlflow", NULL);
        if (!j->exports.mlflow)
            return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", file);
    }
    if (ex && get(ex, "mlflowExperiment") && !(j->exports.mlflow_experiment = str_or(ex, "mlflowExperiment", NULL)))
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", file);
    return VFR_OK;
}

vfr_status vfr_job_parse(const char *name, const char *json, vfr_job **out)
{
    vfr_status st = VFR_OK;
    *out = NULL;
    const char *err_at = NULL;
    int nul = vfr_json_nul_line(json, strlen(json));
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
    if (!j || !(j->path = vfr_strdup(name))) {
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
    if (vfr_read_file(path, &buf, &len) != 0)
        return vfr_fail_open(path);
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

static const char *split_method_name(vfr_split_method m)
{
    static const char *n[] = {"holdout", "walk_forward", "kfold", "cpcv"};
    return n[m];
}

char *vfr_job_to_json(const vfr_job *j)
{
    cJSON *o = cJSON_CreateObject();
    char d[11];
    cJSON_AddStringToObject(o, "jobId", j->job_id);
    cJSON_AddStringToObject(o, "modelName", j->model_name);
    if (j->model_version[0])
        cJSON_AddStringToObject(o, "modelVersion", j->model_version);
    else
        cJSON_AddNullToObject(o, "modelVersion");
    cJSON_AddStringToObject(o, "modelType", j->model_type);
    cJSON_AddStringToObject(o, "objective", j->objective == VFR_OBJECTIVE_DIRECTION ? "direction" : "return");
    cJSON_AddStringToObject(o, "targetVariable", j->target);
    cJSON_AddNumberToObject(o, "predictionHorizon", j->horizon);
    cJSON *dc = cJSON_AddObjectToObject(o, "dataConfig");
    cJSON_AddStringToObject(dc, "dataset", j->data.dataset);
    if (j->data.symbols)
        cJSON_AddItemToObject(dc, "symbols", cJSON_CreateStringArray((const char *const *)j->data.symbols, j->data.n_symbols));
    else
        cJSON_AddNullToObject(dc, "symbols");
    if (j->data.start_date != INT32_MIN) {
        vfr_date_format(j->data.start_date, d);
        cJSON_AddStringToObject(dc, "startDate", d);
    } else {
        cJSON_AddNullToObject(dc, "startDate");
    }
    if (j->data.end_date != INT32_MAX) {
        vfr_date_format(j->data.end_date, d);
        cJSON_AddStringToObject(dc, "endDate", d);
    } else {
        cJSON_AddNullToObject(dc, "endDate");
    }
    cJSON_AddNumberToObject(dc, "minQuality", j->data.min_quality);
    cJSON_AddNumberToObject(dc, "minCompleteness", j->data.min_completeness);
    cJSON_AddNumberToObject(dc, "minSamplesPerSymbol", j->data.min_samples_per_symbol);
    cJSON_AddStringToObject(dc, "nonFinitePolicy", j->data.nonfinite == VFR_NONFINITE_DROP_ROW ? "dropRow" : "keepAsMissing");
    cJSON_AddStringToObject(dc, "flatPolicy", j->data.flat == VFR_FLAT_DROP ? "drop" : "down");
    if (j->data.processors_json)
        cJSON_AddItemToObject(dc, "processors", cJSON_Parse(j->data.processors_json));
    static const char *const mem_names[] = {"auto", "in_core", "external"};
    cJSON_AddStringToObject(dc, "memory", mem_names[j->data.memory]);
    cJSON_AddNumberToObject(dc, "minRows", (double)j->data.min_rows);
    cJSON_AddNumberToObject(dc, "minDates", j->data.min_dates);
    cJSON_AddNumberToObject(dc, "minSymbols", j->data.min_symbols);
    cJSON *tc = cJSON_AddObjectToObject(o, "trainingConfig");
    cJSON *hp = cJSON_Parse(j->training.hyperparameters_json);
    cJSON_AddItemToObject(tc, "hyperparameters", hp ? hp : cJSON_CreateObject());
    cJSON_AddNumberToObject(tc, "trainTestSplit", j->split.train_share);
    cJSON_AddNumberToObject(tc, "validationSplit", j->split.val_share);
    cJSON_AddNumberToObject(tc, "cvFolds", j->training.cv_folds);
    cJSON_AddNumberToObject(tc, "earlyStoppingRounds", j->training.early_stopping_rounds);
    cJSON_AddNumberToObject(tc, "seed", (double)j->training.seed);
    cJSON *sp = cJSON_AddObjectToObject(o, "split");
    cJSON_AddStringToObject(sp, "method", split_method_name(j->split.method));
    cJSON_AddNumberToObject(sp, "windowSize", j->split.window);
    cJSON_AddNumberToObject(sp, "stepSize", j->split.step);
    cJSON_AddBoolToObject(sp, "expanding", j->split.expanding);
    cJSON_AddNumberToObject(sp, "purgeDays", j->split.purge);
    cJSON_AddNumberToObject(sp, "embargoDays", j->split.embargo);
    cJSON_AddNumberToObject(sp, "nGroups", j->split.groups);
    cJSON_AddNumberToObject(sp, "nTestGroups", j->split.test_groups);
    cJSON *bt = cJSON_AddObjectToObject(o, "backtest");
    cJSON_AddStringToObject(bt, "strategy", j->backtest.strategy);
    cJSON_AddNumberToObject(bt, "k", j->backtest.k);
    cJSON_AddNumberToObject(bt, "costBps", j->backtest.cost_bps);
    cJSON_AddNumberToObject(bt, "threshold", j->backtest.threshold);
    if (j->search.enabled) {
        static const char *sm[] = {"grid_search", "random_search", "bayesian"};
        cJSON *se = cJSON_AddObjectToObject(o, "search");
        cJSON_AddStringToObject(se, "method", sm[j->search.method]);
        cJSON *space = cJSON_Parse(j->search.space_json);
        cJSON_AddItemToObject(se, "space", space ? space : cJSON_CreateObject());
        cJSON_AddNumberToObject(se, "nFolds", j->search.folds);
        cJSON_AddStringToObject(se, "scoringMetric", j->search.metric);
        cJSON_AddNumberToObject(se, "maxIterations", j->search.max_iter);
        cJSON_AddNumberToObject(se, "earlyStoppingRounds", j->search.early_stopping_rounds);
        cJSON_AddNumberToObject(se, "patience", j->search.patience);
        cJSON_AddStringToObject(se, "pruning", j->search.pruning);
        cJSON_AddNumberToObject(se, "reductionFactor", j->search.eta);
        cJSON_AddNumberToObject(se, "minRounds", j->search.min_rounds);
        cJSON_AddNumberToObject(se, "startupTrials", j->search.startup);
        cJSON_AddNumberToObject(se, "batchSize", j->search.batch);
        cJSON_AddNumberToObject(se, "seed", (double)j->search.seed);
    }
    cJSON *bl = cJSON_AddObjectToObject(o, "baseline");
    cJSON_AddStringToObject(bl, "compareAgainst", j->baseline.against);
    cJSON_AddNumberToObject(bl, "minSharpeImprovement", j->baseline.min_sharpe_improvement);
    cJSON_AddNumberToObject(bl, "minAccuracyGain", j->baseline.min_accuracy_gain);
    cJSON_AddNumberToObject(bl, "maxPValue", j->baseline.max_p_value);
    cJSON_AddNumberToObject(bl, "minSharpe", j->baseline.min_sharpe);
    cJSON_AddNumberToObject(bl, "maxDrawdown", j->baseline.max_drawdown);
    cJSON_AddNumberToObject(bl, "minDeflatedSharpe", j->baseline.min_dsr);
    cJSON_AddNumberToObject(bl, "smaFast", j->baseline.sma_fast);
    cJSON_AddNumberToObject(bl, "smaSlow", j->baseline.sma_slow);
    cJSON_AddBoolToObject(bl, "smaShort", j->baseline.sma_short);
    cJSON_AddNumberToObject(bl, "momentumDays", j->baseline.momentum_days);
    cJSON_AddNumberToObject(bl, "bootstrapResamples", j->baseline.resamples);
    cJSON_AddNumberToObject(bl, "confidenceLevel", j->baseline.level);
    cJSON_AddStringToObject(o, "deployAs", j->deploy_as);
    cJSON_AddNumberToObject(o, "deployTraffic", j->deploy_traffic);
    cJSON_AddBoolToObject(o, "autoRegister", j->auto_register);
    cJSON_AddBoolToObject(o, "autoDeploy", j->auto_deploy);
    cJSON_AddStringToObject(o, "priority", j->priority);
    if (j->time_limit_s > 0)
        cJSON_AddNumberToObject(o, "timeLimitMinutes", j->time_limit_s / 60);
    if (j->exports.mlflow || j->exports.mlflow_experiment) {
        cJSON *ex = cJSON_AddObjectToObject(o, "export");
        if (j->exports.mlflow)
            cJSON_AddStringToObject(ex, "mlflow", j->exports.mlflow);
        if (j->exports.mlflow_experiment)
            cJSON_AddStringToObject(ex, "mlflowExperiment", j->exports.mlflow_experiment);
    }
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}
