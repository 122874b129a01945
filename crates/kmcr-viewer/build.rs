//! Builds the NHS.UK design system's assets for the viewer from npm's lock file: installs `nhsuk-frontend` and `sass`
//! with `npm ci` (only when the lock changed), compiles the stylesheet without the remote Frutiger font, makes a
//! classic script of nhsuk-frontend's module, copies the images, each file under a name that carries a hash of its
//! content, and writes `OUT_DIR/assets.rs`, the table `src/assets.rs` includes.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where `kmcr-api` serves the assets; `src/assets.rs` states the same prefix and its tests check they agree.
const URL_PREFIX: &str = "/viewer/assets/";

const WHAT_THE_BUILD_NEEDS: &str = "kmcr-viewer builds the NHS.UK design system's styles and script from \
    crates/kmcr-viewer/assets/package-lock.json: it needs Node.js 20.19 or later with npm on the PATH, and the npm \
    registry reachable the first time it builds";

/// The stylesheet's source. The Frutiger font is licensed and served only from assets.nhs.uk, which the viewer's
/// Content-Security-Policy does not allow, so no `@font-face` is compiled. nhsuk-frontend then sets no font on
/// `html` (as govuk-frontend does), so we set its font stack ourselves: Frutiger where it is installed, else Arial.
/// Image URLs are relative to the stylesheet, so they resolve under `URL_PREFIX`.
const STYLESHEET_SOURCE: &str = r#"@use "nhsuk-frontend/dist/nhsuk" as nhsuk with (
  $nhsuk-include-default-font-face: false,
  $nhsuk-images-path: "icons/"
);

html {
  font-family: nhsuk.$nhsuk-font-family;
}
"#;

/// Wrapped round nhsuk-frontend's module, without its `export`, to make a classic script that works with
/// `<script defer>` and `<script type="module">` alike. The end does what the NHS.UK page template does in an inline
/// script (the viewer allows none), then starts every component on the page.
const SCRIPT_BEGIN: &str = "(function () {\n\"use strict\";\n";
const SCRIPT_END: &str = r#"
// Added by KMCR's build: mark the page as supported, as the NHS.UK template does, and start the components.
document.body.classList.add("js-enabled");
if ("noModule" in HTMLScriptElement.prototype) {
  document.body.classList.add("nhsuk-frontend-supported");
  initAll();
}
})();
"#;

/// The images the page layout links to itself (the favicons), with the constant the table gives each URL under.
const LINKED_IMAGES: [(&str, &str); 4] = [
    ("favicon.ico", "FAVICON_ICO_URL"),
    ("favicon.svg", "FAVICON_SVG_URL"),
    ("nhsuk-icon-mask.svg", "MASK_ICON_URL"),
    ("nhsuk-icon-180.png", "APPLE_TOUCH_ICON_URL"),
];

/// One file written under `OUT_DIR/assets/`.
struct BuiltAsset {
    /// The name nhsuk-frontend gives the file.
    source_name: String,
    /// The path under `URL_PREFIX`, with the content hash.
    url_path: String,
    content_type: &'static str,
    file: PathBuf,
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=assets/package.json");
    println!("cargo:rerun-if-changed=assets/package-lock.json");

    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let npm_dir = out_dir.join("npm");
    let assets_dir = out_dir.join("assets");

    check_node_version();
    install_packages(&manifest_dir.join("assets"), &npm_dir);

    // Start from an empty directory so no file of an earlier build lingers.
    if assets_dir.exists() {
        fs::remove_dir_all(&assets_dir).unwrap_or_else(|error| fail(&format!("cannot clear {assets_dir:?}: {error}")));
    }
    create_dir(&assets_dir.join("icons"));

    let frontend_dir = npm_dir.join("node_modules/nhsuk-frontend/dist/nhsuk");
    let images = copy_images(&frontend_dir.join("assets/images"), &assets_dir);
    let stylesheet = compile_stylesheet(&npm_dir, &assets_dir, &images);
    let script = build_script(&frontend_dir.join("nhsuk-frontend.min.js"), &assets_dir);
    write_table(&out_dir.join("assets.rs"), &stylesheet, &script, &images);
}

