//! `kmcr load` end to end, on both backends: a load killed part-way (SIGKILL) is run again and resumes after its last
//! commit; every good line is then stored exactly once, every bad line is reported with its number and reason.

use std::process::{Command, Output};

use kmcr_fhir::{ResourceId, ResourceType};
use serde_json::json;

use crate::mllp::test_databases;

const LINES: usize = 30_000;
const BAD_LINES: [usize; 2] = [3, 29_990];

fn ndjson() -> String {
    let mut text = String::new();
    let patient =
        json!({ "resourceType": "Patient", "id": "loaded-patient", "gender": "male", "birthDate": "1950-02-03" });
    text.push_str(&patient.to_string());
    text.push('\n');
    for line in 2..=LINES {
        let resource = if BAD_LINES.contains(&line) {
            json!({ "resourceType": "Observation", "id": format!("loaded-{line}"), "status": "finished-ish" })
        } else {
            json!({
                "resourceType": "Observation", "id": format!("loaded-{line}"), "status": "final",
                "code": { "coding": [{ "system": "http://loinc.org", "code": "8480-6" }] },
                "subject": { "reference": "Patient/loaded-patient" },
                "valueQuantity": { "value": 100 + line % 60, "unit": "mm[Hg]" },
            })
        };
        text.push_str(&resource.to_string());
        text.push('\n');
    }
    text
}

fn kmcr(arguments: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kmcr"));
    command.args(arguments).env("RUST_LOG", "warn");
    command
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn a_load_killed_part_way_resumes_and_stores_every_good_line_once() {
    let file_text = ndjson();
    for (n, database) in test_databases("kmcr_load_kill_").iter().enumerate() {
        let directory = std::env::temp_dir().join(format!("kmcr-e2e-load-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory).unwrap();
        let location =
            database.as_ref().map_or_else(|| directory.join("store").display().to_string(), |db| db.url.clone());
        let config = directory.join("kmcr.toml");
        std::fs::write(&config, "[[organisations]]\nods_code = \"RWF\"\nname = \"Test trust\"\nkind = \"acute\"\n")
            .unwrap();
        let file = directory.join("observations.ndjson");
        std::fs::write(&file, &file_text).unwrap();
        let config = config.to_str().unwrap();
        let load_arguments = ["load", "--config", config, "--database", &location, "--organisation", "RWF"];
        let file = file.to_str().unwrap();

        let mut first = kmcr(&load_arguments).arg(file).spawn().unwrap();
        let job_id = format!("RWF/observations.ndjson:{}", file_text.len());
        let lines_done = || {
            let status = kmcr(&["load", "status", &job_id, "--config", config, "--database", &location]).output();
            let status = text(&status.unwrap());
            status.split(" lines done").next().and_then(|start| start.rsplit(' ').next()?.parse::<usize>().ok())
        };
        let started = std::time::Instant::now();
        while lines_done().unwrap_or(0) == 0 {
            assert!(first.try_wait().unwrap().is_none(), "{location}: the load finished before it could be killed");
            assert!(started.elapsed().as_secs() < 120, "{location}: the load never committed a batch");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        first.kill().unwrap();
        first.wait().unwrap();
        let done_at_kill = lines_done().unwrap();
        assert!(done_at_kill < LINES, "{location}: killed part-way ({done_at_kill} lines done)");

        let second = kmcr(&load_arguments).arg(file).output().unwrap();
        let printed = text(&second);
        assert!(!second.status.success(), "{location}: refused lines make the command fail: {printed}");
        let summary = format!("{} loaded, {} refused, {LINES} lines", LINES - BAD_LINES.len(), BAD_LINES.len());
        assert!(printed.contains(&summary), "{location}: {printed}");
        assert!(printed.contains(&format!("resumed after line {done_at_kill}")), "{location}: {printed}");

        let status =
            text(&kmcr(&["load", "status", &job_id, "--config", config, "--database", &location]).output().unwrap());
        for line in BAD_LINES {
            let reported = status.lines().find(|reported| reported.starts_with(&format!("line {line}: ")));
            assert!(
                reported.is_some_and(|reported| reported.contains("code is required")),
                "{location}: line {line}: {status}"
            );
        }
        let again = text(&kmcr(&load_arguments).arg(file).output().unwrap());
        assert!(again.contains("had already finished"), "{location}: {again}");

        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let store = kmcr_store::Store::open(&location, &Default::default()).await.unwrap();
            for line in 2..=LINES {
                let id = ResourceId::parse(&format!("loaded-{line}")).unwrap();
                let stored = store.read(ResourceType::parse("Observation").unwrap(), &id).await.unwrap();
                match stored {
                    Some(stored) => {
                        assert!(!BAD_LINES.contains(&line), "{location}: bad line {line} was stored");
                        assert_eq!(stored.version_id, 1, "{location}: line {line} was applied more than once");
                    }
                    None => assert!(BAD_LINES.contains(&line), "{location}: line {line} was lost"),
                }
            }
        });
        let _ = std::fs::remove_dir_all(&directory);
    }
}
