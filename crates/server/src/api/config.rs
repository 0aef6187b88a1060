//! Weights and mappings over HTTP: `GET` (read scope) the values in force, `PUT` (control scope)
//! a change. A change is made to the configuration file with `toml_edit` (comments kept),
//! validated as the engine validates a file at start and checked against the hot-reload rules,
//! written atomically, and applied at once through the same path as the file watcher, so the
//! API, the file and the running engine never disagree. The embedded demo has no file: writes
//! there are refused (409) with what to do instead.

use std::collections::BTreeMap;
use std::path::PathBuf;

use axum::extract::State;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tradeengine_engine::config::{self, Config, edit};
use tradeengine_engine::reloader::{ReloadOutcome, reload_once};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Json;

/// One writer at a time: two concurrent edits would otherwise each start from the same text
/// and the second rename would drop the first change.
static WRITE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A symbol's weights by source.
#[derive(Debug, Serialize, ToSchema)]
pub struct SymbolWeights {
    /// The unified symbol.
    pub symbol: String,
    /// Source name → weight (decimal string).
    #[schema(value_type = BTreeMap<String, String>)]
    pub weights: BTreeMap<String, Decimal>,
    /// 1 − the sum of the weights: what no source has been given.
    #[schema(value_type = String)]
    pub remaining: Decimal,
}

impl SymbolWeights {
    fn of(s: &config::SymbolConfig) -> Self {
        Self {
            symbol: s.symbol.to_string(),
            remaining: edit::remaining_weight(&s.weights),
            weights: s.weights.clone(),
        }
    }
}

/// A weight as a decimal string (`"0.25"`) or a JSON number.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum WeightValue {
    Text(String),
    Number(f64),
}

impl WeightValue {
    fn decimal(&self) -> Option<Decimal> {
        match self {
            Self::Text(t) => t.trim().parse().ok(),
            // The shortest text that reads back as this f64: what the client wrote.
            Self::Number(n) => n.is_finite().then(|| n.to_string().parse().ok())?,
        }
    }
}

/// `PUT /api/v1/weights`: the new weights of one symbol (replacing all of its weights).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightsUpdate {
    pub symbol: String,
    /// Source name → weight in [0, 1]; the weights of one symbol sum to at most 1.
    pub weights: BTreeMap<String, WeightValue>,
}

/// `PUT /api/v1/mappings`: the new symbol mapping of one source (replacing all of it; empty
/// removes it).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingUpdate {
    pub source: String,
    /// Source symbol → unified symbol.
    pub mapping: BTreeMap<String, String>,
}

/// The answer to a write.
#[derive(Debug, Serialize, ToSchema)]
pub struct Written {
    /// The file that was changed.
    pub file: String,
    /// True when the running engine took the change (false only when it already had it).
    pub applied: bool,
}

/// Weights written.
#[derive(Debug, Serialize, ToSchema)]
pub struct WeightsWritten {
    #[serde(flatten)]
    pub written: Written,
    pub symbol: SymbolWeights,
}

/// Mapping written.
#[derive(Debug, Serialize, ToSchema)]
pub struct MappingWritten {
    #[serde(flatten)]
    pub written: Written,
    pub source: String,
    pub mapping: BTreeMap<String, String>,
}

#[utoipa::path(get, path = "/api/v1/weights", tag = "config",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Weights in force, per symbol", body = Vec<SymbolWeights>),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
    ))]
pub async fn weights(State(app): State<AppState>) -> axum::Json<Vec<SymbolWeights>> {
    let config = app.engine.config();
    axum::Json(config.symbols.iter().map(SymbolWeights::of).collect())
}

#[utoipa::path(get, path = "/api/v1/mappings", tag = "config",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Per source: source symbol → unified symbol",
            body = BTreeMap<String, BTreeMap<String, String>>),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
    ))]
pub async fn mappings(
    State(app): State<AppState>,
) -> axum::Json<BTreeMap<String, BTreeMap<String, String>>> {
    axum::Json(app.engine.config().mapping.clone())
}

#[utoipa::path(put, path = "/api/v1/weights", tag = "config",
    security(("bearer" = [])),
    request_body = WeightsUpdate,
    responses(
        (status = 200, description = "Written and applied", body = WeightsWritten),
        (status = 400, description = "Malformed body", body = crate::schema::ErrorBody),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
        (status = 403, description = "A read token cannot write", body = crate::schema::ErrorBody),
        (status = 404, description = "No such symbol", body = crate::schema::ErrorBody),
        (status = 409, description = "No configuration file to write (embedded demo), or the engine is a cluster node (change every host's file)",
            body = crate::schema::ErrorBody),
        (status = 422, description = "The change fails validation; nothing written",
            body = crate::schema::ErrorBody),
    ))]
