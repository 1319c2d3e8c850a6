#define _GNU_SOURCE /* syscall, renameat2's flags */
/* runfolder.c: atomic publish of run folders and cleanup of killed runs'
 * leftovers (runfolder.h). Not the run's content: train.c writes that. */
#include "runfolder.h"
#include "util.h"

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

int vfr_run_clean_stale(const char *dst)
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
        if (vfr_remove_tree(path) == 0)
            done++;
    }
    closedir(d);
    return done;
}

vfr_status vfr_run_tmp_create(const char *dst, char *tmp, size_t cap)
{
    char parent[4200], host[256], owner[4400], text[300];
    const char *base;
    split_path(dst, parent, sizeof parent, &base);
    if (vfr_mkdirs(parent) != 0)
        return vfr_fail(VFR_ERR_IO, "%s: cannot create the folder: %s", parent, strerror(errno));
    vfr_run_clean_stale(dst);
    snprintf(tmp, cap, "%s/.%s.tmp.%ld", parent, base, (long)getpid());
    if (vfr_mkdirs(tmp) != 0) {
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
        vfr_remove_tree(tmp);
        return st;
    }
    return VFR_OK;
}

vfr_status vfr_run_publish(const char *tmp, const char *dst)
{
    char owner[4400];
    snprintf(owner, sizeof owner, "%s/" OWNER_FILE, tmp);
    unlink(owner); /* the published run carries no owner */
    if (syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_EXCHANGE) == 0) {
        /* tmp now holds the previous run; a kill before it is removed
         * leaves a stale tmp folder for the next run to clean */
        vfr_remove_tree(tmp);
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
                vfr_remove_tree(old);
            return VFR_OK;
        }
        e = errno;
        if (had_old)
            rename(old, dst);
    }
    return vfr_fail(VFR_ERR_IO, "%s: cannot rename the finished run into place: %s", dst, strerror(e));
}
