//! The records of acute and mental health trusts as their systems send them over HL7 v2 (2.4, delimiters `|^~\&`,
//! segments ended by a carriage return), so that a region's day can be replayed through MLLP.
//!
//! The messages are made from the same facts as the organisation's FHIR records: the records are written as for
//! [`crate::person_bundles`] with their facts noted ([`crate::records::facts`]), so every visit, result and letter,
//! every value and time, is the one its FHIR resource holds, and PID is that source's Patient (its local record
//! number, the NHS number with its verification status, the identity errors that source made). What only HL7 v2
//! says (wards and beds, when a patient moved from the assessment unit, an occasional update) is drawn from a stream
//! of its own, so that nothing else changes.
//!
//! Each trust sends ADT and MDM from its patient administration system (MSH-3 `<ODS>-PAS`) and, for an acute trust,
//! ORU from its laboratory (`<ODS>-LAB`); MSH-4 is its ODS code. Per person and organisation, in time order:
//! - ADT: A01 on admission (to the acute medical unit, then A02 to the specialty's ward when the stay is long enough
//!   for the move), A04 on registering an emergency attendance or a clinic visit, now and then an A08 during a stay,
//!   A03 at discharge or the end of the visit with the visit's diagnoses (DG1);
//! - ORU^R01 when a laboratory report is issued: an OBR for the panel and an OBX per test, NM with UCUM units, the
//!   reference range (OBX-7) and the abnormal flag (OBX-8);
//! - MDM^T02 when a letter or plan is written (discharge summaries, clinic letters, ReSPECT forms, treatment
//!   escalation and crisis plans): TXA, and the text as OBX TX lines.
//!
//! MSH-10 is the source's local record number and the message's number among that source's messages about the
//! person (`MTW0471123-M3`): unique per sender, and the same on every run. MSH-7 is when the event happened. PV1-19
//! (visit), OBR-3 (order) and TXA-12 (document) numbers are the local record number and the number of the record
//! they came from, as in the FHIR ids (`rwf-mtw0471123-3`).

mod events;
mod segments;

use crate::SynthConfig;
use crate::bundle::SourceWriter;
use crate::identity::{NhsNumberStatus, SourcePatientRecord, recorded_patient};
use crate::organisations::{Organisation, OrganisationKind, organisations};
use crate::person::{Gender, Person, Source};
use crate::records::facts::{DocumentFact, LabReportFact, VisitFact};
use crate::records::{EncounterClass, When, interpretation, write_records};
use crate::rng::{Rng, stream};
use events::{Event, Location, TimedEvent, Trigger, plan_events};
use segments::{Segment, coded, components, date, number, time_stamp};

/// The receiving application and facility every message names (MSH-5, MSH-6).
const RECEIVER: &str = "KMCR";

/// A system of an organisation that sends HL7 v2: its MSH-3 and MSH-4.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hl7v2Sender {
    pub ods_code: &'static str,
    /// MSH-3: `<ODS>-PAS` (ADT and MDM) or `<ODS>-LAB` (ORU).
    pub sending_application: String,
    /// MSH-4: the organisation's ODS code.
    pub sending_facility: &'static str,
    /// What it sends, for people: `ADT, MDM` or `ORU`.
    pub message_types: &'static str,
}

/// One message as a source organisation's system sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hl7v2Message {
    pub ods_code: &'static str,
    /// MSH-3 (MSH-4 is the ODS code).
    pub sending_application: String,
    /// MSH-10.
    pub control_id: String,
    /// MSH-9's code and event: `ADT^A01`, `ORU^R01`, `MDM^T02`.
    pub message_type: String,
    /// The message: its segments, each ended by a carriage return.
    pub text: String,
}

/// Whether an organisation of this kind sends HL7 v2 here: acute and mental health trusts.
pub fn sends_hl7v2(kind: OrganisationKind) -> bool {
    matches!(kind, OrganisationKind::AcuteTrust | OrganisationKind::MentalHealthTrust)
}

