//! Gate tests: filters, dedup, sharding, MinHash accuracy (property).

use super::*;

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn prose(seed: u64, words: usize) -> String {
    let mut s = seed;
    let word = |mut n: u64| {
        let mut w = String::new();
        for _ in 0..5 {
            w.push((b'a' + (n % 26) as u8) as char);
            n /= 26;
        }
        w
    };
    (0..words).map(|_| word(splitmix(&mut s))).collect::<Vec<_>>().join(" ")
}

#[test]
fn filters_report_reasons() {
    let cfg = FilterConfig { min_bytes: 5, max_bytes: 100, ..FilterConfig::default() };
    assert_eq!(filter_document(b"hey", &cfg), Some(DropReason::TooShort));
    assert_eq!(filter_document(&[b'a'; 200], &cfg), Some(DropReason::TooLong));
    assert_eq!(filter_document(b"abc\xff\xfedef", &cfg), Some(DropReason::InvalidUtf8));
    assert_eq!(filter_document(b"same line\nsame line\nsame line\nother", &cfg), Some(DropReason::DuplicateLines));
    assert_eq!(filter_document(b"a b c a b c a b c a b c", &cfg), Some(DropReason::NgramRepetition));
    assert_eq!(filter_document(b"#### $$$$ %%%% ok", &cfg), Some(DropReason::SymbolRatio));
    assert_eq!(filter_document(b"12345 67890 1 x", &cfg), Some(DropReason::DigitRatio));
    assert_eq!(filter_document(b"A perfectly normal sentence.", &cfg), None);
}

#[test]
fn exact_and_near_duplicates_are_dropped_and_counted() {
    let mut g = Gate::gate_new(GateConfig::default()).unwrap();
    let a = prose(1, 300);
    let mut near = a.clone();
    near.push_str(" one extra tail");
    let b = prose(2, 300);
    assert_eq!(g.gate_document(a.as_bytes()), DropReason::Keep);
    assert_eq!(g.gate_document(a.as_bytes()), DropReason::ExactDuplicate);
    assert_eq!(g.gate_document(near.as_bytes()), DropReason::NearDuplicate);
    assert_eq!(g.gate_document(b.as_bytes()), DropReason::Keep);
    assert_eq!(g.gate_document(b""), DropReason::TooShort);
    let c = g.counts();
    assert_eq!((c[0], c[1], c[8], c[9]), (2, 1, 1, 1));
    assert_eq!(reason_name(9), Some("near_duplicate"));
    assert_eq!(reason_name(11), None);
}

#[test]
fn gate_is_deterministic_and_shards_partition_documents() {
    let docs: Vec<String> = (0..40).map(|i| prose(i % 25, 50)).collect();
    let run = |shard, num_shards| {
        let mut g = Gate::gate_new(GateConfig { shard, num_shards, ..GateConfig::default() }).unwrap();
        docs.iter().map(|d| g.gate_document(d.as_bytes())).collect::<Vec<_>>()
    };
    assert_eq!(run(0, 1), run(0, 1));
    let (s0, s1) = (run(0, 2), run(1, 2));
    for i in 0..docs.len() {
        assert_eq!(s0[i] == DropReason::OtherShard, i % 2 == 1);
        assert_eq!(s1[i] == DropReason::OtherShard, i % 2 == 0);
    }
    assert!(Gate::gate_new(GateConfig { shard: 2, num_shards: 2, ..GateConfig::default() }).is_err());
    let bad = GateConfig { minhash: MinHashConfig { bands: 0, ..MinHashConfig::default() }, ..GateConfig::default() };
    assert!(Gate::gate_new(bad).is_err());
}

