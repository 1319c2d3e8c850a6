/* model_lstm.c: modelType "lstm" behind the model interface (model.h): stacked
 * LSTMs with a dense head (include/vfr/lstm.h has the numerics), trained with
 * Adam, global-norm clipping and early stopping on the validation loss.
 *
 * Each row's input is its symbol's last `lookback` rows, found through the
 * view's history (vfr_dataview_set_history) and gathered per batch, never
 * materialised as an L-fold copy of the data. Features are standardised with
 * the training view's statistics, non-finite -> 0 afterwards. Rows without a
 * full history are skipped in training and predicted as NaN. The CPU path is
 * the BLAS twin; with device CUDA the panel rows are staged on the GPU and
 * the whole loop runs through cuDNN. The artifact is one HDF5 file (model.h5):
 * weights under PyTorch's names, the config and the standardisation. */
#include <cblas.h>
#include <cjson/cJSON.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lstm_internal.h"
#include "model_internal.h"
#include "util.h"
#include "vfr/colstats.h"
#include "vfr/lstm.h"

#undef I /* cblas.h's <complex.h> */

#define EVAL_BATCH 512 /* sequences per batch when scoring */
#define FORMAT_VERSION 1

/* ---- hyperparameters --------------------------------------------------------- */

typedef struct lstm_params {
    int32_t lookback;
    int32_t layers, units[VFR_LSTM_MAX_LAYERS];
    double dropout, learning_rate, clip_norm;
    int32_t batch_size, epochs, patience;
    vfr_lstm_math math;
} lstm_params;

static const char *const param_names[] = {"lookback", "units",    "dropout",   "learning_rate", "batch_size",
                                          "epochs",   "patience", "clip_norm", "math"};
#define NPARAMS (sizeof param_names / sizeof param_names[0])

static void default_params(lstm_params *p)
{
    memset(p, 0, sizeof *p);
    p->lookback = 20;
    p->layers = 2;
    p->units[0] = 64;
    p->units[1] = 32;
    p->dropout = 0.3;
    p->learning_rate = 0.001;
    p->batch_size = 64;
    p->epochs = 100;
    p->patience = 10;
    p->clip_norm = 1.0;
    p->math = VFR_LSTM_MATH_FMA;
}

static vfr_status bad_param(const char *key, const char *want)
{
    return vfr_fail(VFR_ERR_INVALID_ARG, "trainingConfig.hyperparameters.%s: expected %s", key, want);
}

static int whole_in(const cJSON *it, double lo, double hi)
{
    return cJSON_IsNumber(it) && it->valuedouble == floor(it->valuedouble) && it->valuedouble >= lo &&
           it->valuedouble <= hi;
}

/* Strict: unknown keys, wrong types and values out of range name the key. */
static vfr_status parse_params(const char *json, lstm_params *p)
{
    default_params(p);
    cJSON *hp = cJSON_Parse(json && *json ? json : "{}");
    vfr_status st = VFR_OK;
    if (!hp || !cJSON_IsObject(hp)) {
        st = vfr_fail(VFR_ERR_INVALID_ARG, "trainingConfig.hyperparameters: not a JSON object");
        goto done;
    }
    for (const cJSON *it = hp->child; it; it = it->next) {
        const char *k = it->string;
        size_t i = 0;
        while (i < NPARAMS && strcmp(param_names[i], k) != 0)
            i++;
        if (i == NPARAMS) {
            const char *best = vfri_closest(k, param_names, NPARAMS);
            st = vfr_fail(VFR_ERR_INVALID_ARG,
                          "trainingConfig.hyperparameters.%s: not an LSTM parameter (lookback, units, dropout, "
                          "learning_rate, batch_size, epochs, patience, clip_norm, math)%s%s%s",
                          k, best ? "; did you mean " : "", best ? best : "", best ? "?" : "");
            goto done;
        }
        if (strcmp(k, "lookback") == 0) {
            if (!whole_in(it, 1, 10000)) {
                st = bad_param(k, "a whole number of rows in [1, 10000]");
                goto done;
            }
            p->lookback = (int32_t)it->valuedouble;
        } else if (strcmp(k, "units") == 0) {
            int n = cJSON_IsArray(it) ? cJSON_GetArraySize(it) : 0;
            if (n < 1 || n > VFR_LSTM_MAX_LAYERS) {
                st = bad_param(k, "an array of 1 to 4 layer widths, e.g. [64, 32]");
                goto done;
            }
            int j = 0;
            for (const cJSON *e = it->child; e; e = e->next, j++) {
                if (!whole_in(e, 1, 4096)) {
                    st = bad_param(k, "whole layer widths in [1, 4096], e.g. [64, 32]");
                    goto done;
                }
                p->units[j] = (int32_t)e->valuedouble;
            }
            for (; j < VFR_LSTM_MAX_LAYERS; j++)
                p->units[j] = 0;
            p->layers = n;
        } else if (strcmp(k, "dropout") == 0) {
            if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0 && it->valuedouble < 1)) {
                st = bad_param(k, "a number in [0, 1)");
                goto done;
            }
            p->dropout = it->valuedouble;
        } else if (strcmp(k, "learning_rate") == 0) {
            if (!cJSON_IsNumber(it) || !(it->valuedouble > 0 && it->valuedouble <= 10)) {
                st = bad_param(k, "a number in (0, 10]");
                goto done;
            }
            p->learning_rate = it->valuedouble;
        } else if (strcmp(k, "clip_norm") == 0) {
            if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0 && it->valuedouble <= 1e6)) {
                st = bad_param(k, "a number >= 0 (0: no clipping)");
                goto done;
            }
            p->clip_norm = it->valuedouble;
        } else if (strcmp(k, "batch_size") == 0) {
            if (!whole_in(it, 1, 65536)) {
                st = bad_param(k, "a whole number in [1, 65536]");
                goto done;
            }
            p->batch_size = (int32_t)it->valuedouble;
        } else if (strcmp(k, "epochs") == 0) {
            if (!whole_in(it, 1, 100000)) {
                st = bad_param(k, "a whole number in [1, 100000]");
                goto done;
            }
            p->epochs = (int32_t)it->valuedouble;
        } else if (strcmp(k, "patience") == 0) {
            if (!whole_in(it, 0, 100000)) {
                st = bad_param(k, "a whole number of epochs >= 0 (0: no early stopping)");
                goto done;
            }
            p->patience = (int32_t)it->valuedouble;
        } else { /* math */
            if (!cJSON_IsString(it) ||
                (strcmp(it->valuestring, "fma") != 0 && strcmp(it->valuestring, "tf32") != 0)) {
                st = bad_param(k, "\"fma\" or \"tf32\"");
                goto done;
            }
            p->math = strcmp(it->valuestring, "tf32") == 0 ? VFR_LSTM_MATH_TF32 : VFR_LSTM_MATH_FMA;
        }
    }
