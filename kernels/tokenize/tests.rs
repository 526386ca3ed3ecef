//! Tokenizer tests: round trips (property), training determinism, formats.

use super::*;

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const CORPUS: &str = "The quick brown fox jumps over the lazy dog. The dog doesn't care.\n\
    fn main() { println!(\"hello, world\"); }   \n\n\tIndented 12345 numbers 3.14159\n\
    Ünïcödé tëxt, 日本語のテキスト, emoji 😀🚀 and more emoji 😀😀!\n";

fn trained(vocab_size: u32) -> Tokenizer {
    let cfg = TrainConfig { vocab_size, min_frequency: 1, specials: vec![b"<|endoftext|>".to_vec()] };
    let docs: Vec<&[u8]> = (0..20).map(|_| CORPUS.as_bytes()).collect();
    Tokenizer::tokenizer_train(docs.into_iter(), &cfg).unwrap()
}

fn encode(t: &Tokenizer, b: &[u8]) -> Vec<u32> {
    let mut out = Vec::new();
    t.encode(b, false, &mut EncodeCache::default(), &mut out);
    out
}

#[test]
fn decode_encode_round_trips_arbitrary_bytes_property() {
    let t = trained(400);
    let mut s = 77u64;
    let mut cache = EncodeCache::default();
    for case in 0..500 {
        let len = (splitmix(&mut s) % 200) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| match splitmix(&mut s) % 4 {
                0 => (splitmix(&mut s) % 256) as u8,
                _ => CORPUS.as_bytes()[(splitmix(&mut s) as usize) % CORPUS.len()],
            })
            .collect();
        let mut ids = Vec::new();
        t.encode(&bytes, case % 2 == 0, &mut cache, &mut ids);
        assert!(ids.len() <= bytes.len(), "at most one id per byte");
        let mut back = Vec::new();
        t.decode(&ids, &mut back).unwrap();
        assert_eq!(back, bytes, "case {case}");
    }
}

#[test]
fn training_is_deterministic_and_hits_target_size() {
    let a = trained(350);
    let b = trained(350);
    assert_eq!(a.vocab_size(), 350);
    assert_eq!(a.tokenizer_save(Format::Native).unwrap(), b.tokenizer_save(Format::Native).unwrap());
    assert_eq!(a.special_id(b"<|endoftext|>"), Some(349));
    // Merges compress the training text.
    assert!(encode(&a, CORPUS.as_bytes()).len() < CORPUS.len() / 2);
}

#[test]
fn training_rejects_too_small_vocab() {
    let cfg = TrainConfig { vocab_size: 256, min_frequency: 1, specials: vec![b"<eos>".to_vec()] };
    assert!(Tokenizer::tokenizer_train([CORPUS.as_bytes()].into_iter(), &cfg).unwrap_err().contains("too small"));
}

#[test]
fn specials_are_matched_only_when_allowed() {
    let t = trained(300);
    let text = b"a<|endoftext|>b";
    let mut with = Vec::new();
    t.encode(text, true, &mut EncodeCache::default(), &mut with);
    assert_eq!(with, vec![t.encode_one(b"a"), 299, t.encode_one(b"b")]);
    assert!(!encode(&t, text).contains(&299));
}

impl Tokenizer {
    fn encode_one(&self, b: &[u8]) -> u32 {
        let ids = encode(self, b);
        assert_eq!(ids.len(), 1);
        ids[0]
    }
}

#[test]
fn native_and_hf_formats_round_trip() {
    let t = trained(420);
    let sample = "The lazy fox doesn't 😀 jump 42 times\n\n".as_bytes();
    let want = encode(&t, sample);
    for f in [Format::Native, Format::HfJson] {
        let saved = t.tokenizer_save(f).unwrap();
        let back = Tokenizer::tokenizer_load(&saved, f, vec![]).unwrap();
        assert_eq!(encode(&back, sample), want, "{f:?}");
        assert_eq!(back.vocab_size(), t.vocab_size());
        assert_eq!(back.tokenizer_save(f).unwrap(), saved, "{f:?} writer is deterministic");
    }
}

#[test]
fn native_reader_refuses_bad_files() {
    let t = trained(300);
    let mut saved = t.tokenizer_save(Format::Native).unwrap();
    assert!(Tokenizer::tokenizer_load(b"nope", Format::Native, vec![]).unwrap_err().contains("bad magic"));
    saved[8] = 9; // version
    assert!(Tokenizer::tokenizer_load(&saved, Format::Native, vec![]).unwrap_err().contains("version 9"));
    saved[8] = 1;
    let n = saved.len();
    saved[n - 20] ^= 1;
    assert!(Tokenizer::tokenizer_load(&saved, Format::Native, vec![]).unwrap_err().contains("digest"));
}

