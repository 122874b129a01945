//! A real SMART client library completes the standalone launch against `kmcr serve --demo`: Python's `fhirclient`
//! (crates/kmcr/tests/smart_client/launch.py, packages pinned in requirements.txt) discovers KMCR's endpoints, sends
//! the user (the demo GP, signing in on KMCR's page) through authorisation with PKCE, exchanges the code and reads
//! FHIR as that user. The script prints one JSON line, asserted on here.
//!
//! The packages go into a virtual environment under Cargo's target directory on the first run (PyPI), and again only
//! when requirements.txt changes: later runs need no network.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

fn script_folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("smart_client")
}

/// The virtual environment's Python, with requirements.txt installed.
pub(crate) fn python_with_requirements() -> PathBuf {
    // Tests run side by side in one process: the environment is made once, by whichever asks first.
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON.get_or_init(install_requirements).clone()
}

fn install_requirements() -> PathBuf {
    let requirements_file = script_folder().join("requirements.txt");
    let requirements = std::fs::read_to_string(&requirements_file).unwrap();
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("smart-client-venv");
    let python = venv.join("bin").join("python");
    // What was installed, written only once pip succeeded: a failed or older install is made again.
    let installed_marker = venv.join("kmcr-installed-requirements.txt");
    if std::fs::read_to_string(&installed_marker).ok().as_deref() == Some(requirements.as_str()) {
        return python;
    }
    let _ = std::fs::remove_dir_all(&venv);
    let status =
        Command::new("python3").args(["-m", "venv"]).arg(&venv).status().unwrap_or_else(|error| {
            panic!("the SMART client test needs Python 3.9 or later on PATH (`python3`): {error}")
        });
    assert!(status.success(), "python3 -m venv {} failed (on Debian: apt-get install python3-venv)", venv.display());
    let status = Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&requirements_file)
        .status()
        .unwrap();
    assert!(status.success(), "pip could not install {}", requirements_file.display());
    std::fs::write(&installed_marker, requirements).unwrap();
    python
}

#[test]
fn fhirclient_launches_standalone_as_the_demo_gp_and_reads_only_where_the_practice_has_a_relationship() {
    let python = python_with_requirements();
    let directory = std::env::temp_dir().join(format!("kmcr-e2e-smart-client-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    let server = crate::start_serving(&["--demo", "--demo-people", "5"], directory);
    let base = format!("http://{}", server.address);

    // The demo's published app, user and region-wide client, as `kmcr serve --demo` prints them.
    let output = Command::new(python)
        .arg(script_folder().join("launch.py"))
        .args(["--base", &base, "--app-id", "demo-smart-app", "--redirect-uri", "http://127.0.0.1:9000/callback"])
        .args(["--username", "gp", "--password", "demo-password-change-me"])
        .args(["--viewer-id", "demo-viewer", "--viewer-secret", "demo-viewer-secret-change-me"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "launch.py failed:\n{stdout}\n{stderr}");
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|_| panic!("launch.py printed no summary:\n{stdout}\n{stderr}"));

    // fhirclient asked with PKCE (S256, which KMCR requires) for the FHIR base it found, and got a token.
    assert_eq!(
        summary["authorize"],
        json!({"code_challenge_method": "S256", "has_code_challenge": true, "aud": format!("{base}/fhir")})
    );
    assert_eq!(summary["ready"], true);
    // The token is the demo GP's, at the first demo person's practice.
    let user = &summary["user"];
    assert_eq!((&user["kind"], &user["user_id"]), (&json!("user"), &json!("demo-gp")), "{summary}");
    assert!(user["scope"].as_str().unwrap().split(' ').any(|scope| scope == "user/*.rs"), "{summary}");
    assert!(summary["n_patients_found_by_user"].as_u64().unwrap() >= 1, "{summary}");

    // The practice's registered patient: the record, their Observations and $everything.
    let related = &summary["related"];
    assert_eq!(related["patient_has_name"], true, "{summary}");
    assert!(related["n_observations"].as_u64().unwrap() >= 1, "{summary}");
    assert!(related["n_everything_entries"].as_u64().unwrap() > 1, "{summary}");

    // A person registered elsewhere, of whom the practice holds nothing: an Observation is not announced (404), the
    // record is refused (403).
    assert_eq!(summary["unrelated"], json!({"observation_read": 404, "everything": 403}), "{summary}");
}
