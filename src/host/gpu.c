/* gpu.c: a CUDA worker's stream, cuBLAS handle and grow-only scratch, and a
 * panel staged on the device once (gpu.h). Host code only: the launchers that
 * use them are in src/kernels/. Without CUDA every create is NO_DEVICE. */
#include "vfr/gpu.h"
#include "vfr_config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef VFR_HAVE_CUDA
#include "gpu_internal.h"

#define WHO "gpu"

static vfr_status cuda_fail(cudaError_t e, const char *what)
{
    return vfr_fail(e == cudaErrorMemoryAllocation ? VFR_ERR_NOMEM : VFR_ERR_CUDA, "%s: %s: %s", WHO,
                    what, cudaGetErrorString(e));
}

vfr_status vfr_gpu_work_create(vfr_gpu_work **out)
{
    *out = NULL;
    vfr_device_kind used;
    vfr_status st = vfr_device_resolve(VFR_DEVICE_CUDA, &used);
    if (st != VFR_OK)
        return st;
    vfr_gpu_work *w = calloc(1, sizeof *w);
    if (!w)
        return vfr_fail(VFR_ERR_NOMEM, "gpu: out of memory");
    cudaError_t e = cudaStreamCreate(&w->stream);
    if (e != cudaSuccess) {
        free(w);
        return cuda_fail(e, "cudaStreamCreate");
    }
    cublasStatus_t b = cublasCreate(&w->blas);
    if (b == CUBLAS_STATUS_SUCCESS)
        b = cublasSetStream(w->blas, w->stream);
    if (b != CUBLAS_STATUS_SUCCESS) {
        st = vfr_fail(b == CUBLAS_STATUS_ALLOC_FAILED ? VFR_ERR_NOMEM : VFR_ERR_CUDA, "gpu: cuBLAS: %s",
                      cublasGetStatusString(b));
        vfr_gpu_work_destroy(w);
        return st;
    }
    *out = w;
    return VFR_OK;
}

void vfr_gpu_work_destroy(vfr_gpu_work *w)
{
    if (!w)
        return;
    if (w->stream)
        cudaStreamSynchronize(w->stream);
    for (int i = 0; i < VFR_GPU_SLOTS; i++)
        cudaFree(w->dev[i]);
    cudaFreeHost(w->host);
    if (w->blas)
        cublasDestroy(w->blas);
    if (w->stream)
        cudaStreamDestroy(w->stream);
    free(w);
}

int64_t vfr_gpu_work_allocations(const vfr_gpu_work *w) { return w ? w->allocations : 0; }

vfr_status vfri_gpu_scratch(vfr_gpu_work *w, vfr_gpu_slot slot, size_t bytes, void **p)
{
    *p = NULL;
    if (bytes == 0)
        bytes = 1;
    if (bytes > w->dev_bytes[slot]) {
        /* the stream may still read the old buffer */
        cudaError_t e = cudaStreamSynchronize(w->stream);
        if (e != cudaSuccess)
            return cuda_fail(e, "cudaStreamSynchronize");
        cudaFree(w->dev[slot]);
        w->dev[slot] = NULL, w->dev_bytes[slot] = 0;
        bytes += bytes / 8; /* a little headroom: chunk sizes move with free memory */
        if ((e = cudaMalloc(&w->dev[slot], bytes)) != cudaSuccess)
            return cuda_fail(e, "cudaMalloc (scratch)");
        w->dev_bytes[slot] = bytes;
        w->allocations++;
    }
    *p = w->dev[slot];
    return VFR_OK;
}

vfr_status vfri_gpu_pinned(vfr_gpu_work *w, size_t bytes, void **p)
{
    *p = NULL;
    if (bytes == 0)
        bytes = 1;
    if (bytes > w->host_bytes) {
        cudaError_t e = cudaStreamSynchronize(w->stream);
        if (e != cudaSuccess)
            return cuda_fail(e, "cudaStreamSynchronize");
        cudaFreeHost(w->host);
        w->host = NULL, w->host_bytes = 0;
        if ((e = cudaMallocHost(&w->host, bytes)) != cudaSuccess)
            return cuda_fail(e, "cudaMallocHost");
        w->host_bytes = bytes;
        w->allocations++;
    }
    *p = w->host;
    return VFR_OK;
}

