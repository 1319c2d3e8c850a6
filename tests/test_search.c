/* test_search.c: search spaces: the grid is exactly the product, random and
 * TPE points are a pure function of the seed, TPE beats random search on a
 * 2-parameter objective at the same budget (averaged over seeds), bad
 * spaces name their key, and (property) any space random search accepts TPE
 * accepts: over every distribution type and numeric XGBoost parameter, the
 * pre-flight point is the point both methods try first, and every point TPE
 * draws is one the model accepts. */
#include <cjson/cJSON.h>

#include "test_util.h"
#include "vfr/model.h"
#include "vfr/search.h"

static double objective(const double *x) /* peak at (0.3, 0.7) in [0, 1]^2, log-scaled 2nd dim */
{
    double a = x[0] - 0.3, b = log10(x[1]) - log10(0.07);
    return -(a * a + b * b);
}

static double run(vfr_space *s, uint64_t seed, int tpe, int budget)
{
    double X[2 * 64], y[64], best = -INFINITY;
    for (int t = 0; t < budget; t++) {
        if (tpe)
            CHECK_OK(vfr_space_tpe_point(s, seed, t, X, y, t, 8, X + 2 * t));
        else
            vfr_space_random_point(s, seed, t, X + 2 * t);
        y[t] = objective(X + 2 * t);
        best = fmax(best, y[t]);
    }
    return best;
}


/* A numeric XGBoost parameter and a range inside what it accepts. */
typedef struct prange {
    const char *name;
    double lo, hi;
    int is_int;
} prange;

static const prange PARAMS[] = {
    {"n_estimators", 5, 400, 1},      {"learning_rate", 0.01, 0.3, 0}, {"eta", 0.001, 1, 0},
    {"max_depth", 1, 12, 1},          {"min_child_weight", 0.1, 20, 0}, {"subsample", 0.5, 0.9, 0},
    {"colsample_bytree", 0.3, 1, 0},  {"colsample_bylevel", 0.5, 0.9, 0}, {"colsample_bynode", 0.2, 0.8, 0},
    {"reg_lambda", 0.01, 10, 0},      {"lambda", 0.5, 5, 0},           {"reg_alpha", 0.001, 1, 0},
    {"alpha", 0.01, 2, 0},            {"gamma", 0.01, 5, 0},           {"min_split_loss", 0.1, 1, 0},
    {"max_bin", 16, 512, 1},          {"max_leaves", 4, 255, 1},       {"scale_pos_weight", 0.5, 3, 0},
    {"max_delta_step", 0.5, 10, 0},   {"num_leaves", 4, 127, 1},       {"min_child_samples", 5, 100, 1},
};

static vfr_status model_accepts(const char *params)
{
    vfr_model_config mc = {"xgboost", params, VFR_OBJECTIVE_DIRECTION, VFR_DEVICE_CPU, 1, 1, NULL, 1, NULL};
    vfr_model *m = NULL;
    vfr_status st = vfr_model_create(&mc, &m);
    vfr_model_destroy(m);
    return st;
}

/* One-dimensional space over p with distribution `type` (0 uniform, 1 loguniform, 2 int, 3 choice). */
static int space_json(char *buf, size_t n, const prange *p, int type)
{
    const char *names[] = {"uniform", "loguniform", "int"};
    if (type == 2 && !p->is_int)
        return 0;
    if (type == 3)
        snprintf(buf, n, "{\"%s\": {\"type\": \"choice\", \"values\": [%g, %g, %g]}}", p->name, p->lo,
                 p->is_int ? floor(0.5 * (p->lo + p->hi)) : 0.5 * (p->lo + p->hi), p->hi);
    else
        snprintf(buf, n, "{\"%s\": {\"type\": \"%s\", \"low\": %g, \"high\": %g}}", p->name, names[type], p->lo, p->hi);
    return 1;
}

