//! The types shared by extraction, parsing and the storage crates that execute searches.

use kmcr_fhir::ResourceType;

/// The type of a search parameter, as `SearchParameter.type` names it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum SearchParamType {
    Number,
    Date,
    String,
    Token,
    Reference,
    Composite,
    Quantity,
    Uri,
    Special,
}

/// One search parameter of one resource type (an official R4 SearchParameter, split per base type).
#[derive(Clone, Debug)]
pub struct SearchParamDef {
    pub resource_type: ResourceType,
    /// The name used in URLs: `patient`, `code`, `_tag`.
    pub code: &'static str,
    pub param_type: SearchParamType,
    /// The FHIRPath expression for this base type only; `None` for parameters with no expression (`_text`, `_content`).
    pub expression: Option<&'static str>,
    /// For reference parameters: the resource types a reference may point to.
    pub targets: &'static [&'static str],
}

/// One component of a composite parameter (`code-value-quantity` has `code` and `value-quantity`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompositeComponent {
    /// The code the component's index rows are stored under: the composite's code, `$`, the component's code
    /// (`code-value-quantity$value-quantity`). No search parameter's code contains `$`.
    pub stored_code: &'static str,
    /// The parameter that defines the component (`value-quantity`), whose value syntax a search gives it.
    pub code: &'static str,
    pub param_type: SearchParamType,
    /// Evaluated on each item the composite's expression picks (each `Observation.component`).
    pub expression: &'static str,
}

/// One value a resource yields for one search parameter; a resource yields any number of them per parameter.
#[derive(Clone, PartialEq, Debug)]
pub struct IndexEntry {
    pub param_code: &'static str,
    pub value: IndexValue,
}

/// Index values, already normalised so that searching is a plain comparison.
#[derive(Clone, PartialEq, Debug)]
pub enum IndexValue {
    /// From Coding, CodeableConcept (one entry per coding; the text as `display_text`), Identifier, ContactPoint,
    /// code, boolean (`true`/`false`), id and string elements indexed as tokens. Under a reference parameter, a
    /// Reference's `identifier` also yields a token (system, value), which `:identifier` searches match.
    Token {
        system: Option<String>,
        code: Option<String>,
        display_text: Option<String>,
    },
    /// `normalized` is lower-cased with accents removed and whitespace collapsed (for default and `:contains`
    /// matching); `exact` is the value as sent (for `:exact`). HumanName and Address yield one entry per part.
    String {
        normalized: String,
        exact: String,
    },
    /// The inclusive range of instants the value covers, in Unix milliseconds: `2020-03` covers
    /// 2020-03-01T00:00:00.000Z to 2020-03-31T23:59:59.999Z. Period with no end runs to `i64::MAX`, no start from
    /// `i64::MIN`. Dates and dateTimes without a zone are taken as UTC.
    Date {
        low_ms: i64,
        high_ms: i64,
    },
    /// A literal reference. Relative references (`Patient/123`, or a full URL on this server) give a type and id;
    /// other absolute URLs are kept whole in `url` with no type or id. Canonical references are indexed as `url`.
    /// `urn:uuid:` and `urn:oid:` references are absolute URLs too: rewrite them to `Type/id` before extracting
    /// (a transaction does). A version (`Patient/1/_history/2`) is dropped; `#id` (contained) is not indexed.
    Reference {
        target_type: Option<String>,
        target_id: Option<String>,
        url: Option<String>,
    },
    /// Quantity, Money (currency as code, system `urn:iso:std:iso:4217`), Age, Duration, SimpleQuantity.
    Quantity {
        value: f64,
        system: Option<String>,
        code: Option<String>,
        unit: Option<String>,
    },
    Number {
        value: f64,
    },
    Uri {
        uri: String,
    },
    /// A composite parameter's values found together in one item (the code and value of one
    /// `Observation.component`), one per component in the parameter's order.
    Composite(Vec<IndexValue>),
}

