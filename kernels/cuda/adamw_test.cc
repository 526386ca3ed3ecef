// GPU test: three AdamW steps vs the same update on the CPU (1e-6 abs + 1e-5 rel).
#include "kernels/cuda/test_util.h"

using nexa_test::Device;

int main() {
  const size_t n = 5000;
  const float lr = 1e-2f, b1 = 0.9f, b2 = 0.95f, eps = 1e-8f, wd = 0.1f;
  auto p = nexa_test::random_vec(n, 1), g = nexa_test::random_vec(n, 2);
  std::vector<float> m(n, 0.f), v(n, 0.f);
  Device<float> d_p(p), d_g(g), d_m(n), d_v(n);
  for (int t = 1; t <= 3; ++t) {
    float bc1 = 1.f - std::pow(b1, static_cast<float>(t)), bc2 = 1.f - std::pow(b2, static_cast<float>(t));
    for (size_t i = 0; i < n; ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      p[i] -= lr * ((m[i] / bc1) / (std::sqrt(v[i] / bc2) + eps) + wd * p[i]);
    }
    nexa_test::check(nexa_adamw_update(d_p.ptr, d_g.ptr, d_m.ptr, d_v.ptr, n, lr, b1, b2, eps, wd, t, nullptr),
                     "adamw_update");
  }
  int fails = nexa_test::expect_close("adamw.params", d_p.host(), p, 1e-6f, 1e-5f);
  fails += nexa_test::expect_close("adamw.m", d_m.host(), m, 1e-7f, 1e-5f);
  fails += nexa_test::expect_close("adamw.v", d_v.host(), v, 1e-8f, 1e-5f);
  std::printf(fails ? "adamw_test: FAILED\n" : "adamw_test: PASS\n");
  return fails ? 1 : 0;
}
