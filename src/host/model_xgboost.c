/* model_xgboost.c: gradient-boosted trees through XGBoost's C API.
 *
 * The library is loaded at run time (xgboost.h); the parameter dialect (1.7's
 * gpu_hist vs 2.x's device=cuda) is picked from its version. A fold's DMatrix
 * is built once per dataview and reused by every model trained on it. Early
 * stopping is done here, round by round, on the validation set's last metric,
 * as XGBoost's Python callback does; the booster is then sliced to its best
 * round, so the saved JSON is exactly the model vfr evaluates. With early
 * stopping off (0 rounds of patience) every round trained is kept. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pthread.h>
#include <stdint.h>

#include "model_internal.h"
#include "util.h"
#include "xgboost_internal.h"

/* The hyperparameters vfr accepts, what XGBoost calls them, and how their
 * values are checked. LightGBM-style names used by the old service map onto
 * XGBoost's (docs/job-config.md, "XGBoost parameters"). */
typedef enum ptype { P_NUM, P_INT, P_STR, P_ANY } ptype;
typedef struct param_spec {
    const char *name;
    const char *xgb;   /* XGBoost name; NULL: handled by vfr */
    ptype type;
    double lo, hi;
} param_spec;

static const param_spec params[] = {
    {"n_estimators", NULL, P_INT, 1, 100000},
    {"num_boost_round", NULL, P_INT, 1, 100000},
    {"learning_rate", "eta", P_NUM, 0, 1},
    {"eta", "eta", P_NUM, 0, 1},
    {"max_depth", "max_depth", P_INT, 0, 64},
    {"min_child_weight", "min_child_weight", P_NUM, 0, 1e12},
    {"subsample", "subsample", P_NUM, 1e-6, 1},
    {"colsample_bytree", "colsample_bytree", P_NUM, 1e-6, 1},
    {"colsample_bylevel", "colsample_bylevel", P_NUM, 1e-6, 1},
    {"colsample_bynode", "colsample_bynode", P_NUM, 1e-6, 1},
    {"reg_lambda", "lambda", P_NUM, 0, 1e12},
    {"lambda", "lambda", P_NUM, 0, 1e12},
    {"reg_alpha", "alpha", P_NUM, 0, 1e12},
    {"alpha", "alpha", P_NUM, 0, 1e12},
    {"gamma", "gamma", P_NUM, 0, 1e12},
    {"min_split_loss", "gamma", P_NUM, 0, 1e12},
    {"max_bin", "max_bin", P_INT, 2, 65536},
    {"max_leaves", "max_leaves", P_INT, 0, 1 << 30},
    {"grow_policy", "grow_policy", P_STR, 0, 0},
    {"scale_pos_weight", "scale_pos_weight", P_NUM, 0, 1e12},
    {"max_delta_step", "max_delta_step", P_NUM, 0, 1e12},
    {"base_score", "base_score", P_NUM, -1e12, 1e12},
    {"num_leaves", NULL, P_INT, 2, 1 << 30},          /* LightGBM: -> max_leaves + lossguide */
    {"min_child_samples", NULL, P_INT, 0, 1 << 30},   /* LightGBM: -> min_child_weight      */
    {"nthread", NULL, P_INT, 1, 1024},
    /* XGBoost's own parameters with no vfr rule: passed on as given, their
     * values checked by the library when the job loads (its message kept) */
    {"tree_method", "tree_method", P_ANY, 0, 0},
    {"booster", "booster", P_ANY, 0, 0},
    {"sampling_method", "sampling_method", P_ANY, 0, 0},
    {"num_parallel_tree", "num_parallel_tree", P_ANY, 0, 0},
    {"monotone_constraints", "monotone_constraints", P_ANY, 0, 0},
    {"interaction_constraints", "interaction_constraints", P_ANY, 0, 0},
    {"max_cat_to_onehot", "max_cat_to_onehot", P_ANY, 0, 0},
    {"max_cat_threshold", "max_cat_threshold", P_ANY, 0, 0},
    {"max_cached_hist_node", "max_cached_hist_node", P_ANY, 0, 0},
    {"refresh_leaf", "refresh_leaf", P_ANY, 0, 0},
    {"process_type", "process_type", P_ANY, 0, 0},
    {"updater", "updater", P_ANY, 0, 0},
    {"multi_strategy", "multi_strategy", P_ANY, 0, 0},
    {"sketch_eps", "sketch_eps", P_ANY, 0, 0},
    {"sample_type", "sample_type", P_ANY, 0, 0},
    {"normalize_type", "normalize_type", P_ANY, 0, 0},
    {"rate_drop", "rate_drop", P_ANY, 0, 0},
    {"one_drop", "one_drop", P_ANY, 0, 0},
    {"skip_drop", "skip_drop", P_ANY, 0, 0},
    {"huber_slope", "huber_slope", P_ANY, 0, 0},
    {"max_bin_by_feature", "max_bin_by_feature", P_ANY, 0, 0},
    {"validate_parameters", "validate_parameters", P_ANY, 0, 0},
    {"disable_default_eval_metric", "disable_default_eval_metric", P_ANY, 0, 0},
};
#define NPARAMS (sizeof params / sizeof params[0])

