//! Subscriptions as clients write them: the Backport IG's topic-based form and classic R4 criteria.

use expect_test::{Expect, expect};
use kmcr_events::subscription::parse_subscription;
use serde_json::{Value, json};

const CLASSIC_TYPES: [&str; 5] = ["Encounter", "DiagnosticReport", "DocumentReference", "Flag", "Patient"];

fn check(subscription: Value, expected: Expect) {
    let parsed = match parse_subscription(&subscription, &CLASSIC_TYPES) {
        Ok(spec) => format!("{spec:#?}"),
        Err(error) => format!("refused: {error}"),
    };
    expected.assert_eq(&parsed);
}

fn backport(criteria: &str, filters: &[&str], channel_extra: Value) -> Value {
    let extensions: Vec<Value> = filters
        .iter()
        .map(|filter| json!({"url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria", "valueString": filter}))
        .collect();
    let mut channel = json!({"type": "rest-hook", "endpoint": "https://gp.example/notify", "payload": "application/fhir+json",
        "header": ["Authorization: Bearer secret-token"]});
    if let (Some(channel), Some(extra)) = (channel.as_object_mut(), channel_extra.as_object()) {
        channel.extend(extra.clone());
    }
    json!({
        "resourceType": "Subscription",
        "meta": {"profile": ["http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription"]},
        "status": "requested",
        "reason": "GP practice notifications",
        "criteria": criteria,
        "_criteria": {"extension": extensions},
        "channel": channel,
    })
}

