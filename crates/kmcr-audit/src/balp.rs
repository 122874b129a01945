//! Audit entries as FHIR R4 AuditEvents shaped as IHE Basic Audit Log Patterns (BALP).
//!
//! One AuditEvent per person whose data was returned (BALP: one per patient), each naming that person as the
//! `patient` entity, with the query (base64) and the resources touched, the request id (`XrequestId`), the requestor
//! (a CIS2 user by SDS user id, with job role, role profile and purpose of use, the stated reason as its text; or an
//! API client), the organisation it
//! acted for (ODS code) and KMCR as the observer. An entry about nobody gives one AuditEvent without a patient.

use base64::Engine;
use serde_json::{Value, json};

use crate::{AuditRecord, ChainedAuditEntry};

/// The canonical URL prefix of the BALP profiles.
pub const BALP_PROFILE_BASE: &str = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.";
/// The `source.observer` of every AuditEvent.
pub const KMCR_OBSERVER: &str = "KMCR";

const SDS_USER_ID: &str = "https://fhir.nhs.uk/Id/sds-user-id";
const SDS_ROLE_PROFILE_ID: &str = "https://fhir.nhs.uk/Id/sds-role-profile-id";
const SDS_JOB_ROLE_CODE: &str = "https://fhir.nhs.uk/CodeSystem/NHSDigital-SDS-JobRoleCode";
const ODS_ORGANISATION_CODE: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
const ACT_REASON: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
const AUDIT_EVENT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-event-type";
const RESTFUL_INTERACTION: &str = "http://hl7.org/fhir/restful-interaction";
const DICOM: &str = "http://dicom.nema.org/resources/ontology/DCM";
const PARTICIPATION_TYPE: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
const ROLE_CLASS: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleClass";
const ENTITY_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
const OBJECT_ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";
const SOURCE_TYPE: &str = "http://terminology.hl7.org/CodeSystem/security-source-type";
const BALP_ENTITY_TYPE: &str = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType";
const BALP_OTHER_ID: &str = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/ihe-otherId";
/// API clients and public users have no national identifier system: these name KMCR's own.
const KMCR_API_CLIENT_ID: &str = "urn:kmcr:id:api-client";
const KMCR_PUBLIC_USER_ID: &str = "urn:kmcr:id:public-user";

/// How an action is described in BALP terms: restful interaction, action code, and the BALP profile's stem.
struct Interaction {
    subtype: &'static str,
    action: &'static str,
    profile: &'static str,
}

fn interaction(action: &str) -> Interaction {
    let (subtype, code, profile) = match action {
        "read" => ("read", "R", "Read"),
        "vread" => ("vread", "R", "Read"),
        "history" => ("history-instance", "R", "Read"),
        "search" => ("search-type", "E", "Query"),
        "everything" | "match" => ("operation", "E", "Query"),
        "create" => ("create", "C", "Create"),
        "update" | "conditional-update" => ("update", "U", "Update"),
        "delete" => ("delete", "D", "Delete"),
        "transaction" | "batch" => ("transaction", "E", "Query"),
        _ => ("operation", "E", "Query"),
    };
    Interaction { subtype, action: code, profile }
}

/// The AuditEvents of one entry: one per person whose data was returned (or, for entries written before persons were
/// recorded, per source Patient), or one about nobody.
pub fn audit_events(entry: &ChainedAuditEntry) -> Vec<Value> {
    let record = &entry.record;
    let subjects = if record.persons.is_empty() { &record.patients } else { &record.persons };
    if subjects.is_empty() {
        return vec![audit_event(entry, None, format!("kmcr-audit-{}", entry.sequence))];
    }
    subjects
        .iter()
        .enumerate()
        .map(|(index, subject)| {
            audit_event(entry, Some(subject), format!("kmcr-audit-{}-{}", entry.sequence, index + 1))
        })
        .collect()
}

fn audit_event(entry: &ChainedAuditEntry, subject: Option<&str>, id: String) -> Value {
    let record = &entry.record;
    let interaction = interaction(&record.action);
    let profile = match subject {
        Some(_) => format!("{BALP_PROFILE_BASE}Patient{}", interaction.profile),
        None => format!("{BALP_PROFILE_BASE}{}", interaction.profile),
    };
    let mut event = json!({
        "resourceType": "AuditEvent",
        "id": id,
        "meta": {"profile": [profile]},
        "type": {"system": AUDIT_EVENT_TYPE, "code": "rest", "display": "Restful Operation"},
        "subtype": [{"system": RESTFUL_INTERACTION, "code": interaction.subtype}],
        "action": interaction.action,
        "recorded": instant(record.recorded_unix_ms),
        "outcome": outcome_code(&record.outcome),
    });
    if !record.reasons.is_empty() || record.n_withheld > 0 {
        let mut description = record.reasons.join("; ");
        if record.n_withheld > 0 {
            if !description.is_empty() {
                description.push_str("; ");
            }
            description.push_str(&format!("{} items withheld", record.n_withheld));
        }
        event["outcomeDesc"] = Value::String(description);
    }
    if let Some(purpose) = purpose_of_use(record) {
        event["purposeOfEvent"] = json!([purpose]);
    }
    event["agent"] = Value::Array(agents(record));
    event["source"] = json!({
        "observer": {"display": KMCR_OBSERVER},
        "type": [{"system": SOURCE_TYPE, "code": "4", "display": "Application Server"}],
    });
    event["entity"] = Value::Array(entities(record, subject));
    event
}

