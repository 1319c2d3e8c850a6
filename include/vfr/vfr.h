/* vfr.h: the umbrella header of libvfr: every public header in one include.
 *
 *   #include <vfr/vfr.h>      cc app.c $(pkg-config --cflags --libs vfr)
 *
 * Each module's header can also be included on its own; this one adds nothing
 * but the list (and C linkage for C++ callers). tests/test_install.sh checks
 * that it names every header in include/vfr/. */
#ifndef VFR_VFR_H
#define VFR_VFR_H

#ifdef __cplusplus
extern "C" {
#endif

#include "vfr/abtest.h"
#include "vfr/backtest.h"
#include "vfr/colstats.h"
#include "vfr/compare.h"
#include "vfr/cpcv.h"
#include "vfr/dataset.h"
#include "vfr/device.h"
#include "vfr/digest.h"
#include "vfr/features.h"
#include "vfr/gpu.h"
#include "vfr/job.h"
#include "vfr/lightgbm.h"
#include "vfr/linear.h"
#include "vfr/lstm.h"
#include "vfr/metrics.h"
#include "vfr/mlflow.h"
#include "vfr/model.h"
#include "vfr/model_cache.h"
#include "vfr/pack.h"
#include "vfr/predictions.h"
#include "vfr/prepare.h"
#include "vfr/probe.h"
#include "vfr/queue.h"
#include "vfr/registry.h"
#include "vfr/report.h"
#include "vfr/runfolder.h"
#include "vfr/runreport.h"
#include "vfr/schedule.h"
#include "vfr/search.h"
#include "vfr/split.h"
#include "vfr/stats.h"
#include "vfr/status.h"
#include "vfr/synth.h"
#include "vfr/train.h"
#include "vfr/tune.h"
#include "vfr/xgboost.h"
#include "vfr/xsection.h"

#ifdef __cplusplus
}
#endif

#endif
