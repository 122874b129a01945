//! Field-by-field comparison of two records into levels that know the errors real records carry: typing slips,
//! nicknames, first and last names swapped, day and month transposed, a move within the area, missing values.
//!
//! A pair's comparison is one level per field, most agreeing first; [`MISSING`] when either record lacks the value,
//! which then counts for nothing either way.

mod dates;
mod names;

use strsim::{jaro_winkler, osa_distance};

use crate::normalise::{postcode_area, postcode_district, postcode_sector};
use crate::record::PreparedRecord;
use dates::compare_birth_date;
use names::compare_names;
pub use names::{FORENAME_DIFFERENT, SURNAME_CLOSE};

/// The level of a field that either record lacks.
pub const MISSING: u8 = u8::MAX;

#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Field {
    Identifier,
    Forename,
    Surname,
    BirthDate,
    Sex,
    Postcode,
    AddressLine,
    Locality,
    Phone,
    /// The town of two records whose postcodes share the area and no more: a separate field, since within one area a
    /// shared town is far commoner among strangers than it is across the country. Its agreement is not weighed by how
    /// common the town is across the whole population: that share says how often strangers anywhere share it, not
    /// strangers within one area, and weighing by it counted a town that is rare nationally but shared by everyone in
    /// its area as strong evidence (two namesakes' families from one district linked on it).
    LocalityWithinPostcodeArea,
}

pub const N_FIELDS: usize = 10;

/// What each field is called and what its levels mean, in level order.
pub struct FieldSpec {
    pub field: Field,
    pub name: &'static str,
    pub levels: &'static [&'static str],
    /// Exact agreement is weighed by how common the value is (a shared `smith` says less than a shared `ozturk`).
    pub term_frequency_adjusted: bool,
}

pub const FIELDS: [FieldSpec; N_FIELDS] = [
    FieldSpec {
        field: Field::Identifier,
        name: "identifier",
        levels: &["exact", "one slip", "different"],
        term_frequency_adjusted: false,
    },
    FieldSpec {
        field: Field::Forename,
        name: "forename",
        levels: &[
            "exact",
            "swapped with surname",
            "name variant",
            "close spelling",
            "one's first name is the other's middle name",
            "similar or initial",
            "different",
        ],
        term_frequency_adjusted: true,
    },
    FieldSpec {
        field: Field::Surname,
        name: "surname",
        levels: &[
            "exact",
            "close spelling",
            "one's family name is the other's middle name",
            "sounds alike",
            "similar",
            "different",
        ],
        term_frequency_adjusted: true,
    },
    FieldSpec {
        field: Field::BirthDate,
        name: "birth date",
        levels: &[
            "exact",
            "day and month transposed",
            "one digit slip",
            "part known, year and month or day agree",
            "same year and month",
            "same year",
            "different",
        ],
        term_frequency_adjusted: true,
    },
    FieldSpec { field: Field::Sex, name: "sex", levels: &["same", "different"], term_frequency_adjusted: false },
    FieldSpec {
        field: Field::Postcode,
        name: "postcode",
        levels: &["exact", "same sector", "same district", "same area", "different"],
        term_frequency_adjusted: true,
    },
    FieldSpec {
        field: Field::AddressLine,
        name: "address",
        levels: &["exact", "close", "different"],
        term_frequency_adjusted: false,
    },
    FieldSpec {
        field: Field::Locality,
        name: "locality (postcodes differ or missing)",
        levels: &["exact", "close", "different"],
        term_frequency_adjusted: true,
    },
    FieldSpec {
        field: Field::Phone,
        name: "phone",
        levels: &["shared number", "different"],
        term_frequency_adjusted: false,
    },
    FieldSpec {
        field: Field::LocalityWithinPostcodeArea,
        name: "locality (postcodes in one area)",
        levels: &["exact", "close", "different"],
        term_frequency_adjusted: false,
    },
];

/// The level of each field for one pair of records, in [`FIELDS`] order.
pub type Comparison = [u8; N_FIELDS];

