/* hostdevice.h: VFR_HOST_DEVICE marks a function written once for both
 * devices (XGBoost's XGBOOST_DEVICE pattern): `static inline VFR_HOST_DEVICE`
 * in a header that the CPU twin (C) and the kernel (CUDA C++) both include,
 * so the two cannot drift. Such a function uses only what C and device code
 * share: arithmetic, <math.h> functions, no allocation, no library calls. */
#ifndef VFR_HOSTDEVICE_H
#define VFR_HOSTDEVICE_H

#ifdef __CUDACC__
#define VFR_HOST_DEVICE __host__ __device__
#else
#define VFR_HOST_DEVICE
#endif

#endif