/// sass 1.108 and nhsuk-frontend 10 both ask for Node.js 20.19 or later.
fn check_node_version() {
    let version = run(Command::new("node").arg("--version"), "node --version");
    let version = version.trim();
    let mut numbers = version.trim_start_matches('v').split('.').map(|number| number.parse::<u32>().ok());
    let (major, minor) = (numbers.next().flatten(), numbers.next().flatten());
    let recent_enough = match (major, minor) {
        (Some(major), Some(minor)) => (major, minor) >= (20, 19),
        _ => false,
    };
    if !recent_enough {
        fail(&format!("{WHAT_THE_BUILD_NEEDS}.\n\nFound Node.js {version}."));
    }
}

/// Runs `npm ci` in `npm_dir` unless the stamp shows it already installed this package.json and lock.
fn install_packages(package_dir: &Path, npm_dir: &Path) {
    let package_json = read(&package_dir.join("package.json"));
    let package_lock = read(&package_dir.join("package-lock.json"));
    let stamp = format!("{}\n", content_hash(&[package_json.as_slice(), package_lock.as_slice()].concat()));
    let stamp_path = npm_dir.join("installed.stamp");
    let installed_stamp = fs::read_to_string(&stamp_path).unwrap_or_default();
    if installed_stamp == stamp && npm_dir.join("node_modules").is_dir() {
        return;
    }

    create_dir(npm_dir);
    // Remove the stamp first, so an install that fails part way is tried again next time.
    if stamp_path.exists() {
        fs::remove_file(&stamp_path).unwrap_or_else(|error| fail(&format!("cannot remove {stamp_path:?}: {error}")));
    }
    write(&npm_dir.join("package.json"), &package_json);
    write(&npm_dir.join("package-lock.json"), &package_lock);
    println!("running npm ci in {}", npm_dir.display());
    // `--omit=optional` leaves out sass's native file watcher, which only `sass --watch` uses.
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    run(
        Command::new(npm)
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--omit=optional", "--prefer-offline"])
            .current_dir(npm_dir),
        "npm ci",
    );
    write(&stamp_path, stamp.as_bytes());
}

/// Copies every image nhsuk-frontend ships to `icons/`, each name carrying its content hash.
fn copy_images(images_dir: &Path, assets_dir: &Path) -> Vec<BuiltAsset> {
    let entries =
        fs::read_dir(images_dir).unwrap_or_else(|error| fail(&format!("cannot list {images_dir:?}: {error}")));
    let mut source_names: Vec<String> = entries
        .map(|entry| {
            let entry = entry.unwrap_or_else(|error| fail(&format!("cannot list {images_dir:?}: {error}")));
            entry.file_name().into_string().unwrap_or_else(|name| fail(&format!("image name not UTF-8: {name:?}")))
        })
        .collect();
    source_names.sort();

    let mut images = Vec::new();
    for source_name in source_names {
        let (stem, extension) =
            source_name.rsplit_once('.').unwrap_or_else(|| fail(&format!("image without an extension: {source_name}")));
        let content_type = match extension {
            "svg" => "image/svg+xml",
            "png" => "image/png",
            "ico" => "image/x-icon",
            _ => fail(&format!("nhsuk-frontend ships an image build.rs has no content type for: {source_name}")),
        };
        let bytes = read(&images_dir.join(&source_name));
        let url_path = format!("icons/{stem}-{}.{extension}", content_hash(&bytes));
        images.push(save(assets_dir, source_name, url_path, content_type, &bytes));
    }
    images
}

/// Compiles the stylesheet with sass and points its image URLs at the hashed names.
fn compile_stylesheet(npm_dir: &Path, assets_dir: &Path, images: &[BuiltAsset]) -> BuiltAsset {
    write(&npm_dir.join("kmcr-viewer.scss"), STYLESHEET_SOURCE.as_bytes());
    run(
        Command::new("node")
            .args(["node_modules/sass/sass.js", "--style=compressed", "--no-source-map", "--load-path=node_modules"])
            .args(["kmcr-viewer.scss", "kmcr-viewer.css"])
            .current_dir(npm_dir),
        "sass",
    );
    let compiled = read(&npm_dir.join("kmcr-viewer.css"));
    let mut css = String::from_utf8(compiled).unwrap_or_else(|_| fail("sass wrote a stylesheet that is not UTF-8"));
    for image in images {
        let unhashed = format!("\"icons/{}\"", image.source_name);
        css = css.replace(&unhashed, &format!("\"{}\"", image.url_path));
    }
    let url_path = format!("nhsuk-{}.css", content_hash(css.as_bytes()));
    save(assets_dir, "nhsuk.css".to_owned(), url_path, "text/css; charset=utf-8", css.as_bytes())
}

