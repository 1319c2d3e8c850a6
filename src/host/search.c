/* search.c: search spaces, grid enumeration, seeded random points, and TPE.
 *
 * TPE here is the textbook independent-dimension version: observations are
 * split into the best gamma = 25% ("good", at least one) and the rest; each
 * dimension gets a Parzen mixture per group (one Gaussian per observation,
 * bandwidth (high - low) / sqrt(n + 1) in the sampling space, plus a wide
 * prior component of weight 1: N(middle, high - low), or +1 per category);
 * 24 candidates drawn from the good mixture, the one maximising
 * l(x) / g(x) wins. loguniform dimensions work in log space, int ones are
 * rounded. Everything is seeded by (seed, trial), so it replays exactly. */
#include "vfr/search.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef enum dim_kind { D_CHOICE, D_UNIFORM, D_LOG, D_INT } dim_kind;

typedef struct dim {
    char *name;
    dim_kind kind;
    double lo, hi;      /* numeric bounds (natural units)  */
    cJSON *values;      /* D_CHOICE: the array of values   */
    int32_t n_values;
} dim;

struct vfr_space {
    int32_t D;
    dim *d;
};

void vfr_space_free(vfr_space *s)
{
    if (!s)
        return;
    for (int32_t i = 0; i < s->D; i++) {
        free(s->d[i].name);
        cJSON_Delete(s->d[i].values);
    }
    free(s->d);
    free(s);
}

int32_t vfr_space_dims(const vfr_space *s) { return s->D; }

vfr_status vfr_space_parse(const char *space_json, vfr_search_method method, vfr_space **out)
{
    *out = NULL;
    cJSON *o = cJSON_Parse(space_json ? space_json : "");
    vfr_status st = VFR_OK;
    vfr_space *s = calloc(1, sizeof *s);
    if (!o || !cJSON_IsObject(o) || !o->child) {
        st = vfr_fail(VFR_ERR_INVALID_ARG, "search.space: an object with at least one hyperparameter is needed");
        goto fail;
    }
    if (!s || !(s->d = calloc((size_t)cJSON_GetArraySize(o), sizeof *s->d))) {
        st = vfr_fail(VFR_ERR_NOMEM, "search: out of memory");
        goto fail;
    }
    for (cJSON *it = o->child; it; it = it->next) {
        dim *d = &s->d[s->D++];
        d->name = vfri_strdup(it->string);
        cJSON *vals = NULL;
        if (cJSON_IsArray(it)) {
            vals = it;
        } else if (cJSON_IsObject(it)) {
            const cJSON *t = cJSON_GetObjectItem(it, "type"), *lo = cJSON_GetObjectItem(it, "low"),
                        *hi = cJSON_GetObjectItem(it, "high");
            if (method == VFR_SEARCH_GRID) {
                st = vfr_fail(VFR_ERR_INVALID_ARG, "search.space.%s: grid_search needs a list of values", it->string);
                goto fail;
            }
            if (!cJSON_IsString(t)) {
                st = vfr_fail(VFR_ERR_INVALID_ARG, "search.space.%s.type: missing (uniform, loguniform, int or choice)", it->string);
                goto fail;
            }
            if (strcmp(t->valuestring, "choice") == 0) {
                vals = cJSON_GetObjectItem(it, "values");
                if (!cJSON_IsArray(vals)) {
                    st = vfr_fail(VFR_ERR_INVALID_ARG, "search.space.%s.values: a list is needed", it->string);
                    goto fail;
                }
            } else {
                d->kind = strcmp(t->valuestring, "uniform") == 0      ? D_UNIFORM
                          : strcmp(t->valuestring, "loguniform") == 0 ? D_LOG
                          : strcmp(t->valuestring, "int") == 0        ? D_INT
                                                                      : D_CHOICE;
                if (d->kind == D_CHOICE) {
                    st = vfr_fail(VFR_ERR_INVALID_ARG, "search.space.%s.type: '%s' is not uniform, loguniform, int or choice",
                                  it->string, t->valuestring);
                    goto fail;
                }
                if (!cJSON_IsNumber(lo) || !cJSON_IsNumber(hi) || !(lo->valuedouble < hi->valuedouble) ||
                    (d->kind == D_LOG && !(lo->valuedouble > 0)) ||
                    (d->kind == D_INT && (lo->valuedouble != floor(lo->valuedouble) || hi->valuedouble != floor(hi->valuedouble)))) {
                    st = vfr_fail(VFR_ERR_INVALID_ARG,
                                  "search.space.%s: needs numbers low < high%s", it->string,
                                  d->kind == D_LOG ? ", low > 0" : d->kind == D_INT ? ", both integers" : "");
                    goto fail;
                }
                d->lo = lo->valuedouble;
                d->hi = hi->valuedouble;
                continue;
            }
        } else {
            st = vfr_fail(VFR_ERR_INVALID_ARG, "search.space.%s: a list of values or a distribution object is needed", it->string);
            goto fail;
        }
        d->kind = D_CHOICE;
        d->n_values = cJSON_GetArraySize(vals);
        if (d->n_values == 0) {
            st = vfr_fail(VFR_ERR_INVALID_ARG, "search.space.%s: the list is empty", it->string);
            goto fail;
        }
        d->values = cJSON_Duplicate(vals, 1);
    }
    cJSON_Delete(o);
    *out = s;
    return VFR_OK;
fail:
    cJSON_Delete(o);
    vfr_space_free(s);
    return st;
}

