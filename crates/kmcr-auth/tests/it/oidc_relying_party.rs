//! The OpenID Connect relying party against a real provider: `oidc-provider` (Node) in tests/oidc-provider, issuing
//! CIS2-shaped claims, started here for each test and driven over HTTP by a client this test owns.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kmcr_access::{Activity, AssuranceLevel};
use kmcr_auth::{Cis2Identity, OidcError, OidcRelyingParty, OidcSettings, Secret, SignInStart};
use openidconnect::reqwest;
use openidconnect::url::Url;

use crate::support::NOW;

const REDIRECT: &str = "http://127.0.0.1:8913/auth/callback";

/// The provider process, stopped when the test ends however it ends.
struct TestProvider {
    child: Child,
    issuer: String,
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_provider() -> TestProvider {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("oidc-provider");
    if let Err(error) = Command::new("node").arg("--version").output() {
        panic!("the OpenID Connect test needs Node.js 20 or later on PATH (`node`): {error}");
    }
    // Once per test process: the tests here start at the same time, and two `npm ci` in one folder trip each other.
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        if folder.join("node_modules").join("oidc-provider").exists() {
            return;
        }
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&folder)
            .stdout(Stdio::null())
            .status()
            .unwrap_or_else(|error| panic!("npm is needed to install the test provider: {error}"));
        assert!(status.success(), "npm ci failed in {}", folder.display());
    });
    let stderr = if std::env::var_os("TEST_LOG").is_some() { Stdio::inherit() } else { Stdio::null() };
    let mut child = Command::new("node")
        .args(["provider.mjs", "--port", "0", "--redirect-uri", REDIRECT])
        .current_dir(&folder)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("node starts the test provider");
    let mut first_line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut first_line).unwrap();
    // Keep reading what it prints later: a closed pipe would kill it at its next write.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let started: serde_json::Value = serde_json::from_str(&first_line)
        .unwrap_or_else(|_| panic!("the test provider did not start (it printed {first_line:?}); run with TEST_LOG=1"));
    TestProvider { child, issuer: started["issuer"].as_str().unwrap().to_string() }
}

async fn relying_party(provider: &TestProvider) -> OidcRelyingParty {
    OidcRelyingParty::discover(OidcSettings {
        issuer_url: provider.issuer.clone(),
        client_id: "kmcr-test-client".to_string(),
        client_secret: Some(Secret::new("kmcr-test-client-secret-for-tests-only")),
        redirect_uri: REDIRECT.to_string(),
        scopes: OidcSettings::cis2_scopes(),
    })
    .await
    .unwrap()
}

/// What a browser does: follow the provider's redirects, keeping its cookies, until it is sent back to KMCR.
async fn browse_to_callback(start: &SignInStart) -> Vec<(String, String)> {
    let browser = reqwest::ClientBuilder::new().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut cookies: BTreeMap<String, String> = BTreeMap::new();
    let mut url = Url::parse(&start.authorization_url).unwrap();
    for _ in 0..12 {
        let cookie_header: Vec<String> = cookies.iter().map(|(name, value)| format!("{name}={value}")).collect();
        let response = browser.get(url.clone()).header("cookie", cookie_header.join("; ")).send().await.unwrap();
        for set_cookie in response.headers().get_all("set-cookie") {
            let pair = set_cookie.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                cookies.remove(name);
            } else {
                cookies.insert(name.to_string(), value.to_string());
            }
        }
        assert!(response.status().is_redirection(), "the provider answered {} at {url}", response.status());
        let location = response.headers()["location"].to_str().unwrap().to_string();
        url = url.join(&location).unwrap();
        if url.as_str().starts_with(REDIRECT) {
            return url.query_pairs().into_owned().collect();
        }
    }
    panic!("the provider never sent the browser back to KMCR");
}

async fn sign_in(relying_party: &OidcRelyingParty, account: &str) -> Result<Cis2Identity, OidcError> {
    let start = relying_party.begin_sign_in(Some(account), NOW);
    let callback = browse_to_callback(&start).await;
    relying_party.finish_sign_in(&start.pending, &callback).await
}

