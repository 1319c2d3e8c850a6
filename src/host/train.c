/* train.c: the end-to-end training run (train.h), as its steps: load,
 * prepare, split, search, fit, save, evaluate, compare, publish, each a
 * function over the run's state (train_run).
 *
 * Everything that can be refused as bad input (job, dataset, horizon, model
 * type and hyperparameters, split) is checked before the run folder exists.
 * The folder is then written under <runs>/.<jobId>.tmp.<pid> and renamed over
 * <runs>/<jobId> at the end (runfolder.c). Every log line also goes to the
 * folder's log.jsonl, so a run can be read back without its terminal. */
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

#include "compare_internal.h"
#include "db.h"
#include "backtest_json.h"
#include "tune_internal.h"
#include "runfolder_internal.h"
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
#include "vfr/runfolder.h"
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
        vfri_utc_now(ts);
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

#define NSTEPS 8 /* as the log counts them: load .. write */

static void step_begin(timings *t, const vfr_reporter *rep, const char *step, int idx)
{
    t->t0 = vfri_seconds();
    t->step = step;
    vfr_report_log(rep, VFR_LOG_INFO, "step %d/%d: %s", idx, NSTEPS, step);
    vfr_report_progress(rep, "train", idx - 1, NSTEPS);
}

static void step_end(timings *t)
{
    cJSON_AddNumberToObject(t->steps, t->step, vfri_seconds() - t->t0);
}

/* The state of one run, filled step by step; run_end releases it. */
typedef struct train_run {
    const vfr_job *job;
    const vfr_train_options *o;
    vfr_train_result *res;
    run_log lg;
    vfr_reporter rep;              /* the run's: terminal and log.jsonl         */
    timings tm;
    cJSON *manifest, *metrics;     /* manifest.json, metrics.json               */
    /* load */
    vfr_device_kind dev, model_dev;
    vfr_dataset *ds;
    char sha[65];                  /* the dataset file's SHA-256                */
    /* prepare, split */
    vfr_prepared *p;
    char *quality;                 /* quality.json                              */
    vfr_split_spec outer;          /* the split of the final model              */
    int cpcv;                      /* job's split is cpcv: outer is its holdout */
    vfr_split *sp;
    vfr_model_config mc;
    vfr_model *model;
    /* folders */
    char dst[4096], tmp[8400];     /* the run folder, and where it is assembled */
    int moved_search;              /* trials.jsonl, search.json are in tmp      */
    /* search */
    vfr_tune_result tune;
    /* fit */
    int refit, holdout;
    int32_t te_lo, te_hi;          /* the test dates of all folds together      */
    const vfr_fold *last;
    float *score_row;              /* [n_all] scores by prepared row, NaN unset  */
    double *imp;                   /* [F] feature importance                     */
    double predict_s;
    /* evaluate */
    vfr_trading_view tv_te, tv_va;
    float *score, *val_score;      /* [tv_te N], [tv_va N]                       */
    vfr_metrics_options mo;
    vfr_backtest_options bo;
    double fin[2 * VFR_FIN_COUNT]; /* model, buy-and-hold                        */
    double *daily;                 /* [2, T] the same, daily                     */
    vfr_predictions pred;          /* predictions.h5: validation rows, then test */
    int64_t n_va;
} train_run;

