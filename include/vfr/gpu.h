/* gpu.h: what a CUDA worker keeps between calls, so that the launchers stage
 * nothing per call: a worker's stream, cuBLAS handle and grow-only workspace
 * (vfr_gpu_work), and the rows of a panel uploaded to the device once
 * (vfr_gpu_panel). The *_staged launchers (metrics.h, backtest.h, linear.h)
 * take both; the one-shot *_cuda entry points build them for one call.
 * Without CUDA (or without a device) every create is NO_DEVICE. */
#ifndef VFR_GPU_H
#define VFR_GPU_H

#include <stddef.h>
#include <stdint.h>

#include "vfr/metrics.h"
#include "vfr/status.h"

typedef struct vfr_gpu_work vfr_gpu_work;
typedef struct vfr_gpu_panel vfr_gpu_panel;

/* One worker's own CUDA state: a stream, a cuBLAS handle bound to it, and
 * device and pinned host scratch that only grows (a launcher called again
 * with the same shapes allocates nothing). Not thread-safe: one per worker
 * thread. Errors: NO_DEVICE, CUDA, NOMEM. */
vfr_status vfr_gpu_work_create(vfr_gpu_work **out);
void vfr_gpu_work_destroy(vfr_gpu_work *w); /* NULL is a no-op */

/* Device and pinned allocations this work (and the panels created with it)
 * has made since it was created. */
int64_t vfr_gpu_work_allocations(const vfr_gpu_work *w);

/* Stages on the device, through w's pinned buffer and on its stream, the rows
 * of p: labels, forward returns, the dense [T, S] 1-day returns (0 where
 * missing), date offsets, each row's date, symbol and place within its date;
 * and, when X is not NULL, the features X [p->N, F] row-major.
 * p->date_offset may be NULL (rows without dates: only label and X are
 * staged, for the linear model); else p is checked (vfr_metrics_panel_check).
 * p's arrays are borrowed for the life of the staged panel (the launchers
 * check their arguments against them); X only for the call.
 * Errors: INVALID_ARG, NO_DEVICE, CUDA, NOMEM. */
vfr_status vfr_gpu_panel_create(vfr_gpu_work *w, const vfr_panel *p, const float *X, int32_t F,
                                vfr_gpu_panel **out);
void vfr_gpu_panel_destroy(vfr_gpu_panel *g); /* NULL is a no-op */

/* The host panel it was staged from. */
const vfr_panel *vfr_gpu_panel_host(const vfr_gpu_panel *g);

#endif
