//! The GP practice record: registration, problems with their consultations and medicines, yearly reviews of long-term
//! conditions, short illnesses, health checks, immunisations and plans. It is the longest record most people have.

use crate::bundle::SourceWriter;
use crate::clinical::{ACUTE_ILLNESSES, AcuteIllness, Prescription, Reviews, age_band};
use crate::codes::{Code, allergies, encounters, medicines, observables, plans, vaccines};
use crate::date::{Date, as_at_day};
use crate::person::{RespectHolder, Smoking};
use crate::records::{
    CarePlanSpec, EncounterClass, EncounterSpec, ObservationSpec, ObservationValue, SOCIAL_HISTORY, When,
    allergy_intolerances, blood_pressure, care_plan, condition, encounter, immunization, measurement,
    medication_request, medication_statement, observation,
};

const YEAR_DAYS: i64 = 365;

pub(crate) fn write(writer: &mut SourceWriter<'_>) {
    registration(writer);
    long_term_conditions(writer);
    long_term_condition_reviews(writer);
    short_illnesses(writer);
    health_checks(writer);
    infant_check(writer);
    childhood_immunisations(writer);
    adult_immunisations(writer);
    plans(writer);
}

/// A GP consultation: in the surgery, by telephone, or at home for the housebound.
fn consultation(
    writer: &mut SourceWriter<'_>,
    day: i64,
    kind: &'static Code,
    reason: Option<&'static Code>,
) -> (String, When) {
    let start = When { day, minute: writer.working_minute() };
    let class = if kind.code == encounters::TELEPHONE.code {
        EncounterClass::Virtual
    } else if kind.code == encounters::HOME_VISIT.code {
        EncounterClass::HomeHealth
    } else {
        EncounterClass::Ambulatory
    };
    let url = encounter(
        writer,
        EncounterSpec { class, kind, start, end: start.plus_minutes(10), reason, service_type: None },
    );
    (url, start)
}