static void check_tpe_accepts_what_random_accepts(void)
{
    int spaces = 0, accepted = 0;
    for (size_t i = 0; i < sizeof PARAMS / sizeof *PARAMS; i++)
        for (int type = 0; type < 4; type++) {
            char js[256];
            if (!space_json(js, sizeof js, &PARAMS[i], type))
                continue;
            for (uint64_t seed = 1; seed <= 3; seed++) {
                vfr_space *rs = NULL, *ts = NULL;
                CHECK_OK(vfr_space_parse(js, VFR_SEARCH_RANDOM, &rs));
                CHECK_OK(vfr_space_parse(js, VFR_SEARCH_TPE, &ts));
                if (!rs || !ts) {
                    vfr_space_free(rs), vfr_space_free(ts);
                    continue;
                }
                double xr, xt, x0;
                vfr_space_first_point(rs, VFR_SEARCH_RANDOM, seed, &xr);
                vfr_space_first_point(ts, VFR_SEARCH_TPE, seed, &xt);
                CHECK_OK(vfr_space_tpe_point(ts, seed, 0, NULL, NULL, 0, 4, &x0)); /* what TPE's trial 0 runs */
                CHECK(xr == xt && xt == x0);
                char *pr = vfr_space_point_json(rs, &xr, "{\"nthread\": 1}");
                char *pt = vfr_space_point_json(ts, &xt, "{\"nthread\": 1}");
                int acc_r = model_accepts(pr) == VFR_OK, acc_t = model_accepts(pt) == VFR_OK;
                free(pr), free(pt);
                CHECK(acc_r == acc_t);
                /* a float distribution over an integer parameter is refused by both; every other space is
                 * accepted */
                int want = !(PARAMS[i].is_int && type < 2);
                if (acc_t != want)
                    fprintf(stderr, "pre-flight %s %s: %s\n", acc_t ? "accepts" : "refuses", js, vfr_last_error());
                CHECK(acc_t == want);
                accepted += acc_t;
                /* TPE past its start-up: every point it draws in an accepted space is accepted too */
                double X[16], y[16];
                for (int t = 0; acc_t && t < 16; t++) {
                    CHECK_OK(vfr_space_tpe_point(ts, seed, t, X, y, t, 4, &X[t]));
                    y[t] = -fabs(X[t] - PARAMS[i].lo);
                    char *pj = vfr_space_point_json(ts, &X[t], NULL);
                    vfr_status st = model_accepts(pj);
                    if (st != VFR_OK)
                        fprintf(stderr, "TPE trial %d of %s: %s\n", t, js, vfr_last_error());
                    CHECK(st == VFR_OK);
                    free(pj);
                }
                vfr_space_free(rs), vfr_space_free(ts);
                spaces++;
            }
        }
    CHECK(spaces >= 3 * 60 && accepted >= 3 * 50);
}