#[test]
fn hf_reader_handles_classic_gpt2_shape() {
    // A tiny hand-written tokenizer.json in GPT-2's layout ("Ġ" = space, string merges).
    let mut vocab = String::new();
    let table = crate::hf::byte_to_char();
    for b in 0..256u32 {
        let c = table[b as usize];
        let key = match c {
            '"' => "\\\"".to_string(),
            '\\' => "\\\\".to_string(),
            c => c.to_string(),
        };
        vocab.push_str(&format!("\"{key}\":{b},"));
    }
    vocab.push_str("\"Ġt\":256,\"he\":257,\"Ġthe\":258");
    let json = format!(
        "{{\"added_tokens\":[{{\"id\":259,\"content\":\"<|endoftext|>\",\"special\":true}}],\"normalizer\":null,\
         \"pre_tokenizer\":{{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true}},\
         \"model\":{{\"type\":\"BPE\",\"vocab\":{{{vocab}}},\"merges\":[\"Ġ t\",[\"h\",\"e\"],\"Ġt he\"]}}}}"
    );
    let t = Tokenizer::tokenizer_load(json.as_bytes(), Format::HfJson, vec![]).unwrap();
    assert_eq!(encode(&t, b" the"), vec![258]);
    assert_eq!(encode(&t, b"the"), vec![b't' as u32, 257]);
    assert_eq!(t.special_id(b"<|endoftext|>"), Some(259));
    let bad = json.replace("ByteLevel", "Metaspace");
    assert!(Tokenizer::tokenizer_load(bad.as_bytes(), Format::HfJson, vec![])
        .unwrap_err()
        .contains("pre_tokenizer.type"));
}

#[test]
fn tiktoken_ranks_load_and_merge_by_rank() {
    // Bytes 0..=255 in order, then "ab" (256) and "abc" (257).
    let mut text = String::new();
    for b in 0..=255u8 {
        text.push_str(&format!("{} {}\n", base64_encode(&[b]), b));
    }
    text.push_str(&format!("{} 256\n{} 257\n", base64_encode(b"ab"), base64_encode(b"abc")));
    let t = Tokenizer::tokenizer_load(text.as_bytes(), Format::Tiktoken, vec![(b"<eot>".to_vec(), 258)]).unwrap();
    assert_eq!(encode(&t, b"abc"), vec![257]);
    assert_eq!(encode(&t, b"abcab"), vec![257, 256]);
    assert_eq!(t.vocab_size(), 259);
    assert!(Tokenizer::tokenizer_load(b"!!! 1\n", Format::Tiktoken, vec![]).is_err());
}

#[test]
fn base64_round_trips() {
    let mut s = 3u64;
    for len in 0..40 {
        let b: Vec<u8> = (0..len).map(|_| splitmix(&mut s) as u8).collect();
        assert_eq!(base64_decode(base64_encode(&b).as_bytes()).unwrap(), b);
    }
}

#[test]
fn encode_batch_gives_the_ids_of_encode_for_any_thread_count() {
    let t = trained(400);
    let mut s = 5u64;
    // documents of very different sizes (empty ones too), some with the special token
    let docs: Vec<Vec<u8>> = (0..61)
        .map(|d| {
            let len = match d % 7 {
                0 => 0,
                1 => 3000,
                _ => (splitmix(&mut s) % 300) as usize,
            };
            let mut b: Vec<u8> =
                (0..len).map(|_| CORPUS.as_bytes()[(splitmix(&mut s) as usize) % CORPUS.len()]).collect();
            if d % 5 == 0 {
                b.extend_from_slice(b"<|endoftext|>");
            }
            b
        })
        .collect();
    let data: Vec<u8> = docs.concat();
    let mut offsets = vec![0u64];
    for d in &docs {
        offsets.push(offsets.last().unwrap() + d.len() as u64);
    }
    for allow_special in [false, true] {
        let mut want = vec![7u32];
        let mut want_offsets = vec![0u64];
        for d in &docs {
            t.encode(d, allow_special, &mut EncodeCache::default(), &mut want);
            want_offsets.push(want.len() as u64 - 1);
        }
        for threads in [1usize, 2, 3, 8, 61, 100] {
            let mut caches: Vec<EncodeCache> = (0..threads).map(|_| EncodeCache::default()).collect();
            for round in 0..2 {
                // one id per byte of room (two more to see that nothing is written past the bytes' count)
                let mut ids = vec![9u32; data.len() + 2];
                let mut out_offsets = vec![u64::MAX; docs.len() + 1];
                let n = t.encode_batch(&data, &offsets, allow_special, &mut caches, &mut ids, &mut out_offsets);
                assert_eq!(n, want.len() - 1);
                assert_eq!(ids[..n], want[1..], "ids, {threads} threads, round {round}, specials {allow_special}");
                assert_eq!(ids[data.len()..], [9, 9], "nothing written past one id per byte");
                assert_eq!(out_offsets, want_offsets, "offsets, {threads} threads, round {round}");
            }
        }
        // a sub-range of the documents (offsets need not start at 0)
        let mut caches: Vec<EncodeCache> = (0..3).map(|_| EncodeCache::default()).collect();
        let mut ids = vec![0u32; (offsets[30] - offsets[20]) as usize];
        let mut out_offsets = vec![0u64; 11];
        let n = t.encode_batch(&data, &offsets[20..31], allow_special, &mut caches, &mut ids, &mut out_offsets);
        let base = want_offsets[20];
        let want_part: Vec<u32> = want[1 + base as usize..1 + want_offsets[30] as usize].to_vec();
        assert_eq!(ids[..n], want_part, "documents 20..30 on 3 threads");
        assert_eq!(out_offsets, want_offsets[20..31].iter().map(|o| o - base).collect::<Vec<_>>());
    }
}
