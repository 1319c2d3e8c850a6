/* test_lightgbm.c: LightGBM through its C API: train/predict/save/load round
 * trip, early stopping keeps the best iteration, determinism for a seed, gain
 * importance, Dataset reuse across models, strict hyperparameters (unknown
 * key with a suggestion, type, range, aliases given twice), and the CUDA rule.
 *
 * `test_lightgbm --dump DIR` instead trains the models the Python parity
 * test (test_lightgbm.py) holds against lightgbm.Booster and lightgbm.train,
 * and writes their data, parameters, artifacts and double-precision scores
 * to DIR. */
#include <stdint.h>

#include "test_util.h"
#include "vfr/lightgbm.h"
#include "vfr/model.h"

#define N 6000
#define F 5

static uint64_t s = 0x9E3779B97F4A7C15ull;
static double u(void)
{
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    return (double)(s >> 11) / 9007199254740992.0;
}

static float X[N * F], y[N], yr[N];
static const int ntr = 4000, nva = 1000, nte = N - 4000 - 1000;

static void make_data(void)
{
    for (int i = 0; i < N; i++) {
        for (int f = 0; f < F; f++)
            X[i * F + f] = u() < 0.01 ? NAN : f == 4 ? (float)(int)(u() * 4) : (float)(2 * u() - 1);
        double x0 = isnan(X[i * F]) ? 0 : X[i * F], x1 = isnan(X[i * F + 1]) ? 0 : X[i * F + 1];
        y[i] = x0 + 0.5 * x1 + 0.6 * (u() - 0.5) > 0 ? 1.0f : 0.0f;
        yr[i] = (float)(0.02 * x0 - 0.01 * x1 * x1 + 0.01 * (u() - 0.5));
    }
}

static double logloss(const float *p, const float *t, int n)
{
    double l = 0;
    for (int i = 0; i < n; i++) {
        double q = fmin(fmax(p[i], 1e-15), 1 - 1e-15);
        l -= t[i] * log(q) + (1 - t[i]) * log(1 - q);
    }
    return l / n;
}

static int write_bin(const char *dir, const char *name, const void *p, size_t bytes)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(p, 1, bytes, f);
    return fclose(f) == 0 && w == bytes ? 0 : -1;
}

/* One model for the parity test: trained with early stopping, saved, scored. */
static int dump_one(const char *dir, const char *tag, vfr_objective obj, const float *labels,
                    const char *params, int esr)
{
    const char *names[F] = {"mom", "vol", "n1", "n2", "level"};
    vfr_model_config cfg = {"lightgbm", params, obj, VFR_DEVICE_CPU, 11, F, names, 2, NULL};
    vfr_dataview *tr = NULL, *va = NULL, *all = NULL;
    vfr_model *m = NULL;
    vfr_fit_result res;
    vfr_fit_options opt = {esr, 0, NULL};
    static double p64[N];
    static float p32[N];
    char path[600], file[64];
    int ok = vfr_dataview_create(X, labels, ntr, F, &tr) == VFR_OK &&
             vfr_dataview_create(X + ntr * F, labels + ntr, nva, F, &va) == VFR_OK &&
             vfr_dataview_create(X, labels, N, F, &all) == VFR_OK && vfr_model_create(&cfg, &m) == VFR_OK &&
             vfr_model_fit(m, tr, va, &opt, &res) == VFR_OK;
    snprintf(path, sizeof path, "%s/%s.model.txt", dir, tag);
    ok = ok && vfr_model_save(m, path) == VFR_OK && vfr_model_predict_f64(m, all, p64) == VFR_OK &&
         vfr_model_predict(m, all, p32) == VFR_OK;
    snprintf(file, sizeof file, "%s.pred.f64", tag);
    ok = ok && write_bin(dir, file, p64, sizeof p64) == 0;
    snprintf(file, sizeof file, "%s.pred.f32", tag);
    ok = ok && write_bin(dir, file, p32, sizeof p32) == 0;
    snprintf(file, sizeof file, "%s.y.f32", tag);
    ok = ok && write_bin(dir, file, labels, sizeof(float) * N) == 0;
    if (ok) {
        char *d = vfr_model_describe(m);
        snprintf(path, sizeof path, "%s/%s.json", dir, tag);
        FILE *f = fopen(path, "w");
        ok = d && f && fprintf(f, "{\"rounds\": %d, \"bestRound\": %d, \"earlyStoppingRounds\": %d, "
                                  "\"ntr\": %d, \"nva\": %d, \"F\": %d, \"describe\": %s}\n",
                               res.rounds, res.best_round, esr, ntr, nva, F, d) > 0;
        if (f)
            ok = fclose(f) == 0 && ok;
        free(d);
    }
    if (!ok)
        fprintf(stderr, "test_lightgbm --dump %s: %s\n", tag, vfr_last_error());
    vfr_model_destroy(m);
    vfr_dataview_destroy(tr), vfr_dataview_destroy(va), vfr_dataview_destroy(all);
    return ok ? 0 : 1;
}

