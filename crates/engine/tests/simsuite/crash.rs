//! `kill -9` inside the test process: the venue adapters and the store of one engine are
//! wrapped so that every call they take is counted, and when the scenario's crash point is
//! reached the call (before or after the real work, as the scenario says) never returns and
//! the crash switch fires. The driver then drops the engine's running cycle at that await point
//! — nothing after it runs, exactly as if the process had died there — and boots a new engine
//! on the same SQLite file and the same simulators.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use async_trait::async_trait;
use rust_decimal::Decimal;
use tokio_util::sync::CancellationToken;
use tradeengine_model::{
    AccountName, ClientOrderId, Fill, Instrument, MarginMode, OrderRequest, OrderStatus, Plan,
    Position, Price, Signal, Sleeve, Symbol, Timestamp,
};
use tradeengine_store::{
    AuditEvent, AuditKind, AuditVerification, BatchOutcome, CycleEnd, EquitySnapshot, OrderFilter,
    OrderUpdate, SignalRecordOutcome, Store, StoreError, StoredOrder, TargetRecord,
};
use tradeengine_venues::{Venue, VenueError};

use super::storefault::StoreFaults;

/// Where the process dies: at the `at`-th counted call after arming, before the call does
/// anything or after it did its work (its answer is lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashPoint {
    pub at: u64,
    pub after: bool,
    /// Count only calls of this name (`"store update_order"`); `None` counts every call.
    pub only: Option<&'static str>,
}

/// One per engine process: counts calls while armed and fires once.
#[derive(Debug, Default)]
pub struct CrashSwitch {
    armed: Mutex<Option<CrashPoint>>,
    calls: AtomicU64,
    dead: AtomicBool,
    fired: CancellationToken,
    /// What the process was doing when it died (`venue place_order`, `store update_order`).
    pub died_in: Mutex<Option<String>>,
}

impl CrashSwitch {
    pub fn arm(&self, point: CrashPoint) {
        self.calls.store(0, Ordering::SeqCst);
        *self.armed.lock().unwrap() = Some(point);
    }

    pub fn disarm(&self) {
        *self.armed.lock().unwrap() = None;
    }

    /// Resolves when the process died.
    pub async fn fired(&self) {
        self.fired.cancelled().await
    }

    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    fn die(&self, what: &str) {
        *self.died_in.lock().unwrap() = Some(what.to_string());
        self.dead.store(true, Ordering::SeqCst);
        self.fired.cancel();
    }

    /// Runs one call of the wrapped object under the switch. A dead process does nothing more:
    /// every later call hangs too, until the driver drops it.
    async fn around<T>(&self, what: &str, call: impl Future<Output = T>) -> T {
        if self.is_dead() {
            return std::future::pending().await;
        }
        let point = *self.armed.lock().unwrap();
        let hit = point
            .filter(|p| p.only.is_none_or(|name| name == what))
            .filter(|p| self.calls.fetch_add(1, Ordering::SeqCst) + 1 == p.at);
        if let Some(p) = hit
            && !p.after
        {
            self.die(what);
            return std::future::pending().await;
        }
        let out = call.await;
        if hit.is_some() {
            self.die(what);
            return std::future::pending().await;
        }
        out
    }
}

/// A venue adapter whose calls can be where the process dies.
#[derive(Debug)]
pub struct CrashVenue {
    pub inner: Arc<dyn Venue>,
    pub switch: Arc<CrashSwitch>,
}

#[async_trait]
impl Venue for CrashVenue {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    async fn account_value(&self) -> Result<Decimal, VenueError> {
        self.switch
            .around("venue account_value", self.inner.account_value())
            .await
    }

    async fn positions(&self) -> Result<Vec<Position>, VenueError> {
        self.switch
            .around("venue positions", self.inner.positions())
            .await
    }

    async fn instruments(&self, symbols: &[Symbol]) -> Result<Vec<Instrument>, VenueError> {
        self.switch
            .around("venue instruments", self.inner.instruments(symbols))
            .await
    }

    async fn prices(&self, symbols: &[Symbol]) -> Result<BTreeMap<Symbol, Price>, VenueError> {
        self.switch
            .around("venue prices", self.inner.prices(symbols))
            .await
    }

    async fn set_leverage(&self, symbol: &Symbol, leverage: Decimal) -> Result<(), VenueError> {
        self.switch
            .around(
                "venue set_leverage",
                self.inner.set_leverage(symbol, leverage),
            )
            .await
    }

    async fn set_margin_mode(&self, symbol: &Symbol, mode: MarginMode) -> Result<(), VenueError> {
        self.switch
            .around(
                "venue set_margin_mode",
                self.inner.set_margin_mode(symbol, mode),
            )
            .await
    }

    async fn place_order(&self, order: &OrderRequest) -> Result<OrderStatus, VenueError> {
        self.switch
            .around("venue place_order", self.inner.place_order(order))
            .await
    }

