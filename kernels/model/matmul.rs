//! Dense layers: `out = inp · Wᵀ + b` and its backward, on one blocked, register-tiled GEMM.
//!
//! GEMM plan (all f32, row-major):
//!   C[m×n] (+)= A[m×k] · B[k×n]
//!   1. pack B once into column panels `[n/NR][k][NR]` (zero-padded; the panels packed on the threads),
//!      shared read-only;
//!   2. cut C into row blocks of `MB` rows: these are the tasks (fixed by m, not by threads);
//!   3. each task packs its A rows into `[MB/MR][k][MR]` (a buffer per thread, from the calling
//!      thread's pool) and runs an MR×NR micro-kernel over
//!      the full k range.
//!
//! Every C element is one chain c ← fma(a_k, b_k, c), k ascending from c = 0, in every variant:
//! the vector variants vectorise across independent C columns (8 or 16 lanes), never inside one
//! sum, and the portable one computes the same fused operation in software (`fma_f32`). So the
//! bits of C depend neither on the thread count nor on the variant; only the speed does.

use crate::elementary::{fma_f32_needs_exact, fma_f32_slow};
use crate::scratch::{scratch_give, scratch_take_dirty};
use crate::threads::{threads_run, threads_run_with, Ctx, Variant};

const MR: usize = 6; // rows per micro-tile
const MB: usize = 8 * MR; // rows per task

/// How an operand is stored in memory.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `X[r×c]` stored row-major as is.
    Normal,
    /// The operand is the transpose of the stored row-major `[c×r]` matrix.
    Transposed,
}

fn panel_width(variant: Variant) -> usize {
    match variant {
        Variant::Avx512 => 32,
        _ => 16,
    }
}

// ---------------------------------------------------------------- public layer API

/// out[N,O] = inp[N,C] · w[O,C]ᵀ + bias[O]
pub fn matmul_forward(
    ctx: Ctx,
    out: &mut [f32],
    inp: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    n: usize,
    c: usize,
    o: usize,
) {
    gemm(ctx, out, inp, Layout::Normal, w, Layout::Transposed, n, o, c, false);
    if let Some(bias) = bias {
        for row in out.chunks_mut(o) {
            for (y, b) in row.iter_mut().zip(bias) {
                *y += b;
            }
        }
    }
}

/// Accumulates gradients: dinp[N,C] += dout·w, dw[O,C] += doutᵀ·inp, dbias[O] += Σ_n dout.
#[allow(clippy::too_many_arguments)]
pub fn matmul_backward(
    ctx: Ctx,
    dinp: &mut [f32],
    dw: &mut [f32],
    dbias: Option<&mut [f32]>,
    dout: &[f32],
    inp: &[f32],
    w: &[f32],
    n: usize,
    c: usize,
    o: usize,
) {
    gemm(ctx, dinp, dout, Layout::Normal, w, Layout::Normal, n, c, o, true);
    gemm(ctx, dw, dout, Layout::Transposed, inp, Layout::Normal, o, c, n, true);
    if let Some(dbias) = dbias {
        for row in dout.chunks(o) {
            for (db, d) in dbias.iter_mut().zip(row) {
                *db += d;
            }
        }
    }
}

// ---------------------------------------------------------------- GEMM driver

