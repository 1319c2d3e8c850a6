/* model_internal.h: what a model type implements (the table behind model.h),
 * and the dataview's per-model cache slots. */
#ifndef VFR_MODEL_INTERNAL_H
#define VFR_MODEL_INTERNAL_H

#include <pthread.h>

#include "util.h"
#include "vfr/model.h"

/* One shared XGBoost DMatrix of a view, for one set of quantization
 * parameters. XGBoost builds a DMatrix's quantized page (histogram cuts and
 * bin index) in the first training round and rebuilds it, without a lock,
 * when a booster asks for other parameters (max_bin): concurrent trials with
 * different max_bin on one matrix raced. So each key has its own matrix, and
 * the first round on it runs under `first`, once. */
#define VFR_DATAVIEW_XGB_SLOTS 8
typedef struct vfr_xgb_slot {
    char key[64];             /* "max_bin=256 device=cpu"                         */
    void *dmatrix;
    pthread_mutex_t first;    /* held around the round that builds the page       */
    int quantized;            /* the page is built (read and set under `first`)   */
} vfr_xgb_slot;

struct vfr_dataview {
    const float *X, *y;
    int64_t n;
    int32_t F;
    pthread_mutex_t lock;     /* guards the cache slots                    */
    vfr_xgb_slot xgb[VFR_DATAVIEW_XGB_SLOTS]; /* XGBoost DMatrix per key, built on first use */
    int n_xgb;
    void (*xgb_free)(void *); /* frees one (set by the XGBoost model)      */
    void *lgb_cache;          /* LightGBM Datasets, one per binning key     */
    void (*lgb_free)(void *); /* frees them (set by the LightGBM model)     */
    vfr_rows_reader read;     /* streamed views: features come from here   */
    void *read_ctx;
    float *owned_X;           /* a streamed view's rows, read once for model
                                 types that need a block (vfri_dataview_block) */
    const char *cache_dir;    /* external memory (vfr_dataview_set_external) */
    const float *panel_X;     /* sequence history (vfr_dataview_set_history) */
    int64_t first_row;
    const int64_t *prev_row;
};

/* The view's rows as one block in memory: X itself, or, for a streamed view,
 * all its rows read once (under the view's lock) and kept with the view.
 * Errors: NOMEM, the reader's. */
vfr_status vfri_dataview_block(vfr_dataview *v, const float **X);

typedef struct vfr_model_ops {
    const char *type;
    const char *artifact;     /* file name of the saved artifact             */
    /* 1: fit and predict read a streamed view by chunks themselves
     * (vfr_dataview_read); 0: its rows are read into one block first */
    int streams;
    /* checks trainingConfig.hyperparameters (JSON object text) as the job
     * loads, before any data is read; NULL: checked at create only */
    vfr_status (*check)(const char *params_json);
    /* loads the model's library, so that a first load is not timed; NULL: none */
    vfr_status (*preload)(void);
    vfr_status (*create)(const vfr_model_config *cfg, void **state);
    vfr_status (*fit)(void *state, vfr_dataview *train, vfr_dataview *val,
                      const vfr_fit_options *opt, vfr_fit_result *res);
    vfr_status (*predict)(void *state, vfr_dataview *v, float *out);
    /* keep every round and log each round's losses in the next fits, and
     * predict with rounds [0, rounds) only; NULL: not a boosted model */
    void (*record_rounds)(void *state, double *train_loss, double *val_loss);
    vfr_status (*predict_rounds)(void *state, vfr_dataview *v, int32_t rounds, float *out);
    /* scores in double where the library computes them so; NULL: predict, widened */
    vfr_status (*predict_f64)(void *state, vfr_dataview *v, double *out);
    vfr_status (*save)(void *state, const char *path);
    vfr_status (*load)(const vfr_model_config *cfg, const char *path, void **state);
    vfr_status (*importance)(void *state, double *imp);
    char *(*describe)(void *state);
    void (*destroy)(void *state);
} vfr_model_ops;

extern const vfr_model_ops vfr_model_xgboost_ops;
extern const vfr_model_ops vfr_model_linear_ops;
extern const vfr_model_ops vfr_model_lstm_ops;
extern const vfr_model_ops vfr_model_lightgbm_ops;

#endif
