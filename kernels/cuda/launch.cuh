// Internal helpers shared by the .cu files (not part of the public API).
#ifndef NEXA_KERNELS_CUDA_LAUNCH_CUH_
#define NEXA_KERNELS_CUDA_LAUNCH_CUH_

#include <cuda_runtime.h>

namespace nexa {

inline cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }

// Status of the launch just issued (0 = success).
inline int launch_status() { return static_cast<int>(cudaGetLastError()); }

inline unsigned blocks_for(size_t n, unsigned threads) { return static_cast<unsigned>((n + threads - 1) / threads); }

// Sum over a warp; every lane gets the result. Fixed butterfly order: deterministic.
__device__ inline float warp_sum(float x) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

__device__ inline float warp_max(float x) {
  for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}

}  // namespace nexa

#endif  // NEXA_KERNELS_CUDA_LAUNCH_CUH_
