//! The NHS.UK design system's stylesheet, script and images, built by `build.rs` from `nhsuk-frontend` in npm's lock
//! file and compiled into the binary. Every file name carries a hash of its content, so a response can be cached
//! forever (`Cache-Control: public, max-age=31536000, immutable`). Nothing here refers to another origin: the
//! stylesheet has no web font and no remote URL, so the pages work under a `'self'`-only Content-Security-Policy.

mod generated {
    use super::Asset;

    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// One file served under `URL_PREFIX`.
#[derive(Debug)]
pub struct Asset {
    /// The path after `URL_PREFIX`, such as `nhsuk-<hash>.css` or `icons/favicon-<hash>.ico`.
    pub path: &'static str,
    /// The `Content-Type` to serve it with.
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

/// Where the assets are served; `asset` takes what follows it.
pub const URL_PREFIX: &str = "/viewer/assets/";

/// The stylesheet's URL, for `<link rel="stylesheet">`.
pub const STYLESHEET: &str = generated::STYLESHEET_URL;

/// The script's URL, for `<script src="..." defer>` (or `type="module"`). It is nhsuk-frontend's module made a classic
/// script, ending with what the NHS.UK template does inline: it adds `nhsuk-frontend-supported` to `<body>` and calls
/// `initAll()`, so it must run after `<body>` is parsed.
pub const SCRIPT: &str = generated::SCRIPT_URL;

/// `<link rel="icon" href="..." sizes="48x48">`
pub const FAVICON_ICO: &str = generated::FAVICON_ICO_URL;

/// `<link rel="icon" href="..." sizes="any" type="image/svg+xml">`
pub const FAVICON_SVG: &str = generated::FAVICON_SVG_URL;

/// `<link rel="mask-icon" href="..." color="#005eb8">`
pub const MASK_ICON: &str = generated::MASK_ICON_URL;

/// `<link rel="apple-touch-icon" href="...">`
pub const APPLE_TOUCH_ICON: &str = generated::APPLE_TOUCH_ICON_URL;

/// The asset at `path`, what follows `URL_PREFIX` in the request's path; `None` for any other path.
pub fn asset(path: &str) -> Option<&'static Asset> {
    generated::ALL_ASSETS.iter().find(|asset| asset.path == path)
}

/// Every asset, sorted by path.
pub fn all() -> &'static [Asset] {
    generated::ALL_ASSETS
}
