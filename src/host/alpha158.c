/* alpha158.c: Qlib's Alpha158 features from daily OHLCV, on the CPU: names,
 * argument checks, and a loop over bars split between threads. The per-bar
 * arithmetic is alpha158_row.h, shared with the CUDA kernel
 * (src/kernels/alpha158.cu), so this file is both the CPU path and the GPU's
 * reference. Formulas: docs/features.md; golden values: tests/test_alpha158.c. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alpha158_row.h"
#include "vfr/features.h"

static const char *const kbar_names[A158_KBAR + A158_PRICE] = {
    "KMID", "KLEN", "KMID2", "KUP", "KUP2", "KLOW", "KLOW2", "KSFT", "KSFT2",
    "OPEN0", "HIGH0", "LOW0", "VWAP0"};

static const char *const family_names[A158_NFAM] = {
    "ROC",  "MA",   "STD",  "BETA", "RSQR", "RESI", "MAX",  "MIN",  "QTLU", "QTLD",
    "RANK", "RSV",  "IMAX", "IMIN", "IMXD", "CORR", "CORD", "CNTP", "CNTN", "CNTD",
    "SUMP", "SUMN", "SUMD", "VMA",  "VSTD", "WVMA", "VSUMP", "VSUMN", "VSUMD"};

/* "ROC5" .. "VSUMD60", built once; static storage, so the names can be handed
 * out as static strings. */
static char rolling_names[A158_NFAM * A158_NWIN][12];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void names_init(void)
{
    static const int win[A158_NWIN] = {5, 10, 20, 30, 60};
    for (int f = 0; f < A158_NFAM; f++)
        for (int k = 0; k < A158_NWIN; k++)
            snprintf(rolling_names[f * A158_NWIN + k], sizeof rolling_names[0], "%s%d",
                     family_names[f], win[k]);
}

int32_t vfr_features_alpha158_count(void) { return A158_F; }

const char *vfr_features_alpha158_name(int32_t f)
{
    if (f < 0 || f >= A158_F)
        return NULL;
    if (f < A158_KBAR + A158_PRICE)
        return kbar_names[f];
    pthread_once(&names_once, names_init);
    return rolling_names[f - A158_KBAR - A158_PRICE];
}

vfr_status vfri_features_alpha158_check(const vfr_ohlcv_series *x, int64_t ld)
{
    if (!x || x->S < 0 || !x->offset)
        return vfr_fail(VFR_ERR_INVALID_ARG, "alpha158: no series given");
    if (ld < A158_F)
        return vfr_fail(VFR_ERR_INVALID_ARG, "alpha158: ld = %lld is below %d features",
                        (long long)ld, A158_F);
    if (x->offset[0] != 0)
        return vfr_fail(VFR_ERR_INVALID_ARG, "alpha158: offset[0] = %lld, want 0",
                        (long long)x->offset[0]);
    for (int32_t s = 0; s < x->S; s++)
        if (x->offset[s + 1] < x->offset[s])
            return vfr_fail(VFR_ERR_INVALID_ARG, "alpha158: offsets decrease at symbol %d",
                            (int)s);
    const int64_t N = x->offset[x->S];
    if (N > 0 && (!x->open || !x->high || !x->low || !x->close || !x->volume))
        return vfr_fail(VFR_ERR_INVALID_ARG, "alpha158: open, high, low, close and volume are required");
    for (int64_t r = 0; r < N; r++) {
        const double p[4] = {x->open[r], x->high[r], x->low[r], x->close[r]};
        for (int q = 0; q < 4; q++)
            if (!(isfinite(p[q]) && p[q] > 0.0))
                return vfr_fail(VFR_ERR_INVALID_ARG,
                                "alpha158: bar %lld has a price %g that is not finite and > 0",
                                (long long)r, p[q]);
    }
    return VFR_OK;
}

typedef struct job {
    const vfr_ohlcv_series *x;
    float *out;
    int64_t ld;
    int32_t s0, s1; /* symbols [s0, s1)                     */
    double *work;   /* [4 * longest series]: derived series */
} job;

/* Removes old (when not NaN) from the ascending a[0..n-1] and inserts new;
 * returns the new length. Binary searches and one memmove each. */
static int sorted_replace(double *a, int n, double old, int drop, double add)
{
    if (drop) {
        int lo = 0, hi = n - 1;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (a[mid] < old)
                lo = mid + 1;
            else
                hi = mid;
        }
        memmove(a + lo, a + lo + 1, sizeof *a * (size_t)(n - lo - 1));
        n--;
    }
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (a[mid] < add)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(a + lo + 1, a + lo, sizeof *a * (size_t)(n - lo));
    a[lo] = add;
    return n + 1;
}

