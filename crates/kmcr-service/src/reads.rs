//! Reads of records: by id, by version, search, history and `$everything`. Each takes the access decision on the data
//! (whose record, which source, which labels) and leaves one audit entry, durable before any data is returned. A
//! search is answered only from rows the caller may see: the decision reaches the query as a `RowFilter`.

use kmcr_access::{
    Interaction, ItemFacts, ItemVerdict, Principal, Purpose, Scope, ScopeContext, Sensitivity, decide_interaction,
    decide_population,
};
use kmcr_audit::AuditRecord;
use kmcr_fhir::{ResourceId, ResourceType};
use kmcr_fhir_search::SearchRequest;
use kmcr_store::{
    EverythingOutcome, EverythingRequest, HistoryRequest, PageRequest, RowFilter, RowRestriction, RowTypes, RowView,
    SearchOutcome, StoredResource,
};

use crate::access::{PersonAccess, is_patient_data, row_view};
use crate::{RequestContext, Service, ServiceError, audit};

/// A page of search results with the parsed request, so the caller can build links and report ignored parameters.
pub struct SearchResult {
    pub request: SearchRequest,
    pub outcome: SearchOutcome,
    /// The paging cursor of the next page, bound to this caller.
    pub next_cursor: Option<String>,
    /// Notices that some of a person's record is withheld (for `suppressed` issues); they say nothing of what.
    pub withheld: Vec<String>,
}

/// A page of history or `$everything`.
pub struct ReadPage {
    pub resources: Vec<StoredResource>,
    pub next_cursor: Option<String>,
    pub withheld: Vec<String>,
}

impl Service {
    /// Whether the caller may do `interaction` on every type in `types`; a refusal is audited before it is answered.
    pub(crate) async fn check_interaction(
        &self,
        context: &RequestContext,
        interaction: Interaction,
        types: &[ResourceType],
        record: &mut AuditRecord,
    ) -> Result<(), ServiceError> {
        let access = self.access();
        let rules = access.rules(record.recorded_unix_ms);
        for resource_type in types {
            let verdict = decide_interaction(rules, &context.principal, interaction, *resource_type);
            if !verdict.permitted {
                return Err(self.refuse(record, verdict.reason.clone(), ServiceError::Forbidden(verdict.reason)).await);
            }
            if !record.reasons.contains(&verdict.reason) {
                record.reasons.push(verdict.reason);
            }
        }
        Ok(())
    }

    /// The cursor of a paging link; a link made for another caller (or altered) is refused, and the refusal audited.
    async fn cursor_of(
        &self,
        context: &RequestContext,
        cursor: Option<&str>,
        record: &mut AuditRecord,
    ) -> Result<Option<kmcr_store::Cursor>, ServiceError> {
        let Some(cursor) = cursor else { return Ok(None) };
        match self.unbind_cursor(context, cursor) {
            Ok(cursor) => Ok(Some(cursor)),
            Err(error) => Err(self.refuse(record, "a paging link made for another caller".into(), error).await),
        }
    }

    /// Refuses (and audits) a caller whose organisation is not party to the sharing agreement, whatever it asks.
    pub(crate) async fn check_interaction_any(
        &self,
        context: &RequestContext,
        record: &mut AuditRecord,
    ) -> Result<(), ServiceError> {
        if let Some(organisation) = context.principal.ods_code()
            && !self.access().registry.is_party(organisation)
        {
            let reason = format!("{organisation} is not party to the sharing agreement");
            return Err(self.refuse(record, reason.clone(), ServiceError::Forbidden(reason)).await);
        }
        Ok(())
    }

    /// Records a refusal and gives back the error to answer with (or the store's error, if the audit failed).
    pub(crate) async fn refuse(&self, record: &mut AuditRecord, reason: String, error: ServiceError) -> ServiceError {
        record.outcome = match error {
            ServiceError::Withheld(_) => "withheld".into(),
            ServiceError::NotFound => "not-found".into(),
            _ => "denied".into(),
        };
        record.reasons.push(reason);
        tracing::info!(request_id = %record.request_id, action = %record.action, outcome = %record.outcome, "access refused");
        match self.store.append_audit(record.clone()).await {
            Ok(_) => error,
            Err(store_error) => store_error.into(),
        }
    }

