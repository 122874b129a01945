//! PID (and PD1) to a UK Core Patient: the NHS number from PID-3 (assigning authority `NHS`, identifier type `NH`
//! optional) with its verification status from PID-32 (`NSTS01`-`NSTS08` to UK Core's 01-08), the sender's local
//! record number (identifier type `MR`, else the first other identifier) as a second identifier, names, birth date,
//! sex, addresses, phones, death, and the registered GP practice from PD1-3.
//!
//! The Patient's id is derived from the sending organisation and the local record number (a SHA-256, never the
//! number itself, so that no patient data reaches a URL), so every message about one record updates one Patient.

use kmcr_fhir::{NHS_NUMBER_SYSTEM, NhsNumber, ODS_CODE_SYSTEM};
use serde_json::{Map, Value as Json, json};

use super::{Change, error_at};
use crate::ack::{ErrorLocation, MessageError};
use crate::message::{Message, Segment, Value};

pub const VERIFICATION_STATUS_URL: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus";
pub const VERIFICATION_STATUS_SYSTEM: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland";

/// What a message says about its patient.
#[derive(Clone, Debug, PartialEq)]
pub struct PatientUpdate {
    /// The Patient resource's id (see the module note).
    pub id: String,
    /// The local record number and the identifier system it is kept under.
    pub local_identifier: (String, String),
    pub nhs_number: Change<String>,
    /// PID-32's verification status code (`01`-`08`). Omitted keeps the stored status, unless the number changed.
    pub verification_status: Change<String>,
    pub names: Change<Vec<Json>>,
    pub birth_date: Change<String>,
    pub gender: Change<String>,
    pub addresses: Change<Vec<Json>>,
    /// PID-13 (home) and PID-14 (business) apart, so that a message giving one keeps the other.
    pub home_telecom: Change<Vec<Json>>,
    pub work_telecom: Change<Vec<Json>>,
    /// `deceasedDateTime` or `deceasedBoolean`, as a (key, value) pair.
    pub deceased: Change<(String, Json)>,
    /// The registered practice's ODS code.
    pub general_practice: Change<String>,
}

/// Reads PID and PD1. `sender_ods_code` is the organisation the feed belongs to.
pub fn patient_update(message: &Message, sender_ods_code: &str) -> Result<PatientUpdate, MessageError> {
    let Some(position) = message.segments.iter().position(|segment| segment.id == "PID") else {
        return Err(MessageError { location: None, code: "100", reason: "the message has no PID segment".into() });
    };
    let pid = &message.segments[position];
    let segment_position = position + 1;
    let mut nhs_number = None;
    // The local record number: the first identifier of type MR, else the first identifier other than the NHS number.
    let mut local: Option<(String, String)> = None;
    let mut local_is_record_number = false;
    for repetition in 1..=pid.repetitions(3) {
        let Some(value) = pid.value(3, repetition, 1, 1).text() else { continue };
        let authority = pid.value(3, repetition, 4, 1).text();
        let kind = pid.value(3, repetition, 5, 1).text().unwrap_or_default();
        if authority.is_some_and(|authority| authority.eq_ignore_ascii_case("NHS")) || kind.eq_ignore_ascii_case("NH") {
            let parsed = NhsNumber::parse(value).map_err(|error| {
                error_at(
                    pid,
                    segment_position,
                    3,
                    "102",
                    format!("PID-3 holds an NHS number that is not valid: {error}"),
                )
            })?;
            nhs_number = Some(parsed.as_digits());
            continue;
        }
        let is_record_number = kind.eq_ignore_ascii_case("MR");
        if local.is_none() || (is_record_number && !local_is_record_number) {
            local = Some((local_system(sender_ods_code, authority), value.to_string()));
            local_is_record_number = is_record_number;
        }
    }
    let Some(local_identifier) = local else {
        return Err(error_at(
            pid,
            segment_position,
            3,
            "101",
            "PID-3 holds no local record number (an identifier other than the NHS number)",
        ));
    };
    let id = patient_id(sender_ods_code, &local_identifier.0, &local_identifier.1);
    let verification_status = single(pid, 32, |segment, field| {
        let status = segment.text(field, 1)?.trim();
        let code = status.strip_prefix("NSTS").unwrap_or(status);
        (code.len() == 2 && ("01"..="08").contains(&code)).then(|| code.to_string())
    });
    let nhs_number = match nhs_number {
        Some(number) => Change::Set(number),
        // PID-3 always lists the identifiers the sender holds: no NHS number there means none is known.
        None if pid.repetitions(3) > 0 => Change::Clear,
        None => Change::Keep,
    };
    Ok(PatientUpdate {
        id,
        local_identifier,
        nhs_number,
        verification_status,
        names: repeated(pid, 5, name),
        birth_date: single(pid, 7, |segment, field| segment.text(field, 1).and_then(fhir_date)),
        gender: single(pid, 8, |segment, field| gender(segment.text(field, 1)?)),
        addresses: repeated(pid, 11, address),
        home_telecom: repeated(pid, 13, |segment, field, repetition| phone(segment, field, repetition, "home")),
        work_telecom: repeated(pid, 14, |segment, field, repetition| phone(segment, field, repetition, "work")),
        deceased: deceased_of(pid),
        general_practice: match message.segment("PD1") {
            None => Change::Keep,
            Some(pd1) => single(pd1, 3, |segment, field| {
                // XON-10 is the organisation identifier in 2.5; XON-3 in 2.3 and 2.4.
                segment.text(field, 10).or(segment.text(field, 3)).map(str::to_string)
            }),
        },
    })
}