static vfr_status oom(void)
{
    return vfr_fail(VFR_ERR_NOMEM, "train: out of memory");
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

/* A view of the trainable rows of dates [lo, hi), labelled (y) or not,
 * with the history before them. */
static vfr_status date_view(const vfr_prepared *p, int32_t lo, int32_t hi, int labelled, vfr_dataview **out)
{
    int64_t a = p->date_row[lo], b = p->date_row[hi];
    return vfr_prepared_view(p, a, b, labelled, out); /* a streamed panel's too */
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

/* ---- cpcv: the combinatorial backtest paths --------------------------------- */

/* The paths of the dates before the test period [0, domain) with the final
 * parameters (López de Prado, ch. 12). Every split's model trains on its
 * longest training block (contiguous, with history, as the search's folds
 * do) and scores its test groups; each group's days go through the job's
 * backtest; path j strings together, group by group, the j-th split that
 * tests each group. The paths' daily returns go to cpcv_paths.h5 and their
 * Sharpe ratios to metrics.json (cpcv). */
typedef struct cpcv_work {
    const vfr_prepared *p;
    const vfr_backtest_options *bo;
    vfr_device_kind dev;
    int32_t domain, G, kq, K, NP;
    double **dg;       /* [K, G] daily returns of group g as split s tested it, or NULL */
    float *sc;         /* [n_all] scores by prepared row                                */
    double *paths;     /* [NP, domain]                                                  */
    double *pf;        /* [NP, VFR_FIN_COUNT]                                           */
    char **names;      /* [NP] path_<j>                                                 */
} cpcv_work;

static void cpcv_work_free(cpcv_work *w)
{
    for (int64_t i = 0; w->dg && i < (int64_t)w->K * w->G; i++)
        free(w->dg[i]);
    for (int32_t j = 0; w->names && j < w->NP; j++)
        free(w->names[j]);
    free(w->dg), free(w->sc), free(w->paths), free(w->pf), free(w->names);
}

/* Group g's days, scored by m, through the backtest: w->dg[s, g]. */
static vfr_status cpcv_score_group(cpcv_work *w, vfr_model *m, int32_t s, int32_t g)
{
    int32_t glo, ghi;
    vfr_trading_view tv = {0};
    float *gs = NULL;
    vfr_cpcv_group_range(w->domain, w->G, g, &glo, &ghi);
    vfr_status st = predict_dates(m, w->p, glo, ghi, w->sc);
    if (st == VFR_OK)
        st = vfr_prepared_trading_view(w->p, glo, ghi, &tv);
    if (st == VFR_OK && (!(gs = malloc(sizeof *gs * (size_t)(tv.panel.N ? tv.panel.N : 1))) ||
                         !(w->dg[(size_t)s * w->G + g] = malloc(sizeof **w->dg * (size_t)(ghi - glo)))))
        st = vfr_fail(VFR_ERR_NOMEM, "train: out of memory for the cpcv paths");
    if (st == VFR_OK) {
        for (int64_t j = 0; j < tv.panel.N; j++)
            gs[j] = w->sc[tv.row[j]];
        double fin[VFR_FIN_COUNT];
        st = vfr_backtest(w->dev, &tv.panel, gs, 1, w->bo, fin, w->dg[(size_t)s * w->G + g]);
    }
    free(gs);
    vfr_trading_view_free(&tv);
    return st;
}

/* Split s: its model on its longest training block, then its test groups. */
static vfr_status cpcv_split(cpcv_work *w, const vfr_fold *f, int32_t s, const vfr_model_config *mc,
                             int32_t rounds, volatile const int *stop, int64_t *train_rows)
{
    vfr_model *m = NULL;
    vfr_dataview *tr = NULL;
    vfr_range r = vfr_range_longest(f->train, f->n_train);
    *train_rows = w->p->date_row[r.hi] - w->p->date_row[r.lo];
    vfr_fit_options fo = {0, rounds, stop};
    vfr_fit_result fr;
    vfr_status st = date_view(w->p, r.lo, r.hi, 1, &tr);
    if (st == VFR_OK)
        st = vfr_model_create(mc, &m);
    if (st == VFR_OK)
        st = vfr_model_fit(m, tr, NULL, &fo, &fr);
    int32_t pick[30];
    vfr_cpcv_split_groups(w->G, w->kq, s, pick);
    for (int32_t i = 0; st == VFR_OK && i < w->kq; i++)
        st = cpcv_score_group(w, m, s, pick[i]);
    vfr_model_destroy(m);
    vfr_dataview_destroy(tr);
    return st;
}

/* Path j, group by group, from the split that tests it j-th; then the
 * paths' financial metrics. */
static vfr_status cpcv_join_paths(cpcv_work *w)
{
    for (int32_t j = 0; j < w->NP; j++) {
        for (int32_t g = 0; g < w->G; g++) {
            int32_t glo, ghi, s = vfr_cpcv_path_split(w->G, w->kq, g, j);
            vfr_cpcv_group_range(w->domain, w->G, g, &glo, &ghi);
            if (s >= 0 && w->dg[(size_t)s * w->G + g])
                memcpy(w->paths + (size_t)j * w->domain + glo, w->dg[(size_t)s * w->G + g],
                       sizeof *w->paths * (size_t)(ghi - glo));
        }
        char nm[32];
        snprintf(nm, sizeof nm, "path_%d", j);
        if (!(w->names[j] = vfri_strdup(nm)))
            return oom();
    }
    return vfr_backtest_stats(VFR_DEVICE_CPU, w->paths, w->NP, w->domain, w->bo, w->pf);
}

/* metrics.json's cpcv block, and its log line. */
static void cpcv_json(const cpcv_work *w, cJSON *metrics, const vfr_reporter *rep)
{
    cJSON *cj = cJSON_AddObjectToObject(metrics, "cpcv");
    cJSON_AddNumberToObject(cj, "groups", w->G);
    cJSON_AddNumberToObject(cj, "testGroups", w->kq);
    cJSON_AddNumberToObject(cj, "splits", w->K);
    cJSON_AddNumberToObject(cj, "paths", w->NP);
    cJSON_AddNumberToObject(cj, "dates", w->domain);
    cJSON_AddStringToObject(cj, "file", vfr_runfolder_file_name(VFR_RUNFILE_CPCV_PATHS));
    cJSON *ps = cJSON_AddArrayToObject(cj, "pathSharpe");
    double sum = 0, ss = 0, lo = INFINITY, hi = -INFINITY;
    const int32_t NP = w->NP;
    for (int32_t j = 0; j < NP; j++) {
        double v = w->pf[(size_t)j * VFR_FIN_COUNT + VFR_FIN_SHARPE];
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
                   NP, w->domain, sum / NP, lo, hi);
}

static vfr_status cpcv_paths(train_run *r, int32_t rounds)
{
    const vfr_job *job = r->job;
    const vfr_prepared *p = r->p;
    vfr_split *cs = NULL;
    const int32_t domain = r->te_lo;
    vfr_status st = vfr_split_make(&job->split, domain, &cs);
    if (st != VFR_OK) {
        vfr_error_prefix("split (cpcv over the %d dates before the test period): ", domain);
        return st;
    }
    cpcv_work w = {p, &r->bo, r->dev, domain, job->split.groups, job->split.test_groups, cs->K,
                   vfr_cpcv_n_paths(job->split.groups, job->split.test_groups), NULL, NULL, NULL, NULL, NULL};
    w.dg = calloc((size_t)w.K * (size_t)w.G, sizeof *w.dg);
    w.sc = malloc(sizeof *w.sc * (size_t)(p->n_all ? p->n_all : 1));
    w.paths = calloc((size_t)w.NP * (size_t)domain, sizeof *w.paths);
    w.pf = malloc(sizeof *w.pf * (size_t)w.NP * VFR_FIN_COUNT);
    w.names = calloc((size_t)w.NP, sizeof *w.names);
    if (!w.dg || !w.sc || !w.paths || !w.pf || !w.names)
        st = vfr_fail(VFR_ERR_NOMEM, "train: out of memory for the cpcv paths");
    for (int32_t s = 0; st == VFR_OK && s < w.K; s++) {
        int64_t rows = 0;
        st = cpcv_split(&w, &cs->folds[s], s, &r->mc, rounds, r->o->stop, &rows);
        if (st == VFR_OK) {
            vfr_report_log(&r->rep, VFR_LOG_INFO, "cpcv split %d/%d: %lld training rows, test groups scored", s + 1,
                           w.K, (long long)rows);
            vfr_report_progress(&r->rep, "cpcv", s + 1, w.K);
        }
    }
    if (st == VFR_OK)
        st = cpcv_join_paths(&w);
    char path[8400];
    if (st == VFR_OK)
        st = vfr_runfolder_path(r->tmp, VFR_RUNFILE_CPCV_PATHS, path, sizeof path);
    if (st == VFR_OK)
        st = vfr_backtest_write(path, &r->bo, w.NP, domain, p->dates, (const char *const *)w.names, w.paths);
    if (st == VFR_OK)
        cpcv_json(&w, r->metrics, &r->rep);
    cpcv_work_free(&w);
    vfr_split_free(cs);
    return st;
}

/* ---- steps 1 to 3: load, prepare, split ------------------------------------- */

/* 1. load: device, dataset, lineage. */
static vfr_status step_load(train_run *r)
{
    const vfr_job *job = r->job;
    step_begin(&r->tm, &r->rep, "load", 1);
    vfr_status st = vfr_device_resolve(r->o->device, &r->dev);
    if (st == VFR_OK)
        st = vfr_model_device(job->model_type, r->o->device, r->dev, &r->rep, &r->model_dev);
    if (st != VFR_OK)
        return st;
    vfr_report_log(&r->rep, VFR_LOG_INFO, "job %s: %s model, target %s, device %s", job->job_id,
                   job->model_type, job->target, vfr_device_kind_str(r->model_dev));
    st = vfr_job_check_model(job, r->model_dev); /* before any data is read */
    if (st == VFR_OK)
        st = vfr_prepare_open_dataset(job, &r->ds);
    if (st == VFR_OK)
        st = vfr_digest_sha256_file(job->data.dataset, r->sha);
    if (st == VFR_OK)
        step_end(&r->tm);
    return st;
}

/* 2. prepare: the rows, labels and features of the job's slice. */
static vfr_status step_prepare(train_run *r)
{
    step_begin(&r->tm, &r->rep, "prepare", 2);
    vfr_status st = vfr_prepare(r->ds, r->job, r->dev, &r->rep, &r->p, &r->quality);
    if (st != VFR_OK)
        return st;
    vfr_report_log(&r->rep, VFR_LOG_INFO, "prepared %lld rows, %d dates, %d features", (long long)r->p->n,
                   r->p->T, r->p->F);
    step_end(&r->tm);
    return VFR_OK;
}

/* 3. split, then the model, created now so that bad hyperparameters fail
 * before any folder. */
static vfr_status step_split(train_run *r)
{
    const vfr_job *job = r->job;
    step_begin(&r->tm, &r->rep, "split", 3);
    /* cpcv: the final model and the test period are the holdout's (the last
     * dates); the cpcv folds of the dates before them give the search's folds
     * and the combinatorial backtest paths (cpcv_paths) */
    r->outer = job->split;
    r->cpcv = job->split.method == VFR_SPLIT_CPCV;
    if (r->cpcv)
        r->outer.method = VFR_SPLIT_HOLDOUT;
    vfr_status st = vfr_split_make(&r->outer, r->p->T, &r->sp);
    if (st != VFR_OK) {
        vfr_error_prefix("%s: ", job->path);
        return st;
    }
    step_end(&r->tm);
    r->mc = (vfr_model_config){job->model_type, job->training.hyperparameters_json, job->objective,
                               r->model_dev, job->training.seed, r->p->F,
                               (const char *const *)r->p->feature_names, r->o->nthread, &r->rep};
    st = vfr_model_create(&r->mc, &r->model);
    if (st != VFR_OK)
        vfr_error_prefix("%s: ", job->path);
    return st;
}

/* ---- the search, and the run folder ------------------------------------------ */

/* metrics.json's search block. */
static void search_json(train_run *r)
{
    const vfr_tune_result *t = &r->tune;
    cJSON *sj = cJSON_AddObjectToObject(r->metrics, "search");
    cJSON_AddNumberToObject(sj, "trialsEvaluated", (double)t->trials_evaluated);
    cJSON_AddNumberToObject(sj, "bestTrial", t->best_trial);
    cJSON_AddNumberToObject(sj, "bestScoreMean", t->best_mean);
    cJSON_AddNumberToObject(sj, "bestScoreSd", t->best_sd);
    cJSON_AddStringToObject(sj, "scoringMetric", r->job->search.metric);
    cJSON *bp = cJSON_Parse(t->best_params_json);
    cJSON_AddItemToObject(sj, "bestParams", bp ? bp : cJSON_CreateObject());
    if (isfinite(t->sharpe_variance))
        cJSON_AddNumberToObject(sj, "trialSharpeVariance", t->sharpe_variance);
    cJSON_AddNumberToObject(sj, "bestRounds", t->best_rounds);
}

/* A search block: tune first (its trial log lives in the run folder, so an
 * interrupted search resumes), then the model with the best parameters. */
static vfr_status step_search(train_run *r)
{
    const vfr_job *job = r->job;
    const vfr_train_options *o = r->o;
    if (!job->search.enabled)
        return VFR_OK;
    vfr_tune_options to = {r->dst, o->jobs > 0 ? o->jobs : 1, o->nthread, o->resume, 0, 1, o->device, &r->rep,
                           o->stop};
    vfr_status st = vfri_tune_prepared(job, r->p, r->dev, r->model_dev, &to, &r->tune);
    if (st != VFR_OK)
        return st;
    vfr_report_log(&r->rep, VFR_LOG_INFO, "search: best trial %d, %s %.5f +- %.5f over %lld trials; final fit with %s",
                   r->tune.best_trial, job->search.metric, r->tune.best_mean, r->tune.best_sd,
                   (long long)r->tune.trials_evaluated, r->tune.best_params_json);
    vfr_model_destroy(r->model);
    r->model = NULL;
    r->mc.params_json = r->tune.best_params_json;
    if ((st = vfr_model_create(&r->mc, &r->model)) != VFR_OK)
        return st;
    search_json(r);
    return VFR_OK;
}

/* Where the run goes: --out, or <runs>/<jobId>. */
static vfr_status run_destination(train_run *r)
{
    const vfr_train_options *o = r->o;
    if (!o->out_dir) {
        vfr_status st = vfr_runfolder_dir(o->runs_dir, r->job->job_id, r->dst, sizeof r->dst);
        if (st != VFR_OK)
            return st;
    } else {
        int n = snprintf(r->dst, sizeof r->dst, "%s", o->out_dir);
        if (n < 0 || (size_t)n >= sizeof r->dst) {
            r->dst[0] = '\0';
            return vfr_fail(VFR_ERR_INVALID_ARG, "--out: path too long (over %zu bytes)", sizeof r->dst - 1);
        }
    }
    return vfr_prepared_set_cache_root(r->p, r->dst); /* external memory's cache files, if any */
}

/* The run folder, under a temporary name (leftovers of killed runs of this
 * job are cleaned first), with its log and the documents known before the
 * fit: the resolved job, the quality report, the fitted processors, the
 * split. */
static vfr_status open_run_folder(train_run *r)
{
    const vfr_job *job = r->job;
    vfr_status st = vfri_run_tmp_create(r->dst, r->tmp, sizeof r->tmp);
    if (st != VFR_OK) {
        r->tmp[0] = '\0';
        return st;
    }
    char logp[8500];
    if ((st = vfr_runfolder_path(r->tmp, VFR_RUNFILE_LOG, logp, sizeof logp)) != VFR_OK)
        return st;
    r->lg.f = fopen(logp, "w");
    vfr_report_log(&r->rep, VFR_LOG_INFO, "run folder %s (assembled in %s)", r->dst, r->tmp);
    char *resolved = vfr_job_to_json(job);
    st = resolved ? vfri_runfolder_write_text(r->tmp, VFR_RUNFILE_JOB, resolved) : oom();
    free(resolved);
    if (st == VFR_OK)
        st = vfri_runfolder_write_text(r->tmp, VFR_RUNFILE_QUALITY, r->quality);
    if (st == VFR_OK && r->p->processors_json) /* the fitted chain: the registry keeps it for vfr predict */
        st = vfri_runfolder_write_text(r->tmp, VFR_RUNFILE_PROCESSORS, r->p->processors_json);
    char *split = NULL;
    if (st == VFR_OK)
        st = vfr_runfolder_split_json(job, r->p, r->sp, &split);
    if (st == VFR_OK)
        st = vfri_runfolder_write_text(r->tmp, VFR_RUNFILE_SPLIT, split);
    free(split);
    return st;
}

/* ---- 4. fit and predict, 5. save ----------------------------------------------- */

/* metrics.json's entry of fold k. */
static cJSON *fold_json(const train_run *r, int32_t k, int64_t train_rows, int64_t val_rows,
                        const vfr_fit_result *fr)
{
    const vfr_prepared *p = r->p;
    const vfr_fold *f = &r->sp->folds[k];
    cJSON *fj = cJSON_CreateObject();
    cJSON_AddNumberToObject(fj, "fold", k);
    cJSON_AddNumberToObject(fj, "trainRows", (double)train_rows);
    cJSON_AddNumberToObject(fj, "validationRows", (double)val_rows);
    cJSON_AddNumberToObject(fj, "testRows", (double)(p->date_row[f->test[0].hi] - p->date_row[f->test[0].lo]));
    /* what this fold's baselines may know: its own training labels */
    char t0s[11], t1s[11];
    vfr_date_format(p->dates[f->test[0].lo], t0s);
    vfr_date_format(p->dates[f->test[0].hi - 1], t1s);
    cJSON_AddStringToObject(fj, "testStart", t0s);
    cJSON_AddStringToObject(fj, "testEnd", t1s);
    if (r->job->objective == VFR_OBJECTIVE_DIRECTION)
        cJSON_AddNumberToObject(fj, "trainPositiveRate",
                                positive_rate(p, f->train[0].lo, r->refit ? f->val[0].hi : f->train[0].hi));
    cJSON_AddNumberToObject(fj, "rounds", fr->rounds);
    cJSON_AddNumberToObject(fj, "bestRound", fr->best_round);
    cJSON_AddStringToObject(fj, "loss", fr->loss_name);
    cJSON_AddNumberToObject(fj, "trainLoss", fr->train_loss);
    if (isfinite(fr->best_val_loss))
        cJSON_AddNumberToObject(fj, "validationLoss", fr->best_val_loss);
    else
        cJSON_AddNullToObject(fj, "validationLoss");
    return fj;
}

/* Fold k: a fresh model fitted on its training dates (with a search's
 * holdout refit: training and validation dates), scoring its test dates
 * (and its validation dates for a holdout without refit). */
static vfr_status fit_fold(train_run *r, int32_t k, cJSON *fits)
{
    const vfr_prepared *p = r->p;
    const vfr_fold *f = &r->sp->folds[k];
    if (f->n_train != 1 || f->n_test != 1 || f->n_val > 1)
        return vfr_fail(VFR_ERR_INTERNAL, "train: fold %d is not a sequential layout", k);
    vfr_dataview *tr = NULL, *va = NULL;
    vfr_fit_result fr = {0};
    vfr_fit_options fo = {r->job->training.early_stopping_rounds, r->refit ? r->tune.best_rounds : 0, r->o->stop};
    vfr_status st = date_view(p, f->train[0].lo, r->refit ? f->val[0].hi : f->train[0].hi, 1, &tr);
    if (st == VFR_OK && f->n_val && !r->refit)
        st = date_view(p, f->val[0].lo, f->val[0].hi, 1, &va);
    if (st == VFR_OK && k > 0) {
        vfr_model_destroy(r->model);
        r->model = NULL;
        st = vfr_model_create(&r->mc, &r->model);
    }
    if (st == VFR_OK)
        st = vfr_model_fit(r->model, tr, va, &fo, &fr);
    double t1 = vfri_seconds();
    if (st == VFR_OK)
        st = predict_dates(r->model, p, f->test[0].lo, f->test[0].hi, r->score_row);
    if (st == VFR_OK && r->holdout && va)
        st = predict_dates(r->model, p, f->val[0].lo, f->val[0].hi, r->score_row);
    if (st == VFR_OK) {
        r->predict_s += vfri_seconds() - t1;
        int64_t train_rows = vfr_dataview_rows(tr);
        cJSON_AddItemToArray(fits, fold_json(r, k, train_rows, va ? vfr_dataview_rows(va) : 0, &fr));
        vfr_report_log(&r->rep, VFR_LOG_INFO,
                       "fold %d/%d: %lld train rows, %d rounds (best %d), %s train %.5f validation %.5f", k + 1,
                       r->sp->K, (long long)train_rows, fr.rounds, fr.best_round + 1, fr.loss_name, fr.train_loss,
                       fr.best_val_loss);
        vfr_report_progress(&r->rep, "fit", k + 1, r->sp->K);
    }
    vfr_dataview_destroy(tr), vfr_dataview_destroy(va);
    return st;
}

/* 4. fit, predict: per fold; the test blocks of successive folds are
 * adjacent, so together they form one out-of-sample date range. */
static vfr_status step_fit(train_run *r)
{
    const vfr_prepared *p = r->p;
    const vfr_split *sp = r->sp;
    r->te_lo = sp->folds[0].test[0].lo, r->te_hi = sp->folds[sp->K - 1].test[0].hi;
    r->last = &sp->folds[sp->K - 1];
    /* with a search, a holdout's final fit uses train + validation with the
     * search's rounds, so the validation rows are no longer out of sample */
    r->refit = r->job->search.enabled && r->outer.method == VFR_SPLIT_HOLDOUT && r->last->n_val > 0;
    r->holdout = r->outer.method == VFR_SPLIT_HOLDOUT && r->last->n_val > 0 && !r->refit;
    /* scores by prepared row; evaluation reads them through trading views */
    r->score_row = malloc(sizeof *r->score_row * (size_t)(p->n_all ? p->n_all : 1));
    r->imp = calloc((size_t)(p->F ? p->F : 1), sizeof *r->imp);
    if (!r->score_row || !r->imp)
        return oom();
    for (int64_t i = 0; i < p->n_all; i++)
        r->score_row[i] = NAN;
    /* the final fit trains what the search scored (issue: the final model is
     * the one that was scored) */
    if (r->refit)
        vfr_report_log(&r->rep, VFR_LOG_INFO, "final fit: %d rounds (%s)", r->tune.best_rounds,
                       r->job->search.early_stopping_rounds > 0
                           ? "the best trial's mean best round over its folds: early stopping was on in the search"
                           : "n_estimators: early stopping was off in the search");
    cJSON *fits = cJSON_AddArrayToObject(r->metrics, "folds");
    step_begin(&r->tm, &r->rep, "fit", 4);
    for (int32_t k = 0; k < sp->K; k++) {
        vfr_status st = fit_fold(r, k, fits);
        if (st != VFR_OK)
            return st;
    }
    step_end(&r->tm);
    return VFR_OK;
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
        st = oom();
        goto done;
    }
    if ((st = vfr_prepared_read_features(p, r0, r0 + n, X)) != VFR_OK)
        goto done;
    for (int64_t i = 0; i < n; i++)
        pr.prev_row[i] = p->prev_row[r0 + i] >= r0 && p->prev_row[r0 + i] < r0 + i ? p->prev_row[r0 + i] - r0 : -1;
    char path[8400];
    if ((st = vfr_probe_predict(m, &pr, pr.score)) == VFR_OK &&
        (st = vfr_runfolder_path(dir, VFR_RUNFILE_PROBE, path, sizeof path)) == VFR_OK)
        st = vfr_probe_write(path, &pr);
done:
    free(X);
    free(pr.prev_row);
    free(pr.score);
    return st;
}

/* 5. save: the model artifact, its feature importance, the probe set (the
 * log calls this step "predict": its seconds are the folds' predictions). */
static vfr_status step_save(train_run *r)
{
    step_begin(&r->tm, &r->rep, "predict", 5);
    cJSON_AddNumberToObject(r->tm.steps, "predict", r->predict_s);
    char mpath[8500];
    vfr_status st = vfri_runfolder_path_named(r->tmp, vfr_model_artifact_name(r->job->model_type), mpath, sizeof mpath);
    if (st == VFR_OK)
        st = vfr_model_save(r->model, mpath);
    if (st == VFR_OK)
        st = vfr_model_importance(r->model, r->imp);
    if (st == VFR_OK)
        st = write_probe(r->tmp, r->p, r->model, r->te_hi);
    if (st == VFR_OK) {
        r->tm.step = "save";
        step_end(&r->tm);
    }
    return st;
}

/* ---- 6. evaluate ------------------------------------------------------------------ */

/* The scores of every tradable row of the test dates (and, for a holdout,
 * of the validation dates): the label policy decides which count in the
 * classification metrics (NaN labels are skipped), never which names are
 * held (prepare.h). */
static vfr_status evaluate_scores(train_run *r)
{
    vfr_status st = vfr_prepared_trading_view(r->p, r->te_lo, r->te_hi, &r->tv_te);
    if (st != VFR_OK)
        return st;
    const int64_t n_te = r->tv_te.panel.N;
    if (!(r->score = malloc(sizeof *r->score * (size_t)(n_te ? n_te : 1))))
        return oom();
    for (int64_t i = 0; i < n_te; i++)
        r->score[i] = r->score_row[r->tv_te.row[i]];
    if (!r->holdout)
        return VFR_OK;
    st = vfr_prepared_trading_view(r->p, r->last->val[0].lo, r->last->val[0].hi, &r->tv_va);
    if (st != VFR_OK)
        return st;
    r->n_va = r->tv_va.panel.N;
    if (!(r->val_score = malloc(sizeof *r->val_score * (size_t)(r->n_va ? r->n_va : 1))))
        return oom();
    for (int64_t i = 0; i < r->n_va; i++)
        r->val_score[i] = r->score_row[r->tv_va.row[i]];
    return VFR_OK;
}

/* metrics.json's test (and validation) metrics. */
static vfr_status evaluate_metrics(train_run *r)
{
    const int direction = r->job->objective == VFR_OBJECTIVE_DIRECTION;
    vfr_metrics_options_default(&r->mo);
    r->mo.task = direction ? VFR_TASK_CLASSIFICATION : VFR_TASK_REGRESSION;
    r->mo.threshold = direction ? 0.5 : 0.0;
    double mt[VFR_METRIC_COUNT], mv[VFR_METRIC_COUNT];
    vfr_status st = vfr_metrics_batch(r->dev, &r->tv_te.panel, r->score, 1, &r->mo, mt);
    if (st != VFR_OK)
        return st;
    cJSON_AddItemToObject(r->metrics, "test", metric_table(mt));
    if (r->holdout) {
        if ((st = vfr_metrics_batch(r->dev, &r->tv_va.panel, r->val_score, 1, &r->mo, mv)) != VFR_OK)
            return st;
        cJSON_AddItemToObject(r->metrics, "validation", metric_table(mv));
    }
    return VFR_OK;
}

/* metrics.json's backtest block: the book against buy-and-hold (skill or
 * market exposure), and its log line. */
static void backtest_json(train_run *r)
{
    const vfr_backtest_options *bo = &r->bo;
    const double *fin = r->fin;
    const int32_t T = r->tv_te.panel.T;
    cJSON *btj = cJSON_AddObjectToObject(r->metrics, "backtest");
    cJSON_AddStringToObject(btj, "strategy", vfr_backtest_strategy_name(bo->strategy));
    cJSON_AddNumberToObject(btj, "k", bo->k);
    cJSON_AddNumberToObject(btj, "threshold", bo->threshold);
    cJSON_AddNumberToObject(btj, "holdingDays", bo->horizon);
    cJSON_AddNumberToObject(btj, "costBps", bo->cost_bps);
    cJSON_AddItemToObject(btj, "model", vfri_backtest_fin_json(fin));
    cJSON_AddItemToObject(btj, "buyAndHold", vfri_backtest_fin_json(fin + VFR_FIN_COUNT));
    cJSON *ex = vfri_backtest_exposure_json(fin, r->daily, r->daily + T, T, r->job->horizon);
    const cJSON *b_ = cJSON_GetObjectItem(ex, "beta"), *a_ = cJSON_GetObjectItem(ex, "alpha"),
                *t_ = cJSON_GetObjectItem(ex, "alphaT");
    vfr_report_log(&r->rep, VFR_LOG_INFO,
                   "test backtest (%s, %g bps): Sharpe %.2f, net exposure %+.3f, gross %.3f, beta %.3f, "
                   "alpha %+.2f%% a year (HAC t %.2f); buy-and-hold Sharpe %.2f, turnover %.4f a day",
                   vfr_backtest_strategy_name(bo->strategy), bo->cost_bps, fin[VFR_FIN_SHARPE],
                   fin[VFR_FIN_NET_EXPOSURE], fin[VFR_FIN_EXPOSURE], cJSON_IsNumber(b_) ? b_->valuedouble : NAN,
                   cJSON_IsNumber(a_) ? 100 * a_->valuedouble : NAN, cJSON_IsNumber(t_) ? t_->valuedouble : NAN,
                   fin[VFR_FIN_COUNT + VFR_FIN_SHARPE], fin[VFR_FIN_COUNT + VFR_FIN_TURNOVER]);
    cJSON_AddItemToObject(btj, "exposure", ex);
}

/* The job's backtest and buy-and-hold (every name long, equal weight,
 * held) over the test dates: backtest.h5 and metrics.json's backtest. */
static vfr_status evaluate_backtest(train_run *r)
{
    const vfr_panel *pte = &r->tv_te.panel;
    float *bh = NULL;
    vfr_status st = vfr_job_backtest_options(r->job, pte, &r->bo);
    if (st != VFR_OK)
        return st;
    r->daily = malloc(sizeof *r->daily * 2 * (size_t)(pte->T ? pte->T : 1));
    bh = malloc(sizeof *bh * (size_t)(pte->N ? pte->N : 1));
    if (!r->daily || !bh) {
        free(bh);
        return oom();
    }
    st = vfr_backtest(r->dev, pte, r->score, 1, &r->bo, r->fin, r->daily);
    for (int64_t i = 0; i < pte->N; i++)
        bh[i] = 1.0f;
    vfr_backtest_options bho = r->bo;
    bho.strategy = VFR_STRATEGY_LONG_ONLY;
    bho.threshold = 0.0;
    if (st == VFR_OK)
        st = vfr_backtest(r->dev, pte, bh, 1, &bho, r->fin + VFR_FIN_COUNT, r->daily + pte->T);
    free(bh);
    /* daily returns of the model and buy-and-hold over the test dates */
    char bpath[8400];
    static const char *const names[2] = {"model", "buy_and_hold"};
    if (st == VFR_OK)
        st = vfr_runfolder_path(r->tmp, VFR_RUNFILE_BACKTEST, bpath, sizeof bpath);
    if (st == VFR_OK)
        st = vfr_backtest_write(bpath, &r->bo, 2, pte->T, r->p->dates + r->te_lo, names, r->daily);
    if (st == VFR_OK)
        backtest_json(r);
    return st;
}

/* metrics.json's feature importance, test period, task and the last fold's
 * training base rate (each fold's is in folds[]). */
static void evaluate_tables(train_run *r)
{
    const vfr_prepared *p = r->p;
    cJSON *fi = cJSON_AddArrayToObject(r->metrics, "featureImportance");
    for (int32_t f = 0; f < p->F; f++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "feature", p->feature_names[f]);
        cJSON_AddNumberToObject(e, "importance", r->imp[f]);
        cJSON_AddItemToArray(fi, e);
    }
    char d0[11], d1[11];
    vfr_date_format(p->dates[r->te_lo], d0);
    vfr_date_format(p->dates[r->te_hi - 1], d1);
    cJSON *tp = cJSON_AddObjectToObject(r->metrics, "testPeriod");
    cJSON_AddStringToObject(tp, "start", d0);
    cJSON_AddStringToObject(tp, "end", d1);
    cJSON_AddNumberToObject(tp, "dates", r->tv_te.panel.T);
    cJSON_AddNumberToObject(tp, "rows", (double)r->tv_te.panel.N);
    cJSON_AddStringToObject(r->metrics, "task", vfr_metrics_task_name(r->mo.task));
    if (r->job->objective == VFR_OBJECTIVE_DIRECTION)
        cJSON_AddNumberToObject(r->metrics, "trainPositiveRate",
                                positive_rate(p, r->last->train[0].lo,
                                              r->refit ? r->last->val[0].hi : r->last->train[0].hi));
}

