/* svg.c: the run report's SVG writer (svg.h). Plain string building: every
 * coordinate is printed with one decimal, long series are thinned to what a
 * pixel can show, and every piece of text goes through vfri_svg_esc. Not a
 * plotting library: no layout engine, no fonts measured; callers place things. */
#include "svg.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfr/dataset.h"

/* ---- buffer --------------------------------------------------------------- */

static int grow(vfr_svg_buf *b, size_t extra)
{
    if (b->oom)
        return 0;
    if (b->len + extra + 1 <= b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = 1;
        return 0;
    }
    b->s = s;
    b->cap = cap;
    return 1;
}

static void putn(vfr_svg_buf *b, const char *s, size_t n)
{
    if (!grow(b, n))
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void vfri_svg_puts(vfr_svg_buf *b, const char *s)
{
    putn(b, s, strlen(s));
}

void vfri_svg_printf(vfr_svg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        putn(b, small, (size_t)n);
        return;
    }
    if (!grow(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the well-formed UTF-8 sequence at s (2..4), or 0. */
static int utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    int n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
    if (c >= 0xF5)
        n = 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (n == 3 && ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F)))
        return 0; /* overlong, or a UTF-16 surrogate */
    if (n == 4 && ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F)))
        return 0;
    return n;
}

void vfri_svg_esc(vfr_svg_buf *b, const char *s)
{
    if (!s)
        return;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        const unsigned char *q = p; /* a run of bytes that need no change */
        while (*q >= 0x20 && *q < 0x7F && *q != '&' && *q != '<' && *q != '>' && *q != '"' && *q != '\'')
            q++;
        putn(b, (const char *)p, (size_t)(q - p));
        p = q;
        if (!*p)
            break;
        switch (*p) {
        case '&': vfri_svg_puts(b, "&amp;"); p++; continue;
        case '<': vfri_svg_puts(b, "&lt;"); p++; continue;
        case '>': vfri_svg_puts(b, "&gt;"); p++; continue;
        case '"': vfri_svg_puts(b, "&quot;"); p++; continue;
        case '\'': vfri_svg_puts(b, "&#39;"); p++; continue;
        case '\t': case '\n': putn(b, (const char *)p, 1); p++; continue;
        default: break;
        }
        if (*p < 0x80) { /* other control characters, DEL */
            p++;
            continue;
        }
        int n = utf8_len(p);
        if (n) {
            putn(b, (const char *)p, (size_t)n);
            p += n;
        } else {
            vfri_svg_puts(b, "\xEF\xBF\xBD");
            p++;
        }
    }
}

void vfri_svg_buf_free(vfr_svg_buf *b)
{
    if (!b)
        return;
    free(b->s);
    memset(b, 0, sizeof *b);
}

/* ---- frame ------------------------------------------------------------------ */

void vfri_svg_begin(vfr_svg_buf *b, const char *id, const char *cls, int w, int h, const char *title)
{
    vfri_svg_puts(b, "<svg xmlns=\"http://www.w3.org/2000/svg\"");
    if (id) {
        vfri_svg_puts(b, " id=\"");
        vfri_svg_esc(b, id);
        vfri_svg_puts(b, "\"");
    }
    vfri_svg_puts(b, " class=\"chart");
    if (cls) {
        vfri_svg_puts(b, " ");
        vfri_svg_esc(b, cls);
    }
    vfri_svg_printf(b, "\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\"><title>", w, h, w, h);
    vfri_svg_esc(b, title);
    vfri_svg_puts(b, "</title>\n");
}

void vfri_svg_end(vfr_svg_buf *b)
{
    vfri_svg_puts(b, "</svg>\n");
}

void vfri_svg_extend(const double *v, int64_t n, double *lo, double *hi)
{
    for (int64_t i = 0; i < n; i++)
        if (isfinite(v[i])) {
            if (v[i] < *lo)
                *lo = v[i];
            if (v[i] > *hi)
                *hi = v[i];
        }
}

void vfri_svg_pad(double *lo, double *hi, double frac)
{
    double s = *hi - *lo;
    if (isfinite(s) && s > 0) {
        *lo -= frac * s;
        *hi += frac * s;
    }
}

