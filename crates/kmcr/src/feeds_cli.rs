//! `kmcr feeds`: what each HL7 v2 sender has sent (`status`), the dead letters not yet made good (`dead-letters`: their
//! key, time, sender, MSH-10, type and reason, never the message), and sending one through again after a fix
//! (`replay KEY`, with the configuration's feeds and organisations); and sending files of messages over MLLP (`send`),
//! as an integration engine would.

use anyhow::{Context, bail};
use kmcr_fhir::Instant;
use kmcr_service::identity::IdentitySettings;
use kmcr_service::{Limits, Service};
use kmcr_store::{FeedMessageFilter, Store, StoreOptions};

use crate::config::Config;

pub async fn run(words: &[&str], config: Config) -> anyhow::Result<()> {
    let options = StoreOptions { code_rules: config.access.code_rules.clone(), ..StoreOptions::default() };
    let store = Store::open(&config.database, &options).await.context("cannot open the store")?;
    match words {
        ["status"] => {
            println!("sender\torganisation\taccepted\trejected\tunresolved\terror rate\tlast message");
            for feed in store.feed_summary().await? {
                let total = (feed.accepted + feed.rejected).max(1) as f64;
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{:.1}%\t{}",
                    feed.sender,
                    feed.ods_code.as_deref().unwrap_or("-"),
                    feed.accepted,
                    feed.rejected,
                    feed.unresolved,
                    100.0 * feed.rejected as f64 / total,
                    Instant::from_unix_ms(feed.last_received_ms)
                );
            }
            Ok(())
        }
        ["dead-letters"] => {
            println!("key\treceived\tsender\tMSH-10\ttype\tACK\treason");
            for letter in
                store.filtered_feed_messages(FeedMessageFilter::UnresolvedDeadLetters { after_key: 0 }, 10_000).await?
            {
                let receipt = letter.receipt;
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    letter.message_key,
                    Instant::from_unix_ms(receipt.received_ms),
                    receipt.sender,
                    receipt.control_id.as_deref().unwrap_or("-"),
                    receipt.message_type.as_deref().unwrap_or("-"),
                    receipt.ack_code,
                    receipt.reason.as_deref().unwrap_or("-")
                );
            }
            Ok(())
        }
        ["replay", key] => {
            let key: i64 = key.parse().context("replay takes a dead letter's key (see kmcr feeds dead-letters)")?;
            let feeds = config.mllp.map(|mllp| mllp.feeds).unwrap_or_default();
            let service = Service::start(store, Limits::default(), IdentitySettings::default(), config.access)
                .await
                .context("cannot start the person index")?;
            let Some(ack) = service.replay_dead_letter(&feeds, key).await? else {
                bail!("there is no dead letter {key}");
            };
            let answer = kmcr_hl7v2::Message::parse(&ack).ok();
            let msa = answer.as_ref().and_then(|ack| ack.segment("MSA"));
            let code = msa.and_then(|msa| msa.text(1, 1)).unwrap_or("?");
            let reason = answer.as_ref().and_then(|ack| ack.segment("ERR")).and_then(|err| err.text(8, 1));
            println!(
                "dead letter {key} sent again: {code}{}",
                reason.map(|reason| format!(" ({reason})")).unwrap_or_default()
            );
            Ok(())
        }
        _ => bail!("kmcr feeds status | dead-letters | replay KEY | send --to HOST:PORT FILE..."),
    }
}

/// `kmcr feeds send --to HOST:PORT FILE...`: the messages of each file over MLLP, a connection per file (so each file's
/// messages stay in order), `window` of them in flight at once, each matched with its ACK. A connection lost is made
/// again and the messages not yet answered are sent again, as an integration engine does (KMCR answers one it already
/// accepted with its first ACK, and does not apply it twice). Prints the count of AA, AE and AR per file, and each
/// refusal's MSH-10 and reason; fails when any message was refused or could not be sent.
pub fn send(to: &str, files: &[std::path::PathBuf], window: usize) -> anyhow::Result<()> {
    if files.is_empty() {
        bail!("kmcr feeds send --to HOST:PORT FILE...: name the files of messages to send");
    }
    let window = window.max(1);
    let outcomes: Vec<anyhow::Result<send::FileOutcome>> = std::thread::scope(|scope| {
        let senders: Vec<_> = files.iter().map(|path| scope.spawn(move || send::send_file(to, path, window))).collect();
        senders.into_iter().map(|sender| sender.join().expect("a sender thread does not panic")).collect()
    });
    let mut total = send::FileOutcome::default();
    let mut failed = Vec::new();
    for (path, outcome) in files.iter().zip(outcomes) {
        match outcome {
            Ok(outcome) => {
                println!("{}: {}", path.display(), outcome.summary());
                for refusal in &outcome.refusals {
                    println!("  {refusal}");
                }
                if outcome.n_refusals_not_shown > 0 {
                    println!("  ... and {} more refusals", outcome.n_refusals_not_shown);
                }
                total.add(&outcome);
            }
            Err(error) => {
                println!("{}: not sent: {error:#}", path.display());
                failed.push(path.display().to_string());
            }
        }
    }
    if files.len() > 1 {
        println!("all files: {}", total.summary());
    }
    if !failed.is_empty() {
        bail!("could not send {}", failed.join(", "));
    }
    if total.n_error + total.n_reject > 0 {
        bail!("{} messages were refused (AE or AR)", total.n_error + total.n_reject);
    }
    Ok(())
}

