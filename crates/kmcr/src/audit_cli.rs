//! `kmcr audit ...`: verify the chain against its signed checkpoints, export entries as FHIR AuditEvents (NDJSON), and
//! make a checkpoint key. Also the wiring `serve` uses to start signing checkpoints.
//!
//! Options (each also from the environment):
//! - `--checkpoint-key FILE` (`KMCR_AUDIT_CHECKPOINT_KEY`): the Ed25519 key file; the secret to sign (serve), the
//!   secret or its `.pub` to verify.
//! - `--checkpoint-file FILE` (`KMCR_AUDIT_CHECKPOINT_FILE`): the append-only file of checkpoints, kept apart from
//!   the database.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use kmcr_audit::{CheckpointPolicy, CheckpointSink};
use kmcr_store::{
    AuditCheckpoints, AuditQuery, CheckpointKeyFile, FileCheckpointSink, Store, StoreOptions, read_checkpoint_key_file,
};

pub const USAGE: &str = "\
  kmcr audit verify [--config FILE] [--database DIR|URL] [--checkpoint-file FILE --checkpoint-key FILE]
      Checks the audit hash chain from its first entry to its last and against its signed checkpoints; names the first
      broken entry and the kind of fault (altered, broken-link, gap, truncated, rewritten, bad-checkpoint-signature).
  kmcr audit export (--person Person/ID|Patient/ID | --actor ID | --since DATE) [--until DATE] [--out FILE]
      Writes the entries found as FHIR AuditEvents (IHE BALP), one JSON a line. DATE: YYYY-MM-DD (UTC).
  kmcr audit keygen --out FILE
      Makes an Ed25519 checkpoint key: FILE (secret, mode 600) and FILE.pub (public).
";

/// What `kmcr audit` was asked, its own options parsed from the words after `audit`.
#[derive(Default)]
struct AuditOptions {
    command: String,
    config: Option<PathBuf>,
    database: Option<String>,
    checkpoint_key: Option<PathBuf>,
    checkpoint_file: Option<PathBuf>,
    person: Option<String>,
    actor: Option<String>,
    since: Option<String>,
    until: Option<String>,
    out: Option<PathBuf>,
}

fn parse(arguments: &[String]) -> anyhow::Result<AuditOptions> {
    let mut options = AuditOptions {
        checkpoint_key: std::env::var_os("KMCR_AUDIT_CHECKPOINT_KEY").map(PathBuf::from),
        checkpoint_file: std::env::var_os("KMCR_AUDIT_CHECKPOINT_FILE").map(PathBuf::from),
        ..AuditOptions::default()
    };
    let mut words = arguments.iter();
    options.command = words.next().context("kmcr audit needs verify, export or keygen")?.clone();
    while let Some(flag) = words.next() {
        let mut value = || words.next().cloned().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--config" => options.config = Some(PathBuf::from(value()?)),
            "--database" => options.database = Some(value()?),
            "--checkpoint-key" => options.checkpoint_key = Some(PathBuf::from(value()?)),
            "--checkpoint-file" => options.checkpoint_file = Some(PathBuf::from(value()?)),
            "--person" => options.person = Some(value()?),
            "--actor" => options.actor = Some(value()?),
            "--since" => options.since = Some(value()?),
            "--until" => options.until = Some(value()?),
            "--out" => options.out = Some(PathBuf::from(value()?)),
            other => bail!("unknown option {other}\n{USAGE}"),
        }
    }
    Ok(options)
}

/// Runs `kmcr audit <arguments>`.
pub fn run(arguments: &[String]) -> anyhow::Result<()> {
    let options = parse(arguments)?;
    if !matches!(options.command.as_str(), "verify" | "export" | "keygen") {
        eprint!("{USAGE}");
        bail!("unknown audit command {}", options.command);
    }
    if options.command == "keygen" {
        return keygen(options.out.as_deref().context("keygen needs --out FILE")?);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let flags =
            crate::Flags { config: options.config.clone(), database: options.database.clone(), ..Default::default() };
        let config = crate::settings(&flags)?.validate()?;
        let store_options = StoreOptions { code_rules: config.access.code_rules.clone(), ..StoreOptions::default() };
        let store = Store::open(&config.database, &store_options).await?;
        match options.command.as_str() {
            "verify" => verify(&store, &options).await,
            _ => export(&store, &options).await,
        }
    })
}

fn keygen(out: &Path) -> anyhow::Result<()> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|error| anyhow::anyhow!("no random source: {error}"))?;
    let key = kmcr_audit::CheckpointSigningKey::from_seed(seed);
    let public_path = kmcr_store::write_checkpoint_key_files(out, &key)?;
    println!(
        "checkpoint key {} written: {} (secret: keep it apart from the database) and {}",
        key.verifying_key().key_id(),
        out.display(),
        public_path.display()
    );
    Ok(())
}

