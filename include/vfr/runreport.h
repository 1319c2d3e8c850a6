/* runreport.h: the run report, one self-contained HTML page per run folder.
 *
 * Reads what `vfr train` wrote into a run folder (docs/run-folder.md) and
 * draws the picture a reviewer needs the morning after a retrain: header,
 * deploy decision, equity and drawdown against the baselines, rolling Sharpe,
 * ROC, calibration, confusion matrix, daily IC, feature importance, the
 * search and the walk-forward windows, and the tables behind them
 * (docs/report.md). Inline SVG and CSS only: no JavaScript, nothing fetched.
 * Not here: the numbers themselves, which come from metrics.json,
 * comparison.json and the files beside them, or are recomputed from
 * predictions.h5 and backtest.h5 with the library's own metrics. */
#ifndef VFR_RUNREPORT_H
#define VFR_RUNREPORT_H

#include "vfr/status.h"

/* Writes the report of the run folder run_dir to out_path (NULL:
 * <run_dir>/report.html), through a temporary file renamed into place.
 * IN run_dir: a run folder; only metrics.json is required. A missing
 *   optional file (comparison.json, registry.json, search.json,
 *   predictions.h5, backtest.h5, ...) leaves its part of the page out with a
 *   note; so does one that cannot be read, with the reason.
 * Errors: NOT_FOUND (no metrics.json), FORMAT (metrics.json is not JSON),
 * NOMEM, IO (writing out_path). Not thread-safe (HDF5 serial is not). */
vfr_status vfr_runreport_write(const char *run_dir, const char *out_path);

#endif
