//! The clinician viewer's pages through the whole router, as a browser without script uses them: cookies, posted
//! forms with their CSRF token, redirects. (The real browser journey, with Chromium and axe, is `kmcr`'s test.)

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

use crate::harness::{TEST_SECRET, TestApi};

const NHS_NUMBER: &str = "9434765919";

struct Page {
    status: StatusCode,
    location: Option<String>,
    headers: axum::http::HeaderMap,
    body: String,
}

/// A browser's cookie jar, as far as one host and path need one.
#[derive(Default)]
struct Browser {
    cookies: Vec<(String, String)>,
}

impl Browser {
    async fn send(&mut self, api: &TestApi, request: Request<Body>) -> Page {
        let response = api.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for set_cookie in headers.get_all("set-cookie") {
            let text = set_cookie.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(known, _)| known != name);
            if !attributes.contains("Max-Age=0") {
                self.cookies.push((name.to_string(), value.to_string()));
            }
        }
        let location = headers.get("location").map(|value| value.to_str().unwrap().to_string());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Page { status, location, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ")
    }

    async fn get(&mut self, api: &TestApi, path: &str) -> Page {
        let request = Request::get(path).header("cookie", self.cookie_header()).body(Body::empty()).unwrap();
        self.send(api, request).await
    }

    async fn post(&mut self, api: &TestApi, path: &str, form: &[(&str, &str)]) -> Page {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let request = Request::post(path)
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(api, request).await
    }
}

/// The value of the hidden `csrf` field of a page's forms.
fn csrf(page: &Page) -> String {
    let start = page.body.find("name=\"csrf\" value=\"").expect("a form with its token") + 19;
    page.body[start..].split('"').next().unwrap().to_string()
}

async fn signed_in(api: &TestApi, username: &str) -> (Browser, String) {
    let mut browser = Browser::default();
    let page = browser.get(api, "/viewer").await;
    assert_eq!((page.status, page.location.as_deref()), (StatusCode::SEE_OTHER, Some("/viewer/sign-in")));
    let sign_in = browser.get(api, "/viewer/sign-in").await;
    assert_eq!(sign_in.status, StatusCode::OK);
    let form_token = csrf(&sign_in);
    let wrong = browser
        .post(api, "/viewer/sign-in", &[("csrf", &form_token), ("username", username), ("password", "nope")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    assert!(wrong.body.contains("The username or password is not right"));
    let form_token = csrf(&wrong);
    let page = browser
        .post(api, "/viewer/sign-in", &[("csrf", &form_token), ("username", username), ("password", TEST_SECRET)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let home = browser.get(api, page.location.as_deref().unwrap()).await;
    let token = csrf(&home);
    (browser, token)
}

async fn write(api: &TestApi, client: &str, resource: serde_json::Value) -> String {
    let resource_type = resource["resourceType"].as_str().unwrap().to_string();
    let reply = api.fhir(client, "POST", &resource_type, Some(&resource), &[]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_string()
}

async fn person_with_a_child_protection_plan(api: &TestApi, client: &str) -> String {
    let patient = write(
        api,
        client,
        json!({ "resourceType": "Patient",
        "identifier": [{ "system": "https://fhir.nhs.uk/Id/nhs-number", "value": NHS_NUMBER }],
        "name": [{ "use": "official", "family": "Viewer", "given": ["Alex"] }], "birthDate": "2015-03-15",
        "gender": "female", "address": [{ "use": "home", "line": ["1 High Street"], "city": "Maidstone",
        "postalCode": "ME14 1AA" }] }),
    )
    .await;
    let subject = json!({ "reference": format!("Patient/{patient}") });
    write(api, client, json!({ "resourceType": "Flag", "status": "active", "subject": subject,
        "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/flag-category", "code": "safety" }] }],
        "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "342191000000101",
            "display": "Subject to child protection plan" }] },
        "period": { "start": "2026-01-10" }, "author": { "display": "Kent County Council children's services" } }))
    .await;
    write(api, client, json!({ "resourceType": "Condition", "subject": subject,
        "clinicalStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active" }] },
        "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "195967001", "display": "Asthma" }] },
        "onsetDateTime": "2020-05-01" }))
    .await;
    patient
}