    /// Decides whether one stored item may be returned; refuses (audited) when not. `None`: data about no patient.
    async fn check_item(
        &self,
        context: &RequestContext,
        stored: &StoredResource,
        record: &mut AuditRecord,
    ) -> Result<Option<PersonAccess>, ServiceError> {
        let Some(patient_id) = &stored.patient_id else {
            // Patient data that names no resolvable Patient is its sender's alone.
            let orphan = is_patient_data(stored.resource_type) && !crate::person_view::is_person(stored.resource_type);
            if orphan && context.principal.ods_code() != Some(&stored.source_ods_code) {
                let reason = "patient data naming no known patient is visible to its sender alone".to_string();
                return Err(self.refuse(record, reason, ServiceError::NotFound).await);
            }
            return Ok(None);
        };
        let access = self.person_access(context, patient_id.as_str()).await?;
        audit::add_person(record, &access);
        record.patients = audit::patients([patient_id.as_str()]);
        let verdict = if access.decision.permitted {
            access.decision.view.item_verdict(ItemFacts {
                resource_type: stored.resource_type,
                source: &stored.source_ods_code,
                sensitivity: Sensitivity::from_bits(stored.sensitivity),
            })
        } else {
            ItemVerdict::OutOfView
        };
        match verdict {
            ItemVerdict::Visible => Ok(Some(access)),
            ItemVerdict::OutOfView => {
                let reason = "the item is outside what the caller may see of the person".to_string();
                Err(self.refuse(record, reason, ServiceError::NotFound).await)
            }
            // Announced as withheld only to a caller who may see the person's record at all; to anyone else it is
            // as if not there (a sealed source's record of the person would say too much by its existence).
            ItemVerdict::Withheld(code) if !access.decision.clinical_permitted() => {
                let reason = format!("the item is withheld ({code}) from a caller with no view of the record");
                Err(self.refuse(record, reason, ServiceError::NotFound).await)
            }
            ItemVerdict::Withheld(code) => {
                record.n_withheld = 1;
                let reason = format!("the item is withheld: {code}");
                Err(self.refuse(record, reason, ServiceError::Withheld(code.to_string())).await)
            }
        }
    }

    pub async fn read(
        &self,
        context: &RequestContext,
        resource_type: ResourceType,
        id: &ResourceId,
    ) -> Result<StoredResource, ServiceError> {
        let mut record = audit::record(context, "read");
        record.resources = vec![format!("{resource_type}/{id}")];
        self.check_interaction(context, Interaction::Read, &[resource_type], &mut record).await?;
        let stored = match self.store.read(resource_type, id).await? {
            Some(stored) if stored.version_id > 0 => stored,
            _ => return Err(self.refuse(&mut record, "no such resource".into(), ServiceError::NotFound).await),
        };
        self.deliver(context, stored, record).await
    }

    /// One item read by id or version: decided, refused if deleted, a Person shown as the caller may see it, and the
    /// read audited before it is returned.
    async fn deliver(
        &self,
        context: &RequestContext,
        stored: StoredResource,
        mut record: AuditRecord,
    ) -> Result<StoredResource, ServiceError> {
        self.check_item(context, &stored, &mut record).await?;
        if stored.deleted {
            return Err(self.refuse(&mut record, "deleted".into(), ServiceError::Gone).await);
        }
        let stored = self.shown(context, stored, &mut record).await?;
        record.outcome = "permitted".into();
        self.store.append_audit(record).await?;
        Ok(stored)
    }

    /// A Person is shown with only the links the caller may see, or not at all (see `person_view`).
    async fn shown(
        &self,
        context: &RequestContext,
        stored: StoredResource,
        record: &mut AuditRecord,
    ) -> Result<StoredResource, ServiceError> {
        if !crate::person_view::is_person(stored.resource_type) || stored.deleted {
            return Ok(stored);
        }
        match self.person_as_seen(context, stored).await? {
            Some(shown) => {
                let linked = crate::person_view::linked_patient_ids(
                    &serde_json::from_str(shown.json.as_deref().unwrap_or("{}")).unwrap_or_default(),
                );
                record.patients = audit::patients(linked.iter().map(String::as_str));
                record.persons.push(format!("Person/{}", shown.id));
                Ok(shown)
            }
            None => {
                let reason = "no record of this person is visible to the caller".to_string();
                Err(self.refuse(record, reason, ServiceError::NotFound).await)
            }
        }
    }

