/* test_backtest.c: the CPU twin of the backtest and of the financial metrics
 * against the numpy reference of scripts/fixtures/make_metrics_fixtures.py
 * (golden values in tests/fixtures/metrics_golden.json), property tests
 * (Sharpe invariant to scaling positions, no drawdown on a monotone equity
 * curve, ...), edge cases (one date, one symbol, all-equal and NaN scores),
 * the result file and argument errors. */
#include <stdint.h>
#include <string.h>

#include "test_metrics_fixture.h"
#define TEST_SEED 0x2545F4914F6CDD1Dull
#include "test_util.h"
#include "vfr/backtest.h"


static int find_fin(const char *name)
{
    for (int k = 0; k < VFR_FIN_COUNT; k++)
        if (strcmp(vfr_backtest_metric_name((vfr_fin)k), name) == 0)
            return k;
    return -1;
}

/* Compares a [M, VFR_FIN_COUNT] table with the expected objects. */
static int compare_table(const char *what, const double *got, const cJSON *expected, double rtol,
                         double atol)
{
    int m = 0, checked = 0;
    const cJSON *exp;
    cJSON_ArrayForEach(exp, expected)
    {
        const cJSON *kv;
        cJSON_ArrayForEach(kv, exp)
        {
            int k = find_fin(kv->string);
            CHECK(k >= 0);
            if (k < 0)
                continue;
            double g = got[(size_t)m * VFR_FIN_COUNT + (size_t)k], w = fixture_num(kv);
            if (!fixture_close(g, w, rtol, atol)) {
                fprintf(stderr, "%s strategy %d %s: got %.17g want %.17g\n", what, m, kv->string, g,
                        w);
                test_failures++;
            }
            checked++;
        }
        m++;
    }
    return checked;
}

static void golden(void)
{
    cJSON *doc = fixture_load();
    const cJSON *tol = cJSON_GetObjectItem(doc, "tolerance");
    double rtol = cJSON_GetObjectItem(tol, "rtol")->valuedouble;
    double atol = cJSON_GetObjectItem(tol, "atol")->valuedouble;
    int runs = 0, checked = 0;
    const cJSON *pan;
    cJSON_ArrayForEach(pan, cJSON_GetObjectItem(doc, "backtest_panels"))
    {
        fixture_panel fp;
        fixture_panel_load(pan, &fp);
        int32_t M;
        float *score = fixture_scores(cJSON_GetObjectItem(pan, "scores"), &M, fp.p.N);
        const cJSON *run;
        cJSON_ArrayForEach(run, cJSON_GetObjectItem(pan, "runs"))
        {
            const cJSON *op = cJSON_GetObjectItem(run, "options");
            vfr_backtest_options o;
            vfr_backtest_options_default(&o);
            CHECK_OK(vfr_backtest_strategy_parse(cJSON_GetObjectItem(op, "strategy")->valuestring,
                                                 &o.strategy));
            o.k = cJSON_GetObjectItem(op, "k")->valueint;
            o.threshold = cJSON_GetObjectItem(op, "threshold")->valuedouble;
            o.horizon = cJSON_GetObjectItem(op, "horizon")->valueint;
            o.cost_bps = cJSON_GetObjectItem(op, "cost_bps")->valuedouble;
            o.risk_free = cJSON_GetObjectItem(op, "risk_free")->valuedouble;
            o.periods_per_year = cJSON_GetObjectItem(op, "periods_per_year")->valueint;
            double *met = malloc(sizeof *met * (size_t)M * VFR_FIN_COUNT);
            double *met1 = malloc(sizeof *met1 * (size_t)M * VFR_FIN_COUNT);
            double *daily = malloc(sizeof *daily * (size_t)M * (size_t)fp.p.T);
            CHECK_OK(vfr_backtest_cpu(&fp.p, score, M, &o, met, daily));
            o.threads = 1; /* one thread gives the same bits */
            CHECK_OK(vfr_backtest_cpu(&fp.p, score, M, &o, met1, NULL));
            CHECK(memcmp(met, met1, sizeof *met * (size_t)M * VFR_FIN_COUNT) == 0);
            char what[96];
            snprintf(what, sizeof what, "%s k=%d h=%d", vfr_backtest_strategy_name(o.strategy), o.k,
                     o.horizon);
            checked += compare_table(what, met, cJSON_GetObjectItem(run, "expected"), rtol, atol);
            int32_t m = 0;
            const cJSON *drow;
            cJSON_ArrayForEach(drow, cJSON_GetObjectItem(run, "daily"))
            {
                int64_t n;
                double *want = fixture_doubles(drow, &n);
                CHECK(n == fp.p.T);
                for (int64_t t = 0; t < n && t < fp.p.T; t++)
                    if (!fixture_close(daily[(size_t)m * (size_t)fp.p.T + (size_t)t], want[t], rtol,
                                       atol)) {
                        fprintf(stderr, "%s strategy %d day %lld: got %.17g want %.17g\n", what, m,
                                (long long)t, daily[(size_t)m * (size_t)fp.p.T + (size_t)t], want[t]);
                        test_failures++;
                        break;
                    }
                free(want);
                m++;
            }
            runs++;
            free(met), free(met1), free(daily);
        }
        free(score);
        fixture_panel_free(&fp);
    }
    const cJSON *sc;
    cJSON_ArrayForEach(sc, cJSON_GetObjectItem(doc, "stats_cases"))
    {
        const cJSON *rows = cJSON_GetObjectItem(sc, "daily");
        int32_t M = cJSON_GetArraySize(rows), T = cJSON_GetArraySize(cJSON_GetArrayItem(rows, 0));
        double *daily = malloc(sizeof *daily * (size_t)M * (size_t)T);
        int32_t m = 0;
        const cJSON *r;
        cJSON_ArrayForEach(r, rows)
        {
            double *v = fixture_doubles(r, NULL);
            memcpy(daily + (size_t)m++ * (size_t)T, v, sizeof *v * (size_t)T);
            free(v);
        }
        vfr_backtest_options o;
        vfr_backtest_options_default(&o);
        o.risk_free = cJSON_GetObjectItem(sc, "risk_free")->valuedouble;
        double *met = malloc(sizeof *met * (size_t)M * VFR_FIN_COUNT);
        CHECK_OK(vfr_backtest_stats_cpu(daily, M, T, &o, met));
        checked += compare_table(cJSON_GetObjectItem(sc, "name")->valuestring, met,
                                 cJSON_GetObjectItem(sc, "expected"), rtol, atol);
        free(daily), free(met);
        runs++;
    }
    CHECK(runs == 9);
    CHECK(checked > 300);
    cJSON_Delete(doc);
}