typedef struct xgb_model {
    const vfr_xgb_api *api;
    xgb_booster booster;
    vfr_objective objective;
    vfr_device_kind device;
    int nthread;
    int32_t rounds;           /* n_estimators */
    int32_t trained, best;
    int32_t F;
    char **feature_names;
    char *set_params;         /* JSON object of what was passed to XGBoost */
    uint64_t seed;
    cJSON *user;              /* the user's hyperparameters                */
    double *train_log, *val_log; /* record_rounds: per-round losses (caller's) */
} xgb_model;

#define VFR_TRY_LOCAL(expr)              \
    do {                                 \
        vfr_status st_ = (expr);         \
        if (st_ != VFR_OK)               \
            return st_;                  \
    } while (0)

static vfr_status xgb_err(const vfr_xgb_api *api, const char *what)
{
    return vfr_fail(VFR_ERR_XGBOOST, "XGBoost %s: %s", what, api->GetLastError());
}

static void quiet(const vfr_xgb_api *api)
{
    /* global config is per thread in XGBoost: set it in every calling thread */
    api->SetGlobalConfig("{\"verbosity\": 0}");
}

static void destroy(void *state)
{
    xgb_model *m = state;
    if (!m)
        return;
    if (m->booster)
        m->api->BoosterFree(m->booster);
    for (int32_t f = 0; m->feature_names && f < m->F; f++)
        free(m->feature_names[f]);
    free(m->feature_names);
    free(m->set_params);
    cJSON_Delete(m->user);
    free(m);
}

static int default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static vfr_status check_params(const cJSON *hp)
{
    const char *names[NPARAMS];
    for (size_t i = 0; i < NPARAMS; i++)
        names[i] = params[i].name;
    for (const cJSON *it = hp ? hp->child : NULL; it; it = it->next) {
        const param_spec *p = NULL;
        for (size_t i = 0; i < NPARAMS; i++)
            if (strcmp(params[i].name, it->string) == 0)
                p = &params[i];
        if (!p) {
            const char *best = vfri_closest(it->string, names, NPARAMS);
            return vfr_fail(VFR_ERR_INVALID_ARG,
                            "trainingConfig.hyperparameters.%s: not an XGBoost parameter vfr knows%s%s%s",
                            it->string, best ? "; did you mean " : "", best ? best : "", best ? "?" : "");
        }
        if (p->type == P_ANY) { /* a scalar; the library judges the value */
            if (!cJSON_IsString(it) && !cJSON_IsNumber(it) && !cJSON_IsBool(it))
                return vfr_fail(VFR_ERR_INVALID_ARG,
                                "trainingConfig.hyperparameters.%s: expected a string or a number", it->string);
            continue;
        }
        if (p->type == P_STR) {
            if (!cJSON_IsString(it))
                return vfr_fail(VFR_ERR_INVALID_ARG, "trainingConfig.hyperparameters.%s: expected a string",
                                it->string);
            if (strcmp(it->string, "grow_policy") == 0 && strcmp(it->valuestring, "depthwise") != 0 &&
                strcmp(it->valuestring, "lossguide") != 0)
                return vfr_fail(VFR_ERR_INVALID_ARG,
                                "trainingConfig.hyperparameters.grow_policy: '%s' is not depthwise or lossguide",
                                it->valuestring);
            continue;
        }
        if (!cJSON_IsNumber(it))
            return vfr_fail(VFR_ERR_INVALID_ARG, "trainingConfig.hyperparameters.%s: expected a number, got %s",
                            it->string, cJSON_IsString(it) ? "a string" : "another type");
        if (p->type == P_INT && it->valuedouble != floor(it->valuedouble))
            return vfr_fail(VFR_ERR_INVALID_ARG, "trainingConfig.hyperparameters.%s: expected an integer",
                            it->string);
        if (it->valuedouble < p->lo || it->valuedouble > p->hi)
            return vfr_fail(VFR_ERR_INVALID_ARG, "trainingConfig.hyperparameters.%s: %g is out of range [%g, %g]",
                            it->string, it->valuedouble, p->lo, p->hi);
    }
    return VFR_OK;
}

static vfr_status configure(xgb_model *m, xgb_booster b);

