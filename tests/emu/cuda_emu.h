/* cuda_emu.h: a small CUDA emulation for running vfr's kernels on the CPU in
 * CI (docs/emulation.md). Not part of libvfr.
 *
 * The runtime part (cudaMalloc, cudaMemcpy, ..., the two cuBLAS calls) is C
 * and is what the forwarding headers in tests/emu/include/ give to C sources
 * (device.c, the parity tests): every name is a macro onto a vfr_emu_ symbol,
 * so nothing clashes with a real libcudart linked in the same program.
 *
 * The kernel part is C++ (the .cu files are compiled as C++ after
 * tests/emu/rewrite.cmake turns `k<<<g, b>>>(args)` into
 * `::vfr_emu::launch(k, g, b)(args)`): threadIdx/blockIdx/blockDim/gridDim,
 * __syncthreads, warp shuffles, atomics, and CPU stand-ins for the CUB
 * segmented sort and scan. A launch runs its blocks one after another; a
 * block's threads are fibers on one OS thread, switched at every
 * __syncthreads and shuffle, each running as far as it can before it yields,
 * so `__shared__` can be a plain static. Launches are serialised by a mutex:
 * the emulated device runs one kernel at a time. */
#ifndef VFR_CUDA_EMU_H
#define VFR_CUDA_EMU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidDevicePointer = 17,
    cudaErrorNoDevice = 100,
} cudaError_t;

typedef enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
} cudaMemcpyKind;

typedef struct vfr_emu_stream *cudaStream_t;

struct cudaDeviceProp {
    char name[256];
    size_t totalGlobalMem;
    int major, minor;
    int multiProcessorCount;
};

#define cudaGetDeviceCount vfr_emu_cudaGetDeviceCount
#define cudaGetDeviceProperties vfr_emu_cudaGetDeviceProperties
#define cudaGetLastError vfr_emu_cudaGetLastError
#define cudaGetErrorString vfr_emu_cudaGetErrorString
#define cudaRuntimeGetVersion vfr_emu_cudaRuntimeGetVersion
#define cudaMalloc vfr_emu_cudaMalloc
#define cudaFree vfr_emu_cudaFree
#define cudaMemcpy vfr_emu_cudaMemcpy
#define cudaMemset vfr_emu_cudaMemset
#define cudaMemGetInfo vfr_emu_cudaMemGetInfo
#define cudaDeviceSynchronize vfr_emu_cudaDeviceSynchronize
#define cudaMallocHost vfr_emu_cudaMallocHost
#define cudaFreeHost vfr_emu_cudaFreeHost
#define cudaMemcpyAsync vfr_emu_cudaMemcpyAsync
#define cudaMemsetAsync vfr_emu_cudaMemsetAsync
#define cudaStreamCreate vfr_emu_cudaStreamCreate
#define cudaStreamDestroy vfr_emu_cudaStreamDestroy
#define cudaStreamSynchronize vfr_emu_cudaStreamSynchronize
#define cudaPointerGetAttributes vfr_emu_cudaPointerGetAttributes
#define cudaEventCreate vfr_emu_cudaEventCreate
#define cudaEventDestroy vfr_emu_cudaEventDestroy
#define cudaEventRecord vfr_emu_cudaEventRecord
#define cudaEventSynchronize vfr_emu_cudaEventSynchronize
#define cudaEventElapsedTime vfr_emu_cudaEventElapsedTime

cudaError_t vfr_emu_cudaGetDeviceCount(int *n);
cudaError_t vfr_emu_cudaGetDeviceProperties(struct cudaDeviceProp *p, int dev);
cudaError_t vfr_emu_cudaGetLastError(void);
const char *vfr_emu_cudaGetErrorString(cudaError_t e);
cudaError_t vfr_emu_cudaRuntimeGetVersion(int *v);
/* Device memory is host memory, recorded so that copies are bounds-checked,
 * and filled with 0xff bytes (NaN as float/double, -1 as int) as a stand-in
 * for the garbage real device memory holds. VFR_EMU_DEVICE_MEM (bytes)
 * sets what cudaMemGetInfo reports (default 4 GiB). */
cudaError_t vfr_emu_cudaMalloc(void **p, size_t bytes);
cudaError_t vfr_emu_cudaFree(void *p);
cudaError_t vfr_emu_cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
cudaError_t vfr_emu_cudaMemset(void *p, int value, size_t bytes);
cudaError_t vfr_emu_cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes);
cudaError_t vfr_emu_cudaDeviceSynchronize(void);
/* Streams and events: every call runs to completion when made (the
 * emulated device is synchronous), so a stream is only a checked token.
 * Pinned host memory is plain host memory, counted. */
