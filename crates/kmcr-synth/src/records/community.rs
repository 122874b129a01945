//! The community trust record: health visiting for the under-fives, school nursing measurements, and district
//! nursing at home for older people with a care plan.

use crate::bundle::SourceWriter;
use crate::codes::{encounters, observables, plans, sct};
use crate::date::as_at_day;
use crate::records::{CarePlanSpec, EncounterClass, EncounterSpec, When, care_plan, encounter, measurement, procedure};

pub(crate) fn write(writer: &mut SourceWriter<'_>) {
    match writer.person.age_years {
        0..=4 => health_visiting(writer),
        5..=17 => school_nursing(writer),
        _ => district_nursing(writer),
    }
}

/// Weight in kilograms of a typical child `age_days` old (a rough fit to the UK-WHO growth charts).
fn child_weight_kg(age_days: i64) -> f64 {
    let months = age_days as f64 / 30.4;
    if months < 6.0 {
        3.4 + 0.7 * months
    } else if months < 12.0 {
        7.6 + 0.35 * (months - 6.0)
    } else {
        9.7 + 2.2 * (months - 12.0) / 12.0
    }
}

/// Height (length) in centimetres of a typical child `age_days` old.
fn child_height_cm(age_days: i64) -> f64 {
    let years = age_days as f64 / 365.25;
    if years < 1.0 {
        50.0 + 25.0 * years
    } else if years < 4.0 {
        75.0 + 7.0 * (years - 1.0)
    } else {
        96.0 + 5.8 * (years - 4.0)
    }
}

/// Growth measured at a contact, scaled by how big this child is for their age.
fn growth_measurements(writer: &mut SourceWriter<'_>, when: When, encounter_url: &str, size_factor: f64) {
    let age_days = when.day - writer.person.birth_day;
    let weight = child_weight_kg(age_days) * size_factor * writer.rng.normal(1.0, 0.03);
    let height = child_height_cm(age_days) * size_factor.sqrt();
    measurement(writer, &observables::BODY_WEIGHT, when, weight, "kg", "kg", Some(encounter_url));
    measurement(writer, &observables::BODY_HEIGHT, when, height, "cm", "cm", Some(encounter_url));
}

/// The mandated health visitor contacts: new birth visit, six to eight weeks, one year, two to two and a half years.
fn health_visiting(writer: &mut SourceWriter<'_>) {
    const CONTACT_AGES_DAYS: &[(i64, i64)] = &[(10, 14), (42, 56), (330, 400), (730, 900)];
    let size_factor = writer.rng.normal(1.0, 0.08).clamp(0.8, 1.25);
    for &(from, to) in CONTACT_AGES_DAYS {
        let day = writer.person.birth_day + writer.rng.between(from, to);
        if day >= as_at_day() {
            break;
        }
        let start = When { day, minute: writer.working_minute() };
        let class = if from < 60 { EncounterClass::HomeHealth } else { EncounterClass::Ambulatory };
        let url = encounter(
            writer,
            EncounterSpec {
                class,
                kind: &encounters::CHECK_UP,
                start,
                end: start.plus_minutes(45),
                reason: None,
                service_type: None,
            },
        );
        growth_measurements(writer, start, &url, size_factor);
    }
}

/// The National Child Measurement Programme in Reception (age four to five) and Year 6 (ten to eleven).
fn school_nursing(writer: &mut SourceWriter<'_>) {
    let size_factor = writer.rng.normal(1.0, 0.1).clamp(0.75, 1.35);
    for age_years in [4, 10] {
        let day = writer.person.day_at_age(age_years) + writer.rng.between(120, 300);
        if day >= as_at_day() {
            continue;
        }
        let start = When { day, minute: writer.working_minute() };
        let url = encounter(
            writer,
            EncounterSpec {
                class: EncounterClass::Ambulatory,
                kind: &encounters::CHECK_UP,
                start,
                end: start.plus_minutes(15),
                reason: None,
                service_type: None,
            },
        );
        growth_measurements(writer, start, &url, size_factor);
    }
}

/// District nurses visiting at home: a care plan, then visits, most with wound care.
fn district_nursing(writer: &mut SourceWriter<'_>) {
    const WOUND_CARE: crate::codes::Code = sct("225358003", "Wound care");
    let start_day = writer.day_between(as_at_day() - 3 * 365, as_at_day() - 20);
    let created = When { day: start_day, minute: writer.working_minute() };
    care_plan(
        writer,
        CarePlanSpec {
            category: &plans::CARE_PLAN,
            title: "District nursing care plan",
            description: "Leg ulcer management: compression bandaging and dressing changes twice weekly; \
                          review healing every four weeks.",
            start_day,
            created,
            note: None,
        },
    );
    let n_visits = writer.rng.between(3, 10);
    for _ in 0..n_visits {
        let day = writer.day_between(start_day, as_at_day() - 1);
        let start = When { day, minute: writer.working_minute() };
        let url = encounter(
            writer,
            EncounterSpec {
                class: EncounterClass::HomeHealth,
                kind: &encounters::HOME_VISIT,
                start,
                end: start.plus_minutes(30),
                reason: None,
                service_type: None,
            },
        );
        if writer.rng.chance(0.6) {
            procedure(writer, &WOUND_CARE, start, Some(&url));
        }
    }
}
