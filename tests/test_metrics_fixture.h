/* test_metrics_fixture.h: loading tests/fixtures/metrics_golden.json (made by
 * scripts/fixtures/make_metrics_fixtures.py) into the arrays the metrics and
 * backtest tests feed to vfr. JSON null stands for NaN. */
#ifndef VFR_TEST_METRICS_FIXTURE_H
#define VFR_TEST_METRICS_FIXTURE_H

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "vfr/metrics.h"

/* The whole fixture, parsed; exits 1 (a failure, not a skip) when it is missing. */
static inline cJSON *fixture_load(void)
{
    const char *src = getenv("VFR_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/metrics_golden.json", src && *src ? src : ".");
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s (set VFR_SOURCE_DIR to the source tree)\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    buf[n] = '\0';
    fclose(f);
    cJSON *doc = cJSON_Parse(buf);
    free(buf);
    if (!doc) {
        fprintf(stderr, "%s is not valid JSON\n", path);
        exit(1);
    }
    return doc;
}

static inline double fixture_num(const cJSON *v)
{
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* A JSON array of numbers (null = NaN) as floats; *n gets the length. */
static inline float *fixture_floats(const cJSON *a, int64_t *n)
{
    int64_t len = cJSON_GetArraySize(a);
    float *v = malloc(sizeof *v * (size_t)(len ? len : 1));
    int64_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) v[i++] = (float)fixture_num(e);
    if (n)
        *n = len;
    return v;
}

static inline double *fixture_doubles(const cJSON *a, int64_t *n)
{
    int64_t len = cJSON_GetArraySize(a);
    double *v = malloc(sizeof *v * (size_t)(len ? len : 1));
    int64_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) v[i++] = fixture_num(e);
    if (n)
        *n = len;
    return v;
}

/* [M][N] arrays of numbers as one model-major float block. */
static inline float *fixture_scores(const cJSON *a, int32_t *M, int64_t N)
{
    *M = cJSON_GetArraySize(a);
    float *v = malloc(sizeof *v * (size_t)*M * (size_t)(N ? N : 1));
    int32_t m = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, a)
    {
        int64_t n;
        float *r = fixture_floats(row, &n);
        for (int64_t i = 0; i < N && i < n; i++)
            v[(size_t)m * (size_t)N + (size_t)i] = r[i];
        free(r);
        m++;
    }
    return v;
}

/* A panel's owned arrays. */
typedef struct fixture_panel {
    vfr_panel p;
    int64_t *off;
    int32_t *sym;
    float *label, *fwd, *fwd1;
} fixture_panel;

static inline void fixture_panel_load(const cJSON *c, fixture_panel *fp)
{
    const cJSON *offs = cJSON_GetObjectItem(c, "date_offset"), *syms = cJSON_GetObjectItem(c, "symbol");
    int32_t T = cJSON_GetObjectItem(c, "T")->valueint, S = cJSON_GetObjectItem(c, "S")->valueint;
    int64_t N = cJSON_GetArraySize(syms), i = 0;
    fp->off = malloc(sizeof *fp->off * (size_t)(T + 1));
    fp->sym = malloc(sizeof *fp->sym * (size_t)(N ? N : 1));
    const cJSON *e;
    cJSON_ArrayForEach(e, offs) fp->off[i++] = (int64_t)e->valuedouble;
    i = 0;
    cJSON_ArrayForEach(e, syms) fp->sym[i++] = e->valueint;
    const cJSON *l = cJSON_GetObjectItem(c, "label"), *f = cJSON_GetObjectItem(c, "fwd"),
                *f1 = cJSON_GetObjectItem(c, "fwd1");
    fp->label = l && cJSON_IsArray(l) ? fixture_floats(l, NULL) : NULL;
    fp->fwd = f && cJSON_IsArray(f) ? fixture_floats(f, NULL) : NULL;
    fp->fwd1 = f1 && cJSON_IsArray(f1) ? fixture_floats(f1, NULL) : NULL;
    if (!fp->label) { /* backtest panels carry no label: zeros satisfy the checks */
        fp->label = calloc((size_t)(N ? N : 1), sizeof *fp->label);
    }
    fp->p = (vfr_panel){N, T, S, fp->off, fp->sym, fp->label, fp->fwd, fp->fwd1};
}

static inline void fixture_panel_free(fixture_panel *fp)
{
    free(fp->off), free(fp->sym), free(fp->label), free(fp->fwd), free(fp->fwd1);
}

/* got vs want, NaN equal to NaN (JSON null); relative + absolute tolerance. */
static inline int fixture_close(double got, double want, double rtol, double atol)
{
    if (isnan(want) || isnan(got))
        return isnan(want) && isnan(got);
    return fabs(got - want) <= atol + rtol * fabs(want);
}

#endif
