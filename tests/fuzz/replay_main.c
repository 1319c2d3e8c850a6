/* replay_main.c: runs a fuzz target over files and folders of inputs (the
 * seed corpus, or crashes found by libFuzzer), without libFuzzer, so that the
 * corpus is replayed in every ctest pass, sanitizers included. Exits 1 when
 * an argument cannot be read; a crash is the target's own abort, and so is a
 * peak memory over 1.5 GB (what a forged size declaration would cost). */
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "fuzz_common.h"
#include "util.h"

#define REPLAY_MAX_RSS_KB (1536 * 1024)

static int one(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *nb = realloc(buf, cap);
            if (!nb)
                abort();
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    /* a small input must not make vfr allocate what a file merely declares
     * (libFuzzer runs check this with -rss_limit_mb) */
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0 && ru.ru_maxrss > REPLAY_MAX_RSS_KB) {
        fprintf(stderr, "replay: %s: peak memory %ld kB over %d kB\n", path, ru.ru_maxrss, REPLAY_MAX_RSS_KB);
        abort();
    }
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            fprintf(stderr, "replay: %s: not found\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(sb.st_mode)) {
            files += one(argv[i]) == 0;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
            files += one(p) == 0;
        }
        if (d)
            closedir(d);
    }
    if (files == 0) {
        fprintf(stderr, "replay: no inputs\n");
        return 1;
    }
    char dir[600];
    snprintf(dir, sizeof dir, "%s", fuzz_path(""));
    vfri_remove_tree(dir);
    printf("replay: %d inputs, no crash\n", files);
    return 0;
}
