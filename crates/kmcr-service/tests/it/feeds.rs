//! HL7 v2 feeds through the service, on both backends: an accepted message and its data are kept together and
//! answered AA; sent again, it is answered with the same ACK and not applied twice; refusals are answered with the
//! reason and kept as dead letters; a sender of an organisation outside the agreement is refused.

use kmcr_fhir::{OdsCode, ResourceId, ResourceType};
use kmcr_hl7v2::Message;
use kmcr_hl7v2::fhir::patient::patient_id;
use kmcr_service::feeds::{CertificateBinding, CertificateFingerprint, MllpFeed, Peer, PresentedCertificate};

use crate::world::*;

fn feeds() -> Vec<MllpFeed> {
    let feed = |application: &str, ods_code: &str| MllpFeed {
        ods_code: OdsCode::parse(ods_code).unwrap(),
        sending_application: application.into(),
        sending_facility: None,
        allowed_addresses: Vec::new(),
        client_certificate: None,
        switched_off: false,
        security_labels: Vec::new(),
    };
    vec![feed("RVV-PAS", ACUTE), feed("LEFT-PAS", LEFT)]
}

fn adt(control_id: &str, application: &str, pid: &str) -> Vec<u8> {
    format!("MSH|^~\\&|{application}|FAC|KMCR|KMCR|20261207||ADT^A08^ADT_A01|{control_id}|P|2.4\r{pid}").into_bytes()
}

fn msa(ack: &str) -> (String, String) {
    let ack = Message::parse(ack).unwrap();
    let msa = ack.segment("MSA").unwrap();
    (msa.text(1, 1).unwrap_or_default().into(), msa.text(2, 1).unwrap_or_default().into())
}

#[tokio::test]
async fn a_message_is_kept_with_its_data_once_and_refusals_become_dead_letters() {
    for world in worlds().await {
        let backend = world.backend;
        let message = adt("F-1", "RVV-PAS", "PID|1||FEED001^^^RVV^MR||Whitstable^Sam||19700101|M");
        let ack = world.service.receive_hl7(&feeds(), &message).await.unwrap();
        assert_eq!(msa(&ack), ("AA".into(), "F-1".into()), "{backend}");
        let id = patient_id(ACUTE, &format!("https://fhir.kmcr.nhs.uk/Id/{ACUTE}/RVV"), "FEED001");
        let stored = world.store.read(ResourceType::PATIENT, &ResourceId::parse(&id).unwrap()).await.unwrap();
        let stored = stored.expect("the Patient the message became");
        assert_eq!((stored.version_id, stored.source_ods_code.as_str()), (1, ACUTE), "{backend}");

        let again = world.service.receive_hl7(&feeds(), &message).await.unwrap();
        assert_eq!(again, ack, "{backend}: the first ACK, word for word");
        let stored = world.store.read(ResourceType::PATIENT, &ResourceId::parse(&id).unwrap()).await.unwrap();
        assert_eq!(stored.unwrap().version_id, 1, "{backend}: not applied twice");

        let left = world.service.receive_hl7(&feeds(), &adt("F-2", "LEFT-PAS", "PID|1||X1^^^L^MR")).await.unwrap();
        assert_eq!(msa(&left).0, "AR", "{backend}: an organisation that left the agreement");
        let garbage = world.service.receive_hl7(&feeds(), b"this is not HL7").await.unwrap();
        assert_eq!(msa(&garbage).0, "AR", "{backend}");
        let dead = world.store.feed_messages("rejected", 0, 10).await.unwrap();
        let reasons: Vec<&str> = dead.iter().filter_map(|letter| letter.receipt.reason.as_deref()).collect();
        assert_eq!(dead.len(), 2, "{backend}: {reasons:?}");
        assert!(reasons[0].contains("not party to the sharing agreement"), "{backend}: {reasons:?}");
        assert_eq!(dead[1].receipt.body, "this is not HL7", "{backend}: kept as received, to be replayed");
        let accepted = world.store.feed_messages("accepted", 0, 10).await.unwrap();
        assert_eq!(accepted.len(), 1, "{backend}: the message sent twice is kept once");
    }
}

