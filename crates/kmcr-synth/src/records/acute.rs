//! The acute hospital record: admissions with their diagnoses, procedures, results and discharge summaries,
//! emergency department attendances, outpatient clinics, and ReSPECT forms completed on the ward.

use crate::bundle::SourceWriter;
use crate::clinical::{ADMISSIONS, Admission, LAB_PANELS, X_RAY, age_band};
use crate::codes::{Code, encounters, plans, sct};
use crate::date::{Date, as_at_day, fhir_date, push_number};
use crate::person::{RespectHolder, display_name};
use crate::records::gp::respect_recommendation;
use crate::records::{
    CarePlanSpec, EncounterClass, EncounterSpec, When, care_plan, condition, document_reference, encounter,
    imaging_report, lab_report, procedure,
};

const YEAR_DAYS: i64 = 365;
const FULL_BLOOD_COUNT: usize = 0;
const RENAL_FUNCTION: usize = 1;
const LIVER_FUNCTION: usize = 2;
const C_REACTIVE_PROTEIN: usize = 3;

const CLINIC_LETTER: Code = sct("371531000", "Report of clinical encounter");

pub(crate) fn write(writer: &mut SourceWriter<'_>) {
    let person = writer.person;
    let band = age_band(person.age_years);
    let main = writer.source.main;
    let n_admissions = if main { writer.rng.poisson([0.45, 0.5, 0.6, 1.1, 1.7][band]) } else { 0 };
    let n_attendances = if main { writer.rng.poisson([0.9, 0.8, 0.6, 0.7, 1.0][band]) } else { 1 };
    let mut n_contacts = 0;
    for _ in 0..n_admissions {
        n_contacts += usize::from(admission(writer));
    }
    for _ in 0..n_attendances {
        emergency_attendance(writer);
        n_contacts += 1;
    }
    if main {
        n_contacts += outpatient_clinics(writer);
    }
    if n_contacts == 0 {
        emergency_attendance(writer);
    }
    if person.health.respect == Some(RespectHolder::AcuteTrust) {
        respect_form(writer);
    }
}

