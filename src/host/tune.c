/* tune.c: the search engine (tune.h).
 *
 * Work goes in waves: a wave is a set of trials (the whole grid or random
 * list, fold-major, or a slice of it when search.patience is set; a TPE
 * batch; or a successive-halving rung) crossed with the folds. Worker
 * threads take (trial, fold) tasks; each builds its model, fits on the fold's
 * shared training view (one DMatrix per fold) with early stopping on the
 * fold's validation view, and predicts the fold's test rows. Tasks that
 * differ only in n_estimators share one fit, scored at each value through
 * XGBoost's iteration_range. Each result is scored and appended to the trial
 * log as its fit finishes (fsynced at most a second later, and at the end of
 * each wave), so a crash loses only the fits in flight; --resume recomputes
 * exactly those. Everything that decides a result (trial list, seeds,
 * threads per model) is a function of the job and the options, so a resumed
 * or sharded search gives the same numbers. */
#include "vfr/tune.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tune_internal.h"
#include "runfolder_internal.h"
#include "util.h"
#include "vfr/backtest.h"
#include "vfr/cpcv.h"
#include "vfr/gpu.h"
#include "vfr/metrics.h"
#include "vfr/model.h"
#include "vfr/search.h"
#include "vfr/split.h"

/* One trial x fold result. */
typedef struct cell {
    int done;
    double score, train_loss, val_loss, seconds;
    double sharpe;   /* the fold's backtest Sharpe, whatever the scoring metric */
    int32_t rounds, best_round, rung;
    double *daily;   /* cpcv: the fold's out-of-sample daily returns [its test dates], for PBO */
} cell;

typedef struct trial {
    double *x;       /* point [D]                 */
    char *params;    /* merged hyperparameters    */
    cell *c;         /* [K]                       */
    int in_shard;
    int pruned;      /* stopped at rung `rung`    */
    int alive;       /* successive halving        */
    double mean, sd; /* over its folds            */
    double sharpe;   /* mean fold Sharpe (for DSR variance), NaN if not scored */
    double *rs;      /* asha: fold scores per rung [R, K] (NaN: not done) */
    int32_t top;     /* asha: the highest rung it was given (-1: none)    */
} trial;

/* A fold's test blocks (one, or a cpcv fold's several): per block the
 * trainable rows and the tradable rows the gate dropped, each a view; a
 * task's predictions are these views' scores one after the other. */
typedef struct fold_data {
    vfr_dataview *tr, *va;
    int32_t nte;                           /* views below                     */
    vfr_dataview *te[2 * VFR_SPLIT_MAX_RANGES];
    int64_t te_first[2 * VFR_SPLIT_MAX_RANGES]; /* prepared row of each view's first row */
    int64_t te_at[2 * VFR_SPLIT_MAX_RANGES];    /* its place in a task's predictions */
    vfr_trading_view tv;        /* every tradable test row, for scoring (prepare.h) */
    int64_t *pos;               /* [tv N] the row's place in a task's predictions */
    int64_t te_rows;            /* a task predicts te_rows scores                 */
    vfr_gpu_panel *gp;          /* CUDA: tv's rows staged once for scoring         */
} fold_data;

typedef struct engine {
    const vfr_job *job;
    const vfr_prepared *p;
    const vfr_tune_options *o;
    vfr_device_kind dev, model_dev;
    vfr_space *space;
    vfr_split *sp;
    int32_t K, D;
    int64_t P;                  /* trials planned              */
    trial *t;
    fold_data *f;
    int higher_better;          /* of the raw metric           */
    int nthread_model;
    FILE *log;
    char log_path[4200];
    pthread_mutex_t log_lock;   /* log writes, scoring, cells_done           */
    pthread_cond_t log_cond;    /* wakes the flusher at the end of a wave    */
    int log_dirty, wave_over;
    int64_t fits;               /* models trained by this process            */
    vfr_reporter rep;
    /* the wave in flight */
    int64_t *task_trial;
    int32_t *task_fold;
    int32_t *task_rounds;       /* max rounds for the task (0: own)          */
    int64_t *task_next;         /* the next task sharing this task's fit; -1 */
    int *task_lead;             /* 1: the task trains (for itself and its next) */
    int32_t *task_rung;         /* the rung a task trains for                */
    int32_t *fold_left;         /* [K] fits of the fold not yet finished     */
    /* asynchronous successive halving (run_asha): tasks are made as workers
     * ask, from promotions and new trials; `lock` guards this state */
    int asha;
    int32_t R;                  /* rungs; the last trains to the trial's own rounds */
    int64_t *queue, q_head, q_tail, in_flight, next_new, cap;
    int64_t *order;             /* the order new trials start in (seeded)    */
    pthread_cond_t task_cond;
    int free_done_folds;        /* fold-major: drop a fold's views when done */
    float **task_pred;          /* [tasks] -> test predictions of the fold   */
    vfr_status *task_status;
    int64_t n_tasks, next_task;
    pthread_mutex_t lock;
    vfr_status err;
    char err_msg[2048];
    double t_start;
    int64_t cells_done, cells_total;
    vfr_gpu_work *gw;           /* CUDA: the scoring's stream and scratch (score_fold runs on one thread) */
} engine;

static const char *metric_name(const char *m) { return m; }

static int metric_higher_better(const char *m) { return strcmp(m, "logloss") != 0; }

/* ---- the trial log --------------------------------------------------------- */

/* A double that reads back as the same double: cJSON prints 15 digits when
 * they come within an epsilon, which can lose the last bit, and a resumed or
 * merged search must rank the trials on exactly the numbers of one run. */
static void add_exact(cJSON *o, const char *key, double v)
{
    char b[32];
    snprintf(b, sizeof b, "%.17g", v);
    cJSON_AddRawToObject(o, key, b);
}

/* Appends one trial x fold record and hands it to the kernel (a kill -9
 * loses nothing written); log_sync makes it durable. Called under log_lock. */
static vfr_status log_cell(engine *e, int64_t ti, int32_t k)
{
    const trial *t = &e->t[ti];
    const cell *c = &t->c[k];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "trial", (double)ti);
    cJSON_AddNumberToObject(o, "fold", k);
    cJSON *pj = cJSON_Parse(t->params);
    cJSON_AddItemToObject(o, "params", pj ? pj : cJSON_CreateObject());
    cJSON_AddStringToObject(o, "metric", e->job->search.metric);
    if (isfinite(c->score))
        add_exact(o, "score", c->score);
    else
        cJSON_AddNullToObject(o, "score");
    cJSON_AddNumberToObject(o, "rounds", c->rounds);
    cJSON_AddNumberToObject(o, "bestRound", c->best_round);
    if (isfinite(c->train_loss))
        add_exact(o, "trainLoss", c->train_loss);
    if (isfinite(c->val_loss))
        add_exact(o, "validationLoss", c->val_loss);
    if (isfinite(c->sharpe))
        add_exact(o, "sharpe", c->sharpe);
    cJSON_AddNumberToObject(o, "rung", c->rung);
    cJSON_AddNumberToObject(o, "seconds", c->seconds);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        return vfr_fail(VFR_ERR_NOMEM, "tune: out of memory");
    /* one write per line: a kill can cut only the last line short */
    size_t len = strlen(s);
    s[len] = '\n';
    size_t w = fwrite(s, 1, len + 1, e->log);
    s[len] = '\0';
    free(s);
    if (w != len + 1 || fflush(e->log) != 0)
        return vfr_fail(VFR_ERR_IO, "%s: write failed (disk full?)", e->log_path);
    e->log_dirty = 1;
    return VFR_OK;
}

/* fsync of what log_cell wrote: every second while fits finish (the group
 * commit of run_wave's flusher) and at the end of each wave. */
static vfr_status log_sync(engine *e)
{
    if (fsync(fileno(e->log)) != 0)
        return vfr_fail(VFR_ERR_IO, "%s: flush failed: %s", e->log_path, strerror(errno));
    return VFR_OK;
}

/* Reads a trial log back; a last line cut short by a kill is dropped (and
 * the file truncated to the last whole line). */
