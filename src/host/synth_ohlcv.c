/* synth_ohlcv.c: synthetic daily OHLCV bars as a long CSV (vfr synth --ohlcv),
 * the input of `vfr pack --ohlcv` at any scale (benchmarks, tests). Prices are
 * a geometric random walk with a market factor; each bar is consistent (low <=
 * open, close <= high; volume > 0). Not a market model and no planted signal:
 * the point is realistic shape and size. The same options give the same bytes.
 * Written to a temporary name and renamed, plain or (path ending .gz) gzip. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "vfr/dataset.h"
#include "vfr/synth.h"

/* xorshift64* and Box-Muller: small, and all this file needs. */
typedef struct orng {
    uint64_t s;
} orng;

static double ounif(orng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return ((r->s * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}

static double onorm(orng *r)
{
    double u = ounif(r), v = ounif(r);
    return sqrt(-2.0 * log(u > 0 ? u : 1e-300)) * cos(6.283185307179586 * v);
}

vfr_status vfr_synth_ohlcv_csv(const char *path, int32_t S, int32_t T, uint64_t seed,
                               int32_t start_date)
{
    if (!path || S < 1 || T < 1)
        return vfr_fail(VFR_ERR_INVALID_ARG, "synth --ohlcv: want a path, symbols >= 1, days >= 1");
    vfr_status st = VFR_OK;
    size_t plen = strlen(path) + 32;
    char *tmp = malloc(plen);
    double *close = malloc((size_t)S * sizeof *close);
    char *line = malloc(256);
    gzFile gz = NULL;
    if (!tmp || !close || !line) {
        st = vfr_fail(VFR_ERR_NOMEM, "synth --ohlcv: out of memory");
        goto fail;
    }
    snprintf(tmp, plen, "%s.tmp.%ld", path, (long)getpid());
    size_t n = strlen(path);
    int zip = n > 3 && strcmp(path + n - 3, ".gz") == 0;
    gz = gzopen(tmp, zip ? "wb6" : "wbT"); /* T: plain, no gzip header */
    if (!gz) {
        st = vfr_fail(VFR_ERR_IO, "cannot create '%s' (does the folder exist?)", tmp);
        goto fail;
    }
    orng r = {seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull};
    for (int k = 0; k < 8; k++)
        ounif(&r);
    for (int32_t s = 0; s < S; s++)
        close[s] = 20.0 + 180.0 * ounif(&r);
    int32_t day = start_date ? start_date : 14613; /* 2010-01-04, a Monday */
    int digits = S > 9999 ? 8 : 4;
    if (gzputs(gz, "date,symbol,open,high,low,close,volume\n") < 0)
        goto write_fail;
    for (int32_t t = 0; t < T; t++) {
        /* business days: 1970-01-01 was a Thursday, so (day + 3) % 7 is Mon = 0 */
        while ((day + 3) % 7 >= 5)
            day++;
        char ds[11];
        vfr_date_format(day, ds);
        double mkt = 0.01 * onorm(&r);
        for (int32_t s = 0; s < S; s++) {
            double o = close[s] * exp(0.004 * onorm(&r));
            double c = o * exp(0.0002 + 0.6 * mkt + 0.015 * onorm(&r));
            double hi = (o > c ? o : c) * (1.0 + 0.006 * fabs(onorm(&r)));
            double lo = (o < c ? o : c) * (1.0 - 0.006 * fabs(onorm(&r)));
            double vol = floor(1e6 * exp(0.4 * onorm(&r)));
            /* Rounded to cents as printed; keep the bar consistent after rounding. */
            o = round(o * 100) / 100, c = round(c * 100) / 100;
            hi = ceil(hi * 100) / 100, lo = floor(lo * 100) / 100;
            if (lo < 0.01)
                lo = 0.01;
            if (o < lo) o = lo;
            if (c < lo) c = lo;
            close[s] = c;
            int len = snprintf(line, 256, "%s,S%0*d,%.2f,%.2f,%.2f,%.2f,%.0f\n", ds, digits,
                               (int)s, o, hi, lo, c, vol);
            if (gzwrite(gz, line, (unsigned)len) != len)
                goto write_fail;
        }
        day++;
    }
    if (gzclose(gz) != Z_OK) {
        gz = NULL;
        goto write_fail;
    }
    gz = NULL;
    if (rename(tmp, path) != 0) {
        st = vfr_fail(VFR_ERR_IO, "cannot rename '%s' to '%s'", tmp, path);
        goto fail;
    }
    goto done;
write_fail:
    st = vfr_fail(VFR_ERR_IO, "synth --ohlcv: cannot write '%s'", tmp);
fail:
    if (gz)
        gzclose(gz);
    if (tmp)
        remove(tmp);
done:
    free(tmp);
    free(close);
    free(line);
    return st;
}
