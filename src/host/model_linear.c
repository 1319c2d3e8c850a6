/* model_linear.c: the linear baseline behind the model interface:
 * L2-regularised logistic regression for direction, ridge for returns
 * (linear.h has the numerics). Features are standardised with the training
 * set's mean and standard deviation, missing values set to the mean. The
 * artifact is a small JSON file: names, standardisation, coefficients. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "util.h"
#include "vfr/colstats.h"
#include "vfr/linear.h"

typedef struct lin_model {
    vfr_objective objective;
    vfr_device_kind device;
    int32_t F;
    char **names;
    double l2, tol;
    int max_iter, iters;
    double *mean, *scale, *w; /* [F], [F], [F + 1] */
    int trained;
} lin_model;

static void destroy(void *state)
{
    lin_model *m = state;
    if (!m)
        return;
    for (int32_t f = 0; m->names && f < m->F; f++)
        free(m->names[f]);
    free(m->names), free(m->mean), free(m->scale), free(m->w);
    free(m);
}

static vfr_status alloc_model(int32_t F, const char *const *names, lin_model **out)
{
    lin_model *m = calloc(1, sizeof *m);
    size_t nf = F > 0 ? (size_t)F : 1;
    if (m) {
        m->F = F;
        m->names = calloc(nf, sizeof *m->names);
        m->mean = calloc(nf, sizeof *m->mean);
        m->scale = calloc(nf, sizeof *m->scale);
        m->w = calloc(nf + 1, sizeof *m->w);
    }
    if (!m || !m->names || !m->mean || !m->scale || !m->w) {
        destroy(m);
        return vfr_fail(VFR_ERR_NOMEM, "linear: out of memory");
    }
    for (int32_t f = 0; f < F; f++) {
        char buf[32];
        snprintf(buf, sizeof buf, "f%d", f);
        if (!(m->names[f] = vfri_strdup(names ? names[f] : buf))) {
            destroy(m);
            return vfr_fail(VFR_ERR_NOMEM, "linear: out of memory");
        }
    }
    *out = m;
    return VFR_OK;
}

static vfr_status create(const vfr_model_config *cfg, void **state)
{
    *state = NULL;
    cJSON *hp = cJSON_Parse(cfg->params_json ? cfg->params_json : "{}");
    vfr_status st = VFR_OK;
    double l2 = 1.0, tol = 1e-10;
    int max_iter = 100;
    if (!hp || !cJSON_IsObject(hp)) {
        st = vfr_fail(VFR_ERR_INVALID_ARG, "trainingConfig.hyperparameters: not a JSON object");
        goto done;
    }
    static const char *const known[] = {"l2", "C", "max_iter", "tol"};
    for (const cJSON *it = hp->child; it; it = it->next) {
        size_t k = 0;
        while (k < 4 && strcmp(known[k], it->string) != 0)
            k++;
        if (k == 4) {
            const char *best = vfri_closest(it->string, known, 4);
            st = vfr_fail(VFR_ERR_INVALID_ARG,
                          "trainingConfig.hyperparameters.%s: not a linear-model parameter (l2, C, max_iter, tol)%s%s%s",
                          it->string, best ? "; did you mean " : "", best ? best : "", best ? "?" : "");
            goto done;
        }
        if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0) ||
            (k == 1 && !(it->valuedouble > 0)) || (k == 2 && it->valuedouble != floor(it->valuedouble))) {
            st = vfr_fail(VFR_ERR_INVALID_ARG, "trainingConfig.hyperparameters.%s: expected a %s number",
                          it->string, k == 2 ? "whole" : k == 1 ? "positive" : "non-negative");
            goto done;
        }
        if (k == 0)
            l2 = it->valuedouble;
        else if (k == 1)
            l2 = 1.0 / it->valuedouble; /* scikit-learn's C = 1 / lambda */
        else if (k == 2)
            max_iter = it->valueint;
        else
            tol = it->valuedouble;
    }
    lin_model *m;
    if ((st = alloc_model(cfg->F, cfg->feature_names, &m)) != VFR_OK)
        goto done;
    m->objective = cfg->objective;
    m->device = cfg->device;
    m->l2 = l2;
    m->tol = tol;
    m->max_iter = max_iter;
    *state = m;