done:
    cJSON_Delete(hp);
    return st;
}

static cJSON *params_json(const lstm_params *p)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "lookback", p->lookback);
    cJSON *u = cJSON_AddArrayToObject(o, "units");
    for (int k = 0; k < p->layers; k++)
        cJSON_AddItemToArray(u, cJSON_CreateNumber(p->units[k]));
    cJSON_AddNumberToObject(o, "dropout", p->dropout);
    cJSON_AddNumberToObject(o, "learning_rate", p->learning_rate);
    cJSON_AddNumberToObject(o, "batch_size", p->batch_size);
    cJSON_AddNumberToObject(o, "epochs", p->epochs);
    cJSON_AddNumberToObject(o, "patience", p->patience);
    cJSON_AddNumberToObject(o, "clip_norm", p->clip_norm);
    cJSON_AddStringToObject(o, "math", p->math == VFR_LSTM_MATH_TF32 ? "tf32" : "fma");
    return o;
}

/* ---- the model ---------------------------------------------------------------- */

typedef struct lstm_model {
    lstm_params p;
    vfr_lstm_spec spec;
    int64_t P;
    vfr_objective objective;
    vfr_device_kind device;
    uint64_t seed;
    int32_t F;
    vfr_reporter rep;
    char **names;            /* [F]                                              */
    float *w;                /* [P] weights, the layout of lstm.h                */
    float *mean, *std, *inv; /* [F] standardisation: (x - mean) * inv, inv = 1/std */
    int trained;
    int32_t rounds, best_round;
    pthread_mutex_t gpu_lock; /* guards gpu: predict is thread-safe             */
    vfr_lstm_cuda *gpu;       /* the device context, made on first use           */
    int gpu_has_w;            /* gpu holds w                                      */
} lstm_model;

static void destroy(void *state)
{
    lstm_model *m = state;
    if (!m)
        return;
    for (int32_t f = 0; m->names && f < m->F; f++)
        free(m->names[f]);
    free(m->names);
    free(m->w), free(m->mean), free(m->std), free(m->inv);
    vfr_lstm_cuda_destroy(m->gpu);
    pthread_mutex_destroy(&m->gpu_lock);
    free(m);
}

static vfr_status alloc_model(const lstm_params *p, vfr_objective obj, int32_t F, const char *const *names,
                              lstm_model **out)
{
    *out = NULL;
    if (F < 1)
        return vfr_fail(VFR_ERR_INVALID_ARG, "lstm: the model needs at least one feature");
    lstm_model *m = calloc(1, sizeof *m);
    if (!m)
        return vfr_fail(VFR_ERR_NOMEM, "lstm: out of memory");
    pthread_mutex_init(&m->gpu_lock, NULL);
    m->p = *p;
    m->objective = obj;
    m->F = F;
    m->spec.F = F;
    m->spec.L = p->lookback;
    m->spec.layers = p->layers;
    memcpy(m->spec.H, p->units, sizeof m->spec.H);
    m->spec.head = obj == VFR_OBJECTIVE_DIRECTION ? VFR_LSTM_HEAD_LOGISTIC : VFR_LSTM_HEAD_LINEAR;
    vfr_status st = vfr_lstm_spec_check(&m->spec);
    if (st != VFR_OK) {
        destroy(m);
        return st;
    }
    m->P = vfr_lstm_param_count(&m->spec);
    m->names = calloc((size_t)F, sizeof *m->names);
    m->w = calloc((size_t)m->P, sizeof *m->w);
    m->mean = calloc((size_t)F, sizeof *m->mean);
    m->std = calloc((size_t)F, sizeof *m->std);
    m->inv = calloc((size_t)F, sizeof *m->inv);
    int bad = !m->names || !m->w || !m->mean || !m->std || !m->inv;
    for (int32_t f = 0; !bad && f < F; f++) {
        char buf[32];
        snprintf(buf, sizeof buf, "f%d", f);
        bad = !(m->names[f] = vfri_strdup(names && names[f] ? names[f] : buf));
    }
    if (bad) {
        destroy(m);
        return vfr_fail(VFR_ERR_NOMEM, "lstm: out of memory");
    }
    *out = m;
    return VFR_OK;
}

static vfr_status check_device(vfr_device_kind dev)
{
    if (dev != VFR_DEVICE_CUDA)
        return VFR_OK;
#if !defined(VFR_HAVE_CUDA) || !defined(VFR_HAVE_CUDNN)
    return vfr_fail(VFR_ERR_NO_DEVICE, "lstm: device cuda needs a vfr built with CUDA and cuDNN");
#else
    if (vfr_device_count() == 0)
        return vfr_fail(VFR_ERR_NO_DEVICE, "lstm: device cuda asked for, but no CUDA device was found");
    return VFR_OK;
#endif
}

static vfr_status create(const vfr_model_config *cfg, void **state)
{
    *state = NULL;
    lstm_params p;
    vfr_status st = parse_params(cfg->params_json, &p);
    if (st != VFR_OK)
        return st;
    if ((st = check_device(cfg->device)) != VFR_OK)
        return st;
    lstm_model *m;
    if ((st = alloc_model(&p, cfg->objective, cfg->F, cfg->feature_names, &m)) != VFR_OK)
        return st;
    m->device = cfg->device == VFR_DEVICE_CUDA ? VFR_DEVICE_CUDA : VFR_DEVICE_CPU;
    m->seed = cfg->seed;
    if (cfg->reporter)
        m->rep = *cfg->reporter;
    *state = m;
    return VFR_OK;
}

/* ---- sequences ------------------------------------------------------------------ */

/* The sequences of a view: for each usable row (full history; a finite label
 * when labels are needed), the panel row of its last step and its position
 * in the view. lo: the first panel row any window reads. */
typedef struct seqset {
    int64_t n;
    int64_t *row; /* [n] panel row of the last step */
    int64_t *pos; /* [n] index in the view          */
    float *y;     /* [n] labels (or NULL)           */
    int64_t lo, hi;
} seqset;

static void seqset_free(seqset *s)
{
    free(s->row), free(s->pos), free(s->y);
    memset(s, 0, sizeof *s);
}

