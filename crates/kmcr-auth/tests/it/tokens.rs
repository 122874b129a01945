//! Access tokens: what KMCR signs is checked by a verifier built from the JWKS alone, rebuilds the principal, and
//! every forgery or misuse tried here is refused.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use kmcr_access::{PatientPrincipal, Principal, RegionWideReading, Scope, SystemPrincipal};
use kmcr_auth::{SigningKey, TokenError, TokenIssuer, TokenSettings, TokenVerifier};
use kmcr_fhir::OdsCode;

use crate::support::{NOW, clinician, seconds_after};

const ISSUER: &str = "https://kmcr.test.nhs.uk";
const AUDIENCE: &str = "https://kmcr.test.nhs.uk/fhir";

fn settings() -> TokenSettings {
    TokenSettings::new(ISSUER, AUDIENCE)
}

fn issuer() -> TokenIssuer {
    TokenIssuer::new(settings(), SigningKey::generate(), Vec::new())
}

/// The same key, other settings: a token KMCR's key signed, but for the wrong issuer or audience.
fn same_key_other_settings(key_pem: &kmcr_auth::Secret, other: TokenSettings) -> String {
    let twin = TokenIssuer::new(other, SigningKey::from_pkcs8_pem(key_pem).unwrap(), Vec::new());
    twin.issue(&clinician("session-1"), "kmcr-web", NOW).token
}

#[test]
fn a_token_is_checked_by_a_verifier_built_only_from_the_published_jwks() {
    let issuer = issuer();
    let principal = clinician("session-1");
    let issued = issuer.issue(&principal, "kmcr-web", NOW);
    let jwks_text = serde_json::to_string(&issuer.jwks()).unwrap();

    // KMCR's own verifier, built from the JWKS text as another KMCR service would.
    let verifier = TokenVerifier::from_jwks(&serde_json::from_str(&jwks_text).unwrap(), &settings()).unwrap();
    let verified = verifier.verify(&issued.token, seconds_after(NOW, 10)).unwrap();
    assert_eq!(verified.principal, principal);
    assert_eq!(verified.session_id.as_deref(), Some("session-1"));
    assert_eq!(verified.jti, issued.jti);
    assert_eq!(verified.client_id, "kmcr-web");
    assert_eq!(verified.expires_at, seconds_after(NOW, 300));

    // A service that is not KMCR: plain jsonwebtoken, the key found by kid in the JWKS, its own clock.
    let jwks: JwkSet = serde_json::from_str(&jwks_text).unwrap();
    let kid = jsonwebtoken::decode_header(&issued.token).unwrap().kid.unwrap();
    let key = DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<serde_json::Value>(&issued.token, &key, &validation).unwrap().claims;
    assert_eq!(claims["sub"], "555021934106");
    assert_eq!(claims["scope"], "user/*.rs");
    assert_eq!(claims["kmcr"]["kind"], "user");
    assert_eq!(claims["kmcr"]["role_profile_id"], "555021935107");
    assert_eq!(claims["kmcr"]["ods_code"], "RVV");
    assert_eq!(claims["kmcr"]["job_role"], "S8000:G8000:R8000");
    assert_eq!(claims["kmcr"]["assurance"], "AAL3");
    assert_eq!(claims["kmcr"]["activities"], serde_json::json!(["B0360", "B0370", "B0401", "B1611", "B9999"]));
    assert_eq!(claims["nbf"], claims["iat"]);
}

#[test]
fn systems_and_patients_round_trip_through_their_tokens() {
    let issuer = issuer();
    let system = Principal::System(SystemPrincipal {
        client_id: "analytics-extract".to_string(),
        ods_code: OdsCode::parse("QKS").unwrap(),
        scopes: vec![Scope::parse("system/Observation.rs").unwrap(), Scope::parse("system/Patient.r").unwrap()],
        region_wide: Some(RegionWideReading { justification: "ICB planning".to_string(), secondary_use: true }),
    });
    let patient = Principal::Patient(PatientPrincipal {
        user_id: "nhs-login-1234".to_string(),
        session_id: "session-9".to_string(),
        own_patient_ids: vec!["G82001-12345".to_string()],
        scopes: vec![Scope::parse("patient/*.rs").unwrap()],
    });
    for principal in [system, patient] {
        let token = issuer.issue(&principal, "client", NOW).token;
        let verified = issuer.verify(&token, NOW).unwrap();
        assert_eq!(verified.principal, principal);
        assert_eq!(verified.session_id.as_deref(), principal.session_id());
    }
}

#[test]
fn tampered_tokens_are_refused() {
    let issuer = issuer();
    let token = issuer.issue(&clinician("session-1"), "kmcr-web", NOW).token;
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["kmcr"]["activities"] = serde_json::json!(["B0360", "B1611", "B0168"]);
    let forged_claims = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let tampered = format!("{}.{}.{}", parts[0], forged_claims, parts[2]);
    assert_eq!(issuer.verify(&tampered, NOW), Err(TokenError::BadSignature));

    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    signature[10] ^= 1;
    let bad_signature = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(signature));
    assert_eq!(issuer.verify(&bad_signature, NOW), Err(TokenError::BadSignature));
    assert!(matches!(issuer.verify("not.a.token", NOW), Err(TokenError::Malformed(_))));
}

