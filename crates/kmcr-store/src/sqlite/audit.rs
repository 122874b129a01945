//! The audit chain on SQLite: appends (inside the writer's transaction, with their searchable rows), reads of the
//! chain, the durable head for checkpoints, the IG queries, and the indexing of entries older than migration 9.

use kmcr_audit::{AuditRecord, ChainedAuditEntry, GENESIS_HASH, StoredAuditEntry};
use rusqlite::{Connection, OptionalExtension};

use super::{SqliteStore, writer};
use crate::StoreError;
use crate::audit::{AuditQuery, BREAK_GLASS_FLAG, SEALED_ITEMS_SHOWN_FLAG, WALK_PAGE_SIZE, flags};

const ENTRY_COLUMNS: &str = "e.sequence, e.record, e.previous_hash, e.hash";

/// Appends to the chain inside the caller's transaction; the writer thread serialises appends.
pub fn append_audit(transaction: &Connection, record: AuditRecord) -> Result<ChainedAuditEntry, StoreError> {
    let last: Option<(i64, String)> = transaction
        .prepare_cached("SELECT sequence, hash FROM audit_entry ORDER BY sequence DESC LIMIT 1")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let (sequence, previous_hash) = match last {
        Some((sequence, hash)) => (sequence + 1, hash),
        None => (1, GENESIS_HASH.to_string()),
    };
    let entry = kmcr_audit::chain(sequence, record, &previous_hash);
    let record_json = serde_json::to_string(&entry.record).expect("an audit record always serialises");
    transaction
        .prepare_cached(
            "INSERT INTO audit_entry (sequence, recorded_ms, record, previous_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute((entry.sequence, entry.record.recorded_unix_ms, record_json, &entry.previous_hash, &entry.hash))?;
    insert_search_rows(transaction, &entry)?;
    Ok(entry)
}

fn insert_search_rows(transaction: &Connection, entry: &ChainedAuditEntry) -> Result<(), StoreError> {
    let mut subject_insert =
        transaction.prepare_cached("INSERT OR IGNORE INTO audit_by_subject (subject, sequence) VALUES (?1, ?2)")?;
    for subject in entry.record.subjects() {
        subject_insert.execute((subject, entry.sequence))?;
    }
    transaction
        .prepare_cached("INSERT OR IGNORE INTO audit_by_actor (actor_id, sequence, recorded_ms) VALUES (?1, ?2, ?3)")?
        .execute((&entry.record.actor_id, entry.sequence, entry.record.recorded_unix_ms))?;
    let mut flag_insert =
        transaction.prepare_cached("INSERT OR IGNORE INTO audit_flag (flag, sequence) VALUES (?1, ?2)")?;
    for flag in flags(entry) {
        flag_insert.execute((flag, entry.sequence))?;
    }
    Ok(())
}

/// Gives the entries written before migration 9 their searchable rows, a page per transaction, then forgets the
/// backfill. Runs at open, before the writer starts.
pub fn backfill_search(connection: &mut Connection) -> Result<(), StoreError> {
    let through: Option<i64> =
        connection.query_row("SELECT through_sequence FROM audit_search_backfill", [], |row| row.get(0)).optional()?;
    let Some(through) = through else { return Ok(()) };
    let mut after = 0;
    while after < through {
        let transaction = connection.transaction()?;
        let page = read_entries(&transaction, after, WALK_PAGE_SIZE)?;
        let Some(last) = page.last() else { break };
        after = last.sequence;
        for entry in page.iter().filter(|entry| entry.sequence <= through) {
            insert_search_rows(&transaction, entry)?;
        }
        transaction.commit()?;
    }
    connection.execute("DELETE FROM audit_search_backfill", [])?;
    tracing::info!(through, "audit entries indexed for search");
    Ok(())
}

fn read_entries(
    connection: &Connection,
    after_sequence: i64,
    limit: usize,
) -> Result<Vec<ChainedAuditEntry>, StoreError> {
    read_stored_entries(connection, after_sequence, limit)?.iter().map(parse_entry).collect()
}

fn read_stored_entries(
    connection: &Connection,
    after_sequence: i64,
    limit: usize,
) -> Result<Vec<StoredAuditEntry>, StoreError> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM audit_entry e WHERE e.sequence > ?1 ORDER BY e.sequence LIMIT ?2"
    ))?;
    let rows = statement.query_map((after_sequence, limit as i64), stored_entry)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn stored_entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredAuditEntry> {
    Ok(StoredAuditEntry {
        sequence: row.get(0)?,
        record_json: row.get(1)?,
        previous_hash: row.get(2)?,
        hash: row.get(3)?,
    })
}

fn parse_entry(stored: &StoredAuditEntry) -> Result<ChainedAuditEntry, StoreError> {
    stored.parse().map_err(|_| StoreError::Corrupt(format!("audit entry {} does not parse", stored.sequence)))
}

/// Syncs the WAL (or, once a checkpoint has emptied it, the database file): whatever a reader saw committed is then
/// on disk, even a commit whose writer the syncer has not answered yet.
fn sync_to_disk(database_path: &std::path::Path) -> Result<(), StoreError> {
    let mut wal_path = database_path.as_os_str().to_owned();
    wal_path.push("-wal");
    let synced = match std::fs::File::open(&wal_path) {
        Ok(wal) => wal.sync_data(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            std::fs::File::open(database_path).and_then(|database| database.sync_data())
        }
        Err(error) => Err(error),
    };
    synced.map_err(|error| StoreError::Unavailable(format!("the audit head could not be made durable: {error}")))
}

