/* queue.c: the job queue's store (queue.h): opening the SQLite database,
 * submitting, reading, cancelling, and the state changes a worker makes
 * (claim, heartbeat, finish, reap of dead workers' jobs). The worker's process
 * handling is in queue_worker.c, schedules in schedule.c, Slurm in slurm.c.
 *
 * Every change is one IMMEDIATE transaction, so two workers never claim the
 * same job and a submit's duplicate and size checks see the queue as it is.
 * Every statement binds its values; no value is ever pasted into SQL. */
#include "queue_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "vfr/model.h"

/* 'vfrQ': marks the database as a vfr queue (PRAGMA application_id). */
#define Q_APPLICATION_ID 1986425425

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS jobs("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT NOT NULL UNIQUE,"
    "  job_json TEXT NOT NULL,"
    "  priority INTEGER NOT NULL,"
    "  state TEXT NOT NULL CHECK(state IN ('queued','running','completed','failed','cancelled')),"
    "  runner TEXT NOT NULL DEFAULT 'local',"
    "  source TEXT,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  submitted_at REAL NOT NULL,"
    "  started_at REAL, finished_at REAL, heartbeat_at REAL,"
    "  progress REAL NOT NULL DEFAULT 0,"
    "  step TEXT, worker TEXT, pid INTEGER,"
    "  cancel_requested INTEGER NOT NULL DEFAULT 0,"
    "  run_dir TEXT, result_json TEXT, error TEXT, slurm_json TEXT);"
    "CREATE INDEX IF NOT EXISTS jobs_next ON jobs(state, runner, priority DESC, seq);"
    "CREATE TABLE IF NOT EXISTS events("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  job_id TEXT NOT NULL, ts REAL NOT NULL, event TEXT NOT NULL, detail TEXT);"
    "CREATE INDEX IF NOT EXISTS events_job ON events(job_id, seq);"
    "CREATE TABLE IF NOT EXISTS schedules("
    "  name TEXT PRIMARY KEY,"
    "  job_json TEXT NOT NULL,"
    "  every TEXT NOT NULL, at TEXT NOT NULL, tz TEXT NOT NULL,"
    "  span_days INTEGER NOT NULL, priority INTEGER NOT NULL,"
    "  since REAL NOT NULL, created_at REAL NOT NULL,"
    "  last_job TEXT, last_tick REAL);"
    "PRAGMA application_id = 1986425425;"
    "PRAGMA user_version = 1;";

static const char *const state_names[] = {"queued", "running", "completed", "failed", "cancelled"};
static const char *const prio_names[] = {"low", "normal", "high"};

const char *vfr_queue_state_name(vfr_queue_state s)
{
    return (unsigned)s <= VFR_QUEUE_CANCELLED ? state_names[s] : "unknown";
}

const char *vfr_queue_priority_name(vfr_queue_priority p)
{
    return (unsigned)p <= VFR_PRIORITY_HIGH ? prio_names[p] : "normal";
}

static vfr_queue_state parse_state(const char *s)
{
    for (int i = 0; s && i <= VFR_QUEUE_CANCELLED; i++)
        if (strcmp(s, state_names[i]) == 0)
            return (vfr_queue_state)i;
    return VFR_QUEUE_FAILED;
}

vfr_status vfr_queue_parse_priority(const char *s, const char *what, vfr_queue_priority *out)
{
    for (int i = 0; s && i <= VFR_PRIORITY_HIGH; i++)
        if (strcmp(s, prio_names[i]) == 0) {
            *out = (vfr_queue_priority)i;
            return VFR_OK;
        }
    return vfr_fail(VFR_ERR_INVALID_ARG, "%s: '%s' is not a priority (low, normal, high)", what,
                    s ? s : "");
}

double q_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

vfr_status q_event(vfr_queue *q, const char *id, const char *event, const char *detail)
{
    return db_exec(q->db, NULL, "INSERT INTO events(job_id, ts, event, detail) VALUES(?, ?, ?, ?)", "sdss", id, q_now(),
                   event, detail);
}

const char *vfr_queue_default_dir(void)
{
    const char *d = getenv("VFR_QUEUE");
    return d && *d ? d : VFR_QUEUE_DEFAULT_DIR;
}

const char *vfr_queue_dir(const vfr_queue *q) { return q->dir; }

void vfr_queue_close(vfr_queue *q)
{
    if (!q)
        return;
    db_close(q->db); /* NULL is a no-op */
    free(q);
}

