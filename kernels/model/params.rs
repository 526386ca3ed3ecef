//! Parameter layout: every tensor of the model as a named, shaped range of one flat f32
//! buffer (the same layout serves params, grads and both AdamW moments), plus init.

use crate::config::GptConfig;
use crate::rng::Rng;

/// What a tensor is; decides weight decay and initialisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorKind {
    Embedding,
    NormWeight,
    Bias,
    Matrix,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorSpec {
    pub name: String,
    pub shape: Vec<usize>,
    pub offset: usize,
    pub kind: TensorKind,
}

impl TensorSpec {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.numel()
    }
}

/// Offsets of one transformer block's tensors inside the flat buffer.
#[derive(Clone, Copy, Debug)]
pub struct BlockOffsets {
    pub ln1_w: usize,
    pub ln1_b: usize,
    pub qkv_w: usize,
    pub qkv_b: usize,
    pub proj_w: usize,
    pub proj_b: usize,
    pub ln2_w: usize,
    pub ln2_b: usize,
    pub fc_w: usize,
    pub fc_b: usize,
    pub fcproj_w: usize,
    pub fcproj_b: usize,
}

#[derive(Clone, Debug)]
pub struct ParamLayout {
    pub tensors: Vec<TensorSpec>,
    pub wte: usize,
    pub wpe: usize,
    pub blocks: Vec<BlockOffsets>,
    pub lnf_w: usize,
    pub lnf_b: usize,
    pub total: usize,
}

impl ParamLayout {
    pub fn new(cfg: &GptConfig) -> ParamLayout {
        let c = cfg.d_model;
        let mut tensors = Vec::new();
        let mut add = |name: String, shape: Vec<usize>, kind: TensorKind| -> usize {
            let offset = tensors.last().map_or(0, |t: &TensorSpec| t.offset + t.numel());
            tensors.push(TensorSpec { name, shape, offset, kind });
            offset
        };
        use TensorKind::*;
        let wte = add("wte.weight".into(), vec![cfg.vocab_size, c], Embedding);
        let wpe = add("wpe.weight".into(), vec![cfg.seq_len, c], Embedding);
        let mut blocks = Vec::new();
        for l in 0..cfg.n_layer {
            let p = |s: &str| format!("h.{l}.{s}");
            blocks.push(BlockOffsets {
                ln1_w: add(p("ln1.weight"), vec![c], NormWeight),
                ln1_b: add(p("ln1.bias"), vec![c], Bias),
                qkv_w: add(p("attn.qkv.weight"), vec![3 * c, c], Matrix),
                qkv_b: add(p("attn.qkv.bias"), vec![3 * c], Bias),
                proj_w: add(p("attn.proj.weight"), vec![c, c], Matrix),
                proj_b: add(p("attn.proj.bias"), vec![c], Bias),
                ln2_w: add(p("ln2.weight"), vec![c], NormWeight),
                ln2_b: add(p("ln2.bias"), vec![c], Bias),
                fc_w: add(p("mlp.fc.weight"), vec![4 * c, c], Matrix),
                fc_b: add(p("mlp.fc.bias"), vec![4 * c], Bias),
                fcproj_w: add(p("mlp.proj.weight"), vec![c, 4 * c], Matrix),
                fcproj_b: add(p("mlp.proj.bias"), vec![c], Bias),
            });
        }
        let lnf_w = add("lnf.weight".into(), vec![c], NormWeight);
        let lnf_b = add("lnf.bias".into(), vec![c], Bias);
        let total = tensors.last().map_or(0, |t| t.offset + t.numel());
        ParamLayout { tensors, wte, wpe, blocks, lnf_w, lnf_b, total }
    }

    /// GPT-2 style init: N(0, 0.02) matrices/embeddings, residual projections scaled by
    /// 1/√(2L), LayerNorm weight 1, biases 0. Consumes `rng` in tensor order.
    pub fn init(&self, cfg: &GptConfig, rng: &mut Rng) -> Vec<f32> {
        let mut params = vec![0f32; self.total];
        let resid_std = 0.02 / (2.0 * cfg.n_layer as f32).sqrt();
        for t in &self.tensors {
            let dst = &mut params[t.range()];
            match t.kind {
                TensorKind::Bias => {}
                TensorKind::NormWeight => dst.fill(1.0),
                TensorKind::Embedding | TensorKind::Matrix => {
                    let std = if t.name.ends_with("attn.proj.weight") || t.name.ends_with("mlp.proj.weight") {
                        resid_std
                    } else {
                        0.02
                    };
                    dst.copy_from_slice(&rng.normal_vec(dst.len(), std));
                }
            }
        }
        params
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_contiguous_and_counts_match_config_formula() {
        let cfg = GptConfig { vocab_size: 11, seq_len: 5, n_layer: 2, n_head: 2, d_model: 4 };
        let l = ParamLayout::new(&cfg);
        let mut end = 0;
        for t in &l.tensors {
            assert_eq!(t.offset, end);
            end += t.numel();
        }
        assert_eq!(end, l.total);
        assert_eq!(l.total, cfg.matmul_params() + cfg.seq_len * cfg.d_model);
    }
}