static vfr_status create(const vfr_model_config *cfg, void **state)
{
    const vfr_xgb_api *api;
    vfr_status st = vfri_xgb_api_get(&api);
    *state = NULL;
    if (st != VFR_OK)
        return st;
    if (cfg->device == VFR_DEVICE_CUDA && !api->info.has_cuda)
        return vfr_fail(VFR_ERR_NO_DEVICE,
                        "--device cuda: the XGBoost library %s (%d.%d.%d) is built without CUDA; "
                        "set VFR_XGBOOST_LIB to a CUDA-enabled libxgboost.so (e.g. from the xgboost Python wheel)",
                        api->info.path, api->info.major, api->info.minor, api->info.patch);
    cJSON *hp = cJSON_Parse(cfg->params_json ? cfg->params_json : "{}");
    if (!hp || !cJSON_IsObject(hp)) {
        cJSON_Delete(hp);
        return vfr_fail(VFR_ERR_INVALID_ARG, "trainingConfig.hyperparameters: not a JSON object");
    }
    if ((st = check_params(hp)) != VFR_OK) {
        cJSON_Delete(hp);
        return st;
    }
    xgb_model *m = calloc(1, sizeof *m);
    if (!m) {
        cJSON_Delete(hp);
        return vfr_fail(VFR_ERR_NOMEM, "xgboost: out of memory");
    }
    m->api = api;
    m->user = hp;
    m->objective = cfg->objective;
    m->device = cfg->device;
    m->seed = cfg->seed;
    const cJSON *nt = cJSON_GetObjectItem(hp, "nthread");
    m->nthread = nt ? nt->valueint : cfg->nthread > 0 ? cfg->nthread : default_threads();
    const cJSON *r = cJSON_GetObjectItem(hp, "n_estimators");
    if (!r)
        r = cJSON_GetObjectItem(hp, "num_boost_round");
    m->rounds = r ? r->valueint : 200;
    m->F = cfg->F;
    m->feature_names = calloc(cfg->F > 0 ? (size_t)cfg->F : 1, sizeof *m->feature_names);
    if (!m->feature_names) {
        destroy(m);
        return vfr_fail(VFR_ERR_NOMEM, "xgboost: out of memory");
    }
    for (int32_t f = 0; f < cfg->F; f++) {
        char buf[32];
        snprintf(buf, sizeof buf, "f%d", f);
        m->feature_names[f] = vfri_strdup(cfg->feature_names ? cfg->feature_names[f] : buf);
        if (!m->feature_names[f]) {
            destroy(m);
            return vfr_fail(VFR_ERR_NOMEM, "xgboost: out of memory");
        }
    }
    /* the values vfr has no rule for are XGBoost's to judge: configure a
     * booster without data now, so that a bad one fails when the job loads */
    xgb_booster b = NULL;
    if (api->BoosterCreate(NULL, 0, &b) != 0) {
        destroy(m);
        return xgb_err(api, "booster");
    }
    quiet(api);
    xgb_ulong len = 0;
    const char *cfgjs = NULL;
    char nf[16];
    snprintf(nf, sizeof nf, "%d", cfg->F > 0 ? cfg->F : 1);
    st = api->BoosterSetParam(b, "num_feature", nf) != 0 ? xgb_err(api, "num_feature") : configure(m, b);
    if (st == VFR_OK && api->BoosterSaveJsonConfig(b, &len, &cfgjs) != 0) {
        /* XGBoost's message without its stack trace */
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", api->GetLastError());
        char *cut = strstr(msg, "\nStack trace");
        if (cut)
            *cut = '\0';
        st = vfr_fail(VFR_ERR_INVALID_ARG, "trainingConfig.hyperparameters: XGBoost %d.%d.%d refused them: %s",
                      api->info.major, api->info.minor, api->info.patch, msg);
    }
    api->BoosterFree(b);
    if (st != VFR_OK) {
        destroy(m);
        return st;
    }
    *state = m;
    return VFR_OK;
}

