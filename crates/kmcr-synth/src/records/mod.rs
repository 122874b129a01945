//! The records each kind of organisation keeps, written as FHIR R4 resources into a [`SourceWriter`].

mod acute;
mod ambulance;
mod community;
pub(crate) mod facts;
mod gp;
mod hospice;
mod mental_health;
mod social_care;

use crate::bundle::SourceWriter;
use crate::clinical::{LabPanel, Prescription};
use crate::codes::{
    ACT_CODE, ALLERGY_CLINICAL, ALLERGY_VERIFICATION, CONDITION_CATEGORY, CONDITION_CLINICAL, CONDITION_VERIFICATION,
    COURSE_OF_THERAPY, Code, DIAGNOSTIC_SERVICE, OBSERVATION_CATEGORY, OBSERVATION_INTERPRETATION, allergies,
    observables,
};
use crate::date::{fhir_date, fhir_date_time};
use crate::fhir::{base64, concept, concept_of, quantity, reference, system_concept};
use crate::json::Json;
use crate::organisations::OrganisationKind;
use crate::records::facts::{DiagnosisFact, DocumentFact, LabReportFact, SourceFact, VisitFact};

/// Writes every record the writer's organisation holds about the person.
pub(crate) fn write_records(writer: &mut SourceWriter<'_>) {
    match writer.organisation.kind {
        OrganisationKind::GpPractice => gp::write(writer),
        OrganisationKind::AcuteTrust => acute::write(writer),
        OrganisationKind::MentalHealthTrust => mental_health::write(writer),
        OrganisationKind::CommunityTrust => community::write(writer),
        OrganisationKind::AmbulanceTrust => ambulance::write(writer),
        OrganisationKind::LocalAuthority => social_care::write(writer),
        OrganisationKind::Hospice => hospice::write(writer),
    }
}

/// Encounter.class (v3 ActCode).
#[derive(Clone, Copy)]
pub(crate) enum EncounterClass {
    Ambulatory,
    Emergency,
    Inpatient,
    HomeHealth,
    Virtual,
}

impl EncounterClass {
    fn coding(self) -> Json {
        let (code, display) = match self {
            EncounterClass::Ambulatory => ("AMB", "ambulatory"),
            EncounterClass::Emergency => ("EMER", "emergency"),
            EncounterClass::Inpatient => ("IMP", "inpatient encounter"),
            EncounterClass::HomeHealth => ("HH", "home health"),
            EncounterClass::Virtual => ("VR", "virtual"),
        };
        object! { "system": ACT_CODE, "code": code, "display": display }
    }
}

/// When something happened: a day and a minute of that day.
#[derive(Clone, Copy)]
pub(crate) struct When {
    pub day: i64,
    pub minute: u32,
}

impl When {
    pub(crate) fn date_time(self) -> String {
        fhir_date_time(self.day, self.minute)
    }

    /// The same moment some minutes later, carried into the next day if need be.
    pub(crate) fn plus_minutes(self, minutes: u32) -> When {
        let total = self.minute + minutes;
        When { day: self.day + i64::from(total / 1440), minute: total % 1440 }
    }
}

pub(crate) struct EncounterSpec {
    pub class: EncounterClass,
    pub kind: &'static Code,
    pub start: When,
    pub end: When,
    pub reason: Option<&'static Code>,
    pub service_type: Option<&'static Code>,
}

pub(crate) fn encounter(writer: &mut SourceWriter<'_>, spec: EncounterSpec) -> String {
    let id = writer.next_id();
    let item_number = writer.item_number();
    let mut resource = object! {
        "resourceType": "Encounter",
        "id": id,
        "status": "finished",
        "class": spec.class.coding(),
        "type": array![concept(spec.kind)],
        "subject": writer.patient(),
        "period": object! { "start": spec.start.date_time(), "end": spec.end.date_time() },
        "serviceProvider": writer.organisation(),
    };
    if let Some(service_type) = spec.service_type {
        resource.set("serviceType", concept(service_type));
    }
    if let Some(reason) = spec.reason {
        resource.set("reasonCode", array![concept(reason)]);
    }
    let full_url = writer.put("Encounter", resource);
    writer.note(|| {
        SourceFact::Visit(VisitFact {
            item_number,
            full_url: full_url.clone(),
            class: spec.class,
            kind: spec.kind,
            start: spec.start,
            end: spec.end,
            service_type: spec.service_type,
        })
    });
    full_url
}

