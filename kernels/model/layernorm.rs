//! LayerNorm over the channel axis: out = (x − mean) · rstd · w + b, with backward.
//! Row-wise and memory-bound, so it runs serially (fixed order, trivially deterministic).

const EPS: f32 = 1e-5;

/// inp/out: [N,C]; mean/rstd: [N] (saved for backward); w, b: [C].
pub fn layernorm_forward(
    out: &mut [f32],
    mean: &mut [f32],
    rstd: &mut [f32],
    inp: &[f32],
    w: &[f32],
    b: &[f32],
    c: usize,
) {
    for (i, (x, y)) in inp.chunks(c).zip(out.chunks_mut(c)).enumerate() {
        let m = x.iter().sum::<f32>() / c as f32;
        let v = x.iter().map(|xi| (xi - m) * (xi - m)).sum::<f32>() / c as f32;
        let s = 1.0 / (v + EPS).sqrt();
        for j in 0..c {
            y[j] = (x[j] - m) * s * w[j] + b[j];
        }
        mean[i] = m;
        rstd[i] = s;
    }
}

/// Accumulates dinp[N,C], dw[C], db[C] from dout[N,C].
#[allow(clippy::too_many_arguments)]
pub fn layernorm_backward(
    dinp: &mut [f32],
    dw: &mut [f32],
    db: &mut [f32],
    dout: &[f32],
    inp: &[f32],
    w: &[f32],
    mean: &[f32],
    rstd: &[f32],
    c: usize,
) {
    for i in 0..inp.len() / c {
        let x = &inp[i * c..(i + 1) * c];
        let dy = &dout[i * c..(i + 1) * c];
        let dx = &mut dinp[i * c..(i + 1) * c];
        let (m, s) = (mean[i], rstd[i]);
        // dnorm = dy·w;  dx = s · (dnorm − mean(dnorm) − xhat·mean(dnorm·xhat))
        let mut dnorm_mean = 0f32;
        let mut dnorm_xhat_mean = 0f32;
        for j in 0..c {
            let xhat = (x[j] - m) * s;
            let dnorm = dy[j] * w[j];
            dnorm_mean += dnorm;
            dnorm_xhat_mean += dnorm * xhat;
        }
        dnorm_mean /= c as f32;
        dnorm_xhat_mean /= c as f32;
        for j in 0..c {
            let xhat = (x[j] - m) * s;
            let dnorm = dy[j] * w[j];
            db[j] += dy[j];
            dw[j] += dy[j] * xhat;
            dx[j] += s * (dnorm - dnorm_mean - xhat * dnorm_xhat_mean);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{grad_check, Projection};
    use crate::rng::Rng;

    #[test]
    fn layernorm_gradients_match_finite_differences() {
        let (n, c) = (3, 7);
        let mut rng = Rng::new(11);
        let inp = rng.normal_vec(n * c, 1.0);
        let w = rng.normal_vec(c, 1.0);
        let b = rng.normal_vec(c, 1.0);
        let proj = Projection::new(n * c, 12);
        let fwd = |x: &[f32], w: &[f32], b: &[f32]| {
            let (mut out, mut m, mut s) = (vec![0f32; n * c], vec![0f32; n], vec![0f32; n]);
            layernorm_forward(&mut out, &mut m, &mut s, x, w, b, c);
            (out, m, s)
        };
        let (_, m, s) = fwd(&inp, &w, &b);
        let (mut dx, mut dw, mut db) = (vec![0f32; n * c], vec![0f32; c], vec![0f32; c]);
        layernorm_backward(&mut dx, &mut dw, &mut db, &proj.r, &inp, &w, &m, &s, c);
        grad_check("layernorm.x", &inp, &dx, |x| proj.loss(&fwd(x, &w, &b).0));
        grad_check("layernorm.w", &w, &dw, |w| proj.loss(&fwd(&inp, w, &b).0));
        grad_check("layernorm.b", &b, &db, |b| proj.loss(&fwd(&inp, &w, b).0));
    }
}
