/* lightgbm.h: the LightGBM library vfr uses, loaded at run time with dlopen.
 *
 * Debian has no LightGBM; the PyPI wheel `lightgbm` ships lib_lightgbm.so with
 * the whole C API (scripts/setup.sh installs it). vfr is not linked against
 * it: CMake records the wheel's path in vfr_config.h when vfr is configured
 * (python3 is asked once, then; vfr itself never runs Python), and the
 * environment variable VFR_LIGHTGBM_LIB picks another build (one compiled with
 * -DUSE_CUDA=ON, say) without rebuilding vfr. Order tried: VFR_LIGHTGBM_LIB
 * (an explicit choice that fails is an error), the configured path, then
 * lib_lightgbm.so on the loader's search path. */
#ifndef VFR_LIGHTGBM_H
#define VFR_LIGHTGBM_H

#include "vfr/status.h"

typedef struct vfr_lightgbm_info {
    char path[512];    /* the library file loaded (as resolved by dlopen)       */
    char version[32];  /* from VERSION.txt beside the wheel's lib/, or "unknown" */
} vfr_lightgbm_info;

/* Loads the library (once per process; thread-safe) and describes it.
 * Errors: NOT_FOUND (no library: the message says how to get one),
 * LIGHTGBM (it lacks a required entry point). */
vfr_status vfr_lightgbm_probe(vfr_lightgbm_info *out);

/* Whether the loaded library trains with device_type=cuda here: LightGBM has
 * no build-info call, so vfr creates a four-row CUDA booster once per process
 * and remembers the answer (LightGBM prints its own "[Fatal]" line to stderr
 * when it cannot). OUT *ok: 1 or 0. Errors as vfr_lightgbm_probe. */
vfr_status vfr_lightgbm_cuda(int *ok);

#endif
