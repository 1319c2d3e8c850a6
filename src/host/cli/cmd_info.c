/* cmd_info.c: `vfr info [--json]`: version, build options, devices, and the
 * versions of HDF5, XGBoost, LightGBM, cuBLAS and cuDNN actually in use. */
#include <cjson/cJSON.h>
#include <hdf5.h>
#include <stdio.h>

#include "cli.h"
#include "vfr/lightgbm.h"
#include "vfr/xgboost.h"
#include "vfr_config.h"

static const char help[] =
    "usage: vfr info [--json]\n\n"
    "Prints the vfr version and build options (CUDA compiled in? which\n"
    "architectures?), the CUDA devices found, and the HDF5, XGBoost, cuBLAS\n"
    "and cuDNN versions. --json emits one JSON object on stdout.\n"
    "XGBoost is loaded at run time: set VFR_XGBOOST_LIB to use another libxgboost.so.\n"
    "LightGBM likewise: set VFR_LIGHTGBM_LIB to use another lib_lightgbm.so.\n";

int cmd_info(int argc, char **argv)
{
    int json = 0;
    const cli_option opts[] = {{.name = "--json", .kind = CLI_FLAG, .dest = &json}, {0}};
    int rc = cli_parse(argc, argv, help, opts, NULL, NULL, 0);
    if (rc)
        return rc < 0 ? 0 : rc;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "version", VFR_VERSION);
    cJSON *b = cJSON_AddObjectToObject(o, "build");
    cJSON_AddBoolToObject(b, "cuda", vfr_device_cuda_compiled());
    cJSON_AddStringToObject(b, "cuda_architectures", vfr_device_cuda_archs());
    cJSON_AddStringToObject(b, "build_type", VFR_BUILD_TYPE);
    cJSON_AddBoolToObject(b, "sanitizers", VFR_SANITIZED);

    int n = vfr_device_count();
    vfr_device_kind used;
    vfr_status dst = vfr_device_resolve(cli.device, &used);
    cJSON_AddBoolToObject(o, "cuda_device_found", n > 0);
    cJSON_AddStringToObject(o, "device", dst == VFR_OK ? vfr_device_kind_str(used) : "unavailable");
    cJSON *devs = cJSON_AddArrayToObject(o, "devices");
    for (int d = 0; d < n; d++) {
        vfr_device_props p;
        if (vfr_device_props_get(d, &p) != VFR_OK)
            continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "index", d);
        cJSON_AddStringToObject(e, "name", p.name);
        cJSON_AddNumberToObject(e, "memory_bytes", (double)p.total_mem);
        char cc[16];
        snprintf(cc, sizeof cc, "%d.%d", p.cc_major, p.cc_minor);
        cJSON_AddStringToObject(e, "compute_capability", cc);
        cJSON_AddNumberToObject(e, "multiprocessors", p.sm_count);
        cJSON_AddItemToArray(devs, e);
    }

    unsigned ma, mi, re;
    char v[64];
    H5get_libversion(&ma, &mi, &re);
    snprintf(v, sizeof v, "%u.%u.%u", ma, mi, re);
    cJSON *libs = cJSON_AddObjectToObject(o, "libraries");
    cJSON_AddStringToObject(libs, "hdf5", v);
    vfr_xgboost_info xi;
    cJSON *x = cJSON_AddObjectToObject(libs, "xgboost");
    vfr_status xst = vfr_xgboost_probe(&xi);
    if (xst == VFR_OK) {
        snprintf(v, sizeof v, "%d.%d.%d", xi.major, xi.minor, xi.patch);
        cJSON_AddStringToObject(x, "version", v);
        cJSON_AddStringToObject(x, "path", xi.path);
        cJSON_AddBoolToObject(x, "cuda", xi.has_cuda);
        cJSON_AddBoolToObject(x, "openmp", xi.has_openmp);
    } else {
        cJSON_AddNullToObject(x, "version");
        cJSON_AddStringToObject(x, "error", vfr_last_error());
    }
    vfr_lightgbm_info li;
    cJSON *lg = cJSON_AddObjectToObject(libs, "lightgbm");
    if (vfr_lightgbm_probe(&li) == VFR_OK) {
        cJSON_AddStringToObject(lg, "version", li.version);
        cJSON_AddStringToObject(lg, "path", li.path);
    } else {
        cJSON_AddNullToObject(lg, "version");
        cJSON_AddStringToObject(lg, "error", vfr_last_error());
    }
    char cv[32];
    vfr_device_cuda_runtime_version(cv);
    cJSON_AddStringToObject(libs, "cuda_runtime", cv);
    vfr_device_cublas_version(cv);
    cJSON_AddStringToObject(libs, "cublas", cv);
    vfr_device_cudnn_version(cv);
    cJSON_AddStringToObject(libs, "cudnn", cv);

    if (json) {
        char *s = cJSON_Print(o);
        puts(s);
        cJSON_free(s);
    } else {
        printf("vfr %s (%s build)\n", VFR_VERSION, VFR_BUILD_TYPE);
        printf("  CUDA compiled in : %s%s%s%s\n", vfr_device_cuda_compiled() ? "yes" : "no",
               vfr_device_cuda_compiled() ? " (architectures " : "", vfr_device_cuda_archs(),
               vfr_device_cuda_compiled() ? ")" : "");
        printf("  CUDA devices     : %d\n", n);
        for (int i = 0; i < cJSON_GetArraySize(devs); i++) {
            cJSON *e = cJSON_GetArrayItem(devs, i);
            printf("    [%d] %s, %.1f GiB, compute %s\n", i,
                   cJSON_GetObjectItem(e, "name")->valuestring,
                   cJSON_GetObjectItem(e, "memory_bytes")->valuedouble / (1 << 30),
                   cJSON_GetObjectItem(e, "compute_capability")->valuestring);
        }
        printf("  device (--device %s): %s\n", vfr_device_kind_str(cli.device),
               dst == VFR_OK ? vfr_device_kind_str(used) : vfr_last_error());
        printf("  HDF5             : %s\n", cJSON_GetObjectItem(libs, "hdf5")->valuestring);
        if (xst == VFR_OK)
            printf("  XGBoost          : %d.%d.%d, CUDA %s (%s)\n", xi.major, xi.minor, xi.patch,
                   xi.has_cuda ? "yes" : "no", xi.path);
        else
            printf("  XGBoost          : not available (%s)\n",
                   cJSON_GetObjectItem(x, "error")->valuestring);
        if (cJSON_IsString(cJSON_GetObjectItem(lg, "version")))
            printf("  LightGBM         : %s (%s)\n", li.version, li.path);
        else
            printf("  LightGBM         : not available (%s)\n", cJSON_GetObjectItem(lg, "error")->valuestring);
        if (vfr_device_cuda_compiled())
            printf("  CUDA runtime %s, cuBLAS %s, cuDNN %s\n",
                   cJSON_GetObjectItem(libs, "cuda_runtime")->valuestring,
                   cJSON_GetObjectItem(libs, "cublas")->valuestring,
                   cJSON_GetObjectItem(libs, "cudnn")->valuestring);
    }
    cJSON_Delete(o);
    return 0;
}
