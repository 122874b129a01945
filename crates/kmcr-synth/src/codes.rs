//! The code systems and codes the generator writes.
//!
//! SNOMED CT codes are from the international edition or the UK extension; each one was checked to carry a valid
//! Verhoeff check digit (the integration tests check every code the generator emits). The UK-specific ones come from
//! NHS England material: the CP-IS child protection value set (342191000000101, 764841000000100), the National Record
//! Locator pointer types (ReSPECT 1382601000000107, crisis and end of life plans) and the QOF clusters (HbA1c
//! 999791000000106, serum cholesterol 1005671000000105, eGFR 1011481000000105).
//!
//! The dm+d codes are **illustrative**: they have the shape of dm+d virtual medicinal product (VMP) identifiers and
//! pass the check digit, but they were not checked against a dm+d release. Never use them for prescribing.

pub const SNOMED: &str = "http://snomed.info/sct";
pub const LOINC: &str = "http://loinc.org";
pub const DMD: &str = "https://dmd.nhs.uk";
pub const UCUM: &str = "http://unitsofmeasure.org";

pub const NHS_NUMBER_VERIFICATION_STATUS_EXTENSION: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus";
pub const NHS_NUMBER_VERIFICATION_STATUS_SYSTEM: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland";
pub const SDS_USER_ID_SYSTEM: &str = "https://fhir.nhs.uk/Id/sds-user-id";
pub const SDS_ROLE_PROFILE_ID_SYSTEM: &str = "https://fhir.nhs.uk/Id/sds-role-profile-id";
pub const SDS_JOB_ROLE_SYSTEM: &str = "https://fhir.nhs.uk/CodeSystem/NHSDigital-SDS-JobRoleCode";
/// The NHS England patient flag categories (draft), used beside the FHIR flag category on CP-IS flags.
pub const NHS_ENGLAND_FLAG_CATEGORY_SYSTEM: &str = "https://fhir.nhs.uk/England/CodeSystem/PatientFlagCategory";
/// Confidentiality labels in `meta.security` (HL7 v3 ActCode information sensitivity codes).
pub const SECURITY_LABEL_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

pub(crate) const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
pub(crate) const ROLE_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";
pub(crate) const CONTACT_ROLE: &str = "http://terminology.hl7.org/CodeSystem/v2-0131";
pub(crate) const CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
pub(crate) const CONDITION_VERIFICATION: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
pub(crate) const CONDITION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/condition-category";
pub(crate) const ALLERGY_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
pub(crate) const ALLERGY_VERIFICATION: &str = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification";
pub(crate) const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
pub(crate) const OBSERVATION_INTERPRETATION: &str =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
pub(crate) const DIAGNOSTIC_SERVICE: &str = "http://terminology.hl7.org/CodeSystem/v2-0074";
pub(crate) const FLAG_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/flag-category";
pub(crate) const COURSE_OF_THERAPY: &str = "http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy";
pub(crate) const ORGANIZATION_TYPE: &str = "http://terminology.hl7.org/CodeSystem/organization-type";

/// One coding: system, code and display.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Code {
    pub system: &'static str,
    pub code: &'static str,
    pub display: &'static str,
}

pub(crate) const fn sct(code: &'static str, display: &'static str) -> Code {
    Code { system: SNOMED, code, display }
}

pub(crate) const fn loinc(code: &'static str, display: &'static str) -> Code {
    Code { system: LOINC, code, display }
}

pub(crate) const fn dmd(code: &'static str, display: &'static str) -> Code {
    Code { system: DMD, code, display }
}

/// Safeguarding flags (the CP-IS value set `England-ChildProtectionPlan`, and "Vulnerable adult").
pub mod safeguarding {
    use super::{Code, sct};
    pub const CHILD_PROTECTION_PLAN: Code = sct("342191000000101", "Subject to child protection plan");
    pub const LOOKED_AFTER_CHILD: Code = sct("764841000000100", "Looked after child");
    pub const VULNERABLE_ADULT: Code = sct("417430008", "Vulnerable adult");
    /// Every flag code the generator writes; a viewer shows flags with these codes before anything else.
    pub const ALL: [Code; 3] = [CHILD_PROTECTION_PLAN, LOOKED_AFTER_CHILD, VULNERABLE_ADULT];
}

