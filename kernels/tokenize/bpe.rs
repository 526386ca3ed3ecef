//! Byte-level BPE model: vocabulary, merge table and the encode/decode loops.
//!
//! Merges are a table `(left id, right id) -> (priority, merged id)`. Encoding a
//! piece starts from its bytes and repeatedly merges the adjacent pair of lowest
//! priority (leftmost on ties), exactly like tiktoken's `byte_pair_merge` when the
//! table holds every split of every token with priority = rank.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::pretokenize::pretokenize;

// ---------------------------------------------------------------------------
// Fast deterministic hasher (FxHash-style; no random state, std only)
// ---------------------------------------------------------------------------

/// Multiplicative hasher for short keys; iteration order is never relied upon.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

const FX_K: u64 = 0x517c_c1b7_2722_0a95;

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            h = (h.rotate_left(5) ^ w).wrapping_mul(FX_K);
        }
        let mut tail = 0u64;
        for (k, &b) in chunks.remainder().iter().enumerate() {
            tail |= (b as u64) << (8 * k);
        }
        h = (h.rotate_left(5) ^ tail ^ ((bytes.len() as u64) << 56)).wrapping_mul(FX_K);
        self.0 = h;
    }

    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(FX_K);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

#[inline(always)]
pub fn pair_key(a: u32, b: u32) -> u64 {
    ((a as u64) << 32) | b as u64
}

// ---------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------

/// A loaded or trained vocabulary.
#[derive(Clone, Debug)]
pub struct Model {
    /// id -> bytes; empty for ids that are unused or special.
    pub vocab: Vec<Vec<u8>>,
    /// bytes -> id for ordinary tokens.
    pub token_ids: FastMap<Vec<u8>, u32>,
    /// id of each single byte.
    pub byte_ids: [u32; 256],
    /// `pair_key(left, right) -> (priority, merged id)`.
    pub merges: FastMap<u64, (u32, u32)>,
    /// Special tokens (e.g. `<|endoftext|>`), matched only when allowed.
    pub specials: Vec<(Vec<u8>, u32)>,
    /// If a whole piece is a token, emit it without merging (tiktoken's rule).
    pub whole_piece_lookup: bool,
}

/// Errors while assembling a model.
pub fn model_new(
    vocab: Vec<Vec<u8>>,
    merges: FastMap<u64, (u32, u32)>,
    specials: Vec<(Vec<u8>, u32)>,
    whole_piece_lookup: bool,
) -> Result<Model, String> {
    let mut token_ids: FastMap<Vec<u8>, u32> = FastMap::default();
    for (id, bytes) in vocab.iter().enumerate() {
        if !bytes.is_empty() && token_ids.insert(bytes.clone(), id as u32).is_some() {
            return Err(format!("token id {id} duplicates the bytes of another token"));
        }
    }
    let mut byte_ids = [u32::MAX; 256];
    for b in 0..256usize {
        match token_ids.get(&[b as u8][..]) {
            Some(&id) => byte_ids[b] = id,
            None => return Err(format!("byte 0x{b:02x} has no token; a byte-level vocabulary needs all 256 bytes")),
        }
    }
    for (bytes, id) in &specials {
        if bytes.is_empty() {
            return Err(format!("special token id {id} is empty"));
        }
    }
    Ok(Model { vocab, token_ids, byte_ids, merges, specials, whole_piece_lookup })
}

impl Model {
    /// Number of ids (one past the largest id, specials included).
    pub fn vocab_size(&self) -> u32 {
        let top = self.specials.iter().map(|(_, id)| id + 1).max().unwrap_or(0);
        top.max(self.vocab.len() as u32)
    }

    /// Bytes of `id`, or `None` for an unknown id.
    pub fn token_bytes(&self, id: u32) -> Option<&[u8]> {
        match self.vocab.get(id as usize) {
            Some(b) if !b.is_empty() => Some(b),
            _ => self.specials.iter().find(|(_, s)| *s == id).map(|(b, _)| b.as_slice()),
        }
    }

