/* test_lstm_golden.c: the LSTM CPU twin against PyTorch. The fixture
 * tests/fixtures/lstm_torch.h5 (made by scripts/fixtures/lstm_torch.py, float64
 * torch from float32-exact inputs) holds, per case, a 2-layer LSTM of two widths
 * with a dense head: weights, a batch, the dropout mask, the outputs, the loss,
 * every gradient, and the losses and weights over 5 clipped Adam steps.
 *
 * The double twin must match to 1e-9 (the same arithmetic up to summation
 * order); the float twin, which the model trains with, to 1e-5 relative (the
 * outputs, loss, gradients and the 5 losses), and the weights after 5 steps to
 * 1e-4 (see run_f32). Errors are relative to the tensor's scale:
 * max |got - ref| / max |ref|. */
#include <hdf5.h>
#include <stdint.h>

#include "test_util.h"
#include "vfr/lstm.h"

static hid_t file;

static int read_doubles(const char *path, double *out, size_t n)
{
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    if (d < 0) {
        fprintf(stderr, "fixture: no dataset %s\n", path);
        return -1;
    }
    hid_t sp = H5Dget_space(d);
    hssize_t have = H5Sget_simple_extent_npoints(sp);
    int rc = have == (hssize_t)n ? H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) : -1;
    if (have != (hssize_t)n)
        fprintf(stderr, "fixture: %s has %lld values, want %zu\n", path, (long long)have, n);
    H5Sclose(sp);
    H5Dclose(d);
    return rc < 0 ? -1 : 0;
}

static int read_attr(hid_t g, const char *name, hid_t type, void *out)
{
    hid_t a = H5Aopen(g, name, H5P_DEFAULT);
    if (a < 0)
        return -1;
    int rc = H5Aread(a, type, out) < 0 ? -1 : 0;
    H5Aclose(a);
    return rc;
}

/* max |got - ref| / max |ref| over n values. */
static double scaled_err(const double *got, const double *ref, int64_t n)
{
    double e = 0, s = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs(got[i] - ref[i]);
        e = d > e || isnan(d) ? d : e;
        s = fabs(ref[i]) > s ? fabs(ref[i]) : s;
    }
    return s > 0 ? e / s : e;
}

typedef struct fixture {
    vfr_lstm_spec s;
    int64_t P;
    float p_drop;
    uint64_t key;
    double lr, clip;
    double *w, *x, *y, *z, *grads, *w_after, *mask, loss, loss_steps[6];
} fixture;

static int load(const char *group, fixture *f)
{
    memset(f, 0, sizeof *f);
    hid_t g = H5Gopen2(file, group, H5P_DEFAULT);
    if (g < 0)
        return -1;
    char head[16] = {0};
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, sizeof head - 1);
    int32_t H[VFR_LSTM_MAX_LAYERS] = {0}, B = 0;
    double p = 0;
    int bad = read_attr(g, "F", H5T_NATIVE_INT32, &f->s.F) | read_attr(g, "L", H5T_NATIVE_INT32, &f->s.L) |
              read_attr(g, "B", H5T_NATIVE_INT32, &B) | read_attr(g, "head", st, head) |
              read_attr(g, "p_drop", H5T_NATIVE_DOUBLE, &p) | read_attr(g, "key", H5T_NATIVE_UINT64, &f->key) |
              read_attr(g, "lr", H5T_NATIVE_DOUBLE, &f->lr) | read_attr(g, "clip_norm", H5T_NATIVE_DOUBLE, &f->clip);
    hid_t a = H5Aopen(g, "H", H5P_DEFAULT);
    hid_t sp = H5Aget_space(a);
    f->s.layers = (int32_t)H5Sget_simple_extent_npoints(sp);
    bad |= f->s.layers < 1 || f->s.layers > VFR_LSTM_MAX_LAYERS || H5Aread(a, H5T_NATIVE_INT32, H) < 0;
    H5Sclose(sp);
    H5Aclose(a);
    H5Tclose(st);
    H5Gclose(g);
    if (bad)
        return -1;
    memcpy(f->s.H, H, sizeof H);
    f->s.head = strcmp(head, "logistic") == 0 ? VFR_LSTM_HEAD_LOGISTIC : VFR_LSTM_HEAD_LINEAR;
    f->p_drop = (float)p;
    f->P = vfr_lstm_param_count(&f->s);
    size_t LB = (size_t)f->s.L * B, P = (size_t)f->P;
    f->w = malloc(sizeof(double) * P);
    f->grads = malloc(sizeof(double) * P);
    f->w_after = malloc(sizeof(double) * P);
    f->x = malloc(sizeof(double) * LB * f->s.F);
    f->y = malloc(sizeof(double) * B);
    f->z = malloc(sizeof(double) * B);
    f->mask = malloc(sizeof(double) * LB * f->s.H[0]);
    int32_t nt = vfr_lstm_tensor_count(&f->s);
    vfr_lstm_tensor *t = malloc(sizeof *t * nt);
    vfr_lstm_tensors(&f->s, t);
    char path[128];
    for (int32_t i = 0; i < nt && !bad; i++) {
        size_t n = (size_t)(t[i].dims[0] * t[i].dims[1]);
        snprintf(path, sizeof path, "%s/weights/%s", group, t[i].name);
        bad |= read_doubles(path, f->w + t[i].offset, n);
        snprintf(path, sizeof path, "%s/grads/%s", group, t[i].name);
        bad |= read_doubles(path, f->grads + t[i].offset, n);
        snprintf(path, sizeof path, "%s/weights_after/%s", group, t[i].name);
        bad |= read_doubles(path, f->w_after + t[i].offset, n);
    }
    free(t);
    snprintf(path, sizeof path, "%s/x", group);
    bad |= read_doubles(path, f->x, LB * f->s.F);
    snprintf(path, sizeof path, "%s/y", group);
    bad |= read_doubles(path, f->y, B);
    snprintf(path, sizeof path, "%s/z", group);
    bad |= read_doubles(path, f->z, B);
    snprintf(path, sizeof path, "%s/loss", group);
    bad |= read_doubles(path, &f->loss, 1);
    snprintf(path, sizeof path, "%s/loss_steps", group);
    bad |= read_doubles(path, f->loss_steps, 6);
    if (f->s.layers > 1) {
        snprintf(path, sizeof path, "%s/mask", group);
        bad |= read_doubles(path, f->mask, LB * f->s.H[0]);
    }
    return bad ? -1 : B;
}

