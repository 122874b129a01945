//! The PostgreSQL write path. A batch costs a fixed number of statements whatever its size: state is fetched in one
//! query, keys resolved in two, and versions, resources and each index table written with one `unnest` each.

use std::collections::HashMap;

use deadpool_postgres::Transaction;
use kmcr_audit::AuditRecord;
use kmcr_fhir::{Instant, ResourceType};

use super::{execute_cached, query_cached};
use crate::query::ParamIds;
use crate::write_rows::{INDEX_TABLES, IndexRow, PreparedAction, PreparedOp, prepare};
use crate::{IdentityWrite, Precondition, StoreError, WriteOp, WriteOutcome};

#[derive(Clone)]
pub(super) struct State {
    version_id: i64,
    deleted: bool,
    source_ods_code: Option<String>,
    event_state: Option<String>,
}

/// One row of `resource_version` to insert.
struct VersionRow {
    resource_key: i64,
    version_id: i64,
    deleted: bool,
    source: String,
    patient_key: Option<i64>,
    json: Option<String>,
}

/// The state a resource is left in by the batch.
struct FinalState {
    version_id: i64,
    deleted: bool,
    source: String,
    patient_key: Option<i64>,
    /// Sensitive categories added by this batch (kept as a union with what the resource had).
    sensitivity: i64,
    event_state: Option<String>,
}

