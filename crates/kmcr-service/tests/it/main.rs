//! The service layer's own tests: the one path, on both backends.

mod attacks;
mod feeds;
mod loads;
mod organisations;
mod subscriptions;
mod world;
