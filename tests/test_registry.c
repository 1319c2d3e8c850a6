/* test_registry.c: the registry's pieces that need no trained model: the
 * hot-model cache (LRU order, byte budget, models evicted while in use,
 * threads), A/B routing (share within tolerance over many symbols, the same
 * buckets on every run), names, versions and references, and opening folders
 * that are not registries (clear errors, nothing written), schema versions
 * and the migration path; and the library calls vfr train and vfr compare
 * make (register_run, auto_deploy, champion_score) on a hand-made run folder
 * with a linear model. End-to-end behaviour (register, deploy, rollback,
 * predict, crashes, concurrency) is tests/test_registry.py. */
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"
#include "vfr/model_cache.h"
#include "vfr/probe.h"
#include "vfr/registry.h"

/* ---- cache ------------------------------------------------------------------ */

static atomic_int loads;

static vfr_status load_linear(void *ctx, vfr_model **out)
{
    (void)ctx;
    vfr_model_config cfg = {.type = "linear", .params_json = "{}", .device = VFR_DEVICE_CPU, .F = 2};
    atomic_fetch_add(&loads, 1);
    return vfr_model_create(&cfg, out);
}

static vfr_status load_fails(void *ctx, vfr_model **out)
{
    (void)ctx;
    *out = NULL;
    return vfr_fail(VFR_ERR_NOT_FOUND, "no such artifact");
}

/* acquire + release; returns whether it was a hit */
static int touch(vfr_model_cache *c, const char *key, size_t cost)
{
    vfr_model *m = NULL;
    int hit = -1;
    CHECK_OK(vfr_model_cache_acquire(c, key, cost, load_linear, NULL, &m, &hit));
    CHECK(m != NULL);
    vfr_model_cache_release(c, m);
    return hit;
}

typedef struct hammer_arg {
    vfr_model_cache *c;
    int seed;
} hammer_arg;

static void *hammer(void *p)
{
    hammer_arg *a = p;
    static const char *keys[] = {"k0", "k1", "k2", "k3", "k4", "k5"};
    unsigned s = (unsigned)a->seed;
    for (int i = 0; i < 3000; i++) {
        s = s * 1103515245u + 12345u;
        vfr_model *m = NULL;
        if (vfr_model_cache_acquire(a->c, keys[(s >> 16) % 6], 100, load_linear, NULL, &m, NULL) == VFR_OK)
            vfr_model_cache_release(a->c, m);
    }
    return NULL;
}

