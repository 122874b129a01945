//! A FHIR R4 `Subscription` read into what it asks for, refusing what KMCR cannot honour with the element and the
//! reason. Two forms: topic-based, as the Subscriptions R5 Backport IG writes it for R4 (`criteria` a topic canonical,
//! filters in the `backport-filter-criteria` extension on `_criteria`), and classic R4 (`criteria` a search such as
//! `Encounter?patient=Patient/123`).

use serde_json::Value;

use crate::topics::{CLASS_FILTER, PATIENT_FILTER, ROUTE_FILTER, Topic};

pub const BACKPORT: &str = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/";
pub const BACKPORT_SUBSCRIPTION_PROFILE: &str =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription";
const FILTER_CRITERIA: &str = "backport-filter-criteria";
const HEARTBEAT_PERIOD: &str = "backport-heartbeat-period";
const TIMEOUT: &str = "backport-timeout";
const MAX_COUNT: &str = "backport-max-count";
const PAYLOAD_CONTENT: &str = "backport-payload-content";

/// Limits on what a subscriber may ask for.
pub const MAX_TIMEOUT_S: u32 = 60;
pub const DEFAULT_TIMEOUT_S: u32 = 10;
pub const MAX_EVENTS_PER_NOTIFICATION: u32 = 100;
pub const MIN_HEARTBEAT_PERIOD_S: u32 = 10;
pub const MAX_HEADERS: usize = 10;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Subscription.{element}: {reason}")]
pub struct SubscriptionError {
    pub element: String,
    pub reason: String,
}

fn refuse(element: &str, reason: impl Into<String>) -> SubscriptionError {
    SubscriptionError { element: element.into(), reason: reason.into() }
}

/// The states of a subscription (R4 `Subscription.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscriptionStatus {
    Requested,
    Active,
    Error,
    Off,
}

impl SubscriptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Requested => "requested",
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::Error => "error",
            SubscriptionStatus::Off => "off",
        }
    }

    pub fn parse(text: &str) -> Option<SubscriptionStatus> {
        Some(match text {
            "requested" => SubscriptionStatus::Requested,
            "active" => SubscriptionStatus::Active,
            "error" => SubscriptionStatus::Error,
            "off" => SubscriptionStatus::Off,
            _ => return None,
        })
    }
}

/// How much of the focus a notification carries (the Backport IG's payload content).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Payload {
    Empty,
    IdOnly,
    FullResource,
}

impl Payload {
    pub fn as_str(self) -> &'static str {
        match self {
            Payload::Empty => "empty",
            Payload::IdOnly => "id-only",
            Payload::FullResource => "full-resource",
        }
    }

    pub fn parse(text: &str) -> Option<Payload> {
        Some(match text {
            "empty" => Payload::Empty,
            "id-only" => Payload::IdOnly,
            "full-resource" => Payload::FullResource,
            _ => return None,
        })
    }
}

/// Which people's events an organisation receives without naming them: those for whom it is the registered GP
/// practice, whose care it holds on a caseload, whose responsible local authority it is (CP-IS), or whose care team
/// it is part of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Route {
    RegisteredPractice,
    Caseload,
    ResponsibleLocalAuthority,
    CareTeam,
}

impl Route {
    pub const ALL: [Route; 4] =
        [Route::RegisteredPractice, Route::Caseload, Route::ResponsibleLocalAuthority, Route::CareTeam];

    pub fn as_str(self) -> &'static str {
        match self {
            Route::RegisteredPractice => "registered-practice",
            Route::Caseload => "caseload",
            Route::ResponsibleLocalAuthority => "responsible-local-authority",
            Route::CareTeam => "care-team",
        }
    }

    pub fn parse(text: &str) -> Option<Route> {
        Route::ALL.into_iter().find(|route| route.as_str() == text)
    }
}

/// One filter of a topic-based subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Events about the person this Patient record belongs to (its id).
    Patient(String),
    /// Encounters of one of these classes.
    Class(Vec<String>),
    Route(Route),
}

/// A classic R4 criteria search, which must name the patient it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CriteriaSearch {
    pub resource_type: String,
    /// The query as written, every pair (the patient's included), for the store's search to judge the focus by.
    pub query: Vec<(String, String)>,
    pub patient_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    Topic { topic: Topic, filters: Vec<Filter> },
    Criteria(CriteriaSearch),
}