#[tokio::test]
async fn a_gp_signs_in_finds_a_person_by_nhs_number_and_sees_safeguarding_first() {
    for api in TestApi::on_every_backend().await {
        let patient = person_with_a_child_protection_plan(&api, "gp").await;
        let (mut browser, token) = signed_in(&api, "gp-user").await;
        let home = browser.get(&api, "/viewer").await;
        assert!(home.body.contains("Find a person") && home.body.contains("data-testid=\"active-role\""));
        assert!(home.body.contains("R8000 Clinical Practitioner"), "the active role profile is shown: {}", home.body);
        let policy = home.headers["content-security-policy"].to_str().unwrap();
        assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"));

        let refused = browser
            .post(&api, "/viewer/search", &[("csrf", "forged"), ("by", "nhs-number"), ("nhs_number", NHS_NUMBER)])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "a form without the session's token is refused");
        let invalid = browser
            .post(&api, "/viewer/search", &[("csrf", &token), ("by", "nhs-number"), ("nhs_number", "943 476 5918")])
            .await;
        assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
        assert!(invalid.body.contains("Enter a valid NHS number"), "{}", invalid.body);

        let before = api.audit_length().await;
        let results = browser
            .post(&api, "/viewer/search", &[("csrf", &token), ("by", "nhs-number"), ("nhs_number", "943 476 5919")])
            .await;
        assert_eq!(results.status, StatusCode::OK, "{}", results.body);
        assert_eq!(api.audit_length().await, before + 1, "the search is audited once");
        assert!(results.body.contains(&format!("href=\"/viewer/person/{patient}\"")), "{}", results.body);
        assert!(results.body.contains("943 476 5919") && results.body.contains("Test organisation G82001"));
        assert!(!results.body.contains("Asthma"), "no clinical data in search results");

        let before = api.audit_length().await;
        let person = browser.get(&api, &format!("/viewer/person/{patient}")).await;
        assert_eq!(person.status, StatusCode::OK, "{}", person.body);
        assert_eq!(api.audit_length().await, before + 1, "one page view, one audit entry");
        let main = &person.body[person.body.find("<main").unwrap()..];
        let first_section = &main[main.find('>').unwrap() + 1..];
        assert!(
            first_section.starts_with("<section class=\"nhsuk-warning-callout\" data-testid=\"safeguarding\""),
            "{first_section}"
        );
        let flag = first_section.find("Subject to child protection plan").unwrap();
        assert!(
            flag < first_section.find("data-testid=\"person-banner\"").unwrap(),
            "the flag comes before the banner"
        );
        assert!(first_section.contains("Kent County Council children&#39;s services"), "the responsible team is named");
        assert!(person.body.contains("943 476 5919") && person.body.contains("15 March 2015"));
        assert!(person.body.contains("No known allergies recorded"));
        assert!(person.body.contains("Asthma") && person.body.contains("1 May 2020"));

        let sign_out = browser.post(&api, "/viewer/sign-out", &[("csrf", &token)]).await;
        assert_eq!(sign_out.location.as_deref(), Some("/viewer/sign-in"));
        let after = browser.get(&api, &format!("/viewer/person/{patient}")).await;
        assert_eq!(after.location.as_deref(), Some("/viewer/sign-in"), "signed out, the record is not served");
    }
}

#[tokio::test]
async fn without_a_relationship_the_banner_shows_and_declaring_one_opens_the_record() {
    for api in TestApi::on_every_backend().await {
        let patient = person_with_a_child_protection_plan(&api, "acute").await;
        let (mut browser, token) = signed_in(&api, "gp-user").await;
        let before = api.audit_length().await;
        let refused = browser.get(&api, &format!("/viewer/person/{patient}")).await;
        assert_eq!(refused.status, StatusCode::OK, "{}", refused.body);
        assert!(api.audit_length().await > before, "the refusal is audited");
        assert!(refused.body.contains("data-testid=\"person-banner\"") && refused.body.contains("943 476 5919"));
        assert!(refused.body.contains("Declare a legitimate relationship"));
        assert!(!refused.body.contains("child protection") && !refused.body.contains("Asthma"), "{}", refused.body);

        let path = format!("/viewer/person/{patient}/relationship");
        let form = browser.get(&api, &path).await;
        assert_eq!(form.status, StatusCode::OK);
        let too_short = browser.post(&api, &path, &[("csrf", &token), ("reason", "caring")]).await;
        assert_eq!(too_short.status, StatusCode::BAD_REQUEST);
        assert!(too_short.body.contains("nhsuk-error-summary"));
        let declared =
            browser.post(&api, &path, &[("csrf", &token), ("reason", "Seeing her in clinic this afternoon")]).await;
        assert_eq!(declared.location, Some(format!("/viewer/person/{patient}")), "{}", declared.body);
        let person = browser.get(&api, &format!("/viewer/person/{patient}")).await;
        assert_eq!(person.status, StatusCode::OK, "{}", person.body);
        assert!(person.body.contains("Subject to child protection plan") && person.body.contains("Asthma"));
    }
}

