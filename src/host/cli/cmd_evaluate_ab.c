/* cmd_evaluate_ab.c: `vfr evaluate --predictions P.h5 --by-version`: the A/B
 * test in a `vfr predict` file read per served version (model metrics and a
 * backtest each) and the paired comparison of the two versions. The work is
 * vfr_ab_evaluate (abtest.h); this prints it. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "vfr/abtest.h"
#include "vfr/predictions.h"

static const char usage[] =
    "usage: vfr evaluate --predictions P.h5 --by-version [--set NAME] [--threshold X]\n"
    "                    [--strategy S] [--k K] [--cost-bps C] [--json]\n\n"
    "Reads an A/B test out of a file written by `vfr predict` (its /version_index says\n"
    "which served version scored each row): one block per version with its model\n"
    "metrics (as vfr evaluate) and its backtest (as vfr backtest, over its own rows),\n"
    "then the paired comparison, challenger minus champion: a Newey-West t-test of\n"
    "the daily net return difference over the dates both arms hold positions\n"
    "(docs/registry.md, docs/stats.md). The arms are routed by symbol, so they hold\n"
    "different names: the difference mixes the models with the two symbol sets.\n\n";

static const char *role(const vfr_ab_result *r, int32_t k)
{
    return r->V == 2 ? (k == 0 ? "champion" : "challenger") : "version";
}

static void print_json(const char *path, int set, const vfr_ab_result *r, const vfr_backtest_options *bo,
                       double threshold)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "predictions", path);
    cJSON_AddStringToObject(j, "model", r->model);
    cJSON_AddStringToObject(j, "set", vfr_predictions_set_name(set));
    cJSON_AddStringToObject(j, "task", vfr_metrics_task_name(r->task));
    cJSON_AddNumberToObject(j, "horizon", r->horizon);
    if (r->task == VFR_TASK_CLASSIFICATION)
        cJSON_AddNumberToObject(j, "threshold", threshold);
    cJSON *b = cJSON_AddObjectToObject(j, "backtestOptions");
    cJSON_AddStringToObject(b, "strategy", vfr_backtest_strategy_name(bo->strategy));
    cJSON_AddNumberToObject(b, "k", bo->k);
    cJSON_AddNumberToObject(b, "threshold", bo->threshold);
    cJSON_AddNumberToObject(b, "costBps", bo->cost_bps);
    cJSON_AddNumberToObject(b, "horizon", bo->horizon > 0 ? bo->horizon : r->horizon);
    cJSON *vs = cJSON_AddArrayToObject(j, "versions");
    for (int32_t k = 0; k < r->V; k++) {
        const vfr_ab_arm *a = &r->arm[k];
        cJSON *e = cJSON_CreateObject(), *mt = cJSON_CreateObject(), *bt = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "version", a->version);
        cJSON_AddStringToObject(e, "role", role(r, k));
        cJSON_AddNumberToObject(e, "rows", (double)a->rows);
        cJSON_AddNumberToObject(e, "dates", a->dates);
        cJSON_AddNumberToObject(e, "symbols", a->symbols);
        for (int m = 0; m < VFR_METRIC_COUNT; m++)
            if (vfr_metrics_applies(r->task, (vfr_metric)m)) /* NaN prints as null */
                cJSON_AddNumberToObject(mt, vfr_metrics_name((vfr_metric)m), a->metrics[m]);
        cJSON_AddItemToObject(e, "metrics", mt);
        for (int m = 0; m < VFR_FIN_COUNT; m++)
            cJSON_AddNumberToObject(bt, vfr_backtest_metric_name((vfr_fin)m), a->backtest[m]);
        cJSON_AddItemToObject(e, "backtest", bt);
        cJSON_AddItemToArray(vs, e);
    }
    if (r->V == 2) {
        cJSON *c = cJSON_AddObjectToObject(j, "comparison");
        cJSON_AddStringToObject(c, "challenger", r->arm[1].version);
        cJSON_AddStringToObject(c, "champion", r->arm[0].version);
        cJSON_AddStringToObject(c, "difference", "challenger - champion, daily net return");
        cJSON_AddNumberToObject(c, "dates", (double)r->common_dates);
        if (r->compared) {
            cJSON_AddStringToObject(c, "method", "Newey-West paired t-test (Bartlett kernel)");
            cJSON_AddNumberToObject(c, "lag", r->diff.lag);
            cJSON_AddNumberToObject(c, "meanDiff", r->diff.mean);
            cJSON_AddNumberToObject(c, "annualizedDiff", r->diff.mean * 252);
            cJSON_AddNumberToObject(c, "se", r->diff.se);
            cJSON_AddNumberToObject(c, "t", r->diff.t);
            cJSON_AddNumberToObject(c, "pValue", r->diff.p);
            cJSON_AddNumberToObject(c, "ciLow", r->diff.ci_lo);
            cJSON_AddNumberToObject(c, "ciHigh", r->diff.ci_hi);
            cJSON_AddNumberToObject(c, "sharpeChampion", r->sharpe[0]);
            cJSON_AddNumberToObject(c, "sharpeChallenger", r->sharpe[1]);
        } else {
            cJSON_AddStringToObject(c, "notCompared", r->why_not);
        }
        cJSON_AddStringToObject(c, "note", "the arms are routed by symbol and hold different names: the "
                                           "difference mixes the two models with the two symbol sets");
    }
    char *s = cJSON_Print(j);
    puts(s ? s : "{}");
    cJSON_free(s);
    cJSON_Delete(j);
}

