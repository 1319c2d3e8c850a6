/* status.c: status names and the per-thread detail message. */
#include "vfr/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[2048];

static const char *const names[VFR_STATUS_COUNT] = {
    [VFR_OK] = "OK",
    [VFR_ERR_INVALID_ARG] = "INVALID_PARAMETERS",
    [VFR_ERR_NOT_FOUND] = "NOT_FOUND",
    [VFR_ERR_FORMAT] = "FORMAT_ERROR",
    [VFR_ERR_NOMEM] = "OUT_OF_MEMORY",
    [VFR_ERR_IO] = "IO_ERROR",
    [VFR_ERR_NO_DEVICE] = "NO_DEVICE",
    [VFR_ERR_CUDA] = "CUDA_ERROR",
    [VFR_ERR_XGBOOST] = "XGBOOST_ERROR",
    [VFR_ERR_INTERRUPTED] = "INTERRUPTED",
    [VFR_ERR_INTERNAL] = "INTERNAL_ERROR",
    [VFR_ERR_DUPLICATE_VERSION] = "DUPLICATE_VERSION",
    [VFR_ERR_INTEGRITY] = "INTEGRITY_ERROR",
    [VFR_ERR_VALIDATION] = "VALIDATION_FAILED",
    [VFR_ERR_DUPLICATE_JOB_ID] = "DUPLICATE_JOB_ID",
    [VFR_ERR_QUEUE_FULL] = "QUEUE_FULL",
    [VFR_ERR_LIGHTGBM] = "LIGHTGBM_ERROR",
};

const char *vfr_status_str(vfr_status st)
{
    if ((int)st < 0 || st >= VFR_STATUS_COUNT)
        return "UNKNOWN_STATUS";
    return names[st];
}

const char *vfr_last_error(void) { return last_error; }

void vfr_error_clear(void) { last_error[0] = '\0'; }

vfr_status vfr_fail(vfr_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return st;
}

void vfr_error_prefix(const char *fmt, ...)
{
    char head[512], old[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    /* Truncation is fine here: the detail is advice for a person. */
    memcpy(old, last_error, sizeof old);
    size_t h = strlen(head);
    if (h >= sizeof last_error)
        h = sizeof last_error - 1;
    memcpy(last_error, head, h);
    size_t rest = strlen(old);
    if (rest > sizeof last_error - 1 - h)
        rest = sizeof last_error - 1 - h;
    memcpy(last_error + h, old, rest);
    last_error[h + rest] = '\0';
}

int vfr_status_exit_code(vfr_status st)
{
    switch (st) {
    case VFR_OK:
        return 0;
    case VFR_ERR_INVALID_ARG:
    case VFR_ERR_NOT_FOUND:
    case VFR_ERR_FORMAT:
    case VFR_ERR_NO_DEVICE:
    case VFR_ERR_DUPLICATE_VERSION:
    case VFR_ERR_DUPLICATE_JOB_ID:
    case VFR_ERR_QUEUE_FULL:
        return 2;
    case VFR_ERR_INTERRUPTED:
        return 3;
    default:
        return 1;
    }
}
