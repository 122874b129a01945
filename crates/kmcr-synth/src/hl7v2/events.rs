//! From a source's facts to the events its systems send, in time order: for each visit the ADT events of its course
//! (an admission with a transfer from the assessment unit where it fits, and now and then an update while the patient
//! is on the ward; a registration for an attendance or clinic), then a discharge carrying the visit's diagnoses; each
//! laboratory report when it is issued; each letter or plan when it is written.

use crate::codes::{Code, encounters};
use crate::records::facts::{DiagnosisFact, DocumentFact, LabReportFact, SourceFact, VisitFact};
use crate::records::{EncounterClass, When};
use crate::rng::Rng;

/// The chance that a stay has an update (A08) sent while the patient is on the ward.
const UPDATE_CHANCE: f64 = 0.15;
/// An emergency admission this long or longer starts on the assessment unit and is transferred (A02) to a ward.
const SHORTEST_STAY_WITH_TRANSFER_MINUTES: i64 = 6 * 60;

/// The ADT trigger events sent.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Trigger {
    /// Admit.
    A01,
    /// Transfer.
    A02,
    /// Discharge, or the end of an attendance.
    A03,
    /// Register an attendance or clinic visit.
    A04,
    /// Update patient information.
    A08,
}

impl Trigger {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Trigger::A01 => "A01",
            Trigger::A02 => "A02",
            Trigger::A03 => "A03",
            Trigger::A04 => "A04",
            Trigger::A08 => "A08",
        }
    }

    /// The message structure (MSH-9.3).
    pub(super) fn structure(self) -> &'static str {
        match self {
            Trigger::A02 => "ADT_A02",
            Trigger::A03 => "ADT_A03",
            Trigger::A01 | Trigger::A04 | Trigger::A08 => "ADT_A01",
        }
    }
}

/// Where the patient is: PV1-3's point of care, room and bed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) struct Location {
    pub point_of_care: &'static str,
    pub room: String,
    pub bed: String,
}

/// What a source's system sends, and why.
pub(super) enum Event<'f> {
    Admission {
        trigger: Trigger,
        visit: &'f VisitFact,
        location: Location,
        /// PV1-6 of a transfer: where the patient was.
        prior_location: Option<Location>,
        /// DG1 segments, sent with the discharge.
        diagnoses: Vec<&'f DiagnosisFact>,
    },
    Results {
        report: &'f LabReportFact,
        visit: Option<&'f VisitFact>,
    },
    Document {
        document: &'f DocumentFact,
        visit: Option<&'f VisitFact>,
    },
}

/// An event and when it is sent.
pub(super) struct TimedEvent<'f> {
    pub at: When,
    pub event: Event<'f>,
}

/// Every event of a source's facts, in the order they are sent (events at the same minute in the order planned).
pub(super) fn plan_events<'f>(facts: &'f [SourceFact], rng: &mut Rng) -> Vec<TimedEvent<'f>> {
    let visits: Vec<&VisitFact> = facts
        .iter()
        .filter_map(|fact| match fact {
            SourceFact::Visit(visit) => Some(visit),
            _ => None,
        })
        .collect();
    let visit_at = |url: &Option<String>| -> Option<&'f VisitFact> {
        let url = url.as_deref()?;
        visits.iter().copied().find(|visit| visit.full_url == url)
    };
    let mut events = Vec::with_capacity(facts.len() * 2);
    for fact in facts {
        match fact {
            SourceFact::Visit(visit) => {
                let diagnoses = facts
                    .iter()
                    .filter_map(|fact| match fact {
                        SourceFact::Diagnosis(diagnosis)
                            if diagnosis.encounter_url.as_deref() == Some(visit.full_url.as_str()) =>
                        {
                            Some(diagnosis)
                        }
                        _ => None,
                    })
                    .collect();
                plan_visit(visit, diagnoses, rng, &mut events);
            }
            SourceFact::LabReport(report) => events.push(TimedEvent {
                at: report.issued,
                event: Event::Results { report, visit: visit_at(&report.encounter_url) },
            }),
            SourceFact::Document(document) => events.push(TimedEvent {
                at: document.when,
                event: Event::Document { document, visit: visit_at(&document.encounter_url) },
            }),
            // Diagnoses travel with their visit's discharge.
            SourceFact::Diagnosis(_) => {}
        }
    }
    // Stable: events of the same minute keep the order they were planned in (a discharge before its summary).
    events.sort_by_key(|timed| (timed.at.day, timed.at.minute));
    events
}