fn usual_consultation_kind(writer: &mut SourceWriter<'_>) -> &'static Code {
    let housebound = writer.person.age_years >= 85 && writer.rng.chance(0.3);
    match writer.rng.unit() {
        _ if housebound => &encounters::HOME_VISIT,
        roll if roll < 0.3 => &encounters::TELEPHONE,
        _ => &encounters::CONSULTATION,
    }
}

/// Joining the practice: allergies asked about, and for adults height, weight and smoking.
fn registration(writer: &mut SourceWriter<'_>) {
    let person = writer.person;
    let years_registered = writer.rng.between(0, i64::from(person.age_years.min(25)));
    let earliest = person.birth_day + 14;
    let day = (as_at_day() - years_registered * YEAR_DAYS - writer.rng.between(0, 364)).max(earliest);
    let (url, when) = consultation(writer, day, &encounters::CHECK_UP, None);
    allergy_intolerances(writer, day, &url);
    if person.age_years >= 18
        && Date::from_day_number(day).years_until(crate::date::RECORDS_AS_AT) < person.age_years - 17
    {
        body_measurements(writer, when, Some(&url), true);
        smoking_status(writer, when, Some(&url));
    }
}

fn height_cm(writer: &SourceWriter<'_>) -> f64 {
    writer.person.health.height_cm
}

/// Height (when asked), weight and body mass index, the weight following the person's usual BMI.
fn body_measurements(writer: &mut SourceWriter<'_>, when: When, encounter_url: Option<&str>, with_height: bool) {
    let height = height_cm(writer);
    let bmi = (writer.person.health.body_mass_index + writer.rng.normal(0.0, 0.8)).clamp(15.0, 60.0);
    let weight = bmi * (height / 100.0) * (height / 100.0);
    if with_height {
        measurement(writer, &observables::BODY_HEIGHT, when, height, "cm", "cm", encounter_url);
    }
    measurement(writer, &observables::BODY_WEIGHT, when, weight, "kg", "kg", encounter_url);
    measurement(writer, &observables::BODY_MASS_INDEX, when, bmi, "kg/m2", "kg/m2", encounter_url);
}

fn smoking_status(writer: &mut SourceWriter<'_>, when: When, encounter_url: Option<&str>) {
    let value = match writer.person.health.smoking {
        Smoking::Never => &observables::NEVER_SMOKED,
        Smoking::Former => &observables::EX_SMOKER,
        Smoking::Current => &observables::SMOKER,
    };
    observation(
        writer,
        ObservationSpec {
            codes: &observables::SMOKING_STATUS,
            category: SOCIAL_HISTORY,
            when,
            value: ObservationValue::Concept(value),
            encounter_url,
            reference_range: None,
        },
    );
}

fn blood_pressure_reading(writer: &mut SourceWriter<'_>, when: When, encounter_url: Option<&str>) {
    let systolic = writer.rng.normal(writer.person.health.systolic_mm_hg, 7.0).clamp(85.0, 220.0);
    let diastolic = writer.rng.normal(writer.person.health.diastolic_mm_hg, 5.0).clamp(45.0, 120.0);
    blood_pressure(writer, when, systolic, diastolic, encounter_url);
}

/// Each long-term problem: the consultation that found it, the problem itself, and its medicines with their issues.
fn long_term_conditions(writer: &mut SourceWriter<'_>) {
    let person = writer.person;
    for condition_record in &person.health.conditions {
        let spec = condition_record.spec;
        let kind = usual_consultation_kind(writer);
        let label = spec.sensitivity.map(|code| (code, sensitivity_display(code)));
        if let Some((code, display)) = label {
            writer.label_next(code, display);
        }
        let (encounter_url, _) = consultation(writer, condition_record.onset_day, kind, Some(&spec.code));
        if let Some((code, display)) = label {
            writer.label_next(code, display);
        }
        let condition_url =
            condition(writer, &spec.code, false, condition_record.onset_day, None, Some(&encounter_url));
        for (medicine_idx, prescription) in spec.medicines.iter().enumerate() {
            let chance = if medicine_idx == 0 { 0.85 } else { 0.4 };
            if !writer.rng.chance(chance) {
                continue;
            }
            let start_day = (condition_record.onset_day + writer.rng.between(0, 45)).min(as_at_day() - 1);
            long_term_medicine(writer, prescription, start_day, &condition_url, label);
        }
    }
}

fn sensitivity_display(code: &str) -> &'static str {
    match code {
        "PSY" => "psychiatry information sensitivity",
        "SEX" => "sexuality and reproductive health information sensitivity",
        _ => "information sensitivity",
    }
}

/// A repeat medicine: listed as current, issued every eight weeks (the last few issues are sent).
fn long_term_medicine(
    writer: &mut SourceWriter<'_>,
    prescription: &'static Prescription,
    start_day: i64,
    condition_url: &str,
    label: Option<(&'static str, &'static str)>,
) {
    let n_possible_issues = ((as_at_day() - start_day) / 56 + 1).clamp(1, 4);
    let n_issues = writer.rng.between(1, n_possible_issues);
    let mut last_issue: Option<When> = None;
    for issue_idx in (0..n_issues).rev() {
        let day = (as_at_day() - 3 - issue_idx * 56 - writer.rng.between(0, 10)).max(start_day);
        let when = writer.at(day);
        if let Some((code, display)) = label {
            writer.label_next(code, display);
        }
        medication_request(writer, prescription, when, true, 56, Some(condition_url));
        last_issue = Some(when);
    }
    let asserted = last_issue.unwrap_or(When { day: start_day, minute: 9 * 60 });
    if let Some((code, display)) = label {
        writer.label_next(code, display);
    }
    medication_statement(writer, prescription, start_day, asserted, Some(condition_url));
}

