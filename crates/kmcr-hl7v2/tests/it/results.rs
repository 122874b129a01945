//! ORU^R01 to DiagnosticReports and Observations, shown as they come out; values typed by OBX-2.

use expect_test::expect;
use kmcr_hl7v2::Message;
use kmcr_hl7v2::fhir::results::result_resources;

const RESULT: &str = "MSH|^~\\&|LAB|RWF|KMCR|KMCR|20261207120000||ORU^R01^ORU_R01|LAB-1|P|2.4\r\
PID|1||R123^^^RWF^MR||Ashdown^Alex\r\
OBR|1|PL1|FL1^LAB|24326-1^Electrolytes panel^LN|||202612071030+0000|||||||||||||||202612071130+0000|||F\r\
NTE|1||Sample slightly haemolysed\r\
OBX|1|NM|2951-2^Sodium^LN||147|mmol/L^millimoles per litre^UCUM|133-146|H|||F|||202612071030+0000\r\
OBX|2|SN|2823-3^Potassium^LN||<^2.5|mmol/L^^UCUM|3.5-5.3|LL|||F\r\
OBX|3|ST|8251-1^Comment^LN||Repeat in one week~Discussed with GP||||||F\r\
OBX|4|CWE|600-7^Culture^LN||27268008^Salmonella^SCT||||||P\r\
NTE|1||Sensitivities to follow";

