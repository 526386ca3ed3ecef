//! A branch-free, vectorizable f32 exp (Cephes-style range reduction + degree-6
//! polynomial, ≤ 2 ulp on [-87, 88]) and the tanh built on it. Plain IEEE arithmetic
//! with no libm call, so every platform and thread count computes the same bits.

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
const ROUND: f32 = 12_582_912.0; // 1.5·2²³: adding and subtracting it rounds to nearest

/// e^x for x in f32 range; x ≤ -87.3 flushes towards 0, x ≥ 88.7 saturates to +inf.
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(exp_f32(-1000.0) < 1e-37, true);
        assert_eq!(tanh_f32(50.0), 1.0);
        assert_eq!(tanh_f32(-50.0), -1.0);
    }
}
