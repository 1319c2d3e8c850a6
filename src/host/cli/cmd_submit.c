/* cmd_submit.c: `vfr submit JOB.json`: validate a job and queue it for a
 * worker, or, with --slurm, write sbatch scripts (search shards as a job
 * array, then a finalize job) and submit them to Slurm. docs/queue.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "vfr/job.h"
#include "vfr/queue.h"

static const char usage[] =
    "usage: vfr submit JOB.json [options]\n"
    "       vfr submit --slurm JOB.json [--shards N] [Slurm options] [--dry-run]\n\n"
    "Validates the job and queues it; `vfr worker` runs it (docs/queue.md).\n\n";
static const char after[] =
    "  --device auto|cpu|cuda is passed on to the vfr the scripts run\n\n"
    "exit codes: 0 queued, 1 runtime failure (sbatch failed), 2 bad job\n"
    "(INVALID_PARAMETERS), DUPLICATE_JOB_ID or QUEUE_FULL\n";

int cli_self_exe(char *buf, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return 0;
}

int cmd_submit(int argc, char **argv)
{
    const char *path = NULL, *queue = vfr_queue_default_dir(), *prio = NULL, *runs = "runs";
    const char *partition = NULL, *account = NULL, *time_limit = NULL;
    int slurm = 0, dry = 0, json = 0;
    int64_t max_queued = 0, shards = 1, gpus = 0, signal_s = 60;
    const cli_option opts[] = {
        {.name = "--priority", .kind = CLI_STR, .dest = &prio, .arg = "low|normal|high",
         .help = "default: the job's priority (normal)"},
        {.name = "--max-queued", .kind = CLI_I64, .dest = &max_queued, .lo = 1, .hi = 100000000, .arg = "N",
         .help = "refuse (QUEUE_FULL) when N jobs already wait\n(default $VFR_QUEUE_MAX, else 1000)"},
        {.name = "--queue", .kind = CLI_STR, .dest = &queue, .arg = "DIR",
         .help = "the queue: a folder or postgresql://... (default $VFR_QUEUE,\nelse ./vfr-queue; docs/queue.md)"},
        {.name = "--json", .kind = CLI_FLAG, .dest = &json, .help = "print the queued job as JSON"},
        {.name = "", .kind = CLI_TEXT,
         .help = "\nSlurm: writes <runs>/<jobId>.slurm/{search,finalize}.sbatch and submits them:\n"
                 "a job array of N search shards (vfr tune --shard I/N --resume, --requeue,\n"
                 "SIGUSR1 before the time limit -> checkpoint and requeue) and a finalize job\n"
                 "(afterok on the array) that merges the trial logs and runs vfr train --resume.\n"},
        {.name = "--slurm", .kind = CLI_FLAG, .dest = &slurm, .help = "submit to Slurm instead of the local queue"},
        {.name = "--shards", .kind = CLI_I64, .dest = &shards, .lo = 1, .hi = 10000, .arg = "N",
         .help = "search shards: the job array's size (default 1)"},
        {.name = "--partition", .kind = CLI_STR, .dest = &partition, .arg = "P", .help = "the Slurm partition"},
        {.name = "--account", .kind = CLI_STR, .dest = &account, .arg = "A", .help = "the Slurm account"},
        {.name = "--time", .kind = CLI_STR, .dest = &time_limit, .arg = "[D-]HH:MM:SS",
         .help = "the time limit of each Slurm job"},
        {.name = "--gpus-per-shard", .kind = CLI_I64, .dest = &gpus, .lo = 0, .hi = 64, .arg = "G",
         .help = "GPUs each search shard asks for (default 0)"},
        {.name = "--signal-seconds", .kind = CLI_I64, .dest = &signal_s, .lo = 1, .hi = 65535, .arg = "S",
         .help = "SIGUSR1 this long before the time limit (default 60)"},
        {.name = "--runs", .kind = CLI_STR, .dest = &runs, .arg = "DIR", .help = "parent of run folders (default runs)"},
        {.name = "--dry-run", .kind = CLI_FLAG, .dest = &dry, .help = "write and print the scripts; submit nothing"},
        {0},
    };
    int rc = cli_parse(argc, argv, usage, opts, after, &path, 1);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!path)
        return cli_usage_error("which job file? vfr submit JOB.json");
    if (!slurm && (dry || shards != 1 || partition || account || time_limit || gpus))
        return cli_usage_error("--shards, --partition, --account, --time, --gpus-per-shard and --dry-run go with --slurm");
    vfr_queue_submit_options so = {.priority = -1, .max_queued = max_queued, .source = "submit"};
    vfr_status st;
    if (prio) {
        vfr_queue_priority p;
        if ((st = vfr_queue_parse_priority(prio, "--priority", &p)) != VFR_OK)
            return cli_fail(st);
        so.priority = (int)p;
    }
    vfr_job *job = NULL;
    vfr_queue *q = NULL;
    if ((st = vfr_job_load(path, &job)) != VFR_OK)
        return cli_fail(st);
    if (!(slurm && dry) && (st = vfr_queue_open(queue, 1, &q)) != VFR_OK)
        goto done;
    if (!slurm) {
        if ((st = vfr_queue_submit(q, job, &so)) != VFR_OK)
            goto done;
        if (json) {
            vfr_queue_job *j = NULL;
            if ((st = vfr_queue_get(q, job->job_id, &j)) == VFR_OK) {
                char *t = vfr_queue_job_to_json(q, j, 0);
                puts(t ? t : "null");
                free(t);
            }
            vfr_queue_job_free(j);
        } else {
            printf("queued %s (priority %s) in %s\n", job->job_id,
                   prio ? prio : vfr_queue_priority_name(job->priority), vfr_queue_dir(q));
        }
        goto done;
    }
    char exe[4096];
    if (cli_self_exe(exe, sizeof exe) != 0) {
        st = vfr_fail(VFR_ERR_IO, "submit: cannot find the vfr binary (/proc/self/exe)");
        goto done;
    }
    vfr_slurm_options o = {.exe = exe, .runs_dir = runs, .shards = (int)shards, .partition = partition,
                           .account = account, .time_limit = time_limit, .gpus_per_shard = (int)gpus,
                           .device = cli.device == VFR_DEVICE_AUTO ? NULL : vfr_device_kind_str(cli.device),
                           .signal_s = (int)signal_s, .dry_run = dry};
    vfr_slurm_submission sub;
    if ((st = vfr_slurm_submit(q, job, &o, &sub)) != VFR_OK)
        goto done;
    if (dry) {
        if (sub.search_script)
            printf("# ---- %s/search.sbatch\n%s\n", sub.dir, sub.search_script);
        printf("# ---- %s/finalize.sbatch\n%s\n", sub.dir, sub.finalize_script);
        printf("# ---- would submit (dry run: nothing was submitted)\n");
        if (sub.search_cmd)
            printf("%s\n", sub.search_cmd);
        printf("%s\n", sub.finalize_cmd);
    } else {
        if (sub.array_id[0])
            printf("submitted %s to Slurm: search array %s (%lld shards), finalize %s (afterok:%s)\n",
                   job->job_id, sub.array_id, (long long)shards, sub.finalize_id, sub.array_id);
        else
            printf("submitted %s to Slurm: job %s\n", job->job_id, sub.finalize_id);
        printf("  scripts and Slurm logs: %s\n  run folder: %s\n", sub.dir, sub.run_dir);
    }
    vfr_slurm_submission_free(&sub);
done:
    vfr_queue_close(q);
    vfr_job_free(job);
    return st == VFR_OK ? 0 : cli_fail(st);
}