/* Sets every parameter on a fresh booster, recording them for describe(). */
static vfr_status configure(xgb_model *m, xgb_booster b)
{
    cJSON *rec = cJSON_CreateObject();
    vfr_status st = VFR_OK;
    char v[64];
#define SET(k, val)                                                        \
    do {                                                                   \
        if (m->api->BoosterSetParam(b, (k), (val)) != 0) {                 \
            st = xgb_err(m->api, "set parameter " k);                      \
            goto done;                                                     \
        }                                                                  \
        cJSON_AddStringToObject(rec, (k), (val));                          \
    } while (0)
    int bin = m->objective == VFR_OBJECTIVE_DIRECTION;
    SET("objective", bin ? "binary:logistic" : "reg:squarederror");
    SET("eval_metric", bin ? "logloss" : "rmse");
    snprintf(v, sizeof v, "%d", m->nthread);
    SET("nthread", v);
    snprintf(v, sizeof v, "%llu", (unsigned long long)(m->seed % 2147483647u));
    SET("seed", v);
    if (m->device == VFR_DEVICE_CUDA) {
        if (m->api->info.major >= 2) {
            SET("device", "cuda");
            SET("tree_method", "hist");
        } else {
            SET("tree_method", "gpu_hist");
            SET("gpu_id", "0");
        }
    } else {
        SET("tree_method", "hist"); /* 1.7's "auto" is exact/approx: be explicit */
    }
    int lossguide = 0;
    for (const cJSON *it = m->user->child; it; it = it->next) {
        const param_spec *p = NULL;
        for (size_t i = 0; i < NPARAMS; i++)
            if (strcmp(params[i].name, it->string) == 0)
                p = &params[i];
        if (p->xgb) {
            if (cJSON_IsString(it))
                snprintf(v, sizeof v, "%s", it->valuestring);
            else if (cJSON_IsBool(it))
                snprintf(v, sizeof v, "%s", cJSON_IsTrue(it) ? "true" : "false");
            else
                snprintf(v, sizeof v, "%.17g", it->valuedouble);
            if (m->api->BoosterSetParam(b, p->xgb, v) != 0) {
                st = vfr_fail(VFR_ERR_INVALID_ARG, "trainingConfig.hyperparameters.%s: XGBoost refused '%s': %s",
                              it->string, v, m->api->GetLastError());
                goto done;
            }
            cJSON_AddStringToObject(rec, p->xgb, v);
            lossguide |= strcmp(p->xgb, "grow_policy") == 0;
        } else if (strcmp(it->string, "num_leaves") == 0) {
            snprintf(v, sizeof v, "%d", it->valueint);
            SET("max_leaves", v);
        } else if (strcmp(it->string, "min_child_samples") == 0) {
            /* LightGBM counts rows; XGBoost sums hessians: p(1-p) <= 1/4 per row
             * for logistic loss, 1 per row for squared error */
            snprintf(v, sizeof v, "%.17g", it->valuedouble * (bin ? 0.25 : 1.0));
            SET("min_child_weight", v);
        }
    }
    if (cJSON_GetObjectItem(m->user, "num_leaves") && !lossguide)
        SET("grow_policy", "lossguide");
#undef SET
done:
    if (st == VFR_OK) {
        free(m->set_params);
        m->set_params = cJSON_PrintUnformatted(rec);
    }
    cJSON_Delete(rec);
    return st;
}

/* A quantile matrix built from a view chunk by chunk through XGBoost's
 * callback API (XGQuantileDMatrixCreateFromCallback): XGBoost walks the
 * iterator several times (shape, sketch, bin index), and each `next` puts one
 * chunk and its labels on the proxy; a streamed view's chunk is read into
 * `buf`, an in-memory view's is a pointer into its block (no copy). The
 * iterator and its proxy live as long as the matrix (`holder`). */
typedef struct xgb_iter {
    const vfr_xgb_api *api;
    vfr_dataview *v;
    xgb_dmatrix proxy;
    int64_t pos, chunk;
    float *buf;               /* [chunk, F], streamed views only, freed after the build */
    char iface[256];
    vfr_status st;            /* the first read or proxy error                */
} xgb_iter;

typedef struct xgb_holder {
    xgb_dmatrix dmatrix;
    xgb_iter it;
} xgb_holder;

static void it_reset(void *h) { ((xgb_iter *)h)->pos = 0; }

static int it_next(void *h)
{
    xgb_iter *it = h;
    vfr_dataview *v = it->v;
    if (it->st != VFR_OK || it->pos >= v->n)
        return 0;
    int64_t n = v->n - it->pos < it->chunk ? v->n - it->pos : it->chunk;
    if (!v->X && !it->buf &&
        !(it->buf = malloc(sizeof *it->buf * (size_t)it->chunk * (size_t)(v->F ? v->F : 1)))) {
        it->st = vfr_fail(VFR_ERR_NOMEM, "xgboost: out of memory for a chunk of %lld rows", (long long)it->chunk);
        return 0;
    }
    const float *rows;
    if ((it->st = vfr_dataview_read(v, it->pos, it->pos + n, it->buf, &rows)) != VFR_OK)
        return 0;
    snprintf(it->iface, sizeof it->iface,
             "{\"data\": [%llu, true], \"shape\": [%lld, %d], \"typestr\": \"<f4\", \"version\": 3}",
             (unsigned long long)(uintptr_t)rows, (long long)n, v->F);
    if (it->api->ProxyDMatrixSetDataDense(it->proxy, it->iface) != 0 ||
        (v->y && it->api->DMatrixSetFloatInfo(it->proxy, "label", v->y + it->pos, (xgb_ulong)n) != 0)) {
        it->st = xgb_err(it->api, "streamed batch");
        return 0;
    }
    it->pos += n;
    return 1;
}

static void free_holder(void *d)
{
    xgb_holder *h = d;
    if (!h)
        return;
    if (h->dmatrix)
        h->it.api->DMatrixFree(h->dmatrix);
    if (h->it.proxy)
        h->it.api->DMatrixFree(h->it.proxy);
    free(h->it.buf);
    free(h);
}

