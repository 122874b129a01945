//! Transaction and batch Bundles (R4 §3.1.0.11): a transaction is all-or-nothing, a batch entry by entry.

use std::collections::HashMap;

use kmcr_access::Interaction;
use kmcr_audit::AuditRecord;
use kmcr_fhir::{ResourceId, ResourceType};
use kmcr_store::{Precondition, WriteAction, WriteOp, WriteOutcome};
use serde_json::{Value, json};

use crate::references::{parse_query, rewrite_references};
use crate::writes::Match;
use crate::{CreateResult, RequestContext, Service, ServiceError, audit, new_resource_id};

/// One entry of the request Bundle, understood.
struct Entry {
    entry_idx: usize,
    method: Method,
    resource_type: ResourceType,
    /// For PUT/DELETE `Type/id`, or assigned for POST.
    id: Option<ResourceId>,
    /// For conditional PUT/DELETE (`Type?query`) and POST `ifNoneExist`.
    condition: Option<Vec<(String, String)>>,
    if_match_version: Option<i64>,
    full_url: Option<String>,
    resource: Option<Value>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Method {
    Post,
    Put,
    Delete,
}

pub async fn process(service: &Service, context: &RequestContext, mut bundle: Value) -> Result<Value, ServiceError> {
    // Whatever the entries, a caller whose organisation is not party to the agreement is refused, and audited.
    let mut record = audit::record(context, "bundle");
    service.check_interaction_any(context, &mut record).await?;
    let bundle_type = bundle.get("type").and_then(Value::as_str).unwrap_or_default().to_string();
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(ServiceError::Invalid("Bundle.resourceType: POST to the base URL takes a Bundle".into()));
    }
    let entries = match bundle.as_object_mut().and_then(|object| object.shift_remove("entry")) {
        None => Vec::new(),
        Some(Value::Array(entries)) => entries,
        Some(_) => return Err(ServiceError::Invalid("Bundle.entry: must be an array".into())),
    };
    if entries.len() > service.limits.max_bundle_entries {
        return Err(ServiceError::TooLarge(format!(
            "the Bundle has {} entries; at most {} are accepted",
            entries.len(),
            service.limits.max_bundle_entries
        )));
    }
    match bundle_type.as_str() {
        "transaction" => transaction(service, context, entries).await,
        "batch" => batch(service, context, entries).await,
        _ => Err(ServiceError::Invalid("Bundle.type: the base URL accepts transaction and batch Bundles".into())),
    }
}

fn parse_entry(entry_idx: usize, mut entry: Value) -> Result<Entry, ServiceError> {
    let path = format!("Bundle.entry[{entry_idx}]");
    let request = entry.get("request").ok_or_else(|| ServiceError::Invalid(format!("{path}.request: missing")))?;
    let method = match request.get("method").and_then(Value::as_str) {
        Some("POST") => Method::Post,
        Some("PUT") => Method::Put,
        Some("DELETE") => Method::Delete,
        Some(other) => {
            return Err(ServiceError::Unprocessable(format!(
                "{path}.request.method: {other} is not supported in a Bundle"
            )));
        }
        None => return Err(ServiceError::Invalid(format!("{path}.request.method: missing"))),
    };
    let url = request
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| ServiceError::Invalid(format!("{path}.request.url: missing")))?;
    let (path_part, query) = match url.split_once('?') {
        Some((path_part, query)) => (path_part, Some(parse_query(query))),
        None => (url, None),
    };
    let mut segments = path_part.trim_matches('/').split('/');
    let resource_type = segments
        .next()
        .and_then(|name| ResourceType::parse(name).ok())
        .ok_or_else(|| ServiceError::Invalid(format!("{path}.request.url: does not start with a resource type")))?;
    let id = match segments.next() {
        Some(id) => {
            Some(ResourceId::parse(id).map_err(|error| ServiceError::Invalid(format!("{path}.request.url: {error}")))?)
        }
        None => None,
    };
    let if_none_exist =
        request.get("ifNoneExist").and_then(Value::as_str).map(|query| parse_query(query.trim_start_matches('?')));
    let if_match_version =
        request.get("ifMatch").and_then(Value::as_str).map(crate::references::etag_version).transpose()?;
    let condition = query.or(if_none_exist);
    let resource = entry.as_object_mut().and_then(|object| object.shift_remove("resource"));
    if matches!(method, Method::Post | Method::Put) && resource.is_none() {
        return Err(ServiceError::Invalid(format!("{path}.resource: missing")));
    }
    if method != Method::Post && id.is_none() && condition.is_none() {
        return Err(ServiceError::Invalid(format!("{path}.request.url: names no id and no condition")));
    }
    Ok(Entry {
        entry_idx,
        method,
        resource_type,
        id,
        condition,
        if_match_version,
        full_url: entry.get("fullUrl").and_then(Value::as_str).map(str::to_string),
        resource,
    })
}

