/* digest.c: SHA-256 through OpenSSL's EVP interface, streamed for files. */
#include "vfr/digest.h"

#include "util.h"
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static void to_hex(const unsigned char *md, char hex[65])
{
    static const char d[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = d[md[i] >> 4];
        hex[2 * i + 1] = d[md[i] & 15];
    }
    hex[64] = '\0';
}

void vfr_digest_sha256(const void *data, size_t len, char hex[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    to_hex(md, hex);
}

vfr_status vfr_digest_sha256_file(const char *path, char hex[65])
{
    FILE *f = vfri_fopen_regular(path);
    if (!f)
        return vfr_fail(errno == ENOENT ? VFR_ERR_NOT_FOUND : errno == EINVAL ? VFR_ERR_INVALID_ARG : VFR_ERR_IO,
                        "%s: %s", path, errno == EINVAL ? "not a regular file" : strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    static _Thread_local unsigned char buf[1 << 16];
    size_t got;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    while (ok && (got = fread(buf, 1, sizeof buf, f)) > 0)
        ok = EVP_DigestUpdate(ctx, buf, got) == 1;
    ok = ok && !ferror(f);
    unsigned char md[32];
    unsigned int n = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, md, &n) == 1;
    EVP_MD_CTX_free(ctx);
    fclose(f);
    if (!ok)
        return vfr_fail(VFR_ERR_IO, "%s: reading for SHA-256 failed", path);
    to_hex(md, hex);
    return VFR_OK;
}
