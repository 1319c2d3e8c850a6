/* util.h: small helpers shared inside the library (not public API). */
#ifndef VFR_UTIL_H
#define VFR_UTIL_H

#include <stddef.h>

/* The candidate closest to `word` by edit distance, if it is within 3 edits;
 * else NULL. For "did you mean ...?" in messages about unknown keys. */
const char *vfr_closest(const char *word, const char *const *cands, size_t n);

/* A malloc'd copy of s (NULL on allocation failure). */
char *vfr_strdup(const char *s);

/* Reads a whole file into a NUL-terminated malloc'd buffer. Returns 0 and
 * sets *len, or -1 with errno set. */
int vfr_read_file(const char *path, char **data, size_t *len);

#endif