vfr_status vfr_queue_open(const char *dir, int create, vfr_queue **out)
{
    *out = NULL;
    vfr_status st = VFR_OK;
    if (!dir || !*dir)
        return vfr_fail(VFR_ERR_INVALID_ARG, "queue: no folder given (--queue or VFR_QUEUE)");
    vfr_queue *q = calloc(1, sizeof *q);
    if (!q)
        return vfr_fail(VFR_ERR_NOMEM, "queue: out of memory");
    snprintf(q->dir, sizeof q->dir, "%s", dir);
    const char *b = getenv("VFR_QUEUE_BUSY_MS");
    char *end = NULL;
    long ms = b ? strtol(b, &end, 10) : 0;
    q->busy_ms = b && end && !*end && ms > 0 && ms < 3600000 ? (int)ms : 60000;

    struct stat sb;
    if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
        st = vfr_fail(VFR_ERR_FORMAT, "'%s' is not a vfr queue: it is a file, not a folder", dir);
        goto fail;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/queue.db", dir);
    if (!create && access(path, F_OK) != 0) {
        st = vfr_fail(VFR_ERR_NOT_FOUND, "no queue at '%s' (--queue or VFR_QUEUE; `vfr submit` creates one)", dir);
        goto fail;
    }
    if (vfr_mkdirs(dir) != 0) {
        st = vfr_fail(VFR_ERR_IO, "queue: cannot create '%s': %s", dir, strerror(errno));
        goto fail;
    }
    char label[4200];
    snprintf(label, sizeof label, "queue %s", dir);
    VFR_TRY(db_open_sqlite(path, 1, label, q->busy_ms, "VFR_QUEUE_BUSY_MS", &q->db));

    int64_t app, ver, tables;
    VFR_TRY(db_query_int(q->db, &app, "PRAGMA application_id", NULL));
    VFR_TRY(db_query_int(q->db, &tables, "SELECT count(*) FROM sqlite_master", NULL));
    if (!(app == 0 && tables == 0) && app != Q_APPLICATION_ID) {
        st = vfr_fail(VFR_ERR_FORMAT, "'%s' is not a vfr queue: queue.db is another application's database", dir);
        goto fail;
    }
    /* WAL lets `vfr status` read while a worker writes; stored in the file. */
    VFR_TRY(db_sqlite_wal(q->db));
    VFR_TRY(db_exec_script(q->db, "setting synchronous", "PRAGMA synchronous = NORMAL"));
    VFR_TRY(db_query_int(q->db, &ver, "PRAGMA user_version", NULL));
    if (ver > VFR_QUEUE_SCHEMA_VERSION) {
        st = vfr_fail(VFR_ERR_FORMAT, "queue %s: schema version %lld is newer than this vfr's (%d); use a newer vfr",
                      dir, (long long)ver, VFR_QUEUE_SCHEMA_VERSION);
        goto fail;
    }
    if (ver < VFR_QUEUE_SCHEMA_VERSION) {
        /* Two processes may create it at once: the second finds the tables
         * (IF NOT EXISTS) inside its own transaction. */
        VFR_TRY(db_begin(q->db));
        if ((st = db_exec_script(q->db, "creating the schema", schema)) != VFR_OK) {
            db_rollback(q->db);
            goto fail;
        }
        VFR_TRY(db_commit(q->db));
    }
    *out = q;
    return VFR_OK;
fail:
    vfr_queue_close(q);
    return st;
}

/* ---- submit ---- */

static int64_t max_queued_of(const vfr_queue_submit_options *o)
{
    if (o && o->max_queued > 0)
        return o->max_queued;
    const char *e = getenv("VFR_QUEUE_MAX");
    char *end = NULL;
    long long v = e ? strtoll(e, &end, 10) : 0;
    return e && end && !*end && v > 0 ? v : VFR_QUEUE_DEFAULT_MAX_QUEUED;
}

