//! The Bittensor SN8 (PTN) source: polls a validator, ranks miners and turns the per-asset
//! depths into target signals (all the logic is in `tradeengine-signals::sn8`; this is the loop).
//!
//! `[sources.<name>.settings]` holds the poller's keys (`positions_url`, `statistics_url`,
//! `eliminations_url`, `trade_pairs_url`, `stream_url`, `api_key_env`, `request_key_env`,
//! `timeout_secs`, `interval_secs`, `max_body_bytes`), `tier` (both), and the ranking's
//! (`scoring`, `top_n`, `depth_scale`, `leverage_limit`, `[…settings.seed]`, `[…settings.ptn]`,
//! `[…settings.guard]`). Staleness comes from the source's own `ttl_secs` and `on_stale`, like
//! every other source.
//!
//! Feed: positions come from REST polls into a [`PositionBook`]; when the tier is 100 and a
//! `stream_url` is set, the validator's WebSocket stream updates the book between polls and the
//! REST poll of positions stops while the stream is up (statistics and `/trade-pairs` are still
//! polled every `interval_secs`). Every (re)connection and every sequence gap triggers a REST
//! resync of the whole book; while the stream is down or refused, REST polling carries on. Both
//! paths rank the same book the same way.

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;
use tradeengine_model::{Clock, SourceId, Timestamp};
use tradeengine_signals::SymbolMap;
use tradeengine_signals::sn8::{
    EliminationsDoc, FeedConfig, FeedEvent, PositionBook, Ranking, Sn8Client, Sn8ClientConfig,
    Sn8Config, Sn8Event, Sn8Source, Sn8Update, StatisticsDoc, run_feed,
};

use super::{SignalSource, SourceError};
use crate::config::{Config, OnStale, SourceKind};
use crate::intake::SignalIntake;

/// Keys of the settings table that configure the HTTP poller rather than the ranking (`tier`
/// goes to both).
pub const CLIENT_KEYS: [&str; 11] = [
    "positions_url",
    "trade_pairs_url",
    "stream_url",
    "statistics_url",
    "eliminations_url",
    "api_key_env",
    "api_key_credentials",
    "request_key_env",
    "timeout_secs",
    "interval_secs",
    "max_body_bytes",
];

/// Splits and reads a source's settings into the poller's and the ranking's configuration.
pub fn settings(
    name: &str,
    config: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Sn8ClientConfig, Sn8Config, SymbolMap), String> {
    let source = config
        .sources
        .get(name)
        .filter(|s| s.kind == SourceKind::Sn8)
        .ok_or_else(|| format!("no sn8 source named {name:?}"))?;
    let mut client = toml::Table::new();
    let mut ranking = toml::Table::new();
    for (k, v) in &source.settings {
        if k == "tier" {
            client.insert(k.clone(), v.clone());
            ranking.insert(k.clone(), v.clone());
        } else if CLIENT_KEYS.contains(&k.as_str()) {
            client.insert(k.clone(), v.clone());
        } else {
            ranking.insert(k.clone(), v.clone());
        }
    }
    client_secrets(&mut client, name, env)?;
    let at = |e: toml::de::Error| format!("sources.{name}.settings: {}", e.message());
    let client: Sn8ClientConfig = toml::Value::Table(client).try_into().map_err(at)?;
    if source.ttl_secs.is_some() || !ranking.contains_key("ttl_secs") {
        ranking.insert(
            "ttl_secs".into(),
            toml::Value::Integer(i64::try_from(source.ttl_secs.unwrap_or(120)).unwrap_or(i64::MAX)),
        );
    }
    let on_stale = match source.on_stale {
        OnStale::Flat => "flat",
        OnStale::Hold => "hold",
    };
    ranking.insert("on_stale".into(), toml::Value::String(on_stale.into()));
    ranking.insert("source".into(), toml::Value::String(name.to_string()));
    let ranking: Sn8Config = toml::Value::Table(ranking).try_into().map_err(at)?;
    let pairs = config
        .mapping
        .get(name)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    if pairs.is_empty() {
        return Err(format!(
            "mapping.{name}: an sn8 source needs its trade pairs mapped (BTCUSD = \"BTCUSDT\")"
        ));
    }
    let mapping = SymbolMap::new(pairs).map_err(|e| format!("mapping.{name}: {e}"))?;
    Ok((client, ranking, mapping))
}

