/* prepare.c: the data-quality gate and the labelled panel (prepare.h).
 * Scores every row of the job's date range, drops what fails, and keeps the
 * survivors: an in-core panel reads the features once and compacts them in
 * place (the only copy); a streamed panel reads them by chunks (twice: column
 * statistics, then the row checks) and keeps only each row's dataset row.
 * Which one is decided before any feature is read (memory_plan). */
#include "vfr/prepare.h"
#include "vfr/xsection.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "vfr/colstats.h"
#include "vfr/pack.h"
#include "vfr/split.h"
#include "vfr/xgboost.h"

enum reason { R_NO_LABEL, R_LOW_COMPLETENESS, R_NON_FINITE, R_LOW_QUALITY, R_FLAT, R_SYMBOL, R_COUNT };
static const char *const reason_names[R_COUNT] = {
    "no_label", "low_completeness", "non_finite_feature", "low_quality", "flat_move",
    "symbol_too_few_rows"};

/* Validity: a finite value further than this many column standard deviations
 * from the column mean counts as invalid (a bad tick, a unit error). */
#define VALIDITY_SIGMAS 10.0

/* A streamed panel's features: the dataset (borrowed) and the lock that
 * serialises reads (HDF5 serial is not thread-safe). */
struct vfr_prepared_source {
    vfr_dataset *ds;
    pthread_mutex_t lock;
};

void vfr_prepared_free(vfr_prepared *p)
{
    if (!p)
        return;
    if (p->src) {
        pthread_mutex_destroy(&p->src->lock);
        free(p->src);
    }
    if (p->cache_dir) { /* XGBoost's external-memory files; the matrices are gone */
        vfri_remove_tree(p->cache_dir);
        free(p->cache_dir);
    }
    free(p->src_row);
    free(p->X), free(p->y), free(p->fwd), free(p->fwd1), free(p->close);
    free(p->date), free(p->symbol), free(p->dates), free(p->date_row), free(p->xdate_row);
    free(p->prev_row);
    free(p->processors_json);
    for (int32_t f = 0; f < p->F && p->feature_names; f++)
        free(p->feature_names[f]);
    for (int32_t s = 0; s < p->S && p->symbols; s++)
        free(p->symbols[s]);
    free(p->feature_names), free(p->symbols);
    free(p);
}

/* Reads prepared rows [r0, r1) (ascending dataset rows) from the dataset:
 * one read when they are contiguous in the file, else windows of at most
 * `cap` file rows through `scratch`, keeping the rows asked for. */
static vfr_status gather_rows(const vfr_prepared *p, int64_t r0, int64_t r1, float *out, float *scratch, int64_t cap)
{
    vfr_dataset *ds = p->src->ds;
    const int64_t *src = p->src_row;
    const size_t F = (size_t)p->F;
    int64_t i = r0;
    while (i < r1) {
        int64_t j = i + 1;
        while (j < r1 && src[j] == src[j - 1] + 1)
            j++;
        if (j == r1 || j - i >= cap / 4) { /* a long contiguous run: straight into out */
            vfr_status st = vfr_dataset_read_features(ds, src[i], src[j - 1] + 1, out + (size_t)(i - r0) * F);
            if (st != VFR_OK)
                return st;
            i = j;
            continue;
        }
        int64_t w0 = src[i], w1 = w0 + cap;
        if (w1 > src[r1 - 1] + 1)
            w1 = src[r1 - 1] + 1;
        vfr_status st = vfr_dataset_read_features(ds, w0, w1, scratch);
        if (st != VFR_OK)
            return st;
        for (; i < r1 && src[i] < w1; i++) {
            if (src[i] < w0)
                return vfr_fail(VFR_ERR_INTERNAL, "prepare: dataset rows out of order at prepared row %lld",
                                (long long)i);
            memcpy(out + (size_t)(i - r0) * F, scratch + (size_t)(src[i] - w0) * F, sizeof *out * F);
        }
    }
    return VFR_OK;
}

vfr_status vfr_prepared_read_features(const vfr_prepared *p, int64_t r0, int64_t r1, float *out)
{
    if (r0 < 0 || r1 > p->n_all || r0 > r1)
        return vfr_fail(VFR_ERR_INVALID_ARG, "prepare: rows [%lld, %lld) outside the panel's %lld", (long long)r0,
                        (long long)r1, (long long)p->n_all);
    if (p->X) {
        memcpy(out, p->X + r0 * p->F, sizeof *out * (size_t)(r1 - r0) * (size_t)p->F);
        return VFR_OK;
    }
    int64_t cap = vfr_dataview_chunk_rows(p->F);
    if (r1 > r0 && cap > p->src_row[r1 - 1] - p->src_row[r0] + 1) /* never more than the file rows spanned */
        cap = p->src_row[r1 - 1] - p->src_row[r0] + 1;
    if (cap < 1)
        cap = 1;
    float *scratch = malloc(sizeof *scratch * (size_t)cap * (size_t)(p->F ? p->F : 1));
    if (!scratch)
        return vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory for a chunk of %lld rows", (long long)cap);
    vfr_status st = VFR_OK;
    pthread_mutex_lock(&p->src->lock);
    /* the trainable rows and the tradable-not-trained ones are each ascending */
    if (r0 < p->n && r1 > p->n) {
        st = gather_rows(p, r0, p->n, out, scratch, cap);
        if (st == VFR_OK)
            st = gather_rows(p, p->n, r1, out + (size_t)(p->n - r0) * (size_t)p->F, scratch, cap);
    } else {
        st = gather_rows(p, r0, r1, out, scratch, cap);
    }
    pthread_mutex_unlock(&p->src->lock);
    free(scratch);
    return st;
}

static vfr_status panel_reader(void *ctx, int64_t r0, int64_t r1, float *out)
{
    return vfr_prepared_read_features((const vfr_prepared *)ctx, r0, r1, out);
}

/* Makes the external-memory cache folder under root (NULL: $TMPDIR or /tmp),
 * replacing an empty one made before. */
static vfr_status make_cache_dir(vfr_prepared *p, const char *root)
{
    const char *tmpdir = getenv("TMPDIR");
    if (!root)
        root = tmpdir && *tmpdir ? tmpdir : "/tmp";
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/.xgbcache-%ld", root, (long)getpid());
    if (vfri_mkdirs(dir) != 0)
        return vfr_fail(VFR_ERR_IO, "dataConfig.memory: cannot make the external-memory cache folder %s: %s", dir,
                        strerror(errno));
    if (p->cache_dir) {
        rmdir(p->cache_dir);
        free(p->cache_dir);
    }
    if (!(p->cache_dir = vfri_strdup(dir)))
        return vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
    return VFR_OK;
}