fn plan_visit<'f>(
    visit: &'f VisitFact,
    diagnoses: Vec<&'f DiagnosisFact>,
    rng: &mut Rng,
    events: &mut Vec<TimedEvent<'f>>,
) {
    let admission = |trigger, location, prior_location, diagnoses| Event::Admission {
        trigger,
        visit,
        location,
        prior_location,
        diagnoses,
    };
    match visit.class {
        EncounterClass::Inpatient => {
            let ward = Location::on_ward(ward_of(visit.service_type), rng);
            let emergency = visit.kind.code == encounters::EMERGENCY_ADMISSION.code;
            let stay_minutes = minutes_between(visit.start, visit.end);
            let mut settled = visit.start;
            if emergency && stay_minutes >= SHORTEST_STAY_WITH_TRANSFER_MINUTES {
                // Admitted to the assessment unit, then moved to the specialty's ward.
                let assessment = Location::on_ward("AMU", rng);
                events.push(TimedEvent {
                    at: visit.start,
                    event: admission(Trigger::A01, assessment.clone(), None, vec![]),
                });
                let longest_wait = (stay_minutes / 2).min(24 * 60);
                settled = visit.start.plus_minutes(rng.between(120, longest_wait.max(120)) as u32);
                events.push(TimedEvent {
                    at: settled,
                    event: admission(Trigger::A02, ward.clone(), Some(assessment), vec![]),
                });
            } else {
                events.push(TimedEvent { at: visit.start, event: admission(Trigger::A01, ward.clone(), None, vec![]) });
            }
            let minutes_left = minutes_between(settled, visit.end);
            if rng.chance(UPDATE_CHANCE) && minutes_left > 2 {
                let at = settled.plus_minutes(rng.between(1, minutes_left - 1) as u32);
                events.push(TimedEvent { at, event: admission(Trigger::A08, ward.clone(), None, vec![]) });
            }
            events.push(TimedEvent { at: visit.end, event: admission(Trigger::A03, ward, None, diagnoses) });
        }
        EncounterClass::Emergency => {
            let cubicle = Location { point_of_care: "ED", room: "MAJORS".into(), bed: cubicle_name(rng) };
            events.push(TimedEvent { at: visit.start, event: admission(Trigger::A04, cubicle.clone(), None, vec![]) });
            events.push(TimedEvent { at: visit.end, event: admission(Trigger::A03, cubicle, None, diagnoses) });
        }
        EncounterClass::Ambulatory | EncounterClass::HomeHealth | EncounterClass::Virtual => {
            let point_of_care = match visit.class {
                EncounterClass::HomeHealth => "HOME",
                EncounterClass::Virtual => "VIRTUAL",
                _ => clinic_of(visit.service_type),
            };
            let clinic = Location { point_of_care, room: String::new(), bed: String::new() };
            events.push(TimedEvent { at: visit.start, event: admission(Trigger::A04, clinic.clone(), None, vec![]) });
            events.push(TimedEvent { at: visit.end, event: admission(Trigger::A03, clinic, None, diagnoses) });
        }
    }
}

impl Location {
    /// A bed in a bay of `ward`.
    fn on_ward(ward: &'static str, rng: &mut Rng) -> Location {
        let mut room = String::with_capacity(3);
        room.push_str("BAY");
        room.push(char::from(b'A' + rng.below(6) as u8));
        let mut bed = String::with_capacity(2);
        crate::date::push_number(&mut bed, rng.between(1, 8) as u64);
        Location { point_of_care: ward, room, bed }
    }
}

fn cubicle_name(rng: &mut Rng) -> String {
    let mut cubicle = String::with_capacity(4);
    cubicle.push_str("CUB");
    crate::date::push_number(&mut cubicle, rng.between(1, 24) as u64);
    cubicle
}

fn minutes_between(from: When, to: When) -> i64 {
    (to.day - from.day) * 24 * 60 + i64::from(to.minute) - i64::from(from.minute)
}

/// The ward a specialty admits to.
fn ward_of(specialty: Option<&Code>) -> &'static str {
    let Some(specialty) = specialty else { return "GENMED" };
    match specialty.code {
        code if code == encounters::CARDIOLOGY.code => "CCU",
        code if code == encounters::ENDOCRINOLOGY.code => "ENDO",
        code if code == encounters::TRAUMA_ORTHOPAEDICS.code => "ORTHO",
        code if code == encounters::GASTROENTEROLOGY.code => "GASTRO",
        code if code == encounters::PAEDIATRICS.code => "PAEDS",
        code if code == encounters::OBSTETRICS_GYNAECOLOGY.code => "MATERNITY",
        code if code == encounters::NEPHROLOGY.code => "RENAL",
        code if code == encounters::RESPIRATORY.code => "RESP",
        code if code == encounters::NEUROLOGY.code => "STROKE",
        code if code == encounters::ONCOLOGY.code => "ONC",
        code if code == encounters::OPHTHALMOLOGY.code => "EYE",
        _ => "GENMED",
    }
}

/// The outpatient clinic of a specialty, or the community team's base.
fn clinic_of(specialty: Option<&Code>) -> &'static str {
    match specialty {
        Some(_) => "OPD",
        None => "CMHT",
    }
}
