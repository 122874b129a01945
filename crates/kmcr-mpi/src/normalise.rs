//! Demographic values made comparable: case, punctuation, spacing and the shapes of postcodes, dates and phone numbers.

/// Lower case words and single spaces; apostrophes and hyphens joined (`O'Brien` -> `obrien`), other punctuation a
/// space. A digit inside a word is kept: it is a key struck for a letter (`arth8r`, `osb0rn`), and kept it leaves the
/// word one slip from the name, where dropped it would split the word in two. Words without a letter (`(1805-1876)`)
/// and ordinals (`1st`, `3rd`) are no name and are left out. `None` when nothing is left.
pub fn name(raw: &str) -> Option<Box<str>> {
    let mut text = String::with_capacity(raw.len());
    let mut word = String::new();
    fn finish_word(word: &mut String, text: &mut String) {
        if is_name_word(word) {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(word);
        }
        word.clear();
    }
    for character in raw.chars() {
        let character = fold_accent(character);
        if character.is_alphanumeric() {
            word.extend(character.to_lowercase());
        } else if character == '\'' || character == '-' || character == '\u{2019}' {
            continue;
        } else {
            finish_word(&mut word, &mut text);
        }
    }
    finish_word(&mut word, &mut text);
    (!text.is_empty()).then(|| text.into_boxed_str())
}

fn is_name_word(word: &str) -> bool {
    let letters = word.trim_start_matches(|character: char| character.is_ascii_digit());
    let is_ordinal = letters.len() < word.len() && matches!(letters, "st" | "nd" | "rd" | "th");
    word.chars().any(char::is_alphabetic) && !is_ordinal
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

/// A birth date, whole or in part: `YYYY-MM-DD` or `YYYYMMDD` (the leading part of a FHIR dateTime is accepted), and
/// the partial forms FHIR and HL7 v2 allow (`YYYY`, `YYYY-MM`). A month or day out of range is taken as unknown rather
/// than throwing the whole date away: a slip in one part leaves the others worth comparing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct BirthDate {
    pub year: u16,
    pub month: Option<u8>,
    pub day: Option<u8>,
}

impl BirthDate {
    pub fn parse(raw: &str) -> Option<BirthDate> {
        let raw = raw.trim();
        if raw.starts_with('-') {
            return None;
        }
        let digits: String = raw.chars().take(10).filter(char::is_ascii_digit).collect();
        if !matches!(digits.len(), 4 | 6 | 8) {
            return None;
        }
        let part = |range: std::ops::Range<usize>| digits.get(range).and_then(|text| text.parse::<u16>().ok());
        let year = part(0..4).filter(|&year| year > 0)?;
        let month = part(4..6).filter(|month| (1..=12).contains(month)).map(|month| month as u8);
        let day = part(6..8).filter(|day| (1..=31).contains(day)).map(|day| day as u8);
        Some(BirthDate { year, month, day })
    }

    /// The whole date, when month and day are both known.
    pub fn complete(&self) -> Option<(u16, u8, u8)> {
        Some((self.year, self.month?, self.day?))
    }

    /// `YYYYMMDD` of a whole date, for edit distances between dates typed by hand.
    pub fn digits(&self) -> Option<[u8; 8]> {
        let (year, month, day) = self.complete()?;
        let text = format!("{year:04}{month:02}{day:02}");
        let mut digits = [0u8; 8];
        digits.copy_from_slice(text.as_bytes());
        Some(digits)
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
    fn names_keep_a_digit_struck_for_a_letter_and_lose_years_and_ordinals() {
        assert_eq!(name("Arth8r").as_deref(), Some("arth8r"));
        assert_eq!(name("John Fred (1805-1876)").as_deref(), Some("john fred"));
        assert_eq!(name("Thomas, 1st Baron").as_deref(), Some("thomas baron"));
        assert_eq!(name("1805").as_deref(), None);
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
        assert_eq!(BirthDate::parse("1970-05-06T10:00:00Z").and_then(|date| date.day), Some(6));
    }

    #[test]
    fn dates_keep_the_parts_that_are_valid() {
        let check = |raw: &str, expected: Option<(u16, Option<u8>, Option<u8>)>| {
            let parsed = BirthDate::parse(raw).map(|date| (date.year, date.month, date.day));
            assert_eq!(parsed, expected, "{raw}");
        };
        check("1856-86-18", Some((1856, None, Some(18))));
        check("1860-01-00", Some((1860, Some(1), None)));
        check("1970", Some((1970, None, None)));
        check("1970-05", Some((1970, Some(5), None)));
        check("0000-05-06", None);
        check("-0384-01-01", None);
        check("19700", None);
        assert_eq!(BirthDate::parse("1970-13-06").and_then(|date| date.complete()), None);
    }
}
