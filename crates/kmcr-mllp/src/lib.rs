//! The MLLP listener of `kmcr serve` (and of the benchmark): HL7 v2 over TCP. Each connection is served in order: its frames are read as they
//! arrive (split across reads, pipelined, NUL or CR LF between them), each message is answered once it and what it
//! became are durably kept (`Service::receive_hl7`), and the next is read only then, so a sender that pipelines waits
//! on TCP's window rather than on a queue here. Connections are served at once up to a limit; a silent one is closed.
//! Logs name connections and senders, never what a message says.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kmcr_hl7v2::mllp::{FrameDecoder, FrameError, encode_frame};
use kmcr_hl7v2::{AckCode, ErrorLocation, Message, MessageError, acknowledgement};
use kmcr_service::Service;
use kmcr_service::feeds::MllpFeed;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Debug)]
pub struct MllpSettings {
    pub listen: SocketAddr,
    pub feeds: Vec<MllpFeed>,
    pub max_frame_bytes: usize,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

/// Accepts connections until the process stops.
pub async fn serve(listener: TcpListener, service: Service, settings: MllpSettings) {
    let settings = Arc::new(settings);
    let connections = Arc::new(tokio::sync::Semaphore::new(settings.max_connections));
    loop {
        let Ok(permit) = connections.clone().acquire_owned().await else { return };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "MLLP accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (service, settings) = (service.clone(), settings.clone());
        tokio::spawn(async move {
            tracing::info!(%peer, "MLLP connection opened");
            match serve_connection(stream, &service, &settings).await {
                Ok(()) => tracing::info!(%peer, "MLLP connection closed"),
                Err(error) => tracing::info!(%peer, %error, "MLLP connection ended"),
            }
            drop(permit);
        });
    }
}

async fn serve_connection(mut stream: TcpStream, service: &Service, settings: &MllpSettings) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let peer = stream.peer_addr()?.ip();
    let mut decoder = FrameDecoder::new(settings.max_frame_bytes);
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = match tokio::time::timeout(settings.idle_timeout, stream.read(&mut buffer)).await {
            Ok(read) => read?,
            Err(_) => return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "idle")),
        };
        if read == 0 {
            return Ok(());
        }
        decoder.push(&buffer[..read]);
        let mut acks = Vec::new();
        while let Some(frame) = decoder.next_frame() {
            let ack = match frame {
                Ok(message) => match service.receive_hl7_from(&settings.feeds, Some(peer), &message).await {
                    Ok(ack) => ack,
                    // Nothing was kept: no ACK, and the connection closes so that the sender sends again.
                    Err(error) => return Err(std::io::Error::other(format!("the store is unavailable: {error}"))),
                },
                Err(error) => refusal_of_frame(&error),
            };
            acks.extend(encode_frame(ack.as_bytes()));
        }
        if !acks.is_empty() {
            stream.write_all(&acks).await?;
        }
    }
}

/// The AR for a frame that could not be read whole, naming its MSH-10 when its start shows it.
fn refusal_of_frame(error: &FrameError) -> String {
    let start = match error {
        FrameError::TooLarge { start, .. } | FrameError::Interrupted { start } => start,
    };
    let text = String::from_utf8_lossy(start);
    let header_line = text.split(['\r', '\n']).next().unwrap_or_default();
    let message = Message::parse(header_line).ok();
    let refusal = MessageError {
        location: Some(ErrorLocation { segment_id: "MSH".into(), segment_position: 1, field: None }),
        code: "207",
        reason: error.to_string(),
    };
    tracing::info!(reason = %error, "MLLP frame refused");
    acknowledgement(message.as_ref(), AckCode::Reject, Some(&refusal), "KMCR-FRAME", kmcr_fhir::Instant::now())
}
