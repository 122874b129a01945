//! The access decision's [`RowFilter`] as an SQL condition on one row of `resource`, applied wherever a query reads
//! rows, so that withheld rows are never matched, counted, sorted, paged over or followed.

use kmcr_fhir::ResourceType;

use super::SqlBuilder;
use crate::types::{RowFilter, RowSensitive, RowTypes, RowView};

/// The condition that a row of `resource` under `alias` may be returned, or `None` when every row may.
pub fn row_filter_condition(builder: &mut SqlBuilder, alias: &str, filter: &RowFilter) -> Option<String> {
    let RowFilter::Restricted(restriction) = filter else { return None };
    // Rows about no patient pass when they are of a type that is not patient data (an Organization, a Medication). A
    // row of a patient-compartment type that names no resolvable Patient (an identifier-only or absolute reference)
    // passes only for the organisation that sent it.
    // (A Person spans several patients' records and is shown link by link by the service, so it is not counted here.)
    let compartment: Vec<&str> =
        kmcr_fhir_search::patient_compartment_types().filter(|type_name| *type_name != "Person").collect();
    let compartment = builder.text_in_list(&format!("{alias}.resource_type"), &compartment);
    let own_orphans = match restriction.own_source.as_deref() {
        Some(own) => format!(" OR {alias}.source_ods_code = {}", builder.text(own)),
        None => String::new(),
    };
    let mut alternatives = vec![format!("({alias}.patient_key IS NULL AND (NOT {compartment}{own_orphans}))")];
    let mut listed_ids: Vec<&str> = Vec::new();
    for person in &restriction.persons {
        if person.patient_ids.is_empty() {
            continue;
        }
        let ids: Vec<&str> = person.patient_ids.iter().map(String::as_str).collect();
        listed_ids.extend(&ids);
        let keys = patient_keys(builder, &ids);
        let view = view_condition(builder, alias, &person.view);
        alternatives.push(format!("({alias}.patient_key IN ({keys}) AND {view})"));
    }
    if let Some(view) = &restriction.everyone_else {
        listed_ids.extend(restriction.excluded_patient_ids.iter().map(String::as_str));
        let view = view_condition(builder, alias, view);
        if listed_ids.is_empty() {
            alternatives.push(view);
        } else {
            let keys = patient_keys(builder, &listed_ids);
            alternatives.push(format!("({alias}.patient_key NOT IN ({keys}) AND {view})"));
        }
    }
    Some(format!("({})", alternatives.join(" OR ")))
}

fn patient_keys(builder: &mut SqlBuilder, ids: &[&str]) -> String {
    let patient = builder.text(ResourceType::PATIENT.as_str());
    let ids = builder.text_in_list("pk.resource_id", ids);
    format!("SELECT pk.resource_key FROM resource pk WHERE pk.resource_type = {patient} AND {ids}")
}

/// A row of a patient passes `view`: the same rules, in the same order, as `kmcr_access::RecordView::item_verdict`.
fn view_condition(builder: &mut SqlBuilder, alias: &str, view: &RowView) -> String {
    let patient = builder.text(ResourceType::PATIENT.as_str());
    let mut conditions = Vec::new();
    let other_types = match &view.other_types {
        RowTypes::None => None,
        RowTypes::Only(types) => {
            let names: Vec<&str> = types.iter().map(|resource_type| resource_type.as_str()).collect();
            Some(if names.is_empty() {
                "1 = 0".to_string()
            } else {
                builder.text_in(&format!("{alias}.resource_type"), &names)
            })
        }
        RowTypes::All => Some("1 = 1".to_string()),
    };
    conditions.push(match (view.patient_type, other_types) {
        (true, Some(other)) => format!("({alias}.resource_type = {patient} OR {other})"),
        (true, None) => format!("{alias}.resource_type = {patient}"),
        (false, Some(other)) => format!("({alias}.resource_type <> {patient} AND {other})"),
        (false, None) => "1 = 0".to_string(),
    });
    if let Some(sources) = &view.only_sources {
        let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
        conditions.push(if sources.is_empty() {
            "1 = 0".to_string()
        } else {
            builder.text_in(&format!("{alias}.source_ods_code"), &sources)
        });
    }
    let own = view.own_source.as_deref().map(|own| builder.text(own));
    for withholding in &view.withheld {
        let mut parts = Vec::new();
        if let Some(own) = &own {
            parts.push(format!("{alias}.source_ods_code <> {own}"));
        }
        if let Some(source) = &withholding.source {
            parts.push(format!("{alias}.source_ods_code = {}", builder.text(source)));
        }
        if !withholding.resource_types.is_empty() {
            let names: Vec<&str> =
                withholding.resource_types.iter().map(|resource_type| resource_type.as_str()).collect();
            parts.push(builder.text_in(&format!("{alias}.resource_type"), &names));
        }
        if withholding.spares_patient_type {
            parts.push(format!("{alias}.resource_type <> {patient}"));
        }
        let withheld = if parts.is_empty() { "1 = 1".to_string() } else { parts.join(" AND ") };
        conditions.push(format!("NOT ({withheld})"));
    }
    match (&view.sensitive, &own) {
        (RowSensitive::All, _) => {}
        (RowSensitive::OwnSourceOnly, Some(own)) => {
            conditions.push(format!("({alias}.sensitivity = 0 OR {alias}.source_ods_code = {own})"))
        }
        _ => conditions.push(format!("{alias}.sensitivity = 0")),
    }
    format!("({})", conditions.join(" AND "))
}
