#define _GNU_SOURCE /* dlinfo */
/* xgboost_loader.c: finds and dlopens libxgboost, once per process.
 * Only the entry points vfr needs are resolved; see xgboost.h for why vfr
 * does not link the library directly. */
#include <cjson/cJSON.h>
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfr_config.h"
#include "xgboost_internal.h"

typedef void (*version_fn)(int *, int *, int *);
typedef int (*buildinfo_fn)(const char **);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static vfr_status load_status;
static char load_error[1024];
static vfr_xgb_api api;
#define info api.info

static int version_newer(const vfr_xgboost_info *a, const vfr_xgboost_info *b)
{
    if (a->major != b->major)
        return a->major > b->major;
    if (a->minor != b->minor)
        return a->minor > b->minor;
    return a->patch > b->patch;
}

/* Fills `api` from the library h; load_status says whether it is usable. */
static void resolve(void *h)
{
    load_status = VFR_OK;
    struct link_map *lm = NULL;
    if (dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name)
        snprintf(info.path, sizeof info.path, "%s", lm->l_name);
    version_fn ver;
    buildinfo_fn bi;
    *(void **)&ver = dlsym(h, "XGBoostVersion");
    *(void **)&bi = dlsym(h, "XGBuildInfo");
    if (!ver || !bi) {
        snprintf(load_error, sizeof load_error, "%s: not an XGBoost library (XGBoostVersion missing)",
                 info.path);
        load_status = VFR_ERR_XGBOOST;
        return;
    }
    ver(&info.major, &info.minor, &info.patch);
    /* every entry point vfr calls; a library missing one is refused whole */
    struct {
        const char *name;
        void **slot;
    } syms[] = {
        {"XGBGetLastError", (void **)&api.GetLastError},
        {"XGBSetGlobalConfig", (void **)&api.SetGlobalConfig},
        {"XGDMatrixCreateFromDense", (void **)&api.DMatrixCreateFromDense},
        {"XGDMatrixSetFloatInfo", (void **)&api.DMatrixSetFloatInfo},
        {"XGDMatrixSetStrFeatureInfo", (void **)&api.DMatrixSetStrFeatureInfo},
        {"XGDMatrixFree", (void **)&api.DMatrixFree},
        {"XGProxyDMatrixCreate", (void **)&api.ProxyDMatrixCreate},
        {"XGProxyDMatrixSetDataDense", (void **)&api.ProxyDMatrixSetDataDense},
        {"XGQuantileDMatrixCreateFromCallback", (void **)&api.QuantileDMatrixCreateFromCallback},
        {"XGBoosterCreate", (void **)&api.BoosterCreate},
        {"XGBoosterFree", (void **)&api.BoosterFree},
        {"XGBoosterSetParam", (void **)&api.BoosterSetParam},
        {"XGBoosterSaveJsonConfig", (void **)&api.BoosterSaveJsonConfig},
        {"XGBoosterUpdateOneIter", (void **)&api.BoosterUpdateOneIter},
        {"XGBoosterEvalOneIter", (void **)&api.BoosterEvalOneIter},
        {"XGBoosterPredictFromDense", (void **)&api.BoosterPredictFromDense},
        {"XGBoosterSaveModelToBuffer", (void **)&api.BoosterSaveModelToBuffer},
        {"XGBoosterLoadModelFromBuffer", (void **)&api.BoosterLoadModelFromBuffer},
        {"XGBoosterSlice", (void **)&api.BoosterSlice},
        {"XGBoosterBoostedRounds", (void **)&api.BoosterBoostedRounds},
        {"XGBoosterFeatureScore", (void **)&api.BoosterFeatureScore},
    };
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
        *syms[i].slot = dlsym(h, syms[i].name);
        if (!*syms[i].slot) {
            snprintf(load_error, sizeof load_error, "%s: XGBoost %d.%d.%d lacks %s (vfr needs 1.7 or newer)",
                     info.path, info.major, info.minor, info.patch, syms[i].name);
            load_status = VFR_ERR_XGBOOST;
            return;
        }
    }
    /* optional: external memory, 3.0 and newer */
    *(void **)&api.ExtMemQuantileDMatrixCreateFromCallback = dlsym(h, "XGExtMemQuantileDMatrixCreateFromCallback");
    info.has_extmem = api.ExtMemQuantileDMatrixCreateFromCallback != NULL;
    const char *js = NULL;
    if (bi(&js) == 0 && js) {
        cJSON *o = cJSON_Parse(js);
        info.has_cuda = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "USE_CUDA"));
        info.has_openmp = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "USE_OPENMP"));
        cJSON_Delete(o);
    }
}

