/* slurm.c: `vfr submit --slurm` (queue.h): writes sbatch scripts for a job's
 * search shards (a job array) and its finalize job (afterok on the array),
 * submits them with sbatch (fork + exec, never a shell), and reads their
 * states back with squeue (sacct when it answers) for `vfr status`.
 *
 * What a script may contain: fixed text, numbers, the jobId (letters,
 * digits, '.', '_', '-': checked by the job loader and again here), option
 * values checked against a small alphabet, and paths, which are always
 * single-quoted (vfr_shell_quote). Nothing else from the job file reaches a
 * script: the scripts run a resolved copy of the job stored beside them. */
#include "queue_internal.h"
#include "slurm_internal.h"
#include "spawn.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runfolder_internal.h"
#include "util.h"

char *vfr_shell_quote(const char *s)
{
    size_t n = 2;
    for (const char *p = s; *p; p++)
        n += *p == '\'' ? 4 : 1;
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    *o++ = '\'';
    for (const char *p = s; *p; p++) {
        if (*p == '\'') {
            memcpy(o, "'\\''", 4); /* close, an escaped quote, reopen */
            o += 4;
        } else {
            *o++ = *p;
        }
    }
    *o++ = '\'';
    *o = '\0';
    return out;
}

/* A growing string. */
typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = 1;
            return;
        }
        if (b->p && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = (b->cap ? 2 * b->cap : 1024) + (size_t)k;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

/* Values that go into #SBATCH lines unquoted: a small alphabet only. */
static int safe_word(const char *s, const char *extra)
{
    if (!s || !*s || strlen(s) > 128)
        return 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(extra, *p))
            return 0;
    return 1;
}

static vfr_status abs_path(const char *p, char *out, size_t cap)
{
    char cwd[2048] = "";
    if (p[0] != '/' && !getcwd(cwd, sizeof cwd))
        return vfr_fail(VFR_ERR_IO, "slurm: cannot read the current folder: %s", strerror(errno));
    int n = p[0] == '/' ? snprintf(out, cap, "%s", p) : snprintf(out, cap, "%s/%s", cwd, p);
    if (n < 0 || (size_t)n >= cap)
        return vfr_fail(VFR_ERR_INVALID_ARG, "slurm: the path '%s' is too long", p);
    return VFR_OK;
}

/* The #SBATCH lines both scripts share. */
static void sbatch_common(sbuf *b, const vfr_slurm_options *o, int signal_s)
{
    sb_printf(b, "#SBATCH --requeue\n#SBATCH --open-mode=append\n#SBATCH --signal=B:USR1@%d\n", signal_s);
    if (o->partition)
        sb_printf(b, "#SBATCH --partition=%s\n", o->partition);
    if (o->account)
        sb_printf(b, "#SBATCH --account=%s\n", o->account);
    if (o->time_limit)
        sb_printf(b, "#SBATCH --time=%s\n", o->time_limit);
    if (o->gpus_per_shard > 0)
        sb_printf(b, "#SBATCH --gres=gpu:%d\n", o->gpus_per_shard);
}

/* How a script runs vfr: in the background, so that the batch shell can
 * take Slurm's SIGUSR1 (time limit near) and pass it on as SIGTERM; vfr
 * then stops at a clean checkpoint with exit 3 and the script requeues its
 * own job, which resumes from the trial log. scancel, preemption and
 * `scontrol requeue` signal every process of the job, vfr included, and
 * Slurm itself decides what happens next. */
static const char run_fn[] =
    "warned=0\n"
    "pid=\n"
    "trap 'warned=1; [ -n \"$pid\" ] && kill -TERM \"$pid\" 2>/dev/null' USR1\n"
    "trap '[ -n \"$pid\" ] && kill -TERM \"$pid\" 2>/dev/null' TERM\n"
    "run() {\n"
    "  \"$VFR\" \"$@\" &\n"
    "  pid=$!\n"
    "  while kill -0 \"$pid\" 2>/dev/null; do wait \"$pid\"; done\n"
    "  wait \"$pid\"\n"
    "}\n"
    "stamp() { date -u +%Y-%m-%dT%H:%M:%S.%NZ; }\n"
    "requeue_if_warned() {\n"
    "  if [ \"$1\" -eq 3 ] && [ \"$warned\" -eq 1 ]; then\n"
    "    echo \"vfr-slurm: time limit near: checkpointed; requeueing $SLURM_JOB_ID\"\n"
    "    scontrol requeue \"$SLURM_JOB_ID\"\n"
    "    exit 0\n"
    "  fi\n"
    "}\n";

