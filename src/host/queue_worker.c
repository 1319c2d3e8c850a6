/* queue_worker.c: `vfr worker` as a library call (vfr_worker_run): takes
 * queued jobs by priority then age, runs each as a child `vfr train` process
 * (fork + exec, no shell), reads the child's JSON log lines for progress,
 * writes heartbeats, stops children whose job was cancelled, and records how
 * each one ended. A crash takes down one child, never the worker; a killed
 * worker takes its children with it (PR_SET_PDEATHSIG) and another worker
 * requeues their jobs once their heartbeats are stale. */
#include "queue_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "util.h"

#define MAX_CHILDREN 256
#define KILL_WAIT_S 60.0 /* after SIGTERM, SIGKILL a child that has not exited */
#define LIMIT_KILL_WAIT_S 10.0 /* the same past a time limit: it may be stuck */

typedef struct child {
    char id[160];
    char run_dir[4400];
    pid_t pid;
    int fd;                 /* the child's stderr (JSON log lines); -1 at EOF */
    int log_fd;             /* <queue>/logs/<id>.log                          */
    char buf[16384];
    size_t used;
    double progress;        /* -1: none reported yet                          */
    char step[96];
    char last_error[1024];  /* the last ERROR line's message                  */
    char last_raw[512];     /* the last line that was not JSON                */
    int exited, status;
    int term_sent, cancelled, lost, timed_out;
    double term_at, started;
    double limit_s;         /* stop the job after this long (0: never)        */
} child;

typedef struct worker {
    vfr_queue *q;
    const vfr_worker_options *o;
    char name[160];
    char runs[4096];
    child *kids[MAX_CHILDREN];
    int n;
    int stopping;
    /* The database server could not be reached: retry with backoff, keep
     * the running jobs and their outcomes until it answers again. */
    int db_down;
    double backoff, retry_at;
} worker;

static void wlog(worker *w, vfr_log_level level, const char *fmt, const char *id, const char *detail)
{
    vfr_report_log(w->o->reporter, level, fmt, id, detail ? detail : "");
}

static void child_free(child *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    if (c->log_fd >= 0)
        close(c->log_fd);
    free(c);
}

/* One line of the child's stderr: to the log file, and progress/errors into
 * the child's record. vfr's --log-json lines are objects with level, msg,
 * and for progress events event/step/pct (cli/log.c). */
static void take_line(child *c, char *line)
{
    size_t n = strlen(line);
    if (c->log_fd >= 0) {
        line[n] = '\n';
        ssize_t wr = write(c->log_fd, line, n + 1);
        (void)wr; /* the log is for people; the run folder has its own */
        line[n] = '\0';
    }
    cJSON *o = cJSON_Parse(line);
    if (!cJSON_IsObject(o)) {
        if (n > 0)
            snprintf(c->last_raw, sizeof c->last_raw, "%s", line);
        cJSON_Delete(o);
        return;
    }
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(o, "event");
    const cJSON *level = cJSON_GetObjectItemCaseSensitive(o, "level");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(o, "msg");
    if (cJSON_IsString(ev) && strcmp(ev->valuestring, "progress") == 0) {
        const cJSON *step = cJSON_GetObjectItemCaseSensitive(o, "step");
        const cJSON *pct = cJSON_GetObjectItemCaseSensitive(o, "pct");
        if (cJSON_IsString(step) && cJSON_IsNumber(pct)) {
            /* "train" counts the pipeline's steps: the whole run's progress;
             * the others are the step now running */
            if (strcmp(step->valuestring, "train") == 0)
                c->progress = pct->valuedouble;
            else
                snprintf(c->step, sizeof c->step, "%.80s %d%%", step->valuestring, (int)pct->valuedouble);
        }
    } else if (cJSON_IsString(level) && strcmp(level->valuestring, "ERROR") == 0 && cJSON_IsString(msg)) {
        snprintf(c->last_error, sizeof c->last_error, "%s", msg->valuestring);
    }
    cJSON_Delete(o);
}

/* Reads what the child wrote; at EOF closes the pipe. */
static void drain(child *c)
{
    for (;;) {
        if (c->used >= sizeof c->buf - 1) { /* a line longer than the buffer: cut it */
            c->buf[sizeof c->buf - 1] = '\0';
            take_line(c, c->buf);
            c->used = 0;
        }
        ssize_t r = read(c->fd, c->buf + c->used, sizeof c->buf - 1 - c->used);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (r <= 0) {
            if (c->used > 0) {
                c->buf[c->used] = '\0';
                take_line(c, c->buf);
                c->used = 0;
            }
            close(c->fd);
            c->fd = -1;
            return;
        }
        c->used += (size_t)r;
        char *start = c->buf, *nl;
        while ((nl = memchr(start, '\n', c->used - (size_t)(start - c->buf)))) {
            *nl = '\0';
            take_line(c, start);
            start = nl + 1;
        }
        size_t rest = c->used - (size_t)(start - c->buf);
        memmove(c->buf, start, rest);
        c->used = rest;
    }
}