static int dump(const char *dir)
{
    make_data();
    if (write_bin(dir, "X.f32", X, sizeof X) != 0) {
        fprintf(stderr, "test_lightgbm: cannot write to %s\n", dir);
        return 1;
    }
    int rc = dump_one(dir, "direction", VFR_OBJECTIVE_DIRECTION, y,
                      "{\"num_leaves\": 15, \"learning_rate\": 0.3, \"n_estimators\": 300, "
                      "\"min_child_samples\": 30, \"subsample\": 0.8, \"subsample_freq\": 1, "
                      "\"colsample_bytree\": 0.8, \"lambda_l2\": 1.0}",
                      10);
    rc |= dump_one(dir, "return", VFR_OBJECTIVE_RETURN, yr,
                   "{\"num_leaves\": 31, \"learning_rate\": 0.1, \"num_iterations\": 80, \"max_bin\": 63, "
                   "\"min_gain_to_split\": 0.0, \"force_row_wise\": true}",
                   5);
    return rc;
}

int main(int argc, char **argv)
{
    vfr_lightgbm_info info;
    if (vfr_lightgbm_probe(&info) != VFR_OK) {
        fprintf(stderr, "test_lightgbm: %s\n", vfr_last_error());
        return 1; /* setup.sh installs the lightgbm wheel: its absence is a failure */
    }
    if (argc == 3 && strcmp(argv[1], "--dump") == 0)
        return dump(argv[2]);
    make_data();
    const char *names[F] = {"mom", "vol", "n 1", "n[2]", "level"}; /* LightGBM refuses some characters */
    vfr_model_config cfg = {"lightgbm",
                            "{\"num_leaves\": 31, \"learning_rate\": 0.5, \"n_estimators\": 400, "
                            "\"min_child_samples\": 5}",
                            VFR_OBJECTIVE_DIRECTION, VFR_DEVICE_CPU, 7, F, names, 2, NULL};
    vfr_dataview *tr, *va, *te;
    CHECK_OK(vfr_dataview_create(X, y, ntr, F, &tr));
    CHECK_OK(vfr_dataview_create(X + ntr * F, y + ntr, nva, F, &va));
    CHECK_OK(vfr_dataview_create(X + (ntr + nva) * F, y + ntr + nva, nte, F, &te));
    vfr_model *m = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL;
    vfr_fit_options opt = {10, 0, NULL};
    vfr_fit_result res;
    CHECK_OK(vfr_model_create(&cfg, &m));
    CHECK_OK(vfr_model_fit(m, tr, va, &opt, &res));
    /* a high learning rate overfits fast: early stopping must cut in */
    CHECK(res.rounds < 400 && res.rounds == res.best_round + 1 + 10);
    CHECK(strcmp(res.loss_name, "logloss") == 0 && res.train_loss < res.best_val_loss);
    static float pv[N], pt[N], pt2[N];
    CHECK_OK(vfr_model_predict(m, va, pv));
    CHECK_NEAR(logloss(pv, y + ntr, nva), res.best_val_loss, 1e-6, 1e-6); /* kept at the best iteration */
    CHECK_OK(vfr_model_predict(m, te, pt));
    int correct = 0;
    for (int i = 0; i < nte; i++)
        correct += (pt[i] > 0.5f) == (y[ntr + nva + i] > 0.5f);
    CHECK(correct > 0.85 * nte);

    double imp[F];
    CHECK_OK(vfr_model_importance(m, imp));
    CHECK(imp[0] > imp[1] && imp[1] > imp[2] && imp[1] > imp[3] && imp[0] > 0);

    char path[512];
    snprintf(path, sizeof path, "%s/model.txt", test_tmpdir());
    CHECK_OK(vfr_model_save(m, path));
    vfr_model_config lc = cfg;
    lc.params_json = "{\"not_a_parameter\": 1}"; /* ignored on load */
    CHECK_OK(vfr_model_load(&lc, path, &m2));
    if (m2) {
        CHECK_OK(vfr_model_predict(m2, te, pt2));
        CHECK(memcmp(pt, pt2, sizeof *pt * nte) == 0);
        char *d = vfr_model_describe(m2);
        char want[64];
        snprintf(want, sizeof want, "\"roundsTrained\":%d", res.best_round + 1);
        CHECK(d && strstr(d, want) && strstr(d, "\"type\":\"lightgbm\""));
        free(d);
        double imp2[F];
        CHECK_OK(vfr_model_importance(m2, imp2));
        for (int f = 0; f < F; f++)
            CHECK_NEAR(imp2[f], imp[f], 1e-9, 1e-9);
    }
    /* same seed, same model: identical predictions (the Dataset is reused) */
    CHECK_OK(vfr_model_create(&cfg, &m3));
    vfr_fit_result res3;
    CHECK_OK(vfr_model_fit(m3, tr, va, &opt, &res3));
    CHECK_OK(vfr_model_predict(m3, te, pt2));
    CHECK(memcmp(pt, pt2, sizeof *pt * nte) == 0 && res3.best_round == res.best_round);
    /* another seed with bagging: a different model */
    vfr_model_config other = cfg;
    other.params_json = "{\"num_leaves\": 31, \"learning_rate\": 0.5, \"n_estimators\": 400, "
                        "\"bagging_fraction\": 0.5, \"bagging_freq\": 1}";
    other.seed = 8;
    CHECK_OK(vfr_model_create(&other, &m4));
    CHECK_OK(vfr_model_fit(m4, tr, va, &opt, &res3));
    CHECK_OK(vfr_model_predict(m4, te, pt2));
    CHECK(memcmp(pt, pt2, sizeof *pt * nte) != 0);
    vfr_model_destroy(m4);
    m4 = NULL;

    /* no validation set: every round is kept; max_rounds (halving) caps it */
    vfr_model_config small = cfg;
    small.params_json = "{\"n_estimators\": 7, \"num_leaves\": 4, \"max_bin\": 31}";
    CHECK_OK(vfr_model_create(&small, &m4));
    CHECK_OK(vfr_model_fit(m4, tr, NULL, &opt, &res));
    CHECK(res.rounds == 7 && res.best_round == 6 && isnan(res.best_val_loss));
    vfr_fit_options capped = {10, 3, NULL};
    CHECK_OK(vfr_model_fit(m4, tr, va, &capped, &res));
    CHECK(res.rounds == 3);
    vfr_model_destroy(m4);

    /* regression objective */
    vfr_model_config reg = small;
    reg.objective = VFR_OBJECTIVE_RETURN;
    CHECK_OK(vfr_model_create(&reg, &m4));
    CHECK_OK(vfr_model_fit(m4, tr, va, &opt, &res));
    CHECK(strcmp(res.loss_name, "rmse") == 0 && res.best_val_loss < 0.6);
    vfr_model_destroy(m4);

    /* strict parameters, at job load (the hook) and at create */
    CHECK_FAIL(vfr_model_check_params("lightgbm", "{\"num_leave\": 31}"), VFR_ERR_INVALID_ARG,
               "hyperparameters.num_leave: not a LightGBM parameter vfr knows; did you mean num_leaves?");
    CHECK_FAIL(vfr_model_check_params("lightgbm", "{\"num_leaves\": \"many\"}"), VFR_ERR_INVALID_ARG,
               "hyperparameters.num_leaves: expected a number, got a string");
    CHECK_FAIL(vfr_model_check_params("lightgbm", "{\"num_leaves\": 1}"), VFR_ERR_INVALID_ARG,
               "num_leaves: 1 is out of range [2, 131072]");
    CHECK_FAIL(vfr_model_check_params("lightgbm", "{\"num_leaves\": 31.5}"), VFR_ERR_INVALID_ARG, "an integer");
    CHECK_FAIL(vfr_model_check_params("lightgbm", "{\"feature_fraction\": 0}"), VFR_ERR_INVALID_ARG,
               "out of range (0, 1]");
    CHECK_FAIL(vfr_model_check_params("lightgbm", "{\"deterministic\": 1}"), VFR_ERR_INVALID_ARG, "true or false");
    CHECK_FAIL(vfr_model_check_params("lightgbm", "{\"boosting\": \"dart\"}"), VFR_ERR_INVALID_ARG,
               "'dart' is not supported");
    CHECK_FAIL(vfr_model_check_params("lightgbm", "{\"subsample\": 0.8, \"bagging_fraction\": 0.7}"),
               VFR_ERR_INVALID_ARG, "bagging_fraction: the same LightGBM parameter as subsample");
    CHECK_FAIL(vfr_model_check_params("lightgbm", "{\"seed\": 3}"), VFR_ERR_INVALID_ARG, "trainingConfig.seed");
    CHECK_FAIL(vfr_model_check_params("lightgbm", "{\"force_row_wise\": true, \"force_col_wise\": true}"),
               VFR_ERR_INVALID_ARG, "pick one");
    CHECK_OK(vfr_model_check_params("lightgbm", "{\"min_child_samples\": 20, \"lambda_l1\": 0.1, "
                                                "\"min_gain_to_split\": 0, \"max_bin\": 255}"));
    vfr_model_config bad = cfg;
    bad.params_json = "{\"max_depht\": 3}";
    CHECK_FAIL(vfr_model_create(&bad, &m4), VFR_ERR_INVALID_ARG, "did you mean max_depth?");
    /* a value LightGBM itself refuses is reported with its words */
    bad.params_json = "{\"boosting\": \"rf\"}"; /* rf needs bagging */
    CHECK_OK(vfr_model_create(&bad, &m4));
    if (m4)
        CHECK_FAIL(vfr_model_fit(m4, tr, va, &opt, &res), VFR_ERR_INVALID_ARG, "LightGBM refused the parameters");
    vfr_model_destroy(m4);
    m4 = NULL;
    int cuda = 1;
    CHECK_OK(vfr_lightgbm_cuda(&cuda));
    if (!cuda) {
        bad = cfg;
        bad.device = VFR_DEVICE_CUDA;
        CHECK_FAIL(vfr_model_create(&bad, &m4), VFR_ERR_NO_DEVICE, "VFR_LIGHTGBM_LIB");
    }
    CHECK_FAIL(vfr_model_load(&cfg, "/nonexistent/model.txt", &m4), VFR_ERR_NOT_FOUND, "/nonexistent");
    snprintf(path, sizeof path, "%s/not_a_model.txt", test_tmpdir());
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("{\"learner\": {}}\n", f);
        fclose(f);
    }
    CHECK_FAIL(vfr_model_load(&cfg, path, &m4), VFR_ERR_FORMAT, "not a LightGBM text model");
    vfr_model_destroy(m), vfr_model_destroy(m2), vfr_model_destroy(m3);
    vfr_dataview_destroy(tr), vfr_dataview_destroy(va), vfr_dataview_destroy(te);
    return test_done("test_lightgbm");
}
