//! Names compared: first names with their variants, spellings, initials and middle names; family names with their
//! spellings and halves; names swapped between the fields; and a sole name that one source put in the other field.

use strsim::{jaro_winkler, osa_distance};

use super::MISSING;
use crate::names::{are_variants, soundex, variant_groups};
use crate::record::PreparedRecord;

const FORENAME_EXACT: u8 = 0;
const FORENAME_SWAPPED: u8 = 1;
const FORENAME_VARIANT: u8 = 2;
const FORENAME_CLOSE: u8 = 3;
const FORENAME_MIDDLE_NAME: u8 = 4;
const FORENAME_SIMILAR_OR_INITIAL: u8 = 5;
/// The forename level of first names that are not forms of one another.
pub const FORENAME_DIFFERENT: u8 = 6;

const SURNAME_EXACT: u8 = 0;
/// The surname level of a close spelling; this and exact agreement are what twins share.
pub const SURNAME_CLOSE: u8 = 1;
const SURNAME_MIDDLE_NAME: u8 = 2;
const SURNAME_SOUNDS_ALIKE: u8 = 3;
const SURNAME_SIMILAR: u8 = 4;
const SURNAME_DIFFERENT: u8 = 5;

/// The forename and surname levels of a pair.
pub(super) fn compare_names(first: &PreparedRecord, second: &PreparedRecord) -> (u8, u8) {
    if names_swapped(first, second) {
        return (FORENAME_SWAPPED, SURNAME_EXACT);
    }
    let forename = compare_forenames(first, second);
    let surname = compare_surnames(first, second);
    sole_name_in_other_field(first, second, forename, surname)
        .or_else(|| sole_name_in_other_field(second, first, forename, surname))
        .unwrap_or((forename, surname))
}

fn names_swapped(first: &PreparedRecord, second: &PreparedRecord) -> bool {
    match (&first.forename, &first.surname, &second.forename, &second.surname) {
        (Some(first_forename), Some(first_surname), Some(second_forename), Some(second_surname)) => {
            first_forename != first_surname && first_forename == second_surname && first_surname == second_forename
        }
        _ => false,
    }
}

/// A record with only one name, and another that holds it in the other field: one source put a sole name (or the one
/// name it was given) where the other did not. The agreement counts in the field where the other record holds it, and
/// the field the sole name was in is taken as missing, not as a disagreement.
fn sole_name_in_other_field(
    sole: &PreparedRecord,
    other: &PreparedRecord,
    forename: u8,
    surname: u8,
) -> Option<(u8, u8)> {
    let name = sole.sole_name()?;
    if sole.forename.is_some() {
        if forename <= FORENAME_CLOSE {
            return None;
        }
        let level = compare_surname_values(name, other.surname.as_deref()?);
        (level <= SURNAME_CLOSE).then_some((MISSING, level))
    } else {
        if surname <= SURNAME_CLOSE {
            return None;
        }
        let other_forename = other.forename.as_deref()?;
        let level = compare_forename_values(name, variant_groups(name), other_forename, other.forename_groups);
        (level <= FORENAME_CLOSE).then_some((level, MISSING))
    }
}

fn compare_forenames(first: &PreparedRecord, second: &PreparedRecord) -> u8 {
    let (Some(first_name), Some(second_name)) = (first.forename.as_deref(), second.forename.as_deref()) else {
        return MISSING;
    };
    let level = compare_forename_values(first_name, first.forename_groups, second_name, second.forename_groups);
    if level > FORENAME_CLOSE
        && (is_middle_name_of(first_name, first.forename_groups, second)
            || is_middle_name_of(second_name, second.forename_groups, first))
    {
        return FORENAME_MIDDLE_NAME;
    }
    level
}

/// True when `name` (a first name) is one of the record's middle names, or a form of one: a person known by a
/// middle name, or a first name one source recorded second.
fn is_middle_name_of(name: &str, groups: &[u16], record: &PreparedRecord) -> bool {
    name.len() > 1
        && record.middle_names.iter().any(|middle| &**middle == name || are_variants(groups, variant_groups(middle)))
}

fn compare_forename_values(first_name: &str, first_groups: &[u16], second_name: &str, second_groups: &[u16]) -> u8 {
    if first_name == second_name {
        return FORENAME_EXACT;
    }
    if are_variants(first_groups, second_groups) {
        return FORENAME_VARIANT;
    }
    let similarity = jaro_winkler(first_name, second_name);
    if similarity >= 0.92 || (first_name.len() > 3 && osa_distance(first_name, second_name) <= 1) {
        return FORENAME_CLOSE;
    }
    let one_is_initial = (first_name.len() == 1 || second_name.len() == 1)
        && first_name.as_bytes().first() == second_name.as_bytes().first();
    if similarity >= 0.8 || one_is_initial {
        return FORENAME_SIMILAR_OR_INITIAL;
    }
    FORENAME_DIFFERENT
}

fn compare_surnames(first: &PreparedRecord, second: &PreparedRecord) -> u8 {
    let (Some(first_name), Some(second_name)) = (first.surname.as_deref(), second.surname.as_deref()) else {
        return MISSING;
    };
    let level = compare_surname_values(first_name, second_name);
    // A maiden name kept as a middle name, or a double family name split across the fields.
    let is_middle_name = |name: &str, record: &PreparedRecord| {
        name.len() > 1 && record.middle_names.iter().any(|middle| &**middle == name)
    };
    if level > SURNAME_CLOSE && (is_middle_name(first_name, second) || is_middle_name(second_name, first)) {
        return SURNAME_MIDDLE_NAME;
    }
    level
}

fn compare_surname_values(first: &str, second: &str) -> u8 {
    if first == second {
        return SURNAME_EXACT;
    }
    // A double-barrelled name recorded by one half (`smith jones` and `jones`) is a close spelling.
    let one_part_of_other = first.split(' ').any(|part| part == second) || second.split(' ').any(|part| part == first);
    let similarity = jaro_winkler(first, second);
    let close = similarity >= 0.92 || (first.len() > 3 && osa_distance(first, second) <= 1);
    if close || one_part_of_other || same_but_for_spaces(first, second) {
        SURNAME_CLOSE
    } else if soundex(first).is_some() && soundex(first) == soundex(second) {
        SURNAME_SOUNDS_ALIKE
    } else if similarity >= 0.8 {
        SURNAME_SIMILAR
    } else {
        SURNAME_DIFFERENT
    }
}

/// True when two names differ only in where the spaces fall (`h o` and `ho`, `mc donald` and `mcdonald`).
fn same_but_for_spaces(first: &str, second: &str) -> bool {
    (first.contains(' ') || second.contains(' ')) && first.replace(' ', "") == second.replace(' ', "")
}
