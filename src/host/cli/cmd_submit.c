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

static const char help[] =
    "usage: vfr submit JOB.json [options]\n"
    "       vfr submit --slurm JOB.json [--shards N] [Slurm options] [--dry-run]\n\n"
    "Validates the job and queues it; `vfr worker` runs it (docs/queue.md).\n\n"
    "  --priority low|normal|high  default: the job's priority (normal)\n"
    "  --max-queued N   refuse (QUEUE_FULL) when N jobs already wait\n"
    "                   (default $VFR_QUEUE_MAX, else 1000)\n"
    "  --queue DIR      the queue: a folder or postgresql://... (default $VFR_QUEUE,\n"
    "                   else ./vfr-queue; docs/queue.md)\n\n"
    "Slurm: writes <runs>/<jobId>.slurm/{search,finalize}.sbatch and submits them:\n"
    "a job array of N search shards (vfr tune --shard I/N --resume, --requeue,\n"
    "SIGUSR1 before the time limit -> checkpoint and requeue) and a finalize job\n"
    "(afterok on the array) that merges the trial logs and runs vfr train --resume.\n"
    "  --slurm          submit to Slurm instead of the local queue\n"
    "  --shards N       search shards: the job array's size (default 1)\n"
    "  --partition P, --account A, --time [D-]HH:MM:SS, --gpus-per-shard G\n"
    "  --signal-seconds S  SIGUSR1 this long before the time limit (default 60)\n"
    "  --runs DIR       parent of run folders (default runs)\n"
    "  --dry-run        write and print the scripts; submit nothing\n"
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
    const char *path = NULL, *queue = vfr_queue_default_dir(), *prio = NULL, *runs = "runs", *v;
    const char *partition = NULL, *account = NULL, *time_limit = NULL;
    int slurm = 0, dry = 0, json = 0;
    int64_t max_queued = 0, shards = 1, gpus = 0, signal_s = 60;
    for (int i = 0; i < argc; i++) {
        int m;
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            return 0;
        } else if (cli_flag(argv[i], "--slurm")) {
            slurm = 1;
        } else if (cli_flag(argv[i], "--dry-run")) {
            dry = 1;
        } else if (cli_flag(argv[i], "--json")) {
            json = 1;
        } else if ((m = cli_opt(argc, argv, &i, "--priority", &prio)) != 0) {
            if (m < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--queue", &queue)) != 0) {
            if (m < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--max-queued", &v)) != 0) {
            if (m < 0 || cli_parse_i64("--max-queued", v, 1, 100000000, &max_queued) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--shards", &v)) != 0) {
            if (m < 0 || cli_parse_i64("--shards", v, 1, 10000, &shards) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--gpus-per-shard", &v)) != 0) {
            if (m < 0 || cli_parse_i64("--gpus-per-shard", v, 0, 64, &gpus) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--signal-seconds", &v)) != 0) {
            if (m < 0 || cli_parse_i64("--signal-seconds", v, 1, 65535, &signal_s) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--partition", &partition)) != 0) {
            if (m < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--account", &account)) != 0) {
            if (m < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--time", &time_limit)) != 0) {
            if (m < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--runs", &runs)) != 0) {
            if (m < 0)
                return 2;
        } else if (argv[i][0] == '-' || path) {
            return cli_usage_error("unknown argument '%s'", argv[i]);
        } else {
            path = argv[i];
        }
    }
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
