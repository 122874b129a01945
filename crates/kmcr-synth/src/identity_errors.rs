//! What goes wrong when a source records who a person is: typing slips, the name the person goes by, swapped names,
//! mistyped or missing birth dates, an old address, missing telephone numbers, a family name from before a marriage.
//!
//! Each source record draws its errors from that source's own identity stream, independently of every other source,
//! at rates that depend on the kind of organisation: a GP practice's registration is traced against the national
//! register and kept up to date, a hospital's patient administration system is typed at a desk and traced only now and
//! then, an ambulance crew writes what a patient or bystander tells them at the roadside, and a council's case system
//! is not traced at all. The rates are plausible rather than measured: published linkage studies put single-field
//! disagreement in English hospital data at a few percent, and these keep to that.

use crate::date::{Date, RECORDS_AS_AT};
use crate::identity::{RecordedAddress, RecordedDemographics};
use crate::names::surname;
use crate::organisations::OrganisationKind;
use crate::person::{Gender, Person};
use crate::rng::Rng;
use crate::short_names::short_forms;

/// One error a source made in recording a person, as listed in [`crate::SourcePatientRecord::identity_errors`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum IdentityError {
    /// The family name is another one: from before or after a marriage, or double-barrelled (Smith-Jones).
    FamilyNameChanged,
    /// The given names are their initials (`J` for John).
    GivenNamesAsInitials,
    /// The first given name is a short form or nickname of it (Bill for William).
    ShortGivenName,
    /// One character of the first given name inserted, deleted, replaced by a keyboard neighbour, or two swapped.
    GivenNameTypingSlip,
    /// The same, in the family name.
    FamilyNameTypingSlip,
    /// The first given name and the family name, each in the other's place.
    NamesSwapped,
    /// Day and month of the birth date exchanged (possible only when the day is 12 or less).
    BirthDayAndMonthTransposed,
    /// One digit of the birth date replaced by its neighbour on the keyboard, still a valid past date.
    BirthDateDigitMistyped,
    BirthDateMissing,
    /// The person's address before their last move: another street and postcode in the same area.
    PreviousAddress,
    PostcodeMissing,
    MobilePhoneMissing,
    HomePhoneMissing,
}

/// The chance of each error in one source record. Where an error needs something the person may not have (a short
/// form of their name, a birth day of 12 or less, a telephone number, adulthood for a change of family name), the
/// chance is of the error among the records where it is possible.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct IdentityErrorRates {
    /// Adults only.
    pub family_name_changed: f64,
    pub given_names_as_initials: f64,
    /// People whose first name has a short form.
    pub short_given_name: f64,
    /// A slip in the first given name or the family name, each as likely.
    pub name_typing_slip: f64,
    pub names_swapped: f64,
    /// Birth days of 12 or less whose transposed date is not after the extract.
    pub birth_day_and_month_transposed: f64,
    pub birth_date_digit_mistyped: f64,
    pub birth_date_missing: f64,
    pub previous_address: f64,
    pub postcode_missing: f64,
    /// Each of mobile and home number, where the person has one.
    pub phone_missing: f64,
}

/// GP practices: the registration is traced against the national register (PDS), which the practice itself keeps up to
/// date, so errors are rare and the address is current.
pub const GP_PRACTICE_ERROR_RATES: IdentityErrorRates = IdentityErrorRates {
    family_name_changed: 0.002, // a marriage reaches the register a little after the person tells the practice
    given_names_as_initials: 0.0, // registration takes full names from the register
    short_given_name: 0.005,    // a "known as" name sometimes typed into the given name
    name_typing_slip: 0.005,    // typed at registration, then traced, so slips rarely survive
    names_swapped: 0.0005,      // tracing corrects nearly every swap
    birth_day_and_month_transposed: 0.002, // the occasional American-style entry that the trace did not catch
    birth_date_digit_mistyped: 0.002, // likewise
    birth_date_missing: 0.0,    // no registration without a birth date
    previous_address: 0.0,      // the practice is where a move is first recorded
    postcode_missing: 0.0,      // the address comes from the register with its postcode
    phone_missing: 0.05,        // most patients give the practice a number; some never do
};

