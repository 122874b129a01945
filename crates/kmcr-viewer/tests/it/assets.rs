//! The design system's assets as a page relies on them: there, NHS.UK's own, and asking for nothing from elsewhere.

use expect_test::expect;
use kmcr_viewer::assets::{self, Asset};

fn asset_at_url(url: &str) -> &'static Asset {
    let path = url.strip_prefix(assets::URL_PREFIX).unwrap_or_else(|| panic!("{url} is not under the prefix"));
    assets::asset(path).unwrap_or_else(|| panic!("{url} is in no asset"))
}

fn stylesheet() -> &'static str {
    std::str::from_utf8(asset_at_url(assets::STYLESHEET).bytes).expect("the stylesheet is UTF-8")
}

/// Every `url(...)` in the stylesheet, quotes removed.
fn urls_in_stylesheet() -> Vec<&'static str> {
    let after_each_url = stylesheet().split("url(").skip(1);
    after_each_url
        .map(|rest| {
            let end_idx = rest.find(')').expect("url( is closed");
            rest[..end_idx].trim_matches(['"', '\''])
        })
        .collect()
}

/// `nhsuk-3f2a...e1.css` as `nhsuk-<hash>.css`, so the listing survives an upgrade.
fn without_hash(path: &str) -> String {
    let (name, extension) = path.rsplit_once('.').expect("a file name with an extension");
    let (stem, hash) = name.rsplit_once('-').expect("a hash after the last -");
    assert!(hash.len() == 16 && hash.bytes().all(|byte| byte.is_ascii_hexdigit()), "no content hash in {path}");
    format!("{stem}-<hash>.{extension}")
}

#[test]
fn stylesheet_defines_the_nhsuk_components_the_pages_use() {
    let asset = asset_at_url(assets::STYLESHEET);
    assert_eq!(asset.content_type, "text/css; charset=utf-8");
    assert!(asset.bytes.len() > 100_000, "the stylesheet is only {} bytes", asset.bytes.len());
    let css = stylesheet();
    for class in [
        ".nhsuk-header",
        ".nhsuk-header__logo",
        ".nhsuk-width-container",
        ".nhsuk-warning-callout",
        ".nhsuk-summary-list",
        ".nhsuk-table",
        ".nhsuk-tag",
        ".nhsuk-button",
        ".nhsuk-error-summary",
        ".nhsuk-inset-text",
    ] {
        assert!(css.contains(&format!("{class}{{")) || css.contains(&format!("{class},")), "no rule for {class}");
    }
}

#[test]
fn stylesheet_asks_for_nothing_from_another_origin() {
    let css = stylesheet();
    for remote in ["://", "url(//", "url(\"//", "url('//", "@import", "@font-face"] {
        assert!(!css.contains(remote), "the stylesheet contains {remote}");
    }
}

