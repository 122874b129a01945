//! The parts of a person's record beyond the summary: results with trend charts, the timeline of encounters across
//! organisations, letters and documents readable in the page, medication history and social care. Each page starts
//! as every page of a person does ([`person_header`]).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::chart::{Point, Range, trend_svg, trim};
use crate::fhir_values::{concept_text, display_date, first_date, observation_value};
use crate::html::{escape, id_segment};
use crate::layout::{Page, SignedInBar, render};
use crate::person_pages::{Section, person_header, section};
use crate::record::{Item, Line, PersonRecord};

/// What a section page shows of the person, beside its own items.
pub struct PersonView<'a> {
    pub patient_id: &'a str,
    pub record: &'a PersonRecord,
    pub withheld: &'a [String],
    pub today: &'a str,
}

fn page(bar: SignedInBar<'_>, view: &PersonView<'_>, current: Section, body: &str) -> String {
    let mut main = person_header(view.patient_id, view.record, view.withheld, view.today, current);
    main.push_str(&format!("<h2 class=\"nhsuk-heading-l\">{}</h2>", current.title()));
    main.push_str(body);
    let title = format!("{} - {}", current.title(), view.record.banner.name);
    render(&Page { title: &title, signed_in: Some(bar) }, &main)
}

/// One test's results, oldest first.
struct Series {
    title: String,
    unit: String,
    range: Option<Range>,
    rows: Vec<(String, String, String, String)>,
    points: Vec<Point>,
}

/// Results: each test once, with a chart where it was measured more than once as a number.
pub fn results_page(bar: SignedInBar<'_>, view: &PersonView<'_>, items: &[Item]) -> String {
    let mut series: BTreeMap<String, Series> = BTreeMap::new();
    // A panel's components (systolic and diastolic in a blood pressure) are series of their own.
    let observations = items.iter().filter(|item| item.resource_type == "Observation").flat_map(|item| {
        let components = item.json["component"].as_array().cloned().unwrap_or_default();
        let parts: Vec<(Value, &str)> = components
            .into_iter()
            .filter(|component| component["valueQuantity"]["value"].is_number())
            .map(|mut component| {
                for key in ["effectiveDateTime", "effectivePeriod", "issued"] {
                    component[key] = item.json[key].clone();
                }
                (component, item.source.as_str())
            })
            .collect();
        if parts.is_empty() { vec![(item.json.clone(), item.source.as_str())] } else { parts }
    });
    for (json, source) in observations {
        let json = &json;
        let Some(title) = concept_text(&json["code"]) else { continue };
        let coding = &json["code"]["coding"][0];
        let key = match (coding["system"].as_str(), coding["code"].as_str()) {
            (Some(system), Some(code)) => format!("{system}|{code}"),
            _ => title.clone(),
        };
        let date =
            first_date(json, &[&["effectiveDateTime"], &["effectivePeriod", "start"], &["issued"]]).unwrap_or_default();
        let entry = series.entry(key).or_insert_with(|| Series {
            title: title.clone(),
            unit: json["valueQuantity"]["unit"].as_str().unwrap_or_default().to_string(),
            range: reference_range(json),
            rows: Vec::new(),
            points: Vec::new(),
        });
        if let Some(value) = json["valueQuantity"]["value"].as_f64() {
            entry.points.push(Point { date: date.clone(), value });
        }
        let interpretation = concept_text(&json["interpretation"][0]).unwrap_or_default();
        let value = observation_value(json).unwrap_or_else(|| "No value".into());
        entry.rows.push((date, value, interpretation, source.to_string()));
    }
    if series.is_empty() {
        return page(bar, view, Section::Results, "<p>No results recorded.</p>");
    }
    let mut ordered: Vec<Series> = series.into_values().collect();
    ordered.sort_by(|first, second| first.title.cmp(&second.title));
    let mut body = String::new();
    for (position, mut test) in ordered.into_iter().enumerate() {
        test.points.sort_by(|first, second| first.date.cmp(&second.date));
        test.rows.sort_by(|first, second| second.0.cmp(&first.0));
        let id = format!("result-{position}");
        body.push_str(&format!("<section aria-labelledby=\"{id}-heading\" class=\"nhsuk-u-margin-bottom-6\" data-testid=\"result-series\"><h3 id=\"{id}-heading\">{}</h3>", escape(&test.title)));
        if let Some(range) = test.range {
            let text = match (range.low, range.high) {
                (Some(low), Some(high)) => format!("{} to {}", trim(low), trim(high)),
                (Some(low), None) => format!("above {}", trim(low)),
                (None, Some(high)) => format!("below {}", trim(high)),
                (None, None) => String::new(),
            };
            body.push_str(&format!(
                "<p class=\"nhsuk-body-s\">Reference range: {} {}</p>",
                escape(&text),
                escape(&test.unit)
            ));
        }
        if test.points.len() >= 2 {
            body.push_str(&format!(
                "<figure class=\"nhsuk-u-margin-0 nhsuk-u-margin-bottom-3\" data-testid=\"trend-chart\">{}</figure>",
                trend_svg(&id, &format!("{} over time", test.title), &test.unit, &test.points, test.range)
            ));
        }
        body.push_str(&format!(
            "<table class=\"nhsuk-table\"><caption class=\"nhsuk-table__caption nhsuk-u-visually-hidden\">{} results\
             </caption><thead class=\"nhsuk-table__head\"><tr class=\"nhsuk-table__row\"><th class=\"nhsuk-table__header\" \
             scope=\"col\">Date</th><th class=\"nhsuk-table__header\" scope=\"col\">Result</th><th \
             class=\"nhsuk-table__header\" scope=\"col\">Interpretation</th><th class=\"nhsuk-table__header\" \
             scope=\"col\">From</th></tr></thead><tbody class=\"nhsuk-table__body\">",
            escape(&test.title)
        ));
        for (date, value, interpretation, source) in &test.rows {
            body.push_str(&format!(
                "<tr class=\"nhsuk-table__row\"><td class=\"nhsuk-table__cell\">{}</td><td class=\"nhsuk-table__cell\">{}</td>\
                 <td class=\"nhsuk-table__cell\">{}</td><td class=\"nhsuk-table__cell\">{}</td></tr>",
                escape(&if date.is_empty() { "Not recorded".to_string() } else { display_date(date) }),
                escape(value),
                escape(interpretation),
                escape(source)
            ));
        }
        body.push_str("</tbody></table></section>");
    }
    page(bar, view, Section::Results, &body)
}

