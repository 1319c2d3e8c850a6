/* test_prepare.c: the data-quality gate on a dataset with planted bad rows:
 * each kind is dropped and counted under its reason, the survivors are the
 * right rows with the right labels, and too little data is a clear error. */
#include <cjson/cJSON.h>

#include "test_util.h"
#include "vfr/prepare.h"

#define NFEAT 5
#define NDAYS 300

static const char *fn[NFEAT] = {"a", "b", "c", "d", "e"};
static const char *sn[3] = {"AAA", "BBB", "CCC"};
static const int32_t hz[2] = {1, 5};

static double report_num(cJSON *o, const char *a, const char *b)
{
    cJSON *x = cJSON_GetObjectItem(o, a);
    return b ? cJSON_GetObjectItem(x, b)->valuedouble : x->valuedouble;
}

int main(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/planted.h5", test_tmpdir());
    vfr_dataset_spec spec = {NFEAT, fn, 3, sn, 2, hz, 1,
                             (1u << VFR_QUALITY_FRESHNESS) | (1u << VFR_QUALITY_RELIABILITY), 1, 0};
    vfr_dataset_writer *w;
    CHECK_OK(vfr_dataset_writer_open(path, &spec, &w));
    int32_t date[3], sym[3];
    float x[3 * NFEAT], fwd[3 * 2], close[3], fresh[3], rel[3];
    int64_t planted_nan = 0, planted_incomplete = 0, planted_flat = 0, planted_lowq = 0;
    for (int t = 0; t < NDAYS; t++) {
        int n = 0;
        for (int s = 0; s < 3; s++) {
            if (s == 2 && t >= 50) /* CCC: only 50 rows: too few */
                continue;
            date[n] = 18000 + t;
            sym[n] = s;
            for (int f = 0; f < NFEAT; f++)
                x[n * NFEAT + f] = (float)((t * 7 + s * 3 + f) % 11) - 5.0f;
            fwd[n * 2] = (float)(((t + s) % 3) - 1) * 0.01f + 0.001f;
            fwd[n * 2 + 1] = t < NDAYS - 5 ? (t % 2 ? 0.02f : -0.02f) : NAN; /* no label at the end */
            close[n] = 100.0f;
            fresh[n] = rel[n] = 1.0f;
            if (s < 2) {
                if (t % 50 == 7) { /* one NaN feature: non_finite_feature */
                    x[n * NFEAT + 1] = NAN;
                    planted_nan++;
                } else if (t % 50 == 8) { /* two NaN of five: completeness 0.6 */
                    x[n * NFEAT + 0] = x[n * NFEAT + 4] = NAN;
                    planted_incomplete++;
                } else if (t % 50 == 9) { /* stale and unreliable: quality 0.5 */
                    fresh[n] = rel[n] = 0.0f;
                    planted_lowq++;
                } else if (t % 50 == 10 && t < NDAYS - 5) { /* exactly flat move */
                    fwd[n * 2 + 1] = 0.0f;
                    planted_flat++;
                }
            }
            n++;
        }
        const float *q[4] = {NULL, fresh, rel, NULL};
        CHECK_OK(vfr_dataset_writer_append(w, n, date, sym, x, fwd, close, q));
    }
    CHECK_OK(vfr_dataset_writer_commit(w));

    char json[1024];
    snprintf(json, sizeof json,
             "{\"jobId\": \"p\", \"modelName\": \"m\", \"predictionHorizon\": 5,"
             " \"dataConfig\": {\"dataset\": \"%s\", \"minRows\": 100, \"minDates\": 50}}", path);
    vfr_job *job;
    CHECK_OK(vfr_job_parse("job.json", json, &job));
    vfr_dataset *ds;
    CHECK_OK(vfr_dataset_open(path, &ds));
    vfr_prepared *p = NULL;
    char *rep = NULL;
    CHECK_OK(vfr_prepare(ds, job, VFR_DEVICE_CPU, NULL, &p, &rep));
    if (!p || !rep)
        return test_done("test_prepare");
    cJSON *o = cJSON_Parse(rep);
    int64_t in = 2 * NDAYS + 50;
    CHECK(report_num(o, "rowsIn", NULL) == in);
    CHECK(report_num(o, "droppedBy", "no_label") == 2 * 5 + 0);
    CHECK(report_num(o, "droppedBy", "non_finite_feature") == planted_nan);
    CHECK(report_num(o, "droppedBy", "low_completeness") == planted_incomplete);
    CHECK(report_num(o, "droppedBy", "low_quality") == planted_lowq);
    CHECK(report_num(o, "droppedBy", "flat_move") == planted_flat);
    CHECK(report_num(o, "droppedBy", "symbol_too_few_rows") == 50);
    CHECK(report_num(o, "symbolsKept", NULL) == 2);
    CHECK(strcmp(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "symbolsDropped"), 0)->valuestring, "CCC") == 0);
    int64_t kept = 2 * (NDAYS - 5) - planted_nan - planted_incomplete - planted_lowq - planted_flat;
    CHECK(p->n == kept && report_num(o, "rowsKept", NULL) == kept);
    int planted_dates = 0; /* dates whose rows were all planted bad */
    for (int t = 0; t < NDAYS - 5; t++)
        planted_dates += t % 50 >= 7 && t % 50 <= 10;
    CHECK(p->T == NDAYS - 5 - planted_dates);
    CHECK(p->date_row[0] == 0 && p->date_row[p->T] == p->n);
    /* an XGBoost job streams its features by default (dataConfig.memory auto):
     * the panel holds none, and reads them from the file by prepared row */
    CHECK(p->X == NULL && p->src_row != NULL);
    float *X = malloc(sizeof *X * (size_t)p->n_all * NFEAT);
    CHECK(X != NULL);
    if (!X)
        return test_done("test_prepare");
    CHECK_OK(vfr_prepared_read_features(p, 0, p->n_all, X));
    for (int64_t i = 0; i < p->n; i++) {
        int64_t pr = p->prev_row[i]; /* the same symbol's previous kept row */
        CHECK(pr < i && (pr < 0 || (p->symbol[pr] == p->symbol[i] && p->date[pr] < p->date[i])));
        for (int64_t j = pr + 1; pr >= 0 && j < i; j++)
            CHECK(p->symbol[j] != p->symbol[i]);
        CHECK(p->symbol[i] != 2);
        CHECK(p->y[i] == (p->fwd[i] > 0 ? 1.0f : 0.0f));
        CHECK(p->fwd[i] != 0.0f);
        int t = p->date[i] - 18000;
        CHECK(X[i * NFEAT + 2] == (float)((t * 7 + p->symbol[i] * 3 + 2) % 11) - 5.0f);
        CHECK(isfinite(p->fwd1[i]));
    }
    /* dataConfig.memory in_core: the same panel, features held */
    snprintf(json, sizeof json,
             "{\"jobId\": \"p\", \"modelName\": \"m\", \"predictionHorizon\": 5,"
             " \"dataConfig\": {\"dataset\": \"%s\", \"minRows\": 100, \"minDates\": 50, \"memory\": \"in_core\"}}",
             path);
    vfr_job *jc;
    CHECK_OK(vfr_job_parse("job.json", json, &jc));
    vfr_prepared *pc = NULL;
    CHECK_OK(vfr_prepare(ds, jc, VFR_DEVICE_CPU, NULL, &pc, NULL));
    CHECK(pc && pc->X && pc->n == p->n && pc->n_all == p->n_all);
    if (pc && pc->X && pc->n_all == p->n_all) {
        CHECK(memcmp(pc->X, X, sizeof *X * (size_t)p->n_all * NFEAT) == 0);
        CHECK(memcmp(pc->src_row, p->src_row, sizeof *p->src_row * (size_t)p->n_all) == 0);
        CHECK(memcmp(pc->y, p->y, sizeof *p->y * (size_t)p->n) == 0);
        CHECK(memcmp(pc->date, p->date, sizeof *p->date * (size_t)p->n_all) == 0);
        float part[3 * NFEAT]; /* a range across the trainable / tradable boundary */
        if (p->n_all > p->n) {
            CHECK_OK(vfr_prepared_read_features(p, p->n - 1, p->n + 1, part));
            CHECK(memcmp(part, pc->X + (p->n - 1) * NFEAT, sizeof *part * 2 * NFEAT) == 0);
        }
    }
    vfr_prepared_free(pc);
    vfr_job_free(jc);
    free(X);
    cJSON_Delete(o);
    free(rep);
    vfr_prepared_free(p);
    vfr_job_free(job);

    /* a job that will not fit is refused before any feature is read, with
     * the estimate in the message (the memory available is pinned) */
    setenv("VFR_MEMORY_AVAILABLE", "20000", 1);
    snprintf(json, sizeof json,
             "{\"jobId\": \"p\", \"modelName\": \"m\", \"predictionHorizon\": 5,"
             " \"dataConfig\": {\"dataset\": \"%s\", \"memory\": \"in_core\"}}", path);
    CHECK_OK(vfr_job_parse("job.json", json, &job));
    CHECK_FAIL(vfr_prepare(ds, job, VFR_DEVICE_CPU, NULL, &p, NULL), VFR_ERR_INVALID_ARG,
               "dataConfig.memory: in_core");
    vfr_job_free(job);
    snprintf(json, sizeof json,
             "{\"jobId\": \"p\", \"modelName\": \"m\", \"predictionHorizon\": 5, \"modelType\": \"linear\","
             " \"dataConfig\": {\"dataset\": \"%s\", \"memory\": \"external\"}}", path);
    CHECK_OK(vfr_job_parse("job.json", json, &job));
    CHECK_FAIL(vfr_prepare(ds, job, VFR_DEVICE_CPU, NULL, &p, NULL), VFR_ERR_INVALID_ARG,
               "external needs modelType xgboost");
    vfr_job_free(job);
    unsetenv("VFR_MEMORY_AVAILABLE");

    /* keepAsMissing keeps the single-NaN rows; flatPolicy down labels flat as 0 */
    snprintf(json, sizeof json,
             "{\"jobId\": \"p\", \"modelName\": \"m\", \"predictionHorizon\": 5, \"dataConfig\":"
             " {\"dataset\": \"%s\", \"minRows\": 100, \"minDates\": 50, \"nonFinitePolicy\":"
             " \"keepAsMissing\", \"flatPolicy\": \"down\"}}", path);
    CHECK_OK(vfr_job_parse("job.json", json, &job));
    CHECK_OK(vfr_prepare(ds, job, VFR_DEVICE_CPU, NULL, &p, NULL));
    if (p) {
        CHECK(p->n == kept + planted_nan + planted_flat);
        vfr_prepared_free(p);
    }
    vfr_job_free(job);

    /* symbols, dates, unknown symbol, a horizon the dataset lacks, too little data */
    snprintf(json, sizeof json,
             "{\"jobId\": \"p\", \"modelName\": \"m\", \"predictionHorizon\": 5, \"dataConfig\":"
             " {\"dataset\": \"%s\", \"symbols\": [\"BBB\"], \"startDate\": \"2019-04-01\","
             " \"minRows\": 10, \"minDates\": 10}}", path);
    CHECK_OK(vfr_job_parse("job.json", json, &job));
    CHECK_OK(vfr_prepare(ds, job, VFR_DEVICE_CPU, NULL, &p, NULL));
    if (p) {
        for (int64_t i = 0; i < p->n; i++)
            CHECK(p->symbol[i] == 1 && p->date[i] >= 17987);
        vfr_prepared_free(p);
    }
    vfr_job_free(job);
    snprintf(json, sizeof json,
             "{\"jobId\": \"p\", \"modelName\": \"m\", \"predictionHorizon\": 5, \"dataConfig\":"
             " {\"dataset\": \"%s\", \"symbols\": [\"BBB\", \"ZZZ\"]}}", path);
    CHECK_OK(vfr_job_parse("job.json", json, &job));
    CHECK_FAIL(vfr_prepare(ds, job, VFR_DEVICE_CPU, NULL, &p, NULL), VFR_ERR_INVALID_ARG,
               "dataConfig.symbols[1]: 'ZZZ'");
    vfr_job_free(job);
    snprintf(json, sizeof json,
             "{\"jobId\": \"p\", \"modelName\": \"m\", \"predictionHorizon\": 3, \"dataConfig\":"
             " {\"dataset\": \"%s\"}}", path);
    CHECK_OK(vfr_job_parse("job.json", json, &job));
    CHECK_FAIL(vfr_prepare(ds, job, VFR_DEVICE_CPU, NULL, &p, NULL), VFR_ERR_INVALID_ARG,
               "predictionHorizon: 3 is not in dataset");
    vfr_job_free(job);
    snprintf(json, sizeof json,
             "{\"jobId\": \"p\", \"modelName\": \"m\", \"predictionHorizon\": 5, \"dataConfig\":"
             " {\"dataset\": \"%s\", \"minRows\": 100000}}", path);
    CHECK_OK(vfr_job_parse("job.json", json, &job));
    rep = NULL;
    CHECK_FAIL(vfr_prepare(ds, job, VFR_DEVICE_CPU, NULL, &p, &rep), VFR_ERR_INVALID_ARG,
               "too little data");
    CHECK(rep != NULL); /* the report still explains what was dropped */
    free(rep);
    vfr_job_free(job);

    /* Planted look-ahead: AAA's and BBB's moves are exactly flat on day 10,
     * so flatPolicy drop keeps them out of training there. A cross-sectional
     * processor must still rank CCC among all three names of that day: CCC's
     * processed features may not depend on the label policy (prepare.h). */
    float cc[2][NFEAT];
    for (int k = 0; k < 2; k++) {
        snprintf(json, sizeof json,
                 "{\"jobId\": \"p\", \"modelName\": \"m\", \"predictionHorizon\": 5, \"dataConfig\":"
                 " {\"dataset\": \"%s\", \"minRows\": 100, \"minDates\": 50, \"minSamplesPerSymbol\": 10,"
                 " \"flatPolicy\": \"%s\", \"processors\": [{\"name\": \"csRank\"}]}}",
                 path, k ? "down" : "drop");
        CHECK_OK(vfr_job_parse("job.json", json, &job));
        vfr_prepared *q = NULL;
        CHECK_OK(vfr_prepare(ds, job, VFR_DEVICE_CPU, NULL, &q, NULL));
        int64_t at = -1;
        for (int64_t i = 0; q && i < q->n_all; i++)
            if (q->date[i] == 18010 && q->symbol[i] == 2)
                at = i;
        CHECK(at >= 0 && at < q->n); /* CCC trains on day 10 either way */
        if (at >= 0)
            CHECK_OK(vfr_prepared_read_features(q, at, at + 1, cc[k]));
        vfr_prepared_free(q);
        vfr_job_free(job);
    }
    CHECK(memcmp(cc[0], cc[1], sizeof cc[0]) == 0);
    vfr_dataset_close(ds);
    return test_done("test_prepare");
}