static char *search_script(const vfr_job *job, const vfr_slurm_options *o, const char *qexe, const char *qjob,
                           const char *qrun, const char *qdev, int signal_s)
{
    sbuf b = {0};
    int N = o->shards;
    sb_printf(&b,
              "#!/bin/bash\n"
              "# search.sbatch: the search shards of vfr job %s, written by `vfr submit --slurm`.\n"
              "# Array task I runs `vfr tune --shard I/%d --resume` into the run folder; the\n"
              "# finalize job (finalize.sbatch) waits for every task (afterok), then merges.\n"
              "# SIGUSR1 %d s before the time limit: vfr checkpoints, the task requeues itself.\n",
              job->job_id, N, signal_s);
    sb_printf(&b, "#SBATCH --job-name=vfr-%s-search\n#SBATCH --array=0-%d\n#SBATCH --output=search-%%a.out\n",
              job->job_id, N - 1);
    sbatch_common(&b, o, signal_s);
    sb_printf(&b, "set -u\nVFR=%s\nJOB=%s\nRUN=%s\n", qexe, qjob, qrun);
    sb_printf(&b, "%s", run_fn);
    sb_printf(&b,
              "shard=${SLURM_ARRAY_TASK_ID:?run this script with sbatch: it is a job array}\n"
              "echo \"vfr-slurm: shard $shard/%d start $(stamp) restart ${SLURM_RESTART_COUNT:-0}\"\n"
              "run %stune \"$JOB\" --out \"$RUN\" --shard \"$shard/%d\" --resume --threads \"${SLURM_CPUS_ON_NODE:-1}\"\n"
              "rc=$?\n"
              "echo \"vfr-slurm: shard $shard/%d end $(stamp) exit $rc\"\n"
              "requeue_if_warned \"$rc\"\n"
              "exit \"$rc\"\n",
              N, qdev, N, N);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

static char *finalize_script(const vfr_job *job, const vfr_slurm_options *o, const char *qexe, const char *qjob,
                             const char *qrun, const char *qdev, int signal_s, int sharded)
{
    sbuf b = {0};
    int N = o->shards;
    sb_printf(&b,
              "#!/bin/bash\n"
              "# finalize.sbatch: the last step of vfr job %s, written by `vfr submit --slurm`.\n"
              "%s"
              "# `vfr train --resume` then finds every trial logged, fits the final model with\n"
              "# the best parameters, evaluates, compares, and registers/deploys as the job asks.\n",
              job->job_id,
              sharded ? "# It runs after every search shard succeeded (afterok) and merges their logs;\n" : "");
    sb_printf(&b, "#SBATCH --job-name=vfr-%s-finalize\n#SBATCH --output=finalize.out\n", job->job_id);
    sbatch_common(&b, o, signal_s);
    sb_printf(&b, "set -u\nVFR=%s\nJOB=%s\nRUN=%s\n", qexe, qjob, qrun);
    sb_printf(&b, "%s", run_fn);
    sb_printf(&b, "echo \"vfr-slurm: finalize start $(stamp) restart ${SLURM_RESTART_COUNT:-0}\"\n");
    char first[128]; /* the first shard's trial log */
    if (sharded && vfr_runfolder_shard_name(VFR_RUNFILE_TRIALS, 0, N, first, sizeof first) == VFR_OK)
        sb_printf(&b,
                  "# a finalize requeued after its train published the run finds no shard logs\n"
                  "if [ -e \"$RUN/%s\" ]; then\n"
                  "  run %stune \"$JOB\" --out \"$RUN\" --merge %d\n"
                  "  rc=$?\n"
                  "  if [ \"$rc\" -ne 0 ]; then\n"
                  "    echo \"vfr-slurm: finalize end $(stamp) exit $rc (merge)\"\n"
                  "    requeue_if_warned \"$rc\"\n"
                  "    exit \"$rc\"\n"
                  "  fi\n"
                  "fi\n",
                  first, qdev, N);
    sb_printf(&b,
              "run %strain \"$JOB\" --out \"$RUN\" --resume --threads \"${SLURM_CPUS_ON_NODE:-1}\"\n"
              "rc=$?\n"
              "echo \"vfr-slurm: finalize end $(stamp) exit $rc\"\n"
              "requeue_if_warned \"$rc\"\n"
              "exit \"$rc\"\n",
              qdev);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* argv as one shell-quoted line, for display. */
static char *quoted_line(char *const argv[])
{
    sbuf b = {0};
    for (int i = 0; argv[i]; i++) {
        char *q = vfr_shell_quote(argv[i]);
        if (!q) {
            free(b.p);
            return NULL;
        }
        /* plain words need no quotes: easier to read */
        int plain = 1;
        for (const char *p = argv[i]; *p && plain; p++)
            plain = isalnum((unsigned char)*p) || strchr("-_=.,:/@%", *p);
        sb_printf(&b, "%s%s", i ? " " : "", plain && argv[i][0] ? argv[i] : q);
        free(q);
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

static vfr_status write_script(const char *dir, const char *name, const char *text, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", dir, name);
    vfr_status st = vfri_write_file_atomic(path, text, strlen(text));
    if (st == VFR_OK && chmod(path, 0755) != 0)
        st = vfr_fail(VFR_ERR_IO, "%s: chmod: %s", path, strerror(errno));
    return st;
}

/* Runs sbatch --parsable; *id: the job id it printed. */
static vfr_status sbatch(char *const argv[], char id[64])
{
    char out[512], err[2048];
    int rc = vfri_spawn_capture(argv, out, sizeof out, err, sizeof err);
    if (rc == 127)
        return vfr_fail(VFR_ERR_NOT_FOUND, "slurm: cannot run sbatch (is Slurm installed and on PATH?)");
    if (rc != 0) {
        size_t n = strlen(err);
        while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
            err[--n] = '\0';
        return vfr_fail(VFR_ERR_IO, "sbatch failed (exit %d): %s", rc, err[0] ? err : "(no message)");
    }
    size_t k = strcspn(out, ";\n ");
    if (k == 0 || k >= 64)
        return vfr_fail(VFR_ERR_IO, "sbatch printed no job id: '%s'", out);
    for (size_t i = 0; i < k; i++)
        if (!isdigit((unsigned char)out[i]))
            return vfr_fail(VFR_ERR_IO, "sbatch printed '%s', not a job id", out);
    memcpy(id, out, k);
    id[k] = '\0';
    return VFR_OK;
}

void vfr_slurm_submission_free(vfr_slurm_submission *s)
{
    if (!s)
        return;
    free(s->search_script), free(s->finalize_script), free(s->search_cmd), free(s->finalize_cmd);
    memset(s, 0, sizeof *s);
}

/* The options and the job, checked before anything is written: names that
 * go into a script, shards only for a search that can be split, the job as
 * the queue takes it, and a jobId not already queued. */
static vfr_status check_submit(vfr_queue *q, const vfr_job *job, const vfr_slurm_options *o)
{
    if (!o || !o->exe || !o->runs_dir)
        return vfr_fail(VFR_ERR_INVALID_ARG, "slurm: no vfr binary or runs folder given");
    if (o->shards < 1 || o->shards > 10000)
        return vfr_fail(VFR_ERR_INVALID_ARG, "--shards %d: want 1-10000", o->shards);
    if (o->partition && !safe_word(o->partition, "._-,"))
        return vfr_fail(VFR_ERR_INVALID_ARG, "--partition '%s': want letters, digits, '.', '_', '-' or ','",
                        o->partition);
    if (o->account && !safe_word(o->account, "._-"))
        return vfr_fail(VFR_ERR_INVALID_ARG, "--account '%s': want letters, digits, '.', '_' or '-'", o->account);
    if (o->time_limit && (!safe_word(o->time_limit, ":-") || !isdigit((unsigned char)o->time_limit[0])))
        return vfr_fail(VFR_ERR_INVALID_ARG, "--time '%s': want [D-]HH:MM:SS, HH:MM:SS or minutes", o->time_limit);
    if (o->gpus_per_shard < 0 || o->gpus_per_shard > 64)
        return vfr_fail(VFR_ERR_INVALID_ARG, "--gpus-per-shard %d: want 0-64", o->gpus_per_shard);
    if (o->device && !safe_word(o->device, ""))
        return vfr_fail(VFR_ERR_INVALID_ARG, "--device '%s': want auto, cpu or cuda", o->device);
    if (!safe_word(job->job_id, "._-") || job->job_id[0] == '.')
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: jobId '%s' has characters a script may not hold",
                        job->path ? job->path : "job", job->job_id);
    const int sharded = job->search.enabled;
    if (!sharded && o->shards > 1)
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "%s: --shards %d needs a search block (search.*); without one, submit with --shards 1",
                        job->path ? job->path : "job", o->shards);
    if (sharded && o->shards > 1 &&
        (job->search.method == VFR_SEARCH_TPE || job->search.pruning != VFR_PRUNING_NONE))
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "%s: search.%s: %s ranks trials against each other and cannot be sharded; use --shards 1",
                        job->path ? job->path : "job", job->search.method == VFR_SEARCH_TPE ? "method" : "pruning",
                        job->search.method == VFR_SEARCH_TPE ? "bayesian (TPE)" : "successive halving");
    vfr_status st = q_check_job(job);
    if (st != VFR_OK)
        return st;
    if (!o->dry_run && q) { /* before any file is written: a running job's copy stays as it is */
        int exists = 0;
        if ((st = vfr_queue_exists(q, job->job_id, &exists)) != VFR_OK)
            return st;
        if (exists)
            return vfr_fail(VFR_ERR_DUPLICATE_JOB_ID,
                            "jobId '%s' is already in the queue %s; give the job a new jobId", job->job_id,
                            vfr_queue_dir(q));
    }
    return VFR_OK;
}

/* The submitted ids (array, finalize), the shard count and the folder,
 * recorded with the queued job. */
static vfr_status record_ids(vfr_queue *q, const vfr_job *job, const vfr_slurm_options *o,
                             const vfr_slurm_submission *out, int sharded)
{
    cJSON *sj = cJSON_CreateObject();
    if (sharded)
        cJSON_AddStringToObject(sj, "array", out->array_id);
    cJSON_AddStringToObject(sj, "finalize", out->finalize_id);
    cJSON_AddNumberToObject(sj, "shards", sharded ? o->shards : 0);
    cJSON_AddStringToObject(sj, "dir", out->dir);
    char *sjt = cJSON_PrintUnformatted(sj);
    cJSON_Delete(sj);
    if (!sjt)
        return vfr_fail(VFR_ERR_NOMEM, "slurm: out of memory");
    vfr_status st = q_set_slurm(q, job->job_id, sjt, out->run_dir);
    free(sjt);
    return st;
}

vfr_status vfr_slurm_submit(vfr_queue *q, const vfr_job *job, const vfr_slurm_options *o,
                            vfr_slurm_submission *out)
{
    memset(out, 0, sizeof *out);
    vfr_status st = VFR_OK;
    char *qexe = NULL, *qjob = NULL, *qrun = NULL, *json = NULL;
    const char *qdev = "";
    int recorded = 0;
    if ((st = check_submit(q, job, o)) != VFR_OK)
        return st;
    const int sharded = job->search.enabled, signal_s = o->signal_s > 0 ? o->signal_s : 60;
    char runs[3600], exe[3600], jobpath[4200], spath[4200], fpath[4200];
    VFR_TRY(abs_path(o->runs_dir, runs, sizeof runs));
    VFR_TRY(abs_path(o->exe, exe, sizeof exe));
    VFR_TRY(vfr_runfolder_dir(runs, job->job_id, out->run_dir, sizeof out->run_dir));
    /* Beside the run folder, not in it: vfr train replaces the run folder
     * as a whole when it finishes (keeping only the search's files), and
     * the finalize job's own log is written while it runs. */
    snprintf(out->dir, sizeof out->dir, "%s/%s.slurm", runs, job->job_id);
    if (vfri_mkdirs(out->dir) != 0 || vfri_mkdirs(out->run_dir) != 0) {
        st = vfr_fail(VFR_ERR_IO, "slurm: cannot create '%s': %s", out->dir, strerror(errno));
        goto fail;
    }
    if (!(json = vfr_job_to_json(job))) {
        st = vfr_fail(VFR_ERR_NOMEM, "slurm: out of memory");
        goto fail;
    }
    VFR_TRY(vfr_runfolder_path(out->dir, VFR_RUNFILE_JOB, jobpath, sizeof jobpath)); /* the resolved job, as a run keeps it */
    VFR_TRY(vfri_write_file_atomic(jobpath, json, strlen(json)));
    qexe = vfr_shell_quote(exe), qjob = vfr_shell_quote(jobpath), qrun = vfr_shell_quote(out->run_dir);
    char devflag[160] = "";
    if (o->device)
        snprintf(devflag, sizeof devflag, "--device '%s' ", o->device); /* safe_word checked it */
    qdev = devflag;
    if (!qexe || !qjob || !qrun) {
        st = vfr_fail(VFR_ERR_NOMEM, "slurm: out of memory");
        goto fail;
    }
    if (sharded && !(out->search_script = search_script(job, o, qexe, qjob, qrun, qdev, signal_s))) {
        st = vfr_fail(VFR_ERR_NOMEM, "slurm: out of memory");
        goto fail;
    }
    if (!(out->finalize_script = finalize_script(job, o, qexe, qjob, qrun, qdev, signal_s, sharded))) {
        st = vfr_fail(VFR_ERR_NOMEM, "slurm: out of memory");
        goto fail;
    }
    if (sharded)
        VFR_TRY(write_script(out->dir, "search.sbatch", out->search_script, spath, sizeof spath));
    VFR_TRY(write_script(out->dir, "finalize.sbatch", out->finalize_script, fpath, sizeof fpath));

    char chdir_opt[4200], dep[128];
    snprintf(chdir_opt, sizeof chdir_opt, "--chdir=%s", out->dir);
    char *sargv[] = {"sbatch", "--parsable", chdir_opt, spath, NULL};
    snprintf(dep, sizeof dep, "--dependency=afterok:%s", o->dry_run ? "<array id>" : "0");
    char *fargv[] = {"sbatch", "--parsable", chdir_opt, dep, fpath, NULL};
    char *fargv_nodep[] = {"sbatch", "--parsable", chdir_opt, fpath, NULL};
    if (sharded && !(out->search_cmd = quoted_line(sargv))) {
        st = vfr_fail(VFR_ERR_NOMEM, "slurm: out of memory");
        goto fail;
    }
    if (!(out->finalize_cmd = quoted_line(sharded ? fargv : fargv_nodep))) {
        st = vfr_fail(VFR_ERR_NOMEM, "slurm: out of memory");
        goto fail;
    }
    if (o->dry_run)
        goto done;
    if (!q) {
        st = vfr_fail(VFR_ERR_INVALID_ARG, "slurm: no queue to record the job in");
        goto fail;
    }
    vfr_queue_submit_options so = {.priority = -1, .source = "slurm", .slurm = 1};
    VFR_TRY(q_insert(q, job->job_id, json, (int)job->priority, &so));
    recorded = 1;
    if (sharded) {
        VFR_TRY(sbatch(sargv, out->array_id));
        snprintf(dep, sizeof dep, "--dependency=afterok:%s", out->array_id);
        free(out->finalize_cmd);
        out->finalize_cmd = quoted_line(fargv);
        vfr_status fs = sbatch(fargv, out->finalize_id);
        if (fs != VFR_OK) {
            /* no finalize: the shards would run for nothing */
            char err[1200];
            snprintf(err, sizeof err, "%s", vfr_last_error());
            char *cargv[] = {"scancel", out->array_id, NULL};
            char o1[64], e1[256];
            vfri_spawn_capture(cargv, o1, sizeof o1, e1, sizeof e1);
            st = vfr_fail(fs, "%s (the search array %s was cancelled)", err, out->array_id);
            goto fail;
        }
    } else {
        VFR_TRY(sbatch(fargv_nodep, out->finalize_id));
    }
    VFR_TRY(record_ids(q, job, o, out, sharded));
done:
    free(qexe), free(qjob), free(qrun), free(json);
    return VFR_OK;
fail:
    if (recorded) { /* the queue says why; the caller still gets the detail */
        char msg[1400];
        snprintf(msg, sizeof msg, "%s", vfr_last_error());
        q_set_final(q, job->job_id, VFR_QUEUE_FAILED, msg, NULL);
        vfr_fail(st, "%s", msg);
    }
    vfr_slurm_submission_free(out); /* nothing half-made goes back */
    free(qexe), free(qjob), free(qrun), free(json);
    return st;
}

/* ---- states ---- */

static const char *slurm_to_vfr(const char *s)
{
    if (!strcmp(s, "COMPLETED"))
        return "completed";
    if (!strcmp(s, "CANCELLED"))
        return "cancelled";
    if (!strcmp(s, "PENDING") || !strcmp(s, "REQUEUED") || !strcmp(s, "REQUEUE_HOLD") ||
        !strcmp(s, "REQUEUE_FED") || !strcmp(s, "SUSPENDED") || !strcmp(s, "CONFIGURING"))
        return "queued";
    if (!strcmp(s, "RUNNING") || !strcmp(s, "COMPLETING") || !strcmp(s, "RESIZING") || !strcmp(s, "SIGNALING") ||
        !strcmp(s, "STAGE_OUT"))
        return "running";
    return "failed"; /* FAILED TIMEOUT NODE_FAIL OUT_OF_MEMORY BOOT_FAIL DEADLINE PREEMPTED ... */
}

static void slurm_ids(const vfr_queue_job *j, char array[64], char fin[64])
{
    array[0] = fin[0] = '\0';
    cJSON *o = j->slurm_json ? cJSON_Parse(j->slurm_json) : NULL;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "array");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "finalize");
    if (cJSON_IsString(a))
        snprintf(array, 64, "%s", a->valuestring);
    if (cJSON_IsString(f))
        snprintf(fin, 64, "%s", f->valuestring);
    cJSON_Delete(o);
}

