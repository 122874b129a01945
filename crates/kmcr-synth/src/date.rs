//! Calendar dates and FHIR date/dateTime text, written without `format!` because they are made millions of times.

use std::fmt;

use kmcr_fhir::instant::{civil_from_days, days_from_civil};

/// The day the synthetic records are extracted: nothing is dated after it, and ages are counted to it.
pub const RECORDS_AS_AT: Date = Date { year: 2026, month: 11, day: 1 };

/// A calendar date (proleptic Gregorian).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl Date {
    pub(crate) fn from_day_number(day_number: i64) -> Date {
        let (year, month, day) = civil_from_days(day_number);
        Date { year: year as i32, month: month as u8, day: day as u8 }
    }

    /// Days since 1970-01-01.
    pub(crate) fn day_number(&self) -> i64 {
        days_from_civil(i64::from(self.year), u32::from(self.month), u32::from(self.day))
    }

    /// `YYYY-MM-DD`.
    pub fn to_fhir(&self) -> String {
        let mut text = String::with_capacity(10);
        push_date(&mut text, *self);
        text
    }

    /// Whole years from this date (a birth date) to `on`.
    pub(crate) fn years_until(&self, on: Date) -> u32 {
        let mut years = on.year - self.year;
        if (on.month, on.day) < (self.month, self.day) {
            years -= 1;
        }
        years.max(0) as u32
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_fhir())
    }
}

/// The day number of [`RECORDS_AS_AT`].
pub(crate) fn as_at_day() -> i64 {
    RECORDS_AS_AT.day_number()
}

/// `YYYY-MM-DD` of a day number.
pub(crate) fn fhir_date(day_number: i64) -> String {
    Date::from_day_number(day_number).to_fhir()
}

/// A FHIR dateTime (and instant) in UTC with seconds: `YYYY-MM-DDTHH:MM:00+00:00`.
pub(crate) fn fhir_date_time(day_number: i64, minute_of_day: u32) -> String {
    assert!(minute_of_day < 24 * 60);
    let mut text = String::with_capacity(25);
    push_date(&mut text, Date::from_day_number(day_number));
    text.push('T');
    push_two_digits(&mut text, minute_of_day / 60);
    text.push(':');
    push_two_digits(&mut text, minute_of_day % 60);
    text.push_str(":00+00:00");
    text
}

/// An HL7 v2 date (DT): `YYYYMMDD`.
pub(crate) fn push_hl7_date(text: &mut String, date: Date) {
    let year = date.year.clamp(0, 9999) as u32;
    push_two_digits(text, year / 100);
    push_two_digits(text, year % 100);
    push_two_digits(text, u32::from(date.month));
    push_two_digits(text, u32::from(date.day));
}

/// An HL7 v2 time stamp in UTC to the minute, `YYYYMMDDHHMM+0000`: the same moment as [`fhir_date_time`] writes.
pub(crate) fn push_hl7_date_time(text: &mut String, day_number: i64, minute_of_day: u32) {
    assert!(minute_of_day < 24 * 60);
    push_hl7_date(text, Date::from_day_number(day_number));
    push_two_digits(text, minute_of_day / 60);
    push_two_digits(text, minute_of_day % 60);
    text.push_str("+0000");
}

fn push_date(text: &mut String, date: Date) {
    let year = date.year.clamp(0, 9999) as u32;
    push_two_digits(text, year / 100);
    push_two_digits(text, year % 100);
    text.push('-');
    push_two_digits(text, u32::from(date.month));
    text.push('-');
    push_two_digits(text, u32::from(date.day));
}

fn push_two_digits(text: &mut String, value: u32) {
    text.push(char::from(b'0' + (value / 10 % 10) as u8));
    text.push(char::from(b'0' + (value % 10) as u8));
}

/// Appends a non-negative integer in decimal.
pub(crate) fn push_number(text: &mut String, value: u64) {
    let mut digits = [0u8; 20];
    let mut n_digits = 0;
    let mut rest = value;
    loop {
        digits[n_digits] = b'0' + (rest % 10) as u8;
        n_digits += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for digit in digits[..n_digits].iter().rev() {
        text.push(char::from(*digit));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_fhir_dates_and_date_times() {
        let day = Date { year: 2024, month: 2, day: 29 }.day_number();
        assert_eq!(fhir_date(day), "2024-02-29");
        assert_eq!(fhir_date_time(day, 9 * 60 + 5), "2024-02-29T09:05:00+00:00");
        let mut hl7 = String::new();
        push_hl7_date_time(&mut hl7, day, 9 * 60 + 5);
        assert_eq!(hl7, "202402290905+0000");
        let mut text = String::new();
        push_number(&mut text, 1_234_007);
        assert_eq!(text, "1234007");
    }

    #[test]
    fn counts_whole_years() {
        let birth = Date { year: 1990, month: 11, day: 2 };
        assert_eq!(birth.years_until(RECORDS_AS_AT), 35);
        assert_eq!(Date { year: 1990, month: 11, day: 1 }.years_until(RECORDS_AS_AT), 36);
    }
}
