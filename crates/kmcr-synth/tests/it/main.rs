//! Integration tests of kmcr-synth.

mod common;
mod determinism;
mod distribution;
mod hl7v2;
mod identity;
mod identity_errors;
mod references;
mod timing;
mod twins;
mod validity;
