/* model_lightgbm.c: gradient-boosted trees through LightGBM's C API.
 *
 * The library is loaded at run time (lightgbm.h). Parameters go by LightGBM's
 * own names and aliases, checked here against one table when the job loads
 * (unknown key with a suggestion, type, range). A view's LightGBM Dataset is
 * built once per binning key (max_bin, min_data_in_leaf, ...) from sampled
 * columns, then rows pushed in chunks, exactly as LightGBM's own
 * CreateFromMat samples, so that vfr's bins equal Python's; every trial with
 * that key reuses it, and a validation Dataset shares its training Dataset's
 * bins. Early stopping is done here, round by round, as Python's
 * lightgbm.early_stopping does; the booster is then cut to its best
 * iteration through LightGBM's text model, so that the saved file is exactly
 * the model vfr evaluates. Not here: categorical features, DART (it rewrites
 * earlier trees, so no iteration is "the best one" to keep), ranking. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lightgbm_internal.h"
#include "model_internal.h"
#include "util.h"

/* ---- parameters ------------------------------------------------------------ */

typedef enum ptype { P_NUM, P_INT, P_BOOL, P_STR } ptype;
typedef struct param_spec {
    const char *name;    /* as the user may write it (LightGBM's name or alias)  */
    const char *lgb;     /* LightGBM's main name; NULL: handled by vfr           */
    ptype type;
    double lo, hi;       /* P_NUM / P_INT range                                  */
    int lo_open;         /* lo excluded ("> 0")                                  */
    const char *choices; /* P_STR: "a|b"                                         */
    int dataset;         /* changes the binned Dataset (its cache key)           */
} param_spec;

#define BIG 1e12
#define IMAX 2147483647.0
static const param_spec params[] = {
    {"num_iterations", NULL, P_INT, 1, 100000, 0, NULL, 0},
    {"n_estimators", NULL, P_INT, 1, 100000, 0, NULL, 0},
    {"num_boost_round", NULL, P_INT, 1, 100000, 0, NULL, 0},
    {"num_trees", NULL, P_INT, 1, 100000, 0, NULL, 0},
    {"num_rounds", NULL, P_INT, 1, 100000, 0, NULL, 0},
    {"learning_rate", "learning_rate", P_NUM, 0, 1000, 1, NULL, 0},
    {"eta", "learning_rate", P_NUM, 0, 1000, 1, NULL, 0},
    {"shrinkage_rate", "learning_rate", P_NUM, 0, 1000, 1, NULL, 0},
    {"num_leaves", "num_leaves", P_INT, 2, 131072, 0, NULL, 0},
    {"max_leaves", "num_leaves", P_INT, 2, 131072, 0, NULL, 0},
    {"num_leaf", "num_leaves", P_INT, 2, 131072, 0, NULL, 0},
    {"max_depth", "max_depth", P_INT, -1, 1000, 0, NULL, 0},
    {"min_data_in_leaf", "min_data_in_leaf", P_INT, 0, IMAX, 0, NULL, 1},
    {"min_child_samples", "min_data_in_leaf", P_INT, 0, IMAX, 0, NULL, 1},
    {"min_data_per_leaf", "min_data_in_leaf", P_INT, 0, IMAX, 0, NULL, 1},
    {"min_data", "min_data_in_leaf", P_INT, 0, IMAX, 0, NULL, 1},
    {"min_sum_hessian_in_leaf", "min_sum_hessian_in_leaf", P_NUM, 0, BIG, 0, NULL, 0},
    {"min_child_weight", "min_sum_hessian_in_leaf", P_NUM, 0, BIG, 0, NULL, 0},
    {"min_sum_hessian", "min_sum_hessian_in_leaf", P_NUM, 0, BIG, 0, NULL, 0},
    {"bagging_fraction", "bagging_fraction", P_NUM, 0, 1, 1, NULL, 0},
    {"subsample", "bagging_fraction", P_NUM, 0, 1, 1, NULL, 0},
    {"sub_row", "bagging_fraction", P_NUM, 0, 1, 1, NULL, 0},
    {"bagging_freq", "bagging_freq", P_INT, 0, 1e6, 0, NULL, 0},
    {"subsample_freq", "bagging_freq", P_INT, 0, 1e6, 0, NULL, 0},
    {"feature_fraction", "feature_fraction", P_NUM, 0, 1, 1, NULL, 0},
    {"colsample_bytree", "feature_fraction", P_NUM, 0, 1, 1, NULL, 0},
    {"sub_feature", "feature_fraction", P_NUM, 0, 1, 1, NULL, 0},
    {"feature_fraction_bynode", "feature_fraction_bynode", P_NUM, 0, 1, 1, NULL, 0},
    {"colsample_bynode", "feature_fraction_bynode", P_NUM, 0, 1, 1, NULL, 0},
    {"lambda_l1", "lambda_l1", P_NUM, 0, BIG, 0, NULL, 0},
    {"reg_alpha", "lambda_l1", P_NUM, 0, BIG, 0, NULL, 0},
    {"l1_regularization", "lambda_l1", P_NUM, 0, BIG, 0, NULL, 0},
    {"lambda_l2", "lambda_l2", P_NUM, 0, BIG, 0, NULL, 0},
    {"reg_lambda", "lambda_l2", P_NUM, 0, BIG, 0, NULL, 0},
    {"lambda", "lambda_l2", P_NUM, 0, BIG, 0, NULL, 0},
    {"l2_regularization", "lambda_l2", P_NUM, 0, BIG, 0, NULL, 0},
    {"min_gain_to_split", "min_gain_to_split", P_NUM, 0, BIG, 0, NULL, 0},
    {"min_split_gain", "min_gain_to_split", P_NUM, 0, BIG, 0, NULL, 0},
    {"max_bin", "max_bin", P_INT, 2, 65535, 0, NULL, 1},
    {"max_bins", "max_bin", P_INT, 2, 65535, 0, NULL, 1},
    {"min_data_in_bin", "min_data_in_bin", P_INT, 1, IMAX, 0, NULL, 1},
    {"bin_construct_sample_cnt", "bin_construct_sample_cnt", P_INT, 1, IMAX, 0, NULL, 1},
    {"subsample_for_bin", "bin_construct_sample_cnt", P_INT, 1, IMAX, 0, NULL, 1},
    {"use_missing", "use_missing", P_BOOL, 0, 0, 0, NULL, 1},
    {"zero_as_missing", "zero_as_missing", P_BOOL, 0, 0, 0, NULL, 1},
    {"feature_pre_filter", "feature_pre_filter", P_BOOL, 0, 0, 0, NULL, 1},
    {"enable_bundle", "enable_bundle", P_BOOL, 0, 0, 0, NULL, 1},
    {"extra_trees", "extra_trees", P_BOOL, 0, 0, 0, NULL, 0},
    {"path_smooth", "path_smooth", P_NUM, 0, BIG, 0, NULL, 0},
    {"max_delta_step", "max_delta_step", P_NUM, -BIG, BIG, 0, NULL, 0},
    {"scale_pos_weight", "scale_pos_weight", P_NUM, 0, BIG, 1, NULL, 0},
    {"is_unbalance", "is_unbalance", P_BOOL, 0, 0, 0, NULL, 0},
    {"boosting", "boosting", P_STR, 0, 0, 0, "gbdt|rf", 0},
    {"boosting_type", "boosting", P_STR, 0, 0, 0, "gbdt|rf", 0},
    {"data_sample_strategy", "data_sample_strategy", P_STR, 0, 0, 0, "bagging|goss", 0},
    {"top_rate", "top_rate", P_NUM, 0, 1, 1, NULL, 0},
    {"other_rate", "other_rate", P_NUM, 0, 1, 0, NULL, 0},
    {"deterministic", "deterministic", P_BOOL, 0, 0, 0, NULL, 0},
    {"force_col_wise", "force_col_wise", P_BOOL, 0, 0, 0, NULL, 0},
    {"force_row_wise", "force_row_wise", P_BOOL, 0, 0, 0, NULL, 0},
    {"num_threads", NULL, P_INT, 1, 1024, 0, NULL, 0},
    {"n_jobs", NULL, P_INT, 1, 1024, 0, NULL, 0},
    {"nthread", NULL, P_INT, 1, 1024, 0, NULL, 0},
};
#define NPARAMS (sizeof params / sizeof params[0])