/// The identifier system of a sender's local record numbers, by assigning authority.
fn local_system(sender_ods_code: &str, authority: Option<&str>) -> String {
    format!("https://fhir.kmcr.nhs.uk/Id/{sender_ods_code}/{}", authority.map_or_else(|| "local".to_string(), url_part))
}

/// The record a merge (ADT A40) merges away: MRG-1's local record number, its identifier system, and its Patient id.
fn merged_record(message: &Message, sender_ods_code: &str) -> Result<(String, String, String), MessageError> {
    let Some(position) = message.segments.iter().position(|segment| segment.id == "MRG") else {
        return Err(MessageError { location: None, code: "100", reason: "a merge needs an MRG segment".into() });
    };
    let mrg = &message.segments[position];
    let mut prior: Option<(String, String, bool)> = None;
    for repetition in 1..=mrg.repetitions(1) {
        let Some(value) = mrg.value(1, repetition, 1, 1).text() else { continue };
        let authority = mrg.value(1, repetition, 4, 1).text();
        let kind = mrg.value(1, repetition, 5, 1).text().unwrap_or_default();
        let is_nhs =
            authority.is_some_and(|authority| authority.eq_ignore_ascii_case("NHS")) || kind.eq_ignore_ascii_case("NH");
        let is_record_number = kind.eq_ignore_ascii_case("MR");
        let better = prior.as_ref().is_none_or(|(_, _, was_record_number)| is_record_number && !was_record_number);
        if !is_nhs && better {
            prior = Some((local_system(sender_ods_code, authority), value.to_string(), is_record_number));
        }
    }
    let Some((system, value, _)) = prior else {
        return Err(error_at(mrg, position + 1, 1, "101", "MRG-1 names no local record number to merge"));
    };
    let id = patient_id(sender_ods_code, &system, &value);
    Ok((id, system, value))
}

/// The Patient id of the record a merge (ADT A40) merges away.
pub fn merged_patient_id(message: &Message, sender_ods_code: &str) -> Result<String, MessageError> {
    merged_record(message, sender_ods_code).map(|(id, _, _)| id)
}

