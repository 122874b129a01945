//! Runs the decision table `tests/decision_table.toml`: each scenario is built into the real types of `kmcr-access`
//! (objections as FHIR Consent JSON read by `objection_from_consent`, sensitivity from `meta.security` read by
//! `sensitivity_of`), decided, and compared with what the table expects. Every row that fails is listed, not only the
//! first.

use std::collections::{BTreeMap, BTreeSet};

use kmcr_access::labels::{ACT_CODE_SYSTEM, CONFIDENTIALITY_SYSTEM};
use kmcr_access::objections::{
    CTV3_SYSTEM, KMCR_OBJECTION_SYSTEM, PARTICIPATION_TYPE_SYSTEM, READ_V2_SYSTEM, RESOURCE_TYPES_SYSTEM, SNOMED_SYSTEM,
};
use kmcr_access::{
    AccessGrant, AccessSettings, ActivitySet, AssuranceLevel, CareContact, CodeRules, ContactKind, GrantKind,
    Interaction, ItemFacts, ItemVerdict, JobRole, ObjectionKind, Organisation, OrganisationKind, OrganisationRegistry,
    PatientPrincipal, PersonFacts, Policy, Principal, Purpose, RegionWideReading, RoleProfile, Rules, Scope,
    SourceRecord, SystemPrincipal, UserPrincipal, decide_interaction, decide_person, decide_write_over,
    objection_from_consent, sensitivity_of,
};
use kmcr_fhir::{ODS_CODE_SYSTEM, OdsCode, ResourceType};
use serde::Deserialize;
use serde_json::{Value, json};