/* Keys that vfr sets from elsewhere in the job: a pointer, not a guess. */
static const struct {
    const char *key, *where;
} elsewhere[] = {
    {"seed", "trainingConfig.seed"},
    {"random_state", "trainingConfig.seed"},
    {"random_seed", "trainingConfig.seed"},
    {"early_stopping_round", "trainingConfig.earlyStoppingRounds"},
    {"early_stopping_rounds", "trainingConfig.earlyStoppingRounds"},
    {"early_stopping", "trainingConfig.earlyStoppingRounds"},
    {"device_type", "the --device option"},
    {"device", "the --device option"},
    {"objective", "targetVariable (price_direction_<h>d: binary, return_<h>d: regression)"},
    {"metric", "targetVariable (binary_logloss or rmse)"},
    {"verbosity", "vfr (LightGBM stays silent)"},
    {"verbose", "vfr (LightGBM stays silent)"},
};

static const param_spec *find_param(const char *name)
{
    for (size_t i = 0; i < NPARAMS; i++)
        if (strcmp(params[i].name, name) == 0)
            return &params[i];
    return NULL;
}

/* The name a parameter is deduplicated under: LightGBM's, or vfr's group. */
static const char *canonical(const param_spec *p)
{
    if (p->lgb)
        return p->lgb;
    if (p->name[0] == 'n' && (strcmp(p->name, "nthread") == 0 || strcmp(p->name, "n_jobs") == 0))
        return "num_threads";
    return strcmp(p->name, "num_threads") == 0 ? "num_threads" : "num_iterations";
}

static const char *HP = "trainingConfig.hyperparameters";

