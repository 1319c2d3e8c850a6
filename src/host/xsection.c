/* xsection.c: cross-sectional labels (rank_return, excess_return) and the
 * feature processor chain (xsection.h). Plain loops with double accumulators;
 * per-date work walks each date's rows, fitted work reads the training dates
 * only (tests/test_xsection.c changes every other date and checks the fit is
 * unchanged). Not a general dataframe library: four processors. */
#include "vfr/xsection.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

vfr_label_kind vfr_xsection_label_kind(const char *target)
{
    if (target && strncmp(target, "rank_return_", 12) == 0)
        return VFR_LABEL_RANK;
    if (target && strncmp(target, "excess_return_", 14) == 0)
        return VFR_LABEL_EXCESS;
    return VFR_LABEL_RAW;
}

typedef struct vi {
    double v;
    int64_t i;
} vi;

static int cmp_vi(const void *a, const void *b)
{
    const vi *x = a, *y = b;
    if (x->v != y->v)
        return (x->v > y->v) - (x->v < y->v);
    return (x->i > y->i) - (x->i < y->i);
}

/* Ranks of the finite values x[r*stride] for rows r in [r0, r1), scaled to
 * [-0.5, 0.5] with ties averaged, into out[r*stride]; NaN stays NaN. */
static void rank_rows(const float *x, float *out, int64_t r0, int64_t r1, int64_t stride, vi *buf)
{
    int64_t m = 0;
    for (int64_t r = r0; r < r1; r++)
        if (!isnan(x[r * stride]))
            buf[m++] = (vi){x[r * stride], r};
    qsort(buf, (size_t)m, sizeof *buf, cmp_vi);
    for (int64_t a = 0; a < m;) {
        int64_t b = a;
        while (b + 1 < m && buf[b + 1].v == buf[a].v)
            b++;
        double rank = (a + b) / 2.0; /* 0-based average rank */
        double s = m > 1 ? rank / (double)(m - 1) - 0.5 : 0.0;
        for (int64_t k = a; k <= b; k++)
            out[buf[k].i * stride] = (float)s;
        a = b + 1;
    }
}

void vfr_xsection_label(vfr_label_kind kind, const float *fwd, const int64_t *date_row,
                        int32_t T, float *y)
{
    if (kind == VFR_LABEL_RAW) {
        if (y != fwd)
            memcpy(y, fwd, sizeof *y * (size_t)date_row[T]);
        return;
    }
    int64_t widest = 0;
    for (int32_t t = 0; t < T; t++)
        if (date_row[t + 1] - date_row[t] > widest)
            widest = date_row[t + 1] - date_row[t];
    vi *buf = kind == VFR_LABEL_RANK ? malloc(sizeof *buf * (size_t)(widest + 1)) : NULL;
    for (int32_t t = 0; t < T; t++) {
        int64_t r0 = date_row[t], r1 = date_row[t + 1];
        if (kind == VFR_LABEL_RANK && buf) {
            for (int64_t r = r0; r < r1; r++)
                if (isnan(fwd[r]))
                    y[r] = NAN;
            rank_rows(fwd, y, r0, r1, 1, buf);
        } else {
            double s = 0.0;
            int64_t m = 0;
            for (int64_t r = r0; r < r1; r++)
                if (!isnan(fwd[r]))
                    s += fwd[r], m++;
            double mean = m ? s / (double)m : 0.0;
            for (int64_t r = r0; r < r1; r++)
                y[r] = (float)(fwd[r] - mean);
        }
    }
    free(buf);
}

/* ---- processors ----------------------------------------------------------- */

typedef enum { P_FILLNA, P_CSRANK, P_CSZSCORE, P_ROBUST } pkind;
static const char *const pnames[] = {"fillna", "csRank", "csZScore", "robustZScore"};

typedef struct proc {
    pkind kind;
    double value;   /* fillna                        */
    double clip;    /* robustZScore                  */
    double *median; /* [F] robustZScore, once fitted */
    double *scale;  /* [F] 1.4826 * MAD              */
} proc;