    pub async fn vread(
        &self,
        context: &RequestContext,
        resource_type: ResourceType,
        id: &ResourceId,
        version_id: i64,
    ) -> Result<StoredResource, ServiceError> {
        let mut record = audit::record(context, "vread");
        record.resources = vec![format!("{resource_type}/{id}/_history/{version_id}")];
        self.check_interaction(context, Interaction::Read, &[resource_type], &mut record).await?;
        // The decision is taken on the item as it stands now (its sensitivity is the union over every version), so an
        // earlier version of a withheld item is withheld too.
        let stored = match self.store.read_version(resource_type, id, version_id).await? {
            Some(stored) => stored,
            None => return Err(self.refuse(&mut record, "no such version".into(), ServiceError::NotFound).await),
        };
        self.deliver(context, stored, record).await
    }

    /// Parses a search without running it (for callers that need the parsed form first).
    pub fn parse_search(
        &self,
        resource_type: ResourceType,
        params: &[(String, String)],
        lenient: bool,
    ) -> Result<SearchRequest, ServiceError> {
        Ok(kmcr_fhir_search::parse_search(
            kmcr_fhir_search::SearchParamRegistry::official_r4(),
            resource_type,
            params,
            lenient,
            self.limits.max_page_size,
        )?)
    }

    pub async fn search(
        &self,
        context: &RequestContext,
        resource_type: ResourceType,
        params: &[(String, String)],
        lenient: bool,
        cursor: Option<&str>,
    ) -> Result<SearchResult, ServiceError> {
        let mut record = audit::record(context, "search");
        record.query = Some(query_text(resource_type.as_str(), params));
        record.resources = vec![resource_type.to_string()];
        let named = crate::matching::named_patient_ids(params);
        let params = crate::matching::expand_patient_references(params, |id| self.identity.linked_patients(id));
        let request = self.parse_search(resource_type, &params, lenient)?;
        self.check_interaction(context, Interaction::Search, &searched_types(&request), &mut record).await?;
        if crate::person_view::is_person(resource_type) {
            self.check_person_search(context, &params, &mut record).await?;
        }
        let (filter, persons) = self.search_filter(context, resource_type, &named, &mut record).await?;
        let count_only = request.summary == Some(kmcr_fhir_search::Summary::Count);
        // Found without naming a person, each person's Patient records are checked against that person's objections
        // after the query (the population's view cannot hold every person's): so no count is given for such a search,
        // which would count records the check then withholds.
        let checked_person_by_person = persons.is_empty() && !reads_only_its_own(&context.principal);
        if checked_person_by_person && count_only {
            let reason = "people are not counted by a search that names no person".to_string();
            return Err(self.refuse(&mut record, reason.clone(), ServiceError::Forbidden(reason)).await);
        }
        let page = PageRequest {
            count: if count_only { 0 } else { request.count.unwrap_or(self.limits.default_page_size) },
            cursor: self.cursor_of(context, cursor, &mut record).await?,
            want_total: (request.total.as_deref() == Some("accurate") || count_only) && !checked_person_by_person,
        };
        let mut outcome = self.store.search(&request, &page, &filter).await?;
        if checked_person_by_person {
            outcome.matches = self.patients_as_seen(context, std::mem::take(&mut outcome.matches)).await?;
            outcome.included = self.patients_as_seen(context, std::mem::take(&mut outcome.included)).await?;
            outcome.total = None;
        }
        // An `_include` with no target type may reach types the caller's scopes do not cover: those are left out.
        let access = self.access();
        let rules = access.rules(record.recorded_unix_ms);
        outcome.included.retain(|included| {
            decide_interaction(rules, &context.principal, Interaction::Read, included.resource_type).permitted
        });
        outcome.matches = self.persons_as_seen(context, std::mem::take(&mut outcome.matches)).await?;
        outcome.included = self.persons_as_seen(context, std::mem::take(&mut outcome.included)).await?;
        let returned: Vec<&StoredResource> = outcome.matches.iter().chain(&outcome.included).collect();
        self.record_returned(&mut record, &returned, &persons);
        record.outcome = if record.n_withheld > 0 { "permitted-withheld" } else { "permitted" }.into();
        self.store.append_audit(record).await?;
        let next_cursor = outcome.next_cursor.as_ref().map(|cursor| self.bind_cursor(context, cursor));
        let withheld = persons.iter().filter_map(PersonAccess::withheld_notice).collect();
        Ok(SearchResult { request, outcome, next_cursor, withheld })
    }