static vfr_status check_one(const cJSON *it, const param_spec *p)
{
    if (p->type == P_BOOL) {
        if (!cJSON_IsBool(it))
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s.%s: expected true or false", HP, it->string);
        return VFR_OK;
    }
    if (p->type == P_STR) {
        if (!cJSON_IsString(it))
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s.%s: expected a string (%s)", HP, it->string, p->choices);
        size_t n = strlen(it->valuestring);
        for (const char *c = p->choices; c && *c;) {
            const char *bar = strchr(c, '|');
            size_t len = bar ? (size_t)(bar - c) : strlen(c);
            if (len == n && strncmp(c, it->valuestring, n) == 0)
                return VFR_OK;
            c = bar ? bar + 1 : c + len;
        }
        if (strcmp(p->lgb, "boosting") == 0 && strcmp(it->valuestring, "dart") == 0)
            return vfr_fail(VFR_ERR_INVALID_ARG,
                            "%s.%s: 'dart' is not supported: it rescales earlier trees every round, so "
                            "early stopping cannot keep a best iteration (use gbdt or rf)",
                            HP, it->string);
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s.%s: '%s' is not one of %s", HP, it->string, it->valuestring,
                        p->choices);
    }
    if (!cJSON_IsNumber(it))
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s.%s: expected a number, got %s", HP, it->string,
                        cJSON_IsString(it) ? "a string" : cJSON_IsBool(it) ? "a boolean" : "another type");
    double v = it->valuedouble;
    if (p->type == P_INT && v != floor(v))
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s.%s: expected an integer, got %g", HP, it->string, v);
    if (v > p->hi || (p->lo_open ? v <= p->lo : v < p->lo))
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s.%s: %g is out of range %s%g, %g]", HP, it->string, v,
                        p->lo_open ? "(" : "[", p->lo, p->hi);
    return VFR_OK;
}

static vfr_status check_params(const cJSON *hp)
{
    const char *names[NPARAMS];
    for (size_t i = 0; i < NPARAMS; i++)
        names[i] = params[i].name;
    for (const cJSON *it = hp ? hp->child : NULL; it; it = it->next) {
        const param_spec *p = find_param(it->string);
        if (!p) {
            for (size_t i = 0; i < sizeof elsewhere / sizeof elsewhere[0]; i++)
                if (strcmp(elsewhere[i].key, it->string) == 0)
                    return vfr_fail(VFR_ERR_INVALID_ARG, "%s.%s: vfr sets this for LightGBM from %s", HP,
                                    it->string, elsewhere[i].where);
            const char *best = vfri_closest(it->string, names, NPARAMS);
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s.%s: not a LightGBM parameter vfr knows%s%s%s", HP,
                            it->string, best ? "; did you mean " : "", best ? best : "", best ? "?" : "");
        }
        vfr_status st = check_one(it, p);
        if (st != VFR_OK)
            return st;
        for (const cJSON *o = hp->child; o != it; o = o->next) {
            const param_spec *q = find_param(o->string);
            if (strcmp(canonical(p), canonical(q)) == 0)
                return vfr_fail(VFR_ERR_INVALID_ARG, "%s.%s: the same LightGBM parameter as %s (%s) is given twice",
                                HP, it->string, o->string, canonical(p));
        }
    }
    const cJSON *row = cJSON_GetObjectItemCaseSensitive(hp, "force_row_wise"),
                *col = cJSON_GetObjectItemCaseSensitive(hp, "force_col_wise");
    if (cJSON_IsTrue(row) && cJSON_IsTrue(col))
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s.force_row_wise: true together with force_col_wise: pick one", HP);
    const cJSON *unb = cJSON_GetObjectItemCaseSensitive(hp, "is_unbalance");
    if (cJSON_IsTrue(unb) && cJSON_GetObjectItemCaseSensitive(hp, "scale_pos_weight"))
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s.is_unbalance: true together with scale_pos_weight: pick one", HP);
    return VFR_OK;
}

/* ---- the model ----------------------------------------------------------- */

typedef struct lgb_model {
    const vfr_lgb_api *api;
    lgb_booster booster;      /* the kept model (cut to its best iteration) */
    vfr_objective objective;
    vfr_device_kind device;
    int nthread;
    int32_t rounds;           /* num_iterations                             */
    int32_t trained, best;
    int32_t F;
    char **feature_names;     /* [F], made safe for LightGBM's text model   */
    char *train_params;       /* "k=v k=v": everything given to LightGBM    */
    char *data_params;        /* the part that decides the binned Dataset   */
    uint64_t seed;
    cJSON *user;              /* the user's hyperparameters                 */
} lgb_model;

static vfr_status lgb_err(const vfr_lgb_api *api, const char *what)
{
    return vfr_fail(VFR_ERR_LIGHTGBM, "LightGBM %s: %s", what, api->GetLastError());
}

static void destroy(void *state)
{
    lgb_model *m = state;
    if (!m)
        return;
    if (m->booster)
        m->api->BoosterFree(m->booster);
    for (int32_t f = 0; m->feature_names && f < m->F; f++)
        free(m->feature_names[f]);
    free(m->feature_names);
    free(m->train_params);
    free(m->data_params);
    cJSON_Delete(m->user);
    free(m);
}

static int default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static const cJSON *group_item(const cJSON *hp, const char *canon)
{
    for (const cJSON *it = hp->child; it; it = it->next) {
        const param_spec *p = find_param(it->string);
        if (p && strcmp(canonical(p), canon) == 0)
            return it;
    }
    return NULL;
}

