//! Identity: NHS numbers, each organisation's own patient identifiers, and the truth of which source patient records
//! are the same person.
//!
//! Each source's copy of a person's demographics passes through [`recorded_demographics`], which adds that source's
//! identity errors (`identity_errors.rs`), drawn from the per-source identity stream so that they change nothing else
//! in the generated data. The truth itself is never altered.

use std::sync::OnceLock;

use kmcr_fhir::NhsNumber;

use crate::SynthConfig;
use crate::date::Date;
use crate::identity_errors::{IdentityError, add_identity_errors, identity_error_rates};
use crate::organisations::{Organisation, OrganisationKind};
use crate::person::{Address, Demographics, Gender, Person, Source};
use crate::rng::{Rng, hash_words, permute_below, stream};

/// The most people of one seed who have an NHS number: the numbers 999 000 000x to 999 999 999x that have a check
/// digit. People past them have none (a region's records hold people never registered with the NHS: visitors from
/// abroad, some children in care, people known to a council only).
pub fn max_people_with_nhs_numbers() -> usize {
    valid_test_range_middles().len()
}

/// The six digits after 999 of every NHS number in the test range whose check value is not 10.
fn valid_test_range_middles() -> &'static [u32] {
    static MIDDLES: OnceLock<Vec<u32>> = OnceLock::new();
    MIDDLES.get_or_init(|| {
        (0..1_000_000u32)
            .filter(|middle| NhsNumber::from_first_nine_digits(first_nine_digits(*middle)).is_some())
            .collect()
    })
}

fn first_nine_digits(middle: u32) -> [u8; 9] {
    let mut digits = [9u8; 9];
    let mut rest = middle;
    for digit in digits[3..].iter_mut().rev() {
        *digit = (rest % 10) as u8;
        rest /= 10;
    }
    digits
}

/// The person's NHS number: a keyed permutation of the valid test-range numbers, so that no two people of one seed
/// share a number and neighbouring people have unrelated numbers; none once the numbers run out.
pub(crate) fn nhs_number(seed: u64, person_idx: usize) -> Option<NhsNumber> {
    let middles = valid_test_range_middles();
    if person_idx >= middles.len() {
        return None;
    }
    let key = hash_words(&[seed, stream::NHS_NUMBER_PERMUTATION]);
    let middle = middles[permute_below(person_idx as u64, middles.len() as u64, 10, key) as usize];
    Some(NhsNumber::from_first_nine_digits(first_nine_digits(middle)).expect("only valid middles are kept"))
}

/// Seven digits, unique to the person within one organisation, after the organisation's prefix (`MTW0471123`).
pub(crate) fn local_patient_id(seed: u64, source: &Source, person_idx: usize) -> String {
    const N_LOCAL_IDS: u64 = 10_000_000;
    assert!((person_idx as u64) < N_LOCAL_IDS);
    let key = hash_words(&[seed, stream::LOCAL_ID_PERMUTATION, source.organisation_idx as u64]);
    let number = permute_below(person_idx as u64, N_LOCAL_IDS, 12, key);
    let mut id = String::with_capacity(source.organisation.patient_id_prefix.len() + 7);
    id.push_str(source.organisation.patient_id_prefix);
    let digits = format!("{number:07}");
    id.push_str(&digits);
    id
}

/// How sure a source is of the NHS number it holds (UK Core England verification status).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NhsNumberStatus {
    /// 01: number present and verified against the national demographics service.
    Verified,
    /// The number is recorded with no verification status.
    Unverified,
}

/// One organisation's own patient record for a person: its identifier and what it recorded.
#[derive(Clone, Debug)]
pub struct SourcePatientRecord {
    pub ods_code: String,
    pub identifier_system: String,
    pub identifier_value: String,
    /// The NHS number the source holds, if any (ambulance and social care records sometimes have none).
    pub nhs_number: Option<NhsNumber>,
    pub nhs_number_status: NhsNumberStatus,
    /// The person as this source recorded them, errors included: what its Patient resource says.
    pub demographics: RecordedDemographics,
    /// The errors this source made, in the order they were made; empty when it recorded the truth exactly.
    pub identity_errors: Vec<IdentityError>,
}

/// Who a person is as one source recorded it: the truth with that source's errors, and without what it never took
/// down.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RecordedDemographics {
    pub title: Option<String>,
    /// First name, then middle names; never empty, though a name may be a single initial.
    pub given_names: Vec<String>,
    pub family_name: String,
    pub gender: Gender,
    pub birth_date: Option<Date>,
    pub address: RecordedAddress,
    pub mobile_phone: Option<String>,
    pub home_phone: Option<String>,
}

/// A postal address as a source recorded it, perhaps without its postcode.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RecordedAddress {
    pub lines: Vec<String>,
    pub city: String,
    pub district: String,
    pub postal_code: Option<String>,
}

impl From<&Demographics> for RecordedDemographics {
    /// The truth recorded exactly.
    fn from(truth: &Demographics) -> RecordedDemographics {
        RecordedDemographics {
            title: truth.title.clone(),
            given_names: truth.given_names.clone(),
            family_name: truth.family_name.clone(),
            gender: truth.gender,
            birth_date: Some(truth.birth_date),
            address: RecordedAddress::from(&truth.address),
            mobile_phone: truth.mobile_phone.clone(),
            home_phone: truth.home_phone.clone(),
        }
    }
}

