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
 * them from the file (streamed, XGBoost only, no processors), and whether
 * XGBoost's matrices go to external memory; from the estimated sizes of the
 * n rows in range against the memory available, logged. A plan that does not
 * fit is refused here, before any feature is read. */
static vfr_status memory_plan(const vfr_dataset *ds, const vfr_job *job, int64_t n, const vfr_reporter *rep,
                              int *stream, int *external)
{
    const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
    const double GB = 1e9, rows = (double)n, F = m->F;
    const int xgb = strcmp(job->model_type, "xgboost") == 0, procs = job->data.processors_json != NULL;
    vfr_xgboost_info xi = {0};
    const int extmem = xgb && vfr_xgboost_probe(&xi) == VFR_OK && xi.has_extmem;
    vfr_error_clear();
    const double chunk = (double)vfr_dataview_chunk_rows(m->F) * F * 4.0 * 3.0;
    const double floats = rows * F * 4.0, quant = rows * F * QUANT_BYTES, index = rows * ROW_BYTES;
    /* in core: the panel, and the model's own data (XGBoost's quantile
     * matrix; the other types copy about a training set of floats) */
    const double need_core = index + floats + (xgb ? quant : floats), need_stream = index + quant + chunk;
    const double need_ext = index + chunk * 2.0 + rows * 16.0, avail = memory_available();
    static const char *const names[] = {"auto", "in_core", "external"};
    const char *mode = names[job->data.memory];
    *stream = *external = 0;
    if (job->data.memory == VFR_MEMORY_EXTERNAL || (job->data.memory == VFR_MEMORY_AUTO && xgb && !procs)) {
        if (!xgb || procs)
            return vfr_fail(VFR_ERR_INVALID_ARG,
                            "%s: dataConfig.memory: external needs modelType xgboost without dataConfig.processors "
                            "(this job: %s%s)",
                            job->path, job->model_type, procs ? ", with processors" : "");
        *stream = 1;
        *external = job->data.memory == VFR_MEMORY_EXTERNAL || need_stream > avail;
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
                       "%.2f GB available: features streamed from the file by chunks, XGBoost's matrices %s",
                       mode, (long long)n, m->F, floats / GB, quant / GB, avail / GB,
                       *external ? "in external memory (cache files in the run folder)" : "in memory");
        return VFR_OK;
    }
    if (need_core > avail)
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "%s: dataConfig.memory: %s: %lld rows x %d features need about %.2f GB in memory (%.2f GB "
                        "of float32 features) and %.2f GB are available%s",
                        job->path, mode, (long long)n, m->F, need_core / GB, floats / GB, avail / GB,
                        xgb && !procs ? "; dataConfig.memory auto or external streams the features from the file"
                        : "; only XGBoost jobs without dataConfig.processors can stream their features");
    vfr_report_log(rep, VFR_LOG_INFO,
                   "memory: %s: %lld rows x %d features in range, %.2f GB as float32, %.2f GB available: the panel "
                   "holds the features in memory%s",
                   mode, (long long)n, m->F, floats / GB, avail / GB,
                   job->data.memory == VFR_MEMORY_IN_CORE ? "" : xgb ? " (dataConfig.processors need them)"
                                                                     : " (only XGBoost streams)");
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