static void predictions_free(vfr_predictions *pr)
{
    free(pr->date), free(pr->symbol), free(pr->score), free(pr->label), free(pr->fwd), free(pr->fwd1);
    free(pr->set);
}

/* predictions.h5: validation (holdout) and test rows, by (date, symbol);
 * kept in r->pred for the comparison. */
static vfr_status write_predictions(train_run *r)
{
    const vfr_prepared *p = r->p;
    vfr_predictions *pr = &r->pred;
    const int64_t N = r->n_va + r->tv_te.panel.N;
    const size_t n = (size_t)(N ? N : 1);
    *pr = (vfr_predictions){.N = N, .M = 1, .S = p->S, .horizon = r->job->horizon, .task = r->mo.task,
                            .symbols = p->symbols, .backtest = &r->bo};
    pr->date = malloc(sizeof *pr->date * n), pr->symbol = malloc(sizeof *pr->symbol * n);
    pr->score = malloc(sizeof *pr->score * n), pr->label = malloc(sizeof *pr->label * n);
    pr->fwd = malloc(sizeof *pr->fwd * n), pr->fwd1 = malloc(sizeof *pr->fwd1 * n), pr->set = malloc(n);
    if (!pr->date || !pr->symbol || !pr->score || !pr->label || !pr->fwd || !pr->fwd1 || !pr->set)
        return oom();
    for (int64_t i = 0; i < N; i++) {
        int is_val = i < r->n_va;
        int64_t row = is_val ? r->tv_va.row[i] : r->tv_te.row[i - r->n_va];
        pr->date[i] = p->date[row];
        pr->symbol[i] = p->symbol[row];
        pr->score[i] = r->score_row[row];
        pr->label[i] = p->y[row]; /* NaN: traded, not labelled (prepare.h) */
        pr->fwd[i] = p->fwd[row];
        pr->fwd1[i] = p->fwd1[row];
        pr->set[i] = (int8_t)(is_val ? VFR_SET_VALIDATION : VFR_SET_TEST);
    }
    char path[8500];
    vfr_status st = vfr_runfolder_path(r->tmp, VFR_RUNFILE_PREDICTIONS, path, sizeof path);
    return st == VFR_OK ? vfr_predictions_write(path, pr, 4) : st;
}