/// Hospitals, mental health, community and hospice services: traced at first contact, then typed at reception desks
/// and updated only when the patient comes back, so addresses fall out of date between attendances.
pub const HOSPITAL_ERROR_RATES: IdentityErrorRates = IdentityErrorRates {
    family_name_changed: 0.005,            // a marriage or divorce since the last attendance
    given_names_as_initials: 0.003,        // a referral letter gave only initials
    short_given_name: 0.03,                // the name the patient gives at the desk
    name_typing_slip: 0.02,                // typed from what is said or written on a referral
    names_swapped: 0.002,                  // first and family name in the wrong boxes
    birth_day_and_month_transposed: 0.008, // day and month typed the American way round
    birth_date_digit_mistyped: 0.008,      // a neighbouring key
    birth_date_missing: 0.0,               // no hospital record is opened without one
    previous_address: 0.07,                // the patient moved since they last came and nobody re-traced them
    postcode_missing: 0.002,               // an address typed in full without its postcode
    phone_missing: 0.15,                   // numbers are asked for at booking, not always given
};

/// Ambulance crews: what a patient, relative or bystander can say at the roadside, often with no way to check it.
pub const AMBULANCE_ERROR_RATES: IdentityErrorRates = IdentityErrorRates {
    family_name_changed: 0.003, // a married name given, the register holding the maiden name, or the reverse
    given_names_as_initials: 0.02, // a bystander or a label on a door gives only an initial
    short_given_name: 0.08,     // people give the name they go by
    name_typing_slip: 0.05,     // written on a tablet in a moving vehicle, spelling unchecked
    names_swapped: 0.008,       // an unfamiliar name split the wrong way round
    birth_day_and_month_transposed: 0.015, // said aloud and typed in a hurry
    birth_date_digit_mistyped: 0.02, // likewise
    birth_date_missing: 0.04,   // an unconscious or confused patient: age estimated, no date recorded
    previous_address: 0.03,     // the address the patient still gives out of habit
    postcode_missing: 0.08,     // the incident address taken without a postcode
    phone_missing: 0.6,         // a contact number is seldom taken at the scene
};

/// Council social care systems: case records opened years ago, rarely traced against the national register.
pub const COUNCIL_ERROR_RATES: IdentityErrorRates = IdentityErrorRates {
    family_name_changed: 0.008,    // names change over a long case history and the record lags
    given_names_as_initials: 0.01, // a referral naming only "Mrs J Smith"
    short_given_name: 0.05,        // case workers use the name the person goes by
    name_typing_slip: 0.03,        // typed from referrals and telephone calls
    names_swapped: 0.004,          // first and family name in the wrong fields
    birth_day_and_month_transposed: 0.012, // no trace to catch it
    birth_date_digit_mistyped: 0.012, // likewise
    birth_date_missing: 0.005,     // a referral without a date of birth, never completed
    previous_address: 0.10,        // the address when the case was opened, not updated after a move
    postcode_missing: 0.01,        // an address typed in full without its postcode
    phone_missing: 0.3,            // contact is often through a relative instead
};

/// The rates of identity errors in the records of a kind of organisation.
pub fn identity_error_rates(kind: OrganisationKind) -> &'static IdentityErrorRates {
    match kind {
        OrganisationKind::GpPractice => &GP_PRACTICE_ERROR_RATES,
        OrganisationKind::AcuteTrust
        | OrganisationKind::MentalHealthTrust
        | OrganisationKind::CommunityTrust
        | OrganisationKind::Hospice => &HOSPITAL_ERROR_RATES,
        OrganisationKind::AmbulanceTrust => &AMBULANCE_ERROR_RATES,
        OrganisationKind::LocalAuthority => &COUNCIL_ERROR_RATES,
    }
}

