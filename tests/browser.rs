//! The web dashboard in a real browser: headless Chromium driven over
//! WebDriver (chromedriver, one per test on a free loopback port) against
//! a real `petrel serve` with a token. A failing test saves a screenshot
//! under `target/browser-failures/` and names it in the panic. Without
//! chromedriver (`.ci/run` installs Debian's `chromium-driver`) the tests
//! are skipped, saying so.

mod flows;
mod tour;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::server::{Api, Daemon};

/// The token the daemon under test requires (the page asks for it once).
pub const TOKEN: &str = "browser-t0ken";
/// Longest wait for one thing to show on the page.
const WAIT: Duration = Duration::from_secs(20);
/// Longest one browser test may take.
const TEST_LIMIT: Duration = Duration::from_secs(180);
/// The window every test and screenshot uses.
pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 800;

/// chromedriver and Chromium, or why the browser tests cannot run here.
fn tools() -> Result<(PathBuf, PathBuf), String> {
    let driver = std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    for path in [&driver, &chromium] {
        if !path.exists() {
            return Err(format!(
                "{} is missing (`apt-get install chromium chromium-driver`; .ci/run installs it)",
                path.display()
            ));
        }
    }
    Ok((driver, chromium))
}

/// Where failure screenshots go: `target/browser-failures/`.
fn failures_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/tests-<hash> -> target
    exe.ancestors().nth(3).unwrap().join("browser-failures")
}

/// A chromedriver process on a free loopback port.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start(driver: &Path) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http.get(format!("{url}/status")).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on {url} within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Driver { child, url }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium page on the dashboard of one daemon.
#[derive(Clone)]
pub struct Page {
    pub client: Client,
    pub base: String,
}

impl Page {
    /// Opens `#/ROUTE` (e.g. `cases?net=x`).
    pub async fn open(&self, route: &str) {
        self.client
            .goto(&format!("{}/#/{route}", self.base))
            .await
            .unwrap_or_else(|e| panic!("cannot open #/{route}: {e}"));
    }

    /// Runs `script` (a function body) in the page; its return value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Waits until the expression `cond` is truthy in the page.
    pub async fn until(&self, what: &str, cond: &str) {
        let script = format!("return Boolean({cond});");
        let deadline = Instant::now() + WAIT;
        loop {
            if self.js(&script, vec![]).await == Value::Bool(true) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "waited {WAIT:?} for {what} (`{cond}`)"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for an element matching `css`.
    pub async fn see(&self, css: &str) {
        let quoted = serde_json::to_string(css).unwrap();
        self.until(
            &format!("`{css}`"),
            &format!("document.querySelector({quoted})"),
        )
        .await;
    }

    /// Waits for an element matching `css` whose text contains `text`.
    pub async fn see_text(&self, css: &str, text: &str) {
        let (c, t) = (
            serde_json::to_string(css).unwrap(),
            serde_json::to_string(text).unwrap(),
        );
        self.until(
            &format!("`{css}` containing {text:?}"),
            &format!("[...document.querySelectorAll({c})].some(e => e.textContent.includes({t}))"),
        )
        .await;
    }

    /// `attr` of every element matching `css`.
    pub async fn attrs(&self, css: &str, attr: &str) -> Vec<String> {
        let value = self
            .js(
                "return [...document.querySelectorAll(arguments[0])].map(e => e.getAttribute(arguments[1]));",
                vec![json!(css), json!(attr)],
            )
            .await;
        serde_json::from_value(value).unwrap()
    }

    /// Clicks the element matching `css` (waiting for it first). The
    /// dashboard redraws lists as events arrive, so an element found may be
    /// replaced before the click lands: then it is found again and clicked,
    /// a bounded number of times.
    pub async fn click(&self, css: &str) {
        const TRIES: usize = 20;
        for attempt in 1..=TRIES {
            self.see(css).await;
            let clicked = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.click().await,
                Err(e) => Err(e),
            };
            match clicked {
                Ok(()) => return,
                Err(e) if attempt < TRIES && redrawn(&e) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot click `{css}`: {e}"),
            }
        }
    }

    /// Replaces the value of the input matching `css` with `text`.
    pub async fn type_into(&self, css: &str, text: &str) {
        self.see(css).await;
        let field = self.client.find(Locator::Css(css)).await.unwrap();
        field.clear().await.unwrap();
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("cannot type into `{css}`: {e}"));
    }

    /// Enters the API token in the page's prompt.
    pub async fn log_in(&self) {
        self.see("#login:not([hidden]) #login-token").await;
        self.type_into("#login-token", TOKEN).await;
        self.click("#login-form button[type=submit]").await;
        self.until(
            "the token prompt to close",
            "document.getElementById('login').hidden",
        )
        .await;
    }

    /// A PNG of the window.
    pub async fn screenshot(&self) -> Vec<u8> {
        self.client.screenshot().await.unwrap_or_default()
    }
}

