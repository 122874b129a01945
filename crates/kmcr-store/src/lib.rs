//! The record store: every version of every FHIR resource, its search index rows and the audit chain, on embedded
//! SQLite or on PostgreSQL, with one behaviour proved by one conformance suite (`tests/it`).
//!
//! Only this crate contains SQL. It knows nothing of HTTP or of who is asking: the service layer decides access and
//! records the audit entry before it calls in here.

mod access;
mod audit;
mod audit_checkpoint;
mod cursor;
mod feeds;
mod identity;
mod include;
mod loads;
mod organisations;
mod paging;
mod postgres;
mod query;
mod reindex;
mod relabel;
mod schema;
mod sign_in;
mod sqlite;
mod subscriptions;
mod types;
mod write_rows;

pub use audit::AuditQuery;
pub use audit_checkpoint::{
    AuditCheckpoints, CheckpointKeyFile, CheckpointKeyFileError, FileCheckpointSink, read_checkpoint_key_file,
    write_checkpoint_key_files,
};
pub use cursor::Cursor;
pub use feeds::{FeedMessageFilter, FeedReceipt, FeedSummary, StoredFeedMessage};
pub use identity::{
    AfterWrite, IdentityWrite, LinkChange, LinkChangeSeen, LinkHistoryEntry, PersonLink, Review, ReviewDecision,
    ReviewPair, ReviewStatus, StoredModel, TrainedModel, Unlink,
};
pub use loads::{LineRefusal, LoadCheckpoint, LoadJob, LoadStatus};
pub use organisations::{Departure, PurgeStep};
pub use sign_in::{ItemTaken, SessionsToEnd, SignInChange, SignInItem, SignInOutcome, StoredSession};
pub use subscriptions::{
    EventRange, Leadership, NewSubscriptionEvent, OutboxEvent, StoredSubscription, SubscriptionChange,
    SubscriptionEvent, SubscriptionOutcome,
};
pub use types::*;

use kmcr_audit::{
    AuditFault, AuditRecord, ChainVerifier, ChainedAuditEntry, Checkpoint, CheckpointVerifyingKey, StoredAuditEntry,
    VerifiedChain,
};
use kmcr_fhir::{ResourceId, ResourceType};
use kmcr_fhir_search::SearchRequest;

pub use postgres::{PostgresStore, ScratchDatabase};
pub use sqlite::SqliteStore;

/// A store on one of the two backends. An enum rather than a trait object: both backends are always compiled in,
/// dispatch is a match, and async methods need no boxing.
#[derive(Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Store::Sqlite($store) => $call.await,
            Store::Postgres($store) => $call.await,
        }
    };
}

