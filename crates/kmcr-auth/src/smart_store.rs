//! Where SMART's one-time items are kept between requests: authorisation codes, refresh tokens and sign-ins waiting
//! for their user, by the SHA-256 of their text. `kmcr serve` keeps them in the shared database (`kmcr-api`'s
//! `StoredAuthorizations`), where redeeming is one atomic update, so that a code issued by one node is redeemed by any
//! and only once. [`InMemoryAuthorizationStore`] keeps them in one process, for this crate's tests and for tools.
//! Stored forms are JSON ([`AuthorizationCodeGrant::to_stored`]) so that a database needs to know nothing of them.

use std::collections::HashMap;
use std::sync::Mutex;

use kmcr_access::{ActivitySet, AssuranceLevel, JobRole, RoleProfile};
use kmcr_fhir::{Instant, OdsCode};
use serde::{Deserialize, Serialize};

use crate::smart::{AuthorizationRequest, GrantedScopes, SignedInUser};
use crate::state::{StateFuture, StateUnavailable, ready};

/// What a code stands for, kept until it is redeemed or expires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationCodeGrant {
    /// Shared by the code and the refresh tokens that follow from it, so that all can be revoked together.
    pub grant_id: String,
    pub request: AuthorizationRequest,
    pub user: SignedInUser,
    pub expires_at: Instant,
}

/// What a refresh token stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshGrant {
    pub grant_id: String,
    pub client_id: String,
    pub user: SignedInUser,
    pub scopes: GrantedScopes,
    pub expires_at: Instant,
}

/// The answer of a lookup that spends what it finds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redemption<T> {
    /// Found, unspent: it is now spent.
    Fresh(T),
    /// Found, spent before: a replay, and what it stood for.
    Spent(T),
    Unknown,
}

/// Where codes, refresh tokens and waiting sign-ins are kept, by the SHA-256 of their text (see the module note).
pub trait AuthorizationStore: Send + Sync {
    fn put_code(&self, code_digest: String, grant: AuthorizationCodeGrant) -> StateFuture<'_, ()>;
    fn redeem_code<'a>(&'a self, code_digest: &'a str) -> StateFuture<'a, Redemption<AuthorizationCodeGrant>>;
    fn put_refresh_token(&self, token_digest: String, grant: RefreshGrant) -> StateFuture<'_, ()>;
    fn redeem_refresh_token<'a>(&'a self, token_digest: &'a str) -> StateFuture<'a, Redemption<RefreshGrant>>;
    /// Spends every refresh token of the grant.
    fn revoke_grant<'a>(&'a self, grant_id: &'a str) -> StateFuture<'a, ()>;
    /// Keeps a sign-in waiting for its user: content opaque to the store.
    fn put_flow(&self, flow_digest: String, content: String, expires_at: Instant) -> StateFuture<'_, ()>;
    /// A waiting sign-in's content, unless finished or expired.
    fn flow<'a>(&'a self, flow_digest: &'a str, now: Instant) -> StateFuture<'a, Option<String>>;
    /// Replaces a waiting sign-in's content; `false` if it has finished or is gone.
    fn replace_flow<'a>(&'a self, flow_digest: &'a str, content: String) -> StateFuture<'a, bool>;
    /// Finishes a waiting sign-in, once: its content, unless finished or expired.
    fn take_flow<'a>(&'a self, flow_digest: &'a str, now: Instant) -> StateFuture<'a, Option<String>>;
    /// Remembers a refused password for a username (by its digest) until `expires_at`.
    fn put_failed_sign_in(&self, username_digest: String, expires_at: Instant) -> StateFuture<'_, ()>;
    /// The refused passwords remembered for a username.
    fn failed_sign_ins<'a>(&'a self, username_digest: &'a str, now: Instant) -> StateFuture<'a, usize>;
    /// Forgets them: the right password was given.
    fn clear_failed_sign_ins<'a>(&'a self, username_digest: &'a str) -> StateFuture<'a, ()>;
    /// Drops codes, refresh tokens, sign-ins and refused passwords past their expiry.
    fn forget_expired(&self, now: Instant) -> StateFuture<'_, ()>;
}

struct Entry<T> {
    value: T,
    spent: bool,
}

#[derive(Default)]
struct Entries {
    codes: HashMap<String, Entry<AuthorizationCodeGrant>>,
    refresh_tokens: HashMap<String, Entry<RefreshGrant>>,
    flows: HashMap<String, Entry<(String, Instant)>>,
    failed_sign_ins: HashMap<String, Vec<Instant>>,
}

/// Codes and refresh tokens in this process's memory (one node only, see [`AuthorizationStore`]).
#[derive(Default)]
pub struct InMemoryAuthorizationStore {
    entries: Mutex<Entries>,
}

