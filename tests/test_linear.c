/* test_linear.c: the linear model against scikit-learn (fixture made by
 * scripts/fixtures/make_linear_fixtures.py): logistic and ridge coefficients
 * within 1e-4, through the core and through the model interface, plus the
 * save/load round trip and bad hyperparameters; and rows read by chunks (a
 * streamed panel) give the same sums and scores as rows in memory. */
#include <cjson/cJSON.h>

#include "test_util.h"
#include "util.h"
#include "vfr/linear.h"
#include "vfr/model.h"

static double *nums(const cJSON *a, int n)
{
    double *v = malloc(sizeof *v * (size_t)n);
    int i = 0;
    for (const cJSON *e = a->child; e && i < n; e = e->next)
        v[i++] = e->valuedouble;
    return v;
}

static float *floats(const cJSON *a, int n)
{
    float *v = malloc(sizeof *v * (size_t)n);
    int i = 0;
    for (const cJSON *e = a->child; e && i < n; e = e->next)
        v[i++] = cJSON_IsNull(e) ? NAN : (float)e->valuedouble;
    return v;
}

/* Rows of a matrix in memory, handed out through the readers (copied, so
 * that the chunk buffers are what the code reads). */
typedef struct rows_src {
    const float *X;
    int32_t F;
    int calls;
} rows_src;

static vfr_status core_rows(void *ctx, int64_t r0, int64_t r1, float *buf, const float **rows)
{
    rows_src *s = ctx;
    s->calls++;
    memcpy(buf, s->X + r0 * s->F, sizeof *buf * (size_t)(r1 - r0) * (size_t)s->F);
    *rows = buf;
    return VFR_OK;
}

static vfr_status view_rows(void *ctx, int64_t r0, int64_t r1, float *out)
{
    rows_src *s = ctx;
    s->calls++;
    memcpy(out, s->X + r0 * s->F, sizeof *out * (size_t)(r1 - r0) * (size_t)s->F);
    return VFR_OK;
}

/* 10,000 rows in three chunks of 4096: the same loss, gradient, Hessian and
 * fit, bit for bit, as from memory; the model interface on a streamed view
 * scores as on the same rows in memory; the CUDA fit refuses rows it would
 * have to read. */