    /// A Person search must name records the caller may see, unless the caller reads region-wide.
    async fn check_person_search(
        &self,
        context: &RequestContext,
        params: &[(String, String)],
        record: &mut AuditRecord,
    ) -> Result<(), ServiceError> {
        if Service::may_search_all_persons(context) {
            return Ok(());
        }
        let named = crate::person_view::patients_named_in_person_search(params);
        if named.is_empty() {
            let reason = "a Person search must name a Patient (link=Patient/...)".to_string();
            return Err(self.refuse(record, reason.clone(), ServiceError::Forbidden(reason)).await);
        }
        for patient_id in &named {
            let access = self.person_access(context, patient_id).await?;
            if !access.visible_patient_ids.contains(patient_id) {
                let reason = "a named Patient is not visible to the caller".to_string();
                return Err(self.refuse(record, reason, ServiceError::NotFound).await);
            }
        }
        Ok(())
    }

    /// The Patient records among `resources` that their person's decision lets the caller see (objections naming a
    /// source withhold that source's record of the person); the others pass unchanged.
    async fn patients_as_seen(
        &self,
        context: &RequestContext,
        resources: Vec<StoredResource>,
    ) -> Result<Vec<StoredResource>, ServiceError> {
        let mut shown = Vec::with_capacity(resources.len());
        // A person's records are often found together: each person is decided once, and every record of theirs is
        // then known to be visible or not.
        let mut visible: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
        for resource in resources {
            if resource.resource_type != ResourceType::PATIENT {
                shown.push(resource);
                continue;
            }
            if !visible.contains_key(resource.id.as_str()) {
                let access = self.person_access(context, resource.id.as_str()).await?;
                for patient_id in &access.patient_ids {
                    visible.insert(patient_id.clone(), access.visible_patient_ids.contains(patient_id));
                }
            }
            if visible.get(resource.id.as_str()).copied().unwrap_or(false) {
                shown.push(resource);
            }
        }
        Ok(shown)
    }

    /// Persons among `resources` as the caller may see them (others pass unchanged).
    async fn persons_as_seen(
        &self,
        context: &RequestContext,
        resources: Vec<StoredResource>,
    ) -> Result<Vec<StoredResource>, ServiceError> {
        let mut shown = Vec::with_capacity(resources.len());
        for resource in resources {
            if crate::person_view::is_person(resource.resource_type) && !resource.deleted {
                shown.extend(self.person_as_seen(context, resource).await?);
            } else {
                shown.push(resource);
            }
        }
        Ok(shown)
    }

    /// The rows a search may read: those of the persons it names, as decided for each; or, naming none, what the
    /// caller may read of the whole population.
    async fn search_filter(
        &self,
        context: &RequestContext,
        resource_type: ResourceType,
        named_patient_ids: &[String],
        record: &mut AuditRecord,
    ) -> Result<(RowFilter, Vec<PersonAccess>), ServiceError> {
        if named_patient_ids.is_empty() {
            let filter = self.population_filter(context, resource_type, record).await?;
            return Ok((filter, Vec::new()));
        }
        let mut persons: Vec<PersonAccess> = Vec::new();
        for patient_id in named_patient_ids {
            if persons.iter().any(|person| person.patient_ids.contains(patient_id)) {
                continue;
            }
            let access = self.person_access(context, patient_id).await?;
            audit::add_person(record, &access);
            let clinical = resource_type != ResourceType::PATIENT;
            self.require_clinical_view(context, clinical, &access, record).await?;
            persons.push(access);
        }
        let mut restriction = restriction_for(context);
        for person in &persons {
            let mut rows = person.rows();
            restrict_to_scopes(&mut rows.view, &context.principal);
            restriction.persons.push(rows);
        }
        Ok((RowFilter::Restricted(restriction), persons))
    }