/// What a rest-hook carries: for a topic-based subscription, how much of the focus; for a classic one, nothing
/// (`payload` absent: an empty POST) or the resource (`payload` given: PUT to `[endpoint]/[type]/[id]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelPayload {
    Backport(Payload),
    ClassicEmpty,
    ClassicResource,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionSpec {
    pub what: What,
    pub endpoint: String,
    /// Headers sent with every notification (`channel.header`, `Name: value`). Kept as secrets: never logged.
    pub headers: Vec<(String, String)>,
    pub payload: ChannelPayload,
    pub heartbeat_period_s: Option<u32>,
    pub timeout_s: u32,
    pub max_count: u32,
    /// `Subscription.end`, as written (an instant); past it, the subscription is off.
    pub end: Option<String>,
}

impl SubscriptionSpec {
    pub fn topic(&self) -> Option<Topic> {
        match &self.what {
            What::Topic { topic, .. } => Some(*topic),
            What::Criteria(_) => None,
        }
    }

    /// The Patient a subscription names, by a topic's filter or a classic criteria.
    pub fn patient_id(&self) -> Option<&str> {
        match &self.what {
            What::Topic { filters, .. } => filters.iter().find_map(|filter| match filter {
                Filter::Patient(id) => Some(id.as_str()),
                _ => None,
            }),
            What::Criteria(search) => Some(&search.patient_id),
        }
    }

    pub fn route(&self) -> Option<Route> {
        match &self.what {
            What::Topic { filters, .. } => filters.iter().find_map(|filter| match filter {
                Filter::Route(route) => Some(*route),
                _ => None,
            }),
            What::Criteria(_) => None,
        }
    }

    pub fn classes(&self) -> Option<&[String]> {
        match &self.what {
            What::Topic { filters, .. } => filters.iter().find_map(|filter| match filter {
                Filter::Class(classes) => Some(classes.as_slice()),
                _ => None,
            }),
            What::Criteria(_) => None,
        }
    }

    /// The most a notification may carry, as asked.
    pub fn payload_asked(&self) -> Payload {
        match self.payload {
            ChannelPayload::Backport(payload) => payload,
            ChannelPayload::ClassicEmpty => Payload::Empty,
            ChannelPayload::ClassicResource => Payload::FullResource,
        }
    }
}

/// Reads a Subscription. `classic_types` are the resource types a classic criteria may name.
pub fn parse_subscription(resource: &Value, classic_types: &[&str]) -> Result<SubscriptionSpec, SubscriptionError> {
    if resource["resourceType"] != "Subscription" {
        return Err(refuse("resourceType", "a Subscription is expected"));
    }
    let criteria = resource["criteria"].as_str().ok_or_else(|| refuse("criteria", "is required"))?;
    let channel = &resource["channel"];
    let channel_type = channel["type"].as_str().ok_or_else(|| refuse("channel.type", "is required"))?;
    if channel_type != "rest-hook" {
        return Err(refuse("channel.type", format!("'{channel_type}' is not offered: KMCR sends rest-hook only")));
    }
    let endpoint = endpoint(channel)?;
    let headers = headers(channel)?;
    let topic_based = criteria.starts_with("http://") || criteria.starts_with("https://") || is_backport(resource);
    let (what, payload) = if topic_based {
        let topic = Topic::from_canonical(criteria).ok_or_else(|| {
            refuse("criteria", format!("'{criteria}' is not a topic KMCR offers (see the CapabilityStatement)"))
        })?;
        let filters = topic_filters(resource, topic)?;
        let content = match extension_value(&channel["_payload"], PAYLOAD_CONTENT) {
            None => Payload::IdOnly,
            Some(value) => value.as_str().and_then(Payload::parse).ok_or_else(|| {
                refuse("channel._payload", "backport-payload-content is one of empty, id-only, full-resource")
            })?,
        };
        if let Some(mime) = channel["payload"].as_str()
            && !mime.starts_with("application/fhir+json")
        {
            return Err(refuse("channel.payload", format!("'{mime}' is not offered: application/fhir+json only")));
        }
        (What::Topic { topic, filters }, ChannelPayload::Backport(content))
    } else {
        let search = classic_criteria(criteria, classic_types)?;
        let payload = match channel["payload"].as_str() {
            None => ChannelPayload::ClassicEmpty,
            Some(mime) if mime.starts_with("application/fhir+json") => ChannelPayload::ClassicResource,
            Some(mime) => {
                return Err(refuse("channel.payload", format!("'{mime}' is not offered: application/fhir+json only")));
            }
        };
        (What::Criteria(search), payload)
    };
    let heartbeat_period_s = match unsigned_extension(channel, HEARTBEAT_PERIOD)? {
        Some(period) if period < MIN_HEARTBEAT_PERIOD_S => {
            return Err(refuse("channel", format!("a heartbeat period is at least {MIN_HEARTBEAT_PERIOD_S} s")));
        }
        period => period,
    };
    let timeout_s = match unsigned_extension(channel, TIMEOUT)? {
        None => DEFAULT_TIMEOUT_S,
        Some(timeout) if (1..=MAX_TIMEOUT_S).contains(&timeout) => timeout,
        Some(_) => return Err(refuse("channel", format!("a timeout is 1 to {MAX_TIMEOUT_S} s"))),
    };
    let max_count = match unsigned_extension(channel, MAX_COUNT)? {
        None => 1,
        Some(count) if (1..=MAX_EVENTS_PER_NOTIFICATION).contains(&count) => count,
        Some(_) => {
            return Err(refuse("channel", format!("a max count is 1 to {MAX_EVENTS_PER_NOTIFICATION}")));
        }
    };
    let end = resource["end"].as_str().map(str::to_string);
    Ok(SubscriptionSpec { what, endpoint, headers, payload, heartbeat_period_s, timeout_s, max_count, end })
}