pub async fn put_weights(
    State(app): State<AppState>,
    Json(req): Json<WeightsUpdate>,
) -> Result<axum::Json<WeightsWritten>, ApiError> {
    let mut weights = BTreeMap::new();
    for (source, w) in &req.weights {
        let d = w.decimal().ok_or_else(|| {
            ApiError::Unprocessable(format!("weight of {source:?} is not a decimal number"))
        })?;
        weights.insert(source.clone(), d);
    }
    let (written, config) =
        write(&app, |text| edit::set_weights(text, &req.symbol, &weights)).await?;
    let symbol = config
        .symbol(&req.symbol)
        .map(SymbolWeights::of)
        .ok_or_else(|| ApiError::Internal(format!("{} vanished after the write", req.symbol)))?;
    Ok(axum::Json(WeightsWritten { written, symbol }))
}

#[utoipa::path(put, path = "/api/v1/mappings", tag = "config",
    security(("bearer" = [])),
    request_body = MappingUpdate,
    responses(
        (status = 200, description = "Written and applied", body = MappingWritten),
        (status = 400, description = "Malformed body", body = crate::schema::ErrorBody),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
        (status = 403, description = "A read token cannot write", body = crate::schema::ErrorBody),
        (status = 409, description = "No configuration file to write (embedded demo), or the engine is a cluster node (change every host's file)",
            body = crate::schema::ErrorBody),
        (status = 422, description = "The change fails validation; nothing written",
            body = crate::schema::ErrorBody),
    ))]
pub async fn put_mappings(
    State(app): State<AppState>,
    Json(req): Json<MappingUpdate>,
) -> Result<axum::Json<MappingWritten>, ApiError> {
    let (written, config) = write(&app, |text| {
        edit::set_mapping(text, &req.source, &req.mapping)
    })
    .await?;
    let mapping = config.mapping.get(&req.source).cloned().unwrap_or_default();
    Ok(axum::Json(MappingWritten {
        written,
        source: req.source,
        mapping,
    }))
}

/// In a cluster every host reads its own file: a change written through one node would reach
/// that host only, the nodes would disagree, and each failover would trade the difference
/// (red team: weights set to 0 through a standby closed a position at the takeover and the
/// next takeover reopened it). So a node refuses, and says what to do.
fn not_in_a_cluster(config: &Config) -> Result<(), ApiError> {
    if config.engine.cluster {
        return Err(ApiError::Conflict(
            "this engine is one node of a cluster, and each host reads its own configuration              file: a change written here would reach this host only (a failover would then              trade the difference). Change the file on every host; each reloads it"
                .to_string(),
        ));
    }
    Ok(())
}

/// Edits the file, validates, writes it atomically and applies it.
async fn write(
    app: &AppState,
    change: impl FnOnce(&str) -> Result<String, edit::EditError>,
) -> Result<(Written, Config), ApiError> {
    let Some(path) = app.engine.config_file().map(PathBuf::from) else {
        return Err(ApiError::Conflict(
            "the engine runs the embedded demo, which has no configuration file: start it with \
             --config FILE to change weights and mappings"
                .to_string(),
        ));
    };
    not_in_a_cluster(&app.engine.config())?;
    let _guard = WRITE.lock().await;
    let text = tokio::fs::read_to_string(&path)
        .await
        .map_err(|e| ApiError::Internal(format!("cannot read {}: {e}", path.display())))?;
    let next_text = change(&text)?;
    let current = app.engine.config();
    edit::check(&next_text, &path, &config::process_env(), Some(&current))?;
    edit::write_atomic(&path, &next_text)?;
    let env = |k: &str| std::env::var(k).ok();
    let clock = app.intake.clock();
    let applied =
        match reload_once(&path, &next_text, &app.engine, &*app.store, &**clock, &env).await {
            ReloadOutcome::Applied => true,
            ReloadOutcome::Unchanged => false,
            ReloadOutcome::Refused(reason) => {
                return Err(ApiError::Internal(format!(
                    "{} was written but not applied: {reason}",
                    path.display()
                )));
            }
        };
    let written = Written {
        file: path.display().to_string(),
        applied,
    };
    Ok((written, (*app.engine.config()).clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_node_refuses_config_writes_and_says_why() {
        let toml = "[[accounts]]\nname = \"paper\"\nvenue = \"paper\"\n\
                    [sources.tv]\ntype = \"rest\"\n\
                    [[symbols]]\nsymbol = \"BTCUSDT\"\nweights = { tv = 1.0 }\n";
        let mut config = config::load_str(toml, None, &[], &config::Overrides::default())
            .unwrap_or_else(|e| {
                panic!("{e}");
            });
        assert!(not_in_a_cluster(&config).is_ok());
        config.engine.cluster = true;
        match not_in_a_cluster(&config) {
            Err(ApiError::Conflict(why)) => assert!(why.contains("every host"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
