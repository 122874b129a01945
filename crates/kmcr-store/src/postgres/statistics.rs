//! Planner statistics kept fresh by the store itself. KMCR's queries need PostgreSQL to know that an index value
//! selects a few rows; a database loaded in bulk with autovacuum off, or before autovacuum has caught up, has no
//! statistics and gets plans that read whole tables (seen: `$everything` at 1 s instead of 5 ms).
//!
//! After the first 10,000 rows written and then each time the rows written since the last run reach the rows at that
//! run, the node runs `ANALYZE` in the background: a handful of runs as the store grows by orders of magnitude.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

const FIRST_ANALYZE_AFTER_ROWS: u64 = 10_000;

#[derive(Default)]
pub struct Statistics {
    rows_written: AtomicU64,
    next_analyze_at: AtomicU64,
    running: AtomicBool,
}

impl Statistics {
    pub fn new() -> Arc<Statistics> {
        let statistics = Statistics::default();
        statistics.next_analyze_at.store(FIRST_ANALYZE_AFTER_ROWS, Ordering::Relaxed);
        Arc::new(statistics)
    }

    /// Counts rows written; starts `ANALYZE` on its own connection when they reach the next mark.
    pub fn rows_written(self: &Arc<Self>, n_rows: u64, pool: &deadpool_postgres::Pool) {
        let total = self.rows_written.fetch_add(n_rows, Ordering::Relaxed) + n_rows;
        if total < self.next_analyze_at.load(Ordering::Relaxed) || self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        self.next_analyze_at.store(total.saturating_mul(2), Ordering::Relaxed);
        let (statistics, pool) = (self.clone(), pool.clone());
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let result = match pool.get().await {
                Ok(client) => client.batch_execute("ANALYZE").await.map_err(|error| error.to_string()),
                Err(error) => Err(error.to_string()),
            };
            match result {
                Ok(()) => tracing::info!(
                    rows_written = total,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "statistics refreshed"
                ),
                Err(error) => tracing::warn!(%error, "ANALYZE failed"),
            }
            statistics.running.store(false, Ordering::Release);
        });
    }
}
