/* cmd_synth.c: `vfr synth`: a synthetic panel with a planted signal, or
 * (--ohlcv) synthetic daily bars as a CSV for `vfr pack --ohlcv`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vfr/dataset.h"
#include "vfr/synth.h"

static const char help[] =
    "usage: vfr synth --symbols S --days T --features F --seed K --out FILE.h5 [options]\n"
    "       vfr synth --ohlcv --symbols S --days T --seed K --out FILE.csv[.gz]\n\n"
    "Writes a synthetic dataset with a planted, learnable signal (docs/synth.md),\n"
    "streamed date by date so memory stays small at any size.\n\n"
    "  --symbols S         symbols (default 100)\n"
    "  --days T            business days from --start (default 2520)\n"
    "  --features F        features, >= 4 (default 20)\n"
    "  --seed K            PRNG seed (default 1); the same options give the same file\n"
    "  --signal X          strength of the planted signal (default 0.3)\n"
    "  --start YYYY-MM-DD  first date (default 2010-01-04)\n"
    "  --horizons LIST     forward-return horizons (default 1,5,10,20)\n"
    "  --compression N     deflate level 0-9 (default 4)\n"
    "  --ohlcv             write daily OHLCV bars (long CSV, gzip for .gz) instead of a\n"
    "                      dataset: input for `vfr pack --ohlcv` at scale (docs/synth.md)\n"
    "  --out FILE.h5       output (required)\n";

int cmd_synth(int argc, char **argv)
{
    const char *out = NULL, *v;
    int64_t S = 100, T = 2520, F = 20, comp = -1;
    uint64_t seed = 1;
    double signal = 0.0;
    int32_t start = 0, horizons[64];
    int H = 0, ohlcv = 0;
    for (int i = 0; i < argc; i++) {
        int m;
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            return 0;
        } else if (strcmp(argv[i], "--ohlcv") == 0) {
            ohlcv = 1;
        } else if ((m = cli_opt(argc, argv, &i, "--out", &out)) != 0) {
            if (m < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--symbols", &v)) != 0) {
            if (m < 0 || cli_parse_i64("--symbols", v, 1, 10000000, &S) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--days", &v)) != 0) {
            if (m < 0 || cli_parse_i64("--days", v, 2, 100000, &T) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--features", &v)) != 0) {
            if (m < 0 || cli_parse_i64("--features", v, 4, 100000, &F) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--seed", &v)) != 0) {
            if (m < 0 || cli_parse_u64("--seed", v, &seed) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--signal", &v)) != 0) {
            char *end;
            if (m < 0)
                return 2;
            signal = strtod(v, &end);
            if (end == v || *end || !(signal > 0 && signal < 100))
                return cli_usage_error("--signal '%s': want a number in (0, 100)", v);
        } else if ((m = cli_opt(argc, argv, &i, "--start", &v)) != 0) {
            if (m < 0)
                return 2;
            if (vfr_date_parse(v, &start) != VFR_OK)
                return cli_usage_error("--start: %s", vfr_last_error());
        } else if ((m = cli_opt(argc, argv, &i, "--horizons", &v)) != 0) {
            if (m < 0 || (H = cli_parse_int_list("--horizons", v, horizons, 64)) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--compression", &v)) != 0) {
            if (m < 0 || cli_parse_i64("--compression", v, 0, 9, &comp) < 0)
                return 2;
        } else {
            return cli_usage_error("unknown argument '%s'", argv[i]);
        }
    }
    if (!out)
        return cli_usage_error("--out FILE.h5 is required");
    if (ohlcv) {
        cli_log(VFR_LOG_INFO, "synthesising OHLCV bars: %lld symbols x %lld days (seed %llu) into %s",
                (long long)S, (long long)T, (unsigned long long)seed, out);
        vfr_status st = vfr_synth_ohlcv_csv(out, (int32_t)S, (int32_t)T, seed, start);
        if (st != VFR_OK)
            return cli_fail(st);
        cli_log(VFR_LOG_INFO, "wrote %s: %lld bars", out, (long long)(S * T));
        return 0;
    }
    vfr_synth_options opt = {(int32_t)S, (int32_t)T, (int32_t)F, seed, H ? horizons : NULL, H,
                             signal, start, (int)comp, cli_reporter()};
    cli_log(VFR_LOG_INFO, "synthesising %lld symbols x %lld days x %lld features (seed %llu) into %s",
            (long long)S, (long long)T, (long long)F, (unsigned long long)seed, out);
    vfr_status st = vfr_synth_write(out, &opt);
    if (st != VFR_OK)
        return cli_fail(st);
    cli_log(VFR_LOG_INFO, "wrote %s: %lld rows", out, (long long)(S * T));
    return 0;
}
