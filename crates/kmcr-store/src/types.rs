//! What goes into and comes out of the store.

use kmcr_fhir::{Instant, OdsCode, ResourceId, ResourceType};
use kmcr_fhir_search::IndexEntry;
use serde_json::Value;

use crate::Cursor;

/// Tuning that does not change behaviour.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Connections used for reads (SQLite readers, PostgreSQL pool size).
    pub n_read_connections: usize,
    /// SQLite: past this size the writer empties the write-ahead log itself.
    pub sqlite_max_wal_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { n_read_connections: 4, sqlite_max_wal_bytes: 128 * 1024 * 1024 }
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
    #[error("{resource_type}/{id} was sent by another organisation")]
    NotOwner { resource_type: ResourceType, id: ResourceId },
    /// Another writer changed the same resource at the same moment; retrying reads the new version.
    #[error("a concurrent write changed the same resource; retry")]
    ConcurrentWrite,
    #[error("the search cannot be run: {0}")]
    UnsupportedSearch(String),
    #[error("the paging cursor is not valid")]
    BadCursor,
    #[error("the database is unavailable")]
    Unavailable(String),
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
