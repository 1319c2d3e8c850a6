/* cmd_tune.c: `vfr tune JOB.json`: the job's hyperparameter search, with
 * resume, shards for job arrays, and the merge of shard logs. SIGINT/SIGTERM
 * finish the current writes and exit 3 (requeue; --resume picks it up). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vfr/job.h"
#include "vfr/runfolder.h"
#include "vfr/tune.h"

static const char help[] =
    "usage: vfr tune JOB.json [options]\n\n"
    "Runs the job's search block (grid, random or bayesian/TPE) over time-series\n"
    "folds of the dates before its test period. Writes trials.jsonl (one line per\n"
    "finished trial x fold) and search.json to the run folder (docs/search.md).\n\n"
    "  --jobs N        trial x folds trained at once (default 1)\n"
    "  --threads N     CPU threads in all (default: all cores)\n"
    "  --resume        skip what trials.jsonl already holds\n"
    "  --shard I/N     run the trials t with t mod N == I (job arrays); writes\n"
    "                  trials.shard-I-of-N.jsonl\n"
    "  --merge N       merge the N shard logs into trials.jsonl and search.json\n"
    "  --out DIR       the run folder (default runs/<jobId>)\n"
    "  --runs DIR      parent of run folders (default runs)\n"
    "  --json          print search.json when done\n\n"
    "exit codes: 0 ok, 1 runtime failure, 2 bad job, 3 interrupted (resume with --resume)\n";


int cmd_tune(int argc, char **argv)
{
    const char *path = NULL, *out = NULL, *runs = "runs", *v;
    int json = 0, resume = 0;
    int64_t jobs = 1, threads = 0, merge = 0, shard = 0, nshards = 1;
    for (int i = 0; i < argc; i++) {
        int m;
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            return 0;
        } else if (cli_flag(argv[i], "--json")) {
            json = 1;
        } else if (cli_flag(argv[i], "--resume")) {
            resume = 1;
        } else if ((m = cli_opt(argc, argv, &i, "--jobs", &v)) != 0) {
            if (m < 0 || cli_parse_i64("--jobs", v, 1, 256, &jobs) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--threads", &v)) != 0) {
            if (m < 0 || cli_parse_i64("--threads", v, 1, 1024, &threads) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--merge", &v)) != 0) {
            if (m < 0 || cli_parse_i64("--merge", v, 1, 100000, &merge) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--shard", &v)) != 0) {
            char *slash;
            if (m < 0)
                return 2;
            if (!(slash = strchr(v, '/')))
                return cli_usage_error("--shard '%s': want I/N, e.g. 0/4", v);
            *slash = '\0';
            if (cli_parse_i64("--shard I", v, 0, 99999, &shard) < 0 ||
                cli_parse_i64("--shard N", slash + 1, 1, 100000, &nshards) < 0)
                return 2;
            if (shard >= nshards)
                return cli_usage_error("--shard %lld/%lld: I must be below N", (long long)shard, (long long)nshards);
        } else if ((m = cli_opt(argc, argv, &i, "--out", &out)) != 0) {
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
        return cli_usage_error("which job file? vfr tune JOB.json");
    vfr_job *job;
    vfr_status st = vfr_job_load(path, &job);
    if (st != VFR_OK)
        return cli_fail(st);
    char dir[4096];
    if (out)
        snprintf(dir, sizeof dir, "%s", out);
    else if ((st = vfr_runfolder_dir(runs, job->job_id, dir, sizeof dir)) != VFR_OK) {
        vfr_job_free(job);
        return cli_fail(st);
    }
    volatile const int *stop = cli_stop_on_signals();
    vfr_tune_result res;
    if (merge) {
        st = vfr_tune_merge(job, dir, (int)merge, &res);
    } else {
        vfr_tune_options o = {dir, (int)jobs, (int)threads, resume, (int)shard, (int)nshards,
                              cli.device, cli_reporter(), stop};
        st = vfr_tune_run(job, &o, &res);
    }
    if (st == VFR_OK) {
        cli_progress_done();
        char sp[4200] = "";
        if (!json && vfr_runfolder_path(dir, VFR_RUNFILE_SEARCH, sp, sizeof sp) != VFR_OK)
            vfr_error_clear();
        if (json)
            puts(res.search_json);
        else
            printf("best trial %d: %s %.5f +- %.5f over %lld trials evaluated\n  params %s\n  %s\n",
                   res.best_trial, job->search.metric, res.best_mean, res.best_sd,
                   (long long)res.trials_evaluated, res.best_params_json, sp);
    }
    vfr_tune_result_free(&res);
    vfr_job_free(job);
    return st == VFR_OK ? 0 : cli_fail(st);
}
