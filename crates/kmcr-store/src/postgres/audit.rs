//! The audit chain on PostgreSQL: appends under one lock shared by every node (each group of entries, and its
//! searchable rows, written with one `unnest` statement per table), the group commit of reads' entries, reads of the
//! chain, the head for checkpoints, the IG queries, and the indexing of entries older than migration 9.

use deadpool_postgres::Transaction;
use kmcr_audit::{AuditRecord, ChainedAuditEntry, GENESIS_HASH, StoredAuditEntry};

use super::PostgresStore;
use crate::StoreError;
use crate::audit::{AuditQuery, BREAK_GLASS_FLAG, SEALED_ITEMS_SHOWN_FLAG, SearchRows, WALK_PAGE_SIZE};

/// Serialises appends to the audit chain across every node.
const AUDIT_LOCK_ID: i64 = 0x4b4d_4352_0002;

const ENTRY_COLUMNS: &str = "e.sequence, e.record, e.previous_hash, e.hash";

pub(super) type PendingAudit = (AuditRecord, tokio::sync::oneshot::Sender<Result<ChainedAuditEntry, StoreError>>);

/// The audit entries of reads, committed in groups: everything waiting goes into one transaction under one lock, and
/// each request is answered once its entry is durable. One commit serves many concurrent reads.
pub(super) async fn audit_loop(
    pool: deadpool_postgres::Pool,
    mut queue: tokio::sync::mpsc::UnboundedReceiver<PendingAudit>,
) {
    const MAX_ENTRIES_PER_COMMIT: usize = 256;
    while let Some(first) = queue.recv().await {
        let mut pending = vec![first];
        while pending.len() < MAX_ENTRIES_PER_COMMIT {
            match queue.try_recv() {
                Ok(next) => pending.push(next),
                Err(_) => break,
            }
        }
        let (records, replies): (Vec<AuditRecord>, Vec<_>) = pending.into_iter().unzip();
        let result = async {
            let mut client = pool.get().await?;
            let transaction = client.transaction().await?;
            let entries = append_audits(&transaction, records).await?;
            transaction.commit().await?;
            Ok::<_, StoreError>(entries)
        }
        .await;
        match result {
            Ok(entries) => {
                for (reply, entry) in replies.into_iter().zip(entries) {
                    let _ = reply.send(Ok(entry));
                }
            }
            Err(error) => {
                for reply in replies {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }
}

/// Appends to the chain inside the caller's transaction, holding a lock so that appends from all nodes are serial.
pub async fn append_audit(transaction: &Transaction<'_>, record: AuditRecord) -> Result<ChainedAuditEntry, StoreError> {
    let mut entries = append_audits(transaction, vec![record]).await?;
    Ok(entries.remove(0))
}

/// Appends records in order, each chained to the one before, under one lock.
pub async fn append_audits(
    transaction: &Transaction<'_>,
    records: Vec<AuditRecord>,
) -> Result<Vec<ChainedAuditEntry>, StoreError> {
    // Prepared once per connection: each statement then costs one round trip, not two.
    let lock = transaction.prepare_cached("SELECT pg_advisory_xact_lock($1)").await?;
    transaction.execute(&lock, &[&AUDIT_LOCK_ID]).await?;
    let head =
        transaction.prepare_cached("SELECT sequence, hash FROM audit_entry ORDER BY sequence DESC LIMIT 1").await?;
    let last = transaction.query_opt(&head, &[]).await?;
    let (mut sequence, mut previous_hash) = match last {
        Some(row) => (row.get::<_, i64>(0) + 1, row.get::<_, String>(1)),
        None => (1, GENESIS_HASH.to_string()),
    };
    let mut entries = Vec::with_capacity(records.len());
    let mut columns = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for record in records {
        let entry = kmcr_audit::chain(sequence, record, &previous_hash);
        columns.0.push(entry.sequence);
        columns.1.push(entry.record.recorded_unix_ms);
        columns.2.push(serde_json::to_string(&entry.record).expect("an audit record always serialises"));
        columns.3.push(entry.previous_hash.clone());
        columns.4.push(entry.hash.clone());
        sequence += 1;
        previous_hash.clone_from(&entry.hash);
        entries.push(entry);
    }
    let insert = transaction
        .prepare_cached(
            "INSERT INTO audit_entry (sequence, recorded_ms, record, previous_hash, hash) SELECT * FROM \
             unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[])",
        )
        .await?;
    transaction.execute(&insert, &[&columns.0, &columns.1, &columns.2, &columns.3, &columns.4]).await?;
    insert_search_rows(transaction, &entries).await?;
    Ok(entries)
}

async fn insert_search_rows(transaction: &Transaction<'_>, entries: &[ChainedAuditEntry]) -> Result<(), StoreError> {
    let mut rows = SearchRows::default();
    for entry in entries {
        rows.add(entry);
    }
    if !rows.subjects.0.is_empty() {
        let statement = transaction
            .prepare_cached(
                "INSERT INTO audit_by_subject (subject, sequence) SELECT * FROM unnest($1::text[], $2::bigint[]) ON \
                 CONFLICT DO NOTHING",
            )
            .await?;
        transaction.execute(&statement, &[&rows.subjects.0, &rows.subjects.1]).await?;
    }
    if !rows.actors.0.is_empty() {
        let statement = transaction
            .prepare_cached(
                "INSERT INTO audit_by_actor (actor_id, sequence, recorded_ms) SELECT * FROM unnest($1::text[], \
                 $2::bigint[], $3::bigint[]) ON CONFLICT DO NOTHING",
            )
            .await?;
        transaction.execute(&statement, &[&rows.actors.0, &rows.actors.1, &rows.actors.2]).await?;
    }
    if !rows.flags.0.is_empty() {
        let statement = transaction
            .prepare_cached(
                "INSERT INTO audit_flag (flag, sequence) SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT \
                 DO NOTHING",
            )
            .await?;
        transaction.execute(&statement, &[&rows.flags.0, &rows.flags.1]).await?;
    }
    Ok(())
}

/// Gives the entries written before migration 9 their searchable rows, a page per transaction, then forgets the
/// backfill. Nodes starting together take turns on the audit lock; the first does the work.
pub async fn backfill_search(client: &mut deadpool_postgres::Object) -> Result<(), StoreError> {
    loop {
        let transaction = client.transaction().await?;
        transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK_ID]).await?;
        let Some(row) = transaction.query_opt("SELECT through_sequence FROM audit_search_backfill", &[]).await? else {
            return Ok(());
        };
        let through: i64 = row.get(0);
        let done_through: i64 = transaction
            .query_one("SELECT COALESCE(MAX(sequence), 0) FROM audit_by_actor WHERE sequence <= $1", &[&through])
            .await?
            .get(0);
        let page: Vec<ChainedAuditEntry> = read_stored_entries(&*transaction, done_through, WALK_PAGE_SIZE)
            .await?
            .iter()
            .filter(|entry| entry.sequence <= through)
            .map(parse_entry)
            .collect::<Result<_, _>>()?;
        if page.is_empty() {
            transaction.execute("DELETE FROM audit_search_backfill", &[]).await?;
            transaction.commit().await?;
            tracing::info!(through, "audit entries indexed for search");
            return Ok(());
        }
        insert_search_rows(&transaction, &page).await?;
        transaction.commit().await?;
    }
}

async fn read_stored_entries(
    client: &impl tokio_postgres::GenericClient,
    after_sequence: i64,
    limit: usize,
) -> Result<Vec<StoredAuditEntry>, StoreError> {
    let rows = client
        .query(
            &format!("SELECT {ENTRY_COLUMNS} FROM audit_entry e WHERE e.sequence > $1 ORDER BY e.sequence LIMIT $2"),
            &[&after_sequence, &(limit as i64)],
        )
        .await?;
    Ok(rows.iter().map(stored_entry).collect())
}

fn stored_entry(row: &tokio_postgres::Row) -> StoredAuditEntry {
    StoredAuditEntry { sequence: row.get(0), record_json: row.get(1), previous_hash: row.get(2), hash: row.get(3) }
}

fn parse_entry(stored: &StoredAuditEntry) -> Result<ChainedAuditEntry, StoreError> {
    stored.parse().map_err(|_| StoreError::Corrupt(format!("audit entry {} does not parse", stored.sequence)))
}

impl PostgresStore {
    pub async fn append_audit(&self, record: AuditRecord) -> Result<ChainedAuditEntry, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let stopped = || StoreError::Unavailable("the audit writer has stopped".into());
        self.audit_queue.send((record, reply)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    pub async fn audit_entries(&self, after_sequence: i64, limit: usize) -> Result<Vec<ChainedAuditEntry>, StoreError> {
        self.stored_audit_entries(after_sequence, limit).await?.iter().map(parse_entry).collect()
    }

    pub async fn stored_audit_entries(
        &self,
        after_sequence: i64,
        limit: usize,
    ) -> Result<Vec<StoredAuditEntry>, StoreError> {
        let client = self.pool.get().await?;
        read_stored_entries(&**client, after_sequence, limit).await
    }

    /// The last entry's sequence and hash. A commit is visible only once it is durable, so the head read is on disk.
    pub async fn audit_head(&self) -> Result<Option<(i64, String)>, StoreError> {
        let client = self.pool.get().await?;
        let row =
            client.query_opt("SELECT sequence, hash FROM audit_entry ORDER BY sequence DESC LIMIT 1", &[]).await?;
        Ok(row.map(|row| (row.get(0), row.get(1))))
    }

    pub async fn durable_audit_head(&self) -> Result<Option<(i64, String)>, StoreError> {
        self.audit_head().await
    }

    pub async fn audit_sequence_recorded_since(&self, since_ms: i64) -> Result<Option<i64>, StoreError> {
        let client = self.pool.get().await?;
        let row =
            client.query_one("SELECT MIN(sequence) FROM audit_entry WHERE recorded_ms >= $1", &[&since_ms]).await?;
        Ok(row.get(0))
    }

    pub async fn audit_search(
        &self,
        query: &AuditQuery,
        after_sequence: i64,
        limit: usize,
    ) -> Result<Vec<ChainedAuditEntry>, StoreError> {
        let client = self.pool.get().await?;
        let limit = limit as i64;
        let by_flag = |flag: &str| {
            format!(
                "SELECT {ENTRY_COLUMNS} FROM audit_flag f JOIN audit_entry e ON e.sequence = f.sequence WHERE f.flag = \
                 '{flag}' AND f.sequence > $1 ORDER BY f.sequence LIMIT $2"
            )
        };
        let rows = match query {
            AuditQuery::Subject(subject) => {
                let sql = format!(
                    "SELECT {ENTRY_COLUMNS} FROM audit_by_subject s JOIN audit_entry e ON e.sequence = s.sequence \
                     WHERE s.subject = $1 AND s.sequence > $2 ORDER BY s.sequence LIMIT $3"
                );
                client.query(&sql, &[subject, &after_sequence, &limit]).await?
            }
            AuditQuery::Actor { actor_id, since_ms, until_ms } => {
                let sql = format!(
                    "SELECT {ENTRY_COLUMNS} FROM audit_by_actor a JOIN audit_entry e ON e.sequence = a.sequence \
                     WHERE a.actor_id = $1 AND a.sequence > $2 AND a.recorded_ms >= $3 AND a.recorded_ms < $4 ORDER \
                     BY a.sequence LIMIT $5"
                );
                let (since_ms, until_ms) = (since_ms.unwrap_or(i64::MIN), until_ms.unwrap_or(i64::MAX));
                client.query(&sql, &[actor_id, &after_sequence, &since_ms, &until_ms, &limit]).await?
            }
            AuditQuery::BreakGlass => client.query(&by_flag(BREAK_GLASS_FLAG), &[&after_sequence, &limit]).await?,
            AuditQuery::SealedItemsShown => {
                client.query(&by_flag(SEALED_ITEMS_SHOWN_FLAG), &[&after_sequence, &limit]).await?
            }
            // `+ 0` keeps the time index out of the plan: the page is read in sequence order from `after_sequence`.
            AuditQuery::RecordedSince(since_ms) => {
                let sql = format!(
                    "SELECT {ENTRY_COLUMNS} FROM audit_entry e WHERE e.sequence > $1 AND e.recorded_ms + 0 >= $2 \
                     ORDER BY e.sequence LIMIT $3"
                );
                client.query(&sql, &[&after_sequence, since_ms, &limit]).await?
            }
        };
        rows.iter().map(|row| parse_entry(&stored_entry(row))).collect()
    }
}
