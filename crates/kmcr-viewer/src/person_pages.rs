//! A person's pages: safeguarding flags above everything, the banner, allergies and alerts, then the summary. Every
//! item names its source organisation and date; what policy withheld is announced, never listed.

use crate::fhir_values::display_date;
use crate::html::{csrf_field, escape, id_segment};
use crate::layout::{Page, SignedInBar, render};
use crate::record::{Banner, Line, PersonRecord, RECENT, age_on, nhs_number_display};

/// The summary page. `today` is `YYYY-MM-DD`, for the age; `withheld` the service's notices of what it withheld.
pub fn summary_page(
    bar: SignedInBar<'_>,
    patient_id: &str,
    record: &PersonRecord,
    withheld: &[String],
    today: &str,
) -> String {
    let mut main = person_header(patient_id, record, withheld, today, Section::Summary);
    main.push_str(&allergies_and_alerts(&record.allergies, &record.alerts));
    let sections: [(&str, &str, &[Line], &str); 10] = [
        ("problems", "Active problems", &record.problems, "No active problems recorded."),
        ("medications", "Current medications", &record.medications, "No current medications recorded."),
        (
            "escalation-plans",
            "Treatment escalation plans",
            &record.escalation_plans,
            "No treatment escalation plan (ReSPECT, DNACPR) recorded.",
        ),
        ("encounters", "Recent encounters", &record.encounters, "No encounters recorded."),
        ("results", "Latest results", &record.results, "No results recorded."),
        ("care-plans", "Care plans", &record.care_plans, "No care plans recorded."),
        ("social-care", "Social care involvement", &record.social_care, "No social care involvement recorded."),
        (
            "related-people",
            "Carers and related people",
            &record.related_people,
            "No carers or related people recorded.",
        ),
        ("care-team", "Care team", &record.care_team, "No care team recorded."),
        ("documents", "Letters and documents", &record.documents, "No documents recorded."),
    ];
    for (id, title, lines, empty) in sections {
        let limited = matches!(id, "encounters" | "results");
        let shown = if limited { &lines[..lines.len().min(RECENT)] } else { lines };
        main.push_str(&section(id, title, shown, empty));
    }
    render(&Page { title: &record.banner.name, signed_in: Some(bar) }, &main)
}

/// The page shown when the user may see who the person is but not their record: the banner, why, and the ways in.
pub fn no_relationship_page(
    bar: SignedInBar<'_>,
    patient_id: &str,
    banner_of: &Banner,
    reason: &str,
    today: &str,
) -> String {
    let id = id_segment(patient_id);
    let main = format!(
        "{}<div class=\"nhsuk-warning-callout\" data-testid=\"no-relationship\"><h2 class=\"nhsuk-warning-callout__label\">\
         <span role=\"text\"><span class=\"nhsuk-u-visually-hidden\">Important: </span>You cannot see this person's \
         record yet</span></h2><p>{}</p></div><p>If you are caring for this person, declare your legitimate \
         relationship. In an emergency, and if your role allows it, use emergency access; it is reviewed by \
         information governance.</p><ul class=\"nhsuk-list\"><li><a href=\"/viewer/person/{id}/relationship\">Declare a \
         legitimate relationship</a></li><li><a href=\"/viewer/person/{id}/break-glass\">Emergency access (break \
         glass)</a></li></ul>",
        banner(banner_of, today),
        escape(reason)
    );
    render(&Page { title: &banner_of.name, signed_in: Some(bar) }, &main)
}

