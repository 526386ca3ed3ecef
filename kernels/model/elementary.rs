//! The model's elementary functions in its own IEEE-754 arithmetic, never libm: fused
//! multiply-add, exp, tanh, ln, cos(π·x) and integer powers. Every function is a fixed
//! sequence of correctly rounded operations (+ − × ÷ √, conversions, bit manipulation),
//! so every CPU, kernel variant, thread count and C library computes the same bits.
//! Nothing here may call `f32::exp`, `f64::ln`, `cos`, `powi`, `mul_add`, `floor`, `%` or
//! the like: those go to the platform's libm (or a compiler built-in) whose last bits differ
//! between implementations. `libm_free_sources` below checks the crate for such calls.

// ---------------------------------------------------------------- fused multiply-add

/// `a·b + c` rounded once (IEEE-754 fusedMultiplyAdd, round to nearest even), bit for bit what
/// a hardware FMA instruction returns for finite results, on any CPU.
///
/// The product of two f32 is exact in f64 (24 + 24 ≤ 53 significand bits), so only the sum is
/// rounded twice (to f64, then to f32). That double rounding can differ from one rounding only
/// when the f64 sum lands exactly on a midpoint between two f32 neighbours (or lies in the f32
/// subnormal range, where midpoints have other bit patterns); those rare cases take the exact
/// path: the sum's rounding error (TwoSum) decides, by rounding to odd, which side it was on.
#[inline(always)]
#[allow(dead_code)] // the scalar form; the portable micro-kernel inlines its steps row by row (matmul.rs)
pub fn fma_f32(a: f32, b: f32, c: f32) -> f32 {
    let p = a as f64 * b as f64;
    let s = p + c as f64;
    if !fma_f32_needs_exact(s.to_bits()) {
        return s as f32;
    }
    fma_f32_exact(p, c as f64, s)
}

/// True when `s = a·b + c` rounded to f64 may round to f32 differently from the exact sum: its
/// low 29 bits are 1000…0 (an f32 midpoint), or 0 < |s| < 2⁻¹²⁶ (the f32 subnormal range, where
/// midpoints sit elsewhere). Zero is exact. Branch-free, so callers can test many lanes at once.
#[inline(always)]
pub fn fma_f32_needs_exact(bits: u64) -> bool {
    // 32-bit halves and signed compares: what SSE2 does natively, so loops over lanes vectorize
    let (lo, hi) = (bits as u32, (bits >> 32) as u32);
    let exponent = ((hi >> 20) & 0x7FF) as i32; // 0 only for s = 0 (p + c is never an f64 subnormal)
    (lo & 0x1FFF_FFFF == 0x1000_0000) | ((exponent > 0) & (exponent < 897))
}

/// `fma_f32` for when `fma_f32_needs_exact` said so: the exact path.
#[cold]
#[inline(never)]
pub fn fma_f32_slow(a: f32, b: f32, c: f32) -> f32 {
    let p = a as f64 * b as f64;
    fma_f32_exact(p, c as f64, p + c as f64)
}

#[cold]
#[inline(never)]
fn fma_f32_exact(p: f64, c: f64, s: f64) -> f32 {
    if s == 0.0 || !s.is_finite() {
        return s as f32; // p + c = 0 is exact (both are multiples of 2⁻²⁹⁸); inf/NaN propagate
    }
    // TwoSum: err = (p + c) − s exactly (no overflow: |p|, |c| < 2²⁵⁶)
    let pb = s - p;
    let err = (p - (s - pb)) + (c - pb);
    if err == 0.0 {
        return s as f32;
    }
    // round to odd: when s is even, step one f64 ulp towards the exact sum. A value rounded to
    // odd with ≥ 2 extra bits rounds to nearest f32 exactly as the exact sum does.
    let bits = s.to_bits();
    let odd = if bits & 1 == 1 {
        bits
    } else if (err > 0.0) == (s > 0.0) {
        bits + 1
    } else {
        bits - 1
    };
    f64::from_bits(odd) as f32
}

// ---------------------------------------------------------------- exp and tanh (f32)

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
const ROUND: f32 = 12_582_912.0; // 1.5·2²³: adding and subtracting it rounds to nearest

