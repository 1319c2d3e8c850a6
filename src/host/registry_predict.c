/* registry_predict.c: loading a registered version (through the hot-model
 * cache, with the artifact's SHA-256 checked on every cold load) and scoring
 * dataset rows with it: `vfr predict`. Under an A/B test each symbol goes to
 * the champion or the challenger by vfr_registry_route_bucket, so a symbol
 * always gets the same model. The output is a predictions file (M = 1) plus
 * /version_index and /versions naming the version that scored each row. */
#include <cjson/cJSON.h>
#include <hdf5.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics_internal.h"
#include "registry_internal.h"
#include "vfr/dataset.h"
#include "vfr/predictions.h"
#include "vfr/xsection.h"

/* The fitted feature processors a version was trained with (its lineage's
 * "processors", from the run's processors.json), or NULL when it has none. */
static vfr_status version_processors(const vfr_registry_version *v, vfr_processors **out)
{
    *out = NULL;
    cJSON *lin = v->lineage_json ? cJSON_Parse(v->lineage_json) : NULL;
    const cJSON *pj = cJSON_GetObjectItemCaseSensitive(lin, "processors");
    vfr_status st = VFR_OK;
    if (cJSON_IsObject(pj)) {
        char *text = cJSON_PrintUnformatted(pj);
        st = text ? vfr_processors_from_json(text, out) : vfr_fail(VFR_ERR_NOMEM, "predict: out of memory");
        free(text);
        if (st != VFR_OK)
            vfr_error_prefix("%s:%s: ", v->name, v->version);
    }
    cJSON_Delete(lin);
    return st;
}

typedef struct load_ctx {
    const vfr_registry *reg;
    const vfr_registry_version *v;
} load_ctx;

static vfr_status load_artifact(void *arg, vfr_model **out)
{
    const load_ctx *c = arg;
    vfr_status st = reg_verify_object(c->reg, c->v->artifact_sha256, "artifact");
    if (st == VFR_OK) {
        char path[4400];
        vfr_model_config cfg;
        vfr_registry_object_path(c->reg, c->v->artifact_sha256, path, sizeof path);
        reg_model_config(c->v, &cfg);
        st = vfr_model_load(&cfg, path, out);
    }
    if (st != VFR_OK)
        vfr_error_prefix("%s:%s: ", c->v->name, c->v->version);
    return st;
}

vfr_status vfr_registry_load_model(vfr_registry *reg, const vfr_registry_version *v, vfr_model_cache *cache,
                                   vfr_model **out)
{
    *out = NULL;
    load_ctx c = {reg, v};
    if (!cache)
        return load_artifact(&c, out);
    return vfr_model_cache_acquire(cache, v->artifact_sha256, (size_t)v->artifact_bytes, load_artifact, &c, out,
                                   NULL);
}

vfr_status vfr_registry_champion_score(vfr_registry *reg, vfr_model_cache *cache, const char *model_name,
                                       const float *X, const int64_t *prev_row, int64_t n, int32_t F,
                                       float **score, char version_out[64])
{
    *score = NULL;
    version_out[0] = '\0';
    char ref[160];
    snprintf(ref, sizeof ref, "%s@champion", model_name ? model_name : "");
    vfr_registry_version *v = NULL;
    vfr_dataview *view = NULL;
    vfr_model *m = NULL;
    float *out = NULL;
    vfr_status st = vfr_registry_get(reg, ref, &v);
    if (st != VFR_OK)
        return st;
    if (!X) { /* only asked whether there is one */
        snprintf(version_out, 64, "%s", v->version);
        vfr_registry_version_free(v);
        return VFR_OK;
    }
    if (v->F > 0 && v->F != F) {
        st = vfr_fail(VFR_ERR_INVALID_ARG, "champion %s:%s has %d features, the rows %d", v->name, v->version, v->F,
                      F);
        goto fail;
    }
    if (!(out = malloc(sizeof *out * (size_t)(n > 0 ? n : 1)))) {
        st = vfr_fail(VFR_ERR_NOMEM, "champion score: out of memory");
        goto fail;
    }
    VFR_TRY(vfr_dataview_create(X, NULL, n, F, &view));
    if (prev_row)
        vfr_dataview_set_history(view, X, 0, prev_row);
    VFR_TRY(vfr_registry_load_model(reg, v, cache, &m));
    VFR_TRY(vfr_model_predict(m, view, out));
    snprintf(version_out, 64, "%s", v->version);
    *score = out;
    out = NULL;
fail:
    vfr_model_cache_release(cache, m);
    vfr_dataview_destroy(view);
    vfr_registry_version_free(v);
    free(out);
    return st;
}

