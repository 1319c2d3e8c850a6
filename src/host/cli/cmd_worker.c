/* cmd_worker.c: `vfr worker`: runs queued jobs, each as a child
 * `vfr train` process, by priority then age. SIGTERM/SIGINT stop the
 * children at a clean checkpoint, requeue their jobs, and exit 3. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "vfr/queue.h"

static const char usage[] =
    "usage: vfr worker [options]\n\n"
    "Runs queued jobs by priority, then age, each as a child process\n"
    "(`vfr train JOB --out RUNS/<jobId> --resume`), so a crash takes down one job.\n"
    "Writes each job's heartbeat, progress and step; requeues jobs whose worker\n"
    "died (stale heartbeat), and they resume their search from the trial log.\n"
    "Child logs: <queue>/logs/<jobId>.log (a PostgreSQL queue: $VFR_QUEUE_FILES/logs,\n"
    "else ./vfr-queue-files/logs). docs/queue.md.\n\n";
static const char after[] =
    "  --device auto|cpu|cuda  passed on to every job\n\n"
    "exit codes: 0 done (--once), 1 runtime failure, 3 stopped by a signal\n";

int cmd_worker(int argc, char **argv)
{
    const char *queue = vfr_queue_default_dir(), *runs = "runs";
    int once = 0;
    int64_t maxc = 2, attempts = 3, threads = 0, stale = 30, hb = 2, poll_s = 1, limit = 0;
    const cli_option opts[] = {
        {.name = "--max-concurrent", .kind = CLI_I64, .dest = &maxc, .lo = 1, .hi = 256, .arg = "N",
         .help = "jobs at once (default 2)"},
        {.name = "--once", .kind = CLI_FLAG, .dest = &once,
         .help = "return when nothing is queued or running (default: run\nuntil SIGTERM/SIGINT)"},
        {.name = "--runs", .kind = CLI_STR, .dest = &runs, .arg = "DIR", .help = "parent of run folders (default runs)"},
        {.name = "--queue", .kind = CLI_STR, .dest = &queue, .arg = "DIR",
         .help = "the queue: a folder or postgresql://... (default $VFR_QUEUE,\nelse ./vfr-queue)"},
        {.name = "--stale-after", .kind = CLI_I64, .dest = &stale, .lo = 1, .hi = 86400, .arg = "S",
         .help = "a heartbeat older than S seconds means the worker died\n(default 30)"},
        {.name = "--heartbeat", .kind = CLI_I64, .dest = &hb, .lo = 1, .hi = 86400, .arg = "S",
         .help = "seconds between heartbeats (default 2)"},
        {.name = "--poll", .kind = CLI_I64, .dest = &poll_s, .lo = 1, .hi = 86400, .arg = "S",
         .help = "idle seconds between looks at the queue (default 1)"},
        {.name = "--max-attempts", .kind = CLI_I64, .dest = &attempts, .lo = 1, .hi = 1000, .arg = "N",
         .help = "a dead worker's job is requeued until it has started N\ntimes, then it fails (default 3)"},
        {.name = "--threads", .kind = CLI_I64, .dest = &threads, .lo = 1, .hi = 1024, .arg = "N",
         .help = "CPU threads per job (default: the child's, all cores)"},
        {.name = "--job-time-limit", .kind = CLI_I64, .dest = &limit, .lo = 1, .hi = 366 * 86400, .arg = "S",
         .help = "a job running longer than S seconds is stopped and fails\n(a job's own timeLimitMinutes applies "
                 "when shorter)"},
        {0},
    };
    int rc = cli_parse(argc, argv, usage, opts, after, NULL, 0);
    if (rc)
        return rc < 0 ? 0 : rc;
    char exe[4096];
    if (cli_self_exe(exe, sizeof exe) != 0)
        return cli_fail(vfr_fail(VFR_ERR_IO, "worker: cannot find the vfr binary (/proc/self/exe)"));
    vfr_queue *q;
    vfr_status st = vfr_queue_open(queue, 1, &q);
    if (st != VFR_OK)
        return cli_fail(st);
    volatile const int *stop = cli_stop_on_signals();
    vfr_worker_options o = {.exe = exe, .runs_dir = runs, .max_concurrent = (int)maxc, .once = once,
                            .stale_s = (double)stale, .heartbeat_s = (double)hb, .poll_s = (double)poll_s,
                            .max_attempts = (int)attempts,
                            .device = cli.device == VFR_DEVICE_AUTO ? NULL : vfr_device_kind_str(cli.device),
                            .threads = (int)threads, .reporter = cli_reporter(), .stop = stop,
                            .job_time_limit_s = (double)limit};
    st = vfr_worker_run(q, &o);
    vfr_queue_close(q);
    return st == VFR_OK ? 0 : cli_fail(st);
}
