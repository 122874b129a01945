//! The official FHIR R4 search parameters, per resource type, with their expressions compiled once.

use std::collections::HashMap;

use kmcr_fhir::ResourceType;

use crate::fhirpath::{self, Expression};
use crate::official_r4_params::{OFFICIAL_R4_COMPOSITES, OFFICIAL_R4_PARAMS};
use crate::unions::{UnionCandidate, find_unions, union_parts};
use crate::{CompositeComponent, SearchParamDef, SearchParamType};

/// Every search parameter KMCR knows, looked up by resource type and code.
pub struct SearchParamRegistry {
    params: Vec<SearchParamDef>,
    /// Per param (same index as `params`): its compiled expression, as an index into `expressions`. Parameters of
    /// `Resource` share one compiled expression across all types.
    expression_idx: Vec<Option<usize>>,
    expressions: Vec<Expression>,
    by_type_and_code: HashMap<(ResourceType, &'static str), usize>,
    by_type: HashMap<ResourceType, TypeParams>,
    /// Per composite param (by index into `params`): its components and their compiled expressions.
    composites: HashMap<usize, Composite>,
    /// Per param that is the union of others (see `unions.rs`): the codes of those others.
    union_of: HashMap<usize, Vec<&'static str>>,
}

struct Composite {
    components: Vec<CompositeComponent>,
    /// Same order as `components`; `None` when any component's expression failed to compile (a test checks none does).
    expressions: Option<Vec<Expression>>,
}

#[derive(Default)]
struct TypeParams {
    all: Vec<usize>,
    /// The params extraction evaluates: with a compiled expression, neither composite nor special, and not `_id` or
    /// `_lastUpdated`, which the store keeps as columns.
    indexed: Vec<usize>,
    /// The composite params extraction evaluates: the composite's expression and every component's compiled.
    composites: Vec<usize>,
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

    /// The composite parameters that yield index entries for a type: each with its compiled expression, its components
    /// and theirs (same order).
    pub fn indexed_composites(
        &self,
        resource_type: ResourceType,
    ) -> impl Iterator<Item = (&SearchParamDef, &Expression, &[CompositeComponent], &[Expression])> {
        let param_idxs = self.by_type.get(&resource_type).map_or(&[][..], |type_params| &type_params.composites);
        param_idxs.iter().filter_map(|param_idx| {
            let expression = &self.expressions[self.expression_idx[*param_idx]?];
            let composite = self.composites.get(param_idx)?;
            let component_expressions = composite.expressions.as_deref()?;
            Some((&self.params[*param_idx], expression, &composite.components[..], component_expressions))
        })
    }

    /// The components of a composite parameter; empty for any other.
    pub fn composite_components(&self, resource_type: ResourceType, code: &str) -> &[CompositeComponent] {
        self.by_type_and_code
            .get(&(resource_type, code))
            .and_then(|param_idx| self.composites.get(param_idx))
            .map_or(&[], |composite| &composite.components)
    }

    /// Every code a type's index rows are stored under: its parameters' codes, then its composite components'.
    pub fn stored_codes(&self, resource_type: ResourceType) -> impl Iterator<Item = &'static str> + '_ {
        let params = self.for_type(resource_type).map(|param| param.code);
        let components = self
            .for_type(resource_type)
            .flat_map(move |param| self.composite_components(resource_type, param.code))
            .map(|component| component.stored_code);
        params.chain(components)
    }

    /// The registry's own string for a stored code (see [`Self::stored_codes`]), if it knows the code.
    pub fn stored_code(&self, resource_type: ResourceType, code: &str) -> Option<&'static str> {
        if let Some(param) = self.get(resource_type, code) {
            return Some(param.code);
        }
        let (composite_code, _) = code.split_once('$')?;
        let components = self.composite_components(resource_type, composite_code);
        components.iter().find(|component| component.stored_code == code).map(|component| component.stored_code)
    }

    /// The codes of the parameters whose index rows hold this parameter's values: its own code, or for a parameter that
    /// is the union of others (Observation `combo-code` is `code` and `component-code`), theirs. Empty for a code the
    /// registry does not know.
    pub fn stored_under(&self, resource_type: ResourceType, code: &str) -> &[&'static str] {
        let Some(param_idx) = self.by_type_and_code.get(&(resource_type, code)) else { return &[] };
        match self.union_of.get(param_idx) {
            Some(codes) => codes,
            None => std::slice::from_ref(&self.params[*param_idx].code),
        }
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
            composites: HashMap::new(),
            union_of: HashMap::new(),
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
        for &(base, code, components) in OFFICIAL_R4_COMPOSITES {
            let resource_type = ResourceType::parse(base).expect("the generated table names R4 resource types");
            let param_idx = registry.by_type_and_code[&(resource_type, code)];
            let composite = Composite {
                components: components
                    .iter()
                    .map(|&(stored_code, code, param_type, expression)| CompositeComponent {
                        stored_code,
                        code,
                        param_type,
                        expression,
                    })
                    .collect(),
                expressions: components.iter().map(|(.., expression)| fhirpath::compile(expression).ok()).collect(),
            };
            if registry.expression_idx[param_idx].is_some() && composite.expressions.is_some() {
                registry.by_type.entry(resource_type).or_default().composites.push(param_idx);
            }
            registry.composites.insert(param_idx, composite);
        }
        registry.find_unions();
        registry
    }

    /// Takes the params (and composites) that are unions of others out of those extraction evaluates.
    fn find_unions(&mut self) {
        let mut union_of = HashMap::new();
        for type_params in self.by_type.values_mut() {
            let plain: Vec<UnionCandidate<'_, SearchParamType>> = type_params
                .indexed
                .iter()
                .map(|param_idx| {
                    let param = &self.params[*param_idx];
                    UnionCandidate { parts: union_parts(param.expression.unwrap_or_default()), key: param.param_type }
                })
                .collect();
            let composites: Vec<UnionCandidate<'_, Vec<(SearchParamType, &str)>>> = type_params
                .composites
                .iter()
                .map(|param_idx| {
                    let components = &self.composites[param_idx].components;
                    UnionCandidate {
                        parts: union_parts(self.params[*param_idx].expression.unwrap_or_default()),
                        key: components.iter().map(|component| (component.param_type, component.expression)).collect(),
                    }
                })
                .collect();
            for (param_idxs, unions) in [
                (&mut type_params.indexed, find_unions(&plain)),
                (&mut type_params.composites, find_unions(&composites)),
            ] {
                for (param_idx, parts) in param_idxs.iter().zip(&unions) {
                    if let Some(parts) = parts {
                        let codes = parts.iter().map(|part_idx| self.params[param_idxs[*part_idx]].code).collect();
                        union_of.insert(*param_idx, codes);
                    }
                }
                let mut position = 0;
                param_idxs.retain(|_| {
                    position += 1;
                    unions[position - 1].is_none()
                });
            }
        }
        self.union_of = union_of;
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
