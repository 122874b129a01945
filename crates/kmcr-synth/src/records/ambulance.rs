//! The ambulance service record: each incident as an encounter with the crew's observations and NEWS2 score.

use crate::bundle::SourceWriter;
use crate::codes::{Code, encounters, observables, sct};
use crate::date::as_at_day;
use crate::records::{
    EncounterClass, EncounterSpec, ObservationSpec, ObservationValue, VITAL_SIGNS, When, blood_pressure, encounter,
    measurement, observation,
};

pub(crate) fn write(writer: &mut SourceWriter<'_>) {
    const REASONS: &[(Code, u32)] = &[
        (sct("161898004", "Falls"), 10),
        (sct("29857009", "Chest pain"), 6),
        (sct("230145002", "Difficulty breathing"), 6),
        (sct("271594007", "Syncope"), 3),
        (sct("82271004", "Injury of head"), 3),
        (sct("21522001", "Abdominal pain"), 3),
    ];
    let n_incidents = 1 + writer.rng.poisson(0.3);
    for _ in 0..n_incidents {
        let day = writer.day_between(as_at_day() - 6 * 365, as_at_day() - 1);
        let start = When { day, minute: writer.rng.between(0, 287) as u32 * 5 };
        let reason: &'static Code = writer.rng.weighted(REASONS);
        let end = start.plus_minutes(writer.rng.between(40, 120) as u32);
        let url = encounter(
            writer,
            EncounterSpec {
                class: EncounterClass::Emergency,
                kind: &encounters::AMBULANCE,
                start,
                end,
                reason: Some(reason),
                service_type: None,
            },
        );
        let when = start.plus_minutes(15);
        let unwell = writer.rng.chance(0.35);
        let heart_rate = writer.rng.normal(if unwell { 108.0 } else { 84.0 }, 12.0).clamp(40.0, 180.0).round();
        let respiratory_rate = writer.rng.normal(if unwell { 24.0 } else { 17.0 }, 3.0).clamp(8.0, 40.0).round();
        let saturation = writer.rng.normal(if unwell { 92.0 } else { 97.0 }, 2.0).clamp(75.0, 100.0).round();
        let systolic = writer.rng.normal(writer.person.health.systolic_mm_hg, 15.0).clamp(70.0, 220.0);
        let diastolic = writer.rng.normal(writer.person.health.diastolic_mm_hg, 8.0).clamp(40.0, 120.0);
        measurement(writer, &observables::HEART_RATE, when, heart_rate, "beats/minute", "/min", Some(&url));
        measurement(
            writer,
            &observables::RESPIRATORY_RATE,
            when,
            respiratory_rate,
            "breaths/minute",
            "/min",
            Some(&url),
        );
        measurement(writer, &observables::OXYGEN_SATURATION, when, saturation, "%", "%", Some(&url));
        blood_pressure(writer, when, systolic, diastolic, Some(&url));
        let news2 = news2_score(heart_rate, respiratory_rate, saturation, systolic);
        observation(
            writer,
            ObservationSpec {
                codes: &observables::NEWS2,
                category: VITAL_SIGNS,
                when,
                value: ObservationValue::Integer(news2),
                encounter_url: Some(&url),
                reference_range: None,
            },
        );
    }
}

/// The NEWS2 parts that the observations above decide (consciousness and temperature taken as normal).
fn news2_score(heart_rate: f64, respiratory_rate: f64, saturation: f64, systolic: f64) -> i64 {
    let respiration = match respiratory_rate as i64 {
        ..=8 => 3,
        9..=11 => 1,
        12..=20 => 0,
        21..=24 => 2,
        _ => 3,
    };
    let oxygen = match saturation as i64 {
        ..=91 => 3,
        92..=93 => 2,
        94..=95 => 1,
        _ => 0,
    };
    let pressure = match systolic as i64 {
        ..=90 => 3,
        91..=100 => 2,
        101..=110 => 1,
        111..=219 => 0,
        _ => 3,
    };
    let pulse = match heart_rate as i64 {
        ..=40 => 3,
        41..=50 => 1,
        51..=90 => 0,
        91..=110 => 1,
        111..=130 => 2,
        _ => 3,
    };
    respiration + oxygen + pressure + pulse
}