static vfr_status replay_log(engine *e, const char *path, int must_exist)
{
    char *buf;
    size_t len;
    if (vfri_read_file(path, &buf, &len) != 0) {
        if (errno == ENOENT && !must_exist)
            return VFR_OK;
        return vfr_fail(errno == ENOENT ? VFR_ERR_NOT_FOUND : VFR_ERR_IO, "%s: %s", path, strerror(errno));
    }
    size_t good = 0;
    int line_no = 0;
    vfr_status st = VFR_OK;
    for (char *line = buf; line < buf + len;) {
        char *nl = memchr(line, '\n', (size_t)(buf + len - line));
        if (!nl)
            break; /* no newline: a cut-off last line */
        *nl = '\0';
        line_no++;
        cJSON *o = cJSON_Parse(line);
        const cJSON *jt = cJSON_GetObjectItem(o, "trial"), *jk = cJSON_GetObjectItem(o, "fold");
        if (!o || !cJSON_IsNumber(jt) || !cJSON_IsNumber(jk)) {
            cJSON_Delete(o);
            if (nl + 1 >= buf + len)
                break; /* a torn last line */
            st = vfr_fail(VFR_ERR_FORMAT, "%s: line %d is not a trial record", path, line_no);
            goto done;
        }
        int64_t ti = (int64_t)jt->valuedouble;
        int32_t k = jk->valueint;
        if (ti < 0 || ti >= e->P || k < 0 || k >= e->K) {
            cJSON_Delete(o);
            st = vfr_fail(VFR_ERR_INVALID_ARG,
                          "%s: line %d: trial %lld fold %d is not in this search (was the log made by another job?)",
                          path, line_no, (long long)ti, k);
            goto done;
        }
        trial *t = &e->t[ti];
        if (t->params) { /* the same trial must have the same parameters */
            char *mine = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, "params"));
            cJSON *a = cJSON_Parse(mine), *b = cJSON_Parse(t->params);
            int same = cJSON_Compare(a, b, 1);
            cJSON_Delete(a), cJSON_Delete(b), free(mine);
            if (!same) {
                cJSON_Delete(o);
                st = vfr_fail(VFR_ERR_INVALID_ARG,
                              "%s: line %d: trial %lld's parameters differ from this search's (another job or seed?)",
                              path, line_no, (long long)ti);
                goto done;
            }
        } else {
            t->params = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, "params"));
            if (!t->params || vfr_space_point_from_json(e->space, t->params, t->x) != 0) {
                cJSON_Delete(o);
                st = vfr_fail(VFR_ERR_INVALID_ARG, "%s: line %d: parameters do not fit search.space", path, line_no);
                goto done;
            }
        }
        cell *c = &t->c[k];
        const cJSON *v;
        int rung = cJSON_IsNumber(v = cJSON_GetObjectItem(o, "rung")) ? v->valueint : 0;
        if (t->rs && rung >= 0 && rung < e->R) {
            const cJSON *sv = cJSON_GetObjectItem(o, "score");
            t->rs[rung * e->K + k] = cJSON_IsNumber(sv) ? sv->valuedouble : NAN;
        }
        if (!c->done || rung >= c->rung) {
            c->done = 1;
            c->rung = rung;
            c->score = cJSON_IsNumber(v = cJSON_GetObjectItem(o, "score")) ? v->valuedouble : NAN;
            c->rounds = cJSON_IsNumber(v = cJSON_GetObjectItem(o, "rounds")) ? v->valueint : 0;
            c->best_round = cJSON_IsNumber(v = cJSON_GetObjectItem(o, "bestRound")) ? v->valueint : 0;
            c->train_loss = cJSON_IsNumber(v = cJSON_GetObjectItem(o, "trainLoss")) ? v->valuedouble : NAN;
            c->val_loss = cJSON_IsNumber(v = cJSON_GetObjectItem(o, "validationLoss")) ? v->valuedouble : NAN;
            c->seconds = cJSON_IsNumber(v = cJSON_GetObjectItem(o, "seconds")) ? v->valuedouble : 0;
            c->sharpe = cJSON_IsNumber(v = cJSON_GetObjectItem(o, "sharpe")) ? v->valuedouble : NAN;
        }
        cJSON_Delete(o);
        good = (size_t)(nl + 1 - buf);
        line = nl + 1;
    }
    if (good < len && truncate(path, (off_t)good) != 0)
        st = vfr_fail(VFR_ERR_IO, "%s: cannot drop the torn last line: %s", path, strerror(errno));
done:
    free(buf);
    return st;
}

/* ---- workers --------------------------------------------------------------- */

static vfr_status score_task(engine *e, int64_t i);

/* The boosting rounds trial t asks for: its n_estimators (or
 * num_boost_round); 0 when it names none. */
static int32_t trial_rounds(const trial *t)
{
    cJSON *o = cJSON_Parse(t->params);
    const cJSON *r = cJSON_GetObjectItem(o, "n_estimators");
    if (!r)
        r = cJSON_GetObjectItem(o, "num_boost_round");
    int32_t n = cJSON_IsNumber(r) ? r->valueint : 0;
    cJSON_Delete(o);
    return n;
}

/* Trains task i's model (for i and every task sharing its fit: the same
 * parameters but n_estimators, the same fold) and predicts the fold's test
 * rows for each: a shared fit trains to the largest n_estimators and scores
 * each smaller one with the first rounds (iteration_range), which are the
 * trees a fit of its own would have grown. */
static vfr_status fit_task(engine *e, int64_t i, int64_t *members, int32_t nm)
{
    const trial *t = &e->t[e->task_trial[i]];
    const int32_t k = e->task_fold[i];
    fold_data *fd = &e->f[k];
    vfr_model_config mc = {e->job->model_type, t->params, e->job->objective, e->model_dev,
                           e->job->training.seed, e->p->F,
                           (const char *const *)e->p->feature_names, e->nthread_model, NULL};
    vfr_model *m = NULL;
    vfr_fit_result fr;
    vfr_fit_options fo = {e->job->search.early_stopping_rounds, e->task_rounds[i], e->o->stop};
    int32_t nmax = 0;
    for (int32_t q = 0; q < nm; q++) {
        int32_t r = trial_rounds(&e->t[e->task_trial[members[q]]]);
        nmax = r > nmax ? r : nmax;
    }
    double *hist = NULL;
    if (nm > 1) {
        if (!(hist = malloc(sizeof *hist * 2 * (size_t)nmax)))
            return vfr_fail(VFR_ERR_NOMEM, "tune: out of memory");
        fo.max_rounds = nmax;
    }
    const double *tr_loss = hist, *va_loss = hist ? hist + nmax : NULL;
    vfr_status st = vfr_model_create(&mc, &m);
    if (st == VFR_OK && nm > 1)
        st = vfr_model_record_rounds(m, hist, hist + nmax);
    if (st == VFR_OK)
        st = vfr_model_fit(m, fd->tr, fd->va, &fo, &fr);
    for (int32_t q = 0; st == VFR_OK && q < nm; q++) {
        int64_t j = members[q];
        cell *c = &e->t[e->task_trial[j]].c[k];
        int32_t rounds = fr.rounds, best = fr.best_round;
        double tl = fr.train_loss, vl = fr.best_val_loss;
        if (nm > 1) { /* what a fit to this member's n_estimators would have kept */
            int32_t own = trial_rounds(&e->t[e->task_trial[j]]);
            rounds = own < fr.rounds ? own : fr.rounds;
            best = rounds - 1;
            if (fd->va && fo.early_stopping_rounds > 0) {
                double b = INFINITY;
                for (int32_t r = 0; r < rounds; r++)
                    if (va_loss[r] < b) {
                        b = va_loss[r];
                        best = r;
                    }
            }
            tl = tr_loss[best];
            vl = fd->va ? va_loss[best] : NAN;
        }
        for (int32_t v = 0; st == VFR_OK && v < fd->nte; v++)
            st = nm > 1 ? vfr_model_predict_rounds(m, fd->te[v], best + 1, e->task_pred[j] + fd->te_at[v])
                        : vfr_model_predict(m, fd->te[v], e->task_pred[j] + fd->te_at[v]);
        c->rounds = rounds;
        c->best_round = best;
        c->train_loss = tl;
        c->val_loss = vl;
    }
    vfr_model_destroy(m);
    free(hist);
    return st;
}

/* ---- asynchronous successive halving ---------------------------------------- */

/* The rounds of rung r: minRounds * eta^r; the last rung, the trial's own (0). */
static int32_t rung_rounds(const engine *e, int32_t r)
{
    if (r >= e->R - 1)
        return 0;
    int64_t n = e->job->search.min_rounds;
    for (int32_t i = 0; i < r; i++)
        n *= e->job->search.eta;
    return (int32_t)n;
}

/* Trial t's mean fold score at rung r (higher is better); NaN unless every
 * fold is done there. */
static double rung_mean(const engine *e, const trial *t, int32_t r)
{
    double s = 0;
    for (int32_t k = 0; k < e->K; k++) {
        double v = t->rs[r * e->K + k];
        if (isnan(v))
            return NAN;
        s += e->higher_better ? v : -v;
    }
    return s / e->K;
}

/* Queues trial ti's folds at rung r (those not already done there). */
static void asha_push(engine *e, int64_t ti, int32_t r)
{
    trial *t = &e->t[ti];
    t->top = r;
    for (int32_t k = 0; k < e->K; k++) {
        if (!isnan(t->rs[r * e->K + k]) || e->n_tasks >= e->cap)
            continue;
        int64_t i = e->n_tasks++;
        e->task_trial[i] = ti;
        e->task_fold[i] = k;
        e->task_rung[i] = r;
        e->task_rounds[i] = rung_rounds(e, r);
        e->task_next[i] = -1;
        e->task_lead[i] = 1;
        e->task_status[i] = VFR_ERR_INTERRUPTED;
        e->queue[e->q_tail++] = i;
    }
}

/* A trial whose every fold stopped early before rung r's rounds has its final
 * result: it goes to the last rung as it is, without training. */
static int stopped_early(const engine *e, const trial *t, int32_t r)
{
    const int32_t cap = rung_rounds(e, r);
    for (int32_t k = 0; k < e->K; k++)
        if (cap == 0 || t->c[k].rounds >= cap)
            return 0;
    return 1;
}

/* Makes work (under lock): ASHA's rule (Li et al. 2020), highest rung first:
 * a trial done at rung r and not yet promoted goes to r + 1 when it ranks in
 * the top floor(n_r / eta) of the n_r trials done at r; otherwise the next
 * new trial starts at rung 0. When nothing else is left, the best trial of the
 * highest rung reached goes to the last rung, so that a winner trains to its
 * own rounds. Returns 1 if it made work (or moved a trial). */
