//! The key KMCR signs its access tokens with: ECDSA P-256 (ES256), kept as a PKCS#8 PEM. Every node of one deployment
//! must sign with the same key (tokens issued by one node are checked by another): give all nodes the same PEM in
//! configuration, or point them at one shared key file. A node that finds no key generates one and writes it with
//! 0600 permissions, which suits a single node with its data directory.
//!
//! A key is named by its RFC 7638 thumbprint (`kid`). On rotation the old key's public half stays in the JWKS until
//! the last token it signed has expired.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, LineEnding};
use sha2::{Digest, Sha256};

use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the signing key is not a P-256 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----): {0}")]
    NotP256PrivateKeyPem(String),
    #[error("the public key is not a P-256 key in PEM (-----BEGIN PUBLIC KEY-----): {0}")]
    NotP256PublicKeyPem(String),
    #[error("a JWKS key is not an EC P-256 key with x, y and kid: {0}")]
    NotP256Jwk(String),
    #[error("could not read or write the signing key file {path}: {source}")]
    File { path: String, source: std::io::Error },
}

/// The public half of a signing key, as published in the JWKS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicSigningKey {
    /// The RFC 7638 thumbprint.
    pub kid: String,
    /// base64url of the affine x coordinate.
    pub x: String,
    /// base64url of the affine y coordinate.
    pub y: String,
}

impl PublicSigningKey {
    fn of(public_key: &p256::PublicKey) -> PublicSigningKey {
        let point = public_key.to_sec1_bytes();
        assert_eq!(point.len(), 65, "an uncompressed P-256 point is 0x04 || x || y");
        let x = URL_SAFE_NO_PAD.encode(&point[1..33]);
        let y = URL_SAFE_NO_PAD.encode(&point[33..65]);
        // RFC 7638: the required members, in lexicographic order, without white space.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        PublicSigningKey { kid, x, y }
    }

    /// Reads a previous key's public half from a SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn from_public_key_pem(pem: &str) -> Result<PublicSigningKey, KeyError> {
        let public_key = p256::PublicKey::from_public_key_pem(pem.trim())
            .map_err(|error| KeyError::NotP256PublicKeyPem(error.to_string()))?;
        Ok(PublicSigningKey::of(&public_key))
    }

    /// Reads a key from one JWKS entry; the key id must be its thumbprint.
    pub fn from_jwk(jwk: &serde_json::Value) -> Result<PublicSigningKey, KeyError> {
        let field = |name: &str| jwk.get(name).and_then(serde_json::Value::as_str);
        if field("kty") != Some("EC") || field("crv") != Some("P-256") {
            return Err(KeyError::NotP256Jwk("kty must be EC and crv P-256".to_string()));
        }
        let (Some(x), Some(y)) = (field("x"), field("y")) else {
            return Err(KeyError::NotP256Jwk("x and y are required".to_string()));
        };
        let decode = |text: &str| URL_SAFE_NO_PAD.decode(text).map_err(|error| KeyError::NotP256Jwk(error.to_string()));
        let mut point = vec![0x04];
        point.extend(decode(x)?);
        point.extend(decode(y)?);
        let public_key = p256::PublicKey::from_sec1_bytes(&point)
            .map_err(|_| KeyError::NotP256Jwk("not a point on P-256".into()))?;
        let key = PublicSigningKey::of(&public_key);
        match field("kid") {
            Some(kid) if kid == key.kid => Ok(key),
            _ => Err(KeyError::NotP256Jwk("kid must be the RFC 7638 thumbprint of the key".to_string())),
        }
    }

    /// The JWK as published: `kty`, `crv`, `x`, `y`, `kid`, `use`, `alg`.
    pub fn to_jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "EC",
            "crv": "P-256",
            "x": self.x,
            "y": self.y,
            "kid": self.kid,
            "use": "sig",
            "alg": "ES256",
        })
    }
}

/// A P-256 private key and what is derived from it.
pub struct SigningKey {
    pkcs8_pem: Secret,
    public: PublicSigningKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.public.kid).finish_non_exhaustive()
    }
}

impl SigningKey {
    pub fn from_pkcs8_pem(pem: &Secret) -> Result<SigningKey, KeyError> {
        let secret_key = p256::SecretKey::from_pkcs8_pem(pem.expose().trim())
            .map_err(|error| KeyError::NotP256PrivateKeyPem(error.to_string()))?;
        Ok(SigningKey::of(&secret_key))
    }

    /// A new key from the operating system's random generator.
    pub fn generate() -> SigningKey {
        loop {
            let mut scalar = [0u8; 32];
            getrandom::fill(&mut scalar).expect("the operating system provides random bytes");
            // Rejection sampling: zero and values at or above the group order (chance about 2^-32) are drawn again.
            if let Ok(secret_key) = p256::SecretKey::from_slice(&scalar) {
                return SigningKey::of(&secret_key);
            }
        }
    }

    fn of(secret_key: &p256::SecretKey) -> SigningKey {
        let pem = secret_key.to_pkcs8_pem(LineEnding::LF).expect("a P-256 key encodes as PKCS#8");
        SigningKey { pkcs8_pem: Secret::new(pem.as_str()), public: PublicSigningKey::of(&secret_key.public_key()) }
    }

    /// The key in `path`, or, when there is no file, a new key written there readable by its owner only (0600).
    /// Creating the file fails rather than overwrite one that appeared meanwhile (another node starting at once).
    pub fn load_or_generate(path: &Path) -> Result<SigningKey, KeyError> {
        let file_error = |source| KeyError::File { path: path.display().to_string(), source };
        match std::fs::read_to_string(path) {
            Ok(pem) => return SigningKey::from_pkcs8_pem(&Secret::new(pem)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(file_error(error)),
        }
        let key = SigningKey::generate();
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(file_error)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(file_error)?;
        file.write_all(key.pkcs8_pem.expose().as_bytes()).map_err(file_error)?;
        file.sync_all().map_err(file_error)?;
        Ok(key)
    }

    pub fn public(&self) -> &PublicSigningKey {
        &self.public
    }

    pub fn pkcs8_pem(&self) -> &Secret {
        &self.pkcs8_pem
    }

    pub(crate) fn encoding_key(&self) -> jsonwebtoken::EncodingKey {
        jsonwebtoken::EncodingKey::from_ec_pem(self.pkcs8_pem.expose().as_bytes())
            .expect("a key read as P-256 PKCS#8 is accepted by jsonwebtoken")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_reads_back_with_the_same_thumbprint() {
        let key = SigningKey::generate();
        let again = SigningKey::from_pkcs8_pem(key.pkcs8_pem()).unwrap();
        assert_eq!(key.public(), again.public());
        assert_eq!(PublicSigningKey::from_jwk(&key.public().to_jwk()).unwrap(), *key.public());
        assert_ne!(SigningKey::generate().public().kid, key.public().kid);
        assert!(!format!("{key:?}").contains("PRIVATE"));
    }

    #[test]
    fn the_key_id_is_the_rfc_7638_thumbprint_as_jsonwebtoken_computes_it() {
        let key = SigningKey::generate();
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.public().to_jwk()).unwrap();
        assert_eq!(jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256).unwrap(), key.public().kid);
        let mut wrong_kid = key.public().to_jwk();
        wrong_kid["kid"] = "chosen-by-someone-else".into();
        assert!(PublicSigningKey::from_jwk(&wrong_kid).is_err());
    }
}