static int max_bin_of(const xgb_model *m)
{
    const cJSON *mb = cJSON_GetObjectItem(m->user, "max_bin");
    return mb && cJSON_IsNumber(mb) ? mb->valueint : 256;
}

/* The quantization parameters a booster of m asks of its training matrix. */
static void dmatrix_key(const xgb_model *m, char *key, size_t n)
{
    snprintf(key, n, "max_bin=%d device=%s", max_bin_of(m), vfr_device_kind_str(m->device));
}

/* One external-memory cache prefix per matrix in the view's cache folder. */
static void cache_prefix(const char *dir, char *out, size_t n)
{
    static unsigned long counter;
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&lock);
    unsigned long k = counter++;
    pthread_mutex_unlock(&lock);
    snprintf(out, n, "%s/m%lu", dir, k);
}

/* Builds the quantile matrix of view v; ref: the training matrix whose cuts a
 * validation matrix shares (NULL for a training matrix). */
static vfr_status make_dmatrix(xgb_model *m, vfr_dataview *v, xgb_dmatrix ref, xgb_holder **out)
{
    const vfr_xgb_api *api = m->api;
    vfr_status st = VFR_OK;
    *out = NULL;
    if (v->cache_dir && !api->ExtMemQuantileDMatrixCreateFromCallback)
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "dataConfig.memory: external memory needs XGBoost 3.0 or newer; %s is %d.%d.%d "
                        "(set VFR_XGBOOST_LIB to a newer libxgboost.so)",
                        api->info.path, api->info.major, api->info.minor, api->info.patch);
    xgb_holder *h = calloc(1, sizeof *h);
    if (!h)
        return vfr_fail(VFR_ERR_NOMEM, "xgboost: out of memory");
    h->it.api = api;
    h->it.v = v;
    h->it.chunk = vfr_dataview_chunk_rows(v->F);
    if (h->it.chunk > v->n && v->n > 0) /* a small view: a buffer of its size */
        h->it.chunk = v->n;
    if (api->ProxyDMatrixCreate(&h->it.proxy) != 0) {
        st = xgb_err(api, "proxy DMatrix");
        goto fail;
    }
    char cfg[4400];
    int rc;
    if (v->cache_dir) {
        char prefix[4200];
        cache_prefix(v->cache_dir, prefix, sizeof prefix);
        snprintf(cfg, sizeof cfg, "{\"missing\": NaN, \"nthread\": %d, \"max_bin\": %d, \"cache_prefix\": \"%s\"}",
                 m->nthread, max_bin_of(m), prefix);
        rc = api->ExtMemQuantileDMatrixCreateFromCallback(&h->it, h->it.proxy, ref, it_reset, it_next, cfg,
                                                          &h->dmatrix);
    } else {
        snprintf(cfg, sizeof cfg, "{\"missing\": NaN, \"nthread\": %d, \"max_bin\": %d}", m->nthread,
                 max_bin_of(m));
        rc = api->QuantileDMatrixCreateFromCallback(&h->it, h->it.proxy, ref, it_reset, it_next, cfg,
                                                    &h->dmatrix);
    }
    free(h->it.buf); /* read again only if XGBoost walks the iterator later */
    h->it.buf = NULL;
    if (h->it.st != VFR_OK) {
        st = h->it.st;
        goto fail;
    }
    if (rc != 0) {
        st = xgb_err(api, v->cache_dir ? "external-memory quantile DMatrix" : "quantile DMatrix");
        goto fail;
    }
    if (api->DMatrixSetStrFeatureInfo(h->dmatrix, "feature_name", (const char **)m->feature_names,
                                      (xgb_ulong)m->F) != 0) {
        st = xgb_err(api, "feature names");
        goto fail;
    }
    *out = h;
    return VFR_OK;
fail:
    free_holder(h);
    return st;
}

/* The view's quantile matrix for m's quantization parameters, built on
 * first use under the view's lock, so that concurrent trials with the same
 * parameters share one; ref as make_dmatrix. *slot: its cache slot; NULL when
 * the view already holds VFR_DATAVIEW_XGB_SLOTS other keys, or when ref is a
 * matrix of the caller's own: then *own is m's own (the caller frees it with
 * free_holder), which nobody else can rebuild. */