vfr_status q_insert(vfr_queue *q, const char *id, const char *job_json, int priority,
                    const vfr_queue_submit_options *o)
{
    vfr_status st = VFR_OK;
    db_stmt *s = NULL;
    VFR_TRY(db_begin(q->db));
    VFR_TRY(db_prepare(q->db, &s, "SELECT state, submitted_at FROM jobs WHERE id = ?", "s", id));
    if (db_step(s) == 1) {
        char when[32] = "";
        time_t t = (time_t)db_double(s, 1);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        st = vfr_fail(VFR_ERR_DUPLICATE_JOB_ID,
                      "jobId '%s' is already in the queue (%s, submitted %s); give the job a new jobId", id,
                      db_text(s, 0), when);
        goto fail;
    }
    db_finalize(s);
    s = NULL;
    if (!(o && o->slurm)) {
        int64_t waiting = 0, cap = max_queued_of(o);
        VFR_TRY(db_prepare(q->db, &s, "SELECT count(*) FROM jobs WHERE state = 'queued' AND runner = 'local'", NULL));
        if (db_step(s) == 1)
            waiting = db_int(s, 0);
        db_finalize(s);
        s = NULL;
        if (waiting >= cap) {
            st = vfr_fail(VFR_ERR_QUEUE_FULL,
                          "queue %s holds %lld queued jobs, its limit (--max-queued or VFR_QUEUE_MAX, default %d); "
                          "'%s' was not queued",
                          q->dir, (long long)waiting, VFR_QUEUE_DEFAULT_MAX_QUEUED, id);
            goto fail;
        }
    }
    VFR_TRY(db_exec(q->db, NULL,
                    "INSERT INTO jobs(id, job_json, priority, state, runner, source, submitted_at, step) "
                    "VALUES(?, ?, ?, 'queued', ?, ?, ?, 'queued')",
                    "ssissd", id, job_json, (int64_t)priority, o && o->slurm ? "slurm" : "local", o ? o->source : NULL,
                    q_now()));
    char detail[64];
    snprintf(detail, sizeof detail, "priority %s%s", vfr_queue_priority_name((vfr_queue_priority)priority),
             o && o->slurm ? ", Slurm" : "");
    VFR_TRY(q_event(q, id, "submitted", detail));
    return db_commit(q->db);
fail:
    db_finalize(s);
    db_rollback(q->db);
    return st;
}

vfr_status q_check_job(const vfr_job *job)
{
    /* What a worker would otherwise find out hours later: the dataset is
     * there, the model type is built in and takes these hyperparameters. */
    const char *name = job->path ? job->path : "job";
    if (access(job->data.dataset, R_OK) != 0)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: dataConfig.dataset: cannot read '%s': %s", name,
                        job->data.dataset, strerror(errno));
    static const char *const one[] = {"f0"};
    vfr_model_config cfg = {.type = job->model_type, .params_json = job->training.hyperparameters_json,
                            .objective = job->objective, .device = VFR_DEVICE_CPU, .seed = job->training.seed,
                            .F = 1, .feature_names = one, .nthread = 1};
    vfr_model *m = NULL;
    vfr_status st = vfr_model_create(&cfg, &m);
    vfr_model_destroy(m);
    if (st != VFR_OK)
        vfr_error_prefix("%s: ", name);
    return st;
}

vfr_status vfr_queue_submit(vfr_queue *q, const vfr_job *job, const vfr_queue_submit_options *o)
{
    const char *name = job->path ? job->path : "job";
    vfr_queue_priority prio = VFR_PRIORITY_NORMAL;
    if (o && o->priority >= 0) {
        if (o->priority > VFR_PRIORITY_HIGH)
            return vfr_fail(VFR_ERR_INVALID_ARG, "submit: priority %d out of range", o->priority);
        prio = (vfr_queue_priority)o->priority;
    } else if (job->priority) {
        char what[4200];
        snprintf(what, sizeof what, "%s: priority", name);
        vfr_status st = vfr_queue_parse_priority(job->priority, what, &prio);
        if (st != VFR_OK)
            return st;
    }
    vfr_status cst = q_check_job(job);
    if (cst != VFR_OK)
        return cst;
    char *json = vfr_job_to_json(job);
    if (!json)
        return vfr_fail(VFR_ERR_NOMEM, "submit: out of memory");
    vfr_status st = q_insert(q, job->job_id, json, (int)prio, o);
    free(json);
    return st;
}

vfr_status vfr_queue_exists(vfr_queue *q, const char *id, int *exists)
{
    db_stmt *s;
    *exists = 0;
    vfr_status st = db_prepare(q->db, &s, "SELECT 1 FROM jobs WHERE id = ?", "s", id);
    if (st != VFR_OK)
        return st;
    int rc = db_step(s);
    if (rc == 1)
        *exists = 1;
    else if (rc != 0)
        st = db_fail(q->db, "reading");
    db_finalize(s);
    return st;
}

/* ---- reading ---- */

#define JOB_COLS                                                                                   \
    "seq, id, state, priority, attempts, submitted_at, started_at, finished_at, heartbeat_at, "   \
    "progress, step, worker, pid, cancel_requested, runner, source, job_json, run_dir, "          \
    "result_json, error, slurm_json"

static void copy_col(db_stmt *s, int col, char *dst, size_t cap)
{
    const char *t = db_text(s, col);
    snprintf(dst, cap, "%s", t ? t : "");
}

