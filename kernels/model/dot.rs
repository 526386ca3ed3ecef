//! Dot products with a fixed summation order, and the one-row dense layer (`matvec`) generation runs on.
//!
//! `dot(a, b)`: lane l (of 8) sums a[i]·b[i] for i ≡ l (mod 8) in ascending i, each product rounded and then added
//! (never fused), then the lanes are reduced in a fixed tree and the tail is added in order. Every faster path here
//! (SSE, AVX, several rows at once) performs exactly these operations per lane, so the bits never depend on the CPU
//! or the kernel variant; only the speed does.

use crate::threads::Variant;

/// Dot product with 8 fixed partial sums: lane l sums a[i]·b[i] for i ≡ l (mod 8), each product rounded, then
/// added (no fused multiply-add), in ascending i; then a fixed reduction of the lanes and the tail.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let b = &b[..a.len()];
    dot_finish(&lane_sums(a, [b])[0], a, b)
}

/// `[dot(x, w0), dot(x, w1), dot(x, w2), dot(x, w3)]`, bit for bit, with each chunk of `x` loaded once for four rows.
#[inline]
pub fn dot4(x: &[f32], w: [&[f32]; 4]) -> [f32; 4] {
    let n = x.len();
    let w = [&w[0][..n], &w[1][..n], &w[2][..n], &w[3][..n]];
    let acc = lane_sums(x, w);
    [
        dot_finish(&acc[0], x, w[0]),
        dot_finish(&acc[1], x, w[1]),
        dot_finish(&acc[2], x, w[2]),
        dot_finish(&acc[3], x, w[3]),
    ]
}

/// The 8 lane sums of `dot` for R rows over the whole 8-chunks of `x` (every `w[r]` is at least as long as `x`).
/// On x86_64 in SSE registers (part of the architecture's baseline, so no detection): a lane's operations are the
/// portable loop's, a multiply then an add, each rounded, so both give the same bits; explicit because the
/// compiler's own vectorisation of the portable loop across rows shuffles more than it multiplies.
#[inline(always)]
fn lane_sums<const R: usize>(x: &[f32], w: [&[f32]; R]) -> [[f32; 8]; R] {
    let n8 = x.len() / 8 * 8;
    for row in &w {
        assert!(row.len() >= n8, "lane_sums: a row is shorter than x");
    }
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__m128, _mm_add_ps, _mm_loadu_ps, _mm_mul_ps, _mm_setzero_ps, _mm_storeu_ps};
        // SAFETY: SSE is enabled on every x86_64 target; every load reads 4 floats at index i + 0 or i + 4 with
        // i + 8 ≤ n8 ≤ the length of x and of each row (asserted above); stores go to 8-float arrays.
        unsafe {
            let mut lo: [__m128; R] = [_mm_setzero_ps(); R];
            let mut hi: [__m128; R] = [_mm_setzero_ps(); R];
            let mut i = 0;
            while i < n8 {
                let x0 = _mm_loadu_ps(x.as_ptr().add(i));
                let x1 = _mm_loadu_ps(x.as_ptr().add(i + 4));
                for r in 0..R {
                    let wp = w[r].as_ptr().add(i);
                    lo[r] = _mm_add_ps(lo[r], _mm_mul_ps(x0, _mm_loadu_ps(wp)));
                    hi[r] = _mm_add_ps(hi[r], _mm_mul_ps(x1, _mm_loadu_ps(wp.add(4))));
                }
                i += 8;
            }
            let mut out = [[0f32; 8]; R];
            for r in 0..R {
                _mm_storeu_ps(out[r].as_mut_ptr(), lo[r]);
                _mm_storeu_ps(out[r].as_mut_ptr().add(4), hi[r]);
            }
            out
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        lane_sums_portable(x, w)
    }
}

/// The lane sums as plain loops: the definition `lane_sums` must match bit for bit (tested).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn lane_sums_portable<const R: usize>(x: &[f32], w: [&[f32]; R]) -> [[f32; 8]; R] {
    let mut acc = [[0f32; 8]; R];
    for (i, cx) in x.chunks_exact(8).enumerate() {
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let cw = &w[r][i * 8..i * 8 + 8];
            for l in 0..8 {
                acc_r[l] += cx[l] * cw[l];
            }
        }
    }
    acc
}

/// The lane reduction and the tail of `dot` (shared by `dot4`, so both give the same bits).
#[inline(always)]
fn dot_finish(acc: &[f32; 8], a: &[f32], b: &[f32]) -> f32 {
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    let tail = a.len() / 8 * 8;
    for i in tail..a.len() {
        s += a[i] * b[i];
    }
    s
}

/// `lane_sums` in 256-bit AVX registers: one register holds a row's 8 lanes (still a multiply, then an add).
///
/// # Safety
/// The CPU must support AVX (`is_x86_feature_detected!("avx")`); every `w[r]` is at least as long as `x`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn lane_sums_avx<const R: usize>(x: &[f32], w: [&[f32]; R]) -> [[f32; 8]; R] {
    use std::arch::x86_64::{
        __m256, _mm256_add_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_setzero_ps, _mm256_storeu_ps,
    };
    let n8 = x.len() / 8 * 8;
    let mut acc: [__m256; R] = [_mm256_setzero_ps(); R];
    let mut i = 0;
    while i < n8 {
        let xv = _mm256_loadu_ps(x.as_ptr().add(i));
        for r in 0..R {
            acc[r] = _mm256_add_ps(acc[r], _mm256_mul_ps(xv, _mm256_loadu_ps(w[r].as_ptr().add(i))));
        }
        i += 8;
    }
    let mut out = [[0f32; 8]; R];
    for r in 0..R {
        _mm256_storeu_ps(out[r].as_mut_ptr(), acc[r]);
    }
    out
}

