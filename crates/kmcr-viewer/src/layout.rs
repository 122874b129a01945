//! The page around every view: the NHS.UK header with the service name, who is signed in and in which role profile
//! (always shown, with the one-click way to switch and to sign out), and the main content. No inline script or style.

use crate::assets;
use crate::html::{csrf_field, escape};

pub const SERVICE_NAME: &str = "Shared Care Record";

/// Other role profiles offered as buttons in the header; more than this, and the header links to the choice.
const MAX_SWITCH_BUTTONS: usize = 2;

/// The signed-in user as the header shows them.
pub struct SignedInBar<'a> {
    /// The user's id or name.
    pub user: &'a str,
    /// The active role profile, as offered ("R8000 Clinical Practitioner"), or `None` before one is chosen.
    pub role: Option<&'a str>,
    /// The organisation of the active role profile ("M85001 Bearsted Medical Practice").
    pub organisation: Option<&'a str>,
    /// The user's other role profiles (id, how it reads): each is one button away.
    pub other_roles: Vec<(&'a str, &'a str)>,
    pub csrf_token: &'a str,
    /// Whether the role profile is an IG officer's (then the IG pages are linked).
    pub information_governance: bool,
}

pub struct Page<'a> {
    pub title: &'a str,
    pub signed_in: Option<SignedInBar<'a>>,
}

/// The whole HTML document with `main` (already escaped HTML) as its main content.
pub fn render(page: &Page<'_>, main: &str) -> String {
    let mut html = String::with_capacity(main.len() + 4096);
    html.push_str("<!DOCTYPE html>\n<html lang=\"en-GB\" class=\"nhsuk-template\"><head><meta charset=\"utf-8\">");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    html.push_str(&format!("<title>{} - {SERVICE_NAME}</title>", escape(page.title)));
    html.push_str(&format!("<link rel=\"stylesheet\" href=\"{}\">", assets::STYLESHEET));
    html.push_str(&format!("<link rel=\"icon\" href=\"{}\" sizes=\"48x48\">", assets::FAVICON_ICO));
    html.push_str(&format!("<link rel=\"icon\" href=\"{}\" type=\"image/svg+xml\">", assets::FAVICON_SVG));
    html.push_str(&format!("<script src=\"{}\" defer></script>", assets::SCRIPT));
    html.push_str("</head><body class=\"nhsuk-template__body\">");
    html.push_str("<a class=\"nhsuk-skip-link\" href=\"#maincontent\">Skip to main content</a>");
    html.push_str(&header(page));
    html.push_str("<div class=\"nhsuk-width-container\"><main class=\"nhsuk-main-wrapper\" id=\"maincontent\">");
    html.push_str(main);
    html.push_str("</main></div>");
    html.push_str(
        "<footer role=\"contentinfo\"><div class=\"nhsuk-footer\"><div class=\"nhsuk-width-container\">\
         <p class=\"nhsuk-body-s\">A read-only shared care record, joined from each organisation's own record. Every \
         view of a person's record is audited.</p></div></div></footer>",
    );
    html.push_str("</body></html>");
    html
}

fn header(page: &Page<'_>) -> String {
    let mut header = String::from(
        "<header class=\"nhsuk-header\" data-module=\"nhsuk-header\" role=\"banner\"><div \
         class=\"nhsuk-header__container nhsuk-width-container\"><div class=\"nhsuk-header__service\"><a \
         class=\"nhsuk-header__service-logo\" href=\"/viewer\" aria-label=\"NHS ",
    );
    header.push_str(SERVICE_NAME);
    header.push_str(" homepage\">");
    header.push_str(NHS_LOGO);
    header.push_str(&format!("<span class=\"nhsuk-header__service-name\">{SERVICE_NAME}</span></a></div>"));
    if let Some(signed_in) = &page.signed_in {
        header.push_str(&account(signed_in));
    }
    header.push_str("</div>");
    if let Some(signed_in) = &page.signed_in {
        header.push_str(&navigation(signed_in));
    }
    header.push_str("</header>");
    header
}