/* A full panel of T dates x S symbols with random scores and returns. */
typedef struct bpanel {
    vfr_panel p;
    int64_t *off;
    int32_t *sym;
    float *label, *fwd, *fwd1, *score;
} bpanel;

static void bpanel_make(bpanel *b, int32_t T, int32_t S, int32_t M)
{
    int64_t N = (int64_t)T * S;
    size_t n = (size_t)(N ? N : 1);
    b->off = malloc(sizeof *b->off * (size_t)(T + 1));
    b->sym = malloc(sizeof *b->sym * n);
    b->label = calloc(n, sizeof *b->label);
    b->fwd = malloc(sizeof *b->fwd * n);
    b->fwd1 = malloc(sizeof *b->fwd1 * n);
    b->score = malloc(sizeof *b->score * n * (size_t)M);
    for (int32_t t = 0; t <= T; t++)
        b->off[t] = (int64_t)t * S;
    for (int64_t i = 0; i < N; i++) {
        b->sym[i] = (int32_t)(i % S);
        b->fwd1[i] = (float)((test_urand() - 0.48) * 0.04);
        b->fwd[i] = (float)((test_urand() - 0.48) * 0.08);
    }
    for (int64_t i = 0; i < N * M; i++)
        b->score[i] = (float)(test_urand() - 0.5);
    b->p = (vfr_panel){N, T, S, b->off, b->sym, b->label, b->fwd, b->fwd1};
}

static void bpanel_free(bpanel *b)
{
    free(b->off), free(b->sym), free(b->label), free(b->fwd), free(b->fwd1), free(b->score);
}