static vfr_queue_job *row_to_job(db_stmt *s)
{
    vfr_queue_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->seq = db_int(s, 0);
    copy_col(s, 1, j->id, sizeof j->id);
    j->state = parse_state(db_text(s, 2));
    int64_t p = db_int(s, 3);
    j->priority = p < 0 || p > 2 ? VFR_PRIORITY_NORMAL : (vfr_queue_priority)p;
    j->attempts = (int32_t)db_int(s, 4);
    j->submitted_at = db_double(s, 5);
    j->started_at = db_double(s, 6);
    j->finished_at = db_double(s, 7);
    j->heartbeat_at = db_double(s, 8);
    j->progress = db_double(s, 9);
    copy_col(s, 10, j->step, sizeof j->step);
    copy_col(s, 11, j->worker, sizeof j->worker);
    j->pid = (int32_t)db_int(s, 12);
    j->cancel_requested = (int)db_int(s, 13) != 0;
    const char *runner = db_text(s, 14);
    j->slurm = runner && strcmp(runner, "slurm") == 0;
    j->source = db_text_dup(s, 15);
    j->job_json = db_text_dup(s, 16);
    j->run_dir = db_text_dup(s, 17);
    j->result_json = db_text_dup(s, 18);
    j->error = db_text_dup(s, 19);
    j->slurm_json = db_text_dup(s, 20);
    if (!j->job_json) {
        vfr_queue_job_free(j);
        return NULL;
    }
    return j;
}

void vfr_queue_job_free(vfr_queue_job *j)
{
    if (!j)
        return;
    free(j->source), free(j->job_json), free(j->run_dir), free(j->result_json), free(j->error),
        free(j->slurm_json);
    free(j);
}

vfr_status vfr_queue_get(vfr_queue *q, const char *id, vfr_queue_job **out)
{
    *out = NULL;
    db_stmt *s;
    vfr_status st = db_prepare(q->db, &s, "SELECT " JOB_COLS " FROM jobs WHERE id = ?", "s", id);
    if (st != VFR_OK)
        return st;
    int rc = db_step(s);
    if (rc == 1) {
        if (!(*out = row_to_job(s)))
            st = vfr_fail(VFR_ERR_NOMEM, "queue: out of memory");
    } else if (rc == 0) {
        st = vfr_fail(VFR_ERR_NOT_FOUND, "queue %s: no job '%s'", q->dir, id);
    } else {
        st = db_fail(q->db, "reading a job");
    }
    db_finalize(s);
    return st;
}

void vfr_queue_list_free(vfr_queue_job **jobs, int64_t n)
{
    for (int64_t i = 0; jobs && i < n; i++)
        vfr_queue_job_free(jobs[i]);
    free(jobs);
}

vfr_status vfr_queue_list(vfr_queue *q, vfr_queue_job ***jobs, int64_t *n)
{
    *jobs = NULL;
    *n = 0;
    db_stmt *s;
    vfr_status st = db_prepare(q->db, &s, "SELECT " JOB_COLS " FROM jobs ORDER BY seq", NULL);
    if (st != VFR_OK)
        return st;
    int64_t cap = 0, cnt = 0;
    vfr_queue_job **v = NULL;
    int rc;
    while ((rc = db_step(s)) == 1) {
        if (cnt == cap) {
            cap = cap ? 2 * cap : 16;
            vfr_queue_job **nv = realloc(v, (size_t)cap * sizeof *nv);
            if (!nv) {
                st = vfr_fail(VFR_ERR_NOMEM, "queue: out of memory");
                break;
            }
            v = nv;
        }
        if (!(v[cnt] = row_to_job(s))) {
            st = vfr_fail(VFR_ERR_NOMEM, "queue: out of memory");
            break;
        }
        cnt++;
    }
    if (st == VFR_OK && rc != 0)
        st = db_fail(q->db, "listing jobs");
    db_finalize(s);
    if (st != VFR_OK) {
        vfr_queue_list_free(v, cnt);
        return st;
    }
    *jobs = v;
    *n = cnt;
    return VFR_OK;
}