/* 6. evaluate: metrics of the test (and validation) rows, the job's
 * backtest and buy-and-hold over the same dates, the cpcv paths;
 * metrics.json and predictions.h5. */
static vfr_status step_evaluate(train_run *r)
{
    step_begin(&r->tm, &r->rep, "evaluate", 6);
    vfr_status st = evaluate_scores(r);
    if (st == VFR_OK)
        st = evaluate_metrics(r);
    if (st == VFR_OK)
        st = evaluate_backtest(r);
    if (st != VFR_OK)
        return st;
    evaluate_tables(r);
    if (r->cpcv && (st = cpcv_paths(r, r->refit ? r->tune.best_rounds : 0)) != VFR_OK)
        return st;
    if ((st = vfri_runfolder_write_json(r->tmp, VFR_RUNFILE_METRICS, r->metrics)) != VFR_OK ||
        (st = write_predictions(r)) != VFR_OK)
        return st;
    step_end(&r->tm);
    return VFR_OK;
}

/* ---- 7. compare ------------------------------------------------------------------- */

/* The test rows of r->pred as compare reads them from predictions.h5: a
 * view of its arrays with the dates' offsets. OUT *offsets: malloc'ed. */
static vfr_status test_predictions(const train_run *r, vfr_predictions *t, int64_t **offsets)
{
    const int64_t k = r->n_va;
    *t = r->pred;
    t->N = r->pred.N - k;
    t->date += k, t->symbol += k, t->score += k, t->label += k, t->fwd += k, t->fwd1 += k, t->set += k;
    int32_t T = 0;
    for (int64_t i = 0; i < t->N; i++)
        T += i == 0 || t->date[i] != t->date[i - 1];
    if (!(*offsets = malloc(sizeof **offsets * (size_t)(T + 1))))
        return oom();
    t->T = 0;
    for (int64_t i = 0; i < t->N; i++)
        if (i == 0 || t->date[i] != t->date[i - 1])
            (*offsets)[t->T++] = i;
    (*offsets)[T] = t->N;
    t->date_offset = *offsets;
    return VFR_OK;
}

