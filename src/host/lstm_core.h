/* lstm_core.h: the CPU twin's forward and backward pass through time, written
 * once and instantiated twice by lstm.c: in float (training; BLAS sgemm) and in
 * double (the finite-difference gradient check; dgemm). Not a header to include
 * anywhere else. The instantiation defines:
 *   REAL      float | double
 *   SFX       function-name suffix: (empty) | _f64
 *   GEMM      cblas_sgemm | cblas_dgemm
 *   SIGMOID(x), TANH(x), SQRT(x)   in REAL
 *   CLONES    an attribute for the elementwise loops (target_clones: one
 *             copy per vector ISA, picked at load time) or nothing
 *
 * Layout: every sequence array is time-major, (L, B, width), so that the rows
 * of one step are contiguous: the input projection of all steps is one GEMM
 * per layer, each step adds h_{t-1} W_hh^T with one more, and the weight
 * gradients are again one GEMM per matrix over all steps. */

#define LC_CAT_(a, b) a##b
#define LC_CAT(a, b) LC_CAT_(a, b)
#define LC_FN(name) LC_CAT(name, SFX)
#define LC_WS LC_CAT(vfr_lstm_cpu, SFX)

struct LC_WS {
    vfr_lstm_spec s;
    int32_t max_batch, B;
    float p_drop;
    uint64_t key;
    const REAL *x;                       /* (L, B, F) the last forward's input    */
    const REAL *in[VFR_LSTM_MAX_LAYERS]; /* (L, B, I) each layer's input          */
    REAL *drop[VFR_LSTM_MAX_LAYERS];     /* (L, B, I) input after dropout, k >= 1 */
    REAL *mask[VFR_LSTM_MAX_LAYERS];     /* (L, B, I) 0 or 1/(1-p), for backward  */
    REAL *gate[VFR_LSTM_MAX_LAYERS];     /* (L, B, 4H) activated i, f, g, o       */
    REAL *c[VFR_LSTM_MAX_LAYERS];        /* (L, B, H) cell state                  */
    REAL *tc[VFR_LSTM_MAX_LAYERS];       /* (L, B, H) tanh(c)                     */
    REAL *h[VFR_LSTM_MAX_LAYERS];        /* (L, B, H) hidden state = output       */
    REAL *dG;                            /* (L, B, 4Hmax) gate pre-activation grads */
    REAL *dY;                            /* (L, B, Imax) grad of a layer's output */
    REAL *dX;                            /* (L, B, Imax) grad of a layer's input  */
    REAL *dh, *dc;                       /* (B, Hmax) recurrent grads             */
};

void LC_FN(vfr_lstm_cpu_destroy)(struct LC_WS *w)
{
    if (!w)
        return;
    for (int k = 0; k < VFR_LSTM_MAX_LAYERS; k++) {
        free(w->drop[k]);
        free(w->mask[k]);
        free(w->gate[k]);
        free(w->c[k]);
        free(w->tc[k]);
        free(w->h[k]);
    }
    free(w->dG);
    free(w->dY);
    free(w->dX);
    free(w->dh);
    free(w->dc);
    free(w);
}

vfr_status LC_FN(vfr_lstm_cpu_create)(const vfr_lstm_spec *s, int32_t max_batch, struct LC_WS **out)
{
    *out = NULL;
    vfr_status st = vfr_lstm_spec_check(s);
    if (st != VFR_OK)
        return st;
    if (max_batch < 1)
        return vfr_fail(VFR_ERR_INVALID_ARG, "lstm: batch size %d < 1", max_batch);
    struct LC_WS *w = calloc(1, sizeof *w);
    if (!w)
        return vfr_fail(VFR_ERR_NOMEM, "lstm: out of memory");
    w->s = *s;
    w->max_batch = max_batch;
    size_t LB = (size_t)s->L * (size_t)max_batch;
    int32_t hmax = 0, imax = s->F;
    int bad = 0;
    for (int k = 0; k < s->layers; k++) {
        size_t H = (size_t)s->H[k], I = k ? (size_t)s->H[k - 1] : (size_t)s->F;
        hmax = s->H[k] > hmax ? s->H[k] : hmax;
        imax = s->H[k] > imax ? s->H[k] : imax;
        if (k > 0) {
            bad |= !(w->drop[k] = malloc(sizeof(REAL) * LB * I));
            bad |= !(w->mask[k] = malloc(sizeof(REAL) * LB * I));
        }
        bad |= !(w->gate[k] = malloc(sizeof(REAL) * LB * 4 * H));
        bad |= !(w->c[k] = malloc(sizeof(REAL) * LB * H));
        bad |= !(w->tc[k] = malloc(sizeof(REAL) * LB * H));
        bad |= !(w->h[k] = malloc(sizeof(REAL) * LB * H));
    }
    bad |= !(w->dG = malloc(sizeof(REAL) * LB * 4 * (size_t)hmax));
    bad |= !(w->dY = malloc(sizeof(REAL) * LB * (size_t)imax));
    bad |= !(w->dX = malloc(sizeof(REAL) * LB * (size_t)imax));
    bad |= !(w->dh = malloc(sizeof(REAL) * (size_t)max_batch * (size_t)hmax));
    bad |= !(w->dc = malloc(sizeof(REAL) * (size_t)max_batch * (size_t)hmax));
    if (bad) {
        LC_FN(vfr_lstm_cpu_destroy)(w);
        return vfr_fail(VFR_ERR_NOMEM, "lstm: out of memory for a batch of %d x %d steps", max_batch,
                        s->L);
    }
    *out = w;
    return VFR_OK;
}

