//! The access decision: one pure function from (who, acting for which organisation, with which grants, doing what to
//! which data) to permit or deny, with the reasons. Every read and write of patient data asks it; the audit entry
//! records its answer. For now a principal is an API client with SMART scopes; later issues add users, role profiles,
//! legitimate relationships, sealed data and objections to the same function.

use kmcr_fhir::{OdsCode, ResourceType};

/// A SMART on FHIR scope such as `system/Observation.read`, `system/*.write` or `system/Patient.rs` (SMART v2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// `None` for `*`.
    pub resource_type: Option<ResourceType>,
    pub read: bool,
    pub write: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a supported scope: use system/<Type|*>.<read|write|*> or SMART v2 letters (cruds)")]
pub struct ScopeError(pub String);

impl Scope {
    pub fn parse(text: &str) -> Result<Scope, ScopeError> {
        let error = || ScopeError(text.to_string());
        let rest = text.strip_prefix("system/").ok_or_else(error)?;
        let (resource, permission) = rest.split_once('.').ok_or_else(error)?;
        let resource_type = match resource {
            "*" => None,
            name => Some(ResourceType::parse(name).map_err(|_| error())?),
        };
        let (read, write) = match permission {
            "read" => (true, false),
            "write" => (false, true),
            "*" => (true, true),
            letters if !letters.is_empty() && letters.chars().all(|letter| "cruds".contains(letter)) => (
                letters.contains('r') || letters.contains('s'),
                letters.contains('c') || letters.contains('u') || letters.contains('d'),
            ),
            _ => return Err(error()),
        };
        Ok(Scope { resource_type, read, write })
    }

    fn covers(&self, action: Action, resource_type: ResourceType) -> bool {
        let type_matches = self.resource_type.is_none_or(|scoped| scoped == resource_type);
        type_matches
            && match action {
                Action::Read => self.read,
                Action::Write => self.write,
            }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let resource = self.resource_type.map_or("*", |resource_type| resource_type.as_str());
        let permission = match (self.read, self.write) {
            (true, true) => "*",
            (true, false) => "read",
            _ => "write",
        };
        write!(f, "system/{resource}.{permission}")
    }
}

/// Who is asking.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The API client id (later: the user id).
    pub id: String,
    /// The organisation the principal acts for; what it writes is recorded as sent by this organisation.
    pub ods_code: OdsCode,
    pub scopes: Vec<Scope>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Read,
    Write,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub permitted: bool,
    pub reasons: Vec<String>,
}

/// Whether `principal` may do `action` on resources of every type in `resource_types`.
pub fn decide(principal: &Principal, action: Action, resource_types: &[ResourceType]) -> Decision {
    let mut reasons = Vec::with_capacity(resource_types.len());
    for resource_type in resource_types {
        match principal.scopes.iter().find(|scope| scope.covers(action, *resource_type)) {
            Some(scope) => reasons.push(format!("scope {scope} grants {action:?} of {resource_type}")),
            None => {
                return Decision {
                    permitted: false,
                    reasons: vec![format!("no scope grants {action:?} of {resource_type}")],
                };
            }
        }
    }
    reasons.dedup();
    Decision { permitted: true, reasons }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(scopes: &[&str]) -> Principal {
        Principal {
            id: "client".into(),
            ods_code: OdsCode::parse("RVV").unwrap(),
            scopes: scopes.iter().map(|scope| Scope::parse(scope).unwrap()).collect(),
        }
    }

    #[test]
    fn scopes_grant_exactly_what_they_name() {
        let observation = ResourceType::parse("Observation").unwrap();
        let reader = principal(&["system/*.read", "system/Observation.write"]);
        assert!(decide(&reader, Action::Read, &[ResourceType::PATIENT, observation]).permitted);
        assert!(decide(&reader, Action::Write, &[observation]).permitted);
        assert!(!decide(&reader, Action::Write, &[ResourceType::PATIENT]).permitted);
        assert!(!decide(&principal(&["system/Patient.rs"]), Action::Read, &[observation]).permitted);
        assert!(decide(&principal(&["system/Patient.cruds"]), Action::Write, &[ResourceType::PATIENT]).permitted);
        assert!(Scope::parse("user/*.read").is_err());
        assert!(Scope::parse("system/Nonsense.read").is_err());
    }
}
