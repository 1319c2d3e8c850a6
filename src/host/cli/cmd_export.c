/* cmd_export.c: `vfr export mlflow`: a run folder, or a registered model
 * version, exported to an MLflow tracking server (mlflow.h, docs/mlflow.md).
 * A thin wrapper of vfr_mlflow_export_run / vfr_mlflow_export_model. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "vfr/mlflow.h"
#include "vfr/registry.h"

static const char usage[] =
    "usage: vfr export mlflow RUN_DIR [--tracking-uri URL] [--experiment NAME] [--run-name NAME] [--json]\n"
    "       vfr export mlflow --model NAME:VERSION [--registry DIR] [--tracking-uri URL] [--experiment NAME]\n\n"
    "Exports to an MLflow tracking server through its REST API (docs/mlflow.md).\n"
    "A run folder becomes an MLflow run: the resolved job and best hyperparameters\n"
    "as parameters; test, validation, backtest and comparison metrics, per-fold\n"
    "losses and the search's per-trial, per-fold scores as metrics (trial = step);\n"
    "dataset SHA-256, versions, device and job id as tags; every file of the folder\n"
    "as an artifact, and for XGBoost an MLflow Model under `model`. --model logs a\n"
    "registry version as an MLflow Model (xgboost flavour, with its MLmodel and\n"
    "input signature) and registers it in MLflow's model registry under NAME:\n"
    "mlflow.pyfunc.load_model(\"models:/NAME/<version printed>\") then scores as\n"
    "`vfr predict` does.\n\n";
static const char after[] =
    "\nAuthentication: MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and\n"
    "MLFLOW_TRACKING_PASSWORD; MLFLOW_TRACKING_INSECURE_TLS, MLFLOW_TRACKING_SERVER_CERT_PATH.\n\n"
    "exit codes: 0 ok, 1 runtime failure (server down, HTTP error), 2 usage or bad input\n";

int cmd_export(int argc, char **argv)
{
    const char *pos[2] = {NULL, NULL}, *model = NULL, *registry = NULL;
    vfr_mlflow_options o = {0};
    int json = 0;
    const cli_option opts[] = {
        {.name = "--tracking-uri", .kind = CLI_STR, .dest = &o.tracking_uri, .arg = "URL",
         .help = "http(s)://HOST:PORT (default $MLFLOW_TRACKING_URI)"},
        {.name = "--experiment", .kind = CLI_STR, .dest = &o.experiment, .arg = "NAME",
         .help = "created when absent (default $MLFLOW_EXPERIMENT_NAME, else vfr)"},
        {.name = "--run-name", .kind = CLI_STR, .dest = &o.run_name, .arg = "NAME",
         .help = "default: the jobId (run), NAME:VERSION (--model)"},
        {.name = "--model", .kind = CLI_STR, .dest = &model, .arg = "REF",
         .help = "NAME:VERSION, NAME@champion, NAME@challenger or NAME (latest)"},
        {.name = "--registry", .kind = CLI_STR, .dest = &registry, .arg = "DIR",
         .help = "the vfr registry (default $VFR_REGISTRY, else ./vfr-registry)"},
        {.name = "--json", .kind = CLI_FLAG, .dest = &json, .help = "print the result as JSON"},
        {0},
    };
    if (argc >= 1 && cli_is_help(argv[0])) {
        cli_print_help(stdout, usage, opts, after);
        return 0;
    }
    if (argc < 1 || strcmp(argv[0], "mlflow") != 0)
        return cli_usage_error("export: the one target is `mlflow` (vfr export mlflow RUN_DIR ...)");
    int rc = cli_parse(argc - 1, argv + 1, usage, opts, after, pos, 2);
    if (rc)
        return rc < 0 ? 0 : rc;
    const char *dir = pos[0];
    if (pos[1])
        return cli_usage_error("one run folder, got '%s' and '%s'", pos[0], pos[1]);
    if (!dir == !model)
        return cli_usage_error("give a RUN_DIR or --model NAME:VERSION (one of them)");
    if (registry && !model)
        return cli_usage_error("--registry goes with --model");

    vfr_mlflow_result res;
    vfr_status st;
    if (model) {
        vfr_registry *reg = NULL;
        st = vfr_registry_open(registry ? registry : vfr_registry_default_dir(), 0, &reg);
        if (st == VFR_OK)
            st = vfr_mlflow_export_model(reg, model, &o, &res);
        vfr_registry_close(reg);
    } else {
        st = vfr_mlflow_export_run(dir, &o, &res);
    }
    if (st != VFR_OK)
        return cli_fail(st);
    if (json) {
        printf("{\"experimentId\": \"%s\", \"runId\": \"%s\", \"artifactUri\": \"%s\", \"params\": %d, "
               "\"metrics\": %d, \"tags\": %d, \"artifacts\": %d", res.experiment_id, res.run_id,
               res.artifact_uri, res.n_params, res.n_metrics, res.n_tags, res.n_artifacts);
        if (model)
            printf(", \"modelName\": \"%s\", \"modelVersion\": \"%s\"", res.model_name, res.model_version);
        printf("}\n");
    } else {
        printf("mlflow run %s in experiment %s: %d params, %d metrics, %d tags, %d artifacts\n", res.run_id,
               res.experiment_id, res.n_params, res.n_metrics, res.n_tags, res.n_artifacts);
        if (model)
            printf("registered models:/%s/%s\n", res.model_name, res.model_version);
    }
    return 0;
}