/* G (n, 4H) rows = b_ih + b_hh. */
CLONES static void LC_FN(bias_rows)(REAL *restrict G, const REAL *restrict bih, const REAL *restrict bhh,
                                    int64_t n, int32_t G4)
{
    for (int64_t r = 0; r < n; r++)
        for (int32_t j = 0; j < G4; j++)
            G[r * G4 + j] = bih[j] + bhh[j];
}

/* The dropout multipliers: 0 or 1/(1-p), from the hash. */
static void LC_FN(drop_mask)(REAL *restrict mask, int64_t n, uint64_t lk, float p, REAL scale)
{
    for (int64_t i = 0; i < n; i++)
        mask[i] = (REAL)vfri_lstm_keep(lk, i, p) * scale; /* no branch to mispredict */
}

/* out = in * mask (a multiply, not a select, so that it vectorises; a dropped
 * unit may come out as -0, which adds like 0) */
CLONES static void LC_FN(drop_apply)(REAL *restrict out, const REAL *restrict in, const REAL *restrict mask,
                                     int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = in[i] * mask[i];
}

/* One step of one layer: G (B, 4H) holds the pre-activations x W_ih^T + b +
 * h_{t-1} W_hh^T and is overwritten with the activated gates. cprev (B, H) is
 * NULL at t = 0 (zero state). */
CLONES static void LC_FN(cell_forward)(REAL *restrict G, const REAL *restrict cprev, REAL *restrict c,
                                REAL *restrict tc, REAL *restrict h, int32_t B, int32_t H)
{
    for (int32_t b = 0; b < B; b++) {
        REAL *gi = G + (size_t)b * 4 * H, *gf = gi + H, *gg = gf + H, *go = gg + H;
        REAL *cb = c + (size_t)b * H, *tcb = tc + (size_t)b * H, *hb = h + (size_t)b * H;
        const REAL *cp = cprev ? cprev + (size_t)b * H : NULL;
        for (int32_t j = 0; j < H; j++) {
            gi[j] = SIGMOID(gi[j]);
            gf[j] = SIGMOID(gf[j]);
            gg[j] = TANH(gg[j]);
            go[j] = SIGMOID(go[j]);
        }
        if (cp)
            for (int32_t j = 0; j < H; j++)
                cb[j] = gf[j] * cp[j] + gi[j] * gg[j];
        else
            for (int32_t j = 0; j < H; j++)
                cb[j] = gi[j] * gg[j];
        for (int32_t j = 0; j < H; j++)
            tcb[j] = TANH(cb[j]);
        for (int32_t j = 0; j < H; j++)
            hb[j] = go[j] * tcb[j];
    }
}

void LC_FN(vfr_lstm_cpu_forward)(struct LC_WS *w, const REAL *wt, const REAL *x, int32_t B,
                                 float p_drop, uint64_t key, REAL *z)
{
    const vfr_lstm_spec *s = &w->s;
    const int32_t L = s->L;
    const int LB = L * B;
    w->B = B;
    w->x = x;
    w->p_drop = p_drop;
    w->key = key;
    const REAL *in = x;
    int32_t I = s->F;
    int64_t off = 0;
    for (int k = 0; k < s->layers; k++) {
        const int32_t H = s->H[k], G4 = 4 * H;
        const REAL *Wih = wt + off, *Whh = Wih + (int64_t)G4 * I, *bih = Whh + (int64_t)G4 * H,
                   *bhh = bih + G4;
        off += (int64_t)G4 * (I + H + 2);
        if (k > 0 && p_drop > 0) {
            LC_FN(drop_mask)(w->mask[k], (int64_t)LB * I, vfri_lstm_layer_key(key, k), p_drop,
                             (REAL)1 / ((REAL)1 - (REAL)p_drop));
            LC_FN(drop_apply)(w->drop[k], in, w->mask[k], (int64_t)LB * I);
            in = w->drop[k];
        }
        w->in[k] = in;
        REAL *G = w->gate[k];
        LC_FN(bias_rows)(G, bih, bhh, LB, G4);
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, LB, G4, I, 1, in, I, Wih, I, 1, G, G4);
        for (int32_t t = 0; t < L; t++) {
            REAL *Gt = G + (size_t)t * B * G4;
            size_t o = (size_t)t * B * H;
            if (t > 0)
                GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, B, G4, H, 1, w->h[k] + o - (size_t)B * H,
                     H, Whh, H, 1, Gt, G4);
            LC_FN(cell_forward)(Gt, t > 0 ? w->c[k] + o - (size_t)B * H : NULL, w->c[k] + o,
                                w->tc[k] + o, w->h[k] + o, B, H);
        }
        in = w->h[k];
        I = H;
    }
    const REAL *hw = wt + off, bh = wt[off + I];
    const REAL *hl = w->h[s->layers - 1] + (size_t)(L - 1) * B * I;
    for (int32_t b = 0; b < B; b++) {
        REAL acc = 0;
        for (int32_t j = 0; j < I; j++)
            acc += hw[j] * hl[(size_t)b * I + j];
        z[b] = acc + bh;
    }
}