pub fn compare(first: &PreparedRecord, second: &PreparedRecord) -> Comparison {
    let (forename, surname) = compare_names(first, second);
    let (postcode, locality, locality_within_area) = compare_place(first, second);
    [
        compare_identifier(first.identifier.as_deref(), second.identifier.as_deref()),
        forename,
        surname,
        compare_birth_date(first.birth_date, second.birth_date),
        match (first.sex, second.sex) {
            (Some(a), Some(b)) => u8::from(a != b),
            _ => MISSING,
        },
        postcode,
        compare_address_line(first.address_line.as_deref(), second.address_line.as_deref()),
        locality,
        compare_phones(&first.phones, &second.phones),
        locality_within_area,
    ]
}

fn compare_identifier(first: Option<&str>, second: Option<&str>) -> u8 {
    let (Some(first), Some(second)) = (first, second) else { return MISSING };
    if first == second {
        0
    } else if first.len().abs_diff(second.len()) <= 1 && osa_distance(first, second) <= 1 {
        1
    } else {
        2
    }
}

const POSTCODE_SAME_DISTRICT: u8 = 2;
const POSTCODE_SAME_AREA: u8 = 3;

/// The postcode and town levels, the town in one of two fields by how far the postcodes agree. The two are nested
/// facts about one place: postcodes agreeing to the district name the town, which then says nothing more (counting it
/// would weigh one fact twice); postcodes sharing only the area make a shared town far likelier among strangers than
/// elsewhere, so the town is weighed there by its own m and u.
fn compare_place(first: &PreparedRecord, second: &PreparedRecord) -> (u8, u8, u8) {
    let postcode = compare_postcode(first.postcode.as_deref(), second.postcode.as_deref());
    if postcode <= POSTCODE_SAME_DISTRICT {
        return (postcode, MISSING, MISSING);
    }
    let locality = compare_close_words(first.locality.as_deref(), second.locality.as_deref());
    if postcode == POSTCODE_SAME_AREA { (postcode, MISSING, locality) } else { (postcode, locality, MISSING) }
}

fn compare_postcode(first: Option<&str>, second: Option<&str>) -> u8 {
    let (Some(first), Some(second)) = (first, second) else { return MISSING };
    if first == second {
        0
    } else if postcode_sector(first).is_some() && postcode_sector(first) == postcode_sector(second) {
        1
    } else if postcode_district(first).is_some() && postcode_district(first) == postcode_district(second) {
        2
    } else if postcode_area(first).is_some() && postcode_area(first) == postcode_area(second) {
        3
    } else {
        4
    }
}

/// Close when the wording is close and any house numbers agree (12 and 14 High Street are neighbours, not one home).
fn compare_address_line(first: Option<&str>, second: Option<&str>) -> u8 {
    let (Some(first), Some(second)) = (first, second) else { return MISSING };
    if first == second {
        return 0;
    }
    let numbers_differ = matches!((house_number(first), house_number(second)), (Some(a), Some(b)) if a != b);
    if !numbers_differ && jaro_winkler(first, second) >= 0.9 { 1 } else { 2 }
}

fn house_number(address_line: &str) -> Option<&str> {
    address_line.split(' ').find(|word| word.bytes().any(|byte| byte.is_ascii_digit()))
}

fn compare_close_words(first: Option<&str>, second: Option<&str>) -> u8 {
    let (Some(first), Some(second)) = (first, second) else { return MISSING };
    if first == second {
        0
    } else if jaro_winkler(first, second) >= 0.9 {
        1
    } else {
        2
    }
}

fn compare_phones(first: &[Box<str>], second: &[Box<str>]) -> u8 {
    if first.is_empty() || second.is_empty() {
        return MISSING;
    }
    u8::from(!first.iter().any(|phone| second.contains(phone)))
}

/// The value whose frequency weighs an exact agreement on `field`, if the field is adjusted and present.
pub fn term_value(record: &PreparedRecord, field: Field) -> Option<&str> {
    match field {
        Field::Forename => record.forename.as_deref(),
        Field::Surname => record.surname.as_deref(),
        Field::BirthDate => record.birth_date_text.as_deref(),
        Field::Postcode => record.postcode.as_deref(),
        Field::Locality => record.locality.as_deref(),
        _ => None,
    }
}
