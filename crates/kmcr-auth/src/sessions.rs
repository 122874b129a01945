//! Sign-in sessions: every user or patient token names the session it belongs to, and a token whose session has
//! ended (signed out, revoked by an administrator, or past its lifetime) is refused even before it expires.
//!
//! `kmcr serve` keeps sessions in the shared database (`kmcr-api`'s `StoredSessions`), so that every node honours the
//! same sign-outs. [`InMemorySessions`] keeps them in this process only, for this crate's tests and for tools.

use std::collections::HashMap;
use std::sync::Mutex;

use kmcr_fhir::Instant;

use crate::secret::random_url_safe;
use crate::state::{StateFuture, ready};

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

impl SessionEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionEnd::SignedOut => "signed-out",
            SessionEnd::Revoked => "revoked",
        }
    }

    pub fn parse(text: &str) -> Option<SessionEnd> {
        match text {
            "signed-out" => Some(SessionEnd::SignedOut),
            "revoked" => Some(SessionEnd::Revoked),
            _ => None,
        }
    }
}

impl SignInSession {
    /// Not ended, and not past its lifetime.
    pub fn is_active(&self, now: Instant) -> bool {
        self.ended.is_none() && now.unix_ms < self.expires_at.unix_ms
    }
}

/// Where sessions are kept. Each call may wait on a database and fail when it is unavailable.
pub trait SessionRegistry: Send + Sync {
    /// Starts a session for `user_id` lasting `lifetime_s` and returns its id.
    fn start<'a>(&'a self, user_id: &'a str, now: Instant, lifetime_s: i64) -> StateFuture<'a, String>;
    /// Whether tokens of this session may still be honoured.
    fn is_active<'a>(&'a self, session_id: &'a str, now: Instant) -> StateFuture<'a, bool>;
    /// Ends the session; later checks refuse it. Ending an unknown or ended session does nothing.
    fn end<'a>(&'a self, session_id: &'a str, why: SessionEnd, now: Instant) -> StateFuture<'a, ()>;
    /// Ends every session of a user (an account suspended everywhere at once).
    fn end_all_of_user<'a>(&'a self, user_id: &'a str, why: SessionEnd, now: Instant) -> StateFuture<'a, ()>;
    fn get<'a>(&'a self, session_id: &'a str) -> StateFuture<'a, Option<SignInSession>>;
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
    fn start<'a>(&'a self, user_id: &'a str, now: Instant, lifetime_s: i64) -> StateFuture<'a, String> {
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
        ready(Ok(session_id))
    }

    fn is_active<'a>(&'a self, session_id: &'a str, now: Instant) -> StateFuture<'a, bool> {
        let active = (self.sessions().get(session_id)).is_some_and(|session| session.is_active(now));
        ready(Ok(active))
    }

    fn end<'a>(&'a self, session_id: &'a str, why: SessionEnd, now: Instant) -> StateFuture<'a, ()> {
        if let Some(session) = self.sessions().get_mut(session_id) {
            session.ended.get_or_insert((why, now));
        }
        ready(Ok(()))
    }

    fn end_all_of_user<'a>(&'a self, user_id: &'a str, why: SessionEnd, now: Instant) -> StateFuture<'a, ()> {
        for session in self.sessions().values_mut().filter(|session| session.user_id == user_id) {
            session.ended.get_or_insert((why, now));
        }
        ready(Ok(()))
    }

    fn get<'a>(&'a self, session_id: &'a str) -> StateFuture<'a, Option<SignInSession>> {
        ready(Ok(self.sessions().get(session_id).cloned()))
    }
}
