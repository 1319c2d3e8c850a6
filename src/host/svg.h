/* svg.h: the small SVG writer behind the run report (runreport.c); not public API.
 *
 * A growable text buffer with HTML escaping, and what the report's charts are
 * made of: a plot frame with "nice" ticks (numbers, or trading dates on an
 * index axis), lines, points, bars, horizontal bars with labels, a heat map
 * and a legend. It is not a plotting library: sizes, fonts and colours are the
 * report's, and its CSS classes are styled by the page. About 400 lines of C
 * instead of a dependency; no JavaScript, output that any browser renders. */
#ifndef VFR_SVG_H
#define VFR_SVG_H

#include <stddef.h>
#include <stdint.h>

/* A growable NUL-terminated text buffer. Appends never report failure: an
 * allocation failure sets oom, later appends are dropped, and the owner checks
 * oom once at the end. Zero-initialise; free with vfri_svg_buf_free. */
typedef struct vfr_svg_buf {
    char *s;
    size_t len, cap;
    int oom;
} vfr_svg_buf;

void vfri_svg_puts(vfr_svg_buf *b, const char *s);
void vfri_svg_printf(vfr_svg_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* s as HTML text or a double-quoted attribute value: & < > " ' become
 * entities, control characters (but tab and newline) are dropped, and bytes
 * that are not well-formed UTF-8 become U+FFFD. NULL writes nothing. */
void vfri_svg_esc(vfr_svg_buf *b, const char *s);
void vfri_svg_buf_free(vfr_svg_buf *b);

/* <svg id=... viewBox="0 0 w h"> with a <title>; and its end. */
void vfri_svg_begin(vfr_svg_buf *b, const char *id, const char *cls, int w, int h, const char *title);
void vfri_svg_end(vfr_svg_buf *b);

/* Axis options for vfri_svg_axes. */
enum {
    VFR_SVG_Y_PERCENT = 1, /* y tick labels as percentages (value x 100)  */
    VFR_SVG_X_PERCENT = 2,
    VFR_SVG_X_INT = 4,     /* integer x ticks only (folds, trials)        */
    VFR_SVG_X_NONE = 8,    /* no x tick labels (a panel above another)    */
};

/* A plot: a pixel rectangle and the data ranges mapped onto it. With dates,
 * x is an index into dates[0..ndates) and the x ticks are month or year
 * starts. Ranges that are empty or not finite are widened to something
 * drawable by vfri_svg_plot_init. */
typedef struct vfr_svg_plot {
    vfr_svg_buf *b;
    double left, top, width, height; /* plot area, px                 */
    double x0, x1, y0, y1;           /* data ranges                   */
    const int32_t *dates;            /* [ndates] days since 1970, or NULL */
    int32_t ndates;
} vfr_svg_plot;

void vfri_svg_plot_init(vfr_svg_plot *p, vfr_svg_buf *b, double left, double top, double width,
                       double height, double x0, double x1, double y0, double y1);
/* Data -> pixel. */
double vfri_svg_px(const vfr_svg_plot *p, double x);
double vfri_svg_py(const vfr_svg_plot *p, double y);
/* Widens [*lo, *hi] to the finite values of v[0..n) (start with lo = +inf,
 * hi = -inf, or with values that must stay in view). */
void vfri_svg_extend(const double *v, int64_t n, double *lo, double *hi);
/* Pads [*lo, *hi] by frac of its span on each side. */
void vfri_svg_pad(double *lo, double *hi, double frac);

/* Grid, ticks, tick labels and axis titles (either may be NULL). */
void vfri_svg_axes(const vfr_svg_plot *p, const char *xlabel, const char *ylabel, unsigned flags);

/* A polyline through (x[i], y[i]) (x NULL: x = i); a non-finite value breaks
 * the line. Points closer than half a pixel to the last drawn one are merged.
 * cls and name (data-series) may be NULL; dash: 0 solid, k > 0 the k-th of
 * six dash patterns (dashed, dotted, dash-dot, long dashes, sparse dots, and
 * VFR_SVG_DASH_HALF: dashes as long as the gaps, for a line drawn over an
 * identical one). */
enum { VFR_SVG_DASH_HALF = 6 };
void vfri_svg_line(const vfr_svg_plot *p, const double *x, const double *y, int64_t n,
                  const char *color, double width, int dash, const char *cls, const char *name);
/* Circles of radius r at (x[i], y[i]); hollow: outline only. */
void vfri_svg_points(const vfr_svg_plot *p, const double *x, const double *y, int64_t n,
                    const char *color, double r, int hollow, const char *cls);
/* Vertical bars from y = 0 to y[i] centred on x[i] (x NULL: i), bar_w wide in
 * data units, drawn as one path. */
void vfri_svg_bars(const vfr_svg_plot *p, const double *x, const double *y, int64_t n, double bar_w,
                  const char *color, const char *cls);
/* A horizontal line across the plot at y (labelled at the right when label). */
void vfri_svg_hline(const vfr_svg_plot *p, double y, const char *color, int dash, const char *label);

/* Text at (x, y) px; anchor "start" | "middle" | "end"; cls may be NULL. */
void vfri_svg_text(vfr_svg_buf *b, double x, double y, const char *anchor, const char *cls,
                  const char *text);
/* A legend row of line samples (colour and dash pattern, as vfri_svg_line
 * draws them; dashes NULL: all solid) and names, starting at (x, y) px. */
void vfri_svg_legend_lines(vfr_svg_buf *b, double x, double y, const char *const *names,
                          const char *const *colors, const int *dashes, int n);
/* A zigzag on the y axis near its bottom: the axis does not start at 0. */
void vfri_svg_axis_break(const vfr_svg_plot *p);
/* A legend row of coloured swatches and names, starting at (x, y) px. */
void vfri_svg_legend(vfr_svg_buf *b, double x, double y, const char *const *names,
                    const char *const *colors, int n);

/* Horizontal bars: n labelled values, the first at the top, in a plot whose
 * x range is [0, max]; labels are drawn left of the plot area. */
void vfri_svg_hbars(const vfr_svg_plot *p, const double *v, const char *const *labels, int n,
                   const char *color, const char *xlabel);

/* A rows x cols heat map at (x, y) px with cells cw x ch: v [rows, cols]
 * shades white to blue by v / max(v); text [rows * cols] is drawn in each
 * cell, key [rows * cols] (or NULL) becomes the cell text's data-key. */
void vfri_svg_heatmap(vfr_svg_buf *b, double x, double y, double cw, double ch, int rows, int cols,
                     const double *v, const char *const *text, const char *const *key,
                     const char *const *row_labels, const char *const *col_labels);

#endif
