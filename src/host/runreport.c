/* runreport.c: the run report (runreport.h, docs/report.md).
 *
 * Reads the run folder's JSON files and its predictions.h5 / backtest.h5,
 * and writes one HTML page: CSS in a <style> block, charts as inline SVG
 * (svg.h), no script, and a Content-Security-Policy that forbids both scripts
 * and fetches. Every string from a file is escaped; every printed number that
 * comes from a file carries data-key="file:path" so tests can check it. What
 * the files do not hold (ROC points, calibration bins, daily IC, rolling
 * Sharpe, per-window metrics) is computed here, the metrics through
 * vfr_metrics_batch_cpu so they match metrics.json. Not here: drawing
 * primitives (svg.c), and any judgement the run's files have not made. */
#include "vfr/runreport.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svg.h"
#include "util.h"
#include "vfr/backtest.h"
#include "vfr/dataset.h"
#include "vfr/metrics.h"
#include "vfr/predictions.h"
#include "vfr/runfolder.h"
#include "vfr_config.h"

enum {
    ROLL = 63,          /* rolling Sharpe window, trading days */
    TOP_FEATURES = 20,
    CAL_BINS = 10,      /* calibration: bins of equal row count */
    WIDE = 1080,        /* full-width chart, px                 */
    MAX_PARAM_PLOTS = 12,
};

static const char *const palette[] = {"#1f77b4", "#7f7f7f", "#ff7f0e", "#2ca02c", "#d62728",
                                      "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"};
#define NPAL ((int)(sizeof palette / sizeof palette[0]))

/* The JSON files of a run folder the report reads; the key prefix of
 * data-key is the file's name without ".json" (key_len). */
enum { F_JOB, F_MANIFEST, F_METRICS, F_QUALITY, F_SPLIT, F_SEARCH, F_COMPARISON, F_REGISTRY, F_COUNT };
static const vfr_runfile run_files[F_COUNT] = {VFR_RUNFILE_JOB,    VFR_RUNFILE_MANIFEST, VFR_RUNFILE_METRICS,
                                               VFR_RUNFILE_QUALITY, VFR_RUNFILE_SPLIT,   VFR_RUNFILE_SEARCH,
                                               VFR_RUNFILE_COMPARISON, VFR_RUNFILE_REGISTRY};

static const char *file_name(int f)
{
    return vfr_runfolder_file_name(run_files[f]);
}

/* "metrics" of metrics.json: the length of the name before its extension. */
static int key_len(int f)
{
    return (int)strcspn(file_name(f), ".");
}

typedef struct rr {
    vfr_svg_buf *b;
    cJSON *j[F_COUNT];
    char why[F_COUNT][512]; /* why j[f] is NULL                                     */
    vfr_predictions *pred;  /* test rows of predictions.h5, or NULL                 */
    char pred_why[1024];
    int32_t M, T;           /* backtest.h5: M series over T test dates              */
    double *daily;          /* [M, T]                                               */
    char **names;           /* [M] or NULL                                          */
    int32_t *dates;         /* [T] or NULL                                          */
    char bt_why[1024];
    int classification;
} rr;

/* ---- reading ------------------------------------------------------------------ */

/* Loads the JSON file f of dir into r->j[f]; a missing or broken file
 * leaves NULL and a reason. */
static vfr_status load_json(rr *r, const char *dir, int f)
{
    char *text = NULL;
    size_t len;
    vfr_status st = vfr_runfolder_read(dir, run_files[f], &text, &len);
    if (st != VFR_OK) {
        int e = errno;
        if (st == VFR_ERR_NOMEM)
            return st;
        vfr_error_clear();
        snprintf(r->why[f], sizeof r->why[f], "%s", e == ENOENT ? "not in this run folder" : strerror(e));
        return VFR_OK;
    }
    r->j[f] = cJSON_ParseWithLength(text, len);
    if (!r->j[f]) {
        const char *at = cJSON_GetErrorPtr();
        snprintf(r->why[f], sizeof r->why[f], "not valid JSON (near byte %lld)",
                 at && at >= text && at <= text + len ? (long long)(at - text) : -1LL);
    }
    free(text);
    return VFR_OK;
}

/* /date [T] of backtest.h5 (int32 days), or NULL. */
static int32_t *read_dates(const char *path, int32_t T)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), id = -1, sp = -1;
    int32_t *d = NULL;
    if (f < 0)
        return NULL;
    if (T > 0 && H5Lexists(f, "date", H5P_DEFAULT) > 0 && (id = H5Dopen2(f, "date", H5P_DEFAULT)) >= 0) {
        hsize_t n = 0;
        sp = H5Dget_space(id);
        if (sp >= 0 && H5Sget_simple_extent_ndims(sp) == 1 && H5Sget_simple_extent_dims(sp, &n, NULL) == 1 &&
            n == (hsize_t)T && (d = malloc(sizeof *d * (size_t)T)) != NULL &&
            H5Dread(id, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, d) < 0) {
            free(d);
            d = NULL;
        }
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (id >= 0)
        H5Dclose(id);
    H5Fclose(f);
    return d;
}

/* ---- JSON access ------------------------------------------------------------- */

/* The item at a dotted path ("backtest.model.sharpe"; numbers index arrays). */
static cJSON *jget(const cJSON *o, const char *path)
{
    char seg[256];
    while (o && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        snprintf(seg, sizeof seg, "%.*s", (int)n, path);
        if (cJSON_IsArray(o)) {
            char *end;
            long i = strtol(seg, &end, 10);
            o = *seg && !*end ? cJSON_GetArrayItem(o, (int)i) : NULL;
        } else {
            o = cJSON_GetObjectItemCaseSensitive(o, seg);
        }
        path += n + (dot ? 1 : 0);
    }
    return (cJSON *)o;
}

