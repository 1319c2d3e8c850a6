/* test_lstm_model.c: modelType "lstm" end to end through the model interface
 * on an in-memory panel with a planted sequential pattern: the label of
 * (date t, symbol s) is the sign of the sum of feature 0 over the symbol's
 * last 5 rows. The current row alone can give at most ~65% accuracy (it
 * carries a fifth of the sum's variance); the LSTM, seeing the lookback, must
 * do clearly better. Also: strict hyperparameters, history required, NaN for
 * rows without a full history, save/load round trip and seeded determinism,
 * both objectives. */
#include <stdint.h>

#define TEST_SEED 0x9E3779B97F4A7C15ull
#include "test_util.h"
#include "vfr/lstm.h"
#include "vfr/model.h"

enum { S = 24, T = 320, F = 3, PATTERN = 5 };


/* The panel: rows sorted by date then symbol, row = t * S + s. */
static float X[T * S * F], ydir[T * S], yret[T * S];
static int64_t prev[T * S];

static void make_panel(void)
{
    for (int t = 0; t < T; t++)
        for (int s = 0; s < S; s++) {
            int64_t r = (int64_t)t * S + s;
            X[r * F + 0] = (float)test_nrand();
            X[r * F + 1] = (float)(3 + 2 * test_nrand()); /* noise, not centred */
            X[r * F + 2] = test_urand() < 0.1 ? NAN : (float)test_nrand(); /* noise with gaps */
            prev[r] = t ? r - S : -1;
        }
    for (int t = 0; t < T; t++)
        for (int s = 0; s < S; s++) {
            int64_t r = (int64_t)t * S + s;
            double sum = 0;
            for (int k = 0; k < PATTERN && t - k >= 0; k++)
                sum += X[(r - (int64_t)k * S) * F];
            ydir[r] = t >= PATTERN - 1 ? (float)(sum > 0) : NAN;
            yret[r] = t >= PATTERN - 1 ? (float)(0.01 * sum) : NAN;
        }
}

/* A view of dates [t0, t1) with the panel's history. */
static vfr_dataview *view(int t0, int t1, const float *y, int history)
{
    vfr_dataview *v = NULL;
    int64_t r0 = (int64_t)t0 * S;
    CHECK_OK(vfr_dataview_create(X + r0 * F, y ? y + r0 : NULL, (int64_t)(t1 - t0) * S, F, &v));
    if (v && history)
        vfr_dataview_set_history(v, X, r0, prev);
    return v;
}

static const char *const names[F] = {"signal", "noise", "gappy"};

static vfr_model_config config(vfr_objective obj, const char *params, uint64_t seed)
{
    vfr_model_config c = {"lstm", params, obj, VFR_DEVICE_CPU, seed, F, names, 0, NULL};
    return c;
}

#define PARAMS \
    "{\"lookback\": 8, \"units\": [16, 8], \"dropout\": 0.1, \"learning_rate\": 0.01, \"batch_size\": 32, " \
    "\"epochs\": 25, \"patience\": 5, \"clip_norm\": 1.0}"

static void params_are_strict(void)
{
    vfr_model *m = NULL;
    vfr_model_config c = config(VFR_OBJECTIVE_DIRECTION, "{\"lookbak\": 5}", 1);
    CHECK_FAIL(vfr_model_create(&c, &m), VFR_ERR_INVALID_ARG, "trainingConfig.hyperparameters.lookbak");
    CHECK_FAIL(vfr_model_create(&c, &m), VFR_ERR_INVALID_ARG, "did you mean lookback");
    c.params_json = "{\"units\": 64}";
    CHECK_FAIL(vfr_model_create(&c, &m), VFR_ERR_INVALID_ARG, "trainingConfig.hyperparameters.units");
    c.params_json = "{\"units\": [64, 32, 16, 8, 4]}";
    CHECK_FAIL(vfr_model_create(&c, &m), VFR_ERR_INVALID_ARG, "units");
    c.params_json = "{\"dropout\": \"0.3\"}";
    CHECK_FAIL(vfr_model_create(&c, &m), VFR_ERR_INVALID_ARG, "trainingConfig.hyperparameters.dropout");
    c.params_json = "{\"dropout\": 1}";
    CHECK_FAIL(vfr_model_create(&c, &m), VFR_ERR_INVALID_ARG, "dropout");
    c.params_json = "{\"batch_size\": 64.5}";
    CHECK_FAIL(vfr_model_create(&c, &m), VFR_ERR_INVALID_ARG, "trainingConfig.hyperparameters.batch_size");
    c.params_json = "{\"math\": \"fp16\"}";
    CHECK_FAIL(vfr_model_create(&c, &m), VFR_ERR_INVALID_ARG, "trainingConfig.hyperparameters.math");
    c.params_json = "[1]";
    CHECK_FAIL(vfr_model_create(&c, &m), VFR_ERR_INVALID_ARG, "hyperparameters");
    CHECK(m == NULL);
    c.params_json = "{}"; /* every default */
    CHECK_OK(vfr_model_create(&c, &m));
    char *d = m ? vfr_model_describe(m) : NULL;
    CHECK(d && strstr(d, "\"lookback\":\t20") && strstr(d, "\"units\":\t[64, 32]") && strstr(d, "\"math\":\t\"fma\""));
    free(d);
    vfr_model_destroy(m);
    CHECK(strcmp(vfr_model_artifact_name("lstm"), "model.h5") == 0);
    if (vfr_device_count() == 0) {
        c.device = VFR_DEVICE_CUDA;
        CHECK_FAIL(vfr_model_create(&c, &m), VFR_ERR_NO_DEVICE, "cuda");
    }
}

