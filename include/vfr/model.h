/* model.h: the model interface. Every model type (XGBoost, LightGBM, linear, LSTM)
 * implements one small table of functions: create from params, fit (train +
 * validation, with early stopping), predict, save, load, feature importance,
 * describe. vfr train, tune and the registry only talk to this interface.
 *
 * Data reach a model as a vfr_dataview: a borrowed row-major float32 block
 * (a zero-copy row range of the prepared panel), or rows read chunk by chunk
 * from a reader (a streamed panel), plus per-model caches built on first use
 * (XGBoost's quantile matrix with its histogram cuts), so that a fold's
 * matrix is built once and reused by every trial. */
#ifndef VFR_MODEL_H
#define VFR_MODEL_H

#include <stdint.h>

#include "vfr/device.h"
#include "vfr/report.h"
#include "vfr/status.h"

/* What a model learns; the job's objective (job.h) is one of these. */
typedef enum vfr_objective {
    VFR_OBJECTIVE_DIRECTION = 0, /* classification: price_direction_<h>d */
    VFR_OBJECTIVE_RETURN,        /* regression: return_<h>d              */
} vfr_objective;

typedef struct vfr_model vfr_model;
typedef struct vfr_dataview vfr_dataview;

/* A view of n rows: X [n, F] (NaN = missing), y [n] labels (may be NULL for
 * prediction-only views), and for sequence models the rows' symbol [n] and
 * date [n] (may be NULL). All borrowed: they must outlive the view.
 * Thread-safe to share between threads once created. */
vfr_status vfr_dataview_create(const float *X, const float *y, int64_t n, int32_t F,
                               vfr_dataview **out);
void vfr_dataview_destroy(vfr_dataview *v); /* NULL is a no-op */

/* A view whose features are not in memory: `read` fills rows [row0, row1) of
 * the view (view row i is the reader's row first_row + i) into out
 * [(row1-row0), F]; it is called from any thread, one call at a time per
 * view (the reader serialises across views itself if it must). y [n] as in
 * vfr_dataview_create. XGBoost builds its matrices from such a view chunk by
 * chunk and predicts chunk by chunk, the linear model reads it by chunks at
 * each Newton step (on the CPU); the other model types read the view's rows
 * into a block of their own on first use (its size, not the panel's).
 * ctx is borrowed. Errors: INVALID_ARG, NOMEM. */
typedef vfr_status (*vfr_rows_reader)(void *ctx, int64_t row0, int64_t row1, float *out);
vfr_status vfr_dataview_create_streamed(vfr_rows_reader read, void *ctx, int64_t first_row,
                                        const float *y, int64_t n, int32_t F, vfr_dataview **out);

/* Rows [i0, i1) of the view: *rows points into the view's own block (in
 * memory) or into buf [(i1-i0), F], filled by the reader. Errors: the reader's. */
vfr_status vfr_dataview_read(vfr_dataview *v, int64_t i0, int64_t i1, float *buf, const float **rows);

/* The rows of one chunk, the unit in which streamed features are read and fed
 * to XGBoost (about 32 MB of float32 features; the same for every view of F
 * features, so that in-memory and streamed views give identical matrices). */
int64_t vfr_dataview_chunk_rows(int32_t F);

/* External memory: XGBoost matrices of this view are built with the
 * library's external-memory quantile matrix, cached in files under the
 * folder `cache_dir` (borrowed; the caller creates and removes it). NULL:
 * in memory. Only XGBoost 3.0 and newer can (vfr_xgboost_info.has_extmem). */
void vfr_dataview_set_external(vfr_dataview *v, const char *cache_dir);

/* Gives sequence models (LSTM) each row's history. panel_X [panel_n, F] is the
 * whole prepared panel; the view's row i is panel row first_row + i (views are
 * contiguous date ranges); prev_row [panel_n] is, for every panel row, the
 * panel row of the same symbol's previous date, or -1. Borrowed. Tree and
 * linear models ignore it. */
void vfr_dataview_set_history(vfr_dataview *v, const float *panel_X, int64_t first_row,
                              const int64_t *prev_row);
int64_t vfr_dataview_rows(const vfr_dataview *v);

typedef struct vfr_model_config {
    const char *type;           /* "xgboost" | "lightgbm" | "linear" | "lstm"    */
    const char *params_json;    /* the job's trainingConfig.hyperparameters      */
    vfr_objective objective;
    vfr_device_kind device;     /* resolved: CPU or CUDA                         */
    uint64_t seed;
    int32_t F;
    const char *const *feature_names; /* [F]                                     */
    int nthread;                /* CPU threads for this model; 0 = all cores     */
    const vfr_reporter *reporter;
} vfr_model_config;

typedef struct vfr_fit_options {
    int32_t early_stopping_rounds; /* 0: off                                     */
    int32_t max_rounds;            /* 0: the model's own (n_estimators, epochs)  */
    volatile const int *stop;      /* non-NULL and set: stop at the next round   */
} vfr_fit_options;

