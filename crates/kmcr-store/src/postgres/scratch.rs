//! Throwaway PostgreSQL databases for test suites: each made empty for one test and dropped when that test ends,
//! whether it passed or panicked, so a run leaves nothing behind on the server.

use std::sync::Mutex;

/// A PostgreSQL database that exists while this value lives. Dropping it drops the database `WITH (FORCE)`, closing
/// whatever connections a store still holds to it.
pub struct ScratchDatabase {
    admin_url: String,
    name: String,
    /// The URL to open a store on.
    pub url: String,
}

impl ScratchDatabase {
    /// Creates the empty database `{prefix}{pid}_{n}` on the server of `admin_url` (a URL naming any database there).
    ///
    /// The first call in a process for a prefix also drops that prefix's databases left by processes that were killed
    /// before they could drop their own. Callers that share a prefix must not run at the same time.
    pub async fn create(admin_url: &str, prefix: &str, n: usize) -> Result<ScratchDatabase, tokio_postgres::Error> {
        let (client, connection) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        drop_leftovers_once(&client, prefix).await?;
        let name = format!("{prefix}{}_{n}", std::process::id());
        client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
        client.batch_execute(&format!("CREATE DATABASE {name}")).await?;
        let base = admin_url.rsplit_once('/').map_or(admin_url, |(base, _)| base);
        Ok(ScratchDatabase { admin_url: admin_url.to_string(), url: format!("{base}/{name}"), name })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for ScratchDatabase {
    /// Runs on a thread of its own with its own runtime: a `Drop` cannot await, and may run inside a runtime.
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropping = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let (client, connection) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await.ok()?;
                tokio::spawn(connection);
                client.batch_execute(&statement).await.ok()
            })
        });
        if dropping.join().ok().flatten().is_none() {
            tracing::warn!(database = %self.name, "a scratch database could not be dropped");
        }
    }
}

/// Drops `{prefix}%` databases of other processes, once per prefix in this process.
async fn drop_leftovers_once(client: &tokio_postgres::Client, prefix: &str) -> Result<(), tokio_postgres::Error> {
    static CLEANED: Mutex<Vec<String>> = Mutex::new(Vec::new());
    {
        let mut cleaned = CLEANED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if cleaned.iter().any(|done| done == prefix) {
            return Ok(());
        }
        cleaned.push(prefix.to_string());
    }
    let own = format!("{prefix}{}_", std::process::id());
    let pattern = format!("{}%", prefix.replace('_', "\\_"));
    for row in client.query("SELECT datname FROM pg_database WHERE datname LIKE $1", &[&pattern]).await? {
        let name: String = row.get(0);
        if !name.starts_with(&own) {
            client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
        }
    }
    Ok(())
}
