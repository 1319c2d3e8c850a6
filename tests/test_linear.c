/* test_linear.c: the linear model against scikit-learn (fixture made by
 * scripts/fixtures/make_linear_fixtures.py): logistic and ridge coefficients
 * within 1e-4, through the core and through the model interface, plus the
 * save/load round trip and bad hyperparameters. */
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
    vfr_linear_problem pl = {X, ycls, n, F, mean, sd, 1, 1.0 / C};
    CHECK_OK(vfr_linear_fit(VFR_DEVICE_CPU, &pl, 100, 1e-12, w, &iters));
    for (int f = 0; f < F; f++)
        CHECK_NEAR(w[f], lcoef[f], 1e-4, 0);
    CHECK_NEAR(w[F], cJSON_GetObjectItem(lg, "intercept")->valuedouble, 1e-4, 0);
    CHECK(iters < 30);
    vfr_linear_problem pr = {X, yreg, n, F, mean, sd, 0, alpha};
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
    return test_done("test_linear");
}
