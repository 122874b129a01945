//! Objections and opt-outs, read from FHIR `Consent` resources (R4: provision deny, actor, period, class), and the
//! time-bound legal policies that can set them aside.

use kmcr_fhir::{OdsCode, ResourceType};
use serde_json::Value;

use crate::purpose::Purpose;

pub const READ_V2_SYSTEM: &str = "http://read.info/readv2";
pub const CTV3_SYSTEM: &str = "http://read.info/ctv3";
pub const SNOMED_SYSTEM: &str = "http://snomed.info/sct";
/// KMCR's own codes where no national code is fixed (the national data opt-out is held by NHS England's service, not
/// coded in records).
pub const KMCR_OBJECTION_SYSTEM: &str = "https://kmcr.nhs.uk/CodeSystem/objection";
pub const PARTICIPATION_TYPE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
pub const RESOURCE_TYPES_SYSTEM: &str = "http://hl7.org/fhir/resource-types";

/// What kind of objection a Consent records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectionKind {
    /// GP type 1 (Read `9Nu0`, CTV3 `XaZ89`): the practice's data stays out of KMCR.
    GpType1,
    /// SNOMED 416409005, refused consent for upload to the local shared record, decided by IG case by case.
    SharedRecord,
    /// The national data opt-out: secondary uses only, never direct care.
    NationalDataOptOut,
}

impl ObjectionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectionKind::GpType1 => "gp-type-1",
            ObjectionKind::SharedRecord => "shared-record",
            ObjectionKind::NationalDataOptOut => "national-data-opt-out",
        }
    }

    pub fn parse(text: &str) -> Option<ObjectionKind> {
        [ObjectionKind::GpType1, ObjectionKind::SharedRecord, ObjectionKind::NationalDataOptOut]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }

    fn from_coding(system: &str, code: &str) -> Option<ObjectionKind> {
        match (system, code) {
            (READ_V2_SYSTEM, "9Nu0") | (CTV3_SYSTEM, "XaZ89") => Some(ObjectionKind::GpType1),
            (SNOMED_SYSTEM, "416409005") => Some(ObjectionKind::SharedRecord),
            (KMCR_OBJECTION_SYSTEM, "national-data-opt-out") => Some(ObjectionKind::NationalDataOptOut),
            (KMCR_OBJECTION_SYSTEM, code) => ObjectionKind::parse(code),
            _ => None,
        }
    }

    /// Whether it applies to a read for `purpose`. Only the person themself reads past their objections: a proxy is
    /// someone else, and what the person keeps from everyone they keep from a proxy too.
    pub fn applies_to(self, purpose: Purpose) -> bool {
        match self {
            ObjectionKind::NationalDataOptOut => purpose == Purpose::SecondaryUse,
            ObjectionKind::GpType1 | ObjectionKind::SharedRecord => purpose != Purpose::PatientSelf,
        }
    }
}

/// One objection in force (or not yet, or no longer: see `from_ms`, `to_ms`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Objection {
    /// The Consent it was read from.
    pub consent_id: String,
    pub kind: ObjectionKind,
    /// Data from these sources is withheld; empty: from every source.
    pub sources: Vec<OdsCode>,
    /// Withheld from these organisations; empty: from everyone.
    pub recipients: Vec<OdsCode>,
    /// Only these parts of the record (`provision.class`); empty: all of it.
    pub resource_types: Vec<ResourceType>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

impl Objection {
    pub fn in_force_at(&self, at_ms: i64) -> bool {
        self.from_ms.is_none_or(|from| from <= at_ms) && self.to_ms.is_none_or(|to| at_ms < to)
    }
}

