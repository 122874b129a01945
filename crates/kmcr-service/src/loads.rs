//! Bulk loads: NDJSON (one resource per line, each with its `id`, as a FHIR Bulk Data export writes them) streamed
//! into the store in constant memory. Each line is checked and written as the source's `PUT Type/id` would be, in
//! batches that are decided and audited like any write; a batch's transaction also records how far the job has got,
//! so a load started again with the same job id resumes after the last line committed, and loading the same lines
//! twice changes nothing. A bad line is refused with its number and the reason, and the rest are loaded.

use std::collections::{HashMap, VecDeque};

use kmcr_access::Interaction;
use kmcr_fhir::{Instant, ResourceId, ResourceType};
use kmcr_store::{LineRefusal, LoadCheckpoint, LoadJob, LoadStatus, Precondition, Receipt, WriteOp};
use serde_json::Value;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::{RequestContext, Service, ServiceError, audit};

/// Lines prepared and written together at most.
const LINES_PER_BATCH: usize = 1_000;
/// A batch is written once its lines hold this many bytes, whatever their number.
const BYTES_PER_BATCH: usize = 8 * 1024 * 1024;
/// The longest line read; a longer one is refused (and skipped without being held in memory).
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// What to load, as the caller names it.
#[derive(Clone, Debug)]
pub struct LoadRequest {
    /// The same id resumes the same load; by default the CLI derives it from the file. Each organisation names its
    /// own: the job is stored as `ODS/id` ([`stored_job_id`]).
    pub job_id: String,
    /// Where the lines come from (a file name, `api`): for the record only.
    pub source: String,
}

/// How a run of a load ended.
#[derive(Clone, Debug)]
pub struct LoadReport {
    pub status: LoadStatus,
    /// The last line already committed when this run started (0 for a new job).
    pub resumed_after_line: i64,
    /// Whether the job had finished before this run, which then loaded nothing.
    pub already_finished: bool,
}

/// One line read and what it became.
enum Line {
    /// Boxed: a prepared write is large beside a refusal.
    Op(Box<WriteOp>),
    Refused(String),
    Blank,
}

/// Lines of one batch, prepared.
struct Batch {
    lines: Vec<(i64, Line)>,
    last_line: i64,
}

/// A batch's writes and refusals, for the lines after `start` through `last_line`.
struct SortedBatch {
    ops: Vec<WriteOp>,
    op_lines: Vec<i64>,
    refusals: Vec<LineRefusal>,
    start: i64,
    last_line: i64,
}

/// A batch sent to the store, its write under way.
struct InFlight {
    sorted: SortedBatch,
    write: tokio::task::JoinHandle<Result<(), ServiceError>>,
}

/// The job's progress from line `start` (as the store must find it) to `last_line`.
fn checkpoint(request: &LoadRequest, start: i64, last_line: i64, loaded: i64, refusals: Vec<LineRefusal>) -> Receipt {
    Receipt::LoadProgress(LoadCheckpoint {
        job_id: request.job_id.clone(),
        previous_lines_done: start,
        lines_done: last_line,
        loaded,
        refusals,
        recorded_ms: Instant::now().unix_ms,
    })
}

