//! What goes into and comes out of the store.

use kmcr_fhir::{Instant, OdsCode, ResourceId, ResourceType};
use kmcr_fhir_search::IndexEntry;
use serde_json::Value;

use crate::Cursor;

/// Tuning that does not change behaviour.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Connections used for reads (SQLite readers kept open, PostgreSQL pool size). Sixteen: with four, twenty MLLP
    /// senders' reads opened (and parsed the schema of) a new SQLite connection for most reads.
    pub n_read_connections: usize,
    /// SQLite: past this size the writer empties the write-ahead log itself.
    pub sqlite_max_wal_bytes: u64,
    /// SQLite: the most memory the writer's page cache may take (it grows only as pages are used).
    pub sqlite_writer_cache_bytes: u64,
    /// The code rules in force: when they differ from those the stored items were labelled under, every current
    /// item is labelled again at open.
    pub code_rules: kmcr_access::CodeRules,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            n_read_connections: 16,
            sqlite_max_wal_bytes: 128 * 1024 * 1024,
            sqlite_writer_cache_bytes: default_writer_cache_bytes(),
            code_rules: kmcr_access::CodeRules::defaults(),
        }
    }
}

/// The writer's page cache: 4 GiB, or a quarter of the machine's memory if that is less (1 GiB where it cannot be
/// read).
///
/// The writer inserts into the newest key epoch's part of every value index at random places (schema migration 4), and
/// that part grows to about a million resources' rows before the next epoch starts. With a 1 GiB cache, loading
/// synthetic people over HTTP slowed from 6,022 resources/s for the first 10,000 people to 5,427 for the next 90,000,
/// the profile showing more pages read into the cache and more index seeks; with 4 GiB, 6,260 and 6,240
/// (`kmcr-bench reads --clients 8 --people 10000,100000`, 2 cores, 23 GB).
fn default_writer_cache_bytes() -> u64 {
    const WANTED: u64 = 4 << 30;
    let memory_bytes = std::fs::read_to_string("/proc/meminfo").ok().and_then(|meminfo| {
        let line = meminfo.lines().find(|line| line.starts_with("MemTotal:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    });
    match memory_bytes {
        Some(memory_bytes) => WANTED.min(memory_bytes / 4),
        None => 1 << 30,
    }
}

/// One version of a resource as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredResource {
    pub resource_key: i64,
    pub resource_type: ResourceType,
    pub id: ResourceId,
    pub version_id: i64,
    pub last_updated: Instant,
    pub deleted: bool,
    /// ODS code of the organisation that sent this version.
    pub source_ods_code: OdsCode,
    /// The FHIR JSON with `meta.versionId` and `meta.lastUpdated` set; `None` for a deletion.
    pub json: Option<String>,
    /// The resource's sensitive categories (`kmcr_access::Sensitivity` bits), the union over all its versions.
    pub sensitivity: i64,
    /// The id of the Patient the resource belongs to (its own id for a Patient); `None` for data about no patient.
    pub patient_id: Option<ResourceId>,
}

/// A change to one resource.
#[derive(Clone, Debug)]
pub struct WriteOp {
    pub resource_type: ResourceType,
    pub id: ResourceId,
    pub action: WriteAction,
    pub precondition: Precondition,
    /// The organisation writing. A resource another organisation sent can be neither changed nor deleted.
    pub writer_ods_code: OdsCode,
}

#[derive(Clone, Debug)]
pub enum WriteAction {
    /// Store a new version. The store sets `id`, `meta.versionId` and `meta.lastUpdated`.
    Put {
        resource: Value,
        index_entries: Vec<IndexEntry>,
        /// The id of the Patient this resource belongs to (its own for a Patient).
        owning_patient_id: Option<String>,
        /// Sensitive categories (`kmcr_access::Sensitivity` bits); added to the resource's, never taken away.
        sensitivity: i64,
        /// What each topic that looks at this kind of resource makes of this version (`kmcr_events::conditions_of`):
        /// the store fires those whose token appears or changes, in the write's transaction (`event_outbox`).
        events: Vec<(kmcr_events::Topic, kmcr_events::Condition)>,
    },
    Delete,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precondition {
    None,
    /// The resource must not exist yet (create with a server-assigned id).
    MustNotExist,
    /// The current version must be this one (`If-Match: W/"n"`).
    VersionIs(i64),
}

#[derive(Clone, Debug, PartialEq)]
pub struct WriteOutcome {
    pub resource_type: ResourceType,
    pub id: ResourceId,
    pub version_id: i64,
    pub last_updated: Instant,
    /// True when this write brought the resource into existence (or back after deletion).
    pub created: bool,
    pub deleted: bool,
    /// True when nothing changed (deleting what is already deleted or was never there).
    pub unchanged: bool,
    pub json: Option<String>,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum StoreError {
    #[error("{resource_type}/{id} is at version {actual}, not {expected}")]
    VersionConflict { resource_type: ResourceType, id: ResourceId, expected: i64, actual: i64 },
    #[error("{resource_type}/{id} already exists")]
    AlreadyExists { resource_type: ResourceType, id: ResourceId },
    /// The access rule (`kmcr_access::decide_write_by`) refused the write; `reason` says why.
    #[error("{resource_type}/{id}: {reason}")]
    NotOwner { resource_type: ResourceType, id: ResourceId, reason: String },
    /// Another writer changed the same resource at the same moment; retrying reads the new version.
    #[error("a concurrent write changed the same resource; retry")]
    ConcurrentWrite,
    /// A bulk load's checkpoint found its job further on, or finished: another run of the same job is loading it.
    #[error("load job {0} is finished or being loaded by another run")]
    LoadContended(String),
    #[error("the search cannot be run: {0}")]
    UnsupportedSearch(String),
    #[error("the paging cursor is not valid")]
    BadCursor,
    #[error("the database is unavailable")]
    Unavailable(String),
    /// The break-glass use is not waiting for review (already reviewed, or no such use).
    #[error("grant {0} is not an open break-glass use")]
    GrantNotOpen(i64),
    /// Stored data that breaks an invariant (e.g. a broken audit chain). Never expected.
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

/// Which page of a search: the first, or the one after a cursor.
#[derive(Clone, Debug)]
pub struct PageRequest {
    pub count: usize,
    pub cursor: Option<Cursor>,
    /// Count all matches (`_total=accurate`, `_summary=count`).
    pub want_total: bool,
}

#[derive(Clone, Debug)]
pub struct SearchOutcome {
    pub matches: Vec<StoredResource>,
    pub included: Vec<StoredResource>,
    /// Known when asked for, or when the first page holds every match.
    pub total: Option<u64>,
    pub next_cursor: Option<Cursor>,
}

#[derive(Clone, Debug)]
pub struct Page {
    pub resources: Vec<StoredResource>,
    pub next_cursor: Option<Cursor>,
}

/// `$everything`'s answer, found in one visit to the store: a page, or why there is none.
#[derive(Clone, Debug)]
pub enum EverythingOutcome {
    Page(Page),
    /// The first Patient asked for was never written (or is only referenced so far).
    PatientMissing,
    /// The first Patient asked for is deleted.
    PatientDeleted,
}

#[derive(Clone, Debug)]
pub struct HistoryRequest {
    /// `None` for the whole system.
    pub resource_type: Option<ResourceType>,
    /// Requires `resource_type`.
    pub id: Option<ResourceId>,
    pub since: Option<Instant>,
    pub count: usize,
    pub cursor: Option<Cursor>,
}

#[derive(Clone, Debug)]
pub struct EverythingRequest {
    /// The source Patients whose records make up the person (one until patients are linked).
    pub patient_ids: Vec<ResourceId>,
    pub since: Option<Instant>,
    pub types: Vec<ResourceType>,
    pub count: usize,
    pub cursor: Option<Cursor>,
}

/// Which rows a read may return, as the access decision found. The store applies it to every row a query reads: the
/// matches, the targets of chained criteria, included resources, `$everything` and history. So what is withheld
/// leaves no trace in results, totals, counts, paging or sort order.
#[derive(Clone, Debug)]
pub enum RowFilter {
    /// No restriction: the store's own reads (the person index at start), never a caller's.
    Unrestricted,
    Restricted(RowRestriction),
}

/// Rows that are about no patient (an Organization, a Practitioner, a Medication) are always visible; rows of a
/// patient are visible by the view of the person they belong to.
#[derive(Clone, Debug, Default)]
pub struct RowRestriction {
    pub persons: Vec<PersonRows>,
    /// The view of rows of every other patient; `None`: no other patient's rows.
    pub everyone_else: Option<RowView>,
    /// Patients whose rows `everyone_else` does not reach (a region-wide reader: persons with objections in force).
    pub excluded_patient_ids: Vec<String>,
    /// The caller's organisation: patient data that names no resolvable Patient is visible to it alone.
    pub own_source: Option<String>,
}

/// One person's source Patients, and the view of their rows.
#[derive(Clone, Debug)]
pub struct PersonRows {
    pub patient_ids: Vec<String>,
    pub view: RowView,
}

/// The rows of one person (or of everyone else) a caller may see; the same rules as `kmcr_access::RecordView`, in a
/// form the store turns into SQL.
#[derive(Clone, Debug)]
pub struct RowView {
    /// Patient resources (demographics).
    pub patient_type: bool,
    pub other_types: RowTypes,
    /// When set, only rows these organisations sent.
    pub only_sources: Option<Vec<String>>,
    /// The caller's own organisation: no withholding applies to its rows, and its sealed rows are its own.
    pub own_source: Option<String>,
    pub withheld: Vec<RowWithholding>,
    pub sensitive: RowSensitive,
}

#[derive(Clone, Debug)]
pub enum RowTypes {
    None,
    Only(Vec<ResourceType>),
    All,
}

#[derive(Clone, Debug)]
pub struct RowWithholding {
    /// `None`: every source.
    pub source: Option<String>,
    /// Empty: every type.
    pub resource_types: Vec<ResourceType>,
    /// Patient rows stay visible (objections withhold the record, not the person).
    pub spares_patient_type: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowSensitive {
    Withheld,
    OwnSourceOnly,
    All,
}

/// What the access decision reads about one person, in one visit to the store.
#[derive(Clone, Debug, Default)]
pub struct PersonRecordFacts {
    /// Each live source Patient of the person: id, source, sensitivity bits.
    pub records: Vec<(String, String, i64)>,
    /// Contacts with organisations: (resource type, organisation ODS code, start, end); an open end is `i64::MAX`.
    pub contacts: Vec<(ResourceType, String, Option<i64>, Option<i64>)>,
    /// GP practices named by the person's Patients (`generalPractitioner`), as ODS codes.
    pub registered_practices: Vec<String>,
    /// The person's Consent resources: (JSON, source).
    pub consents: Vec<(String, String)>,
    /// Grants about the person not yet expired.
    pub grants: Vec<StoredGrant>,
    /// The person's live items grouped: (type, source, sensitivity bits, count).
    pub item_groups: Vec<(ResourceType, String, i64, i64)>,
}

/// A grant as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredGrant {
    pub grant_id: i64,
    pub kind: String,
    pub user_id: String,
    pub role_profile_id: String,
    pub ods_code: String,
    pub patient_id: String,
    pub reason: String,
    pub from_ms: i64,
    pub to_ms: i64,
    /// `open` for a break-glass use not yet reviewed, `reviewed` after; `None` for grants not reviewed.
    pub review_status: Option<String>,
    pub reviewed_by: Option<String>,
    pub review_outcome: Option<String>,
    pub review_note: Option<String>,
    pub reviewed_ms: Option<i64>,
}

/// A review of a break-glass use by information governance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantReview {
    pub grant_id: i64,
    pub reviewed_by: String,
    /// `appropriate`, `inappropriate`, `referred`.
    pub outcome: String,
    pub note: String,
    /// Only a use by someone of this organisation may be reviewed (the reviewer's IG scope); any when `None`.
    pub within_ods_code: Option<String>,
}

/// Which grants to list: of one review status (`open`, `reviewed`) or every reviewable one, of one organisation (the
/// users' ODS code) or all.
#[derive(Clone, Debug, Default)]
pub struct GrantFilter {
    pub review_status: Option<String>,
    pub ods_code: Option<String>,
}

/// A change to the grants: a new one, or IG's review of a break-glass use.
#[derive(Clone, Debug)]
pub enum GrantChange {
    /// `grant_id` is assigned by the store.
    Create(StoredGrant),
    Review(GrantReview),
}

/// What a write records besides its data, in the same transaction: the receipt of the HL7 v2 message the data came
/// from, or a bulk load's start, progress or end.
#[derive(Clone, Debug)]
pub enum Receipt {
    FeedMessage(crate::FeedReceipt),
    LoadStarted(crate::LoadJob),
    LoadProgress(crate::LoadCheckpoint),
    LoadFinished {
        job_id: String,
        finished_ms: i64,
    },
    /// An organisation left the sharing agreement (recorded once: the first time stands).
    OrganisationLeft {
        ods_code: String,
        recorded_by: String,
        left_ms: i64,
    },
    /// An organisation's data was purged: what it sent about people is gone (see [`crate::Store::purge_source`]), with
    /// its HL7 v2 receipts and dead letters, its loads, and the person index's pairs awaiting review among `patient_ids`.
    OrganisationPurged {
        ods_code: String,
        purged_ms: i64,
        patient_ids: Vec<String>,
    },
}