vfr_status vfr_prepared_set_cache_root(vfr_prepared *p, const char *run_dir)
{
    return p->external ? make_cache_dir(p, run_dir) : VFR_OK;
}

vfr_status vfr_prepared_view(const vfr_prepared *p, int64_t r0, int64_t r1, int labels, vfr_dataview **out)
{
    *out = NULL;
    if (p->X) {
        vfr_status st = vfr_dataview_create(p->X + r0 * p->F, labels ? p->y + r0 : NULL, r1 - r0, p->F, out);
        if (st == VFR_OK)
            vfr_dataview_set_history(*out, p->X, r0, p->prev_row);
        return st;
    }
    vfr_status st = vfr_dataview_create_streamed(panel_reader, (void *)p, r0, labels ? p->y + r0 : NULL, r1 - r0,
                                                 p->F, out);
    if (st == VFR_OK && p->external)
        vfr_dataview_set_external(*out, p->cache_dir);
    return st;
}

void vfr_prepared_rows(const vfr_prepared *p, int32_t lo, int32_t hi, int64_t *r0, int64_t *r1)
{
    *r0 = p->date_row[lo];
    *r1 = p->date_row[hi];
}

void vfr_trading_view_free(vfr_trading_view *v)
{
    if (!v)
        return;
    free(v->row), free(v->offset), free(v->symbol), free(v->date);
    free(v->label), free(v->fwd), free(v->fwd1);
    memset(v, 0, sizeof *v);
}

vfr_status vfr_prepared_trading_view(const vfr_prepared *p, int32_t lo, int32_t hi, vfr_trading_view *v)
{
    return vfr_prepared_trading_view_ranges(p, &lo, &hi, 1, v);
}

vfr_status vfr_prepared_trading_view_ranges(const vfr_prepared *p, const int32_t *lo_, const int32_t *hi_, int32_t nr,
                                            vfr_trading_view *v)
{
    memset(v, 0, sizeof *v);
    int64_t N = 0;
    int32_t TT = 0;
    for (int32_t q = 0; q < nr; q++) {
        N += (p->date_row[hi_[q]] - p->date_row[lo_[q]]) + (p->xdate_row[hi_[q]] - p->xdate_row[lo_[q]]);
        TT += hi_[q] - lo_[q];
    }
    size_t nn = (size_t)(N ? N : 1);
    v->row = malloc(sizeof *v->row * nn);
    v->offset = malloc(sizeof *v->offset * (size_t)(TT + 1));
    v->symbol = malloc(sizeof *v->symbol * nn);
    v->date = malloc(sizeof *v->date * nn);
    v->label = malloc(sizeof *v->label * nn);
    v->fwd = malloc(sizeof *v->fwd * nn);
    v->fwd1 = malloc(sizeof *v->fwd1 * nn);
    if (!v->row || !v->offset || !v->symbol || !v->date || !v->label || !v->fwd || !v->fwd1) {
        vfr_trading_view_free(v);
        return vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory for the trading view");
    }
    int64_t o = 0;
    int32_t u = 0; /* the view's date index */
    for (int32_t q = 0; q < nr; q++)
    for (int32_t t = lo_[q]; t < hi_[q]; t++, u++) {
        v->offset[u] = o;
        /* both runs are sorted by symbol: merge them */
        int64_t i = p->date_row[t], ie = p->date_row[t + 1];
        int64_t j = p->xdate_row[t], je = p->xdate_row[t + 1];
        while (i < ie || j < je) {
            int64_t r = j >= je || (i < ie && p->symbol[i] < p->symbol[j]) ? i++ : j++;
            v->row[o] = r;
            v->symbol[o] = p->symbol[r];
            v->date[o] = p->date[r];
            v->label[o] = p->y[r];
            v->fwd[o] = p->fwd[r];
            v->fwd1[o] = p->fwd1[r];
            o++;
        }
    }
    v->offset[TT] = o;
    v->panel = (vfr_panel){N, TT, p->S, v->offset, v->symbol, v->label, v->fwd, v->fwd1};
    return VFR_OK;
}

vfr_status vfr_prepare_open_dataset(const vfr_job *job, vfr_dataset **out)
{
    const char *path = job->data.dataset;
    size_t n = strlen(path);
    if (n < 4 || strcmp(path + n - 4, ".csv") != 0)
        return vfr_dataset_open(path, out);
    const char *tmpdir = getenv("TMPDIR");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/vfr-%ld-%s.h5", tmpdir && *tmpdir ? tmpdir : "/tmp",
             (long)getpid(), job->job_id);
    vfr_pack_options opt = {NULL, 0, 1, NULL};
    vfr_status st = vfr_pack_prices_csv(path, tmp, &opt);
    if (st != VFR_OK) {
        vfr_error_prefix("dataConfig.dataset: ");
        return st;
    }
    st = vfr_dataset_open(tmp, out);
    unlink(tmp); /* HDF5 keeps the file open; nothing is left behind */
    return st;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static cJSON *quantiles(float *q, int64_t n)
{
    cJSON *o = cJSON_CreateObject();
    if (n == 0)
        return o;
    qsort(q, (size_t)n, sizeof *q, cmp_float);
    static const double ps[] = {0, 0.05, 0.25, 0.5, 0.75, 0.95, 1};
    static const char *names[] = {"min", "p05", "p25", "median", "p75", "p95", "max"};
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += q[i];
    for (int k = 0; k < 7; k++)
        cJSON_AddNumberToObject(o, names[k], q[(int64_t)(ps[k] * (double)(n - 1) + 0.5)]);
    cJSON_AddNumberToObject(o, "mean", sum / (double)n);
    return o;
}

/* Memory the process may still use, in bytes: MemAvailable, capped by a
 * cgroup v2 limit; VFR_MEMORY_AVAILABLE (bytes) overrides both (tests). */
