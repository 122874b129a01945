//! People signing in: SMART App Launch (standalone, PKCE) through the sign-in page, tokens bound to one user and one
//! role profile, sign-out and revocation, discovery and the JWKS; and every route reaching the access decision.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::BodyExt;
use kmcr_access::{ActivitySet, JobRole, RoleProfile, Scope};
use kmcr_auth::{LocalAccount, SmartApp, SmartClientKind};
use kmcr_fhir::OdsCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use crate::harness::{BASE, TEST_SECRET, TestApi, test_secret_hash};

pub const APP_ID: &str = "test-app";
pub const REDIRECT_URI: &str = "http://app.test/callback";

fn role(id: &str, ods_code: &str, job_role: &str, activities: &[&str]) -> RoleProfile {
    RoleProfile {
        id: id.into(),
        ods_code: OdsCode::parse(ods_code).unwrap(),
        job_role: JobRole::parse(job_role).unwrap(),
        activities: ActivitySet::expand(activities.iter().copied()),
    }
}

/// `gp-user` (a GP at G82001), `two-roles` (a GP at G82001 who is also a receptionist at RWF), `ig-user`, and
/// `urgent-care` (a clinician at G82001 who may break glass, signed in at AAL3) and `sealed-gp` (a GP at G82001 with
/// B1611, at AAL3).
pub fn test_accounts() -> Vec<LocalAccount> {
    let account = |username: &str, role_profiles| LocalAccount {
        username: username.into(),
        password_hash: test_secret_hash(),
        user_id: format!("user-{username}"),
        role_profiles,
        assurance: LocalAccount::DEFAULT_ASSURANCE,
    };
    vec![
        account("gp-user", vec![role("gp-role", "G82001", "S8000:G8000:R8000", &["B0360"])]),
        account(
            "two-roles",
            vec![
                role("two-gp", "G82001", "S8000:G8000:R8000", &["B0360"]),
                role("two-reception", "RWF", "S8000:G8000:R8009", &[]),
            ],
        ),
        account("ig-user", vec![role("ig-role", "G82001", "S0001:G0001:R0001", &[])]),
        LocalAccount {
            assurance: kmcr_access::AssuranceLevel::Aal3,
            ..account("urgent-care", vec![role("urgent-role", "G82001", "S8000:G8000:R8000", &["B0360", "B0168"])])
        },
        LocalAccount {
            assurance: kmcr_access::AssuranceLevel::Aal3,
            ..account("sealed-gp", vec![role("sealed-role", "G82001", "S8000:G8000:R8000", &["B0360", "B1611"])])
        },
    ]
}

pub fn test_smart_apps() -> Vec<SmartApp> {
    vec![SmartApp {
        client_id: APP_ID.into(),
        name: "Test app".into(),
        kind: SmartClientKind::Public,
        redirect_uris: vec![REDIRECT_URI.into()],
        scopes: vec![Scope::parse("user/*.rs").unwrap(), Scope::parse("user/Consent.cu").unwrap()],
    }]
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
}

async fn send(api: &TestApi, request: Request<Body>) -> Answer {
    send_to(&api.router, request).await
}