/// What a batch writes, gathered before any statement runs.
#[derive(Default)]
pub(super) struct Plan {
    versions: Vec<VersionRow>,
    /// Per resource key, its state after this batch.
    resources: HashMap<i64, FinalState>,
    clear_index_of: Vec<i64>,
    index: Vec<(i64, Option<i64>, IndexRow)>,
    /// Events fired: topic code, resource key, version.
    outbox: Vec<(&'static str, i64, i64)>,
}

impl Plan {
    /// Adds a later write's plan after this one, as if its operations had been planned after these in one batch: a
    /// resource both write is left as the later leaves it, with the earlier's index rows dropped and its sensitive
    /// categories kept.
    pub(super) fn append(&mut self, later: Plan) {
        let Plan { versions, resources, clear_index_of, index, outbox } = later;
        for (resource_key, mut state) in resources {
            if let Some(earlier) = self.resources.get(&resource_key) {
                state.sensitivity |= earlier.sensitivity;
                if state.patient_key.is_none() {
                    state.patient_key = earlier.patient_key;
                }
                self.index.retain(|(key, _, _)| *key != resource_key);
            }
            self.resources.insert(resource_key, state);
        }
        self.versions.extend(versions);
        self.clear_index_of.extend(clear_index_of);
        self.index.extend(index);
        self.outbox.extend(outbox);
    }
}

pub async fn write_batch(
    client: &mut deadpool_postgres::Object,
    params: &ParamIds,
    ops: Vec<WriteOp>,
    identity: IdentityWrite,
    audit: Option<AuditRecord>,
    receipt: Option<crate::Receipt>,
    then: Option<crate::AfterWrite>,
) -> Result<Vec<WriteOutcome>, StoreError> {
    let prepared = prepare(params, ops);
    let transaction = client.transaction().await?;
    // A bulk load brings history, not news: its items keep their event state but fire nothing.
    let fires_events = !matches!(receipt, Some(crate::Receipt::LoadProgress(_)));
    // The time is taken once the rows are locked, so a version is never stamped earlier than the one before it.
    let (outcomes, now) = apply_ops(&transaction, prepared, fires_events, None).await?;
    let mut identity = identity;
    if let Some(then) = then {
        let (placed, persons) = then(&outcomes);
        identity.append(placed);
        apply_ops(&transaction, prepare(params, persons), fires_events, Some(now)).await?;
    }
    if !identity.is_empty() {
        super::identity::apply(&transaction, identity, now).await?;
    }
    if let Some(audit) = audit {
        super::audit::append_audit(&transaction, audit).await?;
    }
    if let Some(receipt) = receipt {
        record_receipt(&transaction, receipt).await?;
    }
    transaction.commit().await?;
    Ok(outcomes)
}

/// Records what else a write's transaction keeps: an HL7 v2 message's receipt, a bulk load's progress, an
/// organisation's departure or purge.
pub(super) async fn record_receipt(transaction: &Transaction<'_>, receipt: crate::Receipt) -> Result<(), StoreError> {
    match receipt {
        crate::Receipt::FeedMessage(receipt) => super::feeds::insert(transaction, &receipt).await,
        receipt @ (crate::Receipt::OrganisationLeft { .. } | crate::Receipt::OrganisationPurged { .. }) => {
            super::organisations::record(&**transaction, receipt).await
        }
        receipt => super::loads::record(&**transaction, receipt).await,
    }
}

/// Locks the rows `prepared` writes, then plans and executes its writes; the outcomes, and the time they were stamped
/// with (`now`, or taken once the rows are locked).
async fn apply_ops(
    transaction: &Transaction<'_>,
    prepared: Vec<PreparedOp>,
    fires_events: bool,
    now: Option<Instant>,
) -> Result<(Vec<WriteOutcome>, Instant), StoreError> {
    let every_op: Vec<&PreparedOp> = prepared.iter().collect();
    let mut states = fetch_states(transaction, &every_op).await?;
    let keys = resolve_keys(transaction, &every_op).await?;
    let now = now.unwrap_or_else(Instant::now);
    let mut plan = Plan::default();
    let mut outcomes = Vec::with_capacity(prepared.len());
    for op in prepared {
        outcomes.push(plan_op(&keys, &mut states, &mut plan, op, now)?);
    }
    if !fires_events {
        plan.outbox.clear();
    }
    // Two writers racing for the same version surface here as StoreError::ConcurrentWrite (a 409 to the client).
    execute_plan(transaction, plan, now).await?;
    Ok((outcomes, now))
}

pub(super) async fn fetch_states(
    transaction: &Transaction<'_>,
    prepared: &[&PreparedOp],
) -> Result<HashMap<(ResourceType, String), State>, StoreError> {
    let types: Vec<&str> = prepared.iter().map(|op| op.resource_type.as_str()).collect();
    let ids: Vec<&str> = prepared.iter().map(|op| op.id.as_str()).collect();
    let rows = query_cached(transaction,
            "SELECT r.resource_type, r.resource_id, r.resource_key, r.version_id, r.deleted, r.source_ods_code, \
             r.event_state FROM resource r JOIN unnest($1::text[], $2::text[]) AS u(resource_type, resource_id) ON r.resource_type = \
             u.resource_type AND r.resource_id = u.resource_id FOR UPDATE OF r",
            &[&types, &ids],
        )
        .await?;
    let mut states = HashMap::with_capacity(rows.len());
    for row in rows {
        let Ok(resource_type) = ResourceType::parse(row.get(0)) else { continue };
        states.insert(
            (resource_type, row.get::<_, String>(1)),
            State { version_id: row.get(3), deleted: row.get(4), source_ods_code: row.get(5), event_state: row.get(6) },
        );
    }
    Ok(states)
}

/// Keys of every resource the batch writes or refers to, creating placeholders for those never seen.
pub(super) async fn resolve_keys(
    transaction: &Transaction<'_>,
    prepared: &[&PreparedOp],
) -> Result<HashMap<(ResourceType, String), i64>, StoreError> {
    let mut wanted: Vec<(ResourceType, String)> = Vec::new();
    for op in prepared {
        wanted.push((op.resource_type, op.id.as_str().to_string()));
        let PreparedAction::Put { owning_patient_id, rows, .. } = &op.action else { continue };
        if let Some(patient_id) = owning_patient_id {
            wanted.push((ResourceType::PATIENT, patient_id.clone()));
        }
        for row in rows {
            if let IndexRow::Reference { target: Some(target), .. } = row {
                wanted.push(target.clone());
            }
        }
    }
    wanted.sort();
    wanted.dedup();
    let types: Vec<&str> = wanted.iter().map(|(resource_type, _)| resource_type.as_str()).collect();
    let ids: Vec<&str> = wanted.iter().map(|(_, id)| id.as_str()).collect();
    // Sorted inserts take row locks in one order, so concurrent batches cannot deadlock here.
    execute_cached(transaction,
            "INSERT INTO resource (resource_type, resource_id, version_id, last_updated_ms, deleted, event_state) SELECT t, \
             i, 0, 0, false, NULL FROM unnest($1::text[], $2::text[]) AS u(t, i) ON CONFLICT (resource_type, resource_id) DO \
             NOTHING",
            &[&types, &ids],
        )
        .await?;
    let rows = query_cached(
        transaction,
        "SELECT r.resource_type, r.resource_id, r.resource_key FROM resource r JOIN unnest($1::text[], \
             $2::text[]) AS u(t, i) ON r.resource_type = u.t AND r.resource_id = u.i",
        &[&types, &ids],
    )
    .await?;
    let mut keys = HashMap::with_capacity(rows.len());
    for row in rows {
        if let Ok(resource_type) = ResourceType::parse(row.get(0)) {
            keys.insert((resource_type, row.get::<_, String>(1)), row.get::<_, i64>(2));
        }
    }
    Ok(keys)
}

pub(super) fn plan_op(
    keys: &HashMap<(ResourceType, String), i64>,
    states: &mut HashMap<(ResourceType, String), State>,
    plan: &mut Plan,
    op: PreparedOp,
    now: Instant,
) -> Result<WriteOutcome, StoreError> {
    let state_key = (op.resource_type, op.id.as_str().to_string());
    let state = states.get(&state_key).cloned().unwrap_or(State {
        version_id: 0,
        deleted: false,
        source_ods_code: None,
        event_state: None,
    });
    let exists = state.version_id > 0 && !state.deleted;
    match op.precondition {
        Precondition::None => {}
        Precondition::MustNotExist if state.version_id > 0 => {
            return Err(StoreError::AlreadyExists { resource_type: op.resource_type, id: op.id });
        }
        Precondition::MustNotExist => {}
        Precondition::VersionIs(expected) if expected == state.version_id && (exists || expected == 0) => {}
        Precondition::VersionIs(expected) => {
            return Err(StoreError::VersionConflict {
                resource_type: op.resource_type,
                id: op.id,
                expected,
                actual: state.version_id,
            });
        }
    }
    let existing_source = state.source_ods_code.as_deref().filter(|_| state.version_id > 0);
    let verdict = kmcr_access::decide_write_by(&op.writer_ods_code, op.resource_type, existing_source);
    if !verdict.permitted {
        return Err(StoreError::NotOwner { resource_type: op.resource_type, id: op.id, reason: verdict.reason });
    }
    let resource_key = *keys.get(&state_key).expect("every written resource has a key");
    let version_id = state.version_id + 1;
    let source = op.writer_ods_code.as_str().to_string();
    let mut outcome = WriteOutcome {
        resource_type: op.resource_type,
        id: op.id.clone(),
        version_id: state.version_id,
        last_updated: now,
        created: false,
        deleted: true,
        unchanged: true,
        json: None,
    };
    match op.action {
        PreparedAction::Delete => {
            if !exists {
                return Ok(outcome);
            }
            let planned_earlier_in_batch = plan.resources.contains_key(&resource_key);
            let patient_key = plan.resources.get(&resource_key).and_then(|state| state.patient_key);
            let sensitivity = plan.resources.get(&resource_key).map_or(0, |state| state.sensitivity);
            plan.versions.push(VersionRow {
                resource_key,
                version_id,
                deleted: true,
                source: source.clone(),
                patient_key,
                json: None,
            });
            plan.resources.insert(
                resource_key,
                FinalState {
                    version_id,
                    deleted: true,
                    source: source.clone(),
                    patient_key,
                    sensitivity,
                    event_state: None,
                },
            );
            plan.clear_index_of.push(resource_key);
            if planned_earlier_in_batch {
                plan.index.retain(|(key, _, _)| *key != resource_key);
            }
            outcome.version_id = version_id;
            outcome.unchanged = false;
        }
        PreparedAction::Put { body, rows, owning_patient_id, sensitivity, events } => {
            let patient_key = owning_patient_id
                .map(|patient_id| *keys.get(&(ResourceType::PATIENT, patient_id)).expect("patient keys are resolved"));
            let json = body.render(version_id, now);
            let planned_earlier_in_batch = plan.resources.contains_key(&resource_key);
            plan.versions.push(VersionRow {
                resource_key,
                version_id,
                deleted: false,
                source: source.clone(),
                patient_key,
                json: Some(json.clone()),
            });
            let sensitivity = sensitivity | plan.resources.get(&resource_key).map_or(0, |state| state.sensitivity);
            // A placeholder (only referenced so far) has no state: its first version is news.
            let previous_state = state.event_state.as_deref().filter(|_| state.version_id > 0);
            let (event_state, fired) = crate::subscriptions::fire(previous_state, &events);
            for topic in fired {
                plan.outbox.push((topic.code(), resource_key, version_id));
            }
            plan.resources.insert(
                resource_key,
                FinalState {
                    version_id,
                    deleted: false,
                    source: source.clone(),
                    patient_key,
                    sensitivity,
                    event_state: event_state.clone(),
                },
            );
            states.insert(
                state_key.clone(),
                State { version_id, deleted: false, source_ods_code: Some(source.clone()), event_state },
            );
            if exists {
                plan.clear_index_of.push(resource_key);
            }
            // Only a resource written twice in one batch has planned rows to drop; scanning for every op would make a
            // batch cost the square of its size.
            if planned_earlier_in_batch {
                plan.index.retain(|(key, _, _)| *key != resource_key);
            }
            for row in rows {
                plan.index.push((resource_key, patient_key, row));
            }
            outcome = WriteOutcome {
                version_id,
                created: !exists,
                deleted: false,
                unchanged: false,
                json: Some(json),
                ..outcome
            };
        }
    }
    if outcome.deleted {
        states.insert(state_key, State { version_id, deleted: true, source_ods_code: Some(source), event_state: None });
    }
    Ok(outcome)
}

pub(super) async fn execute_plan(transaction: &Transaction<'_>, plan: Plan, now: Instant) -> Result<(), StoreError> {
    if !plan.clear_index_of.is_empty() {
        for table in INDEX_TABLES {
            execute_cached(
                transaction,
                &format!("DELETE FROM {table} WHERE resource_key = ANY($1)"),
                &[&plan.clear_index_of],
            )
            .await?;
        }
    }
    if !plan.versions.is_empty() {
        let keys: Vec<i64> = plan.versions.iter().map(|version| version.resource_key).collect();
        let version_ids: Vec<i64> = plan.versions.iter().map(|version| version.version_id).collect();
        let deleted: Vec<bool> = plan.versions.iter().map(|version| version.deleted).collect();
        let sources: Vec<&str> = plan.versions.iter().map(|version| version.source.as_str()).collect();
        let patients: Vec<Option<i64>> = plan.versions.iter().map(|version| version.patient_key).collect();
        let bodies: Vec<Option<&str>> = plan.versions.iter().map(|version| version.json.as_deref()).collect();
        let updated_ms: Vec<i64> = vec![now.unix_ms; keys.len()];
        // Every version of one batch carries the batch's instant; the resources take theirs from the versions.
        execute_cached(
            transaction,
            "INSERT INTO resource_version (resource_key, version_id, last_updated_ms, deleted, source_ods_code, \
                 patient_key, body) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bool[], \
                 $5::text[], $6::bigint[], $7::text[])",
            &[&keys, &version_ids, &updated_ms, &deleted, &sources, &patients, &bodies],
        )
        .await?;
    }
    if !plan.resources.is_empty() {
        let mut resources: Vec<(i64, FinalState)> = plan.resources.into_iter().collect();
        resources.sort_by_key(|(key, _)| *key);
        let keys: Vec<i64> = resources.iter().map(|(key, _)| *key).collect();
        let version_ids: Vec<i64> = resources.iter().map(|(_, state)| state.version_id).collect();
        let deleted: Vec<bool> = resources.iter().map(|(_, state)| state.deleted).collect();
        let sources: Vec<&str> = resources.iter().map(|(_, state)| state.source.as_str()).collect();
        let patients: Vec<Option<i64>> = resources.iter().map(|(_, state)| state.patient_key).collect();
        let sensitivities: Vec<i64> = resources.iter().map(|(_, state)| state.sensitivity).collect();
        let event_states: Vec<Option<&str>> = resources.iter().map(|(_, state)| state.event_state.as_deref()).collect();
        execute_cached(
            transaction,
            "UPDATE resource r SET version_id = u.v, last_updated_ms = rv.last_updated_ms, deleted = u.d, \
                 source_ods_code = u.s, patient_key = COALESCE(u.p, r.patient_key), sensitivity = r.sensitivity | u.x, \
                 event_state = u.e FROM unnest($1::bigint[], $2::bigint[], $3::bool[], $4::text[], $5::bigint[], \
                 $6::bigint[], $7::text[]) AS u(k, v, d, s, p, x, e) JOIN resource_version rv ON rv.resource_key = \
                 u.k AND rv.version_id = u.v WHERE r.resource_key = u.k",
            &[&keys, &version_ids, &deleted, &sources, &patients, &sensitivities, &event_states],
        )
        .await?;
    }
    if !plan.outbox.is_empty() {
        let topics: Vec<&str> = plan.outbox.iter().map(|(topic, _, _)| *topic).collect();
        let keys: Vec<i64> = plan.outbox.iter().map(|(_, key, _)| *key).collect();
        let version_ids: Vec<i64> = plan.outbox.iter().map(|(_, _, version_id)| *version_id).collect();
        execute_cached(
            transaction,
            "INSERT INTO event_outbox (topic, resource_key, version_id, recorded_ms) SELECT t, k, v, $4 FROM \
                 unnest($1::text[], $2::bigint[], $3::bigint[]) AS u(t, k, v)",
            &[&topics, &keys, &version_ids, &now.unix_ms],
        )
        .await?;
    }
    insert_index_rows(transaction, plan.index).await
}

pub(super) async fn insert_index_rows(
    transaction: &Transaction<'_>,
    rows: Vec<(i64, Option<i64>, IndexRow)>,
) -> Result<(), StoreError> {
    // The last column of each is the row's ordinal: its place in the batch, unique for each resource.
    let mut tokens = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut strings = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut dates = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut references = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut quantities = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut numbers = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut uris = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (ordinal, (key, patient_key, row)) in rows.into_iter().enumerate() {
        let ordinal = ordinal as i64;
        match row {
            IndexRow::Token { param_id, system, code, display_text } => {
                tokens.0.push(key);
                tokens.1.push(param_id);
                tokens.2.push(system);
                tokens.3.push(code);
                tokens.4.push(display_text);
                tokens.5.push(patient_key);
                tokens.6.push(ordinal);
            }
            IndexRow::String { param_id, normalized, exact } => {
                strings.0.push(key);
                strings.1.push(param_id);
                strings.2.push(normalized);
                strings.3.push(exact);
                strings.4.push(patient_key);
                strings.5.push(ordinal);
            }
            IndexRow::Date { param_id, low_ms, high_ms } => {
                dates.0.push(key);
                dates.1.push(param_id);
                dates.2.push(low_ms);
                dates.3.push(high_ms);
                dates.4.push(patient_key);
                dates.5.push(ordinal);
            }
            IndexRow::Reference { param_id, target, url } => {
                references.0.push(key);
                references.1.push(param_id);
                references.2.push(target.as_ref().map(|(target_type, _)| target_type.as_str().to_string()));
                references.3.push(target.map(|(_, target_id)| target_id));
                references.4.push(url);
                references.5.push(patient_key);
                references.6.push(ordinal);
            }
            IndexRow::Quantity { param_id, value, system, code } => {
                quantities.0.push(key);
                quantities.1.push(param_id);
                quantities.2.push(value);
                quantities.3.push(system);
                quantities.4.push(code);
                quantities.5.push(patient_key);
                quantities.6.push(ordinal);
            }
            IndexRow::Number { param_id, value } => {
                numbers.0.push(key);
                numbers.1.push(param_id);
                numbers.2.push(value);
                numbers.3.push(patient_key);
                numbers.4.push(ordinal);
            }
            IndexRow::Uri { param_id, uri } => {
                uris.0.push(key);
                uris.1.push(param_id);
                uris.2.push(uri);
                uris.3.push(patient_key);
                uris.4.push(ordinal);
            }
        }
    }
    if !tokens.0.is_empty() {
        execute_cached(
            transaction,
            "INSERT INTO idx_token (resource_key, param_id, system, code, display_text, patient_key, ordinal) SELECT \
                 * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], \
                 $7::bigint[])",
            &[&tokens.0, &tokens.1, &tokens.2, &tokens.3, &tokens.4, &tokens.5, &tokens.6],
        )
        .await?;
    }
    if !strings.0.is_empty() {
        execute_cached(
            transaction,
            "INSERT INTO idx_string (resource_key, param_id, normalized, exact, patient_key, ordinal) SELECT * FROM \
                 unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])",
            &[&strings.0, &strings.1, &strings.2, &strings.3, &strings.4, &strings.5],
        )
        .await?;
    }
    if !dates.0.is_empty() {
        execute_cached(
            transaction,
            "INSERT INTO idx_date (resource_key, param_id, low_ms, high_ms, patient_key, ordinal) SELECT * FROM \
                 unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])",
            &[&dates.0, &dates.1, &dates.2, &dates.3, &dates.4, &dates.5],
        )
        .await?;
    }
    if !references.0.is_empty() {
        // Targets were given keys by resolve_keys; the join turns (type, id) into that key.
        execute_cached(
            transaction,
            "INSERT INTO idx_reference (resource_key, param_id, target_key, url, patient_key, ordinal) SELECT u.k, \
                 u.p, t.resource_key, u.url, u.pk, u.o FROM unnest($1::bigint[], $2::bigint[], $3::text[], \
                 $4::text[], $5::text[], $6::bigint[], $7::bigint[]) AS u(k, p, tt, ti, url, pk, o) LEFT JOIN \
                 resource t ON t.resource_type = u.tt AND t.resource_id = u.ti",
            &[&references.0, &references.1, &references.2, &references.3, &references.4, &references.5, &references.6],
        )
        .await?;
    }
    if !quantities.0.is_empty() {
        execute_cached(
            transaction,
            "INSERT INTO idx_quantity (resource_key, param_id, value, system, code, patient_key, ordinal) SELECT * \
                 FROM unnest($1::bigint[], $2::bigint[], $3::float8[], $4::text[], $5::text[], $6::bigint[], \
                 $7::bigint[])",
            &[&quantities.0, &quantities.1, &quantities.2, &quantities.3, &quantities.4, &quantities.5, &quantities.6],
        )
        .await?;
    }
    if !numbers.0.is_empty() {
        execute_cached(
            transaction,
            "INSERT INTO idx_number (resource_key, param_id, value, patient_key, ordinal) SELECT * FROM \
                 unnest($1::bigint[], $2::bigint[], $3::float8[], $4::bigint[], $5::bigint[])",
            &[&numbers.0, &numbers.1, &numbers.2, &numbers.3, &numbers.4],
        )
        .await?;
    }
    if !uris.0.is_empty() {
        execute_cached(
            transaction,
            "INSERT INTO idx_uri (resource_key, param_id, uri, patient_key, ordinal) SELECT * FROM \
                 unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[])",
            &[&uris.0, &uris.1, &uris.2, &uris.3, &uris.4],
        )
        .await?;
    }
    Ok(())
}
