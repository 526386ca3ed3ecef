//! Per-document quality filters: each returns `None` (keep) or the drop reason.

use crate::DropReason;

/// Quality thresholds. A ratio threshold >= 1.0 disables its filter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FilterConfig {
    /// Documents shorter than this many bytes are dropped.
    pub min_bytes: u64,
    /// Documents longer than this many bytes are dropped (0 = no limit).
    pub max_bytes: u64,
    /// Drop when the fraction of non-empty lines that duplicate an earlier line exceeds this.
    pub max_duplicate_line_fraction: f64,
    /// Word n-gram size for the repetition check.
    pub ngram_words: u32,
    /// Drop when the fraction of word n-grams that repeat an earlier n-gram exceeds this.
    pub max_ngram_repeat_fraction: f64,
    /// Drop when the fraction of non-whitespace characters that are symbols exceeds this.
    pub max_symbol_fraction: f64,
    /// Drop when the fraction of non-whitespace characters that are digits exceeds this.
    pub max_digit_fraction: f64,
}

impl Default for FilterConfig {
    fn default() -> Self {
        FilterConfig {
            min_bytes: 1,
            max_bytes: 0,
            max_duplicate_line_fraction: 0.3,
            ngram_words: 3,
            max_ngram_repeat_fraction: 0.5,
            max_symbol_fraction: 0.5,
            max_digit_fraction: 0.5,
        }
    }
}

/// Runs the filters in a fixed order and returns the first failing reason.
pub fn filter_document(doc: &[u8], cfg: &FilterConfig) -> Option<DropReason> {
    let Ok(text) = std::str::from_utf8(doc) else {
        return Some(DropReason::InvalidUtf8);
    };
    let len = doc.len() as u64;
    if len < cfg.min_bytes {
        return Some(DropReason::TooShort);
    }
    if cfg.max_bytes > 0 && len > cfg.max_bytes {
        return Some(DropReason::TooLong);
    }
    if cfg.max_duplicate_line_fraction < 1.0 && duplicate_line_fraction(text) > cfg.max_duplicate_line_fraction {
        return Some(DropReason::DuplicateLines);
    }
    if cfg.max_ngram_repeat_fraction < 1.0
        && ngram_repeat_fraction(text, cfg.ngram_words.max(1) as usize) > cfg.max_ngram_repeat_fraction
    {
        return Some(DropReason::NgramRepetition);
    }
    let (symbols, digits, visible) = char_counts(text);
    if visible > 0 {
        if cfg.max_symbol_fraction < 1.0 && symbols as f64 / visible as f64 > cfg.max_symbol_fraction {
            return Some(DropReason::SymbolRatio);
        }
        if cfg.max_digit_fraction < 1.0 && digits as f64 / visible as f64 > cfg.max_digit_fraction {
            return Some(DropReason::DigitRatio);
        }
    }
    None
}

/// Fraction of non-empty lines equal to an earlier line.
pub fn duplicate_line_fraction(text: &str) -> f64 {
    let mut seen = std::collections::HashSet::new();
    let (mut total, mut dup) = (0usize, 0usize);
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        total += 1;
        if !seen.insert(line) {
            dup += 1;
        }
    }
    if total == 0 {
        0.0
    } else {
        dup as f64 / total as f64
    }
}

/// Fraction of word n-grams equal to an earlier n-gram of the same document.
pub fn ngram_repeat_fraction(text: &str, n: usize) -> f64 {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() < n {
        return 0.0;
    }
    let mut seen = std::collections::HashSet::new();
    let mut dup = 0usize;
    let grams = words.windows(n);
    let total = grams.len();
    for g in grams {
        if !seen.insert(g) {
            dup += 1;
        }
    }
    dup as f64 / total as f64
}

/// (symbols, digits, non-whitespace chars); a symbol is neither alphanumeric nor whitespace.
pub fn char_counts(text: &str) -> (usize, usize, usize) {
    let (mut s, mut d, mut v) = (0, 0, 0);
    for c in text.chars() {
        if c.is_whitespace() {
            continue;
        }
        v += 1;
        if c.is_numeric() {
            d += 1;
        } else if !c.is_alphanumeric() {
            s += 1;
        }
    }
    (s, d, v)
}
