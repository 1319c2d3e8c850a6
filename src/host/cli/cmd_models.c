/* cmd_models.c: `vfr models ...`: the model registry from the command line
 * (register, list, show, deploy, promote, rollback, history, ab, validate,
 * check, migrate, bench). It parses arguments, calls registry.h and prints a table or,
 * with --json, the library's JSON. Bad input (a bad name, an unknown alias or
 * version, a folder that is not a registry) exits 2 with nothing changed. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "vfr/model_cache.h"
#include "vfr/registry.h"
#include "vfr/runfolder.h"

static const char help[] =
    "usage: vfr models <command> [options]\n\n"
    "The model registry: immutable versions with lineage, champion/challenger\n"
    "aliases with history, A/B tests, a validation gate (docs/registry.md).\n\n"
    "commands:\n"
    "  register RUN_DIR [--name NAME] [--version X.Y.Z]\n"
    "                      register a finished `vfr train` run folder as a new version\n"
    "                      (version: --version, else the job's modelVersion, else next patch)\n"
    "  list                models with their latest version, champion and challenger\n"
    "  show REF            a model's versions (NAME) or one version's record\n"
    "                      (NAME:VERSION, NAME@champion, NAME@challenger)\n"
    "  deploy NAME:VERSION --as champion|challenger [--traffic 0.1] [--reason TEXT] [--force]\n"
    "                      move an alias; as challenger, start an A/B test with that share\n"
    "  deploy NAME:VERSION --auto [--as ...] [--traffic X]\n"
    "                      the job's autoDeploy: only when the stored comparison says\n"
    "                      shouldDeploy and the gate passes; exit 0 either way\n"
    "  promote NAME [--reason TEXT] [--force]   make the challenger the champion\n"
    "  rollback NAME [--reason TEXT] [--force]  return the champion to the one before it\n"
    "  history NAME        every alias move: when, who, alias, action, from, to, why\n"
    "  ab NAME [--stop [--reason TEXT]]         the A/B test (or stop it)\n"
    "  validate NAME:VERSION                    run the validation gate, change nothing\n"
    "  check               consistency: database, every artifact's SHA-256, aliases\n"
    "  migrate --from DIR|URI --to URI\n"
    "                      copy a registry (versions, aliases, history, A/B tests,\n"
    "                      artifacts) into an empty one, e.g. a folder into PostgreSQL,\n"
    "                      and check the copy value for value\n"
    "  bench REF [--iterations N]               cold load and cache hit times\n\n"
    "options:\n"
    "  --registry DIR|URI  the registry: a folder, or a PostgreSQL server\n"
    "                      (postgresql://user@host:port/db; the password from PGPASSFILE,\n"
    "                      PGPASSWORD or the URI, never printed) (default $VFR_REGISTRY,\n"
    "                      else ./vfr-registry)\n"
    "  --json              print JSON instead of a table\n"
    "  --force             deploy, promote, rollback without the validation gate (recorded)\n"
    "gate options (validate, deploy, promote, rollback):\n"
    "  --max-bytes N       artifact size limit (default 100000000)\n"
    "  --max-load-ms X     cold load time limit (default 50)\n"
    "  --min KEY=V, --max KEY=V   metric thresholds; KEY is a path into metrics.json,\n"
    "                      e.g. --min test.accuracy=0.52 (repeatable)\n\n"
    "The gate's checks: metrics (the job's baseline.minSharpe and maxDrawdown on the\n"
    "model's backtest, and --min/--max), artifact_size, integrity (SHA-256),\n"
    "load_time, prediction_parity (the probe set within 1e-6), no_nan. A failed\n"
    "check names itself and moves no alias.\n\n"
    "exit codes: 0 ok, 1 runtime failure or failed validation, 2 bad input\n"
    "(bad name, unknown model, version or alias, not a registry, duplicate version)\n";

enum {
    O_NAME = 1 << 0,
    O_VERSION = 1 << 1,
    O_AS = 1 << 2,
    O_TRAFFIC = 1 << 3,
    O_REASON = 1 << 4,
    O_FORCE = 1 << 5,
    O_GATE = 1 << 6,
    O_STOP = 1 << 7,
    O_ITER = 1 << 8,
    O_AUTO = 1 << 9,
    O_FROMTO = 1 << 10,
};

typedef struct opts {
    const char *registry, *name, *version, *as, *reason, *pos, *from, *to;
    double traffic;
    int json, force, stop, autodeploy;
    int64_t iterations;
    vfr_registry_gate gate;
    cJSON *thresholds;
    char *thresholds_text;
} opts;

/* --min KEY=V / --max KEY=V into {"KEY": {"min": V}} */
static int add_threshold(opts *o, const char *opt, const char *kv)
{
    const char *eq = strchr(kv, '=');
    double v;
    if (!eq || eq == kv) {
        cli_usage_error("%s '%s': want METRIC=VALUE, e.g. test.accuracy=0.52", opt, kv);
        return -1;
    }
    if (cli_parse_double(opt, eq + 1, -INFINITY, INFINITY, &v) < 0)
        return -1;
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
    if (!o->thresholds)
        o->thresholds = cJSON_CreateObject();
    cJSON *t = cJSON_GetObjectItemCaseSensitive(o->thresholds, key);
    if (!t)
        t = cJSON_AddObjectToObject(o->thresholds, key);
    cJSON_DeleteItemFromObjectCaseSensitive(t, opt + 2);
    cJSON_AddNumberToObject(t, opt + 2, v);
    return 0;
}