/// Adds a source's errors to its copy of the person's demographics, drawing only from that source's identity stream
/// (the previous address is a fact about the person, drawn from their own stream, only when a source holds it).
pub(crate) fn add_identity_errors(
    rng: &mut Rng,
    person: &Person,
    rates: &IdentityErrorRates,
    recorded: &mut RecordedDemographics,
) -> Vec<IdentityError> {
    let mut errors = Vec::new();
    if person.age_years >= 18 && rng.chance(rates.family_name_changed) {
        recorded.family_name = changed_family_name(rng, person);
        errors.push(IdentityError::FamilyNameChanged);
    }
    add_given_name_errors(rng, rates, recorded, &mut errors);
    if rng.chance(rates.name_typing_slip) {
        // An initial is too short to mistype; the slip goes to the family name instead.
        let first_name_is_whole = recorded.given_names[0].chars().count() > 1;
        if first_name_is_whole && rng.chance(0.5) {
            recorded.given_names[0] = typing_slip(rng, &recorded.given_names[0]);
            errors.push(IdentityError::GivenNameTypingSlip);
        } else {
            recorded.family_name = typing_slip(rng, &recorded.family_name);
            errors.push(IdentityError::FamilyNameTypingSlip);
        }
    }
    if rng.chance(rates.names_swapped) {
        std::mem::swap(&mut recorded.given_names[0], &mut recorded.family_name);
        errors.push(IdentityError::NamesSwapped);
    }
    add_birth_date_errors(rng, rates, recorded, &mut errors);
    if rng.chance(rates.previous_address) {
        recorded.address = RecordedAddress::from(&person.previous_address());
        errors.push(IdentityError::PreviousAddress);
    }
    if rng.chance(rates.postcode_missing) {
        recorded.address.postal_code = None;
        errors.push(IdentityError::PostcodeMissing);
    }
    if recorded.mobile_phone.is_some() && rng.chance(rates.phone_missing) {
        recorded.mobile_phone = None;
        errors.push(IdentityError::MobilePhoneMissing);
    }
    if recorded.home_phone.is_some() && rng.chance(rates.phone_missing) {
        recorded.home_phone = None;
        errors.push(IdentityError::HomePhoneMissing);
    }
    errors
}

/// Initials or a short form, never both: one draw decides the form the first name takes.
fn add_given_name_errors(
    rng: &mut Rng,
    rates: &IdentityErrorRates,
    recorded: &mut RecordedDemographics,
    errors: &mut Vec<IdentityError>,
) {
    let roll = rng.unit();
    if roll < rates.given_names_as_initials {
        for given in &mut recorded.given_names {
            *given = given.chars().next().expect("given names are not empty").to_string();
        }
        errors.push(IdentityError::GivenNamesAsInitials);
    } else if roll < rates.given_names_as_initials + rates.short_given_name {
        let forms = short_forms(&recorded.given_names[0]);
        if !forms.is_empty() {
            // The first form listed is the commonest.
            let form = if rng.chance(0.5) { forms[0] } else { rng.pick_copy(forms) };
            recorded.given_names[0] = form.to_string();
            errors.push(IdentityError::ShortGivenName);
        }
    }
}

/// Missing, transposed or mistyped, never two of these: one draw decides.
fn add_birth_date_errors(
    rng: &mut Rng,
    rates: &IdentityErrorRates,
    recorded: &mut RecordedDemographics,
    errors: &mut Vec<IdentityError>,
) {
    let Some(birth_date) = recorded.birth_date else { return };
    let roll = rng.unit();
    let missing_below = rates.birth_date_missing;
    let transposed_below = missing_below + rates.birth_day_and_month_transposed;
    let mistyped_below = transposed_below + rates.birth_date_digit_mistyped;
    if roll < missing_below {
        recorded.birth_date = None;
        errors.push(IdentityError::BirthDateMissing);
    } else if roll < transposed_below {
        if let Some(transposed) = day_and_month_transposed(birth_date) {
            recorded.birth_date = Some(transposed);
            errors.push(IdentityError::BirthDayAndMonthTransposed);
        }
    } else if roll < mistyped_below
        && let Some(mistyped) = birth_date_digit_mistyped(rng, birth_date)
    {
        recorded.birth_date = Some(mistyped);
        errors.push(IdentityError::BirthDateDigitMistyped);
    }
}

/// The date with day and month exchanged, when that is another valid date not after the extract.
pub fn day_and_month_transposed(date: Date) -> Option<Date> {
    let transposed = Date { year: date.year, month: date.day, day: date.month };
    (date.day <= 12 && date.day != date.month && transposed <= RECORDS_AS_AT).then_some(transposed)
}

/// One digit of the year's last two, the month or the day replaced by a neighbour on the keyboard's number row,
/// keeping a valid date not after the extract; none when a few tries find no such date.
fn birth_date_digit_mistyped(rng: &mut Rng, date: Date) -> Option<Date> {
    for _ in 0..12 {
        let mut digits = [
            (date.year / 10 % 10) as u8,
            (date.year % 10) as u8,
            date.month / 10,
            date.month % 10,
            date.day / 10,
            date.day % 10,
        ];
        let position = rng.index(digits.len());
        digits[position] = number_row_neighbour(rng, digits[position]);
        let mistyped = Date {
            year: date.year - date.year % 100 + i32::from(digits[0]) * 10 + i32::from(digits[1]),
            month: digits[2] * 10 + digits[3],
            day: digits[4] * 10 + digits[5],
        };
        if mistyped != date && mistyped <= RECORDS_AS_AT && is_valid_date(mistyped) {
            return Some(mistyped);
        }
    }
    None
}

