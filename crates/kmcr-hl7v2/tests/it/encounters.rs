//! PV1 and the trigger event to a UK Core Encounter; events of one visit, in any order, update one Encounter.

use expect_test::expect;
use kmcr_hl7v2::Message;
use kmcr_hl7v2::fhir::encounter::{apply_encounter, encounter_update};
use serde_json::Value;

/// A PV1 segment with these fields set, the others omitted.
fn pv1(fields: &[(usize, &str)]) -> String {
    let last = fields.iter().map(|(number, _)| *number).max().unwrap_or(1);
    let values: Vec<&str> = (1..=last)
        .map(|number| fields.iter().find(|(field, _)| *field == number).map_or("", |(_, value)| *value))
        .collect();
    format!("PV1|{}", values.join("|"))
}

fn event(trigger: &str, pv1_segment: &str, stored: Option<&Value>) -> Value {
    let text = format!(
        "MSH|^~\\&|PAS|RVV|KMCR|KMCR|20261207101500||ADT^{trigger}^ADT_A01|M-{trigger}|P|2.4\rPID|1||R1^^^RVV^MR\r{pv1_segment}"
    );
    let message = Message::parse(&text).unwrap();
    let update = encounter_update(&message, "RVV", "hl7-patient").unwrap().expect("a PV1");
    apply_encounter(update, stored)
}

const VISIT: (usize, &str) = (19, "V0001");

#[test]
fn an_admission_s_encounter_in_uk_core() {
    let admitted = event(
        "A01",
        &pv1(&[
            (1, "1"),
            (2, "I"),
            (3, "WARD7^BAY2^BED3^RVV"),
            (7, "C1234^Osborne^Jane^^^Dr"),
            (14, "Emergency department"),
            VISIT,
            (44, "202612070815+0000"),
        ]),
        None,
    );
    expect![[r#"
        {
          "resourceType": "Encounter",
          "id": "hl7-e63ee87828068e984488246f61b90f5e",
          "identifier": [
            {
              "system": "https://fhir.kmcr.nhs.uk/Id/RVV/visit",
              "value": "V0001"
            }
          ],
          "status": "in-progress",
          "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "IMP",
            "display": "inpatient encounter"
          },
          "subject": {
            "reference": "Patient/hl7-patient"
          },
          "serviceProvider": {
            "identifier": {
              "system": "https://fhir.nhs.uk/Id/ods-organization-code",
              "value": "RVV"
            }
          },
          "period": {
            "start": "2026-12-07T08:15:00+00:00"
          },
          "location": [
            {
              "location": {
                "display": "WARD7, BAY2, BED3, RVV"
              }
            }
          ],
          "participant": [
            {
              "type": [
                {
                  "coding": [
                    {
                      "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                      "code": "ATND",
                      "display": "attender"
                    }
                  ]
                }
              ],
              "individual": {
                "display": "Dr Jane Osborne"
              }
            }
          ],
          "hospitalization": {
            "admitSource": {
              "text": "Emergency department"
            }
          }
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&admitted).unwrap());
}

#[test]
fn the_events_of_a_visit_in_any_order_make_one_encounter() {
    // An update before its admission: the visit exists from then on, in progress.
    let early = event("A08", &pv1(&[(2, "I"), (3, "WARD7"), VISIT]), None);
    assert_eq!(early["status"], "in-progress");
    let admitted = event("A01", &pv1(&[(2, "I"), VISIT, (44, "202612070815+0000")]), Some(&early));
    assert_eq!(admitted["id"], early["id"]);
    assert_eq!(admitted["location"], early["location"], "omitted: kept");
    let discharged = event("A03", &pv1(&[VISIT, (36, "Home"), (45, "202612091100+0000")]), Some(&admitted));
    assert_eq!(discharged["status"], "finished");
    assert_eq!(discharged["period"]["start"], "2026-12-07T08:15:00+00:00");
    assert_eq!(discharged["period"]["end"], "2026-12-09T11:00:00+00:00");
    assert_eq!(discharged["class"], admitted["class"], "the class is kept when PV1-2 is omitted");
    // The discharge was a mistake: cancelled, the visit goes on without an end.
    let cancelled = event("A13", &pv1(&[VISIT]), Some(&discharged));
    assert_eq!(cancelled["status"], "in-progress");
    assert!(cancelled["period"].get("end").is_none(), "{cancelled}");
    assert_eq!(cancelled["period"]["start"], "2026-12-07T08:15:00+00:00");
    // The admission itself cancelled.
    let cancelled_admission = event("A11", &pv1(&[VISIT]), Some(&cancelled));
    assert_eq!(cancelled_admission["status"], "entered-in-error");
    // A discharge for a visit never seen is kept, finished.
    let unknown = event("A03", &pv1(&[(19, "V0002"), (45, "20261209")]), None);
    assert_eq!(unknown["status"], "finished");
    assert_ne!(unknown["id"], early["id"]);
}

#[test]
fn a_visit_without_a_number_is_refused_at_pv1_19() {
    let message = Message::parse("MSH|^~\\&|PAS|RVV|K|K|2026||ADT^A01|M1|P|2.4\rPID|1||R1^^^RVV^MR\rPV1|1|I").unwrap();
    let error = encounter_update(&message, "RVV", "p").unwrap_err();
    let location = error.location.unwrap();
    assert_eq!((location.segment_id.as_str(), location.segment_position, location.field), ("PV1", 3, Some(19)));
    assert_eq!(error.code, "101");
    let no_visit = Message::parse("MSH|^~\\&|PAS|RVV|K|K|2026||ADT^A28|M2|P|2.4\rPID|1||R1^^^RVV^MR").unwrap();
    assert_eq!(encounter_update(&no_visit, "RVV", "p").unwrap(), None, "no PV1: no visit");
}

#[test]
fn every_shared_adt_sample_with_a_visit_maps_or_is_refused_at_pv1_19() {
    let mut mapped = 0;
    for (name, message) in crate::samples::shared_messages() {
        if !name.starts_with("ADT") {
            continue;
        }
        match encounter_update(&message, "RVV", "hl7-patient") {
            Ok(Some(update)) => {
                let encounter = apply_encounter(update, None);
                assert!(encounter["status"].is_string() && encounter["class"].is_object(), "{name}");
                mapped += 1;
            }
            Ok(None) => assert!(message.segment("PV1").is_none(), "{name}"),
            Err(error) => assert_eq!(error.location.and_then(|location| location.field), Some(19), "{name}"),
        }
    }
    assert!(mapped >= 30, "{mapped} ADT samples mapped a visit");
}