struct vfr_processors {
    int32_t n;
    proc *p;
    int32_t F;  /* fitted for F features; 0: not fitted */
};

void vfr_processors_free(vfr_processors *pr)
{
    if (!pr)
        return;
    for (int32_t k = 0; k < pr->n; k++) {
        free(pr->p[k].median);
        free(pr->p[k].scale);
    }
    free(pr->p);
    free(pr);
}

static vfr_status parse_array(const cJSON *a, const char *where, int with_fit, vfr_processors **out)
{
    *out = NULL;
    if (!cJSON_IsArray(a))
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: dataConfig.processors: want an array of objects", where);
    vfr_processors *pr = calloc(1, sizeof *pr);
    int32_t n = cJSON_GetArraySize(a);
    if (!pr || !(pr->p = calloc((size_t)n + 1, sizeof *pr->p))) {
        vfr_processors_free(pr);
        return vfr_fail(VFR_ERR_NOMEM, "processors: out of memory");
    }
    vfr_status st = VFR_OK;
    for (int32_t k = 0; k < n; k++) {
        const cJSON *e = cJSON_GetArrayItem(a, k);
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e, "name");
        if (!cJSON_IsObject(e) || !cJSON_IsString(nm)) {
            st = vfr_fail(VFR_ERR_INVALID_ARG, "%s: dataConfig.processors[%d]: want an object with a \"name\"",
                          where, (int)k);
            goto fail;
        }
        int kind = -1;
        for (int q = 0; q < 4; q++)
            if (strcmp(nm->valuestring, pnames[q]) == 0)
                kind = q;
        if (kind < 0) {
            st = vfr_fail(VFR_ERR_INVALID_ARG,
                          "%s: dataConfig.processors[%d].name: '%s' is not fillna, csRank, csZScore or robustZScore",
                          where, (int)k, nm->valuestring);
            goto fail;
        }
        proc *p = &pr->p[pr->n++];
        p->kind = (pkind)kind;
        p->clip = 3.0;
        for (const cJSON *it = e->child; it; it = it->next) {
            const char *key = it->string;
            int ok = strcmp(key, "name") == 0 ||
                     (p->kind == P_FILLNA && strcmp(key, "value") == 0 && cJSON_IsNumber(it)) ||
                     (p->kind == P_ROBUST && strcmp(key, "clip") == 0 && cJSON_IsNumber(it) &&
                      it->valuedouble > 0) ||
                     (with_fit && p->kind == P_ROBUST &&
                      (strcmp(key, "median") == 0 || strcmp(key, "scale") == 0));
            if (!ok) {
                st = vfr_fail(VFR_ERR_INVALID_ARG,
                              "%s: dataConfig.processors[%d].%s: not a key of %s, or a bad value",
                              where, (int)k, key, pnames[p->kind]);
                goto fail;
            }
        }
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "value");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "clip");
        p->value = cJSON_IsNumber(v) ? v->valuedouble : 0.0;
        if (cJSON_IsNumber(c))
            p->clip = c->valuedouble;
    }
    *out = pr;
    return VFR_OK;
fail:
    vfr_processors_free(pr);
    return st;
}

vfr_status vfr_processors_parse(const char *json, const char *where, vfr_processors **out)
{
    cJSON *a = cJSON_Parse(json ? json : "");
    vfr_status st = a ? parse_array(a, where ? where : "processors", 0, out)
                      : vfr_fail(VFR_ERR_INVALID_ARG, "%s: dataConfig.processors: not valid JSON",
                                 where ? where : "processors");
    cJSON_Delete(a);
    return st;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *v, int64_t m)
{
    qsort(v, (size_t)m, sizeof *v, cmp_double);
    return m % 2 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]);
}

