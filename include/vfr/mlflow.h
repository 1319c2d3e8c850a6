/* mlflow.h: runs and registered models exported to an MLflow tracking server,
 * through its REST API (libcurl), the way every MLflow client talks to it.
 *
 * What goes where (docs/mlflow.md): the resolved job and the best
 * hyperparameters as parameters; test, validation and backtest metrics,
 * per-fold losses and the search's per-trial, per-fold scores and validation
 * losses as metrics with steps; dataset SHA-256, versions, device and job id as
 * tags; the run folder's files as artifacts through the server's artifact API
 * (mlflow-artifacts), and for XGBoost an MLflow Model (xgboost and
 * python_function flavours, MLmodel with an input signature) under "model".
 *
 * Authentication as MLflow's own client: MLFLOW_TRACKING_TOKEN (bearer) or
 * MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD (basic);
 * MLFLOW_TRACKING_INSECURE_TLS=true skips TLS verification and
 * MLFLOW_TRACKING_SERVER_CERT_PATH names a CA bundle. No secret is ever put
 * in a message. Not thread-safe per call; calls on different threads are. */
#ifndef VFR_MLFLOW_H
#define VFR_MLFLOW_H

#include "vfr/registry.h"
#include "vfr/status.h"

typedef struct vfr_mlflow_options {
    const char *tracking_uri; /* http(s)://HOST:PORT[/prefix]; NULL: $MLFLOW_TRACKING_URI */
    const char *experiment;   /* NULL: $MLFLOW_EXPERIMENT_NAME, else "vfr"; created if absent */
    const char *run_name;     /* NULL: the jobId (run), NAME:VERSION (model)               */
    long timeout_s;           /* per request; 0: 60                                        */
} vfr_mlflow_options;

typedef struct vfr_mlflow_result {
    char experiment_id[64];
    char run_id[64];
    char artifact_uri[1024]; /* the run's artifact root, as the server gave it     */
    char model_name[160];    /* export_model: the registered model's name          */
    char model_version[32];  /* export_model: MLflow's version number, e.g. "3"    */
    int n_params, n_metrics, n_tags, n_artifacts;
} vfr_mlflow_result;

/* Creates an MLflow run for a finished run folder (docs/run-folder.md) and
 * logs its parameters, metrics, tags and artifacts; the run ends FINISHED
 * (FAILED, best effort, when a later request fails). OUT res (may be NULL).
 * Errors: INVALID_ARG (no or bad tracking URI), NOT_FOUND / FORMAT (not a run
 * folder), IO (server unreachable, an HTTP error: the message names the
 * server, the request and MLflow's error_code and message). */
vfr_status vfr_mlflow_export_run(const char *run_dir, const vfr_mlflow_options *o, vfr_mlflow_result *res);

/* Logs a registry version (ref NAME:VERSION, NAME@ALIAS or NAME) as an MLflow
 * Model in a new run (its metrics, job and lineage as metrics, parameters and
 * tags) and registers it in MLflow's model registry under the same name, so
 * that mlflow.pyfunc.load_model("models:/NAME/<res->model_version>") predicts
 * what `vfr predict` does. Errors: as export_run; INVALID_ARG for a model type
 * without an MLflow flavour (linear, lstm); NOT_FOUND / INTEGRITY from the
 * registry. */
vfr_status vfr_mlflow_export_model(vfr_registry *reg, const char *ref, const vfr_mlflow_options *o,
                                   vfr_mlflow_result *res);

#endif