static int asha_schedule(engine *e)
{
    const int32_t eta = e->job->search.eta;
    for (int32_t r = e->R - 2; r >= 0; r--) {
        int64_t n = 0, best = -1;
        double bm = -INFINITY;
        for (int64_t i = 0; i < e->P; i++) {
            trial *t = &e->t[i];
            if (!t->in_shard || t->top < r)
                continue;
            double m = rung_mean(e, t, r);
            if (isnan(m))
                continue;
            n++;
            if (t->top == r && (best < 0 || m > bm))
                best = i, bm = m;
        }
        if (best < 0)
            continue;
        int64_t better = 0; /* trials done at r that beat it (earlier trial first on ties) */
        for (int64_t i = 0; i < e->P; i++) {
            double m = e->t[i].in_shard && e->t[i].top >= r ? rung_mean(e, &e->t[i], r) : NAN;
            if (!isnan(m) && i != best && (m > bm || (m == bm && i < best)))
                better++;
        }
        if (better < n / eta) {
            trial *t = &e->t[best];
            if (stopped_early(e, t, r)) {
                for (int32_t k = 0; k < e->K; k++) {
                    t->rs[(e->R - 1) * e->K + k] = t->rs[r * e->K + k];
                    t->c[k].rung = e->R - 1;
                    pthread_mutex_lock(&e->log_lock);
                    log_cell(e, best, k); /* a failed write shows in the wave's sync */
                    pthread_mutex_unlock(&e->log_lock);
                }
                t->top = e->R - 1;
            } else {
                asha_push(e, best, r + 1);
            }
            return 1;
        }
    }
    while (e->next_new < e->P && (!e->t[e->order[e->next_new]].in_shard || e->t[e->order[e->next_new]].top >= 0))
        e->next_new++;
    if (e->next_new < e->P) {
        asha_push(e, e->order[e->next_new++], 0);
        return 1;
    }
    if (e->in_flight > 0)
        return 0;
    /* the end: nothing promotable and nothing running */
    int64_t best = -1;
    int32_t br = -1;
    double bm = -INFINITY;
    for (int64_t i = 0; i < e->P; i++) {
        trial *t = &e->t[i];
        if (!t->in_shard || t->top < 0)
            continue;
        if (t->top == e->R - 1 && !isnan(rung_mean(e, t, e->R - 1)))
            return 0; /* a trial finished the last rung: done */
        double m = rung_mean(e, t, t->top);
        if (!isnan(m) && (t->top > br || (t->top == br && m > bm)))
            best = i, br = t->top, bm = m;
    }
    if (best < 0)
        return 0;
    asha_push(e, best, e->R - 1);
    return 1;
}

/* The next task for a worker (under lock), or -1: no more. */
static int64_t take_task(engine *e)
{
    for (;;) {
        if (e->err != VFR_OK || (e->o->stop && *e->o->stop))
            return -1;
        if (!e->asha) {
            while (e->next_task < e->n_tasks && !e->task_lead[e->next_task])
                e->next_task++;
            return e->next_task < e->n_tasks ? e->next_task++ : -1;
        }
        if (e->q_head < e->q_tail) {
            e->in_flight++;
            return e->queue[e->q_head++];
        }
        if (asha_schedule(e))
            continue;
        if (e->in_flight == 0)
            return -1;
        pthread_cond_wait(&e->task_cond, &e->lock);
    }
}

static void *worker(void *arg)
{
    engine *e = arg;
    int64_t *members = malloc(sizeof *members * (size_t)(e->n_tasks + 1));
    for (;;) {
        pthread_mutex_lock(&e->lock);
        if (!members && e->err == VFR_OK) {
            e->err = VFR_ERR_NOMEM;
            snprintf(e->err_msg, sizeof e->err_msg, "tune: out of memory");
        }
        int64_t i = take_task(e);
        pthread_mutex_unlock(&e->lock);
        if (i < 0)
            break;
        int32_t nm = 0;
        vfr_status st = VFR_OK;
        for (int64_t j = i; j >= 0; j = e->task_next[j]) {
            members[nm++] = j;
            const int64_t np = e->f[e->task_fold[j]].te_rows;
            if (!e->task_pred[j] && !(e->task_pred[j] = malloc(sizeof(float) * (size_t)(np ? np : 1))))
                st = vfr_fail(VFR_ERR_NOMEM, "tune: out of memory");
        }
        const int32_t k = e->task_fold[i];
        double t0 = vfri_seconds();
        if (st == VFR_OK)
            st = fit_task(e, i, members, nm);
        double secs = (vfri_seconds() - t0) / nm;
        /* score and log each result as it comes: a kill loses only the fits in flight */
        pthread_mutex_lock(&e->log_lock);
        e->fits++;
        for (int32_t q = 0; q < nm; q++) {
            int64_t j = members[q];
            trial *t = &e->t[e->task_trial[j]];
            t->c[k].seconds = secs;
            if (st == VFR_OK) {
                t->c[k].rung = e->task_rung[j];
                if ((st = score_task(e, j)) == VFR_OK && (st = log_cell(e, e->task_trial[j], k)) == VFR_OK)
                    e->cells_done++;
            }
            if (st == VFR_OK && t->rs)
                t->rs[e->task_rung[j] * e->K + k] = t->c[k].score;
            e->task_status[j] = st;
            free(e->task_pred[j]); /* scored: the predictions are done with */
            e->task_pred[j] = NULL;
        }
        pthread_mutex_unlock(&e->log_lock);
        if (e->asha) {
            pthread_mutex_lock(&e->lock);
            e->in_flight -= nm;
            pthread_cond_broadcast(&e->task_cond);
            pthread_mutex_unlock(&e->lock);
        }
        if (st != VFR_OK && st != VFR_ERR_INTERRUPTED) {
            pthread_mutex_lock(&e->lock);
            if (e->err == VFR_OK) {
                e->err = st;
                snprintf(e->err_msg, sizeof e->err_msg, "trial %lld fold %d: %s",
                         (long long)e->task_trial[i], k, vfr_last_error());
            }
            pthread_mutex_unlock(&e->lock);
        }
        if (e->free_done_folds) { /* fold-major: the fold's training matrices go with its last fit */
            pthread_mutex_lock(&e->lock);
            if ((e->fold_left[k] -= nm) == 0) {
                vfr_dataview_destroy(e->f[k].tr);
                vfr_dataview_destroy(e->f[k].va);
                e->f[k].tr = e->f[k].va = NULL;
            }
            pthread_mutex_unlock(&e->lock);
        }
    }
    free(members);
    return NULL;
}

/* Scores task i's test predictions (metrics and backtest of its fold), as
 * its fit finishes. Called under log_lock: the device's metric calls are not
 * shared between threads. */
static vfr_status score_task(engine *e, int64_t i)
{
    const int32_t k = e->task_fold[i];
    const int64_t n = 1;
    fold_data *fd = &e->f[k];
    const int64_t NT = fd->tv.panel.N;
    float *S = malloc(sizeof *S * (size_t)(n * (NT ? NT : 1)));
    int64_t *idx = malloc(sizeof *idx * (size_t)n);
    double *out = malloc(sizeof *out * (size_t)(n * ((int)VFR_METRIC_COUNT > (int)VFR_FIN_COUNT ? (int)VFR_METRIC_COUNT : (int)VFR_FIN_COUNT)));
    vfr_status st = VFR_OK;
    if (!S || !idx || !out) {
        st = vfr_fail(VFR_ERR_NOMEM, "tune: out of memory");
        goto done;
    }
    for (int64_t j = 0; j < NT; j++)
        S[j] = e->task_pred[i][fd->pos[j]];
    idx[0] = i;
    const char *metric = e->job->search.metric;
    int is_sharpe = strcmp(metric, "sharpe") == 0;
    int want_sharpe = 1; /* the Deflated Sharpe needs every trial's Sharpe (compare) */
    vfr_metrics_options mo;
    vfr_metrics_options_default(&mo);
    mo.task = e->job->objective == VFR_OBJECTIVE_DIRECTION ? VFR_TASK_CLASSIFICATION : VFR_TASK_REGRESSION;
    mo.threshold = e->job->objective == VFR_OBJECTIVE_DIRECTION ? 0.5 : 0.0;
    double *fin = NULL;
    if (want_sharpe) {
        vfr_backtest_options bo;
        if ((st = vfr_job_backtest_options(e->job, &fd->tv.panel, &bo)) != VFR_OK)
            goto done;
        fin = malloc(sizeof *fin * (size_t)(n * VFR_FIN_COUNT));
        if (!fin) {
            st = vfr_fail(VFR_ERR_NOMEM, "tune: out of memory");
            goto done;
        }
        const int cpcv = e->job->split.method == VFR_SPLIT_CPCV;
        const int32_t Tf = fd->tv.panel.T;
        double *dly = cpcv ? malloc(sizeof *dly * (size_t)(n * (Tf ? Tf : 1))) : NULL;
        if ((st = fd->gp ? vfr_backtest_staged(fd->gp, e->gw, S, (int32_t)n, &bo, fin, dly)
                         : vfr_backtest(e->dev, &fd->tv.panel, S, (int32_t)n, &bo, fin, dly)) != VFR_OK) {
            free(fin), free(dly);
            goto done;
        }
        /* cpcv: each trial's out-of-sample days, for the PBO of the search */
        for (int64_t j = 0; dly && j < n; j++) {
            cell *c = &e->t[e->task_trial[idx[j]]].c[k];
            free(c->daily);
            if ((c->daily = malloc(sizeof *c->daily * (size_t)(Tf ? Tf : 1))))
                memcpy(c->daily, dly + j * Tf, sizeof *c->daily * (size_t)Tf);
        }
        free(dly);
    }
    if (!is_sharpe && (st = fd->gp ? vfr_metrics_batch_staged(fd->gp, e->gw, S, (int32_t)n, &mo, out)
                                   : vfr_metrics_batch(e->dev, &fd->tv.panel, S, (int32_t)n, &mo, out)) != VFR_OK) {
        free(fin);
        goto done;
    }
    for (int64_t j = 0; j < n; j++) {
        int64_t i = idx[j];
        cell *c = &e->t[e->task_trial[i]].c[k];
        double v;
        if (is_sharpe)
            v = fin[j * VFR_FIN_COUNT + VFR_FIN_SHARPE];
        else {
            const double *row = out + j * VFR_METRIC_COUNT;
            v = strcmp(metric, "auc") == 0        ? row[VFR_METRIC_ROC_AUC]
                : strcmp(metric, "f1") == 0       ? row[VFR_METRIC_F1]
                : strcmp(metric, "accuracy") == 0 ? row[VFR_METRIC_ACCURACY]
                : strcmp(metric, "logloss") == 0  ? row[VFR_METRIC_LOG_LOSS]
                                                  : row[VFR_METRIC_IC];
        }
        c->score = v;
        c->done = 1;
        c->sharpe = fin ? fin[j * VFR_FIN_COUNT + VFR_FIN_SHARPE] : NAN;
    }
    free(fin);
done:
    free(S), free(idx), free(out);
    return st;
}

