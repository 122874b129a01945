//! Integration tests of kmcr-synth.

mod common;
mod determinism;
mod distribution;
mod identity;
mod references;
mod timing;
mod validity;
