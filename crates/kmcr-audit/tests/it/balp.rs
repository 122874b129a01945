//! AuditEvent export: the shape BALP expects, and valid R4 by `kmcr_fhir::validate_resource`.

use expect_test::expect;
use kmcr_audit::{AuditRecord, ChainedAuditEntry, GENESIS_HASH, audit_events, chain};
use serde_json::Value;

fn user_search() -> ChainedAuditEntry {
    let mut record = AuditRecord::new("user", "555123456789", "RVV", "search", "req-7");
    record.recorded_unix_ms = 1_700_000_000_123;
    record.role_profile_id = Some("100200300400".into());
    record.job_role_code = Some("R8000".into());
    record.session_id = Some("session-1".into());
    record.purpose_of_use = Some("ETREAT".into());
    record.stated_reason = Some("unconscious in ED".into());
    record.query = Some("Observation?patient=Person/a&code=1234".into());
    record.resources = vec!["Observation/o1".into(), "Observation/o2".into()];
    record.persons = vec!["Person/a".into(), "Person/b".into()];
    record.patients = vec!["Patient/1".into(), "Patient/2".into()];
    record.outcome = "permitted-withheld".into();
    record.n_withheld = 1;
    record.reasons = vec!["break-glass".into()];
    chain(12, record, GENESIS_HASH)
}

fn valid_r4(event: &Value) {
    let round_tripped: Value = serde_json::from_str(&serde_json::to_string(event).unwrap()).unwrap();
    assert_eq!(&round_tripped, event);
    let resource_type = kmcr_fhir::validate_resource(&round_tripped).unwrap_or_else(|fault| panic!("{fault}: {event}"));
    assert_eq!(resource_type.as_str(), "AuditEvent");
}

fn codes(values: &Value, path: &[&str]) -> Vec<String> {
    let mut found = vec![values.clone()];
    for step in path {
        found = found
            .into_iter()
            .flat_map(|value| match value.get(step) {
                Some(Value::Array(items)) => items.clone(),
                Some(item) => vec![item.clone()],
                None => Vec::new(),
            })
            .collect();
    }
    found.iter().map(|value| value.as_str().map_or_else(|| value.to_string(), str::to_string)).collect()
}

#[test]
fn a_search_gives_one_audit_event_per_person_each_valid_r4() {
    let events = audit_events(&user_search());
    assert_eq!(events.len(), 2);
    for (event, person) in events.iter().zip(["Person/a", "Person/b"]) {
        valid_r4(event);
        assert_eq!(
            codes(event, &["meta", "profile"]),
            ["https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientQuery"]
        );
        assert_eq!(codes(event, &["type", "code"]), ["rest"]);
        assert_eq!(codes(event, &["subtype", "code"]), ["search-type"]);
        assert_eq!(codes(event, &["action"]), ["E"]);
        assert_eq!(codes(event, &["outcome"]), ["0"]);
        // BALP: exactly one patient entity, the person the event is about.
        let patients: Vec<&Value> =
            event["entity"].as_array().unwrap().iter().filter(|entity| entity["role"]["code"] == "1").collect();
        assert_eq!(patients.len(), 1);
        assert_eq!(patients[0]["what"]["reference"], person);
        // Exactly one requestor, the user.
        let requestors: Vec<&Value> =
            event["agent"].as_array().unwrap().iter().filter(|agent| agent["requestor"] == true).collect();
        assert_eq!(requestors.len(), 1);
        assert_eq!(requestors[0]["who"]["identifier"]["system"], "https://fhir.nhs.uk/Id/sds-user-id");
    }
    expect![[r#"
        {
          "resourceType": "AuditEvent",
          "id": "kmcr-audit-12-1",
          "meta": {
            "profile": [
              "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientQuery"
            ]
          },
          "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "Restful Operation"
          },
          "subtype": [
            {
              "system": "http://hl7.org/fhir/restful-interaction",
              "code": "search-type"
            }
          ],
          "action": "E",
          "recorded": "2023-11-14T22:13:20.123Z",
          "outcome": "0",
          "outcomeDesc": "break-glass; 1 items withheld",
          "purposeOfEvent": [
            {
              "coding": [
                {
                  "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                  "code": "ETREAT"
                }
              ],
              "text": "unconscious in ED"
            }
          ],
          "agent": [
            {
              "type": {
                "coding": [
                  {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                    "code": "IRCP",
                    "display": "information recipient"
                  }
                ]
              },
              "who": {
                "identifier": {
                  "system": "https://fhir.nhs.uk/Id/sds-user-id",
                  "value": "555123456789"
                }
              },
              "requestor": true,
              "extension": [
                {
                  "url": "https://profiles.ihe.net/ITI/BALP/StructureDefinition/ihe-otherId",
                  "valueIdentifier": {
                    "system": "https://fhir.nhs.uk/Id/sds-role-profile-id",
                    "value": "100200300400"
                  }
                }
              ],
              "role": [
                {
                  "coding": [
                    {
                      "system": "https://fhir.nhs.uk/CodeSystem/NHSDigital-SDS-JobRoleCode",
                      "code": "R8000"
                    }
                  ]
                }
              ],
              "purposeOfUse": [
                {
                  "coding": [
                    {
                      "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                      "code": "ETREAT"
                    }
                  ],
                  "text": "unconscious in ED"
                }
              ]
            },
            {
              "type": {
                "coding": [
                  {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-RoleClass",
                    "code": "PROV",
                    "display": "healthcare provider"
                  }
                ]
              },
              "who": {
                "identifier": {
                  "system": "https://fhir.nhs.uk/Id/ods-organization-code",
                  "value": "RVV"
                }
              },
              "requestor": false
            },
            {
              "type": {
                "coding": [
                  {
                    "system": "http://dicom.nema.org/resources/ontology/DCM",
                    "code": "110152",
                    "display": "Destination Role ID"
                  }
                ]
              },
              "who": {
                "display": "KMCR"
              },
              "requestor": false
            }
          ],
          "source": {
            "observer": {
              "display": "KMCR"
            },
            "type": [
              {
                "system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                "code": "4",
                "display": "Application Server"
              }
            ]
          },
          "entity": [
            {
              "what": {
                "reference": "Person/a"
              },
              "type": {
                "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                "code": "1",
                "display": "Person"
              },
              "role": {
                "system": "http://terminology.hl7.org/CodeSystem/object-role",
                "code": "1",
                "display": "Patient"
              }
            },
            {
              "type": {
                "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                "code": "2",
                "display": "System Object"
              },
              "role": {
                "system": "http://terminology.hl7.org/CodeSystem/object-role",
                "code": "24",
                "display": "Query"
              },
              "query": "T2JzZXJ2YXRpb24/cGF0aWVudD1QZXJzb24vYSZjb2RlPTEyMzQ="
            },
            {
              "what": {
                "reference": "Observation/o1"
              },
              "type": {
                "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                "code": "2",
                "display": "System Object"
              },
              "role": {
                "system": "http://terminology.hl7.org/CodeSystem/object-role",
                "code": "4",
                "display": "Domain Resource"
              }
            },
            {
              "what": {
                "reference": "Observation/o2"
              },
              "type": {
                "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                "code": "2",
                "display": "System Object"
              },
              "role": {
                "system": "http://terminology.hl7.org/CodeSystem/object-role",
                "code": "4",
                "display": "Domain Resource"
              }
            },
            {
              "what": {
                "identifier": {
                  "value": "req-7"
                }
              },
              "type": {
                "system": "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType",
                "code": "XrequestId"
              }
            }
          ]
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&events[0]).unwrap());
}