#[tokio::test]
async fn a_laboratory_result_becomes_its_report_and_observations_and_a_correction_updates_them() {
    for world in worlds().await {
        let backend = world.backend;
        let result = |control_id: &str, status: &str, value: &str| {
            format!(
                "MSH|^~\\&|RVV-PAS|FAC|KMCR|KMCR|20261207||ORU^R01^ORU_R01|{control_id}|P|2.4\r\
                 PID|1||FEED002^^^RVV^MR||Faversham^Jo\r\
                 OBR|1||ORD-9^LAB|2951-2^Sodium^LN|||202612071030+0000|||||||||||||||||{status}\r\
                 OBX|1|NM|2951-2^Sodium^LN||{value}|mmol/L^^UCUM|133-146|H|||{status}"
            )
            .into_bytes()
        };
        let ack = world.service.receive_hl7(&feeds(), &result("R-1", "P", "147")).await.unwrap();
        assert_eq!(msa(&ack), ("AA".into(), "R-1".into()), "{backend}");
        let reports = world.store.feed_messages("accepted", 0, 10).await.unwrap();
        assert_eq!(reports.len(), 1, "{backend}");
        let message = Message::parse(std::str::from_utf8(&result("R-1", "P", "147")).unwrap()).unwrap();
        let patient = kmcr_hl7v2::fhir::patient::patient_update(&message, ACUTE).unwrap().id;
        let resources = kmcr_hl7v2::fhir::results::result_resources(&message, ACUTE, &patient).unwrap();
        let observation_id = resources.observations[0]["id"].as_str().unwrap().to_string();
        let observation_type = ResourceType::parse("Observation").unwrap();
        let read = |id: String| {
            let store = world.store.clone();
            async move { store.read(observation_type, &ResourceId::parse(&id).unwrap()).await.unwrap().unwrap() }
        };
        let stored = read(observation_id.clone()).await;
        assert_eq!(stored.version_id, 1, "{backend}");
        assert!(stored.json.unwrap().contains("\"preliminary\""), "{backend}");
        // The final result, corrected: the same Observation, a new version.
        let ack = world.service.receive_hl7(&feeds(), &result("R-2", "C", "145")).await.unwrap();
        assert_eq!(msa(&ack).0, "AA", "{backend}");
        let corrected = read(observation_id).await;
        assert_eq!(corrected.version_id, 2, "{backend}");
        let json = corrected.json.unwrap();
        assert!(json.contains("\"corrected\"") && json.contains("\"value\":145"), "{backend}: {json}");
    }
}

#[tokio::test]
async fn a_document_message_becomes_a_document_reference() {
    for world in worlds().await {
        let backend = world.backend;
        let message = "MSH|^~\\&|RVV-PAS|FAC|KMCR|KMCR|20261207||MDM^T02^MDM_T02|D-1|P|2.4\r\
                       PID|1||FEED003^^^RVV^MR||Hythe^Lee\r\
                       TXA|1|DS^Discharge summary||202612071200+0000||||||||DOC-1|||||AU\r\
                       OBX|1|TX|||Home today.";
        let ack = world.service.receive_hl7(&feeds(), message.as_bytes()).await.unwrap();
        assert_eq!(msa(&ack), ("AA".into(), "D-1".into()), "{backend}");
        let parsed = Message::parse(message).unwrap();
        let patient = kmcr_hl7v2::fhir::patient::patient_update(&parsed, ACUTE).unwrap().id;
        let document = kmcr_hl7v2::fhir::documents::document_reference(&parsed, ACUTE, &patient).unwrap();
        let id = ResourceId::parse(document["id"].as_str().unwrap()).unwrap();
        let stored = world.store.read(ResourceType::parse("DocumentReference").unwrap(), &id).await.unwrap();
        assert_eq!(stored.expect("the document").source_ods_code.as_str(), ACUTE, "{backend}");
    }
}

