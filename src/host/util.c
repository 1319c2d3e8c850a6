#define _XOPEN_SOURCE 700 /* nftw */
/* util.c: edit distance for suggestions, strdup, whole-file reads. */
#include "util.h"

#include <cjson/cJSON.h>
#include <math.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64];
    if (la >= 63 || lb >= 63)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] == b[j - 1] ? 0 : 1);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *vfri_closest(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t bd = 4;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(word, cands[i]);
        if (d < bd) {
            bd = d;
            best = cands[i];
        }
    }
    return best;
}

char *vfri_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

typedef struct {
    const char *s;
    int64_t i;
} named_index;

static int cmp_named(const void *a, const void *b)
{
    const named_index *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

int vfri_find_duplicate(const char *const *v, int64_t n, int64_t *first, int64_t *second)
{
    *first = *second = -1;
    if (n < 2)
        return 0;
    named_index *ix = malloc(sizeof *ix * (size_t)n);
    if (!ix)
        return -1;
    for (int64_t i = 0; i < n; i++)
        ix[i] = (named_index){v[i], i};
    qsort(ix, (size_t)n, sizeof *ix, cmp_named);
    for (int64_t k = 1; k < n; k++)
        /* within a run of equal names the first two are the earliest pair */
        if (strcmp(ix[k].s, ix[k - 1].s) == 0 && (k < 2 || strcmp(ix[k - 1].s, ix[k - 2].s) != 0) &&
            (*second < 0 || ix[k].i < *second)) {
            *first = ix[k - 1].i;
            *second = ix[k].i;
        }
    free(ix);
    return *second >= 0;
}

FILE *vfri_fopen_regular(const char *path)
{
    /* O_NONBLOCK: opening a FIFO with no writer must not wait for one */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat sb;
    int bad = fstat(fd, &sb) != 0 ? errno : !S_ISREG(sb.st_mode) ? EINVAL : 0;
    if (bad) {
        close(fd);
        errno = bad;
        return NULL;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "rb");
    if (!f)
        close(fd);
    return f;
}

int vfri_json_nul_line(const char *text, size_t len)
{
    int line = 1, in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '\0')
            return line;
        if (c == '\n')
            line++;
        if (!in_str) {
            in_str = c == '"';
            continue;
        }
        if (c == '"') {
            in_str = 0;
        } else if (c == '\\' && i + 1 < len) {
            if (text[i + 1] == 'u' && i + 5 < len && strncmp(text + i + 2, "0000", 4) == 0)
                return line;
            i++; /* the escaped character */
        }
    }
    return 0;
}

vfr_status vfri_fail_open(const char *path)
{
    int e = errno;
    if (e == EINVAL)
        return vfr_fail(VFR_ERR_INVALID_ARG, "%s: not a regular file (a FIFO, device or folder)", path);
    return vfr_fail(e == ENOENT ? VFR_ERR_NOT_FOUND : VFR_ERR_IO, "%s: %s", path, strerror(e));
}

int vfri_read_file(const char *path, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    FILE *f = vfri_fopen_regular(path);
    if (!f)
        return -1;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        free(buf);
        errno = buf ? EIO : ENOMEM;
        return -1;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

static int remove_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

int vfri_remove_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return errno == ENOENT ? 0 : -1;
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int vfri_mkdirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        buf[i] = c;
    }
    return 0;
}

void vfri_utc_now(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

double vfri_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

vfr_status vfri_write_file_atomic(const char *path, const void *data, size_t len)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return vfr_fail(VFR_ERR_IO, "%s: cannot create '%s'", path, tmp);
    int ok = fwrite(data, 1, len, f) == len && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return vfr_fail(VFR_ERR_IO, "%s: write failed (disk full?)", path);
    }
    return VFR_OK;
}

void vfri_json_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

/* Below both the job (modelVersion) and the registry, which owns the rule
 * (vfr_registry_parse_semver passes its part limit). */
vfr_status vfri_semver_parse(const char *s, int32_t max_part, int32_t v[3])
{
    const char *p = s ? s : "";
    int k = 0;
    while (k < 3) {
        if (*p < '0' || *p > '9')
            break;
        if (*p == '0' && p[1] >= '0' && p[1] <= '9')
            break; /* leading zero */
        int32_t x = 0, digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 7)
            x = x * 10 + (*p++ - '0'), digits++;
        if (x > max_part)
            break;
        v[k++] = x;
        if (k < 3) {
            if (*p != '.')
                break;
            p++;
        }
    }
    if (k != 3 || *p)
        return vfr_fail(VFR_ERR_INVALID_ARG, "version '%s': want MAJOR.MINOR.PATCH, e.g. 1.0.0",
                        s ? s : "");
    return VFR_OK;
}
