//! The hospice record: specialist palliative care at home and on the ward, an end of life care plan and the ReSPECT
//! form, which everyone the hospice cares for has.

use crate::bundle::SourceWriter;
use crate::codes::{encounters, plans};
use crate::date::as_at_day;
use crate::person::display_name;
use crate::records::gp::respect_recommendation;
use crate::records::{
    CarePlanSpec, EncounterClass, EncounterSpec, When, care_plan, condition, document_reference, encounter,
    episode_of_care,
};

/// Conditions a hospice is most often asked to help with, most likely first.
const LIFE_LIMITING: &[&str] = &["254837009", "399068003", "363406005", "84114007", "13645005", "52448006"];

pub(crate) fn write(writer: &mut SourceWriter<'_>) {
    let start_day = writer.day_between(as_at_day() - 2 * 365, as_at_day() - 14);
    episode_of_care(writer, "Specialist palliative care", start_day, None);
    let person = writer.person;
    let diagnosis = LIFE_LIMITING
        .iter()
        .find_map(|code| person.health.conditions.iter().find(|condition| condition.spec.code.code == *code))
        .map(|condition| &condition.spec.code);
    let n_contacts = writer.rng.between(2, 6);
    let mut first_url = None;
    for contact_idx in 0..n_contacts {
        let day = if contact_idx == 0 { start_day } else { writer.day_between(start_day, as_at_day() - 1) };
        let start = When { day, minute: writer.working_minute() };
        let url = encounter(
            writer,
            EncounterSpec {
                class: EncounterClass::HomeHealth,
                kind: &encounters::HOME_VISIT,
                start,
                end: start.plus_minutes(60),
                reason: diagnosis,
                service_type: None,
            },
        );
        first_url.get_or_insert(url);
    }
    if let Some(diagnosis) = diagnosis {
        condition(writer, diagnosis, true, start_day, None, first_url.as_deref());
    }
    let created = When { day: start_day, minute: writer.working_minute() };
    care_plan(
        writer,
        CarePlanSpec {
            category: &plans::END_OF_LIFE_CARE_PLAN,
            title: "End of life care plan",
            description: "Preferred place of care and death: home. Anticipatory medicines prescribed and at home. \
                          Family aware and involved.",
            start_day,
            created,
            note: None,
        },
    );
    let (description, note) = respect_recommendation(writer);
    let mut text = String::with_capacity(300);
    text.push_str("ReSPECT - Recommended Summary Plan for Emergency Care and Treatment\nPatient: ");
    text.push_str(&display_name(&writer.person.demographics));
    text.push_str("\nRecommendation: ");
    text.push_str(description);
    text.push('\n');
    text.push_str(note);
    text.push('\n');
    document_reference(writer, &plans::RESPECT, created.plus_minutes(30), &text, first_url.as_deref());
}
