//! Writes: create, update, conditional update, delete, and the store batch behind them and behind transactions.
//! Each is decided (scopes, the organisation's place in the agreement, and that only the sender of an item may
//! change it) and audited, refusals too. Conditional lookups see only what the caller may read, so that a 412 or a
//! 422 tells nothing of other organisations' data.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use kmcr_access::Interaction;
use kmcr_audit::AuditRecord;
use kmcr_fhir::{ResourceId, ResourceType, validate_resource};
use kmcr_fhir_search::{SearchParamRegistry, extract_index_entries, parse_search};
use kmcr_store::{
    PageRequest, Precondition, RowFilter, StoreError, StoredResource, WriteAction, WriteOp, WriteOutcome,
};
use serde_json::Value;

use crate::{RequestContext, Service, ServiceError, audit, identity};

/// The system of the `meta.tag` naming the organisation that sent a resource (searchable as `_tag`).
pub const SOURCE_ORGANISATION_TAG_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";

/// The result of a create, which under `If-None-Exist` may find the resource already there.
pub enum CreateResult {
    Created(WriteOutcome),
    /// Found by `If-None-Exist`; the body only when the caller may read it (a write-only source gets none).
    Exists {
        resource: StoredResource,
        readable: bool,
    },
}

pub(crate) enum Match {
    None,
    One(StoredResource),
    Many,
}

impl Service {
    pub async fn create(
        &self,
        context: &RequestContext,
        resource_type: ResourceType,
        resource: Value,
        if_none_exist: Option<&[(String, String)]>,
    ) -> Result<CreateResult, ServiceError> {
        let mut record = audit::record(context, "create");
        record.resources = vec![resource_type.to_string()];
        self.check_interaction(context, Interaction::Create, &[resource_type], &mut record).await?;
        if let Some(query) = if_none_exist {
            match self.find_one(context, resource_type, query, &mut record).await {
                Ok(Match::One(existing)) => {
                    record.action = "create-exists".into();
                    record.resources = vec![format!("{resource_type}/{}", existing.id)];
                    record.patients = audit::patients(existing.patient_id.as_ref().map(ResourceId::as_str));
                    record.persons = existing
                        .patient_id
                        .as_ref()
                        .and_then(|patient_id| self.identity.person_of(patient_id.as_str()))
                        .map(|person_id| format!("Person/{person_id}"))
                        .into_iter()
                        .collect();
                    let access = self.access();
                    let rules = access.rules(record.recorded_unix_ms);
                    let readable =
                        kmcr_access::decide_interaction(rules, &context.principal, Interaction::Read, resource_type)
                            .permitted;
                    record.outcome = "permitted".into();
                    self.store.append_audit(record).await?;
                    return Ok(CreateResult::Exists { resource: existing, readable });
                }
                Ok(Match::None) => {}
                Ok(Match::Many) => {
                    let error = ServiceError::PreconditionFailed("If-None-Exist matches more than one resource".into());
                    return Err(self.refuse(&mut record, "If-None-Exist matched several".into(), error).await);
                }
                Err(error) => return Err(self.refuse(&mut record, error.to_string(), error).await),
            }
        }
        let id = new_resource_id();
        let op = match self.put_op(context, resource_type, id, resource, Precondition::MustNotExist) {
            Ok(op) => op,
            Err(error) => return Err(self.refuse(&mut record, error.to_string(), error).await),
        };
        let mut outcomes = self.write(context, vec![op], record).await?;
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
        let mut record = audit::record(context, "update");
        record.resources = vec![format!("{resource_type}/{id}")];
        self.check_interaction(context, Interaction::Update, &[resource_type], &mut record).await?;
        self.update_decided(context, resource_type, id, resource, if_match_version, record).await
    }

    async fn update_decided(
        &self,
        context: &RequestContext,
        resource_type: ResourceType,
        id: ResourceId,
        resource: Value,
        if_match_version: Option<i64>,
        mut record: AuditRecord,
    ) -> Result<WriteOutcome, ServiceError> {
        let precondition = if_match_version.map_or(Precondition::None, Precondition::VersionIs);
        let op = match self.put_op(context, resource_type, id, resource, precondition) {
            Ok(op) => op,
            Err(error) => return Err(self.refuse(&mut record, error.to_string(), error).await),
        };
        let mut outcomes = self.write(context, vec![op], record).await?;
        Ok(outcomes.remove(0))
    }