/// (action, outcome) to (subtype, action code, outcome code, profile stem).
fn check(action: &str, outcome: &str, expected: (&str, &str, &str, &str)) {
    let mut record = AuditRecord::new("system", "client-1", "RVV", action, "r1");
    record.outcome = outcome.into();
    record.patients = vec!["Patient/1".into()];
    record.resources = vec!["Patient/1".into()];
    let events = audit_events(&chain(1, record, GENESIS_HASH));
    assert_eq!(events.len(), 1);
    let event = &events[0];
    valid_r4(event);
    let found = (
        codes(event, &["subtype", "code"]).concat(),
        codes(event, &["action"]).concat(),
        codes(event, &["outcome"]).concat(),
        codes(event, &["meta", "profile"]).concat().rsplit('.').next().unwrap().to_string(),
    );
    assert_eq!(found, (expected.0.into(), expected.1.into(), expected.2.into(), expected.3.into()), "{action}");
    assert_eq!(event["agent"][0]["type"]["coding"][0]["code"], "110153", "a client is the requestor");
    assert_eq!(event["agent"][0]["requestor"], true);
}

#[test]
fn each_interaction_maps_to_its_balp_codes() {
    check("read", "permitted", ("read", "R", "0", "PatientRead"));
    check("vread", "permitted", ("vread", "R", "0", "PatientRead"));
    check("history", "permitted", ("history-instance", "R", "0", "PatientRead"));
    check("search", "denied", ("search-type", "E", "4", "PatientQuery"));
    check("everything", "permitted", ("operation", "E", "0", "PatientQuery"));
    check("create", "permitted", ("create", "C", "0", "PatientCreate"));
    check("update", "permitted", ("update", "U", "0", "PatientUpdate"));
    check("delete", "permitted", ("delete", "D", "0", "PatientDelete"));
    check("transaction", "failed", ("transaction", "E", "8", "PatientQuery"));
}

#[test]
fn an_entry_about_nobody_gives_one_event_without_a_patient() {
    let mut record = AuditRecord::new("system", "client-1", "RVV", "search", "r1");
    record.outcome = "permitted".into();
    record.query = Some("Organization?name=x".into());
    let events = audit_events(&chain(3, record, GENESIS_HASH));
    assert_eq!(events.len(), 1);
    valid_r4(&events[0]);
    assert_eq!(events[0]["id"], "kmcr-audit-3");
    assert!(events[0]["meta"]["profile"][0].as_str().unwrap().ends_with("IHE.BasicAudit.Query"));
    assert!(events[0]["entity"].as_array().unwrap().iter().all(|entity| entity["role"]["code"] != "1"));
}
