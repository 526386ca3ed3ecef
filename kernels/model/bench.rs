//! Training throughput benchmark: `bazel run //kernels/model:bench -- [--json] [--steps N]`.
//!
//! Fixed config (stated in the output): vocab 512, seq_len 128, 4 layers, 4 heads,
//! d_model 256, batch 8×128 = 1024 tokens/step, 4 documents per row. Measures training
//! tokens/s and model FLOP/s (6·N + 12·L·C·T per token) on 1 and 2 threads, and the peak
//! FLOP/s of one core running the widest FMA this CPU has (measured in the same run).

use nexa_model::kernels::{gemm, Ctx, Layout};
use nexa_model::{Batch, GptConfig, Model, Rng, TrainConfig, Variant};
use std::time::Instant;

// ---------------------------------------------------------------- peak FMA microbenchmark

/// Peak single-core f32 FLOP/s: 16 independent FMA chains of the widest vector width.
fn peak_flops(variant: Variant) -> (f64, &'static str) {
    let iters: u64 = 20_000_000;
    let t0 = Instant::now();
    let (lanes, name, sink) = match variant {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the variant was detected as supported.
        Variant::Avx512 => (16, "avx512f vfmadd (zmm)", unsafe { fma_loop_avx512(iters) }),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Variant::Avx2Fma => (8, "fma3 vfmadd (ymm)", unsafe { fma_loop_avx2(iters) }),
        _ => (1, "scalar mul+add", fma_loop_scalar(iters)),
    };
    let secs = t0.elapsed().as_secs_f64();
    assert!(sink.is_finite());
    (iters as f64 * 16.0 * lanes as f64 * 2.0 / secs, name)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fma_loop_avx512(iters: u64) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm512_set1_ps(0.0); 16];
    let (a, b) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
    for _ in 0..iters {
        for x in acc.iter_mut() {
            *x = _mm512_fmadd_ps(*x, a, b);
        }
    }
    let mut s = _mm512_setzero_ps();
    for x in acc {
        s = _mm512_add_ps(s, x);
    }
    _mm512_reduce_add_ps(s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_loop_avx2(iters: u64) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_set1_ps(0.0); 16];
    let (a, b) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
    for _ in 0..iters {
        for x in acc.iter_mut() {
            *x = _mm256_fmadd_ps(*x, a, b);
        }
    }
    let mut out = [0f32; 8];
    let mut s = _mm256_setzero_ps();
    for x in acc {
        s = _mm256_add_ps(s, x);
    }
    _mm256_storeu_ps(out.as_mut_ptr(), s);
    out.iter().sum()
}

fn fma_loop_scalar(iters: u64) -> f32 {
    let mut acc = [0f32; 16];
    for _ in 0..iters {
        for x in acc.iter_mut() {
            *x = *x * std::hint::black_box(0.999_999) + 1e-7;
        }
    }
    acc.iter().sum()
}

// ---------------------------------------------------------------- training benchmark

fn bench_batch(cfg: &GptConfig, b: usize, t: usize, seed: u64) -> Batch {
    let mut rng = Rng::new(seed);
    let tokens: Vec<u32> = (0..b * t).map(|_| (rng.next_u64() % cfg.vocab_size as u64) as u32).collect();
    let targets = (0..b * t).map(|i| if (i + 1) % t == 0 { nexa_model::IGNORE } else { tokens[i + 1] }).collect();
    let doc_ids = (0..b * t).map(|i| ((i % t) / (t / 4)) as u32).collect(); // 4 documents per row
    Batch { b, t, tokens, targets, doc_ids, teacher: None }
}

struct Run {
    step_s: f64,
    tokens_per_s: f64,
    flops_per_s: f64,
}

fn bench_training(cfg: GptConfig, b: usize, t: usize, threads: usize, steps: usize) -> Run {
    let mut model = Model::new(cfg, 1).unwrap();
    model.set_threads(threads);
    model.set_train_config(TrainConfig { lr: 1e-3, ..Default::default() }).unwrap();
    let batch = bench_batch(&cfg, b, t, 9);
    model.train_step(std::slice::from_ref(&batch)).unwrap(); // warm-up
    let t0 = Instant::now();
    for _ in 0..steps {
        model.train_step(std::slice::from_ref(&batch)).unwrap();
    }
    let step_s = t0.elapsed().as_secs_f64() / steps as f64;
    let tokens = (b * t) as f64;
    Run { step_s, tokens_per_s: tokens / step_s, flops_per_s: tokens * cfg.train_flops_per_token(t) / step_s }
}

