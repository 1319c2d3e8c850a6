#!/usr/bin/env bash
# lstm.sh: the CPU LSTM benchmark. One epoch over 200,000 sequences (L = 20,
# F = 50, units 64 -> 32, batch 64, dropout 0.3, clipping, Adam), vfr
# (vfr_bench_lstm, through vfr_model_fit) against PyTorch's CPU nn.LSTM doing
# the same work (lstm_torch_bench.py), in the same run, alternating; best of
# REPS each, and the ratio vfr / PyTorch.
#
# Threads: PyTorch gets THREADS (torch.set_num_threads: its own OpenMP
# kernels); vfr's LSTM uses one core per model (vfr parallelises over trials
# and folds, not within a batch of 64), so THREADS > 1 only helps PyTorch.
# Both run OpenBLAS single-threaded: letting OpenBLAS thread these small GEMMs
# as well made both slower on the 2-core VM (PyTorch 63 s instead of 4.4 s per
# 20,000 sequences at 2 threads; vfr 3.7 s instead of 1.8 s).
#
#   VFR_BIN    built vfr (default build/vfr); the driver is looked for beside it
#   THREADS    PyTorch's threads (default: all cores)
#   SEQUENCES  default 200000;  REPS  default 3
#   PYTHON     a python3 with torch (default: /usr/bin/python3 if it has torch)
#   LSTM_JSON  also write the results as JSON here
#
# OpenBLAS 0.3.21 takes some virtual CPUs for a Prescott (no AVX) and runs its
# SSE3 kernels; when OPENBLAS_CORETYPE is unset and the CPU has AVX-512 (AVX2),
# it is set to SkylakeX (Haswell) for both sides alike (both use OpenBLAS).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
VFR_BIN=${VFR_BIN:-$root/build/vfr}
cores=$(getconf _NPROCESSORS_ONLN)
THREADS=${THREADS:-$cores}
SEQUENCES=${SEQUENCES:-200000}
REPS=${REPS:-3}
build=$(cd "$(dirname "$VFR_BIN")" && pwd)
driver=$build/scripts/bench/vfr_bench_lstm
[ -x "$driver" ] || { echo "lstm.sh: no $driver (build first, or set VFR_BIN)" >&2; exit 2; }
if [ -z "${PYTHON:-}" ]; then
  PYTHON=python3
  /usr/bin/python3 -c 'import torch' 2>/dev/null && PYTHON=/usr/bin/python3
fi
"$PYTHON" -c 'import torch' 2>/dev/null || { echo "lstm.sh: $PYTHON has no torch (apt-get install python3-torch)" >&2; exit 2; }
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  if grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
  elif grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell; fi
fi
export OPENBLAS_NUM_THREADS=1

echo "== LSTM CPU benchmark: $SEQUENCES sequences, PyTorch $THREADS thread(s), vfr 1, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-auto}, best of $REPS"
echo "   $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $cores cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
best() { sort -n | head -1; }
vfr_t=(); torch_t=()
for i in $(seq "$REPS"); do
  v=$("$driver" cpu --sequences "$SEQUENCES")
  t=$(OMP_NUM_THREADS=$THREADS "$PYTHON" "$root/scripts/bench/lstm_torch_bench.py" --device cpu --threads "$THREADS" \
      --sequences "$SEQUENCES")
  echo "  vfr:     $v"
  echo "  pytorch: $t"
  vfr_t+=("$(echo "$v" | sed 's/.*"seconds": \([0-9.]*\).*/\1/')")
  torch_t+=("$(echo "$t" | sed 's/.*"seconds": \([0-9.]*\).*/\1/')")
done
vb=$(printf '%s\n' "${vfr_t[@]}" | best)
tb=$(printf '%s\n' "${torch_t[@]}" | best)
ratio=$(awk -v a="$vb" -v b="$tb" 'BEGIN { printf "%.2f", a / b }')
tv=$("$PYTHON" -c 'import torch; print(torch.__version__)')
echo "best epoch: vfr ${vb} s (1 thread), PyTorch ${tv} ${tb} s ($THREADS threads); vfr / PyTorch = ${ratio} (target <= 1)"
if [ -n "${LSTM_JSON:-}" ]; then
  printf '{"sequences": %s, "threads": %s, "vfr_s": %s, "pytorch_s": %s, "pytorch": "%s", "ratio": %s}\n' \
    "$SEQUENCES" "$THREADS" "$vb" "$tb" "$tv" "$ratio" >"$LSTM_JSON"
fi