/* 7. compare with the baselines: comparison.json, backtest.h5. The
 * search's files join the run first (on failure they go back, see run_end,
 * so a retry can resume the search). */
static vfr_status step_compare(train_run *r)
{
    vfr_status st = VFR_OK;
    if (r->job->search.enabled && (st = vfri_runfolder_move_search(r->dst, r->tmp)) != VFR_OK)
        return st;
    r->moved_search = r->job->search.enabled;
    step_begin(&r->tm, &r->rep, "compare", 7);
    vfr_predictions test;
    int64_t *offsets = NULL;
    cJSON *search = r->job->search.enabled ? cJSON_Parse(r->tune.search_json) : NULL, *cmp = NULL;
    vfr_compare_options co = {NULL, 0, r->dev, r->o->champion, &r->rep};
    st = test_predictions(r, &test, &offsets);
    if (st == VFR_OK) {
        vfr_compare_input in = {r->job, r->metrics, search, &test};
        st = vfri_compare_core(r->tmp, &in, &co, &cmp);
    }
    const cJSON *d = cJSON_GetObjectItem(cmp, "decision");
    if (d)
        vfr_report_log(&r->rep, VFR_LOG_INFO, "%s", cJSON_GetObjectItem(d, "reason")->valuestring);
    cJSON_Delete(cmp);
    cJSON_Delete(search);
    free(offsets);
    if (st == VFR_OK)
        step_end(&r->tm);
    return st;
}

