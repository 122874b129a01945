//! `replay`: a synthetic region's HL7 v2 day through MLLP with a crash in the middle. Every acute and mental health
//! trust's messages for `--people` people (`kmcr_synth::person_hl7v2_messages`) are sent to `kmcr serve`, run as a
//! child process, over `--clients` connections, each with `--window` messages in flight. A person's messages from one
//! trust (its PAS's and its laboratory's) all go over one connection, in time order, so each patient's story arrives
//! in order, as it would from an integration engine that partitions by patient.
//!
//! At `--restart-at` (the fraction of messages answered AA) the server is killed with SIGKILL, with no chance to flush
//! or finish, and started again on the same store and port. The clients do what an integration engine does: each
//! connects again and sends again, in order, every message not yet answered AA (some of which the server had kept
//! before it died: it must answer those with their first ACK and not apply them twice). At the end the server is
//! stopped and the store itself is read: every message must have exactly one accepted receipt under its sender and
//! MSH-10, and none may be missing.
//!
//! Prints the message counts, messages per second, ACK p50/p99 (from each send, or send again, to its ACK), the
//! restart's downtime, and the check's outcome.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use kmcr_hl7v2::mllp::{FrameDecoder, encode_frame};
use kmcr_store::{Store, StoreOptions};
use kmcr_synth::{SynthConfig, hl7v2_senders, organisations, person_hl7v2_messages, sends_hl7v2};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Options;

/// How long an ACK may take before the connection is taken for lost.
const ACK_TIMEOUT: Duration = Duration::from_secs(120);
/// A refused message (AE or AR) is sent again this many times at most.
const MAX_ATTEMPTS_REFUSED: u32 = 3;

/// One message to send: its sender and MSH-10 for the check, and its MLLP frame.
struct Outgoing {
    sender_idx: u16,
    control_id: String,
    frame: Vec<u8>,
}

/// What the messages are, before sending.
struct Region {
    /// Per connection, its messages in the order they are sent.
    queues: Vec<Vec<Outgoing>>,
    /// `MSH-3|MSH-4` by sender index.
    senders: Vec<String>,
    n_messages_by_type: HashMap<String, usize>,
    n_messages: usize,
}

