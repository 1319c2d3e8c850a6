/* test_util.h: the few checks every C test uses. A failed CHECK prints where
 * and why and makes the test exit 1; tests never print OK whatever happened. */
#ifndef VFR_TEST_UTIL_H
#define VFR_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfr/status.h"

static int test_failures;

/* NULL needle: any message will do. */
static inline int test_mentions(const char *msg, const char *needle)
{
    return !needle || strstr(msg, needle) != NULL;
}

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
            test_failures++;                                                            \
        }                                                                               \
    } while (0)

#define CHECK_OK(expr)                                                                  \
    do {                                                                                \
        vfr_status s_ = (expr);                                                         \
        if (s_ != VFR_OK) {                                                             \
            fprintf(stderr, "%s:%d: %s returned %s: %s\n", __FILE__, __LINE__, #expr,   \
                    vfr_status_str(s_), vfr_last_error());                              \
            test_failures++;                                                            \
        }                                                                               \
    } while (0)

/* expr must fail with status want, and the detail must contain `needle`. */
#define CHECK_FAIL(expr, want, needle)                                                  \
    do {                                                                                \
        vfr_status s_ = (expr);                                                         \
        if (s_ != (want)) {                                                             \
            fprintf(stderr, "%s:%d: %s returned %s, want %s (%s)\n", __FILE__, __LINE__, \
                    #expr, vfr_status_str(s_), vfr_status_str(want), vfr_last_error()); \
            test_failures++;                                                            \
        } else if (!test_mentions(vfr_last_error(), (needle))) {                        \
            fprintf(stderr, "%s:%d: error '%s' does not mention '%s'\n", __FILE__,      \
                    __LINE__, vfr_last_error(), (const char *)(needle));                \
            test_failures++;                                                            \
        }                                                                               \
    } while (0)

#define CHECK_NEAR(got, ref, atol, rtol)                                                \
    do {                                                                                \
        double g_ = (got), r_ = (ref);                                                  \
        if (!(fabs(g_ - r_) <= (atol) + (rtol) * fabs(r_))) {                           \
            fprintf(stderr, "%s:%d: %s = %.17g, want %.17g\n", __FILE__, __LINE__, #got, \
                    g_, r_);                                                            \
            test_failures++;                                                            \
        }                                                                               \
    } while (0)

static inline int test_done(const char *name)
{
    if (test_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, test_failures);
        return 1;
    }
    return 0;
}

/* A fresh temporary directory for a test's files (mkdtemp under TMPDIR). */
static inline const char *test_tmpdir(void)
{
    static char dir[256];
    if (!dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/vfr-test-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            exit(1);
        }
    }
    return dir;
}

/* The tests' one random generator: xorshift64, seeded per test file with
 * TEST_SEED (defined before this header is included), so that each test
 * draws the same numbers on every run and every machine. */
#ifndef TEST_SEED
#define TEST_SEED 0x9E3779B97F4A7C15ull
#endif
static uint64_t test_rng = TEST_SEED;

static inline uint64_t test_rand64(void)
{
    test_rng ^= test_rng << 13, test_rng ^= test_rng >> 7, test_rng ^= test_rng << 17;
    return test_rng;
}

/* Uniform in [0, 1), 53 bits. */
static inline double test_urand(void) { return (double)(test_rand64() >> 11) / 9007199254740992.0; }

/* Standard normal (Box-Muller, one of the pair). */
static inline double test_nrand(void)
{
    double u = test_urand(), v = test_urand();
    return sqrt(-2 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

/* The parity check of a CPU twin against a device result: n values laid out
 * as rows of `cols` columns; each must satisfy |got - ref| <= atol + rtol |ref|,
 * NaN only against NaN. Each mismatch counts as a failure; the first 12 of
 * the test are printed as "WHAT: row R NAME: cpu X cuda Y" (the form
 * tests/emu/planted.sh looks for). col_name may be NULL. Returns the
 * mismatches. */
static int test_parity_shown;
static inline int64_t test_parity(const char *what, const double *ref, const double *got, size_t n,
                                  int cols, const char *(*col_name)(int), double rtol, double atol)
{
    int64_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        double a = ref[i], b = got[i];
        int ok = (isnan(a) && isnan(b)) || (!isnan(a) && !isnan(b) && fabs(a - b) <= atol + rtol * fabs(a));
        if (!ok) {
            if (test_parity_shown++ < 12) {
                int c = (int)(i % (size_t)(cols > 0 ? cols : 1));
                char cn[16];
                snprintf(cn, sizeof cn, "col %d", c);
                fprintf(stderr, "%s: row %zu %s: cpu %.17g cuda %.17g\n", what, i / (size_t)(cols > 0 ? cols : 1),
                        col_name ? col_name(c) : cn, a, b);
            }
            test_failures++;
            bad++;
        }
    }
    return bad;
}

#endif
