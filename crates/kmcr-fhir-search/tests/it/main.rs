//! Integration tests of kmcr-fhir-search.