impl Service {
    /// Loads NDJSON from `reader` as `context`'s organisation; `on_refusal` hears each line refused in this run, as
    /// it is committed. Stops with an error (the job resumes from its last commit) only when the store fails or another
    /// run of the same job is loading it.
    pub async fn load_ndjson<R: AsyncBufRead + Unpin + Send>(
        &self,
        context: &RequestContext,
        request: &LoadRequest,
        reader: R,
        mut on_refusal: impl FnMut(&LineRefusal) + Send,
    ) -> Result<LoadReport, ServiceError> {
        let mut record = audit::record(context, "bulk-load");
        record.query = Some(format!("job={}", request.job_id));
        let writer_ods_code = self.writer_ods_code(context, &mut record).await?;
        if !self.access().registry.is_party(&writer_ods_code) {
            let reason = format!("{writer_ods_code} is not party to the sharing agreement: it may not load data");
            return Err(self.refuse(&mut record, reason.clone(), ServiceError::Forbidden(reason)).await);
        }
        if request.job_id.is_empty() || request.job_id.len() > 200 {
            return Err(ServiceError::Invalid("a load's job id has 1 to 200 characters".into()));
        }
        // Each organisation names its own jobs: stored under its ODS code, so that names never collide.
        let request = &LoadRequest { job_id: stored_job_id(&writer_ods_code, &request.job_id), ..request.clone() };
        let existing = self.store.load_status(&request.job_id).await?;
        let status = match existing {
            Some(status) if status.job.ods_code != writer_ods_code.as_str() => {
                let reason = format!("load job {} belongs to another organisation", request.job_id);
                return Err(self.refuse(&mut record, reason.clone(), ServiceError::Forbidden(reason)).await);
            }
            Some(status) if status.finished_ms.is_some() => {
                let resumed_after_line = status.lines_done;
                return Ok(LoadReport { status, resumed_after_line, already_finished: true });
            }
            Some(status) => status,
            None => {
                let job = LoadJob {
                    job_id: request.job_id.clone(),
                    ods_code: writer_ods_code.to_string(),
                    client_id: context.principal.id().to_string(),
                    source: request.source.clone(),
                    started_ms: Instant::now().unix_ms,
                };
                self.store.write_with_receipt(Vec::new(), None, Receipt::LoadStarted(job)).await?;
                self.load_status_of(&request.job_id).await?
            }
        };
        let resumed_after_line = status.lines_done;
        tracing::info!(request_id = %context.request_id, job = %request.job_id, resumed_after_line, "bulk load");

        // Lines are read and prepared (parsed, checked, indexed) on a blocking thread one batch ahead, and the next
        // batch is sent to the store while the one before it commits, so that the store's writer always has work; the
        // channel holds one batch and at most two are being written, so memory stays flat whatever the file's size.
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Result<Batch, ServiceError>>(1);
        let producer = read_batches(self, context, reader, resumed_after_line, sender);
        let consumer = async {
            let mut types_permitted: HashMap<ResourceType, Result<(), String>> = HashMap::new();
            let mut in_flight: VecDeque<InFlight> = VecDeque::new();
            let mut next_start = resumed_after_line;
            while let Some(batch) = receiver.recv().await {
                let batch = match batch {
                    Ok(batch) => batch,
                    Err(error) => {
                        // The input failed: what was read before it is kept, then the load stops, to be resumed.
                        while let Some(oldest) = in_flight.pop_front() {
                            self.settle(context, request, oldest, &mut on_refusal).await?;
                        }
                        return Err(error);
                    }
                };
                // An organisation that leaves the agreement mid-load stops loading at its next batch.
                if !self.access().registry.is_party(&writer_ods_code) {
                    let reason = format!("{writer_ods_code} has left the sharing agreement: the load stops");
                    let mut record = audit::record(context, "bulk-load");
                    return Err(self.refuse(&mut record, reason.clone(), ServiceError::Forbidden(reason)).await);
                }
                let sorted = self.sort_lines(context, batch, next_start, &mut types_permitted);
                next_start = sorted.last_line;
                in_flight.push_back(self.submit(context, request, sorted));
                if in_flight.len() > 1 {
                    let oldest = in_flight.pop_front().expect("two are in flight");
                    self.settle(context, request, oldest, &mut on_refusal).await?;
                }
            }
            while let Some(oldest) = in_flight.pop_front() {
                self.settle(context, request, oldest, &mut on_refusal).await?;
            }
            Ok::<(), ServiceError>(())
        };
        // The consumer drops the receiver when it stops, which stops the producer.
        let ((), outcome) = tokio::join!(producer, consumer);
        outcome?;
        let finished = Receipt::LoadFinished { job_id: request.job_id.clone(), finished_ms: Instant::now().unix_ms };
        self.store.write_with_receipt(Vec::new(), None, finished).await?;
        let status = self.load_status_of(&request.job_id).await?;
        tracing::info!(
            request_id = %context.request_id, job = %request.job_id, loaded = status.loaded, refused = status.refused,
            "bulk load finished"
        );
        Ok(LoadReport { status, resumed_after_line, already_finished: false })
    }