static void properties(void)
{
    vfr_backtest_options o;
    vfr_backtest_options_default(&o);
    /* Sharpe and Sortino are invariant to scaling the positions: with no costs,
     * positions scaled by c scale every daily return by c. */
    bpanel b;
    bpanel_make(&b, 300, 30, 2);
    o.strategy = VFR_STRATEGY_LONG_SHORT_SIGN;
    o.horizon = 4;
    double met[2 * VFR_FIN_COUNT], met2[2 * VFR_FIN_COUNT], daily[2 * 300], scaled[2 * 300];
    CHECK_OK(vfr_backtest_cpu(&b.p, b.score, 2, &o, met, daily));
    for (int i = 0; i < 600; i++)
        scaled[i] = 2.5 * daily[i];
    CHECK_OK(vfr_backtest_stats_cpu(scaled, 2, 300, &o, met2));
    for (int m = 0; m < 2; m++) {
        CHECK_NEAR(met2[m * VFR_FIN_COUNT + VFR_FIN_SHARPE], met[m * VFR_FIN_COUNT + VFR_FIN_SHARPE],
                   0, 1e-12);
        CHECK_NEAR(met2[m * VFR_FIN_COUNT + VFR_FIN_SORTINO], met[m * VFR_FIN_COUNT + VFR_FIN_SORTINO],
                   0, 1e-12);
        CHECK_NEAR(met2[m * VFR_FIN_COUNT + VFR_FIN_VOLATILITY],
                   2.5 * met[m * VFR_FIN_COUNT + VFR_FIN_VOLATILITY], 0, 1e-12);
    }
    /* the stats of a backtest's own daily returns are its table */
    double met3[2 * VFR_FIN_COUNT];
    CHECK_OK(vfr_backtest_stats_cpu(daily, 2, 300, &o, met3));
    CHECK(met3[VFR_FIN_SHARPE] == met[VFR_FIN_SHARPE] && isnan(met3[VFR_FIN_TURNOVER]));
    /* scores scaled by a positive constant give the same positions */
    for (int64_t i = 0; i < 2 * b.p.N; i++)
        b.score[i] *= 3.0f;
    CHECK_OK(vfr_backtest_cpu(&b.p, b.score, 2, &o, met2, NULL));
    CHECK(met2[VFR_FIN_SHARPE] == met[VFR_FIN_SHARPE]);
    /* overlapping cohorts can net out: gross exposure at most 1 */
    CHECK(met[VFR_FIN_EXPOSURE] > 0.2 && met[VFR_FIN_EXPOSURE] <= 1.0 + 1e-12);
    /* daily cohorts (h = 1) of long_short_sign hold every name: exposure 1 */
    o.horizon = 1;
    CHECK_OK(vfr_backtest_cpu(&b.p, b.score, 2, &o, met, NULL));
    CHECK_NEAR(met[VFR_FIN_EXPOSURE], 1.0, 1e-12, 0);
    /* long_short_median is dollar neutral on every date: net exposure 0 and
     * gross 1 whatever the scores' level (all long or all short signs) */
    o.strategy = VFR_STRATEGY_LONG_SHORT_MEDIAN;
    for (int64_t i = 0; i < b.p.N; i++)
        b.score[i] = 5.0f + (float)(i % 7); /* every score positive */
    CHECK_OK(vfr_backtest_cpu(&b.p, b.score, 1, &o, met, NULL));
    CHECK_NEAR(met[VFR_FIN_NET_EXPOSURE], 0.0, 0, 1e-12);
    CHECK_NEAR(met[VFR_FIN_EXPOSURE], 1.0, 1e-12, 0);
    o.strategy = VFR_STRATEGY_LONG_ONLY; /* the same scores: fully net long */
    CHECK_OK(vfr_backtest_cpu(&b.p, b.score, 1, &o, met, NULL));
    CHECK_NEAR(met[VFR_FIN_NET_EXPOSURE], 1.0, 1e-12, 0);
    bpanel_free(&b);

    /* a monotone equity curve has no drawdown */
    double up[250];
    for (int t = 0; t < 250; t++)
        up[t] = t % 3 ? 0.001 * (1 + t % 7) : 0.0;
    CHECK_OK(vfr_backtest_stats_cpu(up, 1, 250, &o, met));
    CHECK(met[VFR_FIN_MAX_DRAWDOWN] == 0 && met[VFR_FIN_MAX_DRAWDOWN_DAYS] == 0);
    CHECK(isnan(met[VFR_FIN_CALMAR]) && isnan(met[VFR_FIN_PROFIT_FACTOR]));
    CHECK(met[VFR_FIN_WIN_RATE] == 1.0); /* flat days are not counted */
    /* a known drawdown: +10%, -50%, +20%, then flat */
    double dd[5] = {0.10, -0.50, 0.20, 0.0, 0.0}, eq[5];
    CHECK_OK(vfr_backtest_stats_cpu(dd, 1, 5, &o, met));
    CHECK_NEAR(met[VFR_FIN_MAX_DRAWDOWN], 0.5, 1e-15, 0);
    CHECK(met[VFR_FIN_MAX_DRAWDOWN_DAYS] == 4); /* peak on day 0, not recovered by day 4 */
    CHECK_NEAR(met[VFR_FIN_TOTAL_RETURN], 1.1 * 0.5 * 1.2 - 1, 1e-15, 0);
    CHECK_NEAR(met[VFR_FIN_PROFIT_FACTOR], 0.3 / 0.5, 1e-15, 0);
    CHECK_NEAR(met[VFR_FIN_WIN_RATE], 2.0 / 3.0, 1e-15, 0);
    vfr_backtest_equity(dd, 5, eq);
    CHECK_NEAR(eq[4], 0.66, 1e-15, 0);
    /* recovery: -10% then +20%: peak is the start, recovered on day 1 */
    double rec[3] = {-0.1, 0.2, -0.01};
    CHECK_OK(vfr_backtest_stats_cpu(rec, 1, 3, &o, met));
    CHECK(met[VFR_FIN_MAX_DRAWDOWN_DAYS] == 2);
    CHECK_NEAR(met[VFR_FIN_MAX_DRAWDOWN], 0.1, 1e-15, 0);
}

