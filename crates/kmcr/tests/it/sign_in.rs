//! Signing in to KMCR through NHS CIS2 (OpenID Connect), end to end: a SMART app's standalone launch, driven by a
//! browser over HTTP, through KMCR's sign-in page to a real OpenID Connect provider (`oidc-provider`, Node, in
//! crates/kmcr-auth/tests/oidc-provider) issuing CIS2 claims, back to KMCR, to the app with a code, and the code
//! exchanged for a token that reads what the role profile chosen at CIS2 may read, and no more.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Url;
use serde_json::{Value, json};
use sha2::Digest;

use crate::browser::Browser;

const APP_ID: &str = "e2e-smart-app";
/// No server listens there: the test catches the redirect, as an app's page would receive it.
const APP_REDIRECT: &str = "http://127.0.0.1:9/callback";
const PROVIDER_CLIENT_ID: &str = "kmcr-test-client";
const PROVIDER_CLIENT_SECRET: &str = "kmcr-test-client-secret-for-tests-only";
/// The test provider's account with two CIS2 role profiles, the GP practice one (G82001) listed first and the acute
/// trust one (RVV) selected at sign-in, and AAL3: a token for the first-listed role would be a bug.
const ACCOUNT: &str = "clinician-aal3-practice-first";
const USER_ID: &str = "555021934409";
const SELECTED_ROLE_ID: &str = "5550219351074";

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

fn provider_folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../kmcr-auth/tests/oidc-provider")
}

/// `npm ci` in the provider's folder on a machine that has not run it yet (once per test process).
fn install_provider() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let folder = provider_folder();
        if let Err(error) = Command::new("node").arg("--version").output() {
            panic!("the OpenID Connect test needs Node.js 20 or later on PATH (`node`): {error}");
        }
        if !folder.join("node_modules").join("oidc-provider").exists() {
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&folder)
                .stdout(Stdio::null())
                .status()
                .unwrap_or_else(|error| panic!("npm is needed to install the test provider: {error}"));
            assert!(status.success(), "npm ci failed in {}", folder.display());
        }
    });
}

/// Starts the provider with KMCR's callback as its client's redirect URI, on whatever port KMCR will bind (a loopback
/// redirect URI matches on any port: RFC 8252 section 7.3), so that neither needs a port chosen in advance.
fn start_provider() -> TestProvider {
    install_provider();
    let stderr = if std::env::var_os("TEST_LOG").is_some() { Stdio::inherit() } else { Stdio::null() };
    let mut child = Command::new("node")
        .args(["provider.mjs", "--port", "0", "--redirect-uri", "http://127.0.0.1/oauth/oidc/callback"])
        .arg("--loopback-any-port")
        .current_dir(provider_folder())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("node starts the test provider");
    let mut first_line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut first_line).unwrap();
    // Keep reading what it prints later: a closed pipe would kill it at its next write.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let started: Value = serde_json::from_str(&first_line)
        .unwrap_or_else(|_| panic!("the test provider did not start (it printed {first_line:?}); run with TEST_LOG=1"));
    TestProvider { child, issuer: started["issuer"].as_str().unwrap().to_string() }
}