fn pick_admission(writer: &mut SourceWriter<'_>, age_years: u32) -> Option<&'static Admission> {
    let female = writer.person.is_female();
    let band = age_band(age_years);
    let fits = |admission: &&Admission| {
        (admission.youngest_age..=admission.oldest_age).contains(&age_years) && (female || !admission.female_only)
    };
    let total: u32 = ADMISSIONS.iter().filter(fits).map(|admission| admission.weight_by_age_band[band]).sum();
    if total == 0 {
        return None;
    }
    let mut target = writer.rng.below(u64::from(total)) as u32;
    for admission in ADMISSIONS.iter().filter(fits) {
        let weight = admission.weight_by_age_band[band];
        if target < weight {
            return Some(admission);
        }
        target -= weight;
    }
    None
}

/// A stay on a ward: the diagnosis, blood tests, imaging, the operation if any, and the discharge summary.
fn admission(writer: &mut SourceWriter<'_>) -> bool {
    let person = writer.person;
    let start_day = writer.day_between(as_at_day() - 12 * YEAR_DAYS, as_at_day() - 2);
    let age_then = Date::from_day_number(person.birth_day).years_until(Date::from_day_number(start_day));
    let Some(admission) = pick_admission(writer, age_then) else { return false };
    let length_of_stay = writer.rng.between(0, i64::from(admission.longest_stay_days));
    let end_day = (start_day + length_of_stay).min(as_at_day() - 1).max(start_day);
    let start = When { day: start_day, minute: writer.rng.between(0, 287) as u32 * 5 };
    let end = When { day: end_day, minute: writer.working_minute() };
    let end = if end.day == start.day && end.minute <= start.minute { start.plus_minutes(240) } else { end };
    let kind = if admission.emergency { &encounters::EMERGENCY_ADMISSION } else { &encounters::ELECTIVE_ADMISSION };
    let encounter_url = encounter(
        writer,
        EncounterSpec {
            class: EncounterClass::Inpatient,
            kind,
            start,
            end,
            reason: Some(&admission.reason),
            service_type: Some(&admission.specialty),
        },
    );
    let resolved = admission.emergency.then_some(end.day);
    condition(writer, &admission.reason, true, start.day, resolved, Some(&encounter_url));
    let bloods = start.plus_minutes(writer.rng.between(20, 120) as u32);
    if admission.emergency || writer.rng.chance(0.5) {
        lab_report(writer, &LAB_PANELS[FULL_BLOOD_COUNT], bloods, Some(&encounter_url));
        lab_report(writer, &LAB_PANELS[RENAL_FUNCTION], bloods, Some(&encounter_url));
    }
    if admission.emergency && writer.rng.chance(0.6) {
        lab_report(writer, &LAB_PANELS[C_REACTIVE_PROTEIN], bloods, Some(&encounter_url));
    }
    if writer.rng.chance(0.3) {
        lab_report(writer, &LAB_PANELS[LIVER_FUNCTION], bloods, Some(&encounter_url));
    }
    if let Some(imaging) = &admission.imaging {
        let when = start.plus_minutes(writer.rng.between(60, 360) as u32);
        let conclusion = imaging_conclusion(&admission.reason);
        imaging_report(writer, imaging, when, conclusion, Some(&encounter_url));
    }
    if let Some(operation) = &admission.procedure {
        let when = When { day: (start.day + writer.rng.between(0, 1)).min(end.day), minute: writer.working_minute() };
        procedure(writer, operation, when, Some(&encounter_url));
    }
    let text = discharge_summary_text(writer, admission, start.day, end.day);
    document_reference(writer, &plans::DISCHARGE_SUMMARY, end, &text, Some(&encounter_url));
    if admission.emergency && age_then >= 75 && writer.rng.chance(0.3) {
        let (description, note) = respect_recommendation(writer);
        care_plan(
            writer,
            CarePlanSpec {
                category: &plans::TREATMENT_ESCALATION_PLAN,
                title: "Treatment escalation plan",
                description,
                start_day: start.day,
                created: start.plus_minutes(180),
                note: Some(note),
            },
        );
    }
    true
}

fn imaging_conclusion(reason: &Code) -> &'static str {
    match reason.code {
        "233604007" => "Right lower lobe consolidation in keeping with pneumonia.",
        "5913000" => "Displaced intracapsular fracture of the left femoral neck.",
        "230690007" => "Acute infarct in the left middle cerebral artery territory. No haemorrhage.",
        "74400008" => "Thickened non-compressible appendix with surrounding fluid.",
        "235919008" => "Multiple gallstones; gallbladder wall not thickened.",
        "84114007" => "Cardiomegaly with small bilateral pleural effusions.",
        "161898004" => "No acute intracranial abnormality.",
        _ => "No acute abnormality demonstrated.",
    }
}

fn discharge_summary_text(writer: &SourceWriter<'_>, admission: &Admission, start_day: i64, end_day: i64) -> String {
    let person = writer.person;
    let mut text = String::with_capacity(480);
    text.push_str("DISCHARGE SUMMARY\n");
    text.push_str(writer.organisation.name);
    text.push_str("\nPatient: ");
    text.push_str(&display_name(&person.demographics));
    text.push_str(", born ");
    text.push_str(&person.demographics.birth_date.to_fhir());
    if let Some(nhs_number) = person.nhs_number {
        text.push_str(", NHS number ");
        text.push_str(&nhs_number.to_string());
    }
    text.push_str("\nAdmitted: ");
    text.push_str(&fhir_date(start_day));
    text.push_str(if admission.emergency { " (emergency) under " } else { " (elective) under " });
    text.push_str(admission.specialty.display);
    text.push_str("\nDiagnosis: ");
    text.push_str(admission.reason.display);
    if let Some(operation) = &admission.procedure {
        text.push_str("\nProcedure: ");
        text.push_str(operation.display);
    }
    text.push_str("\nDischarged: ");
    text.push_str(&fhir_date(end_day));
    text.push_str(" to usual place of residence after ");
    push_number(&mut text, (end_day - start_day) as u64);
    text.push_str(" nights.\nActions for GP: review in two weeks; medicines reconciled on discharge.\n");
    text
}

