//! `kmcr load`: bulk NDJSON loads into the store named by the configuration, as one organisation's data, through the
//! service layer (decided and audited like any write; `kmcr_service::loads`), and `kmcr load status`.

use std::path::Path;
use std::time::Instant as Clock;

use anyhow::{Context, bail};
use kmcr_access::{Principal, Scope, SystemPrincipal};
use kmcr_fhir::{Instant, OdsCode};
use kmcr_service::loads::LoadRequest;
use kmcr_service::{Limits, RequestContext, Service};
use kmcr_store::{LineRefusal, Store, StoreOptions};

use crate::Flags;
use crate::config::Config;

/// The SQLite writer's page cache while `kmcr load` runs.
const LOAD_WRITER_CACHE_BYTES: u64 = 256 * 1024 * 1024;

pub async fn run(words: &[&str], flags: &Flags, config: Config) -> anyhow::Result<()> {
    // A load's inserts land in the newest part of each index, so the writer needs a small page cache: memory stays
    // flat however long the file (a server's writer may cache up to 4 GiB).
    let options = StoreOptions {
        code_rules: config.access.code_rules.clone(),
        sqlite_writer_cache_bytes: LOAD_WRITER_CACHE_BYTES,
        ..StoreOptions::default()
    };
    let store = Store::open(&config.database, &options).await.context("cannot open the store")?;
    if words == ["status"] {
        println!("job\torganisation\tsource\tstarted\tlines done\tloaded\trefused\tfinished");
        for job in store.load_jobs(1_000).await? {
            println!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                job.job.job_id,
                job.job.ods_code,
                job.job.source,
                Instant::from_unix_ms(job.job.started_ms),
                job.lines_done,
                job.loaded,
                job.refused,
                job.finished_ms.map(|ms| Instant::from_unix_ms(ms).to_string()).unwrap_or_else(|| "no".into())
            );
        }
        return Ok(());
    }
    if let ["status", job_id] = words {
        let job = store.load_status(job_id).await?.with_context(|| format!("there is no load job {job_id}"))?;
        println!(
            "job {job_id} of {} from {}: {} lines done, {} loaded, {} refused, {}",
            job.job.ods_code,
            job.job.source,
            job.lines_done,
            job.loaded,
            job.refused,
            if job.finished_ms.is_some() { "finished" } else { "not finished: run the load again to resume it" }
        );
        let mut after = 0;
        loop {
            let refusals = store.load_refusals(job_id, after, 1_000).await?;
            let Some(last) = refusals.last() else { break };
            after = last.line;
            for refusal in &refusals {
                println!("line {}: {}", refusal.line, refusal.reason);
            }
        }
        return Ok(());
    }
    if words.is_empty() {
        bail!("kmcr load --organisation ODS [--job ID] FILE... | kmcr load status [JOB]");
    }
    if flags.job.is_some() && words.len() > 1 {
        bail!("--job names the load of one file");
    }
    let ods_code = flags.organisation.as_deref().context("kmcr load needs --organisation ODS: whose data it is")?;
    let ods_code = OdsCode::parse(ods_code).map_err(|error| anyhow::anyhow!("--organisation: {error}"))?;
    let service = Service::start(store, Limits::default(), config.identity.clone(), config.access)
        .await
        .context("cannot start the person index")?;
    let context = RequestContext {
        principal: Principal::System(SystemPrincipal {
            client_id: format!("kmcr-load:{ods_code}"),
            ods_code: ods_code.clone(),
            scopes: vec![Scope::parse("system/*.cu").expect("a valid scope")],
            region_wide: None,
        }),
        request_id: format!("load-{}", Instant::now().unix_ms),
    };
    let mut failed = false;
    for file in words {
        let path = Path::new(file);
        let job_id = match &flags.job {
            Some(job) => job.clone(),
            None => default_job_id(path)?,
        };
        let opened = tokio::fs::File::open(path).await.with_context(|| format!("cannot open {file}"))?;
        let reader = tokio::io::BufReader::with_capacity(1 << 20, opened);
        let request = LoadRequest { job_id: job_id.clone(), source: file_name(path) };
        let started = Clock::now();
        let report = service
            .load_ndjson(&context, &request, reader, |refusal: &LineRefusal| {
                eprintln!("{file}: line {}: {}", refusal.line, refusal.reason);
            })
            .await
            .with_context(|| format!("{file}: the load stopped; run the same command again to resume it"))?;
        let status = &report.status;
        if report.already_finished {
            println!(
                "{file}: job {} had already finished: {} loaded, {} refused (--job to load it again)",
                status.job.job_id, status.loaded, status.refused
            );
            continue;
        }
        let seconds = started.elapsed().as_secs_f64();
        let lines_now = status.lines_done - report.resumed_after_line;
        println!(
            "{file}: job {}: {} loaded, {} refused, {} lines{} in {seconds:.1} s ({:.0} lines/s)",
            status.job.job_id,
            status.loaded,
            status.refused,
            status.lines_done,
            match report.resumed_after_line {
                0 => String::new(),
                line => format!(" (resumed after line {line})"),
            },
            lines_now as f64 / seconds.max(1e-9)
        );
        failed |= status.refused > 0;
    }
    if failed {
        bail!("some lines were refused (listed above, and kept: kmcr load status)");
    }
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

/// The same file loaded again by the same organisation resumes the same job (stored as `ODS/name:size`).
fn default_job_id(path: &Path) -> anyhow::Result<String> {
    let size = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?.len();
    Ok(format!("{}:{size}", file_name(path)))
}