async fn send_to(node: &axum::Router, request: Request<Body>) -> Answer {
    let response = node.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    Answer { status, headers, text }
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in {html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// A standalone launch as a SMART client makes it: authorize, sign in (choosing `role` when asked), the code back at
/// the redirect URI, the token exchange with the PKCE verifier. The token response.
pub async fn launch(api: &TestApi, username: &str, role: Option<&str>) -> Value {
    let code = sign_in_for_code(&api.router, &api.router, username, role).await;
    exchange_code(&api.router, &code).await
}

const VERIFIER: &str = "a-pkce-verifier-of-more-than-forty-three-characters-0123456789";

/// The launch up to the code: the sign-in page from `first`, the sign-in and choice of role posted to `second`.
async fn sign_in_for_code(first: &axum::Router, second: &axum::Router, username: &str, role: Option<&str>) -> String {
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    let query = form(&[
        ("response_type", "code"),
        ("client_id", APP_ID),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid fhirUser offline_access user/*.rs"),
        ("state", "state-123"),
        ("aud", BASE),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    let page = send_to(first, Request::get(format!("/oauth/authorize?{query}")).body(Body::empty()).unwrap()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let csp = page.headers.get("content-security-policy").unwrap().to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "no script runs on the sign-in page");
    let cookie = page.headers.get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
    let flow = hidden_value(&page.text, "flow");
    let sign_in = Request::post("/oauth/authorize")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", &cookie)
        .body(Body::from(form(&[
            ("flow", &flow),
            ("action", "sign-in"),
            ("username", username),
            ("password", TEST_SECRET),
        ])))
        .unwrap();
    let mut answer = send_to(second, sign_in).await;
    if let Some(role) = role {
        assert_eq!(answer.status, StatusCode::OK, "a choice of role profile: {}", answer.text);
        let choose = Request::post("/oauth/authorize")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &cookie)
            .body(Body::from(form(&[("flow", &flow), ("action", "choose-role"), ("role_profile", role)])))
            .unwrap();
        answer = send_to(second, choose).await;
    }
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text);
    let location = answer.headers.get("location").unwrap().to_str().unwrap();
    assert!(location.starts_with(REDIRECT_URI) && location.contains("state=state-123"), "{location}");
    location.split("code=").nth(1).unwrap().split('&').next().unwrap().to_string()
}

async fn exchange_code(node: &axum::Router, code: &str) -> Value {
    let tokens = send_to(node, exchange_request(code)).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    serde_json::from_str(&tokens.text).unwrap()
}

fn exchange_request(code: &str) -> Request<Body> {
    Request::post("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", APP_ID),
            ("code_verifier", VERIFIER),
        ])))
        .unwrap()
}

async fn get(api: &TestApi, token: &str, path: &str) -> (StatusCode, Value) {
    get_from(&api.router, token, path).await
}

async fn get_from(node: &axum::Router, token: &str, path: &str) -> (StatusCode, Value) {
    let request = Request::get(path).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap();
    let answer = send_to(node, request).await;
    (answer.status, serde_json::from_str(&answer.text).unwrap_or(Value::Null))
}

fn refresh_request(token: &str) -> Request<Body> {
    Request::post("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form(&[("grant_type", "refresh_token"), ("refresh_token", token), ("client_id", APP_ID)])))
        .unwrap()
}

async fn create_patient(api: &TestApi, client: &str, family: &str) -> String {
    let patient = json!({ "resourceType": "Patient", "name": [{ "family": family, "given": ["Sam"] }], "birthDate": "1970-01-01" });
    let reply = api.fhir(client, "POST", "Patient", Some(&patient), &[]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_string()
}

async fn create_observation(api: &TestApi, client: &str, patient_id: &str) -> String {
    let observation = json!({ "resourceType": "Observation", "status": "final",
        "code": { "coding": [{ "system": "http://loinc.org", "code": "8480-6" }] },
        "subject": { "reference": format!("Patient/{patient_id}") } });
    let reply = api.fhir(client, "POST", "Observation", Some(&observation), &[]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_smart_app_launches_for_a_user_who_reads_only_what_their_role_may() {
    let api = TestApi::new().await;
    let registered = create_patient(&api, "gp", "Registered").await;
    let registered_observation = create_observation(&api, "gp", &registered).await;
    let elsewhere = create_patient(&api, "acute", "Elsewhere").await;
    let elsewhere_observation = create_observation(&api, "acute", &elsewhere).await;

    let tokens = launch(&api, "gp-user", None).await;
    let token = tokens["access_token"].as_str().unwrap();
    assert!(tokens["scope"].as_str().unwrap().contains("user/*.rs"), "{tokens}");
    let (status, _) = get(&api, token, &format!("/fhir/Observation/{registered_observation}")).await;
    assert_eq!(status, StatusCode::OK, "a patient registered at the user's practice");
    let (status, _) = get(&api, token, &format!("/fhir/Patient/{elsewhere}")).await;
    assert_eq!(status, StatusCode::OK, "the banner of anyone");
    let (status, _) = get(&api, token, &format!("/fhir/Observation/{elsewhere_observation}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no relationship: the item is as if not there");
    let (status, body) = get(&api, token, &format!("/fhir/Patient/{elsewhere}/$everything")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = get(&api, token, &format!("/fhir/Observation?patient={elsewhere}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = get(&api, token, "/fhir/Observation?code=8480-6&_summary=count").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a count across people is no oracle: {body}");

    // Declaring a relationship, with a reason, opens the record; the grant is in the audit.
    let declare = Request::post("/access/grants")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(
            json!({ "kind": "declared-relationship", "patient": elsewhere, "reason": "Home visit requested by the district nurse" })
                .to_string(),
        ))
        .unwrap();
    let declared = send(&api, declare).await;
    assert_eq!(declared.status, StatusCode::CREATED, "{}", declared.text);
    let (status, _) = get(&api, token, &format!("/fhir/Observation/{elsewhere_observation}")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_token_is_bound_to_one_role_profile_and_dies_with_its_session() {
    let api = TestApi::new().await;
    let patient = create_patient(&api, "gp", "Bound").await;
    let observation = create_observation(&api, "gp", &patient).await;
    let as_receptionist = launch(&api, "two-roles", Some("two-reception")).await;
    let receptionist_token = as_receptionist["access_token"].as_str().unwrap();
    let (status, _) = get(&api, receptionist_token, &format!("/fhir/Observation/{observation}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the receptionist role at RWF sees no clinical data");
    let as_gp = launch(&api, "two-roles", Some("two-gp")).await;
    let gp_token = as_gp["access_token"].as_str().unwrap();
    let (status, _) = get(&api, gp_token, &format!("/fhir/Observation/{observation}")).await;
    assert_eq!(status, StatusCode::OK, "the same person as a GP at the practice");

    // Refresh rotates; the old refresh token, replayed, is refused and ends the grant.
    let refresh_token = as_gp["refresh_token"].as_str().expect("offline_access gives a refresh token");
    let refreshed = send(&api, refresh_request(refresh_token)).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    let replayed = send(&api, refresh_request(refresh_token)).await;
    assert_eq!(replayed.status, StatusCode::BAD_REQUEST, "{}", replayed.text);

    let sign_out = Request::post("/oauth/sign-out")
        .header("authorization", format!("Bearer {gp_token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&api, sign_out).await.status, StatusCode::NO_CONTENT);
    let (status, _) = get(&api, gp_token, &format!("/fhir/Observation/{observation}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "signed out: the token is refused before it expires");
    let mut altered = receptionist_token.to_string();
    altered.push('x');
    let (status, _) = get(&api, &altered, &format!("/fhir/Patient/{patient}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Two nodes of one deployment behind a load balancer that sends each request where it likes: the sign-in page from
/// one, the password to the other; the code redeemed once whichever node it reaches; the token honoured by both; a
/// sign-out through one refused by the other.
#[tokio::test]
async fn a_sign_in_through_one_node_is_honoured_and_ended_on_every_node() {
    for api in TestApi::on_every_backend().await {
        let backend = api.backend;
        let (first, second) = (api.router.clone(), api.another_node().await);
        let patient = create_patient(&api, "gp", "Nodes").await;
        let observation = create_observation(&api, "gp", &patient).await;

        let code = sign_in_for_code(&first, &second, "gp-user", None).await;
        let tokens = exchange_code(&first, &code).await;
        let token = tokens["access_token"].as_str().unwrap();
        for node in [&first, &second] {
            let (status, _) = get_from(node, token, &format!("/fhir/Observation/{observation}")).await;
            assert_eq!(status, StatusCode::OK, "{backend}: the token is honoured by every node");
        }
        let refreshed = send_to(&second, refresh_request(tokens["refresh_token"].as_str().unwrap())).await;
        assert_eq!(refreshed.status, StatusCode::OK, "{backend}: refreshed on the other node: {}", refreshed.text);

        let sign_out = Request::post("/oauth/sign-out")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(send_to(&second, sign_out).await.status, StatusCode::NO_CONTENT);
        let (status, _) = get_from(&second, token, &format!("/fhir/Observation/{observation}")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{backend}: refused at once where the user signed out");
        // The other node trusts its last look at the session for at most SESSION_RECHECK_MS.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (status, _) = get_from(&first, token, &format!("/fhir/Observation/{observation}")).await;
            if status == StatusCode::UNAUTHORIZED {
                break;
            }
            assert_eq!(status, StatusCode::OK);
            assert!(std::time::Instant::now() < deadline, "{backend}: the other node still honours the session");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let refreshed: Value = serde_json::from_str(&refreshed.text).unwrap();
        let after = send_to(&first, refresh_request(refreshed["refresh_token"].as_str().unwrap())).await;
        assert_eq!(after.status, StatusCode::BAD_REQUEST, "{backend}: no refresh of an ended session: {}", after.text);
        let replay = send_to(&second, exchange_request(&code)).await;
        assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{backend}: a code is redeemed once, on any node");

        // A node started later (a restart) knows the sessions and codes of the deployment as they are.
        let restarted = api.another_node().await;
        let (status, _) = get_from(&restarted, token, &format!("/fhir/Observation/{observation}")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{backend}");
        let code = sign_in_for_code(&restarted, &first, "gp-user", None).await;
        let tokens = exchange_code(&second, &code).await;
        let (status, _) =
            get_from(&restarted, tokens["access_token"].as_str().unwrap(), &format!("/fhir/Observation/{observation}"))
                .await;
        assert_eq!(status, StatusCode::OK, "{backend}");
    }
}

/// RFC 7009: revoking a refresh token ends its grant, and the grant's access tokens with it, before they expire;
/// the same user's other grants go on.
#[tokio::test]
async fn revoking_a_refresh_token_refuses_the_access_tokens_of_its_grant_at_once() {
    let api = TestApi::new().await;
    let patient = create_patient(&api, "gp", "Revoked").await;
    let path = format!("/fhir/Patient/{patient}");
    let revoked = launch(&api, "gp-user", None).await;
    let other = launch(&api, "gp-user", None).await;
    let revoke = Request::post("/oauth/revoke")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form(&[("token", revoked["refresh_token"].as_str().unwrap()), ("client_id", APP_ID)])))
        .unwrap();
    assert_eq!(send(&api, revoke).await.status, StatusCode::OK);
    let (status, _) = get(&api, revoked["access_token"].as_str().unwrap(), &path).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the revoked grant's access token");
    let (status, _) = get(&api, other["access_token"].as_str().unwrap(), &path).await;
    assert_eq!(status, StatusCode::OK, "another grant of the same user");
    let refreshed = send(&api, refresh_request(revoked["refresh_token"].as_str().unwrap())).await;
    assert_eq!(refreshed.status, StatusCode::BAD_REQUEST);
}

/// Refused passwords are counted in the database, so guessing through several nodes gains nothing.
#[tokio::test]
async fn repeated_refused_passwords_lock_the_username_on_every_node() {
    for api in TestApi::on_every_backend().await {
        let backend = api.backend;
        let nodes = [api.router.clone(), api.another_node().await];
        let query = form(&[
            ("response_type", "code"),
            ("client_id", APP_ID),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "user/*.rs"),
            ("state", "s"),
            ("aud", BASE),
            ("code_challenge", &URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()))),
            ("code_challenge_method", "S256"),
        ]);
        let page =
            send_to(&nodes[0], Request::get(format!("/oauth/authorize?{query}")).body(Body::empty()).unwrap()).await;
        let cookie = page.headers.get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
        let flow = hidden_value(&page.text, "flow");
        let attempt = |password: &str| {
            Request::post("/oauth/authorize")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("cookie", &cookie)
                .body(Body::from(form(&[
                    ("flow", &flow),
                    ("action", "sign-in"),
                    ("username", "gp-user"),
                    ("password", password),
                ])))
                .unwrap()
        };
        for n in 0..kmcr_auth::MAX_FAILED_SIGN_INS {
            let refused = send_to(&nodes[n % 2], attempt("a-guess")).await;
            assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{backend}");
            assert!(refused.text.contains("username or password is not right"), "{backend}: {}", refused.text);
        }
        let locked = send_to(&nodes[1], attempt(TEST_SECRET)).await;
        assert_eq!(locked.status, StatusCode::UNAUTHORIZED, "{backend}: the right password, too late");
        assert!(locked.text.contains("Too many sign-ins"), "{backend}: {}", locked.text);
        let other = sign_in_for_code(&nodes[0], &nodes[1], "two-roles", Some("two-gp")).await;
        assert!(!other.is_empty(), "{backend}: another username is not locked");
    }
}

#[tokio::test]
async fn discovery_and_the_jwks_let_others_check_tokens() {
    let api = TestApi::new().await;
    let answer = send(&api, Request::get("/fhir/.well-known/smart-configuration").body(Body::empty()).unwrap()).await;
    assert_eq!(answer.status, StatusCode::OK);
    let configuration: Value = serde_json::from_str(&answer.text).unwrap();
    assert!(configuration["code_challenge_methods_supported"].as_array().unwrap().contains(&json!("S256")));
    assert!(configuration["authorization_endpoint"].as_str().unwrap().ends_with("/oauth/authorize"));
    let jwks = send(&api, Request::get("/.well-known/jwks.json").body(Body::empty()).unwrap()).await;
    let jwks: Value = serde_json::from_str(&jwks.text).unwrap();
    let settings = kmcr_auth::TokenSettings::new(BASE.trim_end_matches("/fhir"), BASE);
    let verifier = kmcr_auth::TokenVerifier::from_jwks(&jwks, &settings).unwrap();
    let token = api.token("gp").await;
    let verified = verifier.verify(&token, kmcr_fhir::Instant::now()).expect("checked with the public key alone");
    assert_eq!(verified.principal.id(), "gp");
}

#[tokio::test]
async fn wrong_secrets_and_wider_scopes_get_no_token() {
    let api = TestApi::new().await;
    let ask = |body: String| {
        Request::post("/oauth/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    let wrong =
        send(&api, ask(form(&[("grant_type", "client_credentials"), ("client_id", "gp"), ("client_secret", "nope")])))
            .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let unknown = send(
        &api,
        ask(form(&[("grant_type", "client_credentials"), ("client_id", "nobody"), ("client_secret", TEST_SECRET)])),
    )
    .await;
    assert_eq!((unknown.status, unknown.text.contains("invalid_client")), (StatusCode::UNAUTHORIZED, true));
    let wider = send(
        &api,
        ask(form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "viewer"),
            ("client_secret", TEST_SECRET),
            ("scope", "system/*.cruds"),
        ])),
    )
    .await;
    assert_eq!((wider.status, wider.text.contains("invalid_scope")), (StatusCode::BAD_REQUEST, true));
}

/// Every route of the router is listed in `ROUTES`, and every route that serves data about people answers a caller
/// whose organisation is not party to the agreement with a refusal and leaves an audit entry: each reaches the
/// access decision.
#[tokio::test]
async fn every_route_that_serves_people_reaches_the_access_decision() {
    let source = [include_str!("../../src/lib.rs"), include_str!("../../src/viewer/mod.rs")].concat();
    let routed: Vec<&str> = source
        .lines()
        .filter_map(|line| line.trim().strip_prefix(".route(\""))
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    assert!(routed.len() > 20, "the routes are read from the router's source");
    for path in &routed {
        // Routes of the nested FHIR router are written without their `/fhir` prefix.
        let nested = format!("/fhir{}", if *path == "/" { "" } else { path });
        let listed = kmcr_api::ROUTES.iter().any(|(_, route, _)| route == path || *route == nested);
        assert!(listed, "{path} is routed but not in ROUTES");
    }
    let api = TestApi::new().await;
    let token = api.token("outsider").await;
    for (method, route, serves_people) in kmcr_api::ROUTES {
        if !serves_people {
            continue;
        }
        if route.starts_with("/viewer") {
            // The viewer's pages take no bearer token: without a signed-in session they send the browser to sign in
            // and serve nothing (`viewer.rs` drives them signed in).
            let path = route.replace("{id}", "abc").replace("{document_id}", "def").replace("{grant_id}", "1");
            let request = Request::builder().method(*method).uri(&path).body(Body::empty()).unwrap();
            let answer = send(&api, request).await;
            let location = answer.headers.get("location").map(|value| value.to_str().unwrap().to_string());
            assert_eq!(
                (answer.status, location.as_deref()),
                (StatusCode::SEE_OTHER, Some("/viewer/sign-in")),
                "{method} {path}"
            );
            continue;
        }
        let path = route
            .replace("{resource_type}", "Observation")
            .replace("{id}", "abc")
            .replace("{version_id}", "1")
            .replace("{operation}", "$everything")
            .replace("{grant_id}", "1")
            .replace("{review_id}", "1")
            .replace("{job}", "probe")
            .replace("{key}", "1");
        // Operations are served on Patient; a conditional update needs its condition.
        let path = match path.as_str() {
            "/fhir/Observation/abc/$everything" => "/fhir/Patient/abc/$everything".to_string(),
            "/fhir/Observation" if *method == "PUT" => "/fhir/Observation?_id=abc".to_string(),
            "/fhir/$import" => "/fhir/$import?job=probe".to_string(),
            _ => path,
        };
        let before = api.audit_length().await;
        let body = match *method {
            "GET" | "DELETE" => Body::empty(),
            _ if path.starts_with("/access/grants") => Body::from(
                json!({ "kind": "declared-relationship", "patient": "abc", "reason": "checking every route" })
                    .to_string(),
            ),
            _ if path.contains("/review") && path.starts_with("/access") => {
                Body::from(json!({ "outcome": "appropriate" }).to_string())
            }
            _ if path.starts_with("/mpi/reviews/") => Body::from(json!({ "decision": "link" }).to_string()),
            _ if path == "/fhir/" || path == "/fhir" => Body::from(
                json!({ "resourceType": "Bundle", "type": "transaction", "entry": [{
                    "request": { "method": "POST", "url": "Observation" },
                    "resource": { "resourceType": "Observation", "status": "final", "code": { "text": "x" } } }] })
                .to_string(),
            ),
            _ if path.ends_with("/_search") => Body::from(""),
            _ if path.ends_with("$match") => Body::from(
                json!({ "resourceType": "Parameters", "parameter": [{ "name": "resource", "resource": {
                    "resourceType": "Patient", "name": [{ "family": "Probe" }] } }] })
                .to_string(),
            ),
            _ => Body::from(
                json!({ "resourceType": "Observation", "status": "final", "code": { "text": "x" } }).to_string(),
            ),
        };
        let content_type = if path.ends_with("/_search") {
            "application/x-www-form-urlencoded"
        } else if path.contains("$import?") {
            "application/fhir+ndjson"
        } else {
            "application/fhir+json"
        };
        let request = Request::builder()
            .method(*method)
            .uri(if path.starts_with("/audit") { format!("{path}?person=abc") } else { path.clone() })
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", content_type)
            .body(body)
            .unwrap();
        let answer = send(&api, request).await;
        assert!(
            matches!(answer.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{method} {path}: {} {}",
            answer.status,
            answer.text
        );
        assert!(api.audit_length().await > before, "{method} {path} left no audit entry");
    }
}

/// Regression: the `next` link of one resource's history paged through every resource's history of its type.
#[tokio::test]
async fn the_next_link_of_one_resources_history_stays_on_that_resource() {
    let api = TestApi::new().await;
    let patient = create_patient(&api, "gp", "Versioned").await;
    create_patient(&api, "gp", "Other").await;
    for family in ["Versioned-2", "Versioned-3"] {
        let body = json!({ "resourceType": "Patient", "id": patient, "name": [{ "family": family }] });
        let reply = api.fhir("gp", "PUT", &format!("Patient/{patient}"), Some(&body), &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let mut url = format!("Patient/{patient}/_history?_count=1");
    let mut seen = Vec::new();
    for _ in 0..5 {
        let page = api.fhir("gp", "GET", &url, None, &[]).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        for entry in page.body["entry"].as_array().into_iter().flatten() {
            seen.push(entry["resource"]["id"].as_str().unwrap_or("deleted").to_string());
        }
        let next = page.body["link"].as_array().unwrap().iter().find(|link| link["relation"] == "next");
        match next {
            Some(link) => url = link["url"].as_str().unwrap().trim_start_matches(&format!("{BASE}/")).to_string(),
            None => break,
        }
    }
    assert_eq!(seen, vec![patient.clone(); 3], "three versions of the one Patient, and nothing else");
}