    /// `PUT Type?query`: updates the one match, creates when none, refuses when several. The match is looked for only
    /// among what the caller may read.
    pub async fn conditional_update(
        &self,
        context: &RequestContext,
        resource_type: ResourceType,
        query: &[(String, String)],
        resource: Value,
    ) -> Result<WriteOutcome, ServiceError> {
        let mut record = audit::record(context, "update");
        record.resources = vec![resource_type.to_string()];
        self.check_interaction(context, Interaction::Update, &[resource_type], &mut record).await?;
        let id = match self.find_one(context, resource_type, query, &mut record).await {
            Ok(Match::One(existing)) => existing.id,
            Ok(Match::None) => match resource.get("id").and_then(Value::as_str) {
                Some(id) => match ResourceId::parse(id) {
                    Ok(id) => id,
                    Err(error) => {
                        let error = ServiceError::Invalid(format!("id: {error}"));
                        return Err(self.refuse(&mut record, error.to_string(), error).await);
                    }
                },
                None => new_resource_id(),
            },
            Ok(Match::Many) => {
                let error = ServiceError::PreconditionFailed("the condition matches more than one resource".into());
                return Err(self.refuse(&mut record, "condition matched several".into(), error).await);
            }
            Err(error) => return Err(self.refuse(&mut record, error.to_string(), error).await),
        };
        record.resources = vec![format!("{resource_type}/{id}")];
        self.update_decided(context, resource_type, id, resource, None, record).await
    }

    pub async fn delete(
        &self,
        context: &RequestContext,
        resource_type: ResourceType,
        id: ResourceId,
    ) -> Result<WriteOutcome, ServiceError> {
        let mut record = audit::record(context, "delete");
        record.resources = vec![format!("{resource_type}/{id}")];
        self.check_interaction(context, Interaction::Delete, &[resource_type], &mut record).await?;
        let writer_ods_code = self.writer_ods_code(context, &mut record).await?;
        let op = WriteOp {
            resource_type,
            id,
            action: WriteAction::Delete,
            precondition: Precondition::None,
            writer_ods_code,
        };
        let mut outcomes = self.write(context, vec![op], record).await?;
        Ok(outcomes.remove(0))
    }

    /// Processes a transaction or batch Bundle and returns the response Bundle.
    pub async fn bundle(&self, context: &RequestContext, bundle: Value) -> Result<Value, ServiceError> {
        crate::bundle::process(self, context, bundle).await
    }

    /// The organisation recorded as the writer; a member of the public writes nothing.
    pub(crate) async fn writer_ods_code(
        &self,
        context: &RequestContext,
        record: &mut AuditRecord,
    ) -> Result<kmcr_fhir::OdsCode, ServiceError> {
        match context.principal.ods_code() {
            Some(ods_code) => Ok(ods_code.clone()),
            None => {
                let reason = "a member of the public writes nothing to the shared record".to_string();
                Err(self.refuse(record, reason.clone(), ServiceError::Forbidden(reason)).await)
            }
        }
    }