int64_t vfr_space_grid_size(const vfr_space *s)
{
    int64_t n = 1;
    for (int32_t i = 0; i < s->D; i++) {
        if (s->d[i].kind != D_CHOICE)
            return -1;
        n *= s->d[i].n_values;
        if (n > ((int64_t)1 << 40))
            return (int64_t)1 << 40;
    }
    return n;
}

void vfr_space_grid_point(const vfr_space *s, int64_t t, double *x)
{
    for (int32_t i = s->D - 1; i >= 0; i--) {
        x[i] = (double)(t % s->d[i].n_values);
        t /= s->d[i].n_values;
    }
}

/* ---- PRNG: splitmix64 seeding xoshiro256**, per (seed, trial) ------------ */

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix(uint64_t *z)
{
    uint64_t r = (*z += 0x9E3779B97F4A7C15ull);
    r = (r ^ (r >> 30)) * 0xBF58476D1CE4E5B9ull;
    r = (r ^ (r >> 27)) * 0x94D049BB133111EBull;
    return r ^ (r >> 31);
}

static void rng_seed(rng *r, uint64_t seed, int64_t t)
{
    uint64_t z = seed * 0x2545F4914F6CDD1Dull ^ (uint64_t)t * 0x9E3779B97F4A7C15ull ^ 0x5851F42D4C957F2Dull;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&z);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next64(rng *r)
{
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t, s[3] = rotl(s[3], 45);
    return res;
}

static double unif(rng *r) { return (double)(next64(r) >> 11) * (1.0 / 9007199254740992.0); }

