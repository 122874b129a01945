//! The official FHIR R4 search parameters, per resource type, with their expressions compiled once.

use std::collections::HashMap;

use kmcr_fhir::ResourceType;

use crate::fhirpath::{self, Expression};
use crate::official_r4_params::OFFICIAL_R4_PARAMS;
use crate::{SearchParamDef, SearchParamType};

/// Every search parameter KMCR knows, looked up by resource type and code.
pub struct SearchParamRegistry {
    params: Vec<SearchParamDef>,
    /// Per param (same index as `params`): its compiled expression, as an index into `expressions`. Parameters of
    /// `Resource` share one compiled expression across all types.
    expression_idx: Vec<Option<usize>>,
    expressions: Vec<Expression>,
    by_type_and_code: HashMap<(ResourceType, &'static str), usize>,
    by_type: HashMap<ResourceType, TypeParams>,
}

#[derive(Default)]
struct TypeParams {
    all: Vec<usize>,
    /// The params extraction evaluates: with a compiled expression, neither composite nor special, and not `_id` or
    /// `_lastUpdated`, which the store keeps as columns.
    indexed: Vec<usize>,
}

/// Base types whose parameters apply to every resource type.
const UNIVERSAL_BASES: &[&str] = &["Resource", "DomainResource"];

impl SearchParamRegistry {
    /// The registry built from the official R4 SearchParameter definitions (see `official_r4_params`).
    pub fn official_r4() -> &'static SearchParamRegistry {
        static REGISTRY: std::sync::OnceLock<SearchParamRegistry> = std::sync::OnceLock::new();
        REGISTRY.get_or_init(SearchParamRegistry::build_official)
    }

    pub fn get(&self, resource_type: ResourceType, code: &str) -> Option<&SearchParamDef> {
        self.by_type_and_code.get(&(resource_type, code)).map(|param_idx| &self.params[*param_idx])
    }

    /// The parameters of a type: those of `Resource` and `DomainResource` first, then the type's own, by code.
    pub fn for_type(&self, resource_type: ResourceType) -> impl Iterator<Item = &SearchParamDef> {
        let param_idxs = self.by_type.get(&resource_type).map_or(&[][..], |type_params| &type_params.all);
        param_idxs.iter().map(|param_idx| &self.params[*param_idx])
    }

    /// Every parameter of every type.
    pub fn all(&self) -> impl Iterator<Item = &SearchParamDef> {
        self.params.iter()
    }

    /// The parameters that yield index entries for a type, with their compiled expressions.
    pub fn indexed_params(&self, resource_type: ResourceType) -> impl Iterator<Item = (&SearchParamDef, &Expression)> {
        let param_idxs = self.by_type.get(&resource_type).map_or(&[][..], |type_params| &type_params.indexed);
        param_idxs.iter().filter_map(|param_idx| {
            let expression_idx = self.expression_idx[*param_idx]?;
            Some((&self.params[*param_idx], &self.expressions[expression_idx]))
        })
    }

    /// The compiled expression of a parameter; `None` when it has none or it failed to compile (a test lists those).
    pub fn compiled_expression(&self, resource_type: ResourceType, code: &str) -> Option<&Expression> {
        let param_idx = *self.by_type_and_code.get(&(resource_type, code))?;
        self.expression_idx[param_idx].map(|expression_idx| &self.expressions[expression_idx])
    }

    fn build_official() -> SearchParamRegistry {
        let mut registry = SearchParamRegistry {
            params: Vec::new(),
            expression_idx: Vec::new(),
            expressions: Vec::new(),
            by_type_and_code: HashMap::new(),
            by_type: HashMap::new(),
        };
        let (universal, specific): (Vec<_>, Vec<_>) =
            OFFICIAL_R4_PARAMS.iter().partition(|(base, ..)| UNIVERSAL_BASES.contains(base));
        for &(base, code, param_type, expression, targets) in universal.into_iter().chain(specific) {
            let expression_idx = expression.and_then(|source| registry.compile(source));
            let resource_types: Vec<ResourceType> = if UNIVERSAL_BASES.contains(&base) {
                ResourceType::all().collect()
            } else {
                vec![ResourceType::parse(base).expect("the generated table names R4 resource types")]
            };
            for resource_type in resource_types {
                let def = SearchParamDef { resource_type, code, param_type, expression, targets };
                registry.add(def, expression_idx);
            }
        }
        registry
    }

    fn compile(&mut self, source: &str) -> Option<usize> {
        let expression = fhirpath::compile(source).ok()?;
        self.expressions.push(expression);
        Some(self.expressions.len() - 1)
    }

    fn add(&mut self, def: SearchParamDef, expression_idx: Option<usize>) {
        let param_idx = self.params.len();
        let previous = self.by_type_and_code.insert((def.resource_type, def.code), param_idx);
        assert!(previous.is_none(), "{} {} is defined twice", def.resource_type, def.code);
        let type_params = self.by_type.entry(def.resource_type).or_default();
        type_params.all.push(param_idx);
        if expression_idx.is_some() && is_indexed(&def) {
            type_params.indexed.push(param_idx);
        }
        self.params.push(def);
        self.expression_idx.push(expression_idx);
    }
}

fn is_indexed(def: &SearchParamDef) -> bool {
    !matches!(def.param_type, SearchParamType::Composite | SearchParamType::Special)
        && !matches!(def.code, "_id" | "_lastUpdated")
}