    /// A user asking for clinical data of a person they may not see clinically is refused, saying why.
    async fn require_clinical_view(
        &self,
        context: &RequestContext,
        clinical: bool,
        access: &PersonAccess,
        record: &mut AuditRecord,
    ) -> Result<(), ServiceError> {
        let refused = match &context.principal {
            _ if !access.decision.permitted => Some(format!("no access to this person ({})", access.decision.basis)),
            Principal::User(_) if clinical && !access.decision.clinical_permitted() => Some(format!(
                "no clinical access to this person ({}): declare a legitimate relationship, or use break-glass \
                     where your role allows it",
                access.decision.basis
            )),
            _ => None,
        };
        match refused {
            Some(reason) => Err(self.refuse(record, reason.clone(), ServiceError::Forbidden(reason)).await),
            None => Ok(()),
        }
    }

    /// What a read naming no person may reach. A user finds people (demographics) and reads no clinical data without
    /// naming the person; a system reads what it sent.
    async fn population_filter(
        &self,
        context: &RequestContext,
        resource_type: ResourceType,
        record: &mut AuditRecord,
    ) -> Result<RowFilter, ServiceError> {
        let decision = decide_population(self.access().rules(record.recorded_unix_ms), &context.principal);
        record.purpose_of_use = Some(decision.purpose.act_reason().to_string());
        record.reasons.extend(decision.reasons.iter().cloned());
        // A Person is shown link by link as the caller may see its records (see `person_view`), not as clinical data.
        let clinical = resource_type != ResourceType::PATIENT
            && !crate::person_view::is_person(resource_type)
            && is_patient_data(resource_type);
        let refusal = match &context.principal {
            Principal::User(_) | Principal::Patient(_) if clinical => {
                Some("a read of clinical data must name the person (patient=...)".to_string())
            }
            // Objections do not hide a person's demographics from direct care, so finding people region-wide is
            // allowed; clinical data, and anything for secondary use (the national data opt-out hides the person),
            // is read person by person.
            Principal::System(_)
                if decision.region_wide
                    && (clinical || (is_patient_data(resource_type) && decision.purpose == Purpose::SecondaryUse)) =>
            {
                Some(
                    "a region-wide reader reads person by person (patient=..., $everything), so that each person's \
                     objections apply"
                        .to_string(),
                )
            }
            _ => None,
        };
        if let Some(reason) = refusal {
            return Err(self.refuse(record, reason.clone(), ServiceError::Forbidden(reason)).await);
        }
        let mut view = row_view(&decision.view);
        restrict_to_scopes(&mut view, &context.principal);
        Ok(RowFilter::Restricted(RowRestriction { everyone_else: Some(view), ..restriction_for(context) }))
    }

    /// Fills in the patients and persons whose data is returned.
    fn record_returned(&self, record: &mut AuditRecord, returned: &[&StoredResource], persons: &[PersonAccess]) {
        record.resources.extend(returned.iter().map(|resource| format!("{}/{}", resource.resource_type, resource.id)));
        record.patients = audit::patients(
            returned.iter().filter_map(|resource| resource.patient_id.as_ref()).map(ResourceId::as_str),
        );
        if persons.is_empty() {
            let mut others: Vec<String> = returned
                .iter()
                .filter_map(|resource| resource.patient_id.as_ref())
                .filter_map(|patient_id| self.identity.person_of(patient_id.as_str()))
                .map(|person_id| format!("Person/{person_id}"))
                .collect();
            others.sort();
            others.dedup();
            record.persons.extend(others);
        }
    }

