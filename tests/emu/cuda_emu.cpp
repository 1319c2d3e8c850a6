/* cuda_emu.cpp: the CPU side of the CUDA emulation (cuda_emu.h): device
 * memory as recorded host allocations, the launch scheduler (a block's
 * threads as fibers, barriers counted per block and per warp), and
 * cuBLAS's dgemv/dsyrk through OpenBLAS. Test infrastructure, not libvfr. */
#include "cuda_emu.h"

#include <cblas.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>

thread_local uint3 threadIdx;
thread_local uint3 blockIdx;
thread_local dim3 blockDim;
thread_local dim3 gridDim;

namespace {

std::mutex mem_mu;                   /* the allocation table                */
std::map<char *, size_t> allocs;     /* device pointer -> bytes             */
size_t alloc_bytes;
std::recursive_mutex launch_mu;      /* one kernel at a time                */
thread_local cudaError_t last_error; /* what cudaGetLastError returns      */
long long launches;
long long mallocs, malloc_hosts;     /* successful cudaMalloc / cudaMallocHost */
std::set<void *> streams, events, pinned;

cudaError_t set_error(cudaError_t e)
{
    if (e != cudaSuccess)
        last_error = e;
    return e;
}

size_t device_mem(void)
{
    const char *s = getenv("VFR_EMU_DEVICE_MEM");
    long long v = s ? atoll(s) : 0;
    return v > 0 ? (size_t)v : (size_t)4 << 30;
}

/* True when [p, p + n) lies inside one allocation. */
bool in_device(const void *p, size_t n)
{
    std::lock_guard<std::mutex> g(mem_mu);
    auto it = allocs.upper_bound((char *)p);
    if (it == allocs.begin())
        return false;
    --it;
    const char *c = (const char *)p;
    return c >= it->first && c + n <= it->first + it->second;
}

/* ---- the scheduler -------------------------------------------------------- */
/* A fiber switch: saves the callee-saved registers on the current stack,
 * stores the stack pointer in *save and continues on `to` (x86-64 System V).
 * ucontext's swapcontext makes two system calls per switch, which made the
 * emulated tests minutes long; this makes none. */
extern "C" void vfr_emu_switch(void **save, void *to);
#if defined(__x86_64__)
asm(".text\n"
    ".globl vfr_emu_switch\n"
    ".type vfr_emu_switch,@function\n"
    "vfr_emu_switch:\n"
    "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
    "  ret\n"
    ".size vfr_emu_switch,.-vfr_emu_switch\n");
#else
#error "the CUDA emulation's fiber switch is written for x86-64 only"
#endif

enum fstate { F_RUN, F_BLOCK, F_WARP, F_DONE };
const size_t STACK = 64 * 1024;

struct fiber {
    void *sp = nullptr;
    char *stack = nullptr;
    fstate state = F_RUN;
};

struct block_run {
    void *sched = nullptr;
    std::vector<fiber> f;
    int live = 0, at_block = 0;
    int warp_live[32] = {0}, at_warp[32] = {0};
    uint64_t slot[2][32][32]; /* per bank, warp, lane: shuffle values */
    std::vector<unsigned char> bank; /* per thread: the bank of its next shuffle */
    int cur = -1;           /* the running fiber                  */
    const std::function<void()> *body = nullptr;
};
thread_local block_run *br;

[[noreturn]] void trampoline()
{
    block_run &b = *br;
    (*b.body)();
    fiber &me = b.f[(size_t)b.cur];
    me.state = F_DONE;
    b.live--;
    b.warp_live[b.cur >> 5]--;
    /* what an exited lane "shuffles" is undefined: make it NaN-like */
    b.slot[0][b.cur >> 5][b.cur & 31] = b.slot[1][b.cur >> 5][b.cur & 31] = ~(uint64_t)0;
    vfr_emu_switch(&me.sp, b.sched); /* never resumed */
    __builtin_unreachable();
}

/* A fresh fiber's stack: six zero registers, then trampoline as the return
 * address, then a dummy one, so that it starts as if called (rsp = 8 mod 16). */
void *fresh_stack(char *stack)
{
    uintptr_t top = ((uintptr_t)stack + STACK) & ~(uintptr_t)15;
    void **sp = (void **)top;
    *--sp = nullptr;
    *--sp = (void *)trampoline;
    for (int r = 0; r < 6; r++)
        *--sp = nullptr;
    return sp;
}

void yield(fstate s)
{
    block_run &b = *br;
    fiber &me = b.f[(size_t)b.cur];
    me.state = s;
    vfr_emu_switch(&me.sp, b.sched);
}

[[noreturn]] void die(const char *what)
{
    fprintf(stderr, "cuda emulation: %s (block %u,%u thread %u)\n", what, blockIdx.x, blockIdx.y,
            threadIdx.x);
    abort();
}

} // namespace

