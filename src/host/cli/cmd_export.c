/* cmd_export.c: `vfr export mlflow`: a run folder, or a registered model
 * version, exported to an MLflow tracking server (mlflow.h, docs/mlflow.md).
 * A thin wrapper of vfr_mlflow_export_run / vfr_mlflow_export_model. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "vfr/mlflow.h"
#include "vfr/registry.h"

static const char help[] =
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
    "`vfr predict` does.\n\n"
    "  --tracking-uri URL  http(s)://HOST:PORT (default $MLFLOW_TRACKING_URI)\n"
    "  --experiment NAME   created when absent (default $MLFLOW_EXPERIMENT_NAME, else vfr)\n"
    "  --run-name NAME     default: the jobId (run), NAME:VERSION (--model)\n"
    "  --model REF         NAME:VERSION, NAME@champion, NAME@challenger or NAME (latest)\n"
    "  --registry DIR      the vfr registry (default $VFR_REGISTRY, else ./vfr-registry)\n"
    "  --json              print the result as JSON\n\n"
    "Authentication: MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and\n"
    "MLFLOW_TRACKING_PASSWORD; MLFLOW_TRACKING_INSECURE_TLS, MLFLOW_TRACKING_SERVER_CERT_PATH.\n\n"
    "exit codes: 0 ok, 1 runtime failure (server down, HTTP error), 2 usage or bad input\n";

int cmd_export(int argc, char **argv)
{
    if (argc >= 1 && cli_is_help(argv[0])) {
        fputs(help, stdout);
        return 0;
    }
    if (argc < 1 || strcmp(argv[0], "mlflow") != 0)
        return cli_usage_error("export: the one target is `mlflow` (vfr export mlflow RUN_DIR ...)");
    const char *dir = NULL, *model = NULL, *registry = NULL;
    vfr_mlflow_options o = {0};
    int json = 0;
    for (int i = 1; i < argc; i++) {
        int m;
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            return 0;
        } else if ((m = cli_opt(argc, argv, &i, "--tracking-uri", &o.tracking_uri)) != 0 ||
                   (m = cli_opt(argc, argv, &i, "--experiment", &o.experiment)) != 0 ||
                   (m = cli_opt(argc, argv, &i, "--run-name", &o.run_name)) != 0 ||
                   (m = cli_opt(argc, argv, &i, "--model", &model)) != 0 ||
                   (m = cli_opt(argc, argv, &i, "--registry", &registry)) != 0) {
            if (m < 0)
                return 2;
        } else if (cli_flag(argv[i], "--json")) {
            json = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error("unknown option '%s'", argv[i]);
        } else if (!dir) {
            dir = argv[i];
        } else {
            return cli_usage_error("one run folder, got '%s' and '%s'", dir, argv[i]);
        }
    }
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
