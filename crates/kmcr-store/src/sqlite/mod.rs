//! The embedded backend: one SQLite database file (WAL) under the data directory, one writer thread committing in
//! groups (see `writer`), a pool of readers.

mod access;
mod audit;
mod feeds;
mod identity;
mod loads;
mod organisations;
mod reindex;
mod relabel;
mod sign_in;
mod subscriptions;
mod write;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use kmcr_audit::AuditRecord;
use kmcr_fhir::{Instant, OdsCode, ResourceId, ResourceType};
use kmcr_fhir_search::{SearchParamRegistry, SearchRequest};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params_from_iter};

use crate::GrantFilter;
use crate::cursor::CursorValue;
use crate::query::{self, Dialect, ParamIds, SqlValue};
use crate::{
    Cursor, EverythingOutcome, EverythingRequest, GrantChange, HistoryRequest, Page, PageRequest, PersonRecordFacts,
    RowFilter, SearchOutcome, StoreError, StoreOptions, StoredGrant, StoredResource, WriteOp, WriteOutcome, schema,
};
use crate::{IdentityWrite, LinkChangeSeen, LinkHistoryEntry, PersonLink, Review, ReviewStatus, StoredModel};

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: std::sync::mpsc::SyncSender<writer::WriteJob>,
    readers: Mutex<Vec<Connection>>,
    n_read_connections: usize,
    params: Arc<ParamIds>,
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Unavailable(error.to_string())
    }
}

fn open_connection(path: &Path, read_only: bool) -> Result<Connection, StoreError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let connection = Connection::open_with_flags(path, flags)?;
    // FULL: a commit is on disk before the store answers, so nothing acknowledged is lost, even on power loss. The
    // writer's own connection commits with NORMAL instead and leaves the sync to its syncer thread, which still syncs
    // before any answer (`writer.rs`).
    // mmap_size: the whole database is mapped (up to 1 TiB, the cap `.cargo/config.toml` builds SQLite with), so a read
    // takes its pages from the operating system's cache without a system call or a copy into each connection's cache.
    connection.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000; \
         PRAGMA cache_size = -1048576; PRAGMA temp_store = MEMORY; PRAGMA mmap_size = 1099511627776;",
    )?;
    connection.set_prepared_statement_cache_capacity(256);
    Ok(connection)
}

