# emu.cmake: the emulated kernel parity tests (docs/emulation.md). The CUDA
# kernels that need no cuDNN (colstats, linear, metrics, backtest) are compiled
# as C++ against tests/emu/cuda_emu.h, the host sources that test for
# VFR_HAVE_CUDA are compiled again with it, and the GPU parity tests, unchanged,
# are linked against them: they find one (emulated) device and compare. Built
# in any non-sanitized build with a C++ compiler, CUDA or not; label `emu`.
set(VFR_EMU_DIR ${CMAKE_CURRENT_SOURCE_DIR}/emu)
set(VFR_EMU_KERNELS colstats linear metrics backtest alpha158)
set(VFR_EMU_INCLUDES ${VFR_EMU_DIR}/include ${VFR_EMU_DIR} ${PROJECT_SOURCE_DIR}/src/kernels
    ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src/host ${CMAKE_BINARY_DIR}/generated
    ${CJSON_INCLUDE_DIR} ${CBLAS_INCLUDE_DIR} ${SQLITE3_INCLUDE_DIR})

# The host sources with a VFR_HAVE_CUDA branch, built as a CUDA build would.
add_library(vfr_emu_host OBJECT
  ${PROJECT_SOURCE_DIR}/src/host/device.c ${PROJECT_SOURCE_DIR}/src/host/colstats.c
  ${PROJECT_SOURCE_DIR}/src/host/linear.c ${PROJECT_SOURCE_DIR}/src/host/metrics.c
  ${PROJECT_SOURCE_DIR}/src/host/backtest.c ${PROJECT_SOURCE_DIR}/src/host/gpu.c
  ${PROJECT_SOURCE_DIR}/src/host/alpha158.c
  ${VFR_EMU_DIR}/cuda_emu.cpp)
target_include_directories(vfr_emu_host BEFORE PRIVATE ${VFR_EMU_INCLUDES})
target_compile_definitions(vfr_emu_host PRIVATE VFR_HAVE_CUDA=1 _POSIX_C_SOURCE=200809L)
target_link_libraries(vfr_emu_host PRIVATE hdf5::hdf5)
target_compile_options(vfr_emu_host PRIVATE ${VFR_WARN})
set_target_properties(vfr_emu_host PROPERTIES CXX_STANDARD 20 CXX_STANDARD_REQUIRED ON)

# vfr_emu_kernels(NAME [FILE f FROM a TO b] KERNELS k... [DEFINES d...]): an
# object library vfr_emu_k_NAME of the named kernels rewritten into emu/NAME/;
# FILE (a kernel or a header they include) gets the text FROM replaced by TO:
# a planted bug.
function(vfr_emu_kernels name)
  cmake_parse_arguments(E "" "FILE;FROM;TO" "KERNELS;DEFINES" ${ARGN})
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/emu/${name})
  set(outs)
  set(mut_out)
  if(E_FILE)
    get_filename_component(fname ${E_FILE} NAME)
    if(NOT fname MATCHES "\\.cu$")
      set(mut_out ${dir}/${fname})
      add_custom_command(OUTPUT ${mut_out}
        COMMAND ${CMAKE_COMMAND} -DIN=${PROJECT_SOURCE_DIR}/src/kernels/${fname} -DOUT=${mut_out}
                "-DMUTATE_FROM=${E_FROM}" "-DMUTATE_TO=${E_TO}" -P ${VFR_EMU_DIR}/rewrite.cmake
        DEPENDS ${PROJECT_SOURCE_DIR}/src/kernels/${fname} ${VFR_EMU_DIR}/rewrite.cmake VERBATIM)
    endif()
  endif()
  foreach(k ${E_KERNELS})
    set(in ${PROJECT_SOURCE_DIR}/src/kernels/${k}.cu)
    set(out ${dir}/${k}.cu.cpp)
    set(mut)
    if(E_FILE AND "${k}.cu" STREQUAL fname)
      set(mut "-DMUTATE_FROM=${E_FROM}" "-DMUTATE_TO=${E_TO}")
    endif()
    add_custom_command(OUTPUT ${out}
      COMMAND ${CMAKE_COMMAND} -DIN=${in} -DOUT=${out} ${mut} -P ${VFR_EMU_DIR}/rewrite.cmake
      DEPENDS ${in} ${VFR_EMU_DIR}/rewrite.cmake VERBATIM)
    list(APPEND outs ${out})
  endforeach()
  add_library(vfr_emu_k_${name} OBJECT ${outs} ${mut_out})
  # a planted header sits next to the rewritten kernels: "reduce.cuh" finds it first
  target_include_directories(vfr_emu_k_${name} BEFORE PRIVATE ${dir} ${VFR_EMU_INCLUDES})
  target_compile_definitions(vfr_emu_k_${name} PRIVATE VFR_HAVE_CUDA=1 _POSIX_C_SOURCE=200809L ${E_DEFINES})
  target_link_libraries(vfr_emu_k_${name} PRIVATE hdf5::hdf5)
  set_target_properties(vfr_emu_k_${name} PROPERTIES CXX_STANDARD 20 CXX_STANDARD_REQUIRED ON)
  target_compile_options(vfr_emu_k_${name} PRIVATE -include ${VFR_EMU_DIR}/cuda_emu.h ${VFR_WARN})
  set_source_files_properties(${outs} PROPERTIES LANGUAGE CXX)
