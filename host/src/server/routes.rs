//! The route table: every endpoint once, with its method and whether it
//! needs the bearer token. It builds the router and lists the endpoints the
//! OpenAPI check compares with `openapi.json`.

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodFilter, on};

use super::auth::{self, BearerToken};
use super::error::{no_route, wrong_method};
use super::{AppState, cases, dead_letters, events, nets, probes, ui, work};

/// One endpoint: method and path (axum and OpenAPI share the `{param}`
/// syntax).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// HTTP method.
    pub method: Method,
    /// Path template, e.g. `/v1/cases/{id}`.
    pub path: &'static str,
    /// Whether it needs the bearer token (when one is configured).
    pub guarded: bool,
}

/// The router and the endpoints it serves.
pub(crate) struct Table {
    pub(crate) router: Router<AppState>,
    pub(crate) endpoints: Vec<Endpoint>,
}

/// Routes being collected: those behind the token, and the open ones.
struct Builder {
    guarded: Router<AppState>,
    open: Router<AppState>,
    endpoints: Vec<Endpoint>,
}

impl Builder {
    fn add<H, T>(mut self, method: Method, path: &'static str, guarded: bool, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a standard method");
        let router = if guarded {
            &mut self.guarded
        } else {
            &mut self.open
        };
        *router = std::mem::take(router).route(path, on(filter, handler));
        self.endpoints.push(Endpoint {
            method,
            path,
            guarded,
        });
        self
    }

    /// A route that needs the bearer token (when one is configured).
    fn guarded<H: Handler<T, AppState>, T: 'static>(
        self,
        method: Method,
        path: &'static str,
        handler: H,
    ) -> Self {
        self.add(method, path, true, handler)
    }

    /// A route anyone may call.
    fn open<H: Handler<T, AppState>, T: 'static>(
        self,
        method: Method,
        path: &'static str,
        handler: H,
    ) -> Self {
        self.add(method, path, false, handler)
    }
}

/// Every endpoint the server serves, in table order.
pub fn endpoints() -> Vec<Endpoint> {
    table(None).endpoints
}

/// Every route. With a `token`, the guarded ones refuse requests without it.
pub(crate) fn table(token: Option<BearerToken>) -> Table {
    use Method as M;
    let b = Builder {
        guarded: Router::new(),
        open: Router::new(),
        endpoints: Vec::new(),
    }
    .open(M::GET, "/healthz", probes::healthz)
    .open(M::GET, "/readyz", probes::readyz)
    .open(M::GET, "/", ui::index)
    .open(M::GET, "/ui/{file}", ui::file)
    .guarded(M::GET, "/metrics", probes::metrics)
    .guarded(M::GET, "/openapi.json", probes::openapi)
    .guarded(M::POST, "/v1/nets", nets::deploy)
    .guarded(M::GET, "/v1/nets", nets::list)
    .guarded(M::GET, "/v1/nets/{version}", nets::get)
    .guarded(M::GET, "/v1/nets/{version}/graph", nets::graph)
    .guarded(M::POST, "/v1/cases", cases::start)
    .guarded(M::GET, "/v1/cases", cases::list)
    .guarded(M::GET, "/v1/cases/{id}", cases::get)
    .guarded(M::GET, "/v1/cases/{id}/history", cases::history)
    .guarded(M::POST, "/v1/cases/{id}/cancel", cases::cancel)
    .guarded(M::GET, "/v1/events", events::stream)
    .guarded(M::GET, "/v1/dead-letters", dead_letters::list)
    .guarded(M::POST, "/v1/dead-letters/{id}/retry", dead_letters::retry)
    .guarded(
        M::POST,
        "/v1/dead-letters/{id}/discard",
        dead_letters::discard,
    )
    .guarded(M::GET, "/v1/work", work::list)
    .guarded(M::POST, "/v1/work/claim", work::claim)
    .guarded(M::POST, "/v1/work/{firing}/complete", work::complete)
    .guarded(M::POST, "/v1/work/{firing}/fail", work::fail)
    .guarded(M::POST, "/v1/work/{firing}/extend", work::extend);
    let guarded = match token {
        Some(token) => b
            .guarded
            .route_layer(from_fn_with_state(token, auth::require)),
        None => b.guarded,
    };
    let router = guarded
        .merge(b.open)
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method);
    Table {
        router,
        endpoints: b.endpoints,
    }
}
