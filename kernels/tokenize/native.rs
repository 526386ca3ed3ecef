//! Native binary tokenizer format (little-endian), self-describing per STYLE P6:
//!
//! ```text
//! magic      8 bytes  "NXTOKBPE"
//! version    u32      NATIVE_VERSION
//! flags      u32      bit 0: whole-piece lookup
//! n_vocab    u32      then n_vocab × (u32 len, len bytes)        (len 0 = unused id)
//! n_merges   u32      then n_merges × (u32 left, u32 right, u32 priority, u32 merged)
//! n_specials u32      then n_specials × (u32 id, u32 len, len bytes)
//! digest     u64      FNV-1a 64 of every preceding byte
//! ```

use crate::bpe::{model_new, pair_key, FastMap, Model};

pub const NATIVE_MAGIC: &[u8; 8] = b"NXTOKBPE";
pub const NATIVE_VERSION: u32 = 1;

fn fnv1a64(b: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &x in b {
        h = (h ^ x as u64).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Serializes `model` (deterministic: merges sorted by priority, then ids).
pub fn native_write(model: &Model) -> Vec<u8> {
    let mut out = Vec::new();
    let u32le = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
    out.extend_from_slice(NATIVE_MAGIC);
    u32le(&mut out, NATIVE_VERSION);
    u32le(&mut out, model.whole_piece_lookup as u32);
    u32le(&mut out, model.vocab.len() as u32);
    for t in &model.vocab {
        u32le(&mut out, t.len() as u32);
        out.extend_from_slice(t);
    }
    let mut merges: Vec<(u32, u32, u32, u32)> =
        model.merges.iter().map(|(&k, &(p, m))| (p, (k >> 32) as u32, k as u32, m)).collect();
    merges.sort_unstable();
    u32le(&mut out, merges.len() as u32);
    for (p, a, b, m) in merges {
        for v in [a, b, p, m] {
            u32le(&mut out, v);
        }
    }
    u32le(&mut out, model.specials.len() as u32);
    for (bytes, id) in &model.specials {
        u32le(&mut out, *id);
        u32le(&mut out, bytes.len() as u32);
        out.extend_from_slice(bytes);
    }
    let digest = fnv1a64(&out);
    out.extend_from_slice(&digest.to_le_bytes());
    out
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let s =
            self.b.get(self.i..self.i + n).ok_or_else(|| format!("native tokenizer truncated at byte {}", self.i))?;
        self.i += n;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
}

/// Parses the native format; refuses unknown magic, versions and bad digests.
pub fn native_read(b: &[u8]) -> Result<Model, String> {
    if b.len() < 16 || &b[..8] != NATIVE_MAGIC {
        return Err(
            "not a native tokenizer file: bad magic (expected \"NXTOKBPE\"); was it written by tokenize.save?".into()
        );
    }
    let body = &b[..b.len() - 8];
    let digest = u64::from_le_bytes(b[b.len() - 8..].try_into().map_err(|_| "short digest")?);
    let mut r = Reader { b: body, i: 8 };
    let version = r.u32()?;
    if version != NATIVE_VERSION {
        return Err(format!("native tokenizer version {version} is not supported (this build reads version {NATIVE_VERSION}); re-export it with a matching nexa_kernels"));
    }
    if fnv1a64(body) != digest {
        return Err("native tokenizer digest mismatch: the file is corrupt or truncated".into());
    }
    let flags = r.u32()?;
    let n_vocab = r.u32()? as usize;
    let mut vocab = Vec::with_capacity(n_vocab.min(1 << 24));
    for _ in 0..n_vocab {
        let n = r.u32()? as usize;
        vocab.push(r.take(n)?.to_vec());
    }
    let n_merges = r.u32()? as usize;
    let mut merges = FastMap::default();
    for _ in 0..n_merges {
        let (a, b, p, m) = (r.u32()?, r.u32()?, r.u32()?, r.u32()?);
        if a as usize >= n_vocab || b as usize >= n_vocab || m as usize >= n_vocab {
            return Err(format!("native tokenizer: merge ({a}, {b}) -> {m} references an id >= {n_vocab}"));
        }
        merges.insert(pair_key(a, b), (p, m));
    }
    let n_specials = r.u32()? as usize;
    let mut specials = Vec::new();
    for _ in 0..n_specials {
        let id = r.u32()?;
        let n = r.u32()? as usize;
        specials.push((r.take(n)?.to_vec(), id));
    }
    if r.i != body.len() {
        return Err("native tokenizer: trailing bytes before the digest".into());
    }
    model_new(vocab, merges, specials, flags & 1 == 1)
}
