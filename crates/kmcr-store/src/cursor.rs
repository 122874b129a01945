//! Opaque paging cursors: the position after the last row returned, so that pages stay correct while data changes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::StoreError;

/// Sort values of the last row of a page, then its resource key (and version for history). Stable under inserts,
/// updates and deletes: a page never repeats or skips a resource that was there when paging began.
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    pub values: Vec<CursorValue>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CursorValue {
    Int(i64),
    Real(f64),
    Text(String),
}

impl Cursor {
    pub fn encode(&self) -> String {
        let text: Vec<String> = self
            .values
            .iter()
            .map(|value| match value {
                CursorValue::Int(int) => format!("i{int}"),
                CursorValue::Real(real) => format!("r{real}"),
                CursorValue::Text(text) => format!("t{}", text.replace('\\', "\\\\").replace('\u{1f}', "\\u")),
            })
            .collect();
        URL_SAFE_NO_PAD.encode(text.join("\u{1f}"))
    }

    pub fn decode(token: &str) -> Result<Cursor, StoreError> {
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| StoreError::BadCursor)?;
        let text = String::from_utf8(bytes).map_err(|_| StoreError::BadCursor)?;
        let values = text
            .split('\u{1f}')
            .map(|part| {
                let (tag, rest) = part.split_at_checked(1).ok_or(StoreError::BadCursor)?;
                match tag {
                    "i" => rest.parse().map(CursorValue::Int).map_err(|_| StoreError::BadCursor),
                    "r" => rest.parse().map(CursorValue::Real).map_err(|_| StoreError::BadCursor),
                    "t" => Ok(CursorValue::Text(rest.replace("\\u", "\u{1f}").replace("\\\\", "\\"))),
                    _ => Err(StoreError::BadCursor),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Cursor { values })
    }
}