done:
    cJSON_Delete(hp);
    return st;
}

static vfr_status problem_loss(const lin_model *m, vfr_dataview *v, double *loss);

/* The linear core's row reader over a view (vfr_linear_rows). */
static vfr_status view_rows(void *ctx, int64_t r0, int64_t r1, float *buf, const float **rows)
{
    return vfr_dataview_read(ctx, r0, r1, buf, rows);
}

/* Column statistics of a view: in one call over an in-memory view, else
 * chunk by chunk, merged (colstats.h). */
static vfr_status view_colstats(vfr_dataview *v, vfr_colstats *cs)
{
    if (v->X) {
        vfr_colstats_cpu(v->X, v->n, v->F, cs);
        return VFR_OK;
    }
    const int64_t C = vfr_dataview_chunk_rows(v->F);
    const size_t nf = (size_t)(v->F ? v->F : 1);
    float *buf = malloc(sizeof *buf * (size_t)C * nf);
    int64_t *c1 = malloc(sizeof *c1 * nf);
    double *m1 = malloc(sizeof *m1 * nf), *s1 = malloc(sizeof *s1 * nf);
    vfr_status st = buf && c1 && m1 && s1 ? VFR_OK : vfr_fail(VFR_ERR_NOMEM, "linear: out of memory");
    for (int32_t f = 0; f < v->F; f++)
        cs->count[f] = 0, cs->mean[f] = NAN, cs->std[f] = NAN;
    vfr_colstats part = {c1, m1, s1};
    for (int64_t a = 0; a < v->n && st == VFR_OK; a += C) {
        int64_t k = v->n - a < C ? v->n - a : C;
        const float *rows;
        if ((st = vfr_dataview_read(v, a, a + k, buf, &rows)) != VFR_OK)
            break;
        vfr_colstats_cpu(rows, k, v->F, &part);
        vfr_colstats_merge(cs, &part, v->F);
    }
    free(buf), free(c1), free(m1), free(s1);
    return st;
}

static vfr_status fit(void *state, vfr_dataview *train, vfr_dataview *val,
                      const vfr_fit_options *opt, vfr_fit_result *res)
{
    lin_model *m = state;
    (void)opt;
    if (train->F != m->F)
        return vfr_fail(VFR_ERR_INVALID_ARG, "linear fit: %d features, the model has %d", train->F, m->F);
    vfr_status st = VFR_OK;
    const float *X;
    if (m->device == VFR_DEVICE_CUDA && (st = vfri_dataview_block(train, &X)) != VFR_OK)
        return st; /* the CUDA fit stages the rows from one block */
    int64_t *cnt = malloc(sizeof *cnt * (size_t)(m->F ? m->F : 1));
    double *sd = malloc(sizeof *sd * (size_t)(m->F ? m->F : 1));
    if (!cnt || !sd) {
        free(cnt), free(sd);
        return vfr_fail(VFR_ERR_NOMEM, "linear: out of memory");
    }
    vfr_colstats cs = {cnt, m->mean, sd};
    st = view_colstats(train, &cs);
    for (int32_t f = 0; f < m->F; f++) {
        if (!isfinite(m->mean[f]))
            m->mean[f] = 0.0;
        m->scale[f] = isfinite(sd[f]) && sd[f] > 0 ? sd[f] : 1.0;
    }
    free(cnt), free(sd);
    if (st != VFR_OK)
        return st;
    vfr_linear_problem p = {train->X, train->y, train->n, m->F, m->mean, m->scale,
                            m->objective == VFR_OBJECTIVE_DIRECTION, m->l2, view_rows, train, 0};
    if ((st = vfr_linear_fit(m->device, &p, m->max_iter, m->tol, m->w, &m->iters)) != VFR_OK)
        return st;
    m->trained = 1;
    res->rounds = m->iters;
    res->best_round = m->iters - 1;
    res->loss_name = p.logistic ? "logloss" : "rmse";
    double l;
    if ((st = problem_loss(m, train, &l)) != VFR_OK)
        return st;
    res->train_loss = l;
    res->best_val_loss = NAN;
    if (val) {
        if ((st = problem_loss(m, val, &l)) != VFR_OK)
            return st;
        res->best_val_loss = l;
    }
    return VFR_OK;
}

