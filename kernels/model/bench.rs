//! Training throughput benchmark:
//! `bazel run -c opt //kernels/model:bench -- [--json] [--steps N] [--variant all|auto|portable|avx2_fma|avx512f]`.
//!
//! Fixed config (stated in the output): vocab 512, seq_len 128, 4 layers, 4 heads,
//! d_model 256, batch 8×128 = 1024 tokens/step, 4 documents per row. For every kernel variant
//! asked for (default: all this CPU supports) it measures, in the same run: the peak f32
//! FLOP/s of one core for the arithmetic that variant uses, a GEMM, and training tokens/s and
//! model FLOP/s (6·N + 12·L·C·T per token) on 1 thread; the widest variant also on 2 threads.
//! Every variant computes the same bits (see kernels/model/README.md); only speed differs.
//! A kernel measured above its peak means the peak probe is wrong: the bench then fails.

use nexa_model::kernels::{gemm, Ctx, Layout};
use nexa_model::{Batch, GptConfig, Model, Rng, TrainConfig, Variant};
use std::time::Instant;

// ---------------------------------------------------------------- peak microbenchmarks

/// Independent FMA chains per probe: enough to cover latency × issue width (2 FMA pipes ×
/// 4–5 cycles), few enough that accumulators and the two constants stay in registers
/// (16 ymm: 10 + 2; 32 zmm: 24 + 2; 16 xmm: 12 + 2).
const AVX2_CHAINS: usize = 10;
const AVX512_CHAINS: usize = 24;
const SSE_CHAINS: usize = 12;

/// Peak single-core f32 FLOP/s of the arithmetic `variant` runs on, and its description.
fn peak_flops(variant: Variant) -> (f64, &'static str) {
    let iters: u64 = 40_000_000;
    // best of 3: a probe can only be slowed down by the rest of the machine, never sped up
    let mut best = 0f64;
    let mut name = "";
    for _ in 0..3 {
        let t0 = Instant::now();
        let (flops_per_iter, n, sink) = match variant {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the variant was checked as supported.
            Variant::Avx512 => {
                (AVX512_CHAINS * 16 * 2, "avx512f vfmadd, 24 zmm chains", unsafe { fma_loop_avx512(iters) })
            }
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Variant::Avx2Fma => (AVX2_CHAINS * 8 * 2, "fma3 vfmadd, 10 ymm chains", unsafe { fma_loop_avx2(iters) }),
            #[cfg(target_arch = "x86_64")]
            _ => (SSE_CHAINS * 4 * 2, "sse mulps+addps, 12 xmm chains", mul_add_loop_sse(iters)),
            #[cfg(not(target_arch = "x86_64"))]
            _ => (16 * 2, "scalar mul+add, 16 chains", mul_add_loop_scalar(iters)),
        };
        let secs = t0.elapsed().as_secs_f64();
        assert!(sink.is_finite());
        best = best.max(iters as f64 * flops_per_iter as f64 / secs);
        name = n;
    }
    (best, name)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fma_loop_avx512(iters: u64) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm512_set1_ps(0.0); AVX512_CHAINS];
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
    let mut acc = [_mm256_set1_ps(0.0); AVX2_CHAINS];
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

