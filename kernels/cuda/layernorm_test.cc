// GPU test: LayerNorm forward/backward vs a double-precision CPU loop (1e-4 abs + 1e-4 rel).
#include "kernels/cuda/test_util.h"

using nexa_test::Device;

int main() {
  const int n = 45, c = 100;
  auto inp = nexa_test::random_vec(n * c, 1, 2.f), w = nexa_test::random_vec(c, 2), b = nexa_test::random_vec(c, 3);
  auto dout = nexa_test::random_vec(n * c, 4);
  std::vector<float> out(n * c), mean(n), rstd(n), dinp(n * c, 0.f), dw(c, 0.f), db(c, 0.f);
  for (int i = 0; i < n; ++i) {
    const float* x = &inp[i * c];
    double m = 0, var = 0;
    for (int j = 0; j < c; ++j) m += x[j];
    m /= c;
    for (int j = 0; j < c; ++j) var += (x[j] - m) * (x[j] - m);
    double r = 1.0 / std::sqrt(var / c + 1e-5);
    mean[i] = static_cast<float>(m);
    rstd[i] = static_cast<float>(r);
    double a = 0, bs = 0;
    for (int j = 0; j < c; ++j) {
      double xhat = (x[j] - m) * r;
      out[i * c + j] = static_cast<float>(xhat * w[j] + b[j]);
      a += dout[i * c + j] * w[j];
      bs += dout[i * c + j] * w[j] * xhat;
      dw[j] += static_cast<float>(dout[i * c + j] * xhat);
      db[j] += dout[i * c + j];
    }
    a /= c;
    bs /= c;
    for (int j = 0; j < c; ++j) {
      double xhat = (x[j] - m) * r;
      dinp[i * c + j] = static_cast<float>(r * (dout[i * c + j] * w[j] - a - xhat * bs));
    }
  }
  Device<float> d_inp(inp), d_w(w), d_b(b), d_dout(dout), d_out(n * c), d_mean(n), d_rstd(n), d_dinp(n * c), d_dw(c),
      d_db(c);
  int fails = 0;
  nexa_test::check(nexa_layernorm_forward(d_out.ptr, d_mean.ptr, d_rstd.ptr, d_inp.ptr, d_w.ptr, d_b.ptr, n, c, nullptr),
                   "layernorm_forward");
  fails += nexa_test::expect_close("layernorm_forward.out", d_out.host(), out, 1e-4f, 1e-4f);
  fails += nexa_test::expect_close("layernorm_forward.rstd", d_rstd.host(), rstd, 1e-4f, 1e-4f);
  nexa_test::check(nexa_layernorm_backward(d_dinp.ptr, d_dw.ptr, d_db.ptr, d_dout.ptr, d_inp.ptr, d_w.ptr, d_mean.ptr,
                                           d_rstd.ptr, n, c, nullptr),
                   "layernorm_backward");
  fails += nexa_test::expect_close("layernorm_backward.dinp", d_dinp.host(), dinp, 1e-4f, 1e-4f);
  fails += nexa_test::expect_close("layernorm_backward.dw", d_dw.host(), dw, 1e-4f, 1e-4f);
  fails += nexa_test::expect_close("layernorm_backward.db", d_db.host(), db, 1e-4f, 1e-4f);
  std::printf(fails ? "layernorm_test: FAILED\n" : "layernorm_test: PASS\n");
  return fails ? 1 : 0;
}