namespace vfr_emu {

void sync_block()
{
    br->at_block++;
    yield(F_BLOCK);
}

void sync_warp()
{
    br->at_warp[br->cur >> 5]++;
    yield(F_WARP);
}

int next_bank()
{
    unsigned char &k = br->bank[(size_t)br->cur];
    k ^= 1;
    return k;
}

void *warp_slot(int bank, int lane)
{
    if (lane < 0 || lane > 31)
        die("shuffle source lane out of range");
    return &br->slot[bank][br->cur >> 5][lane];
}

bool stream_ok(cudaStream_t s)
{
    std::lock_guard<std::mutex> g(mem_mu);
    return !s || streams.count(s) != 0;
}

bool run_grid(dim3 grid, dim3 block, const std::function<void()> &body)
{
    const unsigned long long nthr = (unsigned long long)block.x * block.y * block.z;
    if (nthr == 0 || nthr > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
        grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535) {
        set_error(cudaErrorInvalidConfiguration);
        return false;
    }
    if (block.y != 1 || block.z != 1)
        die("only 1-D blocks are emulated");
    std::lock_guard<std::recursive_mutex> g(launch_mu);
    launches++;
    block_run *saved = br;
    block_run b;
    br = &b;
    b.body = &body;
    const int n = (int)nthr;
    b.f.resize((size_t)n);
    b.bank.resize((size_t)n);
    for (auto &f : b.f)
        f.stack = (char *)malloc(STACK);
    gridDim = grid;
    blockDim = block;
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                blockIdx = uint3{x, y, z};
                b.live = n, b.at_block = 0;
                for (int w = 0; w < 32; w++)
                    b.warp_live[w] = 0, b.at_warp[w] = 0;
                memset(b.slot, 0xff, sizeof b.slot);
                std::fill(b.bank.begin(), b.bank.end(), 0);
                for (int i = 0; i < n; i++) {
                    fiber &f = b.f[(size_t)i];
                    f.sp = fresh_stack(f.stack);
                    f.state = F_RUN;
                    b.warp_live[i >> 5]++;
                }
                /* The lowest runnable thread runs until it yields; a barrier
                 * is released as soon as its last thread arrives, and the
                 * scan restarts at its first thread: warp 0 runs as far as
                 * it can before warp 1 starts, which is what makes a missing
                 * barrier show (a reader runs ahead of the writers). */
                int i = 0;
                while (b.live > 0) {
                    if (i >= n)
                        die("deadlock: threads wait at different barriers (__syncthreads vs a "
                            "shuffle, or a barrier some threads skip)");
                    if (b.f[(size_t)i].state != F_RUN) {
                        i++;
                        continue;
                    }
                    b.cur = i;
                    threadIdx = uint3{(unsigned)i, 0, 0};
                    vfr_emu_switch(&b.sched, b.f[(size_t)i].sp);
                    const int w = i >> 5;
                    if (b.at_block > 0 && b.at_block == b.live) {
                        for (auto &f : b.f)
                            if (f.state == F_BLOCK)
                                f.state = F_RUN;
                        b.at_block = 0;
                        i = 0;
                    } else if (b.at_warp[w] > 0 && b.at_warp[w] == b.warp_live[w]) {
                        for (int j = w * 32; j < n && j < w * 32 + 32; j++)
                            if (b.f[(size_t)j].state == F_WARP)
                                b.f[(size_t)j].state = F_RUN;
                        b.at_warp[w] = 0;
                        i = w * 32;
                    } else {
                        i++;
                    }
                }
            }
    for (auto &f : b.f)
        free(f.stack);
    br = saved;
    return true;
}

} // namespace vfr_emu