static void fix_range(double *lo, double *hi)
{
    if (!isfinite(*lo) || !isfinite(*hi) || *lo > *hi) {
        *lo = 0;
        *hi = 1;
    } else if (*hi - *lo < 1e-12 * (fabs(*lo) + fabs(*hi)) || *hi == *lo) {
        double d = *lo == 0 ? 0.5 : 0.1 * fabs(*lo);
        *lo -= d;
        *hi += d;
    }
}

void vfri_svg_plot_init(vfr_svg_plot *p, vfr_svg_buf *b, double left, double top, double width,
                       double height, double x0, double x1, double y0, double y1)
{
    memset(p, 0, sizeof *p);
    p->b = b;
    p->left = left, p->top = top, p->width = width, p->height = height;
    fix_range(&x0, &x1);
    fix_range(&y0, &y1);
    p->x0 = x0, p->x1 = x1, p->y0 = y0, p->y1 = y1;
}

double vfri_svg_px(const vfr_svg_plot *p, double x)
{
    return p->left + (x - p->x0) / (p->x1 - p->x0) * p->width;
}

double vfri_svg_py(const vfr_svg_plot *p, double y)
{
    return p->top + (p->y1 - y) / (p->y1 - p->y0) * p->height;
}

/* ---- ticks ------------------------------------------------------------------ */

/* A step of 1, 2 or 5 times a power of ten giving about `target` ticks. */
static double nice_step(double span, int target)
{
    double raw = span / target;
    if (!(raw > 0) || !isfinite(raw))
        return 1;
    double mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

static void tick_label(char *out, size_t cap, double v, double step, int percent)
{
    if (percent)
        v *= 100, step *= 100;
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (dec > 8)
        dec = 8;
    if (fabs(v) < step * 1e-6)
        v = 0; /* no "-0.00" */
    snprintf(out, cap, "%.*f%s", dec, v, percent ? "%" : "");
}

static void ytick(const vfr_svg_plot *p, double y, const char *label)
{
    double Y = vfri_svg_py(p, y);
    vfri_svg_printf(p->b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                   p->left, Y, p->left + p->width, Y);
    vfri_svg_text(p->b, p->left - 5, Y + 3.5, "end", "tick", label);
}

static void xtick(const vfr_svg_plot *p, double x, const char *label)
{
    double X = vfri_svg_px(p, x);
    vfri_svg_printf(p->b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                   X, p->top, X, p->top + p->height);
    if (label)
        vfri_svg_text(p->b, X, p->top + p->height + 13, "middle", "tick", label);
}

static int month_key(int32_t day, char ymd[11])
{
    vfr_date_format(day, ymd);
    int y = 0, m = 0;
    for (int i = 0; i < 4; i++)
        y = y * 10 + (ymd[i] - '0');
    m = (ymd[5] - '0') * 10 + (ymd[6] - '0');
    return y * 12 + (m - 1);
}

/* Date axis: ticks at the first trading date of every s-th month. */
static void date_ticks(const vfr_svg_plot *p, int labels)
{
    static const int steps[] = {1, 2, 3, 6, 12, 24, 60, 120};
    int32_t lo = (int32_t)ceil(p->x0 < 0 ? 0 : p->x0), hi = (int32_t)floor(p->x1);
    if (hi > p->ndates - 1)
        hi = p->ndates - 1;
    if (lo > hi)
        return;
    char a[11], c[11];
    int span = month_key(p->dates[hi], c) - month_key(p->dates[lo], a) + 1;
    int s = steps[0];
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        s = steps[i];
        if (span / s <= 8)
            break;
    }
    int ticks = 0, prev = month_key(p->dates[lo], a);
    for (int32_t i = lo + 1; i <= hi; i++) {
        int k = month_key(p->dates[i], a);
        if (k != prev && k % s == 0) {
            char lab[11];
            snprintf(lab, sizeof lab, "%.*s", s >= 12 ? 4 : 7, a);
            xtick(p, i, labels ? lab : NULL);
            ticks++;
        }
        prev = k;
    }
    if (ticks == 0) { /* under a month: the first and last dates */
        vfr_date_format(p->dates[lo], a);
        vfr_date_format(p->dates[hi], c);
        xtick(p, lo, labels ? a : NULL);
        if (hi > lo)
            xtick(p, hi, labels ? c : NULL);
    }
}

