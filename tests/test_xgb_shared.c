/* test_xgb_shared.c: the dataview's shared XGBoost matrices are keyed by their
 * quantization parameters (max_bin): trials with different max_bin fitting
 * concurrently on one view get one matrix each and the same models as alone
 * on fresh views; equal max_bin shares one matrix; past the view's slots a
 * trial gets a matrix of its own. */
#include <pthread.h>
#include <stdint.h>

#include "model_internal.h"
#include "test_util.h"
#include "vfr/model.h"
#include "vfr/xgboost.h"

#define N 3000
#define NTE 500
#define F 5

static float X[N * F], y[N];
static const char *names[F] = {"a", "b", "c", "d", "e"};

static uint64_t s = 0x2545F4914F6CDD1Dull;
static double u(void)
{
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    return (double)(s >> 11) / 9007199254740992.0;
}

typedef struct job {
    int max_bin;
    vfr_dataview *tr, *te;
    float pred[NTE];
    vfr_status st;
} job;

static void *fit_one(void *arg)
{
    job *j = arg;
    char params[160];
    snprintf(params, sizeof params, "{\"max_depth\": 4, \"n_estimators\": 25, \"max_bin\": %d}", j->max_bin);
    vfr_model_config cfg = {"xgboost", params, VFR_OBJECTIVE_DIRECTION, VFR_DEVICE_CPU, 3, F, names, 1, NULL};
    vfr_model *m = NULL;
    vfr_fit_options opt = {0, 0, NULL};
    vfr_fit_result res;
    j->st = vfr_model_create(&cfg, &m);
    if (j->st == VFR_OK)
        j->st = vfr_model_fit(m, j->tr, NULL, &opt, &res);
    if (j->st == VFR_OK)
        j->st = vfr_model_predict(m, j->te, j->pred);
    vfr_model_destroy(m);
    return NULL;
}

/* A fit on a fresh view of its own: the reference. */
static void alone(int max_bin, vfr_dataview *te, float *pred)
{
    job j = {max_bin, NULL, te, {0}, VFR_OK};
    CHECK_OK(vfr_dataview_create(X, y, N - NTE, F, &j.tr));
    fit_one(&j);
    CHECK_OK(j.st);
    memcpy(pred, j.pred, sizeof j.pred);
    vfr_dataview_destroy(j.tr);
}

int main(void)
{
    vfr_xgboost_info info;
    if (vfr_xgboost_probe(&info) != VFR_OK) {
        fprintf(stderr, "test_xgb_shared: %s\n", vfr_last_error());
        return 1; /* setup.sh installs libxgboost */
    }
    for (int i = 0; i < N; i++) {
        for (int f = 0; f < F; f++)
            X[i * F + f] = (float)(u() * u() * 10 - 2); /* skewed: the bins matter */
        y[i] = X[i * F] + 0.3 * X[i * F + 1] + u() - 0.5 > 0.5 ? 1.0f : 0.0f;
    }
    vfr_dataview *te = NULL;
    CHECK_OK(vfr_dataview_create(X + (N - NTE) * F, y + N - NTE, NTE, F, &te));
    static float ref16[NTE], ref256[NTE];
    alone(16, te, ref16);
    alone(256, te, ref256);
    CHECK(memcmp(ref16, ref256, sizeof ref16) != 0); /* max_bin changes the model */

    /* 3 rounds of 4 concurrent trials, max_bin 16, 256, 16, 256 on one view */
    for (int round = 0; round < 3; round++) {
        vfr_dataview *tr = NULL;
        CHECK_OK(vfr_dataview_create(X, y, N - NTE, F, &tr));
        static job jobs[4];
        pthread_t th[4];
        for (int k = 0; k < 4; k++) {
            jobs[k] = (job){k % 2 ? 256 : 16, tr, te, {0}, VFR_OK};
            pthread_create(&th[k], NULL, fit_one, &jobs[k]);
        }
        for (int k = 0; k < 4; k++)
            pthread_join(th[k], NULL);
        for (int k = 0; k < 4; k++) {
            CHECK_OK(jobs[k].st);
            CHECK(memcmp(jobs[k].pred, k % 2 ? ref256 : ref16, sizeof ref16) == 0);
        }
        CHECK(tr->n_xgb == 1 + 1); /* one matrix per max_bin, shared by equal ones */
        vfr_dataview_destroy(tr);
    }

    /* more keys than slots: the extra trial builds its own matrix */
    vfr_dataview *tr = NULL;
    CHECK_OK(vfr_dataview_create(X, y, N - NTE, F, &tr));
    for (int k = 0; k < VFR_DATAVIEW_XGB_SLOTS; k++) {
        job j = {8 + k, tr, te, {0}, VFR_OK};
        fit_one(&j);
        CHECK_OK(j.st);
    }
    CHECK(tr->n_xgb == VFR_DATAVIEW_XGB_SLOTS);
    job j = {16, tr, te, {0}, VFR_OK}; /* 16 is one of the slots */
    fit_one(&j);
    CHECK_OK(j.st);
    CHECK(memcmp(j.pred, ref16, sizeof ref16) == 0);
    job extra = {256, tr, te, {0}, VFR_OK}; /* a ninth key */
    fit_one(&extra);
    CHECK_OK(extra.st);
    CHECK(memcmp(extra.pred, ref256, sizeof ref256) == 0);
    CHECK(tr->n_xgb == VFR_DATAVIEW_XGB_SLOTS);
    vfr_dataview_destroy(tr);
    vfr_dataview_destroy(te);
    return test_done("test_xgb_shared");
}