/// e^x (Cephes-style range reduction + degree-6 polynomial, ≤ 2 ulp on [-87, 88]);
/// x ≤ -87.3 flushes towards 0, x ≥ 88.7 saturates to +inf. Branch-free, vectorizable.
#[inline]
pub fn exp_f32(x: f32) -> f32 {
    let x = x.clamp(-87.3, 88.7);
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5.000_000_1e-1;
    let y = p * r * r + r + 1.0;
    // 2^n through the exponent bits, split in two so n = 128 (x near 88.7) stays representable
    let n = n as i32;
    let half = n / 2;
    let s1 = f32::from_bits(((half + 127) as u32) << 23);
    let s2 = f32::from_bits(((n - half + 127) as u32) << 23);
    y * s1 * s2
}

/// tanh(x) = 1 − 2/(e^{2x} + 1); absolute error ≤ 3e-7.
#[inline]
pub fn tanh_f32(x: f32) -> f32 {
    1.0 - 2.0 / (exp_f32(2.0 * x) + 1.0)
}

// ---------------------------------------------------------------- exp, ln (f64)

/// ln 2 split so that n·LN2_HI_64 is exact for |n| < 2¹¹ (42-bit significand) and
/// LN2_HI_64 + LN2_LO_64 = ln 2 to 2⁻¹⁰⁰.
const LN2_HI_64: f64 = 0.6931471805598903;
const LN2_LO_64: f64 = 5.497923018708371e-14;
const LOG2E_64: f64 = std::f64::consts::LOG2_E;
const ROUND_64: f64 = 6_755_399_441_055_744.0; // 1.5·2⁵²

/// 1/n! for n = 0..=18 (n! is exact in f64 up to 22!, so each entry is correctly rounded).
const INV_FACT: [f64; 19] = {
    let mut t = [1.0f64; 19];
    let mut f = 1.0f64;
    let mut n = 1;
    while n < 19 {
        f *= n as f64;
        t[n] = 1.0 / f;
        n += 1;
    }
    t
};

/// 2^n for n in [-1074, 1023] as two normal factors (their product rounds once, into
/// the subnormal range when it must).
#[inline]
fn scale2(y: f64, n: i64) -> f64 {
    let half = n / 2;
    let s1 = f64::from_bits(((half + 1023) as u64) << 52);
    let s2 = f64::from_bits(((n - half + 1023) as u64) << 52);
    y * s1 * s2
}

/// e^x in f64, relative error ≤ 2e-16 (range reduction by ln 2, Taylor polynomial of
/// degree 13 on |r| ≤ ln2/2); 0 below -745.2, +inf above 709.78.
pub fn exp_f64(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 709.78 {
        return f64::INFINITY;
    }
    if x < -745.2 {
        return 0.0;
    }
    let n = (x * LOG2E_64 + ROUND_64) - ROUND_64;
    let r = (x - n * LN2_HI_64) - n * LN2_LO_64;
    let mut p = INV_FACT[13];
    let mut i = 13;
    while i > 0 {
        i -= 1;
        p = p * r + INV_FACT[i];
    }
    scale2(p, n as i64)
}

