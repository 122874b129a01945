//! What a source's records say, kept beside the FHIR it writes when asked ([`SourceWriter::keep_facts`]), so that the
//! same visits, results and letters can be written in another form (HL7 v2, `crate::hl7v2`) without drawing anything
//! again: the facts are noted as the records are made, from the same random draws.
//!
//! [`SourceWriter::keep_facts`]: crate::bundle::SourceWriter::keep_facts

use crate::clinical::LabPanel;
use crate::codes::Code;
use crate::records::{EncounterClass, When};

/// One thing a source recorded, in the order it was recorded.
pub(crate) enum SourceFact {
    Visit(VisitFact),
    Diagnosis(DiagnosisFact),
    LabReport(LabReportFact),
    Document(DocumentFact),
}

/// An Encounter.
pub(crate) struct VisitFact {
    /// The record's number within the source's records of the person (the `<n>` of its id `<ods>-<local id>-<n>`).
    pub item_number: u32,
    /// The `urn:uuid` other records of the Bundle refer to it by.
    pub full_url: String,
    pub class: EncounterClass,
    pub kind: &'static Code,
    pub start: When,
    pub end: When,
    pub service_type: Option<&'static Code>,
}

/// A Condition recorded as an encounter diagnosis or on the problem list.
pub(crate) struct DiagnosisFact {
    pub code: &'static Code,
    pub onset_day: i64,
    pub encounter_url: Option<String>,
}

/// A laboratory DiagnosticReport with its results, in the panel's order, as drawn (before rounding).
pub(crate) struct LabReportFact {
    pub item_number: u32,
    pub panel: &'static LabPanel,
    pub when: When,
    pub issued: When,
    pub values: Vec<f64>,
    pub encounter_url: Option<String>,
}

/// A document: a DocumentReference's text, or a CarePlan written out as text.
pub(crate) struct DocumentFact {
    pub item_number: u32,
    pub kind: &'static Code,
    pub when: When,
    pub text: String,
    pub encounter_url: Option<String>,
}
