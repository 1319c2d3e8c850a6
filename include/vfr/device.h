/* device.h: which compute device vfr uses, probed at run time.
 *
 * A build without CUDA, or a machine whose CUDA runtime reports any error or
 * zero devices, has no device. `auto` picks CUDA when a device is present;
 * an explicit `cuda` with none is VFR_ERR_NO_DEVICE, never a silent fallback. */
#ifndef VFR_DEVICE_H
#define VFR_DEVICE_H

#include <stddef.h>

#include "vfr/status.h"

typedef enum vfr_device_kind {
    VFR_DEVICE_AUTO = 0,
    VFR_DEVICE_CPU,
    VFR_DEVICE_CUDA,
} vfr_device_kind;

typedef struct vfr_device_props {
    char name[256];
    size_t total_mem;     /* bytes */
    int cc_major, cc_minor;
    int sm_count;
} vfr_device_props;

/* "auto" | "cpu" | "cuda" -> kind. INVALID_ARG otherwise. */
vfr_status vfr_device_parse(const char *s, vfr_device_kind *out);
const char *vfr_device_kind_str(vfr_device_kind k);

int vfr_device_cuda_compiled(void);     /* 1 when built with nvcc */
const char *vfr_device_cuda_archs(void);/* "80-real;90" or ""     */
int vfr_device_count(void);             /* 0 on any error         */
vfr_status vfr_device_props_get(int index, vfr_device_props *out);

/* Resolves a request: auto -> cuda if a device is found, else cpu.
 * Errors: NO_DEVICE for cuda when none is compiled in or found. */
vfr_status vfr_device_resolve(vfr_device_kind asked, vfr_device_kind *used);

/* Versions of the CUDA libraries built in, as "13.0" etc.; "" when absent.
 * Runtime versions, queried from the loaded libraries. */
void vfr_device_cuda_runtime_version(char out[32]);
void vfr_device_cublas_version(char out[32]);
void vfr_device_cudnn_version(char out[32]);

#endif