typedef struct vfr_fit_result {
    int32_t rounds;          /* rounds (trees, epochs, iterations) trained        */
    int32_t best_round;      /* kept: rounds [0, best_round] (early stopping)     */
    double best_val_loss;    /* validation loss at best_round (NaN: no val set)   */
    double train_loss;       /* training loss at best_round                       */
    const char *loss_name;   /* static: "logloss", "rmse", ...                    */
} vfr_fit_result;

/* Checks a job's hyperparameters (the JSON object text of
 * trainingConfig.hyperparameters) for a model type, before any data is read:
 * unknown keys (with a suggestion), types, ranges; and that the type's
 * library loads. Errors: INVALID_ARG (unknown type or a bad parameter: the
 * message names trainingConfig.hyperparameters.<key>), NOT_FOUND (the
 * library is absent: the message says how to get it). Thread-safe. */
vfr_status vfr_model_check_params(const char *type, const char *params_json);

/* The device a model type trains on, given the run's device dev (resolved
 * from asked): CUDA only when the type's library can (XGBoost, LightGBM);
 * with asked `auto` it falls back to the CPU with a log line to rep, with an
 * explicit `cuda` it is NO_DEVICE naming the library. OUT *model_dev. */
vfr_status vfr_model_device(const char *type, vfr_device_kind asked, vfr_device_kind dev,
                            const vfr_reporter *rep, vfr_device_kind *model_dev);

/* Loads the type's library now (once per process), so that the first
 * vfr_model_load is not charged for it. Errors as vfr_model_check_params. */
vfr_status vfr_model_preload(const char *type);

/* Creates an untrained model. Errors: INVALID_ARG (unknown type, a parameter
 * that is unknown or of the wrong type: the message names
 * trainingConfig.hyperparameters.<key>), NO_DEVICE (CUDA asked for and the
 * model's library cannot use it), NOT_FOUND (the model's library is absent). */
vfr_status vfr_model_create(const vfr_model_config *cfg, vfr_model **out);
void vfr_model_destroy(vfr_model *m); /* NULL is a no-op */

/* Trains on `train`, early-stopping on `val` (may be NULL), keeping the model
 * at its best round. Not thread-safe for one model; distinct models may fit
 * concurrently. */
vfr_status vfr_model_fit(vfr_model *m, vfr_dataview *train, vfr_dataview *val,
                         const vfr_fit_options *opt, vfr_fit_result *res);

/* Scores the view's rows: OUT out [n]: probability of "up" (direction) or
 * the predicted return. Thread-safe for a trained model. */
vfr_status vfr_model_predict(vfr_model *m, vfr_dataview *v, float *out);

/* Boosted models (XGBoost): the next fits keep every round trained (no slice
 * to the best round), for vfr_model_predict_rounds, and write each round's
 * training and validation loss to train_loss and val_loss [the fit's max
 * rounds; NaN without a validation set], which stay the caller's. Errors:
 * INVALID_ARG (the type has no rounds). */
vfr_status vfr_model_record_rounds(vfr_model *m, double *train_loss, double *val_loss);

/* As vfr_model_predict with the first `rounds` boosting rounds only (XGBoost's
 * iteration_range [0, rounds)): the scores a model trained to `rounds` rounds
 * gives, from one trained further (vfr_model_record_rounds). OUT out [n].
 * Errors: INVALID_ARG (the type has no rounds, or rounds out of range). */
vfr_status vfr_model_predict_rounds(vfr_model *m, vfr_dataview *v, int32_t rounds, float *out);

/* As vfr_model_predict, in double precision where the library computes in
 * double (LightGBM); other types widen their float scores. OUT out [n]. */
vfr_status vfr_model_predict_f64(vfr_model *m, vfr_dataview *v, double *out);

/* Saves the artifact to `path` (written to a temporary name and renamed).
 * XGBoost: XGBoost's own JSON, loadable by xgboost.Booster().load_model().
 * LightGBM: LightGBM's text model, loadable by lightgbm.Booster(model_file=). */
vfr_status vfr_model_save(vfr_model *m, const char *path);
/* Loads an artifact saved by vfr_model_save. cfg->type names the type; its
 * params_json is ignored (the artifact carries what prediction needs). */
vfr_status vfr_model_load(const vfr_model_config *cfg, const char *path, vfr_model **out);

/* Feature importance by feature: OUT imp [F] (gain for trees, |coefficient|
 * of standardised features for linear models), 0 for unused features. */
vfr_status vfr_model_importance(vfr_model *m, double *imp);

/* A JSON object describing the model (type, parameters as used, library
 * version, rounds). Caller frees. */
char *vfr_model_describe(vfr_model *m);

/* The artifact's file name for this type ("model.json", "model.txt", "model.h5"). */
const char *vfr_model_artifact_name(const char *type);

#endif