extern "C" {

cudaError_t vfr_emu_cudaGetDeviceCount(int *n)
{
    *n = 1;
    return cudaSuccess;
}

cudaError_t vfr_emu_cudaGetDeviceProperties(struct cudaDeviceProp *p, int dev)
{
    if (dev != 0)
        return set_error(cudaErrorInvalidValue);
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "vfr CUDA emulation (CPU)");
    p->totalGlobalMem = device_mem();
    p->major = 9, p->minor = 0, p->multiProcessorCount = 1;
    return cudaSuccess;
}

cudaError_t vfr_emu_cudaGetLastError(void)
{
    cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}

const char *vfr_emu_cudaGetErrorString(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    }
    return "unknown error";
}

cudaError_t vfr_emu_cudaRuntimeGetVersion(int *v)
{
    *v = 0;
    return cudaSuccess;
}

cudaError_t vfr_emu_cudaMalloc(void **p, size_t bytes)
{
    *p = NULL;
    std::lock_guard<std::mutex> g(mem_mu);
    if (alloc_bytes + bytes > device_mem())
        return set_error(cudaErrorMemoryAllocation);
    char *q = (char *)malloc(bytes ? bytes : 1);
    if (!q)
        return set_error(cudaErrorMemoryAllocation);
    memset(q, 0xff, bytes);
    allocs[q] = bytes;
    alloc_bytes += bytes;
    mallocs++;
    *p = q;
    return cudaSuccess;
}

cudaError_t vfr_emu_cudaFree(void *p)
{
    if (!p)
        return cudaSuccess;
    std::lock_guard<std::mutex> g(mem_mu);
    auto it = allocs.find((char *)p);
    if (it == allocs.end())
        return set_error(cudaErrorInvalidDevicePointer);
    alloc_bytes -= it->second;
    allocs.erase(it);
    free(p);
    return cudaSuccess;
}

cudaError_t vfr_emu_cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind)
{
    if (bytes == 0)
        return cudaSuccess;
    const bool dd = kind == cudaMemcpyDeviceToDevice || kind == cudaMemcpyHostToDevice;
    const bool sd = kind == cudaMemcpyDeviceToDevice || kind == cudaMemcpyDeviceToHost;
    if ((dd && !in_device(dst, bytes)) || (sd && !in_device(src, bytes)) ||
        (kind == cudaMemcpyHostToDevice && in_device(src, 1)) ||
        (kind == cudaMemcpyDeviceToHost && in_device(dst, 1)))
        return set_error(cudaErrorInvalidValue);
    memmove(dst, src, bytes);
    return cudaSuccess;
}

cudaError_t vfr_emu_cudaMemset(void *p, int value, size_t bytes)
{
    if (bytes == 0)
        return cudaSuccess;
    if (!in_device(p, bytes))
        return set_error(cudaErrorInvalidValue);
    memset(p, value, bytes);
    return cudaSuccess;
}

cudaError_t vfr_emu_cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes)
{
    std::lock_guard<std::mutex> g(mem_mu);
    *total_bytes = device_mem();
    *free_bytes = *total_bytes - alloc_bytes;
    return cudaSuccess;
}

cudaError_t vfr_emu_cudaDeviceSynchronize(void) { return cudaSuccess; }

