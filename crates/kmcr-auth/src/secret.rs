//! Secrets that must never be printed (passwords, client secrets, private keys, PKCE verifiers), random values for
//! token ids, codes and sessions, and the constant-time comparison used wherever a secret is checked.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A secret held in memory. `Debug` and `Display` show only that it is there, so a secret cannot reach a log by
/// accident; [`Secret::expose`] makes each read visible in the code.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(hidden)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(hidden)")
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Secret {
        Secret(text)
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Secret {
        Secret(text.to_string())
    }
}

/// `n_bytes` random bytes from the operating system, base64url without padding: token ids, authorisation codes,
/// refresh tokens and session ids. 32 bytes (256 bits) cannot be guessed.
pub fn random_url_safe(n_bytes: usize) -> String {
    let mut bytes = vec![0u8; n_bytes];
    // The operating system's generator failing is not an operating error KMCR can recover from.
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares two byte strings in time that depends only on their lengths, not on where they first differ.
pub fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    if left.len() != right.len() {
        return false;
    }
    left.iter().zip(right).fold(0u8, |difference, (a, b)| difference | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints() {
        let secret = Secret::new("correct horse battery staple");
        assert_eq!(format!("{secret:?} {secret}"), "Secret(hidden) (hidden)");
        assert_eq!(secret.expose(), "correct horse battery staple");
    }

    #[test]
    fn random_values_differ_and_compare() {
        let first = random_url_safe(32);
        assert_eq!(first.len(), 43);
        assert_ne!(first, random_url_safe(32));
        assert!(constant_time_eq(first.as_bytes(), first.as_bytes()));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
