/* metrics.c: CPU twin of the batched model metrics, the checks the CPU and
 * CUDA paths share, and the device dispatch.
 *
 * Written plainly, with double accumulators and two-pass variances, because it
 * is also the oracle the CUDA kernels are held against. Models are spread over
 * threads (each model is computed whole by one thread, so the table does not
 * depend on the thread count). Definitions: docs/metrics.md. */
#include "metrics_internal.h"
#include "vfr/metrics.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- names and options -------------------------------------------------- */

static const char *const metric_names[VFR_METRIC_COUNT] = {
    [VFR_METRIC_N] = "n",
    [VFR_METRIC_ACCURACY] = "accuracy",
    [VFR_METRIC_PRECISION] = "precision",
    [VFR_METRIC_RECALL] = "recall",
    [VFR_METRIC_F1] = "f1",
    [VFR_METRIC_ROC_AUC] = "roc_auc",
    [VFR_METRIC_LOG_LOSS] = "log_loss",
    [VFR_METRIC_TP] = "tp",
    [VFR_METRIC_FP] = "fp",
    [VFR_METRIC_TN] = "tn",
    [VFR_METRIC_FN] = "fn",
    [VFR_METRIC_MSE] = "mse",
    [VFR_METRIC_RMSE] = "rmse",
    [VFR_METRIC_MAE] = "mae",
    [VFR_METRIC_R2] = "r2",
    [VFR_METRIC_MAPE] = "mape",
    [VFR_METRIC_IC] = "ic",
    [VFR_METRIC_IC_STD] = "ic_std",
    [VFR_METRIC_ICIR] = "icir",
    [VFR_METRIC_RANK_IC] = "rank_ic",
    [VFR_METRIC_RANK_IC_STD] = "rank_ic_std",
    [VFR_METRIC_RANK_ICIR] = "rank_icir",
    [VFR_METRIC_IC_DATES] = "ic_dates",
};

const char *vfr_metrics_name(vfr_metric m)
{
    return (unsigned)m < VFR_METRIC_COUNT ? metric_names[m] : "?";
}

int vfr_metrics_applies(vfr_task task, vfr_metric m)
{
    if (m >= VFR_METRIC_ACCURACY && m <= VFR_METRIC_FN)
        return task == VFR_TASK_CLASSIFICATION;
    if (m >= VFR_METRIC_MSE && m <= VFR_METRIC_MAPE)
        return task == VFR_TASK_REGRESSION;
    return (unsigned)m < VFR_METRIC_COUNT;
}

vfr_status vfr_metrics_task_parse(const char *s, vfr_task *out)
{
    if (s && strcmp(s, "classification") == 0)
        *out = VFR_TASK_CLASSIFICATION;
    else if (s && strcmp(s, "regression") == 0)
        *out = VFR_TASK_REGRESSION;
    else
        return vfr_fail(VFR_ERR_INVALID_ARG, "task '%s': expected classification or regression",
                        s ? s : "(null)");
    return VFR_OK;
}

const char *vfr_metrics_task_name(vfr_task t)
{
    return t == VFR_TASK_REGRESSION ? "regression" : "classification";
}

void vfr_metrics_options_default(vfr_metrics_options *o)
{
    o->task = VFR_TASK_CLASSIFICATION;
    o->threshold = 0.5;
    o->threads = 0;
}

/* ---- checks shared with the CUDA launchers ------------------------------- */

