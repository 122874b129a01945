//! The service layer: the one path by which any caller (the FHIR API now; the viewer, portal and feeds later) reads or
//! writes records. Each operation asks the access decision, records an audit entry (durable before data is returned,
//! in the same transaction as a write), then calls the store. Nothing here knows HTTP.

mod bundle;
mod error;
pub mod identity;
mod matching;
pub mod references;

use kmcr_access::{Action, Decision, Principal, decide};
use kmcr_audit::AuditRecord;
use kmcr_fhir::{Instant, ResourceId, ResourceType, validate_resource};
use kmcr_fhir_search::{SearchParamRegistry, SearchRequest, extract_index_entries, parse_search};
use kmcr_store::{
    Cursor, EverythingOutcome, EverythingRequest, HistoryRequest, Page, PageRequest, Precondition, SearchOutcome,
    Store, StoredResource, WriteAction, WriteOp, WriteOutcome,
};
use serde_json::Value;

pub use error::{ServiceError, error_status_line, operation_outcome, outcome_with};
pub use matching::{LinkHistory, PatientMatch, ReviewView};

/// Bounds on what one request may ask for.
#[derive(Clone, Debug)]
pub struct Limits {
    pub default_page_size: usize,
    pub max_page_size: usize,
    pub max_bundle_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { default_page_size: 50, max_page_size: 1000, max_bundle_entries: 20_000 }
    }
}

/// Who asks, and the id of the request (for traces and the audit).
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub principal: Principal,
    pub request_id: String,
}

#[derive(Clone)]
pub struct Service {
    store: Store,
    limits: Limits,
    identity: std::sync::Arc<identity::Identity>,
}

/// A page of search results with the parsed request, so the caller can build links and report ignored parameters.
pub struct SearchResult {
    pub request: SearchRequest,
    pub outcome: SearchOutcome,
}

/// The result of a create, which under `If-None-Exist` may find the resource already there.
pub enum CreateResult {
    Created(WriteOutcome),
    Exists(StoredResource),
}

impl Service {
    /// Starts the service: rebuilds the person index from the store (matching any Patient not yet linked).
    pub async fn start(
        store: Store,
        limits: Limits,
        identity_settings: identity::IdentitySettings,
    ) -> Result<Service, ServiceError> {
        let identity = identity::Identity::start(store.clone(), identity_settings).await?;
        Ok(Service { store, limits, identity })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn store_backend(&self) -> &'static str {
        self.store.backend_name()
    }

    /// Asks the access decision and, when it denies, records the denial before answering.
    async fn authorise(
        &self,
        context: &RequestContext,
        action: Action,
        audit_action: &str,
        resource_types: &[ResourceType],
        resources: &[String],
    ) -> Result<Decision, ServiceError> {
        let decision = decide(&context.principal, action, resource_types);
        if !decision.permitted {
            let record = audit_record(context, audit_action, resources.to_vec(), Vec::new(), "denied", &decision);
            self.store.append_audit(record).await?;
            tracing::info!(request_id = %context.request_id, audit_action, "access denied");
            return Err(ServiceError::Forbidden(decision.reasons.join("; ")));
        }
        Ok(decision)
    }

    pub async fn read(
        &self,
        context: &RequestContext,
        resource_type: ResourceType,
        id: &ResourceId,
    ) -> Result<StoredResource, ServiceError> {
        let reference = format!("{resource_type}/{id}");
        let decision =
            self.authorise(context, Action::Read, "read", &[resource_type], std::slice::from_ref(&reference)).await?;
        let stored = self.store.read(resource_type, id).await?;
        let patients = patient_of(resource_type, id);
        let outcome = match &stored {
            Some(resource) if !resource.deleted => "permitted",
            _ => "not-found",
        };
        self.store.append_audit(audit_record(context, "read", vec![reference], patients, outcome, &decision)).await?;
        match stored {
            Some(resource) if resource.deleted => Err(ServiceError::Gone),
            Some(resource) if resource.version_id > 0 => Ok(resource),
            _ => Err(ServiceError::NotFound),
        }
    }

    pub async fn vread(
        &self,
        context: &RequestContext,
        resource_type: ResourceType,
        id: &ResourceId,
        version_id: i64,
    ) -> Result<StoredResource, ServiceError> {
        let reference = format!("{resource_type}/{id}/_history/{version_id}");
        let decision =
            self.authorise(context, Action::Read, "vread", &[resource_type], std::slice::from_ref(&reference)).await?;
        let stored = self.store.read_version(resource_type, id, version_id).await?;
        let patients = patient_of(resource_type, id);
        self.store
            .append_audit(audit_record(context, "vread", vec![reference], patients, "permitted", &decision))
            .await?;
        match stored {
            Some(resource) if resource.deleted => Err(ServiceError::Gone),
            Some(resource) => Ok(resource),
            None => Err(ServiceError::NotFound),
        }
    }