/// A problem-list or encounter-diagnosis Condition; `resolved_day` makes it resolved.
pub(crate) fn condition(
    writer: &mut SourceWriter<'_>,
    code: &'static Code,
    diagnosis: bool,
    onset_day: i64,
    resolved_day: Option<i64>,
    encounter_url: Option<&str>,
) -> String {
    let id = writer.next_id();
    let (clinical_code, clinical_display) =
        if resolved_day.is_some() { ("resolved", "Resolved") } else { ("active", "Active") };
    let (category_code, category_display) = if diagnosis {
        ("encounter-diagnosis", "Encounter Diagnosis")
    } else {
        ("problem-list-item", "Problem List Item")
    };
    let mut resource = object! {
        "resourceType": "Condition",
        "id": id,
        "clinicalStatus": system_concept(CONDITION_CLINICAL, clinical_code, clinical_display),
        "verificationStatus": system_concept(CONDITION_VERIFICATION, "confirmed", "Confirmed"),
        "category": array![system_concept(CONDITION_CATEGORY, category_code, category_display)],
        "code": concept(code),
        "subject": writer.patient(),
        "onsetDateTime": fhir_date(onset_day),
        "recordedDate": fhir_date(onset_day),
    };
    if let Some(resolved_day) = resolved_day {
        resource.set("abatementDateTime", Json::from(fhir_date(resolved_day)));
    }
    if let Some(encounter_url) = encounter_url {
        resource.set("encounter", reference(encounter_url));
    }
    writer.note(|| {
        SourceFact::Diagnosis(DiagnosisFact { code, onset_day, encounter_url: encounter_url.map(str::to_string) })
    });
    writer.put("Condition", resource)
}

/// The person's allergies, or a "no known allergy" entry, recorded at an encounter.
pub(crate) fn allergy_intolerances(writer: &mut SourceWriter<'_>, day: i64, encounter_url: &str) {
    let known = &writer.person.health.allergies;
    if known.is_empty() {
        let id = writer.next_id();
        let resource = object! {
            "resourceType": "AllergyIntolerance",
            "id": id,
            "clinicalStatus": system_concept(ALLERGY_CLINICAL, "active", "Active"),
            "verificationStatus": system_concept(ALLERGY_VERIFICATION, "confirmed", "Confirmed"),
            "code": concept(&allergies::NO_KNOWN_ALLERGY),
            "patient": writer.patient(),
            "encounter": reference(encounter_url),
            "recordedDate": fhir_date(day),
        };
        writer.put("AllergyIntolerance", resource);
        return;
    }
    for &allergy in known {
        let id = writer.next_id();
        let medication = allergy.code == allergies::PENICILLIN.code;
        let category = if medication {
            "medication"
        } else if allergy.code == allergies::GRASS_POLLEN.code {
            "environment"
        } else {
            "food"
        };
        let criticality = if allergy.code == allergies::PEANUT.code { "high" } else { "low" };
        let resource = object! {
            "resourceType": "AllergyIntolerance",
            "id": id,
            "clinicalStatus": system_concept(ALLERGY_CLINICAL, "active", "Active"),
            "verificationStatus": system_concept(ALLERGY_VERIFICATION, "confirmed", "Confirmed"),
            "type": "allergy",
            "category": array![category],
            "criticality": criticality,
            "code": concept(allergy),
            "patient": writer.patient(),
            "encounter": reference(encounter_url),
            "recordedDate": fhir_date(day),
            "reaction": array![object! { "manifestation": array![concept(&allergies::RASH)] }],
        };
        writer.put("AllergyIntolerance", resource);
    }
}

/// What an Observation says.
pub(crate) enum ObservationValue {
    Quantity { value: f64, unit: &'static str, ucum: &'static str },
    Concept(&'static Code),
    Integer(i64),
}

pub(crate) struct ObservationSpec<'c> {
    pub codes: &'static [Code],
    pub category: (&'static str, &'static str),
    pub when: When,
    pub value: ObservationValue,
    pub encounter_url: Option<&'c str>,
    pub reference_range: Option<(Option<f64>, Option<f64>)>,
}

pub(crate) const VITAL_SIGNS: (&str, &str) = ("vital-signs", "Vital Signs");
pub(crate) const LABORATORY: (&str, &str) = ("laboratory", "Laboratory");
pub(crate) const SOCIAL_HISTORY: (&str, &str) = ("social-history", "Social History");