    pub async fn history(
        &self,
        context: &RequestContext,
        mut request: HistoryRequest,
        cursor: Option<&str>,
    ) -> Result<ReadPage, ServiceError> {
        let mut record = audit::record(context, "history");
        let types: Vec<ResourceType> = match request.resource_type {
            Some(resource_type) => vec![resource_type],
            None => vec![ResourceType::PATIENT],
        };
        record.query = Some(match (&request.resource_type, &request.id) {
            (Some(resource_type), Some(id)) => format!("{resource_type}/{id}/_history"),
            (Some(resource_type), None) => format!("{resource_type}/_history"),
            _ => "_history".to_string(),
        });
        self.check_interaction(context, Interaction::Read, &types, &mut record).await?;
        let (filter, persons) = match (request.resource_type, &request.id) {
            (Some(resource_type), Some(id)) => {
                let stored = match self.store.read(resource_type, id).await? {
                    Some(stored) if stored.version_id > 0 => stored,
                    _ => return Err(self.refuse(&mut record, "no such resource".into(), ServiceError::NotFound).await),
                };
                let access = self.check_item(context, &stored, &mut record).await?;
                let mut restriction = restriction_for(context);
                if let Some(access) = &access {
                    let mut rows = access.rows();
                    restrict_to_scopes(&mut rows.view, &context.principal);
                    restriction.persons.push(rows);
                }
                (RowFilter::Restricted(restriction), access.into_iter().collect())
            }
            (Some(resource_type), None) => {
                (self.population_filter(context, resource_type, &mut record).await?, Vec::new())
            }
            (None, _) => {
                // Every type at once would read every person's clinical data with no person named: not served.
                let reason = "whole-system history is not served: ask for one type's or one resource's".to_string();
                return Err(self.refuse(&mut record, reason.clone(), ServiceError::Forbidden(reason)).await);
            }
        };
        request.cursor = self.cursor_of(context, cursor, &mut record).await?;
        let mut page = self.store.history(&request, &filter).await?;
        page.resources = self.persons_as_seen(context, std::mem::take(&mut page.resources)).await?;
        if persons.is_empty() && !reads_only_its_own(&context.principal) {
            page.resources = self.patients_as_seen(context, std::mem::take(&mut page.resources)).await?;
        }
        let returned: Vec<&StoredResource> = page.resources.iter().collect();
        self.record_returned(&mut record, &returned, &persons);
        record.resources = page
            .resources
            .iter()
            .map(|resource| format!("{}/{}/_history/{}", resource.resource_type, resource.id, resource.version_id))
            .collect();
        record.outcome = "permitted".into();
        self.store.append_audit(record).await?;
        let next_cursor = page.next_cursor.as_ref().map(|cursor| self.bind_cursor(context, cursor));
        let withheld = persons.iter().filter_map(PersonAccess::withheld_notice).collect();
        Ok(ReadPage { resources: page.resources, next_cursor, withheld })
    }

    /// `Patient/$everything`: the person's record, every source linked, as far as the caller may see it.
    pub async fn everything(
        &self,
        context: &RequestContext,
        mut request: EverythingRequest,
        cursor: Option<&str>,
    ) -> Result<ReadPage, ServiceError> {
        let mut record = audit::record(context, "everything");
        let asked = request.patient_ids.first().cloned().ok_or(ServiceError::NotFound)?;
        record.query = Some(format!("Patient/{asked}/$everything"));
        self.check_interaction(context, Interaction::Read, &[ResourceType::PATIENT], &mut record).await?;
        let access = self.person_access(context, asked.as_str()).await?;
        audit::add_person(&mut record, &access);
        self.require_clinical_view(context, true, &access, &mut record).await?;
        if access.visible_patient_ids.is_empty() {
            // No record of this person is the caller's to see (a system without a relationship, asking by another
            // organisation's record): answered as for an id that does not exist, so that ids cannot be probed.
            let reason = "no record of this person is visible to the caller".to_string();
            return Err(self.refuse(&mut record, reason, ServiceError::NotFound).await);
        }
        request.patient_ids =
            access.patient_ids.iter().filter_map(|id| ResourceId::parse(id).ok()).collect::<Vec<ResourceId>>();
        request.cursor = self.cursor_of(context, cursor, &mut record).await?;
        let mut rows = access.rows();
        restrict_to_scopes(&mut rows.view, &context.principal);
        let filter = RowFilter::Restricted(RowRestriction { persons: vec![rows], ..restriction_for(context) });
        let page = match self.store.everything(&request, &filter).await? {
            EverythingOutcome::Page(page) => page,
            EverythingOutcome::PatientDeleted => {
                return Err(self.refuse(&mut record, "deleted".into(), ServiceError::Gone).await);
            }
            EverythingOutcome::PatientMissing => {
                return Err(self.refuse(&mut record, "no such patient".into(), ServiceError::NotFound).await);
            }
        };
        let returned: Vec<&StoredResource> = page.resources.iter().collect();
        self.record_returned(&mut record, &returned, std::slice::from_ref(&access));
        record.patients.extend(audit::patients(access.patient_ids.iter().map(String::as_str)));
        record.patients.sort();
        record.patients.dedup();
        record.outcome = if record.n_withheld > 0 { "permitted-withheld" } else { "permitted" }.into();
        self.store.append_audit(record).await?;
        let next_cursor = page.next_cursor.as_ref().map(|cursor| self.bind_cursor(context, cursor));
        Ok(ReadPage {
            resources: page.resources,
            next_cursor,
            withheld: access.withheld_notice().into_iter().collect(),
        })
    }
}