/* One step on rows of dates [t0, t1) (date_row relative to X). */
static vfr_status apply_one(const proc *p, float *X, int32_t F, const int64_t *date_row,
                            int32_t t0, int32_t t1)
{
    int64_t r0 = date_row[t0], r1 = date_row[t1];
    if (p->kind == P_FILLNA) {
        for (int64_t i = r0 * F; i < r1 * F; i++)
            if (isnan(X[i]))
                X[i] = (float)p->value;
        return VFR_OK;
    }
    if (p->kind == P_ROBUST) {
        for (int64_t r = r0; r < r1; r++)
            for (int32_t f = 0; f < F; f++) {
                float *x = &X[r * F + f];
                if (isnan(*x))
                    continue;
                double z = p->scale[f] > 0 ? (*x - p->median[f]) / p->scale[f] : 0.0;
                *x = (float)(z > p->clip ? p->clip : z < -p->clip ? -p->clip : z);
            }
        return VFR_OK;
    }
    int64_t widest = 0;
    for (int32_t t = t0; t < t1; t++)
        if (date_row[t + 1] - date_row[t] > widest)
            widest = date_row[t + 1] - date_row[t];
    vi *buf = malloc(sizeof *buf * (size_t)(widest + 1));
    if (!buf)
        return vfr_fail(VFR_ERR_NOMEM, "processors: out of memory");
    for (int32_t t = t0; t < t1; t++) {
        int64_t a = date_row[t], b = date_row[t + 1];
        for (int32_t f = 0; f < F; f++) {
            if (p->kind == P_CSRANK) {
                rank_rows(X + f, X + f, a, b, F, buf);
                continue;
            }
            double s = 0.0, ss = 0.0;
            int64_t m = 0;
            for (int64_t r = a; r < b; r++) {
                double x = X[r * F + f];
                if (!isnan(x))
                    s += x, m++;
            }
            double mean = m ? s / (double)m : 0.0;
            for (int64_t r = a; r < b; r++) {
                double x = X[r * F + f];
                if (!isnan(x))
                    ss += (x - mean) * (x - mean);
            }
            double sd = m ? sqrt(ss / (double)m) : 0.0;
            for (int64_t r = a; r < b; r++) {
                float *x = &X[r * F + f];
                if (!isnan(*x))
                    *x = sd > 0 ? (float)((*x - mean) / sd) : 0.0f;
            }
        }
    }
    free(buf);
    return VFR_OK;
}

vfr_status vfr_processors_fit(vfr_processors *pr, const float *X, int32_t F,
                              const int64_t *date_row, int32_t t_lo, int32_t t_hi)
{
    if (!pr || F <= 0 || t_lo < 0 || t_hi <= t_lo)
        return vfr_fail(VFR_ERR_INVALID_ARG, "processors: fit needs features and a non-empty training range");
    int64_t r0 = date_row[t_lo], n = date_row[t_hi] - r0;
    int32_t T = t_hi - t_lo;
    vfr_status st = VFR_OK;
    /* The training rows, copied: each step fits on what the steps before it made. */
    float *w = malloc(sizeof *w * (size_t)(n * F + 1));
    int64_t *dr = malloc(sizeof *dr * (size_t)(T + 1));
    double *col = malloc(sizeof *col * (size_t)(n + 1));
    if (!w || !dr || !col) {
        st = vfr_fail(VFR_ERR_NOMEM, "processors: out of memory for %lld training rows", (long long)n);
        goto done;
    }
    memcpy(w, X + r0 * F, sizeof *w * (size_t)(n * F));
    for (int32_t t = 0; t <= T; t++)
        dr[t] = date_row[t_lo + t] - r0;
    for (int32_t k = 0; k < pr->n; k++) {
        proc *p = &pr->p[k];
        if (p->kind == P_ROBUST) {
            free(p->median);
            free(p->scale);
            p->median = malloc(sizeof *p->median * (size_t)F);
            p->scale = malloc(sizeof *p->scale * (size_t)F);
            if (!p->median || !p->scale) {
                st = vfr_fail(VFR_ERR_NOMEM, "processors: out of memory");
                goto done;
            }
            for (int32_t f = 0; f < F; f++) {
                int64_t m = 0;
                for (int64_t r = 0; r < n; r++)
                    if (!isnan(w[r * F + f]))
                        col[m++] = w[r * F + f];
                double med = m ? median_of(col, m) : 0.0;
                for (int64_t i = 0; i < m; i++)
                    col[i] = fabs(col[i] - med);
                p->median[f] = med;
                p->scale[f] = m ? 1.4826 * median_of(col, m) : 0.0;
            }
        }
        VFR_TRY(apply_one(p, w, F, dr, 0, T));
    }
    pr->F = F;
done:
fail:
    free(w);
    free(dr);
    free(col);
    return st;
}

