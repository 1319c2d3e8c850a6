/* model.c: the model interface's dispatcher and the dataview. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_internal.h"
#include "vfr/lightgbm.h"
#include "vfr/xgboost.h"

struct vfr_model {
    const vfr_model_ops *ops;
    void *state;
};

static const vfr_model_ops *const all_ops[] = {&vfr_model_xgboost_ops, &vfr_model_linear_ops, &vfr_model_lstm_ops,
                                               &vfr_model_lightgbm_ops};

static const vfr_model_ops *find(const char *type)
{
    for (size_t i = 0; i < sizeof all_ops / sizeof all_ops[0]; i++)
        if (all_ops[i]->type && strcmp(all_ops[i]->type, type) == 0)
            return all_ops[i];
    return NULL;
}

static vfr_status unknown_type(const char *type)
{
    return vfr_fail(VFR_ERR_INVALID_ARG, "modelType: '%s' is unknown (available: xgboost, lightgbm, linear, lstm)",
                    type);
}

vfr_status vfr_model_check_params(const char *type, const char *params_json)
{
    const vfr_model_ops *ops = find(type);
    if (!ops)
        return unknown_type(type);
    return ops->check ? ops->check(params_json) : VFR_OK;
}

vfr_status vfr_model_device(const char *type, vfr_device_kind asked, vfr_device_kind dev,
                            const vfr_reporter *rep, vfr_device_kind *model_dev)
{
    *model_dev = dev;
    if (strcmp(type, "lightgbm") == 0 && dev == VFR_DEVICE_CUDA) {
        vfr_lightgbm_info li;
        int ok = 0;
        if (vfr_lightgbm_probe(&li) != VFR_OK || vfr_lightgbm_cuda(&ok) != VFR_OK || ok)
            return VFR_OK;
        if (asked == VFR_DEVICE_CUDA)
            return vfr_fail(VFR_ERR_NO_DEVICE,
                            "--device cuda: the LightGBM library %s (%s) has no CUDA; set VFR_LIGHTGBM_LIB to a "
                            "lib_lightgbm.so built with -DUSE_CUDA=ON (docs/lightgbm.md)",
                            li.path, li.version);
        vfr_report_log(rep, VFR_LOG_WARN,
                       "device auto: %s has no CUDA, so LightGBM trains on the CPU (metrics still use the GPU)",
                       li.path);
        *model_dev = VFR_DEVICE_CPU;
        return VFR_OK;
    }
    if (strcmp(type, "xgboost") != 0 || dev != VFR_DEVICE_CUDA)
        return VFR_OK;
    vfr_xgboost_info xi;
    if (vfr_xgboost_probe(&xi) != VFR_OK || xi.has_cuda)
        return VFR_OK;
    if (asked == VFR_DEVICE_CUDA)
        return vfr_fail(VFR_ERR_NO_DEVICE,
                        "--device cuda: the XGBoost library %s (%d.%d.%d) has no CUDA; set VFR_XGBOOST_LIB to a CUDA-enabled libxgboost.so",
                        xi.path, xi.major, xi.minor, xi.patch);
    vfr_report_log(rep, VFR_LOG_WARN,
                   "device auto: %s has no CUDA, so XGBoost trains on the CPU (metrics still use the GPU)",
                   xi.path);
    *model_dev = VFR_DEVICE_CPU;
    return VFR_OK;
}

vfr_status vfr_model_preload(const char *type)
{
    const vfr_model_ops *ops = find(type);
    if (!ops)
        return unknown_type(type);
    return ops->preload ? ops->preload() : VFR_OK;
}

const char *vfr_model_artifact_name(const char *type)
{
    const vfr_model_ops *ops = find(type);
    return ops ? ops->artifact : "model.bin";
}

vfr_status vfr_model_create(const vfr_model_config *cfg, vfr_model **out)
{
    *out = NULL;
    const vfr_model_ops *ops = find(cfg->type);
    if (!ops)
        return unknown_type(cfg->type);
    vfr_model *m = calloc(1, sizeof *m);
    if (!m)
        return vfr_fail(VFR_ERR_NOMEM, "model: out of memory");
    m->ops = ops;
    vfr_status st = ops->create(cfg, &m->state);
    if (st != VFR_OK) {
        free(m);
        return st;
    }
    *out = m;
    return VFR_OK;
}

vfr_status vfr_model_load(const vfr_model_config *cfg, const char *path, vfr_model **out)
{
    *out = NULL;
    const vfr_model_ops *ops = find(cfg->type);
    if (!ops)
        return unknown_type(cfg->type);
    vfr_model *m = calloc(1, sizeof *m);
    if (!m)
        return vfr_fail(VFR_ERR_NOMEM, "model: out of memory");
    m->ops = ops;
    vfr_status st = ops->load(cfg, path, &m->state);
    if (st != VFR_OK) {
        free(m);
        return st;
    }
    *out = m;
    return VFR_OK;
}

void vfr_model_destroy(vfr_model *m)
{
    if (!m)
        return;
    if (m->state)
        m->ops->destroy(m->state);
    free(m);
}

vfr_status vfr_model_fit(vfr_model *m, vfr_dataview *train, vfr_dataview *val,
                         const vfr_fit_options *opt, vfr_fit_result *res)
{
    static const vfr_fit_options none = {0, 0, NULL};
    memset(res, 0, sizeof *res);
    if (!train || train->n < 1 || !train->y)
        return vfr_fail(VFR_ERR_INVALID_ARG, "model fit: the training set is empty or unlabelled");
    if (val && (val->n < 1 || !val->y))
        val = NULL;
    const float *X;
    if (!m->ops->streams) { /* XGBoost and linear read streamed views by chunks */
        vfr_status st = vfri_dataview_block(train, &X);
        if (st == VFR_OK && val)
            st = vfri_dataview_block(val, &X);
        if (st != VFR_OK)
            return st;
    }
    return m->ops->fit(m->state, train, val, opt ? opt : &none, res);
}

