//! Sign-in state in the shared database, so that every node of a deployment honours the same sessions, codes and
//! refresh tokens: a user signed in through one node is served by any, a code is redeemed once whichever node it
//! reaches, and a sign-out on one node refuses the session's tokens on all of them.
//!
//! Checking a session is on the path of every request, so a node remembers for [`SESSION_RECHECK_MS`] that a session
//! was active. A sign-out through this node takes effect here at once; through another node, within that time.

use std::collections::HashMap;
use std::sync::Mutex;

use kmcr_auth::state::ready;
use kmcr_auth::{
    AuthorizationCodeGrant, AuthorizationStore, Redemption, RefreshGrant, SessionEnd, SessionRegistry, SignInSession,
    StateFuture, StateUnavailable,
};
use kmcr_fhir::Instant;
use kmcr_store::{ItemTaken, SessionsToEnd, SignInChange, SignInItem, SignInOutcome, Store, StoreError, StoredSession};

/// How long a node trusts its last look at a session before it reads the database again.
pub const SESSION_RECHECK_MS: i64 = 1_000;
/// Sessions remembered as active at most; past this the memory starts again.
const MAX_REMEMBERED_SESSIONS: usize = 100_000;

const CODE: &str = "code";
const REFRESH: &str = "refresh";
const FLOW: &str = "flow";
const FAILED_SIGN_IN: &str = "failed-sign-in";

fn unavailable(error: StoreError) -> StateUnavailable {
    StateUnavailable(error.to_string())
}

/// Sessions in the store, with each node's short memory of those it found active.
pub struct StoredSessions {
    store: Store,
    /// Session id to the instant it was last read as active, and when it expires.
    active: Mutex<HashMap<String, (i64, i64)>>,
}

impl StoredSessions {
    pub fn new(store: Store) -> StoredSessions {
        StoredSessions { store, active: Mutex::new(HashMap::new()) }
    }

    fn active(&self) -> std::sync::MutexGuard<'_, HashMap<String, (i64, i64)>> {
        self.active.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn end_where(&self, which: SessionsToEnd, why: SessionEnd, now: Instant) -> Result<(), StateUnavailable> {
        let change = SignInChange::EndSessions { which, why: why.as_str().to_string(), at_ms: now.unix_ms };
        self.store.change_sign_in(change).await.map_err(unavailable)?;
        Ok(())
    }
}

fn session_of(stored: StoredSession) -> SignInSession {
    SignInSession {
        session_id: stored.session_id,
        user_id: stored.user_id,
        started_at: Instant::from_unix_ms(stored.started_ms),
        expires_at: Instant::from_unix_ms(stored.expires_ms),
        // A reason this version does not know still ends the session.
        ended: stored
            .ended
            .map(|(at_ms, why)| (SessionEnd::parse(&why).unwrap_or(SessionEnd::Revoked), Instant::from_unix_ms(at_ms))),
    }
}

impl SessionRegistry for StoredSessions {
    fn start<'a>(&'a self, user_id: &'a str, now: Instant, lifetime_s: i64) -> StateFuture<'a, String> {
        Box::pin(async move {
            let session_id = kmcr_auth::secret::random_url_safe(32);
            let session = StoredSession {
                session_id: session_id.clone(),
                user_id: user_id.to_string(),
                started_ms: now.unix_ms,
                expires_ms: now.unix_ms + lifetime_s * 1000,
                ended: None,
            };
            self.store.change_sign_in(SignInChange::StartSession(session)).await.map_err(unavailable)?;
            Ok(session_id)
        })
    }

    fn is_active<'a>(&'a self, session_id: &'a str, now: Instant) -> StateFuture<'a, bool> {
        if let Some((checked_ms, expires_ms)) = self.active().get(session_id).copied()
            && now.unix_ms - checked_ms < SESSION_RECHECK_MS
        {
            return ready(Ok(now.unix_ms < expires_ms));
        }
        Box::pin(async move {
            let stored = self.store.sign_in_session(session_id).await.map_err(unavailable)?;
            let session = stored.map(session_of);
            let active = session.as_ref().is_some_and(|session| session.is_active(now));
            let mut remembered = self.active();
            match session.filter(|_| active) {
                Some(session) => {
                    if remembered.len() >= MAX_REMEMBERED_SESSIONS {
                        remembered.clear();
                    }
                    remembered.insert(session.session_id, (now.unix_ms, session.expires_at.unix_ms));
                }
                None => {
                    remembered.remove(session_id);
                }
            }
            Ok(active)
        })
    }

    fn end<'a>(&'a self, session_id: &'a str, why: SessionEnd, now: Instant) -> StateFuture<'a, ()> {
        self.active().remove(session_id);
        Box::pin(self.end_where(SessionsToEnd::One(session_id.to_string()), why, now))
    }

    fn end_all_of_user<'a>(&'a self, user_id: &'a str, why: SessionEnd, now: Instant) -> StateFuture<'a, ()> {
        Box::pin(async move {
            self.end_where(SessionsToEnd::OfUser(user_id.to_string()), why, now).await?;
            // Which remembered sessions were the user's is not kept: forget them all, to be read again.
            self.active().clear();
            Ok(())
        })
    }

    fn get<'a>(&'a self, session_id: &'a str) -> StateFuture<'a, Option<SignInSession>> {
        Box::pin(async move {
            let stored = self.store.sign_in_session(session_id).await.map_err(unavailable)?;
            Ok(stored.map(session_of))
        })
    }
}

/// Codes, refresh tokens and waiting sign-ins in the store.
pub struct StoredAuthorizations {
    store: Store,
}

