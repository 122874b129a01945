//! The true person: who they are, where they live, what is wrong with them and which organisations hold records about
//! them. Everything here is drawn from the person's own random stream, so any person can be made on their own. The
//! second of twins (person `2k + 1`) first replays the start of the first twin's stream to take what they share.

use kmcr_fhir::NhsNumber;

use crate::SynthConfig;
use crate::clinical::{CHRONIC_CONDITIONS, ChronicSpec, age_band};
use crate::codes::{Code, allergies};
use crate::date::{Date, RECORDS_AS_AT, as_at_day};
use crate::identity::nhs_number;
use crate::names::{HERITAGES, Heritage, family_name_for_sex, given_name, surname};
use crate::organisations::{Organisation, OrganisationKind, organisation, organisation_index, organisations};
use crate::places::{Town, address_lines, heritage_weight_factor, pick_town, postcode, previous_address};
use crate::rng::{Rng, stream};
use crate::short_names::are_forms_of_one_name;

/// Administrative gender as FHIR writes it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Gender {
    Male,
    Female,
}

impl Gender {
    pub fn as_fhir(&self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
        }
    }
}

/// A postal address.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Address {
    pub lines: Vec<String>,
    pub city: String,
    pub district: String,
    pub postal_code: String,
}

/// Who a person is, as a record would hold it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Demographics {
    pub title: Option<String>,
    /// First name, then middle names.
    pub given_names: Vec<String>,
    pub family_name: String,
    pub gender: Gender,
    pub birth_date: Date,
    pub address: Address,
    pub mobile_phone: Option<String>,
    pub home_phone: Option<String>,
}

/// A long-term condition and when it began.
pub(crate) struct Condition {
    pub spec: &'static ChronicSpec,
    pub onset_day: i64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Smoking {
    Never,
    Former,
    Current,
}

/// When a safeguarding flag was raised, and when it ended if it has.
#[derive(Clone, Copy)]
pub(crate) struct FlagPeriod {
    pub start_day: i64,
    pub end_day: Option<i64>,
}

/// Which organisation holds a person's ReSPECT form.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum RespectHolder {
    GpPractice,
    AcuteTrust,
    Hospice,
}

pub(crate) struct Health {
    pub conditions: Vec<Condition>,
    pub smoking: Smoking,
    pub body_mass_index: f64,
    /// Adult height; children are measured against their age instead.
    pub height_cm: f64,
    pub systolic_mm_hg: f64,
    pub diastolic_mm_hg: f64,
    pub hba1c_mmol_per_mol: f64,
    /// Empty means "no known allergy".
    pub allergies: Vec<&'static Code>,
    pub child_protection_plan: Option<FlagPeriod>,
    pub looked_after_child: Option<FlagPeriod>,
    pub vulnerable_adult: Option<FlagPeriod>,
    pub respect: Option<RespectHolder>,
}

impl Health {
    pub(crate) fn has_code(&self, code: &str) -> bool {
        self.conditions.iter().any(|condition| condition.spec.code.code == code)
    }
}

/// An organisation that holds records about the person.
#[derive(Clone, Copy)]
pub(crate) struct Source {
    pub organisation: &'static Organisation,
    pub organisation_idx: usize,
    /// False for a second acute trust, which sees the person less.
    pub main: bool,
}

pub(crate) struct Person {
    pub seed: u64,
    pub idx: usize,
    /// `None` past the test range's numbers: see [`crate::max_people_with_nhs_numbers`].
    pub nhs_number: Option<NhsNumber>,
    pub demographics: Demographics,
    pub heritage: Heritage,
    pub town: &'static Town,
    pub birth_day: i64,
    pub age_years: u32,
    pub gp_practice: &'static Organisation,
    /// The other twin, when the person is one of twins (people `2k` and `2k + 1`).
    pub twin_person_idx: Option<usize>,
    pub health: Health,
    pub sources: Vec<Source>,
}

/// About 1.5% of maternities in England and Wales are multiple births, nearly all twins (ONS birth characteristics):
/// a pair of people `2k`, `2k + 1` are twins with about twice that chance, since two births are one maternity.
pub const TWIN_PAIR_CHANCE: f64 = 0.03;

/// A third of twins are identical and so of one sex; the rest are of one sex half the time.
const TWINS_OF_ONE_SEX_CHANCE: f64 = 2.0 / 3.0;

/// Who the person is from birth, and where they live: what twins share, apart from sex and names.
struct Born {
    town: &'static Town,
    heritage: Heritage,
    female: bool,
    birth_day: i64,
    age_years: u32,
    demographics: Demographics,
    gp_practice: &'static Organisation,
}

