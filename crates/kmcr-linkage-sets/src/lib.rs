//! Readers for record-linkage sets that someone else wrote, each record with the truth of who it is, so that linking
//! can be judged on data no one here chose. FEBRL CSV (`rec-12-org`, `rec-12-dup-0`: the number is the person) and
//! Splink's person sets (`cluster` is the person), and the synthetic population with its truth.

mod csv;
mod febrl;
mod splink;
mod synthetic;

pub use febrl::read_febrl;
pub use splink::read_splink_parquet;
pub use synthetic::synthetic;

use kmcr_mpi::Demographics;

/// Records and, for each, the id of the true person.
#[derive(Clone, Debug, Default)]
pub struct LabelledRecords {
    pub records: Vec<Demographics>,
    pub truth: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LinkageSetError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} line {line}: {message}")]
    Format { path: String, line: usize, message: String },
}