impl InMemoryAuthorizationStore {
    pub fn new() -> InMemoryAuthorizationStore {
        InMemoryAuthorizationStore::default()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn redeem<T: Clone>(map: &mut HashMap<String, Entry<T>>, digest: &str) -> Redemption<T> {
    match map.get_mut(digest) {
        None => Redemption::Unknown,
        Some(entry) if entry.spent => Redemption::Spent(entry.value.clone()),
        Some(entry) => {
            entry.spent = true;
            Redemption::Fresh(entry.value.clone())
        }
    }
}

impl AuthorizationStore for InMemoryAuthorizationStore {
    fn put_code(&self, code_digest: String, grant: AuthorizationCodeGrant) -> StateFuture<'_, ()> {
        self.entries().codes.insert(code_digest, Entry { value: grant, spent: false });
        ready(Ok(()))
    }

    fn redeem_code<'a>(&'a self, code_digest: &'a str) -> StateFuture<'a, Redemption<AuthorizationCodeGrant>> {
        ready(Ok(redeem(&mut self.entries().codes, code_digest)))
    }

    fn put_refresh_token(&self, token_digest: String, grant: RefreshGrant) -> StateFuture<'_, ()> {
        self.entries().refresh_tokens.insert(token_digest, Entry { value: grant, spent: false });
        ready(Ok(()))
    }

    fn redeem_refresh_token<'a>(&'a self, token_digest: &'a str) -> StateFuture<'a, Redemption<RefreshGrant>> {
        ready(Ok(redeem(&mut self.entries().refresh_tokens, token_digest)))
    }

    fn revoke_grant<'a>(&'a self, grant_id: &'a str) -> StateFuture<'a, ()> {
        for entry in self.entries().refresh_tokens.values_mut().filter(|entry| entry.value.grant_id == grant_id) {
            entry.spent = true;
        }
        ready(Ok(()))
    }

    fn put_flow(&self, flow_digest: String, content: String, expires_at: Instant) -> StateFuture<'_, ()> {
        self.entries().flows.insert(flow_digest, Entry { value: (content, expires_at), spent: false });
        ready(Ok(()))
    }

    fn flow<'a>(&'a self, flow_digest: &'a str, now: Instant) -> StateFuture<'a, Option<String>> {
        let entries = self.entries();
        let found = entries.flows.get(flow_digest).filter(|entry| !entry.spent && entry.value.1 > now);
        ready(Ok(found.map(|entry| entry.value.0.clone())))
    }

    fn replace_flow<'a>(&'a self, flow_digest: &'a str, content: String) -> StateFuture<'a, bool> {
        let mut entries = self.entries();
        let found = entries.flows.get_mut(flow_digest).filter(|entry| !entry.spent);
        let replaced = found.map(|entry| entry.value.0 = content).is_some();
        ready(Ok(replaced))
    }

    fn take_flow<'a>(&'a self, flow_digest: &'a str, now: Instant) -> StateFuture<'a, Option<String>> {
        let mut entries = self.entries();
        let found = entries.flows.get_mut(flow_digest).filter(|entry| !entry.spent && entry.value.1 > now);
        ready(Ok(found.map(|entry| {
            entry.spent = true;
            entry.value.0.clone()
        })))
    }

    fn forget_expired(&self, now: Instant) -> StateFuture<'_, ()> {
        let mut entries = self.entries();
        entries.codes.retain(|_, entry| entry.value.expires_at > now);
        entries.refresh_tokens.retain(|_, entry| entry.value.expires_at > now);
        entries.flows.retain(|_, entry| entry.value.1 > now);
        entries.failed_sign_ins.retain(|_, failures| {
            failures.retain(|expires_at| *expires_at > now);
            !failures.is_empty()
        });
        ready(Ok(()))
    }

    fn put_failed_sign_in(&self, username_digest: String, expires_at: Instant) -> StateFuture<'_, ()> {
        self.entries().failed_sign_ins.entry(username_digest).or_default().push(expires_at);
        ready(Ok(()))
    }

    fn failed_sign_ins<'a>(&'a self, username_digest: &'a str, now: Instant) -> StateFuture<'a, usize> {
        let entries = self.entries();
        let failures = entries.failed_sign_ins.get(username_digest);
        ready(Ok(failures.map_or(0, |failures| failures.iter().filter(|expires_at| **expires_at > now).count())))
    }

    fn clear_failed_sign_ins<'a>(&'a self, username_digest: &'a str) -> StateFuture<'a, ()> {
        self.entries().failed_sign_ins.remove(username_digest);
        ready(Ok(()))
    }
}