static void iso_time(double t, char out[32])
{
    time_t s = (time_t)t;
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void add_time(cJSON *o, const char *key, double t)
{
    if (t > 0) {
        char b[32];
        iso_time(t, b);
        cJSON_AddStringToObject(o, key, b);
    } else {
        cJSON_AddNullToObject(o, key);
    }
}

static void add_parsed(cJSON *o, const char *key, const char *json)
{
    cJSON *v = json ? cJSON_Parse(json) : NULL;
    if (v)
        cJSON_AddItemToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

char *vfr_queue_job_to_json(vfr_queue *q, const vfr_queue_job *j, int with_events)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", j->id);
    cJSON_AddStringToObject(o, "state", vfr_queue_state_name(j->state));
    cJSON_AddStringToObject(o, "priority", vfr_queue_priority_name(j->priority));
    cJSON_AddStringToObject(o, "runner", j->slurm ? "slurm" : "local");
    cJSON_AddNumberToObject(o, "attempts", j->attempts);
    cJSON_AddNumberToObject(o, "progress", j->progress);
    cJSON_AddStringToObject(o, "step", j->step);
    if (j->cancel_requested && j->state == VFR_QUEUE_RUNNING)
        cJSON_AddTrueToObject(o, "cancelRequested");
    cJSON *t = cJSON_AddObjectToObject(o, "timings");
    add_time(t, "submitted", j->submitted_at);
    add_time(t, "started", j->started_at);
    add_time(t, "finished", j->finished_at);
    add_time(t, "heartbeat", j->heartbeat_at);
    if (j->started_at > 0)
        cJSON_AddNumberToObject(t, "waitSeconds", j->started_at - j->submitted_at);
    if (j->started_at > 0 && j->finished_at >= j->started_at)
        cJSON_AddNumberToObject(t, "runSeconds", j->finished_at - j->started_at);
    else if (j->state == VFR_QUEUE_RUNNING && j->started_at > 0)
        cJSON_AddNumberToObject(t, "runSeconds", q_now() - j->started_at);
    /* raw Unix seconds too, for scripts that compare timings */
    cJSON_AddNumberToObject(t, "submittedUnix", j->submitted_at);
    cJSON_AddNumberToObject(t, "startedUnix", j->started_at);
    cJSON_AddNumberToObject(t, "finishedUnix", j->finished_at);
    if (j->worker[0])
        cJSON_AddStringToObject(o, "worker", j->worker);
    if (j->pid > 0 && j->state == VFR_QUEUE_RUNNING)
        cJSON_AddNumberToObject(o, "pid", j->pid);
    if (j->source)
        cJSON_AddStringToObject(o, "source", j->source);
    if (j->run_dir)
        cJSON_AddStringToObject(o, "runDir", j->run_dir);
    else
        cJSON_AddNullToObject(o, "runDir");
    add_parsed(o, "result", j->result_json);
    if (j->error)
        cJSON_AddStringToObject(o, "error", j->error);
    else
        cJSON_AddNullToObject(o, "error");
    if (j->slurm_json)
        add_parsed(o, "slurm", j->slurm_json);
    if (with_events && q) {
        cJSON *ev = cJSON_AddArrayToObject(o, "events");
        db_stmt *s;
        if (db_prepare(q->db, &s, "SELECT ts, event, detail FROM events WHERE job_id = ? ORDER BY seq", "s", j->id) ==
            VFR_OK) {
            while (db_step(s) == 1) {
                cJSON *e = cJSON_CreateObject();
                char b[32];
                iso_time(db_double(s, 0), b);
                cJSON_AddStringToObject(e, "ts", b);
                cJSON_AddStringToObject(e, "event", db_text(s, 1));
                const char *d = db_text(s, 2);
                if (d)
                    cJSON_AddStringToObject(e, "detail", d);
                cJSON_AddItemToArray(ev, e);
            }
            db_finalize(s);
        }
    }
    char *txt = cJSON_Print(o);
    cJSON_Delete(o);
    return txt;
}

/* ---- state changes ---- */

vfr_status q_set_final(vfr_queue *q, const char *id, vfr_queue_state state, const char *error,
                       const char *result_json)
{
    vfr_status st = VFR_OK;
    VFR_TRY(db_begin(q->db));
    VFR_TRY(db_exec(q->db, NULL,
                    "UPDATE jobs SET state = ?, finished_at = ?, error = coalesce(?, error), "
                    "result_json = coalesce(?, result_json), step = ?, pid = NULL, "
                    "progress = CASE WHEN ? = 'completed' THEN 100 ELSE progress END WHERE id = ?",
                    "sdsssss", vfr_queue_state_name(state), q_now(), error, result_json, vfr_queue_state_name(state),
                    vfr_queue_state_name(state), id));
    VFR_TRY(q_event(q, id, vfr_queue_state_name(state), error));
    return db_commit(q->db);
fail:
    db_rollback(q->db);
    return st;
}

vfr_status q_set_slurm(vfr_queue *q, const char *id, const char *slurm_json, const char *run_dir)
{
    vfr_status st = VFR_OK;
    VFR_TRY(db_begin(q->db));
    VFR_TRY(db_exec(q->db, NULL,
                    "UPDATE jobs SET slurm_json = ?, run_dir = ?, step = 'submitted to Slurm' WHERE id = ?", "sss",
                    slurm_json, run_dir, id));
    VFR_TRY(q_event(q, id, "slurm", slurm_json));
    return db_commit(q->db);
fail:
    db_rollback(q->db);
    return st;
}

vfr_status vfr_queue_cancel(vfr_queue *q, const char *id, vfr_queue_state *now)
{
    vfr_queue_job *j = NULL;
    vfr_status st = vfr_queue_get(q, id, &j);
    if (st != VFR_OK)
        return st;
    *now = j->state;
    if (j->state == VFR_QUEUE_COMPLETED || j->state == VFR_QUEUE_FAILED || j->state == VFR_QUEUE_CANCELLED) {
        st = vfr_fail(VFR_ERR_INVALID_ARG, "job '%s' is already %s; nothing to cancel", id,
                      vfr_queue_state_name(j->state));
        goto done;
    }
    if (j->slurm) {
        if ((st = q_slurm_cancel(q, j)) == VFR_OK &&
            (st = q_set_final(q, id, VFR_QUEUE_CANCELLED, "cancelled (scancel)", NULL)) == VFR_OK)
            *now = VFR_QUEUE_CANCELLED;
        goto done;
    }
    /* Only the state it was read in changes: a job that started meanwhile
     * is marked for its worker instead. */
    if ((st = db_begin(q->db)) != VFR_OK)
        goto done;
    int64_t changed = 0;
    if ((st = db_exec(q->db, &changed,
                      "UPDATE jobs SET state = 'cancelled', finished_at = ?, step = 'cancelled' "
                      "WHERE id = ? AND state = 'queued'",
                      "ds", q_now(), id)) != VFR_OK)
        goto rollback;
    if (changed > 0) {
        *now = VFR_QUEUE_CANCELLED;
        st = q_event(q, id, "cancelled", "cancelled while queued");
    } else {
        if ((st = db_exec(q->db, &changed, "UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND state = 'running'",
                          "s", id)) != VFR_OK)
            goto rollback;
        if (changed > 0) {
            *now = VFR_QUEUE_RUNNING;
            st = q_event(q, id, "cancel", "asked; the worker stops the run with SIGTERM");
        } else {
            st = vfr_fail(VFR_ERR_INVALID_ARG, "job '%s' finished meanwhile; nothing to cancel", id);
        }
    }
    if (st != VFR_OK)
        goto rollback;
    st = db_commit(q->db);
    goto done;
rollback:
    db_rollback(q->db);
done:
    vfr_queue_job_free(j);
    return st;
}

vfr_status vfr_queue_reap(vfr_queue *q, double stale_s, int max_attempts, int64_t *n)
{
    vfr_status st = VFR_OK;
    db_stmt *s = NULL;
    int64_t changed = 0;
    if (n)
        *n = 0;
    double now = q_now();
    VFR_TRY(db_begin(q->db));
    VFR_TRY(db_prepare(q->db, &s,
                       "SELECT id, attempts, cancel_requested, worker, heartbeat_at FROM jobs "
                       "WHERE state = 'running' AND runner = 'local' AND coalesce(heartbeat_at, 0) < ?",
                       "d", now - stale_s));
    int rc;
    while ((rc = db_step(s)) == 1) {
        char id[160], worker[160], why[512], hb[32];
        copy_col(s, 0, id, sizeof id);
        copy_col(s, 3, worker, sizeof worker);
        int64_t attempts = db_int(s, 1);
        int cancel = (int)db_int(s, 2) != 0;
        iso_time(db_double(s, 4), hb);
        const char *state, *event;
        if (cancel) {
            state = "cancelled", event = "cancelled";
            snprintf(why, sizeof why, "cancelled; worker %s stopped heart-beating at %s", worker, hb);
        } else if (max_attempts > 0 && attempts >= max_attempts) {
            state = "failed", event = "failed";
            snprintf(why, sizeof why, "worker %s stopped heart-beating at %s; gave up after %lld attempts",
                     worker, hb, (long long)attempts);
        } else {
            state = "queued", event = "requeued";
            snprintf(why, sizeof why, "worker %s stopped heart-beating at %s (attempt %lld); requeued", worker,
                     hb, (long long)attempts);
        }
        int queued = strcmp(state, "queued") == 0;
        VFR_TRY(db_exec(q->db, NULL,
                        "UPDATE jobs SET state = ?, worker = NULL, pid = NULL, error = ?, step = ?, "
                        "finished_at = ? WHERE id = ?",
                        "sssds", state, why, queued ? "requeued" : state, queued ? 0.0 : now, id));
        VFR_TRY(q_event(q, id, event, why));
        changed++;
    }
    if (rc != 0) {
        st = db_fail(q->db, "finding stale jobs");
        goto fail;
    }
    db_finalize(s);
    s = NULL;
    VFR_TRY(db_commit(q->db));
    if (n)
        *n = changed;
    return VFR_OK;
fail:
    db_finalize(s);
    db_rollback(q->db);
    return st;
}

vfr_status vfr_queue_claim(vfr_queue *q, const char *worker, const char *run_dir_parent,
                           vfr_queue_job **out)
{
    vfr_status st = VFR_OK;
    db_stmt *s = NULL;
    char id[160] = "";
    *out = NULL;
    VFR_TRY(db_begin(q->db));
    VFR_TRY(db_prepare(q->db, &s,
                       "SELECT id, attempts FROM jobs WHERE state = 'queued' AND runner = 'local' "
                       "ORDER BY priority DESC, seq LIMIT 1",
                       NULL));
    int rc = db_step(s);
    if (rc == 0) {
        db_finalize(s);
        db_rollback(q->db);
        return VFR_OK;
    }
    if (rc != 1) {
        st = db_fail(q->db, "finding the next job");
        goto fail;
    }
    copy_col(s, 0, id, sizeof id);
    int64_t attempt = db_int(s, 1) + 1;
    db_finalize(s);
    s = NULL;
    char run_dir[4400];
    snprintf(run_dir, sizeof run_dir, "%s/%s", run_dir_parent, id);
    double now = q_now();
    VFR_TRY(db_exec(q->db, NULL,
                    "UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?, "
                    "heartbeat_at = ?, worker = ?, pid = NULL, progress = 0, step = 'starting', "
                    "run_dir = coalesce(run_dir, ?), cancel_requested = 0 WHERE id = ?",
                    "ddsss", now, now, worker, run_dir, id));
    char detail[400];
    snprintf(detail, sizeof detail, "attempt %lld on worker %s", (long long)attempt, worker);
    VFR_TRY(q_event(q, id, "started", detail));
    VFR_TRY(db_commit(q->db));
    return vfr_queue_get(q, id, out);
fail:
    db_finalize(s);
    db_rollback(q->db);
    return st;
}

vfr_status vfr_queue_set_pid(vfr_queue *q, const char *id, const char *worker, int32_t pid)
{
    return db_exec(q->db, NULL, "UPDATE jobs SET pid = ? WHERE id = ? AND worker = ? AND state = 'running'", "iss",
                   (int64_t)pid, id, worker);
}

vfr_status vfr_queue_heartbeat(vfr_queue *q, const char *id, const char *worker, double progress,
                               const char *step, int *cancel, int *lost)
{
    *cancel = 0;
    *lost = 0;
    db_stmt *s;
    vfr_status st =
        db_prepare(q->db, &s,
                   "UPDATE jobs SET heartbeat_at = ?, progress = CASE WHEN ? >= 0 THEN ? ELSE progress END, "
                   "step = coalesce(?, step) WHERE id = ? AND worker = ? AND state = 'running' "
                   "RETURNING cancel_requested",
                   "dddsss", q_now(), progress, progress, step, id, worker);
    if (st != VFR_OK)
        return st;
    int rc = db_step(s);
    if (rc == 1)
        *cancel = (int)db_int(s, 0) != 0;
    else if (rc == 0)
        *lost = 1;
    else
        st = db_fail(q->db, "writing a heartbeat");
    db_finalize(s);
    return st;
}

vfr_status vfr_queue_finish(vfr_queue *q, const char *id, const char *worker, vfr_queue_state state,
                            const char *error, const char *result_json)
{
    vfr_status st = VFR_OK;
    double now = q_now();
    int64_t changed = 0;
    VFR_TRY(db_begin(q->db));
    if (state == VFR_QUEUE_QUEUED) {
        VFR_TRY(db_exec(q->db, &changed,
                        "UPDATE jobs SET state = 'queued', worker = NULL, pid = NULL, error = ?, step = 'requeued' "
                        "WHERE id = ? AND worker = ? AND state = 'running'",
                        "sss", error, id, worker));
    } else {
        VFR_TRY(db_exec(q->db, &changed,
                        "UPDATE jobs SET state = ?, finished_at = ?, pid = NULL, error = ?, result_json = ?, "
                        "step = ?, progress = CASE WHEN ? = 'completed' THEN 100 ELSE progress END "
                        "WHERE id = ? AND worker = ? AND state = 'running'",
                        "sdssssss", vfr_queue_state_name(state), now, error, result_json, vfr_queue_state_name(state),
                        vfr_queue_state_name(state), id, worker));
    }
    if (changed > 0)
        VFR_TRY(q_event(q, id, state == VFR_QUEUE_QUEUED ? "requeued" : vfr_queue_state_name(state), error));
    return db_commit(q->db);
fail:
    db_rollback(q->db);
    return st;
}

/* ---- result summary ---- */

static cJSON *read_json_file(const char *dir, const char *name)
{
    char path[4400], *txt;
    size_t len;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (vfr_read_file(path, &txt, &len) != 0)
        return NULL;
    cJSON *o = cJSON_Parse(txt);
    free(txt);
    return o;
}

static void copy_item(cJSON *dst, const char *key, const cJSON *src, const char *skey)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, skey);
    if (v)
        cJSON_AddItemToObject(dst, key, cJSON_Duplicate(v, 1));
}

