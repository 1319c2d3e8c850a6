/* test_split.c: property tests of the time splits over many random specs,
 * plus a hand-built leaking fold that the checker must catch. */
#include <stdint.h>

#define TEST_SEED 0x9E3779B97F4A7C15ull
#include "test_util.h"
#include "vfr/split.h"

static uint32_t next(void) { return (uint32_t)(test_rand64() >> 32); }
static int32_t uniform(int32_t lo, int32_t hi) { return lo + (int32_t)(next() % (uint32_t)(hi - lo + 1)); }

/* Roles from ranges, to check the properties without trusting vfr_split_check. */
static void properties(const vfr_split_spec *sp, const vfr_split *s)
{
    unsigned char *role = malloc((size_t)s->T);
    for (int32_t k = 0; k < s->K; k++) {
        const vfr_fold *f = &s->folds[k];
        memset(role, 0, (size_t)s->T);
        const vfr_range *sets[3] = {f->train, f->val, f->test};
        const int32_t ns[3] = {f->n_train, f->n_val, f->n_test};
        int overlap = 0;
        for (int q = 0; q < 3; q++)
            for (int32_t i = 0; i < ns[q]; i++)
                for (int32_t t = sets[q][i].lo; t < sets[q][i].hi; t++) {
                    overlap |= role[t] != 0;
                    role[t] = (unsigned char)(q + 1);
                }
        CHECK(!overlap); /* no date in two sets */
        int32_t ntr = vfr_range_count(f->train, f->n_train), nva = vfr_range_count(f->val, f->n_val),
                nte = vfr_range_count(f->test, f->n_test);
        CHECK(ntr + nva + nte + f->purged + f->embargoed + f->unused == s->T); /* sizes add up */
        CHECK(ntr > 0 && nte > 0);
        /* every training label window ends before each test block, and
         * training after a test block waits out horizon + embargo */
        for (int32_t t = 0; t < s->T; t++) {
            if (role[t] != 1 && role[t] != 2)
                continue;
            for (int32_t j = 0; j < f->n_test; j++) {
                int32_t a = f->test[j].lo, b = f->test[j].hi;
                if (t < a)
                    CHECK(t + sp->horizon < a);
                else
                    CHECK(t >= b + sp->horizon + (role[t] == 1 ? sp->embargo : sp->embargo));
            }
            if (role[t] == 1)
                for (int32_t j = 0; j < f->n_val; j++)
                    if (t < f->val[j].lo)
                        CHECK(t + sp->horizon < f->val[j].lo);
        }
        if (sp->method != VFR_SPLIT_CPCV) { /* time order: train < validation < test */
            int32_t last_train = f->train[f->n_train - 1].hi - 1, first_test = f->test[0].lo;
            CHECK(last_train < first_test);
            if (f->n_val) {
                CHECK(f->val[0].lo > last_train);
                CHECK(f->val[f->n_val - 1].hi <= first_test);
            }
        }
    }
    free(role);
}

static void random_specs(void)
{
    int made = 0;
    for (int it = 0; it < 3000; it++) {
        vfr_split_spec sp = {0};
        sp.method = (vfr_split_method)(it % 4);
        int32_t T = uniform(30, 3000);
        sp.horizon = uniform(1, 25);
        sp.purge = sp.horizon + (next() % 3 == 0 ? uniform(0, 5) : 0);
        sp.embargo = next() % 2 ? 0 : uniform(0, 10);
        sp.train_share = 0.4 + 0.4 * (next() % 1000) / 1000.0;
        sp.val_share = (next() % 4 == 0) ? 0.0 : 0.05 + 0.1 * (next() % 1000) / 1000.0;
        sp.window = uniform(10, T > 40 ? T - 20 : 20);
        sp.step = uniform(1, 60);
        sp.expanding = next() % 2;
        sp.folds = uniform(2, 10);
        sp.groups = uniform(3, 10);
        sp.test_groups = uniform(1, sp.groups - 1);
        vfr_split *s = NULL;
        vfr_status st = vfr_split_make(&sp, T, &s);
        /* too-small data is a clear INVALID_ARG, never a leak or a crash */
        CHECK(st == VFR_OK || st == VFR_ERR_INVALID_ARG);
        if (st == VFR_ERR_INTERNAL)
            fprintf(stderr, "leak: %s\n", vfr_last_error());
        if (st != VFR_OK)
            continue;
        made++;
        CHECK(s->T == T && s->K >= 1);
        properties(&sp, s);
        vfr_split_free(s);
    }
    CHECK(made > 1500); /* most random specs fit their data */
}