    /// Parses a search without running it (for callers that need the parsed form first).
    pub fn parse_search(
        &self,
        resource_type: ResourceType,
        params: &[(String, String)],
        lenient: bool,
    ) -> Result<SearchRequest, ServiceError> {
        Ok(parse_search(SearchParamRegistry::official_r4(), resource_type, params, lenient, self.limits.max_page_size)?)
    }

    pub async fn search(
        &self,
        context: &RequestContext,
        resource_type: ResourceType,
        params: &[(String, String)],
        lenient: bool,
        cursor: Option<&str>,
    ) -> Result<SearchResult, ServiceError> {
        let params = matching::expand_patient_references(params, |id| self.identity.linked_patients(id));
        let request = self.parse_search(resource_type, &params, lenient)?;
        let mut types = vec![resource_type];
        types.extend(request.includes.iter().filter_map(|include| include.target_type));
        types.extend(request.revincludes.iter().map(|include| include.source_type));
        let decision = self.authorise(context, Action::Read, "search", &types, &[resource_type.to_string()]).await?;
        // `_summary=count` reads no resource: the count alone, no page, no link onwards.
        let count_only = request.summary == Some(kmcr_fhir_search::Summary::Count);
        let page = PageRequest {
            count: if count_only { 0 } else { request.count.unwrap_or(self.limits.default_page_size) },
            cursor: cursor.map(Cursor::decode).transpose()?,
            want_total: request.total.as_deref() == Some("accurate") || count_only,
        };
        let outcome = self.store.search(&request, &page).await?;
        let returned: Vec<&StoredResource> = outcome.matches.iter().chain(&outcome.included).collect();
        let resources: Vec<String> =
            returned.iter().map(|resource| format!("{}/{}", resource.resource_type, resource.id)).collect();
        let patients: Vec<String> = returned
            .iter()
            .filter(|resource| resource.resource_type == ResourceType::PATIENT)
            .map(|resource| format!("Patient/{}", resource.id))
            .collect();
        self.store.append_audit(audit_record(context, "search", resources, patients, "permitted", &decision)).await?;
        Ok(SearchResult { request, outcome })
    }

    pub async fn history(&self, context: &RequestContext, request: HistoryRequest) -> Result<Page, ServiceError> {
        let types: Vec<ResourceType> = match request.resource_type {
            Some(resource_type) => vec![resource_type],
            None => ResourceType::all().collect(),
        };
        let target = match (&request.resource_type, &request.id) {
            (Some(resource_type), Some(id)) => format!("{resource_type}/{id}"),
            (Some(resource_type), None) => resource_type.to_string(),
            _ => "*".to_string(),
        };
        let decision = self.authorise(context, Action::Read, "history", &types, std::slice::from_ref(&target)).await?;
        let page = self.store.history(&request).await?;
        let resources: Vec<String> = page
            .resources
            .iter()
            .map(|resource| format!("{}/{}/_history/{}", resource.resource_type, resource.id, resource.version_id))
            .collect();
        self.store
            .append_audit(audit_record(context, "history", resources, Vec::new(), "permitted", &decision))
            .await?;
        Ok(page)
    }

    /// `Patient/$everything`: the patient's compartment, and what it refers to, in pages.
    pub async fn everything(
        &self,
        context: &RequestContext,
        mut request: EverythingRequest,
    ) -> Result<Page, ServiceError> {
        // The person's record: every source Patient linked to the one asked for, that one first.
        if let Some(asked) = request.patient_ids.first().cloned() {
            let mut linked = vec![asked.clone()];
            linked.extend(
                self.identity
                    .linked_patients(asked.as_str())
                    .into_iter()
                    .filter(|id| id != asked.as_str())
                    .filter_map(|id| ResourceId::parse(&id).ok()),
            );
            request.patient_ids = linked;
        }
        let everything_types: Vec<ResourceType> = ResourceType::all().collect();
        let patients: Vec<String> = request.patient_ids.iter().map(|id| format!("Patient/{id}")).collect();
        let decision = self.authorise(context, Action::Read, "everything", &everything_types, &patients).await?;
        let page = match self.store.everything(&request).await? {
            EverythingOutcome::Page(page) => page,
            EverythingOutcome::PatientDeleted => return Err(ServiceError::Gone),
            EverythingOutcome::PatientMissing => return Err(ServiceError::NotFound),
        };
        let resources: Vec<String> =
            page.resources.iter().map(|resource| format!("{}/{}", resource.resource_type, resource.id)).collect();
        self.store
            .append_audit(audit_record(context, "everything", resources, patients, "permitted", &decision))
            .await?;
        Ok(page)
    }