#[test]
fn minhash_estimates_track_exact_jaccard_property() {
    let cfg = MinHashConfig { bands: 16, rows: 16, shingle_words: 1, seed: 42 };
    let h = MinHasher::minhasher_new(cfg).unwrap();
    let mut s = 123u64;
    let mut worst = 0.0f64;
    for _ in 0..60 {
        // Two word sets sharing `common` words; exact Jaccard is known by construction.
        let common = (splitmix(&mut s) % 300) as usize;
        let only_a = (splitmix(&mut s) % 300) as usize + 1;
        let only_b = (splitmix(&mut s) % 300) as usize + 1;
        let base = splitmix(&mut s);
        let word = |k: u64| format!("t{}", base.wrapping_add(k));
        let a: Vec<String> = (0..common + only_a).map(|k| word(k as u64)).collect();
        let b: Vec<String> =
            (0..common).map(|k| word(k as u64)).chain((0..only_b).map(|k| word(1_000_000 + k as u64))).collect();
        let exact = common as f64 / (common + only_a + only_b) as f64;
        let (mut sa, mut sb, mut ga, mut gb) = (vec![], vec![], vec![], vec![]);
        h.shingles(a.join(" ").as_bytes(), &mut sa);
        h.shingles(b.join(" ").as_bytes(), &mut sb);
        h.signature(&sa, &mut ga);
        h.signature(&sb, &mut gb);
        let est = signature_similarity(&ga, &gb);
        worst = worst.max((est - exact).abs());
    }
    // 256 hashes: standard deviation <= 0.031; 4 sigma tolerance.
    assert!(worst < 0.125, "worst MinHash error {worst}");
}

#[test]
fn gate_run_on_threads_decides_exactly_like_one_document_at_a_time() {
    // originals, exact copies, near copies (one word changed), filter drops, empty documents, in a mixed order,
    // longer than one prepare chunk so the chunk boundary is crossed
    let mut docs: Vec<Vec<u8>> = Vec::new();
    let mut s = 5u64;
    for i in 0..(PREPARE_CHUNK as u64 + 900) {
        let kind = splitmix(&mut s) % 6;
        let base = prose(i / 3, 80);
        let doc = match kind {
            0 => base,
            1 => prose(i / 3, 80), // an exact copy of a neighbour's text
            2 => base.replacen("a", "q", 1),
            3 => "x".repeat(3),
            4 => String::new(),
            _ => prose(i + 1_000_000, 60),
        };
        docs.push(doc.into_bytes());
    }
    let refs: Vec<&[u8]> = docs.iter().map(|d| d.as_slice()).collect();
    for (shard, num_shards) in [(0u64, 1u64), (1, 3)] {
        let cfg = GateConfig {
            filters: FilterConfig { min_bytes: 10, ..FilterConfig::default() },
            shard,
            num_shards,
            ..GateConfig::default()
        };
        let mut one = Gate::gate_new(cfg.clone()).unwrap();
        let want: Vec<DropReason> = refs.iter().map(|d| one.gate_document(d)).collect();
        let kinds = [DropReason::ExactDuplicate, DropReason::NearDuplicate, DropReason::Keep, DropReason::TooShort];
        for kind in kinds.into_iter().take(if num_shards == 1 { 4 } else { 0 }) {
            assert!(want.contains(&kind), "the corpus exercises {kind:?}");
        }
        if num_shards > 1 {
            assert!(want.contains(&DropReason::OtherShard) && want.contains(&DropReason::Keep));
        }
        for threads in [1, 2, 3, 8] {
            let mut g = Gate::gate_new(cfg.clone()).unwrap();
            g.set_threads(threads);
            // two calls: the stream (and the shard of each index) continues across them
            let mut got = vec![DropReason::Keep; refs.len()];
            let (a, b) = got.split_at_mut(1000);
            g.gate_run(&refs[..1000], a);
            g.gate_run(&refs[1000..], b);
            assert_eq!(got, want, "threads {threads}, shard {shard} of {num_shards}");
            assert_eq!(g.counts(), one.counts());
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_signature_gives_the_baseline_minima() {
    if !std::arch::is_x86_feature_detected!("avx2") {
        return; // no AVX2 path on this CPU: `signature` never takes it here
    }
    let mut s = 17u64;
    for n_hashes in [1usize, 7, 8, 128, 131] {
        let xor: Vec<u32> = (0..n_hashes).map(|_| splitmix(&mut s) as u32).collect();
        let mul: Vec<u32> = (0..n_hashes).map(|_| splitmix(&mut s) as u32 | 1).collect();
        let shingles: Vec<u64> = (0..300).map(|_| splitmix(&mut s)).collect();
        let (mut a, mut b) = (vec![u32::MAX; n_hashes], vec![u32::MAX; n_hashes]);
        crate::minhash::signature_min(&shingles, &xor, &mul, &mut a);
        // SAFETY: AVX2 was detected above.
        unsafe { crate::minhash::signature_avx2(&shingles, &xor, &mul, &mut b) };
        assert_eq!(a, b, "{n_hashes} hashes");
    }
}
