// GPU test: causal attention with document masking, forward and backward, vs a double-precision CPU loop.
// Tolerance 1e-4 abs + 1e-3 rel (f32 exp and summation order differ from the CPU).
#include "kernels/cuda/test_util.h"

using nexa_test::Device;

int main() {
  const int b = 2, t = 37, c = 64, h = 2, hs = c / h;
  auto qkv = nexa_test::random_vec(static_cast<size_t>(b) * t * 3 * c, 11);
  auto dout = nexa_test::random_vec(static_cast<size_t>(b) * t * c, 12);
  std::vector<int> doc(b * t);
  for (int i = 0; i < b * t; ++i) doc[i] = (i % t) < 15 ? 0 : ((i % t) < 30 ? 1 : 2);  // 3 documents per row
  std::vector<float> out(b * t * c), att(static_cast<size_t>(b) * h * t * t, 0.f), dqkv(qkv.size(), 0.f);
  const double scale = 1.0 / std::sqrt(static_cast<double>(hs));
  auto Q = [&](int bb, int i, int hh, int w, int d) { return qkv[(static_cast<size_t>(bb) * t + i) * 3 * c + w * c + hh * hs + d]; };
  for (int bb = 0; bb < b; ++bb)
    for (int hh = 0; hh < h; ++hh)
      for (int i = 0; i < t; ++i) {
        std::vector<double> p(t, 0.0);
        double m = -1e300, sum = 0;
        for (int j = 0; j <= i; ++j)
          if (doc[bb * t + j] == doc[bb * t + i]) {
            double s = 0;
            for (int d = 0; d < hs; ++d) s += static_cast<double>(Q(bb, i, hh, 0, d)) * Q(bb, j, hh, 1, d);
            p[j] = s * scale;
            m = std::max(m, p[j]);
          } else {
            p[j] = -1e300;
          }
        for (int j = 0; j <= i; ++j) sum += (p[j] = p[j] == -1e300 ? 0.0 : std::exp(p[j] - m));
        for (int j = 0; j <= i; ++j) att[((static_cast<size_t>(bb) * h + hh) * t + i) * t + j] = static_cast<float>(p[j] /= sum);
        for (int d = 0; d < hs; ++d) {
          double y = 0;
          for (int j = 0; j <= i; ++j) y += p[j] * Q(bb, j, hh, 2, d);
          out[(static_cast<size_t>(bb) * t + i) * c + hh * hs + d] = static_cast<float>(y);
        }
        // backward for this query
        const float* dy = &dout[(static_cast<size_t>(bb) * t + i) * c + hh * hs];
        std::vector<double> dp(t, 0.0);
        double pdp = 0;
        for (int j = 0; j <= i; ++j) {
          for (int d = 0; d < hs; ++d) dp[j] += static_cast<double>(dy[d]) * Q(bb, j, hh, 2, d);
          pdp += p[j] * dp[j];
        }
        for (int j = 0; j <= i; ++j) {
          double ds = p[j] * (dp[j] - pdp) * scale;
          for (int d = 0; d < hs; ++d) {
            dqkv[(static_cast<size_t>(bb) * t + i) * 3 * c + hh * hs + d] += static_cast<float>(ds * Q(bb, j, hh, 1, d));
            dqkv[(static_cast<size_t>(bb) * t + j) * 3 * c + c + hh * hs + d] += static_cast<float>(ds * Q(bb, i, hh, 0, d));
            dqkv[(static_cast<size_t>(bb) * t + j) * 3 * c + 2 * c + hh * hs + d] += static_cast<float>(p[j] * dy[d]);
          }
        }
      }
  Device<float> d_qkv(qkv), d_dout(dout), d_out(out.size()), d_att(att.size()), d_dqkv(qkv.size()),
      d_scratch(att.size());
  Device<int> d_doc(doc);
  int fails = 0;
  nexa_test::check(nexa_attention_forward(d_out.ptr, d_att.ptr, d_qkv.ptr, d_doc.ptr, b, t, c, h, nullptr),
                   "attention_forward");
  fails += nexa_test::expect_close("attention_forward.out", d_out.host(), out, 1e-4f, 1e-3f);
  fails += nexa_test::expect_close("attention_forward.att", d_att.host(), att, 1e-5f, 1e-3f);
  nexa_test::check(nexa_attention_backward(d_dqkv.ptr, d_scratch.ptr, d_dout.ptr, d_qkv.ptr, d_att.ptr, b, t, c, h,
                                           nullptr),
                   "attention_backward");
  fails += nexa_test::expect_close("attention_backward.dqkv", d_dqkv.host(), dqkv, 1e-4f, 1e-3f);
  std::printf(fails ? "attention_test: FAILED\n" : "attention_test: PASS\n");
  return fails ? 1 : 0;
}
