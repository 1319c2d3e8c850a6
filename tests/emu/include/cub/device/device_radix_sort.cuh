/* cub/device/device_radix_sort.cuh: forwards to the CUDA emulation (tests/emu/cuda_emu.h). */
#include "../../../cuda_emu.h"