impl SqliteStore {
    /// Opens (creating if needed) `kmcr.db` in `data_directory` and applies pending migrations.
    pub async fn open(data_directory: &Path, options: &StoreOptions) -> Result<SqliteStore, StoreError> {
        let data_directory = data_directory.to_path_buf();
        let n_read_connections = options.n_read_connections.max(1);
        let max_wal_bytes = options.sqlite_max_wal_bytes;
        let writer_cache_bytes = options.sqlite_writer_cache_bytes;
        let code_rules = options.code_rules.clone();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&data_directory)
                .map_err(|error| StoreError::Unavailable(format!("cannot create the data directory: {error}")))?;
            let path = data_directory.join("kmcr.db");
            let mut writer = open_connection(&path, false)?;
            writer.execute_batch(&format!("PRAGMA cache_size = -{};", writer_cache_bytes / 1024))?;
            migrate(&mut writer)?;
            let params = register_params(&mut writer)?;
            reindex::reindex(&mut writer, &params)?;
            relabel::relabel(&mut writer, &code_rules)?;
            audit::backfill_search(&mut writer)?;
            let writer = writer::start(writer, path.clone(), max_wal_bytes)?;
            Ok(SqliteStore {
                inner: Arc::new(Inner {
                    path,
                    writer,
                    readers: Mutex::new(Vec::new()),
                    n_read_connections,
                    params: Arc::new(params),
                }),
            })
        })
        .await
        .expect("the open task does not panic")
    }

    /// Queues a job for the writer thread and waits for its commit.
    async fn send_to_writer<T>(
        &self,
        job: impl FnOnce(tokio::sync::oneshot::Sender<Result<T, StoreError>>) -> writer::WriteJob,
    ) -> Result<T, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let sender = self.inner.writer.clone();
        let job = job(reply);
        let stopped = || StoreError::Unavailable("the writer has stopped".into());
        match sender.try_send(job) {
            Ok(()) => {}
            // The queue is bounded: when it is full the request waits for room, off the async threads.
            Err(std::sync::mpsc::TrySendError::Full(job)) => {
                let queued = tokio::task::spawn_blocking(move || sender.send(job).is_ok());
                if !queued.await.expect("queueing does not panic") {
                    return Err(stopped());
                }
            }
            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => return Err(stopped()),
        }
        answer.await.map_err(|_| stopped())?
    }

    async fn with_reader<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection, &ParamIds) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = inner.readers.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop();
            let connection = match pooled {
                Some(connection) => connection,
                None => open_connection(&inner.path, true)?,
            };
            let result = work(&connection, &inner.params);
            let mut readers = inner.readers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if readers.len() < inner.n_read_connections {
                readers.push(connection);
            }
            result
        })
        .await
        .expect("store tasks do not panic")
    }

    pub async fn write(
        &self,
        ops: Vec<WriteOp>,
        identity: IdentityWrite,
        audit: Option<AuditRecord>,
        receipt: Option<crate::Receipt>,
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        let ops = crate::write_rows::prepare(&self.inner.params, ops);
        self.send_to_writer(|reply| writer::WriteJob::Batch { ops, identity, audit, receipt, then: None, reply }).await
    }

    pub async fn write_then(
        &self,
        ops: Vec<WriteOp>,
        audit: Option<AuditRecord>,
        receipt: Option<crate::Receipt>,
        then: crate::AfterWrite,
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        let ops = crate::write_rows::prepare(&self.inner.params, ops);
        let then = Some((then, self.inner.params.clone()));
        let identity = IdentityWrite::default();
        self.send_to_writer(|reply| writer::WriteJob::Batch { ops, identity, audit, receipt, then, reply }).await
    }

    pub async fn accepted_feed_ack(&self, sender: &str, control_id: &str) -> Result<Option<String>, StoreError> {
        let (sender, control_id) = (sender.to_string(), control_id.to_string());
        self.with_reader(move |connection, _| feeds::accepted_ack(connection, &sender, &control_id)).await
    }

    pub async fn feed_messages(
        &self,
        status: &str,
        after_key: i64,
        limit: usize,
    ) -> Result<Vec<crate::feeds::StoredFeedMessage>, StoreError> {
        let status = status.to_string();
        self.with_reader(move |connection, _| feeds::messages(connection, &status, after_key, limit)).await
    }

    pub async fn filtered_feed_messages(
        &self,
        filter: crate::feeds::FeedMessageFilter,
        limit: usize,
    ) -> Result<Vec<crate::feeds::StoredFeedMessage>, StoreError> {
        self.with_reader(move |connection, _| feeds::filtered(connection, filter, limit)).await
    }

    pub async fn departures(&self) -> Result<Vec<crate::Departure>, StoreError> {
        self.with_reader(|connection, _| organisations::departures(connection)).await
    }

    pub async fn patient_ids_sent_by(&self, ods_code: &str) -> Result<Vec<String>, StoreError> {
        let ods_code = ods_code.to_string();
        self.with_reader(move |connection, _| organisations::patient_ids_sent_by(connection, &ods_code)).await
    }

    pub async fn purge_source(
        &self,
        ods_code: &str,
        after_key: i64,
        limit: usize,
    ) -> Result<crate::PurgeStep, StoreError> {
        let ods_code = ods_code.to_string();
        self.send_to_writer(|reply| writer::WriteJob::Purge { ods_code, after_key, limit, reply }).await
    }

    pub async fn load_status(&self, job_id: &str) -> Result<Option<crate::LoadStatus>, StoreError> {
        let job_id = job_id.to_string();
        self.with_reader(move |connection, _| loads::status(connection, &job_id)).await
    }

    pub async fn load_jobs(&self, limit: usize) -> Result<Vec<crate::LoadStatus>, StoreError> {
        self.with_reader(move |connection, _| loads::jobs(connection, limit)).await
    }

    pub async fn load_refusals(
        &self,
        job_id: &str,
        after_line: i64,
        limit: usize,
    ) -> Result<Vec<crate::LineRefusal>, StoreError> {
        let job_id = job_id.to_string();
        self.with_reader(move |connection, _| loads::refusals(connection, &job_id, after_line, limit)).await
    }

    pub async fn feed_summary(&self) -> Result<Vec<crate::feeds::FeedSummary>, StoreError> {
        self.with_reader(|connection, _| feeds::summary(connection)).await
    }

    pub async fn person_links(&self) -> Result<Vec<PersonLink>, StoreError> {
        self.with_reader(|connection, _| identity::person_links(connection)).await
    }

    pub async fn person_links_of(&self, patient_ids: &[String]) -> Result<Vec<PersonLink>, StoreError> {
        let patient_ids = patient_ids.to_vec();
        self.with_reader(move |connection, _| identity::person_links_of(connection, &patient_ids)).await
    }

    pub async fn link_changes_after(
        &self,
        after_sequence: i64,
        limit: usize,
    ) -> Result<Vec<LinkChangeSeen>, StoreError> {
        self.with_reader(move |connection, _| identity::link_changes_after(connection, after_sequence, limit)).await
    }

    pub async fn link_sequence_before(&self, before_ms: i64) -> Result<i64, StoreError> {
        self.with_reader(move |connection, _| identity::link_sequence_before(connection, before_ms)).await
    }

    pub async fn decisions_since(&self, since_ms: i64) -> Result<Vec<Review>, StoreError> {
        self.with_reader(move |connection, _| identity::decisions_since(connection, since_ms)).await
    }

    pub async fn latest_model(&self) -> Result<Option<StoredModel>, StoreError> {
        self.with_reader(|connection, _| identity::latest_model(connection)).await
    }

    pub async fn reviews(
        &self,
        status: Option<ReviewStatus>,
        after_review_id: i64,
        limit: usize,
    ) -> Result<Vec<Review>, StoreError> {
        self.with_reader(move |connection, _| identity::reviews(connection, status, after_review_id, limit)).await
    }

    pub async fn review(&self, review_id: i64) -> Result<Option<Review>, StoreError> {
        self.with_reader(move |connection, _| identity::review(connection, review_id)).await
    }

    pub async fn link_history(&self, patient_id: &str) -> Result<Vec<LinkHistoryEntry>, StoreError> {
        let patient_id = patient_id.to_string();
        self.with_reader(move |connection, _| identity::link_history(connection, &patient_id)).await
    }

    pub async fn read(
        &self,
        resource_type: ResourceType,
        id: &ResourceId,
    ) -> Result<Option<StoredResource>, StoreError> {
        let id = id.clone();
        self.with_reader(move |connection, _| {
            let sql = format!(
                "SELECT {} FROM resource r JOIN resource_version v ON v.resource_key = r.resource_key AND \
                 v.version_id = r.version_id WHERE r.resource_type = ?1 AND r.resource_id = ?2",
                query::RESOURCE_COLUMNS
            );
            let mut statement = connection.prepare_cached(&sql)?;
            let row = statement.query_row((resource_type.as_str(), id.as_str()), row_to_stored).optional()?;
            row.transpose()
        })
        .await
    }

    pub async fn read_version(
        &self,
        resource_type: ResourceType,
        id: &ResourceId,
        version_id: i64,
    ) -> Result<Option<StoredResource>, StoreError> {
        let id = id.clone();
        self.with_reader(move |connection, _| {
            let sql = format!(
                "SELECT {} FROM resource r JOIN resource_version v ON v.resource_key = r.resource_key WHERE \
                 r.resource_type = ?1 AND r.resource_id = ?2 AND v.version_id = ?3 AND (v.patient_key IS NULL OR \
                 v.patient_key = r.patient_key)",
                query::RESOURCE_COLUMNS
            );
            let mut statement = connection.prepare_cached(&sql)?;
            let row =
                statement.query_row((resource_type.as_str(), id.as_str(), version_id), row_to_stored).optional()?;
            row.transpose()
        })
        .await
    }

    pub async fn history(&self, request: &HistoryRequest, filter: &RowFilter) -> Result<Page, StoreError> {
        let (request, filter) = (request.clone(), filter.clone());
        self.with_reader(move |connection, _| {
            let cursor = crate::paging::history_position(request.cursor.as_ref())?;
            let builder = query::compile_history(
                Dialect::Sqlite,
                &filter,
                request.resource_type,
                request.id.as_ref().map(ResourceId::as_str),
                request.since.map(|since| since.unix_ms),
                cursor,
                request.count + 1,
            );
            let rows = run_resource_query(connection, &builder.sql, &builder.values, 0)?;
            let (resources, next_cursor) = crate::paging::simple_page(rows, request.count, |last| Cursor {
                values: vec![
                    CursorValue::Int(last.last_updated.unix_ms),
                    CursorValue::Int(last.resource_key),
                    CursorValue::Int(last.version_id),
                ],
            });
            Ok(Page { resources, next_cursor })
        })
        .await
    }

    pub async fn search(
        &self,
        request: &SearchRequest,
        page: &PageRequest,
        filter: &RowFilter,
    ) -> Result<SearchOutcome, StoreError> {
        let (request, page, filter) = (request.clone(), page.clone(), filter.clone());
        self.with_reader(move |connection, params| search_blocking(connection, params, &request, &page, &filter)).await
    }

    pub async fn person_record_facts(
        &self,
        patient_ids: &[String],
        now_ms: i64,
    ) -> Result<PersonRecordFacts, StoreError> {
        let patient_ids = patient_ids.to_vec();
        self.with_reader(move |connection, params| {
            access::person_record_facts(connection, params, &patient_ids, now_ms)
        })
        .await
    }

    pub async fn grants(
        &self,
        filter: GrantFilter,
        after_grant_id: i64,
        limit: usize,
    ) -> Result<Vec<StoredGrant>, StoreError> {
        self.with_reader(move |connection, _| access::grants(connection, &filter, after_grant_id, limit)).await
    }

    pub async fn write_grant(&self, change: GrantChange, audit: AuditRecord) -> Result<StoredGrant, StoreError> {
        self.send_to_writer(|reply| writer::WriteJob::Grant { change, audit, reply }).await
    }

    pub async fn change_sign_in(
        &self,
        change: crate::sign_in::SignInChange,
    ) -> Result<crate::sign_in::SignInOutcome, StoreError> {
        self.send_to_writer(|reply| writer::WriteJob::SignIn { change, reply }).await
    }

    pub async fn change_subscriptions(
        &self,
        change: crate::SubscriptionChange,
    ) -> Result<crate::SubscriptionOutcome, StoreError> {
        self.send_to_writer(|reply| writer::WriteJob::Subscriptions { change, reply }).await
    }

    pub async fn subscriptions(&self, id: Option<&str>) -> Result<Vec<crate::StoredSubscription>, StoreError> {
        let id = id.map(str::to_string);
        self.with_reader(move |connection, _| subscriptions::subscriptions(connection, id.as_deref())).await
    }

    pub async fn subscriptions_fingerprint(&self) -> Result<(i64, i64, i64), StoreError> {
        self.with_reader(move |connection, _| {
            let mut statement = connection.prepare_cached(crate::subscriptions::FINGERPRINT_SQL)?;
            Ok(statement.query_row([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?)
        })
        .await
    }

    pub async fn event_outbox(&self, limit: usize) -> Result<Vec<crate::OutboxEvent>, StoreError> {
        self.with_reader(move |connection, _| subscriptions::outbox(connection, limit)).await
    }

    pub async fn subscription_events(
        &self,
        subscription_id: &str,
        range: crate::EventRange,
    ) -> Result<Vec<crate::SubscriptionEvent>, StoreError> {
        let subscription_id = subscription_id.to_string();
        self.with_reader(move |connection, _| subscriptions::events(connection, &subscription_id, range)).await
    }

    pub async fn subscriptions_with_undelivered(&self) -> Result<Vec<String>, StoreError> {
        self.with_reader(move |connection, _| subscriptions::with_undelivered(connection)).await
    }

    pub async fn sign_in_session(&self, session_id: &str) -> Result<Option<crate::StoredSession>, StoreError> {
        let session_id = session_id.to_string();
        self.with_reader(move |connection, _| sign_in::session(connection, &session_id)).await
    }

    pub async fn sign_in_item(&self, kind: &str, key: &str, now_ms: i64) -> Result<Option<String>, StoreError> {
        let (kind, key) = (kind.to_string(), key.to_string());
        self.with_reader(move |connection, _| sign_in::item(connection, &kind, &key, now_ms)).await
    }

    pub async fn count_sign_in_items(&self, kind: &str, group_id: &str, now_ms: i64) -> Result<i64, StoreError> {
        let (kind, group_id) = (kind.to_string(), group_id.to_string());
        self.with_reader(move |connection, _| sign_in::count_items(connection, &kind, &group_id, now_ms)).await
    }

    pub async fn everything(
        &self,
        request: &EverythingRequest,
        filter: &RowFilter,
    ) -> Result<EverythingOutcome, StoreError> {
        let (request, filter) = (request.clone(), filter.clone());
        self.with_reader(move |connection, _| {
            let mut patient_keys = Vec::new();
            for (position, id) in request.patient_ids.iter().enumerate() {
                let found: Option<(i64, i64, bool)> = connection
                    .prepare_cached(
                        "SELECT resource_key, version_id, deleted FROM resource WHERE resource_type = 'Patient' AND \
                         resource_id = ?1",
                    )?
                    .query_row([id.as_str()], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                    .optional()?;
                match found {
                    Some((_, _, true)) if position == 0 => return Ok(EverythingOutcome::PatientDeleted),
                    Some((key, version_id, false)) if version_id > 0 => patient_keys.push(key),
                    _ if position == 0 => return Ok(EverythingOutcome::PatientMissing),
                    _ => {}
                }
            }
            let after_key = crate::paging::everything_position(request.cursor.as_ref())?;
            let builder = query::compile_everything(
                Dialect::Sqlite,
                &filter,
                &patient_keys,
                request.since.map(|since| since.unix_ms),
                &request.types,
                after_key,
                request.count + 1,
            );
            let rows = run_resource_query(connection, &builder.sql, &builder.values, 0)?;
            let (resources, next_cursor) = crate::paging::simple_page(rows, request.count, |last| Cursor {
                values: vec![CursorValue::Int(last.resource_key)],
            });
            Ok(EverythingOutcome::Page(Page { resources, next_cursor }))
        })
        .await
    }
}

fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migration (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)",
    )?;
    for (version, statements) in schema::MIGRATIONS {
        // Looked for again under the write lock: another process opening the same store (`kmcr load status` beside a
        // load) may have applied it meanwhile.
        let transaction = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let applied: Option<i64> = transaction
            .query_row("SELECT version FROM schema_migration WHERE version = ?1", [version], |row| row.get(0))
            .optional()?;
        if applied.is_some() {
            continue;
        }
        transaction.execute_batch(&schema::render(
            statements,
            &schema::Spelling {
                key: "INTEGER PRIMARY KEY",
                bigint: "INTEGER",
                real: "REAL",
                boolean: "INTEGER",
                ctext: "TEXT",
                without_rowid: "WITHOUT ROWID",
            },
        ))?;
        transaction.execute(
            "INSERT INTO schema_migration (version, applied_ms) VALUES (?1, ?2)",
            (version, Instant::now().unix_ms),
        )?;
        transaction.commit()?;
        tracing::info!(version, "applied migration");
    }
    Ok(())
}