impl Born {
    /// The first draws of the person's own stream, in the order they have always been made, so that a person who is
    /// not a twin comes out as before twins existed.
    fn draw(rng: &mut Rng) -> Born {
        let town = pick_town(rng);
        let heritage = pick_heritage(rng, town);
        let age_years = pick_age(rng);
        let female = rng.chance(if age_years >= 80 { 0.6 } else { 0.505 });
        let birth_day = as_at_day() - i64::from(age_years) * 365 - (i64::from(age_years) / 4) - rng.between(0, 364);
        let birth_date = Date::from_day_number(birth_day);
        let age_years = birth_date.years_until(RECORDS_AS_AT);
        let demographics = pick_demographics(rng, town, heritage, female, birth_date, age_years);
        let gp_practice = organisation(rng.pick_copy(town.gp_practices)).expect("towns name the region's practices");
        Born { town, heritage, female, birth_day, age_years, demographics, gp_practice }
    }

    /// The second of twins: the first twin's family name (in the form for their own sex), birth date, address, home
    /// phone and practice, with their own sex, given names, title and mobile, drawn from their own stream.
    fn twin_of(first: &Born, rng: &mut Rng) -> Born {
        let female = if rng.chance(TWINS_OF_ONE_SEX_CHANCE) { first.female } else { !first.female };
        let Demographics { given_names: first_given_names, family_name, birth_date, address, home_phone, .. } =
            &first.demographics;
        let given_heritage = given_name_heritage(rng, first.heritage, first.age_years);
        let first_name = loop {
            let name = given_name(rng, given_heritage, female, birth_date.year);
            // Parents do not give twins one name, nor William and Bill.
            if !are_forms_of_one_name(name, &first_given_names[0]) {
                break name;
            }
        };
        let mut given_names = vec![first_name.to_string()];
        if rng.chance(middle_name_chance(first.heritage)) {
            let middle = given_name(rng, given_heritage, female, birth_date.year);
            if middle != first_name {
                given_names.push(middle.to_string());
            }
        }
        let demographics = Demographics {
            title: pick_title(rng, female, first.age_years),
            given_names,
            family_name: family_name_for_sex(family_name, female).to_string(),
            gender: if female { Gender::Female } else { Gender::Male },
            birth_date: *birth_date,
            address: address.clone(),
            mobile_phone: pick_mobile_phone(rng, first.age_years),
            home_phone: home_phone.clone(),
        };
        Born { female, demographics, ..*first }
    }
}

impl Person {
    pub(crate) fn generate(config: &SynthConfig, person_idx: usize) -> Person {
        let mut rng = Rng::from_words(&[config.seed, person_idx as u64, stream::PERSON]);
        let twin_person_idx = twin_person_idx(config.seed, person_idx);
        let born = match twin_person_idx {
            Some(first_idx) if first_idx < person_idx => {
                let first = Born::draw(&mut Rng::from_words(&[config.seed, first_idx as u64, stream::PERSON]));
                Born::twin_of(&first, &mut rng)
            }
            _ => Born::draw(&mut rng),
        };
        let Born { town, heritage, female, birth_day, age_years, demographics, gp_practice } = born;
        let health = pick_health(&mut rng, age_years, female, birth_day);
        let mut health = health;
        let sources = pick_sources(&mut rng, town, gp_practice, age_years, &health);
        health.respect = place_respect(&mut rng, &sources, health.respect.is_some());
        Person {
            seed: config.seed,
            idx: person_idx,
            nhs_number: nhs_number(config.seed, person_idx),
            demographics,
            heritage,
            town,
            birth_day,
            age_years,
            gp_practice,
            twin_person_idx,
            health,
            sources,
        }
    }

    /// The address the person lived at before their last move, which some sources still hold. Drawn from a stream of
    /// the household (twins share it), so every source that holds an old address holds the same one.
    pub(crate) fn previous_address(&self) -> Address {
        let household_idx = self.twin_person_idx.map_or(self.idx, |twin_idx| twin_idx.min(self.idx));
        let mut rng = Rng::from_words(&[self.seed, household_idx as u64, stream::PREVIOUS_ADDRESS]);
        previous_address(&mut rng, self.town, &self.demographics.address)
    }

    pub(crate) fn is_female(&self) -> bool {
        self.demographics.gender == Gender::Female
    }

    /// The day the person reached `age_years`.
    pub(crate) fn day_at_age(&self, age_years: u32) -> i64 {
        self.birth_day + i64::from(age_years) * 365 + i64::from(age_years) / 4
    }
}