static int threshold_opt(const char *name, const char *value, void *dest) { return add_threshold(dest, name, value); }

/* Parses argv (after the subcommand) allowing the options in `allow`;
 * one positional argument at most (want_pos). Returns 0, -1 after --help,
 * or an exit code. The options are documented by the usage lines of help. */
static int parse(int argc, char **argv, unsigned allow, int want_pos, opts *o)
{
    const struct {
        unsigned need; /* 0: every subcommand */
        cli_option opt;
    } all[] = {
        {0, {.name = "--json", .kind = CLI_FLAG, .dest = &o->json}},
        {O_FORCE, {.name = "--force", .kind = CLI_FLAG, .dest = &o->force}},
        {O_AUTO, {.name = "--auto", .kind = CLI_FLAG, .dest = &o->autodeploy}},
        {O_STOP, {.name = "--stop", .kind = CLI_FLAG, .dest = &o->stop}},
        {0, {.name = "--registry", .kind = CLI_STR, .dest = &o->registry}},
        {O_FROMTO, {.name = "--from", .kind = CLI_STR, .dest = &o->from}},
        {O_FROMTO, {.name = "--to", .kind = CLI_STR, .dest = &o->to}},
        {O_NAME, {.name = "--name", .kind = CLI_STR, .dest = &o->name}},
        {O_VERSION, {.name = "--version", .kind = CLI_STR, .dest = &o->version}},
        {O_AS, {.name = "--as", .kind = CLI_STR, .dest = &o->as}},
        {O_REASON, {.name = "--reason", .kind = CLI_STR, .dest = &o->reason}},
        {O_TRAFFIC, {.name = "--traffic", .kind = CLI_F64, .dest = &o->traffic, .lo = 1e-9, .hi = 1.0}},
        {O_ITER, {.name = "--iterations", .kind = CLI_I64, .dest = &o->iterations, .lo = 1, .hi = 1000000}},
        {O_GATE, {.name = "--max-bytes", .kind = CLI_I64, .dest = &o->gate.max_artifact_bytes, .lo = 1, .hi = 9e18}},
        {O_GATE, {.name = "--max-load-ms", .kind = CLI_F64, .dest = &o->gate.max_load_ms, .lo = 1e-6, .hi = 1e9}},
        {O_GATE, {.name = "--min", .kind = CLI_FN, .dest = o, .parse = threshold_opt}},
        {O_GATE, {.name = "--max", .kind = CLI_FN, .dest = o, .parse = threshold_opt}},
    };
    cli_option table[sizeof all / sizeof all[0] + 1];
    size_t n = 0;
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        if (!all[k].need || (allow & all[k].need))
            table[n++] = all[k].opt;
    table[n] = (cli_option){0};
    int rc = cli_parse(argc, argv, help, table, NULL, &o->pos, want_pos ? 1 : 0);
    if (rc)
        return rc;
    if (!o->registry)
        o->registry = vfr_registry_default_dir();
    if (o->thresholds) {
        o->thresholds_text = cJSON_PrintUnformatted(o->thresholds);
        o->gate.thresholds_json = o->thresholds_text;
    }
    return 0;
}

static void opts_free(opts *o)
{
    cJSON_Delete(o->thresholds);
    free(o->thresholds_text);
}

static const char *js(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(x) ? x->valuestring : "-";
}

/* Prints JSON text as is (--json) or hands it to a table printer. */
static int emit(const opts *o, char *text, void (*table)(const cJSON *))
{
    if (o->json) {
        puts(text);
    } else {
        cJSON *d = cJSON_Parse(text);
        if (d)
            table(d);
        cJSON_Delete(d);
    }
    free(text);
    return 0;
}

