/* cmd_train.c: `vfr train JOB.json`: the end-to-end training run, then the
 * test-set metrics next to buy-and-hold. SIGINT/SIGTERM stop it cleanly
 * (nothing half-written is left) with exit code 3, so a scheduler can requeue. */
#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vfr/job.h"
#include "vfr/mlflow.h"
#include "vfr/runfolder.h"
#include "vfr/train.h"

static const char usage[] =
    "usage: vfr train JOB.json [options]\n\n"
    "Loads the job's dataset, runs the quality gate, splits by date, fits the\n"
    "model with early stopping on the validation set, predicts the test set,\n"
    "evaluates it (every metric and the job's backtest, next to buy-and-hold)\n"
    "and writes the run folder (docs/run-folder.md).\n\n";
static const char after[] =
    "  --device auto|cpu|cuda, --quiet, --verbose, --log-json: see 'vfr --help'\n\n"
    "exit codes: 0 ok, 1 runtime failure, 2 bad job or data, 3 interrupted\n";

static double num(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItem(o, a);
    if (b)
        x = cJSON_GetObjectItem(x, b);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static void print_table(const cJSON *m)
{
    const cJSON *test = cJSON_GetObjectItem(m, "test"), *bt = cJSON_GetObjectItem(m, "backtest");
    const cJSON *mod = cJSON_GetObjectItem(bt, "model"), *bh = cJSON_GetObjectItem(bt, "buyAndHold");
    const cJSON *tp = cJSON_GetObjectItem(m, "testPeriod");
    printf("\ntest set: %s to %s, %.0f dates, %.0f rows\n",
           cJSON_GetObjectItem(tp, "start")->valuestring, cJSON_GetObjectItem(tp, "end")->valuestring,
           num(m, "testPeriod", "dates"), num(m, "testPeriod", "rows"));
    int cls = strcmp(cJSON_GetObjectItem(m, "task")->valuestring, "classification") == 0;
    static const char *cm[] = {"accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "ic", "rank_ic"};
    static const char *rm[] = {"rmse", "mae", "r2", "ic", "rank_ic", "icir"};
    printf("\n  %-22s %12s\n", "model metric", "value");
    const char **names = cls ? cm : rm;
    int nn = cls ? 8 : 6;
    for (int i = 0; i < nn; i++)
        printf("  %-22s %12.4f\n", names[i], num(test, names[i], NULL));
    printf("\n  backtest: %s, hold %.0f days, %.1f bps costs\n",
           cJSON_GetObjectItem(bt, "strategy")->valuestring, num(bt, "holdingDays", NULL),
           num(bt, "costBps", NULL));
    printf("  %-22s %12s %12s\n", "", "model", "buy&hold");
    static const char *fm[] = {"total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown",
                               "calmar", "win_rate", "directional_accuracy", "turnover"};
    for (int i = 0; i < 10; i++)
        printf("  %-22s %12.4f %12.4f\n", fm[i], num(mod, fm[i], NULL), num(bh, fm[i], NULL));
}

int cmd_train(int argc, char **argv)
{
    const char *path = NULL, *out = NULL, *runs = NULL, *registry = NULL;
    int json = 0, resume = 0;
    int64_t threads = 0, jobs = 1;
    const cli_option opts[] = {
        {.name = "--out", .kind = CLI_STR, .dest = &out, .arg = "DIR", .help = "the run folder (default runs/<jobId>)"},
        {.name = "--runs", .kind = CLI_STR, .dest = &runs, .arg = "DIR",
         .help = "parent folder of run folders (default runs)"},
        {.name = "--threads", .kind = CLI_I64, .dest = &threads, .lo = 1, .hi = 1024, .arg = "N",
         .help = "CPU threads (default: all cores)"},
        {.name = "--registry", .kind = CLI_STR, .dest = &registry, .arg = "DIR",
         .help = "the registry for autoRegister/autoDeploy and the champion\nbaseline (default $VFR_REGISTRY, else "
                 "./vfr-registry)"},
        {.name = "--jobs", .kind = CLI_I64, .dest = &jobs, .lo = 1, .hi = 256, .arg = "N",
         .help = "with a search block: trial x folds trained at once (default 1)"},
        {.name = "--resume", .kind = CLI_FLAG, .dest = &resume,
         .help = "with a search block: resume from the run folder's trials.jsonl"},
        {.name = "--json", .kind = CLI_FLAG, .dest = &json, .help = "print metrics.json instead of the table"},
        {0},
    };
    int rc = cli_parse(argc, argv, usage, opts, after, &path, 1);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!path)
        return cli_usage_error("which job file? vfr train JOB.json");
    vfr_job *job;
    vfr_status st = vfr_job_load(path, &job);
    if (st != VFR_OK)
        return cli_fail(st);
    volatile const int *stop = cli_stop_on_signals();
    vfr_train_options o = {.runs_dir = runs, .out_dir = out, .device = cli.device,
                           .nthread = (int)threads, .jobs = (int)jobs, .resume = resume,
                           .champion = cli_champion_source(registry), .registry_dir = registry,
                           .reporter = cli_reporter(),
                           .stop = stop};
    vfr_train_result res;
    st = vfr_train_run(job, &o, &res);
    if (st != VFR_OK) {
        vfr_job_free(job);
        return cli_fail(st);
    }
    cli_progress_done();
    if (json) {
        puts(res.metrics_json);
    } else {
        cJSON *m = cJSON_Parse(res.metrics_json);
        if (m)
            print_table(m);
        cJSON_Delete(m);
        char *cj;
        if (vfr_runfolder_read(res.run_dir, VFR_RUNFILE_COMPARISON, &cj, NULL) == VFR_OK) {
            cli_print_comparison(cj);
            free(cj);
        } else {
            vfr_error_clear();
        }
        printf("\nrun folder: %s\n", res.run_dir);
        if (res.registered[0])
            printf("registered: %s%s\n", res.registered, res.deployed ? " (deployed)" : "");
    }
    free(res.metrics_json);
    /* export.mlflow: after the run is complete; a failed export fails the
     * command (exit 1), never the run folder. */
    if (job->exports.mlflow) {
        vfr_mlflow_options mo = {.tracking_uri = job->exports.mlflow, .experiment = job->exports.mlflow_experiment};
        vfr_mlflow_result mr;
        st = vfr_mlflow_export_run(res.run_dir, &mo, &mr);
        if (st == VFR_OK) {
            cli_log(VFR_LOG_INFO, "exported to MLflow: run %s in experiment %s", mr.run_id, mr.experiment_id);
        } else {
            vfr_error_prefix("the run is complete in %s, but its MLflow export failed: ", res.run_dir);
            rc = cli_fail(st);
        }
    }
    vfr_job_free(job);
    return rc;
}
