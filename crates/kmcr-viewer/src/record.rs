//! A person's record as the summary shows it, read from the resources the service layer returned (already decided:
//! everything here is the caller's to see). Pure: no I/O, so each rule is tested on its own.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::fhir_values::{code_in, concept_text, date_part, first_date, has_code, observation_value, person_name};

const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
const SNOMED: &str = "http://snomed.info/sct";
const DMD: &str = "https://dmd.nhs.uk";

/// Treatment escalation and advance care plans (SNOMED CT): ReSPECT, TEP, end of life, advance care, mental health
/// crisis, DNACPR.
pub const ESCALATION_PLAN_CODES: [&str; 6] =
    ["1382601000000107", "735324008", "736373009", "736366004", "736253002", "304253006"];

/// One resource as returned, with the organisation that sent it.
pub struct Item {
    pub resource_type: String,
    pub id: String,
    pub json: Value,
    /// The sending organisation's name (or ODS code when the registry does not know it).
    pub source: String,
}

/// The person's identifying details, from their records (the record asked for first, gaps filled from the others).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Banner {
    pub name: String,
    pub nhs_number: Option<String>,
    pub birth_date: Option<String>,
    pub gender: Option<String>,
    pub address: Option<String>,
    pub registered_practice: Option<String>,
    /// The organisations that hold a record of the person.
    pub known_to: Vec<String>,
}

/// A line of the summary: what, when, and from whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub id: String,
    pub text: String,
    pub detail: Option<String>,
    pub date: Option<String>,
    pub sources: Vec<String>,
}

#[derive(Default)]
pub struct PersonRecord {
    pub banner: Banner,
    pub safeguarding: Vec<Line>,
    pub alerts: Vec<Line>,
    pub allergies: Vec<Line>,
    pub problems: Vec<Line>,
    pub medications: Vec<Line>,
    pub encounters: Vec<Line>,
    pub results: Vec<Line>,
    pub escalation_plans: Vec<Line>,
    pub care_plans: Vec<Line>,
    pub social_care: Vec<Line>,
    pub related_people: Vec<Line>,
    pub care_team: Vec<Line>,
    pub documents: Vec<Line>,
}

/// Encounters and results the summary lists at most (the sections list them all).
pub const RECENT: usize = 10;