/// Portable code may use SSE2 (the x86-64 baseline) but no FMA: 4-lane multiply and add.
#[cfg(target_arch = "x86_64")]
fn mul_add_loop_sse(iters: u64) -> f32 {
    use std::arch::x86_64::*;
    // SAFETY: SSE and SSE2 are part of every x86-64 CPU.
    unsafe {
        let mut acc = [_mm_set1_ps(0.0); SSE_CHAINS];
        let (a, b) = (_mm_set1_ps(0.999_999), _mm_set1_ps(1e-7));
        for _ in 0..iters {
            for x in acc.iter_mut() {
                *x = _mm_add_ps(_mm_mul_ps(*x, a), b);
            }
        }
        let mut out = [0f32; 4];
        let mut s = _mm_setzero_ps();
        for x in acc {
            s = _mm_add_ps(s, x);
        }
        _mm_storeu_ps(out.as_mut_ptr(), s);
        out.iter().sum()
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn mul_add_loop_scalar(iters: u64) -> f32 {
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

fn bench_training(cfg: GptConfig, b: usize, t: usize, variant: Variant, threads: usize, steps: usize) -> Run {
    let mut model = Model::new(cfg, 1).unwrap();
    model.set_variant(variant).unwrap();
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
    let reps = if variant == Variant::Portable { 2 } else { 10 };
    let t0 = Instant::now();
    for _ in 0..reps {
        gemm(ctx, &mut c, &a, Layout::Normal, &bm, Layout::Normal, m, n, k, false);
    }
    2.0 * (m * n * k * reps) as f64 / t0.elapsed().as_secs_f64()
}

struct VariantFigures {
    variant: Variant,
    peak: f64,
    peak_kind: &'static str,
    gemm: f64,
    one: Run,
    two: Option<Run>,
}

fn parse_args() -> Result<(bool, usize, Vec<Variant>), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut json, mut steps, mut variants) = (false, 3usize, Variant::supported());
    let mut i = 0;
    while i < args.len() {
        let value = |i: usize| args.get(i + 1).ok_or_else(|| format!("{} needs a value", args[i]));
        match args[i].as_str() {
            "--json" => json = true,
            "--steps" => {
                steps = value(i)?.parse().map_err(|_| format!("--steps {}: not a positive integer", args[i + 1]))?;
                i += 1;
            }
            "--variant" => {
                let v = value(i)?;
                variants = if v == "all" {
                    Variant::supported()
                } else {
                    vec![Variant::resolve(v).map_err(|e| format!("--variant: {e}"))?]
                };
                i += 1;
            }
            other => {
                return Err(format!(
                    "unknown argument {other} (use --json, --steps N, --variant all|auto|portable|avx2_fma|avx512f)"
                ))
            }
        }
        i += 1;
    }
    if steps == 0 {
        return Err("--steps must be at least 1".into());
    }
    Ok((json, steps, variants))
}

fn main() {
    let (json, steps, variants) = parse_args().unwrap_or_else(|e| {
        eprintln!("bench: {e}");
        std::process::exit(2);
    });
    let cfg = GptConfig { vocab_size: 512, seq_len: 128, n_layer: 4, n_head: 4, d_model: 256 };
    let (b, t) = (8, 128);
    let widest = *variants.last().unwrap();
    let mut figures = Vec::new();
    for &variant in &variants {
        let (peak, peak_kind) = peak_flops(variant);
        let gemm = bench_gemm(variant, 1);
        // the portable variant runs its fused multiply-add in software: one step is enough
        let var_steps = if variant == Variant::Portable { 1 } else { steps };
        let one = bench_training(cfg, b, t, variant, 1, var_steps);
        let two = (variant == widest).then(|| bench_training(cfg, b, t, variant, 2, steps));
        figures.push(VariantFigures { variant, peak, peak_kind, gemm, one, two });
    }
    // other processes on a shared machine distort the 2-thread figure: report the load next to it
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse::<f64>().ok()))
        .unwrap_or(-1.0);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let params = Model::new(cfg, 1).unwrap().num_params();
    if json {
        let per_variant: Vec<String> = figures.iter().map(|f| {
            let two = f.two.as_ref().map_or(String::new(), |r| format!(
                ",\"threads_2\":{{\"tokens_per_s\":{:.1},\"model_flops_per_s\":{:.4e},\"speedup_vs_1\":{:.3}}}",
                r.tokens_per_s, r.flops_per_s, r.tokens_per_s / f.one.tokens_per_s));
            format!(
                "{{\"kernel_variant\":\"{}\",\"tokens_per_s\":{:.1},\"model_flops_per_s\":{:.4e},\"step_seconds\":{:.4},\
\"peak_flops_per_s\":{:.4e},\"peak_kernel\":\"{}\",\"fraction_of_peak\":{:.4},\"gemm_flops_per_s\":{:.4e},\"gemm_fraction_of_peak\":{:.4}{two}}}",
                f.variant.name(), f.one.tokens_per_s, f.one.flops_per_s, f.one.step_s, f.peak, f.peak_kind,
                f.one.flops_per_s / f.peak, f.gemm, f.gemm / f.peak)
        }).collect();
        println!(
            "{{\"config\":{{\"vocab_size\":{},\"seq_len\":{},\"n_layer\":{},\"n_head\":{},\"d_model\":{},\"batch_rows\":{b},\"tokens_per_step\":{},\"docs_per_row\":4}},\
\"params\":{params},\"flops_per_token\":{},\"steps\":{steps},\"variants\":[{}],\"cores\":{cores},\"load_average_1m\":{load}}}",
            cfg.vocab_size, cfg.seq_len, cfg.n_layer, cfg.n_head, cfg.d_model, b * t, cfg.train_flops_per_token(t), per_variant.join(",")
        );
    } else {
        println!("config: {cfg:?}, batch {b}x{t}, {params} parameters; every variant computes the same bits");
        for f in &figures {
            println!(
                "[{}] peak (1 core, {}): {:.1} GFLOP/s; gemm 1024x768x256: {:.1} GFLOP/s ({:.0}% of peak)",
                f.variant.name(),
                f.peak_kind,
                f.peak / 1e9,
                f.gemm / 1e9,
                100.0 * f.gemm / f.peak
            );
            println!(
                "[{}] 1 thread : {:.0} tokens/s, {:.1} GFLOP/s model, {:.1}% of peak",
                f.variant.name(),
                f.one.tokens_per_s,
                f.one.flops_per_s / 1e9,
                100.0 * f.one.flops_per_s / f.peak
            );
            if let Some(two) = &f.two {
                println!("[{}] 2 threads: {:.0} tokens/s, {:.1} GFLOP/s model, speed-up {:.2}x ({cores} cores, load average {load})", f.variant.name(), two.tokens_per_s, two.flops_per_s / 1e9, two.tokens_per_s / f.one.tokens_per_s);
            }
        }
    }
    // a single-core kernel above the single-core peak means the peak probe measures the wrong thing
    let mut over = Vec::new();
    for f in &figures {
        for (what, v) in [("gemm", f.gemm), ("model (1 thread)", f.one.flops_per_s)] {
            if v > f.peak {
                over.push(format!(
                    "{} {what}: {:.2} GFLOP/s > peak {:.2} GFLOP/s ({})",
                    f.variant.name(),
                    v / 1e9,
                    f.peak / 1e9,
                    f.peak_kind
                ));
            }
        }
    }
    if !over.is_empty() {
        eprintln!(
            "bench: FAILED: measured kernels exceed the measured peak, so the peak probe is wrong:\n  {}",
            over.join("\n  ")
        );
        std::process::exit(1);
    }
}
