// LayerNorm forward/backward: one warp per row; weight/bias grads by one thread per channel (fixed order).
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/nexa_cuda.h"

namespace {

constexpr float kEps = 1e-5f;

__global__ void layernorm_forward_kernel(float* out, float* mean, float* rstd, const float* inp, const float* w,
                                         const float* b, int n, int c) {
  int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  int lane = threadIdx.x % 32;
  if (row >= n) return;
  const float* x = inp + static_cast<size_t>(row) * c;
  float s = 0.f;
  for (int j = lane; j < c; j += 32) s += x[j];
  float m = nexa::warp_sum(s) / c;
  float v = 0.f;
  for (int j = lane; j < c; j += 32) v += (x[j] - m) * (x[j] - m);
  float r = rsqrtf(nexa::warp_sum(v) / c + kEps);
  float* y = out + static_cast<size_t>(row) * c;
  for (int j = lane; j < c; j += 32) y[j] = (x[j] - m) * r * w[j] + b[j];
  if (lane == 0) {
    mean[row] = m;
    rstd[row] = r;
  }
}

__global__ void layernorm_backward_input_kernel(float* dinp, const float* dout, const float* inp, const float* w,
                                                const float* mean, const float* rstd, int n, int c) {
  int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  int lane = threadIdx.x % 32;
  if (row >= n) return;
  const float* x = inp + static_cast<size_t>(row) * c;
  const float* dy = dout + static_cast<size_t>(row) * c;
  float m = mean[row], r = rstd[row];
  float a = 0.f, bsum = 0.f;
  for (int j = lane; j < c; j += 32) {
    float dnorm = dy[j] * w[j];
    a += dnorm;
    bsum += dnorm * (x[j] - m) * r;
  }
  a = nexa::warp_sum(a) / c;
  bsum = nexa::warp_sum(bsum) / c;
  float* dx = dinp + static_cast<size_t>(row) * c;
  for (int j = lane; j < c; j += 32) {
    float xhat = (x[j] - m) * r;
    dx[j] += r * (dy[j] * w[j] - a - xhat * bsum);
  }
}

__global__ void layernorm_backward_params_kernel(float* dw, float* db, const float* dout, const float* inp,
                                                 const float* mean, const float* rstd, int n, int c) {
  int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= c) return;
  float sw = 0.f, sb = 0.f;
  for (int i = 0; i < n; ++i) {
    float d = dout[static_cast<size_t>(i) * c + j];
    sw += d * (inp[static_cast<size_t>(i) * c + j] - mean[i]) * rstd[i];
    sb += d;
  }
  dw[j] += sw;
  db[j] += sb;
}

}  // namespace

extern "C" int nexa_layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* w,
                                      const float* b, int n, int c, void* stream) {
  layernorm_forward_kernel<<<nexa::blocks_for(n, 8), 256, 0, nexa::as_stream(stream)>>>(out, mean, rstd, inp, w, b,
                                                                                       n, c);
  return nexa::launch_status();
}

extern "C" int nexa_layernorm_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp,
                                       const float* w, const float* mean, const float* rstd, int n, int c,
                                       void* stream) {
  cudaStream_t s = nexa::as_stream(stream);
  layernorm_backward_input_kernel<<<nexa::blocks_for(n, 8), 256, 0, s>>>(dinp, dout, inp, w, mean, rstd, n, c);
  layernorm_backward_params_kernel<<<nexa::blocks_for(c, 128), 128, 0, s>>>(dw, db, dout, inp, mean, rstd, n, c);
  return nexa::launch_status();
}
