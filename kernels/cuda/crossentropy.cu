// Fused softmax + cross-entropy + gradient: one 256-thread block per row (fixed-order block reductions).
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/nexa_cuda.h"

namespace {

constexpr int kThreads = 256;

// Block-wide reduction (sum or max) in a fixed tree order; every thread gets the result.
template <bool kMax>
__device__ float block_reduce(float x, float* shared) {
  x = kMax ? nexa::warp_max(x) : nexa::warp_sum(x);
  int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) shared[warp] = x;
  __syncthreads();
  float y = lane < kThreads / 32 ? shared[lane] : (kMax ? -INFINITY : 0.f);
  y = kMax ? nexa::warp_max(y) : nexa::warp_sum(y);
  __syncthreads();  // shared is reused by the next reduction
  return y;
}

__global__ void crossentropy_kernel(float* losses, float* dlogits, const float* logits, const int* targets, int v,
                                    float grad_scale) {
  __shared__ float shared[kThreads / 32];
  int row = blockIdx.x;
  const float* z = logits + static_cast<size_t>(row) * v;
  float* dz = dlogits ? dlogits + static_cast<size_t>(row) * v : nullptr;
  int y = targets[row];
  if (y < 0) {
    if (threadIdx.x == 0) losses[row] = 0.f;
    if (dz)
      for (int j = threadIdx.x; j < v; j += kThreads) dz[j] = 0.f;
    return;
  }
  float m = -INFINITY;
  for (int j = threadIdx.x; j < v; j += kThreads) m = fmaxf(m, z[j]);
  m = block_reduce<true>(m, shared);
  float s = 0.f;
  for (int j = threadIdx.x; j < v; j += kThreads) s += expf(z[j] - m);
  s = block_reduce<false>(s, shared);
  if (threadIdx.x == 0) losses[row] = logf(s) + m - z[y];
  if (dz) {
    float inv = 1.f / s;
    for (int j = threadIdx.x; j < v; j += kThreads) {
      float p = expf(z[j] - m) * inv;
      dz[j] = grad_scale * (p - (j == y ? 1.f : 0.f));
    }
  }
}

}  // namespace

extern "C" int nexa_crossentropy_forward_backward(float* losses, float* dlogits, const float* logits,
                                                  const int* targets, int n, int v, float grad_scale, void* stream) {
  crossentropy_kernel<<<n, kThreads, 0, nexa::as_stream(stream)>>>(losses, dlogits, logits, targets, v, grad_scale);
  return nexa::launch_status();
}