vfr_status vfr_metrics_panel_check(const vfr_panel *p)
{
    if (!p || p->N < 0 || p->T < 0 || p->S < 0 || (p->T > 0 && !p->date_offset) ||
        (p->N > 0 && (!p->symbol || !p->label)))
        return vfr_fail(VFR_ERR_INVALID_ARG, "panel: missing arrays or negative sizes");
    if (p->N >= INT32_MAX)
        return vfr_fail(VFR_ERR_INVALID_ARG, "panel: %lld rows; at most 2^31 - 2 are supported",
                        (long long)p->N);
    if (p->T == 0) {
        if (p->N != 0)
            return vfr_fail(VFR_ERR_INVALID_ARG, "panel: %lld rows but no dates", (long long)p->N);
        return VFR_OK;
    }
    const int64_t *off = p->date_offset;
    if (off[0] != 0 || off[p->T] != p->N)
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "panel: date offsets must start at 0 and end at N = %lld (got %lld, %lld)",
                        (long long)p->N, (long long)off[0], (long long)off[p->T]);
    for (int32_t t = 0; t < p->T; t++) {
        if (off[t + 1] < off[t])
            return vfr_fail(VFR_ERR_INVALID_ARG, "panel: date %d: offsets decrease", t);
        for (int64_t i = off[t]; i < off[t + 1]; i++) {
            int32_t s = p->symbol[i];
            if (s < 0 || s >= p->S)
                return vfr_fail(VFR_ERR_INVALID_ARG, "panel: row %lld: symbol %d not in [0, %d)",
                                (long long)i, s, p->S);
            if (i > off[t] && s <= p->symbol[i - 1])
                return vfr_fail(VFR_ERR_INVALID_ARG,
                                "panel: row %lld: symbols of date %d must be strictly ascending",
                                (long long)i, t);
        }
    }
    return VFR_OK;
}

vfr_status vfri_metrics_check_labels(const vfr_panel *p)
{
    for (int64_t i = 0; i < p->N; i++) {
        float l = p->label[i];
        if (isfinite(l) && l != 0.0f && l != 1.0f)
            return vfr_fail(VFR_ERR_INVALID_ARG,
                            "row %lld: classification label %g is neither 0 nor 1", (long long)i,
                            (double)l);
    }
    return VFR_OK;
}

vfr_status vfri_metrics_check_args(const vfr_panel *p, const float *score, int32_t M,
                                  const vfr_metrics_options *o, const double *out)
{
    vfr_status st;
    if (!o || !out || M < 1 || (!score && p && p->N > 0))
        return vfr_fail(VFR_ERR_INVALID_ARG, "metrics: need options, output and M >= 1 (M = %d)",
                        M);
    if (o->task != VFR_TASK_CLASSIFICATION && o->task != VFR_TASK_REGRESSION)
        return vfr_fail(VFR_ERR_INVALID_ARG, "metrics: unknown task %d", (int)o->task);
    if (!isfinite(o->threshold))
        return vfr_fail(VFR_ERR_INVALID_ARG, "metrics: threshold must be finite");
    if ((st = vfr_metrics_panel_check(p)) != VFR_OK)
        return st;
    if (o->task == VFR_TASK_CLASSIFICATION)
        return vfri_metrics_check_labels(p);
    return VFR_OK;
}

/* ---- threads ------------------------------------------------------------ */

int vfri_metrics_threads(int asked, int64_t n)
{
    long cores = asked > 0 ? asked : sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;
    if (cores > 256)
        cores = 256;
    if (n < cores)
        cores = n < 1 ? 1 : (long)n;
    return (int)cores;
}

typedef struct par_job {
    vfr_status (*fn)(void *, int, int);
    void *ctx;
    int tid, n;
    vfr_status st;
} par_job;

static void *par_main(void *arg)
{
    par_job *j = arg;
    j->st = j->fn(j->ctx, j->tid, j->n);
    return NULL;
}

vfr_status vfri_metrics_parallel(int nthreads, vfr_status (*fn)(void *ctx, int tid, int nthreads),
                                void *ctx)
{
    if (nthreads <= 1)
        return fn(ctx, 0, 1);
    par_job *jobs = calloc((size_t)nthreads, sizeof *jobs);
    pthread_t *th = calloc((size_t)nthreads, sizeof *th);
    char *started = calloc((size_t)nthreads, 1);
    vfr_status st = VFR_OK;
    if (!jobs || !th || !started) {
        free(jobs), free(th), free(started);
        return vfr_fail(VFR_ERR_NOMEM, "out of memory starting %d threads", nthreads);
    }
    for (int t = 0; t < nthreads; t++)
        jobs[t] = (par_job){fn, ctx, t, nthreads, VFR_OK};
    /* A thread that cannot start leaves its items to the caller's thread. */
    for (int t = 1; t < nthreads; t++)
        started[t] = pthread_create(&th[t], NULL, par_main, &jobs[t]) == 0;
    par_main(&jobs[0]);
    for (int t = 1; t < nthreads; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        else
            par_main(&jobs[t]);
    }
    /* The detail message is per thread: re-raise the first failure here. */
    for (int t = 0; t < nthreads && st == VFR_OK; t++)
        if (jobs[t].st != VFR_OK)
            st = jobs[t].st == VFR_ERR_NOMEM
                     ? vfr_fail(VFR_ERR_NOMEM, "out of memory in a worker thread")
                     : vfr_fail(jobs[t].st, "a worker thread failed (%s)",
                                vfr_status_str(jobs[t].st));
    free(jobs), free(th), free(started);
    return st;
}

