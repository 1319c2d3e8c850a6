#define _GNU_SOURCE /* syscall, renameat2's flags */
/* runfolder.c: atomic publish of run folders and cleanup of killed runs'
 * leftovers (runfolder.h). Not the run's content: train.c writes that. */
#include "runfolder_internal.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

#define OWNER_FILE ".owner"

#define RETURN_IF_FAILED(expr)          \
    do {                                \
        vfr_status st_ = (expr);        \
        if (st_ != VFR_OK)              \
            return st_;                 \
    } while (0)

/* ---- names and paths -------------------------------------------------------- */

static const char *const file_names[VFR_RUNFILE_COUNT] = {
    [VFR_RUNFILE_JOB] = "job.json",
    [VFR_RUNFILE_QUALITY] = "quality.json",
    [VFR_RUNFILE_PROCESSORS] = "processors.json",
    [VFR_RUNFILE_SPLIT] = "split.json",
    [VFR_RUNFILE_PREDICTIONS] = "predictions.h5",
    [VFR_RUNFILE_METRICS] = "metrics.json",
    [VFR_RUNFILE_BACKTEST] = "backtest.h5",
    [VFR_RUNFILE_CPCV_PATHS] = "cpcv_paths.h5",
    [VFR_RUNFILE_PROBE] = "probe.h5",
    [VFR_RUNFILE_LOG] = "log.jsonl",
    [VFR_RUNFILE_MANIFEST] = "manifest.json",
    [VFR_RUNFILE_COMPARISON] = "comparison.json",
    [VFR_RUNFILE_SEARCH] = "search.json",
    [VFR_RUNFILE_TRIALS] = "trials.jsonl",
    [VFR_RUNFILE_REGISTRY] = "registry.json",
    [VFR_RUNFILE_REPORT] = "report.html",
};

const char *vfr_runfolder_file_name(vfr_runfile f)
{
    return (int)f >= 0 && f < VFR_RUNFILE_COUNT ? file_names[f] : NULL;
}

vfr_status vfri_runfolder_path_named(const char *dir, const char *name, char *out, size_t cap)
{
    if (cap)
        out[0] = '\0';
    if (!name || !*name || strchr(name, '/'))
        return vfr_fail(VFR_ERR_INVALID_ARG, "run folder: '%s' is not a file name", name ? name : "");
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) {
        if (cap)
            out[0] = '\0';
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s/%s: path too long (over %zu bytes)", dir, name, cap ? cap - 1 : 0);
    }
    return VFR_OK;
}

vfr_status vfr_runfolder_dir(const char *runs, const char *job_id, char *out, size_t cap)
{
    return vfri_runfolder_path_named(runs ? runs : "runs", job_id, out, cap);
}

vfr_status vfr_runfolder_path(const char *dir, vfr_runfile f, char *out, size_t cap)
{
    const char *name = vfr_runfolder_file_name(f);
    if (!name)
        return vfr_fail(VFR_ERR_INVALID_ARG, "run folder: no file %d", (int)f);
    return vfri_runfolder_path_named(dir, name, out, cap);
}

vfr_status vfr_runfolder_shard_name(vfr_runfile f, int i, int n, char *out, size_t cap)
{
    if (f != VFR_RUNFILE_TRIALS && f != VFR_RUNFILE_SEARCH)
        return vfr_fail(VFR_ERR_INVALID_ARG, "run folder: only the search's files are sharded");
    const char *name = file_names[f], *ext = strchr(name, '.');
    int k = n > 1 ? snprintf(out, cap, "%.*s.shard-%d-of-%d%s", (int)(ext - name), name, i, n, ext)
                  : snprintf(out, cap, "%s", name);
    if (k < 0 || (size_t)k >= cap)
        return vfr_fail(VFR_ERR_INVALID_ARG, "run folder: shard %d of %d of %s: name too long", i, n, name);
    return VFR_OK;
}

vfr_status vfr_runfolder_shard_path(const char *dir, vfr_runfile f, int i, int n, char *out, size_t cap)
{
    char name[128];
    vfr_status st = vfr_runfolder_shard_name(f, i, n, name, sizeof name);
    return st == VFR_OK ? vfri_runfolder_path_named(dir, name, out, cap) : st;
}