static vfr_status need_history(const vfr_dataview *v, const char *which)
{
    if (!v->panel_X || !v->prev_row)
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "lstm needs sequence history: the %s view has none (vfr_dataview_set_history)", which);
    return VFR_OK;
}

static vfr_status collect(const vfr_dataview *v, int32_t L, int labels, seqset *s)
{
    memset(s, 0, sizeof *s);
    size_t cap = v->n > 0 ? (size_t)v->n : 1;
    s->row = malloc(sizeof *s->row * cap);
    s->pos = malloc(sizeof *s->pos * cap);
    s->y = labels ? malloc(sizeof *s->y * cap) : NULL;
    if (!s->row || !s->pos || (labels && !s->y)) {
        seqset_free(s);
        return vfr_fail(VFR_ERR_NOMEM, "lstm: out of memory");
    }
    s->lo = INT64_MAX;
    s->hi = 0;
    for (int64_t i = 0; i < v->n; i++) {
        if (labels && !isfinite(v->y[i]))
            continue;
        int64_t r = v->first_row + i, q = r;
        int32_t t = 1;
        while (t < L && (q = v->prev_row[q]) >= 0)
            t++;
        if (t < L)
            continue;
        s->row[s->n] = r;
        s->pos[s->n] = i;
        if (labels)
            s->y[s->n] = v->y[i];
        s->n++;
        s->lo = q < s->lo ? q : s->lo;
        s->hi = r + 1 > s->hi ? r + 1 : s->hi;
    }
    if (!s->n)
        s->lo = s->hi = 0;
    return VFR_OK;
}

/* x (L, B, F) time-major, standardised, non-finite -> 0. */
static void gather_cpu(const lstm_model *m, const float *panel_X, const int64_t *prev, const int64_t *rows,
                       int32_t B, float *x)
{
    const int32_t L = m->spec.L, F = m->F;
    for (int32_t b = 0; b < B; b++) {
        int64_t r = rows[b];
        for (int32_t t = L - 1; t >= 0; t--) {
            const float *src = panel_X + r * F;
            float *dst = x + ((size_t)t * B + b) * F;
            for (int32_t f = 0; f < F; f++) {
                float v = (src[f] - m->mean[f]) * m->inv[f];
                dst[f] = isfinite(v) ? v : 0.0f;
            }
            if (t > 0)
                r = prev[r];
        }
    }
}

/* Head outputs z [n] of the sequences ending at rows [n], on the CPU. */
static vfr_status scores_cpu(const lstm_model *m, const float *w, const float *panel_X, const int64_t *prev,
                             const int64_t *rows, int64_t n, float *z)
{
    vfr_lstm_cpu *ws = NULL;
    vfr_status st = vfr_lstm_cpu_create(&m->spec, EVAL_BATCH, &ws);
    float *x = st == VFR_OK ? malloc(sizeof(float) * (size_t)m->spec.L * EVAL_BATCH * m->F) : NULL;
    if (st == VFR_OK && !x)
        st = vfr_fail(VFR_ERR_NOMEM, "lstm: out of memory");
    for (int64_t off = 0; st == VFR_OK && off < n; off += EVAL_BATCH) {
        int32_t B = (int32_t)(n - off < EVAL_BATCH ? n - off : EVAL_BATCH);
        gather_cpu(m, panel_X, prev, rows + off, B, x);
        vfr_lstm_cpu_forward(ws, w, x, B, 0.0f, 0, z + off);
    }
    free(x);
    vfr_lstm_cpu_destroy(ws);
    return st;
}

static double mean_loss(vfr_lstm_head head, const float *z, const float *y, int64_t n)
{
    double sum = 0;
    for (int64_t off = 0; off < n; off += 1 << 20) {
        int32_t B = (int32_t)(n - off < (1 << 20) ? n - off : (1 << 20));
        sum += vfr_lstm_cpu_loss(head, z + off, y + off, B, NULL) * B;
    }
    return n ? sum / (double)n : NAN;
}

/* Training-set statistics: mean and std per feature (NaN-aware); constant or
 * empty columns get std 1, so that they standardise to 0. */
static vfr_status standardise_from(lstm_model *m, const vfr_dataview *v)
{
    int32_t F = m->F;
    int64_t *cnt = malloc(sizeof *cnt * F);
    double *mu = malloc(sizeof *mu * F), *sd = malloc(sizeof *sd * F);
    if (!cnt || !mu || !sd) {
        free(cnt), free(mu), free(sd);
        return vfr_fail(VFR_ERR_NOMEM, "lstm: out of memory");
    }
    vfr_colstats cs = {cnt, mu, sd};
    vfr_colstats_cpu(v->X, v->n, F, &cs);
    for (int32_t f = 0; f < F; f++) {
        m->mean[f] = cnt[f] && isfinite(mu[f]) ? (float)mu[f] : 0.0f;
        m->std[f] = cnt[f] && isfinite(sd[f]) && sd[f] > 0 ? (float)sd[f] : 1.0f;
        m->inv[f] = 1.0f / m->std[f];
    }
    free(cnt), free(mu), free(sd);
    return VFR_OK;
}

/* ---- training ------------------------------------------------------------------- */

typedef struct loop {
    int32_t epochs, patience;
    const vfr_fit_options *opt;
    float *best;     /* [P] best weights (CPU path)    */
    int32_t best_epoch, epochs_run;
    double best_val, train_at_best;
} loop;

static uint64_t batch_key(uint64_t seed, int64_t step)
{
    return vfri_lstm_mix64(seed ^ 0x44524f504f555400ull) + (uint64_t)step; /* "DROPOUT" */
}