pub(crate) fn observation(writer: &mut SourceWriter<'_>, spec: ObservationSpec) -> String {
    let id = writer.next_id();
    let mut resource = object! {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "category": array![system_concept(OBSERVATION_CATEGORY, spec.category.0, spec.category.1)],
        "code": concept_of(spec.codes),
        "subject": writer.patient(),
    };
    if let Some(encounter_url) = spec.encounter_url {
        resource.set("encounter", reference(encounter_url));
    }
    resource.set("effectiveDateTime", Json::from(spec.when.date_time()));
    resource.set("performer", array![writer.organisation()]);
    match spec.value {
        ObservationValue::Quantity { value, unit, ucum } => {
            resource.set("valueQuantity", quantity(value, unit, ucum));
            if let Some((low, high)) = spec.reference_range {
                let mut range = Vec::with_capacity(2);
                if let Some(low) = low {
                    range.push(("low", quantity(low, unit, ucum)));
                }
                if let Some(high) = high {
                    range.push(("high", quantity(high, unit, ucum)));
                }
                let (code, display) = interpretation(value, low, high);
                resource.set("interpretation", array![system_concept(OBSERVATION_INTERPRETATION, code, display)]);
                resource.set("referenceRange", array![Json::Object(range)]);
            }
        }
        ObservationValue::Concept(code) => resource.set("valueCodeableConcept", concept(code)),
        ObservationValue::Integer(value) => resource.set("valueInteger", value),
    }
    writer.put("Observation", resource)
}

/// Low, high or normal, against the reference range: the abnormal flag of a result.
pub(crate) fn interpretation(value: f64, low: Option<f64>, high: Option<f64>) -> (&'static str, &'static str) {
    match (low, high) {
        (Some(low), _) if value < low => ("L", "Low"),
        (_, Some(high)) if value > high => ("H", "High"),
        _ => ("N", "Normal"),
    }
}

/// A blood pressure with its systolic and diastolic components.
pub(crate) fn blood_pressure(
    writer: &mut SourceWriter<'_>,
    when: When,
    systolic: f64,
    diastolic: f64,
    encounter_url: Option<&str>,
) -> String {
    let id = writer.next_id();
    let mut resource = object! {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "category": array![system_concept(OBSERVATION_CATEGORY, VITAL_SIGNS.0, VITAL_SIGNS.1)],
        "code": concept_of(&observables::BLOOD_PRESSURE),
        "subject": writer.patient(),
        "effectiveDateTime": when.date_time(),
        "performer": array![writer.organisation()],
        "component": array![
            object! {
                "code": concept_of(&observables::SYSTOLIC),
                "valueQuantity": quantity(systolic.round(), "mmHg", "mm[Hg]"),
            },
            object! {
                "code": concept_of(&observables::DIASTOLIC),
                "valueQuantity": quantity(diastolic.round(), "mmHg", "mm[Hg]"),
            },
        ],
    };
    if let Some(encounter_url) = encounter_url {
        resource.set("encounter", reference(encounter_url));
    }
    writer.put("Observation", resource)
}

/// A current medicine as the source lists it.
pub(crate) fn medication_statement(
    writer: &mut SourceWriter<'_>,
    prescription: &'static Prescription,
    start_day: i64,
    asserted: When,
    reason_url: Option<&str>,
) -> String {
    let id = writer.next_id();
    let mut resource = object! {
        "resourceType": "MedicationStatement",
        "id": id,
        "status": "active",
        "medicationCodeableConcept": concept(&prescription.0),
        "subject": writer.patient(),
        "effectivePeriod": object! { "start": fhir_date(start_day) },
        "dateAsserted": asserted.date_time(),
        "informationSource": writer.organisation(),
        "dosage": array![object! { "text": prescription.1 }],
    };
    if let Some(reason_url) = reason_url {
        resource.set("reasonReference", array![reference(reason_url)]);
    }
    writer.put("MedicationStatement", resource)
}