static double jnum(const cJSON *o, const char *path)
{
    const cJSON *v = jget(o, path);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *jstr(const cJSON *o, const char *path)
{
    const cJSON *v = jget(o, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- HTML pieces --------------------------------------------------------------- */

/* The one number format of the report: integers whole, very large or small
 * values in scientific notation, the rest with 4 decimals. */
static void fmt_num(double v, int decimals, char out[48])
{
    double a = fabs(v);
    if (decimals >= 0)
        snprintf(out, 48, "%.*f", decimals, v);
    else if (v == floor(v) && a < 1e15)
        snprintf(out, 48, "%.0f", v);
    else if (a >= 1e5 || a < 1e-3)
        snprintf(out, 48, "%.3e", v);
    else
        snprintf(out, 48, "%.4f", v);
}

static void put_key(vfr_svg_buf *b, int file, const char *path)
{
    if (file < 0 || !path)
        return;
    vfri_svg_printf(b, " data-key=\"%.*s:", key_len(file), file_name(file));
    vfri_svg_esc(b, path);
    vfri_svg_puts(b, "\"");
}

/* <tag class="num" data-key="file:path">v</tag>; NaN prints a dash, unkeyed. */
static void num(vfr_svg_buf *b, const char *tag, double v, int decimals, int file, const char *path)
{
    if (!isfinite(v)) {
        vfri_svg_printf(b, "<%s class=\"num na\">&#8212;</%s>", tag, tag);
        return;
    }
    char s[48];
    fmt_num(v, decimals, s);
    vfri_svg_printf(b, "<%s class=\"num\"", tag);
    put_key(b, file, path);
    vfri_svg_printf(b, ">%s</%s>", s, tag);
}

/* The number at path of file j, keyed. */
static void jnum_out(rr *r, const char *tag, int file, const char *path, int decimals)
{
    num(r->b, tag, jnum(r->j[file], path), decimals, file, path);
}

/* A 0-based index at path of file j, printed 1-based ("round 24 of 200", as
 * the log says it); data-offset tells a reader of the page what was added. */
static void jnum_out_1based(rr *r, const char *tag, int file, const char *path)
{
    double v = jnum(r->j[file], path);
    if (!isfinite(v)) {
        num(r->b, tag, v, -1, -1, NULL);
        return;
    }
    vfri_svg_printf(r->b, "<%s class=\"num\"", tag);
    put_key(r->b, file, path);
    vfri_svg_printf(r->b, " data-offset=\"1\">%.0f</%s>", v + 1, tag);
}

/* The string at path of file j, escaped and keyed; a dash when absent. */
static void jstr_out(rr *r, const char *tag, int file, const char *path)
{
    const char *s = jstr(r->j[file], path);
    vfr_svg_buf *b = r->b;
    if (!s) {
        vfri_svg_printf(b, "<%s class=\"na\">&#8212;</%s>", tag, tag);
        return;
    }
    vfri_svg_printf(b, "<%s", tag);
    put_key(b, file, path);
    vfri_svg_puts(b, ">");
    vfri_svg_esc(b, s);
    vfri_svg_printf(b, "</%s>", tag);
}

/* Any JSON value as short text: strings as they are, the rest as JSON. */
static void json_text(vfr_svg_buf *b, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        vfri_svg_esc(b, v->valuestring);
        return;
    }
    char *s = cJSON_PrintUnformatted(v);
    if (!s) {
        b->oom = 1;
        return;
    }
    vfri_svg_esc(b, s);
    free(s);
}

/* "key = value, ..." of an object (hyperparameters). */
static void kv_list(vfr_svg_buf *b, const cJSON *o)
{
    if (!cJSON_IsObject(o) || !o->child) {
        vfri_svg_puts(b, "<span class=\"na\">&#8212;</span>");
        return;
    }
    vfri_svg_puts(b, "<span class=\"params\">");
    for (const cJSON *c = o->child; c; c = c->next) {
        vfri_svg_puts(b, "<span class=\"param\"><b>");
        vfri_svg_esc(b, c->string);
        vfri_svg_puts(b, "</b>&#8239;=&#8239;");
        json_text(b, c);
        vfri_svg_puts(b, c->next ? "</span>, " : "</span>");
    }
    vfri_svg_puts(b, "</span>");
}

static void dt(vfr_svg_buf *b, const char *name)
{
    vfri_svg_puts(b, "<dt>");
    vfri_svg_esc(b, name);
    vfri_svg_puts(b, "</dt>");
}

static void note(vfr_svg_buf *b, const char *id, const char *text, const char *detail)
{
    vfri_svg_puts(b, "<p class=\"note\"");
    if (id)
        vfri_svg_printf(b, " id=\"%s\"", id);
    vfri_svg_puts(b, ">");
    vfri_svg_esc(b, text);
    if (detail) {
        vfri_svg_puts(b, " (");
        vfri_svg_esc(b, detail);
        vfri_svg_puts(b, ")");
    }
    vfri_svg_puts(b, "</p>\n");
}

static void figure_begin(vfr_svg_buf *b, const char *cls)
{
    vfri_svg_printf(b, "<figure class=\"%s\">", cls ? cls : "wide");
}

static void figure_end(vfr_svg_buf *b, const char *caption)
{
    vfri_svg_puts(b, "<figcaption>");
    vfri_svg_esc(b, caption);
    vfri_svg_puts(b, "</figcaption></figure>\n");
}

/* ---- computations ------------------------------------------------------------ */

/* The prediction rows of dates [t0, t1) as a panel; off: [t1 - t0 + 1]. */
static void sub_panel(const vfr_predictions *p, int32_t t0, int32_t t1, int64_t *off, vfr_panel *out)
{
    int64_t r0 = p->date_offset[t0];
    for (int32_t t = t0; t <= t1; t++)
        off[t - t0] = p->date_offset[t] - r0;
    out->N = p->date_offset[t1] - r0;
    out->T = t1 - t0;
    out->S = p->S;
    out->date_offset = off;
    out->symbol = p->symbol + r0;
    out->label = p->label + r0;
    out->fwd = p->fwd ? p->fwd + r0 : NULL;
    out->fwd1 = p->fwd1 ? p->fwd1 + r0 : NULL;
}

/* The metrics table of the first score vector on dates [t0, t1). */
static vfr_status panel_metrics(const vfr_predictions *p, int32_t t0, int32_t t1, int64_t *off,
                                double row[VFR_METRIC_COUNT])
{
    vfr_panel pn;
    vfr_metrics_options o;
    vfr_metrics_options_default(&o);
    o.task = p->task;
    o.threads = 1;
    sub_panel(p, t0, t1, off, &pn);
    return vfr_metrics_batch_cpu(&pn, p->score + p->date_offset[t0], 1, &o, row);
}

static int32_t date_of(const vfr_predictions *p, int32_t t)
{
    return p->date[p->date_offset[t]];
}

typedef struct scored {
    float s;
    int pos;
} scored;

static int by_score_desc(const void *a, const void *b)
{
    float x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x < y) - (x > y);
}

/* ---- header ------------------------------------------------------------------ */

/* The header's last box: build, device, libraries and the wall time of each
 * step. */
static void hdr_environment(rr *r)
{
    vfr_svg_buf *b = r->b;
    const cJSON *man = r->j[F_MANIFEST];
    vfri_svg_puts(b, "<section id=\"environment\"><h3>Build, device and wall time</h3><dl class=\"kv\">");
    dt(b, "vfr version");
    jstr_out(r, "dd", F_MANIFEST, "vfrVersion");
    dt(b, "device");
    vfri_svg_puts(b, "<dd>");
    jstr_out(r, "span", F_MANIFEST, "device.used");
    vfri_svg_puts(b, " (asked ");
    jstr_out(r, "span", F_MANIFEST, "device.asked");
    vfri_svg_puts(b, ", model on ");
    jstr_out(r, "span", F_MANIFEST, "device.model");
    vfri_svg_puts(b, ")");
    if (jstr(man, "device.name")) {
        vfri_svg_puts(b, " ");
        jstr_out(r, "span", F_MANIFEST, "device.name");
    }
    vfri_svg_puts(b, "</dd>");
    const cJSON *libs = jget(man, "libraries");
    if (cJSON_IsObject(libs)) {
        dt(b, "libraries");
        vfri_svg_puts(b, "<dd>");
        kv_list(b, libs);
        vfri_svg_puts(b, "</dd>");
    }
    /* one row of step names over one row of seconds: short enough for the header */
    vfri_svg_puts(b, "</dl>\n<h3>Wall time of each step (seconds)</h3><div class=\"scroll\"><table id=\"table-steps\"><tr>");
    const cJSON *steps = jget(man, "stepSeconds");
    for (const cJSON *s = steps ? steps->child : NULL; s; s = s->next) {
        vfri_svg_puts(b, "<th class=\"num\">");
        vfri_svg_esc(b, s->string);
        vfri_svg_puts(b, "</th>");
    }
    vfri_svg_puts(b, "<th class=\"num\">total</th></tr><tr>");
    double total = 0;
    for (const cJSON *s = steps ? steps->child : NULL; s; s = s->next) {
        char path[300];
        snprintf(path, sizeof path, "stepSeconds.%s", s->string);
        jnum_out(r, "td", F_MANIFEST, path, 2);
        if (cJSON_IsNumber(s))
            total += s->valuedouble;
    }
    vfri_svg_puts(b, "<td class=\"num total\">");
    char ts[48];
    fmt_num(total, 2, ts);
    vfri_svg_puts(b, ts);
    vfri_svg_puts(b, "</td>");
    vfri_svg_puts(b, "</tr></table></div></section>\n");
}

static void sec_header(rr *r)
{
    vfr_svg_buf *b = r->b;
    const cJSON *man = r->j[F_MANIFEST], *job = r->j[F_JOB];
    const char *job_id = jstr(man, "jobId") ? jstr(man, "jobId") : jstr(job, "jobId");
    vfri_svg_puts(b, "<header id=\"header\">\n<h1>Run report: ");
    if (jstr(man, "jobId"))
        jstr_out(r, "span", F_MANIFEST, "jobId");
    else
        vfri_svg_esc(b, job_id ? job_id : "(no job id)");
    vfri_svg_puts(b, "</h1>\n<p class=\"sub\">");
    vfri_svg_esc(b, jstr(job, "modelName"));
    vfri_svg_puts(b, " &#183; ");
    vfri_svg_esc(b, jstr(job, "modelType"));
    vfri_svg_puts(b, " &#183; target ");
    vfri_svg_esc(b, jstr(job, "targetVariable"));
    vfri_svg_puts(b, " &#183; ");
    vfri_svg_esc(b, jstr(r->j[F_METRICS], "task"));
    vfri_svg_puts(b, " &#183; created ");
    vfri_svg_esc(b, jstr(man, "createdAt"));
    vfri_svg_puts(b, "</p>\n<div class=\"grid2\">\n");

    /* the job */
    vfri_svg_puts(b, "<section id=\"job\"><h3>Job</h3><dl class=\"kv\">");
    static const char *const job_keys[][2] = {
        {"jobId", "job"}, {"modelName", "model name"}, {"modelVersion", "model version"},
        {"modelType", "model type"}, {"objective", "objective"}, {"targetVariable", "target"},
        {"split.method", "split"}, {"backtest.strategy", "backtest strategy"}, {"priority", "priority"}};
    for (size_t i = 0; i < sizeof job_keys / sizeof job_keys[0]; i++)
        if (jstr(job, job_keys[i][0])) {
            dt(b, job_keys[i][1]);
            jstr_out(r, "dd", F_JOB, job_keys[i][0]);
        }
    dt(b, "horizon (days)");
    jnum_out(r, "dd", F_JOB, "predictionHorizon", -1);
    dt(b, "seed");
    jnum_out(r, "dd", F_MANIFEST, "seed", -1);
    if (!job)
        note(b, NULL, file_name(F_JOB), r->why[F_JOB]);
    vfri_svg_puts(b, "</dl></section>\n");

    /* the dataset */
    vfri_svg_puts(b, "<section id=\"dataset\"><h3>Dataset</h3><dl class=\"kv\">");
    dt(b, "file");
    jstr_out(r, "dd", F_MANIFEST, "dataset.path");
    dt(b, "SHA-256");
    jstr_out(r, "dd", F_MANIFEST, "dataset.sha256");
    dt(b, "dates used");
    vfri_svg_puts(b, "<dd>");
    jstr_out(r, "span", F_MANIFEST, "dataset.dateFirst");
    vfri_svg_puts(b, " to ");
    jstr_out(r, "span", F_MANIFEST, "dataset.dateLast");
    vfri_svg_puts(b, "</dd>");
    dt(b, "rows used");
    jnum_out(r, "dd", F_MANIFEST, "dataset.rows", -1);
    const cJSON *syms = jget(man, "dataset.symbols");
    dt(b, "symbols");
    vfri_svg_printf(b, "<dd id=\"symbols\"><span class=\"count\">%d</span>: ", cJSON_GetArraySize(syms));
    int i = 0;
    for (const cJSON *s = syms ? syms->child : NULL; s; s = s->next, i++) {
        char path[64];
        snprintf(path, sizeof path, "dataset.symbols.%d", i);
        jstr_out(r, "span", F_MANIFEST, path);
        if (s->next)
            vfri_svg_puts(b, ", ");
    }
    vfri_svg_puts(b, "</dd>");
    if (!man)
        note(b, NULL, file_name(F_MANIFEST), r->why[F_MANIFEST]);
    vfri_svg_puts(b, "</dl></section>\n");

    /* the model */
    vfri_svg_puts(b, "<section id=\"model\"><h3>Model</h3><dl class=\"kv\">");
    dt(b, "type");
    jstr_out(r, "dd", F_MANIFEST, "model.type");
    if (jstr(man, "model.description.libraryVersion")) {
        dt(b, "library");
        vfri_svg_puts(b, "<dd>");
        vfri_svg_esc(b, jstr(man, "model.description.library"));
        vfri_svg_puts(b, " ");
        jstr_out(r, "span", F_MANIFEST, "model.description.libraryVersion");
        if (jstr(man, "model.description.libraryPath")) {
            vfri_svg_puts(b, " (");
            jstr_out(r, "span", F_MANIFEST, "model.description.libraryPath");
            vfri_svg_puts(b, ")");
        }
        vfri_svg_puts(b, "</dd>");
    }
    if (isfinite(jnum(man, "model.description.roundsTrained"))) {
        dt(b, "best round");
        vfri_svg_puts(b, "<dd>round ");
        jnum_out_1based(r, "span", F_MANIFEST, "model.description.bestRound");
        vfri_svg_puts(b, " of ");
        jnum_out(r, "span", F_MANIFEST, "model.description.roundsTrained", -1);
        vfri_svg_puts(b, " trained</dd>");
    }
    dt(b, "parameters");
    vfri_svg_puts(b, "<dd>");
    kv_list(b, jget(man, "model.description.hyperparameters") ? jget(man, "model.description.hyperparameters")
                                                               : jget(job, "trainingConfig.hyperparameters"));
    vfri_svg_puts(b, "</dd>");
    const cJSON *best = jget(man, "bestParams") ? jget(man, "bestParams") : jget(r->j[F_METRICS], "search.bestParams");
    if (best) {
        dt(b, "best parameters (search)");
        vfri_svg_puts(b, "<dd id=\"best-params\">");
        kv_list(b, best);
        vfri_svg_puts(b, "</dd>");
    }
    vfri_svg_puts(b, "</dl></section>\n");

    hdr_environment(r);
    vfri_svg_puts(b, "</div>\n</header>\n");
}

/* ---- decision ---------------------------------------------------------------- */

static void registry_line(rr *r)
{
    vfr_svg_buf *b = r->b;
    const cJSON *reg = r->j[F_REGISTRY];
    vfri_svg_puts(b, "<div id=\"registry\"><h3>Registry</h3>");
    if (!reg) {
        note(b, NULL, "Not registered: registry.json", r->why[F_REGISTRY]);
        vfri_svg_puts(b, "</div>\n");
        return;
    }
    /* the format belongs to the registry: show the version and alias where
     * they are named so, and every other top-level value as it is */
    static const char *const version_keys[] = {"version", "modelVersion"};
    static const char *const alias_keys[] = {"alias", "aliases", "stage"};
    vfri_svg_puts(b, "<dl class=\"kv\">");
    for (size_t i = 0; i < 2; i++)
        if (jget(reg, version_keys[i])) {
            dt(b, "version");
            if (cJSON_IsString(jget(reg, version_keys[i])))
                jstr_out(r, "dd", F_REGISTRY, version_keys[i]);
            else {
                vfri_svg_puts(b, "<dd>");
                json_text(b, jget(reg, version_keys[i]));
                vfri_svg_puts(b, "</dd>");
            }
            break;
        }
    for (size_t i = 0; i < 3; i++)
        if (jget(reg, alias_keys[i])) {
            dt(b, "alias");
            if (cJSON_IsString(jget(reg, alias_keys[i])))
                jstr_out(r, "dd", F_REGISTRY, alias_keys[i]);
            else {
                vfri_svg_puts(b, "<dd>");
                json_text(b, jget(reg, alias_keys[i]));
                vfri_svg_puts(b, "</dd>");
            }
            break;
        }
    for (const cJSON *c = reg->child; c; c = c->next) {
        if (cJSON_IsObject(c) || cJSON_IsArray(c) || !strcmp(c->string, "version") ||
            !strcmp(c->string, "modelVersion") || !strcmp(c->string, "alias") || !strcmp(c->string, "stage"))
            continue;
        dt(b, c->string);
        if (cJSON_IsString(c))
            jstr_out(r, "dd", F_REGISTRY, c->string);
        else if (cJSON_IsNumber(c))
            jnum_out(r, "dd", F_REGISTRY, c->string, -1);
        else {
            vfri_svg_puts(b, "<dd>");
            json_text(b, c);
            vfri_svg_puts(b, "</dd>");
        }
    }
    vfri_svg_puts(b, "</dl></div>\n");
}

static void sec_decision(rr *r)
{
    vfr_svg_buf *b = r->b;
    const cJSON *cmp = r->j[F_COMPARISON];
    const cJSON *dep = jget(cmp, "decision.shouldDeploy");
    const char *cls = !cJSON_IsBool(dep) ? "undecided" : cJSON_IsTrue(dep) ? "deploy" : "nodeploy";
    vfri_svg_printf(b, "<section id=\"decision\" class=\"decision %s\">\n<h2>Decision</h2>\n", cls);
    if (!cmp) {
        vfri_svg_puts(b, "<div class=\"verdict\">Not compared</div>");
        note(b, NULL,
             "No deploy decision, p-values, PSR or DSR yet: comparison.json (written by vfr compare RUN_DIR)",
             r->why[F_COMPARISON]);
    } else {
        if (cJSON_IsBool(dep))
            vfri_svg_printf(b, "<div class=\"verdict\" data-key=\"comparison:decision.shouldDeploy\" data-value=\"%s\">%s</div>\n",
                           cJSON_IsTrue(dep) ? "true" : "false", cJSON_IsTrue(dep) ? "Deploy" : "Do not deploy");
        else
            vfri_svg_puts(b, "<div class=\"verdict\">No decision</div>\n");
        vfri_svg_puts(b, "<p class=\"reason\">");
        jstr_out(r, "span", F_COMPARISON, "decision.reason");
        vfri_svg_puts(b, "</p>\n");
    }
    vfri_svg_puts(b, "<div class=\"grid2\">\n<div><dl class=\"kv\">");
    if (cmp) {
        dt(b, "compared with");
        jstr_out(r, "dd", F_COMPARISON, "decision.against");
        dt(b, "Probabilistic Sharpe Ratio (PSR)");
        jnum_out(r, "dd", F_COMPARISON, "psr", -1);
        dt(b, "Deflated Sharpe Ratio (DSR)");
        jnum_out(r, "dd", F_COMPARISON, "dsr", -1);
        dt(b, "trials evaluated");
        jnum_out(r, "dd", F_COMPARISON, "trialsEvaluated", -1);
        if (cJSON_IsObject(jget(cmp, "cpcv"))) { /* split.method cpcv (docs/comparison.md) */
            dt(b, "CPCV backtest paths: Sharpe mean (min, max)");
            vfri_svg_puts(b, "<dd>");
            jnum_out(r, "span", F_COMPARISON, "cpcv.paths", -1);
            vfri_svg_puts(b, " paths, ");
            jnum_out(r, "span", F_COMPARISON, "cpcv.sharpe.mean", -1);
            vfri_svg_puts(b, " (");
            jnum_out(r, "span", F_COMPARISON, "cpcv.sharpe.min", -1);
            vfri_svg_puts(b, ", ");
            jnum_out(r, "span", F_COMPARISON, "cpcv.sharpe.max", -1);
            vfri_svg_puts(b, ")</dd>");
            dt(b, "Probability of Backtest Overfitting (CSCV)");
            vfri_svg_puts(b, "<dd>");
            jnum_out(r, "span", F_COMPARISON, "cpcv.pbo.pbo", -1);
            vfri_svg_puts(b, " over ");
            jnum_out(r, "span", F_COMPARISON, "cpcv.pbo.trials", -1);
            vfri_svg_puts(b, " trials</dd>");
        }
    }
    dt(b, "test period");
    vfri_svg_puts(b, "<dd>");
    jstr_out(r, "span", F_METRICS, "testPeriod.start");
    vfri_svg_puts(b, " to ");
    jstr_out(r, "span", F_METRICS, "testPeriod.end");
    vfri_svg_puts(b, " (");
    jnum_out(r, "span", F_METRICS, "testPeriod.dates", -1);
    vfri_svg_puts(b, " dates)</dd>");
    dt(b, "test Sharpe: model / buy-and-hold");
    vfri_svg_puts(b, "<dd>");
    jnum_out(r, "span", F_METRICS, "backtest.model.sharpe", -1);
    vfri_svg_puts(b, " / ");
    jnum_out(r, "span", F_METRICS, "backtest.buyAndHold.sharpe", -1);
    vfri_svg_puts(b, "</dd></dl>\n");
    registry_line(r);
    vfri_svg_puts(b, "</div>\n<div>");
    const cJSON *checks = jget(cmp, "decision.checks");
    if (cJSON_IsArray(checks)) {
        vfri_svg_puts(b, "<table id=\"table-decision-checks\"><tr><th>check</th><th class=\"num\">value</th>"
                        "<th class=\"num\">threshold</th><th>passed</th></tr>");
        int i = 0;
        for (const cJSON *c = checks->child; c; c = c->next, i++) {
            char p[96];
            vfri_svg_puts(b, "<tr>");
            snprintf(p, sizeof p, "decision.checks.%d.name", i);
            jstr_out(r, "td", F_COMPARISON, p);
            snprintf(p, sizeof p, "decision.checks.%d.value", i);
            jnum_out(r, "td", F_COMPARISON, p, -1);
            snprintf(p, sizeof p, "decision.checks.%d.threshold", i);
            jnum_out(r, "td", F_COMPARISON, p, -1);
            int ok = cJSON_IsTrue(jget(c, "passed"));
            vfri_svg_printf(b, "<td class=\"%s\">%s</td></tr>", ok ? "pass" : "fail", ok ? "yes" : "no");
        }
        vfri_svg_puts(b, "</table>");
    }
    vfri_svg_puts(b, "</div>\n</div>\n");

    const cJSON *bl = jget(cmp, "baselines");
    if (cJSON_IsArray(bl)) {
        /* the hit-rate test over dates (comparison.json's hitRate), or an
         * older file's binomial test over rows */
        int hit = 0;
        for (const cJSON *c = bl->child; c; c = c->next)
            hit |= cJSON_IsObject(jget(c, "hitRate"));
        vfri_svg_printf(b, "<h3>Against each baseline</h3><table id=\"table-baselines\"><tr><th>baseline</th>"
                        "<th class=\"num\">Sharpe gain</th><th class=\"num\">p-value (paired, HAC)</th>"
                        "<th class=\"num\">mean daily difference, CI</th><th class=\"num\">bootstrap Sharpe difference, CI</th>"
                        "<th class=\"num\">%s</th><th>note</th></tr>",
                       hit ? "hit-rate p (over dates)" : "binomial p");
        int i = 0;
        for (const cJSON *c = bl->child; c; c = c->next, i++) {
            char p[128];
            vfri_svg_puts(b, "<tr>");
            snprintf(p, sizeof p, "baselines.%d.name", i);
            jstr_out(r, "td", F_COMPARISON, p);
            snprintf(p, sizeof p, "baselines.%d.improvement.sharpe.absolute", i);
            jnum_out(r, "td", F_COMPARISON, p, -1);
            snprintf(p, sizeof p, "baselines.%d.statisticalSignificance.pValue", i);
            jnum_out(r, "td", F_COMPARISON, p, -1);
            vfri_svg_puts(b, "<td class=\"num\">");
            for (int k = 0; k < 2; k++) {
                snprintf(p, sizeof p, "baselines.%d.statisticalSignificance.confidenceInterval.%d", i, k);
                jnum_out(r, "span", F_COMPARISON, p, -1);
                vfri_svg_puts(b, k ? "" : " to ");
            }
            vfri_svg_puts(b, "</td><td class=\"num\">");
            snprintf(p, sizeof p, "baselines.%d.bootstrap.sharpeDifference", i);
            jnum_out(r, "span", F_COMPARISON, p, -1);
            vfri_svg_puts(b, " [");
            for (int k = 0; k < 2; k++) {
                snprintf(p, sizeof p, "baselines.%d.bootstrap.confidenceInterval.%d", i, k);
                jnum_out(r, "span", F_COMPARISON, p, -1);
                vfri_svg_puts(b, k ? "]" : ", ");
            }
            vfri_svg_puts(b, "</td>");
            snprintf(p, sizeof p, hit ? "baselines.%d.hitRate.pValue" : "baselines.%d.binomial.pValue", i);
            jnum_out(r, "td", F_COMPARISON, p, -1);
            vfri_svg_puts(b, "<td>");
            if (cJSON_IsFalse(jget(c, "available")))
                vfri_svg_puts(b, "<i>not available</i> ");
            vfri_svg_esc(b, jstr(c, "note"));
            vfri_svg_puts(b, "</td></tr>");
        }
        vfri_svg_puts(b, "</table>\n");
        if (hit) {
            vfri_svg_puts(b, "<p class=\"sub\">Hit-rate p: ");
            jstr_out(r, "span", F_COMPARISON, "baselines.0.hitRate.method");
            vfri_svg_puts(b, " (docs/stats.md).</p>\n");
        }
    }
    vfri_svg_puts(b, "</section>\n");
}

/* ---- performance: equity, drawdown, rolling Sharpe ----------------------------- */

static const char *series_name(const rr *r, int m, char buf[32])
{
    if (r->names && r->names[m] && r->names[m][0])
        return r->names[m];
    snprintf(buf, 32, "series %d", m);
    return buf;
}

static vfr_status sec_performance(rr *r)
{
    vfr_svg_buf *b = r->b;
    vfr_status st = VFR_OK;
    vfri_svg_puts(b, "<section id=\"performance\">\n<h2>Performance on the test dates</h2>\n");
    if (!r->daily || r->T < 1) {
        note(b, "note-backtest", "No equity curves: backtest.h5", r->bt_why);
        vfri_svg_puts(b, "</section>\n");
        return VFR_OK;
    }
    const int32_t M = r->M, T = r->T;
    double *eq = malloc(sizeof *eq * (size_t)M * (size_t)T), *dd = malloc(sizeof *dd * (size_t)M * (size_t)T);
    double *rs = malloc(sizeof *rs * (size_t)M * (size_t)T);
    const char **names = malloc(sizeof *names * (size_t)M), **colors = malloc(sizeof *colors * (size_t)M);
    char (*nb)[32] = malloc(sizeof *nb * (size_t)M);
    int *dash = malloc(sizeof *dash * (size_t)M), *order = malloc(sizeof *order * (size_t)M);
    int *under = calloc((size_t)M, sizeof *under);
    if (!eq || !dd || !rs || !names || !colors || !nb || !dash || !order || !under) {
        st = vfr_fail(VFR_ERR_NOMEM, "report: out of memory");
        goto done;
    }
    double elo = 1, ehi = 1, dlo = 0, dhi = 0, rlo = 0, rhi = 0;
    for (int32_t m = 0; m < M; m++) {
        const double *d = r->daily + (size_t)m * T;
        double *e = eq + (size_t)m * T, *w = dd + (size_t)m * T, *s = rs + (size_t)m * T;
        vfr_backtest_equity(d, T, e);
        double peak = 1;
        for (int32_t t = 0; t < T; t++) {
            peak = e[t] > peak ? e[t] : peak;
            w[t] = e[t] / peak - 1;
            s[t] = NAN;
            if (t >= ROLL - 1) { /* annualised, risk-free 0, NaN days count as 0 */
                double mean = 0, ss = 0;
                for (int32_t u = t - ROLL + 1; u <= t; u++)
                    mean += isfinite(d[u]) ? d[u] : 0;
                mean /= ROLL;
                for (int32_t u = t - ROLL + 1; u <= t; u++) {
                    double x = (isfinite(d[u]) ? d[u] : 0) - mean;
                    ss += x * x;
                }
                double sd = sqrt(ss / (ROLL - 1));
                s[t] = sd > 0 ? mean / sd * sqrt(252.0) : NAN;
            }
        }
        vfri_svg_extend(e, T, &elo, &ehi);
        vfri_svg_extend(w, T, &dlo, &dhi);
        vfri_svg_extend(s, T, &rlo, &rhi);
        names[m] = series_name(r, m, nb[m]);
        colors[m] = palette[m % NPAL];
        /* the model and buy-and-hold solid, every other baseline its own dash
         * pattern: a baseline that coincides with another stays visible */
        dash[m] = m <= 1 ? 0 : m - 1;
    }
    /* a baseline with exactly another's returns is drawn over it in even
     * dashes, and the one underneath wider, so that both stay visible */
    for (int32_t m = 2; m < M; m++)
        for (int32_t j = 1; j < m; j++)
            if (!memcmp(r->daily + (size_t)m * T, r->daily + (size_t)j * T, sizeof(double) * (size_t)T)) {
                dash[m] = VFR_SVG_DASH_HALF;
                under[j] = 1;
                break;
            }
    /* drawing order: the solid baselines, then the dashed ones over them, the model on top */
    for (int32_t m = 1, k = 0; m <= M; m++)
        order[k++] = m % M;
    vfri_svg_pad(&elo, &ehi, 0.04);
    vfri_svg_pad(&dlo, &dhi, 0.04);
    vfri_svg_pad(&rlo, &rhi, 0.05);

    char d0[11] = "", d1[11] = "", cap[1024];
    if (r->dates) {
        vfr_date_format(r->dates[0], d0);
        vfr_date_format(r->dates[T - 1], d1);
    }
    const double L = 72, PW = WIDE - L - 24;
    /* equity and, underneath on the same dates, drawdown */
    figure_begin(b, "wide");
    vfri_svg_begin(b, "chart-equity", NULL, WIDE, 452, "Equity curves of the model and the baselines, with drawdown");
    vfri_svg_legend_lines(b, L, 16, names, colors, dash, M);
    vfr_svg_plot pe, pd;
    vfri_svg_plot_init(&pe, b, L, 28, PW, 270, 0, T - 1, elo, ehi);
    pe.dates = r->dates, pe.ndates = r->dates ? T : 0;
    vfri_svg_puts(b, "<g id=\"equity-panel\">");
    vfri_svg_axes(&pe, NULL, "equity (start = 1)", VFR_SVG_X_NONE);
    vfri_svg_hline(&pe, 1.0, "#999", 1, NULL);
    for (int32_t k = 0; k < M; k++) {
        int32_t m = order[k];
        vfri_svg_line(&pe, NULL, eq + (size_t)m * T, T, colors[m], m == 0 ? 2.0 : under[m] ? 3.0 : 1.5, dash[m], "series",
                     names[m]);
    }
    vfri_svg_puts(b, "</g>\n<g id=\"drawdown-panel\">");
    vfri_svg_plot_init(&pd, b, L, 318, PW, 96, 0, T - 1, dlo, dhi > 0 ? dhi : 0);
    pd.dates = pe.dates, pd.ndates = pe.ndates;
    vfri_svg_axes(&pd, NULL, "drawdown", VFR_SVG_Y_PERCENT);
    for (int32_t k = 0; k < M; k++) {
        int32_t m = order[k];
        vfri_svg_line(&pd, NULL, dd + (size_t)m * T, T, colors[m], m == 0 ? 1.6 : under[m] ? 2.6 : 1.2, dash[m], "series",
                     names[m]);
    }
    vfri_svg_puts(b, "</g>\n");
    vfri_svg_end(b);
    int n = snprintf(cap, sizeof cap,
                     "Equity of 1 invested on the first test date (%s to %s, %d dates): daily net returns after "
                     "costs from backtest.h5. Below: drawdown from the running peak.", d0, d1, (int)T);
    /* a baseline that earns exactly what another does hides under it: say so */
    for (int32_t m = 1; m < M && n > 0 && (size_t)n < sizeof cap; m++)
        for (int32_t j = 0; j < m; j++)
            if (!memcmp(r->daily + (size_t)m * T, r->daily + (size_t)j * T, sizeof(double) * (size_t)T)) {
                n += snprintf(cap + n, sizeof cap - (size_t)n, " %s has the same returns as %s (%s).", names[m],
                              names[j], j == 0 ? "drawn under the model's line" : "drawn in even dashes over its wider line");
                break;
            }
    figure_end(b, cap);

    /* rolling Sharpe */
    figure_begin(b, "wide");
    if (T >= ROLL) {
        vfri_svg_begin(b, "chart-rolling-sharpe", NULL, WIDE, 262, "Rolling 63-day Sharpe ratio");
        vfri_svg_legend_lines(b, L, 16, names, colors, dash, M);
        vfr_svg_plot ps;
        vfri_svg_plot_init(&ps, b, L, 28, PW, 200, 0, T - 1, rlo, rhi);
        ps.dates = pe.dates, ps.ndates = pe.ndates;
        vfri_svg_axes(&ps, NULL, "Sharpe (annualised)", 0);
        vfri_svg_hline(&ps, 0.0, "#999", 1, NULL);
        for (int32_t k = 0; k < M; k++) {
            int32_t m = order[k];
            vfri_svg_line(&ps, NULL, rs + (size_t)m * T, T, colors[m], m == 0 ? 1.8 : under[m] ? 2.6 : 1.2, dash[m],
                         "series", names[m]);
        }
        vfri_svg_end(b);
        figure_end(b, "Sharpe ratio over the last 63 trading days (mean / std of daily returns x sqrt(252), "
                      "risk-free rate 0), from the 63rd test date on.");
    } else {
        vfri_svg_puts(b, "<p class=\"note\" id=\"chart-rolling-sharpe\">");
        vfri_svg_printf(b, "No rolling 63-day Sharpe: the test period has only %d dates.</p></figure>\n", (int)T);
    }
done:
    vfri_svg_puts(b, "</section>\n");
    free(eq), free(dd), free(rs), free(names), free(colors), free(nb), free(dash), free(order), free(under);
    return st;
}

/* ---- classifier: ROC, calibration, confusion ----------------------------------- */

static vfr_status sec_classifier(rr *r)
{
    vfr_svg_buf *b = r->b;
    vfr_status st = VFR_OK;
    scored *v = NULL;
    double *fx = NULL, *fy = NULL;
    vfri_svg_puts(b, "<section id=\"classifier\">\n<h2>Classifier</h2>\n");
    if (!r->classification) {
        note(b, "note-regression",
             "Regression run: the ROC curve, calibration plot and confusion matrix apply to direction "
             "(classification) runs and are left out; the regression metrics are in the tables below.", NULL);
        goto done;
    }
    vfri_svg_puts(b, "<div class=\"row\">\n");
    const vfr_predictions *p = r->pred;
    int64_t n = 0, P = 0;
    if (p) {
        v = malloc(sizeof *v * (size_t)(p->N ? p->N : 1));
        if (!v) {
            st = vfr_fail(VFR_ERR_NOMEM, "report: out of memory");
            goto done;
        }
        for (int64_t i = 0; i < p->N; i++)
            if (isfinite(p->score[i]) && isfinite(p->label[i])) {
                v[n].s = p->score[i];
                v[n].pos = p->label[i] == 1.0f;
                P += v[n].pos;
                n++;
            }
    }
    int64_t Nn = n - P;
    if (!p) {
        note(b, "note-roc", "No ROC curve or calibration plot: predictions.h5", r->pred_why);
    } else if (P == 0 || Nn == 0) {
        note(b, "note-roc", "No ROC curve: the test rows hold one class only", NULL);
    } else {
        /* ROC: one point per distinct score, from the highest down; the area
         * counted in integers as metrics.c does (ties count one half) */
        qsort(v, (size_t)n, sizeof *v, by_score_desc);
        fx = malloc(sizeof *fx * (size_t)(n + 1));
        fy = malloc(sizeof *fy * (size_t)(n + 1));
        if (!fx || !fy) {
            st = vfr_fail(VFR_ERR_NOMEM, "report: out of memory");
            goto done;
        }
        int64_t g = 0, tp = 0, fp = 0;
        unsigned long long twice = 0;
        fx[0] = fy[0] = 0;
        for (int64_t i = 0; i < n;) {
            int64_t j = i, pg = 0;
            while (j < n && v[j].s == v[i].s)
                pg += v[j++].pos;
            int64_t ng = (j - i) - pg;
            twice += (unsigned long long)ng * (unsigned long long)(2 * tp + pg);
            tp += pg, fp += ng;
            g++;
            fx[g] = (double)fp / (double)Nn;
            fy[g] = (double)tp / (double)P;
            i = j;
        }
        double auc = (double)twice / (2.0 * (double)P * (double)Nn);
        figure_begin(b, "third");
        vfri_svg_begin(b, "chart-roc", NULL, 350, 340, "ROC curve of the test rows");
        vfr_svg_plot pr;
        vfri_svg_plot_init(&pr, b, 56, 14, 278, 278, 0, 1, 0, 1);
        vfri_svg_axes(&pr, "false positive rate", "true positive rate", 0);
        double diag[2] = {0, 1};
        vfri_svg_line(&pr, diag, diag, 2, "#999", 1, 1, "diagonal", NULL);
        vfri_svg_line(&pr, fx, fy, g + 1, palette[0], 2, 0, "series", "roc");
        char a[48];
        fmt_num(auc, -1, a);
        vfri_svg_printf(b, "<text id=\"roc-auc\" class=\"big\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">AUC "
                          "<tspan data-key=\"metrics:test.roc_auc\">%s</tspan></text>",
                       56 + 278 - 8.0, 14 + 278 - 12.0, a);
        vfri_svg_end(b);
        char cap[256];
        snprintf(cap, sizeof cap, "ROC of the %lld scored test rows (%lld up, %lld down), one point per distinct score.",
                 (long long)n, (long long)P, (long long)Nn);
        figure_end(b, cap);

        /* calibration: bins of equal row count, in ascending score */
        double cx[CAL_BINS], cy[CAL_BINS], lo = INFINITY, hi = -INFINITY;
        int nb = n < CAL_BINS ? (int)n : CAL_BINS;
        for (int k = 0; k < nb; k++) {
            int64_t a0 = n - (k + 1) * n / nb, a1 = n - k * n / nb; /* v is descending */
            double ss = 0, sp = 0;
            for (int64_t i = a0; i < a1; i++)
                ss += v[i].s, sp += v[i].pos;
            cx[k] = ss / (double)(a1 - a0);
            cy[k] = sp / (double)(a1 - a0);
        }
        vfri_svg_extend(cx, nb, &lo, &hi);
        vfri_svg_extend(cy, nb, &lo, &hi);
        vfri_svg_pad(&lo, &hi, 0.08);
        figure_begin(b, "third");
        vfri_svg_begin(b, "chart-calibration", NULL, 350, 340, "Calibration: predicted probability against realised frequency");
        vfr_svg_plot pc;
        vfri_svg_plot_init(&pc, b, 56, 14, 278, 278, lo, hi, lo, hi);
        vfri_svg_axes(&pc, "mean predicted probability", "share of up moves", 0);
        double dg[2] = {pc.x0, pc.x1};
        vfri_svg_line(&pc, dg, dg, 2, "#999", 1, 1, "diagonal", NULL);
        vfri_svg_line(&pc, cx, cy, nb, palette[0], 1.6, 0, "series", "calibration");
        vfri_svg_points(&pc, cx, cy, nb, palette[0], 3.5, 0, "bins");
        vfri_svg_end(b);
        figure_end(b, "Test rows in 10 bins of equal count by predicted probability: the mean prediction "
                      "against the share that went up. On the dashed line the probabilities are calibrated.");
    }

    /* confusion matrix, from metrics.json at the 0.5 threshold */
    const cJSON *m = r->j[F_METRICS];
    double cm[4] = {jnum(m, "test.tn"), jnum(m, "test.fp"), jnum(m, "test.fn"), jnum(m, "test.tp")};
    char txt[4][48];
    const char *texts[4], *keys[4] = {"metrics:test.tn", "metrics:test.fp", "metrics:test.fn", "metrics:test.tp"};
    for (int k = 0; k < 4; k++) {
        fmt_num(cm[k], -1, txt[k]);
        texts[k] = isfinite(cm[k]) ? txt[k] : "-";
        if (!isfinite(cm[k]))
            keys[k] = NULL;
    }
    static const char *const rl[2] = {"actual down (0)", "actual up (1)"};
    static const char *const cl[2] = {"predicted down", "predicted up"};
    figure_begin(b, "third");
    vfri_svg_begin(b, "chart-confusion", NULL, 350, 340, "Confusion matrix of the test rows");
    vfri_svg_heatmap(b, 112, 40, 112, 92, 2, 2, cm, texts, keys, rl, cl);
    vfri_svg_puts(b, "<text x=\"112\" y=\"270\" class=\"note\">accuracy <tspan data-key=\"metrics:test.accuracy\">");
    char s[48];
    fmt_num(jnum(m, "test.accuracy"), -1, s);
    vfri_svg_puts(b, s);
    vfri_svg_puts(b, "</tspan>, precision <tspan data-key=\"metrics:test.precision\">");
    fmt_num(jnum(m, "test.precision"), -1, s);
    vfri_svg_puts(b, s);
    vfri_svg_puts(b, "</tspan></text><text x=\"112\" y=\"288\" class=\"note\">recall <tspan data-key=\"metrics:test.recall\">");
    fmt_num(jnum(m, "test.recall"), -1, s);
    vfri_svg_puts(b, s);
    vfri_svg_puts(b, "</tspan>, F1 <tspan data-key=\"metrics:test.f1\">");
    fmt_num(jnum(m, "test.f1"), -1, s);
    vfri_svg_puts(b, s);
    vfri_svg_puts(b, "</tspan></text>");
    vfri_svg_end(b);
    figure_end(b, "Rows by actual and predicted direction (up when the probability is above 0.5), from metrics.json.");
    vfri_svg_puts(b, "</div>\n");
done:
    vfri_svg_puts(b, "</section>\n");
    free(v), free(fx), free(fy);
    return st;
}

/* ---- signal: daily IC and rank IC ---------------------------------------------- */

static void ic_panel(rr *r, double top, const double *v, int32_t T, const int32_t *dates, double lo,
                     double hi, const char *what, const char *key, const char *color, int last)
{
    vfr_svg_buf *b = r->b;
    vfr_svg_plot p;
    vfri_svg_plot_init(&p, b, 72, top, WIDE - 96, 150, -0.5, T - 0.5, lo, hi);
    p.dates = dates, p.ndates = dates ? T : 0;
    vfri_svg_axes(&p, NULL, what, last ? 0 : VFR_SVG_X_NONE);
    vfri_svg_bars(&p, NULL, v, T, 0.8, color, "bars");
    double mean = 0;
    int32_t c = 0;
    for (int32_t t = 0; t < T; t++)
        if (isfinite(v[t]))
            mean += v[t], c++;
    mean = c ? mean / c : NAN;
    vfri_svg_hline(&p, mean, "#d62728", 0, NULL);
    char s[48];
    fmt_num(mean, -1, s);
    vfri_svg_printf(b, "<text class=\"big\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">mean %s <tspan data-key=\"metrics:%s\">%s</tspan></text>\n",
                   p.left + p.width, top - 6, what, key, isfinite(mean) ? s : "-");
}

static vfr_status sec_signal(rr *r)
{
    vfr_svg_buf *b = r->b;
    vfr_status st = VFR_OK;
    const vfr_predictions *p = r->pred;
    double *ic = NULL, *ric = NULL;
    int32_t *dates = NULL;
    vfri_svg_puts(b, "<section id=\"signal\">\n<h2>Signal: daily IC and rank IC</h2>\n");
    if (!p || p->T < 1) {
        note(b, "note-ic", "No daily IC: predictions.h5", p ? "no test rows" : r->pred_why);
        goto done;
    }
    const int32_t T = p->T;
    int64_t off[2];
    ic = malloc(sizeof *ic * (size_t)T);
    ric = malloc(sizeof *ric * (size_t)T);
    dates = malloc(sizeof *dates * (size_t)T);
    if (!ic || !ric || !dates) {
        st = vfr_fail(VFR_ERR_NOMEM, "report: out of memory");
        goto done;
    }
    double lo = 0, hi = 0;
    for (int32_t t = 0; t < T; t++) {
        double row[VFR_METRIC_COUNT];
        if ((st = panel_metrics(p, t, t + 1, off, row)) != VFR_OK)
            goto done;
        ic[t] = row[VFR_METRIC_IC];
        ric[t] = row[VFR_METRIC_RANK_IC];
        dates[t] = date_of(p, t);
    }
    /* IC is a correlation across the names of one date: it needs at least 2 */
    int32_t with_ic = 0, few = 0;
    for (int32_t t = 0; t < T; t++) {
        with_ic += isfinite(ic[t]);
        few += p->date_offset[t + 1] - p->date_offset[t] < 2;
    }
    if (with_ic == 0) {
        char why[256];
        snprintf(why, sizeof why,
                 few == T ? "every test date has fewer than 2 names (this run has %d symbol%s)"
                          : "no test date has 2 names with distinct scores and returns (%d symbol%s)",
                 (int)p->S, p->S == 1 ? "" : "s");
        vfri_svg_puts(b, "<p class=\"note\" id=\"chart-ic\">No daily IC or rank IC: they are correlations across "
                        "the names of one date and need at least 2 names a date; ");
        vfri_svg_esc(b, why);
        vfri_svg_puts(b, ". The model metrics and the backtest above do not depend on them.</p>\n");
        goto done;
    }
    vfri_svg_extend(ic, T, &lo, &hi);
    vfri_svg_extend(ric, T, &lo, &hi);
    vfri_svg_pad(&lo, &hi, 0.05);
    figure_begin(b, "wide");
    vfri_svg_begin(b, "chart-ic", NULL, WIDE, 396, "Daily IC and rank IC of the test dates");
    vfri_svg_puts(b, "<g id=\"ic-panel\">");
    ic_panel(r, 24, ic, T, dates, lo, hi, "IC", "test.ic", palette[0], 0);
    vfri_svg_puts(b, "</g><g id=\"rank-ic-panel\">");
    ic_panel(r, 206, ric, T, dates, lo, hi, "rank IC", "test.rank_ic", palette[2], 1);
    vfri_svg_puts(b, "</g>");
    vfri_svg_end(b);
    char icap[512];
    int nc = snprintf(icap, sizeof icap,
                      "Per test date: Pearson (IC) and Spearman (rank IC) correlation across symbols of the score "
                      "with %s; the red line is the mean over dates.",
                      p->fwd ? "the forward return over the horizon" : "the label");
    if (with_ic < T && nc > 0 && (size_t)nc < sizeof icap)
        snprintf(icap + nc, sizeof icap - (size_t)nc,
                 " %d of %d dates have no IC (fewer than 2 names, or no spread in scores or returns).",
                 (int)(T - with_ic), (int)T);
    figure_end(b, icap);
done:
    vfri_svg_puts(b, "</section>\n");
    free(ic), free(ric), free(dates);
    return st;
}

/* ---- features ------------------------------------------------------------------ */

typedef struct feat {
    double v;
    const char *name;
    int idx;
} feat;

static int by_importance(const void *a, const void *b)
{
    const feat *x = a, *y = b;
    if (x->v != y->v)
        return (x->v < y->v) - (x->v > y->v);
    return (x->idx > y->idx) - (x->idx < y->idx);
}

static vfr_status sec_features(rr *r)
{
    vfr_svg_buf *b = r->b;
    const cJSON *fi = jget(r->j[F_METRICS], "featureImportance");
    int F = cJSON_GetArraySize(fi);
    vfri_svg_puts(b, "<section id=\"features\">\n<h2>Feature importance</h2>\n");
    if (F < 1) {
        note(b, "note-importance", "No feature importance in metrics.json", NULL);
        vfri_svg_puts(b, "</section>\n");
        return VFR_OK;
    }
    feat *f = malloc(sizeof *f * (size_t)F);
    double v[TOP_FEATURES];
    const char *labels[TOP_FEATURES];
    if (!f)
        return vfr_fail(VFR_ERR_NOMEM, "report: out of memory");
    int i = 0;
    for (const cJSON *c = fi->child; c; c = c->next, i++) {
        f[i].v = jnum(c, "importance");
        if (!isfinite(f[i].v))
            f[i].v = 0;
        f[i].name = jstr(c, "feature") ? jstr(c, "feature") : "?";
        f[i].idx = i;
    }
    qsort(f, (size_t)F, sizeof *f, by_importance);
    int n = F < TOP_FEATURES ? F : TOP_FEATURES;
    double hi = 0;
    for (int k = 0; k < n; k++) {
        v[k] = f[k].v;
        labels[k] = f[k].name;
        hi = v[k] > hi ? v[k] : hi;
    }
    figure_begin(b, "wide");
    vfri_svg_begin(b, "chart-importance", NULL, WIDE, 20 + 19 * n + 42, "Top features by importance");
    vfr_svg_plot p;
    vfri_svg_plot_init(&p, b, 230, 12, WIDE - 230 - 40, 19 * n, 0, hi > 0 ? hi * 1.05 : 1, 0, 1);
    vfri_svg_hbars(&p, v, labels, n, palette[0],
                  jstr(r->j[F_MANIFEST], "model.type") && !strcmp(jstr(r->j[F_MANIFEST], "model.type"), "linear")
                      ? "importance (|coefficient| of the standardised feature)"
                      : "importance (gain)");
    vfri_svg_end(b);
    char cap[160];
    snprintf(cap, sizeof cap, "The %d most important of %d features (metrics.json featureImportance) of the final model.", n, F);
    figure_end(b, cap);
    free(f);
    vfri_svg_puts(b, "</section>\n");
    return VFR_OK;
}

/* ---- search -------------------------------------------------------------------- */

static void search_summary(rr *r)
{
    vfr_svg_buf *b = r->b;
    const int S = F_SEARCH;
    vfri_svg_puts(b, "<table id=\"table-search\" class=\"kvt\">");
    static const char *const str_keys[][2] = {{"method", "method"}, {"scoringMetric", "scoring metric"},
                                              {"direction", "direction"}};
    for (size_t i = 0; i < 3; i++) {
        vfri_svg_printf(b, "<tr><th>%s</th>", str_keys[i][1]);
        jstr_out(r, "td", S, str_keys[i][0]);
        vfri_svg_puts(b, "</tr>");
    }
    static const char *const num_keys[][2] = {
        {"nFolds", "folds"}, {"trialsPlanned", "trials planned"}, {"trialsEvaluated", "trials evaluated"},
        {"bestTrial", "best trial"}, {"bestScore.mean", "best score (mean over folds)"},
        {"bestScore.sd", "best score (sd over folds)"}, {"bestRounds", "rounds of the final fit"},
        {"trialSharpeVariance", "variance of the trials' Sharpe ratios"},
        {"optimizationDuration", "search wall time (s)"}};
    for (size_t i = 0; i < sizeof num_keys / sizeof num_keys[0]; i++) {
        vfri_svg_printf(b, "<tr><th>%s</th>", num_keys[i][1]);
        jnum_out(r, "td", S, num_keys[i][0], -1);
        vfri_svg_puts(b, "</tr>");
    }
    vfri_svg_puts(b, "<tr><th>best parameters</th><td>");
    kv_list(b, jget(r->j[S], "bestParams"));
    vfri_svg_puts(b, "</td></tr></table>\n");
}

/* A scatter of trial scores against one parameter. */
static void param_plot(rr *r, const cJSON *all, const char *key, const double *score, int P, int best)
{
    vfr_svg_buf *b = r->b;
    double x[4096], lo = INFINITY, hi = -INFINITY, slo = INFINITY, shi = -INFINITY;
    const cJSON *cats[32];
    int ncat = 0, categorical = 0, i = 0;
    if (P > 4096)
        P = 4096;
    for (const cJSON *t = all->child; t && i < P; t = t->next, i++) {
        const cJSON *v = jget(jget(t, "params"), key);
        if (v && !cJSON_IsNumber(v))
            categorical = 1;
    }
    i = 0;
    for (const cJSON *t = all->child; t && i < P; t = t->next, i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(jget(t, "params"), key);
        x[i] = NAN;
        if (!v)
            continue;
        if (!categorical) {
            x[i] = v->valuedouble;
            continue;
        }
        int c = 0;
        while (c < ncat && !cJSON_Compare(cats[c], v, 1))
            c++;
        if (c == ncat && ncat < 32)
            cats[ncat++] = v;
        x[i] = c < ncat ? c : NAN;
    }
    vfri_svg_extend(x, P, &lo, &hi);
    vfri_svg_extend(score, P, &slo, &shi);
    if (categorical)
        lo = -0.5, hi = ncat - 0.5;
    else
        vfri_svg_pad(&lo, &hi, 0.08);
    vfri_svg_pad(&slo, &shi, 0.1);
    vfri_svg_puts(b, "<figure class=\"third\">");
    vfri_svg_begin(b, NULL, "chart-param", 350, 250, key);
    vfri_svg_puts(b, "<g data-param=\"");
    vfri_svg_esc(b, key);
    vfri_svg_puts(b, "\">");
    vfr_svg_plot p;
    vfri_svg_plot_init(&p, b, 64, 12, 270, 190, lo, hi, slo, shi);
    vfri_svg_axes(&p, key, "score", categorical ? VFR_SVG_X_NONE : 0);
    if (categorical)
        for (int c = 0; c < ncat; c++) {
            vfr_svg_buf t = {0};
            json_text(&t, cats[c]);
            /* json_text has escaped the label; vfri_svg_text would escape it twice */
            vfri_svg_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"tick\">%s</text>",
                           vfri_svg_px(&p, c), p.top + p.height + 13, t.s ? t.s : "");
            if (t.oom)
                b->oom = 1;
            vfri_svg_buf_free(&t);
        }
    vfri_svg_points(&p, x, score, P, palette[0], 3.5, 0, "trials");
    if (best >= 0 && best < P)
        vfri_svg_points(&p, x + best, score + best, 1, palette[4], 5, 1, "best");
    vfri_svg_puts(b, "</g>");
    vfri_svg_end(b);
    vfri_svg_puts(b, "</figure>\n");
}