/* Fisher-Yates over [0, n) with a generator seeded by (seed, epoch). */
static void shuffle(int64_t *order, int64_t n, uint64_t seed, int32_t epoch)
{
    uint64_t s = vfri_lstm_mix64(seed ^ 0x53485546464c4500ull) + 0x9E3779B97F4A7C15ull * (uint64_t)(epoch + 1);
    for (int64_t i = 0; i < n; i++)
        order[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        s += 0x9E3779B97F4A7C15ull;
        int64_t j = (int64_t)(vfri_lstm_mix64(s) % (uint64_t)(i + 1));
        int64_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

/* After an epoch: 1 when training should stop (patience used up). */
static int epoch_done(lstm_model *m, loop *lp, int32_t epoch, double train_loss, double val_loss,
                      int has_val, int *improved)
{
    lp->epochs_run = epoch + 1;
    *improved = !has_val || (isfinite(val_loss) && (lp->best_epoch < 0 || val_loss < lp->best_val));
    if (*improved) {
        lp->best_epoch = epoch;
        lp->best_val = has_val ? val_loss : NAN;
        lp->train_at_best = train_loss;
    }
    vfr_report_progress(&m->rep, "lstm", epoch + 1, lp->epochs);
    vfr_report_log(&m->rep, VFR_LOG_DEBUG, "lstm epoch %d: train %s %.6f, validation %.6f%s", epoch + 1,
                   m->spec.head == VFR_LSTM_HEAD_LOGISTIC ? "logloss" : "mse", train_loss, val_loss,
                   *improved ? " (best)" : "");
    return has_val && lp->patience > 0 && epoch - lp->best_epoch >= lp->patience;
}

static vfr_status fit_cpu(lstm_model *m, const vfr_dataview *train, const vfr_dataview *val,
                          const seqset *tr, const seqset *va, loop *lp)
{
    vfr_status st = VFR_OK;
    const int64_t P = m->P;
    const int32_t bs = m->p.batch_size < tr->n ? m->p.batch_size : (int32_t)tr->n;
    const int has_val = va->n > 0;
    vfr_lstm_cpu *ws = NULL;
    float *g = malloc(sizeof(float) * P), *mo = calloc((size_t)P, sizeof(float));
    float *ve = calloc((size_t)P, sizeof(float));
    float *x = malloc(sizeof(float) * (size_t)m->spec.L * bs * m->F);
    float *yb = malloc(sizeof(float) * bs), *z = malloc(sizeof(float) * bs), *dz = malloc(sizeof(float) * bs);
    int64_t *order = malloc(sizeof(int64_t) * tr->n), *rows = malloc(sizeof(int64_t) * bs);
    float *zv = has_val ? malloc(sizeof(float) * va->n) : NULL;
    if (!g || !mo || !ve || !x || !yb || !z || !dz || !order || !rows || (has_val && !zv)) {
        st = vfr_fail(VFR_ERR_NOMEM, "lstm: out of memory");
        goto fail;
    }
    VFR_TRY(vfr_lstm_cpu_create(&m->spec, bs, &ws));
    int64_t step = 0;
    for (int32_t epoch = 0; epoch < lp->epochs; epoch++) {
        if (lp->opt->stop && *lp->opt->stop) {
            st = vfr_fail(VFR_ERR_INTERRUPTED, "lstm: stopped after %d epochs", epoch);
            goto fail;
        }
        shuffle(order, tr->n, m->seed, epoch);
        double sum = 0;
        for (int64_t off = 0; off < tr->n; off += bs) {
            int32_t B = (int32_t)(tr->n - off < bs ? tr->n - off : bs);
            for (int32_t b = 0; b < B; b++) {
                rows[b] = tr->row[order[off + b]];
                yb[b] = tr->y[order[off + b]];
            }
            gather_cpu(m, train->panel_X, train->prev_row, rows, B, x);
            step++;
            vfr_lstm_cpu_forward(ws, m->w, x, B, (float)m->p.dropout, batch_key(m->seed, step), z);
            sum += vfr_lstm_cpu_loss(m->spec.head, z, yb, B, dz) * B;
            vfr_lstm_cpu_backward(ws, m->w, dz, g);
            vfr_lstm_clip(g, P, m->p.clip_norm);
            vfr_lstm_adam(m->w, g, mo, ve, P, step, m->p.learning_rate);
        }
        double val_loss = NAN;
        if (has_val) {
            VFR_TRY(scores_cpu(m, m->w, val->panel_X, val->prev_row, va->row, va->n, zv));
            val_loss = mean_loss(m->spec.head, zv, va->y, va->n);
        }
        int improved;
        int stop = epoch_done(m, lp, epoch, sum / (double)tr->n, val_loss, has_val, &improved);
        if (improved)
            memcpy(lp->best, m->w, sizeof(float) * P);
        if (stop)
            break;
    }
fail:
    if (lp->best_epoch >= 0)
        memcpy(m->w, lp->best, sizeof(float) * P);
    vfr_lstm_cpu_destroy(ws);
    free(g), free(mo), free(ve), free(x), free(yb), free(z), free(dz), free(order), free(rows), free(zv);
    return st;
}

/* The device context, made on first use (caller holds gpu_lock). */
static vfr_status gpu_ready(lstm_model *m)
{
    if (m->gpu)
        return VFR_OK;
    int32_t mb = m->p.batch_size > EVAL_BATCH ? m->p.batch_size : EVAL_BATCH;
    m->gpu_has_w = 0;
    return vfr_lstm_cuda_create(&m->spec, mb, m->p.math, &m->gpu);
}

/* Stages panel rows [lo, hi) of a view's history on the device. */
static vfr_status gpu_stage(lstm_model *m, const vfr_dataview *v, int64_t lo, int64_t hi)
{
    if (hi - lo >= INT32_MAX)
        return vfr_fail(VFR_ERR_INVALID_ARG, "lstm: %lld panel rows are more than the GPU path indexes",
                        (long long)(hi - lo));
    int32_t n = (int32_t)(hi - lo);
    int32_t *prev = malloc(sizeof(int32_t) * (n ? (size_t)n : 1));
    if (!prev)
        return vfr_fail(VFR_ERR_NOMEM, "lstm: out of memory");
    for (int32_t i = 0; i < n; i++) {
        int64_t p = v->prev_row[lo + i];
        prev[i] = p >= lo && p < hi ? (int32_t)(p - lo) : -1;
    }
    vfr_status st = vfr_lstm_cuda_stage(m->gpu, v->panel_X + lo * m->F, n, prev, m->mean, m->inv);
    free(prev);
    return st;
}

/* Rows of a seqset relative to the staged range, in `order` (NULL: as is). */
static vfr_status gpu_rows(lstm_model *m, int slot, const seqset *s, int64_t lo, const int64_t *order,
                           int32_t *rel, float *y)
{
    for (int64_t i = 0; i < s->n; i++) {
        int64_t k = order ? order[i] : i;
        rel[i] = (int32_t)(s->row[k] - lo);
        if (y)
            y[i] = s->y[k];
    }
    return vfr_lstm_cuda_rows(m->gpu, slot, rel, y, s->n);
}

static vfr_status fit_cuda(lstm_model *m, const vfr_dataview *train, const vfr_dataview *val,
                           const seqset *tr, const seqset *va, loop *lp)
{
    vfr_status st = VFR_OK;
    const int32_t bs = m->p.batch_size;
    const int has_val = va->n > 0;
    /* history of train and validation must be one panel to be staged as one range */
    if (has_val && val->panel_X != train->panel_X)
        return vfr_fail(VFR_ERR_INVALID_ARG, "lstm: the training and validation views have different panels");
    int64_t lo = tr->lo, hi = tr->hi;
    if (has_val) {
        lo = va->lo < lo ? va->lo : lo;
        hi = va->hi > hi ? va->hi : hi;
    }
    int64_t nmax = tr->n > va->n ? tr->n : va->n;
    int32_t *rel = malloc(sizeof(int32_t) * nmax);
    float *y = malloc(sizeof(float) * nmax);
    int64_t *order = malloc(sizeof(int64_t) * tr->n);
    pthread_mutex_lock(&m->gpu_lock);
    if (!rel || !y || !order) {
        st = vfr_fail(VFR_ERR_NOMEM, "lstm: out of memory");
        goto fail;
    }
    VFR_TRY(gpu_ready(m));
    VFR_TRY(gpu_stage(m, train, lo, hi));
    VFR_TRY(vfr_lstm_cuda_set_params(m->gpu, m->w));
    m->gpu_has_w = 1;
    if (has_val)
        VFR_TRY(gpu_rows(m, VFR_LSTM_SLOT_EVAL, va, lo, NULL, rel, y));
    double sum;
    VFR_TRY(vfr_lstm_cuda_loss_take(m->gpu, &sum)); /* zero the accumulator */
    int64_t step = 0;
    for (int32_t epoch = 0; epoch < lp->epochs; epoch++) {
        if (lp->opt->stop && *lp->opt->stop) {
            st = vfr_fail(VFR_ERR_INTERRUPTED, "lstm: stopped after %d epochs", epoch);
            goto fail;
        }
        shuffle(order, tr->n, m->seed, epoch);
        VFR_TRY(gpu_rows(m, VFR_LSTM_SLOT_TRAIN, tr, lo, order, rel, y));
        for (int64_t off = 0; off < tr->n; off += bs) {
            int32_t B = (int32_t)(tr->n - off < bs ? tr->n - off : bs);
            step++;
            VFR_TRY(vfr_lstm_cuda_gather(m->gpu, VFR_LSTM_SLOT_TRAIN, off, B));
            VFR_TRY(vfr_lstm_cuda_forward(m->gpu, B, 1, (float)m->p.dropout, batch_key(m->seed, step)));
            VFR_TRY(vfr_lstm_cuda_loss(m->gpu, B, 1));
            VFR_TRY(vfr_lstm_cuda_update(m->gpu, m->p.learning_rate, m->p.clip_norm));
        }
        double train_sum, val_sum = NAN;
        VFR_TRY(vfr_lstm_cuda_loss_take(m->gpu, &train_sum));
        if (has_val) {
            for (int64_t off = 0; off < va->n; off += EVAL_BATCH) {
                int32_t B = (int32_t)(va->n - off < EVAL_BATCH ? va->n - off : EVAL_BATCH);
                VFR_TRY(vfr_lstm_cuda_gather(m->gpu, VFR_LSTM_SLOT_EVAL, off, B));
                VFR_TRY(vfr_lstm_cuda_forward(m->gpu, B, 0, 0.0f, 0));
                VFR_TRY(vfr_lstm_cuda_loss(m->gpu, B, 0));
            }
            VFR_TRY(vfr_lstm_cuda_loss_take(m->gpu, &val_sum));
        }
        int improved;
        int stop = epoch_done(m, lp, epoch, train_sum / (double)tr->n, has_val ? val_sum / (double)va->n : NAN,
                              has_val, &improved);
        if (improved)
            VFR_TRY(vfr_lstm_cuda_snapshot(m->gpu, 0));
        if (stop)
            break;
    }
fail:
    if (m->gpu && lp->best_epoch >= 0) {
        vfr_status s2 = vfr_lstm_cuda_snapshot(m->gpu, 1);
        if (s2 == VFR_OK)
            s2 = vfr_lstm_cuda_get_params(m->gpu, m->w);
        if (st == VFR_OK)
            st = s2;
    }
    if (st != VFR_OK && st != VFR_ERR_INTERRUPTED)
        m->gpu_has_w = 0;
    pthread_mutex_unlock(&m->gpu_lock);
    free(rel), free(y), free(order);
    return st;
}

static vfr_status fit(void *state, vfr_dataview *train, vfr_dataview *val, const vfr_fit_options *opt,
                      vfr_fit_result *res)
{
    lstm_model *m = state;
    vfr_status st = VFR_OK;
    seqset tr = {0}, va = {0};
    loop lp = {0};
    VFR_TRY(need_history(train, "training"));
    if (val)
        VFR_TRY(need_history(val, "validation"));
    if (train->F != m->F || (val && val->F != m->F)) {
        st = vfr_fail(VFR_ERR_INVALID_ARG, "lstm: the views have %d features, the model %d", train->F, m->F);
        goto fail;
    }
    VFR_TRY(standardise_from(m, train));
    VFR_TRY(collect(train, m->spec.L, 1, &tr));
    if (tr.n == 0) {
        st = vfr_fail(VFR_ERR_INVALID_ARG,
                      "lstm: none of the %lld training rows has %d rows of its symbol's history "
                      "(hyperparameters.lookback) and a label",
                      (long long)train->n, m->spec.L);
        goto fail;
    }
    if (val)
        VFR_TRY(collect(val, m->spec.L, 1, &va));
    lp.epochs = opt->max_rounds > 0 ? opt->max_rounds : m->p.epochs;
    lp.patience = opt->early_stopping_rounds > 0 ? opt->early_stopping_rounds : m->p.patience;
    lp.opt = opt;
    lp.best_epoch = -1;
    lp.best_val = NAN;
    if (!(lp.best = malloc(sizeof(float) * m->P))) {
        st = vfr_fail(VFR_ERR_NOMEM, "lstm: out of memory");
        goto fail;
    }
    vfr_lstm_init(&m->spec, m->seed, m->w);
    m->trained = 0;
    vfr_report_log(&m->rep, VFR_LOG_INFO,
                   "lstm: %lld training sequences (%lld rows without %d rows of history skipped), %lld validation, "
                   "%lld parameters, on %s",
                   (long long)tr.n, (long long)(train->n - tr.n), m->spec.L, (long long)va.n, (long long)m->P,
                   m->device == VFR_DEVICE_CUDA ? "cuda (cuDNN)" : "cpu");
    /* the GEMMs of a batch are small: OpenBLAS's threads cost more than they
     * give (docs/lstm.md), and threaded calls from concurrent trials collide */
    if (m->device != VFR_DEVICE_CUDA && openblas_get_num_threads() > 1)
        vfr_report_log(&m->rep, VFR_LOG_INFO,
                       "lstm: OpenBLAS runs %d threads; OPENBLAS_NUM_THREADS=1 trains LSTMs faster on the CPU",
                       openblas_get_num_threads());
    st = m->device == VFR_DEVICE_CUDA ? fit_cuda(m, train, val, &tr, &va, &lp) : fit_cpu(m, train, val, &tr, &va, &lp);
    if (lp.best_epoch >= 0 && (st == VFR_OK || st == VFR_ERR_INTERRUPTED)) {
        m->trained = 1;
        m->rounds = lp.epochs_run;
        m->best_round = lp.best_epoch;
        res->rounds = lp.epochs_run;
        res->best_round = lp.best_epoch;
        res->best_val_loss = lp.best_val;
        res->train_loss = lp.train_at_best;
        res->loss_name = m->spec.head == VFR_LSTM_HEAD_LOGISTIC ? "logloss" : "mse";
    }
fail:
    seqset_free(&tr);
    seqset_free(&va);
    free(lp.best);
    return st;
}

/* ---- prediction -------------------------------------------------------------------- */

static vfr_status scores_cuda(lstm_model *m, const vfr_dataview *v, const seqset *s, float *z)
{
    vfr_status st = VFR_OK;
    int32_t *rel = malloc(sizeof(int32_t) * (s->n ? (size_t)s->n : 1));
    pthread_mutex_lock(&m->gpu_lock);
    if (!rel) {
        st = vfr_fail(VFR_ERR_NOMEM, "lstm: out of memory");
        goto fail;
    }
    VFR_TRY(gpu_ready(m));
    if (!m->gpu_has_w) {
        VFR_TRY(vfr_lstm_cuda_set_params(m->gpu, m->w));
        m->gpu_has_w = 1;
    }
    VFR_TRY(gpu_stage(m, v, s->lo, s->hi));
    VFR_TRY(gpu_rows(m, VFR_LSTM_SLOT_EVAL, s, s->lo, NULL, rel, NULL));
    for (int64_t off = 0; off < s->n; off += EVAL_BATCH) {
        int32_t B = (int32_t)(s->n - off < EVAL_BATCH ? s->n - off : EVAL_BATCH);
        VFR_TRY(vfr_lstm_cuda_gather(m->gpu, VFR_LSTM_SLOT_EVAL, off, B));
        VFR_TRY(vfr_lstm_cuda_forward(m->gpu, B, 0, 0.0f, 0));
        VFR_TRY(vfr_lstm_cuda_read_z(m->gpu, B, z + off));
    }
fail:
    pthread_mutex_unlock(&m->gpu_lock);
    free(rel);
    return st;
}

static vfr_status predict(void *state, vfr_dataview *v, float *out)
{
    lstm_model *m = state;
    vfr_status st = VFR_OK;
    seqset s = {0};
    float *z = NULL;
    if (!m->trained)
        return vfr_fail(VFR_ERR_INVALID_ARG, "lstm predict: the model is not trained");
    VFR_TRY(need_history(v, "prediction"));
    if (v->F != m->F) {
        st = vfr_fail(VFR_ERR_INVALID_ARG, "lstm predict: the view has %d features, the model %d", v->F, m->F);
        goto fail;
    }
    VFR_TRY(collect(v, m->spec.L, 0, &s));
    if (!(z = malloc(sizeof(float) * (s.n ? (size_t)s.n : 1)))) {
        st = vfr_fail(VFR_ERR_NOMEM, "lstm: out of memory");
        goto fail;
    }
    if (s.n) {
        if (m->device == VFR_DEVICE_CUDA)
            VFR_TRY(scores_cuda(m, v, &s, z));
        else
            VFR_TRY(scores_cpu(m, m->w, v->panel_X, v->prev_row, s.row, s.n, z));
    }
    for (int64_t i = 0; i < v->n; i++)
        out[i] = NAN;
    for (int64_t i = 0; i < s.n; i++)
        out[s.pos[i]] = m->spec.head == VFR_LSTM_HEAD_LOGISTIC ? 1.0f / (1.0f + expf(-z[i])) : z[i];
fail:
    seqset_free(&s);
    free(z);
    return st;
}

/* ---- the artifact ---------------------------------------------------------------- */

static herr_t attr_write(hid_t obj, const char *name, hid_t ftype, hid_t mtype, hsize_t n, const void *v)
{
    hid_t sp = n ? H5Screate_simple(1, &n, NULL) : H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, mtype, v);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return rc;
}

static herr_t attr_string(hid_t obj, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(value) + 1);
    H5Tset_cset(t, H5T_CSET_UTF8);
    herr_t rc = attr_write(obj, name, t, t, 0, value);
    H5Tclose(t);
    return rc;
}

