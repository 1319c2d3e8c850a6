/* synth.c: synthetic panels with a planted, learnable signal (vfr synth).
 *
 * Generates date by date and streams rows to the dataset writer, keeping only
 * a ring of (max horizon + 1) dates, so memory is O(S * F * Hmax) whatever T.
 * Its own PRNG (xoshiro256** seeded by splitmix64, polar Gaussians in pairs)
 * makes the file a pure function of the options. What is planted, and the
 * accuracy a perfect model can reach, is docs/synth.md: keep the two in step.
 * It is not a market simulator: no market factor, no missing values. */
#include "vfr/synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfr/dataset.h"

#define SYNTH_BLOCK_ROWS 65536 /* rows per writer append                     */
#define SYNTH_LOOKBACK 10      /* L: rows of x3 summed into the hidden level  */
#define SYNTH_SEQ_FEATURE 3    /* index of the "change" feature               */
#define SYNTH_DEFAULT_SIGNAL 0.3
#define SYNTH_DEFAULT_START 14613 /* 2010-01-04, a Monday */
#define SYNTH_DEFAULT_COMPRESSION 4

/* g = C * (0.6 x0 - 0.4 x1 + 0.5 tanh(x1 x2) + 0.5 z): the four terms are
 * uncorrelated, so Var = 0.36 + 0.16 + 0.25 E[tanh^2(x1 x2)] + 0.25 with
 * E[tanh^2(x1 x2)] = 0.27739594526721 for independent N(0,1) x1, x2 (2-d
 * quadrature, docs/synth.md); C makes Var(g) = 1. */
#define SYNTH_W0 0.6
#define SYNTH_W1 (-0.4)
#define SYNTH_W12 0.5
#define SYNTH_WZ 0.5
#define SYNTH_G_SCALE 1.0915125031489692

static const int32_t default_horizons[] = {1, 5, 10, 20};

/* ---- PRNG ------------------------------------------------------------- */

typedef struct rng {
    uint64_t s[4];
    double spare; /* the second Gaussian of the last pair */
    int has_spare;
} rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
    r->has_spare = 0;
    r->spare = 0.0;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t rng_next(rng *r) /* xoshiro256** */
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

static inline double rng_uniform(rng *r) /* [0, 1), 53 bits */
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Marsaglia's polar method: one log and one sqrt per pair of N(0,1). */
static inline void gauss_pair(rng *r, double *a, double *b)
{
    double u, v, q;
    do {
        u = 2.0 * rng_uniform(r) - 1.0;
        v = 2.0 * rng_uniform(r) - 1.0;
        q = u * u + v * v;
    } while (q >= 1.0 || q == 0.0);
    double m = sqrt(-2.0 * log(q) / q);
    *a = u * m;
    *b = v * m;
}

/* n standard normals. The stream does not depend on how it is cut into calls:
 * an odd count keeps its last partner for the next call. */
static void rng_gauss(rng *r, double *out, int32_t n)
{
    int32_t i = 0;
    if (n > 0 && r->has_spare) {
        out[i++] = r->spare;
        r->has_spare = 0;
    }
    for (; i + 1 < n; i += 2)
        gauss_pair(r, &out[i], &out[i + 1]);
    if (i < n) {
        gauss_pair(r, &out[i], &r->spare);
        r->has_spare = 1;
    }
}

/* ---- the generator ---------------------------------------------------- */

typedef struct synth {
    int32_t S, T, F, H, Hmax, R; /* R = Hmax + 1 dates in the ring          */
    const int32_t *horizons;
    double signal;
    rng rng;
    double *phi, *innov;  /* [F] AR(1) coefficient and sqrt(1 - phi^2)       */
    double *sigma;        /* [S] daily volatility                            */
    float *feat;          /* (R, S, F) features of the last R dates          */
    double *rnext;        /* (R, S) r[d+1], drawn on date d                  */
    double *close;        /* (R, S) close on date d                          */
    float *window;        /* (S, L) last L values of x3, by date % L         */
    double *gauss;        /* [F + 1] one symbol's draws for one date         */
    int32_t *dates;       /* [T] business days                               */
    /* the block of rows waiting for the writer */
    int32_t *b_date, *b_symbol; /* [B]                                       */
    float *b_feat, *b_fwd, *b_close; /* [B, F], [B, H], [B]                  */
    int64_t b_n;
    char **symbol_names, **feature_names;
} synth;

