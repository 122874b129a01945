//! The model's weights: what a level may and may not count for.

use kmcr_mpi::train::estimate_model;
use kmcr_mpi::{Demographics, FIELDS, Field, MISSING, Model, N_FIELDS, PreparedRecord, TermFrequencies, compare};

/// Regression: with one town for every record, the few random pairs in different towns left u of "different" so small
/// that disagreeing on the town counted for a match, and exact agreement was lifted to it.
#[test]
fn a_disagreement_never_counts_for_a_match_even_where_almost_all_records_agree() {
    let locality = FIELDS.iter().position(|spec| spec.field == Field::Locality).unwrap();
    let mut model = Model::untrained(1e-6);
    model.m[locality] = vec![0.667, 0.167, 0.166];
    model.u[locality] = vec![1.0 - 2e-6, 1e-6, 1e-6];
    assert_eq!(model.level_weight(locality, 2), 0.0);
    assert!(model.level_weight(locality, 0) <= 0.0, "exact: {}", model.level_weight(locality, 0));
}

/// A field that training pairs never hold keeps the m of typical records, not what EM's smoothing leaves.
#[test]
fn a_field_training_never_sees_keeps_the_typical_m() {
    let phone = FIELDS.iter().position(|spec| spec.field == Field::Phone).unwrap();
    let mut comparisons = Vec::new();
    for pair_idx in 0..2_000u32 {
        let mut comparison = [MISSING; N_FIELDS];
        let matching = pair_idx % 4 == 0;
        comparison[1] = if matching { 0 } else { 6 };
        comparison[2] = if matching { 0 } else { 4 };
        comparison[3] = if matching { 0 } else { 6 };
        comparisons.push(comparison);
    }
    let rules_shared = vec![1u32; comparisons.len()];
    let u: Vec<Vec<f64>> = Model::untrained(1e-6).u;
    let model = estimate_model(&comparisons, &rules_shared, &[&[3]], u, 10_000);
    assert_eq!(model.m[phone], Model::untrained(1e-6).m[phone]);
    assert!(model.m[1][0] > 0.9, "forename exact among matches: {}", model.m[1][0]);
}

/// A birth date many records share (a placeholder such as the first of January) says less than a rare one.
#[test]
fn a_common_birth_date_counts_for_less_than_a_rare_one() {
    let born = |date: &str, idx: usize| Demographics {
        given_names: vec![format!("given{idx}")],
        family_name: Some(format!("family{idx}")),
        birth_date: Some(date.to_string()),
        ..Demographics::default()
    };
    let mut records: Vec<PreparedRecord> = (0..1_500)
        .map(|idx| PreparedRecord::new(&born(&format!("19{:02}-03-{:02}", idx % 90, 1 + idx % 28), idx)))
        .collect();
    records.extend((0..100).map(|idx| PreparedRecord::new(&born("1950-01-01", idx))));
    let frequencies = TermFrequencies::new(&records);
    let model = Model::untrained(1e-6);
    let weight = |first: &PreparedRecord, second: &PreparedRecord| {
        let birth_date = FIELDS.iter().position(|spec| spec.field == Field::BirthDate).unwrap();
        model.score(&compare(first, second), Some((first, second)), Some(&frequencies)).evidence[birth_date].weight
    };
    let (common, rare) = (PreparedRecord::new(&born("1950-01-01", 1)), PreparedRecord::new(&born("1931-03-02", 1)));
    assert!(
        weight(&common, &common) + 3.0 < weight(&rare, &rare),
        "{} {}",
        weight(&common, &common),
        weight(&rare, &rare)
    );
}

/// How common a shared surname is among strangers is counted without the two records compared: a surname only these
/// two hold weighs as the rarest do, while one held by many others weighs the same either way.
#[test]
fn the_pair_compared_does_not_count_towards_how_common_its_shared_value_is() {
    let named = |family: &str, idx: usize| Demographics {
        given_names: vec![format!("given{idx}")],
        family_name: Some(family.to_string()),
        ..Demographics::default()
    };
    let mut records: Vec<PreparedRecord> =
        (0..1_500).map(|idx| PreparedRecord::new(&named(&format!("family{}", idx % 30), idx))).collect();
    let pair = [PreparedRecord::new(&named("quillfeather", 1)), PreparedRecord::new(&named("quillfeather", 2))];
    records.extend(pair.iter().cloned());
    let frequencies = TermFrequencies::new(&records);
    let model = Model::untrained(1e-6);
    let surname = FIELDS.iter().position(|spec| spec.field == Field::Surname).unwrap();
    let weight = |first: &PreparedRecord, second: &PreparedRecord, n_pair_counted: u32| {
        let comparison = compare(first, second);
        model.score_leaving_out(&comparison, Some((first, second)), Some(&frequencies), n_pair_counted).evidence
            [surname]
            .weight
    };
    assert!(
        weight(&pair[0], &pair[1], 2) > weight(&pair[0], &pair[1], 0) + 1.0,
        "{} {}",
        weight(&pair[0], &pair[1], 2),
        weight(&pair[0], &pair[1], 0)
    );
    let common = [&records[0], &records[30]];
    assert!((weight(common[0], common[1], 2) - weight(common[0], common[1], 0)).abs() < 0.1);
}

/// Regression: a town shared by two records whose postcodes share only the area was weighed by how rare the town is
/// across the whole population, so that a town rare nationally but common in its own area (every family of one
/// district) counted as strong evidence. Within one area its own u already says how often strangers share a town.
#[test]
fn a_town_shared_within_one_postcode_area_counts_the_same_however_rare_it_is_nationally() {
    let living = |postcode: &str, town: &str, idx: usize| Demographics {
        given_names: vec![format!("given{idx}")],
        family_name: Some(format!("family{idx}")),
        postcode: Some(postcode.to_string()),
        locality: Some(town.to_string()),
        ..Demographics::default()
    };
    let mut records: Vec<PreparedRecord> =
        (0..1_500).map(|idx| PreparedRecord::new(&living("ME14 1AB", "maidstone", idx))).collect();
    records.extend((0..2).map(|idx| PreparedRecord::new(&living("ME15 2XY", "boughton monchelsea", idx))));
    let frequencies = TermFrequencies::new(&records);
    let model = Model::untrained(1e-6);
    let within_area = FIELDS.iter().position(|spec| spec.field == Field::LocalityWithinPostcodeArea).unwrap();
    let weight = |town: &str| {
        let (first, second) =
            (PreparedRecord::new(&living("ME14 1AB", town, 1)), PreparedRecord::new(&living("ME15 2XY", town, 2)));
        model.score(&compare(&first, &second), Some((&first, &second)), Some(&frequencies)).evidence[within_area].weight
    };
    assert_eq!(weight("boughton monchelsea"), weight("maidstone"));
    assert_eq!(weight("maidstone"), model.level_weight(within_area, 0));
}
