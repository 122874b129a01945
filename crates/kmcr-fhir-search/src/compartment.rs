//! The Patient compartment (R4 CompartmentDefinition `patient`): through which search parameters a resource belongs to
//! a patient, and so which patient owns a clinical item.

use kmcr_fhir::ResourceType;

use crate::{IndexEntry, IndexValue};

/// The search parameters through which a resource of this type is in a Patient's compartment, primary first; empty for
/// types never in it. From the R4 (4.0.1) CompartmentDefinition `patient`, reordered where it lists a secondary
/// participant before the subject (MedicationAdministration, Coverage), since [`owning_patient_id`] takes the first.
pub fn patient_compartment_params(resource_type: ResourceType) -> &'static [&'static str] {
    PATIENT_COMPARTMENT
        .binary_search_by(|(type_name, _)| type_name.cmp(&resource_type.as_str()))
        .map_or(&[], |type_idx| PATIENT_COMPARTMENT[type_idx].1)
}

/// The names of every resource type in the patient compartment (Patient itself included), sorted.
pub fn patient_compartment_types() -> impl Iterator<Item = &'static str> {
    PATIENT_COMPARTMENT.iter().map(|(type_name, _)| *type_name).chain(std::iter::once("Patient"))
}

/// The patient a resource belongs to: a Patient's own id; otherwise the id of the first reference to a Patient among
/// `entries` (from [`crate::extract_index_entries`]), trying the compartment parameters in order. References kept as
/// URLs (`urn:uuid:...`, absolute URLs) name no patient: rewrite them to `Patient/id` before extracting.
pub fn owning_patient_id(
    resource_type: ResourceType,
    resource_id: Option<&str>,
    entries: &[IndexEntry],
) -> Option<String> {
    if resource_type == ResourceType::PATIENT {
        return resource_id.map(str::to_string);
    }
    patient_compartment_params(resource_type).iter().find_map(|param_code| {
        entries.iter().filter(|entry| entry.param_code == *param_code).find_map(|entry| match &entry.value {
            IndexValue::Reference { target_type: Some(target_type), target_id: Some(target_id), .. }
                if target_type == ResourceType::PATIENT.as_str() =>
            {
                Some(target_id.clone())
            }
            _ => None,
        })
    })
}

/// Sorted by type name for binary search; a test checks that every parameter exists for its type.
const PATIENT_COMPARTMENT: &[(&str, &[&str])] = &[
    ("Account", &["subject"]),
    ("AdverseEvent", &["subject"]),
    ("AllergyIntolerance", &["patient", "recorder", "asserter"]),
    ("Appointment", &["actor"]),
    ("AppointmentResponse", &["actor"]),
    ("AuditEvent", &["patient"]),
    ("Basic", &["patient", "author"]),
    ("BodyStructure", &["patient"]),
    ("CarePlan", &["patient", "performer"]),
    ("CareTeam", &["patient", "participant"]),
    ("ChargeItem", &["subject"]),
    ("Claim", &["patient", "payee"]),
    ("ClaimResponse", &["patient"]),
    ("ClinicalImpression", &["subject"]),
    ("Communication", &["subject", "sender", "recipient"]),
    ("CommunicationRequest", &["subject", "sender", "recipient", "requester"]),
    ("Composition", &["subject", "author", "attester"]),
    ("Condition", &["patient", "asserter"]),
    ("Consent", &["patient"]),
    ("Coverage", &["beneficiary", "policy-holder", "subscriber", "payor"]),
    ("CoverageEligibilityRequest", &["patient"]),
    ("CoverageEligibilityResponse", &["patient"]),
    ("DetectedIssue", &["patient"]),
    ("DeviceRequest", &["subject", "performer"]),
    ("DeviceUseStatement", &["subject"]),
    ("DiagnosticReport", &["subject"]),
    ("DocumentManifest", &["subject", "author", "recipient"]),
    ("DocumentReference", &["subject", "author"]),
    ("Encounter", &["patient"]),
    ("EnrollmentRequest", &["subject"]),
    ("EpisodeOfCare", &["patient"]),
    ("ExplanationOfBenefit", &["patient", "payee"]),
    ("FamilyMemberHistory", &["patient"]),
    ("Flag", &["patient"]),
    ("Goal", &["patient"]),
    ("Group", &["member"]),
    ("ImagingStudy", &["patient"]),
    ("Immunization", &["patient"]),
    ("ImmunizationEvaluation", &["patient"]),
    ("ImmunizationRecommendation", &["patient"]),
    ("Invoice", &["subject", "patient", "recipient"]),
    ("List", &["subject", "source"]),
    ("MeasureReport", &["patient"]),
    ("Media", &["subject"]),
    ("MedicationAdministration", &["patient", "subject", "performer"]),
    ("MedicationDispense", &["subject", "patient", "receiver"]),
    ("MedicationRequest", &["subject"]),
    ("MedicationStatement", &["subject"]),
    ("MolecularSequence", &["patient"]),
    ("NutritionOrder", &["patient"]),
    ("Observation", &["subject", "performer"]),
    ("Patient", &["link"]),
    ("Person", &["patient"]),
    ("Procedure", &["patient", "performer"]),
    ("Provenance", &["patient"]),
    ("QuestionnaireResponse", &["subject", "author"]),
    ("RelatedPerson", &["patient"]),
    ("RequestGroup", &["subject", "participant"]),
    ("ResearchSubject", &["individual"]),
    ("RiskAssessment", &["subject"]),
    ("Schedule", &["actor"]),
    ("ServiceRequest", &["subject", "performer"]),
    ("Specimen", &["subject"]),
    ("SupplyDelivery", &["patient"]),
    ("SupplyRequest", &["subject"]),
    ("VisionPrescription", &["patient"]),
];
