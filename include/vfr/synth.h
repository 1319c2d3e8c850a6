/* synth.h: synthetic panels with a planted, learnable signal, for tests and
 * benchmarks at scale. Streams to disk date by date, so memory stays at a few
 * dates' worth whatever the size. The same options give the same file, byte
 * for byte. What is planted is documented in docs/synth.md. */
#ifndef VFR_SYNTH_H
#define VFR_SYNTH_H

#include <stdint.h>

#include "vfr/report.h"
#include "vfr/status.h"

typedef struct vfr_synth_options {
    int32_t S;              /* symbols                                       */
    int32_t T;              /* trading days (business days from start_date)  */
    int32_t F;              /* features, >= 4                                */
    uint64_t seed;
    const int32_t *horizons;/* NULL: 1,5,10,20                               */
    int32_t H;
    double signal;          /* strength of the planted signal; default 0.3 when 0 */
    int32_t start_date;     /* days since epoch; 0: 2010-01-04               */
    int compression;        /* < 0: default (4)                              */
    const vfr_reporter *reporter;
} vfr_synth_options;

vfr_status vfr_synth_write(const char *path, const vfr_synth_options *opt);

/* Synthetic daily OHLCV bars for `vfr pack --ohlcv`: a long CSV (gzip when
 * path ends in .gz) with header date,symbol,open,high,low,close,volume, S
 * symbols (S0000, ...) x T business days from start_date (0: 2010-01-04),
 * rows by date then symbol, prices in cents. A random walk with a market
 * factor, no planted signal; a pure function of the arguments.
 * Errors: INVALID_ARG, IO, NOMEM; nothing is left at path on failure. */
vfr_status vfr_synth_ohlcv_csv(const char *path, int32_t S, int32_t T, uint64_t seed,
                               int32_t start_date);

#endif
