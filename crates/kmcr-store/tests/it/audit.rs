//! The audit chain beyond its links: signed checkpoints catch rewriting and truncation done with raw SQL, the IG
//! queries find entries by person, actor, break-glass and sealed items, and old entries are indexed at open.

use std::sync::Arc;
use std::time::Duration;

use kmcr_audit::{
    AuditFault, AuditRecord, CheckpointPolicy, CheckpointSigningKey, CheckpointSink, GENESIS_HASH,
    MemoryCheckpointSink, entry_hash_of_json,
};
use kmcr_store::{AuditQuery, FileCheckpointSink, Store, StoreOptions};

use crate::backends::{TempDirectory, TestStore, stores};

fn key() -> CheckpointSigningKey {
    CheckpointSigningKey::from_seed([42; 32])
}

fn record(n: i64) -> AuditRecord {
    let mut record = AuditRecord::new("user", &format!("reader-{}", n % 3), "RVV", "read", &format!("request-{n}"));
    record.recorded_unix_ms = 1_700_000_000_000 + n * 1_000;
    record.persons = vec![format!("Person/p{}", n % 4)];
    record.patients = vec![format!("Patient/{}", n % 5)];
    record.resources = vec![format!("Patient/{}", n % 5)];
    record.outcome = "permitted".into();
    record
}