static void print_validation(const vfr_registry_validation *v)
{
    if (v->n == 0) {
        printf("validation gate: skipped (--force)\n");
        return;
    }
    printf("validation of %s:%s: %s\n", v->name, v->version, v->passed ? "passed" : "FAILED");
    for (int i = 0; i < v->n; i++) {
        const vfr_registry_check_result *c = &v->checks[i];
        printf("  %-18s %-8s %s\n", c->name, c->status == 1 ? "passed" : c->status == 0 ? "FAILED" : "not run",
               c->detail);
    }
}

/* ---- subcommands ------------------------------------------------------------------ */

static vfr_status open_reg(const opts *o, int create, vfr_registry **reg)
{
    return vfr_registry_open(o->registry, create, reg);
}

static int do_register(int argc, char **argv)
{
    opts o = {0};
    int rc = parse(argc, argv, O_NAME | O_VERSION, 1, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!o.pos)
        return cli_usage_error("which run folder? vfr models register RUN_DIR");
    vfr_registry *reg = NULL;
    vfr_registry_version *v = NULL;
    vfr_registry_register_options ro = {o.name, o.version, NULL};
    /* bad input is refused before the registry folder is created */
    vfr_status st = o.name ? vfr_registry_check_name(o.name) : VFR_OK;
    int32_t sv[3];
    if (st == VFR_OK && o.version)
        st = vfr_registry_parse_semver(o.version, sv);
    if (st == VFR_OK)
        st = vfr_runfolder_check_finished(o.pos);
    if (st == VFR_OK)
        st = open_reg(&o, 1, &reg);
    if (st == VFR_OK)
        st = vfr_registry_register_run(reg, o.pos, &ro, &v);
    if (st == VFR_OK) {
        if (o.json) {
            char *text = NULL;
            char ref[200];
            snprintf(ref, sizeof ref, "%s:%s", v->name, v->version);
            if ((st = vfr_registry_show_json(reg, ref, &text)) == VFR_OK)
                puts(text);
            free(text);
        } else {
            printf("registered %s:%s (parent %s) in %s\n  artifact %s  %s, %lld bytes\n", v->name, v->version,
                   v->parent[0] ? v->parent : "none", o.registry, v->artifact_name, v->artifact_sha256,
                   (long long)v->artifact_bytes);
        }
    }
    vfr_registry_version_free(v);
    vfr_registry_close(reg);
    opts_free(&o);
    return st == VFR_OK ? 0 : cli_fail(st);
}

static void list_table(const cJSON *d)
{
    const cJSON *m, *arr = cJSON_GetObjectItemCaseSensitive(d, "models");
    if (cJSON_GetArraySize(arr) == 0) {
        printf("no models in %s\n", js(d, "registry"));
        return;
    }
    printf("%-28s %8s %-10s %-10s %s\n", "model", "versions", "latest", "champion", "challenger (traffic)");
    cJSON_ArrayForEach(m, arr)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "traffic");
        char chal[64];
        if (cJSON_IsNumber(t))
            snprintf(chal, sizeof chal, "%s (%.3g)", js(m, "challenger"), t->valuedouble);
        else
            snprintf(chal, sizeof chal, "-");
        printf("%-28s %8d %-10s %-10s %s\n", js(m, "name"),
               cJSON_GetObjectItemCaseSensitive(m, "versions")->valueint, js(m, "latest"), js(m, "champion"), chal);
    }
}

/* The read-only commands: open the registry, ask it for one JSON document
 * about o->pos, close it, print the document (as a table or as JSON). */
typedef vfr_status (*json_query)(vfr_registry *reg, const char *arg, char **out);

static int query(opts *o, json_query q, void (*table)(const cJSON *))
{
    vfr_registry *reg = NULL;
    char *text = NULL;
    vfr_status st = open_reg(o, 0, &reg);
    if (st == VFR_OK)
        st = q(reg, o->pos, &text);
    vfr_registry_close(reg);
    opts_free(o);
    if (st != VFR_OK)
        return cli_fail(st);
    return emit(o, text, table);
}

static vfr_status list_json(vfr_registry *reg, const char *arg, char **out)
{
    (void)arg;
    return vfr_registry_list_json(reg, out);
}

