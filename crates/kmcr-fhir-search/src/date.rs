//! FHIR dates, dateTimes and instants, at any precision, as the inclusive range of Unix milliseconds they cover.
//!
//! Shared by extraction (the range a resource's value covers) and parsing (the range a searched value covers), so that
//! `2020-03` means the same month on both sides.

use kmcr_fhir::instant::{days_from_civil, days_in_month};

const MS_PER_SECOND: i64 = 1000;
const MS_PER_MINUTE: i64 = 60 * MS_PER_SECOND;
const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;
const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;
/// FHIR time zone offsets run from -12:00 to +14:00.
const MAX_ZONE_OFFSET_HOURS: i64 = 14;

/// An inclusive range of instants in Unix milliseconds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DateRange {
    pub low_ms: i64,
    pub high_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a FHIR date, dateTime or instant")]
pub struct MalformedDate;

/// Parses `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `YYYY-MM-DDThh:mm`, `...:ss`, `...:ss.fff` (any number of fraction digits),
/// each time optionally followed by `Z` or `+hh:mm`/`-hh:mm`. A time without a zone is taken as UTC.
pub fn parse_date_range(text: &str) -> Result<DateRange, MalformedDate> {
    let mut cursor = Cursor { bytes: text.as_bytes(), position: 0 };
    let year = cursor.digits(4)?;
    let Some(month) = cursor.field(b'-', 2, 1..=12)? else {
        let low_ms = days_from_civil(year, 1, 1) * MS_PER_DAY;
        return cursor.finish(low_ms, days_from_civil(year + 1, 1, 1) * MS_PER_DAY);
    };
    let month = month as u32;
    let Some(day) = cursor.field(b'-', 2, 1..=i64::from(days_in_month(year, month)))? else {
        let (next_year, next_month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
        let low_ms = days_from_civil(year, month, 1) * MS_PER_DAY;
        return cursor.finish(low_ms, days_from_civil(next_year, next_month, 1) * MS_PER_DAY);
    };
    let day_start_ms = days_from_civil(year, month, day as u32) * MS_PER_DAY;
    let Some(hour) = cursor.field(b'T', 2, 0..=23)? else {
        return cursor.finish(day_start_ms, day_start_ms + MS_PER_DAY);
    };
    let minute = cursor.field(b':', 2, 0..=59)?.ok_or(MalformedDate)?;
    let local_ms = day_start_ms + hour * MS_PER_HOUR + minute * MS_PER_MINUTE;
    let (local_ms, width_ms) = match cursor.field(b':', 2, 0..=59)? {
        None => (local_ms, MS_PER_MINUTE),
        Some(second) => {
            let (fraction_ms, width_ms) = cursor.fraction()?;
            (local_ms + second * MS_PER_SECOND + fraction_ms, width_ms)
        }
    };
    let zone_offset_ms = cursor.zone_offset()?;
    let low_ms = local_ms - zone_offset_ms;
    cursor.finish(low_ms, low_ms + width_ms)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, count: usize) -> Result<i64, MalformedDate> {
        let digits = self.bytes.get(self.position..self.position + count).ok_or(MalformedDate)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(MalformedDate);
        }
        self.position += count;
        Ok(digits.iter().fold(0, |value, digit| value * 10 + i64::from(digit - b'0')))
    }

    /// A field introduced by `separator`, or `None` when the text does not continue with that separator.
    fn field(
        &mut self,
        separator: u8,
        count: usize,
        allowed: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<i64>, MalformedDate> {
        if self.bytes.get(self.position) != Some(&separator) {
            return Ok(None);
        }
        self.position += 1;
        let value = self.digits(count)?;
        if allowed.contains(&value) { Ok(Some(value)) } else { Err(MalformedDate) }
    }

    /// Fractional seconds: their value in ms (digits past the third are truncated) and the width they imply.
    fn fraction(&mut self) -> Result<(i64, i64), MalformedDate> {
        if self.bytes.get(self.position) != Some(&b'.') {
            return Ok((0, MS_PER_SECOND));
        }
        self.position += 1;
        let n_digits = self.bytes[self.position..].iter().take_while(|byte| byte.is_ascii_digit()).count();
        if n_digits == 0 {
            return Err(MalformedDate);
        }
        let kept = n_digits.min(3);
        let value = self.digits(kept)? * 10_i64.pow(3 - kept as u32);
        self.position += n_digits - kept;
        Ok((value, 10_i64.pow(3 - kept as u32)))
    }

    fn zone_offset(&mut self) -> Result<i64, MalformedDate> {
        let sign = match self.bytes.get(self.position) {
            None => return Ok(0),
            Some(b'Z') => {
                self.position += 1;
                return Ok(0);
            }
            Some(b'+') => 1,
            Some(b'-') => -1,
            Some(_) => return Err(MalformedDate),
        };
        self.position += 1;
        let hours = self.digits(2)?;
        let minutes = self.field(b':', 2, 0..=59)?.ok_or(MalformedDate)?;
        if hours > MAX_ZONE_OFFSET_HOURS {
            return Err(MalformedDate);
        }
        Ok(sign * (hours * MS_PER_HOUR + minutes * MS_PER_MINUTE))
    }

    /// Checks that nothing follows and returns [low, end) as an inclusive range.
    fn finish(&self, low_ms: i64, end_ms: i64) -> Result<DateRange, MalformedDate> {
        if self.position == self.bytes.len() {
            Ok(DateRange { low_ms, high_ms: end_ms - 1 })
        } else {
            Err(MalformedDate)
        }
    }
}
