//! Loader for tiktoken's rank files (`<base64 token> <rank>` per line, the
//! `.tiktoken` format): every token's rank is its id and its merge priority.

use crate::bpe::{model_new, pair_key, FastMap, Model};

/// Decodes standard base64 (with `=` padding).
pub fn base64_decode(s: &[u8]) -> Result<Vec<u8>, String> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let s: Vec<u8> = s.iter().copied().take_while(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in &s {
        let v = val(c).ok_or_else(|| format!("invalid base64 character {:?}", c as char))?;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

/// Encodes standard base64 with padding.
pub fn base64_encode(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            if k <= c.len() {
                out.push(A[(n >> (18 - 6 * k)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Builds a model from tiktoken ranks plus special tokens.
pub fn tiktoken_load(text: &[u8], specials: Vec<(Vec<u8>, u32)>) -> Result<Model, String> {
    let mut vocab: Vec<Vec<u8>> = Vec::new();
    for (line_no, line) in text.split(|&c| c == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let sp = line
            .iter()
            .position(|&c| c == b' ')
            .ok_or_else(|| format!("line {}: expected '<base64> <rank>'", line_no + 1))?;
        let bytes = base64_decode(&line[..sp]).map_err(|e| format!("line {}: {e}", line_no + 1))?;
        let rank: u32 = std::str::from_utf8(&line[sp + 1..])
            .ok()
            .and_then(|r| r.trim().parse().ok())
            .ok_or_else(|| format!("line {}: rank is not an unsigned integer", line_no + 1))?;
        if bytes.is_empty() {
            return Err(format!("line {}: empty token", line_no + 1));
        }
        if rank as usize >= vocab.len() {
            vocab.resize(rank as usize + 1, Vec::new());
        }
        if !vocab[rank as usize].is_empty() {
            return Err(format!("line {}: rank {rank} appears twice", line_no + 1));
        }
        vocab[rank as usize] = bytes;
    }
    let merges = merges_from_ranks(&vocab);
    model_new(vocab, merges, specials, true)
}

/// Every split `t = a + b` of every token into two tokens becomes a merge with
/// priority `rank(t)`, which reproduces tiktoken's "merge the adjacent pair whose
/// concatenation has the lowest rank" rule.
pub fn merges_from_ranks(vocab: &[Vec<u8>]) -> FastMap<u64, (u32, u32)> {
    let mut ids: FastMap<&[u8], u32> = FastMap::default();
    for (id, t) in vocab.iter().enumerate() {
        if !t.is_empty() {
            ids.insert(t.as_slice(), id as u32);
        }
    }
    let mut merges = FastMap::default();
    for (id, t) in vocab.iter().enumerate() {
        for k in 1..t.len() {
            if let (Some(&a), Some(&b)) = (ids.get(&t[..k]), ids.get(&t[k..])) {
                merges.insert(pair_key(a, b), (id as u32, id as u32));
            }
        }
    }
    merges
}
