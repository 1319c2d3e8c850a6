/* lstm_internal.h: what the LSTM's CPU twin (lstm.c) and its CUDA side
 * (src/kernels/lstm.cu) must compute bit for bit alike: the dropout hash.
 * Plain integer arithmetic, usable from C and from device code. */
#ifndef VFR_LSTM_INTERNAL_H
#define VFR_LSTM_INTERNAL_H

#include <stdint.h>

#ifdef __CUDACC__
#define VFR_LSTM_HD static __host__ __device__ __forceinline__
#else
#define VFR_LSTM_HD static inline
#endif

/* splitmix64's finaliser: a bijective 64-bit mix. */
VFR_LSTM_HD uint64_t vfri_lstm_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The key of layer k's dropout for a batch key. */
VFR_LSTM_HD uint64_t vfri_lstm_layer_key(uint64_t key, int32_t layer)
{
    return vfri_lstm_mix64(key + 0x9E3779B97F4A7C15ull * (uint64_t)(layer + 1));
}

/* 1 keeps element idx: its uniform in [0, 1) (24 bits, exact in float) >= p. */
VFR_LSTM_HD int vfri_lstm_keep(uint64_t layer_key, int64_t idx, float p)
{
    uint64_t h = vfri_lstm_mix64(layer_key + 0x9E3779B97F4A7C15ull * (uint64_t)idx);
    float u = (float)(h >> 40) * (1.0f / 16777216.0f);
    return u >= p;
}

#endif
