//! Field-by-field comparison of two records into levels that know the errors real records carry: typing slips,
//! nicknames, first and last names swapped, day and month transposed, a move within the area, missing values.
//!
//! A pair's comparison is one level per field, most agreeing first; [`MISSING`] when either record lacks the value,
//! which then counts for nothing either way.

use strsim::{jaro_winkler, osa_distance};

use crate::names::are_variants;
use crate::normalise::{BirthDate, postcode_area, postcode_district, postcode_sector};
use crate::record::PreparedRecord;

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
}

pub const N_FIELDS: usize = 9;

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
        levels: &["exact", "swapped with surname", "name variant", "close spelling", "similar or initial", "different"],
        term_frequency_adjusted: true,
    },
    FieldSpec {
        field: Field::Surname,
        name: "surname",
        levels: &["exact", "close spelling", "similar", "different"],
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
        term_frequency_adjusted: false,
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
        name: "locality",
        levels: &["exact", "close", "different"],
        term_frequency_adjusted: true,
    },
    FieldSpec {
        field: Field::Phone,
        name: "phone",
        levels: &["shared number", "different"],
        term_frequency_adjusted: false,
    },
];

/// The level of each field for one pair of records, in [`FIELDS`] order.
pub type Comparison = [u8; N_FIELDS];

pub fn compare(first: &PreparedRecord, second: &PreparedRecord) -> Comparison {
    let swapped = names_swapped(first, second);
    [
        compare_identifier(first.identifier.as_deref(), second.identifier.as_deref()),
        if swapped { 1 } else { compare_forename(first, second) },
        if swapped { 0 } else { compare_surname(first.surname.as_deref(), second.surname.as_deref()) },
        compare_birth_date(first.birth_date, second.birth_date),
        match (first.sex, second.sex) {
            (Some(a), Some(b)) => u8::from(a != b),
            _ => MISSING,
        },
        compare_postcode(first.postcode.as_deref(), second.postcode.as_deref()),
        compare_address_line(first.address_line.as_deref(), second.address_line.as_deref()),
        compare_close_words(first.locality.as_deref(), second.locality.as_deref()),
        compare_phones(&first.phones, &second.phones),
    ]
}

fn names_swapped(first: &PreparedRecord, second: &PreparedRecord) -> bool {
    match (&first.forename, &first.surname, &second.forename, &second.surname) {
        (Some(first_forename), Some(first_surname), Some(second_forename), Some(second_surname)) => {
            first_forename != first_surname && first_forename == second_surname && first_surname == second_forename
        }
        _ => false,
    }
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

fn compare_forename(first: &PreparedRecord, second: &PreparedRecord) -> u8 {
    let (Some(first_name), Some(second_name)) = (first.forename.as_deref(), second.forename.as_deref()) else {
        return MISSING;
    };
    if first_name == second_name {
        return 0;
    }
    if are_variants(first.forename_groups, second.forename_groups) {
        return 2;
    }
    let similarity = jaro_winkler(first_name, second_name);
    if similarity >= 0.92 || (first_name.len() > 3 && osa_distance(first_name, second_name) <= 1) {
        return 3;
    }
    let one_is_initial = (first_name.len() == 1 || second_name.len() == 1)
        && first_name.as_bytes().first() == second_name.as_bytes().first();
    if similarity >= 0.8 || one_is_initial {
        return 4;
    }
    5
}

fn compare_surname(first: Option<&str>, second: Option<&str>) -> u8 {
    let (Some(first), Some(second)) = (first, second) else { return MISSING };
    if first == second {
        return 0;
    }
    // A double-barrelled name recorded by one half (`smith jones` and `jones`) is a close spelling.
    let one_part_of_other = first.split(' ').any(|part| part == second) || second.split(' ').any(|part| part == first);
    let similarity = jaro_winkler(first, second);
    if one_part_of_other || similarity >= 0.92 || (first.len() > 3 && osa_distance(first, second) <= 1) {
        1
    } else if similarity >= 0.8 {
        2
    } else {
        3
    }
}

fn compare_birth_date(first: Option<BirthDate>, second: Option<BirthDate>) -> u8 {
    let (Some(first), Some(second)) = (first, second) else { return MISSING };
    let (Some(first_digits), Some(second_digits)) = (first.digits(), second.digits()) else {
        return compare_partial_birth_dates(first, second);
    };
    if first == second {
        return 0;
    }
    if first.year == second.year && first.month == second.day && first.day == second.month {
        return 1;
    }
    let n_differing = first_digits.iter().zip(&second_digits).filter(|(a, b)| a != b).count();
    let transposed_neighbours = n_differing == 2
        && (0..7).any(|idx| {
            first_digits[idx] == second_digits[idx + 1]
                && first_digits[idx + 1] == second_digits[idx]
                && first_digits[idx] != first_digits[idx + 1]
        });
    if n_differing == 1 || transposed_neighbours {
        return 2;
    }
    if first.year == second.year && first.month == second.month {
        return 4;
    }
    if first.year == second.year {
        return 5;
    }
    6
}

/// Dates of which either lacks its month or day (a partial date, or a part out of range): the year and whatever
/// parts both know. Agreeing on the year and one more part is strong; on the year alone, only as strong as that.
fn compare_partial_birth_dates(first: BirthDate, second: BirthDate) -> u8 {
    if first.year != second.year {
        return 6;
    }
    let agree = |first: Option<u8>, second: Option<u8>| match (first, second) {
        (Some(a), Some(b)) => Some(a == b),
        _ => None,
    };
    match (agree(first.month, second.month), agree(first.day, second.day)) {
        (Some(false), _) | (_, Some(false)) => 5,
        (Some(true), _) | (_, Some(true)) => 3,
        (None, None) => 5,
    }
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
        Field::Postcode => record.postcode.as_deref(),
        Field::Locality => record.locality.as_deref(),
        _ => None,
    }
}
