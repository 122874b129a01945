//! A URL query string (`a=b&c=d`, percent-encoded, `+` for a space) split into decoded name/value pairs: what a
//! search, a conditional reference or a subscription's filter criteria is written as.

/// Splits a query string into decoded name/value pairs.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut byte_idx = 0;
    while byte_idx < bytes.len() {
        match bytes[byte_idx] {
            b'%' if byte_idx + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[byte_idx + 1..byte_idx + 3]).ok();
                match hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                    Some(byte) => {
                        decoded.push(byte);
                        byte_idx += 3;
                        continue;
                    }
                    None => decoded.push(b'%'),
                }
            }
            b'+' => decoded.push(b' '),
            byte => decoded.push(byte),
        }
        byte_idx += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}