fn reference_range(observation: &Value) -> Option<Range> {
    let range = &observation["referenceRange"][0];
    let low = range["low"]["value"].as_f64();
    let high = range["high"]["value"].as_f64();
    (low.is_some() || high.is_some()).then_some(Range { low, high })
}

/// Every encounter at every organisation, newest first.
pub fn timeline_page(bar: SignedInBar<'_>, view: &PersonView<'_>) -> String {
    let body =
        section("timeline", "Encounters across organisations", &view.record.encounters, "No encounters recorded.");
    page(bar, view, Section::Timeline, &body)
}

/// The documents, each opened in the page.
pub fn documents_page(bar: SignedInBar<'_>, view: &PersonView<'_>) -> String {
    let documents = &view.record.documents;
    if documents.is_empty() {
        return page(bar, view, Section::Documents, "<p>No documents recorded.</p>");
    }
    let id = id_segment(view.patient_id);
    let mut body = String::from("<ul class=\"nhsuk-list\" data-testid=\"documents\">");
    for document in documents {
        body.push_str(&format!(
            "<li class=\"nhsuk-u-margin-bottom-3\"><a href=\"/viewer/person/{id}/documents/{}\">{}</a><br><span \
             class=\"nhsuk-body-s\">{} &middot; from {}</span></li>",
            id_segment(&document.id),
            escape(&document.text),
            escape(&document.date.as_deref().map_or_else(|| "Date not recorded".to_string(), display_date)),
            escape(&document.sources.join(", "))
        ));
    }
    body.push_str("</ul>");
    page(bar, view, Section::Documents, &body)
}

