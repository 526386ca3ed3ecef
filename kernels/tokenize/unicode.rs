//! Character classes of GPT-2's pre-tokenization regex, from `char` predicates.
//!
//! * `\s`    = `char::is_whitespace` (both are Unicode `White_Space`).
//! * `\p{N}` = `char::is_numeric` (both are general categories Nd | Nl | No).
//! * `\p{L}` = `char::is_alphabetic` minus numbers, minus the `Other_Alphabetic`
//!   code points that are marks (Mn, Mc) or symbols (So, e.g. circled letters).
//!   `NOT_LETTER_RANGES` lists those code points; it was derived once from Unicode
//!   14 general categories (Mn | Mc | So) ∩ `char::is_alphabetic`, merging ranges
//!   across code points that are not alphabetic at all. Characters assigned after
//!   Unicode 14 may still differ from a regex engine's `\p{L}`.

/// Class of one character (or of one invalid UTF-8 byte, which is `Other`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CharClass {
    Letter,
    Number,
    /// U+0020, which the regex treats specially (` ?\p{L}+` etc.).
    Space,
    /// Any other `\s` character.
    Whitespace,
    /// Neither letter, number nor whitespace (punctuation, symbols, invalid bytes).
    Other,
}

/// Class of a decoded character.
#[inline]
pub fn char_class(c: char) -> CharClass {
    if c.is_ascii() {
        return ASCII_CLASS[c as usize];
    }
    if c.is_whitespace() {
        CharClass::Whitespace
    } else if c.is_numeric() {
        CharClass::Number
    } else if c.is_alphabetic() && !in_not_letter_ranges(c as u32) {
        CharClass::Letter
    } else {
        CharClass::Other
    }
}

fn in_not_letter_ranges(cp: u32) -> bool {
    let i = NOT_LETTER_RANGES.partition_point(|&(_, hi)| hi < cp);
    i < NOT_LETTER_RANGES.len() && NOT_LETTER_RANGES[i].0 <= cp
}

const fn ascii_classes() -> [CharClass; 128] {
    let mut t = [CharClass::Other; 128];
    let mut i = 0;
    while i < 128 {
        let b = i as u8;
        t[i] = if b == b' ' {
            CharClass::Space
        } else if b == b'\t' || b == b'\n' || b == 0x0b || b == 0x0c || b == b'\r' {
            CharClass::Whitespace
        } else if b.is_ascii_alphabetic() {
            CharClass::Letter
        } else if b.is_ascii_digit() {
            CharClass::Number
        } else {
            CharClass::Other
        };
        i += 1;
    }
    t
}

static ASCII_CLASS: [CharClass; 128] = ascii_classes();