static void edges(void)
{
    vfr_backtest_options o;
    vfr_backtest_options_default(&o);
    double met[3 * VFR_FIN_COUNT], daily[3 * 5];
    /* one date */
    bpanel b;
    bpanel_make(&b, 1, 10, 1);
    o.k = 2;
    CHECK_OK(vfr_backtest_cpu(&b.p, b.score, 1, &o, met, daily));
    CHECK(met[VFR_FIN_DAYS] == 1 && isnan(met[VFR_FIN_SHARPE]) && isnan(met[VFR_FIN_VOLATILITY]));
    CHECK_NEAR(met[VFR_FIN_TURNOVER], 1.0, 1e-15, 0); /* entering from cash */
    CHECK_NEAR(met[VFR_FIN_EXPOSURE], 1.0, 1e-15, 0);
    bpanel_free(&b);
    /* one symbol: top_k cannot hold a long and a short, so it stays flat;
     * long_only holds the name whenever its score is above the threshold */
    bpanel_make(&b, 5, 1, 1);
    CHECK_OK(vfr_backtest_cpu(&b.p, b.score, 1, &o, met, daily));
    CHECK(met[VFR_FIN_EXPOSURE] == 0 && met[VFR_FIN_TOTAL_RETURN] == 0);
    CHECK(isnan(met[VFR_FIN_DIRECTIONAL_ACCURACY]) && isnan(met[VFR_FIN_WIN_RATE]));
    o.strategy = VFR_STRATEGY_LONG_ONLY;
    o.threshold = -1.0;
    CHECK_OK(vfr_backtest_cpu(&b.p, b.score, 1, &o, met, daily));
    CHECK(met[VFR_FIN_EXPOSURE] == 1 && daily[2] == b.fwd1[2]);
    bpanel_free(&b);
    /* all-equal scores: top_k breaks ties by symbol (lowest short, highest
     * long); long_short_sign at the threshold holds nothing; NaN scores hold nothing */
    bpanel_make(&b, 5, 6, 3);
    for (int64_t i = 0; i < b.p.N; i++) {
        b.score[i] = 0.25f;
        b.score[b.p.N + i] = 0.0f;
        b.score[2 * b.p.N + i] = NAN;
    }
    o.strategy = VFR_STRATEGY_TOP_K;
    o.k = 2;
    CHECK_OK(vfr_backtest_cpu(&b.p, b.score, 3, &o, met, daily));
    double want = 0.25 * (b.fwd1[4] + b.fwd1[5] - b.fwd1[0] - b.fwd1[1]);
    CHECK_NEAR(daily[0], want, 1e-9, 1e-6);
    CHECK(met[VFR_FIN_TURNOVER] == 0.2); /* one entry, then the same book */
    CHECK(met[2 * VFR_FIN_COUNT + VFR_FIN_EXPOSURE] == 0);
    o.strategy = VFR_STRATEGY_LONG_SHORT_SIGN;
    o.threshold = 0.0;
    CHECK_OK(vfr_backtest_cpu(&b.p, b.score + b.p.N, 1, &o, met, daily));
    CHECK(met[VFR_FIN_EXPOSURE] == 0 && met[VFR_FIN_TOTAL_RETURN] == 0);
    /* costs: every unit of turnover costs cost_bps */
    o.strategy = VFR_STRATEGY_TOP_K;
    o.cost_bps = 10;
    double met0[VFR_FIN_COUNT], d0[5];
    CHECK_OK(vfr_backtest_cpu(&b.p, b.score, 1, &o, met, daily));
    o.cost_bps = 0;
    CHECK_OK(vfr_backtest_cpu(&b.p, b.score, 1, &o, met0, d0));
    CHECK_NEAR(d0[0] - daily[0], 1e-3, 1e-15, 0);
    CHECK(d0[1] == daily[1]);
    /* errors */
    o.k = 0;
    CHECK_FAIL(vfr_backtest_cpu(&b.p, b.score, 1, &o, met, NULL), VFR_ERR_INVALID_ARG, "k = 0");
    o.k = 2, o.horizon = 0;
    CHECK_FAIL(vfr_backtest_cpu(&b.p, b.score, 1, &o, met, NULL), VFR_ERR_INVALID_ARG, "horizon");
    o.horizon = 1, o.cost_bps = -1;
    CHECK_FAIL(vfr_backtest_cpu(&b.p, b.score, 1, &o, met, NULL), VFR_ERR_INVALID_ARG, "cost");
    o.cost_bps = 0;
    vfr_panel nof = b.p;
    nof.fwd1 = NULL;
    CHECK_FAIL(vfr_backtest_cpu(&nof, b.score, 1, &o, met, NULL), VFR_ERR_INVALID_ARG, "fwd1");
    vfr_strategy s;
    CHECK_FAIL(vfr_backtest_strategy_parse("momentum", &s), VFR_ERR_INVALID_ARG, "momentum");
    CHECK_OK(vfr_backtest_strategy_parse("top_k", &s));
    CHECK(s == VFR_STRATEGY_TOP_K && strcmp(vfr_backtest_metric_name(VFR_FIN_SHARPE), "sharpe") == 0);
    if (vfr_device_count() == 0) {
        CHECK_FAIL(vfr_backtest_cuda(&b.p, b.score, 1, &o, met, NULL), VFR_ERR_NO_DEVICE, NULL);
        CHECK_FAIL(vfr_backtest_stats_cuda(d0, 1, 5, &o, met), VFR_ERR_NO_DEVICE, NULL);
    }
    bpanel_free(&b);
}