static void chunked(void)
{
    enum { N = 10000, F = 5 };
    float *X = malloc(sizeof *X * N * F), *y = malloc(sizeof *y * N);
    double mean[F], sd[F];
    for (int i = 0; i < N; i++) {
        double z = 0;
        for (int f = 0; f < F; f++) {
            X[i * F + f] = test_urand() < 0.03 ? NAN : (float)(test_nrand() * (f + 1) + f);
            z += isfinite(X[i * F + f]) ? (X[i * F + f] - f) / (f + 1) * (f % 2 ? 0.4 : -0.3) : 0;
        }
        y[i] = test_urand() < 1 / (1 + exp(-z)) ? 1.0f : 0.0f;
    }
    for (int f = 0; f < F; f++)
        mean[f] = f, sd[f] = f + 1;
    rows_src src = {X, F, 0};
    vfr_linear_problem mem = {X, y, N, F, mean, sd, 1, 0.1, NULL, NULL, 0};
    vfr_linear_problem rd = {NULL, y, N, F, mean, sd, 1, 0.1, core_rows, &src, 4096};
    double w[F + 1], l1, l2, g1[F + 1], g2[F + 1], h1[(F + 1) * (F + 1)], h2[(F + 1) * (F + 1)];
    for (int k = 0; k <= F; k++)
        w[k] = 0.1 * k - 0.2;
    CHECK_OK(vfr_linear_gradhess_cpu(&mem, w, &l1, g1, h1));
    CHECK_OK(vfr_linear_gradhess_cpu(&rd, w, &l2, g2, h2));
    CHECK(src.calls == 3);
    CHECK(l1 == l2 && memcmp(g1, g2, sizeof g1) == 0 && memcmp(h1, h2, sizeof h1) == 0);
    double w1[F + 1], w2[F + 1];
    int it1, it2;
    CHECK_OK(vfr_linear_fit(VFR_DEVICE_CPU, &mem, 50, 1e-10, w1, &it1));
    CHECK_OK(vfr_linear_fit(VFR_DEVICE_CPU, &rd, 50, 1e-10, w2, &it2));
    CHECK(it1 == it2 && memcmp(w1, w2, sizeof w1) == 0);
    CHECK_FAIL(vfr_linear_fit(VFR_DEVICE_CUDA, &rd, 50, 1e-10, w2, &it2), VFR_ERR_INVALID_ARG,
               "needs the rows in memory");

    vfr_model_config cfg = {"linear", "{}", VFR_OBJECTIVE_DIRECTION, VFR_DEVICE_CPU, 1, F, NULL, 1, NULL};
    vfr_model *a = NULL, *b = NULL;
    vfr_dataview *vm = NULL, *vs = NULL;
    CHECK_OK(vfr_model_create(&cfg, &a));
    CHECK_OK(vfr_model_create(&cfg, &b));
    CHECK_OK(vfr_dataview_create(X, y, N, F, &vm));
    src.calls = 0;
    CHECK_OK(vfr_dataview_create_streamed(view_rows, &src, 0, y, N, F, &vs));
    vfr_fit_result ra, rb;
    float *pa = malloc(sizeof *pa * N), *pb = malloc(sizeof *pb * N);
    if (a && b && vm && vs) {
        CHECK_OK(vfr_model_fit(a, vm, vm, NULL, &ra));
        CHECK_OK(vfr_model_fit(b, vs, vs, NULL, &rb));
        CHECK(src.calls > 0);
        CHECK_NEAR(ra.train_loss, rb.train_loss, 1e-12, 0);
        CHECK_NEAR(ra.best_val_loss, rb.best_val_loss, 1e-12, 0);
        CHECK_OK(vfr_model_predict(a, vm, pa));
        CHECK_OK(vfr_model_predict(b, vs, pb));
        double d = 0;
        for (int i = 0; i < N; i++)
            d = fmax(d, fabs((double)pa[i] - pb[i]));
        CHECK(d <= 1e-6);
    }
    vfr_model_destroy(a), vfr_model_destroy(b);
    vfr_dataview_destroy(vm), vfr_dataview_destroy(vs);
    free(X), free(y), free(pa), free(pb);
}

