//! Bulk loads of NDJSON: each job's progress, committed with the data of its lines so that a load resumes where it
//! stopped, and the lines it refused with the reason. The store keeps them as given; `kmcr-service` decides.

/// A load as its first batch names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadJob {
    /// Chosen by whoever loads (by default from the file), so that the same load started again resumes.
    pub job_id: String,
    /// The organisation whose data it is.
    pub ods_code: String,
    /// The client or command that loads it.
    pub client_id: String,
    /// Where the lines come from: a file name, or `api`.
    pub source: String,
    pub started_ms: i64,
}

/// A batch's progress: every line up to `lines_done` is committed (loaded or refused) with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadCheckpoint {
    pub job_id: String,
    /// Where the job must stand for this checkpoint to hold: the last line of the checkpoint before it. Otherwise
    /// (the batch before failed, or another run of the job got there) the write fails whole.
    pub previous_lines_done: i64,
    /// The number of the last line this batch settles.
    pub lines_done: i64,
    /// Resources written by this batch.
    pub loaded: i64,
    pub refusals: Vec<LineRefusal>,
    pub recorded_ms: i64,
}

/// A line that was not loaded, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineRefusal {
    /// Counted from 1.
    pub line: i64,
    pub reason: String,
}

/// A job as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadStatus {
    pub job: LoadJob,
    pub updated_ms: i64,
    pub finished_ms: Option<i64>,
    pub lines_done: i64,
    pub loaded: i64,
    pub refused: i64,
}

pub const LOAD_COLUMNS: &str =
    "job_id, ods_code, client_id, source, started_ms, updated_ms, finished_ms, lines_done, loaded, refused";
