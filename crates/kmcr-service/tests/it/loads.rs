//! Bulk NDJSON loads through the service, on both backends: good lines are loaded and found like any source's data,
//! bad lines are refused with their number and reason while the rest load, and a load cut off part-way resumes after
//! its last commit without loading a line twice.

use std::pin::Pin;
use std::task::{Context, Poll};

use kmcr_fhir::{ResourceId, ResourceType};
use kmcr_service::ServiceError;
use kmcr_service::loads::{LoadRequest, MAX_LINE_BYTES};
use kmcr_store::{EverythingRequest, LineRefusal};
use serde_json::json;
use tokio::io::{AsyncRead, BufReader, ReadBuf};

use crate::world::*;

/// Observations in the file, after its Patient; more than two batches' worth.
const OBSERVATIONS: usize = 2_400;

/// The lines of a source's export about person A, with bad lines at known places. Returns the text and, per bad line,
/// its number and a word its reason must contain.
fn export() -> (String, Vec<(i64, &'static str)>) {
    let mut lines = vec![
        json!({
            "resourceType": "Patient", "id": "load-pa",
            "identifier": [{ "system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs_number(PERSON_A_NHS) }],
            "name": [{ "family": "Ashdown", "given": ["Alex"] }], "gender": "female", "birthDate": "1961-04-02",
            "address": [{ "postalCode": "ME14 2LL" }],
        })
        .to_string(),
    ];
    for n in 0..OBSERVATIONS {
        let mut observation = observation("load-pa", "http://loinc.org", "8867-4");
        observation["id"] = json!(format!("load-obs-{n}"));
        lines.push(observation.to_string());
    }
    let mut bad = Vec::new();
    let mut put_bad = |line: usize, text: String, reason: &'static str| {
        lines[line - 1] = text;
        bad.push((line as i64, reason));
    };
    put_bad(5, "{ this is not JSON".into(), "not JSON");
    put_bad(7, json!({ "resourceType": "Observation", "status": "final" }).to_string(), "no id");
    put_bad(1_200, json!({ "resourceType": "Obsrvation", "id": "x" }).to_string(), "not an R4 resource type");
    let mut unknown_element = observation("load-pa", "http://loinc.org", "1");
    unknown_element["id"] = json!("load-bad-element");
    unknown_element["colour"] = json!("blue");
    put_bad(1_500, unknown_element.to_string(), "colour");
    // An item the GP practice sent: another organisation may not overwrite it.
    let mut not_ours = observation("load-pa", "http://loinc.org", "2");
    not_ours["id"] = json!("obs-gp");
    // In the second batch, so that the third, sent while the second is written, must be sent again.
    put_bad(1_100, not_ours.to_string(), "Observation/obs-gp: access denied");
    bad.sort();
    let mut text = lines.join("\n");
    text.push_str("\n\n");
    (text, bad)
}

fn load(job_id: &str) -> LoadRequest {
    LoadRequest { job_id: job_id.into(), source: "test.ndjson".into() }
}

/// Bytes that fail after `fail_after`, as a connection or a disk can.
struct FailingReader {
    bytes: Vec<u8>,
    position: usize,
    fail_after: usize,
}

impl AsyncRead for FailingReader {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buffer: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        if self.position >= self.fail_after {
            return Poll::Ready(Err(std::io::Error::other("the connection was reset")));
        }
        let end = (self.position + 4096).min(self.fail_after).min(self.bytes.len());
        let chunk = self.bytes[self.position..end].to_vec();
        buffer.put_slice(&chunk);
        self.position = end;
        Poll::Ready(Ok(()))
    }
}

async fn version_of(world: &World, id: &str) -> Option<i64> {
    let id = ResourceId::parse(id).unwrap();
    world.store.read(ResourceType::parse("Observation").unwrap(), &id).await.unwrap().map(|stored| stored.version_id)
}

#[tokio::test]
async fn a_load_keeps_good_lines_refuses_bad_ones_by_number_and_resumes_where_it_stopped() {
    let (text, bad) = export();
    for world in worlds().await {
        let backend = world.backend;
        let acute = system(ACUTE, &["system/*.*"]);

        // Cut off part-way through line 1,600 (in the middle of a line): the batches before it are committed.
        let cut = text.match_indices('\n').nth(1_598).unwrap().0 + 40;
        let failing = FailingReader { bytes: text.clone().into_bytes(), position: 0, fail_after: cut };
        let mut heard = Vec::new();
        let stopped = world
            .service
            .load_ndjson(&acute, &load("export-1"), BufReader::new(failing), |refusal: &LineRefusal| {
                heard.push(refusal.clone())
            })
            .await;
        assert!(matches!(stopped, Err(ServiceError::Invalid(ref reason)) if reason.contains("reset")), "{backend}");
        let status = world.store.load_status("RVV/export-1").await.unwrap().expect("the job");
        assert!(status.finished_ms.is_none(), "{backend}");
        assert!(status.lines_done >= 1_000 && status.lines_done < 1_600, "{backend}: {}", status.lines_done);
        assert_eq!(version_of(&world, "load-obs-10").await, Some(1), "{backend}: committed before the cut");
        assert_eq!(version_of(&world, "load-obs-1598").await, None, "{backend}: not committed");

        // Started again with the whole file: it resumes after the last commit.
        let report = world
            .service
            .load_ndjson(&acute, &load("export-1"), BufReader::new(text.as_bytes()), |refusal: &LineRefusal| {
                heard.push(refusal.clone())
            })
            .await
            .unwrap_or_else(|error| panic!("{backend}: {error}"));
        assert_eq!(report.resumed_after_line, status.lines_done, "{backend}");
        let lines = OBSERVATIONS as i64 + 2;
        assert_eq!(report.status.lines_done, lines, "{backend}: every line, the blank one too");
        assert_eq!(report.status.loaded, OBSERVATIONS as i64 + 1 - bad.len() as i64, "{backend}");
        assert_eq!(report.status.refused, bad.len() as i64, "{backend}");
        assert!(report.status.finished_ms.is_some(), "{backend}");
        let refused: Vec<i64> = heard.iter().map(|refusal| refusal.line).collect();
        assert_eq!(refused, bad.iter().map(|(line, _)| *line).collect::<Vec<_>>(), "{backend}: each heard once");
        let stored = world.store.load_refusals("RVV/export-1", 0, 100).await.unwrap();
        assert_eq!(stored, heard, "{backend}: kept with the job");
        for ((line, word), refusal) in bad.iter().zip(&stored) {
            assert_eq!(refusal.line, *line, "{backend}");
            assert!(refusal.reason.contains(word), "{backend}: line {line}: {}", refusal.reason);
        }
        for n in [0, 10, 1_598, 1_599, OBSERVATIONS - 1] {
            assert_eq!(version_of(&world, &format!("load-obs-{n}")).await, Some(1), "{backend}: load-obs-{n} once");
        }
        let gp_item = ResourceId::parse("obs-gp").unwrap();
        let gp_item = world.store.read(ResourceType::parse("Observation").unwrap(), &gp_item).await.unwrap().unwrap();
        assert_eq!(gp_item.source_ods_code.as_str(), GP, "{backend}: the GP's item is untouched");

        // The loaded records joined person A, and a clinician with a relationship finds them in $everything.
        let request = EverythingRequest {
            patient_ids: vec![ResourceId::parse("pa-gp").unwrap()],
            since: None,
            types: vec![ResourceType::parse("Observation").unwrap()],
            count: 1000,
            cursor: None,
        };
        let page = world.service.everything(&gp_doctor(), request, None).await.unwrap();
        let loaded = page.resources.iter().filter(|resource| resource.id.as_str().starts_with("load-obs-")).count();
        assert!(loaded > 0, "{backend}: the loaded Observations are part of the person's record");

        // A finished job loads nothing again; another organisation's job of the same name is its own, and it sees
        // nothing of this one.
        let job = load("export-1");
        let again = world.service.load_ndjson(&acute, &job, BufReader::new(text.as_bytes()), |_| {});
        assert!(again.await.unwrap().already_finished, "{backend}");
        let gp = system(GP, &["system/*.*"]);
        let foreign = world.service.load_status(&gp, "export-1", 10).await;
        assert!(matches!(foreign, Err(ServiceError::NotFound)), "{backend}");
        let own = world.service.load_status(&acute, "export-1", 10).await.unwrap();
        assert_eq!(own.0.job.job_id, "RVV/export-1", "{backend}");
    }
}

#[tokio::test]
async fn a_load_refuses_what_its_client_may_not_write_and_lines_too_long_to_hold() {
    for world in worlds().await {
        let backend = world.backend;
        let observations_only = system(ACUTE, &["system/Observation.cu"]);
        let mut observation = observation("pa-rvv", "http://loinc.org", "8867-4");
        observation["id"] = json!("scoped-obs");
        let patient = json!({ "resourceType": "Patient", "id": "scoped-pa", "gender": "male" });
        let long =
            format!("{{\"resourceType\": \"Basic\", \"id\": \"long\", \"x\": \"{}\"}}", "a".repeat(MAX_LINE_BYTES));
        let text = format!("{observation}\n{patient}\n{long}\n{observation}");
        let report = world
            .service
            .load_ndjson(&observations_only, &load("scoped"), BufReader::new(text.as_bytes()), |_| {})
            .await
            .unwrap();
        assert_eq!((report.status.loaded, report.status.refused, report.status.lines_done), (2, 2, 4), "{backend}");
        let refusals = world.store.load_refusals("RVV/scoped", 0, 10).await.unwrap();
        assert_eq!(refusals.iter().map(|refusal| refusal.line).collect::<Vec<_>>(), vec![2, 3], "{backend}");
        assert!(refusals[0].reason.contains("Patient"), "{backend}: {}", refusals[0].reason);
        assert!(refusals[1].reason.contains("longer than"), "{backend}: {}", refusals[1].reason);

        let left = system(LEFT, &["system/*.*"]);
        let job = load("left");
        let refused = world.service.load_ndjson(&left, &job, BufReader::new(text.as_bytes()), |_| {}).await;
        assert!(
            matches!(refused, Err(ServiceError::Forbidden(ref reason)) if reason.contains("agreement")),
            "{backend}"
        );
        assert!(world.store.load_status("LEFT1/left").await.unwrap().is_none(), "{backend}: no job is started");
    }
}
