//! Splits a FHIRPath expression into tokens.

use super::FhirPathError;

#[derive(Clone, PartialEq, Debug)]
pub(super) enum Token {
    /// A name, keyword or `$this`-style variable; keywords (`and`, `as`, `true`) are told apart by the parser.
    Identifier(String),
    /// `%resource`, `%context`.
    Environment(String),
    String(String),
    Number(String),
    Symbol(&'static str),
    End,
}

#[derive(Clone, Debug)]
pub(super) struct Spanned {
    pub token: Token,
    pub offset: usize,
}

/// Longest first, so that `!=` is not read as `!` then `=`.
const SYMBOLS: &[&str] =
    &["!=", "!~", "<=", ">=", ".", ",", "(", ")", "[", "]", "|", "=", "~", "<", ">", "+", "-", "*", "/", "&"];

pub(super) fn tokenize(source: &str) -> Result<Vec<Spanned>, FhirPathError> {
    let mut tokens = Vec::new();
    let mut offset = 0;
    while let Some(character) = source[offset..].chars().next() {
        if character.is_whitespace() {
            offset += character.len_utf8();
            continue;
        }
        let (token, length) = read_token(&source[offset..]).ok_or(FhirPathError::UnexpectedCharacter { offset })??;
        tokens.push(Spanned { token, offset });
        offset += length;
    }
    tokens.push(Spanned { token: Token::End, offset });
    Ok(tokens)
}

/// The token at the start of `rest` and its length in bytes; `None` when no token starts there.
fn read_token(rest: &str) -> Option<Result<(Token, usize), FhirPathError>> {
    let first = rest.chars().next()?;
    if first.is_ascii_alphabetic() || first == '_' || first == '$' {
        let length = name_length(rest, 1);
        return Some(Ok((Token::Identifier(rest[..length].to_string()), length)));
    }
    if first == '%' {
        let length = name_length(rest, 1);
        return (length > 1).then(|| Ok((Token::Environment(rest[1..length].to_string()), length)));
    }
    if first == '`' {
        let length = rest[1..].find('`')? + 2;
        return Some(Ok((Token::Identifier(rest[1..length - 1].to_string()), length)));
    }
    if first == '\'' {
        return Some(read_string(rest));
    }
    if first.is_ascii_digit() {
        let length = number_length(rest);
        return Some(Ok((Token::Number(rest[..length].to_string()), length)));
    }
    let symbol = SYMBOLS.iter().find(|symbol| rest.starts_with(**symbol))?;
    Some(Ok((Token::Symbol(symbol), symbol.len())))
}

fn name_length(rest: &str, start: usize) -> usize {
    start + rest[start..].bytes().take_while(|byte| byte.is_ascii_alphanumeric() || *byte == b'_').count()
}

fn number_length(rest: &str) -> usize {
    let integer_length = rest.bytes().take_while(u8::is_ascii_digit).count();
    let after = &rest.as_bytes()[integer_length..];
    if after.first() == Some(&b'.') && after.get(1).is_some_and(u8::is_ascii_digit) {
        integer_length + 1 + after[1..].iter().take_while(|byte| byte.is_ascii_digit()).count()
    } else {
        integer_length
    }
}

/// A `'...'` literal with FHIRPath escapes (`\'`, `\\`, `\n`, `\uXXXX`...).
fn read_string(rest: &str) -> Result<(Token, usize), FhirPathError> {
    let mut text = String::new();
    let mut characters = rest.char_indices().skip(1);
    while let Some((idx, character)) = characters.next() {
        match character {
            '\'' => return Ok((Token::String(text), idx + 1)),
            '\\' => {
                let (_, escaped) = characters.next().ok_or(FhirPathError::UnterminatedString)?;
                match escaped {
                    'n' => text.push('\n'),
                    'r' => text.push('\r'),
                    't' => text.push('\t'),
                    'f' => text.push('\u{c}'),
                    'u' => {
                        let hex: String = characters.by_ref().take(4).map(|(_, digit)| digit).collect();
                        let code_point = u32::from_str_radix(&hex, 16).map_err(|_| FhirPathError::BadEscape)?;
                        text.push(char::from_u32(code_point).ok_or(FhirPathError::BadEscape)?);
                    }
                    other => text.push(other),
                }
            }
            other => text.push(other),
        }
    }
    Err(FhirPathError::UnterminatedString)
}
