//! The few pages of signing in: plain, accessible HTML with no script. Every value shown is escaped.

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{} - KMCR</title></head><body><main \
         id=\"main-content\"><h1>{}</h1>{body}</main></body></html>",
        escape(title),
        escape(title)
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; form-action 'self'; frame-ancestors 'none'"),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    response
}

pub fn error_page(status: StatusCode, message: &str) -> Response {
    page(status, "Sign-in could not continue", &format!("<p>{}</p>", escape(message)))
}

pub fn sign_in_page(flow_id: &str, app_name: &str, identity_provider: bool, error: Option<&str>) -> Response {
    let flow = escape(flow_id);
    let mut body = format!("<p>{} asks to read the shared care record as you.</p>", escape(app_name));
    if let Some(error) = error {
        body.push_str(&format!("<div role=\"alert\"><p>{}</p></div>", escape(error)));
    }
    if identity_provider {
        body.push_str(&format!(
            "<p><a href=\"/oauth/oidc/start?flow={flow}\">Sign in with NHS Care Identity Service 2</a></p>"
        ));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/oauth/authorize\"><input type=\"hidden\" name=\"flow\" value=\"{flow}\">\
         <input type=\"hidden\" name=\"action\" value=\"sign-in\">\
         <p><label for=\"username\">Username</label><br><input id=\"username\" name=\"username\" \
         autocomplete=\"username\" required></p>\
         <p><label for=\"password\">Password</label><br><input id=\"password\" name=\"password\" type=\"password\" \
         autocomplete=\"current-password\" required></p>\
         <p><button type=\"submit\">Sign in</button></p></form>"
    ));
    page(StatusCode::OK, "Sign in to KMCR", &body)
}

pub fn choose_role_page(flow_id: &str, choices: &[(String, String)]) -> Response {
    let mut body = format!(
        "<form method=\"post\" action=\"/oauth/authorize\"><input type=\"hidden\" name=\"flow\" value=\"{}\">\
         <input type=\"hidden\" name=\"action\" value=\"choose-role\"><fieldset><legend>Which role are you \
         working in?</legend>",
        escape(flow_id)
    );
    for (position, (id, label)) in choices.iter().enumerate() {
        let checked = if position == 0 { " checked" } else { "" };
        body.push_str(&format!(
            "<p><input type=\"radio\" id=\"role-{position}\" name=\"role_profile\" value=\"{}\"{checked}> <label \
             for=\"role-{position}\">{}</label></p>",
            escape(id),
            escape(label)
        ));
    }
    body.push_str("</fieldset><p><button type=\"submit\">Continue</button></p></form>");
    page(StatusCode::OK, "Choose a role profile", &body)
}
