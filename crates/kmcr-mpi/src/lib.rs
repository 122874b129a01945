//! The master patient index core, pure: which source patient records are the same person, and why.
//!
//! Records are prepared once ([`PreparedRecord`]), brought together by blocking keys, compared field by field into
//! levels that know real errors ([`compare()`]), scored by a Fellegi-Sunter [`Model`] whose m and u are trained on
//! the data itself ([`train`]), and decided ([`decide()`]): two different valid NHS numbers never link, the same
//! verified number always does, twins never link automatically. [`link_all`] links a whole set from scratch;
//! [`evaluate`] judges linking against a known truth. No I/O: the store keeps the links, the service calls in here.

pub mod blocking;
mod cluster;
pub mod compare;
pub mod consensus;
pub mod decide;
pub mod evaluate;
pub mod index;
mod join_persons;
pub mod link;
pub mod model;
pub mod names;
pub mod normalise;
pub mod person_evidence;
mod random;
pub mod record;
pub mod train;

pub use compare::{Comparison, FIELDS, Field, MISSING, N_FIELDS, compare};
pub use decide::{MatchGrade, PairDecision, Thresholds, decide};
pub use index::{
    LinkReason, ManualDecision, ManualDecisions, MovedRecord, PersonIndex, PersonMatch, Placement, SplitRecord,
};
pub use link::{LinkOutcome, LinkSettings, link_all, prepare_all, train_prepared};
pub use model::{FieldEvidence, Model, Score, TermFrequencies};
pub use record::{Demographics, PreparedRecord, Sex};
