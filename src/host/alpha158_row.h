/* alpha158_row.h: the 158 Alpha158 features of one row of one symbol's series,
 * as one function that the CPU twin (alpha158.c, compiled as C) and the CUDA
 * kernel (src/kernels/alpha158.cu, one thread per row) both call, so the two
 * devices compute the same arithmetic in the same order. Internal: not API.
 * Formulas and NaN rules: docs/features.md. Reads rows 0..t only. */
#ifndef VFR_ALPHA158_ROW_H
#define VFR_ALPHA158_ROW_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define A158_HD __host__ __device__
#else
#define A158_HD
/* Offsets ascending from 0, prices finite and > 0, ld >= 158: the checks
 * both devices make before computing (alpha158.c). */
#ifdef __cplusplus
extern "C" {
#endif
#include "vfr/features.h"
vfr_status vfri_features_alpha158_check(const vfr_ohlcv_series *x, int64_t ld);
#ifdef __cplusplus
}
#endif

#endif

enum {
    A158_KBAR = 9,    /* KMID .. KSFT2                        */
    A158_PRICE = 4,   /* OPEN0, HIGH0, LOW0, VWAP0            */
    A158_NWIN = 5,    /* windows 5, 10, 20, 30, 60            */
    A158_NFAM = 29,   /* rolling families, ROC .. VSUMD       */
    A158_MAXWIN = 60,
    A158_F = A158_KBAR + A158_PRICE + A158_NFAM * A158_NWIN /* 158 */
};

/* Rolling families in Qlib's order; feature index = 13 + family*5 + window. */
enum {
    A158_ROC, A158_MA, A158_STD, A158_BETA, A158_RSQR, A158_RESI, A158_MAX, A158_MIN,
    A158_QTLU, A158_QTLD, A158_RANK, A158_RSV, A158_IMAX, A158_IMIN, A158_IMXD, A158_CORR,
    A158_CORD, A158_CNTP, A158_CNTN, A158_CNTD, A158_SUMP, A158_SUMN, A158_SUMD, A158_VMA,
    A158_VSTD, A158_WVMA, A158_VSUMP, A158_VSUMN, A158_VSUMD
};

#define A158_EPS 1e-12

/* Non-finite results, and finite ones beyond float32's range, are stored as NaN. */
A158_HD static inline float a158_store(double x)
{
    float f = (float)x;
    return isfinite(f) ? f : (float)NAN;
}

A158_HD static inline void a158_put(float *out, int fam, int k, double x)
{
    out[A158_KBAR + A158_PRICE + fam * A158_NWIN + k] = a158_store(x);
}

/* A centred sum of squares from one pass can come out a hair below 0. */
A158_HD static inline double a158_pos(double x)
{
    return x > 0.0 ? x : x == x ? 0.0 : x; /* NaN stays NaN */
}

/* Per-bar series the volume families use, computed once per bar rather than
 * once per window that holds it: lv = log(v+1); for i >= 1, rr = c/c[-1],
 * lvr = log(v/v[-1] + 1), arv = |c/c[-1] - 1| * v (NaN at a symbol's row 0).
 * IN c, v: the symbol's series; i its row. */
A158_HD static inline void vfri_a158_derive(const double *c, const double *v, int64_t i,
                                           double *lv, double *rr, double *lvr, double *arv)
{
    *lv = log(v[i] + 1.0);
    if (i >= 1) {
        *rr = c[i] / c[i - 1];
        *lvr = log(v[i] / v[i - 1] + 1.0);
        *arv = fabs(c[i] / c[i - 1] - 1.0) * v[i];
    } else {
        *rr = *lvr = *arv = NAN;
    }
}

/* One symbol's series, each pointer at its row 0: adjusted open, high, low,
 * close (finite, > 0), volume (NaN = unknown), vwap (NULL when absent), and
 * the derived series of vfri_a158_derive. */
typedef struct a158_series {
    const double *o, *h, *l, *c, *v, *w;
    const double *lv, *rr, *lvr, *arv;
} a158_series;

/* OUT out: [158] the features of row t, from rows 0..t only; NaN where
 * undefined (docs/features.md). IN sorted: NULL, or for each window k whose
 * rows exist the closes of rows t-d_k+1..t in ascending order (the CPU keeps
 * these up to date from row to row; the GPU sorts here, per thread). */