static vfr_status view_dmatrix(xgb_model *m, vfr_dataview *v, xgb_dmatrix ref, int ref_shared, xgb_dmatrix *out,
                               vfr_xgb_slot **slot, xgb_holder **own)
{
    vfr_status st = VFR_OK;
    char key[64];
    dmatrix_key(m, key, sizeof key);
    *out = NULL;
    *slot = NULL;
    *own = NULL;
    if (ref && !ref_shared) { /* cuts of a private training matrix: private too */
        VFR_TRY_LOCAL(make_dmatrix(m, v, ref, own));
        *out = (*own)->dmatrix;
        return VFR_OK;
    }
    pthread_mutex_lock(&v->lock);
    for (int i = 0; i < v->n_xgb && !*slot; i++)
        if (strcmp(v->xgb[i].key, key) == 0)
            *slot = &v->xgb[i];
    if (!*slot && v->n_xgb < VFR_DATAVIEW_XGB_SLOTS) {
        xgb_holder *h = NULL;
        if ((st = make_dmatrix(m, v, ref, &h)) == VFR_OK) {
            vfr_xgb_slot *s = &v->xgb[v->n_xgb++];
            snprintf(s->key, sizeof s->key, "%s", key);
            s->dmatrix = h;
            s->quantized = 0;
            pthread_mutex_init(&s->first, NULL);
            v->xgb_free = free_holder;
            *slot = s;
        }
    }
    pthread_mutex_unlock(&v->lock);
    if (st != VFR_OK)
        return st;
    if (*slot) {
        *out = ((xgb_holder *)(*slot)->dmatrix)->dmatrix;
        return VFR_OK;
    }
    VFR_TRY_LOCAL(make_dmatrix(m, v, ref, own));
    *out = (*own)->dmatrix;
    return VFR_OK;
}

/* The first round on a shared matrix builds its quantized page: one booster
 * at a time until it is built. */
static int first_round(const vfr_xgb_api *api, xgb_booster b, xgb_dmatrix d, vfr_xgb_slot *slot)
{
    if (!slot)
        return api->BoosterUpdateOneIter(b, 0, d);
    pthread_mutex_lock(&slot->first);
    if (slot->quantized) {
        pthread_mutex_unlock(&slot->first);
        return api->BoosterUpdateOneIter(b, 0, d);
    }
    int rc = api->BoosterUpdateOneIter(b, 0, d);
    if (rc == 0)
        slot->quantized = 1;
    pthread_mutex_unlock(&slot->first);
    return rc;
}

/* Value of the last metric of the set named `name` in an eval line
 * "[3]\ttrain-logloss:0.61\tvalid-logloss:0.66". */
static double eval_value(const char *line, const char *name)
{
    char key[32];
    snprintf(key, sizeof key, "\t%s-", name);
    const char *p = strstr(line, key);
    if (!p)
        return NAN;
    const char *colon = strchr(p, ':');
    return colon ? strtod(colon + 1, NULL) : NAN;
}

static vfr_status fit(void *state, vfr_dataview *train, vfr_dataview *val,
                      const vfr_fit_options *opt, vfr_fit_result *res)
{
    xgb_model *m = state;
    const vfr_xgb_api *api = m->api;
    vfr_status st = VFR_OK;
    xgb_dmatrix dm[2] = {NULL, NULL};
    vfr_xgb_slot *slot[2] = {NULL, NULL};
    xgb_holder *own[2] = {NULL, NULL};
    xgb_booster b = NULL;
    quiet(api);
    if (train->F != m->F || (val && val->F != m->F))
        return vfr_fail(VFR_ERR_INVALID_ARG, "xgboost fit: %d features, the model has %d", train->F, m->F);
    VFR_TRY(view_dmatrix(m, train, NULL, 0, &dm[0], &slot[0], &own[0]));
    if (val) /* binned with the training matrix's cuts */
        VFR_TRY(view_dmatrix(m, val, dm[0], slot[0] != NULL, &dm[1], &slot[1], &own[1]));
    if (api->BoosterCreate(dm, val ? 2 : 1, &b) != 0) {
        st = xgb_err(api, "booster");
        goto fail;
    }
    VFR_TRY(configure(m, b));
    const char *names[2] = {"train", "valid"};
    int32_t rounds = opt->max_rounds > 0 ? opt->max_rounds : m->rounds;
    int32_t patience = opt->early_stopping_rounds;
    double best = INFINITY, best_train = NAN, last_train = NAN, last_score = NAN;
    int32_t best_it = -1, it;
    for (it = 0; it < rounds; it++) {
        if (opt->stop && *opt->stop) {
            st = vfr_fail(VFR_ERR_INTERRUPTED, "xgboost: stopped at round %d", it);
            goto fail;
        }
        if ((it == 0 ? first_round(api, b, dm[0], slot[0]) : api->BoosterUpdateOneIter(b, it, dm[0])) != 0) {
            st = xgb_err(api, "training round");
            goto fail;
        }
        const char *line;
        if (api->BoosterEvalOneIter(b, it, dm, names, val ? 2 : 1, &line) != 0) {
            st = xgb_err(api, "evaluation");
            goto fail;
        }
        last_train = eval_value(line, "train");
        double score = val ? eval_value(line, "valid") : last_train;
        last_score = score;
        if (m->train_log)
            m->train_log[it] = last_train;
        if (m->val_log)
            m->val_log[it] = val ? score : NAN;
        if (score < best) { /* logloss and rmse: lower is better */
            best = score;
            best_it = it;
            best_train = last_train;
        } else if (val && patience > 0 && it - best_it >= patience) {
            it++;
            break;
        }
    }
    m->trained = it;
    if (!val || patience <= 0) { /* no early stopping: keep every round trained */
        best_it = it - 1;
        best_train = last_train;
        best = last_score;
    }
    if (best_it + 1 < it && !m->train_log) {
        xgb_booster sliced = NULL;
        if (api->BoosterSlice(b, 0, best_it + 1, 1, &sliced) != 0) {
            st = xgb_err(api, "slice to the best round");
            goto fail;
        }
        api->BoosterFree(b);
        b = sliced;
    }
    if (m->booster)
        api->BoosterFree(m->booster);
    m->booster = b;
    m->best = best_it;
    res->rounds = it;
    res->best_round = best_it;
    res->best_val_loss = val ? best : NAN;
    res->train_loss = best_train;
    res->loss_name = m->objective == VFR_OBJECTIVE_DIRECTION ? "logloss" : "rmse";
    b = NULL;
fail:
    if (b)
        api->BoosterFree(b);
    for (int i = 1; i >= 0; i--) /* matrices of its own (the view's slots were full) */
        free_holder(own[i]);
    return st;
}

