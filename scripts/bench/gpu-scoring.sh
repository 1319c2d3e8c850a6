#!/usr/bin/env bash
# gpu-scoring.sh [BUILD_DIR]: the staged GPU scoring benchmark (issue 18):
# metrics + top_k backtest of M = 1,000 strategies x 100 symbols x 2,520 dates
# with the panel staged once and the scores already on the device, against
# the time to read those inputs once at the card's peak memory bandwidth
# (target: within 3x). Also the long_short_sign backtest, the one-time
# staging and upload, and the allocations made by the timed calls (must be 0).
# Runs only with a GPU: exit 77 otherwise. Needs no Python.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
bin=$build/scripts/bench/vfr_bench_gpu
if ! nvidia-smi -L >/dev/null 2>&1; then echo "gpu-scoring: no GPU (nvidia-smi sees none)"; exit 77; fi
[ -x "$bin" ] || { echo "gpu-scoring: no $bin (build with CUDA first)"; exit 1; }
out=$("$bin" "${M:-1000}" "${S:-100}" "${T:-2520}"); rc=$?
[ $rc -eq 0 ] || { echo "gpu-scoring: vfr_bench_gpu exit $rc"; exit $rc; }
echo "$out"
awk -v j="$out" 'BEGIN {
  n = split(j, kv, /[,{}]/)
  for (i = 1; i <= n; i++) {
    split(kv[i], p, /: */); k = p[1]; gsub(/[" ]/, "", k); v = p[2]; gsub(/^ *"?|"? *$/, "", v); f[k] = v
  }
  printf "card: %s, peak %.0f GB/s; inputs %.2f GB read once = %.2f ms\n", f["card"], f["peak_bandwidth_GBps"],
         f["input_bytes"] / 1e9, 1e3 * f["read_once_s"]
  printf "metrics %.2f ms + top_k backtest %.2f ms = %.2f ms: %.2fx the read-once time (target <= 3x: %s)\n",
         1e3 * f["metrics_s"], 1e3 * f["top_k_s"], 1e3 * f["metrics_plus_top_k_s"], f["ratio_to_read_once"],
         f["ratio_to_read_once"] <= 3 ? "met" : "NOT met"
  printf "long_short_sign backtest %.2f ms; staging the panel %.1f ms; uploading the scores %.1f ms (once)\n",
         1e3 * f["long_short_sign_s"], 1e3 * f["stage_panel_s"], 1e3 * f["upload_scores_s"]
  printf "allocations in the timed calls: %d\n", f["allocations_in_timed_calls"]
  if (f["allocations_in_timed_calls"] != 0) exit 1
}'