/* The group commit: fsyncs the trial log at most a second after a write,
 * until the wave is over. */
static void *flusher(void *arg)
{
    engine *e = arg;
    pthread_mutex_lock(&e->log_lock);
    while (!e->wave_over) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&e->log_cond, &e->log_lock, &ts);
        if (e->log_dirty) {
            e->log_dirty = 0;
            pthread_mutex_unlock(&e->log_lock);
            log_sync(e); /* a failure shows in the wave's last sync */
            pthread_mutex_lock(&e->log_lock);
        }
    }
    pthread_mutex_unlock(&e->log_lock);
    return NULL;
}

/* Tasks that differ only in n_estimators, on the same fold, with no rung cap,
 * share one fit (XGBoost: predict_rounds); links them through task_next. */
static void link_shared_fits(engine *e, int64_t n)
{
    char **key = calloc((size_t)n, sizeof *key);
    for (int64_t i = 0; i < n; i++) {
        e->task_next[i] = -1;
        e->task_lead[i] = 1;
    }
    if (!key || strcmp(e->job->model_type, "xgboost") != 0) {
        free(key);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        const trial *t = &e->t[e->task_trial[i]];
        if (e->task_rounds[i] != 0 || trial_rounds(t) < 1)
            continue;
        cJSON *o = cJSON_Parse(t->params);
        cJSON_DeleteItemFromObject(o, "n_estimators");
        cJSON_DeleteItemFromObject(o, "num_boost_round");
        key[i] = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
    }
    for (int64_t i = 0; i < n; i++) {
        if (!key[i] || !e->task_lead[i])
            continue;
        int64_t last = i;
        for (int64_t j = i + 1; j < n; j++)
            if (key[j] && e->task_lead[j] && e->task_fold[j] == e->task_fold[i] && strcmp(key[i], key[j]) == 0) {
                e->task_lead[j] = 0;
                e->task_next[last] = j;
                last = j;
            }
    }
    for (int64_t i = 0; i < n; i++)
        free(key[i]);
    free(key);
}

/* Runs the workers (and the log's flusher) until no task is left, then
 * makes the log durable; the tasks' outcome is in task_status. */
static vfr_status run_workers(engine *e, int nw)
{
    e->wave_over = 0;
    pthread_t th[256], fl;
    int started = 0, flushing = pthread_create(&fl, NULL, flusher, e) == 0;
    for (int w = 1; w < nw && w < 256; w++)
        if (pthread_create(&th[started], NULL, worker, e) == 0)
            started++;
    worker(e);
    for (int w = 0; w < started; w++)
        pthread_join(th[w], NULL);
    pthread_mutex_lock(&e->log_lock);
    e->wave_over = 1;
    pthread_cond_signal(&e->log_cond);
    pthread_mutex_unlock(&e->log_lock);
    if (flushing)
        pthread_join(fl, NULL);
    vfr_status st = log_sync(e);
    if (st == VFR_OK && e->err != VFR_OK)
        st = vfr_fail(e->err, "%s", e->err_msg);
    return st;
}

/* The task arrays for up to n tasks. */
static vfr_status alloc_tasks(engine *e, int64_t n)
{
    e->task_trial = malloc(sizeof *e->task_trial * (size_t)(n ? n : 1));
    e->task_fold = malloc(sizeof *e->task_fold * (size_t)(n ? n : 1));
    e->task_rounds = malloc(sizeof *e->task_rounds * (size_t)(n ? n : 1));
    e->task_rung = malloc(sizeof *e->task_rung * (size_t)(n ? n : 1));
    e->task_pred = calloc((size_t)(n ? n : 1), sizeof *e->task_pred);
    e->task_status = malloc(sizeof *e->task_status * (size_t)(n ? n : 1));
    e->task_next = malloc(sizeof *e->task_next * (size_t)(n ? n : 1));
    e->task_lead = malloc(sizeof *e->task_lead * (size_t)(n ? n : 1));
    if (!e->task_trial || !e->task_fold || !e->task_rounds || !e->task_rung || !e->task_pred || !e->task_status ||
        !e->task_next || !e->task_lead)
        return vfr_fail(VFR_ERR_NOMEM, "tune: out of memory");
    return VFR_OK;
}

static void free_tasks(engine *e, int64_t n)
{
    for (int64_t i = 0; e->task_pred && i < n; i++)
        free(e->task_pred[i]);
    free(e->task_trial), free(e->task_fold), free(e->task_rounds), free(e->task_rung);
    free(e->task_pred), free(e->task_status), free(e->task_next), free(e->task_lead);
    e->task_trial = NULL, e->task_fold = NULL, e->task_rounds = NULL, e->task_rung = NULL;
    e->task_pred = NULL, e->task_status = NULL, e->task_next = NULL, e->task_lead = NULL;
}

static int nworkers(const engine *e, int64_t n)
{
    int nw = e->o->jobs > 0 ? e->o->jobs : 1;
    return nw > n ? (int)(n > 0 ? n : 1) : nw;
}

/* Trains and scores a list of (trial, fold) tasks; each is logged as its fit
 * finishes. */
static vfr_status run_wave(engine *e, const int64_t *tt, const int32_t *kk, const int32_t *rounds,
                           int32_t rung, int64_t n)
{
    vfr_status st = alloc_tasks(e, n);
    if (st != VFR_OK)
        goto done;
    memcpy(e->task_trial, tt, sizeof *tt * (size_t)n);
    memcpy(e->task_fold, kk, sizeof *kk * (size_t)n);
    memcpy(e->task_rounds, rounds, sizeof *rounds * (size_t)n);
    e->n_tasks = n;
    e->next_task = 0;
    for (int64_t i = 0; i < n; i++) {
        e->task_status[i] = VFR_ERR_INTERRUPTED; /* not run */
        e->task_rung[i] = rung;
    }
    link_shared_fits(e, n);
    if (e->free_done_folds)
        for (int64_t i = 0; i < n; i++)
            e->fold_left[kk[i]]++;
    if ((st = run_workers(e, nworkers(e, n))) != VFR_OK)
        goto done;
    int64_t nl = 0;
    for (int64_t i = 0; i < n; i++)
        nl += e->task_status[i] == VFR_OK;
    if (nl < n)
        st = vfr_fail(VFR_ERR_INTERRUPTED, "tune: stopped; %lld of %lld trial x folds of the wave were logged",
                      (long long)nl, (long long)n);
done:
    free_tasks(e, n);
    return st;
}

/* The rungs (minRounds * eta^r below the largest n_estimators of the trials,
 * then the trials' own rounds) and each trial's scores per rung. Grid and
 * random searches only: their trials are known up front. */
static vfr_status asha_setup(engine *e)
{
    const vfr_job *job = e->job;
    if (job->search.method == VFR_SEARCH_TPE)
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "%s: search.pruning: successive halving ranks a known list of trials; use grid_search or "
                        "random_search with it (TPE's own choice of trials does the pruning)",
                        job->path);
    int32_t own = 0;
    for (int64_t i = 0; i < e->P; i++) {
        int32_t r = trial_rounds(&e->t[i]);
        own = r > own ? r : own;
    }
    if (own == 0)
        own = 100000; /* no n_estimators: rungs up to the library's own cap */
    e->R = 1;
    for (int64_t r = job->search.min_rounds; r < own && e->R < 40; r *= job->search.eta)
        e->R++;
    for (int64_t i = 0; i < e->P; i++) {
        if (!(e->t[i].rs = malloc(sizeof *e->t[i].rs * (size_t)(e->R * e->K))))
            return vfr_fail(VFR_ERR_NOMEM, "tune: out of memory");
        for (int64_t j = 0; j < (int64_t)e->R * e->K; j++)
            e->t[i].rs[j] = NAN;
    }
    return VFR_OK;
}