static void run_symbols(const job *j)
{
    static const int win[A158_NWIN] = {5, 10, 20, 30, 60};
    const vfr_ohlcv_series *x = j->x;
    /* Each window's closes kept sorted from row to row: a replace per row
     * instead of a sort per row (the GPU, one thread per row, sorts). */
    double sbuf[A158_NWIN][A158_MAXWIN];
    const double *sorted[A158_NWIN] = {sbuf[0], sbuf[1], sbuf[2], sbuf[3], sbuf[4]};
    for (int32_t s = j->s0; s < j->s1; s++) {
        int64_t b = x->offset[s], n = x->offset[s + 1] - b;
        double *lv = j->work, *rr = lv + n, *lvr = rr + n, *arv = lvr + n;
        for (int64_t i = 0; i < n; i++)
            vfri_a158_derive(x->close + b, x->volume + b, i, &lv[i], &rr[i], &lvr[i], &arv[i]);
        a158_series a = {x->open + b, x->high + b,  x->low + b, x->close + b,
                         x->volume + b, x->vwap ? x->vwap + b : NULL, lv, rr, lvr, arv};
        int len[A158_NWIN] = {0};
        const double *c = x->close + b;
        for (int64_t t = 0; t < n; t++) {
            for (int k = 0; k < A158_NWIN; k++)
                len[k] = sorted_replace(sbuf[k], len[k], t >= win[k] ? c[t - win[k]] : 0.0,
                                        t >= win[k], c[t]);
            vfri_a158_row(&a, t, sorted, j->out + (b + t) * j->ld);
        }
    }
}

static void *run_job(void *arg)
{
    run_symbols(arg);
    return NULL;
}

vfr_status vfr_features_alpha158_cpu(const vfr_ohlcv_series *x, int threads, float *out,
                                     int64_t ld)
{
    vfr_status st = vfri_features_alpha158_check(x, ld);
    if (st != VFR_OK)
        return st;
    const int64_t N = x->offset[x->S];
    if (N > 0 && !out)
        return vfr_fail(VFR_ERR_INVALID_ARG, "alpha158: out is NULL");
    if (threads <= 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        threads = nc > 0 ? (int)nc : 1;
    }
    if (threads > x->S)
        threads = x->S > 0 ? x->S : 1;
    int64_t longest = 0;
    for (int32_t s = 0; s < x->S; s++)
        if (x->offset[s + 1] - x->offset[s] > longest)
            longest = x->offset[s + 1] - x->offset[s];
    /* Symbols split so that each thread gets about N/threads bars. */
    job *jobs = calloc((size_t)threads, sizeof *jobs);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    char *live = calloc((size_t)threads, 1);
    double *work = malloc(((size_t)threads * 4 * (size_t)longest + 1) * sizeof *work);
    if (!jobs || !tid || !live || !work) {
        free(jobs);
        free(tid);
        free(live);
        free(work);
        return vfr_fail(VFR_ERR_NOMEM, "alpha158: out of memory for %d threads", threads);
    }
    int32_t s = 0;
    for (int k = 0; k < threads; k++) {
        int64_t want = N * (k + 1) / threads;
        int32_t s1 = s;
        while (s1 < x->S && (k == threads - 1 || x->offset[s1] < want))
            s1++;
        jobs[k] = (job){x, out, ld, s, s1, work + (size_t)k * 4 * (size_t)longest};
        s = s1;
        if (threads == 1) {
            run_symbols(&jobs[k]);
            continue;
        }
        live[k] = pthread_create(&tid[k], NULL, run_job, &jobs[k]) == 0;
        if (!live[k])
            run_job(&jobs[k]); /* no thread to be had: do its share here */
    }
    for (int k = 0; k < threads; k++)
        if (live[k])
            pthread_join(tid[k], NULL);
    free(jobs);
    free(tid);
    free(live);
    free(work);
    return VFR_OK;
}

#ifndef VFR_HAVE_CUDA
vfr_status vfr_features_alpha158_cuda(const vfr_ohlcv_series *x, float *out, int64_t ld)
{
    (void)x;
    (void)out;
    (void)ld;
    return vfr_fail(VFR_ERR_NO_DEVICE, "alpha158: this vfr was built without CUDA");
}

vfr_status vfr_features_alpha158_staged(vfr_gpu_work *w, const vfr_ohlcv_series *x, float *out,
                                        int64_t ld)
{
    (void)w, (void)x, (void)out, (void)ld;
    return vfr_fail(VFR_ERR_NO_DEVICE, "alpha158: this vfr was built without CUDA");
}
#endif

vfr_status vfr_features_alpha158(vfr_device_kind dev, const vfr_ohlcv_series *x, int threads,
                                 float *out, int64_t ld)
{
    if (dev == VFR_DEVICE_CUDA)
        return vfr_features_alpha158_cuda(x, out, ld);
    return vfr_features_alpha158_cpu(x, threads, out, ld);
}