#[tokio::test]
async fn an_admission_s_allergies_diagnoses_and_next_of_kin_are_kept() {
    for world in worlds().await {
        let backend = world.backend;
        let message = "MSH|^~\\&|RVV-PAS|FAC|KMCR|KMCR|20261207||ADT^A01^ADT_A01|C-1|P|2.4\r\
                       PID|1||FEED004^^^RVV^MR||Deal^Kim\r\
                       NK1|1|Deal^Sam|SPO^Spouse\r\
                       PV1|1|I|WARD7||||||||||||||||V-C-1\r\
                       AL1|1|DA|373270004^Penicillin^SCT|SV|Anaphylaxis\r\
                       DG1|1||29857009^Chest pain^SCT||202612070815+0000|A";
        let ack = world.service.receive_hl7(&feeds(), message.as_bytes()).await.unwrap();
        assert_eq!(msa(&ack), ("AA".into(), "C-1".into()), "{backend}");
        let parsed = Message::parse(message).unwrap();
        let patient = kmcr_hl7v2::fhir::patient::patient_update(&parsed, ACUTE).unwrap().id;
        let allergy = &kmcr_hl7v2::fhir::clinical::allergies(&parsed, ACUTE, &patient)[0];
        let related = &kmcr_hl7v2::fhir::clinical::related_people(&parsed, ACUTE, &patient)[0];
        for (type_name, resource) in [("AllergyIntolerance", allergy), ("RelatedPerson", related)] {
            let id = ResourceId::parse(resource["id"].as_str().unwrap()).unwrap();
            let stored = world.store.read(ResourceType::parse(type_name).unwrap(), &id).await.unwrap();
            assert!(
                stored.is_some_and(|stored| stored.patient_id.is_some()),
                "{backend}: the {type_name}, in the patient's record"
            );
        }
    }
}

/// An A40 merge goes through the person index like a FHIR `replaced-by` merge: the merged record joins the survivor's
/// person and is kept, no longer active, as history.
#[tokio::test]
async fn a_merge_moves_the_merged_record_to_the_survivor_s_person() {
    for world in worlds().await {
        let backend = world.backend;
        let register = |control_id: &str, mrn: &str, name: &str| {
            format!(
                "MSH|^~\\&|RVV-PAS|FAC|KMCR|KMCR|20261207||ADT^A04^ADT_A01|{control_id}|P|2.4\r\
                 PID|1||{mrn}^^^RVV^MR||{name}^Pat||19500101|F"
            )
        };
        for (control_id, mrn, name) in [("M-1", "DUP001", "Sandwich"), ("M-2", "DUP002", "Walmer")] {
            let ack = world.service.receive_hl7(&feeds(), register(control_id, mrn, name).as_bytes()).await.unwrap();
            assert_eq!(msa(&ack).0, "AA", "{backend}");
        }
        let id_of = |mrn: &str| patient_id(ACUTE, &format!("https://fhir.kmcr.nhs.uk/Id/{ACUTE}/RVV"), mrn);
        let before = world.store.person_links_of(&[id_of("DUP001"), id_of("DUP002")]).await.unwrap();
        assert_ne!(before[0].person_id, before[1].person_id, "{backend}: two people before the merge");
        let merge = "MSH|^~\\&|RVV-PAS|FAC|KMCR|KMCR|20261207||ADT^A40^ADT_A39|M-3|P|2.4\r\
                     PID|1||DUP001^^^RVV^MR||Sandwich^Pat||19500101|F\r\
                     MRG|DUP002^^^RVV^MR";
        let ack = world.service.receive_hl7(&feeds(), merge.as_bytes()).await.unwrap();
        assert_eq!(msa(&ack), ("AA".into(), "M-3".into()), "{backend}: {ack}");
        let links = world.store.person_links_of(&[id_of("DUP001"), id_of("DUP002")]).await.unwrap();
        assert_eq!(links.len(), 2, "{backend}");
        assert_eq!(links[0].person_id, links[1].person_id, "{backend}: one person after the merge");
        let merged = world.store.read(ResourceType::PATIENT, &ResourceId::parse(&id_of("DUP002")).unwrap()).await;
        let json = merged.unwrap().unwrap().json.unwrap();
        assert!(json.contains("\"active\":false") && json.contains("replaced-by"), "{backend}: {json}");
    }
}