static vfr_status predict_range(xgb_model *m, vfr_dataview *v, int32_t rounds, float *out);

static vfr_status predict(void *state, vfr_dataview *v, float *out)
{
    return predict_range(state, v, 0, out);
}

static void record_rounds(void *state, double *train_loss, double *val_loss)
{
    xgb_model *m = state;
    m->train_log = train_loss;
    m->val_log = val_loss;
}

/* iteration_range [0, rounds) of the booster as trained (record_rounds) */
static vfr_status predict_rounds(void *state, vfr_dataview *v, int32_t rounds, float *out)
{
    xgb_model *m = state;
    if (rounds < 1 || rounds > m->trained)
        return vfr_fail(VFR_ERR_INVALID_ARG, "xgboost predict: %d rounds asked of a model with %d", rounds,
                        m->trained);
    return predict_range(m, v, rounds, out);
}

/* rounds 0: every round the booster holds */
static vfr_status predict_range(xgb_model *m, vfr_dataview *v, int32_t rounds, float *out)
{
    const vfr_xgb_api *api = m->api;
    if (!m->booster)
        return vfr_fail(VFR_ERR_INVALID_ARG, "xgboost predict: the model is not trained");
    if (v->F != m->F)
        return vfr_fail(VFR_ERR_INVALID_ARG, "xgboost predict: %d features, the model has %d", v->F, m->F);
    quiet(api);
    /* in chunks: XGBoost's output buffer is per thread and per booster, and
     * a streamed view's rows are read one chunk at a time */
    int64_t block = v->X ? 1 << 20 : vfr_dataview_chunk_rows(v->F);
    if (!v->X && block > v->n)
        block = v->n;
    float *buf = v->X ? NULL : malloc(sizeof *buf * (size_t)block * (size_t)(v->F ? v->F : 1));
    if (!v->X && !buf)
        return vfr_fail(VFR_ERR_NOMEM, "xgboost predict: out of memory for a chunk of %lld rows", (long long)block);
    vfr_status st = VFR_OK;
    for (int64_t r0 = 0; r0 < v->n && st == VFR_OK; r0 += block) {
        int64_t n = v->n - r0 < block ? v->n - r0 : block;
        const float *rows;
        if ((st = vfr_dataview_read(v, r0, r0 + n, buf, &rows)) != VFR_OK)
            break;
        char iface[256];
        snprintf(iface, sizeof iface,
                 "{\"data\": [%llu, true], \"shape\": [%lld, %d], \"typestr\": \"<f4\", \"version\": 3}",
                 (unsigned long long)(uintptr_t)rows, (long long)n, v->F);
        const xgb_ulong *shape;
        xgb_ulong dim;
        const float *res;
        char pc[192];
        snprintf(pc, sizeof pc,
                 "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": %d, "
                 "\"strict_shape\": true, \"missing\": NaN, \"cache_id\": 0}",
                 rounds);
        if (api->BoosterPredictFromDense(m->booster, iface, pc, NULL, &shape, &dim, &res) != 0)
            st = xgb_err(api, "predict");
        else if (dim != 2 || shape[0] != (xgb_ulong)n || shape[1] != 1)
            st = vfr_fail(VFR_ERR_XGBOOST, "XGBoost predict: unexpected output shape");
        else
            memcpy(out + r0, res, sizeof *out * (size_t)n);
    }
    free(buf);
    return st;
}