static void unload(fixture *f)
{
    free(f->w), free(f->x), free(f->y), free(f->z), free(f->grads), free(f->w_after), free(f->mask);
}

/* The double twin: the same math as PyTorch's float64. */
static void run_f64(const char *name, const fixture *f, int32_t B)
{
    int64_t P = f->P;
    double *w = malloc(sizeof(double) * P), *g = malloc(sizeof(double) * P);
    double *m = calloc(P, sizeof(double)), *v = calloc(P, sizeof(double));
    double *z = malloc(sizeof(double) * B), *dz = malloc(sizeof(double) * B);
    memcpy(w, f->w, sizeof(double) * P);
    vfr_lstm_cpu_f64 *c = NULL;
    CHECK_OK(vfr_lstm_cpu_create_f64(&f->s, B, &c));
    if (!c)
        return;
    vfr_lstm_cpu_forward_f64(c, w, f->x, B, f->p_drop, f->key, z);
    double loss = vfr_lstm_cpu_loss_f64(f->s.head, z, f->y, B, dz);
    vfr_lstm_cpu_backward_f64(c, w, dz, g);
    double ez = scaled_err(z, f->z, B), eg = scaled_err(g, f->grads, P);
    CHECK_NEAR(loss, f->loss, 0, 1e-12);
    double el = fabs(loss - f->loss) / fabs(f->loss), es = 0;
    for (int t = 1; t <= 5; t++) {
        vfr_lstm_cpu_forward_f64(c, w, f->x, B, f->p_drop, f->key, z);
        vfr_lstm_cpu_loss_f64(f->s.head, z, f->y, B, dz);
        vfr_lstm_cpu_backward_f64(c, w, dz, g);
        vfr_lstm_clip_f64(g, P, f->clip);
        vfr_lstm_adam_f64(w, g, m, v, P, t, f->lr);
        vfr_lstm_cpu_forward_f64(c, w, f->x, B, f->p_drop, f->key, z);
        double lt = vfr_lstm_cpu_loss_f64(f->s.head, z, f->y, B, NULL);
        double e = fabs(lt - f->loss_steps[t]) / fabs(f->loss_steps[t]);
        es = e > es ? e : es;
    }
    double ew = scaled_err(w, f->w_after, P);
    fprintf(stderr, "%s f64: z %.2e, loss %.2e, grads %.2e, 5-step losses %.2e, weights %.2e\n", name, ez,
            el, eg, es, ew);
    CHECK(ez < 1e-12 && eg < 1e-10 && es < 1e-10 && ew < 1e-9);
    vfr_lstm_cpu_destroy_f64(c);
    free(w), free(g), free(m), free(v), free(z), free(dz);
}