/// Puts the client's secrets in its settings: the API and request keys from the variables
/// `api_key_env` and `request_key_env` name, or the API key from the encrypted credentials file.
fn client_secrets(
    client: &mut toml::Table,
    name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), String> {
    for (var_key, field) in [
        ("api_key_env", "api_key"),
        ("request_key_env", "request_key"),
    ] {
        if let Some(var) = client.remove(var_key) {
            let var = var
                .as_str()
                .ok_or_else(|| format!("{var_key} must be a string"))?
                .to_string();
            let value =
                env(&var).ok_or_else(|| format!("environment variable {var} is not set"))?;
            client.insert(field.into(), toml::Value::String(value));
        }
    }
    // The validator key may sit in the encrypted credentials file instead of a variable
    // (`api_key_credentials = "file:credentials.age"`, entry named after the source), as
    // `config import` stores the key of the seed's `credentials.json`.
    if let Some(reference) = client.remove("api_key_credentials") {
        if client.contains_key("api_key") {
            return Err("set api_key_env or api_key_credentials, not both".into());
        }
        let reference = reference
            .as_str()
            .ok_or("api_key_credentials must be a string (file:PATH)")?;
        let keys = crate::credentials::resolve(reference, name, env).map_err(|e| e.to_string())?;
        client.insert(
            "api_key".into(),
            toml::Value::String(secrecy::ExposeSecret::expose_secret(&keys.api_key).to_string()),
        );
    }
    Ok(())
}

/// The tier a source's settings name (100 when unset or unreadable: the validator's own
/// default), for status and the API.
pub fn tier_of(settings: &toml::Table) -> i64 {
    settings
        .get("tier")
        .and_then(toml::Value::as_integer)
        .unwrap_or(100)
}

/// The poller.
#[derive(Debug)]
pub struct Sn8Poller {
    id: SourceId,
    client: Sn8Client,
    source: Mutex<Sn8Source>,
}

impl Sn8Poller {
    pub fn new(
        id: SourceId,
        client: Sn8ClientConfig,
        ranking: Sn8Config,
        mapping: &SymbolMap,
        clock: &dyn Clock,
    ) -> Result<Self, String> {
        let client = Sn8Client::new(client).map_err(|e| e.to_string())?;
        Ok(Self {
            id,
            client,
            source: Mutex::new(Sn8Source::new(ranking, mapping, clock.now())),
        })
    }
}

impl Sn8Poller {
    /// Miners the ranking dropped, by exclusion (`no_universe_positions`, `inactive`, …): rows
    /// of the payload that moved nothing, visible as refusals (see `crate::refusals`).
    async fn report_dropped(&self, intake: &SignalIntake, ranking: &Ranking, now: Timestamp) {
        for (exclusion, count) in &ranking.excluded {
            let detail = serde_json::json!({
                "excluded": exclusion.as_str(),
                "miners": count,
                "ranked_miners": ranking.miners.len(),
            });
            crate::refusals::record_dropped(
                &**intake.store(),
                &intake.state().refusal_log,
                self.id.as_str(),
                exclusion.as_str(),
                u64::try_from(*count).unwrap_or(u64::MAX),
                detail,
                now,
            )
            .await;
        }
        for (issue, count) in &ranking.unusable {
            let detail = serde_json::json!({
                "unusable_rows": issue.as_str(),
                "rows": count,
                "tier": ranking.tier,
            });
            crate::refusals::record_dropped(
                &**intake.store(),
                &intake.state().refusal_log,
                self.id.as_str(),
                issue.as_str(),
                u64::try_from(*count).unwrap_or(u64::MAX),
                detail,
                now,
            )
            .await;
        }
    }
}