vfr_status vfr_model_predict(vfr_model *m, vfr_dataview *v, float *out)
{
    if (v->n == 0)
        return VFR_OK;
    const float *X;
    vfr_status st = !m->ops->streams ? vfri_dataview_block(v, &X) : VFR_OK;
    if (st != VFR_OK)
        return st;
    return m->ops->predict(m->state, v, out);
}

vfr_status vfr_model_record_rounds(vfr_model *m, double *train_loss, double *val_loss)
{
    if (!m->ops->record_rounds)
        return vfr_fail(VFR_ERR_INVALID_ARG, "model fit: %s models have no boosting rounds to keep", m->ops->type);
    m->ops->record_rounds(m->state, train_loss, val_loss);
    return VFR_OK;
}

vfr_status vfr_model_predict_rounds(vfr_model *m, vfr_dataview *v, int32_t rounds, float *out)
{
    if (!m->ops->predict_rounds)
        return vfr_fail(VFR_ERR_INVALID_ARG, "model predict: %s models have no boosting rounds to select",
                        m->ops->type);
    if (v->n == 0)
        return VFR_OK;
    return m->ops->predict_rounds(m->state, v, rounds, out);
}

vfr_status vfr_model_predict_f64(vfr_model *m, vfr_dataview *v, double *out)
{
    if (v->n == 0)
        return VFR_OK;
    const float *X;
    vfr_status st = !m->ops->streams ? vfri_dataview_block(v, &X) : VFR_OK;
    if (st != VFR_OK)
        return st;
    if (m->ops->predict_f64)
        return m->ops->predict_f64(m->state, v, out);
    float *f = malloc(sizeof *f * (size_t)v->n);
    if (!f)
        return vfr_fail(VFR_ERR_NOMEM, "model predict: out of memory");
    st = m->ops->predict(m->state, v, f);
    for (int64_t i = 0; st == VFR_OK && i < v->n; i++)
        out[i] = f[i];
    free(f);
    return st;
}

vfr_status vfr_model_save(vfr_model *m, const char *path) { return m->ops->save(m->state, path); }

vfr_status vfr_model_importance(vfr_model *m, double *imp) { return m->ops->importance(m->state, imp); }

char *vfr_model_describe(vfr_model *m) { return m->ops->describe(m->state); }

/* ---- dataview ------------------------------------------------------------ */

