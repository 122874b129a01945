//! The person index as stored: links with their reasons, their history, and review pairs whose decisions stick.

use kmcr_store::{IdentityWrite, LinkChange, PersonLink, ReviewDecision, ReviewPair, ReviewStatus, Unlink};

use crate::backends::*;

fn link(patient_id: &str, person_id: &str, reason: &str) -> LinkChange {
    LinkChange {
        link: PersonLink {
            patient_id: patient_id.into(),
            person_id: person_id.into(),
            patient_version_id: 1,
            reason: reason.into(),
            linked_through: None,
            score: Some(0.995),
            evidence: Some("[]".into()),
        },
        previous_person_id: None,
        actor: "kmcr-matcher".into(),
    }
}

#[tokio::test]
async fn links_keep_their_reason_and_every_change_is_history() {
    for test in stores().await {
        let store = &test.store;
        let first = IdentityWrite {
            changes: vec![link("a", "person-1", "new-person"), link("b", "person-1", "probabilistic-score")],
            ..IdentityWrite::default()
        };
        store.write_with_identity(Vec::new(), first, None).await.unwrap();
        let mut moved = link("b", "person-2", "manual-decision");
        moved.previous_person_id = Some("person-1".into());
        let second = IdentityWrite {
            changes: vec![moved],
            unlinks: vec![Unlink {
                patient_id: "a".into(),
                previous_person_id: "person-1".into(),
                actor: "kmcr-matcher".into(),
            }],
            ..IdentityWrite::default()
        };
        store.write_with_identity(Vec::new(), second, None).await.unwrap();

        let links = store.person_links().await.unwrap();
        let summary: Vec<(&str, &str, &str)> = links
            .iter()
            .map(|link| (link.patient_id.as_str(), link.person_id.as_str(), link.reason.as_str()))
            .collect();
        assert_eq!(summary, vec![("b", "person-2", "manual-decision")], "{}", test.name);
        let history = store.link_history("b").await.unwrap();
        let moves: Vec<(Option<&str>, Option<&str>)> =
            history.iter().map(|entry| (entry.person_id_before.as_deref(), entry.person_id_after.as_deref())).collect();
        assert_eq!(moves, vec![(None, Some("person-1")), (Some("person-1"), Some("person-2"))], "{}", test.name);
        let deleted = store.link_history("a").await.unwrap();
        assert_eq!(deleted.last().map(|entry| entry.person_id_after.is_none()), Some(true), "{}", test.name);
    }
}

#[tokio::test]
async fn a_decided_review_stays_decided_when_the_pair_is_found_again() {
    for test in stores().await {
        let store = &test.store;
        let pair = |score: f64| ReviewPair {
            first_patient_id: "y".into(),
            second_patient_id: "x".into(),
            score,
            evidence: "[]".into(),
        };
        store
            .write_with_identity(
                Vec::new(),
                IdentityWrite { reviews: vec![pair(0.7)], ..IdentityWrite::default() },
                None,
            )
            .await
            .unwrap();
        let open = store.reviews(Some(ReviewStatus::Open), 0, 10).await.unwrap();
        assert_eq!(open.len(), 1, "{}", test.name);
        assert_eq!(
            (open[0].first_patient_id.as_str(), open[0].second_patient_id.as_str()),
            ("x", "y"),
            "{}: kept in id order",
            test.name
        );

        let decision = ReviewDecision {
            first_patient_id: "x".into(),
            second_patient_id: "y".into(),
            status: ReviewStatus::KeptApart,
            actor: "dq-officer-1".into(),
        };
        store
            .write_with_identity(
                Vec::new(),
                IdentityWrite { decisions: vec![decision], ..IdentityWrite::default() },
                None,
            )
            .await
            .unwrap();
        store
            .write_with_identity(
                Vec::new(),
                IdentityWrite { reviews: vec![pair(0.8)], ..IdentityWrite::default() },
                None,
            )
            .await
            .unwrap();

        let review = store.review(open[0].review_id).await.unwrap().unwrap();
        assert_eq!(
            (review.status, review.decided_by.as_deref(), review.score),
            (ReviewStatus::KeptApart, Some("dq-officer-1"), 0.7),
            "{}",
            test.name
        );
        assert!(store.reviews(Some(ReviewStatus::Open), 0, 10).await.unwrap().is_empty(), "{}", test.name);
    }
}

/// What a node following the others reads: each change after a sequence, in order, with its record; the current links
/// of chosen records; and decisions made since a time.
#[tokio::test]
async fn changes_links_and_decisions_are_read_from_where_a_follower_left_off() {
    for test in stores().await {
        let store = &test.store;
        assert_eq!(store.link_sequence_before(i64::MAX).await.unwrap(), 0, "{}: no changes yet", test.name);
        let first = IdentityWrite {
            changes: vec![link("a", "person-1", "new-person"), link("b", "person-1", "probabilistic-score")],
            ..IdentityWrite::default()
        };
        store.write_with_identity(Vec::new(), first, None).await.unwrap();
        let mut moved = link("b", "person-2", "manual-decision");
        moved.previous_person_id = Some("person-1".into());
        let second = IdentityWrite {
            changes: vec![moved, link("c", "person-2", "verified-nhs-number")],
            decisions: vec![ReviewDecision {
                first_patient_id: "b".into(),
                second_patient_id: "c".into(),
                status: ReviewStatus::Linked,
                actor: "dq-officer@RWF".into(),
            }],
            ..IdentityWrite::default()
        };
        store.write_with_identity(Vec::new(), second, None).await.unwrap();

        let all = store.link_changes_after(0, 10).await.unwrap();
        let records: Vec<&str> = all.iter().map(|change| change.patient_id.as_str()).collect();
        assert_eq!(records, vec!["a", "b", "b", "c"], "{}", test.name);
        assert!(all.windows(2).all(|pair| pair[0].sequence < pair[1].sequence), "{}", test.name);
        let rest = store.link_changes_after(all[1].sequence, 1).await.unwrap();
        assert_eq!(rest, vec![all[2].clone()], "{}: after a sequence, at most the limit", test.name);
        let newest = all[3].sequence;
        assert_eq!(store.link_sequence_before(i64::MAX).await.unwrap(), newest, "{}", test.name);
        assert_eq!(store.link_sequence_before(all[0].recorded_ms).await.unwrap(), 0, "{}", test.name);

        let links = store.person_links_of(&["b".into(), "c".into(), "never-linked".into()]).await.unwrap();
        let mut places: Vec<(&str, &str)> =
            links.iter().map(|link| (link.patient_id.as_str(), link.person_id.as_str())).collect();
        places.sort_unstable();
        assert_eq!(places, vec![("b", "person-2"), ("c", "person-2")], "{}", test.name);

        let decided = store.decisions_since(0).await.unwrap();
        let pairs: Vec<(&str, &str, ReviewStatus)> = decided
            .iter()
            .map(|review| (review.first_patient_id.as_str(), review.second_patient_id.as_str(), review.status))
            .collect();
        assert_eq!(pairs, vec![("b", "c", ReviewStatus::Linked)], "{}", test.name);
        let decided_ms = decided[0].decided_ms.unwrap();
        assert!(store.decisions_since(decided_ms + 1).await.unwrap().is_empty(), "{}", test.name);
    }
}
