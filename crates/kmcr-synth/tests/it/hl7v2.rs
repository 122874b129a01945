//! The HL7 v2 feeds of the synthetic region: every message is one KMCR accepts (it parses, names a sender of the
//! region, and maps to FHIR that passes validation, as `kmcr-service` maps it), each sender's MSH-10s are unique, and
//! the messages say what the same organisation's FHIR records say: its Patient, its visits, its results, its letters.

use std::collections::{BTreeMap, HashMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use expect_test::expect;
use kmcr_fhir::validate_resource;
use kmcr_hl7v2::Message;
use kmcr_hl7v2::fhir::clinical::{allergies, diagnoses, related_people};
use kmcr_hl7v2::fhir::documents::document_reference;
use kmcr_hl7v2::fhir::encounter::{apply_encounter, encounter_update};
use kmcr_hl7v2::fhir::patient::{apply_patient, patient_update};
use kmcr_hl7v2::fhir::results::result_resources;
use kmcr_synth::{Hl7v2Message, SourceBundle, hl7v2_senders, person_bundles, person_hl7v2_messages, sends_hl7v2};
use serde_json::{Value, json};

use crate::common::{SEED, config, entries, resource_type};

const N_PEOPLE: usize = 200;

/// What one source's messages became, mapped as `kmcr-service` maps them: the stored resources by type and id.
#[derive(Default)]
struct Mapped {
    resources: BTreeMap<(String, String), Value>,
}

impl Mapped {
    fn stored(&self, resource_type: &str, id: &str) -> Option<&Value> {
        self.resources.get(&(resource_type.to_string(), id.to_string()))
    }

    fn keep(&mut self, resource: Value, context: &str) {
        if let Err(error) = validate_resource(&resource) {
            panic!("{context}: {error}\n{resource:#}");
        }
        let resource_type = resource["resourceType"].as_str().expect("a type").to_string();
        let id = resource["id"].as_str().expect("an id").to_string();
        self.resources.insert((resource_type, id), resource);
    }

    fn of_type<'m>(&'m self, resource_type: &'m str) -> impl Iterator<Item = &'m Value> + 'm {
        self.resources.iter().filter(move |((kind, _), _)| kind == resource_type).map(|(_, resource)| resource)
    }
}

/// Parses and maps one message as the service does, keeping what it became; panics with the reason otherwise.
fn map_message(message: &Hl7v2Message, mapped: &mut Mapped, context: &str) {
    let text = kmcr_hl7v2::decode(message.text.as_bytes()).unwrap_or_else(|error| panic!("{context}: {error}"));
    let parsed = Message::parse(&text).unwrap_or_else(|error| panic!("{context}: {error}\n{}", show(&message.text)));
    let header = parsed.header();
    assert_eq!(header.text(3, 1), Some(message.sending_application.as_str()), "{context}");
    assert_eq!(header.text(4, 1), Some(message.ods_code), "{context}");
    assert_eq!(parsed.control_id(), Some(message.control_id.as_str()), "{context}");
    assert!(parsed.version().is_some_and(|version| version.starts_with("2.")), "{context}");
    let ods = message.ods_code;
    let fail = |error: kmcr_hl7v2::MessageError| -> ! {
        panic!("{context}: {} ({:?})\n{}", error.reason, error.location, show(&message.text))
    };
    let patient = patient_update(&parsed, ods).unwrap_or_else(|error| fail(error));
    let patient_id = patient.id.clone();
    let stored = mapped.stored("Patient", &patient_id).cloned();
    mapped.keep(apply_patient(patient, stored.as_ref()), context);
    match parsed.message_type() {
        (Some("ADT"), Some(_)) => {
            let update = encounter_update(&parsed, ods, &patient_id).unwrap_or_else(|error| fail(error));
            let update = update.unwrap_or_else(|| panic!("{context}: every ADT message here has a PV1"));
            let encounter_id = update.id.clone();
            let stored = mapped.stored("Encounter", &encounter_id).cloned();
            mapped.keep(apply_encounter(update, stored.as_ref()), context);
            for resource in allergies(&parsed, ods, &patient_id)
                .into_iter()
                .chain(diagnoses(&parsed, ods, &patient_id, Some(&encounter_id)))
                .chain(related_people(&parsed, ods, &patient_id))
            {
                mapped.keep(resource, context);
            }
        }
        (Some("ORU"), Some("R01")) => {
            let results = result_resources(&parsed, ods, &patient_id).unwrap_or_else(|error| fail(error));
            for resource in results.reports.into_iter().chain(results.observations) {
                mapped.keep(resource, context);
            }
        }
        (Some("MDM"), Some("T02")) => {
            mapped.keep(document_reference(&parsed, ods, &patient_id).unwrap_or_else(|error| fail(error)), context);
        }
        other => panic!("{context}: a message type KMCR does not map: {other:?}"),
    }
}

