// Shared helpers of the GPU tests: seeded data, device buffers, tolerance checks. Host C++ only.
#ifndef NEXA_KERNELS_CUDA_TEST_UTIL_H_
#define NEXA_KERNELS_CUDA_TEST_UTIL_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "kernels/cuda/nexa_cuda.h"

namespace nexa_test {

// Aborts the test with the CUDA error text.
inline void check(int status, const char* what) {
  if (status != 0) {
    std::fprintf(stderr, "FAIL %s: CUDA error %d (%s); is a GPU and driver present?\n", what, status,
                 nexa_cuda_error_string(status));
    std::exit(1);
  }
}

// Deterministic uniform values in [-scale, scale).
inline std::vector<float> random_vec(size_t n, uint64_t seed, float scale = 1.f) {
  std::vector<float> v(n);
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = scale * (static_cast<float>(s >> 40) / static_cast<float>(1 << 24) * 2.f - 1.f);
  }
  return v;
}

// A device copy of a host vector, freed on scope exit.
template <typename T>
struct Device {
  T* ptr = nullptr;
  size_t n = 0;
  explicit Device(const std::vector<T>& host) : n(host.size()) {
    check(nexa_cuda_malloc(reinterpret_cast<void**>(&ptr), n * sizeof(T) + 1), "malloc");
    if (n) check(nexa_cuda_memcpy_h2d(ptr, host.data(), n * sizeof(T)), "h2d");
  }
  explicit Device(size_t count) : n(count) {
    check(nexa_cuda_malloc(reinterpret_cast<void**>(&ptr), n * sizeof(T) + 1), "malloc");
    check(nexa_cuda_memset(ptr, 0, n * sizeof(T)), "memset");
  }
  ~Device() { nexa_cuda_free(ptr); }
  std::vector<T> host() const {
    std::vector<T> out(n);
    check(nexa_cuda_synchronize(), "synchronize");
    if (n) check(nexa_cuda_memcpy_d2h(out.data(), ptr, n * sizeof(T)), "d2h");
    return out;
  }
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
};

// |got - want| <= atol + rtol*|want| everywhere; prints the worst offender. Returns 1 on failure.
inline int expect_close(const char* name, const std::vector<float>& got, const std::vector<float>& want, float atol,
                        float rtol) {
  if (got.size() != want.size()) {
    std::fprintf(stderr, "FAIL %s: size %zu vs %zu\n", name, got.size(), want.size());
    return 1;
  }
  size_t worst = 0;
  double worst_excess = -1e300;
  for (size_t i = 0; i < got.size(); ++i) {
    double excess = std::fabs(got[i] - want[i]) - (atol + rtol * std::fabs(want[i]));
    if (!(excess <= worst_excess) || std::isnan(got[i])) {
      worst_excess = std::isnan(got[i]) ? 1e300 : excess;
      worst = i;
    }
  }
  if (worst_excess > 0) {
    std::fprintf(stderr, "FAIL %s: [%zu] got %.7g want %.7g (atol %g rtol %g)\n", name, worst, got[worst],
                 want[worst], atol, rtol);
    return 1;
  }
  std::printf("ok   %s (%zu values, atol %g rtol %g)\n", name, got.size(), atol, rtol);
  return 0;
}

}  // namespace nexa_test

#endif  // NEXA_KERNELS_CUDA_TEST_UTIL_H_
