//! The clinician viewer in a real browser: `kmcr serve --demo`, then crates/kmcr/tests/viewer_browser/journey.mjs
//! (playwright-core driving Debian's Chromium, axe-core on every page) signs in as a demo user, finds a person by NHS
//! number and opens their record, safeguarding first; then a GP is refused a record without a relationship, declares
//! one, reads the results with a chart and a document; a paramedic breaks glass; the IG officer reviews that use. By
//! pointer, by keyboard alone and with JavaScript off. It saves screenshots of the main pages in
//! target/tmp/viewer-screenshots, which the README shows (docs/screenshots).
//!
//! The npm packages (pinned in package-lock.json; playwright-core downloads no browser) are installed with `npm ci`
//! on the first run and again only when the lock file changes. Node.js and Chromium must be installed (`.ci/run`
//! installs Debian's `chromium`): without them the test fails, it never skips.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use serde_json::Value;

use crate::{Server, bearer, http, json_of};

/// The demo's social worker works at the region's first council, Kent County Council, whose own records (an open
/// episode of care) give them a relationship with the people it supports, and whose safeguarding flags they see.
/// The demo's GP sees no flagged person's record in a small demo: their practice's first flagged person comes
/// thousands of people in.
const USERNAME: &str = "social-worker";
const USER_COUNCIL_ODS_CODE: &str = "886";
/// Every demo user's password (`DEMO_PASSWORD`).
const PASSWORD: &str = "demo-password-change-me";
/// Enough people for the council to hold an active safeguarding flag (person 41 of the demo's seeded population).
const N_DEMO_PEOPLE: usize = 100;
const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
const ODS_CODE_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";

fn script_folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("viewer_browser")
}

/// Debian's Chromium, or the one `KMCR_CHROMIUM` names.
fn chromium() -> PathBuf {
    let path = std::env::var_os("KMCR_CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        path.exists(),
        "the browser test needs Chromium at {} (on Debian: apt-get install chromium)",
        path.display()
    );
    path
}

/// `npm ci` in the script's folder, unless what is installed was installed from this lock file (once per process).
fn install_packages() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        if let Err(error) = Command::new("node").arg("--version").output() {
            panic!("the browser test needs Node.js 20 or later on PATH (`node`): {error}");
        }
        let folder = script_folder();
        let lock = std::fs::read_to_string(folder.join("package-lock.json")).unwrap();
        // Written only once npm succeeded (npm ci empties node_modules first): a failed or older install is made again.
        let installed_marker = folder.join("node_modules").join(".kmcr-installed-package-lock.json");
        if std::fs::read_to_string(&installed_marker).ok().as_deref() == Some(lock.as_str()) {
            return;
        }
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&folder)
            .stdout(Stdio::null())
            .status()
            .unwrap_or_else(|error| panic!("npm is needed to install the browser test's packages: {error}"));
        assert!(status.success(), "npm ci failed in {}", folder.display());
        std::fs::write(&installed_marker, lock).unwrap();
    });
}

/// A person the user may see who has an active safeguarding flag: their NHS number and the flag's text. Found as any
/// client would, through the FHIR API with the demo's region-wide client, which reads person by person: the council's
/// Patient records, then each one's Flags.
fn flagged_person(server: &Server) -> (String, String) {
    let token = bearer(&server.address, "demo-viewer", "demo-viewer-secret-change-me");
    let get = |path: &str| {
        let (status, body) = http(&server.address, "GET", path, &[("Authorization", &token)], "");
        assert_eq!(status, 200, "GET {path}: {body}");
        json_of(&body)
    };
    let patients = get(&format!("/fhir/Patient?_tag={ODS_CODE_SYSTEM}%7C{USER_COUNCIL_ODS_CODE}&_count=1000"));
    for patient in entries(&patients, "Patient") {
        let Some(nhs_number) = identifier(patient, NHS_NUMBER_SYSTEM) else { continue };
        let patient_id = patient["id"].as_str().unwrap();
        let flags = get(&format!("/fhir/Flag?patient={patient_id}"));
        let subject = format!("Patient/{patient_id}");
        let active_flag = entries(&flags, "Flag")
            .find(|flag| flag["status"] == "active" && flag["subject"]["reference"].as_str() == Some(subject.as_str()));
        if let Some(flag) = active_flag {
            let code = &flag["code"];
            let text = code["text"].as_str().or_else(|| code["coding"][0]["display"].as_str()).unwrap();
            return (nhs_number.to_string(), text.to_string());
        }
    }
    panic!(
        "none of the {N_DEMO_PEOPLE} demo people has an active flag from {USER_COUNCIL_ODS_CODE} on a record with an \
         NHS number: raise N_DEMO_PEOPLE"
    );
}