#[tokio::test]
async fn users_sign_in_through_a_real_provider_with_their_cis2_role_profiles_and_assurance() {
    let provider = start_provider();
    let relying_party = relying_party(&provider).await;

    let start = relying_party.begin_sign_in(Some("clinician-aal3"), NOW);
    let url = Url::parse(&start.authorization_url).unwrap();
    let asked: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(asked["code_challenge_method"], "S256");
    assert_eq!(asked["scope"], "openid profile nationalrbacaccess selectedrole associatedorgs");
    assert_eq!(
        (asked["state"].as_str(), asked["nonce"].as_str()),
        (start.pending.state.as_str(), start.pending.nonce.as_str())
    );
    let callback = browse_to_callback(&start).await;
    let clinician = relying_party.finish_sign_in(&start.pending, &callback).await.unwrap();
    assert_eq!(clinician.user_id, "555021934106");
    assert_eq!((clinician.assurance, clinician.acr.as_deref()), (AssuranceLevel::Aal3, Some("AAL3_ANY")));
    assert_eq!(clinician.role_profiles.len(), 2);
    let selected = clinician.selected_role_profile().unwrap();
    assert_eq!(
        (selected.id.as_str(), selected.ods_code.as_str(), selected.job_role.code.as_str()),
        ("555021935107", "RVV", "R8000")
    );
    assert_eq!(selected.activities.codes().collect::<Vec<_>>(), ["B0168", "B0360", "B0370", "B0401", "B1611"]);
    let practice = clinician.role_profile("555021936108").unwrap();
    assert_eq!((practice.ods_code.as_str(), practice.job_role.code.as_str()), ("G82001", "R8001"));
    assert!(practice.activities.has(Activity::VIEW_PATIENT_MEDICATION));
    assert!(!practice.activities.has(Activity::VIEW_DETAILED_HEALTH_RECORDS));
    assert_eq!(clinician.organisations.len(), 2);

    // A code is good once: the same callback again is refused by the provider.
    let replay = relying_party.finish_sign_in(&start.pending, &callback).await;
    assert!(matches!(&replay, Err(OidcError::CodeExchange(text)) if text.contains("invalid_grant")), "{replay:?}");

    let nurse = sign_in(&relying_party, "nurse-aal2").await.unwrap();
    assert_eq!(nurse.assurance, AssuranceLevel::Aal2);
    assert_eq!(nurse.selected_role_profile().unwrap().job_role.code, "R8001");

    let unassured = sign_in(&relying_party, "no-acr").await.unwrap();
    assert_eq!((unassured.assurance, unassured.acr.as_deref()), (AssuranceLevel::Unknown, None));
    assert!(unassured.selected_role_profile().is_none());
}

#[tokio::test]
async fn a_wrong_state_a_wrong_nonce_and_a_tampered_id_token_are_refused() {
    let provider = start_provider();
    let relying_party = relying_party(&provider).await;

    let start = relying_party.begin_sign_in(Some("clinician-aal3"), NOW);
    let mut callback = browse_to_callback(&start).await;
    for (name, value) in callback.iter_mut() {
        if name == "state" {
            value.push('x');
        }
    }
    let wrong_state = relying_party.finish_sign_in(&start.pending, &callback).await;
    assert!(matches!(wrong_state, Err(OidcError::StateMismatch)), "{wrong_state:?}");

    let start = relying_party.begin_sign_in(Some("clinician-aal3"), NOW);
    let callback = browse_to_callback(&start).await;
    let code = kmcr_auth::oidc::check_callback(&start.pending, &callback).unwrap();
    let tokens = relying_party.exchange_code(code, &start.pending.pkce_verifier).await.unwrap();
    let wrong_nonce = relying_party.verify_id_token(&tokens.id_token, "a-nonce-this-sign-in-never-sent");
    assert!(matches!(wrong_nonce, Err(OidcError::IdTokenRefused(_))), "{wrong_nonce:?}");

    let parts: Vec<&str> = tokens.id_token.split('.').collect();
    let mut claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["acr"], "AAL3_ANY");
    claims["sub"] = "someone-else".into();
    let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap()), parts[2]);
    let tampered = relying_party.verify_id_token(&forged, &start.pending.nonce);
    assert!(matches!(tampered, Err(OidcError::IdTokenRefused(_))), "{tampered:?}");

    // The untouched token with the right nonce passes: what failed above was the nonce and the tampering.
    let genuine = relying_party.verify_id_token(&tokens.id_token, &start.pending.nonce).unwrap();
    assert_eq!(genuine.subject, "clinician-aal3");
}
