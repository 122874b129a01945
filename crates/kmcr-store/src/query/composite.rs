//! Composite criteria (`component-code-value-quantity=http://loinc.org|8480-6$lt90`): every component must match in
//! the same item of the resource, not merely somewhere in it.
//!
//! A composite value is stored as one row per component, under the component's own parameter id, at consecutive
//! ordinals (`write_rows::index_rows`): component k of a value has the ordinal of component 0 plus k. So a value
//! matches when a row of component 0 matches and, for each k, the row at its ordinal plus k does; each of those is a
//! lookup on the primary key `(resource_key, param_id, ordinal)`.

use kmcr_fhir::ResourceType;
use kmcr_fhir_search::{CompositeComponent, Criterion, CriterionValue, Modifier, SearchParamRegistry};

use super::{ParamIds, SqlBuilder, epochs_condition, index_table, value_condition};
use crate::StoreError;

/// The condition that `key_expression` is the key of a resource matching the composite criterion. With `drive`, the
/// keys come from a lookup of the first component's value in its value index, then each is checked whole.
///
/// A composite that is the union of others (Observation `combo-code-value-quantity`) has no rows of its own: its
/// values are matched in the rows of each of the others.
pub(super) fn composite_condition(
    builder: &mut SqlBuilder,
    params: &ParamIds,
    resource_type: ResourceType,
    criterion: &Criterion,
    key_expression: &str,
    drive: bool,
) -> Result<String, StoreError> {
    let registry = SearchParamRegistry::official_r4();
    let components = registry.composite_components(resource_type, &criterion.param_code);
    let storages: Vec<&[CompositeComponent]> = registry
        .stored_under(resource_type, &criterion.param_code)
        .iter()
        .map(|code| registry.composite_components(resource_type, code))
        .collect();
    let Some(first_component) = components.first() else {
        return Err(StoreError::UnsupportedSearch(format!("{} has no components", criterion.param_code)));
    };
    let first_table = index_table(first_component.param_type)?;
    let first_param_ids = storages
        .iter()
        .map(|storage| component_param_id(params, resource_type, storage.first()?))
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(|| StoreError::UnsupportedSearch(format!("no index for {}", criterion.param_code)))?;
    let fence = builder.subquery_fence();
    if let Some(Modifier::Missing(missing)) = criterion.modifier {
        let first_params = builder.param_condition("c0", &first_param_ids);
        let exists = format!(
            "EXISTS (SELECT 1 FROM {first_table} c0 WHERE c0.resource_key = {key_expression} AND {first_params}{fence})"
        );
        return Ok(if missing { format!("NOT {exists}") } else { exists });
    }
    let mut alternatives = Vec::with_capacity(criterion.values.len() * storages.len());
    for value in &criterion.values {
        let parts = value_parts(criterion, value, components.len())?;
        for storage in &storages {
            alternatives.push(value_in_storage(builder, params, resource_type, key_expression, storage, parts)?);
        }
    }
    if alternatives.is_empty() {
        return Err(StoreError::UnsupportedSearch(format!("no value for {}", criterion.param_code)));
    }
    let condition = format!("({})", alternatives.join(" OR "));
    if !drive || criterion.values.len() != 1 {
        return Ok(condition);
    }
    let first_part = &value_parts(criterion, &criterion.values[0], components.len())?[0];
    let first_params = builder.param_condition("i", &first_param_ids);
    let targets = component_targets(registry, resource_type, first_component);
    let lookup = value_condition(builder, "i", None, first_part, targets)?;
    let epochs = match first_table {
        "idx_reference" => String::new(),
        _ => format!("{} AND ", epochs_condition(builder.dialect)),
    };
    Ok(format!(
        "{key_expression} IN (SELECT i.resource_key FROM {first_table} i WHERE {epochs}{first_params} AND {lookup}) \
         AND {condition}"
    ))
}

/// One composite value matched in the rows of one composite's components: component 0 in a row `c0`, component k in
/// the row of its parameter at `c0`'s ordinal plus k.
fn value_in_storage(
    builder: &mut SqlBuilder,
    params: &ParamIds,
    resource_type: ResourceType,
    key_expression: &str,
    components: &[CompositeComponent],
    parts: &[CriterionValue],
) -> Result<String, StoreError> {
    let registry = SearchParamRegistry::official_r4();
    let fence = builder.subquery_fence();
    let mut conditions = vec![format!("c0.resource_key = {key_expression}")];
    for (component_idx, (component, part)) in components.iter().zip(parts).enumerate() {
        let row = format!("c{component_idx}");
        let param_id = component_param_id(params, resource_type, component)
            .ok_or_else(|| StoreError::UnsupportedSearch(format!("no index for {}", component.stored_code)))?;
        let param_id = builder.int(param_id);
        let targets = component_targets(registry, resource_type, component);
        let part_condition = value_condition(builder, &row, None, part, targets)?;
        if component_idx == 0 {
            conditions.push(format!("c0.param_id = {param_id} AND {part_condition}"));
            continue;
        }
        let table = index_table(component.param_type)?;
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM {table} {row} WHERE {row}.resource_key = c0.resource_key AND {row}.param_id = \
             {param_id} AND {row}.ordinal = c0.ordinal + {component_idx} AND {part_condition}{fence})"
        ));
    }
    let first_table = index_table(components[0].param_type)?;
    Ok(format!("EXISTS (SELECT 1 FROM {first_table} c0 WHERE {}{fence})", conditions.join(" AND ")))
}

fn value_parts<'a>(
    criterion: &Criterion,
    value: &'a CriterionValue,
    n_components: usize,
) -> Result<&'a [CriterionValue], StoreError> {
    match value {
        CriterionValue::Composite(parts) if parts.len() == n_components => Ok(parts),
        _ => Err(StoreError::UnsupportedSearch(format!("{} takes one value per component", criterion.param_code))),
    }
}

fn component_param_id(params: &ParamIds, resource_type: ResourceType, component: &CompositeComponent) -> Option<i64> {
    params.id(resource_type, component.stored_code)
}

/// The types a reference component may point to: those of the parameter that defines it.
fn component_targets(
    registry: &'static SearchParamRegistry,
    resource_type: ResourceType,
    component: &CompositeComponent,
) -> &'static [&'static str] {
    registry.get(resource_type, component.code).map_or(&[], |def| def.targets)
}