/* ---- sorting ------------------------------------------------------------ */

void vfri_metrics_sort_keys(uint64_t *a, uint64_t *tmp, int64_t n)
{
    if (n <= 48) {
        for (int64_t i = 1; i < n; i++) {
            uint64_t v = a[i];
            int64_t j = i - 1;
            while (j >= 0 && (a[j] >> 32) > (v >> 32)) {
                a[j + 1] = a[j];
                j--;
            }
            a[j + 1] = v;
        }
        return;
    }
    /* LSD radix over the four key bytes; stable, so ties keep their order.
     * A pass whose byte is the same everywhere is skipped. */
    uint64_t *src = a, *dst = tmp;
    for (int pass = 0; pass < 4; pass++) {
        int shift = 32 + 8 * pass;
        int64_t cnt[256] = {0};
        for (int64_t i = 0; i < n; i++)
            cnt[(src[i] >> shift) & 0xff]++;
        if (cnt[(src[0] >> shift) & 0xff] == n)
            continue;
        int64_t sum = 0;
        for (int b = 0; b < 256; b++) {
            int64_t c = cnt[b];
            cnt[b] = sum;
            sum += c;
        }
        for (int64_t i = 0; i < n; i++)
            dst[cnt[(src[i] >> shift) & 0xff]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, sizeof *a * (size_t)n);
}

/* Average ranks (1-based, ties share the mean of their positions) of the n
 * values whose keys are in a[] (key << 32 | position), written to rank[position]. */
static void average_ranks(uint64_t *a, uint64_t *tmp, int64_t n, double *rank)
{
    vfri_metrics_sort_keys(a, tmp, n);
    for (int64_t i = 0; i < n;) {
        int64_t j = i + 1;
        while (j < n && (a[j] >> 32) == (a[i] >> 32))
            j++;
        double r = 0.5 * (double)(i + j + 1);
        for (int64_t q = i; q < j; q++)
            rank[a[q] & 0xffffffffu] = r;
        i = j;
    }
}

/* Pearson correlation, two passes; NaN when n < 2 or either side is
 * constant (vfri_metrics_is_constant, as the CUDA kernel decides). */
static double pearson(const double *x, const double *y, int64_t n)
{
    if (n < 2)
        return NAN;
    double mx = 0, my = 0;
    for (int64_t i = 0; i < n; i++)
        mx += x[i], my += y[i];
    mx /= (double)n, my /= (double)n;
    double sxy = 0, sxx = 0, syy = 0;
    for (int64_t i = 0; i < n; i++) {
        double dx = x[i] - mx, dy = y[i] - my;
        sxy += dx * dy, sxx += dx * dx, syy += dy * dy;
    }
    if (vfri_metrics_is_constant(sxx, (double)n, mx) || vfri_metrics_is_constant(syy, (double)n, my))
        return NAN;
    return sxy / sqrt(sxx * syy);
}

/* mean, std (ddof 1) and mean/std of the finite entries of v[0..n). */
static void mean_std_ir(const double *v, int64_t n, double *mean, double *sd, double *ir,
                        double *count)
{
    int64_t c = 0;
    double m = 0, ss = 0;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            m += v[i], c++;
    m = c ? m / (double)c : NAN;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            ss += (v[i] - m) * (v[i] - m);
    *mean = m;
    *sd = c >= 2 ? sqrt(ss / (double)(c - 1)) : NAN;
    *ir = c >= 2 && *sd > 0 ? m / *sd : NAN;
    if (count)
        *count = (double)c;
}

/* ---- one model ------------------------------------------------------------ */

typedef struct mctx {
    const vfr_panel *p;
    const float *score;    /* [M, N] */
    int32_t M;
    const vfr_metrics_options *o;
    double *out;           /* [M, VFR_METRIC_COUNT] */
    const float *y;        /* signal target: fwd, else label */
    const double *yrank;   /* [N] average rank of y among finite y of its date */
    const int64_t *ny;     /* [T] finite y per date */
    int64_t maxrows;       /* most rows on one date */
} mctx;

static void classification(const mctx *c, const float *sc, uint64_t *keys, uint64_t *tmp,
                           double *row)
{
    const vfr_panel *p = c->p;
    const double eps = DBL_EPSILON; /* scikit-learn clips float64 probabilities so */
    int64_t n = 0, tp = 0, fp = 0, tn = 0, fn = 0;
    double ll = 0;
    for (int64_t i = 0; i < p->N; i++) {
        float s = sc[i], l = p->label[i];
        if (!isfinite(s) || !isfinite(l))
            continue;
        int pos = l == 1.0f, pred = (double)s > c->o->threshold;
        if (pos)
            pred ? tp++ : fn++;
        else
            pred ? fp++ : tn++;
        double q = s < eps ? eps : s > 1 - eps ? 1 - eps : (double)s;
        ll -= pos ? log(q) : log(1 - q);
        keys[n++] = (uint64_t)vfri_metrics_float_key(s) << 32 | (uint64_t)pos;
    }
    row[VFR_METRIC_N] = (double)n;
    row[VFR_METRIC_TP] = (double)tp, row[VFR_METRIC_FP] = (double)fp;
    row[VFR_METRIC_TN] = (double)tn, row[VFR_METRIC_FN] = (double)fn;
    if (n == 0)
        return;
    row[VFR_METRIC_ACCURACY] = (double)(tp + tn) / (double)n;
    row[VFR_METRIC_PRECISION] = tp + fp ? (double)tp / (double)(tp + fp) : 0.0;
    row[VFR_METRIC_RECALL] = tp + fn ? (double)tp / (double)(tp + fn) : 0.0;
    row[VFR_METRIC_F1] = tp + fp + fn ? 2.0 * (double)tp / (double)(2 * tp + fp + fn) : 0.0;
    row[VFR_METRIC_LOG_LOSS] = ll / (double)n;
    int64_t P = tp + fn, Nn = fp + tn;
    if (P == 0 || Nn == 0)
        return;
    /* Mann-Whitney with ties counted one half, as the trapezoidal ROC area of
     * scikit-learn: twice the count, so that it stays an exact integer. */
    vfri_metrics_sort_keys(keys, tmp, n);
    uint64_t twice = 0;
    int64_t below = 0;
    for (int64_t i = 0; i < n;) {
        int64_t j = i, pg = 0;
        while (j < n && (keys[j] >> 32) == (keys[i] >> 32))
            pg += (int64_t)(keys[j++] & 1);
        int64_t ng = (j - i) - pg;
        twice += (uint64_t)pg * (uint64_t)(2 * below + ng);
        below += ng;
        i = j;
    }
    row[VFR_METRIC_ROC_AUC] = (double)twice / (2.0 * (double)P * (double)Nn);
}

static void regression(const mctx *c, const float *sc, double *row)
{
    const vfr_panel *p = c->p;
    int64_t n = 0, nape = 0;
    double sy = 0;
    for (int64_t i = 0; i < p->N; i++)
        if (isfinite(sc[i]) && isfinite(p->label[i]))
            sy += p->label[i], n++;
    row[VFR_METRIC_N] = (double)n;
    if (n == 0)
        return;
    double my = sy / (double)n, sse = 0, sae = 0, ape = 0, sst = 0;
    for (int64_t i = 0; i < p->N; i++) {
        if (!isfinite(sc[i]) || !isfinite(p->label[i]))
            continue;
        double y = p->label[i], e = (double)sc[i] - y;
        sse += e * e, sae += fabs(e), sst += (y - my) * (y - my);
        if (y != 0)
            ape += fabs(e) / fabs(y), nape++;
    }
    row[VFR_METRIC_MSE] = sse / (double)n;
    row[VFR_METRIC_RMSE] = sqrt(sse / (double)n);
    row[VFR_METRIC_MAE] = sae / (double)n;
    /* scikit-learn: undefined under two rows; a constant target (within
     * vfri_metrics_is_constant) scores 1 when predicted exactly, else 0 */
    row[VFR_METRIC_R2] = n < 2                                           ? NAN
                         : !vfri_metrics_is_constant(sst, (double)n, my) ? 1.0 - sse / sst
                         : sse == 0                                     ? 1.0
                                                                        : 0.0;
    row[VFR_METRIC_MAPE] = nape ? ape / (double)nape : NAN;
}

/* Per-date Pearson and Spearman of score against y; scratch sized by maxrows. */
typedef struct sig_scratch {
    double *x, *yv, *rx, *ry, *ic, *ric;
    uint64_t *keys, *tmp;
} sig_scratch;

static void signal(const mctx *c, const float *sc, sig_scratch *w, double *row)
{
    const vfr_panel *p = c->p;
    for (int32_t t = 0; t < p->T; t++) {
        int64_t r0 = p->date_offset[t], r1 = p->date_offset[t + 1], n = 0;
        for (int64_t i = r0; i < r1; i++)
            if (isfinite(sc[i]) && isfinite(c->y[i])) {
                w->x[n] = sc[i], w->yv[n] = c->y[i];
                w->ry[n] = c->yrank[i];
                w->keys[n] = (uint64_t)vfri_metrics_float_key(sc[i]) << 32 | (uint64_t)n;
                n++;
            }
        w->ic[t] = pearson(w->x, w->yv, n);
        if (!isfinite(w->ic[t])) {
            w->ric[t] = NAN;
            continue;
        }
        average_ranks(w->keys, w->tmp, n, w->rx);
        /* The ranks of y over the date are shared by all models; only a model
         * that leaves some of them out needs its own. */
        if (n != c->ny[t]) {
            for (int64_t q = 0; q < n; q++)
                w->keys[q] = (uint64_t)vfri_metrics_float_key((float)w->yv[q]) << 32 | (uint64_t)q;
            average_ranks(w->keys, w->tmp, n, w->ry);
        }
        w->ric[t] = pearson(w->rx, w->ry, n);
    }
    mean_std_ir(w->ic, p->T, &row[VFR_METRIC_IC], &row[VFR_METRIC_IC_STD], &row[VFR_METRIC_ICIR],
                &row[VFR_METRIC_IC_DATES]);
    mean_std_ir(w->ric, p->T, &row[VFR_METRIC_RANK_IC], &row[VFR_METRIC_RANK_IC_STD],
                &row[VFR_METRIC_RANK_ICIR], NULL);
}

static vfr_status metrics_worker(void *arg, int tid, int nthreads)
{
    const mctx *c = arg;
    const vfr_panel *p = c->p;
    size_t nr = (size_t)(p->N > 0 ? p->N : 1), nd = (size_t)(c->maxrows > 0 ? c->maxrows : 1);
    size_t nt = (size_t)(p->T > 0 ? p->T : 1);
    int cls = c->o->task == VFR_TASK_CLASSIFICATION;
    uint64_t *keys = cls ? malloc(sizeof *keys * nr) : NULL, *tmp = cls ? malloc(sizeof *tmp * nr) : NULL;
    sig_scratch w = {malloc(sizeof(double) * nd), malloc(sizeof(double) * nd),
                     malloc(sizeof(double) * nd), malloc(sizeof(double) * nd),
                     malloc(sizeof(double) * nt), malloc(sizeof(double) * nt),
                     malloc(sizeof(uint64_t) * nd), malloc(sizeof(uint64_t) * nd)};
    vfr_status st = VFR_OK;
    if ((cls && (!keys || !tmp)) || !w.x || !w.yv || !w.rx || !w.ry || !w.ic || !w.ric ||
        !w.keys || !w.tmp) {
        st = VFR_ERR_NOMEM;
        goto done;
    }
    for (int32_t m = tid; m < c->M; m += nthreads) {
        const float *sc = c->score + (size_t)m * (size_t)p->N;
        double *row = c->out + (size_t)m * VFR_METRIC_COUNT;
        for (int k = 0; k < VFR_METRIC_COUNT; k++)
            row[k] = NAN;
        if (cls)
            classification(c, sc, keys, tmp, row);
        else
            regression(c, sc, row);
        signal(c, sc, &w, row);
    }
done:
    free(keys), free(tmp);
    free(w.x), free(w.yv), free(w.rx), free(w.ry), free(w.ic), free(w.ric), free(w.keys),
        free(w.tmp);
    return st;
}

vfr_status vfr_metrics_batch_cpu(const vfr_panel *p, const float *score, int32_t M,
                                 const vfr_metrics_options *o, double *out)
{
    vfr_status st = vfri_metrics_check_args(p, score, M, o, out);
    if (st != VFR_OK)
        return st;
    size_t nr = (size_t)(p->N > 0 ? p->N : 1);
    double *yrank = malloc(sizeof *yrank * nr);
    int64_t *ny = calloc((size_t)(p->T > 0 ? p->T : 1), sizeof *ny);
    uint64_t *keys = NULL, *tmp = NULL;
    int64_t maxrows = 0;
    for (int32_t t = 0; t < p->T; t++)
        if (p->date_offset[t + 1] - p->date_offset[t] > maxrows)
            maxrows = p->date_offset[t + 1] - p->date_offset[t];
    keys = malloc(sizeof *keys * (size_t)(maxrows > 0 ? maxrows : 1));
    tmp = malloc(sizeof *tmp * (size_t)(maxrows > 0 ? maxrows : 1));
    if (!yrank || !ny || !keys || !tmp) {
        st = vfr_fail(VFR_ERR_NOMEM, "metrics: out of memory");
        goto done;
    }
    const float *y = p->fwd ? p->fwd : p->label;
    /* Ranks of the target once per date, shared by every model (rank IC). */
    for (int32_t t = 0; t < p->T; t++) {
        int64_t r0 = p->date_offset[t], n = 0;
        for (int64_t i = r0; i < p->date_offset[t + 1]; i++) {
            yrank[i] = NAN;
            if (isfinite(y[i]))
                keys[n++] = (uint64_t)vfri_metrics_float_key(y[i]) << 32 | (uint64_t)(i - r0);
        }
        ny[t] = n;
        average_ranks(keys, tmp, n, yrank + r0);
        /* average_ranks wrote by position in the date; rows with NaN y keep NaN
         * because their positions were not among the keys */
    }
    mctx c = {p, score, M, o, out, y, yrank, ny, maxrows};
    st = vfri_metrics_parallel(vfri_metrics_threads(o->threads, M), metrics_worker, &c);
    if (st == VFR_ERR_NOMEM)
        st = vfr_fail(VFR_ERR_NOMEM, "metrics: out of memory (%d models x %lld rows)", M,
                      (long long)p->N);
done:
    free(yrank), free(ny), free(keys), free(tmp);
    return st;
}

int64_t vfri_metrics_cuda_chunk(int64_t fit)
{
    const char *s = getenv("VFR_CUDA_CHUNK_MODELS");
    long long v = s ? atoll(s) : 0;
    return v > 0 && v < fit ? (int64_t)v : fit;
}

#ifndef VFR_HAVE_CUDA
vfr_status vfr_metrics_batch_cuda(const vfr_panel *p, const float *score, int32_t M,
                                  const vfr_metrics_options *o, double *out)
{
    (void)p, (void)score, (void)M, (void)o, (void)out;
    return vfr_fail(VFR_ERR_NO_DEVICE, "metrics: vfr was built without CUDA");
}

vfr_status vfr_metrics_batch_staged(const vfr_gpu_panel *g, vfr_gpu_work *w, const float *score,
                                    int32_t M, const vfr_metrics_options *o, double *out)
{
    (void)g, (void)w, (void)score, (void)M, (void)o, (void)out;
    return vfr_fail(VFR_ERR_NO_DEVICE, "metrics: vfr was built without CUDA");
}
#endif

vfr_status vfr_metrics_batch(vfr_device_kind dev, const vfr_panel *p, const float *score,
                             int32_t M, const vfr_metrics_options *o, double *out)
{
    if (dev == VFR_DEVICE_CUDA)
        return vfr_metrics_batch_cuda(p, score, M, o, out);
    return vfr_metrics_batch_cpu(p, score, M, o, out);
}