/// A system that is not a region-wide reader reads, without naming a person, only what it sent: no objection of
/// anyone's withholds that from it.
fn reads_only_its_own(principal: &Principal) -> bool {
    matches!(principal, Principal::System(system) if system.region_wide.is_none())
}

/// An empty restriction for the caller: no person's rows yet, and patient data naming no patient only if its own.
pub(crate) fn restriction_for(context: &RequestContext) -> RowRestriction {
    RowRestriction { own_source: context.principal.ods_code().map(ToString::to_string), ..Default::default() }
}

/// Every type a search reads: the searched type, the targets of its chains, and the types its includes name.
fn searched_types(request: &SearchRequest) -> Vec<ResourceType> {
    let mut types = vec![request.resource_type];
    let mut criteria: Vec<&kmcr_fhir_search::Criterion> = request.criteria.iter().collect();
    while let Some(criterion) = criteria.pop() {
        if let Some(chain) = &criterion.chain {
            types.push(chain.target_type);
            criteria.push(&chain.criterion);
        }
    }
    types.extend(request.includes.iter().filter_map(|include| include.target_type));
    types.extend(request.revincludes.iter().map(|include| include.source_type));
    types.sort_by_key(|resource_type| resource_type.as_str());
    types.dedup();
    types
}

/// Narrows a view to the types the caller's scopes let it read.
fn restrict_to_scopes(view: &mut RowView, principal: &Principal) {
    let context = match principal {
        Principal::User(_) => ScopeContext::User,
        Principal::System(_) => ScopeContext::System,
        Principal::Patient(_) => ScopeContext::Patient,
    };
    let readable: Vec<&Scope> = principal
        .scopes()
        .iter()
        .filter(|scope| {
            scope.context == context
                && scope.grants(Interaction::Read, scope.resource_type.unwrap_or(ResourceType::PATIENT))
        })
        .collect();
    if readable.iter().any(|scope| scope.resource_type.is_none()) {
        return;
    }
    let granted: Vec<ResourceType> = readable.iter().filter_map(|scope| scope.resource_type).collect();
    view.patient_type &= granted.contains(&ResourceType::PATIENT);
    view.other_types = match std::mem::replace(&mut view.other_types, RowTypes::None) {
        RowTypes::None => RowTypes::None,
        RowTypes::All => RowTypes::Only(
            granted.into_iter().filter(|resource_type| *resource_type != ResourceType::PATIENT).collect(),
        ),
        RowTypes::Only(types) => {
            RowTypes::Only(types.into_iter().filter(|resource_type| granted.contains(resource_type)).collect())
        }
    };
}

/// `Type?name=value&...` as asked, for the audit.
fn query_text(type_name: &str, params: &[(String, String)]) -> String {
    let pairs: Vec<String> = params.iter().map(|(name, value)| format!("{name}={value}")).collect();
    format!("{type_name}?{}", pairs.join("&"))
}
