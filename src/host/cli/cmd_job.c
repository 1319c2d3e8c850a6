/* cmd_job.c: `vfr job show`, `vfr prepare` and `vfr split`: a job file
 * resolved, its data-quality report, and its folds with their dates. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vfr/job.h"
#include "vfr/prepare.h"
#include "vfr/runfolder.h"
#include "vfr/split.h"

static const char help_job[] =
    "usage: vfr job show JOB.json\n\n"
    "Validates a job file and prints it resolved: every default filled in, the\n"
    "dataset path made relative to the current folder. Keys: docs/job-config.md.\n\n";

static const char help_prepare[] =
    "usage: vfr prepare JOB.json [--json]\n\n"
    "Runs the job's data-quality gate on its dataset and prints the report: rows\n"
    "and symbols in, dropped and why, the quality distribution.\n\n";

static const char help_split[] =
    "usage: vfr split JOB.json [--json]\n\n"
    "Prepares the job's data and prints every set of every fold of its split:\n"
    "date ranges, row counts, purged and embargoed dates (docs/job-config.md).\n\n";

/* Parses `JOB.json [--json]`; returns 0 to go on, or an exit code + 1. */
static int parse(int argc, char **argv, const char *help, const char **job, int *json)
{
    *job = NULL;
    *json = 0;
    const cli_option opts[] = {{.name = "--json", .kind = CLI_FLAG, .dest = json, .help = "print JSON"}, {0}};
    int rc = cli_parse(argc, argv, help, opts, NULL, job, 1);
    if (rc)
        return rc < 0 ? 1 : rc + 1;
    if (!*job)
        return cli_usage_error("which job file?") + 1;
    return 0;
}

int cmd_job(int argc, char **argv)
{
    const char *path;
    int json, rc;
    if (argc >= 1 && cli_is_help(argv[0]))
        return parse(argc, argv, help_job, &path, &json) - 1; /* prints the help */
    if (argc < 1 || strcmp(argv[0], "show") != 0)
        return cli_usage_error("vfr job show JOB.json");
    rc = parse(argc - 1, argv + 1, help_job, &path, &json);
    if (rc)
        return rc - 1;
    vfr_job *job;
    vfr_status st = vfr_job_load(path, &job);
    if (st != VFR_OK)
        return cli_fail(st);
    char *s = vfr_job_to_json(job);
    puts(s ? s : "{}");
    free(s);
    vfr_job_free(job);
    return 0;
}

/* Loads the job, opens its dataset and prepares the panel. */
static vfr_status load_prepared(const char *path, vfr_job **job, vfr_prepared **panel, char **report)
{
    vfr_device_kind dev;
    vfr_dataset *ds = NULL;
    vfr_status st;
    *job = NULL;
    *panel = NULL;
    *report = NULL;
    if ((st = vfr_device_resolve(cli.device, &dev)) != VFR_OK || (st = vfr_job_load(path, job)) != VFR_OK ||
        (st = vfr_prepare_open_dataset(*job, &ds)) != VFR_OK)
        return st;
    st = vfr_prepare(ds, *job, dev, cli_reporter(), panel, report);
    vfr_dataset_close(ds);
    return st;
}

static void print_report_text(const char *json)
{
    cJSON *o = cJSON_Parse(json);
    if (!o)
        return;
    printf("data quality: %s\n", cJSON_GetObjectItem(o, "dataset")->valuestring);
    printf("  rows in         %.0f (of %.0f in the date range)\n",
           cJSON_GetObjectItem(o, "rowsIn")->valuedouble,
           cJSON_GetObjectItem(o, "rowsInRange")->valuedouble);
    printf("  rows kept       %.0f\n", cJSON_GetObjectItem(o, "rowsKept")->valuedouble);
    printf("  rows dropped    %.0f\n", cJSON_GetObjectItem(o, "rowsDropped")->valuedouble);
    for (cJSON *e = cJSON_GetObjectItem(o, "droppedBy")->child; e; e = e->next)
        if (e->valuedouble > 0)
            printf("    %-22s %.0f\n", e->string, e->valuedouble);
    printf("  symbols         %.0f in, %.0f kept", cJSON_GetObjectItem(o, "symbolsIn")->valuedouble,
           cJSON_GetObjectItem(o, "symbolsKept")->valuedouble);
    cJSON *sd = cJSON_GetObjectItem(o, "symbolsDropped");
    if (cJSON_GetArraySize(sd)) {
        printf("; dropped:");
        for (cJSON *e = sd->child; e; e = e->next)
            printf(" %s", e->valuestring);
    }
    printf("\n  dates           %.0f (%s to %s)\n", cJSON_GetObjectItem(o, "datesKept")->valuedouble,
           cJSON_GetObjectItem(o, "dateFirst")->valuestring,
           cJSON_GetObjectItem(o, "dateLast")->valuestring);
    cJSON *q = cJSON_GetObjectItem(o, "quality");
    if (cJSON_GetObjectItem(q, "min"))
        printf("  quality         min %.3f  p05 %.3f  median %.3f  p95 %.3f  max %.3f  mean %.3f\n",
               cJSON_GetObjectItem(q, "min")->valuedouble, cJSON_GetObjectItem(q, "p05")->valuedouble,
               cJSON_GetObjectItem(q, "median")->valuedouble, cJSON_GetObjectItem(q, "p95")->valuedouble,
               cJSON_GetObjectItem(q, "max")->valuedouble, cJSON_GetObjectItem(q, "mean")->valuedouble);
    cJSON_Delete(o);
}