/* Successive halving over boosting rounds, asynchronous (ASHA): rung r trains
 * to minRounds * eta^r rounds, the last rung to the trial's own; a trial is
 * promoted as soon as its rung has enough results to rank it in the top
 * 1/eta, with no barrier between rungs, so every worker stays busy. A
 * promoted trial retrains from scratch to the next rung's rounds (the same
 * trees as continuing). Trials never promoted are pruned. With more than one
 * worker the promotions depend on which fits finish first, so a resumed or
 * repeated search may promote other trials than the first run did. */
static vfr_status run_asha(engine *e, int32_t *final_rung)
{
    for (int64_t i = 0; i < e->P; i++) {
        trial *t = &e->t[i];
        t->top = -1;
        for (int32_t r = e->R - 1; r >= 0 && t->top < 0; r--)
            for (int32_t k = 0; k < e->K; k++)
                if (!isnan(t->rs[r * e->K + k]))
                    t->top = r;
    }
    e->cap = e->P * e->K * (e->R + 1) + 1;
    vfr_status st = alloc_tasks(e, e->cap);
    if (st == VFR_OK && (!(e->queue = malloc(sizeof *e->queue * (size_t)e->cap)) ||
                         !(e->order = malloc(sizeof *e->order * (size_t)(e->P + 1)))))
        st = vfr_fail(VFR_ERR_NOMEM, "tune: out of memory");
    if (st != VFR_OK)
        goto done;
    /* new trials start in a seeded random order: ASHA ranks each against the
     * trials done before it, and a grid's own order (say, learning rates
     * rising) would promote nearly every trial that comes later */
    uint64_t z = (uint64_t)e->job->search.seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    for (int64_t i = 0; i < e->P; i++)
        e->order[i] = i;
    for (int64_t i = e->P - 1; i > 0; i--) {
        z ^= z >> 31, z *= 0xBF58476D1CE4E5B9ull, z ^= z >> 27, z += 0x94D049BB133111EBull;
        int64_t j = (int64_t)(z % (uint64_t)(i + 1)), x = e->order[i];
        e->order[i] = e->order[j], e->order[j] = x;
    }
    e->asha = 1;
    e->n_tasks = e->q_head = e->q_tail = e->in_flight = e->next_new = 0;
    for (int64_t i = 0; i < e->P; i++) /* resumed: the folds a started rung still needs */
        if (e->t[i].in_shard && e->t[i].top >= 0)
            asha_push(e, i, e->t[i].top);
    st = run_workers(e, nworkers(e, e->P * e->K));
    if (st == VFR_OK && e->o->stop && *e->o->stop)
        st = vfr_fail(VFR_ERR_INTERRUPTED, "tune: stopped; every finished fit is logged");
    *final_rung = e->R - 1;
done:
    free_tasks(e, e->cap);
    free(e->queue), free(e->order);
    e->queue = NULL, e->order = NULL;
    e->asha = 0;
    return st;
}

/* ---- aggregation and the result ------------------------------------------- */

static void aggregate(engine *e, trial *t)
{
    double s = 0, s2 = 0, sh = 0;
    int32_t n = 0, nsh = 0;
    for (int32_t k = 0; k < e->K; k++)
        if (t->c[k].done && isfinite(t->c[k].sharpe)) {
            sh += t->c[k].sharpe;
            nsh++;
        }
    t->sharpe = nsh ? sh / nsh : NAN;
    for (int32_t k = 0; k < e->K; k++)
        if (t->c[k].done && isfinite(t->c[k].score)) {
            double v = e->higher_better ? t->c[k].score : -t->c[k].score;
            s += v;
            s2 += v * v;
            n++;
        }
    t->mean = n ? s / n : NAN;
    t->sd = n > 1 ? sqrt(fmax(0, (s2 - s * s / n) / (n - 1))) : (n ? 0 : NAN);
}

static int trial_complete(const engine *e, const trial *t, int32_t rung)
{
    for (int32_t k = 0; k < e->K; k++)
        if (!t->c[k].done || t->c[k].rung < rung)
            return 0;
    return 1;
}

static int64_t best_trial(engine *e, int32_t final_rung)
{
    int64_t best = -1;
    for (int64_t i = 0; i < e->P; i++) {
        trial *t = &e->t[i];
        if (!t->params || !trial_complete(e, t, final_rung) || t->pruned)
            continue;
        aggregate(e, t);
        if (isfinite(t->mean) && (best < 0 || t->mean > e->t[best].mean))
            best = i;
    }
    return best;
}

/* The Probability of Backtest Overfitting of the search (cpcv.h): every
 * trial's out-of-sample days over the search's dates, each group's from the
 * first fold that tests it (backtest path 0), through CSCV. Trials without
 * every fold's days (pruned, or replayed from a log) are left out. */
static cJSON *pbo_json(const engine *e)
{
    cJSON *o = cJSON_CreateObject();
    const int32_t G = e->job->split.groups, kq = e->job->split.test_groups, Td = e->sp->T;
    int32_t N = 0;
    double *R = malloc(sizeof *R * (size_t)(e->P ? e->P : 1) * (size_t)(Td ? Td : 1));
    for (int64_t i = 0; R && i < e->P; i++) {
        const trial *t = &e->t[i];
        int ok = 1;
        for (int32_t k = 0; k < e->K; k++)
            ok &= t->c[k].daily != NULL;
        if (!ok)
            continue;
        double *row = R + (int64_t)N * Td;
        for (int32_t g = 0; g < G; g++) {
            int32_t s = vfr_cpcv_path_split(G, kq, g, 0), glo, ghi, off = 0;
            vfr_cpcv_group_range(Td, G, g, &glo, &ghi);
            const vfr_fold *f = &e->sp->folds[s];
            for (int32_t q = 0; q < f->n_test; q++) /* test dates of the fold before group g */
                off += (f->test[q].hi < glo ? f->test[q].hi : glo) - f->test[q].lo > 0
                           ? (f->test[q].hi < glo ? f->test[q].hi : glo) - f->test[q].lo
                           : 0;
            memcpy(row + glo, t->c[s].daily + off, sizeof *row * (size_t)(ghi - glo));
        }
        N++;
    }
    int32_t S = Td >= 320 ? 16 : (Td / 20) & ~1;
    vfr_pbo pb;
    cJSON_AddStringToObject(o, "method", "CSCV (Bailey, Borwein, Lopez de Prado and Zhu 2015) over each trial's "
                                         "out-of-sample daily returns of cpcv backtest path 0, Sharpe ratio");
    if (R && S >= 2 && vfr_cpcv_pbo(R, N, Td, S, &pb) == VFR_OK) {
        cJSON_AddNumberToObject(o, "pbo", pb.pbo);
        cJSON_AddNumberToObject(o, "trials", pb.trials);
        cJSON_AddNumberToObject(o, "blocks", pb.blocks);
        cJSON_AddNumberToObject(o, "combinations", (double)pb.combinations);
        cJSON_AddNumberToObject(o, "logitMedian", pb.logit_median);
        cJSON_AddNumberToObject(o, "probabilityOfOosLoss", pb.oos_loss);
    } else {
        cJSON_AddNullToObject(o, "pbo");
        cJSON_AddNumberToObject(o, "trials", N);
        cJSON_AddStringToObject(o, "note", N < 2 ? "fewer than 2 trials with every fold's out-of-sample days (PBO compares trials)"
                                                 : vfr_last_error());
    }
    vfr_error_clear();
    free(R);
    return o;
}

