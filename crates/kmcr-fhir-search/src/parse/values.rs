//! Values of one criterion: OR lists, escapes, prefixes, and the value forms of each parameter type.

use kmcr_fhir::{ResourceId, ResourceType};

use super::{MAX_OR_VALUES, ParsedModifier, SearchParseError, allows_target, invalid_value};
use crate::date::parse_date_range;
use crate::reference::{LiteralReference, parse_literal_reference};
use crate::text::normalize_text;
use crate::{Criterion, CriterionValue, Modifier, Prefix, SearchParamDef, SearchParamRegistry, SearchParamType};

/// Decimal numbers with more digits than this are refused rather than rounded.
const MAX_NUMBER_DIGITS: usize = 30;

/// A criterion without a chain: `code:modifier=value,value`.
pub(super) fn parse_plain(
    registry: &SearchParamRegistry,
    def: &SearchParamDef,
    name: &str,
    modifier_text: Option<&str>,
    value: &str,
) -> Result<Criterion, SearchParseError> {
    let modifier = modifier_text.map(|modifier_text| ParsedModifier::parse(def, name, modifier_text)).transpose()?;
    let raw_values = split_values(name, value)?;
    let mut criterion = Criterion {
        param_code: def.code.to_string(),
        param_type: def.param_type,
        modifier: modifier.map(ParsedModifier::as_modifier),
        chain: None,
        values: Vec::new(),
    };
    match modifier {
        Some(ParsedModifier::Missing) => {
            criterion.modifier = Some(Modifier::Missing(missing_value(name, &raw_values)?));
            return Ok(criterion);
        }
        // `subject:identifier=system|value` matches the tokens indexed from Reference.identifier.
        Some(ParsedModifier::Identifier) => criterion.param_type = SearchParamType::Token,
        _ => {}
    }
    criterion.values = raw_values
        .iter()
        .map(|raw_value| parse_value(registry, def, modifier, name, raw_value))
        .collect::<Result<_, _>>()?;
    Ok(criterion)
}

fn missing_value(name: &str, raw_values: &[&str]) -> Result<bool, SearchParseError> {
    match raw_values {
        ["true"] => Ok(true),
        ["false"] => Ok(false),
        _ => Err(invalid_value(name, ":missing takes true or false")),
    }
}

fn parse_value(
    registry: &SearchParamRegistry,
    def: &SearchParamDef,
    modifier: Option<ParsedModifier>,
    name: &str,
    raw_value: &str,
) -> Result<CriterionValue, SearchParseError> {
    use SearchParamType as T;
    if def.code == "_id" {
        let id = unescape(raw_value);
        ResourceId::parse(&id).map_err(|_| invalid_value(name, "not a valid resource id"))?;
        return Ok(CriterionValue::Token { system: None, code: Some(id) });
    }
    match (def.param_type, modifier) {
        (T::String, Some(ParsedModifier::Exact)) => Ok(CriterionValue::String(unescape(raw_value))),
        (T::String, _) => {
            let normalized = normalize_text(&unescape(raw_value));
            if normalized.is_empty() {
                return Err(invalid_value(name, "empty value"));
            }
            Ok(CriterionValue::String(normalized))
        }
        // Kept as sent: the store compares it case-insensitively with the indexed display text.
        (T::Token, Some(ParsedModifier::Text)) => Ok(CriterionValue::String(unescape(raw_value).trim().to_string())),
        (T::Token, _) | (T::Reference, Some(ParsedModifier::Identifier)) => token_value(name, raw_value),
        (T::Reference, Some(ParsedModifier::Type(target_type))) => {
            reference_value(def, Some(target_type), name, raw_value)
        }
        (T::Reference, _) => reference_value(def, None, name, raw_value),
        (T::Date, _) => date_value(name, raw_value),
        (T::Number, _) => {
            let (prefix, number_text) = split_prefix(raw_value);
            let number = parse_number(number_text).ok_or_else(|| invalid_value(name, "not a number"))?;
            Ok(CriterionValue::Number { prefix, value: number.value, low: number.low, high: number.high })
        }
        (T::Quantity, _) => quantity_value(name, raw_value),
        (T::Uri, _) => Ok(CriterionValue::Uri(unescape(raw_value))),
        (T::Composite, _) => composite_value(registry, def, name, raw_value),
        (T::Special, _) => unreachable!("special parameters are refused before values"),
    }
}