typedef struct vfr_emu_event *cudaEvent_t;
enum cudaMemoryType {
    cudaMemoryTypeUnregistered = 0,
    cudaMemoryTypeHost = 1,
    cudaMemoryTypeDevice = 2,
    cudaMemoryTypeManaged = 3,
};
struct cudaPointerAttributes {
    enum cudaMemoryType type;
    int device;
    void *devicePointer, *hostPointer;
};
cudaError_t vfr_emu_cudaMallocHost(void **p, size_t bytes);
cudaError_t vfr_emu_cudaFreeHost(void *p);
cudaError_t vfr_emu_cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                                    cudaStream_t s);
cudaError_t vfr_emu_cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t s);
cudaError_t vfr_emu_cudaStreamCreate(cudaStream_t *s);
cudaError_t vfr_emu_cudaStreamDestroy(cudaStream_t s);
cudaError_t vfr_emu_cudaStreamSynchronize(cudaStream_t s);
cudaError_t vfr_emu_cudaPointerGetAttributes(struct cudaPointerAttributes *a, const void *p);
cudaError_t vfr_emu_cudaEventCreate(cudaEvent_t *e);
cudaError_t vfr_emu_cudaEventDestroy(cudaEvent_t e);
cudaError_t vfr_emu_cudaEventRecord(cudaEvent_t e, cudaStream_t s);
cudaError_t vfr_emu_cudaEventSynchronize(cudaEvent_t e);
cudaError_t vfr_emu_cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b);

/* Counters (what the emulated tests assert on): kernel launches, and
 * cudaMalloc / cudaMallocHost calls that succeeded. */
long long vfr_emu_launch_count(void);
long long vfr_emu_malloc_count(void);
long long vfr_emu_malloc_host_count(void);

/* ---- cuBLAS: the calls linear.cu and device.c make (OpenBLAS underneath) */
typedef enum cublasStatus_t {
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7,
} cublasStatus_t;
typedef enum cublasOperation_t { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 } cublasOperation_t;
typedef enum cublasFillMode_t { CUBLAS_FILL_MODE_LOWER = 0, CUBLAS_FILL_MODE_UPPER = 1 } cublasFillMode_t;
typedef enum libraryPropertyType { MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL } libraryPropertyType;
typedef struct vfr_emu_cublas *cublasHandle_t;

#define cublasCreate vfr_emu_cublasCreate
#define cublasDestroy vfr_emu_cublasDestroy
#define cublasDgemv vfr_emu_cublasDgemv
#define cublasDsyrk vfr_emu_cublasDsyrk
#define cublasGetStatusString vfr_emu_cublasGetStatusString
#define cublasGetProperty vfr_emu_cublasGetProperty
#define cublasSetStream vfr_emu_cublasSetStream

cublasStatus_t vfr_emu_cublasCreate(cublasHandle_t *h);
cublasStatus_t vfr_emu_cublasDestroy(cublasHandle_t h);
cublasStatus_t vfr_emu_cublasDgemv(cublasHandle_t h, cublasOperation_t op, int m, int n,
                                   const double *alpha, const double *A, int lda, const double *x,
                                   int incx, const double *beta, double *y, int incy);
cublasStatus_t vfr_emu_cublasDsyrk(cublasHandle_t h, cublasFillMode_t uplo, cublasOperation_t op,
                                   int n, int k, const double *alpha, const double *A, int lda,
                                   const double *beta, double *C, int ldc);
const char *vfr_emu_cublasGetStatusString(cublasStatus_t s);
cublasStatus_t vfr_emu_cublasGetProperty(libraryPropertyType t, int *v);
cublasStatus_t vfr_emu_cublasSetStream(cublasHandle_t h, cudaStream_t s);

#ifdef __cplusplus
} /* extern "C" */

/* ---- the kernel side (C++ only) ------------------------------------------ */
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __restrict__

struct uint3 {
    unsigned int x, y, z;
};
struct dim3 {
    unsigned int x, y, z;
    constexpr dim3(unsigned int a = 1, unsigned int b = 1, unsigned int c = 1) : x(a), y(b), z(c) {}
};

/* The running fiber's coordinates (one OS thread runs all of a launch). */
extern thread_local uint3 threadIdx;
extern thread_local uint3 blockIdx;
extern thread_local dim3 blockDim;
extern thread_local dim3 gridDim;

