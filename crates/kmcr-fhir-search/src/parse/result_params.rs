//! The result parameters: what to return rather than what to match (`_count`, `_sort`, `_include`, `_summary`...).

use kmcr_fhir::ResourceType;

use super::{SearchParseError, allows_target, client_safe, invalid_value};
use crate::{Include, SearchParamRegistry, SearchParamType, SearchRequest, SortKey, Summary};

/// At most this many `_include` and `_revinclude` together.
pub const MAX_INCLUDES: usize = 16;
/// At most this many `_sort` keys.
const MAX_SORT_KEYS: usize = 8;
/// At most this many names in `_elements`.
const MAX_ELEMENTS: usize = 64;

const RESULT_PARAMS: &[&str] = &[
    "_count",
    "_sort",
    "_include",
    "_revinclude",
    "_summary",
    "_elements",
    "_total",
    "_format",
    "_pretty",
    "_contained",
    "_containedType",
];

pub(super) fn is_result_param(name: &str) -> bool {
    RESULT_PARAMS.contains(&base_name(name))
}

fn base_name(name: &str) -> &str {
    name.split(':').next().unwrap_or(name)
}

/// Applies one result parameter to the request. `seen` holds the single-valued ones already given, to refuse repeats.
pub(super) fn apply<'a>(
    registry: &SearchParamRegistry,
    request: &mut SearchRequest,
    seen: &mut Vec<&'a str>,
    name: &'a str,
    value: &str,
    max_count: usize,
) -> Result<(), SearchParseError> {
    let (base_name, modifier) = match name.split_once(':') {
        Some((base_name, modifier)) => (base_name, Some(modifier)),
        None => (name, None),
    };
    if matches!(base_name, "_format" | "_pretty") {
        return Ok(());
    }
    if matches!(base_name, "_contained" | "_containedType") {
        return Err(SearchParseError::UnsupportedParameter { name: client_safe(name) });
    }
    if matches!(base_name, "_include" | "_revinclude") {
        let iterate = match modifier {
            None => false,
            Some("iterate" | "recurse") => true,
            Some(_) => return Err(SearchParseError::UnsupportedModifier { name: client_safe(name) }),
        };
        return add_include(registry, request, base_name, value, iterate);
    }
    if modifier.is_some() {
        return Err(SearchParseError::UnsupportedModifier { name: client_safe(name) });
    }
    if seen.contains(&base_name) {
        return Err(SearchParseError::Repeated { name: client_safe(base_name) });
    }
    seen.push(base_name);
    if value.is_empty() {
        return Err(invalid_value(base_name, "empty value"));
    }
    match base_name {
        "_count" => request.count = Some(parse_count(value)?.min(max_count)),
        "_sort" => request.sort = parse_sort(registry, request.resource_type, value)?,
        "_summary" => request.summary = Some(parse_summary(value)?),
        "_elements" => request.elements = Some(parse_elements(value)?),
        "_total" => request.total = Some(parse_total(value)?.to_string()),
        _ => unreachable!("is_result_param lists {base_name}"),
    }
    Ok(())
}

fn parse_count(value: &str) -> Result<usize, SearchParseError> {
    let digits_only = value.bytes().all(|byte| byte.is_ascii_digit());
    let count = value.parse::<usize>().ok().filter(|_| digits_only);
    count.ok_or_else(|| invalid_value("_count", "must be a whole number, 0 or more"))
}