vfr_status vfr_processors_apply(const vfr_processors *pr, float *X, int32_t F,
                                const int64_t *date_row, int32_t T)
{
    if (!pr)
        return VFR_OK;
    if (pr->n > 0 && pr->F != F)
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "processors: fitted for %d features, applied to %d (fit them first)",
                        (int)pr->F, (int)F);
    for (int32_t k = 0; k < pr->n; k++) {
        vfr_status st = apply_one(&pr->p[k], X, F, date_row, 0, T);
        if (st != VFR_OK)
            return st;
    }
    return VFR_OK;
}

char *vfr_processors_to_json(const vfr_processors *pr)
{
    cJSON *a = cJSON_CreateArray();
    for (int32_t k = 0; pr && k < pr->n; k++) {
        const proc *p = &pr->p[k];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", pnames[p->kind]);
        if (p->kind == P_FILLNA)
            cJSON_AddNumberToObject(e, "value", p->value);
        if (p->kind == P_ROBUST) {
            cJSON_AddNumberToObject(e, "clip", p->clip);
            if (p->median && pr->F > 0) {
                cJSON_AddItemToObject(e, "median", cJSON_CreateDoubleArray(p->median, pr->F));
                cJSON_AddItemToObject(e, "scale", cJSON_CreateDoubleArray(p->scale, pr->F));
            }
        }
        cJSON_AddItemToArray(a, e);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "features", pr ? pr->F : 0);
    cJSON_AddItemToObject(o, "processors", a);
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}

vfr_status vfr_processors_from_json(const char *json, vfr_processors **out)
{
    *out = NULL;
    cJSON *o = cJSON_Parse(json ? json : "");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "processors");
    const cJSON *nf = cJSON_GetObjectItemCaseSensitive(o, "features");
    vfr_status st = VFR_OK;
    if (!o || !cJSON_IsNumber(nf)) {
        st = vfr_fail(VFR_ERR_FORMAT, "processors.json: not a fitted processor chain");
        goto done;
    }
    VFR_TRY(parse_array(a, "fitted processors", 1, out)); /* from a lineage, not always a file */
    int32_t F = (int32_t)nf->valuedouble;
    (*out)->F = F;
    for (int32_t k = 0; k < (*out)->n; k++) {
        proc *p = &(*out)->p[k];
        if (p->kind != P_ROBUST)
            continue;
        const cJSON *e = cJSON_GetArrayItem(a, k);
        const cJSON *md = cJSON_GetObjectItemCaseSensitive(e, "median");
        const cJSON *sc = cJSON_GetObjectItemCaseSensitive(e, "scale");
        if (cJSON_GetArraySize(md) != F || cJSON_GetArraySize(sc) != F) {
            st = vfr_fail(VFR_ERR_FORMAT, "processors.json: robustZScore has no fitted median/scale for %d features", (int)F);
            goto fail;
        }
        p->median = malloc(sizeof *p->median * (size_t)(F + 1));
        p->scale = malloc(sizeof *p->scale * (size_t)(F + 1));
        if (!p->median || !p->scale) {
            st = vfr_fail(VFR_ERR_NOMEM, "processors: out of memory");
            goto fail;
        }
        for (int32_t f = 0; f < F; f++) {
            p->median[f] = cJSON_GetArrayItem(md, f)->valuedouble;
            p->scale[f] = cJSON_GetArrayItem(sc, f)->valuedouble;
        }
    }
    goto done;
fail:
    vfr_processors_free(*out);
    *out = NULL;
done:
    cJSON_Delete(o);
    return st;
}