namespace vfr_emu {

/* Runs body() for every thread of every block; false on a bad configuration
 * (then cudaGetLastError reports it and nothing runs). */
bool run_grid(dim3 grid, dim3 block, const std::function<void()> &body);
void sync_block();                 /* __syncthreads */
void sync_warp();                  /* the barrier of a shuffle */
int next_bank();                   /* the caller's slot bank for its next shuffle */
void *warp_slot(int bank, int lane); /* 8 bytes per lane of the caller's warp */

/* The arguments convert to the kernel's parameter types, as in a real
 * launch (NULL for a pointer, an int for a long long). */
template <typename K> struct launcher;
template <typename... P> struct launcher<void (*)(P...)> {
    void (*k)(P...);
    dim3 g, b;
    void operator()(P... args)
    {
        auto t = std::make_tuple(args...);
        run_grid(g, b, [&] { std::apply(k, t); });
    }
};
template <typename... P> launcher<void (*)(P...)> launch(void (*k)(P...), dim3 g, dim3 b)
{
    return launcher<void (*)(P...)>{k, g, b};
}
/* k<<<g, b, shared bytes, stream>>>: dynamic shared memory is not emulated
 * (vfr's kernels use none); the stream must be one cudaStreamCreate made. */
bool stream_ok(cudaStream_t s);
template <typename... P>
launcher<void (*)(P...)> launch(void (*k)(P...), dim3 g, dim3 b, size_t shmem, cudaStream_t s = 0)
{
    if (shmem != 0 || !stream_ok(s))
        return launcher<void (*)(P...)>{k, dim3(0), b}; /* an invalid configuration */
    return launcher<void (*)(P...)>{k, g, b};
}

/* Each lane writes its value, waits for its warp, reads the source lane's.
 * Two slot banks, alternated per shuffle: a bank is written again only two
 * shuffles later, after every lane has passed the barrier of the one in
 * between, so one barrier per shuffle suffices. */
template <typename T> T shfl(T v, int src)
{
    static_assert(sizeof(T) <= 8, "shuffle of more than 8 bytes");
    const int lane = (int)(threadIdx.x & 31);
    const int bank = next_bank();
    std::memcpy(warp_slot(bank, lane), &v, sizeof v);
    sync_warp();
    T r;
    std::memcpy(&r, warp_slot(bank, src), sizeof r);
    return r;
}

/* CUB orders floats by their radix key: -0 before +0, NaN by sign. */
inline uint32_t radix_key(float f)
{
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
template <typename K> inline auto sort_key(K k) { return k; }
inline uint32_t sort_key(float f) { return radix_key(f); }

/* Segmented sort of (key, value) pairs. `stable`: ties keep their input
 * order; otherwise ties come out in REVERSE input order, so that a kernel
 * that relies on the stability it did not ask for fails its parity test. */
template <typename K, typename V, typename B, typename E>
cudaError_t segmented_sort(bool stable, void *temp, size_t &bytes, const K *kin, K *kout,
                           const V *vin, V *vout, long long n, long long nseg, B begin, E end)
{
    if (!temp) {
        bytes = 256;
        return cudaSuccess;
    }
    if (bytes < 256 || n < 0 || nseg < 0)
        return cudaErrorInvalidValue;
    std::vector<long long> idx;
    for (long long s = 0; s < nseg; s++) {
        const long long a = begin[s], z = end[s];
        if (a < 0 || z > n)
            return cudaErrorInvalidValue;
        if (z <= a)
            continue;
        idx.resize((size_t)(z - a));
        std::iota(idx.begin(), idx.end(), a);
        std::stable_sort(idx.begin(), idx.end(), [&](long long i, long long j) {
            auto x = sort_key(kin[i]), y = sort_key(kin[j]);
            return x < y || (!stable && !(y < x) && i > j);
        });
        for (long long q = 0; q < z - a; q++) {
            kout[a + q] = kin[idx[(size_t)q]];
            vout[a + q] = vin[idx[(size_t)q]];
        }
    }
    return cudaSuccess;
}

} // namespace vfr_emu

template <typename T> T __shfl_down_sync(unsigned, T v, unsigned d, int w = 32)
{
    const int lane = (int)(threadIdx.x & 31);
    const int src = (lane % w) + (int)d < w ? lane + (int)d : lane;
    return vfr_emu::shfl(v, src);
}
template <typename T> T __shfl_xor_sync(unsigned, T v, int m, int w = 32)
{
    const int lane = (int)(threadIdx.x & 31);
    const int src = ((lane ^ m) / w == lane / w) ? lane ^ m : lane;
    return vfr_emu::shfl(v, src);
}
template <typename T> T __shfl_sync(unsigned, T v, int src, int w = 32)
{
    const int lane = (int)(threadIdx.x & 31);
    return vfr_emu::shfl(v, (lane / w) * w + src % w);
}
inline void __syncthreads() { vfr_emu::sync_block(); }
inline void __syncwarp(unsigned = 0xffffffffu) { vfr_emu::sync_warp(); }

/* One OS thread runs a launch and fibers switch only at barriers: a
 * read-modify-write is atomic here. */
template <typename T> T atomicAdd(T *p, T v)
{
    T old = *p;
    *p = old + v;
    return old;
}
inline float __int_as_float(int i)
{
    float f;
    std::memcpy(&f, &i, 4);
    return f;
}
inline int __float_as_int(float f)
{
    int i;
    std::memcpy(&i, &f, 4);
    return i;
}
using std::isfinite;
using std::isnan;

namespace cub {
struct DeviceSegmentedSort {
    template <typename K, typename V, typename B, typename E>
    static cudaError_t SortPairs(void *t, size_t &b, const K *ki, K *ko, const V *vi, V *vo,
                                 long long n, long long s, B bo, E eo, cudaStream_t = 0)
    {
        return vfr_emu::segmented_sort(false, t, b, ki, ko, vi, vo, n, s, bo, eo);
    }
    template <typename K, typename V, typename B, typename E>
    static cudaError_t StableSortPairs(void *t, size_t &b, const K *ki, K *ko, const V *vi, V *vo,
                                       long long n, long long s, B bo, E eo, cudaStream_t = 0)
    {
        return vfr_emu::segmented_sort(true, t, b, ki, ko, vi, vo, n, s, bo, eo);
    }
};
/* LSD radix sort of (key, value) pairs on key bits [begin, end): stable. */
struct DeviceRadixSort {
    template <typename K, typename V>
    static cudaError_t SortPairs(void *t, size_t &b, const K *ki, K *ko, const V *vi, V *vo, long long n,
                                 int begin = 0, int end = (int)sizeof(K) * 8, cudaStream_t = 0)
    {
        static_assert(std::is_unsigned<K>::value, "radix sort of unsigned keys only here");
        if (!t) {
            b = 256;
            return cudaSuccess;
        }
        if (b < 256 || n < 0 || begin < 0 || end > (int)sizeof(K) * 8 || begin > end)
            return cudaErrorInvalidValue;
        const int width = end - begin;
        const K mask = width >= (int)sizeof(K) * 8 ? (K)~(K)0 : (K)(((K)1 << width) - 1);
        std::vector<long long> idx((size_t)n);
        std::iota(idx.begin(), idx.end(), 0LL);
        std::stable_sort(idx.begin(), idx.end(), [&](long long i, long long j) {
            return ((ki[i] >> begin) & mask) < ((ki[j] >> begin) & mask);
        });
        std::vector<K> k2((size_t)n);
        std::vector<V> v2((size_t)n);
        for (long long q = 0; q < n; q++)
            k2[(size_t)q] = ki[idx[(size_t)q]], v2[(size_t)q] = vi[idx[(size_t)q]];
        std::copy(k2.begin(), k2.end(), ko);
        std::copy(v2.begin(), v2.end(), vo);
        return cudaSuccess;
    }
};
struct DeviceScan {
    template <typename I, typename O>
    static cudaError_t ExclusiveSum(void *t, size_t &b, I in, O out, long long n, cudaStream_t = 0)
    {
        if (!t) {
            b = 256;
            return cudaSuccess;
        }
        if (b < 256 || n < 0)
            return cudaErrorInvalidValue;
        typename std::remove_reference<decltype(out[0])>::type acc{};
        for (long long i = 0; i < n; i++) {
            auto v = in[i];
            out[i] = acc;
            acc += v;
        }
        return cudaSuccess;
    }
};
} // namespace cub

/* The typed cudaMalloc / cudaMallocHost of the real runtime header. */
template <typename T> inline cudaError_t vfr_emu_cudaMalloc(T **p, size_t bytes)
{
    return vfr_emu_cudaMalloc((void **)p, bytes);
}
template <typename T> inline cudaError_t vfr_emu_cudaMallocHost(T **p, size_t bytes)
{
    return vfr_emu_cudaMallocHost((void **)p, bytes);
}

#endif /* __cplusplus */
#endif