    /// A load job as stored, with the first `limit` lines it refused, for the organisation that loads it (for any
    /// other, it is not found). Audited, though it holds no patient data: counts, line numbers and reasons.
    pub async fn load_status(
        &self,
        context: &RequestContext,
        job_id: &str,
        limit: usize,
    ) -> Result<(LoadStatus, Vec<LineRefusal>), ServiceError> {
        let mut record = audit::record(context, "bulk-load-status");
        record.query = Some(format!("job={job_id}"));
        let writer_ods_code = self.writer_ods_code(context, &mut record).await?;
        if !self.access().registry.is_party(&writer_ods_code) {
            let reason = format!("{writer_ods_code} is not party to the sharing agreement");
            return Err(self.refuse(&mut record, reason.clone(), ServiceError::Forbidden(reason)).await);
        }
        let job_id = stored_job_id(&writer_ods_code, job_id);
        match self.store.load_status(&job_id).await? {
            Some(status) if status.job.ods_code == writer_ods_code.as_str() => {
                let refusals = self.store.load_refusals(&job_id, 0, limit).await?;
                record.outcome = "permitted".into();
                self.store.append_audit(record).await?;
                Ok((status, refusals))
            }
            _ => Err(self.refuse(&mut record, "no such load job".into(), ServiceError::NotFound).await),
        }
    }

    async fn load_status_of(&self, job_id: &str) -> Result<LoadStatus, ServiceError> {
        self.store.load_status(job_id).await?.ok_or(ServiceError::Unavailable)
    }

    /// Sorts a batch's lines into writes and refusals (a type the caller may not write is refused here).
    fn sort_lines(
        &self,
        context: &RequestContext,
        batch: Batch,
        start: i64,
        types_permitted: &mut HashMap<ResourceType, Result<(), String>>,
    ) -> SortedBatch {
        let mut sorted = SortedBatch {
            ops: Vec::new(),
            op_lines: Vec::new(),
            refusals: Vec::new(),
            start,
            last_line: batch.last_line,
        };
        for (line, prepared) in batch.lines {
            match prepared {
                Line::Op(op) => {
                    let permitted = types_permitted.entry(op.resource_type).or_insert_with(|| {
                        let access = self.access();
                        let rules = access.rules(Instant::now().unix_ms);
                        let verdict = kmcr_access::decide_interaction(
                            rules,
                            &context.principal,
                            Interaction::Update,
                            op.resource_type,
                        );
                        if verdict.permitted { Ok(()) } else { Err(verdict.reason) }
                    });
                    match permitted {
                        Ok(()) => {
                            sorted.ops.push(*op);
                            sorted.op_lines.push(line);
                        }
                        Err(reason) => sorted.refusals.push(LineRefusal { line, reason: reason.clone() }),
                    }
                }
                Line::Refused(reason) => sorted.refusals.push(LineRefusal { line, reason }),
                Line::Blank => {}
            }
        }
        sorted
    }

    /// Sends a batch to the store as one write, without waiting for it; its checkpoint holds only if the job stands
    /// where the batch starts, so a batch sent while the one before it fails is refused too, and sent again after.
    fn submit(&self, context: &RequestContext, request: &LoadRequest, sorted: SortedBatch) -> InFlight {
        let (service, context, request) = (self.clone(), context.clone(), request.clone());
        let (ops, loaded, refusals) = (sorted.ops.clone(), sorted.ops.len() as i64, sorted.refusals.clone());
        let (start, last_line) = (sorted.start, sorted.last_line);
        let write = tokio::spawn(async move {
            let record = service.load_record(&context, &request, start + 1, last_line);
            let receipt = checkpoint(&request, start, last_line, loaded, refusals);
            service.write_with_receipt(&context, ops, record, Some(receipt)).await.map(|_| ())
        });
        InFlight { sorted, write }
    }

