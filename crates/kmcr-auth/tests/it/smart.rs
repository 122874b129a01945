//! SMART App Launch, standalone: the authorisation request's checks, codes bound to everything they should be,
//! PKCE, refresh token rotation, replay, sign-out, and the discovery document.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kmcr_access::{AssuranceLevel, Principal, Scope};
use kmcr_auth::{
    AuthorizationErrorKind, AuthorizationRequest, ClientAuthentication, InMemoryAuthorizationStore, InMemorySessions,
    Secret, SessionEnd, SessionRegistry, SignedInUser, SigningKey, SmartApp, SmartAuthorizationServer, SmartClientKind,
    SmartSettings, TokenEndpointError, TokenIssuer, TokenSettings, hash_secret,
};
use sha2::{Digest, Sha256};

use crate::support::{NOW, clinician_role_profile, seconds_after};

const ISSUER: &str = "https://kmcr.test.nhs.uk";
const FHIR_BASE: &str = "https://kmcr.test.nhs.uk/fhir";
const REDIRECT: &str = "https://app.test/callback";
const VERIFIER: &str = "a-code-verifier-of-more-than-forty-three-characters-0123456789";

struct Fixture {
    server: SmartAuthorizationServer,
    issuer: Arc<TokenIssuer>,
    sessions: Arc<InMemorySessions>,
}

fn fixture() -> Fixture {
    let issuer = Arc::new(TokenIssuer::new(TokenSettings::new(ISSUER, FHIR_BASE), SigningKey::generate(), Vec::new()));
    let sessions = Arc::new(InMemorySessions::new());
    let apps = vec![
        SmartApp {
            client_id: "growth-charts".to_string(),
            name: "Growth charts".to_string(),
            kind: SmartClientKind::Public,
            redirect_uris: vec![REDIRECT.to_string()],
            scopes: vec![Scope::parse("user/Observation.rs").unwrap(), Scope::parse("user/Patient.rs").unwrap()],
        },
        SmartApp {
            client_id: "care-planner".to_string(),
            name: "Care planner".to_string(),
            kind: SmartClientKind::ConfidentialSymmetric {
                secret_hash: hash_secret(&Secret::new("planner-secret")).unwrap(),
            },
            redirect_uris: vec!["https://planner.test/cb".to_string()],
            scopes: vec![Scope::parse("user/*.rs").unwrap()],
        },
    ];
    let server = SmartAuthorizationServer::new(
        SmartSettings::new(ISSUER, FHIR_BASE),
        apps,
        issuer.clone(),
        Arc::new(InMemoryAuthorizationStore::new()),
        sessions.clone(),
    )
    .unwrap();
    Fixture { server, issuer, sessions }
}

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn query(overrides: &[(&str, Option<&str>)]) -> Vec<(String, String)> {
    let challenge = challenge(VERIFIER);
    let mut pairs: Vec<(&str, Option<&str>)> = vec![
        ("response_type", Some("code")),
        ("client_id", Some("growth-charts")),
        ("redirect_uri", Some(REDIRECT)),
        ("scope", Some("openid fhirUser launch/patient offline_access user/Observation.rs user/Condition.rs")),
        ("state", Some("af0ifjsldkj")),
        ("aud", Some(FHIR_BASE)),
        ("code_challenge", Some(&challenge)),
        ("code_challenge_method", Some("S256")),
        ("nonce", Some("n-0S6_WzA2Mj")),
    ];
    for (name, value) in overrides {
        pairs.retain(|(key, _)| key != name);
        pairs.push((name, *value));
    }
    pairs.into_iter().filter_map(|(key, value)| Some((key.to_string(), value?.to_string()))).collect()
}

/// The in-memory stores answer at once, so everything here is ready on its first poll.
fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the in-memory stores answer at once"),
    }
}

fn signed_in(fixture: &Fixture) -> SignedInUser {
    SignedInUser {
        user_id: "555021934106".to_string(),
        session_id: ready(fixture.sessions.start("555021934106", NOW, 8 * 3600)).unwrap(),
        role_profile: clinician_role_profile(),
        assurance: AssuranceLevel::Aal3,
    }
}

