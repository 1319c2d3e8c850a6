/* test_metrics.c: the CPU twin of the batched model metrics against
 * scikit-learn and SciPy (golden values in tests/fixtures/metrics_golden.json,
 * made by scripts/fixtures/make_metrics_fixtures.py), property tests (AUC of a
 * perfect ranking is 1, rank IC is invariant to monotone maps, ...), edge cases
 * and argument errors. */
#include <stdint.h>
#include <string.h>

#include "test_metrics_fixture.h"
#define TEST_SEED 0x9E3779B97F4A7C15ull
#include "test_util.h"
#include "vfr/metrics.h"


static int find_metric(const char *name)
{
    for (int k = 0; k < VFR_METRIC_COUNT; k++)
        if (strcmp(vfr_metrics_name((vfr_metric)k), name) == 0)
            return k;
    return -1;
}

static void golden(void)
{
    cJSON *doc = fixture_load();
    const cJSON *tol = cJSON_GetObjectItem(doc, "tolerance");
    double rtol = cJSON_GetObjectItem(tol, "rtol")->valuedouble;
    double atol = cJSON_GetObjectItem(tol, "atol")->valuedouble;
    CHECK(rtol <= 1e-6);
    const cJSON *c;
    int cases = 0, checked = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "metrics_cases"))
    {
        fixture_panel fp;
        fixture_panel_load(c, &fp);
        int32_t M;
        float *score = fixture_scores(cJSON_GetObjectItem(c, "scores"), &M, fp.p.N);
        vfr_metrics_options o;
        vfr_metrics_options_default(&o);
        CHECK_OK(vfr_metrics_task_parse(cJSON_GetObjectItem(c, "task")->valuestring, &o.task));
        o.threshold = cJSON_GetObjectItem(c, "threshold")->valuedouble;
        double *out = malloc(sizeof *out * (size_t)M * VFR_METRIC_COUNT);
        double *one = malloc(sizeof *one * (size_t)M * VFR_METRIC_COUNT);
        CHECK_OK(vfr_metrics_batch_cpu(&fp.p, score, M, &o, out));
        /* the table does not depend on the thread count, to the bit */
        o.threads = 1;
        CHECK_OK(vfr_metrics_batch_cpu(&fp.p, score, M, &o, one));
        CHECK(memcmp(out, one, sizeof *out * (size_t)M * VFR_METRIC_COUNT) == 0);
        const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
        int32_t m = 0;
        const cJSON *exp;
        cJSON_ArrayForEach(exp, cJSON_GetObjectItem(c, "expected"))
        {
            const cJSON *kv;
            cJSON_ArrayForEach(kv, exp)
            {
                int k = find_metric(kv->string);
                CHECK(k >= 0);
                if (k < 0)
                    continue;
                double got = out[(size_t)m * VFR_METRIC_COUNT + (size_t)k], want = fixture_num(kv);
                if (!fixture_close(got, want, rtol, atol)) {
                    fprintf(stderr, "%s model %d %s: got %.17g want %.17g\n", name, m, kv->string,
                            got, want);
                    test_failures++;
                }
                checked++;
            }
            m++;
        }
        CHECK(m == M);
        cases++;
        free(out), free(one), free(score);
        fixture_panel_free(&fp);
    }
    CHECK(cases == 2);
    CHECK(checked > 100);
    cJSON_Delete(doc);
}

/* A full random panel: T dates x S symbols, labels 0/1, fwd returns. */
typedef struct rpanel {
    vfr_panel p;
    int64_t *off;
    int32_t *sym;
    float *label, *fwd;
} rpanel;

static void rpanel_make(rpanel *r, int32_t T, int32_t S)
{
    int64_t N = (int64_t)T * S;
    r->off = malloc(sizeof *r->off * (size_t)(T + 1));
    r->sym = malloc(sizeof *r->sym * (size_t)(N ? N : 1));
    r->label = malloc(sizeof *r->label * (size_t)(N ? N : 1));
    r->fwd = malloc(sizeof *r->fwd * (size_t)(N ? N : 1));
    for (int32_t t = 0; t <= T; t++)
        r->off[t] = (int64_t)t * S;
    for (int64_t i = 0; i < N; i++) {
        r->sym[i] = (int32_t)(i % S);
        r->fwd[i] = (float)(test_urand() - 0.5) * 0.1f;
        r->label[i] = test_urand() < 0.4 ? 1.0f : 0.0f;
    }
    r->p = (vfr_panel){N, T, S, r->off, r->sym, r->label, r->fwd, NULL};
}

