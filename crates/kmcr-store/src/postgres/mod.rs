//! The production backend: PostgreSQL through a connection pool. Any number of KMCR nodes may share one database.

mod access;
mod audit;
mod feeds;
mod group;
mod identity;
mod loads;
mod organisations;
mod reindex;
mod relabel;
mod scratch;
mod settings;
mod sign_in;
mod statistics;
mod subscriptions;
mod write;

pub use scratch::ScratchDatabase;

use kmcr_audit::AuditRecord;
use kmcr_fhir::{Instant, OdsCode, ResourceId, ResourceType};
use kmcr_fhir_search::{SearchParamRegistry, SearchRequest};
use std::sync::Arc;
use tokio_postgres::types::ToSql;

use crate::GrantFilter;
use crate::cursor::CursorValue;
use crate::query::{self, Dialect, ParamIds, SqlValue};
use crate::{
    Cursor, EverythingOutcome, EverythingRequest, GrantChange, HistoryRequest, Page, PageRequest, PersonRecordFacts,
    RowFilter, SearchOutcome, StoreError, StoreOptions, StoredGrant, StoredResource, WriteOp, WriteOutcome, schema,
};
use crate::{IdentityWrite, LinkChangeSeen, LinkHistoryEntry, PersonLink, Review, ReviewStatus, StoredModel};

#[derive(Clone)]
pub struct PostgresStore {
    pool: deadpool_postgres::Pool,
    params: Arc<ParamIds>,
    statistics: Arc<statistics::Statistics>,
    audit_queue: tokio::sync::mpsc::UnboundedSender<audit::PendingAudit>,
    /// Writes applied together, in one transaction (`group.rs`).
    group_queue: tokio::sync::mpsc::Sender<group::GroupedWrite>,
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        use tokio_postgres::error::SqlState;
        match error.code() {
            // Two writers gave the same resource the same new version, or the database broke a deadlock.
            Some(code) if *code == SqlState::UNIQUE_VIOLATION || *code == SqlState::T_R_DEADLOCK_DETECTED => {
                StoreError::ConcurrentWrite
            }
            _ => StoreError::Unavailable(error.to_string()),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        StoreError::Unavailable(error.to_string())
    }
}

/// Serialises schema changes between nodes starting together.
const MIGRATION_LOCK_ID: i64 = 0x4b4d_4352_0001;

impl PostgresStore {
    pub async fn open(url: &str, options: &StoreOptions) -> Result<PostgresStore, StoreError> {
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|error: tokio_postgres::Error| StoreError::Unavailable(error.to_string()))?;
        // No JIT compilation: it pays off only for long analytical queries, and a kept plan whose cost estimate passed
        // `jit_above_cost` spent 33 ms compiling a `$everything` that runs in 0.4 ms. Options in the URL come after.
        let connection_options = match config.get_options() {
            Some(given) => format!("-c jit=off {given}"),
            None => "-c jit=off".to_string(),
        };
        config.options(&connection_options);
        let manager = deadpool_postgres::Manager::from_config(
            config,
            tokio_postgres::NoTls,
            deadpool_postgres::ManagerConfig { recycling_method: deadpool_postgres::RecyclingMethod::Fast },
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(options.n_read_connections.max(2) + 2)
            .build()
            .map_err(|error| StoreError::Unavailable(error.to_string()))?;
        let mut client = pool.get().await?;
        migrate(&mut client).await?;
        settings::warn_about_settings(&client).await;
        let params = register_params(&mut client).await?;
        reindex::reindex(&mut client, &params).await?;
        relabel::relabel(&mut client, &options.code_rules).await?;
        audit::backfill_search(&mut client).await?;
        let (audit_queue, receiver) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(audit::audit_loop(pool.clone(), receiver));
        let params = Arc::new(params);
        let (group_queue, grouped) = tokio::sync::mpsc::channel(1024);
        tokio::spawn(group::group_loop(pool.clone(), params.clone(), grouped));
        let statistics = statistics::Statistics::new();
        Ok(PostgresStore { pool, params, statistics, audit_queue, group_queue })
    }