fn public_client() -> ClientAuthentication {
    ClientAuthentication { client_id: "growth-charts".to_string(), client_secret: None }
}

/// The code from the redirect URL KMCR sends the browser back to.
fn code_of(redirect: &str, request: &AuthorizationRequest) -> String {
    let url = openidconnect::url::Url::parse(redirect).unwrap();
    assert!(redirect.starts_with(REDIRECT) || redirect.starts_with("https://planner.test/cb"));
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert!(pairs.contains(&("state".to_string(), request.state.clone())));
    pairs.into_iter().find(|(key, _)| key == "code").unwrap().1
}

#[test]
fn a_standalone_launch_yields_tokens_for_the_user_in_their_role_profile() {
    let fixture = fixture();
    let request = fixture.server.check_authorization_request(&query(&[])).unwrap();
    // Condition is not in the app's registration, launch/patient has no picker behind it, fhirUser is not served.
    assert_eq!(request.scopes.to_string(), "openid offline_access user/Observation.rs");
    let user = signed_in(&fixture);
    let redirect = ready(fixture.server.issue_code(request.clone(), user.clone(), NOW)).unwrap();
    let code = code_of(&redirect, &request);

    let response =
        ready(fixture.server.exchange_code(&public_client(), &code, REDIRECT, VERIFIER, seconds_after(NOW, 5)))
            .unwrap();
    assert_eq!((response.token_type, response.expires_in), ("Bearer", 300));
    assert_eq!(response.scope, "openid offline_access user/Observation.rs");
    let verified = fixture.issuer.verify(&response.access_token, seconds_after(NOW, 6)).unwrap();
    let Principal::User(principal) = verified.principal else { panic!("a user token") };
    assert_eq!(principal.role_profile, clinician_role_profile());
    assert_eq!(principal.scopes, vec![Scope::parse("user/Observation.rs").unwrap()]);
    assert_eq!(verified.session_id, Some(user.session_id.clone()));
    assert_eq!(verified.client_id, "growth-charts");

    let id_token = response.id_token.unwrap();
    let id_claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(id_token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(id_claims["aud"], "growth-charts");
    assert_eq!(id_claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(id_claims["iss"], ISSUER);

    // Refresh rotates: the new token works once, the old one never again, and replaying it ends the grant.
    let refresh_token = response.refresh_token.unwrap();
    let refreshed =
        ready(fixture.server.refresh(&public_client(), &refresh_token, None, seconds_after(NOW, 400))).unwrap();
    let rotated = refreshed.refresh_token.unwrap();
    assert_ne!(rotated, refresh_token);
    let replay = ready(fixture.server.refresh(&public_client(), &refresh_token, None, seconds_after(NOW, 401)));
    assert_eq!(replay, Err(TokenEndpointError::InvalidGrant));
    let after_replay = ready(fixture.server.refresh(&public_client(), &rotated, None, seconds_after(NOW, 402)));
    assert_eq!(after_replay, Err(TokenEndpointError::InvalidGrant));
}

#[test]
fn a_code_is_single_use_and_its_replay_revokes_the_grant() {
    let fixture = fixture();
    let request = fixture.server.check_authorization_request(&query(&[])).unwrap();
    let user = signed_in(&fixture);
    let code = code_of(&ready(fixture.server.issue_code(request.clone(), user.clone(), NOW)).unwrap(), &request);
    let first = ready(fixture.server.exchange_code(&public_client(), &code, REDIRECT, VERIFIER, NOW)).unwrap();
    let second = ready(fixture.server.exchange_code(&public_client(), &code, REDIRECT, VERIFIER, NOW));
    assert_eq!(second, Err(TokenEndpointError::InvalidGrant));
    let refresh = ready(fixture.server.refresh(&public_client(), &first.refresh_token.unwrap(), None, NOW));
    assert_eq!(refresh, Err(TokenEndpointError::InvalidGrant));
    let session_active = ready(fixture.sessions.is_active(&user.session_id, NOW)).unwrap();
    assert!(!session_active, "the grant's session ends, so its access tokens are refused too");
}

#[test]
fn a_code_is_bound_to_its_client_redirect_uri_verifier_and_lifetime() {
    let fixture = fixture();
    let request = fixture.server.check_authorization_request(&query(&[])).unwrap();
    let user = signed_in(&fixture);
    let fresh_code =
        || code_of(&ready(fixture.server.issue_code(request.clone(), user.clone(), NOW)).unwrap(), &request);
    let planner = ClientAuthentication {
        client_id: "care-planner".to_string(),
        client_secret: Some(Secret::new("planner-secret")),
    };
    let cases: [(&ClientAuthentication, &str, &str, i64, TokenEndpointError); 4] = [
        (&planner, REDIRECT, VERIFIER, 0, TokenEndpointError::InvalidGrant),
        (&public_client(), "https://app.test/other", VERIFIER, 0, TokenEndpointError::InvalidGrant),
        (
            &public_client(),
            REDIRECT,
            "another-code-verifier-of-more-than-forty-three-chars-000",
            0,
            TokenEndpointError::PkceMismatch,
        ),
        (&public_client(), REDIRECT, VERIFIER, 60, TokenEndpointError::InvalidGrant),
    ];
    for (client, redirect_uri, verifier, delay_s, expected) in cases {
        let outcome = ready(fixture.server.exchange_code(
            client,
            &fresh_code(),
            redirect_uri,
            verifier,
            seconds_after(NOW, delay_s),
        ));
        assert_eq!(outcome, Err(expected));
    }
    let wrong_secret = ClientAuthentication { client_secret: Some(Secret::new("guess")), ..planner.clone() };
    let outcome = ready(fixture.server.exchange_code(&wrong_secret, &fresh_code(), REDIRECT, VERIFIER, NOW));
    assert_eq!(outcome, Err(TokenEndpointError::InvalidClient));
    let public_with_secret = ClientAuthentication { client_secret: Some(Secret::new("x")), ..public_client() };
    let outcome = ready(fixture.server.exchange_code(&public_with_secret, &fresh_code(), REDIRECT, VERIFIER, NOW));
    assert_eq!(outcome, Err(TokenEndpointError::InvalidClient));
}

#[test]
fn signing_out_ends_the_grant_and_the_session_check_refuses_its_tokens() {
    let fixture = fixture();
    let request = fixture.server.check_authorization_request(&query(&[])).unwrap();
    let user = signed_in(&fixture);
    let code = code_of(&ready(fixture.server.issue_code(request.clone(), user.clone(), NOW)).unwrap(), &request);
    let response = ready(fixture.server.exchange_code(&public_client(), &code, REDIRECT, VERIFIER, NOW)).unwrap();
    let verified = fixture.issuer.verify(&response.access_token, NOW).unwrap();
    assert!(ready(fixture.sessions.is_active(verified.session_id.as_deref().unwrap(), NOW)).unwrap());

    ready(fixture.sessions.end(&user.session_id, SessionEnd::SignedOut, seconds_after(NOW, 10))).unwrap();
    assert!(
        !ready(fixture.sessions.is_active(verified.session_id.as_deref().unwrap(), seconds_after(NOW, 11))).unwrap()
    );
    let refresh =
        ready(fixture.server.refresh(&public_client(), &response.refresh_token.unwrap(), None, seconds_after(NOW, 12)));
    assert_eq!(refresh, Err(TokenEndpointError::SessionEnded));
    let late_code = code_of(&ready(fixture.server.issue_code(request.clone(), user, NOW)).unwrap(), &request);
    let exchange =
        ready(fixture.server.exchange_code(&public_client(), &late_code, REDIRECT, VERIFIER, seconds_after(NOW, 12)));
    assert_eq!(exchange, Err(TokenEndpointError::SessionEnded));
}

#[test]
fn a_refresh_may_narrow_the_scopes_never_widen_them() {
    let fixture = fixture();
    let request = fixture.server.check_authorization_request(&query(&[])).unwrap();
    let code = code_of(&ready(fixture.server.issue_code(request.clone(), signed_in(&fixture), NOW)).unwrap(), &request);
    let response = ready(fixture.server.exchange_code(&public_client(), &code, REDIRECT, VERIFIER, NOW)).unwrap();
    let wider = ready(fixture.server.refresh(
        &public_client(),
        response.refresh_token.as_deref().unwrap(),
        Some("user/*.rs"),
        NOW,
    ));
    assert_eq!(wider, Err(TokenEndpointError::InvalidScope("user/*.rs".to_string())));
    // The refused attempt spent the token (rotation happens before the scope is read); start again.
    let code = code_of(&ready(fixture.server.issue_code(request.clone(), signed_in(&fixture), NOW)).unwrap(), &request);
    let response = ready(fixture.server.exchange_code(&public_client(), &code, REDIRECT, VERIFIER, NOW)).unwrap();
    let narrower = ready(fixture.server.refresh(
        &public_client(),
        response.refresh_token.as_deref().unwrap(),
        Some("user/Observation.s"),
        NOW,
    ))
    .unwrap();
    assert_eq!(narrower.scope, "user/Observation.s");
    assert!(narrower.refresh_token.is_none());
}

#[test]
fn authorization_requests_are_checked_before_anyone_signs_in() {
    let fixture = fixture();
    let check = |overrides: &[(&str, Option<&str>)]| fixture.server.check_authorization_request(&query(overrides));
    let no_redirect = [
        (vec![("client_id", Some("unknown-app"))], AuthorizationErrorKind::UnknownClient),
        (vec![("client_id", None)], AuthorizationErrorKind::UnknownClient),
        (vec![("redirect_uri", Some("https://evil.test/callback"))], AuthorizationErrorKind::UnregisteredRedirectUri),
        (vec![("redirect_uri", Some("https://app.test/callback/"))], AuthorizationErrorKind::UnregisteredRedirectUri),
    ];
    for (overrides, kind) in no_redirect {
        let error = check(&overrides).unwrap_err();
        assert_eq!((error.kind.clone(), error.redirect_url()), (kind, None));
    }
    let back_to_the_app = [
        (vec![("response_type", Some("token"))], "unsupported_response_type"),
        (vec![("state", None)], "invalid_request"),
        (vec![("aud", Some("https://other.test/fhir"))], "invalid_request"),
        (vec![("aud", None)], "invalid_request"),
        (vec![("code_challenge_method", Some("plain"))], "invalid_request"),
        (vec![("code_challenge_method", None)], "invalid_request"),
        (vec![("code_challenge", None)], "invalid_request"),
        (vec![("code_challenge", Some("too-short"))], "invalid_request"),
        (vec![("launch", Some("xyz123"))], "invalid_request"),
        (vec![("scope", Some("openid user/Condition.rs"))], "invalid_scope"),
        (vec![("scope", Some("openid user/*.cruds"))], "invalid_scope"),
        (vec![("scope", Some("user/Observation.sr"))], "invalid_scope"),
    ];
    for (overrides, code) in back_to_the_app {
        let error = check(&overrides).unwrap_err();
        assert_eq!(error.oauth_error_code(), code, "{overrides:?}");
        let redirect = error.redirect_url().unwrap();
        assert!(redirect.starts_with(&format!("{REDIRECT}?error={code}")), "{redirect}");
    }
    let mut repeated = query(&[]);
    repeated.push(("scope".to_string(), "user/*.rs".to_string()));
    assert!(fixture.server.check_authorization_request(&repeated).is_err());
}

#[test]
fn the_discovery_document_says_only_what_the_server_does() {
    let document = fixture().server.smart_configuration();
    assert_eq!(document["issuer"], ISSUER);
    assert_eq!(document["jwks_uri"], "https://kmcr.test.nhs.uk/.well-known/jwks.json");
    assert_eq!(document["authorization_endpoint"], "https://kmcr.test.nhs.uk/oauth/authorize");
    assert_eq!(document["token_endpoint"], "https://kmcr.test.nhs.uk/oauth/token");
    assert_eq!(document["revocation_endpoint"], "https://kmcr.test.nhs.uk/oauth/revoke");
    assert_eq!(document["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    let capabilities: Vec<&str> =
        document["capabilities"].as_array().unwrap().iter().map(|value| value.as_str().unwrap()).collect();
    for capability in ["launch-standalone", "client-public", "client-confidential-symmetric", "permission-v2"] {
        assert!(capabilities.contains(&capability), "{capability}");
    }
    for untrue in ["context-standalone-patient", "launch-ehr", "context-ehr-patient"] {
        assert!(!capabilities.contains(&untrue), "{untrue}");
    }
    let scopes = document["scopes_supported"].as_array().unwrap();
    assert!(
        scopes.contains(&serde_json::json!("user/Observation.rs")) && !scopes.contains(&serde_json::json!("fhirUser"))
    );
}

#[test]
fn codes_and_refresh_tokens_read_back_from_their_stored_form_unchanged() {
    let fixture = fixture();
    let request = fixture.server.check_authorization_request(&query(&[])).unwrap();
    let user = signed_in(&fixture);
    let code = kmcr_auth::AuthorizationCodeGrant {
        grant_id: "grant-1".into(),
        request: request.clone(),
        user: user.clone(),
        expires_at: seconds_after(NOW, 60),
    };
    assert_eq!(kmcr_auth::AuthorizationCodeGrant::from_stored(&code.to_stored()), Ok(code));
    let refresh = kmcr_auth::RefreshGrant {
        grant_id: "grant-1".into(),
        client_id: "growth-charts".into(),
        user,
        scopes: request.scopes,
        expires_at: seconds_after(NOW, 3600),
    };
    assert_eq!(kmcr_auth::RefreshGrant::from_stored(&refresh.to_stored()), Ok(refresh));
    assert!(kmcr_auth::RefreshGrant::from_stored("{\"grant_id\":1}").is_err(), "unreadable content is an error");
}

#[test]
fn a_username_is_locked_out_after_repeated_refused_passwords_whoever_holds_it() {
    let fixture = fixture();
    let account = kmcr_auth::LocalAccount {
        username: "gp".into(),
        password_hash: hash_secret(&Secret::new("right-password")).unwrap(),
        user_id: "user-gp".into(),
        role_profiles: vec![clinician_role_profile()],
        assurance: kmcr_auth::LocalAccount::DEFAULT_ASSURANCE,
    };
    let accounts = kmcr_auth::LocalAccounts::new(vec![account]).unwrap();
    let sign_in = |username: &str, password: &str, at| {
        ready(fixture.server.local_sign_in(&accounts, username, &Secret::new(password), at))
            .map(|account| account.user_id.clone())
    };
    let refused = Err(kmcr_auth::LocalSignInRefusal::WrongUsernameOrPassword);
    for attempt in 0..kmcr_auth::MAX_FAILED_SIGN_INS as i64 - 1 {
        assert_eq!(sign_in("gp", "guess", seconds_after(NOW, attempt)), refused);
    }
    assert_eq!(sign_in("gp", "right-password", seconds_after(NOW, 10)), Ok("user-gp".into()), "one short of the limit");
    for attempt in 0..kmcr_auth::MAX_FAILED_SIGN_INS as i64 {
        assert_eq!(
            sign_in("gp", "guess", seconds_after(NOW, 20 + attempt)),
            refused,
            "the right password cleared the count"
        );
    }
    let locked = Err(kmcr_auth::LocalSignInRefusal::LockedOut);
    assert_eq!(sign_in("gp", "right-password", seconds_after(NOW, 30)), locked, "even the right password");
    for attempt in 0..kmcr_auth::MAX_FAILED_SIGN_INS as i64 {
        assert_eq!(sign_in("nobody", "guess", seconds_after(NOW, 40 + attempt)), refused);
    }
    assert_eq!(sign_in("nobody", "guess", seconds_after(NOW, 50)), locked, "an unknown username locks the same way");
    let later = seconds_after(NOW, 20 + kmcr_auth::SIGN_IN_LOCKOUT_S + kmcr_auth::MAX_FAILED_SIGN_INS as i64);
    assert_eq!(sign_in("gp", "right-password", later), Ok("user-gp".into()), "refusals count for a while only");
}
