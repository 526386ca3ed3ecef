// Token + position embeddings, forward and deterministic backward.
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/nexa_cuda.h"

namespace {

// One thread per (row, channel).
__global__ void embedding_forward_kernel(float* out, const int* tokens, const int* positions, const float* wte,
                                         const float* wpe, int n, int c) {
  size_t idx = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (idx >= static_cast<size_t>(n) * c) return;
  int i = static_cast<int>(idx / c), j = static_cast<int>(idx % c);
  out[idx] = wte[static_cast<size_t>(tokens[i]) * c + j] + wpe[static_cast<size_t>(positions[i]) * c + j];
}

// One thread per channel walks the rows in order: no atomics, fixed summation order, coalesced across channels.
__global__ void embedding_backward_kernel(float* dwte, float* dwpe, const float* dout, const int* tokens,
                                          const int* positions, int n, int c) {
  int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= c) return;
  for (int i = 0; i < n; ++i) {
    float d = dout[static_cast<size_t>(i) * c + j];
    dwte[static_cast<size_t>(tokens[i]) * c + j] += d;
    dwpe[static_cast<size_t>(positions[i]) * c + j] += d;
  }
}

}  // namespace

extern "C" int nexa_embedding_forward(float* out, const int* tokens, const int* positions, const float* wte,
                                      const float* wpe, int n, int c, void* stream) {
  size_t total = static_cast<size_t>(n) * c;
  embedding_forward_kernel<<<nexa::blocks_for(total, 256), 256, 0, nexa::as_stream(stream)>>>(out, tokens, positions,
                                                                                            wte, wpe, n, c);
  return nexa::launch_status();
}

extern "C" int nexa_embedding_backward(float* dwte, float* dwpe, const float* dout, const int* tokens,
                                       const int* positions, int n, int c, void* stream) {
  embedding_backward_kernel<<<nexa::blocks_for(c, 128), 128, 0, nexa::as_stream(stream)>>>(dwte, dwpe, dout, tokens,
                                                                                          positions, n, c);
  return nexa::launch_status();
}
