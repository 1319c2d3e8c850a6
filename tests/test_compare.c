/* test_compare.c: the baselines' positions worked out by hand, buy-and-hold
 * equal to the equal-weight average of the symbols' returns, and the deploy
 * rule: each threshold failed alone flips shouldDeploy and is named. */
#include "test_util.h"
#include "vfr/backtest.h"
#include "vfr/compare.h"

static void sma_by_hand(void)
{
    /* fast 2, slow 3; SMA2 vs SMA3 from t = 2 on:
     * t=2: (2+3)/2=2.5 > 2     -> +1     t=3: 3.5 > 3     -> +1
     * t=4: 3.5 > 10/3=3.33     -> +1     t=5: 2.5 < 3     -> -1/0
     * t=6: 1.5 < 2             -> -1/0   t=7: 1.5 < 5/3   -> -1/0 */
    const float close[8] = {1, 2, 3, 4, 3, 2, 1, 2};
    float pos[8];
    const float want_short[8] = {NAN, NAN, 1, 1, 1, -1, -1, -1};
    vfr_baseline_sma(close, 8, 2, 3, 1, pos);
    for (int t = 0; t < 8; t++)
        CHECK(t < 2 ? isnan(pos[t]) : pos[t] == want_short[t]);
    vfr_baseline_sma(close, 8, 2, 3, 0, pos);
    for (int t = 2; t < 8; t++)
        CHECK(pos[t] == (want_short[t] > 0 ? 1.0f : 0.0f));
    vfr_baseline_momentum(close, 8, 3, pos); /* sign of close[t]/close[t-3]-1 */
    const float want_mom[8] = {NAN, NAN, NAN, 1, 1, -1, -1, -1};
    for (int t = 0; t < 8; t++)
        CHECK(t < 3 ? isnan(pos[t]) : pos[t] == want_mom[t]);
}

static void buy_and_hold_is_the_average(void)
{
    enum { T = 30, S = 4 };
    int64_t off[T + 1];
    int32_t sym[T * S];
    float lab[T * S], fwd1[T * S], score[T * S];
    for (int t = 0; t <= T; t++)
        off[t] = (int64_t)t * S;
    for (int i = 0; i < T * S; i++) {
        sym[i] = i % S;
        fwd1[i] = 0.01f * (float)((i * 7) % 11 - 5);
        lab[i] = fwd1[i] > 0;
        score[i] = 1.0f;
    }
    vfr_panel p = {T * S, T, S, off, sym, lab, fwd1, fwd1};
    vfr_backtest_options o;
    vfr_backtest_options_default(&o);
    o.strategy = VFR_STRATEGY_LONG_ONLY;
    o.threshold = 0.0;
    o.horizon = 1;
    o.cost_bps = 0;
    double fin[VFR_FIN_COUNT], daily[T];
    CHECK_OK(vfr_backtest_cpu(&p, score, 1, &o, fin, daily));
    for (int t = 0; t < T; t++) {
        double avg = 0;
        for (int s = 0; s < S; s++)
            avg += fwd1[t * S + s] / S;
        CHECK_NEAR(daily[t], avg, 1e-7, 0);
    }
}

static vfr_job *job(void)
{
    vfr_job *j = NULL;
    CHECK_OK(vfr_job_parse("j.json",
                           "{\"jobId\": \"j\", \"modelName\": \"m\", \"predictionHorizon\": 1,"
                           " \"dataConfig\": {\"dataset\": \"d.h5\"}}", &j));
    return j;
}

static void decision_rule(void)
{
    vfr_job *j = job();
    if (!j)
        return;
    /* passes every default threshold */
    const vfr_decision_inputs good = {"buy_and_hold", 1.8, 1.0, 0.58, 0.50, 0.01, 0.001, 0.12, 0.97};
    vfr_decision d;
    vfr_compare_decide(j, &good, &d);
    CHECK(d.should_deploy && strstr(d.reason, "deploy: every check passed"));
    struct {
        vfr_decision_inputs in;
        const char *named;
    } fails[] = {
        {{"buy_and_hold", 1.15, 1.0, 0.58, 0.50, 0.01, 0.001, 0.12, 0.97}, "Sharpe 1.15 vs buy_and_hold 1.00 is +15%"},
        {{"buy_and_hold", 1.8, 1.0, 0.53, 0.50, 0.01, 0.001, 0.12, 0.97}, "directional accuracy 53.0% vs 50.0% is +3.0 points"},
        {{"buy_and_hold", 1.8, 1.0, 0.58, 0.50, 0.20, 0.001, 0.12, 0.97}, "p-value 0.2"},
        {{"buy_and_hold", 0.9, 0.5, 0.58, 0.50, 0.01, 0.001, 0.12, 0.97}, "Sharpe 0.90 (needs > 1.00)"},
        {{"buy_and_hold", 1.8, 1.0, 0.58, 0.50, 0.01, 0.001, 0.31, 0.97}, "max drawdown -31.0%"},
        {{"buy_and_hold", 1.8, 1.0, 0.58, 0.50, 0.01, 0.001, 0.12, 0.90}, "Deflated Sharpe 0.900"},
    };
    for (size_t k = 0; k < sizeof fails / sizeof fails[0]; k++) {
        vfr_compare_decide(j, &fails[k].in, &d);
        CHECK(!d.should_deploy);
        CHECK(!d.checks[k].passed);
        for (size_t o = 0; o < VFR_DECISION_CHECKS; o++)
            if (o != k)
                CHECK(d.checks[o].passed); /* only the one threshold failed */
        if (!strstr(d.reason, fails[k].named)) {
            fprintf(stderr, "reason '%s' does not name '%s'\n", d.reason, fails[k].named);
            CHECK(0);
        }
    }
    /* a significant but negative difference is no reason to deploy */
    vfr_decision_inputs neg = good;
    neg.mean_diff = -0.001;
    vfr_compare_decide(j, &neg, &d);
    CHECK(!d.should_deploy && strstr(d.reason, "negative mean difference"));
    vfr_job_free(j);
}

int main(void)
{
    sma_by_hand();
    buy_and_hold_is_the_average();
    decision_rule();
    return test_done("test_compare");
}