vfr_status vfr_queue_result_from_run(const char *run_dir, char **json)
{
    *json = NULL;
    cJSON *m = read_json_file(run_dir, "metrics.json");
    if (!m)
        return vfr_fail(VFR_ERR_NOT_FOUND, "%s: no readable metrics.json: the run did not finish", run_dir);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "runDir", run_dir);
    copy_item(r, "metrics", m, "test");
    const cJSON *bt = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "backtest"), "model");
    if (bt) {
        cJSON *b = cJSON_AddObjectToObject(r, "backtest");
        static const char *keys[] = {"sharpe", "total_return", "max_drawdown", "directional_accuracy"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            copy_item(b, keys[i], bt, keys[i]);
    }
    copy_item(r, "testPeriod", m, "testPeriod");
    cJSON_Delete(m);
    cJSON *sr = read_json_file(run_dir, "search.json");
    if (sr) {
        cJSON *s = cJSON_AddObjectToObject(r, "search");
        copy_item(s, "bestParams", sr, "bestParams");
        copy_item(s, "bestScore", sr, "bestScore");
        copy_item(s, "trialsEvaluated", sr, "trialsEvaluated");
        cJSON_Delete(sr);
    }
    cJSON *c = read_json_file(run_dir, "comparison.json");
    if (c) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(c, "decision");
        cJSON *o = cJSON_AddObjectToObject(r, "decision");
        copy_item(o, "shouldDeploy", d, "shouldDeploy");
        copy_item(o, "against", d, "against");
        copy_item(o, "reason", d, "reason");
        cJSON_Delete(c);
    }
    /* registry.json's format belongs to the registry: keep it whole, and
     * name the version where it says one. */
    cJSON *g = read_json_file(run_dir, "registry.json");
    if (g) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(g, "version");
        if (!cJSON_IsString(v))
            v = cJSON_GetObjectItemCaseSensitive(g, "modelVersion");
        if (cJSON_IsString(v))
            cJSON_AddStringToObject(r, "registeredVersion", v->valuestring);
        cJSON_AddItemToObject(r, "registry", g);
    }
    *json = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    return *json ? VFR_OK : vfr_fail(VFR_ERR_NOMEM, "queue: out of memory");
}