static int do_list(int argc, char **argv)
{
    opts o = {0};
    int rc = parse(argc, argv, 0, 0, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    return query(&o, list_json, list_table);
}

static double metric(const cJSON *v, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(v, "testMetrics"), k);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static void fmt_metric(char out[16], double x)
{
    if (isfinite(x))
        snprintf(out, 16, "%.4f", x);
    else
        snprintf(out, 16, "-");
}

static void show_table(const cJSON *d)
{
    const cJSON *vers = cJSON_GetObjectItemCaseSensitive(d, "versions"), *v;
    if (!vers) { /* one version's record */
        const cJSON *lin = cJSON_GetObjectItemCaseSensitive(d, "lineage");
        const cJSON *ds = cJSON_GetObjectItemCaseSensitive(lin, "dataset");
        const cJSON *vv = cJSON_GetObjectItemCaseSensitive(lin, "versions");
        const cJSON *art = cJSON_GetObjectItemCaseSensitive(d, "artifact");
        const cJSON *dec = cJSON_GetObjectItemCaseSensitive(d, "decision");
        const cJSON *te = cJSON_GetObjectItemCaseSensitive(lin, "trialsEvaluated");
        printf("%s:%s  %s (%s, horizon %d)\n", js(d, "name"), js(d, "version"), js(d, "modelType"),
               js(d, "objective"), cJSON_GetObjectItemCaseSensitive(d, "horizon")->valueint);
        printf("  registered   %s by %s, parent %s\n", js(d, "createdAt"), js(d, "createdBy"), js(d, "parent"));
        printf("  artifact     %s  sha256 %s  %.0f bytes\n", js(art, "name"), js(art, "sha256"),
               cJSON_GetObjectItemCaseSensitive(art, "bytes")->valuedouble);
        printf("  dataset      %s  sha256 %s  %s to %s, %d symbols\n", js(ds, "path"), js(ds, "sha256"),
               js(ds, "dateFirst"), js(ds, "dateLast"),
               cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ds, "symbols")));
        printf("  trials       %.0f\n", cJSON_IsNumber(te) ? te->valuedouble : 1.0);
        const char *lib = cJSON_GetObjectItemCaseSensitive(vv, "lightgbm") ? "lightgbm" : "xgboost";
        printf("  versions     vfr %s, %s %s, CUDA runtime %s\n", js(vv, "vfr"), lib, js(vv, lib),
               js(vv, "cudaRuntime"));
        printf("  decision     %s\n", dec && !cJSON_IsNull(dec) ? js(dec, "reason") : "none (no comparison.json)");
        printf("  (--json for the full record: lineage, metrics, comparison, job)\n");
        return;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(d, "traffic");
    printf("%s: champion %s, challenger %s", js(d, "name"), js(d, "champion"), js(d, "challenger"));
    if (cJSON_IsNumber(t))
        printf(" (traffic %.3g)", t->valuedouble);
    printf("\n\n%-10s %-20s %-12s %-8s %-10s %-22s %9s %9s\n", "version", "created", "by", "type", "parent", "aliases",
           "accuracy", "rmse");
    cJSON_ArrayForEach(v, vers)
    {
        char al[64] = "";
        const cJSON *a;
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(v, "aliases"))
        {
            size_t n = strlen(al);
            snprintf(al + n, sizeof al - n, "%s%s", n ? "," : "", a->valuestring);
        }
        char acc[16], rmse[16];
        fmt_metric(acc, metric(v, "accuracy"));
        fmt_metric(rmse, metric(v, "rmse"));
        printf("%-10s %-20s %-12s %-8s %-10s %-22s %9s %9s\n", js(v, "version"), js(v, "createdAt"),
               js(v, "createdBy"), js(v, "modelType"), js(v, "parent"), al[0] ? al : "-", acc, rmse);
    }
}

static int do_show(int argc, char **argv)
{
    opts o = {0};
    int rc = parse(argc, argv, 0, 1, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!o.pos)
        return cli_usage_error("which model? vfr models show NAME[:VERSION|@ALIAS]");
    return query(&o, vfr_registry_show_json, show_table);
}

/* "NAME:VERSION" -> name, version (both required). */
static vfr_status split_ref(const char *s, vfr_registry_ref *r)
{
    vfr_status st = vfr_registry_parse_ref(s, r);
    if (st == VFR_OK && !r->version[0])
        st = vfr_fail(VFR_ERR_INVALID_ARG, "'%s': name a version, NAME:VERSION (e.g. %s:1.0.0)", s, r->name);
    return st;
}

