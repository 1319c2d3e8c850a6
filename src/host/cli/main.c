/* main.c: the vfr command line. Parses global options, dispatches to a
 * subcommand, and maps its status to an exit code:
 *   0 ok, 1 runtime failure, 2 usage or bad input, 3 interrupted (requeue). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "cli.h"
#include "vfr_config.h"

typedef struct command {
    const char *name;
    int (*run)(int, char **);
    const char *summary;
} command;

static const command commands[] = {
    {"info", cmd_info, "versions, build options, devices and libraries"},
    {"pack", cmd_pack, "CSV prices or features -> vfr dataset (HDF5)"},
    {"inspect", cmd_inspect, "describe a dataset: shape, symbols, dates, missing values"},
    {"synth", cmd_synth, "write a synthetic dataset with a planted signal"},
    {"job", cmd_job, "job show JOB.json: the job file validated and resolved"},
    {"prepare", cmd_prepare, "the data-quality report of a job's dataset"},
    {"split", cmd_split, "the folds of a job's split: dates, rows, purge, embargo"},
    {"train", cmd_train, "train, evaluate and write a run folder for a job"},
    {"compare", cmd_compare, "compare a run with baselines: tests, PSR/DSR, deploy decision"},
    {"tune", cmd_tune, "hyperparameter search: grid, random, TPE; resumable, shardable"},
    {"evaluate", cmd_evaluate, "score a predictions file: classification/regression metrics, IC"},
    {"backtest", cmd_backtest, "backtest a predictions file: daily returns, Sharpe, drawdown ..."},
    {"models", cmd_models, "the model registry: register, list, show, deploy, rollback, history, ab ..."},
    {"predict", cmd_predict, "score dataset rows with a registered model (champion, A/B routing)"},
    {"export", cmd_export, "export mlflow: a run or a registered model to an MLflow tracking server"},
    {"report", cmd_report, "the run report: one self-contained HTML page of a run folder"},
    {"submit", cmd_submit, "queue a job for a worker, or submit it to Slurm (--slurm)"},
    {"worker", cmd_worker, "run queued jobs by priority, each in a child process"},
    {"status", cmd_status, "the queue's jobs: state, progress, timings, result, Slurm states"},
    {"cancel", cmd_cancel, "cancel a queued or running job"},
    {"schedule", cmd_schedule, "retraining schedules: add, list, remove, tick (for cron)"},
};

static void usage(FILE *f)
{
    fprintf(f,
            "vfr %s: GPU-accelerated batch trainer for financial ML models\n\n"
            "usage: vfr [global options] <command> [options]\n\n"
            "commands:\n",
            VFR_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\nglobal options (also accepted after the command):\n"
            "  --device auto|cpu|cuda  where to compute (default auto: CUDA when present)\n"
            "  --quiet                 errors only\n"
            "  --verbose               debug messages too\n"
            "  --log-json              log lines as JSON objects on stderr\n"
            "  --help                  this text; 'vfr <command> --help' for a command\n"
            "  --version               print the version\n\n"
            "exit codes: 0 ok, 1 runtime failure, 2 usage or bad input, 3 interrupted\n");
}

/* Takes the global options out of argv wherever they stand, so that
 * `vfr pack --quiet ...` and `vfr --quiet pack ...` both work. */
static int strip_globals(int *argc, char **argv)
{
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        const char *v;
        int m;
        if (cli_flag(argv[i], "--quiet")) {
            cli.verbosity = 0;
        } else if (cli_flag(argv[i], "--verbose")) {
            cli.verbosity = 2;
        } else if (cli_flag(argv[i], "--log-json")) {
            cli.log_json = 1;
        } else if ((m = cli_opt(*argc, argv, &i, "--device", &v)) != 0) {
            if (m < 0)
                return 2;
            vfr_status st = vfr_device_parse(v, &cli.device);
            if (st != VFR_OK)
                return cli_fail(st);
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    return 0;
}

int main(int argc, char **argv)
{
    /* OpenMP threads (XGBoost's, OpenBLAS's) spin while waiting by default; on
     * a shared node that costs more than it saves (measured 2.3x slower
     * training under load). The user's own setting wins. */
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    /* vfr parallelises across models (--jobs, XGBoost's nthread); OpenBLAS's
     * own threads inside each LSTM/linear model then only contend (measured:
     * two threaded LSTMs 15 s vs 1.1 s). OpenBLAS reads its variable when it
     * loads, before main, so set the count here unless the user chose one. */
    if (!getenv("OPENBLAS_NUM_THREADS"))
        openblas_set_num_threads(1);
    argc--, argv++;
    int rc = strip_globals(&argc, argv);
    if (rc)
        return rc;
    if (argc == 0) {
        usage(stderr);
        return 2;
    }
    if (cli_is_help(argv[0]) || strcmp(argv[0], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[0], "--version") == 0) {
        printf("vfr %s\n", VFR_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[0], commands[i].name) == 0) {
            cli.command = commands[i].name;
            rc = commands[i].run(argc - 1, argv + 1);
            cli_progress_done();
            return rc;
        }
    fprintf(stderr, "vfr: unknown command '%s'\n\n", argv[0]);
    usage(stderr);
    return 2;
}
