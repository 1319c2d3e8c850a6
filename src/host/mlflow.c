/* mlflow.c: export of runs and registered models to an MLflow tracking server
 * (mlflow.h) over its REST API: /api/2.0/mlflow/... for experiments, runs,
 * batches of params/metrics/tags and the model registry, and
 * /api/2.0/mlflow-artifacts/artifacts/... (the server's proxied artifact
 * store) for files. libcurl for HTTP, cJSON for bodies.
 * It is not an MLflow client library: only the calls an export needs. */
#include "vfr/mlflow.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "runfolder_internal.h"
#include "util.h"
#include "vfr_config.h"

/* MLflow's limits (mlflow/utils/validation.py): per log-batch request at most
 * 1000 metrics, 100 params, 100 tags; a param value at most 6000 characters,
 * a tag value 8000 (5000 in older servers: we keep under it). */
enum { MAX_BATCH_METRICS = 1000, MAX_BATCH_PARAMS = 100, MAX_BATCH_TAGS = 100 };
enum { MAX_PARAM_LEN = 6000, MAX_TAG_LEN = 5000 };

typedef struct mlf {
    CURL *curl;
    char base[1024];  /* tracking URI without trailing '/'            */
    char shown[1024]; /* the same without user:password, for messages */
    char *auth;       /* "Authorization: ..." header, or NULL         */
    int insecure;
    const char *ca_path;
    long timeout_s;
    char error_code[64]; /* MLflow's error_code of the last failed call */
    long http;           /* HTTP status of the last call                */
} mlf;

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    buf *b = user;
    size_t n = size * nmemb;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return 0; /* curl reports a write error */
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
    b->p[b->n] = 0;
    return n;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static void curl_init(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static void b64(const char *in, char *out, size_t cap)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(in), o = 0;
    for (size_t i = 0; i < n && o + 5 < cap; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)in[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)in[i + 2];
        out[o++] = t[(v >> 18) & 63];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = 0;
}

static void mlf_close(mlf *m)
{
    if (m->curl)
        curl_easy_cleanup(m->curl);
    free(m->auth);
    memset(m, 0, sizeof *m);
}

static vfr_status mlf_open(mlf *m, const vfr_mlflow_options *o)
{
    memset(m, 0, sizeof *m);
    const char *uri = o && o->tracking_uri ? o->tracking_uri : env("MLFLOW_TRACKING_URI");
    if (!uri)
        return vfr_fail(VFR_ERR_INVALID_ARG, "mlflow: no tracking URI: give --tracking-uri http://HOST:PORT "
                                             "(or set MLFLOW_TRACKING_URI)");
    if (strncmp(uri, "http://", 7) != 0 && strncmp(uri, "https://", 8) != 0)
        return vfr_fail(VFR_ERR_INVALID_ARG, "mlflow: tracking URI '%s': vfr talks to a tracking server over "
                                             "http:// or https:// (a file store or database is reached through "
                                             "`mlflow server`)", uri);
    size_t n = strlen(uri);
    while (n > 0 && uri[n - 1] == '/')
        n--;
    if (n >= sizeof m->base)
        return vfr_fail(VFR_ERR_INVALID_ARG, "mlflow: tracking URI too long");
    memcpy(m->base, uri, n);
    m->base[n] = 0;
    /* Hide user:password@ in every message. */
    const char *host = strstr(m->base, "://") + 3;
    const char *at = strchr(host, '@'), *slash = strchr(host, '/');
    if (at && (!slash || at < slash))
        snprintf(m->shown, sizeof m->shown, "%.*s%s", (int)(host - m->base), m->base, at + 1);
    else
        snprintf(m->shown, sizeof m->shown, "%s", m->base);

    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return vfr_fail(VFR_ERR_IO, "mlflow: libcurl init failed: %s", curl_easy_strerror(curl_init_rc));
    m->curl = curl_easy_init();
    if (!m->curl)
        return vfr_fail(VFR_ERR_NOMEM, "mlflow: curl_easy_init failed");
    const char *token = env("MLFLOW_TRACKING_TOKEN");
    const char *user = env("MLFLOW_TRACKING_USERNAME"), *pass = env("MLFLOW_TRACKING_PASSWORD");
    if (token || user) {
        char cred[1024], enc[1400];
        size_t cap = 64 + (token ? strlen(token) : sizeof enc);
        m->auth = malloc(cap);
        if (!m->auth) {
            mlf_close(m);
            return vfr_fail(VFR_ERR_NOMEM, "mlflow: out of memory");
        }
        if (token) {
            snprintf(m->auth, cap, "Authorization: Bearer %s", token);
        } else {
            snprintf(cred, sizeof cred, "%s:%s", user, pass ? pass : "");
            b64(cred, enc, sizeof enc);
            snprintf(m->auth, cap, "Authorization: Basic %s", enc);
        }
    }
    const char *insecure = env("MLFLOW_TRACKING_INSECURE_TLS");
    m->insecure = insecure && (strcmp(insecure, "true") == 0 || strcmp(insecure, "1") == 0);
    m->ca_path = env("MLFLOW_TRACKING_SERVER_CERT_PATH");
    m->timeout_s = o && o->timeout_s > 0 ? o->timeout_s : 60;
    return VFR_OK;
}

