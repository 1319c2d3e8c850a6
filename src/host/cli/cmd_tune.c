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

static const char usage[] =
    "usage: vfr tune JOB.json [options]\n\n"
    "Runs the job's search block (grid, random or bayesian/TPE) over time-series\n"
    "folds of the dates before its test period. Writes trials.jsonl (one line per\n"
    "finished trial x fold) and search.json to the run folder (docs/search.md).\n\n";
static const char after[] =
    "\nexit codes: 0 ok, 1 runtime failure, 2 bad job, 3 interrupted (resume with --resume)\n";

/* --shard I/N into int64_t dest[2] = {I, N}. */
static int parse_shard(const char *name, const char *v, void *dest)
{
    int64_t *in = dest;
    char buf[64];
    char *slash;
    snprintf(buf, sizeof buf, "%s", v);
    if (!(slash = strchr(buf, '/'))) {
        cli_usage_error("%s '%s': want I/N, e.g. 0/4", name, v);
        return -1;
    }
    *slash = '\0';
    if (cli_parse_i64("--shard I", buf, 0, 99999, &in[0]) < 0 ||
        cli_parse_i64("--shard N", slash + 1, 1, 100000, &in[1]) < 0)
        return -1;
    if (in[0] >= in[1]) {
        cli_usage_error("%s %lld/%lld: I must be below N", name, (long long)in[0], (long long)in[1]);
        return -1;
    }
    return 0;
}

int cmd_tune(int argc, char **argv)
{
    const char *path = NULL, *out = NULL, *runs = "runs";
    int json = 0, resume = 0;
    int64_t jobs = 1, threads = 0, merge = 0, in[2] = {0, 1};
    const cli_option opts[] = {
        {.name = "--jobs", .kind = CLI_I64, .dest = &jobs, .lo = 1, .hi = 256, .arg = "N",
         .help = "trial x folds trained at once (default 1)"},
        {.name = "--threads", .kind = CLI_I64, .dest = &threads, .lo = 1, .hi = 1024, .arg = "N",
         .help = "CPU threads in all (default: all cores)"},
        {.name = "--resume", .kind = CLI_FLAG, .dest = &resume, .help = "skip what trials.jsonl already holds"},
        {.name = "--shard", .kind = CLI_FN, .dest = in, .parse = parse_shard, .arg = "I/N",
         .help = "run the trials t with t mod N == I (job arrays); writes\ntrials.shard-I-of-N.jsonl"},
        {.name = "--merge", .kind = CLI_I64, .dest = &merge, .lo = 1, .hi = 100000, .arg = "N",
         .help = "merge the N shard logs into trials.jsonl and search.json"},
        {.name = "--out", .kind = CLI_STR, .dest = &out, .arg = "DIR", .help = "the run folder (default runs/<jobId>)"},
        {.name = "--runs", .kind = CLI_STR, .dest = &runs, .arg = "DIR", .help = "parent of run folders (default runs)"},
        {.name = "--json", .kind = CLI_FLAG, .dest = &json, .help = "print search.json when done"},
        {0},
    };
    int rc = cli_parse(argc, argv, usage, opts, after, &path, 1);
    if (rc)
        return rc < 0 ? 0 : rc;
    int64_t shard = in[0], nshards = in[1];
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