static vfr_status finish(engine *e, int32_t final_rung, vfr_tune_result *res, double seconds,
                         const char *out_name)
{
    int64_t best = best_trial(e, final_rung);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "jobId", e->job->job_id);
    cJSON_AddStringToObject(o, "method", vfr_job_enum_name("search.method", (int)e->job->search.method));
    cJSON_AddStringToObject(o, "scoringMetric", e->job->search.metric);
    cJSON_AddStringToObject(o, "direction", e->higher_better ? "maximize" : "minimize (scores are negated log loss)");
    cJSON_AddNumberToObject(o, "nFolds", e->K);
    cJSON_AddNumberToObject(o, "trialsPlanned", (double)e->P);
    int64_t evaluated = 0;
    cJSON *all = cJSON_AddArrayToObject(o, "allResults");
    for (int64_t i = 0; i < e->P; i++) {
        trial *t = &e->t[i];
        int any = 0;
        for (int32_t k = 0; k < e->K; k++)
            any |= t->c[k].done;
        if (!any)
            continue;
        evaluated++;
        aggregate(e, t);
        cJSON *r = cJSON_CreateObject();
        cJSON_AddNumberToObject(r, "trial", (double)i);
        cJSON *pj = cJSON_Parse(t->params);
        cJSON_AddItemToObject(r, "params", pj ? pj : cJSON_CreateObject());
        if (isfinite(t->mean)) {
            cJSON_AddNumberToObject(r, "mean", t->mean);
            cJSON_AddNumberToObject(r, "sd", t->sd);
        } else {
            cJSON_AddNullToObject(r, "mean");
            cJSON_AddNullToObject(r, "sd");
        }
        cJSON *fs = cJSON_AddArrayToObject(r, "folds");
        double gap = 0;
        int32_t ng = 0;
        for (int32_t k = 0; k < e->K; k++) {
            cell *c = &t->c[k];
            cJSON *f = cJSON_CreateObject();
            cJSON_AddNumberToObject(f, "fold", k);
            if (c->done && isfinite(c->score))
                cJSON_AddNumberToObject(f, "score", c->score);
            else
                cJSON_AddNullToObject(f, "score");
            cJSON_AddNumberToObject(f, "rounds", c->rounds);
            cJSON_AddNumberToObject(f, "bestRound", c->best_round);
            cJSON_AddNumberToObject(f, "rung", c->rung);
            cJSON_AddItemToArray(fs, f);
            if (c->done && isfinite(c->train_loss) && isfinite(c->val_loss)) {
                gap += c->val_loss - c->train_loss;
                ng++;
            }
        }
        /* the overfitting check: validation loss minus training loss */
        if (ng)
            cJSON_AddNumberToObject(r, "trainValidationGap", gap / ng);
        else
            cJSON_AddNullToObject(r, "trainValidationGap");
        if (isfinite(t->sharpe))
            cJSON_AddNumberToObject(r, "sharpe", t->sharpe);
        cJSON_AddBoolToObject(r, "pruned", !trial_complete(e, t, final_rung) || t->pruned);
        cJSON_AddItemToArray(all, r);
    }
    cJSON_AddNumberToObject(o, "trialsEvaluated", (double)evaluated);
    /* variance across trials of their mean fold Sharpe: the Deflated Sharpe
     * Ratio's V[SR] (docs/stats.md), with trialsEvaluated as its N */
    double ss = 0, ss2 = 0;
    int64_t ns = 0;
    for (int64_t i = 0; i < e->P; i++)
        if (e->t[i].params && isfinite(e->t[i].sharpe)) {
            ss += e->t[i].sharpe;
            ss2 += e->t[i].sharpe * e->t[i].sharpe;
            ns++;
        }
    res->sharpe_variance = ns > 1 ? (ss2 - ss * ss / ns) / (ns - 1) : NAN;
    if (isfinite(res->sharpe_variance))
        cJSON_AddNumberToObject(o, "trialSharpeVariance", res->sharpe_variance);
    else
        cJSON_AddNullToObject(o, "trialSharpeVariance");
    cJSON_AddNumberToObject(o, "optimizationDuration", seconds);
    /* models this process trained: trials x folds less the shared n_estimators fits */
    cJSON_AddNumberToObject(o, "modelsTrained", (double)e->fits);
    res->trials_evaluated = evaluated;
    if (e->job->split.method == VFR_SPLIT_CPCV)
        cJSON_AddItemToObject(o, "pbo", pbo_json(e));
    if (best >= 0) {
        trial *t = &e->t[best];
        cJSON_AddNumberToObject(o, "bestTrial", (double)best);
        cJSON *pj = cJSON_Parse(t->params);
        cJSON_AddItemToObject(o, "bestParams", pj ? pj : cJSON_CreateObject());
        cJSON *bs = cJSON_AddObjectToObject(o, "bestScore");
        cJSON_AddNumberToObject(bs, "mean", t->mean);
        cJSON_AddNumberToObject(bs, "sd", t->sd);
        /* the final fit trains what was scored: with early stopping, the
         * folds' mean best round; without, every round the folds trained */
        double r = 0;
        const int es = e->job->search.early_stopping_rounds > 0;
        for (int32_t k = 0; k < e->K; k++)
            r += es ? t->c[k].best_round + 1 : t->c[k].rounds;
        res->best_rounds = (int32_t)(r / e->K + 0.5);
        cJSON_AddStringToObject(o, "finalRounds", es ? "mean best round of the best trial's folds (early stopping on)"
                                                      : "rounds trained in the folds: n_estimators (early stopping off)");
        cJSON_AddNumberToObject(o, "bestRounds", res->best_rounds);
        res->best_params_json = vfri_strdup(t->params);
        res->best_mean = t->mean;
        res->best_sd = t->sd;
        res->best_trial = (int32_t)best;
    } else {
        cJSON_AddNullToObject(o, "bestTrial");
        res->best_trial = -1;
    }
    res->search_json = cJSON_Print(o);
    cJSON_Delete(o);
    if (!res->search_json)
        return vfr_fail(VFR_ERR_NOMEM, "tune: out of memory");
    char path[4300];
    vfr_status st = vfri_runfolder_path_named(e->o->run_dir, out_name, path, sizeof path);
    if (st == VFR_OK)
        st = vfri_write_file_atomic(path, res->search_json, strlen(res->search_json));
    if (st == VFR_OK && best < 0)
        st = vfr_fail(VFR_ERR_INVALID_ARG, "tune: no trial finished on every fold; nothing to choose from");
    return st;
}

/* ---- setup ------------------------------------------------------------------ */

static void engine_free(engine *e)
{
    for (int64_t i = 0; e->t && i < e->P; i++) {
        for (int32_t k = 0; e->t[i].c && k < e->K; k++)
            free(e->t[i].c[k].daily);
        free(e->t[i].x);
        free(e->t[i].rs);
        free(e->t[i].params);
        free(e->t[i].c);
    }
    free(e->t);
    for (int32_t k = 0; e->f && k < e->K; k++) {
        vfr_dataview_destroy(e->f[k].tr);
        vfr_dataview_destroy(e->f[k].va);
        for (int32_t q = 0; q < e->f[k].nte; q++)
            vfr_dataview_destroy(e->f[k].te[q]);
        vfr_gpu_panel_destroy(e->f[k].gp);
        vfr_trading_view_free(&e->f[k].tv);
        free(e->f[k].pos);
    }
    free(e->f);
    vfr_gpu_work_destroy(e->gw);
    vfr_split_free(e->sp);
    vfr_space_free(e->space);
    if (e->log)
        fclose(e->log);
    free(e->fold_left);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->task_cond);
    pthread_mutex_destroy(&e->log_lock);
    pthread_cond_destroy(&e->log_cond);
}

/* Folds: the dates before the job's test period, cut as the job's split
 * says (cpcv stays cpcv; every other method uses expanding time-series
 * k-fold with search.nFolds), with the job's purge and embargo. */