/// A message with one segment to a line.
fn show(text: &str) -> String {
    text.replace('\r', "\n")
}

/// The resources of a FHIR Bundle of `ods_code` among a person's Bundles.
fn fhir_resources<'b>(bundles: &'b [SourceBundle], ods_code: &str, kind: &'b str) -> Vec<&'b Value> {
    bundles
        .iter()
        .filter(|source| source.source_ods_code == ods_code)
        .flat_map(|source| entries(&source.bundle))
        .filter(|entry| resource_type(entry) == kind)
        .map(|entry| &entry["resource"])
        .collect()
}

#[test]
fn every_message_of_two_hundred_people_is_accepted_and_maps_to_valid_fhir() {
    let config = config(N_PEOPLE);
    let senders: HashSet<(String, String)> = hl7v2_senders()
        .into_iter()
        .map(|sender| (sender.sending_application, sender.sending_facility.to_string()))
        .collect();
    let mut control_ids = HashSet::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for person_idx in 0..N_PEOPLE {
        let mut mapped: HashMap<&str, Mapped> = HashMap::new();
        for (message_idx, message) in person_hl7v2_messages(&config, person_idx).iter().enumerate() {
            let context = format!("seed {SEED} person {person_idx} message {message_idx} ({})", message.control_id);
            assert!(message.text.ends_with('\r') && !message.text.contains('\n'), "{context}: segments end in CR");
            let sender = (message.sending_application.clone(), message.ods_code.to_string());
            assert!(senders.contains(&sender), "{context}: {sender:?} is one of hl7v2_senders()");
            assert!(message.control_id.len() <= 20, "{context}: MSH-10 is at most 20 characters in 2.4");
            assert!(control_ids.insert((sender, message.control_id.clone())), "{context}: MSH-10 used twice");
            *counts.entry(message.message_type.clone()).or_default() += 1;
            map_message(message, mapped.entry(message.ods_code).or_default(), &context);
        }
    }
    println!("{N_PEOPLE} people: {counts:?}");
    for kind in ["ADT^A01", "ADT^A02", "ADT^A03", "ADT^A04", "ADT^A08", "ORU^R01", "MDM^T02"] {
        assert!(counts.get(kind).copied().unwrap_or(0) > 0, "{N_PEOPLE} people send some {kind}: {counts:?}");
    }
}