int vfri_gpu_is_device(const void *p)
{
    struct cudaPointerAttributes a;
    if (!p || cudaPointerGetAttributes(&a, p) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged;
}

/* Copies n bytes of host memory to the device through the pinned buffer. */
static vfr_status upload(vfr_gpu_work *w, void *dst, const void *src, size_t n)
{
    void *pin;
    vfr_status st;
    if (n == 0)
        return VFR_OK;
    if ((st = vfri_gpu_pinned(w, n, &pin)) != VFR_OK)
        return st;
    cudaError_t e = cudaStreamSynchronize(w->stream); /* the buffer may be in flight */
    if (e != cudaSuccess)
        return cuda_fail(e, "cudaStreamSynchronize");
    memcpy(pin, src, n);
    if ((e = cudaMemcpyAsync(dst, pin, n, cudaMemcpyHostToDevice, w->stream)) != cudaSuccess)
        return cuda_fail(e, "cudaMemcpyAsync");
    return VFR_OK;
}

vfr_status vfr_gpu_panel_create(vfr_gpu_work *w, const vfr_panel *p, const float *X, int32_t F,
                                vfr_gpu_panel **out)
{
    *out = NULL;
    if (!w || !p || p->N < 0 || (p->N > 0 && !p->label) || (X && F < 1))
        return vfr_fail(VFR_ERR_INVALID_ARG, "gpu panel: need a work, rows with labels, F >= 1 with X");
    vfr_status st;
    if (p->date_offset && (st = vfr_metrics_panel_check(p)) != VFR_OK)
        return st;
    const size_t N = (size_t)p->N, T = p->date_offset ? (size_t)p->T : 0;
    const size_t S = p->S > 0 ? (size_t)p->S : 1, TS = T * S;
    const int dated = p->date_offset != NULL;
    vfr_gpu_panel *g = calloc(1, sizeof *g);
    if (!g)
        return vfr_fail(VFR_ERR_NOMEM, "gpu panel: out of memory");
    g->host = *p;
    g->F = X ? F : 0;
    g->w = w;
    /* one allocation, carved */
    size_t at = 0, o_X = 0, o_label, o_fwd = 0, o_r1 = 0, o_off = 0, o_sym = 0, o_rd = 0, o_pos = 0, o_ra = 0;
    if (X)
        o_X = at, at += vfri_gpu_align(sizeof(float) * N * (size_t)F);
    o_label = at, at += vfri_gpu_align(sizeof(float) * N);
    if (p->fwd)
        o_fwd = at, at += vfri_gpu_align(sizeof(float) * N);
    if (dated) {
        o_r1 = at, at += vfri_gpu_align(sizeof(float) * TS);
        o_off = at, at += vfri_gpu_align(sizeof(long long) * (T + 1));
        o_sym = at, at += vfri_gpu_align(sizeof(int) * N);
        o_rd = at, at += vfri_gpu_align(sizeof(int) * N);
        o_pos = at, at += vfri_gpu_align(sizeof(int) * N);
        o_ra = at, at += vfri_gpu_align(sizeof(int) * TS);
    }
    cudaError_t e = cudaMalloc(&g->block, at ? at : 1);
    if (e != cudaSuccess) {
        st = cuda_fail(e, "cudaMalloc (panel)");
        goto fail;
    }
    w->allocations++;
    char *b = g->block;
    g->d_X = X ? (float *)(b + o_X) : NULL;
    g->d_label = (float *)(b + o_label);
    g->d_fwd = p->fwd ? (float *)(b + o_fwd) : NULL;
    g->d_y = g->d_fwd ? g->d_fwd : g->d_label;
    if (X && (st = upload(w, g->d_X, X, sizeof(float) * N * (size_t)F)) != VFR_OK)
        goto fail;
    if ((st = upload(w, g->d_label, p->label, sizeof(float) * N)) != VFR_OK)
        goto fail;
    if (p->fwd && (st = upload(w, g->d_fwd, p->fwd, sizeof(float) * N)) != VFR_OK)
        goto fail;
    if (dated) {
        g->d_r1 = (float *)(b + o_r1);
        g->d_off = (long long *)(b + o_off);
        g->d_sym = (int *)(b + o_sym);
        g->d_rowdate = (int *)(b + o_rd);
        g->d_pos = (int *)(b + o_pos);
        g->d_row_at = (int *)(b + o_ra);
        /* the host side of the derived arrays, built in one pinned buffer */
        const size_t hb = sizeof(float) * TS + sizeof(long long) * (T + 1) + 3 * sizeof(int) * N +
                          sizeof(int) * TS;
        void *pin;
        if ((st = vfri_gpu_pinned(w, hb, &pin)) != VFR_OK)
            goto fail;
        if ((e = cudaStreamSynchronize(w->stream)) != cudaSuccess) {
            st = cuda_fail(e, "cudaStreamSynchronize");
            goto fail;
        }
        float *r1 = pin;
        long long *off = (long long *)(r1 + TS);
        int *sym = (int *)(off + T + 1), *rd = sym + N, *pos = rd + N, *ra = pos + N;
        memset(r1, 0, sizeof(float) * TS);
        for (size_t c = 0; c < TS; c++)
            ra[c] = -1;
        for (size_t t = 0; t <= T; t++)
            off[t] = p->date_offset[t];
        for (size_t t = 0; t < T; t++)
            for (int64_t i = p->date_offset[t]; i < p->date_offset[t + 1]; i++) {
                const int s = p->symbol ? p->symbol[i] : 0;
                sym[i] = s, rd[i] = (int)t, pos[i] = (int)(i - p->date_offset[t]);
                ra[t * S + (size_t)s] = (int)i;
                /* the CPU twin's dense 1-day returns: 0 where missing or NaN */
                if (p->fwd1 && isfinite(p->fwd1[i]))
                    r1[t * S + (size_t)s] = p->fwd1[i];
            }
        /* the derived arrays sit back to back on the device as on the host
         * only by accident of alignment: copy each */
        if ((e = cudaMemcpyAsync(g->d_r1, r1, sizeof(float) * TS, cudaMemcpyHostToDevice, w->stream)) ||
            (e = cudaMemcpyAsync(g->d_off, off, sizeof(long long) * (T + 1), cudaMemcpyHostToDevice,
                                 w->stream)) ||
            (N && ((e = cudaMemcpyAsync(g->d_sym, sym, sizeof(int) * N, cudaMemcpyHostToDevice, w->stream)) ||
                   (e = cudaMemcpyAsync(g->d_rowdate, rd, sizeof(int) * N, cudaMemcpyHostToDevice, w->stream)) ||
                   (e = cudaMemcpyAsync(g->d_pos, pos, sizeof(int) * N, cudaMemcpyHostToDevice, w->stream)))) ||
            (e = cudaMemcpyAsync(g->d_row_at, ra, sizeof(int) * TS, cudaMemcpyHostToDevice, w->stream))) {
            st = cuda_fail(e, "cudaMemcpyAsync (panel)");
            goto fail;
        }
    }
    if ((e = cudaStreamSynchronize(w->stream)) != cudaSuccess) {
        st = cuda_fail(e, "cudaStreamSynchronize");
        goto fail;
    }
    *out = g;
    return VFR_OK;
fail:
    vfr_gpu_panel_destroy(g);
    return st;
}

void vfr_gpu_panel_destroy(vfr_gpu_panel *g)
{
    if (!g)
        return;
    if (g->w && g->w->stream)
        cudaStreamSynchronize(g->w->stream);
    cudaFree(g->block);
    free(g);
}

const vfr_panel *vfr_gpu_panel_host(const vfr_gpu_panel *g) { return g ? &g->host : NULL; }

vfr_status vfri_gpu_stage(const vfr_panel *p, const float *X, int32_t F, vfr_gpu_work **w,
                         vfr_gpu_panel **g)
{
    *g = NULL;
    vfr_status st = vfr_gpu_work_create(w);
    if (st == VFR_OK && (st = vfr_gpu_panel_create(*w, p, X, F, g)) != VFR_OK) {
        vfr_gpu_work_destroy(*w);
        *w = NULL;
    }
    return st;
}

void vfri_gpu_unstage(vfr_gpu_work *w, vfr_gpu_panel *g)
{
    vfr_gpu_panel_destroy(g);
    vfr_gpu_work_destroy(w);
}

#else /* no CUDA */

vfr_status vfr_gpu_work_create(vfr_gpu_work **out)
{
    *out = NULL;
    return vfr_fail(VFR_ERR_NO_DEVICE, "gpu: vfr was built without CUDA");
}

void vfr_gpu_work_destroy(vfr_gpu_work *w) { (void)w; }

int64_t vfr_gpu_work_allocations(const vfr_gpu_work *w)
{
    (void)w;
    return 0;
}

vfr_status vfr_gpu_panel_create(vfr_gpu_work *w, const vfr_panel *p, const float *X, int32_t F,
                                vfr_gpu_panel **out)
{
    (void)w, (void)p, (void)X, (void)F;
    *out = NULL;
    return vfr_fail(VFR_ERR_NO_DEVICE, "gpu panel: vfr was built without CUDA");
}

void vfr_gpu_panel_destroy(vfr_gpu_panel *g) { (void)g; }

const vfr_panel *vfr_gpu_panel_host(const vfr_gpu_panel *g)
{
    (void)g;
    return NULL;
}

#endif