A158_HD static inline void vfri_a158_row(const a158_series *x, int64_t t,
                                        const double *const *sorted, float *out)
{
    const double *o = x->o, *h = x->h, *l = x->l, *c = x->c, *v = x->v;
    const int win[A158_NWIN] = {5, 10, 20, 30, 60};
    const double ot = o[t], ht = h[t], lt = l[t], ct = c[t], vt = v[t];
    const double rng = ht - lt + A158_EPS;
    const double up = ot > ct ? ot : ct, dn = ot < ct ? ot : ct;
    out[0] = a158_store((ct - ot) / ot);               /* KMID  */
    out[1] = a158_store((ht - lt) / ot);               /* KLEN  */
    out[2] = a158_store((ct - ot) / rng);              /* KMID2 */
    out[3] = a158_store((ht - up) / ot);               /* KUP   */
    out[4] = a158_store((ht - up) / rng);              /* KUP2  */
    out[5] = a158_store((dn - lt) / ot);               /* KLOW  */
    out[6] = a158_store((dn - lt) / rng);              /* KLOW2 */
    out[7] = a158_store((2.0 * ct - ht - lt) / ot);    /* KSFT  */
    out[8] = a158_store((2.0 * ct - ht - lt) / rng);   /* KSFT2 */
    out[9] = a158_store(ot / ct);                      /* OPEN0 */
    out[10] = a158_store(ht / ct);                     /* HIGH0 */
    out[11] = a158_store(lt / ct);                     /* LOW0  */
    out[12] = a158_store(x->w ? x->w[t] / ct : NAN);   /* VWAP0 */

    /* m = rows available, at most 60; j counts back from t (row t-j). */
    const int m = t + 1 < A158_MAXWIN ? (int)t + 1 : A158_MAXWIN;
    double srt[A158_MAXWIN];

    /* One pass back in time (j = 0 is row t) accumulates, for every window at
     * once, sums of values shifted by their row-t value: the shift keeps the
     * one-pass variances and covariances accurate (values in a window sit
     * near their newest one) and makes a flat window's exactly 0. The
     * windows are read off as j reaches d - 1. */
    const double lvt = x->lv[t], rrt = x->rr[t], lvrt = x->lvr[t], arvt = x->arv[t];
    double s1c = 0.0, s2c = 0.0, sjc = 0.0;                 /* close           */
    double s1v = 0.0, s2v = 0.0;                            /* volume          */
    double s1l = 0.0, s2l = 0.0, scl = 0.0;                 /* log(v+1), x c   */
    double s1r = 0.0, s2r = 0.0, s1q = 0.0, s2q = 0.0, srq = 0.0; /* CORD      */
    double s1w = 0.0, s2w = 0.0;                            /* |r|*v (WVMA)    */
    double hmax = -INFINITY, lmin = INFINITY;
    int jmax = 0, jmin = 0, k = 0, nup = 0, ndn = 0, below = 0, equal = 0;
    double gp = 0.0, gn = 0.0, ga = 0.0, vp = 0.0, vn = 0.0, va = 0.0;
    for (int j = 0; j < m && k < A158_NWIN; j++) {
        const int64_t i = t - j;
        const double yc = c[i] - ct, yv = v[i] - vt, yl = x->lv[i] - lvt;
        s1c += yc, s2c += yc * yc, sjc += j * yc;
        s1v += yv, s2v += yv * yv;
        s1l += yl, s2l += yl * yl, scl += yc * yl;
        below += c[i] < ct;
        equal += c[i] == ct;
        /* >= walking back in time: ties resolve to the oldest row, as
         * numpy's argmax over the window (oldest first) does. */
        if (h[i] >= hmax)
            hmax = h[i], jmax = j;
        if (l[i] <= lmin)
            lmin = l[i], jmin = j;
        if (i >= 1) {
            const double dc = c[i] - c[i - 1], dv = v[i] - v[i - 1];
            nup += dc > 0.0;
            ndn += dc < 0.0;
            gp += dc > 0.0 ? dc : 0.0;
            gn += dc < 0.0 ? -dc : 0.0;
            ga += fabs(dc);
            vp += dv > 0.0 ? dv : 0.0;
            vn += dv < 0.0 ? -dv : 0.0;
            va += fabs(dv);
            const double yr = x->rr[i] - rrt, yq = x->lvr[i] - lvrt, yw = x->arv[i] - arvt;
            s1r += yr, s2r += yr * yr, s1q += yq, s2q += yq * yq, srq += yr * yq;
            s1w += yw, s2w += yw * yw;
        }
        /* Insertion keeps srt[0..j] sorted: every window's sorted closes are
         * a prefix of this one pass. */
        if (!sorted) {
            int p = j;
            while (p > 0 && srt[p - 1] > c[i]) {
                srt[p] = srt[p - 1];
                p--;
            }
            srt[p] = c[i];
        }
        const int d = win[k];
        if (j != d - 1)
            continue;
        const double dd = (double)d;
        a158_put(out, A158_ROC, k, t >= d ? c[t - d] / ct : NAN);
        /* centred sums of squares and products over the window */
        const double ssc = a158_pos(s2c - s1c * s1c / dd);
        const double ssv = a158_pos(s2v - s1v * s1v / dd);
        const double ssl = a158_pos(s2l - s1l * s1l / dd);
        a158_put(out, A158_MA, k, (ct + s1c / dd) / ct);
        a158_put(out, A158_STD, k, sqrt(ssc / (dd - 1.0)) / ct);
        /* Regression on x = 1..d (oldest = 1): row t-j has x = d - j, so
         * sum (x - xm) y = (d - xm) sum y - sum j y. */
        const double xm = (dd + 1.0) / 2.0, sxx = dd * (dd * dd - 1.0) / 12.0;
        const double sxy = (dd - xm) * s1c - sjc, slope = sxy / sxx;
        a158_put(out, A158_BETA, k, slope / ct);
        a158_put(out, A158_RSQR, k, sxy * sxy / (sxx * ssc));
        a158_put(out, A158_RESI, k, (-s1c / dd - slope * (dd - xm)) / ct);
        a158_put(out, A158_MAX, k, hmax / ct);
        a158_put(out, A158_MIN, k, lmin / ct);
        /* Linear interpolation between order statistics (pandas' default). */
        const double q8 = 0.8 * (dd - 1.0), q2 = 0.2 * (dd - 1.0);
        const int i8 = (int)q8, i2 = (int)q2;
        const double *q = sorted ? sorted[k] : srt; /* the window, ascending */
        const double u8 = q[i8] + (q[i8 + 1 < d ? i8 + 1 : i8] - q[i8]) * (q8 - i8);
        const double u2 = q[i2] + (q[i2 + 1 < d ? i2 + 1 : i2] - q[i2]) * (q2 - i2);
        a158_put(out, A158_QTLU, k, u8 / ct);
        a158_put(out, A158_QTLD, k, u2 / ct);
        a158_put(out, A158_RANK, k, (below + (equal + 1) / 2.0) / dd);
        a158_put(out, A158_RSV, k, (ct - lmin) / (hmax - lmin + A158_EPS));
        /* IdxMax: 1-based position from the oldest row of the window. */
        const double imax = (double)(d - jmax), imin = (double)(d - jmin);
        a158_put(out, A158_IMAX, k, imax / dd);
        a158_put(out, A158_IMIN, k, imin / dd);
        a158_put(out, A158_IMXD, k, (imax - imin) / dd);
        a158_put(out, A158_CORR, k, (scl - s1c * s1l / dd) / sqrt(ssc * ssl));
        a158_put(out, A158_VMA, k, (vt + s1v / dd) / (vt + A158_EPS));
        a158_put(out, A158_VSTD, k, sqrt(ssv / (dd - 1.0)) / (vt + A158_EPS));
        if (t >= d) { /* d one-day differences */
            const double ssr = a158_pos(s2r - s1r * s1r / dd), ssq = a158_pos(s2q - s1q * s1q / dd);
            const double ssw = a158_pos(s2w - s1w * s1w / dd);
            a158_put(out, A158_CORD, k, (srq - s1r * s1q / dd) / sqrt(ssr * ssq));
            a158_put(out, A158_CNTP, k, nup / dd);
            a158_put(out, A158_CNTN, k, ndn / dd);
            a158_put(out, A158_CNTD, k, nup / dd - ndn / dd);
            a158_put(out, A158_SUMP, k, gp / (ga + A158_EPS));
            a158_put(out, A158_SUMN, k, gn / (ga + A158_EPS));
            a158_put(out, A158_SUMD, k, (gp - gn) / (ga + A158_EPS));
            a158_put(out, A158_WVMA, k, sqrt(ssw / (dd - 1.0)) / (arvt + s1w / dd + A158_EPS));
            /* A NaN volume in the window makes va NaN, and so these. */
            a158_put(out, A158_VSUMP, k, vp / (va + A158_EPS));
            a158_put(out, A158_VSUMN, k, vn / (va + A158_EPS));
            a158_put(out, A158_VSUMD, k, (vp - vn) / (va + A158_EPS));
        } else {
            const int fams[] = {A158_CORD, A158_CNTP, A158_CNTN, A158_CNTD, A158_SUMP,
                                A158_SUMN, A158_SUMD, A158_WVMA, A158_VSUMP, A158_VSUMN,
                                A158_VSUMD};
            for (int q = 0; q < (int)(sizeof fams / sizeof fams[0]); q++)
                a158_put(out, fams[q], k, NAN);
        }
        k++;
    }
    /* Windows longer than the rows there are. */
    for (; k < A158_NWIN; k++)
        for (int f = A158_ROC; f <= A158_VSUMD; f++)
            a158_put(out, f, k, NAN);
}

/* Offsets ascending from 0, prices finite and > 0, ld >= 158: the checks
 * both devices make before computing (alpha158.c). */
#ifdef __cplusplus
extern "C" {
#endif
#include "vfr/features.h"
vfr_status vfri_features_alpha158_check(const vfr_ohlcv_series *x, int64_t ld);
#ifdef __cplusplus
}
#endif

#endif