static double score_row(const lin_model *m, const float *x)
{
    double z = m->w[m->F];
    for (int32_t f = 0; f < m->F; f++)
        if (isfinite(x[f]))
            z += m->w[f] * ((double)x[f] - m->mean[f]) / m->scale[f];
    return m->objective == VFR_OBJECTIVE_DIRECTION ? 1.0 / (1.0 + exp(-z)) : z;
}

/* Scores of view rows [0, n) into out [n] (float) or, with out NULL, the
 * mean log loss (direction) or RMSE (returns) against the labels into
 * *loss; rows read chunk by chunk (a streamed view's from its reader). */
static vfr_status score_view(const lin_model *m, vfr_dataview *v, float *out, double *loss)
{
    const int64_t C = vfr_dataview_chunk_rows(v->F);
    float *buf = v->X ? NULL : malloc(sizeof *buf * (size_t)C * (size_t)(v->F ? v->F : 1));
    if (!v->X && !buf)
        return vfr_fail(VFR_ERR_NOMEM, "linear: out of memory");
    vfr_status st = VFR_OK;
    double s = 0.0;
    for (int64_t a = 0; a < v->n && st == VFR_OK; a += C) {
        int64_t k = v->n - a < C ? v->n - a : C;
        const float *rows;
        if ((st = vfr_dataview_read(v, a, a + k, buf, &rows)) != VFR_OK)
            break;
        for (int64_t i = 0; i < k; i++) {
            double p = score_row(m, rows + i * v->F);
            if (out) {
                out[a + i] = (float)p;
                continue;
            }
            double y = v->y[a + i];
            if (m->objective == VFR_OBJECTIVE_DIRECTION) {
                p = fmin(fmax(p, 1e-15), 1 - 1e-15);
                s -= y * log(p) + (1 - y) * log(1 - p);
            } else {
                s += (p - y) * (p - y);
            }
        }
    }
    free(buf);
    if (loss) {
        s /= v->n > 0 ? (double)v->n : 1.0;
        *loss = m->objective == VFR_OBJECTIVE_DIRECTION ? s : sqrt(s);
    }
    return st;
}

static vfr_status problem_loss(const lin_model *m, vfr_dataview *v, double *loss)
{
    return score_view(m, v, NULL, loss);
}

static vfr_status predict(void *state, vfr_dataview *v, float *out)
{
    lin_model *m = state;
    if (!m->trained)
        return vfr_fail(VFR_ERR_INVALID_ARG, "linear predict: the model is not trained");
    if (v->F != m->F)
        return vfr_fail(VFR_ERR_INVALID_ARG, "linear predict: %d features, the model has %d", v->F, m->F);
    return score_view(m, v, out, NULL);
}

static cJSON *doubles(const double *v, int32_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (int32_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

static cJSON *to_json(const lin_model *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "format", "vfr-linear");
    cJSON_AddNumberToObject(o, "version", 1);
    cJSON_AddStringToObject(o, "objective", m->objective == VFR_OBJECTIVE_DIRECTION ? "direction" : "return");
    cJSON_AddStringToObject(o, "link", m->objective == VFR_OBJECTIVE_DIRECTION ? "logistic" : "identity");
    cJSON_AddNumberToObject(o, "l2", m->l2);
    cJSON_AddNumberToObject(o, "iterations", m->iters);
    cJSON_AddItemToObject(o, "features", cJSON_CreateStringArray((const char *const *)m->names, m->F));
    cJSON_AddItemToObject(o, "mean", doubles(m->mean, m->F));
    cJSON_AddItemToObject(o, "scale", doubles(m->scale, m->F));
    cJSON_AddItemToObject(o, "coef", doubles(m->w, m->F));
    cJSON_AddNumberToObject(o, "intercept", m->w[m->F]);
    return o;
}

static vfr_status save(void *state, const char *path)
{
    lin_model *m = state;
    if (!m->trained)
        return vfr_fail(VFR_ERR_INVALID_ARG, "linear save: the model is not trained");
    cJSON *o = to_json(m);
    char *s = cJSON_Print(o); /* %.17g: doubles round-trip exactly */
    cJSON_Delete(o);
    if (!s)
        return vfr_fail(VFR_ERR_NOMEM, "linear: out of memory");
    vfr_status st = vfri_write_file_atomic(path, s, strlen(s));
    free(s);
    return st;
}

static int read_doubles(const cJSON *a, double *out, int32_t n)
{
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n)
        return -1;
    int32_t i = 0;
    for (const cJSON *e = a->child; e; e = e->next) {
        if (!cJSON_IsNumber(e))
            return -1;
        out[i++] = e->valuedouble;
    }
    return 0;
}