/* ---- 8. publish --------------------------------------------------------------------- */

/* manifest.json's dataset: path, digest, dates, rows and the symbols used. */
static void manifest_dataset(train_run *r)
{
    const vfr_prepared *p = r->p;
    char d0[11], d1[11];
    cJSON *dsj = cJSON_AddObjectToObject(r->manifest, "dataset");
    cJSON_AddStringToObject(dsj, "path", r->job->data.dataset);
    cJSON_AddStringToObject(dsj, "sha256", r->sha);
    vfr_date_format(p->dates[0], d0);
    vfr_date_format(p->dates[p->T - 1], d1);
    cJSON_AddStringToObject(dsj, "dateFirst", d0);
    cJSON_AddStringToObject(dsj, "dateLast", d1);
    cJSON_AddNumberToObject(dsj, "rows", (double)p->n);
    cJSON *syms = cJSON_AddArrayToObject(dsj, "symbols");
    char *used = calloc((size_t)(p->S ? p->S : 1), 1);
    for (int64_t i = 0; used && i < p->n; i++)
        used[p->symbol[i]] = 1;
    for (int32_t s = 0; used && s < p->S; s++)
        if (used[s])
            cJSON_AddItemToArray(syms, cJSON_CreateString(p->symbols[s]));
    free(used);
}

