//! HL7 v2 feeds as an organisation's integration engine sees them through the API: the summary of its own senders,
//! its dead letters not yet made good (what refused each and why, never the message), and one sent through again
//! after a fix. Only a system principal (an API client) of an organisation party to the agreement, whose scopes let
//! it write Patients, may ask, and only about messages of its own organisation's feeds: a user is refused, and another
//! organisation's dead letter is answered as if it did not exist. Each request leaves one audit entry.

use kmcr_access::{Interaction, Principal};
use kmcr_fhir::{Instant, OdsCode, ResourceType};
use kmcr_store::{FeedMessageFilter, FeedSummary, StoredFeedMessage};

use crate::{RequestContext, Service, ServiceError, audit};

/// Dead letters listed in one page unless the caller asks for another number.
pub const DEFAULT_DEAD_LETTERS_PER_PAGE: usize = 100;
/// The most dead letters listed in one page.
pub const MAX_DEAD_LETTERS_PER_PAGE: usize = 1_000;
/// Rejected messages read from the store at a time while looking for the caller's unresolved ones (each is read with
/// its body, which is not returned: a smaller batch bounds the memory one request holds).
const SCAN_BATCH: usize = 100;
/// Rejected messages looked at in one request at most; a page that stops here is short, and its `next` key goes on
/// from where it stopped.
const MAX_SCANNED_PER_PAGE: usize = 5_000;

/// A dead letter as its organisation's integration engineer sees it: what it was, what refused it and why. The message
/// itself, which holds patient data, is not part of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    pub message_key: i64,
    pub received_ms: i64,
    /// MSH-3 and MSH-4 as received, `PAS|RWF`.
    pub sender: String,
    /// MSH-10, when it could be read.
    pub control_id: Option<String>,
    /// `ADT^A01`, when it could be read.
    pub message_type: Option<String>,
    /// `AE` or `AR`.
    pub ack_code: String,
    pub reason: Option<String>,
}

/// One page of dead letters, oldest first.
#[derive(Clone, Debug)]
pub struct DeadLetterPage {
    pub letters: Vec<DeadLetter>,
    /// Where the next page starts (after this key) when there may be more; `None` when all have been listed.
    pub next_after_key: Option<i64>,
}

/// How a dead letter sent through again was answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayOutcome {
    pub message_key: i64,
    /// MSA-1 of the ACK: `AA`, `AE` or `AR`.
    pub ack_code: String,
    /// Why it was refused again, as the ACK says.
    pub reason: Option<String>,
    /// Whether a message from its sender with its MSH-10 has now been accepted, so that it is no longer listed.
    pub resolved: bool,
}

impl DeadLetter {
    fn of(message: StoredFeedMessage) -> DeadLetter {
        let receipt = message.receipt;
        DeadLetter {
            message_key: message.message_key,
            received_ms: receipt.received_ms,
            sender: receipt.sender,
            control_id: receipt.control_id,
            message_type: receipt.message_type,
            ack_code: receipt.ack_code,
            reason: receipt.reason,
        }
    }
}

impl Service {
    /// What each of the caller's organisation's senders has sent: messages accepted and rejected, dead letters not yet
    /// made good, and the last message's time.
    pub async fn feed_summary_for(&self, context: &RequestContext) -> Result<Vec<FeedSummary>, ServiceError> {
        let mut record = audit::record(context, "feed-status");
        let ods_code = self.feed_engineer_organisation(context, &mut record).await?;
        let mut summaries = self.store.feed_summary().await?;
        summaries.retain(|summary| summary.ods_code.as_deref() == Some(ods_code.as_str()));
        record.outcome = "permitted".into();
        self.store.append_audit(record).await?;
        Ok(summaries)
    }

    /// The caller's organisation's dead letters not yet made good, oldest first, after `after_key`; `count` at most
    /// (1 to [`MAX_DEAD_LETTERS_PER_PAGE`]).
    pub async fn dead_letters_for(
        &self,
        context: &RequestContext,
        after_key: i64,
        count: usize,
    ) -> Result<DeadLetterPage, ServiceError> {
        let count = count.clamp(1, MAX_DEAD_LETTERS_PER_PAGE);
        let mut record = audit::record(context, "feed-dead-letters");
        record.query = Some(format!("after={after_key}&count={count}"));
        let ods_code = self.feed_engineer_organisation(context, &mut record).await?;
        let page = self.unresolved_dead_letters_of(&ods_code, after_key, count).await?;
        record.outcome = "permitted".into();
        self.store.append_audit(record).await?;
        Ok(page)
    }