#[async_trait]
impl SignalSource for Sn8Poller {
    fn id(&self) -> &SourceId {
        &self.id
    }

    async fn run(
        &self,
        intake: SignalIntake,
        shutdown: CancellationToken,
    ) -> Result<(), SourceError> {
        let interval = self.client.interval().max(Duration::from_secs(1));
        let source = self.id.as_str();
        let ttl = intake
            .state()
            .config()
            .sources
            .get(source)
            .and_then(|s| s.ttl_secs);
        let book = intake.state().freshness_board();
        book.register(source, "sn8", ttl.unwrap_or(120), intake.clock().now());
        let cfg = self.client.config();
        metrics::gauge!("tradeengine_sn8_tier", "source" => source.to_string())
            .set(f64::from(cfg.tier.value()));
        if cfg.stream_url.is_some() && !cfg.tier.allows_stream() {
            tracing::warn!(%source, tier = cfg.tier.value(), "sn8 stream_url is set but the stream needs tier 100: polling REST");
        }
        let (tx, mut rx) = mpsc::channel::<FeedEvent>(4096);
        let feed = FeedConfig::from_client(cfg).map(|f| tokio::spawn(run_feed(f, tx)));
        let mut feed_state = FeedState {
            positions: PositionBook::default(),
            since_resync: Default::default(),
            statistics: None,
            eliminations: None,
            stream_up: false,
        };
        let mut resync = true;
        let mut next_poll = tokio::time::Instant::now();
        let stop = |feed: &Option<tokio::task::JoinHandle<()>>| {
            if let Some(f) = feed {
                f.abort();
            }
        };
        loop {
            let mut due = false;
            tokio::select! {
                _ = shutdown.cancelled() => {
                    stop(&feed);
                    return Ok(());
                }
                ev = rx.recv(), if feed.is_some() => {
                    let mut next = ev;
                    while let Some(ev) = next {
                        resync |= feed_state.on_feed(source, ev);
                        next = rx.try_recv().ok();
                    }
                }
                _ = tokio::time::sleep_until(next_poll) => {
                    due = true;
                    next_poll = tokio::time::Instant::now() + interval;
                }
            }
            let changed = feed_state.positions.take_dirty();
            if !(due || resync || (changed && feed_state.stream_up)) {
                continue;
            }
            let update = {
                let mut src = self.source.lock().await;
                tokio::select! {
                    _ = shutdown.cancelled() => {
                        stop(&feed);
                        return Ok(());
                    }
                    u = feed_state.step(&self.client, &mut src, &**intake.clock(), due, resync) => u,
                }
            };
            resync = resync && matches!(update.event, Sn8Event::FetchFailed(_));
            self.after_step(&intake, update).await;
        }
    }
}

/// Streamed updates kept for re-applying after the next resync; past this the oldest go first
/// (they are the likeliest to be in the snapshot already).
const MAX_REPLAYED_UPDATES: usize = 10_000;

/// What the loop keeps between steps: the book, the streamed updates since the last resync
/// (re-applied on top of the next snapshot, which may be older than they are), the last
/// statistics, and whether the stream is up.
struct FeedState {
    positions: PositionBook,
    since_resync: std::collections::VecDeque<tradeengine_signals::sn8::Position>,
    statistics: Option<StatisticsDoc>,
    eliminations: Option<EliminationsDoc>,
    stream_up: bool,
}