/* manifest.json's model: type, artifact, its own description. */
static void manifest_model(train_run *r)
{
    cJSON *mj = cJSON_AddObjectToObject(r->manifest, "model");
    cJSON_AddStringToObject(mj, "type", r->job->model_type);
    cJSON_AddStringToObject(mj, "artifact", vfr_model_artifact_name(r->job->model_type));
    char *desc = vfr_model_describe(r->model);
    cJSON *dj = desc ? cJSON_Parse(desc) : NULL;
    free(desc);
    cJSON_AddItemToObject(mj, "description", dj ? dj : cJSON_CreateObject());
}

/* manifest.json's libraries: the versions this run used. */
static void manifest_libraries(train_run *r)
{
    char v[64];
    cJSON *lib = cJSON_AddObjectToObject(r->manifest, "libraries");
    unsigned ma, mi, re;
    H5get_libversion(&ma, &mi, &re);
    snprintf(v, sizeof v, "%u.%u.%u", ma, mi, re);
    cJSON_AddStringToObject(lib, "hdf5", v);
    vfr_xgboost_info xi;
    if (vfr_xgboost_probe(&xi) == VFR_OK) {
        snprintf(v, sizeof v, "%d.%d.%d", xi.major, xi.minor, xi.patch);
        cJSON_AddStringToObject(lib, "xgboost", v);
        cJSON_AddStringToObject(lib, "xgboostPath", xi.path);
        cJSON_AddBoolToObject(lib, "xgboostCuda", xi.has_cuda);
    }
    vfr_lightgbm_info li;
    if (strcmp(r->job->model_type, "lightgbm") == 0 && vfr_lightgbm_probe(&li) == VFR_OK)
        cJSON_AddStringToObject(lib, "lightgbm", li.version);
    vfr_error_clear();
    char cv[32];
    vfr_device_cuda_runtime_version(cv);
    cJSON_AddStringToObject(lib, "cudaRuntime", cv);
    vfr_device_cudnn_version(cv);
    cJSON_AddStringToObject(lib, "cudnn", cv);
}