/// Each acute and mental health source's messages say what its FHIR records say: the Patient (identifiers, NHS number
/// status, name, birth date, sex, postcode, practice), every visit's times, every laboratory value, every letter.
#[test]
fn messages_say_what_the_same_sources_fhir_records_say() {
    let config = config(N_PEOPLE);
    let mut n_sources = 0;
    for person_idx in 0..N_PEOPLE {
        let bundles = person_bundles(&config, person_idx);
        let messages = person_hl7v2_messages(&config, person_idx);
        for source in bundles.iter().filter(|source| {
            kmcr_synth::organisation(&source.source_ods_code).is_some_and(|organisation| sends_hl7v2(organisation.kind))
        }) {
            n_sources += 1;
            let ods = source.source_ods_code.as_str();
            let context = format!("seed {SEED} person {person_idx} {ods}");
            let mut mapped = Mapped::default();
            for message in messages.iter().filter(|message| message.ods_code == ods) {
                map_message(message, &mut mapped, &context);
            }
            compare_patient(&bundles, ods, &mapped, &context);
            compare_visits(&bundles, ods, &mapped, &context);
            compare_results(&bundles, ods, &mapped, &context);
            compare_documents(&bundles, ods, &mapped, &context);
        }
    }
    assert!(n_sources > N_PEOPLE / 4, "enough acute and mental health sources to compare: {n_sources}");
}

