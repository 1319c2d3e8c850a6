/* util.h: small helpers shared inside the library (not public API). */
#ifndef VFR_UTIL_H
#define VFR_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vfr/status.h"

/* The candidate closest to `word` by edit distance, if it is within 3 edits;
 * else NULL. For "did you mean ...?" in messages about unknown keys. */
const char *vfri_closest(const char *word, const char *const *cands, size_t n);

/* Finds a string that appears twice in v[0..n) in O(n log n) (sort, then
 * neighbours). Returns 1 with *first < *second the entries of the earliest
 * repeat (smallest *second), 0 when all differ, -1 when out of memory. */
int vfri_find_duplicate(const char *const *v, int64_t n, int64_t *first, int64_t *second);

/* Opens path for reading only if it is a regular file, so that a FIFO, a
 * device or a folder given where a file is expected is refused at once
 * instead of blocking or failing later. Returns NULL with errno set (EINVAL
 * for "not a regular file"). */
FILE *vfri_fopen_regular(const char *path);

/* The failure of opening path for reading, from errno: NOT_FOUND (ENOENT),
 * INVALID_ARG "not a regular file" (EINVAL from vfri_fopen_regular), IO. */
vfr_status vfri_fail_open(const char *path);

/* The 1-based line of the first NUL in JSON text of len bytes, raw or
 * escaped as \u0000 inside a string (cJSON would cut the string there,
 * silently), or 0 when there is none. */
int vfri_json_nul_line(const char *text, size_t len);

/* A malloc'd copy of s (NULL on allocation failure). */
char *vfri_strdup(const char *s);

/* Reads a whole file into a NUL-terminated malloc'd buffer. Returns 0 and
 * sets *len, or -1 with errno set. */
int vfri_read_file(const char *path, char **data, size_t *len);


/* Removes a directory tree (files and folders below it, then itself).
 * Returns 0, or -1 with errno set. A missing path is not an error. */
int vfri_remove_tree(const char *path);

/* Creates a directory and its parents (mode 0755). Returns 0 or -1. */
int vfri_mkdirs(const char *path);

/* The current time as "YYYY-MM-DDTHH:MM:SSZ" (UTC). */
void vfri_utc_now(char out[32]);

/* Seconds on a monotonic clock. */
double vfri_seconds(void);

/* Writes len bytes to path through a temporary file, fsync and rename, so a
 * reader sees the old file or the new one, never a half. Errors: IO. */
vfr_status vfri_write_file_atomic(const char *path, const void *data, size_t len);

struct cJSON;
/* o[k] = v, or null when v is not finite (NaN has no JSON form). */
void vfri_json_num(struct cJSON *o, const char *k, double v);

/* MAJOR.MINOR.PATCH, digits only, no leading zeros, each part <= max_part. */
vfr_status vfri_semver_parse(const char *s, int32_t max_part, int32_t v[3]);

#endif
