//! API clients (client credentials) and local accounts: secrets kept as argon2id hashes, checked, never printed.

use kmcr_access::{ActivitySet, AssuranceLevel, JobRole, RoleProfile, Scope};
use kmcr_auth::{
    ApiClient, ClientCredentialsError, ClientRegistry, ClientRegistryError, LocalAccount, LocalAccountError,
    LocalAccounts, Secret, hash_secret,
};
use kmcr_fhir::OdsCode;

fn scopes(text: &str) -> Vec<Scope> {
    text.split_whitespace().map(|scope| Scope::parse(scope).unwrap()).collect()
}

fn registry() -> ClientRegistry {
    ClientRegistry::new(vec![ApiClient {
        id: "east-kent-pas".to_string(),
        ods_code: OdsCode::parse("RVV").unwrap(),
        secret_hash: hash_secret(&Secret::new("pas-secret-for-tests")).unwrap(),
        scopes: scopes("system/*.rs system/Encounter.cud"),
        region_wide: None,
    }])
    .unwrap()
}

#[test]
fn a_client_gets_the_scopes_it_asks_for_within_those_it_holds() {
    let registry = registry();
    let secret = Secret::new("pas-secret-for-tests");
    let principal = registry.client_credentials("east-kent-pas", &secret, Some("system/Observation.rs")).unwrap();
    assert_eq!(principal.scopes, scopes("system/Observation.rs"));
    assert_eq!(principal.ods_code.as_str(), "RVV");

    let everything = registry.client_credentials("east-kent-pas", &secret, None).unwrap();
    assert_eq!(everything.scopes, scopes("system/*.rs system/Encounter.cud"));

    for wider in ["system/*.cruds", "system/Observation.c", "user/*.rs", "system/Patient.d", "nonsense"] {
        assert_eq!(
            registry.client_credentials("east-kent-pas", &secret, Some(wider)),
            Err(ClientCredentialsError::InvalidScope(wider.to_string())),
            "{wider}"
        );
    }
}

#[test]
fn a_wrong_secret_and_an_unknown_client_get_the_same_refusal() {
    let registry = registry();
    let wrong = registry.client_credentials("east-kent-pas", &Secret::new("pas-secret-for-test"), None);
    let unknown = registry.client_credentials("someone-else", &Secret::new("pas-secret-for-tests"), None);
    assert_eq!(wrong, Err(ClientCredentialsError::InvalidClient));
    assert_eq!(unknown, Err(ClientCredentialsError::InvalidClient));
    assert_eq!(ClientCredentialsError::InvalidClient.oauth_error_code(), "invalid_client");
}

#[test]
fn clients_hold_only_system_scopes_and_unique_ids() {
    let client = registry().get("east-kent-pas").unwrap().clone();
    assert!(!format!("{client:?}").contains("$argon2id$"));
    let duplicate = ClientRegistry::new(vec![client.clone(), client.clone()]);
    assert_eq!(duplicate.err(), Some(ClientRegistryError::DuplicateClient("east-kent-pas".to_string())));
    let user_scoped = ClientRegistry::new(vec![ApiClient { scopes: scopes("user/*.rs"), ..client }]);
    assert!(matches!(user_scoped, Err(ClientRegistryError::NotASystemScope { .. })));
}

fn receptionist() -> RoleProfile {
    RoleProfile {
        id: "local-1".to_string(),
        ods_code: OdsCode::parse("G82001").unwrap(),
        job_role: JobRole::parse("R8009").unwrap(),
        activities: ActivitySet::expand(["B0370"]),
    }
}

#[test]
fn a_local_account_signs_in_with_its_password_only() {
    let account = LocalAccount {
        username: "demo.receptionist".to_string(),
        password_hash: hash_secret(&Secret::new("a long demo passphrase")).unwrap(),
        user_id: "local-demo-receptionist".to_string(),
        role_profiles: vec![receptionist()],
        assurance: LocalAccount::DEFAULT_ASSURANCE,
    };
    assert_eq!(account.assurance, AssuranceLevel::Aal1);
    let printed = format!("{account:?} {:?}", Secret::new("a long demo passphrase"));
    assert!(!printed.contains("passphrase") && !printed.contains("$argon2id$"), "{printed}");

    let accounts = LocalAccounts::new(vec![account]).unwrap();
    let signed_in = accounts.sign_in("demo.receptionist", &Secret::new("a long demo passphrase")).unwrap();
    assert_eq!(signed_in.user_id, "local-demo-receptionist");
    for (username, password) in [("demo.receptionist", "a long demo passphrasE"), ("nobody", "a long demo passphrase")]
    {
        assert_eq!(
            accounts.sign_in(username, &Secret::new(password)).err(),
            Some(LocalAccountError::WrongUsernameOrPassword)
        );
    }
}

#[test]
fn a_local_account_needs_a_role_profile() {
    let account = LocalAccount {
        username: "no.roles".to_string(),
        password_hash: hash_secret(&Secret::new("whatever it is")).unwrap(),
        user_id: "local-no-roles".to_string(),
        role_profiles: Vec::new(),
        assurance: AssuranceLevel::Aal1,
    };
    assert_eq!(LocalAccounts::new(vec![account]).err(), Some(LocalAccountError::NoRoleProfile("no.roles".to_string())));
}

/// A client switched off in the configuration is refused a token, and told why only once its secret is proven.
#[test]
fn a_client_switched_off_is_refused_a_token_with_the_reason() {
    let registry = registry().with_switched_off(&["east-kent-pas".to_string()]);
    let secret = Secret::new("pas-secret-for-tests");
    let refused = registry.client_credentials("east-kent-pas", &secret, None);
    assert_eq!(refused, Err(ClientCredentialsError::SwitchedOff("east-kent-pas".into())));
    assert_eq!(refused.unwrap_err().oauth_error_code(), "invalid_client");
    let guess = registry.client_credentials("east-kent-pas", &Secret::new("a guess"), None);
    assert_eq!(guess, Err(ClientCredentialsError::InvalidClient), "a stranger learns nothing");
    assert!(registry.get("east-kent-pas").is_none(), "tokens it already holds are refused");
}
