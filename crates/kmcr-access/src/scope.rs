//! SMART on FHIR scopes: `system/` for systems acting for their organisation, `user/` for a person acting in a role
//! profile, `patient/` for a patient (or their proxy) in the portal. SMART v1 (`read`, `write`, `*`) and v2
//! (`c`, `r`, `u`, `d`, `s`, in that order) are both read, each letter kept apart: `.s` does not grant a read by id and
//! `.c` does not grant an update or a delete.

use kmcr_fhir::ResourceType;

/// Who a scope is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScopeContext {
    System,
    User,
    Patient,
}

impl ScopeContext {
    fn prefix(self) -> &'static str {
        match self {
            ScopeContext::System => "system",
            ScopeContext::User => "user",
            ScopeContext::Patient => "patient",
        }
    }
}

/// What one request does to a resource type, as SMART v2 tells the letters apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Interaction {
    Create,
    Read,
    Update,
    Delete,
    Search,
}

impl Interaction {
    fn bit(self) -> u8 {
        match self {
            Interaction::Create => 1,
            Interaction::Read => 2,
            Interaction::Update => 4,
            Interaction::Delete => 8,
            Interaction::Search => 16,
        }
    }

    pub fn is_write(self) -> bool {
        matches!(self, Interaction::Create | Interaction::Update | Interaction::Delete)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Interaction::Create => "create",
            Interaction::Read => "read",
            Interaction::Update => "update",
            Interaction::Delete => "delete",
            Interaction::Search => "search",
        }
    }
}

/// A SMART scope such as `system/Observation.rs`, `user/*.read` or `patient/Observation.rs`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Scope {
    pub context: ScopeContext,
    /// `None` for `*`.
    pub resource_type: Option<ResourceType>,
    /// The interactions granted, one bit each (see [`Interaction`]).
    interactions: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not a supported scope: use system/, user/ or patient/ then <Type|*>.<read|write|*> or SMART v2 letters \
     in the order cruds"
)]
pub struct ScopeError(pub String);

const ALL_INTERACTIONS: u8 = 31;

impl Scope {
    pub fn parse(text: &str) -> Result<Scope, ScopeError> {
        let error = || ScopeError(text.to_string());
        let (context, rest) = text.split_once('/').ok_or_else(error)?;
        let context = match context {
            "system" => ScopeContext::System,
            "user" => ScopeContext::User,
            "patient" => ScopeContext::Patient,
            _ => return Err(error()),
        };
        let (resource, permission) = rest.split_once('.').ok_or_else(error)?;
        let resource_type = match resource {
            "*" => None,
            name => Some(ResourceType::parse(name).map_err(|_| error())?),
        };
        // SMART v2 constraints after `?` (e.g. `?category=...`) are not supported: refusing them is safer than
        // granting more than they say.
        let interactions = match permission {
            "read" => Interaction::Read.bit() | Interaction::Search.bit(),
            "write" => Interaction::Create.bit() | Interaction::Update.bit() | Interaction::Delete.bit(),
            "*" => ALL_INTERACTIONS,
            letters => parse_letters(letters).ok_or_else(error)?,
        };
        Ok(Scope { context, resource_type, interactions })
    }

    /// Whether this scope grants `interaction` on `resource_type`.
    pub fn grants(&self, interaction: Interaction, resource_type: ResourceType) -> bool {
        self.resource_type.is_none_or(|scoped| scoped == resource_type) && self.interactions & interaction.bit() != 0
    }

    /// Whether everything `other` grants, this grants too (a client may be given fewer scopes than it holds).
    pub fn includes(&self, other: &Scope) -> bool {
        self.context == other.context
            && self.resource_type.is_none_or(|held| Some(held) == other.resource_type)
            && self.interactions & other.interactions == other.interactions
    }
}

/// SMART v2 letters: each of `cruds` at most once, in that order.
fn parse_letters(letters: &str) -> Option<u8> {
    if letters.is_empty() {
        return None;
    }
    let order = [
        ('c', Interaction::Create),
        ('r', Interaction::Read),
        ('u', Interaction::Update),
        ('d', Interaction::Delete),
        ('s', Interaction::Search),
    ];
    let mut next = 0;
    let mut bits = 0;
    for letter in letters.chars() {
        let position = order[next..].iter().position(|(known, _)| *known == letter)?;
        bits |= order[next + position].1.bit();
        next += position + 1;
    }
    Some(bits)
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let resource = self.resource_type.map_or("*", |resource_type| resource_type.as_str());
        let letters: String = [
            ('c', Interaction::Create),
            ('r', Interaction::Read),
            ('u', Interaction::Update),
            ('d', Interaction::Delete),
            ('s', Interaction::Search),
        ]
        .iter()
        .filter(|(_, interaction)| self.interactions & interaction.bit() != 0)
        .map(|(letter, _)| *letter)
        .collect();
        write!(f, "{}/{resource}.{letters}", self.context.prefix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observation() -> ResourceType {
        ResourceType::parse("Observation").unwrap()
    }

    #[test]
    fn letters_grant_only_what_they_name() {
        let search_only = Scope::parse("system/Observation.s").unwrap();
        assert!(search_only.grants(Interaction::Search, observation()));
        assert!(!search_only.grants(Interaction::Read, observation()));
        let create_only = Scope::parse("user/*.c").unwrap();
        assert!(create_only.grants(Interaction::Create, observation()));
        assert!(!create_only.grants(Interaction::Update, observation()));
        assert!(!create_only.grants(Interaction::Delete, observation()));
        let v1_read = Scope::parse("user/Observation.read").unwrap();
        assert!(v1_read.grants(Interaction::Read, observation()) && v1_read.grants(Interaction::Search, observation()));
        assert!(!v1_read.grants(Interaction::Read, ResourceType::PATIENT));
        assert_eq!(Scope::parse("system/*.write").unwrap().to_string(), "system/*.cud");
    }

    #[test]
    fn malformed_scopes_are_refused() {
        for text in ["user/*.sr", "user/*.rr", "user/*.", "system/Nonsense.read", "launch/*.read", "user/*.rs?x=y"] {
            assert!(Scope::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn a_scope_includes_narrower_ones_of_its_context() {
        let held = Scope::parse("system/*.rs").unwrap();
        assert!(held.includes(&Scope::parse("system/Observation.r").unwrap()));
        assert!(!held.includes(&Scope::parse("system/Observation.c").unwrap()));
        assert!(!held.includes(&Scope::parse("user/Observation.r").unwrap()));
    }
}