static double memory_available(void)
{
    const char *env = getenv("VFR_MEMORY_AVAILABLE");
    if (env && *env)
        return strtod(env, NULL);
    double avail = INFINITY;
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "MemAvailable:", 13) == 0)
            avail = strtod(line + 13, NULL) * 1024.0;
    if (f)
        fclose(f);
    double lim = NAN, cur = 0;
    if ((f = fopen("/sys/fs/cgroup/memory.max", "r"))) {
        if (fgets(line, sizeof line, f) && strncmp(line, "max", 3) != 0)
            lim = strtod(line, NULL);
        fclose(f);
    }
    if (isfinite(lim) && (f = fopen("/sys/fs/cgroup/memory.current", "r"))) {
        if (fgets(line, sizeof line, f))
            cur = strtod(line, NULL);
        fclose(f);
        if (lim - cur < avail)
            avail = lim - cur;
    }
    return avail;
}

static const char *xgb_version(const vfr_xgboost_info *xi)
{
    static _Thread_local char v[600];
    snprintf(v, sizeof v, "%s (%d.%d.%d)", xi->path, xi->major, xi->minor, xi->patch);
    return v;
}

/* Bytes per value of an XGBoost quantile matrix on the CPU (bin index and
 * column index, max_bin <= 256), as measured on 1M x 100 with 3.2.0. */
#define QUANT_BYTES 2.5
/* Bytes per row of the panel's own arrays and the gate's working arrays. */
#define ROW_BYTES 96.0

/* dataConfig.memory: whether the panel holds the features (in core) or reads
 * them from the file (streamed: XGBoost and linear, no processors), and whether
 * XGBoost's matrices go to external memory; from the estimated sizes of the
 * n rows in range against the memory available, logged. A plan that does not
 * fit is refused here, before any feature is read. */
static vfr_status memory_plan(const vfr_dataset *ds, const vfr_job *job, int64_t n, const vfr_reporter *rep,
                              int *stream, int *external)
{
    const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
    const double GB = 1e9, rows = (double)n, F = m->F;
    const int xgb = strcmp(job->model_type, "xgboost") == 0, procs = job->data.processors_json != NULL;
    const int streams = xgb || strcmp(job->model_type, "linear") == 0; /* model.c: ops->streams */
    vfr_xgboost_info xi = {0};
    const int extmem = xgb && vfr_xgboost_probe(&xi) == VFR_OK && xi.has_extmem;
    vfr_error_clear();
    const double chunk = (double)vfr_dataview_chunk_rows(m->F) * F * 4.0 * 3.0;
    const double floats = rows * F * 4.0, quant = rows * F * QUANT_BYTES, index = rows * ROW_BYTES;
    /* in core: the panel, and the model's own data (XGBoost's quantile
     * matrix; the other types copy about a training set of floats) */
    const double need_core = index + floats + (xgb ? quant : floats), need_stream = index + (xgb ? quant : 0) + chunk;
    const double need_ext = index + chunk * 2.0 + rows * 16.0, avail = memory_available();
    static const char *const names[] = {"auto", "in_core", "external"};
    const char *mode = names[job->data.memory];
    *stream = *external = 0;
    if (job->data.memory == VFR_MEMORY_EXTERNAL || (job->data.memory == VFR_MEMORY_AUTO && streams && !procs)) {
        if (job->data.memory == VFR_MEMORY_EXTERNAL && (!xgb || procs))
            return vfr_fail(VFR_ERR_INVALID_ARG,
                            "%s: dataConfig.memory: external needs modelType xgboost without dataConfig.processors "
                            "(this job: %s%s)",
                            job->path, job->model_type, procs ? ", with processors" : "");
        *stream = 1;
        *external = job->data.memory == VFR_MEMORY_EXTERNAL || (xgb && need_stream > avail);
        if (*external && !extmem && job->data.memory == VFR_MEMORY_EXTERNAL)
            return vfr_fail(VFR_ERR_INVALID_ARG,
                            "%s: dataConfig.memory: external needs XGBoost 3.0 or newer, and the library loaded is "
                            "%s (set VFR_XGBOOST_LIB to a newer libxgboost.so, e.g. the xgboost Python wheel's)",
                            job->path, xgb_version(&xi));
        if (*external && !extmem)
            return vfr_fail(VFR_ERR_INVALID_ARG,
                            "%s: dataConfig.memory: %s: %lld rows x %d features need about %.2f GB in memory "
                            "(%.2f GB quantized) and %.2f GB are available; external memory needs XGBoost 3.0 or "
                            "newer (set VFR_XGBOOST_LIB to one, e.g. the xgboost Python wheel's libxgboost.so)",
                            job->path, mode, (long long)n, m->F, need_stream / GB, quant / GB, avail / GB);
        if (*external && need_ext > avail)
            return vfr_fail(VFR_ERR_INVALID_ARG,
                            "%s: dataConfig.memory: %s: %lld rows x %d features need about %.2f GB even with "
                            "external memory, and %.2f GB are available",
                            job->path, mode, (long long)n, m->F, need_ext / GB, avail / GB);
        vfr_report_log(rep, VFR_LOG_INFO,
                       "memory: %s: %lld rows x %d features in range, %.2f GB as float32, about %.2f GB quantized, "
                       "%.2f GB available: features streamed from the file by chunks, %s",
                       mode, (long long)n, m->F, floats / GB, quant / GB, avail / GB,
                       !xgb        ? "the linear model reads them by chunks at each Newton step"
                       : *external ? "XGBoost's matrices in external memory (cache files in the run folder)"
                                   : "XGBoost's matrices in memory");
        return VFR_OK;
    }
    if (need_core > avail)
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "%s: dataConfig.memory: %s: %lld rows x %d features need about %.2f GB in memory (%.2f GB "
                        "of float32 features) and %.2f GB are available%s",
                        job->path, mode, (long long)n, m->F, need_core / GB, floats / GB, avail / GB,
                        streams && !procs ? "; dataConfig.memory auto streams the features from the file"
                        : "; only XGBoost and linear jobs without dataConfig.processors can stream their features");
    vfr_report_log(rep, VFR_LOG_INFO,
                   "memory: %s: %lld rows x %d features in range, %.2f GB as float32, %.2f GB available: the panel "
                   "holds the features in memory%s",
                   mode, (long long)n, m->F, floats / GB, avail / GB,
                   job->data.memory == VFR_MEMORY_IN_CORE ? "" : streams ? " (dataConfig.processors need them)"
                                                                         : " (only XGBoost and linear stream)");
    return VFR_OK;
}

/* Finite and valid (within VALIDITY_SIGMAS of the column mean) features of
 * each of n rows x [n, F]: OUT nfin [n], nval [n]. */
