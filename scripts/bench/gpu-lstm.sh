#!/usr/bin/env bash
# gpu-lstm.sh [BUILD_DIR]: the GPU LSTM benchmark, run by scripts/gpu-check.sh
# on a GPU machine (budget: under 2 minutes).
#  1. one epoch over 200,000 sequences (L = 20, F = 50, 64 -> 32, batch 64):
#     vfr's cuDNN path, and PyTorch on the GPU (cuDNN too) when this python has
#     a CUDA torch; both after an untimed warm-up;
#  2. 8 LSTM configurations (learning rate, dropout, seed) one at a time, then
#     all at once from 8 threads, one CUDA stream and cuDNN handle each:
#     the throughput gain (SEQUENCES_MULTI sequences each, default 50,000).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-gpu}
case $build in /*) ;; *) build=$root/$build ;; esac
driver=$build/scripts/bench/vfr_bench_lstm
[ -x "$driver" ] || { echo "gpu-lstm.sh: no $driver" >&2; exit 2; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /'
echo "== one epoch, 200000 sequences"
"$driver" cuda --sequences 200000 || echo "vfr cuda failed"
PY=python3
/usr/bin/python3 -c 'import torch' 2>/dev/null && PY=/usr/bin/python3
if "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  "$PY" "$root/scripts/bench/lstm_torch_bench.py" --device cuda --sequences 200000 || echo "pytorch cuda failed"
else
  echo "pytorch: no CUDA torch here, skipped"
fi
echo "== 8 configurations: one at a time vs at once"
"$driver" cuda-multi --models 8 --sequences "${SEQUENCES_MULTI:-50000}" || echo "vfr cuda-multi failed"
