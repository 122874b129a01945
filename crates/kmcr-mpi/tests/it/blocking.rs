//! Blocking: which records are ever compared.

use kmcr_mpi::blocking::{RULE_NAMES, blocking_keys, shared_rules};
use kmcr_mpi::{Demographics, PreparedRecord};

fn rules_shared(first: &Demographics, second: &Demographics) -> Vec<&'static str> {
    let keys = |record: &Demographics| blocking_keys(&PreparedRecord::new(record));
    let bits = shared_rules(&keys(first), &keys(second));
    (0..RULE_NAMES.len()).filter(|rule_idx| bits & (1 << rule_idx) != 0).map(|rule_idx| RULE_NAMES[rule_idx]).collect()
}

fn record(given: &[&str], family: Option<&str>, postcode: &str, town: &str) -> Demographics {
    Demographics {
        given_names: given.iter().map(|name| name.to_string()).collect(),
        family_name: family.map(str::to_string),
        postcode: Some(postcode.to_string()),
        locality: Some(town.to_string()),
        ..Demographics::default()
    }
}

#[test]
fn a_sole_name_is_blocked_with_records_holding_it_in_either_field() {
    let anne_clarke = record(&["anne"], Some("clarke"), "OX4 3JB", "oxford");
    let clarke = record(&["clarke"], None, "OX3 8SF", "oxford");
    assert_eq!(rules_shared(&clarke, &anne_clarke), ["surname sound and town"]);
    let anne = record(&["anne"], None, "OX3 8SF", "oxford");
    assert_eq!(rules_shared(&anne, &anne_clarke), ["forename sound and town"]);
    let at_home = record(&["clarke"], None, "OX4 3JB", "abingdon");
    assert_eq!(
        rules_shared(&at_home, &anne_clarke),
        ["surname sound and postcode", "postcode", "surname sound and postcode sector"]
    );
}

#[test]
fn a_surname_sound_and_postcode_sector_bring_records_with_a_mistyped_postcode_unit_together() {
    let first = record(&["cecil"], Some("dicker"), "NW8 7QN", "");
    let second = record(&["henry", "cecil"], Some("dickar"), "NW8 7QX", "");
    assert_eq!(rules_shared(&first, &second), ["surname sound and postcode sector"]);
}

#[test]
fn a_first_name_and_town_bring_records_without_family_names_together() {
    let tom_foster = record(&["tom"], Some("foster"), "SK13 7AS", "glossop");
    let tom = record(&["tom"], None, "SK14 1AA", "glossop");
    assert!(rules_shared(&tom, &tom_foster).contains(&"forename sound and town"));
}

#[test]
fn records_at_one_postcode_are_compared_whatever_their_names() {
    let first = record(&["anne"], Some("clarke"), "OX4 3JB", "oxford");
    let second = record(&["marie"], Some("louis"), "ox4 3jb", "cowley");
    assert_eq!(rules_shared(&first, &second), ["postcode"]);
}

#[test]
fn a_surname_sound_and_birth_year_bring_records_with_a_mistyped_date_and_a_move_together() {
    let born = |given: &str, family: &str, date: &str, postcode: &str| Demographics {
        birth_date: Some(date.to_string()),
        ..record(&[given], Some(family), postcode, "")
    };
    let first = born("henry", "stonehewer", "1790-01-01", "SO43 7HG");
    let second = born("s", "stonhewer", "1790-07-01", "BH1 1AA");
    assert_eq!(rules_shared(&first, &second), ["surname sound and birth year"]);
}

/// A slip in a name's first letter changes its Soundex code, so the rules on sounds miss the pair; the rest of the
/// name, with the other name's sound, brings it together.
#[test]
fn a_slip_in_the_first_letter_of_a_name_does_not_keep_the_records_apart() {
    let henry = record(&["henry"], Some("page"), "ST10 1RA", "leek");
    let yenry = record(&["yenry"], Some("page"), "ST7 1UF", "kidsgrove");
    assert_eq!(rules_shared(&yenry, &henry), ["forename past its first letter and surname sound"]);
    let fallon_horne = record(&["fallon"], Some("horne"), "WF13 2LJ", "dewsbury");
    let fallon_yorne = record(&["fallon"], Some("yorne"), "WF12 7JH", "batley");
    assert_eq!(rules_shared(&fallon_yorne, &fallon_horne), ["surname past its first letter and forename sound"]);
}

/// A short form that sounds nothing like the formal name (`hannah` and `ann`, `william` and `billy`) is paired
/// through the variant group both belong to.
#[test]
fn a_short_form_and_the_formal_name_are_compared_with_the_same_surname() {
    let hannah = record(&["hannah"], Some("houlditch"), "PO31 7QD", "cowes");
    let ann = record(&["ann"], Some("houlditch"), "SO14 2AA", "southampton");
    assert_eq!(rules_shared(&ann, &hannah), ["surname sound and the forename's variant group"]);
}
