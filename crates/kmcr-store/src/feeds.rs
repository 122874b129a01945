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

pub const FEED_MESSAGE_COLUMNS: &str = "message_key, sender, control_id, received_ms, ods_code, message_type, status, \
     ack_code, reason, ack, body, body_encoding";