fn is_backport(resource: &Value) -> bool {
    resource["meta"]["profile"].as_array().is_some_and(|profiles| {
        profiles.iter().any(|profile| profile.as_str().is_some_and(|p| p.starts_with(BACKPORT_SUBSCRIPTION_PROFILE)))
    })
}

fn endpoint(channel: &Value) -> Result<String, SubscriptionError> {
    let endpoint = channel["endpoint"].as_str().ok_or_else(|| refuse("channel.endpoint", "is required"))?;
    let rest = endpoint
        .strip_prefix("https://")
        .or_else(|| endpoint.strip_prefix("http://"))
        .ok_or_else(|| refuse("channel.endpoint", "an http or https URL is expected"))?;
    if rest.is_empty() || rest.starts_with('/') || endpoint.len() > 2048 || endpoint.contains(char::is_whitespace) {
        return Err(refuse("channel.endpoint", "not a URL"));
    }
    if rest.split('/').next().unwrap_or("").contains('@') {
        return Err(refuse("channel.endpoint", "credentials belong in channel.header, not the URL"));
    }
    Ok(endpoint.to_string())
}

fn headers(channel: &Value) -> Result<Vec<(String, String)>, SubscriptionError> {
    let Some(lines) = channel["header"].as_array() else { return Ok(Vec::new()) };
    if lines.len() > MAX_HEADERS {
        return Err(refuse("channel.header", format!("at most {MAX_HEADERS} headers")));
    }
    let mut headers = Vec::new();
    for line in lines {
        let line = line.as_str().ok_or_else(|| refuse("channel.header", "each header is a string"))?;
        let (name, value) =
            line.split_once(':').ok_or_else(|| refuse("channel.header", "each header is written 'Name: value'"))?;
        let name = name.trim();
        let token_character = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if name.is_empty() || !name.chars().all(token_character) {
            return Err(refuse("channel.header", "a header's name is a token"));
        }
        let lower = name.to_ascii_lowercase();
        if ["host", "content-length", "content-type", "transfer-encoding", "connection"].contains(&lower.as_str()) {
            return Err(refuse("channel.header", format!("the {name} header is KMCR's to set")));
        }
        let value = value.trim();
        if value.chars().any(|c| c.is_control()) || value.len() > 4096 {
            return Err(refuse("channel.header", "a header's value is one line of text"));
        }
        headers.push((name.to_string(), value.to_string()));
    }
    Ok(headers)
}

/// The value of the extension `name` (of the Backport IG) on an element.
fn extension_value<'a>(element: &'a Value, name: &str) -> Option<&'a Value> {
    let url = format!("{BACKPORT}{name}");
    element["extension"].as_array()?.iter().find(|extension| extension["url"] == url.as_str()).and_then(|extension| {
        extension.as_object()?.iter().find(|(key, _)| key.starts_with("value")).map(|(_, value)| value)
    })
}

