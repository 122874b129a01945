//! The storage conformance suite: every test runs on embedded SQLite and on PostgreSQL, which must behave the same.
//!
//! PostgreSQL is reached at `KMCR_TEST_DATABASE_URL` (each test gets a database of its own). When `CI` is set and
//! PostgreSQL cannot be reached, the suite fails rather than skipping it.

mod audit;
mod backends;
mod events;
mod identity;
mod official_examples;
mod resources;
mod search;
mod sign_in;
