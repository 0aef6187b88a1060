//! What the MEXC adapter knows of positions and the settings an opening order carries.
//!
//! MEXC has no per-symbol leverage or margin-mode setting for a flat symbol: both travel with
//! each opening order and stick to the position it opens. So the adapter keeps the last
//! positions read (to know an open position's mode, leverage and id without asking again) and
//! what the engine asked per symbol.

use super::*;

/// An open position as last read: what an order adding to it must carry, and the id that
/// changes its leverage.
#[derive(Debug, Clone, Copy)]
pub(super) struct Held {
    pub(super) mode: MarginMode,
    pub(super) leverage: Decimal,
    pub(super) position_id: u64,
}

/// The positions of the last [`Venue::positions`] read. The engine reads positions at the start
/// of every cycle and sets leverage right after, so a fresh snapshot spares one position query
/// per symbol (50 in an opening round, against MEXC's 20 per 2 s). A symbol this adapter sent an
/// order for since is no longer known from it.
#[derive(Debug, Default)]
pub(super) struct Snapshot {
    pub(super) taken_at: Option<Instant>,
    pub(super) held: HashMap<Symbol, Held>,
    pub(super) touched: BTreeSet<Symbol>,
}

/// How long a positions read stands in for a per-symbol query.
pub(super) const SNAPSHOT_TTL: Duration = Duration::from_secs(10);

/// What the engine asked for a symbol, sent with its next opening order.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Setting {
    pub(super) leverage: Option<Decimal>,
    pub(super) mode: Option<MarginMode>,
}

pub(super) fn hedge(venue_symbol: &str) -> VenueError {
    rejected(
        "hedge_mode",
        format!(
            "{venue_symbol}: long and short positions at once (hedge mode); tradeengine needs one-way mode"
        ),
    )
}

impl MexcVenue {
    pub(super) async fn position_rows(
        &self,
        symbol: Option<&str>,
    ) -> Result<Vec<PositionRow>, VenueError> {
        let q = sorted_query(&[("symbol", symbol.unwrap_or_default())]);
        let data = self
            .http
            .get(
                "/api/v1/private/position/open_positions",
                &q,
                scope::POSITIONS,
            )
            .await?;
        rows(data, OPEN_POSITIONS)
    }

    /// The open position of one symbol: from a fresh snapshot when it has the symbol's last
    /// word, else asked for.
    pub(super) async fn held(&self, instrument: &Instrument) -> Result<Option<Held>, VenueError> {
        {
            let snap = lock(&self.snapshot);
            if snap.taken_at.is_some_and(|t| t.elapsed() < SNAPSHOT_TTL)
                && !snap.touched.contains(&instrument.symbol)
            {
                return Ok(snap.held.get(&instrument.symbol).copied());
            }
        }
        let Some(row) = self.open_row(instrument).await? else {
            return Ok(None);
        };
        let position_id = row
            .position_id
            .trim()
            .parse::<u64>()
            .map_err(|_| bad_reply(VENUE, "positionId", &row.position_id))?;
        Ok(Some(Held {
            mode: row.margin_mode(),
            leverage: dec(VENUE, "leverage", &row.leverage).map_err(in_reply(OPEN_POSITIONS))?,
            position_id,
        }))
    }

    /// The open (non-zero) position row of one symbol, refusing hedge-mode pairs.
    pub(super) async fn open_row(
        &self,
        instrument: &Instrument,
    ) -> Result<Option<PositionRow>, VenueError> {
        let rows = self.position_rows(Some(&instrument.venue_symbol)).await?;
        let mut open = rows.into_iter().filter(|r| {
            r.symbol == instrument.venue_symbol
                && r.state.trim() != "3"
                && dec(VENUE, "holdVol", &r.hold_vol).is_ok_and(|v| v > Decimal::ZERO)
        });
        let first = open.next();
        if open.next().is_some() {
            return Err(hedge(&instrument.venue_symbol));
        }
        Ok(first)
    }

    pub(super) fn setting(&self, symbol: &Symbol) -> Setting {
        lock(&self.settings)
            .get(symbol)
            .copied()
            .unwrap_or_default()
    }
}
