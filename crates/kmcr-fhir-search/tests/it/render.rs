//! Compact, stable text forms of index entries and search requests, for inline snapshots.

use kmcr_fhir::Instant;
use kmcr_fhir_search::{Criterion, CriterionValue, IndexEntry, IndexValue, SearchRequest};

pub fn entries(entries: &[IndexEntry]) -> String {
    entries.iter().map(|entry| format!("{} = {}\n", entry.param_code, index_value(&entry.value))).collect()
}

pub fn index_value(value: &IndexValue) -> String {
    match value {
        IndexValue::Token { system, code, display_text } => {
            let display = display_text.as_ref().map(|text| format!(" ({text:?})")).unwrap_or_default();
            format!("token {}|{}{display}", or_dash(system), or_dash(code))
        }
        IndexValue::String { normalized, exact } => format!("string {normalized:?} (exact {exact:?})"),
        IndexValue::Date { low_ms, high_ms } => format!("date {}", range(*low_ms, *high_ms)),
        IndexValue::Reference { target_type, target_id, url } => match url {
            Some(url) => format!("reference url {url}"),
            None => format!("reference {}/{}", or_dash(target_type), or_dash(target_id)),
        },
        IndexValue::Quantity { value, system, code, unit } => {
            let unit = unit.as_ref().map(|unit| format!(" (unit {unit:?})")).unwrap_or_default();
            format!("quantity {value} {}|{}{unit}", or_dash(system), or_dash(code))
        }
        IndexValue::Number { value } => format!("number {value}"),
        IndexValue::Uri { uri } => format!("uri {uri}"),
        IndexValue::Composite(components) => {
            let components: Vec<String> = components.iter().map(index_value).collect();
            format!("composite [{}]", components.join("; "))
        }
    }
}

pub fn range(low_ms: i64, high_ms: i64) -> String {
    format!("{} .. {}", instant(low_ms), instant(high_ms))
}

fn instant(unix_ms: i64) -> String {
    match unix_ms {
        i64::MIN => "-inf".to_string(),
        i64::MAX => "+inf".to_string(),
        unix_ms => Instant::from_unix_ms(unix_ms).to_string(),
    }
}

fn or_dash(text: &Option<String>) -> &str {
    text.as_deref().unwrap_or("-")
}

pub fn request(request: &SearchRequest) -> String {
    let mut text = String::new();
    for criterion in &request.criteria {
        text.push_str(&criterion_line(criterion));
        text.push('\n');
    }
    let mut field = |name: &str, value: String| text.push_str(&format!("{name}: {value}\n"));
    if let Some(count) = request.count {
        field("count", count.to_string());
    }
    if !request.sort.is_empty() {
        field("sort", format!("{:?}", request.sort));
    }
    if !request.includes.is_empty() {
        field("includes", format!("{:?}", request.includes));
    }
    if !request.revincludes.is_empty() {
        field("revincludes", format!("{:?}", request.revincludes));
    }
    if let Some(summary) = request.summary {
        field("summary", format!("{summary:?}"));
    }
    if let Some(elements) = &request.elements {
        field("elements", format!("{elements:?}"));
    }
    if let Some(total) = &request.total {
        field("total", total.clone());
    }
    if !request.ignored_params.is_empty() {
        field("ignored", format!("{:?}", request.ignored_params));
    }
    text
}

fn criterion_line(criterion: &Criterion) -> String {
    let modifier = criterion.modifier.map(|modifier| format!(" :{modifier:?}")).unwrap_or_default();
    let mut line = format!("{} {:?}{modifier}", criterion.param_code, criterion.param_type);
    if let Some(chain) = &criterion.chain {
        line.push_str(&format!(" -> {} {}", chain.target_type, criterion_line(&chain.criterion)));
    }
    for value in &criterion.values {
        line.push_str(&format!(" [{}]", criterion_value(value)));
    }
    line
}

fn criterion_value(value: &CriterionValue) -> String {
    match value {
        CriterionValue::Date { prefix, low_ms, high_ms } => format!("{prefix:?} {}", range(*low_ms, *high_ms)),
        other => format!("{other:?}"),
    }
}