    pub async fn write(
        &self,
        ops: Vec<WriteOp>,
        identity: IdentityWrite,
        audit: Option<AuditRecord>,
        receipt: Option<crate::Receipt>,
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        let n_ops = ops.len() as u64;
        // A small API write, or an HL7 v2 message's: applied with the others waiting, in one transaction. A large
        // batch (a transaction Bundle of a whole record) keeps its own, so that batches' statements still overlap.
        let grouped = identity.is_empty()
            && ops.len() <= group::MAX_GROUPED_OPS
            && matches!(receipt, None | Some(crate::Receipt::FeedMessage(_)));
        let outcomes = if grouped {
            let (reply, answer) = tokio::sync::oneshot::channel();
            let stopped = || StoreError::Unavailable("the group writer has stopped".into());
            let grouped = group::GroupedWrite { ops, audit, receipt, reply };
            self.group_queue.send(grouped).await.map_err(|_| stopped())?;
            answer.await.map_err(|_| stopped())??
        } else {
            let mut client = self.pool.get().await?;
            write::write_batch(&mut client, &self.params, ops, identity, audit, receipt, None).await?
        };
        self.statistics.rows_written(n_ops, &self.pool);
        Ok(outcomes)
    }

    pub async fn write_then(
        &self,
        ops: Vec<WriteOp>,
        audit: Option<AuditRecord>,
        receipt: Option<crate::Receipt>,
        then: crate::AfterWrite,
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        let n_ops = ops.len() as u64;
        let mut client = self.pool.get().await?;
        let identity = IdentityWrite::default();
        let outcomes = write::write_batch(&mut client, &self.params, ops, identity, audit, receipt, Some(then)).await?;
        drop(client);
        self.statistics.rows_written(n_ops, &self.pool);
        Ok(outcomes)
    }

    pub async fn person_links(&self) -> Result<Vec<PersonLink>, StoreError> {
        let client = self.pool.get().await?;
        identity::person_links(&**client).await
    }

    pub async fn person_links_of(&self, patient_ids: &[String]) -> Result<Vec<PersonLink>, StoreError> {
        let client = self.pool.get().await?;
        identity::person_links_of(&**client, patient_ids).await
    }

    pub async fn link_changes_after(
        &self,
        after_sequence: i64,
        limit: usize,
    ) -> Result<Vec<LinkChangeSeen>, StoreError> {
        let client = self.pool.get().await?;
        identity::link_changes_after(&**client, after_sequence, limit).await
    }

    pub async fn link_sequence_before(&self, before_ms: i64) -> Result<i64, StoreError> {
        let client = self.pool.get().await?;
        identity::link_sequence_before(&**client, before_ms).await
    }

    pub async fn decisions_since(&self, since_ms: i64) -> Result<Vec<Review>, StoreError> {
        let client = self.pool.get().await?;
        identity::decisions_since(&**client, since_ms).await
    }

    pub async fn latest_model(&self) -> Result<Option<StoredModel>, StoreError> {
        let client = self.pool.get().await?;
        identity::latest_model(&**client).await
    }

    pub async fn reviews(
        &self,
        status: Option<ReviewStatus>,
        after_review_id: i64,
        limit: usize,
    ) -> Result<Vec<Review>, StoreError> {
        let client = self.pool.get().await?;
        identity::reviews(&**client, status, after_review_id, limit).await
    }

    pub async fn review(&self, review_id: i64) -> Result<Option<Review>, StoreError> {
        let client = self.pool.get().await?;
        identity::review(&**client, review_id).await
    }

    pub async fn link_history(&self, patient_id: &str) -> Result<Vec<LinkHistoryEntry>, StoreError> {
        let client = self.pool.get().await?;
        identity::link_history(&**client, patient_id).await
    }

    pub async fn read(
        &self,
        resource_type: ResourceType,
        id: &ResourceId,
    ) -> Result<Option<StoredResource>, StoreError> {
        let client = self.pool.get().await?;
        let sql = format!(
            "SELECT {} FROM resource r JOIN resource_version v ON v.resource_key = r.resource_key AND v.version_id = \
             r.version_id WHERE r.resource_type = $1 AND r.resource_id = $2",
            query::RESOURCE_COLUMNS
        );
        let statement = client.prepare_cached(&sql).await?;
        let row = client.query_opt(&statement, &[&resource_type.as_str(), &id.as_str()]).await?;
        row.map(|row| row_to_stored(&row)).transpose()
    }

    pub async fn read_version(
        &self,
        resource_type: ResourceType,
        id: &ResourceId,
        version_id: i64,
    ) -> Result<Option<StoredResource>, StoreError> {
        let client = self.pool.get().await?;
        let sql = format!(
            "SELECT {} FROM resource r JOIN resource_version v ON v.resource_key = r.resource_key WHERE \
             r.resource_type = $1 AND r.resource_id = $2 AND v.version_id = $3 AND (v.patient_key IS NULL OR \
             v.patient_key = r.patient_key)",
            query::RESOURCE_COLUMNS
        );
        let statement = client.prepare_cached(&sql).await?;
        let row = client.query_opt(&statement, &[&resource_type.as_str(), &id.as_str(), &version_id]).await?;
        row.map(|row| row_to_stored(&row)).transpose()
    }

