//! HL7 v2 feeds over HTTP (`/feeds`, `/feeds/dead-letters`, `/feeds/dead-letters/{key}/replay`), on every backend:
//! an organisation's integration engine sees its own senders' counts and dead letters with the reason and never the
//! message, and replays one after a fix; another organisation sees none of it, a person is refused, and each request
//! leaves one audit entry.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use kmcr_service::feeds::Peer;
use serde_json::Value;

use crate::harness::*;

fn adt(control_id: &str, application: &str, event: &str, pid: &str) -> Vec<u8> {
    format!("MSH|^~\\&|{application}|RWF|KMCR|KMCR|20261207||ADT^{event}^ADT_A01|{control_id}|P|2.4\r{pid}")
        .into_bytes()
}

/// What the patient's record in the messages says, none of which may be shown with a dead letter.
const PATIENT_DATA: [&str; 3] = ["Lydd", "DEAD0001", "PID|"];

/// Sends RWF's messages: one accepted, one refused while its feed was switched off (put right by a replay now that it
/// is on), one of an event KMCR does not map (not put right by a replay), one from a sender KMCR does not know, and
/// one naming RWF's feed from an address it may not send from (a forgery, taken as no organisation's).
async fn send_messages(api: &TestApi) {
    let engine = Peer::plain(RWF_ENGINE_ADDRESS.parse().unwrap());
    let elsewhere = Peer::plain("10.9.9.9".parse().unwrap());
    let feeds = test_mllp_feeds();
    let mut switched_off = test_mllp_feeds();
    switched_off[0].switched_off = true;
    let pid = "PID|1||DEAD0001^^^RWF^MR||Lydd^Ash||19700101|F";
    let sends = [
        (adt("OK-1", "PAS", "A08", pid), &engine, &feeds, "AA"),
        (adt("DL-1", "PAS", "A08", pid), &engine, &switched_off, "AR"),
        (adt("DL-2", "PAS", "A99", pid), &engine, &feeds, "AR"),
        (adt("UN-1", "LAB", "A08", pid), &engine, &feeds, "AR"),
        // From an address the feed may not send from: no one's dead letter but an operator's.
        (adt("FORGED-1", "PAS", "A08", pid), &elsewhere, &feeds, "AR"),
    ];
    for (message, peer, feeds, expected) in sends {
        let ack = api.service.receive_hl7_from(feeds, Some(peer), &message).await.unwrap();
        assert!(ack.contains(&format!("MSA|{expected}|")), "{}: {ack}", api.backend);
    }
}

fn keys_and_control_ids(reply: &Reply) -> Vec<(i64, String)> {
    let letters = reply.body["deadLetters"].as_array().unwrap_or_else(|| panic!("{}", reply.body));
    letters
        .iter()
        .map(|letter| (letter["key"].as_i64().unwrap(), letter["controlId"].as_str().unwrap().into()))
        .collect()
}

async fn audited_once(api: &TestApi, client_id: &str, method: &str, uri: &str) -> Reply {
    let before = api.audit_length().await;
    let reply = api.call(client_id, method, uri, None).await;
    let entries = api.store.audit_entries(before, 100).await.unwrap();
    let actions: Vec<&str> = entries.iter().map(|entry| entry.record.action.as_str()).collect();
    let own = actions.iter().filter(|action| action.starts_with("feed-")).count();
    assert_eq!(own, 1, "{}: {method} {uri} as {client_id}: {actions:?}", api.backend);
    reply
}

