//! Generated from the official R4 SearchParameter bundle; see `tests/it/sourcegen.rs`.