static void row_counts(const float *x, int64_t n, int32_t F, const double *mean, const double *sd, int32_t *nfin,
                       int32_t *nval)
{
    for (int64_t i = 0; i < n; i++) {
        const float *r = x + i * F;
        int32_t finite = 0, valid = 0;
        for (int32_t f = 0; f < F; f++)
            if (isfinite(r[f])) {
                finite++;
                valid += !(sd[f] > 0) || fabs(r[f] - mean[f]) <= VALIDITY_SIGMAS * sd[f];
            }
        nfin[i] = finite;
        nval[i] = valid;
    }
}

/* The streamed panel's two passes over the file's rows [r0, r0 + n): column
 * statistics (chunk by chunk, merged), then each row's counts. */
static vfr_status stream_counts(vfr_dataset *ds, int64_t r0, int64_t n, int32_t F, vfr_colstats *cs, int32_t *nfin,
                                int32_t *nval)
{
    const int64_t chunk = vfr_dataview_chunk_rows(F);
    size_t nf = (size_t)(F ? F : 1);
    float *buf = malloc(sizeof *buf * (size_t)chunk * nf);
    int64_t *c1 = malloc(sizeof *c1 * nf);
    double *m1 = malloc(sizeof *m1 * nf), *s1 = malloc(sizeof *s1 * nf);
    vfr_status st = VFR_OK;
    if (!buf || !c1 || !m1 || !s1) {
        st = vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
        goto done;
    }
    for (int32_t f = 0; f < F; f++)
        cs->count[f] = 0, cs->mean[f] = NAN, cs->std[f] = NAN;
    vfr_colstats part = {c1, m1, s1};
    for (int pass = 0; pass < 2 && st == VFR_OK; pass++)
        for (int64_t a = 0; a < n && st == VFR_OK; a += chunk) {
            int64_t k = n - a < chunk ? n - a : chunk;
            if ((st = vfr_dataset_read_features(ds, r0 + a, r0 + a + k, buf)) != VFR_OK)
                break;
            if (pass == 0) {
                vfr_colstats_cpu(buf, k, F, &part);
                vfr_colstats_merge(cs, &part, F);
            } else {
                row_counts(buf, k, F, cs->mean, cs->std, nfin + a, nval + a);
            }
        }
done:
    free(buf), free(c1), free(m1), free(s1);
    return st;
}

/* The gate's working state, shared by vfr_prepare's steps: the file rows in
 * range [r0, r0 + n), what is read of them, and what the gate decides. */
typedef struct gate {
    vfr_dataset *ds;
    const vfr_job *job;
    const vfr_dataset_meta *m;
    vfr_prepared *p;             /* the panel being built                        */
    int64_t r0, n;               /* file rows in range                           */
    int32_t hk, h1;              /* horizon index of the label and of 1 day (-1) */
    int stream, external;        /* memory_plan's decision                       */
    unsigned char *sel;          /* [S] the job's symbols                        */
    unsigned char *keep;         /* [n] passed the row checks                    */
    unsigned char *tradable;     /* [n] kept for the backtests only              */
    int32_t *nfin, *nval;        /* [n] finite and valid features of each row    */
    float *fwd_all;              /* [n, H] forward returns                       */
    float *qual[VFR_QUALITY_COUNT]; /* [n] stored quality components, or NULL   */
    float *qv;                   /* [rows_in] quality scores, for the report     */
    double *mean, *sd;           /* [F] column statistics                        */
    int64_t *count;              /* [F]                                          */
    int64_t *sym_rows;           /* [S] rows kept per symbol (0: symbol dropped) */
    int64_t rows_in, nq, nx;     /* selected rows, scores, tradable extras       */
    int64_t dropped[R_COUNT];
    int32_t sym_in, sym_kept;
} gate;

static void gate_free(gate *g)
{
    free(g->sel), free(g->keep), free(g->tradable), free(g->nfin), free(g->nval), free(g->fwd_all), free(g->qv);
    free(g->mean), free(g->sd), free(g->count), free(g->sym_rows);
    for (int q = 0; q < VFR_QUALITY_COUNT; q++)
        free(g->qual[q]);
}

/* The label's horizon and the job's symbols (dataConfig.symbols). */
static vfr_status gate_select(gate *g)
{
    const vfr_dataset_meta *m = g->m;
    const vfr_job *job = g->job;
    g->hk = vfr_dataset_horizon_index(g->ds, job->horizon);
    g->h1 = vfr_dataset_horizon_index(g->ds, 1);
    if (g->hk < 0) {
        char hs[256] = "";
        size_t o = 0;
        for (int32_t k = 0; k < m->H && o < sizeof hs - 16; k++)
            o += (size_t)snprintf(hs + o, sizeof hs - o, "%s%d", k ? "," : "", m->horizons[k]);
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: predictionHorizon: %d is not in dataset %s (horizons: %s)",
                        job->path, job->horizon, vfr_dataset_path(g->ds), m->H ? hs : "none");
    }
    if (!(g->sel = calloc(m->S ? (size_t)m->S : 1, 1)))
        return vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
    for (int32_t s = 0; s < m->S; s++)
        g->sel[s] = job->data.symbols == NULL;
    for (int32_t i = 0; i < job->data.n_symbols; i++) {
        int32_t s = vfr_dataset_symbol_index(g->ds, job->data.symbols[i]);
        if (s < 0)
            return vfr_fail(VFR_ERR_INVALID_ARG, "%s: dataConfig.symbols[%d]: '%s' is not in dataset %s", job->path,
                            i, job->data.symbols[i], vfr_dataset_path(g->ds));
        g->sel[s] = 1;
    }
    return VFR_OK;
}

