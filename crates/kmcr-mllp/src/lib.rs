//! The MLLP listener of `kmcr serve` (and of the benchmark): HL7 v2 over TCP, plain or TLS. Each connection is served
//! in order: its frames are read as they arrive (split across reads, pipelined, NUL or CR LF between them), each
//! message is answered once it and what it became are durably kept (`Service::receive_hl7_from`), and the next read
//! waits until the frames of this one are answered, so a sender that pipelines waits on TCP's window rather than on a
//! queue here. The frames of one read are answered together (`pipelined.rs`): different patients side by side, so
//! that their commits share the store's group commit, one patient's messages in the order sent; ACKs in frame order. Connections are served at
//! once up to a limit, over every listener together; a silent one is closed. A TLS connection's handshake is made in
//! its own task, under the idle timeout, so that a client that stalls it holds up no other. Logs name connections,
//! senders and client certificates' fingerprints, never what a message says.

mod pipelined;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kmcr_hl7v2::mllp::{FrameDecoder, FrameError, encode_frame};
use kmcr_hl7v2::{AckCode, ErrorLocation, Message, MessageError, acknowledgement};
use kmcr_service::Service;
use kmcr_service::feeds::{MllpFeed, Peer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

pub use tls::{TlsError, TlsFiles, TlsSettings};

#[derive(Clone, Debug)]
pub struct MllpSettings {
    /// Where to listen for plain TCP, if at all.
    pub listen: Option<SocketAddr>,
    /// Where to listen for TLS, and with what certificate and client CA, if at all.
    pub tls: Option<TlsSettings>,
    pub feeds: Vec<MllpFeed>,
    pub max_frame_bytes: usize,
    pub idle_timeout: Duration,
    /// Connections served at once, over every listener together.
    pub max_connections: usize,
}

/// A bound listener and how its connections are secured.
pub enum Listener {
    Plain(TcpListener),
    Tls(TcpListener, TlsAcceptor),
}

impl Listener {
    /// A listener whose connections speak TLS as `settings` configures it.
    pub fn tls(listener: TcpListener, settings: &TlsSettings) -> Listener {
        Listener::Tls(listener, TlsAcceptor::from(settings.server_config.clone()))
    }
}

/// Accepts plain TCP connections on `listener` until the process stops.
pub async fn serve(listener: TcpListener, service: Service, settings: MllpSettings) {
    serve_listeners(vec![Listener::Plain(listener)], service, settings).await;
}

/// Accepts connections on every listener until the process stops.
pub async fn serve_listeners(listeners: Vec<Listener>, service: Service, settings: MllpSettings) {
    let connections = Arc::new(tokio::sync::Semaphore::new(settings.max_connections));
    let shared = Arc::new(Shared { service, settings });
    let accepting: Vec<_> = listeners
        .into_iter()
        .map(|listener| tokio::spawn(accept_connections(listener, shared.clone(), connections.clone())))
        .collect();
    for task in accepting {
        let _ = task.await;
    }
}

struct Shared {
    service: Service,
    settings: MllpSettings,
}

async fn accept_connections(listener: Listener, shared: Arc<Shared>, connections: Arc<tokio::sync::Semaphore>) {
    let (listener, acceptor) = match listener {
        Listener::Plain(listener) => (listener, None),
        Listener::Tls(listener, acceptor) => (listener, Some(acceptor)),
    };
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
        let (shared, acceptor) = (shared.clone(), acceptor.clone());
        let tls = acceptor.is_some();
        let span = tracing::info_span!("mllp_connection", %peer, tls, client_certificate = tracing::field::Empty);
        tokio::spawn(
            async move {
                match open_and_serve(stream, peer, acceptor, &shared).await {
                    Ok(()) => tracing::info!("MLLP connection closed"),
                    Err(error) => tracing::info!(%error, "MLLP connection ended"),
                }
                drop(permit);
            }
            .instrument(span),
        );
    }
}

/// Serves one accepted connection: over TLS once its handshake is done (within the idle timeout), else as it is.
async fn open_and_serve(
    stream: TcpStream,
    peer: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    shared: &Arc<Shared>,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let Some(acceptor) = acceptor else {
        tracing::info!("MLLP connection opened");
        return serve_connection(stream, &Peer::plain(peer.ip()), shared).await;
    };
    let stream = match tokio::time::timeout(shared.settings.idle_timeout, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            tracing::warn!(%peer, %error, "MLLP TLS handshake failed");
            return Err(error);
        }
        Err(_) => return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake not finished in time")),
    };
    let client_certificate = stream.get_ref().1.peer_certificates().and_then(<[_]>::first).map(tls::presented);
    if let Some(presented) = &client_certificate {
        tracing::Span::current().record("client_certificate", tracing::field::display(presented.sha256));
    }
    tracing::info!(
        subject_cn = client_certificate.as_ref().and_then(|c| c.subject_cn.as_deref()),
        "MLLP connection opened"
    );
    serve_connection(stream, &Peer { address: peer.ip(), client_certificate }, shared).await
}

/// Reads a connection's frames and answers each in order, whatever carries the bytes (plain TCP or TLS).
async fn serve_connection<S>(mut stream: S, peer: &Peer, shared: &Arc<Shared>) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let settings = &shared.settings;
    let mut decoder = FrameDecoder::new(settings.max_frame_bytes);
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = match tokio::time::timeout(settings.idle_timeout, stream.read(&mut buffer)).await {
            Ok(read) => read?,
            Err(_) => return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "idle")),
        };
        if read == 0 {
            // The sender closed; over TLS, answer its close_notify with ours.
            let _ = stream.shutdown().await;
            return Ok(());
        }
        decoder.push(&buffer[..read]);
        let mut frames = Vec::new();
        while let Some(frame) = decoder.next_frame() {
            frames.push(frame);
        }
        let mut acks = Vec::new();
        if !frames.is_empty() {
            match pipelined::answer(frames, peer, shared).await {
                Ok(answers) => answers.iter().for_each(|ack| acks.extend(encode_frame(ack.as_bytes()))),
                // Not everything was kept: no ACK, and the connection closes so that the sender sends again (what was
                // kept is answered with its first ACK then).
                Err(error) => return Err(std::io::Error::other(format!("the store is unavailable: {error}"))),
            }
        }
        if !acks.is_empty() {
            stream.write_all(&acks).await?;
            // TLS keeps what it has encrypted until flushed.
            stream.flush().await?;
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
