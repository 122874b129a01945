//! AL1, DG1 and NK1 of an ADT message to AllergyIntolerance, Condition and RelatedPerson.

use expect_test::expect;
use kmcr_hl7v2::Message;
use kmcr_hl7v2::fhir::clinical::{allergies, diagnoses, related_people};

const ADMISSION: &str = "MSH|^~\\&|PAS|RWF|KMCR|KMCR|20261207||ADT^A01^ADT_A01|M1|P|2.4\r\
PID|1||R1^^^RWF^MR||Ashdown^Alex\r\
NK1|1|Ashdown^Sam|SPO^Spouse|1 High Street^^Maidstone^^ME14 2LL|01622 000000\r\
PV1|1|I|WARD7||||||||||||||||V1\r\
AL1|1|DA|373270004^Penicillin^SCT|SV|Anaphylaxis~Urticaria|20100101\r\
AL1|2|FA|^Peanuts|MI\r\
AL1|3|DA\r\
DG1|1||29857009^Chest pain^SCT||202612070815+0000|A";

#[test]
fn allergies_diagnoses_and_next_of_kin() {
    let message = Message::parse(ADMISSION).unwrap();
    let shown = serde_json::json!({
        "allergies": allergies(&message, "RWF", "hl7-patient"),
        "diagnoses": diagnoses(&message, "RWF", "hl7-patient", Some("hl7-visit")),
        "related": related_people(&message, "RWF", "hl7-patient"),
    });
    expect![[r#"
        {
          "allergies": [
            {
              "resourceType": "AllergyIntolerance",
              "id": "hl7-0f27ac1bf8a75c229c7bf37b0550871a",
              "clinicalStatus": {
                "coding": [
                  {
                    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                    "code": "active"
                  }
                ]
              },
              "verificationStatus": {
                "coding": [
                  {
                    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                    "code": "confirmed"
                  }
                ]
              },
              "code": {
                "coding": [
                  {
                    "system": "http://snomed.info/sct",
                    "code": "373270004",
                    "display": "Penicillin"
                  }
                ],
                "text": "Penicillin"
              },
              "patient": {
                "reference": "Patient/hl7-patient"
              },
              "category": [
                "medication"
              ],
              "criticality": "high",
              "reaction": [
                {
                  "manifestation": [
                    {
                      "text": "Anaphylaxis"
                    }
                  ]
                },
                {
                  "manifestation": [
                    {
                      "text": "Urticaria"
                    }
                  ]
                }
              ],
              "recordedDate": "2010-01-01"
            },
            {
              "resourceType": "AllergyIntolerance",
              "id": "hl7-64c6e95934dc4373fef1bce7c16c5c26",
              "clinicalStatus": {
                "coding": [
                  {
                    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                    "code": "active"
                  }
                ]
              },
              "verificationStatus": {
                "coding": [
                  {
                    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                    "code": "confirmed"
                  }
                ]
              },
              "code": {
                "text": "Peanuts"
              },
              "patient": {
                "reference": "Patient/hl7-patient"
              },
              "category": [
                "food"
              ],
              "criticality": "low"
            }
          ],
          "diagnoses": [
            {
              "resourceType": "Condition",
              "id": "hl7-ebbe728eca1a7d1585169478fb9166cb",
              "clinicalStatus": {
                "coding": [
                  {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active"
                  }
                ]
              },
              "verificationStatus": {
                "coding": [
                  {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "provisional"
                  }
                ]
              },
              "category": [
                {
                  "coding": [
                    {
                      "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                      "code": "encounter-diagnosis"
                    }
                  ]
                }
              ],
              "code": {
                "coding": [
                  {
                    "system": "http://snomed.info/sct",
                    "code": "29857009",
                    "display": "Chest pain"
                  }
                ],
                "text": "Chest pain"
              },
              "subject": {
                "reference": "Patient/hl7-patient"
              },
              "encounter": {
                "reference": "Encounter/hl7-visit"
              },
              "recordedDate": "2026-12-07T08:15:00+00:00"
            }
          ],
          "related": [
            {
              "resourceType": "RelatedPerson",
              "id": "hl7-a29172af5d6ba057fb484e668fa8f21e",
              "patient": {
                "reference": "Patient/hl7-patient"
              },
              "name": [
                {
                  "use": "official",
                  "family": "Ashdown",
                  "given": [
                    "Sam"
                  ]
                }
              ],
              "relationship": [
                {
                  "coding": [
                    {
                      "system": "http://terminology.hl7.org/CodeSystem/v2-0063",
                      "code": "SPO"
                    }
                  ],
                  "text": "Spouse"
                }
              ],
              "address": [
                {
                  "use": "home",
                  "line": [
                    "1 High Street"
                  ],
                  "city": "Maidstone",
                  "postalCode": "ME14 2LL"
                }
              ],
              "telecom": [
                {
                  "system": "phone",
                  "value": "01622 000000",
                  "use": "home"
                }
              ]
            }
          ]
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&shown).unwrap());
}

#[test]
fn the_same_allergy_sent_again_is_the_same_resource() {
    let message = Message::parse(ADMISSION).unwrap();
    let again = Message::parse(&ADMISSION.replace("|M1|", "|M2|").replace("|SV|", "|MO|")).unwrap();
    let (first, second) = (allergies(&message, "RWF", "p"), allergies(&again, "RWF", "p"));
    assert_eq!(first.len(), 2, "an AL1 naming no allergen is left out");
    assert_eq!(first[0]["id"], second[0]["id"]);
    assert_eq!(second[0]["criticality"], "low");
}
