//! Bulk loads over HTTP: `POST /fhir/$import?job=ID` with an NDJSON body (`application/fhir+ndjson`), streamed
//! through the service's load (`kmcr_service::loads`) as the caller's organisation's data; the answer is an
//! OperationOutcome with the counts and each line refused in this request, by number. The same job id sent again
//! resumes after its last commit. `GET /fhir/$import-status/{job}` answers the same for a job already run.

#![allow(clippy::result_large_err)]

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use kmcr_service::ServiceError;
use kmcr_service::loads::LoadRequest;
use kmcr_store::{LineRefusal, LoadStatus};
use serde_json::{Value, json};

use super::{HandlerResult, context};
use crate::AppState;
use crate::auth::Caller;
use crate::responses::{error_response, fhir_json, outcome_response};

/// Line refusals listed in one answer at most; the rest are counted (and kept with the job).
const REFUSALS_LISTED: usize = 1_000;

#[derive(serde::Deserialize)]
pub struct ImportQuery {
    job: Option<String>,
}

pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> HandlerResult {
    let media_type = headers.get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let media_type = media_type.split(';').next().unwrap_or("").trim();
    if !matches!(media_type, "application/fhir+ndjson" | "application/ndjson" | "application/x-ndjson") {
        let text = "a bulk load is NDJSON: send it as application/fhir+ndjson, one resource per line";
        return Err(outcome_response(StatusCode::UNSUPPORTED_MEDIA_TYPE, "not-supported", "KMCR-MEDIA-TYPE", text));
    }
    let Some(job_id) = query.job else {
        return Err(error_response(ServiceError::Invalid(
            "name the load with ?job=ID: sent again with the same id, a load that stopped resumes where it stopped"
                .into(),
        )));
    };
    // The body's chunks are handed over as they arrive, a few at a time, so a fast sender waits; a body cut off is an
    // error to the load (which then stops, to be resumed), never a short file.
    let (chunks, receiver) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(16);
    let pump = tokio::spawn(async move {
        let mut body = body;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                let cut = std::io::Error::other("the request body was cut off");
                let _ = chunks.send(Err(cut)).await;
                return false;
            };
            if let Ok(data) = frame.into_data()
                && chunks.send(Ok(data)).await.is_err()
            {
                // The load stopped reading (it was refused, or failed): its own error is the answer.
                return true;
            }
        }
        true
    });
    let request = LoadRequest { job_id, source: "api".into() };
    let mut refusals = Vec::new();
    let mut more_refusals = 0usize;
    let reader = tokio::io::BufReader::with_capacity(1 << 20, BodyReader { receiver, chunk: Bytes::new() });
    let loaded = state
        .service
        .load_ndjson(&context(caller), &request, reader, |refusal: &LineRefusal| {
            if refusals.len() < REFUSALS_LISTED {
                refusals.push(refusal.clone());
            } else {
                more_refusals += 1;
            }
        })
        .await;
    if !pump.await.unwrap_or(false) {
        // What arrived whole is committed; the load resumes after it when the same job is sent again.
        let text = "the request body was cut off: the lines committed are kept; send the same job again to resume";
        return Err(outcome_response(StatusCode::BAD_REQUEST, "incomplete", "KMCR-LOAD-CUT-OFF", text));
    }
    let report = loaded.map_err(error_response)?;
    let outcome = load_outcome(&report.status, &refusals, more_refusals);
    Ok(fhir_json(StatusCode::OK, outcome.to_string()))
}

pub async fn import_status(State(state): State<AppState>, caller: Caller, Path(job): Path<String>) -> HandlerResult {
    let (status, refusals) =
        state.service.load_status(&context(caller), &job, REFUSALS_LISTED).await.map_err(error_response)?;
    let more = (status.refused as usize).saturating_sub(refusals.len());
    Ok(fhir_json(StatusCode::OK, load_outcome(&status, &refusals, more).to_string()))
}

/// The job's counts as an `information` issue, then an `error` issue per refused line.
fn load_outcome(status: &LoadStatus, refusals: &[LineRefusal], more_refusals: usize) -> Value {
    let state = if status.finished_ms.is_some() { "finished" } else { "not finished" };
    let summary = format!(
        "load {}: {state}; {} lines read, {} resources loaded, {} lines refused",
        status.job.job_id, status.lines_done, status.loaded, status.refused
    );
    let mut issues = vec![issue("information", "informational", &summary)];
    for refusal in refusals {
        let mut line = issue("error", "invalid", &format!("line {}: {}", refusal.line, refusal.reason));
        line["location"] = json!([format!("line {}", refusal.line)]);
        issues.push(line);
    }
    if more_refusals > 0 {
        issues.push(issue("warning", "too-costly", &format!("{more_refusals} more lines refused, not listed here")));
    }
    json!({ "resourceType": "OperationOutcome", "issue": issues })
}

/// The body's chunks as bytes to read; an error sent on the channel is the read's error.
struct BodyReader {
    receiver: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    chunk: Bytes,
}

impl tokio::io::AsyncRead for BodyReader {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
        buffer: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        while self.chunk.is_empty() {
            match self.receiver.poll_recv(context) {
                std::task::Poll::Ready(Some(Ok(chunk))) => self.chunk = chunk,
                std::task::Poll::Ready(Some(Err(error))) => return std::task::Poll::Ready(Err(error)),
                // The body ended whole.
                std::task::Poll::Ready(None) => return std::task::Poll::Ready(Ok(())),
                std::task::Poll::Pending => return std::task::Poll::Pending,
            }
        }
        let n = self.chunk.len().min(buffer.remaining());
        let taken = self.chunk.split_to(n);
        buffer.put_slice(&taken);
        std::task::Poll::Ready(Ok(()))
    }
}

fn issue(severity: &str, code: &str, text: &str) -> Value {
    json!({ "severity": severity, "code": code, "diagnostics": text })
}
