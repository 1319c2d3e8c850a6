/* train.c: the end-to-end training run (train.h).
 *
 * Everything that can be refused as bad input (job, dataset, horizon, model
 * type and hyperparameters, split) is checked before the run folder exists.
 * The folder is then written under <runs>/.<jobId>.tmp.<pid> and renamed over
 * <runs>/<jobId> at the end. Every log line also goes to the folder's
 * log.jsonl, so a run can be read back without its terminal. */
#include "vfr/train.h"
#include "vfr/tune.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "pipeline.h"
#include "runfolder.h"
#include "util.h"
#include "vfr/backtest.h"
#include "vfr/compare.h"
#include "vfr/cpcv.h"
#include "vfr/dataset.h"
#include "vfr/digest.h"
#include "vfr/metrics.h"
#include "vfr/model.h"
#include "vfr/predictions.h"
#include "vfr/prepare.h"
#include "vfr/probe.h"
#include "vfr/registry.h"
#include "vfr/runreport.h"
#include "vfr/split.h"
#include "vfr/lightgbm.h"
#include "vfr/xgboost.h"
#include "vfr_config.h"

/* The run's log: forwards to the caller's reporter and appends JSON lines. */
typedef struct run_log {
    const vfr_reporter *up;
    FILE *f;
} run_log;

static void log_sink(void *user, vfr_log_level level, const char *msg)
{
    run_log *l = user;
    static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    if (l->f) {
        char ts[32];
        vfr_utc_now(ts);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "ts", ts);
        cJSON_AddStringToObject(o, "level", names[level <= VFR_LOG_DEBUG ? level : 2]);
        cJSON_AddStringToObject(o, "cmd", "train");
        cJSON_AddStringToObject(o, "msg", msg);
        char *s = cJSON_PrintUnformatted(o);
        if (s)
            fprintf(l->f, "%s\n", s);
        free(s);
        cJSON_Delete(o);
        fflush(l->f);
    }
    if (l->up && l->up->log)
        l->up->log(l->up->user, level, msg);
}

static void progress_sink(void *user, const char *step, double done, double total)
{
    run_log *l = user;
    vfr_report_progress(l->up, step, done, total);
}

/* Wall time of each step, for the manifest and the report. */
typedef struct timings {
    cJSON *steps;
    double t0;
    const char *step;
} timings;

static void step_begin(timings *t, const vfr_reporter *rep, const char *step, int idx, int total)
{
    t->t0 = vfr_seconds();
    t->step = step;
    vfr_report_log(rep, VFR_LOG_INFO, "step %d/%d: %s", idx, total, step);
    vfr_report_progress(rep, "train", idx - 1, total);
}

static void step_end(timings *t)
{
    cJSON_AddNumberToObject(t->steps, t->step, vfr_seconds() - t->t0);
}