void vfri_svg_axes(const vfr_svg_plot *p, const char *xlabel, const char *ylabel, unsigned flags)
{
    vfr_svg_buf *b = p->b;
    char lab[48];
    vfri_svg_puts(b, "<g class=\"axes\">");
    double ys = nice_step(p->y1 - p->y0, p->height < 120 ? 3 : 5);
    for (double y = ceil(p->y0 / ys - 1e-9) * ys; y <= p->y1 + ys * 1e-9; y += ys) {
        tick_label(lab, sizeof lab, y, ys, (flags & VFR_SVG_Y_PERCENT) != 0);
        ytick(p, y, lab);
    }
    int xl = !(flags & VFR_SVG_X_NONE);
    if (p->dates && p->ndates > 0) {
        date_ticks(p, xl);
    } else {
        double xs = nice_step(p->x1 - p->x0, p->width < 400 ? 4 : 8);
        if ((flags & VFR_SVG_X_INT) && xs < 1)
            xs = 1;
        for (double x = ceil(p->x0 / xs - 1e-9) * xs; x <= p->x1 + xs * 1e-9; x += xs) {
            tick_label(lab, sizeof lab, x, xs, (flags & VFR_SVG_X_PERCENT) != 0);
            xtick(p, x, xl ? lab : NULL);
        }
    }
    vfri_svg_printf(b, "<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>",
                   p->left, p->top, p->width, p->height);
    if (xlabel)
        vfri_svg_text(b, p->left + p->width / 2, p->top + p->height + 30, "middle", "axis-title", xlabel);
    if (ylabel) {
        double x = p->left - 44, y = p->top + p->height / 2;
        vfri_svg_printf(b, "<text class=\"axis-title\" text-anchor=\"middle\" transform=\"translate(%.1f %.1f) rotate(-90)\">", x, y);
        vfri_svg_esc(b, ylabel);
        vfri_svg_puts(b, "</text>");
    }
    vfri_svg_puts(b, "</g>\n");
}

/* ---- marks ------------------------------------------------------------------ */

static void open_path(vfr_svg_buf *b, const char *cls, const char *name)
{
    vfri_svg_puts(b, "<path class=\"");
    vfri_svg_esc(b, cls ? cls : "series");
    vfri_svg_puts(b, "\"");
    if (name) {
        vfri_svg_puts(b, " data-series=\"");
        vfri_svg_esc(b, name);
        vfri_svg_puts(b, "\"");
    }
}

static const char *const dash_patterns[] = {NULL, "5 4", "2 3", "9 3 2 3", "12 4", "1 4", "7 7"};
#define NDASH ((int)(sizeof dash_patterns / sizeof dash_patterns[0]))

static void dash_attr(vfr_svg_buf *b, int dash)
{
    if (dash > 0)
        vfri_svg_printf(b, " stroke-dasharray=\"%s\"", dash_patterns[1 + (dash - 1) % (NDASH - 1)]);
}

void vfri_svg_line(const vfr_svg_plot *p, const double *x, const double *y, int64_t n,
                  const char *color, double width, int dash, const char *cls, const char *name)
{
    vfr_svg_buf *b = p->b;
    open_path(b, cls, name);
    vfri_svg_printf(b, " fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\"", color, width);
    dash_attr(b, dash);
    vfri_svg_puts(b, " stroke-linejoin=\"round\" d=\"");
    int pen = 0, pending = 0;
    double lx = 0, ly = 0, qx = 0, qy = 0;
    for (int64_t i = 0; i <= n; i++) {
        double xv = i < n ? (x ? x[i] : (double)i) : NAN, yv = i < n ? y[i] : NAN;
        if (!isfinite(xv) || !isfinite(yv)) {
            if (pending)
                vfri_svg_printf(b, "L%.1f %.1f", qx, qy);
            pen = pending = 0;
            continue;
        }
        double X = vfri_svg_px(p, xv), Y = vfri_svg_py(p, yv);
        if (!pen) {
            vfri_svg_printf(b, "M%.1f %.1f", X, Y);
            pen = 1, lx = X, ly = Y;
        } else if (fabs(X - lx) < 0.5 && fabs(Y - ly) < 0.5) {
            pending = 1, qx = X, qy = Y;
        } else {
            vfri_svg_printf(b, "L%.1f %.1f", X, Y);
            lx = X, ly = Y, pending = 0;
        }
    }
    vfri_svg_puts(b, "\"/>\n");
}