impl FeedState {
    /// Applies one stream event; true when the book must be rebuilt from REST.
    fn on_feed(&mut self, source: &str, ev: FeedEvent) -> bool {
        match ev {
            FeedEvent::Connected => {
                tracing::info!(%source, "sn8 stream connected; resyncing from REST");
                self.stream_up = true;
                metrics::gauge!("tradeengine_sn8_stream_up", "source" => source.to_string())
                    .set(1.0);
                true
            }
            FeedEvent::Update(m) => {
                if let Some(p) = &m.position {
                    if self.since_resync.len() >= MAX_REPLAYED_UPDATES {
                        self.since_resync.pop_front();
                    }
                    self.since_resync.push_back(p.clone());
                }
                if let Err(why) = self.positions.apply(m.position) {
                    tracing::debug!(%source, sequence = m.sequence, ?why, "sn8 stream message without a usable position");
                }
                false
            }
            FeedEvent::Gap { expected, got } => {
                tracing::warn!(%source, expected, got, "sn8 stream lost messages; resyncing from REST");
                metrics::counter!("tradeengine_sn8_stream_gaps_total", "source" => source.to_string())
                    .increment(1);
                true
            }
            FeedEvent::Refused(why) | FeedEvent::Down(why) => {
                if self.stream_up {
                    tracing::warn!(%source, %why, "sn8 stream down; polling REST until it is back");
                } else {
                    tracing::debug!(%source, %why, "sn8 stream not up");
                }
                self.stream_up = false;
                metrics::gauge!("tradeengine_sn8_stream_up", "source" => source.to_string())
                    .set(0.0);
                false
            }
        }
    }

    /// One step: a REST poll of everything (due without the stream, or a resync), the side
    /// documents only (due with the stream up), or a ranking of the stream-updated book.
    async fn step(
        &mut self,
        client: &Sn8Client,
        src: &mut Sn8Source,
        clock: &dyn Clock,
        due: bool,
        resync: bool,
    ) -> Sn8Update {
        let with_view = src.needs_validator_view();
        if resync || (due && !self.stream_up) {
            let result = client.fetch(with_view).await;
            let now = clock.now();
            return match result {
                Ok(p) => {
                    src.on_trade_pairs(p.trade_pairs.as_ref());
                    self.statistics = p.statistics;
                    self.eliminations = p.eliminations;
                    self.positions.reset(p.positions);
                    for update in std::mem::take(&mut self.since_resync) {
                        // Refusals were logged when the update first came.
                        let _ = self.positions.apply(Some(update));
                    }
                    self.positions.take_dirty();
                    self.rank(src, now)
                }
                Err(e) => src.on_fetch_error(&e, now),
            };
        }
        if due {
            let result = client.fetch_side(with_view).await;
            let now = clock.now();
            match result {
                Ok((statistics, eliminations, trade_pairs)) => {
                    src.on_trade_pairs(trade_pairs.as_ref());
                    self.statistics = statistics;
                    self.eliminations = eliminations;
                }
                Err(e) => return src.on_fetch_error(&e, now),
            }
        }
        self.rank(src, clock.now())
    }

    fn rank(&self, src: &mut Sn8Source, now: Timestamp) -> Sn8Update {
        src.on_positions(
            self.positions.doc(),
            self.statistics.as_ref(),
            self.eliminations.as_ref(),
            now,
        )
    }
}

impl Sn8Poller {
    /// Records the step's outcome in the freshness book and submits its signals.
    async fn after_step(&self, intake: &SignalIntake, update: Sn8Update) {
        let source = self.id.as_str();
        let book = intake.state().freshness_board();
        let now = intake.clock().now();
        match &update.event {
            Sn8Event::Ranked(ranking) => {
                book.success(source, now);
                self.report_dropped(intake, ranking, now).await;
            }
            Sn8Event::FetchFailed(e) => book.failure(source, &format!("fetch: {e}"), now),
            Sn8Event::RankFailed(e) => book.failure(source, &format!("ranking: {e}"), now),
            Sn8Event::GuardRejected { count, reason } => book.failure(
                source,
                &format!("population guard: {count} miners refused ({reason})"),
                now,
            ),
            Sn8Event::Tick => {}
        }
        // The book logs the change (WARN when stale, a reminder every 10 minutes, INFO when
        // fresh), not every poll.
        book.set_stale(source, update.stale, now);
        for signal in update.signals {
            let symbol = signal.symbol.clone();
            if let Err(e) = intake.submit(signal).await {
                tracing::warn!(source = %self.id, %symbol, error = %e, "sn8 signal not taken");
            }
        }
    }
}
