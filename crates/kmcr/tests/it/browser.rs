//! A browser, as far as the sign-in journeys need one: a real HTTP client (reqwest) that keeps cookies as a browser
//! does (by host and path, not by port: RFC 6265) and follows redirects one hop at a time, so that a test sees where
//! each hop goes. It runs no script; KMCR's sign-in pages need none.

use reqwest::Url;

struct Cookie {
    host: String,
    path: String,
    name: String,
    value: String,
}

/// One answer: where it came from, its status, where it redirects to (resolved), and its body.
pub struct Page {
    pub url: Url,
    pub status: u16,
    pub location: Option<Url>,
    pub body: String,
}

pub struct Browser {
    client: reqwest::Client,
    cookies: Vec<Cookie>,
}

impl Browser {
    pub fn new() -> Browser {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { client, cookies: Vec::new() }
    }

    pub async fn get(&mut self, url: &Url) -> Page {
        let request = self.client.get(url.clone());
        self.send(url, request).await
    }

    pub async fn post_form(&mut self, url: &Url, form: &[(&str, &str)]) -> Page {
        let request = self.client.post(url.clone()).form(form);
        self.send(url, request).await
    }

    /// Follows redirects from `url` until an answer is not a redirect, or until the next hop would leave for a URL
    /// starting with `stop_at` (an app's redirect URI, which has no server behind it here): the last answer.
    pub async fn follow(&mut self, url: &Url, stop_at: &str) -> Page {
        let mut page = self.get(url).await;
        for _ in 0..16 {
            match &page.location {
                Some(next) if !next.as_str().starts_with(stop_at) => {
                    let next = next.clone();
                    page = self.get(&next).await;
                }
                _ => return page,
            }
        }
        panic!("more than 16 redirects from {url}");
    }

    async fn send(&mut self, url: &Url, request: reqwest::RequestBuilder) -> Page {
        let host = url.host_str().unwrap_or_default().to_string();
        let cookie_header: Vec<String> = self
            .cookies
            .iter()
            .filter(|cookie| cookie.host == host && url.path().starts_with(&cookie.path))
            .map(|cookie| format!("{}={}", cookie.name, cookie.value))
            .collect();
        let request =
            if cookie_header.is_empty() { request } else { request.header("cookie", cookie_header.join("; ")) };
        let response = request.send().await.unwrap_or_else(|error| panic!("{url}: {error}"));
        for set_cookie in response.headers().get_all("set-cookie") {
            self.keep_cookie(&host, url, set_cookie.to_str().unwrap());
        }
        let status = response.status().as_u16();
        let location = response.headers().get("location").map(|location| url.join(location.to_str().unwrap()).unwrap());
        let body = response.text().await.unwrap();
        Page { url: url.clone(), status, location, body }
    }

    fn keep_cookie(&mut self, host: &str, url: &Url, set_cookie: &str) {
        let mut attributes = set_cookie.split(';');
        let Some((name, value)) = attributes.next().and_then(|pair| pair.trim().split_once('=')) else { return };
        let mut path = url.path().rsplit_once('/').map_or("/", |(directory, _)| directory).to_string();
        let mut expired = value.is_empty();
        for attribute in attributes {
            let (key, attribute_value) = attribute.trim().split_once('=').unwrap_or((attribute.trim(), ""));
            if key.eq_ignore_ascii_case("path") {
                path = attribute_value.to_string();
            } else if key.eq_ignore_ascii_case("max-age") && attribute_value.parse::<i64>().is_ok_and(|age| age <= 0) {
                expired = true;
            }
        }
        if path.is_empty() {
            path = "/".to_string();
        }
        self.cookies.retain(|cookie| !(cookie.host == host && cookie.path == path && cookie.name == name));
        if !expired {
            self.cookies.push(Cookie {
                host: host.to_string(),
                path,
                name: name.to_string(),
                value: value.to_string(),
            });
        }
    }
}

impl Page {
    /// The values of every `name="..."` attribute in the page, in order, unescaped.
    pub fn attribute_values(&self, name: &str) -> Vec<String> {
        let marker = format!("{name}=\"");
        self.body
            .split(&marker)
            .skip(1)
            .filter_map(|rest| rest.split_once('"').map(|(value, _)| unescape(value)))
            .collect()
    }
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}
