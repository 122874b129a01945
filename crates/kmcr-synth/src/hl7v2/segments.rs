//! HL7 v2 text: segments written field by field, every value escaped (`\F\ \S\ \T\ \R\ \E\`), the delimiters
//! `|^~\&`, each segment ended by a carriage return.

use crate::codes::{Code, LOINC, SNOMED};
use crate::date::{Date, push_hl7_date, push_hl7_date_time, push_number};
use crate::records::When;

/// One segment being written: its fields by number (field 0 is the segment's id).
pub(super) struct Segment {
    fields: Vec<String>,
}

impl Segment {
    pub(super) fn new(id: &'static str) -> Segment {
        let mut fields = Vec::with_capacity(20);
        fields.push(id.to_string());
        Segment { fields }
    }

    /// Sets field `number` to `value`, already in HL7 form (components joined, each escaped).
    pub(super) fn set(mut self, number: usize, value: impl Into<String>) -> Segment {
        if self.fields.len() <= number {
            self.fields.resize(number + 1, String::new());
        }
        self.fields[number] = value.into();
        self
    }

    /// Sets field `number` to one value of text, escaped.
    pub(super) fn text(self, number: usize, text: &str) -> Segment {
        self.set(number, escape(text))
    }

    /// Appends the segment and its carriage return to `message`.
    pub(super) fn write(&self, message: &mut String) {
        let last = self.fields.iter().rposition(|field| !field.is_empty()).unwrap_or(0);
        for (field_idx, field) in self.fields[..=last].iter().enumerate() {
            if field_idx > 0 {
                message.push('|');
            }
            message.push_str(field);
        }
        message.push('\r');
    }
}

/// Text as one HL7 v2 value: each delimiter written as its escape sequence.
pub(super) fn escape(text: &str) -> String {
    if !text.contains(['|', '^', '~', '\\', '&', '\r', '\n']) {
        return text.to_string();
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for character in text.chars() {
        match character {
            '|' => escaped.push_str("\\F\\"),
            '^' => escaped.push_str("\\S\\"),
            '~' => escaped.push_str("\\R\\"),
            '\\' => escaped.push_str("\\E\\"),
            '&' => escaped.push_str("\\T\\"),
            '\r' | '\n' => escaped.push_str("\\.br\\"),
            _ => escaped.push(character),
        }
    }
    escaped
}

/// Components joined by `^`, each escaped, with the empty ones at the end left off.
pub(super) fn components(parts: &[&str]) -> String {
    let used = parts.iter().rposition(|part| !part.is_empty()).map_or(0, |last| last + 1);
    let mut value = String::with_capacity(parts.iter().map(|part| part.len() + 1).sum());
    for (part_idx, part) in parts[..used].iter().enumerate() {
        if part_idx > 0 {
            value.push('^');
        }
        value.push_str(&escape(part));
    }
    value
}

/// A coded element (CE): code, text and coding system (`SCT`, `LN`), then the same meaning in a second system.
pub(super) fn coded(codes: &[Code]) -> String {
    let system = |code: &Code| match code.system {
        SNOMED => "SCT",
        LOINC => "LN",
        _ => "L",
    };
    match codes {
        [first, second, ..] => {
            components(&[first.code, first.display, system(first), second.code, second.display, system(second)])
        }
        [only] => components(&[only.code, only.display, system(only)]),
        [] => String::new(),
    }
}

/// A time stamp (TS) to the minute in UTC.
pub(super) fn time_stamp(when: When) -> String {
    let mut text = String::with_capacity(17);
    push_hl7_date_time(&mut text, when.day, when.minute);
    text
}

/// A date (DT).
pub(super) fn date(date: Date) -> String {
    let mut text = String::with_capacity(8);
    push_hl7_date(&mut text, date);
    text
}

/// A number as the FHIR records write it: rounded to one decimal place, without a fraction when whole.
pub(super) fn number(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        let mut text = String::with_capacity(8);
        if rounded < 0.0 {
            text.push('-');
        }
        push_number(&mut text, rounded.abs() as u64);
        text
    } else {
        rounded.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_escaped_and_empty_fields_left_off() {
        let mut message = String::new();
        Segment::new("NTE").text(3, "Fish & chips | peas ^ gravy ~ \\").set(5, "").write(&mut message);
        assert_eq!(message, "NTE|||Fish \\T\\ chips \\F\\ peas \\S\\ gravy \\R\\ \\E\\\r");
        assert_eq!(components(&["a", "", "b^c", "", ""]), "a^^b\\S\\c");
    }

    #[test]
    fn numbers_are_written_as_the_fhir_records_write_them() {
        assert_eq!(number(135.04), "135");
        assert_eq!(number(4.349), "4.3");
        assert_eq!(number(26.44), "26.4");
    }
}