/// Whether `matvec` may take the AVX path under `variant` (the vector variants, on a CPU that has AVX).
fn wide(variant: Variant) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        variant != Variant::Portable && std::arch::is_x86_feature_detected!("avx")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = variant;
        false
    }
}

/// y[o] = b[o] + dot(x, w[o])   (w: [O,C] row-major, C = x.len()): one row of activations through a dense layer.
/// Eight outputs at a time in AVX registers under the vector variants, four at a time in SSE registers otherwise;
/// both give `dot`'s bits for every output.
pub fn matvec(variant: Variant, y: &mut [f32], x: &[f32], w: &[f32], b: Option<&[f32]>) {
    let c = x.len();
    assert!(w.len() >= y.len() * c, "matvec: w holds {} floats, needs {} x {}", w.len(), y.len(), c);
    let row = |o: usize| &w[o * c..(o + 1) * c];
    let bias = |o: usize| b.map_or(0.0, |b| b[o]);
    let mut o = 0;
    #[cfg(target_arch = "x86_64")]
    if wide(variant) {
        while o + 8 <= y.len() {
            let rows: [&[f32]; 8] = std::array::from_fn(|r| row(o + r));
            // SAFETY: `wide` checked that the CPU has AVX; every row has exactly c = x.len() floats.
            let acc = unsafe { lane_sums_avx(x, rows) };
            for r in 0..8 {
                y[o + r] = dot_finish(&acc[r], x, rows[r]) + bias(o + r);
            }
            o += 8;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = wide(variant);
    while o + 4 <= y.len() {
        let d = dot4(x, [row(o), row(o + 1), row(o + 2), row(o + 3)]);
        for r in 0..4 {
            y[o + r] = d[r] + bias(o + r);
        }
        o += 4;
    }
    for o in o..y.len() {
        y[o] = dot(x, row(o)) + bias(o);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn lane_sums_give_the_bits_of_the_portable_loop() {
        let mut rng = Rng::new(5);
        for n in [0, 8, 9, 64, 130] {
            let mut x = rng.normal_vec(n, 1.0);
            let w: Vec<Vec<f32>> = (0..4).map(|_| rng.normal_vec(n, 1e-3)).collect();
            if n > 0 {
                x[0] = 1e-40; // a subnormal: no flush-to-zero on either path
            }
            let rows = [&w[0][..], &w[1][..], &w[2][..], &w[3][..]];
            let (fast, slow) = (lane_sums(&x, rows), lane_sums_portable(&x, rows));
            for r in 0..4 {
                for l in 0..8 {
                    assert_eq!(fast[r][l].to_bits(), slow[r][l].to_bits(), "n {n} row {r} lane {l}");
                }
            }
        }
    }

    #[test]
    fn dot4_gives_the_bits_of_four_dots() {
        let mut rng = Rng::new(3);
        for n in [0, 1, 7, 8, 9, 31, 128, 131] {
            let x = rng.normal_vec(n, 1.0);
            let w: Vec<Vec<f32>> = (0..4).map(|_| rng.normal_vec(n + 5, 1.0)).collect();
            let got = dot4(&x, [&w[0], &w[1], &w[2], &w[3]]);
            for r in 0..4 {
                assert_eq!(got[r].to_bits(), dot(&x, &w[r]).to_bits(), "n {n} row {r}");
            }
        }
    }

    #[test]
    fn matvec_gives_the_bits_of_dot_under_every_variant() {
        let mut rng = Rng::new(9);
        for (o, c) in [(1, 1), (3, 8), (8, 16), (13, 37), (35, 128), (64, 130)] {
            let x = rng.normal_vec(c, 1.0);
            let w = rng.normal_vec(o * c, 0.1);
            let b = rng.normal_vec(o, 0.1);
            let want: Vec<u32> = (0..o).map(|r| (dot(&x, &w[r * c..(r + 1) * c]) + b[r]).to_bits()).collect();
            for variant in Variant::supported() {
                let mut y = vec![0f32; o];
                matvec(variant, &mut y, &x, &w, Some(&b));
                assert_eq!(y.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want, "{o}x{c} {}", variant.name());
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx_lane_sums_give_the_bits_of_the_portable_loop() {
        if !std::arch::is_x86_feature_detected!("avx") {
            return; // this CPU has no AVX path to compare; matvec never takes it here
        }
        let mut rng = Rng::new(11);
        for n in [0, 8, 24, 129] {
            let x = rng.normal_vec(n, 1.0);
            let w: Vec<Vec<f32>> = (0..8).map(|_| rng.normal_vec(n, 1e-3)).collect();
            let rows: [&[f32]; 8] = std::array::from_fn(|r| &w[r][..]);
            // SAFETY: AVX was detected above; every row is as long as x.
            let fast = unsafe { lane_sums_avx(&x, rows) };
            assert_eq!(fast, lane_sums_portable(&x, rows), "n {n}");
        }
    }
}
