/* test_metrics_edges.c: the edges where the CPU twins and the CUDA launchers
 * must decide alike: constant segments (IC, rank IC, R²; the relative
 * threshold of vfri_metrics_is_constant), and the CUDA launchers' model chunks
 * forced small with VFR_CUDA_CHUNK_MODELS (real sizes fit one chunk on a big
 * card, so the chunk loop is otherwise never run). The CPU checks always run;
 * the CUDA ones where a device is found (in CI: the emulated one, as
 * emu_test_metrics_edges). */
#include <stdint.h>

#include "metrics_internal.h"
#define TEST_SEED 0x9e3779b97f4a7c15ull
#include "test_util.h"
#include "vfr/backtest.h"
#include "vfr/device.h"
#include "vfr/metrics.h"


static int same(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

static void threshold(void)
{
    /* exactly constant, and constant up to double summation noise */
    CHECK(vfri_metrics_is_constant(0.0, 10, 0.1));
    CHECK(vfri_metrics_is_constant(0.0, 10, 0.0));
    CHECK(vfri_metrics_is_constant(1e-30, 10, 0.1));
    CHECK(vfri_metrics_is_constant(NAN, 10, 0.1));
    /* values a float32 ulp apart are not constant; neither is any spread
     * around a zero mean */
    const double ulp = 0.1 * 6e-8;
    CHECK(!vfri_metrics_is_constant(ulp * ulp, 2, 0.1));
    CHECK(!vfri_metrics_is_constant(1e-300, 2, 0.0));
    /* order-dependent summation: n copies of 0.1 (a double) summed in two
     * orders leave different tiny spreads; both count as constant */
    enum { n = 1000 };
    double v[n], s1 = 0, s2 = 0, q1 = 0, q2 = 0;
    for (int i = 0; i < n; i++)
        v[i] = i % 2 ? 0.1 : 0.1 + 1e-17 * (double)(i % 7);
    for (int i = 0; i < n; i++)
        s1 += v[i], s2 += v[n - 1 - i];
    for (int i = 0; i < n; i++)
        q1 += (v[i] - s1 / n) * (v[i] - s1 / n), q2 += (v[i] - s2 / n) * (v[i] - s2 / n);
    CHECK(vfri_metrics_is_constant(q1, n, s1 / n) && vfri_metrics_is_constant(q2, n, s2 / n));
}

/* A panel of T dates x S symbols: date 0 has a constant target (0.1f), date
 * 1 a varied one, date 2 a target one float ulp from constant; labels are
 * constant (1/3f) everywhere for R². Models: 0 varied scores, 1 constant
 * scores, 2 scores equal to the label, 3 varied except on date 1. */
enum { T = 3, S = 37, M = 4 };
static int64_t off[T + 1];
static int32_t sym[T * S];
static float label[T * S], fwd[T * S], fwd1[T * S], score[M * T * S];

static void edge_panel(vfr_panel *p)
{
    for (int t = 0; t < T; t++) {
        off[t] = (int64_t)t * S;
        for (int s = 0; s < S; s++) {
            int i = t * S + s;
            sym[i] = s;
            label[i] = 1.0f / 3.0f;
            fwd[i] = t == 0 ? 0.1f : t == 1 ? (float)(test_urand() - 0.5) : s == 5 ? nextafterf(0.1f, 1) : 0.1f;
            fwd1[i] = (float)(0.02 * (test_urand() - 0.5));
            score[0 * T * S + i] = (float)test_urand();
            score[1 * T * S + i] = 0.7f;
            score[2 * T * S + i] = label[i];
            score[3 * T * S + i] = t == 1 ? 0.25f : (float)test_urand();
        }
    }
    off[T] = (int64_t)T * S;
    *p = (vfr_panel){(int64_t)T * S, T, S, off, sym, label, fwd, fwd1};
}

static double at(const double *out, int m, vfr_metric k) { return out[m * VFR_METRIC_COUNT + k]; }

static void constant_segments(int cuda)
{
    vfr_panel p;
    edge_panel(&p);
    vfr_metrics_options o;
    vfr_metrics_options_default(&o);
    o.task = VFR_TASK_REGRESSION;
    double a[M * VFR_METRIC_COUNT], b[M * VFR_METRIC_COUNT];
    CHECK_OK(vfr_metrics_batch_cpu(&p, score, M, &o, a));
    /* date 0 (constant target) never counts; date 2 (one ulp off) does where
     * the scores vary; model 1 (constant scores) has no IC at all */
    CHECK(at(a, 0, VFR_METRIC_IC_DATES) == 2);
    CHECK(at(a, 1, VFR_METRIC_IC_DATES) == 0 && isnan(at(a, 1, VFR_METRIC_IC)));
    CHECK(isnan(at(a, 1, VFR_METRIC_RANK_IC)));
    CHECK(at(a, 3, VFR_METRIC_IC_DATES) == 1); /* constant on date 1, target constant on 0 */
    /* constant label: R² 1 when predicted exactly, else 0 */
    CHECK(at(a, 2, VFR_METRIC_R2) == 1.0);
    CHECK(at(a, 0, VFR_METRIC_R2) == 0.0 && at(a, 1, VFR_METRIC_R2) == 0.0);
    if (!cuda)
        return;
    CHECK_OK(vfr_metrics_batch_cuda(&p, score, M, &o, b));
    for (int m = 0; m < M; m++)
        for (int k = 0; k < VFR_METRIC_COUNT; k++) {
            double x = a[m * VFR_METRIC_COUNT + k], y = b[m * VFR_METRIC_COUNT + k];
            int ok = (isnan(x) && isnan(y)) || (!isnan(x) && !isnan(y) && fabs(x - y) <= 1e-12 + 1e-9 * fabs(x));
            if (!ok)
                fprintf(stderr, "constant segments: model %d %s: cpu %.17g cuda %.17g\n", m,
                        vfr_metrics_name((vfr_metric)k), x, y);
            CHECK(ok);
        }
}

/* The CUDA launchers with chunks of 1 and 3 models give what one chunk gives. */
static void forced_chunks(void)
{
    enum { TT = 40, SS = 30, MM = 7 };
    static int64_t o2[TT + 1];
    static int32_t s2[TT * SS];
    static float l2[TT * SS], f2[TT * SS], g2[TT * SS], sc[MM * TT * SS];
    int64_t n = 0;
    for (int t = 0; t < TT; t++) {
        o2[t] = n;
        for (int s = 0; s < SS; s++) {
            if (test_urand() < 0.1)
                continue;
            s2[n] = s;
            g2[n] = (float)(0.04 * (test_urand() - 0.49));
            f2[n] = g2[n] + (float)(0.01 * (test_urand() - 0.5));
            l2[n] = g2[n] + 0.01 * (test_urand() - 0.5) > 0;
            n++;
        }
    }
    o2[TT] = n;
    for (int m = 0; m < MM; m++)
        for (int64_t i = 0; i < n; i++)
            sc[m * n + i] = m % 3 == 1 ? (float)((int)(test_urand() * 5)) / 5.0f : (float)(0.5 + 5 * g2[i] + 0.3 * (test_urand() - 0.5));
    vfr_panel p = {n, TT, SS, o2, s2, l2, f2, g2};
    vfr_metrics_options mo;
    vfr_metrics_options_default(&mo);
    vfr_backtest_options bo;
    vfr_backtest_options_default(&bo);
    bo.cost_bps = 5, bo.horizon = 3, bo.k = 4;
    const vfr_strategy strat[2] = {VFR_STRATEGY_TOP_K, VFR_STRATEGY_LONG_SHORT_SIGN};
    static double ref[3][MM * VFR_METRIC_COUNT], got[MM * VFR_METRIC_COUNT];
    static double dref[2][MM * TT], dgot[MM * TT];
    unsetenv("VFR_CUDA_CHUNK_MODELS");
    CHECK_OK(vfr_metrics_batch_cuda(&p, sc, MM, &mo, ref[0]));
    for (int s = 0; s < 2; s++) {
        bo.strategy = strat[s];
        CHECK_OK(vfr_backtest_cuda(&p, sc, MM, &bo, ref[1 + s], dref[s]));
    }
    const char *chunks[2] = {"1", "3"};
    for (int c = 0; c < 2; c++) {
        setenv("VFR_CUDA_CHUNK_MODELS", chunks[c], 1);
        CHECK_OK(vfr_metrics_batch_cuda(&p, sc, MM, &mo, got));
        for (int i = 0; i < MM * VFR_METRIC_COUNT; i++)
            CHECK(same(got[i], ref[0][i]));
        for (int s = 0; s < 2; s++) {
            bo.strategy = strat[s];
            CHECK_OK(vfr_backtest_cuda(&p, sc, MM, &bo, got, dgot));
            for (int i = 0; i < MM * VFR_FIN_COUNT; i++)
                CHECK(same(got[i], ref[1 + s][i]));
            for (int i = 0; i < MM * TT; i++)
                CHECK(same(dgot[i], dref[s][i]));
        }
    }
    unsetenv("VFR_CUDA_CHUNK_MODELS");
    /* and the chunk size stays a cap, never a floor */
    setenv("VFR_CUDA_CHUNK_MODELS", "1000", 1);
    CHECK(vfri_metrics_cuda_chunk(5) == 5);
    setenv("VFR_CUDA_CHUNK_MODELS", "2", 1);
    CHECK(vfri_metrics_cuda_chunk(5) == 2);
    unsetenv("VFR_CUDA_CHUNK_MODELS");
}

int main(void)
{
    const int cuda = vfr_device_count() > 0;
    threshold();
    constant_segments(cuda);
    if (cuda)
        forced_chunks();
    else
        fprintf(stderr, "test_metrics_edges: no CUDA device: CPU checks only\n");
    return test_done("test_metrics_edges");
}
