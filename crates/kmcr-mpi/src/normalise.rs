//! Demographic values made comparable: case, punctuation, spacing and the shapes of postcodes, dates and phone numbers.

/// Lower case letters and single spaces only; apostrophes and hyphens joined (`O'Brien` -> `obrien`), other
/// punctuation a space. `None` when nothing is left.
pub fn name(raw: &str) -> Option<Box<str>> {
    let mut text = String::with_capacity(raw.len());
    let mut pending_space = false;
    for character in raw.chars() {
        let character = fold_accent(character);
        if character.is_alphabetic() {
            if pending_space && !text.is_empty() {
                text.push(' ');
            }
            pending_space = false;
            text.extend(character.to_lowercase());
        } else if character == '\'' || character == '-' || character == '\u{2019}' {
            continue;
        } else {
            pending_space = true;
        }
    }
    (!text.is_empty()).then(|| text.into_boxed_str())
}

/// Letters without their accents, for the few that UK systems often drop (`Zoë` -> `Zoe`).
fn fold_accent(character: char) -> char {
    match character {
        'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => 'a',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ò' | 'ó' | 'ô' | 'ö' | 'õ' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ç' => 'c',
        'ñ' => 'n',
        'ý' | 'ÿ' => 'y',
        other => other,
    }
}

/// Lower case letters, digits and single spaces, for address lines and places.
pub fn words(raw: &str) -> Option<Box<str>> {
    let mut text = String::with_capacity(raw.len());
    let mut pending_space = false;
    for character in raw.chars() {
        let character = fold_accent(character);
        if character.is_alphanumeric() {
            if pending_space && !text.is_empty() {
                text.push(' ');
            }
            pending_space = false;
            text.extend(character.to_lowercase());
        } else if character != '\'' {
            pending_space = true;
        }
    }
    (!text.is_empty()).then(|| text.into_boxed_str())
}

/// A UK postcode upper case without spaces (`me14 1ab` -> `ME141AB`); any other value upper case without spaces.
pub fn postcode(raw: &str) -> Option<Box<str>> {
    let text: String =
        raw.chars().filter(|character| character.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    (!text.is_empty()).then(|| text.into_boxed_str())
}

/// The outward code (district) of a normalised UK postcode: all but the last three characters (`ME141AB` -> `ME14`).
pub fn postcode_district(postcode: &str) -> Option<&str> {
    (postcode.len() >= 5 && postcode.len() <= 7).then(|| &postcode[..postcode.len() - 3])
}

/// The sector: the district and the first character of the inward code (`ME141AB` -> `ME141`).
pub fn postcode_sector(postcode: &str) -> Option<&str> {
    (postcode.len() >= 5 && postcode.len() <= 7).then(|| &postcode[..postcode.len() - 2])
}

/// The area: the leading letters (`ME141AB` -> `ME`).
pub fn postcode_area(postcode: &str) -> Option<&str> {
    let n_letters = postcode.chars().take_while(char::is_ascii_alphabetic).count();
    (n_letters > 0 && postcode.len() >= 5).then(|| &postcode[..n_letters])
}

/// The national number of a UK phone number: its last ten digits (`+44 7700 900123` and `07700 900123` agree).
pub fn phone(raw: &str) -> Option<Box<str>> {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 6).then(|| digits[digits.len().saturating_sub(10)..].to_string().into_boxed_str())
}

/// Digits only, for identifiers typed with spaces (`943 476 5919`).
pub fn digits(raw: &str) -> Option<Box<str>> {
    let text: String = raw.chars().filter(|character| character.is_ascii_alphanumeric()).collect();
    (!text.is_empty()).then(|| text.into_boxed_str())
}

/// A calendar date from `YYYY-MM-DD` or `YYYYMMDD` (the leading part of a FHIR dateTime is accepted).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct BirthDate {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl BirthDate {
    pub fn parse(raw: &str) -> Option<BirthDate> {
        let raw = raw.trim();
        let digits: String = raw.chars().take(10).filter(char::is_ascii_digit).collect();
        if digits.len() != 8 {
            return None;
        }
        let year: u16 = digits[0..4].parse().ok()?;
        let month: u8 = digits[4..6].parse().ok()?;
        let day: u8 = digits[6..8].parse().ok()?;
        ((1..=12).contains(&month) && (1..=31).contains(&day) && year > 0).then_some(BirthDate { year, month, day })
    }

    /// `YYYYMMDD`, for edit distances between dates typed by hand.
    pub fn digits(&self) -> [u8; 8] {
        let text = format!("{:04}{:02}{:02}", self.year, self.month, self.day);
        let mut digits = [0u8; 8];
        digits.copy_from_slice(text.as_bytes());
        digits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_case_punctuation_and_accents() {
        assert_eq!(name(" O'Brien-Smith ").as_deref(), Some("obriensmith"));
        assert_eq!(name("Zoë  Anne").as_deref(), Some("zoe anne"));
        assert_eq!(name(" - ").as_deref(), None);
    }

    #[test]
    fn postcodes_split_into_area_district_and_sector() {
        let code = postcode("me14 1ab").unwrap();
        assert_eq!(&*code, "ME141AB");
        assert_eq!(postcode_district(&code), Some("ME14"));
        assert_eq!(postcode_sector(&code), Some("ME141"));
        assert_eq!(postcode_area(&code), Some("ME"));
        assert_eq!(postcode_district("CT12AB"), Some("CT1"));
    }

    #[test]
    fn phones_compare_on_the_national_number() {
        assert_eq!(phone("+44 7700 900123"), phone("07700 900123"));
    }

    #[test]
    fn dates_parse_with_or_without_dashes() {
        assert_eq!(BirthDate::parse("1970-05-06"), BirthDate::parse("19700506"));
        assert_eq!(BirthDate::parse("1970-13-06"), None);
        assert_eq!(BirthDate::parse("1970-05-06T10:00:00Z").map(|date| date.day), Some(6));
    }
}
