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

/// A record with these given names and family name only.
fn named(given: &[&str], family: Option<&str>) -> Demographics {
    Demographics {
        given_names: given.iter().map(|name| name.to_string()).collect(),
        family_name: family.map(str::to_string),
        ..Demographics::default()
    }
}

fn check_names(first: &Demographics, second: &Demographics, expected_forename: &str, expected_surname: &str) {
    for (one, other) in [(first, second), (second, first)] {
        let levels = (level(one, other, Field::Forename), level(one, other, Field::Surname));
        assert_eq!(levels, (expected_forename, expected_surname), "{one:?} and {other:?}");
    }
}

#[test]
fn a_first_name_recorded_as_a_middle_name_is_partial_agreement() {
    let robert = named(&["robert"], Some("smith"));
    check_names(
        &named(&["john", "robert"], Some("smith")),
        &robert,
        "one's first name is the other's middle name",
        "exact",
    );
    check_names(
        &named(&["john", "bob"], Some("smith")),
        &robert,
        "one's first name is the other's middle name",
        "exact",
    );
    check_names(&named(&["john", "paul"], Some("smith")), &robert, "different", "exact");
}

#[test]
fn a_family_name_kept_as_a_middle_name_is_partial_agreement() {
    let maiden = named(&["mary"], Some("jones"));
    check_names(
        &named(&["mary", "jones"], Some("smith")),
        &maiden,
        "exact",
        "one's family name is the other's middle name",
    );
    check_names(&named(&["mary", "anne"], Some("smith")), &maiden, "exact", "different");
}

#[test]
fn titles_in_the_given_name_field_are_not_first_names() {
    let florence = named(&["florence"], Some("hardy"));
    check_names(&named(&["Mrs."], Some("hardy")), &florence, "missing", "exact");
    check_names(&named(&["Rt.", "Hon.", "Florence"], Some("hardy")), &florence, "exact", "exact");
}

#[test]
fn a_sole_name_counts_in_the_field_where_the_other_record_holds_it() {
    let anne_clarke = named(&["anne"], Some("clarke"));
    check_names(&named(&["clarke"], None), &anne_clarke, "missing", "exact");
    check_names(&named(&["clarek"], None), &anne_clarke, "missing", "close spelling");
    check_names(&named(&[], Some("anne")), &anne_clarke, "exact", "missing");
    check_names(&named(&["anne"], None), &anne_clarke, "exact", "missing");
    check_names(&named(&["zebedee"], None), &anne_clarke, "different", "missing");
}

#[test]
fn a_whole_name_in_the_given_name_field_is_split() {
    let henry = named(&["henry"], Some("nicholson"));
    check_names(&named(&["h.nicholson"], None), &henry, "similar or initial", "exact");
    check_names(&named(&["h", "nicholson"], None), &henry, "similar or initial", "missing");
}

#[test]
fn family_names_that_sound_alike_are_a_level_of_their_own() {
    check_names(&named(&["john"], Some("louis")), &named(&["john"], Some("lewis")), "exact", "sounds alike");
    check_names(&named(&["john"], Some("smith")), &named(&["john"], Some("smyth")), "exact", "close spelling");
    check_names(&named(&["john"], Some("louis")), &named(&["john"], Some("hardy")), "exact", "different");
}

#[test]
fn family_names_that_differ_only_in_spaces_are_close() {
    check_names(&named(&["ann"], Some("h o")), &named(&["ann"], Some("ho")), "exact", "close spelling");
}

#[test]
fn the_town_counts_apart_from_the_postcode_only_where_the_postcodes_do_not_name_it() {
    let at = |postcode: &str, town: &str| Demographics {
        postcode: Some(postcode.to_string()),
        locality: Some(town.to_string()),
        ..named(&["ann"], Some("smith"))
    };
    let place = |first: &Demographics, second: &Demographics| {
        let fields = [Field::Postcode, Field::Locality, Field::LocalityWithinPostcodeArea];
        fields.map(|field| level(first, second, field))
    };
    let home = at("ME14 1AB", "maidstone");
    assert_eq!(place(&home, &at("ME14 2XY", "maidstone")), ["same district", "missing", "missing"]);
    assert_eq!(place(&home, &at("ME15 2XY", "maidstone")), ["same area", "missing", "exact"]);
    assert_eq!(place(&home, &at("ME15 2XY", "chatham")), ["same area", "missing", "different"]);
    assert_eq!(place(&home, &at("CT1 2XY", "maidstone")), ["different", "exact", "missing"]);
    let no_postcode = Demographics { postcode: None, ..at("", "maidstone") };
    assert_eq!(place(&home, &no_postcode), ["missing", "exact", "missing"]);
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
