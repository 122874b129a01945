//! The subset of FHIRPath that the official R4 search parameter expressions use.