static vfr_status setup(engine *e)
{
    vfr_status st;
    const vfr_job *job = e->job;
    const vfr_prepared *p = e->p;
    vfr_split *outer = NULL;
    /* cpcv has no test period of its own: the job's is the holdout's (its
     * last dates), and the search's cpcv folds cut the dates before it */
    vfr_split_spec os = job->split;
    if (os.method == VFR_SPLIT_CPCV)
        os.method = VFR_SPLIT_HOLDOUT;
    if ((st = vfr_split_make(&os, p->T, &outer)) != VFR_OK)
        return st;
    int32_t domain = outer->folds[0].test[0].lo; /* dates before the first test date */
    vfr_split_free(outer);
    vfr_split_spec ss = job->split;
    if (ss.method != VFR_SPLIT_CPCV)
        ss.method = VFR_SPLIT_KFOLD;
    ss.folds = job->search.folds;
    if ((st = vfr_split_make(&ss, domain, &e->sp)) != VFR_OK) {
        vfr_error_prefix("search.nFolds (over the %d dates before the test period): ", domain);
        return st;
    }
    e->K = e->sp->K;
    e->f = calloc((size_t)e->K, sizeof *e->f);
    if (!e->f)
        return vfr_fail(VFR_ERR_NOMEM, "tune: out of memory");
    for (int32_t k = 0; k < e->K; k++) {
        const vfr_fold *f = &e->sp->folds[k];
        fold_data *fd = &e->f[k];
        /* cpcv folds: train on the longest training block (the views are
         * contiguous); every test block is scored */
        vfr_range tr = vfr_range_longest(f->train, f->n_train);
        int64_t a = p->date_row[tr.lo], b = p->date_row[tr.hi];
        if ((st = vfr_prepared_view(p, a, b, 1, &fd->tr)) != VFR_OK)
            return st;
        if (f->n_val &&
            (st = vfr_prepared_view(p, p->date_row[f->val[0].lo], p->date_row[f->val[0].hi], 1, &fd->va)) != VFR_OK)
            return st;
        int32_t tlo[VFR_SPLIT_MAX_RANGES], thi[VFR_SPLIT_MAX_RANGES];
        fd->te_rows = 0;
        for (int32_t q = 0; q < f->n_test; q++) {
            tlo[q] = f->test[q].lo, thi[q] = f->test[q].hi;
            const int64_t runs[2][2] = {{p->date_row[tlo[q]], p->date_row[thi[q]]},
                                        {p->xdate_row[tlo[q]], p->xdate_row[thi[q]]}};
            for (int r = 0; r < 2; r++) { /* trainable rows, then tradable-not-trained */
                int64_t c = runs[r][0], d = runs[r][1];
                if (d <= c)
                    continue;
                int32_t v = fd->nte++;
                if ((st = vfr_prepared_view(p, c, d, 0, &fd->te[v])) != VFR_OK)
                    return st;
                fd->te_first[v] = c;
                fd->te_at[v] = fd->te_rows;
                fd->te_rows += d - c;
            }
        }
        if ((st = vfr_prepared_trading_view_ranges(p, tlo, thi, f->n_test, &fd->tv)) != VFR_OK)
            return st;
        if (!(fd->pos = malloc(sizeof *fd->pos * (size_t)(fd->tv.panel.N ? fd->tv.panel.N : 1))))
            return vfr_fail(VFR_ERR_NOMEM, "tune: out of memory");
        for (int64_t j = 0; j < fd->tv.panel.N; j++) {
            int64_t r = fd->tv.row[j];
            for (int32_t v = 0; v < fd->nte; v++) /* the view that holds prepared row r */
                if (r >= fd->te_first[v] && r < fd->te_first[v] + vfr_dataview_rows(fd->te[v]))
                    fd->pos[j] = fd->te_at[v] + (r - fd->te_first[v]);
        }
        /* CUDA: the fold's scoring rows go to the device once, not per wave */
        if (e->dev == VFR_DEVICE_CUDA &&
            ((!e->gw && (st = vfr_gpu_work_create(&e->gw)) != VFR_OK) ||
             (st = vfr_gpu_panel_create(e->gw, &fd->tv.panel, NULL, 0, &fd->gp)) != VFR_OK))
            return st;
    }
    if ((st = vfr_space_parse(job->search.space_json, job->search.method, &e->space)) != VFR_OK) {
        vfr_error_prefix("%s: ", job->path);
        return st;
    }
    e->D = vfr_space_dims(e->space);
    int64_t grid = vfr_space_grid_size(e->space);
    e->P = job->search.method == VFR_SEARCH_GRID ? (grid < job->search.max_iter ? grid : job->search.max_iter)
                                                 : job->search.max_iter;
    e->t = calloc((size_t)e->P, sizeof *e->t);
    if (!e->t)
        return vfr_fail(VFR_ERR_NOMEM, "tune: out of memory");
    int nshards = e->o->n_shards > 1 ? e->o->n_shards : 1;
    for (int64_t i = 0; i < e->P; i++) {
        trial *t = &e->t[i];
        t->x = calloc((size_t)(e->D ? e->D : 1), sizeof *t->x);
        t->c = calloc((size_t)e->K, sizeof *t->c);
        if (!t->x || !t->c)
            return vfr_fail(VFR_ERR_NOMEM, "tune: out of memory");
        for (int32_t k = 0; k < e->K; k++)
            t->c[k].score = t->c[k].train_loss = t->c[k].val_loss = t->c[k].sharpe = NAN;
        t->in_shard = (int)(i % nshards) == (nshards > 1 ? e->o->shard : 0);
        t->alive = 1;
        if (job->search.method != VFR_SEARCH_TPE) { /* fixed points: known up front */
            if (job->search.method == VFR_SEARCH_GRID)
                vfr_space_grid_point(e->space, i, t->x);
            else
                vfr_space_random_point(e->space, job->search.seed, i, t->x);
            if (!(t->params = vfr_space_point_json(e->space, t->x, job->training.hyperparameters_json)))
                return vfr_fail(VFR_ERR_NOMEM, "tune: out of memory");
        }
    }
    /* an unknown hyperparameter in the space fails here, before any work; the
     * point checked is the first trial's, the same for random and TPE (TPE has
     * not filled e->t[0].x yet) */
    {
        double *x0 = calloc((size_t)(e->D ? e->D : 1), sizeof *x0);
        if (!x0)
            return vfr_fail(VFR_ERR_NOMEM, "tune: out of memory");
        vfr_space_first_point(e->space, job->search.method, job->search.seed, x0);
        char *probe = vfr_space_point_json(e->space, x0, job->training.hyperparameters_json);
        free(x0);
        vfr_model_config mc = {job->model_type, probe, job->objective, e->model_dev, 1, p->F,
                               (const char *const *)p->feature_names, 1, NULL};
        vfr_model *m = NULL;
        st = vfr_model_create(&mc, &m);
        vfr_model_destroy(m);
        free(probe);
        if (st != VFR_OK) {
            vfr_error_prefix("%s: search.space: ", job->path);
            return st;
        }
    }
    return VFR_OK;
}

static void progress(engine *e)
{
    int64_t best = best_trial(e, 0);
    double el = vfri_seconds() - e->t_start;
    double eta = e->cells_done > 0 ? el * (double)(e->cells_total - e->cells_done) / (double)e->cells_done : 0;
    if (best >= 0)
        vfr_report_log(&e->rep, VFR_LOG_INFO,
                       "trials x folds %lld/%lld, best %s %.5f +- %.5f (trial %lld), %.0f s elapsed, ETA %.0f s",
                       (long long)e->cells_done, (long long)e->cells_total, metric_name(e->job->search.metric),
                       e->higher_better ? e->t[best].mean : -e->t[best].mean, e->t[best].sd,
                       (long long)best, el, eta);
    vfr_report_progress(&e->rep, "tune", (double)e->cells_done, (double)e->cells_total);
}

static void rep_log(void *u, vfr_log_level l, const char *m) { vfr_report_log(u, l, "%s", m); }
static void rep_prog(void *u, const char *s, double d, double t) { vfr_report_progress(u, s, d, t); }

/* What a sharded search cannot do. */
static vfr_status check_shards(const vfr_job *job, int nshards)
{
    if (!job->search.enabled)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: the job has no search block", job->path);
    if (nshards > 1 && job->search.method == VFR_SEARCH_TPE)
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "%s: search.method: bayesian (TPE) is sequential and cannot be sharded; use grid_search or random_search with --shard",
                        job->path);
    if (nshards > 1 && job->search.pruning != VFR_PRUNING_NONE)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: search.pruning: successive halving ranks all trials together and cannot be sharded",
                        job->path);
    return VFR_OK;
}

/* The trial log: the run folder made, the shard's log path, the halving
 * rungs, a resumed log replayed (or an old one removed), the log opened for
 * appending; then the cells already done counted. */
static vfr_status open_log(engine *e, int nshards, int sh)
{
    const vfr_tune_options *o = e->o;
    vfr_status st;
    if (vfri_mkdirs(o->run_dir) != 0)
        return vfr_fail(VFR_ERR_IO, "%s: cannot create: %s", o->run_dir, strerror(errno));
    st = vfr_runfolder_shard_path(o->run_dir, VFR_RUNFILE_TRIALS, o->shard, nshards, e->log_path, sizeof e->log_path);
    if (st != VFR_OK)
        return st;
    if (sh && (st = asha_setup(e)) != VFR_OK)
        return st;
    if (o->resume) {
        if ((st = replay_log(e, e->log_path, 0)) != VFR_OK)
            return st;
    } else if (unlink(e->log_path) != 0 && errno != ENOENT) {
        return vfr_fail(VFR_ERR_IO, "%s: cannot start a new log: %s", e->log_path, strerror(errno));
    }
    if (!(e->log = fopen(e->log_path, "a")))
        return vfr_fail(VFR_ERR_IO, "%s: %s", e->log_path, strerror(errno));
    for (int64_t i = 0; i < e->P; i++)
        for (int32_t k = 0; k < e->K; k++)
            e->cells_done += e->t[i].in_shard && e->t[i].c[k].done;
    return VFR_OK;
}

/* TPE: the points of trials [w0, w1) from the trials before them (ox, oy:
 * scratch of P x D and P); a resumed trial must be the point drawn again. */
static vfr_status tpe_points(engine *e, int64_t w0, int64_t w1, double *ox, double *oy)
{
    const vfr_job *job = e->job;
    int32_t n = 0;
    for (int64_t i = 0; i < w0; i++) {
        aggregate(e, &e->t[i]);
        memcpy(ox + n * e->D, e->t[i].x, sizeof *ox * (size_t)e->D);
        oy[n++] = trial_complete(e, &e->t[i], 0) ? e->t[i].mean : NAN;
    }
    for (int64_t i = w0; i < w1; i++) {
        double x[256];
        vfr_status st = vfr_space_tpe_point(e->space, job->search.seed, i, ox, oy, n, job->search.startup, x);
        if (st != VFR_OK)
            return st;
        char *params = vfr_space_point_json(e->space, x, job->training.hyperparameters_json);
        if (e->t[i].params) { /* resumed: must be the same point */
            cJSON *a = cJSON_Parse(params), *b = cJSON_Parse(e->t[i].params);
            int same = cJSON_Compare(a, b, 1);
            cJSON_Delete(a), cJSON_Delete(b);
            free(params);
            if (!same)
                return vfr_fail(VFR_ERR_INVALID_ARG,
                                "%s: trial %lld in the log has other parameters than this search draws (another seed?)",
                                e->log_path, (long long)i);
        } else {
            e->t[i].params = params;
            memcpy(e->t[i].x, x, sizeof *x * (size_t)e->D);
        }
    }
    return VFR_OK;
}

/* Grid, random and TPE without halving: waves of trials (TPE: its batch),
 * each wave's undone trial x folds run together; patience stops early. */
