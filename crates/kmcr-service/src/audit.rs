//! Audit records of the service's operations: who (from the request's principal), whom and why (from the access
//! decision), what (the resources or the query).

use kmcr_audit::AuditRecord;
use kmcr_fhir::Instant;

use crate::RequestContext;
use crate::access::PersonAccess;

/// A record of `action` by the request's principal, every other part empty.
pub(crate) fn record(context: &RequestContext, action: &str) -> AuditRecord {
    let principal = &context.principal;
    let mut record =
        AuditRecord::new(principal.kind(), principal.id(), principal.ods_code_text(), action, &context.request_id);
    record.recorded_unix_ms = Instant::now().unix_ms;
    record.role_profile_id = principal.role_profile().map(|role| role.id.clone());
    record.job_role_code = principal.role_profile().map(|role| role.job_role.code.clone());
    record.session_id = principal.session_id().map(str::to_string);
    record
}

/// Adds what the decision on one person said: the person, their records, the purpose, the basis and reasons, what
/// was withheld and the reasons users stated.
pub(crate) fn add_person(record: &mut AuditRecord, access: &PersonAccess) {
    if let Some(person_id) = &access.person_id {
        let person = format!("Person/{person_id}");
        if !record.persons.contains(&person) {
            record.persons.push(person);
        }
    }
    record.purpose_of_use = Some(access.decision.purpose.act_reason().to_string());
    record.reasons.push(format!("basis: {}", access.decision.basis));
    record.reasons.extend(access.decision.reasons.iter().cloned());
    record.n_withheld = record.n_withheld.saturating_add(access.n_withheld);
    if !access.stated_reasons.is_empty() {
        record.stated_reason = Some(access.stated_reasons.join("; "));
    }
}

/// The `Patient/id` of each distinct patient among `ids`.
pub(crate) fn patients<'a>(ids: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut patients: Vec<String> = ids.into_iter().map(|id| format!("Patient/{id}")).collect();
    patients.sort();
    patients.dedup();
    patients
}
