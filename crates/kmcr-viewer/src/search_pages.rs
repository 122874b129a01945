//! Finding a person: by NHS number (with or without spaces, checked), or by name, date of birth and postcode. The
//! results say who the person is and which organisations know them, never anything clinical.

use crate::html::{csrf_field, escape, id_segment};
use crate::layout::{Page, SignedInBar, render};
use crate::record::nhs_number_display;
use crate::sign_in_pages::error_summary;

/// What was typed, shown again with the results or the error.
#[derive(Default, Clone)]
pub struct SearchForm {
    pub nhs_number: String,
    pub family: String,
    pub given: String,
    pub birth_day: String,
    pub birth_month: String,
    pub birth_year: String,
    pub postcode: String,
}

/// A person found: one line per person, with each organisation that holds a record of them.
pub struct Found {
    pub patient_id: String,
    pub name: String,
    pub nhs_number: Option<String>,
    pub birth_date: Option<String>,
    pub known_to: Vec<String>,
}

pub enum Outcome<'a> {
    /// The search page before a search.
    NotSearched,
    /// A field at fault: the message and the field's id.
    Invalid {
        message: &'a str,
        field_id: &'a str,
    },
    Found(&'a [Found]),
}

pub fn search_page(bar: SignedInBar<'_>, form: &SearchForm, outcome: Outcome<'_>) -> String {
    let csrf = csrf_field(bar.csrf_token);
    let mut main = String::new();
    if let Outcome::Invalid { message, field_id } = &outcome {
        main.push_str(&error_summary(message, field_id));
    }
    main.push_str("<h1>Find a person</h1>");
    let nhs_error = matches!(&outcome, Outcome::Invalid { field_id: "nhs-number", .. });
    main.push_str(&format!(
        "<form method=\"post\" action=\"/viewer/search\" novalidate>{csrf}<input type=\"hidden\" name=\"by\" \
         value=\"nhs-number\"><div class=\"nhsuk-form-group{}\"><label class=\"nhsuk-label\" for=\"nhs-number\">NHS \
         number</label><div class=\"nhsuk-hint\" id=\"nhs-number-hint\">10 digits, with or without spaces, for \
         example 485 777 3456</div><input class=\"nhsuk-input nhsuk-input--width-10\" id=\"nhs-number\" \
         name=\"nhs_number\" type=\"text\" inputmode=\"numeric\" spellcheck=\"false\" autocomplete=\"off\" \
         aria-describedby=\"nhs-number-hint\" value=\"{}\"></div><button class=\"nhsuk-button\" type=\"submit\">\
         Search by NHS number</button></form>",
        if nhs_error { " nhsuk-form-group--error" } else { "" },
        escape(&form.nhs_number)
    ));
    main.push_str(&format!(
        "<h2>Or search by name, date of birth and postcode</h2><form method=\"post\" action=\"/viewer/search\" \
         novalidate>{csrf}<input type=\"hidden\" name=\"by\" value=\"demographics\">{}{}<div \
         class=\"nhsuk-form-group\"><fieldset class=\"nhsuk-fieldset\" role=\"group\" aria-describedby=\"birth-hint\">\
         <legend class=\"nhsuk-fieldset__legend nhsuk-fieldset__legend--s\">Date of birth</legend><div \
         class=\"nhsuk-hint\" id=\"birth-hint\">For example, 15 3 1984</div><div class=\"nhsuk-date-input\" \
         id=\"birth\">{}{}{}</div></fieldset></div>{}<button class=\"nhsuk-button\" type=\"submit\">Search by name\
         </button></form>",
        text_field("family", "family", "Family name", &form.family),
        text_field("given", "given", "Given name", &form.given),
        date_part_field("birth-day", "birth_day", "Day", &form.birth_day, 2),
        date_part_field("birth-month", "birth_month", "Month", &form.birth_month, 2),
        date_part_field("birth-year", "birth_year", "Year", &form.birth_year, 4),
        text_field("postcode", "postcode", "Postcode", &form.postcode),
    ));
    if let Outcome::Found(found) = outcome {
        main.push_str(&results(found));
    }
    render(&Page { title: "Find a person", signed_in: Some(bar) }, &main)
}

fn text_field(id: &str, name: &str, label: &str, value: &str) -> String {
    format!(
        "<div class=\"nhsuk-form-group\"><label class=\"nhsuk-label\" for=\"{id}\">{label}</label><input \
         class=\"nhsuk-input nhsuk-u-width-one-half\" id=\"{id}\" name=\"{name}\" type=\"text\" spellcheck=\"false\" \
         autocomplete=\"off\" value=\"{}\"></div>",
        escape(value)
    )
}

fn date_part_field(id: &str, name: &str, label: &str, value: &str, width: usize) -> String {
    format!(
        "<div class=\"nhsuk-date-input__item\"><div class=\"nhsuk-form-group\"><label class=\"nhsuk-label \
         nhsuk-date-input__label\" for=\"{id}\">{label}</label><input class=\"nhsuk-input nhsuk-date-input__input \
         nhsuk-input--width-{width}\" id=\"{id}\" name=\"{name}\" type=\"text\" inputmode=\"numeric\" \
         autocomplete=\"off\" value=\"{}\"></div></div>",
        escape(value)
    )
}

fn results(found: &[Found]) -> String {
    let mut html = String::from("<h2 id=\"results\">Results</h2>");
    if found.is_empty() {
        html.push_str("<p>No person matches this search. Check what was typed, or search another way.</p>");
        return html;
    }
    html.push_str(&format!(
        "<p>{} {} found.</p><ul class=\"nhsuk-list\" data-testid=\"search-results\">",
        found.len(),
        if found.len() == 1 { "person" } else { "people" }
    ));
    for person in found {
        let nhs_number = person.nhs_number.as_deref().map_or_else(|| "not recorded".to_string(), nhs_number_display);
        let birth =
            person.birth_date.as_deref().map_or_else(|| "not recorded".to_string(), crate::fhir_values::display_date);
        html.push_str(&format!(
            "<li class=\"nhsuk-card nhsuk-u-margin-bottom-3\"><div class=\"nhsuk-card__content\"><h3 \
             class=\"nhsuk-card__heading nhsuk-heading-s\"><a class=\"nhsuk-card__link\" href=\"/viewer/person/{}\">{}\
             </a></h3><p class=\"nhsuk-body-s nhsuk-u-margin-bottom-1\">NHS number {} &middot; born {}</p><p \
             class=\"nhsuk-body-s nhsuk-u-margin-bottom-0\">Known to: {}</p></div></li>",
            id_segment(&person.patient_id),
            escape(&person.name),
            escape(&nhs_number),
            escape(&birth),
            escape(&person.known_to.join(", "))
        ));
    }
    html.push_str("</ul>");
    html
}