static vfr_status write_job_file(worker *w, const vfr_queue_job *j, char *path, size_t cap)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/jobs", w->q->files);
    if (vfri_mkdirs(dir) != 0)
        return vfr_fail(VFR_ERR_IO, "worker: cannot create '%s': %s", dir, strerror(errno));
    snprintf(path, cap, "%s/%s.json", dir, j->id);
    return vfri_write_file_atomic(path, j->job_json, strlen(j->job_json));
}

static vfr_status spawn(worker *w, const vfr_queue_job *j, child **out)
{
    *out = NULL;
    char jobfile[4400], logdir[4200], logpath[4400], threads[32];
    vfr_status st = write_job_file(w, j, jobfile, sizeof jobfile);
    if (st != VFR_OK)
        return st;
    child *c = calloc(1, sizeof *c);
    if (!c)
        return vfr_fail(VFR_ERR_NOMEM, "worker: out of memory");
    c->fd = c->log_fd = -1;
    c->progress = -1;
    c->started = vfri_seconds();
    /* the job's timeLimitMinutes, capped by the worker's own limit */
    c->limit_s = w->o->job_time_limit_s > 0 ? w->o->job_time_limit_s : 0;
    cJSON *jj = cJSON_Parse(j->job_json);
    const cJSON *tl = cJSON_GetObjectItemCaseSensitive(jj, "timeLimitMinutes");
    if (cJSON_IsNumber(tl) && tl->valuedouble > 0 && (c->limit_s == 0 || 60 * tl->valuedouble < c->limit_s))
        c->limit_s = 60 * tl->valuedouble;
    cJSON_Delete(jj);
    snprintf(c->id, sizeof c->id, "%s", j->id);
    snprintf(c->run_dir, sizeof c->run_dir, "%s", j->run_dir);
    snprintf(logdir, sizeof logdir, "%s/logs", w->q->files);
    if (vfri_mkdirs(logdir) != 0) {
        child_free(c);
        return vfr_fail(VFR_ERR_IO, "worker: cannot create '%s': %s", logdir, strerror(errno));
    }
    snprintf(logpath, sizeof logpath, "%s/%s.log", logdir, j->id);
    c->log_fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (c->log_fd >= 0) {
        char head[600], now[32];
        vfri_utc_now(now);
        int n = snprintf(head, sizeof head, "== %s attempt %d on worker %s\n", now, (int)j->attempts, w->name);
        ssize_t wr = write(c->log_fd, head, (size_t)n);
        (void)wr;
    }
    char *argv[16];
    int k = 0;
    argv[k++] = (char *)w->o->exe;
    argv[k++] = "--log-json";
    if (w->o->device) {
        argv[k++] = "--device";
        argv[k++] = (char *)w->o->device;
    }
    argv[k++] = "train";
    argv[k++] = jobfile;
    argv[k++] = "--out";
    argv[k++] = c->run_dir;
    argv[k++] = "--resume";
    if (w->o->threads > 0) {
        snprintf(threads, sizeof threads, "%d", w->o->threads);
        argv[k++] = "--threads";
        argv[k++] = threads;
    }
    argv[k] = NULL;

    int p[2];
    if (pipe(p) != 0) {
        child_free(c);
        return vfr_fail(VFR_ERR_IO, "worker: pipe: %s", strerror(errno));
    }
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]), close(p[1]);
        child_free(c);
        return vfr_fail(VFR_ERR_IO, "worker: fork: %s", strerror(errno));
    }
    if (pid == 0) {
#ifdef __linux__
        /* The worker's death stops the run cleanly (exit 3 after its
         * checkpoint), so its requeued job never has two writers. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
        if (getppid() != parent)
            _exit(3);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        if (c->log_fd >= 0)
            dup2(c->log_fd, 1);
        dup2(p[1], 2);
        close(p[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    c->fd = p[0];
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    c->pid = pid;
    *out = c;
    return VFR_OK;
}

/* Records how a child ended. 0 when the outcome could not be written for a
 * lost connection: the caller keeps the child and tries again. */
static int finish_child(worker *w, child *c)
{
    char why[6000];
    const char *detail = c->last_error[0] ? c->last_error : c->last_raw;
    vfr_status st = VFR_OK;
    int code = WIFEXITED(c->status) ? WEXITSTATUS(c->status) : -1;
    int sig = WIFSIGNALED(c->status) ? WTERMSIG(c->status) : 0;
    if (c->lost) {
        wlog(w, VFR_LOG_WARN, "job %s: stopped; it had been requeued by another worker%s", c->id, "");
        return 1;
    }
    if (code == 0) {
        char *result = NULL;
        st = vfr_queue_result_from_run(c->run_dir, &result);
        if (st == VFR_OK) {
            st = vfr_queue_finish(w->q, c->id, w->name, VFR_QUEUE_COMPLETED, NULL, result);
            snprintf(why, sizeof why, "in %.1f s, %s", vfri_seconds() - c->started, c->run_dir);
            wlog(w, VFR_LOG_INFO, "job %s: completed %s", c->id, why);
        } else {
            snprintf(why, sizeof why, "vfr train exited 0 but %s", vfr_last_error());
            st = vfr_queue_finish(w->q, c->id, w->name, VFR_QUEUE_FAILED, why, NULL);
            wlog(w, VFR_LOG_ERROR, "job %s: failed: %s", c->id, why);
        }
        free(result);
    } else if (c->timed_out) {
        snprintf(why, sizeof why, "time limit of %.0f s exceeded (job timeLimitMinutes or worker --job-time-limit); stopped%s%s",
                 c->limit_s, detail[0] ? ": " : "", detail);
        st = vfr_queue_finish(w->q, c->id, w->name, VFR_QUEUE_FAILED, why, NULL);
        wlog(w, VFR_LOG_ERROR, "job %s: failed: %s", c->id, why);
    } else if (c->cancelled && (code == 3 || sig)) {
        st = vfr_queue_finish(w->q, c->id, w->name, VFR_QUEUE_CANCELLED, "cancelled (SIGTERM)", NULL);
        wlog(w, VFR_LOG_INFO, "job %s: cancelled%s", c->id, "");
    } else if (code == 3) {
        snprintf(why, sizeof why, "interrupted (exit 3%s); requeued to resume",
                 w->stopping ? ": the worker was stopped" : "");
        st = vfr_queue_finish(w->q, c->id, w->name, VFR_QUEUE_QUEUED, why, NULL);
        wlog(w, VFR_LOG_WARN, "job %s: %s", c->id, why);
    } else {
        if (sig)
            snprintf(why, sizeof why, "vfr train was killed by signal %d%s%s", sig, detail[0] ? ": " : "", detail);
        else
            snprintf(why, sizeof why, "vfr train exited %d%s%s", code, detail[0] ? ": " : "", detail);
        st = vfr_queue_finish(w->q, c->id, w->name, VFR_QUEUE_FAILED, why, NULL);
        wlog(w, VFR_LOG_ERROR, "job %s: failed: %s", c->id, why);
    }
    if (st != VFR_OK && db_lost(w->q->db)) {
        wlog(w, VFR_LOG_WARN, "job %s: outcome kept until the database answers: %s", c->id, vfr_last_error());
        return 0;
    }
    if (st != VFR_OK)
        wlog(w, VFR_LOG_ERROR, "job %s: cannot record the outcome: %s", c->id, vfr_last_error());
    return 1;
}

/* After a failed database call: a lost connection is waited out with
 * backoff (1 s doubling to 30 s); anything else is the caller's error. */
static int db_trouble(worker *w, const char *what)
{
    if (!db_lost(w->q->db))
        return 0;
    double now = vfri_seconds();
    w->backoff = w->db_down ? (w->backoff * 2 > 30 ? 30 : w->backoff * 2) : 1;
    w->db_down = 1;
    w->retry_at = now + w->backoff;
    char d[1400];
    snprintf(d, sizeof d, "%s; retrying in %.0f s", vfr_last_error(), w->backoff);
    wlog(w, VFR_LOG_WARN, "worker: %s: %s", what, d);
    return 1;
}

static void heartbeat_all(worker *w)
{
    for (int i = 0; i < w->n; i++) {
        child *c = w->kids[i];
        if (c->exited)
            continue;
        int cancel = 0, lost = 0;
        vfr_status st = vfr_queue_heartbeat(w->q, c->id, w->name, c->progress, c->step[0] ? c->step : NULL,
                                            &cancel, &lost);
        if (st != VFR_OK) {
            if (!db_trouble(w, "heartbeat"))
                wlog(w, VFR_LOG_WARN, "job %s: heartbeat not written: %s", c->id, vfr_last_error());
            return;
        }
        if ((cancel || lost) && !c->term_sent) {
            c->cancelled = cancel;
            c->lost = lost;
            c->term_sent = 1;
            c->term_at = vfri_seconds();
            kill(c->pid, SIGTERM);
            wlog(w, VFR_LOG_INFO, "job %s: %s", c->id,
                 cancel ? "cancel asked: stopping the run (SIGTERM)" : "no longer ours: stopping the run (SIGTERM)");
        }
    }
}

/* Local jobs queued or running anywhere (for --once: drained when 0). */
static vfr_status pending_jobs(worker *w, int64_t *n)
{
    return db_query_int(w->q->db, n,
                        "SELECT count(*) FROM jobs WHERE runner = 'local' AND state IN ('queued', 'running')", NULL);
}

/* Waits up to half a second (or hb) for output of the running children,
 * drains it, notes the ones that exited, and stops (SIGTERM, then SIGKILL
 * after a grace period) those over their time limit. */
static void watch_children(worker *w, double hb)
{
    struct pollfd fds[MAX_CHILDREN];
    int nf = 0;
    for (int i = 0; i < w->n; i++)
        if (w->kids[i]->fd >= 0)
            fds[nf++] = (struct pollfd){w->kids[i]->fd, POLLIN, 0};
    int wait_ms = (int)(1000 * (hb < 0.5 ? hb : 0.5));
    if (nf > 0)
        poll(fds, (nfds_t)nf, wait_ms);
    else
        poll(NULL, 0, 50);
    for (int i = 0; i < w->n; i++) {
        child *c = w->kids[i];
        if (c->fd >= 0)
            drain(c);
        if (!c->exited && waitpid(c->pid, &c->status, WNOHANG) == c->pid)
            c->exited = 1;
        if (!c->exited && !c->term_sent && c->limit_s > 0 && vfri_seconds() - c->started > c->limit_s) {
            c->timed_out = c->term_sent = 1;
            c->term_at = vfri_seconds();
            kill(c->pid, SIGTERM);
            wlog(w, VFR_LOG_WARN, "job %s: %s", c->id, "time limit reached: stopping the run (SIGTERM)");
        }
        if (!c->exited && c->term_sent &&
            vfri_seconds() - c->term_at > (c->timed_out ? LIMIT_KILL_WAIT_S : KILL_WAIT_S))
            kill(c->pid, SIGKILL);
    }
}

vfr_status vfr_worker_run(vfr_queue *q, const vfr_worker_options *o)
{
    if (!o || !o->exe || !o->runs_dir || o->max_concurrent < 1 || o->max_concurrent > MAX_CHILDREN)
        return vfr_fail(VFR_ERR_INVALID_ARG, "worker: max concurrent jobs must be 1-%d", MAX_CHILDREN);
    worker w = {.q = q, .o = o};
    char host[128] = "host";
    gethostname(host, sizeof host - 1);
    snprintf(w.name, sizeof w.name, "%s:%ld", host, (long)getpid());
    if (o->runs_dir[0] == '/') {
        snprintf(w.runs, sizeof w.runs, "%s", o->runs_dir);
    } else {
        char cwd[2048];
        if (!getcwd(cwd, sizeof cwd))
            return vfr_fail(VFR_ERR_IO, "worker: cannot read the current folder: %s", strerror(errno));
        snprintf(w.runs, sizeof w.runs, "%s/%s", cwd, o->runs_dir);
    }
    double stale = o->stale_s > 0 ? o->stale_s : 30, hb = o->heartbeat_s > 0 ? o->heartbeat_s : 2;
    double idle = o->poll_s > 0 ? o->poll_s : 1;
    if (hb > stale / 3)
        hb = stale / 3; /* several beats per stale period, so a busy moment is not a death */
    int max_attempts = o->max_attempts > 0 ? o->max_attempts : 3;
    double last_beat = 0, last_reap = -1e30;
    vfr_status st = VFR_OK;
    vfr_report_log(o->reporter, VFR_LOG_INFO, "worker %s: queue %s, runs %s, %d at once%s", w.name,
                   vfr_queue_dir(q), w.runs, o->max_concurrent, o->once ? ", until the queue is empty" : "");
    for (;;) {
        double now = vfri_seconds();
        if (o->stop && *o->stop && !w.stopping) {
            w.stopping = 1;
            vfr_report_log(o->reporter, VFR_LOG_INFO, "worker %s: stopping: %d running job(s) get SIGTERM", w.name, w.n);
            for (int i = 0; i < w.n; i++)
                if (!w.kids[i]->exited && !w.kids[i]->term_sent) {
                    kill(w.kids[i]->pid, SIGTERM);
                    w.kids[i]->term_sent = 1;
                    w.kids[i]->term_at = now;
                }
        }
        if (w.db_down && now >= w.retry_at) {
            int64_t n = 0;
            if (pending_jobs(&w, &n) == VFR_OK) { /* reconnected */
                w.db_down = 0;
                vfr_report_log(o->reporter, VFR_LOG_INFO, "worker %s: the database answers again", w.name);
                /* our jobs first, so they do not look dead; and no reap for a
                 * stale period, so other workers get to beat theirs too */
                heartbeat_all(&w);
                last_beat = now;
                last_reap = now + stale;
            } else if (!db_trouble(&w, "reconnecting")) {
                st = VFR_ERR_IO;
                goto done;
            }
        }
        if (!w.db_down && !w.stopping && now - last_reap >= hb) {
            int64_t n = 0;
            if (vfr_queue_reap(q, stale, max_attempts, &n) != VFR_OK) {
                if (!db_trouble(&w, "reap"))
                    vfr_report_log(o->reporter, VFR_LOG_WARN, "worker: reap: %s", vfr_last_error());
            }
            else if (n > 0)
                vfr_report_log(o->reporter, VFR_LOG_WARN, "worker: %lld job(s) of a dead worker requeued", (long long)n);
            last_reap = now;
        }
        while (!w.db_down && !w.stopping && w.n < o->max_concurrent) {
            vfr_queue_job *j = NULL;
            if ((st = vfr_queue_claim(q, w.name, w.runs, &j)) != VFR_OK) {
                if (db_trouble(&w, "claiming a job")) {
                    st = VFR_OK;
                    break;
                }
                goto done;
            }
            if (!j)
                break;
            child *c = NULL;
            vfr_status sst = spawn(&w, j, &c);
            if (sst != VFR_OK) {
                char why[1200];
                snprintf(why, sizeof why, "cannot start vfr train: %s", vfr_last_error());
                vfr_queue_finish(q, j->id, w.name, VFR_QUEUE_FAILED, why, NULL);
                wlog(&w, VFR_LOG_ERROR, "job %s: %s", j->id, why);
            } else {
                w.kids[w.n++] = c;
                vfr_queue_set_pid(q, j->id, w.name, (int32_t)c->pid);
                char d[64];
                snprintf(d, sizeof d, "%d, pid %ld", (int)j->attempts, (long)c->pid);
                wlog(&w, VFR_LOG_INFO, "job %s: started (attempt %s)", j->id, d);
            }
            vfr_queue_job_free(j);
        }
        if (w.n == 0) {
            if (w.stopping)
                break;
            if (o->once && !w.db_down) {
                int64_t pending = -1;
                if ((st = pending_jobs(&w, &pending)) != VFR_OK) {
                    if (!db_trouble(&w, "counting jobs"))
                        goto done;
                    st = VFR_OK;
                }
                if (pending == 0)
                    break;
            }
            /* idle: wait (a signal cuts it short) */
            poll(NULL, 0, (int)(idle * 1000));
            continue;
        }
        watch_children(&w, hb);
        now = vfri_seconds();
        if (!w.db_down && now - last_beat >= hb) {
            heartbeat_all(&w);
            last_beat = now;
        }
        for (int i = 0; i < w.n;) {
            child *c = w.kids[i];
            if (c->exited && c->fd < 0 && !w.db_down && finish_child(&w, c)) {
                child_free(c);
                w.kids[i] = w.kids[--w.n];
            } else {
                i++;
            }
        }
    }
done:
    /* only on an error: children still running are stopped and requeued */
    for (int i = 0; i < w.n; i++) {
        child *c = w.kids[i];
        if (!c->exited) {
            kill(c->pid, SIGTERM);
            waitpid(c->pid, &c->status, 0);
        }
        vfr_queue_finish(q, c->id, w.name, VFR_QUEUE_QUEUED, "the worker stopped on an error; requeued", NULL);
        child_free(c);
    }
    if (st != VFR_OK)
        return st;
    if (w.stopping)
        return vfr_fail(VFR_ERR_INTERRUPTED, "worker stopped by a signal; running jobs were requeued");
    return VFR_OK;
}