/// The keys either side of a digit on the number row (1 2 3 4 5 6 7 8 9 0).
fn number_row_neighbour(rng: &mut Rng, digit: u8) -> u8 {
    const ROW: &[u8] = &[1, 2, 3, 4, 5, 6, 7, 8, 9, 0];
    let key_idx = ROW.iter().position(|key| *key == digit).expect("a decimal digit");
    match key_idx {
        0 => ROW[1],
        9 => ROW[8],
        _ => ROW[if rng.chance(0.5) { key_idx - 1 } else { key_idx + 1 }],
    }
}

fn is_valid_date(date: Date) -> bool {
    (1..=12).contains(&date.month) && date.day >= 1 && Date::from_day_number(date.day_number()) == date
}

/// Another family name for the person: a woman's name before or after a marriage, or a double-barrelled name joining
/// a partner's.
fn changed_family_name(rng: &mut Rng, person: &Person) -> String {
    /// Most changes of family name in the records are women's, on marriage or divorce.
    const MARRIAGE_NAME_CHANCE: f64 = 2.0 / 3.0;
    let family_name = &person.demographics.family_name;
    let female = person.demographics.gender == Gender::Female;
    let other = loop {
        let other = surname(rng, person.heritage, female);
        if other != family_name {
            break other;
        }
    };
    if female && rng.chance(MARRIAGE_NAME_CHANCE) {
        other.to_string()
    } else if rng.chance(0.5) {
        format!("{family_name}-{other}")
    } else {
        format!("{other}-{family_name}")
    }
}

/// The name with one slip of the hand: a letter replaced by a keyboard neighbour, dropped, doubled or struck with its
/// neighbour, or two letters swapped. Each letter keeps the case of the place it lands in (`Jhon`, `Smiht`).
pub(crate) fn typing_slip(rng: &mut Rng, name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    for _ in 0..16 {
        let slipped = match rng.below(20) {
            0..=6 => substitute_neighbour(rng, &chars),
            7..=11 => delete_letter(rng, &chars),
            12..=15 => insert_letter(rng, &chars),
            _ => transpose_letters(rng, &chars),
        };
        if let Some(slipped) = slipped
            && slipped != chars
        {
            return slipped.into_iter().collect();
        }
    }
    // A name with no ASCII letter to slip on (none is generated): a doubled last letter.
    let mut slipped = name.to_string();
    slipped.push(*chars.last().expect("names are not empty"));
    slipped
}

/// Positions of ASCII letters: slips on accented letters, hyphens and apostrophes are left out.
fn letter_positions(chars: &[char]) -> Vec<usize> {
    (0..chars.len()).filter(|idx| chars[*idx].is_ascii_alphabetic()).collect()
}

fn substitute_neighbour(rng: &mut Rng, chars: &[char]) -> Option<Vec<char>> {
    let positions = letter_positions(chars);
    if positions.is_empty() {
        return None;
    }
    let position = rng.pick_copy(&positions);
    let original = chars[position];
    let neighbour = keyboard_neighbour(rng, original.to_ascii_lowercase())?;
    let mut slipped = chars.to_vec();
    slipped[position] = if original.is_ascii_uppercase() { neighbour.to_ascii_uppercase() } else { neighbour };
    Some(slipped)
}

fn delete_letter(rng: &mut Rng, chars: &[char]) -> Option<Vec<char>> {
    let positions = letter_positions(chars);
    if chars.len() < 3 || positions.is_empty() {
        return None;
    }
    let position = rng.pick_copy(&positions);
    if position == 0 && !chars[1].is_alphabetic() {
        // `O'Connor` does not become `'Connor`.
        return None;
    }
    let mut slipped = chars.to_vec();
    let was_upper = slipped.remove(position).is_ascii_uppercase();
    if was_upper && let Some(next) = slipped.get_mut(position) {
        // The name still begins with a capital (`Smith` to `Mith`).
        *next = next.to_ascii_uppercase();
    }
    Some(slipped)
}

