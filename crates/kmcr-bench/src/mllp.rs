//! `mllp`: HL7 v2 ADT messages over MLLP to the listener of `kmcr serve`, each answered only once durably kept. Each
//! connection sends one message and waits for its ACK before the next (as most integration engines do), so the ACK
//! latency is the sender's wait; one connection, then many; then one connection that pipelines, `--window` messages
//! in flight (as engines that pipeline do). Every message registers a new patient (A04).

use std::time::{Duration, Instant};

use kmcr_access::{Organisation, OrganisationKind};
use kmcr_fhir::OdsCode;
use kmcr_hl7v2::mllp::{FrameDecoder, encode_frame};
use kmcr_service::feeds::MllpFeed;
use kmcr_service::identity::IdentitySettings;
use kmcr_service::{Limits, Service};
use kmcr_store::{Store, StoreOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Options;

pub async fn run(options: &Options) -> anyhow::Result<()> {
    crate::empty_store(&options.database).await?;
    let store = Store::open(&options.database, &StoreOptions::default()).await?;
    let ods_code = OdsCode::parse("RWF")?;
    let access = crate::benchmark_access(vec![Organisation {
        ods_code: ods_code.clone(),
        name: "Benchmark trust".into(),
        kind: OrganisationKind::Acute,
        party_to_agreement: true,
    }]);
    let service = Service::start(store, Limits::default(), IdentitySettings::default(), access).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let settings = kmcr_mllp::MllpSettings {
        listen: Some(address),
        tls: None,
        feeds: vec![MllpFeed {
            ods_code,
            sending_application: "PAS".into(),
            sending_facility: None,
            allowed_addresses: Vec::new(),
            client_certificate: None,
            switched_off: false,
            security_labels: Vec::new(),
        }],
        max_frame_bytes: 1 << 20,
        idle_timeout: Duration::from_secs(600),
        max_connections: 256,
    };
    tokio::spawn(kmcr_mllp::serve(listener, service, settings));
    let settings_line = crate::postgres_settings(&options.database).await?;
    println!("mllp benchmark: store {}{settings_line}", options.database);
    let per_round = options.n_queries.max(100);
    let mut next = 0usize;
    let window = options.window.max(1);
    for (connections, in_flight) in [(1, 1), (options.n_clients.max(2), 1), (1, window)] {
        let started = Instant::now();
        let mut tasks = Vec::new();
        let count = per_round * in_flight;
        for connection in 0..connections {
            let first = next + connection * count;
            tasks.push(tokio::spawn(send_messages(address, first, count, in_flight)));
        }
        let mut latencies_us = Vec::new();
        for task in tasks {
            latencies_us.extend(task.await??);
        }
        next += connections * count;
        let seconds = started.elapsed().as_secs_f64();
        latencies_us.sort_unstable();
        let quantile = |q: f64| latencies_us[((latencies_us.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
        println!(
            "  {connections} connection(s), {in_flight} in flight on each, {} messages: {:.0} messages/s, ACK p50 {:.2} \
             ms, p99 {:.2} ms",
            latencies_us.len(),
            latencies_us.len() as f64 / seconds,
            quantile(0.5),
            quantile(0.99)
        );
    }
    Ok(())
}

/// Registration `n`: a new patient with a visit, as a PAS sends them: an NHS number (the 999 test range, traced:
/// NSTS01) and demographics that differ from person to person as real ones do, so that the person index does the
/// work it does in a real region rather than comparing every message with every earlier one.
fn registration(n: usize) -> String {
    let letters = |mut value: usize, length: usize| -> String {
        (0..length)
            .map(|_| {
                let letter = char::from(b'a' + (value % 26) as u8);
                value /= 26;
                letter
            })
            .collect()
    };
    let nhs_number = (0..)
        .find_map(|step| {
            let digits: Vec<u8> =
                format!("999{:06}", (n * 7 + step) % 1_000_000).bytes().map(|byte| byte - b'0').collect();
            kmcr_fhir::NhsNumber::from_first_nine_digits(digits.try_into().ok()?)
        })
        .map(|number| number.as_digits())
        .unwrap_or_default();
    let family = format!("{}{}", letters(n, 3).to_uppercase(), letters(n / 7 + 11, 4));
    let given = format!("G{}", letters(n * 31 + 5, 4));
    let birth = format!("{}{:02}{:02}", 1930 + n % 90, 1 + n % 12, 1 + n % 28);
    let postcode = format!("ME{} {}{}", 1 + n % 20, n % 10, letters(n / 3, 2).to_uppercase());
    format!(
        "MSH|^~\\&|PAS|RWF|KMCR|KMCR|20261207101500||ADT^A04^ADT_A01|BENCH-{n}|P|2.4\rEVN|A04|20261207101500\r\
         PID|1||{nhs_number}^^^NHS^NH~B{n:09}^^^RWF^MR||{family}^{given}||{birth}|F|||{n} High Street^^Maidstone^^{postcode}\
         |||||||||||||||||||||NSTS01\rPV1|1|O|CLINIC1||||||||||||||||V{n:09}|||||||||||||||||||||||||20261207101500\r"
    )
}

/// Sends `count` registrations numbered from `first`, keeping `in_flight` unanswered at most (1: one at a time), and
/// returns each one's wait for its ACK (µs), from its send.
async fn send_messages(
    address: std::net::SocketAddr,
    first: usize,
    count: usize,
    in_flight: usize,
) -> anyhow::Result<Vec<u64>> {
    let mut stream = TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let mut decoder = FrameDecoder::new(1 << 20);
    let mut buffer = vec![0u8; 64 * 1024];
    let mut latencies = Vec::with_capacity(count);
    let mut waiting = std::collections::VecDeque::new();
    let mut n = first;
    while latencies.len() < count {
        let mut frames = Vec::new();
        while n < first + count && waiting.len() < in_flight {
            frames.extend(encode_frame(registration(n).as_bytes()));
            waiting.push_back((n, Instant::now()));
            n += 1;
        }
        if !frames.is_empty() {
            stream.write_all(&frames).await?;
        }
        let ack = loop {
            if let Some(frame) = decoder.next_frame() {
                break frame.map_err(|error| anyhow::anyhow!("{error}"))?;
            }
            let read = stream.read(&mut buffer).await?;
            anyhow::ensure!(read > 0, "the listener closed the connection");
            decoder.push(&buffer[..read]);
        };
        let (sent_n, sent) = waiting.pop_front().expect("an ACK answers a message sent");
        latencies.push(sent.elapsed().as_micros() as u64);
        let text = String::from_utf8_lossy(&ack);
        anyhow::ensure!(
            text.contains(&format!("MSA|AA|BENCH-{sent_n}")),
            "message {sent_n} was not accepted: {}",
            text.replace('\r', "\n")
        );
    }
    Ok(latencies)
}