/* One request. body_json (may be NULL) is sent as JSON; upload (may be NULL)
 * is a file sent as the body of a PUT. *out (may be NULL) gets the parsed
 * response. HTTP >= 400 is IO, or NOT_FOUND for RESOURCE_DOES_NOT_EXIST;
 * m->error_code keeps MLflow's error_code either way. */
static vfr_status mlf_call(mlf *m, const char *method, const char *path, const cJSON *body_json, FILE *upload,
                           long long upload_len, cJSON **out)
{
    if (out)
        *out = NULL;
    m->error_code[0] = 0;
    m->http = 0;
    char url[4096];
    snprintf(url, sizeof url, "%s%s", m->base, path);
    char *body = body_json ? cJSON_PrintUnformatted(body_json) : NULL;
    if (body_json && !body)
        return vfr_fail(VFR_ERR_NOMEM, "mlflow: out of memory");
    buf resp = {0};
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, upload ? "Content-Type: application/octet-stream" : "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    if (m->auth)
        h = curl_slist_append(h, m->auth);
    CURL *c = m->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "vfr/" VFR_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, m->timeout_s);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (m->insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (m->ca_path)
        curl_easy_setopt(c, CURLOPT_CAINFO, m->ca_path);
    if (upload) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READDATA, upload);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)upload_len);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "{}");
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(c);
    vfr_status st = VFR_OK;
    if (rc != CURLE_OK) {
        st = vfr_fail(VFR_ERR_IO, "mlflow: %s %s%s: %s", method, m->shown, path, errbuf[0] ? errbuf : curl_easy_strerror(rc));
        goto done;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &m->http);
    cJSON *j = resp.p ? cJSON_Parse(resp.p) : NULL;
    if (m->http >= 400) {
        const cJSON *ec = j ? cJSON_GetObjectItemCaseSensitive(j, "error_code") : NULL;
        const cJSON *msg = j ? cJSON_GetObjectItemCaseSensitive(j, "message") : NULL;
        if (cJSON_IsString(ec))
            snprintf(m->error_code, sizeof m->error_code, "%s", ec->valuestring);
        char snippet[512] = "";
        if (!cJSON_IsString(msg) && resp.p)
            snprintf(snippet, sizeof snippet, "%.400s", resp.p);
        st = vfr_fail(strcmp(m->error_code, "RESOURCE_DOES_NOT_EXIST") == 0 ? VFR_ERR_NOT_FOUND : VFR_ERR_IO,
                      "mlflow: %s %s%s: HTTP %ld%s%s: %s", method, m->shown, path, m->http,
                      m->error_code[0] ? " " : "", m->error_code, cJSON_IsString(msg) ? msg->valuestring : snippet);
        cJSON_Delete(j);
        goto done;
    }
    if (out) {
        if (!j) {
            st = vfr_fail(VFR_ERR_IO, "mlflow: %s %s%s: HTTP %ld with a body that is not JSON (is this an MLflow "
                                      "tracking server?)", method, m->shown, path, m->http);
            goto done;
        }
        *out = j;
    } else {
        cJSON_Delete(j);
    }
done:
    curl_slist_free_all(h);
    free(body);
    free(resp.p);
    return st;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *jobj(const cJSON *o, const char *k)
{
    return o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

/* ---- what is logged: params, metrics, tags, collected first -------------- */

typedef struct logs {
    cJSON *params, *metrics, *tags; /* arrays of MLflow's {key, value[, timestamp, step]} */
    long long now_ms;
} logs;

/* MLflow keys are at most 250 characters. */
static void copy_key(char k[250], const char *key)
{
    size_t n = strlen(key);
    if (n > 249)
        n = 249;
    memcpy(k, key, n);
    k[n] = 0;
}

static void add_kv(cJSON *arr, const char *key, const char *value, size_t max_len)
{
    /* MLflow keys: alphanumerics, _ - . space /; anything else becomes '_'. */
    char k[250];
    copy_key(k, key);
    for (char *p = k; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("_-. /", *p)))
            *p = '_';
    for (int i = 0; i < cJSON_GetArraySize(arr); i++)
        if (strcmp(jstr(cJSON_GetArrayItem(arr, i), "key"), k) == 0)
            return; /* first one wins: MLflow params are immutable */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "key", k);
    if (strlen(value) > max_len) {
        char *v = malloc(max_len + 1);
        if (v) {
            memcpy(v, value, max_len - 3);
            memcpy(v + max_len - 3, "...", 4);
            cJSON_AddStringToObject(o, "value", v);
            free(v);
        }
    } else {
        cJSON_AddStringToObject(o, "value", value);
    }
    cJSON_AddItemToArray(arr, o);
}

static void add_metric(logs *L, const char *key, double v, long long step)
{
    if (!isfinite(v))
        return; /* MLflow stores NaN, but a missing metric reads better than NaN */
    char k[250];
    copy_key(k, key);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "key", k);
    cJSON_AddNumberToObject(o, "value", v);
    cJSON_AddNumberToObject(o, "timestamp", (double)L->now_ms);
    cJSON_AddNumberToObject(o, "step", (double)step);
    cJSON_AddItemToArray(L->metrics, o);
}

/* Every leaf of a JSON object as a param "prefix.path" = value. */
static void params_flat(logs *L, const char *prefix, const cJSON *o)
{
    for (const cJSON *c = o ? o->child : NULL; c; c = c->next) {
        char key[512];
        snprintf(key, sizeof key, "%s%s%s", prefix, prefix[0] ? "." : "", c->string ? c->string : "");
        if (cJSON_IsObject(c)) {
            params_flat(L, key, c);
        } else if (cJSON_IsString(c)) {
            add_kv(L->params, key, c->valuestring, MAX_PARAM_LEN);
        } else if (!cJSON_IsNull(c)) {
            char *s = cJSON_PrintUnformatted(c);
            if (s)
                add_kv(L->params, key, s, MAX_PARAM_LEN);
            free(s);
        }
    }
}

