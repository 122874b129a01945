//! The FHIR API as a client sees it: requests through the whole router, on the embedded store.

mod harness;
mod identity;
mod interactions;
mod synthea;
mod users;
