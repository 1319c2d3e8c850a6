/* lstm_bench.c: vfr's side of the LSTM benchmark (lstm.sh, gpu-lstm.sh): times
 * epochs of vfr_model_fit on a synthetic panel, through the public model API,
 * so that the sequence gather, standardisation, loss, clipping and Adam are
 * all counted. Prints one JSON object per measurement on stdout.
 *
 *   vfr_bench_lstm cpu|cuda [--sequences N] [--epochs E]
 *       one fit of E epochs (default 1) over N sequences (default 200000):
 *       L = 20, F = 50, units 64 -> 32, batch 64, dropout 0.3
 *   vfr_bench_lstm cuda-multi [--models M] [--sequences N]
 *       M configurations (learning rate, dropout, seed) trained one at a time,
 *       then all at once from M threads (one CUDA stream each); the gain is
 *       the throughput ratio */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vfr/model.h"

enum { L = 20, F = 50, SYMBOLS = 100 };

static float *X, *Y;
static int64_t *prev, n_rows;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* SYMBOLS symbols x T dates, T chosen so that `sequences` rows have a full
 * history of L rows; random features and labels (speed, not learning). */
static int make_panel(int64_t sequences)
{
    int64_t T = (sequences + SYMBOLS - 1) / SYMBOLS + L - 1;
    n_rows = T * SYMBOLS;
    X = malloc(sizeof(float) * n_rows * F);
    Y = malloc(sizeof(float) * n_rows);
    prev = malloc(sizeof(int64_t) * n_rows);
    if (!X || !Y || !prev)
        return -1;
    uint64_t s = 12345;
    for (int64_t i = 0; i < n_rows * F; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        X[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 2 - 1);
    }
    for (int64_t r = 0; r < n_rows; r++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        Y[r] = (float)(s >> 63);
        prev[r] = r >= SYMBOLS ? r - SYMBOLS : -1;
    }
    return 0;
}

typedef struct job {
    vfr_device_kind dev;
    int epochs;
    double lr, dropout;
    uint64_t seed;
    double seconds;
    vfr_status st;
    char err[256];
} job;

static void *run(void *arg)
{
    job *j = arg;
    char params[256];
    snprintf(params, sizeof params,
             "{\"lookback\": %d, \"units\": [64, 32], \"dropout\": %g, \"learning_rate\": %g, \"batch_size\": 64, "
             "\"epochs\": %d, \"clip_norm\": 1.0}",
             L, j->dropout, j->lr, j->epochs);
    vfr_model_config cfg = {"lstm", params, VFR_OBJECTIVE_DIRECTION, j->dev, j->seed, F, NULL, 0, NULL};
    vfr_model *m = NULL;
    vfr_dataview *v = NULL;
    vfr_fit_result res;
    double t0 = now();
    j->st = vfr_model_create(&cfg, &m);
    if (j->st == VFR_OK)
        j->st = vfr_dataview_create(X, Y, n_rows, F, &v);
    if (j->st == VFR_OK) {
        vfr_dataview_set_history(v, X, 0, prev);
        j->st = vfr_model_fit(m, v, NULL, NULL, &res);
    }
    j->seconds = now() - t0;
    if (j->st != VFR_OK)
        snprintf(j->err, sizeof j->err, "%s", vfr_last_error());
    vfr_dataview_destroy(v);
    vfr_model_destroy(m);
    return NULL;
}

static int64_t arg_int(int argc, char **argv, const char *name, int64_t def)
{
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return strtoll(argv[i + 1], NULL, 10);
    return def;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "cpu") && strcmp(argv[1], "cuda") && strcmp(argv[1], "cuda-multi"))) {
        fprintf(stderr, "usage: vfr_bench_lstm cpu|cuda|cuda-multi [--sequences N] [--epochs E] [--models M]\n");
        return 2;
    }
    int64_t n = arg_int(argc, argv, "--sequences", 200000);
    int epochs = (int)arg_int(argc, argv, "--epochs", 1);
    int models = (int)arg_int(argc, argv, "--models", 8);
    if (n < 1 || epochs < 1 || models < 1 || models > 64 || make_panel(n) != 0) {
        fprintf(stderr, "vfr_bench_lstm: bad arguments or out of memory\n");
        return 2;
    }
    int multi = strcmp(argv[1], "cuda-multi") == 0;
    vfr_device_kind dev = strcmp(argv[1], "cpu") == 0 ? VFR_DEVICE_CPU : VFR_DEVICE_CUDA;
    if (dev == VFR_DEVICE_CUDA) { /* context creation and cuDNN's first-call setup, not timed */
        int64_t keep = n_rows;
        n_rows = SYMBOLS * (L + 63);
        job warm = {dev, 1, 0.001, 0.3, 1, 0, VFR_OK, ""};
        run(&warm);
        n_rows = keep;
        if (warm.st != VFR_OK) {
            fprintf(stderr, "vfr_bench_lstm: %s: %s\n", vfr_status_str(warm.st), warm.err);
            return 1;
        }
    }
    if (!multi) {
        job j = {dev, epochs, 0.001, 0.3, 1, 0, VFR_OK, ""};
        run(&j);
        if (j.st != VFR_OK) {
            fprintf(stderr, "vfr_bench_lstm: %s: %s\n", vfr_status_str(j.st), j.err);
            return 1;
        }
        printf("{\"impl\": \"vfr\", \"device\": \"%s\", \"sequences\": %lld, \"epochs\": %d, \"seconds\": %.3f, "
               "\"seconds_per_epoch\": %.3f}\n",
               argv[1], (long long)n, epochs, j.seconds, j.seconds / epochs);
        return 0;
    }
    job *jobs = calloc((size_t)models, sizeof *jobs);
    pthread_t *th = calloc((size_t)models, sizeof *th);
    if (!jobs || !th)
        return 1;
    for (int k = 0; k < models; k++)
        jobs[k] = (job){VFR_DEVICE_CUDA, 1, 0.0005 * (1 + k % 4), k < models / 2 ? 0.2 : 0.3, (uint64_t)k + 1,
                        0, VFR_OK, ""};
    double t0 = now();
    for (int k = 0; k < models; k++)
        run(&jobs[k]);
    double serial = now() - t0;
    t0 = now();
    for (int k = 0; k < models; k++)
        pthread_create(&th[k], NULL, run, &jobs[k]);
    for (int k = 0; k < models; k++)
        pthread_join(th[k], NULL);
    double together = now() - t0;
    for (int k = 0; k < models; k++)
        if (jobs[k].st != VFR_OK) {
            fprintf(stderr, "vfr_bench_lstm: model %d: %s: %s\n", k, vfr_status_str(jobs[k].st), jobs[k].err);
            return 1;
        }
    printf("{\"impl\": \"vfr\", \"device\": \"cuda\", \"models\": %d, \"sequences\": %lld, \"one_at_a_time_s\": %.3f, "
           "\"concurrent_s\": %.3f, \"gain\": %.2f}\n",
           models, (long long)n, serial, together, serial / together);
    free(jobs), free(th);
    return 0;
}