double LC_FN(vfr_lstm_cpu_loss)(vfr_lstm_head head, const REAL *z, const REAL *y, int32_t B, REAL *dz)
{
    double sum = 0;
    for (int32_t b = 0; b < B; b++) {
        if (head == VFR_LSTM_HEAD_LOGISTIC) {
            /* BCE of sigmoid(z) from the logit: max(z, 0) - y z + log(1 + e^-|z|) */
            REAL a = z[b] < 0 ? -z[b] : z[b];
            sum += (double)(z[b] > 0 ? z[b] : 0) - (double)y[b] * (double)z[b] + log1p(exp(-(double)a));
            if (dz)
                dz[b] = ((REAL)1 / ((REAL)1 + (REAL)exp(-(double)z[b])) - y[b]) / (REAL)B;
        } else {
            REAL d = z[b] - y[b];
            sum += (double)d * (double)d;
            if (dz)
                dz[b] = 2 * d / (REAL)B;
        }
    }
    return B ? sum / B : 0.0;
}

/* One step of one layer backwards. IN dh (B, H): the gradient of h_t; IN/OUT
 * dc (B, H): the gradient of c_t from step t+1 on entry, that of c_{t-1}
 * on exit. OUT dG (B, 4H): gradients of the gate pre-activations. */
CLONES static void LC_FN(cell_backward)(const REAL *restrict G, const REAL *restrict cprev,
                                 const REAL *restrict tc, const REAL *restrict dh,
                                 REAL *restrict dc, REAL *restrict dG, int32_t B, int32_t H)
{
    for (int32_t b = 0; b < B; b++) {
        const REAL *gi = G + (size_t)b * 4 * H, *gf = gi + H, *gg = gf + H, *go = gg + H;
        REAL *di = dG + (size_t)b * 4 * H, *df = di + H, *dg = df + H, *dO = dg + H;
        const REAL *tcb = tc + (size_t)b * H, *dhb = dh + (size_t)b * H;
        const REAL *cp = cprev ? cprev + (size_t)b * H : NULL;
        REAL *dcb = dc + (size_t)b * H;
        for (int32_t j = 0; j < H; j++) {
            REAL i = gi[j], f = gf[j], g = gg[j], o = go[j], t = tcb[j];
            REAL dcv = dcb[j] + dhb[j] * o * (1 - t * t);
            dO[j] = dhb[j] * t * o * (1 - o);
            di[j] = dcv * g * i * (1 - i);
            dg[j] = dcv * i * (1 - g * g);
            df[j] = cp ? dcv * cp[j] * f * (1 - f) : 0;
            dcb[j] = dcv * f;
        }
    }
}

