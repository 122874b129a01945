//! Integration tests of kmcr-synth.
