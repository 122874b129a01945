//! A source's patient record as the matcher sees it: the demographics as sent, then prepared once for comparison.

use kmcr_fhir::NhsNumber;

use crate::names::{soundex, variant_groups};
use crate::normalise::{self, BirthDate};

/// Administrative sex as recorded (unknown and other values are treated as missing).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// FHIR `male`/`female`, HL7 v2 `M`/`F`, and the words.
    pub fn parse(raw: &str) -> Option<Sex> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "male" | "m" => Some(Sex::Male),
            "female" | "f" => Some(Sex::Female),
            _ => None,
        }
    }
}

/// The demographics of one source patient record, as sent. Every field may be missing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Demographics {
    /// A valid NHS number, and whether the source verified it against the national service (status 01).
    pub nhs_number: Option<NhsNumber>,
    pub nhs_number_verified: bool,
    /// Another identifier shared across the sources of one data set (FEBRL's `soc_sec_id`): compared, never trusted.
    pub other_identifier: Option<String>,
    /// First name, then middle names.
    pub given_names: Vec<String>,
    pub family_name: Option<String>,
    pub birth_date: Option<String>,
    pub sex: Option<Sex>,
    pub postcode: Option<String>,
    /// House number and street.
    pub address_line: Option<String>,
    /// Town, suburb or place.
    pub locality: Option<String>,
    pub phones: Vec<String>,
}

/// Demographics normalised once, with the derived keys that blocking and comparison use.
#[derive(Clone, Debug)]
pub struct PreparedRecord {
    pub nhs_number: Option<NhsNumber>,
    pub nhs_number_verified: bool,
    /// The NHS number's digits, or the other identifier.
    pub identifier: Option<Box<str>>,
    pub forename: Option<Box<str>>,
    pub forename_groups: &'static [u16],
    pub forename_soundex: Option<[u8; 4]>,
    pub surname: Option<Box<str>>,
    pub surname_soundex: Option<[u8; 4]>,
    pub birth_date: Option<BirthDate>,
    pub sex: Option<Sex>,
    pub postcode: Option<Box<str>>,
    pub address_line: Option<Box<str>>,
    pub locality: Option<Box<str>>,
    pub phones: Vec<Box<str>>,
}

impl PreparedRecord {
    pub fn new(demographics: &Demographics) -> PreparedRecord {
        let forename = demographics.given_names.first().and_then(|name| normalise::name(name));
        let surname = demographics.family_name.as_deref().and_then(normalise::name);
        let identifier = match (&demographics.nhs_number, &demographics.other_identifier) {
            (Some(number), _) => Some(number.as_digits().into_boxed_str()),
            (None, Some(other)) => normalise::digits(other),
            (None, None) => None,
        };
        PreparedRecord {
            nhs_number: demographics.nhs_number,
            nhs_number_verified: demographics.nhs_number.is_some() && demographics.nhs_number_verified,
            identifier,
            forename_groups: forename.as_deref().map_or(&[], variant_groups),
            forename_soundex: forename.as_deref().and_then(soundex),
            forename,
            surname_soundex: surname.as_deref().and_then(soundex),
            surname,
            birth_date: demographics.birth_date.as_deref().and_then(BirthDate::parse),
            sex: demographics.sex,
            postcode: demographics.postcode.as_deref().and_then(normalise::postcode),
            address_line: demographics.address_line.as_deref().and_then(normalise::words),
            locality: demographics.locality.as_deref().and_then(normalise::words),
            phones: demographics.phones.iter().filter_map(|phone| normalise::phone(phone)).collect(),
        }
    }

    /// True when both records hold valid NHS numbers and they differ: such records are never linked automatically.
    pub fn nhs_numbers_conflict(&self, other: &PreparedRecord) -> bool {
        matches!((self.nhs_number, other.nhs_number), (Some(first), Some(second)) if first != second)
    }

    /// True when both records hold the same NHS number, verified by both sources.
    pub fn same_verified_nhs_number(&self, other: &PreparedRecord) -> bool {
        self.nhs_number_verified && other.nhs_number_verified && self.nhs_number == other.nhs_number
    }
}