static double normal(rng *r)
{
    double u1 = unif(r), u2 = unif(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* sampling space: log for loguniform, natural otherwise */
static double to_u(const dim *d, double v) { return d->kind == D_LOG ? log(v) : v; }
static double from_u(const dim *d, double u)
{
    double v = d->kind == D_LOG ? exp(u) : u;
    if (d->kind == D_INT)
        v = floor(v + 0.5);
    return fmin(fmax(v, d->lo), d->hi);
}

static void random_dim(const dim *d, rng *r, double *x)
{
    if (d->kind == D_CHOICE) {
        *x = (double)(next64(r) % (uint64_t)d->n_values);
    } else if (d->kind == D_INT) {
        *x = d->lo + (double)(next64(r) % (uint64_t)(d->hi - d->lo + 1));
    } else {
        double a = to_u(d, d->lo), b = to_u(d, d->hi);
        *x = from_u(d, a + (b - a) * unif(r));
    }
}

void vfr_space_random_point(const vfr_space *s, uint64_t seed, int64_t t, double *x)
{
    rng r;
    rng_seed(&r, seed, t);
    for (int32_t i = 0; i < s->D; i++)
        random_dim(&s->d[i], &r, &x[i]);
}

void vfr_space_first_point(const vfr_space *s, vfr_search_method method, uint64_t seed, double *x)
{
    if (method == VFR_SEARCH_GRID)
        vfr_space_grid_point(s, 0, x);
    else /* random, and TPE before it has 2 observations (vfr_space_tpe_point) */
        vfr_space_random_point(s, seed, 0, x);
}

/* ---- TPE ------------------------------------------------------------------ */

typedef struct parzen {
    const double *mu; /* observation values in sampling space */
    int32_t n;
    double sigma, lo, hi, prior_mu, prior_sigma;
} parzen;

static double parzen_logpdf(const parzen *p, double u)
{
    /* weights: 1 for the prior, 1 per observation */
    double tot = 0;
    double z = (u - p->prior_mu) / p->prior_sigma;
    tot += exp(-0.5 * z * z) / p->prior_sigma;
    for (int32_t i = 0; i < p->n; i++) {
        z = (u - p->mu[i]) / p->sigma;
        tot += exp(-0.5 * z * z) / p->sigma;
    }
    return log(tot / (p->n + 1) + 1e-300);
}

static double parzen_sample(const parzen *p, rng *r)
{
    for (int tries = 0; tries < 100; tries++) {
        int32_t k = (int32_t)(next64(r) % (uint64_t)(p->n + 1));
        double u = k == p->n ? p->prior_mu + p->prior_sigma * normal(r) : p->mu[k] + p->sigma * normal(r);
        if (u >= p->lo && u <= p->hi)
            return u;
    }
    return p->lo + (p->hi - p->lo) * unif(r);
}

static int cmp_desc(const void *a, const void *b)
{
    double x = ((const double *)a)[0], y = ((const double *)b)[0];
    if (x != y)
        return (x < y) - (x > y);
    double i = ((const double *)a)[1], j = ((const double *)b)[1];
    return (i > j) - (i < j); /* earlier trial first on ties: deterministic */
}

vfr_status vfr_space_tpe_point(const vfr_space *s, uint64_t seed, int64_t t, const double *X,
                               const double *y, int32_t n, int32_t startup, double *x)
{
    int32_t obs = 0;
    for (int32_t i = 0; i < n; i++)
        obs += isfinite(y[i]);
    if (obs < startup || obs < 2) {
        vfr_space_random_point(s, seed, t, x);
        return VFR_OK;
    }
    const int32_t D = s->D, NC = 24;
    double *order = malloc(sizeof *order * 2 * (size_t)obs);
    double *gu = malloc(sizeof *gu * (size_t)obs), *bu = malloc(sizeof *bu * (size_t)obs);
    double *cand = malloc(sizeof *cand * (size_t)(NC * D)), *score = calloc((size_t)NC, sizeof *score);
    if (!order || !gu || !bu || !cand || !score) {
        free(order), free(gu), free(bu), free(cand), free(score);
        return vfr_fail(VFR_ERR_NOMEM, "tpe: out of memory");
    }
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++)
        if (isfinite(y[i])) {
            order[2 * m] = y[i];
            order[2 * m + 1] = i;
            m++;
        }
    qsort(order, (size_t)obs, 2 * sizeof *order, cmp_desc);
    int32_t ng = (int32_t)ceil(0.25 * obs);
    if (ng < 1)
        ng = 1;
    rng r;
    rng_seed(&r, seed, t);
    for (int32_t k = 0; k < D; k++) {
        const dim *d = &s->d[k];
        if (d->kind == D_CHOICE) {
            double *cg = calloc((size_t)d->n_values, sizeof *cg), *cb = calloc((size_t)d->n_values, sizeof *cb);
            if (!cg || !cb) {
                free(cg), free(cb);
                continue;
            }
            for (int32_t v = 0; v < d->n_values; v++)
                cg[v] = cb[v] = 1.0; /* prior: one count per category */
            for (int32_t i = 0; i < obs; i++) {
                int32_t v = (int32_t)X[(int64_t)order[2 * i + 1] * D + k];
                if (v >= 0 && v < d->n_values)
                    (i < ng ? cg : cb)[v] += 1.0;
            }
            double sg = 0, sb = 0;
            for (int32_t v = 0; v < d->n_values; v++)
                sg += cg[v], sb += cb[v];
            for (int32_t c = 0; c < NC; c++) {
                double u = unif(&r) * sg, acc = 0;
                int32_t v = 0;
                for (; v < d->n_values - 1; v++) {
                    acc += cg[v];
                    if (u < acc)
                        break;
                }
                cand[c * D + k] = v;
                score[c] += log(cg[v] / sg) - log(cb[v] / sb);
            }
            free(cg), free(cb);
            continue;
        }
        double a = to_u(d, d->lo), b = to_u(d, d->hi);
        for (int32_t i = 0; i < obs; i++) {
            double u = to_u(d, X[(int64_t)order[2 * i + 1] * D + k]);
            if (i < ng)
                gu[i] = u;
            else
                bu[i - ng] = u;
        }
        parzen pg = {gu, ng, (b - a) / sqrt(ng + 1.0), a, b, 0.5 * (a + b), b - a};
        parzen pb = {bu, obs - ng, (b - a) / sqrt(obs - ng + 1.0), a, b, 0.5 * (a + b), b - a};
        for (int32_t c = 0; c < NC; c++) {
            double u = parzen_sample(&pg, &r);
            double v = from_u(d, u);
            cand[c * D + k] = v;
            score[c] += parzen_logpdf(&pg, to_u(d, v)) - parzen_logpdf(&pb, to_u(d, v));
        }
    }
    int32_t best = 0;
    for (int32_t c = 1; c < NC; c++)
        if (score[c] > score[best])
            best = c;
    memcpy(x, cand + best * D, sizeof *x * (size_t)D);
    free(order), free(gu), free(bu), free(cand), free(score);
    return VFR_OK;
}

/* ---- JSON ----------------------------------------------------------------- */

char *vfr_space_point_json(const vfr_space *s, const double *x, const char *base_json)
{
    cJSON *o = cJSON_Parse(base_json && *base_json ? base_json : "{}");
    if (!o)
        o = cJSON_CreateObject();
    for (int32_t k = 0; k < s->D; k++) {
        const dim *d = &s->d[k];
        cJSON *v = d->kind == D_CHOICE ? cJSON_Duplicate(cJSON_GetArrayItem(d->values, (int)x[k]), 1)
                                       : cJSON_CreateNumber(x[k]);
        cJSON_DeleteItemFromObject(o, d->name);
        cJSON_AddItemToObject(o, d->name, v);
    }
    char *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}

int vfr_space_point_from_json(const vfr_space *s, const char *params_json, double *x)
{
    cJSON *o = cJSON_Parse(params_json);
    int rc = o ? 0 : -1;
    for (int32_t k = 0; rc == 0 && k < s->D; k++) {
        const dim *d = &s->d[k];
        const cJSON *v = cJSON_GetObjectItem(o, d->name);
        if (!v) {
            rc = -1;
        } else if (d->kind == D_CHOICE) {
            rc = -1;
            for (int32_t i = 0; i < d->n_values; i++)
                if (cJSON_Compare(cJSON_GetArrayItem(d->values, i), v, 1)) {
                    x[k] = i;
                    rc = 0;
                    break;
                }
        } else if (cJSON_IsNumber(v)) {
            x[k] = v->valuedouble;
        } else {
            rc = -1;
        }
    }
    cJSON_Delete(o);
    return rc;
}
