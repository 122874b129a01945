//! Literal references (`Reference.reference`) as extraction and parsing both read them.

use kmcr_fhir::{ResourceId, ResourceType};

/// What a literal reference names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LiteralReference<'a> {
    /// `Patient/123`, or `Patient/123/_history/2` (the version is dropped: search matches the resource).
    Relative { target_type: ResourceType, target_id: &'a str },
    /// Anything else that is not contained: absolute URLs, `urn:uuid:...`, `urn:oid:...`, canonicals, and relative
    /// references that are not `Type/id`, kept whole.
    Url(&'a str),
    /// `#id`, a resource contained in the referring one; it is not indexed.
    Contained,
}

pub fn parse_literal_reference(text: &str) -> LiteralReference<'_> {
    if text.starts_with('#') {
        return LiteralReference::Contained;
    }
    if is_absolute(text) {
        return LiteralReference::Url(text);
    }
    match relative_parts(text) {
        Some((target_type, target_id)) => LiteralReference::Relative { target_type, target_id },
        None => LiteralReference::Url(text),
    }
}

/// The resource type a reference points at, as far as its text tells: `Patient/1`, `http://x/fhir/Patient/1` and
/// `http://x/fhir/Patient/1/_history/2` all point at a Patient; `urn:uuid:...` tells nothing.
pub fn referenced_type(text: &str) -> Option<ResourceType> {
    let path = without_history(text);
    let mut segments = path.rsplit('/');
    let _id = segments.next()?;
    ResourceType::parse(segments.next()?).ok()
}

/// URLs with a scheme (`http:`, `urn:`): a relative reference never contains ':' before its first '/'.
fn is_absolute(text: &str) -> bool {
    let scheme_end = text.find(':');
    scheme_end.is_some_and(|colon_idx| text.find('/').is_none_or(|slash_idx| colon_idx < slash_idx))
}

fn relative_parts(text: &str) -> Option<(ResourceType, &str)> {
    let (type_name, target_id) = without_history(text).split_once('/')?;
    let target_type = ResourceType::parse(type_name).ok()?;
    ResourceId::parse(target_id).ok()?;
    Some((target_type, target_id))
}

fn without_history(text: &str) -> &str {
    match text.find("/_history/") {
        Some(history_idx) => &text[..history_idx],
        None => text,
    }
}
