//! Secrets at rest: argon2id in the PHC string format (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), for local account
//! passwords and API client secrets. Only the hash is kept in configuration; checking compares in constant time.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::secret::Secret;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("not an argon2id hash in PHC format ($argon2id$v=19$m=…,t=…,p=…$salt$hash): {0}")]
    NotArgon2idPhc(String),
    #[error("a secret to hash must not be empty")]
    EmptySecret,
    #[error("hashing failed: {0}")]
    Hashing(String),
}

/// An argon2id PHC hash, checked to be one when it is read from configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash(String);

impl SecretHash {
    pub fn parse(text: &str) -> Result<SecretHash, PasswordError> {
        let text = text.trim();
        let parsed = PasswordHash::new(text).map_err(|error| PasswordError::NotArgon2idPhc(error.to_string()))?;
        if parsed.algorithm != Algorithm::Argon2id.ident() {
            return Err(PasswordError::NotArgon2idPhc(format!("the algorithm is {}", parsed.algorithm)));
        }
        if parsed.hash.is_none() || parsed.salt.is_none() {
            return Err(PasswordError::NotArgon2idPhc("the salt or the hash is missing".to_string()));
        }
        Ok(SecretHash(text.to_string()))
    }

    pub fn as_phc(&self) -> &str {
        &self.0
    }

    /// Whether `secret` is the one hashed. argon2's comparison of the outputs is constant-time.
    pub fn verify(&self, secret: &Secret) -> bool {
        let parsed = PasswordHash::new(&self.0).expect("checked to be a PHC string when parsed");
        Argon2::default().verify_password(secret.expose().as_bytes(), &parsed).is_ok()
    }
}

/// Hashes are not secret, but there is no reason to print them either.
impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(argon2id)")
    }
}

/// Hashes a secret with argon2id (OWASP's recommended parameters: 19 MiB, 2 passes, 1 lane) and a random salt,
/// for `kmcr hash-secret` and for tests.
pub fn hash_secret(secret: &Secret) -> Result<SecretHash, PasswordError> {
    if secret.expose().is_empty() {
        return Err(PasswordError::EmptySecret);
    }
    let mut salt_bytes = [0u8; 16];
    getrandom::fill(&mut salt_bytes).expect("the operating system provides random bytes");
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|error| PasswordError::Hashing(error.to_string()))?;
    let hash = argon2id()
        .hash_password(secret.expose().as_bytes(), &salt)
        .map_err(|error| PasswordError::Hashing(error.to_string()))?;
    Ok(SecretHash(hash.to_string()))
}

fn argon2id() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// A hash of nothing anyone knows, checked when the client or account named does not exist so that the answer
/// takes as long as for one that does (an attacker must not learn which names exist from timing).
pub(crate) fn spend_time_as_if_checking(secret: &Secret) {
    static DECOY: std::sync::OnceLock<SecretHash> = std::sync::OnceLock::new();
    let decoy = DECOY
        .get_or_init(|| hash_secret(&Secret::new(crate::secret::random_url_safe(32))).expect("a random secret hashes"));
    let _ = decoy.verify(secret);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_checks_its_secret_and_no_other() {
        let hash = hash_secret(&Secret::new("s3cret-for-tests")).unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hash.verify(&Secret::new("s3cret-for-tests")));
        assert!(!hash.verify(&Secret::new("s3cret-for-test")));
        assert_eq!(SecretHash::parse(hash.as_phc()).unwrap(), hash);
    }

    #[test]
    fn only_argon2id_phc_hashes_are_accepted() {
        assert!(SecretHash::parse("plain-text-secret").is_err());
        assert!(SecretHash::parse("$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA").is_err());
        assert_eq!(hash_secret(&Secret::new("")), Err(PasswordError::EmptySecret));
    }
}
