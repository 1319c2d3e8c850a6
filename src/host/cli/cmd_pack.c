/* cmd_pack.c: `vfr pack`: a user's CSV (wide close prices, long features or
 * daily OHLCV bars) into a vfr dataset. The library writes to a temporary name and renames, so
 * a failed pack leaves no file behind. */
#include <stdio.h>

#include "cli.h"
#include "vfr/dataset.h"
#include "vfr/pack.h"

static const char usage[] =
    "usage: vfr pack (--prices FILE.csv | --csv FILE.csv | --ohlcv FILE.csv[.gz] |\n"
    "                 --ohlcv-dir DIR) --out FILE.h5 [options]\n\n";
static const char after[] =
    "\nErrors name the file, line and column; exit 2 on bad input, and no output is left.\n";

int cmd_pack(int argc, char **argv)
{
    const char *prices = NULL, *csv = NULL, *ohlcv = NULL, *ohlcv_dir = NULL, *out = NULL;
    const char *columns = NULL, *features = NULL, *device = NULL;
    cli_int_list hz = {{0}, 0};
    int64_t comp = -1, threads = 0;
    const cli_option opts[] = {
        {.name = "--prices", .kind = CLI_STR, .dest = &prices, .arg = "FILE.csv",
         .help = "wide close prices: date,SYM1,SYM2,... one row per date;\ncomputes the standard price features "
                 "(docs/features.md)"},
        {.name = "--csv", .kind = CLI_STR, .dest = &csv, .arg = "FILE.csv",
         .help = "long layout: date,symbol,<features>[,close][,forward_return_<h>d...]"},
        {.name = "--ohlcv", .kind = CLI_STR, .dest = &ohlcv, .arg = "FILE.csv[.gz]",
         .help = "daily bars, one row per (date, symbol), any order: date,\nsymbol, open, high, low, close, volume "
                 "[, adj close, vwap, factor];\nusual header spellings are recognised (Date, Ticker, Adj Close...)"},
        {.name = "--ohlcv-dir", .kind = CLI_STR, .dest = &ohlcv_dir, .arg = "DIR",
         .help = "daily bars, one SYMBOL.csv[.gz] per symbol"},
        {.name = "--columns", .kind = CLI_STR, .dest = &columns, .arg = "MAP",
         .help = "for --ohlcv*: ROLE=NAME,... naming columns the header spells\notherwise (roles: date symbol open "
                 "high low close adjclose\nvolume vwap factor)"},
        {.name = "--features", .kind = CLI_STR, .dest = &features, .arg = "SETS",
         .help = "for --ohlcv*: alpha158 (default), price26, or alpha158,price26"},
        {.name = "--device", .kind = CLI_STR, .dest = &device, .arg = "D",
         .help = "for --ohlcv*: auto (default), cpu or cuda, for Alpha158"},
        {.name = "--threads", .kind = CLI_I64, .dest = &threads, .lo = 0, .hi = 1024, .arg = "N",
         .help = "for --ohlcv*: CPU threads for Alpha158 (default: all cores)"},
        {.name = "--out", .kind = CLI_STR, .dest = &out, .arg = "FILE.h5",
         .help = "the dataset to write (docs/dataset-format.md)"},
        {.name = "--horizons", .kind = CLI_FN, .dest = &hz, .parse = cli_parse_ints, .arg = "LIST",
         .help = "forward-return horizons in trading days (default 1,5,10,20)"},
        {.name = "--compression", .kind = CLI_I64, .dest = &comp, .lo = 0, .hi = 9, .arg = "N",
         .help = "deflate level 0-9 (default 4)"},
        {0},
    };
    int rc = cli_parse(argc, argv, usage, opts, after, NULL, 0);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!!prices + !!csv + !!ohlcv + !!ohlcv_dir != 1)
        return cli_usage_error("give exactly one of --prices, --csv, --ohlcv or --ohlcv-dir");
    if (!out)
        return cli_usage_error("--out FILE.h5 is required");
    if (!ohlcv && !ohlcv_dir && (columns || features || device || threads))
        return cli_usage_error("--columns, --features, --device and --threads go with --ohlcv "
                               "or --ohlcv-dir");
    vfr_pack_options opt = {hz.n ? hz.v : NULL, hz.n, (int)comp, cli_reporter()};
    vfr_status st;
    if (ohlcv || ohlcv_dir) {
        vfr_pack_ohlcv_options oo = {opt, columns, features, VFR_DEVICE_AUTO, (int)threads};
        if (device && vfr_device_parse(device, &oo.device) != VFR_OK)
            return cli_usage_error("--device: '%s' is not auto, cpu or cuda", device);
        const char *in = ohlcv ? ohlcv : ohlcv_dir;
        cli_log(VFR_LOG_INFO, "packing %s (daily OHLCV%s) into %s", in,
                ohlcv_dir ? ", one file per symbol" : "", out);
        st = ohlcv ? vfr_pack_ohlcv_csv(in, out, &oo) : vfr_pack_ohlcv_dir(in, out, &oo);
    } else {
        const char *in = prices ? prices : csv;
        cli_log(VFR_LOG_INFO, "packing %s (%s layout) into %s", in,
                prices ? "wide prices" : "long", out);
        st = prices ? vfr_pack_prices_csv(in, out, &opt) : vfr_pack_long_csv(in, out, &opt);
    }
    if (st != VFR_OK)
        return cli_fail(st);
    vfr_dataset *ds;
    if ((st = vfr_dataset_open(out, &ds)) != VFR_OK)
        return cli_fail(st);
    const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
    char a[11], b[11];
    vfr_date_format(m->date_first, a);
    vfr_date_format(m->date_last, b);
    cli_log(VFR_LOG_INFO, "wrote %s: %lld rows, %d symbols, %d dates (%s to %s), %d features, %d horizons",
            out, (long long)m->N, m->S, m->T, a, b, m->F, m->H);
    vfr_dataset_close(ds);
    return 0;
}
