//! Signing in (a local account; NHS CIS2 when configured) and choosing the role profile to act in.

use crate::html::{csrf_field, escape};
use crate::layout::{Page, SignedInBar, render};

/// The sign-in form. `form_token` ties the form to this browser (a cookie holds the same value).
pub fn sign_in_page(form_token: &str, error: Option<&str>, identity_provider: bool) -> String {
    let mut main = String::from("<div class=\"nhsuk-grid-row\"><div class=\"nhsuk-grid-column-two-thirds\">");
    if let Some(error) = error {
        main.push_str(&error_summary(error, "username"));
    }
    main.push_str("<h1>Sign in</h1>");
    if identity_provider {
        main.push_str(
            "<p><a class=\"nhsuk-button\" href=\"/viewer/sign-in/cis2\">Sign in with NHS Care Identity Service 2</a></p>\
             <p>Or sign in with a local account.</p>",
        );
    }
    main.push_str(&format!(
        "<form method=\"post\" action=\"/viewer/sign-in\" novalidate>{}\
         <div class=\"nhsuk-form-group\"><label class=\"nhsuk-label\" for=\"username\">Username</label>\
         <input class=\"nhsuk-input nhsuk-u-width-two-thirds\" id=\"username\" name=\"username\" type=\"text\" \
         autocomplete=\"username\" spellcheck=\"false\"></div>\
         <div class=\"nhsuk-form-group\"><label class=\"nhsuk-label\" for=\"password\">Password</label>\
         <input class=\"nhsuk-input nhsuk-u-width-two-thirds\" id=\"password\" name=\"password\" type=\"password\" \
         autocomplete=\"current-password\"></div>\
         <button class=\"nhsuk-button\" type=\"submit\">Sign in</button></form></div></div>",
        csrf_field(form_token)
    ));
    render(&Page { title: "Sign in", signed_in: None }, &main)
}

/// One role profile offered: its id and how it reads ("R8000 Clinical Practitioner at M85001 Bearsted Medical
/// Practice").
pub struct RoleChoice {
    pub id: String,
    pub label: String,
}

pub fn choose_role_page(bar: SignedInBar<'_>, choices: &[RoleChoice], active: Option<&str>) -> String {
    let mut radios = String::new();
    for (position, choice) in choices.iter().enumerate() {
        let checked = match active {
            Some(active) if active == choice.id => " checked",
            None if position == 0 => " checked",
            _ => "",
        };
        radios.push_str(&format!(
            "<div class=\"nhsuk-radios__item\"><input class=\"nhsuk-radios__input\" id=\"role-{position}\" \
             name=\"role_profile\" type=\"radio\" value=\"{}\"{checked}><label class=\"nhsuk-label \
             nhsuk-radios__label\" for=\"role-{position}\">{}</label></div>",
            escape(&choice.id),
            escape(&choice.label)
        ));
    }
    let main = format!(
        "<div class=\"nhsuk-grid-row\"><div class=\"nhsuk-grid-column-two-thirds\"><form method=\"post\" \
         action=\"/viewer/role\">{}<div class=\"nhsuk-form-group\"><fieldset class=\"nhsuk-fieldset\">\
         <legend class=\"nhsuk-fieldset__legend nhsuk-fieldset__legend--l\"><h1 class=\"nhsuk-fieldset__heading\">\
         Choose a role profile</h1></legend><div class=\"nhsuk-radios\">{radios}</div></fieldset></div>\
         <button class=\"nhsuk-button\" type=\"submit\">Continue</button></form></div></div>",
        csrf_field(bar.csrf_token)
    );
    render(&Page { title: "Choose a role profile", signed_in: Some(bar) }, &main)
}

/// The NHS.UK error summary, linking to the field at fault.
pub fn error_summary(message: &str, field_id: &str) -> String {
    format!(
        "<div class=\"nhsuk-error-summary\" aria-labelledby=\"error-summary-title\" role=\"alert\" tabindex=\"-1\">\
         <h2 class=\"nhsuk-error-summary__title\" id=\"error-summary-title\">There is a problem</h2>\
         <div class=\"nhsuk-error-summary__body\"><ul class=\"nhsuk-list nhsuk-error-summary__list\"><li>\
         <a href=\"#{}\">{}</a></li></ul></div></div>",
        escape(field_id),
        escape(message)
    )
}

/// A page that only says what went wrong, and where to go next.
pub fn message_page(bar: Option<SignedInBar<'_>>, title: &str, message: &str) -> String {
    let main =
        format!("<h1>{}</h1><p>{}</p><p><a href=\"/viewer\">Find a person</a></p>", escape(title), escape(message));
    render(&Page { title, signed_in: bar }, &main)
}

/// The national RBAC job role's name, for the R codes KMCR's users hold.
pub fn job_role_name(code: &str) -> Option<&'static str> {
    Some(match code {
        "R8000" => "Clinical Practitioner",
        "R8001" => "Nurse",
        "R8003" => "Health Professional",
        "R8008" => "Admin/Clinical Support",
        "R8009" => "Receptionist",
        "R8010" => "Clerical",
        "R8013" => "Health Records Manager",
        "R8014" => "Social Worker",
        "R8015" => "Systems Support",
        "R8016" => "Midwife",
        "R0001" => "Privacy Officer",
        "R5105" => "Caldicott Guardian",
        _ => return None,
    })
}
