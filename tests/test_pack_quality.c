/* test_pack_quality.c: freshness and reliability derived from prices
 * (vfr_pack_price_quality, written by vfr pack --prices). Planted faults on a
 * seeded random-walk panel: a stale close while the market moved is caught,
 * a market-wide holiday is not; a bad print that reverts is caught, a
 * market-wide jump is not; a coarse-tick symbol's ordinary repeat is not;
 * a suspended name whose close is carried forward is stale every day;
 * freshness at t does not change when later prices do; and the columns reach
 * the dataset file through vfr pack --prices. */
#include <stdint.h>

#include "test_util.h"
#include "vfr/dataset.h"
#include "vfr/pack.h"

enum { S = 12, T = 300 };

static uint64_t rng_state = 12345;
static double unif(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 11) * (1.0 / 9007199254740992.0);
}
static double gauss(void)
{
    double u = unif(), v = unif();
    return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

/* px[s*T + t]: random walks near 100 with 2% daily moves, in cents, never
 * exactly unchanged; symbol 11 trades near 20 in steps of 0.25, so an
 * unchanged close is ordinary for it (about 1 day in 4). */
static void make_panel(float *px)
{
    for (int s = 0; s < S; s++) {
        double p = s == 11 ? 20.0 : 100.0;
        for (int t = 0; t < T; t++) {
            double q = p * exp(0.02 * gauss());
            double tick = s == 11 ? 0.25 : 0.01;
            q = fmax(tick, round(q / tick) * tick);
            if (s != 11 && t > 0 && q == p)
                q += tick;
            px[s * T + t] = (float)q;
            p = q;
        }
    }
}

int main(void)
{
    static float px[S * T], fr[S * T], re[S * T];
    make_panel(px);
    /* planted faults */
    px[3 * T + 150] = px[3 * T + 149];                       /* stale: 3 repeats its close */
    px[4 * T + 200] = px[4 * T + 199] * 1.6f;                /* bad print, 4 at 200 ...     */
    px[4 * T + 201] = px[4 * T + 199] * 1.01f;               /* ... taken back at 201       */
    for (int s = 0; s < S; s++)                              /* a holiday: nobody moves     */
        px[s * T + 100] = px[s * T + 99];
    for (int s = 0; s < S; s++) {                            /* a market-wide jump at 250   */
        for (int t = 250; t < T; t++)
            px[s * T + t] *= 1.3f;
        for (int t = 251; t < T; t++)
            px[s * T + t] /= 1.3f;
    }
    px[5 * T + 60] = NAN;                                    /* a missing price stays NaN   */
    for (int t = 201; t < T; t++)                            /* 10 suspended, close carried */
        px[10 * T + t] = px[10 * T + 200];
    CHECK_OK(vfr_pack_price_quality(px, S, T, T, fr, re));
    CHECK(fr[3 * T + 150] == 0.0f && re[3 * T + 150] == 0.5f);
    CHECK(re[4 * T + 200] == 0.0f && fr[4 * T + 200] == 0.5f);
    CHECK(isnan(fr[5 * T + 60]) && isnan(re[5 * T + 60]));
    int flagged = 0;
    for (int i = 0; i < 11 * T; i++)
        flagged += (fr[i] < 1.0f) + (re[i] < 1.0f);
    int suspended = 1;
    for (int t = 201; t < T; t++)
        if (!(fr[10 * T + t] == 0.0f && re[10 * T + t] == (t == 250 ? 0.0f : 0.5f))) {
            fprintf(stderr, "suspended symbol not flagged at %d: %g %g\n", t, fr[10 * T + t], re[10 * T + t]);
            suspended = 0;
        }
    CHECK(suspended); /* (at 250 it also stood still through the market's jump and revert: a spike) */
    for (int i = 0; i < S * T; i++)
        if ((fr[i] < 1.0f || re[i] < 1.0f) && i != 3 * T + 150 && i != 4 * T + 200 && !(i / T == 10 && i % T > 200) && i / T != 11)
            fprintf(stderr, "flagged s=%d t=%d: fresh %g rel %g\n", i / T, i % T, fr[i], re[i]);
    CHECK(flagged == 2 * (2 + (T - 201))); /* the planted faults, two components each: nothing else */
    for (int s = 0; s < S; s++)
        CHECK(fr[s * T + 100] == 1.0f && (s == 10 || (re[s * T + 250] == 1.0f && re[s * T + 251] == 1.0f)));
    /* the coarse-tick symbol: an unchanged close is ordinary, never flagged
     * alone; a long run is (its chance below 1%): few rows in all */
    int repeats11 = 0, flagged11 = 0, single_flagged = 0;
    for (int t = 1; t < T; t++) {
        int rep = px[11 * T + t] == px[11 * T + t - 1];
        repeats11 += rep;
        flagged11 += fr[11 * T + t] < 1.0f;
        single_flagged += rep && fr[11 * T + t] < 1.0f && px[11 * T + t - 1] != px[11 * T + t - 2];
    }
    fprintf(stderr, "coarse-tick symbol: %d repeats, %d flagged\n", repeats11, flagged11);
    CHECK(repeats11 >= 30 && single_flagged == 0 && flagged11 <= 6);

    /* freshness at t uses closes up to t only: cut the panel after 150 */
    enum { Tc = 151 };
    static float cut[S * Tc], frc[S * Tc], rec[S * Tc];
    for (int s = 0; s < S; s++)
        memcpy(cut + s * Tc, px + s * T, sizeof(float) * Tc);
    CHECK_OK(vfr_pack_price_quality(cut, S, Tc, Tc, frc, rec));
    int same = 1;
    for (int s = 0; s < S; s++)
        for (int64_t t = 0; t < Tc; t++)
            same &= (isnan(frc[s * Tc + t]) && isnan(fr[s * T + t])) || frc[s * Tc + t] == fr[s * T + t];
    CHECK(same && frc[3 * Tc + 150] == 0.0f);

    /* through vfr pack --prices: the columns are in the file, on the right rows */
    char csv[512], out[512];
    snprintf(csv, sizeof csv, "%s/q.csv", test_tmpdir());
    snprintf(out, sizeof out, "%s/q.h5", test_tmpdir());
    FILE *f = fopen(csv, "w");
    if (!f)
        return 1;
    fprintf(f, "date");
    for (int s = 0; s < S; s++)
        fprintf(f, ",S%02d", s);
    for (int t = 0; t < T; t++) {
        int32_t d = 10000 + t;
        char ds[11];
        vfr_date_format(d, ds);
        fprintf(f, "\n%s", ds);
        for (int s = 0; s < S; s++)
            if (isnan(px[s * T + t]))
                fprintf(f, ",");
            else
                fprintf(f, ",%.4f", (double)px[s * T + t]);
    }
    fprintf(f, "\n");
    fclose(f);
    CHECK_OK(vfr_pack_prices_csv(csv, out, NULL));
    vfr_dataset *ds = NULL;
    CHECK_OK(vfr_dataset_open(out, &ds));
    if (ds) {
        const vfr_dataset_meta *m = vfr_dataset_meta_get(ds);
        CHECK(m->quality_mask == (1u << VFR_QUALITY_FRESHNESS | 1u << VFR_QUALITY_RELIABILITY));
        float *qf = malloc(sizeof *qf * (size_t)m->N), *qr = malloc(sizeof *qr * (size_t)m->N);
        CHECK_OK(vfr_dataset_read_quality(ds, VFR_QUALITY_FRESHNESS, 0, m->N, qf));
        CHECK_OK(vfr_dataset_read_quality(ds, VFR_QUALITY_RELIABILITY, 0, m->N, qr));
        int stale_row = 0, spike_row = 0, other = 0;
        for (int64_t i = 0; i < m->N; i++) {
            int32_t s = m->symbol[i], t = m->date[i] - 10000;
            if (s == 3 && t == 150)
                stale_row = qf[i] == 0.0f && qr[i] == 0.5f;
            else if (s == 4 && t == 200)
                spike_row = qr[i] == 0.0f && qf[i] == 0.5f;
            else if ((s != 10 || t <= 200) && s != 11)
                other += qf[i] != 1.0f || qr[i] != 1.0f;
        }
        CHECK(stale_row && spike_row && other == 0);
        free(qf), free(qr);
        vfr_dataset_close(ds);
    }
    return test_done("test_pack_quality");
}