    async fn cancel_order(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<OrderStatus, VenueError> {
        self.switch
            .around(
                "venue cancel_order",
                self.inner.cancel_order(symbol, client_order_id),
            )
            .await
    }

    async fn order_by_client_id(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<Option<OrderStatus>, VenueError> {
        self.switch
            .around(
                "venue order_by_client_id",
                self.inner.order_by_client_id(symbol, client_order_id),
            )
            .await
    }

    async fn open_orders(&self, symbol: Option<&Symbol>) -> Result<Vec<OrderStatus>, VenueError> {
        self.switch
            .around("venue open_orders", self.inner.open_orders(symbol))
            .await
    }
}

/// A store whose calls can be where the process dies. Each call is one transaction in the real
/// store, so a crash lands between transactions, as a `kill -9` does with SQLite's journal.
#[derive(Debug)]
pub struct CrashStore {
    pub inner: Arc<dyn Store>,
    pub switch: Arc<CrashSwitch>,
    /// Failures this handle's calls meet ([`StoreFaults`]): a refused call does nothing.
    pub faults: Arc<StoreFaults>,
}

impl CrashStore {
    /// One store call: where the process may die, and where an armed store failure answers
    /// instead of the store.
    async fn run<T>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.switch
            .around(what, async {
                self.faults.check(what)?;
                call.await
            })
            .await
    }
}

#[async_trait]
impl Store for CrashStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn record_signal(
        &self,
        signal: &Signal,
        sleeve: Option<&Sleeve>,
    ) -> Result<SignalRecordOutcome, StoreError> {
        self.run(
            "store record_signal",
            self.inner.record_signal(signal, sleeve),
        )
        .await
    }

    async fn record_signals(
        &self,
        batch: &[(Signal, Option<Sleeve>)],
    ) -> Result<BatchOutcome, StoreError> {
        self.run("store record_signals", self.inner.record_signals(batch))
            .await
    }

    async fn record_refused_signal(
        &self,
        refusal: &tradeengine_store::NewRefusal<'_>,
    ) -> Result<SignalRecordOutcome, StoreError> {
        self.run(
            "store record_refused_signal",
            self.inner.record_refused_signal(refusal),
        )
        .await
    }

    async fn refused_signals(
        &self,
        source: Option<&str>,
        limit: i64,
    ) -> Result<Vec<tradeengine_store::RefusedSignal>, StoreError> {
        self.run(
            "store refused_signals",
            self.inner.refused_signals(source, limit),
        )
        .await
    }

    async fn recent_signals(&self, limit: i64, offset: i64) -> Result<Vec<Signal>, StoreError> {
        self.run(
            "store recent_signals",
            self.inner.recent_signals(limit, offset),
        )
        .await
    }

    async fn put_sleeve(&self, sleeve: &Sleeve) -> Result<(), StoreError> {
        self.run("store put_sleeve", self.inner.put_sleeve(sleeve))
            .await
    }

    async fn sleeves(&self) -> Result<Vec<Sleeve>, StoreError> {
        self.run("store sleeves", self.inner.sleeves()).await
    }

    async fn record_cycle_end(&self, end: &CycleEnd<'_>) -> Result<(), StoreError> {
        self.run("store record_cycle_end", self.inner.record_cycle_end(end))
            .await
    }

    async fn record_target(&self, target: &TargetRecord) -> Result<(), StoreError> {
        self.run("store record_target", self.inner.record_target(target))
            .await
    }

    async fn targets(&self, account: &AccountName) -> Result<Vec<TargetRecord>, StoreError> {
        self.run("store targets", self.inner.targets(account)).await
    }

    async fn record_plan(&self, plan: &Plan) -> Result<(), StoreError> {
        self.run("store record_plan", self.inner.record_plan(plan))
            .await
    }

    async fn update_order(
        &self,
        client_order_id: &ClientOrderId,
        update: &OrderUpdate,
    ) -> Result<StoredOrder, StoreError> {
        self.run(
            "store update_order",
            self.inner.update_order(client_order_id, update),
        )
        .await
    }

    async fn settle_order(
        &self,
        account: &AccountName,
        client_order_id: &ClientOrderId,
        update: &OrderUpdate,
        fill: Option<&Fill>,
    ) -> Result<StoredOrder, StoreError> {
        self.run(
            "store settle_order",
            self.inner
                .settle_order(account, client_order_id, update, fill),
        )
        .await
    }

    async fn order(
        &self,
        client_order_id: &ClientOrderId,
    ) -> Result<Option<StoredOrder>, StoreError> {
        self.run("store order", self.inner.order(client_order_id))
            .await
    }

    async fn orders(&self, filter: &OrderFilter) -> Result<Vec<StoredOrder>, StoreError> {
        self.run("store orders", self.inner.orders(filter)).await
    }

