# rewrite.cmake: turns a .cu file into C++ for the CUDA emulation.
#   cmake -DIN=src/kernels/x.cu -DOUT=build/x.cu.cpp [-DMUTATE_FROM=.. -DMUTATE_TO=..] -P rewrite.cmake
# Each `kernel<<<grid, block>>>(args)` becomes `::vfr_emu::launch(kernel, grid, block)(args)`
# on the same line, and a #line directive keeps compiler messages on the original file.
# MUTATE_FROM/MUTATE_TO plant a bug (tests/emu/planted.sh): the text must occur in
# the source, else this fails, so that a refactored kernel cannot make the
# planted-bug test pass by planting nothing. CMake splits arguments at ';': write
# it as @SEMI@ in them.
file(READ "${IN}" src)
string(REGEX REPLACE "([A-Za-z_][A-Za-z0-9_]*)[ \t]*<<<([^>]*)>>>" "::vfr_emu::launch(\\1, \\2)" src "${src}")
if(src MATCHES "<<<")
  message(FATAL_ERROR "${IN}: a kernel launch the emulation rewrite does not understand")
endif()
if(DEFINED MUTATE_FROM)
  string(REPLACE "@SEMI@" ";" MUTATE_FROM "${MUTATE_FROM}")
  string(REPLACE "@SEMI@" ";" MUTATE_TO "${MUTATE_TO}")
  string(FIND "${src}" "${MUTATE_FROM}" at)
  if(at LESS 0)
    message(FATAL_ERROR "${IN}: planted bug: '${MUTATE_FROM}' is not in the source any more")
  endif()
  set(before "${src}")
  string(REPLACE "${MUTATE_FROM}" "${MUTATE_TO}" src "${src}")
  if(src STREQUAL before)
    message(FATAL_ERROR "${IN}: planted bug: replacing '${MUTATE_FROM}' changed nothing")
  endif()
endif()
file(WRITE "${OUT}.tmp" "#line 1 \"${IN}\"\n${src}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