static vfr_status load(const vfr_model_config *cfg, const char *path, void **state)
{
    char *buf;
    size_t len;
    *state = NULL;
    if (vfri_read_file(path, &buf, &len) != 0)
        return vfr_fail(VFR_ERR_NOT_FOUND, "%s: cannot read the model", path);
    cJSON *o = cJSON_Parse(buf);
    free(buf);
    const cJSON *fmt = cJSON_GetObjectItem(o, "format"), *names = cJSON_GetObjectItem(o, "features");
    vfr_status st = VFR_OK;
    lin_model *m = NULL;
    if (!o || !cJSON_IsString(fmt) || strcmp(fmt->valuestring, "vfr-linear") != 0 || !cJSON_IsArray(names)) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: not a vfr linear model", path);
        goto done;
    }
    int32_t F = cJSON_GetArraySize(names);
    if (cfg->F && cfg->F != F) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: %d features, expected %d", path, F, cfg->F);
        goto done;
    }
    const char **nm = calloc(F ? (size_t)F : 1, sizeof *nm);
    int32_t i = 0;
    for (const cJSON *e = names->child; nm && e; e = e->next)
        nm[i++] = cJSON_IsString(e) ? e->valuestring : "?";
    st = nm ? alloc_model(F, nm, &m) : vfr_fail(VFR_ERR_NOMEM, "linear: out of memory");
    free(nm);
    if (st != VFR_OK)
        goto done;
    const cJSON *obj = cJSON_GetObjectItem(o, "objective"), *ic = cJSON_GetObjectItem(o, "intercept");
    if (read_doubles(cJSON_GetObjectItem(o, "mean"), m->mean, F) || read_doubles(cJSON_GetObjectItem(o, "scale"), m->scale, F) ||
        read_doubles(cJSON_GetObjectItem(o, "coef"), m->w, F) || !cJSON_IsNumber(ic) || !cJSON_IsString(obj)) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: a field is missing or malformed", path);
        goto done;
    }
    m->w[F] = ic->valuedouble;
    m->objective = strcmp(obj->valuestring, "direction") == 0 ? VFR_OBJECTIVE_DIRECTION : VFR_OBJECTIVE_RETURN;
    m->l2 = cJSON_IsNumber(cJSON_GetObjectItem(o, "l2")) ? cJSON_GetObjectItem(o, "l2")->valuedouble : 0;
    m->device = VFR_DEVICE_CPU;
    m->trained = 1;
    *state = m;
    m = NULL;
done:
    destroy(m);
    cJSON_Delete(o);
    return st;
}

static vfr_status importance(void *state, double *imp)
{
    lin_model *m = state;
    for (int32_t f = 0; f < m->F; f++)
        imp[f] = fabs(m->w[f]);
    return VFR_OK;
}

static char *describe(void *state)
{
    lin_model *m = state;
    cJSON *o = to_json(m);
    cJSON_DeleteItemFromObject(o, "mean");
    cJSON_DeleteItemFromObject(o, "scale");
    cJSON_DeleteItemFromObject(o, "coef");
    cJSON_DeleteItemFromObject(o, "features");
    cJSON_AddStringToObject(o, "type", "linear");
    cJSON_AddStringToObject(o, "device", vfr_device_kind_str(m->device));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

const vfr_model_ops vfr_model_linear_ops = {
    .type = "linear",
    .artifact = "model.json",
    .streams = 1,
    .create = create,
    .fit = fit,
    .predict = predict,
    .save = save,
    .load = load,
    .importance = importance,
    .describe = describe,
    .destroy = destroy,
};