    pub async fn history(&self, request: &HistoryRequest, filter: &RowFilter) -> Result<Page, StoreError> {
        let client = self.pool.get().await?;
        let cursor = crate::paging::history_position(request.cursor.as_ref())?;
        let builder = query::compile_history(
            Dialect::Postgres,
            filter,
            request.resource_type,
            request.id.as_ref().map(ResourceId::as_str),
            request.since.map(|since| since.unix_ms),
            cursor,
            request.count + 1,
        );
        let rows = run_resource_query(&client, &builder.sql, &builder.values, 0).await?;
        let (resources, next_cursor) = crate::paging::simple_page(rows, request.count, |last| Cursor {
            values: vec![
                CursorValue::Int(last.last_updated.unix_ms),
                CursorValue::Int(last.resource_key),
                CursorValue::Int(last.version_id),
            ],
        });
        Ok(Page { resources, next_cursor })
    }

    pub async fn search(
        &self,
        request: &SearchRequest,
        page: &PageRequest,
        filter: &RowFilter,
    ) -> Result<SearchOutcome, StoreError> {
        let client = self.pool.get().await?;
        let total = if page.want_total || page.count == 0 {
            let builder = query::compile_count(Dialect::Postgres, &self.params, request, filter)?;
            let statement = kept_statement(&client, &builder.sql).await?;
            let row = client.query_one(&statement, &bind(&builder.values)).await?;
            Some(row.get::<_, i64>(0) as u64)
        } else {
            None
        };
        if page.count == 0 {
            return Ok(SearchOutcome { matches: Vec::new(), included: Vec::new(), total, next_cursor: None });
        }
        let compiled = query::compile_search(
            Dialect::Postgres,
            &self.params,
            request,
            filter,
            page.cursor.as_ref(),
            page.count + 1,
        )?;
        let rows =
            run_resource_query(&client, &compiled.builder.sql, &compiled.builder.values, compiled.n_sort_columns)
                .await?;
        let (matches, next_cursor, total) = crate::paging::search_page(rows, page, total);
        let mut plan = crate::include::IncludePlan::new(request, &matches);
        while let Some(step) = plan.next_step(&self.params)? {
            let builder = query::compile_include(Dialect::Postgres, &step.source_keys, step.param_id, step.reverse);
            let statement = kept_statement(&client, &builder.sql).await?;
            let keys: Vec<i64> =
                client.query(&statement, &bind(&builder.values)).await?.iter().map(|row| row.get(0)).collect();
            let keys = plan.new_keys(keys);
            if keys.is_empty() {
                continue;
            }
            let builder = query::compile_by_keys(Dialect::Postgres, filter, &keys, step.target_type);
            let found = run_resource_query(&client, &builder.sql, &builder.values, 0).await?;
            plan.add(found.into_iter().map(|(resource, _)| resource));
        }
        Ok(SearchOutcome { matches, included: plan.finish(), total, next_cursor })
    }

    pub async fn person_record_facts(
        &self,
        patient_ids: &[String],
        now_ms: i64,
    ) -> Result<PersonRecordFacts, StoreError> {
        let client = self.pool.get().await?;
        access::person_record_facts(&client, &self.params, patient_ids, now_ms).await
    }

    pub async fn grants(
        &self,
        filter: GrantFilter,
        after_grant_id: i64,
        limit: usize,
    ) -> Result<Vec<StoredGrant>, StoreError> {
        let client = self.pool.get().await?;
        access::grants(&client, &filter, after_grant_id, limit).await
    }

    pub async fn write_grant(&self, change: GrantChange, audit: AuditRecord) -> Result<StoredGrant, StoreError> {
        let mut client = self.pool.get().await?;
        let transaction = client.transaction().await?;
        let grant = access::write_grant(&transaction, change, &audit).await?;
        audit::append_audit(&transaction, audit).await?;
        transaction.commit().await?;
        Ok(grant)
    }

    pub async fn departures(&self) -> Result<Vec<crate::Departure>, StoreError> {
        let client = self.pool.get().await?;
        organisations::departures(&**client).await
    }

