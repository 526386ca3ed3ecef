//! The crate's one error type: a kind (maps 1:1 to C ABI status codes) and a message
//! that names the file, tensor or field and, where possible, the fix.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A model or training configuration value is out of range.
    InvalidConfig,
    /// A batch has the wrong shape or out-of-vocabulary tokens.
    InvalidBatch,
    /// Reading or writing a file failed.
    Io,
    /// A checkpoint file is malformed or hostile (bad header, offsets, dtype…).
    Format,
    /// A checkpoint is well-formed but does not fit this model (shape, config, version).
    Mismatch,
}

impl ErrorKind {
    /// Stable numeric code for the C ABI (0 is reserved for success).
    pub fn code(self) -> i32 {
        match self {
            ErrorKind::InvalidConfig => 1,
            ErrorKind::InvalidBatch => 2,
            ErrorKind::Io => 3,
            ErrorKind::Format => 4,
            ErrorKind::Mismatch => 5,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ModelError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ModelError {
        ModelError { kind, message: message.into() }
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for ModelError {}

pub type Result<T> = std::result::Result<T, ModelError>;

pub(crate) fn err<T>(kind: ErrorKind, message: impl Into<String>) -> Result<T> {
    Err(ModelError::new(kind, message))
}
