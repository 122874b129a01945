//! Group commit for PostgreSQL: writes that arrive together are applied in one transaction, so that they share its
//! statements and its commit.
//!
//! Every write with an audit entry holds the audit chain's lock from its entry to its commit, so writes commit one at a
//! time whatever the pool's size; each message of an HL7 v2 feed then paid for its own fifteen statements and its own
//! wait for the disk. One task takes every write waiting (a batch of operations with its audit entry and, for an HL7
//! v2 message, its receipt), plans each on the rows locked for all of them (each still all-or-nothing: a write refused
//! by a precondition or the ownership rule leaves the others untouched), executes the plans as one, appends the audit
//! entries in order under one lock and commits once. If the group fails as a whole (two writes racing another node,
//! a receipt already kept), its writes are applied again one by one, each in its own transaction, so that each gets
//! its own answer.

use kmcr_audit::AuditRecord;
use tokio::sync::{mpsc, oneshot};

use super::write::{self, Plan};
use crate::query::ParamIds;
use crate::write_rows::{PreparedOp, prepare};
use crate::{IdentityWrite, StoreError, WriteOp, WriteOutcome};

/// Writes taken into one transaction at most.
const MAX_WRITES_PER_GROUP: usize = 64;
/// Operations a write may have to be grouped: a message's or a small API write's. Larger batches already share their
/// statements among their own operations, and kept apart they overlap one another's statements.
pub(super) const MAX_GROUPED_OPS: usize = 32;

pub(super) struct GroupedWrite {
    pub ops: Vec<WriteOp>,
    pub audit: Option<AuditRecord>,
    /// An HL7 v2 message's receipt, if any (the only receipt grouped).
    pub receipt: Option<crate::Receipt>,
    pub reply: oneshot::Sender<Result<Vec<WriteOutcome>, StoreError>>,
}

/// Applies the writes sent to `queue`, as many as are waiting in each transaction, until every sender is dropped.
pub(super) async fn group_loop(
    pool: deadpool_postgres::Pool,
    params: std::sync::Arc<ParamIds>,
    mut queue: mpsc::Receiver<GroupedWrite>,
) {
    while let Some(first) = queue.recv().await {
        let mut writes = vec![first];
        while writes.len() < MAX_WRITES_PER_GROUP {
            match queue.try_recv() {
                Ok(next) => writes.push(next),
                Err(_) => break,
            }
        }
        if writes.len() == 1 {
            let only = writes.pop().expect("one write");
            let result = write_alone(&pool, &params, only.ops, only.audit, only.receipt).await;
            let _ = only.reply.send(result);
            continue;
        }
        let mut replies = Vec::with_capacity(writes.len());
        let mut originals = Vec::with_capacity(writes.len());
        for GroupedWrite { ops, audit, receipt, reply } in writes {
            replies.push(reply);
            originals.push((ops, audit, receipt));
        }
        // The group consumes what it plans; the originals are kept for the writes to be applied one by one if it fails.
        let prepared = originals
            .iter()
            .map(|(ops, audit, receipt)| (prepare(&params, ops.clone()), audit.clone(), receipt.clone()))
            .collect();
        match write_group(&pool, prepared).await {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(error) => {
                tracing::debug!(%error, n_writes = replies.len(), "group of writes failed: applied one by one");
                for ((ops, audit, receipt), reply) in originals.into_iter().zip(replies) {
                    let _ = reply.send(write_alone(&pool, &params, ops, audit, receipt).await);
                }
            }
        }
    }
}

async fn write_alone(
    pool: &deadpool_postgres::Pool,
    params: &ParamIds,
    ops: Vec<WriteOp>,
    audit: Option<AuditRecord>,
    receipt: Option<crate::Receipt>,
) -> Result<Vec<WriteOutcome>, StoreError> {
    let mut client = pool.get().await?;
    write::write_batch(&mut client, params, ops, IdentityWrite::default(), audit, receipt, None).await
}

/// One transaction for every write: each planned in turn on the rows locked for all (a refused write's plan is
/// dropped and the rows it would have changed are as before it), then one execution, the audit entries of those
/// planned and their receipts. `Err` when the transaction as a whole failed: then nothing was kept.
async fn write_group(
    pool: &deadpool_postgres::Pool,
    writes: Vec<(Vec<PreparedOp>, Option<AuditRecord>, Option<crate::Receipt>)>,
) -> Result<Vec<Result<Vec<WriteOutcome>, StoreError>>, StoreError> {
    let mut client = pool.get().await?;
    let transaction = client.transaction().await?;
    let every_op: Vec<&PreparedOp> = writes.iter().flat_map(|(ops, _, _)| ops.iter()).collect();
    let mut states = write::fetch_states(&transaction, &every_op).await?;
    let keys = write::resolve_keys(&transaction, &every_op).await?;
    let now = kmcr_fhir::Instant::now();
    let mut plan = Plan::default();
    let mut results = Vec::with_capacity(writes.len());
    let mut audits = Vec::new();
    let mut receipts = Vec::new();
    for (ops, audit, receipt) in writes {
        let before = states.clone();
        let mut own_plan = Plan::default();
        let planned: Result<Vec<WriteOutcome>, StoreError> =
            ops.into_iter().map(|op| write::plan_op(&keys, &mut states, &mut own_plan, op, now)).collect();
        match planned {
            Ok(outcomes) => {
                plan.append(own_plan);
                audits.extend(audit);
                receipts.extend(receipt);
                results.push(Ok(outcomes));
            }
            Err(error) => {
                states = before;
                results.push(Err(error));
            }
        }
    }
    write::execute_plan(&transaction, plan, now).await?;
    if !audits.is_empty() {
        super::audit::append_audits(&transaction, audits).await?;
    }
    for receipt in receipts {
        write::record_receipt(&transaction, receipt).await?;
    }
    transaction.commit().await?;
    Ok(results)
}