    async fn unsettled_orders(
        &self,
        account: &AccountName,
    ) -> Result<Vec<StoredOrder>, StoreError> {
        self.run(
            "store unsettled_orders",
            self.inner.unsettled_orders(account),
        )
        .await
    }

    async fn record_fill(&self, account: &AccountName, fill: &Fill) -> Result<(), StoreError> {
        self.run("store record_fill", self.inner.record_fill(account, fill))
            .await
    }

    async fn fills(
        &self,
        account: Option<&AccountName>,
        limit: i64,
    ) -> Result<Vec<Fill>, StoreError> {
        self.run("store fills", self.inner.fills(account, limit))
            .await
    }

    async fn record_positions(
        &self,
        account: &AccountName,
        positions: &[Position],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.run(
            "store record_positions",
            self.inner.record_positions(account, positions, at),
        )
        .await
    }

    async fn positions(
        &self,
        account: Option<&AccountName>,
    ) -> Result<Vec<(AccountName, Position)>, StoreError> {
        self.run("store positions", self.inner.positions(account))
            .await
    }

    async fn record_equity(&self, snapshot: &EquitySnapshot) -> Result<(), StoreError> {
        self.run("store record_equity", self.inner.record_equity(snapshot))
            .await
    }

    async fn equity(
        &self,
        account: &AccountName,
        since: Timestamp,
    ) -> Result<Vec<EquitySnapshot>, StoreError> {
        self.run("store equity", self.inner.equity(account, since))
            .await
    }

    async fn audit(
        &self,
        kind: AuditKind,
        account: Option<&str>,
        symbol: Option<&str>,
        payload: serde_json::Value,
        at: Timestamp,
    ) -> Result<AuditEvent, StoreError> {
        self.run(
            "store audit",
            self.inner.audit(kind, account, symbol, payload, at),
        )
        .await
    }

    async fn audit_events(&self, after: i64, limit: i64) -> Result<Vec<AuditEvent>, StoreError> {
        self.run("store audit_events", self.inner.audit_events(after, limit))
            .await
    }

    async fn verify_audit(&self) -> Result<AuditVerification, StoreError> {
        self.run("store verify_audit", self.inner.verify_audit())
            .await
    }

    async fn record_plan_attributed(
        &self,
        plan: &Plan,
        event: &tradeengine_store::PnlEventRecord,
    ) -> Result<(), StoreError> {
        self.run(
            "store record_plan_attributed",
            self.inner.record_plan_attributed(plan, event),
        )
        .await
    }

    async fn record_pnl_event(
        &self,
        event: &tradeengine_store::PnlEventRecord,
    ) -> Result<(), StoreError> {
        self.run("store record_pnl_event", self.inner.record_pnl_event(event))
            .await
    }

    async fn pnl_events(
        &self,
        account: Option<&AccountName>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<tradeengine_store::PnlEventRecord>, StoreError> {
        self.run(
            "store pnl_events",
            self.inner.pnl_events(account, after_seq, limit),
        )
        .await
    }

    async fn fills_in_order(
        &self,
        account: Option<&AccountName>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<tradeengine_store::StoredFill>, StoreError> {
        self.run(
            "store fills_in_order",
            self.inner.fills_in_order(account, after_seq, limit),
        )
        .await
    }

    async fn record_marks(
        &self,
        reading: &tradeengine_store::MarkReading,
    ) -> Result<(), StoreError> {
        self.run("store record_marks", self.inner.record_marks(reading))
            .await
    }

    async fn marks(
        &self,
        account: Option<&AccountName>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<tradeengine_store::MarkReading>, StoreError> {
        self.run("store marks", self.inner.marks(account, after_seq, limit))
            .await
    }

    async fn record_marks_seen(
        &self,
        reading: &tradeengine_store::MarkReading,
        seen: &[tradeengine_store::SeenSignal],
        fill_prices: &[tradeengine_store::FillPrice],
    ) -> Result<(), StoreError> {
        self.run(
            "store record_marks_seen",
            self.inner.record_marks_seen(reading, seen, fill_prices),
        )
        .await
    }

    async fn marks_with_signals(
        &self,
        account: Option<&AccountName>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<tradeengine_store::RecordedReading>, StoreError> {
        self.run(
            "store marks_with_signals",
            self.inner.marks_with_signals(account, after_seq, limit),
        )
        .await
    }

    async fn signals_in_order(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<(i64, Signal)>, StoreError> {
        self.run(
            "store signals_in_order",
            self.inner.signals_in_order(after_seq, limit),
        )
        .await
    }

    async fn get_state(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
        self.run("store get_state", self.inner.get_state(key)).await
    }

    async fn put_state(&self, key: &str, value: &serde_json::Value) -> Result<(), StoreError> {
        self.run("store put_state", self.inner.put_state(key, value))
            .await
    }
}