pub async fn run(options: &Options) -> anyhow::Result<()> {
    let n_people = options.people_steps.first().copied().unwrap_or(1_000);
    let n_connections = options.n_clients.max(1);
    let generating = Instant::now();
    let region = tokio::task::spawn_blocking({
        let seed = options.seed;
        move || generate(seed, n_people, n_connections)
    })
    .await?;
    let mut by_type: Vec<_> = region.n_messages_by_type.iter().collect();
    by_type.sort();
    let by_type: Vec<String> = by_type.into_iter().map(|(kind, n)| format!("{kind} {n}")).collect();
    println!(
        "replay benchmark: {n_people} people (seed {}), {} messages ({}), made in {:.1} s",
        options.seed,
        region.n_messages,
        by_type.join(", "),
        generating.elapsed().as_secs_f64()
    );
    if options.count_only {
        return Ok(());
    }
    let kmcr = kmcr_binary(options)?;
    crate::empty_store(&options.database).await?;
    let work = std::env::temp_dir().join(format!("kmcr-bench-replay-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let settings_line = crate::postgres_settings(&options.database).await?;
    println!(
        "  {n_connections} connections, {} messages in flight on each; server {} on store {}{settings_line}",
        options.window,
        kmcr.display(),
        options.database
    );
    let mut server = Server::start(&kmcr, &work, &options.database, None)?;
    let address = server.mllp_address;
    let progress = Arc::new(Progress::default());
    let restart_after =
        options.restart_at.map(|fraction| (fraction.clamp(0.0, 1.0) * region.n_messages as f64) as usize);
    let started = Instant::now();
    let Region { queues, senders, n_messages, .. } = region;
    let queues: Vec<Arc<Vec<Outgoing>>> = queues.into_iter().map(Arc::new).collect();
    let mut clients = Vec::new();
    for queue in &queues {
        clients.push(tokio::spawn(send_queue(address, queue.clone(), options.window.max(1), progress.clone())));
    }
    // The crash: once enough messages are answered, SIGKILL, then start again on the same store and port.
    let restart = match restart_after {
        Some(after) if after < n_messages => {
            while progress.n_accepted.load(Ordering::Relaxed) < after {
                if clients.iter().all(|client| client.is_finished()) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let n_answered = progress.n_accepted.load(Ordering::Relaxed);
            let killed = Instant::now();
            server.kill()?;
            *progress.killed_at.lock().expect("not poisoned") = Some(killed);
            let (restarted, listening_s) = tokio::task::spawn_blocking({
                let (kmcr, work, database) = (kmcr.clone(), work.clone(), options.database.clone());
                move || -> anyhow::Result<(Server, f64)> {
                    let server = Server::start(&kmcr, &work, &database, Some(address))?;
                    Ok((server, killed.elapsed().as_secs_f64()))
                }
            })
            .await??;
            server = restarted;
            Some((n_answered, listening_s))
        }
        _ => None,
    };
    let mut latencies_us = Vec::with_capacity(n_messages);
    let mut outcome = ClientOutcome::default();
    for client in clients {
        let client = client.await??;
        latencies_us.extend(client.latencies_us);
        outcome.n_resent += client.n_resent;
        outcome.n_refused += client.n_refused;
        outcome.refusals.extend(client.refusals);
    }
    let seconds = started.elapsed().as_secs_f64();
    server.stop()?;
    latencies_us.sort_unstable();
    println!(
        "  sent in {seconds:.1} s: {:.0} messages/s; ACK p50 {:.2} ms, p99 {:.2} ms",
        n_messages as f64 / seconds,
        crate::percentile_ms(&latencies_us, 50.0),
        crate::percentile_ms(&latencies_us, 99.0)
    );
    if let Some((n_answered, listening_s)) = restart {
        let first_accept_s = progress.first_accept_after_kill_s.lock().expect("not poisoned").unwrap_or(f64::NAN);
        println!(
            "  restart: killed (SIGKILL) after {n_answered} messages answered AA ({:.0}%); listening again {listening_s:.1} s \
             later, first AA {first_accept_s:.1} s after the kill; {} messages sent again",
            100.0 * n_answered as f64 / n_messages as f64,
            outcome.n_resent
        );
    }
    for refusal in outcome.refusals.iter().take(10) {
        println!("  refused: {refusal}");
    }
    let check = check_store(&options.database, &queues, &senders).await?;
    println!("  check: {}", check.summary(n_messages, outcome.n_refused));
    let _ = std::fs::remove_dir_all(&work);
    if !check.passed() {
        bail!("the replay lost or duplicated messages");
    }
    Ok(())
}

/// Every message of the region, each trust's stream of a person assigned to a connection in turn.
fn generate(seed: u64, n_people: usize, n_connections: usize) -> Region {
    let senders: Vec<String> = hl7v2_senders()
        .into_iter()
        .map(|sender| format!("{}|{}", sender.sending_application, sender.sending_facility))
        .collect();
    let sender_idx: HashMap<String, u16> =
        senders.iter().enumerate().map(|(idx, sender)| (sender.clone(), idx as u16)).collect();
    let config = SynthConfig { seed, n_people };
    let mut queues: Vec<Vec<Outgoing>> = (0..n_connections).map(|_| Vec::new()).collect();
    let mut n_messages_by_type = HashMap::new();
    let mut n_messages = 0;
    let mut n_streams = 0usize;
    for person_idx in 0..n_people {
        let mut last_ods = "";
        for message in person_hl7v2_messages(&config, person_idx) {
            if message.ods_code != last_ods {
                last_ods = message.ods_code;
                n_streams += 1;
            }
            let sender = format!("{}|{}", message.sending_application, message.ods_code);
            *n_messages_by_type.entry(message.message_type).or_insert(0) += 1;
            n_messages += 1;
            queues[(n_streams - 1) % n_connections].push(Outgoing {
                sender_idx: sender_idx[&sender],
                control_id: message.control_id,
                frame: encode_frame(message.text.as_bytes()),
            });
        }
    }
    Region { queues, senders, n_messages_by_type, n_messages }
}

/// The `kmcr` binary: `--kmcr`, else the one built beside this benchmark.
fn kmcr_binary(options: &Options) -> anyhow::Result<PathBuf> {
    let path = match &options.kmcr_binary {
        Some(path) => PathBuf::from(path),
        None => std::env::current_exe()?.with_file_name("kmcr"),
    };
    if !path.exists() {
        bail!(
            "no kmcr binary at {}: build it beside the benchmark (cargo build --release -p kmcr -p kmcr-bench) or name \
             it with --kmcr PATH",
            path.display()
        );
    }
    Ok(path)
}

/// `kmcr serve` as a child process, with a configuration naming every trust of the region and its HL7 v2 senders.
struct Server {
    child: Child,
    mllp_address: SocketAddr,
}

impl Server {
    /// Starts the server and waits until it listens for MLLP: at `address` when given (the restart), else on a free
    /// port.
    fn start(kmcr: &Path, work: &Path, database: &str, address: Option<SocketAddr>) -> anyhow::Result<Server> {
        let listen = address.map_or_else(|| "127.0.0.1:0".to_string(), |address| address.to_string());
        let config = work.join("kmcr.toml");
        std::fs::write(&config, configuration(&listen)?)?;
        let log = std::fs::OpenOptions::new().create(true).append(true).open(work.join("server.log"))?;
        let mut child = Command::new(kmcr)
            .args(["serve", "--config"])
            .arg(&config)
            .args(["--database", database, "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", kmcr.display()))?;
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let mllp_address = loop {
            let Some(line) = lines.next() else {
                let _ = child.kill();
                bail!("kmcr serve stopped before it listened for MLLP (see {})", work.join("server.log").display());
            };
            if let Some(address) = line?.strip_prefix("KMCR is listening for HL7 v2 over MLLP on ") {
                break address.trim().parse().context("the MLLP address kmcr printed")?;
            }
        };
        // Keep draining its output, so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Server { child, mllp_address })
    }

    /// SIGKILL: the process ends at once, with nothing flushed or finished.
    fn kill(&mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM, and SIGKILL if it has not stopped in 30 s.
    fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let stopping = Instant::now();
        while self.child.try_wait()?.is_none() {
            if stopping.elapsed() > Duration::from_secs(30) {
                return self.kill();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

fn configuration(listen: &str) -> anyhow::Result<String> {
    let mut config = format!("[mllp]\nlisten = \"{listen}\"\nmax_connections = 1024\n");
    // The server starts only with someone who could sign in: a reader nothing here uses.
    let secret_hash = kmcr_auth::hash_secret(&kmcr_auth::Secret::new(crate::server::CLIENT_SECRET))
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    config.push_str(&format!(
        "\n[[clients]]\nid = \"bench-reader\"\nsecret_hash = \"{}\"\nods_code = \"RWF\"\nscopes = [\"system/*.rs\"]\n",
        secret_hash.as_phc()
    ));
    let senders = hl7v2_senders();
    for organisation in organisations().iter().filter(|organisation| sends_hl7v2(organisation.kind)) {
        let kind = match organisation.kind {
            kmcr_synth::OrganisationKind::MentalHealthTrust => "mental-health",
            _ => "acute",
        };
        config.push_str(&format!(
            "\n[[organisations]]\nods_code = \"{}\"\nname = \"{}\"\nkind = \"{kind}\"\n",
            organisation.ods_code, organisation.name
        ));
        for sender in senders.iter().filter(|sender| sender.ods_code == organisation.ods_code) {
            config.push_str(&format!(
                "[[organisations.mllp_feeds]]\nsending_application = \"{}\"\nsending_facility = \"{}\"\n",
                sender.sending_application, sender.sending_facility
            ));
        }
    }
    Ok(config)
}

/// What every client shares: messages answered AA so far, and when the server was killed.
#[derive(Default)]
struct Progress {
    n_accepted: AtomicUsize,
    killed_at: Mutex<Option<Instant>>,
    first_accept_after_kill_s: Mutex<Option<f64>>,
}

impl Progress {
    fn accepted(&self) {
        self.n_accepted.fetch_add(1, Ordering::Relaxed);
        let killed_at = *self.killed_at.lock().expect("not poisoned");
        if let Some(killed_at) = killed_at {
            let mut first = self.first_accept_after_kill_s.lock().expect("not poisoned");
            if first.is_none() {
                *first = Some(killed_at.elapsed().as_secs_f64());
            }
        }
    }
}

#[derive(Default)]
struct ClientOutcome {
    latencies_us: Vec<u64>,
    /// Messages sent again after a connection was lost.
    n_resent: usize,
    /// Refusals (AE or AR) answered, including those later accepted when sent again.
    n_refused: usize,
    refusals: Vec<String>,
}

/// One connection's queue, in order, `window` messages in flight; after a lost connection, connects again and sends
/// again everything not answered; a refused message goes to the end of the queue, a few times at most.
async fn send_queue(
    address: SocketAddr,
    queue: Arc<Vec<Outgoing>>,
    window: usize,
    progress: Arc<Progress>,
) -> anyhow::Result<ClientOutcome> {
    let mut outcome = ClientOutcome { latencies_us: Vec::with_capacity(queue.len()), ..ClientOutcome::default() };
    let mut pending: VecDeque<(usize, u32)> = (0..queue.len()).map(|message_idx| (message_idx, 1)).collect();
    // Sent and not yet answered: the message, its attempt, when it was sent.
    let mut in_flight: VecDeque<(usize, u32, Instant)> = VecDeque::with_capacity(window);
    let mut buffer = vec![0u8; 64 * 1024];
    while !pending.is_empty() || !in_flight.is_empty() {
        let mut stream = connect(address).await;
        // Whatever part of an ACK the lost connection left is no ACK.
        let mut decoder = FrameDecoder::new(1 << 20);
        // Everything unanswered goes again, first and in order.
        outcome.n_resent += in_flight.len();
        while let Some((message_idx, attempt, _)) = in_flight.pop_back() {
            pending.push_front((message_idx, attempt));
        }
        'connected: loop {
            while in_flight.len() < window {
                let Some((message_idx, attempt)) = pending.pop_front() else { break };
                in_flight.push_back((message_idx, attempt, Instant::now()));
                if stream.write_all(&queue[message_idx].frame).await.is_err() {
                    break 'connected;
                }
            }
            if in_flight.is_empty() {
                return Ok(outcome);
            }
            let ack = loop {
                if let Some(frame) = decoder.next_frame() {
                    break frame.ok();
                }
                match tokio::time::timeout(ACK_TIMEOUT, stream.read(&mut buffer)).await {
                    Ok(Ok(read)) if read > 0 => decoder.push(&buffer[..read]),
                    _ => break 'connected,
                }
            };
            let (message_idx, attempt, sent) = in_flight.pop_front().expect("a message is in flight");
            let ack = ack.map(|ack| String::from_utf8_lossy(&ack).into_owned()).unwrap_or_default();
            let expected = format!("MSA|AA|{}", queue[message_idx].control_id);
            let accepted =
                ack.split('\r').any(|segment| segment == expected || segment.starts_with(&format!("{expected}|")));
            if accepted {
                outcome.latencies_us.push(sent.elapsed().as_micros() as u64);
                progress.accepted();
                continue;
            }
            outcome.n_refused += 1;
            if outcome.refusals.len() < 10 {
                outcome.refusals.push(format!(
                    "{} (attempt {attempt}): {}",
                    queue[message_idx].control_id,
                    ack.replace('\r', " / ")
                ));
            }
            if attempt < MAX_ATTEMPTS_REFUSED {
                pending.push_back((message_idx, attempt + 1));
            }
        }
    }
    Ok(outcome)
}

/// A connection, tried again every 50 ms until the server listens.
async fn connect(address: SocketAddr) -> TcpStream {
    loop {
        if let Ok(stream) = TcpStream::connect(address).await {
            let _ = stream.set_nodelay(true);
            return stream;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the store holds: per sender and MSH-10, the accepted receipts.
struct Check {
    n_expected: usize,
    n_once: usize,
    missing: Vec<String>,
    duplicated: Vec<String>,
    unexpected: Vec<String>,
    n_rejected_receipts: usize,
}

impl Check {
    fn passed(&self) -> bool {
        self.n_once == self.n_expected
            && self.missing.is_empty()
            && self.duplicated.is_empty()
            && self.unexpected.is_empty()
    }

    fn summary(&self, n_messages: usize, n_refused: usize) -> String {
        let verdict = if self.passed() { "PASSED" } else { "FAILED" };
        let sample = |list: &[String]| list.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
        format!(
            "{verdict}: {n_messages} messages sent, {} accepted exactly once, {} missing [{}], {} accepted more than \
             once [{}], {} accepted that were never sent [{}]; {n_refused} answers AE or AR, {} receipts of refusals",
            self.n_once,
            self.missing.len(),
            sample(&self.missing),
            self.duplicated.len(),
            sample(&self.duplicated),
            self.unexpected.len(),
            sample(&self.unexpected),
            self.n_rejected_receipts
        )
    }
}

/// Reads every receipt from the store, with the server stopped.
async fn check_store(database: &str, queues: &[Arc<Vec<Outgoing>>], senders: &[String]) -> anyhow::Result<Check> {
    let store = Store::open(database, &StoreOptions::default()).await.context("cannot open the store to check it")?;
    let mut accepted: HashMap<(String, String), usize> = HashMap::new();
    let mut after_key = 0;
    loop {
        let page = store.feed_messages("accepted", after_key, 5_000).await?;
        let Some(last) = page.last() else { break };
        after_key = last.message_key;
        for message in page {
            let key = (message.receipt.sender, message.receipt.control_id.unwrap_or_default());
            *accepted.entry(key).or_default() += 1;
        }
    }
    let mut n_rejected_receipts = 0;
    let mut after_key = 0;
    loop {
        let page = store.feed_messages("rejected", after_key, 5_000).await?;
        let Some(last) = page.last() else { break };
        after_key = last.message_key;
        n_rejected_receipts += page.len();
    }
    let mut expected = HashSet::new();
    let mut check = Check {
        n_expected: 0,
        n_once: 0,
        missing: Vec::new(),
        duplicated: Vec::new(),
        unexpected: Vec::new(),
        n_rejected_receipts,
    };
    for message in queues.iter().flat_map(|queue| queue.iter()) {
        let key = (senders[usize::from(message.sender_idx)].clone(), message.control_id.clone());
        check.n_expected += 1;
        match accepted.get(&key).copied().unwrap_or(0) {
            0 => check.missing.push(format!("{} {}", key.0, key.1)),
            1 => check.n_once += 1,
            _ => check.duplicated.push(format!("{} {}", key.0, key.1)),
        }
        expected.insert(key);
    }
    check.unexpected =
        accepted.keys().filter(|key| !expected.contains(*key)).map(|(sender, id)| format!("{sender} {id}")).collect();
    Ok(check)
}
