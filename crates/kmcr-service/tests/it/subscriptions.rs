//! Subscriptions decided as reads: an event reaches only a subscriber that could read its focus through the API (its
//! organisation's relationship with the person, objections, sealed items), a sealed focus goes by its id alone, each
//! notification leaves an audit entry, and another organisation's system can neither see nor change a subscription.

use std::sync::Arc;

use kmcr_fhir::{ResourceId, ResourceType};
use kmcr_service::subscriptions::{
    Delivery, DeliveryKind, DeliveryResult, NextDelivery, PrincipalResolver, RegionalSubscription, SubscriptionSettings,
};
use kmcr_service::{RequestContext, ServiceError};
use serde_json::{Value, json};

use crate::world::{
    ACUTE, COMMUNITY, COUNCIL, GP, MENTAL_HEALTH, PERSON_A_NHS, PERSON_B_NHS, UNRELATED_ACUTE, World, gp_doctor,
    nhs_number, patient, system, worlds,
};

const TOPIC: &str = "https://fhir.kmcr.uk/SubscriptionTopic/";
const BACKPORT: &str = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/";

fn topic_subscription(topic: &str, filter: Option<&str>, payload: &str) -> Value {
    let filters: Vec<Value> = filter
        .into_iter()
        .map(|filter| json!({"url": format!("{BACKPORT}backport-filter-criteria"), "valueString": filter}))
        .collect();
    json!({
        "resourceType": "Subscription", "status": "requested", "reason": "test",
        "criteria": format!("{TOPIC}{topic}"),
        "_criteria": {"extension": filters},
        "channel": {"type": "rest-hook", "endpoint": "http://127.0.0.1:9/hook", "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": format!("{BACKPORT}backport-payload-content"), "valueCode": payload}]}},
    })
}

fn resolver() -> PrincipalResolver {
    Arc::new(|client_id: &str| {
        let ods_code = client_id.strip_prefix("system-")?;
        Some(system(ods_code, &["system/*.*"]).principal)
    })
}

async fn start(world: &World) {
    world.service.set_subscriber_principals(resolver());
    let settings = SubscriptionSettings { fhir_base_url: "https://kmcr.test/fhir".into(), ..Default::default() };
    world.service.start_subscriptions(settings).await.unwrap();
}

/// Creates a subscription and answers its handshake, so that it is active.
async fn subscribe(world: &World, context: &RequestContext, subscription: Value) -> String {
    let created = world.service.create_subscription(context, subscription).await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    let NextDelivery::Send(handshake) = world.service.next_delivery(&id).await.unwrap() else {
        panic!("{}: a new subscription's handshake is due", world.backend)
    };
    assert_eq!(handshake.kind, DeliveryKind::Handshake);
    world.service.delivery_result(&handshake, DeliveryResult::Answered(200)).await.unwrap();
    id
}

async fn encounter(world: &World, writer: &str, id: &str, patient: &str, status: &str, labels: &[&str]) {
    let security: Vec<Value> = labels
        .iter()
        .map(|code| json!({"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": code}))
        .collect();
    let mut resource = json!({"resourceType": "Encounter", "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER"},
        "subject": {"reference": format!("Patient/{patient}")}});
    if !security.is_empty() {
        resource["meta"] = json!({"security": security});
    }
    world.put(&system(writer, &["system/*.*"]), id, resource).await;
}

/// The notification due to `id`, answered as delivered: its body.
async fn notified(world: &World, id: &str) -> Option<(Delivery, Value)> {
    match world.service.next_delivery(id).await.unwrap() {
        NextDelivery::Send(delivery) => {
            world.service.delivery_result(&delivery, DeliveryResult::Answered(200)).await.unwrap();
            let body =
                delivery.body.as_deref().map(|body| serde_json::from_slice(body).unwrap()).unwrap_or(Value::Null);
            Some((delivery, body))
        }
        _ => None,
    }
}

