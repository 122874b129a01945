//! PID and PD1 to a UK Core Patient, shown as it comes out; an update keeps what it omits and clears what it sets to
//! `""`.

use expect_test::expect;
use kmcr_hl7v2::Message;
use kmcr_hl7v2::fhir::patient::{apply_patient, patient_update};
use serde_json::json;

const HEADER: &str = "MSH|^~\\&|PAS|RVV|KMCR|KMCR|20261207101500||ADT^A01^ADT_A01|MSG-1|P|2.4";

/// A PID segment with these fields set (numbered as HL7 numbers them), the others omitted.
fn pid(fields: &[(usize, &str)]) -> String {
    let last = fields.iter().map(|(number, _)| *number).max().unwrap_or(1);
    let values: Vec<&str> = (1..=last)
        .map(|number| fields.iter().find(|(field, _)| *field == number).map_or("", |(_, value)| *value))
        .collect();
    format!("PID|{}", values.join("|"))
}

fn update_of(segments: &str) -> kmcr_hl7v2::fhir::patient::PatientUpdate {
    let message = Message::parse(&format!("{HEADER}\r{segments}")).unwrap();
    patient_update(&message, "RVV").unwrap_or_else(|error| panic!("{error:?}"))
}

const ADMISSION: &str = "EVN|A01|20261207101500\r\
PID|1||9434765919^^^NHS^NH~RVV123456^^^RVV^MR||Ashdown^Alex^James^^Mrs^^L~Smith^Alex^^^^^M||19610402|F|||\
1 High Street^Flat 2^Maidstone^Kent^ME14 2LL^GBR^H||01622 123456^PRN^PH|07700 900123^WPN^CP||||||||||||||||||NSTS01\r\
PD1|||Bower Mount Medical Practice^^G82001\r\
PV1|1|I|RVV-WARD-1";

