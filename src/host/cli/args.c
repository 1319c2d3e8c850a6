/* args.c: strict argument parsing for the subcommands (no atoi: every number
 * is checked for trailing junk and range, and the option is named on error),
 * and cli_parse: a command's option table parsed, and its --help written,
 * by one function. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vfr/backtest.h"
#include "vfr/dataset.h"
#include "vfr/predictions.h"

int cli_flag(const char *arg, const char *name) { return strcmp(arg, name) == 0; }

int cli_is_help(const char *arg) { return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0; }

int cli_opt(int argc, char **argv, int *i, const char *name, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        cli_usage_error("%s needs a value", name);
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

int cli_parse_i64(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        cli_usage_error("%s '%s': want an integer in [%lld, %lld]", opt, s, (long long)lo,
                        (long long)hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_double(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        cli_usage_error("%s '%s': want a number in [%g, %g]", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_u64(const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-') {
        cli_usage_error("%s '%s': want a non-negative integer", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_int_list(const char *opt, const char *s, int32_t *out, int cap)
{
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (errno || end == p || (*end && *end != ',') || v <= 0 || v > 100000 || n >= cap ||
            (n > 0 && v <= out[n - 1])) {
            cli_usage_error("%s '%s': want ascending positive integers like 1,5,10,20", opt, s);
            return -1;
        }
        out[n++] = (int32_t)v;
        p = *end ? end + 1 : end;
    }
    if (n == 0) {
        cli_usage_error("%s is empty", opt);
        return -1;
    }
    return n;
}

/* ---- option tables ------------------------------------------------------ */

static int width_of(const cli_option *opts)
{
    int w = 0;
    for (const cli_option *o = opts; o->name; o++) {
        if (!o->help || o->kind == CLI_TEXT)
            continue;
        int n = (int)strlen(o->name) + (o->arg ? 1 + (int)strlen(o->arg) : 0);
        w = n > w ? n : w;
    }
    return w + 2;
}

void cli_print_help(FILE *f, const char *usage, const cli_option *opts, const char *after)
{
    fputs(usage, f);
    int w = width_of(opts);
    for (const cli_option *o = opts; o->name; o++) {
        if (o->kind == CLI_TEXT)
            fputs(o->help, f);
        if (!o->help || o->kind == CLI_TEXT)
            continue;
        char left[128];
        snprintf(left, sizeof left, "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "  %-*s", w, left);
        for (const char *p = o->help; *p; p++) {
            fputc(*p, f);
            if (*p == '\n')
                fprintf(f, "  %-*s", w, "");
        }
        fputc('\n', f);
    }
    if (after)
        fputs(after, f);
}

/* One option's value into its destination: 0, or -1 (error printed). */
static int take(const cli_option *o, const char *v)
{
    switch (o->kind) {
    case CLI_STR: *(const char **)o->dest = v; return 0;
    case CLI_I64: return cli_parse_i64(o->name, v, (int64_t)o->lo, (int64_t)o->hi, (int64_t *)o->dest);
    case CLI_F64: return cli_parse_double(o->name, v, o->lo, o->hi, (double *)o->dest);
    case CLI_U64: return cli_parse_u64(o->name, v, (uint64_t *)o->dest);
    case CLI_FN: return o->parse(o->name, v, o->dest);
    default: return 0;
    }
}

int cli_parse(int argc, char **argv, const char *usage, const cli_option *opts, const char *after, const char **pos,
              int npos)
{
    int n = 0;
    uint64_t seen = 0; /* bit k: opts[k] was given */
    for (int i = 0; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            cli_print_help(stdout, usage, opts, after);
            return -1;
        }
        const cli_option *o = opts;
        int m = 0;
        const char *v = NULL;
        for (; o->name; o++) {
            if (o->kind == CLI_TEXT)
                continue;
            if (o->kind == CLI_FLAG || o->kind == CLI_IGNORE) {
                if ((m = cli_flag(argv[i], o->name)) != 0)
                    break;
            } else if ((m = cli_opt(argc, argv, &i, o->name, &v)) != 0) {
                break;
            }
        }
        if (m < 0)
            return 2;
        if (!o->name) {
            if (argv[i][0] == '-' || n >= npos)
                return cli_usage_error("unknown argument '%s'", argv[i]);
            pos[n++] = argv[i];
            continue;
        }
        if (o->kind == CLI_FLAG)
            *(int *)o->dest = 1;
        else if (take(o, v) < 0)
            return 2;
        if (o->given)
            *o->given = 1;
        seen |= (uint64_t)1 << ((o - opts) & 63);
    }
    for (const cli_option *o = opts; o->name; o++)
        if (o->required && !(seen >> ((o - opts) & 63) & 1))
            return cli_usage_error("%s%s%s is required", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
    return 0;
}

int cli_parse_set(const char *name, const char *value, void *dest)
{
    if (vfr_predictions_set_parse(value, (int *)dest) == VFR_OK)
        return 0;
    cli_usage_error("%s: %s", name, vfr_last_error());
    return -1;
}

int cli_parse_strategy(const char *name, const char *value, void *dest)
{
    if (vfr_backtest_strategy_parse(value, (vfr_strategy *)dest) == VFR_OK)
        return 0;
    cli_usage_error("%s: %s", name, vfr_last_error());
    return -1;
}

int cli_parse_ints(const char *name, const char *value, void *dest)
{
    cli_int_list *l = dest;
    int n = cli_parse_int_list(name, value, l->v, (int)(sizeof l->v / sizeof l->v[0]));
    if (n < 0)
        return -1;
    l->n = n;
    return 0;
}

int cli_parse_date(const char *name, const char *value, void *dest)
{
    if (vfr_date_parse(value, (int32_t *)dest) == VFR_OK)
        return 0;
    vfr_error_clear();
    cli_usage_error("%s '%s': want YYYY-MM-DD", name, value);
    return -1;
}
