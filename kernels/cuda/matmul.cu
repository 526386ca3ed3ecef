// Dense layers on the GPU.
//  * f32 SIMT path: one templated tiled GEMM, C[M,N] = beta*C + op(A).op(B) (+ bias), 64x64 block tile,
//    BK = 8, 256 threads each owning a 4x4 register tile. Serves forward and both backward products.
//  * bf16 tensor-core path (forward): WMMA 16x16x16 bf16 fragments, f32 accumulate, 64x64 block tile,
//    4 warps each computing 32x32.
// Every output element is summed over k in ascending order by one thread: deterministic.
#include <cuda_bf16.h>
#include <mma.h>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/nexa_cuda.h"

namespace {

constexpr int kBM = 64, kBN = 64, kBK = 8;

// A is [M,K] row-major (or, when kTransA, stored [K,M]); B is [K,N] (or, when kTransB, stored [N,K]).
template <bool kTransA, bool kTransB>
__global__ void __launch_bounds__(256) sgemm_kernel(float* C, const float* A, const float* B, const float* bias,
                                                    int M, int N, int K, float beta) {
  __shared__ float As[kBK][kBM];
  __shared__ float Bs[kBK][kBN];
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int m0 = blockIdx.y * kBM, n0 = blockIdx.x * kBN;
  float acc[4][4] = {};
  for (int k0 = 0; k0 < K; k0 += kBK) {
    for (int e = threadIdx.x; e < kBM * kBK; e += 256) {
      // consecutive threads walk the contiguous axis of the stored matrix
      int mm = kTransA ? e % kBM : e / kBK, kk = kTransA ? e / kBM : e % kBK;
      int gm = m0 + mm, gk = k0 + kk;
      float a = 0.f;
      if (gm < M && gk < K) a = kTransA ? A[static_cast<size_t>(gk) * M + gm] : A[static_cast<size_t>(gm) * K + gk];
      As[kk][mm] = a;
    }
    for (int e = threadIdx.x; e < kBN * kBK; e += 256) {
      int nn = kTransB ? e / kBK : e % kBN, kk = kTransB ? e % kBK : e / kBN;
      int gn = n0 + nn, gk = k0 + kk;
      float b = 0.f;
      if (gn < N && gk < K) b = kTransB ? B[static_cast<size_t>(gn) * K + gk] : B[static_cast<size_t>(gk) * N + gn];
      Bs[kk][nn] = b;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kBK; ++kk) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = As[kk][ty * 4 + i];
#pragma unroll
      for (int j = 0; j < 4; ++j) b[j] = Bs[kk][tx * 4 + j];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
  for (int i = 0; i < 4; ++i) {
    int gm = m0 + ty * 4 + i;
    if (gm >= M) continue;
    for (int j = 0; j < 4; ++j) {
      int gn = n0 + tx * 4 + j;
      if (gn >= N) continue;
      size_t idx = static_cast<size_t>(gm) * N + gn;
      float r = acc[i][j] + (bias ? bias[gn] : 0.f);
      C[idx] = beta == 0.f ? r : beta * C[idx] + r;
    }
  }
}

template <bool kTransA, bool kTransB>
void sgemm(cudaStream_t s, float* C, const float* A, const float* B, const float* bias, int M, int N, int K,
           float beta) {
  dim3 grid((N + kBN - 1) / kBN, (M + kBM - 1) / kBM);
  sgemm_kernel<kTransA, kTransB><<<grid, 256, 0, s>>>(C, A, B, bias, M, N, K, beta);
}

// dbias[o] += sum_i dout[i, o], one thread per column, rows in order.
__global__ void bias_backward_kernel(float* dbias, const float* dout, int n, int o) {
  int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= o) return;
  float s = 0.f;
  for (int i = 0; i < n; ++i) s += dout[static_cast<size_t>(i) * o + j];
  dbias[j] += s;
}

// ---- bf16 tensor cores ----
namespace wmma = nvcuda::wmma;
constexpr int kTK = 32;       // k per shared-memory stage
constexpr int kLd = kTK + 8;  // padded leading dimension (multiple of 8 bf16 = 16 bytes)

// out[M,N] = A[M,K] . W[N,K]^T + bias: A row-major, W rows are B's columns (col-major B).
__global__ void __launch_bounds__(128) bf16_gemm_kernel(float* out, const __nv_bfloat16* A, const __nv_bfloat16* W,
                                                        const float* bias, int M, int N, int K) {
  __shared__ __align__(32) __nv_bfloat16 As[64 * kLd];
  __shared__ __align__(32) __nv_bfloat16 Ws[64 * kLd];
  __shared__ __align__(32) float Cs[64 * 64];
  const int warp = threadIdx.x / 32;
  const int wm = (warp / 2) * 32, wn = (warp % 2) * 32;
  const int m0 = blockIdx.y * 64, n0 = blockIdx.x * 64;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.f);
  const __nv_bfloat16 zero = __float2bfloat16(0.f);
  for (int k0 = 0; k0 < K; k0 += kTK) {
    for (int e = threadIdx.x; e < 64 * kTK; e += 128) {
      int r = e / kTK, kk = e % kTK, gk = k0 + kk;
      int gm = m0 + r, gn = n0 + r;
      As[r * kLd + kk] = (gm < M && gk < K) ? A[static_cast<size_t>(gm) * K + gk] : zero;
      Ws[r * kLd + kk] = (gn < N && gk < K) ? W[static_cast<size_t>(gn) * K + gk] : zero;
    }
    __syncthreads();
#pragma unroll
    for (int ks = 0; ks < kTK; ks += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a[2];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> b[2];
      for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(a[i], As + (wm + 16 * i) * kLd + ks, kLd);
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(b[j], Ws + (wn + 16 * j) * kLd + ks, kLd);
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      wmma::store_matrix_sync(Cs + (wm + 16 * i) * 64 + wn + 16 * j, acc[i][j], 64, wmma::mem_row_major);
  __syncthreads();
  for (int e = threadIdx.x; e < 64 * 64; e += 128) {
    int gm = m0 + e / 64, gn = n0 + e % 64;
    if (gm < M && gn < N) out[static_cast<size_t>(gm) * N + gn] = Cs[e] + (bias ? bias[gn] : 0.f);
  }
}

__global__ void f32_to_bf16_kernel(__nv_bfloat16* out, const float* in, size_t n) {
  size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = __float2bfloat16_rn(in[i]);
}

}  // namespace

extern "C" int nexa_matmul_forward(float* out, const float* inp, const float* w, const float* bias, int n, int c,
                                   int o, void* stream) {
  sgemm<false, true>(nexa::as_stream(stream), out, inp, w, bias, n, o, c, 0.f);
  return nexa::launch_status();
}

extern "C" int nexa_matmul_backward(float* dinp, float* dw, float* dbias, const float* dout, const float* inp,
                                    const float* w, int n, int c, int o, void* stream) {
  cudaStream_t s = nexa::as_stream(stream);
  sgemm<false, false>(s, dinp, dout, w, nullptr, n, c, o, 1.f);  // [N,O].[O,C]
  sgemm<true, false>(s, dw, dout, inp, nullptr, o, c, n, 1.f);   // [N,O]^T.[N,C]
  if (dbias) bias_backward_kernel<<<nexa::blocks_for(o, 128), 128, 0, s>>>(dbias, dout, n, o);
  return nexa::launch_status();
}

extern "C" int nexa_matmul_forward_bf16(float* out, const uint16_t* inp, const uint16_t* w, const float* bias, int n,
                                        int c, int o, void* stream) {
  dim3 grid((o + 63) / 64, (n + 63) / 64);
  bf16_gemm_kernel<<<grid, 128, 0, nexa::as_stream(stream)>>>(out, reinterpret_cast<const __nv_bfloat16*>(inp),
                                                              reinterpret_cast<const __nv_bfloat16*>(w), bias, n, o, c);
  return nexa::launch_status();
}

extern "C" int nexa_f32_to_bf16(uint16_t* out, const float* inp, size_t n, void* stream) {
  f32_to_bf16_kernel<<<nexa::blocks_for(n, 256), 256, 0, nexa::as_stream(stream)>>>(
      reinterpret_cast<__nv_bfloat16*>(out), inp, n);
  return nexa::launch_status();
}