#[test]
fn stylesheet_sets_a_font_without_downloading_one() {
    // Frutiger where the computer has it, else Arial: nhsuk-frontend sets no font once its web font is left out.
    assert!(stylesheet().contains(r#"html{font-family:"Frutiger W01",arial,sans-serif}"#));
}

#[test]
fn every_url_in_the_stylesheet_is_an_asset() {
    let urls = urls_in_stylesheet();
    for url in &urls {
        if url.starts_with("data:") {
            continue;
        }
        // Relative to the stylesheet, which sits directly under the prefix.
        assert!(assets::asset(url).is_some(), "the stylesheet refers to {url}, which is no asset");
    }
    let mut referred: Vec<String> =
        urls.iter().filter(|url| !url.starts_with("data:")).map(|url| without_hash(url)).collect();
    referred.sort();
    referred.dedup();
    expect![[r#"
        icons/nhsuk-icon-arrow-down-<hash>.svg
        icons/nhsuk-icon-arrow-up-<hash>.svg
        icons/nhsuk-icon-arrow-up-down-<hash>.svg
        icons/nhsuk-icon-cross-<hash>.svg
    "#]]
    .assert_eq(&(referred.join("\n") + "\n"));
}

#[test]
fn script_is_nhsuk_frontend_started_without_inline_script() {
    let asset = asset_at_url(assets::SCRIPT);
    assert_eq!(asset.content_type, "text/javascript; charset=utf-8");
    let script = std::str::from_utf8(asset.bytes).expect("the script is UTF-8");
    assert!(script.len() > 20_000, "the script is only {} bytes", script.len());
    assert!(script.starts_with("(function () {\n\"use strict\";\n"));
    assert!(script.contains("function initAll("));
    // A classic script: `<script defer>` would fail on an export.
    assert!(!script.contains("export{") && !script.contains("export {"));
    assert!(!script.contains("sourceMappingURL"), "the script points at a source map that is not served");
    assert!(script.ends_with("document.body.classList.add(\"nhsuk-frontend-supported\");\n  initAll();\n}\n})();\n"));
}

#[test]
fn linked_urls_are_assets() {
    let linked = [
        (assets::STYLESHEET, "text/css; charset=utf-8"),
        (assets::SCRIPT, "text/javascript; charset=utf-8"),
        (assets::FAVICON_ICO, "image/x-icon"),
        (assets::FAVICON_SVG, "image/svg+xml"),
        (assets::MASK_ICON, "image/svg+xml"),
        (assets::APPLE_TOUCH_ICON, "image/png"),
    ];
    for (url, content_type) in linked {
        assert_eq!(asset_at_url(url).content_type, content_type, "{url}");
    }
}

#[test]
fn every_asset_is_named_by_its_content() {
    let mut listing: Vec<String> =
        assets::all().iter().map(|asset| format!("{} {}", without_hash(asset.path), asset.content_type)).collect();
    // Sorted again without the hashes, which would otherwise decide the order.
    listing.sort();
    expect![[r#"
        icons/favicon-<hash>.ico image/x-icon
        icons/favicon-<hash>.svg image/svg+xml
        icons/nhsuk-icon-180-<hash>.png image/png
        icons/nhsuk-icon-192-<hash>.png image/png
        icons/nhsuk-icon-512-<hash>.png image/png
        icons/nhsuk-icon-arrow-down-<hash>.svg image/svg+xml
        icons/nhsuk-icon-arrow-down-circle-<hash>.svg image/svg+xml
        icons/nhsuk-icon-arrow-left-<hash>.svg image/svg+xml
        icons/nhsuk-icon-arrow-left-circle-<hash>.svg image/svg+xml
        icons/nhsuk-icon-arrow-right-<hash>.svg image/svg+xml
        icons/nhsuk-icon-arrow-right-circle-<hash>.svg image/svg+xml
        icons/nhsuk-icon-arrow-up-<hash>.svg image/svg+xml
        icons/nhsuk-icon-arrow-up-circle-<hash>.svg image/svg+xml
        icons/nhsuk-icon-arrow-up-down-<hash>.svg image/svg+xml
        icons/nhsuk-icon-chevron-down-circle-<hash>.svg image/svg+xml
        icons/nhsuk-icon-chevron-left-circle-<hash>.svg image/svg+xml
        icons/nhsuk-icon-chevron-right-circle-<hash>.svg image/svg+xml
        icons/nhsuk-icon-chevron-up-circle-<hash>.svg image/svg+xml
        icons/nhsuk-icon-cross-<hash>.svg image/svg+xml
        icons/nhsuk-icon-mask-<hash>.svg image/svg+xml
        icons/nhsuk-icon-minus-<hash>.svg image/svg+xml
        icons/nhsuk-icon-plus-<hash>.svg image/svg+xml
        icons/nhsuk-icon-search-<hash>.svg image/svg+xml
        icons/nhsuk-icon-tick-<hash>.svg image/svg+xml
        icons/nhsuk-icon-user-<hash>.svg image/svg+xml
        icons/nhsuk-opengraph-image-<hash>.png image/png
        nhsuk-<hash>.css text/css; charset=utf-8
        nhsuk-<hash>.js text/javascript; charset=utf-8
    "#]]
    .assert_eq(&(listing.join("\n") + "\n"));
    assert!(assets::all().iter().all(|asset| !asset.bytes.is_empty()));
    assert!(assets::all().windows(2).all(|pair| pair[0].path < pair[1].path), "sorted, no duplicates");
}

#[test]
fn unknown_paths_are_no_asset() {
    let full_url = assets::STYLESHEET;
    for path in [
        "",
        "nhsuk.css",
        "nhsuk.min.css",
        "nhsuk-0000000000000000.css",
        "icons/",
        "icons/favicon.ico",
        "../Cargo.toml",
        full_url,
    ] {
        assert!(assets::asset(path).is_none(), "{path:?} found an asset");
    }
}
