# The test list. Add a line per test.
vfr_test(test_status)
vfr_test(test_colstats)
vfr_test(test_colstats_parity GPU)
vfr_test(test_dataset)
vfr_test(test_synth)
vfr_script_test(test_cli python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_cli.py)
vfr_test(test_features)
vfr_test(test_pack)
vfr_test(test_pack_quality)
vfr_test(test_alpha158)
vfr_test(test_pack_ohlcv)
vfr_test(test_alpha158_parity GPU)
vfr_test(test_xsection)
vfr_script_test(test_ohlcv python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_ohlcv.py)
vfr_test(test_split)
vfr_test(test_job)
vfr_test(test_prepare)
vfr_test(test_linear)
vfr_test(test_linear_parity GPU)
vfr_test(test_xgboost)
vfr_test(test_lightgbm)
vfr_script_test(test_lightgbm_parity python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_lightgbm.py)
vfr_test(test_metrics)
vfr_test(test_backtest)
vfr_test(test_predictions)
vfr_test(test_lstm_grad)
vfr_test(test_lstm_golden)
vfr_test(test_metrics_cli)
vfr_script_test(test_train python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_train.py)
vfr_script_test(test_lookahead python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_lookahead.py)
# bounded memory (issue 16): same scores in core / streamed / external, and a
# peak-RSS bound on a 1M-row panel. `slow`: RSS means little under ASan.
vfr_script_test(test_memory python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_memory.py)
set_tests_properties(test_memory PROPERTIES LABELS "slow")
vfr_test(test_search)
vfr_script_test(test_tune python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_tune.py)
vfr_script_test(test_tune_tpe python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_tune_tpe.py)
vfr_test(test_lstm_model)
vfr_test(test_metrics_parity GPU)
vfr_test(test_lstm_parity GPU)
vfr_test(test_stats)
vfr_test(test_cpcv)
vfr_test(test_stats_bootstrap)
vfr_test(test_compare)
vfr_test(test_registry)
vfr_test(test_db)
vfr_script_test(test_registry_cli python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_registry.py)
vfr_script_test(test_evaluate_ab python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_evaluate_ab.py)
# The same suites against a PostgreSQL server the test starts in a temporary
# folder (tests/pgserver.py; scripts/setup.sh installs postgresql); exit 77,
# skipped, where PostgreSQL is not installed.
vfr_script_test(test_registry_pg python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_registry.py --backend postgresql)
set_tests_properties(test_registry_pg PROPERTIES LABELS "postgresql")
# Crash safety: SIGKILL inside registry transactions, through a hook that only
# a fault-injection build has (-DVFR_FAULT_INJECTION=ON, as scripts/test.sh
# builds); without it the test is not registered.
if(VFR_FAULT_INJECTION)
  vfr_script_test(test_registry_crash python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_registry.py --crash)
  vfr_script_test(test_registry_crash_pg python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_registry.py --crash --backend postgresql)
  set_tests_properties(test_registry_crash_pg PROPERTIES LABELS "postgresql")
endif()
vfr_script_test(test_report python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_report.py)
vfr_script_test(test_report_render python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_report.py --render)
vfr_test(test_schedule)
vfr_script_test(test_queue python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_queue.py)
vfr_script_test(test_queue_pg python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_queue.py --backend postgresql)
set_tests_properties(test_queue_pg PROPERTIES LABELS "postgresql;slow")
# A real single-node Slurm cluster on localhost, started and stopped by the test
# (needs root, slurm-wlm and munge: VFR_SETUP_SLURM=1 scripts/setup.sh); exits 77,
# skipped, where they are missing. `slow`: not rerun in the sanitizer pass.
vfr_script_test(test_slurm python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_slurm.py)
set_tests_properties(test_slurm PROPERTIES LABELS "slurm;slow" RESOURCE_LOCK slurm)
vfr_script_test(test_slurm_pg python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_slurm.py --backend postgresql)
set_tests_properties(test_slurm_pg PROPERTIES LABELS "slurm;postgresql;slow" RESOURCE_LOCK slurm)
# The installed library: cmake --install into a temporary prefix, exports,
# soname, no text relocations, examples/ built with pkg-config and run.
vfr_script_test(test_install bash ${CMAKE_CURRENT_SOURCE_DIR}/test_install.sh ${PROJECT_BINARY_DIR})
# The Python module (python/vfr, ctypes over libvfr.so): pip-installed into a
# temporary folder and checked against the CLI.
vfr_script_test(test_python python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_python.py $<TARGET_FILE:vfr_shared>)
# MLflow export against a real `mlflow server` (SQLite backend) on 127.0.0.1,
# started once for the file; exits 77, skipped, without the mlflow package
# (VFR_SETUP_MLFLOW=1 scripts/setup.sh, or CI). `slow`: not rerun under ASan.
vfr_script_test(test_mlflow python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_mlflow.py)
set_tests_properties(test_mlflow PROPERTIES LABELS "mlflow;slow")
vfr_script_test(test_hostile python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_hostile.py)
vfr_script_test(test_fulldisk python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_fulldisk.py)
vfr_test(test_runfolder)
vfr_script_test(test_reliability python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_reliability.py)
# Fuzz targets (tests/fuzz/README.md). Every pass replays the seed corpus
# through each target without libFuzzer; with -DVFR_FUZZ=ON (clang) the
# libFuzzer binaries fuzz_<target> are built too (scripts/fuzz.sh runs them).
foreach(t csv job h5)
  add_executable(fuzz_replay_${t} fuzz/fuzz_${t}.c fuzz/replay_main.c)
  target_link_libraries(fuzz_replay_${t} PRIVATE vfr)
  target_compile_options(fuzz_replay_${t} PRIVATE ${VFR_WARN})
  target_include_directories(fuzz_replay_${t} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz ${PROJECT_SOURCE_DIR}/src/host)
  if(VFR_HAVE_CUDA)
    set_target_properties(fuzz_replay_${t} PROPERTIES LINKER_LANGUAGE CUDA)
  endif()
  add_test(NAME fuzz_replay_${t} COMMAND fuzz_replay_${t} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${t})
  if(VFR_FUZZ)
    add_executable(fuzz_${t} fuzz/fuzz_${t}.c)
    target_link_libraries(fuzz_${t} PRIVATE vfr)
    target_include_directories(fuzz_${t} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz ${PROJECT_SOURCE_DIR}/src/host)
    target_link_options(fuzz_${t} PRIVATE -fsanitize=fuzzer)
  endif()
endforeach()
# CPU checks always; CUDA ones (constant segments, forced chunks) with a device.
vfr_test(test_metrics_edges GPU)
vfr_test(test_gpu_staged GPU)
# Shared XGBoost matrices keyed by max_bin under concurrent trials.
vfr_test(test_xgb_shared)
# Emulated kernel parity (the GPU parity tests against the kernels compiled as
# C++ for the CPU) and the planted-bug check: docs/emulation.md.
if(CMAKE_CXX_COMPILER AND NOT VFR_SANITIZE)
  include(${CMAKE_CURRENT_SOURCE_DIR}/emu/emu.cmake)
endif()