fn unsigned_extension(channel: &Value, name: &str) -> Result<Option<u32>, SubscriptionError> {
    match extension_value(channel, name) {
        None => Ok(None),
        Some(value) => value
            .as_u64()
            .and_then(|value| u32::try_from(value).ok())
            .map(Some)
            .ok_or_else(|| refuse("channel", format!("{name} is a whole number"))),
    }
}

fn topic_filters(resource: &Value, topic: Topic) -> Result<Vec<Filter>, SubscriptionError> {
    let url = format!("{BACKPORT}{FILTER_CRITERIA}");
    let criteria: Vec<&str> = resource["_criteria"]["extension"]
        .as_array()
        .map(|extensions| {
            extensions
                .iter()
                .filter(|extension| extension["url"] == url.as_str())
                .filter_map(|extension| extension["valueString"].as_str())
                .collect()
        })
        .unwrap_or_default();
    let expected_type = topic.resource_type();
    let mut filters = Vec::new();
    for text in criteria {
        // `Type?name=value&...`, or `name=value` alone.
        let (resource_type, query) = match text.split_once('?') {
            Some((resource_type, query)) => (Some(resource_type), query),
            None => (None, text),
        };
        if let Some(resource_type) = resource_type
            && resource_type != expected_type.as_str()
        {
            return Err(refuse("_criteria", format!("{} filters {expected_type}, not {resource_type}", topic.code())));
        }
        for (name, value) in kmcr_fhir_search::parse_query(query) {
            let name = name.split(':').next().unwrap_or(&name).to_string();
            if !topic.filters().iter().any(|(offered, _)| *offered == name) {
                let offered: Vec<&str> = topic.filters().iter().map(|(offered, _)| *offered).collect();
                return Err(refuse(
                    "_criteria",
                    format!("{} takes no filter '{name}' (it takes {})", topic.code(), offered.join(", ")),
                ));
            }
            filters.push(match name.as_str() {
                PATIENT_FILTER => Filter::Patient(patient_id(&value).ok_or_else(|| {
                    refuse("_criteria", format!("patient names one Patient (Patient/id), not '{value}'"))
                })?),
                CLASS_FILTER => Filter::Class(
                    value.split(',').map(|class| class.rsplit('|').next().unwrap_or(class).to_string()).collect(),
                ),
                ROUTE_FILTER => {
                    Filter::Route(Route::parse(&value).ok_or_else(|| {
                        refuse("_criteria", format!("route '{value}' is not one of {}", route_names()))
                    })?)
                }
                _ => unreachable!("checked against the topic's filters"),
            });
        }
    }
    let n_patients = filters.iter().filter(|filter| matches!(filter, Filter::Patient(_))).count();
    let n_routes = filters.iter().filter(|filter| matches!(filter, Filter::Route(_))).count();
    if n_patients > 1 || n_routes > 1 {
        return Err(refuse("_criteria", "at most one patient and one route"));
    }
    Ok(filters)
}

fn route_names() -> String {
    Route::ALL.map(Route::as_str).join(", ")
}

fn classic_criteria(criteria: &str, classic_types: &[&str]) -> Result<CriteriaSearch, SubscriptionError> {
    let (resource_type, query) = criteria
        .split_once('?')
        .ok_or_else(|| refuse("criteria", "a topic canonical, or a search such as Encounter?patient=Patient/123"))?;
    if !classic_types.contains(&resource_type) {
        return Err(refuse(
            "criteria",
            format!("a criteria search is offered on {}, not '{resource_type}'", classic_types.join(", ")),
        ));
    }
    let query = kmcr_fhir_search::parse_query(query);
    let patient_id = query
        .iter()
        .find(|(name, _)| name == "patient" || name == "subject" || (resource_type == "Patient" && name == "_id"))
        .and_then(|(name, value)| if name == "_id" { Some(value.clone()) } else { patient_id(value) })
        .ok_or_else(|| refuse("criteria", "a criteria search names the patient it is about (patient=Patient/id)"))?;
    Ok(CriteriaSearch { resource_type: resource_type.to_string(), query, patient_id })
}

/// `Patient/123`, or `123` alone, to the id.
fn patient_id(value: &str) -> Option<String> {
    let id = value.strip_prefix("Patient/").unwrap_or(value);
    kmcr_fhir::ResourceId::parse(id).ok().map(|id| id.as_str().to_string())
}
