//! Fixture of //tools/format:format_fixtures_test: formatted.rs is what rustfmt makes of misformatted.rs.

pub fn checksum(bytes: &[u8], seed: u64) -> u64 {
    let mut h: u64 = seed ^ 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