static int finish_move(const opts *o, vfr_status st, const vfr_registry_validation *val, const char *what)
{
    if (!o->json && val->n > 0)
        print_validation(val);
    else if (!o->json && o->force && st == VFR_OK)
        printf("validation gate: skipped (--force)\n");
    if (o->json && (val->n > 0 || st == VFR_OK)) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddBoolToObject(d, "ok", st == VFR_OK);
        cJSON_AddStringToObject(d, "result", st == VFR_OK ? what : vfr_last_error());
        char *vj = val->n > 0 ? vfr_registry_validation_json(val) : NULL;
        cJSON *vv = vj ? cJSON_Parse(vj) : NULL;
        cJSON_AddItemToObject(d, "validation", vv ? vv : cJSON_CreateNull());
        free(vj);
        char *t = cJSON_Print(d);
        puts(t ? t : "{}");
        free(t);
        cJSON_Delete(d);
    } else if (st == VFR_OK) {
        printf("%s\n", what);
    }
    return st == VFR_OK ? 0 : cli_fail(st);
}

static int do_deploy(int argc, char **argv)
{
    opts o = {0};
    int rc = parse(argc, argv, O_AS | O_TRAFFIC | O_REASON | O_FORCE | O_GATE | O_AUTO, 1, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!o.pos)
        return cli_usage_error("what to deploy? vfr models deploy NAME:VERSION --as champion|challenger");
    if (!o.as && !o.autodeploy)
        return cli_usage_error("--as champion|challenger is required");
    if (o.autodeploy && o.force)
        return cli_usage_error("--auto and --force exclude each other");
    vfr_registry_ref r;
    vfr_registry_deploy_options d = {0};
    vfr_registry_validation val = {0};
    vfr_registry *reg = NULL;
    vfr_status st = split_ref(o.pos, &r);
    if (st == VFR_OK && o.as)
        st = vfr_registry_alias_parse(o.as, &d.as);
    if (st == VFR_OK && o.traffic > 0 && d.as != VFR_REGISTRY_CHALLENGER)
        st = vfr_fail(VFR_ERR_INVALID_ARG, "--traffic is for --as challenger");
    if (st != VFR_OK) {
        opts_free(&o);
        return cli_fail(st);
    }
    d.traffic = o.traffic;
    d.reason = o.reason;
    d.force = o.force;
    d.gate = &o.gate;
    st = open_reg(&o, 0, &reg);
    vfr_registry_auto_result ar = {0};
    if (st == VFR_OK && o.autodeploy)
        st = vfr_registry_auto_deploy(reg, r.name, r.version, &d, &val, &ar);
    else if (st == VFR_OK)
        st = vfr_registry_deploy(reg, r.name, r.version, &d, &val);
    char what[1100];
    if (d.as == VFR_REGISTRY_CHALLENGER)
        snprintf(what, sizeof what, "%s: challenger is %s with %.3g of the traffic (A/B test started)", r.name,
                 r.version, d.traffic > 0 ? d.traffic : 0.1);
    else
        snprintf(what, sizeof what, "%s: champion is %s", r.name, r.version);
    if (o.autodeploy)
        snprintf(what, sizeof what, "%s", ar.why);
    rc = finish_move(&o, st, &val, what);
    vfr_registry_close(reg);
    opts_free(&o);
    return rc;
}

static int do_promote_rollback(int argc, char **argv, int rollback)
{
    opts o = {0};
    int rc = parse(argc, argv, O_REASON | O_FORCE | O_GATE, 1, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!o.pos)
        return cli_usage_error("which model? vfr models %s NAME", rollback ? "rollback" : "promote");
    vfr_registry_deploy_options d = {0};
    vfr_registry_validation val = {0};
    vfr_registry *reg = NULL;
    char ver[32] = "", what[512];
    d.reason = o.reason;
    d.force = o.force;
    d.gate = &o.gate;
    vfr_status st = vfr_registry_check_name(o.pos);
    if (st == VFR_OK)
        st = open_reg(&o, 0, &reg);
    if (st == VFR_OK)
        st = rollback ? vfr_registry_rollback(reg, o.pos, &d, &val, ver)
                      : vfr_registry_promote(reg, o.pos, &d, &val, ver);
    snprintf(what, sizeof what, "%s: champion is %s%s", o.pos, ver, rollback ? " (rolled back)" : " (promoted)");
    rc = finish_move(&o, st, &val, what);
    vfr_registry_close(reg);
    opts_free(&o);
    return rc;
}

