/* test_status.c: status names, exit-code mapping and the per-thread detail. */
#include <pthread.h>

#include "test_util.h"
#include "vfr/device.h"

static void *other_thread(void *arg)
{
    (void)arg;
    vfr_fail(VFR_ERR_IO, "thread detail");
    return NULL;
}

int main(void)
{
    CHECK(strcmp(vfr_status_str(VFR_OK), "OK") == 0);
    CHECK(strcmp(vfr_status_str(VFR_ERR_INVALID_ARG), "INVALID_PARAMETERS") == 0);
    CHECK(strcmp(vfr_status_str((vfr_status)999), "UNKNOWN_STATUS") == 0);
    for (int s = 0; s < VFR_STATUS_COUNT; s++)
        CHECK(strcmp(vfr_status_str((vfr_status)s), "UNKNOWN_STATUS") != 0);
    CHECK(vfr_status_exit_code(VFR_OK) == 0);
    CHECK(vfr_status_exit_code(VFR_ERR_INVALID_ARG) == 2);
    CHECK(vfr_status_exit_code(VFR_ERR_FORMAT) == 2);
    CHECK(vfr_status_exit_code(VFR_ERR_NOT_FOUND) == 2);
    CHECK(vfr_status_exit_code(VFR_ERR_IO) == 1);
    CHECK(vfr_status_exit_code(VFR_ERR_INTERRUPTED) == 3);
    CHECK(strcmp(vfr_status_str(VFR_ERR_DUPLICATE_VERSION), "DUPLICATE_VERSION") == 0);
    CHECK(vfr_status_exit_code(VFR_ERR_DUPLICATE_VERSION) == 2);
    CHECK(vfr_status_exit_code(VFR_ERR_INTEGRITY) == 1);
    CHECK(vfr_status_exit_code(VFR_ERR_VALIDATION) == 1);
    CHECK(strcmp(vfr_status_str(VFR_ERR_DUPLICATE_JOB_ID), "DUPLICATE_JOB_ID") == 0);
    CHECK(strcmp(vfr_status_str(VFR_ERR_QUEUE_FULL), "QUEUE_FULL") == 0);
    CHECK(vfr_status_exit_code(VFR_ERR_DUPLICATE_JOB_ID) == 2);
    CHECK(vfr_status_exit_code(VFR_ERR_QUEUE_FULL) == 2);

    CHECK(vfr_fail(VFR_ERR_FORMAT, "row %d", 7) == VFR_ERR_FORMAT);
    CHECK(strcmp(vfr_last_error(), "row 7") == 0);
    vfr_error_prefix("%s: ", "f.csv");
    CHECK(strcmp(vfr_last_error(), "f.csv: row 7") == 0);
    pthread_t t;
    pthread_create(&t, NULL, other_thread, NULL);
    pthread_join(t, NULL);
    CHECK(strcmp(vfr_last_error(), "f.csv: row 7") == 0); /* per thread */

    vfr_device_kind k, used;
    CHECK_OK(vfr_device_parse("cpu", &k));
    CHECK(k == VFR_DEVICE_CPU);
    CHECK_FAIL(vfr_device_parse("gpu", &k), VFR_ERR_INVALID_ARG, "gpu");
    CHECK_OK(vfr_device_resolve(VFR_DEVICE_AUTO, &used));
    CHECK(used == (vfr_device_count() > 0 ? VFR_DEVICE_CUDA : VFR_DEVICE_CPU));
    if (vfr_device_count() == 0)
        CHECK_FAIL(vfr_device_resolve(VFR_DEVICE_CUDA, &used), VFR_ERR_NO_DEVICE, "cuda");
    return test_done("test_status");
}
