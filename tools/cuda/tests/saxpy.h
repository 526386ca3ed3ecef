/* A tiny CUDA launcher API proving cuda_library: y = a * x + y on the device. */
#ifndef NEXA_TOOLS_CUDA_TESTS_SAXPY_H_
#define NEXA_TOOLS_CUDA_TESTS_SAXPY_H_
#ifdef __cplusplus
extern "C" {
#endif
/* Computes y[i] = a * x[i] + y[i] for i < n on the default device. Returns 0, or a cudaError_t value. */
int nexa_example_saxpy(int n, float a, const float* x, float* y);
#ifdef __cplusplus
}
#endif
#endif