static vfr_status sec_search(rr *r)
{
    vfr_svg_buf *b = r->b;
    const cJSON *s = r->j[F_SEARCH];
    const cJSON *all = jget(s, "allResults");
    if (!s && !jget(r->j[F_METRICS], "search"))
        return VFR_OK; /* no search block: no section */
    vfri_svg_puts(b, "<section id=\"search\">\n<h2>Hyperparameter search</h2>\n");
    if (!s) {
        note(b, "note-search", "The run had a search block, but search.json", r->why[F_SEARCH]);
        vfri_svg_puts(b, "</section>\n");
        return VFR_OK;
    }
    search_summary(r);
    int P = cJSON_GetArraySize(all);
    if (P < 1) {
        note(b, "note-search", "search.json lists no trials", NULL);
        vfri_svg_puts(b, "</section>\n");
        return VFR_OK;
    }
    vfr_status st = VFR_OK;
    double *tx = malloc(sizeof *tx * (size_t)P), *ty = malloc(sizeof *ty * (size_t)P);
    double *run = malloc(sizeof *run * (size_t)P), *lo_sd = malloc(sizeof *lo_sd * (size_t)P);
    double *pruned_y = malloc(sizeof *pruned_y * (size_t)P);
    if (!tx || !ty || !run || !lo_sd || !pruned_y) {
        st = vfr_fail(VFR_ERR_NOMEM, "report: out of memory");
        goto done;
    }
    int best_trial = (int)jnum(s, "bestTrial"), best = -1, i = 0;
    double best_so_far = -INFINITY, lo = INFINITY, hi = -INFINITY;
    for (const cJSON *t = all->child; t; t = t->next, i++) {
        tx[i] = isfinite(jnum(t, "trial")) ? jnum(t, "trial") : i;
        ty[i] = jnum(t, "mean");
        double sd = jnum(t, "sd");
        lo_sd[i] = isfinite(sd) ? sd : 0;
        pruned_y[i] = cJSON_IsTrue(jget(t, "pruned")) ? ty[i] : NAN;
        if (isfinite(ty[i]) && ty[i] > best_so_far)
            best_so_far = ty[i];
        run[i] = isfinite(best_so_far) ? best_so_far : NAN;
        if ((int)tx[i] == best_trial)
            best = i;
        if (isfinite(ty[i])) {
            lo = fmin(lo, ty[i] - lo_sd[i]);
            hi = fmax(hi, ty[i] + lo_sd[i]);
        }
    }
    vfri_svg_pad(&lo, &hi, 0.06);
    double xlo = INFINITY, xhi = -INFINITY;
    vfri_svg_extend(tx, P, &xlo, &xhi);
    xlo -= 0.5, xhi += 0.5;

    /* trial scores in order, with the running best */
    figure_begin(b, "wide");
    vfri_svg_begin(b, "chart-search-trials", NULL, WIDE, 290, "Trial scores in order, with the running best");
    static const char *const lg_names[] = {"trial mean score (+- sd over folds)", "running best", "pruned", "best trial"};
    static const char *const lg_colors[] = {"#1f77b4", "#ff7f0e", "#9467bd", "#d62728"};
    vfri_svg_legend(b, 72, 16, lg_names, lg_colors, 4);
    vfr_svg_plot p;
    vfri_svg_plot_init(&p, b, 72, 28, WIDE - 96, 214, xlo, xhi, lo, hi);
    vfri_svg_axes(&p, "trial", "score (higher is better)", VFR_SVG_X_INT);
    vfri_svg_puts(b, "<g class=\"whiskers\" stroke=\"#9ecae1\" stroke-width=\"1.5\">");
    for (int k = 0; k < P; k++)
        if (isfinite(ty[k]) && lo_sd[k] > 0)
            vfri_svg_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", vfri_svg_px(&p, tx[k]),
                           vfri_svg_py(&p, ty[k] - lo_sd[k]), vfri_svg_px(&p, tx[k]), vfri_svg_py(&p, ty[k] + lo_sd[k]));
    vfri_svg_puts(b, "</g>\n");
    vfri_svg_line(&p, tx, run, P, palette[2], 2, 0, "series running-best", "running best");
    vfri_svg_points(&p, tx, ty, P, palette[0], 3.5, 0, "trials");
    vfri_svg_points(&p, tx, pruned_y, P, palette[5], 4, 1, "pruned");
    if (best >= 0)
        vfri_svg_points(&p, tx + best, ty + best, 1, palette[4], 6, 1, "best");
    vfri_svg_end(b);
    figure_end(b, "Each trial's mean score over the search folds (whiskers: one sd), in trial order; the line "
                  "is the best score so far. Scores where lower is better (log loss) are negated.");

    /* per-parameter scatter of the scores, for the parameters that vary */
    vfri_svg_puts(b, "<h3>Score by parameter</h3><div class=\"row\" id=\"chart-search-params\">\n");
    int plots = 0;
    const cJSON *params0 = jget(all->child, "params");
    for (const cJSON *k = params0 ? params0->child : NULL; k && plots < MAX_PARAM_PLOTS; k = k->next) {
        int varies = 0;
        for (const cJSON *t = all->child; t && !varies; t = t->next) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(jget(t, "params"), k->string);
            varies = !v || !cJSON_Compare(v, k, 1);
        }
        if (varies) {
            param_plot(r, all, k->string, ty, P, best);
            plots++;
        }
    }
    if (!plots)
        note(b, NULL, "Every trial has the same parameters", NULL);
    vfri_svg_puts(b, "</div>\n");

    /* the best trial fold by fold */
    const cJSON *bt = best >= 0 ? cJSON_GetArrayItem(all, best) : NULL;
    const cJSON *folds = jget(bt, "folds");
    int K = cJSON_GetArraySize(folds);
    if (K > 0) {
        double fx[256], fy[256], flo = INFINITY, fhi = -INFINITY;
        if (K > 256)
            K = 256;
        int k = 0;
        for (const cJSON *f = folds->child; f && k < K; f = f->next, k++) {
            fx[k] = isfinite(jnum(f, "fold")) ? jnum(f, "fold") : k;
            fy[k] = jnum(f, "score");
        }
        vfri_svg_extend(fy, K, &flo, &fhi);
        double mean = jnum(s, "bestScore.mean");
        if (isfinite(mean))
            flo = fmin(flo, mean), fhi = fmax(fhi, mean);
        vfri_svg_pad(&flo, &fhi, 0.25);
        figure_begin(b, "wide");
        vfri_svg_begin(b, "chart-search-folds", NULL, WIDE, 250, "Scores of the best trial, fold by fold");
        vfr_svg_plot pf;
        vfri_svg_plot_init(&pf, b, 72, 14, WIDE - 96, 190, -0.5, K - 0.5, flo, fhi);
        vfri_svg_axes(&pf, "search fold", "score", VFR_SVG_X_INT);
        /* dots, not bars: the axis spans the scores only, and a bar's length
         * from a cut axis would exaggerate the differences */
        int cut = flo > 0 || fhi < 0;
        if (cut)
            vfri_svg_axis_break(&pf);
        vfri_svg_hline(&pf, mean, "#d62728", 0, NULL);
        vfri_svg_points(&pf, fx, fy, K, palette[0], 6, 0, "folds");
        char ms[48];
        fmt_num(mean, -1, ms);
        vfri_svg_printf(b, "<text class=\"big\" x=\"%.1f\" y=\"30\" text-anchor=\"end\">trial %d: mean "
                          "<tspan data-key=\"search:bestScore.mean\">%s</tspan></text>",
                       pf.left + pf.width - 6, best_trial, isfinite(mean) ? ms : "-");
        vfri_svg_end(b);
        double smin = INFINITY, smax = -INFINITY;
        vfri_svg_extend(fy, K, &smin, &smax);
        char fcap[400], a[48], c[48], d[48];
        fmt_num(smin, -1, a), fmt_num(smax, -1, c), fmt_num(smax - smin, -1, d);
        snprintf(fcap, sizeof fcap,
                 "The best trial's score on each search fold (dots) and its mean (red line); the folds range from "
                 "%s to %s, a spread of %s.%s",
                 a, c, d, cut ? " The y axis spans the scores only and does not start at 0 (zigzag): read the "
                                "differences on its scale, not as proportions." : "");
        figure_end(b, fcap);
    }
