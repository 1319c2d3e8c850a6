/* spawn.h: child processes without a shell (not public API): what the Slurm
 * runner uses to call sbatch, squeue, sacct and scancel. */
#ifndef VFR_SPAWN_H
#define VFR_SPAWN_H

#include <stddef.h>

/* Runs argv (argv[0] looked up on PATH) without a shell, capturing up to
 * cap - 1 bytes of stdout (NUL-terminated) and stderr into err. Returns
 * the exit status (0-255), 127 when it cannot be started, or 128 + signal. */
int vfri_spawn_capture(char *const argv[], char *out, size_t cap, char *err, size_t errcap);
/* 1 when prog is on PATH. */
int vfri_spawn_have_program(const char *prog);

#endif
