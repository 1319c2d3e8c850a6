/* reduce.cuh: block-wide reductions shared by the metrics and backtest
 * kernels. Device code only. */
#ifndef VFR_REDUCE_CUH
#define VFR_REDUCE_CUH

/* Sum over the block, returned to every thread. All threads must call it;
 * sh holds blockDim.x / 32 values of shared memory. */
template <typename V> __device__ V vfri_block_sum(V v, V *sh)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_down_sync(0xffffffffu, v, o);
    const int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
    __syncthreads(); /* sh may still be read by a previous call */
    if (lane == 0)
        sh[w] = v;
    __syncthreads();
    V r = 0;
    for (int i = 0; i < (int)(blockDim.x >> 5); i++)
        r += sh[i];
    return r;
}

#endif
