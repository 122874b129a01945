//! Sign-in state shared by the nodes of a deployment: a one-time item is spent once, even when two take it at the same
//! moment; a replay names the grant to revoke; sessions end and stay ended; expired state goes.

use kmcr_store::{ItemTaken, SessionsToEnd, SignInChange, SignInItem, SignInOutcome, Store, StoredSession};

use crate::backends::stores;

fn item(kind: &str, key: &str, group_id: &str, expires_ms: i64) -> SignInItem {
    SignInItem {
        kind: kind.into(),
        key: key.into(),
        group_id: group_id.into(),
        content: format!("{{\"item\":\"{key}\"}}"),
        expires_ms,
    }
}

async fn take(store: &Store, kind: &str, key: &str) -> ItemTaken {
    match store.change_sign_in(SignInChange::TakeItem { kind: kind.into(), key: key.into() }).await.unwrap() {
        SignInOutcome::Taken(taken) => taken,
        other => panic!("taking answered {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_one_time_item_is_spent_once_and_its_replay_names_its_grant() {
    for test in stores().await {
        let (name, store) = (test.name, &test.store);
        store.change_sign_in(SignInChange::PutItem(item("code", "c1", "grant-1", 2_000))).await.unwrap();
        store.change_sign_in(SignInChange::PutItem(item("refresh", "r1", "grant-1", 2_000))).await.unwrap();
        store.change_sign_in(SignInChange::PutItem(item("refresh", "r2", "grant-2", 2_000))).await.unwrap();

        // Many takers at once, as several nodes would be: exactly one finds the code fresh.
        let takers: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { take(&store, "code", "c1").await })
            })
            .collect();
        let mut answers = Vec::new();
        for taker in takers {
            answers.push(taker.await.unwrap());
        }
        let fresh = answers.iter().filter(|answer| matches!(answer, ItemTaken::Fresh { .. })).count();
        assert_eq!(fresh, 1, "{name}: {answers:?}");
        assert!(
            answers.contains(&ItemTaken::Spent { group_id: "grant-1".into(), content: "{\"item\":\"c1\"}".into() }),
            "{name}"
        );
        assert_eq!(take(store, "code", "unknown").await, ItemTaken::Unknown, "{name}");
        assert_eq!(take(store, "refresh", "c1").await, ItemTaken::Unknown, "{name}: kinds are apart");

        // A replay revokes the grant: its refresh tokens are spent, other grants' are not.
        store.change_sign_in(SignInChange::SpendGroup { group_id: "grant-1".into() }).await.unwrap();
        assert_eq!(
            take(store, "refresh", "r1").await,
            ItemTaken::Spent { group_id: "grant-1".into(), content: "{\"item\":\"r1\"}".into() },
            "{name}"
        );
        let r2 = take(store, "refresh", "r2").await;
        assert_eq!(r2, ItemTaken::Fresh { content: "{\"item\":\"r2\"}".into(), expires_ms: 2_000 }, "{name}");

        // A waiting sign-in moves on while unspent, is read without spending, and is gone once expired.
        store.change_sign_in(SignInChange::PutItem(item("flow", "f1", "f1", 2_000))).await.unwrap();
        let replace =
            SignInChange::ReplaceItem { kind: "flow".into(), key: "f1".into(), content: "{\"step\":2}".into() };
        assert_eq!(store.change_sign_in(replace.clone()).await.unwrap(), SignInOutcome::Replaced(true), "{name}");
        assert_eq!(store.sign_in_item("flow", "f1", 1_000).await.unwrap().as_deref(), Some("{\"step\":2}"), "{name}");
        assert_eq!(store.sign_in_item("flow", "f1", 2_000).await.unwrap(), None, "{name}: expired");
        assert!(matches!(take(store, "flow", "f1").await, ItemTaken::Fresh { .. }), "{name}");
        assert_eq!(store.change_sign_in(replace).await.unwrap(), SignInOutcome::Replaced(false), "{name}: finished");
        assert_eq!(store.sign_in_item("flow", "f1", 1_000).await.unwrap(), None, "{name}: finished");

        store.change_sign_in(SignInChange::ForgetExpired { now_ms: 2_000 }).await.unwrap();
        assert_eq!(take(store, "refresh", "r1").await, ItemTaken::Unknown, "{name}: expired items are dropped");
    }
}

#[tokio::test]
async fn sessions_end_once_and_expired_ones_go() {
    for test in stores().await {
        let (name, store) = (test.name, &test.store);
        for (session_id, user_id) in [("s1", "user-a"), ("s2", "user-a"), ("s3", "user-b")] {
            let session = StoredSession {
                session_id: session_id.into(),
                user_id: user_id.into(),
                started_ms: 1_000,
                expires_ms: 5_000,
                ended: None,
            };
            store.change_sign_in(SignInChange::StartSession(session)).await.unwrap();
        }
        let end = |which, why: &str, at_ms| SignInChange::EndSessions { which, why: why.into(), at_ms };
        store.change_sign_in(end(SessionsToEnd::One("s1".into()), "signed-out", 2_000)).await.unwrap();
        store.change_sign_in(end(SessionsToEnd::OfUser("user-a".into()), "revoked", 3_000)).await.unwrap();
        let ended = |id: &'static str| async move { store.sign_in_session(id).await.unwrap().unwrap().ended };
        assert_eq!(ended("s1").await, Some((2_000, "signed-out".into())), "{name}: the first ending stays");
        assert_eq!(ended("s2").await, Some((3_000, "revoked".into())), "{name}");
        assert_eq!(ended("s3").await, None, "{name}: another user's session is untouched");
        assert_eq!(store.sign_in_session("unknown").await.unwrap(), None, "{name}");
        store.change_sign_in(SignInChange::ForgetExpired { now_ms: 5_000 }).await.unwrap();
        assert_eq!(store.sign_in_session("s3").await.unwrap(), None, "{name}: expired sessions are dropped");
    }
}