/// A message refused because its feed was not configured yet is listed as a dead letter, replayed once it is, and
/// then no longer counts as unresolved.
#[tokio::test]
async fn a_dead_letter_is_replayed_after_the_fix_and_made_good() {
    for world in worlds().await {
        let backend = world.backend;
        let message = adt("L-1", "LATE-PAS", "PID|1||LATE001^^^RVV^MR||Lydd^Ash");
        let refused = world.service.receive_hl7(&feeds(), &message).await.unwrap();
        assert_eq!(msa(&refused).0, "AR", "{backend}");
        let dead = world
            .store
            .filtered_feed_messages(kmcr_store::FeedMessageFilter::UnresolvedDeadLetters { after_key: 0 }, 10)
            .await;
        let dead = dead.unwrap();
        assert_eq!(dead.len(), 1, "{backend}");
        let summary = world.store.feed_summary().await.unwrap();
        assert_eq!((summary[0].rejected, summary[0].unresolved), (1, 1), "{backend}: {summary:?}");

        let mut fixed = feeds();
        fixed.push(MllpFeed {
            ods_code: OdsCode::parse(ACUTE).unwrap(),
            sending_application: "LATE-PAS".into(),
            sending_facility: None,
            allowed_addresses: Vec::new(),
            client_certificate: None,
            switched_off: false,
            security_labels: Vec::new(),
        });
        let replayed = world.service.replay_dead_letter(&fixed, dead[0].message_key).await.unwrap();
        assert_eq!(msa(&replayed.expect("the dead letter")), ("AA".into(), "L-1".into()), "{backend}");
        let dead = world
            .store
            .filtered_feed_messages(kmcr_store::FeedMessageFilter::UnresolvedDeadLetters { after_key: 0 }, 10)
            .await;
        assert!(dead.unwrap().is_empty(), "{backend}: made good");
        let summary = world.store.feed_summary().await.unwrap();
        let counts: Vec<_> = summary
            .iter()
            .map(|feed| (feed.ods_code.as_deref(), feed.accepted, feed.rejected, feed.unresolved))
            .collect();
        // Refused before it was anyone's, accepted as RVV's once its feed was configured; nothing unresolved.
        assert_eq!(counts, [(None, 0, 1, 0), (Some(ACUTE), 1, 0, 0)], "{backend}");
        assert_eq!(world.service.replay_dead_letter(&fixed, 999_999).await.unwrap(), None, "{backend}");
    }
}

/// MSH-3 and MSH-4 name a sender but prove nothing: a feed restricted to its integration engine's address refuses
/// the same names sent from anywhere else.
#[tokio::test]
async fn a_feed_restricted_to_an_address_refuses_messages_from_any_other() {
    for world in worlds().await {
        let backend = world.backend;
        let engine: std::net::IpAddr = "10.0.0.5".parse().unwrap();
        let restricted = vec![MllpFeed {
            ods_code: OdsCode::parse(ACUTE).unwrap(),
            sending_application: "RVV-PAS".into(),
            sending_facility: None,
            allowed_addresses: vec![engine],
            client_certificate: None,
            switched_off: false,
            security_labels: Vec::new(),
        }];
        let message = adt("A-1", "RVV-PAS", "PID|1||ADDR001^^^RVV^MR||Hoo^Lee");
        let elsewhere = Peer::plain("10.9.9.9".parse().unwrap());
        let refused = world.service.receive_hl7_from(&restricted, Some(&elsewhere), &message).await.unwrap();
        assert_eq!(msa(&refused).0, "AR", "{backend}");
        let accepted = world.service.receive_hl7_from(&restricted, Some(&Peer::plain(engine)), &message).await.unwrap();
        assert_eq!(msa(&accepted), ("AA".into(), "A-1".into()), "{backend}");
    }
}