/// Whether `e` says the element went away between finding and using it
/// (the page redrew it), which a second look fixes.
fn redrawn(e: &fantoccini::error::CmdError) -> bool {
    let text = e.to_string();
    text.contains("stale element") || text.contains("no such element")
}

/// Runs `test` with a browser on `daemon`'s dashboard, the token already
/// entered; on a panic or past the time limit, saves a screenshot as
/// `target/browser-failures/NAME.png` and panics naming it. `None` (after
/// saying why) when this machine has no chromedriver.
pub async fn with_browser<F, Fut>(name: &str, daemon: &Daemon, test: F) -> Option<()>
where
    F: FnOnce(Page) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (driver_path, chromium) = match tools() {
        Ok(tools) => tools,
        Err(why) => {
            eprintln!("SKIPPED {name}: {why}");
            return None;
        }
    };
    let driver = Driver::start(&driver_path).await;
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     format!("--window-size={WIDTH},{HEIGHT}"), "--hide-scrollbars", "--lang=en-GB"],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("cannot start a Chromium session: {e}"));
    let page = Page {
        client: client.clone(),
        base: daemon.api.base.clone(),
    };
    // The viewport (what a screenshot holds), not the window, is WIDTH×HEIGHT.
    let frame = page
        .js(
            "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];",
            vec![],
        )
        .await;
    let (dw, dh) = (
        frame[0].as_u64().unwrap_or(0) as u32,
        frame[1].as_u64().unwrap_or(0) as u32,
    );
    let _ = client.set_window_size(WIDTH + dw, HEIGHT + dh).await;
    page.open("cases").await;
    page.log_in().await;
    let run = tokio::spawn(test(page.clone()));
    let failure = match tokio::time::timeout(TEST_LIMIT, run).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(match e.try_into_panic() {
            Ok(p) => p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic".into()),
            Err(e) => e.to_string(),
        }),
        Err(_) => Some(format!("the test ran past {TEST_LIMIT:?}")),
    };
    if let Some(why) = failure {
        let dir = failures_dir();
        let _ = std::fs::create_dir_all(&dir);
        let shot = dir.join(format!("{name}.png"));
        let png = page.screenshot().await;
        let saved = std::fs::write(&shot, &png).is_ok() && !png.is_empty();
        let url = page
            .client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let _ = client.close().await;
        drop(driver);
        panic!(
            "browser test {name} failed at {url}: {why}\nscreenshot: {}\n--- daemon stderr\n{}",
            if saved {
                shot.display().to_string()
            } else {
                "(none could be taken)".into()
            },
            daemon.stderr()
        );
    }
    let _ = client.close().await;
    Some(())
}

/// `petrel serve` with the browser tests' token and `args`.
pub fn daemon(dir: &Path, args: &[&str]) -> Daemon {
    Daemon::start(
        &dir.join("data"),
        args,
        &[("PETREL_API_TOKEN", TOKEN)],
        Some(TOKEN),
    )
}

/// The dashboard's files are open (no token), typed, revalidated by ETag
/// and carry the page's security policy; unknown names are a JSON 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_files_are_served_open_typed_and_under_a_strict_policy() {
    let server = crate::server::InProcess::start(Some(TOKEN), |_| {}).await;
    let open = server.api.with_token(None);
    for (path, kind) in [
        ("/", "text/html"),
        ("/ui/app.js", "text/javascript"),
        ("/ui/app.css", "text/css"),
        ("/ui/mermaid.min.js", "text/javascript"),
    ] {
        let reply = open.get(path).await.expect(200);
        let header = |name: &str| {
            reply
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        assert!(
            header("content-type").starts_with(kind),
            "{path}: {reply:?}"
        );
        let csp = header("content-security-policy");
        assert!(
            csp.contains("script-src 'self';") && csp.contains("default-src 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("cache-control"), "no-cache");
        let etag = header("etag");
        let again = Api::send(
            open.request(reqwest::Method::GET, path)
                .header("if-none-match", &etag),
        )
        .await;
        assert_eq!(again.status, 304, "{path} with If-None-Match {etag}");
    }
    let missing = open.get("/ui/secrets.txt").await.expect(404);
    assert_eq!(missing.code(), "not_found");
    open.get("/ui/index.html").await.expect(404);
    // The API behind it still wants the token.
    open.get("/v1/nets").await.expect(401);
    server.stop().await;
}

/// The vendored Mermaid bundle is the version the Mermaid parser check
/// pins (`tests/mermaid/package.json`): update both together.
#[test]
fn the_vendored_mermaid_is_the_pinned_version() {
    let package: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::util::repo().join("tests/mermaid/package.json")).unwrap(),
    )
    .unwrap();
    let pinned = package["dependencies"]["mermaid"].as_str().unwrap();
    let bundle =
        std::fs::read_to_string(crate::util::repo().join("host/assets/vendor/mermaid.min.js"))
            .unwrap();
    assert!(
        bundle.contains(&format!("version:\"{pinned}\"")),
        "host/assets/vendor/mermaid.min.js is not Mermaid {pinned}: copy node_modules/mermaid/dist/mermaid.min.js from tests/mermaid"
    );
}