/// Natural logarithm in f64, relative error ≤ 3e-16: x = 2^e·m with m in [√½, √2),
/// ln m = 2·atanh(s), s = (m − 1)/(m + 1), as an odd series in s to s²³.
pub fn ln_f64(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x == f64::INFINITY {
        return x;
    }
    let (mut bits, mut e) = (x.to_bits(), 0i64);
    if bits >> 52 == 0 {
        bits = (x * 18_014_398_509_481_984.0).to_bits(); // subnormal: scale by 2⁵⁴ first
        e = -54;
    }
    e += ((bits >> 52) as i64) - 1023;
    let mut m = f64::from_bits((bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000); // [1, 2)
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let f = m - 1.0; // exact (Sterbenz)
    let s = f / (2.0 + f);
    let z = s * s;
    // atanh(s)/s − 1 = z/3 + z²/5 + … + z¹¹/23
    let mut q = 1.0 / 23.0;
    let mut k = 21.0;
    while k > 1.0 {
        q = q * z + 1.0 / k;
        k -= 2.0;
    }
    let ln_m = 2.0 * s + 2.0 * s * (z * q);
    let e = e as f64;
    e * LN2_HI_64 + (ln_m + e * LN2_LO_64)
}

/// Natural logarithm of an f32 (through `ln_f64`, then rounded once to f32).
#[inline]
pub fn ln_f32(x: f32) -> f32 {
    ln_f64(x as f64) as f32
}

// ---------------------------------------------------------------- cos(π·x), powers

/// cos(π·x) in f64 for |x| < 2⁵² (absolute error ≤ 2e-16). The argument is reduced exactly
/// (integer part by truncation, symmetries about ½ and ¼), then a Taylor polynomial of
/// cos or sin on [0, π/4] does the rest.
pub fn cos_pi(x: f64) -> f64 {
    assert!(x.is_finite() && x.abs() < 4_503_599_627_370_496.0, "cos_pi: argument {x} out of range");
    let x = x.abs();
    let k = x as i64; // truncation: exact integer part
    let mut q = x - k as f64; // [0, 1), exact
    let mut sign = if k % 2 == 0 { 1.0 } else { -1.0 };
    if q > 0.5 {
        q = 1.0 - q; // cos(π(1 − q)) = −cos(πq); exact (Sterbenz)
        sign = -sign;
    }
    let v = if q <= 0.25 {
        let t = q * std::f64::consts::PI;
        let t2 = t * t;
        // Σ (−1)ⁿ t²ⁿ/(2n)!, n = 0..=9
        let mut p = INV_FACT[18];
        let mut n = 9;
        while n > 0 {
            n -= 1;
            p = INV_FACT[2 * n] - t2 * p;
        }
        p
    } else {
        let t = (0.5 - q) * std::f64::consts::PI; // cos(πq) = sin(π(½ − q))
        let t2 = t * t;
        // t · Σ (−1)ⁿ t²ⁿ/(2n+1)!, n = 0..=8
        let mut p = INV_FACT[17];
        let mut n = 8;
        while n > 0 {
            n -= 1;
            p = INV_FACT[2 * n + 1] - t2 * p;
        }
        t * p
    };
    sign * v
}

/// x^n by binary exponentiation (a fixed sequence of multiplications for each n).
pub fn powi_f32(x: f32, n: u64) -> f32 {
    let (mut result, mut base, mut n) = (1.0f32, x, n);
    while n > 0 {
        if n & 1 == 1 {
            result *= base;
        }
        n >>= 1;
        if n > 0 {
            base *= base;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    // The platform's libm is the accuracy reference here, never the implementation.

    #[test]
    fn exp_and_tanh_match_libm() {
        let mut x = -87.0f32;
        while x < 88.0 {
            let (a, b) = (exp_f32(x), x.exp());
            assert!(((a - b) / b).abs() < 3e-7, "exp({x}) = {a} vs {b}");
            let (a, b) = (tanh_f32(x / 8.0), (x / 8.0).tanh());
            assert!((a - b).abs() < 3e-7, "tanh({}) = {a} vs {b}", x / 8.0);
            x += 0.0137;
        }
        assert!(exp_f32(-1000.0) < 1e-37);
        assert_eq!(tanh_f32(50.0), 1.0);
        assert_eq!(tanh_f32(-50.0), -1.0);
    }

    fn random_f32(rng: &mut Rng, exp_range: i32) -> f32 {
        let e = (rng.next_u64() % (2 * exp_range as u64 + 1)) as i32 - exp_range;
        let m = 1.0 + (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        let s = if rng.next_u64() & 1 == 0 { 1.0 } else { -1.0 };
        s * m * 2f32.powi(e)
    }

    /// Cases where rounding the exact sum to f64 first lands on an f32 midpoint.
    fn midpoint_cases() -> Vec<(f32, f32, f32)> {
        let u = f32::EPSILON; // 2⁻²³
        let mut v = Vec::new();
        // (1 + u)(1 − u)·u/2 = half an ulp of c minus 2⁻⁴⁷ of it: the f64 sum rounds onto the midpoint,
        // and ties-to-even then picks the wrong neighbour whenever c's significand is odd
        for k in (1..64).step_by(2) {
            for e in [-40, -10, 0, 10, 40] {
                let scale = 2f32.powi(e);
                let c = (1.0 + k as f32 * u) * scale;
                for s in [1.0f32, -1.0] {
                    v.push((s * (1.0 + u) * (u / 2.0) * scale, 1.0 - u, s * c));
                    v.push((-s * (1.0 + u) * (u / 2.0) * scale, 1.0 - u, s * c));
                    v.push((s * (1.0 + u) * (u / 2.0) * scale, 1.0 + u, s * c));
                }
            }
        }
        // subnormal results, exact cancellation, signed zeros, overflow
        let tiny = f32::from_bits(3);
        v.extend([
            (tiny, 0.5, tiny),
            (1e-20, 1e-20, -1e-40),
            (1e-30, 1e-10, f32::MIN_POSITIVE),
            (3.0, 1.0 / 3.0, -1.0),
            (0.0, -1.0, -0.0),
            (-0.0, 0.0, 0.0),
            (2.0, -2.0, 4.0),
            (f32::MAX, 2.0, -f32::MAX),
            (f32::MAX, 1.0, f32::MAX),
            (1.5, f32::MIN_POSITIVE, -f32::MIN_POSITIVE),
            (1e19, 1e19, 1.0),
        ]);
        v
    }

    #[test]
    fn fma_f32_rounds_once_like_a_fused_instruction() {
        let mut cases = midpoint_cases();
        let mut rng = Rng::new(17);
        for i in 0..200_000 {
            let (a, b) = (random_f32(&mut rng, 60), random_f32(&mut rng, 60));
            // c near −a·b makes heavy cancellation; other c anywhere (subnormal results included)
            let c =
                if i % 2 == 0 { -(a * b) * (1.0 + random_f32(&mut rng, 1) * 1e-6) } else { random_f32(&mut rng, 126) };
            cases.push((a, b, c));
        }
        let mut double_rounding_differs = 0;
        for &(a, b, c) in &cases {
            let want = a.mul_add(b, c); // libm / hardware fmaf: correctly rounded by specification
            let got = fma_f32(a, b, c);
            assert_eq!(got.to_bits(), want.to_bits(), "fma({a:e}, {b:e}, {c:e}) = {got:e}, want {want:e}");
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("fma") {
                // SAFETY: the CPU has FMA3.
                let hw = unsafe { hardware_fma(a, b, c) };
                assert_eq!(got.to_bits(), hw.to_bits(), "fma({a:e}, {b:e}, {c:e}) vs vfmadd");
            }
            if ((a as f64 * b as f64 + c as f64) as f32).to_bits() != want.to_bits() {
                double_rounding_differs += 1;
            }
        }
        assert!(
            double_rounding_differs >= 300,
            "the midpoint cases exercise the exact path ({double_rounding_differs})"
        );
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "fma")]
    unsafe fn hardware_fma(a: f32, b: f32, c: f32) -> f32 {
        use std::arch::x86_64::*;
        _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)))
    }

    #[test]
    fn ln2_split_is_exact_for_every_exponent() {
        assert_eq!(LN2_HI_64.to_bits() & 0x7FF, 0, "LN2_HI_64 has a 42-bit significand");
        assert_eq!(LN2_HI_64 + LN2_LO_64, std::f64::consts::LN_2);
    }

    #[test]
    fn f64_functions_match_libm_closely() {
        let mut rng = Rng::new(5);
        let rel = |a: f64, b: f64| if b == 0.0 { a.abs() } else { ((a - b) / b).abs() };
        for _ in 0..100_000 {
            let u = rng.uniform();
            let x = (u - 0.5) * 1400.0;
            assert!(rel(exp_f64(x), x.exp()) < 5e-16, "exp({x}) = {} vs {}", exp_f64(x), x.exp());
            let y = (u * 1400.0 - 700.0).exp();
            assert!(
                (ln_f64(y) - y.ln()).abs() <= 4e-16 * y.ln().abs().max(1.0),
                "ln({y}) = {} vs {}",
                ln_f64(y),
                y.ln()
            );
            // on [-1, 1] the reference's own rounding of π·z stays ≤ ½ ulp(π) = 2.2e-16
            let z = 2.0 * u - 1.0;
            let d = (cos_pi(z) - (std::f64::consts::PI * z).cos()).abs();
            assert!(d < 5e-16, "cos_pi({z}) = {} vs {} ({d:e})", cos_pi(z), (std::f64::consts::PI * z).cos());
            // the exact reduction makes it periodic to the bit
            let w = z + 2.0;
            assert_eq!(cos_pi(w).to_bits(), cos_pi(w - 2.0).to_bits(), "cos_pi({w}) vs cos_pi({})", w - 2.0);
        }
        for y in [f64::MIN_POSITIVE, 5e-324, 1e-310, 0.5, 1.0, 2.0, std::f64::consts::SQRT_2, f64::MAX] {
            assert!((ln_f64(y) - y.ln()).abs() <= 4e-16 * y.ln().abs().max(1.0), "ln({y})");
        }
        assert_eq!(ln_f64(1.0), 0.0);
        assert_eq!(ln_f64(0.0), f64::NEG_INFINITY);
        assert!(ln_f64(-1.0).is_nan());
        assert_eq!(exp_f64(0.0), 1.0);
        assert_eq!(exp_f64(-800.0), 0.0);
        assert!(exp_f64(-740.0) > 0.0, "subnormal results are kept");
        assert_eq!(cos_pi(0.0), 1.0);
        assert_eq!(cos_pi(1.0), -1.0);
        assert_eq!(cos_pi(0.5), 0.0);
        for x in [1e-30f32, 0.3, 1.0, 7.5, 3e38] {
            assert!(((ln_f32(x) - x.ln()) / x.ln().abs().max(1.0)).abs() < 2e-7, "ln_f32({x})");
        }
    }

    #[test]
    fn powi_is_binary_exponentiation() {
        assert_eq!(powi_f32(0.9, 0), 1.0);
        assert_eq!(powi_f32(0.9, 1), 0.9);
        assert_eq!(powi_f32(2.0, 10), 1024.0);
        assert_eq!(powi_f32(0.9, 5), 0.9 * 0.9 * 0.9 * 0.9 * 0.9f32 * 1.0);
        for n in [3u64, 17, 1000, 100_000] {
            let want = (0.999f32 as f64).powi(n as i32); // each f32 multiplication rounds: ≤ 2n·2⁻²⁴ relative
            assert!((powi_f32(0.999, n) as f64 / want - 1.0).abs() < 2.0 * n as f64 * 6e-8, "0.999^{n}");
        }
        assert_eq!(powi_f32(0.5, 1 << 40), 0.0);
    }

    /// Calls into libm (or compiler built-ins that differ between platforms) are not allowed in
    /// the crate's computing code; tests may use them as references.
    #[test]
    fn libm_free_sources() {
        let sources = [
            ("adamw.rs", include_str!("adamw.rs")),
            ("attention.rs", include_str!("attention.rs")),
            ("batch.rs", include_str!("batch.rs")),
            ("checkpoint.rs", include_str!("checkpoint.rs")),
            ("config.rs", include_str!("config.rs")),
            ("dot.rs", include_str!("dot.rs")),
            ("elementary.rs", include_str!("elementary.rs")),
            ("gelu.rs", include_str!("gelu.rs")),
            ("generate.rs", include_str!("generate.rs")),
            ("gpt.rs", include_str!("gpt.rs")),
            ("layernorm.rs", include_str!("layernorm.rs")),
            ("loss.rs", include_str!("loss.rs")),
            ("matmul.rs", include_str!("matmul.rs")),
            ("model.rs", include_str!("model.rs")),
            ("params.rs", include_str!("params.rs")),
            ("rng.rs", include_str!("rng.rs")),
            ("sample.rs", include_str!("sample.rs")),
            ("threads.rs", include_str!("threads.rs")),
            ("safetensors.rs", include_str!("safetensors.rs")),
            ("scratch.rs", include_str!("scratch.rs")),
            ("error.rs", include_str!("error.rs")),
            ("teacher.rs", include_str!("teacher.rs")),
        ];
        let banned = [
            ".exp()",
            ".exp2()",
            ".exp_m1()",
            ".ln()",
            ".ln_1p()",
            ".log(",
            ".log2()",
            ".log10()",
            ".powi(",
            ".powf(",
            ".sin()",
            ".cos()",
            ".tan()",
            ".tanh()",
            ".sinh()",
            ".cosh()",
            ".atan",
            ".asin",
            ".acos",
            ".cbrt()",
            ".hypot(",
            ".mul_add(",
            ".floor()",
            ".ceil()",
            ".round()",
            ".trunc()",
            ".fract()",
            ".rem_euclid(",
            ".div_euclid(",
        ];
        let mut found = Vec::new();
        for (name, text) in sources {
            let code = text.split("#[cfg(test)]").next().unwrap();
            for (i, line) in code.lines().enumerate() {
                let line = line.split("//").next().unwrap();
                for b in banned {
                    if line.contains(b) {
                        found.push(format!("{name}:{}: `{b}` ({})", i + 1, line.trim()));
                    }
                }
            }
        }
        assert!(
            found.is_empty(),
            "libm calls in computing code (use crate::elementary instead):\n{}",
            found.join("\n")
        );
        // every computing module of the crate is in the list above
        let lib = include_str!("lib.rs").split("#[cfg(test)]").next().unwrap();
        for m in lib.lines().filter_map(|l| l.strip_prefix("mod ").and_then(|l| l.strip_suffix(';'))) {
            assert!(
                sources.iter().any(|(n, _)| *n == format!("{m}.rs")),
                "module {m} is not checked by libm_free_sources: add it to the list"
            );
        }
    }
}
