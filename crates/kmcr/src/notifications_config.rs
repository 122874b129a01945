//! Regional events in the configuration: what each organisation receives, where, and how failed deliveries are
//! retried.
//!
//! ```toml
//! [[organisations.notifications]]
//! event = "emergency-attendance-to-gp"     # or topic = "...", route = "...", classes = ["EMER"]
//! endpoint = "https://gp-system.example/kmcr-notifications"
//! headers = ["Authorization: Bearer ..."]
//! payload = "id-only"                      # empty | id-only | full-resource
//! heartbeat_period_s = 3600
//! ```

use anyhow::{Context, bail};
use kmcr_events::{Payload, RetryPolicy, Route, Topic};
use kmcr_fhir::OdsCode;
use kmcr_service::subscriptions::RegionalSubscription;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotification {
    /// A named regional event (see [`named_event`]); or `topic` with `route` (and `classes`).
    pub event: Option<String>,
    pub topic: Option<String>,
    pub route: Option<String>,
    #[serde(default)]
    pub classes: Vec<String>,
    pub endpoint: String,
    #[serde(default)]
    pub headers: Vec<String>,
    pub payload: Option<String>,
    pub heartbeat_period_s: Option<u32>,
}

/// When failed notifications are tried again, and when a subscription is put in error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetry {
    pub first_delay_ms: Option<u64>,
    pub max_delay_ms: Option<u64>,
    pub attempts_before_error: Option<u32>,
    pub error_after_ms: Option<u64>,
}

/// The regional events the region asks for by name: topic, route, encounter classes.
pub fn named_event(name: &str) -> Option<(Topic, Route, &'static [&'static str])> {
    Some(match name {
        "emergency-attendance-to-gp" => (Topic::EmergencyAttendance, Route::RegisteredPractice, &[]),
        "emergency-discharge-to-gp" => (Topic::EncounterFinished, Route::RegisteredPractice, &["EMER"]),
        "admission-to-community-team" => (Topic::EncounterStarted, Route::Caseload, &["IMP", "ACUTE", "NONAC"]),
        "discharge-to-community-team" => (Topic::EncounterFinished, Route::Caseload, &["IMP", "ACUTE", "NONAC"]),
        "unscheduled-care-to-local-authority" => (Topic::EmergencyAttendance, Route::ResponsibleLocalAuthority, &[]),
        "safeguarding-flag-to-gp" => (Topic::SafeguardingFlagChanged, Route::RegisteredPractice, &[]),
        "safeguarding-flag-to-care-team" => (Topic::SafeguardingFlagChanged, Route::CareTeam, &[]),
        _ => return None,
    })
}

const NAMED_EVENTS: &str = "emergency-attendance-to-gp, emergency-discharge-to-gp, admission-to-community-team, \
     discharge-to-community-team, unscheduled-care-to-local-authority, safeguarding-flag-to-gp, \
     safeguarding-flag-to-care-team";

pub fn regional_subscription(ods_code: &OdsCode, raw: &RawNotification) -> anyhow::Result<RegionalSubscription> {
    let owner = format!("organisation {ods_code}: notification to {}", raw.endpoint);
    let (topic, route, classes, name) = match (&raw.event, &raw.topic) {
        (Some(event), None) => {
            let (topic, route, classes) =
                named_event(event).with_context(|| format!("{owner}: event '{event}' is not one of {NAMED_EVENTS}"))?;
            let classes = if raw.classes.is_empty() {
                classes.iter().map(|class| class.to_string()).collect()
            } else {
                raw.classes.clone()
            };
            (topic, route, classes, event.clone())
        }
        (None, Some(topic)) => {
            let topic = Topic::from_canonical(topic)
                .or_else(|| Topic::ALL.into_iter().find(|known| known.code() == topic))
                .with_context(|| format!("{owner}: topic '{topic}' is not one KMCR offers"))?;
            let route = raw.route.as_deref().with_context(|| format!("{owner}: a topic needs a route"))?;
            let route = Route::parse(route).with_context(|| format!("{owner}: route '{route}' is not known"))?;
            (topic, route, raw.classes.clone(), format!("{}-{}", topic.code(), route.as_str()))
        }
        _ => bail!("{owner}: give either event or topic (with route)"),
    };
    let payload = match raw.payload.as_deref() {
        None => Payload::IdOnly,
        Some(payload) => Payload::parse(payload)
            .with_context(|| format!("{owner}: payload is one of empty, id-only, full-resource"))?,
    };
    let mut headers = Vec::new();
    for header in &raw.headers {
        let (name, value) = header.split_once(':').with_context(|| format!("{owner}: a header is 'Name: value'"))?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let regional = RegionalSubscription {
        name,
        ods_code: ods_code.clone(),
        topic,
        route,
        classes,
        endpoint: raw.endpoint.clone(),
        headers,
        payload,
        heartbeat_period_s: raw.heartbeat_period_s,
    };
    Ok(regional)
}

pub fn retry_policy(raw: Option<&RawRetry>) -> RetryPolicy {
    let defaults = RetryPolicy::default();
    let Some(raw) = raw else { return defaults };
    RetryPolicy {
        first_delay_ms: raw.first_delay_ms.unwrap_or(defaults.first_delay_ms),
        max_delay_ms: raw.max_delay_ms.unwrap_or(defaults.max_delay_ms),
        attempts_before_error: raw.attempts_before_error.unwrap_or(defaults.attempts_before_error),
        error_after_ms: raw.error_after_ms.unwrap_or(defaults.error_after_ms),
    }
}
