/* device.c: run-time probe of the CUDA device, and the auto/cpu/cuda choice.
 * Any CUDA runtime error counts as "no device": on a machine without a driver
 * cudaGetDeviceCount returns 35 (insufficient driver), not 100. */
#include "vfr/device.h"
#include "vfr_config.h"

#include <stdio.h>
#include <string.h>

#ifdef VFR_HAVE_CUDA
#include <cublas_api.h>
#include <cuda_runtime.h>
#ifdef VFR_HAVE_CUDNN
#include <cudnn.h>
#endif
#endif

vfr_status vfr_device_parse(const char *s, vfr_device_kind *out)
{
    if (s && strcmp(s, "auto") == 0)
        *out = VFR_DEVICE_AUTO;
    else if (s && strcmp(s, "cpu") == 0)
        *out = VFR_DEVICE_CPU;
    else if (s && strcmp(s, "cuda") == 0)
        *out = VFR_DEVICE_CUDA;
    else
        return vfr_fail(VFR_ERR_INVALID_ARG, "device '%s': expected auto, cpu or cuda",
                        s ? s : "(null)");
    return VFR_OK;
}

const char *vfr_device_kind_str(vfr_device_kind k)
{
    return k == VFR_DEVICE_CPU ? "cpu" : k == VFR_DEVICE_CUDA ? "cuda" : "auto";
}

int vfr_device_cuda_compiled(void)
{
#ifdef VFR_HAVE_CUDA
    return 1;
#else
    return 0;
#endif
}

const char *vfr_device_cuda_archs(void) { return VFR_CUDA_ARCHS; }

int vfr_device_count(void)
{
#ifdef VFR_HAVE_CUDA
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        (void)cudaGetLastError(); /* clear the sticky error for later calls */
        return 0;
    }
    return n > 0 ? n : 0;
#else
    return 0;
#endif
}

vfr_status vfr_device_props_get(int index, vfr_device_props *out)
{
    memset(out, 0, sizeof *out);
#ifdef VFR_HAVE_CUDA
    struct cudaDeviceProp p;
    cudaError_t e = cudaGetDeviceProperties(&p, index);
    if (e != cudaSuccess)
        return vfr_fail(VFR_ERR_CUDA, "device %d: %s", index, cudaGetErrorString(e));
    snprintf(out->name, sizeof out->name, "%s", p.name);
    out->total_mem = p.totalGlobalMem;
    out->cc_major = p.major;
    out->cc_minor = p.minor;
    out->sm_count = p.multiProcessorCount;
    return VFR_OK;
#else
    return vfr_fail(VFR_ERR_NO_DEVICE, "device %d: vfr was built without CUDA", index);
#endif
}

vfr_status vfr_device_resolve(vfr_device_kind asked, vfr_device_kind *used)
{
    *used = VFR_DEVICE_CPU;
    if (asked == VFR_DEVICE_CPU)
        return VFR_OK;
    if (!vfr_device_cuda_compiled()) {
        if (asked == VFR_DEVICE_CUDA)
            return vfr_fail(VFR_ERR_NO_DEVICE,
                            "--device cuda: this vfr was built without CUDA (nvcc not found at build time)");
        return VFR_OK;
    }
    if (vfr_device_count() == 0) {
        if (asked == VFR_DEVICE_CUDA)
            return vfr_fail(VFR_ERR_NO_DEVICE,
                            "--device cuda: no CUDA device found (driver missing or no GPU)");
        return VFR_OK;
    }
    *used = VFR_DEVICE_CUDA;
    return VFR_OK;
}

void vfr_device_cuda_runtime_version(char out[32])
{
    out[0] = '\0';
#ifdef VFR_HAVE_CUDA
    int v = 0;
    if (cudaRuntimeGetVersion(&v) == cudaSuccess)
        snprintf(out, 32, "%d.%d", v / 1000, (v % 1000) / 10);
#endif
}

void vfr_device_cublas_version(char out[32])
{
    out[0] = '\0';
#ifdef VFR_HAVE_CUDA
    int ma = 0, mi = 0, pa = 0;
    if (cublasGetProperty(MAJOR_VERSION, &ma) == CUBLAS_STATUS_SUCCESS &&
        cublasGetProperty(MINOR_VERSION, &mi) == CUBLAS_STATUS_SUCCESS &&
        cublasGetProperty(PATCH_LEVEL, &pa) == CUBLAS_STATUS_SUCCESS)
        snprintf(out, 32, "%d.%d.%d", ma, mi, pa);
#endif
}

void vfr_device_cudnn_version(char out[32])
{
    out[0] = '\0';
#if defined(VFR_HAVE_CUDA) && defined(VFR_HAVE_CUDNN)
    size_t v = cudnnGetVersion(); /* major*10000 + minor*100 + patch in cuDNN 9 */
    snprintf(out, 32, "%zu.%zu.%zu", v / 10000, (v % 10000) / 100, v % 100);
#endif
}
