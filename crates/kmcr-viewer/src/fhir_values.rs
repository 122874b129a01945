//! Reading the few parts of FHIR JSON a page shows: codes, names, dates, references. Missing parts read as `None`.

use serde_json::Value;

/// A CodeableConcept's text, else its first coding's display, else its first code.
pub fn concept_text(concept: &Value) -> Option<String> {
    if let Some(text) = concept["text"].as_str().filter(|text| !text.is_empty()) {
        return Some(text.to_string());
    }
    let codings = concept["coding"].as_array()?;
    codings
        .iter()
        .find_map(|coding| coding["display"].as_str())
        .or_else(|| codings.first()?["code"].as_str())
        .map(str::to_string)
}

/// The code of the first coding of `concept` in `system`.
pub fn code_in(concept: &Value, system: &str) -> Option<String> {
    concept["coding"].as_array()?.iter().find(|coding| coding["system"] == system)?["code"].as_str().map(str::to_string)
}

/// Whether any coding of `concept` has one of `codes`.
pub fn has_code(concept: &Value, codes: &[&str]) -> bool {
    concept["coding"].as_array().is_some_and(|codings| {
        codings.iter().any(|coding| coding["code"].as_str().is_some_and(|code| codes.contains(&code)))
    })
}

/// A HumanName as a person reads it: given names then the family name (the official name first).
pub fn person_name(resource: &Value) -> Option<String> {
    let names = resource["name"].as_array()?;
    let name = names.iter().find(|name| name["use"] == "official").or_else(|| names.first())?;
    if let Some(text) = name["text"].as_str() {
        return Some(text.to_string());
    }
    let mut parts: Vec<&str> = name["given"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    if let Some(family) = name["family"].as_str() {
        parts.push(family);
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The date part (`YYYY-MM-DD`, or less precise) of a FHIR date or dateTime.
pub fn date_part(value: &Value) -> Option<String> {
    value.as_str().map(|text| text.chars().take(10).collect())
}

/// A date as people in the NHS write it: `7 December 2026` (or `December 2026`, `2026` when less is known).
pub fn display_date(date: &str) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let parts: Vec<&str> = date.splitn(3, '-').collect();
    let month = parts.get(1).and_then(|month| month.parse::<usize>().ok()).filter(|month| (1..=12).contains(month));
    match (parts.first(), month, parts.get(2).and_then(|day| day.get(..2)).and_then(|day| day.parse::<u32>().ok())) {
        (Some(year), Some(month), Some(day)) => format!("{day} {} {year}", MONTHS[month - 1]),
        (Some(year), Some(month), None) => format!("{} {year}", MONTHS[month - 1]),
        (Some(year), _, _) => (*year).to_string(),
        _ => date.to_string(),
    }
}

/// The first of `paths` (each a list of keys) that holds a date.
pub fn first_date(resource: &Value, paths: &[&[&str]]) -> Option<String> {
    paths.iter().find_map(|path| {
        let value = path.iter().fold(resource, |value, key| &value[*key]);
        date_part(value)
    })
}

/// A Quantity as `5.4 mmol/L`.
pub fn quantity_text(quantity: &Value) -> Option<String> {
    let value = quantity["value"].as_f64()?;
    let unit = quantity["unit"].as_str().or_else(|| quantity["code"].as_str()).unwrap_or_default();
    let number = if value.fract() == 0.0 && value.abs() < 1e15 { format!("{value:.0}") } else { format!("{value}") };
    Some(if unit.is_empty() { number } else { format!("{number} {unit}") })
}

/// An Observation's value as text (a quantity, a concept, a string), or its components' values.
pub fn observation_value(resource: &Value) -> Option<String> {
    let own = quantity_text(&resource["valueQuantity"])
        .or_else(|| concept_text(&resource["valueCodeableConcept"]))
        .or_else(|| resource["valueString"].as_str().map(str::to_string));
    if own.is_some() {
        return own;
    }
    let components: Vec<String> = resource["component"]
        .as_array()?
        .iter()
        .filter_map(|component| quantity_text(&component["valueQuantity"]).map(|value| value.to_string()))
        .collect();
    (!components.is_empty()).then(|| components.join(" / "))
}
