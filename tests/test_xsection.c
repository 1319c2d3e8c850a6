/* test_xsection.c: cross-sectional labels and the processor chain
 * (xsection.h) on panels worked by hand; the fitted processor reads only its
 * training dates (rows of other dates are rewritten and the fit is
 * bit-identical; a training row rewritten changes it); the chain survives
 * its JSON; the job file accepts rank_return_<h>d / excess_return_<h>d with
 * IC as the default search metric. */
#include <stdint.h>

#include "test_util.h"
#include "vfr/job.h"
#include "vfr/xsection.h"

static void test_labels(void)
{
    CHECK(vfr_xsection_label_kind("rank_return_5d") == VFR_LABEL_RANK);
    CHECK(vfr_xsection_label_kind("excess_return_1d") == VFR_LABEL_EXCESS);
    CHECK(vfr_xsection_label_kind("return_5d") == VFR_LABEL_RAW);
    /* dates: {0.1, -0.2, 0.3}, {0.1, 0.1}, {0.4}, {NaN, 0.2, -0.1} */
    const float fwd[9] = {0.1f, -0.2f, 0.3f, 0.1f, 0.1f, 0.4f, NAN, 0.2f, -0.1f};
    const int64_t dr[5] = {0, 3, 5, 6, 9};
    float y[9];
    vfr_xsection_label(VFR_LABEL_RANK, fwd, dr, 4, y);
    const float want[9] = {0.0f, -0.5f, 0.5f, 0.0f, 0.0f, 0.0f, NAN, 0.5f, -0.5f};
    for (int i = 0; i < 9; i++)
        CHECK(isnan(want[i]) ? isnan(y[i]) : y[i] == want[i]);
    vfr_xsection_label(VFR_LABEL_EXCESS, fwd, dr, 4, y);
    CHECK_NEAR(y[0], 0.1 - 0.2 / 3, 1e-7, 0);
    CHECK_NEAR(y[1], -0.2 - 0.2 / 3, 1e-7, 0);
    CHECK_NEAR(y[3], 0.0, 1e-7, 0);
    CHECK_NEAR(y[5], 0.0, 1e-7, 0);
    CHECK(isnan(y[6]));
    CHECK_NEAR(y[7], 0.15, 1e-7, 0);
}

static void test_parse(void)
{
    vfr_processors *pr = NULL;
    CHECK_FAIL(vfr_processors_parse("{}", "j.json", &pr), VFR_ERR_INVALID_ARG, "want an array");
    CHECK(pr == NULL);
    CHECK_FAIL(vfr_processors_parse("[{\"name\":\"minmax\"}]", "j.json", &pr), VFR_ERR_INVALID_ARG,
               "processors[0].name: 'minmax'");
    CHECK_FAIL(vfr_processors_parse("[{\"name\":\"csRank\"},{\"name\":\"fillna\",\"clip\":3}]", "j.json", &pr),
               VFR_ERR_INVALID_ARG, "processors[1].clip");
    CHECK_FAIL(vfr_processors_parse("[{\"name\":\"robustZScore\",\"clip\":-1}]", "j.json", &pr),
               VFR_ERR_INVALID_ARG, "clip");
    CHECK_OK(vfr_processors_parse("[]", "j.json", &pr));
    vfr_processors_free(pr);
}

/* 4 dates x 3 symbols x 2 features. */
static void panel(float *X)
{
    const float v[24] = {1, 10,  2, 20,  3, 30,    /* date 0 */
                         4, 40,  NAN, 50, 6, 60,   /* date 1 */
                         7, 70,  8, 80,  9, 90,    /* date 2 */
                         10, 100, 11, 110, 12, 120};
    memcpy(X, v, sizeof v);
}

static void test_chain(void)
{
    const int64_t dr[5] = {0, 3, 6, 9, 12};
    float X[24];
    vfr_processors *pr = NULL;
    /* per-date rank then fill */
    CHECK_OK(vfr_processors_parse("[{\"name\":\"csRank\"},{\"name\":\"fillna\",\"value\":0}]", "j", &pr));
    panel(X);
    CHECK_FAIL(vfr_processors_apply(pr, X, 2, dr, 4), VFR_ERR_INVALID_ARG, "fit");
    CHECK_OK(vfr_processors_fit(pr, X, 2, dr, 0, 2));
    CHECK_OK(vfr_processors_apply(pr, X, 2, dr, 4));
    CHECK(X[0] == -0.5f && X[2] == 0.0f && X[4] == 0.5f);
    CHECK(X[6] == -0.5f && X[8] == 0.0f && X[10] == 0.5f); /* NaN filled after ranking */
    vfr_processors_free(pr);
    /* per-date z-score: date 0 feature 0 is {1, 2, 3}: mean 2, population sd sqrt(2/3) */
    CHECK_OK(vfr_processors_parse("[{\"name\":\"csZScore\"}]", "j", &pr));
    panel(X);
    CHECK_OK(vfr_processors_fit(pr, X, 2, dr, 0, 4));
    CHECK_OK(vfr_processors_apply(pr, X, 2, dr, 4));
    CHECK_NEAR(X[0], -1.0 / sqrt(2.0 / 3.0), 1e-6, 0);
    CHECK(isnan(X[8]));
    CHECK_NEAR(X[6], -1.0, 1e-6, 0); /* {4, 6}: mean 5, sd 1 */
    vfr_processors_free(pr);
}

