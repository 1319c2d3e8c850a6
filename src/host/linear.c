/* linear.c: CPU twin of the linear model's Newton step, and the Newton loop.
 * Rows are standardised into a small double block and handed to BLAS
 * (dsyrk for the Hessian, dgemv for scores and gradient), so the data are
 * never copied whole. Double precision throughout: the result is checked
 * against scikit-learn to 1e-4. */
#include "vfr/linear.h"
#include "vfr/gpu.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 4096

/* Standardised rows x [b, F] with the intercept column: OUT Z [b, P]. */
static void standardise(const vfr_linear_problem *p, const float *x0, int64_t b, double *Z)
{
    const int32_t F = p->F, P = F + 1;
    for (int64_t i = 0; i < b; i++) {
        const float *x = x0 + i * F;
        double *z = Z + i * P;
        for (int32_t f = 0; f < F; f++)
            z[f] = isfinite(x[f]) ? ((double)x[f] - p->mean[f]) / p->scale[f] : 0.0;
        z[F] = 1.0;
    }
}

/* Rows read at a time from a problem without X: whole blocks, about 32 MB,
 * so that the blocks (and the sums) are those of the in-memory case. */
static int64_t chunk_rows(int32_t F)
{
    int64_t c = ((int64_t)32 << 20) / ((int64_t)(F > 0 ? F : 1) * (int64_t)sizeof(float) * BLOCK) * BLOCK;
    return c < BLOCK ? BLOCK : c;
}

vfr_status vfr_linear_gradhess_cpu(const vfr_linear_problem *p, const double *w, double *loss,
                                   double *grad, double *hess)
{
    const int32_t F = p->F, P = F + 1;
    double *Z = malloc(sizeof *Z * BLOCK * (size_t)P), *r = malloc(sizeof *r * BLOCK);
    if (!Z || !r) {
        free(Z), free(r);
        return vfr_fail(VFR_ERR_NOMEM, "linear: out of memory");
    }
    const int64_t C = p->X ? (p->n > 0 ? p->n : 1)
                      : p->chunk >= BLOCK ? p->chunk / BLOCK * BLOCK : chunk_rows(F);
    float *buf = p->X ? NULL : malloc(sizeof *buf * (size_t)C * (size_t)(F > 0 ? F : 1));
    if (!p->X && (!buf || !p->rows)) {
        free(Z), free(r), free(buf);
        return p->rows ? vfr_fail(VFR_ERR_NOMEM, "linear: out of memory")
                       : vfr_fail(VFR_ERR_INVALID_ARG, "linear: a problem without X needs a row reader");
    }
    memset(grad, 0, sizeof *grad * (size_t)P);
    memset(hess, 0, sizeof *hess * (size_t)P * (size_t)P);
    double L = 0.0;
    const float *rows = p->X;
    for (int64_t r0 = 0, c0 = 0; r0 < p->n; r0 += BLOCK) {
        if (!p->X && r0 % C == 0) { /* the next chunk of rows */
            int64_t cn = p->n - r0 < C ? p->n - r0 : C;
            vfr_status st = p->rows(p->rows_ctx, r0, r0 + cn, buf, &rows);
            if (st != VFR_OK) {
                free(Z), free(r), free(buf);
                return st;
            }
            c0 = r0;
        }
        int64_t b = p->n - r0 < BLOCK ? p->n - r0 : BLOCK;
        standardise(p, rows + (r0 - c0) * F, b, Z);
        /* r = Z w */
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)b, P, 1.0, Z, P, w, 1, 0.0, r, 1);
        double sw[BLOCK];
        for (int64_t i = 0; i < b; i++) {
            double y = p->y[r0 + i], z = r[i];
            if (p->logistic) {
                /* log(1 + e^z) - y z, computed without overflow */
                L += (z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))) - y * z;
                double pr = 1.0 / (1.0 + exp(-z));
                r[i] = pr - y;                  /* dloss/dz            */
                sw[i] = sqrt(pr * (1.0 - pr));  /* sqrt of d2loss/dz2  */
            } else {
                L += 0.5 * (z - y) * (z - y);
                r[i] = z - y;
                sw[i] = 1.0;
            }
        }
        /* grad += Z^T r; then hess += (sqrt(W) Z)^T (sqrt(W) Z) = Z^T W Z */
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)b, P, 1.0, Z, P, r, 1, 1.0, grad, 1);
        if (p->logistic)
            for (int64_t i = 0; i < b; i++)
                for (int32_t k = 0; k < P; k++)
                    Z[i * P + k] *= sw[i];
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, P, (int)b, 1.0, Z, P, 1.0, hess, P);
    }
    for (int32_t f = 0; f < F; f++) { /* penalty, not on the intercept */
        L += 0.5 * p->l2 * w[f] * w[f];
        grad[f] += p->l2 * w[f];
        hess[f * P + f] += p->l2;
    }
    for (int32_t i = 0; i < P; i++) /* mirror the upper triangle */
        for (int32_t j = 0; j < i; j++)
            hess[i * P + j] = hess[j * P + i];
    *loss = L;
    free(Z), free(r), free(buf);
    return VFR_OK;
}

#ifndef VFR_HAVE_CUDA
vfr_status vfr_linear_gradhess_cuda(const vfr_linear_problem *p, const double *w, double *loss,
                                    double *grad, double *hess)
{
    (void)p, (void)w, (void)loss, (void)grad, (void)hess;
    return vfr_fail(VFR_ERR_NO_DEVICE, "linear: vfr was built without CUDA");
}