cudaError_t vfr_emu_cudaMallocHost(void **p, size_t bytes)
{
    *p = malloc(bytes ? bytes : 1);
    if (!*p)
        return set_error(cudaErrorMemoryAllocation);
    std::lock_guard<std::mutex> g(mem_mu);
    pinned.insert(*p);
    malloc_hosts++;
    return cudaSuccess;
}

cudaError_t vfr_emu_cudaFreeHost(void *p)
{
    if (!p)
        return cudaSuccess;
    {
        std::lock_guard<std::mutex> g(mem_mu);
        if (!pinned.erase(p))
            return set_error(cudaErrorInvalidValue);
    }
    free(p);
    return cudaSuccess;
}

static bool known(const std::set<void *> &set, void *x)
{
    std::lock_guard<std::mutex> g(mem_mu);
    return set.count(x) != 0;
}

cudaError_t vfr_emu_cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                                    cudaStream_t s)
{
    if (!vfr_emu::stream_ok(s))
        return set_error(cudaErrorInvalidValue);
    if (kind == cudaMemcpyDefault) /* unified addressing: the pointers say */
        kind = in_device(src, 1) ? (in_device(dst, 1) ? cudaMemcpyDeviceToDevice : cudaMemcpyDeviceToHost)
                                 : (in_device(dst, 1) ? cudaMemcpyHostToDevice : cudaMemcpyHostToHost);
    return vfr_emu_cudaMemcpy(dst, src, bytes, kind);
}

cudaError_t vfr_emu_cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t s)
{
    if (!vfr_emu::stream_ok(s))
        return set_error(cudaErrorInvalidValue);
    return vfr_emu_cudaMemset(p, value, bytes);
}

cudaError_t vfr_emu_cudaStreamCreate(cudaStream_t *s)
{
    *s = (cudaStream_t)malloc(1);
    if (!*s)
        return set_error(cudaErrorMemoryAllocation);
    std::lock_guard<std::mutex> g(mem_mu);
    streams.insert(*s);
    return cudaSuccess;
}

cudaError_t vfr_emu_cudaStreamDestroy(cudaStream_t s)
{
    {
        std::lock_guard<std::mutex> g(mem_mu);
        if (!s || !streams.erase(s))
            return set_error(cudaErrorInvalidValue);
    }
    free(s);
    return cudaSuccess;
}

cudaError_t vfr_emu_cudaStreamSynchronize(cudaStream_t s)
{
    return vfr_emu::stream_ok(s) ? cudaSuccess : set_error(cudaErrorInvalidValue);
}

cudaError_t vfr_emu_cudaPointerGetAttributes(struct cudaPointerAttributes *a, const void *p)
{
    memset(a, 0, sizeof *a);
    if (in_device(p, 1)) {
        a->type = cudaMemoryTypeDevice;
        a->devicePointer = (void *)p;
    } else if (known(pinned, (void *)p)) {
        a->type = cudaMemoryTypeHost;
        a->hostPointer = a->devicePointer = (void *)p;
    }
    return cudaSuccess;
}

cudaError_t vfr_emu_cudaEventCreate(cudaEvent_t *e)
{
    *e = (cudaEvent_t)malloc(1);
    if (!*e)
        return set_error(cudaErrorMemoryAllocation);
    std::lock_guard<std::mutex> g(mem_mu);
    events.insert(*e);
    return cudaSuccess;
}

cudaError_t vfr_emu_cudaEventDestroy(cudaEvent_t e)
{
    {
        std::lock_guard<std::mutex> g(mem_mu);
        if (!e || !events.erase(e))
            return set_error(cudaErrorInvalidValue);
    }
    free(e);
    return cudaSuccess;
}

cudaError_t vfr_emu_cudaEventRecord(cudaEvent_t e, cudaStream_t s)
{
    return known(events, e) && vfr_emu::stream_ok(s) ? cudaSuccess : set_error(cudaErrorInvalidValue);
}

cudaError_t vfr_emu_cudaEventSynchronize(cudaEvent_t e)
{
    return known(events, e) ? cudaSuccess : set_error(cudaErrorInvalidValue);
}