/* The numbers of an object as metrics "prefix.name". */
static void metrics_of(logs *L, const char *prefix, const cJSON *o)
{
    for (const cJSON *c = o ? o->child : NULL; c; c = c->next) {
        if (!cJSON_IsNumber(c))
            continue;
        char key[512];
        snprintf(key, sizeof key, "%s.%s", prefix, c->string);
        add_metric(L, key, c->valuedouble, 0);
    }
}

static void tag(logs *L, const char *k, const char *v)
{
    if (v && *v)
        add_kv(L->tags, k, v, MAX_TAG_LEN);
}

/* metrics.json: test, validation, backtest.<strategy>, per-fold losses. */
static void collect_metrics(logs *L, const cJSON *m)
{
    metrics_of(L, "test", jobj(m, "test"));
    metrics_of(L, "validation", jobj(m, "validation"));
    for (const cJSON *c = jobj(m, "backtest") ? jobj(m, "backtest")->child : NULL; c; c = c->next)
        if (cJSON_IsObject(c)) {
            char p[256];
            snprintf(p, sizeof p, "backtest.%s", c->string);
            metrics_of(L, p, c);
        }
    static const char *fold_keys[][2] = {{"trainLoss", "fold.train_loss"}, {"validationLoss", "fold.validation_loss"},
                                         {"rounds", "fold.rounds"}, {"bestRound", "fold.best_round"}};
    const cJSON *folds = jobj(m, "folds");
    for (int i = 0; i < cJSON_GetArraySize(folds); i++) {
        const cJSON *f = cJSON_GetArrayItem(folds, i);
        for (size_t k = 0; k < sizeof fold_keys / sizeof fold_keys[0]; k++) {
            const cJSON *v = jobj(f, fold_keys[k][0]);
            if (cJSON_IsNumber(v))
                add_metric(L, fold_keys[k][1], v->valuedouble, i);
        }
    }
}

/* comparison.json: each baseline's and the model's summary numbers. */
static void collect_comparison(logs *L, const cJSON *c)
{
    const cJSON *d = jobj(c, "decision");
    const cJSON *sd = jobj(d, "shouldDeploy");
    if (cJSON_IsBool(sd))
        tag(L, "vfr.shouldDeploy", cJSON_IsTrue(sd) ? "true" : "false");
    const char *why = jstr(d, "reason");
    if (why)
        tag(L, "vfr.decision", why);
    metrics_of(L, "comparison", c);
    for (const cJSON *x = c ? c->child : NULL; x; x = x->next)
        if (cJSON_IsObject(x) && strcmp(x->string, "decision") != 0) {
            char p[256];
            snprintf(p, sizeof p, "comparison.%s", x->string);
            metrics_of(L, p, x);
        }
}

/* search.json and trials.jsonl: per trial (the step) its mean score and each
 * fold's score and validation loss. */
static void collect_search(logs *L, const cJSON *s, const char *trials_path)
{
    const cJSON *best = jobj(s, "bestScore");
    if (cJSON_IsNumber(jobj(best, "mean")))
        add_metric(L, "search.best_score", jobj(best, "mean")->valuedouble, 0);
    const cJSON *all = jobj(s, "allResults");
    for (int i = 0; i < cJSON_GetArraySize(all); i++) {
        const cJSON *t = cJSON_GetArrayItem(all, i);
        const cJSON *trial = jobj(t, "trial");
        long long step = cJSON_IsNumber(trial) ? (long long)trial->valuedouble : i;
        if (cJSON_IsNumber(jobj(t, "mean")))
            add_metric(L, "search.score", jobj(t, "mean")->valuedouble, step);
        const cJSON *folds = jobj(t, "folds");
        for (int k = 0; k < cJSON_GetArraySize(folds); k++) {
            const cJSON *f = cJSON_GetArrayItem(folds, k);
            const cJSON *fk = jobj(f, "fold"), *sc = jobj(f, "score");
            if (!cJSON_IsNumber(sc))
                continue;
            char key[64];
            snprintf(key, sizeof key, "search.fold_%d.score", cJSON_IsNumber(fk) ? (int)fk->valuedouble : k);
            add_metric(L, key, sc->valuedouble, step);
        }
    }
    char *text = NULL;
    size_t len = 0;
    if (!trials_path || vfri_read_file(trials_path, &text, &len) != 0)
        return;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *r = cJSON_Parse(line);
        const cJSON *t = jobj(r, "trial"), *f = jobj(r, "fold"), *vl = jobj(r, "validationLoss");
        if (cJSON_IsNumber(t) && cJSON_IsNumber(f) && cJSON_IsNumber(vl)) {
            char key[64];
            snprintf(key, sizeof key, "search.fold_%d.validation_loss", (int)f->valuedouble);
            add_metric(L, key, vl->valuedouble, (long long)t->valuedouble);
        }
        cJSON_Delete(r);
    }
    free(text);
}