/// Every sender of the region: a PAS for each acute and mental health trust, a laboratory for each acute trust.
pub fn hl7v2_senders() -> Vec<Hl7v2Sender> {
    let mut senders = Vec::new();
    for organisation in organisations().iter().filter(|organisation| sends_hl7v2(organisation.kind)) {
        senders.push(Hl7v2Sender {
            ods_code: organisation.ods_code,
            sending_application: application(organisation, System::PatientAdministration).to_string(),
            sending_facility: organisation.ods_code,
            message_types: "ADT, MDM",
        });
        if organisation.kind == OrganisationKind::AcuteTrust {
            senders.push(Hl7v2Sender {
                ods_code: organisation.ods_code,
                sending_application: application(organisation, System::Laboratory).to_string(),
                sending_facility: organisation.ods_code,
                message_types: "ORU",
            });
        }
    }
    senders
}

/// The HL7 v2 messages of person `person_idx` (0-based) under `config`: for each of their acute and mental health
/// organisations in the order of [`crate::person_bundles`], that organisation's messages in time order.
pub fn person_hl7v2_messages(config: &SynthConfig, person_idx: usize) -> Vec<Hl7v2Message> {
    config.assert_person(person_idx);
    let person = Person::generate(config, person_idx);
    let mut messages = Vec::new();
    for source in person.sources.iter().filter(|source| sends_hl7v2(source.organisation.kind)) {
        write_source_messages(&person, *source, &mut messages);
    }
    messages
}

#[derive(Clone, Copy)]
enum System {
    /// ADT and MDM.
    PatientAdministration,
    /// ORU.
    Laboratory,
}

fn application(organisation: &Organisation, system: System) -> String {
    let suffix = match system {
        System::PatientAdministration => "-PAS",
        System::Laboratory => "-LAB",
    };
    let mut name = String::with_capacity(organisation.ods_code.len() + suffix.len());
    name.push_str(organisation.ods_code);
    name.push_str(suffix);
    name
}

/// What every message of one source about one person shares.
struct SourceMessages {
    organisation: &'static Organisation,
    /// The source's local record number: the start of every number it gives.
    local_id: String,
    /// PID and PD1, as this source records the person.
    patient_segments: String,
    n_messages: u32,
}

fn write_source_messages(person: &Person, source: Source, messages: &mut Vec<Hl7v2Message>) {
    let mut writer = SourceWriter::new(person, source);
    writer.keep_facts();
    write_records(&mut writer);
    let facts = writer.take_facts();
    let record = recorded_patient(person, &source);
    let mut rng = Rng::from_words(&[person.seed, person.idx as u64, stream::HL7V2, source.organisation_idx as u64]);
    let mut context = SourceMessages {
        organisation: source.organisation,
        patient_segments: patient_segments(person, source.organisation, &record),
        local_id: record.identifier_value,
        n_messages: 0,
    };
    for TimedEvent { at, event } in plan_events(&facts, &mut rng) {
        messages.push(context.message(at, &event));
    }
}

