//! GPT-2 pre-tokenization, hand-written. The regex it implements (first matching
//! alternative wins, quantifiers greedy):
//!
//! ```text
//! 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//! ```
//!
//! Input is bytes: invalid UTF-8 bytes are single characters of class `Other`
//! (they join `[^\s\p{L}\p{N}]+` runs), so any byte string splits into pieces whose
//! concatenation is the input.

use crate::unicode::{char_class, CharClass};

/// Decodes one character at `i`: `(class, byte length)`. Invalid sequences yield
/// `(Other, 1)`; that byte is then its own character.
#[inline(always)]
fn class_at(b: &[u8], i: usize) -> (CharClass, usize) {
    let b0 = b[i];
    if b0 < 0x80 {
        return (char_class(b0 as char), 1);
    }
    let (len, min, init) = match b0 {
        0xC2..=0xDF => (2, 0x80, (b0 & 0x1F) as u32),
        0xE0..=0xEF => (3, 0x800, (b0 & 0x0F) as u32),
        0xF0..=0xF4 => (4, 0x10000, (b0 & 0x07) as u32),
        _ => return (CharClass::Other, 1),
    };
    if i + len > b.len() {
        return (CharClass::Other, 1);
    }
    let mut cp = init;
    for &c in &b[i + 1..i + len] {
        if c & 0xC0 != 0x80 {
            return (CharClass::Other, 1);
        }
        cp = (cp << 6) | (c & 0x3F) as u32;
    }
    if cp < min {
        return (CharClass::Other, 1);
    }
    match char::from_u32(cp) {
        Some(c) => (char_class(c), len),
        None => (CharClass::Other, 1), // surrogates / > U+10FFFF
    }
}

/// Length of a contraction (`'s 't 're 've 'm 'll 'd`) starting at `i`, or 0.
#[inline]
fn contraction_len(b: &[u8], i: usize) -> usize {
    if b[i] != b'\'' || i + 1 >= b.len() {
        return 0;
    }
    match b[i + 1] {
        b's' | b't' | b'm' | b'd' => 2,
        b'r' | b'v' if b.get(i + 2) == Some(&b'e') => 3,
        b'l' if b.get(i + 2) == Some(&b'l') => 3,
        _ => 0,
    }
}

/// End of the run of characters starting at `i` that satisfy `keep`.
#[inline(always)]
fn run_end(b: &[u8], mut i: usize, keep: impl Fn(CharClass) -> bool) -> usize {
    while i < b.len() {
        let (c, n) = class_at(b, i);
        if !keep(c) {
            break;
        }
        i += n;
    }
    i
}

#[inline(always)]
fn is_other(c: CharClass) -> bool {
    c == CharClass::Other
}

#[inline(always)]
fn is_space(c: CharClass) -> bool {
    matches!(c, CharClass::Space | CharClass::Whitespace)
}

/// End (exclusive) of the piece that starts at `i` (`i < b.len()`).
#[inline]
pub fn piece_end(b: &[u8], i: usize) -> usize {
    let c = contraction_len(b, i);
    if c > 0 {
        return i + c;
    }
    let (class, _) = class_at(b, i);
    // ` ?X+` alternatives: a single U+0020 may lead a letter/number/other run.
    let (class, start) = if class == CharClass::Space && i + 1 < b.len() {
        let (next, _) = class_at(b, i + 1);
        if is_space(next) {
            (CharClass::Space, i)
        } else {
            (next, i + 1)
        }
    } else {
        (class, i)
    };
    match class {
        CharClass::Letter => run_end(b, start, |k| k == CharClass::Letter),
        CharClass::Number => run_end(b, start, |k| k == CharClass::Number),
        CharClass::Other => run_end(b, start, is_other),
        CharClass::Space | CharClass::Whitespace => {
            // `\s+(?!\S)` then `\s+`: a run followed by non-space gives back its last
            // character (which then leads the next piece) unless the run is 1 char.
            let end = run_end(b, i, is_space);
            if end == b.len() {
                return end;
            }
            let last = last_char_start(b, i, end);
            if last > i {
                last
            } else {
                end
            }
        }
    }
}

/// Start of the last character in `b[from..end]` (runs of whitespace are valid UTF-8).
#[inline]
fn last_char_start(b: &[u8], from: usize, end: usize) -> usize {
    let mut k = end - 1;
    while k > from && b[k] & 0xC0 == 0x80 {
        k -= 1;
    }
    k
}

/// Iterator over the pieces of `b`.
pub struct Pieces<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.at >= self.bytes.len() {
            return None;
        }
        let end = piece_end(self.bytes, self.at);
        let piece = &self.bytes[self.at..end];
        self.at = end;
        Some(piece)
    }
}

/// Splits `bytes` into GPT-2 pre-tokenization pieces.
pub fn pretokenize(bytes: &[u8]) -> Pieces<'_> {
    Pieces { bytes, at: 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<&str> {
        pretokenize(s.as_bytes()).map(|p| std::str::from_utf8(p).unwrap()).collect()
    }

    #[test]
    fn pretokenize_matches_gpt2_regex_examples() {
        assert_eq!(split("Hello world"), vec!["Hello", " world"]);
        assert_eq!(split("I'm don't we'll"), vec!["I", "'m", " don", "'t", " we", "'ll"]);
        assert_eq!(split("a  b"), vec!["a", " ", " b"]);
        assert_eq!(split("a \n b"), vec!["a", " \n", " b"]);
        assert_eq!(split("x\t\ty"), vec!["x", "\t", "\t", "y"]);
        assert_eq!(split("end   "), vec!["end", "   "]);
        assert_eq!(split("x 123 4"), vec!["x", " 123", " 4"]);
        assert_eq!(split("f(x)=y;"), vec!["f", "(", "x", ")=", "y", ";"]);
        assert_eq!(split(" ?'s"), vec![" ?'", "s"]);
        assert_eq!(split("'sa"), vec!["'s", "a"]);
        assert_eq!(split("naïve café 😀!"), vec!["naïve", " café", " 😀!"]);
        assert_eq!(split(" \u{3000}x"), vec![" ", "\u{3000}", "x"]);
    }

    #[test]
    fn pieces_concatenate_to_input_for_invalid_bytes() {
        let input = b"ab\xff\xfe cd \xe2\x82 \xf0\x9f\x98";
        let joined: Vec<u8> = pretokenize(input).flatten().copied().collect();
        assert_eq!(joined, input);
    }
}
