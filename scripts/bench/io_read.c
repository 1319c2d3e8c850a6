/* io_read.c: vfr's side of the I/O benchmark (scripts/bench/io.sh).
 * Opens a dataset and reads its whole feature matrix into a fresh malloc'd
 * buffer, REPS times, printing one line per repetition:
 *     rep <i> open_s <s> read_s <s> rows <N> features <F> checksum <sum>
 * The checksum (sum of finite values, in row order, in double) lets io.py
 * check that vfr and h5py read the same numbers. A benchmark tool, not part
 * of the library: it prints, and exits 1 on any failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "vfr/dataset.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s FILE.h5 [REPS]\n", argv[0]);
        return 2;
    }
    long reps = argc == 3 ? strtol(argv[2], NULL, 10) : 5;
    if (reps < 1)
        reps = 1;
    for (long r = 0; r < reps; r++) {
        vfr_dataset *ds = NULL;
        double t0 = now_s();
        vfr_status st = vfr_dataset_open(argv[1], &ds);
        if (st != VFR_OK) {
            fprintf(stderr, "io_read: %s: %s\n", vfr_status_str(st), vfr_last_error());
            return 1;
        }
        double t1 = now_s();
        const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
        /* fresh buffer every time, like numpy's: its page faults are part of a read */
        float *x = malloc(sizeof(float) * (size_t)m->N * (size_t)(m->F ? m->F : 1));
        if (!x) {
            fprintf(stderr, "io_read: out of memory for %lld x %d floats\n", (long long)m->N, m->F);
            vfr_dataset_close(ds);
            return 1;
        }
        st = vfr_dataset_read_features(ds, 0, m->N, x);
        double t2 = now_s();
        if (st != VFR_OK) {
            fprintf(stderr, "io_read: %s: %s\n", vfr_status_str(st), vfr_last_error());
            free(x);
            vfr_dataset_close(ds);
            return 1;
        }
        double sum = 0.0;
        for (size_t i = 0; i < (size_t)m->N * (size_t)m->F; i++)
            if (isfinite(x[i]))
                sum += x[i];
        printf("rep %ld open_s %.6f read_s %.6f rows %lld features %d checksum %.6f\n", r, t1 - t0,
               t2 - t1, (long long)m->N, m->F, sum);
        fflush(stdout);
        free(x);
        vfr_dataset_close(ds);
    }
    return 0;
}