static void rpanel_free(rpanel *r) { free(r->off), free(r->sym), free(r->label), free(r->fwd); }

static void properties(void)
{
    rpanel r;
    rpanel_make(&r, 30, 40);
    int64_t N = r.p.N;
    float *score = malloc(sizeof *score * 4 * (size_t)N);
    /* 0: perfectly ranked; 1: all equal; 2: random; 3: a strictly monotone map of 2 */
    for (int64_t i = 0; i < N; i++) {
        score[i] = r.label[i] == 1.0f ? 0.6f + 0.3f * (float)test_urand() : 0.1f + 0.3f * (float)test_urand();
        score[N + i] = 0.5f;
        score[2 * N + i] = (float)test_urand();
        score[3 * N + i] = score[2 * N + i] * 0.25f; /* exact: no new ties */
    }
    vfr_metrics_options o;
    vfr_metrics_options_default(&o);
    double out[4 * VFR_METRIC_COUNT];
    CHECK_OK(vfr_metrics_batch_cpu(&r.p, score, 4, &o, out));
#define AT(m, k) out[(m) * VFR_METRIC_COUNT + (k)]
    CHECK(AT(0, VFR_METRIC_ROC_AUC) == 1.0);
    CHECK(AT(0, VFR_METRIC_ACCURACY) == 1.0);
    CHECK(AT(1, VFR_METRIC_ROC_AUC) == 0.5);         /* every pair tied */
    CHECK(AT(1, VFR_METRIC_IC_DATES) == 0);           /* constant scores: no IC */
    CHECK(isnan(AT(1, VFR_METRIC_IC)) && isnan(AT(1, VFR_METRIC_RANK_IC)));
    CHECK(AT(1, VFR_METRIC_TP) == 0 && AT(1, VFR_METRIC_PRECISION) == 0); /* 0.5 is not > 0.5 */
    /* rank metrics see only the order: AUC and rank IC agree under a monotone map */
    CHECK(AT(2, VFR_METRIC_ROC_AUC) == AT(3, VFR_METRIC_ROC_AUC));
    CHECK_NEAR(AT(2, VFR_METRIC_RANK_IC), AT(3, VFR_METRIC_RANK_IC), 1e-15, 1e-12);
    CHECK(AT(2, VFR_METRIC_IC_DATES) == 30);
    /* AUC of reversed scores is 1 - AUC */
    for (int64_t i = 0; i < N; i++)
        score[i] = -score[2 * N + i];
    CHECK_OK(vfr_metrics_batch_cpu(&r.p, score, 1, &o, out));
    double auc_rev = out[VFR_METRIC_ROC_AUC];
    CHECK_OK(vfr_metrics_batch_cpu(&r.p, score + 2 * N, 1, &o, out));
    CHECK_NEAR(auc_rev, 1.0 - out[VFR_METRIC_ROC_AUC], 1e-15, 0);
    /* regression: a perfect prediction of fwd has IC 1, R2 1, MSE 0 */
    o.task = VFR_TASK_REGRESSION;
    memcpy(r.label, r.fwd, sizeof *r.label * (size_t)N);
    memcpy(score, r.fwd, sizeof *score * (size_t)N);
    CHECK_OK(vfr_metrics_batch_cpu(&r.p, score, 1, &o, out));
    CHECK(out[VFR_METRIC_MSE] == 0 && out[VFR_METRIC_R2] == 1.0 && out[VFR_METRIC_MAE] == 0);
    CHECK_NEAR(out[VFR_METRIC_IC], 1.0, 1e-12, 0);
    CHECK_NEAR(out[VFR_METRIC_RANK_IC], 1.0, 1e-12, 0);
    CHECK(isnan(out[VFR_METRIC_ROC_AUC]));              /* the other task's columns are NaN */
#undef AT
    free(score);
    rpanel_free(&r);
}