/// A merge (ADT A40): the record MRG-1 names is merged into the one PID names (`survivor_id`). The merged record's
/// Patient becomes the stored one (or, for a record never sent, its identifier alone), no longer active, with a
/// `replaced-by` link to the survivor, so that the person index moves it there and keeps it as history.
pub fn merged_patient(
    message: &Message,
    sender_ods_code: &str,
    survivor_id: &str,
    stored: Option<&Json>,
) -> Result<Json, MessageError> {
    let (merged_id, system, value) = merged_record(message, sender_ods_code)?;
    if merged_id == survivor_id {
        return Err(MessageError {
            location: Some(ErrorLocation {
                segment_id: "MRG".into(),
                segment_position: message
                    .segments
                    .iter()
                    .position(|segment| segment.id == "MRG")
                    .map_or(0, |at| at + 1),
                field: Some(1),
            }),
            code: "102",
            reason: "MRG-1 names the same record as PID-3".into(),
        });
    }
    let mut merged = match stored {
        Some(Json::Object(stored)) => stored.clone(),
        _ => {
            let mut fresh = Map::new();
            fresh.insert("identifier".into(), json!([{ "system": system, "value": value }]));
            fresh
        }
    };
    merged.remove("meta");
    merged.insert("resourceType".into(), json!("Patient"));
    merged.insert("id".into(), json!(merged_id));
    merged.insert("active".into(), json!(false));
    merged.insert(
        "link".into(),
        json!([{ "other": { "reference": format!("Patient/{survivor_id}") }, "type": "replaced-by" }]),
    );
    Ok(Json::Object(merged))
}

/// The id of the Patient a sender's local record becomes.
pub fn patient_id(sender_ods_code: &str, system: &str, value: &str) -> String {
    super::digest_id(&[sender_ods_code, system, value])
}

fn url_part(text: &str) -> String {
    text.chars()
        .map(|character| if character.is_ascii_alphanumeric() || ".-".contains(character) { character } else { '-' })
        .collect()
}

/// A field with one meaning: omitted keeps, `""` clears, else the value read (a value that cannot be read keeps).
fn single<T>(segment: &Segment, field: usize, read: impl Fn(&Segment, usize) -> Option<T>) -> Change<T> {
    if segment.is_null(field) {
        return Change::Clear;
    }
    match segment.get(field, 1) {
        Value::Omitted if segment.repetitions(field) == 0 => Change::Keep,
        _ => read(segment, field).map_or(Change::Keep, Change::Set),
    }
}

/// A repeating field, each repetition read by `read`.
fn repeated(segment: &Segment, field: usize, read: fn(&Segment, usize, usize) -> Option<Json>) -> Change<Vec<Json>> {
    if segment.is_null(field) {
        return Change::Clear;
    }
    let values: Vec<Json> =
        (1..=segment.repetitions(field)).filter_map(|repetition| read(segment, field, repetition)).collect();
    if values.is_empty() { Change::Keep } else { Change::Set(values) }
}

pub(crate) fn name(segment: &Segment, field: usize, repetition: usize) -> Option<Json> {
    let part = |component| segment.value(field, repetition, component, 1).text();
    let family = part(1);
    let given: Vec<&str> = [part(2), part(3)].into_iter().flatten().collect();
    if family.is_none() && given.is_empty() {
        return None;
    }
    let mut name = Map::new();
    let use_code = match part(7) {
        Some("L") | None => "official",
        Some("D") => "usual",
        Some("M" | "B") => "maiden",
        Some("N" | "A") => "nickname",
        Some(_) => "usual",
    };
    name.insert("use".into(), json!(use_code));
    if let Some(family) = family {
        name.insert("family".into(), json!(family));
    }
    if !given.is_empty() {
        name.insert("given".into(), json!(given));
    }
    if let Some(prefix) = part(5) {
        name.insert("prefix".into(), json!([prefix]));
    }
    if let Some(suffix) = part(4) {
        name.insert("suffix".into(), json!([suffix]));
    }
    Some(Json::Object(name))
}