done:
    vfri_svg_puts(b, "</section>\n");
    free(tx), free(ty), free(run), free(lo_sd), free(pruned_y);
    return st;
}

/* ---- walk-forward windows ------------------------------------------------------- */

/* Index range [*t0, *t1) of the prediction dates within [d0, d1]. */
static void date_range(const vfr_predictions *p, int32_t d0, int32_t d1, int32_t *t0, int32_t *t1)
{
    int32_t t = 0;
    while (t < p->T && date_of(p, t) < d0)
        t++;
    *t0 = t;
    while (t < p->T && date_of(p, t) <= d1)
        t++;
    *t1 = t;
}

/* Per fold of split.json: the test rows' metrics (wm [K, 2]), NaN where
 * unknown. Returns K, or -1 when out of memory. */
static int window_metrics(rr *r, double **wm)
{
    const cJSON *folds = jget(r->j[F_SPLIT], "folds");
    int K = cJSON_GetArraySize(folds);
    const vfr_predictions *p = r->pred;
    *wm = NULL;
    if (K < 1)
        return 0;
    double *w = malloc(sizeof *w * 2 * (size_t)K);
    int64_t *off = p ? malloc(sizeof *off * (size_t)(p->T + 1)) : NULL;
    if (!w || (p && !off)) {
        free(w), free(off);
        return -1;
    }
    int k = 0;
    for (const cJSON *f = folds->child; f; f = f->next, k++) {
        w[2 * k] = w[2 * k + 1] = NAN;
        int32_t d0, d1, t0, t1;
        const char *a = jstr(f, "test.ranges.0.start"), *z = jstr(f, "test.ranges.0.end");
        if (!a && !z) /* a run folder from before the split document: sets were bare arrays */
            a = jstr(f, "test.0.start"), z = jstr(f, "test.0.end");
        if (!p || !a || !z || vfr_date_parse(a, &d0) != VFR_OK || vfr_date_parse(z, &d1) != VFR_OK)
            continue;
        date_range(p, d0, d1, &t0, &t1);
        double row[VFR_METRIC_COUNT];
        if (t1 > t0 && panel_metrics(p, t0, t1, off, row) == VFR_OK) {
            w[2 * k] = r->classification ? row[VFR_METRIC_ACCURACY] : row[VFR_METRIC_IC];
            w[2 * k + 1] = r->classification ? row[VFR_METRIC_ROC_AUC] : row[VFR_METRIC_RANK_IC];
        }
        vfr_error_clear();
    }
    free(off);
    *wm = w;
    return K;
}

