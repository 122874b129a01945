//! Events worth telling someone about, pure (no I/O, the time passed in).
//!
//! `topics`: what KMCR offers to subscribe to (encounter started, finished, emergency attendance, new result, new
//! document, safeguarding flag changed, person merged), each with its canonical URL and the filters it takes.
//! `conditions`: which topics a written resource fires, from the resource alone and a small state kept with it, so
//! that the store can fire them in the write's own transaction. `subscription`: a FHIR `Subscription` (topic-based as
//! the R5 Backport IG writes it for R4, or a classic R4 criteria search) read into what it asks for.
//! `notification`: the Bundles sent (handshake, heartbeat, event notification, `$status`, `$events`).
//! `retry`: when a failed delivery is tried again, and when a subscription is in error.

pub mod conditions;
pub mod notification;
pub mod retry;
pub mod subscription;
pub mod topics;

pub use conditions::{Condition, EventState, conditions_of, fire};
pub use notification::{Notification, NotificationEvent, NotificationKind, Payload, StatusSnapshot};
pub use retry::RetryPolicy;
pub use subscription::{
    ChannelPayload, CriteriaSearch, Filter, Route, SubscriptionError, SubscriptionSpec, SubscriptionStatus, What,
};
pub use topics::Topic;