async fn verify(store: &Store, options: &AuditOptions) -> anyhow::Result<()> {
    let (checkpoints, keys) = match (&options.checkpoint_file, &options.checkpoint_key) {
        (Some(file), Some(key)) => {
            (FileCheckpointSink::read(file)?, vec![read_checkpoint_key_file(key)?.verifying_key()])
        }
        (None, None) => {
            eprintln!(
                "warning: no --checkpoint-file and --checkpoint-key: a chain rewritten whole or cut short passes"
            );
            (Vec::new(), Vec::new())
        }
        _ => bail!("--checkpoint-file and --checkpoint-key go together"),
    };
    match store.verify_audit(checkpoints, keys, 20_000).await? {
        Ok(verified) => {
            println!(
                "audit chain intact: {} entries, {} checkpoints verified (last checkpoint at entry {})",
                verified.n_entries,
                verified.n_checkpoints,
                verified.last_checkpoint_sequence.map_or_else(|| "none".to_string(), |sequence| sequence.to_string())
            );
            Ok(())
        }
        Err(fault) => bail!("audit chain fault at entry {}: {}: {fault}", fault.sequence(), fault.kind()),
    }
}

/// Midnight UTC of a `YYYY-MM-DD` date, in Unix milliseconds.
fn parse_date_ms(date: &str) -> anyhow::Result<i64> {
    let parts: Vec<&str> = date.split('-').collect();
    let [year, month, day] = parts.as_slice() else { bail!("a date is YYYY-MM-DD, not {date}") };
    let (year, month, day): (i64, u32, u32) = (year.parse()?, month.parse()?, day.parse()?);
    if !(1..=12).contains(&month) || day == 0 || day > kmcr_fhir::instant::days_in_month(year, month) {
        bail!("{date} is not a date");
    }
    Ok(kmcr_fhir::instant::days_from_civil(year, month, day) * 86_400_000)
}

async fn export(store: &Store, options: &AuditOptions) -> anyhow::Result<()> {
    let until_ms = options.until.as_deref().map(parse_date_ms).transpose()?;
    let (query, mut after_sequence) = match (&options.person, &options.actor, &options.since) {
        (Some(person), None, None) => {
            let subject = if person.contains('/') { person.clone() } else { format!("Person/{person}") };
            (AuditQuery::Subject(subject), 0)
        }
        (None, Some(actor), since) => {
            let since_ms = since.as_deref().map(parse_date_ms).transpose()?;
            (AuditQuery::Actor { actor_id: actor.clone(), since_ms, until_ms }, 0)
        }
        (None, None, Some(since)) => {
            let since_ms = parse_date_ms(since)?;
            let Some(first) = store.audit_sequence_recorded_since(since_ms).await? else { return Ok(()) };
            (AuditQuery::RecordedSince(since_ms), first - 1)
        }
        _ => bail!("export needs one of --person, --actor (with --since if wanted) or --since\n{USAGE}"),
    };
    let mut out: Box<dyn Write> = match &options.out {
        Some(path) => {
            Box::new(std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = std::io::BufWriter::new(&mut out);
    let mut n_events = 0u64;
    loop {
        let page = store.audit_search(&query, after_sequence, 1_000).await?;
        let Some(last) = page.last() else { break };
        after_sequence = last.sequence;
        for entry in &page {
            let in_range = until_ms.is_none_or(|until_ms| entry.record.recorded_unix_ms < until_ms);
            if !in_range {
                continue;
            }
            for event in kmcr_audit::audit_events(entry) {
                serde_json::to_writer(&mut out, &event)?;
                out.write_all(b"\n")?;
                n_events += 1;
            }
        }
    }
    out.flush()?;
    eprintln!("{n_events} AuditEvents written");
    Ok(())
}

/// For `serve`: starts signing the audit head into the checkpoint file with the secret key, when both are configured.
#[allow(dead_code)] // Until `serve` calls it, once `config.rs` has the checkpoint keys.
pub async fn start_checkpoints(
    store: &Store,
    key_file: &Path,
    checkpoint_file: &Path,
    policy: CheckpointPolicy,
) -> anyhow::Result<AuditCheckpoints> {
    let CheckpointKeyFile::Secret(key) = read_checkpoint_key_file(key_file)? else {
        bail!("{} holds a public key: signing checkpoints needs the secret key", key_file.display())
    };
    let sink: Arc<dyn CheckpointSink> = Arc::new(FileCheckpointSink::open(checkpoint_file)?);
    Ok(store.start_audit_checkpoints(key, sink, policy).await?)
}
