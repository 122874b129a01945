//! HTTP dates (`Tue, 24 Nov 2026 17:33:00 GMT`) for `Last-Modified`.

use kmcr_fhir::Instant;
use kmcr_fhir::instant::civil_from_days;

pub fn http_date(instant: Instant) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = instant.unix_ms.div_euclid(86_400_000);
    let seconds_of_day = instant.unix_ms.rem_euclid(86_400_000) / 1000;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{}, {day:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[month as usize - 1],
        seconds_of_day / 3600,
        seconds_of_day / 60 % 60,
        seconds_of_day % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_as_rfc_9110() {
        let instant = kmcr_fhir::Instant::from_unix_ms(1_795_541_580_123);
        assert_eq!(super::http_date(instant), "Tue, 24 Nov 2026 17:33:00 GMT");
    }
}