#[test]
fn tokens_for_another_audience_or_from_another_issuer_are_refused() {
    let key = SigningKey::generate();
    let pem = key.pkcs8_pem().clone();
    let issuer = TokenIssuer::new(settings(), key, Vec::new());
    let wrong_audience = same_key_other_settings(&pem, TokenSettings::new(ISSUER, "https://other/fhir"));
    assert_eq!(issuer.verify(&wrong_audience, NOW), Err(TokenError::WrongAudience));
    let wrong_issuer = same_key_other_settings(&pem, TokenSettings::new("https://other", AUDIENCE));
    assert_eq!(issuer.verify(&wrong_issuer, NOW), Err(TokenError::WrongIssuer));
}

#[test]
fn tokens_are_honoured_only_between_nbf_and_exp_give_or_take_the_leeway() {
    let issuer = issuer();
    let token = issuer.issue(&clinician("session-1"), "kmcr-web", NOW).token;
    // Five minutes of life and thirty seconds of leeway either side.
    assert!(issuer.verify(&token, seconds_after(NOW, 329)).is_ok());
    assert_eq!(issuer.verify(&token, seconds_after(NOW, 330)), Err(TokenError::Expired));
    assert!(issuer.verify(&token, seconds_after(NOW, -30)).is_ok());
    assert_eq!(issuer.verify(&token, seconds_after(NOW, -31)), Err(TokenError::NotYetValid));
}

#[test]
fn alg_none_and_hs256_keyed_with_the_public_key_are_refused() {
    let issuer = issuer();
    let token = issuer.issue(&clinician("session-1"), "kmcr-web", NOW).token;
    let kid = issuer.jwks()["keys"][0]["kid"].as_str().unwrap().to_string();
    let claims_part = token.split('.').nth(1).unwrap();

    let none_header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","typ":"JWT","kid":"{kid}"}}"#));
    let unsigned = format!("{none_header}.{claims_part}.");
    assert_eq!(issuer.verify(&unsigned, NOW), Err(TokenError::AlgorithmRefused("none".to_string())));

    // The classic confusion: HS256 with the public key (as published, and as PEM) for the HMAC secret.
    let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims_part).unwrap()).unwrap();
    let jwk = &issuer.jwks()["keys"][0];
    let mut public_point = vec![4u8];
    public_point.extend(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap());
    public_point.extend(URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap());
    for secret in [public_point, serde_json::to_vec(jwk).unwrap()] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.clone());
        let forged = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret).unwrap()).unwrap();
        assert_eq!(issuer.verify(&forged, NOW), Err(TokenError::AlgorithmRefused("HS256".to_string())));
    }
}

#[test]
fn a_token_signed_by_a_key_kmcr_does_not_publish_is_refused() {
    let issuer = issuer();
    let stranger = TokenIssuer::new(settings(), SigningKey::generate(), Vec::new());
    let token = stranger.issue(&clinician("session-1"), "kmcr-web", NOW).token;
    assert_eq!(issuer.verify(&token, NOW), Err(TokenError::UnknownKey));
}

#[test]
fn after_rotation_the_previous_key_stays_published_and_its_tokens_honoured() {
    let old = TokenIssuer::new(settings(), SigningKey::generate(), Vec::new());
    let old_token = old.issue(&clinician("session-1"), "kmcr-web", NOW).token;
    let old_public = kmcr_auth::PublicSigningKey::from_jwk(&old.jwks()["keys"][0]).unwrap();
    let new = TokenIssuer::new(settings(), SigningKey::generate(), vec![old_public.clone()]);
    let jwks = new.jwks();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    assert_eq!(jwks["keys"][1]["kid"], old_public.kid.as_str());
    assert!(new.verify(&old_token, NOW).is_ok());
    let new_token = new.issue(&clinician("session-1"), "kmcr-web", NOW).token;
    let header = jsonwebtoken::decode_header(&new_token).unwrap();
    assert_eq!(header.kid.as_deref(), jwks["keys"][0]["kid"].as_str());
    assert_eq!(old.verify(&new_token, NOW), Err(TokenError::UnknownKey));
}

#[test]
fn a_missing_key_file_is_generated_owner_only_and_read_back_by_the_next_node() {
    let directory = std::env::temp_dir().join(format!("kmcr-auth-key-{}", kmcr_auth::secret::random_url_safe(8)));
    let path = directory.join("keys").join("token-signing-key.pem");
    let first = SigningKey::load_or_generate(&path).unwrap();
    let second = SigningKey::load_or_generate(&path).unwrap();
    assert_eq!(first.public(), second.public());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    std::fs::write(&path, "not a key").unwrap();
    assert!(matches!(SigningKey::load_or_generate(&path), Err(kmcr_auth::KeyError::NotP256PrivateKeyPem(_))));
    std::fs::remove_dir_all(&directory).unwrap();
}
