/* prepare.c: the data-quality gate and the labelled panel (prepare.h).
 * Reads the job's date range once, scores every row, drops what fails, and
 * compacts the survivors in place: the panel is the only copy of the features. */
#include "vfr/prepare.h"
#include "vfr/xsection.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vfr/colstats.h"
#include "vfr/pack.h"

enum reason { R_NO_LABEL, R_LOW_COMPLETENESS, R_NON_FINITE, R_LOW_QUALITY, R_FLAT, R_SYMBOL, R_COUNT };
static const char *const reason_names[R_COUNT] = {
    "no_label", "low_completeness", "non_finite_feature", "low_quality", "flat_move",
    "symbol_too_few_rows"};

/* Validity: a finite value further than this many column standard deviations
 * from the column mean counts as invalid (a bad tick, a unit error). */
#define VALIDITY_SIGMAS 10.0

void vfr_prepared_free(vfr_prepared *p)
{
    if (!p)
        return;
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

vfr_status vfr_prepare(vfr_dataset *ds, const vfr_job *job, vfr_device_kind dev,
                       const vfr_reporter *rep, vfr_prepared **panel_out, char **report_out)
{
    vfr_status st = VFR_OK;
    const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
    const int32_t F = m->F, S = m->S;
    vfr_prepared *p = NULL;
    unsigned char *sel = NULL, *keep = NULL, *tradable = NULL;
    float *xb = NULL, *xf = NULL;
    int32_t *xi = NULL;
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
    p = calloc(1, sizeof *p);
    if (!p) {
        st = vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
        goto fail;
    }
    p->F = F;
    p->S = S;
    p->horizon = job->horizon;
    size_t nn = n > 0 ? (size_t)n : 1, nf = F > 0 ? (size_t)F : 1;
    p->X = malloc(sizeof *p->X * nn * nf);
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
    if (!p->X || !fwd_all || !p->y || !p->fwd || !p->fwd1 || !p->date || !p->symbol ||
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
    VFR_TRY(vfr_colstats_compute(dev, p->X, n, F, &cs));
    vfr_report_progress(rep, "prepare", 2, 4);

    /* score each selected row; the first failing reason is the one counted */
    int64_t rows_in = 0, nq = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t s = m->symbol[r0 + i];
        keep[i] = 0;
        if (!sel[s])
            continue;
        rows_in++;
        const float *x = p->X + i * F;
        int32_t finite = 0, valid = 0;
        for (int32_t f = 0; f < F; f++)
            if (isfinite(x[f])) {
                finite++;
                valid += !(sd[f] > 0) || fabs(x[f] - mean[f]) <= VALIDITY_SIGMAS * sd[f];
            }
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
    xb = malloc(sizeof *xb * (size_t)(nx ? nx : 1) * nf);
    xf = malloc(sizeof *xf * (size_t)(nx ? nx : 1) * 3);
    xi = malloc(sizeof *xi * (size_t)(nx ? nx : 1) * 2);
    if (!xb || !xf || !xi) {
        st = vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
        goto fail;
    }
    for (int64_t i = 0, x = 0; i < n; i++) {
        if (!tradable[i])
            continue;
        memcpy(xb + x * F, p->X + i * F, sizeof *xb * (size_t)F);
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
        if (w != i)
            memmove(p->X + w * F, p->X + i * F, sizeof *p->X * (size_t)F);
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
        float *X2 = realloc(p->X, sizeof *p->X * na * nf);
        if (X2)
            p->X = X2;
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
        if (!X2 || !b2 || (p->close && !a4)) {
            st = vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
            goto fail;
        }
        memcpy(p->X + w * F, xb, sizeof *xb * (size_t)nx * (size_t)F);
        for (int64_t x = 0; x < nx; x++) {
            p->y[w + x] = NAN;
            p->fwd[w + x] = xf[3 * x];
            p->fwd1[w + x] = xf[3 * x + 1];
            if (p->close)
                p->close[w + x] = xf[3 * x + 2];
            p->date[w + x] = xi[2 * x];
            p->symbol[w + x] = xi[2 * x + 1];
        }
    }
    free(xb), free(xf), free(xi);
    xb = NULL, xf = NULL, xi = NULL;
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
    /* dataConfig.processors: fitted on training dates, applied to every row */
    VFR_TRY(vfr_xsection_process_panel(job, p));
    if (report_out && !(*report_out = cJSON_Print(rep_json))) {
        st = vfr_fail(VFR_ERR_NOMEM, "prepare: out of memory");
        goto fail;
    }
    vfr_report_progress(rep, "prepare", 4, 4);
    cJSON_Delete(rep_json);
    free(sel), free(keep), free(tradable), free(fwd_all), free(qv), free(count), free(mean), free(sd), free(sym_rows);
    free(xb), free(xf), free(xi);
    for (int q = 0; q < VFR_QUALITY_COUNT; q++)
        free(qual[q]);
    *panel_out = p;
    return VFR_OK;
fail:
    cJSON_Delete(rep_json);
    free(sel), free(keep), free(tradable), free(fwd_all), free(qv), free(count), free(mean), free(sd), free(sym_rows);
    free(xb), free(xf), free(xi);
    for (int q = 0; q < VFR_QUALITY_COUNT; q++)
        free(qual[q]);
    vfr_prepared_free(p);
    return st;
}