/// A role profile as stored and as carried in tokens: its parts as text, the activities already expanded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRoleProfile {
    pub id: String,
    pub ods_code: String,
    /// As CIS2 wrote it (`S8000:G8000:R8000`).
    pub job_role: String,
    /// Known activity codes, then codes KMCR has no rule for (kept for the audit).
    pub activities: Vec<String>,
}

impl StoredRoleProfile {
    pub fn of(role_profile: &RoleProfile) -> StoredRoleProfile {
        StoredRoleProfile {
            id: role_profile.id.clone(),
            ods_code: role_profile.ods_code.as_str().to_string(),
            job_role: role_profile.job_role.full.clone(),
            activities: (role_profile.activities.codes().map(str::to_string))
                .chain(role_profile.activities.unknown_codes.iter().cloned())
                .collect(),
        }
    }

    /// The role profile, or what is wrong with the stored parts.
    pub fn to_role_profile(&self) -> Result<RoleProfile, &'static str> {
        Ok(RoleProfile {
            id: self.id.clone(),
            ods_code: OdsCode::parse(&self.ods_code).map_err(|_| "ods_code is not an ODS code")?,
            job_role: JobRole::parse(&self.job_role).ok_or("job_role is not an R code")?,
            // Expanding an expanded set changes nothing; it rebuilds the lookup table.
            activities: ActivitySet::expand(self.activities.iter().map(String::as_str)),
        })
    }
}

/// Reads an assurance level as [`AssuranceLevel::as_str`] writes it.
pub fn assurance_from_str(text: &str) -> Option<AssuranceLevel> {
    match text {
        "unknown" => Some(AssuranceLevel::Unknown),
        text => AssuranceLevel::parse(text),
    }
}

#[derive(Serialize, Deserialize)]
struct StoredUser {
    user_id: String,
    session_id: String,
    role_profile: StoredRoleProfile,
    assurance: String,
}

impl StoredUser {
    fn of(user: &SignedInUser) -> StoredUser {
        StoredUser {
            user_id: user.user_id.clone(),
            session_id: user.session_id.clone(),
            role_profile: StoredRoleProfile::of(&user.role_profile),
            assurance: user.assurance.as_str().to_string(),
        }
    }

    fn into_user(self) -> Result<SignedInUser, StateUnavailable> {
        Ok(SignedInUser {
            user_id: self.user_id,
            session_id: self.session_id,
            role_profile: self.role_profile.to_role_profile().map_err(unreadable)?,
            assurance: assurance_from_str(&self.assurance).ok_or_else(|| unreadable("assurance is not a level"))?,
        })
    }
}

fn unreadable(what: impl std::fmt::Display) -> StateUnavailable {
    StateUnavailable(format!("a stored grant cannot be read: {what}"))
}

#[derive(Serialize, Deserialize)]
struct StoredCodeGrant {
    grant_id: String,
    request: AuthorizationRequest,
    user: StoredUser,
    expires_ms: i64,
}

#[derive(Serialize, Deserialize)]
struct StoredRefreshGrant {
    grant_id: String,
    client_id: String,
    user: StoredUser,
    scopes: GrantedScopes,
    expires_ms: i64,
}

impl AuthorizationCodeGrant {
    /// The JSON a database keeps.
    pub fn to_stored(&self) -> String {
        let stored = StoredCodeGrant {
            grant_id: self.grant_id.clone(),
            request: self.request.clone(),
            user: StoredUser::of(&self.user),
            expires_ms: self.expires_at.unix_ms,
        };
        serde_json::to_string(&stored).expect("a grant serialises")
    }

    pub fn from_stored(text: &str) -> Result<AuthorizationCodeGrant, StateUnavailable> {
        let stored: StoredCodeGrant = serde_json::from_str(text).map_err(unreadable)?;
        Ok(AuthorizationCodeGrant {
            grant_id: stored.grant_id,
            request: stored.request,
            user: stored.user.into_user()?,
            expires_at: Instant::from_unix_ms(stored.expires_ms),
        })
    }
}

impl RefreshGrant {
    /// The JSON a database keeps.
    pub fn to_stored(&self) -> String {
        let stored = StoredRefreshGrant {
            grant_id: self.grant_id.clone(),
            client_id: self.client_id.clone(),
            user: StoredUser::of(&self.user),
            scopes: self.scopes.clone(),
            expires_ms: self.expires_at.unix_ms,
        };
        serde_json::to_string(&stored).expect("a grant serialises")
    }

    pub fn from_stored(text: &str) -> Result<RefreshGrant, StateUnavailable> {
        let stored: StoredRefreshGrant = serde_json::from_str(text).map_err(unreadable)?;
        Ok(RefreshGrant {
            grant_id: stored.grant_id,
            client_id: stored.client_id,
            user: stored.user.into_user()?,
            scopes: stored.scopes,
            expires_at: Instant::from_unix_ms(stored.expires_ms),
        })
    }
}
