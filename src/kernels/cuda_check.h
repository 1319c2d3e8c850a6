/* cuda_check.h: turning a CUDA runtime or cuBLAS error into a vfr_status,
 * one way for every launcher. Used inside functions with a `vfr_status st`
 * and a `fail:` label (STYLE.md's single exit path); `who` prefixes the
 * message ("metrics (cuda)", "lstm", ...). A failed allocation is NOMEM. */
#ifndef VFR_CUDA_CHECK_H
#define VFR_CUDA_CHECK_H

#include <cublas_v2.h>
#include <cuda_runtime.h>

#define VFR_CUDA_TRY(who, call)                                                             \
    do {                                                                                    \
        cudaError_t e_ = (call);                                                            \
        if (e_ != cudaSuccess) {                                                            \
            st = vfr_fail(e_ == cudaErrorMemoryAllocation ? VFR_ERR_NOMEM : VFR_ERR_CUDA,   \
                          "%s: %s: %s", (who), #call, cudaGetErrorString(e_));              \
            goto fail;                                                                      \
        }                                                                                   \
    } while (0)

#define VFR_CUBLAS_TRY(who, call)                                                           \
    do {                                                                                    \
        cublasStatus_t s_ = (call);                                                         \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                  \
            st = vfr_fail(s_ == CUBLAS_STATUS_ALLOC_FAILED ? VFR_ERR_NOMEM : VFR_ERR_CUDA,  \
                          "%s: %s: %s", (who), #call, cublasGetStatusString(s_));           \
            goto fail;                                                                      \
        }                                                                                   \
    } while (0)

#endif
