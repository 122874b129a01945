//! HL7 v2 feeds: a message from an MLLP sender becomes FHIR through the same write path, decision and audit as the
//! API, and is answered with an ACK only once it and everything derived from it are durably kept.
//!
//! The steps, each refusal answered with the segment, field and reason and kept as a dead letter:
//! 1. the bytes are decoded and parsed (`kmcr-hl7v2`);
//! 2. MSH-3 and MSH-4 name a configured feed of an organisation party to the agreement, sent over a connection the
//!    feed may use (from one of its addresses; over TLS with its client certificate);
//! 3. a message already accepted from the same sender with the same MSH-10 is answered with the ACK it had, and not
//!    applied again;
//! 4. the message type is one KMCR maps;
//! 5. the mapping reads the Patient and Encounter already stored and writes them back with what the message keeps,
//!    clears or sets, in one transaction with the message's receipt;
//! 6. AA.

use std::sync::atomic::{AtomicU64, Ordering};

use kmcr_access::{Interaction, Principal, Scope, SystemPrincipal};
use kmcr_fhir::{Instant, OdsCode, ResourceId, ResourceType};
use kmcr_hl7v2::fhir::clinical::{allergies, diagnoses, related_people};
use kmcr_hl7v2::fhir::documents::document_reference;
use kmcr_hl7v2::fhir::encounter::{apply_encounter, encounter_update};
use kmcr_hl7v2::fhir::patient::{apply_patient, merged_patient, merged_patient_id, patient_update};
use kmcr_hl7v2::fhir::results::result_resources;
use kmcr_hl7v2::{AckCode, ErrorLocation, Message, MessageError, acknowledgement, decode};
use kmcr_store::{FeedReceipt, Precondition};
use serde_json::Value;

use crate::{RequestContext, Service, ServiceError, audit};

/// An MLLP sender of an organisation: its sending application (MSH-3) and, when given, facility (MSH-4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MllpFeed {
    pub ods_code: OdsCode,
    pub sending_application: String,
    pub sending_facility: Option<String>,
    /// The addresses it may send from; any when empty. MSH-3 and MSH-4 name a sender but do not prove who it is: the
    /// addresses, or better a client certificate, are what keep others out.
    pub allowed_addresses: Vec<std::net::IpAddr>,
    /// The client certificate its messages must come with, over TLS; any connection when `None`.
    pub client_certificate: Option<CertificateBinding>,
    /// Switched off (`enabled = false`): its messages are refused with that reason and kept as dead letters.
    pub switched_off: bool,
    /// Sensitivity labels (v3 ActCode codes such as `PSY`) put on everything its messages become but the Patient:
    /// HL7 v2 carries none, so a mental health trust's feed is labelled here as its FHIR records label themselves.
    pub security_labels: Vec<String>,
}

/// Where a message came from, as the listener saw the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    pub address: std::net::IpAddr,
    /// The client certificate presented over TLS (already verified against the configured CA); `None` over plain
    /// TCP, or over TLS without client certificates.
    pub client_certificate: Option<PresentedCertificate>,
}

impl Peer {
    /// A connection over plain TCP.
    pub fn plain(address: std::net::IpAddr) -> Peer {
        Peer { address, client_certificate: None }
    }
}

/// The end-entity certificate a TLS client presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresentedCertificate {
    pub sha256: CertificateFingerprint,
    /// The first common name (CN) of its subject, if it has one.
    pub subject_cn: Option<String>,
}

/// What a feed's client certificate must be: its SHA-256 fingerprint, its subject's common name, or both. A binding
/// names at least one of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateBinding {
    sha256: Option<CertificateFingerprint>,
    subject_cn: Option<String>,
}

impl CertificateBinding {
    /// `None` when neither is given: then the feed is not bound to a certificate.
    pub fn new(sha256: Option<CertificateFingerprint>, subject_cn: Option<String>) -> Option<CertificateBinding> {
        (sha256.is_some() || subject_cn.is_some()).then_some(CertificateBinding { sha256, subject_cn })
    }