    /// Sends one of the caller's organisation's dead letters through again with the feeds this service was given
    /// ([`Service::with_mllp_feeds`]), once whatever refused it has been put right. The request is audited before the
    /// message is sent; what the message then writes is audited as any message's writes are.
    pub async fn replay_dead_letter_for(
        &self,
        context: &RequestContext,
        message_key: i64,
    ) -> Result<ReplayOutcome, ServiceError> {
        let mut record = audit::record(context, "feed-replay");
        record.resources = vec![format!("feed-message/{message_key}")];
        let ods_code = self.feed_engineer_organisation(context, &mut record).await?;
        let found = self.store.filtered_feed_messages(FeedMessageFilter::Key(message_key), 1).await?;
        let Some(letter) = found.into_iter().find(|letter| {
            letter.receipt.status == "rejected" && letter.receipt.ods_code.as_deref() == Some(ods_code.as_str())
        }) else {
            // Another organisation's dead letter is answered as one that does not exist, so that keys cannot be probed.
            return Err(self.refuse(&mut record, "no such dead letter".into(), ServiceError::NotFound).await);
        };
        record.outcome = "permitted".into();
        self.store.append_audit(record).await?;
        let ack = self.replay_dead_letter(&self.mllp_feeds, message_key).await?.ok_or(ServiceError::NotFound)?;
        let answer = kmcr_hl7v2::Message::parse(&ack).ok();
        let msa = answer.as_ref().and_then(|ack| ack.segment("MSA"));
        let ack_code = msa.and_then(|msa| msa.text(1, 1)).unwrap_or("AR").to_string();
        // ERR-8 as 2.5 writes it, else MSA-3 as older versions read it.
        let reason = answer
            .as_ref()
            .and_then(|ack| ack.segment("ERR"))
            .and_then(|err| err.text(8, 1))
            .or_else(|| msa.and_then(|msa| msa.text(3, 1)))
            .map(str::to_string);
        let resolved = match &letter.receipt.control_id {
            Some(control_id) => self.store.accepted_feed_ack(&letter.receipt.sender, control_id).await?.is_some(),
            None => false,
        };
        tracing::info!(request_id = %context.request_id, message_key, ack_code, resolved, "dead letter replayed");
        Ok(ReplayOutcome { message_key, ack_code, reason, resolved })
    }

    /// The organisation whose feeds the caller may see and replay: a system principal's, when it is party to the
    /// agreement and its scopes let it write Patients, as its integration engine's messages do. Refusals are audited.
    async fn feed_engineer_organisation(
        &self,
        context: &RequestContext,
        record: &mut kmcr_audit::AuditRecord,
    ) -> Result<OdsCode, ServiceError> {
        let Principal::System(system) = &context.principal else {
            let reason = "an organisation's feeds are seen and replayed by its integration engine (an API client of \
                          the organisation), not by a person"
                .to_string();
            return Err(self.refuse(record, reason.clone(), ServiceError::Forbidden(reason)).await);
        };
        let access = self.access();
        let rules = access.rules(Instant::now().unix_ms);
        let verdict =
            kmcr_access::decide_interaction(rules, &context.principal, Interaction::Create, ResourceType::PATIENT);
        if !verdict.permitted {
            let reason =
                format!("only a client that may write Patients sees its organisation's feeds: {}", verdict.reason);
            return Err(self.refuse(record, reason.clone(), ServiceError::Forbidden(reason)).await);
        }
        record.reasons.push(verdict.reason);
        Ok(system.ods_code.clone())
    }

    /// Reads the dead letters not made good after `after_key` in key order (the store checks each against the accepted
    /// messages) and keeps those of `ods_code`, until `count` are found, the messages end, or [`MAX_SCANNED_PER_PAGE`] have been looked at.
    async fn unresolved_dead_letters_of(
        &self,
        ods_code: &OdsCode,
        after_key: i64,
        count: usize,
    ) -> Result<DeadLetterPage, ServiceError> {
        let mut letters = Vec::new();
        let mut scanned_through = after_key;
        let mut n_scanned = 0usize;
        loop {
            let unresolved = FeedMessageFilter::UnresolvedDeadLetters { after_key: scanned_through };
            let batch = self.store.filtered_feed_messages(unresolved, SCAN_BATCH).await?;
            let batch_len = batch.len();
            for message in batch {
                scanned_through = message.message_key;
                n_scanned += 1;
                if message.receipt.ods_code.as_deref() != Some(ods_code.as_str()) {
                    continue;
                }
                letters.push(DeadLetter::of(message));
                if letters.len() == count {
                    return Ok(DeadLetterPage { letters, next_after_key: Some(scanned_through) });
                }
            }
            if batch_len < SCAN_BATCH {
                return Ok(DeadLetterPage { letters, next_after_key: None });
            }
            if n_scanned >= MAX_SCANNED_PER_PAGE {
                return Ok(DeadLetterPage { letters, next_after_key: Some(scanned_through) });
            }
        }
    }
}
