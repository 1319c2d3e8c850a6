#define _GNU_SOURCE /* dlinfo */
/* lightgbm_loader.c: finds and dlopens lib_lightgbm.so, once per process,
 * and resolves the entry points vfr needs; see lightgbm.h for where it looks
 * and why vfr does not link the library directly. */
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lightgbm_internal.h"
#include "vfr_config.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static vfr_status load_status;
static char load_error[1024];
static vfr_lgb_api api;
#define info api.info

static const char how_to_get[] =
    "install the PyPI package with ./scripts/setup.sh (or python3 -m pip install lightgbm) and "
    "re-run cmake, or set VFR_LIGHTGBM_LIB to a lib_lightgbm.so";

/* LightGBM's Info and Warning lines go nowhere: the library never prints. */
static void no_log(const char *msg) { (void)msg; }

/* The wheel keeps its version in lightgbm/VERSION.txt, one folder above lib/. */
static void read_version(void)
{
    snprintf(info.version, sizeof info.version, "unknown");
    char p[600];
    snprintf(p, sizeof p, "%s", info.path);
    char *slash = strrchr(p, '/');
    if (!slash)
        return;
    *slash = '\0';
    slash = strrchr(p, '/');
    if (!slash || strcmp(slash, "/lib") != 0)
        return;
    snprintf(slash, sizeof p - (size_t)(slash - p), "/VERSION.txt");
    FILE *f = fopen(p, "r");
    if (!f)
        return;
    char v[32] = "";
    if (fgets(v, sizeof v, f)) {
        v[strcspn(v, " \r\n")] = '\0';
        if (v[0])
            snprintf(info.version, sizeof info.version, "%s", v);
    }
    fclose(f);
}

static void load(void)
{
    const char *env = getenv("VFR_LIGHTGBM_LIB");
    const char *cands[] = {env && *env ? env : NULL, VFR_LIGHTGBM_DEFAULT_LIB[0] ? VFR_LIGHTGBM_DEFAULT_LIB : NULL,
                           "lib_lightgbm.so"};
    void *h = NULL;
    for (size_t i = 0; i < sizeof cands / sizeof cands[0] && !h; i++) {
        if (!cands[i])
            continue;
        h = dlopen(cands[i], RTLD_NOW | RTLD_LOCAL);
        if (!h && i == 0) { /* an explicit choice that fails is an error, not a fallback */
            snprintf(load_error, sizeof load_error, "VFR_LIGHTGBM_LIB=%s: %s", env, dlerror());
            load_status = VFR_ERR_NOT_FOUND;
            return;
        }
    }
    if (!h) {
        snprintf(load_error, sizeof load_error, "LightGBM's lib_lightgbm.so not found%s%s%s: %s",
                 VFR_LIGHTGBM_DEFAULT_LIB[0] ? " (not at " : "", VFR_LIGHTGBM_DEFAULT_LIB,
                 VFR_LIGHTGBM_DEFAULT_LIB[0] ? ", where vfr was configured to look)" : "", how_to_get);
        load_status = VFR_ERR_NOT_FOUND;
        return;
    }
    struct link_map *lm = NULL;
    if (dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name)
        snprintf(info.path, sizeof info.path, "%s", lm->l_name);
    struct {
        const char *name;
        void **slot;
    } syms[] = {
        {"LGBM_GetLastError", (void **)&api.GetLastError},
        {"LGBM_RegisterLogCallback", (void **)&api.RegisterLogCallback},
        {"LGBM_GetSampleCount", (void **)&api.GetSampleCount},
        {"LGBM_SampleIndices", (void **)&api.SampleIndices},
        {"LGBM_DatasetCreateFromSampledColumn", (void **)&api.DatasetCreateFromSampledColumn},
        {"LGBM_DatasetCreateByReference", (void **)&api.DatasetCreateByReference},
        {"LGBM_DatasetCreateFromMat", (void **)&api.DatasetCreateFromMat},
        {"LGBM_DatasetPushRows", (void **)&api.DatasetPushRows},
        {"LGBM_DatasetSetField", (void **)&api.DatasetSetField},
        {"LGBM_DatasetSetFeatureNames", (void **)&api.DatasetSetFeatureNames},
        {"LGBM_DatasetFree", (void **)&api.DatasetFree},
        {"LGBM_BoosterCreate", (void **)&api.BoosterCreate},
        {"LGBM_BoosterAddValidData", (void **)&api.BoosterAddValidData},
        {"LGBM_BoosterUpdateOneIter", (void **)&api.BoosterUpdateOneIter},
        {"LGBM_BoosterGetEval", (void **)&api.BoosterGetEval},
        {"LGBM_BoosterRollbackOneIter", (void **)&api.BoosterRollbackOneIter},
        {"LGBM_BoosterGetPredict", (void **)&api.BoosterGetPredict},
        {"LGBM_BoosterGetNumFeature", (void **)&api.BoosterGetNumFeature},
        {"LGBM_BoosterPredictForMat", (void **)&api.BoosterPredictForMat},
        {"LGBM_BoosterSaveModelToString", (void **)&api.BoosterSaveModelToString},
        {"LGBM_BoosterLoadModelFromString", (void **)&api.BoosterLoadModelFromString},
        {"LGBM_BoosterFeatureImportance", (void **)&api.BoosterFeatureImportance},
        {"LGBM_BoosterFree", (void **)&api.BoosterFree},
    };
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
        *syms[i].slot = dlsym(h, syms[i].name);
        if (!*syms[i].slot) {
            snprintf(load_error, sizeof load_error, "%s: not a LightGBM 4 library (it lacks %s)", info.path,
                     syms[i].name);
            load_status = VFR_ERR_LIGHTGBM;
            return;
        }
    }
    read_version();
    api.RegisterLogCallback(no_log);
    load_status = VFR_OK;
}

vfr_status vfr_lightgbm_probe(vfr_lightgbm_info *out)
{
    pthread_once(&once, load);
    if (load_status != VFR_OK)
        return vfr_fail(load_status, "%s", load_error);
    *out = info;
    return VFR_OK;
}

vfr_status vfri_lgb_api_get(const vfr_lgb_api **out)
{
    pthread_once(&once, load);
    *out = NULL;
    if (load_status != VFR_OK)
        return vfr_fail(load_status, "%s", load_error);
    *out = &api;
    return VFR_OK;
}

static pthread_once_t cuda_once = PTHREAD_ONCE_INIT;
static int cuda_ok;

static void cuda_probe(void)
{
    const float x[4] = {0, 1, 2, 3}, y[4] = {0, 1, 0, 1};
    const char *p = "device_type=cuda verbosity=-1 min_data_in_leaf=1 min_data_in_bin=1 objective=binary";
    lgb_dataset d = NULL;
    lgb_booster b = NULL;
    if (api.DatasetCreateFromMat(x, LGB_DTYPE_FLOAT32, 4, 1, 1, p, NULL, &d) == 0 &&
        api.DatasetSetField(d, "label", y, 4, LGB_DTYPE_FLOAT32) == 0 && api.BoosterCreate(d, p, &b) == 0)
        cuda_ok = 1;
    if (b)
        api.BoosterFree(b);
    if (d)
        api.DatasetFree(d);
}

vfr_status vfr_lightgbm_cuda(int *ok)
{
    const vfr_lgb_api *a;
    *ok = 0;
    vfr_status st = vfri_lgb_api_get(&a);
    if (st != VFR_OK)
        return st;
    pthread_once(&cuda_once, cuda_probe);
    *ok = cuda_ok;
    return VFR_OK;
}