/// A feed bound to a client certificate takes its messages only from a connection that presented it: over plain TCP,
/// or with another certificate (even one the CA signed, even with the same subject), the message is refused AR with
/// the reason and kept as a dead letter; with its certificate it is accepted.
#[tokio::test]
async fn a_feed_bound_to_a_client_certificate_refuses_messages_without_it() {
    for world in worlds().await {
        let backend = world.backend;
        let engine = CertificateFingerprint::of_der(b"the integration engine's certificate");
        let other = CertificateFingerprint::of_der(b"another sender's certificate");
        let bound = vec![MllpFeed {
            ods_code: OdsCode::parse(ACUTE).unwrap(),
            sending_application: "RVV-PAS".into(),
            sending_facility: None,
            allowed_addresses: Vec::new(),
            client_certificate: CertificateBinding::new(Some(engine), Some("rvv-engine".into())),
            switched_off: false,
            security_labels: Vec::new(),
        }];
        let address = "10.0.0.5".parse().unwrap();
        let over_tls = |sha256, subject_cn: &str| Peer {
            address,
            client_certificate: Some(PresentedCertificate { sha256, subject_cn: Some(subject_cn.into()) }),
        };
        let message = adt("C-1", "RVV-PAS", "PID|1||CERT001^^^RVV^MR||Hythe^Kim");
        for (peer, expected_reason) in [
            (Peer::plain(address), "only over TLS with its client certificate"),
            (over_tls(other, "rvv-engine"), "not the one this feed is bound to"),
            (over_tls(engine, "someone-else"), "not the one this feed is bound to"),
        ] {
            let refused = world.service.receive_hl7_from(&bound, Some(&peer), &message).await.unwrap();
            assert_eq!(msa(&refused), ("AR".into(), "C-1".into()), "{backend}: {peer:?}");
            let err = Message::parse(&refused).unwrap();
            let reason = err.segment("ERR").and_then(|err| err.text(8, 1)).unwrap_or_default().to_string();
            assert!(reason.contains(expected_reason), "{backend}: {reason}");
        }
        let dead = world.store.feed_messages("rejected", 0, 10).await.unwrap();
        assert_eq!(dead.len(), 3, "{backend}: each refusal kept as a dead letter");
        assert!(dead.iter().all(|letter| letter.receipt.control_id.as_deref() == Some("C-1")), "{backend}");

        let engine_connection = over_tls(engine, "rvv-engine");
        let accepted = world.service.receive_hl7_from(&bound, Some(&engine_connection), &message).await.unwrap();
        assert_eq!(msa(&accepted), ("AA".into(), "C-1".into()), "{backend}");
    }
}

#[test]
fn fingerprints_are_read_as_openssl_prints_them_and_printed_the_same_way() {
    let printed = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
    let fingerprint = CertificateFingerprint::parse(printed).unwrap();
    assert_eq!(fingerprint.to_string(), printed);
    assert_eq!(CertificateFingerprint::parse(&printed.replace(':', "").to_lowercase()).unwrap(), fingerprint);
    for invalid in ["", "AB:CD", &printed.replace("AB", "XY"), &format!("{printed}:00")] {
        assert!(CertificateFingerprint::parse(invalid).is_err(), "{invalid}");
    }
    assert_eq!(CertificateBinding::new(None, None), None, "a binding names a fingerprint or a subject");
}

/// A feed switched off in the configuration is refused AR with that reason, and its message kept as a dead letter to
/// be replayed once it is switched on again.
#[tokio::test]
async fn a_feed_switched_off_is_refused_with_the_reason_and_kept() {
    for world in worlds().await {
        let backend = world.backend;
        let mut switched_off = feeds();
        switched_off[0].switched_off = true;
        let message = adt("OFF-1", "RVV-PAS", "PID|1||OFF001^^^RVV^MR||Hythe^Kim||19800101|F");
        let ack = Message::parse(&world.service.receive_hl7(&switched_off, &message).await.unwrap()).unwrap();
        assert_eq!(ack.segment("MSA").unwrap().text(1, 1), Some("AR"), "{backend}");
        let reason = ack.segment("ERR").and_then(|err| err.text(8, 1)).unwrap_or_default().to_string();
        assert!(reason.contains("switched off"), "{backend}: {reason}");
        let dead = world.store.feed_messages("rejected", 0, 10).await.unwrap();
        assert_eq!(dead.len(), 1, "{backend}");
        let replayed = world.service.replay_dead_letter(&feeds(), dead[0].message_key).await.unwrap().unwrap();
        assert_eq!(msa(&replayed).0, "AA", "{backend}: accepted once the feed is on again");
    }
}

