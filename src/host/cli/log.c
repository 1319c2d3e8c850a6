/* log.c: the CLI's log lines and progress bar.
 *
 * Plain lines look like `2026-11-26T08:00:00Z INFO  pack: message` (greppable
 * by level and command); with --log-json each line is one JSON object with
 * ts, level, cmd, msg (and step/done/total/pct for progress events). The
 * progress bar is drawn only when stderr is a terminal; JSON progress events
 * are rate-limited to one per whole percent. */
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

cli_globals cli = {1, 0, VFR_DEVICE_AUTO, "vfr"};

static int bar_open;          /* a progress line is on screen          */
static int last_pct = -1;     /* last JSON progress percent emitted    */
static char last_step[64];
static struct timespec step_t0;

static const char *level_name(vfr_log_level l)
{
    static const char *n[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    return (unsigned)l <= VFR_LOG_DEBUG ? n[l] : "INFO";
}

static void timestamp(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void cli_progress_done(void)
{
    if (bar_open) {
        fputc('\n', stderr);
        bar_open = 0;
    }
}

static void emit_json(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    if (s) {
        fprintf(stderr, "%s\n", s);
        cJSON_free(s);
    }
    cJSON_Delete(o);
}

static void log_sink(void *user, vfr_log_level level, const char *msg)
{
    (void)user;
    /* quiet: errors only; normal: + warnings and info; verbose: + debug */
    int shown = level == VFR_LOG_ERROR || (cli.verbosity >= 1 && level <= VFR_LOG_INFO) ||
                cli.verbosity >= 2;
    if (!shown)
        return;
    char ts[32];
    timestamp(ts);
    if (cli.log_json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "ts", ts);
        cJSON_AddStringToObject(o, "level", level_name(level));
        cJSON_AddStringToObject(o, "cmd", cli.command);
        cJSON_AddStringToObject(o, "msg", msg);
        emit_json(o);
        return;
    }
    cli_progress_done();
    fprintf(stderr, "%s %-5s %s: %s\n", ts, level_name(level), cli.command, msg);
}

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

static void progress_sink(void *user, const char *step, double done, double total)
{
    (void)user;
    if (strncmp(step, last_step, sizeof last_step) != 0) {
        snprintf(last_step, sizeof last_step, "%s", step);
        clock_gettime(CLOCK_MONOTONIC, &step_t0);
        last_pct = -1;
    }
    int pct = total > 0 ? (int)(100.0 * done / total) : 0;
    if (cli.log_json) {
        if (pct == last_pct || cli.verbosity == 0)
            return;
        last_pct = pct;
        char ts[32];
        timestamp(ts);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "ts", ts);
        cJSON_AddStringToObject(o, "level", "INFO");
        cJSON_AddStringToObject(o, "cmd", cli.command);
        cJSON_AddStringToObject(o, "event", "progress");
        cJSON_AddStringToObject(o, "step", step);
        cJSON_AddNumberToObject(o, "done", done);
        cJSON_AddNumberToObject(o, "total", total);
        cJSON_AddNumberToObject(o, "pct", pct);
        emit_json(o);
        return;
    }
    if (cli.verbosity == 0 || !isatty(STDERR_FILENO))
        return;
    if (pct == last_pct && done < total)
        return;
    last_pct = pct;
    double el = since(&step_t0);
    double eta = done > 0 && total > done ? el * (total - done) / done : 0;
    char bar[31];
    int fill = total > 0 ? (int)(30.0 * done / total) : 0;
    for (int k = 0; k < 30; k++)
        bar[k] = k < fill ? '#' : '.';
    bar[30] = '\0';
    fprintf(stderr, "\r%-10s [%s] %3d%%  %.0fs elapsed, ETA %.0fs ", step, bar, pct, el, eta);
    bar_open = 1;
    if (done >= total)
        cli_progress_done();
    fflush(stderr);
}

static const vfr_reporter reporter = {log_sink, progress_sink, NULL};

const vfr_reporter *cli_reporter(void) { return &reporter; }

void cli_log(vfr_log_level level, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_sink(NULL, level, msg);
}

int cli_fail(vfr_status st)
{
    const char *d = vfr_last_error();
    cli_log(VFR_LOG_ERROR, "%s: %s", vfr_status_str(st), d[0] ? d : "(no detail)");
    return vfr_status_exit_code(st);
}

int cli_usage_error(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cli_log(VFR_LOG_ERROR, "usage: %s (see 'vfr %s --help')", msg, cli.command);
    return 2;
}

static volatile int stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

volatile const int *cli_stop_on_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return &stop_flag;
}