/// nhsuk-frontend's module as a classic script: no source map comment (the map is not served), no `export`.
fn build_script(frontend_script: &Path, assets_dir: &Path) -> BuiltAsset {
    let bytes = read(frontend_script);
    let mut module = String::from_utf8(bytes).unwrap_or_else(|_| fail("nhsuk-frontend's script is not UTF-8"));
    if let Some(comment_idx) = module.rfind("//# sourceMappingURL=") {
        module.truncate(comment_idx);
    }
    // The module ends with its one export statement, `export{Button,...,version};`.
    let export_idx = module.rfind("export{").unwrap_or_else(|| fail("nhsuk-frontend's script has no export"));
    let export_statement = module[export_idx..].trim_end();
    if !export_statement.ends_with("};") || export_statement[..export_statement.len() - 2].contains('}') {
        fail(&format!("nhsuk-frontend's script no longer ends with one export statement: {export_statement}"));
    }
    module.truncate(export_idx);
    let script = format!("{SCRIPT_BEGIN}{module}{SCRIPT_END}");
    let url_path = format!("nhsuk-{}.js", content_hash(script.as_bytes()));
    save(assets_dir, "nhsuk.js".to_owned(), url_path, "text/javascript; charset=utf-8", script.as_bytes())
}

fn save(
    assets_dir: &Path,
    source_name: String,
    url_path: String,
    content_type: &'static str,
    bytes: &[u8],
) -> BuiltAsset {
    let file = assets_dir.join(&url_path);
    write(&file, bytes);
    BuiltAsset { source_name, url_path, content_type, file }
}

fn write_table(table_path: &Path, stylesheet: &BuiltAsset, script: &BuiltAsset, images: &[BuiltAsset]) {
    let mut all: Vec<&BuiltAsset> = images.iter().collect();
    all.push(stylesheet);
    all.push(script);
    all.sort_by(|left, right| left.url_path.cmp(&right.url_path));

    let mut table = String::from("// Written by crates/kmcr-viewer/build.rs.\n\n");
    table.push_str("pub(super) static ALL_ASSETS: &[Asset] = &[\n");
    for asset in &all {
        let file = asset.file.to_str().unwrap_or_else(|| fail(&format!("path not UTF-8: {:?}", asset.file)));
        table.push_str(&format!(
            "    Asset {{ path: {:?}, content_type: {:?}, bytes: include_bytes!({file:?}) }},\n",
            asset.url_path, asset.content_type
        ));
    }
    table.push_str("];\n\n");
    let mut write_url = |constant: &str, asset: &BuiltAsset| {
        table.push_str(&format!("pub(super) const {constant}: &str = \"{URL_PREFIX}{}\";\n", asset.url_path));
    };
    write_url("STYLESHEET_URL", stylesheet);
    write_url("SCRIPT_URL", script);
    for (source_name, constant) in LINKED_IMAGES {
        let image = images
            .iter()
            .find(|image| image.source_name == source_name)
            .unwrap_or_else(|| fail(&format!("nhsuk-frontend no longer ships {source_name}")));
        write_url(constant, image);
    }
    write(table_path, table.as_bytes());
}

/// FNV-1a, 64 bits, in hex: enough to tell versions of a file apart in its name (not a security measure).
fn content_hash(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Runs a command, returning its standard output; fails the build with its output if it cannot start or fails.
fn run(command: &mut Command, what: &str) -> String {
    let output = command
        .output()
        .unwrap_or_else(|error| fail(&format!("{WHAT_THE_BUILD_NEEDS}.\n\nCould not run {what}: {error}")));
    if !output.status.success() {
        fail(&format!(
            "{WHAT_THE_BUILD_NEEDS}.\n\n{what} failed ({})\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|error| fail(&format!("cannot read {path:?}: {error}")))
}

fn write(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap_or_else(|error| fail(&format!("cannot write {path:?}: {error}")));
}

fn create_dir(path: &Path) {
    fs::create_dir_all(path).unwrap_or_else(|error| fail(&format!("cannot create {path:?}: {error}")));
}

fn fail(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(1);
}
