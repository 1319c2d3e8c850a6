/* test_job.c: job-file loading: defaults, and each kind of bad input gives
 * INVALID_PARAMETERS with a message naming the key path. */
#include <cjson/cJSON.h>

#include "test_util.h"
#include "vfr/job.h"

#define BASE_HEAD "{\"jobId\": \"j1\", \"modelName\": \"m\", \"predictionHorizon\": 5, "
#define DATA "\"dataConfig\": {\"dataset\": \"d.h5\"}"

static void bad(const char *json, const char *needle)
{
    vfr_job *j = (vfr_job *)1;
    CHECK_FAIL(vfr_job_parse("job.json", json, &j), VFR_ERR_INVALID_ARG, needle);
    CHECK(j == NULL);
    CHECK(strncmp(vfr_last_error(), "job.json: ", 10) == 0);
}

int main(void)
{
    vfr_job *j;
    CHECK_OK(vfr_job_parse("dir/job.json", BASE_HEAD DATA "}", &j));
    if (j) {
        CHECK(strcmp(j->target, "price_direction_5d") == 0);
        CHECK(j->objective == VFR_OBJECTIVE_DIRECTION && j->horizon == 5);
        CHECK(strcmp(j->data.dataset, "dir/d.h5") == 0); /* relative to the job file */
        CHECK(j->data.min_quality == 0.7 && j->data.min_samples_per_symbol == 100);
        CHECK(j->split.method == VFR_SPLIT_HOLDOUT && j->split.purge == 5 && j->split.embargo == 0);
        CHECK(j->split.train_share == 0.70 && j->split.val_share == 0.15);
        CHECK(j->split.window == 252 && j->split.step == 21);
        CHECK(strcmp(j->model_type, "xgboost") == 0 && j->priority == VFR_PRIORITY_NORMAL);
        char *s = vfr_job_to_json(j);
        cJSON *o = cJSON_Parse(s);
        CHECK(o && cJSON_GetObjectItem(cJSON_GetObjectItem(o, "split"), "purgeDays")->valueint == 5);
        /* the resolved job loads again to the same job */
        vfr_job *again;
        CHECK_OK(vfr_job_parse("/abs/job.json", s, &again));
        if (again) {
            CHECK(again->horizon == 5 && again->split.purge == 5);
            vfr_job_free(again);
        }
        cJSON_Delete(o);
        free(s);
        vfr_job_free(j);
    }
    CHECK_OK(vfr_job_parse("job.json",
                           "{\"jobId\": \"j\", \"modelName\": \"m\", \"targetVariable\": \"return_10d\", "
                           DATA ", \"split\": {\"method\": \"walk_forward\", \"embargoDays\": 3}}",
                           &j));
    if (j) {
        CHECK(j->objective == VFR_OBJECTIVE_RETURN && j->horizon == 10);
        CHECK(j->split.method == VFR_SPLIT_WALK_FORWARD && j->split.embargo == 3);
        vfr_job_free(j);
    }

    bad(BASE_HEAD DATA ", \"trainingConfig\": {\"hyperparamters\": {}}}",
        "trainingConfig.hyperparamters: unknown key; did you mean hyperparameters?");
    bad(BASE_HEAD DATA ", \"colour\": 1}", "colour: unknown key");
    bad(BASE_HEAD "\"dataConfig\": {\"dataset\": \"d.h5\", \"minQuality\": \"0.7\"}}",
        "dataConfig.minQuality: expected a number, got string");
    bad(BASE_HEAD "\"dataConfig\": {\"dataset\": \"d.h5\", \"minQuality\": 1.5}}",
        "dataConfig.minQuality: 1.5 is out of range [0, 1]");
    bad(BASE_HEAD "\"dataConfig\": {\"dataset\": \"d.h5\", \"minSamplesPerSymbol\": 10.5}}",
        "dataConfig.minSamplesPerSymbol: expected an integer");
    bad(BASE_HEAD "\"dataConfig\": {}}", "dataConfig.dataset: required field is missing");
    bad("{\"modelName\": \"m\", \"predictionHorizon\": 1, " DATA "}", "jobId: required field is missing");
    bad("{\"jobId\": \"j\", \"modelName\": \"m\", " DATA "}", "predictionHorizon: required field is missing");
    bad(BASE_HEAD DATA ", \"targetVariable\": \"price_direction_1d\"}", "predictionHorizon: 5 disagrees");
    bad(BASE_HEAD DATA ", \"targetVariable\": \"direction_1d\"}", "targetVariable");
    bad(BASE_HEAD DATA ", \"split\": {\"purgeDays\": 2}}", "split.purgeDays: 2 is below predictionHorizon 5");
    bad(BASE_HEAD DATA ", \"split\": {\"method\": \"random\"}}", "split.method: 'random' is not one of");
    bad(BASE_HEAD DATA ", \"split\": {\"expanding\": 1}}", "split.expanding: expected true or false");
    bad(BASE_HEAD DATA ", \"modelVersion\": \"1.0\"}", "modelVersion");
    bad("{\"jobId\": \"../etc\", \"modelName\": \"m\", \"predictionHorizon\": 1, " DATA "}", "jobId");
    bad(BASE_HEAD "\"dataConfig\": {\"dataset\": \"d\", \"startDate\": \"2020-02-30\"}}",
        "dataConfig.startDate");
    bad(BASE_HEAD "\"dataConfig\": {\"dataset\": \"d\", \"symbols\": [\"A\", 3]}}",
        "dataConfig.symbols[1]");
    bad(BASE_HEAD "\"dataConfig\": {\"dataset\": \"d\", \"symbols\": [\"A\", \"A\"]}}", "twice");
    bad(BASE_HEAD "\"dataConfig\": {\"dataset\": \"d\"},\n \"trainingConfig\": {\"trainTestSplit\": 0.9}}",
        "test set");
    bad("{\n\"jobId\": \"j\",\n oops}", "line 3: not valid JSON");
    bad("[1, 2]", "must be a JSON object");
    CHECK_FAIL(vfr_job_load("/nonexistent/job.json", &j), VFR_ERR_NOT_FOUND, "/nonexistent/job.json");
    return test_done("test_job");
}
