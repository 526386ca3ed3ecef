// GPU test: f32 tiled matmul forward/backward and the bf16 tensor-core forward vs a double-precision CPU loop.
// Tolerance: f32 paths 1e-4 abs + 1e-4 rel; bf16 path (inputs rounded to 8-bit mantissas) 2e-2 abs + 2e-2 rel.
#include "kernels/cuda/test_util.h"

using nexa_test::Device;

int main() {
  const int n = 70, c = 45, o = 33;  // ragged: exercises every tile edge
  auto inp = nexa_test::random_vec(n * c, 1), w = nexa_test::random_vec(o * c, 2), b = nexa_test::random_vec(o, 3);
  auto dout = nexa_test::random_vec(n * o, 4);
  std::vector<float> out(n * o), dinp(n * c, 0.5f), dw(o * c, 0.5f), db(o, 0.5f);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < o; ++j) {
      double s = b[j];
      for (int k = 0; k < c; ++k) s += static_cast<double>(inp[i * c + k]) * w[j * c + k];
      out[i * o + j] = static_cast<float>(s);
    }
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < c; ++k) {
      double s = 0;
      for (int j = 0; j < o; ++j) s += static_cast<double>(dout[i * o + j]) * w[j * c + k];
      dinp[i * c + k] += static_cast<float>(s);
    }
  for (int j = 0; j < o; ++j) {
    for (int k = 0; k < c; ++k) {
      double s = 0;
      for (int i = 0; i < n; ++i) s += static_cast<double>(dout[i * o + j]) * inp[i * c + k];
      dw[j * c + k] += static_cast<float>(s);
    }
    double s = 0;
    for (int i = 0; i < n; ++i) s += dout[i * o + j];
    db[j] += static_cast<float>(s);
  }
  Device<float> d_inp(inp), d_w(w), d_b(b), d_dout(dout), d_out(n * o);
  Device<float> d_dinp(std::vector<float>(n * c, 0.5f)), d_dw(std::vector<float>(o * c, 0.5f)),
      d_db(std::vector<float>(o, 0.5f));
  int fails = 0;
  nexa_test::check(nexa_matmul_forward(d_out.ptr, d_inp.ptr, d_w.ptr, d_b.ptr, n, c, o, nullptr), "matmul_forward");
  fails += nexa_test::expect_close("matmul_forward", d_out.host(), out, 1e-4f, 1e-4f);
  nexa_test::check(nexa_matmul_backward(d_dinp.ptr, d_dw.ptr, d_db.ptr, d_dout.ptr, d_inp.ptr, d_w.ptr, n, c, o,
                                        nullptr),
                   "matmul_backward");
  fails += nexa_test::expect_close("matmul_backward.dinp", d_dinp.host(), dinp, 1e-4f, 1e-4f);
  fails += nexa_test::expect_close("matmul_backward.dw", d_dw.host(), dw, 1e-4f, 1e-4f);
  fails += nexa_test::expect_close("matmul_backward.dbias", d_db.host(), db, 1e-4f, 1e-4f);
  // bf16 tensor cores
  Device<uint16_t> b_inp(static_cast<size_t>(n * c)), b_w(static_cast<size_t>(o * c));
  nexa_test::check(nexa_f32_to_bf16(b_inp.ptr, d_inp.ptr, n * c, nullptr), "f32_to_bf16");
  nexa_test::check(nexa_f32_to_bf16(b_w.ptr, d_w.ptr, o * c, nullptr), "f32_to_bf16");
  Device<float> d_out16(n * o);
  nexa_test::check(nexa_matmul_forward_bf16(d_out16.ptr, b_inp.ptr, b_w.ptr, d_b.ptr, n, c, o, nullptr),
                   "matmul_forward_bf16");
  fails += nexa_test::expect_close("matmul_forward_bf16", d_out16.host(), out, 2e-2f, 2e-2f);
  // determinism: a second run gives identical bits
  Device<float> d_out2(n * o);
  nexa_test::check(nexa_matmul_forward(d_out2.ptr, d_inp.ptr, d_w.ptr, d_b.ptr, n, c, o, nullptr), "matmul_forward");
  auto a1 = d_out.host(), a2 = d_out2.host();
  for (size_t i = 0; i < a1.size(); ++i)
    if (a1[i] != a2[i]) {
      std::fprintf(stderr, "FAIL matmul_forward not bitwise reproducible at %zu\n", i);
      return 1;
    }
  std::printf(fails ? "matmul_test: FAILED\n" : "matmul_test: PASS\n");
  return fails ? 1 : 0;
}
