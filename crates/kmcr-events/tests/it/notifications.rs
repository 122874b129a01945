//! Notifications as the Backport IG writes them for R4.

use expect_test::expect;
use kmcr_events::subscription::SubscriptionStatus;
use kmcr_events::{Notification, NotificationEvent, NotificationKind, Payload, StatusSnapshot};
use serde_json::json;

fn status(events: u64) -> StatusSnapshot {
    StatusSnapshot {
        subscription_url: "https://kmcr.example/fhir/Subscription/s1".into(),
        topic_canonical: Some("https://fhir.kmcr.uk/SubscriptionTopic/encounter-started".into()),
        status: SubscriptionStatus::Active,
        events_since_subscription_start: events,
        error: None,
    }
}

#[test]
fn an_event_notification_id_only_and_full_resource() {
    let events = vec![
        NotificationEvent {
            event_number: 6,
            timestamp: "2026-12-07T10:00:00.000Z".into(),
            payload: Payload::IdOnly,
            focus: "Encounter/e1".into(),
            resource: None,
        },
        NotificationEvent {
            event_number: 7,
            timestamp: "2026-12-07T10:00:01.000Z".into(),
            payload: Payload::FullResource,
            focus: "Encounter/e2".into(),
            resource: Some(json!({"resourceType": "Encounter", "id": "e2", "status": "in-progress"})),
        },
    ];
    let notification = Notification { kind: NotificationKind::EventNotification, status: status(7), events };
    let bundle = notification.to_bundle("https://kmcr.example/fhir", "b1", "2026-12-07T10:00:02.000Z");
    expect![[r#"
        {
          "resourceType": "Bundle",
          "id": "b1",
          "meta": {
            "profile": [
              "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification-r4"
            ]
          },
          "type": "history",
          "timestamp": "2026-12-07T10:00:02.000Z",
          "entry": [
            {
              "fullUrl": "urn:uuid:b1",
              "resource": {
                "resourceType": "Parameters",
                "id": "b1",
                "meta": {
                  "profile": [
                    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4"
                  ]
                },
                "parameter": [
                  {
                    "name": "subscription",
                    "valueReference": {
                      "reference": "https://kmcr.example/fhir/Subscription/s1"
                    }
                  },
                  {
                    "name": "topic",
                    "valueCanonical": "https://fhir.kmcr.uk/SubscriptionTopic/encounter-started"
                  },
                  {
                    "name": "status",
                    "valueCode": "active"
                  },
                  {
                    "name": "type",
                    "valueCode": "event-notification"
                  },
                  {
                    "name": "events-since-subscription-start",
                    "valueString": "7"
                  },
                  {
                    "name": "notification-event",
                    "part": [
                      {
                        "name": "event-number",
                        "valueString": "6"
                      },
                      {
                        "name": "timestamp",
                        "valueInstant": "2026-12-07T10:00:00.000Z"
                      },
                      {
                        "name": "focus",
                        "valueReference": {
                          "reference": "https://kmcr.example/fhir/Encounter/e1"
                        }
                      }
                    ]
                  },
                  {
                    "name": "notification-event",
                    "part": [
                      {
                        "name": "event-number",
                        "valueString": "7"
                      },
                      {
                        "name": "timestamp",
                        "valueInstant": "2026-12-07T10:00:01.000Z"
                      },
                      {
                        "name": "focus",
                        "valueReference": {
                          "reference": "https://kmcr.example/fhir/Encounter/e2"
                        }
                      }
                    ]
                  }
                ]
              },
              "request": {
                "method": "GET",
                "url": "https://kmcr.example/fhir/Subscription/s1/$status"
              },
              "response": {
                "status": "200"
              }
            },
            {
              "fullUrl": "https://kmcr.example/fhir/Encounter/e1",
              "request": {
                "method": "PUT",
                "url": "Encounter/e1"
              },
              "response": {
                "status": "200"
              }
            },
            {
              "fullUrl": "https://kmcr.example/fhir/Encounter/e2",
              "request": {
                "method": "PUT",
                "url": "Encounter/e2"
              },
              "response": {
                "status": "200"
              },
              "resource": {
                "resourceType": "Encounter",
                "id": "e2",
                "status": "in-progress"
              }
            }
          ]
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&bundle).unwrap());
}

#[test]
fn a_handshake_names_no_event_and_an_empty_payload_names_no_focus() {
    let handshake = Notification { kind: NotificationKind::Handshake, status: status(0), events: vec![] };
    let bundle = handshake.to_bundle("https://kmcr.example/fhir", "b2", "2026-12-07T10:00:00.000Z");
    assert_eq!(bundle["entry"].as_array().unwrap().len(), 1);
    assert_eq!(bundle["entry"][0]["resource"]["parameter"][3]["valueCode"], "handshake");
    let empty = Notification {
        kind: NotificationKind::EventNotification,
        status: status(1),
        events: vec![NotificationEvent {
            event_number: 1,
            timestamp: "2026-12-07T10:00:00.000Z".into(),
            payload: Payload::Empty,
            focus: "Encounter/e1".into(),
            resource: None,
        }],
    };
    let text = empty.to_bundle("https://kmcr.example/fhir", "b3", "2026-12-07T10:00:00.000Z").to_string();
    assert!(!text.contains("Encounter/e1"), "an empty notification names no focus: {text}");
    assert!(text.contains("\"event-number\""));
}