/// A letter typed twice, or a neighbouring key struck with it: always after a letter, so never before the capital.
fn insert_letter(rng: &mut Rng, chars: &[char]) -> Option<Vec<char>> {
    let positions = letter_positions(chars);
    if positions.is_empty() {
        return None;
    }
    let after = rng.pick_copy(&positions);
    let previous = chars[after].to_ascii_lowercase();
    let inserted = if rng.chance(0.5) { previous } else { keyboard_neighbour(rng, previous)? };
    let mut slipped = chars.to_vec();
    slipped.insert(after + 1, inserted);
    Some(slipped)
}

fn transpose_letters(rng: &mut Rng, chars: &[char]) -> Option<Vec<char>> {
    let pairs: Vec<usize> = (0..chars.len().saturating_sub(1))
        .filter(|idx| chars[*idx].is_ascii_alphabetic() && chars[idx + 1].is_ascii_alphabetic())
        .filter(|idx| !chars[*idx].eq_ignore_ascii_case(&chars[idx + 1]))
        .collect();
    if pairs.is_empty() {
        return None;
    }
    let first = rng.pick_copy(&pairs);
    let mut slipped = chars.to_vec();
    let (left, right) = (chars[first], chars[first + 1]);
    slipped[first] = with_case_of(right, left);
    slipped[first + 1] = with_case_of(left, right);
    Some(slipped)
}

fn with_case_of(letter: char, place: char) -> char {
    if place.is_ascii_uppercase() { letter.to_ascii_uppercase() } else { letter.to_ascii_lowercase() }
}

/// The keys around each letter, `a` to `z`, on a UK QWERTY keyboard.
const KEYBOARD_NEIGHBOURS: [&str; 26] = [
    "qwsz", "vghn", "xdfv", "serfcx", "wsdr", "drtgvc", "ftyhbv", "gyujnb", "ujko", "huikmn", "jiolm", "kop", "njk",
    "bhjm", "iklp", "ol", "wa", "edft", "awedxz", "rfgy", "yhji", "cfgb", "qase", "zsdc", "tghu", "asx",
];

/// A key next to a lower-case ASCII letter; none for any other character.
fn keyboard_neighbour(rng: &mut Rng, letter: char) -> Option<char> {
    let letter_idx = (letter as u32).checked_sub('a' as u32).filter(|idx| *idx < 26)? as usize;
    let neighbours = KEYBOARD_NEIGHBOURS[letter_idx].as_bytes();
    Some(char::from(*rng.pick(neighbours)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyboard_neighbours_are_symmetric() {
        for (letter_idx, neighbours) in KEYBOARD_NEIGHBOURS.iter().enumerate() {
            let letter = char::from(b'a' + letter_idx as u8);
            for neighbour in neighbours.bytes() {
                assert!(KEYBOARD_NEIGHBOURS[usize::from(neighbour - b'a')].contains(letter), "{letter} {neighbour}");
            }
        }
    }

    #[test]
    fn typing_slips_change_one_place_and_keep_a_capital() {
        let mut rng = Rng::from_words(&[1]);
        for name in ["Smith", "Margaret", "Al", "Jo", "Wiśniewska", "Smith-Jones", "O'Connor", "Oluwaseun"] {
            for _ in 0..200 {
                let slipped = typing_slip(&mut rng, name);
                assert_ne!(slipped, name);
                assert!(slipped.chars().next().unwrap().is_uppercase(), "{name} -> {slipped}");
                let length_change = slipped.chars().count() as i64 - name.chars().count() as i64;
                assert!(length_change.abs() <= 1, "{name} -> {slipped}");
            }
        }
    }

    #[test]
    fn mistyped_dates_are_valid_past_dates() {
        let mut rng = Rng::from_words(&[2]);
        for day_number in (-20_000..20_000).step_by(37) {
            let date = Date::from_day_number(day_number);
            if let Some(mistyped) = birth_date_digit_mistyped(&mut rng, date) {
                assert!(is_valid_date(mistyped) && mistyped <= RECORDS_AS_AT && mistyped != date, "{date} {mistyped}");
            }
        }
        let date = Date { year: 1980, month: 3, day: 11 };
        assert_eq!(day_and_month_transposed(date), Some(Date { year: 1980, month: 11, day: 3 }));
        assert_eq!(day_and_month_transposed(Date { year: 1980, month: 3, day: 13 }), None);
        assert_eq!(day_and_month_transposed(Date { year: 1980, month: 3, day: 3 }), None);
    }
}
