//! The population looks like a real one: a plausible age pyramid, about sixty items a person varying with age, the
//! expected share of people known to each kind of service, safeguarding flags at their real rates, common surnames.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kmcr_synth::{OrganisationKind, RECORDS_AS_AT, organisation, person_truth};

use crate::common::{SEED, age_on_records_date, config, entries, n_items, people, resource_type};

fn age_band(age: u32) -> &'static str {
    match age {
        0..=17 => "0-17",
        18..=39 => "18-39",
        40..=64 => "40-64",
        65..=79 => "65-79",
        _ => "80+",
    }
}

#[test]
fn items_per_person_average_about_sixty_and_grow_with_age() {
    let n_people = 1_000;
    let config = config(n_people);
    let mut n_total = 0;
    let mut by_band: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_kind: HashMap<String, usize> = HashMap::new();
    for (person_idx, bundles) in people(n_people) {
        let n = n_items(&bundles);
        n_total += n;
        let age = age_on_records_date(person_truth(&config, person_idx).demographics.birth_date);
        let band = by_band.entry(age_band(age)).or_default();
        band.0 += 1;
        band.1 += n;
        for source in &bundles {
            let kind = format!("{:?}", organisation(&source.source_ods_code).expect("known").kind);
            *by_kind.entry(kind).or_default() += entries(&source.bundle).len() - 1;
            for entry in entries(&source.bundle) {
                *by_type.entry(resource_type(entry).to_string()).or_default() += 1;
            }
        }
    }
    let mean = n_total as f64 / n_people as f64;
    println!("seed {SEED}: mean items per person {mean:.1} over {n_people} people");
    for (band, (n_people_in_band, n_items_in_band)) in &by_band {
        println!(
            "  age {band:>5}: {n_people_in_band:>4} people, mean {:.1} items",
            *n_items_in_band as f64 / *n_people_in_band as f64
        );
    }
    let mut kinds: Vec<_> = by_kind.into_iter().collect();
    kinds.sort();
    println!(
        "  items per person by source kind: {}",
        kinds
            .iter()
            .map(|(kind, n)| format!("{kind} {:.1}", *n as f64 / n_people as f64))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("  resources: {by_type:?}");
    assert!((40.0..=80.0).contains(&mean), "mean items per person {mean:.1}");
    let mean_of = |band: &str| by_band[band].1 as f64 / by_band[band].0 as f64;
    assert!(mean_of("80+") > mean_of("18-39"), "older people have longer records");
}

#[test]
fn ages_follow_a_plausible_pyramid() {
    let n_people = 5_000;
    let config = config(n_people);
    let ages: Vec<u32> =
        (0..n_people).map(|idx| age_on_records_date(person_truth(&config, idx).demographics.birth_date)).collect();
    let share =
        |predicate: &dyn Fn(u32) -> bool| ages.iter().filter(|age| predicate(**age)).count() as f64 / n_people as f64;
    let children = share(&|age| age < 18);
    let over_65 = share(&|age| age >= 65);
    let over_85 = share(&|age| age >= 85);
    let mean_age = ages.iter().sum::<u32>() as f64 / n_people as f64;
    println!(
        "seed {SEED}: under 18 {children:.3}, 65 and over {over_65:.3}, 85 and over {over_85:.3}, \
         mean age {mean_age:.1}, oldest {}",
        ages.iter().max().unwrap()
    );
    assert!((0.17..=0.25).contains(&children), "{children}");
    assert!((0.15..=0.25).contains(&over_65), "{over_65}");
    assert!((0.015..=0.045).contains(&over_85), "{over_85}");
    assert!((37.0..=45.0).contains(&mean_age), "{mean_age}");
    assert!(ages.iter().all(|age| *age <= 100));
    assert!(ages.contains(&0) && ages.iter().any(|age| *age >= 95));
    let females = (0..n_people)
        .filter(|idx| person_truth(&config, *idx).demographics.gender == kmcr_synth::Gender::Female)
        .count();
    assert!((0.47..=0.55).contains(&(females as f64 / n_people as f64)));
}

#[test]
fn services_and_safeguarding_flags_reach_their_real_shares() {
    let n_people = 4_000;
    let mut n_adults = 0;
    let mut n_children = 0;
    let mut known_to: HashMap<OrganisationKind, usize> = HashMap::new();
    let mut adults_in_social_care = 0;
    let mut flags: BTreeMap<String, usize> = BTreeMap::new();
    let mut respect_forms = 0;
    let config = config(n_people);
    for (person_idx, bundles) in people(n_people) {
        let adult = age_on_records_date(person_truth(&config, person_idx).demographics.birth_date) >= 18;
        if adult {
            n_adults += 1
        } else {
            n_children += 1
        }
        let kinds: BTreeSet<OrganisationKind> =
            bundles.iter().map(|source| organisation(&source.source_ods_code).expect("known").kind).collect();
        for kind in &kinds {
            *known_to.entry(*kind).or_default() += 1;
        }
        if adult && kinds.contains(&OrganisationKind::LocalAuthority) {
            adults_in_social_care += 1;
        }
        for source in &bundles {
            for entry in entries(&source.bundle) {
                let resource = &entry["resource"];
                if resource["resourceType"] == "Flag" {
                    *flags
                        .entry(resource["code"]["coding"][0]["display"].as_str().unwrap().to_string())
                        .or_default() += 1;
                }
                let respect = |value: &serde_json::Value| value.to_string().contains("1382601000000107");
                if (resource["resourceType"] == "CarePlan" && respect(&resource["category"]))
                    || (resource["resourceType"] == "DocumentReference" && respect(&resource["type"]))
                {
                    respect_forms += 1;
                }
            }
        }
    }
    let share = |kind: OrganisationKind| known_to.get(&kind).copied().unwrap_or(0) as f64 / n_people as f64;
    println!("seed {SEED}: {n_people} people ({n_children} children): flags {flags:?}, ReSPECT forms {respect_forms}");
    for kind in [
        OrganisationKind::GpPractice,
        OrganisationKind::AcuteTrust,
        OrganisationKind::CommunityTrust,
        OrganisationKind::MentalHealthTrust,
        OrganisationKind::AmbulanceTrust,
        OrganisationKind::LocalAuthority,
        OrganisationKind::Hospice,
    ] {
        println!("  known to {kind:?}: {:.3}", share(kind));
    }
    let adult_social_care = adults_in_social_care as f64 / n_adults as f64;
    println!("  adults known to social care: {adult_social_care:.3}");
    assert!((0.999..=1.0).contains(&share(OrganisationKind::GpPractice)));
    assert!((0.06..=0.14).contains(&share(OrganisationKind::MentalHealthTrust)));
    assert!((0.03..=0.08).contains(&share(OrganisationKind::AmbulanceTrust)));
    assert!((0.05..=0.12).contains(&adult_social_care));
    let child_protection =
        flags.get("Subject to child protection plan").copied().unwrap_or(0) as f64 / n_children as f64;
    assert!((0.002..=0.025).contains(&child_protection), "{child_protection}");
    assert!(flags.contains_key("Looked after child") && flags.contains_key("Vulnerable adult"));
    assert!(respect_forms > 0);
}

#[test]
fn surnames_are_as_common_as_in_life() {
    let n_people = 5_000;
    let config = config(n_people);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for idx in 0..n_people {
        *counts.entry(person_truth(&config, idx).demographics.family_name).or_default() += 1;
    }
    let mut ranked: Vec<_> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    println!("seed {SEED}: commonest surnames {:?}, {} distinct", &ranked[..8], ranked.len());
    assert_eq!(ranked[0].0, "Smith");
    assert!(ranked[..5].iter().any(|(name, _)| name == "Jones"));
    assert!(ranked.len() > 300);
}

#[test]
fn observations_spread_over_years_so_date_searches_mean_something() {
    let mut years_by_person: Vec<BTreeSet<i32>> = Vec::new();
    for (_, bundles) in people(300) {
        let mut years = BTreeSet::new();
        for source in &bundles {
            for entry in entries(&source.bundle) {
                if let Some(when) = entry["resource"]["effectiveDateTime"].as_str() {
                    years.insert(when[..4].parse::<i32>().expect("a year"));
                }
            }
        }
        years_by_person.push(years);
    }
    let all_years: BTreeSet<i32> = years_by_person.iter().flatten().copied().collect();
    let with_several_years = years_by_person.iter().filter(|years| years.len() >= 4).count();
    println!(
        "seed {SEED}: observation years {:?}..{:?}; {with_several_years} of 300 people have results in 4+ years",
        all_years.first(),
        all_years.last()
    );
    assert!(all_years.len() >= 10);
    assert!(with_several_years >= 60);
    assert!(all_years.iter().all(|year| *year <= RECORDS_AS_AT.year));
}