#[test]
fn a_laboratory_report_with_every_kind_of_value() {
    let message = Message::parse(RESULT).unwrap();
    let resources = result_resources(&message, "RWF", "hl7-patient").unwrap();
    let shown = serde_json::to_string_pretty(&serde_json::json!({
        "reports": resources.reports, "observations": resources.observations
    }))
    .unwrap();
    expect![[r#"
        {
          "reports": [
            {
              "resourceType": "DiagnosticReport",
              "id": "hl7-d7434be9ccccc501f22065c1cbf99dc5",
              "identifier": [
                {
                  "system": "https://fhir.kmcr.nhs.uk/Id/RWF/order",
                  "value": "FL1"
                }
              ],
              "status": "final",
              "category": [
                {
                  "coding": [
                    {
                      "system": "http://terminology.hl7.org/CodeSystem/v2-0074",
                      "code": "LAB",
                      "display": "Laboratory"
                    }
                  ]
                }
              ],
              "code": {
                "coding": [
                  {
                    "system": "http://loinc.org",
                    "code": "24326-1",
                    "display": "Electrolytes panel"
                  }
                ],
                "text": "Electrolytes panel"
              },
              "subject": {
                "reference": "Patient/hl7-patient"
              },
              "effectiveDateTime": "2026-12-07T10:30:00+00:00",
              "issued": "2026-12-07T11:30:00+00:00",
              "performer": [
                {
                  "identifier": {
                    "system": "https://fhir.nhs.uk/Id/ods-organization-code",
                    "value": "RWF"
                  }
                }
              ],
              "conclusion": "Sample slightly haemolysed",
              "result": [
                {
                  "reference": "Observation/hl7-9fe6a590cc26f7f5cc457dfc73c8ed54"
                },
                {
                  "reference": "Observation/hl7-c076af6d1b8174ea735ce9be4536df8d"
                },
                {
                  "reference": "Observation/hl7-53858d4f983f4c42179525dde05278ad"
                },
                {
                  "reference": "Observation/hl7-90bf15fe42eec84a30acfb27b5d5f050"
                }
              ]
            }
          ],
          "observations": [
            {
              "resourceType": "Observation",
              "id": "hl7-9fe6a590cc26f7f5cc457dfc73c8ed54",
              "status": "final",
              "category": [
                {
                  "coding": [
                    {
                      "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                      "code": "laboratory"
                    }
                  ]
                }
              ],
              "code": {
                "coding": [
                  {
                    "system": "http://loinc.org",
                    "code": "2951-2",
                    "display": "Sodium"
                  }
                ],
                "text": "Sodium"
              },
              "subject": {
                "reference": "Patient/hl7-patient"
              },
              "effectiveDateTime": "2026-12-07T10:30:00+00:00",
              "valueQuantity": {
                "value": 147,
                "unit": "millimoles per litre",
                "system": "http://unitsofmeasure.org",
                "code": "mmol/L"
              },
              "referenceRange": [
                {
                  "low": {
                    "value": 133
                  },
                  "high": {
                    "value": 146
                  },
                  "text": "133-146"
                }
              ],
              "interpretation": [
                {
                  "coding": [
                    {
                      "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                      "code": "H",
                      "display": "High"
                    }
                  ]
                }
              ]
            },
            {
              "resourceType": "Observation",
              "id": "hl7-c076af6d1b8174ea735ce9be4536df8d",
              "status": "final",
              "category": [
                {
                  "coding": [
                    {
                      "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                      "code": "laboratory"
                    }
                  ]
                }
              ],
              "code": {
                "coding": [
                  {
                    "system": "http://loinc.org",
                    "code": "2823-3",
                    "display": "Potassium"
                  }
                ],
                "text": "Potassium"
              },
              "subject": {
                "reference": "Patient/hl7-patient"
              },
              "effectiveDateTime": "2026-12-07T10:30:00+00:00",
              "valueQuantity": {
                "value": 2.5,
                "comparator": "<",
                "unit": "mmol/L",
                "system": "http://unitsofmeasure.org",
                "code": "mmol/L"
              },
              "referenceRange": [
                {
                  "low": {
                    "value": 3.5
                  },
                  "high": {
                    "value": 5.3
                  },
                  "text": "3.5-5.3"
                }
              ],
              "interpretation": [
                {
                  "coding": [
                    {
                      "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                      "code": "LL",
                      "display": "Critical low"
                    }
                  ]
                }
              ]
            },
            {
              "resourceType": "Observation",
              "id": "hl7-53858d4f983f4c42179525dde05278ad",
              "status": "final",
              "category": [
                {
                  "coding": [
                    {
                      "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                      "code": "laboratory"
                    }
                  ]
                }
              ],
              "code": {
                "coding": [
                  {
                    "system": "http://loinc.org",
                    "code": "8251-1",
                    "display": "Comment"
                  }
                ],
                "text": "Comment"
              },
              "subject": {
                "reference": "Patient/hl7-patient"
              },
              "effectiveDateTime": "2026-12-07T10:30:00+00:00",
              "valueString": "Repeat in one week\nDiscussed with GP"
            },
            {
              "resourceType": "Observation",
              "id": "hl7-90bf15fe42eec84a30acfb27b5d5f050",
              "status": "preliminary",
              "category": [
                {
                  "coding": [
                    {
                      "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                      "code": "laboratory"
                    }
                  ]
                }
              ],
              "code": {
                "coding": [
                  {
                    "system": "http://loinc.org",
                    "code": "600-7",
                    "display": "Culture"
                  }
                ],
                "text": "Culture"
              },
              "subject": {
                "reference": "Patient/hl7-patient"
              },
              "effectiveDateTime": "2026-12-07T10:30:00+00:00",
              "valueCodeableConcept": {
                "coding": [
                  {
                    "system": "http://snomed.info/sct",
                    "code": "27268008",
                    "display": "Salmonella"
                  }
                ],
                "text": "Salmonella"
              },
              "note": [
                {
                  "text": "Sensitivities to follow"
                }
              ]
            }
          ]
        }"#]]
    .assert_eq(&shown);
}

#[test]
fn results_that_cannot_be_read_are_refused_with_the_field() {
    let bad_number = RESULT.replace("||147|", "||one hundred|");
    let error = result_resources(&Message::parse(&bad_number).unwrap(), "RWF", "p").unwrap_err();
    let location = error.location.unwrap();
    assert_eq!((location.segment_id.as_str(), location.segment_position, location.field), ("OBX", 5, Some(5)));
    assert_eq!(error.code, "102");
    let no_test = RESULT.replace("|24326-1^Electrolytes panel^LN|", "||");
    let error = result_resources(&Message::parse(&no_test).unwrap(), "RWF", "p").unwrap_err();
    assert_eq!((error.code, error.location.unwrap().field), ("101", Some(4)));
    let no_order = "MSH|^~\\&|LAB|RWF|K|K|2026||ORU^R01|L2|P|2.4\rPID|1||R1^^^RWF^MR";
    assert_eq!(result_resources(&Message::parse(no_order).unwrap(), "RWF", "p").unwrap_err().code, "100");
}

#[test]
fn every_shared_result_sample_maps_or_is_refused_with_a_reason() {
    let mut mapped = 0;
    for (name, message) in crate::samples::shared_messages() {
        if message.message_type() != (Some("ORU"), Some("R01")) {
            continue;
        }
        match result_resources(&message, "RWF", "hl7-patient") {
            Ok(resources) => {
                assert!(!resources.reports.is_empty(), "{name}");
                mapped += 1;
            }
            Err(error) => assert!(!error.reason.is_empty() && error.code.len() == 3, "{name}: {error:?}"),
        }
    }
    assert!(mapped >= 1, "{mapped} ORU samples mapped");
}