impl StoredAuthorizations {
    pub fn new(store: Store) -> StoredAuthorizations {
        StoredAuthorizations { store }
    }

    async fn put(
        &self,
        kind: &str,
        key: String,
        group_id: String,
        content: String,
        expires_at: Instant,
    ) -> Result<(), StateUnavailable> {
        let item = SignInItem { kind: kind.to_string(), key, group_id, content, expires_ms: expires_at.unix_ms };
        self.store.change_sign_in(SignInChange::PutItem(item)).await.map_err(unavailable)?;
        Ok(())
    }

    async fn take(&self, kind: &str, key: &str) -> Result<ItemTaken, StateUnavailable> {
        let change = SignInChange::TakeItem { kind: kind.to_string(), key: key.to_string() };
        match self.store.change_sign_in(change).await.map_err(unavailable)? {
            SignInOutcome::Taken(taken) => Ok(taken),
            other => Err(StateUnavailable(format!("taking an item answered {other:?}"))),
        }
    }

    async fn redeem<T>(
        &self,
        kind: &str,
        key: &str,
        read: fn(&str) -> Result<T, StateUnavailable>,
    ) -> Result<Redemption<T>, StateUnavailable> {
        Ok(match self.take(kind, key).await? {
            ItemTaken::Fresh { content, .. } => Redemption::Fresh(read(&content)?),
            ItemTaken::Spent { content, .. } => Redemption::Spent(read(&content)?),
            ItemTaken::Unknown => Redemption::Unknown,
        })
    }
}

impl AuthorizationStore for StoredAuthorizations {
    fn put_code(&self, code_digest: String, grant: AuthorizationCodeGrant) -> StateFuture<'_, ()> {
        let content = grant.to_stored();
        Box::pin(self.put(CODE, code_digest, grant.grant_id, content, grant.expires_at))
    }

    fn redeem_code<'a>(&'a self, code_digest: &'a str) -> StateFuture<'a, Redemption<AuthorizationCodeGrant>> {
        Box::pin(self.redeem(CODE, code_digest, AuthorizationCodeGrant::from_stored))
    }

    fn put_refresh_token(&self, token_digest: String, grant: RefreshGrant) -> StateFuture<'_, ()> {
        let content = grant.to_stored();
        Box::pin(self.put(REFRESH, token_digest, grant.grant_id, content, grant.expires_at))
    }

    fn redeem_refresh_token<'a>(&'a self, token_digest: &'a str) -> StateFuture<'a, Redemption<RefreshGrant>> {
        Box::pin(self.redeem(REFRESH, token_digest, RefreshGrant::from_stored))
    }

    fn revoke_grant<'a>(&'a self, grant_id: &'a str) -> StateFuture<'a, ()> {
        Box::pin(async move {
            let change = SignInChange::SpendGroup { group_id: grant_id.to_string() };
            self.store.change_sign_in(change).await.map_err(unavailable)?;
            Ok(())
        })
    }

    fn put_flow(&self, flow_digest: String, content: String, expires_at: Instant) -> StateFuture<'_, ()> {
        // A sign-in belongs to no grant yet: it is its own group.
        Box::pin(self.put(FLOW, flow_digest.clone(), flow_digest, content, expires_at))
    }

    fn flow<'a>(&'a self, flow_digest: &'a str, now: Instant) -> StateFuture<'a, Option<String>> {
        Box::pin(async move { self.store.sign_in_item(FLOW, flow_digest, now.unix_ms).await.map_err(unavailable) })
    }

    fn replace_flow<'a>(&'a self, flow_digest: &'a str, content: String) -> StateFuture<'a, bool> {
        Box::pin(async move {
            let change = SignInChange::ReplaceItem { kind: FLOW.to_string(), key: flow_digest.to_string(), content };
            match self.store.change_sign_in(change).await.map_err(unavailable)? {
                SignInOutcome::Replaced(replaced) => Ok(replaced),
                other => Err(StateUnavailable(format!("replacing an item answered {other:?}"))),
            }
        })
    }

    fn take_flow<'a>(&'a self, flow_digest: &'a str, now: Instant) -> StateFuture<'a, Option<String>> {
        Box::pin(async move {
            Ok(match self.take(FLOW, flow_digest).await? {
                ItemTaken::Fresh { content, expires_ms } if now.unix_ms < expires_ms => Some(content),
                _ => None,
            })
        })
    }

    fn put_failed_sign_in(&self, username_digest: String, expires_at: Instant) -> StateFuture<'_, ()> {
        // Each refusal is its own item, grouped by the username so that they are counted and cleared together.
        let key = kmcr_auth::secret::random_url_safe(16);
        Box::pin(self.put(FAILED_SIGN_IN, key, username_digest, String::new(), expires_at))
    }

    fn failed_sign_ins<'a>(&'a self, username_digest: &'a str, now: Instant) -> StateFuture<'a, usize> {
        Box::pin(async move {
            let count = self.store.count_sign_in_items(FAILED_SIGN_IN, username_digest, now.unix_ms).await;
            Ok(usize::try_from(count.map_err(unavailable)?).unwrap_or(usize::MAX))
        })
    }

    fn clear_failed_sign_ins<'a>(&'a self, username_digest: &'a str) -> StateFuture<'a, ()> {
        self.revoke_grant(username_digest)
    }

    fn forget_expired(&self, now: Instant) -> StateFuture<'_, ()> {
        Box::pin(async move {
            self.store
                .change_sign_in(SignInChange::ForgetExpired { now_ms: now.unix_ms })
                .await
                .map_err(unavailable)?;
            Ok(())
        })
    }
}
