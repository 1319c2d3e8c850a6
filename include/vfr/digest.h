/* digest.h: SHA-256 of files and buffers (OpenSSL EVP), as lowercase hex.
 * Used for dataset lineage in run manifests and content-addressed artifacts. */
#ifndef VFR_DIGEST_H
#define VFR_DIGEST_H

#include <stddef.h>

#include "vfr/status.h"

/* OUT hex: 64 hex digits + NUL. Errors: NOT_FOUND, IO. Thread-safe. */
vfr_status vfr_digest_sha256_file(const char *path, char hex[65]);
void vfr_digest_sha256(const void *data, size_t len, char hex[65]);

#endif
