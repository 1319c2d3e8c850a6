/* lightgbm_internal.h: the LightGBM C API entry points vfr uses, resolved
 * with dlsym from whichever lib_lightgbm.so was loaded (lightgbm.h). The
 * signatures are those of LightGBM 4.x's c_api.h. */
#ifndef VFR_LIGHTGBM_INTERNAL_H
#define VFR_LIGHTGBM_INTERNAL_H

#include <stdint.h>

#include "vfr/lightgbm.h"

typedef void *lgb_dataset;
typedef void *lgb_booster;

#define LGB_DTYPE_FLOAT32 0
#define LGB_PREDICT_NORMAL 0
#define LGB_IMPORTANCE_SPLIT 0
#define LGB_IMPORTANCE_GAIN 1

typedef struct vfr_lgb_api {
    vfr_lightgbm_info info;
    const char *(*GetLastError)(void);
    int (*RegisterLogCallback)(void (*cb)(const char *));
    int (*GetSampleCount)(int32_t num_total_row, const char *params, int *out);
    int (*SampleIndices)(int32_t num_total_row, const char *params, void *out, int32_t *out_len);
    int (*DatasetCreateFromSampledColumn)(double **sample_data, int **sample_indices, int32_t ncol,
                                          const int *num_per_col, int32_t num_sample_row,
                                          int32_t num_local_row, int64_t num_dist_row,
                                          const char *params, lgb_dataset *out);
    int (*DatasetCreateByReference)(const lgb_dataset ref, int64_t num_total_row, lgb_dataset *out);
    int (*DatasetCreateFromMat)(const void *data, int dtype, int32_t nrow, int32_t ncol, int row_major,
                                const char *params, const lgb_dataset ref, lgb_dataset *out);
    int (*DatasetPushRows)(lgb_dataset d, const void *data, int dtype, int32_t nrow, int32_t ncol,
                           int32_t start_row);
    int (*DatasetSetField)(lgb_dataset d, const char *field, const void *data, int n, int type);
    int (*DatasetSetFeatureNames)(lgb_dataset d, const char **names, int n);
    int (*DatasetFree)(lgb_dataset d);
    int (*BoosterCreate)(const lgb_dataset train, const char *params, lgb_booster *out);
    int (*BoosterAddValidData)(lgb_booster b, const lgb_dataset valid);
    int (*BoosterUpdateOneIter)(lgb_booster b, int *is_finished);
    int (*BoosterGetEval)(lgb_booster b, int data_idx, int *out_len, double *out);
    int (*BoosterRollbackOneIter)(lgb_booster b);
    int (*BoosterGetPredict)(lgb_booster b, int data_idx, int64_t *out_len, double *out);
    int (*BoosterGetNumFeature)(lgb_booster b, int *out);
    int (*BoosterPredictForMat)(lgb_booster b, const void *data, int dtype, int32_t nrow, int32_t ncol,
                                int row_major, int predict_type, int start_iteration, int num_iteration,
                                const char *params, int64_t *out_len, double *out);
    int (*BoosterSaveModelToString)(lgb_booster b, int start_iteration, int num_iteration,
                                    int importance_type, int64_t buffer_len, int64_t *out_len,
                                    char *out);
    int (*BoosterLoadModelFromString)(const char *model, int *out_num_iterations, lgb_booster *out);
    int (*BoosterFeatureImportance)(lgb_booster b, int num_iteration, int importance_type, double *out);
    int (*BoosterFree)(lgb_booster b);
} vfr_lgb_api;

/* The loaded API (once per process). Errors as vfr_lightgbm_probe. */
vfr_status vfri_lgb_api_get(const vfr_lgb_api **out);

#endif
