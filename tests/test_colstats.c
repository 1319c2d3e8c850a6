/* test_colstats.c: the CPU twin of column statistics on hand-made inputs. */
#include "test_util.h"
#include "vfr/colstats.h"

int main(void)
{
    /* 4 rows x 3 columns; column 1 has a NaN and an inf, column 2 all NaN */
    const float x[] = {1, 2, NAN, 2, NAN, NAN, 3, INFINITY, NAN, 6, 4, NAN};
    int64_t cnt[3];
    double mean[3], sd[3];
    vfr_colstats st = {cnt, mean, sd};
    vfr_colstats_cpu(x, 4, 3, &st);
    CHECK(cnt[0] == 4 && cnt[1] == 2 && cnt[2] == 0);
    CHECK_NEAR(mean[0], 3.0, 0, 1e-15);
    CHECK_NEAR(sd[0], sqrt((4 + 1 + 0 + 9) / 4.0), 0, 1e-15);
    CHECK_NEAR(mean[1], 3.0, 0, 1e-15);
    CHECK_NEAR(sd[1], 1.0, 0, 1e-15);
    CHECK(isnan(mean[2]) && isnan(sd[2]));
    vfr_colstats_cpu(x, 0, 3, &st);
    CHECK(cnt[0] == 0 && isnan(mean[0]));
    return test_done("test_colstats");
}
