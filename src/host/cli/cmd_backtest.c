/* cmd_backtest.c: `vfr backtest`: the vectorized backtest of every score
 * vector of a predictions file, printed as financial metrics, with the daily
 * returns and equity curves written to HDF5 on request; or (--returns) the
 * financial metrics of daily returns made elsewhere. A thin wrapper of
 * vfr_backtest and vfr_backtest_stats. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"
#include "vfr/backtest.h"
#include "vfr/dataset.h"
#include "vfr/predictions.h"

static const char usage[] =
    "usage: vfr backtest --predictions P.h5 [--strategy S] [--k K] [--threshold X]\n"
    "                    [--cost-bps C] [--horizon H] [--risk-free R] [--set NAME]\n"
    "                    [--json] [--out R.h5]\n"
    "       vfr backtest --returns R.h5 [--risk-free R] [--json]\n\n"
    "Turns each score vector of a predictions file into an equal-weight daily\n"
    "portfolio held for H days (overlapping cohorts, 1/H of the capital each), charges\n"
    "costs on turnover, and prints the financial metrics (docs/metrics.md).\n\n";

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

/* Prints the table (text) or adds it to j (JSON); names[M]. */
static void report(cJSON *j, const char *const *names, int32_t M, const double *met)
{
    if (j) {
        cJSON *arr = cJSON_AddArrayToObject(j, "strategies");
        for (int32_t m = 0; m < M; m++) {
            cJSON *e = cJSON_CreateObject(), *mt = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "name", names[m]);
            for (int k = 0; k < VFR_FIN_COUNT; k++) /* NaN prints as null */
                cJSON_AddNumberToObject(mt, vfr_backtest_metric_name((vfr_fin)k),
                                        met[(size_t)m * VFR_FIN_COUNT + (size_t)k]);
            cJSON_AddItemToObject(e, "metrics", mt);
            cJSON_AddItemToArray(arr, e);
        }
        return;
    }
    const int32_t cols = M < 8 ? M : 8;
    printf("  %-22s", "metric");
    for (int32_t m = 0; m < cols; m++)
        printf(" %14.14s", names[m]);
    printf("\n");
    for (int k = 0; k < VFR_FIN_COUNT; k++) {
        printf("  %-22s", vfr_backtest_metric_name((vfr_fin)k));
        for (int32_t m = 0; m < cols; m++)
            printf(" %14.6g", met[(size_t)m * VFR_FIN_COUNT + (size_t)k]);
        printf("\n");
    }
    if (M > cols)
        printf("  ... %d more strategies: use --json for all\n", M - cols);
}

static void emit(cJSON *j)
{
    char *s = cJSON_Print(j);
    puts(s);
    cJSON_free(s);
    cJSON_Delete(j);
}

/* --returns: metrics of daily returns from a file. */
static int from_returns(const char *path, vfr_device_kind dev, const vfr_backtest_options *o,
                        int json)
{
    int32_t M = 0, T = 0;
    double *daily = NULL, *met = NULL;
    char **names = NULL;
    int rc = 0;
    double t0 = now();
    vfr_status st = vfr_backtest_read_returns(path, &M, &T, &daily, &names);
    if (st != VFR_OK)
        return cli_fail(st);
    double t1 = now(), c1 = cpu_now();
    if (!(met = malloc(sizeof *met * (size_t)M * VFR_FIN_COUNT))) {
        rc = cli_fail(vfr_fail(VFR_ERR_NOMEM, "backtest: out of memory"));
        goto done;
    }
    if ((st = vfr_backtest_stats(dev, daily, M, T, o, met)) != VFR_OK) {
        rc = cli_fail(st);
        goto done;
    }
    double t2 = now(), c2 = cpu_now();
    char **shown = names;
    char (*fallback)[32] = NULL;
    const char **ptrs = NULL;
    if (!shown) {
        fallback = malloc(sizeof *fallback * (size_t)M);
        ptrs = malloc(sizeof *ptrs * (size_t)M);
        if (!fallback || !ptrs) {
            free(fallback), free(ptrs);
            rc = cli_fail(vfr_fail(VFR_ERR_NOMEM, "backtest: out of memory"));
            goto done;
        }
        for (int32_t m = 0; m < M; m++) {
            snprintf(fallback[m], 32, "series_%d", m);
            ptrs[m] = fallback[m];
        }
    }
    const char *const *nm = shown ? (const char *const *)shown : ptrs;
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "returns", path);
        cJSON_AddStringToObject(j, "device", vfr_device_kind_str(dev));
        cJSON_AddNumberToObject(j, "days", T);
        cJSON_AddNumberToObject(j, "risk_free", o->risk_free);
        cJSON_AddNumberToObject(j, "periods_per_year", o->periods_per_year);
        report(j, nm, M, met);
        cJSON *tm = cJSON_AddObjectToObject(j, "timing");
        cJSON_AddNumberToObject(tm, "read_seconds", t1 - t0);
        cJSON_AddNumberToObject(tm, "compute_seconds", t2 - t1);
        cJSON_AddNumberToObject(tm, "compute_cpu_seconds", c2 - c1);
        emit(j);
    } else {
        printf("%s: %d series x %d days\n", path, M, T);
        report(NULL, nm, M, met);
    }
    free(fallback), free(ptrs);
