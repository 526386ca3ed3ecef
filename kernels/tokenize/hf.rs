//! Hugging Face `tokenizer.json` (byte-level BPE) reader and writer.
//!
//! Supported shape: `model.type == "BPE"`, `pre_tokenizer` ByteLevel with the GPT-2
//! regex (`use_regex: true`, `add_prefix_space: false`), no normalizer. Tokens are
//! spelled with GPT-2's byte-to-unicode alphabet (`Ġ` = space, ...).
//!
//! Merge priority: the index of the *first* merge that produces a token. For files
//! with one merge per token (all trained files) this is HF's rule exactly; for files
//! converted from tiktoken ranks (several splits per token) it restores tiktoken's
//! rank order, so writing then reading a model gives identical ids.

use crate::bpe::{model_new, pair_key, FastMap, Model};
use nexa_json::{json_parse, json_write_lines, Json};

// ---------------------------------------------------------------------------
// GPT-2 byte <-> unicode alphabet
// ---------------------------------------------------------------------------

/// `byte_to_char()[b]` is the printable character that spells byte `b`.
pub fn byte_to_char() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut extra = 0u32;
    for b in 0..256u32 {
        let printable = (0x21..=0x7E).contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b);
        table[b as usize] = if printable {
            char::from_u32(b).unwrap_or('\0')
        } else {
            extra += 1;
            char::from_u32(255 + extra).unwrap_or('\0')
        };
    }
    table
}

fn spell(bytes: &[u8], table: &[char; 256]) -> String {
    bytes.iter().map(|&b| table[b as usize]).collect()
}

fn unspell(s: &str, inverse: &FastMap<char, u8>) -> Option<Vec<u8>> {
    s.chars().map(|c| inverse.get(&c).copied()).collect()
}

// ---------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------

fn field<'a>(v: &'a Json, path: &str) -> Result<&'a Json, String> {
    let mut cur = v;
    for part in path.split('.') {
        cur = cur.get(part).ok_or_else(|| format!("tokenizer.json: missing field '{path}'"))?;
    }
    Ok(cur)
}

/// Parses a tokenizer.json document.
pub fn hf_read(text: &str) -> Result<Model, String> {
    let root = json_parse(text).map_err(|e| format!("tokenizer.json is not valid JSON: {e}"))?;
    if let Some(t) = root.get("model").and_then(|m| m.get("type")).and_then(Json::as_str) {
        if t != "BPE" {
            return Err(format!("tokenizer.json: model.type is '{t}', only 'BPE' is supported"));
        }
    }
    if !matches!(root.get("normalizer"), None | Some(Json::Null)) {
        return Err("tokenizer.json: normalizer must be null for byte-level BPE".into());
    }
    let pre = field(&root, "pre_tokenizer")?;
    if pre.get("type").and_then(Json::as_str) != Some("ByteLevel") {
        return Err("tokenizer.json: pre_tokenizer.type must be 'ByteLevel' (GPT-2 regex); other pre-tokenizers are not supported".into());
    }
    if pre.get("add_prefix_space").and_then(Json::as_bool) == Some(true) {
        return Err("tokenizer.json: pre_tokenizer.add_prefix_space=true is not supported; set it to false".into());
    }
    if pre.get("use_regex").and_then(Json::as_bool) == Some(false) {
        return Err("tokenizer.json: pre_tokenizer.use_regex=false is not supported".into());
    }

    let table = byte_to_char();
    let inverse: FastMap<char, u8> = table.iter().enumerate().map(|(b, &c)| (c, b as u8)).collect();

    // Vocabulary.
    let Json::Obj(entries) = field(&root, "model.vocab")? else {
        return Err("tokenizer.json: model.vocab must be an object".into());
    };
    let mut vocab: Vec<Vec<u8>> = Vec::new();
    let mut ids: FastMap<String, u32> = FastMap::default();
    for (tok, id) in entries {
        let id = id.as_u32().ok_or_else(|| format!("tokenizer.json: model.vocab[{tok:?}] is not a u32 id"))?;
        let bytes = unspell(tok, &inverse).ok_or_else(|| {
            format!("tokenizer.json: model.vocab key {tok:?} uses characters outside the byte-level alphabet")
        })?;
        if id as usize >= vocab.len() {
            vocab.resize(id as usize + 1, Vec::new());
        }
        vocab[id as usize] = bytes;
        ids.insert(tok.clone(), id);
    }

    // Merges: "a b" strings (classic) or ["a", "b"] pairs (tokenizers >= 0.20).
    let Json::Arr(list) = field(&root, "model.merges")? else {
        return Err("tokenizer.json: model.merges must be an array".into());
    };
    let mut merges: FastMap<u64, (u32, u32)> = FastMap::default();
    let mut first_index: FastMap<u32, u32> = FastMap::default();
    for (i, m) in list.iter().enumerate() {
        let (a, b) = match m {
            Json::Str(s) => {
                s.split_once(' ').ok_or_else(|| format!("tokenizer.json: model.merges[{i}] is not 'a b'"))?
            }
            Json::Arr(p) if p.len() == 2 => match (p[0].as_str(), p[1].as_str()) {
                (Some(a), Some(b)) => (a, b),
                _ => return Err(format!("tokenizer.json: model.merges[{i}] must hold two strings")),
            },
            _ => return Err(format!("tokenizer.json: model.merges[{i}] must be a string or a pair")),
        };
        let lookup = |t: &str| {
            ids.get(t).copied().ok_or_else(|| format!("tokenizer.json: model.merges[{i}] names unknown token {t:?}"))
        };
        let (ia, ib) = (lookup(a)?, lookup(b)?);
        let merged = lookup(&format!("{a}{b}"))?;
        let prio = *first_index.entry(merged).or_insert(i as u32);
        merges.entry(pair_key(ia, ib)).or_insert((prio, merged));
    }

    // Special tokens.
    let mut specials = Vec::new();
    if let Some(Json::Arr(added)) = root.get("added_tokens") {
        for (i, t) in added.iter().enumerate() {
            if t.get("special").and_then(Json::as_bool) == Some(false) {
                continue;
            }
            let content = t
                .get("content")
                .and_then(Json::as_str)
                .ok_or_else(|| format!("tokenizer.json: added_tokens[{i}].content missing"))?;
            let id = t
                .get("id")
                .and_then(Json::as_u32)
                .ok_or_else(|| format!("tokenizer.json: added_tokens[{i}].id missing"))?;
            specials.push((content.as_bytes().to_vec(), id));
            // A special spelled in the vocab is reachable only as a special.
            if let Some(v) = vocab.get_mut(id as usize) {
                if v.as_slice() == content.as_bytes() {
                    v.clear();
                }
            }
        }
    }
    let ignore_merges = root.get("model").and_then(|m| m.get("ignore_merges")).and_then(Json::as_bool).unwrap_or(false);
    model_new(vocab, merges, specials, ignore_merges)
}