async fn transaction(
    service: &Service,
    context: &RequestContext,
    raw_entries: Vec<Value>,
) -> Result<Value, ServiceError> {
    let mut entries = raw_entries
        .into_iter()
        .enumerate()
        .map(|(entry_idx, entry)| parse_entry(entry_idx, entry))
        .collect::<Result<Vec<_>, _>>()?;
    let mut record = audit::record(context, "transaction");
    record.resources = vec!["Bundle".into()];
    let mut wanted: Vec<(Interaction, ResourceType)> = entries
        .iter()
        .map(|entry| {
            let interaction = match entry.method {
                Method::Post => Interaction::Create,
                Method::Put => Interaction::Update,
                Method::Delete => Interaction::Delete,
            };
            (interaction, entry.resource_type)
        })
        .collect();
    wanted.sort_by_key(|(interaction, resource_type)| (*interaction, resource_type.as_str()));
    wanted.dedup();
    for (interaction, resource_type) in wanted {
        service.check_interaction(context, interaction, &[resource_type], &mut record).await?;
    }
    let writer_ods_code = service.writer_ods_code(context, &mut record).await?;
    let prepared = prepare_transaction(service, context, &mut entries, &writer_ods_code, &mut record).await;
    let (ops, op_entry_idx, existing) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => return Err(service.refuse(&mut record, error.to_string(), error).await),
    };
    let outcomes = service.write(context, ops, record).await?;
    let mut responses: Vec<Option<Value>> = vec![None; entries.len()];
    for (outcome, entry_idx) in outcomes.into_iter().zip(op_entry_idx) {
        responses[entry_idx] = Some(response_entry(&outcome));
    }
    for (entry_idx, found) in existing {
        responses[entry_idx] = Some(existing_entry(&found));
    }
    Ok(json!({
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": responses.into_iter().map(|response| response.expect("every entry answered")).collect::<Vec<_>>(),
    }))
}

/// The store operations of a transaction, in entry order, with the entries that found their resource already there.
type PreparedTransaction = (Vec<WriteOp>, Vec<usize>, HashMap<usize, kmcr_store::StoredResource>);

async fn prepare_transaction(
    service: &Service,
    context: &RequestContext,
    entries: &mut [Entry],
    writer_ods_code: &kmcr_fhir::OdsCode,
    record: &mut AuditRecord,
) -> Result<PreparedTransaction, ServiceError> {
    // Resolve conditions and assign ids first, so that every fullUrl has its target before references are rewritten.
    let mut targets: HashMap<String, String> = HashMap::new();
    let mut existing: HashMap<usize, kmcr_store::StoredResource> = HashMap::new();
    for entry in entries.iter_mut() {
        resolve_identity(service, context, entry, &mut existing, record).await?;
        if let (Some(full_url), Some(id)) = (&entry.full_url, &entry.id) {
            targets.insert(full_url.clone(), format!("{}/{id}", entry.resource_type));
        }
    }
    let mut conditional_cache: HashMap<String, String> = HashMap::new();
    let in_bundle = InBundleTargets::new(entries);
    let mut ops = Vec::with_capacity(entries.len());
    let mut op_entry_idx = Vec::with_capacity(entries.len());
    for entry in entries.iter_mut() {
        if existing.contains_key(&entry.entry_idx) {
            continue;
        }
        let id = entry.id.clone().expect("resolve_identity gives every remaining entry an id");
        let op = match entry.method {
            Method::Delete => WriteOp {
                resource_type: entry.resource_type,
                id,
                action: WriteAction::Delete,
                precondition: entry.if_match_version.map_or(Precondition::None, Precondition::VersionIs),
                writer_ods_code: writer_ods_code.clone(),
            },
            Method::Post | Method::Put => {
                let mut resource = entry.resource.take().expect("checked when parsed");
                let mut conditional = Vec::new();
                rewrite_references(&mut resource, &targets, &mut conditional);
                if !conditional.is_empty() {
                    let mut more_targets = HashMap::new();
                    for reference in conditional {
                        let target = match in_bundle.resolve(&reference) {
                            Some(target) => target,
                            None => {
                                resolve_conditional_reference(
                                    service,
                                    context,
                                    &reference,
                                    &mut conditional_cache,
                                    record,
                                )
                                .await?
                            }
                        };
                        more_targets.insert(reference, target);
                    }
                    rewrite_references(&mut resource, &more_targets, &mut Vec::new());
                }
                let precondition = match (entry.method, entry.if_match_version) {
                    (Method::Post, _) => Precondition::MustNotExist,
                    (_, Some(version)) => Precondition::VersionIs(version),
                    _ => Precondition::None,
                };
                service
                    .put_op(context, entry.resource_type, id, resource, precondition)
                    .map_err(|error| at_entry(entry.entry_idx, error))?
            }
        };
        ops.push(op);
        op_entry_idx.push(entry.entry_idx);
    }
    Ok((ops, op_entry_idx, existing))
}

