//! What a group of records says of its person: for each field, the value most of its records hold.
//!
//! One person's records disagree here and there (a typing slip in one, a nickname in another, an old postcode in a
//! third), but most of them hold the true value. Two groups of records are one person only if their consensus values
//! agree as one person's records would: two namesakes born in one district, each with a dozen records, may be joined
//! by one near-copy pair (`penny lawrence` and `lawrence`) while their consensus records (`penelope lawrence`, born
//! 1856, and `laurence scott`, born 1858) plainly differ.

use crate::compare::compare;
use crate::decide::Thresholds;
use crate::model::{Model, TermFrequencies};
use crate::record::PreparedRecord;

/// Groups smaller than this are not judged on their consensus: with one or two records a slip is as likely to be the
/// value as not, and the pairs themselves were judged already.
pub const MIN_RECORDS_FOR_CONSENSUS: usize = 3;

/// True unless both groups hold at least [`MIN_RECORDS_FOR_CONSENSUS`] records and their consensus records do not
/// link: what most of one group's records say of the person must be, to the link threshold, what most of the other's
/// say.
pub fn consensus_agrees(
    model: &Model,
    frequencies: &TermFrequencies,
    thresholds: &Thresholds,
    left: &[&PreparedRecord],
    right: &[&PreparedRecord],
) -> bool {
    if left.len() < MIN_RECORDS_FOR_CONSENSUS || right.len() < MIN_RECORDS_FOR_CONSENSUS {
        return true;
    }
    let (Some(left), Some(right)) = (consensus_record(left), consensus_record(right)) else { return true };
    let comparison = compare(&left, &right);
    model.score(&comparison, Some((&left, &right)), Some(frequencies)).match_probability >= thresholds.link
}

/// A record holding, field by field, the value most of `records` hold (ties go to the value seen first). The derived
/// keys of a name (its variant groups and sound) come with the name, from a record that holds it.
pub fn consensus_record(records: &[&PreparedRecord]) -> Option<PreparedRecord> {
    let first = records.first()?;
    let pick = |same: &dyn Fn(&PreparedRecord, &PreparedRecord) -> bool, present: &dyn Fn(&PreparedRecord) -> bool| {
        most_common(records, same, present)
    };
    let mut consensus = (*first).clone();
    let by_forename = pick(&|a, b| a.forename == b.forename, &|record| record.forename.is_some());
    consensus.forename = by_forename.and_then(|record| record.forename.clone());
    consensus.forename_groups = by_forename.map_or(&[], |record| record.forename_groups);
    consensus.forename_soundex = by_forename.and_then(|record| record.forename_soundex);
    consensus.middle_names = pick(&|a, b| a.middle_names == b.middle_names, &|record| !record.middle_names.is_empty())
        .map_or_else(Vec::new, |record| record.middle_names.clone());
    let by_surname = pick(&|a, b| a.surname == b.surname, &|record| record.surname.is_some());
    consensus.surname = by_surname.and_then(|record| record.surname.clone());
    consensus.surname_soundex = by_surname.and_then(|record| record.surname_soundex);
    let by_birth_date = pick(&|a, b| a.birth_date == b.birth_date, &|record| record.birth_date.is_some());
    consensus.birth_date = by_birth_date.and_then(|record| record.birth_date);
    consensus.birth_date_text = by_birth_date.and_then(|record| record.birth_date_text.clone());
    consensus.sex = pick(&|a, b| a.sex == b.sex, &|record| record.sex.is_some()).and_then(|record| record.sex);
    consensus.postcode = pick(&|a, b| a.postcode == b.postcode, &|record| record.postcode.is_some())
        .and_then(|record| record.postcode.clone());
    consensus.address_line = pick(&|a, b| a.address_line == b.address_line, &|record| record.address_line.is_some())
        .and_then(|record| record.address_line.clone());
    consensus.locality = pick(&|a, b| a.locality == b.locality, &|record| record.locality.is_some())
        .and_then(|record| record.locality.clone());
    consensus.phones = pick(&|a, b| a.phones == b.phones, &|record| !record.phones.is_empty())
        .map_or_else(Vec::new, |record| record.phones.clone());
    let by_identifier = pick(&|a, b| a.identifier == b.identifier, &|record| record.identifier.is_some());
    consensus.identifier = by_identifier.and_then(|record| record.identifier.clone());
    consensus.nhs_number = by_identifier.and_then(|record| record.nhs_number);
    consensus.nhs_number_verified = by_identifier.is_some_and(|record| record.nhs_number_verified);
    Some(consensus)
}

