//! What the stores of sign-in state answer: a future that may fail when the database behind them is unavailable.
//! The stores are trait objects (one node's memory, or the shared database), so their futures are boxed.

use std::future::Future;
use std::pin::Pin;

/// The database holding sign-in state could not be reached or refused the change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sign-in state is unavailable: {0}")]
pub struct StateUnavailable(pub String);

pub type StateFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StateUnavailable>> + Send + 'a>>;

/// An answer already known, as a [`StateFuture`].
pub fn ready<'a, T: Send + 'a>(answer: Result<T, StateUnavailable>) -> StateFuture<'a, T> {
    Box::pin(std::future::ready(answer))
}