/// One review a year of every long-term condition that asks for results, over the last years.
fn long_term_condition_reviews(writer: &mut SourceWriter<'_>) {
    let person = writer.person;
    let mut reviews = Reviews::default();
    let mut first_onset_day: Option<i64> = None;
    for condition_record in &person.health.conditions {
        let wanted = condition_record.spec.reviews;
        if !(wanted.blood_pressure || wanted.hba1c || wanted.kidney_function || wanted.cholesterol) {
            continue;
        }
        reviews.blood_pressure |= wanted.blood_pressure;
        reviews.hba1c |= wanted.hba1c;
        reviews.kidney_function |= wanted.kidney_function;
        reviews.cholesterol |= wanted.cholesterol;
        first_onset_day =
            Some(first_onset_day.map_or(condition_record.onset_day, |day| day.min(condition_record.onset_day)));
    }
    let Some(first_onset_day) = first_onset_day else { return };
    let hba1c_drift = writer.rng.normal(0.0, 3.0);
    for years_ago in 0..8 {
        let day = as_at_day() - years_ago * YEAR_DAYS - writer.rng.between(5, 200);
        if day < first_onset_day + 30 {
            break;
        }
        let (url, when) = consultation(writer, day, &encounters::FOLLOW_UP, None);
        if reviews.blood_pressure {
            blood_pressure_reading(writer, when, Some(&url));
        }
        if reviews.hba1c {
            let value = (writer.person.health.hba1c_mmol_per_mol
                + hba1c_drift * years_ago as f64
                + writer.rng.normal(0.0, 4.0))
            .clamp(30.0, 130.0);
            laboratory_value(writer, &observables::HBA1C, when, value, "mmol/mol", &url);
        }
        if reviews.kidney_function {
            let ckd = writer.person.health.has_code("433144002");
            let typical = if ckd { 48.0 } else { 95.0 - 0.5 * f64::from(writer.person.age_years) };
            let value = writer.rng.normal(typical, 7.0).clamp(8.0, 120.0);
            laboratory_value(writer, &observables::EGFR, when, value, "mL/min/1.73m2", &url);
        }
        if reviews.cholesterol && years_ago % 2 == 0 {
            let value = writer.rng.normal(4.6, 0.9).clamp(2.0, 9.5);
            laboratory_value(writer, &observables::SERUM_CHOLESTEROL, when, value, "mmol/L", &url);
        }
        if years_ago % 2 == 0 && writer.person.age_years >= 18 {
            body_measurements(writer, when, Some(&url), false);
            smoking_status(writer, when, Some(&url));
        }
    }
}

fn laboratory_value(
    writer: &mut SourceWriter<'_>,
    codes: &'static [Code],
    when: When,
    value: f64,
    unit: &'static str,
    url: &str,
) {
    let ucum = match unit {
        "mL/min/1.73m2" => "mL/min/{1.73_m2}",
        other => other,
    };
    observation(
        writer,
        ObservationSpec {
            codes,
            category: crate::records::LABORATORY,
            when,
            value: ObservationValue::Quantity { value, unit, ucum },
            encounter_url: Some(url),
            reference_range: None,
        },
    );
}

/// Short illnesses over the years, each seen once and recorded as resolved, some with a course of antibiotics.
fn short_illnesses(writer: &mut SourceWriter<'_>) {
    let person = writer.person;
    let mean = [4.0, 4.0, 4.5, 5.0, 5.0][age_band(person.age_years)];
    let n_illnesses = writer.rng.poisson(mean);
    let record_start = (as_at_day() - 20 * YEAR_DAYS).max(person.birth_day + 30);
    let penicillin_allergy = person.health.allergies.iter().any(|allergy| allergy.code == allergies::PENICILLIN.code);
    for _ in 0..n_illnesses {
        let day = writer.day_between(record_start, as_at_day() - 3);
        let age_then = Date::from_day_number(person.birth_day).years_until(Date::from_day_number(day));
        let Some(illness) = pick_illness(writer, age_then) else { continue };
        let kind = usual_consultation_kind(writer);
        let (encounter_url, when) = consultation(writer, day, kind, Some(&illness.code));
        let resolved_day = (day + writer.rng.between(5, 21)).min(as_at_day());
        let condition_url = condition(writer, &illness.code, false, day, Some(resolved_day), Some(&encounter_url));
        if let Some(antibiotic) = &illness.antibiotic {
            let contraindicated = penicillin_allergy && antibiotic.0.code == medicines::AMOXICILLIN.code;
            if !contraindicated && writer.rng.chance(0.7) {
                medication_request(writer, antibiotic, when, false, 15, Some(&condition_url));
            }
        }
    }
}