vfr_status vfr_linear_gradhess_staged(const vfr_gpu_panel *g, vfr_gpu_work *wk,
                                      const vfr_linear_problem *p, const double *w, double *loss,
                                      double *grad, double *hess)
{
    (void)g, (void)wk, (void)p, (void)w, (void)loss, (void)grad, (void)hess;
    return vfr_fail(VFR_ERR_NO_DEVICE, "linear: vfr was built without CUDA");
}
#endif

/* The Newton step's loss, gradient and Hessian on the fit's device: on CUDA,
 * X and y are staged once per fit and one work (stream, cuBLAS handle,
 * scratch) serves every step. */
typedef struct gh_ctx {
    const vfr_linear_problem *p;
    vfr_gpu_work *w;
    vfr_gpu_panel *g;
} gh_ctx;

static vfr_status gh(const gh_ctx *c, const double *w, double *loss, double *grad, double *hess)
{
    return c->g ? vfr_linear_gradhess_staged(c->g, c->w, c->p, w, loss, grad, hess)
                : vfr_linear_gradhess_cpu(c->p, w, loss, grad, hess);
}

/* Solves H d = g for symmetric positive definite H [P, P] by Cholesky, in
 * place (H is overwritten). Returns 0, or -1 when H is not positive definite. */
static int cholesky_solve(double *H, const double *g, double *d, int32_t P)
{
    for (int32_t j = 0; j < P; j++) {
        double s = H[j * P + j];
        for (int32_t k = 0; k < j; k++)
            s -= H[j * P + k] * H[j * P + k];
        if (!(s > 0))
            return -1;
        H[j * P + j] = sqrt(s);
        for (int32_t i = j + 1; i < P; i++) {
            double t = H[i * P + j];
            for (int32_t k = 0; k < j; k++)
                t -= H[i * P + k] * H[j * P + k];
            H[i * P + j] = t / H[j * P + j];
        }
    }
    for (int32_t i = 0; i < P; i++) { /* L z = g */
        double t = g[i];
        for (int32_t k = 0; k < i; k++)
            t -= H[i * P + k] * d[k];
        d[i] = t / H[i * P + i];
    }
    for (int32_t i = P - 1; i >= 0; i--) { /* L^T d = z */
        double t = d[i];
        for (int32_t k = i + 1; k < P; k++)
            t -= H[k * P + i] * d[k];
        d[i] = t / H[i * P + i];
    }
    return 0;
}

vfr_status vfr_linear_fit(vfr_device_kind dev, const vfr_linear_problem *p, int max_iter,
                          double tol, double *w, int *iters)
{
    const int32_t P = p->F + 1;
    vfr_status st = VFR_OK;
    double *g = malloc(sizeof *g * (size_t)P), *H = malloc(sizeof *H * (size_t)P * (size_t)P);
    double *d = malloc(sizeof *d * (size_t)P), *w2 = malloc(sizeof *w2 * (size_t)P);
    double *g2 = malloc(sizeof *g2 * (size_t)P), *H2 = malloc(sizeof *H2 * (size_t)P * (size_t)P);
    gh_ctx c = {p, NULL, NULL};
    *iters = 0;
    if (!g || !H || !d || !w2 || !g2 || !H2) {
        st = vfr_fail(VFR_ERR_NOMEM, "linear: out of memory");
        goto fail;
    }
    if (dev == VFR_DEVICE_CUDA && !p->X) {
        st = vfr_fail(VFR_ERR_INVALID_ARG, "linear: the CUDA fit needs the rows in memory (X)");
        goto fail;
    }
    if (dev == VFR_DEVICE_CUDA) {
        const vfr_panel rows = {.N = p->n, .label = p->y};
        if ((st = vfr_gpu_work_create(&c.w)) != VFR_OK ||
            (st = vfr_gpu_panel_create(c.w, &rows, p->X, p->F, &c.g)) != VFR_OK)
            goto fail;
    }
    memset(w, 0, sizeof *w * (size_t)P);
    double L;
    VFR_TRY(gh(&c, w, &L, g, H));
    for (int it = 0; it < max_iter; it++) {
        *iters = it + 1;
        if (cholesky_solve(H, g, d, P) != 0) {
            st = vfr_fail(VFR_ERR_INVALID_ARG,
                          "linear: the Hessian is singular (constant features with l2 = 0?); set hyperparameters.l2 > 0");
            goto fail;
        }
        double step = 1.0, L2 = L, dn = 0;
        for (int32_t k = 0; k < P; k++)
            dn = fmax(dn, fabs(d[k]));
        for (int half = 0; half < 30; half++, step *= 0.5) { /* step halving: never go uphill */
            for (int32_t k = 0; k < P; k++)
                w2[k] = w[k] - step * d[k];
            VFR_TRY(gh(&c, w2, &L2, g2, H2));
            if (L2 <= L + 1e-12 * fabs(L))
                break;
        }
        memcpy(w, w2, sizeof *w * (size_t)P);
        memcpy(g, g2, sizeof *g * (size_t)P);
        memcpy(H, H2, sizeof *H * (size_t)P * (size_t)P);
        L = L2;
        if (step * dn < tol)
            break;
    }
fail:
    vfr_gpu_panel_destroy(c.g);
    vfr_gpu_work_destroy(c.w);
    free(g), free(H), free(d), free(w2), free(g2), free(H2);
    return st;
}
