//! The NHS number: ten digits whose last is a Modulus 11 check digit.

use std::fmt;

/// The identifier system of NHS numbers in FHIR.
pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";

/// A syntactically valid NHS number (ten digits, correct Modulus 11 check digit).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NhsNumber([u8; 10]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NhsNumberError {
    #[error("an NHS number has 10 digits (spaces allowed between groups)")]
    NotTenDigits,
    #[error("the NHS number check digit is wrong (Modulus 11)")]
    CheckDigitMismatch,
    #[error("this number can never be an NHS number: its Modulus 11 remainder gives check value 10")]
    CheckValueTen,
}

impl NhsNumber {
    /// Parses `9990001234`, `999 000 1234` or `999-000-1234`.
    pub fn parse(text: &str) -> Result<NhsNumber, NhsNumberError> {
        let mut digits = [0u8; 10];
        let mut n_digits = 0;
        for byte in text.trim().bytes() {
            match byte {
                b'0'..=b'9' => {
                    if n_digits == 10 {
                        return Err(NhsNumberError::NotTenDigits);
                    }
                    digits[n_digits] = byte - b'0';
                    n_digits += 1;
                }
                b' ' | b'-' => {}
                _ => return Err(NhsNumberError::NotTenDigits),
            }
        }
        if n_digits != 10 {
            return Err(NhsNumberError::NotTenDigits);
        }
        match check_digit(&digits[..9].try_into().expect("nine digits")) {
            None => Err(NhsNumberError::CheckValueTen),
            Some(check) if check == digits[9] => Ok(NhsNumber(digits)),
            Some(_) => Err(NhsNumberError::CheckDigitMismatch),
        }
    }

    /// Completes nine leading digits with their check digit; `None` when no check digit exists for them.
    pub fn from_first_nine_digits(first_nine: [u8; 9]) -> Option<NhsNumber> {
        assert!(first_nine.iter().all(|digit| *digit <= 9));
        let check = check_digit(&first_nine)?;
        let mut digits = [0u8; 10];
        digits[..9].copy_from_slice(&first_nine);
        digits[9] = check;
        Some(NhsNumber(digits))
    }

    /// The ten digits with no spaces, as carried in `Identifier.value`.
    pub fn as_digits(&self) -> String {
        self.0.iter().map(|digit| char::from(b'0' + digit)).collect()
    }

    /// True for the 999 range that is valid but never issued, used for test and synthetic data.
    pub fn is_test_range(&self) -> bool {
        self.0[..3] == [9, 9, 9]
    }
}

fn check_digit(first_nine: &[u8; 9]) -> Option<u8> {
    let sum: u32 = first_nine.iter().zip((2..=10).rev()).map(|(digit, weight)| u32::from(*digit) * weight).sum();
    match 11 - (sum % 11) {
        11 => Some(0),
        10 => None,
        check => Some(check as u8),
    }
}

/// Shown 3-3-4, as NHS guidance asks.
impl fmt::Display for NhsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.as_digits();
        write!(f, "{} {} {}", &digits[..3], &digits[3..6], &digits[6..])
    }
}

/// Debug never prints the number itself, so that an NHS number cannot leak into logs through `{:?}`.
impl fmt::Debug for NhsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NhsNumber(..)")
    }
}
