/* cuda_runtime.h: forwards to the CUDA emulation (tests/emu/cuda_emu.h). */
#include "../cuda_emu.h"