done:
    free(met);
    vfr_backtest_free_returns(daily, names, M);
    return rc;
}

int cmd_backtest(int argc, char **argv)
{
    const char *path = NULL, *returns = NULL, *out = NULL;
    int json = 0, set = VFR_SET_TEST, have_threshold = 0, have_set = 0, have_strategy = 0, have_k = 0,
        have_cost = 0;
    int64_t k = 5, horizon = 0;
    vfr_backtest_options o;
    vfr_backtest_options_default(&o);
    const cli_option opts[] = {
        {.name = "--predictions", .kind = CLI_STR, .dest = &path, .arg = "P.h5",
         .help = "predictions (docs/predictions-format.md); daily P&L uses\nits 1-day forward returns"},
        {.name = "--strategy", .kind = CLI_FN, .dest = &o.strategy, .given = &have_strategy,
         .parse = cli_parse_strategy, .arg = "S",
         .help = "long_short_median, long_short_sign, long_only or top_k\n(default: the run's, recorded in the "
                 "predictions file; else top_k)"},
        {.name = "--k", .kind = CLI_I64, .dest = &k, .lo = 1, .hi = 1000000, .given = &have_k, .arg = "K",
         .help = "top_k: names long and names short per date (default 5)"},
        {.name = "--threshold", .kind = CLI_F64, .dest = &o.threshold, .lo = -1e30, .hi = 1e30,
         .given = &have_threshold, .arg = "X",
         .help = "long_short_sign/long_only: the score threshold (default 0.5\nfor classification, 0 for regression)"},
        {.name = "--cost-bps", .kind = CLI_F64, .dest = &o.cost_bps, .lo = 0, .hi = 10000, .given = &have_cost,
         .arg = "C", .help = "cost per unit of turnover in basis points (default 0)"},
        {.name = "--horizon", .kind = CLI_I64, .dest = &horizon, .lo = 1, .hi = 10000, .arg = "H",
         .help = "holding period in trading days (default: the file's horizon)"},
        {.name = "--risk-free", .kind = CLI_F64, .dest = &o.risk_free, .lo = -0.5, .hi = 1, .arg = "R",
         .help = "annual risk-free rate for Sharpe and Sortino (default 0)"},
        {.name = "--set", .kind = CLI_FN, .dest = &set, .given = &have_set, .parse = cli_parse_set, .arg = "NAME",
         .help = "train, validation, test or all (default test; all for a file\nwithout sets)"},
        {.name = "--json", .kind = CLI_FLAG, .dest = &json, .help = "one JSON object on stdout"},
        {.name = "--out", .kind = CLI_STR, .dest = &out, .arg = "R.h5",
         .help = "write daily returns and equity curves (HDF5)"},
        {.name = "--returns", .kind = CLI_STR, .dest = &returns, .arg = "R.h5",
         .help = "instead: the metrics of /daily_return [M, T] in R.h5"},
        {0},
    };
    int prc = cli_parse(argc, argv, usage, opts, NULL, NULL, 0);
    if (prc)
        return prc < 0 ? 0 : prc;
    if (!path == !returns)
        return cli_usage_error("give one of --predictions P.h5 or --returns R.h5");
    if (returns && out)
        return cli_usage_error("--out goes with --predictions");
    o.k = (int32_t)k;
    vfr_device_kind dev;
    vfr_status st = vfr_device_resolve(cli.device, &dev);
    if (st != VFR_OK)
        return cli_fail(st);
    if (returns)
        return from_returns(returns, dev, &o, json);

    double t0 = now();
    vfr_predictions *p = NULL;
    /* by default the test rows, as training evaluated them; a file without
     * sets (not written by vfr train) is read whole */
    st = vfr_predictions_read(path, set, &p);
    if (st == VFR_ERR_INVALID_ARG && !have_set) {
        vfr_error_clear();
        set = VFR_SET_ALL;
        st = vfr_predictions_read(path, set, &p);
    }
    if (st != VFR_OK)
        return cli_fail(st);
    const char *from = "defaults";
    if (p->backtest) { /* the run's own backtest, unless an option says otherwise */
        from = "the run's backtest (predictions file) where no option was given";
        if (!have_strategy)
            o.strategy = p->backtest->strategy;
        if (!have_k)
            o.k = p->backtest->k;
        if (!have_cost)
            o.cost_bps = p->backtest->cost_bps;
        if (!have_threshold) {
            o.threshold = p->backtest->threshold;
            have_threshold = 1;
        }
        if (!horizon)
            horizon = p->backtest->horizon;
    }
    double t1 = now();
    double *met = NULL, *daily = NULL;
    int32_t *dates = NULL;
    int rc = 0;
    vfr_panel pn;
    vfr_predictions_panel(p, &pn);
    if (!p->fwd1 && p->horizon == 1 && p->fwd)
        pn.fwd1 = p->fwd; /* a 1-day horizon return is the 1-day return */
    if (!pn.fwd1) {
        rc = cli_fail(vfr_fail(VFR_ERR_FORMAT,
                               "%s: no 'forward_return_1' field: daily P&L needs the 1-day forward "
                               "return (docs/predictions-format.md)",
                               path));
        goto done;
    }
    o.horizon = horizon ? (int32_t)horizon : p->horizon;
    if (!have_threshold)
        o.threshold = p->task == VFR_TASK_CLASSIFICATION ? 0.5 : 0.0;
    met = malloc(sizeof *met * (size_t)p->M * VFR_FIN_COUNT);
    daily = malloc(sizeof *daily * (size_t)p->M * (size_t)(p->T ? p->T : 1));
    dates = malloc(sizeof *dates * (size_t)(p->T ? p->T : 1));
    if (!met || !daily || !dates) {
        rc = cli_fail(vfr_fail(VFR_ERR_NOMEM, "backtest: out of memory for %d strategies x %d days",
                               p->M, p->T));
        goto done;
    }
    for (int32_t t = 0; t < p->T; t++)
        dates[t] = p->date[p->date_offset[t]];
    cli_log(VFR_LOG_INFO, "backtesting %d strategies (%s, horizon %d) over %d dates x %d symbols on %s",
            p->M, vfr_backtest_strategy_name(o.strategy), o.horizon, p->T, p->S,
            vfr_device_kind_str(dev));
    double c1 = cpu_now();
    if ((st = vfr_backtest(dev, &pn, p->score, p->M, &o, met, daily)) != VFR_OK) {
        vfr_error_prefix("%s: ", path);
        rc = cli_fail(st);
        goto done;
    }
    double t2 = now(), c2 = cpu_now();
    if (out && (st = vfr_backtest_write(out, &o, p->M, p->T, dates,
                                        (const char *const *)p->score_names, daily)) != VFR_OK) {
        rc = cli_fail(st);
        goto done;
    }
    double t3 = now();
    char d0[11] = "", d1[11] = "";
    if (p->T) {
        vfr_date_format(dates[0], d0);
        vfr_date_format(dates[p->T - 1], d1);
    }
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "predictions", path);
        cJSON_AddStringToObject(j, "set", vfr_predictions_set_name(set));
        cJSON_AddStringToObject(j, "device", vfr_device_kind_str(dev));
        cJSON_AddStringToObject(j, "strategy", vfr_backtest_strategy_name(o.strategy));
        if (o.strategy == VFR_STRATEGY_TOP_K)
            cJSON_AddNumberToObject(j, "k", o.k);
        else
            cJSON_AddNumberToObject(j, "threshold", o.threshold);
        cJSON_AddNumberToObject(j, "horizon", o.horizon);
        cJSON_AddNumberToObject(j, "cost_bps", o.cost_bps);
        cJSON_AddStringToObject(j, "options_from", from);
        cJSON_AddNumberToObject(j, "risk_free", o.risk_free);
        cJSON_AddNumberToObject(j, "periods_per_year", o.periods_per_year);
        cJSON_AddNumberToObject(j, "dates", p->T);
        cJSON_AddNumberToObject(j, "symbols", p->S);
        cJSON_AddStringToObject(j, "first_date", d0);
        cJSON_AddStringToObject(j, "last_date", d1);
        report(j, (const char *const *)p->score_names, p->M, met);
        if (out)
            cJSON_AddStringToObject(j, "out", out);
        cJSON *tm = cJSON_AddObjectToObject(j, "timing");
        cJSON_AddNumberToObject(tm, "read_seconds", t1 - t0);
        cJSON_AddNumberToObject(tm, "compute_seconds", t2 - t1);
        cJSON_AddNumberToObject(tm, "compute_cpu_seconds", c2 - c1);
        cJSON_AddNumberToObject(tm, "write_seconds", t3 - t2);
        emit(j);
    } else {
        printf("%s: %s", path, vfr_backtest_strategy_name(o.strategy));
        if (o.strategy == VFR_STRATEGY_TOP_K)
            printf(" k=%d", o.k);
        else
            printf(" threshold=%g", o.threshold);
        printf(" (options: %s)", from);
        printf(", horizon %d, %g bps, %d dates (%s to %s), %d symbols, set %s\n", o.horizon,
               o.cost_bps, p->T, p->T ? d0 : "-", p->T ? d1 : "-", p->S,
               vfr_predictions_set_name(set));
        report(NULL, (const char *const *)p->score_names, p->M, met);
        if (out)
            printf("daily returns and equity curves: %s\n", out);
    }
done:
    free(met), free(daily), free(dates);
    vfr_predictions_free(p);
    return rc;
}