/* ---- reading and writing ---------------------------------------------------- */

vfr_status vfr_runfolder_read(const char *dir, vfr_runfile f, char **text, size_t *len)
{
    char path[8400];
    size_t n = 0;
    *text = NULL;
    vfr_status st = vfr_runfolder_path(dir, f, path, sizeof path);
    if (st != VFR_OK) {
        errno = ENAMETOOLONG;
        return st;
    }
    if (vfri_read_file(path, text, &n) != 0) {
        int e = errno;
        vfr_status st = e == ENOMEM ? vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", path) : vfri_fail_open(path);
        errno = e;
        return st;
    }
    if (len)
        *len = n;
    return VFR_OK;
}

vfr_status vfr_runfolder_check_finished(const char *dir)
{
    static const vfr_runfile need[] = {VFR_RUNFILE_JOB, VFR_RUNFILE_MANIFEST, VFR_RUNFILE_METRICS};
    for (size_t k = 0; k < sizeof need / sizeof need[0]; k++) {
        char path[8400];
        RETURN_IF_FAILED(vfr_runfolder_path(dir, need[k], path, sizeof path));
        if (access(path, R_OK) != 0)
            return vfr_fail(VFR_ERR_NOT_FOUND, "%s: no %s: not a finished `vfr train` run folder", dir,
                            file_names[need[k]]);
    }
    return VFR_OK;
}

vfr_status vfri_runfolder_read_json(const char *dir, vfr_runfile f, int required, cJSON **out)
{
    char path[8400], *buf;
    size_t len;
    *out = NULL;
    RETURN_IF_FAILED(vfr_runfolder_path(dir, f, path, sizeof path));
    if (vfri_read_file(path, &buf, &len) != 0) {
        if (errno == ENOENT && !required)
            return VFR_OK;
        if (errno == EINVAL)
            return vfri_fail_open(path);
        if (errno == ENOMEM)
            return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory", path);
        return vfr_fail(errno == ENOENT ? VFR_ERR_NOT_FOUND : VFR_ERR_IO, "%s: %s%s", path, strerror(errno),
                        errno == ENOENT ? " (is this a finished `vfr train` run folder?)" : "");
    }
    int nul = vfri_json_nul_line(buf, len);
    if (nul) {
        free(buf);
        return vfr_fail(VFR_ERR_FORMAT, "%s: line %d: a string holds a NUL character", path, nul);
    }
    *out = cJSON_Parse(buf);
    free(buf);
    if (!*out)
        return vfr_fail(VFR_ERR_FORMAT, "%s: not valid JSON", path);
    return VFR_OK;
}

vfr_status vfri_runfolder_write_text(const char *dir, vfr_runfile f, const char *text)
{
    char path[8400];
    RETURN_IF_FAILED(vfr_runfolder_path(dir, f, path, sizeof path));
    return vfri_write_file_atomic(path, text, strlen(text));
}

vfr_status vfri_runfolder_write_json(const char *dir, vfr_runfile f, const cJSON *o)
{
    char *s = cJSON_Print(o);
    if (!s)
        return vfr_fail(VFR_ERR_NOMEM, "%s: out of memory writing %s", dir, vfr_runfolder_file_name(f));
    vfr_status st = vfri_runfolder_write_text(dir, f, s);
    free(s);
    return st;
}

vfr_status vfri_runfolder_move_search(const char *from, const char *to)
{
    static const vfr_runfile keep[] = {VFR_RUNFILE_TRIALS, VFR_RUNFILE_SEARCH};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        char a[8400], b[8400];
        RETURN_IF_FAILED(vfr_runfolder_path(from, keep[i], a, sizeof a));
        RETURN_IF_FAILED(vfr_runfolder_path(to, keep[i], b, sizeof b));
        if (access(a, F_OK) == 0 && rename(a, b) != 0)
            return vfr_fail(VFR_ERR_IO, "%s: cannot move %s to %s: %s", from, file_names[keep[i]], to,
                            strerror(errno));
    }
    return VFR_OK;
}

