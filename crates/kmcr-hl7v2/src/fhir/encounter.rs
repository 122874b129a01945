//! PV1 (and the trigger event) to a UK Core Encounter: the visit number (PV1-19) as its identifier and, digested with
//! the sender's ODS code, its id, so that every event of one visit updates one Encounter, in whatever order the events
//! arrive; the patient class (PV1-2) as `class`; admission and discharge times (PV1-44, PV1-45) as `period`; the
//! assigned location (PV1-3), the attending doctor (PV1-7), the admit source (PV1-14) and discharge disposition
//! (PV1-36) as text; the sender as `serviceProvider`.
//!
//! The event sets the status: A01 admit, A02 transfer, A04 register, A06/A07 change class and A13 cancel discharge
//! leave the visit in progress (A13 also removes the discharge time); A05 pre-admit plans it; A03 discharge finishes
//! it; A11 cancel admit marks it entered in error. A08 and A31 update without changing the status. An A08 that arrives
//! before its A01 creates the Encounter in progress; an A03 for a visit never seen creates it finished.

use kmcr_fhir::ODS_CODE_SYSTEM;
use serde_json::{Map, Value as Json, json};

use super::Change;
use crate::ack::{ErrorLocation, MessageError};
use crate::message::{Message, Segment};

/// What a message says about its visit.
#[derive(Clone, Debug, PartialEq)]
pub struct EncounterUpdate {
    pub id: String,
    /// The visit number and the system it is kept under.
    pub visit_identifier: (String, String),
    pub patient_id: String,
    pub sender_ods_code: String,
    /// `None` when the event does not change the status.
    pub status: Option<&'static str>,
    pub class: Change<(String, String)>,
    pub start: Change<String>,
    pub end: Change<String>,
    pub location: Change<String>,
    pub attending: Change<String>,
    pub admit_source: Change<String>,
    pub discharge_disposition: Change<String>,
}

const ACT_CODE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

/// Reads PV1 for the event of MSH-9; `patient_id` is the Patient the message's PID became.
pub fn encounter_update(
    message: &Message,
    sender_ods_code: &str,
    patient_id: &str,
) -> Result<Option<EncounterUpdate>, MessageError> {
    let Some(position) = message.segments.iter().position(|segment| segment.id == "PV1") else { return Ok(None) };
    let pv1 = &message.segments[position];
    let (_, event) = message.message_type();
    let Some(visit) = pv1.text(19, 1) else {
        return Err(MessageError {
            location: Some(ErrorLocation { segment_id: "PV1".into(), segment_position: position + 1, field: Some(19) }),
            code: "101",
            reason: "PV1-19, the visit number, is required to follow a visit".into(),
        });
    };
    let system = format!("https://fhir.kmcr.nhs.uk/Id/{sender_ods_code}/visit");
    let id = super::digest_id(&[sender_ods_code, &system, visit]);
    let status = match event.unwrap_or_default() {
        "A01" | "A02" | "A04" | "A06" | "A07" | "A12" | "A13" => Some("in-progress"),
        "A05" => Some("planned"),
        "A03" => Some("finished"),
        "A11" => Some("entered-in-error"),
        _ => None,
    };
    let text = |field: usize, component: usize| -> Change<String> {
        if pv1.is_null(field) {
            Change::Clear
        } else {
            pv1.text(field, component).map_or(Change::Keep, |text| Change::Set(text.to_string()))
        }
    };
    let location = match text(3, 1) {
        Change::Set(point_of_care) => {
            let parts: Vec<&str> = (1..=4).filter_map(|component| pv1.text(3, component)).collect();
            Change::Set(if parts.is_empty() { point_of_care } else { parts.join(", ") })
        }
        other => other,
    };
    let attending = match text(7, 2) {
        Change::Set(family) => {
            let given = pv1.text(7, 3).map(|given| format!("{given} ")).unwrap_or_default();
            let prefix = pv1.text(7, 6).map(|prefix| format!("{prefix} ")).unwrap_or_default();
            Change::Set(format!("{prefix}{given}{family}"))
        }
        other => other,
    };
    let mut end = date_time(pv1, 45);
    if event == Some("A13") {
        end = Change::Clear;
    }
    Ok(Some(EncounterUpdate {
        id,
        visit_identifier: (system, visit.to_string()),
        patient_id: patient_id.to_string(),
        sender_ods_code: sender_ods_code.to_string(),
        status,
        class: match text(2, 1) {
            Change::Set(code) => class_of(&code).map_or(Change::Keep, Change::Set),
            Change::Clear => Change::Clear,
            Change::Keep => Change::Keep,
        },
        start: date_time(pv1, 44),
        end,
        location,
        attending,
        admit_source: text(14, 1),
        discharge_disposition: text(36, 1),
    }))
}

