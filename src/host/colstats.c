/* colstats.c: CPU twin of the per-column statistics, and the device dispatch.
 * Written plainly (double accumulators, two passes) because it is also the
 * oracle the CUDA kernel is tested against. */
#include "vfr/colstats.h"

#include <math.h>

void vfr_colstats_cpu(const float *x, int64_t N, int32_t F, vfr_colstats *st)
{
    for (int32_t f = 0; f < F; f++) {
        st->count[f] = 0;
        st->mean[f] = 0.0;
        st->std[f] = 0.0;
    }
    for (int64_t i = 0; i < N; i++)
        for (int32_t f = 0; f < F; f++) {
            float v = x[i * F + f];
            if (isfinite(v)) {
                st->count[f]++;
                st->mean[f] += v;
            }
        }
    for (int32_t f = 0; f < F; f++)
        st->mean[f] = st->count[f] ? st->mean[f] / (double)st->count[f] : NAN;
    for (int64_t i = 0; i < N; i++)
        for (int32_t f = 0; f < F; f++) {
            float v = x[i * F + f];
            if (isfinite(v)) {
                double d = v - st->mean[f];
                st->std[f] += d * d;
            }
        }
    for (int32_t f = 0; f < F; f++)
        st->std[f] = st->count[f] ? sqrt(st->std[f] / (double)st->count[f]) : NAN;
}

void vfr_colstats_merge(vfr_colstats *acc, const vfr_colstats *part, int32_t F)
{
    for (int32_t f = 0; f < F; f++) {
        double na = (double)acc->count[f], nb = (double)part->count[f];
        if (nb == 0)
            continue;
        if (na == 0) {
            acc->count[f] = part->count[f];
            acc->mean[f] = part->mean[f];
            acc->std[f] = part->std[f];
            continue;
        }
        double n = na + nb, d = part->mean[f] - acc->mean[f];
        double m2 = acc->std[f] * acc->std[f] * na + part->std[f] * part->std[f] * nb +
                    d * d * na * nb / n;
        acc->mean[f] += d * nb / n;
        acc->std[f] = sqrt(m2 / n);
        acc->count[f] += part->count[f];
    }
}

#ifndef VFR_HAVE_CUDA
vfr_status vfr_colstats_cuda(const float *x, int64_t N, int32_t F, vfr_colstats *st)
{
    (void)x, (void)N, (void)F, (void)st;
    return vfr_fail(VFR_ERR_NO_DEVICE, "colstats: vfr was built without CUDA");
}
#endif

vfr_status vfr_colstats_compute(vfr_device_kind dev, const float *x, int64_t N, int32_t F,
                        vfr_colstats *st)
{
    if (dev == VFR_DEVICE_CUDA)
        return vfr_colstats_cuda(x, N, F, st);
    vfr_colstats_cpu(x, N, F, st);
    return VFR_OK;
}
