//! Information governance's pages: the break-glass review queue, who accessed a person's record, and a person's
//! objections with the Consent records they were read from.

use crate::html::{csrf_field, escape, id_segment};
use crate::layout::{Page, SignedInBar, render};

/// A break-glass use as the queue shows it.
pub struct BreakGlassUse {
    pub grant_id: i64,
    pub user_id: String,
    pub role_profile_id: String,
    pub organisation: String,
    pub patient_id: String,
    pub reason: String,
    /// When it began and ended, as people read them.
    pub from: String,
    pub to: String,
    /// For a reviewed use: the outcome, the note and who reviewed it.
    pub review: Option<(String, String, String)>,
}

pub fn break_glass_page(bar: SignedInBar<'_>, open: &[BreakGlassUse], reviewed: &[BreakGlassUse]) -> String {
    let csrf = csrf_field(bar.csrf_token);
    let mut main = String::from(
        "<h1>Break-glass review</h1><p>Each use of emergency access is reviewed: was it \
         appropriate? Record the outcome and a note; a use you refer goes to the Caldicott Guardian.</p>",
    );
    main.push_str(&format!("<h2>Awaiting review ({})</h2>", open.len()));
    if open.is_empty() {
        main.push_str("<p>No break-glass use is waiting for review.</p>");
    }
    for grant in open {
        let id = grant.grant_id;
        main.push_str(&format!(
            "<div class=\"nhsuk-card\" data-testid=\"break-glass-use\"><div class=\"nhsuk-card__content\"><h3 \
             class=\"nhsuk-card__heading\">Emergency access by {}</h3>{}<form method=\"post\" \
             action=\"/viewer/ig/break-glass/{id}/review\" novalidate>{csrf}<div class=\"nhsuk-form-group\"><fieldset \
             class=\"nhsuk-fieldset\"><legend class=\"nhsuk-fieldset__legend nhsuk-fieldset__legend--s\">Outcome of \
             the review</legend><div class=\"nhsuk-radios\">{}</div></fieldset></div><div class=\"nhsuk-form-group\">\
             <label class=\"nhsuk-label\" for=\"note-{id}\">Note</label><textarea class=\"nhsuk-textarea\" \
             id=\"note-{id}\" name=\"note\" rows=\"2\"></textarea></div><button class=\"nhsuk-button\" type=\"submit\">\
             Record review</button></form></div></div>",
            escape(&grant.user_id),
            details(grant),
            ["appropriate", "inappropriate", "referred"]
                .iter()
                .map(|outcome| format!(
                    "<div class=\"nhsuk-radios__item\"><input class=\"nhsuk-radios__input\" id=\"outcome-{id}-{outcome}\" \
                     name=\"outcome\" type=\"radio\" value=\"{outcome}\"{}><label class=\"nhsuk-label \
                     nhsuk-radios__label\" for=\"outcome-{id}-{outcome}\">{}</label></div>",
                    if *outcome == "appropriate" { " checked" } else { "" },
                    match *outcome { "appropriate" => "Appropriate", "inappropriate" => "Inappropriate", _ => "Referred" }
                ))
                .collect::<String>()
        ));
    }
    main.push_str(&format!("<h2>Reviewed ({})</h2>", reviewed.len()));
    for grant in reviewed {
        let (outcome, note, by) = grant.review.clone().unwrap_or_default();
        main.push_str(&format!(
            "<div class=\"nhsuk-card\"><div class=\"nhsuk-card__content\"><h3 class=\"nhsuk-card__heading \
             nhsuk-heading-s\">Emergency access by {}: {}</h3>{}<p class=\"nhsuk-body-s\">Reviewed by {}{}</p></div></div>",
            escape(&grant.user_id),
            escape(&outcome),
            details(grant),
            escape(&by),
            if note.is_empty() { String::new() } else { format!(": {}", escape(&note)) }
        ));
    }
    render(&Page { title: "Break-glass review", signed_in: Some(bar) }, &main)
}

fn details(grant: &BreakGlassUse) -> String {
    let patient = id_segment(&grant.patient_id);
    format!(
        "<dl class=\"nhsuk-summary-list\"><div class=\"nhsuk-summary-list__row\"><dt class=\"nhsuk-summary-list__key\">\
         Role profile</dt><dd class=\"nhsuk-summary-list__value\">{} at {}</dd></div><div \
         class=\"nhsuk-summary-list__row\"><dt class=\"nhsuk-summary-list__key\">When</dt><dd \
         class=\"nhsuk-summary-list__value\">{} to {}</dd></div><div class=\"nhsuk-summary-list__row\"><dt \
         class=\"nhsuk-summary-list__key\">Reason given</dt><dd class=\"nhsuk-summary-list__value\">{}</dd></div><div \
         class=\"nhsuk-summary-list__row\"><dt class=\"nhsuk-summary-list__key\">Person</dt><dd \
         class=\"nhsuk-summary-list__value\"><a href=\"/viewer/ig/person/{patient}/access\">Who accessed this \
         record</a> &middot; <a href=\"/viewer/ig/person/{patient}/objections\">Objections</a></dd></div></dl>",
        escape(&grant.role_profile_id),
        escape(&grant.organisation),
        escape(&grant.from),
        escape(&grant.to),
        escape(&grant.reason)
    )
}