#[tokio::test]
async fn a_user_with_two_role_profiles_chooses_one_and_switches_in_one_step() {
    let api = TestApi::new().await;
    let mut browser = Browser::default();
    let sign_in = browser.get(&api, "/viewer/sign-in").await;
    let form_token = csrf(&sign_in);
    let page = browser
        .post(&api, "/viewer/sign-in", &[("csrf", &form_token), ("username", "two-roles"), ("password", TEST_SECRET)])
        .await;
    assert_eq!(page.location.as_deref(), Some("/viewer/role"), "two role profiles: the choice comes first");
    assert_eq!(browser.get(&api, "/viewer").await.location.as_deref(), Some("/viewer/role"));
    let choice = browser.get(&api, "/viewer/role").await;
    assert!(choice.body.contains("Choose a role profile") && choice.body.contains("R8009 Receptionist"));
    let token = csrf(&choice);
    let chosen = browser.post(&api, "/viewer/role", &[("csrf", &token), ("role_profile", "two-gp")]).await;
    assert_eq!(chosen.location.as_deref(), Some("/viewer"));
    let home = browser.get(&api, "/viewer").await;
    assert!(
        home.body.contains("acting as R8000 Clinical Practitioner at Test organisation G82001 (G82001)"),
        "{}",
        home.body
    );
    // One click: the header's button for the other role profile posts it.
    assert!(home.body.contains("name=\"role_profile\" value=\"two-reception\"><button class=\"nhsuk-header__account-button\">Switch to R8009 Receptionist at Test organisation RWF (RWF)</button>"), "{}", home.body);
    let forged = browser.post(&api, "/viewer/role", &[("csrf", &token), ("role_profile", "gp-role")]).await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST, "another user's role profile is refused");
    browser.post(&api, "/viewer/role", &[("csrf", &token), ("role_profile", "two-reception")]).await;
    let home = browser.get(&api, "/viewer").await;
    assert!(home.body.contains("acting as R8009 Receptionist at Test organisation RWF (RWF)"), "{}", home.body);
}