/* Appends " key=value" to a growing string. */
static int append(char **s, size_t *len, size_t *cap, const char *key, const char *val)
{
    size_t need = strlen(key) + strlen(val) + 3;
    if (*len + need > *cap) {
        size_t c = (*cap + need) * 2;
        char *n = realloc(*s, c);
        if (!n)
            return -1;
        *s = n;
        *cap = c;
    }
    *len += (size_t)snprintf(*s + *len, *cap - *len, "%s%s=%s", *len ? " " : "", key, val);
    return 0;
}

/* Builds LightGBM's parameter strings: vfr's settings, then the user's
 * under LightGBM's main names. Deterministic by default: LightGBM otherwise
 * times row-wise against column-wise histograms and keeps the faster. */
static vfr_status build_params(lgb_model *m)
{
    size_t tl = 0, tc = 0, dl = 0, dc = 0;
    char *t = NULL, *d = NULL, v[64];
    int bin = m->objective == VFR_OBJECTIVE_DIRECTION, bad = 0;
#define BOTH(k, val) (bad |= append(&t, &tl, &tc, (k), (val)) | append(&d, &dl, &dc, (k), (val)))
    bad |= append(&t, &tl, &tc, "objective", bin ? "binary" : "regression");
    bad |= append(&t, &tl, &tc, "metric", bin ? "binary_logloss" : "rmse");
    BOTH("verbosity", "-1");
    snprintf(v, sizeof v, "%llu", (unsigned long long)(m->seed % 2147483647u));
    BOTH("seed", v);
    snprintf(v, sizeof v, "%d", m->nthread);
    BOTH("num_threads", v);
    BOTH("device_type", m->device == VFR_DEVICE_CUDA ? "cuda" : "cpu");
    if (!group_item(m->user, "deterministic"))
        bad |= append(&t, &tl, &tc, "deterministic", "true");
    if (!cJSON_IsTrue(group_item(m->user, "force_row_wise")) && !group_item(m->user, "force_col_wise"))
        bad |= append(&t, &tl, &tc, "force_col_wise", "true");
    for (const cJSON *it = m->user->child; it; it = it->next) {
        const param_spec *p = find_param(it->string);
        if (!p->lgb)
            continue;
        if (p->type == P_BOOL)
            snprintf(v, sizeof v, "%s", cJSON_IsTrue(it) ? "true" : "false");
        else if (p->type == P_STR)
            snprintf(v, sizeof v, "%s", it->valuestring);
        else /* the shortest text that reads back as the same double */
            for (int prec = 15; prec <= 17; prec++)
                if (snprintf(v, sizeof v, "%.*g", prec, it->valuedouble) > 0 && strtod(v, NULL) == it->valuedouble)
                    break;
        if (p->dataset)
            BOTH(p->lgb, v);
        else
            bad |= append(&t, &tl, &tc, p->lgb, v);
    }
#undef BOTH
    if (bad || !t || !d) {
        free(t);
        free(d);
        return vfr_fail(VFR_ERR_NOMEM, "lightgbm: out of memory");
    }
    m->train_params = t;
    m->data_params = d;
    return VFR_OK;
}

/* LightGBM refuses JSON's special characters and spaces in feature names. */
static char *safe_name(const char *s)
{
    char *c = vfri_strdup(s);
    for (char *p = c; p && *p; p++)
        if (strchr("[]{}\":, \t\n", *p))
            *p = '_';
    return c;
}

static vfr_status check_device(const vfr_lgb_api *api, vfr_device_kind dev)
{
    if (dev != VFR_DEVICE_CUDA)
        return VFR_OK;
    int ok = 0;
    vfr_status st = vfr_lightgbm_cuda(&ok);
    if (st != VFR_OK)
        return st;
    if (!ok)
        return vfr_fail(VFR_ERR_NO_DEVICE,
                        "--device cuda: the LightGBM library %s (%s) cannot train with device_type=cuda here "
                        "(the PyPI wheel is CPU-only); set VFR_LIGHTGBM_LIB to a lib_lightgbm.so built with "
                        "cmake -DUSE_CUDA=ON (docs/lightgbm.md)",
                        api->info.path, api->info.version);
    return VFR_OK;
}

static vfr_status create(const vfr_model_config *cfg, void **state)
{
    const vfr_lgb_api *api;
    *state = NULL;
    vfr_status st = vfri_lgb_api_get(&api);
    if (st != VFR_OK)
        return st;
    if ((st = check_device(api, cfg->device)) != VFR_OK)
        return st;
    cJSON *hp = cJSON_Parse(cfg->params_json ? cfg->params_json : "{}");
    if (!hp || !cJSON_IsObject(hp)) {
        cJSON_Delete(hp);
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: not a JSON object", HP);
    }
    if ((st = check_params(hp)) != VFR_OK) {
        cJSON_Delete(hp);
        return st;
    }
    lgb_model *m = calloc(1, sizeof *m);
    if (!m) {
        cJSON_Delete(hp);
        return vfr_fail(VFR_ERR_NOMEM, "lightgbm: out of memory");
    }
    m->api = api;
    m->user = hp;
    m->objective = cfg->objective;
    m->device = cfg->device;
    m->seed = cfg->seed;
    const cJSON *nt = group_item(hp, "num_threads");
    m->nthread = nt ? nt->valueint : cfg->nthread > 0 ? cfg->nthread : default_threads();
    const cJSON *r = group_item(hp, "num_iterations");
    m->rounds = r ? r->valueint : 100; /* LightGBM's default */
    m->best = -1;
    m->F = cfg->F;
    m->feature_names = calloc(cfg->F > 0 ? (size_t)cfg->F : 1, sizeof *m->feature_names);
    if (!m->feature_names) {
        destroy(m);
        return vfr_fail(VFR_ERR_NOMEM, "lightgbm: out of memory");
    }
    for (int32_t f = 0; f < cfg->F; f++) {
        char buf[32];
        snprintf(buf, sizeof buf, "Column_%d", f);
        if (!(m->feature_names[f] = safe_name(cfg->feature_names ? cfg->feature_names[f] : buf))) {
            destroy(m);
            return vfr_fail(VFR_ERR_NOMEM, "lightgbm: out of memory");
        }
    }
    if ((st = build_params(m)) != VFR_OK) {
        destroy(m);
        return st;
    }
    *state = m;
    return VFR_OK;
}

