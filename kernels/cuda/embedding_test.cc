// GPU test: token + position embedding forward and backward vs a CPU loop (exact sums up to 1e-5).
#include "kernels/cuda/test_util.h"

using nexa_test::Device;

int main() {
  const int n = 50, c = 24, v = 7, tmax = 10;
  auto wte = nexa_test::random_vec(v * c, 1), wpe = nexa_test::random_vec(tmax * c, 2);
  auto dout = nexa_test::random_vec(n * c, 3);
  std::vector<int> tokens(n), pos(n);
  for (int i = 0; i < n; ++i) {
    tokens[i] = (i * 5 + 3) % v;
    pos[i] = i % tmax;
  }
  std::vector<float> out(n * c), dwte(v * c, 0.f), dwpe(tmax * c, 0.f);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < c; ++j) {
      out[i * c + j] = wte[tokens[i] * c + j] + wpe[pos[i] * c + j];
      dwte[tokens[i] * c + j] += dout[i * c + j];
      dwpe[pos[i] * c + j] += dout[i * c + j];
    }
  Device<float> d_wte(wte), d_wpe(wpe), d_dout(dout), d_out(n * c), d_dwte(v * c), d_dwpe(tmax * c);
  Device<int> d_tok(tokens), d_pos(pos);
  int fails = 0;
  nexa_test::check(nexa_embedding_forward(d_out.ptr, d_tok.ptr, d_pos.ptr, d_wte.ptr, d_wpe.ptr, n, c, nullptr),
                   "embedding_forward");
  fails += nexa_test::expect_close("embedding_forward", d_out.host(), out, 0.f, 0.f);
  nexa_test::check(nexa_embedding_backward(d_dwte.ptr, d_dwpe.ptr, d_dout.ptr, d_tok.ptr, d_pos.ptr, n, c, nullptr),
                   "embedding_backward");
  fails += nexa_test::expect_close("embedding_backward.dwte", d_dwte.host(), dwte, 1e-5f, 1e-5f);
  fails += nexa_test::expect_close("embedding_backward.dwpe", d_dwpe.host(), dwpe, 1e-5f, 1e-5f);
  std::printf(fails ? "embedding_test: FAILED\n" : "embedding_test: PASS\n");
  return fails ? 1 : 0;
}
