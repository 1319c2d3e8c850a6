/* cmd_status.c: `vfr status [JOB]` (the queue's jobs: state, progress, step,
 * timings, result, error, Slurm ids and states) and `vfr cancel JOB`. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "vfr/queue.h"

static const char status_help[] =
    "usage: vfr status [JOB] [--json] [--queue DIR]\n\n"
    "Without JOB: one line per job. With JOB: its state (queued, running,\n"
    "completed, failed, cancelled), progress and current step, attempts,\n"
    "timings, result summary (metrics, registered version, deploy decision),\n"
    "error, Slurm job ids and states (squeue; sacct when it answers), and its\n"
    "events.\n\n";

static const char cancel_help[] =
    "usage: vfr cancel JOB [--queue DIR]\n\n"
    "A queued job is cancelled at once. A running job's worker stops it with\n"
    "SIGTERM at its next heartbeat (a clean checkpoint), then marks it cancelled.\n"
    "A Slurm job is cancelled with scancel.\n\n";

#define QUEUE_OPTION                                                                                          \
    {.name = "--queue", .kind = CLI_STR, .dest = &queue, .arg = "DIR",                                        \
     .help = "the queue: a folder or postgresql://... (default $VFR_QUEUE, else ./vfr-queue)"}

static double run_seconds(const vfr_queue_job *j)
{
    if (j->started_at <= 0)
        return NAN;
    if (j->finished_at >= j->started_at)
        return j->finished_at - j->started_at;
    if (j->state == VFR_QUEUE_RUNNING) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec - j->started_at;
    }
    return NAN;
}

/* One line of the result: the main test metrics, Sharpe, decision, version. */
static void result_line(const char *json, char *out, size_t cap)
{
    out[0] = '\0';
    cJSON *r = json ? cJSON_Parse(json) : NULL;
    if (!r)
        return;
    size_t n = 0;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(r, "metrics");
    static const char *keys[] = {"accuracy", "roc_auc", "f1", "rmse", "ic"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0] && n < cap; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, keys[k]);
        if (cJSON_IsNumber(v))
            n += (size_t)snprintf(out + n, cap - n, "%s%s %.4f", n ? ", " : "", keys[k], v->valuedouble);
    }
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "backtest"), "sharpe");
    if (cJSON_IsNumber(sh) && n < cap)
        n += (size_t)snprintf(out + n, cap - n, "%ssharpe %.2f", n ? ", " : "", sh->valuedouble);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "decision"), "shouldDeploy");
    if (d && n < cap)
        n += (size_t)snprintf(out + n, cap - n, "%sdeploy %s", n ? ", " : "", cJSON_IsTrue(d) ? "yes" : "no");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(r, "registeredVersion");
    if (cJSON_IsString(ver) && n < cap)
        snprintf(out + n, cap - n, "%sregistered %s", n ? ", " : "", ver->valuestring);
    cJSON_Delete(r);
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "-";
}

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void print_detail(const char *text, const char *slurm_states)
{
    cJSON *o = cJSON_Parse(text);
    if (!o)
        return;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "timings");
    printf("job %s: %s%s\n", jstr(o, "id"), jstr(o, "state"),
           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "cancelRequested")) ? " (cancel asked)" : "");
    printf("  priority %s, attempts %.0f, progress %.0f%%, step %s, runner %s\n", jstr(o, "priority"), jnum(o, "attempts"),
           jnum(o, "progress"), jstr(o, "step"), jstr(o, "runner"));
    printf("  submitted %s, started %s, finished %s, heartbeat %s\n", jstr(t, "submitted"), jstr(t, "started"),
           jstr(t, "finished"), jstr(t, "heartbeat"));
    if (!isnan(jnum(t, "runSeconds")))
        printf("  ran %.1f s after waiting %.1f s\n", jnum(t, "runSeconds"), jnum(t, "waitSeconds"));
    if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "worker")))
        printf("  worker %s\n", jstr(o, "worker"));
    printf("  run folder %s\n", jstr(o, "runDir"));
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "result");
    if (cJSON_IsObject(r)) {
        char *rt = cJSON_PrintUnformatted(r), line[512];
        result_line(rt, line, sizeof line);
        printf("  result: %s\n", line);
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(r, "decision");
        if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(d, "reason")))
            printf("  decision: %s\n", jstr(d, "reason"));
        free(rt);
    }
    if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "error")))
        printf("  error: %s\n", jstr(o, "error"));
    const cJSON *sl = cJSON_GetObjectItemCaseSensitive(o, "slurm");
    if (cJSON_IsObject(sl)) {
        printf("  slurm: array %s, finalize %s, scripts %s\n", jstr(sl, "array"), jstr(sl, "finalize"), jstr(sl, "dir"));
        cJSON *st = slurm_states ? cJSON_Parse(slurm_states) : NULL;
        const cJSON *e;
        cJSON_ArrayForEach(e, st)
            printf("    %-14s %-10s %-12s %s\n", jstr(e, "id"), jstr(e, "role"), jstr(e, "state"), jstr(e, "reason"));
        if (!cJSON_GetArraySize(st))
            printf("    (squeue lists none of them now)\n");
        cJSON_Delete(st);
    }
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(o, "events"), *e;
    if (cJSON_GetArraySize(ev))
        printf("  events:\n");
    cJSON_ArrayForEach(e, ev)
        printf("    %s %-10s %s\n", jstr(e, "ts"), jstr(e, "event"),
               cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "detail")) ? jstr(e, "detail") : "");
    cJSON_Delete(o);
}