/* ---- Datasets, cached on the view ------------------------------------------ */

typedef struct lgb_cached {
    char *key;                /* data_params, plus "ref=<id>" for validation sets */
    uint64_t id;              /* never reused, unlike a freed handle's address    */
    lgb_dataset ds;
    struct lgb_cached *next;
} lgb_cached;

static atomic_uint_fast64_t next_id = 1;

static void free_cache(void *c)
{
    const vfr_lgb_api *api;
    int have = vfri_lgb_api_get(&api) == VFR_OK;
    for (lgb_cached *e = c, *n; e; e = n) {
        n = e->next;
        if (have && e->ds)
            api->DatasetFree(e->ds);
        free(e->key);
        free(e);
    }
}

/* Rows go to LightGBM in chunks of this many. */
#define PUSH_ROWS 65536

/* Bins from a sample of the rows, drawn by LightGBM's own LGBM_SampleIndices
 * and filtered as its LGBM_DatasetCreateFromMat filters them (non-zero or
 * NaN), so that the cuts equal those Python's lightgbm.Dataset makes. */
static vfr_status build_train(lgb_model *m, const vfr_dataview *v, lgb_dataset *out)
{
    const vfr_lgb_api *api = m->api;
    const int32_t n = (int32_t)v->n, F = v->F;
    vfr_status st = VFR_OK;
    int cnt = 0;
    int32_t got = 0;
    int32_t *idx = NULL, *npc = NULL;
    double **col = NULL;
    int **cidx = NULL;
    *out = NULL;
    if (api->GetSampleCount(n, m->data_params, &cnt) != 0)
        return lgb_err(api, "sample count");
    idx = malloc(sizeof *idx * (size_t)(cnt > 0 ? cnt : 1));
    npc = calloc((size_t)F, sizeof *npc);
    col = calloc((size_t)F, sizeof *col);
    cidx = calloc((size_t)F, sizeof *cidx);
    if (!idx || !npc || !col || !cidx) {
        st = vfr_fail(VFR_ERR_NOMEM, "lightgbm: out of memory");
        goto done;
    }
    if (api->SampleIndices(n, m->data_params, idx, &got) != 0) {
        st = lgb_err(api, "sample rows");
        goto done;
    }
    for (int32_t f = 0; f < F; f++) {
        col[f] = malloc(sizeof **col * (size_t)(got > 0 ? got : 1));
        cidx[f] = malloc(sizeof **cidx * (size_t)(got > 0 ? got : 1));
        if (!col[f] || !cidx[f]) {
            st = vfr_fail(VFR_ERR_NOMEM, "lightgbm: out of memory");
            goto done;
        }
    }
    for (int32_t k = 0; k < got; k++) {
        const float *row = v->X + (int64_t)idx[k] * F;
        for (int32_t f = 0; f < F; f++) {
            double x = row[f];
            if (fabs(x) > 1e-35 || isnan(x)) { /* LightGBM's kZeroThreshold */
                col[f][npc[f]] = x;
                cidx[f][npc[f]++] = k;
            }
        }
    }
    if (api->DatasetCreateFromSampledColumn(col, cidx, F, npc, got, n, n, m->data_params, out) != 0) {
        st = lgb_err(api, "dataset from sampled columns");
        goto done;
    }
    for (int32_t r0 = 0; r0 < n; r0 += PUSH_ROWS) {
        int32_t k = n - r0 < PUSH_ROWS ? n - r0 : PUSH_ROWS;
        if (api->DatasetPushRows(*out, v->X + (int64_t)r0 * F, LGB_DTYPE_FLOAT32, k, F, r0) != 0) {
            st = lgb_err(api, "push rows");
            goto done;
        }
    }
done:
    for (int32_t f = 0; col && cidx && f < F; f++) {
        free(col[f]);
        free(cidx[f]);
    }
    free(col);
    free(cidx);
    free(npc);
    free(idx);
    if (st != VFR_OK && *out) {
        api->DatasetFree(*out);
        *out = NULL;
    }
    return st;
}

