//! Which topics a write fires. Each topic looks at the new version of a resource alone and says whether its
//! condition holds (with a token: what about it would be news if it changed), no longer holds, or is left as it was.
//! The tokens that hold are kept with the resource (`EventState`, a short text the store keeps in the resource's
//! row), so a topic fires when its token appears or changes, in the transaction of the write, without reading the
//! version before. An A08 that repeats an admission fires nothing; an A13 that cancels a discharge clears
//! `encounter-finished`, so that the discharge sent again fires it again.

use serde_json::Value;

use crate::topics::Topic;

/// What a topic makes of one version of a resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// The condition holds; a change of token (or its first appearance) is news.
    Holds(String),
    /// It no longer holds: the token is forgotten, so that it fires again when it next holds.
    Cleared,
    /// This version says nothing new either way (a finished encounter keeps its start).
    Unchanged,
    /// Every version is news, and nothing is kept (a classic criteria subscription hears of every change).
    Always,
}

/// The tokens that hold for a resource, as kept with it: `topic=token` lines, sorted by topic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventState {
    tokens: Vec<(Topic, String)>,
}

impl EventState {
    /// Reads the stored text; lines naming a topic this build does not know are dropped.
    pub fn parse(text: Option<&str>) -> EventState {
        let mut tokens: Vec<(Topic, String)> = text
            .unwrap_or("")
            .lines()
            .filter_map(|line| {
                let (code, token) = line.split_once('=')?;
                Some((Topic::from_code(code)?, token.to_string()))
            })
            .collect();
        tokens.sort();
        EventState { tokens }
    }

    /// The stored text, `None` when nothing holds.
    pub fn to_text(&self) -> Option<String> {
        if self.tokens.is_empty() {
            return None;
        }
        let lines: Vec<String> = self.tokens.iter().map(|(topic, token)| format!("{}={token}", topic.code())).collect();
        Some(lines.join("\n"))
    }

    pub fn token(&self, topic: Topic) -> Option<&str> {
        self.tokens.iter().find(|(held, _)| *held == topic).map(|(_, token)| token.as_str())
    }
}

/// Applies a new version's conditions to the state kept: the new state, and the topics fired, in topic order.
pub fn fire(previous: &EventState, conditions: &[(Topic, Condition)]) -> (EventState, Vec<Topic>) {
    let mut state = previous.clone();
    let mut fired = Vec::new();
    for (topic, condition) in conditions {
        match condition {
            Condition::Unchanged => {}
            Condition::Always => fired.push(*topic),
            Condition::Cleared => state.tokens.retain(|(held, _)| held != topic),
            Condition::Holds(token) => {
                if state.token(*topic) == Some(token.as_str()) {
                    continue;
                }
                state.tokens.retain(|(held, _)| held != topic);
                state.tokens.push((*topic, token.clone()));
                fired.push(*topic);
            }
        }
    }
    state.tokens.sort();
    fired.sort();
    (state, fired)
}

/// The conditions of every topic that looks at this kind of resource (none for the others).
pub fn conditions_of(resource_type: &str, resource: &Value) -> Vec<(Topic, Condition)> {
    match resource_type {
        "Encounter" => vec![
            (Topic::EncounterStarted, encounter_started(resource)),
            (Topic::EncounterFinished, encounter_finished(resource)),
            (Topic::EmergencyAttendance, emergency_attendance(resource)),
        ],
        "DiagnosticReport" => vec![(Topic::NewResult, new_result(resource))],
        "DocumentReference" => vec![(Topic::NewDocument, new_document(resource))],
        "Flag" => vec![(Topic::SafeguardingFlagChanged, safeguarding_flag(resource))],
        "Patient" => vec![(Topic::PersonMerged, person_merged(resource))],
        _ => Vec::new(),
    }
}

const STARTED_STATUSES: [&str; 4] = ["arrived", "triaged", "in-progress", "onleave"];

fn status(resource: &Value) -> &str {
    resource["status"].as_str().unwrap_or("")
}

fn encounter_started(encounter: &Value) -> Condition {
    match status(encounter) {
        // The class is part of it: an emergency attendance that becomes an admission on the same visit (A06) is a
        // start of its own, which a community team's admissions subscription must hear of.
        status if STARTED_STATUSES.contains(&status) => {
            Condition::Holds(format!("started|{}", encounter_class(encounter).unwrap_or("")))
        }
        // A discharge keeps the start it had; one that arrives without a start is told as a discharge alone.
        "finished" => Condition::Unchanged,
        _ => Condition::Cleared,
    }
}

fn encounter_finished(encounter: &Value) -> Condition {
    match status(encounter) {
        "finished" => Condition::Holds("finished".into()),
        "unknown" => Condition::Unchanged,
        _ => Condition::Cleared,
    }
}

/// The encounter's class code, when it is a v3-ActCode (or has no system).
pub fn encounter_class(encounter: &Value) -> Option<&str> {
    let class = &encounter["class"];
    let system = class["system"].as_str();
    if system.is_some_and(|system| system != "http://terminology.hl7.org/CodeSystem/v3-ActCode") {
        return None;
    }
    class["code"].as_str()
}

fn emergency_attendance(encounter: &Value) -> Condition {
    let status = status(encounter);
    if encounter_class(encounter) != Some("EMER") {
        return Condition::Cleared;
    }
    if STARTED_STATUSES.contains(&status) || status == "finished" {
        Condition::Holds("attended".into())
    } else if status == "unknown" {
        Condition::Unchanged
    } else {
        Condition::Cleared
    }
}

