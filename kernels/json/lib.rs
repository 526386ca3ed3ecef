//! nexa_json: the one strict std-only JSON reader/writer of the kernel crates (safetensors headers in
//! kernels/model, tokenizer.json in kernels/tokenize). See README.md.
//!
//! Reader: RFC 8259, strict — rejects duplicate keys, trailing bytes, nesting deeper than 64, bad escapes,
//! lone surrogates and raw control characters. Numbers keep their source text so integers up to u64 stay exact.
//! Writer: compact, object keys in the order given (callers sort for a canonical form); `json_write_lines`
//! puts each top-level member on its own line.

use std::fmt::Write;

/// A JSON value. Objects keep their members in source (or given) order.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    /// The number's text exactly as written (validated against the JSON grammar).
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

/// Deepest accepted nesting of arrays and objects below the top-level value.
pub const MAX_DEPTH: usize = 64;

impl Json {
    /// Member `key` of an object (`None` for other values or a missing key).
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A non-negative integer (no sign, fraction or exponent) that fits u64.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Num(s) if s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
            _ => None,
        }
    }

    /// A non-negative integer (no sign, fraction or exponent) that fits u32.
    pub fn as_u32(&self) -> Option<u32> {
        self.as_u64().and_then(|n| u32::try_from(n).ok())
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------

/// Parses one JSON document; errors name the byte offset.
pub fn json_parse(text: &str) -> Result<Json, String> {
    let mut p = Parser { s: text.as_bytes(), i: 0 };
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected trailing data at byte {}", p.i));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn expect(&mut self, lit: &str) -> Result<(), String> {
        if self.s[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            Ok(())
        } else {
            Err(format!("expected '{lit}' at byte {}", self.i))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH} at byte {}", self.i));
        }
        self.ws();
        match self.peek() {
            None => Err("unexpected end of JSON".into()),
            Some(b'n') => self.expect("null").map(|_| Json::Null),
            Some(b't') => self.expect("true").map(|_| Json::Bool(true)),
            Some(b'f') => self.expect("false").map(|_| Json::Bool(false)),
            Some(b'"') => self.string().map(Json::Str),
            Some(b'[') => self.array(depth),
            Some(b'{') => self.object(depth),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(c) => Err(format!("unexpected character '{}' at byte {}", c as char, self.i)),
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, String> {
        self.i += 1; // '['
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Json::Arr(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Json::Arr(items));
                }
                _ => return Err(format!("expected ',' or ']' at byte {}", self.i)),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, String> {
        self.i += 1; // '{'
        let mut kv: Vec<(String, Json)> = Vec::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Json::Obj(kv));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(format!("expected object key at byte {}", self.i));
            }
            let key = self.string()?;
            if kv.iter().any(|(k, _)| *k == key) {
                return Err(format!("duplicate key \"{key}\""));
            }
            self.ws();
            self.expect(":")?;
            let v = self.value(depth + 1)?;
            kv.push((key, v));
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Json::Obj(kv));
                }
                _ => return Err(format!("expected ',' or '}}' at byte {}", self.i)),
            }
        }
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let s = p.i;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.i += 1;
            }
            p.i - s
        };
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let int_start = self.i;
        let n = digits(self);
        if n == 0 || (n > 1 && self.s[int_start] == b'0') {
            return Err(format!("invalid number at byte {start}"));
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return Err(format!("invalid number at byte {start}"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(format!("invalid number at byte {start}"));
            }
        }
        Ok(Json::Num(String::from_utf8_lossy(&self.s[start..self.i]).into_owned()))
    }

    /// Four hex digits of a `\u` escape (exactly four: no sign, no fewer).
    fn hex4(&mut self) -> Result<u32, String> {
        let h = self.s.get(self.i..self.i + 4).ok_or("truncated \\u escape")?;
        if !h.iter().all(u8::is_ascii_hexdigit) {
            return Err(format!("bad \\u escape at byte {}", self.i));
        }
        let v = u32::from_str_radix(std::str::from_utf8(h).unwrap_or("x"), 16)
            .map_err(|_| format!("bad \\u escape at byte {}", self.i))?;
        self.i += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.i;
            while self.peek().is_some_and(|c| c != b'"' && c != b'\\' && c >= 0x20) {
                self.i += 1;
            }
            out.push_str(std::str::from_utf8(&self.s[start..self.i]).map_err(|_| "invalid UTF-8 in string")?);
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = self.peek().ok_or("unterminated escape")?;
                    self.i += 1;
                    match c {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp) {
                                self.expect("\\u")?;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err("invalid surrogate pair".into());
                                }
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                            }
                            out.push(char::from_u32(cp).ok_or("invalid \\u code point")?);
                        }
                        _ => return Err(format!("invalid escape at byte {}", self.i - 1)),
                    }
                }
                None => return Err("unterminated string".into()),
                Some(_) => return Err(format!("control character in string at byte {}", self.i)),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------

/// Writes `v` compactly (no whitespace), object keys in the order given.
pub fn json_write(v: &Json) -> String {
    let mut out = String::new();
    write_into(&mut out, v);
    out
}