static void sec_windows(rr *r, const double *wm, int K)
{
    vfr_svg_buf *b = r->b;
    if (K < 2)
        return; /* a holdout: one window, the test period above */
    vfri_svg_puts(b, "<section id=\"windows\">\n<h2>Walk-forward windows</h2>\n");
    if (!r->pred) {
        note(b, "note-windows", "No per-window metrics: predictions.h5", r->pred_why);
        vfri_svg_puts(b, "</section>\n");
        return;
    }
    double x[4096], a[4096], c[4096], lo = INFINITY, hi = -INFINITY;
    int n = K < 4096 ? K : 4096;
    for (int k = 0; k < n; k++)
        x[k] = k, a[k] = wm[2 * k], c[k] = wm[2 * k + 1];
    vfri_svg_extend(a, n, &lo, &hi);
    vfri_svg_extend(c, n, &lo, &hi);
    double ref = r->classification ? 0.5 : 0.0;
    lo = fmin(lo, ref), hi = fmax(hi, ref);
    vfri_svg_pad(&lo, &hi, 0.08);
    const char *na = r->classification ? "accuracy" : "IC", *nc = r->classification ? "ROC AUC" : "rank IC";
    figure_begin(b, "wide");
    vfri_svg_printf(b, "<div data-folds=\"%d\">", K);
    vfri_svg_begin(b, "chart-windows", NULL, WIDE, 290, "Test metrics per walk-forward window");
    const char *names[2] = {na, nc}, *colors[2] = {palette[0], palette[2]};
    vfri_svg_legend(b, 72, 16, names, colors, 2);
    vfr_svg_plot p;
    vfri_svg_plot_init(&p, b, 72, 28, WIDE - 96, 214, -0.5, n - 0.5, lo, hi);
    vfri_svg_axes(&p, "window (fold)", r->classification ? "accuracy / AUC" : "IC / rank IC", VFR_SVG_X_INT);
    vfri_svg_hline(&p, ref, "#999", 1, NULL);
    vfri_svg_line(&p, x, a, n, colors[0], 1.5, 0, "series", na);
    vfri_svg_points(&p, x, a, n, colors[0], 2.6, 0, "windows");
    vfri_svg_line(&p, x, c, n, colors[1], 1.5, 0, "series", nc);
    vfri_svg_points(&p, x, c, n, colors[1], 2.6, 0, "windows");
    vfri_svg_end(b);
    vfri_svg_puts(b, "</div>");
    figure_end(b, r->classification
                      ? "Accuracy and ROC AUC of each window's test rows (predictions.h5 rows in split.json's test "
                        "dates of the fold); the folds' test dates are adjacent and together form the test period."
                      : "Mean daily IC and rank IC of each window's test rows (predictions.h5 rows in split.json's "
                        "test dates of the fold).");
    vfri_svg_puts(b, "</section>\n");
}