/// Alphabetic code points that are not `\p{L}` (marks and symbols), inclusive ranges.
#[rustfmt::skip]
static NOT_LETTER_RANGES: [(u32, u32); 157] = [
    (0x0345, 0x036F),
    (0x05B0, 0x05C7),
    (0x0610, 0x061A),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x06D6, 0x06E4),
    (0x06E7, 0x06ED),
    (0x0711, 0x0711),
    (0x0730, 0x073F),
    (0x07A6, 0x07B0),
    (0x0816, 0x0817),
    (0x081B, 0x0823),
    (0x0825, 0x0827),
    (0x0829, 0x082C),
    (0x08D4, 0x0903),
    (0x093A, 0x093B),
    (0x093E, 0x094F),
    (0x0955, 0x0957),
    (0x0962, 0x0963),
    (0x0981, 0x0983),
    (0x09BE, 0x09CC),
    (0x09D7, 0x09D7),
    (0x09E2, 0x09E3),
    (0x0A01, 0x0A03),
    (0x0A3E, 0x0A51),
    (0x0A70, 0x0A71),
    (0x0A75, 0x0A83),
    (0x0ABE, 0x0ACC),
    (0x0AE2, 0x0AE3),
    (0x0AFA, 0x0B03),
    (0x0B3E, 0x0B57),
    (0x0B62, 0x0B63),
    (0x0B82, 0x0B82),
    (0x0BBE, 0x0BCC),
    (0x0BD7, 0x0C04),
    (0x0C3E, 0x0C56),
    (0x0C62, 0x0C63),
    (0x0C81, 0x0C83),
    (0x0CBE, 0x0CD6),
    (0x0CE2, 0x0CE3),
    (0x0D00, 0x0D03),
    (0x0D3E, 0x0D4C),
    (0x0D57, 0x0D57),
    (0x0D62, 0x0D63),
    (0x0D81, 0x0D83),
    (0x0DCF, 0x0DF3),
    (0x0E31, 0x0E31),
    (0x0E34, 0x0E3A),
    (0x0E4D, 0x0E4D),
    (0x0EB1, 0x0EB1),
    (0x0EB4, 0x0EBC),
    (0x0ECD, 0x0ECD),
    (0x0F71, 0x0F83),
    (0x0F8D, 0x0FBC),
    (0x102B, 0x103E),
    (0x1056, 0x1059),
    (0x105E, 0x1060),
    (0x1062, 0x1064),
    (0x1067, 0x106D),
    (0x1071, 0x1074),
    (0x1082, 0x108D),
    (0x108F, 0x109D),
    (0x1712, 0x1713),
    (0x1732, 0x1733),
    (0x1752, 0x1753),
    (0x1772, 0x1773),
    (0x17B6, 0x17C8),
    (0x1885, 0x1886),
    (0x18A9, 0x18A9),
    (0x1920, 0x1938),
    (0x1A17, 0x1A1B),
    (0x1A55, 0x1A74),
    (0x1ABF, 0x1B04),
    (0x1B35, 0x1B43),
    (0x1B80, 0x1B82),
    (0x1BA1, 0x1BAD),
    (0x1BE7, 0x1BF1),
    (0x1C24, 0x1C36),
    (0x1DD3, 0x1DF4),
    (0x24B6, 0x24E9),
    (0x2DE0, 0x2DFF),
    (0xA674, 0xA67B),
    (0xA69E, 0xA69F),
    (0xA802, 0xA802),
    (0xA80B, 0xA80B),
    (0xA823, 0xA827),
    (0xA880, 0xA881),
    (0xA8B4, 0xA8C5),
    (0xA8FF, 0xA8FF),
    (0xA926, 0xA92A),
    (0xA947, 0xA952),
    (0xA980, 0xA983),
    (0xA9B4, 0xA9BF),
    (0xA9E5, 0xA9E5),
    (0xAA29, 0xAA36),
    (0xAA43, 0xAA43),
    (0xAA4C, 0xAA4D),
    (0xAA7B, 0xAA7D),
    (0xAAB0, 0xAAB0),
    (0xAAB2, 0xAAB4),
    (0xAAB7, 0xAAB8),
    (0xAABE, 0xAABE),
    (0xAAEB, 0xAAEF),
    (0xAAF5, 0xAAF5),
    (0xABE3, 0xABEA),
    (0xFB1E, 0xFB1E),
    (0x10376, 0x1037A),
    (0x10A01, 0x10A0F),
    (0x10D24, 0x10D27),
    (0x10EAB, 0x10EAC),
    (0x11000, 0x11002),
    (0x11038, 0x11045),
    (0x11073, 0x11074),
    (0x11080, 0x11082),
    (0x110B0, 0x110C2),
    (0x11100, 0x11102),
    (0x11127, 0x11132),
    (0x11145, 0x11146),
    (0x11180, 0x11182),
    (0x111B3, 0x111BF),
    (0x111CE, 0x111CF),
    (0x1122C, 0x1123E),
    (0x112DF, 0x11303),
    (0x1133E, 0x1134C),
    (0x11357, 0x11357),
    (0x11362, 0x11363),
    (0x11435, 0x11445),
    (0x114B0, 0x114C1),
    (0x115AF, 0x115BE),
    (0x115DC, 0x115DD),
    (0x11630, 0x11640),
    (0x116AB, 0x116B5),
    (0x1171D, 0x1172A),
    (0x1182C, 0x11838),
    (0x11930, 0x1193C),
    (0x11940, 0x11940),
    (0x11942, 0x11942),
    (0x119D1, 0x119DF),
    (0x119E4, 0x119E4),
    (0x11A01, 0x11A0A),
    (0x11A35, 0x11A39),
    (0x11A3B, 0x11A3E),
    (0x11A51, 0x11A5B),
    (0x11A8A, 0x11A97),
    (0x11C2F, 0x11C3E),
    (0x11C92, 0x11CB6),
    (0x11D31, 0x11D43),
    (0x11D47, 0x11D47),
    (0x11D8A, 0x11D96),
    (0x11EF3, 0x11EF6),
    (0x16F4F, 0x16F4F),
    (0x16F51, 0x16F92),
    (0x16FF0, 0x16FF1),
    (0x1BC9E, 0x1BC9E),
    (0x1E000, 0x1E02A),
    (0x1E947, 0x1E947),
    (0x1F130, 0x1F189),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_match_regex_expectations() {
        assert_eq!(char_class('a'), CharClass::Letter);
        assert_eq!(char_class('é'), CharClass::Letter);
        assert_eq!(char_class('中'), CharClass::Letter);
        assert_eq!(char_class('7'), CharClass::Number);
        assert_eq!(char_class('٣'), CharClass::Number);
        assert_eq!(char_class('Ⅻ'), CharClass::Number); // Nl is \p{N}, not \p{L}
        assert_eq!(char_class(' '), CharClass::Space);
        assert_eq!(char_class('\u{3000}'), CharClass::Whitespace);
        assert_eq!(char_class('\u{0301}'), CharClass::Other); // combining acute: Mn
        assert_eq!(char_class('\u{093E}'), CharClass::Other); // Devanagari AA sign: Mc
        assert_eq!(char_class('Ⓐ'), CharClass::Other); // So
        assert_eq!(char_class('😀'), CharClass::Other);
        assert_eq!(char_class('\''), CharClass::Other);
        assert!(NOT_LETTER_RANGES.windows(2).all(|w| w[0].1 < w[1].0));
    }
}