/* For a Slurm job still in flight: ask Slurm, record what it says.
 * OUT *states: its Slurm jobs' states (JSON) or NULL. */
static vfr_status refresh(vfr_queue *q, vfr_queue_job **j, char **states)
{
    *states = NULL;
    if (!(*j)->slurm)
        return VFR_OK;
    vfr_status st = vfr_slurm_refresh(q, (*j)->id, states);
    if (st != VFR_OK)
        return st;
    char id[sizeof (*j)->id];
    memcpy(id, (*j)->id, sizeof id);
    vfr_queue_job_free(*j);
    *j = NULL;
    return vfr_queue_get(q, id, j);
}

static char *with_states(char *text, const char *states)
{
    if (!states)
        return text;
    cJSON *o = cJSON_Parse(text), *s = cJSON_Parse(states);
    if (!o || !s) {
        cJSON_Delete(o), cJSON_Delete(s);
        return text;
    }
    cJSON_AddItemToObject(o, "slurmJobs", s);
    char *t = cJSON_Print(o);
    cJSON_Delete(o);
    if (!t)
        return text;
    free(text);
    return t;
}

int cmd_status(int argc, char **argv)
{
    const char *queue = vfr_queue_default_dir(), *id = NULL;
    int json = 0;
    const cli_option opts[] = {
        {.name = "--json", .kind = CLI_FLAG, .dest = &json, .help = "JSON: an object for JOB, else an array of them"},
        QUEUE_OPTION,
        {0},
    };
    int rc = cli_parse(argc, argv, status_help, opts, NULL, &id, 1);
    if (rc)
        return rc < 0 ? 0 : rc;
    vfr_queue *q;
    vfr_status st = vfr_queue_open(queue, 0, &q);
    if (st != VFR_OK)
        return cli_fail(st);
    if (id) {
        vfr_queue_job *j = NULL;
        char *states = NULL, *text = NULL;
        if ((st = vfr_queue_get(q, id, &j)) == VFR_OK && (st = refresh(q, &j, &states)) == VFR_OK) {
            text = with_states(vfr_queue_job_to_json(q, j, 1), states);
            if (!text)
                st = vfr_fail(VFR_ERR_NOMEM, "status: out of memory");
            else if (json)
                puts(text);
            else
                print_detail(text, states);
        }
        free(text), free(states);
        vfr_queue_job_free(j);
        vfr_queue_close(q);
        return st == VFR_OK ? 0 : cli_fail(st);
    }
    vfr_queue_job **jobs = NULL;
    int64_t n = 0;
    if ((st = vfr_queue_list(q, &jobs, &n)) != VFR_OK)
        goto done;
    if (json)
        puts("[");
    else if (n == 0)
        printf("queue %s is empty\n", vfr_queue_dir(q));
    else
        printf("%-28s %-10s %-7s %4s %5s  %-22s %8s  %s\n", "JOB", "STATE", "PRIO", "ATT", "PROG", "STEP", "RUN(S)",
               "RESULT / ERROR");
    for (int64_t i = 0; i < n; i++) {
        char *states = NULL;
        if (jobs[i]->slurm && (jobs[i]->state == VFR_QUEUE_QUEUED || jobs[i]->state == VFR_QUEUE_RUNNING) &&
            (st = refresh(q, &jobs[i], &states)) != VFR_OK)
            goto done;
        if (json) {
            char *t = with_states(vfr_queue_job_to_json(q, jobs[i], 0), states);
            printf("%s%s\n", t ? t : "null", i + 1 < n ? "," : "");
            free(t);
        } else {
            char res[512] = "";
            if (jobs[i]->error && jobs[i]->state != VFR_QUEUE_COMPLETED)
                snprintf(res, sizeof res, "%s", jobs[i]->error);
            else
                result_line(jobs[i]->result_json, res, sizeof res);
            double rs = run_seconds(jobs[i]);
            char run[32];
            if (isnan(rs))
                snprintf(run, sizeof run, "-");
            else
                snprintf(run, sizeof run, "%.1f", rs);
            printf("%-28s %-10s %-7s %4d %4.0f%%  %-22.22s %8s  %s\n", jobs[i]->id,
                   vfr_queue_state_name(jobs[i]->state), vfr_queue_priority_name(jobs[i]->priority),
                   (int)jobs[i]->attempts, jobs[i]->progress, jobs[i]->step, run, res);
        }
        free(states);
    }
    if (json)
        puts("]");
done:
    vfr_queue_list_free(jobs, n);
    vfr_queue_close(q);
    return st == VFR_OK ? 0 : cli_fail(st);
}

int cmd_cancel(int argc, char **argv)
{
    const char *queue = vfr_queue_default_dir(), *id = NULL;
    const cli_option opts[] = {QUEUE_OPTION, {0}};
    int rc = cli_parse(argc, argv, cancel_help, opts, NULL, &id, 1);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!id)
        return cli_usage_error("which job? vfr cancel JOB");
    vfr_queue *q;
    vfr_status st = vfr_queue_open(queue, 0, &q);
    if (st != VFR_OK)
        return cli_fail(st);
    vfr_queue_state now;
    if ((st = vfr_queue_cancel(q, id, &now)) == VFR_OK) {
        if (now == VFR_QUEUE_CANCELLED)
            printf("cancelled %s\n", id);
        else
            printf("%s: cancel asked; its worker stops it (SIGTERM) at its next heartbeat\n", id);
    }
    vfr_queue_close(q);
    return st == VFR_OK ? 0 : cli_fail(st);
}
