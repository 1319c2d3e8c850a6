/* report.h: how long-running library calls tell the caller what they are doing.
 *
 * The library never prints. A caller that wants log lines or a progress bar
 * passes a vfr_reporter; every field may be NULL, and so may the pointer. */
#ifndef VFR_REPORT_H
#define VFR_REPORT_H

typedef enum vfr_log_level {
    VFR_LOG_ERROR = 0,
    VFR_LOG_WARN,
    VFR_LOG_INFO,
    VFR_LOG_DEBUG,
} vfr_log_level;

typedef struct vfr_reporter {
    /* One finished message, no trailing newline. */
    void (*log)(void *user, vfr_log_level level, const char *msg);
    /* `done` of `total` units of `step` are finished (total may be 0: unknown). */
    void (*progress)(void *user, const char *step, double done, double total);
    void *user;
} vfr_reporter;

void vfr_report_log(const vfr_reporter *r, vfr_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

void vfr_report_progress(const vfr_reporter *r, const char *step, double done, double total);

#endif
