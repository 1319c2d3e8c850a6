/* spawn.c: child processes without a shell (spawn.h): running a program
 * and capturing what it prints, and looking a program up on PATH. The Slurm
 * runner (sbatch, squeue, sacct, scancel) is its user; the local worker's
 * long-lived children are queue_worker.c's own (they need a death signal and
 * a log file). */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int vfri_spawn_have_program(const char *prog)
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

int vfri_spawn_capture(char *const argv[], char *out, size_t cap, char *err, size_t errcap)
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