static void known_layouts(void)
{
    vfr_split_spec sp = {.method = VFR_SPLIT_HOLDOUT, .train_share = 0.7, .val_share = 0.15,
                         .horizon = 5, .purge = 5};
    vfr_split *s;
    CHECK_OK(vfr_split_make(&sp, 1000, &s));
    CHECK(s->K == 1);
    vfr_fold *f = &s->folds[0];
    CHECK(f->n_train == 1 && f->train[0].lo == 0 && f->train[0].hi == 695);
    CHECK(f->n_val == 1 && f->val[0].lo == 700 && f->val[0].hi == 845);
    CHECK(f->n_test == 1 && f->test[0].lo == 850 && f->test[0].hi == 1000);
    CHECK(f->purged == 10);
    vfr_split_free(s);

    vfr_split_spec wf = {.method = VFR_SPLIT_WALK_FORWARD, .window = 252, .step = 21,
                         .horizon = 1, .purge = 1, .val_share = 0};
    CHECK_OK(vfr_split_make(&wf, 2520, &s));
    CHECK(s->K == (2520 - 252 + 20) / 21);
    CHECK(s->folds[0].test[0].lo == 252 && s->folds[0].test[0].hi == 273);
    CHECK(s->folds[1].train[0].lo == 21); /* sliding */
    CHECK(s->folds[s->K - 1].test[0].hi == 2520);
    vfr_split_free(s);
    wf.expanding = 1;
    CHECK_OK(vfr_split_make(&wf, 2520, &s));
    CHECK(s->folds[5].train[0].lo == 0); /* expanding */
    vfr_split_free(s);

    /* kfold boundaries are sklearn's TimeSeriesSplit(5) test blocks */
    vfr_split_spec kf = {.method = VFR_SPLIT_KFOLD, .folds = 5, .horizon = 1, .purge = 1};
    CHECK_OK(vfr_split_make(&kf, 600, &s));
    CHECK(s->K == 5);
    for (int k = 0; k < 5; k++)
        CHECK(s->folds[k].test[0].lo == 100 * (k + 1) && s->folds[k].test[0].hi == 100 * (k + 2));
    vfr_split_free(s);

    vfr_split_spec cp = {.method = VFR_SPLIT_CPCV, .groups = 6, .test_groups = 2, .horizon = 3,
                         .purge = 3, .embargo = 2};
    CHECK_OK(vfr_split_make(&cp, 600, &s));
    CHECK(s->K == 15);
    CHECK(s->folds[0].n_test == 1 && s->folds[0].test[0].lo == 0 && s->folds[0].test[0].hi == 200);
    CHECK(s->folds[0].train[0].lo == 205); /* purge 3 + embargo 2 after the test block */
    vfr_split_free(s);

    vfr_split_spec tiny = {.method = VFR_SPLIT_WALK_FORWARD, .window = 252, .step = 21,
                           .horizon = 1, .purge = 1};
    CHECK_FAIL(vfr_split_make(&tiny, 100, &s), VFR_ERR_INVALID_ARG, "windowSize");
}

static void checker_catches_leaks(void)
{
    vfr_fold f = {0};
    f.train[0] = (vfr_range){0, 100};
    f.test[0] = (vfr_range){100, 120};
    f.n_train = f.n_test = 1;
    /* no purge at all: the last training labels reach into the test block */
    CHECK_FAIL(vfr_split_check(&f, 200, 5, 0), VFR_ERR_FORMAT, "reaches into the test block");
    f.train[0].hi = 95; /* purged by the horizon: clean */
    CHECK_OK(vfr_split_check(&f, 200, 5, 0));
    f.train[0].hi = 96; /* one date short */
    CHECK_FAIL(vfr_split_check(&f, 200, 5, 0), VFR_ERR_FORMAT, "train date 95");
    f.train[0].hi = 95;
    f.train[1] = (vfr_range){122, 200}; /* after the test: needs horizon + embargo */
    f.n_train = 2;
    CHECK_FAIL(vfr_split_check(&f, 200, 5, 3), VFR_ERR_FORMAT, "after the test block");
    f.train[1].lo = 128;
    CHECK_OK(vfr_split_check(&f, 200, 5, 3));
    f.train[1].lo = 110; /* overlapping sets */
    CHECK_FAIL(vfr_split_check(&f, 200, 5, 3), VFR_ERR_FORMAT, "in both");
    f.train[1] = (vfr_range){128, 201}; /* out of range */
    CHECK_FAIL(vfr_split_check(&f, 200, 5, 3), VFR_ERR_FORMAT, "outside");
    f.n_train = 1;
    f.val[0] = (vfr_range){93, 98}; /* validation labels reaching into test */
    f.n_val = 1;
    f.train[0].hi = 80;
    CHECK_FAIL(vfr_split_check(&f, 200, 5, 0), VFR_ERR_FORMAT, "validation date 95");
}

int main(void)
{
    known_layouts();
    checker_catches_leaks();
    random_specs();
    return test_done("test_split");
}
