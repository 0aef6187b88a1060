//! The OpenAPI document, served at `/api/openapi.json` (no token: it describes, it reveals
//! nothing). Every route is declared on its handler with `#[utoipa::path]`; this lists them. A
//! test checks the list against the routes the router really has, so a new route cannot be
//! left out of the document.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

pub use crate::schema::{DetailBody, ErrorBody};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "tradeengine",
        description = "Status, accounts, the blend per symbol, history, configuration writes and \
        the kill switch of a running tradeengine. Reads need a read or control token; actions a \
        control token (`Authorization: Bearer …`)."
    ),
    paths(
        crate::routes::health,
        crate::routes::ready,
        crate::metrics::render,
        crate::routes::dashboard,
        crate::routes::dashboard_js,
        crate::routes::lightweight_charts_js,
        crate::routes::lightweight_charts_license,
        openapi_json,
        crate::api::read::status,
        crate::api::cluster::cluster,
        crate::api::read::accounts,
        crate::api::read::positions,
        crate::api::read::symbols,
        crate::api::read::signals,
        crate::api::refusals::refused,
        crate::api::refusals::sources,
        crate::api::read::orders,
        crate::api::read::fills,
        crate::api::pnl::pnl,
        crate::api::pnl_history::pnl_history,
        crate::api::history::history,
        crate::api::read::equity,
        crate::api::read::audit,
        crate::api::events::events,
        crate::api::config::weights,
        crate::api::config::put_weights,
        crate::api::config::mappings,
        crate::api::config::put_mappings,
        crate::api::kill::engage,
        crate::api::kill::release,
        crate::api::risk::reset,
        crate::webhook::tradingview,
        crate::routes::trade_api::post_signal,
        crate::routes::trade_post::post_trade,
        crate::routes::trade_api::account,
        crate::routes::trade_api::price,
        crate::routes::trade_api::cancel_order,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "probes", description = "Liveness, readiness, metrics: no token"),
        (name = "read", description = "What the engine knows and did: read scope"),
        (name = "config", description = "Weights and mappings: read scope, writes control scope"),
        (name = "control", description = "Kill switch and risk reset: control scope"),
        (name = "signals", description = "Signal intake: webhooks and the trade API"),
    )
)]
pub struct ApiDoc;

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

#[utoipa::path(get, path = "/api/openapi.json", tag = "probes",
    responses((status = 200, description = "This document", body = serde_json::Value)))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// Every `(method, path)` the router registers, read from the route tables' source (axum
    /// cannot list its routes at run time).
    fn router_routes() -> BTreeSet<(String, String)> {
        let sources = [
            include_str!("lib.rs"),
            include_str!("routes.rs"),
            include_str!("api/mod.rs"),
            include_str!("routes/trade_api.rs"),
        ];
        let mut out = BTreeSet::new();
        for src in sources {
            let flat: String = src.split_whitespace().collect::<Vec<_>>().join(" ");
            for chunk in flat.split(".route(").skip(1) {
                let Some(path) = chunk.split('"').nth(1) else {
                    continue;
                };
                // The handlers of this route: `get(..)`, `post(..).delete(..)`,
                // `axum::routing::post(..)`.
                let call = chunk.split(')').take(4).collect::<Vec<_>>().join(")");
                for method in ["get", "post", "put", "delete", "patch"] {
                    if call.contains(&format!(" {method}("))
                        || call.contains(&format!(".{method}("))
                        || call.contains(&format!("::{method}("))
                    {
                        out.insert((method.to_string(), path.to_string()));
                    }
                }
            }
        }
        out
    }

    fn documented() -> BTreeSet<(String, String)> {
        let doc = serde_json::to_value(super::document()).unwrap();
        let mut out = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                out.insert((method.clone(), path.clone()));
            }
        }
        out
    }

    #[test]
    fn the_document_lists_every_route_and_nothing_else() {
        let routes = router_routes();
        assert!(routes.len() >= 25, "route scan found too few: {routes:?}");
        assert!(routes.contains(&("put".into(), "/api/v1/weights".into())));
        assert!(routes.contains(&("delete".into(), "/api/v1/kill".into())));
        let documented = documented();
        let missing: Vec<_> = routes.difference(&documented).collect();
        let extra: Vec<_> = documented.difference(&routes).collect();
        assert!(
            missing.is_empty(),
            "routes missing from the document: {missing:?}"
        );
        assert!(extra.is_empty(), "documented but not routed: {extra:?}");
    }

    /// The canonical signal's shape is in the document (it was an untyped `{}`), with the
    /// fields a sender must give.
    #[test]
    fn the_canonical_signal_body_is_documented() {
        let doc = serde_json::to_value(super::document()).unwrap();
        let body = &doc["paths"]["/api/v1/signals"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"]["$ref"];
        assert_eq!(body, "#/components/schemas/CanonicalSignal");
        let schema = &doc["components"]["schemas"]["CanonicalSignal"];
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(required, ["symbol", "mode"]);
        for field in [
            "target",
            "order",
            "stop_loss",
            "take_profits",
            "ts",
            "max_lag_s",
        ] {
            assert!(schema["properties"][field].is_object(), "{field}");
        }
    }

    #[test]
    fn protected_routes_declare_bearer_security() {
        let doc = serde_json::to_value(super::document()).unwrap();
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        for (path, item) in doc["paths"].as_object().unwrap() {
            if !path.starts_with("/api/v1/") {
                continue;
            }
            for (method, op) in item.as_object().unwrap() {
                assert!(
                    op["security"].is_array(),
                    "{method} {path} does not declare its token"
                );
            }
        }
    }

    /// The event stream documents one event's fields (`data`, `event`, `id`, `retry`), which
    /// is how OpenAPI tools read the schema of `text/event-stream`: per event, not per body.
    #[test]
    fn the_event_stream_documents_one_event() {
        let doc = serde_json::to_value(super::document()).unwrap();
        let body = &doc["paths"]["/api/v1/events"]["get"]["responses"]["200"]["content"]["text/event-stream"]
            ["schema"]["$ref"];
        assert_eq!(body, "#/components/schemas/SseFrame");
        let schema = &doc["components"]["schemas"]["SseFrame"];
        assert_eq!(schema["required"], serde_json::json!(["data"]));
        for field in ["data", "event", "id", "retry"] {
            assert!(schema["properties"][field].is_object(), "{field}");
        }
    }

    /// axum's own `Query` and `Json` reject in plain text, which the document does not list;
    /// every handler takes the JSON-rejecting ones of `crate::extract`.
    #[test]
    fn handlers_reject_in_the_documented_json_shape() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![root];
        let mut offenders = Vec::new();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    // Spelled in pieces so this test's own source does not match.
                    let axum_extract = format!("{}::extract::", "axum");
                    let grouped = text
                        .split(&format!("{axum_extract}{{"))
                        .skip(1)
                        .any(|rest| {
                            rest.split('}')
                                .next()
                                .is_some_and(|names| names.split(',').any(|n| n.trim() == "Query"))
                        });
                    if !path.ends_with("extract.rs")
                        && (grouped || text.contains(&format!("{axum_extract}Query")))
                    {
                        offenders.push(path.display().to_string());
                    }
                }
            }
        }
        assert!(offenders.is_empty(), "axum's Query used in {offenders:?}");
    }
}
