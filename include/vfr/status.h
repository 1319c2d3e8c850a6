/* status.h: the one status code space of vfr, and the per-thread error detail.
 *
 * Every public function that can fail returns a vfr_status. On failure it also
 * sets a detail message for the calling thread (file, field, row where there is
 * one), readable with vfr_last_error(). The library never prints and never exits. */
#ifndef VFR_STATUS_H
#define VFR_STATUS_H

typedef enum vfr_status {
    VFR_OK = 0,
    VFR_ERR_INVALID_ARG,   /* bad argument or job field (INVALID_PARAMETERS) */
    VFR_ERR_NOT_FOUND,     /* a named file, dataset, model or key is absent   */
    VFR_ERR_FORMAT,        /* wrong dtype, shape, order or format version     */
    VFR_ERR_NOMEM,         /* host or device allocation                       */
    VFR_ERR_IO,            /* file, HDF5, SQLite                              */
    VFR_ERR_NO_DEVICE,     /* CUDA asked for, none built or found             */
    VFR_ERR_CUDA,          /* CUDA runtime, cuBLAS, cuDNN                     */
    VFR_ERR_XGBOOST,       /* XGBoost C API returned -1                       */
    VFR_ERR_INTERRUPTED,   /* stopped by a signal; state is consistent        */
    VFR_ERR_INTERNAL,      /* broken invariant: a vfr bug                     */
    VFR_ERR_DUPLICATE_VERSION, /* registry: that name:version already exists  */
    VFR_ERR_INTEGRITY,     /* a stored artifact's SHA-256 does not match      */
    VFR_ERR_VALIDATION,    /* a deployment validation check failed           */
    VFR_ERR_DUPLICATE_JOB_ID, /* queue: a job with that jobId was submitted  */
    VFR_ERR_QUEUE_FULL,    /* queue: as many jobs wait as it may hold        */
    VFR_ERR_LIGHTGBM,      /* LightGBM C API returned -1                      */
    VFR_STATUS_COUNT
} vfr_status;

/* Static, upper-case name of a code ("INVALID_PARAMETERS", "IO_ERROR", ...). */
const char *vfr_status_str(vfr_status st);

/* This thread's detail message for the last failure; "" when none. */
const char *vfr_last_error(void);

/* Records a printf-style detail for this thread and returns st. Used by the
 * library at the point of failure; exposed so that callers can add context. */
vfr_status vfr_fail(vfr_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prefixes the current detail with more context ("file.csv: " + detail). */
void vfr_error_prefix(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

void vfr_error_clear(void);

/* The CLI's exit code for a status: 0 ok, 2 usage or bad input, 3 interrupted
 * (safe to requeue), 1 any other runtime failure. */
int vfr_status_exit_code(vfr_status st);

/* Evaluates a vfr_status expression; on failure jumps to the enclosing
 * function's `fail:` label with `st` set. */
#define VFR_TRY(expr)                    \
    do {                                 \
        st = (expr);                     \
        if (st != VFR_OK)                \
            goto fail;                   \
    } while (0)

#endif