/// Gives every stored code of the registry (parameters and composite components) an id, keeping the ids already given.
fn register_params(connection: &mut Connection) -> Result<ParamIds, StoreError> {
    let registry = SearchParamRegistry::official_r4();
    let transaction = connection.transaction()?;
    {
        let mut insert = transaction
            .prepare("INSERT INTO search_param (resource_type, code) VALUES (?1, ?2) ON CONFLICT DO NOTHING")?;
        for resource_type in ResourceType::all() {
            for code in registry.stored_codes(resource_type) {
                insert.execute((resource_type.as_str(), code))?;
            }
        }
    }
    let mut params = ParamIds::default();
    {
        let mut select = transaction.prepare("SELECT param_id, resource_type, code FROM search_param")?;
        let rows = select
            .query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?)))?;
        for row in rows {
            let (param_id, resource_type, code) = row?;
            if let Ok(resource_type) = ResourceType::parse(&resource_type) {
                params.insert(resource_type, &code, param_id);
            }
        }
    }
    transaction.commit()?;
    Ok(params)
}

pub(crate) fn to_sql(value: &SqlValue) -> rusqlite::types::Value {
    match value {
        SqlValue::Int(int) => rusqlite::types::Value::Integer(*int),
        SqlValue::Real(real) => rusqlite::types::Value::Real(*real),
        SqlValue::Text(text) => rusqlite::types::Value::Text(text.clone()),
        SqlValue::IntList(_) | SqlValue::TextList(_) => unreachable!("lists are bound only for PostgreSQL"),
    }
}

