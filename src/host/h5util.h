/* h5util.h: HDF5 helpers shared by vfr's file formats (not public API).
 * Handles are int64_t (hid_t) so that callers need not include hdf5.h. */
#ifndef VFR_H5UTIL_H
#define VFR_H5UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "vfr/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VFR_H5_MAX_STRING 4096 /* bytes in one fixed-length string          */
#define VFR_H5_MAX_RATIO 1100  /* deflate's best ratio is about 1032:1      */

/* Return 0 on success, -1 on failure; the caller names the file and field
 * in its error (HDF5 has no message worth passing on). */
void vfri_h5_quiet(void);
void vfri_h5_free_strings(char **v, int64_t n);
int vfri_h5_write_string_attr(int64_t obj, const char *name, const char *value);
int vfri_h5_write_int_attr(int64_t obj, const char *name, int32_t value);
int vfri_h5_write_double_attr(int64_t obj, const char *name, double value);
int vfri_h5_read_string_attr(int64_t obj, const char *name, char *buf, size_t cap);
/* Every reader checks the attribute's class and shape first: a string
 * attribute is one string (scalar or one point), at most VFR_H5_MAX_STRING
 * bytes when fixed-length; a number attribute is one integer or float
 * (converted); vfri_h5_read_int_attrs wants exactly n integers. */
int vfri_h5_read_int_attr(int64_t obj, const char *name, int32_t *value);
int vfri_h5_read_int_attrs(int64_t obj, const char *name, int32_t *v, int64_t n);
/* 1 if dataset id can really hold npoints elements of its type: unfiltered
 * storage has every byte, deflated storage is at most VFR_H5_MAX_RATIO
 * times smaller. 0 for a file that declares more than it stores, checked
 * before allocating room for what it declares. */
int vfri_h5_stored_plausibly(int64_t id, uint64_t npoints);
int vfri_h5_read_double_attr(int64_t obj, const char *name, double *value);
int vfri_h5_write_strings(int64_t file, const char *name, const char *const *v, int64_t n);
/* Reads a 1-d string dataset of n entries into *out (malloc'ed strings). */
int vfri_h5_read_strings(int64_t file, const char *name, int64_t n, char ***out);
/* Creates and writes a dataset of rank 1 or 2 (dims[rank]) from memory of
 * type memtype, stored as filetype, chunked and deflated when compression > 0. */
int vfri_h5_write_array(int64_t file, const char *name, int64_t filetype,
                                    int64_t memtype, int rank, const uint64_t *dims, const void *buf, int compression);
/* Creates a file at a temporary name beside path; *tmp is malloc'ed. */
int64_t vfri_h5_create_tmp(const char *path, char **tmp);
/* Closes file, fsyncs and renames tmp to path; removes tmp on failure. */
vfr_status vfri_h5_commit(int64_t file, char *tmp, const char *path);
/* Closes file (if open) and removes tmp. */
void vfri_h5_abort(int64_t file, char *tmp);

#ifdef __cplusplus
}
#endif

#endif