endfunction()

foreach(k ${VFR_EMU_KERNELS})
  vfr_emu_kernels(base_${k} KERNELS ${k})
endforeach()

# emu_<test>[_<variant>]: the unchanged test source against the emulated
# kernels; a variant's kernels replace the base ones of the same name.
function(vfr_emu_test test)
  cmake_parse_arguments(E "" "VARIANT" "REPLACES" ${ARGN})
  set(exe emu_${test})
  set(objs $<TARGET_OBJECTS:vfr_emu_host>)
  if(E_VARIANT)
    set(exe emu_${test}_${E_VARIANT})
    list(APPEND objs $<TARGET_OBJECTS:vfr_emu_k_${E_VARIANT}>)
  endif()
  foreach(k ${VFR_EMU_KERNELS})
    if(NOT k IN_LIST E_REPLACES)
      list(APPEND objs $<TARGET_OBJECTS:vfr_emu_k_base_${k}>)
    endif()
  endforeach()
  add_executable(${exe} ${test}.c ${objs})
  target_include_directories(${exe} BEFORE PRIVATE ${VFR_EMU_DIR}/include)
  target_include_directories(${exe} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${CJSON_INCLUDE_DIR}
                             ${PROJECT_SOURCE_DIR}/src/host)
  target_compile_definitions(${exe} PRIVATE VFR_HAVE_CUDA=1 VFR_EMU=1)
  target_compile_options(${exe} PRIVATE ${VFR_WARN})
  target_link_libraries(${exe} PRIVATE vfr)
  set_target_properties(${exe} PROPERTIES LINKER_LANGUAGE CXX)
  set(VFR_EMU_LAST ${exe} PARENT_SCOPE)
endfunction()

function(vfr_emu_add_test name exe)
  add_test(NAME ${name} COMMAND ${exe} ${ARGN} WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES LABELS emu SKIP_RETURN_CODE 77
    ENVIRONMENT "VFR_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

# The GPU parity tests, unchanged, against the emulated kernels.
foreach(t test_colstats_parity test_linear_parity test_metrics_parity test_metrics_edges
        test_gpu_staged test_alpha158_parity)
  vfr_emu_test(${t})
  vfr_emu_add_test(emu_${t} emu_${t})
endforeach()

# The same with grids capped at 2 blocks (VFR_MAX_GRID): every kernel that
# grid_for sizes must stride over its items, as it must past 134 million of
# them on a device (the segment offsets once did not).
vfr_emu_kernels(small_grid KERNELS metrics backtest DEFINES VFR_MAX_GRID=2)
vfr_emu_test(test_metrics_parity VARIANT small_grid REPLACES metrics backtest)
vfr_emu_add_test(emu_test_metrics_parity_small_grid ${VFR_EMU_LAST})

# Planted bugs: each variant must make its parity test FAIL (exit 1 with a
# mismatch reported), which tests/emu/planted.sh checks. Each is a bug a GPU
# run would show: a missing barrier (a race between warps), an unstable sort
# where ties must keep symbol order, a dropped term, a short warp reduction,
# infinities counted as values.
set(planted)
macro(vfr_emu_planted name test kernel file from to)
  vfr_emu_kernels(${name} FILE ${file} FROM "${from}" TO "${to}" KERNELS ${kernel})
  vfr_emu_test(${test} VARIANT ${name} REPLACES ${kernel})
  list(APPEND planted ${VFR_EMU_LAST})
endmacro()
vfr_emu_planted(planted_race test_metrics_parity metrics reduce.cuh
  "__syncthreads()@SEMI@ /* sh may still be read by a previous call */" "")
vfr_emu_planted(planted_unstable test_metrics_parity backtest backtest.cu
  "StableSortPairs(d_temp" "SortPairs(d_temp")
vfr_emu_planted(planted_auc_ties test_metrics_parity metrics metrics.cu
  "(2 * below + in)" "(2 * below + 0 * in)")
vfr_emu_planted(planted_warp test_linear_parity linear linear.cu "off > 0" "off > 1")
vfr_emu_planted(planted_inf test_colstats_parity colstats colstats.cu "if (isfinite(v)) {" "if (!isnan(v)) {")
set(planted_files)
foreach(p ${planted})
  list(APPEND planted_files $<TARGET_FILE:${p}>)
endforeach()
vfr_emu_add_test(emu_planted_bugs sh ${VFR_EMU_DIR}/planted.sh ${planted_files})
