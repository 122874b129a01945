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
