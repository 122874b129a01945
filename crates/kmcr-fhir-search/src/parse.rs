//! Parsing and checking a search request's parameters.

use kmcr_fhir::ResourceType;

use crate::{SearchParamRegistry, SearchRequest};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SearchParseError {
    #[error("unknown search parameter '{name}' for this resource type")]
    UnknownParameter { name: String },
}

pub fn parse_search(
    registry: &SearchParamRegistry,
    resource_type: ResourceType,
    params: &[(String, String)],
    lenient: bool,
    max_count: usize,
) -> Result<SearchRequest, SearchParseError> {
    let _ = (registry, params, lenient, max_count);
    Ok(SearchRequest {
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
    })
}