/// What the entries of a transaction can be found by, so that a conditional reference to a resource created in the
/// same transaction (`Organization?identifier=...` beside a PUT of that Organization) resolves to it.
struct InBundleTargets {
    targets: Vec<InBundleTarget>,
}

struct InBundleTarget {
    resource_type: ResourceType,
    condition: Option<Vec<(String, String)>>,
    identifiers: Vec<(Option<String>, String)>,
    reference: String,
}

impl InBundleTargets {
    fn new(entries: &[Entry]) -> InBundleTargets {
        let targets = entries
            .iter()
            .filter(|entry| entry.method != Method::Delete)
            .filter_map(|entry| {
                let id = entry.id.as_ref()?;
                let identifiers = entry
                    .resource
                    .as_ref()
                    .and_then(|resource| resource.get("identifier"))
                    .and_then(Value::as_array)
                    .map(|identifiers| {
                        identifiers
                            .iter()
                            .filter_map(|identifier| {
                                let value = identifier.get("value")?.as_str()?.to_string();
                                let system = identifier.get("system").and_then(Value::as_str).map(str::to_string);
                                Some((system, value))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let mut condition = entry.condition.clone();
                if let Some(condition) = &mut condition {
                    condition.sort();
                }
                Some(InBundleTarget {
                    resource_type: entry.resource_type,
                    condition,
                    identifiers,
                    reference: format!("{}/{id}", entry.resource_type),
                })
            })
            .collect();
        InBundleTargets { targets }
    }

    /// The entry a conditional reference names: one with the same condition, or one holding the identifier it asks
    /// for. `None` when no entry, or more than one, matches.
    fn resolve(&self, reference: &str) -> Option<String> {
        let (type_name, query) = reference.split_once('?')?;
        let resource_type = ResourceType::parse(type_name).ok()?;
        let mut asked = parse_query(query);
        asked.sort();
        let wanted_identifier = match asked.as_slice() {
            [(name, value)] if name == "identifier" => Some(match value.split_once('|') {
                Some((system, value)) => (Some(system.to_string()), value.to_string()),
                None => (None, value.clone()),
            }),
            _ => None,
        };
        let mut matches = self.targets.iter().filter(|target| {
            target.resource_type == resource_type
                && (target.condition.as_ref() == Some(&asked)
                    || wanted_identifier.as_ref().is_some_and(|(system, value)| {
                        target.identifiers.iter().any(|(held_system, held_value)| {
                            held_value == value && (system.is_none() || held_system == system)
                        })
                    }))
        });
        let first = matches.next()?;
        matches.next().is_none().then(|| first.reference.clone())
    }
}

/// Gives a transaction entry its id: found by its condition, named in its URL, or new.
async fn resolve_identity(
    service: &Service,
    context: &RequestContext,
    entry: &mut Entry,
    existing: &mut HashMap<usize, kmcr_store::StoredResource>,
    record: &mut AuditRecord,
) -> Result<(), ServiceError> {
    let Some(condition) = entry.condition.clone() else {
        if entry.id.is_none() {
            entry.id = Some(new_resource_id());
        }
        return Ok(());
    };
    let found = service
        .find_one(context, entry.resource_type, &condition, record)
        .await
        .map_err(|error| at_entry(entry.entry_idx, error))?;
    match (entry.method, found) {
        (_, Match::Many) => {
            return Err(ServiceError::PreconditionFailed(format!(
                "Bundle.entry[{}]: the condition matches more than one resource",
                entry.entry_idx
            )));
        }
        (Method::Post, Match::One(stored)) => {
            entry.id = Some(stored.id.clone());
            existing.insert(entry.entry_idx, stored);
        }
        (Method::Post, Match::None) => entry.id = Some(new_resource_id()),
        (Method::Put | Method::Delete, Match::One(stored)) => entry.id = Some(stored.id),
        (Method::Put, Match::None) => {
            let body_id = entry.resource.as_ref().and_then(|resource| resource.get("id")).and_then(Value::as_str);
            entry.id = Some(match body_id {
                Some(id) => ResourceId::parse(id).map_err(|error| ServiceError::Invalid(error.to_string()))?,
                None => new_resource_id(),
            });
        }
        (Method::Delete, Match::None) => {
            entry.id = Some(new_resource_id());
        }
    }
    Ok(())
}

async fn resolve_conditional_reference(
    service: &Service,
    context: &RequestContext,
    reference: &str,
    cache: &mut HashMap<String, String>,
    record: &mut AuditRecord,
) -> Result<String, ServiceError> {
    if let Some(target) = cache.get(reference) {
        return Ok(target.clone());
    }
    let (type_name, query) = reference.split_once('?').expect("checked by is_conditional_reference");
    let resource_type = ResourceType::parse(type_name).expect("checked by is_conditional_reference");
    let target = match service.find_one(context, resource_type, &parse_query(query), record).await? {
        Match::One(stored) => format!("{resource_type}/{}", stored.id),
        Match::None => {
            return Err(ServiceError::Unprocessable(format!(
                "the conditional reference {type_name}?... matches nothing"
            )));
        }
        Match::Many => {
            return Err(ServiceError::PreconditionFailed(format!(
                "the conditional reference {type_name}?... matches more than one resource"
            )));
        }
    };
    cache.insert(reference.to_string(), target.clone());
    Ok(target)
}

fn at_entry(entry_idx: usize, error: ServiceError) -> ServiceError {
    match error {
        ServiceError::Invalid(message) => {
            ServiceError::Invalid(format!("Bundle.entry[{entry_idx}].resource: {message}"))
        }
        ServiceError::Unprocessable(message) => {
            ServiceError::Unprocessable(format!("Bundle.entry[{entry_idx}]: {message}"))
        }
        ServiceError::BadSearch(message) => ServiceError::BadSearch(format!("Bundle.entry[{entry_idx}]: {message}")),
        other => other,
    }
}

fn response_entry(outcome: &WriteOutcome) -> Value {
    let status = match (outcome.created, outcome.deleted) {
        (true, _) => "201 Created",
        (false, true) if outcome.unchanged => "204 No Content",
        (false, true) => "200 OK",
        (false, false) => "200 OK",
    };
    let mut response = json!({
        "status": status,
        "location": format!("{}/{}/_history/{}", outcome.resource_type, outcome.id, outcome.version_id),
        "etag": format!("W/\"{}\"", outcome.version_id),
        "lastModified": outcome.last_updated.to_string(),
    });
    if outcome.deleted {
        response.as_object_mut().expect("built as an object").remove("location");
    }
    json!({ "response": response })
}

fn existing_entry(stored: &kmcr_store::StoredResource) -> Value {
    json!({ "response": {
        "status": "200 OK",
        "location": format!("{}/{}/_history/{}", stored.resource_type, stored.id, stored.version_id),
        "etag": format!("W/\"{}\"", stored.version_id),
        "lastModified": stored.last_updated.to_string(),
    }})
}

/// A batch: each entry on its own, failures answered in place with an OperationOutcome.
async fn batch(service: &Service, context: &RequestContext, raw_entries: Vec<Value>) -> Result<Value, ServiceError> {
    let mut responses = Vec::with_capacity(raw_entries.len());
    for (entry_idx, raw) in raw_entries.into_iter().enumerate() {
        let result = batch_entry(service, context, entry_idx, raw).await;
        responses.push(match result {
            Ok(response) => response,
            Err(error) => json!({ "response": {
                "status": crate::error_status_line(&error),
                "outcome": crate::operation_outcome(&error),
            }}),
        });
    }
    Ok(json!({ "resourceType": "Bundle", "type": "batch-response", "entry": responses }))
}

async fn batch_entry(
    service: &Service,
    context: &RequestContext,
    entry_idx: usize,
    raw: Value,
) -> Result<Value, ServiceError> {
    let entry = parse_entry(entry_idx, raw)?;
    match (entry.method, entry.id, entry.condition) {
        (Method::Post, _, condition) => {
            let resource = entry.resource.expect("checked when parsed");
            match service.create(context, entry.resource_type, resource, condition.as_deref()).await? {
                CreateResult::Created(outcome) => Ok(response_entry(&outcome)),
                CreateResult::Exists { resource, .. } => Ok(existing_entry(&resource)),
            }
        }
        (Method::Put, Some(id), _) => {
            let resource = entry.resource.expect("checked when parsed");
            Ok(response_entry(
                &service.update(context, entry.resource_type, id, resource, entry.if_match_version).await?,
            ))
        }
        (Method::Put, None, Some(condition)) => {
            let resource = entry.resource.expect("checked when parsed");
            Ok(response_entry(&service.conditional_update(context, entry.resource_type, &condition, resource).await?))
        }
        (Method::Delete, Some(id), _) => Ok(response_entry(&service.delete(context, entry.resource_type, id).await?)),
        _ => {
            Err(ServiceError::Unprocessable(format!("Bundle.entry[{entry_idx}]: conditional delete is not supported")))
        }
    }
}