static void test_cache(void)
{
    vfr_model_cache *c;
    vfr_model_cache_stats s;
    CHECK_FAIL(vfr_model_cache_create(0, &c), VFR_ERR_INVALID_ARG, "budget");
    CHECK_OK(vfr_model_cache_create(300, &c));
    loads = 0;
    CHECK(touch(c, "A", 100) == 0);
    CHECK(touch(c, "B", 100) == 0);
    CHECK(touch(c, "C", 100) == 0);
    CHECK(touch(c, "A", 100) == 1); /* order now A, C, B (most recent first) */
    CHECK(loads == 3);
    CHECK(touch(c, "D", 100) == 0); /* evicts B, the least recently used */
    CHECK(!vfr_model_cache_contains(c, "B"));
    CHECK(vfr_model_cache_contains(c, "A") && vfr_model_cache_contains(c, "C") && vfr_model_cache_contains(c, "D"));
    vfr_model_cache_stats_get(c, &s);
    CHECK(s.hits == 1 && s.misses == 4 && s.evictions == 1);
    CHECK(s.bytes == 300 && s.entries == 3 && s.budget == 300);
    /* 250 bytes: needs two evictions, C then A (D is the most recent) */
    CHECK(touch(c, "E", 250) == 0);
    CHECK(!vfr_model_cache_contains(c, "C") && !vfr_model_cache_contains(c, "A"));
    CHECK(!vfr_model_cache_contains(c, "D")); /* 250 + 100 > 300: D goes too */
    CHECK(vfr_model_cache_contains(c, "E"));
    vfr_model_cache_stats_get(c, &s);
    CHECK(s.bytes == 250 && s.entries == 1 && s.evictions == 4);
    /* larger than the budget: served, never cached, nothing evicted */
    CHECK(touch(c, "huge", 1000) == 0);
    CHECK(!vfr_model_cache_contains(c, "huge") && vfr_model_cache_contains(c, "E"));
    vfr_model_cache_stats_get(c, &s);
    CHECK(s.bytes == 250 && s.evictions == 4);
    /* evicted while acquired: stays usable until released */
    vfr_model *held = NULL;
    CHECK_OK(vfr_model_cache_acquire(c, "E", 250, load_linear, NULL, &held, NULL));
    CHECK(touch(c, "F", 100) == 0); /* evicts E */
    CHECK(!vfr_model_cache_contains(c, "E"));
    double imp[2] = {-1, -1};
    vfr_model_importance(held, imp); /* untrained: an error, but the object is alive (ASan) */
    vfr_model_cache_release(c, held);
    /* a failing loader caches nothing */
    vfr_model *m = (vfr_model *)&s;
    CHECK_FAIL(vfr_model_cache_acquire(c, "bad", 1, load_fails, NULL, &m, NULL), VFR_ERR_NOT_FOUND, "artifact");
    CHECK(m == NULL && !vfr_model_cache_contains(c, "bad"));
    vfr_model_cache_destroy(c);
    vfr_model_cache_release(NULL, NULL);

    /* threads: the budget holds and every acquire is a hit or a miss */
    CHECK_OK(vfr_model_cache_create(300, &c));
    pthread_t t[4];
    hammer_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (hammer_arg){c, i + 1};
        pthread_create(&t[i], NULL, hammer, &a[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    vfr_model_cache_stats_get(c, &s);
    CHECK(s.hits + s.misses == 4 * 3000);
    CHECK(s.bytes <= 300 && s.entries <= 3);
    CHECK(s.evictions > 0 && s.hits > 0);
    vfr_model_cache_destroy(c);
}

/* ---- routing ------------------------------------------------------------------ */

static void test_routing(void)
{
    static const double shares[] = {0.05, 0.1, 0.2, 0.5};
    const int n = 20000;
    for (int k = 0; k < 4; k++) {
        int chal = 0;
        for (int i = 0; i < n; i++) {
            char sym[16];
            snprintf(sym, sizeof sym, "SYM%05d", i);
            double b = vfr_registry_route_bucket("alpha", sym);
            CHECK(b >= 0 && b < 1);
            chal += b < shares[k];
        }
        double got = (double)chal / n;
        /* binomial sd at 0.5 and n = 20000: 0.0035; 4 sd */
        CHECK_NEAR(got, shares[k], 0.014, 0);
    }
    /* the same bucket on every run and machine: a change of the hash would
     * reshuffle live A/B tests, so the values are pinned (docs/registry.md) */
    CHECK(vfr_registry_route_bucket("alpha", "AAPL") == vfr_registry_route_bucket("alpha", "AAPL"));
    CHECK_NEAR(vfr_registry_route_bucket("alpha", "AAPL"), 0.1850703749404603, 1e-15, 0);
    CHECK_NEAR(vfr_registry_route_bucket("alpha", "MSFT"), 0.5497319562263974, 1e-15, 0);
    CHECK_NEAR(vfr_registry_route_bucket("quickstart", "S0001"), 0.18121702000584894, 1e-15, 0);
    /* the model is part of the key: another model splits symbols differently */
    int same = 0;
    for (int i = 0; i < 1000; i++) {
        char sym[16];
        snprintf(sym, sizeof sym, "SYM%05d", i);
        same += (vfr_registry_route_bucket("alpha", sym) < 0.5) == (vfr_registry_route_bucket("beta", sym) < 0.5);
    }
    CHECK(same > 400 && same < 600);
}

/* ---- names and references ----------------------------------------------------- */

static void test_names(void)
{
    CHECK_OK(vfr_registry_check_name("quickstart"));
    CHECK_OK(vfr_registry_check_name("a.b_c-1"));
    CHECK_FAIL(vfr_registry_check_name("../evil"), VFR_ERR_INVALID_ARG, "../evil");
    CHECK_FAIL(vfr_registry_check_name("a/b"), VFR_ERR_INVALID_ARG, "'/'");
    CHECK_FAIL(vfr_registry_check_name(".hidden"), VFR_ERR_INVALID_ARG, NULL);
    CHECK_FAIL(vfr_registry_check_name(""), VFR_ERR_INVALID_ARG, NULL);
    CHECK_FAIL(vfr_registry_check_name("sp ace"), VFR_ERR_INVALID_ARG, NULL);
    int32_t v[3];
    CHECK_OK(vfr_registry_parse_semver("1.20.3", v));
    CHECK(v[0] == 1 && v[1] == 20 && v[2] == 3);
    CHECK_OK(vfr_registry_parse_semver("0.0.0", v));
    static const char *bad[] = {"1.0", "1.0.0.0", "01.0.0", "1.0.x", "v1.0.0", "1.0.0-rc1", "", "1..0", "9999999.0.0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_FAIL(vfr_registry_parse_semver(bad[i], v), VFR_ERR_INVALID_ARG, "MAJOR.MINOR.PATCH");
    vfr_registry_ref r;
    CHECK_OK(vfr_registry_parse_ref("m", &r));
    CHECK(strcmp(r.name, "m") == 0 && !r.alias[0] && !r.version[0]);
    CHECK_OK(vfr_registry_parse_ref("m@challenger", &r));
    CHECK(strcmp(r.alias, "challenger") == 0);
    CHECK_OK(vfr_registry_parse_ref("m:2.0.1", &r));
    CHECK(strcmp(r.version, "2.0.1") == 0);
    CHECK_FAIL(vfr_registry_parse_ref("m@latest", &r), VFR_ERR_INVALID_ARG, "unknown alias 'latest'");
    CHECK_FAIL(vfr_registry_parse_ref("m:1.0", &r), VFR_ERR_INVALID_ARG, "1.0");
    CHECK_FAIL(vfr_registry_parse_ref("../m:1.0.0", &r), VFR_ERR_INVALID_ARG, "../m");
    CHECK_FAIL(vfr_registry_parse_ref("m@champion:1.0.0", &r), VFR_ERR_INVALID_ARG, NULL);
    vfr_registry_alias a;
    CHECK_OK(vfr_registry_alias_parse("champion", &a));
    CHECK(a == VFR_REGISTRY_CHAMPION);
    CHECK_FAIL(vfr_registry_alias_parse("bogus", &a), VFR_ERR_INVALID_ARG, "unknown alias");
}

/* ---- opening ---------------------------------------------------------------------- */

static int exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static void exec_sql(const char *db, const char *sql)
{
    sqlite3 *h;
    CHECK(sqlite3_open(db, &h) == SQLITE_OK);
    CHECK(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(h);
}

static void test_open(void)
{
    const char *tmp = test_tmpdir();
    char dir[512], path[600];
    vfr_registry *reg = NULL;

    /* absent: NOT_FOUND without create, and nothing made */
    snprintf(dir, sizeof dir, "%s/none", tmp);
    CHECK_FAIL(vfr_registry_open(dir, 0, &reg), VFR_ERR_NOT_FOUND, "no registry");
    CHECK(reg == NULL && !exists(dir));

    /* a folder of other things */
    snprintf(dir, sizeof dir, "%s/other", tmp);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    FILE *f = fopen(path, "w");
    fputs("hello\n", f);
    fclose(f);
    CHECK_FAIL(vfr_registry_open(dir, 1, &reg), VFR_ERR_FORMAT, "not a vfr registry");
    snprintf(path, sizeof path, "%s/registry.db", dir);
    CHECK(!exists(path));

    /* a registry.db that is not SQLite, and one of another application */
    snprintf(dir, sizeof dir, "%s/junk", tmp);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/registry.db", dir);
    f = fopen(path, "w");
    fputs("this is not a database, just some text that is long enough to look like a header......\n", f);
    fclose(f);
    CHECK_FAIL(vfr_registry_open(dir, 0, &reg), VFR_ERR_FORMAT, "not an SQLite database");
    CHECK_FAIL(vfr_registry_open(dir, 1, &reg), VFR_ERR_FORMAT, "not an SQLite database");
    snprintf(dir, sizeof dir, "%s/foreign", tmp);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/registry.db", dir);
    exec_sql(path, "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
    CHECK_FAIL(vfr_registry_open(dir, 1, &reg), VFR_ERR_FORMAT, "another application");

    /* a file where the folder should be */
    snprintf(dir, sizeof dir, "%s/other/notes.txt", tmp);
    CHECK_FAIL(vfr_registry_open(dir, 1, &reg), VFR_ERR_FORMAT, "not a folder");

    /* create, reopen, list (empty) */
    snprintf(dir, sizeof dir, "%s/reg", tmp);
    CHECK_OK(vfr_registry_open(dir, 1, &reg));
    char *json = NULL;
    CHECK_OK(vfr_registry_list_json(reg, &json));
    CHECK(json && strstr(json, "\"models\""));
    free(json);
    CHECK_FAIL(vfr_registry_get(reg, "nosuch", &(vfr_registry_version *){NULL}), VFR_ERR_NOT_FOUND, "no model 'nosuch'");
    CHECK_OK(vfr_registry_check(reg, NULL));
    vfr_registry_close(reg);
    reg = NULL;
    CHECK_OK(vfr_registry_open(dir, 0, &reg));
    vfr_registry_close(reg);
    reg = NULL;

    /* a schema newer than this vfr is refused, untouched */
    snprintf(path, sizeof path, "%s/registry.db", dir);
    exec_sql(path, "PRAGMA user_version = 99");
    CHECK_FAIL(vfr_registry_open(dir, 0, &reg), VFR_ERR_FORMAT, "schema version 99 is newer");

    /* the migration path: a registry at schema 0 (marked, no tables) migrates */
    snprintf(dir, sizeof dir, "%s/old", tmp);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/registry.db", dir);
    exec_sql(path, "PRAGMA application_id = 1986425393; PRAGMA user_version = 0;");
    CHECK_OK(vfr_registry_open(dir, 0, &reg));
    vfr_registry_close(reg);
    reg = NULL;
    sqlite3 *h;
    sqlite3_stmt *s;
    CHECK(sqlite3_open(path, &h) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(h, "SELECT (SELECT user_version FROM pragma_user_version), "
                                "(SELECT count(*) FROM sqlite_master WHERE type = 'table'), "
                                "(SELECT journal_mode FROM pragma_journal_mode)",
                             -1, &s, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(s) == SQLITE_ROW);
    CHECK(sqlite3_column_int(s, 0) == VFR_REGISTRY_SCHEMA_VERSION);
    CHECK(sqlite3_column_int(s, 1) == 5); /* models versions aliases alias_history ab_tests */
    CHECK(strcmp((const char *)sqlite3_column_text(s, 2), "wal") == 0);
    sqlite3_finalize(s);
    /* versions and history refuse changes at the database level */
    CHECK(sqlite3_exec(h, "INSERT INTO models(name, created_at, created_by) VALUES ('m', 'now', 'me');"
                          "INSERT INTO versions(model_id, version, major, minor, patch, model_type, objective, "
                          "horizon, n_features, artifact_sha256, artifact_name, artifact_bytes, created_at, "
                          "created_by, lineage, metrics, job) VALUES (1, '1.0.0', 1, 0, 0, 'linear', 'direction', "
                          "1, 2, 'x', 'model.json', 1, 'now', 'me', '{}', '{}', '{}')",
                      NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_exec(h, "UPDATE versions SET artifact_sha256 = 'y'", NULL, NULL, NULL) != SQLITE_OK);
    CHECK(sqlite3_exec(h, "DELETE FROM versions", NULL, NULL, NULL) != SQLITE_OK);
    sqlite3_close(h);
}


/* ---- the library flow on a hand-made run folder ------------------------------------ */

static void put(const char *dir, const char *name, const char *text)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

enum { PN = 40, PF = 3 };

/* A run folder with a linear model over features a, b, c, its probe set and
 * a comparison saying `should`. */
static void make_run(const char *dir, int should, float *X, float *score)
{
    mkdir(dir, 0755);
    put(dir, "model.json",
        "{\"format\": \"vfr-linear\", \"version\": 1, \"objective\": \"direction\", \"link\": \"logistic\", "
        "\"l2\": 1, \"iterations\": 5, \"features\": [\"a\", \"b\", \"c\"], \"mean\": [0.1, -0.2, 0.0], "
        "\"scale\": [1.0, 2.0, 0.5], \"coef\": [0.3, -0.1, 0.05], \"intercept\": -0.08}");
    put(dir, "job.json",
        "{\"jobId\": \"lin-run\", \"modelName\": \"lin\", \"modelVersion\": null, \"modelType\": \"linear\", "
        "\"objective\": \"direction\", \"predictionHorizon\": 1, "
        "\"trainingConfig\": {\"hyperparameters\": {\"C\": 1.0}, \"seed\": 7}, "
        "\"baseline\": {\"minSharpe\": 1.0, \"maxDrawdown\": -0.25}}");
    put(dir, "manifest.json",
        "{\"jobId\": \"lin-run\", \"vfrVersion\": \"0.1.0\", \"seed\": 7, "
        "\"dataset\": {\"path\": \"d.h5\", \"sha256\": \"00ff\", \"dateFirst\": \"2010-01-04\", "
        "\"dateLast\": \"2011-02-24\", \"rows\": 100, \"symbols\": [\"S0\", \"S1\"]}, "
        "\"model\": {\"type\": \"linear\", \"artifact\": \"model.json\"}, \"libraries\": {\"hdf5\": \"1.10.8\"}}");
    put(dir, "metrics.json",
        "{\"test\": {\"accuracy\": 0.6}, \"backtest\": {\"model\": {\"sharpe\": 2.0, \"max_drawdown\": 0.1}}, "
        "\"featureImportance\": [{\"feature\": \"a\", \"importance\": 1}, {\"feature\": \"b\", \"importance\": 1}, "
        "{\"feature\": \"c\", \"importance\": 0}]}");
    put(dir, "comparison.json",
        should ? "{\"decision\": {\"shouldDeploy\": true, \"reason\": \"every check passed\", \"checks\": []}}"
               : "{\"decision\": {\"shouldDeploy\": false, \"reason\": \"DSR too low\", \"checks\": []}}");
    int64_t prev[PN];
    int32_t date[PN], sym[PN];
    for (int i = 0; i < PN; i++) {
        for (int f = 0; f < PF; f++)
            X[i * PF + f] = (float)((i * 7 + f * 3) % 11) / 5.0f - 1.0f;
        prev[i] = i >= 2 ? i - 2 : -1;
        date[i] = 14000 + i / 2;
        sym[i] = i % 2;
    }
    char path[700];
    snprintf(path, sizeof path, "%s/model.json", dir);
    vfr_model_config cfg = {.type = "linear", .params_json = "{}", .device = VFR_DEVICE_CPU, .F = PF};
    vfr_model *m = NULL;
    CHECK_OK(vfr_model_load(&cfg, path, &m));
    vfr_probe pr = {PN, PF, X, prev, date, sym, score};
    if (m)
        CHECK_OK(vfr_probe_predict(m, &pr, score));
    vfr_model_destroy(m);
    snprintf(path, sizeof path, "%s/probe.h5", dir);
    CHECK_OK(vfr_probe_write(path, &pr));
}

static void test_library_flow(void)
{
    char run[512], run_no[512], dir[512];
    float X[PN * PF], score[PN], X2[PN * PF], score2[PN];
    snprintf(run, sizeof run, "%s/run-yes", test_tmpdir());
    snprintf(run_no, sizeof run_no, "%s/run-no", test_tmpdir());
    snprintf(dir, sizeof dir, "%s/libreg", test_tmpdir());
    make_run(run, 1, X, score);
    make_run(run_no, 0, X2, score2);
    vfr_registry *reg = NULL;
    vfr_registry_version *v = NULL;
    CHECK_OK(vfr_registry_open(dir, 1, &reg));
    if (!reg)
        return;
    CHECK_OK(vfr_registry_register_run(reg, run, NULL, &v));
    CHECK(v && strcmp(v->name, "lin") == 0 && strcmp(v->version, "1.0.0") == 0 && !v->parent[0]);
    CHECK(v && v->F == PF && v->feature_names && strcmp(v->feature_names[2], "c") == 0);
    CHECK(v && v->probe_sha256[0] && v->comparison_json && strstr(v->lineage_json, "\"00ff\""));
    vfr_registry_version_free(v);
    v = NULL;
    vfr_registry_register_options ro = {.version = "1.0.0"};
    CHECK_FAIL(vfr_registry_register_run(reg, run, &ro, NULL), VFR_ERR_DUPLICATE_VERSION, "lin:1.0.0");
    ro.name = "../x";
    CHECK_FAIL(vfr_registry_register_run(reg, run, &ro, NULL), VFR_ERR_INVALID_ARG, "../x");
    CHECK_OK(vfr_registry_register_run(reg, run_no, NULL, &v));
    CHECK(v && strcmp(v->version, "1.0.1") == 0 && strcmp(v->parent, "1.0.0") == 0);
    vfr_registry_version_free(v);
    v = NULL;

    vfr_registry_validation val;
    CHECK_OK(vfr_registry_validate(reg, "lin", "1.0.0", NULL, &val));
    CHECK(val.passed && val.n == 6);
    vfr_registry_gate g = {.thresholds_json = "{\"test.accuracy\": {\"min\": 0.9}}"};
    CHECK_FAIL(vfr_registry_validate(reg, "lin", "1.0.0", &g, &val), VFR_ERR_VALIDATION, "test.accuracy");
    CHECK(!val.passed && val.checks[0].status == 0 && strcmp(val.checks[0].name, "metrics") == 0);
    g.thresholds_json = "[1]";
    CHECK_FAIL(vfr_registry_validate(reg, "lin", "1.0.0", &g, &val), VFR_ERR_INVALID_ARG, "thresholds");

    /* autoDeploy: no champion before; shouldDeploy false moves nothing */
    float *sc = NULL;
    char ver[64];
    CHECK_FAIL(vfr_registry_champion_score(reg, NULL, "lin", X, NULL, PN, PF, &sc, ver), VFR_ERR_NOT_FOUND,
               "no champion");
    vfr_registry_auto_result ar;
    vfr_registry_deploy_options d = {.as = VFR_REGISTRY_CHAMPION};
    CHECK_OK(vfr_registry_auto_deploy(reg, "lin", "1.0.1", &d, NULL, &ar));
    CHECK(!ar.deployed && strstr(ar.why, "shouldDeploy = false") && strstr(ar.why, "DSR too low"));
    CHECK_OK(vfr_registry_auto_deploy(reg, "lin", "1.0.0", &d, &val, &ar));
    CHECK(ar.deployed && val.passed && strstr(ar.why, "every check passed"));

    /* the champion baseline: the champion's scores through the cache */
    vfr_model_cache *cache = NULL;
    CHECK_OK(vfr_model_cache_create(1 << 20, &cache));
    for (int k = 0; k < 2; k++) {
        CHECK_OK(vfr_registry_champion_score(reg, cache, "lin", X, NULL, PN, PF, &sc, ver));
        CHECK(sc && strcmp(ver, "1.0.0") == 0);
        for (int i = 0; sc && i < PN; i++)
            CHECK_NEAR(sc[i], score[i], 1e-7, 0);
        free(sc);
        sc = NULL;
    }
    vfr_model_cache_stats cs;
    vfr_model_cache_stats_get(cache, &cs);
    CHECK(cs.misses == 1 && cs.hits == 1);
    CHECK_FAIL(vfr_registry_champion_score(reg, cache, "lin", X, NULL, PN, 2, &sc, ver), VFR_ERR_INVALID_ARG,
               "features");
    CHECK_FAIL(vfr_registry_champion_score(reg, cache, "nosuch", X, NULL, PN, PF, &sc, ver), VFR_ERR_NOT_FOUND,
               "nosuch");
    vfr_model_cache_destroy(cache);

    /* challenger, promote, rollback through the API; the history in JSON */
    d.as = VFR_REGISTRY_CHALLENGER;
    d.traffic = 0.25;
    CHECK_FAIL(vfr_registry_deploy(reg, "lin", "1.0.0", &d, NULL), VFR_ERR_INVALID_ARG, "is the champion");
    CHECK_OK(vfr_registry_deploy(reg, "lin", "1.0.1", &d, NULL));
    char pv[32];
    CHECK_OK(vfr_registry_promote(reg, "lin", NULL, NULL, pv));
    CHECK(strcmp(pv, "1.0.1") == 0);
    CHECK_OK(vfr_registry_rollback(reg, "lin", NULL, NULL, pv));
    CHECK(strcmp(pv, "1.0.0") == 0);
    CHECK_FAIL(vfr_registry_rollback(reg, "lin", NULL, NULL, pv), VFR_ERR_NOT_FOUND, "no champion before");
    CHECK_FAIL(vfr_registry_promote(reg, "lin", NULL, NULL, pv), VFR_ERR_NOT_FOUND, "no challenger");
    char *json = NULL;
    CHECK_OK(vfr_registry_history_json(reg, "lin", &json));
    CHECK(json && strstr(json, "\"rollback\"") && strstr(json, "\"promote\""));
    free(json);
    CHECK_OK(vfr_registry_check(reg, NULL));
    vfr_registry_close(reg);
}

int main(void)
{
    test_cache();
    test_routing();
    test_names();
    test_open();
    test_library_flow();
    return test_done("test_registry");
}