    pub async fn patient_ids_sent_by(&self, ods_code: &str) -> Result<Vec<String>, StoreError> {
        let client = self.pool.get().await?;
        organisations::patient_ids_sent_by(&**client, ods_code).await
    }

    pub async fn purge_source(
        &self,
        ods_code: &str,
        after_key: i64,
        limit: usize,
    ) -> Result<crate::PurgeStep, StoreError> {
        let mut client = self.pool.get().await?;
        organisations::purge_source(&mut client, ods_code, after_key, limit).await
    }

    pub async fn load_status(&self, job_id: &str) -> Result<Option<crate::LoadStatus>, StoreError> {
        let client = self.pool.get().await?;
        loads::status(&**client, job_id).await
    }

    pub async fn load_jobs(&self, limit: usize) -> Result<Vec<crate::LoadStatus>, StoreError> {
        let client = self.pool.get().await?;
        loads::jobs(&**client, limit).await
    }

    pub async fn load_refusals(
        &self,
        job_id: &str,
        after_line: i64,
        limit: usize,
    ) -> Result<Vec<crate::LineRefusal>, StoreError> {
        let client = self.pool.get().await?;
        loads::refusals(&**client, job_id, after_line, limit).await
    }

    pub async fn accepted_feed_ack(&self, sender: &str, control_id: &str) -> Result<Option<String>, StoreError> {
        let client = self.pool.get().await?;
        feeds::accepted_ack(&client, sender, control_id).await
    }

    pub async fn feed_messages(
        &self,
        status: &str,
        after_key: i64,
        limit: usize,
    ) -> Result<Vec<crate::feeds::StoredFeedMessage>, StoreError> {
        let client = self.pool.get().await?;
        feeds::messages(&**client, status, after_key, limit).await
    }

    pub async fn filtered_feed_messages(
        &self,
        filter: crate::feeds::FeedMessageFilter,
        limit: usize,
    ) -> Result<Vec<crate::feeds::StoredFeedMessage>, StoreError> {
        let client = self.pool.get().await?;
        feeds::filtered(&**client, filter, limit).await
    }

    pub async fn feed_summary(&self) -> Result<Vec<crate::feeds::FeedSummary>, StoreError> {
        let client = self.pool.get().await?;
        feeds::summary(&**client).await
    }

    pub async fn change_sign_in(
        &self,
        change: crate::sign_in::SignInChange,
    ) -> Result<crate::sign_in::SignInOutcome, StoreError> {
        let client = self.pool.get().await?;
        sign_in::apply(&**client, change).await
    }

    pub async fn change_subscriptions(
        &self,
        change: crate::SubscriptionChange,
    ) -> Result<crate::SubscriptionOutcome, StoreError> {
        let mut client = self.pool.get().await?;
        subscriptions::apply(&mut client, change).await
    }

    pub async fn subscriptions(&self, id: Option<&str>) -> Result<Vec<crate::StoredSubscription>, StoreError> {
        let client = self.pool.get().await?;
        subscriptions::subscriptions(&**client, id).await
    }

