//! HL7 v2 messages received, with the ACK each was answered with: the receipts that make feeds exactly-once, and the
//! dead letters (rejected messages, kept with the reason). The store keeps them as given; `kmcr-service` decides.

/// One message received and how it was answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedReceipt {
    /// The sending application and facility as received (`PAS|RVV`), or `unknown` for bytes that named no sender.
    pub sender: String,
    /// MSH-10, when it could be read.
    pub control_id: Option<String>,
    pub received_ms: i64,
    /// The organisation of the feed, when the sender is known.
    pub ods_code: Option<String>,
    /// `ADT^A01`, when it could be read.
    pub message_type: Option<String>,
    /// `accepted` or `rejected`.
    pub status: String,
    /// `AA`, `AE` or `AR`.
    pub ack_code: String,
    pub reason: Option<String>,
    pub ack: String,
    /// The message: its text, or (`body_encoding` `bytes-latin1`) its bytes each as the character of that code, for
    /// bytes that could not be read as text.
    pub body: String,
    pub body_encoding: String,
}

/// A receipt as stored, with its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFeedMessage {
    pub message_key: i64,
    pub receipt: FeedReceipt,
}

/// What a sender has sent: counts by outcome and when it last sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedSummary {
    pub sender: String,
    pub ods_code: Option<String>,
    pub accepted: i64,
    pub rejected: i64,
    /// Rejected messages not since accepted (by a replay, or sent again after a fix).
    pub unresolved: i64,
    pub last_received_ms: i64,
}

/// Which stored messages to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedMessageFilter {
    /// Rejected messages after this key that no accepted message with the same sender and MSH-10 has since made good.
    UnresolvedDeadLetters { after_key: i64 },
    /// One message, by key.
    Key(i64),
}

/// Per sender and organisation: a message refused before it was taken as its organisation's (from a connection its
/// feed may not use) is counted apart, under no organisation.
pub const FEED_SUMMARY_SQL: &str = "SELECT f.sender, f.ods_code, \
     SUM(CASE WHEN f.status = 'accepted' THEN 1 ELSE 0 END), SUM(CASE WHEN f.status = 'rejected' THEN 1 ELSE 0 END), \
     SUM(CASE WHEN f.status = 'rejected' AND NOT EXISTS (SELECT 1 FROM feed_message a WHERE a.status = 'accepted' AND \
     a.sender = f.sender AND a.control_id = f.control_id) THEN 1 ELSE 0 END), MAX(f.received_ms) FROM feed_message f \
     GROUP BY f.sender, f.ods_code ORDER BY f.sender, COALESCE(f.ods_code, '')";

/// The condition of [`FeedMessageFilter`] on `feed_message f`, with the key as its one parameter (`{key}`).
pub fn filter_condition(filter: FeedMessageFilter) -> &'static str {
    match filter {
        FeedMessageFilter::UnresolvedDeadLetters { .. } => {
            "f.status = 'rejected' AND f.message_key > {key} AND NOT EXISTS (SELECT 1 FROM feed_message a WHERE \
             a.status = 'accepted' AND a.sender = f.sender AND a.control_id = f.control_id)"
        }
        FeedMessageFilter::Key(_) => "f.message_key = {key}",
    }
}

pub const FEED_MESSAGE_COLUMNS: &str = "f.message_key, f.sender, f.control_id, f.received_ms, f.ods_code, \
     f.message_type, f.status, f.ack_code, f.reason, f.ack, f.body, f.body_encoding";
