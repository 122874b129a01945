//! The topics KMCR offers: what happened, to which kind of resource, and which filters a subscriber may set.

use kmcr_fhir::ResourceType;

/// Where KMCR's topic canonicals live; a topic's canonical is this followed by its code.
pub const TOPIC_CANONICAL_BASE: &str = "https://fhir.kmcr.uk/SubscriptionTopic/";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    /// An Encounter has begun: arrived, triaged, in progress or on leave (an admission, an attendance).
    EncounterStarted,
    /// An Encounter has finished: a discharge (again after a cancelled discharge).
    EncounterFinished,
    /// An Encounter of class `EMER` has begun or been recorded: an emergency department attendance.
    EmergencyAttendance,
    /// A DiagnosticReport has become available or its status has moved on (preliminary, final, amended, corrected).
    NewResult,
    /// A DocumentReference has become current, or its document status has moved on (a letter, a discharge summary).
    NewDocument,
    /// A safeguarding Flag was raised, changed or ended (child protection plan, looked-after child, vulnerable adult,
    /// CP-IS, or any Flag of category `safety`).
    SafeguardingFlagChanged,
    /// A source merged one of its patient records into another (`Patient.link` `replaced-by`; an HL7 v2 A40).
    PersonMerged,
    /// Not offered as a topic: any new version of a resource of a type a classic criteria subscription watches.
    ResourceChanged,
}

/// Filters a topic takes (`Type?name=value` in the Backport IG's filter criteria).
pub const PATIENT_FILTER: &str = "patient";
pub const CLASS_FILTER: &str = "class";
pub const ROUTE_FILTER: &str = "route";

impl Topic {
    pub const ALL: [Topic; 7] = [
        Topic::EncounterStarted,
        Topic::EncounterFinished,
        Topic::EmergencyAttendance,
        Topic::NewResult,
        Topic::NewDocument,
        Topic::SafeguardingFlagChanged,
        Topic::PersonMerged,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Topic::EncounterStarted => "encounter-started",
            Topic::EncounterFinished => "encounter-finished",
            Topic::EmergencyAttendance => "emergency-attendance",
            Topic::NewResult => "new-result",
            Topic::NewDocument => "new-document",
            Topic::SafeguardingFlagChanged => "safeguarding-flag-changed",
            Topic::PersonMerged => "person-merged",
            Topic::ResourceChanged => "resource-changed",
        }
    }

    /// The topic a code names (the internal `resource-changed` too: the store keeps codes).
    pub fn from_code(code: &str) -> Option<Topic> {
        Topic::ALL.into_iter().chain([Topic::ResourceChanged]).find(|topic| topic.code() == code)
    }

    pub fn canonical(self) -> String {
        format!("{TOPIC_CANONICAL_BASE}{}", self.code())
    }

    /// The topic a canonical names (a version after `|` is accepted and ignored: there is one version of each).
    pub fn from_canonical(canonical: &str) -> Option<Topic> {
        let canonical = canonical.split('|').next().unwrap_or(canonical);
        let code = canonical.strip_prefix(TOPIC_CANONICAL_BASE)?;
        Topic::ALL.into_iter().find(|topic| topic.code() == code)
    }

    pub fn title(self) -> &'static str {
        match self {
            Topic::EncounterStarted => "Encounter started",
            Topic::EncounterFinished => "Encounter finished (discharge)",
            Topic::EmergencyAttendance => "Emergency department attendance",
            Topic::NewResult => "New or updated result",
            Topic::NewDocument => "New or updated document",
            Topic::SafeguardingFlagChanged => "Safeguarding flag raised, changed or ended",
            Topic::PersonMerged => "Patient records merged",
            Topic::ResourceChanged => "Resource changed",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Topic::EncounterStarted => {
                "An Encounter's status became arrived, triaged, in-progress or onleave for the first time."
            }
            Topic::EncounterFinished => {
                "An Encounter's status became finished (again, after a cancelled discharge reopened it)."
            }
            Topic::EmergencyAttendance => "An Encounter of class EMER (v3-ActCode) began or was recorded.",
            Topic::NewResult => {
                "A DiagnosticReport reached status preliminary, partial, final, amended, corrected or appended, or \
                 moved from one to another."
            }
            Topic::NewDocument => {
                "A DocumentReference became current, or its docStatus moved on (preliminary to final, amended)."
            }
            Topic::SafeguardingFlagChanged => {
                "A safeguarding Flag (child protection plan, looked-after child, vulnerable adult, CP-IS or category \
                 safety) was raised, or its status, code or period changed."
            }
            Topic::PersonMerged => "A source marked one of its Patient records as replaced-by another (an A40 merge).",
            Topic::ResourceChanged => "A new version of a resource a classic criteria subscription watches.",
        }
    }

    /// The kind of resource that fires the topic: the notification's focus.
    pub fn resource_type(self) -> ResourceType {
        match self {
            Topic::EncounterStarted | Topic::EncounterFinished | Topic::EmergencyAttendance => {
                ResourceType::parse("Encounter").expect("an R4 type")
            }
            Topic::NewResult => ResourceType::parse("DiagnosticReport").expect("an R4 type"),
            Topic::NewDocument => ResourceType::parse("DocumentReference").expect("an R4 type"),
            Topic::SafeguardingFlagChanged => ResourceType::parse("Flag").expect("an R4 type"),
            Topic::PersonMerged | Topic::ResourceChanged => ResourceType::PATIENT,
        }
    }

    /// The filters the topic takes, each with what it means (for the topic's description and the check of a
    /// subscription's filter criteria).
    pub fn filters(self) -> &'static [(&'static str, &'static str)] {
        const PATIENT: (&str, &str) =
            (PATIENT_FILTER, "Patient/{id}: events about this person (any source's record linked to the same person)");
        const ROUTE: (&str, &str) = (
            ROUTE_FILTER,
            "registered-practice | caseload | responsible-local-authority | care-team: events about people for whom \
             the subscriber's organisation is that",
        );
        const CLASS: (&str, &str) = (CLASS_FILTER, "a v3-ActCode encounter class code (EMER, IMP, AMB, ...)");
        match self {
            Topic::EncounterStarted | Topic::EncounterFinished | Topic::EmergencyAttendance => &[PATIENT, ROUTE, CLASS],
            _ => &[PATIENT, ROUTE],
        }
    }
}