static void print_text(const char *path, int set, const vfr_ab_result *r, const vfr_backtest_options *bo)
{
    printf("%s: %s%s%d served version%s, %s, set %s, horizon %d\n", path, r->model[0] ? r->model : "",
           r->model[0] ? ": " : "", r->V, r->V == 1 ? "" : "s", vfr_metrics_task_name(r->task),
           vfr_predictions_set_name(set), r->horizon);
    for (int32_t k = 0; k < r->V; k++)
        printf("  %-10s %-12s %lld rows, %d symbols, %d dates\n", role(r, k), r->arm[k].version,
               (long long)r->arm[k].rows, r->arm[k].symbols, r->arm[k].dates);
    int32_t cols = r->V < 6 ? r->V : 6;
    printf("\n  %-22s", "metric");
    for (int32_t k = 0; k < cols; k++)
        printf(" %14.14s", r->arm[k].version);
    printf("\n");
    for (int m = 0; m < VFR_METRIC_COUNT; m++) {
        if (!vfr_metrics_applies(r->task, (vfr_metric)m))
            continue;
        printf("  %-22s", vfr_metrics_name((vfr_metric)m));
        for (int32_t k = 0; k < cols; k++)
            printf(" %14.6g", r->arm[k].metrics[m]);
        printf("\n");
    }
    char strat[64];
    if (bo->strategy == VFR_STRATEGY_TOP_K)
        snprintf(strat, sizeof strat, "top_k, k %d", bo->k);
    else
        snprintf(strat, sizeof strat, "%s, threshold %g", vfr_backtest_strategy_name(bo->strategy), bo->threshold);
    printf("\n  backtest: %s, cost %g bps, horizon %d, each version over its own rows\n", strat, bo->cost_bps,
           bo->horizon > 0 ? bo->horizon : r->horizon);
    for (int m = 0; m < VFR_FIN_COUNT; m++) {
        printf("  %-22s", vfr_backtest_metric_name((vfr_fin)m));
        for (int32_t k = 0; k < cols; k++)
            printf(" %14.6g", r->arm[k].backtest[m]);
        printf("\n");
    }
    if (r->V != 2)
        return;
    printf("\n  paired comparison, challenger %s - champion %s, daily net return, over the %lld dates both hold:\n",
           r->arm[1].version, r->arm[0].version, (long long)r->common_dates);
    if (r->compared)
        printf("    mean difference %+.6g a day (%+.4g a year), Newey-West t %.3f (lag %d), p %.4g, 95%% CI "
               "[%+.6g, %+.6g]\n    Sharpe over those dates: champion %.3f, challenger %.3f\n",
               r->diff.mean, r->diff.mean * 252, r->diff.t, r->diff.lag, r->diff.p, r->diff.ci_lo, r->diff.ci_hi,
               r->sharpe[0], r->sharpe[1]);
    else
        printf("    not compared: %s\n", r->why_not);
    printf("    note: the arms are routed by symbol and hold different names, so the difference mixes the\n"
           "    two models with the two symbol sets\n");
}

int cmd_evaluate_by_version(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0, set = VFR_SET_ALL, have_threshold = 0;
    double threshold = 0.5;
    int64_t k = 5;
    vfr_backtest_options bo;
    vfr_backtest_options_default(&bo);
    bo.horizon = 0; /* the file's */
    const cli_option opts[] = {
        {.name = "--predictions", .kind = CLI_STR, .dest = &path, .required = 1, .arg = "P.h5"},
        {.name = "--by-version", .kind = CLI_IGNORE},
        {.name = "--set", .kind = CLI_FN, .dest = &set, .parse = cli_parse_set, .arg = "NAME",
         .help = "train, validation, test or all (default all)"},
        {.name = "--threshold", .kind = CLI_F64, .dest = &threshold, .lo = -1e30, .hi = 1e30, .given = &have_threshold,
         .arg = "X",
         .help = "classification: predict 1 when score > X (default 0.5); also the\nsign strategies' threshold "
                 "(default 0.5, regression 0)"},
        {.name = "--strategy", .kind = CLI_FN, .dest = &bo.strategy, .parse = cli_parse_strategy, .arg = "S",
         .help = "the backtest's strategy (default as vfr backtest)"},
        {.name = "--k", .kind = CLI_I64, .dest = &k, .lo = 1, .hi = 1000000, .arg = "K",
         .help = "top_k: names per side (default 5)"},
        {.name = "--cost-bps", .kind = CLI_F64, .dest = &bo.cost_bps, .lo = 0, .hi = 10000, .arg = "C",
         .help = "cost per unit of turnover, basis points (default 0)"},
        {.name = "--json", .kind = CLI_FLAG, .dest = &json, .help = "one JSON object on stdout"},
        {0},
    };
    int rc = cli_parse(argc, argv, usage, opts, NULL, NULL, 0);
    if (rc)
        return rc < 0 ? 0 : rc;
    vfr_device_kind dev;
    vfr_status st = vfr_device_resolve(cli.device, &dev);
    if (st != VFR_OK)
        return cli_fail(st);
    bo.k = (int32_t)k;
    vfr_metrics_options mo;
    vfr_metrics_options_default(&mo);
    mo.threshold = threshold;
    vfr_ab_result r;
    /* the sign strategies' threshold: the classification one, 0 for regression unless given */
    bo.threshold = threshold;
    if ((st = vfr_ab_evaluate(path, set, dev, &mo, &bo, &r)) != VFR_OK)
        return cli_fail(st);
    if (r.task == VFR_TASK_REGRESSION && !have_threshold) {
        vfr_ab_result_free(&r);
        bo.threshold = 0;
        if ((st = vfr_ab_evaluate(path, set, dev, &mo, &bo, &r)) != VFR_OK)
            return cli_fail(st);
    }
    if (json)
        print_json(path, set, &r, &bo, threshold);
    else
        print_text(path, set, &r, &bo);
    vfr_ab_result_free(&r);
    return 0;
}