static herr_t dset_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank, const hsize_t *dims,
                         const void *data)
{
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(dcpl, 0);
    hid_t d = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    herr_t rc = d < 0 ? -1 : H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (d >= 0)
        H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(sp);
    return rc;
}

static hid_t group_create(hid_t loc, const char *name)
{
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_obj_track_times(gcpl, 0);
    hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    return g;
}

/* Fixed-length UTF-8 strings, as the dataset format stores its names. */
static herr_t dset_strings(hid_t loc, const char *name, char *const *v, int32_t n)
{
    size_t w = 1, nn = n > 0 ? (size_t)n : 1;
    for (int32_t i = 0; i < n; i++)
        w = strlen(v[i]) > w ? strlen(v[i]) : w;
    char *buf = calloc(nn * w, 1);
    if (!buf)
        return -1;
    for (int32_t i = 0; i < n; i++)
        memcpy(buf + (size_t)i * w, v[i], strlen(v[i]));
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, w);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hsize_t d = (hsize_t)n;
    herr_t rc = dset_write(loc, name, t, t, 1, &d, buf);
    H5Tclose(t);
    free(buf);
    return rc;
}

static herr_t write_all(const lstm_model *m, hid_t f)
{
    herr_t rc = 0;
    const int32_t version = FORMAT_VERSION, F = m->F, rounds[2] = {m->rounds, m->best_round};
    cJSON *pj = params_json(&m->p);
    char *cfg = pj ? cJSON_PrintUnformatted(pj) : NULL;
    cJSON_Delete(pj);
    rc |= cfg ? 0 : -1;
    rc |= attr_string(f, "format", "vfr-lstm");
    rc |= attr_write(f, "format_version", H5T_STD_I32LE, H5T_NATIVE_INT32, 0, &version);
    rc |= cfg ? attr_string(f, "config", cfg) : -1;
    free(cfg);
    rc |= attr_string(f, "objective", m->objective == VFR_OBJECTIVE_DIRECTION ? "direction" : "return");
    rc |= attr_string(f, "head", m->spec.head == VFR_LSTM_HEAD_LOGISTIC ? "sigmoid" : "linear");
    rc |= attr_write(f, "features", H5T_STD_I32LE, H5T_NATIVE_INT32, 0, &F);
    rc |= attr_write(f, "lookback", H5T_STD_I32LE, H5T_NATIVE_INT32, 0, &m->spec.L);
    rc |= attr_write(f, "units", H5T_STD_I32LE, H5T_NATIVE_INT32, (hsize_t)m->spec.layers, m->spec.H);
    rc |= attr_write(f, "epochs_run_best", H5T_STD_I32LE, H5T_NATIVE_INT32, 2, rounds);
    rc |= attr_write(f, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, 0, &m->seed);
    hid_t g = group_create(f, "weights");
    rc |= g < 0 ? -1 : 0;
    int32_t nt = vfr_lstm_tensor_count(&m->spec);
    vfr_lstm_tensor t[4 * VFR_LSTM_MAX_LAYERS + 2];
    vfr_lstm_tensors(&m->spec, t);
    for (int32_t i = 0; g >= 0 && i < nt; i++) {
        hsize_t d[2] = {(hsize_t)t[i].dims[0], (hsize_t)t[i].dims[1]};
        rc |= dset_write(g, t[i].name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, t[i].rank, d, m->w + t[i].offset);
    }
    if (g >= 0)
        H5Gclose(g);
    g = group_create(f, "standardize");
    rc |= g < 0 ? -1 : 0;
    hsize_t dF = (hsize_t)F;
    if (g >= 0) {
        rc |= dset_write(g, "mean", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &dF, m->mean);
        rc |= dset_write(g, "std", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &dF, m->std);
        H5Gclose(g);
    }
    rc |= dset_strings(f, "feature_names", m->names, F);
    return rc < 0 ? -1 : 0;
}