/// One document, its text shown in the page (plain text, or HTML reduced to its text: nothing a source sent runs
/// or styles here).
pub fn document_page(bar: SignedInBar<'_>, view: &PersonView<'_>, document: &Item) -> String {
    let json = &document.json;
    let title = json["description"]
        .as_str()
        .map(str::to_string)
        .or_else(|| concept_text(&json["type"]))
        .unwrap_or_else(|| "Document".into());
    let date =
        first_date(json, &[&["date"]]).map_or_else(|| "Date not recorded".to_string(), |date| display_date(&date));
    let mut body = format!(
        "<article data-testid=\"document\"><h3>{}</h3><p class=\"nhsuk-body-s\">{} &middot; from {}</p>",
        escape(&title),
        escape(&date),
        escape(&document.source)
    );
    let attachments: Vec<&Value> =
        json["content"].as_array().into_iter().flatten().map(|content| &content["attachment"]).collect();
    let mut shown = false;
    for attachment in attachments {
        let content_type = attachment["contentType"].as_str().unwrap_or_default();
        let Some(bytes) = attachment["data"].as_str().and_then(decode_base64) else { continue };
        let text = String::from_utf8_lossy(&bytes);
        let text = if content_type.starts_with("text/html") {
            text_of_html(&text)
        } else if content_type.starts_with("text/") {
            text.into_owned()
        } else {
            continue;
        };
        for paragraph in text.split("\n\n").map(str::trim).filter(|paragraph| !paragraph.is_empty()) {
            body.push_str(&format!("<p>{}</p>", escape(paragraph).replace('\n', "<br>")));
        }
        shown = true;
        break;
    }
    if !shown {
        body.push_str("<p>This document has no text that the viewer can show. Ask the organisation that sent it.</p>");
    }
    body.push_str(&format!(
        "<p><a href=\"/viewer/person/{}/documents\">All documents</a></p></article>",
        id_segment(view.patient_id)
    ));
    page(bar, view, Section::Documents, &body)
}

/// Every medicine listed or prescribed, current or not, newest first.
pub fn medications_page(bar: SignedInBar<'_>, view: &PersonView<'_>, items: &[Item]) -> String {
    let mut lines: Vec<Line> = items
        .iter()
        .filter(|item| matches!(item.resource_type.as_str(), "MedicationStatement" | "MedicationRequest"))
        .map(|item| {
            let json = &item.json;
            let dosage = json["dosage"][0]["text"].as_str().or_else(|| json["dosageInstruction"][0]["text"].as_str());
            let kind = if item.resource_type == "MedicationRequest" { "Prescribed" } else { "Listed" };
            let status = json["status"].as_str().unwrap_or("unknown");
            let course =
                concept_text(&json["courseOfTherapyType"]).map(|course| format!(", {course}")).unwrap_or_default();
            let detail =
                format!("{kind} ({status}{course}){}", dosage.map(|dosage| format!(": {dosage}")).unwrap_or_default());
            Line {
                id: item.id.clone(),
                text: concept_text(&json["medicationCodeableConcept"])
                    .unwrap_or_else(|| "Medicine (no description)".into()),
                detail: Some(detail),
                date: first_date(json, &[&["authoredOn"], &["effectivePeriod", "start"], &["dateAsserted"]]),
                sources: vec![item.source.clone()],
            }
        })
        .collect();
    lines.sort_by(|first, second| second.date.cmp(&first.date));
    let body = section("medication-history", "Medicines listed and prescribed", &lines, "No medicines recorded.");
    page(bar, view, Section::Medications, &body)
}

/// Social care: involvement and package, care plans, the care team, carers.
pub fn social_care_page(bar: SignedInBar<'_>, view: &PersonView<'_>) -> String {
    let record = view.record;
    let mut body =
        section("involvement", "Involvement and package", &record.social_care, "No social care involvement recorded.");
    body.push_str(&section("plans", "Care plans", &record.care_plans, "No care plans recorded."));
    body.push_str(&section("team", "Care team", &record.care_team, "No care team recorded."));
    body.push_str(&section(
        "carers",
        "Carers and related people",
        &record.related_people,
        "No carers or related people recorded.",
    ));
    page(bar, view, Section::SocialCare, &body)
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text.trim()).ok()
}

/// The text of an HTML document: tags dropped (block ends become line breaks), entities for the five characters
/// turned back. What is left is escaped again when shown.
fn text_of_html(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else { break };
        let tag = rest[start + 1..start + end].to_ascii_lowercase();
        if ["p", "/p", "br", "br/", "br /", "/div", "/h1", "/h2", "/h3", "/li", "/tr"].contains(&tag.trim()) {
            text.push_str("\n\n");
        }
        if tag.starts_with("script") || tag.starts_with("style") {
            let closing = if tag.starts_with("script") { "</script" } else { "</style" };
            match rest[start..].to_ascii_lowercase().find(closing) {
                Some(close) => {
                    rest = &rest[start + close..];
                    continue;
                }
                None => break,
            }
        }
        rest = &rest[start + end + 1..];
    }
    text.push_str(rest);
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}
