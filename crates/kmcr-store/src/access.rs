//! The queries that gather what the access decision reads about one person (`PersonRecordFacts`), and the grants
//! table, compiled once for both backends.

use kmcr_fhir::ResourceType;

use crate::GrantFilter;
use crate::query::{Dialect, ParamIds, SqlBuilder};

/// Resource types whose existence makes a contact between the person and an organisation, with the date parameter
/// that gives the contact's period.
pub const CONTACT_TYPES: &[(&str, &str)] =
    &[("Encounter", "date"), ("EpisodeOfCare", "date"), ("CareTeam", "date"), ("ServiceRequest", "authored")];

/// Reference parameters that name the organisation of a contact or a registration, beside its source.
pub const ORGANISATION_REFERENCES: &[(&str, &str)] = &[
    ("Patient", "general-practitioner"),
    ("Encounter", "service-provider"),
    ("EpisodeOfCare", "organization"),
    ("CareTeam", "participant"),
    ("ServiceRequest", "performer"),
];

pub const GRANT_COLUMNS: &str = "grant_id, kind, user_id, role_profile_id, ods_code, patient_id, reason, from_ms, to_ms, \
     review_status, reviewed_by, review_outcome, review_note, reviewed_ms";

/// Every live row of the person's Patients: key, type, source, sensitivity.
pub fn compile_person_rows(dialect: Dialect, patient_ids: &[&str]) -> SqlBuilder {
    let mut builder = SqlBuilder::new(dialect);
    let ids = builder.text_in_list("pk.resource_id", patient_ids);
    builder.sql = format!(
        "SELECT r.resource_key, r.resource_type, r.source_ods_code, r.sensitivity, r.resource_id, r.patient_key FROM \
         resource r WHERE \
         r.patient_key IN (SELECT pk.resource_key FROM resource pk WHERE pk.resource_type = 'Patient' AND {ids}) AND \
         r.version_id > 0 AND r.deleted = {}",
        builder.false_literal()
    );
    builder
}

/// The earliest start and latest end of each contact's period.
pub fn compile_contact_periods(dialect: Dialect, params: &ParamIds, keys: &[i64]) -> SqlBuilder {
    let mut builder = SqlBuilder::new(dialect);
    let param_ids: Vec<i64> = CONTACT_TYPES
        .iter()
        .filter_map(|(type_name, code)| params.id(ResourceType::parse(type_name).ok()?, code))
        .collect();
    let keys = builder.int_in_list("d.resource_key", keys);
    let param_ids = builder.int_in("d.param_id", &param_ids);
    builder.sql = format!(
        "SELECT d.resource_key, MIN(d.low_ms), MAX(d.high_ms) FROM idx_date d WHERE {keys} AND {param_ids} GROUP BY \
         d.resource_key"
    );
    builder
}

/// The ODS codes of the Organizations that these resources name through [`ORGANISATION_REFERENCES`].
pub fn compile_referenced_organisations(dialect: Dialect, params: &ParamIds, keys: &[i64]) -> SqlBuilder {
    let mut builder = SqlBuilder::new(dialect);
    let param_ids: Vec<i64> = ORGANISATION_REFERENCES
        .iter()
        .filter_map(|(type_name, code)| params.id(ResourceType::parse(type_name).ok()?, code))
        .collect();
    let identifier = params.id(ResourceType::parse("Organization").expect("a type"), "identifier").unwrap_or(-1);
    let keys = builder.int_in_list("x.resource_key", keys);
    let param_ids = builder.int_in("x.param_id", &param_ids);
    let identifier = builder.int(identifier);
    let system = builder.text(kmcr_fhir::ODS_CODE_SYSTEM);
    builder.sql = format!(
        "SELECT x.resource_key, t.code FROM idx_reference x JOIN idx_token t ON t.resource_key = x.target_key WHERE \
         {keys} AND {param_ids} AND t.param_id = {identifier} AND t.system = {system} AND t.code IS NOT NULL"
    );
    builder
}

/// The current JSON and source of these resources.
pub fn compile_bodies(dialect: Dialect, keys: &[i64]) -> SqlBuilder {
    let mut builder = SqlBuilder::new(dialect);
    let keys = builder.int_in_list("r.resource_key", keys);
    builder.sql = format!(
        "SELECT v.body, r.source_ods_code FROM resource r JOIN resource_version v ON v.resource_key = r.resource_key \
         AND v.version_id = r.version_id WHERE {keys} AND v.body IS NOT NULL"
    );
    builder
}

/// Grants about these Patients that have not expired by `now_ms`.
pub fn compile_grants_of(dialect: Dialect, patient_ids: &[&str], now_ms: i64) -> SqlBuilder {
    let mut builder = SqlBuilder::new(dialect);
    let ids = builder.text_in_list("patient_id", patient_ids);
    let now = builder.int(now_ms);
    builder.sql = format!("SELECT {GRANT_COLUMNS} FROM access_grant WHERE {ids} AND to_ms > {now} ORDER BY grant_id");
    builder
}

