/* fuzz_common.h: what the fuzz targets share: one scratch folder per process
 * for the files a target writes its input to (vfr's readers take paths), and
 * the libFuzzer entry point every target defines. Not a test by itself: the
 * targets run under libFuzzer (tests/fuzz/README.md) or under replay_main.c,
 * which feeds them the seed corpus in ctest. */
#ifndef VFR_FUZZ_COMMON_H
#define VFR_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* <TMPDIR>/vfr-fuzz-<pid>/<name>; the folder is made on first use. */
static inline const char *fuzz_path(const char *name)
{
    static char dir[256], path[512];
    if (!dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/vfr-fuzz-%ld", t && *t ? t : "/tmp", (long)getpid());
        if (mkdir(dir, 0700) != 0 && access(dir, F_OK) != 0)
            abort();
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* Writes data to a scratch file; returns its path (valid until the next call). */
static inline const char *fuzz_file(const char *name, const uint8_t *data, size_t size)
{
    const char *p = fuzz_path(name);
    FILE *f = fopen(p, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size))
        abort();
    fclose(f);
    return p;
}

#endif