#[test]
fn an_admission_s_patient_in_uk_core() {
    let patient = apply_patient(update_of(ADMISSION), None);
    expect![[r#"
        {
          "resourceType": "Patient",
          "id": "hl7-d54aaf0abed2909daf0958a4d4eba084",
          "identifier": [
            {
              "system": "https://fhir.nhs.uk/Id/nhs-number",
              "value": "9434765919",
              "extension": [
                {
                  "url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus",
                  "valueCodeableConcept": {
                    "coding": [
                      {
                        "system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland",
                        "code": "01"
                      }
                    ]
                  }
                }
              ]
            },
            {
              "system": "https://fhir.kmcr.nhs.uk/Id/RVV/RVV",
              "value": "RVV123456"
            }
          ],
          "name": [
            {
              "use": "official",
              "family": "Ashdown",
              "given": [
                "Alex",
                "James"
              ],
              "prefix": [
                "Mrs"
              ]
            },
            {
              "use": "maiden",
              "family": "Smith",
              "given": [
                "Alex"
              ]
            }
          ],
          "birthDate": "1961-04-02",
          "gender": "female",
          "address": [
            {
              "use": "home",
              "line": [
                "1 High Street",
                "Flat 2"
              ],
              "city": "Maidstone",
              "district": "Kent",
              "postalCode": "ME14 2LL",
              "country": "GBR"
            }
          ],
          "generalPractitioner": [
            {
              "type": "Organization",
              "identifier": {
                "system": "https://fhir.nhs.uk/Id/ods-organization-code",
                "value": "G82001"
              }
            }
          ],
          "telecom": [
            {
              "system": "phone",
              "value": "01622 123456",
              "use": "home"
            },
            {
              "system": "phone",
              "value": "07700 900123",
              "use": "work"
            }
          ]
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&patient).unwrap());
}

#[test]
fn an_update_keeps_what_it_omits_and_clears_what_it_empties() {
    let admitted = apply_patient(update_of(ADMISSION), None);
    // An A08 that omits the address and the GP, empties the phones, and names a new family name.
    let update = update_of("PID|1||9434765919^^^NHS^NH~RVV123456^^^RVV^MR||Brenchley^Alex||19610402|F|||||\"\"|\"\"");
    let updated = apply_patient(update, Some(&admitted));
    assert_eq!(updated["id"], admitted["id"], "the same local record, the same Patient");
    assert_eq!(updated["address"], admitted["address"], "omitted: kept");
    assert_eq!(updated["generalPractitioner"], admitted["generalPractitioner"], "no PD1: kept");
    assert!(updated.get("telecom").is_none(), "\"\": cleared");
    // A message giving only a business phone keeps the home phones.
    let with_phones =
        apply_patient(update_of(&pid(&[(3, "RVV123456^^^RVV^MR"), (14, "01632 960001^WPN^PH")])), Some(&admitted));
    assert_eq!(
        with_phones["telecom"],
        json!([{ "system": "phone", "value": "01622 123456", "use": "home" }, { "system": "phone", "value": "01632 960001", "use": "work" }])
    );
    assert_eq!(updated["name"], json!([{ "use": "official", "family": "Brenchley", "given": ["Alex"] }]));
    assert_eq!(updated["identifier"][0]["value"], "9434765919");
    assert_eq!(
        updated["identifier"][0]["extension"], admitted["identifier"][0]["extension"],
        "PID-32 omitted: the number's verification status is kept"
    );
    // A death, then its correction.
    let record = (3, "RVV123456^^^RVV^MR");
    let died = apply_patient(update_of(&pid(&[record, (29, "202612070930+0000"), (30, "Y")])), Some(&updated));
    assert_eq!(died["deceasedDateTime"], "2026-12-07T09:30:00+00:00");
    let corrected = apply_patient(update_of(&pid(&[record, (29, "\"\""), (30, "N")])), Some(&died));
    assert!(corrected.get("deceasedDateTime").is_none(), "{corrected}");
    assert!(
        corrected["identifier"].as_array().unwrap().iter().all(|identifier| identifier["value"] != "9434765919"),
        "PID-3 lists no NHS number now: none is known"
    );
}

#[test]
fn a_patient_that_cannot_be_named_is_refused_with_the_field_and_reason() {
    let message = Message::parse(&format!("{HEADER}\rPID|1||9434765918^^^NHS^NH~R1^^^RVV^MR||X^Y")).unwrap();
    let error = patient_update(&message, "RVV").unwrap_err();
    let location = error.location.unwrap();
    assert_eq!((location.segment_id.as_str(), location.segment_position, location.field), ("PID", 2, Some(3)));
    assert_eq!(error.code, "102");
    assert!(error.reason.contains("Modulus 11"), "{}", error.reason);
    assert!(!error.reason.contains("9434765918"), "the reason names the rule, not the number");
    let message = Message::parse(&format!("{HEADER}\rPID|1||9434765919^^^NHS^NH||X^Y")).unwrap();
    assert_eq!(patient_update(&message, "RVV").unwrap_err().code, "101", "no local record number");
    let message = Message::parse(&format!("{HEADER}\rEVN|A01")).unwrap();
    assert_eq!(patient_update(&message, "RVV").unwrap_err().code, "100", "no PID");
}

#[test]
fn every_shared_adt_sample_maps_or_is_refused_at_pid_3() {
    let mut mapped = 0;
    for (name, message) in crate::samples::shared_messages() {
        if !name.starts_with("ADT") {
            continue;
        }
        match patient_update(&message, "RVV") {
            Ok(update) => {
                let patient = apply_patient(update, None);
                assert!(patient["id"].as_str().unwrap().starts_with("hl7-"), "{name}");
                mapped += 1;
            }
            Err(error) => {
                let field = error.location.as_ref().and_then(|location| location.field);
                assert!(field == Some(3) || error.code == "100", "{name}: {error:?}");
            }
        }
    }
    assert!(mapped >= 40, "{mapped} ADT samples mapped");
}