/// One issue of a medicine, long-term (`repeat`) or a short course.
pub(crate) fn medication_request(
    writer: &mut SourceWriter<'_>,
    prescription: &'static Prescription,
    authored: When,
    repeat: bool,
    quantity_value: u32,
    reason_url: Option<&str>,
) -> String {
    let id = writer.next_id();
    let (course_code, course_display) =
        if repeat { ("continuous", "Continuous long term therapy") } else { ("acute", "Short course (acute) therapy") };
    let mut resource = object! {
        "resourceType": "MedicationRequest",
        "id": id,
        "status": "completed",
        "intent": "order",
        "medicationCodeableConcept": concept(&prescription.0),
        "subject": writer.patient(),
        "authoredOn": authored.date_time(),
        "requester": writer.organisation(),
        "courseOfTherapyType": system_concept(COURSE_OF_THERAPY, course_code, course_display),
        "dosageInstruction": array![object! { "text": prescription.1 }],
        "dispenseRequest": object! { "quantity": object! { "value": quantity_value, "unit": "dose" } },
    };
    if let Some(reason_url) = reason_url {
        resource.set("reasonReference", array![reference(reason_url)]);
    }
    writer.put("MedicationRequest", resource)
}

pub(crate) fn immunization(
    writer: &mut SourceWriter<'_>,
    vaccine: &'static Code,
    when: When,
    dose_number: u32,
) -> String {
    let id = writer.next_id();
    let resource = object! {
        "resourceType": "Immunization",
        "id": id,
        "status": "completed",
        "vaccineCode": concept(vaccine),
        "patient": writer.patient(),
        "occurrenceDateTime": when.date_time(),
        "recorded": when.date_time(),
        "primarySource": true,
        "performer": array![object! { "actor": writer.organisation() }],
        "protocolApplied": array![object! { "doseNumberPositiveInt": dose_number }],
    };
    writer.put("Immunization", resource)
}

pub(crate) fn procedure(
    writer: &mut SourceWriter<'_>,
    code: &'static Code,
    when: When,
    encounter_url: Option<&str>,
) -> String {
    let id = writer.next_id();
    let mut resource = object! {
        "resourceType": "Procedure",
        "id": id,
        "status": "completed",
        "code": concept(code),
        "subject": writer.patient(),
        "performedDateTime": when.date_time(),
        "performer": array![object! { "actor": writer.organisation() }],
    };
    if let Some(encounter_url) = encounter_url {
        resource.set("encounter", reference(encounter_url));
    }
    writer.put("Procedure", resource)
}

pub(crate) struct CarePlanSpec {
    pub category: &'static Code,
    pub title: &'static str,
    pub description: &'static str,
    pub start_day: i64,
    pub created: When,
    pub note: Option<&'static str>,
}

pub(crate) fn care_plan(writer: &mut SourceWriter<'_>, spec: CarePlanSpec) -> String {
    let id = writer.next_id();
    let item_number = writer.item_number();
    writer.note(|| {
        let mut text = String::with_capacity(spec.title.len() + spec.description.len() + 64);
        text.push_str(spec.title);
        text.push('\n');
        text.push_str(spec.description);
        text.push('\n');
        if let Some(note) = spec.note {
            text.push_str(note);
            text.push('\n');
        }
        SourceFact::Document(DocumentFact {
            item_number,
            kind: spec.category,
            when: spec.created,
            text,
            encounter_url: None,
        })
    });
    let mut resource = object! {
        "resourceType": "CarePlan",
        "id": id,
        "status": "active",
        "intent": "plan",
        "category": array![concept(spec.category)],
        "title": spec.title,
        "description": spec.description,
        "subject": writer.patient(),
        "period": object! { "start": fhir_date(spec.start_day) },
        "created": spec.created.date_time(),
        "author": writer.organisation(),
    };
    if let Some(note) = spec.note {
        resource.set("note", array![object! { "text": note }]);
    }
    writer.put("CarePlan", resource)
}

/// A document with a short plain-text attachment.
pub(crate) fn document_reference(
    writer: &mut SourceWriter<'_>,
    kind: &'static Code,
    when: When,
    text: &str,
    encounter_url: Option<&str>,
) -> String {
    let id = writer.next_id();
    let item_number = writer.item_number();
    writer.note(|| {
        SourceFact::Document(DocumentFact {
            item_number,
            kind,
            when,
            text: text.to_string(),
            encounter_url: encounter_url.map(str::to_string),
        })
    });
    let mut resource = object! {
        "resourceType": "DocumentReference",
        "id": id,
        "status": "current",
        "type": concept(kind),
        "subject": writer.patient(),
        "date": when.date_time(),
        "author": array![writer.organisation()],
        "custodian": writer.organisation(),
        "description": kind.display,
        "content": array![object! {
            "attachment": object! {
                "contentType": "text/plain",
                "language": "en-GB",
                "data": base64(text.as_bytes()),
                "title": kind.display,
                "creation": when.date_time(),
            },
        }],
    };
    if let Some(encounter_url) = encounter_url {
        resource.set("context", object! { "encounter": array![reference(encounter_url)] });
    }
    writer.put("DocumentReference", resource)
}

