//! The safetensors container: `u64 LE header length · JSON header · raw LE tensor data`.
//!
//! Header: `{"__metadata__": {str: str}, "<name>": {"dtype", "shape", "data_offsets": [b, e]}}`,
//! offsets relative to the first byte after the header. We write keys sorted, data in the
//! same order, the header padded with spaces to a multiple of 8. The reader trusts nothing:
//! every length, offset, dtype and shape is checked before any data is touched.

use crate::error::{err, ErrorKind, Result};
use nexa_json::{json_parse, json_write, Json};

/// Upper bound on the JSON header (hostile files may claim anything).
pub const MAX_HEADER_BYTES: u64 = 100 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    Bool,
    U8,
    I8,
    U16,
    I16,
    F16,
    BF16,
    U32,
    I32,
    F32,
    U64,
    I64,
    F64,
}

impl Dtype {
    pub fn parse(s: &str) -> Option<Dtype> {
        use Dtype::*;
        Some(match s {
            "BOOL" => Bool,
            "U8" => U8,
            "I8" => I8,
            "U16" => U16,
            "I16" => I16,
            "F16" => F16,
            "BF16" => BF16,
            "U32" => U32,
            "I32" => I32,
            "F32" => F32,
            "U64" => U64,
            "I64" => I64,
            "F64" => F64,
            _ => return None,
        })
    }
    pub fn size(self) -> u64 {
        use Dtype::*;
        match self {
            Bool | U8 | I8 => 1,
            U16 | I16 | F16 | BF16 => 2,
            U32 | I32 | F32 => 4,
            U64 | I64 | F64 => 8,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    /// Byte range inside the data section.
    pub begin: usize,
    pub end: usize,
}

/// A parsed file: metadata, tensor directory and the raw bytes.
pub struct SafeTensors {
    pub metadata: Vec<(String, String)>,
    pub tensors: Vec<TensorInfo>,
    bytes: Vec<u8>,
    data_start: usize,
}

impl SafeTensors {
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
    /// Raw little-endian bytes of a tensor.
    pub fn data(&self, t: &TensorInfo) -> &[u8] {
        &self.bytes[self.data_start + t.begin..self.data_start + t.end]
    }
    /// An F32 tensor decoded, after checking dtype and shape.
    pub fn read_f32(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let t = self
            .tensor(name)
            .ok_or_else(|| crate::error::ModelError::new(ErrorKind::Mismatch, format!("tensor \"{name}\" missing")))?;
        if t.dtype != Dtype::F32 {
            return err(ErrorKind::Mismatch, format!("tensor \"{name}\": dtype {:?}, expected F32", t.dtype));
        }
        if t.shape != shape {
            return err(ErrorKind::Mismatch, format!("tensor \"{name}\": shape {:?}, expected {shape:?}", t.shape));
        }
        Ok(self.data(t).chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
    }
}

// ---------------------------------------------------------------- writer

/// Serializes F32 tensors `(name, shape, data)` and string metadata into safetensors bytes.
pub fn safetensors_write(tensors: &[(String, Vec<usize>, &[f32])], metadata: &[(String, String)]) -> Vec<u8> {
    let mut order: Vec<usize> = (0..tensors.len()).collect();
    order.sort_by(|&a, &b| tensors[a].0.cmp(&tensors[b].0));
    let mut meta = metadata.to_vec();
    meta.sort();
    let mut header =
        vec![("__metadata__".to_string(), Json::Obj(meta.into_iter().map(|(k, v)| (k, Json::Str(v))).collect()))];
    let mut offset = 0usize;
    for &i in &order {
        let (name, shape, data) = &tensors[i];
        assert_eq!(shape.iter().product::<usize>(), data.len(), "safetensors_write: {name} shape/data mismatch");
        let end = offset + data.len() * 4;
        header.push((
            name.clone(),
            Json::Obj(vec![
                ("dtype".into(), Json::Str("F32".into())),
                ("shape".into(), Json::Arr(shape.iter().map(|d| Json::Num(d.to_string())).collect())),
                ("data_offsets".into(), Json::Arr(vec![Json::Num(offset.to_string()), Json::Num(end.to_string())])),
            ]),
        ));
        offset = end;
    }
    let mut text = json_write(&Json::Obj(header)).into_bytes();
    while text.len() % 8 != 0 {
        text.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + text.len() + offset);
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(&text);
    for &i in &order {
        for x in tensors[i].2 {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    out
}

// ---------------------------------------------------------------- reader

fn bad<T>(msg: String) -> Result<T> {
    err(ErrorKind::Format, format!("safetensors: {msg}"))
}

/// Parses and validates a whole file held in memory.
pub fn safetensors_parse(bytes: Vec<u8>) -> Result<SafeTensors> {
    if bytes.len() < 8 {
        return bad(format!("file is {} bytes, shorter than the 8-byte header length", bytes.len()));
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap());
    if n > MAX_HEADER_BYTES {
        return bad(format!("header length {n} exceeds the {MAX_HEADER_BYTES}-byte limit"));
    }
    if n > bytes.len() as u64 - 8 {
        return bad(format!("header length {n} runs past the end of the {}-byte file", bytes.len()));
    }
    let data_start = 8 + n as usize;
    let data_len = bytes.len() - data_start;
    let text = std::str::from_utf8(&bytes[8..data_start]).or_else(|_| bad("header is not valid UTF-8".into()))?;
    let header = json_parse(text).or_else(|e| bad(format!("header is not valid JSON: {e}")))?;
    let Json::Obj(entries) = header else { return bad("header must be a JSON object".into()) };
    let mut metadata = Vec::new();
    let mut tensors = Vec::new();
    for (name, v) in entries {
        if name == "__metadata__" {
            let Json::Obj(kv) = v else { return bad("__metadata__ must be an object".into()) };
            for (k, v) in kv {
                let Json::Str(s) = v else { return bad(format!("__metadata__ value for \"{k}\" must be a string")) };
                metadata.push((k, s));
            }
            continue;
        }
        let Json::Obj(fields) = &v else { return bad(format!("tensor \"{name}\" must be an object")) };
        if let Some((k, _)) = fields.iter().find(|(k, _)| !matches!(k.as_str(), "dtype" | "shape" | "data_offsets")) {
            return bad(format!("tensor \"{name}\": unknown field \"{k}\""));
        }
        let dtype_s = v.get("dtype").and_then(Json::as_str).ok_or_else(|| {
            crate::error::ModelError::new(
                ErrorKind::Format,
                format!("safetensors: tensor \"{name}\": missing string dtype"),
            )
        })?;
        let dtype = match Dtype::parse(dtype_s) {
            Some(d) => d,
            None => return bad(format!("tensor \"{name}\": unknown dtype \"{dtype_s}\"")),
        };
        let shape: Vec<usize> = match v.get("shape") {
            Some(Json::Arr(dims)) => dims
                .iter()
                .map(|d| d.as_u64().and_then(|x| usize::try_from(x).ok()))
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    crate::error::ModelError::new(
                        ErrorKind::Format,
                        format!("safetensors: tensor \"{name}\": shape must be non-negative integers"),
                    )
                })?,
            _ => return bad(format!("tensor \"{name}\": missing shape array")),
        };
        let offs: Vec<u64> = match v.get("data_offsets") {
            Some(Json::Arr(o)) if o.len() == 2 => {
                o.iter().map(Json::as_u64).collect::<Option<_>>().ok_or_else(|| {
                    crate::error::ModelError::new(
                        ErrorKind::Format,
                        format!("safetensors: tensor \"{name}\": data_offsets must be integers"),
                    )
                })?
            }
            _ => return bad(format!("tensor \"{name}\": data_offsets must be [begin, end]")),
        };
        let (begin, end) = (offs[0], offs[1]);
        if begin > end || end > data_len as u64 {
            return bad(format!(
                "tensor \"{name}\": data_offsets [{begin}, {end}] out of range (data section is {data_len} bytes)"
            ));
        }
        let numel = shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
        let want = numel.and_then(|n| n.checked_mul(dtype.size()));
        if want != Some(end - begin) {
            return bad(format!(
                "tensor \"{name}\": shape {shape:?} × {dtype_s} needs {want:?} bytes but data_offsets span {}",
                end - begin
            ));
        }
        tensors.push(TensorInfo { name, dtype, shape, begin: begin as usize, end: end as usize });
    }
    // offsets must tile the data section exactly: no overlap, no gap, nothing trailing
    let mut spans: Vec<&TensorInfo> = tensors.iter().collect();
    spans.sort_by_key(|t| (t.begin, t.end));
    let mut cursor = 0usize;
    for t in &spans {
        if t.begin < cursor {
            return bad(format!(
                "tensor \"{}\" overlaps another tensor (begins at {} before {cursor})",
                t.name, t.begin
            ));
        }
        if t.begin > cursor {
            return bad(format!("gap in data section before tensor \"{}\" (bytes {cursor}..{})", t.name, t.begin));
        }
        cursor = t.end;
    }
    if cursor != data_len {
        return bad(format!("data section is {data_len} bytes but tensors cover {cursor}"));
    }
    Ok(SafeTensors { metadata, tensors, bytes, data_start })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let a = [1.0f32, -2.0, 3.5];
        let b = [0.25f32; 4];
        safetensors_write(&[("b".into(), vec![2, 2], &b), ("a".into(), vec![3], &a)], &[("k".into(), "v".into())])
    }

    /// Rebuilds a file from a header string and data bytes.
    fn file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn safetensors_round_trip() {
        let st = safetensors_parse(sample()).unwrap();
        assert_eq!(st.meta("k"), Some("v"));
        assert_eq!(st.read_f32("a", &[3]).unwrap(), vec![1.0, -2.0, 3.5]);
        assert_eq!(st.read_f32("b", &[2, 2]).unwrap(), vec![0.25; 4]);
        assert_eq!(st.read_f32("a", &[1, 3]).unwrap_err().kind, ErrorKind::Mismatch);
    }

    #[test]
    fn safetensors_rejects_hostile_files() {
        let d16 = [0u8; 16];
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![1, 2, 3], "shorter than"),
            (u64::MAX.to_le_bytes().to_vec(), "exceeds"),
            (
                {
                    let mut f = sample();
                    f[..8].copy_from_slice(&9999u64.to_le_bytes());
                    f
                },
                "past the end",
            ),
            (file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", &d16), "not valid JSON"),
            (file("[]", &[]), "must be a JSON object"),
            (file(r#"{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}"#, &d16[..8]), "unknown dtype"),
            (file(r#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, &d16[..8]), "needs"),
            (file(r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,40]}}"#, &d16), "out of range"),
            (file(r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, &d16), "out of range"),
            (
                file(
                    r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                    &d16[..12],
                ),
                "overlaps",
            ),
            (file(r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, &d16), "cover"),
            (file(r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#, &d16), "gap"),
            (file(r#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, &d16[..8]), "non-negative"),
            (
                file(
                    r#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}}"#,
                    &d16[..8],
                ),
                "needs None",
            ),
            (file(r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}"#, &d16[..8]), "unknown field"),
            (file(r#"{"__metadata__":{"k":1}}"#, &[]), "must be a string"),
            (
                file(
                    r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                    &d16[..8],
                ),
                "duplicate",
            ),
        ];
        for (bytes, want) in cases {
            let e = safetensors_parse(bytes).err().expect(want);
            assert_eq!(e.kind, ErrorKind::Format);
            assert!(e.message.contains(want), "expected \"{want}\" in: {}", e.message);
        }
    }
}
