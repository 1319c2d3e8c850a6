/* test_xgboost.c: XGBoost through its C API: train/predict/save/load round
 * trip, early stopping keeps the best round, determinism for a seed, gain
 * importance by feature name, and strict hyperparameters. */
#include <stdint.h>

#include "test_util.h"
#include "vfr/model.h"
#include "vfr/xgboost.h"

#define N 6000
#define F 5

static uint64_t s = 0x9E3779B97F4A7C15ull;
static double u(void)
{
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    return (double)(s >> 11) / 9007199254740992.0;
}

static double logloss(const float *p, const float *y, int n)
{
    double l = 0;
    for (int i = 0; i < n; i++) {
        double q = fmin(fmax(p[i], 1e-15), 1 - 1e-15);
        l -= y[i] * log(q) + (1 - y[i]) * log(1 - q);
    }
    return l / n;
}

int main(void)
{
    vfr_xgboost_info info;
    if (vfr_xgboost_probe(&info) != VFR_OK) {
        fprintf(stderr, "test_xgboost: %s\n", vfr_last_error());
        return 1; /* setup.sh installs libxgboost: its absence is a failure */
    }
    static float X[N * F], y[N];
    for (int i = 0; i < N; i++) {
        for (int f = 0; f < F; f++)
            X[i * F + f] = u() < 0.01 ? NAN : (float)(2 * u() - 1);
        double x0 = isnan(X[i * F]) ? 0 : X[i * F], x1 = isnan(X[i * F + 1]) ? 0 : X[i * F + 1];
        y[i] = x0 + 0.5 * x1 + 0.6 * (u() - 0.5) > 0 ? 1.0f : 0.0f;
    }
    const int ntr = 4000, nva = 1000, nte = N - ntr - nva;
    const char *names[F] = {"mom", "vol", "n1", "n2", "n3"};
    vfr_model_config cfg = {"xgboost", "{\"max_depth\": 6, \"learning_rate\": 0.5, \"n_estimators\": 400}",
                            VFR_OBJECTIVE_DIRECTION, VFR_DEVICE_CPU, 7, F, names, 2, NULL};
    vfr_dataview *tr, *va, *te;
    CHECK_OK(vfr_dataview_create(X, y, ntr, F, &tr));
    CHECK_OK(vfr_dataview_create(X + ntr * F, y + ntr, nva, F, &va));
    CHECK_OK(vfr_dataview_create(X + (ntr + nva) * F, y + ntr + nva, nte, F, &te));
    vfr_model *m = NULL, *m2 = NULL, *m3 = NULL;
    vfr_fit_options opt = {10, 0, NULL};
    vfr_fit_result res;
    CHECK_OK(vfr_model_create(&cfg, &m));
    CHECK_OK(vfr_model_fit(m, tr, va, &opt, &res));
    /* a high learning rate overfits fast: early stopping must cut in */
    CHECK(res.rounds < 400 && res.rounds == res.best_round + 1 + 10);
    CHECK(strcmp(res.loss_name, "logloss") == 0);
    static float pv[N], pt[N], pt2[N];
    CHECK_OK(vfr_model_predict(m, va, pv));
    CHECK_NEAR(logloss(pv, y + ntr, nva), res.best_val_loss, 1e-5, 1e-5); /* kept at the best round */
    CHECK_OK(vfr_model_predict(m, te, pt));
    int correct = 0;
    for (int i = 0; i < nte; i++)
        correct += (pt[i] > 0.5f) == (y[ntr + nva + i] > 0.5f);
    CHECK(correct > 0.85 * nte);

    double imp[F];
    CHECK_OK(vfr_model_importance(m, imp));
    CHECK(imp[0] > imp[1] && imp[1] > imp[2] && imp[0] > 0);

    char path[512];
    snprintf(path, sizeof path, "%s/model.json", test_tmpdir());
    CHECK_OK(vfr_model_save(m, path));
    CHECK_OK(vfr_model_load(&cfg, path, &m2));
    if (m2) {
        CHECK_OK(vfr_model_predict(m2, te, pt2));
        CHECK(memcmp(pt, pt2, sizeof *pt * nte) == 0);
        char *d = vfr_model_describe(m2);
        char want[64];
        snprintf(want, sizeof want, "\"roundsTrained\":%d", res.best_round + 1);
        CHECK(d && strstr(d, want));
        free(d);
    }
    /* same seed, same model: identical predictions (the DMatrix is reused) */
    CHECK_OK(vfr_model_create(&cfg, &m3));
    CHECK_OK(vfr_model_fit(m3, tr, va, &opt, &res));
    CHECK_OK(vfr_model_predict(m3, te, pt2));
    CHECK(memcmp(pt, pt2, sizeof *pt * nte) == 0);

    /* no validation set: every round is kept */
    vfr_model_config small = cfg;
    small.params_json = "{\"n_estimators\": 7, \"max_depth\": 2}";
    vfr_model *m4 = NULL;
    CHECK_OK(vfr_model_create(&small, &m4));
    CHECK_OK(vfr_model_fit(m4, tr, NULL, &opt, &res));
    CHECK(res.rounds == 7 && res.best_round == 6 && isnan(res.best_val_loss));
    vfr_model_destroy(m4);

    /* regression objective */
    vfr_model_config reg = small;
    reg.objective = VFR_OBJECTIVE_RETURN;
    CHECK_OK(vfr_model_create(&reg, &m4));
    CHECK_OK(vfr_model_fit(m4, tr, va, &opt, &res));
    CHECK(strcmp(res.loss_name, "rmse") == 0 && res.best_val_loss < 0.5);
    vfr_model_destroy(m4);

    vfr_model_config bad = cfg;
    bad.params_json = "{\"max_depht\": 3}";
    CHECK_FAIL(vfr_model_create(&bad, &m4), VFR_ERR_INVALID_ARG, "hyperparameters.max_depht: not an XGBoost parameter vfr knows; did you mean max_depth?");
    bad.params_json = "{\"max_depth\": \"deep\"}";
    CHECK_FAIL(vfr_model_create(&bad, &m4), VFR_ERR_INVALID_ARG, "hyperparameters.max_depth: expected a number");
    bad.params_json = "{\"subsample\": 1.5}";
    CHECK_FAIL(vfr_model_create(&bad, &m4), VFR_ERR_INVALID_ARG, "out of range");
    if (!info.has_cuda) {
        bad = cfg;
        bad.device = VFR_DEVICE_CUDA;
        CHECK_FAIL(vfr_model_create(&bad, &m4), VFR_ERR_NO_DEVICE, "without CUDA");
    }
    CHECK_FAIL(vfr_model_load(&cfg, "/nonexistent/model.json", &m4), VFR_ERR_NOT_FOUND, "/nonexistent");
    vfr_model_destroy(m), vfr_model_destroy(m2), vfr_model_destroy(m3);
    vfr_dataview_destroy(tr), vfr_dataview_destroy(va), vfr_dataview_destroy(te);
    return test_done("test_xgboost");
}