void vfri_svg_points(const vfr_svg_plot *p, const double *x, const double *y, int64_t n,
                    const char *color, double r, int hollow, const char *cls)
{
    vfr_svg_buf *b = p->b;
    vfri_svg_puts(b, "<g class=\"");
    vfri_svg_esc(b, cls ? cls : "points");
    if (hollow)
        vfri_svg_printf(b, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\">", color);
    else
        vfri_svg_printf(b, "\" fill=\"%s\">", color);
    for (int64_t i = 0; i < n; i++) {
        double xv = x ? x[i] : (double)i;
        if (isfinite(xv) && isfinite(y[i]))
            vfri_svg_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\"/>", vfri_svg_px(p, xv),
                           vfri_svg_py(p, y[i]), r);
    }
    vfri_svg_puts(b, "</g>\n");
}

void vfri_svg_bars(const vfr_svg_plot *p, const double *x, const double *y, int64_t n, double bar_w,
                  const char *color, const char *cls)
{
    vfr_svg_buf *b = p->b;
    double w = fabs(vfri_svg_px(p, bar_w) - vfri_svg_px(p, 0));
    if (w < 0.6)
        w = 0.6;
    double base = p->y0 > 0 ? p->y0 : p->y1 < 0 ? p->y1 : 0, Y0 = vfri_svg_py(p, base);
    open_path(b, cls ? cls : "bars", NULL);
    vfri_svg_printf(b, " fill=\"%s\" d=\"", color);
    for (int64_t i = 0; i < n; i++) {
        double xv = x ? x[i] : (double)i;
        if (!isfinite(xv) || !isfinite(y[i]))
            continue;
        double X = vfri_svg_px(p, xv) - w / 2, Y = vfri_svg_py(p, y[i]);
        vfri_svg_printf(b, "M%.1f %.1fh%.1fV%.1fh%.1fz", X, Y0, w, Y, -w);
    }
    vfri_svg_puts(b, "\"/>\n");
}

void vfri_svg_hline(const vfr_svg_plot *p, double y, const char *color, int dash, const char *label)
{
    if (!isfinite(y) || y < p->y0 || y > p->y1)
        return;
    double Y = vfri_svg_py(p, y);
    vfri_svg_printf(p->b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.2\"%s/>",
                   p->left, Y, p->left + p->width, Y, color, dash ? " stroke-dasharray=\"5 4\"" : "");
    if (label)
        vfri_svg_text(p->b, p->left + p->width - 4, Y - 4, "end", "note", label);
}

void vfri_svg_text(vfr_svg_buf *b, double x, double y, const char *anchor, const char *cls,
                  const char *text)
{
    vfri_svg_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"", x, y, anchor);
    if (cls) {
        vfri_svg_puts(b, " class=\"");
        vfri_svg_esc(b, cls);
        vfri_svg_puts(b, "\"");
    }
    vfri_svg_puts(b, ">");
    vfri_svg_esc(b, text);
    vfri_svg_puts(b, "</text>");
}

/* No font metrics: an estimate of a legend name's width, px. */
static double text_width(const char *name)
{
    size_t len = 0;
    for (const unsigned char *s = (const unsigned char *)name; *s; s++)
        len += (*s & 0xC0) != 0x80;
    return 7.2 * (double)len;
}

void vfri_svg_legend(vfr_svg_buf *b, double x, double y, const char *const *names,
                    const char *const *colors, int n)
{
    vfri_svg_puts(b, "<g class=\"legend\">");
    for (int i = 0; i < n; i++) {
        vfri_svg_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"4\" fill=\"%s\"/>", x, y - 5, colors[i]);
        vfri_svg_text(b, x + 18, y, "start", NULL, names[i]);
        x += 34 + text_width(names[i]);
    }
    vfri_svg_puts(b, "</g>\n");
}

void vfri_svg_legend_lines(vfr_svg_buf *b, double x, double y, const char *const *names,
                          const char *const *colors, const int *dashes, int n)
{
    vfri_svg_puts(b, "<g class=\"legend\">");
    for (int i = 0; i < n; i++) {
        vfri_svg_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2.5\"",
                       x, y - 3.5, x + 22, y - 3.5, colors[i]);
        dash_attr(b, dashes ? dashes[i] : 0);
        vfri_svg_puts(b, "/>");
        vfri_svg_text(b, x + 26, y, "start", NULL, names[i]);
        x += 42 + text_width(names[i]);
    }
    vfri_svg_puts(b, "</g>\n");
}