/* The newest library among the candidates wins (XGBoostVersion decides; on
 * a tie the first, so CMake's order breaks it), unless VFR_XGBOOST_LIB names
 * one. Candidates: the libraries CMake found at configure time (the xgboost
 * wheel's, vfr_config.h), then the system's libxgboost.so. vfr never runs
 * Python to look. */
static void load(void)
{
    const char *env = getenv("VFR_XGBOOST_LIB");
    if (env && *env) {
        void *h = dlopen(env, RTLD_NOW | RTLD_LOCAL);
        if (!h) { /* an explicit choice that fails is an error, not a fallback */
            snprintf(load_error, sizeof load_error, "VFR_XGBOOST_LIB=%s: %s", env, dlerror());
            load_status = VFR_ERR_NOT_FOUND;
            return;
        }
        resolve(h);
        return;
    }
    char list[sizeof VFR_XGBOOST_CANDIDATES + 64];
    snprintf(list, sizeof list, "%s%slibxgboost.so:libxgboost.so.0", VFR_XGBOOST_CANDIDATES,
             VFR_XGBOOST_CANDIDATES[0] ? ":" : "");
    vfr_xgb_api best;
    vfr_xgboost_info best_info;
    void *best_h = NULL;
    vfr_status first_status = VFR_ERR_NOT_FOUND;
    char first_error[sizeof load_error] = "";
    char *save = NULL;
    for (char *c = strtok_r(list, ":", &save); c; c = strtok_r(NULL, ":", &save)) {
        void *h = dlopen(c, RTLD_NOW | RTLD_LOCAL);
        if (!h)
            continue;
        if (h == best_h) { /* libxgboost.so and .so.0 are often one file */
            dlclose(h);
            continue;
        }
        memset(&api, 0, sizeof api);
        resolve(h);
        if (load_status != VFR_OK) { /* not usable: remember why, try the others */
            if (!first_error[0]) {
                first_status = load_status;
                snprintf(first_error, sizeof first_error, "%s", load_error);
            }
            dlclose(h);
            continue;
        }
        if (!best_h || version_newer(&info, &best_info)) {
            if (best_h)
                dlclose(best_h);
            best = api;
            best_info = info;
            best_h = h;
        } else {
            dlclose(h);
        }
    }
    if (!best_h) {
        load_status = first_error[0] ? first_status : VFR_ERR_NOT_FOUND;
        if (first_error[0])
            snprintf(load_error, sizeof load_error, "%s", first_error);
        else
            snprintf(load_error, sizeof load_error,
                     "libxgboost.so not found (install libxgboost-dev or run ./scripts/setup.sh and re-run "
                     "cmake, or set VFR_XGBOOST_LIB)");
        return;
    }
    api = best;
    load_status = VFR_OK;
}

vfr_status vfr_xgboost_probe(vfr_xgboost_info *out)
{
    pthread_once(&once, load);
    if (load_status != VFR_OK)
        return vfr_fail(load_status, "%s", load_error);
    *out = info;
    return VFR_OK;
}

vfr_status vfri_xgb_api_get(const vfr_xgb_api **out)
{
    pthread_once(&once, load);
    *out = NULL;
    if (load_status != VFR_OK)
        return vfr_fail(load_status, "%s", load_error);
    *out = &api;
    return VFR_OK;
}