/// One entry of the audit about a person.
pub struct AccessEntry {
    pub when: String,
    pub who: String,
    pub role: String,
    pub action: String,
    pub purpose: String,
    pub outcome: String,
    pub reason: String,
}

pub fn access_page(bar: SignedInBar<'_>, patient_id: &str, entries: &[AccessEntry], more: bool) -> String {
    let mut main = String::from(
        "<h1>Who accessed this record</h1><p>Every view of this person's record, and every \
         refusal, from the tamper-evident audit (newest last). Reading this list is audited too.</p>",
    );
    main.push_str(&ig_links(patient_id));
    if entries.is_empty() {
        main.push_str("<p>No one has accessed this record.</p>");
    } else {
        main.push_str(
            "<table class=\"nhsuk-table\" data-testid=\"access-log\"><caption class=\"nhsuk-table__caption\">Accesses \
             to this record</caption><thead class=\"nhsuk-table__head\"><tr class=\"nhsuk-table__row\">",
        );
        for header in ["When", "Who", "Role profile", "What", "Purpose", "Outcome", "Reason given"] {
            main.push_str(&format!("<th class=\"nhsuk-table__header\" scope=\"col\">{header}</th>"));
        }
        main.push_str("</tr></thead><tbody class=\"nhsuk-table__body\">");
        for entry in entries {
            main.push_str("<tr class=\"nhsuk-table__row\">");
            for cell in
                [&entry.when, &entry.who, &entry.role, &entry.action, &entry.purpose, &entry.outcome, &entry.reason]
            {
                main.push_str(&format!("<td class=\"nhsuk-table__cell\">{}</td>", escape(cell)));
            }
            main.push_str("</tr>");
        }
        main.push_str("</tbody></table>");
    }
    if more {
        main.push_str(
            "<p>Only the first entries are shown: use <code>kmcr audit export --person</code> for the whole trail.</p>",
        );
    }
    render(&Page { title: "Who accessed this record", signed_in: Some(bar) }, &main)
}

/// An objection or its withdrawal, as recorded.
pub struct ConsentLine {
    pub status: String,
    pub what: String,
    pub recorded: String,
    pub source: String,
}

pub fn objections_page(bar: SignedInBar<'_>, patient_id: &str, consents: &[ConsentLine]) -> String {
    let mut main = String::from(
        "<h1>Objections</h1><p>The person's objections to sharing and their withdrawals, as \
         recorded (FHIR Consent). An active objection withholds what it names from KMCR's views.</p>",
    );
    main.push_str(&ig_links(patient_id));
    if consents.is_empty() {
        main.push_str("<p>No objection is recorded for this person.</p>");
    } else {
        main.push_str(
            "<table class=\"nhsuk-table\" data-testid=\"objections\"><caption class=\"nhsuk-table__caption\">\
             Consent records</caption><thead class=\"nhsuk-table__head\"><tr class=\"nhsuk-table__row\"><th \
             class=\"nhsuk-table__header\" scope=\"col\">Objection</th><th class=\"nhsuk-table__header\" \
             scope=\"col\">Status</th><th class=\"nhsuk-table__header\" scope=\"col\">Recorded</th><th \
             class=\"nhsuk-table__header\" scope=\"col\">By</th></tr></thead><tbody class=\"nhsuk-table__body\">",
        );
        for consent in consents {
            main.push_str(&format!(
                "<tr class=\"nhsuk-table__row\"><td class=\"nhsuk-table__cell\">{}</td><td class=\"nhsuk-table__cell\">{}\
                 </td><td class=\"nhsuk-table__cell\">{}</td><td class=\"nhsuk-table__cell\">{}</td></tr>",
                escape(&consent.what),
                escape(&consent.status),
                escape(&consent.recorded),
                escape(&consent.source)
            ));
        }
        main.push_str("</tbody></table>");
    }
    render(&Page { title: "Objections", signed_in: Some(bar) }, &main)
}

fn ig_links(patient_id: &str) -> String {
    let id = id_segment(patient_id);
    format!(
        "<ul class=\"nhsuk-list\"><li><a href=\"/viewer/ig/person/{id}/access\">Who accessed this record</a></li><li>\
         <a href=\"/viewer/ig/person/{id}/objections\">Objections</a></li><li><a href=\"/viewer/ig/break-glass\">\
         Break-glass review</a></li></ul>"
    )
}
