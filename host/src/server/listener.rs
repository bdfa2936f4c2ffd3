//! Accepting connections: at most `max_connections` open at once (the next
//! one waits to be accepted), each served by hyper's HTTP/1.1 with a
//! deadline on every request's headers (a client trickling bytes, or idling
//! between requests, cannot hold a connection), all closed gracefully when
//! shutdown begins.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt as _;

/// How connections are accepted and served.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Connections {
    /// Open at once.
    pub(crate) max: usize,
    /// To receive one request's headers.
    pub(crate) header_timeout: Duration,
}

/// Serves `app` on `listener` until `stopping` turns true, then stops
/// accepting and lets each connection finish its request in flight.
pub(crate) async fn serve_connections(
    listener: TcpListener,
    app: Router,
    connections: Connections,
    mut stopping: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(connections.max.max(1)));
    let mut open = JoinSet::new();
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("never closed"),
            () = stopped(&mut stopping) => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait, go on.
                    tracing::warn!(cause = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopped(&mut stopping) => break,
        };
        let service = TowerToHyperService::new(
            app.clone()
                .map_request(|request: Request<Incoming>| request.map(Body::new)),
        );
        let mut stop = stopping.clone();
        open.spawn(async move {
            let _permit = permit;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(connections.header_timeout);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let finished = tokio::select! {
                served = connection.as_mut() => Some(served),
                () = stopped(&mut stop) => None,
            };
            let served = match finished {
                Some(served) => served,
                None => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = served {
                tracing::debug!(cause = %e, "connection ended with an error");
            }
        });
        while open.try_join_next().is_some() {}
    }
    while open.join_next().await.is_some() {}
}

/// Resolves once shutdown began.
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|s| *s).await;
}