/// Who is signed in and in which role profile, always shown; switching role profile and signing out, one step each.
fn account(signed_in: &SignedInBar<'_>) -> String {
    let acting = match (signed_in.role, signed_in.organisation) {
        (Some(role), Some(organisation)) => format!("acting as {} at {}", escape(role), escape(organisation)),
        (Some(role), None) => format!("acting as {}", escape(role)),
        _ => "no role profile chosen yet".to_string(),
    };
    // One click to act in another role profile: a button each for a few, the list beyond that.
    let switch = if signed_in.other_roles.len() > MAX_SWITCH_BUTTONS {
        "<li class=\"nhsuk-header__account-item\"><a class=\"nhsuk-header__account-link\" href=\"/viewer/role\">Switch \
         role profile</a></li>"
            .to_string()
    } else {
        signed_in
            .other_roles
            .iter()
            .map(|(id, label)| {
                format!(
                    "<li class=\"nhsuk-header__account-item\"><form class=\"nhsuk-header__account-form\" method=\"post\" \
                     action=\"/viewer/role\" novalidate>{}<input type=\"hidden\" name=\"role_profile\" value=\"{}\">\
                     <button class=\"nhsuk-header__account-button\">Switch to {}</button></form></li>",
                    csrf_field(signed_in.csrf_token),
                    escape(id),
                    escape(label)
                )
            })
            .collect()
    };
    format!(
        "<nav class=\"nhsuk-header__account\" aria-label=\"Account\"><ul class=\"nhsuk-header__account-list\"><li \
         class=\"nhsuk-header__account-item\" data-testid=\"active-role\">{}, {acting}</li>{switch}<li \
         class=\"nhsuk-header__account-item\"><form class=\"nhsuk-header__account-form\" method=\"post\" \
         action=\"/viewer/sign-out\" novalidate>{}<button class=\"nhsuk-header__account-button\">Sign out</button>\
         </form></li></ul></nav>",
        escape(signed_in.user),
        csrf_field(signed_in.csrf_token)
    )
}

fn navigation(signed_in: &SignedInBar<'_>) -> String {
    let mut links = vec![("/viewer", "Find a person")];
    if signed_in.information_governance {
        links.push(("/viewer/ig/break-glass", "Break-glass review"));
    }
    let items: String = links
        .iter()
        .map(|(href, text)| {
            format!(
                "<li class=\"nhsuk-header__navigation-item\"><a class=\"nhsuk-header__navigation-link\" \
                 href=\"{href}\">{text}</a></li>"
            )
        })
        .collect();
    format!(
        "<nav class=\"nhsuk-header__navigation\" aria-label=\"Menu\"><div class=\"nhsuk-header__navigation-container \
         nhsuk-width-container\"><ul class=\"nhsuk-header__navigation-list\">{items}<li class=\"nhsuk-header__menu\" \
         hidden><button class=\"nhsuk-header__menu-toggle nhsuk-header__navigation-link\" id=\"toggle-menu\" \
         aria-expanded=\"false\"><span class=\"nhsuk-u-visually-hidden\">Browse </span>More</button></li></ul></div></nav>"
    )
}

/// The NHS logo as the design system draws it (an inline SVG is neither script nor style).
const NHS_LOGO: &str = "<svg class=\"nhsuk-header__logo\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 200 80\" \
     height=\"40\" width=\"100\" focusable=\"false\" role=\"img\" aria-label=\"NHS\"><title>NHS</title><path \
     fill=\"currentcolor\" d=\"M200 0v80H0V0h200Zm-27.5 5.5c-14.5 0-29 5-29 22 0 10.2 7.7 13.5 14.7 16.3l.7.3c5.4 2 \
     10.1 3.9 10.1 8.4 0 6.5-8.5 7.5-14 7.5s-12.5-1.5-16-3.5L135 70c5.5 2 13.5 3.5 20 3.5 15.5 0 32-4.5 32-22.5 \
     0-19.5-25.5-16.5-25.5-25.5 0-5.5 5.5-6.5 12.5-6.5a35 35 0 0 1 14.5 3l4-13.5c-4.5-2-12-3-20-3Zm-131 2h-22l-14 \
     65H22l9-45h.5l13.5 45h21.5l14-65H64l-9 45h-.5l-13-45Zm63 0h-18l-13 65h17l6-28H117l-5.5 28H129l13.5-65H125L119.5 \
     32h-20l5-24.5Z\"></path></svg>";