    /// Whether `presented` is the certificate this binding names (each part given must match).
    pub fn is_met_by(&self, presented: &PresentedCertificate) -> bool {
        self.sha256.is_none_or(|sha256| sha256 == presented.sha256)
            && self.subject_cn.as_ref().is_none_or(|cn| presented.subject_cn.as_ref() == Some(cn))
    }
}

/// The SHA-256 digest of a certificate's DER encoding, as `openssl x509 -fingerprint -sha256` prints it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CertificateFingerprint([u8; 32]);

#[derive(Debug, thiserror::Error)]
#[error("'{0}' is not a SHA-256 fingerprint: 64 hexadecimal digits, colons allowed")]
pub struct InvalidFingerprint(String);

impl CertificateFingerprint {
    pub fn of_der(certificate_der: &[u8]) -> CertificateFingerprint {
        use sha2::Digest;
        CertificateFingerprint(sha2::Sha256::digest(certificate_der).into())
    }

    /// 64 hexadecimal digits, in either case, with or without colons between the bytes.
    pub fn parse(text: &str) -> Result<CertificateFingerprint, InvalidFingerprint> {
        let invalid = || InvalidFingerprint(text.to_string());
        let digits: Vec<u8> = text.trim().bytes().filter(|&byte| byte != b':').collect();
        if digits.len() != 64 || !digits.iter().all(u8::is_ascii_hexdigit) {
            return Err(invalid());
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| invalid())?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| invalid())?;
        }
        Ok(CertificateFingerprint(bytes))
    }
}

impl std::fmt::Display for CertificateFingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (n, byte) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for CertificateFingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CertificateFingerprint({self})")
    }
}

/// The ADT events KMCR maps to a Patient and, with a PV1, an Encounter; ORU^R01 is mapped too.
const ADT_EVENTS: &[&str] =
    &["A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A11", "A12", "A13", "A28", "A31", "A40"];

/// A message's identity as far as it could be read, for its receipt and its ACK.
struct Received<'a> {
    bytes: &'a [u8],
    text: Option<&'a str>,
    message: Option<&'a Message>,
    sender: String,
    ods_code: Option<String>,
    received_ms: i64,
    ack_id: String,
}

static ACK_SEQUENCE: AtomicU64 = AtomicU64::new(0);

impl Service {
    /// Answers one message (the bytes of one MLLP frame) with its ACK. `Err` only when the store cannot be reached:
    /// then nothing was kept and no ACK may be sent.
    pub async fn receive_hl7(&self, feeds: &[MllpFeed], bytes: &[u8]) -> Result<String, ServiceError> {
        self.receive_hl7_from(feeds, None, bytes).await
    }