static vfr_status save(void *state, const char *path)
{
    lstm_model *m = state;
    if (!m->trained)
        return vfr_fail(VFR_ERR_INVALID_ARG, "lstm save: the model is not trained");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp)
        return vfr_fail(VFR_ERR_NOMEM, "lstm: out of memory");
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    vfr_status st = VFR_OK;
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_obj_track_times(fcpl, 0);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    H5Pclose(fcpl);
    if (f < 0) {
        st = vfr_fail(VFR_ERR_IO, "%s: cannot create '%s'", path, tmp);
        free(tmp);
        return st;
    }
    int bad = write_all(m, f) < 0;
    bad |= H5Fclose(f) < 0;
    if (!bad) { /* on disk before the rename, so that a crash never leaves half a file */
        FILE *fp = fopen(tmp, "rb");
        bad = !fp || fsync(fileno(fp)) != 0;
        if (fp)
            fclose(fp);
    }
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        st = vfr_fail(VFR_ERR_IO, "%s: writing the model failed (disk full?)", path);
    }
    free(tmp);
    return st;
}

static int attr_read(hid_t obj, const char *name, hid_t mtype, hssize_t n, void *v)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        return -1;
    hid_t sp = H5Aget_space(a);
    hssize_t have = H5Sget_simple_extent_npoints(sp);
    int rc = have == n && H5Aread(a, mtype, v) >= 0 ? 0 : -1;
    H5Sclose(sp);
    H5Aclose(a);
    return rc;
}

