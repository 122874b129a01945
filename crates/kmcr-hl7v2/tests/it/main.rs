//! The integration tests of `kmcr-hl7v2`, one binary: the 139 messages of `../shared/data/hl7v2` (written by others,
//! with real-world edge cases), and the rules of delimiters, escapes, character sets, `""` and acknowledgements.

mod acknowledgements;
mod clinical;
mod documents;
mod encounters;
mod framing;
mod parsing;
mod patients;
mod results;
mod samples;
