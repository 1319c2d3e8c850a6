/* cmd_synth.c: `vfr synth`: a synthetic panel with a planted signal, or
 * (--ohlcv) synthetic daily bars as a CSV for `vfr pack --ohlcv`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vfr/dataset.h"
#include "vfr/synth.h"

static const char usage[] =
    "usage: vfr synth --symbols S --days T --features F --seed K --out FILE.h5 [options]\n"
    "       vfr synth --ohlcv --symbols S --days T --seed K --out FILE.csv[.gz]\n\n"
    "Writes a synthetic dataset with a planted, learnable signal (docs/synth.md),\n"
    "streamed date by date so memory stays small at any size.\n\n";

/* (0, 100), open */
static int parse_signal(const char *name, const char *v, void *dest)
{
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !(x > 0 && x < 100)) {
        cli_usage_error("%s '%s': want a number in (0, 100)", name, v);
        return -1;
    }
    *(double *)dest = x;
    return 0;
}

int cmd_synth(int argc, char **argv)
{
    const char *out = NULL;
    int64_t S = 100, T = 2520, F = 20, comp = -1;
    uint64_t seed = 1;
    double signal = 0.0;
    int32_t start = 0;
    cli_int_list hz = {{0}, 0};
    int ohlcv = 0;
    const cli_option opts[] = {
        {.name = "--symbols", .kind = CLI_I64, .dest = &S, .lo = 1, .hi = 10000000, .arg = "S",
         .help = "symbols (default 100)"},
        {.name = "--days", .kind = CLI_I64, .dest = &T, .lo = 2, .hi = 100000, .arg = "T",
         .help = "business days from --start (default 2520)"},
        {.name = "--features", .kind = CLI_I64, .dest = &F, .lo = 4, .hi = 100000, .arg = "F",
         .help = "features, >= 4 (default 20)"},
        {.name = "--seed", .kind = CLI_U64, .dest = &seed, .arg = "K",
         .help = "PRNG seed (default 1); the same options give the same file"},
        {.name = "--signal", .kind = CLI_FN, .dest = &signal, .parse = parse_signal, .arg = "X",
         .help = "strength of the planted signal (default 0.3)"},
        {.name = "--start", .kind = CLI_FN, .dest = &start, .parse = cli_parse_date, .arg = "YYYY-MM-DD",
         .help = "first date (default 2010-01-04)"},
        {.name = "--horizons", .kind = CLI_FN, .dest = &hz, .parse = cli_parse_ints, .arg = "LIST",
         .help = "forward-return horizons (default 1,5,10,20)"},
        {.name = "--compression", .kind = CLI_I64, .dest = &comp, .lo = 0, .hi = 9, .arg = "N",
         .help = "deflate level 0-9 (default 4)"},
        {.name = "--ohlcv", .kind = CLI_FLAG, .dest = &ohlcv,
         .help = "write daily OHLCV bars (long CSV, gzip for .gz) instead of a\ndataset: input for `vfr pack --ohlcv` "
                 "at scale (docs/synth.md)"},
        {.name = "--out", .kind = CLI_STR, .dest = &out, .required = 1, .arg = "FILE.h5", .help = "output (required)"},
        {0},
    };
    int rc = cli_parse(argc, argv, usage, opts, NULL, NULL, 0);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (ohlcv) {
        cli_log(VFR_LOG_INFO, "synthesising OHLCV bars: %lld symbols x %lld days (seed %llu) into %s",
                (long long)S, (long long)T, (unsigned long long)seed, out);
        vfr_status st = vfr_synth_ohlcv_csv(out, (int32_t)S, (int32_t)T, seed, start);
        if (st != VFR_OK)
            return cli_fail(st);
        cli_log(VFR_LOG_INFO, "wrote %s: %lld bars", out, (long long)(S * T));
        return 0;
    }
    vfr_synth_options opt = {(int32_t)S, (int32_t)T, (int32_t)F, seed, hz.n ? hz.v : NULL, hz.n,
                             signal, start, (int)comp, cli_reporter()};
    cli_log(VFR_LOG_INFO, "synthesising %lld symbols x %lld days x %lld features (seed %llu) into %s",
            (long long)S, (long long)T, (long long)F, (unsigned long long)seed, out);
    vfr_status st = vfr_synth_write(out, &opt);
    if (st != VFR_OK)
        return cli_fail(st);
    cli_log(VFR_LOG_INFO, "wrote %s: %lld rows", out, (long long)(S * T));
    return 0;
}