/// Treatment escalation and care plan kinds (CarePlan.category, DocumentReference.type).
pub mod plans {
    use super::{Code, sct};
    pub const RESPECT: Code =
        sct("1382601000000107", "ReSPECT (Recommended Summary Plan for Emergency Care and Treatment) form");
    pub const TREATMENT_ESCALATION_PLAN: Code = sct("735324008", "Treatment escalation plan");
    pub const END_OF_LIFE_CARE_PLAN: Code = sct("736373009", "End of life care plan");
    pub const ADVANCE_CARE_PLAN: Code = sct("736366004", "Advance care plan");
    pub const MENTAL_HEALTH_CRISIS_PLAN: Code = sct("736253002", "Mental health crisis plan");
    pub const CARE_PLAN: Code = sct("734163000", "Care plan");
    pub const DISCHARGE_SUMMARY: Code = sct("373942005", "Discharge summary");
}

/// Observables written as Observation.code (SNOMED first, LOINC beside it where the vital signs profile asks).
pub mod observables {
    use super::{Code, loinc, sct};
    pub const BLOOD_PRESSURE: [Code; 2] =
        [sct("75367002", "Blood pressure"), loinc("85354-9", "Blood pressure panel with all children optional")];
    pub const SYSTOLIC: [Code; 2] =
        [sct("271649006", "Systolic blood pressure"), loinc("8480-6", "Systolic blood pressure")];
    pub const DIASTOLIC: [Code; 2] =
        [sct("271650006", "Diastolic blood pressure"), loinc("8462-4", "Diastolic blood pressure")];
    pub const BODY_MASS_INDEX: [Code; 2] =
        [sct("60621009", "Body mass index"), loinc("39156-5", "Body mass index (BMI) [Ratio]")];
    pub const BODY_WEIGHT: [Code; 2] = [sct("27113001", "Body weight"), loinc("29463-7", "Body weight")];
    pub const BODY_HEIGHT: [Code; 2] = [sct("50373000", "Body height"), loinc("8302-2", "Body height")];
    pub const HEART_RATE: [Code; 2] = [sct("364075005", "Heart rate"), loinc("8867-4", "Heart rate")];
    pub const RESPIRATORY_RATE: [Code; 2] = [sct("86290005", "Respiratory rate"), loinc("9279-1", "Respiratory rate")];
    pub const OXYGEN_SATURATION: [Code; 2] = [
        sct("103228002", "Hemoglobin saturation with oxygen"),
        loinc("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
    ];
    pub const BODY_TEMPERATURE: [Code; 2] = [sct("386725007", "Body temperature"), loinc("8310-5", "Body temperature")];
    pub const NEWS2: [Code; 1] =
        [sct("1104051000000101", "Royal College of Physicians NEWS2 (National Early Warning Score 2) total score")];
    pub const SMOKING_STATUS: [Code; 2] =
        [sct("229819007", "Tobacco use and exposure"), loinc("72166-2", "Tobacco smoking status")];
    pub const HBA1C: [Code; 1] = [sct(
        "999791000000106",
        "Haemoglobin A1c level - International Federation of Clinical Chemistry and Laboratory Medicine standardised",
    )];
    pub const SERUM_CHOLESTEROL: [Code; 1] = [sct("1005671000000105", "Serum cholesterol level")];
    pub const EGFR: [Code; 1] =
        [sct("1011481000000105", "eGFR (estimated glomerular filtration rate) using creatinine CKD-EPI per 1.73 m2")];
    pub const SMOKER: super::Code = sct("77176002", "Smoker");
    pub const EX_SMOKER: super::Code = sct("8517006", "Ex-smoker");
    pub const NEVER_SMOKED: super::Code = sct("266919005", "Never smoked tobacco");
}

/// Encounter types and hospital specialties.
pub mod encounters {
    use super::{Code, sct};
    pub const CONSULTATION: Code = sct("11429006", "Consultation");
    pub const TELEPHONE: Code = sct("185317003", "Telephone encounter");
    pub const HOME_VISIT: Code = sct("439708006", "Home visit");
    pub const CHECK_UP: Code = sct("185349003", "Encounter for check up");
    pub const FOLLOW_UP: Code = sct("390906007", "Follow-up encounter");
    pub const EMERGENCY_DEPARTMENT: Code = sct("4525004", "Emergency department patient visit");
    pub const EMERGENCY_ADMISSION: Code = sct("183452005", "Emergency hospital admission");
    pub const ELECTIVE_ADMISSION: Code = sct("8715000", "Hospital admission, elective");
    pub const AMBULANCE: Code = sct("11424001", "Ambulance-based care");
    pub const CARDIOLOGY: Code = sct("394579002", "Cardiology");
    pub const ENDOCRINOLOGY: Code = sct("394583002", "Endocrinology");
    pub const TRAUMA_ORTHOPAEDICS: Code = sct("394801008", "Trauma and orthopedics");
    pub const GASTROENTEROLOGY: Code = sct("394584008", "Gastroenterology");
    pub const PAEDIATRICS: Code = sct("394537008", "Pediatric specialty");
    pub const OBSTETRICS_GYNAECOLOGY: Code = sct("394585009", "Obstetrics and gynecology");
    pub const NEPHROLOGY: Code = sct("394589003", "Nephrology");
    pub const RESPIRATORY: Code = sct("418112009", "Pulmonary medicine");
    pub const NEUROLOGY: Code = sct("394591006", "Neurology");
    pub const ONCOLOGY: Code = sct("394592004", "Clinical oncology");
    pub const OPHTHALMOLOGY: Code = sct("394594003", "Ophthalmology");
}

/// Care team roles.
pub mod roles {
    use super::{Code, sct};
    pub const SOCIAL_WORKER: Code = sct("106328005", "Social worker");
    pub const CAREGIVER: Code = sct("133932002", "Caregiver");
    pub const REGISTERED_NURSE: Code = sct("224535009", "Registered nurse");
    pub const GENERAL_PRACTITIONER: Code = sct("62247001", "General practitioner");
}

/// Allergies, with "no known allergy".
pub mod allergies {
    use super::{Code, sct};
    pub const NO_KNOWN_ALLERGY: Code = sct("716186003", "No known allergy");
    pub const PENICILLIN: Code = sct("91936005", "Allergy to penicillin");
    pub const PEANUT: Code = sct("91935009", "Allergy to peanut");
    pub const SHELLFISH: Code = sct("300913006", "Shellfish allergy");
    pub const LATEX: Code = sct("300916003", "Latex allergy");
    pub const GRASS_POLLEN: Code = sct("418689008", "Allergy to grass pollen");
    pub const RASH: Code = sct("271807003", "Eruption of skin");
}

/// Vaccine products (SNOMED CT international "vaccine product" concepts; dm+d would name the brand).
pub mod vaccines {
    use super::{Code, sct};
    pub const HEXAVALENT: Code = sct(
        "1162637003",
        "Vaccine product containing only acellular Bordetella pertussis and Clostridium tetani and Corynebacterium \
         diphtheriae and Haemophilus influenzae type b and Hepatitis B virus and inactivated Human poliovirus antigens",
    );
    pub const ROTAVIRUS: Code = sct("836387005", "Rotavirus antigen-containing vaccine product");
    pub const MENINGOCOCCAL: Code = sct("836401009", "Neisseria meningitidis antigen-containing vaccine product");
    pub const PNEUMOCOCCAL: Code = sct("836398006", "Streptococcus pneumoniae antigen-containing vaccine product");
    pub const HIB_MENC: Code = sct(
        "836500008",
        "Vaccine product containing only Haemophilus influenzae type b and Neisseria meningitidis serogroup C antigens",
    );
    pub const MMR: Code = sct(
        "871831003",
        "Vaccine product containing only Measles morbillivirus and Mumps orthorubulavirus and Rubella virus antigens",
    );
    pub const PRE_SCHOOL_BOOSTER: Code =
        sct("871883005", "Diphtheria and acellular pertussis and poliomyelitis and tetanus paediatric vaccine");
    pub const HPV: Code = sct("836379009", "Human papillomavirus antigen-containing vaccine product");
    pub const TD_IPV: Code = sct(
        "871837004",
        "Vaccine product containing only Clostridium tetani and Corynebacterium diphtheriae and Human poliovirus \
         antigens",
    );
    pub const MENACWY: Code = sct(
        "871916006",
        "Vaccine product containing only Neisseria meningitidis serogroup A, C, W135 and Y capsular oligosaccharide \
         conjugated antigens",
    );
    pub const INFLUENZA: Code = sct("836377006", "Influenza virus antigen-containing vaccine product");
    pub const ZOSTER: Code = sct("836495005", "Human alphaherpesvirus 3 antigen-containing vaccine product");
    pub const COVID19: Code =
        sct("1119349007", "Vaccine product containing only Severe acute respiratory syndrome coronavirus 2 mRNA");
}

/// Medicines (illustrative dm+d VMP codes, see the module comment).
pub mod medicines {
    use super::{Code, dmd};
    pub const METFORMIN: Code = dmd("325278007", "Metformin 500mg tablets");
    pub const GLICLAZIDE: Code = dmd("325238000", "Gliclazide 80mg tablets");
    pub const AMLODIPINE: Code = dmd("319283006", "Amlodipine 5mg tablets");
    pub const RAMIPRIL: Code = dmd("318906001", "Ramipril 5mg capsules");
    pub const BISOPROLOL: Code = dmd("318590006", "Bisoprolol 2.5mg tablets");
    pub const ATORVASTATIN: Code = dmd("320000009", "Atorvastatin 20mg tablets");
    pub const ASPIRIN: Code = dmd("319770009", "Aspirin 75mg dispersible tablets");
    pub const CLOPIDOGREL: Code = dmd("319787006", "Clopidogrel 75mg tablets");
    pub const WARFARIN: Code = dmd("319734006", "Warfarin 3mg tablets");
    pub const FUROSEMIDE: Code = dmd("317972000", "Furosemide 40mg tablets");
    pub const SALBUTAMOL: Code = dmd("320176004", "Salbutamol 100micrograms/dose inhaler CFC free");
    pub const SERTRALINE: Code = dmd("321949006", "Sertraline 50mg tablets");
    pub const CITALOPRAM: Code = dmd("321987003", "Citalopram 20mg tablets");
    pub const LEVOTHYROXINE: Code = dmd("319740004", "Levothyroxine sodium 50microgram tablets");
    pub const PARACETAMOL: Code = dmd("322236009", "Paracetamol 500mg tablets");
    pub const IBUPROFEN: Code = dmd("329652003", "Ibuprofen 400mg tablets");
    pub const OMEPRAZOLE: Code = dmd("317335000", "Omeprazole 20mg gastro-resistant capsules");
    pub const LANSOPRAZOLE: Code = dmd("317303000", "Lansoprazole 30mg gastro-resistant capsules");
    pub const DONEPEZIL: Code = dmd("408155001", "Donepezil 10mg tablets");
    pub const SUMATRIPTAN: Code = dmd("320883008", "Sumatriptan 50mg tablets");
    pub const ANASTROZOLE: Code = dmd("386910003", "Anastrozole 1mg tablets");
    pub const OLANZAPINE: Code = dmd("320174001", "Olanzapine 10mg tablets");
    pub const ARIPIPRAZOLE: Code = dmd("408057006", "Aripiprazole 10mg tablets");
    pub const TAMSULOSIN: Code = dmd("317751006", "Tamsulosin 400microgram modified-release capsules");
    pub const AMOXICILLIN: Code = dmd("323509004", "Amoxicillin 500mg capsules");
    pub const TRIMETHOPRIM: Code = dmd("324430000", "Trimethoprim 200mg tablets");
    pub const NITROFURANTOIN: Code = dmd("324357002", "Nitrofurantoin 50mg capsules");
}
