//! A small JSON tree for building records: keys are static, constant text is borrowed, and an object is one `Vec`.
//!
//! `serde_json::Value` (with `preserve_order`) costs two allocations per object plus one per key and a SipHash per
//! insert; at sixty records a person that dominated generation. Records are built as [`Json`] and then either turned
//! into a `Value` (the public API) or written straight to JSON text, which is several times faster.

use std::rc::Rc;

use serde_json::{Map, Number, Value};

use crate::codes::Code;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Json {
    /// Text the generator owns (never needs escaping: checked when written).
    Static(&'static str),
    Owned(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
    Array(Vec<Json>),
    Object(Vec<(&'static str, Json)>),
    /// `{"coding": [...]}` of constant codes (several codings of one meaning).
    Concept(&'static [Code]),
    /// `{"coding": [{"system", "code", "display"}]}` from constant parts.
    SimpleConcept(&'static str, &'static str, &'static str),
    /// A subtree repeated in many records of a Bundle (the Patient and organisation references).
    Shared(Rc<Json>),
}

impl Json {
    /// Sets a member of an object, replacing it if present.
    pub(crate) fn set(&mut self, key: &'static str, value: impl Into<Json>) {
        let Json::Object(members) = self else { panic!("only objects have members") };
        let value = value.into();
        match members.iter_mut().find(|(existing, _)| *existing == key) {
            Some((_, slot)) => *slot = value,
            None => members.push((key, value)),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Json> {
        let Json::Object(members) = self else { return None };
        members.iter().find(|(existing, _)| *existing == key).map(|(_, value)| value)
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::Static(text) => Some(text),
            Json::Owned(text) => Some(text),
            _ => None,
        }
    }

    pub(crate) fn into_value(self) -> Value {
        match self {
            Json::Static(text) => Value::String(text.to_string()),
            Json::Owned(text) => Value::String(text),
            Json::Integer(number) => Value::Number(number.into()),
            Json::Float(number) => Number::from_f64(number).map_or(Value::Null, Value::Number),
            Json::Bool(flag) => Value::Bool(flag),
            Json::Array(items) => Value::Array(items.into_iter().map(Json::into_value).collect()),
            Json::Object(members) => {
                let mut map = Map::with_capacity(members.len());
                for (key, value) in members {
                    map.insert(key.to_string(), value.into_value());
                }
                Value::Object(map)
            }
            Json::Concept(codes) => {
                let codings = codes.iter().map(|code| coding_tree(code.system, code.code, code.display)).collect();
                Json::Object(vec![("coding", Json::Array(codings))]).into_value()
            }
            Json::SimpleConcept(system, code, display) => {
                Json::Object(vec![("coding", Json::Array(vec![coding_tree(system, code, display)]))]).into_value()
            }
            Json::Shared(shared) => shared.as_ref().clone().into_value(),
        }
    }

    /// Appends the JSON text of this value (compact, members in order).
    pub(crate) fn write_text(&self, text: &mut String) {
        match self {
            Json::Static(string) => write_static(text, string),
            Json::Owned(string) => write_string(text, string),
            Json::Integer(number) => {
                if *number < 0 {
                    text.push('-');
                }
                crate::date::push_number(text, number.unsigned_abs());
            }
            Json::Float(number) => {
                use std::fmt::Write;
                write!(text, "{number}").expect("writing to a String cannot fail");
            }
            Json::Bool(flag) => text.push_str(if *flag { "true" } else { "false" }),
            Json::Array(items) => {
                text.push('[');
                for (item_idx, item) in items.iter().enumerate() {
                    if item_idx > 0 {
                        text.push(',');
                    }
                    item.write_text(text);
                }
                text.push(']');
            }
            Json::Object(members) => {
                text.push('{');
                for (member_idx, (key, value)) in members.iter().enumerate() {
                    if member_idx > 0 {
                        text.push(',');
                    }
                    write_static(text, key);
                    text.push(':');
                    value.write_text(text);
                }
                text.push('}');
            }
            Json::Concept(codes) => {
                text.push_str("{\"coding\":[");
                for (code_idx, code) in codes.iter().enumerate() {
                    if code_idx > 0 {
                        text.push(',');
                    }
                    write_coding(text, code.system, code.code, code.display);
                }
                text.push_str("]}");
            }
            Json::SimpleConcept(system, code, display) => {
                text.push_str("{\"coding\":[");
                write_coding(text, system, code, display);
                text.push_str("]}");
            }
            Json::Shared(shared) => shared.write_text(text),
        }
    }
}

fn coding_tree(system: &'static str, code: &'static str, display: &'static str) -> Json {
    Json::Object(vec![
        ("system", Json::Static(system)),
        ("code", Json::Static(code)),
        ("display", Json::Static(display)),
    ])
}

fn write_coding(text: &mut String, system: &str, code: &str, display: &str) {
    text.push_str("{\"system\":");
    write_static(text, system);
    text.push_str(",\"code\":");
    write_static(text, code);
    text.push_str(",\"display\":");
    write_static(text, display);
    text.push('}');
}

/// A string the generator wrote itself: it never holds a quote, backslash or control character.
fn write_static(text: &mut String, string: &str) {
    debug_assert!(!string.bytes().any(|byte| byte == b'"' || byte == b'\\' || byte < 0x20), "{string}");
    text.push('"');
    text.push_str(string);
    text.push('"');
}

/// A JSON string literal: quotes, backslashes and control characters escaped.
fn write_string(text: &mut String, string: &str) {
    if !string.bytes().any(|byte| byte == b'"' || byte == b'\\' || byte < 0x20) {
        text.push('"');
        text.push_str(string);
        text.push('"');
        return;
    }
    text.push('"');
    let mut plain_from = 0;
    for (byte_idx, byte) in string.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        text.push_str(&string[plain_from..byte_idx]);
        if escape.is_empty() {
            text.push_str("\\u00");
            text.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
            text.push(char::from(b"0123456789abcdef"[usize::from(byte & 0x0f)]));
        } else {
            text.push_str(escape);
        }
        plain_from = byte_idx + 1;
    }
    text.push_str(&string[plain_from..]);
    text.push('"');
}

impl From<&'static str> for Json {
    fn from(text: &'static str) -> Json {
        Json::Static(text)
    }
}

impl From<String> for Json {
    fn from(text: String) -> Json {
        Json::Owned(text)
    }
}

impl From<i64> for Json {
    fn from(number: i64) -> Json {
        Json::Integer(number)
    }
}

impl From<u32> for Json {
    fn from(number: u32) -> Json {
        Json::Integer(i64::from(number))
    }
}

impl From<f64> for Json {
    fn from(number: f64) -> Json {
        Json::Float(number)
    }
}

impl From<bool> for Json {
    fn from(flag: bool) -> Json {
        Json::Bool(flag)
    }
}

impl<T: Into<Json>> From<Vec<T>> for Json {
    fn from(items: Vec<T>) -> Json {
        Json::Array(items.into_iter().map(Into::into).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_value_agree() {
        let json = object! {
            "a": String::from("quote \" backslash \\ newline \n tab \t bell \u{7} é"),
            "b": array![1i64, -2i64, 2.5f64, true],
            "c": object! { "d": String::from("owned") },
            "e": Json::Concept(&[crate::codes::allergies::PENICILLIN, crate::codes::allergies::RASH]),
            "f": Json::Shared(Rc::new(Json::SimpleConcept("s", "c", "d"))),
        };
        let mut text = String::new();
        json.write_text(&mut text);
        let parsed: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(parsed, json.into_value());
    }
}