impl SourceMessages {
    fn message(&mut self, at: When, event: &Event<'_>) -> Hl7v2Message {
        self.n_messages += 1;
        let mut control_id = String::with_capacity(self.local_id.len() + 6);
        control_id.push_str(&self.local_id);
        control_id.push_str("-M");
        crate::date::push_number(&mut control_id, u64::from(self.n_messages));
        let (system, code, trigger, structure) = match event {
            Event::Admission { trigger, .. } => {
                (System::PatientAdministration, "ADT", trigger.as_str(), trigger.structure())
            }
            Event::Results { .. } => (System::Laboratory, "ORU", "R01", "ORU_R01"),
            Event::Document { .. } => (System::PatientAdministration, "MDM", "T02", "MDM_T02"),
        };
        let sending_application = application(self.organisation, system);
        let mut text = String::with_capacity(1_024);
        text.push_str("MSH|^~\\&|");
        let sent_at = time_stamp(at);
        for field in [sending_application.as_str(), self.organisation.ods_code, RECEIVER, RECEIVER, &sent_at, ""] {
            text.push_str(field);
            text.push('|');
        }
        for part in [code, "^", trigger, "^", structure, "|", &control_id, "|P|2.4|||AL|NE|GBR|UNICODE UTF-8\r"] {
            text.push_str(part);
        }
        match event {
            Event::Admission { trigger, visit, location, prior_location, diagnoses } => {
                Segment::new("EVN").text(1, trigger.as_str()).set(2, sent_at.clone()).write(&mut text);
                text.push_str(&self.patient_segments);
                self.admission_visit(*trigger, visit, location, prior_location.as_ref()).write(&mut text);
                for (diagnosis_idx, diagnosis) in diagnoses.iter().enumerate() {
                    Segment::new("DG1")
                        .set(1, (diagnosis_idx + 1).to_string())
                        .set(3, coded(std::slice::from_ref(diagnosis.code)))
                        .set(5, date(crate::date::Date::from_day_number(diagnosis.onset_day)))
                        .set(6, "F")
                        .write(&mut text);
                }
            }
            Event::Results { report, visit } => {
                text.push_str(&self.patient_segments);
                self.visit_reference(*visit).write(&mut text);
                self.results(report, &mut text);
            }
            Event::Document { document, visit } => {
                Segment::new("EVN").set(1, "T02").set(2, sent_at.clone()).write(&mut text);
                text.push_str(&self.patient_segments);
                self.visit_reference(*visit).write(&mut text);
                self.document(document, &mut text);
            }
        }
        Hl7v2Message {
            ods_code: self.organisation.ods_code,
            sending_application,
            control_id,
            message_type: format!("{code}^{trigger}"),
            text,
        }
    }

    /// A number this source gives a record of the person: its local record number and the record's number.
    fn number_of(&self, item_number: u32) -> String {
        let mut number = String::with_capacity(self.local_id.len() + 4);
        number.push_str(&self.local_id);
        number.push('-');
        crate::date::push_number(&mut number, u64::from(item_number));
        number
    }

    /// PV1 of an ADT event: class, where the patient is, the visit number and its times.
    fn admission_visit(
        &self,
        trigger: Trigger,
        visit: &VisitFact,
        location: &Location,
        prior_location: Option<&Location>,
    ) -> Segment {
        let place = |location: &Location| {
            components(&[location.point_of_care, &location.room, &location.bed, self.organisation.ods_code])
        };
        let mut pv1 = Segment::new("PV1").set(1, "1").set(2, patient_class(visit.class)).set(3, place(location));
        if matches!(visit.class, EncounterClass::Inpatient) {
            let emergency = visit.kind.code == crate::codes::encounters::EMERGENCY_ADMISSION.code;
            pv1 = pv1.set(4, if emergency { "E" } else { "C" });
        }
        if let Some(prior) = prior_location {
            pv1 = pv1.set(6, place(prior));
        }
        if let Some(specialty) = visit.service_type {
            pv1 = pv1.text(10, specialty.code);
        }
        pv1 = pv1.set(19, self.number_of(visit.item_number)).set(44, time_stamp(visit.start));
        if trigger == Trigger::A03 {
            pv1 = pv1.set(45, time_stamp(visit.end));
        }
        pv1
    }

    /// PV1 of a result or document: the visit it belongs to, if any.
    fn visit_reference(&self, visit: Option<&VisitFact>) -> Segment {
        match visit {
            Some(visit) => Segment::new("PV1")
                .set(1, "1")
                .set(2, patient_class(visit.class))
                .set(19, self.number_of(visit.item_number)),
            None => Segment::new("PV1").set(1, "1").set(2, "N"),
        }
    }

