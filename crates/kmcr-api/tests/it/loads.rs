//! Bulk loads over HTTP (`POST /fhir/$import`): an NDJSON body larger than any other request may be is streamed in,
//! its good lines found through the API and its bad lines answered by number; a job is seen again through
//! `$import-status` by its own organisation only.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

use crate::harness::*;

/// More lines than fit under the body limit of other requests.
const LINES: usize = 5_000;

fn ndjson() -> Vec<u8> {
    // Long notes, so that a few thousand lines pass the limit.
    let note = "recorded at the bedside by the ward team during the morning round; ".repeat(28);
    let mut text = String::new();
    text.push_str(&json!({ "resourceType": "Patient", "id": "bulk-patient", "gender": "female" }).to_string());
    text.push('\n');
    for n in 1..LINES {
        let line = match n {
            100 => "not json at all".to_string(),
            200 => json!({ "resourceType": "Observation", "status": "final" }).to_string(),
            _ => json!({
                "resourceType": "Observation", "id": format!("bulk-{n}"), "status": "final",
                "code": { "coding": [{ "system": "http://loinc.org", "code": "8867-4", "display": "Heart rate" }] },
                "subject": { "reference": "Patient/bulk-patient" },
                "effectiveDateTime": "2026-11-30T10:00:00Z",
                "valueQuantity": { "value": 60 + n % 40, "unit": "beats/minute", "system": "http://unitsofmeasure.org", "code": "/min" },
                "note": [{ "text": note }],
            })
            .to_string(),
        };
        text.push_str(&line);
        text.push('\n');
    }
    text.into_bytes()
}

async fn import(api: &TestApi, client_id: &str, query: &str, content_type: &str, body: Vec<u8>) -> Reply {
    let token = api.token(client_id).await;
    let request = Request::post(format!("/fhir/$import{query}"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap();
    api.send(request).await
}

#[tokio::test]
async fn a_bulk_load_over_http_streams_past_the_body_limit_and_answers_bad_lines_by_number() {
    let body = ndjson();
    assert!(body.len() > MAX_BODY_BYTES, "the load is larger than any other request may be");
    for api in TestApi::on_every_backend().await {
        let backend = api.backend;
        let reply = import(&api, "acute", "?job=ward-export", "application/fhir+ndjson", body.clone()).await;
        assert_eq!(reply.status, StatusCode::OK, "{backend}: {}", reply.body);
        let issues = reply.body["issue"].as_array().unwrap();
        let summary = issues[0]["diagnostics"].as_str().unwrap();
        assert!(summary.contains(&format!("{LINES} lines read")), "{backend}: {summary}");
        assert!(summary.contains(&format!("{} resources loaded", LINES - 2)), "{backend}: {summary}");
        let refused: Vec<&str> = issues[1..].iter().map(|issue| issue["diagnostics"].as_str().unwrap()).collect();
        assert_eq!(refused.len(), 2, "{backend}: {refused:?}");
        assert!(refused[0].starts_with("line 101: not JSON"), "{backend}: {refused:?}");
        assert!(refused[1].starts_with("line 201:") && refused[1].contains("no id"), "{backend}: {refused:?}");

        let found =
            api.fhir("acute", "GET", "Observation?subject=Patient/bulk-patient&_summary=count", None, &[]).await;
        assert_eq!(found.body["total"], LINES - 3, "{backend}: {}", found.body);
        let one = api.fhir("acute", "GET", "Observation/bulk-1234", None, &[]).await;
        assert_eq!(one.status, StatusCode::OK, "{backend}");
        assert_eq!(one.body["meta"]["versionId"], "1", "{backend}");

        let status = api.fhir("acute", "GET", "$import-status/ward-export", None, &[]).await;
        assert_eq!(status.status, StatusCode::OK, "{backend}");
        assert!(status.body["issue"][0]["diagnostics"].as_str().unwrap().contains("finished"), "{backend}");
        assert_eq!(status.body["issue"].as_array().unwrap().len(), 3, "{backend}: {}", status.body);
        let foreign = api.fhir("gp", "GET", "$import-status/ward-export", None, &[]).await;
        assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{backend}: another organisation's job");

        let no_job = import(&api, "acute", "", "application/fhir+ndjson", b"{}".to_vec()).await;
        assert_eq!(no_job.status, StatusCode::BAD_REQUEST, "{backend}");
        assert!(no_job.body["issue"][0]["diagnostics"].as_str().unwrap().contains("?job="), "{backend}");
        let json = import(&api, "acute", "?job=x", "application/fhir+json", b"{}".to_vec()).await;
        assert_eq!(json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{backend}");
        assert_eq!(json.body["resourceType"], "OperationOutcome", "{backend}");
    }
}

/// A body that gives its first bytes, then fails, as a connection cut mid-upload does.
struct CutOffBody {
    first: Option<axum::body::Bytes>,
}

impl http_body::Body for CutOffBody {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(Some(match self.first.take() {
            Some(bytes) => Ok(http_body::Frame::data(bytes)),
            None => Err(std::io::Error::other("connection reset")),
        }))
    }
}

/// An upload cut off part-way is answered 400 and its job is not finished: sent again whole, it resumes after what
/// was committed and loads the rest, each line once.
#[tokio::test]
async fn an_upload_cut_off_part_way_resumes_when_sent_again() {
    let body = ndjson();
    for api in TestApi::on_every_backend().await {
        let backend = api.backend;
        let token = api.token("acute").await;
        let cut = body.len() * 3 / 5;
        let request = Request::post("/fhir/$import?job=cut-off")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/fhir+ndjson")
            .body(Body::new(CutOffBody { first: Some(axum::body::Bytes::from(body[..cut].to_vec())) }))
            .unwrap();
        let reply = api.send(request).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{backend}: {}", reply.body);
        assert_eq!(error_code(&reply), "KMCR-LOAD-CUT-OFF", "{backend}");
        let status = api.fhir("acute", "GET", "$import-status/cut-off", None, &[]).await;
        let summary = status.body["issue"][0]["diagnostics"].as_str().unwrap().to_string();
        assert!(summary.contains("not finished"), "{backend}: {summary}");

        let again = import(&api, "acute", "?job=cut-off", "application/fhir+ndjson", body.clone()).await;
        assert_eq!(again.status, StatusCode::OK, "{backend}: {}", again.body);
        let summary = again.body["issue"][0]["diagnostics"].as_str().unwrap();
        assert!(summary.contains(&format!("{} resources loaded", LINES - 2)), "{backend}: {summary}");
        let one = api.fhir("acute", "GET", "Observation/bulk-10", None, &[]).await;
        assert_eq!(one.body["meta"]["versionId"], "1", "{backend}: loaded once");
    }
}