/// `value$value`: one value per component, each in the syntax of the parameter that defines the component
/// (`http://loinc.org|8480-6$lt90`); `\$` is a literal `$`.
fn composite_value(
    registry: &SearchParamRegistry,
    def: &SearchParamDef,
    name: &str,
    raw_value: &str,
) -> Result<CriterionValue, SearchParseError> {
    let components = registry.composite_components(def.resource_type, def.code);
    let parts = split_unescaped(raw_value, '$');
    if components.is_empty() || parts.len() != components.len() {
        return Err(invalid_value(name, "a composite value has one value per component, separated by $"));
    }
    let mut values = Vec::with_capacity(parts.len());
    for (part, component) in parts.into_iter().zip(components) {
        if part.is_empty() {
            return Err(invalid_value(name, "empty value"));
        }
        let component_def = registry
            .get(def.resource_type, component.code)
            .filter(|component_def| component_def.param_type == component.param_type)
            .ok_or_else(|| SearchParseError::UnsupportedParameter { name: super::client_safe(name) })?;
        values.push(parse_value(registry, component_def, None, name, part)?);
    }
    Ok(CriterionValue::Composite(values))
}

/// `code`, `system|code`, `|code` (no system), `system|` (any code in the system).
fn token_value(name: &str, raw_value: &str) -> Result<CriterionValue, SearchParseError> {
    match split_unescaped(raw_value, '|')[..] {
        [code] => Ok(CriterionValue::Token { system: None, code: Some(unescape(code)) }),
        ["", ""] => Err(invalid_value(name, "a token needs a system or a code")),
        ["", code] => Ok(CriterionValue::Token { system: Some(None), code: Some(unescape(code)) }),
        [system, ""] => Ok(CriterionValue::Token { system: Some(Some(unescape(system))), code: None }),
        [system, code] => {
            Ok(CriterionValue::Token { system: Some(Some(unescape(system))), code: Some(unescape(code)) })
        }
        _ => Err(invalid_value(name, "a token is code, system|code, |code or system|")),
    }
}

/// `Patient/123` (a version, `/_history/2`, is dropped), `123` (of the `:Type` or the only target type, else of any
/// type), or an absolute URL.
fn reference_value(
    def: &SearchParamDef,
    type_modifier: Option<ResourceType>,
    name: &str,
    raw_value: &str,
) -> Result<CriterionValue, SearchParseError> {
    let text = unescape(raw_value);
    match parse_literal_reference(&text) {
        LiteralReference::Contained => Err(invalid_value(name, "a search cannot refer to a contained resource")),
        LiteralReference::Relative { target_type, target_id } => {
            if type_modifier.is_some_and(|type_modifier| type_modifier != target_type) {
                return Err(invalid_value(name, "the type modifier and the reference name different types"));
            }
            if !allows_target(def, target_type) {
                return Err(invalid_value(name, "the reference names a type this parameter cannot point to"));
            }
            Ok(reference(Some(target_type), Some(target_id.to_string()), None))
        }
        LiteralReference::Url(url) if url.contains(':') => Ok(reference(None, None, Some(url.to_string()))),
        LiteralReference::Url(_) if text.contains('/') => {
            Err(invalid_value(name, "a reference is Type/id, an id or an absolute URL"))
        }
        LiteralReference::Url(id) => {
            ResourceId::parse(id).map_err(|_| invalid_value(name, "not a valid resource id"))?;
            let only_target = match def.targets {
                [only_target] => ResourceType::parse(only_target).ok(),
                _ => None,
            };
            Ok(reference(type_modifier.or(only_target), Some(id.to_string()), None))
        }
    }
}

fn reference(target_type: Option<ResourceType>, target_id: Option<String>, url: Option<String>) -> CriterionValue {
    CriterionValue::Reference {
        target_type: target_type.map(|target_type| target_type.as_str().to_string()),
        target_id,
        url,
    }
}

fn date_value(name: &str, raw_value: &str) -> Result<CriterionValue, SearchParseError> {
    let (prefix, date_text) = split_prefix(raw_value);
    // A `+` left unencoded in a URL arrives as a space: `2020-01-01T10:00:00 01:00` means +01:00.
    let date_text = date_text.replace(' ', "+");
    let range = parse_date_range(&date_text)
        .map_err(|_| invalid_value(name, "not a date: use YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss][zone]"))?;
    Ok(CriterionValue::Date { prefix, low_ms: range.low_ms, high_ms: range.high_ms })
}