static vfr_status save(void *state, const char *path)
{
    xgb_model *m = state;
    xgb_ulong len;
    const char *buf;
    if (!m->booster)
        return vfr_fail(VFR_ERR_INVALID_ARG, "xgboost save: the model is not trained");
    if (m->api->BoosterSaveModelToBuffer(m->booster, "{\"format\": \"json\"}", &len, &buf) != 0)
        return xgb_err(m->api, "save");
    return vfri_write_file_atomic(path, buf, (size_t)len);
}

static vfr_status load(const vfr_model_config *cfg, const char *path, void **state)
{
    vfr_status st = create(cfg, state);
    if (st != VFR_OK)
        return st;
    xgb_model *m = *state;
    char *buf;
    size_t len;
    if (vfri_read_file(path, &buf, &len) != 0) {
        st = vfr_fail(VFR_ERR_NOT_FOUND, "%s: cannot read the model", path);
        goto fail;
    }
    quiet(m->api);
    int rc = m->api->BoosterCreate(NULL, 0, &m->booster);
    if (rc == 0)
        rc = m->api->BoosterLoadModelFromBuffer(m->booster, buf, (xgb_ulong)len);
    free(buf);
    if (rc != 0) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: not an XGBoost model: %s", path, m->api->GetLastError());
        goto fail;
    }
    char v[32];
    snprintf(v, sizeof v, "%d", m->nthread);
    m->api->BoosterSetParam(m->booster, "nthread", v);
    int rounds = 0;
    m->api->BoosterBoostedRounds(m->booster, &rounds);
    m->trained = rounds;
    m->best = rounds - 1;
    return VFR_OK;
fail:
    destroy(*state);
    *state = NULL;
    return st;
}

static vfr_status importance(void *state, double *imp)
{
    xgb_model *m = state;
    for (int32_t f = 0; f < m->F; f++)
        imp[f] = 0.0;
    if (!m->booster)
        return vfr_fail(VFR_ERR_INVALID_ARG, "xgboost importance: the model is not trained");
    xgb_ulong n, dim;
    const char **names;
    const xgb_ulong *shape;
    const float *scores;
    if (m->api->BoosterFeatureScore(m->booster, "{\"importance_type\": \"gain\"}", &n, &names, &dim,
                                    &shape, &scores) != 0)
        return xgb_err(m->api, "feature importance");
    for (xgb_ulong i = 0; i < n; i++) { /* only features used in a split come back */
        int32_t f = -1;
        for (int32_t k = 0; k < m->F && f < 0; k++)
            if (strcmp(names[i], m->feature_names[k]) == 0)
                f = k;
        if (f < 0 && names[i][0] == 'f')
            f = (int32_t)strtol(names[i] + 1, NULL, 10);
        if (f >= 0 && f < m->F)
            imp[f] = scores[i];
    }
    return VFR_OK;
}

static char *describe(void *state)
{
    xgb_model *m = state;
    cJSON *o = cJSON_CreateObject();
    char v[32];
    cJSON_AddStringToObject(o, "type", "xgboost");
    snprintf(v, sizeof v, "%d.%d.%d", m->api->info.major, m->api->info.minor, m->api->info.patch);
    cJSON_AddStringToObject(o, "library", "libxgboost");
    cJSON_AddStringToObject(o, "libraryVersion", v);
    cJSON_AddStringToObject(o, "libraryPath", m->api->info.path);
    cJSON_AddStringToObject(o, "device", vfr_device_kind_str(m->device));
    cJSON_AddNumberToObject(o, "roundsTrained", m->trained);
    cJSON_AddNumberToObject(o, "bestRound", m->best);
    cJSON_AddItemToObject(o, "hyperparameters", cJSON_Duplicate(m->user, 1));
    cJSON *set = m->set_params ? cJSON_Parse(m->set_params) : NULL;
    cJSON_AddItemToObject(o, "xgboostParams", set ? set : cJSON_CreateObject());
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static vfr_status check(const char *params_json)
{
    cJSON *hp = cJSON_Parse(params_json ? params_json : "{}");
    vfr_status st = hp && cJSON_IsObject(hp)
                        ? check_params(hp)
                        : vfr_fail(VFR_ERR_INVALID_ARG, "trainingConfig.hyperparameters: not a JSON object");
    cJSON_Delete(hp);
    return st;
}

static vfr_status preload(void)
{
    vfr_xgboost_info xi;
    return vfr_xgboost_probe(&xi);
}

const vfr_model_ops vfr_model_xgboost_ops = {
    .type = "xgboost",
    .artifact = "model.json",
    .streams = 1,
    .check = check,
    .preload = preload,
    .create = create,
    .fit = fit,
    .predict = predict,
    .record_rounds = record_rounds,
    .predict_rounds = predict_rounds,
    .save = save,
    .load = load,
    .importance = importance,
    .describe = describe,
    .destroy = destroy,
};