/* ---- tables ------------------------------------------------------------------------ */

/* A JSON object as rows of a table; nested objects as nested tables. */
static void json_rows(rr *r, const cJSON *o, int file, const char *prefix, int depth)
{
    vfr_svg_buf *b = r->b;
    int i = 0;
    for (const cJSON *c = o->child; c; c = c->next, i++) {
        char path[512];
        char idx[16];
        snprintf(idx, sizeof idx, "%d", i);
        const char *name = c->string ? c->string : idx;
        if (prefix)
            snprintf(path, sizeof path, "%s.%s", prefix, name);
        else
            snprintf(path, sizeof path, "%s", name);
        vfri_svg_puts(b, "<tr><th>");
        vfri_svg_esc(b, name);
        vfri_svg_puts(b, "</th>");
        if (cJSON_IsNumber(c)) {
            num(b, "td", c->valuedouble, -1, file, path);
        } else if (cJSON_IsString(c)) {
            vfri_svg_puts(b, "<td");
            put_key(b, file, path);
            vfri_svg_puts(b, ">");
            vfri_svg_esc(b, c->valuestring);
            vfri_svg_puts(b, "</td>");
        } else if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && c->child && depth < 4) {
            int scalars = 1;
            for (const cJSON *e = c->child; e; e = e->next)
                scalars &= !(cJSON_IsObject(e) || cJSON_IsArray(e));
            if (cJSON_IsArray(c) && scalars) {
                vfri_svg_puts(b, "<td>");
                for (const cJSON *e = c->child; e; e = e->next) {
                    json_text(b, e);
                    if (e->next)
                        vfri_svg_puts(b, ", ");
                }
                vfri_svg_puts(b, "</td>");
            } else {
                vfri_svg_puts(b, "<td><table class=\"nested\">");
                json_rows(r, c, file, path, depth + 1);
                vfri_svg_puts(b, "</table></td>");
            }
        } else {
            vfri_svg_puts(b, "<td>");
            json_text(b, c);
            vfri_svg_puts(b, "</td>");
        }
        vfri_svg_puts(b, "</tr>");
    }
}