/// The focus references and whether each entry carried its resource.
fn foci(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .skip(1)
        .map(|entry| {
            let carried = if entry.get("resource").is_some() { "with resource" } else { "id only" };
            format!("{} {carried}", entry["request"]["url"].as_str().unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_notification_carries_only_what_its_subscriber_may_read_and_is_audited() {
    for world in worlds().await {
        let backend = world.backend;
        start(&world).await;
        let gp = system(GP, &["system/*.*"]);
        // The GP practice: emergency attendances of the people registered with it.
        let gp_feed = subscribe(
            &world,
            &gp,
            topic_subscription("emergency-attendance", Some("Encounter?route=registered-practice"), "full-resource"),
        )
        .await;
        // An acute trust with no relationship with person A asks for every attendance it may see.
        let unrelated = system(UNRELATED_ACUTE, &["system/*.*"]);
        let unrelated_feed =
            subscribe(&world, &unrelated, topic_subscription("emergency-attendance", None, "full-resource")).await;

        encounter(&world, ACUTE, "ae-1", "pa-rvv", "in-progress", &[]).await;
        // A sealed attendance (mental health) is announced by its id alone.
        encounter(&world, MENTAL_HEALTH, "ae-2", "pa-rxy", "in-progress", &["PSY"]).await;
        // Person B is registered with the GP too, but another acute trust's attendance of person B ...
        encounter(&world, ACUTE, "ae-3", "pb-gp", "triaged", &[]).await;
        let given = world.service.dispatch_events().await.unwrap();
        assert_eq!(given, std::slice::from_ref(&gp_feed), "{backend}: only the GP's subscription was given events");

        let mut received = Vec::new();
        while let Some((delivery, body)) = notified(&world, &gp_feed).await {
            assert!(matches!(delivery.kind, DeliveryKind::Events { .. }), "{backend}");
            received.extend(foci(&body));
        }
        assert_eq!(
            received,
            ["Encounter/ae-1 with resource", "Encounter/ae-2 id only", "Encounter/ae-3 with resource",],
            "{backend}"
        );
        assert!(notified(&world, &unrelated_feed).await.is_none(), "{backend}");

        let audit = world.store.audit_entries(0, 100_000).await.unwrap();
        let notifications: Vec<_> = audit.iter().filter(|entry| entry.record.action == "notify").collect();
        assert_eq!(notifications.len(), 3, "{backend}: one audit entry per notification sent");
        assert!(notifications.iter().all(|entry| entry.record.actor_id == "system-G82001"), "{backend}");
        assert!(notifications[0].record.resources.contains(&"Encounter/ae-1".to_string()), "{backend}");
        assert!(!notifications[0].record.persons.is_empty(), "{backend}: the notification names its person");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_objection_recorded_after_an_event_empties_its_notification() {
    for world in worlds().await {
        let backend = world.backend;
        start(&world).await;
        let gp = system(GP, &["system/*.*"]);
        let feed = subscribe(
            &world,
            &gp,
            topic_subscription("encounter-started", Some("patient=Patient/pa-gp"), "full-resource"),
        )
        .await;
        encounter(&world, ACUTE, "enc-2", "pa-rvv", "in-progress", &[]).await;
        assert_eq!(world.service.dispatch_events().await.unwrap(), std::slice::from_ref(&feed), "{backend}");
        // The person objects to sharing the acute trust's record before the notification leaves.
        let objection = crate::world::shared_record_objection("pa-rvv", Some(ACUTE));
        world.put(&crate::world::ig_officer(), "objection-1", objection).await;
        let (_, body) = notified(&world, &feed).await.expect("the event is still due");
        assert_eq!(foci(&body), ["Encounter/enc-2 id only"], "{backend}: withheld from the GP now");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_classic_criteria_subscription_hears_of_matching_changes_only() {
    for world in worlds().await {
        let backend = world.backend;
        start(&world).await;
        let acute = system(ACUTE, &["system/*.*"]);
        let classic = json!({"resourceType": "Subscription", "status": "requested", "reason": "test",
            "criteria": "Encounter?patient=Patient/pa-rvv&status=finished",
            "channel": {"type": "rest-hook", "endpoint": "http://127.0.0.1:9/hook", "payload": "application/fhir+json"}});
        let feed = subscribe(&world, &acute, classic).await;
        encounter(&world, ACUTE, "enc-c", "pa-rvv", "in-progress", &[]).await;
        encounter(&world, ACUTE, "enc-c", "pa-rvv", "finished", &[]).await;
        world.service.dispatch_events().await.unwrap();
        let (delivery, body) = notified(&world, &feed).await.expect("the finished encounter is notified");
        assert_eq!(
            (delivery.method, delivery.url.as_str()),
            ("PUT", "http://127.0.0.1:9/hook/Encounter/enc-c"),
            "{backend}"
        );
        assert_eq!(body["status"], "finished", "{backend}");
        assert!(notified(&world, &feed).await.is_none(), "{backend}: the in-progress version did not match");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn who_may_subscribe_and_who_may_see_a_subscription() {
    for world in worlds().await {
        let backend = world.backend;
        start(&world).await;
        let subscription = topic_subscription("new-result", Some("patient=Patient/pa-gp"), "id-only");
        let refused = |result: Result<Value, ServiceError>| match result {
            Err(error) => error.to_string(),
            Ok(_) => panic!("{backend}: accepted"),
        };
        let by_user = refused(world.service.create_subscription(&gp_doctor(), subscription.clone()).await);
        assert!(by_user.contains("organisation's system"), "{backend}: {by_user}");
        let no_read = system(GP, &["system/Subscription.c"]);
        let without_scope = refused(world.service.create_subscription(&no_read, subscription.clone()).await);
        assert!(without_scope.contains("may not read"), "{backend}: {without_scope}");
        let stranger = system(UNRELATED_ACUTE, &["system/*.*"]);
        let unrelated_patient = refused(world.service.create_subscription(&stranger, subscription.clone()).await);
        assert!(unrelated_patient.contains("not a patient this client may read"), "{backend}: {unrelated_patient}");
        let bad_topic = topic_subscription("admissions", None, "id-only");
        let unknown = refused(world.service.create_subscription(&system(GP, &["system/*.*"]), bad_topic).await);
        assert!(unknown.contains("is not a topic KMCR offers"), "{backend}: {unknown}");

        let gp = system(GP, &["system/*.*"]);
        let id = subscribe(&world, &gp, subscription).await;
        assert_eq!(world.service.read_subscription(&gp, &id).await.unwrap()["status"], "active", "{backend}");
        assert!(
            matches!(world.service.read_subscription(&stranger, &id).await, Err(ServiceError::NotFound)),
            "{backend}"
        );
        assert!(matches!(world.service.delete_subscription(&stranger, &id).await, Err(ServiceError::NotFound)));
        assert!(world.service.list_subscriptions(&stranger).await.unwrap().is_empty(), "{backend}");
        assert_eq!(world.service.list_subscriptions(&gp).await.unwrap().len(), 1, "{backend}");
        // KMCR sends only where the region registered the organisation's endpoints.
        let settings = SubscriptionSettings {
            fhir_base_url: "https://kmcr.test/fhir".into(),
            endpoint_prefixes: Some([(GP.to_string(), vec!["https://gp.example/".to_string()])].into()),
            ..Default::default()
        };
        world.service.start_subscriptions(settings).await.unwrap();
        let elsewhere = topic_subscription("new-result", Some("patient=Patient/pa-gp"), "id-only");
        let refused = world.service.create_subscription(&gp, elsewhere).await.unwrap_err().to_string();
        assert!(
            refused.contains("not one of the notification endpoints registered for G82001"),
            "{backend}: {refused}"
        );
        // A Subscription is never an ordinary resource: not through PUT, nor in a transaction.
        let generic = world
            .service
            .update(&gp, ResourceType::parse("Subscription").unwrap(), ResourceId::parse("x1").unwrap(), json!({"resourceType": "Subscription", "id": "x1", "status": "requested", "reason": "r", "criteria": "Encounter?patient=Patient/pa-gp", "channel": {"type": "rest-hook"}}), None)
            .await;
        assert!(generic.is_err(), "{backend}");
    }
}

fn regional(
    name: &str,
    ods_code: &str,
    topic: kmcr_events::Topic,
    route: kmcr_events::Route,
    classes: &[&str],
) -> RegionalSubscription {
    RegionalSubscription {
        name: name.into(),
        ods_code: kmcr_fhir::OdsCode::parse(ods_code).unwrap(),
        topic,
        route,
        classes: classes.iter().map(|class| class.to_string()).collect(),
        endpoint: format!("http://127.0.0.1:9/{ods_code}"),
        headers: vec![("Authorization".into(), "Bearer secret".into())],
        payload: kmcr_events::Payload::IdOnly,
        heartbeat_period_s: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn regional_events_reach_the_gp_the_council_and_the_community_team_of_the_person() {
    use kmcr_events::{Route, Topic};
    for world in worlds().await {
        let backend = world.backend;
        world.service.set_subscriber_principals(resolver());
        let settings = SubscriptionSettings {
            fhir_base_url: "https://kmcr.test/fhir".into(),
            regional: vec![
                regional("emergency-attendance-to-gp", GP, Topic::EmergencyAttendance, Route::RegisteredPractice, &[]),
                regional(
                    "unscheduled-care-to-local-authority",
                    COUNCIL,
                    Topic::EmergencyAttendance,
                    Route::ResponsibleLocalAuthority,
                    &[],
                ),
                regional("admission-to-community-team", COMMUNITY, Topic::EncounterStarted, Route::Caseload, &["IMP"]),
                regional("safeguarding-flag-to-gp", GP, Topic::SafeguardingFlagChanged, Route::RegisteredPractice, &[]),
            ],
            ..Default::default()
        };
        world.service.start_subscriptions(settings).await.unwrap();
        // Person B is a child on a child protection plan: the council's record, its open episode and its flag.
        let council = system(COUNCIL, &["system/*.*"]);
        world.put(&council, "pb-la", patient(&nhs_number(PERSON_B_NHS), "Brenchley")).await;
        let episode = json!({"resourceType": "EpisodeOfCare", "status": "active", "patient": {"reference": "Patient/pb-la"},
            "period": {"start": "2026-01-01"}});
        world.put(&council, "eoc-la", episode).await;
        let flag = json!({"resourceType": "Flag", "status": "active", "subject": {"reference": "Patient/pb-la"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "342191000000101"}]}});
        world.put(&council, "flag-la", flag).await;
        // Person A is on the community team's caseload.
        let community = system(COMMUNITY, &["system/*.*"]);
        world.put(&community, "pa-com", patient(&nhs_number(PERSON_A_NHS), "Ashdown")).await;
        let episode = json!({"resourceType": "EpisodeOfCare", "status": "active", "patient": {"reference": "Patient/pa-com"},
            "period": {"start": "2026-01-01"}});
        world.put(&community, "eoc-com", episode).await;
        // The acute trust admits person A and sees person B in its emergency department.
        let acute = system(ACUTE, &["system/*.*"]);
        world.put(&acute, "pb-rvv", patient(&nhs_number(PERSON_B_NHS), "Brenchley")).await;
        let admission = json!({"resourceType": "Encounter", "status": "in-progress", "class": {"code": "IMP"},
            "subject": {"reference": "Patient/pa-rvv"}});
        world.put(&acute, "adm-a", admission).await;
        encounter(&world, ACUTE, "ae-b", "pb-rvv", "arrived", &[]).await;
        world.service.dispatch_events().await.unwrap();

        let mut received = Vec::new();
        for (ods_code, name) in [
            (GP, "safeguarding-flag-to-gp"),
            (GP, "emergency-attendance-to-gp"),
            (COUNCIL, "unscheduled-care-to-local-authority"),
            (COMMUNITY, "admission-to-community-team"),
        ] {
            let id = format!("regional-{}-{name}", ods_code.to_ascii_lowercase());
            while let Some((delivery, body)) = notified(&world, &id).await {
                assert!(delivery.headers.contains(&("Authorization".into(), "Bearer secret".into())), "{backend}");
                if delivery.kind != DeliveryKind::Handshake {
                    received.push(format!("{ods_code}: {}", foci(&body).join(", ")));
                }
            }
        }
        assert_eq!(
            received,
            [
                "G82001: Flag/flag-la id only",
                "G82001: Encounter/ae-b id only",
                "LA101: Encounter/ae-b id only",
                "RYCOM: Encounter/adm-a id only"
            ],
            "{backend}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_endpoint_that_keeps_failing_puts_its_subscription_in_error_with_the_reason() {
    for world in worlds().await {
        let backend = world.backend;
        world.service.set_subscriber_principals(resolver());
        let retry = kmcr_events::RetryPolicy { attempts_before_error: 3, error_after_ms: 0, ..Default::default() };
        let settings =
            SubscriptionSettings { fhir_base_url: "https://kmcr.test/fhir".into(), retry, ..Default::default() };
        world.service.start_subscriptions(settings).await.unwrap();
        let gp = system(GP, &["system/*.*"]);
        let created = world
            .service
            .create_subscription(&gp, topic_subscription("encounter-started", Some("patient=Patient/pa-gp"), "id-only"))
            .await
            .unwrap();
        let id = created["id"].as_str().unwrap().to_string();
        for attempt in 1..=3u32 {
            let NextDelivery::Send(handshake) = world.service.next_delivery(&id).await.unwrap() else {
                panic!("{backend}: the handshake is tried again")
            };
            let failures = world.service.delivery_result(&handshake, DeliveryResult::Answered(503)).await.unwrap();
            assert_eq!(failures, attempt, "{backend}");
        }
        let read = world.service.read_subscription(&gp, &id).await.unwrap();
        assert_eq!(read["status"], "error", "{backend}");
        let error = read["error"].as_str().unwrap();
        assert!(error.contains("3 handshakes in a row failed") && error.contains("HTTP 503"), "{backend}: {error}");
        assert!(matches!(world.service.next_delivery(&id).await.unwrap(), NextDelivery::Idle), "{backend}");
        // Put back to requested, it shakes hands again.
        let mut again = read.clone();
        again["status"] = json!("requested");
        world.service.update_subscription(&gp, &id, again).await.unwrap();
        let NextDelivery::Send(handshake) = world.service.next_delivery(&id).await.unwrap() else {
            panic!("{backend}")
        };
        assert_eq!(handshake.kind, DeliveryKind::Handshake, "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn heartbeats_fall_due_and_an_end_already_passed_is_refused() {
    for world in worlds().await {
        let backend = world.backend;
        start(&world).await;
        let gp = system(GP, &["system/*.*"]);
        let mut asked = topic_subscription("new-document", Some("patient=Patient/pa-gp"), "id-only");
        asked["channel"]["extension"] =
            json!([{"url": format!("{BACKPORT}backport-heartbeat-period"), "valueUnsignedInt": 30}]);
        let id = subscribe(&world, &gp, asked.clone()).await;
        match world.service.next_delivery(&id).await.unwrap() {
            NextDelivery::WaitMs(wait) => assert!(wait > 25_000 && wait <= 30_000, "{backend}: {wait} ms"),
            other => panic!("{backend}: a heartbeat is due in 30 s, not {other:?}"),
        }
        asked["end"] = json!("2026-01-01T00:00:00Z");
        let refused = world.service.create_subscription(&gp, asked).await.unwrap_err().to_string();
        assert!(refused.contains("has passed"), "{backend}: {refused}");
    }
}