mod send {
    //! One file's messages over one MLLP connection, pipelined.

    use std::collections::VecDeque;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::path::Path;
    use std::time::{Duration, Instant};

    use anyhow::{Context, bail};
    use kmcr_hl7v2::Message;
    use kmcr_hl7v2::mllp::{FrameDecoder, encode_frame};

    /// How long an ACK may take before the connection is taken for lost.
    const ACK_TIMEOUT: Duration = Duration::from_secs(60);
    /// How long to keep trying to connect again without a message getting through.
    const RECONNECT_FOR: Duration = Duration::from_secs(120);
    /// Refusals printed per file; the rest are counted.
    const MAX_REFUSALS_SHOWN: usize = 20;
    /// The largest ACK read.
    const MAX_ACK_BYTES: usize = 1 << 20;

    #[derive(Default)]
    pub struct FileOutcome {
        pub n_accept: usize,
        pub n_error: usize,
        pub n_reject: usize,
        pub n_reconnections: usize,
        pub refusals: Vec<String>,
        pub n_refusals_not_shown: usize,
    }

    impl FileOutcome {
        pub fn summary(&self) -> String {
            let n_messages = self.n_accept + self.n_error + self.n_reject;
            let reconnections = match self.n_reconnections {
                0 => String::new(),
                n => format!(" ({n} reconnections, the messages not yet answered sent again)"),
            };
            format!(
                "{n_messages} messages: AA {}, AE {}, AR {}{reconnections}",
                self.n_accept, self.n_error, self.n_reject
            )
        }

        pub fn add(&mut self, other: &FileOutcome) {
            self.n_accept += other.n_accept;
            self.n_error += other.n_error;
            self.n_reject += other.n_reject;
            self.n_reconnections += other.n_reconnections;
        }

        fn count(&mut self, sent: &Sent, ack: &Message) {
            let msa = ack.segment("MSA");
            let code = msa.and_then(|msa| msa.text(1, 1)).unwrap_or("?");
            let echoed = msa.and_then(|msa| msa.text(2, 1)).unwrap_or_default();
            match code {
                "AA" | "CA" if echoed == sent.control_id => {
                    self.n_accept += 1;
                    return;
                }
                "AE" | "CE" => self.n_error += 1,
                _ => self.n_reject += 1,
            }
            if self.refusals.len() == MAX_REFUSALS_SHOWN {
                self.n_refusals_not_shown += 1;
                return;
            }
            let reason = ack
                .segment("ERR")
                .and_then(|err| err.text(8, 1).or(err.text(1, 5)))
                .or(msa.and_then(|msa| msa.text(3, 1)))
                .unwrap_or("no reason given");
            let answered =
                if echoed == sent.control_id { String::new() } else { format!(" (answered for {echoed:?})") };
            self.refusals.push(format!("MSH-10 {}: {code}{answered}: {reason}", sent.control_id));
        }
    }

    /// A message sent and not yet answered.
    struct Sent {
        control_id: String,
        frame: Vec<u8>,
    }

    pub fn send_file(to: &str, path: &Path, window: usize) -> anyhow::Result<FileOutcome> {
        let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut messages = MessageReader::new(BufReader::new(file));
        let mut outcome = FileOutcome::default();
        let mut unanswered: VecDeque<Sent> = VecDeque::with_capacity(window);
        let mut connection = Connection::open(to)?;
        let mut read_all = false;
        loop {
            while !read_all && unanswered.len() < window {
                let Some(message) = messages.next_message().with_context(|| format!("reading {}", path.display()))?
                else {
                    read_all = true;
                    break;
                };
                let control_id = control_id_of(&message);
                let sent = Sent { control_id, frame: encode_frame(&message) };
                if connection.stream.write_all(&sent.frame).is_err() {
                    connection.broken = true;
                }
                unanswered.push_back(sent);
                if connection.broken {
                    break;
                }
            }
            if unanswered.is_empty() {
                return Ok(outcome);
            }
            if !connection.broken {
                match connection.next_ack() {
                    Ok(ack) => {
                        let sent = unanswered.pop_front().expect("a message is waiting");
                        outcome.count(&sent, &ack);
                        continue;
                    }
                    Err(_) => connection.broken = true,
                }
            }
            // The connection is gone: connect again and send again everything not answered, in order.
            outcome.n_reconnections += 1;
            connection = Connection::reopen(to, &unanswered)?;
        }
    }

    /// MSH-10 of a message, as far as it can be read.
    fn control_id_of(message: &[u8]) -> String {
        let header = message.split(|&byte| byte == b'\r').next().unwrap_or_default();
        let header = String::from_utf8_lossy(header);
        Message::parse(&header).ok().and_then(|parsed| parsed.control_id().map(str::to_string)).unwrap_or_default()
    }

