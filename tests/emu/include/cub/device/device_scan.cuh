/* cub/device/device_scan.cuh: forwards to the CUDA emulation (tests/emu/cuda_emu.h). */
#include "../../../cuda_emu.h"
