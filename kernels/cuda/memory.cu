// Device memory, synchronisation and error strings for callers without CUDA headers.
#include <cstring>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/nexa_cuda.h"

extern "C" {

int nexa_cuda_malloc(void** ptr, size_t bytes) { return static_cast<int>(cudaMalloc(ptr, bytes)); }
int nexa_cuda_free(void* ptr) { return static_cast<int>(cudaFree(ptr)); }
int nexa_cuda_memcpy_h2d(void* dst, const void* src, size_t bytes) {
  return static_cast<int>(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}
int nexa_cuda_memcpy_d2h(void* dst, const void* src, size_t bytes) {
  return static_cast<int>(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}
int nexa_cuda_memset(void* dst, int value, size_t bytes) { return static_cast<int>(cudaMemset(dst, value, bytes)); }
int nexa_cuda_synchronize(void) { return static_cast<int>(cudaDeviceSynchronize()); }

int nexa_cuda_device_name(char* buf, size_t len) {
  cudaDeviceProp prop;
  int dev = 0;
  cudaError_t e = cudaGetDevice(&dev);
  if (e == cudaSuccess) e = cudaGetDeviceProperties(&prop, dev);
  if (e != cudaSuccess) return static_cast<int>(e);
  if (len > 0) {
    std::strncpy(buf, prop.name, len - 1);
    buf[len - 1] = '\0';
  }
  return 0;
}

const char* nexa_cuda_error_string(int status) { return cudaGetErrorString(static_cast<cudaError_t>(status)); }

}  // extern "C"