    /// Waits for a batch sent to the store. Refused as a whole (one line names another organisation's item, say), its
    /// lines are written one at a time so that only the bad ones are refused; refused because the batch before it was
    /// (its checkpoint no longer fits), it is sent again.
    async fn settle(
        &self,
        context: &RequestContext,
        request: &LoadRequest,
        in_flight: InFlight,
        on_refusal: &mut (impl FnMut(&LineRefusal) + Send),
    ) -> Result<(), ServiceError> {
        let InFlight { sorted, write } = in_flight;
        let mut written = write.await.map_err(|_| ServiceError::Unavailable)?;
        if matches!(written, Err(ServiceError::Conflict(_))) {
            // Its checkpoint did not fit: the batch before failed (and has been written line by line since), or on
            // PostgreSQL it reached the job's row first. Sent again if the job now stands where it starts; otherwise
            // another run of the job is loading it.
            if self.load_status_of(&request.job_id).await?.lines_done != sorted.start {
                return written;
            }
            let record = self.load_record(context, request, sorted.start + 1, sorted.last_line);
            let receipt =
                checkpoint(request, sorted.start, sorted.last_line, sorted.ops.len() as i64, sorted.refusals.clone());
            written = self.write_with_receipt(context, sorted.ops.clone(), record, Some(receipt)).await.map(|_| ());
        }
        match written {
            Ok(()) => {
                sorted.refusals.iter().for_each(&mut *on_refusal);
                Ok(())
            }
            Err(error) if is_refusal_of_lines(&error) => {
                self.write_line_by_line(context, request, sorted, on_refusal).await
            }
            Err(error) => Err(error),
        }
    }

    async fn write_line_by_line(
        &self,
        context: &RequestContext,
        request: &LoadRequest,
        sorted: SortedBatch,
        on_refusal: &mut (impl FnMut(&LineRefusal) + Send),
    ) -> Result<(), ServiceError> {
        let mut pending = sorted.refusals;
        pending.sort_by_key(|refusal| refusal.line);
        let mut pending = pending.into_iter().peekable();
        let mut done = sorted.start;
        for (op, line) in sorted.ops.into_iter().zip(sorted.op_lines) {
            let mut before = Vec::new();
            while let Some(refusal) = pending.next_if(|refusal| refusal.line < line) {
                before.push(refusal);
            }
            let record = self.load_record(context, request, line, line);
            let item = format!("{}/{}", op.resource_type, op.id);
            let receipt = checkpoint(request, done, line, 1, before.clone());
            match self.write_with_receipt(context, vec![op], record, Some(receipt)).await {
                Ok(_) => {}
                Err(error) if is_refusal_of_lines(&error) => {
                    before.push(LineRefusal { line, reason: format!("{item}: {error}") });
                    self.store
                        .write_with_receipt(Vec::new(), None, checkpoint(request, done, line, 0, before.clone()))
                        .await?;
                }
                Err(error) => return Err(error),
            }
            before.iter().for_each(&mut *on_refusal);
            done = line;
        }
        let rest: Vec<LineRefusal> = pending.collect();
        if done < sorted.last_line {
            let receipt = checkpoint(request, done, sorted.last_line, 0, rest.clone());
            self.store.write_with_receipt(Vec::new(), None, receipt).await?;
            rest.iter().for_each(&mut *on_refusal);
        }
        Ok(())
    }

    fn load_record(
        &self,
        context: &RequestContext,
        request: &LoadRequest,
        first_line: i64,
        last_line: i64,
    ) -> kmcr_audit::AuditRecord {
        let mut record = audit::record(context, "bulk-load");
        record.query = Some(format!("job={} lines={first_line}-{last_line}", request.job_id));
        record
    }
}

/// The job id as stored: the organisation's ODS code, `/`, the name it gave.
pub fn stored_job_id(ods_code: &kmcr_fhir::OdsCode, name: &str) -> String {
    format!("{ods_code}/{name}")
}

/// Whether a write failed because of what its lines say (they are refused, the load goes on) rather than because the
/// store failed or another run holds the job (the load stops, to resume later).
fn is_refusal_of_lines(error: &ServiceError) -> bool {
    matches!(
        error,
        ServiceError::Invalid(_)
            | ServiceError::Unprocessable(_)
            | ServiceError::Forbidden(_)
            | ServiceError::PreconditionFailed(_)
    )
}