/// FLOP/s of one 1024×768×256 GEMM (the shape of a QKV projection in this config).
fn bench_gemm(variant: Variant, threads: usize) -> f64 {
    let (m, n, k) = (1024, 768, 256);
    let mut rng = Rng::new(3);
    let (a, bm) = (rng.normal_vec(m * k, 1.0), rng.normal_vec(k * n, 1.0));
    let mut c = vec![0f32; m * n];
    let ctx = Ctx::new(threads, variant);
    gemm(ctx, &mut c, &a, Layout::Normal, &bm, Layout::Normal, m, n, k, false);
    let reps = 10;
    let t0 = Instant::now();
    for _ in 0..reps {
        gemm(ctx, &mut c, &a, Layout::Normal, &bm, Layout::Normal, m, n, k, false);
    }
    2.0 * (m * n * k * reps) as f64 / t0.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let json = args.iter().any(|a| a == "--json");
    let steps = args.iter().position(|a| a == "--steps").and_then(|i| args.get(i + 1)).and_then(|s| s.parse().ok()).unwrap_or(3);
    let cfg = GptConfig { vocab_size: 512, seq_len: 128, n_layer: 4, n_head: 4, d_model: 256 };
    let (b, t) = (8, 128);
    let variant = Variant::detect();
    let (peak, peak_kind) = peak_flops(variant);
    let gemm_1t = bench_gemm(variant, 1);
    let one = bench_training(cfg, b, t, 1, steps);
    let two = bench_training(cfg, b, t, 2, steps);
    let frac = one.flops_per_s / peak;
    // other processes on a shared machine distort the 2-thread figure: report the load next to it
    let load = std::fs::read_to_string("/proc/loadavg").ok().and_then(|s| s.split_whitespace().next().and_then(|x| x.parse::<f64>().ok())).unwrap_or(-1.0);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    if json {
        println!(
            "{{\"config\":{{\"vocab_size\":{},\"seq_len\":{},\"n_layer\":{},\"n_head\":{},\"d_model\":{},\"batch_rows\":{b},\"tokens_per_step\":{},\"docs_per_row\":4}},\
\"params\":{},\"flops_per_token\":{},\"kernel_variant\":\"{}\",\"steps\":{steps},\
\"tokens_per_s\":{:.1},\"model_flops_per_s\":{:.4e},\"step_seconds\":{:.4},\
\"peak_flops_per_s\":{:.4e},\"peak_kernel\":\"{peak_kind}\",\"fraction_of_peak\":{:.4},\"gemm_flops_per_s\":{:.4e},\
\"threads_2\":{{\"tokens_per_s\":{:.1},\"model_flops_per_s\":{:.4e},\"speedup_vs_1\":{:.3}}},\"cores\":{cores},\"load_average_1m\":{load}}}",
            cfg.vocab_size, cfg.seq_len, cfg.n_layer, cfg.n_head, cfg.d_model, b * t,
            Model::new(cfg, 1).unwrap().num_params(), cfg.train_flops_per_token(t), variant.name(),
            one.tokens_per_s, one.flops_per_s, one.step_s, peak, frac, gemm_1t,
            two.tokens_per_s, two.flops_per_s, two.tokens_per_s / one.tokens_per_s
        );
    } else {
        println!("config: {cfg:?}, batch {b}x{t}, kernel variant {}", variant.name());
        println!("peak (1 core, {peak_kind}): {:.1} GFLOP/s; gemm 1024x768x256: {:.1} GFLOP/s", peak / 1e9, gemm_1t / 1e9);
        println!("1 thread : {:.0} tokens/s, {:.1} GFLOP/s model, {:.1}% of peak", one.tokens_per_s, one.flops_per_s / 1e9, 100.0 * frac);
        println!("2 threads: {:.0} tokens/s, {:.1} GFLOP/s model, speed-up {:.2}x ({cores} cores, load average {load})", two.tokens_per_s, two.flops_per_s / 1e9, two.tokens_per_s / one.tokens_per_s);
    }
}
