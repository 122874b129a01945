//! Blocking: only records that share a key under at least one rule are compared, so the work grows with the number
//! of records, not with its square. The rules are ordered; a pair is produced once, by the first rule it shares.
//! Each rule tolerates the errors the others cannot: a typo in the surname, a wrong birth date, swapped names, a move.

use std::hash::{DefaultHasher, Hash, Hasher};

use crate::names::soundex;
use crate::record::PreparedRecord;

pub const N_RULES: usize = 15;

/// The rules' names, in order, for reports.
pub const RULE_NAMES: [&str; N_RULES] = [
    "identifier",
    "birth date",
    "forename and surname sounds (either order)",
    "surname sound and postcode",
    "forename sound, birth year and postcode district",
    "phone",
    "surname sound and forename initial",
    "surname sound and town",
    "forename sound and town",
    "postcode",
    "surname sound and birth year",
    "surname sound and postcode sector",
    "forename past its first letter and surname sound",
    "surname past its first letter and forename sound",
    "surname sound and the forename's variant group",
];

/// The fields each rule requires to agree (or nearly), by index in `FIELDS`: training leaves them out.
pub const RULE_FIELDS: [&[usize]; N_RULES] = [
    &[0],
    &[3],
    &[1, 2],
    &[2, 5],
    &[1, 3, 5],
    &[8],
    &[1, 2],
    &[2, 7, 9],
    &[1, 7, 9],
    &[5],
    &[2, 3],
    &[2, 5],
    &[1, 2],
    &[1, 2],
    &[1, 2],
];

/// Per rule, a block larger than this is skipped: a key that many records share says too little to be worth the
/// pairs. The identifier is never skipped; the coarse rules (a sound and an initial, a sound and a town, a postcode
/// alone) are kept small, since each of their blocks costs the square of its size. A unit postcode holds some fifteen
/// households, so 300 records is a few records each for everyone there; a larger block is a care home, a prison or a
/// placeholder postcode, where the surname-and-postcode rule still pairs the records.
pub const MAX_BLOCK_SIZE: [usize; N_RULES] =
    [usize::MAX, 2_000, 1_000, 1_000, 1_000, 100, 300, 300, 300, 300, 300, 300, 300, 300, 300];

/// The record's key under each rule, `None` where it lacks the values a rule needs. A record with one name only (given
/// or family) is keyed with it under the rules on either name, since another source may hold it in the other field.
pub type BlockingKeys = [Option<u64>; N_RULES];

pub fn blocking_keys(record: &PreparedRecord) -> BlockingKeys {
    let names_in_either_order = match (record.forename_soundex, record.surname_soundex) {
        (Some(forename), Some(surname)) => Some(key(2, &(forename.min(surname), forename.max(surname)))),
        _ => None,
    };
    let district = record.postcode.as_deref().and_then(crate::normalise::postcode_district);
    let sole_name_soundex = record.sole_name().and_then(soundex);
    let surname_soundex = record.surname_soundex.or(sole_name_soundex);
    let forename_soundex = record.forename_soundex.or(sole_name_soundex);
    [
        record.identifier.as_deref().map(|identifier| key(0, &identifier)),
        record.birth_date.map(|date| key(1, &date)),
        names_in_either_order,
        match (surname_soundex, record.postcode.as_deref()) {
            (Some(surname), Some(postcode)) => Some(key(3, &(surname, postcode))),
            _ => None,
        },
        match (forename_soundex, record.birth_date, district) {
            (Some(forename), Some(date), Some(district)) => Some(key(4, &(forename, date.year, district))),
            _ => None,
        },
        record.phones.first().map(|phone| key(5, &phone)),
        match (record.surname_soundex, record.forename.as_deref().and_then(|name| name.bytes().next())) {
            (Some(surname), Some(initial)) => Some(key(6, &(surname, initial))),
            _ => None,
        },
        match (surname_soundex, record.locality.as_deref()) {
            (Some(surname), Some(locality)) => Some(key(7, &(surname, locality))),
            _ => None,
        },
        match (forename_soundex, record.locality.as_deref()) {
            (Some(forename), Some(locality)) => Some(key(8, &(forename, locality))),
            _ => None,
        },
        record.postcode.as_deref().map(|postcode| key(9, &postcode)),
        match (surname_soundex, record.birth_date) {
            (Some(surname), Some(date)) => Some(key(10, &(surname, date.year))),
            _ => None,
        },
        match (surname_soundex, record.postcode.as_deref().and_then(crate::normalise::postcode_sector)) {
            (Some(surname), Some(sector)) => Some(key(11, &(surname, sector))),
            _ => None,
        },
        match (record.forename.as_deref().and_then(past_first_letter), record.surname_soundex) {
            (Some(forename), Some(surname)) => Some(key(12, &(forename, surname))),
            _ => None,
        },
        match (record.surname.as_deref().and_then(past_first_letter), record.forename_soundex) {
            (Some(surname), Some(forename)) => Some(key(13, &(surname, forename))),
            _ => None,
        },
        match (surname_soundex, record.forename_groups.first()) {
            (Some(surname), Some(group)) => Some(key(14, &(surname, group))),
            _ => None,
        },
    ]
}

/// A name without its first letter, for a slip there (`yenry`, `heorge`), which changes the name's Soundex code;
/// `None` for a name too short for the rest to say much.
fn past_first_letter(name: &str) -> Option<&str> {
    let mut characters = name.char_indices();
    characters.next()?;
    let (start, _) = characters.next()?;
    (name.len() - start >= 3).then(|| &name[start..])
}

fn key(rule_idx: u8, value: &impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    rule_idx.hash(&mut hasher);
    value.hash(&mut hasher);
    hasher.finish()
}

/// The rules under which two records share a key, as bits (rule 0 is bit 0).
pub fn shared_rules(first: &BlockingKeys, second: &BlockingKeys) -> u32 {
    (0..N_RULES)
        .filter(|&rule_idx| first[rule_idx].is_some() && first[rule_idx] == second[rule_idx])
        .fold(0, |bits, rule_idx| bits | 1 << rule_idx)
}

/// True when an earlier rule than `rule_idx` already pairs these two records.
pub fn paired_by_earlier_rule(first: &BlockingKeys, second: &BlockingKeys, rule_idx: usize) -> bool {
    (0..rule_idx).any(|earlier| first[earlier].is_some() && first[earlier] == second[earlier])
}