    /// Appends the ids of one pre-tokenized piece.
    pub fn encode_piece(&self, piece: &[u8], out: &mut Vec<u32>) {
        if piece.len() == 1 {
            out.push(self.byte_ids[piece[0] as usize]);
            return;
        }
        if self.whole_piece_lookup {
            if let Some(&id) = self.token_ids.get(piece) {
                out.push(id);
                return;
            }
        }
        // parts[i]: current token ids; prio[i]: priority of merging parts[i], parts[i+1].
        let mut parts: Vec<u32> = piece.iter().map(|&b| self.byte_ids[b as usize]).collect();
        let mut prio: Vec<u32> = (0..parts.len() - 1).map(|i| self.pair_priority(parts[i], parts[i + 1])).collect();
        loop {
            let mut best = u32::MAX;
            let mut at = usize::MAX;
            for (i, &p) in prio.iter().enumerate() {
                if p < best {
                    best = p;
                    at = i;
                }
            }
            if at == usize::MAX {
                break;
            }
            parts[at] = self.merges[&pair_key(parts[at], parts[at + 1])].1;
            parts.remove(at + 1);
            prio.remove(at);
            if at + 1 < parts.len() {
                prio[at] = self.pair_priority(parts[at], parts[at + 1]);
            }
            if at > 0 {
                prio[at - 1] = self.pair_priority(parts[at - 1], parts[at]);
            }
        }
        out.extend_from_slice(&parts);
    }

    #[inline]
    fn pair_priority(&self, a: u32, b: u32) -> u32 {
        self.merges.get(&pair_key(a, b)).map_or(u32::MAX, |m| m.0)
    }

    /// Encodes ordinary text (special tokens are treated as plain text).
    pub fn encode_ordinary(&self, bytes: &[u8], cache: &mut EncodeCache, out: &mut Vec<u32>) {
        for piece in pretokenize(bytes) {
            cache.cache_encode(self, piece, out);
        }
    }

    /// Encodes text; with `allow_special`, exact occurrences of special tokens
    /// become their ids and the text between them is encoded as ordinary text.
    pub fn encode(&self, bytes: &[u8], allow_special: bool, cache: &mut EncodeCache, out: &mut Vec<u32>) {
        if !allow_special || self.specials.is_empty() {
            return self.encode_ordinary(bytes, cache, out);
        }
        let mut at = 0;
        while at < bytes.len() {
            match self.next_special(bytes, at) {
                Some((start, len, id)) => {
                    self.encode_ordinary(&bytes[at..start], cache, out);
                    out.push(id);
                    at = start + len;
                }
                None => {
                    self.encode_ordinary(&bytes[at..], cache, out);
                    break;
                }
            }
        }
    }

    /// Earliest special token at or after `from` (longest on ties): (start, len, id).
    fn next_special(&self, bytes: &[u8], from: usize) -> Option<(usize, usize, u32)> {
        let mut best: Option<(usize, usize, u32)> = None;
        for (s, id) in &self.specials {
            if let Some(p) = bytes[from..].windows(s.len()).position(|w| w == s.as_slice()) {
                let cand = (from + p, s.len(), *id);
                best = match best {
                    Some(b) if b.0 < cand.0 || (b.0 == cand.0 && b.1 >= cand.1) => Some(b),
                    _ => Some(cand),
                };
            }
        }
        best
    }

    /// Concatenated bytes of `ids`; `Err(index)` names the first unknown id.
    pub fn decode(&self, ids: &[u32], out: &mut Vec<u8>) -> Result<(), usize> {
        for (i, &id) in ids.iter().enumerate() {
            match self.token_bytes(id) {
                Some(b) => out.extend_from_slice(b),
                None => return Err(i),
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Piece cache
// ---------------------------------------------------------------------------

/// Memo of piece -> ids for pieces that need merging. Bounded; cleared when full. Aligned to two cache lines so that
/// the caches of threads encoding side by side (a slice of them) never share a line.
#[derive(Default)]
#[repr(align(128))]
pub struct EncodeCache {
    map: FastMap<Box<[u8]>, (u32, u32)>,
    ids: Vec<u32>,
}

const CACHE_MAX_PIECES: usize = 1 << 18;
const CACHE_MAX_PIECE_LEN: usize = 64;

impl EncodeCache {
    #[inline]
    pub fn cache_encode(&mut self, model: &Model, piece: &[u8], out: &mut Vec<u32>) {
        if piece.len() == 1 || piece.len() > CACHE_MAX_PIECE_LEN {
            return model.encode_piece(piece, out);
        }
        if let Some(&(start, len)) = self.map.get(piece) {
            out.extend_from_slice(&self.ids[start as usize..(start + len) as usize]);
            return;
        }
        let before = out.len();
        model.encode_piece(piece, out);
        if self.map.len() >= CACHE_MAX_PIECES {
            self.map.clear();
            self.ids.clear();
        }
        let start = self.ids.len() as u32;
        self.ids.extend_from_slice(&out[before..]);
        self.map.insert(piece.into(), (start, (out.len() - before) as u32));
    }
}
