/* cmd_predict.c: `vfr predict --model REF --data FILE.h5 --out P.h5`: scores
 * dataset rows with a registered model (the champion, with its A/B test's
 * routing, unless the reference names an alias or a version) and writes
 * which version scored each row. The work is vfr_registry_predict. */
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vfr/model_cache.h"
#include "vfr/dataset.h"
#include "vfr/registry.h"

static const char help[] =
    "usage: vfr predict --model REF --data FILE.h5 [--date D | --start D --end D] --out P.h5\n\n"
    "Scores the dataset's rows of a date (default: its last date) or a date range\n"
    "with a registered model and writes a predictions file with /version_index and\n"
    "/versions: which version scored each row (docs/registry.md).\n\n"
    "  --model REF      NAME: the champion, and under an A/B test the challenger for\n"
    "                   the symbols the hash routes to it (the same symbol always\n"
    "                   gets the same model); NAME@champion, NAME@challenger or\n"
    "                   NAME:VERSION: that version for every row\n"
    "  --data FILE.h5   a vfr dataset holding the model's features (by name)\n"
    "  --date D         one date, YYYY-MM-DD\n"
    "  --start D, --end D   a date range, inclusive (either may be left open)\n"
    "  --lookback N     dates before the range read as history for sequence models\n"
    "                   (LSTM); they are not written (default 0)\n"
    "  --out P.h5       the predictions file (written to a temporary name, renamed)\n"
    "  --registry DIR   the registry: a folder or postgresql://... (default $VFR_REGISTRY,\n"
    "                   else ./vfr-registry)\n"
    "  --cache-mb N     hot-model cache budget (default 512)\n"
    "  --json           print the summary as JSON\n\n"
    "exit codes: 0 ok, 1 runtime failure (a corrupt artifact: INTEGRITY_ERROR),\n"
    "2 bad input (unknown model, alias or version, missing features, no rows)\n";

static int parse_date(const char *opt, const char *s, int32_t *out)
{
    vfr_status st = vfr_date_parse(s, out);
    if (st != VFR_OK) {
        cli_usage_error("%s '%s': want YYYY-MM-DD", opt, s);
        return -1;
    }
    return 0;
}

int cmd_predict(int argc, char **argv)
{
    const char *ref = NULL, *data = NULL, *out = NULL, *registry = NULL, *v;
    int32_t date = INT32_MIN, start = INT32_MIN, end = INT32_MIN;
    int64_t lookback = 0, cache_mb = 512;
    int json = 0;
    for (int i = 0; i < argc; i++) {
        int m;
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            return 0;
        } else if (cli_flag(argv[i], "--json")) {
            json = 1;
        } else if ((m = cli_opt(argc, argv, &i, "--model", &ref)) != 0) {
            if (m < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--data", &data)) != 0) {
            if (m < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--out", &out)) != 0) {
            if (m < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--registry", &registry)) != 0) {
            if (m < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--date", &v)) != 0) {
            if (m < 0 || parse_date("--date", v, &date) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--start", &v)) != 0) {
            if (m < 0 || parse_date("--start", v, &start) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--end", &v)) != 0) {
            if (m < 0 || parse_date("--end", v, &end) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--lookback", &v)) != 0) {
            if (m < 0 || cli_parse_i64("--lookback", v, 0, 100000, &lookback) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--cache-mb", &v)) != 0) {
            if (m < 0 || cli_parse_i64("--cache-mb", v, 1, 1 << 20, &cache_mb) < 0)
                return 2;
        } else {
            return cli_usage_error("unknown argument '%s'", argv[i]);
        }
    }
    if (!ref || !data || !out)
        return cli_usage_error("--model, --data and --out are required");
    if (date != INT32_MIN && (start != INT32_MIN || end != INT32_MIN))
        return cli_usage_error("give --date or --start/--end, not both");
    if (start != INT32_MIN && end != INT32_MIN && start > end)
        return cli_usage_error("--start is after --end");
    vfr_registry_predict_options o = {ref, data, INT32_MIN, INT32_MIN, (int32_t)lookback, out, NULL};
    if (date != INT32_MIN) {
        o.date_lo = o.date_hi = date;
    } else if (start != INT32_MIN || end != INT32_MIN) {
        o.date_lo = start;                           /* INT32_MIN: open */
        o.date_hi = end == INT32_MIN ? INT32_MAX : end;
    }
    vfr_registry *reg = NULL;
    vfr_model_cache *cache = NULL;
    vfr_registry_predict_result res;
    vfr_status st = vfr_registry_open(registry ? registry : vfr_registry_default_dir(), 0, &reg);
    if (st == VFR_OK)
        st = vfr_model_cache_create((size_t)cache_mb << 20, &cache);
    o.cache = cache;
    if (st == VFR_OK)
        st = vfr_registry_predict(reg, &o, &res);
    vfr_model_cache_stats cs;
    vfr_model_cache_stats_get(cache, &cs);
    vfr_model_cache_destroy(cache);
    vfr_registry_close(reg);
    if (st != VFR_OK)
        return cli_fail(st);
    char d0[11], d1[11];
    vfr_date_format(res.date_lo, d0);
    vfr_date_format(res.date_hi, d1);
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "out", out);
        cJSON_AddNumberToObject(j, "rows", (double)res.rows);
        cJSON_AddStringToObject(j, "dateFirst", d0);
        cJSON_AddStringToObject(j, "dateLast", d1);
        cJSON_AddNumberToObject(j, "traffic", res.traffic);
        cJSON *vs = cJSON_AddArrayToObject(j, "versions");
        for (int k = 0; k < res.n_versions; k++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "version", res.versions[k]);
            cJSON_AddNumberToObject(x, "rows", (double)res.rows_by_version[k]);
            cJSON_AddItemToArray(vs, x);
        }
        cJSON *c = cJSON_AddObjectToObject(j, "cache");
        cJSON_AddNumberToObject(c, "hits", (double)cs.hits);
        cJSON_AddNumberToObject(c, "misses", (double)cs.misses);
        char *t = cJSON_Print(j);
        puts(t ? t : "{}");
        free(t);
        cJSON_Delete(j);
    } else {
        printf("scored %lld rows dated %s to %s -> %s\n", (long long)res.rows, d0, d1, out);
        for (int k = 0; k < res.n_versions; k++)
            printf("  %-10s %s: %lld rows\n", k == 0 ? (res.n_versions == 2 ? "champion" : "version") : "challenger",
                   res.versions[k], (long long)res.rows_by_version[k]);
        if (res.n_versions == 2)
            printf("  A/B test: challenger traffic %.3g, routed by symbol hash\n", res.traffic);
    }
    return 0;
}
