//! Sign-in sessions: every user or patient token names the session it belongs to, and a token whose session has
//! ended (signed out, revoked by an administrator, or past its lifetime) is refused even before it expires.
//!
//! [`InMemorySessions`] keeps them in this process only. A deployment of several nodes must keep sessions in the
//! shared database (implement [`SessionRegistry`] over the store), or a sign-out on one node would not reach the
//! others.

use std::collections::HashMap;
use std::sync::Mutex;

use kmcr_fhir::Instant;

use crate::secret::random_url_safe;

/// Why a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEnd {
    SignedOut,
    /// Ended by an administrator or information governance (a lost card, a suspended account).
    Revoked,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInSession {
    pub session_id: String,
    pub user_id: String,
    pub started_at: Instant,
    pub expires_at: Instant,
    pub ended: Option<(SessionEnd, Instant)>,
}

/// Where sessions are kept.
pub trait SessionRegistry: Send + Sync {
    /// Starts a session for `user_id` lasting `lifetime_s` and returns its id.
    fn start(&self, user_id: &str, now: Instant, lifetime_s: i64) -> String;
    /// Whether tokens of this session may still be honoured.
    fn is_active(&self, session_id: &str, now: Instant) -> bool;
    /// Ends the session; later checks refuse it. Ending an unknown or ended session does nothing.
    fn end(&self, session_id: &str, why: SessionEnd, now: Instant);
    /// Ends every session of a user (an account suspended everywhere at once).
    fn end_all_of_user(&self, user_id: &str, why: SessionEnd, now: Instant);
    fn get(&self, session_id: &str) -> Option<SignInSession>;
}

/// Sessions in this process's memory (one node only, see the module note).
#[derive(Debug, Default)]
pub struct InMemorySessions {
    sessions: Mutex<HashMap<String, SignInSession>>,
}

impl InMemorySessions {
    pub fn new() -> InMemorySessions {
        InMemorySessions::default()
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, SignInSession>> {
        // A panic while holding the lock leaves plain data behind: still consistent, so carry on with it.
        self.sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl SessionRegistry for InMemorySessions {
    fn start(&self, user_id: &str, now: Instant, lifetime_s: i64) -> String {
        let session_id = random_url_safe(32);
        let mut sessions = self.sessions();
        sessions.retain(|_, session| session.expires_at.unix_ms > now.unix_ms);
        sessions.insert(
            session_id.clone(),
            SignInSession {
                session_id: session_id.clone(),
                user_id: user_id.to_string(),
                started_at: now,
                expires_at: Instant::from_unix_ms(now.unix_ms + lifetime_s * 1000),
                ended: None,
            },
        );
        session_id
    }

    fn is_active(&self, session_id: &str, now: Instant) -> bool {
        (self.sessions().get(session_id))
            .is_some_and(|session| session.ended.is_none() && now.unix_ms < session.expires_at.unix_ms)
    }

    fn end(&self, session_id: &str, why: SessionEnd, now: Instant) {
        if let Some(session) = self.sessions().get_mut(session_id) {
            session.ended.get_or_insert((why, now));
        }
    }

    fn end_all_of_user(&self, user_id: &str, why: SessionEnd, now: Instant) {
        for session in self.sessions().values_mut().filter(|session| session.user_id == user_id) {
            session.ended.get_or_insert((why, now));
        }
    }

    fn get(&self, session_id: &str) -> Option<SignInSession> {
        self.sessions().get(session_id).cloned()
    }
}