    /// [`Service::receive_hl7`] for a message that came from `peer`: a feed restricted to some addresses refuses
    /// any other, and a feed bound to a client certificate refuses a message that did not come over TLS with it.
    /// Without a peer (a dead letter replayed by an operator) neither is checked.
    pub async fn receive_hl7_from(
        &self,
        feeds: &[MllpFeed],
        peer: Option<&Peer>,
        bytes: &[u8],
    ) -> Result<String, ServiceError> {
        let received_ms = Instant::now().unix_ms;
        let ack_id = format!("KMCR{received_ms}-{}", ACK_SEQUENCE.fetch_add(1, Ordering::Relaxed));
        let mut received = Received {
            bytes,
            text: None,
            message: None,
            sender: "unknown".into(),
            ods_code: None,
            received_ms,
            ack_id,
        };
        let text = match decode(bytes) {
            Ok(text) => text,
            Err(error) => {
                let code = if matches!(error, kmcr_hl7v2::DecodeError::NoHeader) { "100" } else { "207" };
                return self.reject(&received, AckCode::Reject, at(None, code, error.to_string())).await;
            }
        };
        received.text = Some(&text);
        let message = match Message::parse(&text) {
            Ok(message) => message,
            Err(error) => {
                let location = ErrorLocation {
                    segment_id: error.segment_id.clone(),
                    segment_position: error.segment_position,
                    field: error.field,
                };
                let code = if error.field.is_some() { "102" } else { "100" };
                return self.reject(&received, AckCode::Reject, at(Some(location), code, error.reason)).await;
            }
        };
        received.message = Some(&message);
        let header = message.header();
        let application = header.text(3, 1).unwrap_or_default();
        let facility = header.text(4, 1).unwrap_or_default();
        received.sender = format!("{application}|{facility}");
        let feed = feeds.iter().find(|feed| {
            feed.sending_application == application
                && feed.sending_facility.as_deref().is_none_or(|expected| expected == facility)
        });
        let Some(feed) = feed else {
            let reason = "MSH-3 and MSH-4 name no feed configured in KMCR".to_string();
            return self.reject(&received, AckCode::Reject, header_error(3, "103", reason)).await;
        };
        // A message from a connection its feed may not use is refused before it is taken as the organisation's: its dead
        // letter is no one's (listed and replayed only by an operator), so that a forger can neither fill an
        // organisation's dead letters nor have its integration engineer replay a forgery as theirs.
        if let Some(peer) = peer
            && let Some(reason) = refusal_of_peer(feed, peer, &received.sender)
        {
            return self.reject(&received, AckCode::Reject, header_error(3, "207", reason.into())).await;
        }
        received.ods_code = Some(feed.ods_code.as_str().to_string());
        if feed.switched_off {
            let reason = "this feed is switched off in KMCR's configuration".to_string();
            return self.reject(&received, AckCode::Reject, header_error(3, "207", reason)).await;
        }
        if !self.access().registry.is_party(&feed.ods_code) {
            let reason = format!("{} is not party to the sharing agreement", feed.ods_code);
            return self.reject(&received, AckCode::Reject, header_error(3, "207", reason)).await;
        }
        if message.control_id().is_none() {
            return self.reject(&received, AckCode::Reject, header_error(10, "101", "MSH-10 is required".into())).await;
        }
        if !message.version().is_some_and(|version| version.starts_with("2.")) {
            let reason = "MSH-12 must give an HL7 v2 version".to_string();
            return self.reject(&received, AckCode::Reject, header_error(12, "203", reason)).await;
        }
        // A message already accepted from this sender with this MSH-10 is answered with its first ACK: asked here
        // before a refusal, and in `apply_message` beside the reads of what the message changes.
        let (code, event) = message.message_type();
        let kind = match (code, event) {
            (Some("ADT"), Some(event)) if ADT_EVENTS.contains(&event) => Kind::Admission,
            (Some("ADT"), event) => {
                let reason = format!("ADT event {} is not one KMCR maps yet", event.unwrap_or("(none)"));
                return self.reject_unless_sent_again(&received, AckCode::Reject, header_error(9, "201", reason)).await;
            }
            (Some("ORU"), Some("R01")) => Kind::Results,
            (Some("MDM"), Some("T02" | "T04" | "T06" | "T08" | "T10" | "T11")) => Kind::Document,
            (code, event) => {
                let reason = format!(
                    "message type {}^{} is not one KMCR maps yet",
                    code.unwrap_or("(none)"),
                    event.unwrap_or_default()
                );
                return self.reject_unless_sent_again(&received, AckCode::Reject, header_error(9, "200", reason)).await;
            }
        };
        // A Patient or Encounter is read, changed and written back only if no one wrote it meanwhile (another
        // connection's message about the same patient, such as the laboratory's beside the PAS's); if someone did, the
        // message is applied again to what is stored now.
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.apply_message(&received, feed, &message, kind).await {
                Ok(ack) => return Ok(ack),
                Err(Refusal::Changed(_)) if attempts < MAX_APPLY_ATTEMPTS => {
                    // Many messages changing one resource at once each win in turn; a growing pause spreads them.
                    tokio::time::sleep(std::time::Duration::from_millis(attempts as u64)).await;
                    continue;
                }
                Err(Refusal::Changed(error)) => return Err(error),
                Err(Refusal::Message(error)) => {
                    return self.reject_unless_sent_again(&received, AckCode::Error, error).await;
                }
                Err(Refusal::Store(error)) => return Err(error),
            }
        }
    }

    async fn apply_message(
        &self,
        received: &Received<'_>,
        feed: &MllpFeed,
        message: &Message,
        kind: Kind,
    ) -> Result<String, Refusal> {
        let ods_code = feed.ods_code.as_str();
        let context = RequestContext {
            principal: Principal::System(SystemPrincipal {
                client_id: format!("mllp:{}", received.sender),
                ods_code: feed.ods_code.clone(),
                scopes: [
                    "system/Patient.cu",
                    "system/Encounter.cu",
                    "system/DiagnosticReport.cu",
                    "system/Observation.cu",
                    "system/DocumentReference.cu",
                    "system/AllergyIntolerance.cu",
                    "system/Condition.cu",
                    "system/RelatedPerson.cu",
                ]
                .iter()
                .map(|scope| Scope::parse(scope).expect("valid scopes"))
                .collect(),
                region_wide: None,
            }),
            request_id: received.ack_id.clone(),
        };
        let mut record = audit::record(&context, "hl7v2-message");
        let type_of = |name: &str| ResourceType::parse(name).expect("a resource type");
        let types = match kind {
            Kind::Admission => vec![
                ResourceType::PATIENT,
                type_of("Encounter"),
                type_of("AllergyIntolerance"),
                type_of("Condition"),
                type_of("RelatedPerson"),
            ],
            Kind::Results => vec![ResourceType::PATIENT, type_of("DiagnosticReport"), type_of("Observation")],
            Kind::Document => vec![ResourceType::PATIENT, type_of("DocumentReference")],
        };
        self.check_interaction(&context, Interaction::Update, &types, &mut record).await.map_err(Refusal::refused)?;
        let patient = patient_update(message, ods_code).map_err(Refusal::Message)?;
        let patient_id = patient.id.clone();
        // Whether the message was accepted before, the Patient and the visit are read side by side: one wait for the
        // store rather than three.
        let encounter = match kind {
            Kind::Admission => encounter_update(message, ods_code, &patient_id).map_err(Refusal::Message)?,
            Kind::Results | Kind::Document => None,
        };
        let read_encounter = async {
            match &encounter {
                Some(encounter) => self.stored_json(types[1], &encounter.id).await.map(Some),
                None => Ok(None),
            }
        };
        let (sent_again, stored_patient, stored_encounter) = tokio::join!(
            self.sent_again(received),
            self.stored_json(ResourceType::PATIENT, &patient_id),
            read_encounter
        );
        if let Some(ack) = sent_again.map_err(Refusal::Store)? {
            return Ok(ack);
        }
        let (stored_patient, stored_encounter) = (stored_patient?, stored_encounter?);
        let (stored, unchanged_since) = stored_patient;
        let mut ops = vec![self.feed_op(
            &context,
            feed,
            ResourceType::PATIENT,
            &patient_id,
            apply_patient(patient, stored.as_ref()),
            unchanged_since,
        )?];
        match kind {
            Kind::Admission => {
                if message.message_type().1 == Some("A40") {
                    // A merge: the record MRG-1 names is replaced by this one, through the person index.
                    let merged_id = merged_patient_id(message, ods_code).map_err(Refusal::Message)?;
                    let (stored, unchanged_since) = self.stored_json(ResourceType::PATIENT, &merged_id).await?;
                    let merged =
                        merged_patient(message, ods_code, &patient_id, stored.as_ref()).map_err(Refusal::Message)?;
                    let op =
                        self.feed_op(&context, feed, ResourceType::PATIENT, &merged_id, merged, unchanged_since)?;
                    ops.push(op);
                }
                let mut visit = None;
                if let (Some(encounter), Some((stored, unchanged_since))) = (encounter, stored_encounter) {
                    let encounter_id = encounter.id.clone();
                    let encounter = apply_encounter(encounter, stored.as_ref());
                    ops.push(self.feed_op(&context, feed, types[1], &encounter_id, encounter, unchanged_since)?);
                    visit = Some(encounter_id);
                }
                // Allergies, diagnoses and next of kin are listed whole in each message that carries them.
                let clinical = (allergies(message, ods_code, &patient_id)
                    .into_iter()
                    .map(|allergy| (types[2], allergy)))
                .chain(diagnoses(message, ods_code, &patient_id, visit.as_deref()).into_iter().map(|d| (types[3], d)))
                .chain(related_people(message, ods_code, &patient_id).into_iter().map(|person| (types[4], person)));
                for (resource_type, resource) in clinical {
                    let id = resource["id"].as_str().unwrap_or_default().to_string();
                    ops.push(self.feed_op(&context, feed, resource_type, &id, resource, Precondition::None)?);
                }
            }
            Kind::Results => {
                // A result is sent whole each time: it replaces what was stored under the same ids.
                let results = result_resources(message, ods_code, &patient_id).map_err(Refusal::Message)?;
                for (resource_type, resource) in (results.reports.into_iter().map(|report| (types[1], report)))
                    .chain(results.observations.into_iter().map(|observation| (types[2], observation)))
                {
                    let id = resource["id"].as_str().unwrap_or_default().to_string();
                    ops.push(self.feed_op(&context, feed, resource_type, &id, resource, Precondition::None)?);
                }
            }
            Kind::Document => {
                // A document is sent whole each time: it replaces what was stored under the same id.
                let document = document_reference(message, ods_code, &patient_id).map_err(Refusal::Message)?;
                let id = document["id"].as_str().unwrap_or_default().to_string();
                ops.push(self.feed_op(&context, feed, types[1], &id, document, Precondition::None)?);
            }
        }
        let ack = self.ack(received, AckCode::Accept, None);
        let receipt = receipt(received, "accepted", AckCode::Accept, None, &ack);
        match self.write_received(&context, ops, record, Some(receipt)).await {
            Ok(_) => {
                tracing::info!(sender = %received.sender, control_id = message.control_id(), "message accepted");
                Ok(ack)
            }
            Err(error) => {
                // The same message, sent again over another connection and accepted there meanwhile.
                if let Ok(Some(ack)) = self.sent_again(received).await {
                    return Ok(ack);
                }
                match error {
                    ServiceError::Unavailable | ServiceError::Corrupt => Err(Refusal::Store(error)),
                    ServiceError::PreconditionFailed(_) | ServiceError::Conflict(_) => Err(Refusal::Changed(error)),
                    other => Err(Refusal::Message(at(None, "207", other.to_string()))),
                }
            }
        }
    }

    /// The ACK of this message if it was accepted before (sent again by its sender): then it is not applied again.
    async fn sent_again(&self, received: &Received<'_>) -> Result<Option<String>, ServiceError> {
        let Some(control_id) = received.message.and_then(Message::control_id) else { return Ok(None) };
        let ack = self.store.accepted_feed_ack(&received.sender, control_id).await?;
        if ack.is_some() {
            tracing::info!(sender = %received.sender, control_id, "message sent again: answered with its first ACK");
        }
        Ok(ack)
    }

    /// [`Service::reject`], unless the message was accepted before: then it is answered with its first ACK.
    async fn reject_unless_sent_again(
        &self,
        received: &Received<'_>,
        code: AckCode,
        error: MessageError,
    ) -> Result<String, ServiceError> {
        match self.sent_again(received).await? {
            Some(ack) => Ok(ack),
            None => self.reject(received, code, error).await,
        }
    }

    /// The stored resource's JSON (none if deleted or never sent), and the precondition that writes it back only if it
    /// is still the version read.
    async fn stored_json(
        &self,
        resource_type: ResourceType,
        id: &str,
    ) -> Result<(Option<Value>, Precondition), Refusal> {
        let id = ResourceId::parse(id).map_err(|error| Refusal::Message(at(None, "207", error.to_string())))?;
        let stored = self.store.read(resource_type, &id).await.map_err(|error| Refusal::Store(error.into()))?;
        let precondition = match &stored {
            None => Precondition::VersionIs(0),
            Some(stored) if stored.deleted => Precondition::None,
            Some(stored) => Precondition::VersionIs(stored.version_id),
        };
        let json = stored
            .filter(|stored| !stored.deleted)
            .and_then(|stored| serde_json::from_str(stored.json.as_deref()?).ok());
        Ok((json, precondition))
    }

    fn feed_op(
        &self,
        context: &RequestContext,
        feed: &MllpFeed,
        resource_type: ResourceType,
        id: &str,
        resource: Value,
        precondition: Precondition,
    ) -> Result<kmcr_store::WriteOp, Refusal> {
        let id = ResourceId::parse(id).map_err(|error| Refusal::Message(at(None, "207", error.to_string())))?;
        let mut resource = resource;
        if resource_type != ResourceType::PATIENT {
            label(&mut resource, &feed.security_labels);
        }
        self.put_op(context, resource_type, id, resource, precondition)
            .map_err(|error| Refusal::Message(at(None, "207", error.to_string())))
    }

    fn ack(&self, received: &Received<'_>, code: AckCode, error: Option<&MessageError>) -> String {
        let at = Instant::from_unix_ms(received.received_ms);
        acknowledgement(received.message, code, error, &received.ack_id, at)
    }

    /// Answers with AE or AR and keeps the message as a dead letter, with the reason.
    async fn reject(
        &self,
        received: &Received<'_>,
        code: AckCode,
        error: MessageError,
    ) -> Result<String, ServiceError> {
        let ack = self.ack(received, code, Some(&error));
        tracing::info!(sender = %received.sender, code = code.as_str(), reason = %error.reason, "message refused");
        let receipt = receipt(received, "rejected", code, Some(error.reason.clone()), &ack);
        self.store.write_received(Vec::new(), None, receipt).await?;
        Ok(ack)
    }
}