/// Reads lines after `skip_through`, prepares them in batches on a blocking thread and sends the batches on.
async fn read_batches<R: AsyncBufRead + Unpin + Send>(
    service: &Service,
    context: &RequestContext,
    mut reader: R,
    skip_through: i64,
    sender: tokio::sync::mpsc::Sender<Result<Batch, ServiceError>>,
) {
    let mut line_number = 0i64;
    let mut raw: Vec<(i64, Result<Vec<u8>, String>)> = Vec::new();
    let mut raw_bytes = 0usize;
    loop {
        let line = match read_line(&mut reader).await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(error) => {
                let _ = sender.send(Err(ServiceError::Invalid(format!("cannot read the input: {error}")))).await;
                return;
            }
        };
        line_number += 1;
        if line_number <= skip_through {
            continue;
        }
        raw_bytes += line.as_ref().map_or(0, Vec::len);
        raw.push((line_number, line));
        if raw.len() >= LINES_PER_BATCH || raw_bytes >= BYTES_PER_BATCH {
            let lines = std::mem::take(&mut raw);
            raw_bytes = 0;
            if !send_prepared(service, context, lines, line_number, &sender).await {
                return;
            }
        }
    }
    if !raw.is_empty() {
        send_prepared(service, context, raw, line_number, &sender).await;
    }
}

async fn send_prepared(
    service: &Service,
    context: &RequestContext,
    lines: Vec<(i64, Result<Vec<u8>, String>)>,
    last_line: i64,
    sender: &tokio::sync::mpsc::Sender<Result<Batch, ServiceError>>,
) -> bool {
    let (service, context) = (service.clone(), context.clone());
    let prepared = tokio::task::spawn_blocking(move || {
        let lines = lines.into_iter().map(|(number, line)| (number, prepare_line(&service, &context, line))).collect();
        Batch { lines, last_line }
    })
    .await
    .map_err(|_| ServiceError::Unavailable);
    sender.send(prepared).await.is_ok()
}

/// One line, without its end; `Err` for a line longer than [`MAX_LINE_BYTES`] (skipped to its end, not held).
async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<Option<Result<Vec<u8>, String>>> {
    let mut line = Vec::new();
    let mut too_long = false;
    let mut any = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            break;
        }
        any = true;
        let (taken, ended) = match available.iter().position(|&byte| byte == b'\n') {
            Some(end) => (end + 1, true),
            None => (available.len(), false),
        };
        if !too_long {
            let content = &available[..if ended { taken - 1 } else { taken }];
            if line.len() + content.len() > MAX_LINE_BYTES {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(content);
            }
        }
        reader.consume(taken);
        if ended {
            break;
        }
    }
    if !any {
        return Ok(None);
    }
    if too_long {
        return Ok(Some(Err(format!("the line is longer than {MAX_LINE_BYTES} bytes"))));
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(Ok(line)))
}

fn prepare_line(service: &Service, context: &RequestContext, line: Result<Vec<u8>, String>) -> Line {
    let line = match line {
        Ok(line) => line,
        Err(reason) => return Line::Refused(reason),
    };
    if line.iter().all(u8::is_ascii_whitespace) {
        return Line::Blank;
    }
    let resource: Value = match serde_json::from_slice(&line) {
        Ok(resource) => resource,
        Err(error) => return Line::Refused(format!("not JSON: {error}")),
    };
    let Some(type_name) = resource.get("resourceType").and_then(Value::as_str) else {
        return Line::Refused("not a FHIR resource: it has no resourceType".into());
    };
    let resource_type = match ResourceType::parse(type_name) {
        Ok(resource_type) => resource_type,
        Err(_) => return Line::Refused(format!("'{type_name}' is not an R4 resource type")),
    };
    let Some(id) = resource.get("id").and_then(Value::as_str) else {
        return Line::Refused(
            "the resource has no id: each line of a load needs one, so that loading it again changes \
                              nothing"
                .into(),
        );
    };
    let id = match ResourceId::parse(id) {
        Ok(id) => id,
        Err(error) => return Line::Refused(format!("id: {error}")),
    };
    match service.put_op(context, resource_type, id, resource, Precondition::None) {
        Ok(op) => Line::Op(Box::new(op)),
        Err(error) => Line::Refused(error.to_string()),
    }
}
