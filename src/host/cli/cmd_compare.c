/* cmd_compare.c: `vfr compare RUN_DIR`: the run's model against the
 * baselines, with the statistics and the deploy decision (comparison.json). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vfr/compare.h"

static const char usage[] =
    "usage: vfr compare RUN_DIR [--baseline NAME ...] [--registry DIR] [--json]\n\n"
    "Compares the run's test-period backtest with baselines on the same dates:\n"
    "buy_and_hold, sma_crossover, momentum, majority_class, champion (default:\n"
    "all). Paired t-test (Newey-West when horizons overlap), stationary block\n"
    "bootstrap of the Sharpe difference, binomial test of directional accuracy,\n"
    "Probabilistic and Deflated Sharpe Ratio, and the deploy decision with its\n"
    "reason. Writes RUN_DIR/comparison.json (docs/comparison.md). The champion\n"
    "comes from the registry at --registry (default $VFR_REGISTRY, else\n"
    "./vfr-registry); without one it is skipped with a note.\n\n";

typedef struct name_list {
    const char *v[16];
    int32_t n;
} name_list;

static int add_baseline(const char *name, const char *value, void *dest)
{
    name_list *l = dest;
    if (l->n == 16) {
        cli_usage_error("too many %s", name);
        return -1;
    }
    l->v[l->n++] = value;
    return 0;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

void cli_print_comparison(const char *json)
{
    cJSON *c = cJSON_Parse(json);
    if (!c)
        return;
    const cJSON *m = cJSON_GetObjectItem(c, "modelPerformance");
    printf("\ncomparison on the test dates (%s to %s):\n",
           cJSON_GetObjectItem(cJSON_GetObjectItem(c, "testPeriod"), "start")->valuestring,
           cJSON_GetObjectItem(cJSON_GetObjectItem(c, "testPeriod"), "end")->valuestring);
    printf("  %-16s %8s %9s %8s %8s %10s %19s\n", "", "sharpe", "return", "max dd", "dir acc", "p-value",
           "sharpe diff CI");
    printf("  %-16s %8.3f %8.2f%% %7.2f%% %7.2f%%\n", "model", num(m, "sharpe"), 100 * num(m, "total_return"),
           100 * num(m, "max_drawdown"), 100 * num(m, "prediction_accuracy"));
    for (const cJSON *b = cJSON_GetObjectItem(c, "baselines")->child; b; b = b->next) {
        const char *name = cJSON_GetObjectItem(b, "name")->valuestring;
        if (!cJSON_IsTrue(cJSON_GetObjectItem(b, "available"))) {
            printf("  %-16s %s\n", name, cJSON_GetObjectItem(b, "note")->valuestring);
            continue;
        }
        const cJSON *p = cJSON_GetObjectItem(b, "performance");
        const cJSON *ci = cJSON_GetObjectItem(cJSON_GetObjectItem(b, "bootstrap"), "confidenceInterval");
        printf("  %-16s %8.3f %8.2f%% %7.2f%% %7.2f%% %10.3g", name, num(p, "sharpe"),
               100 * num(p, "total_return"), 100 * num(p, "max_drawdown"), 100 * num(p, "directional_accuracy"),
               num(cJSON_GetObjectItem(b, "statisticalSignificance"), "pValue"));
        if (cJSON_GetArraySize(ci) == 2)
            printf("  [%+.2f, %+.2f]", cJSON_GetArrayItem(ci, 0)->valuedouble, cJSON_GetArrayItem(ci, 1)->valuedouble);
        printf("\n");
    }
    printf("  PSR %.3f, Deflated Sharpe %.3f over %.0f trial(s)\n", num(c, "psr"), num(c, "dsr"),
           num(c, "trialsEvaluated"));
    const cJSON *me = cJSON_GetObjectItem(c, "modelExposure");
    if (me)
        printf("  model book (%s): net exposure %+.3f, gross %.3f, beta %.3f, alpha %+.2f%% a year (HAC t %.2f)\n",
               cJSON_IsString(cJSON_GetObjectItem(c, "strategy")) ? cJSON_GetObjectItem(c, "strategy")->valuestring : "?",
               num(me, "net"), num(me, "gross"), num(me, "beta"), 100 * num(me, "alpha"), num(me, "alphaT"));
    const cJSON *cp = cJSON_GetObjectItem(c, "cpcv");
    if (cp) {
        const cJSON *sh = cJSON_GetObjectItem(cp, "sharpe"), *pb = cJSON_GetObjectItem(cp, "pbo");
        printf("  cpcv: %.0f backtest paths, Sharpe mean %.2f [%.2f, %.2f]; PBO %.3f over %.0f trials\n",
               num(cp, "paths"), num(sh, "mean"), num(sh, "min"), num(sh, "max"), num(pb, "pbo"), num(pb, "trials"));
    }
    const cJSON *d = cJSON_GetObjectItem(c, "decision");
    printf("\n  shouldDeploy: %s\n  %s\n", cJSON_IsTrue(cJSON_GetObjectItem(d, "shouldDeploy")) ? "yes" : "no",
           cJSON_GetObjectItem(d, "reason")->valuestring);
    cJSON_Delete(c);
}

int cmd_compare(int argc, char **argv)
{
    const char *dir = NULL, *registry = NULL;
    name_list names = {{0}, 0};
    int json = 0;
    const cli_option opts[] = {
        {.name = "--baseline", .kind = CLI_FN, .dest = &names, .parse = add_baseline, .arg = "NAME",
         .help = "a baseline to compare with (repeat it for more; default: all)"},
        {.name = "--registry", .kind = CLI_STR, .dest = &registry, .arg = "DIR",
         .help = "the registry of the champion baseline"},
        {.name = "--json", .kind = CLI_FLAG, .dest = &json, .help = "print comparison.json instead of the table"},
        {0},
    };
    int rc = cli_parse(argc, argv, usage, opts, NULL, &dir, 1);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!dir)
        return cli_usage_error("which run folder? vfr compare runs/<jobId>");
    vfr_device_kind dev;
    vfr_status st = vfr_device_resolve(cli.device, &dev);
    if (st != VFR_OK)
        return cli_fail(st);
    vfr_compare_options o = {names.v, names.n, dev, cli_champion_source(registry), cli_reporter()};
    char *out = NULL;
    st = vfr_compare_run(dir, &o, &out);
    if (st != VFR_OK)
        return cli_fail(st);
    if (json)
        puts(out);
    else
        cli_print_comparison(out);
    free(out);
    return 0;
}