const MS_PER_DAY: i64 = 24 * 60 * 60 * 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    defaults: Defaults,
    #[serde(rename = "organisation")]
    organisations: Vec<OrganisationRow>,
    #[serde(rename = "policy", default)]
    policies: Vec<PolicyRow>,
    #[serde(rename = "principal")]
    principals: BTreeMap<String, PrincipalRow>,
    #[serde(rename = "item")]
    items: BTreeMap<String, ItemRow>,
    #[serde(rename = "fact")]
    facts: BTreeMap<String, FactRow>,
    #[serde(rename = "scenario")]
    scenarios: Vec<Scenario>,
    #[serde(rename = "interaction", default)]
    interactions: Vec<InteractionRow>,
    #[serde(rename = "write_over", default)]
    write_overs: Vec<WriteOverRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    at: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrganisationRow {
    ods: String,
    name: String,
    kind: String,
    party: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyRow {
    name: String,
    from: String,
    /// The last day in force (inclusive).
    to: Option<String>,
    overrides: Vec<String>,
    purposes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrincipalRow {
    kind: String,
    #[serde(default)]
    note: Option<String>,
    user: Option<String>,
    role_profile: Option<String>,
    org: Option<String>,
    job_role: Option<String>,
    #[serde(default)]
    activities: Vec<String>,
    /// CIS2's `acr` claim as sent; absent means no claim.
    acr: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    client: Option<String>,
    /// `secondary-use` or `direct-care`: a configured region-wide reader.
    region_wide: Option<String>,
    #[serde(default)]
    own_patient_ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemRow {
    #[serde(rename = "type")]
    resource_type: String,
    source: String,
    /// `meta.security` codes: `R`/`V` are `v3-Confidentiality`, the rest `v3-ActCode`.
    #[serde(default)]
    labels: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FactRow {
    #[serde(default)]
    note: Option<String>,
    contact: Option<ContactRow>,
    grant: Option<GrantRow>,
    consent: Option<ConsentRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactRow {
    org: String,
    kind: String,
    /// Absent: still open.
    ended_days_ago: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantRow {
    kind: String,
    /// The principal who made it (their user id and, unless `role_profile` says otherwise, their role profile).
    by: String,
    role_profile: Option<String>,
    /// Days from the decision (negative: before it).
    starts: i64,
    ends: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentRow {
    /// `gp-type-1`, `shared-record`, `national-data-opt-out`, or `consent-given`.
    objection: String,
    /// `read` (default) or `ctv3` for a type 1.
    coded_as: Option<String>,
    sender: String,
    #[serde(default = "active")]
    status: String,
    #[serde(default)]
    sources: Vec<String>,
    #[serde(default)]
    recipients: Vec<String>,
    #[serde(default)]
    classes: Vec<String>,
    start: Option<String>,
    end: Option<String>,
    /// False when the Consent is expected not to be read as an objection (withdrawn, a permit).
    #[serde(default = "yes")]
    is_objection: bool,
}

fn active() -> String {
    "active".into()
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    name: String,
    who: String,
    purpose: String,
    #[serde(default)]
    person: Vec<String>,
    at: Option<String>,
    permitted: bool,
    basis: String,
    recorded: String,
    #[serde(default)]
    visible: Vec<String>,
    #[serde(default)]
    out_of_view: Vec<String>,
    #[serde(default)]
    withheld: BTreeMap<String, String>,
    /// The verdict of every item not listed.
    others: Option<String>,
    #[serde(default)]
    reasons_include: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InteractionRow {
    name: String,
    who: String,
    /// Replaces the principal's scopes for this row.
    scopes: Option<Vec<String>>,
    #[serde(rename = "do")]
    interaction: String,
    #[serde(rename = "type")]
    resource_type: String,
    permitted: bool,
    reason_includes: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WriteOverRow {
    name: String,
    who: String,
    #[serde(rename = "type")]
    resource_type: String,
    /// The organisation that sent the item written over; absent: a new item.
    existing_source: Option<String>,
    permitted: bool,
    reason_includes: Option<String>,
}

fn load() -> Table {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/decision_table.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    toml::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn ods(text: &str) -> OdsCode {
    OdsCode::parse(text).unwrap_or_else(|_| panic!("not an ODS code: {text}"))
}

fn resource_type(text: &str) -> ResourceType {
    ResourceType::parse(text).unwrap_or_else(|_| panic!("not a resource type: {text}"))
}

fn instant_ms(text: &str) -> i64 {
    kmcr_fhir_search::date::parse_date_range(text).unwrap_or_else(|_| panic!("not a FHIR instant: {text}")).low_ms
}

fn purpose(text: &str) -> Purpose {
    Purpose::parse(text).unwrap_or_else(|| panic!("not a purpose: {text}"))
}

fn interaction(text: &str) -> Interaction {
    match text {
        "create" => Interaction::Create,
        "read" => Interaction::Read,
        "update" => Interaction::Update,
        "delete" => Interaction::Delete,
        "search" => Interaction::Search,
        _ => panic!("not an interaction: {text}"),
    }
}

fn scopes(texts: &[String]) -> Vec<Scope> {
    texts.iter().map(|text| Scope::parse(text).unwrap_or_else(|error| panic!("{error}"))).collect()
}

fn registry(table: &Table) -> OrganisationRegistry {
    OrganisationRegistry::new(table.organisations.iter().map(|row| Organisation {
        ods_code: ods(&row.ods),
        name: row.name.clone(),
        kind: OrganisationKind::parse(&row.kind).unwrap_or_else(|| panic!("not an organisation kind: {}", row.kind)),
        party_to_agreement: row.party,
    }))
}

fn policies(table: &Table) -> Vec<Policy> {
    table
        .policies
        .iter()
        .map(|row| Policy {
            name: row.name.clone(),
            from_ms: instant_ms(&row.from),
            to_ms: row
                .to
                .as_deref()
                .map(|to| kmcr_fhir_search::date::parse_date_range(to).expect("policy end is a date").high_ms + 1),
            overrides: row
                .overrides
                .iter()
                .map(|kind| ObjectionKind::parse(kind).unwrap_or_else(|| panic!("not an objection kind: {kind}")))
                .collect(),
            purposes: row.purposes.iter().map(|text| purpose(text)).collect(),
        })
        .collect()
}

fn principal(name: &str, row: &PrincipalRow, scopes_override: Option<&[String]>) -> Principal {
    let scopes = scopes(scopes_override.unwrap_or(&row.scopes));
    let field = |value: &Option<String>, what: &str| {
        value.clone().unwrap_or_else(|| panic!("principal {name} ({}) needs {what}", row.kind))
    };
    match row.kind.as_str() {
        "user" => {
            let job_role_text = field(&row.job_role, "job_role");
            Principal::User(UserPrincipal {
                user_id: field(&row.user, "user"),
                session_id: format!("session-{name}"),
                role_profile: RoleProfile {
                    id: field(&row.role_profile, "role_profile"),
                    ods_code: ods(&field(&row.org, "org")),
                    job_role: JobRole::parse(&job_role_text)
                        .unwrap_or_else(|| panic!("not a job role: {job_role_text}")),
                    activities: ActivitySet::expand(row.activities.iter().map(String::as_str)),
                },
                assurance: AssuranceLevel::from_acr(row.acr.as_deref()),
                scopes,
            })
        }
        "system" => Principal::System(SystemPrincipal {
            client_id: field(&row.client, "client"),
            ods_code: ods(&field(&row.org, "org")),
            scopes,
            region_wide: row.region_wide.as_deref().map(|use_| RegionWideReading {
                justification: format!("decision table: {use_}"),
                secondary_use: match use_ {
                    "secondary-use" => true,
                    "direct-care" => false,
                    _ => panic!("region_wide is secondary-use or direct-care, not {use_}"),
                },
            }),
        }),
        "patient" => Principal::Patient(PatientPrincipal {
            user_id: field(&row.user, "user"),
            session_id: format!("session-{name}"),
            own_patient_ids: row.own_patient_ids.clone(),
            scopes,
        }),
        other => panic!("principal {name}: kind is user, system or patient, not {other}"),
    }
}

/// A Consent as a source (or KMCR's IG team) would send it, so that the parser is what turns it into an objection.
fn consent_json(id: &str, row: &ConsentRow) -> Value {
    let (system, code, provision_type) = match (row.objection.as_str(), row.coded_as.as_deref()) {
        ("gp-type-1", None | Some("read")) => (READ_V2_SYSTEM, "9Nu0", "deny"),
        ("gp-type-1", Some("ctv3")) => (CTV3_SYSTEM, "XaZ89", "deny"),
        ("shared-record", None) => (SNOMED_SYSTEM, "416409005", "deny"),
        ("consent-given", None) => (SNOMED_SYSTEM, "417528008", "permit"),
        ("national-data-opt-out", None) => (KMCR_OBJECTION_SYSTEM, "national-data-opt-out", "deny"),
        (objection, coded_as) => panic!("consent {id}: no coding for {objection} as {coded_as:?}"),
    };
    let actor = |role: &str, code: &String| {
        json!({
            "role": {"coding": [{"system": PARTICIPATION_TYPE_SYSTEM, "code": role}]},
            "reference": {"identifier": {"system": ODS_CODE_SYSTEM, "value": code}}
        })
    };
    let actors: Vec<Value> = row
        .sources
        .iter()
        .map(|code| actor("CST", code))
        .chain(row.recipients.iter().map(|code| actor("IRCP", code)))
        .collect();
    let mut provision = json!({"type": provision_type});
    if !actors.is_empty() {
        provision["actor"] = Value::Array(actors);
    }
    if !row.classes.is_empty() {
        provision["class"] =
            row.classes.iter().map(|class| json!({"system": RESOURCE_TYPES_SYSTEM, "code": class})).collect();
    }
    let mut period = serde_json::Map::new();
    if let Some(start) = &row.start {
        period.insert("start".into(), json!(start));
    }
    if let Some(end) = &row.end {
        period.insert("end".into(), json!(end));
    }
    if !period.is_empty() {
        provision["period"] = Value::Object(period);
    }
    json!({
        "resourceType": "Consent",
        "id": id,
        "status": row.status,
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": system, "code": code}]}],
        "patient": {"reference": "Patient/table-person"},
        "dateTime": "2020-01-01",
        "provision": provision,
    })
}

/// The person of a scenario: a Patient record at each source organisation, and the facts named.
fn person(table: &Table, scenario: &Scenario, now_ms: i64, problems: &mut Vec<String>) -> PersonFacts {
    let mut facts = PersonFacts {
        person_id: "table-person".into(),
        records: table
            .items
            .values()
            .filter(|item| item.resource_type == "Patient")
            .map(|item| SourceRecord { patient_id: format!("{}-P1", item.source), source: ods(&item.source) })
            .collect(),
        ..PersonFacts::default()
    };
    for (grant_idx, name) in scenario.person.iter().enumerate() {
        let Some(fact) = table.facts.get(name) else {
            problems.push(format!("unknown fact {name}"));
            continue;
        };
        if let Some(contact) = &fact.contact {
            facts.contacts.push(CareContact {
                organisation: ods(&contact.org),
                kind: contact_kind(&contact.kind),
                start_ms: Some(now_ms - 400 * MS_PER_DAY),
                end_ms: contact.ended_days_ago.map(|days| now_ms - days * MS_PER_DAY),
            });
        }
        if let Some(grant) = &fact.grant {
            let by = &table.principals[&grant.by];
            facts.grants.push(AccessGrant {
                grant_id: grant_idx as i64 + 1,
                kind: GrantKind::parse(&grant.kind).unwrap_or_else(|| panic!("not a grant kind: {}", grant.kind)),
                user_id: by.user.clone().expect("a grant is made by a user or a member of the public"),
                role_profile_id: grant.role_profile.clone().or_else(|| by.role_profile.clone()).unwrap_or_default(),
                from_ms: now_ms + grant.starts * MS_PER_DAY,
                to_ms: now_ms + grant.ends * MS_PER_DAY,
            });
        }
        if let Some(consent) = &fact.consent {
            let json = consent_json(name, consent);
            match (objection_from_consent(&json, &ods(&consent.sender)), consent.is_objection) {
                (Some(objection), true) => facts.objections.push(objection),
                (None, false) => {}
                (Some(_), false) => problems.push(format!("fact {name}: read as an objection, expected not")),
                (None, true) => problems.push(format!("fact {name}: not read as an objection: {json}")),
            }
        }
    }
    facts
}

fn contact_kind(text: &str) -> ContactKind {
    [
        ContactKind::Registration,
        ContactKind::Encounter,
        ContactKind::EpisodeOfCare,
        ContactKind::Referral,
        ContactKind::CareTeam,
    ]
    .into_iter()
    .find(|kind| kind.as_str() == text)
    .unwrap_or_else(|| panic!("not a contact kind: {text}"))
}

fn verdict_text(verdict: &ItemVerdict) -> String {
    match verdict {
        ItemVerdict::Visible => "visible".into(),
        ItemVerdict::OutOfView => "out-of-view".into(),
        ItemVerdict::Withheld(reason) => format!("withheld:{reason}"),
    }
}

/// The verdict the scenario expects for each item of the table.
fn expected_verdicts(table: &Table, scenario: &Scenario, problems: &mut Vec<String>) -> BTreeMap<String, String> {
    let mut expected = BTreeMap::new();
    let listed = scenario
        .visible
        .iter()
        .map(|item| (item.clone(), "visible".to_string()))
        .chain(scenario.out_of_view.iter().map(|item| (item.clone(), "out-of-view".to_string())))
        .chain(scenario.withheld.iter().map(|(item, reason)| (item.clone(), format!("withheld:{reason}"))));
    for (item, verdict) in listed {
        if !table.items.contains_key(&item) {
            problems.push(format!("unknown item {item}"));
        }
        if expected.insert(item.clone(), verdict).is_some() {
            problems.push(format!("item {item} listed twice"));
        }
    }
    for item in table.items.keys() {
        if !expected.contains_key(item) {
            match &scenario.others {
                Some(verdict) => {
                    expected.insert(item.clone(), verdict.clone());
                }
                None => problems.push(format!("item {item} has no expected verdict (list it, or set others)")),
            }
        }
    }
    expected
}

fn run_scenario(table: &Table, rules_parts: &RulesParts, scenario: &Scenario) -> Vec<String> {
    let mut problems = Vec::new();
    let now_ms = instant_ms(scenario.at.as_deref().unwrap_or(&table.defaults.at));
    let rules = Rules {
        registry: &rules_parts.registry,
        policies: &rules_parts.policies,
        settings: &rules_parts.settings,
        now_ms,
    };
    let Some(principal_row) = table.principals.get(&scenario.who) else {
        return vec![format!("unknown principal {}", scenario.who)];
    };
    let principal = principal(&scenario.who, principal_row, None);
    let person = person(table, scenario, now_ms, &mut problems);
    let decision = decide_person(rules, &principal, purpose(&scenario.purpose), &person);
    let expected_items = expected_verdicts(table, scenario, &mut problems);
    let mut compare = |what: &str, expected: String, actual: String| {
        if expected != actual {
            problems.push(format!("{what}: expected {expected}, got {actual}"));
        }
    };
    compare("permitted", scenario.permitted.to_string(), decision.permitted.to_string());
    compare("basis", scenario.basis.clone(), decision.basis.to_string());
    compare("recorded purpose", scenario.recorded.clone(), decision.purpose.as_str().to_string());
    for (name, expected) in expected_items {
        let item = &table.items[&name];
        let source = ods(&item.source);
        let actual = decision.view.item_verdict(ItemFacts {
            resource_type: resource_type(&item.resource_type),
            source: &source,
            sensitivity: sensitivity_of(&item_json(item), &CodeRules::defaults()),
        });
        compare(&format!("item {name}"), expected, verdict_text(&actual));
    }
    for fragment in &scenario.reasons_include {
        if !decision.reasons.iter().any(|reason| reason.contains(fragment.as_str())) {
            problems.push(format!("no reason mentions '{fragment}': {:?}", decision.reasons));
        }
    }
    problems
}

fn item_json(item: &ItemRow) -> Value {
    let security: Vec<Value> = item
        .labels
        .iter()
        .map(|label| {
            let system =
                if matches!(label.as_str(), "R" | "V" | "N") { CONFIDENTIALITY_SYSTEM } else { ACT_CODE_SYSTEM };
            json!({"system": system, "code": label})
        })
        .collect();
    json!({"resourceType": item.resource_type, "meta": {"security": security}})
}

struct RulesParts {
    registry: OrganisationRegistry,
    policies: Vec<Policy>,
    settings: AccessSettings,
}

fn rules_parts(table: &Table) -> RulesParts {
    RulesParts { registry: registry(table), policies: policies(table), settings: AccessSettings::default() }
}

#[test]
fn every_scenario_of_the_decision_table_decides_as_the_table_says() {
    let table = load();
    let parts = rules_parts(&table);
    let mut names = BTreeSet::new();
    let mut failures = Vec::new();
    let mut n_scenarios_failed = 0;
    for scenario in &table.scenarios {
        let mut problems = run_scenario(&table, &parts, scenario);
        if !names.insert(scenario.name.as_str()) {
            problems.push("the name is used twice".into());
        }
        n_scenarios_failed += usize::from(!problems.is_empty());
        failures.extend(problems.into_iter().map(|problem| format!("{}: {problem}", scenario.name)));
    }
    assert!(
        table.scenarios.len() >= 60,
        "the table must hold at least 60 scenarios, it holds {}",
        table.scenarios.len()
    );
    assert!(
        failures.is_empty(),
        "{n_scenarios_failed} of {} scenarios failed:\n{}",
        table.scenarios.len(),
        failures.join("\n")
    );
}

#[test]
fn every_interaction_row_decides_as_the_table_says() {
    let table = load();
    let parts = rules_parts(&table);
    let rules = Rules {
        registry: &parts.registry,
        policies: &parts.policies,
        settings: &parts.settings,
        now_ms: instant_ms(&table.defaults.at),
    };
    let mut failures = Vec::new();
    for row in &table.interactions {
        let principal = principal(&row.who, &table.principals[&row.who], row.scopes.as_deref());
        let verdict =
            decide_interaction(rules, &principal, interaction(&row.interaction), resource_type(&row.resource_type));
        check_verdict(&mut failures, &row.name, row.permitted, row.reason_includes.as_deref(), &verdict);
    }
    for row in &table.write_overs {
        let principal = principal(&row.who, &table.principals[&row.who], None);
        let existing = row.existing_source.as_deref().map(ods);
        let verdict = decide_write_over(&principal, resource_type(&row.resource_type), existing.as_ref());
        check_verdict(&mut failures, &row.name, row.permitted, row.reason_includes.as_deref(), &verdict);
    }
    assert!(failures.is_empty(), "{} interaction rows failed:\n{}", failures.len(), failures.join("\n"));
}

fn check_verdict(
    failures: &mut Vec<String>,
    name: &str,
    permitted: bool,
    reason_includes: Option<&str>,
    verdict: &kmcr_access::Verdict,
) {
    if verdict.permitted != permitted {
        failures
            .push(format!("{name}: expected permitted {permitted}, got {} ({})", verdict.permitted, verdict.reason));
    }
    if let Some(fragment) = reason_includes
        && !verdict.reason.contains(fragment)
    {
        failures.push(format!("{name}: expected a reason mentioning '{fragment}', got '{}'", verdict.reason));
    }
}

#[test]
fn the_table_defines_nothing_it_does_not_use() {
    let table = load();
    let used_facts: BTreeSet<&str> =
        table.scenarios.iter().flat_map(|scenario| scenario.person.iter().map(String::as_str)).collect();
    let unused: Vec<&String> = table.facts.keys().filter(|name| !used_facts.contains(name.as_str())).collect();
    assert!(unused.is_empty(), "facts no scenario uses: {unused:?}");
    for (name, row) in &table.principals {
        // Built once, so that a principal only interaction rows use is still checked to be well formed.
        let _ = (principal(name, row, None), &row.note);
    }
    for row in table.facts.values() {
        let _ = &row.note;
    }
}