    struct Connection {
        stream: TcpStream,
        decoder: FrameDecoder,
        broken: bool,
    }

    impl Connection {
        fn open(to: &str) -> anyhow::Result<Connection> {
            let stream = TcpStream::connect(to).with_context(|| format!("cannot connect to {to}"))?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(ACK_TIMEOUT))?;
            Ok(Connection { stream, decoder: FrameDecoder::new(MAX_ACK_BYTES), broken: false })
        }

        /// A new connection with every message not yet answered sent again, trying for a while.
        fn reopen(to: &str, unanswered: &VecDeque<Sent>) -> anyhow::Result<Connection> {
            let started = Instant::now();
            let mut wait = Duration::from_millis(200);
            loop {
                std::thread::sleep(wait);
                if let Ok(mut connection) = Connection::open(to)
                    && unanswered.iter().all(|sent| connection.stream.write_all(&sent.frame).is_ok())
                {
                    eprintln!("kmcr feeds send: connected to {to} again; {} messages sent again", unanswered.len());
                    connection.broken = false;
                    return Ok(connection);
                }
                if started.elapsed() > RECONNECT_FOR {
                    bail!("lost the connection to {to} and could not connect again for {} s", RECONNECT_FOR.as_secs());
                }
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }

        fn next_ack(&mut self) -> anyhow::Result<Message> {
            let mut buffer = [0u8; 16 * 1024];
            loop {
                if let Some(frame) = self.decoder.next_frame() {
                    let frame = frame.map_err(|error| anyhow::anyhow!("{error}"))?;
                    let text = kmcr_hl7v2::decode(&frame).map_err(|error| anyhow::anyhow!("{error}"))?;
                    return Message::parse(&text)
                        .map_err(|error| anyhow::anyhow!("an ACK that does not parse: {error}"));
                }
                let read = self.stream.read(&mut buffer)?;
                if read == 0 {
                    bail!("the connection closed");
                }
                self.decoder.push(&buffer[..read]);
            }
        }
    }

    /// Messages out of a file: each starts at a segment beginning `MSH`; segments end with CR, LF or CR LF (so a file
    /// typed with line ends reads as well as one of `kmcr synth --hl7v2`), and are sent ended by CR. Read a piece at a
    /// time, so that a file of any size is sent in constant memory.
    pub struct MessageReader<R> {
        input: R,
        segment: Vec<u8>,
        message: Vec<u8>,
        done: bool,
    }

    impl<R: BufRead> MessageReader<R> {
        pub fn new(input: R) -> MessageReader<R> {
            MessageReader { input, segment: Vec::new(), message: Vec::new(), done: false }
        }

        pub fn next_message(&mut self) -> std::io::Result<Option<Vec<u8>>> {
            while !self.done {
                self.segment.clear();
                let mut ended = false;
                while !ended {
                    let available = self.input.fill_buf()?;
                    if available.is_empty() {
                        self.done = true;
                        break;
                    }
                    let (taken, found) = match available.iter().position(|&byte| byte == b'\r' || byte == b'\n') {
                        Some(at) => (at + 1, true),
                        None => (available.len(), false),
                    };
                    self.segment.extend_from_slice(&available[..taken - usize::from(found)]);
                    self.input.consume(taken);
                    ended = found;
                }
                // A byte-order mark before the first segment is no part of it.
                let segment = self.segment.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&self.segment);
                if segment.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let finished = if segment.starts_with(b"MSH") && !self.message.is_empty() {
                    Some(std::mem::take(&mut self.message))
                } else {
                    None
                };
                self.message.extend_from_slice(segment);
                self.message.push(b'\r');
                if finished.is_some() {
                    return Ok(finished);
                }
            }
            Ok((!self.message.is_empty()).then(|| std::mem::take(&mut self.message)))
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn messages_of(text: &str) -> Vec<String> {
            let mut reader = MessageReader::new(std::io::Cursor::new(text.as_bytes().to_vec()));
            let mut messages = Vec::new();
            while let Some(message) = reader.next_message().unwrap() {
                messages.push(String::from_utf8(message).unwrap());
            }
            messages
        }

        #[test]
        fn messages_are_read_whatever_ends_their_segments() {
            let expected = vec!["MSH|1\rPID|1\r".to_string(), "MSH|2\rPID|2\rPV1|1\r".to_string()];
            assert_eq!(messages_of("MSH|1\rPID|1\r\nMSH|2\rPID|2\rPV1|1\r\n"), expected, "as kmcr synth writes them");
            assert_eq!(messages_of("MSH|1\nPID|1\n\nMSH|2\nPID|2\nPV1|1"), expected, "typed with line ends");
            assert_eq!(
                messages_of("\u{feff}MSH|1\r\nPID|1\r\nMSH|2\r\nPID|2\r\nPV1|1\r\n"),
                expected,
                "CR LF and a BOM"
            );
            assert!(messages_of("").is_empty());
        }
    }
}