fn read_head(connection: &Connection) -> Result<Option<(i64, String)>, StoreError> {
    Ok(connection
        .prepare_cached("SELECT sequence, hash FROM audit_entry ORDER BY sequence DESC LIMIT 1")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?)
}

impl SqliteStore {
    pub async fn append_audit(&self, record: AuditRecord) -> Result<ChainedAuditEntry, StoreError> {
        self.send_to_writer(|reply| writer::WriteJob::Audit { record, reply }).await
    }

    pub async fn audit_entries(&self, after_sequence: i64, limit: usize) -> Result<Vec<ChainedAuditEntry>, StoreError> {
        self.with_reader(move |connection, _| read_entries(connection, after_sequence, limit)).await
    }

    pub async fn stored_audit_entries(
        &self,
        after_sequence: i64,
        limit: usize,
    ) -> Result<Vec<StoredAuditEntry>, StoreError> {
        self.with_reader(move |connection, _| read_stored_entries(connection, after_sequence, limit)).await
    }

    /// The last entry's sequence and hash, as committed (perhaps not yet on disk).
    pub async fn audit_head(&self) -> Result<Option<(i64, String)>, StoreError> {
        self.with_reader(|connection, _| read_head(connection)).await
    }

    /// The last entry's sequence and hash, once on disk: read, then the WAL synced.
    pub async fn durable_audit_head(&self) -> Result<Option<(i64, String)>, StoreError> {
        let path = self.inner.path.clone();
        self.with_reader(move |connection, _| {
            let head = read_head(connection)?;
            if head.is_some() {
                sync_to_disk(&path)?;
            }
            Ok(head)
        })
        .await
    }

    pub async fn audit_sequence_recorded_since(&self, since_ms: i64) -> Result<Option<i64>, StoreError> {
        self.with_reader(move |connection, _| {
            let first = connection
                .prepare_cached("SELECT MIN(sequence) FROM audit_entry WHERE recorded_ms >= ?1")?
                .query_row([since_ms], |row| row.get(0))?;
            Ok(first)
        })
        .await
    }

    pub async fn audit_search(
        &self,
        query: &AuditQuery,
        after_sequence: i64,
        limit: usize,
    ) -> Result<Vec<ChainedAuditEntry>, StoreError> {
        let query = query.clone();
        let limit = limit as i64;
        self.with_reader(move |connection, _| {
            let by_flag = |flag: &str| {
                format!(
                    "SELECT {ENTRY_COLUMNS} FROM audit_flag f JOIN audit_entry e ON e.sequence = f.sequence WHERE \
                     f.flag = '{flag}' AND f.sequence > ?1 ORDER BY f.sequence LIMIT ?2"
                )
            };
            let stored: Vec<StoredAuditEntry> = match &query {
                AuditQuery::Subject(subject) => connection
                    .prepare_cached(&format!(
                        "SELECT {ENTRY_COLUMNS} FROM audit_by_subject s JOIN audit_entry e ON e.sequence = s.sequence \
                         WHERE s.subject = ?1 AND s.sequence > ?2 ORDER BY s.sequence LIMIT ?3"
                    ))?
                    .query_map((subject, after_sequence, limit), stored_entry)?
                    .collect::<Result<_, _>>()?,
                AuditQuery::Actor { actor_id, since_ms, until_ms } => connection
                    .prepare_cached(&format!(
                        "SELECT {ENTRY_COLUMNS} FROM audit_by_actor a JOIN audit_entry e ON e.sequence = a.sequence \
                         WHERE a.actor_id = ?1 AND a.sequence > ?2 AND a.recorded_ms >= ?3 AND a.recorded_ms < ?4 \
                         ORDER BY a.sequence LIMIT ?5"
                    ))?
                    .query_map(
                        (actor_id, after_sequence, since_ms.unwrap_or(i64::MIN), until_ms.unwrap_or(i64::MAX), limit),
                        stored_entry,
                    )?
                    .collect::<Result<_, _>>()?,
                AuditQuery::BreakGlass => connection
                    .prepare_cached(&by_flag(BREAK_GLASS_FLAG))?
                    .query_map((after_sequence, limit), stored_entry)?
                    .collect::<Result<_, _>>()?,
                AuditQuery::SealedItemsShown => connection
                    .prepare_cached(&by_flag(SEALED_ITEMS_SHOWN_FLAG))?
                    .query_map((after_sequence, limit), stored_entry)?
                    .collect::<Result<_, _>>()?,
                // `+` keeps SQLite from taking the time index: the page is read in sequence order from `after_sequence`.
                AuditQuery::RecordedSince(since_ms) => connection
                    .prepare_cached(&format!(
                        "SELECT {ENTRY_COLUMNS} FROM audit_entry e WHERE e.sequence > ?1 AND +e.recorded_ms >= ?2 \
                         ORDER BY e.sequence LIMIT ?3"
                    ))?
                    .query_map((after_sequence, since_ms, limit), stored_entry)?
                    .collect::<Result<_, _>>()?,
            };
            stored.iter().map(parse_entry).collect()
        })
        .await
    }
}