/* The versions a reference scores with: one, or champion + challenger. */
static vfr_status resolve(vfr_registry *reg, const char *ref, vfr_registry_version *ver[2], int *nv,
                          double *traffic)
{
    vfr_registry_ref r;
    int64_t mid, vid = 0, cid = 0;
    *nv = 0;
    *traffic = 0;
    vfr_status st = vfr_registry_parse_ref(ref, &r);
    if (st == VFR_OK)
        st = reg_model_id(reg, r.name, &mid);
    if (st != VFR_OK)
        return st;
    if (r.version[0] || r.alias[0]) {
        if ((st = vfr_registry_get(reg, ref, &ver[0])) == VFR_OK)
            *nv = 1;
        return st;
    }
    if ((st = reg_alias_get(reg, mid, "champion", &vid, NULL)) != VFR_OK)
        return st;
    if (!vid)
        return vfr_fail(VFR_ERR_NOT_FOUND,
                        "model '%s' has no champion: deploy one (vfr models deploy %s:VERSION --as champion) "
                        "or name a version (%s:VERSION)",
                        r.name, r.name, r.name);
    if ((st = reg_alias_get(reg, mid, "challenger", &cid, traffic)) != VFR_OK)
        return st;
    if ((st = reg_version_by_id(reg, vid, &ver[0])) != VFR_OK)
        return st;
    *nv = 1;
    if (cid) {
        if ((st = reg_version_by_id(reg, cid, &ver[1])) != VFR_OK)
            return st;
        *nv = 2;
    } else {
        *traffic = 0;
    }
    return VFR_OK;
}

/* Column of the dataset for each of the model's features; *identity when
 * they are the dataset's own columns in order. */
static vfr_status map_features(const vfr_registry_version *v, const vfr_dataset_meta *m, const char *data,
                               int32_t *col, int *identity)
{
    *identity = 1;
    if (!v->feature_names) {
        if (v->F > 0 && v->F != m->F)
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s: %d features; %s:%s was trained on %d", data, m->F, v->name,
                            v->version, v->F);
        return VFR_OK;
    }
    if (v->F != m->F)
        *identity = 0;
    for (int32_t f = 0; f < v->F; f++) {
        col[f] = -1;
        for (int32_t g = 0; g < m->F && col[f] < 0; g++)
            if (strcmp(m->feature_names[g], v->feature_names[f]) == 0)
                col[f] = g;
        if (col[f] < 0)
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s: no feature '%s', which %s:%s was trained on", data,
                            v->feature_names[f], v->name, v->version);
        if (col[f] != f)
            *identity = 0;
    }
    return VFR_OK;
}

/* Adds the version columns to the predictions file at tmp, then renames. */
static vfr_status add_versions(const char *tmp, const char *out, const char *name, const char *ref,
                               const int32_t *vidx, int64_t n, char versions[2][32], int nv, double traffic)
{
    vfri_h5_quiet();
    hid_t f = H5Fopen(tmp, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0)
        return vfr_fail(VFR_ERR_IO, "%s: cannot reopen to add the version columns", tmp);
    const char *vs[2] = {versions[0], versions[1]};
    uint64_t dims[1] = {(uint64_t)n};
    int bad = vfri_h5_write_array(f, "version_index", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, dims, vidx,
                                             n > 0 ? 4 : 0) < 0 ||
              vfri_h5_write_strings(f, "versions", vs, nv) < 0 ||
              vfri_h5_write_string_attr(f, "model", name) < 0 ||
              vfri_h5_write_string_attr(f, "model_ref", ref) < 0 ||
              vfri_h5_write_double_attr(f, "challenger_traffic", traffic) < 0;
    if (H5Fclose(f) < 0 || bad)
        return vfr_fail(VFR_ERR_IO, "%s: writing the version columns failed (disk full?)", tmp);
    FILE *fp = fopen(tmp, "rb");
    if (fp) {
        fsync(fileno(fp));
        fclose(fp);
    }
    if (rename(tmp, out) != 0)
        return vfr_fail(VFR_ERR_IO, "%s: cannot rename '%s' into place", out, tmp);
    return VFR_OK;
}

