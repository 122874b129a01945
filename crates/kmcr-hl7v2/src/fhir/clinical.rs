//! The clinical segments of an ADT message: AL1 allergies to AllergyIntolerance, DG1 diagnoses to Condition, NK1 next
//! of kin to RelatedPerson. Each is keyed by the sender, the patient and what it names (the allergen, the diagnosis
//! code, the contact's position), so that a message listing them again updates the same resources.

use serde_json::{Value as Json, json};

use super::digest_id;
use super::patient::{address, fhir_date_time, name, phone};
use super::results::coded;
use crate::message::{Message, Segment};

/// What the concept is called, for keys: its code, else its text.
fn key_of(segment: &Segment, field: usize) -> Option<String> {
    segment.text(field, 1).or(segment.text(field, 2)).map(str::to_string)
}

/// One AllergyIntolerance per AL1 that names its allergen.
pub fn allergies(message: &Message, sender_ods_code: &str, patient_id: &str) -> Vec<Json> {
    message
        .segments_named("AL1")
        .filter_map(|al1| {
            let allergen = key_of(al1, 3)?;
            let mut allergy = json!({
                "resourceType": "AllergyIntolerance",
                "id": digest_id(&[sender_ods_code, patient_id, "allergy", &allergen]),
                "clinicalStatus": { "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active" }] },
                "verificationStatus": { "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "confirmed" }] },
                "code": coded(al1, 3)?,
                "patient": { "reference": format!("Patient/{patient_id}") },
            });
            let category = match al1.text(2, 1) {
                Some("DA" | "MA") => Some("medication"),
                Some("FA") => Some("food"),
                Some("EA" | "AA" | "PA" | "LA" | "PLA") => Some("environment"),
                _ => None,
            };
            if let Some(category) = category {
                allergy["category"] = json!([category]);
            }
            match al1.text(4, 1) {
                Some("SV") => allergy["criticality"] = json!("high"),
                Some("MO" | "MI") => allergy["criticality"] = json!("low"),
                _ => {}
            }
            let reactions: Vec<Json> = (1..=al1.repetitions(5))
                .filter_map(|repetition| al1.value(5, repetition, 1, 1).text())
                .map(|reaction| json!({ "manifestation": [{ "text": reaction }] }))
                .collect();
            if !reactions.is_empty() {
                allergy["reaction"] = json!(reactions);
            }
            if let Some(date) = al1.text(6, 1).and_then(fhir_date_time) {
                allergy["recordedDate"] = json!(date);
            }
            Some(allergy)
        })
        .collect()
}

/// One Condition per DG1 that names its diagnosis; `encounter_id` is the visit the message's PV1 became, if any.
pub fn diagnoses(message: &Message, sender_ods_code: &str, patient_id: &str, encounter_id: Option<&str>) -> Vec<Json> {
    message
        .segments_named("DG1")
        .filter_map(|dg1| {
            let diagnosis = key_of(dg1, 3)?;
            let scope = encounter_id.unwrap_or(patient_id);
            let verification = match dg1.text(6, 1) {
                Some("W" | "A") => "provisional",
                _ => "confirmed",
            };
            let mut condition = json!({
                "resourceType": "Condition",
                "id": digest_id(&[sender_ods_code, scope, "diagnosis", &diagnosis]),
                "clinicalStatus": { "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active" }] },
                "verificationStatus": { "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification }] },
                "category": [{ "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis" }] }],
                "code": coded(dg1, 3)?,
                "subject": { "reference": format!("Patient/{patient_id}") },
            });
            if let Some(encounter_id) = encounter_id {
                condition["encounter"] = json!({ "reference": format!("Encounter/{encounter_id}") });
            }
            if let Some(date) = dg1.text(5, 1).and_then(fhir_date_time) {
                condition["recordedDate"] = json!(date);
            }
            Some(condition)
        })
        .collect()
}

/// One RelatedPerson per NK1 that names the person.
pub fn related_people(message: &Message, sender_ods_code: &str, patient_id: &str) -> Vec<Json> {
    message
        .segments_named("NK1")
        .enumerate()
        .filter_map(|(index, nk1)| {
            let names: Vec<Json> = (1..=nk1.repetitions(2)).filter_map(|repetition| name(nk1, 2, repetition)).collect();
            if names.is_empty() {
                return None;
            }
            let position = nk1.text(1, 1).map_or_else(|| (index + 1).to_string(), str::to_string);
            let mut person = json!({
                "resourceType": "RelatedPerson",
                "id": digest_id(&[sender_ods_code, patient_id, "related", &position]),
                "patient": { "reference": format!("Patient/{patient_id}") },
                "name": names,
            });
            if let Some(relationship) = nk1.text(3, 1) {
                let text = nk1.text(3, 2).unwrap_or(relationship);
                person["relationship"] = json!([{
                    "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v2-0063", "code": relationship }],
                    "text": text
                }]);
            }
            let addresses: Vec<Json> =
                (1..=nk1.repetitions(4)).filter_map(|repetition| address(nk1, 4, repetition)).collect();
            if !addresses.is_empty() {
                person["address"] = json!(addresses);
            }
            let phones: Vec<Json> =
                (1..=nk1.repetitions(5)).filter_map(|repetition| phone(nk1, 5, repetition, "home")).collect();
            if !phones.is_empty() {
                person["telecom"] = json!(phones);
            }
            Some(person)
        })
        .collect()
}