fn compare_patient(bundles: &[SourceBundle], ods: &str, mapped: &Mapped, context: &str) {
    let fhir = fhir_resources(bundles, ods, "Patient")[0];
    let patients: Vec<&Value> = mapped.of_type("Patient").collect();
    assert_eq!(patients.len(), 1, "{context}: one Patient, however many messages");
    let hl7 = patients[0];
    let nhs = |patient: &Value| {
        patient["identifier"]
            .as_array()
            .unwrap()
            .iter()
            .find(|identifier| identifier["system"] == "https://fhir.nhs.uk/Id/nhs-number")
            .map(|identifier| {
                (
                    identifier["value"].clone(),
                    identifier.pointer("/extension/0/valueCodeableConcept/coding/0/code").cloned(),
                )
            })
    };
    assert_eq!(nhs(hl7), nhs(fhir), "{context}: the NHS number and its verification status");
    let local = |patient: &Value| patient["identifier"].as_array().unwrap().last().unwrap()["value"].clone();
    assert_eq!(local(hl7), local(fhir), "{context}: the local record number");
    for pointer in ["/name/0/family", "/name/0/given", "/name/0/prefix", "/birthDate", "/gender", "/address/0/line"] {
        assert_eq!(hl7.pointer(pointer), fhir.pointer(pointer), "{context}: {pointer}");
    }
    for pointer in ["/address/0/city", "/address/0/district", "/address/0/postalCode"] {
        assert_eq!(hl7.pointer(pointer), fhir.pointer(pointer), "{context}: {pointer}");
    }
    let practice = fhir["generalPractitioner"][0]["reference"].as_str().unwrap().rsplit('|').next().unwrap();
    assert_eq!(hl7["generalPractitioner"][0]["identifier"]["value"], practice, "{context}: the GP practice");
    let phones = |patient: &Value| {
        let mut numbers: Vec<String> = patient["telecom"]
            .as_array()
            .map(|telecom| telecom.iter().map(|contact| contact["value"].as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        numbers.sort();
        numbers
    };
    assert_eq!(phones(hl7), phones(fhir), "{context}: the phone numbers");
}

fn compare_visits(bundles: &[SourceBundle], ods: &str, mapped: &Mapped, context: &str) {
    let periods = |encounters: Vec<&Value>| {
        let mut periods: Vec<(Value, Value)> = encounters
            .into_iter()
            .map(|encounter| (encounter["period"]["start"].clone(), encounter["period"]["end"].clone()))
            .collect();
        periods.sort_by_key(|period| format!("{period:?}"));
        periods
    };
    let hl7: Vec<&Value> = mapped.of_type("Encounter").collect();
    for encounter in &hl7 {
        assert_eq!(encounter["status"], "finished", "{context}: every visit ends with its A03");
    }
    assert_eq!(periods(hl7), periods(fhir_resources(bundles, ods, "Encounter")), "{context}: the visits");
    let codes = |conditions: Vec<&Value>| {
        let mut codes: Vec<Value> = conditions
            .into_iter()
            .filter(|condition| condition.get("encounter").is_some())
            .map(|condition| condition["code"]["coding"][0]["code"].clone())
            .collect();
        codes.sort_by_key(Value::to_string);
        codes
    };
    assert_eq!(
        codes(mapped.of_type("Condition").collect()),
        codes(fhir_resources(bundles, ods, "Condition")),
        "{context}: the visits' diagnoses"
    );
}

fn compare_results(bundles: &[SourceBundle], ods: &str, mapped: &Mapped, context: &str) {
    let results = |observations: Vec<&Value>| {
        let mut results: Vec<String> = observations
            .into_iter()
            .filter(|observation| observation["category"][0]["coding"][0]["code"] == "laboratory")
            .map(|observation| {
                json!([
                    observation["code"]["coding"][0]["code"],
                    observation["effectiveDateTime"],
                    observation["valueQuantity"]["value"],
                    observation["valueQuantity"]["code"],
                    observation["referenceRange"][0]["low"]["value"],
                    observation["referenceRange"][0]["high"]["value"],
                    observation["interpretation"][0]["coding"][0]["code"],
                ])
                .to_string()
            })
            .collect();
        results.sort();
        results
    };
    let hl7 = results(mapped.of_type("Observation").collect());
    assert_eq!(hl7, results(fhir_resources(bundles, ods, "Observation")), "{context}: the laboratory results");
    let n_lab_reports = fhir_resources(bundles, ods, "DiagnosticReport")
        .into_iter()
        .filter(|report| report["category"][0]["coding"][0]["code"] != "RAD")
        .count();
    assert_eq!(mapped.of_type("DiagnosticReport").count(), n_lab_reports, "{context}: the laboratory reports");
}

fn compare_documents(bundles: &[SourceBundle], ods: &str, mapped: &Mapped, context: &str) {
    let decoded = |data: &Value| {
        let bytes = STANDARD.decode(data.as_str().unwrap()).unwrap();
        String::from_utf8(bytes).unwrap().trim_end().to_string()
    };
    let mut hl7: Vec<String> = mapped
        .of_type("DocumentReference")
        .map(|document| decoded(&document["content"][0]["attachment"]["data"]))
        .collect();
    hl7.sort();
    let mut fhir: Vec<String> = fhir_resources(bundles, ods, "DocumentReference")
        .into_iter()
        .map(|document| decoded(&document["content"][0]["attachment"]["data"]))
        .collect();
    // A plan is sent as a document: its title, description and note, a line each.
    for plan in fhir_resources(bundles, ods, "CarePlan") {
        let mut text = format!("{}\n{}", plan["title"].as_str().unwrap(), plan["description"].as_str().unwrap());
        if let Some(note) = plan.pointer("/note/0/text").and_then(Value::as_str) {
            text = format!("{text}\n{note}");
        }
        fhir.push(text);
    }
    fhir.sort();
    assert_eq!(hl7, fhir, "{context}: the letters and plans");
}

#[test]
fn the_same_seed_and_person_give_the_same_messages() {
    let config = config(1_000);
    for person_idx in [0, 7, 999] {
        assert_eq!(person_hl7v2_messages(&config, person_idx), person_hl7v2_messages(&config, person_idx));
    }
    assert_eq!(
        person_hl7v2_messages(&config, 42),
        person_hl7v2_messages(&kmcr_synth::SynthConfig { seed: SEED, n_people: 50 }, 42)
    );
}

#[test]
fn the_region_names_a_pas_for_each_trust_and_a_laboratory_for_each_acute_trust() {
    let senders: Vec<String> = hl7v2_senders()
        .iter()
        .map(|sender| format!("{}|{} {}", sender.sending_application, sender.sending_facility, sender.message_types))
        .collect();
    expect![[r#"
        [
            "RWF-PAS|RWF ADT, MDM",
            "RWF-LAB|RWF ORU",
            "RVV-PAS|RVV ADT, MDM",
            "RVV-LAB|RVV ORU",
            "RPA-PAS|RPA ADT, MDM",
            "RPA-LAB|RPA ORU",
            "RN7-PAS|RN7 ADT, MDM",
            "RN7-LAB|RN7 ORU",
            "RXY-PAS|RXY ADT, MDM",
        ]
    "#]]
    .assert_debug_eq(&senders);
}

/// One person's messages as the two trusts that know them send them.
#[test]
fn one_persons_messages() {
    let config = config(N_PEOPLE);
    let person_idx = (0..N_PEOPLE)
        .find(|person_idx| {
            let messages = person_hl7v2_messages(&config, *person_idx);
            let kinds: HashSet<&str> = messages.iter().map(|message| message.message_type.as_str()).collect();
            let organisations: HashSet<&str> = messages.iter().map(|message| message.ods_code).collect();
            organisations.len() >= 2 && kinds.contains("ORU^R01") && kinds.contains("MDM^T02") && messages.len() <= 16
        })
        .expect("someone among the first people is known to two trusts, with results and a letter");
    let shown: Vec<String> =
        person_hl7v2_messages(&config, person_idx).iter().map(|message| show(&message.text)).collect();
    let shown = format!("person {person_idx}\n\n{}", shown.join("\n"));
    expect![[r#"
        person 47

        MSH|^~\&|RPA-PAS|RPA|KMCR|KMCR|201808150055+0000||ADT^A01^ADT_A01|MM5952618-M1|P|2.4|||AL|NE|GBR|UNICODE UTF-8
        EVN|A01|201808150055+0000
        PID|1||9998522889^^^NHS^NH~MM5952618^^^RPA^MR||Ball^Jennifer^Kathleen^^Miss^^L||19481217|F|||Meadow View^Windmill Hill^Sittingbourne^Kent^ME10 0QS^^H||01632 960606^PRN^PH|||||||||||||||||||NSTS01
        PD1|||Milton Regis Surgery^^G82015
        PV1|1|I|AMU^BAYB^5^RPA|E||||||418112009|||||||||MM5952618-1|||||||||||||||||||||||||201808150055+0000

        MSH|^~\&|RPA-LAB|RPA|KMCR|KMCR|201808150448+0000||ORU^R01^ORU_R01|MM5952618-M2|P|2.4|||AL|NE|GBR|UNICODE UTF-8
        PID|1||9998522889^^^NHS^NH~MM5952618^^^RPA^MR||Ball^Jennifer^Kathleen^^Miss^^L||19481217|F|||Meadow View^Windmill Hill^Sittingbourne^Kent^ME10 0QS^^H||01632 960606^PRN^PH|||||||||||||||||||NSTS01
        PD1|||Milton Regis Surgery^^G82015
        PV1|1|I|||||||||||||||||MM5952618-1
        ORC|RE||MM5952618-10||CM
        OBR|1||MM5952618-10|24362-6^Renal function 2000 panel - Serum or Plasma^LN|||201808150253+0000|||||||||||||||201808150448+0000||CH|F
        OBX|1|NM|2951-2^Sodium [Moles/volume] in Serum or Plasma^LN||139.8|mmol/L^mmol/L^UCUM|133-146|N|||F|||201808150253+0000
        OBX|2|NM|2823-3^Potassium [Moles/volume] in Serum or Plasma^LN||4.6|mmol/L^mmol/L^UCUM|3.5-5.3|N|||F|||201808150253+0000
        OBX|3|NM|14682-9^Creatinine [Moles/volume] in Serum or Plasma^LN||88.4|umol/L^umol/L^UCUM|45-110|N|||F|||201808150253+0000

        MSH|^~\&|RPA-LAB|RPA|KMCR|KMCR|201808150606+0000||ORU^R01^ORU_R01|MM5952618-M3|P|2.4|||AL|NE|GBR|UNICODE UTF-8
        PID|1||9998522889^^^NHS^NH~MM5952618^^^RPA^MR||Ball^Jennifer^Kathleen^^Miss^^L||19481217|F|||Meadow View^Windmill Hill^Sittingbourne^Kent^ME10 0QS^^H||01632 960606^PRN^PH|||||||||||||||||||NSTS01
        PD1|||Milton Regis Surgery^^G82015
        PV1|1|I|||||||||||||||||MM5952618-1
        ORC|RE||MM5952618-6||CM
        OBR|1||MM5952618-6|58410-2^CBC panel - Blood by Automated count^LN^26604007^Complete blood count^SCT|||201808150253+0000|||||||||||||||201808150606+0000||HM|F
        OBX|1|NM|718-7^Hemoglobin [Mass/volume] in Blood^LN||142.8|g/L^g/L^UCUM|115-170|N|||F|||201808150253+0000
        OBX|2|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||4.5|10*9/L^10*9/L^UCUM|4-11|N|||F|||201808150253+0000
        OBX|3|NM|777-3^Platelets [#/volume] in Blood by Automated count^LN||436.1|10*9/L^10*9/L^UCUM|150-400|H|||F|||201808150253+0000

        MSH|^~\&|RPA-PAS|RPA|KMCR|KMCR|201808152351+0000||ADT^A02^ADT_A02|MM5952618-M4|P|2.4|||AL|NE|GBR|UNICODE UTF-8
        EVN|A02|201808152351+0000
        PID|1||9998522889^^^NHS^NH~MM5952618^^^RPA^MR||Ball^Jennifer^Kathleen^^Miss^^L||19481217|F|||Meadow View^Windmill Hill^Sittingbourne^Kent^ME10 0QS^^H||01632 960606^PRN^PH|||||||||||||||||||NSTS01
        PD1|||Milton Regis Surgery^^G82015
        PV1|1|I|RESP^BAYF^5^RPA|E||AMU^BAYB^5^RPA||||418112009|||||||||MM5952618-1|||||||||||||||||||||||||201808150055+0000

        MSH|^~\&|RPA-PAS|RPA|KMCR|KMCR|201808201055+0000||ADT^A03^ADT_A03|MM5952618-M5|P|2.4|||AL|NE|GBR|UNICODE UTF-8
        EVN|A03|201808201055+0000
        PID|1||9998522889^^^NHS^NH~MM5952618^^^RPA^MR||Ball^Jennifer^Kathleen^^Miss^^L||19481217|F|||Meadow View^Windmill Hill^Sittingbourne^Kent^ME10 0QS^^H||01632 960606^PRN^PH|||||||||||||||||||NSTS01
        PD1|||Milton Regis Surgery^^G82015
        PV1|1|I|RESP^BAYF^5^RPA|E||||||418112009|||||||||MM5952618-1|||||||||||||||||||||||||201808150055+0000|201808201055+0000
        DG1|1||233604007^Pneumonia^SCT||20180815|F

        MSH|^~\&|RPA-PAS|RPA|KMCR|KMCR|201808201055+0000||MDM^T02^MDM_T02|MM5952618-M6|P|2.4|||AL|NE|GBR|UNICODE UTF-8
        EVN|T02|201808201055+0000
        PID|1||9998522889^^^NHS^NH~MM5952618^^^RPA^MR||Ball^Jennifer^Kathleen^^Miss^^L||19481217|F|||Meadow View^Windmill Hill^Sittingbourne^Kent^ME10 0QS^^H||01632 960606^PRN^PH|||||||||||||||||||NSTS01
        PD1|||Milton Regis Surgery^^G82015
        PV1|1|I|||||||||||||||||MM5952618-1
        TXA|1|373942005^Discharge summary|TX|201808201055+0000||201808201055+0000||||||MM5952618-12|||||AU
        OBX|1|TX|373942005^Discharge summary^SCT||DISCHARGE SUMMARY||||||F
        OBX|2|TX|373942005^Discharge summary^SCT||Medway NHS Foundation Trust||||||F
        OBX|3|TX|373942005^Discharge summary^SCT||Patient: Jennifer Kathleen BALL, born 1948-12-17, NHS number 999 852 2889||||||F
        OBX|4|TX|373942005^Discharge summary^SCT||Admitted: 2018-08-15 (emergency) under Pulmonary medicine||||||F
        OBX|5|TX|373942005^Discharge summary^SCT||Diagnosis: Pneumonia||||||F
        OBX|6|TX|373942005^Discharge summary^SCT||Discharged: 2018-08-20 to usual place of residence after 5 nights.||||||F
        OBX|7|TX|373942005^Discharge summary^SCT||Actions for GP: review in two weeks; medicines reconciled on discharge.||||||F

        MSH|^~\&|RPA-PAS|RPA|KMCR|KMCR|202501021820+0000||ADT^A04^ADT_A01|MM5952618-M7|P|2.4|||AL|NE|GBR|UNICODE UTF-8
        EVN|A04|202501021820+0000
        PID|1||9998522889^^^NHS^NH~MM5952618^^^RPA^MR||Ball^Jennifer^Kathleen^^Miss^^L||19481217|F|||Meadow View^Windmill Hill^Sittingbourne^Kent^ME10 0QS^^H||01632 960606^PRN^PH|||||||||||||||||||NSTS01
        PD1|||Milton Regis Surgery^^G82015
        PV1|1|E|ED^MAJORS^CUB2^RPA||||||||||||||||MM5952618-13|||||||||||||||||||||||||202501021820+0000

        MSH|^~\&|RPA-PAS|RPA|KMCR|KMCR|202501021954+0000||ADT^A03^ADT_A03|MM5952618-M8|P|2.4|||AL|NE|GBR|UNICODE UTF-8
        EVN|A03|202501021954+0000
        PID|1||9998522889^^^NHS^NH~MM5952618^^^RPA^MR||Ball^Jennifer^Kathleen^^Miss^^L||19481217|F|||Meadow View^Windmill Hill^Sittingbourne^Kent^ME10 0QS^^H||01632 960606^PRN^PH|||||||||||||||||||NSTS01
        PD1|||Milton Regis Surgery^^G82015
        PV1|1|E|ED^MAJORS^CUB2^RPA||||||||||||||||MM5952618-13|||||||||||||||||||||||||202501021820+0000|202501021954+0000
        DG1|1||230145002^Difficulty breathing^SCT||20250102|F

        MSH|^~\&|RN7-PAS|RN7|KMCR|KMCR|202307290535+0000||ADT^A04^ADT_A01|DV6798516-M1|P|2.4|||AL|NE|GBR|UNICODE UTF-8
        EVN|A04|202307290535+0000
        PID|1||9998522889^^^NHS^NH~DV6798516^^^RN7^MR||Ball^Jennifer^Kathleen^^Miss^^L||19481217|F|||Meadow View^Windmill Hill^Sittingbourne^Kent^ME10 0QS^^H|||||||||||||||||||||NSTS01
        PD1|||Milton Regis Surgery^^G82015
        PV1|1|E|ED^MAJORS^CUB17^RN7||||||||||||||||DV6798516-1|||||||||||||||||||||||||202307290535+0000

        MSH|^~\&|RN7-PAS|RN7|KMCR|KMCR|202307290733+0000||ADT^A03^ADT_A03|DV6798516-M2|P|2.4|||AL|NE|GBR|UNICODE UTF-8
        EVN|A03|202307290733+0000
        PID|1||9998522889^^^NHS^NH~DV6798516^^^RN7^MR||Ball^Jennifer^Kathleen^^Miss^^L||19481217|F|||Meadow View^Windmill Hill^Sittingbourne^Kent^ME10 0QS^^H|||||||||||||||||||||NSTS01
        PD1|||Milton Regis Surgery^^G82015
        PV1|1|E|ED^MAJORS^CUB17^RN7||||||||||||||||DV6798516-1|||||||||||||||||||||||||202307290535+0000|202307290733+0000
        DG1|1||82271004^Injury of head^SCT||20230729|F
    "#]].assert_eq(&shown);
}