static double accuracy(const float *p, const float *y, int64_t n, int64_t *scored)
{
    int64_t hit = 0, k = 0;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(p[i]) && isfinite(y[i])) {
            hit += (p[i] > 0.5f) == (y[i] > 0.5f);
            k++;
        }
    *scored = k;
    return k ? (double)hit / (double)k : 0;
}

static void direction(void)
{
    vfr_dataview *tr = view(0, 220, ydir, 1), *va = view(220, 270, ydir, 1), *te = view(270, T, ydir, 1);
    vfr_dataview *bare = view(0, 220, ydir, 0);
    vfr_model_config c = config(VFR_OBJECTIVE_DIRECTION, PARAMS, 7);
    vfr_model *m = NULL, *m2 = NULL, *m3 = NULL, *ml = NULL;
    vfr_fit_result res;
    CHECK_OK(vfr_model_create(&c, &m));
    if (!m || !tr || !va || !te || !bare)
        return;
    CHECK_FAIL(vfr_model_fit(m, bare, va, NULL, &res), VFR_ERR_INVALID_ARG, "lstm needs sequence history");
    float pbad[4];
    CHECK_FAIL(vfr_model_predict(m, te, pbad), VFR_ERR_INVALID_ARG, "not trained");
    CHECK_OK(vfr_model_fit(m, tr, va, NULL, &res));
    fprintf(stderr, "direction: %d epochs, best %d, val logloss %.4f, train %.4f\n", res.rounds, res.best_round,
            res.best_val_loss, res.train_loss);
    CHECK(res.rounds >= 1 && res.rounds <= 25 && res.best_round >= 0 && res.best_round < res.rounds);
    CHECK(isfinite(res.best_val_loss) && strcmp(res.loss_name, "logloss") == 0);
    CHECK(res.best_val_loss < 0.5); /* log 2 = 0.693 is a coin */

    int64_t nte = vfr_dataview_rows(te), ntr = vfr_dataview_rows(tr), k;
    float *p = malloc(sizeof(float) * nte), *p2 = malloc(sizeof(float) * nte), *ptr = malloc(sizeof(float) * ntr);
    CHECK_OK(vfr_model_predict(m, te, p));
    double acc = accuracy(p, ydir + 270 * S, nte, &k);
    double ones = 0;
    for (int64_t i = 0; i < nte; i++)
        ones += ydir[270 * S + i];
    double majority = fmax(ones, nte - ones) / nte;
    fprintf(stderr, "direction: test accuracy %.3f on %lld rows (majority class %.3f)\n", acc, (long long)k, majority);
    CHECK(k == nte);
    CHECK(acc > 0.80 && acc > majority + 0.2);

    /* rows without a full history (the first lookback - 1 dates) are NaN */
    CHECK_OK(vfr_model_predict(m, tr, ptr));
    int nan_ok = 1;
    for (int64_t i = 0; i < ntr; i++)
        nan_ok &= (i < 7 * S) == !isfinite(ptr[i]);
    CHECK(nan_ok);

    double imp[F];
    CHECK_OK(vfr_model_importance(m, imp));
    fprintf(stderr, "importance: %.4f %.4f %.4f\n", imp[0], imp[1], imp[2]);
    CHECK(imp[0] > imp[1] && imp[0] > imp[2]);
    char *d = vfr_model_describe(m);
    CHECK(d && strstr(d, "\"type\":\t\"lstm\"") && strstr(d, "\"epochs_run\""));
    free(d);

    /* save / load: identical predictions */
    char path[512];
    snprintf(path, sizeof path, "%s/model.h5", test_tmpdir());
    CHECK_OK(vfr_model_save(m, path));
    CHECK_OK(vfr_model_load(&c, path, &ml));
    if (ml) {
        CHECK_OK(vfr_model_predict(ml, te, p2));
        CHECK(memcmp(p, p2, sizeof(float) * nte) == 0);
        char *d2 = vfr_model_describe(ml);
        CHECK(d2 && strstr(d2, "\"best_epoch\":\t") && strstr(d2, "\"units\":\t[16, 8]"));
        free(d2);
    }
    vfr_model_config wrong = c;
    wrong.F = F + 1;
    vfr_model *mw = NULL;
    CHECK_FAIL(vfr_model_load(&wrong, path, &mw), VFR_ERR_FORMAT, "features");
    snprintf(path, sizeof path, "%s/not-a-model.h5", test_tmpdir());
    FILE *fp = fopen(path, "w");
    if (fp) {
        fputs("hello", fp);
        fclose(fp);
    }
    CHECK_FAIL(vfr_model_load(&c, path, &mw), VFR_ERR_FORMAT, NULL);
    CHECK(mw == NULL);

    /* same seed: the same model; another seed: another */
    CHECK_OK(vfr_model_create(&c, &m2));
    if (m2) {
        vfr_fit_result r2;
        CHECK_OK(vfr_model_fit(m2, tr, va, NULL, &r2));
        CHECK_OK(vfr_model_predict(m2, te, p2));
        CHECK(memcmp(p, p2, sizeof(float) * nte) == 0);
        CHECK(r2.rounds == res.rounds && r2.best_round == res.best_round && r2.best_val_loss == res.best_val_loss);
    }
    c.seed = 8;
    CHECK_OK(vfr_model_create(&c, &m3));
    if (m3) {
        vfr_fit_options opt = {0, 2, NULL}; /* max_rounds: 2 epochs */
        vfr_fit_result r3;
        CHECK_OK(vfr_model_fit(m3, tr, va, &opt, &r3));
        CHECK(r3.rounds == 2);
        CHECK_OK(vfr_model_predict(m3, te, p2));
        CHECK(memcmp(p, p2, sizeof(float) * nte) != 0);
        volatile int stop = 1;
        vfr_fit_options halt = {0, 0, &stop};
        CHECK_FAIL(vfr_model_fit(m3, tr, va, &halt, &r3), VFR_ERR_INTERRUPTED, "stopped");
    }
    free(p), free(p2), free(ptr);
    vfr_model_destroy(m), vfr_model_destroy(m2), vfr_model_destroy(m3), vfr_model_destroy(ml);
    vfr_dataview_destroy(tr), vfr_dataview_destroy(va), vfr_dataview_destroy(te), vfr_dataview_destroy(bare);
}