void vfri_svg_axis_break(const vfr_svg_plot *p)
{
    double x = p->left, y = p->top + p->height;
    vfri_svg_printf(p->b, "<g class=\"axis-break\"><rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"9\" fill=\"#fff\"/>"
                         "<path fill=\"none\" stroke=\"#555\" stroke-width=\"1.3\" d=\"M%.1f %.1fl4 -3l4 6l4 -6l4 3"
                         "M%.1f %.1fl4 -3l4 6l4 -6l4 3\"/></g>\n",
                   x - 7, y - 12, x - 8, y - 9.5, x - 8, y - 5.5);
}

void vfri_svg_hbars(const vfr_svg_plot *p, const double *v, const char *const *labels, int n,
                   const char *color, const char *xlabel)
{
    vfr_svg_buf *b = p->b;
    char lab[48];
    vfri_svg_puts(b, "<g class=\"axes\">");
    double xs = nice_step(p->x1 - p->x0, 5);
    for (double x = ceil(p->x0 / xs - 1e-9) * xs; x <= p->x1 + xs * 1e-9; x += xs) {
        tick_label(lab, sizeof lab, x, xs, 0);
        xtick(p, x, lab);
    }
    if (xlabel)
        vfri_svg_text(b, p->left + p->width / 2, p->top + p->height + 30, "middle", "axis-title", xlabel);
    vfri_svg_puts(b, "</g>\n<g class=\"hbars\">");
    double row = n > 0 ? p->height / n : p->height, h = row * 0.72;
    for (int i = 0; i < n; i++) {
        double y = p->top + row * i + (row - h) / 2, w = isfinite(v[i]) ? vfri_svg_px(p, v[i]) - p->left : 0;
        if (w < 0)
            w = 0;
        vfri_svg_printf(b, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>",
                       p->left, y, w, h, color);
        vfri_svg_text(b, p->left - 6, y + h / 2 + 4, "end", "bar-label", labels[i]);
    }
    vfri_svg_puts(b, "</g>\n");
}

void vfri_svg_heatmap(vfr_svg_buf *b, double x, double y, double cw, double ch, int rows, int cols,
                     const double *v, const char *const *text, const char *const *key,
                     const char *const *row_labels, const char *const *col_labels)
{
    double mx = 0;
    for (int i = 0; i < rows * cols; i++)
        if (isfinite(v[i]) && v[i] > mx)
            mx = v[i];
    vfri_svg_puts(b, "<g class=\"heatmap\">");
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            double f = mx > 0 && isfinite(v[r * cols + c]) ? v[r * cols + c] / mx : 0;
            /* white (255,255,255) to the report's blue (31,119,180) */
            int R = (int)lround(255 - f * (255 - 31)), G = (int)lround(255 - f * (255 - 119)),
                B = (int)lround(255 - f * (255 - 180));
            double X = x + c * cw, Y = y + r * ch;
            vfri_svg_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"rgb(%d,%d,%d)\" stroke=\"#fff\"/>",
                           X, Y, cw, ch, R, G, B);
            vfri_svg_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"cell%s\"",
                           X + cw / 2, Y + ch / 2 + 5, f > 0.55 ? " on-dark" : "");
            if (key && key[r * cols + c]) {
                vfri_svg_puts(b, " data-key=\"");
                vfri_svg_esc(b, key[r * cols + c]);
                vfri_svg_puts(b, "\"");
            }
            vfri_svg_puts(b, ">");
            vfri_svg_esc(b, text[r * cols + c]);
            vfri_svg_puts(b, "</text>");
        }
    for (int r = 0; r < rows; r++)
        vfri_svg_text(b, x - 8, y + r * ch + ch / 2 + 4, "end", "tick", row_labels[r]);
    for (int c = 0; c < cols; c++)
        vfri_svg_text(b, x + c * cw + cw / 2, y + rows * ch + 16, "middle", "tick", col_labels[c]);
    vfri_svg_puts(b, "</g>\n");
}