/* A string attribute into a malloc'd buffer (NULL when absent). */
static char *attr_string_read(hid_t obj, const char *name)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        return NULL;
    hid_t ft = H5Aget_type(a);
    char *s = NULL;
    if (H5Tget_class(ft) == H5T_STRING && !H5Tis_variable_str(ft)) {
        size_t n = H5Tget_size(ft);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, n + 1);
        H5Tset_cset(mt, H5Tget_cset(ft)); /* HDF5 converts no character sets */
        s = calloc(n + 2, 1);
        if (s && H5Aread(a, mt, s) < 0) {
            free(s);
            s = NULL;
        }
        H5Tclose(mt);
    }
    H5Tclose(ft);
    H5Aclose(a);
    return s;
}

static int dset_read(hid_t loc, const char *name, hid_t mtype, int rank, const hsize_t *dims, void *out)
{
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0)
        return -1;
    hid_t sp = H5Dget_space(d);
    hsize_t have[2] = {0, 0};
    int ok = H5Sget_simple_extent_ndims(sp) == rank && H5Sget_simple_extent_dims(sp, have, NULL) == rank &&
             have[0] == dims[0] && (rank < 2 || have[1] == dims[1]);
    ok = ok && H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0;
    H5Sclose(sp);
    H5Dclose(d);
    return ok ? 0 : -1;
}

static vfr_status read_names(hid_t f, int32_t F, char ***out)
{
    *out = NULL;
    hid_t d = H5Dopen2(f, "feature_names", H5P_DEFAULT);
    if (d < 0)
        return VFR_OK; /* optional */
    hid_t ft = H5Dget_type(d);
    size_t w = H5Tget_size(ft);
    char *buf = calloc((size_t)F * w + 1, 1);
    char **names = calloc((size_t)F, sizeof *names);
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, w);
    H5Tset_strpad(mt, H5T_STR_NULLPAD);
    H5Tset_cset(mt, H5Tget_cset(ft));
    int ok = buf && names && H5Tget_class(ft) == H5T_STRING && !H5Tis_variable_str(ft) &&
             H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
    for (int32_t i = 0; ok && i < F; i++) {
        names[i] = calloc(w + 1, 1);
        ok = names[i] != NULL;
        if (ok)
            memcpy(names[i], buf + (size_t)i * w, w);
    }
    H5Tclose(mt);
    H5Tclose(ft);
    H5Dclose(d);
    free(buf);
    if (!ok) {
        for (int32_t i = 0; names && i < F; i++)
            free(names[i]);
        free(names);
        return VFR_OK; /* unreadable names: f0, f1, ... */
    }
    *out = names;
    return VFR_OK;
}

