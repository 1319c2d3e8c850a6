/* test_search.c: search spaces: the grid is exactly the product, random and
 * TPE points are a pure function of the seed, TPE beats random search on a
 * 2-parameter objective at the same budget (averaged over seeds), and bad
 * spaces name their key. */
#include <cjson/cJSON.h>

#include "test_util.h"
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
    return test_done("test_search");
}