vfr_status vfr_dataview_create(const float *X, const float *y, int64_t n, int32_t F,
                               vfr_dataview **out)
{
    *out = NULL;
    if (n < 0 || F < 0 || (n > 0 && !X))
        return vfr_fail(VFR_ERR_INVALID_ARG, "dataview: bad shape (%lld x %d)", (long long)n, F);
    vfr_dataview *v = calloc(1, sizeof *v);
    if (!v)
        return vfr_fail(VFR_ERR_NOMEM, "dataview: out of memory");
    v->X = X;
    v->y = y;
    v->n = n;
    v->F = F;
    pthread_mutex_init(&v->lock, NULL);
    *out = v;
    return VFR_OK;
}

vfr_status vfr_dataview_create_streamed(vfr_rows_reader read, void *ctx, int64_t first_row,
                                        const float *y, int64_t n, int32_t F, vfr_dataview **out)
{
    *out = NULL;
    if (!read)
        return vfr_fail(VFR_ERR_INVALID_ARG, "dataview: a streamed view needs a reader");
    /* an empty in-memory view, then its reader (n > 0 with no X is legal here) */
    vfr_status st = vfr_dataview_create(NULL, y, 0, F, out);
    if (st != VFR_OK)
        return st;
    if (n < 0) {
        vfr_dataview_destroy(*out);
        *out = NULL;
        return vfr_fail(VFR_ERR_INVALID_ARG, "dataview: bad shape (%lld x %d)", (long long)n, F);
    }
    (*out)->n = n;
    (*out)->read = read;
    (*out)->read_ctx = ctx;
    (*out)->first_row = first_row;
    return VFR_OK;
}

int64_t vfr_dataview_chunk_rows(int32_t F)
{
    int64_t r = ((int64_t)32 << 20) / ((int64_t)(F > 0 ? F : 1) * (int64_t)sizeof(float));
    return r < 1024 ? 1024 : r;
}

vfr_status vfr_dataview_read(vfr_dataview *v, int64_t i0, int64_t i1, float *buf, const float **rows)
{
    *rows = NULL;
    if (i0 < 0 || i1 > v->n || i0 > i1)
        return vfr_fail(VFR_ERR_INVALID_ARG, "dataview: rows [%lld, %lld) outside [0, %lld)", (long long)i0,
                        (long long)i1, (long long)v->n);
    if (v->X) {
        *rows = v->X + i0 * v->F;
        return VFR_OK;
    }
    vfr_status st = v->read(v->read_ctx, v->first_row + i0, v->first_row + i1, buf);
    if (st == VFR_OK)
        *rows = buf;
    return st;
}

void vfr_dataview_set_external(vfr_dataview *v, const char *cache_dir) { v->cache_dir = cache_dir; }

vfr_status vfri_dataview_block(vfr_dataview *v, const float **X)
{
    vfr_status st = VFR_OK;
    pthread_mutex_lock(&v->lock);
    if (!v->X) {
        float *b = malloc(sizeof *b * (size_t)(v->n ? v->n : 1) * (size_t)(v->F ? v->F : 1));
        if (!b)
            st = vfr_fail(VFR_ERR_NOMEM, "dataview: out of memory for %lld rows x %d features", (long long)v->n,
                          v->F);
        else if (v->n && (st = v->read(v->read_ctx, v->first_row, v->first_row + v->n, b)) != VFR_OK)
            free(b);
        else
            v->X = v->owned_X = b;
    }
    *X = v->X;
    pthread_mutex_unlock(&v->lock);
    return st;
}

void vfr_dataview_destroy(vfr_dataview *v)
{
    if (!v)
        return;
    free(v->owned_X);
    for (int i = 0; i < v->n_xgb; i++) {
        if (v->xgb[i].dmatrix && v->xgb_free)
            v->xgb_free(v->xgb[i].dmatrix);
        pthread_mutex_destroy(&v->xgb[i].first);
    }
    if (v->lgb_cache && v->lgb_free)
        v->lgb_free(v->lgb_cache);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

int64_t vfr_dataview_rows(const vfr_dataview *v) { return v->n; }

void vfr_dataview_set_history(vfr_dataview *v, const float *panel_X, int64_t first_row,
                              const int64_t *prev_row)
{
    v->panel_X = panel_X;
    v->first_row = first_row;
    v->prev_row = prev_row;
}