/// `[prefix]number[|system|code]`; an empty system or code matches any.
fn quantity_value(name: &str, raw_value: &str) -> Result<CriterionValue, SearchParseError> {
    let parts = split_unescaped(raw_value, '|');
    let (number_text, system, code) = match parts[..] {
        [number_text] => (number_text, None, None),
        [number_text, system, code] => (number_text, non_empty(system), non_empty(code)),
        _ => return Err(invalid_value(name, "a quantity is number, or number|system|code")),
    };
    let (prefix, number_text) = split_prefix(number_text);
    let number = parse_number(number_text).ok_or_else(|| invalid_value(name, "not a number"))?;
    Ok(CriterionValue::Quantity { prefix, value: number.value, low: number.low, high: number.high, system, code })
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| unescape(text))
}

/// The prefix of a number, date or quantity (`ge2020`), `eq` when there is none.
fn split_prefix(raw_value: &str) -> (Prefix, &str) {
    let prefix = match raw_value.get(..2) {
        Some("eq") => Prefix::Eq,
        Some("ne") => Prefix::Ne,
        Some("gt") => Prefix::Gt,
        Some("lt") => Prefix::Lt,
        Some("ge") => Prefix::Ge,
        Some("le") => Prefix::Le,
        Some("sa") => Prefix::Sa,
        Some("eb") => Prefix::Eb,
        Some("ap") => Prefix::Ap,
        _ => return (Prefix::Eq, raw_value),
    };
    (prefix, &raw_value[2..])
}

/// A searched number and the range its precision implies.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) struct SearchedNumber {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// `[+-]digits[.digits][e[+-]digits]`. The range is half a unit of the last digit either side: `5.40` covers 5.395 to
/// 5.405, `100` covers 99.5 to 100.5, `1e2` covers 50 to 150. The bounds are computed in decimal, then rounded once.
pub(crate) fn parse_number(text: &str) -> Option<SearchedNumber> {
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, exponent.strip_prefix('+').unwrap_or(exponent).parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (negative, unsigned) = match mantissa.as_bytes().first()? {
        b'-' => (true, &mantissa[1..]),
        b'+' => (false, &mantissa[1..]),
        _ => (false, mantissa),
    };
    let (integer_digits, fraction_digits) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all_digits = |digits: &str| digits.bytes().all(|byte| byte.is_ascii_digit());
    let n_digits = integer_digits.len() + fraction_digits.len();
    if integer_digits.is_empty() || !all_digits(integer_digits) || !all_digits(fraction_digits) {
        return None;
    }
    if unsigned.contains('.') && fraction_digits.is_empty() || n_digits > MAX_NUMBER_DIGITS {
        return None;
    }
    let digits: i128 = format!("{integer_digits}{fraction_digits}").parse().ok()?;
    let signed_digits = if negative { -digits } else { digits };
    // value = signed_digits × 10^scale; the bounds are (10 × signed_digits ∓ 5) × 10^(scale - 1).
    let scale = exponent.checked_sub(i32::try_from(fraction_digits.len()).ok()?)?;
    let decimal =
        |digits: i128, scale: i32| format!("{digits}e{scale}").parse::<f64>().ok().filter(|value| value.is_finite());
    Some(SearchedNumber {
        value: decimal(signed_digits, scale)?,
        low: decimal(10 * signed_digits - 5, scale - 1)?,
        high: decimal(10 * signed_digits + 5, scale - 1)?,
    })
}

/// The comma-separated values of a parameter, escapes still in place; none may be empty.
fn split_values<'a>(name: &str, value: &'a str) -> Result<Vec<&'a str>, SearchParseError> {
    let raw_values = split_unescaped(value, ',');
    if raw_values.len() > MAX_OR_VALUES {
        return Err(invalid_value(name, "too many comma-separated values"));
    }
    if raw_values.iter().any(|raw_value| raw_value.is_empty()) {
        return Err(invalid_value(name, "empty value"));
    }
    Ok(raw_values)
}

/// Splits at `separator` where it is not escaped by a backslash.
pub(super) fn split_unescaped(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut part_start = 0;
    let mut escaped = false;
    for (idx, character) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if character == '\\' {
            escaped = true;
        } else if character == separator {
            parts.push(&text[part_start..idx]);
            part_start = idx + character.len_utf8();
        }
    }
    parts.push(&text[part_start..]);
    parts
}

/// Removes the search escapes `\,`, `\|`, `\$` and `\\`; other backslashes stay as sent.
pub(super) fn unescape(text: &str) -> String {
    let mut unescaped = String::with_capacity(text.len());
    let mut characters = text.chars().peekable();
    while let Some(character) = characters.next() {
        match (character, characters.peek()) {
            ('\\', Some(next @ (',' | '|' | '$' | '\\'))) => {
                unescaped.push(*next);
                characters.next();
            }
            _ => unescaped.push(character),
        }
    }
    unescaped
}