/// Ages follow the population pyramid of Kent (ONS mid-year estimates, five-year bands, in tenths of a percent).
fn pick_age(rng: &mut Rng) -> u32 {
    const BANDS: &[((u32, u32), u32)] = &[
        ((0, 4), 54),
        ((5, 9), 59),
        ((10, 14), 61),
        ((15, 19), 57),
        ((20, 24), 54),
        ((25, 29), 60),
        ((30, 34), 64),
        ((35, 39), 64),
        ((40, 44), 61),
        ((45, 49), 62),
        ((50, 54), 69),
        ((55, 59), 69),
        ((60, 64), 61),
        ((65, 69), 53),
        ((70, 74), 53),
        ((75, 79), 41),
        ((80, 84), 27),
        ((85, 89), 16),
        ((90, 100), 9),
    ];
    let (low, high) = *rng.weighted(BANDS);
    if low == 90 {
        // Past ninety each year holds fewer people than the one before.
        let years_past_ninety = (rng.unit() * rng.unit() * 11.0) as u32;
        return (90 + years_past_ninety).min(high);
    }
    rng.between(i64::from(low), i64::from(high)) as u32
}

fn pick_heritage(rng: &mut Rng, town: &Town) -> Heritage {
    let mut weighted = [(Heritage::English, 0u32); 10];
    for (slot, (heritage, weight)) in weighted.iter_mut().zip(HERITAGES) {
        *slot = (*heritage, weight * heritage_weight_factor(town, *heritage));
    }
    *rng.weighted(&weighted)
}

/// The person's twin, if they have one: people `2k` and `2k + 1` are twins by a draw from a stream of the pair alone.
fn twin_person_idx(seed: u64, person_idx: usize) -> Option<usize> {
    let pair_idx = person_idx / 2;
    let other_idx = person_idx ^ 1;
    let twins = Rng::from_words(&[seed, pair_idx as u64, stream::TWINS]).chance(TWIN_PAIR_CHANCE);
    twins.then_some(other_idx)
}

/// Children of families settled here for a generation are often given English names.
fn given_name_heritage(rng: &mut Rng, heritage: Heritage, age_years: u32) -> Heritage {
    if heritage != Heritage::English && age_years < 30 && rng.chance(0.2) { Heritage::English } else { heritage }
}

fn middle_name_chance(heritage: Heritage) -> f64 {
    match heritage {
        Heritage::English | Heritage::Scottish | Heritage::Welsh | Heritage::Irish => 0.55,
        _ => 0.2,
    }
}

fn pick_demographics(
    rng: &mut Rng,
    town: &Town,
    heritage: Heritage,
    female: bool,
    birth_date: Date,
    age_years: u32,
) -> Demographics {
    let given_heritage = given_name_heritage(rng, heritage, age_years);
    let first = given_name(rng, given_heritage, female, birth_date.year);
    let mut given_names = vec![first.to_string()];
    if rng.chance(middle_name_chance(heritage)) {
        let middle = given_name(rng, given_heritage, female, birth_date.year);
        if middle != first {
            given_names.push(middle.to_string());
        }
    }
    let family_name = surname(rng, heritage, female).to_string();
    let district = *rng.pick(town.postcode_districts);
    let address = Address {
        lines: address_lines(rng),
        city: town.name.to_string(),
        district: "Kent".to_string(),
        postal_code: postcode(rng, district),
    };
    let mobile_phone = pick_mobile_phone(rng, age_years);
    let home_phone_chance = if age_years >= 65 { 0.7 } else { 0.25 };
    let home_phone = rng.chance(home_phone_chance).then(|| drama_number(rng, "01632 960"));
    Demographics {
        title: pick_title(rng, female, age_years),
        given_names,
        family_name,
        gender: if female { Gender::Female } else { Gender::Male },
        birth_date,
        address,
        mobile_phone,
        home_phone,
    }
}

fn pick_mobile_phone(rng: &mut Rng, age_years: u32) -> Option<String> {
    let mobile_chance = match age_years {
        0..=12 => 0.0,
        13..=17 => 0.6,
        18..=69 => 0.92,
        _ => 0.6,
    };
    rng.chance(mobile_chance).then(|| drama_number(rng, "07700 900"))
}

/// A number in an Ofcom range kept for drama (07700 900000-900999, 01632 960000-960999): never a real line.
fn drama_number(rng: &mut Rng, prefix: &str) -> String {
    let mut number = String::with_capacity(12);
    number.push_str(prefix);
    let digits = rng.below(1000);
    number.push(char::from(b'0' + (digits / 100) as u8));
    number.push(char::from(b'0' + (digits / 10 % 10) as u8));
    number.push(char::from(b'0' + (digits % 10) as u8));
    number
}