cudaError_t vfr_emu_cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b)
{
    *ms = 0; /* no clock of the emulated device */
    return known(events, a) && known(events, b) ? cudaSuccess : set_error(cudaErrorInvalidValue);
}

long long vfr_emu_malloc_count(void)
{
    std::lock_guard<std::mutex> g(mem_mu);
    return mallocs;
}

long long vfr_emu_malloc_host_count(void)
{
    std::lock_guard<std::mutex> g(mem_mu);
    return malloc_hosts;
}

long long vfr_emu_launch_count(void)
{
    std::lock_guard<std::recursive_mutex> g(launch_mu);
    return launches;
}

struct vfr_emu_cublas {
    int unused;
};

cublasStatus_t vfr_emu_cublasCreate(cublasHandle_t *h)
{
    *h = (cublasHandle_t)calloc(1, sizeof(struct vfr_emu_cublas));
    return *h ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_ALLOC_FAILED;
}

cublasStatus_t vfr_emu_cublasDestroy(cublasHandle_t h)
{
    free(h);
    return CUBLAS_STATUS_SUCCESS;
}

/* Column-major, as cuBLAS; every operand must be device memory. */
cublasStatus_t vfr_emu_cublasDgemv(cublasHandle_t h, cublasOperation_t op, int m, int n,
                                   const double *alpha, const double *A, int lda, const double *x,
                                   int incx, const double *beta, double *y, int incy)
{
    if (!h)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    const int lx = op == CUBLAS_OP_N ? n : m, ly = op == CUBLAS_OP_N ? m : n;
    if (m < 0 || n < 0 || lda < (m > 1 ? m : 1) || incx < 1 || incy < 1 ||
        (m > 0 && n > 0 &&
         (!in_device(A, sizeof(double) * ((size_t)lda * (n - 1) + m)) ||
          !in_device(x, sizeof(double) * ((size_t)(lx - 1) * incx + 1)) ||
          !in_device(y, sizeof(double) * ((size_t)(ly - 1) * incy + 1)))))
        return CUBLAS_STATUS_INVALID_VALUE;
    cblas_dgemv(CblasColMajor, op == CUBLAS_OP_N ? CblasNoTrans : CblasTrans, m, n, *alpha, A, lda,
                x, incx, *beta, y, incy);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t vfr_emu_cublasDsyrk(cublasHandle_t h, cublasFillMode_t uplo, cublasOperation_t op,
                                   int n, int k, const double *alpha, const double *A, int lda,
                                   const double *beta, double *C, int ldc)
{
    if (!h)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    const int rows = op == CUBLAS_OP_N ? n : k, cols = op == CUBLAS_OP_N ? k : n;
    if (n < 0 || k < 0 || lda < (rows > 1 ? rows : 1) || ldc < (n > 1 ? n : 1) ||
        (n > 0 && k > 0 && !in_device(A, sizeof(double) * ((size_t)lda * (cols - 1) + rows))) ||
        (n > 0 && !in_device(C, sizeof(double) * ((size_t)ldc * (n - 1) + n))))
        return CUBLAS_STATUS_INVALID_VALUE;
    cblas_dsyrk(CblasColMajor, uplo == CUBLAS_FILL_MODE_UPPER ? CblasUpper : CblasLower,
                op == CUBLAS_OP_N ? CblasNoTrans : CblasTrans, n, k, *alpha, A, lda, *beta, C, ldc);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t vfr_emu_cublasSetStream(cublasHandle_t h, cudaStream_t s)
{
    return h && vfr_emu::stream_ok(s) ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
}

const char *vfr_emu_cublasGetStatusString(cublasStatus_t s)
{
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    }
    return "CUBLAS_STATUS_UNKNOWN";
}

cublasStatus_t vfr_emu_cublasGetProperty(libraryPropertyType t, int *v)
{
    *v = 0;
    (void)t;
    return CUBLAS_STATUS_SUCCESS;
}

} /* extern "C" */