static void result_file(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/bt.h5", test_tmpdir());
    vfr_backtest_options o;
    vfr_backtest_options_default(&o);
    double daily[2 * 4] = {0.01, -0.02, 0.0, NAN, 0.03, 0.01, -0.01, 0.0};
    int32_t date[4] = {19000, 19001, 19004, 19005};
    const char *names[2] = {"a", "bb"};
    CHECK_OK(vfr_backtest_write(path, &o, 2, 4, date, names, daily));
    int32_t M, T;
    double *back;
    char **nm;
    CHECK_OK(vfr_backtest_read_returns(path, &M, &T, &back, &nm));
    CHECK(M == 2 && T == 4 && nm && strcmp(nm[1], "bb") == 0);
    CHECK(back[4] == 0.03 && isnan(back[3]));
    vfr_backtest_free_returns(back, nm, M);
    CHECK_FAIL(vfr_backtest_read_returns("/nonexistent/bt.h5", &M, &T, &back, &nm),
               VFR_ERR_NOT_FOUND, "nonexistent");
    snprintf(path, sizeof path, "%s/no-such-dir/bt.h5", test_tmpdir());
    CHECK_FAIL(vfr_backtest_write(path, &o, 2, 4, date, names, daily), VFR_ERR_IO, "no-such-dir");
}

int main(void)
{
    golden();
    properties();
    edges();
    result_file();
    return test_done("test_backtest");
}