static void returns(void)
{
    vfr_dataview *tr = view(0, 220, yret, 1), *va = view(220, 270, yret, 1), *te = view(270, T, yret, 1);
    vfr_model_config c = config(VFR_OBJECTIVE_RETURN, PARAMS, 3);
    vfr_model *m = NULL;
    vfr_fit_result res;
    CHECK_OK(vfr_model_create(&c, &m));
    if (!m || !tr || !va || !te)
        return;
    CHECK_OK(vfr_model_fit(m, tr, va, NULL, &res));
    CHECK(strcmp(res.loss_name, "mse") == 0);
    int64_t n = vfr_dataview_rows(te);
    float *p = malloc(sizeof(float) * n);
    CHECK_OK(vfr_model_predict(m, te, p));
    double sse = 0, sst = 0, mean = 0;
    for (int64_t i = 0; i < n; i++)
        mean += yret[270 * S + i] / n;
    for (int64_t i = 0; i < n; i++) {
        double d = p[i] - yret[270 * S + i], e = yret[270 * S + i] - mean;
        sse += d * d;
        sst += e * e;
    }
    fprintf(stderr, "returns: %d epochs, test R^2 %.3f\n", res.rounds, 1 - sse / sst);
    CHECK(1 - sse / sst > 0.5); /* the current row alone explains 0.2 */
    free(p);
    vfr_model_destroy(m);
    vfr_dataview_destroy(tr), vfr_dataview_destroy(va), vfr_dataview_destroy(te);
}

int main(void)
{
    make_panel();
    params_are_strict();
    direction();
    returns();
    return test_done("test_lstm_model");
}