/// Runs SQL on the store's database behind its back, as someone with database access could.
async fn tamper(test: &TestStore, sql: &str) {
    if test.name == "sqlite" {
        let connection = rusqlite::Connection::open(std::path::Path::new(&test.location).join("kmcr.db")).unwrap();
        connection.busy_timeout(Duration::from_secs(10)).unwrap();
        connection.execute_batch(sql).unwrap();
    } else {
        let (client, connection) = tokio_postgres::connect(&test.location, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client.batch_execute(sql).await.unwrap();
    }
}

/// A chain of 30 entries with checkpoints signed at 10, 20 and 30.
async fn checkpointed_chain(store: &Store) -> Arc<dyn CheckpointSink> {
    let sink: Arc<dyn CheckpointSink> = Arc::new(MemoryCheckpointSink::default());
    for n in 1..=30 {
        store.append_audit(record(n)).await.unwrap();
        if n % 10 == 0 {
            let checkpoint = store.checkpoint_audit_head(&key(), &sink, 0).await.unwrap().unwrap();
            assert_eq!(checkpoint.sequence, n);
        }
    }
    sink
}

async fn verify(store: &Store, sink: &Arc<dyn CheckpointSink>) -> Result<i64, AuditFault> {
    let checkpoints = sink.checkpoints().unwrap();
    // Small pages, so that faults are found across page boundaries too.
    store
        .verify_audit(checkpoints, vec![key().verifying_key()], 7)
        .await
        .unwrap()
        .map(|verified| verified.last_sequence)
}

/// Each kind of tampering, on a fresh chain of each backend, and the fault verification must name.
async fn check_tampering(sql: &str, expected: AuditFault) {
    for test in stores().await {
        let sink = checkpointed_chain(&test.store).await;
        assert_eq!(verify(&test.store, &sink).await, Ok(30), "{}: intact before tampering", test.name);
        tamper(&test, sql).await;
        assert_eq!(verify(&test.store, &sink).await, Err(expected.clone()), "{}: {sql}", test.name);
    }
}

#[tokio::test]
async fn an_updated_record_is_named_altered() {
    let sql = "UPDATE audit_entry SET record = replace(record, 'reader-2', 'reader-9') WHERE sequence = 5";
    check_tampering(sql, AuditFault::Altered { sequence: 5 }).await;
}

#[tokio::test]
async fn a_relinked_entry_is_named_broken() {
    let sql = format!("UPDATE audit_entry SET previous_hash = '{GENESIS_HASH}' WHERE sequence = 8");
    check_tampering(&sql, AuditFault::BrokenLink { sequence: 8 }).await;
}

#[tokio::test]
async fn a_deleted_middle_entry_is_named_a_gap() {
    let sql = "DELETE FROM audit_entry WHERE sequence = 12";
    check_tampering(sql, AuditFault::Gap { expected_sequence: 12, found_sequence: 13 }).await;
}

#[tokio::test]
async fn a_deleted_tail_is_named_truncated_after_the_last_checkpoint() {
    let sql = "DELETE FROM audit_entry WHERE sequence > 25";
    check_tampering(sql, AuditFault::TruncatedAfterCheckpoint { checkpoint_sequence: 30, last_sequence: 25 }).await;
}

#[tokio::test]
async fn a_chain_rewritten_with_every_hash_recomputed_is_named_rewritten() {
    for test in stores().await {
        let sink = checkpointed_chain(&test.store).await;
        // From entry 15 on: the actor changed and every hash recomputed, so the chain alone is consistent.
        let entries = test.store.stored_audit_entries(0, 100).await.unwrap();
        let mut previous_hash = entries[13].hash.clone();
        let mut sql = String::new();
        for entry in &entries[14..] {
            let record_json = entry.record_json.replace("reader-", "someone-");
            let hash = entry_hash_of_json(entry.sequence, &previous_hash, record_json.as_bytes());
            sql.push_str(&format!(
                "UPDATE audit_entry SET record = '{record_json}', previous_hash = '{previous_hash}', hash = '{hash}' \
                 WHERE sequence = {};\n",
                entry.sequence
            ));
            previous_hash = hash;
        }
        tamper(&test, &sql).await;
        let chain_alone = test.store.verify_audit(Vec::new(), Vec::new(), 7).await.unwrap();
        assert_eq!(
            chain_alone.map(|verified| verified.last_sequence),
            Ok(30),
            "{}: the chain alone is fooled",
            test.name
        );
        assert_eq!(
            verify(&test.store, &sink).await,
            Err(AuditFault::Rewritten { checkpoint_sequence: 20, since_checkpoint: Some(10) }),
            "{}",
            test.name
        );
    }
}

#[tokio::test]
async fn a_checkpoint_not_signed_by_the_key_is_named_bad_signature() {
    for test in stores().await {
        let sink = checkpointed_chain(&test.store).await;
        let mut checkpoints = sink.checkpoints().unwrap();
        // A checkpoint made with another key but claiming ours, as someone covering a rewrite would try.
        let entries = test.store.stored_audit_entries(0, 100).await.unwrap();
        let mut forged = CheckpointSigningKey::from_seed([1; 32]).sign(15, &entries[14].hash, 0);
        forged.key_id = key().verifying_key().key_id();
        checkpoints.push(forged);
        let verified = test.store.verify_audit(checkpoints, vec![key().verifying_key()], 7).await.unwrap();
        assert_eq!(
            verified.map(|verified| verified.last_sequence),
            Err(AuditFault::BadCheckpointSignature { checkpoint_sequence: 15 })
        );
    }
}

#[tokio::test]
async fn the_checkpoint_task_signs_every_n_entries_into_a_file() {
    for test in stores().await {
        let directory = TempDirectory::new();
        std::fs::create_dir_all(&directory.0).unwrap();
        let path = directory.0.join("checkpoints.jsonl");
        let sink: Arc<dyn CheckpointSink> = Arc::new(FileCheckpointSink::open(&path).unwrap());
        let policy = CheckpointPolicy { every_n_entries: 5, every_interval: Duration::from_secs(3600) };
        let task = test.store.start_audit_checkpoints(key(), sink.clone(), policy).await.unwrap();
        for n in 1..=12 {
            test.store.append_audit(record(n)).await.unwrap();
        }
        // Every entry was durable when appended; the task signs once it sees 5 or more new ones.
        let mut waited = 0;
        let checkpoints = loop {
            let checkpoints = FileCheckpointSink::read(&path).unwrap();
            if checkpoints.last().is_some_and(|checkpoint| checkpoint.sequence >= 10) || waited > 100 {
                break checkpoints;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            waited += 1;
        };
        drop(task);
        assert!(checkpoints.last().unwrap().sequence >= 10, "{}: {checkpoints:?}", test.name);
        assert!(checkpoints.windows(2).all(|pair| pair[1].sequence - pair[0].sequence >= 5), "{}", test.name);
        let verified = test.store.verify_audit(checkpoints.clone(), vec![key().verifying_key()], 100).await.unwrap();
        let verified = verified.unwrap();
        assert_eq!((verified.last_sequence, verified.n_checkpoints), (12, checkpoints.len()), "{}", test.name);
    }
}

#[tokio::test]
async fn key_files_round_trip_and_refuse_to_overwrite() {
    let directory = TempDirectory::new();
    std::fs::create_dir_all(&directory.0).unwrap();
    let secret_path = directory.0.join("audit-checkpoint.key");
    let public_path = kmcr_store::write_checkpoint_key_files(&secret_path, &key()).unwrap();
    let secret = kmcr_store::read_checkpoint_key_file(&secret_path).unwrap();
    let public = kmcr_store::read_checkpoint_key_file(&public_path).unwrap();
    assert!(matches!(secret, kmcr_store::CheckpointKeyFile::Secret(_)));
    assert!(matches!(public, kmcr_store::CheckpointKeyFile::Public(_)));
    assert_eq!(secret.verifying_key(), key().verifying_key());
    assert_eq!(public.verifying_key(), key().verifying_key());
    assert!(kmcr_store::write_checkpoint_key_files(&secret_path, &key()).is_err());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&secret_path).unwrap().permissions().mode() & 0o777, 0o600);
    }
}

fn sequences(entries: &[kmcr_audit::ChainedAuditEntry]) -> Vec<i64> {
    entries.iter().map(|entry| entry.sequence).collect()
}

/// Every page of a query, `page_size` at a time, as the sequences found.
async fn all_pages(store: &Store, query: &AuditQuery, after: i64, page_size: usize) -> Vec<i64> {
    let (mut found, mut after) = (Vec::new(), after);
    loop {
        let page = store.audit_search(query, after, page_size).await.unwrap();
        let Some(last) = page.last() else { return found };
        after = last.sequence;
        found.extend(sequences(&page));
    }
}