/// Grants in review order, of one review status or all that are reviewed at all, of one organisation or all.
pub fn compile_grants(dialect: Dialect, filter: &GrantFilter, after_grant_id: i64, limit: usize) -> SqlBuilder {
    let mut builder = SqlBuilder::new(dialect);
    let after = builder.int(after_grant_id);
    let status = match &filter.review_status {
        Some(status) => format!("review_status = {}", builder.text(status)),
        None => "review_status IS NOT NULL".to_string(),
    };
    let organisation = match &filter.ods_code {
        Some(ods_code) => format!(" AND ods_code = {}", builder.text(ods_code)),
        None => String::new(),
    };
    let limit = builder.int(limit as i64);
    builder.sql = format!(
        "SELECT {GRANT_COLUMNS} FROM access_grant WHERE {status}{organisation} AND grant_id > {after} ORDER BY \
         grant_id LIMIT {limit}"
    );
    builder
}

/// One row of the person's items, as [`compile_person_rows`] reads it.
pub struct PersonRow {
    pub resource_key: i64,
    pub resource_type: String,
    pub source: Option<String>,
    pub sensitivity: i64,
    pub resource_id: String,
    pub patient_key: Option<i64>,
}

/// The keys of the rows of these types.
fn keys_of<'a>(rows: &'a [PersonRow], is_wanted: impl Fn(&str) -> bool + 'a) -> Vec<i64> {
    rows.iter().filter(|row| is_wanted(&row.resource_type)).map(|row| row.resource_key).collect()
}

/// The contacts among the person's rows, whose periods are read.
pub fn contact_keys(rows: &[PersonRow]) -> Vec<i64> {
    keys_of(rows, |type_name| CONTACT_TYPES.iter().any(|(contact_type, _)| *contact_type == type_name))
}

/// The rows that may name an organisation (a practice, a provider, a performer).
pub fn referring_keys(rows: &[PersonRow]) -> Vec<i64> {
    keys_of(rows, |type_name| ORGANISATION_REFERENCES.iter().any(|(referring_type, _)| *referring_type == type_name))
}

/// The person's Consents, whose bodies are read for objections.
pub fn consent_keys(rows: &[PersonRow]) -> Vec<i64> {
    keys_of(rows, |type_name| type_name == "Consent")
}

/// Puts the answers of the queries above together.
pub fn assemble_facts(
    rows: &[PersonRow],
    periods: &std::collections::HashMap<i64, (Option<i64>, Option<i64>)>,
    referenced: &[(i64, String)],
    consents: Vec<(String, String)>,
    grants: Vec<crate::StoredGrant>,
) -> crate::PersonRecordFacts {
    let mut facts = crate::PersonRecordFacts { consents, grants, ..Default::default() };
    let mut groups: std::collections::BTreeMap<(String, String, i64), i64> = Default::default();
    // Which organisation sent each of the person's Patient records: a contact counts only when its sender recorded it
    // against its own record of the person, so that no source can give itself a relationship by what it writes
    // about another's patient.
    let record_sources: std::collections::HashMap<i64, &str> = rows
        .iter()
        .filter(|row| row.resource_type == "Patient")
        .map(|row| (row.resource_key, row.source.as_deref().unwrap_or_default()))
        .collect();
    for row in rows {
        let source = row.source.clone().unwrap_or_default();
        *groups.entry((row.resource_type.clone(), source.clone(), row.sensitivity)).or_default() += 1;
        let Ok(resource_type) = ResourceType::parse(&row.resource_type) else { continue };
        if resource_type == ResourceType::PATIENT {
            facts.records.push((row.resource_id.clone(), source.clone(), row.sensitivity));
        }
        let on_own_record = row
            .patient_key
            .and_then(|key| record_sources.get(&key))
            .is_some_and(|record_source| *record_source == source.as_str());
        if on_own_record && CONTACT_TYPES.iter().any(|(type_name, _)| *type_name == row.resource_type) {
            let (start, end) = periods.get(&row.resource_key).copied().unwrap_or((None, None));
            facts.contacts.push((resource_type, source.clone(), start, end));
            for (_, organisation) in referenced.iter().filter(|(key, _)| *key == row.resource_key) {
                if *organisation != source {
                    facts.contacts.push((resource_type, organisation.clone(), start, end));
                }
            }
        }
        if resource_type == ResourceType::PATIENT {
            for (_, organisation) in referenced.iter().filter(|(key, _)| *key == row.resource_key) {
                facts.registered_practices.push(organisation.clone());
            }
        }
    }
    facts.item_groups = groups
        .into_iter()
        .filter_map(|((type_name, source, sensitivity), count)| {
            Some((ResourceType::parse(&type_name).ok()?, source, sensitivity, count))
        })
        .collect();
    facts.registered_practices.sort();
    facts.registered_practices.dedup();
    facts
}