/* The float twin, as the model runs it. */
static void run_f32(const char *name, const fixture *f, int32_t B)
{
    int64_t P = f->P, nx = (int64_t)f->s.L * B * f->s.F;
    float *w = malloc(sizeof(float) * P), *g = malloc(sizeof(float) * P);
    float *m = calloc(P, sizeof(float)), *v = calloc(P, sizeof(float));
    float *x = malloc(sizeof(float) * nx), *y = malloc(sizeof(float) * B);
    float *z = malloc(sizeof(float) * B), *dz = malloc(sizeof(float) * B);
    double *zd = malloc(sizeof(double) * B), *gd = malloc(sizeof(double) * P);
    for (int64_t i = 0; i < P; i++)
        w[i] = (float)f->w[i];
    for (int64_t i = 0; i < nx; i++)
        x[i] = (float)f->x[i];
    for (int32_t b = 0; b < B; b++)
        y[b] = (float)f->y[b];
    vfr_lstm_cpu *c = NULL;
    CHECK_OK(vfr_lstm_cpu_create(&f->s, B, &c));
    if (!c)
        return;
    vfr_lstm_cpu_forward(c, w, x, B, f->p_drop, f->key, z);
    double loss = vfr_lstm_cpu_loss(f->s.head, z, y, B, dz);
    vfr_lstm_cpu_backward(c, w, dz, g);
    for (int32_t b = 0; b < B; b++)
        zd[b] = z[b];
    for (int64_t i = 0; i < P; i++)
        gd[i] = g[i];
    double ez = scaled_err(zd, f->z, B), eg = scaled_err(gd, f->grads, P);
    double el = fabs(loss - f->loss) / fabs(f->loss), es = 0;
    for (int t = 1; t <= 5; t++) {
        vfr_lstm_cpu_forward(c, w, x, B, f->p_drop, f->key, z);
        vfr_lstm_cpu_loss(f->s.head, z, y, B, dz);
        vfr_lstm_cpu_backward(c, w, dz, g);
        vfr_lstm_clip(g, P, f->clip);
        vfr_lstm_adam(w, g, m, v, P, t, f->lr);
        vfr_lstm_cpu_forward(c, w, x, B, f->p_drop, f->key, z);
        double lt = vfr_lstm_cpu_loss(f->s.head, z, y, B, NULL);
        double e = fabs(lt - f->loss_steps[t]) / fabs(f->loss_steps[t]);
        es = e > es ? e : es;
    }
    for (int64_t i = 0; i < P; i++)
        gd[i] = w[i];
    double ew = scaled_err(gd, f->w_after, P);
    fprintf(stderr, "%s f32: z %.2e, loss %.2e, grads %.2e, 5-step losses %.2e, weights %.2e\n", name, ez,
            el, eg, es, ew);
    CHECK(ez < 1e-5 && el < 1e-5 && eg < 1e-5 && es < 1e-5);
    /* Adam divides by sqrt(v): a weight whose gradient is ~1e-8, at float's
     * noise level, moves by a noisy fraction of lr; the losses above match */
    CHECK(ew < 1e-4);
    vfr_lstm_cpu_destroy(c);
    free(w), free(g), free(m), free(v), free(x), free(y), free(z), free(dz), free(zd), free(gd);
}

static void run_case(const char *name)
{
    fixture f;
    int32_t B = load(name, &f);
    CHECK(B > 0);
    if (B <= 0) {
        unload(&f);
        return;
    }
    /* vfr's dropout mask is the one the fixture replicated */
    if (f.s.layers > 1) {
        int64_t n = (int64_t)f.s.L * B * f.s.H[0], bad = 0, kept = 0;
        for (int64_t i = 0; i < n; i++) {
            int keep = vfr_lstm_dropout_keep(f.key, 1, i, f.p_drop);
            double want = keep ? 1.0 / (1.0 - f.p_drop) : 0.0;
            bad += fabs(f.mask[i] - want) > 1e-15;
            kept += keep;
        }
        CHECK(bad == 0);
        if (f.p_drop > 0)
            CHECK(kept < n); /* the mask drops something */
    }
    run_f64(name, &f, B);
    run_f32(name, &f, B);
    unload(&f);
}

int main(void)
{
    const char *src = getenv("VFR_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/lstm_torch.h5", src ? src : "..");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    run_case("logistic");
    run_case("linear");
    H5Fclose(file);
    return test_done("test_lstm_golden");
}
