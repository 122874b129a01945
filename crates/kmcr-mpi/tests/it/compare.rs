//! Comparison levels, one pair of records at a time: each level a real error or partial record calls for.

use kmcr_mpi::compare::FIELDS;
use kmcr_mpi::{Demographics, Field, MISSING, PreparedRecord, compare};

/// A record from `given family` and a birth date (either may be empty).
fn record(names: &str, birth_date: &str) -> Demographics {
    let mut parts: Vec<String> = names.split(' ').filter(|part| !part.is_empty()).map(str::to_string).collect();
    let family_name = (parts.len() > 1).then(|| parts.pop().unwrap());
    Demographics {
        given_names: parts,
        family_name,
        birth_date: (!birth_date.is_empty()).then(|| birth_date.to_string()),
        ..Demographics::default()
    }
}

/// The level name `field` takes for the two records.
fn level(first: &Demographics, second: &Demographics, field: Field) -> &'static str {
    let field_idx = FIELDS.iter().position(|spec| spec.field == field).unwrap();
    let comparison = compare(&PreparedRecord::new(first), &PreparedRecord::new(second));
    let level = comparison[field_idx];
    if level == MISSING { "missing" } else { FIELDS[field_idx].levels[level as usize] }
}

fn check_birth_dates(first: &str, second: &str, expected: &str) {
    let (first_record, second_record) = (record("ann smith", first), record("ann smith", second));
    assert_eq!(level(&first_record, &second_record, Field::BirthDate), expected, "{first} and {second}");
    assert_eq!(level(&second_record, &first_record, Field::BirthDate), expected, "{second} and {first}");
}

#[test]
fn birth_dates_compare_at_the_level_of_their_error() {
    check_birth_dates("1970-05-06", "1970-05-06", "exact");
    check_birth_dates("1970-05-06", "1970-06-05", "day and month transposed");
    check_birth_dates("1970-05-06", "1970-05-08", "one digit slip");
    check_birth_dates("1970-05-06", "1907-05-06", "one digit slip");
    check_birth_dates("1970-05-06", "1970-05-26", "one digit slip");
    check_birth_dates("1970-05-06", "1970-05-29", "same year and month");
    check_birth_dates("1970-05-06", "1970-11-29", "same year");
    check_birth_dates("1970-05-06", "1982-11-29", "different");
    check_birth_dates("1970-05-06", "", "missing");
}

#[test]
fn partial_birth_dates_compare_on_the_parts_both_know() {
    check_birth_dates("1856-86-18", "1856-06-18", "part known, year and month or day agree");
    check_birth_dates("1856-06", "1856-06-18", "part known, year and month or day agree");
    check_birth_dates("1856-86-18", "1856-06-19", "same year");
    check_birth_dates("1856", "1856-06-18", "same year");
    check_birth_dates("1856-86-18", "1857-06-18", "different");
    check_birth_dates("1856", "1857", "different");
}
