// GPU benchmark: one full GPT training step (forward, cross-entropy, backward, AdamW) built from the launcher
// API, timed on the device. Reports training tokens/s, model FLOP/s (6*N + 12*L*C*T per token, N = parameters
// taking part in matmuls) and MFU against the H200's ~790 TFLOP/s dense bf16 peak; plus TFLOP/s of the f32 SIMT
// and bf16 tensor-core GEMMs on a 8192x768x3072 projection.
//
// Usage: bench [--json] [--small]   (default config: GPT-2 124M shape, B=8, T=1024; --small: a 2-layer toy)
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "kernels/cuda/test_util.h"

namespace {

using nexa_test::check;

constexpr double kPeakBf16 = 790e12;

struct Config {
  int vocab, seq, layers, heads, channels, batch;
};

struct LayerParams {
  size_t ln1w, ln1b, qkvw, qkvb, projw, projb, ln2w, ln2b, fcw, fcb, fcprojw, fcprojb;
};

struct LayerActs {
  float *ln1, *ln1_mean, *ln1_rstd, *qkv, *atty, *att, *res2, *ln2, *ln2_mean, *ln2_rstd, *fch, *fch_gelu, *res3;
};

float* dalloc(size_t n) {
  void* p = nullptr;
  check(nexa_cuda_malloc(&p, n * sizeof(float) + 16), "malloc");
  check(nexa_cuda_memset(p, 0, n * sizeof(float)), "memset");
  return static_cast<float*>(p);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// TFLOP/s of out[M,N] = A[M,K].W[N,K]^T for both GEMM paths.
void bench_gemm(double* f32_flops, double* bf16_flops) {
  const int m = 8192, k = 768, n = 3072, reps = 20;
  float *a = dalloc(static_cast<size_t>(m) * k), *w = dalloc(static_cast<size_t>(n) * k), *out = dalloc(static_cast<size_t>(m) * n);
  uint16_t *a16 = nullptr, *w16 = nullptr;
  check(nexa_cuda_malloc(reinterpret_cast<void**>(&a16), static_cast<size_t>(m) * k * 2), "malloc");
  check(nexa_cuda_malloc(reinterpret_cast<void**>(&w16), static_cast<size_t>(n) * k * 2), "malloc");
  check(nexa_f32_to_bf16(a16, a, static_cast<size_t>(m) * k, nullptr), "f32_to_bf16");
  check(nexa_f32_to_bf16(w16, w, static_cast<size_t>(n) * k, nullptr), "f32_to_bf16");
  const double flops = 2.0 * m * n * k * reps;
  check(nexa_matmul_forward(out, a, w, nullptr, m, k, n, nullptr), "matmul_forward");
  check(nexa_cuda_synchronize(), "sync");
  auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) check(nexa_matmul_forward(out, a, w, nullptr, m, k, n, nullptr), "matmul_forward");
  check(nexa_cuda_synchronize(), "sync");
  *f32_flops = flops / seconds_since(t0);
  check(nexa_matmul_forward_bf16(out, a16, w16, nullptr, m, k, n, nullptr), "matmul_forward_bf16");
  check(nexa_cuda_synchronize(), "sync");
  t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) check(nexa_matmul_forward_bf16(out, a16, w16, nullptr, m, k, n, nullptr), "bf16");
  check(nexa_cuda_synchronize(), "sync");
  *bf16_flops = flops / seconds_since(t0);
  nexa_cuda_free(a), nexa_cuda_free(w), nexa_cuda_free(out), nexa_cuda_free(a16), nexa_cuda_free(w16);
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false, small = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json")) json = true;
    if (!std::strcmp(argv[i], "--small")) small = true;
  }
  const Config cfg = small ? Config{512, 128, 2, 4, 128, 4} : Config{50304, 1024, 12, 12, 768, 8};
  const int V = cfg.vocab, T = cfg.seq, L = cfg.layers, H = cfg.heads, C = cfg.channels, B = cfg.batch;
  const int N = B * T;
  char device[256] = "unknown";
  check(nexa_cuda_device_name(device, sizeof device), "device_name");

  // ---- parameters: one flat buffer, offsets per tensor
  size_t total = 0;
  auto take = [&](size_t n) { size_t off = total; total += n; return off; };
  size_t wte = take(static_cast<size_t>(V) * C), wpe = take(static_cast<size_t>(T) * C);
  std::vector<LayerParams> lp(L);
  for (auto& p : lp) {
    p = {take(C), take(C), take(3ull * C * C), take(3ull * C), take(1ull * C * C), take(C),
         take(C), take(C), take(4ull * C * C), take(4ull * C), take(4ull * C * C), take(C)};
  }
  size_t lnfw = take(C), lnfb = take(C);
  const double matmul_params = static_cast<double>(total - static_cast<size_t>(T) * C);
  std::vector<float> host = nexa_test::random_vec(total, 7, 0.02f);
  for (auto& p : lp)
    for (size_t off : {p.ln1w, p.ln2w}) std::fill(host.begin() + off, host.begin() + off + C, 1.f);
  std::fill(host.begin() + lnfw, host.begin() + lnfw + C, 1.f);
  float* params = dalloc(total);
  check(nexa_cuda_memcpy_h2d(params, host.data(), total * sizeof(float)), "h2d");
  float *grads = dalloc(total), *adam_m = dalloc(total), *adam_v = dalloc(total);

  // ---- data: 4 documents per row, next-token targets, -1 at document ends
  std::vector<int> tokens(N), targets(N), pos(N), doc(N);
  for (int i = 0; i < N; ++i) {
    tokens[i] = static_cast<int>((i * 2654435761ull) % V);
    doc[i] = (i % T) / (T / 4);
    pos[i] = (i % T) % (T / 4);
  }
  for (int i = 0; i < N; ++i) targets[i] = (i + 1 < N && doc[i + 1] == doc[i] && (i + 1) % T) ? tokens[i + 1] : -1;
  nexa_test::Device<int> d_tok(tokens), d_tgt(targets), d_pos(pos), d_doc(doc);

  // ---- activations and gradient scratch
  std::vector<LayerActs> acts(L);
  const size_t NC = static_cast<size_t>(N) * C, att_n = static_cast<size_t>(B) * H * T * T;
  for (auto& a : acts) {
    a = {dalloc(NC), dalloc(N), dalloc(N), dalloc(3 * NC), dalloc(NC), dalloc(att_n), dalloc(NC),
         dalloc(NC), dalloc(N), dalloc(N), dalloc(4 * NC), dalloc(4 * NC), dalloc(NC)};
  }
  float *x0 = dalloc(NC), *lnf = dalloc(NC), *lnf_mean = dalloc(N), *lnf_rstd = dalloc(N), *tmp = dalloc(NC);
  float *logits = dalloc(static_cast<size_t>(N) * V), *dlogits = dalloc(static_cast<size_t>(N) * V), *losses = dalloc(N);
  float *dres = dalloc(NC), *dln = dalloc(NC), *datty = dalloc(NC), *dqkv = dalloc(3 * NC);
  float *dfch = dalloc(4 * NC), *dfchg = dalloc(4 * NC), *scratch = dalloc(att_n);
  int count = 0;
  for (int t : targets) count += t >= 0;
  const float* P = params;
  float* G = grads;

  auto step = [&](int t) -> double {
    // forward
    check(nexa_embedding_forward(x0, d_tok.ptr, d_pos.ptr, P + wte, P + wpe, N, C, nullptr), "embedding");
    for (int l = 0; l < L; ++l) {
      const LayerParams& p = lp[l];
      LayerActs& a = acts[l];
      const float* x = l ? acts[l - 1].res3 : x0;
      check(nexa_layernorm_forward(a.ln1, a.ln1_mean, a.ln1_rstd, x, P + p.ln1w, P + p.ln1b, N, C, nullptr), "ln1");
      check(nexa_matmul_forward(a.qkv, a.ln1, P + p.qkvw, P + p.qkvb, N, C, 3 * C, nullptr), "qkv");
      check(nexa_attention_forward(a.atty, a.att, a.qkv, d_doc.ptr, B, T, C, H, nullptr), "attention");
      check(nexa_matmul_forward(tmp, a.atty, P + p.projw, P + p.projb, N, C, C, nullptr), "proj");
      check(nexa_residual_forward(a.res2, x, tmp, NC, nullptr), "residual");
      check(nexa_layernorm_forward(a.ln2, a.ln2_mean, a.ln2_rstd, a.res2, P + p.ln2w, P + p.ln2b, N, C, nullptr), "ln2");
      check(nexa_matmul_forward(a.fch, a.ln2, P + p.fcw, P + p.fcb, N, C, 4 * C, nullptr), "fc");
      check(nexa_gelu_forward(a.fch_gelu, a.fch, 4 * NC, nullptr), "gelu");
      check(nexa_matmul_forward(tmp, a.fch_gelu, P + p.fcprojw, P + p.fcprojb, N, 4 * C, C, nullptr), "fcproj");
      check(nexa_residual_forward(a.res3, a.res2, tmp, NC, nullptr), "residual");
    }
    const float* last = acts[L - 1].res3;
    check(nexa_layernorm_forward(lnf, lnf_mean, lnf_rstd, last, P + lnfw, P + lnfb, N, C, nullptr), "lnf");
    check(nexa_matmul_forward(logits, lnf, P + wte, nullptr, N, C, V, nullptr), "lm_head");
    check(nexa_crossentropy_forward_backward(losses, dlogits, logits, d_tgt.ptr, N, V, 1.f / count, nullptr), "ce");
    // backward
    check(nexa_cuda_memset(grads, 0, total * sizeof(float)), "memset");
    check(nexa_cuda_memset(dln, 0, NC * sizeof(float)), "memset");
    check(nexa_matmul_backward(dln, G + wte, nullptr, dlogits, lnf, P + wte, N, C, V, nullptr), "lm_head_bwd");
    check(nexa_cuda_memset(dres, 0, NC * sizeof(float)), "memset");
    check(nexa_layernorm_backward(dres, G + lnfw, G + lnfb, dln, last, P + lnfw, lnf_mean, lnf_rstd, N, C, nullptr), "lnf_bwd");
    for (int l = L - 1; l >= 0; --l) {
      const LayerParams& p = lp[l];
      LayerActs& a = acts[l];
      const float* x = l ? acts[l - 1].res3 : x0;
      check(nexa_cuda_memset(dfchg, 0, 4 * NC * sizeof(float)), "memset");
      check(nexa_matmul_backward(dfchg, G + p.fcprojw, G + p.fcprojb, dres, a.fch_gelu, P + p.fcprojw, N, 4 * C, C, nullptr), "fcproj_bwd");
      check(nexa_cuda_memset(dfch, 0, 4 * NC * sizeof(float)), "memset");
      check(nexa_gelu_backward(dfch, a.fch, dfchg, 4 * NC, nullptr), "gelu_bwd");
      check(nexa_cuda_memset(dln, 0, NC * sizeof(float)), "memset");
      check(nexa_matmul_backward(dln, G + p.fcw, G + p.fcb, dfch, a.ln2, P + p.fcw, N, C, 4 * C, nullptr), "fc_bwd");
      check(nexa_layernorm_backward(dres, G + p.ln2w, G + p.ln2b, dln, a.res2, P + p.ln2w, a.ln2_mean, a.ln2_rstd, N, C, nullptr), "ln2_bwd");
      check(nexa_cuda_memset(datty, 0, NC * sizeof(float)), "memset");
      check(nexa_matmul_backward(datty, G + p.projw, G + p.projb, dres, a.atty, P + p.projw, N, C, C, nullptr), "proj_bwd");
      check(nexa_cuda_memset(dqkv, 0, 3 * NC * sizeof(float)), "memset");
      check(nexa_attention_backward(dqkv, scratch, datty, a.qkv, a.att, B, T, C, H, nullptr), "attention_bwd");
      check(nexa_cuda_memset(dln, 0, NC * sizeof(float)), "memset");
      check(nexa_matmul_backward(dln, G + p.qkvw, G + p.qkvb, dqkv, a.ln1, P + p.qkvw, N, C, 3 * C, nullptr), "qkv_bwd");
      check(nexa_layernorm_backward(dres, G + p.ln1w, G + p.ln1b, dln, x, P + p.ln1w, a.ln1_mean, a.ln1_rstd, N, C, nullptr), "ln1_bwd");
    }
    check(nexa_embedding_backward(G + wte, G + wpe, dres, d_tok.ptr, d_pos.ptr, N, C, nullptr), "embedding_bwd");
    // one uniform-decay AdamW call over the flat buffer (the CPU crate exempts norms/biases; irrelevant to speed)
    check(nexa_adamw_update(params, grads, adam_m, adam_v, total, 3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, t, nullptr), "adamw");
    std::vector<float> l(N);
    check(nexa_cuda_memcpy_d2h(l.data(), losses, N * sizeof(float)), "d2h");
    double s = 0;
    for (float x : l) s += x;
    return s / count;
  };

  double loss0 = step(1);  // warm-up
  const int steps = small ? 5 : 3;
  check(nexa_cuda_synchronize(), "sync");
  auto t0 = std::chrono::steady_clock::now();
  double loss = loss0;
  for (int s = 0; s < steps; ++s) loss = step(2 + s);
  check(nexa_cuda_synchronize(), "sync");
  const double step_s = seconds_since(t0) / steps;
  const double flops_per_token = 6.0 * matmul_params + 12.0 * L * C * T;
  const double tokens_per_s = N / step_s, model_flops = tokens_per_s * flops_per_token;
  double f32_gemm = 0, bf16_gemm = 0;
  bench_gemm(&f32_gemm, &bf16_gemm);
  if (json) {
    std::printf("{\"device\":\"%s\",\"config\":{\"vocab\":%d,\"seq_len\":%d,\"n_layer\":%d,\"n_head\":%d,\"d_model\":%d,"
                "\"batch\":%d},\"params\":%.0f,\"loss_first\":%.4f,\"loss_last\":%.4f,\"step_seconds\":%.4f,"
                "\"tokens_per_s\":%.1f,\"model_flops_per_s\":%.4e,\"peak_flops_per_s\":%.4e,\"mfu\":%.4f,"
                "\"gemm_f32_flops_per_s\":%.4e,\"gemm_bf16_flops_per_s\":%.4e}\n",
                device, V, T, L, H, C, B, static_cast<double>(total), loss0, loss, step_s, tokens_per_s, model_flops,
                kPeakBf16, model_flops / kPeakBf16, f32_gemm, bf16_gemm);
  } else {
    std::printf("device %s; GPT V=%d T=%d L=%d H=%d C=%d B=%d (%.1fM params)\n", device, V, T, L, H, C, B, total / 1e6);
    std::printf("loss %.4f -> %.4f; step %.1f ms; %.0f tokens/s; %.2f TFLOP/s model; MFU %.2f%% of %.0f TFLOP/s bf16\n",
                loss0, loss, step_s * 1e3, tokens_per_s, model_flops / 1e12, 100 * model_flops / kPeakBf16, kPeakBf16 / 1e12);
    std::printf("GEMM 8192x768x3072: f32 SIMT %.1f TFLOP/s, bf16 tensor cores %.1f TFLOP/s\n", f32_gemm / 1e12, bf16_gemm / 1e12);
  }
  return 0;
}