pub(crate) fn address(segment: &Segment, field: usize, repetition: usize) -> Option<Json> {
    let part = |component| segment.value(field, repetition, component, 1).text();
    let lines: Vec<&str> = [part(1), part(2)].into_iter().flatten().collect();
    let mut address = Map::new();
    let use_code = match part(7) {
        Some("H") | None => "home",
        Some("B" | "O") => "work",
        Some("C") => "temp",
        Some(_) => "home",
    };
    address.insert("use".into(), json!(use_code));
    if !lines.is_empty() {
        address.insert("line".into(), json!(lines));
    }
    for (key, component) in [("city", 3), ("district", 4), ("postalCode", 5), ("country", 6)] {
        if let Some(value) = part(component) {
            address.insert(key.into(), json!(value));
        }
    }
    (address.len() > 1).then_some(Json::Object(address))
}

pub(crate) fn phone(segment: &Segment, field: usize, repetition: usize, use_code: &str) -> Option<Json> {
    let part = |component| segment.value(field, repetition, component, 1).text();
    // XTN-4 is an email address when XTN-3 says Internet; the number is XTN-1, or XTN-12 in 2.5.
    let (system, value) = match (part(3), part(4)) {
        (Some("Internet" | "X.400"), Some(email)) => ("email", email),
        _ => ("phone", part(12).or(part(1))?),
    };
    Some(json!({ "system": system, "value": value, "use": use_code }))
}

fn deceased_of(pid: &Segment) -> Change<(String, Json)> {
    match single(pid, 29, |segment, field| segment.text(field, 1).and_then(fhir_date_time)) {
        Change::Set(when) => Change::Set(("deceasedDateTime".into(), json!(when))),
        Change::Clear => Change::Clear,
        Change::Keep => match pid.text(30, 1) {
            Some("Y") => Change::Set(("deceasedBoolean".into(), json!(true))),
            Some("N") => Change::Set(("deceasedBoolean".into(), json!(false))),
            _ if pid.is_null(30) => Change::Clear,
            _ => Change::Keep,
        },
    }
}

fn gender(code: &str) -> Option<String> {
    let gender = match code {
        "M" => "male",
        "F" => "female",
        "O" | "A" | "N" => "other",
        "U" => "unknown",
        _ => return None,
    };
    Some(gender.to_string())
}

/// `YYYYMMDD...` to `YYYY-MM-DD` (or `YYYY-MM`, `YYYY` when that is all it gives).
fn fhir_date(text: &str) -> Option<String> {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    match digits.len() {
        4 => Some(digits),
        6 | 7 => Some(format!("{}-{}", &digits[..4], &digits[4..6])),
        n if n >= 8 => Some(format!("{}-{}-{}", &digits[..4], &digits[4..6], &digits[6..8])),
        _ => None,
    }
}

/// `YYYYMMDDHHMM[SS][+ZZZZ]` to a FHIR dateTime; a time without a zone is written as the date alone, since FHIR
/// requires a zone with a time and none was given.
pub(crate) fn fhir_date_time(text: &str) -> Option<String> {
    let date = fhir_date(text)?;
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    let zone = text.find(['+', '-']).map(|at| &text[at..]).filter(|zone| zone.len() == 5);
    match zone {
        Some(zone) if digits.len() >= 12 => {
            let seconds = if digits.len() >= 14 { &digits[12..14] } else { "00" };
            Some(format!("{date}T{}:{}:{seconds}{}:{}", &digits[8..10], &digits[10..12], &zone[..3], &zone[3..]))
        }
        _ => Some(date),
    }
}