impl Store {
    /// Opens the store named by `location`: a `postgres://` or `postgresql://` URL, or a directory for SQLite.
    /// Applies pending migrations.
    pub async fn open(location: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        if location.starts_with("postgres://") || location.starts_with("postgresql://") {
            Ok(Store::Postgres(PostgresStore::open(location, options).await?))
        } else {
            Ok(Store::Sqlite(SqliteStore::open(std::path::Path::new(location), options).await?))
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Applies every operation or none, in order, and appends `audit` in the same database transaction.
    pub async fn write(&self, ops: Vec<WriteOp>, audit: Option<AuditRecord>) -> Result<Vec<WriteOutcome>, StoreError> {
        self.write_with_identity(ops, IdentityWrite::default(), audit).await
    }

    /// [`Store::write`], with changes to the person index in the same transaction.
    pub async fn write_with_identity(
        &self,
        ops: Vec<WriteOp>,
        identity: IdentityWrite,
        audit: Option<AuditRecord>,
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        dispatch!(self, store => store.write(ops, identity, audit, None))
    }

    /// Every link of the person index, by Patient id.
    pub async fn person_links(&self) -> Result<Vec<PersonLink>, StoreError> {
        dispatch!(self, store => store.person_links())
    }

    /// The current links of these Patients (none for a Patient the index does not hold).
    pub async fn person_links_of(&self, patient_ids: &[String]) -> Result<Vec<PersonLink>, StoreError> {
        dispatch!(self, store => store.person_links_of(patient_ids))
    }

    /// Changes of records' persons after `after_sequence`, oldest first, at most `limit`: what another node wrote,
    /// for a node to follow.
    pub async fn link_changes_after(
        &self,
        after_sequence: i64,
        limit: usize,
    ) -> Result<Vec<LinkChangeSeen>, StoreError> {
        dispatch!(self, store => store.link_changes_after(after_sequence, limit))
    }

    /// The last change of a record's person written before `before_ms`, or 0.
    pub async fn link_sequence_before(&self, before_ms: i64) -> Result<i64, StoreError> {
        dispatch!(self, store => store.link_sequence_before(before_ms))
    }

    /// Review pairs decided at or after `since_ms`, oldest decision first.
    pub async fn decisions_since(&self, since_ms: i64) -> Result<Vec<Review>, StoreError> {
        dispatch!(self, store => store.decisions_since(since_ms))
    }

    /// The matching model the person index trained last, if any.
    pub async fn latest_model(&self) -> Result<Option<StoredModel>, StoreError> {
        dispatch!(self, store => store.latest_model())
    }

    /// Review pairs after `after_review_id`, oldest first, of one status or all.
    pub async fn reviews(
        &self,
        status: Option<ReviewStatus>,
        after_review_id: i64,
        limit: usize,
    ) -> Result<Vec<Review>, StoreError> {
        dispatch!(self, store => store.reviews(status, after_review_id, limit))
    }

    pub async fn review(&self, review_id: i64) -> Result<Option<Review>, StoreError> {
        dispatch!(self, store => store.review(review_id))
    }

    /// Every change of a Patient's person, oldest first.
    pub async fn link_history(&self, patient_id: &str) -> Result<Vec<LinkHistoryEntry>, StoreError> {
        dispatch!(self, store => store.link_history(patient_id))
    }

    /// The current version, including a deleted one (`deleted` true, no body). `None` when never stored.
    pub async fn read(
        &self,
        resource_type: ResourceType,
        id: &ResourceId,
    ) -> Result<Option<StoredResource>, StoreError> {
        dispatch!(self, store => store.read(resource_type, id))
    }

    pub async fn read_version(
        &self,
        resource_type: ResourceType,
        id: &ResourceId,
        version_id: i64,
    ) -> Result<Option<StoredResource>, StoreError> {
        dispatch!(self, store => store.read_version(resource_type, id, version_id))
    }

    /// History, newest first, of the rows `filter` lets through (judged on each resource's current state, so that an
    /// earlier version of a withheld item is withheld too).
    pub async fn history(&self, request: &HistoryRequest, filter: &RowFilter) -> Result<Page, StoreError> {
        dispatch!(self, store => store.history(request, filter))
    }

    /// A page of matches, and their includes, among the rows `filter` lets through: totals, counts, sort order,
    /// paging, chains and includes see only those rows.
    pub async fn search(
        &self,
        request: &SearchRequest,
        page: &PageRequest,
        filter: &RowFilter,
    ) -> Result<SearchOutcome, StoreError> {
        dispatch!(self, store => store.search(request, page, filter))
    }

    /// The first of `request.patient_ids` decides whether there is an answer; the others only widen it. Only rows
    /// `filter` lets through are returned (references out of the compartment into other persons' records are not).
    pub async fn everything(
        &self,
        request: &EverythingRequest,
        filter: &RowFilter,
    ) -> Result<EverythingOutcome, StoreError> {
        dispatch!(self, store => store.everything(request, filter))
    }

    /// What the access decision reads about the person made of these source Patients, at `now_ms`.
    pub async fn person_record_facts(
        &self,
        patient_ids: &[String],
        now_ms: i64,
    ) -> Result<PersonRecordFacts, StoreError> {
        dispatch!(self, store => store.person_record_facts(patient_ids, now_ms))
    }

    /// A new grant, or IG's review of a break-glass use, with its audit entry in the same transaction.
    pub async fn write_grant(&self, change: GrantChange, audit: AuditRecord) -> Result<StoredGrant, StoreError> {
        dispatch!(self, store => store.write_grant(change, audit))
    }

    /// Applies every operation or none with `audit` and the receipt of the HL7 v2 message they came from, in one
    /// transaction: the message is kept as accepted only with its data. With no operations, records a rejection.
    pub async fn write_received(
        &self,
        ops: Vec<WriteOp>,
        audit: Option<AuditRecord>,
        receipt: FeedReceipt,
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        dispatch!(self, store => store.write(ops, IdentityWrite::default(), audit, Some(Receipt::FeedMessage(receipt))))
    }

    /// Applies every operation or none with `audit` and the `receipt` if any, and then, in the same transaction, what
    /// `then` makes of their outcomes: the person index placed by the Patients written, with the Person resources it
    /// changes. One commit, so one wait for the disk, instead of the data's and then the index's. `then` runs on the
    /// embedded store's writer, in commit order; on PostgreSQL, inside the transaction once its rows are locked.
    pub async fn write_then(
        &self,
        ops: Vec<WriteOp>,
        audit: Option<AuditRecord>,
        receipt: Option<Receipt>,
        then: AfterWrite,
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        dispatch!(self, store => store.write_then(ops, audit, receipt, then))
    }

    /// Whether [`Store::write_then`] runs in the order of commits (the embedded store's one writer): then a caller may
    /// place the person index inside it. PostgreSQL commits concurrent transactions in any order.
    pub fn commits_in_order(&self) -> bool {
        matches!(self, Store::Sqlite(_))
    }

    /// Applies every operation or none with `audit` and `receipt` in one transaction: an HL7 v2 message's receipt
    /// (see [`Store::write_received`]), or a bulk load's start, progress or end, so that a line counts as done only
    /// with its data. A checkpoint holds only where the job stands at its `previous_lines_done` (else the batch before it
    /// failed, or another run of the same job got there first): otherwise the whole write fails with
    /// [`StoreError::LoadContended`].
    pub async fn write_with_receipt(
        &self,
        ops: Vec<WriteOp>,
        audit: Option<AuditRecord>,
        receipt: Receipt,
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        dispatch!(self, store => store.write(ops, IdentityWrite::default(), audit, Some(receipt)))
    }

    /// Every organisation recorded as having left the agreement.
    pub async fn departures(&self) -> Result<Vec<Departure>, StoreError> {
        dispatch!(self, store => store.departures())
    }

    /// Removes up to `limit` of the resources `ods_code` sent, after key `after_key`, in one transaction: every version,
    /// their index rows and labels, and the person index's pairs awaiting review that name its Patients; each key stays
    /// as a placeholder. Run until it removes nothing; then record the purge
    /// ([`Receipt::OrganisationPurged`]) with its audit entry.
    pub async fn purge_source(&self, ods_code: &str, after_key: i64, limit: usize) -> Result<PurgeStep, StoreError> {
        dispatch!(self, store => store.purge_source(ods_code, after_key, limit))
    }

    /// The ids of the Patients `ods_code` sent that are still stored (deleted ones too).
    pub async fn patient_ids_sent_by(&self, ods_code: &str) -> Result<Vec<String>, StoreError> {
        dispatch!(self, store => store.patient_ids_sent_by(ods_code))
    }

    /// A bulk load job, if it was started.
    pub async fn load_status(&self, job_id: &str) -> Result<Option<LoadStatus>, StoreError> {
        dispatch!(self, store => store.load_status(job_id))
    }

    /// The most recently started jobs first.
    pub async fn load_jobs(&self, limit: usize) -> Result<Vec<LoadStatus>, StoreError> {
        dispatch!(self, store => store.load_jobs(limit))
    }

    /// The lines a job refused after line `after_line`, in order.
    pub async fn load_refusals(
        &self,
        job_id: &str,
        after_line: i64,
        limit: usize,
    ) -> Result<Vec<LineRefusal>, StoreError> {
        dispatch!(self, store => store.load_refusals(job_id, after_line, limit))
    }

    /// The ACK an accepted message from `sender` with MSH-10 `control_id` was answered with.
    pub async fn accepted_feed_ack(&self, sender: &str, control_id: &str) -> Result<Option<String>, StoreError> {
        dispatch!(self, store => store.accepted_feed_ack(sender, control_id))
    }

    /// Messages of one status (`rejected`: the dead letters), oldest first, after `after_key`.
    pub async fn feed_messages(
        &self,
        status: &str,
        after_key: i64,
        limit: usize,
    ) -> Result<Vec<StoredFeedMessage>, StoreError> {
        dispatch!(self, store => store.feed_messages(status, after_key, limit))
    }

    /// The dead letters not since made good, or one message by key (see [`FeedMessageFilter`]).
    pub async fn filtered_feed_messages(
        &self,
        filter: FeedMessageFilter,
        limit: usize,
    ) -> Result<Vec<StoredFeedMessage>, StoreError> {
        dispatch!(self, store => store.filtered_feed_messages(filter, limit))
    }

    /// Per sender: messages accepted and rejected, dead letters not yet made good, and the last message's time.
    pub async fn feed_summary(&self) -> Result<Vec<FeedSummary>, StoreError> {
        dispatch!(self, store => store.feed_summary())
    }

    /// Applies one change to subscriptions and their events, durably.
    pub async fn change_subscriptions(&self, change: SubscriptionChange) -> Result<SubscriptionOutcome, StoreError> {
        dispatch!(self, store => store.change_subscriptions(change))
    }

    /// Every subscription (`None`), or the one named.
    pub async fn subscriptions(&self, id: Option<&str>) -> Result<Vec<StoredSubscription>, StoreError> {
        dispatch!(self, store => store.subscriptions(id))
    }

    /// A cheap summary of every subscription's last change (count, and the sum and greatest of their change times):
    /// while it stays the same, no subscription was made, changed or removed.
    pub async fn subscriptions_fingerprint(&self) -> Result<(i64, i64, i64), StoreError> {
        dispatch!(self, store => store.subscriptions_fingerprint())
    }

    /// Takes the right to send notifications when no other node holds it (`None`: another does).
    pub async fn try_lead_notifications(&self) -> Result<Option<Leadership>, StoreError> {
        match self {
            Store::Sqlite(_) => Ok(Some(Leadership::embedded())),
            Store::Postgres(store) => store.try_lead_notifications().await,
        }
    }

    /// Events fired and not yet handed out, oldest first.
    pub async fn event_outbox(&self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        dispatch!(self, store => store.event_outbox(limit))
    }

    /// One subscription's events in a range of numbers, in order.
    pub async fn subscription_events(
        &self,
        subscription_id: &str,
        range: EventRange,
    ) -> Result<Vec<SubscriptionEvent>, StoreError> {
        dispatch!(self, store => store.subscription_events(subscription_id, range))
    }

    /// Subscriptions with events not yet delivered.
    pub async fn subscriptions_with_undelivered(&self) -> Result<Vec<String>, StoreError> {
        dispatch!(self, store => store.subscriptions_with_undelivered())
    }

    /// Applies one change to sign-in state (sessions, codes, refresh tokens, sign-ins waiting), durably.
    pub async fn change_sign_in(&self, change: SignInChange) -> Result<SignInOutcome, StoreError> {
        dispatch!(self, store => store.change_sign_in(change))
    }

    pub async fn sign_in_session(&self, session_id: &str) -> Result<Option<StoredSession>, StoreError> {
        dispatch!(self, store => store.sign_in_session(session_id))
    }

    /// An unspent, unexpired one-time item's content, without spending it.
    pub async fn sign_in_item(&self, kind: &str, key: &str, now_ms: i64) -> Result<Option<String>, StoreError> {
        dispatch!(self, store => store.sign_in_item(kind, key, now_ms))
    }

    /// How many unspent, unexpired items of `kind` the group holds (refused sign-ins of one username, say).
    pub async fn count_sign_in_items(&self, kind: &str, group_id: &str, now_ms: i64) -> Result<i64, StoreError> {
        dispatch!(self, store => store.count_sign_in_items(kind, group_id, now_ms))
    }

    /// Grants of one review status (`open`, `reviewed`), or every reviewable one, of one organisation or all, after
    /// `after_grant_id`.
    pub async fn grants(
        &self,
        filter: GrantFilter,
        after_grant_id: i64,
        limit: usize,
    ) -> Result<Vec<StoredGrant>, StoreError> {
        dispatch!(self, store => store.grants(filter, after_grant_id, limit))
    }

    /// Appends an audit entry on its own, for reads; writes pass theirs to [`Store::write`].
    pub async fn append_audit(&self, record: AuditRecord) -> Result<ChainedAuditEntry, StoreError> {
        dispatch!(self, store => store.append_audit(record))
    }

    /// Audit entries from `after_sequence` (exclusive), oldest first, at most `limit`.
    pub async fn audit_entries(&self, after_sequence: i64, limit: usize) -> Result<Vec<ChainedAuditEntry>, StoreError> {
        dispatch!(self, store => store.audit_entries(after_sequence, limit))
    }

    /// [`Store::audit_entries`] with each record as the JSON text stored and hashed, unparsed: what verification reads.
    pub async fn stored_audit_entries(
        &self,
        after_sequence: i64,
        limit: usize,
    ) -> Result<Vec<StoredAuditEntry>, StoreError> {
        dispatch!(self, store => store.stored_audit_entries(after_sequence, limit))
    }

    /// The last entry's sequence and hash, as committed; `None` for an empty chain.
    pub async fn audit_head(&self) -> Result<Option<(i64, String)>, StoreError> {
        dispatch!(self, store => store.audit_head())
    }

    /// [`Store::audit_head`], once it is on disk: what a checkpoint may sign.
    pub async fn durable_audit_head(&self) -> Result<Option<(i64, String)>, StoreError> {
        dispatch!(self, store => store.durable_audit_head())
    }

    /// One page of an IG query: the entries it finds after `after_sequence`, oldest first, at most `limit`.
    pub async fn audit_search(
        &self,
        query: &AuditQuery,
        after_sequence: i64,
        limit: usize,
    ) -> Result<Vec<ChainedAuditEntry>, StoreError> {
        dispatch!(self, store => store.audit_search(query, after_sequence, limit))
    }

    /// The first entry recorded at or after `since_ms`, where [`AuditQuery::RecordedSince`] starts paging.
    pub async fn audit_sequence_recorded_since(&self, since_ms: i64) -> Result<Option<i64>, StoreError> {
        dispatch!(self, store => store.audit_sequence_recorded_since(since_ms))
    }

    /// Verifies the whole chain from genesis against `checkpoints`, each of which one of `keys` must have signed:
    /// `Ok(Err(fault))` names the first fault. Pages of `page_size` entries are read ahead while the last is hashed.
    pub async fn verify_audit(
        &self,
        checkpoints: Vec<Checkpoint>,
        keys: Vec<CheckpointVerifyingKey>,
        page_size: usize,
    ) -> Result<Result<VerifiedChain, AuditFault>, StoreError> {
        let fetch = |after_sequence: i64| {
            let store = self.clone();
            tokio::spawn(async move { store.stored_audit_entries(after_sequence, page_size.max(1)).await })
        };
        let mut verifier = ChainVerifier::new(checkpoints, keys);
        let mut pending = fetch(0);
        loop {
            let page = pending.await.expect("reading the audit chain does not panic")?;
            let Some(last) = page.last() else { break };
            pending = fetch(last.sequence);
            let (returned, checked) = tokio::task::spawn_blocking(move || {
                let checked = verifier.check_page(&page);
                (verifier, checked)
            })
            .await
            .expect("verification does not panic");
            verifier = returned;
            if let Err(fault) = checked {
                return Ok(Err(fault));
            }
        }
        Ok(verifier.finish())
    }
}