static void edges(void)
{
    vfr_metrics_options o;
    vfr_metrics_options_default(&o);
    double out[2 * VFR_METRIC_COUNT];
    /* no rows at all */
    int64_t off0[1] = {0};
    vfr_panel empty = {0, 0, 0, off0, NULL, NULL, NULL, NULL};
    CHECK_OK(vfr_metrics_batch_cpu(&empty, NULL, 1, &o, out));
    CHECK(out[VFR_METRIC_N] == 0 && isnan(out[VFR_METRIC_ACCURACY]) && isnan(out[VFR_METRIC_IC]));
    /* one date, one symbol */
    int64_t off1[2] = {0, 1};
    int32_t sym1[1] = {0};
    float lab1[1] = {1}, fwd1[1] = {0.01f}, sc1[2] = {0.7f, NAN};
    vfr_panel one = {1, 1, 1, off1, sym1, lab1, fwd1, NULL};
    CHECK_OK(vfr_metrics_batch_cpu(&one, sc1, 2, &o, out));
    CHECK(out[VFR_METRIC_N] == 1 && out[VFR_METRIC_ACCURACY] == 1 && out[VFR_METRIC_TP] == 1);
    CHECK(isnan(out[VFR_METRIC_ROC_AUC]));       /* one class only */
    CHECK(out[VFR_METRIC_IC_DATES] == 0);         /* one row: no correlation */
    CHECK(out[VFR_METRIC_COUNT + VFR_METRIC_N] == 0); /* NaN score: nothing scored */
    CHECK(isnan(out[VFR_METRIC_COUNT + VFR_METRIC_ACCURACY]));
    /* errors */
    float bad[1] = {2};
    vfr_panel badl = {1, 1, 1, off1, sym1, bad, NULL, NULL};
    CHECK_FAIL(vfr_metrics_batch_cpu(&badl, sc1, 1, &o, out), VFR_ERR_INVALID_ARG, "row 0");
    o.task = VFR_TASK_REGRESSION; /* any real label is fine for regression */
    CHECK_OK(vfr_metrics_batch_cpu(&badl, sc1, 1, &o, out));
    CHECK_FAIL(vfr_metrics_batch_cpu(&one, sc1, 0, &o, out), VFR_ERR_INVALID_ARG, "M");
    int64_t offbad[2] = {0, 2};
    vfr_panel badoff = {1, 1, 1, offbad, sym1, lab1, NULL, NULL};
    CHECK_FAIL(vfr_metrics_batch_cpu(&badoff, sc1, 1, &o, out), VFR_ERR_INVALID_ARG, "offsets");
    int64_t off2[2] = {0, 2};
    int32_t sym2[2] = {1, 1};
    float lab2[2] = {0, 1}, sc2[2] = {0.1f, 0.2f};
    vfr_panel dup = {2, 1, 2, off2, sym2, lab2, NULL, NULL};
    CHECK_FAIL(vfr_metrics_batch_cpu(&dup, sc2, 1, &o, out), VFR_ERR_INVALID_ARG, "ascending");
    sym2[0] = 0, sym2[1] = 5;
    CHECK_FAIL(vfr_metrics_batch_cpu(&dup, sc2, 1, &o, out), VFR_ERR_INVALID_ARG, "symbol 5");
    /* names */
    CHECK(strcmp(vfr_metrics_name(VFR_METRIC_ROC_AUC), "roc_auc") == 0);
    CHECK(strcmp(vfr_metrics_name(VFR_METRIC_COUNT), "?") == 0);
    vfr_task t;
    CHECK_FAIL(vfr_metrics_task_parse("ranking", &t), VFR_ERR_INVALID_ARG, "ranking");
    /* a CPU-only build, or no device: the CUDA entry point says so */
    if (vfr_device_count() == 0)
        CHECK_FAIL(vfr_metrics_batch_cuda(&one, sc1, 1, &o, out), VFR_ERR_NO_DEVICE, NULL);
}

int main(void)
{
    golden();
    properties();
    edges();
    return test_done("test_metrics");
}
