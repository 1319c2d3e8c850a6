/* cmd_evaluate.c: `vfr evaluate --predictions P.h5 [--json]`: scores every
 * score vector of a predictions file (classification or regression metrics,
 * IC and rank IC) on the chosen device. A thin wrapper of vfr_metrics_batch. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"
#include "vfr/dataset.h"
#include "vfr/metrics.h"
#include "vfr/predictions.h"

static const char usage[] =
    "usage: vfr evaluate --predictions P.h5 [--set NAME] [--threshold X] [--json]\n"
    "       vfr evaluate --predictions P.h5 --by-version [options]   (--by-version --help)\n\n"
    "Scores each score vector of a predictions file (docs/predictions-format.md)\n"
    "against its labels: accuracy, precision, recall, F1, ROC AUC, log loss and the\n"
    "confusion matrix (classification) or MSE, RMSE, MAE, R2, MAPE (regression),\n"
    "and per date the IC and rank IC with their mean, std and ICIR.\n"
    "Definitions: docs/metrics.md.\n\n";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of the whole process (all threads): on a shared machine the
 * wall time of a parallel step depends on the other tenants, this less so. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cmd_evaluate(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0, set = VFR_SET_TEST, have_set = 0;
    double threshold = 0.5;
    for (int i = 0; i < argc; i++)
        if (cli_flag(argv[i], "--by-version"))
            return cmd_evaluate_by_version(argc, argv);
    const cli_option opts[] = {
        {.name = "--predictions", .kind = CLI_STR, .dest = &path, .required = 1, .arg = "P.h5",
         .help = "the predictions file (required)"},
        {.name = "--set", .kind = CLI_FN, .dest = &set, .given = &have_set, .parse = cli_parse_set, .arg = "NAME",
         .help = "train, validation, test or all (default test; all for a file\nwithout sets)"},
        {.name = "--threshold", .kind = CLI_F64, .dest = &threshold, .lo = -1e300, .hi = 1e300, .arg = "X",
         .help = "classification: predict 1 when score > X (default 0.5)"},
        {.name = "--json", .kind = CLI_FLAG, .dest = &json, .help = "one JSON object on stdout"},
        {.name = "--by-version", .kind = CLI_IGNORE,
         .help = "a `vfr predict` file of an A/B test: one block per served\nversion and their paired comparison"},
        {0},
    };
    int rc = cli_parse(argc, argv, usage, opts, NULL, NULL, 0);
    if (rc)
        return rc < 0 ? 0 : rc;
    vfr_device_kind dev;
    vfr_status st = vfr_device_resolve(cli.device, &dev);
    if (st != VFR_OK)
        return cli_fail(st);
    double t0 = now();
    vfr_predictions *p = NULL;
    st = vfr_predictions_read(path, set, &p); /* the test rows, as training scored them */
    if (st == VFR_ERR_INVALID_ARG && !have_set) { /* a file without sets: every row */
        vfr_error_clear();
        set = VFR_SET_ALL;
        st = vfr_predictions_read(path, set, &p);
    }
    if (st != VFR_OK)
        return cli_fail(st);
    double t1 = now(), c1 = cpu_now();
    vfr_panel pn;
    vfr_predictions_panel(p, &pn);
    vfr_metrics_options o;
    vfr_metrics_options_default(&o);
    o.task = p->task;
    o.threshold = threshold;
    double *out = malloc(sizeof *out * (size_t)p->M * VFR_METRIC_COUNT);
    if (!out) {
        rc = cli_fail(vfr_fail(VFR_ERR_NOMEM, "evaluate: out of memory"));
        goto done;
    }
    cli_log(VFR_LOG_INFO, "scoring %d score vector(s) over %lld rows on %s", p->M, (long long)p->N,
            vfr_device_kind_str(dev));
    if ((st = vfr_metrics_batch(dev, &pn, p->score, p->M, &o, out)) != VFR_OK) {
        vfr_error_prefix("%s: ", path);
        rc = cli_fail(st);
        goto done;
    }
    double t2 = now(), c2 = cpu_now();
    char d0[11] = "", d1[11] = "";
    if (p->N) {
        vfr_date_format(p->date[0], d0);
        vfr_date_format(p->date[p->N - 1], d1);
    }
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "predictions", path);
        cJSON_AddStringToObject(j, "set", vfr_predictions_set_name(set));
        cJSON_AddStringToObject(j, "task", vfr_metrics_task_name(p->task));
        cJSON_AddStringToObject(j, "device", vfr_device_kind_str(dev));
        cJSON_AddNumberToObject(j, "rows", (double)p->N);
        cJSON_AddNumberToObject(j, "dates", p->T);
        cJSON_AddNumberToObject(j, "symbols", p->S);
        cJSON_AddStringToObject(j, "first_date", d0);
        cJSON_AddStringToObject(j, "last_date", d1);
        cJSON_AddNumberToObject(j, "horizon", p->horizon);
        if (p->task == VFR_TASK_CLASSIFICATION)
            cJSON_AddNumberToObject(j, "threshold", threshold);
        cJSON *ms = cJSON_AddArrayToObject(j, "models");
        for (int32_t m = 0; m < p->M; m++) {
            const double *row = out + (size_t)m * VFR_METRIC_COUNT;
            cJSON *e = cJSON_CreateObject(), *mt = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "name", p->score_names[m]);
            for (int k = 0; k < VFR_METRIC_COUNT; k++)
                if (vfr_metrics_applies(p->task, (vfr_metric)k)) /* NaN prints as null */
                    cJSON_AddNumberToObject(mt, vfr_metrics_name((vfr_metric)k), row[k]);
            cJSON_AddItemToObject(e, "metrics", mt);
            if (p->task == VFR_TASK_CLASSIFICATION) {
                /* scikit-learn's layout: rows are the true class 0, 1 */
                const double cm[4] = {row[VFR_METRIC_TN], row[VFR_METRIC_FP], row[VFR_METRIC_FN],
                                      row[VFR_METRIC_TP]};
                cJSON *c = cJSON_AddArrayToObject(e, "confusion_matrix");
                cJSON_AddItemToArray(c, cJSON_CreateDoubleArray(cm, 2));
                cJSON_AddItemToArray(c, cJSON_CreateDoubleArray(cm + 2, 2));
            }
            cJSON_AddItemToArray(ms, e);
        }
        cJSON *tm = cJSON_AddObjectToObject(j, "timing");
        cJSON_AddNumberToObject(tm, "read_seconds", t1 - t0);
        cJSON_AddNumberToObject(tm, "compute_seconds", t2 - t1);
        cJSON_AddNumberToObject(tm, "compute_cpu_seconds", c2 - c1);
        char *s = cJSON_Print(j);
        puts(s);
        cJSON_free(s);
        cJSON_Delete(j);
    } else {
        printf("%s: %s, %lld rows, %d dates (%s to %s), %d symbols, set %s, horizon %d\n", path,
               vfr_metrics_task_name(p->task), (long long)p->N, p->T, p->N ? d0 : "-",
               p->N ? d1 : "-", p->S, vfr_predictions_set_name(set), p->horizon);
        const int32_t cols = p->M < 8 ? p->M : 8;
        printf("  %-14s", "metric");
        for (int32_t m = 0; m < cols; m++)
            printf(" %14.14s", p->score_names[m]);
        printf("\n");
        for (int k = 0; k < VFR_METRIC_COUNT; k++) {
            if (!vfr_metrics_applies(p->task, (vfr_metric)k))
                continue;
            printf("  %-14s", vfr_metrics_name((vfr_metric)k));
            for (int32_t m = 0; m < cols; m++)
                printf(" %14.6g", out[(size_t)m * VFR_METRIC_COUNT + (size_t)k]);
            printf("\n");
        }
        if (p->M > cols)
            printf("  ... %d more score vectors: use --json for all\n", p->M - cols);
    }
done:
    free(out);
    vfr_predictions_free(p);
    return rc;
}
