//! The HTTP server under both simulators: one task per connection, so a fault can close a
//! connection without answering (a real dropped connection, not an error response), and a
//! middleware that counts requests, adds latency and applies scripted faults.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::control::Fault;
use crate::{Shared, VenueId};

/// Closes the connection a request came on.
#[derive(Debug, Clone)]
pub struct ConnKill(pub CancellationToken);

pub async fn accept_loop(
    listener: TcpListener,
    router: Router,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) {
    let router = router.layer(axum::middleware::from_fn_with_state(shared, fault_layer));
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            a = listener.accept() => a,
        };
        let Ok((stream, _)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let kill = CancellationToken::new();
            let conn_kill = kill.clone();
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnKill(conn_kill.clone()));
                    router.clone().oneshot(req.map(Body::new))
                },
            );
            let conn = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::select! {
                _ = conn => {}
                _ = kill.cancelled() => {}
                _ = shutdown.cancelled() => {}
            }
        });
    }
}

/// Counts, delays and misbehaves as the test scripted.
async fn fault_layer(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with(crate::rehearse::CONTROL_PREFIX) {
        return next.run(req).await;
    }
    shared.counters.hit(format!("{} {}", req.method(), path));
    shared.requests.record(&req);
    // Held until this request is answered or its connection dropped (the future is dropped).
    let _in_flight = shared.counters.begin();
    let kill = req.extensions().get::<ConnKill>().cloned();
    let faults = shared.faults.take(
        req.method().as_str(),
        &path,
        single_order_path(shared.venue, &path),
    );
    let mut delay = shared.options.latency;
    for f in &faults {
        if let Fault::Delay(d) = f {
            delay += *d;
        }
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut after = None;
    let mut reject = false;
    for f in faults {
        match f {
            Fault::Status(code) => return status_response(code),
            Fault::RateLimit { retry_after } => return rate_limit_response(&shared, retry_after),
            Fault::DropBeforeAccept => return drop_connection(kill).await,
            Fault::TimeoutAfterAccept { .. }
            | Fault::DropAfterAccept
            | Fault::StatusAfterAccept(_) => after = Some(f),
            Fault::Delay(_) => {}
            Fault::Reject => reject = true,
            Fault::Body(body) => {
                return (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    body,
                )
                    .into_response();
            }
        }
    }
    if reject {
        shared.exchange().reject_next = true;
    }
    let response = next.run(req).await;
    if reject {
        shared.exchange().reject_next = false;
    }
    match after {
        Some(Fault::TimeoutAfterAccept { hold }) => {
            tokio::time::sleep(hold).await;
            response
        }
        Some(Fault::DropAfterAccept) => drop_connection(kill).await,
        Some(Fault::StatusAfterAccept(code)) => status_response(code),
        _ => response,
    }
}

/// The single-order entry path of a venue's batch order entry path: faults scripted on order
/// entry apply to both (see [`crate::control::Faults`]).
fn single_order_path(venue: VenueId, path: &str) -> Option<&'static str> {
    let (batch, single) = match venue {
        VenueId::Bybit => ("/v5/order/create-batch", "/v5/order/create"),
        VenueId::Binance => ("/fapi/v1/batchOrders", "/fapi/v1/order"),
        VenueId::Blofin => ("/api/v1/trade/batch-orders", "/api/v1/trade/order"),
        VenueId::Kucoin => ("/api/v1/orders/multi", "/api/v1/orders"),
        VenueId::Mexc => (
            "/api/v1/private/order/submit_batch",
            "/api/v1/private/order/submit",
        ),
        // One `/exchange` path for every action.
        VenueId::Hyperliquid => return None,
    };
    (path == batch).then_some(single)
}

async fn drop_connection(kill: Option<ConnKill>) -> Response {
    if let Some(k) = kill {
        k.0.cancel();
        // The connection task drops this request with the connection.
        std::future::pending::<()>().await;
    }
    status_response(500)
}

fn status_response(code: u16) -> Response {
    let status = axum::http::StatusCode::from_u16(code)
        .unwrap_or(axum::http::StatusCode::SERVICE_UNAVAILABLE);
    (status, "Service Unavailable").into_response()
}

fn rate_limit_response(shared: &Shared, retry_after: std::time::Duration) -> Response {
    match shared.venue {
        VenueId::Binance => crate::binance::rest::rate_limited(retry_after),
        VenueId::Bybit => crate::bybit::rest::rate_limited(shared, retry_after),
        VenueId::Blofin => crate::blofin::rate_limited(retry_after),
        VenueId::Kucoin => crate::kucoin::rate_limited(retry_after),
        VenueId::Mexc => crate::mexc::rest::rate_limited(retry_after),
        VenueId::Hyperliquid => crate::hyperliquid::rate_limited(),
    }
}