/* ---- the split document ----------------------------------------------------- */

/* One set of a fold: its date ranges with dates and rows each, and totals. */
static void add_set(cJSON *fold, const char *name, const vfr_range *r, int32_t n, const vfr_prepared *p)
{
    cJSON *set = cJSON_AddObjectToObject(fold, name);
    cJSON *ranges = cJSON_AddArrayToObject(set, "ranges");
    int64_t rows = 0;
    for (int32_t i = 0; i < n; i++) {
        char a[11], b[11];
        int64_t r0, r1;
        vfr_date_format(p->dates[r[i].lo], a);
        vfr_date_format(p->dates[r[i].hi - 1], b);
        vfr_prepared_rows(p, r[i].lo, r[i].hi, &r0, &r1);
        rows += r1 - r0;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "start", a);
        cJSON_AddStringToObject(e, "end", b);
        cJSON_AddNumberToObject(e, "dates", r[i].hi - r[i].lo);
        cJSON_AddNumberToObject(e, "rows", (double)(r1 - r0));
        cJSON_AddItemToArray(ranges, e);
    }
    cJSON_AddNumberToObject(set, "dates", vfr_range_count(r, n));
    cJSON_AddNumberToObject(set, "rows", (double)rows);
}

vfr_status vfr_runfolder_split_json(const vfr_job *job, const vfr_prepared *p, const vfr_split *sp, char **json)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "method", vfr_job_enum_name("split.method", (int)job->split.method));
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
        add_set(fo, "train", f->train, f->n_train, p);
        add_set(fo, "validation", f->val, f->n_val, p);
        add_set(fo, "test", f->test, f->n_test, p);
        cJSON_AddNumberToObject(fo, "purgedDates", f->purged);
        cJSON_AddNumberToObject(fo, "embargoedDates", f->embargoed);
        cJSON_AddNumberToObject(fo, "unusedDates", f->unused);
        cJSON_AddItemToArray(folds, fo);
    }
    *json = cJSON_Print(o);
    cJSON_Delete(o);
    return *json ? VFR_OK : vfr_fail(VFR_ERR_NOMEM, "split document: out of memory");
}

/* ---- publishing ------------------------------------------------------------- */

/* dst -> parent folder and base name. */
static void split_path(const char *dst, char *parent, size_t pcap, const char **base)
{
    const char *slash = strrchr(dst, '/');
    if (slash == dst)
        snprintf(parent, pcap, "/");
    else
        snprintf(parent, pcap, "%.*s", slash ? (int)(slash - dst) : 1, slash ? dst : ".");
    *base = slash ? slash + 1 : dst;
}

static void host_name(char *out, size_t cap)
{
    if (gethostname(out, cap - 1) != 0)
        snprintf(out, cap, "?");
    out[cap - 1] = '\0';
}

/* 1 when the process that owns folder dir (named with pid) may still be at
 * work: it is alive here, or the folder names another host as its owner. */
static int owner_alive(const char *dir, long pid)
{
    char path[4900], host[256], me[256];
    snprintf(path, sizeof path, "%s/" OWNER_FILE, dir);
    FILE *f = fopen(path, "r");
    if (f) {
        long fpid = 0;
        int n = fscanf(f, "%255s %ld", host, &fpid);
        fclose(f);
        host_name(me, sizeof me);
        if (n == 2 && strcmp(host, me) != 0)
            return 1;
    }
    if (pid == (long)getpid())
        return 1;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* name == prefix followed by a pid (digits only): the pid, else -1. */
static long pid_suffix(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0 || !name[n])
        return -1;
    long pid = 0;
    for (const char *p = name + n; *p; p++) {
        if (*p < '0' || *p > '9' || pid > 100000000)
            return -1;
        pid = pid * 10 + (*p - '0');
    }
    return pid;
}

