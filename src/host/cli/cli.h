/* cli.h: what the vfr subcommands share: options, the logger and progress
 * display (a vfr_reporter), argument helpers and status -> exit code.
 * The CLI is thin: it parses arguments, calls the public API, prints. */
#ifndef VFR_CLI_H
#define VFR_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "vfr/compare.h"
#include "vfr/device.h"
#include "vfr/report.h"
#include "vfr/status.h"

typedef struct cli_globals {
    int verbosity;          /* 0 quiet (errors only), 1 normal, 2 verbose */
    int log_json;           /* one JSON object per line on stderr          */
    vfr_device_kind device; /* --device, default auto                      */
    const char *command;    /* the subcommand, for log lines               */
} cli_globals;

extern cli_globals cli;

/* The reporter that prints log lines and the progress bar (TTY only). */
const vfr_reporter *cli_reporter(void);
void cli_log(vfr_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Ends any progress bar line before other output goes to stderr. */
void cli_progress_done(void);

/* Installs SIGINT/SIGTERM handlers that only set a flag, and returns it: long
 * commands hand it to the library, which stops cleanly (exit code 3). */
volatile const int *cli_stop_on_signals(void);

/* Prints the failure (status name and detail) and returns the exit code. */
int cli_fail(vfr_status st);
/* A usage error: prints msg and a pointer to --help, returns 2. */
int cli_usage_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Argument helpers. cli_opt matches `--name value` and `--name=value`,
 * advancing *i; it returns 1 on a match (value in *val), 0 otherwise, and -1
 * when the value is missing (error already printed). */
int cli_opt(int argc, char **argv, int *i, const char *name, const char **val);
int cli_flag(const char *arg, const char *name);
int cli_is_help(const char *arg);
/* Strict numeric parses; print a usage error naming the option on failure. */
int cli_parse_i64(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out);
/* A number in [lo, hi] (a usage error naming opt otherwise): 0, or -1. */
int cli_parse_double(const char *opt, const char *s, double lo, double hi, double *out);
int cli_parse_u64(const char *opt, const char *s, uint64_t *out);
/* "1,5,10,20" -> ascending positive ints; returns count or -1. */
int cli_parse_int_list(const char *opt, const char *s, int32_t *out, int cap);

/* A command's options as a table: cli_parse reads argv with it and writes
 * --help from it, so an option cannot be parsed and not documented. */
typedef enum cli_kind {
    CLI_FLAG,   /* int *dest = 1                                            */
    CLI_STR,    /* const char **dest = the value                            */
    CLI_I64,    /* int64_t *dest, in [lo, hi]                               */
    CLI_F64,    /* double *dest, in [lo, hi]                                */
    CLI_U64,    /* uint64_t *dest                                           */
    CLI_FN,     /* parse(name, value, dest): 0, or -1 with the error printed */
    CLI_IGNORE, /* a flag that is accepted and does nothing here            */
    CLI_TEXT,   /* not an option: help text printed as is between options */
} cli_kind;

typedef struct cli_option {
    const char *name; /* "--json"; NULL ends the table                   */
    cli_kind kind;
    void *dest;
    double lo, hi;
    int *given;       /* set to 1 when the option is given; may be NULL   */
    int required;     /* a usage error "--name ARG is required" when absent */
    int (*parse)(const char *name, const char *value, void *dest); /* CLI_FN */
    const char *arg;  /* --help: the value's name ("P.h5"), NULL for a flag */
    const char *help; /* --help: what it does; '\n' starts an indented
                         line; NULL: not listed                           */
} cli_option;

/* Parses argv against opts (NULL-name ended); up to npos positional
 * arguments go to pos[] (in order), any other argument is a usage error.
 * --help or -h prints the help (cli_print_help). Returns 0, -1 when help was
 * printed (exit 0), or 2 after a usage error. */
int cli_parse(int argc, char **argv, const char *usage, const cli_option *opts, const char *after, const char **pos,
              int npos);
/* usage, one aligned line per option of the table, then after (may be NULL). */
void cli_print_help(FILE *f, const char *usage, const cli_option *opts, const char *after);
/* CLI_FN parsers: a predictions set name (int *dest, predictions.h) and a
 * backtest strategy (vfr_strategy *dest, backtest.h). */
int cli_parse_set(const char *name, const char *value, void *dest);
int cli_parse_strategy(const char *name, const char *value, void *dest);
/* CLI_FN parsers: "1,5,10,20" into a cli_int_list (cli_parse_int_list), and
 * a date YYYY-MM-DD into int32_t days since the epoch. */
typedef struct cli_int_list {
    int32_t v[64];
    int n; /* 0: not given */
} cli_int_list;
int cli_parse_ints(const char *name, const char *value, void *dest);
int cli_parse_date(const char *name, const char *value, void *dest);

/* Subcommands: each takes the arguments after its name. */
int cmd_info(int argc, char **argv);
int cmd_pack(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_job(int argc, char **argv);
int cmd_prepare(int argc, char **argv);
int cmd_split(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_compare(int argc, char **argv);

/* The comparison table of a comparison.json text. */
void cli_print_comparison(const char *json);
/* The registry's champion for the champion baseline (registry_dir NULL:
 * $VFR_REGISTRY or ./vfr-registry); opened only when asked. */
const vfr_champion_source *cli_champion_source(const char *registry_dir);
int cmd_evaluate(int argc, char **argv);
int cmd_evaluate_by_version(int argc, char **argv); /* cmd_evaluate_ab.c */
int cmd_backtest(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_export(int argc, char **argv);
/* The queue (cmd_submit.c, cmd_worker.c, cmd_status.c, cmd_schedule.c). */
int cmd_submit(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_schedule(int argc, char **argv);
/* The running vfr binary's absolute path (/proc/self/exe): 0, or -1. */
int cli_self_exe(char *buf, size_t cap);

#endif