/// KMCR's configuration: the provider, the two organisations, a system client for each (to write a little data) and
/// a public SMART app.
fn write_config(directory: &std::path::Path, issuer: &str) -> PathBuf {
    let secret_hash = crate::hash_secret("e2e-system-secret");
    let config = format!(
        r#"[oidc]
issuer_url = "{issuer}"
client_id = "{PROVIDER_CLIENT_ID}"
client_secret = "{PROVIDER_CLIENT_SECRET}"

[[organisations]]
ods_code = "RVV"
name = "East Kent Hospitals"
kind = "acute"

[[organisations]]
ods_code = "G82001"
name = "Test Surgery"
kind = "gp-practice"

[[clients]]
id = "rvv-pas"
secret_hash = "{secret_hash}"
ods_code = "RVV"
scopes = ["system/*.*"]

[[clients]]
id = "g82001-gp-system"
secret_hash = "{secret_hash}"
ods_code = "G82001"
scopes = ["system/*.*"]

[[smart_apps]]
client_id = "{APP_ID}"
name = "End-to-end test app"
redirect_uris = ["{APP_REDIRECT}"]
scopes = ["user/*.rs"]
"#
    );
    let path = directory.join("kmcr.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// Creates `resource` as the system client's organisation; its id.
async fn create(base: &str, bearer: &str, resource: Value) -> String {
    let resource_type = resource["resourceType"].as_str().unwrap().to_string();
    let response = reqwest::Client::new()
        .post(format!("{base}/fhir/{resource_type}"))
        .header("authorization", bearer)
        .header("content-type", "application/fhir+json")
        .body(resource.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let location = response.headers().get("location").map(|value| value.to_str().unwrap().to_string());
    assert_eq!(status, 201, "creating a {resource_type}: {}", response.text().await.unwrap());
    let location = location.expect("a Location header");
    location.split(&format!("/{resource_type}/")).nth(1).unwrap().split('/').next().unwrap().to_string()
}

struct Person {
    patient_id: String,
    observation_id: String,
}

/// A person known to one organisation: its Patient record, an Observation, and, for a hospital, an Encounter (a
/// GP practice's own Patient record makes it the registered practice; a hospital has a relationship through a
/// contact).
async fn load_person(base: &str, client_id: &str, family: &str, birth_date: &str, encounter: bool) -> Person {
    let bearer = crate::bearer(base.trim_start_matches("http://"), client_id, "e2e-system-secret");
    let patient = json!({
        "resourceType": "Patient",
        "name": [{"family": family, "given": ["Test"]}],
        "gender": "female",
        "birthDate": birth_date,
    });
    let patient_id = create(base, &bearer, patient).await;
    let subject = json!({"reference": format!("Patient/{patient_id}")});
    if encounter {
        let encounter = json!({
            "resourceType": "Encounter",
            "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": subject,
            "period": {"start": "2025-12-01T09:00:00Z"},
        });
        create(base, &bearer, encounter).await;
    }
    let observation = json!({
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "27113001", "display": "Body weight"}]},
        "subject": subject,
        "valueQuantity": {"value": 70, "unit": "kg"},
    });
    let observation_id = create(base, &bearer, observation).await;
    Person { patient_id, observation_id }
}