/// The purpose of use as a `v3-ActReason` coding, with the reason the user stated as its text.
fn purpose_of_use(record: &AuditRecord) -> Option<Value> {
    let mut purpose = serde_json::Map::new();
    if let Some(code) = &record.purpose_of_use {
        purpose.insert("coding".into(), json!([{"system": ACT_REASON, "code": code}]));
    }
    if let Some(reason) = &record.stated_reason {
        purpose.insert("text".into(), Value::String(reason.clone()));
    }
    (!purpose.is_empty()).then_some(Value::Object(purpose))
}

/// 0 success; 4 minor failure (the access was refused, or found nothing); 8 serious failure (the request failed).
fn outcome_code(outcome: &str) -> &'static str {
    match outcome {
        "permitted" | "permitted-withheld" => "0",
        "failed" => "8",
        _ => "4",
    }
}

fn agents(record: &AuditRecord) -> Vec<Value> {
    let mut requestor = match record.actor_kind.as_str() {
        "user" => json!({
            "type": {"coding": [{"system": PARTICIPATION_TYPE, "code": "IRCP", "display": "information recipient"}]},
            "who": {"identifier": {"system": SDS_USER_ID, "value": record.actor_id}},
            "requestor": true,
        }),
        "patient" => json!({
            "type": {"coding": [{"system": PARTICIPATION_TYPE, "code": "IRCP", "display": "information recipient"}]},
            "who": {"identifier": {"system": KMCR_PUBLIC_USER_ID, "value": record.actor_id}},
            "requestor": true,
        }),
        // `system`, and entries written before users existed (no kind).
        _ => json!({
            "type": {"coding": [{"system": DICOM, "code": "110153", "display": "Source Role ID"}]},
            "who": {"identifier": {"system": KMCR_API_CLIENT_ID, "value": record.actor_id}},
            "requestor": true,
        }),
    };
    if let Some(role_profile_id) = &record.role_profile_id {
        requestor["extension"] = json!([{
            "url": BALP_OTHER_ID,
            "valueIdentifier": {"system": SDS_ROLE_PROFILE_ID, "value": role_profile_id},
        }]);
    }
    if let Some(job_role_code) = &record.job_role_code {
        requestor["role"] = json!([{"coding": [{"system": SDS_JOB_ROLE_CODE, "code": job_role_code}]}]);
    }
    if let Some(purpose) = purpose_of_use(record) {
        requestor["purposeOfUse"] = json!([purpose]);
    }
    let organisation = json!({
        "type": {"coding": [{"system": ROLE_CLASS, "code": "PROV", "display": "healthcare provider"}]},
        "who": {"identifier": {"system": ODS_ORGANISATION_CODE, "value": record.actor_ods_code}},
        "requestor": false,
    });
    let server = json!({
        "type": {"coding": [{"system": DICOM, "code": "110152", "display": "Destination Role ID"}]},
        "who": {"display": KMCR_OBSERVER},
        "requestor": false,
    });
    vec![requestor, organisation, server]
}

fn entities(record: &AuditRecord, subject: Option<&str>) -> Vec<Value> {
    let mut entities = Vec::new();
    if let Some(subject) = subject {
        entities.push(json!({
            "what": {"reference": subject},
            "type": {"system": ENTITY_TYPE, "code": "1", "display": "Person"},
            "role": {"system": OBJECT_ROLE, "code": "1", "display": "Patient"},
        }));
    }
    if let Some(query) = &record.query {
        let entity = json!({
            "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
            "role": {"system": OBJECT_ROLE, "code": "24", "display": "Query"},
            "query": base64::engine::general_purpose::STANDARD.encode(query),
        });
        entities.push(entity);
    }
    for resource in &record.resources {
        if subject == Some(resource.as_str()) {
            continue;
        }
        entities.push(json!({
            "what": {"reference": resource},
            "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
            "role": {"system": OBJECT_ROLE, "code": "4", "display": "Domain Resource"},
        }));
    }
    if !record.request_id.is_empty() {
        entities.push(json!({
            "what": {"identifier": {"value": record.request_id}},
            "type": {"system": BALP_ENTITY_TYPE, "code": "XrequestId"},
        }));
    }
    entities
}

/// An instant as FHIR writes it (UTC, milliseconds).
fn instant(unix_ms: i64) -> String {
    let days = unix_ms.div_euclid(86_400_000);
    let ms_of_day = unix_ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let (hours, minutes) = (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60);
    let (seconds, millis) = (ms_of_day / 1_000 % 60, ms_of_day % 1_000);
    format!("{year:04}-{month:02}-{day:02}T{hours:02}:{minutes:02}:{seconds:02}.{millis:03}Z")
}

/// Year, month and day of a count of days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_written_in_utc() {
        assert_eq!(instant(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(instant(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(instant(1_735_689_599_999), "2024-12-31T23:59:59.999Z");
    }
}
