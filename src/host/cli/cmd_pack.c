/* cmd_pack.c: `vfr pack`: a user's CSV (wide close prices, long features or
 * daily OHLCV bars) into a vfr dataset. The library writes to a temporary name and renames, so
 * a failed pack leaves no file behind. */
#include <stdio.h>

#include "cli.h"
#include "vfr/dataset.h"
#include "vfr/pack.h"

static const char help[] =
    "usage: vfr pack (--prices FILE.csv | --csv FILE.csv | --ohlcv FILE.csv[.gz] |\n"
    "                 --ohlcv-dir DIR) --out FILE.h5 [options]\n\n"
    "  --prices FILE.csv   wide close prices: date,SYM1,SYM2,... one row per date;\n"
    "                      computes the standard price features (docs/features.md)\n"
    "  --csv FILE.csv      long layout: date,symbol,<features>[,close][,forward_return_<h>d...]\n"
    "  --ohlcv FILE.csv[.gz]  daily bars, one row per (date, symbol), any order: date,\n"
    "                      symbol, open, high, low, close, volume [, adj close, vwap, factor];\n"
    "                      usual header spellings are recognised (Date, Ticker, Adj Close...)\n"
    "  --ohlcv-dir DIR     daily bars, one SYMBOL.csv[.gz] per symbol\n"
    "  --columns MAP       for --ohlcv*: ROLE=NAME,... naming columns the header spells\n"
    "                      otherwise (roles: date symbol open high low close adjclose\n"
    "                      volume vwap factor)\n"
    "  --features SETS     for --ohlcv*: alpha158 (default), price26, or alpha158,price26\n"
    "  --device D          for --ohlcv*: auto (default), cpu or cuda, for Alpha158\n"
    "  --threads N         for --ohlcv*: CPU threads for Alpha158 (default: all cores)\n"
    "  --out FILE.h5       the dataset to write (docs/dataset-format.md)\n"
    "  --horizons LIST     forward-return horizons in trading days (default 1,5,10,20)\n"
    "  --compression N     deflate level 0-9 (default 4)\n\n"
    "Errors name the file, line and column; exit 2 on bad input, and no output is left.\n";

int cmd_pack(int argc, char **argv)
{
    const char *prices = NULL, *csv = NULL, *ohlcv = NULL, *ohlcv_dir = NULL, *out = NULL, *v;
    const char *columns = NULL, *features = NULL, *device = NULL;
    int32_t horizons[64];
    int H = 0;
    int64_t comp = -1, threads = 0;
    for (int i = 0; i < argc; i++) {
        int m;
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            return 0;
        } else if ((m = cli_opt(argc, argv, &i, "--prices", &prices)) != 0) {
            if (m < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--csv", &csv)) != 0) {
            if (m < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--ohlcv", &ohlcv)) != 0) {
            if (m < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--ohlcv-dir", &ohlcv_dir)) != 0) {
            if (m < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--columns", &columns)) != 0) {
            if (m < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--features", &features)) != 0) {
            if (m < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--device", &device)) != 0) {
            if (m < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--threads", &v)) != 0) {
            if (m < 0 || cli_parse_i64("--threads", v, 0, 1024, &threads) < 0)
                return 2;
        } else if ((m = cli_opt(argc, argv, &i, "--out", &out)) != 0) {
            if (m < 0)
                return 2;
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
    if (!!prices + !!csv + !!ohlcv + !!ohlcv_dir != 1)
        return cli_usage_error("give exactly one of --prices, --csv, --ohlcv or --ohlcv-dir");
    if (!out)
        return cli_usage_error("--out FILE.h5 is required");
    if (!ohlcv && !ohlcv_dir && (columns || features || device || threads))
        return cli_usage_error("--columns, --features, --device and --threads go with --ohlcv "
                               "or --ohlcv-dir");
    vfr_pack_options opt = {H ? horizons : NULL, H, (int)comp, cli_reporter()};
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