/// Declaring a relationship, or breaking glass: the reason is asked for in a sentence.
pub fn declare_page(
    bar: SignedInBar<'_>,
    patient_id: &str,
    kind: DeclareKind,
    banner_of: &Banner,
    error: Option<&str>,
    today: &str,
) -> String {
    let (path, title, explanation, button) = match kind {
        DeclareKind::Relationship => (
            "relationship",
            "Declare a legitimate relationship",
            "Say why you are caring for this person. Your declaration lasts for a limited time, in this role profile \
             only, and is recorded with your name for information governance to review.",
            "Declare relationship",
        ),
        DeclareKind::SensitiveAccess => (
            "sealed",
            "See sealed items",
            "Some of this record is sealed (sexual health, HIV, gender identity, fertility, some mental health and \
             safeguarding notes). If your role allows it and this person's care needs it, say why: the reason is \
             recorded with your access and reviewed.",
            "See sealed items",
        ),
        DeclareKind::BreakGlass => (
            "break-glass",
            "Emergency access (break glass)",
            "Use this only when the person needs care now and you cannot declare a relationship. Your access is \
             recorded, limited in time, and reviewed by information governance.",
            "Use emergency access",
        ),
    };
    let mut main = String::new();
    if let Some(error) = error {
        main.push_str(&crate::sign_in_pages::error_summary(error, "reason"));
    }
    main.push_str(&banner(banner_of, today));
    main.push_str(&format!(
        "<h2>{title}</h2><p>{explanation}</p><form method=\"post\" action=\"/viewer/person/{}/{path}\" novalidate>{}\
         <div class=\"nhsuk-form-group{}\"><label class=\"nhsuk-label\" for=\"reason\">Reason</label><div \
         class=\"nhsuk-hint\" id=\"reason-hint\">In a sentence, at least 10 characters</div><textarea \
         class=\"nhsuk-textarea\" id=\"reason\" name=\"reason\" rows=\"3\" aria-describedby=\"reason-hint\">\
         </textarea></div><button class=\"nhsuk-button\" type=\"submit\">{button}</button></form>",
        id_segment(patient_id),
        csrf_field(bar.csrf_token),
        if error.is_some() { " nhsuk-form-group--error" } else { "" }
    ));
    render(&Page { title, signed_in: Some(bar) }, &main)
}

/// The parts of a person's record, each a page of its own.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Summary,
    Results,
    Timeline,
    Documents,
    Medications,
    SocialCare,
}

impl Section {
    pub const ALL: [Section; 6] = [
        Section::Summary,
        Section::Results,
        Section::Timeline,
        Section::Documents,
        Section::Medications,
        Section::SocialCare,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Section::Summary => "Summary",
            Section::Results => "Results",
            Section::Timeline => "Timeline",
            Section::Documents => "Letters and documents",
            Section::Medications => "Medication history",
            Section::SocialCare => "Social care",
        }
    }

    /// The path after `/viewer/person/{id}`.
    pub fn path(self) -> &'static str {
        match self {
            Section::Summary => "",
            Section::Results => "/results",
            Section::Timeline => "/timeline",
            Section::Documents => "/documents",
            Section::Medications => "/medications",
            Section::SocialCare => "/social-care",
        }
    }
}