/// The access token's claims, as KMCR signed them (its payload, not checked here: KMCR checks it on every request).
fn token_claims(access_token: &str) -> Value {
    let payload = access_token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn fhir_get(base: &str, access_token: &str, path: &str) -> (u16, Value) {
    let response =
        reqwest::Client::new().get(format!("{base}/fhir/{path}")).bearer_auth(access_token).send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_smart_app_signs_a_user_in_through_cis2_and_reads_as_the_role_profile_selected_there() {
    let provider = start_provider();
    let directory = std::env::temp_dir().join(format!("kmcr-e2e-oidc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    let config = write_config(&directory, &provider.issuer);
    let server = crate::start_serving(&["--config", config.to_str().unwrap()], directory.join("store"));
    let base = format!("http://{}", server.address);

    // The hospital (RVV, the selected role's organisation) has an inpatient; the GP practice (G82001, the user's
    // other role) has its own registered patient, of whom RVV knows nothing.
    let inpatient = load_person(&base, "rvv-pas", "Inpatient", "1961-02-03", true).await;
    let practice_patient = load_person(&base, "g82001-gp-system", "Registered", "1990-11-12", false).await;

    // The app starts a standalone launch, with PKCE.
    let mut verifier_bytes = [0u8; 32];
    getrandom::fill(&mut verifier_bytes).unwrap();
    let verifier = URL_SAFE_NO_PAD.encode(verifier_bytes);
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let authorize = Url::parse_with_params(
        &format!("{base}/oauth/authorize"),
        [
            ("response_type", "code"),
            ("client_id", APP_ID),
            ("redirect_uri", APP_REDIRECT),
            ("scope", "openid fhirUser user/*.rs"),
            ("state", "app-state-42"),
            ("aud", &format!("{base}/fhir")),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .unwrap();

    let mut browser = Browser::new();
    let sign_in_page = browser.get(&authorize).await;
    assert_eq!(sign_in_page.status, 200, "{}", sign_in_page.body);
    let cis2_link = sign_in_page
        .attribute_values("href")
        .into_iter()
        .find(|href| href.starts_with("/oauth/oidc/start?"))
        .expect("the sign-in page offers CIS2");

    // KMCR sends the browser to the provider, whose sign-in form comes back.
    let provider_form = browser.follow(&sign_in_page.url.join(&cis2_link).unwrap(), APP_REDIRECT).await;
    assert!(provider_form.url.as_str().starts_with(&provider.issuer), "{}", provider_form.url);
    assert_eq!(provider_form.status, 200, "{}", provider_form.body);
    let action = provider_form.attribute_values("action").into_iter().next().expect("the provider's form");
    let signed_in = browser.post_form(&provider_form.url.join(&action).unwrap(), &[("account", ACCOUNT)]).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);

    // The provider sends the browser back to KMCR's callback, and KMCR, the role chosen at CIS2, on to the app.
    let last = browser.follow(signed_in.location.as_ref().unwrap(), APP_REDIRECT).await;
    assert!(last.url.as_str().starts_with(&format!("{base}/oauth/oidc/callback")), "{}: {}", last.url, last.body);
    let back_at_app = last.location.expect("KMCR redirects to the app without asking for a role");
    assert!(back_at_app.as_str().starts_with(APP_REDIRECT), "{back_at_app}");
    let answer: std::collections::BTreeMap<String, String> = back_at_app.query_pairs().into_owned().collect();
    assert_eq!(answer.get("state").map(String::as_str), Some("app-state-42"));
    let code = answer.get("code").expect("a code");

    // The app exchanges the code with its PKCE verifier.
    let token_url = format!("{base}/oauth/token");
    let exchange = |verifier: String| {
        let form = [
            ("grant_type", "authorization_code".to_string()),
            ("code", code.clone()),
            ("redirect_uri", APP_REDIRECT.to_string()),
            ("client_id", APP_ID.to_string()),
            ("code_verifier", verifier),
        ];
        reqwest::Client::new().post(&token_url).form(&form).send()
    };
    let token = exchange(verifier.clone()).await.unwrap();
    assert_eq!(token.status().as_u16(), 200);
    let token: Value = serde_json::from_str(&token.text().await.unwrap()).unwrap();
    let access_token = token["access_token"].as_str().expect("an access token").to_string();
    assert!(token["scope"].as_str().unwrap().split(' ').any(|scope| scope == "user/*.rs"), "{token}");

    // The token is the CIS2 user in the role selected at CIS2, with the assurance CIS2 gave (acr AAL3_ANY).
    let claims = token_claims(&access_token)["kmcr"].clone();
    assert_eq!(
        (&claims["kind"], &claims["user_id"], &claims["role_profile_id"], &claims["ods_code"], &claims["assurance"]),
        (&json!("user"), &json!(USER_ID), &json!(SELECTED_ROLE_ID), &json!("RVV"), &json!("AAL3")),
        "{claims}"
    );

    // Reading as that role: the hospital's inpatient, in full.
    let (status, patient) = fhir_get(&base, &access_token, &format!("Patient/{}", inpatient.patient_id)).await;
    assert_eq!((status, &patient["name"][0]["family"]), (200, &json!("Inpatient")), "{patient}");
    let (status, observation) =
        fhir_get(&base, &access_token, &format!("Observation/{}", inpatient.observation_id)).await;
    assert_eq!(status, 200, "{observation}");
    let (status, everything) =
        fhir_get(&base, &access_token, &format!("Patient/{}/$everything", inpatient.patient_id)).await;
    assert_eq!(status, 200, "{everything}");
    let n_entries = everything["entry"].as_array().map_or(0, Vec::len);
    assert!(n_entries >= 3, "Patient, Encounter and Observation: {everything}");

    // Not the practice's patient: RVV has no relationship with them, and the token is not for the G82001 role
    // profile (which would have one). Their Observation is not announced; their record is refused.
    let (status, body) =
        fhir_get(&base, &access_token, &format!("Observation/{}", practice_patient.observation_id)).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) =
        fhir_get(&base, &access_token, &format!("Patient/{}/$everything", practice_patient.patient_id)).await;
    assert_eq!(status, 403, "{body}");

    // A code is good once, even with its verifier.
    let replay = exchange(verifier).await.unwrap();
    assert_eq!(replay.status().as_u16(), 400);

    drop(server);
    drop(provider);
    let _ = std::fs::remove_dir_all(&directory);
}

/// The clinician viewer signs a user in through the same provider: back through KMCR's callback to a viewer session
/// in the role profile selected at CIS2, whose pages read as that role profile may.
#[tokio::test]
async fn the_clinician_viewer_signs_a_user_in_through_cis2_in_the_role_profile_selected_there() {
    let provider = start_provider();
    let directory = std::env::temp_dir().join(format!("kmcr-e2e-viewer-oidc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    let config = write_config(&directory, &provider.issuer);
    let server = crate::start_serving(&["--config", config.to_str().unwrap()], directory.join("store"));
    let base = format!("http://{}", server.address);
    let inpatient = load_person(&base, "rvv-pas", "Inpatient", "1961-02-03", true).await;
    let practice_patient = load_person(&base, "g82001-gp-system", "Registered", "1990-11-12", false).await;

    let mut browser = Browser::new();
    let viewer = Url::parse(&format!("{base}/viewer")).unwrap();
    let sign_in_page = browser.follow(&viewer, "http://never").await;
    assert!(sign_in_page.url.as_str().ends_with("/viewer/sign-in"), "{}", sign_in_page.url);
    let cis2_link = sign_in_page
        .attribute_values("href")
        .into_iter()
        .find(|href| href == "/viewer/sign-in/cis2")
        .expect("the viewer's sign-in page offers CIS2");
    let provider_form = browser.follow(&sign_in_page.url.join(&cis2_link).unwrap(), "http://never").await;
    assert!(provider_form.url.as_str().starts_with(&provider.issuer), "{}", provider_form.url);
    let action = provider_form.attribute_values("action").into_iter().next().expect("the provider's form");
    let signed_in = browser.post_form(&provider_form.url.join(&action).unwrap(), &[("account", ACCOUNT)]).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);

    // Back through the callback, straight to the search: the role profile was chosen at CIS2.
    let home = browser.follow(signed_in.location.as_ref().unwrap(), "http://never").await;
    assert_eq!((home.status, home.url.path()), (200, "/viewer"), "{}", home.body);
    assert!(
        home.body.contains(&format!("{USER_ID}, acting as R8000 Clinical Practitioner at East Kent Hospitals (RVV)")),
        "{}",
        home.body
    );

    let inpatient_page =
        browser.get(&Url::parse(&format!("{base}/viewer/person/{}", inpatient.patient_id)).unwrap()).await;
    assert_eq!(inpatient_page.status, 200);
    assert!(
        inpatient_page.body.contains("Inpatient") && inpatient_page.body.contains("Body weight"),
        "{}",
        inpatient_page.body
    );
    let practice_page =
        browser.get(&Url::parse(&format!("{base}/viewer/person/{}", practice_patient.patient_id)).unwrap()).await;
    assert!(
        practice_page.body.contains("Declare a legitimate relationship"),
        "not the G82001 role: {}",
        practice_page.body
    );
    assert!(!practice_page.body.contains("Body weight"));

    drop(server);
    drop(provider);
    let _ = std::fs::remove_dir_all(&directory);
}