impl From<&Address> for RecordedAddress {
    fn from(address: &Address) -> RecordedAddress {
        RecordedAddress {
            lines: address.lines.clone(),
            city: address.city.clone(),
            district: address.district.clone(),
            postal_code: Some(address.postal_code.clone()),
        }
    }
}

/// The truth about one person: who they are and which source patient records are theirs.
#[derive(Clone, Debug)]
pub struct PersonTruth {
    pub person_idx: usize,
    /// `None` for the people past the test range's numbers ([`max_people_with_nhs_numbers`]).
    pub nhs_number: Option<NhsNumber>,
    /// The person's real details, as the national register holds them; no source's error touches them.
    pub demographics: Demographics,
    /// The person's twin, when they are one of twins and the twin is among the people generated: same family name,
    /// birth date, address and home phone, another first name and NHS number.
    pub twin_person_idx: Option<usize>,
    /// Every source patient record of the person, in the order of [`crate::person_bundles`].
    pub source_records: Vec<SourcePatientRecord>,
}

pub(crate) fn person_truth(config: &SynthConfig, person: &Person) -> PersonTruth {
    PersonTruth {
        person_idx: person.idx,
        nhs_number: person.nhs_number,
        demographics: person.demographics.clone(),
        twin_person_idx: person.twin_person_idx.filter(|twin_idx| *twin_idx < config.n_people),
        source_records: person.sources.iter().map(|source| recorded_patient(person, source)).collect(),
    }
}

/// What one source holds about the person's identity.
pub(crate) fn recorded_patient(person: &Person, source: &Source) -> SourcePatientRecord {
    let mut rng = Rng::from_words(&[person.seed, person.idx as u64, stream::IDENTITY, source.organisation_idx as u64]);
    let (nhs_number, nhs_number_status) = recorded_nhs_number(&mut rng, person, source.organisation);
    let (demographics, identity_errors) = recorded_demographics(&mut rng, person, source.organisation);
    SourcePatientRecord {
        ods_code: source.organisation.ods_code.to_string(),
        identifier_system: source.organisation.patient_id_system.to_string(),
        identifier_value: local_patient_id(person.seed, source, person.idx),
        nhs_number,
        nhs_number_status,
        demographics,
        identity_errors,
    }
}

/// NHS and hospice records carry a verified NHS number; a crew at the roadside or a council case worker often cannot.
fn recorded_nhs_number(
    rng: &mut Rng,
    person: &Person,
    organisation: &Organisation,
) -> (Option<NhsNumber>, NhsNumberStatus) {
    let (missing_chance, unverified_chance) = match organisation.kind {
        OrganisationKind::AmbulanceTrust => (0.25, 0.2),
        OrganisationKind::LocalAuthority => (0.1, 0.15),
        _ => (0.0, 0.0),
    };
    // Drawn even for a person with no number, so that the errors drawn next from this stream stay the same.
    let roll = rng.unit();
    let Some(number) = person.nhs_number else { return (None, NhsNumberStatus::Unverified) };
    if roll < missing_chance {
        (None, NhsNumberStatus::Unverified)
    } else if roll < missing_chance + unverified_chance {
        (Some(number), NhsNumberStatus::Unverified)
    } else {
        (Some(number), NhsNumberStatus::Verified)
    }
}

/// A source's copy of the person's demographics, with the errors that kind of source makes, each drawn independently
/// from this source's identity stream.
pub(crate) fn recorded_demographics(
    rng: &mut Rng,
    person: &Person,
    organisation: &Organisation,
) -> (RecordedDemographics, Vec<IdentityError>) {
    let mut recorded = RecordedDemographics::from(&person.demographics);
    let errors = add_identity_errors(rng, person, identity_error_rates(organisation.kind), &mut recorded);
    (recorded, errors)
}

impl SynthConfig {
    /// Checks that `person_idx` names one of this configuration's people.
    pub(crate) fn assert_person(&self, person_idx: usize) {
        assert!(person_idx < self.n_people, "person {person_idx} is outside the {} people generated", self.n_people);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhs_numbers_are_distinct_valid_test_numbers() {
        let mut seen = std::collections::HashSet::new();
        for person_idx in 0..20_000 {
            let number = nhs_number(7, person_idx).expect("the first people have NHS numbers");
            assert!(number.is_test_range());
            assert!(NhsNumber::parse(&number.as_digits()).is_ok());
            assert!(seen.insert(number));
        }
        assert!(max_people_with_nhs_numbers() > 900_000);
        assert_eq!(nhs_number(7, max_people_with_nhs_numbers() - 1).map(|number| number.is_test_range()), Some(true));
        assert_eq!(nhs_number(7, max_people_with_nhs_numbers()), None);
    }

    #[test]
    fn recording_a_person_leaves_their_truth_untouched() {
        let config = SynthConfig { seed: 11, n_people: 2_000 };
        for person_idx in 0..2_000 {
            let person = Person::generate(&config, person_idx);
            let before = person.demographics.clone();
            for source in &person.sources {
                recorded_patient(&person, source);
            }
            assert_eq!(person.demographics, before, "person {person_idx}");
            assert_eq!(person_truth(&config, &person).demographics, before);
        }
    }
}