/* split.json's date ranges of one set of a fold, keyed. */
static void ranges(rr *r, int k, const char *set)
{
    vfr_svg_buf *b = r->b;
    char path[128];
    snprintf(path, sizeof path, "folds.%d.%s.ranges", k, set);
    const cJSON *a = jget(r->j[F_SPLIT], path);
    if (!a) { /* a run folder from before the split document: sets were bare arrays */
        snprintf(path, sizeof path, "folds.%d.%s", k, set);
        a = jget(r->j[F_SPLIT], path);
    }
    vfri_svg_puts(b, "<td>");
    if (!cJSON_GetArraySize(a))
        vfri_svg_puts(b, "&#8212;");
    for (int i = 0; i < cJSON_GetArraySize(a); i++) {
        char q[192];
        snprintf(q, sizeof q, "%s.%d.start", path, i);
        jstr_out(r, "span", F_SPLIT, q);
        vfri_svg_puts(b, " to ");
        snprintf(q, sizeof q, "%s.%d.end", path, i);
        jstr_out(r, "span", F_SPLIT, q);
        vfri_svg_puts(b, "<br><small>");
        snprintf(q, sizeof q, "%s.%d.dates", path, i);
        jnum_out(r, "span", F_SPLIT, q, -1);
        vfri_svg_puts(b, " dates, ");
        snprintf(q, sizeof q, "%s.%d.rows", path, i);
        jnum_out(r, "span", F_SPLIT, q, -1);
        vfri_svg_puts(b, " rows</small>");
        if (i + 1 < cJSON_GetArraySize(a))
            vfri_svg_puts(b, "<br>");
    }
    vfri_svg_puts(b, "</td>");
}

/* The split's dates, with each fold's fit and test metrics (wm: [2K] the
 * windows' two test metrics). */
static void tab_split(rr *r, const double *wm, int K)
{
    vfr_svg_buf *b = r->b;
    char path[256];
    vfri_svg_puts(b, "<h3>Split</h3>");
    const cJSON *sp = r->j[F_SPLIT];
    if (!sp) {
        note(b, "table-split", "No split: split.json", r->why[F_SPLIT]);
    } else {
        vfri_svg_puts(b, "<p class=\"sub\">Method ");
        jstr_out(r, "span", F_SPLIT, "method");
        vfri_svg_puts(b, ", horizon ");
        jnum_out(r, "span", F_SPLIT, "horizon", -1);
        vfri_svg_puts(b, ", purge ");
        jnum_out(r, "span", F_SPLIT, "purgeDays", -1);
        vfri_svg_puts(b, " and embargo ");
        jnum_out(r, "span", F_SPLIT, "embargoDays", -1);
        vfri_svg_puts(b, " days; ");
        jnum_out(r, "span", F_SPLIT, "dates", -1);
        vfri_svg_puts(b, " dates, ");
        jnum_out(r, "span", F_SPLIT, "rows", -1);
        vfri_svg_puts(b, " rows.</p>");
        const char *na = r->classification ? "test accuracy" : "test IC";
        const char *nc = r->classification ? "test AUC" : "test rank IC";
        vfri_svg_printf(b, "<table id=\"table-split\"><tr><th>fold</th><th>train</th><th>validation</th><th>test</th>"
                          "<th class=\"num\">purged</th><th class=\"num\">embargoed</th><th class=\"num\">rounds</th>"
                          "<th class=\"num\">best round (1-based)</th><th class=\"num\">%s</th><th class=\"num\">%s</th></tr>",
                       na, nc);
        for (int k = 0; k < cJSON_GetArraySize(jget(sp, "folds")); k++) {
            vfri_svg_printf(b, "<tr><td>%d</td>", k + 1); /* 1-based, as the log's "fold k/K" */
            ranges(r, k, "train");
            ranges(r, k, "validation");
            ranges(r, k, "test");
            snprintf(path, sizeof path, "folds.%d.purgedDates", k);
            jnum_out(r, "td", F_SPLIT, path, -1);
            snprintf(path, sizeof path, "folds.%d.embargoedDates", k);
            jnum_out(r, "td", F_SPLIT, path, -1);
            snprintf(path, sizeof path, "folds.%d.rounds", k);
            jnum_out(r, "td", F_METRICS, path, -1);
            snprintf(path, sizeof path, "folds.%d.bestRound", k);
            jnum_out_1based(r, "td", F_METRICS, path);
            /* a holdout's one window is the test column of the metrics table */
            num(b, "td", k < K ? wm[2 * k] : NAN, -1, -1, NULL);
            num(b, "td", k < K ? wm[2 * k + 1] : NAN, -1, -1, NULL);
            vfri_svg_puts(b, "</tr>");
        }
        vfri_svg_puts(b, "</table>\n");
    }
}

static void sec_tables(rr *r, const double *wm, int K)
{
    vfr_svg_buf *b = r->b;
    const cJSON *m = r->j[F_METRICS];
    char path[256];
    vfri_svg_puts(b, "<section id=\"tables\">\n<h2>Tables</h2>\n<div class=\"grid2\">\n<div>");

    /* model metrics */
    int has_val = jget(m, "validation") != NULL;
    vfri_svg_printf(b, "<h3>Model metrics</h3><table id=\"table-metrics\"><tr><th>metric</th><th class=\"num\">test</th>%s</tr>",
                   has_val ? "<th class=\"num\">validation</th>" : "");
    for (int k = 0; k < VFR_METRIC_COUNT; k++) {
        if (!vfr_metrics_applies(r->classification ? VFR_TASK_CLASSIFICATION : VFR_TASK_REGRESSION, (vfr_metric)k))
            continue;
        const char *name = vfr_metrics_name((vfr_metric)k);
        vfri_svg_printf(b, "<tr><td>%s</td>", name);
        snprintf(path, sizeof path, "test.%s", name);
        jnum_out(r, "td", F_METRICS, path, -1);
        if (has_val) {
            snprintf(path, sizeof path, "validation.%s", name);
            jnum_out(r, "td", F_METRICS, path, -1);
        }
        vfri_svg_puts(b, "</tr>");
    }
    vfri_svg_puts(b, "</table>\n</div>\n<div>");

    /* data quality */
    vfri_svg_puts(b, "<h3>Data quality</h3>");
    if (cJSON_IsObject(r->j[F_QUALITY])) {
        vfri_svg_puts(b, "<table id=\"table-quality\" class=\"kvt\">");
        json_rows(r, r->j[F_QUALITY], F_QUALITY, NULL, 0);
        vfri_svg_puts(b, "</table>\n");
    } else {
        note(b, "table-quality", "No data-quality report: quality.json", r->why[F_QUALITY]);
    }
    vfri_svg_puts(b, "</div>\n</div>\n");

    /* financial metrics of the model and every baseline: full width, and
     * scrolling sideways rather than cut off when there are many baselines */
    const cJSON *cmp = r->j[F_COMPARISON], *bl = jget(cmp, "baselines");
    int has_bh_cmp = 0, bh_index = -1, i = 0;
    vfri_svg_puts(b, "<h3>Backtest: model and baselines</h3><div class=\"scroll\"><table id=\"table-financial\"><tr><th>metric</th>"
                    "<th class=\"num\">model</th><th class=\"num\">buy_and_hold</th>");
    for (const cJSON *c = bl ? bl->child : NULL; c; c = c->next, i++) {
        const char *nm = jstr(c, "name");
        if (nm && !strcmp(nm, "buy_and_hold")) {
            has_bh_cmp = 1;
            bh_index = i;
        } else if (cJSON_IsObject(jget(c, "performance"))) {
            vfri_svg_puts(b, "<th class=\"num\">");
            vfri_svg_esc(b, nm ? nm : "?");
            vfri_svg_puts(b, "</th>");
        }
    }
    vfri_svg_puts(b, "</tr>");
    int fin_net = 0;
    for (int f = 0; f < VFR_FIN_COUNT; f++) {
        const char *name = vfr_backtest_metric_name((vfr_fin)f);
        fin_net |= !strcmp(name, "net_exposure");
        vfri_svg_printf(b, "<tr><td>%s</td>", name);
        snprintf(path, sizeof path, "backtest.model.%s", name);
        jnum_out(r, "td", F_METRICS, path, -1);
        snprintf(path, sizeof path, "backtest.buyAndHold.%s", name);
        jnum_out(r, "td", F_METRICS, path, -1);
        i = 0;
        for (const cJSON *c = bl ? bl->child : NULL; c; c = c->next, i++) {
            const char *nm = jstr(c, "name");
            if ((nm && !strcmp(nm, "buy_and_hold")) || !cJSON_IsObject(jget(c, "performance")))
                continue;
            snprintf(path, sizeof path, "baselines.%d.performance.%s", i, name);
            jnum_out(r, "td", F_COMPARISON, path, -1);
        }
        vfri_svg_puts(b, "</tr>");
    }
    /* exposure to the market (comparison.json: modelExposure, baselines[].exposure) */
    if (cJSON_IsObject(jget(cmp, "modelExposure"))) {
        static const char *const rows[][2] = {{"net", "net exposure"}, {"beta", "beta to buy_and_hold"},
                                              {"alpha", "alpha, annualised (t, HAC)"}};
        for (int k = fin_net ? 1 : 0; k < 3; k++) {
            vfri_svg_printf(b, "<tr class=\"exposure\"><td>%s</td>", rows[k][1]);
            for (int col = -2; col < cJSON_GetArraySize(bl); col++) {
                /* -2: the model, -1: buy_and_hold, then the other baselines with performance */
                const cJSON *c = col >= 0 ? cJSON_GetArrayItem(bl, col) : NULL;
                if (col >= 0) {
                    const char *nm = jstr(c, "name");
                    if ((nm && !strcmp(nm, "buy_and_hold")) || !cJSON_IsObject(jget(c, "performance")))
                        continue;
                }
                int at = col == -2 ? -2 : col == -1 ? bh_index : col;
                char base[64];
                if (at == -2)
                    snprintf(base, sizeof base, "modelExposure");
                else
                    snprintf(base, sizeof base, "baselines.%d.exposure", at);
                if (at == -1) {
                    vfri_svg_puts(b, "<td class=\"num na\">&#8212;</td>");
                    continue;
                }
                snprintf(path, sizeof path, "%s.%s", base, rows[k][0]);
                if (k < 2) {
                    jnum_out(r, "td", F_COMPARISON, path, -1);
                } else {
                    vfri_svg_puts(b, "<td class=\"num\">");
                    jnum_out(r, "span", F_COMPARISON, path, -1);
                    vfri_svg_puts(b, " (t ");
                    snprintf(path, sizeof path, "%s.alphaT", base);
                    jnum_out(r, "span", F_COMPARISON, path, 2);
                    vfri_svg_puts(b, ")</td>");
                }
            }
            vfri_svg_puts(b, "</tr>");
        }
    }
    vfri_svg_puts(b, "</table></div><p class=\"sub\">Strategy ");
    jstr_out(r, "span", F_METRICS, "backtest.strategy");
    vfri_svg_puts(b, ", threshold ");
    jnum_out(r, "span", F_METRICS, "backtest.threshold", -1);
    vfri_svg_puts(b, ", k ");
    jnum_out(r, "span", F_METRICS, "backtest.k", -1);
    vfri_svg_puts(b, ", held ");
    jnum_out(r, "span", F_METRICS, "backtest.holdingDays", -1);
    vfri_svg_puts(b, " days, cost ");
    jnum_out(r, "span", F_METRICS, "backtest.costBps", -1);
    vfri_svg_printf(b, " bps per unit of turnover.%s%s</p>\n",
                   r->j[F_COMPARISON] ? (has_bh_cmp ? " The buy_and_hold column is metrics.json's." : "")
                                      : " No comparison.json: the other baselines are not in this run yet.",
                   cJSON_IsObject(jget(cmp, "modelExposure"))
                       ? " Exposure: mean daily net (long minus short) and gross weight; beta and alpha from the "
                         "regression of daily returns on buy_and_hold's, alpha annualised (x 252) with its "
                         "Newey-West t-statistic."
                       : "");

    tab_split(r, wm, K);
    vfri_svg_puts(b, "</section>\n");
}