    pub async fn create(
        &self,
        context: &RequestContext,
        resource_type: ResourceType,
        resource: Value,
        if_none_exist: Option<&[(String, String)]>,
    ) -> Result<CreateResult, ServiceError> {
        let decision =
            self.authorise(context, Action::Write, "create", &[resource_type], &[resource_type.to_string()]).await?;
        if let Some(query) = if_none_exist {
            match self.find_one(resource_type, query).await? {
                Match::One(existing) => {
                    // The existing resource is returned to the caller: that is a read, and it is audited as one.
                    let reference = format!("{resource_type}/{}", existing.id);
                    let patients = patient_of(resource_type, &existing.id);
                    let record =
                        audit_record(context, "create-exists", vec![reference], patients, "permitted", &decision);
                    self.store.append_audit(record).await?;
                    return Ok(CreateResult::Exists(existing));
                }
                Match::None => {}
                Match::Many => {
                    return Err(ServiceError::PreconditionFailed(
                        "If-None-Exist matches more than one resource".into(),
                    ));
                }
            }
        }
        let id = new_resource_id();
        let op = self.put_op(context, resource_type, id, resource, Precondition::MustNotExist)?;
        let mut outcomes = self.write(context, vec![op], "create", &decision).await?;
        Ok(CreateResult::Created(outcomes.remove(0)))
    }

    pub async fn update(
        &self,
        context: &RequestContext,
        resource_type: ResourceType,
        id: ResourceId,
        resource: Value,
        if_match_version: Option<i64>,
    ) -> Result<WriteOutcome, ServiceError> {
        let decision = self
            .authorise(context, Action::Write, "update", &[resource_type], &[format!("{resource_type}/{id}")])
            .await?;
        let precondition = if_match_version.map_or(Precondition::None, Precondition::VersionIs);
        let op = self.put_op(context, resource_type, id, resource, precondition)?;
        let mut outcomes = self.write(context, vec![op], "update", &decision).await?;
        Ok(outcomes.remove(0))
    }

    /// `PUT Type?query`: updates the one match, creates when none, refuses when several.
    pub async fn conditional_update(
        &self,
        context: &RequestContext,
        resource_type: ResourceType,
        query: &[(String, String)],
        resource: Value,
    ) -> Result<WriteOutcome, ServiceError> {
        let id = match self.find_one(resource_type, query).await? {
            Match::One(existing) => existing.id,
            Match::None => match resource.get("id").and_then(Value::as_str) {
                Some(id) => ResourceId::parse(id).map_err(|error| ServiceError::Invalid(format!("id: {error}")))?,
                None => new_resource_id(),
            },
            Match::Many => {
                return Err(ServiceError::PreconditionFailed("the condition matches more than one resource".into()));
            }
        };
        self.update(context, resource_type, id, resource, None).await
    }

    pub async fn delete(
        &self,
        context: &RequestContext,
        resource_type: ResourceType,
        id: ResourceId,
    ) -> Result<WriteOutcome, ServiceError> {
        let decision = self
            .authorise(context, Action::Write, "delete", &[resource_type], &[format!("{resource_type}/{id}")])
            .await?;
        let op = WriteOp {
            resource_type,
            id,
            action: WriteAction::Delete,
            precondition: Precondition::None,
            writer_ods_code: context.principal.ods_code.clone(),
        };
        let mut outcomes = self.write(context, vec![op], "delete", &decision).await?;
        Ok(outcomes.remove(0))
    }

    /// Processes a transaction or batch Bundle and returns the response Bundle.
    pub async fn bundle(&self, context: &RequestContext, bundle: Value) -> Result<Value, ServiceError> {
        bundle::process(self, context, bundle).await
    }

    /// Checks a resource, works out its index rows and owner, and makes the write.
    fn put_op(
        &self,
        context: &RequestContext,
        resource_type: ResourceType,
        id: ResourceId,
        mut resource: Value,
        precondition: Precondition,
    ) -> Result<WriteOp, ServiceError> {
        let declared_type = validate_resource(&resource).map_err(ServiceError::from)?;
        if declared_type != resource_type {
            return Err(ServiceError::Invalid(format!("the body is a {declared_type}, not a {resource_type}")));
        }
        if !resource_type.is_storable() {
            return Err(ServiceError::Unprocessable(format!("{resource_type} resources are not stored")));
        }
        if let Some(body_id) = resource.get("id").and_then(Value::as_str)
            && precondition != Precondition::MustNotExist
            && body_id != id.as_str()
        {
            return Err(ServiceError::Invalid(format!("the body's id '{body_id}' is not the id in the URL")));
        }
        if let Some(object) = resource.as_object_mut() {
            object.insert("id".into(), Value::String(id.as_str().to_string()));
        }
        tag_source_organisation(&mut resource, &context.principal.ods_code);
        let registry = SearchParamRegistry::official_r4();
        let index_entries = extract_index_entries(registry, &resource);
        let owning_patient_id = kmcr_fhir_search::owning_patient_id(resource_type, Some(id.as_str()), &index_entries);
        Ok(WriteOp {
            resource_type,
            id,
            action: WriteAction::Put { resource, index_entries, owning_patient_id },
            precondition,
            writer_ods_code: context.principal.ods_code.clone(),
        })
    }