/* Scores rows [off, off + n) of the rows read (X [nread, m->F]; prev: each
 * row's previous row of its symbol, -1 if none; drow [nd + 1]: the first row
 * of each date) with version v: its features picked from the dataset's, its
 * processors applied to its own copy, its model from the cache. OUT *out [n]:
 * the scores, caller frees. */
static vfr_status score_version(vfr_registry *reg, vfr_model_cache *cache, const vfr_registry_version *v,
                                const vfr_dataset_meta *m, const char *data_path, const float *X, int64_t nread,
                                int64_t off, const int64_t *prev, const int64_t *drow, int32_t nd, float **out)
{
    vfr_status st = VFR_OK;
    int64_t n = nread - off;
    size_t F = (size_t)m->F;
    int32_t *col = NULL;
    float *Xk = NULL, *sc = NULL;
    vfr_processors *procs = NULL;
    vfr_dataview *view = NULL;
    vfr_model *model = NULL;
    int identity;
    *out = NULL;
    col = malloc(sizeof *col * (size_t)(v->F > 0 ? v->F : 1));
    if (!col) {
        st = vfr_fail(VFR_ERR_NOMEM, "predict: out of memory");
        goto fail;
    }
    VFR_TRY(map_features(v, m, data_path, col, &identity));
    int32_t Fv = identity ? m->F : v->F;
    const float *base = X;
    if (!identity) {
        Xk = malloc(sizeof *Xk * (size_t)nread * (size_t)Fv);
        if (!Xk) {
            st = vfr_fail(VFR_ERR_NOMEM, "predict: out of memory");
            goto fail;
        }
        for (int64_t i = 0; i < nread; i++)
            for (int32_t f = 0; f < Fv; f++)
                Xk[i * Fv + f] = X[(size_t)i * F + (size_t)col[f]];
        base = Xk;
    }
    VFR_TRY(version_processors(v, &procs));
    if (procs) {
        /* the version's own copy: under A/B the other may process differently */
        if (base == X) {
            if (!(Xk = malloc(sizeof *Xk * (size_t)nread * (size_t)Fv))) {
                st = vfr_fail(VFR_ERR_NOMEM, "predict: out of memory");
                goto fail;
            }
            memcpy(Xk, X, sizeof *Xk * (size_t)nread * (size_t)Fv);
        }
        st = vfr_processors_apply(procs, Xk, Fv, drow, nd);
        if (st != VFR_OK) {
            vfr_error_prefix("%s:%s: ", v->name, v->version);
            goto fail;
        }
        base = Xk;
    }
    if (!(sc = malloc(sizeof *sc * (size_t)n))) {
        st = vfr_fail(VFR_ERR_NOMEM, "predict: out of memory");
        goto fail;
    }
    VFR_TRY(vfr_dataview_create(base + off * Fv, NULL, n, Fv, &view));
    vfr_dataview_set_history(view, base, off, prev);
    VFR_TRY(vfr_registry_load_model(reg, v, cache, &model));
    VFR_TRY(vfr_model_predict(model, view, sc));
    *out = sc;
    sc = NULL;
fail:
    vfr_model_cache_release(cache, model);
    vfr_dataview_destroy(view);
    vfr_processors_free(procs);
    free(col), free(Xk), free(sc);
    return st;
}

/* The label where the dataset already knows the outcome (backfills), so that
 * `vfr evaluate` can score the file; NaN for today's rows. OUT label [r1 - r0];
 * *fwd, *fwd1: the forward returns at v's horizon and at 1 day (NULL when the
 * dataset lacks them), caller frees. */
