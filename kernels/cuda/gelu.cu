// Elementwise kernels: GELU (tanh approximation) forward/backward, residual add, in-place add.
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/nexa_cuda.h"

namespace {

constexpr float kSqrt2OverPi = 0.7978845608f;

__global__ void gelu_forward_kernel(float* out, const float* inp, size_t n) {
  size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  float x = inp[i];
  out[i] = 0.5f * x * (1.f + tanhf(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}

__global__ void gelu_backward_kernel(float* dinp, const float* inp, const float* dout, size_t n) {
  size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  float x = inp[i];
  float t = tanhf(kSqrt2OverPi * (x + 0.044715f * x * x * x));
  float local = 0.5f * (1.f + t) + 0.5f * x * (1.f - t * t) * kSqrt2OverPi * (1.f + 3.f * 0.044715f * x * x);
  dinp[i] += local * dout[i];
}

__global__ void residual_kernel(float* out, const float* a, const float* b, size_t n) {
  size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = a[i] + b[i];
}

__global__ void add_inplace_kernel(float* acc, const float* x, size_t n) {
  size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i < n) acc[i] += x[i];
}

}  // namespace

extern "C" int nexa_gelu_forward(float* out, const float* inp, size_t n, void* stream) {
  gelu_forward_kernel<<<nexa::blocks_for(n, 256), 256, 0, nexa::as_stream(stream)>>>(out, inp, n);
  return nexa::launch_status();
}

extern "C" int nexa_gelu_backward(float* dinp, const float* inp, const float* dout, size_t n, void* stream) {
  gelu_backward_kernel<<<nexa::blocks_for(n, 256), 256, 0, nexa::as_stream(stream)>>>(dinp, inp, dout, n);
  return nexa::launch_status();
}

extern "C" int nexa_residual_forward(float* out, const float* a, const float* b, size_t n, void* stream) {
  residual_kernel<<<nexa::blocks_for(n, 256), 256, 0, nexa::as_stream(stream)>>>(out, a, b, n);
  return nexa::launch_status();
}

extern "C" int nexa_add_inplace(float* acc, const float* x, size_t n, void* stream) {
  add_inplace_kernel<<<nexa::blocks_for(n, 256), 256, 0, nexa::as_stream(stream)>>>(acc, x, n);
  return nexa::launch_status();
}
