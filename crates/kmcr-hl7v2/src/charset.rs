//! From bytes to text: the byte-order mark and the character set MSH-18 names.

/// Why a message's bytes cannot be read as text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the message does not start with an MSH segment")]
    NoHeader,
    #[error("MSH-18 names the character set {0:?}, which KMCR does not read (UTF-8 and 8859/1 only)")]
    UnsupportedCharacterSet(String),
    #[error("the message is declared UTF-8 but byte {0} is not UTF-8")]
    NotUtf8(usize),
}

const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

/// The text of a message: a UTF-8 byte-order mark dropped; the character set of MSH-18 applied. With no MSH-18, UTF-8
/// when the bytes are UTF-8 (ASCII is), else ISO 8859/1, which every byte sequence is.
pub fn decode(bytes: &[u8]) -> Result<String, DecodeError> {
    let bytes = bytes.strip_prefix(BYTE_ORDER_MARK).unwrap_or(bytes);
    let start = bytes.iter().position(|byte| !byte.is_ascii_whitespace()).unwrap_or(bytes.len());
    let bytes = &bytes[start..];
    if !bytes.starts_with(b"MSH") || bytes.len() < 8 {
        return Err(DecodeError::NoHeader);
    }
    let character_set = msh_18(bytes);
    let first = character_set.split('~').next().unwrap_or_default().trim().to_ascii_uppercase();
    match first.as_str() {
        "" | "ASCII" => Ok(String::from_utf8(bytes.to_vec()).unwrap_or_else(|_| latin1(bytes))),
        "UNICODE UTF-8" | "UTF-8" | "UTF8" | "UNICODE" => {
            String::from_utf8(bytes.to_vec()).map_err(|error| DecodeError::NotUtf8(error.utf8_error().valid_up_to()))
        }
        "8859/1" | "ISO-8859-1" | "ISO8859-1" | "LATIN1" => Ok(latin1(bytes)),
        _ => Err(DecodeError::UnsupportedCharacterSet(character_set)),
    }
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&byte| char::from(byte)).collect()
}

/// MSH-18 as written, read from the bytes of the MSH segment: the field separator is MSH-1, and MSH-18 is the 17th
/// field after it.
fn msh_18(bytes: &[u8]) -> String {
    let separator = bytes[3];
    let header_end = bytes.iter().position(|&byte| byte == b'\r' || byte == b'\n').unwrap_or(bytes.len());
    let header = &bytes[..header_end];
    let field = header.split(|&byte| byte == separator).nth(17).unwrap_or_default();
    latin1(field)
}