/// A laboratory DiagnosticReport with its result Observations.
pub(crate) fn lab_report(
    writer: &mut SourceWriter<'_>,
    panel: &'static LabPanel,
    when: When,
    encounter_url: Option<&str>,
) {
    let female = writer.person.is_female();
    let issued = when.plus_minutes(writer.rng.between(60, 300) as u32);
    let mut results = Vec::with_capacity(panel.tests.len());
    let mut values = Vec::with_capacity(panel.tests.len());
    for test in panel.tests {
        let mean = if female && test.unit == "g/L" && test.mean > 100.0 { test.mean - 12.0 } else { test.mean };
        let value = writer.rng.normal(mean, test.standard_deviation).max(test.mean * 0.05);
        values.push(value);
        let url = observation(
            writer,
            ObservationSpec {
                codes: std::slice::from_ref(&test.code),
                category: LABORATORY,
                when,
                value: ObservationValue::Quantity { value, unit: test.unit, ucum: test.ucum },
                encounter_url,
                reference_range: Some((test.low, test.high)),
            },
        );
        results.push(reference(&url));
    }
    let id = writer.next_id();
    let item_number = writer.item_number();
    writer.note(|| {
        SourceFact::LabReport(LabReportFact {
            item_number,
            panel,
            when,
            issued,
            values,
            encounter_url: encounter_url.map(str::to_string),
        })
    });
    let mut resource = object! {
        "resourceType": "DiagnosticReport",
        "id": id,
        "status": "final",
        "category": array![system_concept(DIAGNOSTIC_SERVICE, panel.service.0, panel.service.1)],
        "code": concept_of(panel.codes),
        "subject": writer.patient(),
        "effectiveDateTime": when.date_time(),
        "issued": issued.date_time(),
        "performer": array![writer.organisation()],
        "result": results,
    };
    if let Some(encounter_url) = encounter_url {
        resource.set("encounter", reference(encounter_url));
    }
    writer.put("DiagnosticReport", resource);
}

/// An imaging DiagnosticReport with its conclusion only.
pub(crate) fn imaging_report(
    writer: &mut SourceWriter<'_>,
    code: &'static Code,
    when: When,
    conclusion: &'static str,
    encounter_url: Option<&str>,
) -> String {
    let id = writer.next_id();
    let mut resource = object! {
        "resourceType": "DiagnosticReport",
        "id": id,
        "status": "final",
        "category": array![system_concept(DIAGNOSTIC_SERVICE, "RAD", "Radiology")],
        "code": concept(code),
        "subject": writer.patient(),
        "effectiveDateTime": when.date_time(),
        "issued": when.plus_minutes(120).date_time(),
        "performer": array![writer.organisation()],
        "conclusion": conclusion,
    };
    if let Some(encounter_url) = encounter_url {
        resource.set("encounter", reference(encounter_url));
    }
    writer.put("DiagnosticReport", resource)
}

pub(crate) fn episode_of_care(
    writer: &mut SourceWriter<'_>,
    kind: &'static str,
    start_day: i64,
    end_day: Option<i64>,
) -> String {
    let id = writer.next_id();
    let mut period = object! { "start": fhir_date(start_day) };
    if let Some(end_day) = end_day {
        period.set("end", Json::from(fhir_date(end_day)));
    }
    let resource = object! {
        "resourceType": "EpisodeOfCare",
        "id": id,
        "status": if end_day.is_some() { "finished" } else { "active" },
        "type": array![object! { "text": kind }],
        "patient": writer.patient(),
        "managingOrganization": writer.organisation(),
        "period": period,
    };
    writer.put("EpisodeOfCare", resource)
}

/// Writes a quantity Observation of a vital sign or body measurement.
pub(crate) fn measurement(
    writer: &mut SourceWriter<'_>,
    codes: &'static [Code],
    when: When,
    value: f64,
    unit: &'static str,
    ucum: &'static str,
    encounter_url: Option<&str>,
) -> String {
    observation(
        writer,
        ObservationSpec {
            codes,
            category: VITAL_SIGNS,
            when,
            value: ObservationValue::Quantity { value, unit, ucum },
            encounter_url,
            reference_range: None,
        },
    )
}