fn pick_illness(writer: &mut SourceWriter<'_>, age_years: u32) -> Option<&'static AcuteIllness> {
    let fitting = |illness: &&AcuteIllness| (illness.youngest_age..=illness.oldest_age).contains(&age_years);
    let total: u32 = ACUTE_ILLNESSES.iter().filter(fitting).map(|illness| illness.weight).sum();
    if total == 0 {
        return None;
    }
    let mut target = writer.rng.below(u64::from(total)) as u32;
    for illness in ACUTE_ILLNESSES.iter().filter(fitting) {
        if target < illness.weight {
            return Some(illness);
        }
        target -= illness.weight;
    }
    None
}

/// NHS Health Checks every five years from forty to seventy-four, for people without a long-term review, and the odd
/// blood pressure taken at a younger adult's appointment.
fn health_checks(writer: &mut SourceWriter<'_>) {
    let person = writer.person;
    if person.age_years < 18 {
        return;
    }
    let reviewed = person.health.conditions.iter().any(|condition| condition.spec.reviews.blood_pressure);
    if !reviewed {
        let mut check_age = 40;
        while check_age <= person.age_years.min(74) {
            let day = person.day_at_age(check_age) + writer.rng.between(0, 300);
            if day < as_at_day() - 3 && day > as_at_day() - 20 * YEAR_DAYS && writer.rng.chance(0.7) {
                let (url, when) = consultation(writer, day, &encounters::CHECK_UP, None);
                blood_pressure_reading(writer, when, Some(&url));
                body_measurements(writer, when, Some(&url), true);
                smoking_status(writer, when, Some(&url));
                let cholesterol = writer.rng.normal(5.2, 0.9).clamp(2.5, 9.5);
                laboratory_value(writer, &observables::SERUM_CHOLESTEROL, when, cholesterol, "mmol/L", &url);
            }
            check_age += 5;
        }
    }
    let n_opportunistic = writer.rng.between(1, 3);
    for _ in 0..n_opportunistic {
        let day = writer.day_between(person.day_at_age(18).max(as_at_day() - 12 * YEAR_DAYS), as_at_day() - 3);
        let when = writer.at(day);
        blood_pressure_reading(writer, when, None);
    }
}

/// The six to eight week baby check.
fn infant_check(writer: &mut SourceWriter<'_>) {
    let person = writer.person;
    let day = person.birth_day + writer.rng.between(42, 56);
    if person.age_years >= 20 || day >= as_at_day() {
        return;
    }
    let (url, when) = consultation(writer, day, &encounters::CHECK_UP, None);
    let weight = writer.rng.normal(if person.is_female() { 4.9 } else { 5.3 }, 0.6);
    let length = writer.rng.normal(57.0, 2.2);
    measurement(writer, &observables::BODY_WEIGHT, when, weight, "kg", "kg", Some(&url));
    measurement(writer, &observables::BODY_HEIGHT, when, length, "cm", "cm", Some(&url));
}

/// The UK routine childhood schedule, each vaccine only from the year it joined the schedule.
fn childhood_immunisations(writer: &mut SourceWriter<'_>) {
    /// (vaccine, age in days, dose number, first year given)
    const SCHEDULE: &[(&Code, i64, u32, i32)] = &[
        (&vaccines::HEXAVALENT, 56, 1, 1996),
        (&vaccines::ROTAVIRUS, 56, 1, 2013),
        (&vaccines::MENINGOCOCCAL, 56, 1, 2015),
        (&vaccines::HEXAVALENT, 84, 2, 1996),
        (&vaccines::PNEUMOCOCCAL, 84, 1, 2006),
        (&vaccines::ROTAVIRUS, 84, 2, 2013),
        (&vaccines::HEXAVALENT, 112, 3, 1996),
        (&vaccines::MENINGOCOCCAL, 112, 2, 2015),
        (&vaccines::HIB_MENC, 366, 1, 2006),
        (&vaccines::MMR, 366, 1, 1996),
        (&vaccines::PNEUMOCOCCAL, 366, 2, 2006),
        (&vaccines::MENINGOCOCCAL, 366, 3, 2015),
        (&vaccines::MMR, 1220, 2, 1996),
        (&vaccines::PRE_SCHOOL_BOOSTER, 1220, 1, 1996),
        (&vaccines::TD_IPV, 14 * 365 + 60, 1, 2004),
        (&vaccines::MENACWY, 14 * 365 + 60, 1, 2015),
    ];
    let person = writer.person;
    if person.demographics.birth_date.year < 1990 {
        return;
    }
    // A few children miss vaccines; most are up to date.
    let uptake = if writer.rng.chance(0.06) { 0.4 } else { 0.96 };
    for &(vaccine, age_days, dose, first_year) in SCHEDULE {
        let day = person.birth_day + age_days + writer.rng.between(0, 20);
        if day >= as_at_day() || Date::from_day_number(day).year < first_year || !writer.rng.chance(uptake) {
            continue;
        }
        let when = writer.at(day);
        immunization(writer, vaccine, when, dose);
    }
    // HPV at twelve: girls since 2008, boys since 2019.
    let hpv_day = person.day_at_age(12) + writer.rng.between(200, 320);
    let hpv_year = Date::from_day_number(hpv_day).year;
    let eligible = if person.is_female() { hpv_year >= 2008 } else { hpv_year >= 2019 };
    if eligible && hpv_day < as_at_day() && writer.rng.chance(uptake * 0.85) {
        let when = writer.at(hpv_day);
        immunization(writer, &vaccines::HPV, when, 1);
    }
    // The children's nasal flu programme: the last three autumns, ages two to sixteen.
    for seasons_ago in 0..3 {
        let day = flu_season_day(writer, seasons_ago);
        let age_then = Date::from_day_number(person.birth_day).years_until(Date::from_day_number(day));
        if (2..=16).contains(&age_then) && day < as_at_day() && writer.rng.chance(0.5) {
            let when = writer.at(day);
            immunization(writer, &vaccines::INFLUENZA, when, 1);
        }
    }
}

/// A day in October or November of the flu season `seasons_ago` seasons back.
fn flu_season_day(writer: &mut SourceWriter<'_>, seasons_ago: i64) -> i64 {
    let year = crate::date::RECORDS_AS_AT.year - seasons_ago as i32 - 1;
    Date { year, month: 10, day: 1 }.day_number() + writer.rng.between(0, 55)
}

/// Flu for the over sixty-fives and people at risk, pneumococcal at sixty-five, shingles at seventy, COVID-19.
fn adult_immunisations(writer: &mut SourceWriter<'_>) {
    let person = writer.person;
    if person.age_years < 18 {
        return;
    }
    let at_risk = ["195967001", "13645005", "44054006", "46635009", "414545008", "433144002", "84114007", "230690007"]
        .iter()
        .any(|code| person.health.has_code(code));
    let takes_flu_vaccine = writer.rng.chance(if person.age_years >= 65 { 0.8 } else { 0.5 });
    for seasons_ago in 0..8 {
        let day = flu_season_day(writer, seasons_ago);
        let age_then = Date::from_day_number(person.birth_day).years_until(Date::from_day_number(day));
        if takes_flu_vaccine && (age_then >= 65 || (at_risk && age_then >= 18)) && writer.rng.chance(0.85) {
            let when = writer.at(day);
            immunization(writer, &vaccines::INFLUENZA, when, 1);
        }
    }
    if person.age_years >= 65 {
        let day = (person.day_at_age(65) + writer.rng.between(30, 400)).min(as_at_day() - 1);
        if writer.rng.chance(0.7) && day > person.birth_day {
            let when = writer.at(day);
            immunization(writer, &vaccines::PNEUMOCOCCAL, when, 1);
        }
    }
    if person.age_years >= 70 && person.age_years <= 85 && writer.rng.chance(0.45) {
        let day = (person.day_at_age(70) + writer.rng.between(30, 700))
            .clamp(Date { year: 2013, month: 9, day: 1 }.day_number(), as_at_day() - 1);
        let when = writer.at(day);
        immunization(writer, &vaccines::ZOSTER, when, 1);
    }
    covid_vaccinations(writer);
}

fn covid_vaccinations(writer: &mut SourceWriter<'_>) {
    let person = writer.person;
    let uptake = match person.age_years {
        18..=39 => 0.65,
        40..=64 => 0.85,
        _ => 0.93,
    };
    if !writer.rng.chance(uptake) {
        return;
    }
    // Campaigns: primary doses in 2021, then boosters for older people each autumn (and spring for the oldest).
    let first = Date { year: 2021, month: if person.age_years >= 70 { 1 } else { 5 }, day: 10 }.day_number();
    let mut campaign_days = vec![first, first + 77];
    if person.age_years >= 50 {
        campaign_days.push(Date { year: 2021, month: 10, day: 1 }.day_number());
    }
    if person.age_years >= 65 {
        campaign_days.extend((2022..=2025).map(|year| Date { year, month: 9, day: 20 }.day_number()));
    }
    if person.age_years >= 75 {
        campaign_days.extend((2023..=2026).map(|year| Date { year, month: 4, day: 15 }.day_number()));
    }
    let mut dose = 0;
    for campaign_day in campaign_days {
        let day = campaign_day + writer.rng.between(0, 50);
        if day >= as_at_day() || (dose >= 2 && !writer.rng.chance(0.75)) {
            continue;
        }
        dose += 1;
        let when = writer.at(day);
        immunization(writer, &vaccines::COVID19, when, dose);
    }
}

/// ReSPECT forms kept by the practice, advance care plans in dementia, asthma action plans.
fn plans(writer: &mut SourceWriter<'_>) {
    let person = writer.person;
    if person.health.respect == Some(RespectHolder::GpPractice) {
        let day = writer.day_between(as_at_day() - 3 * YEAR_DAYS, as_at_day() - 7);
        let created = When { day, minute: writer.working_minute() };
        let (description, note) = respect_recommendation(writer);
        care_plan(
            writer,
            CarePlanSpec {
                category: &plans::RESPECT,
                title: "ReSPECT form",
                description,
                start_day: day,
                created,
                note: Some(note),
            },
        );
    }
    if person.health.has_code("52448006") && writer.rng.chance(0.5) {
        let day = writer.day_between(as_at_day() - 2 * YEAR_DAYS, as_at_day() - 7);
        let created = When { day, minute: writer.working_minute() };
        care_plan(
            writer,
            CarePlanSpec {
                category: &plans::ADVANCE_CARE_PLAN,
                title: "Advance care plan",
                description: "Wishes to remain at home with family support; lasting power of attorney for health held \
                              by daughter.",
                start_day: day,
                created,
                note: None,
            },
        );
    }
    if person.health.has_code("195967001") && writer.rng.chance(0.4) {
        let day = writer.day_between(as_at_day() - 3 * YEAR_DAYS, as_at_day() - 7);
        let created = When { day, minute: writer.working_minute() };
        care_plan(
            writer,
            CarePlanSpec {
                category: &plans::CARE_PLAN,
                title: "Asthma action plan",
                description: "Use reliever inhaler when wheezy; seek urgent help if the reliever is needed every four \
                              hours.",
                start_day: day,
                created,
                note: None,
            },
        );
    }
}

/// What a ReSPECT form recommends, kept short: the viewer shows it beside the flags.
pub(crate) fn respect_recommendation(writer: &mut SourceWriter<'_>) -> (&'static str, &'static str) {
    let frail = writer.person.age_years >= 85 || writer.person.health.conditions.len() >= 4;
    if frail || writer.rng.chance(0.3) {
        (
            "Prioritise comfort. CPR not recommended.",
            "Symptom control and comfort in usual place of residence; hospital admission only for reversible problems.",
        )
    } else {
        (
            "Prioritise extending life. CPR recommended.",
            "For all treatment including admission and critical care if needed.",
        )
    }
}
