/* pack.h: turns a user's CSV (wide close prices, long features, or daily
 * OHLCV bars) into a vfr dataset file (dataset.h). Not a general CSV library: the layouts below
 * are the contract, and anything else is a clear error naming file, row and
 * column. Output is written to a temporary name and renamed on success. */
#ifndef VFR_PACK_H
#define VFR_PACK_H

#include <stdint.h>

#include "vfr/device.h"
#include "vfr/report.h"
#include "vfr/status.h"

typedef struct vfr_pack_options {
    const int32_t *horizons; /* [H] forward-return horizons; NULL: 1,5,10,20 */
    int32_t H;
    int compression;         /* deflate level 0..9; < 0: default (4)         */
    const vfr_reporter *reporter;
} vfr_pack_options;

/* Wide close prices: header `date,SYM1,SYM2,...`, one row per date, dates
 * strictly ascending (YYYY-MM-DD). An empty cell (or NA/NaN) is a missing
 * price: that symbol has no row on that date. Prices must be > 0.
 * Computes the standard price features (features.h) per symbol, forward
 * returns for each horizon, and stores close. */
vfr_status vfr_pack_prices_csv(const char *csv_path, const char *out_path,
                               const vfr_pack_options *opt);

/* Quality components of each close, from the prices alone (docs/job-config.md,
 * "Data quality"). IN px [S, ld]: symbol s's close on date t at px[s*ld + t],
 * NaN = no price. OUT fresh, rel [S, ld] (same layout): NaN where px is NaN,
 * else 1, except
 *  - a stale close (equal to the symbol's previous close while at least half
 *    of the other names with a price moved, or fewer than 2 others traded,
 *    and the run of repeats is unlikely by chance: p^k < 1%, where p = tick /
 *    (sqrt(2 pi) sd) from the symbol's previous 60 changes, tick the smallest
 *    non-zero one, capped at 1; k >= 5 where fewer than 10 are non-zero):
 *    fresh 0, rel at most 0.5;
 *  - a spike (a return, less the date's cross-sectional median, beyond 8 sd of
 *    the previous 60 such, that the next close takes back by at least half):
 *    rel 0, fresh at most 0.5.
 * Staleness uses closes up to t; a spike needs the next close (t+1), so these
 * components only ever decide which rows train. Needs 20 earlier changes of
 * the symbol. Thread-safe. Errors: INVALID_ARG, NOMEM. */
vfr_status vfr_pack_price_quality(const float *px, int32_t S, int64_t T, int64_t ld, float *fresh,
                                  float *rel);

/* Long layout: header `date,symbol,<feature columns>[,close][,forward_return_<h>d...]`,
 * any row order, each (date, symbol) once. Empty cell or NA/NaN in a feature
 * column is missing (NaN). When no forward_return_<h>d columns are given but
 * close is, forward returns are computed from close for opt->horizons. */
vfr_status vfr_pack_long_csv(const char *csv_path, const char *out_path,
                             const vfr_pack_options *opt);

/* Daily OHLCV bars -> computed features. */
typedef struct vfr_pack_ohlcv_options {
    vfr_pack_options base;  /* horizons, compression, reporter                    */
    const char *columns;    /* "ROLE=NAME,..." for headers not recognised; NULL    */
    const char *features;   /* "alpha158" (NULL), "price26" or "alpha158,price26"  */
    vfr_device_kind device; /* for Alpha158: AUTO (0) = CUDA when there is one     */
    int threads;            /* CPU threads for Alpha158; 0 = all cores             */
} vfr_pack_ohlcv_options;

/* Long OHLCV: one row per (date, symbol), any order, columns found by name,
 * case-insensitively, ignoring blanks, '_', '-', '.': date (Date, Datetime,
 * Timestamp, ...), symbol (Symbol, Ticker, Instrument, Code, ...), open, high,
 * low, close, volume, and optional adjclose ("Adj Close"), vwap, factor. ROLE
 * in opt->columns is one of date, symbol, open, high, low, close, adjclose,
 * volume, vwap, factor. Other columns are ignored. A path ending in .gz is
 * read through zlib. With a factor column (or Adj Close, factor = adj/close)
 * prices are multiplied by it and volume divided by it. A bar whose four
 * prices are all empty is skipped; otherwise each bar must have prices > 0,
 * low <= close <= high, volume >= 0 (empty = unknown), and (date, symbol)
 * once. Features and forward returns run over each symbol's own bars; /close
 * holds the adjusted close. Errors: FORMAT (naming file, line and column),
 * INVALID_ARG (options), NOT_FOUND, IO, NOMEM; nothing is left at out_path. */
vfr_status vfr_pack_ohlcv_csv(const char *csv_path, const char *out_path,
                              const vfr_pack_ohlcv_options *opt);

/* One file per symbol in dir: SYMBOL.csv or SYMBOL.csv.gz (the symbol is the
 * file name; a symbol column, if any, is ignored), else as above. */
vfr_status vfr_pack_ohlcv_dir(const char *dir, const char *out_path,
                              const vfr_pack_ohlcv_options *opt);

#endif