vfr_status vfr_prepare(vfr_dataset *ds, const vfr_job *job, vfr_device_kind dev,
                       const vfr_reporter *rep, vfr_prepared **panel_out, char **report_out)
{
    vfr_status st = VFR_OK;
    const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
    const int32_t F = m->F, S = m->S;
    vfr_prepared *p = NULL;
    unsigned char *sel = NULL, *keep = NULL, *tradable = NULL;
    float *xb = NULL, *xf = NULL;
    int32_t *xi = NULL, *nfin = NULL, *nval = NULL;
    int64_t *xs = NULL;
    int stream = 0, external = 0;
    int64_t nx = 0;
    float *fwd_all = NULL, *qual[VFR_QUALITY_COUNT] = {0}, *qv = NULL;
    int64_t *count = NULL, *sym_rows = NULL;
    double *mean = NULL, *sd = NULL;
    int64_t dropped[R_COUNT] = {0};
    cJSON *rep_json = NULL;
    *panel_out = NULL;
    if (report_out)
        *report_out = NULL;

    int32_t hk = vfr_dataset_horizon_index(ds, job->horizon), h1 = vfr_dataset_horizon_index(ds, 1);
    if (hk < 0) {
        char hs[256] = "";
        size_t o = 0;
        for (int32_t k = 0; k < m->H && o < sizeof hs - 16; k++)
            o += (size_t)snprintf(hs + o, sizeof hs - o, "%s%d", k ? "," : "", m->horizons[k]);
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: predictionHorizon: %d is not in dataset %s (horizons: %s)",
                        job->path, job->horizon, vfr_dataset_path(ds), m->H ? hs : "none");
    }
    sel = calloc(S ? (size_t)S : 1, 1);
    if (!sel)
        return vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
    for (int32_t s = 0; s < S; s++)
        sel[s] = job->data.symbols == NULL;
    for (int32_t i = 0; i < job->data.n_symbols; i++) {
        int32_t s = vfr_dataset_symbol_index(ds, job->data.symbols[i]);
        if (s < 0) {
            st = vfr_fail(VFR_ERR_INVALID_ARG, "%s: dataConfig.symbols[%d]: '%s' is not in dataset %s",
                          job->path, i, job->data.symbols[i], vfr_dataset_path(ds));
            goto fail;
        }
        sel[s] = 1;
    }
    int64_t r0, r1;
    vfr_dataset_row_range(ds, job->data.start_date, job->data.end_date, &r0, &r1);
    const int64_t n = r1 - r0;
    VFR_TRY(memory_plan(ds, job, n, rep, &stream, &external));
    p = calloc(1, sizeof *p);
    if (!p) {
        st = vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
        goto fail;
    }
    p->F = F;
    p->S = S;
    p->horizon = job->horizon;
    size_t nn = n > 0 ? (size_t)n : 1, nf = F > 0 ? (size_t)F : 1;
    p->X = stream ? NULL : malloc(sizeof *p->X * nn * nf);
    p->external = external;
    p->src_row = malloc(sizeof *p->src_row * nn);
    nfin = malloc(sizeof *nfin * nn);
    nval = malloc(sizeof *nval * nn);
    fwd_all = malloc(sizeof *fwd_all * nn * (size_t)(m->H ? m->H : 1));
    p->y = malloc(sizeof *p->y * nn);
    p->fwd = malloc(sizeof *p->fwd * nn);
    p->fwd1 = malloc(sizeof *p->fwd1 * nn);
    p->date = malloc(sizeof *p->date * nn);
    p->symbol = malloc(sizeof *p->symbol * nn);
    p->close = m->has_close ? malloc(sizeof *p->close * nn) : NULL;
    keep = malloc(nn);
    tradable = calloc(nn, 1);
    qv = malloc(sizeof *qv * nn);
    count = malloc(sizeof *count * nf);
    mean = malloc(sizeof *mean * nf);
    sd = malloc(sizeof *sd * nf);
    sym_rows = calloc(S ? (size_t)S : 1, sizeof *sym_rows);
    p->feature_names = calloc(nf, sizeof *p->feature_names);
    p->symbols = calloc(S ? (size_t)S : 1, sizeof *p->symbols);
    if ((!stream && !p->X) || !p->src_row || !nfin || !nval || !fwd_all || !p->y || !p->fwd || !p->fwd1 || !p->date || !p->symbol ||
        (m->has_close && !p->close) || !keep || !tradable || !qv || !count || !mean || !sd || !sym_rows ||
        !p->feature_names || !p->symbols) {
        st = vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory for %lld rows x %d features",
                      (long long)n, F);
        goto fail;
    }
    for (int32_t f = 0; f < F; f++)
        if (!(p->feature_names[f] = dup_str(m->feature_names[f]))) {
            st = vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
            goto fail;
        }
    for (int32_t s = 0; s < S; s++)
        if (!(p->symbols[s] = dup_str(m->symbols[s]))) {
            st = vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
            goto fail;
        }
    vfr_report_progress(rep, "prepare", 0, 4);
    if (!stream)
        VFR_TRY(vfr_dataset_read_features(ds, r0, r1, p->X));
    VFR_TRY(vfr_dataset_read_forward_returns(ds, r0, r1, fwd_all));
    if (p->close)
        VFR_TRY(vfr_dataset_read_close(ds, r0, r1, p->close));
    for (int q = 0; q < VFR_QUALITY_COUNT; q++) {
        if (!(m->quality_mask & (1u << q)))
            continue;
        if (!(qual[q] = malloc(sizeof *qual[q] * nn))) {
            st = vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
            goto fail;
        }
        VFR_TRY(vfr_dataset_read_quality(ds, (vfr_quality)q, r0, r1, qual[q]));
    }
    vfr_report_progress(rep, "prepare", 1, 4);
    vfr_colstats cs = {count, mean, sd};
    if (stream) {
        VFR_TRY(stream_counts(ds, r0, n, F, &cs, nfin, nval));
    } else {
        VFR_TRY(vfr_colstats_compute(dev, p->X, n, F, &cs));
        row_counts(p->X, n, F, mean, sd, nfin, nval);
    }
    vfr_report_progress(rep, "prepare", 2, 4);

    /* score each selected row; the first failing reason is the one counted */
    int64_t rows_in = 0, nq = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t s = m->symbol[r0 + i];
        keep[i] = 0;
        if (!sel[s])
            continue;
        rows_in++;
        const int32_t finite = nfin[i], valid = nval[i];
        double c = qual[0] ? qual[0][i] : F ? (double)finite / F : 1.0;
        double fr = qual[1] ? qual[1][i] : 1.0, re = qual[2] ? qual[2][i] : 1.0;
        double va = qual[3] ? qual[3][i] : finite ? (double)valid / finite : 0.0;
        double q = 0.35 * c + 0.25 * fr + 0.25 * re + 0.15 * va;
        qv[nq++] = (float)q;
        float y = fwd_all[i * m->H + hk];
        /* tradable at its date: a feature row, and a usable close if stored */
        tradable[i] = !p->close || (isfinite(p->close[i]) && p->close[i] > 0.0f);
        int r = !isfinite(y)                                          ? R_NO_LABEL
                : c < job->data.min_completeness                      ? R_LOW_COMPLETENESS
                : finite < F && job->data.nonfinite == VFR_NONFINITE_DROP_ROW ? R_NON_FINITE
                : q < job->data.min_quality                           ? R_LOW_QUALITY
                : y == 0.0f && job->objective == VFR_OBJECTIVE_DIRECTION &&
                          job->data.flat == VFR_FLAT_DROP             ? R_FLAT
                                                                      : -1;
        if (r >= 0) {
            dropped[r]++;
            continue;
        }
        keep[i] = 1;
        sym_rows[s]++;
    }
    int32_t sym_dropped = 0, sym_kept = 0, sym_in = 0;
    for (int32_t s = 0; s < S; s++) {
        sym_in += sel[s];
        if (sym_rows[s] > 0 && sym_rows[s] < job->data.min_samples_per_symbol) {
            dropped[R_SYMBOL] += sym_rows[s];
            sym_dropped++;
            sym_rows[s] = 0;
        } else if (sym_rows[s] > 0) {
            sym_kept++;
        }
    }

    /* Rows the gate dropped but that were tradable at their date stay for
     * the backtests, after the trainable rows; only on dates that have
     * trainable rows (a date no row trains on is no panel date). */
    for (int64_t i = 0, j; i < n; i = j) {
        int has_train = 0;
        for (j = i; j < n && m->date[r0 + j] == m->date[r0 + i]; j++)
            has_train |= keep[j] && sym_rows[m->symbol[r0 + j]] > 0;
        for (int64_t q = i; q < j; q++) {
            int32_t s = m->symbol[r0 + q];
            int train = keep[q] && sym_rows[s] > 0;
            tradable[q] = !train && sel[s] && tradable[q] && has_train;
            nx += tradable[q];
        }
    }
    xb = stream ? NULL : malloc(sizeof *xb * (size_t)(nx ? nx : 1) * nf);
    xf = malloc(sizeof *xf * (size_t)(nx ? nx : 1) * 3);
    xi = malloc(sizeof *xi * (size_t)(nx ? nx : 1) * 2);
    xs = malloc(sizeof *xs * (size_t)(nx ? nx : 1));
    if ((!stream && !xb) || !xf || !xi || !xs) {
        st = vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
        goto fail;
    }
    for (int64_t i = 0, x = 0; i < n; i++) {
        if (!tradable[i])
            continue;
        if (xb)
            memcpy(xb + x * F, p->X + i * F, sizeof *xb * (size_t)F);
        xs[x] = r0 + i;
        xf[3 * x] = fwd_all[i * m->H + hk];
        xf[3 * x + 1] = h1 >= 0 ? fwd_all[i * m->H + h1] : NAN;
        xf[3 * x + 2] = p->close ? p->close[i] : NAN;
        xi[2 * x] = m->date[r0 + i];
        xi[2 * x + 1] = m->symbol[r0 + i];
        x++;
    }

    /* compact the survivors in place (write index never passes read index) */
    int64_t w = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t s = m->symbol[r0 + i];
        if (!keep[i] || sym_rows[s] == 0)
            continue;
        if (w != i && p->X)
            memmove(p->X + w * F, p->X + i * F, sizeof *p->X * (size_t)F);
        p->src_row[w] = r0 + i;
        float y = fwd_all[i * m->H + hk];
        p->fwd[w] = y;
        p->fwd1[w] = h1 >= 0 ? fwd_all[i * m->H + h1] : NAN;
        p->y[w] = job->objective == VFR_OBJECTIVE_DIRECTION ? (y > 0.0f ? 1.0f : 0.0f) : y;
        p->date[w] = m->date[r0 + i];
        p->symbol[w] = s;
        if (p->close)
            p->close[w] = p->close[i];
        w++;
    }
    p->n = w;
    p->n_all = w + nx;
    if (nx) { /* the tradable rows follow the trainable ones */
        size_t na = (size_t)p->n_all;
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
        if ((p->X && !X2) || !s2 || !b2 || (p->close && !a4)) {
            st = vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
            goto fail;
        }
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
    }
    free(xb), free(xf), free(xi), free(xs), free(nfin), free(nval);
    xb = NULL, xf = NULL, xi = NULL, xs = NULL, nfin = NULL, nval = NULL;
    int32_t T = 0;
    for (int64_t i = 0; i < w; i++)
        T += i == 0 || p->date[i] != p->date[i - 1];
    p->T = T;
    p->dates = malloc(sizeof *p->dates * (size_t)(T ? T : 1));
    p->date_row = malloc(sizeof *p->date_row * (size_t)(T + 1));
    if (!p->dates || !p->date_row) {
        st = vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
        goto fail;
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
    p->xdate_row = malloc(sizeof *p->xdate_row * (size_t)(T + 1));
    p->prev_row = malloc(sizeof *p->prev_row * (size_t)(p->n_all ? p->n_all : 1));
    int64_t *last = malloc(sizeof *last * (size_t)(S ? S : 1));
    if (!p->xdate_row || !p->prev_row || !last) {
        free(last);
        st = vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
        goto fail;
    }
    {
        int64_t r = w; /* extras only sit on panel dates */
        for (int32_t t = 0; t < T; t++) {
            p->xdate_row[t] = r;
            while (r < p->n_all && p->date[r] == p->dates[t])
                r++;
        }
        p->xdate_row[T] = r;
    }
    for (int32_t s = 0; s < S; s++)
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
    vfr_report_progress(rep, "prepare", 3, 4);

    rep_json = cJSON_CreateObject();
    cJSON_AddStringToObject(rep_json, "dataset", job->data.dataset);
    cJSON_AddNumberToObject(rep_json, "rowsInRange", (double)n);
    cJSON_AddNumberToObject(rep_json, "rowsIn", (double)rows_in);
    cJSON_AddNumberToObject(rep_json, "rowsKept", (double)w);
    cJSON_AddNumberToObject(rep_json, "rowsDropped", (double)(rows_in - w));
    /* dropped from training, still traded in the backtests (prepare.h) */
    cJSON_AddNumberToObject(rep_json, "rowsTradableNotTrained", (double)nx);
    cJSON *dr = cJSON_AddObjectToObject(rep_json, "droppedBy");
    for (int r = 0; r < R_COUNT; r++)
        cJSON_AddNumberToObject(dr, reason_names[r], (double)dropped[r]);
    cJSON_AddNumberToObject(rep_json, "symbolsIn", sym_in);
    cJSON_AddNumberToObject(rep_json, "symbolsKept", sym_kept);
    cJSON *ds_j = cJSON_AddArrayToObject(rep_json, "symbolsDropped");
    for (int32_t s = 0; s < S; s++)
        if (sel[s] && sym_rows[s] == 0)
            cJSON_AddItemToArray(ds_j, cJSON_CreateString(m->symbols[s]));
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
        cJSON_AddStringToObject(src, qn[q], qual[q] ? "stored" : dflt[q]);
    cJSON_AddItemToObject(rep_json, "quality", quantiles(qv, nq));
    cJSON *th = cJSON_AddObjectToObject(rep_json, "thresholds");
    cJSON_AddNumberToObject(th, "minQuality", job->data.min_quality);
    cJSON_AddNumberToObject(th, "minCompleteness", job->data.min_completeness);
    cJSON_AddNumberToObject(th, "minSamplesPerSymbol", job->data.min_samples_per_symbol);
    cJSON_AddStringToObject(th, "nonFinitePolicy",
                            vfr_job_enum_name("dataConfig.nonFinitePolicy", (int)job->data.nonfinite));
    cJSON_AddStringToObject(th, "flatPolicy", vfr_job_enum_name("dataConfig.flatPolicy", (int)job->data.flat));

    const char *why = w < job->data.min_rows       ? "dataConfig.minRows"
                      : T < job->data.min_dates     ? "dataConfig.minDates"
                      : sym_kept < job->data.min_symbols ? "dataConfig.minSymbols"
                                                    : NULL;
    if (why) {
        st = vfr_fail(VFR_ERR_INVALID_ARG,
                      "%s: too little data after the quality gate: %lld rows, %d dates, %d symbols left of %lld rows in range (%s is %lld, %lld, %d); see 'vfr prepare %s'",
                      job->path, (long long)w, T, sym_kept, (long long)rows_in, why,
                      (long long)job->data.min_rows, (long long)job->data.min_dates,
                      job->data.min_symbols, job->path);
        if (report_out)
            *report_out = cJSON_Print(rep_json); /* the report explains the failure */
        goto fail;
    }
    /* dataConfig.processors: fitted on training dates, applied to every row
     * (in core: memory_plan keeps such panels' features) */
    VFR_TRY(vfr_xsection_process_panel(job, p));
    if (stream) {
        if (!(p->src = calloc(1, sizeof *p->src))) {
            st = vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
            goto fail;
        }
        p->src->ds = ds;
        pthread_mutex_init(&p->src->lock, NULL);
        if (external)
            VFR_TRY(make_cache_dir(p, NULL));
    }
    if (report_out && !(*report_out = cJSON_Print(rep_json))) {
        st = vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
        goto fail;
    }
    vfr_report_progress(rep, "prepare", 4, 4);
    cJSON_Delete(rep_json);
    free(sel), free(keep), free(tradable), free(fwd_all), free(qv), free(count), free(mean), free(sd), free(sym_rows);
    free(xb), free(xf), free(xi), free(xs), free(nfin), free(nval);
    for (int q = 0; q < VFR_QUALITY_COUNT; q++)
        free(qual[q]);
    *panel_out = p;
    return VFR_OK;
fail:
    cJSON_Delete(rep_json);
    free(sel), free(keep), free(tradable), free(fwd_all), free(qv), free(count), free(mean), free(sd), free(sym_rows);
    free(xb), free(xf), free(xi), free(xs), free(nfin), free(nval);
    for (int q = 0; q < VFR_QUALITY_COUNT; q++)
        free(qual[q]);
    vfr_prepared_free(p);
    return st;
}
