/* test_util.h: the few checks every C test uses. A failed CHECK prints where
 * and why and makes the test exit 1; tests never print OK whatever happened. */
#ifndef VFR_TEST_UTIL_H
#define VFR_TEST_UTIL_H

#include <math.h>
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

#endif
