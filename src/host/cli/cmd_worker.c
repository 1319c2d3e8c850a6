/* cmd_worker.c: `vfr worker`: runs queued jobs, each as a child
 * `vfr train` process, by priority then age. SIGTERM/SIGINT stop the
 * children at a clean checkpoint, requeue their jobs, and exit 3. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "vfr/queue.h"

static const char help[] =
    "usage: vfr worker [options]\n\n"
    "Runs queued jobs by priority, then age, each as a child process\n"
    "(`vfr train JOB --out RUNS/<jobId> --resume`), so a crash takes down one job.\n"
    "Writes each job's heartbeat, progress and step; requeues jobs whose worker\n"
    "died (stale heartbeat), and they resume their search from the trial log.\n"
    "Child logs: <queue>/logs/<jobId>.log (a PostgreSQL queue: $VFR_QUEUE_FILES/logs,\n"
    "else ./vfr-queue-files/logs). docs/queue.md.\n\n"
    "  --max-concurrent N  jobs at once (default 2)\n"
    "  --once              return when nothing is queued or running (default: run\n"
    "                      until SIGTERM/SIGINT)\n"
    "  --runs DIR          parent of run folders (default runs)\n"
    "  --queue DIR         the queue: a folder or postgresql://... (default $VFR_QUEUE,\n"
    "                      else ./vfr-queue)\n"
    "  --stale-after S     a heartbeat older than S seconds means the worker died\n"
    "                      (default 30)\n"
    "  --heartbeat S       seconds between heartbeats (default 2)\n"
    "  --poll S            idle seconds between looks at the queue (default 1)\n"
    "  --max-attempts N    a dead worker's job is requeued until it has started N\n"
    "                      times, then it fails (default 3)\n"
    "  --threads N         CPU threads per job (default: the child's, all cores)\n"
    "  --job-time-limit S  a job running longer than S seconds is stopped and fails\n"
    "                      (a job's own timeLimitMinutes applies when shorter)\n"
    "  --device auto|cpu|cuda  passed on to every job\n\n"
    "exit codes: 0 done (--once), 1 runtime failure, 3 stopped by a signal\n";


static int parse_seconds(const char *opt, const char *s, double *out)
{
    int64_t v;
    if (cli_parse_i64(opt, s, 1, 86400, &v) < 0)
        return -1;
    *out = (double)v;
    return 0;
}

int cmd_worker(int argc, char **argv)
{
    const char *queue = vfr_queue_default_dir(), *runs = "runs", *v;
    int once = 0;
    int64_t maxc = 2, attempts = 3, threads = 0;
    double stale = 30, hb = 2, poll_s = 1, limit = 0;
    for (int i = 0; i < argc; i++) {
        int m;
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            return 0;
        } else if (cli_flag(argv[i], "--once")) {
            once = 1;
        } else if ((m = cli_opt(argc, argv, &i, "--max-concurrent", &v)) != 0) {
            if (m < 0 || cli_parse_i64("--max-concurrent", v, 1, 256, &maxc) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--max-attempts", &v)) != 0) {
            if (m < 0 || cli_parse_i64("--max-attempts", v, 1, 1000, &attempts) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--threads", &v)) != 0) {
            if (m < 0 || cli_parse_i64("--threads", v, 1, 1024, &threads) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--stale-after", &v)) != 0) {
            if (m < 0 || parse_seconds("--stale-after", v, &stale) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--heartbeat", &v)) != 0) {
            if (m < 0 || parse_seconds("--heartbeat", v, &hb) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--job-time-limit", &v)) != 0) {
            int64_t lim;
            if (m < 0 || cli_parse_i64("--job-time-limit", v, 1, 366 * 86400, &lim) < 0)
                return 2;
            limit = (double)lim;
        } else if ((m = cli_opt(argc, argv, &i, "--poll", &v)) != 0) {
            if (m < 0 || parse_seconds("--poll", v, &poll_s) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--queue", &queue)) != 0) {
            if (m < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--runs", &runs)) != 0) {
            if (m < 0)
                return 2;
        } else {
            return cli_usage_error("unknown argument '%s'", argv[i]);
        }
    }
    char exe[4096];
    if (cli_self_exe(exe, sizeof exe) != 0)
        return cli_fail(vfr_fail(VFR_ERR_IO, "worker: cannot find the vfr binary (/proc/self/exe)"));
    vfr_queue *q;
    vfr_status st = vfr_queue_open(queue, 1, &q);
    if (st != VFR_OK)
        return cli_fail(st);
    volatile const int *stop = cli_stop_on_signals();
    vfr_worker_options o = {.exe = exe, .runs_dir = runs, .max_concurrent = (int)maxc, .once = once,
                            .stale_s = stale, .heartbeat_s = hb, .poll_s = poll_s,
                            .max_attempts = (int)attempts,
                            .device = cli.device == VFR_DEVICE_AUTO ? NULL : vfr_device_kind_str(cli.device),
                            .threads = (int)threads, .reporter = cli_reporter(), .stop = stop,
                            .job_time_limit_s = limit};
    st = vfr_worker_run(q, &o);
    vfr_queue_close(q);
    return st == VFR_OK ? 0 : cli_fail(st);
}
