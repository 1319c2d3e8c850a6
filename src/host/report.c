/* report.c: forwards library log lines and progress to the caller's reporter. */
#include "vfr/report.h"

#include <stdarg.h>
#include <stdio.h>

void vfr_report_log(const vfr_reporter *r, vfr_log_level level, const char *fmt, ...)
{
    if (!r || !r->log)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->log(r->user, level, msg);
}

void vfr_report_progress(const vfr_reporter *r, const char *step, double done, double total)
{
    if (r && r->progress)
        r->progress(r->user, step, done, total);
}