/// HL7 v2 carries no sensitivity labels: a feed configured with some (a mental health trust's PAS: PSY) puts them on
/// everything its messages become but the Patient, so that the access decision seals them as it seals the trust's
/// FHIR records.
#[tokio::test]
async fn a_feeds_security_labels_seal_what_its_messages_become() {
    for world in worlds().await {
        let backend = world.backend;
        let mut labelled = feeds();
        labelled[0].security_labels = vec!["PSY".into()];
        let message = "MSH|^~\\&|RVV-PAS|FAC|KMCR|KMCR|20261207||ADT^A03^ADT_A03|PSY-1|P|2.4\r\
             PID|1||PSY001^^^RVV^MR||Deal^Robin||19900101|F\r\
             PV1|1|I|WARD1||||||||||||||||V-PSY-1|||||||||||||||||||||||||202612010900+0000|202612050900+0000\r\
             DG1|1||F20.0^Paranoid schizophrenia^I10||20261201|F";
        let ack = world.service.receive_hl7(&labelled, message.as_bytes()).await.unwrap();
        assert_eq!(msa(&ack).0, "AA", "{backend}: {ack}");
        let patient_id = patient_id(ACUTE, &format!("https://fhir.kmcr.nhs.uk/Id/{ACUTE}/RVV"), "PSY001");
        let labels_of = |json: &str| -> Vec<String> {
            let resource: serde_json::Value = serde_json::from_str(json).unwrap();
            resource["meta"]["security"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|coding| coding["code"].to_string())
                .collect()
        };
        let patient = world.store.read(ResourceType::PATIENT, &ResourceId::parse(&patient_id).unwrap()).await.unwrap();
        assert!(labels_of(patient.unwrap().json.as_deref().unwrap()).is_empty(), "{backend}: demographics stay shared");
        for type_name in ["Encounter", "Condition"] {
            let request = kmcr_fhir_search::parse_search(
                kmcr_fhir_search::SearchParamRegistry::official_r4(),
                ResourceType::parse(type_name).unwrap(),
                &[("patient".to_string(), patient_id.clone())],
                false,
                10,
            )
            .unwrap();
            let page = kmcr_store::PageRequest { count: 10, cursor: None, want_total: false };
            let found = world.store.search(&request, &page, &kmcr_store::RowFilter::Unrestricted).await.unwrap();
            assert_eq!(found.matches.len(), 1, "{backend}: one {type_name}");
            let labels = labels_of(found.matches[0].json.as_deref().unwrap());
            assert_eq!(labels, vec!["\"PSY\"".to_string()], "{backend}: the {type_name} is labelled");
        }
    }
}

/// Two messages about one patient from two connections at once (each part of the record is told by one sender): each
/// is applied to what the other wrote, so neither change is lost.
#[tokio::test]
async fn messages_about_one_patient_at_once_each_keep_their_change() {
    for world in worlds().await {
        let backend = world.backend;
        let mut both = feeds();
        both.push(MllpFeed { sending_application: "RVV-ADMIN".into(), ..feeds()[0].clone() });
        let pid = "PID|1||BOTH001^^^RVV^MR||Deal^Robin||19900101|F";
        let first = adt("BOTH-0", "RVV-PAS", pid);
        assert_eq!(msa(&world.service.receive_hl7(&both, &first).await.unwrap()).0, "AA", "{backend}");
        for round in 1..=10 {
            let address = format!("PID|1||BOTH001^^^RVV^MR||||||||{round} Castle Street^^Deal^^CT14 {round}AA");
            let phone = format!("PID|1||BOTH001^^^RVV^MR||||||||||01304 {round:06}");
            let by_pas = adt(&format!("BOTH-A{round}"), "RVV-PAS", &address);
            let by_admin = adt(&format!("BOTH-P{round}"), "RVV-ADMIN", &phone);
            let (pas, admin) =
                tokio::join!(world.service.receive_hl7(&both, &by_pas), world.service.receive_hl7(&both, &by_admin));
            assert_eq!((msa(&pas.unwrap()).0, msa(&admin.unwrap()).0), ("AA".into(), "AA".into()), "{backend}");
            let id = patient_id(ACUTE, &format!("https://fhir.kmcr.nhs.uk/Id/{ACUTE}/RVV"), "BOTH001");
            let stored = world.store.read(ResourceType::PATIENT, &ResourceId::parse(&id).unwrap()).await.unwrap();
            let json: serde_json::Value = serde_json::from_str(stored.unwrap().json.as_deref().unwrap()).unwrap();
            let text = json.to_string();
            assert!(text.contains(&format!("{round} Castle Street")), "{backend}: round {round}: the address: {text}");
            assert!(text.contains(&format!("01304 {round:06}")), "{backend}: round {round}: the phone: {text}");
        }
    }
}