static vfr_status write_json(const char *dir, const char *name, cJSON *o)
{
    char path[8400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *s = cJSON_Print(o);
    if (!s)
        return vfr_fail(VFR_ERR_NOMEM, "train: out of memory");
    vfr_status st = vfr_write_file_atomic(path, s, strlen(s));
    free(s);
    return st;
}

static vfr_status write_text(const char *dir, const char *name, const char *text)
{
    char path[8400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return vfr_write_file_atomic(path, text, strlen(text));
}

static cJSON *metric_table(const double *m)
{
    cJSON *o = cJSON_CreateObject();
    for (int k = 0; k < VFR_METRIC_COUNT; k++)
        if (isfinite(m[k]))
            cJSON_AddNumberToObject(o, vfr_metrics_name((vfr_metric)k), m[k]);
        else
            cJSON_AddNullToObject(o, vfr_metrics_name((vfr_metric)k));
    return o;
}

static cJSON *range_json(const vfr_prepared *p, vfr_range r)
{
    char a[11], b[11];
    cJSON *o = cJSON_CreateObject();
    vfr_date_format(p->dates[r.lo], a);
    vfr_date_format(p->dates[r.hi - 1], b);
    cJSON_AddStringToObject(o, "start", a);
    cJSON_AddStringToObject(o, "end", b);
    cJSON_AddNumberToObject(o, "dates", r.hi - r.lo);
    cJSON_AddNumberToObject(o, "rows", (double)(p->date_row[r.hi] - p->date_row[r.lo]));
    return o;
}

static cJSON *split_json(const vfr_job *job, const vfr_prepared *p, const vfr_split *sp)
{
    static const char *methods[] = {"holdout", "walk_forward", "kfold", "cpcv"};
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "method", methods[job->split.method]);
    cJSON_AddNumberToObject(o, "horizon", job->horizon);
    cJSON_AddNumberToObject(o, "purgeDays", job->split.purge);
    cJSON_AddNumberToObject(o, "embargoDays", job->split.embargo);
    cJSON_AddNumberToObject(o, "dates", p->T);
    cJSON_AddNumberToObject(o, "rows", (double)p->n);
    cJSON *folds = cJSON_AddArrayToObject(o, "folds");
    for (int32_t k = 0; k < sp->K; k++) {
        const vfr_fold *f = &sp->folds[k];
        cJSON *fo = cJSON_CreateObject();
        cJSON_AddNumberToObject(fo, "fold", k);
        const vfr_range *sets[3] = {f->train, f->val, f->test};
        const int32_t ns[3] = {f->n_train, f->n_val, f->n_test};
        static const char *names[3] = {"train", "validation", "test"};
        for (int s = 0; s < 3; s++) {
            cJSON *a = cJSON_AddArrayToObject(fo, names[s]);
            for (int32_t i = 0; i < ns[s]; i++)
                cJSON_AddItemToArray(a, range_json(p, sets[s][i]));
        }
        cJSON_AddNumberToObject(fo, "purgedDates", f->purged);
        cJSON_AddNumberToObject(fo, "embargoedDates", f->embargoed);
        cJSON_AddItemToArray(folds, fo);
    }
    return o;
}

/* The probe set (probe.h): the rows of the last dates of the test period,
 * about 512 rows, with their history inside the slice, and the model's
 * predictions on exactly that slice. */
static vfr_status write_probe(const char *dir, const vfr_prepared *p, vfr_model *m, int32_t te_hi)
{
    int32_t lo = te_hi;
    while (lo > 0 && p->date_row[te_hi] - p->date_row[lo - 1] <= 512)
        lo--;
    if (lo == te_hi)
        lo = te_hi - 1;
    int64_t r0 = p->date_row[lo], n = p->date_row[te_hi] - r0;
    float *X = malloc(sizeof *X * (size_t)(n ? n : 1) * (size_t)(p->F ? p->F : 1)); /* a streamed panel's too */
    vfr_probe pr = {n, p->F, X, malloc(sizeof(int64_t) * (size_t)n), p->date + r0,
                    p->symbol + r0, malloc(sizeof(float) * (size_t)n)};
    vfr_status st = VFR_OK;
    if (!X || !pr.prev_row || !pr.score) {
        st = vfr_fail(VFR_ERR_NOMEM, "train: out of memory");
        goto done;
    }
    if ((st = vfr_prepared_read_features(p, r0, r0 + n, X)) != VFR_OK)
        goto done;
    for (int64_t i = 0; i < n; i++)
        pr.prev_row[i] = p->prev_row[r0 + i] >= r0 && p->prev_row[r0 + i] < r0 + i ? p->prev_row[r0 + i] - r0 : -1;
    if ((st = vfr_probe_predict(m, &pr, pr.score)) == VFR_OK) {
        char path[8400];
        snprintf(path, sizeof path, "%s/probe.h5", dir);
        st = vfr_probe_write(path, &pr);
    }
done:
    free(X);
    free(pr.prev_row);
    free(pr.score);
    return st;
}

/* Scores every row of dates [lo, hi) into score_row (indexed by prepared
 * row): the trainable rows and the tradable rows the gate dropped
 * (prepare.h), each run a contiguous view with its history. */
static vfr_status predict_dates(vfr_model *m, const vfr_prepared *p, int32_t lo, int32_t hi, float *score_row)
{
    const int64_t runs[2][2] = {{p->date_row[lo], p->date_row[hi]}, {p->xdate_row[lo], p->xdate_row[hi]}};
    for (int r = 0; r < 2; r++) {
        int64_t a = runs[r][0], b = runs[r][1];
        if (b <= a)
            continue;
        vfr_dataview *v = NULL;
        vfr_status st = vfr_prepared_view(p, a, b, 0, &v);
        if (st != VFR_OK)
            return st;
        st = vfr_model_predict(m, v, score_row + a);
        vfr_dataview_destroy(v);
        if (st != VFR_OK)
            return st;
    }
    return VFR_OK;
}

/* Share of positive labels among the trainable rows of dates [lo, hi): a
 * fold's majority-class baseline may know this much and no more. */
static double positive_rate(const vfr_prepared *p, int32_t lo, int32_t hi)
{
    int64_t a = p->date_row[lo], b = p->date_row[hi];
    double up = 0;
    for (int64_t i = a; i < b; i++)
        up += p->y[i];
    return b > a ? up / (double)(b - a) : 0.5;
}

/* cpcv: the combinatorial backtest paths of the dates before the test
 * period [0, domain) with the final parameters (López de Prado, ch. 12).
 * Every split's model trains on its longest training block (contiguous, with
 * history, as the search's folds do) and scores its test groups; each group's
 * days go through the job's backtest; path j strings together, group by
 * group, the j-th split that tests each group. The paths' daily returns go to
 * cpcv_paths.h5 and their Sharpe ratios to metrics.json (cpcv). */
static vfr_status cpcv_paths(const vfr_job *job, const vfr_prepared *p, const vfr_model_config *mc, int32_t domain,
                             int32_t rounds, const vfr_backtest_options *bo, vfr_device_kind dev, const char *dir,
                             volatile const int *stop, const vfr_reporter *rep, cJSON *metrics)
{
    vfr_split *cs = NULL;
    vfr_status st = vfr_split_make(&job->split, domain, &cs);
    if (st != VFR_OK) {
        vfr_error_prefix("split (cpcv over the %d dates before the test period): ", domain);
        return st;
    }
    const int32_t G = job->split.groups, kq = job->split.test_groups, K = cs->K, NP = vfr_cpcv_n_paths(G, kq);
    double **dg = calloc((size_t)K * (size_t)G, sizeof *dg);
    float *sc = malloc(sizeof *sc * (size_t)(p->n_all ? p->n_all : 1)), *gs = NULL;
    double *paths = calloc((size_t)NP * (size_t)domain, sizeof *paths), *pf = malloc(sizeof *pf * (size_t)NP * VFR_FIN_COUNT);
    char **names = calloc((size_t)NP, sizeof *names);
    vfr_model *m = NULL;
    vfr_dataview *tr = NULL;
    vfr_trading_view tv = {0};
    if (!dg || !sc || !paths || !pf || !names) {
        st = vfr_fail(VFR_ERR_NOMEM, "train: out of memory for the cpcv paths");
        goto fail;
    }
    for (int32_t s = 0; s < K; s++) {
        const vfr_fold *f = &cs->folds[s];
        vfr_range r = vfr_range_longest(f->train, f->n_train);
        int64_t a = p->date_row[r.lo], b = p->date_row[r.hi];
        VFR_TRY(vfr_prepared_view(p, a, b, 1, &tr));
        vfr_fit_options fo = {0, rounds, stop};
        vfr_fit_result fr;
        VFR_TRY(vfr_model_create(mc, &m));
        VFR_TRY(vfr_model_fit(m, tr, NULL, &fo, &fr));
        int32_t pick[30];
        vfr_cpcv_split_groups(G, kq, s, pick);
        for (int32_t i = 0; i < kq; i++) {
            int32_t glo, ghi, g = pick[i];
            vfr_cpcv_group_range(domain, G, g, &glo, &ghi);
            VFR_TRY(predict_dates(m, p, glo, ghi, sc));
            VFR_TRY(vfr_prepared_trading_view(p, glo, ghi, &tv));
            free(gs);
            if (!(gs = malloc(sizeof *gs * (size_t)(tv.panel.N ? tv.panel.N : 1))) ||
                !(dg[(size_t)s * G + g] = malloc(sizeof **dg * (size_t)(ghi - glo)))) {
                st = vfr_fail(VFR_ERR_NOMEM, "train: out of memory for the cpcv paths");
                goto fail;
            }
            for (int64_t j = 0; j < tv.panel.N; j++)
                gs[j] = sc[tv.row[j]];
            double fin[VFR_FIN_COUNT];
            VFR_TRY(vfr_backtest(dev, &tv.panel, gs, 1, bo, fin, dg[(size_t)s * G + g]));
            vfr_trading_view_free(&tv);
        }
        vfr_model_destroy(m), vfr_dataview_destroy(tr);
        m = NULL, tr = NULL;
        vfr_report_log(rep, VFR_LOG_INFO, "cpcv split %d/%d: %lld training rows, test groups scored", s + 1, K,
                       (long long)(b - a));
        vfr_report_progress(rep, "cpcv", s + 1, K);
    }
    for (int32_t j = 0; j < NP; j++) {
        for (int32_t g = 0; g < G; g++) {
            int32_t glo, ghi, s = vfr_cpcv_path_split(G, kq, g, j);
            vfr_cpcv_group_range(domain, G, g, &glo, &ghi);
            if (s >= 0 && dg[(size_t)s * G + g])
                memcpy(paths + (size_t)j * domain + glo, dg[(size_t)s * G + g], sizeof *paths * (size_t)(ghi - glo));
        }
        char nm[32];
        snprintf(nm, sizeof nm, "path_%d", j);
        if (!(names[j] = vfr_strdup(nm))) {
            st = vfr_fail(VFR_ERR_NOMEM, "train: out of memory");
            goto fail;
        }
    }
    VFR_TRY(vfr_backtest_stats(VFR_DEVICE_CPU, paths, NP, domain, bo, pf));
    char path[8400];
    snprintf(path, sizeof path, "%s/cpcv_paths.h5", dir);
    VFR_TRY(vfr_backtest_write(path, bo, NP, domain, p->dates, (const char *const *)names, paths));
    cJSON *cj = cJSON_AddObjectToObject(metrics, "cpcv");
    cJSON_AddNumberToObject(cj, "groups", G);
    cJSON_AddNumberToObject(cj, "testGroups", kq);
    cJSON_AddNumberToObject(cj, "splits", K);
    cJSON_AddNumberToObject(cj, "paths", NP);
    cJSON_AddNumberToObject(cj, "dates", domain);
    cJSON_AddStringToObject(cj, "file", "cpcv_paths.h5");
    cJSON *ps = cJSON_AddArrayToObject(cj, "pathSharpe");
    double sum = 0, ss = 0, lo = INFINITY, hi = -INFINITY;
    for (int32_t j = 0; j < NP; j++) {
        double v = pf[(size_t)j * VFR_FIN_COUNT + VFR_FIN_SHARPE];
        cJSON_AddItemToArray(ps, isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull());
        sum += v, ss += v * v;
        lo = v < lo ? v : lo, hi = v > hi ? v : hi;
    }
    cJSON *sj = cJSON_AddObjectToObject(cj, "sharpe");
    cJSON_AddNumberToObject(sj, "mean", sum / NP);
    if (NP > 1)
        cJSON_AddNumberToObject(sj, "sd", sqrt(fmax(0.0, (ss - sum * sum / NP) / (NP - 1))));
    cJSON_AddNumberToObject(sj, "min", lo);
    cJSON_AddNumberToObject(sj, "max", hi);
    vfr_report_log(rep, VFR_LOG_INFO, "cpcv: %d backtest paths over %d dates, Sharpe mean %.2f (min %.2f, max %.2f)",
                   NP, domain, sum / NP, lo, hi);
fail:
    for (int64_t i = 0; dg && i < (int64_t)K * G; i++)
        free(dg[i]);
    for (int32_t j = 0; names && j < NP; j++)
        free(names[j]);
    free(dg), free(sc), free(gs), free(paths), free(pf), free(names);
    vfr_model_destroy(m);
    vfr_dataview_destroy(tr);
    vfr_trading_view_free(&tv);
    vfr_split_free(cs);
    return st;
}

/* Moves the search's own files (trial log, result) from one folder to another. */
static vfr_status move_search_files(const char *from, const char *to)
{
    static const char *keep[] = {"trials.jsonl", "search.json"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        char a[8400], b[8400];
        snprintf(a, sizeof a, "%s/%s", from, keep[i]);
        snprintf(b, sizeof b, "%s/%s", to, keep[i]);
        if (access(a, F_OK) == 0 && rename(a, b) != 0)
            return vfr_fail(VFR_ERR_IO, "%s: cannot move %s to %s: %s", from, keep[i], to, strerror(errno));
    }
    return VFR_OK;
}

/* autoRegister / autoDeploy: the finished run goes into the registry; the
 * deploy happens only when the comparison says so and the gate passes. The
 * outcome is written to the run folder (registry.json) and into its report. */
static vfr_status register_run(const vfr_job *job, const vfr_train_options *o, const vfr_reporter *rep,
                               vfr_train_result *res)
{
    vfr_registry *reg = NULL;
    vfr_registry_version *v = NULL;
    const char *given = o->registry_dir ? o->registry_dir : vfr_registry_default_dir();
    char dir[4096]; /* what may be shown: a server's URI without its password */
    db_redact(given, dir, sizeof dir);
    vfr_status st = vfr_registry_open(given, 1, &reg);
    if (st == VFR_OK)
        st = vfr_registry_register_run(reg, res->run_dir, NULL, &v);
    if (st != VFR_OK) {
        vfr_error_prefix("autoRegister (registry %s): ", dir);
        goto done;
    }
    snprintf(res->registered, sizeof res->registered, "%s:%s", v->name, v->version);
    vfr_report_log(rep, VFR_LOG_INFO, "registered %s in %s", res->registered, dir);
    cJSON *rj = cJSON_CreateObject();
    cJSON_AddStringToObject(rj, "registry", dir);
    cJSON_AddStringToObject(rj, "model", v->name);
    cJSON_AddStringToObject(rj, "version", v->version);
    if (job->auto_deploy) {
        vfr_registry_deploy_options d = {0};
        d.as = strcmp(job->deploy_as, "challenger") == 0 ? VFR_REGISTRY_CHALLENGER : VFR_REGISTRY_CHAMPION;
        d.traffic = job->deploy_traffic;
        vfr_registry_auto_result ar;
        if ((st = vfr_registry_auto_deploy(reg, v->name, v->version, &d, NULL, &ar)) != VFR_OK) {
            cJSON_Delete(rj);
            goto done;
        }
        res->deployed = ar.deployed;
        vfr_report_log(rep, VFR_LOG_INFO, "autoDeploy: %s", ar.why);
        cJSON_AddStringToObject(rj, "alias", ar.deployed ? job->deploy_as : "");
        cJSON_AddBoolToObject(rj, "deployed", ar.deployed);
        cJSON_AddStringToObject(rj, "deployReason", ar.why);
    }
    char path[8400];
    snprintf(path, sizeof path, "%s/registry.json", res->run_dir);
    char *s = cJSON_Print(rj);
    cJSON_Delete(rj);
    st = s ? vfr_write_file_atomic(path, s, strlen(s)) : vfr_fail(VFR_ERR_NOMEM, "train: out of memory");
    free(s);
    if (st == VFR_OK && vfr_runreport_write(res->run_dir, NULL) != VFR_OK)
        vfr_error_clear(); /* the report without the registry line is still the report */
done:
    vfr_registry_version_free(v);
    vfr_registry_close(reg);
    return st;
}

vfr_status vfr_train_run(const vfr_job *job, const vfr_train_options *o, vfr_train_result *res)
{
    vfr_status st = VFR_OK;
    int moved_search = 0;
    char dst[4096] = "";
    vfr_tune_result tr_res = {0};
    char *best_params = NULL;
    vfr_dataset *ds = NULL;
    vfr_prepared *p = NULL;
    vfr_split *sp = NULL;
    vfr_model *model = NULL;
    vfr_dataview *tr = NULL, *va = NULL, *te = NULL;
    char *quality = NULL, tmp[8400] = "";
    float *score = NULL, *val_score = NULL, *bh = NULL, *score_row = NULL;
    vfr_trading_view tv_te = {0}, tv_va = {0};
    double *imp = NULL, *daily = NULL;
    run_log lg = {o->reporter, NULL};
    vfr_reporter rep = {log_sink, progress_sink, &lg};
    cJSON *manifest = cJSON_CreateObject(), *metrics = cJSON_CreateObject();
    timings tm = {cJSON_AddObjectToObject(manifest, "stepSeconds"), 0, NULL};
    const int NSTEPS = 8;
    memset(res, 0, sizeof *res);

    /* 1. load: device, dataset, lineage */
    step_begin(&tm, &rep, "load", 1, NSTEPS);
    vfr_device_kind dev, model_dev;
    VFR_TRY(vfr_device_resolve(o->device, &dev));
    VFR_TRY(vfr_pipeline_model_device(job, o->device, dev, &rep, &model_dev));
    vfr_report_log(&rep, VFR_LOG_INFO, "job %s: %s model, target %s, device %s", job->job_id,
                   job->model_type, job->target, vfr_device_kind_str(model_dev));
    VFR_TRY(vfr_pipeline_check_model(job, model_dev)); /* before any data is read */
    char sha[65];
    VFR_TRY(vfr_prepare_open_dataset(job, &ds));
    VFR_TRY(vfr_digest_sha256_file(job->data.dataset, sha));
    step_end(&tm);

    /* 2. prepare */
    step_begin(&tm, &rep, "prepare", 2, NSTEPS);
    VFR_TRY(vfr_prepare(ds, job, dev, &rep, &p, &quality));
    vfr_report_log(&rep, VFR_LOG_INFO, "prepared %lld rows, %d dates, %d features", (long long)p->n,
                   p->T, p->F);
    step_end(&tm);

    /* 3. split */
    step_begin(&tm, &rep, "split", 3, NSTEPS);
    /* cpcv: the final model and the test period are the holdout's (the last
     * dates); the cpcv folds of the dates before them give the search's folds
     * and the combinatorial backtest paths (cpcv_paths) */
    vfr_split_spec outer_spec = job->split;
    const int cpcv = job->split.method == VFR_SPLIT_CPCV;
    if (cpcv)
        outer_spec.method = VFR_SPLIT_HOLDOUT;
    st = vfr_split_make(&outer_spec, p->T, &sp);
    if (st != VFR_OK) {
        vfr_error_prefix("%s: ", job->path);
        goto fail;
    }
    step_end(&tm);

    /* the model is created now so that bad hyperparameters fail before any folder */
    vfr_model_config mc = {job->model_type, job->training.hyperparameters_json, job->objective,
                           model_dev, job->training.seed, p->F,
                           (const char *const *)p->feature_names, o->nthread, &rep};
    st = vfr_model_create(&mc, &model);
    if (st != VFR_OK) {
        vfr_error_prefix("%s: ", job->path);
        goto fail;
    }

    if (o->out_dir)
        snprintf(dst, sizeof dst, "%s", o->out_dir);
    else
        snprintf(dst, sizeof dst, "%s/%s", o->runs_dir ? o->runs_dir : "runs", job->job_id);
    VFR_TRY(vfr_prepared_set_cache_root(p, dst)); /* external memory's cache files, if any */

    /* a search block: tune first (its trial log lives in the run folder, so
     * an interrupted search resumes), then fit with the best parameters */
    if (job->search.enabled) {
        vfr_tune_options to = {dst, o->jobs > 0 ? o->jobs : 1, o->nthread, o->resume, 0, 1,
                               o->device, &rep, o->stop};
        st = vfr_tune_prepared(job, p, dev, model_dev, &to, &tr_res);
        if (st != VFR_OK)
            goto fail;
        best_params = tr_res.best_params_json;
        vfr_report_log(&rep, VFR_LOG_INFO, "search: best trial %d, %s %.5f +- %.5f over %lld trials; final fit with %s",
                       tr_res.best_trial, job->search.metric, tr_res.best_mean, tr_res.best_sd,
                       (long long)tr_res.trials_evaluated, best_params);
        vfr_model_destroy(model);
        model = NULL;
        mc.params_json = best_params;
        VFR_TRY(vfr_model_create(&mc, &model));
        cJSON *sj = cJSON_AddObjectToObject(metrics, "search");
        cJSON_AddNumberToObject(sj, "trialsEvaluated", (double)tr_res.trials_evaluated);
        cJSON_AddNumberToObject(sj, "bestTrial", tr_res.best_trial);
        cJSON_AddNumberToObject(sj, "bestScoreMean", tr_res.best_mean);
        cJSON_AddNumberToObject(sj, "bestScoreSd", tr_res.best_sd);
        cJSON_AddStringToObject(sj, "scoringMetric", job->search.metric);
        cJSON *bp = cJSON_Parse(best_params);
        cJSON_AddItemToObject(sj, "bestParams", bp ? bp : cJSON_CreateObject());
        if (isfinite(tr_res.sharpe_variance))
            cJSON_AddNumberToObject(sj, "trialSharpeVariance", tr_res.sharpe_variance);
        cJSON_AddNumberToObject(sj, "bestRounds", tr_res.best_rounds);
    }

    /* the run folder, under a temporary name */
    /* (leftovers of killed runs of this job are cleaned first) */
    if ((st = vfr_run_tmp_create(dst, tmp, sizeof tmp)) != VFR_OK) {
        tmp[0] = '\0';
        goto fail;
    }
    char logp[8500];
    snprintf(logp, sizeof logp, "%s/log.jsonl", tmp);
    lg.f = fopen(logp, "w");
    vfr_report_log(&rep, VFR_LOG_INFO, "run folder %s (assembled in %s)", dst, tmp);
    char *resolved = vfr_job_to_json(job);
    st = resolved ? write_text(tmp, "job.json", resolved) : vfr_fail(VFR_ERR_NOMEM, "train: out of memory");
    free(resolved);
    if (st != VFR_OK)
        goto fail;
    VFR_TRY(write_text(tmp, "quality.json", quality));
    if (p->processors_json) /* the fitted chain: the registry keeps it for vfr predict */
        VFR_TRY(write_text(tmp, "processors.json", p->processors_json));
    cJSON *spj = split_json(job, p, sp);
    st = write_json(tmp, "split.json", spj);
    cJSON_Delete(spj);
    if (st != VFR_OK)
        goto fail;

    /* 4. fit, 5. predict: per fold; the test blocks of successive folds are
     * adjacent, so together they form one out-of-sample date range */
    int32_t te_lo = sp->folds[0].test[0].lo, te_hi = sp->folds[sp->K - 1].test[0].hi;
    const vfr_fold *last = &sp->folds[sp->K - 1];
    /* with a search, a holdout's final fit uses train + validation with the
     * search's rounds, so the validation rows are no longer out of sample */
    int refit = job->search.enabled && outer_spec.method == VFR_SPLIT_HOLDOUT && last->n_val > 0;
    int holdout = outer_spec.method == VFR_SPLIT_HOLDOUT && last->n_val > 0 && !refit;
    /* scores by prepared row; evaluation reads them through trading views */
    score_row = malloc(sizeof *score_row * (size_t)(p->n_all ? p->n_all : 1));
    imp = calloc((size_t)(p->F ? p->F : 1), sizeof *imp);
    if (!score_row || !imp) {
        st = vfr_fail(VFR_ERR_NOMEM, "train: out of memory");
        goto fail;
    }
    for (int64_t i = 0; i < p->n_all; i++)
        score_row[i] = NAN;
    /* the final fit trains what the search scored (issue: the final model is
     * the one that was scored) */
    if (refit)
        vfr_report_log(&rep, VFR_LOG_INFO, "final fit: %d rounds (%s)", tr_res.best_rounds,
                       job->search.early_stopping_rounds > 0
                           ? "the best trial's mean best round over its folds: early stopping was on in the search"
                           : "n_estimators: early stopping was off in the search");
    cJSON *fits = cJSON_AddArrayToObject(metrics, "folds");
    vfr_fit_result fr = {0};
    step_begin(&tm, &rep, "fit", 4, NSTEPS);
    double predict_s = 0;
    for (int32_t k = 0; k < sp->K; k++) {
        const vfr_fold *f = &sp->folds[k];
        if (f->n_train != 1 || f->n_test != 1 || f->n_val > 1) {
            st = vfr_fail(VFR_ERR_INTERNAL, "train: fold %d is not a sequential layout", k);
            goto fail;
        }
        int64_t a = p->date_row[f->train[0].lo], b = p->date_row[f->train[0].hi];
        if (refit)
            b = p->date_row[f->val[0].hi];
        VFR_TRY(vfr_prepared_view(p, a, b, 1, &tr));
        if (f->n_val && !refit)
            VFR_TRY(vfr_prepared_view(p, p->date_row[f->val[0].lo], p->date_row[f->val[0].hi], 1, &va));
        if (k > 0) {
            vfr_model_destroy(model);
            model = NULL;
            VFR_TRY(vfr_model_create(&mc, &model));
        }
        vfr_fit_options fo = {job->training.early_stopping_rounds, refit ? tr_res.best_rounds : 0, o->stop};
        VFR_TRY(vfr_model_fit(model, tr, va, &fo, &fr));
        double t1 = vfr_seconds();
        int64_t c = p->date_row[f->test[0].lo], d = p->date_row[f->test[0].hi];
        VFR_TRY(predict_dates(model, p, f->test[0].lo, f->test[0].hi, score_row));
        if (holdout && va)
            VFR_TRY(predict_dates(model, p, f->val[0].lo, f->val[0].hi, score_row));
        predict_s += vfr_seconds() - t1;
        cJSON *fj = cJSON_CreateObject();
        cJSON_AddNumberToObject(fj, "fold", k);
        cJSON_AddNumberToObject(fj, "trainRows", (double)(b - a));
        cJSON_AddNumberToObject(fj, "validationRows", va ? (double)vfr_dataview_rows(va) : 0);
        cJSON_AddNumberToObject(fj, "testRows", (double)(d - c));
        {   /* what this fold's baselines may know: its own training labels */
            char t0s[11], t1s[11];
            vfr_date_format(p->dates[f->test[0].lo], t0s);
            vfr_date_format(p->dates[f->test[0].hi - 1], t1s);
            cJSON_AddStringToObject(fj, "testStart", t0s);
            cJSON_AddStringToObject(fj, "testEnd", t1s);
            if (job->objective == VFR_OBJECTIVE_DIRECTION)
                cJSON_AddNumberToObject(fj, "trainPositiveRate",
                                        positive_rate(p, f->train[0].lo, refit ? f->val[0].hi : f->train[0].hi));
        }
        cJSON_AddNumberToObject(fj, "rounds", fr.rounds);
        cJSON_AddNumberToObject(fj, "bestRound", fr.best_round);
        cJSON_AddStringToObject(fj, "loss", fr.loss_name);
        cJSON_AddNumberToObject(fj, "trainLoss", fr.train_loss);
        if (isfinite(fr.best_val_loss))
            cJSON_AddNumberToObject(fj, "validationLoss", fr.best_val_loss);
        else
            cJSON_AddNullToObject(fj, "validationLoss");
        cJSON_AddItemToArray(fits, fj);
        vfr_report_log(&rep, VFR_LOG_INFO,
                       "fold %d/%d: %lld train rows, %d rounds (best %d), %s train %.5f validation %.5f",
                       k + 1, sp->K, (long long)(b - a), fr.rounds, fr.best_round + 1, fr.loss_name,
                       fr.train_loss, fr.best_val_loss);
        vfr_report_progress(&rep, "fit", k + 1, sp->K);
        vfr_dataview_destroy(tr), vfr_dataview_destroy(va), vfr_dataview_destroy(te);
        tr = va = te = NULL;
    }
    step_end(&tm);
    step_begin(&tm, &rep, "predict", 5, NSTEPS);
    cJSON_AddNumberToObject(tm.steps, "predict", predict_s);
    char mpath[8500];
    snprintf(mpath, sizeof mpath, "%s/%s", tmp, vfr_model_artifact_name(job->model_type));
    VFR_TRY(vfr_model_save(model, mpath));
    VFR_TRY(vfr_model_importance(model, imp));
    VFR_TRY(write_probe(tmp, p, model, te_hi));
    tm.step = "save";
    step_end(&tm);

    /* 6. evaluate: metrics of the test (and validation) rows, the job's
     * backtest, and buy-and-hold over the same dates */
    step_begin(&tm, &rep, "evaluate", 6, NSTEPS);
    /* every tradable row of the test dates: the label policy decides which
     * count in the classification metrics (NaN labels are skipped), never
     * which names are held (prepare.h) */
    VFR_TRY(vfr_prepared_trading_view(p, te_lo, te_hi, &tv_te));
    const vfr_panel pte = tv_te.panel;
    const int64_t n_te = pte.N;
    score = malloc(sizeof *score * (size_t)(n_te ? n_te : 1));
    if (!score) {
        st = vfr_fail(VFR_ERR_NOMEM, "train: out of memory");
        goto fail;
    }
    for (int64_t i = 0; i < n_te; i++)
        score[i] = score_row[tv_te.row[i]];
    int64_t n_va = 0;
    if (holdout) {
        VFR_TRY(vfr_prepared_trading_view(p, last->val[0].lo, last->val[0].hi, &tv_va));
        n_va = tv_va.panel.N;
        if (!(val_score = malloc(sizeof *val_score * (size_t)(n_va ? n_va : 1)))) {
            st = vfr_fail(VFR_ERR_NOMEM, "train: out of memory");
            goto fail;
        }
        for (int64_t i = 0; i < n_va; i++)
            val_score[i] = score_row[tv_va.row[i]];
    }
    vfr_metrics_options mo;
    vfr_metrics_options_default(&mo);
    mo.task = job->objective == VFR_OBJECTIVE_DIRECTION ? VFR_TASK_CLASSIFICATION : VFR_TASK_REGRESSION;
    mo.threshold = job->objective == VFR_OBJECTIVE_DIRECTION ? 0.5 : 0.0;
    double mt[VFR_METRIC_COUNT], mv[VFR_METRIC_COUNT];
    VFR_TRY(vfr_metrics_batch(dev, &pte, score, 1, &mo, mt));
    cJSON_AddItemToObject(metrics, "test", metric_table(mt));
    if (holdout) {
        VFR_TRY(vfr_metrics_batch(dev, &tv_va.panel, val_score, 1, &mo, mv));
        cJSON_AddItemToObject(metrics, "validation", metric_table(mv));
    }
    vfr_backtest_options bo;
    VFR_TRY(vfr_pipeline_backtest_options(job, &pte, &bo));
    double fin[2 * VFR_FIN_COUNT];
    daily = malloc(sizeof *daily * 2 * (size_t)(pte.T ? pte.T : 1));
    bh = malloc(sizeof *bh * (size_t)(n_te ? n_te : 1));
    if (!daily || !bh) {
        st = vfr_fail(VFR_ERR_NOMEM, "train: out of memory");
        goto fail;
    }
    VFR_TRY(vfr_backtest(dev, &pte, score, 1, &bo, fin, daily));
    for (int64_t i = 0; i < n_te; i++)
        bh[i] = 1.0f;
    vfr_backtest_options bho = bo; /* buy-and-hold: every name long, equal weight, held */
    bho.strategy = VFR_STRATEGY_LONG_ONLY;
    bho.threshold = 0.0;
    VFR_TRY(vfr_backtest(dev, &pte, bh, 1, &bho, fin + VFR_FIN_COUNT, daily + pte.T));
    {
        /* daily returns of the model and buy-and-hold over the test dates */
        char bpath[8400];
        static const char *const names[2] = {"model", "buy_and_hold"};
        snprintf(bpath, sizeof bpath, "%s/backtest.h5", tmp);
        VFR_TRY(vfr_backtest_write(bpath, &bo, 2, pte.T, p->dates + te_lo, names, daily));
    }
    cJSON *btj = cJSON_AddObjectToObject(metrics, "backtest");
    cJSON_AddStringToObject(btj, "strategy", vfr_backtest_strategy_name(bo.strategy));
    cJSON_AddNumberToObject(btj, "k", bo.k);
    cJSON_AddNumberToObject(btj, "threshold", bo.threshold);
    cJSON_AddNumberToObject(btj, "holdingDays", bo.horizon);
    cJSON_AddNumberToObject(btj, "costBps", bo.cost_bps);
    cJSON_AddItemToObject(btj, "model", vfr_pipeline_fin_json(fin));
    cJSON_AddItemToObject(btj, "buyAndHold", vfr_pipeline_fin_json(fin + VFR_FIN_COUNT));
    {   /* skill or market exposure: the book against buy-and-hold */
        cJSON *ex = vfr_pipeline_exposure_json(fin, daily, daily + pte.T, pte.T, job->horizon);
        const cJSON *b_ = cJSON_GetObjectItem(ex, "beta"), *a_ = cJSON_GetObjectItem(ex, "alpha"),
                    *t_ = cJSON_GetObjectItem(ex, "alphaT");
        vfr_report_log(&rep, VFR_LOG_INFO,
                       "test backtest (%s, %g bps): Sharpe %.2f, net exposure %+.3f, gross %.3f, beta %.3f, "
                       "alpha %+.2f%% a year (HAC t %.2f); buy-and-hold Sharpe %.2f, turnover %.4f a day",
                       vfr_backtest_strategy_name(bo.strategy), bo.cost_bps, fin[VFR_FIN_SHARPE],
                       fin[VFR_FIN_NET_EXPOSURE], fin[VFR_FIN_EXPOSURE],
                       cJSON_IsNumber(b_) ? b_->valuedouble : NAN, cJSON_IsNumber(a_) ? 100 * a_->valuedouble : NAN,
                       cJSON_IsNumber(t_) ? t_->valuedouble : NAN, fin[VFR_FIN_COUNT + VFR_FIN_SHARPE],
                       fin[VFR_FIN_COUNT + VFR_FIN_TURNOVER]);
        cJSON_AddItemToObject(btj, "exposure", ex);
    }
    cJSON *fi = cJSON_AddArrayToObject(metrics, "featureImportance");
    for (int32_t f = 0; f < p->F; f++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "feature", p->feature_names[f]);
        cJSON_AddNumberToObject(e, "importance", imp[f]);
        cJSON_AddItemToArray(fi, e);
    }
    char d0[11], d1[11];
    vfr_date_format(p->dates[te_lo], d0);
    vfr_date_format(p->dates[te_hi - 1], d1);
    cJSON *tp = cJSON_AddObjectToObject(metrics, "testPeriod");
    cJSON_AddStringToObject(tp, "start", d0);
    cJSON_AddStringToObject(tp, "end", d1);
    cJSON_AddNumberToObject(tp, "dates", pte.T);
    cJSON_AddNumberToObject(tp, "rows", (double)n_te);
    cJSON_AddStringToObject(metrics, "task", vfr_metrics_task_name(mo.task));
    if (job->objective == VFR_OBJECTIVE_DIRECTION) /* the last fold's; each fold's is in folds[] */
        cJSON_AddNumberToObject(metrics, "trainPositiveRate",
                                positive_rate(p, last->train[0].lo, refit ? last->val[0].hi : last->train[0].hi));
    if (cpcv)
        VFR_TRY(cpcv_paths(job, p, &mc, te_lo, refit ? tr_res.best_rounds : 0, &bo, dev, tmp, o->stop, &rep,
                           metrics));
    VFR_TRY(write_json(tmp, "metrics.json", metrics));

    /* predictions.h5: validation (holdout) and test rows, by (date, symbol) */
    int64_t N = n_va + n_te;
    vfr_predictions pr = {0};
    pr.N = N;
    pr.M = 1;
    pr.S = p->S;
    pr.horizon = job->horizon;
    pr.task = mo.task;
    pr.symbols = p->symbols;
    int32_t *pd = malloc(sizeof *pd * (size_t)(N ? N : 1)), *ps = malloc(sizeof *ps * (size_t)(N ? N : 1));
    float *psc = malloc(sizeof *psc * (size_t)(N ? N : 1)), *pl = malloc(sizeof *pl * (size_t)(N ? N : 1));
    float *pf = malloc(sizeof *pf * (size_t)(N ? N : 1)), *pf1 = malloc(sizeof *pf1 * (size_t)(N ? N : 1));
    int8_t *pset = malloc((size_t)(N ? N : 1));
    if (pd && ps && psc && pl && pf && pf1 && pset) {
        for (int64_t i = 0; i < N; i++) {
            int is_val = i < n_va;
            int64_t r = is_val ? tv_va.row[i] : tv_te.row[i - n_va];
            pd[i] = p->date[r];
            ps[i] = p->symbol[r];
            psc[i] = score_row[r];
            pl[i] = p->y[r]; /* NaN: traded, not labelled (prepare.h) */
            pf[i] = p->fwd[r];
            pf1[i] = p->fwd1[r];
            pset[i] = (int8_t)(is_val ? VFR_SET_VALIDATION : VFR_SET_TEST);
        }
        pr.backtest = &bo;
        pr.date = pd, pr.symbol = ps, pr.score = psc, pr.label = pl, pr.fwd = pf, pr.fwd1 = pf1, pr.set = pset;
        char ppath[8500];
        snprintf(ppath, sizeof ppath, "%s/predictions.h5", tmp);
        st = vfr_predictions_write(ppath, &pr, 4);
    } else {
        st = vfr_fail(VFR_ERR_NOMEM, "train: out of memory");
    }
    free(pd), free(ps), free(psc), free(pl), free(pf), free(pf1), free(pset);
    if (st != VFR_OK)
        goto fail;
    step_end(&tm);

    /* the search's files join the run now: compare reads the trial count;
     * on failure they go back (see fail:), so a retry can resume the search */
    if (job->search.enabled)
        VFR_TRY(move_search_files(dst, tmp));
    moved_search = job->search.enabled;
    /* 7. compare with the baselines: comparison.json, backtest.h5 */
    step_begin(&tm, &rep, "compare", 7, NSTEPS);
    {
        vfr_compare_options co = {NULL, 0, dev, o->champion, &rep};
        char *cj = NULL;
        VFR_TRY(vfr_compare_run(tmp, &co, &cj));
        cJSON *c = cJSON_Parse(cj);
        free(cj);
        const cJSON *d = cJSON_GetObjectItem(c, "decision");
        if (d)
            vfr_report_log(&rep, VFR_LOG_INFO, "%s", cJSON_GetObjectItem(d, "reason")->valuestring);
        cJSON_Delete(c);
    }
    step_end(&tm);

    /* 8. manifest, then publish */
    step_begin(&tm, &rep, "write", 8, NSTEPS);
    char now[32], v[64];
    vfr_utc_now(now);
    cJSON_AddStringToObject(manifest, "jobId", job->job_id);
    cJSON_AddStringToObject(manifest, "createdAt", now);
    cJSON_AddStringToObject(manifest, "vfrVersion", VFR_VERSION);
    cJSON *dsj = cJSON_AddObjectToObject(manifest, "dataset");
    cJSON_AddStringToObject(dsj, "path", job->data.dataset);
    cJSON_AddStringToObject(dsj, "sha256", sha);
    vfr_date_format(p->dates[0], d0);
    vfr_date_format(p->dates[p->T - 1], d1);
    cJSON_AddStringToObject(dsj, "dateFirst", d0);
    cJSON_AddStringToObject(dsj, "dateLast", d1);
    cJSON_AddNumberToObject(dsj, "rows", (double)p->n);
    cJSON *syms = cJSON_AddArrayToObject(dsj, "symbols");
    {
        char *used = calloc((size_t)(p->S ? p->S : 1), 1);
        for (int64_t i = 0; used && i < p->n; i++)
            used[p->symbol[i]] = 1;
        for (int32_t s = 0; used && s < p->S; s++)
            if (used[s])
                cJSON_AddItemToArray(syms, cJSON_CreateString(p->symbols[s]));
        free(used);
    }
    cJSON *mj = cJSON_AddObjectToObject(manifest, "model");
    cJSON_AddStringToObject(mj, "type", job->model_type);
    cJSON_AddStringToObject(mj, "artifact", vfr_model_artifact_name(job->model_type));
    char *desc = vfr_model_describe(model);
    cJSON *dj = desc ? cJSON_Parse(desc) : NULL;
    free(desc);
    cJSON_AddItemToObject(mj, "description", dj ? dj : cJSON_CreateObject());
    cJSON *lib = cJSON_AddObjectToObject(manifest, "libraries");
    unsigned ma, mi, re;
    H5get_libversion(&ma, &mi, &re);
    snprintf(v, sizeof v, "%u.%u.%u", ma, mi, re);
    cJSON_AddStringToObject(lib, "hdf5", v);
    vfr_xgboost_info xi;
    if (vfr_xgboost_probe(&xi) == VFR_OK) {
        snprintf(v, sizeof v, "%d.%d.%d", xi.major, xi.minor, xi.patch);
        cJSON_AddStringToObject(lib, "xgboost", v);
        cJSON_AddBoolToObject(lib, "xgboostCuda", xi.has_cuda);
    }
    vfr_lightgbm_info li;
    if (strcmp(job->model_type, "lightgbm") == 0 && vfr_lightgbm_probe(&li) == VFR_OK)
        cJSON_AddStringToObject(lib, "lightgbm", li.version);
    vfr_error_clear();
    char cv[32];
    vfr_device_cuda_runtime_version(cv);
    cJSON_AddStringToObject(lib, "cudaRuntime", cv);
    vfr_device_cudnn_version(cv);
    cJSON_AddStringToObject(lib, "cudnn", cv);
    cJSON *devj = cJSON_AddObjectToObject(manifest, "device");
    cJSON_AddStringToObject(devj, "asked", vfr_device_kind_str(o->device));
    cJSON_AddStringToObject(devj, "used", vfr_device_kind_str(dev));
    cJSON_AddStringToObject(devj, "model", vfr_device_kind_str(model_dev));
    if (dev == VFR_DEVICE_CUDA) {
        vfr_device_props dp;
        if (vfr_device_props_get(0, &dp) == VFR_OK)
            cJSON_AddStringToObject(devj, "name", dp.name);
    }
    cJSON_AddNumberToObject(manifest, "seed", (double)job->training.seed);
    if (job->search.enabled) {
        cJSON_AddNumberToObject(manifest, "searchSeed", (double)job->search.seed);
        cJSON_AddNumberToObject(manifest, "trialsEvaluated", (double)tr_res.trials_evaluated);
        cJSON *bp = cJSON_Parse(best_params);
        cJSON_AddItemToObject(manifest, "bestParams", bp ? bp : cJSON_CreateObject());
    }
    step_end(&tm);
    VFR_TRY(write_json(tmp, "manifest.json", manifest));
    /* the run report: a view of the finished folder; a failure costs the page, not the run */
    if (vfr_runreport_write(tmp, NULL) != VFR_OK) {
        vfr_report_log(&rep, VFR_LOG_WARN, "report.html not written: %s", vfr_last_error());
        vfr_error_clear();
    }
    vfr_report_log(&rep, VFR_LOG_INFO, "run complete: %s", dst);
    if (lg.f) {
        fclose(lg.f);
        lg.f = NULL;
    }
    VFR_TRY(vfr_run_publish(tmp, dst)); /* one atomic swap (runfolder.c) */
    tmp[0] = '\0';
    snprintf(res->run_dir, sizeof res->run_dir, "%s", dst);
    if (job->auto_register)
        VFR_TRY(register_run(job, o, &rep, res));
    res->metrics_json = cJSON_Print(metrics);
    vfr_report_progress(o->reporter, "train", NSTEPS, NSTEPS);
fail:
    if (lg.f)
        fclose(lg.f);
    if (tmp[0] && moved_search && vfr_mkdirs(dst) == 0)
        move_search_files(tmp, dst); /* the trial log survives a failed run */
    if (tmp[0])
        vfr_remove_tree(tmp); /* nothing half-written is left behind */
    vfr_dataview_destroy(tr), vfr_dataview_destroy(va), vfr_dataview_destroy(te);
    vfr_model_destroy(model);
    vfr_split_free(sp);
    vfr_prepared_free(p);
    vfr_dataset_close(ds);
    vfr_tune_result_free(&tr_res);
    free(quality), free(score), free(val_score), free(bh), free(score_row), free(imp), free(daily);
    vfr_trading_view_free(&tv_te);
    vfr_trading_view_free(&tv_va);
    cJSON_Delete(manifest);
    cJSON_Delete(metrics);
    return st;
}