int vfri_run_clean_stale(const char *dst)
{
    char parent[4200], tmp_prefix[600], old_prefix[600];
    const char *base;
    split_path(dst, parent, sizeof parent, &base);
    snprintf(tmp_prefix, sizeof tmp_prefix, ".%s.tmp.", base);
    snprintf(old_prefix, sizeof old_prefix, "%s.old.", base);
    DIR *d = opendir(parent);
    if (!d)
        return 0;
    int done = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid = pid_suffix(e->d_name, tmp_prefix);
        int is_old = 0;
        if (pid < 0 && (pid = pid_suffix(e->d_name, old_prefix)) >= 0)
            is_old = 1;
        if (pid < 0)
            continue;
        char path[4800];
        snprintf(path, sizeof path, "%s/%s", parent, e->d_name);
        struct stat sb;
        if (lstat(path, &sb) != 0 || !S_ISDIR(sb.st_mode) || owner_alive(path, pid))
            continue;
        /* a previous run moved aside by a publish that was killed before
         * the new one came in: it is the run, so it goes back */
        if (is_old && access(dst, F_OK) != 0 && errno == ENOENT && rename(path, dst) == 0) {
            done++;
            continue;
        }
        if (vfri_remove_tree(path) == 0)
            done++;
    }
    closedir(d);
    return done;
}

vfr_status vfri_run_tmp_create(const char *dst, char *tmp, size_t cap)
{
    char parent[4200], host[256], owner[4400], text[300];
    const char *base;
    split_path(dst, parent, sizeof parent, &base);
    if (vfri_mkdirs(parent) != 0)
        return vfr_fail(VFR_ERR_IO, "%s: cannot create the folder: %s", parent, strerror(errno));
    vfri_run_clean_stale(dst);
    int len = snprintf(tmp, cap, "%s/.%s.tmp.%ld", parent, base, (long)getpid());
    if (len < 0 || (size_t)len >= cap) {
        tmp[0] = '\0';
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: path too long for the run folder's temporary name", dst);
    }
    if (vfri_mkdirs(tmp) != 0) {
        vfr_status st = vfr_fail(VFR_ERR_IO, "%s: cannot create the run folder: %s", tmp, strerror(errno));
        rmdir(tmp);
        return st;
    }
    host_name(host, sizeof host);
    snprintf(owner, sizeof owner, "%s/" OWNER_FILE, tmp);
    int n = snprintf(text, sizeof text, "%s %ld\n", host, (long)getpid());
    int fd = open(owner, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ok = fd >= 0 && write(fd, text, (size_t)n) == (ssize_t)n;
    if (fd >= 0)
        close(fd);
    if (!ok) {
        vfr_status st = vfr_fail(VFR_ERR_IO, "%s: cannot write: %s", owner, strerror(errno));
        vfri_remove_tree(tmp);
        return st;
    }
    return VFR_OK;
}

vfr_status vfri_run_publish(const char *tmp, const char *dst)
{
    char owner[4400];
    snprintf(owner, sizeof owner, "%s/" OWNER_FILE, tmp);
    unlink(owner); /* the published run carries no owner */
    if (syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_EXCHANGE) == 0) {
        /* tmp now holds the previous run; a kill before it is removed
         * leaves a stale tmp folder for the next run to clean */
        vfri_remove_tree(tmp);
        return VFR_OK;
    }
    int e = errno;
    if (e == ENOENT && access(tmp, F_OK) == 0) { /* no previous run */
        if (rename(tmp, dst) == 0)
            return VFR_OK;
        e = errno;
    } else if (e == EINVAL || e == ENOSYS || e == EOPNOTSUPP) {
        /* no exchange here: previous run aside, new one in, old one out */
        char old[4400];
        snprintf(old, sizeof old, "%s.old.%ld", dst, (long)getpid());
        int had_old = rename(dst, old) == 0;
        if (!had_old && errno != ENOENT)
            return vfr_fail(VFR_ERR_IO, "%s: cannot move the previous run aside: %s", dst, strerror(errno));
        if (rename(tmp, dst) == 0) {
            if (had_old)
                vfri_remove_tree(old);
            return VFR_OK;
        }
        e = errno;
        if (had_old)
            rename(old, dst);
    }
    return vfr_fail(VFR_ERR_IO, "%s: cannot rename the finished run into place: %s", dst, strerror(e));
}
