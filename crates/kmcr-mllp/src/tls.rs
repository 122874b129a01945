//! TLS for the MLLP listener: the server's certificate chain and key, and the CA whose client certificates senders
//! must present, read from PEM files once at start (each fault naming its file); and what a client presented. rustls
//! with its ring provider does the protocol and the certificate checks (`WebPkiClientVerifier`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kmcr_service::feeds::{CertificateFingerprint, PresentedCertificate};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Where and how the listener speaks TLS.
#[derive(Clone)]
pub struct TlsSettings {
    pub listen: SocketAddr,
    pub server_config: Arc<ServerConfig>,
    /// Whether every client must present a certificate signed by the configured CA.
    pub client_certificates_required: bool,
}

impl std::fmt::Debug for TlsSettings {
    // The server configuration holds the private key: only the address and the client rule are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings")
            .field("listen", &self.listen)
            .field("client_certificates_required", &self.client_certificates_required)
            .finish_non_exhaustive()
    }
}

/// The PEM files TLS is configured from.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The server's certificate chain, its own certificate first.
    pub certificate_file: PathBuf,
    /// Its private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key_file: PathBuf,
    /// CA certificates: when given, every client must present a certificate one of them signed.
    pub client_ca_file: Option<PathBuf>,
}

/// Why TLS cannot be set up, naming the file. The underlying error is part of the message, not a separate source, so
/// that it is printed once however the error is shown.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {}: {error}", path.display())]
    Unreadable { path: PathBuf, error: std::io::Error },
    #[error("{} is not valid PEM: {error}", path.display())]
    NotPem { path: PathBuf, error: rustls_pki_types::pem::Error },
    #[error("{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)", path.display())]
    NoPrivateKey { path: PathBuf },
    #[error("the private key in {} does not match the certificate in {}", key.display(), certificate.display())]
    KeyMismatch { certificate: PathBuf, key: PathBuf },
    #[error("{} and {} cannot serve TLS: {error}", certificate.display(), key.display())]
    Unusable { certificate: PathBuf, key: PathBuf, error: rustls::Error },
    #[error("{}: certificate {n} is not a CA certificate rustls can use: {error}", path.display())]
    BadClientCa { path: PathBuf, n: usize, error: rustls::Error },
    #[error("{}: {error}", path.display())]
    ClientVerifier { path: PathBuf, error: rustls::server::VerifierBuilderError },
}

impl TlsFiles {
    /// Reads the files and builds the TLS settings for `listen`; any fault names its file.
    pub fn load(&self, listen: SocketAddr) -> Result<TlsSettings, TlsError> {
        let provider = Arc::new(ring_provider());
        let certificate_chain = certificates(&self.certificate_file)?;
        let private_key = PrivateKeyDer::from_pem_file(&self.private_key_file)
            .map_err(|error| pem_error(&self.private_key_file, error, |path| TlsError::NoPrivateKey { path }))?;
        let client_verifier = match &self.client_ca_file {
            None => WebPkiClientVerifier::no_client_auth(),
            Some(path) => {
                let mut roots = RootCertStore::empty();
                for (n, certificate) in certificates(path)?.into_iter().enumerate() {
                    let bad = |error| TlsError::BadClientCa { path: path.clone(), n: n + 1, error };
                    roots.add(certificate).map_err(bad)?;
                }
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|error| TlsError::ClientVerifier { path: path.clone(), error })?
            }
        };
        let unusable = |error| TlsError::Unusable {
            certificate: self.certificate_file.clone(),
            key: self.private_key_file.clone(),
            error,
        };
        let server_config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(unusable)?
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(certificate_chain, private_key)
            .map_err(|error| match error {
                rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => TlsError::KeyMismatch {
                    certificate: self.certificate_file.clone(),
                    key: self.private_key_file.clone(),
                },
                other => unusable(other),
            })?;
        Ok(TlsSettings {
            listen,
            server_config: Arc::new(server_config),
            client_certificates_required: self.client_ca_file.is_some(),
        })
    }
}

/// rustls's ring provider. rustls 0.23.48 deprecates it because ring has no post-quantum key exchange; KMCR uses it
/// all the same, as the rest of its tree (reqwest) does, to keep aws-lc-rs and its C build out.
#[allow(deprecated)]
fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let read = |error| pem_error(path, error, |path| TlsError::NoCertificate { path });
    let certificates =
        CertificateDer::pem_file_iter(path).map_err(read)?.collect::<Result<Vec<_>, _>>().map_err(read)?;
    if certificates.is_empty() {
        return Err(TlsError::NoCertificate { path: path.to_path_buf() });
    }
    Ok(certificates)
}

fn pem_error(path: &Path, error: rustls_pki_types::pem::Error, none_found: fn(PathBuf) -> TlsError) -> TlsError {
    let path = path.to_path_buf();
    match error {
        rustls_pki_types::pem::Error::Io(error) => TlsError::Unreadable { path, error },
        rustls_pki_types::pem::Error::NoItemsFound => none_found(path),
        error => TlsError::NotPem { path, error },
    }
}

/// What the listener and the feeds know of a client's certificate: its fingerprint, and its subject's common name.
pub(crate) fn presented(certificate: &CertificateDer<'_>) -> PresentedCertificate {
    PresentedCertificate {
        sha256: CertificateFingerprint::of_der(certificate.as_ref()),
        subject_cn: subject_common_name(certificate.as_ref()),
    }
}

fn subject_common_name(certificate_der: &[u8]) -> Option<String> {
    use x509_cert::der::Decode;
    let certificate = x509_cert::Certificate::from_der(certificate_der).ok()?;
    let common_name = certificate.tbs_certificate().subject().common_name().ok()??;
    Some(common_name.value().into_owned())
}