/* The panel and the gate's arrays, sized for every row in range. */
static vfr_status gate_alloc(gate *g)
{
    const vfr_dataset_meta *m = g->m;
    const int32_t F = m->F, S = m->S;
    vfr_prepared *p = g->p = calloc(1, sizeof *p);
    if (!p)
        return vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
    p->F = F;
    p->S = S;
    p->horizon = g->job->horizon;
    size_t nn = g->n > 0 ? (size_t)g->n : 1, nf = F > 0 ? (size_t)F : 1;
    p->X = g->stream ? NULL : malloc(sizeof *p->X * nn * nf);
    p->external = g->external;
    p->src_row = malloc(sizeof *p->src_row * nn);
    p->y = malloc(sizeof *p->y * nn);
    p->fwd = malloc(sizeof *p->fwd * nn);
    p->fwd1 = malloc(sizeof *p->fwd1 * nn);
    p->date = malloc(sizeof *p->date * nn);
    p->symbol = malloc(sizeof *p->symbol * nn);
    p->close = m->has_close ? malloc(sizeof *p->close * nn) : NULL;
    p->feature_names = calloc(nf, sizeof *p->feature_names);
    p->symbols = calloc(S ? (size_t)S : 1, sizeof *p->symbols);
    g->nfin = malloc(sizeof *g->nfin * nn);
    g->nval = malloc(sizeof *g->nval * nn);
    g->fwd_all = malloc(sizeof *g->fwd_all * nn * (size_t)(m->H ? m->H : 1));
    g->keep = malloc(nn);
    g->tradable = calloc(nn, 1);
    g->qv = malloc(sizeof *g->qv * nn);
    g->count = malloc(sizeof *g->count * nf);
    g->mean = malloc(sizeof *g->mean * nf);
    g->sd = malloc(sizeof *g->sd * nf);
    g->sym_rows = calloc(S ? (size_t)S : 1, sizeof *g->sym_rows);
    if ((!g->stream && !p->X) || !p->src_row || !p->y || !p->fwd || !p->fwd1 || !p->date || !p->symbol ||
        (m->has_close && !p->close) || !p->feature_names || !p->symbols || !g->nfin || !g->nval || !g->fwd_all ||
        !g->keep || !g->tradable || !g->qv || !g->count || !g->mean || !g->sd || !g->sym_rows)
        return vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory for %lld rows x %d features", (long long)g->n, F);
    for (int32_t f = 0; f < F; f++)
        if (!(p->feature_names[f] = dup_str(m->feature_names[f])))
            return vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
    for (int32_t s = 0; s < S; s++)
        if (!(p->symbols[s] = dup_str(m->symbols[s])))
            return vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
    return VFR_OK;
}

/* Reads the rows in range (features only in core), then each row's finite
 * and valid feature counts against the column statistics. */
static vfr_status gate_read(gate *g, vfr_device_kind dev, const vfr_reporter *rep)
{
    vfr_status st = VFR_OK;
    vfr_prepared *p = g->p;
    const int64_t r0 = g->r0, r1 = g->r0 + g->n;
    vfr_report_progress(rep, "prepare", 0, 4);
    if (!g->stream && (st = vfr_dataset_read_features(g->ds, r0, r1, p->X)) != VFR_OK)
        return st;
    if ((st = vfr_dataset_read_forward_returns(g->ds, r0, r1, g->fwd_all)) != VFR_OK)
        return st;
    if (p->close && (st = vfr_dataset_read_close(g->ds, r0, r1, p->close)) != VFR_OK)
        return st;
    for (int q = 0; q < VFR_QUALITY_COUNT; q++) {
        if (!(g->m->quality_mask & (1u << q)))
            continue;
        if (!(g->qual[q] = malloc(sizeof *g->qual[q] * (size_t)(g->n > 0 ? g->n : 1))))
            return vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
        if ((st = vfr_dataset_read_quality(g->ds, (vfr_quality)q, r0, r1, g->qual[q])) != VFR_OK)
            return st;
    }
    vfr_report_progress(rep, "prepare", 1, 4);
    vfr_colstats cs = {g->count, g->mean, g->sd};
    if (g->stream)
        return stream_counts(g->ds, r0, g->n, p->F, &cs, g->nfin, g->nval);
    if ((st = vfr_colstats_compute(dev, p->X, g->n, p->F, &cs)) != VFR_OK)
        return st;
    row_counts(p->X, g->n, p->F, g->mean, g->sd, g->nfin, g->nval);
    return VFR_OK;
}

/* Scores each selected row; the first failing reason is the one counted.
 * Then symbols with too few kept rows are dropped whole. */
static void gate_score(gate *g)
{
    const vfr_dataset_meta *m = g->m;
    const vfr_job *job = g->job;
    const vfr_prepared *p = g->p;
    const int32_t F = m->F;
    for (int64_t i = 0; i < g->n; i++) {
        int32_t s = m->symbol[g->r0 + i];
        g->keep[i] = 0;
        if (!g->sel[s])
            continue;
        g->rows_in++;
        const int32_t finite = g->nfin[i], valid = g->nval[i];
        float *const *qual = g->qual;
        double c = qual[0] ? qual[0][i] : F ? (double)finite / F : 1.0;
        double fr = qual[1] ? qual[1][i] : 1.0, re = qual[2] ? qual[2][i] : 1.0;
        double va = qual[3] ? qual[3][i] : finite ? (double)valid / finite : 0.0;
        double q = 0.35 * c + 0.25 * fr + 0.25 * re + 0.15 * va;
        g->qv[g->nq++] = (float)q;
        float y = g->fwd_all[i * m->H + g->hk];
        /* tradable at its date: a feature row, and a usable close if stored */
        g->tradable[i] = !p->close || (isfinite(p->close[i]) && p->close[i] > 0.0f);
        int r = !isfinite(y)                                          ? R_NO_LABEL
                : c < job->data.min_completeness                      ? R_LOW_COMPLETENESS
                : finite < F && job->data.nonfinite == VFR_NONFINITE_DROP_ROW ? R_NON_FINITE
                : q < job->data.min_quality                           ? R_LOW_QUALITY
                : y == 0.0f && job->objective == VFR_OBJECTIVE_DIRECTION &&
                          job->data.flat == VFR_FLAT_DROP             ? R_FLAT
                                                                      : -1;
        if (r >= 0) {
            g->dropped[r]++;
            continue;
        }
        g->keep[i] = 1;
        g->sym_rows[s]++;
    }
    for (int32_t s = 0; s < m->S; s++) {
        g->sym_in += g->sel[s];
        if (g->sym_rows[s] > 0 && g->sym_rows[s] < job->data.min_samples_per_symbol) {
            g->dropped[R_SYMBOL] += g->sym_rows[s];
            g->sym_rows[s] = 0;
        } else if (g->sym_rows[s] > 0) {
            g->sym_kept++;
        }
    }
    /* Rows the gate dropped but that were tradable at their date stay for
     * the backtests, after the trainable rows; only on dates that have
     * trainable rows (a date no row trains on is no panel date). */
    for (int64_t i = 0, j; i < g->n; i = j) {
        int has_train = 0;
        for (j = i; j < g->n && m->date[g->r0 + j] == m->date[g->r0 + i]; j++)
            has_train |= g->keep[j] && g->sym_rows[m->symbol[g->r0 + j]] > 0;
        for (int64_t q = i; q < j; q++) {
            int32_t s = m->symbol[g->r0 + q];
            int train = g->keep[q] && g->sym_rows[s] > 0;
            g->tradable[q] = !train && g->sel[s] && g->tradable[q] && has_train;
            g->nx += g->tradable[q];
        }
    }
}