/// Reads an objection from a Consent sent by `sender`; `None` when the Consent is not an active objection (a
/// permit, a draft, a withdrawn one, or a kind KMCR does not act on).
pub fn objection_from_consent(consent: &Value, sender: &OdsCode) -> Option<Objection> {
    if consent.get("resourceType").and_then(Value::as_str) != Some("Consent") {
        return None;
    }
    if consent.get("status").and_then(Value::as_str) != Some("active") {
        return None;
    }
    let provision = consent.get("provision");
    if provision.and_then(|provision| provision.get("type")).and_then(Value::as_str) != Some("deny") {
        return None;
    }
    let kind = codings(consent.get("category"))
        .chain(codings(provision.and_then(|provision| provision.get("code"))))
        .find_map(|(system, code)| ObjectionKind::from_coding(system, code))?;
    let mut sources = Vec::new();
    let mut recipients = Vec::new();
    for actor in provision.and_then(|provision| provision.get("actor")).and_then(Value::as_array).into_iter().flatten()
    {
        let Some(ods_code) = actor.get("reference").and_then(ods_code_of_reference) else { continue };
        let roles: Vec<(&str, &str)> = codings(actor.get("role")).collect();
        if roles.contains(&(PARTICIPATION_TYPE_SYSTEM, "CST")) {
            sources.push(ods_code);
        } else if roles.contains(&(PARTICIPATION_TYPE_SYSTEM, "IRCP")) {
            recipients.push(ods_code);
        }
    }
    if kind == ObjectionKind::GpType1 {
        // A type 1 objection keeps the practice's own data out: the practice that sent it, whatever it names (one
        // practice cannot withhold another's data).
        sources = vec![sender.clone()];
        recipients.clear();
    }
    let resource_types = provision
        .and_then(|provision| provision.get("class"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|class| class.get("system").and_then(Value::as_str) == Some(RESOURCE_TYPES_SYSTEM))
        .filter_map(|class| class.get("code").and_then(Value::as_str))
        .filter_map(|code| ResourceType::parse(code).ok())
        .collect();
    let period = provision.and_then(|provision| provision.get("period"));
    let from_ms = period
        .and_then(|period| period.get("start"))
        .or_else(|| consent.get("dateTime"))
        .and_then(Value::as_str)
        .and_then(low_ms);
    let to_ms = period.and_then(|period| period.get("end")).and_then(Value::as_str).and_then(high_ms);
    let consent_id = consent.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    Some(Objection { consent_id, kind, sources, recipients, resource_types, from_ms, to_ms })
}

fn codings(concepts: Option<&Value>) -> impl Iterator<Item = (&str, &str)> {
    let concepts: Vec<&Value> = match concepts {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(concept @ Value::Object(_)) => vec![concept],
        _ => Vec::new(),
    };
    concepts.into_iter().flat_map(|concept| {
        let codings: Vec<&Value> = match concept.get("coding") {
            Some(Value::Array(codings)) => codings.iter().collect(),
            // A bare Coding (provision.actor.role is a CodeableConcept, provision.class a Coding).
            _ => vec![concept],
        };
        codings.into_iter().filter_map(|coding| Some((coding.get("system")?.as_str()?, coding.get("code")?.as_str()?)))
    })
}

/// The ODS code a Reference names: by identifier, or as a conditional reference `Organization?identifier=...|X`.
fn ods_code_of_reference(reference: &Value) -> Option<OdsCode> {
    if let Some(identifier) = reference.get("identifier")
        && identifier.get("system").and_then(Value::as_str) == Some(kmcr_fhir::ODS_CODE_SYSTEM)
    {
        return OdsCode::parse(identifier.get("value")?.as_str()?).ok();
    }
    let text = reference.get("reference")?.as_str()?;
    let code = text.strip_prefix("Organization?identifier=")?.rsplit('|').next()?;
    OdsCode::parse(code).ok()
}

fn low_ms(text: &str) -> Option<i64> {
    kmcr_fhir_search::date::parse_date_range(text).ok().map(|range| range.low_ms)
}

/// The first instant after the period named by `text` (a date's end is inclusive; `to_ms` is not).
fn high_ms(text: &str) -> Option<i64> {
    kmcr_fhir_search::date::parse_date_range(text).ok().map(|range| range.high_ms.saturating_add(1))
}

/// A time-bound policy that sets objections aside (the COVID-19 COPI notice made opted-out records visible until
/// 30 September 2021). A decision at any instant uses the policies in force then.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub name: String,
    pub from_ms: i64,
    /// Exclusive; `None`: until withdrawn.
    pub to_ms: Option<i64>,
    /// The kinds of objection it sets aside.
    pub overrides: Vec<ObjectionKind>,
    /// For reads of these purposes only.
    pub purposes: Vec<Purpose>,
}

impl Policy {
    pub fn in_force_at(&self, at_ms: i64) -> bool {
        self.from_ms <= at_ms && self.to_ms.is_none_or(|to| at_ms < to)
    }

    /// The policy in force for `purpose` at `at_ms` that sets aside `kind`, if any.
    pub fn overriding(policies: &[Policy], kind: ObjectionKind, purpose: Purpose, at_ms: i64) -> Option<&Policy> {
        policies.iter().find(|policy| {
            policy.in_force_at(at_ms) && policy.overrides.contains(&kind) && policy.purposes.contains(&purpose)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_case_by_case_objection_names_sources_recipients_parts_and_dates() {
        let consent = json!({
            "resourceType": "Consent", "id": "c1", "status": "active",
            "category": [{"coding": [{"system": SNOMED_SYSTEM, "code": "416409005"}]}],
            "provision": {
                "type": "deny",
                "period": {"start": "2026-01-01"},
                "actor": [
                    {"role": {"coding": [{"system": PARTICIPATION_TYPE_SYSTEM, "code": "CST"}]},
                     "reference": {"identifier": {"system": kmcr_fhir::ODS_CODE_SYSTEM, "value": "RXY"}}},
                    {"role": {"coding": [{"system": PARTICIPATION_TYPE_SYSTEM, "code": "IRCP"}]},
                     "reference": {"reference": "Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|RVV"}}
                ],
                "class": [{"system": RESOURCE_TYPES_SYSTEM, "code": "DocumentReference"}]
            }
        });
        let objection = objection_from_consent(&consent, &OdsCode::parse("RA2").unwrap()).unwrap();
        assert_eq!(objection.kind, ObjectionKind::SharedRecord);
        assert_eq!(objection.sources, [OdsCode::parse("RXY").unwrap()]);
        assert_eq!(objection.recipients, [OdsCode::parse("RVV").unwrap()]);
        assert_eq!(objection.resource_types, [ResourceType::parse("DocumentReference").unwrap()]);
        assert!(!objection.in_force_at(objection.from_ms.unwrap() - 1));
        assert!(objection.in_force_at(objection.from_ms.unwrap()));
    }

    #[test]
    fn a_type_1_objection_withholds_the_practice_that_sent_it() {
        let consent = json!({
            "resourceType": "Consent", "status": "active",
            "category": [{"coding": [{"system": READ_V2_SYSTEM, "code": "9Nu0"}]}],
            "provision": {"type": "deny"}
        });
        let practice = OdsCode::parse("G82001").unwrap();
        let objection = objection_from_consent(&consent, &practice).unwrap();
        assert_eq!((objection.kind, objection.sources), (ObjectionKind::GpType1, vec![practice.clone()]));
        let withdrawn = json!({"resourceType": "Consent", "status": "inactive",
            "category": [{"coding": [{"system": READ_V2_SYSTEM, "code": "9Nu0"}]}], "provision": {"type": "deny"}});
        assert!(objection_from_consent(&withdrawn, &practice).is_none());
    }
}