void LC_FN(vfr_lstm_cpu_backward)(struct LC_WS *w, const REAL *wt, const REAL *dz, REAL *g)
{
    const vfr_lstm_spec *s = &w->s;
    const int32_t L = s->L, B = w->B;
    const int LB = L * B;
    int64_t offs[VFR_LSTM_MAX_LAYERS];
    int64_t off = 0;
    for (int k = 0; k < s->layers; k++) {
        int32_t I = k ? s->H[k - 1] : s->F;
        offs[k] = off;
        off += 4 * (int64_t)s->H[k] * (I + s->H[k] + 2);
    }
    /* head: z = h_last . w + b */
    const int32_t Ht = s->H[s->layers - 1];
    const REAL *hw = wt + off;
    const REAL *hl = w->h[s->layers - 1] + (size_t)(L - 1) * B * Ht;
    for (int32_t j = 0; j < Ht; j++) {
        REAL acc = 0;
        for (int32_t b = 0; b < B; b++)
            acc += dz[b] * hl[(size_t)b * Ht + j];
        g[off + j] = acc;
    }
    REAL db = 0;
    for (int32_t b = 0; b < B; b++)
        db += dz[b];
    g[off + Ht] = db;

    for (int k = s->layers - 1; k >= 0; k--) {
        const int32_t H = s->H[k], G4 = 4 * H, I = k ? s->H[k - 1] : s->F;
        const REAL *Wih = wt + offs[k], *Whh = Wih + (int64_t)G4 * I;
        REAL *gWih = g + offs[k], *gWhh = gWih + (int64_t)G4 * I, *gbih = gWhh + (int64_t)G4 * H,
             *gbhh = gbih + G4;
        const int top = k == s->layers - 1;
        /* dh of the last step: from the head (top) or from the layer above */
        for (int32_t b = 0; b < B; b++)
            for (int32_t j = 0; j < H; j++) {
                size_t last = (size_t)(L - 1) * B * H + (size_t)b * H + j;
                w->dh[(size_t)b * H + j] = top ? dz[b] * hw[j] : w->dY[last];
            }
        memset(w->dc, 0, sizeof(REAL) * (size_t)B * H);
        for (int32_t t = L - 1; t >= 0; t--) {
            size_t o = (size_t)t * B * H;
            REAL *dGt = w->dG + (size_t)t * B * G4;
            LC_FN(cell_backward)(w->gate[k] + (size_t)t * B * G4, t > 0 ? w->c[k] + o - (size_t)B * H : NULL,
                                 w->tc[k] + o, w->dh, w->dc, dGt, B, H);
            if (t > 0) {
                /* dh_{t-1} = dG_t W_hh (+ the gradient from above) */
                if (top) {
                    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, G4, 1, dGt, G4, Whh, H, 0, w->dh, H);
                } else {
                    memcpy(w->dh, w->dY + o - (size_t)B * H, sizeof(REAL) * (size_t)B * H);
                    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, G4, 1, dGt, G4, Whh, H, 1, w->dh, H);
                }
            }
        }
        /* weight gradients over all steps at once */
        GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, G4, I, LB, 1, w->dG, G4, w->in[k], I, 0, gWih, I);
        if (L > 1)
            GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, G4, H, (L - 1) * B, 1, w->dG + (size_t)B * G4, G4,
                 w->h[k], H, 0, gWhh, H);
        else
            memset(gWhh, 0, sizeof(REAL) * (size_t)G4 * H);
        for (int32_t j = 0; j < G4; j++)
            gbih[j] = 0;
        for (int r = 0; r < LB; r++)
            for (int32_t j = 0; j < G4; j++)
                gbih[j] += w->dG[(size_t)r * G4 + j];
        memcpy(gbhh, gbih, sizeof(REAL) * (size_t)G4);
        if (k > 0) {
            /* gradient of the layer's input, through the dropout, to the layer below */
            GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, LB, I, G4, 1, w->dG, G4, Wih, I, 0, w->dX, I);
            if (w->p_drop > 0) {
                LC_FN(drop_apply)(w->dY, w->dX, w->mask[k], (int64_t)LB * I);
            } else {
                memcpy(w->dY, w->dX, sizeof(REAL) * (size_t)LB * I);
            }
        }
    }
}

double LC_FN(vfr_lstm_clip)(REAL *g, int64_t n, double max_norm)
{
    double ss = 0;
    for (int64_t i = 0; i < n; i++)
        ss += (double)g[i] * (double)g[i];
    double norm = sqrt(ss);
    if (max_norm > 0) {
        double coef = max_norm / (norm + 1e-6);
        if (coef < 1) {
            REAL cf = (REAL)coef;
            for (int64_t i = 0; i < n; i++)
                g[i] *= cf;
        }
    }
    return norm;
}

CLONES void LC_FN(vfr_lstm_adam)(REAL *wt, const REAL *g, REAL *m, REAL *v, int64_t n, int64_t t, double lr)
{
    const REAL b1 = (REAL)0.9, b2 = (REAL)0.999, c1 = (REAL)(1 - 0.9), c2 = (REAL)(1 - 0.999);
    const REAL eps = (REAL)1e-8;
    const REAL step = (REAL)(lr / (1 - pow(0.9, (double)t)));
    const REAL bc2s = (REAL)sqrt(1 - pow(0.999, (double)t));
    for (int64_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + c1 * g[i];
        v[i] = b2 * v[i] + c2 * g[i] * g[i];
        wt[i] -= step * m[i] / (SQRT(v[i]) / bc2s + eps);
    }
}

#undef LC_FN
#undef LC_WS
#undef LC_CAT
#undef LC_CAT_