/* Grows the panel's per-row arrays to n_all rows. */
static vfr_status grow_rows(vfr_prepared *p, size_t na, size_t nf)
{
    float *X2 = p->X ? realloc(p->X, sizeof *p->X * na * nf) : NULL;
    if (X2)
        p->X = X2;
    int64_t *s2 = realloc(p->src_row, sizeof *p->src_row * na);
    if (s2)
        p->src_row = s2;
    float *a1 = realloc(p->y, sizeof *p->y * na), *a2 = a1 ? realloc(p->fwd, sizeof *p->fwd * na) : NULL;
    if (a1)
        p->y = a1;
    if (a2)
        p->fwd = a2;
    float *a3 = a2 ? realloc(p->fwd1, sizeof *p->fwd1 * na) : NULL;
    if (a3)
        p->fwd1 = a3;
    int32_t *b1 = a3 ? realloc(p->date, sizeof *p->date * na) : NULL;
    if (b1)
        p->date = b1;
    int32_t *b2 = b1 ? realloc(p->symbol, sizeof *p->symbol * na) : NULL;
    if (b2)
        p->symbol = b2;
    float *a4 = p->close && b2 ? realloc(p->close, sizeof *p->close * na) : NULL;
    if (a4)
        p->close = a4;
    if ((p->X && !X2) || !s2 || !b2 || (p->close && !a4))
        return vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
    return VFR_OK;
}

/* The panel's rows: the survivors compacted in place (the write index never
 * passes the read index), then the tradable extras after them. */
static vfr_status gate_compact(gate *g)
{
    const vfr_dataset_meta *m = g->m;
    vfr_prepared *p = g->p;
    const int32_t F = m->F, H = m->H;
    const int64_t r0 = g->r0, nx = g->nx;
    const size_t nf = F > 0 ? (size_t)F : 1, nxs = (size_t)(nx ? nx : 1);
    float *xb = g->stream ? NULL : malloc(sizeof *xb * nxs * nf), *xf = malloc(sizeof *xf * nxs * 3);
    int32_t *xi = malloc(sizeof *xi * nxs * 2);
    int64_t *xs = malloc(sizeof *xs * nxs);
    vfr_status st = VFR_OK;
    if ((!g->stream && !xb) || !xf || !xi || !xs) {
        st = vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
        goto done;
    }
    for (int64_t i = 0, x = 0; i < g->n; i++) { /* the extras, before compaction overwrites them */
        if (!g->tradable[i])
            continue;
        if (xb)
            memcpy(xb + x * F, p->X + i * F, sizeof *xb * (size_t)F);
        xs[x] = r0 + i;
        xf[3 * x] = g->fwd_all[i * H + g->hk];
        xf[3 * x + 1] = g->h1 >= 0 ? g->fwd_all[i * H + g->h1] : NAN;
        xf[3 * x + 2] = p->close ? p->close[i] : NAN;
        xi[2 * x] = m->date[r0 + i];
        xi[2 * x + 1] = m->symbol[r0 + i];
        x++;
    }
    int64_t w = 0;
    for (int64_t i = 0; i < g->n; i++) {
        int32_t s = m->symbol[r0 + i];
        if (!g->keep[i] || g->sym_rows[s] == 0)
            continue;
        if (w != i && p->X)
            memmove(p->X + w * F, p->X + i * F, sizeof *p->X * (size_t)F);
        p->src_row[w] = r0 + i;
        float y = g->fwd_all[i * H + g->hk];
        p->fwd[w] = y;
        p->fwd1[w] = g->h1 >= 0 ? g->fwd_all[i * H + g->h1] : NAN;
        p->y[w] = g->job->objective == VFR_OBJECTIVE_DIRECTION ? (y > 0.0f ? 1.0f : 0.0f) : y;
        p->date[w] = m->date[r0 + i];
        p->symbol[w] = s;
        if (p->close)
            p->close[w] = p->close[i];
        w++;
    }
    p->n = w;
    p->n_all = w + nx;
    if (!nx)
        goto done;
    if ((st = grow_rows(p, (size_t)p->n_all, nf)) != VFR_OK)
        goto done;
    if (p->X)
        memcpy(p->X + w * F, xb, sizeof *xb * (size_t)nx * (size_t)F);
    for (int64_t x = 0; x < nx; x++) {
        p->src_row[w + x] = xs[x];
        p->y[w + x] = NAN;
        p->fwd[w + x] = xf[3 * x];
        p->fwd1[w + x] = xf[3 * x + 1];
        if (p->close)
            p->close[w + x] = xf[3 * x + 2];
        p->date[w + x] = xi[2 * x];
        p->symbol[w + x] = xi[2 * x + 1];
    }
done:
    free(xb), free(xf), free(xi), free(xs);
    return st;
}

/* The panel's dates (dates, date_row, xdate_row), cross-sectional labels,
 * and every row's history (prev_row). */