fn pick_title(rng: &mut Rng, female: bool, age_years: u32) -> Option<String> {
    if age_years < 16 {
        return None;
    }
    if age_years >= 28 && rng.chance(0.01) {
        return Some("Dr".to_string());
    }
    let title = match (female, rng.unit()) {
        (false, _) => "Mr",
        (true, roll) if age_years >= 25 && roll < 0.55 => "Mrs",
        (true, roll) if roll < 0.8 => "Ms",
        (true, _) => "Miss",
    };
    Some(title.to_string())
}

fn pick_health(rng: &mut Rng, age_years: u32, female: bool, birth_day: i64) -> Health {
    let band = age_band(age_years);
    let mut conditions = Vec::new();
    for spec in CHRONIC_CONDITIONS {
        let sex_factor = if female { spec.female_factor } else { spec.male_factor };
        if age_years < spec.youngest_onset_age || !rng.chance(spec.prevalence_by_age_band[band] * sex_factor) {
            continue;
        }
        let onset_age = rng.between(i64::from(spec.youngest_onset_age), i64::from(age_years));
        let onset_day = (birth_day + onset_age * 365 + rng.between(0, 364)).min(as_at_day() - 14);
        conditions.push(Condition { spec, onset_day });
    }
    conditions.sort_by_key(|condition| condition.onset_day);
    let has = |code: &str| conditions.iter().any(|condition| condition.spec.code.code == code);
    let smoking = pick_smoking(rng, age_years);
    let body_mass_index = if age_years >= 18 { rng.normal(27.5, 5.0).clamp(16.0, 55.0) } else { 0.0 };
    let height_cm = if female { rng.normal(162.5, 6.5) } else { rng.normal(176.0, 7.0) }.clamp(140.0, 205.0);
    let hypertension = has("38341003");
    let systolic_mm_hg = 110.0 + 0.45 * f64::from(age_years.min(90)) + if hypertension { 14.0 } else { 0.0 };
    let systolic_mm_hg = rng.normal(systolic_mm_hg, 10.0).clamp(90.0, 200.0);
    let diastolic_mm_hg = rng.normal(68.0 + 0.15 * f64::from(age_years.min(70)), 7.0).clamp(50.0, 110.0);
    let diabetic = has("44054006") || has("46635009");
    let hba1c_mmol_per_mol = if diabetic { rng.normal(56.0, 11.0).max(40.0) } else { rng.normal(37.0, 3.5) };
    let allergies = pick_allergies(rng);
    let child = age_years < 18;
    let recent = |rng: &mut Rng, years_back: i64| FlagPeriod {
        start_day: as_at_day() - rng.between(30, 365 * years_back),
        end_day: None,
    };
    let mut child_protection_plan = (child && rng.chance(0.011)).then(|| recent(rng, 2));
    if let Some(period) = child_protection_plan.as_mut() {
        // A third of plans ended within the last year; CP-IS still shows them for twelve months.
        let earliest_end = (period.start_day + 30).max(as_at_day() - 365);
        let latest_end = as_at_day() - 7;
        if earliest_end <= latest_end && rng.chance(0.33) {
            period.end_day = Some(rng.between(earliest_end, latest_end));
        }
    }
    let looked_after_child = (child && rng.chance(0.007)).then(|| recent(rng, 5));
    let vulnerable_adult = (!child && rng.chance(0.005)).then(|| recent(rng, 4));
    let has_cancer = has("254837009") || has("399068003") || has("363406005");
    let respect_chance = match age_years {
        80.. => 0.3,
        65..=79 if has_cancer => 0.25,
        65..=79 => 0.05,
        _ => 0.0,
    };
    let respect = rng.chance(respect_chance).then_some(RespectHolder::GpPractice);
    Health {
        conditions,
        smoking,
        body_mass_index,
        height_cm,
        systolic_mm_hg,
        diastolic_mm_hg,
        hba1c_mmol_per_mol,
        allergies,
        child_protection_plan,
        looked_after_child,
        vulnerable_adult,
        respect,
    }
}

fn pick_smoking(rng: &mut Rng, age_years: u32) -> Smoking {
    let (current, former) = match age_years {
        0..=15 => (0.0, 0.0),
        16..=39 => (0.16, 0.10),
        40..=59 => (0.15, 0.25),
        60..=74 => (0.11, 0.38),
        _ => (0.06, 0.45),
    };
    let roll = rng.unit();
    if roll < current {
        Smoking::Current
    } else if roll < current + former {
        Smoking::Former
    } else {
        Smoking::Never
    }
}

