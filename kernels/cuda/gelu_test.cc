// GPU test: GELU forward/backward, residual add and in-place add vs CPU loops (1e-6 abs + 1e-5 rel).
#include "kernels/cuda/test_util.h"

using nexa_test::Device;

int main() {
  const size_t n = 10007;
  auto x = nexa_test::random_vec(n, 1, 4.f), dout = nexa_test::random_vec(n, 2), y2 = nexa_test::random_vec(n, 3);
  std::vector<float> out(n), dinp(n), sum(n);
  const double k = std::sqrt(2.0 / 3.141592653589793);
  for (size_t i = 0; i < n; ++i) {
    double v = x[i], t = std::tanh(k * (v + 0.044715 * v * v * v));
    out[i] = static_cast<float>(0.5 * v * (1 + t));
    double local = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * 0.044715 * v * v);
    dinp[i] = static_cast<float>(local * dout[i]);
    sum[i] = x[i] + y2[i];
  }
  Device<float> d_x(x), d_dout(dout), d_y2(y2), d_out(n), d_dinp(n), d_sum(n);
  int fails = 0;
  nexa_test::check(nexa_gelu_forward(d_out.ptr, d_x.ptr, n, nullptr), "gelu_forward");
  fails += nexa_test::expect_close("gelu_forward", d_out.host(), out, 1e-6f, 1e-5f);
  nexa_test::check(nexa_gelu_backward(d_dinp.ptr, d_x.ptr, d_dout.ptr, n, nullptr), "gelu_backward");
  fails += nexa_test::expect_close("gelu_backward", d_dinp.host(), dinp, 1e-6f, 1e-5f);
  nexa_test::check(nexa_residual_forward(d_sum.ptr, d_x.ptr, d_y2.ptr, n, nullptr), "residual_forward");
  fails += nexa_test::expect_close("residual_forward", d_sum.host(), sum, 0.f, 0.f);
  nexa_test::check(nexa_add_inplace(d_x.ptr, d_y2.ptr, n, nullptr), "add_inplace");
  fails += nexa_test::expect_close("add_inplace", d_x.host(), sum, 0.f, 0.f);
  std::printf(fails ? "gelu_test: FAILED\n" : "gelu_test: PASS\n");
  return fails ? 1 : 0;
}
