//! The council's social care record: an episode of care, visits, the people who care for the person, the team, the
//! care and support plan for adults, and safeguarding flags (CP-IS child protection and looked-after children,
//! vulnerable adults), which a viewer shows before anything else.

use crate::bundle::SourceWriter;
use crate::codes::{
    CONTACT_ROLE, Code, FLAG_CATEGORY, LOINC, NHS_ENGLAND_FLAG_CATEGORY_SYSTEM, ROLE_CODE, encounters, plans, roles,
    safeguarding,
};
use crate::date::{as_at_day, fhir_date};
use crate::fhir::{concept, reference, system_concept};
use crate::json::Json;
use crate::names::given_name;
use crate::person::FlagPeriod;
use crate::records::{CarePlanSpec, EncounterClass, EncounterSpec, When, care_plan, encounter, episode_of_care};

pub(crate) fn write(writer: &mut SourceWriter<'_>) {
    if writer.person.age_years < 18 { children(writer) } else { adults(writer) }
}

fn children(writer: &mut SourceWriter<'_>) {
    let health = &writer.person.health;
    let flags: Vec<(&'static Code, FlagPeriod)> = [
        (&safeguarding::CHILD_PROTECTION_PLAN, health.child_protection_plan),
        (&safeguarding::LOOKED_AFTER_CHILD, health.looked_after_child),
    ]
    .into_iter()
    .filter_map(|(code, period)| period.map(|period| (code, period)))
    .collect();
    let earliest_flag = flags.iter().map(|(_, period)| period.start_day).min();
    let start_day = match earliest_flag {
        Some(day) => (day - writer.rng.between(14, 120)).max(writer.person.birth_day),
        None => writer.day_between(as_at_day() - 3 * 365, as_at_day() - 30),
    };
    let all_ended = flags.iter().all(|(_, period)| period.end_day.is_some());
    let end_day = (all_ended && writer.rng.chance(0.5)).then(|| writer.day_between(start_day + 30, as_at_day() - 1));
    episode_of_care(writer, "Children's social care", start_day, end_day);
    statutory_visits(writer, start_day, end_day.unwrap_or(as_at_day() - 1));
    let looked_after = health.looked_after_child.is_some();
    let mut members = Vec::with_capacity(2);
    if looked_after {
        members.push(related_person(writer, Relative::FosterCarer));
    } else {
        members.push(related_person(writer, Relative::Mother));
        if writer.rng.chance(0.5) {
            members.push(related_person(writer, Relative::Father));
        }
    }
    care_team(writer, "Children's social work team", start_day, &members);
    for (code, period) in flags {
        flag(writer, code, period, true);
    }
}

fn adults(writer: &mut SourceWriter<'_>) {
    let start_day = writer.day_between(as_at_day() - 5 * 365, as_at_day() - 30);
    episode_of_care(writer, "Adult social care", start_day, None);
    statutory_visits(writer, start_day, as_at_day() - 1);
    let mut members = Vec::with_capacity(2);
    let age = writer.person.age_years;
    if age >= 60 && writer.rng.chance(0.5) {
        members.push(related_person(writer, Relative::Spouse));
    }
    if age >= 50 && (members.is_empty() || writer.rng.chance(0.4)) {
        let relative = if writer.rng.chance(0.6) { Relative::Daughter } else { Relative::Son };
        members.push(related_person(writer, relative));
    }
    if members.is_empty() && writer.rng.chance(0.5) {
        members.push(related_person(writer, Relative::Friend));
    }
    care_team(writer, "Adult social care team", start_day, &members);
    let package = care_package(writer);
    let created = When { day: start_day + 14, minute: writer.working_minute() };
    care_plan(
        writer,
        CarePlanSpec {
            category: &plans::CARE_PLAN,
            title: "Care and support plan",
            description: package,
            start_day: start_day + 14,
            created,
            note: None,
        },
    );
    if let Some(period) = writer.person.health.vulnerable_adult {
        flag(writer, &safeguarding::VULNERABLE_ADULT, period, false);
    }
}