int main(void)
{
    char path[1024], *buf;
    size_t len;
    snprintf(path, sizeof path, "%s/tests/fixtures/linear_golden.json", getenv("VFR_SOURCE_DIR"));
    if (vfri_read_file(path, &buf, &len) != 0) {
        fprintf(stderr, "cannot read %s\n", path);
        return 1;
    }
    cJSON *o = cJSON_Parse(buf);
    free(buf);
    int n = cJSON_GetObjectItem(o, "n")->valueint, F = cJSON_GetObjectItem(o, "F")->valueint;
    float *X = malloc(sizeof *X * (size_t)(n * F));
    int i = 0;
    for (const cJSON *row = cJSON_GetObjectItem(o, "X")->child; row; row = row->next)
        for (const cJSON *e = row->child; e; e = e->next)
            X[i++] = cJSON_IsNull(e) ? NAN : (float)e->valuedouble;
    float *ycls = floats(cJSON_GetObjectItem(o, "y_cls"), n), *yreg = floats(cJSON_GetObjectItem(o, "y_reg"), n);
    double *mean = nums(cJSON_GetObjectItem(o, "mean"), F), *sd = nums(cJSON_GetObjectItem(o, "std"), F);
    cJSON *lg = cJSON_GetObjectItem(o, "logistic"), *rg = cJSON_GetObjectItem(o, "ridge");
    double *lcoef = nums(cJSON_GetObjectItem(lg, "coef"), F), *rcoef = nums(cJSON_GetObjectItem(rg, "coef"), F);
    double *proba = nums(cJSON_GetObjectItem(lg, "proba"), n);
    double C = cJSON_GetObjectItem(lg, "C")->valuedouble, alpha = cJSON_GetObjectItem(rg, "alpha")->valuedouble;

    /* the core, with the fixture's standardisation */
    double w[16];
    int iters;
    vfr_linear_problem pl = {X, ycls, n, F, mean, sd, 1, 1.0 / C, NULL, NULL, 0};
    CHECK_OK(vfr_linear_fit(VFR_DEVICE_CPU, &pl, 100, 1e-12, w, &iters));
    for (int f = 0; f < F; f++)
        CHECK_NEAR(w[f], lcoef[f], 1e-4, 0);
    CHECK_NEAR(w[F], cJSON_GetObjectItem(lg, "intercept")->valuedouble, 1e-4, 0);
    CHECK(iters < 30);
    vfr_linear_problem pr = {X, yreg, n, F, mean, sd, 0, alpha, NULL, NULL, 0};
    CHECK_OK(vfr_linear_fit(VFR_DEVICE_CPU, &pr, 100, 1e-12, w, &iters));
    for (int f = 0; f < F; f++)
        CHECK_NEAR(w[f], rcoef[f], 1e-4, 0);
    CHECK_NEAR(w[F], cJSON_GetObjectItem(rg, "intercept")->valuedouble, 1e-4, 0);

    /* the model interface: own standardisation, predictions, save/load */
    const char *names[6] = {"a", "b", "c", "d", "e", "f"};
    char params[64];
    snprintf(params, sizeof params, "{\"C\": %.17g}", C);
    vfr_model_config cfg = {"linear", params, VFR_OBJECTIVE_DIRECTION, VFR_DEVICE_CPU, 1, F, names, 1, NULL};
    vfr_model *m = NULL;
    vfr_dataview *v = NULL;
    CHECK_OK(vfr_model_create(&cfg, &m));
    CHECK_OK(vfr_dataview_create(X, ycls, n, F, &v));
    vfr_fit_result res;
    CHECK_OK(vfr_model_fit(m, v, v, NULL, &res));
    float *p = malloc(sizeof *p * (size_t)n), *p2 = malloc(sizeof *p2 * (size_t)n);
    CHECK_OK(vfr_model_predict(m, v, p));
    for (int k = 0; k < n; k++)
        CHECK_NEAR(p[k], proba[k], 1e-5, 0);
    double imp[6];
    CHECK_OK(vfr_model_importance(m, imp));
    CHECK_NEAR(imp[0], fabs(lcoef[0]), 1e-4, 0);
    char mp[512];
    snprintf(mp, sizeof mp, "%s/linear.json", test_tmpdir());
    CHECK_OK(vfr_model_save(m, mp));
    vfr_model *m2 = NULL;
    CHECK_OK(vfr_model_load(&cfg, mp, &m2));
    if (m2) {
        CHECK_OK(vfr_model_predict(m2, v, p2));
        CHECK(memcmp(p, p2, sizeof *p * (size_t)n) == 0);
        vfr_model_destroy(m2);
    }
    vfr_model_destroy(m);

    vfr_model_config bad = cfg;
    bad.params_json = "{\"c\": 1}";
    CHECK_FAIL(vfr_model_create(&bad, &m), VFR_ERR_INVALID_ARG, "hyperparameters.c: not a linear-model parameter");
    bad.params_json = "{\"l2\": \"big\"}";
    CHECK_FAIL(vfr_model_create(&bad, &m), VFR_ERR_INVALID_ARG, "hyperparameters.l2");
    bad.type = "catboost";
    CHECK_FAIL(vfr_model_create(&bad, &m), VFR_ERR_INVALID_ARG, "modelType: 'catboost' is unknown");
    vfr_dataview_destroy(v);
    free(X), free(ycls), free(yreg), free(mean), free(sd), free(lcoef), free(rcoef), free(proba), free(p), free(p2);
    cJSON_Delete(o);
    chunked();
    return test_done("test_linear");
}
