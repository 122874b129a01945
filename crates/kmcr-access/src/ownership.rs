//! Who may change or delete an item: only the organisation that sent it. The store applies this rule in the same
//! transaction as the write (so that no race slips between the check and the change), but the rule is written here.

use kmcr_fhir::{OdsCode, ResourceType};

use crate::interactions::Verdict;

/// Whether `writer` may write over an item that `existing_source` sent (`None`: a new item, or one only referenced).
pub fn decide_write_by(writer: &OdsCode, resource_type: ResourceType, existing_source: Option<&str>) -> Verdict {
    match existing_source {
        None => Verdict { permitted: true, reason: format!("new {resource_type} sent by {writer}") },
        Some(source) if source == writer.as_str() => {
            Verdict { permitted: true, reason: format!("{resource_type} was sent by {writer}, which may change it") }
        }
        // The sender is not named: the refusal would otherwise tell who holds a record of someone.
        Some(_) => Verdict {
            permitted: false,
            reason: format!("{resource_type}: only the organisation that sent an item may change or delete it"),
        },
    }
}
