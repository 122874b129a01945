//! A source's patient record as the matcher sees it: the demographics as sent, then prepared once for comparison.

use kmcr_fhir::NhsNumber;

use crate::names::{is_title, soundex, variant_groups};
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
    /// The first word of the given names, titles left out.
    pub forename: Option<Box<str>>,
    /// The given names' other words, in order: middle names (a person may go by one of them).
    pub middle_names: Vec<Box<str>>,
    pub forename_groups: &'static [u16],
    pub forename_soundex: Option<[u8; 4]>,
    pub surname: Option<Box<str>>,
    pub surname_soundex: Option<[u8; 4]>,
    pub birth_date: Option<BirthDate>,
    /// A whole birth date as `YYYYMMDD`, for how common it is (a placeholder such as the first of January is common).
    pub birth_date_text: Option<Box<str>>,
    pub sex: Option<Sex>,
    pub postcode: Option<Box<str>>,
    pub address_line: Option<Box<str>>,
    pub locality: Option<Box<str>>,
    pub phones: Vec<Box<str>>,
}

impl PreparedRecord {
    pub fn new(demographics: &Demographics) -> PreparedRecord {
        let (mut given_words, surname) = names(demographics);
        let middle_names = given_words.split_off(given_words.len().min(1));
        let forename = given_words.pop();
        let birth_date = demographics.birth_date.as_deref().and_then(BirthDate::parse);
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
            middle_names,
            surname_soundex: surname.as_deref().and_then(soundex),
            surname,
            birth_date,
            birth_date_text: birth_date
                .and_then(|date| date.digits())
                .map(|digits| String::from_utf8_lossy(&digits).into_owned().into_boxed_str()),
            sex: demographics.sex,
            postcode: demographics.postcode.as_deref().and_then(normalise::postcode),
            address_line: demographics.address_line.as_deref().and_then(normalise::words),
            locality: demographics.locality.as_deref().and_then(normalise::words),
            phones: demographics.phones.iter().filter_map(|phone| normalise::phone(phone)).collect(),
        }
    }

    /// The record's only name, given or family, when it has just one: some systems record a sole name in one field,
    /// some in the other.
    pub fn sole_name(&self) -> Option<&str> {
        match (&self.forename, &self.surname) {
            (Some(name), None) | (None, Some(name)) => Some(name),
            _ => None,
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

/// The given names as words, leading titles left out, and the family name. A whole name typed into the only given-name
/// field with no family name (`H. Nicholson`) has its last word taken as the family name.
fn names(demographics: &Demographics) -> (Vec<Box<str>>, Option<Box<str>>) {
    let mut given_words: Vec<Box<str>> = demographics
        .given_names
        .iter()
        .filter_map(|name| normalise::name(name))
        .flat_map(|name| name.split(' ').map(Box::from).collect::<Vec<_>>())
        .skip_while(|word| is_title(word))
        .collect();
    let mut family_name = demographics.family_name.as_deref().and_then(normalise::name);
    let whole_name_in_given_field = family_name.is_none()
        && demographics.given_names.len() == 1
        && given_words.len() >= 2
        && given_words.last().is_some_and(|word| word.len() >= 2);
    if whole_name_in_given_field {
        family_name = given_words.pop();
    }
    (given_words, family_name)
}