static void test_robust_no_lookahead(void)
{
    const int64_t dr[5] = {0, 3, 6, 9, 12};
    float X[24], Y[24];
    vfr_processors *a = NULL, *b = NULL, *c = NULL;
    const char *spec = "[{\"name\":\"robustZScore\",\"clip\":2}]";
    CHECK_OK(vfr_processors_parse(spec, "j", &a));
    CHECK_OK(vfr_processors_parse(spec, "j", &b));
    CHECK_OK(vfr_processors_parse(spec, "j", &c));
    panel(X);
    /* training dates 0..1: feature 0 = {1,2,3,4,6}: median 3, MAD 1 */
    CHECK_OK(vfr_processors_fit(a, X, 2, dr, 0, 2));
    panel(Y);
    for (int i = 12; i < 24; i++)
        Y[i] = 1000.0f + i; /* every later date rewritten */
    CHECK_OK(vfr_processors_fit(b, Y, 2, dr, 0, 2));
    char *ja = vfr_processors_to_json(a), *jb = vfr_processors_to_json(b);
    CHECK(ja && jb && strcmp(ja, jb) == 0);
    Y[0] = -50.0f, Y[2] = -60.0f; /* training rows rewritten: the fit must move */
    CHECK_OK(vfr_processors_fit(c, Y, 2, dr, 0, 2));
    char *jc = vfr_processors_to_json(c);
    CHECK(jc && strcmp(ja, jc) != 0);
    CHECK_OK(vfr_processors_apply(a, X, 2, dr, 4));
    CHECK_NEAR(X[0], (1 - 3) / 1.4826, 1e-6, 0);
    CHECK_NEAR(X[18], 2.0, 0, 0); /* 10: far above, clipped */
    CHECK(isnan(X[8]));
    /* the JSON carries the fit: a chain read back applies the same */
    vfr_processors *d = NULL;
    CHECK_OK(vfr_processors_from_json(ja, &d));
    panel(Y);
    CHECK_OK(vfr_processors_apply(d, Y, 2, dr, 4));
    CHECK(memcmp(X, Y, sizeof X) == 0);
    CHECK_FAIL(vfr_processors_apply(d, Y, 3, dr, 2), VFR_ERR_INVALID_ARG, "fitted for 2 features");
    vfr_processors *e = NULL;
    CHECK_FAIL(vfr_processors_from_json("{\"features\":2,\"processors\":[{\"name\":\"robustZScore\"}]}", &e),
               VFR_ERR_FORMAT, "median");
    CHECK(e == NULL);
    free(ja), free(jb), free(jc);
    vfr_processors_free(a), vfr_processors_free(b), vfr_processors_free(c), vfr_processors_free(d);
}

static void test_job_targets(void)
{
    const char *json = "{\"jobId\":\"j\",\"modelName\":\"m\",\"targetVariable\":\"rank_return_5d\","
                       "\"dataConfig\":{\"dataset\":\"d.h5\"},\"search\":{\"space\":{\"max_depth\":[2,3]}}}";
    vfr_job *job = NULL;
    CHECK_OK(vfr_job_parse("j.json", json, &job));
    if (job) {
        CHECK(job->objective == VFR_OBJECTIVE_RETURN && job->horizon == 5);
        CHECK(strcmp(job->target, "rank_return_5d") == 0);
        CHECK(strcmp(job->search.metric, "ic") == 0);
        vfr_job_free(job);
    }
    vfr_objective o;
    int32_t h;
    CHECK_OK(vfr_job_parse_target("excess_return_20d", &o, &h));
    CHECK(o == VFR_OBJECTIVE_RETURN && h == 20);
    CHECK_FAIL(vfr_job_parse_target("rank_return_xd", &o, &h), VFR_ERR_INVALID_ARG, "rank_return_<h>d");
}

int main(void)
{
    test_labels();
    test_parse();
    test_chain();
    test_robust_no_lookahead();
    test_job_targets();
    return test_done("test_xsection");
}