vfr_status vfri_slurm_cancel(const vfr_queue_job *j)
{
    char array[64], fin[64], out[256], err[1024];
    slurm_ids(j, array, fin);
    if (!array[0] && !fin[0])
        return VFR_OK; /* never reached sbatch */
    char *argv[4];
    int k = 0;
    argv[k++] = "scancel";
    if (array[0])
        argv[k++] = array;
    if (fin[0])
        argv[k++] = fin;
    argv[k] = NULL;
    int rc = vfri_spawn_capture(argv, out, sizeof out, err, sizeof err);
    if (rc == 127)
        return vfr_fail(VFR_ERR_NOT_FOUND, "cancel %s: cannot run scancel", j->id);
    if (rc != 0)
        return vfr_fail(VFR_ERR_IO, "scancel %s %s failed (exit %d): %s", array, fin, rc, err);
    return VFR_OK;
}

vfr_status vfr_slurm_refresh(vfr_queue *q, const char *id, char **states_json)
{
    *states_json = NULL;
    vfr_queue_job *j = NULL;
    vfr_status st = vfr_queue_get(q, id, &j);
    if (st != VFR_OK)
        return st;
    cJSON *arr = cJSON_CreateArray();
    char array[64], fin[64];
    slurm_ids(j, array, fin);
    if (!j->slurm || (!array[0] && !fin[0]))
        goto out;
    char ids[160];
    snprintf(ids, sizeof ids, "%s%s%s", array, array[0] && fin[0] ? "," : "", fin);
    char *buf = malloc(1 << 16), err[1024];
    if (!buf) {
        st = vfr_fail(VFR_ERR_NOMEM, "slurm: out of memory");
        goto out;
    }
    const char *fin_state = NULL;
    char fin_buf[64] = "", fin_reason[128] = "";
    int running = 0, pending = 0, bad = 0;
    if (vfri_spawn_have_program("squeue")) {
        char *argv[] = {"squeue", "-h", "-r", "-t", "all", "-o", "%i|%T|%r", "-j", ids, NULL};
        if (vfri_spawn_capture(argv, buf, 1 << 16, err, sizeof err) == 0) {
            char *save = NULL;
            for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *p1 = strchr(line, '|'), *p2 = p1 ? strchr(p1 + 1, '|') : NULL;
                if (!p1 || !p2)
                    continue;
                *p1 = *p2 = '\0';
                cJSON *e = cJSON_CreateObject();
                cJSON_AddStringToObject(e, "id", line);
                const char *us = strchr(line, '_');
                char role[32];
                if (strcmp(line, fin) == 0)
                    snprintf(role, sizeof role, "finalize");
                else
                    snprintf(role, sizeof role, "shard %s", us ? us + 1 : "?");
                cJSON_AddStringToObject(e, "role", role);
                cJSON_AddStringToObject(e, "state", p1 + 1);
                cJSON_AddStringToObject(e, "reason", p2 + 1);
                cJSON_AddItemToArray(arr, e);
                const char *v = slurm_to_vfr(p1 + 1);
                if (strcmp(line, fin) == 0) {
                    snprintf(fin_buf, sizeof fin_buf, "%s", p1 + 1);
                    snprintf(fin_reason, sizeof fin_reason, "%s", p2 + 1);
                    fin_state = fin_buf;
                }
                running += strcmp(v, "running") == 0;
                pending += strcmp(v, "queued") == 0;
                bad += strcmp(line, fin) != 0 && (strcmp(v, "failed") == 0 || strcmp(v, "cancelled") == 0);
            }
        }
    }
    if (!fin_state && fin[0] && vfri_spawn_have_program("sacct")) {
        /* squeue forgets finished jobs after MinJobAge; accounting keeps them */
        char *argv[] = {"sacct", "-n", "-P", "-X", "-o", "JobID,State", "-j", fin, NULL};
        if (vfri_spawn_capture(argv, buf, 1 << 16, err, sizeof err) == 0) {
            char *bar = strchr(buf, '|');
            if (bar) {
                char *end = bar + 1 + strcspn(bar + 1, " \n");
                *end = '\0';
                snprintf(fin_buf, sizeof fin_buf, "%s", bar + 1);
                fin_state = fin_buf;
                cJSON *e = cJSON_CreateObject();
                cJSON_AddStringToObject(e, "id", fin);
                cJSON_AddStringToObject(e, "role", "finalize");
                cJSON_AddStringToObject(e, "state", fin_buf);
                cJSON_AddStringToObject(e, "source", "sacct");
                cJSON_AddItemToArray(arr, e);
            }
        }
    }
    free(buf);
    if (j->state == VFR_QUEUE_QUEUED || j->state == VFR_QUEUE_RUNNING) {
        const char *v = fin_state ? slurm_to_vfr(fin_state) : NULL;
        char *result = NULL;
        if (v && strcmp(v, "completed") == 0) {
            vfr_queue_result_from_run(j->run_dir ? j->run_dir : "", &result);
            st = q_set_final(q, id, VFR_QUEUE_COMPLETED, NULL, result);
        } else if (v && (strcmp(v, "failed") == 0 || strcmp(v, "cancelled") == 0)) {
            char why[400];
            snprintf(why, sizeof why, "the finalize job %s ended %s; see %s", fin, fin_state,
                     j->slurm_json ? "its .out file beside the scripts" : "Slurm's log");
            st = q_set_final(q, id, strcmp(v, "cancelled") == 0 ? VFR_QUEUE_CANCELLED : VFR_QUEUE_FAILED, why,
                             NULL);
        } else if (fin_state && strcmp(fin_reason, "DependencyNeverSatisfied") == 0) {
            char why[400];
            snprintf(why, sizeof why, "a search shard failed, so the finalize job %s can never run; scancel %s", fin,
                     fin);
            st = q_set_final(q, id, VFR_QUEUE_FAILED, why, NULL);
        } else if (!fin_state && j->run_dir) {
            /* Slurm no longer knows the jobs: judge by the run folder */
            char mp[4400];
            struct stat sb;
            if (vfr_runfolder_path(j->run_dir, VFR_RUNFILE_METRICS, mp, sizeof mp) == VFR_OK && stat(mp, &sb) == 0 &&
                (double)sb.st_mtime + 1 >= j->submitted_at && vfr_queue_result_from_run(j->run_dir, &result) == VFR_OK)
                st = q_set_final(q, id, VFR_QUEUE_COMPLETED, NULL, result);
        } else if (running > 0 || pending > 0) {
            char step[96];
            snprintf(step, sizeof step, "slurm: %d run, %d wait%s", running, pending, bad ? ", a shard failed" : "");
            const char *ns = running > 0 || j->state == VFR_QUEUE_RUNNING ? "running" : "queued";
            st = db_exec(q->db, NULL,
                         "UPDATE jobs SET state = ?, step = ?, started_at = CASE WHEN ? = 'running' "
                         "THEN coalesce(started_at, ?) ELSE started_at END "
                         "WHERE id = ? AND state IN ('queued', 'running')",
                         "sssds", ns, step, ns, q_now(), id);
        }
        free(result);
    }
out:
    if (st == VFR_OK && !(*states_json = cJSON_PrintUnformatted(arr)))
        st = vfr_fail(VFR_ERR_NOMEM, "slurm: out of memory");
    cJSON_Delete(arr);
    vfr_queue_job_free(j);
    return st;
}