/* manifest.json: lineage as tags. */
static void collect_manifest(logs *L, const cJSON *man)
{
    tag(L, "vfr.jobId", jstr(man, "jobId"));
    tag(L, "vfr.version", jstr(man, "vfrVersion"));
    tag(L, "vfr.dataset.path", jstr(jobj(man, "dataset"), "path"));
    tag(L, "vfr.dataset.sha256", jstr(jobj(man, "dataset"), "sha256"));
    tag(L, "vfr.dataset.dateFirst", jstr(jobj(man, "dataset"), "dateFirst"));
    tag(L, "vfr.dataset.dateLast", jstr(jobj(man, "dataset"), "dateLast"));
    tag(L, "vfr.model.type", jstr(jobj(man, "model"), "type"));
    const cJSON *libs = jobj(man, "libraries");
    for (const cJSON *c = libs ? libs->child : NULL; c; c = c->next) {
        char k[128];
        snprintf(k, sizeof k, "vfr.lib.%s", c->string);
        if (cJSON_IsString(c))
            tag(L, k, c->valuestring);
        else if (cJSON_IsBool(c))
            tag(L, k, cJSON_IsTrue(c) ? "true" : "false");
    }
    const cJSON *dev = jobj(man, "device");
    tag(L, "vfr.device.asked", jstr(dev, "asked"));
    tag(L, "vfr.device.used", jstr(dev, "used"));
    const cJSON *seed = jobj(man, "seed");
    if (cJSON_IsNumber(seed)) {
        char s[32];
        snprintf(s, sizeof s, "%.0f", seed->valuedouble);
        tag(L, "vfr.seed", s);
    }
}

/* ---- requests ------------------------------------------------------------ */

static vfr_status experiment_id(mlf *m, const char *name, char out[64])
{
    char *esc = curl_easy_escape(m->curl, name, 0);
    if (!esc)
        return vfr_fail(VFR_ERR_NOMEM, "mlflow: out of memory");
    char path[1024];
    snprintf(path, sizeof path, "/api/2.0/mlflow/experiments/get-by-name?experiment_name=%s", esc);
    curl_free(esc);
    cJSON *r = NULL;
    vfr_status st = mlf_call(m, "GET", path, NULL, NULL, 0, &r);
    if (st == VFR_OK) {
        const char *id = jstr(jobj(r, "experiment"), "experiment_id");
        const char *stage = jstr(jobj(r, "experiment"), "lifecycle_stage");
        if (!id)
            st = vfr_fail(VFR_ERR_IO, "mlflow: %s: experiments/get-by-name gave no experiment_id", m->shown);
        else if (stage && strcmp(stage, "deleted") == 0)
            st = vfr_fail(VFR_ERR_INVALID_ARG, "mlflow: experiment '%s' is deleted on %s: restore it or choose "
                                               "another --experiment", name, m->shown);
        else
            snprintf(out, 64, "%s", id);
        cJSON_Delete(r);
        return st;
    }
    if (st != VFR_ERR_NOT_FOUND)
        return st;
    vfr_error_clear();
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "name", name);
    st = mlf_call(m, "POST", "/api/2.0/mlflow/experiments/create", body, NULL, 0, &r);
    cJSON_Delete(body);
    if (st != VFR_OK)
        return st;
    const char *id = jstr(r, "experiment_id");
    if (id)
        snprintf(out, 64, "%s", id);
    else
        st = vfr_fail(VFR_ERR_IO, "mlflow: %s: experiments/create gave no experiment_id", m->shown);
    cJSON_Delete(r);
    return st;
}

static vfr_status run_create(mlf *m, const char *exp_id, const char *run_name, long long now_ms,
                             vfr_mlflow_result *res)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "experiment_id", exp_id);
    cJSON_AddNumberToObject(body, "start_time", (double)now_ms);
    cJSON_AddStringToObject(body, "run_name", run_name);
    cJSON *tags = cJSON_AddArrayToObject(body, "tags");
    add_kv(tags, "mlflow.source.name", "vfr", MAX_TAG_LEN);
    add_kv(tags, "mlflow.source.type", "JOB", MAX_TAG_LEN);
    add_kv(tags, "mlflow.runName", run_name, MAX_TAG_LEN);
    const char *user = getenv("USER");
    if (user && *user)
        add_kv(tags, "mlflow.user", user, MAX_TAG_LEN);
    cJSON *r = NULL;
    vfr_status st = mlf_call(m, "POST", "/api/2.0/mlflow/runs/create", body, NULL, 0, &r);
    cJSON_Delete(body);
    if (st != VFR_OK)
        return st;
    const cJSON *info = jobj(jobj(r, "run"), "info");
    const char *id = jstr(info, "run_id"), *art = jstr(info, "artifact_uri");
    if (!id || !art) {
        cJSON_Delete(r);
        return vfr_fail(VFR_ERR_IO, "mlflow: %s: runs/create gave no run_id or artifact_uri", m->shown);
    }
    snprintf(res->run_id, sizeof res->run_id, "%s", id);
    snprintf(res->artifact_uri, sizeof res->artifact_uri, "%s", art);
    cJSON_Delete(r);
    return VFR_OK;
}

static vfr_status run_end(mlf *m, const char *run_id, const char *status)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "run_id", run_id);
    cJSON_AddStringToObject(body, "status", status);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cJSON_AddNumberToObject(body, "end_time", (double)ts.tv_sec * 1000.0 + (double)(ts.tv_nsec / 1000000));
    vfr_status st = mlf_call(m, "POST", "/api/2.0/mlflow/runs/update", body, NULL, 0, NULL);
    cJSON_Delete(body);
    return st;
}