/// What every page of a person starts with: safeguarding flags above everything, the banner, what was withheld, and
/// the way to the other parts of the record.
pub fn person_header(
    patient_id: &str,
    record: &PersonRecord,
    withheld: &[String],
    today: &str,
    current: Section,
) -> String {
    let mut html = safeguarding(&record.safeguarding);
    html.push_str(&banner(&record.banner, today));
    let id = id_segment(patient_id);
    for notice in withheld {
        let sealed = if notice.contains("sensitive") {
            format!(
                "<p><a href=\"/viewer/person/{id}/sealed\">See sealed items</a>, if your role allows it and you say \
                 why.</p>"
            )
        } else {
            String::new()
        };
        html.push_str(&format!(
            "<div class=\"nhsuk-inset-text\" data-testid=\"withheld\"><span class=\"nhsuk-u-visually-hidden\">\
             Information: </span><p>{}</p>{sealed}</div>",
            escape(notice)
        ));
    }
    let links: String = Section::ALL
        .iter()
        .map(|section| {
            let current_attribute = if *section == current { " aria-current=\"page\"" } else { "" };
            format!(
                "<li class=\"nhsuk-u-margin-right-4 nhsuk-u-margin-bottom-1\"><a href=\"/viewer/person/{id}{}\"{current_attribute}>{}</a></li>",
                section.path(),
                section.title()
            )
        })
        .collect();
    html.push_str(&format!(
        "<nav aria-label=\"Parts of the record\" data-testid=\"record-sections\"><ul class=\"nhsuk-list nhsuk-u-font-size-19\">{links}</ul></nav>"
    ));
    html
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum DeclareKind {
    Relationship,
    /// A reason to see sealed items (B1611).
    SensitiveAccess,
    BreakGlass,
}

fn safeguarding(flags: &[Line]) -> String {
    if flags.is_empty() {
        return "<section data-testid=\"safeguarding\" aria-labelledby=\"safeguarding-heading\"><h2 \
                class=\"nhsuk-heading-s\" id=\"safeguarding-heading\">Safeguarding</h2><p>No safeguarding flags \
                shared.</p></section>"
            .to_string();
    }
    let mut html = String::from(
        "<section class=\"nhsuk-warning-callout\" data-testid=\"safeguarding\" aria-labelledby=\"safeguarding-heading\">\
         <h2 class=\"nhsuk-warning-callout__label\" id=\"safeguarding-heading\"><span role=\"text\"><span \
         class=\"nhsuk-u-visually-hidden\">Important: </span>Safeguarding</span></h2><ul class=\"nhsuk-list\">",
    );
    for flag in flags {
        html.push_str(&format!(
            "<li><strong>{}</strong>{}{}<br><span class=\"nhsuk-body-s\">From {}</span></li>",
            escape(&flag.text),
            flag.date.as_deref().map(|date| format!(", since {}", escape(&display_date(date)))).unwrap_or_default(),
            flag.detail.as_deref().map(|team| format!(". Responsible: {}", escape(team))).unwrap_or_default(),
            escape(&flag.sources.join(", "))
        ));
    }
    html.push_str("</ul></section>");
    html
}

fn banner(banner: &Banner, today: &str) -> String {
    let nhs_number = banner.nhs_number.as_deref().map_or_else(|| "Not recorded".to_string(), nhs_number_display);
    let birth = match banner.birth_date.as_deref() {
        Some(date) => match age_on(date, today) {
            Some(age) => format!("{} ({age} years)", display_date(date)),
            None => display_date(date),
        },
        None => "Not recorded".into(),
    };
    let rows = [
        ("NHS number", nhs_number),
        ("Date of birth", birth),
        ("Sex", banner.gender.clone().unwrap_or_else(|| "Not recorded".into())),
        ("Address", banner.address.clone().unwrap_or_else(|| "Not recorded".into())),
        ("Registered GP practice", banner.registered_practice.clone().unwrap_or_else(|| "Not recorded".into())),
        ("Known to", banner.known_to.join(", ")),
    ];
    let rows: String = rows
        .iter()
        .map(|(key, value)| {
            format!(
                "<div class=\"nhsuk-summary-list__row\"><dt class=\"nhsuk-summary-list__key\">{key}</dt><dd \
                 class=\"nhsuk-summary-list__value\">{}</dd></div>",
                escape(value)
            )
        })
        .collect();
    format!(
        "<section data-testid=\"person-banner\" aria-labelledby=\"person-name\"><h1 id=\"person-name\" \
         class=\"nhsuk-u-margin-bottom-2\">{}</h1><dl class=\"nhsuk-summary-list\">{rows}</dl></section>",
        escape(&banner.name)
    )
}

fn allergies_and_alerts(allergies: &[Line], alerts: &[Line]) -> String {
    let mut html = section("allergies", "Allergies", allergies, "No known allergies recorded.");
    if !alerts.is_empty() {
        html.push_str(&section("alerts", "Alerts", alerts, ""));
    }
    html
}

/// A section as a table: what, when, from whom.
pub fn section(id: &str, title: &str, lines: &[Line], empty: &str) -> String {
    let mut html = format!(
        "<section aria-labelledby=\"{id}-heading\" data-testid=\"section-{id}\"><h2 id=\"{id}-heading\">{}</h2>",
        escape(title)
    );
    if lines.is_empty() {
        html.push_str(&format!("<p>{}</p></section>", escape(empty)));
        return html;
    }
    html.push_str(&format!(
        "<table class=\"nhsuk-table\"><caption class=\"nhsuk-table__caption nhsuk-u-visually-hidden\">{}</caption>\
         <thead class=\"nhsuk-table__head\"><tr class=\"nhsuk-table__row\"><th class=\"nhsuk-table__header\" \
         scope=\"col\">What</th><th class=\"nhsuk-table__header\" scope=\"col\">Date</th><th \
         class=\"nhsuk-table__header\" scope=\"col\">From</th></tr></thead><tbody class=\"nhsuk-table__body\">",
        escape(title)
    ));
    for line in lines {
        html.push_str(&format!(
            "<tr class=\"nhsuk-table__row\"><td class=\"nhsuk-table__cell\">{}{}</td><td class=\"nhsuk-table__cell\">{}\
             </td><td class=\"nhsuk-table__cell\">{}</td></tr>",
            escape(&line.text),
            line.detail
                .as_deref()
                .map(|detail| format!("<br><span class=\"nhsuk-body-s\">{}</span>", escape(detail)))
                .unwrap_or_default(),
            escape(&line.date.as_deref().map_or_else(|| "Not recorded".to_string(), display_date)),
            escape(&line.sources.join(", "))
        ));
    }
    html.push_str("</tbody></table></section>");
    html
}
