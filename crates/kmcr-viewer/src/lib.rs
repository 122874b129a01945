//! The clinician viewer's pages, without HTTP: each page is a pure function from what the service layer returned (FHIR
//! JSON the caller may see, with what was withheld) to HTML that uses the NHS.UK design system, escaped throughout and
//! with no inline script or style. `kmcr-api` serves them; the design system's styles, script and icons (`assets`) are
//! built from `nhsuk-frontend` in npm's lock file.

pub mod assets;
pub mod chart;
pub mod fhir_values;
pub mod html;
pub mod ig_pages;
pub mod layout;
pub mod person_pages;
pub mod record;
pub mod search_pages;
pub mod section_pages;
pub mod sign_in_pages;