    /// Checks a resource, works out its index rows, owner and sensitivity, and makes the write.
    pub(crate) fn put_op(
        &self,
        context: &RequestContext,
        resource_type: ResourceType,
        id: ResourceId,
        mut resource: Value,
        precondition: Precondition,
    ) -> Result<WriteOp, ServiceError> {
        let writer_ods_code = context
            .principal
            .ods_code()
            .cloned()
            .ok_or_else(|| ServiceError::Forbidden("a member of the public writes nothing".into()))?;
        let declared_type = validate_resource(&resource).map_err(ServiceError::from)?;
        if declared_type != resource_type {
            return Err(ServiceError::Invalid(format!("the body is a {declared_type}, not a {resource_type}")));
        }
        if resource_type.as_str() == "Subscription" {
            return Err(ServiceError::Unprocessable(
                "a Subscription is made with POST /fhir/Subscription (or PUT /fhir/Subscription/{id}), alone".into(),
            ));
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
        tag_source_organisation(&mut resource, &writer_ods_code);
        let sensitivity = kmcr_access::sensitivity_of(&resource, &self.access().code_rules).bits();
        let registry = SearchParamRegistry::official_r4();
        let index_entries = extract_index_entries(registry, &resource);
        let owning_patient_id = kmcr_fhir_search::owning_patient_id(resource_type, Some(id.as_str()), &index_entries);
        let mut events = kmcr_events::conditions_of(resource_type.as_str(), &resource);
        if self.subscriptions.watches_every_change(resource_type) {
            events.push((kmcr_events::Topic::ResourceChanged, kmcr_events::Condition::Always));
        }
        Ok(WriteOp {
            resource_type,
            id,
            action: WriteAction::Put { resource, index_entries, owning_patient_id, sensitivity, events },
            precondition,
            writer_ods_code,
        })
    }

    /// Writes `ops` with `record` (resources and patients filled in here) in the same transaction; a write that fails
    /// (refused by the ownership rule, a version conflict) is audited on its own.
    pub(crate) async fn write(
        &self,
        context: &RequestContext,
        ops: Vec<WriteOp>,
        record: AuditRecord,
    ) -> Result<Vec<WriteOutcome>, ServiceError> {
        self.write_received(context, ops, record, None).await
    }

    /// [`Service::write`], with the receipt of the HL7 v2 message the writes came from in the same transaction.
    pub(crate) async fn write_received(
        &self,
        context: &RequestContext,
        ops: Vec<WriteOp>,
        record: AuditRecord,
        receipt: Option<kmcr_store::FeedReceipt>,
    ) -> Result<Vec<WriteOutcome>, ServiceError> {
        self.write_with_receipt(context, ops, record, receipt.map(kmcr_store::Receipt::FeedMessage)).await
    }

    /// [`Service::write`], with what else the transaction records (a message's receipt, a bulk load's progress).
    pub(crate) async fn write_with_receipt(
        &self,
        context: &RequestContext,
        ops: Vec<WriteOp>,
        mut record: AuditRecord,
        receipt: Option<kmcr_store::Receipt>,
    ) -> Result<Vec<WriteOutcome>, ServiceError> {
        record.resources = ops.iter().map(|op| format!("{}/{}", op.resource_type, op.id)).collect();
        record.patients = audit::patients(ops.iter().filter_map(|op| match &op.action {
            WriteAction::Put { owning_patient_id: Some(patient_id), .. } => Some(patient_id.as_str()),
            _ => None,
        }));
        record.persons = record
            .patients
            .iter()
            .filter_map(|patient| self.identity.person_of(patient.trim_start_matches("Patient/")))
            .map(|person_id| format!("Person/{person_id}"))
            .collect();
        record.persons.sort();
        record.persons.dedup();
        if let Err(error) = self.check_merges(&ops).await {
            return Err(self.refuse(&mut record, error.to_string(), error).await);
        }
        if let Err(error) = self.check_objections(context, &ops) {
            return Err(self.refuse(&mut record, error.to_string(), error).await);
        }
        record.outcome = "permitted".into();
        // On the embedded store the Patients written are placed in the person index by the store's writer, in the
        // write's own commit; on PostgreSQL once it is committed, below.
        let placed = Arc::new(AtomicBool::new(false));
        let patient_ids: Vec<ResourceId> =
            ops.iter().filter(|op| op.resource_type == ResourceType::PATIENT).map(|op| op.id.clone()).collect();
        let place = match patient_ids.is_empty() || !self.store.commits_in_order() {
            true => None,
            false => self.identity.place_after_write(placed.clone()),
        };
        let placed_in_write = place.is_some();
        let written = match (place, receipt) {
            (Some(place), receipt) => self.store.write_then(ops, Some(record.clone()), receipt, place).await,
            (None, None) => self.store.write(ops, Some(record.clone())).await,
            (None, Some(receipt)) => self.store.write_with_receipt(ops, Some(record.clone()), receipt).await,
        };
        if written.is_err() && placed.load(Ordering::SeqCst) {
            // Placed by a write that was then not committed (its receipt already taken, the disk failing): the index
            // takes the store's word again.
            if let Err(error) = self.identity.resync(&patient_ids).await {
                tracing::error!(%error, "the person index could not be put back after a failed write");
            }
        }
        let outcomes = match written {
            Ok(outcomes) => outcomes,
            Err(StoreError::NotOwner { reason, .. }) => {
                let error = ServiceError::Forbidden(reason.clone());
                return Err(self.refuse(&mut record, reason, error).await);
            }
            Err(error) => {
                let reason = error.to_string();
                return Err(self.refuse(&mut record, reason, error.into()).await);
            }
        };
        if placed_in_write {
            self.identity.train_if_due();
        } else {
            self.identity.patients_written(identity::WrittenPatient::of_outcomes(&outcomes)).await?;
        }
        // The dispatcher looks at once, now that a new Patient is linked to its person (its events are handed out by
        // who the person is).
        self.subscriptions.events_written.notify_one();
        Ok(outcomes)
    }

    /// A source's merge (`Patient.link` `replaced-by`) links its record at the highest assurance, so it may name only
    /// a record the same organisation sent (or one written in the same batch).
    async fn check_merges(&self, ops: &[WriteOp]) -> Result<(), ServiceError> {
        for op in ops {
            let WriteAction::Put { resource, .. } = &op.action else { continue };
            if op.resource_type != ResourceType::PATIENT {
                continue;
            }
            let Some(survivor) = identity::replaced_by(resource) else { continue };
            let Ok(survivor_id) = ResourceId::parse(&survivor) else { continue };
            let in_batch =
                ops.iter().any(|other| other.resource_type == ResourceType::PATIENT && other.id == survivor_id);
            if in_batch {
                continue;
            }
            match self.store.read(ResourceType::PATIENT, &survivor_id).await? {
                Some(stored) if stored.version_id > 0 && stored.source_ods_code != op.writer_ods_code => {
                    return Err(ServiceError::Unprocessable(format!(
                        "Patient/{}: a replaced-by merge may name only a record {} sent",
                        op.id, op.writer_ods_code
                    )));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// An objection withholds data from others, so who may record one is a rule: a GP type 1 objection only by a GP
    /// practice (and it withholds that practice's data alone); an objection to the shared record or a national data
    /// opt-out only by an information governance officer, who decides it.
    fn check_objections(&self, context: &RequestContext, ops: &[WriteOp]) -> Result<(), ServiceError> {
        for op in ops {
            let WriteAction::Put { resource, .. } = &op.action else { continue };
            if op.resource_type.as_str() != "Consent" {
                continue;
            }
            let Some(objection) = kmcr_access::objection_from_consent(resource, &op.writer_ods_code) else { continue };
            let allowed = match objection.kind {
                kmcr_access::ObjectionKind::GpType1 => self
                    .access()
                    .registry
                    .get(&op.writer_ods_code)
                    .is_some_and(|organisation| organisation.kind == kmcr_access::OrganisationKind::GpPractice),
                kmcr_access::ObjectionKind::SharedRecord | kmcr_access::ObjectionKind::NationalDataOptOut => {
                    matches!(&context.principal, kmcr_access::Principal::User(user)
                        if user.role_profile.job_role.is_information_governance())
                }
            };
            if !allowed {
                return Err(ServiceError::Forbidden(format!(
                    "Consent/{}: a {} objection is recorded by {}",
                    op.id,
                    objection.kind.as_str(),
                    match objection.kind {
                        kmcr_access::ObjectionKind::GpType1 => "the person's GP practice",
                        _ => "an information governance officer",
                    }
                )));
            }
        }
        Ok(())
    }

    /// The one resource a condition names, looked for among what the caller may read; the lookup is noted in the
    /// audit record of the write it serves.
    pub(crate) async fn find_one(
        &self,
        context: &RequestContext,
        resource_type: ResourceType,
        query: &[(String, String)],
        record: &mut AuditRecord,
    ) -> Result<Match, ServiceError> {
        let condition: Vec<String> = query.iter().map(|(name, value)| format!("{name}={value}")).collect();
        let condition = format!("{resource_type}?{}", condition.join("&"));
        record.query = Some(match record.query.take() {
            Some(earlier) => format!("{earlier} {condition}"),
            None => condition,
        });
        let request = parse_search(SearchParamRegistry::official_r4(), resource_type, query, false, 2)?;
        let filter = self.lookup_filter(context);
        let page = PageRequest { count: 2, cursor: None, want_total: false };
        let mut outcome = self.store.search(&request, &page, &filter).await?;
        Ok(match outcome.matches.len() {
            0 => Match::None,
            1 => Match::One(outcome.matches.remove(0)),
            _ => Match::Many,
        })
    }

    /// The rows a conditional lookup may see: what the caller may read without naming a person (a system: what its
    /// organisation sent, and data about no patient).
    fn lookup_filter(&self, context: &RequestContext) -> RowFilter {
        let decision =
            kmcr_access::decide_population(self.access().rules(kmcr_fhir::Instant::now().unix_ms), &context.principal);
        let mut view = crate::access::row_view(&decision.view);
        if decision.region_wide {
            // A region-wide reader's lookups for its writes are its own organisation's, like any system's.
            view.only_sources = context.principal.ods_code().map(|code| vec![code.to_string()]);
        }
        RowFilter::Restricted(kmcr_store::RowRestriction {
            everyone_else: Some(view),
            ..crate::reads::restriction_for(context)
        })
    }
}

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

/// A fresh server-assigned id (UUID v4 form).
pub fn new_resource_id() -> ResourceId {
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    ResourceId::new_time_ordered(kmcr_fhir::Instant::now().unix_ms.max(0) as u64, bytes)
}