/// C[m×n] = A[m×k]·B[k×n] (+ C when `accumulate`). A and B may be given transposed.
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    ctx: Ctx,
    c: &mut [f32],
    a: &[f32],
    a_layout: Layout,
    b: &[f32],
    b_layout: Layout,
    m: usize,
    n: usize,
    k: usize,
    accumulate: bool,
) {
    assert!(c.len() >= m * n && a.len() >= m * k && b.len() >= k * n, "gemm: operand too small");
    assert!(ctx.variant.is_supported(), "gemm: kernel variant {} not supported by this CPU", ctx.variant.name());
    if m == 0 || n == 0 {
        return;
    }
    let nr = panel_width(ctx.variant);
    let panels = n.div_ceil(nr);
    // ---- 1. pack B: [panel][k][nr], the panels on the threads (a copy: no bits depend on who packs); the columns
    // past n of the last panel are zeros
    let mut bp = scratch_take_dirty(panels * k * nr);
    let pack_tasks: Vec<(usize, &mut [f32])> = bp.chunks_mut(k * nr).enumerate().collect();
    threads_run(ctx.threads.min(panels.div_ceil(4)), pack_tasks, |(p, dst)| {
        let cols = nr.min(n - p * nr);
        match b_layout {
            Layout::Normal => {
                (0..k).for_each(|kk| dst[kk * nr..kk * nr + cols].copy_from_slice(&b[kk * n + p * nr..][..cols]))
            }
            Layout::Transposed => {
                for j in 0..cols {
                    let src = &b[(p * nr + j) * k..][..k];
                    (0..k).for_each(|kk| dst[kk * nr + j] = src[kk]);
                }
            }
        }
        if cols < nr {
            (0..k).for_each(|kk| dst[kk * nr + cols..(kk + 1) * nr].fill(0.0));
        }
    });
    // ---- 2. one task per MB-row block of C; each thread packs into its own A buffer and accumulator, taken here
    let tasks: Vec<(usize, &mut [f32])> = c[..m * n].chunks_mut(MB * n).enumerate().collect();
    let workers = ctx.threads.max(1).min(tasks.len());
    let states: Vec<(Vec<f32>, Vec<f32>)> =
        (0..workers).map(|_| (scratch_take_dirty(MB * k), scratch_take_dirty(MR * nr))).collect();
    let bpr = &bp;
    let states = threads_run_with(states, tasks, |(ap, acc), (t, c_block)| {
        let row0 = t * MB;
        let rows = c_block.len() / n;
        let tiles = rows.div_ceil(MR);
        // ---- 3. pack this block's A rows: [tile][k][MR]; the rows past the block's last are zeros
        match a_layout {
            Layout::Normal => {
                for i in 0..rows {
                    let (tile, r) = (i / MR, i % MR);
                    let src = &a[(row0 + i) * k..][..k];
                    (0..k).for_each(|kk| ap[tile * k * MR + kk * MR + r] = src[kk]);
                }
            }
            Layout::Transposed => {
                for kk in 0..k {
                    let src = &a[kk * m + row0..][..rows];
                    (0..rows).for_each(|i| ap[(i / MR) * k * MR + kk * MR + i % MR] = src[i]);
                }
            }
        }
        for i in rows..tiles * MR {
            let (tile, r) = (i / MR, i % MR);
            (0..k).for_each(|kk| ap[tile * k * MR + kk * MR + r] = 0.0);
        }
        for p in 0..panels {
            let bpanel = &bpr[p * k * nr..(p + 1) * k * nr];
            let cols = nr.min(n - p * nr);
            for tile in 0..tiles {
                let apanel = &ap[tile * k * MR..(tile + 1) * k * MR];
                microkernel(ctx.variant, apanel, bpanel, k, acc);
                for r in 0..MR.min(rows - tile * MR) {
                    let dst = &mut c_block[(tile * MR + r) * n + p * nr..][..cols];
                    let src = &acc[r * nr..r * nr + cols];
                    if accumulate {
                        dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
                    } else {
                        dst.copy_from_slice(src);
                    }
                }
            }
        }
    });
    for (ap, acc) in states {
        scratch_give(ap);
        scratch_give(acc);
    }
    scratch_give(bp);
}

// ---------------------------------------------------------------- micro-kernels

