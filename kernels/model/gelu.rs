//! GELU (tanh approximation, as in GPT-2) forward and backward, elementwise.

use crate::elementary::tanh_f32;
use crate::threads::{threads_run, Ctx};

const SQRT_2_OVER_PI: f32 = 0.797_884_6;

pub fn gelu_forward(out: &mut [f32], inp: &[f32]) {
    for (y, &x) in out.iter_mut().zip(inp) {
        let cube = 0.044715 * x * x * x;
        *y = 0.5 * x * (1.0 + tanh_f32(SQRT_2_OVER_PI * (x + cube)));
    }
}

/// Accumulates dinp += gelu'(inp) · dout.
pub fn gelu_backward(dinp: &mut [f32], inp: &[f32], dout: &[f32]) {
    for ((dx, &x), &dy) in dinp.iter_mut().zip(inp).zip(dout) {
        let cube = 0.044715 * x * x * x;
        let t = tanh_f32(SQRT_2_OVER_PI * (x + cube));
        let sech2 = 1.0 - t * t;
        let local = 0.5 * (1.0 + t) + 0.5 * x * sech2 * SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * x * x);
        *dx += local * dy;
    }
}

/// Elements per parallel task (elementwise, so any chunking gives identical bits).
const CHUNK: usize = 16 * 1024;

/// `gelu_forward` over fixed chunks on `ctx.threads` threads.
pub fn gelu_forward_par(ctx: Ctx, out: &mut [f32], inp: &[f32]) {
    let tasks: Vec<(&mut [f32], &[f32])> = out.chunks_mut(CHUNK).zip(inp.chunks(CHUNK)).collect();
    threads_run(ctx.threads, tasks, |(o, i)| gelu_forward(o, i));
}

/// `gelu_backward` over fixed chunks on `ctx.threads` threads.
pub fn gelu_backward_par(ctx: Ctx, dinp: &mut [f32], inp: &[f32], dout: &[f32]) {
    let tasks: Vec<((&mut [f32], &[f32]), &[f32])> =
        dinp.chunks_mut(CHUNK).zip(inp.chunks(CHUNK)).zip(dout.chunks(CHUNK)).collect();
    threads_run(ctx.threads, tasks, |((dx, x), dy)| gelu_backward(dx, x, dy));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{grad_check, Projection};
    use crate::rng::Rng;

    #[test]
    fn gelu_gradient_matches_finite_differences() {
        let inp = Rng::new(5).normal_vec(40, 2.0);
        let proj = Projection::new(40, 6);
        let mut dx = vec![0f32; 40];
        gelu_backward(&mut dx, &inp, &proj.r);
        grad_check("gelu", &inp, &dx, |x| {
            let mut y = vec![0f32; 40];
            gelu_forward(&mut y, x);
            proj.loss(&y)
        });
    }
}