#[tokio::test]
async fn an_integration_engine_sees_its_own_dead_letters_without_the_message_and_replays_one_after_a_fix() {
    for api in TestApi::on_every_backend().await {
        let backend = api.backend;
        send_messages(&api).await;

        let feeds = audited_once(&api, "acute", "GET", "/feeds").await;
        assert_eq!(feeds.status, StatusCode::OK, "{backend}: {}", feeds.body);
        let summary = &feeds.body["feeds"];
        assert_eq!(summary.as_array().unwrap().len(), 1, "{backend}: RWF's sender only: {summary}");
        let pas = &summary[0];
        assert_eq!(
            (&pas["sender"], &pas["organisation"], &pas["accepted"], &pas["rejected"], &pas["unresolved"]),
            (&Value::from("PAS|RWF"), &Value::from("RWF"), &Value::from(1), &Value::from(2), &Value::from(2)),
            "{backend}: {pas}"
        );
        assert_eq!(pas["errorRate"], 0.6667, "{backend}: {pas}");
        assert!(pas["lastMessage"].as_str().unwrap().ends_with('Z'), "{backend}: an instant: {pas}");

        let letters = audited_once(&api, "acute", "GET", "/feeds/dead-letters").await;
        assert_eq!(letters.status, StatusCode::OK, "{backend}: {}", letters.body);
        let listed = keys_and_control_ids(&letters);
        let control_ids: Vec<&str> = listed.iter().map(|(_, control_id)| control_id.as_str()).collect();
        assert_eq!(control_ids, ["DL-1", "DL-2"], "{backend}: {}", letters.body);
        let first = &letters.body["deadLetters"][0];
        assert_eq!(
            (&first["sender"], &first["messageType"], &first["ack"]),
            (&Value::from("PAS|RWF"), &Value::from("ADT^A08"), &Value::from("AR"))
        );
        assert!(first["reason"].as_str().unwrap().contains("switched off"), "{backend}: {first}");
        assert!(first["received"].as_str().unwrap().ends_with('Z'), "{backend}: {first}");
        assert!(letters.body["deadLetters"][1]["reason"].as_str().unwrap().contains("A99"), "{backend}");
        assert!(letters.body.get("next").is_none(), "{backend}: all listed");
        let text = letters.body.to_string();
        for data in PATIENT_DATA {
            assert!(!text.contains(data), "{backend}: the message is never shown: {text}");
        }

        // Paged one at a time.
        let mut uri = "/feeds/dead-letters?count=1".to_string();
        let mut paged = Vec::new();
        for _ in 0..4 {
            let page = api.call("acute", "GET", &uri, None).await;
            paged.extend(keys_and_control_ids(&page));
            match page.body["next"].as_str() {
                Some(next) => uri = next.to_string(),
                None => break,
            }
        }
        assert_eq!(paged, listed, "{backend}: the same letters, page by page");

        // Another organisation sees none of it, and another's key is answered as one that does not exist.
        let gp_feeds = audited_once(&api, "gp", "GET", "/feeds").await;
        assert_eq!(gp_feeds.body["feeds"], Value::Array(Vec::new()), "{backend}: {}", gp_feeds.body);
        let gp_letters = audited_once(&api, "gp", "GET", "/feeds/dead-letters").await;
        assert_eq!(gp_letters.body["deadLetters"], Value::Array(Vec::new()), "{backend}: {}", gp_letters.body);
        let (dl1, dl2) = (listed[0].0, listed[1].0);
        let foreign = audited_once(&api, "gp", "POST", &format!("/feeds/dead-letters/{dl1}/replay")).await;
        assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{backend}: {}", foreign.body);
        assert_eq!(error_code(&foreign), "KMCR-NOT-FOUND", "{backend}");
        // A letter of a sender KMCR does not know, or sent over a connection its feed may not use, belongs to no
        // organisation: no one's over the API.
        let rejected = api.store.feed_messages("rejected", 0, 10).await.unwrap();
        for control_id in ["UN-1", "FORGED-1"] {
            let letter = rejected.iter().find(|letter| letter.receipt.control_id.as_deref() == Some(control_id));
            let key = letter.unwrap().message_key;
            let replay = audited_once(&api, "acute", "POST", &format!("/feeds/dead-letters/{key}/replay")).await;
            assert_eq!(replay.status, StatusCode::NOT_FOUND, "{backend}: {control_id}: {}", replay.body);
        }

        // Replayed after the fix (the replay is the engineer's word that the message is theirs): accepted, made good.
        let replayed = audited_once(&api, "acute", "POST", &format!("/feeds/dead-letters/{dl1}/replay")).await;
        assert_eq!(replayed.status, StatusCode::OK, "{backend}: {}", replayed.body);
        assert_eq!(
            (&replayed.body["key"], &replayed.body["ack"], &replayed.body["resolved"]),
            (&Value::from(dl1), &Value::from("AA"), &Value::from(true)),
            "{backend}: {}",
            replayed.body
        );
        assert!(replayed.body.get("reason").is_none(), "{backend}: {}", replayed.body);
        let letters = api.call("acute", "GET", "/feeds/dead-letters", None).await;
        assert_eq!(keys_and_control_ids(&letters), [(dl2, "DL-2".to_string())], "{backend}: {}", letters.body);
        let feeds = api.call("acute", "GET", "/feeds", None).await;
        let pas = &feeds.body["feeds"][0];
        assert_eq!((&pas["accepted"], &pas["unresolved"]), (&Value::from(2), &Value::from(1)), "{backend}: {pas}");

        // Nothing has put the other right: refused again, with the reason, and still unresolved.
        let again = api.call("acute", "POST", &format!("/feeds/dead-letters/{dl2}/replay"), None).await;
        assert_eq!(again.status, StatusCode::OK, "{backend}: {}", again.body);
        assert_eq!((&again.body["ack"], &again.body["resolved"]), (&Value::from("AR"), &Value::from(false)));
        assert!(again.body["reason"].as_str().unwrap().contains("A99"), "{backend}: {}", again.body);
    }
}

#[tokio::test]
async fn people_and_clients_that_may_not_write_patients_are_refused_with_the_reason() {
    for api in TestApi::on_every_backend().await {
        let backend = api.backend;
        send_messages(&api).await;
        // A receptionist of RWF itself: a person, not the organisation's integration engine.
        let tokens = crate::users::launch(&api, "two-roles", Some("two-reception")).await;
        let token = tokens["access_token"].as_str().unwrap();
        for (method, uri) in
            [("GET", "/feeds"), ("GET", "/feeds/dead-letters"), ("POST", "/feeds/dead-letters/1/replay")]
        {
            let before = api.audit_length().await;
            let request = Request::builder()
                .method(method)
                .uri(uri)
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap();
            let reply = api.send(request).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{backend}: {method} {uri}: {}", reply.body);
            let text = reply.body["issue"][0]["diagnostics"].as_str().unwrap();
            assert!(text.contains("integration engine"), "{backend}: {text}");
            assert_eq!(api.audit_length().await, before + 1, "{backend}: {method} {uri}: one audit entry");
        }
        // A region-wide reader: its scopes do not let it write Patients.
        let reader = audited_once(&api, "viewer", "GET", "/feeds/dead-letters").await;
        assert_eq!(reader.status, StatusCode::FORBIDDEN, "{backend}: {}", reader.body);
        let text = reader.body["issue"][0]["diagnostics"].as_str().unwrap();
        assert!(text.contains("no scope grants"), "{backend}: {text}");
        // An organisation outside the agreement.
        let outsider = audited_once(&api, "outsider", "GET", "/feeds").await;
        assert_eq!(outsider.status, StatusCode::FORBIDDEN, "{backend}: {}", outsider.body);
    }
}
