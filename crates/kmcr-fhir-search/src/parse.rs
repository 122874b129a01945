//! Parsing and checking a search request's parameters (R4 §3.1.1): criteria with their modifiers, prefixes and OR
//! lists, one level of chaining, and the result parameters (`_count`, `_sort`, `_include`...).

mod result_params;
mod values;

use kmcr_fhir::ResourceType;

use crate::{Chain, Criterion, Modifier, SearchParamDef, SearchParamRegistry, SearchParamType, SearchRequest};

/// At most this many name=value pairs per search.
pub const MAX_SEARCH_PARAMS: usize = 64;
/// At most this many comma-separated (OR) values per parameter.
pub const MAX_OR_VALUES: usize = 64;
/// Parameter names are cut to this many characters in error messages.
const MAX_NAME_IN_MESSAGE: usize = 64;

/// Why a search cannot be run. Messages are safe to return to the client: they quote at most the parameter's name
/// (cut to a bounded length) and give a fixed reason, never the value sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SearchParseError {
    #[error("unknown search parameter '{name}' for this resource type")]
    UnknownParameter { name: String },
    #[error("search parameter '{name}' is not supported")]
    UnsupportedParameter { name: String },
    #[error("search parameter '{name}' has an unknown modifier, or one this parameter does not support")]
    UnsupportedModifier { name: String },
    #[error("search parameter '{name}' names a resource type this reference cannot point to")]
    TargetTypeNotAllowed { name: String },
    #[error("search parameter '{name}' chains more than one reference; one level is supported")]
    TooDeep { name: String },
    #[error("chained search parameter '{name}' must name its target type, as in subject:Patient.name")]
    AmbiguousChain { name: String },
    #[error("invalid value for search parameter '{param}': {message}")]
    InvalidValue { param: String, message: &'static str },
    #[error("search parameter '{name}' is given more than once")]
    Repeated { name: String },
    #[error("a search takes at most {max} parameters")]
    TooManyParameters { max: usize },
}

impl SearchParseError {
    /// Whether `Prefer: handling=lenient` drops the parameter instead of failing: true for parameters the server does
    /// not know or support, false for values that do not parse.
    pub fn lenient_can_ignore(&self) -> bool {
        matches!(
            self,
            SearchParseError::UnknownParameter { .. }
                | SearchParseError::UnsupportedParameter { .. }
                | SearchParseError::UnsupportedModifier { .. }
                | SearchParseError::TargetTypeNotAllowed { .. }
                | SearchParseError::TooDeep { .. }
                | SearchParseError::AmbiguousChain { .. }
        )
    }
}

/// Parses a search on `resource_type`. `params` are percent-decoded name/value pairs in request order: a repeated name
/// is an AND, a comma in a value an OR (`\,` is a literal comma). Under `lenient`, unknown and unsupported parameters
/// are listed in `ignored_params` instead of failing; values that do not parse fail either way. `_count` is capped at
/// `max_count`.
pub fn parse_search(
    registry: &SearchParamRegistry,
    resource_type: ResourceType,
    params: &[(String, String)],
    lenient: bool,
    max_count: usize,
) -> Result<SearchRequest, SearchParseError> {
    if params.len() > MAX_SEARCH_PARAMS {
        return Err(SearchParseError::TooManyParameters { max: MAX_SEARCH_PARAMS });
    }
    let mut request = SearchRequest {
        resource_type,
        criteria: Vec::new(),
        count: None,
        sort: Vec::new(),
        includes: Vec::new(),
        revincludes: Vec::new(),
        summary: None,
        elements: None,
        total: None,
        ignored_params: Vec::new(),
    };
    let mut result_params_seen = Vec::new();
    for (name, value) in params {
        let outcome = if result_params::is_result_param(name) {
            result_params::apply(registry, &mut request, &mut result_params_seen, name, value, max_count)
        } else {
            parse_criterion(registry, resource_type, name, value).map(|criterion| request.criteria.push(criterion))
        };
        match outcome {
            Ok(()) => {}
            Err(error) if lenient && error.lenient_can_ignore() => request.ignored_params.push(name.clone()),
            Err(error) => return Err(error),
        }
    }
    Ok(request)
}

/// Parameters every server may define that KMCR does not support.
const UNSUPPORTED_SPECIAL_PARAMS: &[&str] = &["_has", "_type", "_list", "_filter", "_query", "_text", "_content"];

fn parse_criterion(
    registry: &SearchParamRegistry,
    resource_type: ResourceType,
    name: &str,
    value: &str,
) -> Result<Criterion, SearchParseError> {
    let (head, chained_name) = match name.split_once('.') {
        Some((head, chained_name)) => (head, Some(chained_name)),
        None => (name, None),
    };
    let (code, modifier_text) = match head.split_once(':') {
        Some((code, modifier_text)) => (code, Some(modifier_text)),
        None => (head, None),
    };
    if UNSUPPORTED_SPECIAL_PARAMS.contains(&code) {
        return Err(SearchParseError::UnsupportedParameter { name: client_safe(name) });
    }
    let def = registry.get(resource_type, code).ok_or_else(|| unknown_parameter(name))?;
    if def.expression.is_none() || def.param_type == SearchParamType::Special {
        return Err(SearchParseError::UnsupportedParameter { name: client_safe(name) });
    }
    match chained_name {
        Some(chained_name) => parse_chain(registry, def, name, modifier_text, chained_name, value),
        None => values::parse_plain(registry, def, name, modifier_text, value),
    }
}

