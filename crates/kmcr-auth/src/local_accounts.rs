//! Local accounts for the embedded default and demonstrations: a username and an argon2id password hash in
//! configuration, with the role profiles the person may act in. Production sign-in goes through OpenID Connect.
//!
//! A password is one factor, so a local account's assurance defaults to AAL1 (NIST SP 800-63B). A deployment may
//! configure more for an account only where a second factor is enforced in front of KMCR; with the default access
//! settings, sealed items (B1611) and break-glass (B0168) need AAL3 and so stay closed to local accounts.

use std::collections::BTreeMap;

use kmcr_access::{AssuranceLevel, RoleProfile};

use crate::password::{SecretHash, spend_time_as_if_checking};
use crate::secret::Secret;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalAccount {
    pub username: String,
    pub password_hash: SecretHash,
    /// The id that stands for the user in tokens and the audit.
    pub user_id: String,
    pub role_profiles: Vec<RoleProfile>,
    pub assurance: AssuranceLevel,
}

impl LocalAccount {
    /// The assurance a password alone gives.
    pub const DEFAULT_ASSURANCE: AssuranceLevel = AssuranceLevel::Aal1;

    pub fn verify_password(&self, password: &Secret) -> bool {
        self.password_hash.verify(password)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalAccountError {
    #[error("the username {0:?} is configured twice")]
    DuplicateUsername(String),
    #[error("the account {0:?} has no role profile to act in")]
    NoRoleProfile(String),
    /// Unknown username or wrong password: the same answer for both.
    #[error("the username or password is not right")]
    WrongUsernameOrPassword,
}

/// The local accounts of a deployment, by username.
#[derive(Clone, Debug, Default)]
pub struct LocalAccounts {
    accounts: BTreeMap<String, LocalAccount>,
}

impl LocalAccounts {
    pub fn new(accounts: Vec<LocalAccount>) -> Result<LocalAccounts, LocalAccountError> {
        let mut by_username = BTreeMap::new();
        for account in accounts {
            if account.role_profiles.is_empty() {
                return Err(LocalAccountError::NoRoleProfile(account.username));
            }
            if by_username.contains_key(&account.username) {
                return Err(LocalAccountError::DuplicateUsername(account.username));
            }
            by_username.insert(account.username.clone(), account);
        }
        Ok(LocalAccounts { accounts: by_username })
    }

    /// The account whose password this is; an unknown username takes as long as a wrong password.
    pub fn sign_in(&self, username: &str, password: &Secret) -> Result<&LocalAccount, LocalAccountError> {
        let Some(account) = self.accounts.get(username) else {
            spend_time_as_if_checking(password);
            return Err(LocalAccountError::WrongUsernameOrPassword);
        };
        if account.verify_password(password) { Ok(account) } else { Err(LocalAccountError::WrongUsernameOrPassword) }
    }
}