static vfr_status index_dates(vfr_prepared *p, const vfr_job *job)
{
    const int64_t w = p->n;
    int32_t T = 0;
    for (int64_t i = 0; i < w; i++)
        T += i == 0 || p->date[i] != p->date[i - 1];
    p->T = T;
    p->dates = malloc(sizeof *p->dates * (size_t)(T ? T : 1));
    p->date_row = malloc(sizeof *p->date_row * (size_t)(T + 1));
    p->xdate_row = malloc(sizeof *p->xdate_row * (size_t)(T + 1));
    p->prev_row = malloc(sizeof *p->prev_row * (size_t)(p->n_all ? p->n_all : 1));
    int64_t *last = malloc(sizeof *last * (size_t)(p->S ? p->S : 1));
    if (!p->dates || !p->date_row || !p->xdate_row || !p->prev_row || !last) {
        free(last);
        return vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
    }
    for (int64_t i = 0, t = 0; i < w; i++)
        if (i == 0 || p->date[i] != p->date[i - 1]) {
            p->dates[t] = p->date[i];
            p->date_row[t++] = i;
        }
    p->date_row[T] = w;
    /* rank_return / excess_return: the label across each date's kept rows */
    if (vfr_xsection_label_kind(job->target) != VFR_LABEL_RAW)
        vfr_xsection_label(vfr_xsection_label_kind(job->target), p->fwd, p->date_row, T, p->y);
    int64_t r = w; /* extras only sit on panel dates */
    for (int32_t t = 0; t < T; t++) {
        p->xdate_row[t] = r;
        while (r < p->n_all && p->date[r] == p->dates[t])
            r++;
    }
    p->xdate_row[T] = r;
    for (int32_t s = 0; s < p->S; s++)
        last[s] = -1;
    /* a symbol's history is its previous date, trainable or not: whether a
     * row trains depends on its forward return, which is not known at t */
    for (int32_t t = 0; t < T; t++) {
        for (int64_t i = p->date_row[t]; i < p->date_row[t + 1]; i++)
            p->prev_row[i] = last[p->symbol[i]];
        for (int64_t i = p->xdate_row[t]; i < p->xdate_row[t + 1]; i++)
            p->prev_row[i] = last[p->symbol[i]];
        for (int64_t i = p->date_row[t]; i < p->date_row[t + 1]; i++)
            last[p->symbol[i]] = i;
        for (int64_t i = p->xdate_row[t]; i < p->xdate_row[t + 1]; i++)
            last[p->symbol[i]] = i;
    }
    free(last);
    return VFR_OK;
}

/* The gate's report (vfr prepare's JSON; docs/job-config.md). */
static cJSON *gate_report(const gate *g)
{
    const vfr_job *job = g->job;
    const vfr_prepared *p = g->p;
    const int32_t T = p->T;
    cJSON *rep_json = cJSON_CreateObject();
    cJSON_AddStringToObject(rep_json, "dataset", job->data.dataset);
    cJSON_AddNumberToObject(rep_json, "rowsInRange", (double)g->n);
    cJSON_AddNumberToObject(rep_json, "rowsIn", (double)g->rows_in);
    cJSON_AddNumberToObject(rep_json, "rowsKept", (double)p->n);
    cJSON_AddNumberToObject(rep_json, "rowsDropped", (double)(g->rows_in - p->n));
    /* dropped from training, still traded in the backtests (prepare.h) */
    cJSON_AddNumberToObject(rep_json, "rowsTradableNotTrained", (double)g->nx);
    cJSON *dr = cJSON_AddObjectToObject(rep_json, "droppedBy");
    for (int r = 0; r < R_COUNT; r++)
        cJSON_AddNumberToObject(dr, reason_names[r], (double)g->dropped[r]);
    cJSON_AddNumberToObject(rep_json, "symbolsIn", g->sym_in);
    cJSON_AddNumberToObject(rep_json, "symbolsKept", g->sym_kept);
    cJSON *ds_j = cJSON_AddArrayToObject(rep_json, "symbolsDropped");
    for (int32_t s = 0; s < g->m->S; s++)
        if (g->sel[s] && g->sym_rows[s] == 0)
            cJSON_AddItemToArray(ds_j, cJSON_CreateString(g->m->symbols[s]));
    cJSON_AddNumberToObject(rep_json, "datesKept", T);
    char d0[11] = "", d1[11] = "";
    if (T) {
        vfr_date_format(p->dates[0], d0);
        vfr_date_format(p->dates[T - 1], d1);
    }
    cJSON_AddStringToObject(rep_json, "dateFirst", d0);
    cJSON_AddStringToObject(rep_json, "dateLast", d1);
    cJSON *src = cJSON_AddObjectToObject(rep_json, "qualitySources");
    static const char *qn[] = {"completeness", "freshness", "reliability", "validity"};
    static const char *dflt[] = {"share of finite features", "default 1.0", "default 1.0",
                                 "share of finite features within 10 std of the column mean"};
    for (int q = 0; q < 4; q++)
        cJSON_AddStringToObject(src, qn[q], g->qual[q] ? "stored" : dflt[q]);
    cJSON_AddItemToObject(rep_json, "quality", quantiles(g->qv, g->nq));
    cJSON *th = cJSON_AddObjectToObject(rep_json, "thresholds");
    cJSON_AddNumberToObject(th, "minQuality", job->data.min_quality);
    cJSON_AddNumberToObject(th, "minCompleteness", job->data.min_completeness);
    cJSON_AddNumberToObject(th, "minSamplesPerSymbol", job->data.min_samples_per_symbol);
    cJSON_AddStringToObject(th, "nonFinitePolicy",
                            vfr_job_enum_name("dataConfig.nonFinitePolicy", (int)job->data.nonfinite));
    cJSON_AddStringToObject(th, "flatPolicy", vfr_job_enum_name("dataConfig.flatPolicy", (int)job->data.flat));
    return rep_json;
}

/* Too little data left after the gate: the error, naming the limit. */
static vfr_status gate_minimums(const gate *g)
{
    const vfr_job *job = g->job;
    const int64_t w = g->p->n;
    const int32_t T = g->p->T;
    const char *why = w < job->data.min_rows                  ? "dataConfig.minRows"
                      : T < job->data.min_dates               ? "dataConfig.minDates"
                      : g->sym_kept < job->data.min_symbols   ? "dataConfig.minSymbols"
                                                              : NULL;
    if (!why)
        return VFR_OK;
    return vfr_fail(VFR_ERR_INVALID_ARG,
                    "%s: too little data after the quality gate: %lld rows, %d dates, %d symbols left of %lld rows "
                    "in range (%s is %lld, %lld, %d); see 'vfr prepare %s'",
                    job->path, (long long)w, T, g->sym_kept, (long long)g->rows_in, why,
                    (long long)job->data.min_rows, (long long)job->data.min_dates, job->data.min_symbols,
                    job->path);
}

/* The job's chain (job->data.processors_json) on the prepared panel: fitted
 * on the training dates of the job's split that come before every validation
 * and test date of every fold (for holdout and walk-forward: the first
 * fold's training window), then applied to every row of the trading view in
 * place. Sets p->processors_json to the fitted chain (with "fittedOn" dates).
 * No-op without a chain. Errors: INVALID_ARG (no training dates), NOMEM. */
