//! ORU^R01 to a UK Core DiagnosticReport per OBR, with an Observation per OBX: OBR-4 the test, OBR-7 when, OBR-25 the
//! report's status; OBX-2 the value's type (NM and SN as quantities with OBX-6 units, ST, TX and FT as text, CE and CWE
//! as codes, DT and TS as dates), OBX-7 the reference range, OBX-8 the abnormal flags as `interpretation`, OBX-11 the
//! result's status, and NTE notes after an OBR or OBX as its notes. Ids are digests of the sender and the order number
//! (OBR-3, else OBR-2) and, for an Observation, its position in the report, so a corrected result updates the same
//! resources. A result is a whole resource: it is sent whole each time, so nothing here is kept from before.

use kmcr_fhir::ODS_CODE_SYSTEM;
use serde_json::{Map, Value as Json, json};

use super::{digest_id, error_at};
use crate::ack::MessageError;
use crate::message::{Message, Segment};

/// The resources a result message becomes: each report, then its observations.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultResources {
    pub reports: Vec<Json>,
    pub observations: Vec<Json>,
}

const INTERPRETATION_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
const CATEGORY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v2-0074";

/// Reads every OBR with the OBX and NTE segments that follow it; `patient_id` is the Patient the PID became.
pub fn result_resources(
    message: &Message,
    sender_ods_code: &str,
    patient_id: &str,
) -> Result<ResultResources, MessageError> {
    let mut resources = ResultResources { reports: Vec::new(), observations: Vec::new() };
    let mut report: Option<(Map<String, Json>, String)> = None;
    let mut last_note_target: Option<NoteTarget> = None;
    let mut n_results = 0;
    for (index, segment) in message.segments.iter().enumerate() {
        let position = index + 1;
        match segment.id.as_str() {
            "OBR" => {
                if let Some((finished, _)) = report.take() {
                    resources.reports.push(Json::Object(finished));
                }
                let order = segment.text(3, 1).or(segment.text(2, 1)).ok_or_else(|| {
                    error_at(segment, position, 3, "101", "OBR-3 or OBR-2, the order number, is required")
                })?;
                let code = coded(segment, 4)
                    .ok_or_else(|| error_at(segment, position, 4, "101", "OBR-4, the test ordered, is required"))?;
                let id = digest_id(&[sender_ods_code, "report", order]);
                let mut new_report = Map::new();
                new_report.insert("resourceType".into(), json!("DiagnosticReport"));
                new_report.insert("id".into(), json!(id));
                new_report.insert(
                    "identifier".into(),
                    json!([{ "system": format!("https://fhir.kmcr.nhs.uk/Id/{sender_ods_code}/order"), "value": order }]),
                );
                new_report.insert("status".into(), json!(report_status(segment.text(25, 1))));
                new_report.insert(
                    "category".into(),
                    json!([{ "coding": [{ "system": CATEGORY_SYSTEM, "code": "LAB", "display": "Laboratory" }] }]),
                );
                new_report.insert("code".into(), code);
                new_report.insert("subject".into(), json!({ "reference": format!("Patient/{patient_id}") }));
                if let Some(when) = segment.text(7, 1).and_then(super::patient::fhir_date_time) {
                    new_report.insert("effectiveDateTime".into(), json!(when));
                }
                if let Some(issued) =
                    segment.text(22, 1).and_then(super::patient::fhir_date_time).filter(|issued| issued.contains('T'))
                {
                    new_report.insert("issued".into(), json!(issued));
                }
                new_report.insert(
                    "performer".into(),
                    json!([{ "identifier": { "system": ODS_CODE_SYSTEM, "value": sender_ods_code } }]),
                );
                report = Some((new_report, id));
                last_note_target = Some(NoteTarget::Report);
                n_results = 0;
            }
            "OBX" => {
                let Some((current, report_id)) = report.as_mut() else {
                    return Err(error_at(segment, position, 1, "100", "an OBX comes before any OBR"));
                };
                n_results += 1;
                let observation = observation(segment, position, report_id, n_results, patient_id, current)?;
                let reference =
                    json!({ "reference": format!("Observation/{}", observation["id"].as_str().unwrap_or_default()) });
                current.entry("result").or_insert_with(|| json!([])).as_array_mut().expect("an array").push(reference);
                resources.observations.push(observation);
                last_note_target = Some(NoteTarget::Observation(resources.observations.len() - 1));
            }
            "NTE" => {
                let text: Vec<&str> = (1..=segment.repetitions(3))
                    .filter_map(|repetition| segment.value(3, repetition, 1, 1).text())
                    .collect();
                if text.is_empty() {
                    continue;
                }
                let note = json!({ "text": text.join("\n") });
                match last_note_target {
                    Some(NoteTarget::Observation(index)) => push_note(&mut resources.observations[index], note),
                    // DiagnosticReport has no notes in R4: the report's comments become its conclusion.
                    Some(NoteTarget::Report) => {
                        if let Some((current, _)) = report.as_mut() {
                            let conclusion = match current.get("conclusion").and_then(Json::as_str) {
                                Some(earlier) => format!("{earlier}\n{}", text.join("\n")),
                                None => text.join("\n"),
                            };
                            current.insert("conclusion".into(), json!(conclusion));
                        }
                    }
                    None => {}
                }
            }
            _ => {}
        }
    }
    if let Some((finished, _)) = report.take() {
        resources.reports.push(Json::Object(finished));
    }
    if resources.reports.is_empty() {
        return Err(MessageError { location: None, code: "100", reason: "the message has no OBR segment".into() });
    }
    Ok(resources)
}