int main(void)
{
    vfr_space *s = NULL;
    CHECK_OK(vfr_space_parse("{\"learning_rate\": [0.01, 0.05, 0.1], \"max_depth\": [3, 5], "
                             "\"grow_policy\": [\"depthwise\", \"lossguide\"]}",
                             VFR_SEARCH_GRID, &s));
    CHECK(vfr_space_grid_size(s) == 12 && vfr_space_dims(s) == 3);
    /* every combination exactly once */
    char seen[12][160];
    for (int t = 0; t < 12; t++) {
        double x[3];
        vfr_space_grid_point(s, t, x);
        char *j = vfr_space_point_json(s, x, "{\"n_estimators\": 100}");
        snprintf(seen[t], sizeof seen[t], "%s", j);
        CHECK(strstr(j, "\"n_estimators\":100") != NULL);
        for (int u = 0; u < t; u++)
            CHECK(strcmp(seen[u], seen[t]) != 0);
        double back[3];
        CHECK(vfr_space_point_from_json(s, j, back) == 0 && back[0] == x[0] && back[2] == x[2]);
        free(j);
    }
    CHECK(strstr(seen[0], "0.01") && strstr(seen[0], "depthwise"));
    CHECK(strstr(seen[1], "lossguide") && strstr(seen[1], "0.01")); /* last key fastest */
    vfr_space_free(s);

    CHECK_FAIL(vfr_space_parse("{\"eta\": {\"type\": \"uniform\", \"low\": 0, \"high\": 1}}", VFR_SEARCH_GRID, &s),
               VFR_ERR_INVALID_ARG, "search.space.eta: grid_search needs a list");
    CHECK_FAIL(vfr_space_parse("{\"eta\": {\"type\": \"loguniform\", \"low\": 0, \"high\": 1}}", VFR_SEARCH_RANDOM, &s),
               VFR_ERR_INVALID_ARG, "search.space.eta");
    CHECK_FAIL(vfr_space_parse("{\"eta\": {\"type\": \"normal\"}}", VFR_SEARCH_RANDOM, &s),
               VFR_ERR_INVALID_ARG, "search.space.eta.type");
    CHECK_FAIL(vfr_space_parse("{\"eta\": []}", VFR_SEARCH_GRID, &s), VFR_ERR_INVALID_ARG, "empty");
    CHECK_FAIL(vfr_space_parse("{}", VFR_SEARCH_GRID, &s), VFR_ERR_INVALID_ARG, "search.space");

    CHECK_OK(vfr_space_parse("{\"a\": {\"type\": \"uniform\", \"low\": 0, \"high\": 1}, "
                             "\"b\": {\"type\": \"loguniform\", \"low\": 0.001, \"high\": 1}}",
                             VFR_SEARCH_TPE, &s));
    /* determinism: same seed, same points; other seed, other points */
    double a[2], b[2], c[2];
    vfr_space_random_point(s, 5, 3, a);
    vfr_space_random_point(s, 5, 3, b);
    vfr_space_random_point(s, 6, 3, c);
    CHECK(a[0] == b[0] && a[1] == b[1] && (a[0] != c[0] || a[1] != c[1]));
    CHECK(a[0] >= 0 && a[0] <= 1 && a[1] >= 0.001 && a[1] <= 1);
    double X[2 * 40], y[40], p1[2], p2[2];
    for (int t = 0; t < 40; t++) {
        vfr_space_random_point(s, 9, t, X + 2 * t);
        y[t] = objective(X + 2 * t);
    }
    CHECK_OK(vfr_space_tpe_point(s, 1, 40, X, y, 40, 8, p1));
    CHECK_OK(vfr_space_tpe_point(s, 1, 40, X, y, 40, 8, p2));
    CHECK(p1[0] == p2[0] && p1[1] == p2[1]);

    /* TPE against random search, 40 trials each, averaged over 30 seeds */
    double tpe = 0, rnd = 0;
    int wins = 0;
    for (uint64_t seed = 1; seed <= 30; seed++) {
        double bt = run(s, seed, 1, 40), br = run(s, seed + 1000, 0, 40);
        tpe += bt / 30;
        rnd += br / 30;
        wins += bt > br;
    }
    fprintf(stderr, "mean best: TPE %.5f, random %.5f; TPE better on %d of 30 seeds\n", tpe, rnd, wins);
    CHECK(tpe > rnd);
    CHECK(wins >= 18);
    vfr_space_free(s);

    /* int dimensions round and stay in bounds; choices come back as values */
    CHECK_OK(vfr_space_parse("{\"max_depth\": {\"type\": \"int\", \"low\": 2, \"high\": 9}, "
                             "\"grow_policy\": {\"type\": \"choice\", \"values\": [\"depthwise\", \"lossguide\"]}}",
                             VFR_SEARCH_RANDOM, &s));
    for (int t = 0; t < 200; t++) {
        double x[2];
        vfr_space_random_point(s, 3, t, x);
        CHECK(x[0] == floor(x[0]) && x[0] >= 2 && x[0] <= 9 && (x[1] == 0 || x[1] == 1));
    }
    vfr_space_free(s);

    check_tpe_accepts_what_random_accepts();
    return test_done("test_search");
}