    pub async fn subscriptions_fingerprint(&self) -> Result<(i64, i64, i64), StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                "SELECT COUNT(*)::bigint, COALESCE(SUM(updated_ms), 0)::bigint, COALESCE(MAX(updated_ms), 0)::bigint \
                 FROM subscription",
                &[],
            )
            .await?;
        Ok((row.get(0), row.get(1), row.get(2)))
    }

    pub async fn try_lead_notifications(&self) -> Result<Option<crate::Leadership>, StoreError> {
        // A connection of its own, out of the pool: the lock lives as long as this session, and closing it frees it.
        let client = deadpool_postgres::Object::take(self.pool.get().await?);
        let key = crate::subscriptions::NOTIFICATION_LEADERSHIP_KEY;
        let row = client.query_one("SELECT pg_try_advisory_lock($1)", &[&key]).await?;
        Ok(row.get::<_, bool>(0).then(|| crate::Leadership::postgres(client)))
    }

    pub async fn event_outbox(&self, limit: usize) -> Result<Vec<crate::OutboxEvent>, StoreError> {
        let client = self.pool.get().await?;
        subscriptions::outbox(&**client, limit).await
    }

    pub async fn subscription_events(
        &self,
        subscription_id: &str,
        range: crate::EventRange,
    ) -> Result<Vec<crate::SubscriptionEvent>, StoreError> {
        let client = self.pool.get().await?;
        subscriptions::events(&**client, subscription_id, range).await
    }

    pub async fn subscriptions_with_undelivered(&self) -> Result<Vec<String>, StoreError> {
        let client = self.pool.get().await?;
        subscriptions::with_undelivered(&**client).await
    }

    pub async fn sign_in_session(&self, session_id: &str) -> Result<Option<crate::StoredSession>, StoreError> {
        let client = self.pool.get().await?;
        sign_in::session(&**client, session_id).await
    }

    pub async fn sign_in_item(&self, kind: &str, key: &str, now_ms: i64) -> Result<Option<String>, StoreError> {
        let client = self.pool.get().await?;
        sign_in::item(&**client, kind, key, now_ms).await
    }

    pub async fn count_sign_in_items(&self, kind: &str, group_id: &str, now_ms: i64) -> Result<i64, StoreError> {
        let client = self.pool.get().await?;
        sign_in::count_items(&**client, kind, group_id, now_ms).await
    }

    pub async fn everything(
        &self,
        request: &EverythingRequest,
        filter: &RowFilter,
    ) -> Result<EverythingOutcome, StoreError> {
        let client = self.pool.get().await?;
        let ids: Vec<&str> = request.patient_ids.iter().map(ResourceId::as_str).collect();
        let statement = client
            .prepare_cached(
                "SELECT resource_id, resource_key, version_id, deleted FROM resource WHERE resource_type = 'Patient' \
                 AND resource_id = ANY($1)",
            )
            .await?;
        let rows = client.query(&statement, &[&ids]).await?;
        let first = rows.iter().find(|row| Some(row.get::<_, &str>(0)) == ids.first().copied());
        match first {
            Some(row) if row.get::<_, bool>(3) => return Ok(EverythingOutcome::PatientDeleted),
            Some(row) if row.get::<_, i64>(2) > 0 => {}
            _ => return Ok(EverythingOutcome::PatientMissing),
        }
        let patient_keys: Vec<i64> = rows
            .iter()
            .filter(|row| row.get::<_, i64>(2) > 0 && !row.get::<_, bool>(3))
            .map(|row| row.get(1))
            .collect();
        let after_key = crate::paging::everything_position(request.cursor.as_ref())?;
        let builder = query::compile_everything(
            Dialect::Postgres,
            filter,
            &patient_keys,
            request.since.map(|since| since.unix_ms),
            &request.types,
            after_key,
            request.count + 1,
        );
        let resources = run_resource_query(&client, &builder.sql, &builder.values, 0).await?;
        let (resources, next_cursor) = crate::paging::simple_page(resources, request.count, |last| Cursor {
            values: vec![CursorValue::Int(last.resource_key)],
        });
        Ok(EverythingOutcome::Page(Page { resources, next_cursor }))
    }
}

async fn migrate(client: &mut deadpool_postgres::Object) -> Result<(), StoreError> {
    let transaction = client.transaction().await?;
    transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_ID]).await?;
    transaction
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migration (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)",
        )
        .await?;
    for (version, statements) in schema::MIGRATIONS {
        let applied =
            transaction.query_opt("SELECT version FROM schema_migration WHERE version = $1", &[version]).await?;
        if applied.is_some() {
            continue;
        }
        let rendered = schema::render(
            statements,
            &schema::Spelling {
                key: "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                bigint: "BIGINT",
                real: "DOUBLE PRECISION",
                boolean: "BOOLEAN",
                ctext: "TEXT COLLATE \"C\"",
                without_rowid: "",
            },
        );
        transaction.batch_execute(&rendered).await?;
        transaction
            .execute(
                "INSERT INTO schema_migration (version, applied_ms) VALUES ($1, $2)",
                &[version, &Instant::now().unix_ms],
            )
            .await?;
        tracing::info!(version, "applied migration");
    }
    transaction.commit().await?;
    Ok(())
}

async fn register_params(client: &mut deadpool_postgres::Object) -> Result<ParamIds, StoreError> {
    let registry = SearchParamRegistry::official_r4();
    let (mut types, mut codes) = (Vec::new(), Vec::new());
    for resource_type in ResourceType::all() {
        for code in registry.stored_codes(resource_type) {
            types.push(resource_type.as_str());
            codes.push(code);
        }
    }
    client
        .execute(
            "INSERT INTO search_param (resource_type, code) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT \
             DO NOTHING",
            &[&types, &codes],
        )
        .await?;
    let mut params = ParamIds::default();
    for row in client.query("SELECT param_id, resource_type, code FROM search_param", &[]).await? {
        if let Ok(resource_type) = ResourceType::parse(row.get(1)) {
            params.insert(resource_type, row.get(2), row.get(0));
        }
    }
    Ok(params)
}

