//! kmcr-events: subscriptions read from the Backport IG's and R4's own forms, and notifications written.

mod notifications;
mod subscriptions;