fn class_of(patient_class: &str) -> Option<(String, String)> {
    let (code, display) = match patient_class {
        "I" => ("IMP", "inpatient encounter"),
        "E" => ("EMER", "emergency"),
        "O" | "R" => ("AMB", "ambulatory"),
        "P" => ("PRENC", "pre-admission"),
        "B" => ("IMP", "inpatient encounter"),
        _ => return None,
    };
    Some((code.to_string(), display.to_string()))
}

fn date_time(segment: &Segment, field: usize) -> Change<String> {
    if segment.is_null(field) {
        return Change::Clear;
    }
    segment.text(field, 1).and_then(super::patient::fhir_date_time).map_or(Change::Keep, Change::Set)
}

/// The Encounter after the update: the stored one (if any) with what the message set or cleared.
pub fn apply_encounter(update: EncounterUpdate, stored: Option<&Json>) -> Json {
    let mut encounter = match stored {
        Some(Json::Object(stored)) => stored.clone(),
        _ => Map::new(),
    };
    encounter.remove("meta");
    encounter.insert("resourceType".into(), json!("Encounter"));
    encounter.insert("id".into(), json!(update.id));
    let (system, value) = update.visit_identifier;
    encounter.insert("identifier".into(), json!([{ "system": system, "value": value }]));
    let stored_status = encounter.get("status").and_then(Json::as_str).map(str::to_string);
    let status = update.status.map(str::to_string).or(stored_status).unwrap_or_else(|| "in-progress".to_string());
    encounter.insert("status".into(), json!(status));
    let stored_class = encounter.remove("class");
    let class = match update.class {
        Change::Set((code, display)) => Some(json!({ "system": ACT_CODE_SYSTEM, "code": code, "display": display })),
        Change::Clear => None,
        Change::Keep => stored_class,
    };
    // `class` is required in R4: unknown stays unknown.
    encounter.insert(
        "class".into(),
        class.unwrap_or_else(|| {
            json!({ "system": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "code": "UNK", "display": "unknown" })
        }),
    );
    encounter.insert("subject".into(), json!({ "reference": format!("Patient/{}", update.patient_id) }));
    encounter.insert(
        "serviceProvider".into(),
        json!({ "identifier": { "system": ODS_CODE_SYSTEM, "value": update.sender_ods_code } }),
    );
    let stored_period = encounter.remove("period");
    let stored_part = |key: &str| {
        stored_period.as_ref().and_then(|period| period.get(key)).and_then(Json::as_str).map(str::to_string)
    };
    let mut period = Map::new();
    if let Some(start) = update.start.apply_to(stored_part("start")) {
        period.insert("start".into(), json!(start));
    }
    if let Some(end) = update.end.apply_to(stored_part("end")) {
        period.insert("end".into(), json!(end));
    }
    if !period.is_empty() {
        encounter.insert("period".into(), Json::Object(period));
    }
    let stored_location = encounter
        .remove("location")
        .and_then(|locations| locations.pointer("/0/location/display")?.as_str().map(str::to_string));
    if let Some(location) = update.location.apply_to(stored_location) {
        encounter.insert("location".into(), json!([{ "location": { "display": location } }]));
    }
    let stored_attending = encounter
        .remove("participant")
        .and_then(|participants| participants.pointer("/0/individual/display")?.as_str().map(str::to_string));
    if let Some(attending) = update.attending.apply_to(stored_attending) {
        encounter.insert(
            "participant".into(),
            json!([{
                "type": [{ "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "ATND",
                    "display": "attender" }] }],
                "individual": { "display": attending }
            }]),
        );
    }
    let stored_hospitalization = encounter.remove("hospitalization");
    let stored_text = |key: &str| {
        stored_hospitalization
            .as_ref()
            .and_then(|stay| stay.pointer(&format!("/{key}/text"))?.as_str().map(str::to_string))
    };
    let mut hospitalization = Map::new();
    if let Some(source) = update.admit_source.apply_to(stored_text("admitSource")) {
        hospitalization.insert("admitSource".into(), json!({ "text": source }));
    }
    if let Some(disposition) = update.discharge_disposition.apply_to(stored_text("dischargeDisposition")) {
        hospitalization.insert("dischargeDisposition".into(), json!({ "text": disposition }));
    }
    if !hospitalization.is_empty() {
        encounter.insert("hospitalization".into(), Json::Object(hospitalization));
    }
    Json::Object(encounter)
}
