//! Escape sequences within a leaf's text: the delimiters (`\F\ \S\ \T\ \R\ \E\`), hexadecimal data (`\Xhh..\`), and
//! formatting (`\.br\` a line break; `\H\ \N\` highlighting and `\.xx\` other formatting commands dropped). An escape
//! this parser does not know, or one left open, is kept as written, so nothing the sender wrote is lost.

use crate::message::Delimiters;

pub fn unescape(raw: &str, delimiters: &Delimiters) -> String {
    let Some(escape) = delimiters.escape.filter(|escape| raw.contains(*escape)) else { return raw.to_string() };
    let mut text = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(start) = rest.find(escape) {
        text.push_str(&rest[..start]);
        let after = &rest[start + escape.len_utf8()..];
        let Some(end) = after.find(escape) else {
            // An escape left open: kept as written.
            text.push_str(&rest[start..]);
            return text;
        };
        let sequence = &after[..end];
        match sequence {
            "F" => text.push(delimiters.field),
            "S" => text.push(delimiters.component),
            "T" => text.push(delimiters.subcomponent),
            "R" => text.push(delimiters.repetition),
            "E" => text.push(escape),
            "H" | "N" => {}
            ".br" => text.push('\n'),
            _ if sequence.starts_with('X') && hex_bytes(&sequence[1..]).is_some() => {
                let bytes = hex_bytes(&sequence[1..]).expect("checked");
                match String::from_utf8(bytes) {
                    Ok(decoded) => text.push_str(&decoded),
                    Err(error) => text.extend(error.into_bytes().into_iter().map(char::from)),
                }
            }
            _ if sequence.starts_with('.') => {}
            _ => {
                text.push(escape);
                text.push_str(sequence);
                text.push(escape);
            }
        }
        rest = &after[end + escape.len_utf8()..];
    }
    text.push_str(rest);
    text
}

fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    if hex.is_empty() || !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|at| u8::from_str_radix(hex.get(at..at + 2)?, 16).ok()).collect()
}