static vfr_status read_labels(vfr_dataset *ds, const vfr_dataset_meta *m, const vfr_registry_version *v, int64_t r0,
                              int64_t r1, float *label, float **fwd_out, float **fwd1_out)
{
    vfr_status st = VFR_OK;
    int64_t n = r1 - r0;
    float *fr = NULL, *fwd = NULL, *fwd1 = NULL;
    int32_t h = vfr_dataset_horizon_index(ds, v->horizon), h1 = vfr_dataset_horizon_index(ds, 1);
    if (h >= 0) {
        fr = malloc(sizeof *fr * (size_t)n * (size_t)m->H);
        fwd = malloc(sizeof *fwd * (size_t)n);
        fwd1 = h1 >= 0 ? malloc(sizeof *fwd1 * (size_t)n) : NULL;
        if (!fr || !fwd || (h1 >= 0 && !fwd1)) {
            st = vfr_fail(VFR_ERR_NOMEM, "predict: out of memory");
            goto fail;
        }
        VFR_TRY(vfr_dataset_read_forward_returns(ds, r0, r1, fr));
    }
    for (int64_t i = 0; i < n; i++) {
        float y = NAN;
        if (h >= 0) {
            float r = fr[i * m->H + h];
            fwd[i] = r;
            if (fwd1)
                fwd1[i] = fr[i * m->H + h1];
            y = v->objective == VFR_OBJECTIVE_RETURN ? r : r > 0 ? 1.0f : r < 0 ? 0.0f : NAN;
        }
        label[i] = y;
    }
    *fwd_out = fwd;
    *fwd1_out = fwd1;
    fwd = fwd1 = NULL;
fail:
    free(fr), free(fwd), free(fwd1);
    return st;
}