#[test]
fn a_topic_filtered_to_one_patient_with_every_channel_extension() {
    let channel = json!({
        "extension": [
            {"url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period", "valueUnsignedInt": 60},
            {"url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-timeout", "valueUnsignedInt": 30},
            {"url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-max-count", "valuePositiveInt": 20}
        ],
        "_payload": {"extension": [{"url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content", "valueCode": "full-resource"}]}
    });
    check(
        backport(
            "https://fhir.kmcr.uk/SubscriptionTopic/encounter-finished",
            &["Encounter?patient=Patient/abc-1&class=EMER,IMP"],
            channel,
        ),
        expect![[r#"
            SubscriptionSpec {
                what: Topic {
                    topic: EncounterFinished,
                    filters: [
                        Patient(
                            "abc-1",
                        ),
                        Class(
                            [
                                "EMER",
                                "IMP",
                            ],
                        ),
                    ],
                },
                endpoint: "https://gp.example/notify",
                headers: [
                    (
                        "Authorization",
                        "Bearer secret-token",
                    ),
                ],
                payload: Backport(
                    FullResource,
                ),
                heartbeat_period_s: Some(
                    60,
                ),
                timeout_s: 30,
                max_count: 20,
                end: None,
            }"#]],
    );
}

#[test]
fn a_route_filter_and_id_only_by_default() {
    check(
        backport(
            "https://fhir.kmcr.uk/SubscriptionTopic/emergency-attendance",
            &["route=registered-practice"],
            json!({}),
        ),
        expect![[r#"
            SubscriptionSpec {
                what: Topic {
                    topic: EmergencyAttendance,
                    filters: [
                        Route(
                            RegisteredPractice,
                        ),
                    ],
                },
                endpoint: "https://gp.example/notify",
                headers: [
                    (
                        "Authorization",
                        "Bearer secret-token",
                    ),
                ],
                payload: Backport(
                    IdOnly,
                ),
                heartbeat_period_s: None,
                timeout_s: 10,
                max_count: 1,
                end: None,
            }"#]],
    );
}

#[test]
fn refusals_name_the_element_and_the_reason() {
    let refusals: Vec<String> = [
        backport("http://example.org/SubscriptionTopic/admission", &[], json!({})),
        backport("https://fhir.kmcr.uk/SubscriptionTopic/new-result", &["Encounter?patient=Patient/1"], json!({})),
        backport("https://fhir.kmcr.uk/SubscriptionTopic/new-result", &["DiagnosticReport?code=1234"], json!({})),
        backport("https://fhir.kmcr.uk/SubscriptionTopic/new-result", &["route=everyone"], json!({})),
        backport("https://fhir.kmcr.uk/SubscriptionTopic/new-result", &[], json!({"type": "websocket"})),
        backport("https://fhir.kmcr.uk/SubscriptionTopic/new-result", &[], json!({"endpoint": "ftp://x"})),
        backport("https://fhir.kmcr.uk/SubscriptionTopic/new-result", &[], json!({"endpoint": "https://user:pw@x/"})),
        backport("https://fhir.kmcr.uk/SubscriptionTopic/new-result", &[], json!({"header": ["Host: evil"]})),
        backport("https://fhir.kmcr.uk/SubscriptionTopic/new-result", &[], json!({"extension": [
            {"url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period", "valueUnsignedInt": 1}]})),
        json!({"resourceType": "Subscription", "status": "requested", "criteria": "Observation?patient=Patient/1",
            "channel": {"type": "rest-hook", "endpoint": "https://x/"}}),
        json!({"resourceType": "Subscription", "status": "requested", "criteria": "Encounter?status=finished",
            "channel": {"type": "rest-hook", "endpoint": "https://x/"}}),
    ]
    .into_iter()
    .map(|subscription| parse_subscription(&subscription, &CLASSIC_TYPES).unwrap_err().to_string())
    .collect();
    expect![[r#"
        Subscription.criteria: 'http://example.org/SubscriptionTopic/admission' is not a topic KMCR offers (see the CapabilityStatement)
        Subscription._criteria: new-result filters DiagnosticReport, not Encounter
        Subscription._criteria: new-result takes no filter 'code' (it takes patient, route)
        Subscription._criteria: route 'everyone' is not one of registered-practice, caseload, responsible-local-authority, care-team
        Subscription.channel.type: 'websocket' is not offered: KMCR sends rest-hook only
        Subscription.channel.endpoint: an http or https URL is expected
        Subscription.channel.endpoint: credentials belong in channel.header, not the URL
        Subscription.channel.header: the Host header is KMCR's to set
        Subscription.channel: a heartbeat period is at least 10 s
        Subscription.criteria: a criteria search is offered on Encounter, DiagnosticReport, DocumentReference, Flag, Patient, not 'Observation'
        Subscription.criteria: a criteria search names the patient it is about (patient=Patient/id)"#]]
    .assert_eq(&refusals.join("\n"));
}

#[test]
fn a_classic_criteria_search_with_and_without_a_payload() {
    let classic = |payload: Option<&str>| {
        let mut subscription = json!({"resourceType": "Subscription", "status": "requested", "reason": "r",
            "criteria": "Encounter?patient=Patient%2Fp-9&status=finished",
            "channel": {"type": "rest-hook", "endpoint": "http://127.0.0.1:9/hook"}});
        if let Some(payload) = payload {
            subscription["channel"]["payload"] = json!(payload);
        }
        subscription
    };
    let spec = parse_subscription(&classic(None), &CLASSIC_TYPES).unwrap();
    assert_eq!(spec.patient_id(), Some("p-9"));
    assert_eq!(format!("{:?}", spec.payload), "ClassicEmpty");
    check(
        classic(Some("application/fhir+json")),
        expect![[r#"
            SubscriptionSpec {
                what: Criteria(
                    CriteriaSearch {
                        resource_type: "Encounter",
                        query: [
                            (
                                "patient",
                                "Patient/p-9",
                            ),
                            (
                                "status",
                                "finished",
                            ),
                        ],
                        patient_id: "p-9",
                    },
                ),
                endpoint: "http://127.0.0.1:9/hook",
                headers: [],
                payload: ClassicResource,
                heartbeat_period_s: None,
                timeout_s: 10,
                max_count: 1,
                end: None,
            }"#]],
    );
}