/// A visit to the emergency department, with bloods and an X-ray for some.
fn emergency_attendance(writer: &mut SourceWriter<'_>) {
    const REASONS: &[(Code, u32)] = &[
        (sct("29857009", "Chest pain"), 8),
        (sct("21522001", "Abdominal pain"), 10),
        (sct("161898004", "Falls"), 8),
        (sct("44465007", "Sprain of ankle"), 8),
        (sct("82271004", "Injury of head"), 6),
        (sct("125667009", "Contusion"), 6),
        (sct("50417007", "Lower respiratory tract infection"), 5),
        (sct("25374005", "Gastroenteritis"), 4),
        (sct("271594007", "Syncope"), 3),
        (sct("230145002", "Difficulty breathing"), 4),
    ];
    let day = writer.day_between(as_at_day() - 12 * YEAR_DAYS, as_at_day() - 1);
    let reason: &'static Code = writer.rng.weighted(REASONS);
    let start = When { day, minute: writer.rng.between(0, 287) as u32 * 5 };
    let end = start.plus_minutes(writer.rng.between(90, 420) as u32);
    let encounter_url = encounter(
        writer,
        EncounterSpec {
            class: EncounterClass::Emergency,
            kind: &encounters::EMERGENCY_DEPARTMENT,
            start,
            end,
            reason: Some(reason),
            service_type: None,
        },
    );
    condition(writer, reason, true, day, Some(end.day), Some(&encounter_url));
    if writer.rng.chance(0.5) {
        lab_report(writer, &LAB_PANELS[FULL_BLOOD_COUNT], start.plus_minutes(30), Some(&encounter_url));
    }
    if writer.rng.chance(0.3) {
        let conclusion = if writer.rng.chance(0.8) { "No bony injury seen." } else { "Undisplaced fracture." };
        imaging_report(writer, &X_RAY, start.plus_minutes(60), conclusion, Some(&encounter_url));
    }
}

/// Clinics for the specialties that look after the person's long-term conditions.
fn outpatient_clinics(writer: &mut SourceWriter<'_>) -> usize {
    let person = writer.person;
    let mut n_clinics = 0;
    for condition_record in &person.health.conditions {
        let Some(specialty) = &condition_record.spec.specialty else { continue };
        if !writer.rng.chance(0.6) {
            continue;
        }
        let n_visits = writer.rng.between(1, 3);
        for _ in 0..n_visits {
            let day = writer.day_between(condition_record.onset_day.max(as_at_day() - 12 * YEAR_DAYS), as_at_day() - 1);
            let start = When { day, minute: writer.working_minute() };
            let encounter_url = encounter(
                writer,
                EncounterSpec {
                    class: EncounterClass::Ambulatory,
                    kind: &encounters::CONSULTATION,
                    start,
                    end: start.plus_minutes(20),
                    reason: Some(&condition_record.spec.code),
                    service_type: Some(specialty),
                },
            );
            if writer.rng.chance(0.5) {
                let mut letter = String::with_capacity(200);
                letter.push_str(specialty.display);
                letter.push_str(" clinic letter\nSeen today for ");
                letter.push_str(condition_record.spec.code.display);
                letter.push_str(". Stable on current treatment. Plan: continue; review in clinic in six months.\n");
                document_reference(writer, &CLINIC_LETTER, start.plus_minutes(60 * 24), &letter, Some(&encounter_url));
            }
            if writer.rng.chance(0.3) {
                lab_report(writer, &LAB_PANELS[RENAL_FUNCTION], start.plus_minutes(30), Some(&encounter_url));
            }
            n_clinics += 1;
        }
    }
    n_clinics
}

fn respect_form(writer: &mut SourceWriter<'_>) {
    let day = writer.day_between(as_at_day() - 3 * 365, as_at_day() - 7);
    let when = When { day, minute: writer.working_minute() };
    let (description, note) = respect_recommendation(writer);
    let mut text = String::with_capacity(300);
    text.push_str("ReSPECT - Recommended Summary Plan for Emergency Care and Treatment\nPatient: ");
    text.push_str(&display_name(&writer.person.demographics));
    text.push_str("\nRecommendation: ");
    text.push_str(description);
    text.push('\n');
    text.push_str(note);
    text.push('\n');
    crate::records::document_reference(writer, &plans::RESPECT, when, &text, None);
}
