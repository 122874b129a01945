//! Everything the service can answer instead of a result. The HTTP layer maps each to a status and an
//! OperationOutcome in one table.

use kmcr_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Not FHIR, or FHIR that breaks a rule: the message names the path of the fault.
    #[error("{0}")]
    Invalid(String),
    /// Well-formed but cannot be processed (e.g. a reference that cannot be resolved).
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    BadSearch(String),
    #[error("access denied: {0}")]
    Forbidden(String),
    /// The item is within the caller's view of the person but withheld by policy; the reason is a code that says
    /// nothing of the item (`sensitive`, `objection-shared-record`, ...).
    #[error("withheld from you ({0}): declare why you need it, or ask the person's information governance team")]
    Withheld(String),
    /// A paging link made for another caller, or altered.
    #[error("this paging link was made for another user or session, or has been altered: run the search again")]
    ForeignCursor,
    /// Not found, or not visible to the caller (the two are answered alike, so that ids cannot be probed).
    #[error("not found")]
    NotFound,
    #[error("the resource has been deleted")]
    Gone,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("the store is unavailable")]
    Unavailable,
    #[error("stored data is inconsistent")]
    Corrupt,
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::VersionConflict { .. } => ServiceError::PreconditionFailed(error.to_string()),
            StoreError::AlreadyExists { .. } | StoreError::ConcurrentWrite | StoreError::LoadContended(_) => {
                ServiceError::Conflict(error.to_string())
            }
            StoreError::NotOwner { .. } => ServiceError::Forbidden(error.to_string()),
            StoreError::GrantNotOpen(_) => ServiceError::Conflict(error.to_string()),
            StoreError::UnsupportedSearch(message) => ServiceError::BadSearch(message),
            StoreError::BadCursor => ServiceError::BadSearch(error.to_string()),
            StoreError::Unavailable(detail) => {
                // Logged once here, by kind only: the detail may quote SQL but never patient data.
                tracing::error!(%detail, "store unavailable");
                ServiceError::Unavailable
            }
            StoreError::Corrupt(detail) => {
                tracing::error!(%detail, "stored data inconsistent");
                ServiceError::Corrupt
            }
        }
    }
}

impl From<kmcr_fhir_search::SearchParseError> for ServiceError {
    fn from(error: kmcr_fhir_search::SearchParseError) -> Self {
        ServiceError::BadSearch(error.to_string())
    }
}

impl From<kmcr_fhir::ValidationError> for ServiceError {
    fn from(error: kmcr_fhir::ValidationError) -> Self {
        ServiceError::Invalid(error.to_string())
    }
}

impl ServiceError {
    /// The one table: HTTP status, FHIR issue type (IssueType value set), and a stable code clients may rely on.
    pub fn classify(&self) -> (u16, &'static str, &'static str) {
        match self {
            ServiceError::Invalid(_) => (400, "invalid", "KMCR-INVALID"),
            ServiceError::BadSearch(_) => (400, "invalid", "KMCR-BAD-SEARCH"),
            ServiceError::Forbidden(_) => (403, "forbidden", "KMCR-FORBIDDEN"),
            ServiceError::Withheld(_) => (403, "suppressed", "KMCR-WITHHELD"),
            ServiceError::ForeignCursor => (403, "forbidden", "KMCR-FOREIGN-PAGING-LINK"),
            ServiceError::NotFound => (404, "not-found", "KMCR-NOT-FOUND"),
            ServiceError::Conflict(_) => (409, "conflict", "KMCR-CONFLICT"),
            ServiceError::Gone => (410, "deleted", "KMCR-GONE"),
            ServiceError::PreconditionFailed(_) => (412, "conflict", "KMCR-PRECONDITION-FAILED"),
            ServiceError::TooLarge(_) => (413, "too-costly", "KMCR-TOO-LARGE"),
            ServiceError::Unprocessable(_) => (422, "processing", "KMCR-UNPROCESSABLE"),
            ServiceError::Unavailable => (503, "transient", "KMCR-UNAVAILABLE"),
            ServiceError::Corrupt => (500, "exception", "KMCR-INTERNAL"),
        }
    }
}

/// `404 Not Found` and the like, as Bundle entry responses carry them.
pub fn error_status_line(error: &ServiceError) -> String {
    let (status, _, _) = error.classify();
    let reason = match status {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        410 => "Gone",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    };
    format!("{status} {reason}")
}

/// The OperationOutcome for an error. Its text never carries internals.
pub fn operation_outcome(error: &ServiceError) -> serde_json::Value {
    let (_, issue_code, stable_code) = error.classify();
    outcome_with("error", issue_code, stable_code, &error.to_string())
}

pub fn outcome_with(severity: &str, issue_code: &str, stable_code: &str, text: &str) -> serde_json::Value {
    serde_json::json!({
        "resourceType": "OperationOutcome",
        "issue": [{
            "severity": severity,
            "code": issue_code,
            "details": {
                "coding": [{ "system": "https://kmcr.org.uk/fhir/CodeSystem/error", "code": stable_code }],
                "text": text,
            },
            "diagnostics": text,
        }],
    })
}
