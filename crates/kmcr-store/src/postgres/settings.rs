//! The server settings a large KMCR database needs, checked at open. PostgreSQL's defaults (128 MB of shared buffers,
//! 1 GB of WAL between checkpoints) suit a small database. A store of 100,000 synthetic people holds 16 GB (SQLite),
//! and under sustained ingest 1 GB of WAL forces checkpoints long before `checkpoint_timeout`, each followed by a
//! full-page image of every page first touched after it. PostgreSQL's own documentation suggests a quarter of memory for
//! `shared_buffers` on a dedicated server and a larger `max_wal_size` for heavy writes. KMCR does not change server
//! settings; it says so in the log, once, at open. (Measured on a 2-core machine, the ingest benchmark did not settle
//! whether these settings change how ingest scales: README.md, "PostgreSQL settings".)

const GIB: i64 = 1 << 30;
/// Below these, a node logs a warning at open (README.md, "PostgreSQL settings").
pub const MIN_SHARED_BUFFERS_BYTES: i64 = GIB;
pub const MIN_MAX_WAL_SIZE_BYTES: i64 = 4 * GIB;

/// What to change, one line per setting below its minimum (none when both are enough).
pub fn settings_advice(shared_buffers_bytes: i64, max_wal_size_bytes: i64) -> Vec<String> {
    let mut advice = Vec::new();
    if shared_buffers_bytes < MIN_SHARED_BUFFERS_BYTES {
        advice.push(format!(
            "shared_buffers is {} MiB, far less than a regional store holds; set at least 1 GiB (PostgreSQL suggests \
             a quarter of a dedicated server's memory)",
            shared_buffers_bytes >> 20
        ));
    }
    if max_wal_size_bytes < MIN_MAX_WAL_SIZE_BYTES {
        advice.push(format!(
            "max_wal_size is {} MiB: under sustained ingest that forces frequent checkpoints; set at least 4 GiB",
            max_wal_size_bytes >> 20
        ));
    }
    advice
}

/// Logs a warning for each setting below its minimum. A server that does not answer the question is not an error.
pub async fn warn_about_settings(client: &tokio_postgres::Client) {
    let sizes = client
        .query_one(
            "SELECT pg_size_bytes(current_setting('shared_buffers')), pg_size_bytes(current_setting('max_wal_size'))",
            &[],
        )
        .await;
    let Ok(sizes) = sizes else { return };
    for advice in settings_advice(sizes.get(0), sizes.get(1)) {
        tracing::warn!("PostgreSQL {advice} (README.md, \"PostgreSQL settings\")");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_warned_about_and_the_recommended_settings_are_not() {
        let advice = settings_advice(128 << 20, GIB);
        assert_eq!(advice.len(), 2, "{advice:?}");
        assert!(advice[0].starts_with("shared_buffers is 128 MiB"), "{advice:?}");
        assert!(advice[1].starts_with("max_wal_size is 1024 MiB"), "{advice:?}");
        assert_eq!(settings_advice(4 * GIB, 8 * GIB), Vec::<String>::new());
        assert_eq!(settings_advice(GIB, 4 * GIB), Vec::<String>::new(), "the minimums themselves are enough");
    }
}
