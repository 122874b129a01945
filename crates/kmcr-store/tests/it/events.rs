//! Events fired by writes: in the outbox in the transaction of the data (none from a write that fails, none from a
//! bulk load), once per change of what a topic looks at; and each subscription's events numbered once, whichever
//! node hands them out.

use kmcr_store::{
    EventRange, LoadCheckpoint, LoadJob, NewSubscriptionEvent, OutboxEvent, Precondition, Receipt, Store,
    StoredSubscription, SubscriptionChange, SubscriptionOutcome,
};
use serde_json::{Value, json};

use crate::backends::{put, stores};

fn encounter(id: &str, patient: &str, status: &str) -> Value {
    json!({"resourceType": "Encounter", "id": id, "status": status, "class": {"code": "IMP"},
        "subject": {"reference": format!("Patient/{patient}")}})
}

fn summary(outbox: &[OutboxEvent]) -> Vec<String> {
    outbox
        .iter()
        .map(|event| {
            format!(
                "{} {}/{} v{} patient {}",
                event.topic,
                event.resource_type,
                event.resource_id,
                event.version_id,
                event.patient_id.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_fire_topics_in_their_own_transaction_once_per_change() {
    for test in stores().await {
        let (name, store) = (test.name, &test.store);
        let patient = json!({"resourceType": "Patient", "id": "p1", "name": [{"family": "Test"}]});
        store.write(vec![put(patient, "RWF", Precondition::None)], None).await.unwrap();
        for status in ["in-progress", "in-progress", "finished"] {
            store.write(vec![put(encounter("e1", "p1", status), "RWF", Precondition::None)], None).await.unwrap();
        }
        // A batch that fails leaves nothing behind, its events included.
        let failing = vec![
            put(encounter("e2", "p1", "in-progress"), "RWF", Precondition::None),
            put(encounter("e1", "p1", "in-progress"), "RWF", Precondition::VersionIs(1)),
        ];
        assert!(store.write(failing, None).await.is_err(), "{name}");
        // A bulk load brings history: its items keep their state but fire nothing; a later change is news.
        let job = LoadJob {
            job_id: "job-1".into(),
            ods_code: "RWF".into(),
            client_id: "test".into(),
            source: "test".into(),
            started_ms: 1,
        };
        store.write_with_receipt(vec![], None, Receipt::LoadStarted(job)).await.unwrap();
        let checkpoint = LoadCheckpoint {
            job_id: "job-1".into(),
            previous_lines_done: 0,
            lines_done: 1,
            loaded: 1,
            refusals: vec![],
            recorded_ms: 2,
        };
        let loaded = vec![put(encounter("e3", "p1", "in-progress"), "RWF", Precondition::None)];
        store.write_with_receipt(loaded, None, Receipt::LoadProgress(checkpoint)).await.unwrap();
        store.write(vec![put(encounter("e3", "p1", "in-progress"), "RWF", Precondition::None)], None).await.unwrap();
        store.write(vec![put(encounter("e3", "p1", "finished"), "RWF", Precondition::None)], None).await.unwrap();
        let outbox = store.event_outbox(100).await.unwrap();
        assert_eq!(
            summary(&outbox),
            [
                "encounter-started Encounter/e1 v1 patient p1",
                "encounter-finished Encounter/e1 v3 patient p1",
                "encounter-finished Encounter/e3 v3 patient p1",
            ],
            "{name}"
        );
        assert!(outbox.windows(2).all(|pair| pair[0].seq < pair[1].seq), "{name}: oldest first");
        assert!(outbox.iter().all(|event| event.source_ods_code.as_deref() == Some("RWF")), "{name}");
    }
}

fn subscription(id: &str) -> StoredSubscription {
    StoredSubscription {
        status: "active".into(),
        ..StoredSubscription::requested(id, "client", "RWF", false, "{}".into(), 10)
    }
}

fn given(subscription_id: &str, event: &OutboxEvent) -> NewSubscriptionEvent {
    NewSubscriptionEvent::of(subscription_id, event, "id-only")
}

async fn numbered(store: &Store, change: SubscriptionChange) -> Vec<(String, i64)> {
    match store.change_subscriptions(change).await.unwrap() {
        SubscriptionOutcome::Numbered(numbered) => numbered,
        other => panic!("a dispatch answered {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_subscriptions_events_are_numbered_once_and_delivery_is_counted() {
    for test in stores().await {
        let (name, store) = (test.name, &test.store);
        let patient = json!({"resourceType": "Patient", "id": "p1"});
        store.write(vec![put(patient, "RWF", Precondition::None)], None).await.unwrap();
        for id in ["e1", "e2"] {
            store.write(vec![put(encounter(id, "p1", "in-progress"), "RWF", Precondition::None)], None).await.unwrap();
        }
        for id in ["s1", "s2"] {
            store.change_subscriptions(SubscriptionChange::Put(subscription(id))).await.unwrap();
        }
        let outbox = store.event_outbox(100).await.unwrap();
        assert_eq!(outbox.len(), 2, "{name}");
        let seqs: Vec<i64> = outbox.iter().map(|event| event.seq).collect();
        let events = vec![given("s1", &outbox[0]), given("s2", &outbox[0]), given("s1", &outbox[1])];
        let dispatch = SubscriptionChange::Dispatch { outbox_seqs: seqs.clone(), events: events.clone() };
        assert_eq!(
            numbered(store, dispatch).await,
            [("s1".to_string(), 1), ("s2".to_string(), 1), ("s1".to_string(), 2)],
            "{name}"
        );
        assert!(store.event_outbox(100).await.unwrap().is_empty(), "{name}: taken out of the outbox");
        // Another node handing out the same rows finds them taken, and numbers nothing.
        let again = SubscriptionChange::Dispatch { outbox_seqs: seqs, events };
        assert!(numbered(store, again).await.is_empty(), "{name}");

        let delivered =
            SubscriptionChange::Delivered { subscription_id: "s1".into(), through_event_number: Some(1), at_ms: 20 };
        store.change_subscriptions(delivered).await.unwrap();
        let failed = SubscriptionChange::Failed { subscription_id: "s1".into(), at_ms: 30, status: None, error: None };
        store.change_subscriptions(failed).await.unwrap();
        let pending = EventRange { from_number: 1, to_number: i64::MAX, only_undelivered: true, limit: 10 };
        let undelivered = store.subscription_events("s1", pending).await.unwrap();
        assert_eq!(undelivered.iter().map(|event| event.event_number).collect::<Vec<_>>(), [2], "{name}");
        assert_eq!(undelivered[0].resource_id, "e2", "{name}");
        let s1 = store.subscriptions(Some("s1")).await.unwrap().remove(0);
        assert_eq!(
            (s1.events_since_start, s1.n_sent, s1.n_failed, s1.failures_in_row, s1.last_delivered_ms),
            (2, 1, 1, 1, Some(20)),
            "{name}"
        );
        let mut with_undelivered = store.subscriptions_with_undelivered().await.unwrap();
        with_undelivered.sort();
        assert_eq!(with_undelivered, ["s1", "s2"], "{name}");
        // Put back to `requested`, a subscription keeps its count and events but starts its failures again.
        let mut requested = subscription("s1");
        requested.status = "requested".into();
        store.change_subscriptions(SubscriptionChange::Put(requested)).await.unwrap();
        let s1 = store.subscriptions(Some("s1")).await.unwrap().remove(0);
        assert_eq!((s1.status.as_str(), s1.events_since_start, s1.failures_in_row), ("requested", 2, 0), "{name}");
        store.change_subscriptions(SubscriptionChange::Remove { subscription_id: "s1".into() }).await.unwrap();
        let all = EventRange { from_number: 1, to_number: i64::MAX, only_undelivered: false, limit: 10 };
        assert!(store.subscription_events("s1", all).await.unwrap().is_empty(), "{name}");
        assert_eq!(store.subscriptions(None).await.unwrap().len(), 1, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_node_at_a_time_sends_notifications() {
    for test in stores().await {
        let (name, store) = (test.name, &test.store);
        let first = store.try_lead_notifications().await.unwrap().expect("the first node leads");
        assert!(first.still_held().await, "{name}");
        if name == "postgres" {
            let other = Store::open(&test.location, &kmcr_store::StoreOptions::default()).await.unwrap();
            assert!(other.try_lead_notifications().await.unwrap().is_none(), "a second node waits while one leads");
            drop(first);
            let mut taken = None;
            for _ in 0..50 {
                taken = other.try_lead_notifications().await.unwrap();
                if taken.is_some() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            assert!(taken.is_some(), "the second node takes over once the first lets go");
        }
    }
}