/// acc[MR×nr] = Σ_k ap[k][MR] ⊗ bp[k][nr]   (k ascending)
fn microkernel(variant: Variant, ap: &[f32], bp: &[f32], k: usize, acc: &mut [f32]) {
    match variant {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `gemm` asserted the CPU supports the variant; slices hold k·MR / k·nr floats.
        Variant::Avx512 => unsafe { microkernel_avx512(ap, bp, k, acc) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Variant::Avx2Fma => unsafe { microkernel_avx2(ap, bp, k, acc) },
        _ => microkernel_portable(ap, bp, k, acc),
    }
}

fn microkernel_portable(ap: &[f32], bp: &[f32], k: usize, acc: &mut [f32]) {
    const NR: usize = 16;
    let mut t = [[0f32; NR]; MR];
    for kk in 0..k {
        let b: &[f32; NR] = bp[kk * NR..kk * NR + NR].try_into().unwrap();
        let a: &[f32; MR] = ap[kk * MR..kk * MR + MR].try_into().unwrap();
        for r in 0..MR {
            // `fma_f32`'s common case for a whole row at once (vectorizable), its exact path
            // for the rare row that needs it; either way each element is fma(a, b, t)
            let ar = a[r] as f64;
            let mut s = [0f64; NR];
            let mut rare = false;
            for j in 0..NR {
                s[j] = ar * b[j] as f64 + t[r][j] as f64;
                rare |= fma_f32_needs_exact(s[j].to_bits());
            }
            if rare {
                for j in 0..NR {
                    t[r][j] = if fma_f32_needs_exact(s[j].to_bits()) {
                        fma_f32_slow(a[r], b[j], t[r][j])
                    } else {
                        s[j] as f32
                    };
                }
            } else {
                for j in 0..NR {
                    t[r][j] = s[j] as f32;
                }
            }
        }
    }
    for r in 0..MR {
        acc[r * NR..r * NR + NR].copy_from_slice(&t[r]);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn microkernel_avx2(ap: &[f32], bp: &[f32], k: usize, acc: &mut [f32]) {
    use std::arch::x86_64::*;
    const NR: usize = 16;
    assert!(ap.len() >= k * MR && bp.len() >= k * NR && acc.len() >= MR * NR);
    let (a, b) = (ap.as_ptr(), bp.as_ptr());
    let mut c = [[_mm256_setzero_ps(); 2]; MR];
    for kk in 0..k {
        let b0 = _mm256_loadu_ps(b.add(kk * NR));
        let b1 = _mm256_loadu_ps(b.add(kk * NR + 8));
        for r in 0..MR {
            let av = _mm256_broadcast_ss(&*a.add(kk * MR + r));
            c[r][0] = _mm256_fmadd_ps(av, b0, c[r][0]);
            c[r][1] = _mm256_fmadd_ps(av, b1, c[r][1]);
        }
    }
    for r in 0..MR {
        _mm256_storeu_ps(acc.as_mut_ptr().add(r * NR), c[r][0]);
        _mm256_storeu_ps(acc.as_mut_ptr().add(r * NR + 8), c[r][1]);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn microkernel_avx512(ap: &[f32], bp: &[f32], k: usize, acc: &mut [f32]) {
    use std::arch::x86_64::*;
    const NR: usize = 32;
    assert!(ap.len() >= k * MR && bp.len() >= k * NR && acc.len() >= MR * NR);
    let (a, b) = (ap.as_ptr(), bp.as_ptr());
    let mut c = [[_mm512_setzero_ps(); 2]; MR];
    for kk in 0..k {
        let b0 = _mm512_loadu_ps(b.add(kk * NR));
        let b1 = _mm512_loadu_ps(b.add(kk * NR + 16));
        for r in 0..MR {
            let av = _mm512_set1_ps(*a.add(kk * MR + r));
            c[r][0] = _mm512_fmadd_ps(av, b0, c[r][0]);
            c[r][1] = _mm512_fmadd_ps(av, b1, c[r][1]);
        }
    }
    for r in 0..MR {
        _mm512_storeu_ps(acc.as_mut_ptr().add(r * NR), c[r][0]);
        _mm512_storeu_ps(acc.as_mut_ptr().add(r * NR + 16), c[r][1]);
    }
}

// ---------------------------------------------------------------- reference (oracle)

/// Naive f64 reference of `matmul_forward`, the oracle for parity tests.
pub fn matmul_forward_reference(
    inp: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    n: usize,
    c: usize,
    o: usize,
) -> Vec<f32> {
    let mut out = vec![0f32; n * o];
    for i in 0..n {
        for j in 0..o {
            let mut s = bias.map_or(0.0, |b| b[j] as f64);
            for kk in 0..c {
                s += inp[i * c + kk] as f64 * w[j * c + kk] as f64;
            }
            out[i * o + j] = s as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn variants() -> Vec<Variant> {
        [Variant::Portable, Variant::Avx2Fma, Variant::Avx512].into_iter().filter(|v| v.is_supported()).collect()
    }

    #[test]
    fn matmul_forward_matches_reference_for_every_variant_and_ragged_shapes() {
        let mut rng = Rng::new(1);
        for &(n, c, o) in &[(1, 1, 1), (7, 5, 3), (50, 33, 70), (97, 64, 17)] {
            let inp = rng.normal_vec(n * c, 1.0);
            let w = rng.normal_vec(o * c, 1.0);
            let b = rng.normal_vec(o, 1.0);
            let want = matmul_forward_reference(&inp, &w, Some(&b), n, c, o);
            for v in variants() {
                let mut out = vec![0f32; n * o];
                matmul_forward(Ctx::new(2, v), &mut out, &inp, &w, Some(&b), n, c, o);
                for (x, y) in out.iter().zip(&want) {
                    assert!((x - y).abs() <= 1e-4 * (1.0 + y.abs()), "{v:?} {n}x{c}x{o}: {x} vs {y}");
                }
            }
        }
    }

    #[test]
    fn matmul_backward_matches_reference() {
        let mut rng = Rng::new(2);
        let (n, c, o) = (13, 9, 11);
        let inp = rng.normal_vec(n * c, 1.0);
        let w = rng.normal_vec(o * c, 1.0);
        let dout = rng.normal_vec(n * o, 1.0);
        for v in variants() {
            let (mut dinp, mut dw, mut db) = (vec![1f32; n * c], vec![1f32; o * c], vec![1f32; o]);
            matmul_backward(Ctx::new(3, v), &mut dinp, &mut dw, Some(&mut db), &dout, &inp, &w, n, c, o);
            for i in 0..n {
                for kk in 0..c {
                    let s: f64 = (0..o).map(|j| dout[i * o + j] as f64 * w[j * c + kk] as f64).sum();
                    assert!((dinp[i * c + kk] as f64 - 1.0 - s).abs() < 1e-4);
                }
            }
            for j in 0..o {
                for kk in 0..c {
                    let s: f64 = (0..n).map(|i| dout[i * o + j] as f64 * inp[i * c + kk] as f64).sum();
                    assert!((dw[j * c + kk] as f64 - 1.0 - s).abs() < 1e-4);
                }
                let s: f64 = (0..n).map(|i| dout[i * o + j] as f64).sum();
                assert!((db[j] as f64 - 1.0 - s).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn matmul_gradients_match_finite_differences() {
        use crate::gradcheck::{grad_check, Projection};
        let (n, c, o) = (5, 4, 3);
        let mut rng = Rng::new(4);
        let (inp, w, b) = (rng.normal_vec(n * c, 1.0), rng.normal_vec(o * c, 1.0), rng.normal_vec(o, 1.0));
        let proj = Projection::new(n * o, 5);
        let ctx = Ctx::new(1, Variant::detect());
        let fwd = |x: &[f32], w: &[f32], b: &[f32]| {
            let mut out = vec![0f32; n * o];
            matmul_forward(ctx, &mut out, x, w, Some(b), n, c, o);
            proj.loss(&out)
        };
        let (mut dx, mut dw, mut db) = (vec![0f32; n * c], vec![0f32; o * c], vec![0f32; o]);
        matmul_backward(ctx, &mut dx, &mut dw, Some(&mut db), &proj.r, &inp, &w, n, c, o);
        grad_check("matmul.inp", &inp, &dx, |x| fwd(x, &w, &b));
        grad_check("matmul.w", &w, &dw, |w| fwd(&inp, w, &b));
        grad_check("matmul.bias", &b, &db, |b| fwd(&inp, &w, b));
    }

    #[test]
    fn gemm_is_bitwise_identical_across_thread_counts() {
        let mut rng = Rng::new(3);
        let (m, n, k) = (130, 45, 77);
        let a = rng.normal_vec(m * k, 1.0);
        let b = rng.normal_vec(k * n, 1.0);
        for v in variants() {
            let run = |threads| {
                let mut c = vec![0f32; m * n];
                gemm(Ctx::new(threads, v), &mut c, &a, Layout::Normal, &b, Layout::Normal, m, n, k, false);
                c.iter().map(|x| x.to_bits()).collect::<Vec<u32>>()
            };
            let one = run(1);
            assert_eq!(one, run(2));
            assert_eq!(one, run(5));
        }
    }
}
