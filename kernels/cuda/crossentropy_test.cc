// GPU test: fused softmax cross-entropy and its gradient vs a double-precision CPU loop (1e-5 abs + 1e-4 rel),
// including ignored rows (target -1, the same bits as the CPU crate's IGNORE = u32::MAX).
#include "kernels/cuda/test_util.h"

using nexa_test::Device;

int main() {
  const int n = 9, v = 1000;
  const float scale = 1.f / 8.f;
  auto logits = nexa_test::random_vec(static_cast<size_t>(n) * v, 1, 5.f);
  std::vector<int> targets(n);
  for (int i = 0; i < n; ++i) targets[i] = i == 4 ? -1 : (i * 131) % v;
  std::vector<float> losses(n, 0.f), dlogits(static_cast<size_t>(n) * v, 0.f);
  for (int i = 0; i < n; ++i) {
    if (targets[i] < 0) continue;
    const float* z = &logits[static_cast<size_t>(i) * v];
    double m = -1e300, s = 0;
    for (int j = 0; j < v; ++j) m = std::max(m, static_cast<double>(z[j]));
    for (int j = 0; j < v; ++j) s += std::exp(z[j] - m);
    losses[i] = static_cast<float>(std::log(s) + m - z[targets[i]]);
    for (int j = 0; j < v; ++j)
      dlogits[static_cast<size_t>(i) * v + j] = static_cast<float>(scale * (std::exp(z[j] - m) / s - (j == targets[i])));
  }
  Device<float> d_logits(logits), d_losses(n), d_dlogits(static_cast<size_t>(n) * v);
  Device<int> d_targets(targets);
  nexa_test::check(nexa_crossentropy_forward_backward(d_losses.ptr, d_dlogits.ptr, d_logits.ptr, d_targets.ptr, n, v,
                                                      scale, nullptr),
                   "crossentropy_forward_backward");
  int fails = nexa_test::expect_close("crossentropy.losses", d_losses.host(), losses, 1e-5f, 1e-4f);
  fails += nexa_test::expect_close("crossentropy.dlogits", d_dlogits.host(), dlogits, 1e-6f, 1e-4f);
  std::printf(fails ? "crossentropy_test: FAILED\n" : "crossentropy_test: PASS\n");
  return fails ? 1 : 0;
}
