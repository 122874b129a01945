//! What sign-in keeps between requests, shared by every node of a deployment: sessions, and the one-time items of
//! OAuth (authorisation codes, refresh tokens, sign-ins waiting for their user). The store keeps them as opaque text;
//! `kmcr-auth` says what they mean. Items are kept by the SHA-256 of their secret, never by the secret itself.

/// A sign-in session as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSession {
    pub session_id: String,
    pub user_id: String,
    pub started_ms: i64,
    pub expires_ms: i64,
    /// When and why it ended (`signed-out`, `revoked`).
    pub ended: Option<(i64, String)>,
}

/// A one-time item: `kind` (`code`, `refresh`, `flow`), `key` (the digest of its secret), the grant it belongs to,
/// and its content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInItem {
    pub kind: String,
    pub key: String,
    pub group_id: String,
    pub content: String,
    pub expires_ms: i64,
}

/// The answer of taking an item: spending it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemTaken {
    /// Found and unspent; it is now spent.
    Fresh {
        content: String,
        expires_ms: i64,
    },
    /// Spent before: a replay. The grant it belongs to, to revoke, and what it stood for.
    Spent {
        group_id: String,
        content: String,
    },
    Unknown,
}

/// A change to sign-in state, applied atomically.
#[derive(Clone, Debug)]
pub enum SignInChange {
    StartSession(StoredSession),
    /// Ends one session, or every session of a user; an ended session keeps its first ending.
    EndSessions {
        which: SessionsToEnd,
        why: String,
        at_ms: i64,
    },
    PutItem(SignInItem),
    TakeItem {
        kind: String,
        key: String,
    },
    /// Replaces an unspent item's content (a sign-in moving on a step); `Replaced(false)` if it is spent or gone.
    ReplaceItem {
        kind: String,
        key: String,
        content: String,
    },
    /// Spends every item of a grant.
    SpendGroup {
        group_id: String,
    },
    /// Drops sessions and items past their expiry.
    ForgetExpired {
        now_ms: i64,
    },
}

#[derive(Clone, Debug)]
pub enum SessionsToEnd {
    One(String),
    OfUser(String),
}

/// What a change answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignInOutcome {
    Done,
    Taken(ItemTaken),
    Replaced(bool),
}