/// `subject:Patient.name=smith`: the reference must point at a `target_type` resource matching the inner criterion.
fn parse_chain(
    registry: &SearchParamRegistry,
    def: &SearchParamDef,
    name: &str,
    modifier_text: Option<&str>,
    chained_name: &str,
    value: &str,
) -> Result<Criterion, SearchParseError> {
    if def.param_type != SearchParamType::Reference {
        return Err(unknown_parameter(name));
    }
    if chained_name.contains('.') {
        return Err(SearchParseError::TooDeep { name: client_safe(name) });
    }
    let target_type = match modifier_text {
        Some(modifier_text) => type_modifier(def, name, modifier_text)?,
        None => infer_chain_target(registry, def, name, chained_name)?,
    };
    let criterion = parse_criterion(registry, target_type, chained_name, value).map_err(|error| match error {
        SearchParseError::UnknownParameter { .. } => unknown_parameter(name),
        error => error,
    })?;
    Ok(Criterion {
        param_code: def.code.to_string(),
        param_type: SearchParamType::Reference,
        modifier: None,
        chain: Some(Box::new(Chain { target_type, criterion })),
        values: Vec::new(),
    })
}

/// The target of a chain that names no type: the only target, or the only target that has the chained parameter.
fn infer_chain_target(
    registry: &SearchParamRegistry,
    def: &SearchParamDef,
    name: &str,
    chained_name: &str,
) -> Result<ResourceType, SearchParseError> {
    let targets: Vec<ResourceType> = def.targets.iter().filter_map(|target| ResourceType::parse(target).ok()).collect();
    if let [only_target] = targets[..] {
        return Ok(only_target);
    }
    let chained_code = chained_name.split(':').next().unwrap_or(chained_name);
    let mut candidates = targets.into_iter().filter(|target| registry.get(*target, chained_code).is_some());
    match (candidates.next(), candidates.next()) {
        (Some(target), None) => Ok(target),
        (None, _) => Err(unknown_parameter(name)),
        (Some(_), Some(_)) => Err(SearchParseError::AmbiguousChain { name: client_safe(name) }),
    }
}

/// A `:Type` modifier of a reference parameter, checked against its targets.
fn type_modifier(def: &SearchParamDef, name: &str, modifier_text: &str) -> Result<ResourceType, SearchParseError> {
    let target_type = ResourceType::parse(modifier_text)
        .map_err(|_| SearchParseError::UnsupportedModifier { name: client_safe(name) })?;
    if !allows_target(def, target_type) {
        return Err(SearchParseError::TargetTypeNotAllowed { name: client_safe(name) });
    }
    Ok(target_type)
}

fn allows_target(def: &SearchParamDef, target_type: ResourceType) -> bool {
    def.targets.is_empty() || def.targets.contains(&target_type.as_str())
}

fn unknown_parameter(name: &str) -> SearchParseError {
    SearchParseError::UnknownParameter { name: client_safe(name) }
}

fn invalid_value(param: &str, message: &'static str) -> SearchParseError {
    SearchParseError::InvalidValue { param: client_safe(param), message }
}

/// A parameter name fit to quote back: bounded in length, control characters replaced.
fn client_safe(name: &str) -> String {
    let mut safe: String = name
        .chars()
        .take(MAX_NAME_IN_MESSAGE)
        .map(|character| if character.is_control() { '?' } else { character })
        .collect();
    if name.chars().count() > MAX_NAME_IN_MESSAGE {
        safe.push_str("...");
    }
    safe
}

/// The modifier of a criterion, before values are parsed (`:missing` needs its value; `:Type` its resource type).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ParsedModifier {
    Missing,
    Exact,
    Contains,
    Text,
    Not,
    Above,
    Below,
    Identifier,
    Type(ResourceType),
}

impl ParsedModifier {
    fn parse(def: &SearchParamDef, name: &str, modifier_text: &str) -> Result<ParsedModifier, SearchParseError> {
        use SearchParamType as T;
        // `_id` and `_lastUpdated` are resource columns: they take only `:not` (on `_id`).
        let is_column = matches!(def.code, "_id" | "_lastUpdated");
        let modifier = match (modifier_text, def.param_type) {
            ("missing", _) if !is_column => ParsedModifier::Missing,
            ("exact", T::String) => ParsedModifier::Exact,
            ("contains", T::String) => ParsedModifier::Contains,
            ("text", T::Token) if !is_column => ParsedModifier::Text,
            ("not", T::Token) => ParsedModifier::Not,
            ("above", T::Uri) => ParsedModifier::Above,
            ("below", T::Uri) => ParsedModifier::Below,
            ("identifier", T::Reference) => ParsedModifier::Identifier,
            (type_name, T::Reference) if type_name.starts_with(|first: char| first.is_ascii_uppercase()) => {
                ParsedModifier::Type(type_modifier(def, name, type_name)?)
            }
            _ => return Err(SearchParseError::UnsupportedModifier { name: client_safe(name) }),
        };
        Ok(modifier)
    }

    /// The modifier as the request carries it; `:missing` gets its value later.
    fn as_modifier(self) -> Modifier {
        match self {
            ParsedModifier::Missing => Modifier::Missing(true),
            ParsedModifier::Exact => Modifier::Exact,
            ParsedModifier::Contains => Modifier::Contains,
            ParsedModifier::Text => Modifier::Text,
            ParsedModifier::Not => Modifier::Not,
            ParsedModifier::Above => Modifier::Above,
            ParsedModifier::Below => Modifier::Below,
            ParsedModifier::Identifier => Modifier::Identifier,
            ParsedModifier::Type(_) => Modifier::Type,
        }
    }
}
