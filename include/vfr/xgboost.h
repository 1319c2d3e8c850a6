/* xgboost.h: the XGBoost library vfr uses, loaded at run time with dlopen.
 *
 * vfr is not linked against libxgboost: a user can point it at another build
 * (a CUDA-enabled libxgboost.so from a Python wheel, say) with the environment
 * variable VFR_XGBOOST_LIB, without rebuilding vfr. Default: the newest (by
 * XGBoostVersion) of the libraries CMake found at configure time (the
 * xgboost Python wheel's, which scripts/setup.sh installs) and the system's
 * libxgboost.so (Debian: 1.7.4, CPU only). vfr never runs Python to look. */
#ifndef VFR_XGBOOST_H
#define VFR_XGBOOST_H

#include "vfr/status.h"

typedef struct vfr_xgboost_info {
    char path[512];   /* the library file loaded (as resolved by dlopen) */
    int major, minor, patch;
    int has_cuda;     /* XGBuildInfo()'s USE_CUDA                        */
    int has_openmp;
    int has_extmem;   /* XGExtMemQuantileDMatrixCreateFromCallback (3.0+) */
} vfr_xgboost_info;

/* Loads the library (once per process; thread-safe) and describes it.
 * Errors: NOT_FOUND (no library at VFR_XGBOOST_LIB or on the system),
 * XGBOOST (it lacks a required symbol). */
vfr_status vfr_xgboost_probe(vfr_xgboost_info *out);

#endif
