//! The mental health trust record: an episode of care with a community mental health team, its appointments and
//! diagnoses, and a crisis plan for many. Every record is labelled as psychiatric information.

use crate::bundle::SourceWriter;
use crate::codes::{Code, encounters, plans, sct};
use crate::date::as_at_day;
use crate::records::{
    CarePlanSpec, EncounterClass, EncounterSpec, When, care_plan, condition, encounter, episode_of_care,
};

pub(crate) fn write(writer: &mut SourceWriter<'_>) {
    writer.label_all("PSY", "psychiatry information sensitivity");
    let person = writer.person;
    let earliest = person.day_at_age(16).max(as_at_day() - 10 * 365);
    let start_day = writer.day_between(earliest, as_at_day() - 30);
    let end_day = writer.rng.chance(0.4).then(|| writer.day_between(start_day + 60, as_at_day() - 1));
    episode_of_care(writer, "Community mental health team", start_day, end_day);
    let diagnoses: Vec<_> = person
        .health
        .conditions
        .iter()
        .filter(|condition| {
            condition.spec.severe_mental_illness || ["35489007", "197480006"].contains(&condition.spec.code.code)
        })
        .map(|condition| &condition.spec.code)
        .collect();
    const DEPRESSION: Code = sct("35489007", "Depressive disorder");
    let diagnoses = if diagnoses.is_empty() { vec![&DEPRESSION] } else { diagnoses };
    let last_day = end_day.unwrap_or(as_at_day() - 1);
    let n_appointments = writer.rng.between(3, 10);
    let mut first_appointment_url = None;
    for appointment_idx in 0..n_appointments {
        let day = if appointment_idx == 0 { start_day } else { writer.day_between(start_day, last_day) };
        let start = When { day, minute: writer.working_minute() };
        let kind = if appointment_idx == 0 { &encounters::CONSULTATION } else { &encounters::FOLLOW_UP };
        let class = if writer.rng.chance(0.3) { EncounterClass::HomeHealth } else { EncounterClass::Ambulatory };
        let url = encounter(
            writer,
            EncounterSpec { class, kind, start, end: start.plus_minutes(50), reason: None, service_type: None },
        );
        first_appointment_url.get_or_insert(url);
    }
    for diagnosis in diagnoses {
        condition(writer, diagnosis, true, start_day, None, first_appointment_url.as_deref());
    }
    if writer.rng.chance(0.6) {
        let plan_day = writer.day_between(start_day, last_day);
        let created = When { day: plan_day, minute: writer.working_minute() };
        care_plan(
            writer,
            CarePlanSpec {
                category: &plans::MENTAL_HEALTH_CRISIS_PLAN,
                title: "Crisis and contingency plan",
                description: "Early warning signs: poor sleep, withdrawing from family. In crisis call the 24-hour \
                              mental health line (NHS 111, option 2); care coordinator to be informed.",
                start_day: plan_day,
                created,
                note: None,
            },
        );
    }
}
