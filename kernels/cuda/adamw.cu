// AdamW update, elementwise (decoupled weight decay; callers pass 0 decay for norms/biases/embeddings).
#include <cmath>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/nexa_cuda.h"

namespace {

__global__ void adamw_kernel(float* params, const float* grads, float* m, float* v, size_t n, float lr, float beta1,
                             float beta2, float eps, float wd, float bc1, float bc2) {
  size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  float g = grads[i];
  float mi = beta1 * m[i] + (1.f - beta1) * g;
  float vi = beta2 * v[i] + (1.f - beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  float mhat = mi / bc1, vhat = vi / bc2;
  params[i] -= lr * (mhat / (sqrtf(vhat) + eps) + wd * params[i]);
}

}  // namespace

extern "C" int nexa_adamw_update(float* params, const float* grads, float* m, float* v, size_t n, float lr,
                                 float beta1, float beta2, float eps, float weight_decay, int t, void* stream) {
  float bc1 = 1.f - std::pow(beta1, static_cast<float>(t));
  float bc2 = 1.f - std::pow(beta2, static_cast<float>(t));
  adamw_kernel<<<nexa::blocks_for(n, 256), 256, 0, nexa::as_stream(stream)>>>(params, grads, m, v, n, lr, beta1, beta2,
                                                                            eps, weight_decay, bc1, bc2);
  return nexa::launch_status();
}