/// Reads `RESOURCE_COLUMNS`; a row that does not parse means the database was changed behind the store's back.
fn row_to_stored(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<StoredResource, StoreError>> {
    let resource_type: String = row.get(1)?;
    let id: String = row.get(2)?;
    let source: Option<String> = row.get(6)?;
    let parsed =
        (ResourceType::parse(&resource_type), ResourceId::parse(&id), OdsCode::parse(source.as_deref().unwrap_or("")));
    let (Ok(resource_type), Ok(id), Ok(source_ods_code)) = parsed else {
        return Ok(Err(StoreError::Corrupt(format!("resource row {} does not parse", row.get::<_, i64>(0)?))));
    };
    Ok(Ok(StoredResource {
        resource_key: row.get(0)?,
        resource_type,
        id,
        version_id: row.get(3)?,
        last_updated: Instant::from_unix_ms(row.get(4)?),
        deleted: row.get(5)?,
        source_ods_code,
        json: row.get(7)?,
        sensitivity: row.get(8)?,
        patient_id: row.get::<_, Option<String>>(9)?.and_then(|id| ResourceId::parse(&id).ok()),
    }))
}

/// Runs a query selecting `RESOURCE_COLUMNS` then `n_extra` sort values, returned with each resource.
fn run_resource_query(
    connection: &Connection,
    sql: &str,
    values: &[SqlValue],
    n_extra: usize,
) -> Result<Vec<(StoredResource, Vec<CursorValue>)>, StoreError> {
    let mut statement = connection.prepare_cached(sql)?;
    let mut rows = statement.query(params_from_iter(values.iter().map(to_sql)))?;
    let mut resources = Vec::new();
    while let Some(row) = rows.next()? {
        let resource = row_to_stored(row)??;
        let mut extra = Vec::with_capacity(n_extra);
        for column_idx in query::N_RESOURCE_COLUMNS..query::N_RESOURCE_COLUMNS + n_extra {
            extra.push(match row.get_ref(column_idx)? {
                rusqlite::types::ValueRef::Integer(int) => CursorValue::Int(int),
                rusqlite::types::ValueRef::Real(real) => CursorValue::Real(real),
                rusqlite::types::ValueRef::Text(text) => CursorValue::Text(String::from_utf8_lossy(text).into_owned()),
                _ => CursorValue::Int(0),
            });
        }
        resources.push((resource, extra));
    }
    Ok(resources)
}

fn search_blocking(
    connection: &Connection,
    params: &ParamIds,
    request: &SearchRequest,
    page: &PageRequest,
    filter: &RowFilter,
) -> Result<SearchOutcome, StoreError> {
    let total = if page.want_total || page.count == 0 {
        let builder = query::compile_count(Dialect::Sqlite, params, request, filter)?;
        let mut statement = connection.prepare_cached(&builder.sql)?;
        let count: i64 = statement.query_row(params_from_iter(builder.values.iter().map(to_sql)), |row| row.get(0))?;
        Some(count as u64)
    } else {
        None
    };
    if page.count == 0 {
        return Ok(SearchOutcome { matches: Vec::new(), included: Vec::new(), total, next_cursor: None });
    }
    let compiled =
        query::compile_search(Dialect::Sqlite, params, request, filter, page.cursor.as_ref(), page.count + 1)?;
    let rows =
        run_resource_query(connection, &compiled.builder.sql, &compiled.builder.values, compiled.n_sort_columns)?;
    let (matches, next_cursor, total) = crate::paging::search_page(rows, page, total);
    let included = includes_blocking(connection, params, request, &matches, filter)?;
    Ok(SearchOutcome { matches, included, total, next_cursor })
}

/// `_include` and `_revinclude`, with `:iterate` followed for up to `MAX_INCLUDE_ROUNDS` rounds.
fn includes_blocking(
    connection: &Connection,
    params: &ParamIds,
    request: &SearchRequest,
    matches: &[StoredResource],
    filter: &RowFilter,
) -> Result<Vec<StoredResource>, StoreError> {
    let mut plan = crate::include::IncludePlan::new(request, matches);
    while let Some(step) = plan.next_step(params)? {
        let builder = query::compile_include(Dialect::Sqlite, &step.source_keys, step.param_id, step.reverse);
        let keys = {
            let mut statement = connection.prepare_cached(&builder.sql)?;
            let rows =
                statement.query_map(params_from_iter(builder.values.iter().map(to_sql)), |row| row.get::<_, i64>(0))?;
            rows.collect::<Result<Vec<i64>, _>>()?
        };
        let keys = plan.new_keys(keys);
        if keys.is_empty() {
            continue;
        }
        let builder = query::compile_by_keys(Dialect::Sqlite, filter, &keys, step.target_type);
        let found = run_resource_query(connection, &builder.sql, &builder.values, 0)?;
        plan.add(found.into_iter().map(|(resource, _)| resource));
    }
    Ok(plan.finish())
}