/* ---- child processes without a shell ---- */

int q_have_program(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
    const char *p = path;
    while (*p) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        char full[4400];
        snprintf(full, sizeof full, "%.*s/%s", (int)n, n ? p : ".", prog);
        if (access(full, X_OK) == 0)
            return 1;
        p += n + (colon ? 1 : 0);
    }
    return 0;
}

int q_run_capture(char *const argv[], char *out, size_t cap, char *err, size_t errcap)
{
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    if (cap)
        out[0] = '\0';
    if (errcap)
        err[0] = '\0';
    if (pipe(po) != 0)
        return 127;
    if (pipe(pe) != 0) {
        close(po[0]), close(po[1]);
        return 127;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
        return 127;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(po[1]), close(pe[1]);
    size_t no = 0, ne = 0;
    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int k = 0; k < 2; k++) {
            if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[4096];
            ssize_t r = read(fds[k].fd, buf, sizeof buf);
            if (r <= 0) {
                if (r < 0 && errno == EINTR)
                    continue;
                close(fds[k].fd);
                fds[k].fd = -1;
                open_fds--;
                continue;
            }
            char *dst = k == 0 ? out : err;
            size_t *used = k == 0 ? &no : &ne, lim = k == 0 ? cap : errcap;
            size_t take = lim > *used + 1 ? lim - 1 - *used : 0;
            if ((size_t)r < take)
                take = (size_t)r;
            memcpy(dst + *used, buf, take);
            *used += take;
            if (lim)
                dst[*used] = '\0';
        }
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return 127;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