/// The first of the records holding the commonest value of a field (`same` compares two records on it), among those
/// that hold one at all.
fn most_common<'a>(
    records: &[&'a PreparedRecord],
    same: &dyn Fn(&PreparedRecord, &PreparedRecord) -> bool,
    present: &dyn Fn(&PreparedRecord) -> bool,
) -> Option<&'a PreparedRecord> {
    let holding: Vec<&PreparedRecord> = records.iter().copied().filter(|record| present(record)).collect();
    let mut best: Option<(&PreparedRecord, usize)> = None;
    for (position, &record) in holding.iter().enumerate() {
        if holding[..position].iter().any(|earlier| same(earlier, record)) {
            continue;
        }
        let count = holding[position..].iter().filter(|other| same(other, record)).count();
        if best.is_none_or(|(_, best_count)| count > best_count) {
            best = Some((record, count));
        }
    }
    best.map(|(record, _)| record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;
    use crate::record::Demographics;

    fn record(given: &str, family: &str, birth_date: Option<&str>, postcode: Option<&str>) -> PreparedRecord {
        PreparedRecord::new(&Demographics {
            given_names: vec![given.to_string()],
            family_name: Some(family.to_string()),
            birth_date: birth_date.map(str::to_string),
            postcode: postcode.map(str::to_string),
            ..Demographics::default()
        })
    }

    #[test]
    fn each_field_takes_the_value_most_records_hold_and_missing_values_do_not_count() {
        let records = [
            record("penny", "lorenz", None, Some("SO41 9NS")),
            record("penelope", "lawrence", Some("1856-01-01"), None),
            record("penelope", "lawremce", Some("1856-01-07"), Some("SO41 3RH")),
            record("penelope", "lawrence", Some("1856-01-01"), Some("SO41 9NS")),
        ];
        let consensus = consensus_record(&records.iter().collect::<Vec<_>>()).unwrap();
        assert_eq!(consensus.forename.as_deref(), Some("penelope"));
        assert_eq!(consensus.surname.as_deref(), Some("lawrence"));
        assert_eq!(consensus.birth_date_text.as_deref(), Some("18560101"));
        assert_eq!(consensus.postcode.as_deref(), Some("SO419NS"));
        assert_eq!(consensus.forename_soundex, records[1].forename_soundex);
        assert!(consensus_record(&[]).is_none());
    }

    fn agree(left: &[PreparedRecord], right: &[PreparedRecord]) -> bool {
        let all: Vec<&PreparedRecord> = left.iter().chain(right).collect();
        let frequencies = TermFrequencies::new(all.iter().copied());
        let (left, right): (Vec<_>, Vec<_>) = (left.iter().collect(), right.iter().collect());
        consensus_agrees(&Model::untrained(1e-6), &frequencies, &Thresholds::default(), &left, &right)
    }

    #[test]
    fn namesakes_from_one_district_do_not_agree_and_one_persons_slips_do() {
        let penelope = [
            record("penelope", "lawrence", Some("1856-01-01"), Some("SO41 9NS")),
            record("penelope", "lawrence", Some("1856-01-01"), None),
            record("penny", "lawrence", Some("1856-01-01"), Some("SO41 9NS")),
        ];
        // A near-copy of Penelope's records sits among Laurence's (`lawrence`, no surname): one pair could bridge them.
        let laurence = [
            record("laurence", "scott", Some("1858-01-01"), Some("SO41 3TD")),
            record("lawrence", "scott", Some("1858-01-01"), Some("SO41 3TD")),
            record("laurence", "scott", None, Some("SO41 3TD")),
            record("lawrence", "lawrence", Some("1856-01-01"), Some("SO41 9NS")),
        ];
        assert!(!agree(&penelope, &laurence));
        let penelope_elsewhere = [
            record("penelope", "lawremce", Some("1856-01-01"), Some("SO41 9NS")),
            record("penny", "lawrence", Some("1856-01-07"), Some("SO41 9NS")),
            record("penelope", "lawrence", None, Some("SO41 9NS")),
        ];
        assert!(agree(&penelope, &penelope_elsewhere));
        // Two records are too few to outvote a slip: such groups are not judged on consensus.
        assert!(agree(&penelope[..2], &laurence));
    }
}