static void history_table(const cJSON *d)
{
    const cJSON *h, *arr = cJSON_GetObjectItemCaseSensitive(d, "history");
    if (cJSON_GetArraySize(arr) == 0) {
        printf("%s: no alias moves yet\n", js(d, "name"));
        return;
    }
    printf("%-20s %-12s %-10s %-9s %-8s %-8s %s\n", "when", "who", "alias", "action", "from", "to", "why");
    cJSON_ArrayForEach(h, arr)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(h, "traffic");
        char reason[600], tr[32] = "";
        if (cJSON_IsNumber(t))
            snprintf(tr, sizeof tr, " [traffic %.3g]", t->valuedouble);
        snprintf(reason, sizeof reason, "%s%s%s", js(h, "reason"),
                 cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h, "forced")) ? " [forced]" : "", tr);
        printf("%-20s %-12s %-10s %-9s %-8s %-8s %s\n", js(h, "at"), js(h, "who"), js(h, "alias"), js(h, "action"),
               js(h, "from"), js(h, "to"), reason);
    }
}

static int do_history(int argc, char **argv)
{
    opts o = {0};
    int rc = parse(argc, argv, 0, 1, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!o.pos)
        return cli_usage_error("which model? vfr models history NAME");
    vfr_status st = vfr_registry_check_name(o.pos);
    if (st != VFR_OK) {
        opts_free(&o);
        return cli_fail(st);
    }
    return query(&o, vfr_registry_history_json, history_table);
}

static void ab_table(const cJSON *d)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(d, "active"), *t;
    if (a && !cJSON_IsNull(a))
        printf("%s: A/B test running since %s (by %s)\n  champion   %s\n  challenger %s, traffic %.3g\n"
               "  routing    by symbol: challenger when route_bucket(model, symbol) < %.3g\n",
               js(d, "name"), js(a, "startedAt"), js(a, "startedBy"), js(d, "champion"), js(a, "challenger"),
               cJSON_GetObjectItemCaseSensitive(a, "traffic")->valuedouble,
               cJSON_GetObjectItemCaseSensitive(a, "traffic")->valuedouble);
    else
        printf("%s: no A/B test running (champion %s)\n", js(d, "name"), js(d, "champion"));
    const cJSON *past = cJSON_GetObjectItemCaseSensitive(d, "past");
    if (cJSON_GetArraySize(past) > 0) {
        printf("\npast tests:\n");
        cJSON_ArrayForEach(t, past)
        {
            printf("  %s vs %s, traffic %.3g: %s to %s, %s\n", js(t, "championAtStart"), js(t, "challenger"),
                   cJSON_GetObjectItemCaseSensitive(t, "traffic")->valuedouble, js(t, "startedAt"), js(t, "endedAt"),
                   js(t, "outcome"));
        }
    }
}

static int do_ab(int argc, char **argv)
{
    opts o = {0};
    int rc = parse(argc, argv, O_STOP | O_REASON, 1, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!o.pos)
        return cli_usage_error("which model? vfr models ab NAME");
    vfr_registry *reg = NULL;
    char *text = NULL;
    vfr_status st = vfr_registry_check_name(o.pos);
    if (st == VFR_OK)
        st = open_reg(&o, 0, &reg);
    if (st == VFR_OK && o.stop)
        st = vfr_registry_ab_stop(reg, o.pos, o.reason, NULL);
    if (st == VFR_OK)
        st = vfr_registry_ab_json(reg, o.pos, &text);
    vfr_registry_close(reg);
    opts_free(&o);
    if (st != VFR_OK)
        return cli_fail(st);
    if (o.stop && !o.json)
        printf("%s: A/B test stopped\n", o.pos);
    return emit(&o, text, ab_table);
}

static int do_validate(int argc, char **argv)
{
    opts o = {0};
    int rc = parse(argc, argv, O_GATE, 1, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!o.pos)
        return cli_usage_error("which version? vfr models validate NAME:VERSION");
    vfr_registry_ref r;
    vfr_registry_validation val = {0};
    vfr_registry *reg = NULL;
    vfr_status st = split_ref(o.pos, &r);
    if (st == VFR_OK)
        st = open_reg(&o, 0, &reg);
    if (st == VFR_OK)
        st = vfr_registry_validate(reg, r.name, r.version, &o.gate, &val);
    vfr_registry_close(reg);
    opts_free(&o);
    if (val.n > 0) {
        if (o.json) {
            char *t = vfr_registry_validation_json(&val);
            puts(t ? t : "{}");
            free(t);
        } else {
            print_validation(&val);
        }
    }
    return st == VFR_OK ? 0 : cli_fail(st);
}

