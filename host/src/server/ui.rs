//! The web dashboard: one page, its scripts and styles, and the vendored
//! Mermaid bundle, all embedded in the binary (no CDN: it works offline).
//! `/` serves the page, `/ui/{file}` the rest.
//!
//! Both routes are open: the files hold no data. The page asks for the API
//! token once, keeps it in the tab's `sessionStorage` and sends it as
//! `Authorization: Bearer` on every `/v1` call it makes.
//!
//! Every answer carries a strict Content-Security-Policy: scripts only from
//! this server (no inline script, no `eval`), connections only to this
//! server, no frames, no forms posted elsewhere. Styles allow
//! `'unsafe-inline'` because Mermaid writes a `<style>` into each drawing.
//! Files are revalidated on every load (`no-cache` with an `ETag`), so an
//! upgraded binary never runs with a stale script.

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, ErrorCode};
use super::extract::Path;

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $path:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            bytes: include_bytes!(concat!("../../assets/", $path)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file the dashboard serves; `index.html` is `/`, the others
/// `/ui/<name>`.
const ASSETS: &[Asset] = &[
    asset!("index.html", "index.html", "text/html; charset=utf-8"),
    asset!("app.css", "app.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "favicon.svg", "image/svg+xml"),
    asset!("app.js", "app.js", JS),
    asset!("api.js", "api.js", JS),
    asset!("dom.js", "dom.js", JS),
    asset!("events.js", "events.js", JS),
    asset!("cases.js", "cases.js", JS),
    asset!("case.js", "case.js", JS),
    asset!("timeline.js", "timeline.js", JS),
    asset!("nets.js", "nets.js", JS),
    asset!("graph.js", "graph.js", JS),
    asset!("dead_letters.js", "dead_letters.js", JS),
    asset!("inbox.js", "inbox.js", JS),
    asset!("task.js", "task.js", JS),
    asset!("form.js", "form.js", JS),
    // Mermaid 11.12.1 (MIT), `dist/mermaid.min.js` of the npm package.
    asset!("mermaid.min.js", "vendor/mermaid.min.js", JS),
    asset!(
        "mermaid.LICENSE",
        "vendor/mermaid.LICENSE",
        "text/plain; charset=utf-8"
    ),
];

/// What the page may load and where it may connect.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

/// The strong `ETag` of each asset (a hash of its bytes), in `ASSETS` order.
fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| format!("\"{}\"", &blake3::hash(a.bytes).to_hex()[..32]))
            .collect()
    })
}

/// `GET /`: the dashboard's page.
pub(crate) async fn index(headers: HeaderMap) -> Response {
    send("index.html", &headers)
}

/// `GET /ui/{file}`: a script, style sheet or vendored file of the page.
pub(crate) async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    if name == "index.html" {
        return not_found(&name);
    }
    send(&name, &headers)
}

fn not_found(name: &str) -> Response {
    ApiError::new(
        ErrorCode::NotFound,
        format!("no dashboard file `{name}` (the page is at `/`)"),
    )
    .into_response()
}

/// The asset `name` (304 when the client's copy is current).
fn send(name: &str, request: &HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.name == name) else {
        return not_found(name);
    };
    let asset = &ASSETS[i];
    let etag = &etags()[i];
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = asset.bytes.into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        r
    };
    let h = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, value);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::{ASSETS, CSP};

    #[test]
    fn asset_names_are_unique_and_flat() {
        let mut names: Vec<&str> = ASSETS.iter().map(|a| a.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ASSETS.len());
        assert!(names.iter().all(|n| !n.contains('/')));
    }

    #[test]
    fn every_module_the_scripts_import_is_served() {
        for asset in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            let text = std::str::from_utf8(asset.bytes).unwrap();
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let target = line
                    .split(['"', '\''])
                    .nth(1)
                    .unwrap_or_else(|| panic!("{}: {line}", asset.name));
                let file = target.strip_prefix("./").unwrap_or(target);
                assert!(
                    ASSETS.iter().any(|a| a.name == file),
                    "{} imports `{target}`, which is not embedded",
                    asset.name
                );
            }
        }
    }

    #[test]
    fn the_page_has_no_inline_script_and_the_policy_forbids_one() {
        let page = std::str::from_utf8(ASSETS[0].bytes).unwrap();
        for (i, _) in page.match_indices("<script") {
            let tag = &page[i..i + page[i..].find('>').unwrap()];
            assert!(tag.contains(" src="), "inline script: {tag}");
        }
        assert!(CSP.contains("script-src 'self';"));
        assert!(!CSP.contains("unsafe-eval"));
    }
}