/* Sends the collected params, metrics and tags in batches within MLflow's limits. */
static vfr_status log_all(mlf *m, const char *run_id, logs *L, vfr_mlflow_result *res)
{
    cJSON *src[3] = {L->params, L->metrics, L->tags};
    static const char *names[3] = {"params", "metrics", "tags"};
    static const int per[3] = {MAX_BATCH_PARAMS, MAX_BATCH_METRICS / 2, MAX_BATCH_TAGS};
    vfr_status st = VFR_OK;
    for (int s = 0; s < 3; s++) {
        int n = cJSON_GetArraySize(src[s]);
        for (int i0 = 0; i0 < n; i0 += per[s]) {
            cJSON *body = cJSON_CreateObject();
            cJSON_AddStringToObject(body, "run_id", run_id);
            cJSON *arr = cJSON_AddArrayToObject(body, names[s]);
            for (int i = i0; i < n && i < i0 + per[s]; i++)
                cJSON_AddItemToArray(arr, cJSON_Duplicate(cJSON_GetArrayItem(src[s], i), 1));
            st = mlf_call(m, "POST", "/api/2.0/mlflow/runs/log-batch", body, NULL, 0, NULL);
            cJSON_Delete(body);
            if (st != VFR_OK)
                return st;
        }
    }
    res->n_params = cJSON_GetArraySize(L->params);
    res->n_metrics = cJSON_GetArraySize(L->metrics);
    res->n_tags = cJSON_GetArraySize(L->tags);
    return st;
}

/* The artifact API path of the run's artifact root: "mlflow-artifacts:/1/<run>/artifacts"
 * -> "1/<run>/artifacts". Other stores are not reachable through the server. */
static vfr_status artifact_root(mlf *m, const char *uri, char *out, size_t cap)
{
    const char *p = NULL;
    if (strncmp(uri, "mlflow-artifacts://", 19) == 0) {
        p = strchr(uri + 19, '/');
    } else if (strncmp(uri, "mlflow-artifacts:", 17) == 0) {
        p = uri + 17;
    }
    if (!p)
        return vfr_fail(VFR_ERR_IO, "mlflow: %s stores this run's artifacts at '%s', which its artifact API does "
                                    "not serve: start the server with artifact serving (mlflow server "
                                    "--artifacts-destination DIR, the default) to export artifacts", m->shown, uri);
    while (*p == '/')
        p++;
    snprintf(out, cap, "%s", p);
    return VFR_OK;
}

static vfr_status put_artifact(mlf *m, const char *root, const char *rel, FILE *f, long long len)
{
    char path[2048];
    snprintf(path, sizeof path, "/api/2.0/mlflow-artifacts/artifacts/%s/%s", root, rel);
    return mlf_call(m, "PUT", path, NULL, f, len, NULL);
}

static vfr_status put_file(mlf *m, const char *root, const char *rel, const char *file)
{
    FILE *f = fopen(file, "rb");
    if (!f)
        return vfr_fail(VFR_ERR_IO, "mlflow: cannot read %s: %s", file, strerror(errno));
    struct stat sb;
    fstat(fileno(f), &sb);
    vfr_status st = put_artifact(m, root, rel, f, (long long)sb.st_size);
    fclose(f);
    return st;
}