    /// ORC, OBR and an OBX per test.
    fn results(&self, report: &LabReportFact, text: &mut String) {
        let order = self.number_of(report.item_number);
        Segment::new("ORC").set(1, "RE").set(3, order.clone()).set(5, "CM").write(text);
        Segment::new("OBR")
            .set(1, "1")
            .set(3, order)
            .set(4, coded(report.panel.codes))
            .set(7, time_stamp(report.when))
            .set(22, time_stamp(report.issued))
            .text(24, report.panel.service.0)
            .set(25, "F")
            .write(text);
        for (test_idx, (test, value)) in report.panel.tests.iter().zip(&report.values).enumerate() {
            let range = match (test.low, test.high) {
                (Some(low), Some(high)) => format!("{}-{}", number(low), number(high)),
                (None, Some(high)) => format!("<={}", number(high)),
                (Some(low), None) => format!(">={}", number(low)),
                (None, None) => String::new(),
            };
            let mut obx = Segment::new("OBX")
                .set(1, (test_idx + 1).to_string())
                .set(2, "NM")
                .set(3, coded(std::slice::from_ref(&test.code)))
                .set(5, number(*value))
                .set(6, components(&[test.ucum, test.unit, "UCUM"]))
                .set(7, range);
            if test.low.is_some() || test.high.is_some() {
                obx = obx.set(8, interpretation(*value, test.low, test.high).0);
            }
            obx.set(11, "F").set(14, time_stamp(report.when)).write(text);
        }
    }

    /// TXA and the text, a line to an OBX.
    fn document(&self, document: &DocumentFact, text: &mut String) {
        Segment::new("TXA")
            .set(1, "1")
            .set(2, components(&[document.kind.code, document.kind.display]))
            .set(3, "TX")
            .set(4, time_stamp(document.when))
            .set(6, time_stamp(document.when))
            .set(12, self.number_of(document.item_number))
            .set(17, "AU")
            .write(text);
        let kind = coded(std::slice::from_ref(document.kind));
        for (line_idx, line) in document.text.lines().filter(|line| !line.is_empty()).enumerate() {
            Segment::new("OBX")
                .set(1, (line_idx + 1).to_string())
                .set(2, "TX")
                .set(3, kind.clone())
                .text(5, line)
                .set(11, "F")
                .write(text);
        }
    }
}

fn patient_class(class: EncounterClass) -> &'static str {
    match class {
        EncounterClass::Inpatient => "I",
        EncounterClass::Emergency => "E",
        EncounterClass::Ambulatory | EncounterClass::HomeHealth | EncounterClass::Virtual => "O",
    }
}

/// PID and PD1 as the source records the person: what its FHIR Patient says, in HL7 v2.
fn patient_segments(person: &Person, organisation: &Organisation, record: &SourcePatientRecord) -> String {
    let mut identifiers = Vec::with_capacity(2);
    if let Some(nhs_number) = record.nhs_number {
        identifiers.push(components(&[&nhs_number.as_digits(), "", "", "NHS", "NH"]));
    }
    identifiers.push(components(&[&record.identifier_value, "", "", organisation.ods_code, "MR"]));
    let demographics = &record.demographics;
    let middle_names = demographics.given_names[1..].join(" ");
    let name = components(&[
        &demographics.family_name,
        &demographics.given_names[0],
        &middle_names,
        "",
        demographics.title.as_deref().unwrap_or_default(),
        "",
        "L",
    ]);
    let address = &demographics.address;
    let line = |line_idx: usize| address.lines.get(line_idx).map_or("", String::as_str);
    let address = components(&[
        line(0),
        line(1),
        &address.city,
        &address.district,
        address.postal_code.as_deref().unwrap_or_default(),
        "",
        "H",
    ]);
    let mut phones = Vec::with_capacity(2);
    if let Some(home) = &demographics.home_phone {
        phones.push(components(&[home, "PRN", "PH"]));
    }
    if let Some(mobile) = &demographics.mobile_phone {
        phones.push(components(&[mobile, "ORN", "CP"]));
    }
    let mut pid = Segment::new("PID")
        .set(1, "1")
        .set(3, identifiers.join("~"))
        .set(5, name)
        .set(8, if demographics.gender == Gender::Female { "F" } else { "M" })
        .set(11, address)
        .set(13, phones.join("~"));
    if let Some(birth_date) = demographics.birth_date {
        pid = pid.set(7, date(birth_date));
    }
    if record.nhs_number.is_some() && record.nhs_number_status == NhsNumberStatus::Verified {
        pid = pid.set(32, "NSTS01");
    }
    let mut text = String::with_capacity(400);
    pid.write(&mut text);
    let practice = person.gp_practice;
    Segment::new("PD1").set(3, components(&[practice.name, "", practice.ods_code])).write(&mut text);
    text
}