pub(crate) fn bind(values: &[SqlValue]) -> Vec<&(dyn ToSql + Sync)> {
    values
        .iter()
        .map(|value| match value {
            SqlValue::Int(int) => int as &(dyn ToSql + Sync),
            SqlValue::Real(real) => real as &(dyn ToSql + Sync),
            SqlValue::Text(text) => text as &(dyn ToSql + Sync),
            SqlValue::IntList(ints) => ints as &(dyn ToSql + Sync),
            SqlValue::TextList(texts) => texts as &(dyn ToSql + Sync),
        })
        .collect()
}

fn row_to_stored(row: &tokio_postgres::Row) -> Result<StoredResource, StoreError> {
    let resource_key: i64 = row.get(0);
    let parsed = (
        ResourceType::parse(row.get(1)),
        ResourceId::parse(row.get(2)),
        OdsCode::parse(row.get::<_, Option<&str>>(6).unwrap_or("")),
    );
    let (Ok(resource_type), Ok(id), Ok(source_ods_code)) = parsed else {
        return Err(StoreError::Corrupt(format!("resource row {resource_key} does not parse")));
    };
    Ok(StoredResource {
        resource_key,
        resource_type,
        id,
        version_id: row.get(3),
        last_updated: Instant::from_unix_ms(row.get(4)),
        deleted: row.get(5),
        source_ods_code,
        json: row.get(7),
        sensitivity: row.get(8),
        patient_id: row.get::<_, Option<&str>>(9).and_then(|id| ResourceId::parse(id).ok()),
    })
}

/// Statements kept per connection at most. Search SQL is one text per combination of parameters (lists are bound as
/// arrays, so the number of values does not change it), so a working set is small; past this the cache starts again
/// rather than grow with combinations no one repeats.
const MAX_KEPT_STATEMENTS: usize = 512;

/// The statement for `sql`, prepared once per connection. PostgreSQL then plans it for the first few runs and keeps a
/// generic plan when that costs no more, which saves the planning (about 1 ms for a search) on every later run. The
/// SQL is shaped so that a kept plan is safe (see `SqlBuilder::subquery_fence` and `query::compile_everything`).
async fn kept_statement(
    client: &deadpool_postgres::Object,
    sql: &str,
) -> Result<tokio_postgres::Statement, StoreError> {
    if client.statement_cache.size() >= MAX_KEPT_STATEMENTS {
        client.statement_cache.clear();
    }
    Ok(client.prepare_cached(sql).await?)
}

async fn run_resource_query(
    client: &deadpool_postgres::Object,
    sql: &str,
    values: &[SqlValue],
    n_extra: usize,
) -> Result<Vec<(StoredResource, Vec<CursorValue>)>, StoreError> {
    let statement = kept_statement(client, sql).await?;
    let rows = client.query(&statement, &bind(values)).await?;
    let mut resources = Vec::with_capacity(rows.len());
    for row in rows {
        let resource = row_to_stored(&row)?;
        let mut extra = Vec::with_capacity(n_extra);
        for column_idx in query::N_RESOURCE_COLUMNS..query::N_RESOURCE_COLUMNS + n_extra {
            let column_type = row.columns()[column_idx].type_().clone();
            extra.push(match column_type {
                tokio_postgres::types::Type::INT8 => CursorValue::Int(row.get(column_idx)),
                tokio_postgres::types::Type::FLOAT8 => CursorValue::Real(row.get(column_idx)),
                _ => CursorValue::Text(row.get(column_idx)),
            });
        }
        resources.push((resource, extra));
    }
    Ok(resources)
}

/// Runs `sql` as a statement prepared once per connection: one round trip, where an unprepared statement takes two (its
/// parse, then its execution).
pub(super) async fn execute_cached(
    transaction: &deadpool_postgres::Transaction<'_>,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<u64, StoreError> {
    let statement = transaction.prepare_cached(sql).await?;
    Ok(transaction.execute(&statement, params).await?)
}

/// [`execute_cached`] for a statement that returns rows.
pub(super) async fn query_cached(
    transaction: &deadpool_postgres::Transaction<'_>,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>, StoreError> {
    let statement = transaction.prepare_cached(sql).await?;
    Ok(transaction.query(&statement, params).await?)
}