impl PersonRecord {
    /// The summary of `items`, with `asked_patient_id` the record the user opened.
    pub fn of(items: &[Item], asked_patient_id: &str) -> PersonRecord {
        let mut record = PersonRecord { banner: banner(items, asked_patient_id), ..PersonRecord::default() };
        let mut medicines: BTreeMap<String, Line> = BTreeMap::new();
        let organisations = organisations(items);
        for item in items {
            let json = &item.json;
            let line = |text: Option<String>, detail: Option<String>, date: Option<String>| Line {
                id: item.id.clone(),
                text: text.unwrap_or_else(|| format!("{} (no description)", item.resource_type)),
                detail,
                date,
                sources: vec![item.source.clone()],
            };
            match item.resource_type.as_str() {
                "Flag" if json["status"] == "active" => {
                    let text = concept_text(&json["code"]);
                    let date = first_date(json, &[&["period", "start"]]);
                    // Shown before anything else: the same flags the safeguarding topic fires on (child protection
                    // plan, looked-after child, vulnerable adult, or category `safety` or CP-IS, which is how an
                    // unborn child on a pre-birth plan arrives from CP-IS, whatever code the council gives it).
                    let is_safeguarding = kmcr_events::conditions::is_safeguarding_flag(json);
                    let flag = line(text, responsible_team(&json["author"], &organisations), date);
                    if is_safeguarding { record.safeguarding.push(flag) } else { record.alerts.push(flag) }
                }
                "AllergyIntolerance" if !is_refuted_or_resolved(json) => {
                    let reactions: Vec<String> = json["reaction"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .flat_map(|reaction| reaction["manifestation"].as_array().into_iter().flatten())
                        .filter_map(concept_text)
                        .collect();
                    let detail = (!reactions.is_empty()).then(|| format!("Reaction: {}", reactions.join(", ")));
                    let date = first_date(json, &[&["recordedDate"], &["onsetDateTime"]]);
                    record.allergies.push(line(concept_text(&json["code"]), detail, date));
                }
                "Condition" if is_active(json) => {
                    let date = first_date(json, &[&["onsetDateTime"], &["onsetPeriod", "start"], &["recordedDate"]]);
                    record.problems.push(line(concept_text(&json["code"]), None, date));
                }
                "MedicationStatement" | "MedicationRequest" if is_current_medicine(json) => {
                    let concept = &json["medicationCodeableConcept"];
                    let text = concept_text(concept);
                    let dosage =
                        json["dosage"][0]["text"].as_str().or_else(|| json["dosageInstruction"][0]["text"].as_str());
                    let date = first_date(json, &[&["effectivePeriod", "start"], &["authoredOn"], &["dateAsserted"]]);
                    let key = code_in(concept, DMD)
                        .or_else(|| code_in(concept, SNOMED))
                        .or_else(|| text.clone())
                        .unwrap_or_else(|| item.id.clone());
                    let new_line = line(text, dosage.map(str::to_string), date);
                    merge_medicine(&mut medicines, key, new_line);
                }
                "Encounter" => {
                    let text = json["type"][0]
                        .as_object()
                        .map(|_| &json["type"][0])
                        .and_then(concept_text)
                        .or_else(|| json["class"]["display"].as_str().map(str::to_string))
                        .or_else(|| json["class"]["code"].as_str().map(str::to_string));
                    let date = first_date(json, &[&["period", "start"]]);
                    let status = json["status"].as_str().map(|status| format!("Status: {status}"));
                    record.encounters.push(line(text, status, date));
                }
                "Observation" => {
                    let date = first_date(json, &[&["effectiveDateTime"], &["effectivePeriod", "start"], &["issued"]]);
                    record.results.push(line(concept_text(&json["code"]), observation_value(json), date));
                }
                "CarePlan" | "DocumentReference" if is_escalation_plan(json) => {
                    let text = concept_text(&json["category"][0])
                        .or_else(|| concept_text(&json["type"]))
                        .or_else(|| json["title"].as_str().map(str::to_string));
                    let date = first_date(json, &[&["period", "start"], &["created"], &["date"]]);
                    record.escalation_plans.push(line(text, json["description"].as_str().map(str::to_string), date));
                }
                "CarePlan" if json["status"] == "active" => {
                    let text =
                        json["title"].as_str().map(str::to_string).or_else(|| concept_text(&json["category"][0]));
                    let date = first_date(json, &[&["period", "start"], &["created"]]);
                    record.care_plans.push(line(text, json["description"].as_str().map(str::to_string), date));
                }
                "EpisodeOfCare" => {
                    let text = concept_text(&json["type"][0])
                        .or_else(|| json["managingOrganization"]["display"].as_str().map(str::to_string));
                    let date = first_date(json, &[&["period", "start"]]);
                    let status = json["status"].as_str().map(|status| format!("Status: {status}"));
                    record.social_care.push(line(text, status, date));
                }
                "RelatedPerson" => {
                    let relationship = concept_text(&json["relationship"][0]);
                    let phone = json["telecom"]
                        .as_array()
                        .and_then(|telecom| telecom.iter().find_map(|point| point["value"].as_str()));
                    let detail = match (relationship, phone) {
                        (Some(relationship), Some(phone)) => Some(format!("{relationship}, {phone}")),
                        (relationship, phone) => relationship.or(phone.map(str::to_string)),
                    };
                    record.related_people.push(line(person_name(json), detail, None));
                }
                "CareTeam" if json["status"] != "inactive" => {
                    let members: Vec<String> = json["participant"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|participant| participant["member"]["display"].as_str().map(str::to_string))
                        .collect();
                    let detail = (!members.is_empty()).then(|| members.join(", "));
                    record.care_team.push(line(
                        json["name"].as_str().map(str::to_string),
                        detail,
                        first_date(json, &[&["period", "start"]]),
                    ));
                }
                "DocumentReference" => {
                    let text = json["description"].as_str().map(str::to_string).or_else(|| concept_text(&json["type"]));
                    record.documents.push(line(text, concept_text(&json["type"]), first_date(json, &[&["date"]])));
                }
                _ => {}
            }
        }
        record.medications = medicines.into_values().collect();
        for lines in [
            &mut record.safeguarding,
            &mut record.alerts,
            &mut record.allergies,
            &mut record.problems,
            &mut record.medications,
            &mut record.encounters,
            &mut record.results,
            &mut record.escalation_plans,
            &mut record.care_plans,
            &mut record.social_care,
            &mut record.care_team,
            &mut record.documents,
        ] {
            // Newest first; undated last.
            lines.sort_by(|first, second| second.date.cmp(&first.date));
        }
        record
    }
}

/// Organisations returned with the record (those its items refer to): id to name and telephone.
fn organisations(items: &[Item]) -> BTreeMap<String, (Option<String>, Option<String>)> {
    items
        .iter()
        .filter(|item| item.resource_type == "Organization")
        .map(|item| {
            let name = item.json["name"].as_str().map(str::to_string);
            let phone = item.json["telecom"].as_array().and_then(|telecom| {
                telecom.iter().find(|point| point["system"] == "phone")?["value"].as_str().map(str::to_string)
            });
            (item.id.clone(), (name, phone))
        })
        .collect()
}

/// Who is responsible for a flag and how to contact them: its author's name, and telephone where the record holds
/// the author's Organization.
fn responsible_team(
    author: &Value,
    organisations: &BTreeMap<String, (Option<String>, Option<String>)>,
) -> Option<String> {
    let known =
        author["reference"].as_str().and_then(|reference| organisations.get(reference.strip_prefix("Organization/")?));
    let name = author["display"].as_str().map(str::to_string).or_else(|| known.and_then(|(name, _)| name.clone()));
    let phone = known.and_then(|(_, phone)| phone.clone());
    match (name, phone) {
        (Some(name), Some(phone)) => Some(format!("{name}, telephone {phone}")),
        (Some(name), None) => Some(name),
        (None, Some(phone)) => Some(format!("telephone {phone}")),
        (None, None) => None,
    }
}

/// The same medicine from several sources is one line naming each source (newest date kept).
fn merge_medicine(medicines: &mut BTreeMap<String, Line>, key: String, line: Line) {
    match medicines.get_mut(&key) {
        Some(existing) => {
            for source in line.sources {
                if !existing.sources.contains(&source) {
                    existing.sources.push(source);
                }
            }
            if line.date > existing.date {
                existing.date = line.date;
            }
            if existing.detail.is_none() {
                existing.detail = line.detail;
            }
        }
        None => {
            medicines.insert(key, line);
        }
    }
}

fn is_active(resource: &Value) -> bool {
    let status = code_in(&resource["clinicalStatus"], "http://terminology.hl7.org/CodeSystem/condition-clinical");
    let refuted =
        code_in(&resource["verificationStatus"], "http://terminology.hl7.org/CodeSystem/condition-ver-status")
            .is_some_and(|status| status == "refuted" || status == "entered-in-error");
    !refuted && status.as_deref().is_none_or(|status| matches!(status, "active" | "recurrence" | "relapse"))
}

fn is_refuted_or_resolved(resource: &Value) -> bool {
    let status =
        code_in(&resource["clinicalStatus"], "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical");
    let verification = code_in(
        &resource["verificationStatus"],
        "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
    );
    status.is_some_and(|status| status != "active")
        || verification.is_some_and(|status| status == "refuted" || status == "entered-in-error")
}

/// A medicine taken now: an active statement, or a repeat prescription not stopped.
fn is_current_medicine(resource: &Value) -> bool {
    match resource["resourceType"].as_str() {
        Some("MedicationStatement") => resource["status"] == "active",
        _ => {
            matches!(resource["status"].as_str(), Some("active" | "completed"))
                && has_code(&resource["courseOfTherapyType"], &["continuous"])
        }
    }
}

fn is_escalation_plan(resource: &Value) -> bool {
    let categories = resource["category"].as_array().into_iter().flatten();
    categories.chain(std::iter::once(&resource["type"])).any(|concept| has_code(concept, &ESCALATION_PLAN_CODES))
}

fn banner(items: &[Item], asked_patient_id: &str) -> Banner {
    let mut patients: Vec<&Item> = items.iter().filter(|item| item.resource_type == "Patient").collect();
    // The record asked for first, then the others as they came.
    patients.sort_by_key(|item| item.id != asked_patient_id);
    let mut banner = Banner::default();
    for patient in &patients {
        let json = &patient.json;
        if banner.name.is_empty() {
            banner.name = person_name(json).unwrap_or_default();
        }
        if banner.nhs_number.is_none() {
            banner.nhs_number = json["identifier"].as_array().and_then(|identifiers| {
                identifiers.iter().find(|identifier| identifier["system"] == NHS_NUMBER_SYSTEM)?["value"]
                    .as_str()
                    .map(str::to_string)
            });
        }
        if banner.birth_date.is_none() {
            banner.birth_date = date_part(&json["birthDate"]);
        }
        if banner.gender.is_none() {
            banner.gender = json["gender"].as_str().map(str::to_string);
        }
        if banner.address.is_none() {
            banner.address = json["address"].as_array().and_then(|addresses| {
                let address =
                    addresses.iter().find(|address| address["use"] == "home").or_else(|| addresses.first())?;
                address_text(address)
            });
        }
        if banner.registered_practice.is_none() {
            banner.registered_practice = json["generalPractitioner"].as_array().and_then(|practices| {
                practices.iter().find_map(|practice| {
                    practice["display"]
                        .as_str()
                        .map(str::to_string)
                        .or_else(|| practice["identifier"]["value"].as_str().map(str::to_string))
                })
            });
        }
        if !banner.known_to.contains(&patient.source) {
            banner.known_to.push(patient.source.clone());
        }
    }
    if banner.name.is_empty() {
        banner.name = "Name not recorded".into();
    }
    banner
}

fn address_text(address: &Value) -> Option<String> {
    if let Some(text) = address["text"].as_str() {
        return Some(text.to_string());
    }
    let mut parts: Vec<&str> = address["line"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    parts.extend(["city", "district", "postalCode"].iter().filter_map(|key| address[*key].as_str()));
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// `9434765919` as `943 476 5919`; anything else as given.
pub fn nhs_number_display(digits: &str) -> String {
    if digits.len() == 10 && digits.bytes().all(|byte| byte.is_ascii_digit()) {
        format!("{} {} {}", &digits[..3], &digits[3..6], &digits[6..])
    } else {
        digits.to_string()
    }
}

/// Age in whole years at `today` (both `YYYY-MM-DD`).
pub fn age_on(birth_date: &str, today: &str) -> Option<i64> {
    let parse = |date: &str| -> Option<(i64, i64, i64)> {
        let mut parts = date.splitn(3, '-');
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.get(..2)?.parse().ok()?))
    };
    let (birth_year, birth_month, birth_day) = parse(birth_date)?;
    let (year, month, day) = parse(today)?;
    let had_birthday = (month, day) >= (birth_month, birth_day);
    Some(year - birth_year - i64::from(!had_birthday))
}