static vfr_status build_valid(lgb_model *m, const vfr_dataview *v, lgb_dataset ref, lgb_dataset *out)
{
    const vfr_lgb_api *api = m->api;
    if (api->DatasetCreateByReference(ref, v->n, out) != 0)
        return lgb_err(api, "validation dataset");
    for (int64_t r0 = 0; r0 < v->n; r0 += PUSH_ROWS) {
        int32_t k = (int32_t)(v->n - r0 < PUSH_ROWS ? v->n - r0 : PUSH_ROWS);
        if (api->DatasetPushRows(*out, v->X + r0 * v->F, LGB_DTYPE_FLOAT32, k, v->F, (int32_t)r0) != 0) {
            vfr_status st = lgb_err(api, "push validation rows");
            api->DatasetFree(*out);
            *out = NULL;
            return st;
        }
    }
    return VFR_OK;
}

/* The view's Dataset for this model's binning (ref: the training set's
 * cache entry for a validation view, NULL for a training view), built on
 * first use under the view's lock so that concurrent trials share one. */
static vfr_status view_dataset(lgb_model *m, vfr_dataview *v, const lgb_cached *ref, const lgb_cached **out)
{
    vfr_status st = VFR_OK;
    size_t klen = strlen(m->data_params) + 40;
    char *key = malloc(klen);
    *out = NULL;
    if (!key)
        return vfr_fail(VFR_ERR_NOMEM, "lightgbm: out of memory");
    snprintf(key, klen, "%s ref=%llu", m->data_params, ref ? (unsigned long long)ref->id : 0ull);
    pthread_mutex_lock(&v->lock);
    for (lgb_cached *e = v->lgb_cache; e && !*out; e = e->next)
        if (strcmp(e->key, key) == 0)
            *out = e;
    if (!*out) {
        lgb_cached *e = calloc(1, sizeof *e);
        if (!e) {
            st = vfr_fail(VFR_ERR_NOMEM, "lightgbm: out of memory");
            goto unlock;
        }
        e->key = key;
        key = NULL;
        e->id = atomic_fetch_add(&next_id, 1);
        st = ref ? build_valid(m, v, ref->ds, &e->ds) : build_train(m, v, &e->ds);
        if (st == VFR_OK && v->y && m->api->DatasetSetField(e->ds, "label", v->y, (int)v->n, LGB_DTYPE_FLOAT32) != 0)
            st = lgb_err(m->api, "labels");
        if (st == VFR_OK && !ref &&
            m->api->DatasetSetFeatureNames(e->ds, (const char **)m->feature_names, m->F) != 0)
            st = lgb_err(m->api, "feature names");
        if (st != VFR_OK) {
            if (e->ds)
                m->api->DatasetFree(e->ds);
            free(e->key);
            free(e);
            goto unlock;
        }
        e->next = v->lgb_cache;
        v->lgb_cache = e;
        v->lgb_free = free_cache;
        *out = e;
    }
unlock:
    pthread_mutex_unlock(&v->lock);
    free(key);
    return st;
}

/* ---- fit, predict, save, load ------------------------------------------------ */

/* Iterations [0, keep) of b as LightGBM's text model (keep <= 0: all). */
static vfr_status to_text(const vfr_lgb_api *api, lgb_booster b, int keep, char **out, int64_t *len)
{
    *out = NULL;
    if (api->BoosterSaveModelToString(b, 0, keep, LGB_IMPORTANCE_SPLIT, 0, len, NULL) != 0)
        return lgb_err(api, "model to text");
    char *s = malloc((size_t)*len + 1);
    if (!s)
        return vfr_fail(VFR_ERR_NOMEM, "lightgbm: out of memory");
    int64_t len2 = 0;
    if (api->BoosterSaveModelToString(b, 0, keep, LGB_IMPORTANCE_SPLIT, *len + 1, &len2, s) != 0) {
        free(s);
        return lgb_err(api, "model to text");
    }
    *len = (int64_t)strlen(s); /* LightGBM counts the terminating NUL */
    *out = s;
    return VFR_OK;
}

/* A copy of iterations [0, keep) of b, through the text model: the model
 * vfr keeps is byte for byte the one it saves. */
static vfr_status cut(const vfr_lgb_api *api, lgb_booster b, int keep, lgb_booster *out)
{
    char *s;
    int64_t len;
    int it = 0;
    *out = NULL;
    vfr_status st = to_text(api, b, keep, &s, &len);
    if (st == VFR_OK && api->BoosterLoadModelFromString(s, &it, out) != 0)
        st = lgb_err(api, "model from text");
    free(s);
    return st;
}

