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

static const char usage[] =
    "usage: vfr predict --model REF --data FILE.h5 [--date D | --start D --end D] --out P.h5\n\n"
    "Scores the dataset's rows of a date (default: its last date) or a date range\n"
    "with a registered model and writes a predictions file with /version_index and\n"
    "/versions: which version scored each row (docs/registry.md).\n\n";
static const char after[] =
    "\nexit codes: 0 ok, 1 runtime failure (a corrupt artifact: INTEGRITY_ERROR),\n"
    "2 bad input (unknown model, alias or version, missing features, no rows)\n";

int cmd_predict(int argc, char **argv)
{
    const char *ref = NULL, *data = NULL, *out = NULL, *registry = NULL;
    int32_t date = INT32_MIN, start = INT32_MIN, end = INT32_MIN;
    int64_t lookback = 0, cache_mb = 512;
    int json = 0;
    const cli_option opts[] = {
        {.name = "--model", .kind = CLI_STR, .dest = &ref, .arg = "REF",
         .help = "NAME: the champion, and under an A/B test the challenger for\nthe symbols the hash routes to it (the "
                 "same symbol always\ngets the same model); NAME@champion, NAME@challenger or\nNAME:VERSION: that "
                 "version for every row"},
        {.name = "--data", .kind = CLI_STR, .dest = &data, .arg = "FILE.h5",
         .help = "a vfr dataset holding the model's features (by name)"},
        {.name = "--date", .kind = CLI_FN, .dest = &date, .parse = cli_parse_date, .arg = "D",
         .help = "one date, YYYY-MM-DD"},
        {.name = "--start", .kind = CLI_FN, .dest = &start, .parse = cli_parse_date, .arg = "D",
         .help = "a date range, inclusive, with --end (either may be left open)"},
        {.name = "--end", .kind = CLI_FN, .dest = &end, .parse = cli_parse_date, .arg = "D",
         .help = "the range's last date"},
        {.name = "--lookback", .kind = CLI_I64, .dest = &lookback, .lo = 0, .hi = 100000, .arg = "N",
         .help = "dates before the range read as history for sequence models\n(LSTM); they are not written (default 0)"},
        {.name = "--out", .kind = CLI_STR, .dest = &out, .arg = "P.h5",
         .help = "the predictions file (written to a temporary name, renamed)"},
        {.name = "--registry", .kind = CLI_STR, .dest = &registry, .arg = "DIR",
         .help = "the registry: a folder or postgresql://... (default $VFR_REGISTRY,\nelse ./vfr-registry)"},
        {.name = "--cache-mb", .kind = CLI_I64, .dest = &cache_mb, .lo = 1, .hi = 1 << 20, .arg = "N",
         .help = "hot-model cache budget (default 512)"},
        {.name = "--json", .kind = CLI_FLAG, .dest = &json, .help = "print the summary as JSON"},
        {0},
    };
    int prc = cli_parse(argc, argv, usage, opts, after, NULL, 0);
    if (prc)
        return prc < 0 ? 0 : prc;
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
