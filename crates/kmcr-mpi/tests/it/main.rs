//! The master patient index core against the errors it must see through and the rules it must never break.

mod blocking;
mod compare;
mod errors;
mod index;
mod model;
mod nhs_numbers;
mod person_evidence;
mod population;
