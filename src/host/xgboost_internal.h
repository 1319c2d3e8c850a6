/* xgboost_internal.h: the XGBoost C API entry points vfr uses, resolved with
 * dlsym from whichever libxgboost was loaded (xgboost.h). The signatures are
 * those of XGBoost's c_api.h, stable from 1.7 to 3.x for these functions. */
#ifndef VFR_XGBOOST_INTERNAL_H
#define VFR_XGBOOST_INTERNAL_H

#include <stdint.h>

#include "vfr/xgboost.h"

typedef uint64_t xgb_ulong;
typedef void *xgb_dmatrix;
typedef void *xgb_booster;
/* the data-iterator callbacks of XGQuantileDMatrixCreateFromCallback */
typedef void xgb_iter_reset(void *iter);
typedef int xgb_iter_next(void *iter);

typedef struct vfr_xgb_api {
    vfr_xgboost_info info;
    const char *(*GetLastError)(void);
    int (*SetGlobalConfig)(const char *config);
    int (*DMatrixCreateFromDense)(const char *data, const char *config, xgb_dmatrix *out);
    int (*DMatrixSetFloatInfo)(xgb_dmatrix h, const char *field, const float *a, xgb_ulong len);
    int (*DMatrixSetStrFeatureInfo)(xgb_dmatrix h, const char *field, const char **f, xgb_ulong n);
    int (*DMatrixFree)(xgb_dmatrix h);
    /* streaming construction (1.7+): a proxy fed batch by batch by `next` */
    int (*ProxyDMatrixCreate)(xgb_dmatrix *out);
    int (*ProxyDMatrixSetDataDense)(xgb_dmatrix proxy, const char *array_interface);
    int (*QuantileDMatrixCreateFromCallback)(void *iter, xgb_dmatrix proxy, void *ref,
                                             xgb_iter_reset *reset, xgb_iter_next *next,
                                             const char *config, xgb_dmatrix *out);
    /* external memory (3.0+); NULL when the library lacks it */
    int (*ExtMemQuantileDMatrixCreateFromCallback)(void *iter, xgb_dmatrix proxy, void *ref,
                                                   xgb_iter_reset *reset, xgb_iter_next *next,
                                                   const char *config, xgb_dmatrix *out);
    int (*BoosterCreate)(const xgb_dmatrix dmats[], xgb_ulong len, xgb_booster *out);
    int (*BoosterFree)(xgb_booster h);
    int (*BoosterSetParam)(xgb_booster h, const char *name, const char *value);
    int (*BoosterSaveJsonConfig)(xgb_booster h, xgb_ulong *len, const char **out);
    int (*BoosterUpdateOneIter)(xgb_booster h, int iter, xgb_dmatrix dtrain);
    int (*BoosterEvalOneIter)(xgb_booster h, int iter, xgb_dmatrix dmats[], const char *names[],
                              xgb_ulong len, const char **out);
    int (*BoosterPredictFromDense)(xgb_booster h, const char *values, const char *config,
                                   xgb_dmatrix m, const xgb_ulong **shape, xgb_ulong *dim,
                                   const float **out);
    int (*BoosterSaveModelToBuffer)(xgb_booster h, const char *config, xgb_ulong *len,
                                    const char **out);
    int (*BoosterLoadModelFromBuffer)(xgb_booster h, const void *buf, xgb_ulong len);
    int (*BoosterSlice)(xgb_booster h, int begin, int end, int step, xgb_booster *out);
    int (*BoosterBoostedRounds)(xgb_booster h, int *out);
    int (*BoosterFeatureScore)(xgb_booster h, const char *config, xgb_ulong *n,
                               const char ***names, xgb_ulong *dim, const xgb_ulong **shape,
                               const float **scores);
} vfr_xgb_api;

/* The loaded API (once per process). Errors as vfr_xgboost_probe. */
vfr_status vfri_xgb_api_get(const vfr_xgb_api **out);

#endif