/// `_sort=-date,code`: `-` sorts descending. Each key must be a parameter of the type with an index to sort on.
fn parse_sort(
    registry: &SearchParamRegistry,
    resource_type: ResourceType,
    value: &str,
) -> Result<Vec<SortKey>, SearchParseError> {
    let keys: Vec<&str> = value.split(',').map(str::trim).collect();
    if keys.len() > MAX_SORT_KEYS {
        return Err(invalid_value("_sort", "too many sort keys"));
    }
    keys.into_iter()
        .map(|key| {
            let (descending, code) = match key.strip_prefix('-') {
                Some(code) => (true, code),
                None => (false, key),
            };
            if code.is_empty() {
                return Err(invalid_value("_sort", "empty sort key"));
            }
            let sortable = registry.get(resource_type, code).is_some_and(|def| {
                def.expression.is_some()
                    && matches!(
                        def.param_type,
                        SearchParamType::Date
                            | SearchParamType::String
                            | SearchParamType::Token
                            | SearchParamType::Quantity
                            | SearchParamType::Number
                            | SearchParamType::Uri
                    )
            });
            if !sortable {
                return Err(invalid_value("_sort", "names no parameter of this type that results can be sorted by"));
            }
            Ok(SortKey { param_code: code.to_string(), descending })
        })
        .collect()
}

/// `Type:param` or `Type:param:TargetType`, where `param` is a reference parameter of `Type`.
fn add_include(
    registry: &SearchParamRegistry,
    request: &mut SearchRequest,
    base_name: &str,
    value: &str,
    iterate: bool,
) -> Result<(), SearchParseError> {
    if request.includes.len() + request.revincludes.len() >= MAX_INCLUDES {
        return Err(invalid_value(base_name, "too many _include and _revinclude parameters"));
    }
    if value == "*" {
        return Err(invalid_value(base_name, "the wildcard '*' is not supported"));
    }
    let parts: Vec<&str> = value.split(':').collect();
    let (type_name, param_code, target_name) = match parts[..] {
        [type_name, param_code] => (type_name, param_code, None),
        [type_name, param_code, target_name] => (type_name, param_code, Some(target_name)),
        _ => return Err(invalid_value(base_name, "takes Type:parameter or Type:parameter:TargetType")),
    };
    if param_code == "*" {
        return Err(invalid_value(base_name, "the wildcard '*' is not supported"));
    }
    let source_type = ResourceType::parse(type_name).map_err(|_| invalid_value(base_name, "unknown resource type"))?;
    let def = registry
        .get(source_type, param_code)
        .filter(|def| def.param_type == SearchParamType::Reference && def.expression.is_some())
        .ok_or_else(|| invalid_value(base_name, "names no reference parameter of that resource type"))?;
    let target_type = match target_name {
        None => None,
        Some(target_name) => {
            let target_type =
                ResourceType::parse(target_name).map_err(|_| invalid_value(base_name, "unknown target type"))?;
            if !allows_target(def, target_type) {
                return Err(invalid_value(base_name, "the parameter cannot point to that target type"));
            }
            Some(target_type)
        }
    };
    let include = Include { source_type, param_code: def.code.to_string(), target_type, iterate };
    if base_name == "_include" {
        request.includes.push(include)
    } else {
        request.revincludes.push(include)
    }
    Ok(())
}

fn parse_summary(value: &str) -> Result<Summary, SearchParseError> {
    Ok(match value {
        "true" => Summary::True,
        "text" => Summary::Text,
        "data" => Summary::Data,
        "count" => Summary::Count,
        "false" => Summary::False,
        _ => return Err(invalid_value("_summary", "takes true, text, data, count or false")),
    })
}

/// Top-level element names: `_elements=identifier,name`.
fn parse_elements(value: &str) -> Result<Vec<String>, SearchParseError> {
    let names: Vec<&str> = value.split(',').map(str::trim).collect();
    if names.len() > MAX_ELEMENTS {
        return Err(invalid_value("_elements", "too many element names"));
    }
    let is_element_name = |name: &&str| {
        name.starts_with(|first: char| first.is_ascii_alphabetic())
            && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
    };
    if !names.iter().all(is_element_name) {
        return Err(invalid_value("_elements", "takes a comma-separated list of element names"));
    }
    Ok(names.into_iter().map(str::to_string).collect())
}

fn parse_total(value: &str) -> Result<&'static str, SearchParseError> {
    match value {
        "none" => Ok("none"),
        "estimate" => Ok("estimate"),
        "accurate" => Ok("accurate"),
        _ => Err(invalid_value("_total", "takes none, estimate or accurate")),
    }
}
