/* runfolder.h: run folders assembled under a temporary name and published in
 * one atomic step, and the leftovers of killed runs cleaned up (not public API).
 *
 * A run for <parent>/<name> is written in <parent>/.<name>.tmp.<pid>/ (with an
 * .owner file: host and pid), then swapped with the previous run by one
 * rename(2) with RENAME_EXCHANGE, so that at every instant <parent>/<name> is
 * one complete run (the old one, then the new one). */
#ifndef VFR_RUNFOLDER_H
#define VFR_RUNFOLDER_H

#include <stddef.h>

#include "vfr/status.h"

/* Removes stale leftovers of runs for dst: .<name>.tmp.<pid>/ folders whose
 * process is gone (judged on this host only: a folder another host owns is
 * left alone), and restores or removes <name>.old.<pid>/ folders of the
 * former two-step publish. Returns how many it removed or restored. */
int vfr_run_clean_stale(const char *dst);

/* Cleans stale leftovers, then creates the temporary folder for dst (and
 * its parents) with its .owner file. OUT tmp[cap]: its path. Errors: IO. */
vfr_status vfr_run_tmp_create(const char *dst, char *tmp, size_t cap);

/* Publishes the finished folder tmp as dst: swapped with the previous run in
 * one step where the file system can (Linux renameat2 RENAME_EXCHANGE:
 * ext4, xfs, btrfs, tmpfs), then the previous run removed; a plain rename
 * when there is no previous run. Elsewhere the previous run is moved aside
 * first, and a kill in between is repaired by vfr_run_clean_stale. On
 * failure dst is untouched and tmp stays for the caller to remove. */
vfr_status vfr_run_publish(const char *tmp, const char *dst);

#endif