int cmd_prepare(int argc, char **argv)
{
    const char *path;
    int json, rc = parse(argc, argv, help_prepare, &path, &json);
    if (rc)
        return rc - 1;
    vfr_job *job;
    vfr_prepared *panel;
    char *report;
    vfr_status st = load_prepared(path, &job, &panel, &report);
    if (report) /* also when too little data is left: it says why */
        json ? (void)puts(report) : print_report_text(report);
    free(report);
    vfr_prepared_free(panel);
    vfr_job_free(job);
    return st == VFR_OK ? 0 : cli_fail(st);
}

/* The split document (vfr/runfolder.h) as text: a line per fold, a line per set. */
static void print_split_text(const char *json)
{
    cJSON *o = cJSON_Parse(json);
    const cJSON *folds = cJSON_GetObjectItem(o, "folds");
    int K = cJSON_GetArraySize(folds);
    printf("split %s over %d dates (%.0f rows), horizon %d, purge %d, embargo %d: %d fold%s\n",
           cJSON_GetObjectItem(o, "method")->valuestring, cJSON_GetObjectItem(o, "dates")->valueint,
           cJSON_GetObjectItem(o, "rows")->valuedouble, cJSON_GetObjectItem(o, "horizon")->valueint,
           cJSON_GetObjectItem(o, "purgeDays")->valueint, cJSON_GetObjectItem(o, "embargoDays")->valueint, K,
           K == 1 ? "" : "s");
    static const char *sets[] = {"train", "validation", "test"};
    for (cJSON *fo = folds->child; fo; fo = fo->next) {
        printf("fold %d  purged %d  embargoed %d  unused %d\n",
               cJSON_GetObjectItem(fo, "fold")->valueint,
               cJSON_GetObjectItem(fo, "purgedDates")->valueint,
               cJSON_GetObjectItem(fo, "embargoedDates")->valueint,
               cJSON_GetObjectItem(fo, "unusedDates")->valueint);
        for (int s = 0; s < 3; s++) {
            cJSON *set = cJSON_GetObjectItem(fo, sets[s]);
            printf("  %-10s %5d dates %9.0f rows ", sets[s],
                   cJSON_GetObjectItem(set, "dates")->valueint,
                   cJSON_GetObjectItem(set, "rows")->valuedouble);
            for (cJSON *r = cJSON_GetObjectItem(set, "ranges")->child; r; r = r->next)
                printf(" %s..%s", cJSON_GetObjectItem(r, "start")->valuestring,
                       cJSON_GetObjectItem(r, "end")->valuestring);
            printf("\n");
        }
    }
    cJSON_Delete(o);
}

int cmd_split(int argc, char **argv)
{
    const char *path;
    int json, rc = parse(argc, argv, help_split, &path, &json);
    if (rc)
        return rc - 1;
    vfr_job *job;
    vfr_prepared *p;
    char *report;
    vfr_split *sp = NULL;
    vfr_status st = load_prepared(path, &job, &p, &report);
    free(report);
    if (st == VFR_OK)
        st = vfr_split_make(&job->split, p->T, &sp);
    if (st != VFR_OK) {
        if (st == VFR_ERR_INVALID_ARG && strncmp(vfr_last_error(), "split", 5) == 0)
            vfr_error_prefix("%s: ", path);
        rc = cli_fail(st);
        goto done;
    }
    char *text = NULL;
    if ((st = vfr_runfolder_split_json(job, p, sp, &text)) != VFR_OK) {
        rc = cli_fail(st);
        goto done;
    }
    if (json)
        puts(text);
    else
        print_split_text(text);
    free(text);
done:
    vfr_split_free(sp);
    vfr_prepared_free(p);
    vfr_job_free(job);
    return rc;
}
