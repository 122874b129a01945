//! Escaping: every value a page shows passes through [`escape`], in text and in attributes alike.

/// `text` with the five characters that could end an element or an attribute replaced by references.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// A path segment made safe for an `href`: resource ids are `[A-Za-z0-9-.]`, anything else is dropped.
pub fn id_segment(id: &str) -> String {
    id.chars().filter(|character| character.is_ascii_alphanumeric() || matches!(character, '-' | '.')).collect()
}

/// A hidden form field carrying the session's CSRF token.
pub fn csrf_field(csrf_token: &str) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", escape(csrf_token))
}