static void synth_free(synth *g)
{
    free(g->phi);
    free(g->innov);
    free(g->sigma);
    free(g->feat);
    free(g->rnext);
    free(g->close);
    free(g->window);
    free(g->gauss);
    free(g->dates);
    free(g->b_date);
    free(g->b_symbol);
    free(g->b_feat);
    free(g->b_fwd);
    free(g->b_close);
    if (g->symbol_names)
        free(g->symbol_names[0]); /* one block holds all names */
    free(g->symbol_names);
    if (g->feature_names)
        free(g->feature_names[0]);
    free(g->feature_names);
}

static int day_of_week(int32_t days) /* 0 = Monday; 1970-01-01 was a Thursday */
{
    return (int)(((int64_t)days % 7 + 7 + 3) % 7);
}

/* n names "<prefix><i>" zero-padded to `width` digits, in one allocation. */
static char **make_names(const char *prefix, int32_t n, int width)
{
    size_t len = strlen(prefix) + (size_t)width + 12;
    char **v = calloc((size_t)n, sizeof *v);
    char *buf = malloc((size_t)n * len);
    if (!v || !buf) {
        free(v);
        free(buf);
        return NULL;
    }
    for (int32_t i = 0; i < n; i++) {
        v[i] = buf + (size_t)i * len;
        snprintf(v[i], len, "%s%0*d", prefix, width, (int)i);
    }
    return v;
}