/// Like `json_write`, but a top-level object puts each member on its own line (`{\n  "k":v,\n  …\n}`), which
/// keeps tokenizer.json diffable without bloat. Nested values stay compact; a non-object is written as by
/// `json_write`.
pub fn json_write_lines(v: &Json) -> String {
    let Json::Obj(kv) = v else { return json_write(v) };
    let mut out = String::from("{");
    for (i, (k, x)) in kv.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("\n  ");
        write_str(&mut out, k);
        out.push(':');
        write_into(&mut out, x);
    }
    out.push_str("\n}");
    out
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_into(out: &mut String, v: &Json) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Num(s) => out.push_str(s),
        Json::Str(s) => write_str(out, s),
        Json::Arr(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_into(out, x);
            }
            out.push(']');
        }
        Json::Obj(kv) => {
            out.push('{');
            for (i, (k, x)) in kv.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_into(out, x);
            }
            out.push('}');
        }
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_and_keeps_integers_exact() {
        let text = r#"{"a":[1,-2.5e3,true,null],"b\n\"":"x\u00e9\ud83d\ude00","n":18446744073709551615}"#;
        let v = json_parse(text).unwrap();
        assert_eq!(v.get("n").unwrap().as_u64(), Some(u64::MAX));
        assert_eq!(v.get("b\n\"").unwrap().as_str(), Some("xé😀"));
        assert_eq!(json_parse(&json_write(&v)).unwrap(), v);
    }

    #[test]
    fn json_round_trips() {
        let src = r#"{"a":[1,-2.5e3,true,null],"b":"x\"\\\n\u00e9\ud83d\ude00","c":{}}"#;
        let v = json_parse(src).unwrap();
        assert_eq!(v.get("b").unwrap().as_str().unwrap(), "x\"\\\né😀");
        assert_eq!(json_parse(&json_write(&v)).unwrap(), v);
        assert_eq!(json_parse(&json_write_lines(&v)).unwrap(), v);
    }

    #[test]
    fn json_rejects_malformed_input() {
        for bad in ["", "{", "{\"a\":1,\"a\":2}", "[1,]", "01", "1.", "\"\\x\"", "{} x", "\"\u{1}\"", "-", "[1 2]"] {
            assert!(json_parse(bad).is_err(), "accepted {bad:?}");
        }
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(json_parse(&deep).unwrap_err().contains("nesting"));
    }

    #[test]
    fn json_rejects_bad_escapes_and_surrogates() {
        for bad in [
            r#""\u12""#,
            r#""\u+123""#,
            r#""\u12g4""#,
            r#""\ud83d""#,
            r#""\ud83dx""#,
            r#""\ud83d\u0041""#,
            r#""\ude00""#,
        ] {
            assert!(json_parse(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn json_depth_limit_is_64_below_the_top() {
        let nest = |n: usize| "[".repeat(n) + &"]".repeat(n);
        assert!(json_parse(&nest(MAX_DEPTH + 1)).is_ok());
        assert!(json_parse(&nest(MAX_DEPTH + 2)).unwrap_err().contains("nesting deeper than 64"));
    }

    #[test]
    fn json_errors_name_offsets() {
        assert!(json_parse("{\"a\":}").unwrap_err().contains("byte 5"));
        assert!(json_parse("[1,2").is_err());
        assert!(json_parse("\"abc").is_err());
        assert!(json_parse("1 2").is_err());
        assert!(json_parse("{\"a\":1,\"a\":2}").unwrap_err().contains("duplicate key \"a\""));
        assert!(json_parse("{} x").unwrap_err().contains("trailing data at byte 3"));
    }

    #[test]
    fn json_accessors_check_kinds_and_ranges() {
        let v = json_parse(r#"{"u":4294967295,"big":4294967296,"neg":-1,"f":1.5,"e":1e3,"t":true,"s":"1"}"#).unwrap();
        assert_eq!(v.get("u").and_then(Json::as_u32), Some(u32::MAX));
        assert_eq!(v.get("big").and_then(Json::as_u32), None);
        assert_eq!(v.get("big").and_then(Json::as_u64), Some(1 << 32));
        for k in ["neg", "f", "e", "s"] {
            assert_eq!(v.get(k).and_then(Json::as_u64), None, "{k}");
        }
        assert_eq!(v.get("t").and_then(Json::as_bool), Some(true));
        assert_eq!(v.get("s").and_then(Json::as_bool), None);
        assert_eq!(v.get("s").and_then(Json::as_str), Some("1"));
        assert_eq!(v.get("missing"), None);
        assert_eq!(Json::Null.get("u"), None);
    }

    #[test]
    fn json_writers_emit_exact_bytes() {
        let v = Json::Obj(vec![
            ("z".into(), Json::Arr(vec![Json::Num("1".into()), Json::Null, Json::Bool(false)])),
            ("a".into(), Json::Obj(vec![("k".into(), Json::Str("q\"\\\n\r\t\u{1}é".into()))])),
        ]);
        assert_eq!(json_write(&v), r#"{"z":[1,null,false],"a":{"k":"q\"\\\n\r\t\u0001é"}}"#);
        assert_eq!(
            json_write_lines(&v),
            "{\n  \"z\":[1,null,false],\n  \"a\":{\"k\":\"q\\\"\\\\\\n\\r\\t\\u0001é\"}\n}"
        );
        assert_eq!(json_write_lines(&Json::Obj(vec![])), "{\n}");
        assert_eq!(json_write_lines(&Json::Arr(vec![Json::Obj(vec![])])), "[{}]");
    }
}