static vfr_status put_text(mlf *m, const char *root, const char *rel, const char *text)
{
    size_t n = strlen(text);
    /* fmemopen of a zero-length buffer is unspecified: send one newline instead. */
    FILE *f = fmemopen((void *)(n ? text : "\n"), n ? n : 1, "r");
    if (!f)
        return vfr_fail(VFR_ERR_NOMEM, "mlflow: fmemopen: %s", strerror(errno));
    vfr_status st = put_artifact(m, root, rel, f, (long long)(n ? n : 1));
    fclose(f);
    return st;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of the run folder, sorted, at the artifact root. */
static vfr_status put_run_folder(mlf *m, const char *root, const char *dir, vfr_mlflow_result *res)
{
    DIR *d = opendir(dir);
    if (!d)
        return vfr_fail(VFR_ERR_IO, "mlflow: cannot list %s: %s", dir, strerror(errno));
    char *names[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        if (e->d_name[0] == '.')
            continue;
        char p[8400];
        struct stat sb;
        if (vfri_runfolder_path_named(dir, e->d_name, p, sizeof p) == VFR_OK && stat(p, &sb) == 0 &&
            S_ISREG(sb.st_mode))
            names[n++] = vfri_strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_str);
    vfr_status st = VFR_OK;
    for (int i = 0; i < n; i++) {
        if (st == VFR_OK && names[i]) {
            char p[8400];
            st = vfri_runfolder_path_named(dir, names[i], p, sizeof p);
            if (st == VFR_OK)
                st = put_file(m, root, names[i], p);
            if (st == VFR_OK)
                res->n_artifacts++;
        }
        free(names[i]);
    }
    return st;
}

/* ---- the MLflow Model (xgboost + python_function flavours) -------------- */

static void uuid_hex(char out[33])
{
    unsigned char r[16] = {0};
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = f ? fread(r, 1, sizeof r, f) : 0;
    if (f)
        fclose(f);
    if (got != sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned long long x = (unsigned long long)ts.tv_nsec ^ ((unsigned long long)ts.tv_sec << 30);
        for (int i = 0; i < 16; i++, x = x * 6364136223846793005ULL + 1442695040888963407ULL)
            r[i] = (unsigned char)(x >> 56);
    }
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/* YAML single-quoted scalar: ' doubled. */
static void yaml_quoted(buf *b, const char *s)
{
    on_body("'", 1, 1, b);
    for (const char *p = s; *p; p++)
        on_body(*p == '\'' ? "''" : (char *)p, 1, *p == '\'' ? 2 : 1, b);
    on_body("'", 1, 1, b);
}

static void bprintf(buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void bprintf(buf *b, const char *fmt, ...)
{
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        on_body(tmp, 1, (size_t)(n < (int)sizeof tmp ? n : (int)sizeof tmp - 1), b);
}

/* Uploads model/MLmodel, model/model.json and model/requirements.txt. The
 * input signature names the model's features as "double" columns (XGBoost
 * reads them as float32, as vfr does); the output is one score. */
static vfr_status put_mlflow_model(mlf *m, const char *root, const char *run_id, const char *artifact_path,
                                   char *const *features, int F, const char *xgb_version, const char *producer,
                                   vfr_mlflow_result *res)
{
    cJSON *inputs = cJSON_CreateArray();
    for (int i = 0; i < F; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "type", "double");
        cJSON_AddStringToObject(c, "name", features[i]);
        cJSON_AddBoolToObject(c, "required", 1);
        cJSON_AddItemToArray(inputs, c);
    }
    char *in_text = cJSON_PrintUnformatted(inputs);
    cJSON_Delete(inputs);
    if (!in_text)
        return vfr_fail(VFR_ERR_NOMEM, "mlflow: out of memory");
    char uuid[33], now[32];
    uuid_hex(uuid);
    vfri_utc_now(now);
    buf y = {0};
    bprintf(&y, "artifact_path: model\nflavors:\n  python_function:\n    data: model.json\n"
                "    loader_module: mlflow.xgboost\n  xgboost:\n    code: null\n    data: model.json\n"
                "    model_class: xgboost.core.Booster\n    model_format: json\n    xgb_version: ");
    yaml_quoted(&y, xgb_version && *xgb_version ? xgb_version : "unknown");
    bprintf(&y, "\nmetadata:\n  producer: ");
    yaml_quoted(&y, producer);
    bprintf(&y, "\nmodel_uuid: %s\nrun_id: %s\nsignature:\n  inputs: ", uuid, run_id);
    yaml_quoted(&y, in_text);
    bprintf(&y, "\n  outputs: '[{\"type\": \"float\", \"required\": true}]'\n  params: null\n"
                "utc_time_created: '%.10s %.8s.000000'\n", now, now + 11);
    free(in_text);
    vfr_status st = y.p ? VFR_OK : vfr_fail(VFR_ERR_NOMEM, "mlflow: out of memory");
    char rel[512];
    if (st == VFR_OK) {
        snprintf(rel, sizeof rel, "%s/MLmodel", artifact_path);
        st = put_text(m, root, rel, y.p);
    }
    free(y.p);
    if (st == VFR_OK) {
        snprintf(rel, sizeof rel, "%s/requirements.txt", artifact_path);
        st = put_text(m, root, rel, "mlflow\nxgboost\n");
    }
    if (st == VFR_OK)
        res->n_artifacts += 2;
    return st;
}

/* The model's input columns, in order: metrics.json's featureImportance lists
 * every feature (the registry reads them the same way); the sliced XGBoost
 * JSON may carry none. */
static vfr_status feature_names(const char *run_dir, const cJSON *metrics, char ***names, int *F)
{
    *names = NULL;
    *F = 0;
    const cJSON *fi = jobj(metrics, "featureImportance");
    int n = cJSON_GetArraySize(fi);
    if (n <= 0)
        return vfr_fail(VFR_ERR_FORMAT, "%s/%s: no featureImportance: the model's input columns are "
                                        "unknown, so no MLflow signature can be written", run_dir,
                        vfr_runfolder_file_name(VFR_RUNFILE_METRICS));
    char **out = calloc((size_t)n, sizeof *out);
    if (!out)
        return vfr_fail(VFR_ERR_NOMEM, "mlflow: out of memory");
    for (int i = 0; i < n; i++) {
        const char *f = jstr(cJSON_GetArrayItem(fi, i), "feature");
        out[i] = vfri_strdup(f ? f : "");
    }
    *names = out;
    *F = n;
    return VFR_OK;
}

static void free_names(char **names, int F)
{
    for (int i = 0; names && i < F; i++)
        free(names[i]);
    free(names);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *experiment_name(const vfr_mlflow_options *o)
{
    if (o && o->experiment)
        return o->experiment;
    const char *e = env("MLFLOW_EXPERIMENT_NAME");
    return e ? e : "vfr";
}

static void logs_free(logs *L)
{
    cJSON_Delete(L->params);
    cJSON_Delete(L->metrics);
    cJSON_Delete(L->tags);
}

vfr_status vfr_mlflow_export_run(const char *run_dir, const vfr_mlflow_options *o, vfr_mlflow_result *res_out)
{
    vfr_mlflow_result res_local, *res = res_out ? res_out : &res_local;
    memset(res, 0, sizeof *res);
    vfr_status st = VFR_OK;
    mlf m = {0};
    logs L = {cJSON_CreateArray(), cJSON_CreateArray(), cJSON_CreateArray(), now_ms()};
    cJSON *metrics = NULL, *job = NULL, *manifest = NULL, *comparison = NULL, *search = NULL;
    char **features = NULL;
    int F = 0, run_open = 0;

    VFR_TRY(vfri_runfolder_read_json(run_dir, VFR_RUNFILE_METRICS, 1, &metrics));
    VFR_TRY(vfri_runfolder_read_json(run_dir, VFR_RUNFILE_JOB, 1, &job));
    VFR_TRY(vfri_runfolder_read_json(run_dir, VFR_RUNFILE_MANIFEST, 1, &manifest));
    VFR_TRY(vfri_runfolder_read_json(run_dir, VFR_RUNFILE_COMPARISON, 0, &comparison));
    VFR_TRY(vfri_runfolder_read_json(run_dir, VFR_RUNFILE_SEARCH, 0, &search));
    const char *model_type = jstr(jobj(manifest, "model"), "type");
    const char *artifact = jstr(jobj(manifest, "model"), "artifact");
    char model_path[8400] = "";
    if (model_type && strcmp(model_type, "xgboost") == 0 && artifact) {
        VFR_TRY(vfri_runfolder_path_named(run_dir, artifact, model_path, sizeof model_path));
        VFR_TRY(feature_names(run_dir, metrics, &features, &F));
    }

    params_flat(&L, "", job);
    params_flat(&L, "best", jobj(manifest, "bestParams"));
    collect_metrics(&L, metrics);
    if (comparison)
        collect_comparison(&L, comparison);
    if (search) {
        char tp[8400];
        VFR_TRY(vfr_runfolder_path(run_dir, VFR_RUNFILE_TRIALS, tp, sizeof tp));
        collect_search(&L, search, tp);
    }
    collect_manifest(&L, manifest);

    VFR_TRY(mlf_open(&m, o));
    VFR_TRY(experiment_id(&m, experiment_name(o), res->experiment_id));
    const char *job_id = jstr(job, "jobId");
    VFR_TRY(run_create(&m, res->experiment_id, o && o->run_name ? o->run_name : (job_id ? job_id : "vfr run"),
                       L.now_ms, res));
    run_open = 1;
    VFR_TRY(log_all(&m, res->run_id, &L, res));
    char root[1024];
    VFR_TRY(artifact_root(&m, res->artifact_uri, root, sizeof root));
    VFR_TRY(put_run_folder(&m, root, run_dir, res));
    if (features) {
        char producer[128];
        snprintf(producer, sizeof producer, "vfr %s, run %s", VFR_VERSION, job_id ? job_id : "");
        VFR_TRY(put_file(&m, root, "model/model.json", model_path));
        res->n_artifacts++;
        VFR_TRY(put_mlflow_model(&m, root, res->run_id, "model", features, F,
                                 jstr(jobj(manifest, "libraries"), "xgboost"), producer, res));
    }
    VFR_TRY(run_end(&m, res->run_id, "FINISHED"));
    run_open = 0;
fail:
    if (run_open) {
        /* Keep the first error's message: mark the run FAILED, best effort. */
        char keep[1024];
        snprintf(keep, sizeof keep, "%s", vfr_last_error());
        run_end(&m, res->run_id, "FAILED");
        vfr_fail(st, "%s", keep);
    }
    mlf_close(&m);
    logs_free(&L);
    cJSON_Delete(metrics);
    cJSON_Delete(job);
    cJSON_Delete(manifest);
    cJSON_Delete(comparison);
    cJSON_Delete(search);
    free_names(features, F);
    return st;
}

vfr_status vfr_mlflow_export_model(vfr_registry *reg, const char *ref, const vfr_mlflow_options *o,
                                   vfr_mlflow_result *res_out)
{
    vfr_mlflow_result res_local, *res = res_out ? res_out : &res_local;
    memset(res, 0, sizeof *res);
    vfr_status st = VFR_OK;
    mlf m = {0};
    logs L = {cJSON_CreateArray(), cJSON_CreateArray(), cJSON_CreateArray(), now_ms()};
    vfr_registry_version *v = NULL;
    cJSON *metrics = NULL, *job = NULL, *lineage = NULL, *comparison = NULL, *r = NULL;
    int run_open = 0;

    VFR_TRY(vfr_registry_get(reg, ref, &v));
    if (strcmp(v->model_type, "xgboost") != 0) {
        st = vfr_fail(VFR_ERR_INVALID_ARG, "mlflow: %s:%s is a %s model; MLflow models are exported for XGBoost "
                                           "only (its xgboost flavour): export the run folder instead",
                      v->name, v->version, v->model_type);
        goto fail;
    }
    if (v->F <= 0 || !v->feature_names) {
        st = vfr_fail(VFR_ERR_FORMAT, "mlflow: %s:%s has no feature names: no input signature can be written",
                      v->name, v->version);
        goto fail;
    }
    char obj[8400];
    vfr_registry_object_path(reg, v->artifact_sha256, obj, sizeof obj);
    metrics = v->metrics_json ? cJSON_Parse(v->metrics_json) : NULL;
    job = v->job_json ? cJSON_Parse(v->job_json) : NULL;
    lineage = v->lineage_json ? cJSON_Parse(v->lineage_json) : NULL;
    comparison = v->comparison_json ? cJSON_Parse(v->comparison_json) : NULL;
    params_flat(&L, "", job);
    if (metrics)
        collect_metrics(&L, metrics);
    if (comparison)
        collect_comparison(&L, comparison);
    char ver[200];
    snprintf(ver, sizeof ver, "%s:%s", v->name, v->version);
    tag(&L, "vfr.registry.version", ver);
    tag(&L, "vfr.registry.artifactSha256", v->artifact_sha256);
    tag(&L, "vfr.registry.createdAt", v->created_at);
    tag(&L, "vfr.registry.createdBy", v->created_by);
    tag(&L, "vfr.registry.parent", v->parent);
    tag(&L, "vfr.model.type", v->model_type);
    const cJSON *ds = jobj(lineage, "dataset");
    tag(&L, "vfr.dataset.sha256", jstr(ds, "sha256"));
    tag(&L, "vfr.dataset.path", jstr(ds, "path"));
    tag(&L, "vfr.jobId", jstr(jobj(lineage, "run"), "jobId"));
    for (const cJSON *c = jobj(lineage, "versions") ? jobj(lineage, "versions")->child : NULL; c; c = c->next) {
        char k[128];
        snprintf(k, sizeof k, "vfr.lib.%s", c->string);
        if (cJSON_IsString(c))
            tag(&L, k, c->valuestring);
        else if (cJSON_IsBool(c))
            tag(&L, k, cJSON_IsTrue(c) ? "true" : "false");
    }
    tag(&L, "vfr.device.used", jstr(jobj(lineage, "device"), "used"));
    params_flat(&L, "best", jobj(lineage, "bestParams"));

    VFR_TRY(mlf_open(&m, o));
    VFR_TRY(experiment_id(&m, experiment_name(o), res->experiment_id));
    VFR_TRY(run_create(&m, res->experiment_id, o && o->run_name ? o->run_name : ver, L.now_ms, res));
    run_open = 1;
    VFR_TRY(log_all(&m, res->run_id, &L, res));
    char root[1024];
    VFR_TRY(artifact_root(&m, res->artifact_uri, root, sizeof root));
    VFR_TRY(put_file(&m, root, "model/model.json", obj));
    res->n_artifacts++;
    const char *xgb_version = jstr(jobj(lineage, "versions"), "xgboost");
    char producer[300];
    snprintf(producer, sizeof producer, "vfr %s, registry version %s", VFR_VERSION, ver);
    VFR_TRY(put_mlflow_model(&m, root, res->run_id, "model", v->feature_names, v->F, xgb_version, producer, res));
    if (v->metrics_json) {
        VFR_TRY(put_text(&m, root, vfr_runfolder_file_name(VFR_RUNFILE_METRICS), v->metrics_json));
        res->n_artifacts++;
    }
    if (v->comparison_json) {
        VFR_TRY(put_text(&m, root, vfr_runfolder_file_name(VFR_RUNFILE_COMPARISON), v->comparison_json));
        res->n_artifacts++;
    }
    if (v->job_json) {
        VFR_TRY(put_text(&m, root, vfr_runfolder_file_name(VFR_RUNFILE_JOB), v->job_json));
        res->n_artifacts++;
    }
    VFR_TRY(run_end(&m, res->run_id, "FINISHED"));
    run_open = 0;

    /* The registry: the model (once), then a version whose source is the run's model folder. */
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "name", v->name);
    st = mlf_call(&m, "POST", "/api/2.0/mlflow/registered-models/create", body, NULL, 0, NULL);
    cJSON_Delete(body);
    if (st != VFR_OK && strcmp(m.error_code, "RESOURCE_ALREADY_EXISTS") == 0) {
        vfr_error_clear();
        st = VFR_OK;
    }
    VFR_TRY(st);
    char source[1200];
    snprintf(source, sizeof source, "%s/model", res->artifact_uri);
    body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "name", v->name);
    cJSON_AddStringToObject(body, "source", source);
    cJSON_AddStringToObject(body, "run_id", res->run_id);
    char desc[400];
    snprintf(desc, sizeof desc, "vfr registry version %s (artifact sha256 %s)", ver, v->artifact_sha256);
    cJSON_AddStringToObject(body, "description", desc);
    cJSON *vt = cJSON_AddArrayToObject(body, "tags");
    add_kv(vt, "vfr.version", v->version, MAX_TAG_LEN);
    add_kv(vt, "vfr.artifactSha256", v->artifact_sha256, MAX_TAG_LEN);
    st = mlf_call(&m, "POST", "/api/2.0/mlflow/model-versions/create", body, NULL, 0, &r);
    cJSON_Delete(body);
    VFR_TRY(st);
    const char *mv = jstr(jobj(r, "model_version"), "version");
    if (!mv) {
        st = vfr_fail(VFR_ERR_IO, "mlflow: %s: model-versions/create gave no version", m.shown);
        goto fail;
    }
    snprintf(res->model_name, sizeof res->model_name, "%s", v->name);
    snprintf(res->model_version, sizeof res->model_version, "%s", mv);
fail:
    if (run_open) {
        char keep[1024];
        snprintf(keep, sizeof keep, "%s", vfr_last_error());
        run_end(&m, res->run_id, "FAILED");
        vfr_fail(st, "%s", keep);
    }
    mlf_close(&m);
    logs_free(&L);
    cJSON_Delete(r);
    cJSON_Delete(metrics);
    cJSON_Delete(job);
    cJSON_Delete(lineage);
    cJSON_Delete(comparison);
    vfr_registry_version_free(v);
    return st;
}
