//! The FHIR Person of each person: a `link` to every source Patient with its assurance level and the reason for it.

use kmcr_fhir::{OdsCode, ResourceId, ResourceType};
use kmcr_fhir_search::{SearchParamRegistry, extract_index_entries};
use kmcr_mpi::LinkReason;
use kmcr_store::{Precondition, WriteAction, WriteOp};
use serde_json::{Value, json};

use super::{HeldLink, PERSON_INDEX_ODS_CODE};

/// Each link says why the Patient is this person (`new-person`, `verified-nhs-number`, `probabilistic-score`,
/// `probabilistic-score-person` (on all the person's records together), `manual-decision`, `merge`, `person-join` (its
/// person was joined with this one by a record linking both), `person-split` (its group of records was split off a
/// person whose records, linked again alone, were two persons')) and, for a score, the match probability.
pub const LINK_REASON_EXTENSION: &str = "https://kmcr.example.org/fhir/StructureDefinition/person-link-reason";

/// FHIR identity assurance (`level1` little confidence .. `level4` very high): a probabilistic link is level3; the
/// record that founded the person, a verified NHS number, a source's own merge and a person's decision are level4.
fn assurance(reason: LinkReason) -> &'static str {
    match reason {
        LinkReason::Score | LinkReason::PersonScore | LinkReason::PersonJoin | LinkReason::PersonSplit => "level3",
        LinkReason::NewPerson | LinkReason::VerifiedNhsNumber | LinkReason::Manual | LinkReason::Merge => "level4",
    }
}

pub fn person_resource(person_id: &str, members: &[(&str, Option<&HeldLink>)]) -> Value {
    let links: Vec<Value> = members
        .iter()
        .map(|(patient_id, link)| {
            let reason = link.map_or(LinkReason::NewPerson, |link| link.reason);
            let mut extension = vec![json!({ "url": "reason", "valueCode": reason.code() })];
            if let Some(score) = link.and_then(|link| link.score) {
                extension.push(json!({ "url": "matchProbability", "valueDecimal": score }));
            }
            if let Some(through) = link.and_then(|link| link.linked_through.as_deref()) {
                extension.push(
                    json!({ "url": "linkedThrough", "valueReference": { "reference": format!("Patient/{through}") } }),
                );
            }
            json!({
                "extension": [{ "url": LINK_REASON_EXTENSION, "extension": extension }],
                "target": { "reference": format!("Patient/{patient_id}") },
                "assurance": assurance(reason),
            })
        })
        .collect();
    json!({ "resourceType": "Person", "id": person_id, "active": true, "link": links })
}

/// The write that brings a Person up to date: its new version, or its deletion once no record is left in it.
pub fn person_op(person_id: &str, resource: Option<Value>) -> WriteOp {
    let id = ResourceId::parse(person_id).expect("person ids are made by the service");
    let writer_ods_code = OdsCode::parse(PERSON_INDEX_ODS_CODE).expect("a well-formed ODS code");
    let action = match resource {
        Some(resource) => {
            let mut resource = resource;
            resource["meta"] = json!({ "tag": [{
                "system": crate::SOURCE_ORGANISATION_TAG_SYSTEM,
                "code": PERSON_INDEX_ODS_CODE,
                "display": "source organisation",
            }]});
            let index_entries = extract_index_entries(SearchParamRegistry::official_r4(), &resource);
            // A Person spans several source Patients: it belongs to none of them.
            WriteAction::Put { resource, index_entries, owning_patient_id: None, sensitivity: 0, events: Vec::new() }
        }
        None => WriteAction::Delete,
    };
    WriteOp { resource_type: ResourceType::PERSON, id, action, precondition: Precondition::None, writer_ods_code }
}
