//! A training/eval batch of packed rows, its validation, and per-document positions.

use crate::config::GptConfig;
use crate::error::{err, ErrorKind, Result};
use crate::loss::{TeacherTopK, IGNORE};

/// Document id of padding positions in packed rows (as written by the packer).
pub const PAD_DOC_ID: u32 = u32::MAX;

/// B rows of T tokens. Each row packs whole documents; `doc_ids` marks which document
/// every token belongs to (documents are contiguous runs). Positions restart at 0 at
/// every document start and attention never crosses documents.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub b: usize,
    pub t: usize,
    /// [B,T] input tokens.
    pub tokens: Vec<u32>,
    /// [B,T] next-token targets; `IGNORE` = no loss at that position.
    pub targets: Vec<u32>,
    /// [B,T] document id per token.
    pub doc_ids: Vec<u32>,
    /// Optional teacher top-k distribution per position, for distillation.
    pub teacher: Option<TeacherTopK>,
}

impl Batch {
    /// A batch where each row is a single document.
    pub fn single_doc(b: usize, t: usize, tokens: Vec<u32>, targets: Vec<u32>) -> Batch {
        Batch { b, t, tokens, targets, doc_ids: vec![0; b * t], teacher: None }
    }

    /// Document ids from per-token position ids (a new document starts wherever position is 0).
    pub fn doc_ids_from_positions(t: usize, positions: &[u32]) -> Vec<u32> {
        let mut ids = Vec::with_capacity(positions.len());
        let mut doc = 0u32;
        for (i, &p) in positions.iter().enumerate() {
            if i % t == 0 {
                doc = 0;
            } else if p == 0 {
                doc += 1;
            }
            ids.push(doc);
        }
        ids
    }

    /// Next-token targets for packed rows of length `t`: `tokens[i+1]` when position i+1 is in the
    /// same row and the same document, else `IGNORE` (a document's last token, a row's last token,
    /// padding, marked by document id `PAD_DOC_ID`).
    pub fn next_token_targets(t: usize, tokens: &[u32], doc_ids: &[u32]) -> Vec<u32> {
        (0..tokens.len())
            .map(|i| {
                let same_doc = (i + 1) % t != 0
                    && i + 1 < tokens.len()
                    && doc_ids[i] != PAD_DOC_ID
                    && doc_ids[i + 1] == doc_ids[i];
                if same_doc {
                    tokens[i + 1]
                } else {
                    IGNORE
                }
            })
            .collect()
    }

    /// [B,T] positions: index of each token within its document.
    pub fn positions(&self) -> Vec<usize> {
        let mut pos = vec![0usize; self.b * self.t];
        for i in 0..self.b * self.t {
            if i % self.t != 0 && self.doc_ids[i] == self.doc_ids[i - 1] {
                pos[i] = pos[i - 1] + 1;
            }
        }
        pos
    }

    pub fn validate(&self, cfg: &GptConfig) -> Result<()> {
        let n = self.b * self.t;
        if self.b == 0 || self.t == 0 || self.t > cfg.seq_len {
            return err(
                ErrorKind::InvalidBatch,
                format!("batch shape B={} T={} invalid (need B>0, 0<T≤seq_len={})", self.b, self.t, cfg.seq_len),
            );
        }
        if self.tokens.len() != n || self.targets.len() != n || self.doc_ids.len() != n {
            return err(
                ErrorKind::InvalidBatch,
                format!(
                    "tokens/targets/doc_ids must each hold B·T={n} values, got {}/{}/{}",
                    self.tokens.len(),
                    self.targets.len(),
                    self.doc_ids.len()
                ),
            );
        }
        let v = cfg.vocab_size as u32;
        if let Some(i) = self.tokens.iter().position(|&x| x >= v) {
            return err(
                ErrorKind::InvalidBatch,
                format!("token {} at index {i} is outside vocab_size {v}", self.tokens[i]),
            );
        }
        if let Some(i) = self.targets.iter().position(|&x| x >= v && x != IGNORE) {
            return err(
                ErrorKind::InvalidBatch,
                format!("target {} at index {i} is outside vocab_size {v}", self.targets[i]),
            );
        }
        for row in 0..self.b {
            let d = &self.doc_ids[row * self.t..(row + 1) * self.t];
            for i in 1..d.len() {
                if d[i] != d[i - 1] && d[..i - 1].contains(&d[i]) {
                    return err(
                        ErrorKind::InvalidBatch,
                        format!("row {row}: document id {} is not contiguous (reappears at {i})", d[i]),
                    );
                }
            }
        }
        if let Some(t) = &self.teacher {
            if t.k == 0 || t.ids.len() != n * t.k || t.probs.len() != n * t.k {
                return err(
                    ErrorKind::InvalidBatch,
                    format!("teacher top-k arrays must hold B·T·k = {} values", n * t.k),
                );
            }
            if let Some(i) = t.ids.iter().position(|&x| x >= v) {
                return err(
                    ErrorKind::InvalidBatch,
                    format!("teacher id {} at index {i} is outside vocab_size {v}", t.ids[i]),
                );
            }
            if t.probs.iter().any(|p| !(p.is_finite() && *p >= 0.0)) {
                return err(ErrorKind::InvalidBatch, "teacher probabilities must be finite and ≥ 0");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_restart_per_document_and_round_trip_from_position_ids() {
        let b = Batch {
            b: 2,
            t: 4,
            tokens: vec![0; 8],
            targets: vec![0; 8],
            doc_ids: vec![0, 0, 1, 1, 5, 6, 6, 6],
            teacher: None,
        };
        assert_eq!(b.positions(), vec![0, 1, 0, 1, 0, 0, 1, 2]);
        let pos: Vec<u32> = b.positions().iter().map(|&p| p as u32).collect();
        let ids = Batch::doc_ids_from_positions(4, &pos);
        let again = Batch { doc_ids: ids, ..b.clone() };
        assert_eq!(again.positions(), b.positions());
    }

    #[test]
    fn next_token_targets_stop_at_document_row_and_padding_boundaries() {
        let tokens = vec![5, 6, 7, 8, 9, 1, 2, 3];
        let docs = vec![0, 0, 1, 1, 0, PAD_DOC_ID, 0, 0];
        let got = Batch::next_token_targets(4, &tokens, &docs);
        assert_eq!(got, vec![6, IGNORE, 8, IGNORE, IGNORE, IGNORE, 3, IGNORE]);
    }
}
