//! What people have wrong with them and what is done about it: long-term conditions with their prevalence by age,
//! short illnesses, hospital admissions, laboratory panels. Prevalences are rounded from QOF registers and the Health
//! Survey for England; they only need to look right.

use crate::codes::{Code, encounters, loinc, medicines, sct};

/// Age bands of the prevalence tables: 0-17, 18-39, 40-59, 60-74, 75 and over.
pub(crate) fn age_band(age_years: u32) -> usize {
    match age_years {
        0..=17 => 0,
        18..=39 => 1,
        40..=59 => 2,
        60..=74 => 3,
        _ => 4,
    }
}

/// Which results a GP records at the yearly review of a long-term condition.
#[derive(Clone, Copy, Default)]
pub(crate) struct Reviews {
    pub blood_pressure: bool,
    pub hba1c: bool,
    pub kidney_function: bool,
    pub cholesterol: bool,
}

const NO_REVIEW: Reviews = Reviews { blood_pressure: false, hba1c: false, kidney_function: false, cholesterol: false };
const CARDIOVASCULAR_REVIEW: Reviews =
    Reviews { blood_pressure: true, hba1c: false, kidney_function: true, cholesterol: true };
const DIABETES_REVIEW: Reviews =
    Reviews { blood_pressure: true, hba1c: true, kidney_function: true, cholesterol: true };
const BLOOD_PRESSURE_REVIEW: Reviews =
    Reviews { blood_pressure: true, hba1c: false, kidney_function: false, cholesterol: false };