/* ---- the page ------------------------------------------------------------------- */

static const char css[] =
    "*{box-sizing:border-box}"
    "body{font:14px/1.45 \"DejaVu Sans\",\"Segoe UI\",Roboto,Helvetica,Arial,sans-serif;color:#222;margin:0;background:#eef0f3}"
    "main{max-width:1140px;margin:0 auto;padding:18px 28px 28px;background:#fff}"
    "h1{font-size:23px;margin:0 0 2px}h2{font-size:17px;margin:26px 0 8px;border-bottom:2px solid #333;padding-bottom:3px}"
    "h3{font-size:14px;margin:12px 0 4px}.sub{color:#555;margin:2px 0 8px}"
    ".grid2{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:6px 32px}"
    "@media (max-width:900px){.grid2{grid-template-columns:minmax(0,1fr)}}"
    ".row{display:flex;flex-wrap:wrap;gap:4px 14px}"
    "dl.kv{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:1px 12px;margin:0;font-size:13px}"
    "dl.kv dt{color:#666}dl.kv dd{margin:0;overflow-wrap:anywhere}"
    "#symbols span{white-space:nowrap}"
    "table{border-collapse:collapse;font-size:12.5px;margin:4px 0 8px}"
    "th,td{padding:2px 8px;border-bottom:1px solid #e4e4e4;text-align:left;vertical-align:top}"
    "th{font-weight:600;color:#444}.num{text-align:right;font-variant-numeric:tabular-nums}td.num{white-space:nowrap}"
    "#table-baselines td.num{white-space:normal}"
    ".scroll{overflow-x:auto;max-width:100%}#table-steps th,#table-steps td{padding:2px 5px}tr.exposure td{background:#fafafa}"
    ".kvt td.num{text-align:left}"
    "table.nested{margin:0}table.nested th,table.nested td{border:0;padding:0 8px 0 0}"
    "td.total{font-weight:600}dd.num{text-align:left}"
    ".decision{border:2px solid #999;border-radius:6px;padding:4px 18px 10px;margin:16px 0;background:#f7f7f7}"
    ".decision h2{border:0;margin:8px 0 0}"
    ".deploy{border-color:#2ca02c;background:#f1faf1}.nodeploy{border-color:#d62728;background:#fdf3f3}"
    ".verdict{font-size:21px;font-weight:700}.deploy .verdict{color:#1d7a1d}.nodeploy .verdict{color:#b21f1f}"
    ".reason{margin:4px 0 8px}.pass{color:#1d7a1d;font-weight:600}.fail{color:#b21f1f;font-weight:600}"
    "figure{margin:6px 0 10px}figure.wide{width:100%}figcaption{font-size:12px;color:#555;max-width:1080px}"
    "figure.third{width:350px;max-width:100%}"
    "svg.chart{max-width:100%;height:auto;display:block}"
    "svg text{font-size:11px;fill:#333}svg .tick{font-size:10.5px;fill:#555}"
    "svg .axis-title{font-size:11.5px;fill:#333}svg .note{font-size:11.5px;fill:#444}"
    "svg .big{font-size:14px;font-weight:700}svg .cell{font-size:17px;font-weight:700}svg .on-dark{fill:#fff}"
    "svg .bar-label{font-size:11.5px}"
    "svg .grid{stroke:#e8e8e8;stroke-width:1}svg .frame{fill:none;stroke:#aaa;stroke-width:1}"
    ".note{color:#666;font-style:italic}.na{color:#999}"
    "footer{margin-top:24px;font-size:12px;color:#777;border-top:1px solid #ddd;padding-top:6px}"
    "@media print{body{background:#fff;font-size:12px}main{max-width:none;padding:0}"
    "figure,table,.decision,header section{break-inside:avoid}h2,h3{break-after:avoid}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}"
    "@page{size:A4;margin:12mm}";

static vfr_status render(rr *r)
{
    vfr_svg_buf *b = r->b;
    vfr_status st = VFR_OK;
    double *wm = NULL;
    const char *job_id = jstr(r->j[F_MANIFEST], "jobId") ? jstr(r->j[F_MANIFEST], "jobId") : jstr(r->j[F_JOB], "jobId");
    vfri_svg_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    "<meta name=\"generator\" content=\"vfr " VFR_VERSION "\">\n<title>vfr run report: ");
    vfri_svg_esc(b, job_id ? job_id : "?");
    vfri_svg_puts(b, "</title>\n<style>");
    vfri_svg_puts(b, css);
    vfri_svg_puts(b, "</style>\n</head>\n<body>\n<main>\n");
    sec_header(r);
    sec_decision(r);
    VFR_TRY(sec_performance(r));
    VFR_TRY(sec_classifier(r));
    VFR_TRY(sec_signal(r));
    VFR_TRY(sec_features(r));
    VFR_TRY(sec_search(r));
    int K = window_metrics(r, &wm);
    if (K < 0) {
        st = vfr_fail(VFR_ERR_NOMEM, "report: out of memory");
        goto fail;
    }
    sec_windows(r, wm, K);
    sec_tables(r, wm, K);
    vfri_svg_puts(b, "<footer>Written by vfr " VFR_VERSION " from the run folder's files");
    for (int f = 0; f < F_SEARCH; f++) /* the optional files are explained where they are used */
        if (!r->j[f]) {
            vfri_svg_printf(b, "; %s: ", file_name(f));
            vfri_svg_esc(b, r->why[f]);
        }
    vfri_svg_puts(b, ". Charts are inline SVG; the page runs no script and fetches nothing.</footer>\n"
                    "</main>\n</body>\n</html>\n");
fail:
    free(wm);
    return st;
}

vfr_status vfr_runreport_write(const char *run_dir, const char *out_path)
{
    vfr_status st = VFR_OK;
    vfr_svg_buf b = {0};
    rr r;
    memset(&r, 0, sizeof r);
    r.b = &b;
    char path[8400], dflt[8400];
    if (!run_dir || !*run_dir)
        return vfr_fail(VFR_ERR_INVALID_ARG, "report: no run folder given");
    for (int f = 0; f < F_COUNT; f++)
        VFR_TRY(load_json(&r, run_dir, f));
    if (!r.j[F_METRICS]) {
        vfr_runfolder_path(run_dir, VFR_RUNFILE_METRICS, path, sizeof path);
        st = vfr_fail(strstr(r.why[F_METRICS], "JSON") ? VFR_ERR_FORMAT : VFR_ERR_NOT_FOUND,
                      "%s: %s; is %s a run folder written by vfr train?", path, r.why[F_METRICS], run_dir);
        goto fail;
    }
    const char *task = jstr(r.j[F_METRICS], "task");
    r.classification = !task || strcmp(task, "regression") != 0;

    if (vfr_runfolder_path(run_dir, VFR_RUNFILE_PREDICTIONS, path, sizeof path) != VFR_OK ||
        vfr_predictions_read(path, VFR_SET_TEST, &r.pred) != VFR_OK) {
        snprintf(r.pred_why, sizeof r.pred_why, "%s", vfr_last_error());
        if (strstr(r.pred_why, "out of memory")) {
            st = vfr_fail(VFR_ERR_NOMEM, "%s", r.pred_why);
            goto fail;
        }
        r.pred = NULL;
        vfr_error_clear();
    } else if (!task) {
        r.classification = r.pred->task == VFR_TASK_CLASSIFICATION;
    }
    if (vfr_runfolder_path(run_dir, VFR_RUNFILE_BACKTEST, path, sizeof path) != VFR_OK ||
        vfr_backtest_read_returns(path, &r.M, &r.T, &r.daily, &r.names) != VFR_OK) {
        snprintf(r.bt_why, sizeof r.bt_why, "%s", vfr_last_error());
        vfr_backtest_free_returns(r.daily, r.names, r.M);
        r.daily = NULL, r.names = NULL, r.M = r.T = 0;
        vfr_error_clear();
    } else {
        r.dates = read_dates(path, r.T);
    }

    VFR_TRY(render(&r));
    if (b.oom) {
        st = vfr_fail(VFR_ERR_NOMEM, "report: out of memory");
        goto fail;
    }
    if (!out_path) {
        VFR_TRY(vfr_runfolder_path(run_dir, VFR_RUNFILE_REPORT, dflt, sizeof dflt));
        out_path = dflt;
    }
    VFR_TRY(vfri_write_file_atomic(out_path, b.s, b.len));
fail:
    for (int f = 0; f < F_COUNT; f++)
        cJSON_Delete(r.j[f]);
    vfr_predictions_free(r.pred);
    vfr_backtest_free_returns(r.daily, r.names, r.M);
    free(r.dates);
    vfri_svg_buf_free(&b);
    return st;
}
