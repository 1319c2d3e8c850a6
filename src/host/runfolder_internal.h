/* runfolder_internal.h: the library's side of the run folder (not public
 * API; the contract is vfr/runfolder.h): JSON files read and written by their
 * name in the folder, the search's files moved between folders, and run
 * folders assembled under a temporary name and published in one atomic
 * step, with the leftovers of killed runs cleaned up.
 *
 * A run for <parent>/<name> is written in <parent>/.<name>.tmp.<pid>/ (with an
 * .owner file: host and pid), then swapped with the previous run by one
 * rename(2) with RENAME_EXCHANGE, so that at every instant <parent>/<name> is
 * one complete run (the old one, then the new one). */
#ifndef VFR_RUNFOLDER_INTERNAL_H
#define VFR_RUNFOLDER_INTERNAL_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "vfr/runfolder.h"
#include "vfr/status.h"

/* OUT out[cap]: <dir>/<name>, for files named by someone else (the model
 * artifact: vfr_model_artifact_name). Errors: INVALID_ARG (name empty or
 * with a '/', or the path does not fit). */
vfr_status vfri_runfolder_path_named(const char *dir, const char *name, char *out, size_t cap);

/* Reads the JSON file f of dir. OUT *out: the document (cJSON_Delete), or
 * NULL when the file is absent and not required (then VFR_OK).
 * Errors: NOT_FOUND (absent and required) or IO, with the path and "is this
 * a finished `vfr train` run folder?"; INVALID_ARG (not a regular file);
 * FORMAT (a NUL character in a string, or not valid JSON); NOMEM. */
vfr_status vfri_runfolder_read_json(const char *dir, vfr_runfile f, int required, cJSON **out);

/* Writes o (pretty-printed) or text as the file f of dir, through a
 * temporary file renamed into place. Errors: INVALID_ARG (path), NOMEM, IO. */
vfr_status vfri_runfolder_write_json(const char *dir, vfr_runfile f, const cJSON *o);
vfr_status vfri_runfolder_write_text(const char *dir, vfr_runfile f, const char *text);

/* Moves the search's own files (trials.jsonl, search.json) that exist in
 * from into to, replacing them there. Errors: IO (naming both folders),
 * INVALID_ARG (path). */
vfr_status vfri_runfolder_move_search(const char *from, const char *to);

/* Removes stale leftovers of runs for dst: .<name>.tmp.<pid>/ folders whose
 * process is gone (judged on this host only: a folder another host owns is
 * left alone), and restores or removes <name>.old.<pid>/ folders of the
 * former two-step publish. Returns how many it removed or restored. */
int vfri_run_clean_stale(const char *dst);

/* Cleans stale leftovers, then creates the temporary folder for dst (and
 * its parents) with its .owner file. OUT tmp[cap]: its path. Errors: IO. */
vfr_status vfri_run_tmp_create(const char *dst, char *tmp, size_t cap);

/* Publishes the finished folder tmp as dst: swapped with the previous run in
 * one step where the file system can (Linux renameat2 RENAME_EXCHANGE:
 * ext4, xfs, btrfs, tmpfs), then the previous run removed; a plain rename
 * when there is no previous run. Elsewhere the previous run is moved aside
 * first, and a kill in between is repaired by vfri_run_clean_stale. On
 * failure dst is untouched and tmp stays for the caller to remove. */
vfr_status vfri_run_publish(const char *tmp, const char *dst);

#endif