/// A medicine as prescribed: what, and how to take it.
pub(crate) type Prescription = (Code, &'static str);

/// A long-term condition.
pub(crate) struct ChronicSpec {
    pub code: Code,
    pub prevalence_by_age_band: [f64; 5],
    pub female_factor: f64,
    pub male_factor: f64,
    pub youngest_onset_age: u32,
    pub medicines: &'static [Prescription],
    pub reviews: Reviews,
    /// A condition that a specialist mental health service looks after.
    pub severe_mental_illness: bool,
    /// `meta.security` sensitivity code (v3 ActCode) for records about it.
    pub sensitivity: Option<&'static str>,
    /// The hospital specialty that sees people with it in clinic.
    pub specialty: Option<Code>,
}

#[allow(clippy::too_many_arguments)]
const fn chronic(
    code: Code,
    prevalence_by_age_band: [f64; 5],
    female_factor: f64,
    male_factor: f64,
    youngest_onset_age: u32,
    medicines: &'static [Prescription],
    reviews: Reviews,
    specialty: Option<Code>,
) -> ChronicSpec {
    ChronicSpec {
        code,
        prevalence_by_age_band,
        female_factor,
        male_factor,
        youngest_onset_age,
        medicines,
        reviews,
        severe_mental_illness: false,
        sensitivity: None,
        specialty,
    }
}

const fn mental(code: Code, prevalence_by_age_band: [f64; 5], medicines: &'static [Prescription]) -> ChronicSpec {
    ChronicSpec {
        code,
        prevalence_by_age_band,
        female_factor: 1.0,
        male_factor: 1.0,
        youngest_onset_age: 16,
        medicines,
        reviews: BLOOD_PRESSURE_REVIEW,
        severe_mental_illness: true,
        sensitivity: Some("PSY"),
        specialty: None,
    }
}

const ONE_DAILY: &str = "One to be taken each day";
const ONE_TWICE_DAILY: &str = "One to be taken twice a day";
const AS_NEEDED_INHALER: &str = "Two puffs to be inhaled when required";

pub(crate) static CHRONIC_CONDITIONS: &[ChronicSpec] = &[
    chronic(
        sct("38341003", "Hypertensive disorder, systemic arterial"),
        [0.0, 0.03, 0.15, 0.35, 0.55],
        1.0,
        1.1,
        25,
        &[(medicines::AMLODIPINE, ONE_DAILY), (medicines::RAMIPRIL, ONE_DAILY)],
        CARDIOVASCULAR_REVIEW,
        None,
    ),
    chronic(
        sct("44054006", "Diabetes mellitus type 2"),
        [0.0, 0.02, 0.07, 0.14, 0.18],
        0.9,
        1.2,
        25,
        &[(medicines::METFORMIN, ONE_TWICE_DAILY), (medicines::GLICLAZIDE, ONE_TWICE_DAILY)],
        DIABETES_REVIEW,
        Some(encounters::ENDOCRINOLOGY),
    ),
    chronic(
        sct("46635009", "Diabetes mellitus type 1"),
        [0.003, 0.005, 0.005, 0.004, 0.003],
        1.0,
        1.0,
        2,
        &[],
        DIABETES_REVIEW,
        Some(encounters::ENDOCRINOLOGY),
    ),
    chronic(
        sct("195967001", "Asthma"),
        [0.09, 0.08, 0.07, 0.07, 0.07],
        1.1,
        0.9,
        3,
        &[(medicines::SALBUTAMOL, AS_NEEDED_INHALER)],
        NO_REVIEW,
        None,
    ),
    chronic(
        sct("13645005", "Chronic obstructive lung disease"),
        [0.0, 0.002, 0.02, 0.06, 0.08],
        0.9,
        1.1,
        40,
        &[(medicines::SALBUTAMOL, AS_NEEDED_INHALER)],
        BLOOD_PRESSURE_REVIEW,
        Some(encounters::RESPIRATORY),
    ),
    chronic(
        sct("35489007", "Depressive disorder"),
        [0.02, 0.14, 0.15, 0.12, 0.10],
        1.4,
        0.7,
        12,
        &[(medicines::SERTRALINE, ONE_DAILY), (medicines::CITALOPRAM, ONE_DAILY)],
        NO_REVIEW,
        None,
    ),
    chronic(
        sct("197480006", "Anxiety disorder"),
        [0.03, 0.10, 0.08, 0.06, 0.05],
        1.4,
        0.7,
        10,
        &[(medicines::SERTRALINE, ONE_DAILY)],
        NO_REVIEW,
        None,
    ),
    chronic(
        sct("40930008", "Hypothyroidism"),
        [0.001, 0.01, 0.04, 0.06, 0.08],
        1.7,
        0.3,
        16,
        &[(medicines::LEVOTHYROXINE, ONE_DAILY)],
        NO_REVIEW,
        None,
    ),
    chronic(
        sct("49436004", "Atrial fibrillation"),
        [0.0, 0.001, 0.01, 0.05, 0.12],
        0.8,
        1.2,
        40,
        &[(medicines::WARFARIN, "As directed by the anticoagulation clinic"), (medicines::BISOPROLOL, ONE_DAILY)],
        BLOOD_PRESSURE_REVIEW,
        Some(encounters::CARDIOLOGY),
    ),
    chronic(
        sct("433144002", "Chronic kidney disease stage 3"),
        [0.0, 0.002, 0.02, 0.08, 0.20],
        1.1,
        0.9,
        30,
        &[],
        CARDIOVASCULAR_REVIEW,
        Some(encounters::NEPHROLOGY),
    ),
    chronic(
        sct("396275006", "Osteoarthritis"),
        [0.0, 0.01, 0.08, 0.18, 0.30],
        1.2,
        0.8,
        35,
        &[(medicines::PARACETAMOL, "Two to be taken four times a day when required")],
        NO_REVIEW,
        Some(encounters::TRAUMA_ORTHOPAEDICS),
    ),
    chronic(
        sct("414545008", "Ischemic heart disease"),
        [0.0, 0.002, 0.02, 0.07, 0.12],
        0.7,
        1.3,
        35,
        &[(medicines::ATORVASTATIN, "One to be taken at night"), (medicines::ASPIRIN, ONE_DAILY)],
        CARDIOVASCULAR_REVIEW,
        Some(encounters::CARDIOLOGY),
    ),
    chronic(
        sct("52448006", "Dementia"),
        [0.0, 0.0, 0.002, 0.02, 0.12],
        1.2,
        0.8,
        55,
        &[(medicines::DONEPEZIL, "One to be taken at night")],
        NO_REVIEW,
        Some(encounters::NEUROLOGY),
    ),
    chronic(
        sct("84114007", "Heart failure"),
        [0.0, 0.0, 0.005, 0.02, 0.06],
        0.9,
        1.1,
        45,
        &[(medicines::FUROSEMIDE, "One to be taken each morning"), (medicines::BISOPROLOL, ONE_DAILY)],
        CARDIOVASCULAR_REVIEW,
        Some(encounters::CARDIOLOGY),
    ),
    chronic(
        sct("230690007", "Cerebrovascular accident"),
        [0.0, 0.001, 0.008, 0.03, 0.06],
        1.0,
        1.0,
        35,
        &[(medicines::CLOPIDOGREL, ONE_DAILY), (medicines::ATORVASTATIN, "One to be taken at night")],
        CARDIOVASCULAR_REVIEW,
        Some(encounters::NEUROLOGY),
    ),
    chronic(sct("24079001", "Atopic dermatitis"), [0.12, 0.04, 0.02, 0.01, 0.01], 1.0, 1.0, 0, &[], NO_REVIEW, None),
    chronic(sct("84757009", "Epilepsy"), [0.005, 0.007, 0.008, 0.008, 0.008], 1.0, 1.0, 1, &[], NO_REVIEW, None),
    chronic(
        sct("55822004", "Hyperlipidemia"),
        [0.0, 0.02, 0.10, 0.20, 0.20],
        1.0,
        1.0,
        25,
        &[(medicines::ATORVASTATIN, "One to be taken at night")],
        CARDIOVASCULAR_REVIEW,
        None,
    ),
    chronic(
        sct("235595009", "Gastroesophageal reflux disease"),
        [0.005, 0.04, 0.08, 0.10, 0.10],
        1.0,
        1.0,
        14,
        &[(medicines::OMEPRAZOLE, ONE_DAILY), (medicines::LANSOPRAZOLE, ONE_DAILY)],
        NO_REVIEW,
        Some(encounters::GASTROENTEROLOGY),
    ),
    chronic(
        sct("37796009", "Migraine"),
        [0.02, 0.08, 0.08, 0.04, 0.02],
        1.5,
        0.5,
        10,
        &[(medicines::SUMATRIPTAN, "One to be taken at the onset of a migraine")],
        NO_REVIEW,
        None,
    ),
    chronic(sct("9014002", "Psoriasis"), [0.005, 0.02, 0.025, 0.025, 0.02], 1.0, 1.0, 10, &[], NO_REVIEW, None),
    chronic(
        sct("69896004", "Rheumatoid arthritis"),
        [0.0, 0.002, 0.008, 0.015, 0.02],
        1.5,
        0.5,
        20,
        &[],
        NO_REVIEW,
        None,
    ),
    chronic(sct("64859006", "Osteoporosis"), [0.0, 0.0, 0.01, 0.05, 0.12], 1.6, 0.4, 45, &[], NO_REVIEW, None),
    chronic(
        sct("254837009", "Malignant neoplasm of breast"),
        [0.0, 0.001, 0.01, 0.03, 0.04],
        2.0,
        0.0,
        25,
        &[(medicines::ANASTROZOLE, ONE_DAILY)],
        NO_REVIEW,
        Some(encounters::ONCOLOGY),
    ),
    chronic(
        sct("399068003", "Malignant tumor of prostate"),
        [0.0, 0.0, 0.005, 0.04, 0.07],
        0.0,
        2.0,
        45,
        &[(medicines::TAMSULOSIN, ONE_DAILY)],
        NO_REVIEW,
        Some(encounters::ONCOLOGY),
    ),
    chronic(
        sct("363406005", "Malignant tumor of colon"),
        [0.0, 0.0, 0.003, 0.01, 0.015],
        1.0,
        1.0,
        40,
        &[],
        NO_REVIEW,
        Some(encounters::ONCOLOGY),
    ),
    mental(sct("58214004", "Schizophrenia"), [0.0, 0.004, 0.005, 0.004, 0.003], &[(medicines::OLANZAPINE, ONE_DAILY)]),
    mental(
        sct("13746004", "Bipolar disorder"),
        [0.0, 0.006, 0.007, 0.005, 0.003],
        &[(medicines::ARIPIPRAZOLE, ONE_DAILY)],
    ),
    mental(sct("33449004", "Personality disorder"), [0.0, 0.006, 0.004, 0.002, 0.001], &[]),
    mental(sct("72366004", "Eating disorder"), [0.002, 0.004, 0.001, 0.0, 0.0], &[]),
    ChronicSpec {
        sensitivity: Some("SEX"),
        ..chronic(
            sct("105629000", "Chlamydial infection"),
            [0.004, 0.012, 0.002, 0.0, 0.0],
            1.0,
            1.0,
            15,
            &[],
            NO_REVIEW,
            None,
        )
    },
];

/// A short illness seen by the GP and recorded as resolved.
pub(crate) struct AcuteIllness {
    pub code: Code,
    pub youngest_age: u32,
    pub oldest_age: u32,
    pub weight: u32,
    pub antibiotic: Option<Prescription>,
}

const fn acute(
    code: Code,
    youngest_age: u32,
    oldest_age: u32,
    weight: u32,
    antibiotic: Option<Prescription>,
) -> AcuteIllness {
    AcuteIllness { code, youngest_age, oldest_age, weight, antibiotic }
}

const AMOXICILLIN_COURSE: Option<Prescription> =
    Some((medicines::AMOXICILLIN, "One to be taken three times a day for five days"));
const TRIMETHOPRIM_COURSE: Option<Prescription> =
    Some((medicines::TRIMETHOPRIM, "One to be taken twice a day for three days"));

pub(crate) static ACUTE_ILLNESSES: &[AcuteIllness] = &[
    acute(sct("65363002", "Otitis media"), 0, 12, 30, AMOXICILLIN_COURSE),
    acute(sct("54150009", "Upper respiratory infection"), 0, 100, 40, None),
    acute(sct("43878008", "Streptococcal sore throat"), 3, 40, 12, AMOXICILLIN_COURSE),
    acute(sct("50417007", "Lower respiratory tract infection"), 0, 100, 15, AMOXICILLIN_COURSE),
    acute(sct("10509002", "Acute bronchitis"), 5, 100, 10, None),
    acute(sct("36971009", "Sinusitis"), 12, 100, 10, None),
    acute(sct("9826008", "Conjunctivitis"), 0, 100, 10, None),
    acute(sct("68566005", "Urinary tract infectious disease"), 2, 100, 15, TRIMETHOPRIM_COURSE),
    acute(sct("38822007", "Cystitis"), 16, 100, 8, TRIMETHOPRIM_COURSE),
    acute(sct("44465007", "Sprain of ankle"), 8, 70, 8, None),
    acute(sct("279039007", "Low back pain"), 18, 100, 15, None),
    acute(sct("25064002", "Headache"), 8, 100, 8, None),
    acute(sct("271807003", "Eruption of skin"), 0, 100, 8, None),
    acute(sct("25374005", "Gastroenteritis"), 0, 100, 10, None),
    acute(sct("128045006", "Cellulitis"), 18, 100, 5, AMOXICILLIN_COURSE),
    acute(sct("840539006", "Disease caused by severe acute respiratory syndrome coronavirus 2"), 0, 100, 8, None),
    acute(sct("6142004", "Influenza"), 0, 100, 6, None),
];

/// A reason to be in hospital, as an emergency or on a waiting list.
pub(crate) struct Admission {
    pub reason: Code,
    pub youngest_age: u32,
    pub oldest_age: u32,
    pub weight_by_age_band: [u32; 5],
    pub female_only: bool,
    pub emergency: bool,
    pub procedure: Option<Code>,
    pub imaging: Option<Code>,
    pub specialty: Code,
    pub longest_stay_days: u32,
}

#[allow(clippy::too_many_arguments)]
const fn admission(
    reason: Code,
    youngest_age: u32,
    oldest_age: u32,
    weight_by_age_band: [u32; 5],
    emergency: bool,
    procedure: Option<Code>,
    imaging: Option<Code>,
    specialty: Code,
    longest_stay_days: u32,
) -> Admission {
    Admission {
        reason,
        youngest_age,
        oldest_age,
        weight_by_age_band,
        female_only: false,
        emergency,
        procedure,
        imaging,
        specialty,
        longest_stay_days,
    }
}

pub(crate) const CHEST_X_RAY: Code = sct("399208008", "Plain chest X-ray");
pub(crate) const CT_SCAN: Code = sct("77477000", "Computerized axial tomography");
pub(crate) const ULTRASOUND: Code = sct("16310003", "Diagnostic ultrasonography");
pub(crate) const ELECTROCARDIOGRAM: Code = sct("29303009", "Electrocardiographic procedure");
pub(crate) const X_RAY: Code = sct("363680008", "Radiographic imaging procedure");

pub(crate) static ADMISSIONS: &[Admission] = &[
    admission(
        sct("233604007", "Pneumonia"),
        0,
        100,
        [2, 2, 4, 10, 16],
        true,
        None,
        Some(CHEST_X_RAY),
        encounters::RESPIRATORY,
        9,
    ),
    admission(
        sct("5913000", "Fracture of neck of femur"),
        50,
        100,
        [0, 0, 1, 4, 14],
        true,
        Some(sct("52734007", "Total replacement of hip")),
        Some(X_RAY),
        encounters::TRAUMA_ORTHOPAEDICS,
        14,
    ),
    admission(
        sct("29857009", "Chest pain"),
        18,
        100,
        [0, 4, 8, 8, 6],
        true,
        Some(ELECTROCARDIOGRAM),
        None,
        encounters::CARDIOLOGY,
        2,
    ),
    admission(
        sct("68566005", "Urinary tract infectious disease"),
        0,
        100,
        [2, 1, 2, 4, 10],
        true,
        None,
        None,
        encounters::NEPHROLOGY,
        5,
    ),
    admission(
        sct("195951007", "Acute exacerbation of chronic obstructive airways disease"),
        45,
        100,
        [0, 0, 2, 6, 6],
        true,
        None,
        Some(CHEST_X_RAY),
        encounters::RESPIRATORY,
        7,
    ),
    admission(
        sct("230690007", "Cerebrovascular accident"),
        40,
        100,
        [0, 0, 1, 4, 7],
        true,
        None,
        Some(CT_SCAN),
        encounters::NEUROLOGY,
        14,
    ),
    admission(
        sct("74400008", "Appendicitis"),
        5,
        70,
        [6, 6, 3, 1, 0],
        true,
        Some(sct("80146002", "Appendectomy")),
        Some(ULTRASOUND),
        encounters::GASTROENTEROLOGY,
        3,
    ),
    admission(
        sct("235919008", "Cholelithiasis"),
        20,
        90,
        [0, 4, 6, 4, 2],
        false,
        Some(sct("45595009", "Laparoscopic cholecystectomy")),
        Some(ULTRASOUND),
        encounters::GASTROENTEROLOGY,
        2,
    ),
    admission(
        sct("396275006", "Osteoarthritis"),
        50,
        95,
        [0, 0, 3, 8, 5],
        false,
        Some(sct("609588000", "Total knee replacement")),
        None,
        encounters::TRAUMA_ORTHOPAEDICS,
        4,
    ),
    admission(
        sct("128045006", "Cellulitis"),
        18,
        100,
        [0, 2, 3, 3, 4],
        true,
        None,
        None,
        encounters::TRAUMA_ORTHOPAEDICS,
        4,
    ),
    admission(sct("4120002", "Bronchiolitis"), 0, 1, [12, 0, 0, 0, 0], true, None, None, encounters::PAEDIATRICS, 3),
    admission(sct("90176007", "Tonsillitis"), 2, 30, [6, 2, 0, 0, 0], true, None, None, encounters::PAEDIATRICS, 2),
    admission(
        sct("25374005", "Gastroenteritis"),
        0,
        100,
        [6, 2, 1, 2, 3],
        true,
        None,
        None,
        encounters::GASTROENTEROLOGY,
        2,
    ),
    admission(
        sct("84114007", "Heart failure"),
        50,
        100,
        [0, 0, 1, 3, 6],
        true,
        None,
        Some(CHEST_X_RAY),
        encounters::CARDIOLOGY,
        8,
    ),
    admission(
        sct("161898004", "Falls"),
        60,
        100,
        [0, 0, 0, 3, 10],
        true,
        None,
        Some(CT_SCAN),
        encounters::TRAUMA_ORTHOPAEDICS,
        5,
    ),
    admission(
        sct("193570009", "Cataract"),
        50,
        100,
        [0, 0, 1, 6, 6],
        false,
        Some(sct("54885007", "Cataract extraction")),
        None,
        encounters::OPHTHALMOLOGY,
        1,
    ),
    admission(
        sct("405729008", "Blood in stool"),
        40,
        90,
        [0, 0, 4, 5, 2],
        false,
        Some(sct("73761001", "Colonoscopy")),
        None,
        encounters::GASTROENTEROLOGY,
        1,
    ),
    Admission {
        female_only: true,
        ..admission(
            sct("48782003", "Delivery normal"),
            18,
            45,
            [0, 20, 2, 0, 0],
            true,
            Some(sct("48782003", "Delivery normal")),
            None,
            encounters::OBSTETRICS_GYNAECOLOGY,
            2,
        )
    },
    Admission {
        female_only: true,
        ..admission(
            sct("11466000", "Cesarean section"),
            18,
            45,
            [0, 8, 1, 0, 0],
            false,
            Some(sct("11466000", "Cesarean section")),
            None,
            encounters::OBSTETRICS_GYNAECOLOGY,
            4,
        )
    },
];

/// One laboratory test: its LOINC code, unit and the usual values.
pub(crate) struct LabTest {
    pub code: Code,
    pub unit: &'static str,
    pub ucum: &'static str,
    pub mean: f64,
    pub standard_deviation: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

/// A laboratory panel reported as one DiagnosticReport.
pub(crate) struct LabPanel {
    pub codes: &'static [Code],
    pub service: (&'static str, &'static str),
    pub tests: &'static [LabTest],
}

const fn test(
    code: Code,
    unit: &'static str,
    ucum: &'static str,
    mean: f64,
    sd: f64,
    low: Option<f64>,
    high: Option<f64>,
) -> LabTest {
    LabTest { code, unit, ucum, mean, standard_deviation: sd, low, high }
}

pub(crate) static LAB_PANELS: &[LabPanel] = &[
    LabPanel {
        codes: &[loinc("58410-2", "CBC panel - Blood by Automated count"), sct("26604007", "Complete blood count")],
        service: ("HM", "Hematology"),
        tests: &[
            test(
                loinc("718-7", "Hemoglobin [Mass/volume] in Blood"),
                "g/L",
                "g/L",
                135.0,
                15.0,
                Some(115.0),
                Some(170.0),
            ),
            test(
                loinc("6690-2", "Leukocytes [#/volume] in Blood by Automated count"),
                "10*9/L",
                "10*9/L",
                7.8,
                2.6,
                Some(4.0),
                Some(11.0),
            ),
            test(
                loinc("777-3", "Platelets [#/volume] in Blood by Automated count"),
                "10*9/L",
                "10*9/L",
                265.0,
                70.0,
                Some(150.0),
                Some(400.0),
            ),
        ],
    },
    LabPanel {
        codes: &[loinc("24362-6", "Renal function 2000 panel - Serum or Plasma")],
        service: ("CH", "Chemistry"),
        tests: &[
            test(
                loinc("2951-2", "Sodium [Moles/volume] in Serum or Plasma"),
                "mmol/L",
                "mmol/L",
                138.5,
                3.5,
                Some(133.0),
                Some(146.0),
            ),
            test(
                loinc("2823-3", "Potassium [Moles/volume] in Serum or Plasma"),
                "mmol/L",
                "mmol/L",
                4.3,
                0.5,
                Some(3.5),
                Some(5.3),
            ),
            test(
                loinc("14682-9", "Creatinine [Moles/volume] in Serum or Plasma"),
                "umol/L",
                "umol/L",
                82.0,
                25.0,
                Some(45.0),
                Some(110.0),
            ),
        ],
    },
    LabPanel {
        codes: &[loinc("24325-3", "Hepatic function 2000 panel - Serum or Plasma")],
        service: ("CH", "Chemistry"),
        tests: &[
            test(
                loinc("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma"),
                "U/L",
                "U/L",
                26.0,
                14.0,
                None,
                Some(40.0),
            ),
            test(
                loinc("14631-6", "Bilirubin.total [Moles/volume] in Serum or Plasma"),
                "umol/L",
                "umol/L",
                11.0,
                6.0,
                None,
                Some(21.0),
            ),
            test(
                loinc("1751-7", "Albumin [Mass/volume] in Serum or Plasma"),
                "g/L",
                "g/L",
                39.0,
                4.5,
                Some(35.0),
                Some(50.0),
            ),
        ],
    },
    LabPanel {
        codes: &[loinc("1988-5", "C reactive protein [Mass/volume] in Serum or Plasma")],
        service: ("CH", "Chemistry"),
        tests: &[test(
            loinc("1988-5", "C reactive protein [Mass/volume] in Serum or Plasma"),
            "mg/L",
            "mg/L",
            20.0,
            35.0,
            None,
            Some(5.0),
        )],
    },
];