fn pick_allergies(rng: &mut Rng) -> Vec<&'static Code> {
    static ALLERGIES: &[(Code, f64)] = &[
        (allergies::PENICILLIN, 0.08),
        (allergies::PEANUT, 0.015),
        (allergies::SHELLFISH, 0.01),
        (allergies::LATEX, 0.008),
        (allergies::GRASS_POLLEN, 0.03),
    ];
    ALLERGIES.iter().filter(|(_, prevalence)| rng.chance(*prevalence)).map(|(code, _)| code).collect()
}

fn pick_sources(
    rng: &mut Rng,
    town: &Town,
    gp_practice: &'static Organisation,
    age_years: u32,
    health: &Health,
) -> Vec<Source> {
    let band = age_band(age_years);
    let n_conditions = health.conditions.len();
    let mut sources = vec![source(gp_practice.ods_code, true)];
    let acute_chance = if age_years == 0 { 0.9 } else { [0.35, 0.45, 0.55, 0.72, 0.88][band] };
    let acute_chance = (acute_chance + 0.05 * n_conditions as f64).min(0.97);
    if rng.chance(acute_chance) {
        sources.push(source(town.acute_trust, true));
        if rng.chance(0.06) {
            let other_trusts: Vec<&Organisation> = organisations()
                .iter()
                .filter(|organisation| {
                    organisation.kind == OrganisationKind::AcuteTrust && organisation.ods_code != town.acute_trust
                })
                .collect();
            sources.push(source(rng.pick(&other_trusts).ods_code, false));
        }
    }
    let community_chance = match age_years {
        0..=4 => 0.6,
        5..=17 => 0.1,
        18..=64 => 0.07,
        65..=79 => 0.25,
        _ => 0.55,
    };
    if rng.chance(community_chance) {
        sources.push(source("RYY", true));
    }
    let severe_mental_illness = health.conditions.iter().any(|condition| condition.spec.severe_mental_illness);
    let common_mental_illness = health.has_code("35489007") || health.has_code("197480006");
    let mental_health_chance = match (age_years, severe_mental_illness, common_mental_illness) {
        (0..=15, _, _) => 0.0,
        (_, true, _) => 0.9,
        (_, false, true) => 0.28,
        _ => 0.025,
    };
    if rng.chance(mental_health_chance) {
        sources.push(source("RXY", true));
    }
    if rng.chance([0.02, 0.03, 0.04, 0.08, 0.18][band]) {
        sources.push(source("RYD", true));
    }
    let dementia = health.has_code("52448006");
    let flagged = health.child_protection_plan.is_some()
        || health.looked_after_child.is_some()
        || health.vulnerable_adult.is_some();
    let social_care_chance = [0.03, 0.03, 0.05, 0.09, 0.28][band] + if dementia { 0.3 } else { 0.0 };
    if flagged || rng.chance(social_care_chance) {
        sources.push(source(town.council, true));
    }
    let has_cancer = health.has_code("254837009") || health.has_code("399068003") || health.has_code("363406005");
    let hospice_chance = match age_years {
        0..=59 => 0.001,
        60..=74 => 0.01,
        _ => 0.04,
    } + if has_cancer { 0.25 } else { 0.0 };
    if rng.chance(hospice_chance) {
        sources.push(source(town.hospice, true));
    }
    sources
}

fn source(ods_code: &str, main: bool) -> Source {
    let organisation_idx = organisation_index(ods_code);
    Source { organisation: &organisations()[organisation_idx], organisation_idx, main }
}

/// Where a person's ReSPECT form lives, once the organisations that know them are settled: everyone a hospice
/// cares for has one.
fn place_respect(rng: &mut Rng, sources: &[Source], wanted: bool) -> Option<RespectHolder> {
    let known = |kind: OrganisationKind| sources.iter().any(|source| source.organisation.kind == kind);
    if known(OrganisationKind::Hospice) {
        Some(RespectHolder::Hospice)
    } else if !wanted {
        None
    } else if known(OrganisationKind::AcuteTrust) && rng.chance(0.4) {
        Some(RespectHolder::AcuteTrust)
    } else {
        Some(RespectHolder::GpPractice)
    }
}

/// The person's name as letters and documents print it: given names, then the family name in capitals.
pub(crate) fn display_name(demographics: &Demographics) -> String {
    let mut name = String::with_capacity(32);
    for given in &demographics.given_names {
        name.push_str(given);
        name.push(' ');
    }
    name.push_str(&demographics.family_name.to_uppercase());
    name
}
