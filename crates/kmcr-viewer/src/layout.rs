//! The page around every view: the NHS.UK header with the service name, who is signed in and in which role profile
//! (always shown, with the one-click way to switch and to sign out), and the main content. No inline script or style.

use crate::assets;
use crate::html::{csrf_field, escape};

pub const SERVICE_NAME: &str = "Shared Care Record";

/// The signed-in user as the header shows them.
pub struct SignedInBar<'a> {
    /// The user's id or name.
    pub user: &'a str,
    /// The active role profile, as offered ("R8000 Clinical Practitioner"), or `None` before one is chosen.
    pub role: Option<&'a str>,
    /// The organisation of the active role profile ("M85001 Bearsted Medical Practice").
    pub organisation: Option<&'a str>,
    /// Whether the user holds more than one role profile (then "Switch role profile" is offered).
    pub can_switch: bool,
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
        "<header class=\"nhsuk-header\" role=\"banner\"><div class=\"nhsuk-header__container nhsuk-width-container\">\
         <div class=\"nhsuk-header__service\"><a class=\"nhsuk-header__service-logo\" href=\"/viewer\" aria-label=\"",
    );
    header.push_str(SERVICE_NAME);
    header.push_str(" homepage\">");
    header.push_str(NHS_LOGO);
    header.push_str(&format!("<span class=\"nhsuk-header__service-name\">{SERVICE_NAME}</span></a></div></div>"));
    if let Some(signed_in) = &page.signed_in {
        header.push_str(&role_bar(signed_in));
    }
    header.push_str("</header>");
    header
}

fn role_bar(signed_in: &SignedInBar<'_>) -> String {
    let acting = match (signed_in.role, signed_in.organisation) {
        (Some(role), Some(organisation)) => format!("{} at {}", escape(role), escape(organisation)),
        (Some(role), None) => escape(role),
        _ => "no role profile chosen yet".to_string(),
    };
    let mut links = Vec::new();
    links.push("<a class=\"nhsuk-header__navigation-link\" href=\"/viewer\">Find a person</a>".to_string());
    if signed_in.can_switch {
        links.push(
            "<a class=\"nhsuk-header__navigation-link\" href=\"/viewer/role\">Switch role profile</a>".to_string(),
        );
    }
    if signed_in.information_governance {
        links.push(
            "<a class=\"nhsuk-header__navigation-link\" href=\"/viewer/ig/break-glass\">Break-glass review</a>"
                .to_string(),
        );
    }
    let items: String =
        links.iter().map(|link| format!("<li class=\"nhsuk-header__navigation-item\">{link}</li>")).collect();
    format!(
        "<div class=\"nhsuk-navigation-container\"><nav class=\"nhsuk-navigation\" aria-label=\"Signed in\">\
         <div class=\"nhsuk-width-container\"><p class=\"nhsuk-body-s nhsuk-u-margin-bottom-1\" \
         data-testid=\"active-role\">Signed in as {} &middot; acting as {acting}</p>\
         <ul class=\"nhsuk-header__navigation-list\">{items}<li class=\"nhsuk-header__navigation-item\">\
         <form method=\"post\" action=\"/viewer/sign-out\">{}<button class=\"nhsuk-button nhsuk-button--secondary \
         nhsuk-u-margin-bottom-0\" type=\"submit\">Sign out</button></form></li></ul></div></nav></div>",
        escape(signed_in.user),
        csrf_field(signed_in.csrf_token)
    )
}

/// The NHS logo as the design system draws it (an inline SVG is neither script nor style).
const NHS_LOGO: &str = "<svg class=\"nhsuk-logo\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 40 16\" \
     height=\"40\" width=\"100\" focusable=\"false\" aria-hidden=\"true\"><path class=\"nhsuk-logo__background\" \
     fill=\"#005eb8\" d=\"M0 0h40v16H0z\"></path><path class=\"nhsuk-logo__text\" fill=\"#fff\" \
     d=\"M3.9 1.5h4.4l2.6 9h.1l1.8-9h3.3l-2.8 13H9l-2.7-9h-.1l-1.8 9H1.1M17.3 1.5h3.6l-1 4.9h4L25 \
     1.5h3.5l-2.7 13h-3.5l1.1-5.6h-4.1l-1.2 5.6h-3.4M37.7 4.4c-.7-.3-1.6-.6-2.9-.6-1.4 0-2.5.2-2.5 1.3 0 1.8 5.1 \
     1.2 5.1 5.1 0 3.6-3.3 4.5-6.4 4.5-1.3 0-2.9-.3-4-.7l.8-2.7c.7.4 2.1.7 3.2.7s2.8-.2 2.8-1.5c0-2.1-5.1-1.3-5.1-5 \
     0-3.4 2.9-4.4 5.8-4.4 1.6 0 3.1.2 4 .6\"></path></svg>";
