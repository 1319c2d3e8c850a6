/* train.c: a small program that uses the installed libvfr through pkg-config.
 *
 *   cc train.c -o train $(pkg-config --cflags --libs vfr)
 *   ./train DATASET.h5 JOB.json OUT_DIR
 *
 * Opens a dataset and prints its shape, trains the job (the same run as
 * `vfr train JOB.json --out OUT_DIR`, on the CPU) and prints the run's
 * metrics.json on stdout. Errors go to stderr with vfr's status and message,
 * and the exit code is vfr's (2 bad input, 1 runtime). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfr/vfr.h>

static int fail(vfr_status st, const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", what, vfr_status_str(st), vfr_last_error());
    return vfr_status_exit_code(st);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s DATASET.h5 JOB.json OUT_DIR\n", argv[0]);
        return 2;
    }

    vfr_dataset *ds = NULL;
    vfr_status st = vfr_dataset_open(argv[1], &ds);
    if (st != VFR_OK)
        return fail(st, "open dataset");
    const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
    char first[11], last[11];
    vfr_date_format(m->date_first, first);
    vfr_date_format(m->date_last, last);
    fprintf(stderr, "dataset: %lld rows, %d features, %d symbols, %d dates (%s to %s)\n",
            (long long)m->N, (int)m->F, (int)m->S, (int)m->T, first, last);
    vfr_dataset_close(ds);

    vfr_job *job = NULL;
    st = vfr_job_load(argv[2], &job);
    if (st != VFR_OK)
        return fail(st, "load job");
    vfr_train_options opt;
    memset(&opt, 0, sizeof opt);
    opt.out_dir = argv[3];
    opt.device = VFR_DEVICE_CPU;
    vfr_train_result res;
    memset(&res, 0, sizeof res);
    st = vfr_train_run(job, &opt, &res);
    vfr_job_free(job);
    if (st != VFR_OK)
        return fail(st, "train");
    fprintf(stderr, "run folder: %s\n", res.run_dir);
    fputs(res.metrics_json, stdout);
    free(res.metrics_json);
    return 0;
}