#[tokio::test]
async fn results_are_charted_and_documents_are_read_in_the_page() {
    let api = TestApi::new().await;
    let patient = person_with_a_child_protection_plan(&api, "gp").await;
    let subject = json!({ "reference": format!("Patient/{patient}") });
    for (date, value) in [("2026-01-05", 6.1), ("2026-06-05", 7.4), ("2026-11-05", 5.2)] {
        write(
            &api,
            "gp",
            json!({ "resourceType": "Observation", "status": "final", "subject": subject,
            "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "1107481000000106",
                "display": "Serum potassium level" }] },
            "effectiveDateTime": date, "valueQuantity": { "value": value, "unit": "mmol/L" },
            "referenceRange": [{ "low": { "value": 3.5 }, "high": { "value": 5.3 } }] }),
        )
        .await;
    }
    use base64::Engine;
    let letter = "Dear Dr Smith,\n\nAlex was seen in clinic today.\n\nYours sincerely";
    let hostile = "<p>Discharged home.</p><script>alert('x')</script><p onclick=\"x()\">Follow up in 2 weeks.</p>";
    let mut documents = Vec::new();
    for (content_type, text, description) in
        [("text/plain", letter, "Clinic letter"), ("text/html", hostile, "Discharge summary")]
    {
        documents.push(
            write(
                &api,
                "gp",
                json!({ "resourceType": "DocumentReference", "status": "current",
            "subject": subject, "description": description, "date": "2026-11-20T10:00:00Z",
            "content": [{ "attachment": { "contentType": content_type,
                "data": base64::engine::general_purpose::STANDARD.encode(text) } }] }),
            )
            .await,
        );
    }
    let (mut browser, _) = signed_in(&api, "gp-user").await;
    let before = api.audit_length().await;
    let results = browser.get(&api, &format!("/viewer/person/{patient}/results")).await;
    assert_eq!(results.status, StatusCode::OK, "{}", results.body);
    assert_eq!(api.audit_length().await, before + 1, "one page view, one audit entry");
    let main = &results.body[results.body.find("<main").unwrap()..];
    assert!(
        main[main.find('>').unwrap() + 1..]
            .starts_with("<section class=\"nhsuk-warning-callout\" data-testid=\"safeguarding\"")
    );
    assert!(results.body.contains("data-testid=\"trend-chart\"") && results.body.contains("<svg"));
    assert!(results.body.contains("3 results from 2026-01-05 to 2026-11-05, latest 5.2 mmol/L"), "{}", results.body);
    assert!(results.body.contains("Reference range: 3.5 to 5.3 mmol/L"));
    assert!(results.body.contains("7.4 mmol/L") && results.body.contains("5 June 2026"), "the table beside the chart");

    let list = browser.get(&api, &format!("/viewer/person/{patient}/documents")).await;
    assert!(list.body.contains(&format!("/viewer/person/{patient}/documents/{}", documents[0])));
    let letter_page = browser.get(&api, &format!("/viewer/person/{patient}/documents/{}", documents[0])).await;
    assert_eq!(letter_page.status, StatusCode::OK, "{}", letter_page.body);
    assert!(letter_page.body.contains("<p>Alex was seen in clinic today.</p>"), "{}", letter_page.body);
    let summary_page = browser.get(&api, &format!("/viewer/person/{patient}/documents/{}", documents[1])).await;
    assert!(summary_page.body.contains("Discharged home.") && summary_page.body.contains("Follow up in 2 weeks."));
    assert!(
        !summary_page.body.contains("alert(") && !summary_page.body.contains("onclick"),
        "nothing a source sent runs"
    );
    let missing = browser.get(&api, &format!("/viewer/person/{patient}/documents/not-there")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_break_glass_use_is_reviewed_by_information_governance_in_the_viewer() {
    for api in TestApi::on_every_backend().await {
        let patient = person_with_a_child_protection_plan(&api, "acute").await;
        let (mut clinician, token) = signed_in(&api, "urgent-care").await;
        let path = format!("/viewer/person/{patient}/break-glass");
        let form = clinician.get(&api, &path).await;
        assert!(form.body.contains("Emergency access (break glass)") && form.body.contains("943 476 5919"));
        let used = clinician
            .post(&api, &path, &[("csrf", &token), ("reason", "Unconscious in the emergency department")])
            .await;
        assert_eq!(used.location, Some(format!("/viewer/person/{patient}")), "{}", used.body);
        let person = clinician.get(&api, &format!("/viewer/person/{patient}")).await;
        assert_eq!(person.status, StatusCode::OK);
        assert!(person.body.contains("Subject to child protection plan"));

        let (mut gp, _) = signed_in(&api, "gp-user").await;
        let not_ig = gp.get(&api, "/viewer/ig/break-glass").await;
        assert_eq!(not_ig.status, StatusCode::FORBIDDEN, "only IG reviews break-glass");

        let (mut ig, ig_token) = signed_in(&api, "ig-user").await;
        let queue = ig.get(&api, "/viewer/ig/break-glass").await;
        assert_eq!(queue.status, StatusCode::OK, "{}", queue.body);
        assert!(
            queue.body.contains("Awaiting review (1)")
                && queue.body.contains("Unconscious in the emergency department")
        );
        let action = queue.body.split("action=\"/viewer/ig/break-glass/").nth(1).unwrap().split('"').next().unwrap();
        let reviewed = ig
            .post(
                &api,
                &format!("/viewer/ig/break-glass/{action}"),
                &[("csrf", &ig_token), ("outcome", "appropriate"), ("note", "Seen in ED, fine")],
            )
            .await;
        assert_eq!(reviewed.location.as_deref(), Some("/viewer/ig/break-glass"), "{}", reviewed.body);
        let queue = ig.get(&api, "/viewer/ig/break-glass").await;
        assert!(queue.body.contains("Awaiting review (0)") && queue.body.contains("Reviewed (1)"));
        assert!(queue.body.contains("appropriate") && queue.body.contains("Seen in ED, fine"));

        let access = ig.get(&api, &format!("/viewer/ig/person/{patient}/access")).await;
        assert_eq!(access.status, StatusCode::OK, "{}", access.body);
        assert!(access.body.contains("user-urgent-care") && access.body.contains("ETREAT"), "{}", access.body);
        let objections = ig.get(&api, &format!("/viewer/ig/person/{patient}/objections")).await;
        assert!(objections.body.contains("No objection is recorded for this person."));
    }
}

#[tokio::test]
async fn sealed_items_are_announced_as_withheld_and_shown_only_with_b1611_and_a_reason() {
    let api = TestApi::new().await;
    let patient = person_with_a_child_protection_plan(&api, "gp").await;
    // Sealed items of the user's own organisation are always theirs to see: this one comes from the hospital.
    write(&api, "acute", json!({ "resourceType": "Condition", "subject": { "reference": format!("Patient/{patient}") },
        "meta": { "security": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "HIV" }] },
        "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "86406008", "display": "HIV infection" }] } }))
    .await;
    let (mut gp, token) = signed_in(&api, "gp-user").await;
    let person = gp.get(&api, &format!("/viewer/person/{patient}")).await;
    assert_eq!(person.status, StatusCode::OK);
    assert!(!person.body.contains("HIV infection"), "a sealed item is not shown");
    assert!(person.body.contains("data-testid=\"withheld\"") && person.body.contains("sensitive"), "{}", person.body);
    let refused = gp
        .post(
            &api,
            &format!("/viewer/person/{patient}/sealed"),
            &[("csrf", &token), ("reason", "Reviewing all of her medication")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "without B1611 the reason does not open sealed items");

    let (mut sealed, token) = signed_in(&api, "sealed-gp").await;
    let before = sealed.get(&api, &format!("/viewer/person/{patient}")).await;
    assert!(
        !before.body.contains("HIV infection") && before.body.contains(&format!("/viewer/person/{patient}/sealed"))
    );
    let stated = sealed
        .post(
            &api,
            &format!("/viewer/person/{patient}/sealed"),
            &[("csrf", &token), ("reason", "Starting a drug that interacts with antiretrovirals")],
        )
        .await;
    assert_eq!(stated.location, Some(format!("/viewer/person/{patient}")), "{}", stated.body);
    let after = sealed.get(&api, &format!("/viewer/person/{patient}")).await;
    assert!(after.body.contains("HIV infection"), "{}", after.body);
}

#[tokio::test]
async fn information_governance_sees_a_persons_objections_with_their_consent_records() {
    let api = TestApi::new().await;
    let patient = person_with_a_child_protection_plan(&api, "gp").await;
    write(&api, "gp", json!({ "resourceType": "Consent", "status": "active", "dateTime": "2026-10-01",
        "scope": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy" }] },
        "category": [{ "coding": [{ "system": "http://read.info/readv2", "code": "9Nu0",
            "display": "Dissent from secondary use of general practitioner patient identifiable data" }] }],
        "patient": { "reference": format!("Patient/{patient}") }, "provision": { "type": "deny" } }))
    .await;
    let (mut gp, _) = signed_in(&api, "gp-user").await;
    let refused = gp.get(&api, &format!("/viewer/ig/person/{patient}/objections")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "only IG lists objections");
    let (mut ig, _) = signed_in(&api, "ig-user").await;
    let before = api.audit_length().await;
    let page = ig.get(&api, &format!("/viewer/ig/person/{patient}/objections")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(api.audit_length().await, before + 1, "listing a person's objections is audited");
    let table = &page.body[page.body.find("data-testid=\"objections\"").expect("the Consent records")..];
    assert!(table.contains("Dissent from secondary use of general practitioner patient identifiable data"), "{table}");
    assert!(table.contains("active") && table.contains("1 October 2026") && table.contains("Test organisation G82001"));
}

/// Every page of a person refuses a user without a relationship in the same way (the banner and the ways in, nothing
/// clinical, an audit entry), and every IG page refuses a user who is not IG.
#[tokio::test]
async fn every_person_page_and_ig_page_refuses_a_user_who_may_not_see_it() {
    let api = TestApi::new().await;
    let patient = person_with_a_child_protection_plan(&api, "acute").await;
    let (mut gp, token) = signed_in(&api, "gp-user").await;
    for section in ["", "/results", "/timeline", "/documents", "/documents/any", "/medications", "/social-care"] {
        let before = api.audit_length().await;
        let page = gp.get(&api, &format!("/viewer/person/{patient}{section}")).await;
        assert!(page.body.contains("data-testid=\"no-relationship\""), "{section}: {}", page.body);
        assert!(!page.body.contains("child protection") && !page.body.contains("Asthma"), "{section}: {}", page.body);
        assert!(api.audit_length().await > before, "{section}: the refusal is audited");
    }
    for path in [
        "/viewer/ig/break-glass".to_string(),
        format!("/viewer/ig/person/{patient}/access"),
        format!("/viewer/ig/person/{patient}/objections"),
    ] {
        let before = api.audit_length().await;
        let page = gp.get(&api, &path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(api.audit_length().await > before, "{path}: the refusal is audited");
    }
    let review =
        gp.post(&api, "/viewer/ig/break-glass/1/review", &[("csrf", &token), ("outcome", "appropriate")]).await;
    assert_eq!(review.status, StatusCode::FORBIDDEN);
}