#[derive(Clone, Copy)]
enum Kind {
    /// ADT: the Patient and, with a PV1, the visit's Encounter.
    Admission,
    /// ORU^R01: the Patient, and the reports with their results.
    Results,
    /// MDM with content: the Patient, and the DocumentReference.
    Document,
}

enum Refusal {
    /// The message is refused for what it holds (AE).
    Message(MessageError),
    /// The store could not be reached: nothing is kept, no ACK is sent.
    Store(ServiceError),
    /// What the message changes was written by another message meanwhile: it is applied again (after
    /// [`MAX_APPLY_ATTEMPTS`], nothing is kept and no ACK is sent, so the sender sends it again).
    Changed(ServiceError),
}

/// Times a message is applied to what is stored before it is left for the sender to send again.
const MAX_APPLY_ATTEMPTS: usize = 20;

impl Refusal {
    fn refused(error: ServiceError) -> Refusal {
        match error {
            ServiceError::Unavailable | ServiceError::Corrupt => Refusal::Store(error),
            other => Refusal::Message(at(None, "207", other.to_string())),
        }
    }
}

/// Why a feed may not send over this connection, if it may not: from an address it is not allowed, or without the
/// client certificate it is bound to. Logged with the address and fingerprint, never with what the message says.
fn refusal_of_peer(feed: &MllpFeed, peer: &Peer, sender: &str) -> Option<&'static str> {
    let address = peer.address;
    if !feed.allowed_addresses.is_empty() && !feed.allowed_addresses.contains(&address) {
        tracing::warn!(sender, %address, "message from an address its feed may not send from");
        return Some("this feed may not send from this address");
    }
    let binding = feed.client_certificate.as_ref()?;
    match &peer.client_certificate {
        None => {
            tracing::warn!(sender, %address, "message for a feed bound to a client certificate came without one");
            Some("this feed sends only over TLS with its client certificate, and this connection presented none")
        }
        Some(presented) if !binding.is_met_by(presented) => {
            let (fingerprint, subject_cn) = (presented.sha256, presented.subject_cn.as_deref().unwrap_or_default());
            tracing::warn!(sender, %address, %fingerprint, subject_cn, "client certificate is not its feed's");
            Some("the client certificate of this connection is not the one this feed is bound to")
        }
        Some(_) => None,
    }
}

