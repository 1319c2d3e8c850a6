/* pack_quality.c: freshness and reliability of each close in a wide price
 * panel, for vfr pack --prices (pack.h: vfr_pack_price_quality). Two flags,
 * from the prices alone:
 *  - stale: the close repeats the symbol's previous close while most of the
 *    other names moved, and a repeat that long is unlikely by chance for this
 *    symbol (its tick against its volatility, trailing data only);
 *  - spike: an idiosyncratic jump of more than 8 trailing σ that the next
 *    close takes back by at least half (a bad print).
 * Not a cleaner: prices are stored as they are; the flags only lower the
 * rows' quality components, which decide which rows train (docs/job-config.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vfr/pack.h"

enum { WINDOW = 60, MIN_OBS = 20, STALE_RUN_ALWAYS = 5 };
#define STALE_ALPHA 0.01 /* chance of a repeat run this long: below it, stale  */
#define SPIKE_SIGMAS 8.0 /* idiosyncratic move, in trailing σ                   */
#define SPIKE_REVERT 0.5 /* share of the move the next close must take back    */
#define SQRT_2PI 2.5066282746310002

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

vfr_status vfr_pack_price_quality(const float *px, int32_t S, int64_t T, int64_t ld, float *fresh,
                                  float *rel)
{
    if (S < 0 || T < 0 || ld < T || !px || !fresh || !rel)
        return vfr_fail(VFR_ERR_INVALID_ARG, "pack: price quality: bad arguments");
    size_t ST = (size_t)S * (size_t)(T ? T : 1);
    double *d = malloc(sizeof *d * ST), *r = malloc(sizeof *r * ST);
    double *mkt = malloc(sizeof *mkt * (size_t)(T ? T : 1)), *buf = malloc(sizeof *buf * (size_t)(S ? S : 1));
    int32_t *had = calloc((size_t)(T ? T : 1), sizeof *had), *moved = calloc((size_t)(T ? T : 1), sizeof *moved);
    int64_t *row = malloc(sizeof *row * (size_t)(T ? T : 1));
    if (!d || !r || !mkt || !buf || !had || !moved || !row) {
        free(d), free(r), free(mkt), free(buf), free(had), free(moved), free(row);
        return vfr_fail(VFR_ERR_NOMEM, "pack: out of memory for the price quality of %d x %lld prices", (int)S,
                        (long long)T);
    }
    /* change and log return against the symbol's previous close (its own
     * previous trading date); who moved on each date */
    for (int32_t s = 0; s < S; s++) {
        double pv = NAN;
        for (int64_t t = 0; t < T; t++) {
            double p = px[(size_t)s * ld + t];
            size_t k = (size_t)s * T + t;
            d[k] = r[k] = NAN;
            fresh[(size_t)s * ld + t] = rel[(size_t)s * ld + t] = isnan(p) ? NAN : 1.0f;
            if (isnan(p))
                continue;
            if (!isnan(pv)) {
                d[k] = p - pv;
                r[k] = log(p / pv);
                had[t]++;
                moved[t] += d[k] != 0.0;
            }
            pv = p;
        }
    }
    for (int64_t t = 0; t < T; t++) { /* the market's move: the cross-sectional median return */
        int32_t n = 0;
        for (int32_t s = 0; s < S; s++)
            if (!isnan(r[(size_t)s * T + t]))
                buf[n++] = r[(size_t)s * T + t];
        qsort(buf, (size_t)n, sizeof *buf, cmp_double);
        mkt[t] = n == 0 ? 0.0 : n % 2 ? buf[n / 2] : 0.5 * (buf[n / 2 - 1] + buf[n / 2]);
    }
    for (int32_t s = 0; s < S; s++) {
        const double *ds = d + (size_t)s * T, *rs = r + (size_t)s * T;
        float *fs = fresh + (size_t)s * ld, *ls = rel + (size_t)s * ld;
        int64_t n = 0;
        for (int64_t t = 0; t < T; t++)
            if (!isnan(ds[t]))
                row[n++] = t; /* dates where the symbol has a close and a previous one */
        int run = 0;
        for (int64_t i = 0; i < n; i++) {
            int64_t t = row[i];
            run = ds[t] == 0.0 ? run + 1 : 0;
            /* trailing statistics over the previous WINDOW changes (dates before t only) */
            int64_t j0 = i > WINDOW ? i - WINDOW : 0;
            double sd = 0, se = 0, s1 = 0, e1 = 0, tick = INFINITY;
            int64_t m = i - j0, nonzero = 0;
            for (int64_t j = j0; j < i; j++) {
                double x = ds[row[j]], e = rs[row[j]] - mkt[row[j]];
                s1 += x, sd += x * x, e1 += e, se += e * e;
                nonzero += x != 0.0;
                if (fabs(x) > 0 && fabs(x) < tick)
                    tick = fabs(x);
            }
            if (m < MIN_OBS)
                continue;
            double sdev = sqrt(fmax(0.0, (sd - s1 * s1 / m) / (m - 1)));
            double edev = sqrt(fmax(0.0, (se - e1 * e1 / m) / (m - 1)));
            if (run > 0) {
                int others = had[t] - 1, others_moved = moved[t];
                int universe_moved = others < 2 || 2 * others_moved >= others;
                /* chance that a close is unchanged: the tick over the spread of a day's change */
                int known = nonzero >= MIN_OBS / 2 && sdev > 0;
                double p_same = known ? fmin(1.0, tick / (SQRT_2PI * sdev)) : 1.0;
                if (universe_moved && (known ? pow(p_same, run) < STALE_ALPHA : run >= STALE_RUN_ALWAYS)) {
                    fs[t] = 0.0f;
                    ls[t] = fminf(ls[t], 0.5f);
                }
            }
            double e = rs[t] - mkt[t];
            if (i + 1 < n && edev > 0 && fabs(e) > SPIKE_SIGMAS * edev) {
                double en = rs[row[i + 1]] - mkt[row[i + 1]];
                if (en * e < 0 && fabs(en) >= SPIKE_REVERT * fabs(e)) {
                    ls[t] = 0.0f;
                    fs[t] = fminf(fs[t], 0.5f);
                }
            }
        }
    }
    free(d), free(r), free(mkt), free(buf), free(had), free(moved), free(row);
    return VFR_OK;
}
