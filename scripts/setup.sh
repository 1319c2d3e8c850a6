#!/usr/bin/env bash
# setup.sh: installs what vfr needs to build and test, and only what is
# missing (Debian packages via apt-get, Python peers via pip). Idempotent and
# quiet when everything is there. CUDA (nvcc, cuBLAS, cuDNN) is used when
# present and never installed here: without it vfr builds CPU-only.
set -euo pipefail

APT_PKGS=(build-essential cmake pkg-config zlib1g-dev libhdf5-dev libcjson-dev
          libxgboost-dev libsqlite3-dev libpq-dev libopenblas-dev libssl-dev libcurl4-openssl-dev)
# clang and its libFuzzer runtime: the bounded fuzz run of scripts/test.sh
# (scripts/fuzz.sh, tests/fuzz/). Without them that step is skipped.
if [ "${VFR_SETUP_FUZZ:-1}" != 0 ]; then
  APT_PKGS+=(clang libclang-rt-14-dev)
fi
# chromium renders the run report in test_report_render (tests/test_report.py
# --render; docs/report.md). It is big (some 300 MB with its libraries), so it
# comes only where asked: VFR_SETUP_BROWSER=1, or in CI (CI set) unless
# VFR_SETUP_BROWSER=0. Without it that one test is skipped.
if [ "${VFR_SETUP_BROWSER:-}" = 1 ] || { [ -n "${CI:-}" ] && [ "${VFR_SETUP_BROWSER:-}" != 0 ]; }; then
  APT_PKGS+=(chromium)
fi
# slurm-wlm and munge run a real single-node Slurm cluster on localhost for
# test_slurm (tests/test_slurm.py starts and stops it; docs/queue.md). They
# install nothing that starts by itself, but they are a few dozen MB and only
# that test needs them, so they come only where asked: VFR_SETUP_SLURM=1, or in
# CI (CI set) unless VFR_SETUP_SLURM=0. Without them test_slurm is skipped.
if [ "${VFR_SETUP_SLURM:-}" = 1 ] || { [ -n "${CI:-}" ] && [ "${VFR_SETUP_SLURM:-}" != 0 ]; }; then
  APT_PKGS+=(slurm-wlm munge)
fi
# postgresql (server and psql) runs a throwaway server in a temporary folder for
# test_registry_pg and test_queue_pg (tests/pgserver.py; docs/registry.md). The
# build needs only libpq-dev; the server comes only where asked:
# VFR_SETUP_POSTGRES=1, or in CI (CI set) unless VFR_SETUP_POSTGRES=0. Without
# it those tests are skipped.
if [ "${VFR_SETUP_POSTGRES:-}" = 1 ] || { [ -n "${CI:-}" ] && [ "${VFR_SETUP_POSTGRES:-}" != 0 ]; }; then
  APT_PKGS+=(postgresql)
fi
# python module -> PyPI package; xgboost-cpu is XGBoost without the CUDA
# wheel's few hundred MB (tests only check that Python loads vfr's models);
# pandas for the look-ahead and Python module tests, wheel for pip install ./python.
# lightgbm is more than a peer: Debian has no LightGBM, and vfr dlopens the
# wheel's lib_lightgbm.so (CMake records its path; docs/lightgbm.md).
PY_PKGS=(numpy:numpy h5py:h5py xgboost:xgboost-cpu lightgbm:lightgbm pandas:pandas wheel:wheel)
# mlflow runs a real tracking server for test_mlflow (tests/test_mlflow.py;
# docs/mlflow.md). It is large (some 300 MB with its dependencies; 2.5 min to
# install on the 2-core development machine), so it comes only where asked:
# VFR_SETUP_MLFLOW=1, or in CI (CI set) unless VFR_SETUP_MLFLOW=0. Without it
# that one test is skipped. vfr itself never needs Python.
if [ "${VFR_SETUP_MLFLOW:-}" = 1 ] || { [ -n "${CI:-}" ] && [ "${VFR_SETUP_MLFLOW:-}" != 0 ]; }; then
  PY_PKGS+=(mlflow:mlflow)
fi
# the search benchmarks' peers (scripts/bench/tune.sh, pipeline.sh):
# scikit-learn, and Optuna with its XGBoost pruning callback (optuna-integration).
# Only where asked: VFR_SETUP_BENCH=1. vfr and its tests do not need them.
if [ "${VFR_SETUP_BENCH:-}" = 1 ]; then
  PY_PKGS+=(sklearn:scikit-learn optuna:optuna optuna_integration:optuna-integration)
fi

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if command -v "$PY" >/dev/null 2>&1; then
  pymiss=()
  for p in "${PY_PKGS[@]}"; do
    "$PY" -c "import ${p%%:*}" >/dev/null 2>&1 || pymiss+=("${p#*:}")
  done
  if [ ${#pymiss[@]} -gt 0 ]; then
    echo "setup: pip installing ${pymiss[*]}"
    "$PY" -m pip install -q --disable-pip-version-check "${pymiss[@]}" 2>&1 | grep -v "^WARNING: Running pip as" || true
  fi
fi
