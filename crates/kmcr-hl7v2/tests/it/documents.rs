//! MDM document messages to DocumentReferences: text lines or a base64 document as the content.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use expect_test::expect;
use kmcr_hl7v2::Message;
use kmcr_hl7v2::fhir::documents::document_reference;

const HEADER: &str = "MSH|^~\\&|EPR|RWF|KMCR|KMCR|20261207||MDM^T02^MDM_T02|DOC-1|P|2.4\rPID|1||R1^^^RWF^MR";

#[test]
fn a_discharge_letter_in_text_lines() {
    let message = Message::parse(&format!(
        "{HEADER}\rTXA|1|DS^Discharge summary||202612071200+0000||||||||RWF-DOC-77|||||AU\r\
         OBX|1|TX|||Admitted with chest pain.\rOBX|2|TX|||Discharged home \\T\\ well."
    ))
    .unwrap();
    let mut document = document_reference(&message, "RWF", "hl7-patient").unwrap();
    let text = STANDARD.decode(document["content"][0]["attachment"]["data"].as_str().unwrap()).unwrap();
    assert_eq!(String::from_utf8(text).unwrap(), "Admitted with chest pain.\nDischarged home & well.");
    document["content"][0]["attachment"]["data"].take();
    expect![[r#"
        {
          "resourceType": "DocumentReference",
          "id": "hl7-f61e2e58f22308a0f37febac9254da6a",
          "masterIdentifier": {
            "system": "https://fhir.kmcr.nhs.uk/Id/RWF/document",
            "value": "RWF-DOC-77"
          },
          "status": "current",
          "docStatus": "final",
          "subject": {
            "reference": "Patient/hl7-patient"
          },
          "custodian": {
            "identifier": {
              "system": "https://fhir.nhs.uk/Id/ods-organization-code",
              "value": "RWF"
            }
          },
          "content": [
            {
              "attachment": {
                "contentType": "text/plain; charset=utf-8",
                "data": null
              }
            }
          ],
          "type": {
            "coding": [
              {
                "system": "urn:hl7v2:table:0270",
                "code": "DS"
              }
            ],
            "text": "Discharge summary"
          },
          "date": "2026-12-07T12:00:00+00:00"
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&document).unwrap());
}

#[test]
fn an_encapsulated_pdf_and_a_cancellation() {
    let pdf = STANDARD.encode(b"%PDF-1.4 a letter");
    let message = Message::parse(&format!(
        "{HEADER}\rTXA|1|CN||20261207||||||||RWF-DOC-78|||||IP\rOBX|1|ED|||^application^pdf^Base64^{pdf}"
    ))
    .unwrap();
    let document = document_reference(&message, "RWF", "p").unwrap();
    assert_eq!(document["content"][0]["attachment"]["contentType"], "application/pdf");
    assert_eq!(document["content"][0]["attachment"]["data"], pdf.as_str());
    assert_eq!((document["status"].as_str(), document["docStatus"].as_str()), (Some("current"), Some("preliminary")));
    assert!(document.get("date").is_none(), "a date without a time and zone is not an instant");
    let cancelled =
        Message::parse(&format!("{}\rTXA|1|CN||||||||||RWF-DOC-78", HEADER.replace("MDM^T02", "MDM^T11"))).unwrap();
    let cancelled = document_reference(&cancelled, "RWF", "p").unwrap();
    assert_eq!(
        (cancelled["id"].clone(), cancelled["status"].as_str()),
        (document["id"].clone(), Some("entered-in-error"))
    );
    let empty = Message::parse(&format!("{HEADER}\rTXA|1|CN||||||||||RWF-DOC-79")).unwrap();
    assert_eq!(document_reference(&empty, "RWF", "p").unwrap_err().code, "101", "a document with no content");
}

#[test]
fn every_shared_document_sample_maps_or_is_refused_with_a_reason() {
    let mut mapped = 0;
    for (name, message) in crate::samples::shared_messages() {
        if message.message_type().0 != Some("MDM") {
            continue;
        }
        match document_reference(&message, "RWF", "hl7-patient") {
            Ok(document) => {
                assert!(document["content"][0]["attachment"]["contentType"].is_string(), "{name}");
                mapped += 1;
            }
            Err(error) => assert!(error.code.len() == 3 && !error.reason.is_empty(), "{name}: {error:?}"),
        }
    }
    assert!(mapped >= 3, "{mapped} MDM samples mapped");
}