/// The Patient after the update: the stored one (if any) with what the message set or cleared, and nothing else
/// changed.
pub fn apply_patient(update: PatientUpdate, stored: Option<&Json>) -> Json {
    let mut patient = match stored {
        Some(Json::Object(stored)) => stored.clone(),
        _ => Map::new(),
    };
    patient.insert("resourceType".into(), json!("Patient"));
    patient.insert("id".into(), json!(update.id));
    patient.remove("meta");
    // Identifiers: the local one always; the NHS number as the message says; any others the record had, kept.
    let (local_system, local_value) = update.local_identifier;
    let mut identifiers: Vec<Json> = patient
        .remove("identifier")
        .and_then(|identifiers| identifiers.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter(|identifier| {
            let system = identifier.get("system").and_then(Json::as_str);
            system != Some(local_system.as_str()) && system != Some(NHS_NUMBER_SYSTEM)
        })
        .collect();
    let stored_nhs = stored.and_then(|stored| {
        let identifiers = stored.get("identifier")?.as_array()?;
        identifiers.iter().find(|identifier| identifier.get("system").and_then(Json::as_str) == Some(NHS_NUMBER_SYSTEM))
    });
    let stored_number = stored_nhs.and_then(|identifier| identifier.get("value")?.as_str()).map(str::to_string);
    let stored_status = stored_nhs
        .and_then(|identifier| identifier.pointer("/extension/0/valueCodeableConcept/coding/0/code")?.as_str())
        .map(str::to_string);
    let number = update.nhs_number.apply_to(stored_number.clone());
    // A status belongs to its number: a new number starts with only the status this message gives.
    let status = if number == stored_number {
        update.verification_status.apply_to(stored_status)
    } else {
        update.verification_status.apply_to(None)
    };
    let nhs = number.map(|number| {
        let mut identifier = json!({ "system": NHS_NUMBER_SYSTEM, "value": number });
        if let Some(status) = status {
            identifier["extension"] = json!([{
                "url": VERIFICATION_STATUS_URL,
                "valueCodeableConcept": { "coding": [{ "system": VERIFICATION_STATUS_SYSTEM, "code": status }] }
            }]);
        }
        identifier
    });
    let mut all = Vec::new();
    all.extend(nhs);
    all.push(json!({ "system": local_system, "value": local_value }));
    all.append(&mut identifiers);
    patient.insert("identifier".into(), json!(all));
    let mut set = |key: &str, change: Change<Json>| {
        let stored = patient.remove(key);
        if let Some(value) = change.apply_to(stored) {
            patient.insert(key.into(), value);
        }
    };
    set("name", as_json(update.names, |names| json!(names)));
    set("birthDate", as_json(update.birth_date, |date| json!(date)));
    set("gender", as_json(update.gender, |gender| json!(gender)));
    set("address", as_json(update.addresses, |addresses| json!(addresses)));
    set(
        "generalPractitioner",
        as_json(
            update.general_practice,
            |code| json!([{ "type": "Organization", "identifier": { "system": ODS_CODE_SYSTEM, "value": code } }]),
        ),
    );
    let stored_telecom = patient.remove("telecom").and_then(|telecom| telecom.as_array().cloned()).unwrap_or_default();
    let (stored_work, stored_home): (Vec<Json>, Vec<Json>) =
        stored_telecom.into_iter().partition(|contact| contact.get("use").and_then(Json::as_str) == Some("work"));
    let nonempty = |contacts: Vec<Json>| (!contacts.is_empty()).then_some(contacts);
    let home = update.home_telecom.apply_to(nonempty(stored_home)).unwrap_or_default();
    let work = update.work_telecom.apply_to(nonempty(stored_work)).unwrap_or_default();
    let telecom: Vec<Json> = home.into_iter().chain(work).collect();
    if !telecom.is_empty() {
        patient.insert("telecom".into(), json!(telecom));
    }
    match update.deceased {
        Change::Keep => {}
        Change::Clear => {
            patient.remove("deceasedDateTime");
            patient.remove("deceasedBoolean");
        }
        Change::Set((key, value)) => {
            patient.remove("deceasedDateTime");
            patient.remove("deceasedBoolean");
            patient.insert(key, value);
        }
    }
    Json::Object(patient)
}

fn as_json<T>(change: Change<T>, to_json: impl FnOnce(T) -> Json) -> Change<Json> {
    match change {
        Change::Keep => Change::Keep,
        Change::Clear => Change::Clear,
        Change::Set(value) => Change::Set(to_json(value)),
    }
}