// ---------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------

fn obj(members: Vec<(&str, Json)>) -> Json {
    Json::Obj(members.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn byte_level(add_prefix_space: bool, trim_offsets: bool) -> Json {
    obj(vec![
        ("type", Json::Str("ByteLevel".into())),
        ("add_prefix_space", Json::Bool(add_prefix_space)),
        ("trim_offsets", Json::Bool(trim_offsets)),
        ("use_regex", Json::Bool(true)),
    ])
}

/// Serializes `model` as tokenizer.json (deterministic: vocab by id, merges by priority).
pub fn hf_write(model: &Model) -> String {
    let table = byte_to_char();
    let num = |n: u32| Json::Num(n.to_string());
    let vocab: Vec<(String, Json)> = model
        .vocab
        .iter()
        .enumerate()
        .filter(|(_, b)| !b.is_empty())
        .map(|(id, b)| (spell(b, &table), num(id as u32)))
        .collect();
    let mut merges: Vec<(u32, u32, u32, u32)> =
        model.merges.iter().map(|(&k, &(p, m))| (p, m, (k >> 32) as u32, k as u32)).collect();
    merges.sort_unstable();
    let merges: Vec<Json> = merges
        .iter()
        .map(|&(_, _, a, b)| {
            Json::Str(format!(
                "{} {}",
                spell(&model.vocab[a as usize], &table),
                spell(&model.vocab[b as usize], &table)
            ))
        })
        .collect();
    let added: Vec<Json> = model
        .specials
        .iter()
        .map(|(bytes, id)| {
            obj(vec![
                ("id", num(*id)),
                ("content", Json::Str(String::from_utf8_lossy(bytes).into_owned())),
                ("single_word", Json::Bool(false)),
                ("lstrip", Json::Bool(false)),
                ("rstrip", Json::Bool(false)),
                ("normalized", Json::Bool(false)),
                ("special", Json::Bool(true)),
            ])
        })
        .collect();
    let root = obj(vec![
        ("version", Json::Str("1.0".into())),
        ("truncation", Json::Null),
        ("padding", Json::Null),
        ("added_tokens", Json::Arr(added)),
        ("normalizer", Json::Null),
        ("pre_tokenizer", byte_level(false, true)),
        ("post_processor", byte_level(true, false)),
        ("decoder", byte_level(true, true)),
        (
            "model",
            obj(vec![
                ("type", Json::Str("BPE".into())),
                ("dropout", Json::Null),
                ("unk_token", Json::Null),
                ("continuing_subword_prefix", Json::Null),
                ("end_of_word_suffix", Json::Null),
                ("fuse_unk", Json::Bool(false)),
                ("byte_fallback", Json::Bool(false)),
                ("ignore_merges", Json::Bool(model.whole_piece_lookup)),
                ("vocab", Json::Obj(vocab)),
                ("merges", Json::Arr(merges)),
            ]),
        ),
    ]);
    let mut out = json_write_lines(&root);
    out.push('\n');
    out
}