fn new_result(report: &Value) -> Condition {
    match status(report) {
        status @ ("preliminary" | "partial" | "final" | "amended" | "corrected" | "appended") => {
            Condition::Holds(status.into())
        }
        "registered" | "unknown" => Condition::Unchanged,
        _ => Condition::Cleared,
    }
}

fn new_document(document: &Value) -> Condition {
    match status(document) {
        "current" => Condition::Holds(document["docStatus"].as_str().unwrap_or("current").to_string()),
        "superseded" => Condition::Unchanged,
        _ => Condition::Cleared,
    }
}

/// Safeguarding flags (SNOMED CT): child protection plan, looked-after child, vulnerable adult.
pub const SAFEGUARDING_CODES: [&str; 3] = ["342191000000101", "764841000000100", "417430008"];

/// Whether a Flag is a safeguarding flag: by its code, or by its category (`safety`, or NHS England's `CP-IS`).
pub fn is_safeguarding_flag(flag: &Value) -> bool {
    let has_code = |concept: &Value, codes: &[&str]| {
        concept["coding"].as_array().is_some_and(|codings| {
            codings.iter().any(|coding| coding["code"].as_str().is_some_and(|code| codes.contains(&code)))
        })
    };
    has_code(&flag["code"], &SAFEGUARDING_CODES)
        || flag["category"]
            .as_array()
            .is_some_and(|categories| categories.iter().any(|category| has_code(category, &["safety", "CP-IS"])))
}

fn safeguarding_flag(flag: &Value) -> Condition {
    if !is_safeguarding_flag(flag) {
        return Condition::Cleared;
    }
    let codes: Vec<&str> = flag["code"]["coding"]
        .as_array()
        .map(|codings| codings.iter().filter_map(|coding| coding["code"].as_str()).collect())
        .unwrap_or_default();
    let period_end = flag["period"]["end"].as_str().unwrap_or("");
    Condition::Holds(token_text(&format!("{}|{}|{period_end}", status(flag), codes.join(","))))
}

fn person_merged(patient: &Value) -> Condition {
    let survivor = patient["link"].as_array().and_then(|links| {
        links.iter().find(|link| link["type"] == "replaced-by").and_then(|link| link["other"]["reference"].as_str())
    });
    match survivor {
        Some(survivor) => Condition::Holds(token_text(survivor)),
        None => Condition::Cleared,
    }
}

/// A token kept on one line of the state: no line breaks, and short.
fn token_text(text: &str) -> String {
    text.chars().filter(|character| !character.is_control()).take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fired_by(versions: &[Value]) -> Vec<Vec<&'static str>> {
        let mut state = EventState::default();
        let mut all = Vec::new();
        for version in versions {
            let resource_type = version["resourceType"].as_str().unwrap();
            let (next, fired) = fire(&state, &conditions_of(resource_type, version));
            assert_eq!(EventState::parse(next.to_text().as_deref()), next, "the state reads back as written");
            state = next;
            all.push(fired.into_iter().map(Topic::code).collect());
        }
        all
    }

    #[test]
    fn an_admission_its_update_a_discharge_its_cancellation_and_the_discharge_again() {
        let encounter = |status: &str| json!({"resourceType": "Encounter", "status": status, "class": {"code": "IMP"}});
        assert_eq!(
            fired_by(&[
                encounter("in-progress"),
                encounter("in-progress"),
                encounter("finished"),
                encounter("in-progress"),
                encounter("finished"),
            ]),
            vec![vec!["encounter-started"], vec![], vec!["encounter-finished"], vec![], vec!["encounter-finished"]]
        );
    }

    #[test]
    fn an_emergency_attendance_sent_only_at_discharge_is_still_an_attendance() {
        let encounter = json!({"resourceType": "Encounter", "status": "finished", "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER"}});
        assert_eq!(fired_by(&[encounter]), vec![vec!["encounter-finished", "emergency-attendance"]]);
    }

    #[test]
    fn a_result_fires_when_it_appears_and_when_its_status_moves_on() {
        let report = |status: &str| json!({"resourceType": "DiagnosticReport", "status": status});
        assert_eq!(
            fired_by(&[
                report("registered"),
                report("preliminary"),
                report("final"),
                report("final"),
                report("amended")
            ]),
            vec![vec![], vec!["new-result"], vec!["new-result"], vec![], vec!["new-result"]]
        );
    }

    #[test]
    fn only_safeguarding_flags_fire_and_their_end_is_news() {
        let flag = |status: &str, code: &str| json!({"resourceType": "Flag", "status": status, "code": {"coding": [{"code": code}]}});
        assert_eq!(
            fired_by(&[
                flag("active", "13790000"),
                flag("active", "342191000000101"),
                flag("inactive", "342191000000101")
            ]),
            vec![vec![], vec!["safeguarding-flag-changed"], vec!["safeguarding-flag-changed"]]
        );
    }

    #[test]
    fn an_attendance_that_becomes_an_admission_starts_again() {
        let encounter =
            |class: &str| json!({"resourceType": "Encounter", "status": "in-progress", "class": {"code": class}});
        assert_eq!(
            fired_by(&[encounter("EMER"), encounter("EMER"), encounter("IMP")]),
            vec![vec!["encounter-started", "emergency-attendance"], vec![], vec!["encounter-started"]]
        );
    }

    #[test]
    fn a_merge_fires_once() {
        let patient =
            json!({"resourceType": "Patient", "link": [{"type": "replaced-by", "other": {"reference": "Patient/b"}}]});
        assert_eq!(fired_by(&[patient.clone(), patient]), vec![vec!["person-merged"], vec![]]);
    }
}