/* manifest.json: lineage, libraries, device, seeds, the search's outcome. */
static void manifest_fill(train_run *r)
{
    const vfr_job *job = r->job;
    char now[32];
    vfri_utc_now(now);
    cJSON_AddStringToObject(r->manifest, "jobId", job->job_id);
    cJSON_AddStringToObject(r->manifest, "createdAt", now);
    cJSON_AddStringToObject(r->manifest, "vfrVersion", VFR_VERSION);
    manifest_dataset(r);
    manifest_model(r);
    manifest_libraries(r);
    cJSON *devj = cJSON_AddObjectToObject(r->manifest, "device");
    cJSON_AddStringToObject(devj, "asked", vfr_device_kind_str(r->o->device));
    cJSON_AddStringToObject(devj, "used", vfr_device_kind_str(r->dev));
    cJSON_AddStringToObject(devj, "model", vfr_device_kind_str(r->model_dev));
    if (r->dev == VFR_DEVICE_CUDA) {
        vfr_device_props dp;
        if (vfr_device_props_get(0, &dp) == VFR_OK)
            cJSON_AddStringToObject(devj, "name", dp.name);
    }
    cJSON_AddNumberToObject(r->manifest, "seed", (double)job->training.seed);
    if (job->search.enabled) {
        cJSON_AddNumberToObject(r->manifest, "searchSeed", (double)job->search.seed);
        cJSON_AddNumberToObject(r->manifest, "trialsEvaluated", (double)r->tune.trials_evaluated);
        cJSON *bp = cJSON_Parse(r->tune.best_params_json);
        cJSON_AddItemToObject(r->manifest, "bestParams", bp ? bp : cJSON_CreateObject());
    }
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
        d.as = job->deploy_as == VFR_DEPLOY_CHALLENGER ? VFR_REGISTRY_CHALLENGER : VFR_REGISTRY_CHAMPION;
        d.traffic = job->deploy_traffic;
        vfr_registry_auto_result ar;
        if ((st = vfr_registry_auto_deploy(reg, v->name, v->version, &d, NULL, &ar)) != VFR_OK) {
            cJSON_Delete(rj);
            goto done;
        }
        res->deployed = ar.deployed;
        vfr_report_log(rep, VFR_LOG_INFO, "autoDeploy: %s", ar.why);
        cJSON_AddStringToObject(rj, "alias", ar.deployed ? vfr_job_enum_name("deployAs", (int)job->deploy_as) : "");
        cJSON_AddBoolToObject(rj, "deployed", ar.deployed);
        cJSON_AddStringToObject(rj, "deployReason", ar.why);
    }
    st = vfri_runfolder_write_json(res->run_dir, VFR_RUNFILE_REGISTRY, rj);
    cJSON_Delete(rj);
    if (st == VFR_OK && vfr_runreport_write(res->run_dir, NULL) != VFR_OK)
        vfr_error_clear(); /* the report without the registry line is still the report */
done:
    vfr_registry_version_free(v);
    vfr_registry_close(reg);
    return st;
}

/* 8. the manifest and the report, then the folder published in one step,
 * then autoRegister. */
static vfr_status step_publish(train_run *r)
{
    step_begin(&r->tm, &r->rep, "write", 8);
    manifest_fill(r);
    step_end(&r->tm);
    vfr_status st = vfri_runfolder_write_json(r->tmp, VFR_RUNFILE_MANIFEST, r->manifest);
    if (st != VFR_OK)
        return st;
    /* the run report: a view of the finished folder; a failure costs the page, not the run */
    if (vfr_runreport_write(r->tmp, NULL) != VFR_OK) {
        vfr_report_log(&r->rep, VFR_LOG_WARN, "%s not written: %s", vfr_runfolder_file_name(VFR_RUNFILE_REPORT),
                       vfr_last_error());
        vfr_error_clear();
    }
    vfr_report_log(&r->rep, VFR_LOG_INFO, "run complete: %s", r->dst);
    if (r->lg.f) {
        fclose(r->lg.f);
        r->lg.f = NULL;
    }
    if ((st = vfri_run_publish(r->tmp, r->dst)) != VFR_OK) /* one atomic swap (runfolder.c) */
        return st;
    r->tmp[0] = '\0';
    snprintf(r->res->run_dir, sizeof r->res->run_dir, "%s", r->dst);
    if (r->job->auto_register && (st = register_run(r->job, r->o, &r->rep, r->res)) != VFR_OK)
        return st;
    r->res->metrics_json = cJSON_Print(r->metrics);
    vfr_report_progress(r->o->reporter, "train", NSTEPS, NSTEPS);
    return VFR_OK;
}

/* ---- the run ---------------------------------------------------------------------- */

/* Releases the run's state; on failure nothing half-written is left behind,
 * but the search's trial log goes back, so that a retry resumes it. */
static void run_end(train_run *r)
{
    if (r->lg.f)
        fclose(r->lg.f);
    if (r->tmp[0] && r->moved_search && vfri_mkdirs(r->dst) == 0)
        vfri_runfolder_move_search(r->tmp, r->dst);
    if (r->tmp[0])
        vfri_remove_tree(r->tmp);
    vfr_model_destroy(r->model);
    vfr_split_free(r->sp);
    vfr_prepared_free(r->p);
    vfr_dataset_close(r->ds);
    vfr_tune_result_free(&r->tune);
    free(r->quality), free(r->score), free(r->val_score), free(r->score_row), free(r->imp), free(r->daily);
    predictions_free(&r->pred);
    vfr_trading_view_free(&r->tv_te);
    vfr_trading_view_free(&r->tv_va);
    cJSON_Delete(r->manifest);
    cJSON_Delete(r->metrics);
}

vfr_status vfr_train_run(const vfr_job *job, const vfr_train_options *o, vfr_train_result *res)
{
    vfr_status st = VFR_OK;
    train_run r;
    memset(&r, 0, sizeof r);
    memset(res, 0, sizeof *res);
    r.job = job, r.o = o, r.res = res;
    r.lg = (run_log){o->reporter, NULL};
    r.rep = (vfr_reporter){log_sink, progress_sink, &r.lg};
    r.manifest = cJSON_CreateObject(), r.metrics = cJSON_CreateObject();
    r.tm = (timings){cJSON_AddObjectToObject(r.manifest, "stepSeconds"), 0, NULL};

    VFR_TRY(step_load(&r));
    VFR_TRY(step_prepare(&r));
    VFR_TRY(step_split(&r));
    VFR_TRY(run_destination(&r));
    VFR_TRY(step_search(&r));
    VFR_TRY(open_run_folder(&r));
    VFR_TRY(step_fit(&r));
    VFR_TRY(step_save(&r));
    VFR_TRY(step_evaluate(&r));
    VFR_TRY(step_compare(&r));
    VFR_TRY(step_publish(&r));
fail:
    run_end(&r);
    return st;
}
