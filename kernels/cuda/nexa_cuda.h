/* NexaCompute CUDA training kernels: the extern "C" launcher API.
 *
 * Conventions: every tensor pointer is device memory, row-major, f32 unless stated; `stream` is a
 * cudaStream_t passed as void* (NULL = default stream); every function returns 0 or a cudaError_t value
 * (nexa_cuda_error_string explains it). Shapes follow the CPU reference in kernels/model (the oracle):
 * N = B*T rows, C channels, V vocabulary, H heads. Functions named *_backward ACCUMULATE (+=) into their
 * gradient outputs, like the CPU code. All kernels are deterministic (no float atomics): a fixed thread ->
 * work mapping and a fixed summation order, so a run repeats bit for bit on the same GPU and build.
 */
#ifndef NEXA_KERNELS_CUDA_NEXA_CUDA_H_
#define NEXA_KERNELS_CUDA_NEXA_CUDA_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- device memory and errors (so callers need no CUDA headers) ---- */
int nexa_cuda_malloc(void** ptr, size_t bytes);
int nexa_cuda_free(void* ptr);
int nexa_cuda_memcpy_h2d(void* dst, const void* src, size_t bytes);
int nexa_cuda_memcpy_d2h(void* dst, const void* src, size_t bytes);
int nexa_cuda_memset(void* dst, int value, size_t bytes);
int nexa_cuda_synchronize(void);
/* Device name into buf (NUL-terminated); returns 0 or an error (e.g. no device). */
int nexa_cuda_device_name(char* buf, size_t len);
const char* nexa_cuda_error_string(int status);

/* ---- embeddings: out[N,C] = wte[tokens[i]] + wpe[positions[i]] ---- */
int nexa_embedding_forward(float* out, const int* tokens, const int* positions, const float* wte,
                           const float* wpe, int n, int c, void* stream);
/* dwte[V,C] += scatter(dout), dwpe[T,C] += scatter(dout), summed in token order. */
int nexa_embedding_backward(float* dwte, float* dwpe, const float* dout, const int* tokens,
                            const int* positions, int n, int c, void* stream);

/* ---- LayerNorm over C (eps 1e-5); mean/rstd [N] are saved for backward ---- */
int nexa_layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* w,
                           const float* b, int n, int c, void* stream);
int nexa_layernorm_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp,
                            const float* w, const float* mean, const float* rstd, int n, int c,
                            void* stream);

/* ---- dense layer: out[N,O] = inp[N,C] . w[O,C]^T + bias[O] (bias may be NULL); tiled f32 SIMT ---- */
int nexa_matmul_forward(float* out, const float* inp, const float* w, const float* bias, int n, int c,
                        int o, void* stream);
/* dinp[N,C] += dout.w, dw[O,C] += dout^T.inp, dbias[O] += column sums (dbias may be NULL). */
int nexa_matmul_backward(float* dinp, float* dw, float* dbias, const float* dout, const float* inp,
                         const float* w, int n, int c, int o, void* stream);
/* Tensor-core variant: bf16 inputs (raw uint16 bits), f32 accumulate and output. */
int nexa_matmul_forward_bf16(float* out, const uint16_t* inp, const uint16_t* w, const float* bias,
                             int n, int c, int o, void* stream);
/* Round-to-nearest-even f32 -> bf16 bits. */
int nexa_f32_to_bf16(uint16_t* out, const float* inp, size_t n, void* stream);

/* ---- causal attention with document masking ----
 * qkv [B,T,3C] (q | k | v; head h at channels h*hs..), doc [B,T] document ids, out [B,T,C],
 * att [B,H,T,T] softmax probabilities (0 where masked). Token i attends to j iff j <= i and doc[j] == doc[i]. */
int nexa_attention_forward(float* out, float* att, const float* qkv, const int* doc, int b, int t, int c,
                           int h, void* stream);
/* dqkv [B,T,3C] += ...; scratch is caller-provided device memory of B*H*T*T floats. */
int nexa_attention_backward(float* dqkv, float* scratch, const float* dout, const float* qkv,
                            const float* att, int b, int t, int c, int h, void* stream);

/* ---- elementwise ---- */
int nexa_gelu_forward(float* out, const float* inp, size_t n, void* stream);            /* tanh approx. */
int nexa_gelu_backward(float* dinp, const float* inp, const float* dout, size_t n, void* stream);
int nexa_residual_forward(float* out, const float* a, const float* b, size_t n, void* stream); /* a + b */
int nexa_add_inplace(float* acc, const float* x, size_t n, void* stream);                    /* acc += x */

/* ---- softmax cross-entropy, fused with its gradient ----
 * logits [N,V], targets [N] (-1 = ignore). losses[i] = -log softmax(logits_i)[y_i] (0 when ignored);
 * dlogits = grad_scale * (softmax - onehot) (0 rows when ignored; dlogits may be NULL). */
int nexa_crossentropy_forward_backward(float* losses, float* dlogits, const float* logits,
                                       const int* targets, int n, int v, float grad_scale, void* stream);

/* ---- AdamW (step t is 1-based); weight_decay is decoupled: p -= lr * (mhat/(sqrt(vhat)+eps) + wd*p) ---- */
int nexa_adamw_update(float* params, const float* grads, float* m, float* v, size_t n, float lr,
                      float beta1, float beta2, float eps, float weight_decay, int t, void* stream);

#ifdef __cplusplus
}
#endif

#endif /* NEXA_KERNELS_CUDA_NEXA_CUDA_H_ */