static vfr_status fit(void *state, vfr_dataview *train, vfr_dataview *val, const vfr_fit_options *opt,
                      vfr_fit_result *res)
{
    lgb_model *m = state;
    const vfr_lgb_api *api = m->api;
    vfr_status st = VFR_OK;
    lgb_booster b = NULL, kept = NULL;
    const lgb_cached *dtr = NULL, *dva = NULL;
    if (train->F != m->F || (val && val->F != m->F))
        return vfr_fail(VFR_ERR_INVALID_ARG, "lightgbm fit: %d features, the model has %d", train->F, m->F);
    if (train->n > INT32_MAX || (val && val->n > INT32_MAX))
        return vfr_fail(VFR_ERR_INVALID_ARG, "lightgbm fit: more than 2^31-1 rows in one set");
    VFR_TRY(view_dataset(m, train, NULL, &dtr));
    if (val)
        VFR_TRY(view_dataset(m, val, dtr, &dva));
    /* creating a booster touches its Dataset's state: one at a time per view */
    pthread_mutex_lock(&train->lock);
    int rc = api->BoosterCreate(dtr->ds, m->train_params, &b);
    if (rc == 0 && dva)
        rc = api->BoosterAddValidData(b, dva->ds);
    pthread_mutex_unlock(&train->lock);
    if (rc != 0) {
        st = vfr_fail(VFR_ERR_INVALID_ARG, "%s: LightGBM refused the parameters (%s): %s", HP, m->train_params,
                      api->GetLastError());
        goto fail;
    }
    int32_t rounds = opt->max_rounds > 0 ? opt->max_rounds : m->rounds;
    int32_t patience = opt->early_stopping_rounds;
    double best = INFINITY, best_train = NAN, ev[8];
    int32_t best_it = -1, it;
    for (it = 0; it < rounds; it++) {
        if (opt->stop && *opt->stop) {
            st = vfr_fail(VFR_ERR_INTERRUPTED, "lightgbm: stopped at round %d", it);
            goto fail;
        }
        int finished = 0, nev = 0;
        if (api->BoosterUpdateOneIter(b, &finished) != 0) {
            st = lgb_err(api, "training round");
            goto fail;
        }
        if (finished) /* no split gains any more: LightGBM dropped this round's empty tree */
            break;
        if (val && (api->BoosterGetEval(b, 1, &nev, ev) != 0 || nev != 1)) {
            st = lgb_err(api, "evaluation");
            goto fail;
        }
        /* as lightgbm.early_stopping: strictly better, or stop after `patience` */
        if (!val || ev[0] < best) { /* no validation: keep every round */
            best = val ? ev[0] : best;
            best_it = it;
        } else if (patience > 0 && it - best_it >= patience) {
            it++;
            break;
        }
    }
    m->trained = it;
    if (best_it < 0) {
        st = vfr_fail(VFR_ERR_INVALID_ARG,
                      "lightgbm fit: no tree could split (%lld training rows; min_data_in_leaf too high?)",
                      (long long)train->n);
        goto fail;
    }
    /* back to the best iteration: the training scores LightGBM keeps follow,
     * so the training loss there costs one pass over the scores */
    for (int32_t k = it - 1; k > best_it; k--)
        if (api->BoosterRollbackOneIter(b) != 0) {
            st = lgb_err(api, "roll back to the best iteration");
            goto fail;
        }
    {
        size_t n = (size_t)train->n;
        double *p = malloc(sizeof *p * (n ? n : 1)), acc = 0;
        int64_t got = 0;
        if (!p) {
            st = vfr_fail(VFR_ERR_NOMEM, "lightgbm: out of memory");
            goto fail;
        }
        if (api->BoosterGetPredict(b, 0, &got, p) != 0 || got != (int64_t)n) {
            free(p);
            st = lgb_err(api, "training scores");
            goto fail;
        }
        for (size_t i = 0; i < n; i++) {
            double t = train->y[i];
            if (m->objective == VFR_OBJECTIVE_DIRECTION) {
                double q = fmin(fmax(p[i], 1e-15), 1 - 1e-15);
                acc -= t * log(q) + (1 - t) * log(1 - q);
            } else {
                acc += (p[i] - t) * (p[i] - t);
            }
        }
        free(p);
        best_train = m->objective == VFR_OBJECTIVE_DIRECTION ? acc / (double)n : sqrt(acc / (double)n);
    }
    VFR_TRY(cut(api, b, best_it + 1, &kept));
    api->BoosterFree(b);
    b = NULL;
    if (m->booster)
        api->BoosterFree(m->booster);
    m->booster = kept;
    m->best = best_it;
    res->rounds = it;
    res->best_round = best_it;
    res->best_val_loss = val ? best : NAN;
    res->train_loss = best_train;
    res->loss_name = m->objective == VFR_OBJECTIVE_DIRECTION ? "logloss" : "rmse";
    return VFR_OK;
fail:
    if (b)
        api->BoosterFree(b);
    return st;
}

static vfr_status predict_f64(void *state, vfr_dataview *v, double *out)
{
    lgb_model *m = state;
    const vfr_lgb_api *api = m->api;
    if (!m->booster)
        return vfr_fail(VFR_ERR_INVALID_ARG, "lightgbm predict: the model is not trained");
    if (v->F != m->F)
        return vfr_fail(VFR_ERR_INVALID_ARG, "lightgbm predict: %d features, the model has %d", v->F, m->F);
    char p[48];
    snprintf(p, sizeof p, "num_threads=%d", m->nthread);
    const int64_t block = 1 << 22;
    for (int64_t r0 = 0; r0 < v->n; r0 += block) {
        int32_t n = (int32_t)(v->n - r0 < block ? v->n - r0 : block);
        int64_t got = 0;
        if (api->BoosterPredictForMat(m->booster, v->X + r0 * v->F, LGB_DTYPE_FLOAT32, n, v->F, 1,
                                      LGB_PREDICT_NORMAL, 0, -1, p, &got, out + r0) != 0)
            return lgb_err(api, "predict");
        if (got != n)
            return vfr_fail(VFR_ERR_LIGHTGBM, "LightGBM predict: %lld scores for %d rows", (long long)got, n);
    }
    return VFR_OK;
}

