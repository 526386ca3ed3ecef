// GPU test of the cuda_library rule test: compares the device result with the same loop on the CPU.
#include <cmath>
#include <cstdio>
#include <vector>

#include "tools/cuda/tests/saxpy.h"

int main() {
  const int n = 1 << 16;
  std::vector<float> x(n), y(n), ref(n);
  for (int i = 0; i < n; ++i) {
    x[i] = 0.5f * i;
    y[i] = 1.0f - i;
    ref[i] = 2.0f * x[i] + y[i];
  }
  int err = nexa_example_saxpy(n, 2.0f, x.data(), y.data());
  if (err != 0) {
    std::fprintf(stderr, "saxpy_test: CUDA error %d (is a GPU and driver present?)\n", err);
    return 1;
  }
  for (int i = 0; i < n; ++i) {
    if (std::fabs(y[i] - ref[i]) > 1e-6f * std::fabs(ref[i]) + 1e-6f) {
      std::fprintf(stderr, "saxpy_test: y[%d] = %g, expected %g\n", i, y[i], ref[i]);
      return 1;
    }
  }
  std::printf("saxpy_test: %d values match the CPU reference\n", n);
  return 0;
}