#[derive(Clone, Copy)]
enum NoteTarget {
    Report,
    Observation(usize),
}

fn push_note(resource: &mut Json, note: Json) {
    if let Some(object) = resource.as_object_mut() {
        object.entry("note").or_insert_with(|| json!([])).as_array_mut().expect("an array").push(note);
    }
}

fn observation(
    obx: &Segment,
    position: usize,
    report_id: &str,
    n: usize,
    patient_id: &str,
    report: &Map<String, Json>,
) -> Result<Json, MessageError> {
    let code =
        coded(obx, 3).ok_or_else(|| error_at(obx, position, 3, "101", "OBX-3, what was observed, is required"))?;
    let mut observation = Map::new();
    observation.insert("resourceType".into(), json!("Observation"));
    observation.insert("id".into(), json!(digest_id(&[report_id, &n.to_string()])));
    observation.insert("status".into(), json!(result_status(obx.text(11, 1))));
    observation.insert(
        "category".into(),
        json!([{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory" }] }]),
    );
    observation.insert("code".into(), code);
    observation.insert("subject".into(), json!({ "reference": format!("Patient/{patient_id}") }));
    match obx.text(14, 1).and_then(super::patient::fhir_date_time) {
        Some(when) => {
            observation.insert("effectiveDateTime".into(), json!(when));
        }
        None => {
            if let Some(when) = report.get("effectiveDateTime") {
                observation.insert("effectiveDateTime".into(), when.clone());
            }
        }
    }
    let value_type = obx.text(2, 1).unwrap_or_default();
    if let Some((key, value)) = value(obx, position, value_type)? {
        observation.insert(key.into(), value);
    }
    if let Some(range) = obx.text(7, 1).map(reference_range) {
        observation.insert("referenceRange".into(), json!([range]));
    }
    let flags: Vec<Json> = (1..=obx.repetitions(8))
        .filter_map(|repetition| obx.value(8, repetition, 1, 1).text())
        .filter_map(interpretation)
        .collect();
    if !flags.is_empty() {
        observation.insert("interpretation".into(), json!(flags));
    }
    Ok(Json::Object(observation))
}

/// OBX-5 as the FHIR value its OBX-2 type says, or `None` when it is empty.
fn value(obx: &Segment, position: usize, value_type: &str) -> Result<Option<(&'static str, Json)>, MessageError> {
    let first = obx.text(5, 1);
    let unit = obx.text(6, 1).map(|code| {
        let text = obx.text(6, 2).unwrap_or(code);
        let ucum = obx.text(6, 3).is_some_and(|system| system.eq_ignore_ascii_case("UCUM"));
        (code.to_string(), text.to_string(), ucum)
    });
    // The number as written (`147` stays an integer), so that no precision is added or lost on the way.
    let number_of = |text: &str| -> Option<serde_json::Number> {
        let text = text.trim();
        text.parse::<f64>().ok().filter(|number| number.is_finite())?;
        text.trim_start_matches('+').parse::<serde_json::Number>().ok()
    };
    let quantity = |number: serde_json::Number, comparator: Option<&str>| {
        let mut quantity = json!({ "value": number });
        if let Some(comparator) = comparator {
            quantity["comparator"] = json!(comparator);
        }
        if let Some((code, text, ucum)) = &unit {
            quantity["unit"] = json!(text);
            if *ucum {
                quantity["system"] = json!("http://unitsofmeasure.org");
                quantity["code"] = json!(code);
            }
        }
        quantity
    };
    let not_a_number = || error_at(obx, position, 5, "102", "OBX-5 is not the number its OBX-2 type says");
    Ok(match value_type {
        _ if first.is_none() && value_type != "CE" && value_type != "CWE" => None,
        "NM" => {
            let number = number_of(first.unwrap_or_default()).ok_or_else(not_a_number)?;
            Some(("valueQuantity", quantity(number, None)))
        }
        "SN" => {
            let comparator = obx.text(5, 1).filter(|comparator| ["<", "<=", ">", ">="].contains(comparator));
            let number = number_of(obx.text(5, 2).unwrap_or_default()).ok_or_else(not_a_number)?;
            Some(("valueQuantity", quantity(number, comparator)))
        }
        "ST" | "TX" | "FT" => {
            let lines: Vec<&str> =
                (1..=obx.repetitions(5)).filter_map(|repetition| obx.value(5, repetition, 1, 1).text()).collect();
            Some(("valueString", json!(lines.join("\n"))))
        }
        "CE" | "CWE" => coded(obx, 5).map(|concept| ("valueCodeableConcept", concept)),
        "DT" | "TS" | "DTM" => {
            first.and_then(super::patient::fhir_date_time).map(|when| ("valueDateTime", json!(when)))
        }
        // Other types (ED, RP, ...) are not results KMCR reads yet: the Observation says what it was, without a value.
        _ => None,
    })
}

/// A CE or CWE as a CodeableConcept: code, text and coding system, LOINC and SNOMED named by their URIs.
pub(crate) fn coded(segment: &Segment, field: usize) -> Option<Json> {
    let code = segment.text(field, 1);
    let text = segment.text(field, 2);
    if code.is_none() && text.is_none() {
        return None;
    }
    let mut concept = Map::new();
    if let Some(code) = code {
        let system = match segment.text(field, 3) {
            Some("LN" | "LOINC") => "http://loinc.org".to_string(),
            Some("SCT" | "SNM" | "SNOMED" | "SNOMEDCT") => "http://snomed.info/sct".to_string(),
            Some(other) => format!("urn:hl7v2:coding-system:{other}"),
            None => "urn:hl7v2:coding-system:local".to_string(),
        };
        let mut coding = json!({ "system": system, "code": code });
        if let Some(text) = text {
            coding["display"] = json!(text);
        }
        concept.insert("coding".into(), json!([coding]));
    }
    if let Some(text) = text {
        concept.insert("text".into(), json!(text));
    }
    Some(Json::Object(concept))
}

fn reference_range(text: &str) -> Json {
    let number = |part: &str| {
        let part = part.trim();
        part.parse::<f64>().ok().filter(|number| number.is_finite())?;
        part.parse::<serde_json::Number>().ok()
    };
    let text = text.trim();
    if let Some((low, high)) = text.split_once('-').filter(|(low, _)| !low.is_empty())
        && let (Some(low), Some(high)) = (number(low), number(high))
    {
        return json!({ "low": { "value": low }, "high": { "value": high }, "text": text });
    }
    if let Some(high) = text.strip_prefix('<').and_then(|rest| number(rest.trim_start_matches('='))) {
        return json!({ "high": { "value": high }, "text": text });
    }
    if let Some(low) = text.strip_prefix('>').and_then(|rest| number(rest.trim_start_matches('='))) {
        return json!({ "low": { "value": low }, "text": text });
    }
    json!({ "text": text })
}

fn interpretation(flag: &str) -> Option<Json> {
    let display = match flag {
        "H" => "High",
        "L" => "Low",
        "HH" => "Critical high",
        "LL" => "Critical low",
        "N" => "Normal",
        "A" => "Abnormal",
        "AA" => "Critical abnormal",
        "POS" => "Positive",
        "NEG" => "Negative",
        _ => return None,
    };
    Some(json!({ "coding": [{ "system": INTERPRETATION_SYSTEM, "code": flag, "display": display }] }))
}

fn report_status(code: Option<&str>) -> &'static str {
    match code {
        Some("F") => "final",
        Some("C") => "corrected",
        Some("P" | "R" | "S") => "preliminary",
        Some("I" | "O") => "registered",
        Some("X") => "cancelled",
        Some("A") => "partial",
        _ => "unknown",
    }
}

fn result_status(code: Option<&str>) -> &'static str {
    match code {
        Some("F" | "U") => "final",
        Some("C") => "corrected",
        Some("P" | "R" | "S") => "preliminary",
        Some("I" | "O") => "registered",
        Some("X") => "cancelled",
        Some("D" | "W") => "entered-in-error",
        _ => "unknown",
    }
}