/// Adds each label (a v3 ActCode code) to `meta.security`, once.
fn label(resource: &mut Value, labels: &[String]) {
    const SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
    if labels.is_empty() {
        return;
    }
    let Some(object) = resource.as_object_mut() else { return };
    let meta = object.entry("meta").or_insert_with(|| Value::Object(Default::default()));
    let Some(meta) = meta.as_object_mut() else { return };
    let security = meta.entry("security").or_insert_with(|| Value::Array(Vec::new()));
    let Some(security) = security.as_array_mut() else { return };
    for code in labels {
        let present = security.iter().any(|coding| coding["system"] == SYSTEM && coding["code"] == code.as_str());
        if !present {
            security.push(serde_json::json!({ "system": SYSTEM, "code": code }));
        }
    }
}

fn at(location: Option<ErrorLocation>, code: &'static str, reason: String) -> MessageError {
    MessageError { location, code, reason }
}

fn header_error(field: usize, code: &'static str, reason: String) -> MessageError {
    at(Some(ErrorLocation { segment_id: "MSH".into(), segment_position: 1, field: Some(field) }), code, reason)
}

fn receipt(received: &Received<'_>, status: &str, code: AckCode, reason: Option<String>, ack: &str) -> FeedReceipt {
    let (body, body_encoding) = match received.text {
        Some(text) => (text.to_string(), "text"),
        None => (received.bytes.iter().map(|&byte| char::from(byte)).collect(), "bytes-latin1"),
    };
    let message_type = received.message.map(|message| {
        let (code, event) = message.message_type();
        format!("{}^{}", code.unwrap_or_default(), event.unwrap_or_default())
    });
    FeedReceipt {
        sender: received.sender.clone(),
        control_id: received.message.and_then(Message::control_id).map(str::to_string),
        received_ms: received.received_ms,
        ods_code: received.ods_code.clone(),
        message_type,
        status: status.into(),
        ack_code: code.as_str().into(),
        reason,
        ack: ack.to_string(),
        body,
        body_encoding: body_encoding.into(),
    }
}

impl Service {
    /// Sends a dead letter through again, as its sender sent it, once whatever refused it has been put right (a feed
    /// configured, an organisation joining). Its ACK, or `None` when there is no dead letter with that key. A dead
    /// letter accepted this way, or sent again by its sender and accepted, no longer counts as unresolved.
    pub async fn replay_dead_letter(
        &self,
        feeds: &[MllpFeed],
        message_key: i64,
    ) -> Result<Option<String>, ServiceError> {
        let found = self.store.filtered_feed_messages(kmcr_store::FeedMessageFilter::Key(message_key), 1).await?;
        let Some(letter) = found.into_iter().find(|letter| letter.receipt.status == "rejected") else {
            return Ok(None);
        };
        let bytes: Vec<u8> = match letter.receipt.body_encoding.as_str() {
            "bytes-latin1" => letter.receipt.body.chars().map(|character| character as u32 as u8).collect(),
            _ => letter.receipt.body.into_bytes(),
        };
        tracing::info!(message_key, sender = %letter.receipt.sender, "dead letter replayed");
        self.receive_hl7(feeds, &bytes).await.map(Some)
    }
}
