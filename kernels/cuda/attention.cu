// Causal attention with document masking: one warp per (row b, head h, query i).
// Forward: lanes split the keys j for scores, then split the head channels for the weighted sum of values.
// Backward, deterministic without atomics: pass 1 (per query i) computes ds_ij into scratch and dq_i;
// pass 2 (per key j) sums dk_j and dv_j over queries i >= j in ascending order.
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/nexa_cuda.h"

namespace {

struct Shape {
  int b, t, c, h, hs;
  __device__ const float* q(const float* qkv, int bb, int i, int hh) const {
    return qkv + (static_cast<size_t>(bb) * t + i) * 3 * c + hh * hs;
  }
  __device__ const float* k(const float* qkv, int bb, int j, int hh) const { return q(qkv, bb, j, hh) + c; }
  __device__ const float* v(const float* qkv, int bb, int j, int hh) const { return q(qkv, bb, j, hh) + 2 * c; }
  __device__ size_t att_row(int bb, int hh, int i) const { return ((static_cast<size_t>(bb) * h + hh) * t + i) * t; }
};

__device__ float dot(const float* a, const float* b, int n) {
  float s = 0.f;
  for (int d = 0; d < n; ++d) s = fmaf(a[d], b[d], s);
  return s;
}

// grid (T, B*H), block 32
__global__ void attention_forward_kernel(float* out, float* att, const float* qkv, const int* doc, Shape s) {
  int i = blockIdx.x, bb = blockIdx.y / s.h, hh = blockIdx.y % s.h, lane = threadIdx.x;
  const int* d = doc + static_cast<size_t>(bb) * s.t;
  float* row = att + s.att_row(bb, hh, i);
  const float* q = s.q(qkv, bb, i, hh);
  float scale = rsqrtf(static_cast<float>(s.hs));
  float m = -INFINITY;
  for (int j = lane; j < s.t; j += 32) {
    float sc = -INFINITY;
    if (j <= i && d[j] == d[i]) sc = dot(q, s.k(qkv, bb, j, hh), s.hs) * scale;
    row[j] = sc;
    m = fmaxf(m, sc);
  }
  m = nexa::warp_max(m);  // finite: j = i is always allowed
  float sum = 0.f;
  for (int j = lane; j < s.t; j += 32) {
    float p = row[j] == -INFINITY ? 0.f : expf(row[j] - m);
    row[j] = p;
    sum += p;
  }
  float inv = 1.f / nexa::warp_sum(sum);
  for (int j = lane; j < s.t; j += 32) row[j] *= inv;
  __syncwarp();
  float* y = out + (static_cast<size_t>(bb) * s.t + i) * s.c + hh * s.hs;
  for (int dd = lane; dd < s.hs; dd += 32) {
    float acc = 0.f;
    for (int j = 0; j <= i; ++j) acc = fmaf(row[j], s.v(qkv, bb, j, hh)[dd], acc);
    y[dd] = acc;
  }
}

// pass 1, grid (T, B*H), block 32: ds_ij -> scratch, dq_i += scale * sum_j ds_ij k_j
__global__ void attention_backward_query_kernel(float* dqkv, float* ds, const float* dout, const float* qkv,
                                                const float* att, Shape s) {
  int i = blockIdx.x, bb = blockIdx.y / s.h, hh = blockIdx.y % s.h, lane = threadIdx.x;
  const float* p = att + s.att_row(bb, hh, i);
  float* dsr = ds + s.att_row(bb, hh, i);
  const float* dy = dout + (static_cast<size_t>(bb) * s.t + i) * s.c + hh * s.hs;
  float pdp = 0.f;
  for (int j = lane; j < s.t; j += 32) {
    float dp = (j <= i && p[j] != 0.f) ? dot(dy, s.v(qkv, bb, j, hh), s.hs) : 0.f;
    dsr[j] = dp;
    pdp += p[j] * dp;
  }
  pdp = nexa::warp_sum(pdp);
  float scale = rsqrtf(static_cast<float>(s.hs));
  for (int j = lane; j < s.t; j += 32) dsr[j] = p[j] * (dsr[j] - pdp) * scale;
  __syncwarp();
  float* dq = dqkv + (static_cast<size_t>(bb) * s.t + i) * 3 * s.c + hh * s.hs;
  for (int dd = lane; dd < s.hs; dd += 32) {
    float acc = 0.f;
    for (int j = 0; j <= i; ++j) acc = fmaf(dsr[j], s.k(qkv, bb, j, hh)[dd], acc);
    dq[dd] += acc;
  }
}

// pass 2, grid (T, B*H), block 32: for key j, dk_j += sum_i ds_ij q_i, dv_j += sum_i p_ij dy_i (i ascending)
__global__ void attention_backward_key_kernel(float* dqkv, const float* ds, const float* dout, const float* qkv,
                                              const float* att, Shape s) {
  int j = blockIdx.x, bb = blockIdx.y / s.h, hh = blockIdx.y % s.h, lane = threadIdx.x;
  float* dk = dqkv + (static_cast<size_t>(bb) * s.t + j) * 3 * s.c + s.c + hh * s.hs;
  float* dv = dk + s.c;
  for (int dd = lane; dd < s.hs; dd += 32) {
    float ak = 0.f, av = 0.f;
    for (int i = j; i < s.t; ++i) {
      size_t r = s.att_row(bb, hh, i) + j;
      ak = fmaf(ds[r], s.q(qkv, bb, i, hh)[dd], ak);
      av = fmaf(att[r], dout[(static_cast<size_t>(bb) * s.t + i) * s.c + hh * s.hs + dd], av);
    }
    dk[dd] += ak;
    dv[dd] += av;
  }
}

}  // namespace

extern "C" int nexa_attention_forward(float* out, float* att, const float* qkv, const int* doc, int b, int t, int c,
                                      int h, void* stream) {
  Shape s{b, t, c, h, c / h};
  attention_forward_kernel<<<dim3(t, b * h), 32, 0, nexa::as_stream(stream)>>>(out, att, qkv, doc, s);
  return nexa::launch_status();
}

extern "C" int nexa_attention_backward(float* dqkv, float* scratch, const float* dout, const float* qkv,
                                       const float* att, int b, int t, int c, int h, void* stream) {
  Shape s{b, t, c, h, c / h};
  cudaStream_t st = nexa::as_stream(stream);
  attention_backward_query_kernel<<<dim3(t, b * h), 32, 0, st>>>(dqkv, scratch, dout, qkv, att, s);
  attention_backward_key_kernel<<<dim3(t, b * h), 32, 0, st>>>(dqkv, scratch, dout, qkv, att, s);
  return nexa::launch_status();
}