static int do_check(int argc, char **argv)
{
    opts o = {0};
    int rc = parse(argc, argv, 0, 0, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    vfr_registry *reg = NULL;
    char *text = NULL;
    vfr_status st = open_reg(&o, 0, &reg);
    if (st == VFR_OK)
        st = vfr_registry_check(reg, &text);
    vfr_registry_close(reg);
    opts_free(&o);
    if (text) {
        cJSON *d = cJSON_Parse(text);
        if (o.json) {
            puts(text);
        } else if (d) {
            const cJSON *p;
            printf("registry %s: %s, %d versions, %d stored objects\n", js(d, "registry"),
                   cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "ok")) ? "ok" : "PROBLEMS",
                   cJSON_GetObjectItemCaseSensitive(d, "versions")->valueint,
                   cJSON_GetObjectItemCaseSensitive(d, "objects")->valueint);
            cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(d, "problems"))
            printf("  %s\n", p->valuestring);
        }
        cJSON_Delete(d);
        free(text);
    }
    return st == VFR_OK ? 0 : cli_fail(st);
}

static int do_migrate(int argc, char **argv)
{
    opts o = {0};
    int rc = parse(argc, argv, O_FROMTO, 0, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!o.from || !o.to)
        return cli_usage_error("vfr models migrate --from DIR --to postgresql://...: both are needed");
    vfr_registry *from = NULL, *to = NULL;
    char *text = NULL;
    vfr_status st = vfr_registry_open(o.from, 0, &from);
    if (st == VFR_OK)
        st = vfr_registry_open(o.to, 1, &to);
    if (st == VFR_OK)
        st = vfr_registry_copy(from, to, &text);
    if (st == VFR_OK) {
        if (o.json) {
            puts(text);
        } else {
            cJSON *d = cJSON_Parse(text);
            printf("copied %s into %s: %d models, %d versions, %d aliases, %d alias moves, %d A/B tests, "
                   "%d objects; the copy checks out\n",
                   js(d, "from"), js(d, "to"), cJSON_GetObjectItemCaseSensitive(d, "models")->valueint,
                   cJSON_GetObjectItemCaseSensitive(d, "versions")->valueint,
                   cJSON_GetObjectItemCaseSensitive(d, "aliases")->valueint,
                   cJSON_GetObjectItemCaseSensitive(d, "history")->valueint,
                   cJSON_GetObjectItemCaseSensitive(d, "abTests")->valueint,
                   cJSON_GetObjectItemCaseSensitive(d, "objects")->valueint);
            cJSON_Delete(d);
        }
    }
    free(text);
    vfr_registry_close(from);
    vfr_registry_close(to);
    opts_free(&o);
    return st == VFR_OK ? 0 : cli_fail(st);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static vfr_status noop_loader(void *ctx, vfr_model **out)
{
    (void)ctx;
    *out = NULL;
    return vfr_fail(VFR_ERR_INTERNAL, "bench: the cache missed after warm-up");
}

/* Cold loads (digest + parse, as a cache miss in vfr predict does; and
 * vfr_model_load alone, as the gate's load_time measures) and cache hits. */
static int do_bench(int argc, char **argv)
{
    opts o = {0};
    o.iterations = 50;
    int rc = parse(argc, argv, O_ITER, 1, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!o.pos)
        return cli_usage_error("which model? vfr models bench NAME[:VERSION|@ALIAS]");
    vfr_registry *reg = NULL;
    vfr_registry_version *v = NULL;
    vfr_model_cache *cache = NULL;
    vfr_model *m = NULL;
    int64_t n = o.iterations, hits = n * 1000;
    double *cold = calloc((size_t)n, sizeof *cold), *parse_only = calloc((size_t)n, sizeof *parse_only);
    vfr_status st = cold && parse_only ? VFR_OK : vfr_fail(VFR_ERR_NOMEM, "bench: out of memory");
    if (st == VFR_OK)
        st = open_reg(&o, 0, &reg);
    if (st == VFR_OK)
        st = vfr_registry_get(reg, o.pos, &v);
    if (st == VFR_OK) /* the library's one-time dlopen is not a model load */
        st = vfr_model_preload(v->model_type);
    char path[4400];
    vfr_model_config cfg = {0};
    if (st == VFR_OK)
        st = vfr_registry_object_fetch(reg, v->artifact_sha256, path, sizeof path);
    if (st == VFR_OK) {
        cfg.type = v->model_type;
        cfg.params_json = "{}";
        cfg.objective = v->objective;
        cfg.device = VFR_DEVICE_CPU;
        cfg.F = v->F;
        cfg.feature_names = (const char *const *)v->feature_names;
    }
    for (int64_t i = 0; st == VFR_OK && i < n; i++) {
        double t0 = now_s();
        st = vfr_registry_load_model(reg, v, NULL, &m);
        cold[i] = (now_s() - t0) * 1e3;
        vfr_model_cache_release(NULL, m);
        m = NULL;
        if (st != VFR_OK)
            break;
        t0 = now_s();
        st = vfr_model_load(&cfg, path, &m);
        parse_only[i] = (now_s() - t0) * 1e3;
        vfr_model_destroy(m);
        m = NULL;
    }
    double hit_ns = NAN;
    vfr_model_cache_stats cs = {0};
    if (st == VFR_OK)
        st = vfr_model_cache_create((size_t)v->artifact_bytes * 4 + 1, &cache);
    if (st == VFR_OK && (st = vfr_registry_load_model(reg, v, cache, &m)) == VFR_OK) {
        vfr_model_cache_release(cache, m);
        double t0 = now_s();
        for (int64_t i = 0; st == VFR_OK && i < hits; i++) {
            st = vfr_model_cache_acquire(cache, v->artifact_sha256, (size_t)v->artifact_bytes, noop_loader, NULL, &m,
                                         NULL);
            vfr_model_cache_release(cache, m);
        }
        hit_ns = (now_s() - t0) * 1e9 / (double)hits;
        vfr_model_cache_stats_get(cache, &cs);
    }
    if (st == VFR_OK) {
        qsort(cold, (size_t)n, sizeof *cold, cmp_double);
        qsort(parse_only, (size_t)n, sizeof *parse_only, cmp_double);
        if (o.json)
            printf("{\"model\": \"%s:%s\", \"type\": \"%s\", \"artifactBytes\": %lld, \"iterations\": %lld,\n"
                   " \"coldLoadMs\": {\"min\": %.4f, \"median\": %.4f, \"max\": %.4f},\n"
                   " \"parseOnlyMs\": {\"min\": %.4f, \"median\": %.4f, \"max\": %.4f},\n"
                   " \"cacheHitNs\": %.1f, \"cacheHits\": %llu, \"cacheMisses\": %llu}\n",
                   v->name, v->version, v->model_type, (long long)v->artifact_bytes, (long long)n, cold[0],
                   cold[n / 2], cold[n - 1], parse_only[0], parse_only[n / 2], parse_only[n - 1], hit_ns,
                   (unsigned long long)cs.hits, (unsigned long long)cs.misses);
        else
            printf("%s:%s (%s, %lld bytes), %lld cold loads:\n"
                   "  cold load (SHA-256 check + parse)  min %.3f ms, median %.3f ms, max %.3f ms\n"
                   "  parse only (vfr_model_load)       min %.3f ms, median %.3f ms, max %.3f ms\n"
                   "  cache hit (acquire + release)     %.1f ns (%llu hits, %llu miss)\n",
                   v->name, v->version, v->model_type, (long long)v->artifact_bytes, (long long)n, cold[0],
                   cold[n / 2], cold[n - 1], parse_only[0], parse_only[n / 2], parse_only[n - 1], hit_ns,
                   (unsigned long long)cs.hits, (unsigned long long)cs.misses);
    }
    free(cold);
    free(parse_only);
    vfr_model_cache_destroy(cache);
    vfr_registry_version_free(v);
    vfr_registry_close(reg);
    opts_free(&o);
    return st == VFR_OK ? 0 : cli_fail(st);
}

int cmd_models(int argc, char **argv)
{
    if (argc == 0) {
        fputs(help, stderr);
        return 2;
    }
    const char *c = argv[0];
    if (cli_is_help(c)) {
        fputs(help, stdout);
        return 0;
    }
    argc--, argv++;
    if (strcmp(c, "register") == 0)
        return do_register(argc, argv);
    if (strcmp(c, "list") == 0)
        return do_list(argc, argv);
    if (strcmp(c, "show") == 0)
        return do_show(argc, argv);
    if (strcmp(c, "deploy") == 0)
        return do_deploy(argc, argv);
    if (strcmp(c, "promote") == 0)
        return do_promote_rollback(argc, argv, 0);
    if (strcmp(c, "rollback") == 0)
        return do_promote_rollback(argc, argv, 1);
    if (strcmp(c, "history") == 0)
        return do_history(argc, argv);
    if (strcmp(c, "ab") == 0)
        return do_ab(argc, argv);
    if (strcmp(c, "validate") == 0)
        return do_validate(argc, argv);
    if (strcmp(c, "migrate") == 0)
        return do_migrate(argc, argv);
    if (strcmp(c, "check") == 0)
        return do_check(argc, argv);
    if (strcmp(c, "bench") == 0)
        return do_bench(argc, argv);
    return cli_usage_error("unknown models command '%s' (register, list, show, deploy, promote, rollback, "
                           "history, ab, validate, check, migrate, bench)",
                           c);
}