static int digits(int32_t n) /* decimal digits of n >= 0 */
{
    int d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

static vfr_status check_options(const vfr_synth_options *opt, const int32_t *hz, int32_t H)
{
    if (opt->S < 1)
        return vfr_fail(VFR_ERR_INVALID_ARG, "synth: symbols must be >= 1 (got %d)", opt->S);
    if (opt->F < 4)
        return vfr_fail(VFR_ERR_INVALID_ARG, "synth: features must be >= 4 (got %d)", opt->F);
    if (H < 1)
        return vfr_fail(VFR_ERR_INVALID_ARG, "synth: horizons must name at least one horizon");
    for (int32_t k = 0; k < H; k++)
        if (hz[k] < 1 || (k && hz[k] <= hz[k - 1]))
            return vfr_fail(VFR_ERR_INVALID_ARG,
                            "synth: horizons must be positive and strictly ascending "
                            "(horizon %d is %d)", (int)k, hz[k]);
    if (opt->T <= hz[H - 1])
        return vfr_fail(VFR_ERR_INVALID_ARG,
                        "synth: days must exceed the largest horizon %d (got %d)", hz[H - 1],
                        opt->T);
    if (!isfinite(opt->signal) || opt->signal < 0)
        return vfr_fail(VFR_ERR_INVALID_ARG, "synth: signal must be finite and >= 0 (got %g)",
                        opt->signal);
    if (opt->compression > 9)
        return vfr_fail(VFR_ERR_INVALID_ARG, "synth: compression must be 0..9 (got %d)",
                        opt->compression);
    /* business days never outrun 7/5 calendar days: keep the last one in int32 */
    if ((int64_t)opt->start_date + (int64_t)opt->T * 7 / 5 + 7 > INT32_MAX ||
        (int64_t)opt->start_date < -(int64_t)INT32_MAX / 2)
        return vfr_fail(VFR_ERR_INVALID_ARG, "synth: start_date %d and days %d leave the date range",
                        opt->start_date, opt->T);
    return VFR_OK;
}

static vfr_status synth_alloc(synth *g, const vfr_synth_options *opt)
{
    size_t S = (size_t)g->S, F = (size_t)g->F, R = (size_t)g->R;
    g->phi = malloc(F * sizeof *g->phi);
    g->innov = malloc(F * sizeof *g->innov);
    g->sigma = malloc(S * sizeof *g->sigma);
    g->feat = malloc(R * S * F * sizeof *g->feat);
    g->rnext = malloc(R * S * sizeof *g->rnext);
    g->close = malloc(R * S * sizeof *g->close);
    g->window = calloc(S * SYNTH_LOOKBACK, sizeof *g->window);
    g->gauss = malloc((F + 1) * sizeof *g->gauss);
    g->dates = malloc((size_t)g->T * sizeof *g->dates);
    g->b_date = malloc(SYNTH_BLOCK_ROWS * sizeof *g->b_date);
    g->b_symbol = malloc(SYNTH_BLOCK_ROWS * sizeof *g->b_symbol);
    g->b_feat = malloc(SYNTH_BLOCK_ROWS * F * sizeof *g->b_feat);
    g->b_fwd = malloc(SYNTH_BLOCK_ROWS * (size_t)g->H * sizeof *g->b_fwd);
    g->b_close = malloc(SYNTH_BLOCK_ROWS * sizeof *g->b_close);
    g->symbol_names = make_names("S", g->S, digits(g->S - 1) > 4 ? digits(g->S - 1) : 4);
    g->feature_names = make_names("x", g->F, 1);
    if (!g->phi || !g->innov || !g->sigma || !g->feat || !g->rnext || !g->close || !g->window ||
        !g->gauss || !g->dates || !g->b_date || !g->b_symbol || !g->b_feat || !g->b_fwd ||
        !g->b_close || !g->symbol_names || !g->feature_names)
        return vfr_fail(VFR_ERR_NOMEM, "synth: out of memory for %d symbols x %d features",
                        g->S, g->F);

    int32_t d = opt->start_date ? opt->start_date : SYNTH_DEFAULT_START;
    for (int32_t t = 0; t < g->T; t++, d++) {
        while (day_of_week(d) >= 5)
            d++;
        g->dates[t] = d;
    }
    /* Persistence cycles through 0.98 .. 0.5 in steps of 0.48/7 over j % 8;
     * x3 is white noise (the change of the hidden level). */
    for (int32_t j = 0; j < g->F; j++) {
        g->phi[j] = j == SYNTH_SEQ_FEATURE ? 0.0 : 0.98 - 0.48 * (double)(j % 8) / 7.0;
        g->innov[j] = sqrt(1.0 - g->phi[j] * g->phi[j]);
    }
    return VFR_OK;
}

/* Draws date d: features x_d, then r[d+1] and the close of date d. */
static void synth_step(synth *g, int32_t d)
{
    const int32_t S = g->S, F = g->F, R = g->R;
    const int32_t slot = d % R, prev = (d + R - 1) % R;
    const int32_t nwin = d + 1 < SYNTH_LOOKBACK ? d + 1 : SYNTH_LOOKBACK;
    const double inv_sqrt_l = 1.0 / sqrt((double)SYNTH_LOOKBACK);
    for (int32_t s = 0; s < S; s++) {
        float *x = g->feat + ((size_t)slot * S + s) * F;
        const float *xp = g->feat + ((size_t)prev * S + s) * F;
        double *e = g->gauss;
        rng_gauss(&g->rng, e, F + 1);
        if (d == 0)
            for (int32_t j = 0; j < F; j++)
                x[j] = (float)e[j]; /* the stationary law, N(0, 1) */
        else
            for (int32_t j = 0; j < F; j++)
                x[j] = (float)(g->phi[j] * xp[j] + g->innov[j] * e[j]);

        /* the hidden level: the last L changes of the symbol, from the stored
         * (float) values so that a reader of the file can rebuild it exactly */
        float *win = g->window + (size_t)s * SYNTH_LOOKBACK;
        win[d % SYNTH_LOOKBACK] = x[SYNTH_SEQ_FEATURE];
        double z = 0.0;
        for (int32_t k = 0; k < nwin; k++)
            z += win[k];
        z *= inv_sqrt_l;

        double x0 = x[0], x1 = x[1], x2 = x[2];
        double gx = SYNTH_G_SCALE *
                    (SYNTH_W0 * x0 + SYNTH_W1 * x1 + SYNTH_W12 * tanh(x1 * x2) + SYNTH_WZ * z);
        double r = g->sigma[s] * (g->signal * gx + e[F]);
        g->rnext[(size_t)slot * S + s] = r;
        g->close[(size_t)slot * S + s] =
            d == 0 ? 100.0 : g->close[(size_t)prev * S + s] * (1.0 + g->rnext[(size_t)prev * S + s]);
    }
}

static vfr_status flush_block(synth *g, vfr_dataset_writer *w)
{
    vfr_status st = vfr_dataset_writer_append(w, g->b_n, g->b_date, g->b_symbol, g->b_feat,
                                              g->b_fwd, g->b_close, NULL);
    g->b_n = 0;
    return st;
}

/* Moves date t (all S symbols) into the block, with its forward returns
 * prod(1 + r[t+1 .. t+h]) - 1, NaN where t + h is past the last date. */
static vfr_status synth_emit(synth *g, int32_t t, vfr_dataset_writer *w)
{
    vfr_status st = VFR_OK;
    const int32_t S = g->S, F = g->F, H = g->H, R = g->R, slot = t % R;
    for (int32_t s = 0; s < S; s++) {
        if (g->b_n == SYNTH_BLOCK_ROWS)
            VFR_TRY(flush_block(g, w));
        int64_t i = g->b_n++;
        g->b_date[i] = g->dates[t];
        g->b_symbol[i] = s;
        memcpy(g->b_feat + i * F, g->feat + ((size_t)slot * S + s) * F, (size_t)F * sizeof(float));
        g->b_close[i] = (float)g->close[(size_t)slot * S + s];
        float *fwd = g->b_fwd + i * H;
        double prod = 1.0;
        int32_t k = 0, hk = 0;
        for (; hk < H && t + g->horizons[hk] < g->T; hk++) {
            for (; k < g->horizons[hk]; k++)
                prod *= 1.0 + g->rnext[(size_t)((t + k) % R) * S + s];
            fwd[hk] = (float)(prod - 1.0);
        }
        for (; hk < H; hk++)
            fwd[hk] = NAN;
    }
fail:
    return st;
}

vfr_status vfr_synth_write(const char *path, const vfr_synth_options *opt)
{
    vfr_status st = VFR_OK;
    synth g = {0};
    vfr_dataset_writer *w = NULL;
    if (!path || !opt)
        return vfr_fail(VFR_ERR_INVALID_ARG, "synth: path and options are required");
    const int32_t *hz = opt->horizons ? opt->horizons : default_horizons;
    int32_t H = opt->horizons ? opt->H : (int32_t)(sizeof default_horizons / sizeof *hz);
    VFR_TRY(check_options(opt, hz, H));

    g.S = opt->S;
    g.T = opt->T;
    g.F = opt->F;
    g.H = H;
    g.horizons = hz;
    g.Hmax = hz[H - 1];
    g.R = g.Hmax + 1;
    g.signal = opt->signal > 0 ? opt->signal : SYNTH_DEFAULT_SIGNAL;
    VFR_TRY(synth_alloc(&g, opt));
    rng_seed(&g.rng, opt->seed);
    for (int32_t s = 0; s < g.S; s++)
        g.sigma[s] = 0.01 + 0.02 * rng_uniform(&g.rng);

    vfr_dataset_spec spec = {
        .F = g.F,
        .feature_names = (const char *const *)g.feature_names,
        .S = g.S,
        .symbols = (const char *const *)g.symbol_names,
        .H = H,
        .horizons = hz,
        .has_close = 1,
        .compression = opt->compression < 0 ? SYNTH_DEFAULT_COMPRESSION : opt->compression,
    };
    VFR_TRY(vfr_dataset_writer_open(path, &spec, &w));

    /* Date t can be written once r[t + Hmax] exists, i.e. after step t + Hmax - 1. */
    int32_t emitted = 0;
    for (int32_t d = 0; d < g.T; d++) {
        synth_step(&g, d);
        for (; emitted <= d - g.Hmax + 1; emitted++) {
            VFR_TRY(synth_emit(&g, emitted, w));
            vfr_report_progress(opt->reporter, "synth", emitted + 1, g.T);
        }
    }
    for (; emitted < g.T; emitted++) {
        VFR_TRY(synth_emit(&g, emitted, w));
        vfr_report_progress(opt->reporter, "synth", emitted + 1, g.T);
    }
    if (g.b_n)
        VFR_TRY(flush_block(&g, w));
    st = vfr_dataset_writer_commit(w);
    w = NULL; /* commit frees it whatever the outcome */
    if (st != VFR_OK)
        goto fail;
    synth_free(&g);
    return VFR_OK;
fail:
    vfr_dataset_writer_abort(w);
    synth_free(&g);
    return st;
}