static vfr_status predict(void *state, vfr_dataview *v, float *out)
{
    const int64_t block = 1 << 20;
    double *buf = malloc(sizeof *buf * (size_t)(v->n < block ? v->n : block));
    if (!buf)
        return vfr_fail(VFR_ERR_NOMEM, "lightgbm predict: out of memory");
    vfr_status st = VFR_OK;
    for (int64_t r0 = 0; r0 < v->n && st == VFR_OK; r0 += block) {
        int64_t n = v->n - r0 < block ? v->n - r0 : block;
        vfr_dataview part = {.X = v->X + r0 * v->F, .n = n, .F = v->F};
        st = predict_f64(state, &part, buf);
        for (int64_t i = 0; st == VFR_OK && i < n; i++)
            out[r0 + i] = (float)buf[i];
    }
    free(buf);
    return st;
}

static vfr_status save(void *state, const char *path)
{
    lgb_model *m = state;
    if (!m->booster)
        return vfr_fail(VFR_ERR_INVALID_ARG, "lightgbm save: the model is not trained");
    char *s;
    int64_t len;
    vfr_status st = to_text(m->api, m->booster, -1, &s, &len);
    if (st != VFR_OK)
        return st;
    st = vfri_write_file_atomic(path, s, (size_t)len);
    free(s);
    return st;
}

static vfr_status load(const vfr_model_config *cfg, const char *path, void **state)
{
    vfr_model_config c = *cfg;
    c.params_json = "{}"; /* the artifact carries what prediction needs */
    vfr_status st = create(&c, state);
    if (st != VFR_OK)
        return st;
    lgb_model *m = *state;
    char *buf = NULL;
    size_t len;
    if (vfri_read_file(path, &buf, &len) != 0) {
        st = vfr_fail(VFR_ERR_NOT_FOUND, "%s: cannot read the model", path);
        goto fail;
    }
    int iters = 0, nf = 0;
    if (strncmp(buf, "tree\n", 5) != 0 || m->api->BoosterLoadModelFromString(buf, &iters, &m->booster) != 0) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: not a LightGBM text model%s%s", path,
                      strncmp(buf, "tree\n", 5) == 0 ? ": " : "",
                      strncmp(buf, "tree\n", 5) == 0 ? m->api->GetLastError() : "");
        goto fail;
    }
    if (m->api->BoosterGetNumFeature(m->booster, &nf) != 0 || nf != m->F) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: the LightGBM model has %d features, vfr expects %d", path, nf, m->F);
        goto fail;
    }
    free(buf);
    m->trained = iters;
    m->best = iters - 1;
    return VFR_OK;
fail:
    free(buf);
    destroy(*state);
    *state = NULL;
    return st;
}

static vfr_status importance(void *state, double *imp)
{
    lgb_model *m = state;
    for (int32_t f = 0; f < m->F; f++)
        imp[f] = 0.0;
    if (!m->booster)
        return vfr_fail(VFR_ERR_INVALID_ARG, "lightgbm importance: the model is not trained");
    if (m->api->BoosterFeatureImportance(m->booster, -1, LGB_IMPORTANCE_GAIN, imp) != 0)
        return lgb_err(m->api, "feature importance");
    return VFR_OK;
}

static char *describe(void *state)
{
    lgb_model *m = state;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "lightgbm");
    cJSON_AddStringToObject(o, "library", "lib_lightgbm");
    cJSON_AddStringToObject(o, "libraryVersion", m->api->info.version);
    cJSON_AddStringToObject(o, "libraryPath", m->api->info.path);
    cJSON_AddStringToObject(o, "device", vfr_device_kind_str(m->device));
    cJSON_AddNumberToObject(o, "roundsTrained", m->trained);
    cJSON_AddNumberToObject(o, "bestRound", m->best);
    cJSON_AddItemToObject(o, "hyperparameters", cJSON_Duplicate(m->user, 1));
    /* what LightGBM was given, as one Python can pass to lightgbm.train */
    cJSON *set = cJSON_CreateObject();
    char *copy = vfri_strdup(m->train_params ? m->train_params : "");
    for (char *tok = copy ? strtok(copy, " ") : NULL; tok; tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '=');
        if (!eq)
            continue;
        *eq = '\0';
        cJSON_AddStringToObject(set, tok, eq + 1);
    }
    free(copy);
    cJSON_AddItemToObject(o, "lightgbmParams", set);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static vfr_status check(const char *params_json)
{
    const vfr_lgb_api *api;
    vfr_status st = vfri_lgb_api_get(&api); /* a LightGBM job needs the library: say so at load */
    if (st != VFR_OK)
        return st;
    cJSON *hp = cJSON_Parse(params_json ? params_json : "{}");
    st = hp && cJSON_IsObject(hp) ? check_params(hp) : vfr_fail(VFR_ERR_INVALID_ARG, "%s: not a JSON object", HP);
    cJSON_Delete(hp);
    return st;
}

static vfr_status preload(void)
{
    const vfr_lgb_api *api;
    return vfri_lgb_api_get(&api);
}

const vfr_model_ops vfr_model_lightgbm_ops = {
    .type = "lightgbm",
    .artifact = "model.txt",
    .check = check,
    .preload = preload,
    .create = create,
    .fit = fit,
    .predict = predict,
    .predict_f64 = predict_f64,
    .save = save,
    .load = load,
    .importance = importance,
    .describe = describe,
    .destroy = destroy,
};