/// People whose record has a repeated numeric test and a document, for the GP and the paramedic to open: each journey
/// (pointer, keyboard, no script) takes the next one the user has no relationship with yet.
fn record_people(server: &Server, wanted: usize) -> Vec<String> {
    let token = bearer(&server.address, "demo-viewer", "demo-viewer-secret-change-me");
    let get = |path: &str| {
        let (status, body) = http(&server.address, "GET", path, &[("Authorization", &token)], "");
        assert_eq!(status, 200, "GET {path}: {body}");
        json_of(&body)
    };
    let patients = get("/fhir/Patient?_count=1000");
    let mut found: Vec<String> = Vec::new();
    for patient in entries(&patients, "Patient") {
        let Some(nhs_number) = identifier(patient, NHS_NUMBER_SYSTEM) else { continue };
        if found.iter().any(|known| known == nhs_number) {
            continue;
        }
        let record = get(&format!("/fhir/Patient/{}/$everything?_count=1000", patient["id"].as_str().unwrap()));
        let has_document = entries(&record, "DocumentReference").next().is_some();
        let mut codes: Vec<&str> = entries(&record, "Observation")
            .filter(|observation| observation["valueQuantity"]["value"].is_number())
            .filter_map(|observation| observation["code"]["coding"][0]["code"].as_str())
            .collect();
        codes.sort_unstable();
        let repeated = codes.windows(2).any(|pair| pair[0] == pair[1]);
        if has_document && repeated {
            found.push(nhs_number.to_string());
            if found.len() == wanted {
                break;
            }
        }
    }
    assert!(
        found.len() == wanted,
        "only {} demo people have a repeated test and a document: raise N_DEMO_PEOPLE",
        found.len()
    );
    found
}

fn entries<'a>(bundle: &'a Value, resource_type: &'a str) -> impl Iterator<Item = &'a Value> {
    let entries = bundle["entry"].as_array().map(Vec::as_slice).unwrap_or_default();
    entries.iter().map(|entry| &entry["resource"]).filter(move |resource| resource["resourceType"] == resource_type)
}

fn identifier<'a>(resource: &'a Value, system: &str) -> Option<&'a str> {
    let identifiers = resource["identifier"].as_array()?;
    identifiers.iter().find(|identifier| identifier["system"] == system)?["value"].as_str()
}

fn screenshots_folder() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("viewer-screenshots")
}

#[test]
fn the_viewer_journey_works_by_pointer_keyboard_and_without_script_with_no_axe_violations() {
    let started = Instant::now();
    let chromium = chromium();
    install_packages();
    let server = crate::start_demo(N_DEMO_PEOPLE);
    let (nhs_number, flag) = flagged_person(&server);
    // Three runs of the journey, each needing a person the GP and one the paramedic have no relationship with.
    let record_people = record_people(&server, 12);
    let screenshots = screenshots_folder();
    let _ = std::fs::remove_dir_all(&screenshots);
    let ready_after = started.elapsed();

    let output = Command::new("node")
        .arg(script_folder().join("journey.mjs"))
        .args(["--base-url", &format!("http://{}", server.address)])
        .args(["--username", USERNAME, "--password", PASSWORD])
        .args(["--nhs-number", &nhs_number, "--safeguarding-flag", &flag])
        .args(["--record-nhs-numbers", &record_people.join(",")])
        // The demo's locum holds two role profiles: they choose one at sign-in (the practice's, listed first).
        .args(["--gp-username", "locum"])
        .arg("--screenshots")
        .arg(&screenshots)
        .arg("--chromium")
        .arg(&chromium)
        .current_dir(script_folder())
        .output()
        .expect("node runs journey.mjs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}{stderr}");
    println!(
        "ready (demo of {N_DEMO_PEOPLE} people, flagged person found) after {:.1} s; journeys took {:.1} s",
        ready_after.as_secs_f64(),
        (started.elapsed() - ready_after).as_secs_f64()
    );
    assert!(output.status.success(), "journey.mjs failed ({}):\n{stdout}{stderr}", output.status);
    for page in [
        "sign-in",
        "find-a-person",
        "person-summary",
        "choose-role",
        "no-relationship",
        "declare-relationship",
        "results",
        "document",
        "break-glass",
        "break-glass-review",
    ] {
        let path = screenshots.join(format!("{page}.png"));
        assert!(path.exists(), "no screenshot of the {page} page at {}", path.display());
        // `KMCR_UPDATE_SCREENSHOTS=1` refreshes the README's copies.
        if std::env::var_os("KMCR_UPDATE_SCREENSHOTS").is_some() {
            let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
            std::fs::create_dir_all(&docs).unwrap();
            std::fs::copy(&path, docs.join(format!("{page}.png"))).unwrap();
        }
    }
}