    async fn write(
        &self,
        context: &RequestContext,
        ops: Vec<WriteOp>,
        action: &str,
        decision: &Decision,
    ) -> Result<Vec<WriteOutcome>, ServiceError> {
        let resources: Vec<String> = ops.iter().map(|op| format!("{}/{}", op.resource_type, op.id)).collect();
        let patients: Vec<String> = ops
            .iter()
            .filter_map(|op| match &op.action {
                WriteAction::Put { owning_patient_id: Some(patient_id), .. } => Some(format!("Patient/{patient_id}")),
                _ => None,
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let record = audit_record(context, action, resources, patients, "permitted", decision);
        let outcomes = self.store.write(ops, Some(record)).await?;
        let written_patients: Vec<identity::WrittenPatient> = outcomes
            .iter()
            .filter(|outcome| outcome.resource_type == ResourceType::PATIENT && !outcome.unchanged)
            .map(|outcome| identity::WrittenPatient {
                id: outcome.id.to_string(),
                version_id: outcome.version_id,
                json: if outcome.deleted { None } else { outcome.json.clone() },
            })
            .collect();
        self.identity.patients_written(written_patients).await?;
        Ok(outcomes)
    }

    async fn find_one(&self, resource_type: ResourceType, query: &[(String, String)]) -> Result<Match, ServiceError> {
        let request = parse_search(SearchParamRegistry::official_r4(), resource_type, query, false, 2)?;
        let page = PageRequest { count: 2, cursor: None, want_total: false };
        let mut outcome = self.store.search(&request, &page).await?;
        Ok(match outcome.matches.len() {
            0 => Match::None,
            1 => Match::One(outcome.matches.remove(0)),
            _ => Match::Many,
        })
    }
}

/// The system of the `meta.tag` naming the organisation that sent a resource (searchable as `_tag`).
pub const SOURCE_ORGANISATION_TAG_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";

/// Every stored item shows its source organisation: a `meta.tag` with the writer's ODS code, replacing any such tag
/// the sender set (the server, not the sender, says who sent it).
fn tag_source_organisation(resource: &mut Value, ods_code: &kmcr_fhir::OdsCode) {
    let Some(object) = resource.as_object_mut() else { return };
    let meta = object.entry("meta").or_insert_with(|| Value::Object(Default::default()));
    let Some(meta) = meta.as_object_mut() else { return };
    let tags = meta.entry("tag").or_insert_with(|| Value::Array(Vec::new()));
    let Some(tags) = tags.as_array_mut() else { return };
    tags.retain(|tag| tag.get("system").and_then(Value::as_str) != Some(SOURCE_ORGANISATION_TAG_SYSTEM));
    tags.push(serde_json::json!({
        "system": SOURCE_ORGANISATION_TAG_SYSTEM,
        "code": ods_code.as_str(),
        "display": "source organisation",
    }));
}

enum Match {
    None,
    One(StoredResource),
    Many,
}

fn patient_of(resource_type: ResourceType, id: &ResourceId) -> Vec<String> {
    if resource_type == ResourceType::PATIENT { vec![format!("Patient/{id}")] } else { Vec::new() }
}

fn audit_record(
    context: &RequestContext,
    action: &str,
    resources: Vec<String>,
    patients: Vec<String>,
    outcome: &str,
    decision: &Decision,
) -> AuditRecord {
    AuditRecord {
        recorded_unix_ms: Instant::now().unix_ms,
        actor_id: context.principal.id.clone(),
        actor_ods_code: context.principal.ods_code.to_string(),
        action: action.to_string(),
        request_id: context.request_id.clone(),
        resources,
        patients,
        outcome: outcome.to_string(),
        reasons: decision.reasons.clone(),
    }
}

/// A fresh server-assigned id (UUID v4 form).
pub fn new_resource_id() -> ResourceId {
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    ResourceId::new_time_ordered(kmcr_fhir::Instant::now().unix_ms.max(0) as u64, bytes)
}