static vfr_status run_waves(engine *e, int jobs)
{
    const vfr_job *job = e->job;
    vfr_status st = VFR_OK;
    int64_t *tt = malloc(sizeof *tt * (size_t)(e->P * e->K + 1));
    int32_t *kk = malloc(sizeof *kk * (size_t)(e->P * e->K + 1));
    int32_t *rr = calloc((size_t)(e->P * e->K + 1), sizeof *rr);
    double *ox = malloc(sizeof *ox * (size_t)(e->P * (e->D ? e->D : 1) + 1)), *oy = malloc(sizeof *oy * (size_t)(e->P + 1));
    if (!tt || !kk || !rr || !ox || !oy) {
        st = vfr_fail(VFR_ERR_NOMEM, "tune: out of memory");
        goto done;
    }
    int64_t wave = job->search.method == VFR_SEARCH_TPE ? job->search.batch : (jobs * 2 > 8 ? jobs * 2 : 8);
    /* grid and random without patience: one wave, fold-major, so that one
     * fold's training matrices are alive at a time (each fit is logged as
     * it finishes, so a wave is no longer the unit of a resume) */
    const int fold_major = job->search.method != VFR_SEARCH_TPE && job->search.patience <= 0;
    if (fold_major) {
        wave = e->P;
        e->free_done_folds = 1;
        if (!(e->fold_left = calloc((size_t)e->K, sizeof *e->fold_left))) {
            st = vfr_fail(VFR_ERR_NOMEM, "tune: out of memory");
            goto done;
        }
    }
    double best_seen = -INFINITY;
    int64_t since_best = 0;
    for (int64_t w0 = 0; w0 < e->P && st == VFR_OK; w0 += wave) {
        int64_t w1 = w0 + wave < e->P ? w0 + wave : e->P;
        if (job->search.method == VFR_SEARCH_TPE && (st = tpe_points(e, w0, w1, ox, oy)) != VFR_OK)
            break;
        int64_t n = 0;
        for (int32_t k0 = 0; k0 < (fold_major ? e->K : 1); k0++)
            for (int64_t i = w0; i < w1; i++)
                for (int32_t k = fold_major ? k0 : 0; k < (fold_major ? k0 + 1 : e->K); k++)
                    if (e->t[i].in_shard && !e->t[i].c[k].done) {
                        tt[n] = i;
                        kk[n] = k;
                        rr[n++] = 0;
                    }
        if (n && (st = run_wave(e, tt, kk, rr, 0, n)) != VFR_OK)
            break;
        progress(e);
        if (job->search.patience > 0) { /* stop when the best has not moved for `patience` trials */
            int64_t b = best_trial(e, 0);
            if (b >= 0 && e->t[b].mean > best_seen) {
                best_seen = e->t[b].mean;
                since_best = 0;
            } else {
                since_best += w1 - w0;
            }
            if (since_best >= job->search.patience) {
                vfr_report_log(&e->rep, VFR_LOG_INFO, "search: no improvement in %lld trials (patience): stopping",
                               (long long)since_best);
                break;
            }
        }
    }
done:
    free(tt), free(kk), free(rr), free(ox), free(oy);
    return st;
}

vfr_status vfri_tune_prepared(const vfr_job *job, const vfr_prepared *p, vfr_device_kind dev,
                             vfr_device_kind model_dev, const vfr_tune_options *o,
                             vfr_tune_result *res)
{
    vfr_status st = VFR_OK;
    engine e;
    memset(&e, 0, sizeof e);
    memset(res, 0, sizeof *res);
    res->best_trial = -1;
    pthread_mutex_init(&e.lock, NULL);
    pthread_cond_init(&e.task_cond, NULL);
    pthread_mutex_init(&e.log_lock, NULL);
    pthread_cond_init(&e.log_cond, NULL);
    e.job = job;
    e.p = p;
    e.o = o;
    e.dev = dev;
    e.model_dev = model_dev;
    e.higher_better = metric_higher_better(job->search.metric);
    e.rep = (vfr_reporter){rep_log, rep_prog, (void *)o->reporter};
    const int nshards = o->n_shards > 1 ? o->n_shards : 1;
    const int sh = job->search.pruning == VFR_PRUNING_SUCCESSIVE_HALVING;
    VFR_TRY(check_shards(job, nshards));
    VFR_TRY(setup(&e));
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int total = o->nthread > 0 ? o->nthread : (int)(cores > 0 ? cores : 1);
    int jobs = o->jobs > 0 ? o->jobs : 1;
    e.nthread_model = total / jobs > 0 ? total / jobs : 1;
    VFR_TRY(open_log(&e, nshards, sh));
    int64_t in_shard = 0;
    for (int64_t i = 0; i < e.P; i++)
        in_shard += e.t[i].in_shard;
    e.cells_total = in_shard * e.K;
    vfr_report_log(&e.rep, VFR_LOG_INFO,
                   "search: %lld trials x %d folds (%s, %s%s), %d at a time, %d threads each; log %s%s",
                   (long long)in_shard, e.K, job->search.metric, sh ? "successive halving, " : "",
                   job->search.method == VFR_SEARCH_GRID ? "grid" : job->search.method == VFR_SEARCH_RANDOM ? "random" : "TPE",
                   jobs, e.nthread_model, e.log_path, e.cells_done ? " (resuming)" : "");
    e.t_start = vfri_seconds();
    int32_t final_rung = 0;
    VFR_TRY(sh ? run_asha(&e, &final_rung) : run_waves(&e, jobs));
    /* a shard's result is its slice (search.shard-<i>-of-<n>.json); merge makes the whole */
    char sname[128];
    if ((st = vfr_runfolder_shard_name(VFR_RUNFILE_SEARCH, o->shard, nshards, sname, sizeof sname)) == VFR_OK)
        st = finish(&e, final_rung, res, vfri_seconds() - e.t_start, sname);
fail:
    engine_free(&e);
    return st;
}

vfr_status vfr_tune_run(const vfr_job *job, const vfr_tune_options *o, vfr_tune_result *res)
{
    vfr_dataset *ds = NULL;
    vfr_prepared *p = NULL;
    char *quality = NULL;
    vfr_device_kind dev, model_dev;
    vfr_status st;
    memset(res, 0, sizeof *res);
    if (!job->search.enabled)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: the job has no search block (docs/job-config.md)", job->path);
    if ((st = vfr_device_resolve(o->device, &dev)) != VFR_OK ||
        (st = vfr_model_device(job->model_type, o->device, dev, o->reporter, &model_dev)) != VFR_OK ||
        (st = vfr_job_check_model(job, model_dev)) != VFR_OK ||
        (st = vfr_prepare_open_dataset(job, &ds)) != VFR_OK ||
        (st = vfr_prepare(ds, job, dev, o->reporter, &p, &quality)) != VFR_OK)
        goto done;
    /* external memory's cache files, if any, in the run folder */
    if ((st = vfr_prepared_set_cache_root(p, o->run_dir)) != VFR_OK)
        goto done;
    st = vfri_tune_prepared(job, p, dev, model_dev, o, res);
done:
    free(quality);
    vfr_prepared_free(p);
    vfr_dataset_close(ds);
    return st;
}

vfr_status vfr_tune_merge(const vfr_job *job, const char *run_dir, int n_shards, vfr_tune_result *res)
{
    vfr_status st = VFR_OK;
    engine e;
    memset(&e, 0, sizeof e);
    memset(res, 0, sizeof *res);
    pthread_mutex_init(&e.lock, NULL);
    pthread_cond_init(&e.task_cond, NULL);
    pthread_mutex_init(&e.log_lock, NULL);
    pthread_cond_init(&e.log_cond, NULL);
    vfr_tune_options o = {run_dir, 1, 1, 0, 0, 1, VFR_DEVICE_CPU, NULL, NULL};
    e.job = job;
    e.o = &o;
    e.higher_better = metric_higher_better(job->search.metric);
    vfr_dataset *ds = NULL;
    vfr_prepared *p = NULL;
    char *quality = NULL;
    /* the folds and trial list are needed to check the logs: prepare again */
    if ((st = vfr_prepare_open_dataset(job, &ds)) != VFR_OK ||
        (st = vfr_prepare(ds, job, VFR_DEVICE_CPU, NULL, &p, &quality)) != VFR_OK)
        goto fail;
    e.p = p;
    VFR_TRY(setup(&e));
    for (int i = 0; i < n_shards; i++) {
        char path[4300];
        VFR_TRY(vfr_runfolder_shard_path(run_dir, VFR_RUNFILE_TRIALS, i, n_shards, path, sizeof path));
        VFR_TRY(replay_log(&e, path, 1));
    }
    /* one merged log, in (trial, fold) order, as one process writes it */
    VFR_TRY(vfr_runfolder_path(run_dir, VFR_RUNFILE_TRIALS, e.log_path, sizeof e.log_path));
    char tmpp[4400];
    snprintf(tmpp, sizeof tmpp, "%s.tmp.%ld", e.log_path, (long)getpid());
    e.log = fopen(tmpp, "w");
    if (!e.log) {
        st = vfr_fail(VFR_ERR_IO, "%s: %s", tmpp, strerror(errno));
        goto fail;
    }
    for (int64_t i = 0; i < e.P && st == VFR_OK; i++)
        for (int32_t k = 0; k < e.K && st == VFR_OK; k++)
            if (e.t[i].c[k].done)
                st = log_cell(&e, i, k);
    if (st == VFR_OK)
        st = log_sync(&e);
    fclose(e.log);
    e.log = NULL;
    if (st != VFR_OK || rename(tmpp, e.log_path) != 0) {
        unlink(tmpp);
        if (st == VFR_OK)
            st = vfr_fail(VFR_ERR_IO, "%s: %s", e.log_path, strerror(errno));
        goto fail;
    }
    double secs = 0;
    for (int64_t i = 0; i < e.P; i++)
        for (int32_t k = 0; k < e.K; k++)
            secs += e.t[i].c[k].seconds;
    st = finish(&e, 0, res, secs, vfr_runfolder_file_name(VFR_RUNFILE_SEARCH));
fail:
    engine_free(&e);
    free(quality);
    vfr_prepared_free(p);
    vfr_dataset_close(ds);
    return st;
}

void vfr_tune_result_free(vfr_tune_result *r)
{
    if (!r)
        return;
    free(r->best_params_json);
    free(r->search_json);
    memset(r, 0, sizeof *r);
}