fn care_package(writer: &mut SourceWriter<'_>) -> &'static str {
    let person = writer.person;
    if person.health.has_code("52448006") && person.age_years >= 75 && writer.rng.chance(0.4) {
        return "Residential care home placement with dementia support.";
    }
    writer.rng.pick_copy(&[
        "Home care: two calls a day for personal care and medicines prompting.",
        "Day centre three days a week; carer's break funded.",
        "Direct payment for a personal assistant, ten hours a week.",
        "Telecare pendant alarm and key safe; weekly welfare call.",
        "Reablement for six weeks after hospital discharge.",
    ])
}

/// Visits by the social worker: assessments and reviews.
fn statutory_visits(writer: &mut SourceWriter<'_>, from_day: i64, to_day: i64) {
    let n_visits = writer.rng.between(1, 4);
    for visit_idx in 0..n_visits {
        let day = if visit_idx == 0 { from_day } else { writer.day_between(from_day, to_day) };
        let start = When { day, minute: writer.working_minute() };
        encounter(
            writer,
            EncounterSpec {
                class: EncounterClass::HomeHealth,
                kind: &encounters::HOME_VISIT,
                start,
                end: start.plus_minutes(60),
                reason: None,
                service_type: None,
            },
        );
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Relative {
    Mother,
    Father,
    FosterCarer,
    Spouse,
    Daughter,
    Son,
    Friend,
}

/// A relative or carer, with their role in the team.
struct Member {
    url: String,
    role: &'static Code,
}

fn related_person(writer: &mut SourceWriter<'_>, relative: Relative) -> Member {
    let person = writer.person;
    let person_female = person.is_female();
    let (code, display, female, years_older) = match relative {
        Relative::Mother => ("MTH", "mother", true, writer.rng.between(20, 40)),
        Relative::Father => ("FTH", "father", false, writer.rng.between(22, 45)),
        Relative::FosterCarer => ("NOK", "next of kin", writer.rng.chance(0.7), writer.rng.between(30, 55)),
        Relative::Spouse => {
            let (code, display) = if person_female { ("HUSB", "husband") } else { ("WIFE", "wife") };
            (code, display, !person_female, writer.rng.between(-5, 5))
        }
        Relative::Daughter => ("DAU", "natural daughter", true, -writer.rng.between(20, 40)),
        Relative::Son => ("SON", "natural son", false, -writer.rng.between(20, 40)),
        Relative::Friend => ("FRND", "unrelated friend", writer.rng.chance(0.6), writer.rng.between(-15, 15)),
    };
    let birth_year = person.demographics.birth_date.year - years_older as i32;
    let given = given_name(&mut writer.rng, person.heritage, female, birth_year);
    let family = if relative == Relative::FosterCarer || (relative == Relative::Daughter && writer.rng.chance(0.5)) {
        crate::names::surname(&mut writer.rng, crate::names::Heritage::English, female)
    } else {
        &person.demographics.family_name
    };
    let mut relationship = vec![system_concept(ROLE_CODE, code, display)];
    let text_role = if relative == Relative::FosterCarer { "Foster carer" } else { "Carer" };
    relationship.push(object! {
        "coding": array![object! { "system": CONTACT_ROLE, "code": "C", "display": "Emergency Contact" }],
        "text": text_role,
    });
    let mobile = format!("07700 900{:03}", writer.rng.below(1000));
    let id = writer.next_id();
    let resource = object! {
        "resourceType": "RelatedPerson",
        "id": id,
        "active": true,
        "patient": writer.patient(),
        "relationship": relationship,
        "name": array![object! { "use": "official", "family": family.to_string(), "given": array![given] }],
        "telecom": array![object! { "system": "phone", "value": mobile, "use": "mobile" }],
        "gender": if female { "female" } else { "male" },
    };
    let url = writer.put("RelatedPerson", resource);
    Member { url, role: &roles::CAREGIVER }
}

fn care_team(writer: &mut SourceWriter<'_>, name: &'static str, start_day: i64, members: &[Member]) -> String {
    let mut participants: Vec<Json> =
        vec![object! { "role": array![concept(&roles::SOCIAL_WORKER)], "member": writer.organisation() }];
    for member in members {
        participants.push(object! { "role": array![concept(member.role)], "member": reference(&member.url) });
    }
    let id = writer.next_id();
    let resource = object! {
        "resourceType": "CareTeam",
        "id": id,
        "status": "active",
        "category": array![system_concept(LOINC, "LA28865-6", "Longitudinal care-coordination focused care team")],
        "name": name,
        "subject": writer.patient(),
        "period": object! { "start": fhir_date(start_day) },
        "participant": participants,
        "managingOrganization": array![writer.organisation()],
    };
    writer.put("CareTeam", resource)
}

/// A safeguarding flag (UK Core Flag): category safety, CP-IS for child protection, the council as author.
fn flag(writer: &mut SourceWriter<'_>, code: &'static Code, period: FlagPeriod, child_protection: bool) -> String {
    let mut categories = vec![object! {
        "coding": array![object! { "system": FLAG_CATEGORY, "code": "safety", "display": "Safety" }],
        "text": "Safeguarding",
    }];
    if child_protection {
        categories.push(system_concept(
            NHS_ENGLAND_FLAG_CATEGORY_SYSTEM,
            "CP-IS",
            "Child Protection - Information Sharing Flag",
        ));
    }
    let mut flag_period = object! { "start": fhir_date(period.start_day) };
    if let Some(end_day) = period.end_day {
        flag_period.set("end", Json::from(fhir_date(end_day)));
    }
    let id = writer.next_id();
    let resource = object! {
        "resourceType": "Flag",
        "id": id,
        "status": if period.end_day.is_some() { "inactive" } else { "active" },
        "category": categories,
        "code": concept(code),
        "subject": writer.patient(),
        "period": flag_period,
        "author": writer.organisation(),
    };
    writer.put("Flag", resource)
}
