//! Bulk loads over HTTP: `POST /fhir/$import?job=ID` with an NDJSON body (`application/fhir+ndjson`), streamed
//! through the service's load (`kmcr_service::loads`) as the caller's organisation's data; the answer is an
//! OperationOutcome with the counts and each line refused in this request, by number. The same job id sent again
//! resumes after its last commit. `GET /fhir/$import-status/{job}` answers the same for a job already run.

#![allow(clippy::result_large_err)]

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use kmcr_service::ServiceError;
use kmcr_service::loads::LoadRequest;
use kmcr_store::{LineRefusal, LoadStatus};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

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
    // The body is copied into a pipe as it arrives; the load reads the other end, so a fast sender waits.
    let (mut pipe_in, pipe_out) = tokio::io::duplex(1 << 20);
    let pump = tokio::spawn(async move {
        let mut body = body;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                return Err("the request body could not be read to its end");
            };
            if let Ok(data) = frame.into_data() {
                pipe_in.write_all(&data).await.map_err(|_| "the load stopped reading")?;
            }
        }
        Ok(())
    });
    let request = LoadRequest { job_id, source: "api".into() };
    let mut refusals = Vec::new();
    let mut more_refusals = 0usize;
    let reader = tokio::io::BufReader::with_capacity(1 << 20, pipe_out);
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
    let body_read = pump.await.unwrap_or(Err("the request body could not be read to its end"));
    let report = loaded.map_err(error_response)?;
    let mut outcome = load_outcome(&report.status, &refusals, more_refusals);
    if let Err(reason) = body_read {
        // What arrived is committed; the load resumes after it when sent again.
        let text = format!("{reason}: lines up to {} are kept; send it again to resume", report.status.lines_done);
        outcome["issue"].as_array_mut().expect("issues").insert(0, issue("error", "incomplete", &text));
        return Ok(fhir_json(StatusCode::BAD_REQUEST, outcome.to_string()));
    }
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

fn issue(severity: &str, code: &str, text: &str) -> Value {
    json!({ "severity": severity, "code": code, "diagnostics": text })
}