/// Twelve entries (1..=12): persons p0..p3 and patients 0..4 by turns; readers 0..2 by turns; 4 and 8 break-glass;
/// 8 and 11 showed sealed items; a write (13) by reader-1 about Person/p1.
async fn ig_chain(store: &Store) {
    for n in 1..=12 {
        let mut entry = record(n);
        if n % 4 == 0 {
            entry.purpose_of_use = Some("ETREAT".into());
            entry.stated_reason = Some("unconscious".into());
        }
        if n == 8 || n == 11 {
            entry.reasons = vec!["registered-practice".into(), "sealed items shown: 1 (SEX)".into()];
        }
        store.append_audit(entry).await.unwrap();
    }
    let mut write = record(13);
    write.action = "create".into();
    let op = crate::backends::put(
        serde_json::json!({"resourceType": "Patient", "id": "audited", "name": [{"family": "Smith"}]}),
        "RVV",
        kmcr_store::Precondition::None,
    );
    store.write(vec![op], Some(write)).await.unwrap();
}

#[tokio::test]
async fn ig_queries_find_entries_by_person_actor_break_glass_and_sealed_items() {
    for test in stores().await {
        let store = &test.store;
        ig_chain(store).await;
        let name = test.name;
        let subject = |id: &str| AuditQuery::Subject(id.to_string());
        assert_eq!(all_pages(store, &subject("Person/p1"), 0, 2).await, [1, 5, 9, 13], "{name}");
        assert_eq!(all_pages(store, &subject("Patient/2"), 0, 2).await, [2, 7, 12], "{name}");
        assert_eq!(all_pages(store, &subject("Person/p1"), 5, 2).await, [9, 13], "{name}: paged from a sequence");
        assert!(all_pages(store, &subject("Person/nobody"), 0, 2).await.is_empty(), "{name}");

        let actor = |since_ms: Option<i64>, until_ms: Option<i64>| AuditQuery::Actor {
            actor_id: "reader-1".into(),
            since_ms,
            until_ms,
        };
        assert_eq!(all_pages(store, &actor(None, None), 0, 2).await, [1, 4, 7, 10, 13], "{name}");
        let (since, until) = (1_700_000_000_000 + 4_000, 1_700_000_000_000 + 10_000);
        assert_eq!(all_pages(store, &actor(Some(since), Some(until)), 0, 1).await, [4, 7], "{name}: [since, until)");

        assert_eq!(all_pages(store, &AuditQuery::BreakGlass, 0, 1).await, [4, 8, 12], "{name}");
        assert_eq!(all_pages(store, &AuditQuery::SealedItemsShown, 0, 1).await, [8, 11], "{name}");

        let since = 1_700_000_000_000 + 10_000;
        let start = store.audit_sequence_recorded_since(since).await.unwrap();
        assert_eq!(start, Some(10), "{name}");
        assert_eq!(all_pages(store, &AuditQuery::RecordedSince(since), 9, 2).await, [10, 11, 12, 13], "{name}");
        assert_eq!(store.audit_sequence_recorded_since(i64::MAX).await.unwrap(), None, "{name}");

        let found = store.audit_search(&AuditQuery::BreakGlass, 0, 10).await.unwrap();
        assert_eq!(found[0].record.stated_reason.as_deref(), Some("unconscious"), "{name}: whole records come back");
    }
}

#[tokio::test]
async fn entries_older_than_the_search_tables_are_indexed_at_open() {
    for test in stores().await {
        ig_chain(&test.store).await;
        // As a store migrated to version 9 finds it: entries, no searchable rows, a backfill to do.
        tamper(
            &test,
            "DELETE FROM audit_by_subject; DELETE FROM audit_by_actor; DELETE FROM audit_flag; \
             INSERT INTO audit_search_backfill (through_sequence) VALUES (13);",
        )
        .await;
        assert!(test.store.audit_search(&AuditQuery::BreakGlass, 0, 10).await.unwrap().is_empty());
        let reopened = Store::open(&test.location, &StoreOptions::default()).await.unwrap();
        assert_eq!(all_pages(&reopened, &AuditQuery::Subject("Person/p1".into()), 0, 3).await, [1, 5, 9, 13]);
        assert_eq!(all_pages(&reopened, &AuditQuery::BreakGlass, 0, 3).await, [4, 8, 12], "{}", test.name);
        let actor = AuditQuery::Actor { actor_id: "reader-1".into(), since_ms: None, until_ms: None };
        assert_eq!(all_pages(&reopened, &actor, 0, 3).await, [1, 4, 7, 10, 13], "{}", test.name);
        // Appends after the backfill carry on as before.
        let entry = reopened.append_audit(record(14)).await.unwrap();
        assert_eq!(entry.sequence, 14);
        assert_eq!(reopened.verify_audit(Vec::new(), Vec::new(), 5).await.unwrap().unwrap().last_sequence, 14);
    }
}