static vfr_status load(const vfr_model_config *cfg, const char *path, void **state)
{
    *state = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (access(path, R_OK) != 0)
        return vfr_fail(VFR_ERR_NOT_FOUND, "%s: cannot read the model", path);
    hid_t f = H5Fis_hdf5(path) > 0 ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
    if (f < 0)
        return vfr_fail(VFR_ERR_FORMAT, "%s: not an HDF5 file", path);
    vfr_status st = VFR_OK;
    lstm_model *m = NULL;
    char **names = NULL;
    int32_t F = 0, version = 0, rounds[2] = {0, 0};
    char *fmt = attr_string_read(f, "format"), *cfgjs = attr_string_read(f, "config");
    char *obj = attr_string_read(f, "objective");
    if (!fmt || strcmp(fmt, "vfr-lstm") != 0 || attr_read(f, "format_version", H5T_NATIVE_INT32, 1, &version) ||
        !cfgjs || !obj || attr_read(f, "features", H5T_NATIVE_INT32, 1, &F) || F < 1) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: not a vfr LSTM model", path);
        goto fail;
    }
    if (version != FORMAT_VERSION) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: LSTM model format version %d, this vfr reads %d", path, version,
                      FORMAT_VERSION);
        goto fail;
    }
    if (cfg->F && cfg->F != F) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: %d features, expected %d", path, F, cfg->F);
        goto fail;
    }
    vfr_objective objective = strcmp(obj, "direction") == 0 ? VFR_OBJECTIVE_DIRECTION : VFR_OBJECTIVE_RETURN;
    if (objective != cfg->objective) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: the model predicts %s, the job asks for the other objective", path, obj);
        goto fail;
    }
    lstm_params p;
    if (parse_params(cfgjs, &p) != VFR_OK) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: bad LSTM config: %s", path, vfr_last_error());
        goto fail;
    }
    VFR_TRY(check_device(cfg->device));
    VFR_TRY(read_names(f, F, &names));
    VFR_TRY(alloc_model(&p, objective, F, (const char *const *)names, &m));
    m->device = cfg->device == VFR_DEVICE_CUDA ? VFR_DEVICE_CUDA : VFR_DEVICE_CPU;
    if (cfg->reporter)
        m->rep = *cfg->reporter;
    int32_t nt = vfr_lstm_tensor_count(&m->spec);
    vfr_lstm_tensor t[4 * VFR_LSTM_MAX_LAYERS + 2];
    vfr_lstm_tensors(&m->spec, t);
    hid_t g = H5Gopen2(f, "weights", H5P_DEFAULT);
    int bad = g < 0;
    for (int32_t i = 0; !bad && i < nt; i++) {
        hsize_t d[2] = {(hsize_t)t[i].dims[0], (hsize_t)t[i].dims[1]};
        bad = dset_read(g, t[i].name, H5T_NATIVE_FLOAT, t[i].rank, d, m->w + t[i].offset) != 0;
        if (bad)
            st = vfr_fail(VFR_ERR_FORMAT, "%s: weights/%s is missing or not (%lld, %lld)", path, t[i].name,
                          (long long)t[i].dims[0], (long long)t[i].dims[1]);
    }
    if (g >= 0)
        H5Gclose(g);
    if (bad)
        goto fail;
    hsize_t dF = (hsize_t)F;
    g = H5Gopen2(f, "standardize", H5P_DEFAULT);
    bad = g < 0 || dset_read(g, "mean", H5T_NATIVE_FLOAT, 1, &dF, m->mean) ||
          dset_read(g, "std", H5T_NATIVE_FLOAT, 1, &dF, m->std);
    if (g >= 0)
        H5Gclose(g);
    for (int32_t i = 0; !bad && i < F; i++) {
        bad = !(m->std[i] > 0) || !isfinite(m->mean[i]);
        m->inv[i] = 1.0f / m->std[i];
    }
    if (bad) {
        st = vfr_fail(VFR_ERR_FORMAT, "%s: standardize/mean and std are missing or invalid", path);
        goto fail;
    }
    if (attr_read(f, "epochs_run_best", H5T_NATIVE_INT32, 2, rounds) == 0) {
        m->rounds = rounds[0];
        m->best_round = rounds[1];
    }
    attr_read(f, "seed", H5T_NATIVE_UINT64, 1, &m->seed);
    m->trained = 1;
    *state = m;
    m = NULL;
fail:
    destroy(m);
    for (int32_t i = 0; names && i < F; i++)
        free(names[i]);
    free(names);
    free(fmt), free(cfgjs), free(obj);
    H5Fclose(f);
    return st;
}

/* ---- importance, describe ---------------------------------------------------------- */

/* Mean |weight_ih_l0| over the 4H rows of each input column: how strongly the
 * first layer's gates read a (standardised) feature. A cheap proxy, not a
 * permutation importance. */
static vfr_status importance(void *state, double *imp)
{
    lstm_model *m = state;
    if (!m->trained)
        return vfr_fail(VFR_ERR_INVALID_ARG, "lstm importance: the model is not trained");
    int32_t G4 = 4 * m->spec.H[0], F = m->F;
    for (int32_t f = 0; f < F; f++) {
        double s = 0;
        for (int32_t r = 0; r < G4; r++)
            s += fabs((double)m->w[(size_t)r * F + f]);
        imp[f] = s / G4;
    }
    return VFR_OK;
}

static char *describe(void *state)
{
    lstm_model *m = state;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "type", "lstm");
    cJSON_AddStringToObject(o, "objective", m->objective == VFR_OBJECTIVE_DIRECTION ? "direction" : "return");
    cJSON_AddStringToObject(o, "head", m->spec.head == VFR_LSTM_HEAD_LOGISTIC ? "sigmoid + BCE" : "linear + MSE");
    cJSON_AddStringToObject(o, "device", m->device == VFR_DEVICE_CUDA ? "cuda" : "cpu");
    cJSON_AddItemToObject(o, "hyperparameters", params_json(&m->p));
    cJSON_AddNumberToObject(o, "features", m->F);
    cJSON_AddNumberToObject(o, "parameters", (double)m->P);
    cJSON_AddNumberToObject(o, "epochs_run", m->rounds);
    cJSON_AddNumberToObject(o, "best_epoch", m->best_round);
    char lib[128];
    if (m->device == VFR_DEVICE_CUDA) {
        char v[32];
        vfr_device_cudnn_version(v);
        snprintf(lib, sizeof lib, "cuDNN %s", v);
    } else {
        snprintf(lib, sizeof lib, "%s", openblas_get_config());
    }
    cJSON_AddStringToObject(o, "library", lib);
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}

const vfr_model_ops vfr_model_lstm_ops = {
    .type = "lstm",
    .artifact = "model.h5",
    .create = create,
    .fit = fit,
    .predict = predict,
    .save = save,
    .load = load,
    .importance = importance,
    .describe = describe,
    .destroy = destroy,
};