vfr_status vfr_registry_predict(vfr_registry *reg, const vfr_registry_predict_options *o,
                                vfr_registry_predict_result *res)
{
    memset(res, 0, sizeof *res);
    vfr_status st = VFR_OK;
    vfr_registry_version *ver[2] = {NULL, NULL};
    vfr_dataset *ds = NULL;
    float *X = NULL, *sc[2] = {NULL, NULL}, *score = NULL, *label = NULL, *fwd = NULL, *fwd1 = NULL;
    int64_t *prev = NULL, *last = NULL, *drow = NULL;
    int32_t *vidx = NULL, *date = NULL, *sym = NULL;
    char *route = NULL, tmp[4400] = "";
    int nv = 0;
    double traffic = 0;
    if (!o || !o->ref || !o->data_path || !o->out_path)
        return vfr_fail(VFR_ERR_INVALID_ARG, "predict: a model, a dataset and an output path are required");
    VFR_TRY(resolve(reg, o->ref, ver, &nv, &traffic));
    VFR_TRY(vfr_dataset_open(o->data_path, &ds));
    const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
    if (m->N == 0) {
        st = vfr_fail(VFR_ERR_INVALID_ARG, "%s: the dataset has no rows", o->data_path);
        goto fail;
    }
    int32_t lo = o->date_lo, hi = o->date_hi;
    if (lo == INT32_MIN && hi == INT32_MIN)
        lo = hi = m->date_last;
    int64_t r0, r1;
    vfr_dataset_row_range(ds, lo, hi, &r0, &r1);
    if (r0 >= r1) {
        char a[11], b[11], c[11], d[11];
        vfr_date_format(lo == INT32_MIN ? m->date_first : lo, a);
        vfr_date_format(hi == INT32_MAX ? m->date_last : hi, b);
        vfr_date_format(m->date_first, c);
        vfr_date_format(m->date_last, d);
        st = vfr_fail(VFR_ERR_INVALID_ARG, "%s: no rows dated %s to %s (the dataset spans %s to %s)", o->data_path,
                      a, b, c, d);
        goto fail;
    }
    /* history for sequence models: whole dates before the first scored one */
    int64_t rh = r0;
    for (int32_t k = 0; k < o->lookback && rh > 0; k++) {
        int32_t d = m->date[rh - 1];
        while (rh > 0 && m->date[rh - 1] == d)
            rh--;
    }
    int64_t n = r1 - r0, nread = r1 - rh, off = r0 - rh;
    size_t F = (size_t)m->F;
    X = malloc(sizeof *X * (size_t)nread * (F ? F : 1));
    prev = malloc(sizeof *prev * (size_t)nread);
    last = malloc(sizeof *last * (size_t)(m->S ? m->S : 1));
    if (!X || !prev || !last) {
        st = vfr_fail(VFR_ERR_NOMEM, "predict: out of memory for %lld rows x %zu features", (long long)nread, F);
        goto fail;
    }
    VFR_TRY(vfr_dataset_read_features(ds, rh, r1, X));
    /* prev_row: the same symbol's previous row within the rows read (rows are
     * sorted by date then symbol, so that is its previous date) */
    for (int32_t s = 0; s < m->S; s++)
        last[s] = -1;
    for (int64_t i = 0; i < nread; i++) {
        int32_t s = m->symbol[rh + i];
        prev[i] = last[s];
        last[s] = i;
    }
    /* rows of each date read, for the per-date processors */
    int32_t nd = 0;
    if (!(drow = malloc(sizeof *drow * (size_t)(nread + 1)))) {
        st = vfr_fail(VFR_ERR_NOMEM, "predict: out of memory");
        goto fail;
    }
    for (int64_t i = 0; i < nread; i++)
        if (i == 0 || m->date[rh + i] != m->date[rh + i - 1])
            drow[nd++] = i;
    drow[nd] = nread;

    for (int k = 0; k < nv; k++) {
        VFR_TRY(score_version(reg, o->cache, ver[k], m, o->data_path, X, nread, off, prev, drow, nd, &sc[k]));
        snprintf(res->versions[k], sizeof res->versions[k], "%s", ver[k]->version);
    }

    route = calloc((size_t)(m->S ? m->S : 1), 1);
    score = malloc(sizeof *score * (size_t)n);
    label = malloc(sizeof *label * (size_t)n);
    vidx = malloc(sizeof *vidx * (size_t)n);
    date = malloc(sizeof *date * (size_t)n);
    sym = malloc(sizeof *sym * (size_t)n);
    if (!route || !score || !label || !vidx || !date || !sym) {
        st = vfr_fail(VFR_ERR_NOMEM, "predict: out of memory");
        goto fail;
    }
    for (int32_t s = 0; nv == 2 && s < m->S; s++)
        route[s] = vfr_registry_route_bucket(ver[0]->name, m->symbols[s]) < traffic;
    for (int64_t i = 0; i < n; i++) {
        date[i] = m->date[r0 + i];
        sym[i] = m->symbol[r0 + i];
        vidx[i] = route[sym[i]];
        score[i] = sc[vidx[i]][i];
        res->rows_by_version[vidx[i]]++;
    }
    VFR_TRY(read_labels(ds, m, ver[0], r0, r1, label, &fwd, &fwd1));
    vfr_predictions p = {0};
    p.N = n;
    p.M = 1;
    p.S = m->S;
    p.horizon = ver[0]->horizon > 0 ? ver[0]->horizon : 1;
    p.task = ver[0]->objective == VFR_OBJECTIVE_RETURN ? VFR_TASK_REGRESSION : VFR_TASK_CLASSIFICATION;
    p.symbols = (char **)m->symbols;
    p.date = date;
    p.symbol = sym;
    p.score = score;
    p.label = label;
    p.fwd = fwd;
    p.fwd1 = fwd1;
    snprintf(tmp, sizeof tmp, "%s.tmp-predict.%ld", o->out_path, (long)getpid());
    VFR_TRY(vfr_predictions_write(tmp, &p, 4));
    VFR_TRY(add_versions(tmp, o->out_path, ver[0]->name, o->ref, vidx, n, res->versions, nv, nv == 2 ? traffic : 0));
    tmp[0] = '\0';
    res->rows = n;
    res->n_versions = nv;
    res->traffic = nv == 2 ? traffic : 0;
    res->date_lo = m->date[r0];
    res->date_hi = m->date[r1 - 1];
fail:
    if (tmp[0])
        unlink(tmp);
    vfr_dataset_close(ds);
    vfr_registry_version_free(ver[0]);
    vfr_registry_version_free(ver[1]);
    free(drow);
    free(X), free(sc[0]), free(sc[1]), free(score), free(label), free(fwd), free(fwd1);
    free(prev), free(last), free(vidx), free(date), free(sym), free(route);
    return st;
}