static vfr_status process_panel(const vfr_job *job, vfr_prepared *p)
{
    if (!job->data.processors_json)
        return VFR_OK;
    vfr_status st = VFR_OK;
    vfr_processors *pr = NULL;
    vfr_split *sp = NULL;
    char *text = NULL;
    float *Xu = NULL;
    vfr_trading_view tv = {0};
    VFR_TRY(vfr_processors_parse(job->data.processors_json, job->path, &pr));
    vfr_split_spec ss = job->split; /* cpcv's test period is the holdout's (train.c) */
    if (ss.method == VFR_SPLIT_CPCV)
        ss.method = VFR_SPLIT_HOLDOUT;
    st = vfr_split_make(&ss, p->T, &sp);
    if (st != VFR_OK) {
        vfr_error_prefix("%s: ", job->path);
        goto fail;
    }
    /* The first fold's first training window, cut before the earliest date
     * any fold validates or tests on: no evaluated date informs the fit. */
    int32_t lo = sp->folds[0].n_train ? sp->folds[0].train[0].lo : 0;
    int32_t hi = sp->folds[0].n_train ? sp->folds[0].train[0].hi : 0;
    for (int32_t k = 0; k < sp->K; k++) {
        const vfr_fold *f = &sp->folds[k];
        for (int32_t r = 0; r < f->n_val; r++)
            hi = f->val[r].lo < hi ? f->val[r].lo : hi;
        for (int32_t r = 0; r < f->n_test; r++)
            hi = f->test[r].lo < hi ? f->test[r].lo : hi;
    }
    if (hi <= lo) {
        st = vfr_fail(VFR_ERR_INVALID_ARG,
                      "%s: dataConfig.processors: the split leaves no training dates before the first "
                      "validation or test date to fit them on", job->path);
        goto fail;
    }
    /* A date's cross-section is every name tradable at it, not only the rows
     * whose label survived the gate (that set depends on the forward return):
     * the processors see the trading view of all dates (prepare.h), and the
     * result goes back to each prepared row. */
    VFR_TRY(vfr_prepared_trading_view(p, 0, p->T, &tv));
    if (!(Xu = malloc(sizeof *Xu * (size_t)(tv.panel.N ? tv.panel.N : 1) * (size_t)p->F))) {
        st = vfr_fail(VFR_ERR_NOMEM, "processors: out of memory for %lld rows", (long long)tv.panel.N);
        goto fail;
    }
    for (int64_t i = 0; i < tv.panel.N; i++)
        memcpy(Xu + i * p->F, p->X + tv.row[i] * p->F, sizeof *Xu * (size_t)p->F);
    VFR_TRY(vfr_processors_fit(pr, Xu, p->F, tv.offset, lo, hi));
    VFR_TRY(vfr_processors_apply(pr, Xu, p->F, tv.offset, p->T));
    for (int64_t i = 0; i < tv.panel.N; i++)
        memcpy(p->X + tv.row[i] * p->F, Xu + i * p->F, sizeof *Xu * (size_t)p->F);
    text = vfr_processors_to_json(pr);
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    if (!o) {
        st = vfr_fail(VFR_ERR_NOMEM, "processors: out of memory");
        goto fail;
    }
    char a[11], b[11];
    vfr_date_format(p->dates[lo], a);
    vfr_date_format(p->dates[hi - 1], b);
    cJSON *fo = cJSON_AddObjectToObject(o, "fittedOn");
    cJSON_AddStringToObject(fo, "dateFirst", a);
    cJSON_AddStringToObject(fo, "dateLast", b);
    cJSON_AddNumberToObject(fo, "dates", hi - lo);
    free(p->processors_json);
    p->processors_json = cJSON_Print(o);
    cJSON_Delete(o);
    if (!p->processors_json)
        st = vfr_fail(VFR_ERR_NOMEM, "processors: out of memory");
fail:
    free(text);
    free(Xu);
    vfr_trading_view_free(&tv);
    vfr_split_free(sp);
    vfr_processors_free(pr);
    return st;
}

/* The pipeline of the gate: select, plan memory, read, score, compact,
 * index the dates, report; then the processors and the streamed source. */
vfr_status vfr_prepare(vfr_dataset *ds, const vfr_job *job, vfr_device_kind dev,
                       const vfr_reporter *rep, vfr_prepared **panel_out, char **report_out)
{
    vfr_status st = VFR_OK;
    gate g = {.ds = ds, .job = job, .m = vfr_dataset_meta_get(ds)};
    cJSON *rep_json = NULL;
    *panel_out = NULL;
    if (report_out)
        *report_out = NULL;
    VFR_TRY(gate_select(&g));
    int64_t r1;
    vfr_dataset_row_range(ds, job->data.start_date, job->data.end_date, &g.r0, &r1);
    g.n = r1 - g.r0;
    VFR_TRY(memory_plan(ds, job, g.n, rep, &g.stream, &g.external));
    VFR_TRY(gate_alloc(&g));
    VFR_TRY(gate_read(&g, dev, rep));
    vfr_report_progress(rep, "prepare", 2, 4);
    gate_score(&g);
    VFR_TRY(gate_compact(&g));
    free(g.nfin), free(g.nval);
    g.nfin = g.nval = NULL;
    VFR_TRY(index_dates(g.p, job));
    vfr_report_progress(rep, "prepare", 3, 4);
    if (!(rep_json = gate_report(&g))) {
        st = vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
        goto fail;
    }
    if ((st = gate_minimums(&g)) != VFR_OK) {
        if (report_out)
            *report_out = cJSON_Print(rep_json); /* the report explains the failure */
        goto fail;
    }
    /* dataConfig.processors: fitted on training dates, applied to every row
     * (in core: memory_plan keeps such panels' features) */
    VFR_TRY(process_panel(job, g.p));
    if (g.stream) {
        if (!(g.p->src = calloc(1, sizeof *g.p->src))) {
            st = vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
            goto fail;
        }
        g.p->src->ds = ds;
        pthread_mutex_init(&g.p->src->lock, NULL);
        if (g.external)
            VFR_TRY(make_cache_dir(g.p, NULL));
    }
    if (report_out && !(*report_out = cJSON_Print(rep_json))) {
        st = vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
        goto fail;
    }
    vfr_report_progress(rep, "prepare", 4, 4);
    cJSON_Delete(rep_json);
    gate_free(&g);
    *panel_out = g.p;
    return VFR_OK;
fail:
    cJSON_Delete(rep_json);
    gate_free(&g);
    vfr_prepared_free(g.p);
    return st;
}

