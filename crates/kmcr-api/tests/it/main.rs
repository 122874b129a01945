//! The FHIR API as a client sees it: requests through the whole router, on the embedded store.

mod feeds;
mod harness;
mod identity;
mod interactions;
mod loads;
mod synthea;
mod users;
mod viewer;