/// A parsed and checked search: every criterion must hold (AND); each criterion holds when any of its values does (OR).
#[derive(Clone, Debug)]
pub struct SearchRequest {
    pub resource_type: ResourceType,
    pub criteria: Vec<Criterion>,
    /// `_count`, capped by the caller's maximum page size; `None` when not given.
    pub count: Option<usize>,
    pub sort: Vec<SortKey>,
    pub includes: Vec<Include>,
    pub revincludes: Vec<Include>,
    pub summary: Option<Summary>,
    /// `_elements`: top-level element names to keep (the mandatory ones are always kept).
    pub elements: Option<Vec<String>>,
    /// `_total` and similar result parameters KMCR accepts and does not need to act on.
    pub total: Option<String>,
    /// Unknown or unsupported parameters dropped under `Prefer: handling=lenient`, reported back in the Bundle.
    pub ignored_params: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Criterion {
    /// The parameter searched, e.g. `code`. The special parameters `_id` and `_lastUpdated` appear here too, with
    /// `param_type` Token and Date. A reference parameter under `:identifier` has `param_type` Token: its values match
    /// the tokens indexed from Reference.identifier under the same parameter.
    pub param_code: String,
    pub param_type: SearchParamType,
    pub modifier: Option<Modifier>,
    /// A chained search (`subject:Patient.identifier=...`): the criterion is true when the reference named by
    /// `param_code` points at a resource of `target_type` matching `criterion`. `values` is empty then.
    pub chain: Option<Box<Chain>>,
    pub values: Vec<CriterionValue>,
}

#[derive(Clone, Debug)]
pub struct Chain {
    pub target_type: ResourceType,
    pub criterion: Criterion,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Modifier {
    /// `:missing=true|false`; the criterion has no values then.
    Missing(bool),
    Exact,
    Contains,
    Text,
    Not,
    Above,
    Below,
    In,
    NotIn,
    OfType,
    Identifier,
    /// `subject:Patient=123` restricts the target type; it is folded into the values' `target_type`.
    Type,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Prefix {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Sa,
    Eb,
    Ap,
}

#[derive(Clone, PartialEq, Debug)]
pub enum CriterionValue {
    /// `code`, `system|code`, `|code` (no system: `system` is `Some(None)`), `system|` (any code in system).
    Token {
        system: Option<Option<String>>,
        code: Option<String>,
    },
    /// Normalised as `IndexValue::String::normalized`, except under `:exact` where it is kept as sent. Under token
    /// `:text` it is the text as sent (trimmed), to compare case-insensitively with `display_text`.
    String(String),
    /// The range the searched value covers, e.g. `ge2020-03` gives prefix Ge, 2020-03-01T00:00 to 2020-03-31T23:59:59.999.
    Date {
        prefix: Prefix,
        low_ms: i64,
        high_ms: i64,
    },
    /// `Patient/123`, `123` (any allowed type), or an absolute URL.
    Reference {
        target_type: Option<String>,
        target_id: Option<String>,
        url: Option<String>,
    },
    /// `[prefix]value[|system|code]`; `low`/`high` is the range implied by the value's precision (5.40 covers 5.395 to
    /// 5.405).
    Quantity {
        prefix: Prefix,
        value: f64,
        low: f64,
        high: f64,
        system: Option<String>,
        code: Option<String>,
    },
    Number {
        prefix: Prefix,
        value: f64,
        low: f64,
        high: f64,
    },
    Uri(String),
    /// `code$value`: one value per component of a composite parameter, in its order, each of the component's type.
    /// It matches a resource when one item holds them all.
    Composite(Vec<CriterionValue>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    pub param_code: String,
    pub descending: bool,
}

/// `_include=Observation:subject[:Patient]` or `_revinclude=Provenance:target`. `iterate` for `:iterate`.
#[derive(Clone, Debug, PartialEq)]
pub struct Include {
    pub source_type: ResourceType,
    pub param_code: String,
    pub target_type: Option<ResourceType>,
    pub iterate: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Summary {
    True,
    Text,
    Data,
    Count,
    False,
}
